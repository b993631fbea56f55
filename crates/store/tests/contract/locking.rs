//! Two processes on one SQLite file (a `serve` and a `worker`, or two instances): a write
//! transaction that reads before it writes must wait for the other process's writer, not
//! fail with "database is locked". A deferred transaction cannot wait at its first write
//! (SQLite refuses the upgrade at once), so the store begins every write transaction with
//! `BEGIN IMMEDIATE`. This failed the suite now and then before it did.

use std::time::Duration;

use sqlx::{Connection, Executor};
use tandem_store::*;
use tandem_test_support::{TestBackend, TestDb, backends};

use super::{new_item, new_version, workspace};

#[tokio::test]
async fn a_write_that_reads_first_waits_for_another_processs_writer() {
    if !backends().contains(&TestBackend::Sqlite) {
        return;
    }
    let db = TestDb::new(TestBackend::Sqlite).await;
    let store = open(&db.url).await.unwrap();
    let ws = workspace(&store, "acme").await;
    let automation = store
        .save_version(ws, &new_version("r", "h"), 1)
        .await
        .unwrap()
        .automation
        .id;

    // The other process: its own connection takes the write lock and keeps it a while.
    sqlx::any::install_default_drivers();
    let mut other = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    other.execute("BEGIN IMMEDIATE").await.unwrap();
    let holder = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        other.execute("COMMIT").await.unwrap();
    });
    tokio::time::sleep(Duration::from_millis(50)).await;

    // A bulk load checks the automation is the workspace's, then inserts: it waits.
    let item = LoadedItem {
        input: "{\"text\":\"parcel 1\"}".into(),
        preview: "parcel 1".into(),
        status: tandem_domain::ItemStatus::NeedsReview,
        version_id: None,
        outcome: None,
        final_result: None,
        confidence: None,
        reason_codes: Vec::new(),
        created_at: 1_000,
        processed_at: None,
        decision: None,
    };
    let loaded = store.load_items(ws, automation, &[item]).await;
    assert!(loaded.is_ok(), "the load waited for the other writer: {loaded:?}");
    holder.await.unwrap();

    // And intake, while the other process writes again.
    let mut other = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    other.execute("BEGIN IMMEDIATE").await.unwrap();
    let holder = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        other.execute("COMMIT").await.unwrap();
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let taken = store
        .insert_items(ws, automation, &[new_item("parcel 2", Some("k2"))], 10)
        .await;
    assert!(taken.is_ok(), "intake waited for the other writer: {taken:?}");
    holder.await.unwrap();
    assert_eq!(
        store.queue_depth().await.unwrap(),
        1,
        "the intake's item is queued"
    );
}
