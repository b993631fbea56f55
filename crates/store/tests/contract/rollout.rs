//! The rollout's part of the storage contract: stages with their event log, rollback,
//! decided items as evidence, and edge cases with their runs, each scoped to a workspace.

use tandem_domain::{ItemStatus, Role, Stage, UserId};
use tandem_store::*;

use super::{each_backend, new_item, new_version, processed, workspace};

async fn member(store: &std::sync::Arc<dyn Store>, ws: tandem_domain::WorkspaceId, email: &str) -> UserId {
    store
        .create_user(
            ws,
            &NewUser {
                email: email.into(),
                name: email.split('@').next().unwrap().into(),
                role: Role::Reviewer,
                password_hash: "h".into(),
            },
            1,
        )
        .await
        .unwrap()
        .id
}

fn event(kind: &str) -> NewRolloutEvent {
    NewRolloutEvent {
        actor: None,
        kind: kind.into(),
        detail: "{}".into(),
    }
}

#[tokio::test]
async fn stages_champion_and_sign_off_are_logged_per_workspace() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let other = workspace(&store, "other").await;
        let rita = member(&store, ws, "rita@acme.io").await;
        let outsider = member(&store, other, "olga@other.io").await;
        let saved = store.save_version(ws, &new_version("r", "h"), 1).await.unwrap();
        let a = saved.automation.id;
        assert_eq!(store.rollout_state(ws, a).await.unwrap(), None, "no row: live");

        let st = store.start_rollout(ws, a, Stage::Shadow, 5).await.unwrap();
        assert_eq!(st.stage, Stage::Shadow);
        let again = store.start_rollout(ws, a, Stage::Draft, 6).await.unwrap();
        assert_eq!(again.stage, Stage::Shadow, "starting twice keeps the first stage");
        assert!(matches!(
            store.start_rollout(other, a, Stage::Draft, 6).await,
            Err(StoreError::NotFound("automation"))
        ));

        let st = store
            .update_rollout(
                ws,
                a,
                &RolloutUpdate {
                    champion: Some(Some(rita)),
                    sign_off: Some(Some((rita, saved.version.id))),
                    ..RolloutUpdate::default()
                },
                &event("sign_off"),
                7,
            )
            .await
            .unwrap();
        assert_eq!(st.champion_id, Some(rita));
        assert_eq!(st.signed_off_version_id, Some(saved.version.id));
        assert_eq!(st.signed_off_at, Some(7));
        assert_eq!(st.stage, Stage::Shadow, "unchanged parts stay");

        let moved = store
            .update_rollout(
                ws,
                a,
                &RolloutUpdate {
                    stage: Some(Stage::Paused),
                    only_if_stage: Some(Stage::Live),
                    ..RolloutUpdate::default()
                },
                &event("guard_paused"),
                8,
            )
            .await;
        assert!(matches!(moved, Err(StoreError::Conflict(_))), "only while live");
        assert!(
            matches!(
                store
                    .update_rollout(
                        ws,
                        a,
                        &RolloutUpdate {
                            champion: Some(Some(outsider)),
                            ..RolloutUpdate::default()
                        },
                        &event("champion"),
                        9,
                    )
                    .await,
                Err(StoreError::NotFound("user"))
            ),
            "a champion from another workspace is refused"
        );

        let st = store
            .update_rollout(
                ws,
                a,
                &RolloutUpdate {
                    stage: Some(Stage::Live),
                    sign_off: Some(None),
                    ..RolloutUpdate::default()
                },
                &NewRolloutEvent {
                    actor: Some(rita),
                    kind: "stage".into(),
                    detail: "{\"to\":\"live\"}".into(),
                },
                10,
            )
            .await
            .unwrap();
        assert_eq!(
            (st.stage, st.signed_off_by, st.champion_id),
            (Stage::Live, None, Some(rita))
        );
        store.add_rollout_event(ws, a, &event("note"), 11).await.unwrap();
        let events = store.rollout_events(ws, a, 10).await.unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["note", "stage", "sign_off"],
            "failed updates leave no event"
        );
        assert_eq!(events[1].actor_name.as_deref(), Some("rita"));
        assert!(store.rollout_events(other, a, 10).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn an_earlier_version_can_be_reactivated() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let v1 = store.save_version(ws, &new_version("r", "h1"), 1).await.unwrap();
        let v2 = store.save_version(ws, &new_version("r", "h2"), 2).await.unwrap();
        let s2 = store.save_version(ws, &new_version("s", "h3"), 3).await.unwrap();
        assert_eq!(v2.automation.active_version_id, Some(v2.version.id));
        let a = store
            .activate_version(ws, v1.automation.id, v1.version.id, &event("rollback"), 4)
            .await
            .unwrap();
        assert_eq!(a.active_version_id, Some(v1.version.id));
        assert_eq!(
            store.automation(ws, a.id).await.unwrap().active_version_id,
            Some(v1.version.id)
        );
        assert!(matches!(
            store
                .activate_version(ws, v1.automation.id, s2.version.id, &event("rollback"), 5)
                .await,
            Err(StoreError::Conflict(_))
        ));
        let other = workspace(&store, "other").await;
        assert!(matches!(
            store
                .activate_version(other, v1.automation.id, v1.version.id, &event("rollback"), 5)
                .await,
            Err(StoreError::NotFound("version"))
        ));
        assert_eq!(store.rollout_events(ws, a.id, 5).await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn decided_items_filter_by_version_reason_and_stage() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let rita = member(&store, ws, "rita@acme.io").await;
        let saved = store.save_version(ws, &new_version("r", "h"), 1).await.unwrap();
        let a = saved.automation.id;
        let ids: Vec<_> = store
            .insert_items(
                ws,
                a,
                &[new_item("a", None), new_item("b", None), new_item("c", None)],
                10,
            )
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.item.id)
            .collect();
        let jobs = store.claim_jobs("w", 10, 100, 10).await.unwrap();
        let done: Vec<Processed> = jobs
            .iter()
            .enumerate()
            .map(|(n, j)| {
                let reasons: &[&str] = if n < 2 {
                    &["shadow_mode"]
                } else {
                    &["low_confidence"]
                };
                processed(j, saved.version.id, false, reasons)
            })
            .collect();
        store.complete_processing("w", &done, 11).await.unwrap();
        for (n, id) in ids.iter().enumerate() {
            let status = if n == 1 {
                ItemStatus::Rejected
            } else {
                ItemStatus::Corrected
            };
            store
                .record_decision(
                    ws,
                    &DecisionRecord {
                        item_id: *id,
                        actor: rita,
                        status,
                        final_result: (status != ItemStatus::Rejected).then(|| "{}".into()),
                        before: None,
                        after: None,
                        detail: "{}".into(),
                        seconds: Some(10.0 + n as f64),
                        deliveries: Vec::new(),
                        similar_keys: Vec::new(),
                    },
                    20 + n as i64,
                )
                .await
                .unwrap();
        }
        let filter = |reason: Option<&str>, live_only: bool| DecidedFilter {
            automation: a,
            version: Some(saved.version.id),
            reason: reason.map(String::from),
            live_only,
            limit: 10,
        };
        let shadow = store
            .decided_items(ws, &filter(Some("shadow_mode"), false))
            .await
            .unwrap();
        assert_eq!(
            shadow.iter().map(|d| d.id).collect::<Vec<_>>(),
            [ids[1], ids[0]],
            "newest first"
        );
        assert_eq!(shadow[0].status, ItemStatus::Rejected);
        assert_eq!(shadow[1].seconds, Some(10.0));
        let live = store.decided_items(ws, &filter(None, true)).await.unwrap();
        assert_eq!(live.iter().map(|d| d.id).collect::<Vec<_>>(), [ids[2]]);
        let all = store
            .decided_items(
                ws,
                &DecidedFilter {
                    limit: 2,
                    ..filter(None, false)
                },
            )
            .await
            .unwrap();
        assert_eq!(all.len(), 2, "the limit holds");
        let other = workspace(&store, "other").await;
        assert!(
            store
                .decided_items(other, &filter(None, false))
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn edge_cases_are_deduplicated_curated_and_their_runs_kept() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let rita = member(&store, ws, "rita@acme.io").await;
        let v1 = store.save_version(ws, &new_version("r", "h1"), 1).await.unwrap();
        let a = v1.automation.id;
        let case = |hash: &str, status| NewEdgeCase {
            automation_id: a,
            input: "{\"text\":\"x\"}".into(),
            input_hash: hash.into(),
            expected: "{\"fields\":{}}".into(),
            note: "tricky".into(),
            origin: "correction".into(),
            source_item: None,
            added_by: Some(rita),
            status,
        };
        let (first, created) = store
            .add_edge_case(ws, &case("h", EdgeCaseStatus::Proposed), 5)
            .await
            .unwrap();
        assert!(created);
        assert_eq!(first.added_by_name.as_deref(), Some("rita"));
        let (dup, created) = store
            .add_edge_case(ws, &case("h", EdgeCaseStatus::Accepted), 6)
            .await
            .unwrap();
        assert!(!created, "one case per input");
        assert_eq!((dup.id, dup.status), (first.id, EdgeCaseStatus::Proposed));
        let (second, _) = store
            .add_edge_case(ws, &case("g", EdgeCaseStatus::Accepted), 7)
            .await
            .unwrap();
        assert_eq!(
            second.decided_by,
            Some(rita),
            "accepted on entry counts as decided"
        );

        let accepted = store
            .decide_edge_case(ws, first.id, EdgeCaseStatus::Accepted, rita, 8)
            .await
            .unwrap();
        assert_eq!(
            (accepted.status, accepted.decided_at),
            (EdgeCaseStatus::Accepted, Some(8))
        );
        assert_eq!(
            store
                .list_edge_cases(ws, a, Some(EdgeCaseStatus::Accepted))
                .await
                .unwrap()
                .len(),
            2
        );
        let other = workspace(&store, "other").await;
        assert!(matches!(
            store
                .decide_edge_case(other, first.id, EdgeCaseStatus::Declined, rita, 9)
                .await,
            Err(StoreError::NotFound(_))
        ));
        assert!(store.list_edge_cases(other, a, None).await.unwrap().is_empty());

        let v2 = store.save_version(ws, &new_version("r", "h2"), 2).await.unwrap();
        let result = |id, v: &SavedVersion, status: &str| NewEdgeCaseResult {
            edge_case_id: id,
            version_id: v.version.id,
            status: status.into(),
            output: format!("{{\"v\":{}}}", v.version.number),
        };
        store
            .record_edge_case_results(
                ws,
                a,
                &[result(first.id, &v1, "pass"), result(second.id, &v1, "pass")],
                10,
            )
            .await
            .unwrap();
        store
            .record_edge_case_results(ws, a, &[result(first.id, &v2, "fail")], 11)
            .await
            .unwrap();
        let latest = store.latest_edge_case_results(ws, a, None).await.unwrap();
        let by_case: Vec<(i64, &str)> = latest
            .iter()
            .map(|r| (r.edge_case_id, r.status.as_str()))
            .collect();
        assert_eq!(by_case, [(first.id, "fail"), (second.id, "pass")]);
        let on_v1 = store
            .latest_edge_case_results(ws, a, Some(v1.version.id))
            .await
            .unwrap();
        assert_eq!(on_v1.iter().filter(|r| r.status == "pass").count(), 2);
        assert!(matches!(
            store
                .record_edge_case_results(other, a, &[result(first.id, &v1, "pass")], 12)
                .await,
            Err(StoreError::NotFound(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn review_sessions_keep_their_sample_notes_and_linked_decisions() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let other = workspace(&store, "other").await;
        let rita = member(&store, ws, "rita@acme.io").await;
        let v1 = store.save_version(ws, &new_version("r", "h1"), 1).await.unwrap();
        let s2 = store.save_version(ws, &new_version("s", "h2"), 2).await.unwrap();
        let a = v1.automation.id;
        let ids: Vec<_> = store
            .insert_items(ws, a, &[new_item("a", None), new_item("b", None)], 10)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.item.id)
            .collect();
        let foreign = store
            .insert_items(ws, s2.automation.id, &[new_item("c", None)], 10)
            .await
            .unwrap()[0]
            .item
            .id;
        let new = |items: Vec<(tandem_domain::ItemId, String)>| NewReviewSession {
            automation_id: a,
            title: "Friday".into(),
            created_by: Some(rita),
            items,
        };
        assert!(
            matches!(
                store
                    .create_review_session(ws, &new(vec![(foreign, "low_confidence".into())]), 5)
                    .await,
                Err(StoreError::NotFound("item"))
            ),
            "another automation's item cannot be sampled"
        );
        let session = store
            .create_review_session(
                ws,
                &new(vec![
                    (ids[1], "disagreement".into()),
                    (ids[0], "high_confidence".into()),
                ]),
                5,
            )
            .await
            .unwrap();
        assert_eq!(
            session.items.iter().map(|i| i.item_id).collect::<Vec<_>>(),
            [ids[1], ids[0]]
        );
        assert!(matches!(
            store.review_session(other, session.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(store.list_review_sessions(ws, a).await.unwrap().len(), 1);

        let note = |item, kind: &str| NewSessionNote {
            item_id: item,
            user_id: rita,
            kind: kind.into(),
            vote: (kind == "vote").then(|| "agree".into()),
            action: (kind == "decision").then(|| "threshold".into()),
            body: "x".into(),
        };
        store
            .add_session_note(ws, session.id, &note(Some(ids[0]), "vote"), 6)
            .await
            .unwrap();
        assert!(matches!(
            store
                .add_session_note(ws, session.id, &note(Some(foreign), "vote"), 6)
                .await,
            Err(StoreError::NotFound(_))
        ));
        let d = store
            .add_session_note(ws, session.id, &note(None, "decision"), 7)
            .await
            .unwrap();
        assert!(
            matches!(
                store.link_session_decision(ws, d.id, s2.version.id).await,
                Err(StoreError::NotFound(_))
            ),
            "a version of another automation cannot carry it out"
        );
        let linked = store
            .link_session_decision(ws, d.id, v1.version.id)
            .await
            .unwrap();
        assert_eq!(linked.version_id, Some(v1.version.id));
        let notes = store.session_notes(ws, session.id).await.unwrap();
        assert_eq!(
            notes.iter().map(|n| n.kind.as_str()).collect::<Vec<_>>(),
            ["vote", "decision"]
        );
        assert_eq!(notes[0].user_name.as_deref(), Some("rita"));
        assert!(store.session_notes(other, session.id).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn card_reads_are_kept_once_per_member_and_workspace() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let other = workspace(&store, "other").await;
        let rita = member(&store, ws, "rita@acme.io").await;
        let sam = member(&store, ws, "sam@acme.io").await;
        let outsider = member(&store, other, "olga@other.io").await;
        let saved = store.save_version(ws, &new_version("r", "h"), 1).await.unwrap();
        let a = saved.automation.id;
        let read = |user, at| CardRead {
            automation_id: a,
            user_id: user,
            version_id: Some(saved.version.id),
            read_at: at,
        };
        assert!(store.card_reads(ws, rita).await.unwrap().is_empty());
        assert!(store.record_card_read(ws, &read(rita, 10)).await.unwrap());
        assert!(
            !store.record_card_read(ws, &read(rita, 20)).await.unwrap(),
            "the first acknowledgement is kept"
        );
        assert_eq!(store.card_reads(ws, rita).await.unwrap(), vec![read(rita, 10)]);
        assert!(store.card_reads(ws, sam).await.unwrap().is_empty(), "per member");
        // Another workspace's member, or this automation seen from another workspace.
        assert!(matches!(
            store.record_card_read(ws, &read(outsider, 30)).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.record_card_read(other, &read(outsider, 30)).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(store.card_reads(other, outsider).await.unwrap().is_empty());
        assert!(store.card_reads(other, rita).await.unwrap().is_empty());
    })
    .await;
}
