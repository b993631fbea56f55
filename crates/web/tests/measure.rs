//! Measured adoption, end to end on each backend: weeks of items pushed through the real
//! engine on a manual clock, decided through the real review API, and the weekly figures
//! checked against values computed by hand (the arithmetic is written out beside each).

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tandem_domain::Role;
use tandem_service::ManualClock;
use tandem_service::automations::TrainingFiles;
use tandem_test_support::{TestApp, backends};

#[path = "measure/by_hand.rs"]
mod by_hand;
#[path = "measure/escaped.rs"]
mod escaped;
#[path = "measure/share.rs"]
mod share;
#[path = "measure/so_far.rs"]
mod so_far;

/// Monday 2026-01-05 00:00 UTC.
const WEEK1: i64 = 1_767_571_200_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;

const DEFINITION: &str = r#"
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
labels = ["Order", "Order number"]
threshold = 0.5
[fields.validate]
pattern = "[A-Z]{2}-\\d{4}"

[[destinations]]
type = "jsonl"
path = "out/support.jsonl"

[baseline]
minutes_per_item = 6
weekly_volume = 20
target_hours_per_week = 1
"#;

struct Ctx {
    app: TestApp,
    clock: Arc<ManualClock>,
    builder: String,
    reviewer: String,
}

async fn post(app: &TestApp, token: &str, path: &str, body: &Value) -> (StatusCode, Value) {
    app.post_json(token, path, body).await
}

async fn get(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    app.get_json(token, path).await
}

impl Ctx {
    /// An admin's API token in a second workspace ("other"), to check it sees none of this.
    async fn other_workspace_token(&self) -> String {
        let other = self.app.tandem.ensure_workspace("other", "Other").await.unwrap();
        let u = self
            .app
            .tandem
            .add_user(
                other.id,
                "eve@other.io",
                "",
                Role::Admin,
                tandem_test_support::PASSWORD,
            )
            .await
            .unwrap();
        self.app.tandem.create_token(&u, "t").await.unwrap()
    }

    async fn start(backend: tandem_test_support::TestBackend) -> Ctx {
        Self::start_with(backend, DEFINITION).await
    }

    async fn start_with(backend: tandem_test_support::TestBackend, definition: &str) -> Ctx {
        let clock = Arc::new(ManualClock::new(WEEK1));
        let app = TestApp::start_with_clock(backend, Some(clock.clone())).await;
        app.apply(definition, TrainingFiles::default()).await;
        let builder = app.token("builder@acme.io", Role::Builder).await;
        let reviewer = app.token("rita@acme.io", Role::Reviewer).await;
        Ctx {
            app,
            clock,
            builder,
            reviewer,
        }
    }

