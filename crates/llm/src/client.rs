//! The client: one question per document, asked through a JSON schema, with retries,
//! a timeout and a limit on requests in flight.
//!
//! What real servers taught it (issue 20, against llama.cpp's server):
//! - every request carries `max_tokens`, by default sized from the answer's schema, so a
//!   small model that starts repeating itself ("S19537-X-S19537-X-…") is stopped within
//!   a few hundred tokens instead of running into the timeout or the context size; such
//!   an answer is reported as cut short (naming the repetition), and not asked again;
//! - a retry is made only for what a retry can fix: a refused connection, 429, and 5xx
//!   other than a full context. A timeout is not retried here: it already waited the
//!   whole budget, the same question at temperature 0 is likely to take as long again,
//!   and the worker retries the item later with backoff;
//! - a 400/422 switches to `json_object` only when it says the schema or
//!   `response_format` is what the server refused; a prompt past the model's context is
//!   an error for that document alone;
//! - the server's model is checked once, at `GET {base}/models`, and each answer's
//!   `model` compared, so a misspelt name does not pass silently (llama.cpp answers
//!   any name with the model it has);
//! - the cost of every request is counted, failed ones included, and latency is the
//!   time spent in requests, not waiting for a free slot or a backoff.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tokio::sync::Semaphore;

use crate::protocol::{ChatRequest, ChatResponse, Choice, ErrorBody, ErrorDetail, Message, ModelList};
use crate::score::{agreement, logprob_scores};
use crate::{FieldRequest, LlmConfig, LlmError};

/// Where a field's raw score came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreSource {
    /// The probability of the value's tokens.
    Logprobs,
    /// The share of this many samples that gave the chosen value.
    Agreement { samples: u32 },
    /// One answer and no log-probabilities: nothing to score by, so the raw score is 0
    /// and only calibration on reviewed items can say how often such answers are right.
    Unscored,
}

impl ScoreSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ScoreSource::Logprobs => "logprobs",
            ScoreSource::Agreement { .. } => "agreement",
            ScoreSource::Unscored => "unscored",
        }
    }
}

/// The answer for one field: a string, a list of strings (multi-valued fields), or null.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldAnswer {
    pub name: String,
    pub value: Value,
    /// Raw, uncalibrated: see [`ScoreSource`].
    pub score: f64,
    pub source: ScoreSource,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// What one document cost and gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Extraction {
    pub fields: Vec<FieldAnswer>,
    pub usage: Usage,
    /// Time spent in requests (from sending to the last byte of the answer), retries and
    /// samples included; waiting for a free slot and backoff are not.
    pub latency: Duration,
    /// HTTP requests made, retries included.
    pub requests: u32,
}

/// What the requests for one document cost so far, failed ones included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Meter {
    pub usage: Usage,
    /// Time spent in requests; see [`Extraction::latency`].
    pub latency: Duration,
    pub requests: u32,
}

#[derive(Debug)]
pub struct LlmClient {
    config: LlmConfig,
    endpoint: String,
    http: reqwest::Client,
    permits: Arc<Semaphore>,
    /// Set once the server has refused `json_schema`; later requests ask for
    /// `json_object` directly instead of failing first every time.
    no_schema: AtomicBool,
    /// The answer of the one-time model check: `Some(why)` when the server does not
    /// serve the configured model.
    model_check: tokio::sync::OnceCell<Option<String>>,
}

/// One HTTP exchange's result.
struct Answered {
    response: ChatResponse,
}

