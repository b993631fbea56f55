//! The exception inbox in a real browser (headless Chromium): a reviewer clears items by
//! keyboard alone, and hostile item text stays inert. Set `TANDEM_SCREENSHOTS=DIR` to
//! save the screenshots used in the README.

use fantoccini::Locator;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use serde_json::json;
use tandem_domain::{ItemId, ItemStatus, Role};
use tandem_service::automations::TrainingFiles;
use tandem_test_support::{Browser, TestApp, backends};

// --- rollout ---
#[path = "browser/admin.rs"]
mod admin;
#[path = "browser/rollout.rs"]
mod rollout;

#[path = "browser/similar.rs"]
mod similar;

#[path = "browser/documents.rs"]
mod documents;

#[path = "browser/card_first.rs"]
mod card_first;

#[path = "browser/simulator.rs"]
mod simulator;

#[path = "browser/session.rs"]
mod session;

#[path = "browser/wrong_keys.rs"]
mod wrong_keys;

#[path = "browser/bulk_keys.rs"]
mod bulk_keys;

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
    let ids = app.submit_texts(&actor, "support", &texts).await;

    app.user("rita@acme.io", Role::Reviewer).await;

    app.read_cards("rita@acme.io").await;
    let b = Browser::start(1280, 900).await;
    b.sign_in(&app, "rita@acme.io").await;
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
    b.wait_for_path(&format!("/items/{}", ids[0])).await;
    screenshot(&b, "item.png").await;

    // e edits the first flagged field; Ctrl+Enter submits the correction; the next item opens.
    press(&b, &['e']).await;
    let focused = b.client.active_element().await.unwrap();
    assert_eq!(focused.attr("id").await.unwrap().as_deref(), Some("f-email"));
    for c in "bob@example.com".chars() {
        press(&b, &[c]).await;
    }
    chord(&b, Key::Control, '\u{E007}').await;
    b.wait_for_path(&format!("/items/{}", ids[1])).await;

    // a approves.
    press(&b, &['a']).await;
    b.wait_for_path(&format!("/items/{}", ids[2])).await;

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
    b.wait_for_path("/inbox").await;
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
            out.push(app.item_status(*id).await);
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

// --- the inbox's other paths (issue 6) ------------------------------------------------------

const NOTIFYING: &str = r#"
name = "Support"
slug = "support"

[[fields]]
name = "email"
type = "email"
required = true
threshold = 0.5

[[destinations]]
type = "jsonl"
path = "out/support.jsonl"

[review]
priority = "urgent"
sla_minutes = 60
"#;

/// The app with the notifying automation, three items (two in the inbox: one ambiguous,
/// one missing its e-mail; one accepted automatically) and a Slack-compatible receiver.
async fn notifying_app() -> (TestApp, tandem_test_support::Receiver, Vec<ItemId>) {
    let app = TestApp::start(backends()[0]).await;
    let slack = tandem_test_support::Receiver::start().await;
    let def = format!(
        "{NOTIFYING}\n[[review.notify]]\ntype = \"slack\"\nurl = \"{}\"\n",
        slack.url
    );
    app.apply(&def, TrainingFiles::default()).await;
    let admin = app.user("ada@acme.io", Role::Admin).await;
    let actor = tandem_service::auth::Actor { user: admin };
    let texts = [
        "Please write to a@x.io or b@y.io about my refund.",
        "No address in this one.",
        "From c@z.io: all good.",
    ];
    let ids = app.submit_texts(&actor, "support", &texts).await;
    (app, slack, ids)
}

/// Sign in as `email`, then open `next`.
async fn sign_in(b: &Browser, app: &TestApp, email: &str, next: &str) {
    b.sign_in(app, email).await;
    b.client.goto(&app.url(next)).await.unwrap();
}

