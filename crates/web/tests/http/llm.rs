//! The LLM step inside an automation, against a local server that speaks the OpenAI
//! chat-completions protocol: extraction with confidence from log-probabilities, latency
//! and tokens on the item page, a shadow extractor beside the primary, the comparison
//! with the reviewers, "keep the better one", and the refitted calibration.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tandem_domain::Role;
use tandem_engine::calibration::Calibrator;
use tandem_service::automations::TrainingFiles;
use tandem_store::FieldRole;
use tandem_test_support::{FakeLlm, TestApp, backends};

use super::{get_json, post_json};

fn definition(base_url: &str) -> String {
    format!(
        r#"
name = "Receipts (LLM)"
slug = "receipts-llm"

[[fields]]
name = "company"
type = "text"
extractor = "label"
labels = ["Company"]
shadow_extractor = "llm"
threshold = 0.5

[[fields]]
name = "total"
type = "money"
extractor = "llm"
shadow_extractor = "pattern"
required = true
# Every item goes to review, so each one is evidence for the comparison.
threshold = 1.0

[llm]
base_url = "{base_url}"
model = "test-model"
timeout = 5
retries = 0
"#
    )
}

/// Three receipts; the LLM reads every company right (the label extractor misses the
/// third) and one total wrong (and is unsure of it).
const RECEIPTS: [(&str, &str, &str); 3] = [
    ("Company: ACME Ltd\nTotal: 9.00", "ACME Ltd", "9.00"),
    ("Company: Globex Inc\nTotal: 12.50", "Globex Inc", "12.50"),
    ("Initech\nCompany: 42 Main Street\nTotal: 3.00", "Initech", "3.00"),
];

