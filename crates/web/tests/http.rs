//! The whole loop over real HTTP, on each backend: items in through the API, the engine,
//! the exception inbox with reasons, one-action decisions, deliveries at a local webhook
//! receiver exactly once, and the errors a client gets when it sends something wrong.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tandem_domain::Role;
use tandem_service::automations::TrainingFiles;
use tandem_test_support::{Receiver, TestApp, backends};

#[path = "http/documents.rs"]
mod documents;
#[path = "http/email.rs"]
mod email;
#[path = "http/mailbox.rs"]
mod mailbox;
#[path = "http/secrets.rs"]
mod secrets;
#[path = "http/training.rs"]
mod training;

fn definition(receiver: &str) -> String {
    format!(
        r#"
name = "Support"
slug = "support"

[[fields]]
name = "email"
type = "email"
required = true
threshold = 0.5

[[fields]]
name = "order"
type = "identifier"
labels = ["Order", "Order number"]
threshold = 0.5
[fields.validate]
pattern = "[A-Z]{{2}}-\\d{{4}}"

[[destinations]]
type = "webhook"
url = "{receiver}"
secret = "s3cret"

[[destinations]]
type = "jsonl"
path = "out/support.jsonl"
"#
    )
}

async fn setup(backend: tandem_test_support::TestBackend) -> (TestApp, Receiver, String) {
    let app = TestApp::start(backend).await;
    let receiver = Receiver::start().await;
    app.apply(&definition(&receiver.url), TrainingFiles::default())
        .await;
    let token = app.token("builder@acme.io", Role::Builder).await;
    (app, receiver, token)
}

async fn post_json(app: &TestApp, token: &str, path: &str, body: &Value) -> (StatusCode, Value) {
    app.post_json(token, path, body).await
}

async fn get_json(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    app.get_json(token, path).await
}

