//! The evidence on the page in headless Chromium: a scanned receipt's page image shows
//! with the date boxed where it is printed; its link marks the box; clicking words, or
//! moving over them with the arrow keys and pressing Enter, fills the field picked last.
//! At 400 px the page scales down and nothing scrolls sideways.

use fantoccini::Locator;
use fantoccini::actions::InputSource;
use fantoccini::key::Key;
use tandem_domain::Role;
use tandem_service::automations::TrainingFiles;
use tandem_service::documents::Upload;
use tandem_test_support::{Browser, TestApp, backends};

use super::{press, screenshot};

const RECEIPTS: &str = r#"
name = "Receipts"
slug = "receipts"

[[fields]]
name = "date"
type = "date"
threshold = 0.5

[rollout]
start = "shadow"
"#;

async fn js(b: &Browser, script: &str) -> serde_json::Value {
    b.client.execute(script, vec![]).await.expect("script")
}

#[tokio::test]
async fn the_value_is_boxed_on_the_page_and_words_fill_the_field() {
    let app = TestApp::start(backends()[0]).await;
    app.apply(RECEIPTS, TrainingFiles::default()).await;
    let admin = app.user("ada@acme.io", Role::Admin).await;
    let actor = tandem_service::auth::Actor { user: admin };
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/documents/sroie-000.jpg"
    ))
    .unwrap();
    let accepted = app
        .tandem
        .submit_document(
            &actor,
            "receipts",
            Upload {
                file_name: "sroie-000.jpg".into(),
                bytes,
            },
        )
        .await
        .unwrap();
    app.drain().await;
    let id = accepted.inserted.item.id;

    app.user("rita@acme.io", Role::Reviewer).await;
    app.read_cards("rita@acme.io").await;
    let b = Browser::start(1280, 900).await;
    b.sign_in(&app, "rita@acme.io").await;
    b.client.goto(&app.url(&format!("/items/{id}"))).await.unwrap();
    b.wait_for("svg.page-words").await;
    // The page image is served and shown.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let loaded = js(&b, "const i = document.querySelector('figure.doc-page img'); return !!i && i.complete && i.naturalWidth;").await;
        if loaded.as_i64().unwrap_or(0) > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the page image did not load"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The date's box sits where the date is printed: a third of the way down the receipt.
    let top = js(
        &b,
        "const r = document.querySelector(\"rect.evidence[data-field='date']\").getBoundingClientRect();
         const p = document.querySelector('figure.doc-page img').getBoundingClientRect();
         return (r.top - p.top) / p.height;",
    )
    .await;
    let top = top.as_f64().unwrap();
    assert!(top > 0.2 && top < 0.6, "date box at {top} of the page height");
    screenshot(&b, "document-1280.png").await;

    // The evidence link marks the box.
    b.client
        .find(Locator::Css("a.show-evidence[data-field='date']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let marked = js(
        &b,
        "return document.querySelector(\"rect.evidence[data-field='date']\").classList.contains('current');",
    )
    .await;
    assert_eq!(marked, serde_json::json!(true));

    // Clicking a word fills the field picked last.
    let input = b.client.find(Locator::Id("f-date")).await.unwrap();
    input.clear().await.unwrap();
    input.click().await.unwrap();
    b.client
        .find(Locator::Css("rect.word[data-text='25/12/2018']"))
        .await
        .expect("the date is a word on the page")
        .click()
        .await
        .unwrap();
    assert_eq!(input.prop("value").await.unwrap().as_deref(), Some("25/12/2018"));

    // By keyboard: to the page (its cursor is on the word clicked), two words right,
    // Shift+Right takes the next one too, Enter fills the field with both.
    input.clear().await.unwrap();
    input.click().await.unwrap();
    js(&b, "document.querySelector('svg.page-words').focus(); return 0;").await;
    let right: char = Key::Right.into();
    let enter: char = Key::Enter.into();
    press(&b, &[right, right]).await;
    let shift: char = Key::Shift.into();
    let actions = fantoccini::actions::KeyActions::new("shift-right".into())
        .then(fantoccini::actions::KeyAction::Down { value: shift })
        .then(fantoccini::actions::KeyAction::Down { value: right })
        .then(fantoccini::actions::KeyAction::Up { value: right })
        .then(fantoccini::actions::KeyAction::Up { value: shift });
    b.client.perform_actions(actions).await.unwrap();
    press(&b, &[enter]).await;
    let expected = js(
        &b,
        "const all = Array.from(document.querySelectorAll('svg.page-words rect.word'));
         const d = all.findIndex(x => x.dataset.text === '25/12/2018');
         return all.slice(d + 2, d + 4).map(x => x.dataset.text).join(' ');",
    )
    .await;
    assert_eq!(
        input.prop("value").await.unwrap(),
        expected.as_str().map(str::to_owned)
    );
    let focused = js(&b, "return document.activeElement.id;").await;
    assert_eq!(
        focused,
        serde_json::json!("f-date"),
        "Enter goes back to the field"
    );
    b.close().await;

    // At 400 px the page scales to the screen.
    let b = Browser::start(400, 900).await;
    b.sign_in(&app, "rita@acme.io").await;
    b.client.goto(&app.url(&format!("/items/{id}"))).await.unwrap();
    b.wait_for("svg.page-words").await;
    let overflow = js(
        &b,
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
    )
    .await;
    assert!(
        overflow.as_i64().unwrap_or(0) <= 0,
        "scrolls sideways at 400 px: {overflow}"
    );
    screenshot(&b, "document-400.png").await;
    b.close().await;
}
