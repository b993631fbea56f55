//! Documents: the original file behind an item, and the positions of its words. A part
//! of the storage of its own ([`DocumentStore`]), implemented beside its SQL
//! (`sql/documents.rs`); [`crate::Store`] includes it.

use async_trait::async_trait;
use serde::Serialize;
use tandem_domain::{AutomationId, ItemId, Millis, WorkspaceId};

use crate::{Inserted, NewItem, Result};

/// A document to keep with the item made from it.
#[derive(Debug, Clone)]
pub struct NewDocument {
    pub file_name: String,
    pub media_type: String,
    /// Hex SHA-256 of `content`.
    pub sha256: String,
    pub pages: i64,
    pub ocr_pages: i64,
    /// The engine's `Layout` as JSON; `None` for documents without positions (plain text).
    pub layout: Option<String>,
    pub content: Vec<u8>,
    /// JSON list of sentences: what in the file could not be read.
    pub notes: Option<String>,
    /// Whether the text and boxes are in already (plain text, a message's body); if not,
    /// the worker reads the file ([`DocumentStore::record_reading`]).
    pub read: bool,
}

/// What the worker read from a document: the item's input and the document's positions.
#[derive(Debug, Clone)]
pub struct DocumentReading {
    /// The item's input (JSON), in place of the empty one it was stored with.
    pub input: String,
    pub preview: String,
    pub pages: i64,
    pub ocr_pages: i64,
    pub layout: Option<String>,
}

/// One item of a file (a message, or an attachment linked to an earlier entry).
#[derive(Debug, Clone)]
pub struct NewDocumentItem {
    pub item: NewItem,
    pub document: NewDocument,
    /// The index, in the same batch, of the entry this one came with (an attachment's
    /// message).
    pub parent: Option<usize>,
}

/// A kept document, without its bytes (read those with [`DocumentStore::document_content`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Document {
    pub id: i64,
    pub item_id: ItemId,
    pub automation_id: AutomationId,
    pub file_name: String,
    pub media_type: String,
    pub sha256: String,
    pub size_bytes: i64,
    pub pages: i64,
    pub ocr_pages: i64,
    #[serde(skip)]
    pub layout: Option<String>,
    pub created_at: Millis,
    /// When retention removed the original (the text and positions stay).
    pub purged_at: Option<Millis>,
    /// The item this one came with (an attachment's message).
    pub parent_item_id: Option<ItemId>,
    /// JSON list of sentences: what in the file could not be read.
    #[serde(skip)]
    pub notes: Option<String>,
    /// When the worker read its text; `None` while it waits to be read.
    pub read_at: Option<Millis>,
}

#[async_trait]
pub trait DocumentStore {
    /// Accept the items made from one file (a document; a message and its attachments),
    /// keep their documents, linked, and queue their processing, in one transaction. An
    /// entry whose idempotency key was seen before returns the earlier item (`created`
    /// false) and writes nothing.
    async fn insert_documents(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        entries: &[NewDocumentItem],
        now: Millis,
    ) -> Result<Vec<Inserted>>;
    /// The documents that came with `item` (a message's attachments), in order.
    async fn linked_documents(&self, ws: WorkspaceId, item: ItemId) -> Result<Vec<Document>>;
    /// The item already made from a file with this idempotency key, if any.
    async fn item_by_key(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        key: &str,
    ) -> Result<Option<ItemId>>;
    /// The document behind an item, if it came from one.
    async fn item_document(&self, ws: WorkspaceId, item: ItemId) -> Result<Option<Document>>;
    /// The original bytes; `None` once retention removed them.
    async fn document_content(&self, ws: WorkspaceId, item: ItemId) -> Result<Option<Vec<u8>>>;
    /// Store what the worker read from `item`'s document: the item's input and the
    /// document's pages and boxes, together, once. Returns false (and writes nothing) if
    /// it was read already (by another worker that held the job before).
    async fn record_reading(
        &self,
        ws: WorkspaceId,
        item: ItemId,
        reading: &DocumentReading,
        now: Millis,
    ) -> Result<bool>;
    /// A mailbox's cursor: its folder's UIDVALIDITY and the last UID accepted.
    async fn mailbox_cursor(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        mailbox: &str,
    ) -> Result<Option<(i64, i64)>>;
    /// Move a mailbox's cursor on. Never back within the same UIDVALIDITY (a slower poller
    /// finishing late cannot undo a faster one); a new UIDVALIDITY replaces it.
    async fn set_mailbox_cursor(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        mailbox: &str,
        uid_validity: i64,
        last_uid: i64,
        now: Millis,
    ) -> Result<()>;
    /// Remove the originals of `ws`'s documents kept since before `before` (their text and
    /// positions stay, so evidence still shows); a document not read yet keeps its original. Returns how many were removed.
    async fn purge_documents(&self, ws: WorkspaceId, before: Millis, now: Millis) -> Result<u64>;
}
