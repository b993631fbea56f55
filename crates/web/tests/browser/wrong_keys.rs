//! "This looks wrong" from the keyboard: on an automatically accepted item, `w` opens the
//! report with its text box focused, and Ctrl+Enter sends it back to the inbox. The item
//! then shows who reported it and why.

use tandem_domain::{ItemStatus, Role};
use tandem_test_support::Browser;

use super::{chord, notifying_app, press, sign_in};
use fantoccini::key::Key;

#[tokio::test]
async fn a_wrong_result_is_sent_back_in_a_few_keys() {
    let (app, _slack, ids) = notifying_app().await;
    let accepted = ids[2];
    assert_eq!(app.item_status(accepted).await, ItemStatus::AutoAccepted);
    app.user("rita@acme.io", Role::Reviewer).await;
    app.read_cards("rita@acme.io").await;

    let b = Browser::start(1280, 900).await;
    sign_in(&b, &app, "rita@acme.io", &format!("/items/{accepted}")).await;
    b.wait_for("#report-wrong").await;
    press(&b, &['w']).await;
    b.wait_for_path(&format!("/items/{accepted}/wrong")).await;
    b.wait_for("#wrong-reason").await;
    let focused = b.client.active_element().await.unwrap();
    assert_eq!(
        focused.attr("id").await.unwrap().as_deref(),
        Some("wrong-reason"),
        "the text box has focus on arrival"
    );
    for c in "own address".chars() {
        press(&b, &[c]).await;
    }
    chord(&b, Key::Control, '\u{E007}').await; // Ctrl+Enter
    b.wait_for_path(&format!("/items/{accepted}")).await;
    b.wait_for("#why").await;
    assert_eq!(app.item_status(accepted).await, ItemStatus::NeedsReview);
    let why = b.text("section.reasons").await;
    assert!(why.contains("Reported wrong by rita"), "{why}");
    assert!(why.contains("own address"), "{why}");
    b.close().await;
}
