//! Configuration: defaults, then a TOML file, then `TANDEM_*` environment variables, then
//! command-line flags. Secrets are never printed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use tandem_service::Settings;

use crate::cli::Global;

/// The workspace CLI commands act on when none is named.
pub const DEFAULT_WORKSPACE: &str = "default";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub addr: String,
    pub public_url: Option<String>,
    pub workspace: String,
    pub log: String,
    pub log_format: LogFormat,
    pub worker: WorkerConfig,
    pub delivery: DeliveryConfig,
    #[serde(default)]
    pub outbound: OutboundConfig,
    #[serde(default)]
    pub login: LoginConfig,
    pub session_hours: u64,
    pub inbox: InboxConfig,
    #[serde(default)]
    pub documents: DocumentsConfig,
}

/// Documents: files accepted as items (issue 16).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DocumentsConfig {
    pub max_megabytes: u64,
    pub max_pages: usize,
    pub retention_days: u64,
    pub ocr_min_certainty: f64,
    pub tool_seconds: u64,
    pub read_seconds: u64,
}

impl Default for DocumentsConfig {
    fn default() -> Self {
        let d = tandem_service::documents::DocumentSettings::default();
        Self {
            max_megabytes: (d.max_bytes / (1024 * 1024)) as u64,
            max_pages: d.limits.max_pages,
            retention_days: 0,
            ocr_min_certainty: d.ocr_min_certainty,
            tool_seconds: d.limits.tool_deadline.as_secs(),
            read_seconds: d.limits.read_deadline.as_secs(),
        }
    }
}

impl DocumentsConfig {
    fn settings(&self) -> tandem_service::documents::DocumentSettings {
        let d = tandem_service::documents::DocumentSettings::default();
        tandem_service::documents::DocumentSettings {
            max_bytes: usize::try_from(self.max_megabytes.max(1).saturating_mul(1024 * 1024))
                .unwrap_or(usize::MAX),
            limits: tandem_service::documents::Limits {
                max_pages: self.max_pages.max(1),
                tool_deadline: Duration::from_secs(self.tool_seconds.max(1)),
                read_deadline: Duration::from_secs(self.read_seconds.max(1)),
                ..d.limits
            },
            retention: (self.retention_days > 0)
                .then(|| Duration::from_secs(self.retention_days.saturating_mul(86_400))),
            ocr_min_certainty: self.ocr_min_certainty.clamp(0.0, 1.0),
            ..d
        }
    }
}

/// The exception inbox: claims, decision links, digests and the SMTP relay for e-mail.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InboxConfig {
    pub claim_minutes: u64,
    pub link_hours: u64,
    pub link_secret: Option<String>,
    pub digest_minutes: u64,
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    pub smtp_from: String,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<String>,
    pub smtp_security: String,
}

impl Default for InboxConfig {
    fn default() -> Self {
        Self {
            claim_minutes: 5,
            link_hours: 72,
            link_secret: None,
            digest_minutes: 60,
            smtp_host: None,
            smtp_port: 587,
            smtp_from: "Tandem <tandem@localhost>".into(),
            smtp_username: None,
            smtp_password: None,
            smtp_security: "starttls".into(),
        }
    }
}

