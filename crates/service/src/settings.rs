//! The service's settings, filled in by the binary from defaults, file and environment.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Where relative destination paths (JSONL files) are written.
    pub data_dir: PathBuf,
    /// The address people reach the UI at, for links in delivered results.
    pub public_url: String,
    /// Jobs a worker takes at once; results of one batch commit together.
    pub worker_batch: u32,
    /// How long a claimed job stays with its worker before another may take it.
    pub job_lease: Duration,
    /// How long the engine may take over one item; past it the item goes to the inbox
    /// ("took longer than 10 s to process") and is not taken up again.
    pub item_time_budget: Duration,
    /// Attempts a worker makes at processing an item, each counted when the job is claimed;
    /// an item that used them all without a result (its process died on it each time) goes
    /// to the inbox ("could not be processed (3 attempts)") instead of being claimed again.
    pub process_attempts: u32,
    /// How long a stopping worker lets the batch in hand finish before giving its jobs
    /// back (the orchestrator's grace period must be longer).
    pub shutdown_grace: Duration,
    pub delivery_timeout: Duration,
    /// Delivery retries wait `base * 2^attempt`, capped at `delivery_backoff_max`.
    pub delivery_backoff_base: Duration,
    pub delivery_backoff_max: Duration,
    /// Directories outside `data_dir` that JSONL destinations may write to (an operator's
    /// choice, `delivery.allow_paths`); anywhere else is refused.
    pub jsonl_allow_dirs: Vec<PathBuf>,
    /// Where webhooks, notifications and LLM calls may connect (`[outbound]`): public
    /// addresses only unless the operator allows more.
    pub outbound: tandem_llm::outbound::OutboundPolicy,
    /// Session lifetime for the UI.
    pub session_ttl: Duration,
    /// Use cheap password hashing (tests only; never in production).
    pub fast_password_hashing: bool,
    /// Failed sign-ins allowed per account and per address before sign-in is refused
    /// for a while ("too many attempts; try again in N s").
    pub login_throttle: crate::throttle::ThrottleLimits,
    /// The exception inbox: claims, signed links, notifications.
    pub inbox: crate::notify::InboxSettings,
    /// Documents: size and page limits, retention of originals, OCR certainty.
    pub documents: crate::documents::DocumentSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("tandem-data"),
            public_url: "http://127.0.0.1:8080".into(),
            worker_batch: 64,
            job_lease: Duration::from_secs(60),
            item_time_budget: Duration::from_secs(10),
            process_attempts: 3,
            shutdown_grace: Duration::from_secs(10),
            delivery_timeout: Duration::from_secs(10),
            delivery_backoff_base: Duration::from_secs(2),
            delivery_backoff_max: Duration::from_secs(3600),
            jsonl_allow_dirs: Vec::new(),
            outbound: tandem_llm::outbound::OutboundPolicy::default(),
            session_ttl: Duration::from_secs(12 * 3600),
            fast_password_hashing: false,
            login_throttle: crate::throttle::ThrottleLimits::default(),
            inbox: crate::notify::InboxSettings::default(),
            documents: crate::documents::DocumentSettings::default(),
        }
    }
}
