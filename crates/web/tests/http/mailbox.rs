//! A shared mailbox as a source, against a real Dovecot started by the test (IMAP over TLS,
//! a certificate made for the test, a passwd-file user): messages delivered to the folder
//! become items exactly once, across polls, a message arriving between them, a restart,
//! and a cursor lost (a crash before it was advanced, or a new UIDVALIDITY).

use std::sync::Arc;

use serde_json::Value;
use tandem_domain::Role;
use tandem_service::Tandem;
use tandem_service::automations::TrainingFiles;
use tandem_service::documents::MailboxPoll;
use tandem_service::schedule::Scheduler;
use tandem_test_support::{Dovecot, TestApp, backends};

use super::get_json;

const DEFINITION: &str = r#"
name = "Shared mailbox"
slug = "mail"

[[fields]]
name = "link"
type = "url"
threshold = 0.1
"#;

const PASSWORD_ENV: &str = "TANDEM_TEST_IMAP_PASSWORD";

fn message(subject: &str) -> Vec<u8> {
    format!(
        "From: Ada <ada@example.com>\r\nTo: in@example.com\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.com>\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nDetails at https://example.com/{subject}\r\n"
    )
    .into_bytes()
}

/// The subjects of the automation's items, sorted.
async fn subjects(app: &TestApp, token: &str) -> Vec<String> {
    let (_, items) = get_json(app, token, "/api/v1/items?status=all&automation=mail").await;
    let mut out = Vec::new();
    for i in items["items"].as_array().unwrap() {
        let (_, item) = get_json(app, token, &format!("/api/v1/items/{}", i["id"])).await;
        let text = item["input"]["text"].as_str().unwrap_or_default().to_owned();
        let subject = text
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or_else(|| panic!("no subject in {item}"));
        out.push(subject.to_owned());
    }
    out.sort();
    out
}

#[tokio::test]
async fn mailbox_messages_become_items_exactly_once_across_polls_and_a_restart() {
    for backend in backends() {
        let imap = Dovecot::start().await;
        let app = TestApp::start_with_settings(backend, None, |s| {
            s.documents
                .env_overrides
                .insert(PASSWORD_ENV.into(), imap.password.clone());
        })
        .await;
        app.apply(
            &format!("{DEFINITION}{}", imap.mailbox_toml(PASSWORD_ENV)),
            TrainingFiles::default(),
        )
        .await;
        let token = app.token("builder@acme.io", Role::Builder).await;
        imap.append(&message("one")).await;
        imap.append(&message("two")).await;

        let polled = app.tandem.poll_mailbox(app.workspace, "mail").await.unwrap();
        assert_eq!((polled.messages, polled.created), (2, 2), "{polled:?}");
        // Polled again with nothing new: nothing read.
        let polled = app.tandem.poll_mailbox(app.workspace, "mail").await.unwrap();
        assert_eq!((polled.messages, polled.created), (0, 0), "{polled:?}");
        // A message arriving between polls is picked up, alone.
        imap.append(&message("three")).await;
        let polled = app.tandem.poll_mailbox(app.workspace, "mail").await.unwrap();
        assert_eq!((polled.messages, polled.created), (1, 1), "{polled:?}");

        // A restart: a new service on the same database, polling through the scheduled
        // task as a fresh worker does. It remembers where it was.
        imap.append(&message("four")).await;
        let store = tandem_store::open(&app.db.url).await.unwrap();
        let restarted = Tandem::new(
            store,
            Arc::new(tandem_service::SystemClock),
            (*app.tandem.settings).clone(),
        );
        let ran = Scheduler::new(vec![Arc::new(MailboxPoll)])
            .run_due(&restarted, "restarted-worker")
            .await
            .unwrap();
        assert_eq!(ran, 1);
        assert_eq!(subjects(&app, &token).await, ["four", "one", "three", "two"]);

        // The cursor lost (a crash after storing a message but before advancing, or the
        // folder recreated with a new UIDVALIDITY): every message is read again, and each
        // is still the one item it made.
        let automation = restarted
            .store
            .automation_by_slug(app.workspace, "mail")
            .await
            .unwrap()
            .unwrap();
        let key = format!("imaps://{}@127.0.0.1:{}/INBOX", imap.user, imap.port);
        let (validity, last) = restarted
            .store
            .mailbox_cursor(app.workspace, automation.id, &key)
            .await
            .unwrap()
            .expect("the cursor is kept");
        assert!(last >= 4, "{last}");
        restarted
            .store
            .set_mailbox_cursor(app.workspace, automation.id, &key, validity + 1, 0, 0)
            .await
            .unwrap();
        let polled = restarted.poll_mailbox(app.workspace, "mail").await.unwrap();
        assert_eq!((polled.messages, polled.created), (4, 0), "{polled:?}");
        assert_eq!(subjects(&app, &token).await, ["four", "one", "three", "two"]);

        // The items are processed like any message.
        app.drain().await;
        let (_, items) = get_json(&app, &token, "/api/v1/items?status=all&automation=mail").await;
        for i in items["items"].as_array().unwrap() {
            let (_, item) = get_json(&app, &token, &format!("/api/v1/items/{}", i["id"])).await;
            let link = item["fields"]
                .as_array()
                .and_then(|f| f.iter().find(|f| f["name"] == "link"))
                .cloned()
                .unwrap_or(Value::Null);
            assert!(
                link["value"]
                    .as_str()
                    .is_some_and(|v| v.starts_with("https://example.com/")),
                "{item}"
            );
        }
    }
}

#[tokio::test]
async fn a_wrong_password_or_a_missing_variable_is_said_plainly() {
    let imap = Dovecot::start().await;
    let backend = backends().into_iter().next().unwrap();
    let app = TestApp::start_with_settings(backend, None, |s| {
        s.documents
            .env_overrides
            .insert(PASSWORD_ENV.into(), "not the password".into());
    })
    .await;
    app.apply(
        &format!("{DEFINITION}{}", imap.mailbox_toml(PASSWORD_ENV)),
        TrainingFiles::default(),
    )
    .await;
    let e = app.tandem.poll_mailbox(app.workspace, "mail").await.unwrap_err();
    assert!(
        e.to_string().contains("signing in as in@example.com failed"),
        "{e}"
    );
    app.apply(
        &format!(
            "{DEFINITION}{}",
            imap.mailbox_toml("TANDEM_TEST_NO_SUCH_VARIABLE")
        ),
        TrainingFiles::default(),
    )
    .await;
    let e = app.tandem.poll_mailbox(app.workspace, "mail").await.unwrap_err();
    assert!(
        e.to_string()
            .contains("TANDEM_TEST_NO_SUCH_VARIABLE (named by email.mailbox.password_env) is not set"),
        "{e}"
    );
}
