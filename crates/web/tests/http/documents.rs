//! Documents through the real API, poppler and Tesseract, on each backend: a PDF's text
//! layer and a scan's OCR become items whose evidence is boxed on the page; the same file
//! twice is one item; bad files are refused naming the file and what is wrong; the original
//! comes back as a download only, and retention removes it while the boxes stay.
//! The documents are real public ones (examples/documents/README.md).

use reqwest::StatusCode;
use serde_json::Value;
use tandem_domain::Role;
use tandem_service::automations::TrainingFiles;
use tandem_test_support::{TestApp, backends};

use super::get_json;

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

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../../examples/documents/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn upload(app: &TestApp, token: &str, files: &[(&str, Vec<u8>)]) -> (StatusCode, Value) {
    upload_to(app, token, "docs", files).await
}

pub async fn upload_to(
    app: &TestApp,
    token: &str,
    slug: &str,
    files: &[(&str, Vec<u8>)],
) -> (StatusCode, Value) {
    let mut form = reqwest::multipart::Form::new();
    for (name, bytes) in files {
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string()),
        );
    }
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/automations/{slug}/documents")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub fn field<'a>(item: &'a Value, name: &str) -> &'a Value {
    item["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["name"] == name))
        .unwrap_or_else(|| panic!("no field {name} in {item}"))
}

