//! A lead arrives as form fields: the router reads the country column and the message
//! together, and the item (API and page) says which inputs weighed most. Over real HTTP
//! and the real worker, each backend.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tandem_domain::Role;
use tandem_service::automations::TrainingFiles;
use tandem_test_support::{TestApp, backends};

use super::{get_json, post_json};

const LEADS: &str = r#"
name = "Leads"
slug = "leads"

[[inputs]]
name = "message"
[[inputs]]
name = "country"
kind = "category"
[[inputs]]
name = "employees"
kind = "number"
required = false
[[inputs]]
name = "email"
kind = "email_domain"
required = false

[route]
source = "message"
features = ["country", "employees", "email"]
examples = "leads.jsonl"
threshold = 0.5
"#;

/// Leads whose message says nothing about the region: only the country column does.
fn examples() -> String {
    let countries = [
        ("DE", "emea"),
        ("FR", "emea"),
        ("US", "americas"),
        ("BR", "americas"),
        ("JP", "apac"),
        ("IN", "apac"),
    ];
    let phrases = [
        "please call me",
        "we would like a demo",
        "send pricing please",
        "talk to sales",
    ];
    let mut out = String::new();
    for i in 0..240 {
        let (c, region) = countries[i % countries.len()];
        let phrase = phrases[(i / countries.len()) % phrases.len()];
        let line = json!({ "text": phrase, "label": region, "country": c, "employees": 10 + (i * 37) % 900 });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

/// The example CRM receiver (`examples/crm-receiver/receiver.py`) on a free port, writing
/// to its own SQLite file; stopped (our own child, by its handle) on drop.
struct Crm {
    child: std::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Crm {
    fn start(secret: &str) -> Crm {
        use std::io::BufRead;
        let dir = tempfile::tempdir().unwrap();
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/crm-receiver/receiver.py"
        );
        let mut child = std::process::Command::new("python3")
            .arg(script)
            .arg("--db")
            .arg(dir.path().join("crm.db"))
            .args(["--port", "0", "--secret", secret])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs the example receiver");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .expect("the receiver says where")
            .to_owned();
        Crm {
            child,
            url,
            _dir: dir,
        }
    }

    async fn lead(&self, id: i64) -> Value {
        reqwest::get(format!("{}leads/{id}", self.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl Drop for Crm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn territory_rules_decide_before_the_model_and_the_crm_gets_the_reason() {
    let crm = Crm::start("s3cret");
    let definition = LEADS.replace(
        "threshold = 0.5\n",
        &format!(
            "threshold = 0.5\n\
[[route.rules]]\nwhen = {{ country = [\"DE\", \"AT\", \"CH\"] }}\nroute = \"emea\"\n\
[[route.rules]]\nwhen = {{ email = [\"rival.com\"] }}\nreview = \"a competitor: check by hand\"\n\
[[destinations]]\ntype = \"webhook\"\nurl = \"{}\"\nsecret = \"s3cret\"\n",
            crm.url
        ),
    );
    for backend in backends() {
        let app = TestApp::start(backend).await;
        app.apply(
            &definition,
            TrainingFiles {
                route_examples: Some(("leads.jsonl".into(), examples())),
                documents: None,
            },
        )
        .await;
        let token = app.token("builder@acme.io", Role::Builder).await;
        let submit = |body: Value| {
            let (app, token) = (&app, &token);
            async move {
                let (status, body) = post_json(app, token, "/api/v1/automations/leads/items", &body).await;
                assert_eq!(status, StatusCode::CREATED, "{body}");
                app.drain().await;
                let id = body["id"].as_i64().unwrap();
                (id, get_json(app, token, &format!("/api/v1/items/{id}")).await.1)
            }
        };
        // The training data never saw Switzerland; the rule routes it anyway, and says so.
        let (id, item) = submit(json!({ "message": "send pricing please", "country": "CH" })).await;
        assert_eq!(item["route"]["label"], "emea", "{item}");
        assert_eq!(item["status"], "auto_accepted", "{item}");
        let rule = item["route"]["rule"].as_str().unwrap_or_default().to_owned();
        assert!(rule.starts_with("the rule on line "), "{item}");
        assert!(
            rule.ends_with("(country is one of de, at, ch) routes it to emea"),
            "{item}"
        );
        // The CRM row was upserted with the route, who decided it and why.
        app.drain().await;
        let row = crm.lead(id).await;
        assert_eq!(row["route"], "emea", "{row}");
        assert_eq!(row["decided_by"], "rule", "{row}");
        assert_eq!(row["rule"], rule.as_str(), "{row}");
        assert_eq!(row["confidence"], 1.0, "{row}");

        // A model-routed lead reaches the CRM with its reasons.
        let (id, item) = submit(json!({ "message": "talk to sales", "country": "JP" })).await;
        assert_eq!(item["route"]["label"], "apac", "{item}");
        if item["status"] == "auto_accepted" {
            app.drain().await;
            let row = crm.lead(id).await;
            assert_eq!(row["decided_by"], "model", "{row}");
            assert!(row["reasons"].as_str().unwrap().contains("country = jp"), "{row}");
        }

        // A review rule sends the lead to a person, with the rule as the reason.
        let (_, item) =
            submit(json!({ "message": "talk to sales", "country": "US", "email": "Bob@Rival.com" })).await;
        assert_eq!(item["status"], "needs_review", "{item}");
        let reasons = item["route"]["reasons"].to_string();
        assert!(
            reasons.contains("rule_review") && reasons.contains("a competitor: check by hand"),
            "{reasons}"
        );
    }
}

#[tokio::test]
async fn a_lead_is_routed_by_its_country_column_and_says_so() {
    for backend in backends() {
        let app = TestApp::start(backend).await;
        app.apply(
            LEADS,
            TrainingFiles {
                route_examples: Some(("leads.jsonl".into(), examples())),
                documents: None,
            },
        )
        .await;
        let token = app.token("builder@acme.io", Role::Builder).await;
        // A JSON number is fine for a number input; the message alone could be any region.
        let (status, body) = post_json(
            &app,
            &token,
            "/api/v1/automations/leads/items",
            &json!({ "message": "we would like a demo", "country": "JP", "employees": 120, "email": "ana@example.jp" }),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        app.drain().await;
        let id = body["id"].as_i64().unwrap();
        let (_, item) = get_json(&app, &token, &format!("/api/v1/items/{id}")).await;
        assert_eq!(item["route"]["label"], "apac", "{item}");
        let because = &item["route"]["contributions"];
        assert_eq!(because[0], "country = jp", "{item}");

        // A text input refuses a number, with the input's name.
        let (status, body) = post_json(
            &app,
            &token,
            "/api/v1/automations/leads/items",
            &json!({ "message": 5, "country": "JP" }),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.to_string().contains("message"), "{body}");

        app.login("builder@acme.io").await;
        let page = app.page(&format!("/items/{id}")).await;
        assert!(page.contains("Weighed most:"), "{page}");
        assert!(page.contains("<span>country = jp</span>"), "{page}");
    }
}
