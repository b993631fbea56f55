//! What a signed-in person can get at that is not theirs to see: a saved definition's
//! secrets through the version diff (API and rollout page), and another host through a
//! crafted `next` after signing in.

use reqwest::StatusCode;
use tandem_domain::Role;
use tandem_service::automations::TrainingFiles;
use tandem_test_support::{PASSWORD, TestApp, backends};

use super::{definition, setup};

/// Sign `email` in on the app's own client; the response to the login form.
async fn sign_in(app: &TestApp, email: &str, next: &str) -> reqwest::Response {
    app.post_login(
        &app.client,
        &[("email", email), ("password", PASSWORD), ("next", next)],
    )
    .await
}

#[tokio::test]
async fn a_saved_secret_is_shown_to_nobody_in_version_diffs() {
    for backend in backends() {
        let (app, receiver, builder) = setup(backend).await;
        // Version 2 changes the signing secret and a threshold.
        let v2 = definition(&receiver.url)
            .replace("secret = \"s3cret\"", "secret = \"n3w-s3cret\"")
            .replace("threshold = 0.5", "threshold = 0.6");
        app.apply(&v2, TrainingFiles::default()).await;
        let viewer = app.token("viewer@acme.io", Role::Viewer).await;
        let hook_path = receiver.url.rsplit_once('/').map(|(_, p)| p).unwrap();

        for token in [&viewer, &builder] {
            let (status, body) = app
                .get_json(token, "/api/v1/automations/support/versions/1/diff/2")
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let text = body.to_string();
            assert!(!text.contains("s3cret"), "a signing secret leaked: {text}");
            assert!(
                !text.contains(&format!("/{hook_path}")),
                "a hook URL leaked: {text}"
            );
            // The rest of the definition is shown as it was written.
            let diff = body["diff"].as_str().unwrap();
            assert!(
                !diff.contains("\n-secret") && !diff.contains("\n+secret"),
                "{diff}"
            );
            assert!(
                diff.contains("-threshold = 0.5") && diff.contains("+threshold = 0.6"),
                "{diff}"
            );
            assert!(diff.contains(" secret = \"(hidden)\""), "{diff}");
        }

        // The rollout page lists each version's changes: hidden there too.
        app.user("vera@acme.io", Role::Viewer).await;
        assert_eq!(
            sign_in(&app, "vera@acme.io", "/inbox").await.status(),
            StatusCode::SEE_OTHER
        );
        let page = app.page("/automations/support/rollout").await;
        assert!(
            page.contains("threshold = 0.6"),
            "the page shows the versions' changes"
        );
        assert!(!page.contains("s3cret"), "a signing secret leaked on the page");
        assert!(
            !page.contains(&format!("/{hook_path}")),
            "a hook URL leaked on the page"
        );
    }
}

#[tokio::test]
async fn signing_in_never_sends_anyone_to_another_host() {
    let backend = backends()[0];
    let app = TestApp::start(backend).await;
    app.user("ada@acme.io", Role::Viewer).await;
    // A browser strips tabs and line breaks from a URL, so `/\t/evil.example` would be
    // `//evil.example`: another host.
    for next in [
        "/\t/evil.example/path",
        "/\n/evil.example/path",
        "/\r\n/evil.example",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
    ] {
        let resp = sign_in(&app, "ada@acme.io", next).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(resp.headers()["location"], "/inbox", "{next:?}");
        // The login page itself carries only a safe `next` into its form.
        let page = app.page(&format!("/login?next={}", urlencode(next))).await;
        assert!(!page.contains("evil.example"), "{next:?} reached the login form");
    }
    // A path on this site is kept.
    let resp = sign_in(&app, "ada@acme.io", "/items?status=open").await;
    assert_eq!(resp.headers()["location"], "/items?status=open");
}

/// Percent-encode every byte that is not unreserved, as a crafted link would carry it.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