impl InboxConfig {
    fn settings(&self) -> anyhow::Result<tandem_service::notify::InboxSettings> {
        use tandem_service::notify::{InboxSettings, SmtpSecurity, SmtpSettings};
        let security = SmtpSecurity::parse(&self.smtp_security).ok_or_else(|| {
            anyhow::anyhow!(
                "configuration: inbox.smtp_security is {:?}; expected none, starttls or tls",
                self.smtp_security
            )
        })?;
        Ok(InboxSettings {
            smtp: self.smtp_host.as_ref().map(|host| SmtpSettings {
                host: host.clone(),
                port: self.smtp_port,
                from: self.smtp_from.clone(),
                username: self.smtp_username.clone(),
                password: self.smtp_password.clone(),
                security,
            }),
            claim_ttl: Duration::from_secs(self.claim_minutes.max(1) * 60),
            link_ttl: Duration::from_secs(self.link_hours.max(1) * 3600),
            link_secret: self.link_secret.clone().filter(|s| !s.is_empty()),
            digest_every: Duration::from_secs(self.digest_minutes.max(1) * 60),
        })
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WorkerConfig {
    pub batch: u32,
    pub lease_seconds: u64,
    pub shutdown_grace_seconds: u64,
    pub item_seconds: f64,
    pub process_attempts: u32,
}

/// Sign-in throttling.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LoginConfig {
    pub attempts_per_account: usize,
    pub attempts_per_address: usize,
    pub window_minutes: u64,
}

impl Default for LoginConfig {
    fn default() -> Self {
        let d = tandem_service::throttle::ThrottleLimits::default();
        LoginConfig {
            attempts_per_account: d.per_account,
            attempts_per_address: d.per_address,
            window_minutes: u64::try_from(d.window_ms / 60_000).unwrap_or(15),
        }
    }
}

/// Where webhooks, notifications and LLM calls may connect.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OutboundConfig {
    #[serde(default)]
    pub allow_hosts: Vec<String>,
    #[serde(default)]
    pub allow_private: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    pub timeout_seconds: u64,
    pub backoff_base_seconds: u64,
    pub backoff_max_seconds: u64,
    /// Directories outside the data directory that JSONL destinations may write to.
    #[serde(default)]
    pub allow_paths: Vec<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("tandem-data"),
            database_url: None,
            addr: "127.0.0.1:8080".into(),
            public_url: None,
            workspace: DEFAULT_WORKSPACE.into(),
            log: "info".into(),
            log_format: LogFormat::Text,
            worker: WorkerConfig {
                batch: 64,
                lease_seconds: 60,
                shutdown_grace_seconds: 10,
                item_seconds: 10.0,
                process_attempts: 3,
            },
            delivery: DeliveryConfig {
                timeout_seconds: 10,
                backoff_base_seconds: 2,
                backoff_max_seconds: 3600,
                allow_paths: Vec::new(),
            },
            outbound: OutboundConfig::default(),
            login: LoginConfig::default(),
            session_hours: 12,
            inbox: InboxConfig::default(),
            documents: DocumentsConfig::default(),
        }
    }
}

/// Every key with a one-line comment, as `tandem config example` prints it.
pub const EXAMPLE: &str = r#"# Tandem configuration. Every key is optional; shown with its default.
# Each can also be set as TANDEM_<KEY> (nested keys: TANDEM_WORKER__BATCH=128).

# Directory for the embedded SQLite database and delivered JSONL files.
data_dir = "tandem-data"
# Database URL: sqlite://PATH or postgres://USER:PASSWORD@HOST/DB. Default: DATA_DIR/tandem.db.
# database_url = "postgres://tandem@127.0.0.1/tandem"
# Address the web UI and API listen on.
addr = "127.0.0.1:8080"
# The address people reach Tandem at, used in links in delivered results. Default: http://ADDR.
# public_url = "https://tandem.example.com"
# The workspace (team) that CLI commands act on.
workspace = "default"
# Log filter (tracing's EnvFilter syntax), e.g. "info" or "tandem=debug,info".
log = "info"
# Log format: "text" for people, "json" for log collectors.
log_format = "text"
# Hours a signed-in session lasts.
session_hours = 12

[worker]
# Jobs a worker claims at once; results of one batch are stored together.
batch = 64
# Seconds a claimed job stays with its worker before another may take it over.
lease_seconds = 60
# Seconds a stopping instance (SIGTERM, Ctrl-C) lets the batch in hand finish before it
# gives the batch's jobs back; keep it under the orchestrator's own grace period.
shutdown_grace_seconds = 10
# Seconds the engine may take over one item; past it the item goes to the inbox, saying so.
item_seconds = 10.0
# Attempts at processing an item (each counted before the work starts); an item whose
# process died that many times goes to the inbox instead of being taken up again.
process_attempts = 3

[delivery]
# Seconds to wait for a webhook to answer.
timeout_seconds = 10
# Retries wait base * 2^attempt seconds, up to the maximum.
backoff_base_seconds = 2
backoff_max_seconds = 3600
# JSONL destinations write inside the data directory; list other directories they may use.
allow_paths = []

[login]
# Failed sign-ins allowed on one account, and from one address, within the window; past
# either, sign-in waits ("too many attempts; try again in N s"). 0 turns a limit off:
# behind a reverse proxy every client has the proxy's address.
attempts_per_account = 5
attempts_per_address = 20
window_minutes = 15

[outbound]
# Webhooks, Slack notifications and LLM servers are called on public addresses only.
# List hosts here to call only those (at any address, a local LLM server's included):
allow_hosts = []
# Or allow loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7) and link-local for all.
allow_private = false

[inbox]
# Minutes an opened item stays held for its reviewer (others see who holds it).
claim_minutes = 5
# Hours a decision link in a notification stays valid.
link_hours = 72
# Key for signing decision links; by default one is generated and kept in the database.
# link_secret = "a long random string"
# Minutes between each automation's digest of new and overdue exceptions (checked hourly;
# overdue items escalate within a minute, both run by the worker's scheduler).
digest_minutes = 60
# SMTP relay for e-mail notifications; without smtp_host, e-mail channels are not sent.
# smtp_host = "smtp.example.com"
smtp_port = 587
smtp_from = "Tandem <tandem@localhost>"
# smtp_username = "tandem"
# smtp_password = "…"
# none, starttls or tls.
smtp_security = "starttls"