async fn text_of(b: &Browser, css: &str) -> String {
    b.client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn two_reviewers_race_and_a_chat_link_decides_only_from_its_button() {
    let (app, slack, ids) = notifying_app().await;
    app.user("rita@acme.io", Role::Reviewer).await;
    app.read_cards("rita@acme.io").await;
    app.user("sam@acme.io", Role::Reviewer).await;
    app.read_cards("sam@acme.io").await;
    app.tandem.sweep_inbox().await.unwrap();
    let text = slack.all()[0].body["text"].as_str().unwrap().to_owned();
    let approve = text
        .split('<')
        .filter_map(|s| s.split_once('|'))
        .map(|(url, _)| url.to_owned())
        .find(|u| u.contains(&format!("-{}-approve-", ids[0])))
        .expect("an approve link in the chat message");

    // Rita opens the item; Sam, a moment later, sees that she holds it and cannot decide.
    let rita = Browser::start(1280, 900).await;
    sign_in(&rita, &app, "rita@acme.io", &format!("/items/{}", ids[0])).await;
    rita.wait_for_path(&format!("/items/{}", ids[0])).await;
    assert!(rita.client.find(Locator::Css("#approve-button")).await.is_ok());
    let sam = Browser::start(1280, 900).await;
    sign_in(&sam, &app, "sam@acme.io", &format!("/items/{}", ids[0])).await;
    sam.wait_for_path(&format!("/items/{}", ids[0])).await;
    let note = text_of(&sam, "#held-note").await;
    assert!(note.contains("rita is working on this item"), "{note}");
    assert!(
        sam.client
            .find_all(Locator::Css("#approve-button"))
            .await
            .unwrap()
            .is_empty()
    );
    // Sam's keyboard approve does nothing either.
    press(&sam, &['a']).await;
    assert_eq!(app.item_status(ids[0]).await, ItemStatus::NeedsReview);
    sam.close().await;

    // Rita follows the chat link: the page shows what will be approved; opening it
    // (as a link-preview bot would) decides nothing.
    rita.client.goto(&approve).await.unwrap();
    let title = text_of(&rita, "#link-title").await;
    assert_eq!(title, format!("Approve item #{}?", ids[0]));
    let shown = text_of(&rita, "#link-fields").await;
    assert!(shown.contains("a@x.io"), "{shown}");
    assert_eq!(
        app.item_status(ids[0]).await,
        ItemStatus::NeedsReview,
        "the GET decided"
    );
    screenshot(&rita, "decision-link.png").await;
    rita.client
        .find(Locator::Css("#link-decide"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    rita.wait_for_path(&format!("/items/{}", ids[0])).await;
    assert_eq!(app.item_status(ids[0]).await, ItemStatus::Approved);
    rita.close().await;
}

#[tokio::test]
async fn this_looks_wrong_on_a_delivered_result_sends_it_back() {
    let (app, _slack, ids) = notifying_app().await;
    app.user("rita@acme.io", Role::Reviewer).await;
    app.read_cards("rita@acme.io").await;
    let line = std::fs::read_to_string(app.data_dir.path().join("out/support.jsonl")).unwrap();
    let delivered: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert_eq!(delivered["item_id"], json!(ids[2]));
    let link = delivered["links"]["report_wrong"].as_str().unwrap().to_owned();

    let b = Browser::start(1280, 900).await;
    sign_in(&b, &app, "rita@acme.io", &format!("/items/{}/wrong", ids[2])).await;
    b.wait_for_path(&format!("/items/{}/wrong", ids[2])).await;
    b.client.goto(&link).await.unwrap();
    assert_eq!(
        app.item_status(ids[2]).await,
        ItemStatus::AutoAccepted,
        "opening the link changes nothing"
    );
    b.client
        .find(Locator::Css("#wrong-reason"))
        .await
        .unwrap()
        .send_keys("c@z.io is our own support address")
        .await
        .unwrap();
    b.client
        .find(Locator::Css("#wrong-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_for_path(&format!("/items/{}", ids[2])).await;
    assert_eq!(app.item_status(ids[2]).await, ItemStatus::NeedsReview);
    let history = text_of(
        &b,
        "#history-title + table, section[aria-labelledby=history-title] table",
    )
    .await;
    assert!(history.contains("Reported wrong"), "{history}");
    assert!(history.contains("c@z.io is our own support address"), "{history}");
    let escaped = app.tandem.store.escaped_errors(app.workspace, 0).await.unwrap();
    assert_eq!(escaped.len(), 1);
    b.close().await;
}

#[tokio::test]
async fn the_inbox_and_an_item_fit_a_phone_and_have_labels() {
    let (app, _slack, ids) = notifying_app().await;
    app.user("rita@acme.io", Role::Reviewer).await;
    app.read_cards("rita@acme.io").await;
    for (width, height, suffix) in [(1280, 900, ""), (390, 844, "-phone")] {
        let b = Browser::start(width, height).await;
        sign_in(&b, &app, "rita@acme.io", "/inbox").await;
        b.wait_for_path("/inbox").await;
        for path in [
            "/inbox".to_owned(),
            format!("/items/{}", ids[0]),
            "/progress".to_owned(),
        ] {
            b.client.goto(&app.url(&path)).await.unwrap();
            let overflow = b
                .client
                .execute(
                    "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
                    vec![],
                )
                .await
                .unwrap();
            assert!(
                overflow.as_i64().unwrap_or(0) <= 0,
                "{path} scrolls sideways at {width} px: {overflow}"
            );
            // Every form control has a label a screen reader can read.
            let unlabelled = b
                .client
                .execute(
                    "return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
                       .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.name || e.id);",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(unlabelled, json!([]), "{path} at {width} px");
        }
        b.client.goto(&app.url("/inbox")).await.unwrap();
        screenshot(&b, &format!("inbox-urgent{suffix}.png")).await;
        b.close().await;
    }
}
