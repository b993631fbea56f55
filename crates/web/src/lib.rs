//! HTTP for Tandem: the JSON API under `/api/v1` and the server-rendered UI. Handlers
//! turn requests into use-case calls on [`Tandem`] and results into responses; there is
//! no SQL and no business rule here, and one mapping from error to status in [`error`].

mod api;
mod api_llm;
mod assets;
mod auth;
mod documents_api;
mod edge_case_pages;
mod error;
mod format;
mod health;
mod inbox_api;
mod measure;
mod next_path;
mod pages;
mod rollout_api;
mod rollout_card;
mod rollout_pages;
mod rollout_words;
mod session_pages;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::HeaderValue;
use tandem_service::Tandem;
use tokio::net::TcpListener;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use auth::SESSION_COOKIE;

#[derive(Clone, Debug)]
pub struct AppState {
    pub tandem: Tandem,
}

/// The whole application: API, UI, static files and health checks.
pub fn router(tandem: Tandem) -> Router {
    let max_file_bytes = tandem.settings.documents.max_bytes;
    let state = AppState { tandem };
    let app = Router::new()
        .merge(documents_api::routes(max_file_bytes))
        .merge(measure::routes())
        .merge(rollout_api::routes())
        .merge(rollout_pages::routes())
        .merge(edge_case_pages::routes())
        .merge(session_pages::routes())
        .merge(rollout_card::routes())
        .merge(api::routes())
        .merge(pages::routes())
        .merge(pages::llm::routes())
        .merge(api_llm::routes())
        .merge(pages::links::routes())
        .merge(pages::review::routes())
        .merge(inbox_api::routes())
        .merge(health::routes())
        .merge(assets::routes());
    with_security_headers(app)
        .layer(axum::middleware::from_fn(error::api_errors_as_json))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The content security policy: scripts, styles and images from this site only (no inline
/// script, handler or style anywhere in the templates), no plug-ins, forms posted only
/// here, and no framing by any site (clickjacking).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Headers every answer carries (issue 21, point 11). Pages hold customer data, so no
/// browser or proxy keeps them (`no-store`) unless the handler says otherwise (the static
/// files do); no page may be framed; content types are not sniffed; and no address (a
/// decision link carries its token) goes on to another site as a referrer.
fn with_security_headers(app: Router<AppState>) -> Router<AppState> {
    use axum::http::header;
    [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ]
    .into_iter()
    .fold(app, |app, (name, value)| {
        app.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ))
    })
}

/// How long a client may take to send a request's headers before its connection is
/// closed: connections that never finish their headers once stayed open for good.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request body may pause between two pieces before the request fails.
const BODY_PAUSE_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections served at once; past it, new ones wait in the kernel's accept queue.
pub const MAX_CONNECTIONS: usize = 1024;

/// Serve `app` on an already bound listener until `shutdown` completes, then finish the
/// requests in flight.
///
/// hyper directly rather than `axum::serve`, which sets no header-read timeout and takes
/// every connection offered (issue 21): headers must arrive within
/// [`HEADER_READ_TIMEOUT`], a body may not stall, and at most [`MAX_CONNECTIONS`] are
/// served at once.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::server::graceful::GracefulShutdown;
    use hyper_util::service::TowerToHyperService;

    let app = app.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        BODY_PAUSE_TIMEOUT,
    ));
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait a little rather than spin.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // The client's address, for sign-in throttling (`ConnectInfo` reads it).
        let service = TowerToHyperService::new(tower::ServiceExt::map_request(
            app.clone(),
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                req
            },
        ));
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
