//! Issue 20: the LLM step with several workers on one database, and beside items that do
//! not use it. A model server takes seconds to minutes per answer; the job lease must
//! outlive that (renewed while the step is in flight), and an item of another automation
//! must not wait behind it.

use std::time::Duration;

use tandem_domain::{ItemId, ItemStatus, Role};
use tandem_service::automations::TrainingFiles;
use tandem_service::worker::Worker;
use tandem_test_support::{FakeLlm, TestApp, backends, eventually};

fn llm_definition(base_url: &str) -> String {
    format!(
        r#"
name = "Receipts (LLM)"
slug = "receipts-llm"

[[fields]]
name = "total"
type = "money"
extractor = "llm"
threshold = 0.5

[llm]
base_url = "{base_url}"
model = "test-model"
timeout = 30
retries = 0
"#
    )
}

const PLAIN: &str = r#"
name = "Leads"
slug = "leads"

[[fields]]
name = "email"
type = "email"
extractor = "pattern"
"#;

async fn status(app: &TestApp, id: ItemId) -> ItemStatus {
    app.tandem.store.item(app.workspace, id).await.unwrap().status
}

#[tokio::test]
async fn two_workers_share_slow_llm_items_without_taking_them_from_each_other() {
    for backend in backends() {
        // Each answer takes three leases' time: without renewal the other worker would
        // take every item over, again and again.
        let app = TestApp::start_with_settings(backend, None, |s| {
            s.job_lease = Duration::from_millis(400);
        })
        .await;
        let llm = FakeLlm::start().await;
        llm.answer(r#"{"total": "9.00"}"#)
            .logprobs(true)
            .delay(Duration::from_millis(1200));
        app.apply(&llm_definition(&llm.base_url), TrainingFiles::default())
            .await;
        let actor = tandem_service::auth::Actor {
            user: app.user("ada@acme.io", Role::Builder).await,
        };
        let texts: Vec<String> = (0..4).map(|i| format!("Receipt {i}\nTotal: 9.00")).collect();
        let subs = texts
            .iter()
            .map(|t| tandem_service::intake::Submission {
                input: serde_json::json!({ "text": t }),
                idempotency_key: None,
            })
            .collect();
        let ids: Vec<ItemId> = app
            .tandem
            .submit(&actor, "receipts-llm", subs)
            .await
            .unwrap()
            .iter()
            .map(|i| i.item.id)
            .collect();

        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut workers = Vec::new();
        for id in ["instance-a", "instance-b"] {
            let mut stopped = stopped.clone();
            let worker = Worker::new(app.tandem.clone(), id);
            workers.push(tokio::spawn(worker.run(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })));
        }
        eventually("every item processed", Duration::from_secs(60), || async {
            for id in &ids {
                if status(&app, *id).await == ItemStatus::Queued {
                    return None;
                }
            }
            Some(())
        })
        .await;
        stop.send(true).unwrap();
        for w in workers {
            w.await.unwrap();
        }
        assert_eq!(
            llm.requests().len(),
            ids.len(),
            "each item asked once: no lease expired under a request in flight"
        );
        for id in &ids {
            let run = app
                .tandem
                .store
                .llm_run(app.workspace, *id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!((run.requests, run.error.as_deref()), (1, None), "{run:?}");
        }
    }
}

#[tokio::test]
async fn an_item_that_does_not_use_the_llm_does_not_wait_for_one_that_does() {
    for backend in backends() {
        let app = TestApp::start_with_settings(backend, None, |s| {
            s.shutdown_grace = Duration::from_millis(300);
        })
        .await;
        let llm = FakeLlm::start().await;
        // The model server never answers this one (within the 30 s timeout).
        llm.answer(r#"{"total": "9.00"}"#).hang_when("SLOW");
        app.apply(&llm_definition(&llm.base_url), TrainingFiles::default())
            .await;
        app.apply(PLAIN, TrainingFiles::default()).await;
        let actor = tandem_service::auth::Actor {
            user: app.user("ada@acme.io", Role::Builder).await,
        };
        let submit = |slug: &'static str, text: &'static str| {
            let tandem = app.tandem.clone();
            let actor = actor.clone();
            async move {
                let sub = tandem_service::intake::Submission {
                    input: serde_json::json!({ "text": text }),
                    idempotency_key: None,
                };
                tandem.submit(&actor, slug, vec![sub]).await.unwrap()[0].item.id
            }
        };
        let slow = submit("receipts-llm", "SLOW receipt\nTotal: 9.00").await;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let worker = Worker::new(app.tandem.clone(), "instance-a");
        let mut stopped_rx = stopped.clone();
        let running = tokio::spawn(worker.run(async move {
            let _ = stopped_rx.wait_for(|s| *s).await;
        }));
        eventually("the LLM request in flight", Duration::from_secs(10), || async {
            (!llm.requests().is_empty()).then_some(())
        })
        .await;
        // Submitted in the same batch's wake, and after it.
        let lead = submit("leads", "Write to ada@example.com").await;
        eventually(
            "the lead processed while the LLM item waits",
            Duration::from_secs(10),
            || async { (status(&app, lead).await != ItemStatus::Queued).then_some(()) },
        )
        .await;
        assert_eq!(
            status(&app, slow).await,
            ItemStatus::Queued,
            "still in the LLM step"
        );
        stop.send(true).unwrap();
        running.await.unwrap();
        drop(stopped);
    }
}
