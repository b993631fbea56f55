//! The real application on a fresh database and a free port.

use std::sync::Arc;

use tandem_domain::{ItemId, Role, WorkspaceId};
use tandem_service::worker::{Tick, Worker};
use tandem_service::{ManualClock, Settings, SystemClock, Tandem};

use crate::db::{TestBackend, TestDb};

pub struct TestApp {
    pub url: String,
    pub tandem: Tandem,
    pub workspace: WorkspaceId,
    pub db: TestDb,
    /// A browser-like client that keeps cookies.
    pub client: reqwest::Client,
    pub data_dir: tempfile::TempDir,
    worker: Worker,
    _server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp").field("url", &self.url).finish()
    }
}

/// The password every test user gets.
pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    /// The app with the system clock.
    pub async fn start(backend: TestBackend) -> TestApp {
        Self::start_with_clock(backend, None).await
    }

    /// The app whose clock the test moves by hand.
    pub async fn start_with_clock(backend: TestBackend, clock: Option<Arc<ManualClock>>) -> TestApp {
        Self::start_with_settings(backend, clock, |_| {}).await
    }

    /// The app with settings adjusted by `configure` (after the test defaults).
    pub async fn start_with_settings(
        backend: TestBackend,
        clock: Option<Arc<ManualClock>>,
        configure: impl FnOnce(&mut Settings),
    ) -> TestApp {
        let db = TestDb::new(backend).await;
        let store = tandem_store::open(&db.url).await.expect("open the test database");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let data_dir = tempfile::tempdir().expect("data dir");
        let mut settings = Settings {
            data_dir: data_dir.path().to_path_buf(),
            public_url: url.clone(),
            fast_password_hashing: true,
            delivery_backoff_base: std::time::Duration::from_millis(0),
            delivery_timeout: std::time::Duration::from_secs(5),
            // The test receivers and model servers listen on 127.0.0.1.
            outbound: tandem_service::OutboundPolicy {
                allow_hosts: Vec::new(),
                allow_private: true,
            },
            ..Settings::default()
        };
        configure(&mut settings);
        let clock: Arc<dyn tandem_service::Clock> = match clock {
            Some(c) => c,
            None => Arc::new(SystemClock),
        };
        let tandem = Tandem::new(store, clock, settings);
        let ws = tandem
            .ensure_workspace("acme", "Acme")
            .await
            .expect("workspace")
            .id;
        let app = tandem_web::router(tandem.clone());
        let server = tokio::spawn(async move {
            let _ = tandem_web::serve(listener, app, std::future::pending()).await;
        });
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let worker = Worker::new(tandem.clone(), "test-worker");
        TestApp {
            url,
            tandem,
            workspace: ws,
            db,
            client,
            data_dir,
            worker,
            _server: server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Add a person to the test workspace, with the shared test password.
    pub async fn user(&self, email: &str, role: Role) -> tandem_store::User {
        self.tandem
            .add_user(self.workspace, email, "", role, PASSWORD)
            .await
            .expect("add user")
    }

    /// `email` acknowledges the card of every automation there is now, as a reviewer who
    /// has met them all; without it a reviewer is shown each card before their first
    /// decision on its items.
    pub async fn read_cards(&self, email: &str) {
        let user = self
            .tandem
            .store
            .list_users(self.workspace)
            .await
            .expect("users")
            .into_iter()
            .find(|u| u.email == email)
            .unwrap_or_else(|| panic!("{email} is not a member"));
        let actor = tandem_service::auth::Actor { user };
        for a in self
            .tandem
            .store
            .list_automations(self.workspace)
            .await
            .expect("automations")
        {
            self.tandem
                .acknowledge_card(&actor, &a.slug)
                .await
                .expect("acknowledge the card");
        }
    }

    /// An API token for a new person with `role`.
    pub async fn token(&self, email: &str, role: Role) -> String {
        let u = self.user(email, role).await;
        self.tandem.create_token(&u, "test").await.expect("token")
    }

    /// Apply a definition given as text, with its training files.
    pub async fn apply(&self, toml: &str, files: tandem_service::automations::TrainingFiles) {
        self.tandem
            .apply_definition(self.workspace, toml, files, "test.toml", None)
            .await
            .expect("apply definition");
    }

    /// Run the worker until nothing is due and no item waits on an LLM.
    pub async fn drain(&self) -> Tick {
        let mut total = Tick::default();
        loop {
            let t = self.worker.tick().await.expect("worker tick");
            if t.total() == 0 && !self.worker.settle().await {
                return total;
            }
            total.processed += t.processed;
            total.delivered += t.delivered;
        }
    }

    /// Item `id`'s status in this app's workspace, read from the store.
    pub async fn item_status(&self, id: ItemId) -> tandem_domain::ItemStatus {
        self.tandem
            .store
            .item(self.workspace, id)
            .await
            .expect("the item")
            .status
    }

    /// Submit one item a text (as `{"text": ...}`) to the automation `slug` through the
    /// service, as `actor`, and let the worker process them; their ids, in order.
    pub async fn submit_texts(
        &self,
        actor: &tandem_service::auth::Actor,
        slug: &str,
        texts: &[impl AsRef<str>],
    ) -> Vec<ItemId> {
        let subs = texts
            .iter()
            .map(|t| tandem_service::intake::Submission {
                input: serde_json::json!({ "text": t.as_ref() }),
                idempotency_key: None,
            })
            .collect();
        let ids = self
            .tandem
            .submit(actor, slug, subs)
            .await
            .expect("submit")
            .iter()
            .map(|i| i.item.id)
            .collect();
        self.drain().await;
        ids
    }

    /// The body of the page at `path`, fetched with the app's signed-in [`TestApp::client`].
    pub async fn page(&self, path: &str) -> String {
        self.page_as(&self.client, path).await
    }

    /// The body of the page at `path`, fetched with `client` (another member's session).
    /// The status is not checked: a test that cares asks for the response itself.
    pub async fn page_as(&self, client: &reqwest::Client, path: &str) -> String {
        client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("the page's body")
    }

    /// `POST path` with a form, as the app's signed-in [`TestApp::client`]; the response.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.post_form_as(&self.client, path, form).await
    }

    /// `POST path` with a form, as `client` (another member's session); the response.
    pub async fn post_form_as(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .expect("request")
    }

    /// `POST path` with a bearer token and a JSON body: the status and the answer's JSON
    /// (`null` when the body is not JSON).
    pub async fn post_json(
        &self,
        token: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let resp = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request");
        let status = resp.status();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// `GET path` with a bearer token: the status and the answer's JSON (`null` when the
    /// body is not JSON).
    pub async fn get_json(&self, token: &str, path: &str) -> (reqwest::StatusCode, serde_json::Value) {
        let resp = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        let status = resp.status();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Sign the shared cookie-keeping client in.
    pub async fn login(&self, email: &str) {
        let resp = self.sign_in_as(&self.client, email, PASSWORD).await;
        assert_eq!(resp.status(), 303, "login should redirect");
    }

    /// Fill in and send the sign-in form with `client` (which must keep cookies): the form
    /// page first, for its token, then the form. The response, whatever its status.
    pub async fn sign_in_as(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        self.post_login(client, &[("email", email), ("password", password)])
            .await
    }

    /// `POST /login` with `form` and the form token the sign-in page gave `client`.
    pub async fn post_login(&self, client: &reqwest::Client, form: &[(&str, &str)]) -> reqwest::Response {
        let page = self.page_as(client, "/login").await;
        let at = page
            .find("name=\"csrf\" value=\"")
            .expect("a form token on the sign-in page")
            + "name=\"csrf\" value=\"".len();
        let csrf = page[at..].split('"').next().expect("token").to_owned();
        let mut form = form.to_vec();
        form.push(("csrf", &csrf));
        client
            .post(self.url("/login"))
            .form(&form)
            .send()
            .await
            .expect("login request")
    }

    /// The form token of the signed-in session, read from a page.
    pub async fn csrf(&self) -> String {
        let html = self
            .client
            .get(self.url("/inbox"))
            .send()
            .await
            .expect("inbox")
            .text()
            .await
            .expect("body");
        let at = html
            .find("name=\"csrf\" value=\"")
            .expect("a form token on the page")
            + "name=\"csrf\" value=\"".len();
        html[at..].split('"').next().expect("token").to_owned()
    }
}
