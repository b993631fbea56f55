//! HTTP for Tandem: the JSON API under `/api/v1` and the server-rendered UI. Handlers
//! turn requests into use-case calls on [`Tandem`] and results into responses; there is
//! no SQL and no business rule here, and one mapping from error to status in [`error`].

mod api;
mod api_llm;
mod assets;
mod auth;
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
mod session_pages;

use std::future::Future;

use axum::Router;
use tandem_service::Tandem;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

pub use auth::SESSION_COOKIE;

#[derive(Clone, Debug)]
pub struct AppState {
    pub tandem: Tandem,
}

/// The whole application: API, UI, static files and health checks.
pub fn router(tandem: Tandem) -> Router {
    let state = AppState { tandem };
    Router::new()
        .merge(measure::routes())
        .merge(rollout_api::routes())
        .merge(rollout_pages::routes())
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
        .merge(assets::routes())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serve `app` on an already bound listener until `shutdown` completes, then finish the
/// requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
