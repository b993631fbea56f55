//! Bulk approval from the keyboard: `x` selects rows, `b` asks, the confirmation shows
//! each item's input beside the values to approve, and Enter approves.

use tandem_domain::{ItemStatus, Role};
use tandem_service::automations::TrainingFiles;
use tandem_test_support::{Browser, TestApp, backends};

use super::{DEFINITION, press};

#[tokio::test]
async fn bulk_approval_shows_each_input_and_is_confirmed_by_keyboard() {
    let app = TestApp::start(backends()[0]).await;
    app.apply(DEFINITION, TrainingFiles::default()).await;
    let admin = tandem_service::auth::Actor {
        user: app.user("ada@acme.io", Role::Admin).await,
    };
    let texts = [
        "Hello from a@x.io about the blue kettle\nOrder: whatever",
        "Hello from b@x.io about the red toaster\nOrder: unknown",
    ];
    let ids = app.submit_texts(&admin, "support", &texts).await;
    for id in &ids {
        assert_eq!(app.item_status(*id).await, ItemStatus::NeedsReview);
    }
    app.user("rita@acme.io", Role::Reviewer).await;
    app.read_cards("rita@acme.io").await;

    let b = Browser::start(1280, 900).await;
    b.sign_in(&app, "rita@acme.io").await;
    b.wait_for("#inbox-list").await;
    // x selects the first row, j moves, x the second, b asks.
    press(&b, &['x', 'j', 'x', 'b']).await;
    b.wait_for_path("/inbox/bulk").await;
    let table = b.text("#bulk-ready").await;
    assert!(
        table.contains("about the blue kettle"),
        "the input beside its values: {table}"
    );
    assert!(table.contains("about the red toaster"), "{table}");
    assert!(table.contains("a@x.io") && table.contains("b@x.io"), "{table}");
    let focused = b.client.active_element().await.unwrap();
    assert_eq!(focused.attr("id").await.unwrap().as_deref(), Some("bulk-confirm"));
    for id in &ids {
        assert_eq!(
            app.item_status(*id).await,
            ItemStatus::NeedsReview,
            "asking decided nothing"
        );
    }
    press(&b, &['\u{E007}']).await; // Enter
    b.wait_for_path("/inbox").await;
    b.wait_for_text("p.notice[role=status]", "Approved 2 items.")
        .await;
    for id in &ids {
        assert_eq!(app.item_status(*id).await, ItemStatus::Approved);
    }
    b.close().await;
}
