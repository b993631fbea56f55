//! The inbox's storage contract: review policies, claims, escalations, notifications,
//! "this looks wrong" and reviewer statistics, on each backend.

use std::sync::Arc;

use tandem_domain::{AutomationId, ItemId, ItemStatus, Role, UserId, VersionId, WorkspaceId};
use tandem_store::*;

use super::{each_backend, new_item, new_version, processed, workspace};

async fn user(store: &Arc<dyn Store>, ws: WorkspaceId, email: &str, name: &str) -> UserId {
    store
        .create_user(
            ws,
            &NewUser {
                email: email.into(),
                name: name.into(),
                role: Role::Reviewer,
                password_hash: "h".into(),
            },
            1,
        )
        .await
        .unwrap()
        .id
}

/// An automation with `n` items processed at `at`: the first `accepted` accepted
/// automatically, the rest waiting in the inbox.
async fn items(
    store: &Arc<dyn Store>,
    ws: WorkspaceId,
    slug: &str,
    n: usize,
    accepted: usize,
    created: i64,
    at: i64,
) -> (AutomationId, VersionId, Vec<ItemId>) {
    let saved = store.save_version(ws, &new_version(slug, slug), 1).await.unwrap();
    let new: Vec<NewItem> = (0..n).map(|i| new_item(&format!("{slug} {i}"), None)).collect();
    let ids: Vec<ItemId> = store
        .insert_items(ws, saved.automation.id, &new, created)
        .await
        .unwrap()
        .iter()
        .map(|i| i.item.id)
        .collect();
    let jobs = store.claim_jobs("w", 100, at + 1_000, at).await.unwrap();
    let done: Vec<Processed> = jobs
        .iter()
        .map(|j| {
            let k = ids.iter().position(|id| Some(*id) == j.item_id).unwrap();
            processed(
                j,
                saved.version.id,
                k < accepted,
                if k < accepted { &[] } else { &["low_confidence"] },
            )
        })
        .collect();
    store.complete_processing("w", &done, at).await.unwrap();
    (saved.automation.id, saved.version.id, ids)
}

fn policy(ws: WorkspaceId, a: AutomationId, priority: i64, sla_ms: Option<i64>) -> ReviewPolicyRow {
    ReviewPolicyRow {
        workspace_id: ws,
        automation_id: a,
        priority,
        sla_ms,
        escalate_to: "[]".into(),
        notify: "[]".into(),
    }
}

#[tokio::test]
async fn the_inbox_sorts_by_priority_and_due_time_and_filters_overdue() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        // "slow": normal priority, a 10 s SLA; "fast": urgent, a 1 s SLA, arriving later.
        let (slow, _, slow_ids) = items(&store, ws, "slow", 2, 0, 100, 150).await;
        let (fast, _, fast_ids) = items(&store, ws, "fast", 1, 0, 200, 250).await;
        let (_, _, none_ids) = items(&store, ws, "none", 1, 0, 50, 300).await;
        store
            .set_review_policy(&policy(ws, slow, 1, Some(10_000)), 1)
            .await
            .unwrap();
        store
            .set_review_policy(&policy(ws, fast, 3, Some(1_000)), 1)
            .await
            .unwrap();
        // Updating replaces the policy.
        store
            .set_review_policy(&policy(ws, fast, 3, Some(2_000)), 2)
            .await
            .unwrap();

        let ids = |f: ItemFilter| {
            let store = store.clone();
            async move {
                store
                    .list_items(ws, &f)
                    .await
                    .unwrap()
                    .iter()
                    .map(|i| i.id)
                    .collect::<Vec<_>>()
            }
        };
        let by_age = ids(ItemFilter::default()).await;
        assert_eq!(by_age, vec![none_ids[0], slow_ids[0], slow_ids[1], fast_ids[0]]);
        let by_priority = ids(ItemFilter {
            sort: ItemSort::Priority,
            ..Default::default()
        })
        .await;
        assert_eq!(by_priority[0], fast_ids[0], "urgent first");
        assert_eq!(
            by_priority[1..],
            [none_ids[0], slow_ids[0], slow_ids[1]],
            "then by age (no policy is normal)"
        );
        let by_due = ids(ItemFilter {
            sort: ItemSort::Due,
            ..Default::default()
        })
        .await;
        assert_eq!(
            by_due,
            vec![fast_ids[0], slow_ids[0], slow_ids[1], none_ids[0]],
            "no due time sorts last"
        );
        let overdue = ids(ItemFilter {
            due_before: Some(5_000),
            ..Default::default()
        })
        .await;
        assert_eq!(overdue, vec![fast_ids[0]]);
        let list = store.list_items(ws, &ItemFilter::default()).await.unwrap();
        let f = list.iter().find(|i| i.id == fast_ids[0]).unwrap();
        assert_eq!((f.priority, f.due_at), (3, Some(2_200)));
        let n = list.iter().find(|i| i.id == none_ids[0]).unwrap();
        assert_eq!((n.priority, n.due_at), (1, None));
        let new = ids(ItemFilter {
            processed_after: Some(200),
            ..Default::default()
        })
        .await;
        assert_eq!(new, vec![none_ids[0], fast_ids[0]]);

        // Policies belong to their workspace.
        let other = workspace(&store, "other").await;
        assert!(matches!(
            store.set_review_policy(&policy(other, slow, 1, None), 1).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(store.review_policy(other, slow).await.unwrap().is_none());
        assert_eq!(
            store.review_policy(ws, fast).await.unwrap().unwrap().sla_ms,
            Some(2_000)
        );
    })
    .await;
}

