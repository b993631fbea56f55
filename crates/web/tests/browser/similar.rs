//! The item page's "decided items like this one" in the browser: the section renders the
//! near-duplicate with how it was decided, and its link opens that item.

use fantoccini::Locator;
use tandem_domain::Role;
use tandem_service::automations::TrainingFiles;
use tandem_test_support::decision::reject;
use tandem_test_support::{Browser, TestApp, backends};

const SUPPORT: &str = r#"
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
labels = ["Order"]
threshold = 0.5

[rollout]
start = "shadow"
"#;

#[tokio::test]
async fn the_item_page_links_to_the_decided_near_duplicate() {
    let app = TestApp::start(backends()[0]).await;
    app.apply(SUPPORT, TrainingFiles::default()).await;
    let admin = app.user("ada@acme.io", Role::Admin).await;
    let actor = tandem_service::auth::Actor { user: admin };
    let ids = app
        .submit_texts(
            &actor,
            "support",
            &[
                "Refund please: the kettle from Order: KT-2001 leaks, write to ana@x.io",
                "Refund please: the kettle from Order: KT-2002 leaks, write to ana@x.io",
            ],
        )
        .await;
    app.tandem
        .decide(&actor, ids[0], reject("duplicate of a closed ticket"))
        .await
        .unwrap();

    app.user("rita@acme.io", Role::Reviewer).await;
    app.read_cards("rita@acme.io").await;
    let b = Browser::start(1280, 900).await;
    b.sign_in(&app, "rita@acme.io").await;
    b.client
        .goto(&app.url(&format!("/items/{}", ids[1])))
        .await
        .unwrap();
    let row = b
        .client
        .find(Locator::Css(&format!(
            "#similar tr[data-similar-id=\"{}\"]",
            ids[0]
        )))
        .await
        .expect("the decided near-duplicate is listed");
    let text = row.text().await.unwrap();
    assert!(text.contains("Rejected"), "{text}");
    assert!(text.contains("duplicate of a closed ticket"), "{text}");
    row.find(Locator::Css("a")).await.unwrap().click().await.unwrap();
    b.wait_for_path(&format!("/items/{}", ids[0])).await;
    let heading = b
        .client
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(heading.starts_with(&format!("#{}", ids[0])), "{heading}");
    b.close().await;
}
