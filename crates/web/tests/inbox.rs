//! The exception inbox over real HTTP, on each backend: notifications to a local
//! Slack-compatible webhook and a local SMTP server, signed decision links (a GET decides
//! nothing; only the page's POST does), escalation of overdue items, claims between two
//! reviewers, and "this looks wrong".

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tandem_domain::{ItemId, ItemStatus, Role};
use tandem_service::ManualClock;
use tandem_service::automations::TrainingFiles;
use tandem_service::notify::{SmtpSecurity, SmtpSettings};
use tandem_test_support::{PASSWORD, Receiver, SmtpServer, TestApp, TestBackend, backends};

/// 2026-11-27 09:00 UTC.
const START: i64 = 1_795_770_000_000;
const MINUTE: i64 = 60_000;

fn definition(slack: &str) -> String {
    format!(
        r#"
name = "Support"
slug = "support"

[[fields]]
name = "email"
type = "email"
required = true
threshold = 0.5

[[fields]]
name = "order"
type = "identifier"
labels = ["Order"]
threshold = 0.5
[fields.validate]
pattern = "[A-Z]{{2}}-\\d{{4}}"

[[destinations]]
type = "jsonl"
path = "out/support.jsonl"

[review]
priority = "high"
sla_minutes = 30
escalate_to = ["lead@acme.io"]

[[review.notify]]
type = "slack"
url = "{slack}"

[[review.notify]]
type = "email"
to = ["ops@acme.io"]
"#
    )
}

struct Setup {
    app: TestApp,
    clock: Arc<ManualClock>,
    slack: Receiver,
    smtp: SmtpServer,
    /// needs review, needs review, accepted automatically
    items: Vec<ItemId>,
}

async fn setup(backend: TestBackend) -> Setup {
    let clock = Arc::new(ManualClock::new(START));
    let smtp = SmtpServer::start().await;
    let (host, port) = (smtp.host.clone(), smtp.port);
    let app = TestApp::start_with_settings(backend, Some(clock.clone()), move |s| {
        s.inbox.smtp = Some(SmtpSettings {
            host,
            port,
            from: "Tandem <tandem@acme.io>".into(),
            username: None,
            password: None,
            security: SmtpSecurity::None,
        });
        s.inbox.link_ttl = Duration::from_secs(3600);
        s.inbox.claim_ttl = Duration::from_secs(300);
    })
    .await;
    let slack = Receiver::start().await;
    app.apply(&definition(&slack.url), TrainingFiles::default()).await;
    let admin = app.user("ada@acme.io", Role::Admin).await;
    let actor = tandem_service::auth::Actor { user: admin };
    let texts = [
        "My parcel never arrived. Order: AB-1234",
        "Write to <b>me</b> at a@x.io & b@y.io please. Order: CD-5678",
        "From c@z.io about Order: EF-9012",
    ];
    let subs = texts
        .iter()
        .map(|t| tandem_service::intake::Submission {
            input: json!({ "text": t }),
            idempotency_key: None,
        })
        .collect();
    let items: Vec<ItemId> = app
        .tandem
        .submit(&actor, "support", subs)
        .await
        .unwrap()
        .iter()
        .map(|i| i.item.id)
        .collect();
    app.drain().await;
    let status = |id| {
        let app = &app;
        async move { app.tandem.store.item(app.workspace, id).await.unwrap().status }
    };
    assert_eq!(status(items[0]).await, ItemStatus::NeedsReview);
    assert_eq!(status(items[1]).await, ItemStatus::NeedsReview);
    assert_eq!(status(items[2]).await, ItemStatus::AutoAccepted);
    Setup {
        app,
        clock,
        slack,
        smtp,
        items,
    }
}

