//! A webhook receiver for tests: records every request, de-duplicates on the delivery id
//! the way a careful receiver would, and can be told to fail the first attempts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

#[derive(Debug, Clone)]
pub struct Received {
    pub delivery_id: String,
    pub signature: Option<String>,
    pub body: serde_json::Value,
}

#[derive(Debug, Default)]
struct Inner {
    /// Every request that was answered 2xx, in order (duplicates included).
    accepted: Mutex<Vec<Received>>,
    /// Requests still to refuse with a 503.
    fail_next: AtomicUsize,
    attempts: AtomicUsize,
}

#[derive(Debug, Clone)]
pub struct Receiver {
    pub url: String,
    inner: Arc<Inner>,
    _task: Arc<tokio::task::JoinHandle<()>>,
}

async fn receive(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: String) -> StatusCode {
    inner.attempts.fetch_add(1, Ordering::SeqCst);
    if inner.fail_next.load(Ordering::SeqCst) > 0 {
        inner.fail_next.fetch_sub(1, Ordering::SeqCst);
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(String::from);
    let Ok(body) = serde_json::from_str(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let received = Received {
        delivery_id: header("tandem-delivery-id").unwrap_or_default(),
        signature: header("tandem-signature"),
        body,
    };
    inner.accepted.lock().expect("receiver lock").push(received);
    StatusCode::OK
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let url = format!("http://{}/hook", listener.local_addr().expect("address"));
        let inner = Arc::new(Inner::default());
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url,
            inner,
            _task: Arc::new(task),
        }
    }

    /// Refuse the next `n` requests with 503.
    pub fn fail_next(&self, n: usize) {
        self.inner.fail_next.store(n, Ordering::SeqCst);
    }

    /// Every request answered, duplicates included.
    pub fn all(&self) -> Vec<Received> {
        self.inner.accepted.lock().expect("receiver lock").clone()
    }

    pub fn attempts(&self) -> usize {
        self.inner.attempts.load(Ordering::SeqCst)
    }

    /// What a receiver that de-duplicates on the delivery id keeps: one per id.
    pub fn unique(&self) -> HashMap<String, Received> {
        let mut out = HashMap::new();
        for r in self.all() {
            out.entry(r.delivery_id.clone()).or_insert(r);
        }
        out
    }

    /// The item ids delivered, one per unique delivery, sorted.
    pub fn delivered_items(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .unique()
            .values()
            .filter_map(|r| r.body["item_id"].as_i64())
            .collect();
        ids.sort_unstable();
        ids
    }
}
