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
use tandem_store::NotificationStatus;
use tandem_test_support::{PASSWORD, Receiver, SmtpServer, TestApp, TestBackend, backends};

#[path = "inbox/holds.rs"]
mod holds;
#[path = "inbox/paging.rs"]
mod paging;
#[path = "inbox/rates.rs"]
mod rates;
#[path = "inbox/report.rs"]
mod report;

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
    let items = app.submit_texts(&actor, "support", &texts).await;
    assert_eq!(app.item_status(items[0]).await, ItemStatus::NeedsReview);
    assert_eq!(app.item_status(items[1]).await, ItemStatus::NeedsReview);
    assert_eq!(app.item_status(items[2]).await, ItemStatus::AutoAccepted);
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
    let resp = app.sign_in_as(&client, email, PASSWORD).await;
    assert_eq!(resp.status(), 303);
    client
}

async fn csrf_of(client: &reqwest::Client, app: &TestApp) -> String {
    let html = app.page_as(client, "/inbox").await;
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
        app.read_cards("rita@acme.io").await;
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
        let resp = app.post_form_as(&rita, &approve, &[("csrf", "nope")]).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(app.item_status(items[1]).await, ItemStatus::NeedsReview);

        // The button decides.
        let csrf = csrf_of(&rita, &app).await;
        let resp = app
            .post_form_as(&rita, &approve, &[("csrf", csrf.as_str())])
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let item = app.tandem.store.item(app.workspace, items[1]).await.unwrap();
        assert_eq!(item.status, ItemStatus::Approved);
        // Using it again is a clear conflict, not a second decision.
        let resp = app
            .post_form_as(&rita, &approve, &[("csrf", csrf.as_str())])
            .await;
        assert_eq!(resp.status(), StatusCode::CONFLICT);

        // A reject link needs a reason; after the link's hour it has expired.
        let reject = links
            .iter()
            .find(|(l, u)| l == "Reject" && u.contains(&format!("-{}-reject-", items[0])))
            .map(|(_, u)| path_of(u))
            .unwrap();
        let resp = app.post_form_as(&rita, &reject, &[("csrf", csrf.as_str())]).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        clock.advance(61 * MINUTE);
        assert_eq!(
            rita.get(app.url(&reject)).send().await.unwrap().status(),
            StatusCode::GONE
        );
        let resp = app
            .post_form_as(&rita, &reject, &[("csrf", csrf.as_str()), ("reason", "spam")])
            .await;
        assert_eq!(resp.status(), StatusCode::GONE);
        assert_eq!(app.item_status(items[0]).await, ItemStatus::NeedsReview);

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
            .list_notifications(app.workspace, None, 50)
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
    app.submit_texts(&actor, "support", &["no address here"]).await;
    let report = app.tandem.sweep_inbox().await.unwrap();
    assert_eq!((report.sent, report.failed), (1, 1));
    let log = app
        .tandem
        .store
        .list_notifications(app.workspace, None, 10)
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

#[tokio::test]
async fn two_reviewers_never_decide_the_same_item_and_claims_expire() {
    for backend in backends() {
        let Setup {
            app, clock, items, ..
        } = setup(backend).await;
        app.user("rita@acme.io", Role::Reviewer).await;
        app.read_cards("rita@acme.io").await;
        app.user("sam@acme.io", Role::Reviewer).await;
        app.read_cards("sam@acme.io").await;
        let rita = signed_in(&app, "rita@acme.io").await;
        let sam = signed_in(&app, "sam@acme.io").await;
        let item = format!("/items/{}", items[1]);

        // Rita opens the item: it is hers for five minutes.
        let html = app.page_as(&rita, &item).await;
        assert!(html.contains("id=\"approve-button\""), "Rita can decide");
        // Sam sees who holds it, gets no buttons, and a forced POST is refused.
        let html = app.page_as(&sam, &item).await;
        assert!(html.contains("rita is working on this item"), "{html}");
        assert!(!html.contains("id=\"approve-button\""));
        let inbox = app.page_as(&sam, "/inbox").await;
        assert!(inbox.contains("rita is on it"), "the inbox shows the claim");
        let csrf = csrf_of(&sam, &app).await;
        let resp = app
            .post_form_as(
                &sam,
                &format!("{item}/decide"),
                &[("csrf", csrf.as_str()), ("action", "approve")],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CONFLICT);
        assert!(
            resp.text()
                .await
                .unwrap()
                .contains("rita is working on this item")
        );
        assert_eq!(app.item_status(items[1]).await, ItemStatus::NeedsReview);
        // The API is held to the same claim.
        let sam_user = app
            .tandem
            .store
            .user_credentials("sam@acme.io")
            .await
            .unwrap()
            .unwrap()
            .0;
        let token = app.tandem.create_token(&sam_user, "t").await.unwrap();
        let resp = app
            .client
            .post(app.url(&format!("/api/v1/items/{}/decision", items[1])))
            .bearer_auth(&token)
            .json(&json!({ "action": "approve" }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CONFLICT);

        // Claims expire: after five minutes Sam takes it over and decides.
        clock.advance(5 * MINUTE + 1);
        let html = app.page_as(&sam, &item).await;
        assert!(html.contains("id=\"approve-button\""), "the claim expired");
        let resp = app
            .post_form_as(
                &sam,
                &format!("{item}/decide"),
                &[("csrf", csrf.as_str()), ("action", "approve")],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let decided = app.tandem.store.item(app.workspace, items[1]).await.unwrap();
        assert_eq!(
            (decided.status, decided.decided_by),
            (ItemStatus::Approved, Some(sam_user.id))
        );
        // Rita, late, gets a clear conflict.
        let csrf = csrf_of(&rita, &app).await;
        let resp = app
            .post_form_as(
                &rita,
                &format!("{item}/decide"),
                &[("csrf", csrf.as_str()), ("action", "approve")],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CONFLICT);
    }
}

#[tokio::test]
async fn the_inbox_sorts_filters_and_bulk_approves_after_a_confirmation() {
    for backend in backends() {
        let Setup {
            app, clock, items, ..
        } = setup(backend).await;
        app.user("rita@acme.io", Role::Reviewer).await;
        app.read_cards("rita@acme.io").await;
        let rita = signed_in(&app, "rita@acme.io").await;
        let html = app.page_as(&rita, "/inbox?order=due").await;
        assert!(html.contains("due in 30 min"), "{html}");
        assert!(html.contains("prio-high"), "the automation's priority shows");
        let html = app.page_as(&rita, "/inbox?overdue=1").await;
        assert!(
            html.contains("Nothing waits for review with these filters"),
            "nothing overdue yet"
        );
        clock.advance(31 * MINUTE);
        let html = app.page_as(&rita, "/inbox?overdue=1").await;
        assert!(html.contains("overdue by 1 min"), "{html}");
        let resp = rita.get(app.url("/inbox?order=sideways")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);

        // Bulk: the confirmation lists what will be approved and leaves out what cannot be.
        let csrf = csrf_of(&rita, &app).await;
        let form = [
            ("csrf", csrf.clone()),
            ("item", items[0].0.to_string()),
            ("item", items[1].0.to_string()),
            ("item", items[2].0.to_string()),
        ];
        let resp = rita
            .post(app.url("/inbox/bulk"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let html = resp.text().await.unwrap();
        assert!(html.contains("Approve 1 item?"), "{html}");
        assert!(
            html.contains("<dd>a@x.io</dd>"),
            "the values to be approved are shown: {html}"
        );
        assert!(
            html.contains("there is no result to approve"),
            "why item 0 is left out: {html}"
        );
        assert!(html.contains("already decided"), "why item 2 is left out");
        for id in &items {
            let st = app.item_status(*id).await;
            assert_ne!(st, ItemStatus::Approved, "the confirmation page decided nothing");
        }
        let resp = app
            .post_form_as(
                &rita,
                "/inbox/bulk/approve",
                &[("csrf", csrf.as_str()), ("item", &items[1].0.to_string())],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            resp.headers()["location"],
            "/inbox?approved=1&not_approved=0",
            "counts in the address; the inbox words them"
        );
        let inbox = app.page_as(&rita, "/inbox?approved=1&not_approved=0").await;
        assert!(inbox.contains("Approved 1 item."), "{inbox}");
        assert_eq!(app.item_status(items[1]).await, ItemStatus::Approved);
        let resp = app
            .post_form_as(&rita, "/inbox/bulk", &[("csrf", csrf.as_str())])
            .await;
        assert_eq!(
            resp.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "nothing selected"
        );
    }
}

#[tokio::test]
async fn this_looks_wrong_sends_an_automatic_result_back_from_the_page_the_link_and_the_api() {
    for backend in backends() {
        let Setup { app, items, .. } = setup(backend).await;
        // Every delivered result carries the link.
        let line = std::fs::read_to_string(app.data_dir.path().join("out/support.jsonl")).unwrap();
        let delivered: Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
        assert_eq!(delivered["item_id"], json!(items[2]));
        let link = delivered["links"]["report_wrong"].as_str().unwrap().to_owned();
        assert_eq!(link, app.url(&format!("/items/{}/wrong", items[2])));

        app.user("rita@acme.io", Role::Reviewer).await;

        app.read_cards("rita@acme.io").await;
        let rita = signed_in(&app, "rita@acme.io").await;
        let html = rita.get(&link).send().await.unwrap().text().await.unwrap();
        assert!(
            html.contains("<td>c@z.io</td>"),
            "the page shows the delivered result: {html}"
        );
        assert_eq!(
            app.item_status(items[2]).await,
            ItemStatus::AutoAccepted,
            "opening the link changes nothing"
        );
        let csrf = csrf_of(&rita, &app).await;
        let resp = rita
            .post(&link)
            .form(&[("csrf", csrf.as_str()), ("reason", " ")])
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "a reason is required"
        );
        let resp = rita
            .post(&link)
            .form(&[
                ("csrf", csrf.as_str()),
                ("reason", "the order number is from the signature"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let item = app.tandem.store.item(app.workspace, items[2]).await.unwrap();
        assert_eq!(item.status, ItemStatus::NeedsReview);
        let escaped = app.tandem.store.escaped_errors(app.workspace, 0).await.unwrap();
        assert_eq!(escaped.len(), 1);
        assert_eq!(
            escaped[0].reporter_id,
            Some(
                app.tandem
                    .store
                    .user_credentials("rita@acme.io")
                    .await
                    .unwrap()
                    .unwrap()
                    .0
                    .id
            )
        );
        assert_eq!(escaped[0].reason, "the order number is from the signature");
        let inbox = app.page_as(&rita, "/inbox?reason=reported_wrong").await;
        assert!(inbox.contains("Reported wrong"), "{inbox}");
        assert!(inbox.contains(&format!("#{}", items[2])));
        // Again: a clear conflict, counted once.
        let resp = rita
            .post(&link)
            .form(&[("csrf", csrf.as_str()), ("reason", "again")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CONFLICT);

        // By API, on another automatic result: approve item 2 again by hand? No: a fresh one.
        let admin = app
            .tandem
            .store
            .user_credentials("ada@acme.io")
            .await
            .unwrap()
            .unwrap()
            .0;
        let token = app.tandem.create_token(&admin, "t").await.unwrap();
        let id = app
            .submit_texts(
                &tandem_service::auth::Actor { user: admin.clone() },
                "support",
                &["From d@q.io about Order: GH-3456"],
            )
            .await[0];
        let resp = app
            .client
            .post(app.url(&format!("/api/v1/items/{id}/wrong")))
            .bearer_auth(&token)
            .json(&json!({ "reason": "wrong customer" }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["status"], "needs_review");
        let resp = app
            .client
            .post(app.url(&format!("/api/v1/items/{id}/wrong")))
            .bearer_auth(&token)
            .json(&json!({ "why": "x" }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let resp = app
            .client
            .get(app.url("/api/v1/escaped-errors"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["escaped_errors"].as_array().unwrap().len(), 2, "{body}");
        assert_eq!(body["escaped_errors"][1]["reason"], "wrong customer");
    }
}

#[tokio::test]
async fn reviewer_progress_counts_decisions_and_warns_of_rubber_stamping() {
    let backend = backends()[0];
    let Setup { app, .. } = setup(backend).await;
    let admin = app
        .tandem
        .store
        .user_credentials("ada@acme.io")
        .await
        .unwrap()
        .unwrap()
        .0;
    let actor = tandem_service::auth::Actor { user: admin.clone() };
    let texts: Vec<String> = (0..6)
        .map(|i| format!("Write to a{i}@x.io or b{i}@y.io. Order: AB-{:04}", 1000 + i))
        .collect();
    let ids = app.submit_texts(&actor, "support", &texts).await;
    for id in ids {
        let d = tandem_domain::Decision {
            seconds: Some(0.7),
            ..tandem_test_support::decision::approve()
        };
        app.tandem.decide(&actor, id, d).await.unwrap();
    }
    app.login("ada@acme.io").await;
    let html = app.page("/progress").await;
    assert!(
        html.contains("Rubber-stamp warning: 6 approvals in under 2 s each"),
        "{html}"
    );
    assert!(html.contains("0.7 s"), "median time");
    assert!(
        html.contains("6 of 6 (too few for a rate)"),
        "agreement from six approvals is a count, not 100%: {html}"
    );
}

/// The log as the API gives it: (kind, channel, status, attempts, error).
async fn notification_log(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, body) = get(app, &format!("/api/v1/notifications{query}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let text = body.to_string();
    assert!(
        !text.contains("/hook") && !text.contains("payload"),
        "the webhook's URL and the stored message never leave the server: {text}"
    );
    body["notifications"].as_array().unwrap().clone()
}

fn on_channel<'a>(log: &'a [Value], prefix: &str) -> &'a Value {
    log.iter()
        .find(|n| n["channel"].as_str().unwrap().starts_with(prefix))
        .unwrap_or_else(|| panic!("no notification to {prefix} in {log:?}"))
}

#[tokio::test]
async fn a_failed_notification_is_retried_with_backoff_until_sent_or_given_up() {
    for backend in backends() {
        let Setup {
            app,
            clock,
            slack,
            smtp,
            ..
        } = setup(backend).await;
        // Slack answers 503 twice, then takes it; the relay says 451 to every attempt.
        slack.fail_next(2);
        smtp.fail_next(5);
        let r = app.tandem.sweep_inbox().await.unwrap();
        assert_eq!((r.sent, r.failed, r.retried), (0, 2, 0), "{r:?}");
        let log = notification_log(&app, "").await;
        assert_eq!(log.len(), 2, "{log:?}");
        for n in &log {
            assert_eq!(n["status"], "retrying", "{n}");
            assert_eq!(n["attempts"], 1, "{n}");
            assert_eq!(n["next_attempt_at"], START + MINUTE, "{n}");
        }
        assert!(
            on_channel(&log, "Slack")["error"]
                .as_str()
                .unwrap()
                .contains("503")
        );
        assert!(
            on_channel(&log, "e-mail")["error"]
                .as_str()
                .unwrap()
                .contains("451")
        );

        // Not before its time.
        clock.advance(MINUTE - 1_000);
        assert_eq!(app.tandem.sweep_inbox().await.unwrap().retried, 0);
        // 1 minute: both again; Slack fails a second time, the mail a second time.
        clock.advance(1_000);
        let r = app.tandem.sweep_inbox().await.unwrap();
        assert_eq!((r.retried, r.sent, r.failed), (2, 0, 2), "{r:?}");
        let log = notification_log(&app, "").await;
        let mail = on_channel(&log, "e-mail");
        assert_eq!(mail["attempts"], 2);
        assert_eq!(mail["next_attempt_at"], START + 3 * MINUTE, "then 2 minutes");
        assert!(
            mail["error"].as_str().unwrap().starts_with("attempt 2 of 5:"),
            "{mail}"
        );
        // 3 minutes: Slack takes it; the mail fails, next in 4 minutes.
        clock.advance(2 * MINUTE);
        let r = app.tandem.sweep_inbox().await.unwrap();
        assert_eq!((r.retried, r.sent, r.failed), (2, 1, 1), "{r:?}");
        assert_eq!((slack.attempts(), slack.all().len()), (3, 1));
        let log = notification_log(&app, "").await;
        let sent = on_channel(&log, "Slack");
        assert_eq!(sent["status"], "sent");
        assert_eq!(sent["attempts"], 3);
        assert_eq!(sent["error"], Value::Null, "a success clears the error");
        assert_eq!(sent["next_attempt_at"], Value::Null);
        assert_eq!(on_channel(&log, "e-mail")["next_attempt_at"], START + 7 * MINUTE);
        // 7 and 15 minutes: the fourth and fifth attempts fail; then it gives up.
        clock.advance(4 * MINUTE);
        assert_eq!(app.tandem.sweep_inbox().await.unwrap().retried, 1);
        clock.advance(8 * MINUTE);
        assert_eq!(app.tandem.sweep_inbox().await.unwrap().retried, 1);
        let failed = notification_log(&app, "?status=failed").await;
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert_eq!(failed[0]["attempts"], 5);
        assert_eq!(failed[0]["next_attempt_at"], Value::Null);
        assert!(
            failed[0]["error"]
                .as_str()
                .unwrap()
                .starts_with("attempt 5 of 5: "),
            "{}",
            failed[0]
        );
        clock.advance(30 * MINUTE);
        assert_eq!(app.tandem.sweep_inbox().await.unwrap().retried, 0, "given up");
        assert!(
            smtp.mails()
                .iter()
                .all(|m| !m.header("Subject").unwrap().contains("new and")),
            "the relay never took the first digest"
        );

        // A refusal that will not pass (550) is failed at once, not retried.
        clock.advance(60 * MINUTE);
        smtp.refuse_next();
        app.tandem.sweep_inbox().await.unwrap();
        let log = notification_log(&app, "?status=failed").await;
        assert_eq!(log.len(), 2, "{log:?}");
        assert_eq!(log[0]["attempts"], 1);
        assert!(log[0]["error"].as_str().unwrap().contains("550"), "{}", log[0]);
        assert!(notification_log(&app, "?status=retrying").await.is_empty());

        // The deliveries page shows the log to people.
        let ada = signed_in(&app, "ada@acme.io").await;
        let html = app.page_as(&ada, "/deliveries").await;
        assert!(html.contains("Notifications to people"), "{html}");
        assert!(html.contains("attempt 5 of 5"), "{html}");

        let (status, body) = get(&app, "/api/v1/notifications?status=lost").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.to_string().contains("unknown notification status"), "{body}");
    }
}

/// Inbox digests received so far: (Slack messages, e-mails).
fn digests(slack: &Receiver, smtp: &SmtpServer) -> (usize, usize) {
    let is_digest = |subject: &str| subject.contains("new and") && subject.contains("overdue exceptions");
    let on_slack = slack
        .all()
        .iter()
        .filter(|r| is_digest(r.body["text"].as_str().unwrap_or("")))
        .count();
    let by_mail = smtp
        .mails()
        .iter()
        .filter(|m| is_digest(&m.header("Subject").unwrap_or_default()))
        .count();
    (on_slack, by_mail)
}

async fn wait_for_digests(slack: &Receiver, smtp: &SmtpServer, want: (usize, usize)) {
    tandem_test_support::eventually(
        &format!("{want:?} digests on Slack and by e-mail"),
        Duration::from_secs(30),
        || async { (digests(slack, smtp) == want).then_some(()) },
    )
    .await;
}

/// Move the clock on in steps longer than the scheduler's check interval, letting the
/// running workers look each time.
async fn let_workers_look(clock: &ManualClock) {
    for _ in 0..5 {
        clock.advance(11_000);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn two_running_instances_send_one_digest_per_period_and_retry_a_failed_one() {
    for backend in backends() {
        let Setup {
            app,
            clock,
            slack,
            smtp,
            ..
        } = setup(backend).await;
        // A second instance on the same database and clock, as a second machine would be.
        let other = tandem_service::Tandem::new(
            tandem_store::open(&app.db.url).await.unwrap(),
            clock.clone(),
            (*app.tandem.settings).clone(),
        );
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut workers = Vec::new();
        for (tandem, id) in [(app.tandem.clone(), "instance-a"), (other, "instance-b")] {
            let mut stopped = stopped.clone();
            let worker = tandem_service::worker::Worker::new(tandem, id);
            workers.push(tokio::spawn(worker.run(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })));
        }
        // The workers' schedulers send the first digest by themselves, once.
        wait_for_digests(&slack, &smtp, (1, 1)).await;
        let_workers_look(&clock).await;
        assert_eq!(digests(&slack, &smtp), (1, 1));

        // Half an hour on, the two open items escalate (once each), and still no digest.
        clock.set(START + 35 * MINUTE);
        tandem_test_support::eventually("two escalations on Slack", Duration::from_secs(30), || async {
            let n = slack
                .all()
                .iter()
                .filter(|r| r.body["text"].as_str().unwrap_or("").starts_with("*Overdue:"))
                .count();
            (n == 2).then_some(())
        })
        .await;
        let_workers_look(&clock).await;
        assert_eq!(digests(&slack, &smtp), (1, 1), "one digest an hour");

        // The next hour's digest: Slack fails its first attempt, the e-mail goes; the
        // retry task sends the Slack one a minute later, once.
        slack.fail_next(1);
        clock.set(START + 61 * MINUTE);
        wait_for_digests(&slack, &smtp, (1, 2)).await;
        let retrying = app
            .tandem
            .store
            .list_notifications(app.workspace, Some(NotificationStatus::Retrying), 10)
            .await
            .unwrap();
        assert_eq!(retrying.len(), 1, "{retrying:?}");
        assert_eq!(retrying[0].next_attempt_at, Some(START + 62 * MINUTE));
        clock.advance(2 * MINUTE);
        wait_for_digests(&slack, &smtp, (2, 2)).await;
        let_workers_look(&clock).await;
        assert_eq!(
            digests(&slack, &smtp),
            (2, 2),
            "one digest per period on each channel"
        );
        let log = app
            .tandem
            .store
            .list_notifications(app.workspace, None, 50)
            .await
            .unwrap();
        let retried = log.iter().find(|n| n.id == retrying[0].id).unwrap();
        assert_eq!((retried.status, retried.attempts), (NotificationStatus::Sent, 2));

        stop.send(true).unwrap();
        for w in workers {
            w.await.unwrap();
        }
        // One finished run per period: the claim picked one instance each time.
        let runs = app
            .tandem
            .store
            .scheduled_runs(app.workspace, "inbox_digests")
            .await
            .unwrap();
        let mut keys: Vec<&str> = runs.iter().map(|r| r.period_key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), runs.len(), "{runs:?}");
        assert!(runs.iter().all(|r| r.finished_at.is_some()), "{runs:?}");
    }
}