#[tokio::test]
async fn a_claim_holds_an_item_for_one_reviewer_until_it_expires() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let rita = user(&store, ws, "r@x.io", "Rita").await;
        let sam = user(&store, ws, "s@x.io", "Sam").await;
        let (_, _, ids) = items(&store, ws, "a", 2, 1, 10, 20).await;
        let (accepted, open) = (ids[0], ids[1]);

        let ClaimOutcome::Claimed(c) = store.claim_item(ws, open, rita, 1_000, 100).await.unwrap() else {
            panic!("the first reviewer gets the item");
        };
        assert_eq!((c.user_name.as_str(), c.expires_at), ("Rita", 1_000));
        let ClaimOutcome::HeldBy(h) = store.claim_item(ws, open, sam, 1_100, 200).await.unwrap() else {
            panic!("a second reviewer sees who holds it");
        };
        assert_eq!(h.user_id, rita);
        // Renewing one's own claim keeps when it started.
        let ClaimOutcome::Claimed(again) = store.claim_item(ws, open, rita, 1_500, 300).await.unwrap() else {
            panic!("renew");
        };
        assert_eq!((again.claimed_at, again.expires_at), (100, 1_500));
        assert_eq!(
            store
                .active_claims(ws, &[open, accepted], 400)
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(
            store.active_claims(ws, &[open], 1_500).await.unwrap().is_empty(),
            "expired"
        );
        let ClaimOutcome::Claimed(taken) = store.claim_item(ws, open, sam, 2_000, 1_500).await.unwrap()
        else {
            panic!("an expired claim is free to take");
        };
        assert_eq!((taken.user_id, taken.claimed_at), (sam, 1_500));
        store.release_claim(ws, open, rita).await.unwrap();
        assert_eq!(
            store.active_claims(ws, &[open], 1_600).await.unwrap().len(),
            1,
            "only the holder releases"
        );
        store.release_claim(ws, open, sam).await.unwrap();
        assert!(store.active_claims(ws, &[open], 1_600).await.unwrap().is_empty());

        assert_eq!(
            store.claim_item(ws, accepted, rita, 9_000, 1_700).await.unwrap(),
            ClaimOutcome::NotOpen
        );
        let other = workspace(&store, "other").await;
        assert!(matches!(
            store.claim_item(other, open, rita, 9_000, 1_700).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(store.active_claims(other, &[open], 0).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn overdue_items_escalate_once() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let (a, _, ids) = items(&store, ws, "a", 3, 1, 100, 110).await;
        let mut p = policy(ws, a, 2, Some(1_000));
        p.escalate_to = "[\"lead@x.io\"]".into();
        store.set_review_policy(&p, 1).await.unwrap();
        assert!(store.overdue_items(1_099, 10).await.unwrap().is_empty());
        let due = store.overdue_items(1_100, 10).await.unwrap();
        assert_eq!(
            due.iter().map(|o| o.item_id).collect::<Vec<_>>(),
            vec![ids[1], ids[2]],
            "open items only"
        );
        assert_eq!((due[0].workspace_id, due[0].due_at), (ws, 1_100));
        assert_eq!(store.notifying_policies().await.unwrap().len(), 1);

        assert!(
            store
                .mark_escalated(ws, ids[1], 1_100, "{}", 1_200)
                .await
                .unwrap()
        );
        assert!(
            !store
                .mark_escalated(ws, ids[1], 1_100, "{}", 1_300)
                .await
                .unwrap(),
            "once"
        );
        assert_eq!(store.escalated_items(ws, &ids).await.unwrap(), vec![ids[1]]);
        let left = store.overdue_items(2_000, 10).await.unwrap();
        assert_eq!(left.iter().map(|o| o.item_id).collect::<Vec<_>>(), vec![ids[2]]);
        let events = store.audit_events(ws, ids[1]).await.unwrap();
        assert_eq!(events.iter().filter(|e| e.kind == "escalated").count(), 1);
        let other = workspace(&store, "other").await;
        assert!(
            !store
                .mark_escalated(other, ids[2], 1_100, "{}", 1_200)
                .await
                .unwrap(),
            "not another workspace's item"
        );
    })
    .await;
}

#[tokio::test]
async fn notifications_are_logged_per_automation_and_kind() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let (a, _, ids) = items(&store, ws, "a", 1, 0, 1, 2).await;
        assert_eq!(store.last_notification_at(ws, a, "digest").await.unwrap(), None);
        for (at, kind) in [(10, "digest"), (20, "escalation"), (30, "digest")] {
            let n = NewNotification {
                automation_id: Some(a),
                kind: kind.into(),
                channel: "Slack webhook at x".into(),
                item_ids: ids.clone(),
                error: (at == 20).then(|| "cannot connect".into()),
                retry: None,
            };
            store.record_notification(ws, &n, at).await.unwrap();
        }
        assert_eq!(
            store.last_notification_at(ws, a, "digest").await.unwrap(),
            Some(30)
        );
        let all = store.list_notifications(ws, None, 10).await.unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[1].error.as_deref(), Some("cannot connect"));
        assert_eq!(all[1].status, NotificationStatus::Failed);
        assert_eq!(all[0].status, NotificationStatus::Sent);
        assert_eq!(all[0].item_ids, ids);
        let failed = store
            .list_notifications(ws, Some(NotificationStatus::Failed), 10)
            .await
            .unwrap();
        assert_eq!(failed.len(), 1);
        let other = workspace(&store, "other").await;
        assert!(
            store
                .list_notifications(other, None, 10)
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn a_failed_notification_is_retried_once_per_claim_until_sent_or_given_up() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let other = workspace(&store, "other").await;
        let (a, _, ids) = items(&store, ws, "a", 1, 0, 1, 2).await;
        let failing = |payload: &str, at: i64| NewNotification {
            automation_id: Some(a),
            kind: "digest".into(),
            channel: "e-mail to ops@acme.io".into(),
            item_ids: ids.clone(),
            error: Some("e-mail not sent: 451 try later".into()),
            retry: Some((at, payload.into())),
        };
        let first = store
            .record_notification(ws, &failing("one", 1_100), 1_000)
            .await
            .unwrap();
        let second = store
            .record_notification(ws, &failing("two", 1_200), 1_050)
            .await
            .unwrap();
        assert_ne!(first, second);

        // Nothing is due before its time, and nothing in another workspace.
        assert!(store.due_notifications(ws, 1_099, 10).await.unwrap().is_empty());
        assert!(
            store
                .due_notifications(other, 5_000, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let due = store.due_notifications(ws, 1_200, 10).await.unwrap();
        assert_eq!(due.iter().map(|d| d.id).collect::<Vec<_>>(), vec![first, second]);
        assert_eq!((due[0].attempts, due[0].payload.as_str()), (1, "one"));

        // One claim wins; a second claim on the same reading loses; another workspace
        // cannot claim it at all.
        assert!(
            !store
                .claim_notification(other, &due[0], 9_000, 1_200)
                .await
                .unwrap()
        );
        assert!(store.claim_notification(ws, &due[0], 9_000, 1_200).await.unwrap());
        assert!(!store.claim_notification(ws, &due[0], 9_000, 1_200).await.unwrap());
        assert!(
            store
                .due_notifications(ws, 1_300, 10)
                .await
                .unwrap()
                .iter()
                .all(|d| d.id != first),
            "a claimed notification is not due until its lease ends"
        );

        // Failed again: due later, with the new error; then sent: payload and error go.
        store
            .finish_notification(ws, first, Some("attempt 2 of 5: 451"), Some(3_000))
            .await
            .unwrap();
        let log = store
            .list_notifications(ws, Some(NotificationStatus::Retrying), 10)
            .await
            .unwrap();
        let row = log.iter().find(|n| n.id == first).unwrap();
        assert_eq!((row.attempts, row.next_attempt_at), (2, Some(3_000)));
        assert_eq!(row.last_attempt_at, Some(1_200));
        assert_eq!(row.error.as_deref(), Some("attempt 2 of 5: 451"));
        let due = store.due_notifications(ws, 3_000, 10).await.unwrap();
        let again = due.iter().find(|d| d.id == first).unwrap();
        assert_eq!((again.attempts, again.payload.as_str()), (2, "one"));
        assert!(store.claim_notification(ws, again, 9_000, 3_000).await.unwrap());
        store.finish_notification(ws, first, None, None).await.unwrap();
        let row = store.list_notifications(ws, None, 10).await.unwrap();
        let row = row.iter().find(|n| n.id == first).unwrap();
        assert_eq!(row.status, NotificationStatus::Sent);
        assert_eq!(
            (row.attempts, row.error.as_deref(), row.next_attempt_at),
            (3, None, None)
        );

        // The other gives up: failed, never due again.
        let due = store.due_notifications(ws, 3_000, 10).await.unwrap();
        assert_eq!(due.len(), 1);
        assert!(store.claim_notification(ws, &due[0], 9_000, 3_000).await.unwrap());
        store
            .finish_notification(ws, second, Some("attempt 2 of 5: 550 no such user"), None)
            .await
            .unwrap();
        assert!(
            store
                .due_notifications(ws, i64::MAX / 2, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let failed = store
            .list_notifications(ws, Some(NotificationStatus::Failed), 10)
            .await
            .unwrap();
        assert_eq!(failed.iter().map(|n| n.id).collect::<Vec<_>>(), vec![second]);
        assert!(
            store
                .finish_notification(other, second, None, None)
                .await
                .is_err(),
            "another workspace cannot touch it"
        );
    })
    .await;
}

#[tokio::test]
async fn a_wrong_automatic_result_goes_back_to_the_inbox_as_an_escaped_error() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let rita = user(&store, ws, "r@x.io", "Rita").await;
        let (a, _, ids) = items(&store, ws, "a", 2, 1, 10, 20).await;
        let report = |item: ItemId| NewWrongReport {
            item_id: item,
            reporter_id: Some(rita),
            reporter: "Rita".into(),
            reason: "the total is the tax".into(),
        };
        let back = store.report_wrong(ws, &report(ids[0]), 500).await.unwrap();
        assert_eq!(back.status, ItemStatus::NeedsReview);
        assert_eq!(
            store.item_reasons(ws, ids[0]).await.unwrap(),
            vec!["reported_wrong"]
        );
        let escaped = store.escaped_errors(ws, 0).await.unwrap();
        assert_eq!(escaped.len(), 1);
        assert_eq!(
            (
                escaped[0].item_id,
                escaped[0].automation_id,
                escaped[0].reporter_id
            ),
            (ids[0], a, Some(rita))
        );
        assert_eq!(escaped[0].reason, "the total is the tax");
        assert!(store.escaped_errors(ws, 501).await.unwrap().is_empty());
        let events = store.audit_events(ws, ids[0]).await.unwrap();
        assert_eq!(events.last().unwrap().kind, "reported_wrong");
        assert_eq!(events.last().unwrap().actor_name.as_deref(), Some("Rita"));

        assert!(
            matches!(
                store.report_wrong(ws, &report(ids[0]), 600).await,
                Err(StoreError::Conflict(_))
            ),
            "counted once"
        );
        assert!(
            matches!(
                store.report_wrong(ws, &report(ids[1]), 600).await,
                Err(StoreError::Conflict(_))
            ),
            "already in the inbox"
        );
        let other = workspace(&store, "other").await;
        assert!(matches!(
            store.report_wrong(other, &report(ids[0]), 600).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(store.escaped_errors(ws, 0).await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn decision_statistics_and_server_secrets() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let rita = user(&store, ws, "r@x.io", "Rita").await;
        let (_, _, ids) = items(&store, ws, "a", 2, 0, 10, 20).await;
        for (k, (id, status)) in ids
            .iter()
            .zip([ItemStatus::Approved, ItemStatus::Rejected])
            .enumerate()
        {
            let record = DecisionRecord {
                item_id: *id,
                actor: rita,
                status,
                final_result: (status == ItemStatus::Approved).then(|| "{}".into()),
                before: None,
                after: None,
                detail: "{}".into(),
                seconds: Some(1.5),
                deliveries: Vec::new(),
                similar_keys: Vec::new(),
            };
            store.record_decision(ws, &record, 100 + k as i64).await.unwrap();
        }
        let stats = store.decision_stats(ws, 0).await.unwrap();
        assert_eq!(
            stats.iter().map(|s| s.kind.as_str()).collect::<Vec<_>>(),
            vec!["approved", "rejected"]
        );
        assert_eq!(
            (stats[0].actor_name.as_str(), stats[0].seconds),
            ("Rita", Some(1.5))
        );
        assert_eq!(store.decision_stats(ws, 101).await.unwrap().len(), 1);
        let other = workspace(&store, "other").await;
        assert!(store.decision_stats(other, 0).await.unwrap().is_empty());

        let first = store.server_secret("k", "one", 1).await.unwrap();
        assert_eq!(first, "one");
        assert_eq!(
            store.server_secret("k", "two", 2).await.unwrap(),
            "one",
            "the first one stays"
        );
    })
    .await;
}

#[tokio::test]
async fn the_open_count_is_the_inbox_count_and_statistics_follow_the_data() {
    for backend in tandem_test_support::backends() {
        let db = tandem_test_support::TestDb::new(backend).await;
        let store = tandem_store::open(&db.url).await.unwrap();
        let ws = workspace(&store, "acme").await;
        let other = workspace(&store, "other").await;
        // 30 items, 25 accepted automatically: 5 open (the other workspace's first: the
        // helper claims every due job, and accepted items queue deliveries).
        items(&store, other, "b", 3, 0, 1, 2).await;
        items(&store, ws, "a", 30, 25, 1, 2).await;
        assert_eq!(store.open_count(ws).await.unwrap(), 5);
        assert_eq!(
            store.open_count(ws).await.unwrap(),
            store.inbox_counts(ws).await.unwrap().open
        );
        assert_eq!(store.open_count(other).await.unwrap(), 3);
        // Counts by reason come from each item's own codes; a report adds its code.
        let counts = store.inbox_counts(ws).await.unwrap();
        assert_eq!(counts.by_reason, vec![("low_confidence".to_string(), 5)]);
        let accepted = store
            .list_items(
                ws,
                &ItemFilter {
                    statuses: vec![ItemStatus::AutoAccepted],
                    limit: 1,
                    ..ItemFilter::default()
                },
            )
            .await
            .unwrap()[0]
            .id;
        let report = NewWrongReport {
            item_id: accepted,
            reporter_id: None,
            reporter: "Rita".into(),
            reason: "wrong total".into(),
        };
        store.report_wrong(ws, &report, 50).await.unwrap();
        let counts = store.inbox_counts(ws).await.unwrap();
        assert_eq!(
            counts.by_reason,
            vec![
                ("low_confidence".to_string(), 5),
                ("reported_wrong".to_string(), 1)
            ]
        );
        assert_eq!(
            store.item_reasons(ws, accepted).await.unwrap(),
            vec!["reported_wrong"]
        );
        assert_eq!(
            store.inbox_counts(other).await.unwrap().by_reason,
            vec![("low_confidence".to_string(), 3)]
        );

        store.optimize().await.unwrap();
        if backend == tandem_test_support::TestBackend::Sqlite {
            // The planner now knows the items table's size and the open-items index's.
            use sqlx::Connection;
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            let stats: Vec<(String, String)> =
                sqlx::query_as("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'items' AND idx IS NOT NULL")
                    .fetch_all(&mut c)
                    .await
                    .unwrap();
            let rows_of = |idx: &str| -> i64 {
                let (_, stat) = stats
                    .iter()
                    .find(|(i, _)| i == idx)
                    .unwrap_or_else(|| panic!("no statistics for {idx}: {stats:?}"));
                stat.split(' ').next().unwrap().parse().unwrap()
            };
            assert_eq!(rows_of("items_inbox"), 33);
            assert_eq!(rows_of("items_open"), 9, "the partial index holds the open items");
        }
        // Nothing changed for the queries.
        assert_eq!(store.open_count(ws).await.unwrap(), 6);
    }
}

#[path = "paging.rs"]
mod paging;