async fn fake_llm() -> FakeLlm {
    let llm = FakeLlm::start().await;
    llm.logprobs(true)
        .answer_when("ACME", r#"{"company": "ACME Ltd", "total": "9.00"}"#)
        .answer_when("Globex", r#"{"company": "Globex Inc", "total": "21.50"}"#)
        .answer_when("Initech", r#"{"company": "Initech", "total": "3.00"}"#)
        .doubt("21.50", -0.7);
    llm
}

#[tokio::test]
async fn the_llm_step_runs_beside_a_shadow_and_the_better_extractor_is_kept() {
    for backend in backends() {
        let app = TestApp::start(backend).await;
        let llm = fake_llm().await;
        app.apply(&definition(&llm.base_url), TrainingFiles::default())
            .await;
        let token = app.token("builder@acme.io", Role::Builder).await;
        let ws = app.workspace;

        let batch = json!({ "items": RECEIPTS.iter().map(|(t, _, _)| json!({ "input": { "text": t } })).collect::<Vec<_>>() });
        let (status, body) = post_json(
            &app,
            &token,
            "/api/v1/automations/receipts-llm/items/batch",
            &batch,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let ids: Vec<i64> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect();
        app.drain().await;

        // The LLM asked through the schema of the fields that use it.
        let req = &llm.requests()[0];
        assert_eq!(
            req["response_format"]["json_schema"]["schema"]["required"],
            json!(["company", "total"])
        );

        // The total (primary: llm) is read, located in the input and scored from its tokens.
        let (_, second) = get_json(&app, &token, &format!("/api/v1/items/{}", ids[1])).await;
        let total = second["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "total")
            .unwrap()
            .clone();
        assert!(total["value"].as_str().unwrap().starts_with("21.5"), "{total}");
        let doubted = total["confidence"].as_f64().unwrap();
        let (_, first) = get_json(&app, &token, &format!("/api/v1/items/{}", ids[0])).await;
        let sure = first["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "total")
            .unwrap()["confidence"]
            .as_f64()
            .unwrap();
        assert!(
            doubted < 0.3 && sure > 0.95,
            "doubted tokens give a low score: {doubted} vs {sure}"
        );

        // Latency and token use are stored per item.
        let run = app
            .tandem
            .store
            .llm_run(ws, tandem_domain::ItemId(ids[0]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((run.model.as_str(), run.requests), ("test-model", 1));
        assert!(run.prompt_tokens > 0 && run.completion_tokens > 0, "{run:?}");
        assert_eq!(run.error, None);
        let runs = app
            .tandem
            .store
            .field_runs(ws, tandem_domain::ItemId(ids[2]))
            .await
            .unwrap();
        let shadow_company = runs
            .iter()
            .find(|r| r.field == "company" && r.role == FieldRole::Shadow)
            .unwrap();
        assert_eq!(
            (shadow_company.extractor.as_str(), shadow_company.value.as_deref()),
            ("llm", Some("\"Initech\""))
        );
        let primary_company = runs
            .iter()
            .find(|r| r.field == "company" && r.role == FieldRole::Primary)
            .unwrap();
        assert_eq!(primary_company.value.as_deref(), Some("\"42 Main Street\""));

        // So does the API.
        let (status, api) = get_json(&app, &token, &format!("/api/v1/items/{}/extractors", ids[2])).await;
        assert_eq!(status, StatusCode::OK, "{api}");
        assert_eq!(api["llm"]["model"], "test-model");
        assert_eq!(api["fields"].as_array().unwrap().len(), 4, "{api}");

        // Reviewers accept the right values.
        for (id, (_, company, total)) in ids.iter().zip(RECEIPTS) {
            let decision = json!({ "action": "correct", "fields": { "company": company, "total": total } });
            let (status, body) =
                post_json(&app, &token, &format!("/api/v1/items/{id}/decision"), &decision).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }

        // The item page shows them (viewed after the decisions: viewing claims an item).
        app.user("ada@acme.io", Role::Builder).await;
        app.login("ada@acme.io").await;
        let html = app.page(&format!("/items/{}", ids[2])).await;
        assert!(html.contains("test-model") && html.contains("prompt +"), "{html}");
        assert!(
            html.contains("Shadow extractors") && html.contains("Initech"),
            "{html}"
        );

        // Compared with the reviewers: the LLM agreed on every company, the label on two;
        // the pattern on every total, the LLM on two.
        let cmp = app.tandem.compare_extractors(ws, "receipts-llm").await.unwrap();
        let company = cmp.iter().find(|c| c.field == "company").unwrap();
        let scores: Vec<(&str, usize, usize)> = company
            .scores
            .iter()
            .map(|s| (s.extractor.as_str(), s.agreed, s.reviewed))
            .collect();
        assert_eq!(scores, [("llm", 3, 3), ("label", 2, 3)]);
        assert_eq!(company.switch_to.as_deref(), Some("llm"));
        let total = cmp.iter().find(|c| c.field == "total").unwrap();
        let scores: Vec<(&str, usize, usize)> = total
            .scores
            .iter()
            .map(|s| (s.extractor.as_str(), s.agreed, s.reviewed))
            .collect();
        // The money pattern wants a currency, which these receipts do not print.
        assert_eq!(scores, [("llm", 2, 3), ("pattern", 0, 3)]);
        assert_eq!(total.switch_to, None, "the primary is already the better one");
        let (status, api) = get_json(&app, &token, "/api/v1/automations/receipts-llm/extractors").await;
        assert_eq!(status, StatusCode::OK, "{api}");
        assert_eq!(api["fields"][0]["switch_to"], "llm", "{api}");
        let html = app.page("/automations/receipts-llm/extractors").await;
        assert!(html.contains("Keep llm for company"), "{html}");

        // Keep the better one for company: a new version with the extractors swapped.
        let csrf = app.csrf().await;
        let resp = app
            .post_form(
                "/automations/receipts-llm/extractors/company/keep",
                &[("csrf", csrf.as_str())],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            resp.headers()["location"],
            "/automations/receipts-llm/extractors?kept=2"
        );
        let (_, c) = app.tandem.active(ws, "receipts-llm").await.unwrap();
        let field = c.def.field("company").unwrap();
        assert_eq!(c.version.number, 2);
        assert_eq!(field.extractor.as_str(), "llm");
        assert_eq!(field.shadow_extractor.map(|k| k.as_str()), Some("label"));
        // Nothing left to switch on that field.
        let again = app
            .tandem
            .keep_better_extractor(ws, "receipts-llm", "company", None)
            .await;
        assert!(
            matches!(again, Err(tandem_service::ServiceError::Conflict(_))),
            "{again:?}"
        );

        // Refit: each LLM field's calibrator from the reviewed answers.
        let fits = app.tandem.refit_llm(ws, "receipts-llm").await.unwrap();
        let total_fit = fits.iter().find(|f| f.field == "total").unwrap();
        assert_eq!((total_fit.points, total_fit.correct), (3, 2));
        let stored = app
            .tandem
            .store
            .llm_calibrations(ws, c.version.automation_id)
            .await
            .unwrap();
        assert_eq!(stored.len(), 2);

        // A new item's LLM confidence goes through the fitted calibrator.
        let (status, body) = post_json(
            &app,
            &token,
            "/api/v1/automations/receipts-llm/items",
            &json!({ "text": "Company: ACME Ltd\nTotal: 9.00" }),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        app.drain().await;
        let id = tandem_domain::ItemId(body["id"].as_i64().unwrap());
        let runs = app.tandem.store.field_runs(ws, id).await.unwrap();
        let t = runs
            .iter()
            .find(|r| r.field == "total" && r.role == FieldRole::Primary)
            .unwrap();
        let cal: Calibrator =
            serde_json::from_str(&stored.iter().find(|s| s.field == "total").unwrap().calibrator).unwrap();
        let raw = t.raw_score.unwrap();
        assert!((t.confidence - cal.apply(raw)).abs() < 1e-9, "{t:?}");
        assert!(
            (t.confidence - raw).abs() > 1e-6,
            "calibration changed the raw score: {t:?}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_llm_sends_items_to_review_naming_the_url() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}/v1");
    for backend in backends() {
        let app = TestApp::start(backend).await;
        app.apply(&definition(&base), TrainingFiles::default()).await;
        let token = app.token("builder@acme.io", Role::Builder).await;
        let (_, body) = post_json(
            &app,
            &token,
            "/api/v1/automations/receipts-llm/items",
            &json!({ "text": "Company: ACME Ltd\nTotal: 9.00" }),
        )
        .await;
        app.drain().await;
        let id = body["id"].as_i64().unwrap();
        let (_, item) = get_json(&app, &token, &format!("/api/v1/items/{id}")).await;
        assert_eq!(item["status"], "needs_review", "{item}");
        let reasons: Vec<&Value> = item["reasons"].as_array().unwrap().iter().collect();
        let words = serde_json::to_string(&reasons).unwrap();
        assert!(
            words.contains(&format!("http://127.0.0.1:{port}/v1/chat/completions")),
            "{words}"
        );
        assert!(words.contains("unreachable"), "{words}");
        let run = app
            .tandem
            .store
            .llm_run(app.workspace, tandem_domain::ItemId(id))
            .await
            .unwrap()
            .unwrap();
        assert!(run.error.as_deref().unwrap().contains("unreachable"));
        // Issue 20: a failed run records what it spent (one request; no tokens).
        assert_eq!(run.requests, 1, "{run:?}");
    }
}
