//! Migration 1400: kept weeks that counted an approval or correction of an item reported
//! wrong as a second result from Tandem are dropped (to be computed again), for that
//! automation and for the workspace; every other kept week stays, and other workspaces'
//! weeks are untouched.

use sqlx::Row;
use tandem_domain::{AutomationId, WorkspaceId};
use tandem_store::*;
use tandem_test_support::{TestDb, backends};

/// Monday 2026-01-05 00:00 UTC, and the week after.
const W1: i64 = 1_767_571_200_000;
const W2: i64 = W1 + 604_800_000;

struct Before {
    acme: i64,
    a1: i64,
    a2: i64,
    other: i64,
    o: i64,
}

/// A database as the build before 1400 left it, written by hand.
async fn database_before_1400(db: &TestDb) -> Before {
    let pool = super::migrated_before(db, 1400).await;
    let id = |sql: String| {
        let pool = pool.clone();
        async move {
            sqlx::query(&sql)
                .fetch_one(&pool)
                .await
                .unwrap()
                .try_get::<i64, _>("id")
                .unwrap()
        }
    };
    let exec = |sql: String| {
        let pool = pool.clone();
        async move {
            sqlx::query(&sql).execute(&pool).await.unwrap();
        }
    };
    let acme =
        id("INSERT INTO workspaces (slug, name, created_at) VALUES ('acme', 'acme', 1) RETURNING id".into())
            .await;
    let other = id(
        "INSERT INTO workspaces (slug, name, created_at) VALUES ('other', 'other', 1) RETURNING id".into(),
    )
    .await;
    let automation = |ws: i64, slug: &'static str| {
        id(format!(
            "INSERT INTO automations (workspace_id, slug, name, created_at) VALUES ({ws}, '{slug}', '{slug}', 1) RETURNING id"
        ))
    };
    let (a1, a2, o) = (
        automation(acme, "a1").await,
        automation(acme, "a2").await,
        automation(other, "o").await,
    );
    let item = |ws: i64, a: i64, status: &'static str| {
        id(format!(
            "INSERT INTO items (workspace_id, automation_id, input, preview, status, created_at)
             VALUES ({ws}, {a}, '{{}}', 'x', '{status}', {W1}) RETURNING id"
        ))
    };
    let reported = item(acme, a1, "corrected").await;
    let plain = item(acme, a2, "approved").await;
    let theirs = item(other, o, "corrected").await;
    let report = |ws: i64, i: i64, a: i64, at: i64| {
        exec(format!(
            "INSERT INTO escaped_errors (workspace_id, item_id, automation_id, reporter, reason, created_at)
             VALUES ({ws}, {i}, {a}, 'Rita', 'wrong', {at})"
        ))
    };
    let decision = |ws: i64, i: i64, kind: &'static str, at: i64| {
        exec(format!(
            "INSERT INTO audit_events (workspace_id, item_id, kind, created_at) VALUES ({ws}, {i}, '{kind}', {at})"
        ))
    };
    // acme: a1's item reported and corrected in week 1; a2's item approved in week 2 without
    // any report. other: its item reported and corrected in week 2.
    report(acme, reported, a1, W1 + 100).await;
    decision(acme, reported, "reported_wrong", W1 + 100).await;
    decision(acme, reported, "corrected", W1 + 200).await;
    decision(acme, plain, "approved", W2 + 300).await;
    report(other, theirs, o, W2 + 100).await;
    decision(other, theirs, "corrected", W2 + 200).await;
    for (ws, a) in [(acme, a1), (acme, a2), (acme, 0), (other, o), (other, 0)] {
        for w in [W1, W2] {
            exec(format!(
                "INSERT INTO weekly_rollups (workspace_id, automation_id, week_start, figures, computed_at)
                 VALUES ({ws}, {a}, {w}, '{{}}', 1)"
            ))
            .await;
        }
    }
    pool.close().await;
    Before {
        acme,
        a1,
        a2,
        other,
        o,
    }
}

#[tokio::test]
async fn migration_1400_drops_only_the_kept_weeks_that_counted_a_reported_item_twice() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let b = database_before_1400(&db).await;
        let store = open(&db.url).await.unwrap();
        store.readiness().await.unwrap();
        let kept = |ws: i64, a: i64| {
            let store = store.clone();
            async move {
                let a = (a != 0).then_some(AutomationId(a));
                store
                    .rollups(WorkspaceId(ws), a, 0, i64::MAX)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|(w, _)| w)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            kept(b.acme, b.a1).await,
            vec![W2],
            "{backend:?}: a1's week 1 goes"
        );
        assert_eq!(kept(b.acme, 0).await, vec![W2], "the workspace's week 1 goes");
        assert_eq!(kept(b.acme, b.a2).await, vec![W1, W2], "a plain approval stays");
        assert_eq!(kept(b.other, b.o).await, vec![W1], "other's own week 2 goes");
        assert_eq!(kept(b.other, 0).await, vec![W1]);
    }
}
