//! A threshold candidate goes live from the rollout page: the page shows the waiting
//! version, what its threshold change was and its own readiness gate; the champion signs
//! it off there; a builder's "Make live" is refused while the gate is not green, and an
//! admin's goes through only with a reason, logged.

use reqwest::StatusCode;
use serde_json::json;
use tandem_domain::Role;
use tandem_test_support::backends;

use super::{decide, rollout, set_champion, set_threshold, start_support, submit};

/// The page's candidate section.
fn candidate(html: &str) -> Option<String> {
    let at = html.find("id=\"candidate\"")?;
    Some(html[at..].split("</section>").next().unwrap().to_owned())
}

#[tokio::test]
async fn the_champion_signs_a_threshold_candidate_off_from_the_rollout_page() {
    for backend in backends() {
        let (app, _receiver) = start_support(backend, "").await;
        let builder = app.token("builder@acme.io", Role::Builder).await;
        let rita = app.token("rita@acme.io", Role::Reviewer).await;
        app.token("ada@acme.io", Role::Admin).await;
        set_champion(&app, &builder, "rita@acme.io").await;
        let ids = submit(
            &app,
            &builder,
            &[
                "From a@x.io or b@x.io\nOrder: AB-0001",
                "From e@x.io\nno order here",
            ],
        )
        .await;
        app.drain().await;
        decide(&app, &rita, ids[0], json!({ "action": "approve" })).await;
        decide(
            &app,
            &rita,
            ids[1],
            json!({ "action": "correct", "fields": { "order": "AB-0003" } }),
        )
        .await;
        let page = "/automations/support/rollout";
        app.login("rita@acme.io").await;
        assert!(candidate(&app.page(page).await).is_none(), "nothing waits yet");

        // A threshold change on the live automation makes version 2 a candidate.
        let (status, body) = set_threshold(&app, &builder, "email", 0.97).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let html = app.page(page).await;
        let c = candidate(&html).unwrap_or_else(|| panic!("the candidate is on the page: {html}"));
        assert!(c.contains("Version 2 waits to go live"), "{c}");
        assert!(
            c.contains("email&#39;s threshold moved from 0.5 to 0.97")
                || c.contains("email's threshold moved from 0.5 to 0.97"),
            "{c}"
        );
        assert!(c.contains("data-check=\"sign_off\""), "its own gate: {c}");
        assert!(
            c.contains("id=\"sign-off-candidate\""),
            "the champion's button: {c}"
        );
        assert!(
            !c.contains("id=\"activate-candidate\""),
            "a reviewer cannot activate: {c}"
        );

        // The champion signs version 2 off from the page (not the active version 1).
        let csrf = app.csrf().await;
        let resp = app
            .post_form(
                &format!("{page}/sign-off"),
                &[
                    ("csrf", csrf.as_str()),
                    ("version", "2"),
                    ("note", "checked the curve"),
                ],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let r = rollout(&app, &builder).await;
        assert_eq!(r["version"], 1, "still version 1 live: {r}");
        assert_eq!(r["signed_off_version"], 2, "{r}");
        let c = candidate(&app.page(page).await).unwrap();
        assert!(c.contains("You signed version 2 off"), "{c}");
        assert!(
            c.contains("class=\"ok\" data-check=\"sign_off\""),
            "the candidate's sign-off check passes: {c}"
        );

        // A builder's "Make version 2 live" is refused while its gate is not green.
        app.login("builder@acme.io").await;
        let html = app.page(page).await;
        let c = candidate(&html).unwrap();
        assert!(c.contains("id=\"activate-candidate\""), "{c}");
        let csrf = app.csrf().await;
        let activate = "/automations/support/versions/2/activate";
        let resp = app
            .post_form(activate, &[("csrf", csrf.as_str()), ("reason", "looks fine")])
            .await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(resp.text().await.unwrap().contains("readiness gate is not green"));
        assert_eq!(rollout(&app, &builder).await["version"], 1);

        // An admin makes it live with a reason; the history keeps it; nothing waits now.
        app.login("ada@acme.io").await;
        let csrf = app.csrf().await;
        let resp = app
            .post_form(
                activate,
                &[("csrf", csrf.as_str()), ("reason", "month-end volume")],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let r = rollout(&app, &builder).await;
        assert_eq!(r["version"], 2, "{r}");
        assert!(
            r["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["kind"] == "forced_activation"),
            "{r}"
        );
        let html = app.page(page).await;
        assert!(candidate(&html).is_none());
        // The history says it all in words.
        let events = html
            .split("id=\"events\"")
            .nth(1)
            .unwrap()
            .split("</ul>")
            .next()
            .unwrap();
        assert!(
            events.contains("Signed off version 2 going live. Note: “checked the curve”."),
            "{events}"
        );
        assert!(
            events.contains("An admin made candidate version 2 live though its gate was not green (was version 1). Reason: “month-end volume”."),
            "{events}"
        );
        assert!(
            !events.contains("{&quot;") && !events.contains("{\""),
            "no JSON: {events}"
        );
    }
}
