//! Bounded work per item in the worker (issue 21), on each backend: an item the engine
//! takes too long over goes to the inbox saying so and is never queued again, and an
//! item whose process died on it every time is quarantined there instead of being taken
//! up again, while the items that came with it are processed.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tandem_domain::{ItemId, ItemStatus, Role};
use tandem_service::automations::TrainingFiles;
use tandem_test_support::{TestApp, backends};

const DEFINITION: &str = r#"
name = "Contacts"
slug = "contacts"

[[fields]]
name = "email"
type = "email"
required = true
threshold = 0.5

[[fields]]
name = "when"
type = "date"
threshold = 0.5
"#;

async fn post_item(app: &TestApp, token: &str, text: &str) -> i64 {
    let (status, body) = app
        .post_json(
            token,
            "/api/v1/automations/contacts/items",
            &json!({ "text": text }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_i64().expect("an item id")
}

/// The item's status and the messages of its reasons, as the API shows them.
async fn item(app: &TestApp, token: &str, id: i64) -> (String, Vec<String>) {
    let (status, body) = app.get_json(token, &format!("/api/v1/items/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let messages = body["reasons"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r["message"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    (body["status"].as_str().unwrap_or_default().to_owned(), messages)
}

#[tokio::test]
async fn an_item_over_the_time_budget_goes_to_the_inbox_and_is_not_queued_again() {
    for backend in backends() {
        // Reading 900 KB for every pattern takes far longer than a millisecond.
        let app = TestApp::start_with_settings(backend, None, |s| {
            s.item_time_budget = Duration::from_millis(1);
        })
        .await;
        app.apply(DEFINITION, TrainingFiles::default()).await;
        let token = app.token("builder@acme.io", Role::Builder).await;
        let big = "Write to ada@example.com before 12/03/2018 please. ".repeat(18_000);
        let id = post_item(&app, &token, &big).await;
        app.drain().await;

        assert_eq!(app.item_status(ItemId(id)).await, ItemStatus::Failed);
        let (status, messages) = item(&app, &token, id).await;
        assert_eq!(status, "failed");
        assert!(
            messages
                .iter()
                .any(|m| m.contains("took longer than 1 ms to process")),
            "{messages:?}"
        );
        assert_eq!(
            app.tandem.store.queue_depth().await.unwrap(),
            0,
            "the item is not queued again"
        );
        let (_, inbox) = app.get_json(&token, "/api/v1/items").await;
        let listed: Vec<i64> = inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["id"].as_i64())
            .collect();
        assert_eq!(listed, vec![id], "it waits in the inbox: {inbox}");
    }
}

#[tokio::test]
async fn an_item_whose_process_died_on_it_each_time_is_quarantined() {
    for backend in backends() {
        let app = TestApp::start_with_settings(backend, None, |s| s.process_attempts = 3).await;
        app.apply(DEFINITION, TrainingFiles::default()).await;
        let token = app.token("builder@acme.io", Role::Builder).await;
        let poison = post_item(&app, &token, "reach ada@example.com").await;
        let others = [
            post_item(&app, &token, "reach bob@example.com").await,
            post_item(&app, &token, "reach cy@example.com").await,
        ];
        // A worker claims the three and dies (its lease already over); then the poison
        // item alone, twice more: what workers that die on it leave behind.
        let store = &app.tandem.store;
        let now = app.tandem.now();
        let batch = store.claim_jobs("died-1", 10, 0, now).await.unwrap();
        assert_eq!(batch.len(), 3);
        for (dead, attempts) in [("died-2", 2), ("died-3", 3)] {
            let job = store
                .claim_retry(dead, 0, app.tandem.now())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(job.item_id, Some(ItemId(poison)), "the oldest retry, alone");
            assert_eq!(job.attempts, attempts);
        }

        app.drain().await;
        let (status, messages) = item(&app, &token, poison).await;
        assert_eq!(status, "failed");
        assert!(
            messages
                .iter()
                .any(|m| m.contains("could not be processed (3 attempts)")),
            "{messages:?}"
        );
        for id in others {
            let (status, _) = item(&app, &token, id).await;
            assert_eq!(status, "auto_accepted", "item {id} was processed");
        }
        assert_eq!(store.queue_depth().await.unwrap(), 0);
        let (_, inbox): (_, Value) = app.get_json(&token, "/api/v1/items").await;
        let listed: Vec<i64> = inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["id"].as_i64())
            .collect();
        assert_eq!(listed, vec![poison], "only the poison item waits in the inbox");
    }
}
