//! The threshold simulator in a real browser: every point of the curve is a focusable,
//! labelled link; Enter on one (or a click) selects its threshold and shows the weekly
//! inbox volume and review hours; applying it makes a new version with that threshold.

use fantoccini::Locator;
use fantoccini::elements::Element;
use serde_json::json;
use tandem_domain::{Decision, Role};
use tandem_service::auth::Actor;
use tandem_service::automations::TrainingFiles;
use tandem_test_support::decision::{approve, correct};
use tandem_test_support::{Browser, TestApp, backends, eventually};

use super::{press, screenshot};

const SUPPORT: &str = r#"
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
weekly_volume = 300
minutes_per_item = 2

[rollout]
start = "shadow"
"#;

async fn wait_text(b: &Browser, css: &str, want: &str) {
    let client = b.client.clone();
    eventually(
        &format!("{css} to read {want}"),
        std::time::Duration::from_secs(10),
        || {
            let client = client.clone();
            async move {
                let el = client.find(Locator::Css(css)).await.ok()?;
                (el.text().await.ok()? == want).then_some(())
            }
        },
    )
    .await;
}

/// The points of the curve, with their labels.
async fn points(b: &Browser) -> Vec<(Element, String)> {
    let mut out = Vec::new();
    for p in b.client.find_all(Locator::Css("#curve a.point")).await.unwrap() {
        let label = p
            .attr("aria-label")
            .await
            .unwrap()
            .expect("every point has a label");
        out.push((p, label));
    }
    out
}

/// "Threshold 0.85: ..." -> "0.85".
fn threshold_of(label: &str) -> String {
    label
        .strip_prefix("Threshold ")
        .and_then(|r| r.split(':').next())
        .unwrap_or_else(|| panic!("unexpected label {label:?}"))
        .to_owned()
}

#[tokio::test]
async fn a_builder_picks_a_threshold_on_the_curve_and_applies_it() {
    let app = TestApp::start(backends()[0]).await;
    app.apply(SUPPORT, TrainingFiles::default()).await;
    let bea = app.user("bea@acme.io", Role::Builder).await;
    let actor = Actor { user: bea };
    // Two addresses make the e-mail unsure; people keep the first of them or correct it.
    let texts = [
        "From a@x.io",
        "From b@x.io",
        "From c@x.io or d@x.io",
        "From e@x.io or f@x.io",
        "Write to g@x.io, h@x.io or i@x.io",
    ];
    let ids = app.submit_texts(&actor, "support", &texts).await;
    // In shadow every item is decided by a person: the ground truth for the curve.
    for (n, id) in ids.iter().enumerate() {
        let decision = if n == 3 {
            correct([("email", json!("f@x.io"))])
        } else {
            approve()
        };
        app.tandem
            .decide(
                &actor,
                *id,
                Decision {
                    seconds: Some(60.0),
                    ..decision
                },
            )
            .await
            .unwrap();
    }

    let b = Browser::start(1280, 900).await;
    b.sign_in(&app, "bea@acme.io").await;
    b.client
        .goto(&app.url("/automations/support/simulate?target=email"))
        .await
        .unwrap();
    let pts = points(&b).await;
    assert!(pts.len() >= 2, "a point per distinct confidence: {}", pts.len());
    for (_, label) in &pts {
        assert!(label.contains("handled automatically"), "{label}");
    }

    // Keyboard: focus the lowest threshold's point, press Enter.
    let (first, label) = &pts[0];
    let want = threshold_of(label);
    b.client
        .execute(
            "arguments[0].focus();",
            vec![serde_json::to_value(first).unwrap()],
        )
        .await
        .unwrap();
    let focused = b.client.active_element().await.unwrap();
    assert_eq!(
        focused.attr("aria-label").await.unwrap().as_deref(),
        Some(label.as_str())
    );
    press(&b, &['\u{E007}']).await;
    b.wait_for_path("/automations/support/simulate").await;
    b.wait_for_text("#threshold", &want).await;
    let inbox = b.text("#inbox").await;
    assert!(
        inbox.starts_with("about ") && inbox.ends_with(" items a week"),
        "{inbox}"
    );
    let hours = b.text("#hours").await;
    assert!(hours.ends_with(" h a week"), "{hours}");
    let focused = b.client.active_element().await.unwrap();
    assert_eq!(
        focused.attr("id").await.unwrap().as_deref(),
        Some("result"),
        "the result is focused, so it is read out"
    );
    let current = b
        .client
        .find(Locator::Css("#curve a.point[aria-current='true']"))
        .await
        .unwrap();
    assert_eq!(
        threshold_of(&current.attr("aria-label").await.unwrap().unwrap()),
        want
    );

    // Mouse: click the highest threshold that still automates something.
    let pts = points(&b).await;
    let (last, label) = pts
        .iter()
        .rev()
        .find(|(_, l)| !l.contains(": 0% handled"))
        .unwrap();
    let want = threshold_of(label);
    assert_ne!(threshold_of(&pts[0].1), want, "another point than before");
    last.click().await.unwrap();
    wait_text(&b, "#threshold", &want).await;
    screenshot(&b, "simulate.png").await;

    // Applying makes a new version with that threshold.
    b.client
        .find(Locator::Css("#apply"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_for_path("/automations/support/rollout").await;
    b.close().await;
    let (a, c) = app.tandem.active(app.workspace, "support").await.unwrap();
    assert_eq!(c.version.number, 2, "{a:?}");
    let applied = c.def.field("email").unwrap().threshold;
    assert!(
        (applied - want.parse::<f64>().unwrap()).abs() < 5e-5,
        "{applied} vs {want}"
    );
}