    /// Submit texts at the clock's time and let the engine process them.
    async fn submit(&self, texts: &[String]) -> Vec<i64> {
        let batch =
            json!({ "items": texts.iter().map(|t| json!({ "input": { "text": t } })).collect::<Vec<_>>() });
        let (s, body) = post(
            &self.app,
            &self.builder,
            "/api/v1/automations/support/items/batch",
            &batch,
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        self.app.drain().await;
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect()
    }

    async fn decide(&self, at: i64, id: i64, decision: Value) {
        self.clock.set(at);
        let (s, body) = post(
            &self.app,
            &self.reviewer,
            &format!("/api/v1/items/{id}/decision"),
            &decision,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }

    /// Record items timed by hand through the API, one a duration in seconds.
    async fn time_by_hand(&self, seconds: &[f64]) {
        for s in seconds {
            let (st, body) = post(
                &self.app,
                &self.reviewer,
                "/api/v1/automations/support/by-hand",
                &json!({ "mode": "measured", "seconds": s }),
            )
            .await;
            assert_eq!(st, StatusCode::CREATED, "{body}");
        }
    }

    /// Report item `id`'s delivered result as wrong (an escaped error), as the reviewer.
    async fn escaped(&self, id: i64, body: &Value) -> (StatusCode, Value) {
        post(
            &self.app,
            &self.reviewer,
            &format!("/api/v1/items/{id}/escaped"),
            body,
        )
        .await
    }

    async fn status(&self, id: i64) -> String {
        let (_, item) = get(&self.app, &self.builder, &format!("/api/v1/items/{id}")).await;
        item["status"].as_str().unwrap().to_owned()
    }

    async fn weekly(&self, query: &str) -> Value {
        let (s, body) = get(&self.app, &self.builder, &format!("/api/v1/checkin?{query}")).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body
    }
}

fn single(n: usize) -> String {
    format!("Hi, this is user{n}@example.com\nOrder: AB-{:04}", 1000 + n)
}
fn ambiguous(n: usize) -> String {
    format!(
        "Either a{n}@x.io or b{n}@y.io can answer.\nOrder number: EF-{:04}",
        9000 + n
    )
}
fn missing(n: usize) -> String {
    format!("No address here.\nOrder: CD-{:04}", 5600 + n)
}

fn close(actual: &Value, expected: f64, what: &str) {
    let a = actual
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: {actual} is not a number"));
    assert!((a - expected).abs() < 1e-6, "{what}: {a} != {expected}");
}

/// Two weeks, by hand:
///
/// Week 1 (baseline 6 min/item, target 1 h, designed for 20 items):
/// 10 items in at Mon 09:00: 6 with one address (accepted automatically), 2 with two
/// (ambiguous), 2 with none (missing). Decisions: ambiguous #1 approved after 40 s at Mon
/// 10:00; missing #1 corrected after 80 s at Tue 09:00; ambiguous #2 approved after 2 s at
/// Wed 09:00 (a rubber stamp); missing #2 left open.
///   avoided = 6 × (6 auto + 2 approved + 1 corrected) = 54 min
///   review  = (40 + 80 + 2) s = 122 s = 2.0333 min; rework 0
///   net     = 51.9667 min = 0.866111 h, under the 1 h target
///   median review 40 s; first touches 1 h, 24 h, 48 h → median 86,400 s;
///   open at the end: 1, arrived Mon 09:00 → 159 h old at the week's end.
///
/// Week 2: 5 single items and 1 ambiguous at Mon 09:00. Missing #2 rejected after 20 s at
/// Mon 10:00 (first touch 7 d 1 h = 608,400 s after it arrived); the ambiguous one approved
/// with no time sent at Mon 11:00 (first touch 2 h); one of week 1's automatic acceptances
/// reported wrong on Tue 09:00 (back in the inbox, still counted as accepted automatically
/// in week 1); one item done by hand outside Tandem on Tue.
///   avoided = 6 × (5 auto + 1 approved) = 36 min
///   review  = 20 s + 1 untimed × the week's median (20 s) = 40 s = 0.6667 min
///   rework  = 6 × (1 escaped + 1 by hand) = 12 min
///   net     = 23.3333 min = 0.388889 h; cumulative 1.255 h
///   open at the end: 1 (the reported item), waiting since Tue 09:00 → 135 h at the end.
#[tokio::test]
async fn weekly_figures_match_a_hand_computation() {
    for backend in backends() {
        let c = Ctx::start(backend).await;
        c.clock.set(WEEK1 + 9 * HOUR);
        let mut texts: Vec<String> = (0..6).map(single).collect();
        texts.extend((0..2).map(ambiguous));
        texts.extend((0..2).map(missing));
        let w1 = c.submit(&texts).await;
        for id in &w1[..6] {
            assert_eq!(c.status(*id).await, "auto_accepted");
        }
        for id in &w1[6..] {
            assert_eq!(c.status(*id).await, "needs_review");
        }
        c.decide(
            WEEK1 + 10 * HOUR,
            w1[6],
            json!({ "action": "approve", "seconds": 40 }),
        )
        .await;
        c.decide(
            WEEK1 + DAY + 9 * HOUR,
            w1[8],
            json!({ "action": "correct", "fields": { "email": "fix@example.com" }, "seconds": 80 }),
        )
        .await;
        c.decide(
            WEEK1 + 2 * DAY + 9 * HOUR,
            w1[7],
            json!({ "action": "approve", "seconds": 2 }),
        )
        .await;

        // Mid-week 1, the figures so far are live.
        let live = c.weekly("automation=support&weeks=4").await;
        let weeks = live["weeks"].as_array().unwrap();
        assert_eq!(weeks.len(), 1, "only the weeks since the first item");
        assert_eq!(weeks[0]["closed"], false);
        assert_eq!(weeks[0]["items_in"], 10);

        // Week 2.
        c.clock.set(WEEK1 + WEEK + 9 * HOUR);
        let mut texts: Vec<String> = (10..15).map(single).collect();
        texts.push(ambiguous(10));
        let w2 = c.submit(&texts).await;
        c.decide(
            WEEK1 + WEEK + 10 * HOUR,
            w1[9],
            json!({ "action": "reject", "reason": "not ours", "seconds": 20 }),
        )
        .await;
        c.decide(WEEK1 + WEEK + 11 * HOUR, w2[5], json!({ "action": "approve" }))
            .await;
        c.clock.set(WEEK1 + WEEK + DAY + 9 * HOUR);
        let (s, body) = c.escaped(w1[0], &json!({ "note": "wrong address" })).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
        let (s, body) = post(
            &c.app,
            &c.reviewer,
            "/api/v1/automations/support/by-hand",
            &json!({ "mode": "outside", "note": "customer phoned" }),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");

        // Week 3: both earlier weeks are closed and kept.
        c.clock.set(WEEK1 + 2 * WEEK + 2 * DAY);
        let body = c.weekly("automation=support&weeks=12").await;
        let weeks = body["weeks"].as_array().unwrap();
        assert_eq!(weeks.len(), 3);
        let (a, b) = (&weeks[0], &weeks[1]);
        assert_eq!(body["baseline"]["source"], "typed");
        assert_eq!(a["week_start"], WEEK1);
        assert_eq!(a["closed"], true);
        assert_eq!(a["items_in"], 10);
        assert_eq!(a["designed_volume"], 20);
        close(&a["volume_share"], 0.5, "volume share");
        assert_eq!(a["processed"], 10);
        assert_eq!(a["auto_accepted"], 6);
        close(&a["share_automatic"], 0.6, "share automatic");
        assert_eq!(
            (
                a["approved"].clone(),
                a["corrected"].clone(),
                a["rejected"].clone()
            ),
            (json!(2), json!(1), json!(0))
        );
        assert_eq!(a["reviewed"], 3);
        assert_eq!(a["escaped"], 0);
        close(&a["median_review_seconds"], 40.0, "median review");
        close(&a["median_first_touch_seconds"], 86_400.0, "first touch");
        assert_eq!(a["open_at_end"], 1);
        assert_eq!(a["oldest_open_at"], WEEK1 + 9 * HOUR);
        close(&a["oldest_open_age_hours"], 159.0, "oldest open age");
        assert_eq!(a["rubber_stamps"], 1);
        close(&a["rubber_stamp_rate"], 0.5, "rubber stamps");
        close(&a["override_rate"], 1.0 / 3.0, "override");
        close(&a["minutes"]["avoided"], 54.0, "avoided");
        close(&a["minutes"]["review"], 122.0 / 60.0, "review minutes");
        close(&a["minutes"]["rework"], 0.0, "rework");
        close(&a["net_hours"], (54.0 - 122.0 / 60.0) / 60.0, "net hours");
        assert_eq!(a["target_met"], false);
        assert_eq!(a["net_hours_low"], Value::Null, "no range for a typed baseline");

        assert_eq!(b["items_in"], 6);
        assert_eq!(b["auto_accepted"], 5);
        assert_eq!(
            (b["approved"].clone(), b["rejected"].clone()),
            (json!(1), json!(1))
        );
        assert_eq!(b["untimed_decisions"], 1);
        assert_eq!(b["escaped"], 1);
        assert_eq!(b["hand_outside"], 1);
        close(
            &b["median_first_touch_seconds"],
            (608_400.0 + 7_200.0) / 2.0,
            "first touch",
        );
        assert_eq!(b["open_at_end"], 1, "the reported item, back in the inbox");
        assert_eq!(b["oldest_open_at"], WEEK1 + WEEK + DAY + 9 * HOUR);
        close(&b["oldest_open_age_hours"], 135.0, "waiting since the report");
        close(
            &b["minutes"]["review"],
            40.0 / 60.0,
            "review with the untimed one",
        );
        close(&b["minutes"]["rework"], 12.0, "rework");
        let net2 = (36.0 - 40.0 / 60.0 - 12.0) / 60.0;
        close(&b["net_hours"], net2, "net hours");
        close(
            &b["cumulative_hours"],
            (54.0 - 122.0 / 60.0) / 60.0 + net2,
            "cumulative",
        );
        assert_eq!(weeks[2]["closed"], false);
        assert_eq!(weeks[2]["items_in"], 0);

        // The closed weeks are kept: two for the automation.
        let ws = c.app.workspace;
        let a_id = c
            .app
            .tandem
            .store
            .automation_by_slug(ws, "support")
            .await
            .unwrap()
            .unwrap()
            .id;
        let kept = c
            .app
            .tandem
            .store
            .rollups(ws, Some(a_id), 0, i64::MAX)
            .await
            .unwrap();
        assert_eq!(
            kept.iter().map(|k| k.0).collect::<Vec<_>>(),
            vec![WEEK1, WEEK1 + WEEK]
        );

        // The workspace: the same counts, the same hours (one automation).
        let all = c.weekly("weeks=12").await;
        let aw = &all["weeks"][0];
        assert_eq!(aw["items_in"], 10);
        close(
            &aw["net_hours"],
            (54.0 - 122.0 / 60.0) / 60.0,
            "workspace net hours",
        );
        close(
            &all["weeks"][1]["cumulative_hours"],
            (54.0 - 122.0 / 60.0) / 60.0 + net2,
            "workspace cumulative",
        );

        // A measured baseline: five timed items by hand, 4 to 10 minutes. The median
        // (6 min) replaces the typed one; the quartiles (5 and 7 min) give a range.
        c.time_by_hand(&[240.0, 300.0, 360.0, 420.0, 600.0]).await;
        let body = c.weekly("automation=support&weeks=12").await;
        assert_eq!(body["baseline"]["source"], "measured");
        assert_eq!(body["baseline"]["measured"]["count"], 5);
        close(&body["baseline"]["minutes_per_item"], 6.0, "measured median");
        let a = &body["weeks"][0];
        close(
            &a["net_hours_low"],
            (45.0 - 122.0 / 60.0) / 60.0,
            "week 1 at 5 min",
        );
        close(
            &a["net_hours_high"],
            (63.0 - 122.0 / 60.0) / 60.0,
            "week 1 at 7 min",
        );
        let b = &body["weeks"][1];
        close(
            &b["net_hours_low"],
            (30.0 - 40.0 / 60.0 - 10.0) / 60.0,
            "week 2 at 5 min",
        );
        close(
            &b["net_hours_high"],
            (42.0 - 40.0 / 60.0 - 14.0) / 60.0,
            "week 2 at 7 min",
        );
    }
}

#[tokio::test]
async fn measurement_refuses_bad_input_and_other_workspaces() {
    for backend in backends() {
        let c = Ctx::start(backend).await;
        let ids = c.submit(&[single(1), missing(1)]).await;
        let (s, _) = get(&c.app, &c.builder, "/api/v1/checkin?weeks=0").await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let (s, _) = get(&c.app, &c.builder, "/api/v1/checkin?automation=nope").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, body) = post(
            &c.app,
            &c.reviewer,
            "/api/v1/automations/support/by-hand",
            &json!({ "mode": "sometimes" }),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            body["error"]["message"].as_str().unwrap().contains("mode"),
            "{body}"
        );
        let (s, _) = post(
            &c.app,
            &c.reviewer,
            "/api/v1/automations/support/by-hand",
            &json!({ "mode": "measured" }),
        )
        .await;
        assert_eq!(
            s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "a measurement needs its time"
        );
        let (s, _) = post(
            &c.app,
            &c.reviewer,
            "/api/v1/automations/support/by-hand",
            &json!({ "mode": "measured", "seconds": -3 }),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        // An escaped error says what was wrong; only an automatic acceptance can escape,
        // and only once.
        let (s, body) = c.escaped(ids[0], &json!({})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            body["error"]["details"][0]
                .as_str()
                .unwrap()
                .starts_with("reason:"),
            "{body}"
        );
        let (s, _) = c.escaped(ids[1], &json!({ "note": "wrong" })).await;
        assert_eq!(s, StatusCode::CONFLICT);
        let (s, _) = c.escaped(ids[0], &json!({ "note": "wrong" })).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _) = c.escaped(ids[0], &json!({ "note": "wrong" })).await;
        assert_eq!(s, StatusCode::CONFLICT);
        // A viewer may read the figures but not record work.
        let viewer = c.app.token("vic@acme.io", Role::Viewer).await;
        let (s, _) = get(&c.app, &viewer, "/api/v1/checkin").await;
        assert_eq!(s, StatusCode::OK);
        let (s, _) = post(
            &c.app,
            &viewer,
            "/api/v1/automations/support/by-hand",
            &json!({ "mode": "outside" }),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // Another workspace sees none of it.
        let eve = c.other_workspace_token().await;
        let (s, _) = get(&c.app, &eve, "/api/v1/checkin?automation=support").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, body) = get(&c.app, &eve, "/api/v1/checkin").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(body["weeks"][0]["items_in"], 0, "{body}");
        let (s, _) = post(
            &c.app,
            &eve,
            &format!("/api/v1/items/{}/escaped", ids[0]),
            &json!({ "note": "wrong" }),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
}

/// Ten items a week for three weeks, then thirty: the fourth week is a volume spike.
async fn spike(c: &Ctx) {
    for week in 0..4 {
        c.clock.set(WEEK1 + week * WEEK + 9 * HOUR);
        let n = if week == 3 { 30 } else { 10 };
        let texts: Vec<String> = (0..n).map(|i| single(week as usize * 100 + i)).collect();
        c.submit(&texts).await;
    }
    c.clock.set(WEEK1 + 3 * WEEK + 2 * DAY);
}

#[tokio::test]
async fn the_checkin_explains_a_hard_week_exports_and_shares() {
    for backend in backends() {
        let c = Ctx::start(backend).await;
        spike(&c).await;
        let (s, body) = post(
            &c.app,
            &c.reviewer,
            "/api/v1/checkin/notes",
            &json!({ "automation": "support", "date": "2026-01-27", "body": "<script>alert(1)</script> month-end rush" }),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        assert_eq!(body["week_start"], WEEK1 + 3 * WEEK);
        let (s, _) = post(
            &c.app,
            &c.reviewer,
            "/api/v1/checkin/notes",
            &json!({ "date": "27/01/2026", "body": "x" }),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

        // The page: the spike explained, the champion's note escaped, six charts.
        c.app.user("bob@acme.io", Role::Builder).await;
        c.app.login("bob@acme.io").await;
        let html = c.app.page("/checkin?automation=support").await;
        assert!(
            html.contains("Volume spike: 30 items in, 3.0× the recent median of 10."),
            "{html}"
        );
        assert!(
            html.contains("month-end rush") && html.contains("alert(1)"),
            "{html}"
        );
        assert!(!html.contains("<script>alert(1)"));
        assert_eq!(html.matches("<svg").count(), 6);
        // Week 1: 10 automatic × 6 min = 1 h recovered, target 1 h: met.
        assert!(html.contains("target met, 1.0 h recovered against 1 h"), "{html}");
        // Reading it again does not add the automatic note twice.
        let again = c.weekly("automation=support").await;
        assert_eq!(again["weeks"].as_array().unwrap().len(), 4);
        let html2 = c.app.page("/checkin?automation=support").await;
        assert_eq!(html2.matches("Volume spike: 30").count(), 1);

        // CSV: a header and a row per week, the notes on their week.
        let csv = c.app.page("/checkin.csv?automation=support").await;
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 5, "{csv}");
        assert!(lines[0].starts_with("week_start,closed,items_in,designed_volume"));
        assert!(
            lines[1].starts_with("2026-01-05,true,10,20,10,10,1.0000,"),
            "{}",
            lines[1]
        );
        assert!(lines[4].starts_with("2026-01-26,false,30,20,"), "{}", lines[4]);
        assert!(lines[4].contains("Volume spike") && lines[4].contains("month-end rush"));

        // A share link opens a read-only page until it is revoked.
        let csrf = c.app.csrf().await;
        let resp = c
            .app
            .client
            .post(c.app.url("/checkin/share"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("automation", "support"),
                ("label", "Finance"),
            ])
            .send()
            .await
            .unwrap();
        // The token is in this answer's page, once, and never in an address.
        assert_eq!(resp.status(), 200);
        let page = resp.text().await.unwrap();
        let token = share::token_in(&page);
        assert!(token.len() >= 32, "unguessable: {token}");
        let anonymous = reqwest::Client::new();
        let shared = anonymous
            .get(c.app.url(&format!("/shared/checkin/{token}")))
            .send()
            .await
            .unwrap();
        assert_eq!(shared.status(), 200);
        let shared = shared.text().await.unwrap();
        assert!(shared.contains("Check-in: Support"));
        assert!(shared.contains("Volume spike"));
        assert!(!shared.contains("csrf"), "no forms on a shared page");
        let links = c
            .app
            .tandem
            .store
            .list_share_links(c.app.workspace)
            .await
            .unwrap();
        assert_eq!(links.len(), 1);
        let resp = c
            .app
            .client
            .post(c.app.url(&format!("/checkin/share/{}/revoke", links[0].id)))
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 303);
        let gone = anonymous
            .get(c.app.url(&format!("/shared/checkin/{token}")))
            .send()
            .await
            .unwrap();
        assert_eq!(gone.status(), 404);
        let guessed = anonymous
            .get(c.app.url("/shared/checkin/tck_guess"))
            .send()
            .await
            .unwrap();
        assert_eq!(guessed.status(), 404);
    }
}

#[tokio::test]
async fn the_checkin_page_in_a_browser() {
    use fantoccini::Locator;
    use tandem_test_support::Browser;

    let Some(backend) = backends().first().copied() else {
        return;
    };
    let c = Ctx::start(backend).await;
    spike(&c).await;
    c.app.user("bob@acme.io", Role::Builder).await;
    let b = Browser::start(1280, 900).await;
    b.sign_in(&c.app, "bob@acme.io").await;
    b.client
        .goto(&c.app.url("/checkin?automation=support"))
        .await
        .unwrap();
    let headline = b
        .client
        .find(Locator::Css("#headline"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(headline.contains("target met"), "{headline}");
    let charts = b.client.find_all(Locator::Css("figure.chart svg")).await.unwrap();
    assert_eq!(charts.len(), 6);
    let notes = b
        .client
        .find(Locator::Css("#notes"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(notes.contains("Volume spike: 30 items in"), "{notes}");

    // The champion adds a note from the page; it appears in the list and on the charts.
    let body = b
        .client
        .find(Locator::Css("#note-form input[name=body]"))
        .await
        .unwrap();
    body.send_keys("Month-end rush").await.unwrap();
    b.client
        .find(Locator::Css("#note-form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let client = b.client.clone();
    tandem_test_support::eventually("the note on the page", Duration::from_secs(10), || {
        let client = client.clone();
        async move {
            let notes = client
                .find(Locator::Css("#notes"))
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            notes.contains("Month-end rush").then_some(())
        }
    })
    .await;
    let svg = b
        .client
        .find(Locator::Css("figure.chart"))
        .await
        .unwrap()
        .html(false)
        .await
        .unwrap();
    assert!(
        svg.contains("Volume spike") && svg.contains(">Note<"),
        "markers on the chart: {svg}"
    );

    // Share, then open the link as a stranger would: no navigation, no forms.
    b.client
        .find(Locator::Css("#share-form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let url = b
        .wait_for("#share-url a")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    b.client.goto(&url).await.unwrap();
    b.wait_for("h1").await;
    assert!(
        b.client
            .find_all(Locator::Css("header.top, form"))
            .await
            .unwrap()
            .is_empty()
    );
    let title = b
        .client
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(title.starts_with("Check-in: Support"), "{title}");

    // The printable page carries the same report without the navigation.
    b.client
        .goto(&c.app.url("/checkin?automation=support&print=1"))
        .await
        .unwrap();
    assert!(
        b.client
            .find_all(Locator::Css("header.top"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        b.client
            .find_all(Locator::Css("figure.chart svg"))
            .await
            .unwrap()
            .len(),
        6
    );
    if let Ok(dir) = std::env::var("TANDEM_SCREENSHOTS") {
        let png = b.client.screenshot().await.unwrap();
        std::fs::write(std::path::Path::new(&dir).join("checkin.png"), png).unwrap();
    }
}

/// Two reference weeks of clear items, then a week like them, then a week of items the
/// automation is unsure of: only the last is drift, and only it raises the alarm.
#[tokio::test]
async fn drift_fires_on_a_shifted_stream_and_stays_quiet_on_an_unshifted_one() {
    for backend in backends() {
        let hook = tandem_test_support::Receiver::start().await;
        let def = format!(
            "{DEFINITION}\n[[review.notify]]\ntype = \"slack\"\nurl = \"{}\"\n",
            hook.url
        );
        let c = Ctx::start_with(backend, &def).await;
        for week in 0..3 {
            c.clock.set(WEEK1 + week * WEEK + 9 * HOUR);
            let texts: Vec<String> = (0..25).map(|i| single(week as usize * 100 + i)).collect();
            c.submit(&texts).await;
        }
        // Week 4 closed: the unshifted week 3 is checked, and it is quiet.
        c.clock.set(WEEK1 + 3 * WEEK + HOUR);
        let a = c
            .app
            .tandem
            .store
            .automation_by_slug(c.app.workspace, "support")
            .await
            .unwrap()
            .unwrap();
        let checks = c.app.tandem.check_drift(c.app.workspace, &a).await.unwrap();
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].week_start, WEEK1 + 2 * WEEK);
        assert!(!checks[0].drifted, "same stream: PSI {}", checks[0].psi);
        assert!(checks[0].psi < 0.1, "PSI {}", checks[0].psi);
        // Week 4: items with two addresses or none; the confidences fall.
        c.clock.set(WEEK1 + 3 * WEEK + 9 * HOUR);
        let mut texts: Vec<String> = (0..13).map(|i| ambiguous(300 + i)).collect();
        texts.extend((0..12).map(|i| missing(300 + i)));
        c.submit(&texts).await;
        c.clock.set(WEEK1 + 4 * WEEK + HOUR);
        let checks = c.app.tandem.check_drift(c.app.workspace, &a).await.unwrap();
        assert_eq!(checks.len(), 1);
        assert!(checks[0].drifted, "shifted stream: PSI {}", checks[0].psi);
        assert!(checks[0].psi > 0.25);
        // Checked once: a second look adds nothing.
        assert!(
            c.app
                .tandem
                .check_drift(c.app.workspace, &a)
                .await
                .unwrap()
                .is_empty()
        );
        // The team heard about it, once, and the week carries a note.
        let alarms: Vec<_> = hook
            .all()
            .into_iter()
            .filter(|r| {
                r.body["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("drift detected"))
            })
            .collect();
        assert_eq!(alarms.len(), 1);
        let notes = c
            .app
            .tandem
            .store
            .notes(c.app.workspace, Some(a.id), 0, i64::MAX)
            .await
            .unwrap();
        let drift: Vec<_> = notes.iter().filter(|n| n.kind == "drift").collect();
        assert_eq!(drift.len(), 1);
        assert_eq!(drift[0].week_start, WEEK1 + 3 * WEEK);
        assert!(
            drift[0]
                .body
                .starts_with("Drift: the stream left the reliable range")
        );
        // Never in shadow: the reference is the first two weeks, and the note says so.
        assert!(
            drift[0].body.contains(
                "in the first 2 weeks (2026-01-05 to 2026-01-19; there was no shadow period to compare with)"
            ),
            "{}",
            drift[0].body
        );
    }
}

#[tokio::test]
async fn metrics_in_prometheus_text() {
    for backend in backends() {
        let c = Ctx::start(backend).await;
        c.submit(&[single(1), single(2), missing(1)]).await;
        let resp = c
            .app
            .client
            .get(c.app.url("/metrics"))
            .bearer_auth(&c.builder)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        let text = resp.text().await.unwrap();
        for line in [
            "tandem_items_received_total{automation=\"support\"} 3",
            "tandem_items{automation=\"support\",status=\"auto_accepted\"} 2",
            "tandem_items{automation=\"support\",status=\"needs_review\"} 1",
            "tandem_inbox_open 1",
            "tandem_queue_depth{kind=\"process\"} 0",
            "tandem_deliveries{status=\"delivered\"} 2",
            "tandem_processing_latency_seconds_bucket{le=\"0.1\"} 3",
            "tandem_processing_latency_seconds_count 3",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        let resp = c.app.client.get(c.app.url("/metrics")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        let (s, _) = get(&c.app, &c.reviewer, "/metrics").await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
}

/// Monday after a week of work, the scheduled digest tells the channel how the week went,
/// once, whatever the number of instances asking.
#[tokio::test]
async fn the_weekly_digest_carries_the_checkin() {
    use tandem_service::schedule::Scheduler;

    for backend in backends() {
        let hook = tandem_test_support::Receiver::start().await;
        let def = format!(
            "{DEFINITION}\n[[review.notify]]\ntype = \"slack\"\nurl = \"{}\"\n",
            hook.url
        );
        let c = Ctx::start_with(backend, &def).await;
        c.clock.set(WEEK1 + 9 * HOUR);
        let mut texts: Vec<String> = (0..8).map(single).collect();
        texts.extend((0..2).map(missing));
        let ids = c.submit(&texts).await;
        c.decide(
            WEEK1 + 10 * HOUR,
            ids[8],
            json!({ "action": "correct", "fields": { "email": "fix@example.com" }, "seconds": 60 }),
        )
        .await;
        let (s, _) = post(
            &c.app,
            &c.reviewer,
            "/api/v1/checkin/notes",
            &json!({ "automation": "support", "date": "2026-01-06", "body": "New starter on the team" }),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
        // Monday 01:00 of week 2: two instances' schedulers look; one digest goes out.
        c.clock.set(WEEK1 + WEEK + HOUR);
        let digest = || Scheduler::new(vec![Arc::new(tandem_service::measure::WeeklyDigest)]);
        digest().run_due(&c.app.tandem, "one").await.unwrap();
        digest().run_due(&c.app.tandem, "two").await.unwrap();
        let sent: Vec<String> = hook
            .all()
            .into_iter()
            .filter_map(|r| r.body["text"].as_str().map(str::to_owned))
            .filter(|t| t.contains("Check-in for Support"))
            .collect();
        assert_eq!(sent.len(), 1, "{sent:?}");
        let text = &sent[0];
        // 8 automatic + 1 corrected = 9 × 6 min = 54 min, minus 1 min of review = 53 min.
        for line in [
            "Check-in for Support, week of 2026-01-05: target missed: 0.9 h recovered against 1 h.",
            "Items in: 10 of 20 designed (50%)",
            "Handled automatically: 80%",
            "Reviewed: 1 (1 corrected, 0 rejected); escaped errors: 0",
            "Net hours recovered: 0.9 h; cumulative 0.9 h",
            "Open at the week's end: 1, the oldest waiting 159 h",
            "Note: New starter on the team",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        assert!(
            text.contains(&format!("<{}/checkin?automation=support|open>", c.app.url)),
            "{text}"
        );
    }
}

/// "This looks wrong" from the inbox's endpoint and the measurement's escaped error are one
/// report: either one sends the item back to the inbox and counts once in the week's
/// escaped errors, and the other endpoint then refuses the same item.
#[tokio::test]
async fn a_looks_wrong_report_is_the_weeks_escaped_error() {
    for backend in backends() {
        let c = Ctx::start(backend).await;
        c.clock.set(WEEK1 + 9 * HOUR);
        let ids = c.submit(&[single(1), single(2), single(3)]).await;
        c.clock.set(WEEK1 + DAY);
        let (s, body) = post(
            &c.app,
            &c.reviewer,
            &format!("/api/v1/items/{}/wrong", ids[0]),
            &json!({ "reason": "that is the sender, not the customer" }),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(c.status(ids[0]).await, "needs_review");
        let (s, _) = c.escaped(ids[0], &json!({ "note": "again" })).await;
        assert_eq!(s, StatusCode::CONFLICT, "one report per result");
        // The other way round: /escaped, then /wrong refuses.
        let (s, _) = c.escaped(ids[1], &json!({ "note": "wrong order number" })).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _) = post(
            &c.app,
            &c.reviewer,
            &format!("/api/v1/items/{}/wrong", ids[1]),
            &json!({ "reason": "again" }),
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT);
        // Week 1 by hand: 3 processed, all 3 accepted automatically (two reported since),
        // 2 escaped errors, both back in the inbox at the week's end.
        let week = &c.weekly("automation=support&weeks=1").await["weeks"][0];
        assert_eq!(week["auto_accepted"], 3, "{week}");
        assert_eq!(week["escaped"], 2, "{week}");
        assert_eq!(week["open_at_end"], 2, "{week}");
        close(&week["share_automatic"], 1.0, "share automatic");
        // Both reports are in the inbox's list of escaped errors, with who and why.
        let (s, body) = get(&c.app, &c.builder, "/api/v1/escaped-errors").await;
        assert_eq!(s, StatusCode::OK);
        let list = body["escaped_errors"].as_array().unwrap();
        assert_eq!(list.len(), 2, "{body}");
        assert_eq!(list[0]["reason"], "that is the sender, not the customer");
        assert_eq!(list[1]["reason"], "wrong order number");
    }
}

/// The reference is the shadow period from the stage history, not the first weeks: live in
/// week 1 on a stream the automation is unsure of, shadow in weeks 2 and 3 on clear items,
/// live again from week 4. Week 4 is like the shadow weeks (against the first two weeks,
/// half of them unsure, it would look like drift): quiet. Week 5 is unsure again: drift,
/// with a note that names the shadow period.
#[tokio::test]
async fn drift_is_measured_against_the_shadow_period() {
    for backend in backends() {
        let c = Ctx::start(backend).await;
        let admin = c.app.token("ada@acme.io", Role::Admin).await;
        let unsure = |week: usize| -> Vec<String> {
            let mut t: Vec<String> = (0..13).map(|i| ambiguous(week * 100 + i)).collect();
            t.extend((0..12).map(|i| missing(week * 100 + i)));
            t
        };
        let clear = |week: usize| -> Vec<String> { (0..25).map(|i| single(week * 100 + i)).collect() };
        c.clock.set(WEEK1 + 9 * HOUR);
        c.submit(&unsure(0)).await;
        c.clock.set(WEEK1 + WEEK);
        let (s, body) = post(
            &c.app,
            &c.builder,
            "/api/v1/automations/support/stage",
            &json!({ "stage": "shadow" }),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        for week in 1..3 {
            c.clock.set(WEEK1 + week as i64 * WEEK + 9 * HOUR);
            c.submit(&clear(week)).await;
        }
        c.clock.set(WEEK1 + 3 * WEEK);
        let (s, body) = post(
            &c.app,
            &admin,
            "/api/v1/automations/support/stage",
            &json!({ "stage": "live", "force": true, "reason": "drift test" }),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        c.clock.set(WEEK1 + 3 * WEEK + 9 * HOUR);
        c.submit(&clear(3)).await;

        let a = c
            .app
            .tandem
            .store
            .automation_by_slug(c.app.workspace, "support")
            .await
            .unwrap()
            .unwrap();
        let reference = c
            .app
            .tandem
            .drift_reference(c.app.workspace, &a)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(reference.kind, tandem_service::measure::ReferenceKind::Shadow);
        assert_eq!((reference.from, reference.to), (WEEK1 + WEEK, WEEK1 + 3 * WEEK));

        // Week 4 closed: checked against the shadow weeks, the first after them; quiet.
        c.clock.set(WEEK1 + 4 * WEEK + HOUR);
        let checks = c.app.tandem.check_drift(c.app.workspace, &a).await.unwrap();
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].week_start, WEEK1 + 3 * WEEK);
        assert!(!checks[0].drifted, "like the shadow weeks: PSI {}", checks[0].psi);
        assert!(checks[0].psi < 0.1, "PSI {}", checks[0].psi);
        let detail: Value = serde_json::from_str(&checks[0].detail).unwrap();
        assert_eq!(detail["reference_period"], "shadow");
        // The first two weeks, half unsure, would have called the same week drift.
        let first_weeks = tandem_service::measure::distribution(
            &c.app
                .tandem
                .store
                .confidences(c.app.workspace, a.id, WEEK1, WEEK1 + 2 * WEEK)
                .await
                .unwrap(),
        );
        let week4 = tandem_service::measure::distribution(
            &c.app
                .tandem
                .store
                .confidences(c.app.workspace, a.id, WEEK1 + 3 * WEEK, WEEK1 + 4 * WEEK)
                .await
                .unwrap(),
        );
        assert!(
            tandem_service::measure::psi(&first_weeks, &week4) > tandem_service::measure::PSI_DRIFT,
            "the test must tell the two references apart"
        );

        // Week 5: unsure items again; drift, and the note names the shadow period.
        c.clock.set(WEEK1 + 4 * WEEK + 9 * HOUR);
        c.submit(&unsure(4)).await;
        c.clock.set(WEEK1 + 5 * WEEK + HOUR);
        let checks = c.app.tandem.check_drift(c.app.workspace, &a).await.unwrap();
        assert_eq!(checks.len(), 1);
        assert!(checks[0].drifted, "shifted stream: PSI {}", checks[0].psi);
        let notes = c
            .app
            .tandem
            .store
            .notes(c.app.workspace, Some(a.id), 0, i64::MAX)
            .await
            .unwrap();
        let drift: Vec<_> = notes.iter().filter(|n| n.kind == "drift").collect();
        assert_eq!(drift.len(), 1);
        assert!(
            drift[0]
                .body
                .contains("in the shadow period (2026-01-12 to 2026-01-26)"),
            "{}",
            drift[0].body
        );
    }
}
