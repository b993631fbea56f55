//! Work by hand in a real browser: by-hand mode hides the automation's answers and times
//! the reviewer, the median of the timed items becomes the measured baseline (shown with
//! its count and spread), and "did this one by hand" counts an item done outside Tandem.

use fantoccini::Locator;
use tandem_test_support::Browser;

use super::*;

async fn value(b: &Browser, css: &str) -> String {
    b.client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// Fill the by-hand form and submit it; the next item opens, still in by-hand mode.
async fn submit_by_hand(b: &Browser, email: &str, order: &str) {
    let before = b.client.current_url().await.unwrap();
    b.client
        .find(Locator::Css("#f-email"))
        .await
        .unwrap()
        .send_keys(email)
        .await
        .unwrap();
    b.client
        .find(Locator::Css("#f-order"))
        .await
        .unwrap()
        .send_keys(order)
        .await
        .unwrap();
    b.client
        .find(Locator::Css("#correct-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let client = b.client.clone();
    tandem_test_support::eventually("the next item", Duration::from_secs(10), || {
        let client = client.clone();
        let before = before.clone();
        async move {
            let now = client.current_url().await.ok()?;
            (now != before).then_some(())
        }
    })
    .await;
}

#[tokio::test]
async fn by_hand_mode_and_did_this_one_by_hand_in_a_browser() {
    let Some(backend) = backends().first().copied() else {
        return;
    };
    let c = Ctx::start(backend).await;
    c.clock.set(WEEK1 + 9 * HOUR);
    // Three items that need a person (no address) and one accepted automatically.
    let ids = c.submit(&[missing(0), missing(1), missing(2), single(0)]).await;
    let auto = ids[3];
    assert_eq!(c.status(auto).await, "auto_accepted");
    // Three items timed earlier, through the API: 5, 6 and 7 minutes.
    c.time_by_hand(&[300.0, 360.0, 420.0]).await;
    // An item that is not the automation's is refused, saying which.
    let (s, body) = post(
        &c.app,
        &c.reviewer,
        "/api/v1/automations/support/by-hand",
        &json!({ "mode": "outside", "item_id": 999_999 }),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"].to_string().contains("item_id"), "{body}");

    c.app.user("rosa@acme.io", Role::Reviewer).await;
    c.app.read_cards("rosa@acme.io").await;
    let b = Browser::start(1280, 900).await;
    b.sign_in(&c.app, "rosa@acme.io").await;

    // The item page as usual shows what the automation found (the order number)...
    b.client
        .goto(&c.app.url(&format!("/items/{}", ids[0])))
        .await
        .unwrap();
    b.wait_for("#start-by-hand").await;
    assert_eq!(value(&b, "#f-order").await, "CD-5600");
    // ...and by-hand mode hides it: no values, no evidence, no confidences, no approve.
    b.client
        .find(Locator::Css("#start-by-hand"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_for("#by-hand").await;
    assert_eq!(value(&b, "#f-order").await, "");
    assert_eq!(value(&b, "#f-email").await, "");
    assert!(b.client.find_all(Locator::Css("mark")).await.unwrap().is_empty());
    assert!(
        b.client
            .find_all(Locator::Css("#approve-button"))
            .await
            .unwrap()
            .is_empty()
    );
    for conf in b.client.find_all(Locator::Css(".conf")).await.unwrap() {
        assert_eq!(conf.text().await.unwrap(), "–");
    }
    let baseline = b.text("#by-hand-baseline").await;
    assert!(
        baseline.contains("Baseline typed in: 6 min per item (3 timed so far)")
            && baseline.contains("once 5 are timed (3 so far)"),
        "{baseline}"
    );

    // Two items worked out by hand; the mode carries on to the next item.
    submit_by_hand(&b, "nobody@example.com", "CD-5600").await;
    b.wait_for("#by-hand").await;
    let second: i64 = b
        .client
        .current_url()
        .await
        .unwrap()
        .path()
        .trim_start_matches("/items/")
        .parse()
        .unwrap();
    assert!(ids[1..3].contains(&second), "next item {second}");
    assert!(b.text("#by-hand-baseline").await.contains("(4 timed so far)"));
    submit_by_hand(&b, "someone@example.com", "CD-0001").await;

    // Both were decided as corrections (the automation had no address) with their time.
    assert_eq!(c.status(ids[0]).await, "corrected");
    assert_eq!(c.status(second).await, "corrected");
    // Five timings: 300, 360, 420 s and the two in the browser (a few seconds each), so
    // sorted the browser's two come first: median = 300 s = 5.0 min, third quartile
    // (position 3 of 0..4) = 360 s = 6.0 min, first quartile = the larger browser time.
    let (s, base) = get(&c.app, &c.builder, "/api/v1/automations/support/baseline").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(base["source"], "measured", "{base}");
    assert_eq!(base["measured"]["count"], 5);
    close(&base["measured"]["median_minutes"], 5.0, "median");
    close(&base["measured"]["p75_minutes"], 6.0, "third quartile");
    close(&base["minutes_per_item"], 5.0, "minutes per item");
    let p25 = base["measured"]["p25_minutes"].as_f64().unwrap();
    assert!(p25 > 0.0 && p25 < 5.0, "{p25}");
    // The check-in shows the measured baseline with its count and spread.
    b.client
        .goto(&c.app.url("/checkin?automation=support"))
        .await
        .unwrap();
    let shown = b.text("#baseline").await;
    assert!(
        shown.starts_with("Baseline measured: 5.0 min per item (median of 5 timed items; middle half ")
            && shown.ends_with("–6.0 min)."),
        "{shown}"
    );

    // "Did this one by hand" on the automatic result: recorded once, shown on the page.
    b.client
        .goto(&c.app.url(&format!("/items/{auto}")))
        .await
        .unwrap();
    b.wait_for("#outside-note-input")
        .await
        .send_keys("Customer phoned; typed it into the CRM")
        .await
        .unwrap();
    b.client
        .find(Locator::Css("#outside-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(
        b.text("#notice")
            .await
            .starts_with("Recorded: this item was done by hand outside Tandem.")
    );
    assert!(
        b.text("#outside-note")
            .await
            .starts_with("Recorded as done by hand outside Tandem on ")
    );
    assert!(
        b.client
            .find_all(Locator::Css("#outside-form"))
            .await
            .unwrap()
            .is_empty()
    );
    let week = c.weekly("automation=support&weeks=1").await;
    assert_eq!(week["weeks"][0]["hand_outside"], 1, "{week}");
    // The same item again, through the API: refused, it is already counted.
    let (s, body) = post(
        &c.app,
        &c.reviewer,
        "/api/v1/automations/support/by-hand",
        &json!({ "mode": "outside", "item_id": auto }),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
}
