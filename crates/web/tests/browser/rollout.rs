//! Going live in a real browser: the gate refuses while the champion has not signed off,
//! the champion signs off, and the automation goes live.

use fantoccini::Locator;
use tandem_domain::{Decision, Role};
use tandem_service::auth::Actor;
use tandem_service::automations::TrainingFiles;
use tandem_test_support::decision::approve;
use tandem_test_support::{Browser, TestApp, backends};

use super::screenshot;

const SHADOW: &str = r#"
name = "Support"
slug = "support"

[[fields]]
name = "email"
type = "email"
required = true
threshold = 0.5

[[destinations]]
type = "jsonl"
path = "out/support.jsonl"

[baseline]
weekly_volume = 100

[rollout]
start = "shadow"

[gate]
min_shadow_decided = 2
team_hours_per_week = 5
"#;

async fn click(b: &Browser, css: &str) {
    b.client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_champion_signs_off_and_the_automation_goes_live() {
    let app = TestApp::start(backends()[0]).await;
    app.apply(SHADOW, TrainingFiles::default()).await;
    let bea = app.user("bea@acme.io", Role::Builder).await;
    let actor = Actor { user: bea };
    let ids = app
        .submit_texts(&actor, "support", &["a@x.io wrote", "b@y.io wrote"])
        .await;
    for id in &ids {
        app.tandem
            .decide(
                &actor,
                *id,
                Decision {
                    seconds: Some(30.0),
                    ..approve()
                },
            )
            .await
            .unwrap();
    }
    app.tandem
        .set_champion(&actor, "support", Some("bea@acme.io"))
        .await
        .unwrap();

    let b = Browser::start(1280, 900).await;
    b.sign_in(&app, "bea@acme.io").await;
    b.client
        .goto(&app.url("/automations/support/rollout"))
        .await
        .unwrap();
    assert_eq!(b.text("#stage").await, "shadow");
    assert_eq!(b.text("#gate-state").await, "not yet");
    assert!(
        b.text("[data-check='sign_off']")
            .await
            .contains("has not signed off version 1")
    );

    // The gate refuses while the sign-off is missing, and says why.
    click(&b, "#to-live").await;
    let error = b.text("#error").await;
    assert!(error.contains("the readiness gate is not green"), "{error}");
    assert!(error.contains("Champion's sign-off"), "{error}");
    assert_eq!(b.text("#stage").await, "shadow");

    b.client
        .find(Locator::Css("#sign-off-note"))
        .await
        .unwrap()
        .send_keys("the team is ready")
        .await
        .unwrap();
    click(&b, "#sign-off").await;
    b.wait_for_path("/automations/support/rollout").await;
    b.wait_for_text("#gate-state", "green").await;
    screenshot(&b, "rollout.png").await;

    b.client
        .find(Locator::Css("#reason-live"))
        .await
        .unwrap()
        .send_keys("evidence is in")
        .await
        .unwrap();
    click(&b, "#to-live").await;
    b.wait_for_path("/automations/support/rollout").await;
    b.wait_for_text("#stage", "live").await;
    let history = b.text("#events").await;
    assert!(
        history.contains("Moved from shadow to live (version 1). Reason: “evidence is in”."),
        "the history is in words: {history}"
    );
    assert!(history.contains("Signed off version 1 going live."), "{history}");
    assert!(!history.contains('{'), "no JSON: {history}");
    b.close().await;

    let automation = app
        .tandem
        .store
        .automation_by_slug(app.workspace, "support")
        .await
        .unwrap()
        .unwrap();
    let st = app
        .tandem
        .store
        .rollout_state(app.workspace, automation.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(st.stage, tandem_domain::Stage::Live);
}