#[tokio::test]
async fn items_flow_from_intake_through_review_to_delivery_exactly_once() {
    for backend in backends() {
        let (app, receiver, token) = setup(backend).await;
        let texts = [
            "Hi, this is ada@example.com\nOrder: AB-1234",
            "No address here.\nOrder: CD-5678",
            "Either a@x.io or b@y.io can answer.\nOrder number: EF-9012",
            "<script>alert('x')</script><img src=x onerror=alert(1)> c@z.io\nOrder: nonsense",
        ];
        let batch =
            json!({ "items": texts.iter().map(|t| json!({ "input": { "text": t } })).collect::<Vec<_>>() });
        let (status, body) = post_json(&app, &token, "/api/v1/automations/support/items/batch", &batch).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let ids: Vec<i64> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids.len(), 4);

        // The first delivery attempt fails; the worker retries and the receiver still gets
        // each result once.
        receiver.fail_next(1);
        app.drain().await;

        let (_, first) = get_json(&app, &token, &format!("/api/v1/items/{}", ids[0])).await;
        assert_eq!(first["status"], "auto_accepted", "{first}");
        assert_eq!(first["fields"][0]["value"], "ada@example.com");
        let ev = &first["fields"][0]["evidence"][0];
        assert_eq!(ev["text"], "ada@example.com");
        assert!(first["fields"][0]["confidence"].as_f64().unwrap() > 0.5);

        // The inbox holds the other three, each with its reason in words.
        let (_, inbox) = get_json(&app, &token, "/api/v1/items").await;
        let listed: Vec<i64> = inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect();
        assert_eq!(listed, ids[1..].to_vec());
        let reasons: HashMap<i64, Vec<String>> = inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["id"].as_i64().unwrap(),
                    i["reasons"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r.as_str().unwrap().to_owned())
                        .collect(),
                )
            })
            .collect();
        assert_eq!(reasons[&ids[1]], vec!["missing_required"]);
        assert!(
            reasons[&ids[2]].contains(&"ambiguous".to_owned()),
            "{:?}",
            reasons[&ids[2]]
        );
        assert_eq!(reasons[&ids[3]], vec!["validation_failed"]);
        let (_, missing) = get_json(&app, &token, &format!("/api/v1/items/{}", ids[1])).await;
        assert_eq!(
            missing["reasons"][0]["message"],
            "email is required but was not found in the input."
        );
        let (_, by_reason) = get_json(&app, &token, "/api/v1/items?reason=ambiguous").await;
        assert_eq!(by_reason["items"].as_array().unwrap().len(), 1);

        // One action decides each: correct, approve, reject.
        let reviewer = app.token("rita@acme.io", Role::Reviewer).await;
        let (s, corrected) = post_json(
            &app,
            &reviewer,
            &format!("/api/v1/items/{}/decision", ids[1]),
            &json!({ "action": "correct", "fields": { "email": "  Bob@Example.com " }, "seconds": 14.2 }),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{corrected}");
        assert_eq!(corrected["status"], "corrected");
        assert_eq!(
            corrected["result"]["fields"]["email"], "Bob@example.com",
            "normalised like an extraction"
        );
        let (s, _) = post_json(
            &app,
            &reviewer,
            &format!("/api/v1/items/{}/decision", ids[2]),
            &json!({ "action": "approve" }),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let (s, err) = post_json(
            &app,
            &reviewer,
            &format!("/api/v1/items/{}/decision", ids[3]),
            &json!({ "action": "reject" }),
        )
        .await;
        assert_eq!(
            s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "a reject needs a reason: {err}"
        );
        let (s, _) = post_json(
            &app,
            &reviewer,
            &format!("/api/v1/items/{}/decision", ids[3]),
            &json!({ "action": "reject", "reason": "spam" }),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        // Deciding twice is a conflict, not a second decision.
        let (s, _) = post_json(
            &app,
            &reviewer,
            &format!("/api/v1/items/{}/decision", ids[2]),
            &json!({ "action": "approve" }),
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT);
        app.drain().await;

        // Three accepted results, each delivered once after de-duplication; the rejected one never.
        assert_eq!(receiver.delivered_items(), ids[..3].to_vec());
        assert_eq!(receiver.unique().len(), 3);
        assert_eq!(receiver.attempts(), 4, "one refused attempt, then one per result");
        for r in receiver.unique().values() {
            assert_eq!(
                r.body["delivery_id"].as_str(),
                Some(r.delivery_id.as_str()),
                "the id is in the header and the body"
            );
            let body = serde_json::to_vec(&r.body).unwrap();
            let _ = body;
            assert!(r.signature.as_deref().is_some_and(|s| s.starts_with("sha256=")));
        }
        let corrected = receiver
            .unique()
            .into_values()
            .find(|r| r.body["item_id"] == ids[1])
            .unwrap();
        assert_eq!(corrected.body["status"], "corrected");
        assert_eq!(corrected.body["decided_by"], "rita");
        let lines = std::fs::read_to_string(app.data_dir.path().join("out/support.jsonl")).unwrap();
        assert_eq!(lines.lines().count(), 3);

        // Every decision is an audit event: who, before, after, seconds.
        let (events, _) = app
            .tandem
            .item_history(
                &tandem_service::auth::Actor {
                    user: app
                        .tandem
                        .store
                        .user_credentials("rita@acme.io")
                        .await
                        .unwrap()
                        .unwrap()
                        .0,
                },
                tandem_domain::ItemId(ids[1]),
            )
            .await
            .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].seconds, Some(14.2));
        assert!(events[0].before.as_deref().unwrap().contains("null"));
        assert!(events[0].after.as_deref().unwrap().contains("Bob@example.com"));
    }
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_returns_the_same_item() {
    for backend in backends() {
        let (app, _receiver, token) = setup(backend).await;
        let send = || {
            app.client
                .post(app.url("/api/v1/automations/support/items"))
                .bearer_auth(&token)
                .header("Idempotency-Key", "req-42")
                .json(&json!({ "text": "x@y.io Order: AB-1234" }))
                .send()
        };
        let first = send().await.unwrap();
        assert_eq!(first.status(), StatusCode::CREATED);
        let first: Value = first.json().await.unwrap();
        let second = send().await.unwrap();
        assert_eq!(second.status(), StatusCode::OK);
        let second: Value = second.json().await.unwrap();
        assert_eq!(first["id"], second["id"]);
        assert_eq!(first["status"], "queued");
    }
}

