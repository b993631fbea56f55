//! The worker's half of documents: reading a kept file into the item's text and word
//! boxes. Uploads only check and keep files, so OCR (about a second a page) never holds a
//! request; the worker reads each file once, within a time limit for the whole document,
//! and a file that cannot be read goes to the inbox with the reason, its original kept.

use tandem_store::{Document, Item};

use super::{KEY_PREFIX, intake_email, read};
use crate::automations::Compiled;
use crate::{ServiceError, Tandem};

/// Why a document could not be read.
#[derive(Debug)]
pub(crate) enum ReadFailed {
    /// The server's fault (a tool missing or failing, the database): tried again while
    /// the job has attempts left.
    Retry(String),
    /// The file's fault, or over the time limit: it would fail again, so to the inbox now.
    Never(String),
}

/// The document behind `item` if it still waits to be read. Looked up only for items
/// keyed by a file hash, so other items cost nothing more.
pub(crate) async fn waiting(t: &Tandem, item: &Item) -> Result<Option<Document>, ServiceError> {
    let is_document = item
        .idempotency_key
        .as_deref()
        .is_some_and(|k| k.starts_with(KEY_PREFIX));
    if !is_document {
        return Ok(None);
    }
    let doc = t.store.item_document(item.workspace_id, item.id).await?;
    Ok(doc.filter(|d| d.read_at.is_none()))
}

/// Read `doc` (the document behind `item`) and store its text as the item's input and its
/// pages and boxes beside it; the item as it now is.
pub(crate) async fn read_waiting(
    t: &Tandem,
    item: &Item,
    compiled: &Compiled,
    doc: &Document,
) -> Result<Item, ReadFailed> {
    let ws = item.workspace_id;
    let name = &doc.file_name;
    let retry = |e: ServiceError| ReadFailed::Retry(format!("{name}: {e}"));
    let bytes = t
        .store
        .document_content(ws, item.id)
        .await
        .map_err(|e| retry(e.into()))?
        .ok_or_else(|| ReadFailed::Never(format!("{name}: the original was removed before it was read")))?;
    let limits = &t.settings.documents.limits;
    let deadline = limits.read_deadline;
    let read = match tokio::time::timeout(deadline, read(&bytes, name, limits)).await {
        Err(_) => {
            return Err(ReadFailed::Never(format!(
                "{name}: reading it took longer than {} and was stopped",
                crate::worker::words_for(deadline)
            )));
        }
        Ok(Err(e)) if e.is_server_side() => return Err(ReadFailed::Retry(format!("{name}: {e}"))),
        Ok(Err(e)) => return Err(ReadFailed::Never(format!("{name}: {e}"))),
        Ok(Ok(read)) => read,
    };
    // A text too long for the definition's input is the file's fault: it names the file.
    let reading =
        intake_email::reading(compiled, name, &read).map_err(|e| ReadFailed::Never(e.to_string()))?;
    // False when another worker (that held this job before) stored its reading first:
    // both read the same bytes, so the item as stored is the same either way.
    t.store
        .record_reading(ws, item.id, &reading, t.now())
        .await
        .map_err(|e| retry(e.into()))?;
    t.store.item(ws, item.id).await.map_err(|e| retry(e.into()))
}
