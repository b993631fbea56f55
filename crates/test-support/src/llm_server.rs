//! A local server that speaks the OpenAI chat-completions protocol, for testing the LLM
//! step without a model: it answers `POST /v1/chat/completions` with configured JSON
//! answers, token log-probabilities (`logprobs`) and `usage`, and can be told to fail,
//! to be slow, to hang on one input, to refuse `json_schema` like an older server, or to
//! ignore `n`.
//!
//! It also behaves as the real servers do where they surprised us (issue 20), measured
//! against llama.cpp's server: it cuts an answer at `max_tokens` (`finish_reason:
//! "length"`); it can run away repeating itself on one input (and, with no `max_tokens`,
//! fail with llama.cpp's "Context size has been exceeded"); it can refuse a prompt past
//! its context with llama.cpp's 400; it can wrap answers in code fences and strip them
//! (and the trailing newline) from `message.content` but not from `logprobs.content`;
//! and it can serve a model of its own name (in `GET /v1/models` and in each answer)
//! whatever the request asks for.
//!
//! Answers are chosen per choice: first from a queue of scripted answers, then by the
//! first rule whose needle the document contains, then the default answer.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

#[derive(Debug, Default)]
struct Config {
    default: Option<String>,
    rules: Vec<(String, String)>,
    queue: VecDeque<String>,
    logprobs: bool,
    /// Tokens that overlap one of these substrings get this log-probability; the others
    /// get -0.001 (nearly sure).
    doubts: Vec<(String, f64)>,
    fail_next: Vec<u16>,
    /// Request number (1-based, chat requests) → the status it fails with.
    fail_numbered: Vec<(usize, u16)>,
    delay: Duration,
    reject_json_schema: bool,
    ignore_n: bool,
    /// Requests that contain one of these are never answered.
    hang: Vec<String>,
    /// Documents containing one of these make the model repeat itself until stopped.
    runaway: Vec<String>,
    /// Prompts longer than this many tokens are refused with a 400.
    context: Option<usize>,
    /// Wrap answers in a code fence, strip it from the content only (llama.cpp).
    fenced: bool,
    /// The model this server runs, whatever the request names.
    served_model: Option<String>,
}

#[derive(Debug, Default)]
struct Inner {
    config: Mutex<Config>,
    requests: Mutex<Vec<Value>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

#[derive(Debug, Clone)]
pub struct FakeLlm {
    /// The API root to configure as `base_url`, e.g. `http://127.0.0.1:PORT/v1`.
    pub base_url: String,
    inner: Arc<Inner>,
    _task: Arc<tokio::task::JoinHandle<()>>,
}

impl FakeLlm {
    pub async fn start() -> FakeLlm {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake LLM server");
        let base_url = format!("http://{}/v1", listener.local_addr().expect("address"));
        let inner = Arc::new(Inner::default());
        let app = Router::new()
            .route("/v1/chat/completions", post(complete))
            .route("/v1/models", get(models))
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeLlm {
            base_url,
            inner,
            _task: Arc::new(task),
        }
    }

    fn config(&self) -> std::sync::MutexGuard<'_, Config> {
        self.inner.config.lock().expect("fake LLM lock")
    }

    /// The answer when nothing more specific applies.
    pub fn answer(&self, content: impl Into<String>) -> &Self {
        self.config().default = Some(content.into());
        self
    }

    /// Answer `content` to documents that contain `needle`.
    pub fn answer_when(&self, needle: impl Into<String>, content: impl Into<String>) -> &Self {
        self.config().rules.push((needle.into(), content.into()));
        self
    }

    /// The next choices given, one per answer, before any rule applies.
    pub fn then(&self, answers: &[&str]) -> &Self {
        self.config()
            .queue
            .extend(answers.iter().map(|s| (*s).to_owned()));
        self
    }

    /// Whether to return token log-probabilities when asked for them.
    pub fn logprobs(&self, on: bool) -> &Self {
        self.config().logprobs = on;
        self
    }

    /// Tokens overlapping `text` in an answer get `logprob`.
    pub fn doubt(&self, text: impl Into<String>, logprob: f64) -> &Self {
        self.config().doubts.push((text.into(), logprob));
        self
    }

    /// Answer the next requests with these HTTP statuses, in order.
    pub fn fail_next(&self, statuses: &[u16]) -> &Self {
        self.config().fail_next.extend_from_slice(statuses);
        self
    }