fn error_message(body: &Value) -> String {
    body["error"]["message"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn documents_become_items_with_evidence_boxed_on_their_pages() {
    for backend in backends() {
        let app = TestApp::start(backend).await;
        app.apply(DEFINITION, TrainingFiles::default()).await;
        let token = app.token("builder@acme.io", Role::Builder).await;

        // A born-digital PDF: accepted at once (202), read by the worker.
        let pdf = fixture("mime-spec-p1-2.pdf");
        let (status, item) = upload(&app, &token, &[("mime-spec-p1-2.pdf", pdf.clone())]).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{item}");
        assert_eq!(item["document"]["file_name"], "mime-spec-p1-2.pdf");
        assert_eq!(item["document"]["media_type"], "application/pdf");
        let id = item["id"].as_i64().unwrap();
        app.drain().await;
        // Its text layer, two pages, a box per word.
        let (_, item) = get_json(&app, &token, &format!("/api/v1/items/{id}")).await;
        let doc = &item["document"];
        assert_eq!(doc["pages"].as_array().map(Vec::len), Some(2), "{doc}");
        assert_eq!(doc["pages"][0]["reading"], "text_layer");
        assert!(
            item["input"]["text"]
                .as_str()
                .unwrap()
                .contains("Shared MIME-info Database")
        );
        let link = field(&item, "link");
        assert_eq!(link["value"], "http://www.freedesktop.org", "{link}");
        // Where poppler puts "(http://www.freedesktop.org)": x 287..520 pt of 609.7, y
        // 109.5..125.7 pt of 789 on the first page.
        let b = &link["evidence"][0]["boxes"][0];
        assert_eq!(b["page"], 0, "{link}");
        let (x0, y0, x1, y1) = (
            b["x0"].as_f64().unwrap(),
            b["y0"].as_f64().unwrap(),
            b["x1"].as_f64().unwrap(),
            b["y1"].as_f64().unwrap(),
        );
        assert!(
            (x0 - 287.0 / 609.714).abs() < 0.01 && (x1 - 520.385 / 609.714).abs() < 0.01,
            "{b}"
        );
        assert!(
            (y0 - 109.53 / 789.041).abs() < 0.01 && (y1 - 125.69 / 789.041).abs() < 0.01,
            "{b}"
        );

        // The same file again is the same item (200), not a second one.
        let (status, again) = upload(&app, &token, &[("copy.pdf", pdf.clone())]).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert_eq!(again["id"].as_i64(), Some(id));

        // The original comes back byte for byte, as a download the browser will not render.
        let resp = app
            .client
            .get(app.url(&format!("/api/v1/items/{id}/document/original")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let h = resp.headers().clone();
        assert!(
            h["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment")
        );
        assert_eq!(h["content-type"], "application/octet-stream");
        assert!(h["content-security-policy"].to_str().unwrap().contains("sandbox"));
        assert_eq!(resp.bytes().await.unwrap().to_vec(), pdf);

        // A photographed receipt (JPEG) and a scanned PDF (no text layer) are read by OCR,
        // each word with a box and a certainty.
        let (status, results) = upload(
            &app,
            &token,
            &[
                ("sroie-000.jpg", fixture("sroie-000.jpg")),
                ("sroie-001-scan.pdf", fixture("sroie-001-scan.pdf")),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{results}");
        let results = results["results"].as_array().unwrap().clone();
        assert_eq!(results.len(), 2);
        for r in &results {
            assert_eq!(r["created"], true, "{r}");
            assert_eq!(r["read"], false, "{r}");
            assert_eq!(r["pages"], 1, "{r}");
        }
        app.drain().await;
        let (_, photo) = get_json(&app, &token, &format!("/api/v1/items/{}", results[0]["id"])).await;
        assert_eq!(photo["document"]["pages"][0]["reading"], "ocr");
        // The gold date of SROIE receipt 000 is 25/12/2018.
        let date = field(&photo, "date");
        assert_eq!(date["evidence"][0]["text"], "25/12/2018", "{date}");
        let b = &date["evidence"][0]["boxes"][0];
        assert!(
            b["y0"].as_f64().unwrap() > 0.2 && b["y1"].as_f64().unwrap() < 0.6,
            "{b}"
        );
        let (_, scan) = get_json(&app, &token, &format!("/api/v1/items/{}", results[1]["id"])).await;
        assert_eq!(scan["document"]["pages"][0]["reading"], "ocr");
        assert!(
            scan["input"]["text"]
                .as_str()
                .unwrap()
                .to_uppercase()
                .contains("TOTAL"),
            "{}",
            scan["input"]["text"]
        );

        // Retention removes the original; the text and boxes stay.
        let far = i64::MAX / 2;
        let purged = app
            .tandem
            .store
            .purge_documents(app.workspace, far, far)
            .await
            .unwrap();
        assert_eq!(purged, 3);
        let (status, body) = get_json(&app, &token, &format!("/api/v1/items/{id}/document/original")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert!(error_message(&body).contains("retention"), "{body}");
        let (_, kept) = get_json(&app, &token, &format!("/api/v1/items/{id}")).await;
        assert_eq!(kept["document"]["original_kept"], false);
        assert!(
            field(&kept, "link")["evidence"][0]["boxes"]
                .as_array()
                .is_some_and(|b| !b.is_empty())
        );
    }
}

#[tokio::test]
async fn a_value_read_unsurely_by_ocr_says_so_among_the_reasons() {
    for backend in backends() {
        // No word is read with 99.9% certainty, so every OCR value is flagged; the default
        // (60%) flags only doubtful words.
        let app =
            TestApp::start_with_settings(backend, None, |s| s.documents.ocr_min_certainty = 0.999).await;
        app.apply(DEFINITION, TrainingFiles::default()).await;
        let token = app.token("builder@acme.io", Role::Builder).await;
        let (status, item) = upload(&app, &token, &[("sroie-000.jpg", fixture("sroie-000.jpg"))]).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{item}");
        app.drain().await;
        let (_, item) = get_json(&app, &token, &format!("/api/v1/items/{}", item["id"])).await;
        assert_eq!(item["status"], "needs_review", "{item}");
        let date = field(&item, "date");
        let reason = date["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["code"] == "uncertain_reading")
            .unwrap_or_else(|| panic!("{date}"));
        assert!(
            reason["message"]
                .as_str()
                .unwrap()
                .contains("read from the page image"),
            "{reason}"
        );
        // A text-layer PDF has no certainty to doubt.
        let (_, pdf) = upload(&app, &token, &[("spec.pdf", fixture("mime-spec-p1-2.pdf"))]).await;
        app.drain().await;
        let (_, pdf) = get_json(&app, &token, &format!("/api/v1/items/{}", pdf["id"])).await;
        assert!(
            !pdf["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["code"] == "uncertain_reading"),
            "{pdf}"
        );
    }
}

#[tokio::test]
async fn the_upload_answers_before_the_worker_reads_the_file() {
    for backend in backends() {
        let app = TestApp::start(backend).await;
        app.apply(DEFINITION, TrainingFiles::default()).await;
        let token = app.token("builder@acme.io", Role::Builder).await;
        // The worker has not run: the answer came before any OCR, with the file kept and
        // the item queued, its text still to be read.
        let (status, item) = upload(&app, &token, &[("sroie-000.jpg", fixture("sroie-000.jpg"))]).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{item}");
        assert_eq!(item["status"], "queued", "{item}");
        assert_eq!(item["input"]["text"], "", "{item}");
        assert_eq!(
            item["document"]["pages"].as_array().map(Vec::len),
            Some(0),
            "{item}"
        );
        let id = item["id"].as_i64().unwrap();
        let resp = app
            .client
            .get(app.url(&format!("/api/v1/items/{id}/document/original")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.bytes().await.unwrap().to_vec(), fixture("sroie-000.jpg"));
        // Retention never removes a file before it is read.
        let far = i64::MAX / 2;
        let purged = app
            .tandem
            .store
            .purge_documents(app.workspace, far, far)
            .await
            .unwrap();
        assert_eq!(purged, 0);

        // The worker reads it (OCR), stores the text and boxes, and runs the engine.
        let tick = app.drain().await;
        assert_eq!(tick.processed, 1);
        let (_, item) = get_json(&app, &token, &format!("/api/v1/items/{id}")).await;
        assert_ne!(item["status"], "queued", "{item}");
        assert_eq!(item["document"]["pages"][0]["reading"], "ocr", "{item}");
        assert!(
            item["input"]["text"].as_str().unwrap().contains("25/12/2018"),
            "{item}"
        );
        assert_eq!(
            field(&item, "date")["evidence"][0]["text"],
            "25/12/2018",
            "{item}"
        );
        // Read once: the same file again is the same item, already read.
        let (status, again) = upload(&app, &token, &[("again.jpg", fixture("sroie-000.jpg"))]).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert_eq!(app.drain().await.processed, 0);
    }
}

#[tokio::test]
async fn a_document_past_its_reading_time_goes_to_the_inbox_with_the_reason() {
    for backend in backends() {
        // No OCR finishes in a millisecond.
        let app = TestApp::start_with_settings(backend, None, |s| {
            s.documents.limits.read_deadline = std::time::Duration::from_millis(1);
        })
        .await;
        app.apply(DEFINITION, TrainingFiles::default()).await;
        let token = app.token("builder@acme.io", Role::Builder).await;
        let (status, item) = upload(&app, &token, &[("slow.jpg", fixture("sroie-000.jpg"))]).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{item}");
        let id = item["id"].as_i64().unwrap();
        app.drain().await;
        let (_, item) = get_json(&app, &token, &format!("/api/v1/items/{id}")).await;
        assert_eq!(item["status"], "failed", "{item}");
        assert!(
            item["error"]
                .as_str()
                .is_some_and(|e| e == "slow.jpg: reading it took longer than 1 ms and was stopped"),
            "{item}"
        );
        // The original is kept, so nothing accepted is lost.
        let resp = app
            .client
            .get(app.url(&format!("/api/v1/items/{id}/document/original")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn bad_files_are_refused_naming_the_file_and_what_is_wrong() {
    for backend in backends() {
        let app = TestApp::start_with_settings(backend, None, |s| s.documents.max_bytes = 200_000).await;
        app.apply(DEFINITION, TrainingFiles::default()).await;
        let token = app.token("builder@acme.io", Role::Builder).await;
        let pdf = fixture("mime-spec-p1-2.pdf");
        let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
            (
                "locked.pdf",
                fixture("mime-spec-encrypted.pdf"),
                StatusCode::UNPROCESSABLE_ENTITY,
                "locked.pdf: the PDF is encrypted with a password",
            ),
            (
                "cut.pdf",
                pdf[..3000].to_vec(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "cut.pdf: ",
            ),
            (
                "big.pdf",
                pdf.clone(),
                StatusCode::PAYLOAD_TOO_LARGE,
                "big.pdf: the file is over the limit of 200000 bytes",
            ),
            (
                "photo.png",
                b"this is not a picture".to_vec(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "photo.png: it is named .png but is not a PNG file",
            ),
            (
                "truncated.jpg",
                fixture("sroie-000.jpg")[..20].to_vec(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "truncated.jpg: ",
            ),
            (
                "bomb.zip",
                b"PK\x03\x04\x14\x00\x00\x00\x08\x00".to_vec(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "bomb.zip: it is a ZIP archive",
            ),
            (
                "latin1.txt",
                b"caf\xe9 au lait".to_vec(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "latin1.txt: it is not a PDF, PNG, JPEG, TIFF, e-mail (.eml) or UTF-8 text file",
            ),
            (
                "empty.txt",
                Vec::new(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "empty.txt: the file is empty",
            ),
        ];
        for (name, bytes, status, message) in cases {
            let (got, body) = upload(&app, &token, &[(name, bytes)]).await;
            assert_eq!(got, status, "{name}: {body}");
            assert!(error_message(&body).starts_with(message), "{name}: {body}");
        }
        // Nothing was accepted, and no file's content reached an answer.
        let (_, items) = get_json(&app, &token, "/api/v1/items?status=all").await;
        assert_eq!(items["items"].as_array().map(Vec::len), Some(0), "{items}");
        // A good text file next to a bad one: each on its own.
        let (status, body) = upload(
            &app,
            &token,
            &[
                ("note.txt", b"See https://example.org on 2024-03-01".to_vec()),
                ("photo.png", b"nope".to_vec()),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["results"][0]["created"], true, "{body}");
        assert_eq!(body["results"][1]["error"]["status"], 422, "{body}");
        // Not multipart at all.
        let (status, body) = app
            .post_json(
                &token,
                "/api/v1/automations/docs/documents",
                &serde_json::json!({"text": "x"}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(error_message(&body).contains("multipart/form-data"), "{body}");
    }
}