#[tokio::test]
async fn bad_requests_get_clear_errors() {
    for backend in backends() {
        let (app, _receiver, token) = setup(backend).await;
        let path = "/api/v1/automations/support/items";
        // No token, a wrong token.
        let resp = app
            .client
            .post(app.url(path))
            .json(&json!({ "text": "a" }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        let (s, _) = post_json(&app, "tdm_nope", path, &json!({ "text": "a" })).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        // Malformed JSON says where.
        let resp = app
            .client
            .post(app.url(path))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{\"text\": \"a\",,}")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = resp.json().await.unwrap();
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("line 1 column"),
            "{body}"
        );
        // A NUL character (PostgreSQL cannot store one in text): the same clear 422 on
        // every backend, in a single item and in a batch.
        let (s, body) = post_json(&app, &token, path, &json!({ "text": "ada@example.com\u{0}x" })).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{backend:?}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("NUL character (U+0000) at byte 15"),
            "{body}"
        );
        let batch = json!({ "items": [{ "input": { "text": "ok" } }, { "input": { "text": "\u{0}" } }] });
        let (s, body) = post_json(&app, &token, &format!("{path}/batch"), &batch).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{backend:?}: {body}");
        // An unknown field, a wrong type.
        let (s, body) = post_json(&app, &token, path, &json!({ "text": "a", "body": "b" })).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("\"body\" is not an input"),
            "{body}"
        );
        let (s, _) = post_json(&app, &token, path, &json!({ "text": 5 })).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        // A field over its limit (1 MiB by default) and a body over the request limit.
        let big = "x".repeat((1 << 20) + 1);
        let (s, body) = post_json(&app, &token, path, &json!({ "text": big })).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("over its limit")
        );
        let huge = "x".repeat(3 << 20);
        let (s, _) = post_json(&app, &token, path, &json!({ "text": huge })).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
        // An unknown automation; a batch that is half bad is refused whole, item by item.
        let (s, _) = post_json(
            &app,
            &token,
            "/api/v1/automations/nope/items",
            &json!({ "text": "a" }),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let batch = json!({ "items": [ { "input": { "text": "ok" } }, { "input": { "txt": "bad" } } ] });
        let (s, body) = post_json(&app, &token, "/api/v1/automations/support/items/batch", &batch).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            body["error"]["details"][0]
                .as_str()
                .unwrap()
                .starts_with("item 1:"),
            "{body}"
        );
        let (_, all) = get_json(&app, &token, "/api/v1/items?status=all").await;
        assert!(
            all["items"].as_array().unwrap().is_empty(),
            "nothing accepted from a refused batch"
        );
        // Nothing is lost by a 5xx-free refusal: a good item still goes in afterwards.
        let (s, _) = post_json(&app, &token, path, &json!({ "text": "fine@x.io" })).await;
        assert_eq!(s, StatusCode::CREATED);
    }
}