/// A second browser-like client, signed in as `email`.
async fn signed_in(app: &TestApp, email: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = client
        .post(app.url("/login"))
        .form(&[("email", email), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    client
}

async fn csrf_of(client: &reqwest::Client, app: &TestApp) -> String {
    let html = client
        .get(app.url("/inbox"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// The links in a Slack mrkdwn text: `<url|label>` → (label, url).
fn slack_links(text: &str) -> Vec<(String, String)> {
    text.split('<')
        .skip(1)
        .filter_map(|s| s.split_once('>'))
        .filter_map(|(inner, _)| inner.split_once('|'))
        .map(|(url, label)| (label.to_owned(), url.to_owned()))
        .collect()
}

fn path_of(url: &str) -> String {
    let rest = url.split("://").nth(1).unwrap();
    format!("/{}", rest.split_once('/').unwrap().1)
}

#[tokio::test]
async fn a_digest_goes_to_slack_and_email_with_links_that_decide_only_when_posted() {
    for backend in backends() {
        let Setup {
            app,
            clock,
            slack,
            smtp,
            items,
        } = setup(backend).await;
        let report = app.tandem.sweep_inbox().await.unwrap();
        assert_eq!(
            (report.sent, report.failed, report.escalated),
            (2, 0, 0),
            "{report:?}"
        );

        // Slack: one message naming both open items (not the accepted one), escaped.
        let posts = slack.all();
        assert_eq!(posts.len(), 1);
        let text = posts[0].body["text"].as_str().unwrap().to_owned();
        assert!(
            text.starts_with("*Support: 2 new and 0 overdue exceptions*"),
            "{text}"
        );
        assert!(text.contains(&format!("#{} Support", items[0])), "{text}");
        assert!(text.contains(&format!("#{} Support", items[1])), "{text}");
        assert!(!text.contains(&format!("#{} Support", items[2])), "{text}");
        assert!(
            text.contains("&lt;b&gt;me&lt;/b&gt; at a@x.io &amp; b@y.io"),
            "item text is escaped: {text}"
        );
        let links = slack_links(&text);
        let approve = links
            .iter()
            .find(|(l, u)| l == "Approve" && u.contains(&format!("-{}-approve-", items[1])))
            .map(|(_, u)| path_of(u))
            .expect("an approve link for the first item");

        // E-mail: the same digest, plain text, to the channel's address.
        let mails = smtp.mails();
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].to, vec!["ops@acme.io"]);
        assert_eq!(mails[0].from, "tandem@acme.io");
        assert_eq!(
            mails[0].header("Subject").as_deref(),
            Some("Support: 2 new and 0 overdue exceptions")
        );
        let body = mails[0].body();
        assert!(body.contains("Write to <b>me</b> at a@x.io & b@y.io"), "{body}");
        assert!(
            body.contains(&format!("Approve: {}", app.url(&approve))),
            "{body}"
        );

        // Nothing new: the next sweep within the hour sends nothing.
        assert_eq!(app.tandem.sweep_inbox().await.unwrap().sent, 0);

        // Without a session the link asks to sign in first, and comes back.
        let anon = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let resp = anon.get(app.url(&approve)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            resp.headers()["location"],
            format!("/login?next={approve}").as_str()
        );

        // Fetching the link (as a preview bot or the person would) shows, decides nothing.
        app.user("rita@acme.io", Role::Reviewer).await;
        let rita = signed_in(&app, "rita@acme.io").await;
        for _ in 0..3 {
            let resp = rita.get(app.url(&approve)).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            let html = resp.text().await.unwrap();
            assert!(
                html.contains(&format!("Approve item #{} as shown", items[1])),
                "{html}"
            );
            assert!(html.contains("CD-5678"), "the page shows what will be approved");
            assert!(
                html.contains("me") && !html.contains("<b>me</b>"),
                "item text is escaped"
            );
        }
        let item = app.tandem.store.item(app.workspace, items[1]).await.unwrap();
        assert_eq!(item.status, ItemStatus::NeedsReview, "a GET decided the item");
        assert!(
            app.tandem
                .claims(app.workspace, &[items[1]])
                .await
                .unwrap()
                .is_empty(),
            "a GET claimed the item"
        );

        // A changed link is refused; a POST without the form token is refused.
        let forged = approve.replace("-approve-", "-reject-");
        assert_eq!(
            rita.get(app.url(&forged)).send().await.unwrap().status(),
            StatusCode::NOT_FOUND
        );
        let resp = rita
            .post(app.url(&approve))
            .form(&[("csrf", "nope")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            app.tandem
                .store
                .item(app.workspace, items[1])
                .await
                .unwrap()
                .status,
            ItemStatus::NeedsReview
        );

        // The button decides.
        let csrf = csrf_of(&rita, &app).await;
        let resp = rita
            .post(app.url(&approve))
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let item = app.tandem.store.item(app.workspace, items[1]).await.unwrap();
        assert_eq!(item.status, ItemStatus::Approved);
        // Using it again is a clear conflict, not a second decision.
        let resp = rita
            .post(app.url(&approve))
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CONFLICT);

        // A reject link needs a reason; after the link's hour it has expired.
        let reject = links
            .iter()
            .find(|(l, u)| l == "Reject" && u.contains(&format!("-{}-reject-", items[0])))
            .map(|(_, u)| path_of(u))
            .unwrap();
        let resp = rita
            .post(app.url(&reject))
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        clock.advance(61 * MINUTE);
        assert_eq!(
            rita.get(app.url(&reject)).send().await.unwrap().status(),
            StatusCode::GONE
        );
        let resp = rita
            .post(app.url(&reject))
            .form(&[("csrf", csrf.as_str()), ("reason", "spam")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::GONE);
        assert_eq!(
            app.tandem
                .store
                .item(app.workspace, items[0])
                .await
                .unwrap()
                .status,
            ItemStatus::NeedsReview
        );

        // Another workspace's reviewer cannot read the link.
        let other = app.tandem.ensure_workspace("other", "Other").await.unwrap();
        app.tandem
            .add_user(other.id, "eve@other.io", "", Role::Admin, PASSWORD)
            .await
            .unwrap();
        let eve = signed_in(&app, "eve@other.io").await;
        assert_eq!(
            eve.get(app.url(&approve)).send().await.unwrap().status(),
            StatusCode::NOT_FOUND
        );
    }
}

#[tokio::test]
async fn an_overdue_item_escalates_once_to_the_named_person_and_the_channels() {
    for backend in backends() {
        let Setup {
            app,
            clock,
            slack,
            smtp,
            items,
        } = setup(backend).await;
        app.tandem.sweep_inbox().await.unwrap(); // the first digest
        let (slack_before, smtp_before) = (slack.all().len(), smtp.mails().len());
        clock.advance(29 * MINUTE);
        assert_eq!(
            app.tandem.sweep_inbox().await.unwrap().escalated,
            0,
            "not due yet"
        );
        clock.advance(2 * MINUTE);
        let report = app.tandem.sweep_inbox().await.unwrap();
        assert_eq!(report.escalated, 2, "{report:?}");
        let mails = smtp.mails();
        let to_lead: Vec<_> = mails[smtp_before..]
            .iter()
            .filter(|m| m.to == vec!["lead@acme.io"])
            .collect();
        assert_eq!(
            to_lead.len(),
            2,
            "one e-mail per overdue item to the named person"
        );
        assert!(
            to_lead[0]
                .header("Subject")
                .unwrap()
                .starts_with(&format!("Overdue: item #{}", items[0]))
        );
        assert_eq!(slack.all().len(), slack_before + 2);
        assert_eq!(app.tandem.sweep_inbox().await.unwrap().escalated, 0, "once");
        let events = app
            .tandem
            .store
            .audit_events(app.workspace, items[0])
            .await
            .unwrap();
        assert!(events.iter().any(|e| e.kind == "escalated"));
        // The log shows what was sent where, never the webhook's secret path.
        let log = app
            .tandem
            .store
            .list_notifications(app.workspace, 50)
            .await
            .unwrap();
        assert!(log.iter().all(|n| n.error.is_none()), "{log:?}");
        assert!(log.iter().all(|n| !n.channel.contains("/hook")), "{log:?}");

        // The inbox's "overdue" filter and due-time sort see them.
        let (status, body) = get(&app, "/api/v1/items?overdue=true&sort=due").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["items"].as_array().unwrap().len(), 2, "{body}");
    }
}

#[tokio::test]
async fn without_smtp_an_email_channel_records_a_clear_error() {
    let backend = backends()[0];
    let app = TestApp::start(backend).await;
    let slack = Receiver::start().await;
    app.apply(&definition(&slack.url), TrainingFiles::default()).await;
    let admin = app.user("ada@acme.io", Role::Admin).await;
    let actor = tandem_service::auth::Actor { user: admin };
    let sub = tandem_service::intake::Submission {
        input: json!({ "text": "no address here" }),
        idempotency_key: None,
    };
    app.tandem.submit(&actor, "support", vec![sub]).await.unwrap();
    app.drain().await;
    let report = app.tandem.sweep_inbox().await.unwrap();
    assert_eq!((report.sent, report.failed), (1, 1));
    let log = app
        .tandem
        .store
        .list_notifications(app.workspace, 10)
        .await
        .unwrap();
    let failed = log.iter().find(|n| n.error.is_some()).unwrap();
    assert!(
        failed
            .error
            .as_deref()
            .unwrap()
            .contains("no SMTP relay is configured"),
        "{failed:?}"
    );
}

async fn get(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let token = app.tandem.store.list_users(app.workspace).await.unwrap();
    let admin = token.iter().find(|u| u.role == Role::Admin).unwrap().clone();
    let token = app.tandem.create_token(&admin, "t").await.unwrap();
    let resp = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}
