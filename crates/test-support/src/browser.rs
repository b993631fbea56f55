//! A real browser for UI tests: Debian's Chromium, headless, driven over WebDriver by
//! ChromeDriver. Each [`Browser`] has its own ChromeDriver process and profile, killed and
//! removed on drop. [`Browser::sign_in`], [`Browser::wait_for_path`], [`Browser::wait_for`]
//! and [`Browser::text`] are the steps nearly every browser test takes.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};

use crate::{PASSWORD, TestApp, eventually};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser").finish_non_exhaustive()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    /// Start ChromeDriver and a headless Chromium with a `width`×`height` window.
    pub async fn start(width: u32, height: u32) -> Browser {
        assert!(
            std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists(),
            "browser tests need Chromium and ChromeDriver: apt-get install -y chromium chromium-driver"
        );
        // Two TLS backends are compiled in through dependencies; say which one to use.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = serde_json::json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.path().display()),
                    format!("--window-size={width},{height}"),
                ]
            }
        });
        let caps = caps.as_object().expect("object").clone();
        let url = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let client = loop {
            match ClientBuilder::rustls()
                .expect("tls")
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot connect to chromedriver: {e}"),
            }
        };
        Browser {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Sign in as `email` (a user the test made) on `app`'s login page and wait for the
    /// inbox it lands on. The form is sent with Enter in the password field, so the
    /// keyboard-only tests stay keyboard-only.
    pub async fn sign_in(&self, app: &TestApp, email: &str) {
        self.client
            .goto(&app.url("/login"))
            .await
            .expect("the login page");
        self.client
            .find(Locator::Css("#email"))
            .await
            .expect("#email")
            .send_keys(email)
            .await
            .expect("type the e-mail");
        self.client
            .find(Locator::Css("#password"))
            .await
            .expect("#password")
            .send_keys(PASSWORD)
            .await
            .expect("type the password");
        let enter: char = Key::Enter.into();
        let keys = KeyActions::new("sign-in".into())
            .then(KeyAction::Down { value: enter })
            .then(KeyAction::Up { value: enter });
        self.client.perform_actions(keys).await.expect("press Enter");
        self.wait_for_path("/inbox").await;
    }

    /// Wait up to ten seconds for an element matching `css` (the page a click opens may
    /// still be loading) and return it.
    pub async fn wait_for(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("waiting for {css}: {e}"))
    }

    /// The text of the element matching `css`, waiting for it as [`Browser::wait_for`].
    pub async fn text(&self, css: &str) -> String {
        self.wait_for(css).await.text().await.expect("the element's text")
    }

    /// Wait until the element matching `css` reads `want` (after a form that redirects back
    /// to the page it was on, the old page is still at the right path for a moment, so a
    /// path check alone can read the old text).
    pub async fn wait_for_text(&self, css: &str, want: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let text = match self.client.find(Locator::Css(css)).await {
                Ok(e) => e.text().await.ok(),
                Err(_) => None,
            };
            if text.as_deref() == Some(want) {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!("waited 10 s for {css} to read {want:?}; it reads {text:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Wait until the page shown is at `path` (a click or a redirect may still be loading).
    pub async fn wait_for_path(&self, path: &str) {
        let client = self.client.clone();
        eventually(
            &format!("the browser to reach {path}"),
            Duration::from_secs(10),
            || {
                let client = client.clone();
                async move {
                    client
                        .current_url()
                        .await
                        .ok()
                        .filter(|u| u.path() == path)
                        .map(|_| ())
                }
            },
        )
        .await;
    }

    /// Close the browser session; dropping without it still kills the driver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
