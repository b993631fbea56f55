//! An e-mail message as items: the message, each attachment linked to it, or both, as the
//! automation's `[email]` section says. Every part is checked before anything is stored,
//! and all are stored in one transaction; an attachment refused by the check is named in
//! the message's notes, and the message is then an item whatever the choice, so nothing
//! that arrived is lost (its original keeps every attachment). Attachments to read (PDFs,
//! images) are read by the worker like any uploaded file; one that then cannot be read
//! goes to the inbox with the reason, as its own item.

use sha2::Digest;
use tandem_domain::definition::EmailItems;
use tandem_domain::{ItemInput, WorkspaceId};
use tandem_store::{NewDocument, NewDocumentItem, NewItem};

use super::{
    AcceptedDocument, Checked, DocumentError, KEY_PREFIX, Kind, ReadDocument, check, clean_file_name, email,
};
use crate::automations::Compiled;
use crate::{ServiceError, ServiceResult, Tandem};

/// A received file, checked and named, on its way in.
pub(super) struct Received<'a> {
    pub ws: WorkspaceId,
    pub automation: &'a tandem_store::Automation,
    pub compiled: &'a Compiled,
    pub name: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
}

/// The error for a file, naming it (and the attachment, for a part of a message).
pub(super) fn refuse(name: &str, e: DocumentError) -> ServiceError {
    let message = format!("{name}: {e}");
    match e {
        DocumentError::TooLarge { .. } | DocumentError::TooManyAttachments { .. } => {
            ServiceError::TooLarge(message)
        }
        DocumentError::ToolMissing { .. } => ServiceError::Unavailable(message),
        e if e.is_server_side() => ServiceError::Internal(message),
        DocumentError::TimedOut { .. } => ServiceError::Conflict(message),
        _ => ServiceError::invalid(message),
    }
}

/// The item's input, preview and stored layout for the text read from file `name`.
pub(super) fn reading(
    compiled: &Compiled,
    name: &str,
    read: &ReadDocument,
) -> ServiceResult<tandem_store::DocumentReading> {
    let input_name = input_name(compiled)?;
    let input = ItemInput::parse(
        &compiled.def,
        &serde_json::json!({ input_name.clone(): read.text }),
    )
    .map_err(|e| match ServiceError::from(e) {
        ServiceError::TooLarge(m) => ServiceError::TooLarge(format!("{name}: the text read from it: {m}")),
        ServiceError::Invalid { message, .. } => ServiceError::invalid(format!("{name}: {message}")),
        other => other,
    })?;
    let layout = read
        .layout
        .as_ref()
        .map(|l| {
            serde_json::to_string(&super::DocumentLayout {
                input: &input_name,
                layout: l,
            })
        })
        .transpose()
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(tandem_store::DocumentReading {
        preview: crate::intake::preview(&input),
        input: input.to_json(),
        pages: read.pages() as i64,
        ocr_pages: read.ocr_pages() as i64,
        layout,
    })
}

fn input_name(compiled: &Compiled) -> ServiceResult<String> {
    compiled
        .def
        .inputs
        .first()
        .map(|i| i.name.clone())
        .ok_or_else(|| ServiceError::Conflict("the automation declares no input".into()))
}

/// One entry to store: the item with the text (or, for a file the worker reads, an empty
/// input and the file's name as its preview), and the document with the bytes.
pub(super) fn entry(
    compiled: &Compiled,
    name: &str,
    checked: &Checked,
    content: Vec<u8>,
    key: String,
    notes: &[String],
    parent: Option<usize>,
) -> ServiceResult<NewDocumentItem> {
    let (r, read) = match checked {
        Checked::Read(read) => (reading(compiled, name, read)?, true),
        Checked::ToRead { pages, .. } => (
            tandem_store::DocumentReading {
                // Not parsed against the definition: an empty text would fail a required
                // input, and this one is filled by the reading before any result.
                input: serde_json::json!({ input_name(compiled)?: "" }).to_string(),
                preview: format!("{name} (being read)"),
                pages: *pages as i64,
                ocr_pages: 0,
                layout: None,
            },
            false,
        ),
    };
    let notes = (!notes.is_empty())
        .then(|| serde_json::to_string(notes))
        .transpose()
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let sha256 = hex::encode(sha2::Sha256::digest(&content));
    Ok(NewDocumentItem {
        item: NewItem {
            preview: r.preview,
            input: r.input,
            idempotency_key: Some(key),
        },
        document: NewDocument {
            file_name: name.to_owned(),
            media_type: checked.kind().media_type().to_owned(),
            sha256,
            pages: r.pages,
            ocr_pages: r.ocr_pages,
            layout: r.layout,
            content,
            notes,
            read,
        },
        parent,
    })
}

impl Tandem {
    pub(super) async fn submit_email(&self, r: Received<'_>) -> ServiceResult<AcceptedDocument> {
        let settings = &self.settings.documents;
        let parsed =
            email::parse(&r.bytes, settings.limits.max_attachments).map_err(|e| refuse(&r.name, e))?;
        let mode = r.compiled.def.email.items;
        let mut parts: Vec<(String, Checked, Vec<u8>)> = Vec::new();
        let mut notes: Vec<String> = Vec::new();
        if mode != EmailItems::Message {
            for a in parsed.attachments {
                let aname = clean_file_name(&a.file_name);
                if a.bytes.len() > settings.max_bytes {
                    notes.push(format!(
                        "{aname}: not read: {}",
                        DocumentError::TooLarge {
                            bytes: a.bytes.len(),
                            max: settings.max_bytes
                        }
                    ));
                    continue;
                }
                if super::sniff::kind(&a.bytes, &aname) == Ok(Kind::Email) {
                    notes.push(format!(
                        "{aname}: not read: a message inside the message is kept in the original"
                    ));
                    continue;
                }
                match check(&a.bytes, &aname, &settings.limits).await {
                    Ok(doc) => parts.push((aname, doc, a.bytes)),
                    // A missing tool fails every file alike: say so rather than a note.
                    Err(e) if e.is_server_side() => return Err(refuse(&format!("{} → {aname}", r.name), e)),
                    Err(e) => notes.push(format!("{aname}: not read: {e}")),
                }
            }
        }
        let with_message = mode != EmailItems::Attachments || !notes.is_empty() || parts.is_empty();
        let mut entries = Vec::with_capacity(parts.len() + 1);
        if with_message {
            let message = Checked::Read(ReadDocument {
                kind: Kind::Email,
                text: parsed.text,
                layout: None,
            });
            entries.push(entry(
                r.compiled,
                &r.name,
                &message,
                r.bytes,
                format!("{KEY_PREFIX}{}", r.sha256),
                &notes,
                None,
            )?);
        }
        for (i, (aname, doc, bytes)) in parts.into_iter().enumerate() {
            entries.push(entry(
                r.compiled,
                &aname,
                &doc,
                bytes,
                // Per message: the same attachment in two messages is an item of each.
                format!("{KEY_PREFIX}{}#{}", r.sha256, i + 1),
                &[],
                with_message.then_some(0),
            )?);
        }
        let first_read = entries.first().is_none_or(|e| e.document.read);
        let inserted = self
            .store
            .insert_documents(r.ws, r.automation.id, &entries, self.now())
            .await?;
        self.work_ready.notify_waiters();
        let mut inserted = inserted.into_iter();
        let first = inserted
            .next()
            .ok_or(ServiceError::Internal("no item stored".into()))?;
        Ok(AcceptedDocument {
            inserted: first,
            kind: Some(Kind::Email),
            pages: 1,
            ocr_pages: 0,
            read: first_read,
            linked: inserted.collect(),
        })
    }
}
