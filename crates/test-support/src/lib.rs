//! Test helpers shared by every crate's integration tests (a dev-dependency only).
//!
//! - [`TestDb`]: a fresh database per test, on SQLite or PostgreSQL, dropped afterwards;
//!   [`backends`] says which to run on (both by default; `TANDEM_TEST_BACKENDS=sqlite`
//!   narrows it on a machine without PostgreSQL).
//! - [`TestApp`]: the real application (store, service, web) on its own database,
//!   listening on a free port, with the steps tests repeat (submit texts, an item's
//!   status, read a page, post a form).
//! - [`Browser`]: headless Chromium, with sign-in and waits for a path or an element.
//! - [`Receiver`]: a local webhook receiver that records what it is sent (also a
//!   Slack-compatible incoming webhook: it records any JSON POSTed to it).
//! - [`SmtpServer`]: a local SMTP server that records each message.
//! - [`FakeLlm`]: a local server that speaks the OpenAI chat-completions protocol.
//! - [`decision`]: `approve()`, `correct(...)`, `reject(...)` for the service's decide.

mod app;
mod browser;
mod db;
pub mod decision;
mod dovecot;
mod llm_server;
mod receiver;
mod smtp;

pub use app::{PASSWORD, TestApp};

/// The password every test user gets.
pub fn app_password() -> &'static str {
    PASSWORD
}
pub use browser::Browser;
pub use db::{TestBackend, TestDb, backends};
pub use dovecot::Dovecot;
pub use llm_server::FakeLlm;
pub use receiver::{Received, Receiver};
pub use smtp::{Mail, SmtpServer};

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
