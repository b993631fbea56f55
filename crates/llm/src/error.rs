//! What can go wrong talking to the server. Every message names the URL, because the
//! person reading it is usually fixing a `base_url` or starting a server.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the LLM server at {url} is unreachable ({detail}); is it running? (tried {attempts} time(s))")]
    Unreachable {
        url: String,
        detail: String,
        attempts: u32,
    },
    #[error("the LLM server at {url} did not answer within {timeout:?} (tried {attempts} time(s))")]
    Timeout {
        url: String,
        timeout: Duration,
        attempts: u32,
    },
    #[error("the LLM server at {url} answered {status}: {message} (tried {attempts} time(s))")]
    Status {
        url: String,
        status: u16,
        message: String,
        attempts: u32,
    },
    #[error(
        "the document is too long for the model's context at {url} ({message}); shorten it or give the server a larger context"
    )]
    TooLong { url: String, message: String },
    #[error("the LLM server at {url} gave an unfinished answer: {message}")]
    CutShort { url: String, message: String },
    #[error("the LLM server at {url} sent an answer that cannot be used: {message}")]
    BadAnswer { url: String, message: String },
    #[error("the LLM step is misconfigured: {0}")]
    Config(String),
}
