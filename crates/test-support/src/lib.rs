//! Test helpers shared by every crate's integration tests (a dev-dependency only).
//!
//! [`TestDb`] gives each test its own database, on SQLite or PostgreSQL, and drops it
//! when the test ends. [`backends`] says which backends a test should run on: both by
//! default, so the storage contract is proven on each; `TANDEM_TEST_BACKENDS=sqlite`
//! narrows it on a machine without PostgreSQL.

mod db;

pub use db::{TestBackend, TestDb, backends};

/// Wait for `check` to return `Some`, polling every few milliseconds, and panic with
/// `what` if it does not within `timeout`. Tests wait on conditions, never on sleeps.
pub async fn eventually<T, F, Fut>(what: &str, timeout: std::time::Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
