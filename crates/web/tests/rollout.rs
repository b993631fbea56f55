//! The rollout over real HTTP, on each backend: shadow mode sends nothing (checked at a
//! local webhook receiver) and measures agreement with people (against hand-computed
//! figures); the readiness gate refuses to go live until its evidence and the champion's
//! sign-off are there; a forced go-live needs an admin and a reason and is logged; a
//! rollback restores the earlier version's outputs; the correction-rate guard pauses
//! automatic acceptance; edge cases are proposed, curated and run as a suite.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tandem_domain::Role;
use tandem_service::automations::TrainingFiles;
use tandem_test_support::{Receiver, TestApp, TestBackend, backends};

fn definition(receiver: &str, order_label: &str, extra: &str) -> String {
    format!(
        r#"
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
labels = ["{order_label}"]
required = true
threshold = 0.5

[[destinations]]
type = "webhook"
url = "{receiver}"

[baseline]
weekly_volume = 10
minutes_per_item = 2
{extra}
"#
    )
}

const SHADOW: &str = r#"
[rollout]
start = "shadow"

[gate]
min_shadow_decided = 5
min_field_agreement = 0.8
team_hours_per_week = 1
"#;

async fn call(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let req = match method {
        "GET" => app.client.get(app.url(path)),
        _ => app.client.post(app.url(path)),
    };
    let req = match body {
        Some(b) => req.json(&b),
        None => req,
    };
    let resp = req.bearer_auth(token).send().await.expect("request");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn submit(app: &TestApp, token: &str, texts: &[&str]) -> Vec<i64> {
    let batch =
        json!({ "items": texts.iter().map(|t| json!({ "input": { "text": t } })).collect::<Vec<_>>() });
    let (status, body) = call(
        app,
        token,
        "POST",
        "/api/v1/automations/support/items/batch",
        Some(batch),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

async fn item(app: &TestApp, token: &str, id: i64) -> Value {
    call(app, token, "GET", &format!("/api/v1/items/{id}"), None)
        .await
        .1
}

async fn decide(app: &TestApp, token: &str, id: i64, body: Value) {
    let (status, b) = call(
        app,
        token,
        "POST",
        &format!("/api/v1/items/{id}/decision"),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{b}");
}

/// The automation's rollout: its stage, shadow figures, gate and history.
async fn rollout(app: &TestApp, token: &str) -> Value {
    let (status, r) = call(app, token, "GET", "/api/v1/automations/support/rollout", None).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    r
}

/// Ask to move the automation to another stage (`body` names it, and any reason or force).
async fn set_stage(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    call(
        app,
        token,
        "POST",
        "/api/v1/automations/support/stage",
        Some(body),
    )
    .await
}

/// Name the automation's champion.
async fn set_champion(app: &TestApp, token: &str, email: &str) -> (StatusCode, Value) {
    let body = json!({ "email": email });
    call(
        app,
        token,
        "POST",
        "/api/v1/automations/support/champion",
        Some(body),
    )
    .await
}

/// Set `target`'s threshold as `token`, which makes a new version when allowed.
async fn set_threshold(app: &TestApp, token: &str, target: &str, threshold: f64) -> (StatusCode, Value) {
    let body = json!({ "target": target, "threshold": threshold });
    call(
        app,
        token,
        "POST",
        "/api/v1/automations/support/thresholds",
        Some(body),
    )
    .await
}

/// Link a review session's decision (note `note`) to the version that carries it out.
async fn link_decision(app: &TestApp, token: &str, note: i64, version: i64) -> (StatusCode, Value) {
    let path = format!("/api/v1/automations/support/review-decisions/{note}/version");
    call(app, token, "POST", &path, Some(json!({ "version": version }))).await
}

/// The app with the support automation (`definition` with `extra` appended) applied, and
/// the local receiver its webhook delivers to, which the test keeps alive.
async fn start_support(backend: TestBackend, extra: &str) -> (TestApp, Receiver) {
    let app = TestApp::start(backend).await;
    let receiver = Receiver::start().await;
    app.apply(
        &definition(&receiver.url, "Order", extra),
        TrainingFiles::default(),
    )
    .await;
    (app, receiver)
}

/// The scenario the review-session tests start from: the automation live with its webhook
/// at a local receiver, a builder and a reviewer (rita), four items processed (two with one
/// order, one with two e-mails, one with no order) and rita's correction of the fourth, so
/// the sample has a disagreement to find.
struct OneCorrected {
    app: TestApp,
    /// Kept alive for the test's length: the definition delivers to it.
    _receiver: Receiver,
    builder: String,
    rita: String,
    ids: Vec<i64>,
}

async fn one_corrected(backend: TestBackend) -> OneCorrected {
    let (app, receiver) = start_support(backend, "").await;
    let builder = app.token("builder@acme.io", Role::Builder).await;
    let rita = app.token("rita@acme.io", Role::Reviewer).await;
    let ids = submit(
        &app,
        &builder,
        &[
            "From a@x.io\nOrder: AB-0001",
            "From b@x.io\nOrder: AB-0002",
            "From c@x.io or d@x.io\nOrder: AB-0003",
            "From e@x.io\nnothing",
        ],
    )
    .await;
    app.drain().await;
    decide(
        &app,
        &rita,
        ids[3],
        json!({ "action": "correct", "fields": { "order": "AB-0004" } }),
    )
    .await;
    OneCorrected {
        app,
        _receiver: receiver,
        builder,
        rita,
        ids,
    }
}

/// Start a review session over the API as `token`; the session and its sample as
/// (item id, stratum).
async fn start_session(app: &TestApp, token: &str, title: &str) -> (Value, Vec<(i64, String)>) {
    let (status, s) = call(
        app,
        token,
        "POST",
        "/api/v1/automations/support/review-sessions",
        Some(json!({ "title": title })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    let sampled = s["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["item_id"].as_i64().unwrap(),
                i["stratum"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (s, sampled)
}

/// Sign rita (a reviewer) in and start a review session from the pages; the response (a
/// redirect to the session's page) and the CSRF token for the session's forms.
async fn start_session_from_page(app: &TestApp, title: &str) -> (reqwest::Response, String) {
    app.user("rita@acme.io", Role::Reviewer).await;
    app.login("rita@acme.io").await;
    let csrf = app.csrf().await;
    let resp = app
        .post_form(
            "/automations/support/review-sessions",
            &[("csrf", csrf.as_str()), ("title", title)],
        )
        .await;
    (resp, csrf)
}

#[tokio::test]
async fn shadow_sends_nothing_measures_agreement_and_the_gate_holds_until_sign_off() {
    for backend in backends() {
        let (app, receiver) = start_support(backend, SHADOW).await;
        let builder = app.token("builder@acme.io", Role::Builder).await;
        let reviewer = app.token("rita@acme.io", Role::Reviewer).await;

        let r = rollout(&app, &builder).await;
        assert_eq!(r["stage"], "shadow", "{r}");

        let ids = submit(
            &app,
            &builder,
            &[
                "From ada@example.com\nOrder: AB-1234",
                "From bob@example.com\nOrder: CD-5678",
                "From cy@example.com\nOrder: EF-9012",
                "From dee@example.com\nOrder: GH-3456",
                "From eve@example.com\nOrder: IJ-7890",
                "buy cheap watches",
            ],
        )
        .await;
        app.drain().await;
        for id in &ids {
            let v = item(&app, &builder, *id).await;
            assert_eq!(
                v["status"], "needs_review",
                "shadow sends every item to the inbox: {v}"
            );
            assert_eq!(v["reasons"][0]["code"], "shadow_mode", "{v}");
            let words = v["reasons"][0]["message"].as_str().unwrap();
            assert!(words.starts_with("Shadow mode"), "{words}");
            assert!(
                words.contains("decided shadow items are never delivered"),
                "a reviewer knows deciding sends nothing: {words}"
            );
        }
        let (_, inbox) = call(&app, &builder, "GET", "/api/v1/items?reason=shadow_mode", None).await;
        assert_eq!(inbox["items"].as_array().unwrap().len(), 6, "{inbox}");

        // The people decide; their decisions are the ground truth.
        decide(&app, &reviewer, ids[0], json!({ "action": "approve" })).await;
        decide(&app, &reviewer, ids[1], json!({ "action": "approve" })).await;
        decide(
            &app,
            &reviewer,
            ids[2],
            json!({ "action": "correct", "fields": { "email": "cyril@example.com" } }),
        )
        .await;
        decide(
            &app,
            &reviewer,
            ids[3],
            json!({ "action": "correct", "fields": { "order": "GH-3457" } }),
        )
        .await;
        decide(&app, &reviewer, ids[4], json!({ "action": "approve" })).await;
        decide(
            &app,
            &reviewer,
            ids[5],
            json!({ "action": "reject", "reason": "spam" }),
        )
        .await;
        app.drain().await;
        assert_eq!(
            receiver.attempts(),
            0,
            "shadow mode delivers nothing, not even decided items"
        );
        let (_, deliveries) = call(&app, &builder, "GET", "/api/v1/deliveries", None).await;
        assert_eq!(
            deliveries["deliveries"].as_array().map_or(0, Vec::len),
            0,
            "{deliveries}"
        );

        // By hand: 6 decided, 1 rejected, 5 compared; email differs on item 3 and order on
        // item 4, so each field agrees 4 of 5; the engine alone would have accepted items
        // 1-5 and sent the spam to the inbox; of those 5, people accepted 3 unchanged.
        let r = rollout(&app, &builder).await;
        let sh = &r["shadow"];
        assert_eq!(sh["decided"], 6, "{sh}");
        assert_eq!(sh["rejected"], 1);
        assert_eq!(sh["would_review"], 1);
        assert_eq!(sh["would_accept"], 5);
        assert_eq!(sh["would_accept_agreed"], 3);
        assert_eq!(
            sh["fields"][0],
            json!({ "name": "email", "required": true, "compared": 5, "agreed": 4 })
        );
        assert_eq!(
            sh["fields"][1],
            json!({ "name": "order", "required": true, "compared": 5, "agreed": 4 })
        );

        // Every check but the sign-off is met: 1 in 6 would go to the inbox, 10 a week,
        // 2 minutes each = 0.06 h of the team's 1 h.
        let gate = &r["gate"];
        assert_eq!(gate["green"], false, "{gate}");
        let unmet: Vec<&str> = gate["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["passed"] == false)
            .map(|c| c["key"].as_str().unwrap())
            .collect();
        assert_eq!(unmet, ["sign_off"], "{gate}");
        let hours = gate["expected_review_hours"].as_f64().unwrap();
        assert!((hours - 10.0 / 6.0 * 2.0 / 60.0).abs() < 1e-9, "{hours}");

        // The gate refuses; a builder cannot force it.
        let (status, body) = set_stage(&app, &builder, json!({ "stage": "live" })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(
            body["error"]["details"][0]
                .as_str()
                .unwrap()
                .starts_with("Champion's sign-off"),
            "{body}"
        );
        let (status, _) = set_stage(
            &app,
            &builder,
            json!({ "stage": "live", "force": true, "reason": "hurry" }),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // Only the champion signs off.
        let (status, _) = call(
            &app,
            &reviewer,
            "POST",
            "/api/v1/automations/support/sign-off",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "no champion yet");
        let (status, body) = set_champion(&app, &builder, "rita@acme.io").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, _) = call(
            &app,
            &builder,
            "POST",
            "/api/v1/automations/support/sign-off",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a builder is not the champion");
        let (status, body) = call(
            &app,
            &reviewer,
            "POST",
            "/api/v1/automations/support/sign-off",
            Some(json!({ "note": "we are ready" })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = set_stage(&app, &builder, json!({ "stage": "live" })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["stage"], "live");

        // Live: results inside the reliable range are delivered on their own.
        let live = submit(&app, &builder, &["From fay@example.com\nOrder: KL-1111"]).await;
        app.drain().await;
        assert_eq!(item(&app, &builder, live[0]).await["status"], "auto_accepted");
        assert_eq!(receiver.delivered_items(), live);

        let r = rollout(&app, &builder).await;
        let kinds: Vec<&str> = r["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["stage", "sign_off", "champion"], "newest first: {r}");
    }
}

#[tokio::test]
async fn an_admin_can_force_go_live_with_a_reason_and_it_is_logged() {
    for backend in backends() {
        let (app, _receiver) = start_support(backend, SHADOW).await;
        let admin = app.token("ada@acme.io", Role::Admin).await;
        let (status, body) = set_stage(&app, &admin, json!({ "stage": "live", "force": true })).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "a reason is required: {body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("written reason"),
            "{body}"
        );
        let (status, body) = set_stage(&app, &admin, json!({ "stage": "nowhere" })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (status, body) = set_stage(
            &app,
            &admin,
            json!({ "stage": "live", "force": true, "reason": "the old system is switched off tonight" }),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let r = rollout(&app, &admin).await;
        let e = &r["events"][0];
        assert_eq!(e["kind"], "forced_live", "{r}");
        assert_eq!(e["actor_name"], "ada");
        let detail: Value = serde_json::from_str(e["detail"].as_str().unwrap()).unwrap();
        assert_eq!(detail["reason"], "the old system is switched off tonight");
        assert!(detail["unmet"].as_array().unwrap().len() >= 2, "{detail}");
        // Live cannot go back to draft.
        let (status, body) = set_stage(&app, &admin, json!({ "stage": "draft" })).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("paused or shadow"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_rollback_restores_the_earlier_versions_outputs() {
    for backend in backends() {
        let (app, receiver) = start_support(backend, "").await;
        let builder = app.token("builder@acme.io", Role::Builder).await;
        let text = "From ada@example.com\nOrder: AB-1234";
        let first = submit(&app, &builder, &[text]).await[0];
        app.drain().await;
        let v1 = item(&app, &builder, first).await;
        assert_eq!(v1["version"], 1);
        assert_eq!(v1["status"], "auto_accepted");

        // Version 2 reads the order after another label: the same input now lacks it.
        app.apply(
            &definition(&receiver.url, "Reference", ""),
            TrainingFiles::default(),
        )
        .await;
        let second = submit(&app, &builder, &[text]).await[0];
        app.drain().await;
        let v2 = item(&app, &builder, second).await;
        assert_eq!(v2["version"], 2);
        assert_eq!(v2["status"], "needs_review", "{v2}");

        let (_, d) = call(
            &app,
            &builder,
            "GET",
            "/api/v1/automations/support/versions/1/diff/2",
            None,
        )
        .await;
        assert!(
            d["diff"]
                .as_str()
                .unwrap()
                .contains("-labels = [\"Order\"]\n+labels = [\"Reference\"]\n"),
            "{d}"
        );

        let (status, body) = call(
            &app,
            &builder,
            "POST",
            "/api/v1/automations/support/versions/1/activate",
            Some(json!({ "reason": "v2 misses orders" })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, vs) = call(
            &app,
            &builder,
            "GET",
            "/api/v1/automations/support/versions",
            None,
        )
        .await;
        let active: Vec<i64> = vs["versions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["active"] == true)
            .map(|v| v["number"].as_i64().unwrap())
            .collect();
        assert_eq!(active, [1]);

        let third = submit(&app, &builder, &[text]).await[0];
        app.drain().await;
        let v3 = item(&app, &builder, third).await;
        assert_eq!(v3["version"], 1, "the result names the version that made it");
        assert_eq!(v3["status"], v1["status"]);
        assert_eq!(
            v3["fields"], v1["fields"],
            "the earlier version's outputs are back"
        );

        let (status, _) = call(
            &app,
            &builder,
            "POST",
            "/api/v1/automations/support/versions/1/activate",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "already active");
        let (status, _) = call(
            &app,
            &builder,
            "POST",
            "/api/v1/automations/support/versions/9/activate",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let r = rollout(&app, &builder).await;
        assert_eq!(r["events"][0]["kind"], "rollback", "{r}");
    }
}

#[tokio::test]
async fn the_guard_pauses_automatic_acceptance_when_corrections_pile_up() {
    for backend in backends() {
        let slack = Receiver::start().await;
        let guard = format!(
            "[rollout]\nstart = \"live\"\nguard_window = 4\nguard_correction_rate = 0.5\n\n[[review.notify]]\ntype = \"slack\"\nurl = \"{}\"\n",
            slack.url
        );
        let (app, receiver) = start_support(backend, &guard).await;
        let builder = app.token("builder@acme.io", Role::Builder).await;
        let reviewer = app.token("rita@acme.io", Role::Reviewer).await;
        // No order number: each goes to the inbox and a reviewer fills it in.
        let ids = submit(&app, &builder, &["a@x.io", "b@x.io", "c@x.io", "d@x.io"]).await;
        app.drain().await;
        for (n, id) in ids.iter().enumerate() {
            let body = if n == 0 {
                json!({ "action": "reject", "reason": "not an order" })
            } else {
                json!({ "action": "correct", "fields": { "order": format!("AB-000{n}") } })
            };
            decide(&app, &reviewer, *id, body).await;
            let r = rollout(&app, &builder).await;
            let expected = if n < 3 { "live" } else { "paused" };
            assert_eq!(r["stage"], expected, "after {} decisions: {r}", n + 1);
        }
        // The team is told in its channel, with a link to the rollout page.
        let told = slack.all();
        assert_eq!(told.len(), 1, "one message to the Slack webhook");
        let text = told[0].body["text"].as_str().unwrap();
        assert!(
            text.starts_with("*Support: automatic acceptance paused*"),
            "{text}"
        );
        assert!(
            text.contains("/automations/support/rollout|Open the rollout page>"),
            "{text}"
        );
        let r = rollout(&app, &builder).await;
        assert_eq!(r["events"][0]["kind"], "notified", "{r}");
        assert_eq!(r["events"][1]["kind"], "guard_paused");
        assert!(
            r["events"][1]["detail"]
                .as_str()
                .unwrap()
                .contains("3 of the last 4 reviewed items"),
            "{r}"
        );

        // Paused: a clean item still goes to the inbox, and is delivered once approved.
        let clean = submit(&app, &builder, &["From e@x.io\nOrder: ZZ-9999"]).await[0];
        app.drain().await;
        let v = item(&app, &builder, clean).await;
        assert_eq!(v["status"], "needs_review", "{v}");
        assert_eq!(v["reasons"][0]["code"], "paused");
        let delivered_before = receiver.delivered_items().len();
        decide(&app, &reviewer, clean, json!({ "action": "approve" })).await;
        app.drain().await;
        assert_eq!(
            receiver.delivered_items().len(),
            delivered_before + 1,
            "a paused automation's decisions are delivered"
        );

        let (status, body) = set_stage(
            &app,
            &builder,
            json!({ "stage": "live", "reason": "fixed the labels" }),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "resuming needs no gate: {body}");
    }
}

#[tokio::test]
async fn corrections_are_proposed_once_the_champion_curates_and_the_gate_runs_the_suite() {
    for backend in backends() {
        let gate = "[rollout]\nstart = \"shadow\"\n[gate]\nmin_shadow_decided = 0\nmin_field_agreement = 0\nteam_hours_per_week = 40\n";
        let (app, _receiver) = start_support(backend, gate).await;
        let builder = app.token("builder@acme.io", Role::Builder).await;
        let rita = app.token("rita@acme.io", Role::Reviewer).await;
        let sam = app.token("sam@acme.io", Role::Reviewer).await;
        set_champion(&app, &builder, "rita@acme.io").await;

        // The same input corrected twice is proposed once.
        let text = "From a@x.io\nOrder: AB-1234 (or AB-1235?)";
        let ids = submit(&app, &builder, &[text, text]).await;
        app.drain().await;
        for id in &ids {
            decide(
                &app,
                &sam,
                *id,
                json!({ "action": "correct", "fields": { "order": "AB-1235" } }),
            )
            .await;
        }
        let (_, cases) = call(
            &app,
            &builder,
            "GET",
            "/api/v1/automations/support/edge-cases?status=proposed",
            None,
        )
        .await;
        let proposed = cases["edge_cases"].as_array().unwrap();
        assert_eq!(proposed.len(), 1, "deduplicated: {cases}");
        assert_eq!(proposed[0]["origin"], "correction");
        assert_eq!(proposed[0]["added_by_name"], "sam");
        let correction_case = proposed[0]["id"].as_i64().unwrap();

        // "Add as edge case" from an item needs a note; a reviewer's case is a proposal.
        let (status, body) = call(
            &app,
            &sam,
            "POST",
            &format!("/api/v1/items/{}/edge-case", ids[0]),
            Some(json!({})),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let other = submit(&app, &builder, &["From b@x.io\nOrder: CD-0001"]).await[0];
        app.drain().await;
        let (status, body) = call(&app, &sam, "POST", &format!("/api/v1/items/{other}/edge-case"), Some(json!({ "expected": { "fields": { "order": "CD-0001" } }, "note": "b@x always writes the order last" }))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["edge_case"]["status"], "proposed");
        let manual_case = body["edge_case"]["id"].as_i64().unwrap();
        let (status, body) = call(
            &app,
            &sam,
            "POST",
            &format!("/api/v1/items/{other}/edge-case"),
            Some(json!({ "expected": { "fields": { "nope": "1" } }, "note": "x" })),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            body["error"]["details"][0],
            "expected.fields.nope: there is no field of that name"
        );

        // Only the champion accepts or declines.
        let decision = |id: i64| format!("/api/v1/edge-cases/{id}/decision");
        let (status, _) = call(
            &app,
            &sam,
            "POST",
            &decision(manual_case),
            Some(json!({ "accept": true })),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, body) = call(
            &app,
            &rita,
            "POST",
            &decision(manual_case),
            Some(json!({ "accept": true })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "accepted");
        let (status, body) = call(
            &app,
            &rita,
            "POST",
            &decision(correction_case),
            Some(json!({ "accept": true })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");

        // The engine reads AB-1234 where people wanted AB-1235: that accepted case fails,
        // and the gate says so.
        let (_, report) = call(&app, &builder, "POST", "/api/v1/automations/support/test", None).await;
        assert_eq!(report["failed"], 1, "{report}");
        assert_eq!(report["passed"], 1, "{report}");
        let r = rollout(&app, &builder).await;
        let check = r["gate"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == "edge_cases")
            .unwrap()
            .clone();
        assert_eq!(check["passed"], false, "{check}");
        assert_eq!(check["detail"], "1 of 2 pass on version 1");

        // Declining the failing case makes the suite green.
        call(
            &app,
            &rita,
            "POST",
            &decision(correction_case),
            Some(json!({ "accept": false })),
        )
        .await;
        call(&app, &builder, "POST", "/api/v1/automations/support/test", None).await;
        let r = rollout(&app, &builder).await;
        let check = r["gate"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == "edge_cases")
            .unwrap()
            .clone();
        assert_eq!(check["passed"], true, "{check}");
    }
}

#[tokio::test]
async fn the_simulator_applies_a_threshold_as_a_new_version_and_the_card_tells_the_story() {
    for backend in backends() {
        let card = "[card]\nwhy = \"Support spends 20 hours a week copying order numbers.\"\nasked_by = \"Maria, head of support\"\nwhen_wrong = \"Correct the order number; never guess it.\"\n";
        let (app, _receiver) = start_support(backend, card).await;
        let builder = app.token("builder@acme.io", Role::Builder).await;
        let reviewer = app.token("rita@acme.io", Role::Reviewer).await;
        set_champion(&app, &builder, "rita@acme.io").await;
        // Two e-mail addresses make the e-mail ambiguous: those go to the inbox.
        let ids = submit(
            &app,
            &builder,
            &[
                "From a@x.io or b@x.io\nOrder: AB-0001",
                "From c@x.io or d@x.io\nOrder: AB-0002",
                "From e@x.io\nno order here",
            ],
        )
        .await;
        app.drain().await;
        decide(&app, &reviewer, ids[0], json!({ "action": "approve" })).await;
        decide(
            &app,
            &reviewer,
            ids[1],
            json!({ "action": "correct", "fields": { "email": "d@x.io" } }),
        )
        .await;
        decide(
            &app,
            &reviewer,
            ids[2],
            json!({ "action": "correct", "fields": { "order": "AB-0003" } }),
        )
        .await;

        let (status, sim) = call(
            &app,
            &builder,
            "GET",
            "/api/v1/automations/support/simulate?target=email&precision=0.5",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{sim}");
        assert_eq!(sim["samples"], 3, "{sim}");
        assert!(
            sim["warning"]
                .as_str()
                .unwrap_or_default()
                .contains("rests on only 3 decided items"),
            "few items are said: {sim}"
        );
        // Three items cannot back 50% precision at 95% (that takes at least 3 all right,
        // and one of the three was corrected): nothing is proposed below the evidence.
        assert_eq!(sim["threshold"], Value::Null, "{sim}");
        assert_eq!(sim["current_threshold"], 0.5);
        let curve = sim["curve"].as_array().unwrap();
        assert!(curve.len() >= 2, "{sim}");
        assert_eq!(
            curve[0]["automation_rate"], 1.0,
            "the lowest threshold takes everything"
        );
        assert_eq!(
            curve.last().unwrap()["automation_rate"],
            0.0,
            "the highest nothing"
        );
        let (status, body) = call(
            &app,
            &builder,
            "GET",
            "/api/v1/automations/support/simulate?target=nope",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

        // The automation is live: the new version is a candidate, and version 1 runs on.
        let (status, body) = set_threshold(&app, &builder, "email", 0.97).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["version"], 2);
        assert_eq!(body["change"]["candidate"], true, "{body}");
        assert_eq!(body["change"]["active_version"], 1, "{body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("It is a candidate: version 1 stays live"),
            "{body}"
        );
        let r = rollout(&app, &builder).await;
        assert_eq!(r["version"], 1, "still version 1: {r}");
        let moved = r["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "threshold")
            .unwrap_or_else(|| panic!("the change is in the history: {r}"));
        let detail: Value = serde_json::from_str(moved["detail"].as_str().unwrap()).unwrap();
        assert_eq!(
            (
                &detail["target"],
                &detail["from"],
                &detail["to"],
                &detail["decided_items"]
            ),
            (&json!("email"), &json!(0.5), &json!(0.97), &json!(3)),
            "{detail}"
        );
        // Going live past a red gate is refused to a builder, even signed off...
        let (status, body) = call(
            &app,
            &reviewer,
            "POST",
            "/api/v1/automations/support/sign-off",
            Some(json!({ "version": 2 })),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "the champion signs off the candidate: {body}"
        );
        let (status, body) = call(
            &app,
            &builder,
            "POST",
            "/api/v1/automations/support/versions/2/activate",
            Some(json!({ "reason": "looks fine" })),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.to_string().contains("readiness gate is not green"), "{body}");
        assert_eq!(rollout(&app, &builder).await["version"], 1);
        // ...and allowed to an admin with a written reason, which the history keeps.
        let admin = app.token("ada@acme.io", Role::Admin).await;
        let (status, body) = call(
            &app,
            &admin,
            "POST",
            "/api/v1/automations/support/versions/2/activate",
            None,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "a reason is needed: {body}"
        );
        let (status, body) = call(
            &app,
            &admin,
            "POST",
            "/api/v1/automations/support/versions/2/activate",
            Some(json!({ "reason": "month-end: the team cannot absorb the ambiguous ones" })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let r = rollout(&app, &builder).await;
        assert_eq!(r["version"], 2, "{r}");
        assert!(
            r["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["kind"] == "forced_activation"
                    && e["detail"].as_str().unwrap().contains("month-end")),
            "{r}"
        );
        let (_, d) = call(
            &app,
            &builder,
            "GET",
            "/api/v1/automations/support/versions/1/diff/2",
            None,
        )
        .await;
        assert_eq!(
            d["lines"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| l["op"] != " ")
                .map(|l| format!("{}{}", l["op"].as_str().unwrap(), l["text"].as_str().unwrap()))
                .collect::<Vec<_>>(),
            ["-threshold = 0.5", "+threshold = 0.97"],
            "only the e-mail threshold changed: {d}"
        );
        let (status, _) = set_threshold(&app, &reviewer, "email", 0.9).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        let (status, c) = call(&app, &reviewer, "GET", "/api/v1/automations/support/card", None).await;
        assert_eq!(status, StatusCode::OK, "{c}");
        assert_eq!(c["why"], "Support spends 20 hours a week copying order numbers.");
        assert_eq!(c["asked_by"], "Maria, head of support");
        assert_eq!(c["champion"]["email"], "rita@acme.io");
        assert_eq!(c["version"], 2);
        assert!(
            c["reliable_range"][0]
                .as_str()
                .unwrap()
                .starts_with("email is accepted on its own from 97% confidence"),
            "{c}"
        );
        assert_eq!(c["corrections"], json!([["email", 1], ["order", 1]]), "{c}");
        assert_eq!(c["decided"], 3);
        assert_eq!(
            c["reliability"].as_array().unwrap().len(),
            6,
            "two fields of three decided items"
        );
        assert_eq!(c["when_wrong"][0], "Correct the order number; never guess it.");
        let reasons: Vec<&str> = c["review_reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[0].as_str().unwrap())
            .collect();
        assert!(
            reasons.contains(&"Several candidates") && reasons.contains(&"Required field missing"),
            "{c}"
        );

        // The pages render for a signed-in member.
        app.login("rita@acme.io").await;
        for path in [
            "/automations/support/card",
            "/automations/support/simulate?target=email&precision=0.9",
            "/automations/support/rollout",
        ] {
            let resp = app.client.get(app.url(path)).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            let html = resp.text().await.unwrap();
            assert!(html.contains("Support"), "{path}");
            if path.ends_with("/card") {
                assert!(
                    html.contains(
                        "Only 6 decided outputs: too few for a reliability diagram, which needs at least 40"
                    ) && !html.contains("id=\"reliability\""),
                    "no diagram from six outputs: {html}"
                );
                assert!(html.contains("Maria, head of support"));
            }
        }
    }
}

#[tokio::test]
async fn a_review_session_samples_by_stratum_and_links_its_decisions_to_a_version() {
    for backend in backends() {
        let OneCorrected {
            app,
            _receiver,
            builder,
            rita,
            ids,
        } = one_corrected(backend).await;
        let (s, sampled) = start_session(&app, &rita, "Friday review").await;
        assert_eq!(s["title"], "Friday review");
        assert!(sampled.contains(&(ids[3], "disagreement".to_owned())), "{s}");
        assert!(sampled.iter().any(|(_, st)| st == "high_confidence"), "{s}");
        let mut unique: Vec<i64> = sampled.iter().map(|x| x.0).collect();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), sampled.len(), "no item twice");
        let id = s["id"].as_i64().unwrap();

        let notes_path = format!("/api/v1/review-sessions/{id}/notes");
        let note = |body: Value| call(&app, &rita, "POST", &notes_path, Some(body));
        let (status, v) = note(json!({ "kind": "vote", "item_id": ids[3], "choice": "disagree", "body": "the order is on the last line" })).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        let (status, e) = note(json!({ "kind": "vote", "item_id": ids[3], "choice": "maybe" })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        let outsider = submit(&app, &builder, &["From z@x.io\nOrder: ZZ-0000"]).await[0];
        let (status, _) =
            note(json!({ "kind": "vote", "item_id": outsider + 1000, "choice": "agree" })).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "only sampled items take votes");
        let (status, d) = note(
            json!({ "kind": "decision", "choice": "threshold", "body": "raise the e-mail threshold to 0.9" }),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{d}");
        let decision = d["id"].as_i64().unwrap();

        // The decision is carried out by version 2, and linked to it.
        let (status, _) = set_threshold(&app, &builder, "email", 0.9).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _) = link_decision(&app, &rita, decision, 2).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "builders link decisions");
        let (status, l) = link_decision(&app, &builder, decision, 2).await;
        assert_eq!(status, StatusCode::OK, "{l}");
        let (_, view) = call(&app, &rita, "GET", &format!("/api/v1/review-sessions/{id}"), None).await;
        assert_eq!(view["notes"].as_array().unwrap().len(), 2, "{view}");
        assert_eq!(view["notes"][0]["user_name"], "rita");
        assert_eq!(view["decisions"][0][0]["action"], "threshold");
        assert_eq!(view["decisions"][0][1], 2, "linked to version 2: {view}");
    }
}

#[tokio::test]
async fn fields_step_from_shadow_to_suggest_to_automatic() {
    for backend in backends() {
        let modes = "[rollout]\nstart = \"live\"\n[rollout.modes]\nemail = \"suggest\"\norder = \"shadow\"\n";
        let (app, receiver) = start_support(backend, modes).await;
        let builder = app.token("builder@acme.io", Role::Builder).await;
        let rita = app.token("rita@acme.io", Role::Reviewer).await;
        let id = submit(&app, &builder, &["From a@x.io\nOrder: AB-1234"]).await[0];
        app.drain().await;
        let v = item(&app, &builder, id).await;
        assert_eq!(
            v["status"], "needs_review",
            "a live automation holds fields short of automatic: {v}"
        );
        let codes: Vec<&str> = v["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap())
            .collect();
        assert!(
            codes.contains(&"field_shadow") && codes.contains(&"field_suggest"),
            "{v}"
        );
        assert_eq!(v["fields"][0]["value"], "a@x.io", "suggest pre-fills");
        assert_eq!(v["fields"][1]["value"], Value::Null, "shadow does not: {v}");
        assert_eq!(v["fields"][1]["evidence"], json!([]), "nor hints at it");

        // Approving cannot accept the hidden value; the reviewer fills it in.
        let (status, body) = call(
            &app,
            &rita,
            "POST",
            &format!("/api/v1/items/{id}/decision"),
            Some(json!({ "action": "approve" })),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        decide(
            &app,
            &rita,
            id,
            json!({ "action": "correct", "fields": { "order": "AB-1234" } }),
        )
        .await;
        app.drain().await;
        assert_eq!(
            receiver.delivered_items(),
            [id],
            "live: the decided result is delivered"
        );
        let v = item(&app, &builder, id).await;
        assert_eq!(
            v["fields"][1]["value"], "AB-1234",
            "decided items show the automation's value again"
        );

        // Both fields automatic: the same input is accepted on its own.
        let auto =
            "[rollout]\nstart = \"live\"\n[rollout.modes]\nemail = \"automatic\"\norder = \"automatic\"\n";
        app.apply(
            &definition(&receiver.url, "Order", auto),
            TrainingFiles::default(),
        )
        .await;
        let next = submit(&app, &builder, &["From b@x.io\nOrder: AB-5678"]).await[0];
        app.drain().await;
        assert_eq!(item(&app, &builder, next).await["status"], "auto_accepted");
    }
}

#[tokio::test]
async fn a_team_runs_a_review_session_from_the_pages() {
    for backend in backends() {
        let (app, _receiver) = start_support(backend, "").await;
        let builder = app.token("builder@acme.io", Role::Builder).await;
        let ids = submit(
            &app,
            &builder,
            &["From a@x.io\nOrder: AB-0001", "From <b>b@x.io</b>\nnothing"],
        )
        .await;
        app.drain().await;
        let (resp, csrf) = start_session_from_page(&app, "Monday review").await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let page = resp.headers()["location"].to_str().unwrap().to_owned();
        assert!(page.starts_with("/review-sessions/"), "{page}");
        let notes = format!("{page}/notes");
        let item = ids[1].to_string();
        let resp = app
            .post_form(
                &notes,
                &[
                    ("csrf", csrf.as_str()),
                    ("kind", "vote"),
                    ("item_id", item.as_str()),
                    ("choice", "disagree"),
                    ("body", "no order at all"),
                ],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let resp = app
            .post_form(
                &notes,
                &[
                    ("csrf", csrf.as_str()),
                    ("kind", "decision"),
                    ("choice", "rule"),
                    ("body", ""),
                ],
            )
            .await;
        assert_eq!(
            resp.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "a decision says what was decided"
        );
        assert!(
            resp.text()
                .await
                .unwrap()
                .contains("decision: say what was decided")
        );
        let html = app.page(&page).await;
        assert!(html.contains("Monday review"));
        assert!(html.contains("rita: disagree (no order at all)"), "{html}");
        assert!(
            html.contains("b@x.io") && !html.contains("<b>b@x.io</b>"),
            "item text is escaped"
        );
        let rollout = app.page("/automations/support/rollout").await;
        assert!(
            rollout.contains("Monday review"),
            "the rollout page lists the session"
        );
    }
}

#[path = "rollout/gate_versions.rs"]
mod gate_versions;

#[path = "rollout/session_close.rs"]
mod session_close;

#[path = "rollout/edge_cases.rs"]
mod edge_cases;

#[path = "rollout/candidate.rs"]
mod candidate;
