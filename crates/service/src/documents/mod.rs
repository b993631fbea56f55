//! Documents as teams receive them: PDFs, scans, photos and plain text files become items.
//!
//! A file is checked at once (its kind from its first bytes, not its name; its size; a
//! PDF's pages and encryption; an image's size from its header) and kept with an item in
//! the same transaction, so a bad file is refused in the answer with what is wrong with
//! it. Reading it into text with the position of every word (the PDF's text layer, else
//! OCR, about a second a page) is the worker's job (`reading.rs`): the upload answers
//! before it, and a file that cannot be read goes to the inbox with the reason. Until
//! then the item's input is empty; the reading fills it once, before any result is made,
//! and it never changes afterwards. Plain text needs no reading and is kept read.
//!
//! The same file sent twice is one item: its SHA-256 is the idempotency key.

mod email;
mod intake_email;
mod mailbox;
mod ocr;
mod pdf;
mod reading;
mod render;
pub mod retention;
mod sniff;
pub mod tools;

use std::time::Duration;

use sha2::Digest;
use tandem_domain::Role;
use tandem_engine::layout::{BBox, Layout, LayoutBuilder, Page, Reading};
use tandem_store::Inserted;

pub use mailbox::{MailboxPoll, POLL_EVERY, Polled};
pub(crate) use reading::{ReadFailed, read_waiting, waiting};
pub use render::PageImage;
pub use sniff::Kind;

use crate::auth::Actor;
use crate::{ServiceError, ServiceResult, Tandem};

/// Limits and policy for documents (`[documents]` in the configuration).
#[derive(Debug, Clone)]
pub struct DocumentSettings {
    /// Largest file accepted, in bytes.
    pub max_bytes: usize,
    pub limits: Limits,
    /// Originals older than this are removed (text and positions stay); `None` keeps them.
    pub retention: Option<Duration>,
    /// A value read by OCR from words under this certainty (0 to 1) goes to review.
    pub ocr_min_certainty: f64,
    /// Values standing in for environment variables named by a definition
    /// (`email.mailbox.password_env`), looked up first. For tests: a process cannot
    /// safely set its own environment once threads run.
    pub env_overrides: std::collections::BTreeMap<String, String>,
}

impl Default for DocumentSettings {
    fn default() -> Self {
        Self {
            max_bytes: 20 * 1024 * 1024,
            limits: Limits::default(),
            retention: None,
            ocr_min_certainty: 0.6,
            env_overrides: std::collections::BTreeMap::new(),
        }
    }
}

/// What one file may cost to read.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_pages: usize,
    /// Most attachments in one e-mail message.
    pub max_attachments: usize,
    /// Largest image, in pixels (width × height): a small file can claim a huge image.
    pub max_pixels: u64,
    /// Each tool run is killed past this.
    pub tool_deadline: Duration,
    /// Reading one whole document (every tool run of every page) is stopped past this,
    /// and the item goes to the inbox with the reason.
    pub read_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_pages: 50,
            max_attachments: 20,
            // An A3 page at 300 dpi is 17.4 million pixels.
            max_pixels: 40_000_000,
            tool_deadline: Duration::from_secs(120),
            read_deadline: Duration::from_secs(600),
        }
    }
}

