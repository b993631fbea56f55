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
use tandem_test_support::{Receiver, TestApp, backends};

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

#[tokio::test]
async fn shadow_sends_nothing_measures_agreement_and_the_gate_holds_until_sign_off() {
    for backend in backends() {
        let app = TestApp::start(backend).await;
        let receiver = Receiver::start().await;
        app.apply(
            &definition(&receiver.url, "Order", SHADOW),
            TrainingFiles::default(),
        )
        .await;
        let builder = app.token("builder@acme.io", Role::Builder).await;
        let reviewer = app.token("rita@acme.io", Role::Reviewer).await;

        let (_, r) = call(&app, &builder, "GET", "/api/v1/automations/support/rollout", None).await;
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
            assert!(
                v["reasons"][0]["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("Shadow mode")
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
        let (_, r) = call(&app, &builder, "GET", "/api/v1/automations/support/rollout", None).await;
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
        let (status, body) = call(
            &app,
            &builder,
            "POST",
            "/api/v1/automations/support/stage",
            Some(json!({ "stage": "live" })),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(
            body["error"]["details"][0]
                .as_str()
                .unwrap()
                .starts_with("Champion's sign-off"),
            "{body}"
        );
        let (status, _) = call(
            &app,
            &builder,
            "POST",
            "/api/v1/automations/support/stage",
            Some(json!({ "stage": "live", "force": true, "reason": "hurry" })),
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
        let (status, body) = call(
            &app,
            &builder,
            "POST",
            "/api/v1/automations/support/champion",
            Some(json!({ "email": "rita@acme.io" })),
        )
        .await;
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
        let (status, body) = call(
            &app,
            &builder,
            "POST",
            "/api/v1/automations/support/stage",
            Some(json!({ "stage": "live" })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["stage"], "live");

        // Live: results inside the reliable range are delivered on their own.
        let live = submit(&app, &builder, &["From fay@example.com\nOrder: KL-1111"]).await;
        app.drain().await;
        assert_eq!(item(&app, &builder, live[0]).await["status"], "auto_accepted");
        assert_eq!(receiver.delivered_items(), live);

        let (_, r) = call(&app, &builder, "GET", "/api/v1/automations/support/rollout", None).await;
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
        let app = TestApp::start(backend).await;
        let receiver = Receiver::start().await;
        app.apply(
            &definition(&receiver.url, "Order", SHADOW),
            TrainingFiles::default(),
        )
        .await;
        let admin = app.token("ada@acme.io", Role::Admin).await;
        let (status, body) = call(
            &app,
            &admin,
            "POST",
            "/api/v1/automations/support/stage",
            Some(json!({ "stage": "live", "force": true })),
        )
        .await;
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
        let (status, body) = call(
            &app,
            &admin,
            "POST",
            "/api/v1/automations/support/stage",
            Some(json!({ "stage": "nowhere" })),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (status, body) = call(
            &app,
            &admin,
            "POST",
            "/api/v1/automations/support/stage",
            Some(
                json!({ "stage": "live", "force": true, "reason": "the old system is switched off tonight" }),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, r) = call(&app, &admin, "GET", "/api/v1/automations/support/rollout", None).await;
        let e = &r["events"][0];
        assert_eq!(e["kind"], "forced_live", "{r}");
        assert_eq!(e["actor_name"], "ada");
        let detail: Value = serde_json::from_str(e["detail"].as_str().unwrap()).unwrap();
        assert_eq!(detail["reason"], "the old system is switched off tonight");
        assert!(detail["unmet"].as_array().unwrap().len() >= 2, "{detail}");
        // Live cannot go back to draft.
        let (status, body) = call(
            &app,
            &admin,
            "POST",
            "/api/v1/automations/support/stage",
            Some(json!({ "stage": "draft" })),
        )
        .await;
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
        let app = TestApp::start(backend).await;
        let receiver = Receiver::start().await;
        app.apply(&definition(&receiver.url, "Order", ""), TrainingFiles::default())
            .await;
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
        let (_, r) = call(&app, &builder, "GET", "/api/v1/automations/support/rollout", None).await;
        assert_eq!(r["events"][0]["kind"], "rollback", "{r}");
    }
}

#[tokio::test]
async fn the_guard_pauses_automatic_acceptance_when_corrections_pile_up() {
    for backend in backends() {
        let app = TestApp::start(backend).await;
        let receiver = Receiver::start().await;
        let guard = "[rollout]\nstart = \"live\"\nguard_window = 4\nguard_correction_rate = 0.5\n";
        app.apply(
            &definition(&receiver.url, "Order", guard),
            TrainingFiles::default(),
        )
        .await;
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
            let (_, r) = call(&app, &builder, "GET", "/api/v1/automations/support/rollout", None).await;
            let expected = if n < 3 { "live" } else { "paused" };
            assert_eq!(r["stage"], expected, "after {} decisions: {r}", n + 1);
        }
        let (_, r) = call(&app, &builder, "GET", "/api/v1/automations/support/rollout", None).await;
        assert_eq!(r["events"][0]["kind"], "guard_paused");
        assert!(
            r["events"][0]["detail"]
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

        let (status, body) = call(
            &app,
            &builder,
            "POST",
            "/api/v1/automations/support/stage",
            Some(json!({ "stage": "live", "reason": "fixed the labels" })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "resuming needs no gate: {body}");
    }
}
