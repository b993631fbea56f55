//! The SQLite write-ahead log stays bounded (issue 21): passive checkpoints alone once
//! left a 1.13 GB log beside a 131 MB database, and it kept that size after a clean
//! shutdown. The log is truncated when the writer is idle, and at shutdown.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tandem_domain::{AutomationId, WorkspaceId};
use tandem_store::*;
use tandem_test_support::{TestBackend, TestDb, backends, eventually};

use super::{new_item, new_version, workspace};

const MIB: u64 = 1 << 20;

fn wal_of(db: &TestDb) -> PathBuf {
    let file = db.url.trim_start_matches("sqlite://");
    PathBuf::from(format!("{file}-wal"))
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// About 24 MB of items (40 inputs and their previews) in one transaction.
async fn fill(store: &std::sync::Arc<dyn Store>, ws: WorkspaceId, automation: AutomationId, round: usize) {
    let text = "receipt line with some words 1234.56\n".repeat(8_000);
    let items: Vec<NewItem> = (0..40)
        .map(|i| new_item(&format!("{round}-{i} {text}"), None))
        .collect();
    store.insert_items(ws, automation, &items, 10).await.unwrap();
}

#[tokio::test]
async fn the_sqlite_log_is_truncated_when_idle_and_at_shutdown() {
    if !backends().contains(&TestBackend::Sqlite) {
        return;
    }
    let db = TestDb::new(TestBackend::Sqlite).await;
    let store = open(&db.url).await.unwrap();
    let wal = wal_of(&db);
    let ws = workspace(&store, "acme").await;
    let saved = store.save_version(ws, &new_version("r", "h"), 1).await.unwrap();
    fill(&store, ws, saved.automation.id, 0).await;
    let filled = size(&wal);
    assert!(
        filled > 16 * MIB,
        "the writes went through the log ({filled} bytes)"
    );

    // Idle now: the log is folded in and its file cut back.
    eventually("the idle log to be truncated", Duration::from_secs(30), || {
        let s = size(&wal);
        async move { (s < MIB).then_some(()) }
    })
    .await;

    // Written again, then shut down at once: nothing is left in the log.
    fill(&store, ws, saved.automation.id, 1).await;
    store.shutdown().await.unwrap();
    assert_eq!(size(&wal), 0, "the log is empty after shutdown");
    assert_eq!(
        store.queue_depth().await.unwrap(),
        80,
        "and every item is still there"
    );
}