/// Why a file cannot become an item. The message is about the file; the caller adds its name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is {bytes} bytes, over the limit of {max} bytes")]
    TooLarge { bytes: usize, max: usize },
    #[error("{0}")]
    Unsupported(String),
    #[error("the text is not UTF-8 (bad byte at offset {at})")]
    NotUtf8 { at: usize },
    #[error("the PDF is encrypted with a password; send it without the password")]
    Encrypted,
    #[error("the message has {count} attachments, over the limit of {max}")]
    TooManyAttachments { count: usize, max: usize },
    #[error("the PDF has {pages} pages, over the limit of {max}")]
    TooManyPages { pages: usize, max: usize },
    #[error("the image is {width} × {height} pixels, over the limit of {max} pixels")]
    ImageTooLarge { width: u64, height: u64, max: u64 },
    #[error("{0}")]
    Unreadable(String),
    #[error("no text could be read from it ({pages} page(s), {ocr} read by OCR)")]
    NoText { pages: usize, ocr: usize },
    #[error("the `{tool}` command is not installed on the server (Debian: apt-get install {package})")]
    ToolMissing {
        tool: &'static str,
        package: &'static str,
    },
    #[error("`{tool}` failed: {message}")]
    ToolFailed { tool: &'static str, message: String },
    #[error("`{tool}` took longer than {seconds} s and was stopped")]
    TimedOut { tool: &'static str, seconds: u64 },
}

impl DocumentError {
    /// Whether the fault is the server's (a tool missing or failing), not the file's.
    pub fn is_server_side(&self) -> bool {
        matches!(
            self,
            DocumentError::ToolMissing { .. } | DocumentError::ToolFailed { .. }
        )
    }
}

/// One page's words in the page's own unit (points, or pixels for images), line by line.
#[derive(Debug, Clone)]
pub struct PageText {
    pub width: f64,
    pub height: f64,
    pub reading: Reading,
    pub lines: Vec<Vec<WordBox>>,
}

#[derive(Debug, Clone)]
pub struct WordBox {
    pub text: String,
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
    pub confidence: Option<f32>,
}

/// A file read into text, with the positions of its words when it has pages.
#[derive(Debug, Clone)]
pub struct ReadDocument {
    pub kind: Kind,
    pub text: String,
    pub layout: Option<Layout>,
}

impl ReadDocument {
    pub fn pages(&self) -> usize {
        self.layout.as_ref().map_or(1, |l| l.pages.len())
    }
    pub fn ocr_pages(&self) -> usize {
        self.layout.as_ref().map_or(0, Layout::ocr_pages)
    }
}

/// Read `bytes` (named `file_name`, for the kind of text files only) into text and layout.
pub async fn read(bytes: &[u8], file_name: &str, limits: &Limits) -> Result<ReadDocument, DocumentError> {
    if bytes.is_empty() {
        return Err(DocumentError::Empty);
    }
    let kind = sniff::kind(bytes, file_name)?;
    if kind == Kind::Text {
        let text = std::str::from_utf8(bytes).map_err(|e| DocumentError::NotUtf8 { at: e.valid_up_to() })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if text.trim().is_empty() {
            return Err(DocumentError::NoText { pages: 1, ocr: 0 });
        }
        return Ok(ReadDocument {
            kind,
            text: text.replace('\0', "\u{fffd}"),
            layout: None,
        });
    }
    let (dir, path) = to_temp_file(bytes, kind)?;
    let pages = match kind {
        Kind::Pdf => pdf::read(&path, dir.path(), limits).await?,
        Kind::Png | Kind::Jpeg | Kind::Tiff => {
            sniff::check_image(bytes, kind, limits)?;
            ocr::read_image(&path, limits).await?
        }
        // Messages are taken apart by `submit_email`; one met here is inside another.
        Kind::Text | Kind::Email => {
            return Err(DocumentError::Unsupported(
                "a message inside a message is kept in the original, not read".into(),
            ));
        }
    };
    let (text, layout) = build(&pages);
    if text.trim().is_empty() {
        return Err(DocumentError::NoText {
            pages: layout.pages.len(),
            ocr: layout.ocr_pages(),
        });
    }
    Ok(ReadDocument {
        kind,
        text,
        layout: Some(layout),
    })
}

/// A file checked at intake: read already (plain text), or kept to be read by the worker.
#[derive(Debug, Clone)]
pub enum Checked {
    Read(ReadDocument),
    /// A PDF or an image: its kind and how many pages it has.
    ToRead {
        kind: Kind,
        pages: usize,
    },
}

impl Checked {
    pub fn kind(&self) -> Kind {
        match self {
            Checked::Read(r) => r.kind,
            Checked::ToRead { kind, .. } => *kind,
        }
    }
    pub fn pages(&self) -> usize {
        match self {
            Checked::Read(r) => r.pages(),
            Checked::ToRead { pages, .. } => *pages,
        }
    }
}

/// What can be told of `bytes` quickly, without reading its text (a PDF's `pdfinfo`, an
/// image's header): whatever a person sending it should hear about at once.
pub async fn check(bytes: &[u8], file_name: &str, limits: &Limits) -> Result<Checked, DocumentError> {
    if bytes.is_empty() {
        return Err(DocumentError::Empty);
    }
    match sniff::kind(bytes, file_name)? {
        Kind::Text => read(bytes, file_name, limits).await.map(Checked::Read),
        Kind::Email => Err(DocumentError::Unsupported(
            "a message inside a message is kept in the original, not read".into(),
        )),
        kind @ (Kind::Png | Kind::Jpeg | Kind::Tiff) => {
            sniff::check_image(bytes, kind, limits)?;
            Ok(Checked::ToRead { kind, pages: 1 })
        }
        Kind::Pdf => {
            let (dir, path) = to_temp_file(bytes, Kind::Pdf)?;
            let pages = pdf::check(&path, limits).await?;
            drop(dir);
            Ok(Checked::ToRead {
                kind: Kind::Pdf,
                pages,
            })
        }
    }
}

/// The tools read files: the bytes go to a private temporary directory, removed on drop.
fn to_temp_file(bytes: &[u8], kind: Kind) -> Result<(tempfile::TempDir, std::path::PathBuf), DocumentError> {
    let dir = tempfile::tempdir().map_err(|e| DocumentError::ToolFailed {
        tool: "tempfile",
        message: format!("cannot make a temporary directory: {e}"),
    })?;
    let path = dir.path().join(format!("document.{}", kind.extension()));
    std::fs::write(&path, bytes).map_err(|e| DocumentError::ToolFailed {
        tool: "tempfile",
        message: format!("cannot write a temporary file: {e}"),
    })?;
    Ok((dir, path))
}

/// The engine's text and layout from the pages' words.
fn build(pages: &[PageText]) -> (String, Layout) {
    let mut b = LayoutBuilder::new();
    for p in pages {
        b.page(Page {
            width: p.width,
            height: p.height,
            reading: p.reading,
        });
        for line in &p.lines {
            for w in line {
                let text = w.text.replace('\0', "\u{fffd}");
                b.word(
                    &text,
                    BBox::on_page(w.x0, w.y0, w.x1, w.y1, p.width, p.height),
                    w.confidence,
                );
            }
            b.end_line();
        }
    }
    b.finish()
}

/// A file as received.
#[derive(Debug, Clone)]
pub struct Upload {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// A file accepted (or found accepted before) as an item.
#[derive(Debug, Clone)]
pub struct AcceptedDocument {
    pub inserted: Inserted,
    pub kind: Option<Kind>,
    pub pages: usize,
    /// Pages read by OCR so far (none while the file waits for the worker).
    pub ocr_pages: usize,
    /// Whether its text is in; if not, the worker reads it.
    pub read: bool,
    /// Items made from the same file after the first (a message's attachments).
    pub linked: Vec<Inserted>,
}

/// A file name fit to keep and show: its last path part, printable, at most 200 characters.
pub fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    if clean.trim().is_empty() {
        "unnamed".into()
    } else {
        clean
    }
}

impl Tandem {
    /// Accept a file as an item of automation `slug`. Errors name the file and say what is
    /// wrong with it.
    pub async fn submit_document(
        &self,
        actor: &Actor,
        slug: &str,
        upload: Upload,
    ) -> ServiceResult<AcceptedDocument> {
        actor.require(Role::Builder, "submit documents")?;
        let ws = actor.workspace();
        let (automation, compiled) = self.active(ws, slug).await?;
        self.accept_file(ws, &automation, &compiled, upload).await
    }

    /// Accept a file as an item of `automation` (an upload, or a message from its mailbox).
    pub(crate) async fn accept_file(
        &self,
        ws: tandem_domain::WorkspaceId,
        automation: &tandem_store::Automation,
        compiled: &crate::automations::Compiled,
        upload: Upload,
    ) -> ServiceResult<AcceptedDocument> {
        let name = clean_file_name(&upload.file_name);
        let settings = &self.settings.documents;
        if upload.bytes.len() > settings.max_bytes {
            return Err(intake_email::refuse(
                &name,
                DocumentError::TooLarge {
                    bytes: upload.bytes.len(),
                    max: settings.max_bytes,
                },
            ));
        }
        let sha256 = hex::encode(sha2::Sha256::digest(&upload.bytes));
        let key = format!("{KEY_PREFIX}{sha256}");
        // The same file again: the item it made, without reading it again.
        if let Some(id) = self.store.item_by_key(ws, automation.id, &key).await? {
            let item = self.store.item(ws, id).await?;
            let doc = self.store.item_document(ws, id).await?;
            return Ok(AcceptedDocument {
                inserted: Inserted { item, created: false },
                kind: None,
                pages: doc.as_ref().map_or(0, |d| d.pages as usize),
                ocr_pages: doc.as_ref().map_or(0, |d| d.ocr_pages as usize),
                read: doc.as_ref().is_none_or(|d| d.read_at.is_some()),
                linked: Vec::new(),
            });
        }
        if sniff::kind(&upload.bytes, &name) == Ok(Kind::Email) {
            return self
                .submit_email(intake_email::Received {
                    ws,
                    automation,
                    compiled,
                    name,
                    bytes: upload.bytes,
                    sha256,
                })
                .await;
        }
        let checked = check(&upload.bytes, &name, &settings.limits)
            .await
            .map_err(|e| intake_email::refuse(&name, e))?;
        let entry = intake_email::entry(compiled, &name, &checked, upload.bytes, key, &[], None)?;
        let mut inserted = self
            .store
            .insert_documents(ws, automation.id, std::slice::from_ref(&entry), self.now())
            .await?;
        self.work_ready.notify_waiters();
        Ok(AcceptedDocument {
            inserted: inserted
                .pop()
                .ok_or(ServiceError::Internal("no item stored".into()))?,
            kind: Some(checked.kind()),
            pages: checked.pages(),
            ocr_pages: match &checked {
                Checked::Read(r) => r.ocr_pages(),
                Checked::ToRead { .. } => 0,
            },
            read: matches!(checked, Checked::Read(_)),
            linked: Vec::new(),
        })
    }

    /// The positions of an item's text, when it came from a document with pages: the input
    /// the text is in, and the layout.
    pub async fn item_layout(
        &self,
        ws: tandem_domain::WorkspaceId,
        item: tandem_domain::ItemId,
    ) -> ServiceResult<Option<(String, Layout)>> {
        let Some(doc) = self.store.item_document(ws, item).await? else {
            return Ok(None);
        };
        Ok(doc.layout.as_deref().and_then(parse_layout))
    }
}

/// How the layout is kept: with the name of the input its offsets are into.
#[derive(serde::Serialize)]
struct DocumentLayout<'a> {
    input: &'a str,
    layout: &'a Layout,
}

