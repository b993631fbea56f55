//! The readiness gate weighs only the decisions on the version it gates: shadow decisions
//! on an older version would change its verdict both ways here (enough items, but a field
//! people corrected every time), so counting them would be caught.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tandem_domain::Role;
use tandem_service::automations::TrainingFiles;
use tandem_test_support::{Receiver, TestApp, backends};

use super::{call, decide, definition, rollout, submit};

/// The gate needs three decided shadow items with 80% agreement per field; only the
/// version number of `min_shadow_decided` differs, so the two versions extract alike.
fn shadow_def(receiver: &str, team_hours: u32) -> String {
    definition(
        receiver,
        "Order",
        &format!(
            r#"
[rollout]
start = "shadow"

[gate]
min_shadow_decided = 3
min_field_agreement = 0.8
team_hours_per_week = {team_hours}
"#
        ),
    )
}

fn unmet(rollout: &Value) -> Vec<String> {
    rollout["gate"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["key"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_gate_counts_only_decisions_on_the_version_it_gates() {
    for backend in backends() {
        let app = TestApp::start(backend).await;
        let receiver = Receiver::start().await;
        app.apply(&shadow_def(&receiver.url, 1), TrainingFiles::default())
            .await;
        let builder = app.token("builder@acme.io", Role::Builder).await;
        let reviewer = app.token("rita@acme.io", Role::Reviewer).await;

        // Version 1: four items, the email corrected on every one.
        let v1 = submit(
            &app,
            &builder,
            &[
                "From ada@example.com\nOrder: AB-1234",
                "From bob@example.com\nOrder: CD-5678",
                "From cy@example.com\nOrder: EF-9012",
                "From dee@example.com\nOrder: GH-3456",
            ],
        )
        .await;
        app.drain().await;
        for (n, id) in v1.iter().enumerate() {
            decide(
                &app,
                &reviewer,
                *id,
                json!({ "action": "correct", "fields": { "email": format!("fixed{n}@example.com") } }),
            )
            .await;
        }
        let r = rollout(&app, &builder).await;
        assert_eq!(r["version"], 1);
        assert_eq!(r["shadow"]["decided"], 4, "{r}");
        assert_eq!(
            r["shadow"]["fields"][0],
            json!({ "name": "email", "required": true, "compared": 4, "agreed": 0 })
        );

        // Version 2 (the team's hours changed): nothing decided on it yet, so the four
        // decisions above are no evidence for it, although they would meet the count.
        app.apply(&shadow_def(&receiver.url, 2), TrainingFiles::default())
            .await;
        let r = rollout(&app, &builder).await;
        assert_eq!(r["version"], 2, "{r}");
        assert_eq!(r["stage"], "shadow", "a new version keeps the stage");
        assert_eq!(r["shadow"]["decided"], 0, "{r}");
        let decided = r["gate"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == "shadow_decided")
            .unwrap()
            .clone();
        assert_eq!(decided["passed"], false, "{decided}");
        assert_eq!(decided["detail"], "0 decided on version 2 of 3 needed");

        // Three items on version 2, each approved as the automation read it: 3 of 3 agree.
        // Counted with version 1's, email would agree 3 of 7 (43%) and the gate fail.
        let v2 = submit(
            &app,
            &builder,
            &[
                "From eve@example.com\nOrder: IJ-7890",
                "From fay@example.com\nOrder: KL-1111",
                "From gus@example.com\nOrder: MN-2222",
            ],
        )
        .await;
        app.drain().await;
        for id in &v2 {
            assert_eq!(super::item(&app, &builder, *id).await["version"], 2);
            decide(&app, &reviewer, *id, json!({ "action": "approve" })).await;
        }
        let r = rollout(&app, &builder).await;
        assert_eq!(r["shadow"]["decided"], 3, "{r}");
        assert_eq!(
            r["shadow"]["fields"][0],
            json!({ "name": "email", "required": true, "compared": 3, "agreed": 3 })
        );
        assert_eq!(unmet(&r), ["sign_off"], "{r}");

        // Rolling back to version 1 gates version 1 again, on its own evidence.
        let (status, body) = call(
            &app,
            &builder,
            "POST",
            "/api/v1/automations/support/versions/1/activate",
            Some(json!({ "reason": "compare" })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let r = rollout(&app, &builder).await;
        assert_eq!(r["shadow"]["decided"], 4, "{r}");
        assert_eq!(unmet(&r), ["agreement.email", "sign_off"], "{r}");
    }
}
