//! Amplification by a signed-in user (issue 21): an answer must not be many times larger
//! than the request that caused it.

use reqwest::StatusCode;

use super::setup;

#[tokio::test]
async fn bad_edge_case_lines_get_a_bounded_error() {
    for backend in tandem_test_support::backends() {
        let (app, _receiver, token) = setup(backend).await;
        // 4,000 wrong lines (1.5 MB, under the 2 MB body limit), each naming a field that does not exist with a long name.
        let name = "x".repeat(300);
        let line = format!(r#"{{"input": {{"text": "a"}}, "expected": {{"fields": {{"{name}": "v"}}}}}}"#);
        let body = vec![line; 4_000].join("\n");
        let resp = app
            .client
            .post(app.url("/api/v1/automations/support/edge-cases/import"))
            .bearer_auth(&token)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let answer = resp.text().await.unwrap();
        assert!(
            answer.len() < 32 * 1024,
            "{backend:?}: {} bytes of errors for {} bytes of request",
            answer.len(),
            body.len()
        );
        assert!(
            answer.contains("4000 line(s) are not valid edge cases"),
            "{answer}"
        );
        assert!(answer.contains("3980 more line(s)"), "{answer}");
    }
}

#[tokio::test]
async fn a_bulk_form_of_megabytes_is_refused_by_its_size() {
    let app = tandem_test_support::TestApp::start(tandem_test_support::backends()[0]).await;
    app.user("rita@acme.io", tandem_domain::Role::Reviewer).await;
    app.login("rita@acme.io").await;
    let csrf = app.csrf().await;
    // 1.5 MB of ids, under axum's default 2 MB limit: the old handler read it whole and
    // answered 422 after de-duplicating; now its size alone is refused.
    let mut body = format!("csrf={csrf}");
    let mut id = 0u64;
    while body.len() < 1_500_000 {
        id += 1;
        body.push_str(&format!("&item={id}"));
    }
    for path in ["/inbox/bulk", "/inbox/bulk/approve"] {
        let r = app
            .client
            .post(app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
    }
}
