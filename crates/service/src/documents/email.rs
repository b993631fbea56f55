//! E-mail messages (`.eml`): parsed with `mail-parser` (headers, the plain text body or the
//! HTML body as text, attachments). The message's text is its main headers and body; each
//! attachment is a file of its own, read like any upload.

use mail_parser::{MessageParser, MimeHeaders};

use super::DocumentError;

/// A parsed message: its text for the engine, and its attachments as files.
#[derive(Debug, Clone)]
pub struct Email {
    pub text: String,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone)]
pub struct Attachment {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// Parse `bytes` as an e-mail message with at most `max_attachments` attachments.
pub fn parse(bytes: &[u8], max_attachments: usize) -> Result<Email, DocumentError> {
    let message = MessageParser::default()
        .parse(bytes)
        .ok_or_else(|| DocumentError::Unreadable("it is not a readable e-mail message".into()))?;
    if message.from().is_none() && message.subject().is_none() && message.date().is_none() {
        return Err(DocumentError::Unreadable(
            "it is not an e-mail message (no From, Subject or Date header)".into(),
        ));
    }
    let count = message.attachment_count();
    if count > max_attachments {
        return Err(DocumentError::TooManyAttachments {
            count,
            max: max_attachments,
        });
    }
    let mut text = String::new();
    let addresses = |a: Option<&mail_parser::Address<'_>>| -> Option<String> {
        let list: Vec<String> = a?
            .iter()
            .map(|addr| match (addr.name(), addr.address()) {
                (Some(n), Some(e)) => format!("{n} <{e}>"),
                (None, Some(e)) => e.to_owned(),
                (Some(n), None) => n.to_owned(),
                (None, None) => String::new(),
            })
            .filter(|s| !s.is_empty())
            .collect();
        (!list.is_empty()).then(|| list.join(", "))
    };
    for (label, value) in [
        ("From", addresses(message.from())),
        ("To", addresses(message.to())),
        ("Subject", message.subject().map(str::to_owned)),
        ("Date", message.date().map(|d| d.to_rfc3339())),
    ] {
        if let Some(v) = value {
            text.push_str(label);
            text.push_str(": ");
            text.push_str(v.trim());
            text.push('\n');
        }
    }
    for i in 0..message.text_body_count() {
        if let Some(body) = message.body_text(i) {
            text.push('\n');
            text.push_str(body.trim_end());
            text.push('\n');
        }
    }
    let attachments = message
        .attachments()
        .enumerate()
        .map(|(i, part)| Attachment {
            file_name: part
                .attachment_name()
                .map_or_else(|| format!("attachment-{}", i + 1), str::to_owned),
            bytes: part.contents().to_vec(),
        })
        .collect();
    Ok(Email {
        text: text.replace('\0', "\u{fffd}"),
        attachments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &str = "From: Ada Lovelace <ada@example.com>\r\n\
To: invoices@example.org\r\n\
Subject: Invoice =?utf-8?q?n=C2=B0?= 42\r\n\
Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\
\r\n\
--b\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<p>Please find the invoice <b>attached</b>.</p><script>alert(1)</script>\r\n\
--b\r\n\
Content-Type: text/plain; name=\"note.txt\"\r\n\
Content-Disposition: attachment; filename=\"note.txt\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
VG90YWwgZHVlOiAxMi41MCBFVVI=\r\n\
--b--\r\n";

    #[test]
    fn headers_body_and_attachments() {
        let e = parse(MESSAGE.as_bytes(), 10).unwrap();
        assert!(
            e.text.starts_with(
                "From: Ada Lovelace <ada@example.com>\nTo: invoices@example.org\nSubject: Invoice n° 42\n"
            ),
            "{}",
            e.text
        );
        assert!(e.text.contains("Please find the invoice attached."), "{}", e.text);
        assert_eq!(e.attachments.len(), 1);
        assert_eq!(e.attachments[0].file_name, "note.txt");
        assert_eq!(e.attachments[0].bytes, b"Total due: 12.50 EUR");
        let too_many = parse(MESSAGE.as_bytes(), 0).unwrap_err();
        assert_eq!(too_many, DocumentError::TooManyAttachments { count: 1, max: 0 });
        assert!(parse(b"just words, no headers", 10).is_err());
    }
}
