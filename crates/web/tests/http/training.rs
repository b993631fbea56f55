//! Learning from the inbox, over real HTTP on each backend: a reviewer's corrections become
//! training examples; a builder retrains, sees the candidate beside the active version on
//! the same held-out corrections, and activates it only by pressing the button.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tandem_domain::Role;
use tandem_service::automations::TrainingFiles;
use tandem_test_support::{TestApp, backends};

use super::{get_json, post_json};

const ROUTER: &str = r#"
name = "Requests"
slug = "requests"

[[inputs]]
name = "text"

[route]
examples = "requests.jsonl"
oos_label = "oos"
threshold = 0.999
"#;

const RECEIPTS: &str = r#"
name = "Till receipts"
slug = "till"

[[inputs]]
name = "text"

[[fields]]
name = "total"
type = "money"
extractor = "learned"
threshold = 0.999

[training]
documents = "till.jsonl"
"#;

/// CLINC150 requests labelled with their team, from the sample the repository carries.
fn requests() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/data/customer-requests.train.jsonl"
    );
    std::fs::read_to_string(path).expect("sample data")
}

/// Small synthetic receipts whose total follows a TOTAL label.
fn receipts() -> String {
    let shops = ["ACME MART", "BETA STORES", "GAMMA TRADING", "DELTA FOODS"];
    (0..40)
        .map(|i| {
            let total = format!("{}.{:02}", 3 + i * 7 % 90, i * 13 % 100);
            let text = format!(
                "{}\nRECEIPT NO {}\nITEM A 1.00\nITEM B 2.50\nTOTAL: {total}\nTHANK YOU",
                shops[i % 4],
                1000 + i
            );
            json!({ "id": i.to_string(), "text": text, "fields": { "total": total } }).to_string() + "\n"
        })
        .collect()
}

