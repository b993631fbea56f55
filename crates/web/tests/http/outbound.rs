//! Outbound webhooks (issue 21): a receiver's redirect is not followed (a 307 once forwarded
//! the signed POST to a loopback service), and of an error answer only the start is read
//! (a 300 MB answer was read whole) and shown as a short quoted excerpt.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::json;
use tandem_domain::Role;
use tandem_service::automations::TrainingFiles;
use tandem_store::DeliveryFilter;
use tandem_test_support::{Receiver, TestApp, backends};

const MIB: usize = 1 << 20;

/// A receiver that answers `/moved` with a redirect to `to`, and `/huge` with a 500 whose
/// body is 64 MiB of markup and control characters, counting the bytes actually sent.
async fn hostile(to: String, sent: Arc<AtomicUsize>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new()
        .route(
            "/moved",
            post(move || {
                let to = to.clone();
                async move { (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, to)]) }
            }),
        )
        .route(
            "/huge",
            post(move || {
                let sent = sent.clone();
                async move {
                    let chunk = "<b>boom</b>\u{7}\n".repeat(4096);
                    let chunks = (0..64 * MIB / chunk.len()).map(move |_| {
                        sent.fetch_add(chunk.len(), Ordering::SeqCst);
                        Ok::<_, std::io::Error>(chunk.clone())
                    });
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        Body::from_stream(futures::stream::iter(chunks)),
                    )
                        .into_response()
                }
            }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

#[tokio::test]
async fn webhooks_follow_no_redirect_and_read_little_of_an_error() {
    for backend in backends() {
        let app = TestApp::start(backend).await;
        let receiver = Receiver::start().await;
        let sent = Arc::new(AtomicUsize::new(0));
        let bad = hostile(receiver.url.clone(), sent.clone()).await;
        let definition = format!(
            r#"
name = "Contacts"
slug = "contacts"

[[fields]]
name = "email"
type = "email"
required = true
threshold = 0.5

[[destinations]]
type = "webhook"
url = "{bad}/moved"

[[destinations]]
type = "webhook"
url = "{bad}/huge"
"#
        );
        app.apply(&definition, TrainingFiles::default()).await;
        let token = app.token("builder@acme.io", Role::Builder).await;
        let (status, body) = app
            .post_json(
                &token,
                "/api/v1/automations/contacts/items",
                &json!({ "text": "write to ada@example.com" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        app.drain().await;

        assert!(
            receiver.all().is_empty(),
            "{backend:?}: the redirect was followed"
        );
        let deliveries = app
            .tandem
            .store
            .list_deliveries(
                app.workspace,
                &DeliveryFilter {
                    limit: 10,
                    ..DeliveryFilter::default()
                },
            )
            .await
            .unwrap();
        let error = |path: &str| {
            deliveries
                .iter()
                .find(|d| d.destination.contains(path))
                .and_then(|d| d.last_error.clone())
                .unwrap_or_default()
        };
        assert!(error("/moved").contains("HTTP 307"), "{}", error("/moved"));
        let huge = error("/huge");
        assert!(huge.contains("HTTP 500") && huge.contains("boom"), "{huge}");
        assert!(
            huge.len() < 400,
            "{backend:?}: {} bytes of error kept",
            huge.len()
        );
        assert!(
            !huge.contains('\u{7}'),
            "control characters are dropped: {huge:?}"
        );
        // Each attempt read the start and hung up; what the server managed to write is
        // what the sockets buffered, a few MiB at most, not the 64 MiB answer.
        let attempts = deliveries
            .iter()
            .find(|d| d.destination.contains("/huge"))
            .map_or(1, |d| d.attempts.max(1)) as usize;
        let read = sent.load(Ordering::SeqCst);
        assert!(
            read < 16 * MIB * attempts,
            "{backend:?}: {read} bytes of the error answer were produced in {attempts} attempts"
        );
    }
}

/// A webhook on `url` with the default outbound policy (no internal addresses): the
/// delivery's last error, after a drain.
async fn delivery_error_without_allowance(backend: tandem_test_support::TestBackend, url: &str) -> String {
    let app = TestApp::start_with_settings(backend, None, |s| {
        s.outbound = tandem_service::OutboundPolicy::default();
    })
    .await;
    let definition = format!(
        "name = \"Contacts\"\nslug = \"contacts\"\n\n[[fields]]\nname = \"email\"\ntype = \"email\"\nrequired = true\nthreshold = 0.5\n\n[[destinations]]\ntype = \"webhook\"\nurl = \"{url}\"\n"
    );
    app.apply(&definition, TrainingFiles::default()).await;
    let token = app.token("builder@acme.io", Role::Builder).await;
    let (status, body) = app
        .post_json(
            &token,
            "/api/v1/automations/contacts/items",
            &json!({ "text": "write to ada@example.com" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.drain().await;
    let filter = DeliveryFilter {
        limit: 10,
        ..DeliveryFilter::default()
    };
    let deliveries = app
        .tandem
        .store
        .list_deliveries(app.workspace, &filter)
        .await
        .unwrap();
    deliveries[0].last_error.clone().unwrap_or_default()
}

#[tokio::test]
async fn webhooks_to_internal_addresses_are_refused_unless_allowed() {
    for backend in backends() {
        let receiver = Receiver::start().await;
        // By address: 127.0.0.1 written in the URL.
        let error = delivery_error_without_allowance(backend, &receiver.url).await;
        assert!(
            error.contains("internal address") && error.contains("allow_hosts"),
            "{error}"
        );
        // By name: `localhost` resolves to loopback, refused when resolved (the address
        // checked is the address connected).
        let by_name = receiver.url.replace("127.0.0.1", "localhost");
        let error = delivery_error_without_allowance(backend, &by_name).await;
        assert!(error.contains("internal address"), "{error}");
        assert!(
            receiver.all().is_empty(),
            "{backend:?}: an internal receiver was called"
        );
    }
}
