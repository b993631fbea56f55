//! Page images for the item page: a PDF page rendered by `pdftoppm` at screen resolution,
//! or a PNG or JPEG as it was received. Rendered on request from the kept original, so
//! nothing more is stored; the browser keeps the image for the session.

use tandem_domain::{ItemId, Role};

use super::tools::{self, PDFTOPPM};
use super::{DocumentError, Kind};
use crate::auth::Actor;
use crate::{ServiceError, ServiceResult, Tandem};

/// Resolution of page images: enough to read a receipt's small print on screen.
const SCREEN_DPI: u32 = 110;

/// A page image, ready to send.
#[derive(Debug, Clone)]
pub struct PageImage {
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
}

impl Tandem {
    /// Page `number` (1-based) of item `id`'s document as an image.
    pub async fn page_image(&self, actor: &Actor, id: ItemId, number: usize) -> ServiceResult<PageImage> {
        actor.require(Role::Viewer, "see documents")?;
        let (doc, bytes) = self.document_original(actor, id).await?;
        let bytes = bytes.ok_or(ServiceError::NotFound(
            "page image (the original was removed after the retention period)",
        ))?;
        if number == 0 || number as i64 > doc.pages {
            return Err(ServiceError::NotFound("page"));
        }
        match doc.media_type.as_str() {
            "image/png" if number == 1 => Ok(PageImage {
                media_type: Kind::Png.media_type(),
                bytes,
            }),
            "image/jpeg" if number == 1 => Ok(PageImage {
                media_type: Kind::Jpeg.media_type(),
                bytes,
            }),
            "application/pdf" => {
                let dir = tempfile::tempdir().map_err(|e| ServiceError::Internal(e.to_string()))?;
                let path = dir.path().join("document.pdf");
                std::fs::write(&path, &bytes).map_err(|e| ServiceError::Internal(e.to_string()))?;
                let root = dir.path().join("page");
                let n = number.to_string();
                let ran = tools::run(
                    PDFTOPPM,
                    &[
                        "-r".as_ref(),
                        SCREEN_DPI.to_string().as_ref(),
                        "-png".as_ref(),
                        "-singlefile".as_ref(),
                        "-f".as_ref(),
                        n.as_ref(),
                        "-l".as_ref(),
                        n.as_ref(),
                        path.as_os_str(),
                        root.as_os_str(),
                    ],
                    self.settings.documents.limits.tool_deadline,
                )
                .await
                .map_err(|e| match e {
                    DocumentError::ToolMissing { .. } => ServiceError::Unavailable(e.to_string()),
                    other => ServiceError::Internal(other.to_string()),
                })?;
                if !ran.success {
                    return Err(ServiceError::Internal(format!("pdftoppm: {}", ran.said())));
                }
                let png = std::fs::read(root.with_extension("png"))
                    .map_err(|e| ServiceError::Internal(e.to_string()))?;
                Ok(PageImage {
                    media_type: Kind::Png.media_type(),
                    bytes: png,
                })
            }
            // TIFF: browsers do not show it, and no tool here converts it.
            _ => Err(ServiceError::NotFound("page image for this kind of file")),
        }
    }
}
