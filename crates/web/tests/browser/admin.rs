//! The admin page in a phone-sized browser (400 px): nothing scrolls sideways, every
//! control has a label, and an admin reaches "Disable" with Tab alone and presses Enter.

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use serde_json::json;
use tandem_domain::Role;
use tandem_test_support::{Browser, TestApp, backends};

async fn press(b: &Browser, key: Key) {
    let k: char = key.into();
    let keys = KeyActions::new("keys".into())
        .then(KeyAction::Down { value: k })
        .then(KeyAction::Up { value: k });
    b.client.perform_actions(keys).await.expect("press a key");
}

#[tokio::test]
async fn the_admin_page_fits_400_px_and_works_by_keyboard() {
    let app = TestApp::start(backends()[0]).await;
    app.user("ada@acme.io", Role::Admin).await;
    app.token(
        "rita-with-a-long-address@customer-operations.example.com",
        Role::Reviewer,
    )
    .await;
    let b = Browser::start(400, 800).await;
    b.sign_in(&app, "ada@acme.io").await;
    b.client.goto(&app.url("/admin/people")).await.unwrap();
    b.wait_for("#tokens").await;
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
        "scrolls sideways at 400 px: {overflow}"
    );
    let unlabelled = b
        .client
        .execute(
            "return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
               .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.name || e.id);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(unlabelled, json!([]));

    let want = "Disable rita-with-a-long-address@customer-operations.example.com";
    let mut reached = false;
    for _ in 0..80 {
        press(&b, Key::Tab).await;
        let focused = b
            .client
            .execute(
                "return document.activeElement ? document.activeElement.textContent.trim() : '';",
                vec![],
            )
            .await
            .unwrap();
        if focused == json!(want) {
            reached = true;
            break;
        }
    }
    assert!(reached, "Tab never reached {want:?}");
    press(&b, Key::Enter).await;
    b.wait_for(".notice").await;
    let notice = b.text(".notice").await;
    assert!(notice.contains("disabled"), "{notice}");
    b.close().await;
}
