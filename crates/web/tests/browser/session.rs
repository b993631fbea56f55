//! A review session in a real browser: each sampled item shows its input, the
//! automation's answer with its confidence and the decision taken; a vote is one key and
//! keeps the reviewer's place (the next item is focused, the page does not jump to the
//! top); closing asks first.

use tandem_domain::Role;
use tandem_service::auth::Actor;
use tandem_service::automations::TrainingFiles;
use tandem_test_support::decision::correct;
use tandem_test_support::{Browser, TestApp, backends};

use super::{DEFINITION, press, screenshot};

/// The id of the focused element.
async fn focused_id(b: &Browser) -> Option<String> {
    b.client.active_element().await.ok()?.attr("id").await.ok()?
}

/// (scrollY, the top of `css` in the viewport, the viewport's height).
async fn place(b: &Browser, css: &str) -> (f64, f64, f64) {
    let v = b
        .client
        .execute(
            "const r = document.querySelector(arguments[0]).getBoundingClientRect();
             return [window.scrollY, r.top, window.innerHeight];",
            vec![serde_json::json!(css)],
        )
        .await
        .unwrap();
    let n = |i: usize| v[i].as_f64().unwrap();
    (n(0), n(1), n(2))
}

#[tokio::test]
async fn a_session_shows_what_is_judged_votes_by_key_in_place_and_closes_on_confirmation() {
    let app = TestApp::start(backends()[0]).await;
    app.apply(DEFINITION, TrainingFiles::default()).await;
    let admin = Actor {
        user: app.user("ada@acme.io", Role::Admin).await,
    };
    let texts: Vec<String> = (0..14)
        .map(|i| {
            if i % 2 == 0 {
                format!(
                    "Request {i}: please write to me{i}@x.io\nOrder: AB-{:04}",
                    1000 + i
                )
            } else {
                format!("Request {i}: my parcel is late, no address given")
            }
        })
        .collect();
    let ids = app.submit_texts(&admin, "support", &texts).await;
    // One corrected by a person, so its decision shows.
    app.tandem
        .decide(
            &admin,
            ids[1],
            correct([("email", serde_json::json!("late@x.io"))]),
        )
        .await
        .unwrap();
    let rita = Actor {
        user: app.user("rita@acme.io", Role::Reviewer).await,
    };
    app.read_cards("rita@acme.io").await;
    let session = app
        .tandem
        .start_review_session(&rita, "support", "Friday review")
        .await
        .unwrap();
    let sample: Vec<i64> = session.items.iter().map(|i| i.item_id.0).collect();
    assert!(sample.len() >= 6, "{sample:?}");
    assert!(
        sample.contains(&ids[1].0),
        "the corrected item is sampled: {sample:?}"
    );

    let b = Browser::start(1280, 700).await;
    b.sign_in(&app, "rita@acme.io").await;
    let page = format!("/review-sessions/{}", session.id);
    b.client.goto(&app.url(&page)).await.unwrap();

    // Each item shows its input, the answer with its confidence, and its decision.
    for (n, id) in sample.iter().enumerate() {
        let li = b.text(&format!("#sample-{id}")).await;
        let k = ids.iter().position(|x| x.0 == *id).unwrap();
        let first_line = texts[k].lines().next().unwrap();
        assert!(li.contains(first_line), "item {n} shows its input: {li}");
        assert!(
            li.contains("email") && li.contains('%'),
            "the answer and its confidence: {li}"
        );
        if *id == ids[1].0 {
            assert!(li.contains("Corrected by ada"), "the decision taken: {li}");
        } else {
            assert!(
                li.contains("Not decided yet") || li.contains("Accepted automatically"),
                "{li}"
            );
        }
    }
    screenshot(&b, "session.png").await;
    // On a phone the item's input and answer stack, with nothing to scroll sideways.
    b.client.set_window_size(400, 800).await.unwrap();
    let wide = b
        .client
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await
        .unwrap();
    screenshot(&b, "session-400.png").await;
    let culprits = b
        .client
        .execute(
            "const w = document.documentElement.clientWidth; return Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > w + 0.5).slice(0, 8).map(e => e.tagName + '#' + e.id + '.' + e.className);",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        wide.as_f64().unwrap() <= 0.0,
        "sideways scrolling at 400 px: {wide}: {culprits}"
    );
    b.client.set_window_size(1280, 700).await.unwrap();

    // j moves down the sample; d votes "disagree" on the selected item with one key.
    let deep = sample.len() - 2;
    for _ in 0..=deep {
        press(&b, &['j']).await;
    }
    assert_eq!(focused_id(&b).await, Some(format!("sample-{}", sample[deep])));
    press(&b, &['d']).await;
    let voted = format!("#sample-{} .votes", sample[deep]);
    b.wait_for_text(&voted, "rita: disagree").await;
    // The page came back where the reviewer was: on the next item, not at the top.
    let next = format!("sample-{}", sample[deep + 1]);
    assert_eq!(focused_id(&b).await, Some(next.clone()));
    let (scroll_y, top, height) = place(&b, &format!("#{next}")).await;
    assert!(scroll_y > 0.0, "the page did not jump to the top");
    assert!(
        (0.0..height).contains(&top),
        "the next item is in view: {top} of {height}"
    );
    // a agrees with it, again one key.
    press(&b, &['a']).await;
    b.wait_for_text(&format!("#{next} .votes"), "rita: agree").await;

    // Closing asks first; nothing is closed until the reviewer confirms.
    b.client
        .find(fantoccini::Locator::Css("#close-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_for("#confirm-close").await;
    let open = app.tandem.review_session(&rita, session.id).await.unwrap();
    assert!(open.session.closed_at.is_none(), "asking closed nothing");
    assert_eq!(focused_id(&b).await.as_deref(), Some("confirm-close-button"));
    press(&b, &['\u{E007}']).await; // Enter on the focused confirmation
    b.wait_for("#summary").await;
    let closed = app.tandem.review_session(&rita, session.id).await.unwrap();
    assert!(closed.session.closed_at.is_some());
    b.close().await;
}
