//! A poison item (issue 21): one whose processing kills its process every time. The real
//! binary is killed with SIGKILL while it holds the item (its LLM step waits on a server
//! that never answers for that item), restarted, killed again; then the item is in the
//! inbox saying it could not be processed, and the items that came with it are processed.
//! On PostgreSQL two instances share the queue, as a scaled-out deployment would.

use std::time::Duration;

use tandem_domain::{ItemId, ItemStatus, WorkspaceId};
use tandem_test_support::{FakeLlm, TestBackend, TestDb, backends, eventually};

use crate::instance::{Instance, free_port, prepare_with};

/// Contacts whose e-mail address an LLM also reads (a shadow beside the pattern), so each
/// item's processing waits on the LLM server. `POISON` marks the item it never answers.
fn definition(llm: &FakeLlm) -> String {
    format!(
        r#"
name = "Contacts"
slug = "contacts"

[[fields]]
name = "email"
type = "email"
required = true
threshold = 0.5
shadow_extractor = "llm"

[llm]
base_url = "{}"
model = "test-model"
timeout = 3600
retries = 0
"#,
        llm.base_url
    )
}

/// Two attempts, each counted when the job is claimed.
const ENV: [(&str, &str); 1] = [("TANDEM_WORKER__PROCESS_ATTEMPTS", "2")];

async fn post(url: &str, token: &str, text: &str) -> i64 {
    let resp = reqwest::Client::new()
        .post(format!("{url}/api/v1/automations/contacts/items"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "text": text }))
        .send()
        .await
        .expect("intake answers");
    assert!(resp.status().is_success(), "{}", resp.status());
    let body: serde_json::Value = resp.json().await.unwrap();
    body["id"].as_i64().expect("an item id")
}

/// Wait until the LLM server has been asked about the poison item `n` times in all: an
/// instance is then holding it, stuck.
async fn held_for_the_nth_time(llm: &FakeLlm, n: usize) {
    eventually(
        "an instance to take up the poison item",
        Duration::from_secs(60),
        || {
            let asked = llm
                .requests()
                .iter()
                .filter(|r| r.to_string().contains("POISON"))
                .count();
            async move { (asked >= n).then_some(()) }
        },
    )
    .await;
}

async fn check_quarantined(db: &TestDb, poison: i64, others: &[i64]) {
    let store = tandem_store::open(&db.url).await.expect("open");
    let ws: WorkspaceId = store.workspace_by_slug("default").await.unwrap().unwrap().id;
    for &id in others {
        eventually("the other items to be processed", Duration::from_secs(60), || {
            let store = store.clone();
            async move {
                let s = store.item(ws, ItemId(id)).await.ok()?.status;
                matches!(s, ItemStatus::AutoAccepted | ItemStatus::NeedsReview).then_some(())
            }
        })
        .await;
    }
    let item = eventually(
        "the poison item to reach the inbox",
        Duration::from_secs(60),
        || {
            let store = store.clone();
            async move {
                let item = store.item(ws, ItemId(poison)).await.ok()?;
                (item.status == ItemStatus::Failed).then_some(item)
            }
        },
    )
    .await;
    let outcome = item.outcome.unwrap_or_default();
    assert!(
        outcome.contains("could not be processed (2 attempts)"),
        "the reason in words: {outcome}"
    );
    assert_eq!(
        store.item_reasons(ws, ItemId(poison)).await.unwrap(),
        vec!["engine_error"]
    );
    assert_eq!(
        store.queue_depth().await.unwrap(),
        0,
        "nothing is left to take up"
    );
}

#[tokio::test]
async fn a_poison_item_is_quarantined_after_its_attempts_on_sqlite() {
    if !backends().contains(&TestBackend::Sqlite) {
        return;
    }
    let db = TestDb::new(TestBackend::Sqlite).await;
    let llm = FakeLlm::start().await;
    llm.answer(r#"{"email": "someone@example.com"}"#)
        .hang_when("POISON");
    let token = prepare_with(&db.url, &definition(&llm)).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();

    let mut a = Instance::serve_with(&db.url, dir.path(), port, &ENV).await;
    let poison = post(&a.url, &token, "POISON from mallory@example.com").await;
    let mut others = Vec::new();
    for i in 0..3 {
        others.push(post(&a.url, &token, &format!("reach person{i}@example.com")).await);
    }
    held_for_the_nth_time(&llm, 1).await;
    a.kill();
    // The restarted instance takes the item up again when its lease runs out, alone.
    let mut a = Instance::serve_with(&db.url, dir.path(), port, &ENV).await;
    held_for_the_nth_time(&llm, 2).await;
    a.kill();
    let mut a = Instance::serve_with(&db.url, dir.path(), port, &ENV).await;
    check_quarantined(&db, poison, &others).await;
    assert!(a.terminate().await.success(), "a clean exit on SIGTERM");
}

#[tokio::test]
async fn a_poison_item_is_quarantined_across_two_instances_on_postgres() {
    if !backends().contains(&TestBackend::Postgres) {
        return;
    }
    let db = TestDb::new(TestBackend::Postgres).await;
    let llm = FakeLlm::start().await;
    llm.answer(r#"{"email": "someone@example.com"}"#)
        .hang_when("POISON");
    let token = prepare_with(&db.url, &definition(&llm)).await;
    let dir = tempfile::tempdir().unwrap();

    // Both instances die while one of them holds the item: whichever took it.
    let mut a = Instance::serve_with(&db.url, dir.path(), free_port(), &ENV).await;
    let mut b = Instance::serve_with(&db.url, dir.path(), free_port(), &ENV).await;
    let poison = post(&a.url, &token, "POISON from mallory@example.com").await;
    let mut others = Vec::new();
    for i in 0..3 {
        let url = if i % 2 == 0 { &b.url } else { &a.url };
        others.push(post(url, &token, &format!("reach person{i}@example.com")).await);
    }
    held_for_the_nth_time(&llm, 1).await;
    a.kill();
    b.kill();
    let mut c = Instance::serve_with(&db.url, dir.path(), free_port(), &ENV).await;
    held_for_the_nth_time(&llm, 2).await;
    c.kill();
    // Two fresh instances: neither takes the item up a third time.
    let mut d = Instance::serve_with(&db.url, dir.path(), free_port(), &ENV).await;
    let mut e = Instance::serve_with(&db.url, dir.path(), free_port(), &ENV).await;
    check_quarantined(&db, poison, &others).await;
    assert_eq!(
        llm.requests()
            .iter()
            .filter(|r| r.to_string().contains("POISON"))
            .count(),
        2,
        "the poison item was taken up twice, not a third time"
    );
    assert!(d.terminate().await.success(), "a clean exit on SIGTERM");
    assert!(e.terminate().await.success(), "a clean exit on SIGTERM");
}
