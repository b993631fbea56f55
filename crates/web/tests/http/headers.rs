//! What every answer tells the browser (issue 21, point 11): a content security policy
//! that forbids framing, no content sniffing, no referrer, nothing stored from pages with
//! customer data; the sign-in form's own token; and an inbox notice that only says what
//! the page itself words.

use reqwest::StatusCode;
use tandem_domain::Role;
use tandem_test_support::{PASSWORD, TestApp, backends};

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_pages_are_not_stored() {
    let app = TestApp::start(backends()[0]).await;
    let token = app.token("ada@acme.io", Role::Admin).await;
    app.login("ada@acme.io").await;
    for path in [
        "/login",
        "/inbox",
        "/items",
        "/api/v1/automations",
        "/healthz",
        "/nowhere",
    ] {
        let r = app
            .client
            .get(app.url(path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
            "{path}: {csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["cache-control"], "no-store", "{path}");
    }
    let css = app.client.get(app.url("/static/app.css")).send().await.unwrap();
    assert_eq!(
        css.headers()["cache-control"],
        "public, max-age=3600",
        "static files stay cached"
    );
    assert_eq!(css.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn no_template_has_inline_script_or_handlers_the_policy_would_block() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let html = std::fs::read_to_string(&path).unwrap();
        for bad in [
            " onchange=",
            " onclick=",
            " onsubmit=",
            " onload=",
            " style=\"",
            "<style",
            "javascript:",
        ] {
            assert!(!html.contains(bad), "{}: {bad}", path.display());
        }
        for (i, _) in html.match_indices("<script") {
            assert!(
                html[i..].starts_with("<script src="),
                "{}: inline script",
                path.display()
            );
        }
    }
}

#[tokio::test]
async fn the_sign_in_form_needs_its_own_token() {
    for backend in backends() {
        let app = TestApp::start(backend).await;
        app.user("rita@acme.io", Role::Reviewer).await;
        // A form posted from elsewhere carries no token (and no cookie with one).
        let forged = app
            .post_form("/login", &[("email", "rita@acme.io"), ("password", PASSWORD)])
            .await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN, "{backend:?}");
        assert!(forged.text().await.unwrap().contains("the sign-in form expired"));
        // With the page's cookie but a made-up token.
        app.page("/login").await;
        let wrong = app
            .post_form(
                "/login",
                &[
                    ("email", "rita@acme.io"),
                    ("password", PASSWORD),
                    ("csrf", "guess"),
                ],
            )
            .await;
        assert_eq!(
            wrong.status(),
            StatusCode::FORBIDDEN,
            "a token that is not the cookie's"
        );
        let r = app.sign_in_as(&app.client, "rita@acme.io", PASSWORD).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
}

#[tokio::test]
async fn the_inbox_shows_no_text_from_its_address_as_a_notice() {
    let app = TestApp::start(backends()[0]).await;
    app.user("rita@acme.io", Role::Reviewer).await;
    app.login("rita@acme.io").await;
    let page = app
        .page("/inbox?notice=Your+session+expired.+Sign+in+again+at+evil.example")
        .await;
    assert!(
        !page.contains("evil.example"),
        "a notice from the address was shown"
    );
    let page = app.page("/inbox?approved=3&not_approved=1").await;
    assert!(
        page.contains("Approved 3 items. 1 could not be approved"),
        "the page words the counts itself"
    );
    let page = app.page("/inbox?approved=%3Cb%3E").await;
    assert!(!page.contains("<b>"));
}

/// The documented error shape, with `status`.
fn assert_json_error(status: StatusCode, body: &serde_json::Value, want: StatusCode, what: &str) {
    assert_eq!(status, want, "{what}: {body}");
    assert_eq!(body["error"]["status"], want.as_u16(), "{what}: {body}");
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
}

#[tokio::test]
async fn malformed_queries_paths_and_bodies_answer_the_json_error_on_the_api() {
    let app = TestApp::start(backends()[0]).await;
    let token = app.token("ada@acme.io", Role::Admin).await;
    let (status, body) = app.get_json(&token, "/api/v1/items/not-a-number").await;
    assert_json_error(status, &body, StatusCode::BAD_REQUEST, "a path that is not an id");
    let (status, body) = app.get_json(&token, "/api/v1/items?limit=lots").await;
    assert_json_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "a query that does not parse",
    );
    assert!(
        body["error"]["message"].as_str().unwrap().contains("limit"),
        "{body}"
    );
    let r = app
        .client
        .post(app.url("/api/v1/automations/support/items"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: serde_json::Value = r.json().await.expect("a JSON body");
    assert_json_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a body that is not JSON",
    );
    let (status, body) = app.get_json(&token, "/api/v1/no-such-thing").await;
    assert_json_error(status, &body, StatusCode::NOT_FOUND, "no such route");
}
