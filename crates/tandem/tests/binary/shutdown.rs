//! SIGTERM on an instance that holds claimed jobs: it gives them back as it exits, so
//! they are claimable at once (not when their lease runs out), and every item is still
//! processed once and delivered exactly once.

use std::collections::BTreeMap;
use std::time::Duration;

use tandem_store::{Job, JobKind, Store};
use tandem_test_support::{FakeLlm, Receiver, TestDb, backends, eventually};

use crate::instance::{Instance, definition, free_port, prepare_with};
use crate::kill::check_exactly_once;

const ITEMS: usize = 24;

/// The contacts automation of the kill tests, with an LLM reading the e-mail address
/// beside the pattern extractor (a shadow: it does not decide acceptance). The LLM step
/// is the part of a batch that waits on the network, so a slow LLM holds a batch in hand.
fn definition_with_llm(receiver: &str, llm: &FakeLlm) -> String {
    let base = definition(receiver);
    let (fields, destinations) = base
        .split_once("[[destinations]]")
        .expect("the definition has destinations");
    format!(
        "{fields}shadow_extractor = \"llm\"\n\n[[destinations]]{destinations}\n[llm]\nbase_url = \"{}\"\nmodel = \"test-model\"\ntimeout = 3600\nretries = 0\n",
        llm.base_url
    )
}

fn now_millis() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_millis(),
    )
    .expect("a time in range")
}

/// The process jobs free to claim right now, claimed by a probe and given straight back.
async fn claimable(store: &dyn Store) -> Vec<Job> {
    let now = now_millis();
    let jobs = store
        .claim_jobs("probe", 10_000, now + 60_000, now)
        .await
        .expect("claim");
    store.release_jobs("probe").await.expect("release");
    jobs.into_iter().filter(|j| j.kind == JobKind::Process).collect()
}

#[tokio::test]
async fn sigterm_gives_held_jobs_back_at_once_and_nothing_is_lost() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let receiver = Receiver::start().await;
        let llm = FakeLlm::start().await;
        llm.answer(r#"{"email": "someone@example.com"}"#)
            .delay(Duration::from_secs(3600));
        let token = prepare_with(&db.url, &definition_with_llm(&receiver.url, &llm)).await;
        let dir = tempfile::tempdir().unwrap();
        // Leases far longer than the test: a job comes back only if it is given back.
        let mut a = Instance::serve_with(
            &db.url,
            dir.path(),
            free_port(),
            &[
                ("TANDEM_WORKER__LEASE_SECONDS", "3600"),
                ("TANDEM_WORKER__SHUTDOWN_GRACE_SECONDS", "1"),
            ],
        )
        .await;

        let client = reqwest::Client::new();
        let mut accepted = BTreeMap::new();
        for i in 0..ITEMS {
            let resp = client
                .post(format!("{}/api/v1/automations/contacts/items", a.url))
                .bearer_auth(&token)
                .json(&serde_json::json!({ "text": format!("Please reply to person{i}@example.com today.") }))
                .send()
                .await
                .expect("intake answers");
            assert!(resp.status().is_success(), "{backend:?}: {}", resp.status());
            let body: serde_json::Value = resp.json().await.unwrap();
            accepted.insert(i, body["id"].as_i64().expect("an item id"));
        }

        // The instance has a batch in hand: its LLM step is waiting for an answer.
        eventually("the instance to ask the LLM", Duration::from_secs(60), || {
            let asked = llm.requests().len();
            async move { (asked > 0).then_some(()) }
        })
        .await;
        let store = tandem_store::open(&db.url).await.expect("open");
        let free = claimable(store.as_ref()).await.len();
        assert!(
            free < ITEMS,
            "{backend:?}: the instance holds some jobs ({free} of {ITEMS} free)"
        );

        assert!(
            a.terminate().await.success(),
            "{backend:?}: a clean exit on SIGTERM"
        );
        let after = claimable(store.as_ref()).await;
        assert_eq!(
            after.len(),
            ITEMS,
            "{backend:?}: every job is claimable as soon as the instance exits, an hour before its lease ends"
        );
        for job in &after {
            assert_eq!(
                job.attempts, 1,
                "{backend:?}: the attempt cut short by the shutdown is not counted (job {})",
                job.id
            );
        }

        // Another instance takes over and everything arrives once.
        llm.delay(Duration::ZERO);
        let mut b = Instance::worker(&db.url, dir.path());
        check_exactly_once(&db, &receiver, &accepted, ITEMS).await;
        assert!(b.terminate().await.success(), "{backend:?}: worker exits cleanly");
    }
}
