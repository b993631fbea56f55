//! Use-cases shared by the web UI, the API, the CLI and the worker. Each public function is
//! one thing a person or system does (submit items, decide an item, apply a definition);
//! it checks the rules, calls the store once per unit of work, and knows nothing of HTTP.

pub mod accounts;
pub mod auth;
pub mod automations;
mod clock;
pub mod delivery;
pub mod documents;
mod error;
pub mod import;
pub mod inbox;
pub mod intake;
pub mod links;
pub mod llm;
pub mod measure;
pub mod notify;
pub mod progress;
pub mod retrain;
pub mod review;
pub mod rollout;
pub mod schedule;
mod settings;
pub mod similar;
pub mod sweep;
pub mod throttle;
mod training;
pub mod view;
pub mod worker;

use std::sync::Arc;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{ServiceError, ServiceResult};
pub use settings::Settings;
pub use tandem_llm::outbound::OutboundPolicy;
pub use tandem_store::Store;

/// Everything a use-case needs, cheap to clone and share between the web server, the
/// worker and the CLI.
#[derive(Clone, Debug)]
pub struct Tandem {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
    pipelines: Arc<automations::PipelineCache>,
    /// One LLM client per automation version (its concurrency limit is per process).
    llm_clients: Arc<llm::LlmClients>,
    /// Wakes the worker when new work is queued in this process.
    pub work_ready: Arc<tokio::sync::Notify>,
    http: reqwest::Client,
    /// The key that signs decision links, read once from settings or the database.
    link_key: Arc<tokio::sync::OnceCell<Vec<u8>>>,
    /// Failed sign-ins, per account and per address (this process's count).
    login_failures: Arc<throttle::LoginThrottle>,
}

impl Tandem {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, settings: Settings) -> Tandem {
        // No redirects: a receiver's 307 would forward the signed POST wherever it points,
        // a loopback service included (issue 21). A redirect is an error, shown as such.
        let outbound = Arc::new(settings.outbound.clone());
        let http = reqwest::Client::builder()
            .dns_resolver(outbound.resolver())
            .timeout(settings.delivery_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tandem/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Tandem {
            store,
            clock,
            settings: Arc::new(settings),
            pipelines: Arc::default(),
            llm_clients: Arc::default(),
            work_ready: Arc::default(),
            http,
            link_key: Arc::default(),
            login_failures: Arc::default(),
        }
    }

    pub fn now(&self) -> tandem_domain::Millis {
        self.clock.now()
    }
}
