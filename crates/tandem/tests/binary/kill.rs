//! The fault tests: items fed over HTTP while an instance is killed with SIGKILL. Every
//! accepted item must be processed once and delivered exactly once as a receiver that
//! de-duplicates on the delivery id sees it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tandem_domain::{ItemId, ItemStatus, WorkspaceId};
use tandem_store::DeliveryFilter;
use tandem_test_support::{Receiver, TestBackend, TestDb, backends, eventually};

use crate::instance::{Instance, free_port, prepare};

const ITEMS: usize = 240;
const FEEDERS: usize = 4;

/// Clients that post `ITEMS` items, one request each, spread over the live `targets`. A
/// request that fails (the instance died, or is restarting) is retried with the same
/// Idempotency-Key on the next target until it is accepted, as a careful client would.
#[derive(Clone)]
struct Feed {
    targets: Arc<Mutex<Vec<String>>>,
    accepted: Arc<Mutex<BTreeMap<usize, i64>>>,
    count: Arc<AtomicUsize>,
    token: String,
}

impl Feed {
    fn new(targets: Vec<String>, token: String) -> Feed {
        Feed {
            targets: Arc::new(Mutex::new(targets)),
            accepted: Arc::default(),
            count: Arc::default(),
            token,
        }
    }

    fn start(&self) -> Vec<tokio::task::JoinHandle<()>> {
        (0..FEEDERS)
            .map(|f| {
                let feed = self.clone();
                tokio::spawn(async move {
                    let client = reqwest::Client::new();
                    for i in (f..ITEMS).step_by(FEEDERS) {
                        feed.post(&client, i).await;
                    }
                })
            })
            .collect()
    }

    async fn post(&self, client: &reqwest::Client, i: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        for attempt in 0.. {
            let target = {
                let t = self.targets.lock().unwrap();
                t[(i + attempt) % t.len()].clone()
            };
            let sent = client
                .post(format!("{target}/api/v1/automations/contacts/items"))
                .bearer_auth(&self.token)
                .header("Idempotency-Key", format!("item-{i}"))
                .json(&serde_json::json!({ "text": format!("Please reply to person{i}@example.com today.") }))
                .send()
                .await;
            if let Ok(resp) = sent
                && resp.status().is_success()
                && let Ok(body) = resp.json::<serde_json::Value>().await
            {
                let id = body["id"].as_i64().expect("an item id");
                self.accepted.lock().unwrap().insert(i, id);
                self.count.fetch_add(1, Ordering::SeqCst);
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "item {i} never accepted");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn wait_for(&self, n: usize) {
        eventually("items to be accepted", Duration::from_secs(120), || {
            let c = self.count.load(Ordering::SeqCst);
            async move { (c >= n).then_some(()) }
        })
        .await;
    }
}

/// Every accepted item processed once and delivered exactly once (per delivery id), and
/// nothing else delivered; `accepted` maps each of the `items` posted to its item id.
pub async fn check_exactly_once(
    db: &TestDb,
    receiver: &Receiver,
    accepted: &BTreeMap<usize, i64>,
    items: usize,
) {
    assert_eq!(accepted.len(), items, "every item was accepted in the end");
    let ids: BTreeSet<i64> = accepted.values().copied().collect();
    assert_eq!(ids.len(), items, "one item per idempotency key");
    eventually(
        "every accepted item to be delivered",
        Duration::from_secs(120),
        || {
            let delivered = receiver.delivered_items();
            async move { (delivered.len() >= items).then_some(()) }
        },
    )
    .await;
    let delivered = receiver.delivered_items();
    assert_eq!(
        delivered.iter().copied().collect::<BTreeSet<_>>(),
        ids,
        "the delivered items are exactly the accepted ones"
    );
    assert_eq!(delivered.len(), items, "one delivery id per item: {delivered:?}");
    let unique = receiver.unique();
    for r in unique.values() {
        assert!(r.signature.is_some(), "signed");
    }

    let store = tandem_store::open(&db.url).await.expect("open");
    let ws: WorkspaceId = store.workspace_by_slug("default").await.unwrap().unwrap().id;
    for id in &ids {
        let item = store.item(ws, ItemId(*id)).await.unwrap();
        assert_eq!(item.status, ItemStatus::AutoAccepted, "item {id}");
        assert_eq!(item.revision, 1, "item {id} was processed once");
    }
    let deliveries = store
        .list_deliveries(
            ws,
            &DeliveryFilter {
                limit: 1000,
                ..DeliveryFilter::default()
            },
        )
        .await
        .unwrap();
    eprintln!(
        "{} items, {} delivery rows, {} requests at the receiver ({} repeats of an id it had)",
        ids.len(),
        deliveries.len(),
        receiver.all().len(),
        receiver.all().len() - unique.len()
    );
    assert_eq!(deliveries.len(), items, "one delivery per item");
    eventually("the queue to drain", Duration::from_secs(60), || {
        let store = store.clone();
        async move { (store.queue_depth().await.ok()? == 0).then_some(()) }
    })
    .await;
}

#[tokio::test]
async fn two_instances_on_postgres_one_killed_mid_stream() {
    if !backends().contains(&TestBackend::Postgres) {
        return;
    }
    let db = TestDb::new(TestBackend::Postgres).await;
    let receiver = Receiver::start().await;
    let token = prepare(&db.url, &receiver.url).await;
    let dir = tempfile::tempdir().unwrap();
    let mut a = Instance::serve(&db.url, dir.path(), free_port()).await;
    let mut b = Instance::serve(&db.url, dir.path(), free_port()).await;
    // A worker with no web server shares the queue too.
    let mut w = Instance::worker(&db.url, dir.path());

    let feed = Feed::new(vec![a.url.clone(), b.url.clone()], token);
    let feeders = feed.start();
    feed.wait_for(ITEMS / 3).await;
    a.kill();
    feed.targets.lock().unwrap().retain(|t| *t != a.url);
    for f in feeders {
        f.await.unwrap();
    }
    let accepted = feed.accepted.lock().unwrap().clone();
    check_exactly_once(&db, &receiver, &accepted, ITEMS).await;

    // The survivors stop cleanly on SIGTERM.
    assert!(
        w.terminate().await.success(),
        "tandem worker exits cleanly on SIGTERM"
    );
    assert!(
        b.terminate().await.success(),
        "tandem serve exits cleanly on SIGTERM"
    );
}

#[tokio::test]
async fn one_instance_on_sqlite_killed_and_restarted() {
    if !backends().contains(&TestBackend::Sqlite) {
        return;
    }
    let db = TestDb::new(TestBackend::Sqlite).await;
    let receiver = Receiver::start().await;
    let token = prepare(&db.url, &receiver.url).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut a = Instance::serve(&db.url, dir.path(), port).await;

    let feed = Feed::new(vec![a.url.clone()], token);
    let feeders = feed.start();
    feed.wait_for(ITEMS / 3).await;
    a.kill();
    // Restarted on the same port; the clients keep retrying meanwhile.
    let mut a = Instance::serve(&db.url, dir.path(), port).await;
    for f in feeders {
        f.await.unwrap();
    }
    let accepted = feed.accepted.lock().unwrap().clone();
    check_exactly_once(&db, &receiver, &accepted, ITEMS).await;
    assert!(
        a.terminate().await.success(),
        "tandem serve exits cleanly on SIGTERM"
    );
}
