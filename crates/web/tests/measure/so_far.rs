//! A week still running has missed nothing yet: the API, the check-in page and the shared
//! page call a week met or missed only once it has ended; before that it reads "so far",
//! with the pace still needed to meet the target.

use super::*;

/// By hand (baseline 6 min/item, target 1 h a week): two items with one address at Mon
/// 09:00, both accepted automatically: 2 × 6 min = 12 min = 0.2 h recovered.
/// Read on Wednesday 00:00: 0.8 h still to go over the 5 days left = 0.16 h a day.
/// Read again on Monday 01:00 of week 2: week 1 has ended, 0.2 h < 1 h, missed.
#[tokio::test]
async fn a_week_still_running_is_so_far_not_missed() {
    for backend in backends() {
        let c = Ctx::start(backend).await;
        c.clock.set(WEEK1 + 9 * HOUR);
        let ids = c.submit(&[single(1), single(2)]).await;
        assert_eq!(c.status(ids[0]).await, "auto_accepted");
        c.clock.set(WEEK1 + 2 * DAY);

        let body = c.weekly("automation=support").await;
        let w = &body["weeks"][0];
        assert_eq!(w["closed"], false);
        close(&w["net_hours"], 0.2, "net hours");
        assert_eq!(w["target_met"], Value::Null, "no verdict on a running week: {w}");
        close(&w["so_far"]["still_needed_hours"], 0.8, "still needed");
        close(&w["so_far"]["days_left"], 5.0, "days left");
        close(&w["so_far"]["needed_per_day"], 0.16, "pace needed");

        let bob = c.app.user("bob@acme.io", Role::Builder).await;
        c.app.login("bob@acme.io").await;
        let html = c.app.page("/checkin?automation=support").await;
        let headline = "Week of 2026-01-05 so far: 0.2 h recovered against 1 h; 0.8 h still to go, about 0.2 h a day over the 5.0 days left.";
        assert!(html.contains(headline), "{html}");
        assert!(!html.contains("missed"), "{html}");
        assert!(html.contains("so far: 0.8 h to go"), "{html}");

        let (_, token) = c
            .app
            .tandem
            .share_checkin(
                &tandem_service::auth::Actor { user: bob },
                Some("support"),
                "Finance",
                false,
            )
            .await
            .unwrap();
        let shared = c
            .app
            .page_as(&reqwest::Client::new(), &format!("/shared/checkin/{token}"))
            .await;
        assert!(shared.contains(headline), "{shared}");
        assert!(!shared.contains("missed"), "{shared}");

        // Once the week has ended, it is judged.
        c.clock.set(WEEK1 + WEEK + HOUR);
        let body = c.weekly("automation=support").await;
        assert_eq!(body["weeks"][0]["closed"], true);
        assert_eq!(body["weeks"][0]["target_met"], false);
        assert_eq!(body["weeks"][0]["so_far"], Value::Null);
        // (The session from last week has run out.)
        c.app.login("bob@acme.io").await;
        let html = c.app.page("/checkin?automation=support").await;
        assert!(
            html.contains("Week of 2026-01-05: target missed, 0.2 h recovered against 1 h (0.8 h short)."),
            "{html}"
        );
    }
}
