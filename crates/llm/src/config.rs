//! What the client needs to know: where the server is, which model, and how patient to be.

use std::time::Duration;

/// Connection and sampling settings for one automation's LLM step.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    /// The API root, e.g. `http://127.0.0.1:8080/v1`; `/chat/completions` is appended.
    pub base_url: String,
    pub model: String,
    /// Sent as `Authorization: Bearer ...` when set. Never logged.
    pub api_key: Option<String>,
    /// Per request, connection included.
    pub timeout: Duration,
    /// Answers compared when the server gives no log-probabilities (1 disables sampling).
    pub samples: u32,
    /// Requests in flight at once through this client.
    pub max_concurrency: usize,
    /// Further attempts after a failure that may pass.
    pub retries: u32,
    /// The first retry waits this long; each next one twice as long.
    pub backoff: Duration,
    /// The most tokens an answer may take; `None` sizes it from the fields
    /// ([`crate::default_max_tokens`]).
    pub max_tokens: Option<u32>,
    /// Where the client may connect; `None` places no limit (the service always sets it
    /// from the operator's `[outbound]` settings).
    pub outbound: Option<std::sync::Arc<crate::outbound::OutboundPolicy>>,
}

impl LlmConfig {
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            timeout: Duration::from_secs(30),
            samples: 3,
            max_concurrency: 4,
            retries: 2,
            backoff: Duration::from_millis(500),
            max_tokens: None,
            outbound: None,
        }
    }

    /// The endpoint every request goes to.
    pub fn endpoint(&self) -> String {
        format!("{}/chat/completions", self.base_url.trim_end_matches('/'))
    }
}

/// One field to extract, as the model is told about it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRequest {
    pub name: String,
    /// The field's type in words the model understands ("money", "date", "text").
    pub kind: String,
    /// Several values (a JSON array) rather than one.
    pub multi: bool,
}
