//! Measured adoption over HTTP: the weekly figures and check-in, work done by hand,
//! escaped errors, notes, share links and the Prometheus metrics.

mod api;
mod pages;
mod view;

use axum::Router;

use crate::AppState;
pub(crate) use view::baseline_sentence;

pub fn routes() -> Router<AppState> {
    Router::new().merge(api::routes()).merge(pages::routes())
}