impl LlmClient {
    pub fn new(config: LlmConfig) -> Result<Self, LlmError> {
        let url = &config.base_url;
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.contains(char::is_whitespace) {
            return Err(LlmError::Config(format!(
                "base_url {url:?} is not an http:// or https:// URL"
            )));
        }
        if config.model.trim().is_empty() {
            return Err(LlmError::Config("model must not be empty".into()));
        }
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            // A model server has no reason to redirect; following one could reach any host.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tandem/", env!("CARGO_PKG_VERSION")));
        if let Some(policy) = &config.outbound {
            policy
                .check_url(&config.base_url)
                .map_err(|e| LlmError::Config(format!("base_url: {e}")))?;
            builder = builder.dns_resolver(policy.clone().resolver());
        }
        let http = builder
            .build()
            .map_err(|e| LlmError::Config(format!("cannot build an HTTP client: {e}")))?;
        Ok(Self {
            endpoint: config.endpoint(),
            permits: Arc::new(Semaphore::new(config.max_concurrency.max(1))),
            config,
            http,
            no_schema: AtomicBool::new(false),
            model_check: tokio::sync::OnceCell::new(),
        })
    }

    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// Extract `fields` from `text`.
    pub async fn extract(&self, text: &str, fields: &[FieldRequest]) -> Result<Extraction, LlmError> {
        self.extract_metered(text, fields, &mut Meter::default()).await
    }