[documents]
# Largest file accepted (PDF, image, e-mail, text), in MiB.
max_megabytes = 20
# Most pages in one PDF.
max_pages = 50
# Days the original files are kept (their text and word boxes stay); 0 keeps them.
retention_days = 0
# A value read by OCR from a word the reader was less sure of than this goes to review.
ocr_min_certainty = 0.6
# Seconds one run of pdftotext, pdftoppm or tesseract may take before it is stopped.
tool_seconds = 120
# Seconds the worker may spend reading one whole document (every page, text layer or
# OCR); past it the item goes to the exception inbox with the reason.
read_seconds = 600
"#;

impl Config {
    pub fn load(global: &Global) -> anyhow::Result<Config> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match &global.config {
            Some(path) => {
                if !path.exists() {
                    anyhow::bail!("configuration file {} does not exist", path.display());
                }
                fig = fig.merge(Toml::file(path));
            }
            None if Path::new("tandem.toml").exists() => fig = fig.merge(Toml::file("tandem.toml")),
            None => {}
        }
        fig = fig.merge(Env::prefixed("TANDEM_").split("__").ignore(&["config"]));
        let mut config: Config = fig.extract().map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
        if let Some(d) = &global.data_dir {
            config.data_dir = d.clone();
        }
        if let Some(u) = &global.database_url {
            config.database_url = Some(u.clone());
        }
        if let Some(w) = &global.workspace {
            config.workspace = w.clone();
        }
        if global.json_logs {
            config.log_format = LogFormat::Json;
        }
        Ok(config)
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(u) => u.clone(),
            None => format!("sqlite://{}", self.data_dir.join("tandem.db").display()),
        }
    }

    pub fn settings(&self) -> Settings {
        Settings {
            data_dir: self.data_dir.clone(),
            public_url: self
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", self.addr)),
            worker_batch: self.worker.batch.max(1),
            job_lease: Duration::from_secs(self.worker.lease_seconds.max(5)),
            shutdown_grace: Duration::from_secs(self.worker.shutdown_grace_seconds),
            // `validate` refuses what does not convert.
            item_time_budget: Duration::try_from_secs_f64(self.worker.item_seconds)
                .unwrap_or(Duration::from_secs(10))
                .max(Duration::from_millis(1)),
            process_attempts: self.worker.process_attempts.max(1),
            delivery_timeout: Duration::from_secs(self.delivery.timeout_seconds.max(1)),
            delivery_backoff_base: Duration::from_secs(self.delivery.backoff_base_seconds),
            delivery_backoff_max: Duration::from_secs(self.delivery.backoff_max_seconds),
            outbound: tandem_service::OutboundPolicy {
                allow_hosts: self.outbound.allow_hosts.clone(),
                allow_private: self.outbound.allow_private,
            },
            jsonl_allow_dirs: self.delivery.allow_paths.clone(),
            session_ttl: Duration::from_secs(self.session_hours.max(1) * 3600),
            fast_password_hashing: false,
            login_throttle: tandem_service::throttle::ThrottleLimits {
                per_account: self.login.attempts_per_account,
                per_address: self.login.attempts_per_address,
                window_ms: i64::try_from(self.login.window_minutes.max(1).saturating_mul(60_000))
                    .unwrap_or(i64::MAX),
            },
            inbox: self.inbox.settings().unwrap_or_default(),
            documents: self.documents.settings(),
        }
    }

    /// Check what `settings` cannot report (it has no error path).
    pub fn validate(&self) -> anyhow::Result<()> {
        let secs = self.worker.item_seconds;
        if !(secs.is_finite() && secs > 0.0 && secs <= 86_400.0) {
            anyhow::bail!(
                "worker.item_seconds must be a number of seconds above 0 and at most 86400, not {secs}"
            );
        }
        self.inbox.settings().map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_is_the_defaults_and_names_every_key() {
        let parsed: Config = toml::from_str(EXAMPLE).expect("the example parses");
        assert_eq!(parsed, Config::default());
        let defaults = toml::to_string(&Config::default()).unwrap();
        for line in defaults.lines().filter(|l| l.contains(" = ")) {
            let key = line.split(" = ").next().unwrap();
            assert!(EXAMPLE.contains(&format!("{key} = ")), "the example lacks {key}");
        }
    }
}
