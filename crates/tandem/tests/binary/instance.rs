//! Running `tandem` as a child process against a test database.

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tandem_domain::Role;
use tandem_service::automations::TrainingFiles;
use tandem_service::{Settings, SystemClock, Tandem};
use tandem_test_support::eventually;

/// An automation that accepts items carrying an e-mail address and sends each accepted
/// result to `receiver`.
pub fn definition(receiver: &str) -> String {
    format!(
        r#"
name = "Contacts"
slug = "contacts"

[[fields]]
name = "email"
type = "email"
required = true
threshold = 0.5

[[destinations]]
type = "webhook"
url = "{receiver}"
secret = "s3cret"
"#
    )
}

/// Set up the `default` workspace with the automation and a builder's API token, through
/// the library (the binary under test is started afterwards).
pub async fn prepare(db_url: &str, receiver: &str) -> String {
    prepare_with(db_url, &definition(receiver)).await
}

/// [`prepare`] with another automation definition (its slug must be `contacts`).
pub async fn prepare_with(db_url: &str, definition: &str) -> String {
    let store = tandem_store::open(db_url).await.expect("open the test database");
    let settings = Settings {
        fast_password_hashing: true,
        ..Settings::default()
    };
    let t = Tandem::new(store, Arc::new(SystemClock), settings);
    let ws = t
        .ensure_workspace("default", "Default")
        .await
        .expect("workspace")
        .id;
    t.apply_definition(ws, definition, TrainingFiles::default(), "contacts.toml", None)
        .await
        .expect("apply");
    let user = t
        .add_user(
            ws,
            "builder@example.com",
            "",
            Role::Builder,
            "correct horse battery",
        )
        .await
        .expect("user");
    t.create_token(&user, "kill test").await.expect("token")
}

/// A free port on 127.0.0.1 (bound, then released for the child to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A `tandem` child process; killed on drop if still running.
#[derive(Debug)]
pub struct Instance {
    pub child: Child,
    pub url: String,
}

impl Instance {
    /// `tandem serve` on `port`, waited for until `/readyz` answers.
    pub async fn serve(db_url: &str, dir: &Path, port: u16) -> Instance {
        Self::serve_with(db_url, dir, port, &[]).await
    }

    /// [`Instance::serve`] with these environment variables over the test configuration.
    pub async fn serve_with(db_url: &str, dir: &Path, port: u16, env: &[(&str, &str)]) -> Instance {
        let url = format!("http://127.0.0.1:{port}");
        let child = command(db_url, dir)
            .envs(env.iter().copied())
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .spawn()
            .expect("start tandem serve");
        let instance = Instance { child, url };
        let client = reqwest::Client::new();
        let ready = format!("{}/readyz", instance.url);
        eventually("tandem serve to be ready", Duration::from_secs(60), || {
            let (client, ready) = (client.clone(), ready.clone());
            async move {
                let r = client.get(&ready).send().await.ok()?;
                r.status().is_success().then_some(())
            }
        })
        .await;
        instance
    }

    /// `tandem worker`.
    pub fn worker(db_url: &str, dir: &Path) -> Instance {
        let child = command(db_url, dir)
            .arg("worker")
            .spawn()
            .expect("start tandem worker");
        Instance {
            child,
            url: String::new(),
        }
    }

    /// SIGKILL: no chance to release anything.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    /// SIGTERM, then wait for the process to exit on its own.
    pub async fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        assert!(sent.success());
        eventually(
            "the process to exit after SIGTERM",
            Duration::from_secs(30),
            || {
                let st = self.child.try_wait().expect("try_wait");
                async move { st }
            },
        )
        .await
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The binary, run in `dir`, with a test configuration: short leases so a dead instance's
/// jobs are taken over within seconds, immediate delivery retries, quiet logs.
pub fn tandem(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tandem"));
    // The test runner's own TANDEM_TEST_* variables would be unknown configuration keys.
    for (key, _) in std::env::vars() {
        if key.starts_with("TANDEM_") {
            c.env_remove(key);
        }
    }
    c.current_dir(dir)
        .env("TANDEM_WORKER__LEASE_SECONDS", "5")
        .env("TANDEM_WORKER__BATCH", "16")
        .env("TANDEM_DELIVERY__BACKOFF_BASE_SECONDS", "0")
        .env("TANDEM_LOG", "warn")
        // The test receivers and model servers listen on 127.0.0.1.
        .env("TANDEM_OUTBOUND__ALLOW_PRIVATE", "true")
        .stdin(Stdio::null());
    c
}

/// `tandem --database DB --data-dir DIR --workspace default`, output not kept.
fn command(db_url: &str, dir: &Path) -> Command {
    let mut c = tandem(dir);
    c.args(["--database", db_url, "--data-dir"])
        .arg(dir)
        .args(["--workspace", "default"])
        .stdout(Stdio::null());
    c
}
