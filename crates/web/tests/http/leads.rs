//! A lead arrives as form fields: the router reads the country column and the message
//! together, and the item (API and page) says which inputs weighed most. Over real HTTP
//! and the real worker, each backend.

use reqwest::StatusCode;
use serde_json::json;
use tandem_domain::Role;
use tandem_service::automations::TrainingFiles;
use tandem_test_support::{TestApp, backends};

use super::{get_json, post_json};

const LEADS: &str = r#"
name = "Leads"
slug = "leads"

[[inputs]]
name = "message"
[[inputs]]
name = "country"
kind = "category"
[[inputs]]
name = "employees"
kind = "number"
required = false
[[inputs]]
name = "email"
kind = "email_domain"
required = false

[route]
source = "message"
features = ["country", "employees", "email"]
examples = "leads.jsonl"
threshold = 0.5
"#;

/// Leads whose message says nothing about the region: only the country column does.
fn examples() -> String {
    let countries = [
        ("DE", "emea"),
        ("FR", "emea"),
        ("US", "americas"),
        ("BR", "americas"),
        ("JP", "apac"),
        ("IN", "apac"),
    ];
    let phrases = [
        "please call me",
        "we would like a demo",
        "send pricing please",
        "talk to sales",
    ];
    let mut out = String::new();
    for i in 0..240 {
        let (c, region) = countries[i % countries.len()];
        let phrase = phrases[(i / countries.len()) % phrases.len()];
        let line = json!({ "text": phrase, "label": region, "country": c, "employees": 10 + (i * 37) % 900 });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

#[tokio::test]
async fn a_lead_is_routed_by_its_country_column_and_says_so() {
    for backend in backends() {
        let app = TestApp::start(backend).await;
        app.apply(
            LEADS,
            TrainingFiles {
                route_examples: Some(("leads.jsonl".into(), examples())),
                documents: None,
            },
        )
        .await;
        let token = app.token("builder@acme.io", Role::Builder).await;
        // A JSON number is fine for a number input; the message alone could be any region.
        let (status, body) = post_json(
            &app,
            &token,
            "/api/v1/automations/leads/items",
            &json!({ "message": "we would like a demo", "country": "JP", "employees": 120, "email": "ana@example.jp" }),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        app.drain().await;
        let id = body["id"].as_i64().unwrap();
        let (_, item) = get_json(&app, &token, &format!("/api/v1/items/{id}")).await;
        assert_eq!(item["route"]["label"], "apac", "{item}");
        let because = &item["route"]["contributions"];
        assert_eq!(because[0], "country = jp", "{item}");

        // A text input refuses a number, with the input's name.
        let (status, body) = post_json(
            &app,
            &token,
            "/api/v1/automations/leads/items",
            &json!({ "message": 5, "country": "JP" }),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.to_string().contains("message"), "{body}");

        app.login("builder@acme.io").await;
        let page = app.page(&format!("/items/{id}")).await;
        assert!(page.contains("Weighed most:"), "{page}");
        assert!(page.contains("<span>country = jp</span>"), "{page}");
    }
}
