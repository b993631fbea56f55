//! Liveness and readiness for load balancers and orchestrators.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use tandem_store::StoreError;

use crate::AppState;

/// How long `/readyz` waits for the database. Probes give up after a second or a few;
/// an answer that says why is worth more than one that arrives after the prober left (a
/// pool waiting for a database that is down would otherwise take its full acquire timeout).
const READINESS_TIMEOUT: Duration = Duration::from_secs(5);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers and its schema is current; otherwise 503 and the reason in one
/// line (which migrations are missing, or that the database is unreachable; the driver's
/// own error only goes to the log).
async fn readyz(State(s): State<AppState>) -> (StatusCode, String) {
    let not_ready = |why: String| (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {why}"));
    match tokio::time::timeout(READINESS_TIMEOUT, s.tandem.store.readiness()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready".into()),
        Ok(Err(e @ StoreError::NotMigrated(_))) => {
            tracing::warn!(error = %e, "not ready");
            not_ready(e.to_string())
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "not ready");
            not_ready("the database is unreachable".into())
        }
        Err(_) => {
            tracing::warn!("not ready: the database did not answer in time");
            not_ready(format!(
                "the database did not answer within {} s",
                READINESS_TIMEOUT.as_secs()
            ))
        }
    }
}
