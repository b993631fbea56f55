//! The exception inbox in a real browser (headless Chromium): a reviewer clears items by
//! keyboard alone, and hostile item text stays inert. Set `TANDEM_SCREENSHOTS=DIR` to
//! save the screenshots used in the README.

use std::time::Duration;

use fantoccini::Locator;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use serde_json::json;
use tandem_domain::{ItemId, ItemStatus, Role};
use tandem_service::automations::TrainingFiles;
use tandem_test_support::{Browser, TestApp, backends, eventually};

// --- rollout ---
#[path = "browser/rollout.rs"]
mod rollout;

const DEFINITION: &str = r#"
name = "Support"
slug = "support"
description = "Pick the customer's e-mail and order number out of support requests."

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
pattern = "[A-Z]{2}-\\d{4}"

[[destinations]]
type = "jsonl"
path = "out/support.jsonl"
"#;

async fn press(b: &Browser, keys: &[char]) {
    let mut actions = KeyActions::new("keyboard".into());
    for k in keys {
        actions = actions
            .then(KeyAction::Down { value: *k })
            .then(KeyAction::Up { value: *k });
    }
    b.client.perform_actions(actions).await.expect("keys");
}

async fn chord(b: &Browser, modifier: Key, key: char) {
    let m: char = modifier.into();
    let actions = KeyActions::new("chord".into())
        .then(KeyAction::Down { value: m })
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key })
        .then(KeyAction::Up { value: m });
    b.client.perform_actions(actions).await.expect("chord");
}

async fn wait_for_path(b: &Browser, path: &str) {
    let client = b.client.clone();
    eventually(
        &format!("the browser to reach {path}"),
        Duration::from_secs(10),
        || {
            let client = client.clone();
            let path = path.to_owned();
            async move {
                client
                    .current_url()
                    .await
                    .ok()
                    .filter(|u| u.path() == path)
                    .map(|_| ())
            }
        },
    )
    .await;
}

async fn screenshot(b: &Browser, name: &str) {
    if let Ok(dir) = std::env::var("TANDEM_SCREENSHOTS") {
        let png = b.client.screenshot().await.expect("screenshot");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(std::path::Path::new(&dir).join(name), png).expect("write screenshot");
    }
}

#[tokio::test]
async fn a_reviewer_clears_the_inbox_by_keyboard_alone() {
    let backend = backends()[0];
    let app = TestApp::start(backend).await;
    app.apply(DEFINITION, TrainingFiles::default()).await;
    let admin = app.user("ada@acme.io", Role::Admin).await;
    let actor = tandem_service::auth::Actor { user: admin };
    let texts = [
        "Hello, my parcel never arrived and nobody answers.\nOrder: AB-1234",
        "Please reply to a@x.io or to my colleague b@y.io.\nOrder number: CD-5678",
        "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\"> c@z.io\nOrder: whatever",
    ];
    let subs = texts
        .iter()
        .map(|t| tandem_service::intake::Submission {
            input: json!({ "text": t }),
            idempotency_key: None,
        })
        .collect();
    let ids: Vec<ItemId> = app
        .tandem
        .submit(&actor, "support", subs)
        .await
        .unwrap()
        .iter()
        .map(|i| i.item.id)
        .collect();
    app.drain().await;

    app.user("rita@acme.io", Role::Reviewer).await;
    let b = Browser::start(1280, 900).await;
    b.client.goto(&app.url("/login")).await.unwrap();
    b.client
        .find(Locator::Css("#email"))
        .await
        .unwrap()
        .send_keys("rita@acme.io")
        .await
        .unwrap();
    b.client
        .find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(tandem_test_support::app_password())
        .await
        .unwrap();
    press(&b, &[Key::Enter.into()]).await;
    wait_for_path(&b, "/inbox").await;
    screenshot(&b, "inbox.png").await;
    let badge = b
        .client
        .find(Locator::Css("#open-count"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(badge, "3", "the pending count is in the navigation");

    // j moves down, k moves up, Enter opens the selected (oldest) item.
    press(&b, &['j', 'j', 'k']).await;
    let selected = b
        .client
        .find(Locator::Css("tr.selected a.row-link"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(selected, format!("#{}", ids[1]));
    press(&b, &['k', '\u{E007}']).await; // Enter
    wait_for_path(&b, &format!("/items/{}", ids[0])).await;
    screenshot(&b, "item.png").await;

    // e edits the first flagged field; Ctrl+Enter submits the correction; the next item opens.
    press(&b, &['e']).await;
    let focused = b.client.active_element().await.unwrap();
    assert_eq!(focused.attr("id").await.unwrap().as_deref(), Some("f-email"));
    for c in "bob@example.com".chars() {
        press(&b, &[c]).await;
    }
    chord(&b, Key::Control, '\u{E007}').await;
    wait_for_path(&b, &format!("/items/{}", ids[1])).await;

    // a approves.
    press(&b, &['a']).await;
    wait_for_path(&b, &format!("/items/{}", ids[2])).await;

    // The hostile item's markup is shown as text and never runs.
    let title = b.client.title().await.unwrap();
    assert!(!title.contains("pwned"), "the script in the item ran: {title}");
    let shown = b
        .client
        .find(Locator::Css(".input-text"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        shown.contains("<script>document.title='pwned'</script>"),
        "{shown}"
    );
    assert!(
        b.client
            .find_all(Locator::Css(".input-text img, .input-text script"))
            .await
            .unwrap()
            .is_empty()
    );

    // r focuses the reason; typing it and Enter rejects; the inbox is then clear.
    press(&b, &['r']).await;
    for c in "spam".chars() {
        press(&b, &[c]).await;
    }
    press(&b, &['\u{E007}']).await;
    wait_for_path(&b, "/inbox").await;
    let notice = b
        .client
        .find(Locator::Css(".notice"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(notice.contains("decided"), "{notice}");
    b.close().await;

    let statuses: Vec<ItemStatus> = {
        let mut out = Vec::new();
        for id in &ids {
            out.push(app.tandem.store.item(app.workspace, *id).await.unwrap().status);
        }
        out
    };
    assert_eq!(
        statuses,
        vec![ItemStatus::Corrected, ItemStatus::Approved, ItemStatus::Rejected]
    );
    let corrected = app.tandem.store.item(app.workspace, ids[0]).await.unwrap();
    assert!(corrected.final_result.unwrap().contains("bob@example.com"));
    let events = app
        .tandem
        .store
        .audit_events(app.workspace, ids[0])
        .await
        .unwrap();
    assert!(
        events[0].seconds.is_some_and(|s| s > 0.0),
        "the page reports the time spent"
    );
}

#[path = "browser/llm.rs"]
mod llm;
