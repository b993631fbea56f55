//! The automation card is the first thing a new reviewer sees: the inbox points them to
//! it, opening an item of the automation shows the card first, and once they acknowledge
//! it they go on to the item and work as usual. The acknowledgement is per member.

use fantoccini::Locator;
use tandem_domain::Role;
use tandem_service::auth::Actor;
use tandem_service::automations::TrainingFiles;
use tandem_test_support::{Browser, TestApp, backends};

use super::{press, screenshot};

const CARD: &str = r#"
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

[rollout]
start = "shadow"

[card]
why = "Support spends 20 hours a week copying addresses out of e-mails."
asked_by = "Maria, head of support"
"#;

#[tokio::test]
async fn a_new_reviewer_sees_the_card_before_their_first_decision() {
    let app = TestApp::start(backends()[0]).await;
    app.apply(CARD, TrainingFiles::default()).await;
    let bea = app.user("bea@acme.io", Role::Builder).await;
    let ids = app
        .submit_texts(&Actor { user: bea }, "support", &["a@x.io wrote", "b@y.io wrote"])
        .await;
    let rita = app.user("rita@acme.io", Role::Reviewer).await;

    let b = Browser::start(1280, 900).await;
    b.sign_in(&app, "rita@acme.io").await;
    let unread = b.text("#unread-cards").await;
    assert!(unread.contains("Start with the automation cards"), "{unread}");
    assert!(unread.contains("Support"), "{unread}");

    // Opening the oldest item shows the card first.
    b.client
        .find(Locator::Css("#inbox-list a.row-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_for_path("/automations/support/card").await;
    assert!(b.text("#first-read").await.contains("New to Support?"));
    assert_eq!(
        b.text("#why").await,
        "Support spends 20 hours a week copying addresses out of e-mails."
    );
    assert_eq!(b.text("#asked-by").await, "Maria, head of support");
    screenshot(&b, "card-first.png").await;
    let nothing_yet = app.tandem.store.card_reads(app.workspace, rita.id).await.unwrap();
    assert!(nothing_yet.is_empty(), "reading is not acknowledging");

    // Acknowledging leads on to the item, and the keyboard flow carries on as usual.
    b.client
        .find(Locator::Css("#read-card-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_for_path(&format!("/items/{}", ids[0])).await;
    press(&b, &['a']).await;
    b.wait_for_path(&format!("/items/{}", ids[1])).await;

    let reads = app.tandem.store.card_reads(app.workspace, rita.id).await.unwrap();
    assert_eq!(reads.len(), 1, "{reads:?}");
    let automation = app
        .tandem
        .store
        .automation_by_slug(app.workspace, "support")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reads[0].automation_id, automation.id);
    assert_eq!(Some(reads[0].version_id.unwrap()), automation.active_version_id);

    // The inbox no longer points to the card; the card says when it was acknowledged.
    b.client.goto(&app.url("/inbox")).await.unwrap();
    b.wait_for_path("/inbox").await;
    assert!(
        b.client
            .find_all(Locator::Css("#unread-cards"))
            .await
            .unwrap()
            .is_empty()
    );
    b.client
        .goto(&app.url("/automations/support/card"))
        .await
        .unwrap();
    assert!(
        b.text("#card-read-at")
            .await
            .starts_with("You acknowledged this card on")
    );
    assert!(
        b.client
            .find_all(Locator::Css("#read-card-button"))
            .await
            .unwrap()
            .is_empty()
    );
    b.close().await;

    // Per member: another reviewer still meets the card first; a builder does not.
    app.user("sam@acme.io", Role::Reviewer).await;
    app.login("sam@acme.io").await;
    let resp = app
        .client
        .get(app.url(&format!("/items/{}", ids[1])))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers()["location"],
        format!("/automations/support/card?next=/items/{}", ids[1]).as_str()
    );
    // Bulk approval leaves out the items of an automation whose card is unread.
    let csrf = app.csrf().await;
    let item = ids[1].to_string();
    let html = app
        .post_form("/inbox/bulk", &[("csrf", csrf.as_str()), ("item", item.as_str())])
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("you have not read the Support card yet"), "{html}");

    // A link from a notification opens the card first too, then comes back to the link.
    let link = app
        .tandem
        .decision_link(app.workspace, ids[1], tandem_service::links::LinkAction::Approve)
        .await
        .unwrap();
    let resp = app.client.get(&link).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    let path = link.strip_prefix(&app.url).unwrap();
    assert_eq!(
        resp.headers()["location"],
        format!("/automations/support/card?next={path}").as_str()
    );
    let csrf = app.csrf().await;
    let resp = app
        .post_form(
            "/automations/support/card/read",
            &[("csrf", csrf.as_str()), ("next", path)],
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], path);
    assert_eq!(app.client.get(&link).send().await.unwrap().status(), 200);
    // Acknowledging never sends anyone off the site.
    let resp = app
        .post_form(
            "/automations/support/card/read",
            &[("csrf", csrf.as_str()), ("next", "//evil.example/x")],
        )
        .await;
    assert_eq!(resp.headers()["location"], "/automations/support/card");

    app.login("bea@acme.io").await;
    let resp = app
        .client
        .get(app.url(&format!("/items/{}", ids[1])))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}
