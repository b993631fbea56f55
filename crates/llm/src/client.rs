//! The client: one question per document, asked through a JSON schema, with retries,
//! a timeout and a limit on requests in flight.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tokio::sync::Semaphore;

use crate::protocol::{ChatRequest, ChatResponse, Choice, ErrorBody, Message};
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
    /// Wall time for the whole extraction, retries and samples included.
    pub latency: Duration,
    /// HTTP requests made, retries included.
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
}

/// One HTTP exchange's result, with the attempts it took.
struct Answered {
    response: ChatResponse,
    attempts: u32,
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
        })
    }

    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// Extract `fields` from `text`.
    pub async fn extract(&self, text: &str, fields: &[FieldRequest]) -> Result<Extraction, LlmError> {
        let started = Instant::now();
        let mut usage = Usage::default();
        let mut requests = 0;
        let mut tally = |a: &Answered| {
            requests += a.attempts;
            if let Some(u) = a.response.usage {
                usage.prompt_tokens += u.prompt_tokens;
                usage.completion_tokens += u.completion_tokens;
            }
        };
        let first = self.ask(text, fields, None, 0.0).await?;
        tally(&first);
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
            // No log-probabilities: ask again at a higher temperature and see whether the
            // answers agree. `n` asks for them in one request; servers that ignore it
            // (one choice back) are asked again until there are enough.
            let wanted = (self.config.samples - 1) as usize;
            let mut samples: Vec<Vec<Value>> = vec![values];
            let mut extra = self.ask(text, fields, Some(wanted as u32), 1.0).await?;
            loop {
                tally(&extra);
                for c in extra.response.choices.iter().take(wanted + 1 - samples.len()) {
                    samples.push(self.read_choice(c, fields)?.1);
                }
                if samples.len() > wanted || extra.response.choices.is_empty() {
                    break;
                }
                extra = self.ask(text, fields, None, 1.0).await?;
            }
            let n = samples.len() as u32;
            fields
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let column: Vec<Value> = samples.iter().map(|s| s[i].clone()).collect();
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
            usage,
            latency: started.elapsed(),
            requests,
        })
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

    /// One chat-completions request, retried while the failure may pass.
    async fn ask(
        &self,
        text: &str,
        fields: &[FieldRequest],
        n: Option<u32>,
        temperature: f64,
    ) -> Result<Answered, LlmError> {
        let mut attempts = 0u32;
        loop {
            let schema = !self.no_schema.load(Ordering::Relaxed);
            let body = ChatRequest {
                model: &self.config.model,
                messages: messages(text, fields),
                response_format: response_format(fields, schema),
                temperature,
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
                let mut req = self.http.post(&self.endpoint).json(&body);
                if let Some(key) = &self.config.api_key {
                    req = req.bearer_auth(key);
                }
                match req.send().await {
                    Ok(resp) => {
                        let status = resp.status();
                        resp.text().await.map(|t| (status, t))
                    }
                    Err(e) => Err(e),
                }
            };
            let failure = match sent {
                Ok((status, body)) if status.is_success() => {
                    let response: ChatResponse = serde_json::from_str(&body)
                        .map_err(|e| self.bad(format!("not a chat completion ({e}): {}", excerpt(&body))))?;
                    return Ok(Answered { response, attempts });
                }
                Ok((status, body)) => {
                    let message = serde_json::from_str::<ErrorBody>(&body)
                        .map(|b| b.error.message)
                        .unwrap_or_else(|_| excerpt(&body));
                    let code = status.as_u16();
                    if schema && matches!(code, 400 | 422) {
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
                Err(e) if e.is_timeout() => LlmError::Timeout {
                    url: self.endpoint.clone(),
                    timeout: self.config.timeout,
                    attempts,
                },
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