#[tokio::test]
async fn workspaces_never_see_each_other_and_roles_are_enforced() {
    for backend in backends() {
        let (app, _receiver, token) = setup(backend).await;
        let (_, created) = post_json(
            &app,
            &token,
            "/api/v1/automations/support/items",
            &json!({ "text": "a@b.io" }),
        )
        .await;
        let id = created["id"].as_i64().unwrap();
        // Another workspace's admin gets 404 for this item, and sees no automation.
        let other = app.tandem.ensure_workspace("globex", "Globex").await.unwrap();
        let outsider = app
            .tandem
            .add_user(
                other.id,
                "hank@globex.io",
                "Hank",
                Role::Admin,
                "correct horse battery staple",
            )
            .await
            .unwrap();
        let outsider_token = app.tandem.create_token(&outsider, "t").await.unwrap();
        let (s, _) = get_json(&app, &outsider_token, &format!("/api/v1/items/{id}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = post_json(
            &app,
            &outsider_token,
            &format!("/api/v1/items/{id}/decision"),
            &json!({ "action": "approve" }),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = post_json(
            &app,
            &outsider_token,
            "/api/v1/automations/support/items",
            &json!({ "text": "x" }),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (_, listed) = get_json(&app, &outsider_token, "/api/v1/items?status=all").await;
        assert!(listed["items"].as_array().unwrap().is_empty());
        // A viewer may look but not decide or submit.
        let viewer = app.token("vic@acme.io", Role::Viewer).await;
        let (s, _) = get_json(&app, &viewer, &format!("/api/v1/items/{id}")).await;
        assert_eq!(s, StatusCode::OK);
        let (s, body) = post_json(
            &app,
            &viewer,
            &format!("/api/v1/items/{id}/decision"),
            &json!({ "action": "approve" }),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert!(body["error"]["message"].as_str().unwrap().contains("viewer"));
        let (s, _) = post_json(
            &app,
            &viewer,
            "/api/v1/automations/support/items",
            &json!({ "text": "x" }),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn the_inbox_page_needs_a_session_and_renders_hostile_input_inert() {
    for backend in backends() {
        let (app, _receiver, token) = setup(backend).await;
        let hostile = "<script>alert('x')</script><img src=x onerror=alert(1)>\nOrder: nope";
        let (_, created) = post_json(
            &app,
            &token,
            "/api/v1/automations/support/items",
            &json!({ "text": hostile }),
        )
        .await;
        let id = created["id"].as_i64().unwrap();
        app.drain().await;

        let resp = app.client.get(app.url("/inbox")).send().await.unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::SEE_OTHER,
            "signed-out visitors go to the sign-in page"
        );
        let bad = app.sign_in_as(&app.client, "nobody@acme.io", "x").await;
        assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);

        app.user("rita@acme.io", Role::Reviewer).await;
        app.read_cards("rita@acme.io").await;
        app.login("rita@acme.io").await;
        let inbox = app.page("/inbox").await;
        assert!(inbox.contains(&format!("href=\"/items/{id}\"")));
        assert!(inbox.contains("Required field missing"));
        assert!(
            !inbox.contains("<script>alert"),
            "item text is escaped in the list"
        );
        let page = app.page(&format!("/items/{id}")).await;
        assert!(
            page.contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62;&#60;img src=x"),
            "shown as text"
        );
        assert!(!page.contains("<script>alert"));
        assert!(!page.contains("<img src=x"));
        assert!(page.contains("email is required but was not found in the input."));

        // A form without the session's token is refused; with it, the decision is made.
        let refused = app
            .post_form(
                &format!("/items/{id}/decide"),
                &[("action", "reject"), ("reason", "spam"), ("csrf", "forged")],
            )
            .await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let csrf = app.csrf().await;
        let done = app
            .post_form(
                &format!("/items/{id}/decide"),
                &[
                    ("action", "reject"),
                    ("reason", "spam"),
                    ("csrf", csrf.as_str()),
                    ("seconds", "3.5"),
                ],
            )
            .await;
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        let (_, item) = get_json(&app, &token, &format!("/api/v1/items/{id}")).await;
        assert_eq!(item["status"], "rejected");
    }
}

#[tokio::test]
async fn health_and_readiness() {
    for backend in backends() {
        let app = TestApp::start(backend).await;
        assert_eq!(
            app.client.get(app.url("/healthz")).send().await.unwrap().status(),
            StatusCode::OK
        );
        assert_eq!(
            app.client.get(app.url("/readyz")).send().await.unwrap().status(),
            StatusCode::OK
        );
    }
}

#[path = "http/accounts.rs"]
mod accounts;
#[path = "http/amplification.rs"]
mod amplification;
#[path = "http/budget.rs"]
mod budget;
#[path = "http/headers.rs"]
mod headers;
#[path = "http/leads.rs"]
mod leads;
#[path = "http/llm.rs"]
mod llm;
#[path = "http/llm_scoring.rs"]
mod llm_scoring;
#[path = "http/llm_workers.rs"]
mod llm_workers;

#[path = "http/outbound.rs"]
mod outbound;
#[path = "http/similar.rs"]
mod similar;
#[path = "http/timeouts.rs"]
mod timeouts;

#[path = "http/range.rs"]
mod range;

#[path = "http/route_evidence.rs"]
mod route_evidence;
