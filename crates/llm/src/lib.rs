//! The LLM step: extract an automation's declared fields from a document by asking any
//! server that speaks the OpenAI chat-completions protocol (llama.cpp's server, Ollama,
//! vLLM, OpenAI itself) for one JSON object shaped by a JSON schema.
//!
//! A language model's answer carries no honest confidence of its own, so each field gets
//! a raw score from one of two sources: the token log-probabilities of the field's value
//! when the server returns them (`logprobs: true`), else the agreement between a few
//! samples of the same question. The score is raw: the service calibrates it on reviewed
//! items, exactly as it does for the learned extractor.
//!
//! The client owns the operational concerns: a timeout per request, retries with
//! exponential backoff for failures that may pass (connection refused, timeouts, 429,
//! 5xx), a semaphore that limits requests in flight, and errors that name the URL.

mod client;
mod config;
mod error;
pub mod outbound;
mod protocol;
mod score;

pub use client::{Extraction, FieldAnswer, LlmClient, Meter, ScoreSource, Usage, default_max_tokens};
pub use config::{FieldRequest, LlmConfig};
pub use error::LlmError;
pub use score::{agreement, logprob_scores, value_spans};