async fn submit(app: &TestApp, token: &str, slug: &str, texts: &[&str]) -> Vec<i64> {
    let batch =
        json!({ "items": texts.iter().map(|t| json!({ "input": { "text": t } })).collect::<Vec<_>>() });
    let (status, body) = post_json(
        app,
        token,
        &format!("/api/v1/automations/{slug}/items/batch"),
        &batch,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.drain().await;
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

async fn form(app: &TestApp, path: &str, csrf: &str) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .form(&[("csrf", csrf)])
        .send()
        .await
        .expect("form post")
}

async fn page(app: &TestApp, path: &str) -> (StatusCode, String) {
    let resp = app.client.get(app.url(path)).send().await.expect("page");
    (resp.status(), resp.text().await.unwrap())
}

#[tokio::test]
async fn corrections_teach_a_candidate_that_is_activated_only_when_asked() {
    for backend in backends() {
        let app = TestApp::start(backend).await;
        app.apply(
            ROUTER,
            TrainingFiles {
                route_examples: Some(("requests.jsonl".into(), requests())),
                documents: None,
            },
        )
        .await;
        let token = app.token("builder@acme.io", Role::Builder).await;
        let reviewer = app.token("rita@acme.io", Role::Reviewer).await;
        let store = &app.tandem.store;
        let ws = app.workspace;
        let automation = store.automation_by_slug(ws, "requests").await.unwrap().unwrap();
        let v1 = automation.active_version_id.unwrap();

        // Nothing corrected yet: a retrain says so, on the page, and makes no version.
        app.login("builder@acme.io").await;
        let csrf = app.csrf().await;
        let resp = form(&app, "/automations/requests/retrain", &csrf).await;
        assert_eq!(resp.status(), StatusCode::CONFLICT);
        assert!(
            resp.text()
                .await
                .unwrap()
                .contains("no corrections to learn from yet")
        );
        assert_eq!(store.list_versions(ws, automation.id).await.unwrap().len(), 1);

        // The item page shows the top three routes with their confidences. (Opening it
        // claims the item for the builder, so it is one the reviewer will not decide.)
        let texts = [
            "what is the balance of my checking account",
            "please book me a flight to paris",
            "set an alarm for six tomorrow morning",
            "how much is the tip on 80 dollars",
            "my credit card was declined at the store",
        ];
        let ids = submit(&app, &token, "requests", &texts).await;
        let (status, html) = page(&app, &format!("/items/{}", ids[4])).await;
        assert_eq!(status, StatusCode::OK);
        let top = html
            .split("class=\"top-routes\"")
            .nth(1)
            .expect("the top routes list");
        let top = top.split("</ol>").next().unwrap();
        assert_eq!(top.matches("<li>").count(), 3, "{top}");
        assert_eq!(top.matches("class=\"conf\"").count(), 3, "{top}");

        // A reviewer corrects four routes (a 0.999 threshold sends every item to review).
        let labels = ["travel", "utility", "banking", "kitchen_and_dining"];
        for (id, label) in ids.iter().zip(labels) {
            let (status, body) = post_json(
                &app,
                &reviewer,
                &format!("/api/v1/items/{id}/decision"),
                &json!({ "action": "correct", "route": label }),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let examples = store
            .training_examples(ws, automation.id, Some("route"))
            .await
            .unwrap();
        let learned: Vec<(String, String)> = examples
            .iter()
            .map(|e| {
                let v: Value = serde_json::from_str(&e.example).unwrap();
                (
                    v["text"].as_str().unwrap().to_owned(),
                    v["label"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        // A correction that kept the model's own route teaches nothing new; every other one
        // is kept with the text the router read.
        assert!(!learned.is_empty() && learned.len() <= 4, "{learned:?}");
        for (text, label) in &learned {
            let i = texts.iter().position(|t| t == text).expect("the item's text");
            assert_eq!(label, labels[i]);
        }
        assert!(
            examples
                .iter()
                .all(|e| e.item_id.is_some() && e.created_by.is_some())
        );

        // A reviewer may not retrain; a builder may, and the candidate waits.
        let rita = tandem_service::auth::Actor {
            user: store.user_credentials("rita@acme.io").await.unwrap().unwrap().0,
        };
        assert!(matches!(
            app.tandem.retrain_as(&rita, "requests", true).await,
            Err(tandem_service::ServiceError::Forbidden { .. })
        ));
        let resp = form(&app, "/automations/requests/retrain", &csrf).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let versions = store.list_versions(ws, automation.id).await.unwrap();
        assert_eq!(versions.len(), 2);
        let candidate = versions.iter().find(|v| v.id != v1).unwrap().clone();
        assert_eq!(
            store
                .automation(ws, automation.id)
                .await
                .unwrap()
                .active_version_id,
            Some(v1),
            "retraining does not activate"
        );
        let comparison = app
            .tandem
            .version_comparison(ws, &candidate)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(comparison.current_version, 1);
        assert_eq!(
            comparison.corrections_trained + comparison.corrections_held_out,
            learned.len()
        );
        let router = comparison.router.as_ref().expect("a routing comparison");
        assert_eq!(router.examples, comparison.corrections_held_out);
        let (status, html) = page(&app, "/automations/requests/training").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains(&format!("Version {} beside version 1", candidate.number)),
            "{html}"
        );
        assert!(html.contains(&format!("id=\"activate-{}\"", candidate.number)));

        // Activating is a separate, explicit step; new items then use the candidate.
        let resp = form(
            &app,
            &format!("/automations/requests/training/activate/{}", candidate.number),
            &csrf,
        )
        .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            store
                .automation(ws, automation.id)
                .await
                .unwrap()
                .active_version_id,
            Some(candidate.id)
        );
        let later = submit(&app, &token, "requests", &["what is my routing number"]).await;
        let (_, item) = get_json(&app, &token, &format!("/api/v1/items/{}", later[0])).await;
        assert_eq!(item["version"], candidate.number, "{item}");

        // Rolling back is the same button on the earlier version.
        let resp = form(&app, "/automations/requests/training/activate/1", &csrf).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            store
                .automation(ws, automation.id)
                .await
                .unwrap()
                .active_version_id,
            Some(v1)
        );
        let resp = form(&app, "/automations/requests/training/activate/99", &csrf).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn a_corrected_field_becomes_a_labelled_document() {
    for backend in backends() {
        let app = TestApp::start(backend).await;
        app.apply(
            RECEIPTS,
            TrainingFiles {
                route_examples: None,
                documents: Some(("till.jsonl".into(), receipts())),
            },
        )
        .await;
        let reviewer = app.token("rita@acme.io", Role::Reviewer).await;
        let token = app.token("builder@acme.io", Role::Builder).await;
        let text = "OMEGA SHOP\nRECEIPT NO 7\nITEM A 4.00\nTOTAL: 41.20\nCASH 50.00\nTHANK YOU";
        let ids = submit(&app, &token, "till", &[text]).await;
        // 40 held-out answers cannot back 99.9% precision: the item, the card and the gate
        // each say so in words, and nothing is accepted on its own.
        let why = "not enough evidence for 99.9%: 40 held-out answers (at least ";
        let (_, item) = get_json(&app, &token, &format!("/api/v1/items/{}", ids[0])).await;
        assert_eq!(item["status"], "needs_review", "{item}");
        let words = item["reasons"].to_string();
        assert!(words.contains(why), "{words}");
        let (status, card) = get_json(&app, &token, "/api/v1/automations/till/card").await;
        assert_eq!(status, StatusCode::OK, "{card}");
        let range = card["reliable_range"].to_string();
        assert!(
            range.contains(&format!("total is never accepted on its own yet: {why}")),
            "{range}"
        );
        let (status, rollout) = get_json(&app, &token, "/api/v1/automations/till/rollout").await;
        assert_eq!(status, StatusCode::OK, "{rollout}");
        let check = rollout["gate"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == "evidence.total")
            .expect("an evidence check for the learned field");
        assert_eq!(check["passed"], false, "{check}");
        assert!(check["detail"].as_str().unwrap().starts_with(why), "{check}");
        let (status, body) = post_json(
            &app,
            &reviewer,
            &format!("/api/v1/items/{}/decision", ids[0]),
            &json!({ "action": "correct", "fields": { "total": "RM 50.00" } }),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let store = &app.tandem.store;
        let automation = store
            .automation_by_slug(app.workspace, "till")
            .await
            .unwrap()
            .unwrap();
        let examples = store
            .training_examples(app.workspace, automation.id, None)
            .await
            .unwrap();
        // The model reads the TOTAL line (41.20); the reviewer says the cash line is the
        // total here, and that is kept as a labelled document with the normalised value.
        assert_eq!(examples.len(), 1);
        for e in &examples {
            assert_eq!(e.kind, "document");
            let doc: Value = serde_json::from_str(&e.example).unwrap();
            assert_eq!(doc["text"], text);
            // Stored normalised, as the reviewer's value was accepted ("RM" is MYR).
            assert_eq!(doc["fields"]["total"], "50.00 MYR");
        }
        // Another workspace sees none of it.
        let other = app.tandem.ensure_workspace("other", "Other").await.unwrap();
        assert!(
            store
                .training_examples(other.id, automation.id, None)
                .await
                .unwrap()
                .is_empty()
        );
        if !examples.is_empty() {
            let r = app
                .tandem
                .retrain(app.workspace, "till", None, true)
                .await
                .unwrap();
            assert!(r.activated);
            assert_eq!(r.comparison.corrections_trained, 1);
            assert_eq!(r.comparison.corrections_held_out, 0);
            let ex = r.comparison.extractor.expect("an extraction comparison");
            assert_eq!(ex.documents, 0);
            assert_eq!(
                ex.candidate.accuracy, None,
                "nothing held out: no figure, not a made-up one"
            );
        }
    }
}

#[tokio::test]
async fn stored_models_load_without_retraining_and_predict_identically() {
    use tandem_engine::classifier::TextClassifier;
    use tandem_engine::extractor::Extractor;

    let backend = backends()[0];
    let app = TestApp::start(backend).await;
    app.apply(
        ROUTER,
        TrainingFiles {
            route_examples: Some(("requests.jsonl".into(), requests())),
            documents: None,
        },
    )
    .await;
    app.apply(
        RECEIPTS,
        TrainingFiles {
            route_examples: None,
            documents: Some(("till.jsonl".into(), receipts())),
        },
    )
    .await;
    let store = &app.tandem.store;
    let ws = app.workspace;
    for slug in ["requests", "till"] {
        let a = store.automation_by_slug(ws, slug).await.unwrap().unwrap();
        let v = a.active_version_id.unwrap();
        let artifacts = store.artifacts(ws, v).await.unwrap();
        let kinds: Vec<&str> = artifacts.iter().map(|a| a.kind.as_str()).collect();
        assert!(kinds.contains(&"training_data"), "{kinds:?}");
        let compiled = app.tandem.compiled(ws, v).await.unwrap();
        for art in &artifacts {
            match art.kind.as_str() {
                "router" => {
                    let loaded = TextClassifier::from_bytes(&art.bytes).unwrap();
                    // Loading is decoding, not training: the bytes come back unchanged.
                    assert_eq!(loaded.to_bytes(), art.bytes);
                    let router = compiled.models.router.as_ref().unwrap();
                    for text in [
                        "book a flight to rome",
                        "what is my balance",
                        "tell me a joke",
                        "",
                    ] {
                        let p = loaded.predict(text);
                        let q = router.predict(text);
                        assert_eq!(
                            (p.ranked, p.confidence, p.out_of_scope),
                            (q.ranked, q.confidence, q.out_of_scope)
                        );
                    }
                }
                "extractor" => {
                    let loaded = Extractor::from_bytes(&art.bytes).unwrap();
                    assert_eq!(loaded.to_bytes(), art.bytes);
                    let again = Extractor::from_bytes(&art.bytes).unwrap();
                    let text = "ZETA MART\nRECEIPT NO 5\nTOTAL: 12.30\nTHANK YOU";
                    assert_eq!(loaded.extract(text), again.extract(text));
                    let model = compiled.models.fields.as_ref().unwrap();
                    let via_pipeline = model.extract(text);
                    let direct = loaded.extract(text);
                    assert_eq!(via_pipeline.len(), direct.len());
                    for (a, b) in via_pipeline.iter().zip(&direct) {
                        assert_eq!((a.name.as_str(), a.confidence), (b.name.as_str(), b.confidence));
                        let va: Vec<&str> = a.values.iter().map(|v| v.value.as_str()).collect();
                        let vb: Vec<&str> = b.values.iter().map(|v| v.value.as_str()).collect();
                        assert_eq!(va, vb);
                    }
                }
                _ => {}
            }
        }
    }
}
