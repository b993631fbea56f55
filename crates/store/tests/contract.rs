//! The storage contract: every behaviour the rest of Tandem relies on, run against each
//! backend (SQLite and PostgreSQL) on a fresh database per test.

use std::sync::Arc;

use tandem_domain::{ItemId, ItemStatus, Role, WorkspaceId};
use tandem_store::*;
use tandem_test_support::{TestDb, backends};

#[path = "contract/accounts.rs"]
mod accounts;
#[path = "contract/bulk.rs"]
mod bulk;
#[path = "contract/measure.rs"]
mod measure;
#[path = "contract/measure_migration.rs"]
mod measure_migration;
// --- rollout ---
#[path = "contract/rollout.rs"]
mod rollout;

async fn each_backend<F, Fut>(test: F)
where
    F: Fn(Arc<dyn Store>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = open(&db.url)
            .await
            .unwrap_or_else(|e| panic!("open {backend:?}: {e}"));
        test(store).await;
    }
}

/// A one-connection pool on `db` with every migration before `version` applied, as an
/// earlier build left the database (for tests of a migration on existing rows).
async fn migrated_before(db: &TestDb, version: i64) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    let (dir, url) = match db.backend {
        tandem_test_support::TestBackend::Sqlite => ("sqlite", format!("{}?mode=rwc", db.url)),
        tandem_test_support::TestBackend::Postgres => ("postgres", db.url.clone()),
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dir);
    let all = sqlx::migrate::Migrator::new(path).await.unwrap();
    let before = sqlx::migrate::Migrator {
        migrations: all
            .iter()
            .filter(|m| m.version < version)
            .cloned()
            .collect::<Vec<_>>()
            .into(),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap();
    before.run(&pool).await.unwrap();
    pool
}

/// A reviewer in `ws` (an e-mail unique to the workspace).
async fn reviewer(store: &Arc<dyn Store>, ws: WorkspaceId) -> tandem_domain::UserId {
    store
        .create_user(
            ws,
            &NewUser {
                email: format!("rita@{}.example", ws.0),
                name: "Rita".into(),
                role: Role::Reviewer,
                password_hash: "h".into(),
            },
            1,
        )
        .await
        .unwrap()
        .id
}

async fn workspace(store: &Arc<dyn Store>, slug: &str) -> WorkspaceId {
    store.create_workspace(slug, slug, 1).await.unwrap().id
}

fn new_version(slug: &str, hash: &str) -> NewVersion {
    NewVersion {
        slug: slug.into(),
        name: format!("{slug} automation"),
        definition: format!("slug = \"{slug}\""),
        content_hash: hash.into(),
        artifacts: vec![NewArtifact {
            kind: "router".into(),
            bytes: vec![1, 2, 3],
            summary: "{}".into(),
        }],
        created_by: None,
    }
}

fn new_item(text: &str, key: Option<&str>) -> NewItem {
    NewItem {
        input: serde_json::json!({ "text": text }).to_string(),
        preview: text.into(),
        idempotency_key: key.map(Into::into),
    }
}

fn processed(job: &Job, version: tandem_domain::VersionId, accepted: bool, reasons: &[&str]) -> Processed {
    Processed {
        job_id: job.id,
        workspace_id: job.workspace_id,
        item_id: job.item_id.unwrap(),
        version_id: version,
        status: if accepted {
            ItemStatus::AutoAccepted
        } else {
            ItemStatus::NeedsReview
        },
        outcome: "{}".into(),
        confidence: Some(0.5),
        reason_codes: reasons.iter().map(|r| r.to_string()).collect(),
        final_result: accepted.then(|| "{\"ok\":true}".into()),
        deliveries: vec![NewDelivery {
            destination_index: 0,
            destination: "webhook x".into(),
            payload: "{}".into(),
        }],
    }
}

#[tokio::test]
async fn migrations_are_current_and_backend_is_reported() {
    each_backend(|store| async move {
        store.readiness().await.unwrap();
        assert!(matches!(store.backend(), Backend::Sqlite | Backend::Postgres));
    })
    .await;
}