    /// Fail the `number`th chat request (counting from 1, all requests so far
    /// included) with `status`.
    pub fn fail_request(&self, number: usize, status: u16) -> &Self {
        self.config().fail_numbered.push((number, status));
        self
    }

    /// Wait this long before each answer.
    pub fn delay(&self, d: Duration) -> &Self {
        self.config().delay = d;
        self
    }

    /// Never answer a request that contains `needle` (a server that hangs on one input).
    pub fn hang_when(&self, needle: impl Into<String>) -> &Self {
        self.config().hang.push(needle.into());
        self
    }

    /// Refuse `response_format: json_schema` with a 400, as older servers do.
    pub fn reject_json_schema(&self, on: bool) -> &Self {
        self.config().reject_json_schema = on;
        self
    }

    /// Give one choice whatever `n` asks for (llama.cpp's server does).
    pub fn ignore_n(&self, on: bool) -> &Self {
        self.config().ignore_n = on;
        self
    }

    /// Repeat "S19537-X-" inside the first value, without end, for documents that contain
    /// `needle` (a small model at temperature 0 on some inputs).
    pub fn run_away_when(&self, needle: impl Into<String>) -> &Self {
        self.config().runaway.push(needle.into());
        self
    }

    /// Refuse prompts longer than `tokens` (about 4 characters each) as llama.cpp does.
    pub fn context_size(&self, tokens: usize) -> &Self {
        self.config().context = Some(tokens);
        self
    }

    /// Answer inside a code fence with a trailing newline, then strip both from
    /// `message.content` only, leaving `logprobs.content` as generated (llama.cpp).
    pub fn fenced(&self, on: bool) -> &Self {
        self.config().fenced = on;
        self
    }

    /// Serve `model` whatever the request names (llama.cpp answers any name), and list
    /// it at `GET /v1/models`.
    pub fn serve_model(&self, model: impl Into<String>) -> &Self {
        self.config().served_model = Some(model.into());
        self
    }

    /// Every request body received, in order.
    pub fn requests(&self) -> Vec<Value> {
        self.inner.requests.lock().expect("fake LLM lock").clone()
    }

    /// The most requests that were being answered at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.inner.max_in_flight.load(Ordering::SeqCst)
    }
}

fn error(status: StatusCode, message: &str, param: Option<&str>) -> Response {
    let body =
        json!({"error": {"message": message, "type": "invalid_request_error", "param": param, "code": null}});
    (status, Json(body)).into_response()
}

/// The served model, when one is set; otherwise no list (as some hosted services).
async fn models(State(inner): State<Arc<Inner>>) -> Response {
    let served = inner.config.lock().expect("fake LLM lock").served_model.clone();
    match served {
        Some(id) => Json(json!({
            "object": "list",
            // As llama.cpp lists it: the model's own name among its aliases too.
            "data": [{"id": id, "aliases": [id], "object": "model", "created": 1_764_000_000, "owned_by": "llamacpp"}],
        }))
        .into_response(),
        None => error(StatusCode::NOT_FOUND, "not found", None),
    }
}

