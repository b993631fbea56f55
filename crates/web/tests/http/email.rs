//! E-mail through the real API and mail-parser, on each backend: a message becomes an item,
//! each attachment an item linked to it (or only the attachments, as the definition says);
//! an attachment that cannot be read is named in the message's notes and kept in its
//! original; a message with too many attachments is refused, naming the file. The
//! attachments are the real public documents of examples/documents.

use base64::Engine;
use reqwest::StatusCode;
use serde_json::Value;
use tandem_domain::Role;
use tandem_service::automations::TrainingFiles;
use tandem_test_support::{TestApp, backends};

use super::documents::{field, fixture, upload_to};
use super::get_json;

fn message(subject: &str, attachments: &[(&str, &str, Vec<u8>)]) -> Vec<u8> {
    let mut m = format!(
        "From: Accounts <accounts@example.com>\r\nTo: receipts@example.org\r\nSubject: {subject}\r\n\
Date: Mon, 7 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"XXBOUNDARYXX\"\r\n\r\n\
--XXBOUNDARYXX\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
<p>Receipts for <b>December</b>, see https://example.com/receipts</p>\r\n"
    );
    for (name, ctype, bytes) in attachments {
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        m.push_str(&format!(
            "--XXBOUNDARYXX\r\nContent-Type: {ctype}; name=\"{name}\"\r\n\
Content-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        ));
        for chunk in b64.as_bytes().chunks(76) {
            m.push_str(std::str::from_utf8(chunk).unwrap());
            m.push_str("\r\n");
        }
    }
    m.push_str("--XXBOUNDARYXX--\r\n");
    m.into_bytes()
}

const DEFINITION: &str = r#"
name = "Documents"
slug = "docs"

[[fields]]
name = "link"
type = "url"
threshold = 0.1

[[fields]]
name = "date"
type = "date"
threshold = 0.1
"#;

#[tokio::test]
async fn a_message_and_its_attachments_become_linked_items() {
    for backend in backends() {
        let app = TestApp::start(backend).await;
        app.apply(DEFINITION, TrainingFiles::default()).await;
        app.apply(
            &DEFINITION.replace(
                "slug = \"docs\"",
                "slug = \"parts\"\n[email]\nitems = \"attachments\"",
            ),
            TrainingFiles::default(),
        )
        .await;
        let token = app.token("builder@acme.io", Role::Builder).await;
        let eml = message(
            "Receipts for December",
            &[
                ("receipt.jpg", "image/jpeg", fixture("sroie-000.jpg")),
                ("spec.pdf", "application/pdf", fixture("mime-spec-p1-2.pdf")),
                (
                    "contract.docx",
                    "application/octet-stream",
                    b"PK\x03\x04\x14\x00rest".to_vec(),
                ),
            ],
        );
        let (status, item) = upload_to(&app, &token, "docs", &[("december.eml", eml.clone())]).await;
        assert_eq!(status, StatusCode::CREATED, "{item}");
        let doc = &item["document"];
        assert_eq!(doc["media_type"], "message/rfc822", "{doc}");
        let text = item["input"]["text"].as_str().unwrap();
        assert!(text.contains("Subject: Receipts for December"), "{text}");
        assert!(
            text.contains("Receipts for December, see https://example.com/receipts"),
            "{text}"
        );
        let names: Vec<&str> = doc["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["file_name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["receipt.jpg", "spec.pdf"], "{doc}");
        assert!(
            doc["notes"][0]
                .as_str()
                .unwrap()
                .starts_with("contract.docx: not read: it is a ZIP archive"),
            "{doc}"
        );
        app.drain().await;
        let id = item["id"].as_i64().unwrap();
        let (_, msg) = get_json(&app, &token, &format!("/api/v1/items/{id}")).await;
        assert_eq!(
            field(&msg, "link")["value"],
            "https://example.com/receipts",
            "{msg}"
        );
        // The receipt is an item of its own, read by OCR, linked to its message.
        let receipt = doc["attachments"][0]["item"].as_i64().unwrap();
        let (_, r) = get_json(&app, &token, &format!("/api/v1/items/{receipt}")).await;
        assert_eq!(r["document"]["parent_item"].as_i64(), Some(id), "{r}");
        assert_eq!(r["document"]["pages"][0]["reading"], "ocr", "{r}");
        let date = field(&r, "date");
        assert_eq!(date["evidence"][0]["text"], "25/12/2018", "{date}");
        assert!(
            !date["evidence"][0]["boxes"].as_array().unwrap().is_empty(),
            "{date}"
        );
        // The same message again is the same items.
        let (status, again) = upload_to(&app, &token, "docs", &[("december.eml", eml.clone())]).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert_eq!(again["id"].as_i64(), Some(id));
        let (_, all) = get_json(&app, &token, "/api/v1/items?status=all&automation=docs").await;
        assert_eq!(all["items"].as_array().map(Vec::len), Some(3), "{all}");

        // "attachments": each readable attachment an item, the message none.
        let eml = message(
            "Spec",
            &[("spec.pdf", "application/pdf", fixture("mime-spec-p1-2.pdf"))],
        );
        let (status, only) = upload_to(&app, &token, "parts", &[("spec.eml", eml)]).await;
        // The PDF is read by the worker: the answer does not wait for it.
        assert_eq!(status, StatusCode::ACCEPTED, "{only}");
        assert_eq!(only["document"]["media_type"], "application/pdf", "{only}");
        assert_eq!(only["document"]["file_name"], "spec.pdf", "{only}");
        assert!(only["document"]["parent_item"].is_null(), "{only}");
        // One that cannot be read keeps the message as an item, so nothing is lost.
        let eml = message(
            "Odd",
            &[(
                "contract.docx",
                "application/octet-stream",
                b"PK\x03\x04".to_vec(),
            )],
        );
        let (status, kept) = upload_to(&app, &token, "parts", &[("odd.eml", eml)]).await;
        assert_eq!(status, StatusCode::CREATED, "{kept}");
        assert_eq!(kept["document"]["media_type"], "message/rfc822", "{kept}");

        // 500 attachments: refused, naming the file.
        let many: Vec<(String, Vec<u8>)> = (0..500).map(|i| (format!("n{i}.txt"), b"x".to_vec())).collect();
        let parts: Vec<(&str, &str, Vec<u8>)> = many
            .iter()
            .map(|(n, b)| (n.as_str(), "text/plain", b.clone()))
            .collect();
        let (status, body) =
            upload_to(&app, &token, "docs", &[("flood.eml", message("Flood", &parts))]).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert_eq!(
            body["error"]["message"], "flood.eml: the message has 500 attachments, over the limit of 20",
            "{body}"
        );
        let _: Value = body;
    }
}
