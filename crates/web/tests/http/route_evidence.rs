//! The route threshold is also the precision routes taken on their own must show, kept
//! only as far as the router's held-out answers back it: a router trained on thousands of
//! examples routes on its own; one trained on a handful routes nothing on its own, and the
//! item, the card and the gate say why. Over real HTTP and the real worker, each backend.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tandem_domain::Role;
use tandem_service::automations::TrainingFiles;
use tandem_test_support::{TestApp, backends};

use super::{get_json, post_json};

const BACKED: &str = r#"
name = "Requests"
slug = "requests"

[[inputs]]
name = "text"

[route]
examples = "requests.jsonl"
oos_label = "oos"
threshold = 0.9
"#;

const THIN: &str = r#"
name = "Desk"
slug = "desk"

[[inputs]]
name = "text"

[route]
threshold = 0.99

[[route.examples]]
text = "my laptop will not start"
label = "it"
[[route.examples]]
text = "reset my password please"
label = "it"
[[route.examples]]
text = "the printer is jammed again"
label = "it"
[[route.examples]]
text = "where is my refund"
label = "billing"
[[route.examples]]
text = "the charge on my invoice is wrong"
label = "billing"
[[route.examples]]
text = "i was billed twice this month"
label = "billing"
"#;

fn requests() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/data/customer-requests.train.jsonl"
    );
    std::fs::read_to_string(path).expect("sample data")
}

async fn submit_one(app: &TestApp, token: &str, slug: &str, text: &str) -> Value {
    let (status, body) = post_json(
        app,
        token,
        &format!("/api/v1/automations/{slug}/items"),
        &json!({ "text": text }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.drain().await;
    let id = body["id"].as_i64().unwrap();
    get_json(app, token, &format!("/api/v1/items/{id}")).await.1
}

fn gate_check(rollout: &Value, key: &str) -> Value {
    rollout["gate"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == key)
        .cloned()
        .unwrap_or_else(|| panic!("no {key} check: {rollout}"))
}

#[tokio::test]
async fn a_route_target_is_kept_only_as_far_as_the_evidence_backs_it() {
    for backend in backends() {
        let app = TestApp::start(backend).await;
        app.apply(
            BACKED,
            TrainingFiles {
                route_examples: Some(("requests.jsonl".into(), requests())),
                documents: None,
            },
        )
        .await;
        app.apply(THIN, TrainingFiles::default()).await;
        let token = app.token("builder@acme.io", Role::Builder).await;

        // Thousands of held-out answers back 90%: a clear request is routed on its own.
        let item = submit_one(&app, &token, "requests", "please book me a flight to paris").await;
        assert_eq!(item["status"], "auto_accepted", "{item}");
        let (_, card) = get_json(&app, &token, "/api/v1/automations/requests/card").await;
        let range = card["reliable_range"].to_string();
        assert!(
            range.contains("held-out answers were right, so its precision is at least")
                && range.contains("(set at 90%, which is also the precision it must show)"),
            "{range}"
        );
        assert!(range.contains("in another language or alphabet"), "{range}");
        let (_, rollout) = get_json(&app, &token, "/api/v1/automations/requests/rollout").await;
        assert_eq!(
            gate_check(&rollout, "evidence.route")["passed"],
            true,
            "{rollout}"
        );

        // Six examples cannot back 99%: even an exact training sentence waits, saying why.
        let item = submit_one(&app, &token, "desk", "my laptop will not start").await;
        assert_eq!(item["status"], "needs_review", "{item}");
        let reasons = item["reasons"].as_array().unwrap();
        let unbacked = reasons
            .iter()
            .find(|r| r["code"] == "not_enough_evidence")
            .unwrap_or_else(|| panic!("{item}"));
        let words = unbacked["message"].as_str().unwrap();
        assert!(
            words.starts_with("the route is never accepted on its own yet: not enough evidence for 99%"),
            "{words}"
        );
        assert!(words.contains("(at least 268 are needed, all right;"), "{words}");
        let (_, card) = get_json(&app, &token, "/api/v1/automations/desk/card").await;
        assert!(
            card["reliable_range"]
                .to_string()
                .contains("The route is never taken on its own yet: not enough evidence for 99%"),
            "{card}"
        );
        let (_, rollout) = get_json(&app, &token, "/api/v1/automations/desk/rollout").await;
        let check = gate_check(&rollout, "evidence.route");
        assert_eq!(check["passed"], false);
        assert!(
            check["detail"]
                .as_str()
                .unwrap()
                .starts_with("not enough evidence for 99%")
        );
        assert_eq!(rollout["gate"]["green"], false);
    }
}
