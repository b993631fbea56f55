//! What kind of file this is, from its first bytes: a name can lie, and a file named
//! `.jpg` that is not a JPEG must be refused as such, not read as something else.

use super::{DocumentError, Limits};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Pdf,
    Png,
    Jpeg,
    Tiff,
    Email,
    Text,
}

impl Kind {
    pub fn media_type(self) -> &'static str {
        match self {
            Kind::Pdf => "application/pdf",
            Kind::Png => "image/png",
            Kind::Jpeg => "image/jpeg",
            Kind::Tiff => "image/tiff",
            Kind::Email => "message/rfc822",
            Kind::Text => "text/plain",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Kind::Pdf => "pdf",
            Kind::Png => "png",
            Kind::Jpeg => "jpg",
            Kind::Tiff => "tif",
            Kind::Email => "eml",
            Kind::Text => "txt",
        }
    }

    fn from_magic(bytes: &[u8]) -> Option<Kind> {
        // A PDF may have a little junk before its header; readers look in the first KiB.
        let head = &bytes[..bytes.len().min(1024)];
        if head.windows(5).any(|w| w == b"%PDF-") {
            Some(Kind::Pdf)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Kind::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Kind::Jpeg)
        } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
            Some(Kind::Tiff)
        } else {
            None
        }
    }

    fn from_extension(name: &str) -> Option<Kind> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        Some(match ext.as_str() {
            "pdf" => Kind::Pdf,
            "png" => Kind::Png,
            "jpg" | "jpeg" => Kind::Jpeg,
            "tif" | "tiff" => Kind::Tiff,
            "eml" => Kind::Email,
            "txt" | "text" => Kind::Text,
            _ => return None,
        })
    }
}

/// Headers an e-mail message starts with.
const MAIL_HEADERS: [&str; 8] = [
    "received:",
    "return-path:",
    "from:",
    "delivered-to:",
    "message-id:",
    "mime-version:",
    "date:",
    "x-",
];

/// The kind of `bytes`; the name only tells e-mail from plain text, and names a kind the
/// bytes must then be.
pub fn kind(bytes: &[u8], name: &str) -> Result<Kind, DocumentError> {
    let named = Kind::from_extension(name);
    if let Some(k) = Kind::from_magic(bytes) {
        return match named {
            Some(n) if n != k && n != Kind::Text && n != Kind::Email => {
                Err(DocumentError::Unsupported(format!(
                    "it is named .{} but is a {} file",
                    name.rsplit_once('.').map_or("", |(_, e)| e),
                    k.extension().to_uppercase()
                )))
            }
            _ => Ok(k),
        };
    }
    if let Some(n @ (Kind::Pdf | Kind::Png | Kind::Jpeg | Kind::Tiff)) = named {
        return Err(DocumentError::Unsupported(format!(
            "it is named .{} but is not a {} file (it starts with {})",
            name.rsplit_once('.').map_or("", |(_, e)| e),
            n.extension().to_uppercase(),
            describe_start(bytes)
        )));
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(DocumentError::Unsupported(
            "it is a ZIP archive (or an Office file); send the documents in it one by one, as PDF, image, e-mail or text".into(),
        ));
    }
    let Ok(text) = std::str::from_utf8(&bytes[..bytes.len().min(64 * 1024)]).or_else(|e| {
        // The cut may fall inside a character.
        if e.error_len().is_none() { Ok("") } else { Err(e) }
    }) else {
        return Err(DocumentError::Unsupported(format!(
            "it is not a PDF, PNG, JPEG, TIFF, e-mail (.eml) or UTF-8 text file (it starts with {})",
            describe_start(bytes)
        )));
    };
    if named == Some(Kind::Email) {
        return Ok(Kind::Email);
    }
    let first = text.trim_start().to_ascii_lowercase();
    if named.is_none() && MAIL_HEADERS.iter().any(|h| first.starts_with(h)) && text.contains("\n\n")
        || named.is_none() && MAIL_HEADERS.iter().any(|h| first.starts_with(h)) && text.contains("\r\n\r\n")
    {
        return Ok(Kind::Email);
    }
    Ok(Kind::Text)
}

/// Refuse an image too large to decode, from its header alone (a small file can claim a
/// huge image and make the OCR engine allocate gigabytes).
pub fn check_image(bytes: &[u8], kind: Kind, limits: &Limits) -> Result<(), DocumentError> {
    let size = imagesize::blob_size(bytes).map_err(|e| {
        DocumentError::Unreadable(format!(
            "it is not a readable {} image ({e})",
            kind.extension().to_uppercase()
        ))
    })?;
    let (w, h) = (size.width as u64, size.height as u64);
    if w == 0 || h == 0 {
        return Err(DocumentError::Unreadable("the image has no pixels".into()));
    }
    if w.saturating_mul(h) > limits.max_pixels {
        return Err(DocumentError::ImageTooLarge {
            width: w,
            height: h,
            max: limits.max_pixels,
        });
    }
    Ok(())
}

fn describe_start(bytes: &[u8]) -> String {
    let shown: String = bytes
        .iter()
        .take(8)
        .map(|b| {
            if b.is_ascii_graphic() {
                (*b as char).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect();
    format!("\"{shown}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_decide_and_a_lying_name_is_refused() {
        assert_eq!(kind(b"%PDF-1.7\n...", "x.bin"), Ok(Kind::Pdf));
        assert_eq!(kind(b"\x89PNG\r\n\x1a\n....", "scan"), Ok(Kind::Png));
        assert_eq!(kind(b"hello there", "notes.txt"), Ok(Kind::Text));
        assert_eq!(kind(b"From: a@b.c\nSubject: x\n\nbody", "msg"), Ok(Kind::Email));
        assert_eq!(kind(b"anything", "msg.eml"), Ok(Kind::Email));
        let e = kind(b"just some text", "photo.jpg").unwrap_err();
        assert!(e.to_string().contains("named .jpg but is not a JPG"), "{e}");
        let e = kind(b"\x89PNG\r\n\x1a\n....", "scan.pdf").unwrap_err();
        assert!(e.to_string().contains("is a PNG file"), "{e}");
        let e = kind(b"PK\x03\x04zzz", "bomb.zip").unwrap_err();
        assert!(e.to_string().contains("ZIP archive"), "{e}");
        let e = kind(&[0u8, 159, 146, 150, 1, 2], "blob").unwrap_err();
        assert!(e.to_string().contains("not a PDF, PNG"), "{e}");
    }

    #[test]
    fn a_huge_image_is_refused_from_its_header() {
        // A PNG header claiming 100000 × 100000 pixels, with no pixel data.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&100_000u32.to_be_bytes());
        png.extend_from_slice(&100_000u32.to_be_bytes());
        png.extend_from_slice(&[8, 0, 0, 0, 0, 0, 0, 0, 0]);
        let e = check_image(&png, Kind::Png, &Limits::default()).unwrap_err();
        assert!(
            matches!(e, DocumentError::ImageTooLarge { width: 100_000, .. }),
            "{e}"
        );
        let e = check_image(b"\x89PNG\r\n\x1a\nxx", Kind::Png, &Limits::default()).unwrap_err();
        assert!(e.to_string().contains("not a readable PNG"), "{e}");
    }
}