/// Decrements the in-flight count however the handler ends.
struct Flight<'a>(&'a AtomicUsize);

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn complete(State(inner): State<Arc<Inner>>, Json(body): Json<Value>) -> Response {
    let now = inner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    let _flight = Flight(&inner.in_flight);
    inner.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let number = {
        let mut requests = inner.requests.lock().expect("fake LLM lock");
        requests.push(body.clone());
        requests.len()
    };
    let (delay, hangs) = {
        let cfg = inner.config.lock().expect("fake LLM lock");
        let text = body.to_string();
        (cfg.delay, cfg.hang.iter().any(|n| text.contains(n.as_str())))
    };
    if hangs {
        std::future::pending::<()>().await;
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut cfg = inner.config.lock().expect("fake LLM lock");
    if let Some(&(_, code)) = cfg.fail_numbered.iter().find(|(n, _)| *n == number) {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return error(status, "the fake server was told to fail this request", None);
    }
    if !cfg.fail_next.is_empty() {
        let code = cfg.fail_next.remove(0);
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return error(status, "the fake server was told to fail this request", None);
    }
    if body["model"].as_str().is_none_or(str::is_empty) {
        return error(
            StatusCode::BAD_REQUEST,
            "you must provide a model parameter",
            Some("model"),
        );
    }
    let Some(messages) = body["messages"].as_array() else {
        return error(StatusCode::BAD_REQUEST, "messages is required", Some("messages"));
    };
    if cfg.reject_json_schema && body["response_format"]["type"] == "json_schema" {
        return error(
            StatusCode::BAD_REQUEST,
            "response_format type json_schema is not supported",
            Some("response_format"),
        );
    }
    let document = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_owned();
    let prompt_chars: usize = messages
        .iter()
        .filter_map(|m| m["content"].as_str())
        .map(str::len)
        .sum();
    let prompt_tokens = prompt_chars.div_ceil(4);
    if let Some(n_ctx) = cfg.context
        && prompt_tokens > n_ctx
    {
        let body = json!({"error": {
            "code": 400,
            "message": "the request exceeds the available context size, try increasing it",
            "type": "exceed_context_size_error",
            "n_prompt_tokens": prompt_tokens,
            "n_ctx": n_ctx,
        }});
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    let max_tokens = body["max_tokens"].as_u64().map(|m| m as usize);
    let runs_away = cfg.runaway.iter().any(|n| document.contains(n.as_str()));
    if runs_away && max_tokens.is_none() {
        // Generation ran until the context was full.
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Context size has been exceeded.",
            None,
        );
    }
    let n = if cfg.ignore_n {
        1
    } else {
        body["n"].as_u64().unwrap_or(1).clamp(1, 16) as usize
    };
    let want_logprobs = cfg.logprobs && body["logprobs"] == true;
    let mut choices = Vec::new();
    let mut completion_tokens = 0;
    for index in 0..n {
        let content = match cfg.queue.pop_front() {
            Some(c) => c,
            None => match cfg
                .rules
                .iter()
                .find(|(needle, _)| document.contains(needle.as_str()))
            {
                Some((_, c)) => c.clone(),
                None => match &cfg.default {
                    Some(c) => c.clone(),
                    None => {
                        return error(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "the fake server has no answer for this document",
                            None,
                        );
                    }
                },
            },
        };
        let generated = if runs_away {
            // `{"<first key>": "S19537-X-S19537-X-…`, never closed.
            let key = content.split('"').nth(1).unwrap_or("value");
            format!("{{\"{key}\": \"{}", "S19537-X-".repeat(4096))
        } else if cfg.fenced {
            format!("```json\n{content}\n```\n")
        } else {
            content
        };
        let mut tokens = tokenize(&generated);
        let mut finish = "stop";
        if let Some(max) = max_tokens
            && tokens.len() > max
        {
            tokens.truncate(max);
            finish = "length";
        }
        completion_tokens += tokens.len();
        let generated: String = tokens.concat();
        // What llama.cpp puts in `message.content`: fences and surrounding space gone.
        let content = if cfg.fenced && finish == "stop" {
            generated
                .trim()
                .trim_start_matches("```json")
                .trim_end_matches("```")
                .trim()
                .to_owned()
        } else {
            generated.clone()
        };
        let logprobs = want_logprobs.then(|| {
            let mut at = 0;
            let content_lp: Vec<Value> = tokens
                .iter()
                .map(|t| {
                    let range = at..at + t.len();
                    at += t.len();
                    let lp = cfg
                        .doubts
                        .iter()
                        .filter_map(|(d, lp)| {
                            generated
                                .match_indices(d.as_str())
                                .any(|(i, m)| i < range.end && range.start < i + m.len())
                                .then_some(*lp)
                        })
                        .fold(-0.001, f64::min);
                    json!({"token": t, "logprob": lp, "bytes": t.as_bytes(), "top_logprobs": []})
                })
                .collect();
            json!({"content": content_lp, "refusal": null})
        });
        choices.push(json!({
            "index": index,
            "message": {"role": "assistant", "content": content, "refusal": null},
            "logprobs": logprobs,
            "finish_reason": finish,
        }));
    }
    let model = cfg
        .served_model
        .clone()
        .map_or_else(|| body["model"].clone(), Value::String);
    Json(json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_764_000_000,
        "model": model,
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }))
    .into_response()
}

/// Three-character tokens (on character boundaries), so a value spans several tokens
/// and tokens straddle the JSON around it, as real tokenizers' do.
fn tokenize(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    chars.chunks(3).map(|c| c.iter().collect()).collect()
}
