//! An escaped error across weeks: an automatic acceptance reported wrong ("this looks
//! wrong") and then decided again in the inbox. The item's result came from Tandem once, so
//! the hours count it as avoided once, when it was accepted; the report is rework and the
//! second review's time is review time, but that review must not count the item as
//! avoided again.

use super::*;

/// Four weeks, by hand (baseline 6 min/item):
///
/// Week 1: four items with one address at Mon 09:00, all accepted automatically (A, B, C, D).
///   avoided = 6 × 4 auto = 24 min; review 0; rework 0; net = 24 min.
///
/// Week 2: A reported wrong Tue 09:00 and corrected Wed 09:00 after 90 s; B reported wrong
/// Fri 09:00 and left in the inbox over the weekend.
///   avoided = 0 (A's correction is the second review of a result already counted in week 1)
///   review  = 90 s = 1.5 min; rework = 6 × 2 escaped = 12 min
///   net     = −13.5 min (double counting A's correction as avoided gave −7.5 min)
///
/// Week 3: B corrected Mon 10:00 after 60 s; C reported wrong Tue 09:00 and approved (it was
/// right after all) Tue 10:00 after 30 s; a new item E with no address arrives Mon 09:00 and
/// is corrected Mon 11:00 after 80 s, an ordinary exception whose result Tandem gave.
///   avoided = 6 × 1 (E) = 6 min; review = (60 + 30 + 80) s = 170 s; rework = 6 × 1 = 6 min
///   net     = 6 − 170/60 − 6 = −2.8333 min (double counting B and C gave +9.1667 min)
///
/// Over the three weeks each of A, B and C nets 6 (avoided once) − 6 (rework) − its review;
/// D nets 6; E nets 6 − 80 s. Total 24 − 13.5 − 2.8333 = 7.6667 min.
/// The counts stay as they are: week 3 has 1 approved and 2 corrected (override 2/3).
#[tokio::test]
async fn a_corrected_escaped_error_is_avoided_once() {
    for backend in backends() {
        let c = Ctx::start(backend).await;
        c.clock.set(WEEK1 + 9 * HOUR);
        let ids = c.submit(&(0..4).map(single).collect::<Vec<_>>()).await;
        for id in &ids {
            assert_eq!(c.status(*id).await, "auto_accepted");
        }
        let (a, b, cc) = (ids[0], ids[1], ids[2]);
        let report = |at: i64, id: i64| {
            let c = &c;
            async move {
                c.clock.set(at);
                let (s, body) = post(
                    &c.app,
                    &c.reviewer,
                    &format!("/api/v1/items/{id}/wrong"),
                    &json!({ "reason": "wrong customer" }),
                )
                .await;
                assert_eq!(s, StatusCode::OK, "{body}");
            }
        };
        let fix = json!({ "action": "correct", "fields": { "email": "fix@example.com" } });
        let with_seconds = |mut d: Value, s: i64| {
            d["seconds"] = json!(s);
            d
        };

        // Week 2.
        report(WEEK1 + WEEK + DAY + 9 * HOUR, a).await;
        c.decide(
            WEEK1 + WEEK + 2 * DAY + 9 * HOUR,
            a,
            with_seconds(fix.clone(), 90),
        )
        .await;
        report(WEEK1 + WEEK + 4 * DAY + 9 * HOUR, b).await;

        // Week 3.
        c.clock.set(WEEK1 + 2 * WEEK + 9 * HOUR);
        let e = c.submit(&[missing(1)]).await[0];
        assert_eq!(c.status(e).await, "needs_review");
        c.decide(WEEK1 + 2 * WEEK + 10 * HOUR, b, with_seconds(fix.clone(), 60))
            .await;
        c.decide(WEEK1 + 2 * WEEK + 11 * HOUR, e, with_seconds(fix.clone(), 80))
            .await;
        report(WEEK1 + 2 * WEEK + DAY + 9 * HOUR, cc).await;
        c.decide(
            WEEK1 + 2 * WEEK + DAY + 10 * HOUR,
            cc,
            json!({ "action": "approve", "seconds": 30 }),
        )
        .await;

        // Read live in week 3 (nothing kept yet for it), then again in week 4 from the
        // kept rollups: the same figures either way.
        let live = c.weekly("automation=support&weeks=12").await;
        check_week3(&live["weeks"][2], "live");
        c.clock.set(WEEK1 + 3 * WEEK + DAY);
        let body = c.weekly("automation=support&weeks=12").await;
        let weeks = body["weeks"].as_array().unwrap();
        assert_eq!(weeks.len(), 4);
        let (w1, w2, w3) = (&weeks[0], &weeks[1], &weeks[2]);

        assert_eq!(
            w1["auto_accepted"], 4,
            "A, B and C still count as accepted in week 1"
        );
        assert_eq!(w1["escaped"], 0);
        close(&w1["minutes"]["avoided"], 24.0, "week 1 avoided");
        close(&w1["minutes"]["review"], 0.0, "week 1 review");
        close(&w1["minutes"]["rework"], 0.0, "week 1 rework");
        close(&w1["net_hours"], 24.0 / 60.0, "week 1 net");

        assert_eq!(w2["auto_accepted"], 0);
        assert_eq!(w2["escaped"], 2, "{w2}");
        assert_eq!(
            (
                w2["approved"].clone(),
                w2["corrected"].clone(),
                w2["rejected"].clone()
            ),
            (json!(0), json!(1), json!(0)),
            "A's correction is still a correction"
        );
        close(&w2["override_rate"], 1.0, "week 2 override");
        close(
            &w2["minutes"]["avoided"],
            0.0,
            "week 2 avoided: A counted in week 1",
        );
        close(&w2["minutes"]["review"], 1.5, "week 2 review");
        close(&w2["minutes"]["rework"], 12.0, "week 2 rework");
        close(&w2["net_hours"], -13.5 / 60.0, "week 2 net");
        assert_eq!(w2["open_at_end"], 1, "B waits over the weekend");

        check_week3(w3, "kept");
        close(
            &w3["cumulative_hours"],
            (24.0 - 13.5 + (6.0 - 170.0 / 60.0 - 6.0)) / 60.0,
            "cumulative",
        );

        // The workspace's check-in sums the same hours.
        let all = c.weekly("weeks=12").await;
        close(&all["weeks"][1]["net_hours"], -13.5 / 60.0, "workspace week 2");
        close(
            &all["weeks"][2]["net_hours"],
            (6.0 - 170.0 / 60.0 - 6.0) / 60.0,
            "workspace week 3",
        );

        // Another workspace sees none of these weeks.
        let eve = c.other_workspace_token().await;
        let (s, body) = get(&c.app, &eve, "/api/v1/checkin").await;
        assert_eq!(s, StatusCode::OK);
        let theirs = body["weeks"].as_array().unwrap();
        assert_eq!(theirs.len(), 1, "{body}");
        assert_eq!(theirs[0]["reviewed"], 0, "{body}");
        assert_eq!(theirs[0]["escaped"], 0, "{body}");
    }
}

fn check_week3(w3: &Value, when: &str) {
    assert_eq!(w3["items_in"], 1, "{when}: {w3}");
    assert_eq!(w3["auto_accepted"], 0, "{when}");
    assert_eq!(w3["escaped"], 1, "{when}: C");
    assert_eq!(
        (w3["approved"].clone(), w3["corrected"].clone()),
        (json!(1), json!(2)),
        "{when}: C approved; B and E corrected"
    );
    close(&w3["override_rate"], 2.0 / 3.0, "week 3 override");
    close(&w3["minutes"]["avoided"], 6.0, "week 3 avoided: E only");
    close(&w3["minutes"]["review"], 170.0 / 60.0, "week 3 review");
    close(&w3["minutes"]["rework"], 6.0, "week 3 rework");
    close(&w3["net_hours"], (6.0 - 170.0 / 60.0 - 6.0) / 60.0, "week 3 net");
}