#[tokio::test]
async fn people_sessions_and_tokens() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        assert!(matches!(
            store.create_workspace("acme", "again", 2).await,
            Err(StoreError::Conflict(_))
        ));
        let user = store
            .create_user(
                ws,
                &NewUser {
                    email: "Ada@Example.com".into(),
                    name: "Ada".into(),
                    role: Role::Admin,
                    password_hash: "h".into(),
                },
                5,
            )
            .await
            .unwrap();
        assert_eq!(user.email, "ada@example.com");
        let (found, hash) = store
            .user_credentials(" ADA@example.com ")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((found.id, hash.as_str()), (user.id, "h"));
        let dup = NewUser {
            email: "ada@example.com".into(),
            name: "A".into(),
            role: Role::Viewer,
            password_hash: "x".into(),
        };
        assert!(matches!(
            store.create_user(ws, &dup, 6).await,
            Err(StoreError::Conflict(_))
        ));

        let s = NewSession {
            workspace_id: ws,
            user_id: user.id,
            token_hash: "sess".into(),
            csrf_token: "c".into(),
            expires_at: 100,
        };
        store.create_session(&s, 10).await.unwrap();
        assert_eq!(store.session("sess", 50).await.unwrap().unwrap().user.id, user.id);
        assert!(
            store.session("sess", 100).await.unwrap().is_none(),
            "expired sessions are gone"
        );
        store.delete_session("sess").await.unwrap();
        assert!(store.session("sess", 50).await.unwrap().is_none());

        store
            .create_api_token(ws, user.id, "ci", "tok", None, 10)
            .await
            .unwrap();
        assert_eq!(
            store.api_token_user("tok", 20).await.unwrap().unwrap().id,
            user.id
        );
        assert!(store.api_token_user("nope", 20).await.unwrap().is_none());

        // Another workspace cannot see or borrow this user.
        let other = workspace(&store, "other").await;
        assert!(matches!(
            store.user(other, user.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.create_api_token(other, user.id, "x", "t2", None, 1).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(store.list_users(other).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn versions_change_only_when_content_changes() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let first = store
            .save_version(ws, &new_version("receipts", "h1"), 10)
            .await
            .unwrap();
        assert!(first.created);
        assert_eq!(first.version.number, 1);
        let same = store
            .save_version(ws, &new_version("receipts", "h1"), 11)
            .await
            .unwrap();
        assert!(!same.created);
        assert_eq!(same.version.id, first.version.id);
        let second = store
            .save_version(ws, &new_version("receipts", "h2"), 12)
            .await
            .unwrap();
        assert!(second.created);
        assert_eq!(second.version.number, 2);
        let a = store.automation_by_slug(ws, "receipts").await.unwrap().unwrap();
        assert_eq!(a.active_version_id, Some(second.version.id));
        assert_eq!(store.list_versions(ws, a.id).await.unwrap().len(), 2);
        let arts = store.artifacts(ws, second.version.id).await.unwrap();
        assert_eq!(arts[0].bytes, vec![1, 2, 3]);

        let other = workspace(&store, "other").await;
        assert!(
            store
                .automation_by_slug(other, "receipts")
                .await
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            store.version(other, first.version.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(
            store
                .artifacts(other, second.version.id)
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn intake_is_idempotent_and_queues_processing() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let a = store
            .save_version(ws, &new_version("r", "h"), 1)
            .await
            .unwrap()
            .automation;
        let first = store
            .insert_items(
                ws,
                a.id,
                &[new_item("one", Some("k1")), new_item("two", None)],
                10,
            )
            .await
            .unwrap();
        assert!(first.iter().all(|i| i.created));
        let again = store
            .insert_items(ws, a.id, &[new_item("one, retried", Some("k1"))], 11)
            .await
            .unwrap();
        assert!(!again[0].created);
        assert_eq!(again[0].item.id, first[0].item.id);
        assert_eq!(
            again[0].item.input, first[0].item.input,
            "a retry never replaces the input"
        );
        assert_eq!(store.queue_depth().await.unwrap(), 2, "one job per new item");
        let item = store.item(ws, first[1].item.id).await.unwrap();
        assert_eq!(item.status, ItemStatus::Queued);

        let other = workspace(&store, "other").await;
        assert!(matches!(
            store.item(other, item.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.insert_items(other, a.id, &[new_item("x", None)], 1).await,
            Err(StoreError::NotFound(_))
        ));
        let f = ItemFilter {
            statuses: vec![],
            ..Default::default()
        };
        assert!(store.list_items(other, &f).await.unwrap().is_empty());
        assert_eq!(store.list_items(ws, &f).await.unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn processing_stores_results_reasons_and_deliveries() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let saved = store.save_version(ws, &new_version("r", "h"), 1).await.unwrap();
        let items = store
            .insert_items(
                ws,
                saved.automation.id,
                &[new_item("a", None), new_item("b", None)],
                10,
            )
            .await
            .unwrap();
        let jobs = store.claim_jobs("w1", 10, 1_000, 20).await.unwrap();
        assert_eq!(jobs.len(), 2);
        assert!(
            store.claim_jobs("w2", 10, 1_000, 21).await.unwrap().is_empty(),
            "leased jobs are not handed out twice"
        );
        let done = vec![
            processed(&jobs[0], saved.version.id, true, &[]),
            processed(
                &jobs[1],
                saved.version.id,
                false,
                &["low_confidence", "missing_required"],
            ),
        ];
        assert_eq!(store.complete_processing("w1", &done, 30).await.unwrap().len(), 2);

        let accepted = store.item(ws, items[0].item.id).await.unwrap();
        assert_eq!(accepted.status, ItemStatus::AutoAccepted);
        assert_eq!(accepted.revision, 1);
        assert_eq!(accepted.version_id, Some(saved.version.id));
        let flagged = store.item(ws, items[1].item.id).await.unwrap();
        assert_eq!(flagged.status, ItemStatus::NeedsReview);
        assert_eq!(
            store.item_reasons(ws, flagged.id).await.unwrap(),
            vec!["low_confidence", "missing_required"]
        );

        let inbox = store.list_items(ws, &ItemFilter::default()).await.unwrap();
        assert_eq!(inbox.iter().map(|i| i.id).collect::<Vec<_>>(), vec![flagged.id]);
        assert_eq!(inbox[0].reasons.len(), 2);
        let by_reason = ItemFilter {
            reason: Some("missing_required".into()),
            ..Default::default()
        };
        assert_eq!(store.list_items(ws, &by_reason).await.unwrap().len(), 1);
        let none = ItemFilter {
            reason: Some("out_of_scope".into()),
            ..Default::default()
        };
        assert!(store.list_items(ws, &none).await.unwrap().is_empty());
        let counts = store.inbox_counts(ws).await.unwrap();
        assert_eq!(counts.open, 1);
        assert_eq!(
            counts.by_automation,
            vec![("r".to_string(), "r automation".to_string(), 1)]
        );
        assert_eq!(counts.by_reason.len(), 2);
        assert_eq!(counts.oldest_open_at, Some(10));

        // The accepted item queued one delivery with a stable key.
        let jobs = store.claim_jobs("w1", 10, 1_000, 40).await.unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].kind, JobKind::Deliver);
        let d = store.delivery(ws, jobs[0].delivery_id.unwrap()).await.unwrap();
        assert_eq!(d.status, DeliveryStatus::Pending);
        assert_eq!(d.delivery_key, format!("tdm-{}-{}-r1-d0", ws.0, accepted.id.0));
        store
            .delivery_failed("w1", jobs[0].id, d.id, "connection refused", Some(50), 41)
            .await
            .unwrap();
        assert!(
            store.claim_jobs("w1", 10, 1_000, 45).await.unwrap().is_empty(),
            "retry waits for its time"
        );
        let jobs = store.claim_jobs("w1", 10, 1_000, 50).await.unwrap();
        assert!(
            store
                .delivery_succeeded("w1", jobs[0].id, d.id, 51)
                .await
                .unwrap()
        );
        let d = store.delivery(ws, d.id).await.unwrap();
        assert_eq!(
            (d.status, d.attempts, d.delivered_at),
            (DeliveryStatus::Delivered, 2, Some(51))
        );
        assert_eq!(store.queue_depth().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn an_expired_lease_passes_the_job_to_another_worker() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let saved = store.save_version(ws, &new_version("r", "h"), 1).await.unwrap();
        store
            .insert_items(ws, saved.automation.id, &[new_item("a", None)], 10)
            .await
            .unwrap();
        let dead = store.claim_jobs("dead", 1, 100, 10).await.unwrap();
        assert!(store.claim_jobs("alive", 1, 1_000, 99).await.unwrap().is_empty());
        let taken = store.claim_jobs("alive", 1, 1_000, 101).await.unwrap();
        assert_eq!(taken[0].id, dead[0].id);
        assert_eq!(taken[0].attempts, 2);
        // The dead worker's late result is dropped; the live one's is kept.
        let late = store
            .complete_processing("dead", &[processed(&dead[0], saved.version.id, false, &[])], 102)
            .await
            .unwrap();
        assert!(late.is_empty());
        let done = store
            .complete_processing("alive", &[processed(&taken[0], saved.version.id, true, &[])], 103)
            .await
            .unwrap();
        assert_eq!(done.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn failed_jobs_retry_then_surface_in_the_inbox() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let saved = store.save_version(ws, &new_version("r", "h"), 1).await.unwrap();
        let item = store
            .insert_items(ws, saved.automation.id, &[new_item("a", None)], 10)
            .await
            .unwrap()[0]
            .item
            .id;
        let job = store.claim_jobs("w", 1, 100, 10).await.unwrap().remove(0);
        store.fail_job("w", job.id, "boom", Some(20), 11).await.unwrap();
        let job = store.claim_jobs("w", 1, 100, 20).await.unwrap().remove(0);
        store.fail_job("w", job.id, "boom again", None, 21).await.unwrap();
        let it = store.item(ws, item).await.unwrap();
        assert_eq!(it.status, ItemStatus::Failed);
        assert!(it.outcome.unwrap().contains("boom again"));
        assert_eq!(store.item_reasons(ws, item).await.unwrap(), vec!["engine_error"]);
        assert_eq!(store.inbox_counts(ws).await.unwrap().open, 1);

        // Release returns leased jobs without counting the attempt.
        store
            .insert_items(ws, saved.automation.id, &[new_item("b", None)], 30)
            .await
            .unwrap();
        let job = store.claim_jobs("w", 1, 1_000, 30).await.unwrap().remove(0);
        assert_eq!(store.release_jobs("w").await.unwrap(), 1);
        let again = store.claim_jobs("w2", 1, 1_000, 31).await.unwrap().remove(0);
        assert_eq!((again.id, again.attempts), (job.id, 1));
    })
    .await;
}

#[tokio::test]
async fn a_decision_is_first_come_and_audited() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let user = store
            .create_user(
                ws,
                &NewUser {
                    email: "r@x.io".into(),
                    name: "Rita".into(),
                    role: Role::Reviewer,
                    password_hash: "h".into(),
                },
                1,
            )
            .await
            .unwrap();
        let saved = store.save_version(ws, &new_version("r", "h"), 1).await.unwrap();
        let item = store
            .insert_items(ws, saved.automation.id, &[new_item("a", None)], 10)
            .await
            .unwrap()[0]
            .item
            .id;
        let job = store.claim_jobs("w", 1, 100, 10).await.unwrap().remove(0);
        store
            .complete_processing(
                "w",
                &[processed(&job, saved.version.id, false, &["low_confidence"])],
                11,
            )
            .await
            .unwrap();
        let record = DecisionRecord {
            item_id: item,
            actor: user.id,
            status: ItemStatus::Corrected,
            final_result: Some("{\"total\":\"9.00\"}".into()),
            before: Some("{\"total\":\"8.00\"}".into()),
            after: Some("{\"total\":\"9.00\"}".into()),
            detail: "{}".into(),
            seconds: Some(12.5),
            deliveries: vec![NewDelivery {
                destination_index: 0,
                destination: "jsonl".into(),
                payload: "{}".into(),
            }],
            similar_keys: Vec::new(),
        };
        let taught = [NewTrainingExample {
            automation_id: saved.automation.id,
            item_id: Some(item),
            kind: "document".into(),
            example: "{\"text\":\"a\",\"fields\":{\"total\":\"9.00\"}}".into(),
            created_by: Some(user.id),
        }];
        let other = workspace(&store, "other").await;
        assert!(matches!(
            store.record_decision(other, &record, 20).await,
            Err(StoreError::NotFound(_))
        ));
        let decided = store.record_correction(ws, &record, &taught, 20).await.unwrap();
        assert_eq!(
            (decided.status, decided.revision, decided.decided_by),
            (ItemStatus::Corrected, 1, Some(user.id))
        );
        assert!(matches!(
            store.record_decision(ws, &record, 21).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store.record_correction(ws, &record, &taught, 21).await,
            Err(StoreError::Conflict(_))
        ));
        // The correction's training example committed with the decision, once.
        let examples = store
            .training_examples(ws, saved.automation.id, None)
            .await
            .unwrap();
        assert_eq!(examples.len(), 1);
        assert_eq!((examples[0].item_id, examples[0].created_at), (Some(item), 20));
        let events = store.audit_events(ws, item).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].actor_name.as_deref(), Some("Rita"));
        assert_eq!(events[0].seconds, Some(12.5));
        assert!(store.audit_events(other, item).await.unwrap().is_empty());
        let ds = store
            .list_deliveries(
                ws,
                &DeliveryFilter {
                    item: Some(item),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(ds.len(), 1);
        assert!(
            store
                .list_deliveries(other, &DeliveryFilter::default())
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn a_given_up_delivery_can_be_retried_by_a_person() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let saved = store.save_version(ws, &new_version("r", "h"), 1).await.unwrap();
        store
            .insert_items(ws, saved.automation.id, &[new_item("a", None)], 10)
            .await
            .unwrap();
        let job = store.claim_jobs("w", 1, 100, 10).await.unwrap().remove(0);
        store
            .complete_processing("w", &[processed(&job, saved.version.id, true, &[])], 11)
            .await
            .unwrap();
        let job = store.claim_jobs("w", 1, 100, 12).await.unwrap().remove(0);
        let id = job.delivery_id.unwrap();
        assert!(matches!(
            store.retry_delivery(ws, id, 13).await,
            Err(StoreError::Conflict(_))
        ));
        store
            .delivery_failed("w", job.id, id, "HTTP 500", None, 13)
            .await
            .unwrap();
        let failed = store
            .list_deliveries(
                ws,
                &DeliveryFilter {
                    status: Some(DeliveryStatus::Failed),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].last_error.as_deref(), Some("HTTP 500"));
        let other = workspace(&store, "other").await;
        assert!(matches!(
            store.retry_delivery(other, id, 14).await,
            Err(StoreError::NotFound(_))
        ));
        let d = store.retry_delivery(ws, id, 14).await.unwrap();
        assert_eq!(d.status, DeliveryStatus::Pending);
        assert_eq!(store.claim_jobs("w", 1, 100, 14).await.unwrap().len(), 1);
    })
    .await;
}

// The exception inbox's methods (issue 6), in their own file.
#[path = "inbox_contract/mod.rs"]
mod inbox_contract;
#[path = "contract/locking.rs"]
mod locking;
#[path = "contract/retry.rs"]
mod retry;
#[path = "contract/scale.rs"]
mod scale;
#[path = "contract/similar_backfill.rs"]
mod similar_backfill;
#[path = "contract/wal.rs"]
mod wal;

#[path = "contract/llm.rs"]
mod llm;
#[tokio::test]
async fn training_examples_candidates_and_activation() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let other = workspace(&store, "other").await;
        let saved = store.save_version(ws, &new_version("r", "h1"), 1).await.unwrap();
        let a = saved.automation.id;
        let example = |kind: &str, text: &str| NewTrainingExample {
            automation_id: a,
            item_id: None,
            kind: kind.into(),
            example: format!("{{\"text\":\"{text}\",\"label\":\"x\"}}"),
            created_by: None,
        };
        store
            .add_training_examples(
                ws,
                &[
                    example("route", "one"),
                    example("document", "two"),
                    example("route", "three"),
                ],
                5,
            )
            .await
            .unwrap();
        let all = store.training_examples(ws, a, None).await.unwrap();
        assert_eq!(all.len(), 3);
        assert!(all.windows(2).all(|w| w[0].id < w[1].id), "oldest first");
        let routes = store.training_examples(ws, a, Some("route")).await.unwrap();
        assert_eq!(routes.len(), 2);
        assert!(routes[1].example.contains("three"));
        // Scoped: another workspace neither sees them nor can add to this automation.
        assert!(store.training_examples(other, a, None).await.unwrap().is_empty());
        assert!(matches!(
            store
                .add_training_examples(other, &[example("route", "x")], 6)
                .await,
            Err(StoreError::NotFound(_))
        ));

        // A candidate is stored beside the active version, not instead of it.
        let candidate = NewCandidate {
            definition: "slug = \"r\"".into(),
            content_hash: "h1".into(),
            artifacts: vec![NewArtifact {
                kind: "router".into(),
                bytes: vec![9, 9],
                summary: "{}".into(),
            }],
            created_by: None,
            compared_with: Some(saved.version.id),
            evaluation: "{\"current_version\":1}".into(),
        };
        assert!(matches!(
            store.save_candidate_version(other, a, &candidate, 7).await,
            Err(StoreError::NotFound(_))
        ));
        let v2 = store.save_candidate_version(ws, a, &candidate, 7).await.unwrap();
        assert_eq!(v2.number, 2);
        assert_eq!(
            store.automation(ws, a).await.unwrap().active_version_id,
            Some(saved.version.id)
        );
        assert_eq!(store.artifacts(ws, v2.id).await.unwrap()[0].bytes, vec![9, 9]);
        let e = store.version_evaluation(ws, v2.id).await.unwrap().unwrap();
        assert_eq!(
            (e.compared_version_id, e.report.as_str()),
            (Some(saved.version.id), "{\"current_version\":1}")
        );
        assert!(
            store
                .version_evaluation(ws, saved.version.id)
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.version_evaluation(other, v2.id).await.unwrap().is_none());

        // Activating the candidate (the rollout's activation, with its event).
        let event = NewRolloutEvent {
            actor: None,
            kind: "activate".into(),
            detail: "{}".into(),
        };
        let activated = store.activate_version(ws, a, v2.id, &event, 9).await.unwrap();
        assert_eq!(activated.active_version_id, Some(v2.id));
        // Re-applying the same definition after activation is "unchanged", not a new version.
        let again = store.save_version(ws, &new_version("r", "h1"), 10).await.unwrap();
        assert!(!again.created);
        assert_eq!(again.version.id, v2.id);
    })
    .await;
}

/// A worker's batch spans workspaces and mixes outcomes; its results are stored with a
/// fixed number of statements, and each item must still get exactly its own result,
/// reasons (each once) and deliveries, in its own workspace.
#[tokio::test]
async fn a_mixed_batch_across_workspaces_is_stored_item_by_item() {
    each_backend(|store| async move {
        let (acme, globex) = (workspace(&store, "acme").await, workspace(&store, "globex").await);
        let a = store.save_version(acme, &new_version("r", "h"), 1).await.unwrap();
        let g = store
            .save_version(globex, &new_version("r", "h"), 1)
            .await
            .unwrap();
        let in_acme = store
            .insert_items(
                acme,
                a.automation.id,
                &[new_item("a0", None), new_item("a1", None)],
                10,
            )
            .await
            .unwrap();
        let in_globex = store
            .insert_items(
                globex,
                g.automation.id,
                &[new_item("g0", None), new_item("g1", None)],
                10,
            )
            .await
            .unwrap();
        let jobs = store.claim_jobs("w", 10, 1_000, 20).await.unwrap();
        assert_eq!(jobs.len(), 4);
        let job_of = |item: ItemId| jobs.iter().find(|j| j.item_id == Some(item)).unwrap();
        let accepted = |job: &Job, version, dests: i64| Processed {
            job_id: job.id,
            workspace_id: job.workspace_id,
            item_id: job.item_id.unwrap(),
            version_id: version,
            status: ItemStatus::AutoAccepted,
            outcome: format!("{{\"item\":{}}}", job.item_id.unwrap().0),
            confidence: Some(0.875),
            reason_codes: vec![],
            final_result: Some(format!("{{\"ok\":{}}}", job.item_id.unwrap().0)),
            deliveries: (0..dests)
                .map(|i| NewDelivery {
                    destination_index: i,
                    destination: format!("webhook {i}"),
                    payload: format!("{{\"to\":{i}}}"),
                })
                .collect(),
        };
        let flagged = |job: &Job, version| Processed {
            status: ItemStatus::NeedsReview,
            confidence: None,
            reason_codes: vec![
                "low_confidence".into(),
                "missing_required".into(),
                "low_confidence".into(),
            ],
            final_result: None,
            ..accepted(job, version, 1)
        };
        let done = vec![
            accepted(job_of(in_acme[0].item.id), a.version.id, 2),
            flagged(job_of(in_acme[1].item.id), a.version.id),
            flagged(job_of(in_globex[0].item.id), g.version.id),
            accepted(job_of(in_globex[1].item.id), g.version.id, 1),
        ];
        assert_eq!(store.complete_processing("w", &done, 30).await.unwrap().len(), 4);

        for (ws, item, version, status, deliveries) in [
            (
                acme,
                in_acme[0].item.id,
                a.version.id,
                ItemStatus::AutoAccepted,
                2,
            ),
            (acme, in_acme[1].item.id, a.version.id, ItemStatus::NeedsReview, 0),
            (
                globex,
                in_globex[0].item.id,
                g.version.id,
                ItemStatus::NeedsReview,
                0,
            ),
            (
                globex,
                in_globex[1].item.id,
                g.version.id,
                ItemStatus::AutoAccepted,
                1,
            ),
        ] {
            let stored = store.item(ws, item).await.unwrap();
            assert_eq!(stored.status, status, "item {item:?}");
            assert_eq!(stored.version_id, Some(version));
            assert_eq!(stored.processed_at, Some(30));
            assert_eq!(
                stored.outcome.as_deref(),
                Some(format!("{{\"item\":{}}}", item.0).as_str())
            );
            let reasons = store.item_reasons(ws, item).await.unwrap();
            if status == ItemStatus::AutoAccepted {
                assert_eq!(stored.revision, 1);
                assert_eq!(stored.confidence, Some(0.875));
                assert_eq!(stored.final_result, Some(format!("{{\"ok\":{}}}", item.0)));
                assert!(reasons.is_empty());
            } else {
                assert_eq!(stored.revision, 0, "nothing to deliver, no new revision");
                assert_eq!(stored.confidence, None);
                assert_eq!(stored.final_result, None);
                assert_eq!(
                    reasons,
                    vec!["low_confidence", "missing_required"],
                    "each reason once"
                );
            }
            let mut ds: Vec<Delivery> = store
                .list_deliveries(
                    ws,
                    &DeliveryFilter {
                        limit: 100,
                        ..DeliveryFilter::default()
                    },
                )
                .await
                .unwrap()
                .into_iter()
                .filter(|d| d.item_id == item)
                .collect();
            ds.sort_by_key(|d| d.destination_index);
            assert_eq!(ds.len(), deliveries, "item {item:?}");
            for (i, d) in ds.iter().enumerate() {
                assert_eq!(d.workspace_id, ws);
                assert_eq!(d.destination_index, i as i64);
                assert_eq!(d.destination, format!("webhook {i}"));
                assert_eq!(d.payload, format!("{{\"to\":{i}}}"));
                assert_eq!(d.delivery_key, format!("tdm-{}-{}-r1-d{i}", ws.0, item.0));
            }
        }
        // One delivery job per delivery, each pointing at its own delivery and item.
        let deliver = store.claim_jobs("w", 10, 1_000, 40).await.unwrap();
        assert_eq!(deliver.len(), 3);
        for job in &deliver {
            assert_eq!(job.kind, JobKind::Deliver);
            let d = store
                .delivery(job.workspace_id, job.delivery_id.unwrap())
                .await
                .unwrap();
            assert_eq!(Some(d.item_id), job.item_id);
        }
    })
    .await;
}
