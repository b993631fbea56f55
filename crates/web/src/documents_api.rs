//! Documents over the API: files in (multipart), the original back out, and the page
//! layout behind an item's evidence.

use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tandem_domain::ItemId;
use tandem_service::ServiceError;
use tandem_service::documents::Upload;

use crate::AppState;
use crate::auth::ApiUser;
use crate::error::ApiError;

/// Files per request.
pub const MAX_FILES: usize = 20;

pub fn routes(max_file_bytes: usize) -> Router<AppState> {
    // The body holds up to a few files at the size limit; each file is checked on its own
    // as it is read, so one oversized file is named in the answer.
    let body_limit = max_file_bytes.saturating_mul(4).saturating_add(1 << 20);
    Router::new()
        .route(
            "/api/v1/automations/{slug}/documents",
            post(submit_documents).layer(DefaultBodyLimit::max(body_limit)),
        )
        .route("/api/v1/items/{id}/document", get(get_document))
        .route("/api/v1/items/{id}/document/original", get(get_original))
}

/// Read the multipart body's file parts (any field name), each up to the limit.
pub async fn read_files(multipart: &mut Multipart, max_bytes: usize) -> Result<Vec<Upload>, ServiceError> {
    let mut files = Vec::new();
    loop {
        let field = multipart
            .next_field()
            .await
            .map_err(|e| multipart_error(&e.body_text(), e.status()))?;
        let Some(mut field) = field else { break };
        let Some(name) = field.file_name().map(str::to_owned) else {
            // A plain form field (a CSRF token, say): not a file.
            continue;
        };
        if files.len() == MAX_FILES {
            return Err(ServiceError::TooLarge(format!(
                "more than {MAX_FILES} files in one request; send them in several"
            )));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| multipart_error(&e.body_text(), e.status()))?
        {
            if bytes.len() + chunk.len() > max_bytes {
                return Err(ServiceError::TooLarge(format!(
                    "{}: the file is over the limit of {max_bytes} bytes",
                    tandem_service::documents::clean_file_name(&name)
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        files.push(Upload {
            file_name: name,
            bytes,
        });
    }
    if files.is_empty() {
        return Err(ServiceError::invalid(
            "no file in the request: send multipart/form-data with one or more file parts",
        ));
    }
    Ok(files)
}

fn multipart_error(text: &str, status: StatusCode) -> ServiceError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ServiceError::TooLarge("the request body is too large".into())
    } else {
        ServiceError::invalid(format!("the multipart body is not valid: {text}"))
    }
}

/// `POST /api/v1/automations/{slug}/documents`: multipart/form-data with file parts (PDF,
/// PNG, JPEG, TIFF, e-mail `.eml`, plain text); a message's attachments are items linked to
/// it (`document.attachments` in its view). Each file is checked (kind, size, a PDF's pages
/// and encryption, an image's size) before the answer; a PDF or an image is then read by
/// the worker (text layer or OCR), so the answer does not wait for it. One file: the item
/// (202 when its file is still to be read, 201 when it was read at once, 200 when the same
/// file was sent before), or the error naming the file. Several: `{"results": [...]}` with
/// one entry per file, an item or an error, each accepted or refused on its own.
async fn submit_documents(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(slug): Path<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, ApiError> {
    let mut multipart = multipart
        .map_err(|e| ServiceError::invalid(format!("expected multipart/form-data: {}", e.body_text())))?;
    let files = read_files(&mut multipart, s.tandem.settings.documents.max_bytes).await?;
    if files.len() == 1 {
        let file = files.into_iter().next().ok_or(ServiceError::invalid("no file"))?;
        let accepted = s.tandem.submit_document(&actor, &slug, file).await?;
        let view = s.tandem.item_view(&actor, accepted.inserted.item.id).await?;
        let status = if accepted.inserted.created && !accepted.read {
            StatusCode::ACCEPTED
        } else if accepted.inserted.created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        return Ok((status, Json(view)).into_response());
    }
    let mut results = Vec::with_capacity(files.len());
    for file in files {
        let name = tandem_service::documents::clean_file_name(&file.file_name);
        match s.tandem.submit_document(&actor, &slug, file).await {
            Ok(a) => results.push(serde_json::json!({
                "file_name": name,
                "id": a.inserted.item.id,
                "created": a.inserted.created,
                "status": a.inserted.item.status,
                "pages": a.pages,
                "ocr_pages": a.ocr_pages,
                "read": a.read,
                "linked": a.linked.iter().map(|l| l.item.id).collect::<Vec<_>>(),
            })),
            Err(e @ (ServiceError::NotFound(_) | ServiceError::Forbidden { .. })) => return Err(e.into()),
            Err(e) => {
                let status = crate::error::status_of(&e);
                let (message, _) = crate::error::public_message(&e);
                results.push(serde_json::json!({
                    "file_name": name,
                    "error": { "status": status.as_u16(), "message": message },
                }));
            }
        }
    }
    Ok(Json(serde_json::json!({ "results": results })).into_response())
}

/// `GET /api/v1/items/{id}/document`: the file's description and its pages.
async fn get_document(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    let view = s.tandem.item_view(&actor, ItemId(id)).await?;
    let doc = view.document.ok_or(ServiceError::NotFound("document"))?;
    Ok(Json(doc))
}

/// `GET /api/v1/items/{id}/document/original`: the file as received, as a download. It is
/// never shown by the browser (`attachment`, a sandbox policy, no sniffing), so nothing in
/// a file can run on this site.
async fn get_original(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let (doc, bytes) = s.tandem.document_original(&actor, ItemId(id)).await?;
    let bytes = bytes.ok_or_else(|| {
        ServiceError::NotFound(
            "original file (removed after the retention period; its text and boxes are kept)",
        )
    })?;
    Ok(original_response(&doc, bytes))
}

pub fn original_response(doc: &tandem_store::Document, bytes: Vec<u8>) -> Response {
    let ascii: String = doc
        .file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{ascii}\""),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'".to_owned(),
            ),
        ],
        bytes,
    )
        .into_response()
}