#[derive(serde::Deserialize)]
struct StoredLayout {
    input: String,
    layout: Layout,
}

/// Read a kept layout; `None` if it cannot be read (the item then shows no boxes).
pub fn parse_layout(json: &str) -> Option<(String, Layout)> {
    serde_json::from_str::<StoredLayout>(json)
        .ok()
        .map(|s| (s.input, s.layout))
}

/// Key prefix of items made from files (the file's SHA-256), which tells the worker which
/// items have a document to look up.
pub const KEY_PREFIX: &str = "sha256:";

/// The layout of an item the worker is about to process, if it was made from a document
/// with pages read by OCR (the only ones whose certainty the engine checks). Looked up
/// only for items keyed by a file hash, so other items cost nothing more.
pub(crate) async fn layout_for(t: &Tandem, item: &tandem_store::Item) -> Option<(String, Layout)> {
    let is_document = item
        .idempotency_key
        .as_deref()
        .is_some_and(|k| k.starts_with(KEY_PREFIX));
    if !is_document {
        return None;
    }
    match t.item_layout(item.workspace_id, item.id).await {
        Ok(l) => l.filter(|(_, l)| l.ocr_pages() > 0),
        Err(e) => {
            tracing::warn!(item = %item.id, error = %e, "could not read the item's document layout");
            None
        }
    }
}

impl Tandem {
    /// An item's original file and its description; `None` for the bytes once retention
    /// removed them.
    pub async fn document_original(
        &self,
        actor: &Actor,
        item: tandem_domain::ItemId,
    ) -> ServiceResult<(tandem_store::Document, Option<Vec<u8>>)> {
        actor.require(Role::Viewer, "see documents")?;
        let ws = actor.workspace();
        let doc = self
            .store
            .item_document(ws, item)
            .await?
            .ok_or(ServiceError::NotFound("document"))?;
        let bytes = self.store.document_content(ws, item).await?;
        Ok((doc, bytes))
    }
}
