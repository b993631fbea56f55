//! The OpenAI chat-completions wire format, as much of it as this step uses.
//!
//! Request: `POST {base}/chat/completions` with `model`, `messages`, `response_format`
//! (`{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}`, or
//! `{"type": "json_object"}` for servers without schemas), `logprobs`, `n` and
//! `temperature`. Response: `choices[].message.content` (the JSON text),
//! `choices[].logprobs.content[]` (`token`, `logprob`, `bytes`) when asked for, and `usage`
//! (`prompt_tokens`, `completion_tokens`). Errors come as `{"error": {"message": ...}}`.
//! Every request carries `max_tokens`; answers say `finish_reason` and `model`.
//! Unknown fields are ignored on the way in, so servers that add their own still parse.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ChatRequest<'a> {
    pub model: &'a str,
    pub messages: Vec<Message>,
    pub response_format: serde_json::Value,
    pub temperature: f64,
    /// The answer's limit: every request has one (see `client`).
    pub max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Message {
    pub role: String,
    #[serde(default)]
    pub content: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ChatResponse {
    /// The model that answered, as the server names it.
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub choices: Vec<Choice>,
    #[serde(default)]
    pub usage: Option<WireUsage>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Choice {
    pub message: Message,
    #[serde(default)]
    pub logprobs: Option<ChoiceLogprobs>,
    /// `stop`, or `length` when `max_tokens` cut the answer.
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ChoiceLogprobs {
    #[serde(default)]
    pub content: Option<Vec<TokenLogprob>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TokenLogprob {
    pub token: String,
    pub logprob: f64,
    /// The token's UTF-8 bytes; a token may hold part of a character, so lengths are
    /// taken from here when present.
    #[serde(default)]
    pub bytes: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub(crate) struct WireUsage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ErrorDetail {
    #[serde(default)]
    pub message: String,
    /// `type`: llama.cpp says `exceed_context_size_error`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// OpenAI names the refused parameter (`response_format`).
    #[serde(default)]
    pub param: Option<String>,
    /// A string for OpenAI (`context_length_exceeded`), a number for llama.cpp.
    #[serde(default)]
    pub code: Option<serde_json::Value>,
}

impl ErrorDetail {
    pub fn code_text(&self) -> String {
        match &self.code {
            Some(serde_json::Value::String(s)) => s.clone(),
            _ => String::new(),
        }
    }
}

/// `GET {base}/models`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ModelList {
    #[serde(default)]
    pub data: Vec<ModelEntry>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ModelEntry {
    pub id: String,
    /// Other names it answers to (llama.cpp's `--alias`).
    #[serde(default)]
    pub aliases: Vec<String>,
}