    /// Extract `fields` from `text`, adding every request's cost to `meter`, so a
    /// failure's cost is known too.
    pub async fn extract_metered(
        &self,
        text: &str,
        fields: &[FieldRequest],
        meter: &mut Meter,
    ) -> Result<Extraction, LlmError> {
        self.check_model().await?;
        let first = self.ask(text, fields, None, 0.0, meter).await?;
        let choice = first
            .response
            .choices
            .first()
            .ok_or_else(|| self.bad("no choices in the answer"))?;
        let (content, values) = self.read_choice(choice, fields)?;
        let scores = choice
            .logprobs
            .as_ref()
            .and_then(|l| l.content.as_deref())
            .and_then(|tokens| logprob_scores(content, tokens));
        let answers = if let Some(scores) = scores {
            fields
                .iter()
                .zip(values)
                .map(|(f, value)| FieldAnswer {
                    name: f.name.clone(),
                    value,
                    score: scores.get(&f.name).copied().unwrap_or(0.0),
                    source: ScoreSource::Logprobs,
                })
                .collect()
        } else if self.config.samples > 1 {
            let samples = self.samples(text, fields, values, meter).await;
            let n = samples.len() as u32;
            fields
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let column: Vec<Value> = samples.iter().map(|s| s[i].clone()).collect();
                    if n < 2 {
                        // The samples failed: keep the first answer, unscored.
                        return FieldAnswer {
                            name: f.name.clone(),
                            value: column.into_iter().next().unwrap_or(Value::Null),
                            score: 0.0,
                            source: ScoreSource::Unscored,
                        };
                    }
                    let (value, score) = agreement(&column);
                    FieldAnswer {
                        name: f.name.clone(),
                        value,
                        score,
                        source: ScoreSource::Agreement { samples: n },
                    }
                })
                .collect()
        } else {
            fields
                .iter()
                .zip(values)
                .map(|(f, value)| FieldAnswer {
                    name: f.name.clone(),
                    value,
                    score: 0.0,
                    source: ScoreSource::Unscored,
                })
                .collect()
        };
        Ok(Extraction {
            fields: answers,
            usage: meter.usage,
            latency: meter.latency,
            requests: meter.requests,
        })
    }

    /// No log-probabilities: ask again at a higher temperature and see whether the
    /// answers agree. `n` asks for them in one request; servers that ignore it (one
    /// choice back) are asked again until there are enough. A sample that fails ends the
    /// sampling with what there is: it never costs the first answer.
    async fn samples(
        &self,
        text: &str,
        fields: &[FieldRequest],
        first: Vec<Value>,
        meter: &mut Meter,
    ) -> Vec<Vec<Value>> {
        let wanted = (self.config.samples - 1) as usize;
        let mut samples: Vec<Vec<Value>> = vec![first];
        let mut n = Some(wanted as u32);
        while samples.len() <= wanted {
            let extra = match self.ask(text, fields, n, 1.0, meter).await {
                Ok(extra) => extra,
                Err(e) => {
                    tracing::warn!(url = %self.endpoint, error = %e, "a sample request failed; scoring with the answers so far");
                    break;
                }
            };
            let before = samples.len();
            for c in extra.response.choices.iter().take(wanted + 1 - samples.len()) {
                match self.read_choice(c, fields) {
                    Ok((_, values)) => samples.push(values),
                    Err(e) => tracing::warn!(url = %self.endpoint, error = %e, "a sample was not usable"),
                }
            }
            if samples.len() == before {
                break;
            }
            n = None;
        }
        samples
    }

    /// Whether the server serves the configured model, asked once at `GET {base}/models`.
    /// A server without that list (404, or no answer) is not held to it; the model of
    /// each answer is still compared.
    async fn check_model(&self) -> Result<(), LlmError> {
        let verdict =
            self.model_check
                .get_or_try_init(|| async {
                    let url = format!("{}/models", self.config.base_url.trim_end_matches('/'));
                    let mut req = self
                        .http
                        .get(&url)
                        .timeout(self.config.timeout.min(Duration::from_secs(10)));
                    if let Some(key) = &self.config.api_key {
                        req = req.bearer_auth(key);
                    }
                    let listed = match req.send().await {
                        Ok(resp) if resp.status().is_success() => resp.json::<ModelList>().await.ok(),
                        Ok(_) => None,
                        // Unreachable: the question itself will say so; ask again next time.
                        Err(_) => return Err(()),
                    };
                    let Some(listed) = listed else {
                        return Ok(None);
                    };
                    // llama.cpp lists a model's own name among its aliases: each name once.
                    let mut ids: Vec<&str> = Vec::new();
                    for id in listed.data.iter().flat_map(|m| {
                        std::iter::once(m.id.as_str()).chain(m.aliases.iter().map(String::as_str))
                    }) {
                        if !ids.contains(&id) {
                            ids.push(id);
                        }
                    }
                    if ids.is_empty() || ids.iter().any(|id| same_model(id, &self.config.model)) {
                        Ok(None)
                    } else {
                        Ok(Some(format!(
                            "the LLM server at {url} serves {}, not {:?}; set [llm] model to one of them",
                            ids.iter()
                                .map(|i| format!("{i:?}"))
                                .collect::<Vec<_>>()
                                .join(", "),
                            self.config.model
                        )))
                    }
                })
                .await;
        match verdict {
            Ok(Some(why)) => Err(LlmError::Config(why.clone())),
            Ok(None) | Err(()) => Ok(()),
        }
    }

    fn bad(&self, message: impl Into<String>) -> LlmError {
        LlmError::BadAnswer {
            url: self.endpoint.clone(),
            message: message.into(),
        }
    }

    /// The choice's JSON text and each field's value, in the order of `fields`.
    fn read_choice<'c>(
        &self,
        choice: &'c Choice,
        fields: &[FieldRequest],
    ) -> Result<(&'c str, Vec<Value>), LlmError> {
        let content = choice
            .message
            .content
            .as_deref()
            .ok_or_else(|| self.bad("the answer has no content"))?;
        let object: Map<String, Value> = serde_json::from_str(content).map_err(|e| {
            self.bad(format!(
                "the answer is not a JSON object ({e}): {}",
                excerpt(content)
            ))
        })?;
        let values = fields
            .iter()
            .map(|f| coerce(object.get(&f.name).unwrap_or(&Value::Null), f.multi))
            .collect();
        Ok((content, values))
    }

    /// The most tokens an answer may take.
    fn max_tokens(&self, fields: &[FieldRequest]) -> u32 {
        self.config
            .max_tokens
            .unwrap_or_else(|| default_max_tokens(fields))
    }

    /// One chat-completions request, retried while the failure may pass.
    async fn ask(
        &self,
        text: &str,
        fields: &[FieldRequest],
        n: Option<u32>,
        temperature: f64,
        meter: &mut Meter,
    ) -> Result<Answered, LlmError> {
        let mut attempts = 0u32;
        let max_tokens = self.max_tokens(fields);
        loop {
            let schema = !self.no_schema.load(Ordering::Relaxed);
            let body = ChatRequest {
                model: &self.config.model,
                messages: messages(text, fields),
                response_format: response_format(fields, schema),
                temperature,
                max_tokens,
                logprobs: Some(true),
                n,
            };
            attempts += 1;
            let sent = {
                let _permit = self
                    .permits
                    .acquire()
                    .await
                    .map_err(|_| LlmError::Config("the client is shut down".into()))?;
                // Latency starts once a slot is free: waiting for one is queueing.
                let started = Instant::now();
                let mut req = self.http.post(&self.endpoint).json(&body);
                if let Some(key) = &self.config.api_key {
                    req = req.bearer_auth(key);
                }
                let sent = match req.send().await {
                    Ok(resp) => {
                        let status = resp.status();
                        resp.text().await.map(|t| (status, t))
                    }
                    Err(e) => Err(e),
                };
                meter.requests += 1;
                meter.latency += started.elapsed();
                sent
            };
            let failure = match sent {
                Ok((status, body)) if status.is_success() => {
                    let response: ChatResponse = serde_json::from_str(&body)
                        .map_err(|e| self.bad(format!("not a chat completion ({e}): {}", excerpt(&body))))?;
                    if let Some(u) = response.usage {
                        meter.usage.prompt_tokens += u.prompt_tokens;
                        meter.usage.completion_tokens += u.completion_tokens;
                    }
                    self.check_answer(&response, max_tokens)?;
                    return Ok(Answered { response });
                }
                Ok((status, body)) => {
                    let detail = serde_json::from_str::<ErrorBody>(&body).map(|b| b.error).ok();
                    let message = detail
                        .as_ref()
                        .map_or_else(|| excerpt(&body), |d| d.message.clone());
                    let code = status.as_u16();
                    if is_context_error(&message, detail.as_ref()) {
                        // The document does not fit; asking again will not make it fit, and
                        // it says nothing about the next document or the schema.
                        return Err(LlmError::TooLong {
                            url: self.endpoint.clone(),
                            message,
                        });
                    }
                    if schema && matches!(code, 400 | 422) && is_schema_refusal(&message, detail.as_ref()) {
                        // Older llama.cpp builds and some providers reject json_schema;
                        // json_object with the schema in the prompt still gets JSON.
                        tracing::info!(url = %self.endpoint, %message, "the server refused json_schema; using json_object");
                        self.no_schema.store(true, Ordering::Relaxed);
                        attempts -= 1;
                        continue;
                    }
                    let error = LlmError::Status {
                        url: self.endpoint.clone(),
                        status: code,
                        message,
                        attempts,
                    };
                    if code != 429 && code < 500 {
                        return Err(error);
                    }
                    error
                }
                // See the module's notes: a timeout is not retried here.
                Err(e) if e.is_timeout() => {
                    return Err(LlmError::Timeout {
                        url: self.endpoint.clone(),
                        timeout: self.config.timeout,
                        attempts,
                    });
                }
                Err(e) => LlmError::Unreachable {
                    url: self.endpoint.clone(),
                    detail: root_cause(&e),
                    attempts,
                },
            };
            if attempts > self.config.retries {
                return Err(failure);
            }
            let wait = self.config.backoff.saturating_mul(1 << (attempts - 1).min(16));
            tracing::warn!(url = %self.endpoint, attempt = attempts, error = %failure, ?wait, "LLM request failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// An answer from another model, or cut at `max_tokens`, is an error of this
    /// document that a retry would repeat.
    fn check_answer(&self, response: &ChatResponse, max_tokens: u32) -> Result<(), LlmError> {
        if let Some(model) = response.model.as_deref()
            && !model.is_empty()
            && !same_model(model, &self.config.model)
        {
            return Err(LlmError::Config(format!(
                "the LLM server at {} answered with model {model:?}, not {:?}; set [llm] model to the model it serves",
                self.endpoint, self.config.model
            )));
        }
        for choice in &response.choices {
            if choice.finish_reason.as_deref() != Some("length") {
                continue;
            }
            let content = choice.message.content.as_deref().unwrap_or("");
            let why = match repeated_tail(content) {
                Some(unit) => format!(
                    "the model kept repeating {:?} until max_tokens ({max_tokens}) stopped it",
                    excerpt(unit)
                ),
                None => format!(
                    "the answer was cut at max_tokens ({max_tokens}); raise [llm] max_tokens if the fields need more"
                ),
            };
            return Err(LlmError::CutShort {
                url: self.endpoint.clone(),
                message: why,
            });
        }
        Ok(())
    }
}

/// Whether the name the server gives and the configured one are the same model: equal
/// (ignoring case), one a dated or tagged version of the other (`gpt-4o` and
/// `gpt-4o-2024-08-06`, `smollm2` and `smollm2:latest`), or the same model file
/// (llama.cpp names its model by path: `/models/SmolLM2-135M-Instruct.Q4_1.gguf`).
fn same_model(served: &str, configured: &str) -> bool {
    let norm = |s: &str| {
        let base = s.rsplit(['/', '\\']).next().unwrap_or(s).to_lowercase();
        base.strip_suffix(".gguf").map(str::to_owned).unwrap_or(base)
    };
    let (a, b) = (norm(served), norm(configured));
    let tagged = |long: &str, short: &str| {
        long.strip_prefix(short)
            .is_some_and(|rest| rest.starts_with(['-', ':', '.', '@']))
    };
    a == b || tagged(&a, &b) || tagged(&b, &a)
}

/// The answer's tokens allowed by default: the keys of the schema and room for each
/// value (a list gets more), with a little for the braces and a code fence. A JSON
/// answer of a handful of fields needs a few hundred tokens; a model past that is
/// repeating itself.
pub fn default_max_tokens(fields: &[FieldRequest]) -> u32 {
    let keys: usize = fields.iter().map(|f| f.name.len().div_ceil(2) + 4).sum();
    let values: usize = fields.iter().map(|f| if f.multi { 256 } else { 64 }).sum();
    u32::try_from(32 + keys + values).unwrap_or(u32::MAX).min(4096)
}

/// The unit a text ends by repeating (at least four times over), if it does.
fn repeated_tail(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    for period in 1..=64.min(b.len() / 4) {
        let span = period * 4;
        let tail = &b[b.len() - span..];
        if tail.chunks(period).all(|c| c == &tail[..period]) {
            // A period that cuts a character is not a readable unit; try a longer one.
            if let Ok(unit) = std::str::from_utf8(&tail[..period]) {
                return Some(unit);
            }
        }
    }
    None
}

/// A prompt past the model's context: llama.cpp's `exceed_context_size_error` and
/// "Context size has been exceeded", OpenAI's `context_length_exceeded`, vLLM's and
/// Ollama's "maximum context length".
fn is_context_error(message: &str, detail: Option<&ErrorDetail>) -> bool {
    let m = message.to_lowercase();
    let kind = detail
        .map(|d| format!("{} {}", d.kind.as_deref().unwrap_or(""), d.code_text()))
        .unwrap_or_default()
        .to_lowercase();
    kind.contains("context")
        || m.contains("context size")
        || m.contains("context length")
        || m.contains("context window")
        || m.contains("maximum context")
}

/// A refusal of `response_format: json_schema` itself, as opposed to any other bad
/// request: the server names the parameter, the schema or the format.
fn is_schema_refusal(message: &str, detail: Option<&ErrorDetail>) -> bool {
    let m = message.to_lowercase();
    detail.and_then(|d| d.param.as_deref()) == Some("response_format")
        || m.contains("response_format")
        || m.contains("json_schema")
        || m.contains("schema")
        || m.contains("grammar")
}

/// The innermost error's words ("Connection refused"), which say more than reqwest's
/// "error sending request".
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

fn excerpt(s: &str) -> String {
    let cut: String = s.chars().take(200).collect();
    if cut.len() < s.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// A value as the field declares it: a trimmed string or null; for multi-valued fields a
/// list of non-empty strings, or null when empty.
fn coerce(v: &Value, multi: bool) -> Value {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Null => None,
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    };
    if multi {
        let items: Vec<Value> = match v {
            Value::Array(xs) => xs.iter().filter_map(text).map(Value::String).collect(),
            other => text(other).map(Value::String).into_iter().collect(),
        };
        if items.is_empty() {
            Value::Null
        } else {
            Value::Array(items)
        }
    } else {
        let one = match v {
            Value::Array(xs) => xs.iter().find_map(text),
            other => text(other),
        };
        one.map_or(Value::Null, Value::String)
    }
}

/// The JSON schema of the answer: every declared field, required, nullable.
pub(crate) fn schema(fields: &[FieldRequest]) -> Value {
    let mut properties = Map::new();
    for f in fields {
        let p = if f.multi {
            json!({"type": ["array", "null"], "items": {"type": "string"}, "description": format!("{} values", f.kind)})
        } else {
            json!({"type": ["string", "null"], "description": format!("a {} value", f.kind)})
        };
        properties.insert(f.name.clone(), p);
    }
    let required: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

fn response_format(fields: &[FieldRequest], schema_supported: bool) -> Value {
    if schema_supported {
        json!({
            "type": "json_schema",
            "json_schema": {"name": "fields", "strict": true, "schema": schema(fields)},
        })
    } else {
        json!({"type": "json_object"})
    }
}

fn messages(text: &str, fields: &[FieldRequest]) -> Vec<Message> {
    let list: Vec<String> = fields
        .iter()
        .map(|f| {
            let shape = if f.multi {
                "a list of every value"
            } else {
                "one value"
            };
            format!("- {}: {} ({shape})", f.name, f.kind)
        })
        .collect();
    let system = format!(
        "You extract fields from a document. Answer with one JSON object and nothing else. \
         Its keys are exactly these fields:\n{}\n\
         Copy each value as it is written in the document. Use null for a field the document \
         does not contain; never guess.\nJSON schema of the answer: {}",
        list.join("\n"),
        schema(fields)
    );
    vec![
        Message {
            role: "system".into(),
            content: Some(system),
        },
        Message {
            role: "user".into(),
            content: Some(text.to_owned()),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_take_the_declared_shape() {
        assert_eq!(coerce(&json!("  9.00 "), false), json!("9.00"));
        assert_eq!(coerce(&json!(""), false), Value::Null);
        assert_eq!(coerce(&json!(12.5), false), json!("12.5"));
        assert_eq!(coerce(&json!(["a", "b"]), false), json!("a"));
        assert_eq!(coerce(&json!("a"), true), json!(["a"]));
        assert_eq!(coerce(&json!(["a", "", null]), true), json!(["a"]));
        assert_eq!(coerce(&json!([]), true), Value::Null);
    }

    #[test]
    fn the_schema_requires_every_field_and_allows_null() {
        let s = schema(&[
            FieldRequest {
                name: "total".into(),
                kind: "money".into(),
                multi: false,
            },
            FieldRequest {
                name: "parties".into(),
                kind: "text".into(),
                multi: true,
            },
        ]);
        assert_eq!(s["required"], json!(["total", "parties"]));
        assert_eq!(s["properties"]["total"]["type"], json!(["string", "null"]));
        assert_eq!(s["properties"]["parties"]["items"]["type"], json!("string"));
        assert_eq!(s["additionalProperties"], json!(false));
    }
}
