//! The measurement part of the storage contract: week facts by time and workspace, kept
//! rollups, work by hand, escaped errors, notes and share links.

use super::*;

async fn user(store: &Arc<dyn Store>, ws: WorkspaceId, email: &str) -> User {
    store
        .create_user(
            ws,
            &NewUser {
                email: email.into(),
                name: email.into(),
                role: Role::Reviewer,
                password_hash: "h".into(),
            },
            1,
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn week_facts_count_by_time_and_stay_in_their_workspace() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let other = workspace(&store, "other").await;
        let saved = store.save_version(ws, &new_version("a", "h1"), 1).await.unwrap();
        let theirs = store
            .save_version(other, &new_version("a", "h1"), 1)
            .await
            .unwrap();
        let a = saved.automation.id;
        let rita = user(&store, ws, "rita@acme.io").await;
        // Three items at t=100 (two accepted, one to review), one at t=1000 in the other
        // workspace.
        store
            .insert_items(
                ws,
                a,
                &[new_item("x", None), new_item("y", None), new_item("z", None)],
                100,
            )
            .await
            .unwrap();
        store
            .insert_items(other, theirs.automation.id, &[new_item("w", None)], 100)
            .await
            .unwrap();
        let jobs = store.claim_jobs("w", 10, 10_000, 150).await.unwrap();
        let done: Vec<Processed> = jobs
            .iter()
            .map(|j| {
                let v = if j.workspace_id == ws {
                    saved.version.id
                } else {
                    theirs.version.id
                };
                let accept = j.workspace_id != ws || j.item_id.unwrap().0 % 3 != 0;
                processed(j, v, accept, if accept { &[] } else { &["out_of_scope"] })
            })
            .collect();
        store.complete_processing("w", &done, 200).await.unwrap();
        let facts = store.week_facts(ws, Some(a), 0, 1_000).await.unwrap();
        assert_eq!((facts.items_in, facts.processed), (3, 3));
        assert_eq!(facts.auto_accepted + facts.open_at_end, 3);
        assert_eq!(facts.out_of_scope, facts.open_at_end);
        assert_eq!(facts.oldest_open_at, Some(100));
        let open = store.list_items(ws, &ItemFilter::default()).await.unwrap();
        let item = open[0].id;
        store
            .record_decision(
                ws,
                &DecisionRecord {
                    item_id: item,
                    actor: rita.id,
                    status: ItemStatus::Rejected,
                    final_result: None,
                    before: None,
                    after: None,
                    detail: "{}".into(),
                    seconds: Some(12.5),
                    deliveries: vec![],
                    similar_keys: Vec::new(),
                },
                700,
            )
            .await
            .unwrap();
        // Before the decision the item was open; the decision falls in [500, 1000).
        let before = store.week_facts(ws, None, 0, 500).await.unwrap();
        assert_eq!(before.decisions, vec![]);
        assert_eq!(before.open_at_end, 1, "still open when that period ended");
        let after = store.week_facts(ws, None, 500, 1_000).await.unwrap();
        assert_eq!(after.decisions, vec![(ItemStatus::Rejected, Some(12.5))]);
        assert_eq!(
            after.first_touch_seconds,
            vec![0.5],
            "processed at 200, touched at 700"
        );
        assert_eq!(after.open_at_end, 0);
        assert_eq!(after.items_in, 0);
        assert_eq!(store.first_item_at(ws, None).await.unwrap(), Some(100));
        assert_eq!(store.week_facts(other, None, 0, 1_000).await.unwrap().items_in, 1);

        // Escaped errors are the "this looks wrong" reports: counted in the week of the
        // report; the item still counts as accepted automatically when it was processed,
        // and it was not open before the report.
        let accepted = store
            .list_items(
                ws,
                &ItemFilter {
                    statuses: vec![ItemStatus::AutoAccepted],
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let auto = accepted[0].id;
        let accepted_before = store
            .week_facts(ws, Some(a), 0, 1_000)
            .await
            .unwrap()
            .auto_accepted;
        let report = NewWrongReport {
            item_id: auto,
            reporter_id: Some(rita.id),
            reporter: "Rita".into(),
            reason: "wrong".into(),
        };
        store.report_wrong(ws, &report, 800).await.unwrap();
        assert!(matches!(
            store.report_wrong(ws, &report, 801).await,
            Err(StoreError::Conflict(_))
        ));
        let facts = store.week_facts(ws, Some(a), 500, 1_000).await.unwrap();
        assert_eq!(facts.escaped, 1);
        assert_eq!(facts.open_at_end, 1, "back in the inbox at 800");
        assert_eq!(facts.oldest_open_at, Some(800), "waiting since the report");
        assert_eq!(
            store
                .week_facts(ws, Some(a), 0, 1_000)
                .await
                .unwrap()
                .auto_accepted,
            accepted_before
        );
        let earlier = store.week_facts(ws, Some(a), 0, 500).await.unwrap();
        assert_eq!(
            (earlier.escaped, earlier.open_at_end),
            (0, 1),
            "only the rejected item was open then"
        );
        assert_eq!(facts.decided_after_report, 0, "reported, not decided yet");

        // Decided again after the report: still one of the period's decisions, and also
        // counted apart (its result was already counted as accepted automatically). The
        // rejection at 700 was of an item nobody had reported.
        store
            .record_decision(
                ws,
                &DecisionRecord {
                    item_id: auto,
                    actor: rita.id,
                    status: ItemStatus::Corrected,
                    final_result: None,
                    before: None,
                    after: None,
                    detail: "{}".into(),
                    seconds: Some(30.0),
                    deliveries: vec![],
                    similar_keys: Vec::new(),
                },
                850,
            )
            .await
            .unwrap();
        let facts = store.week_facts(ws, Some(a), 500, 1_000).await.unwrap();
        assert_eq!(
            facts.decisions,
            vec![
                (ItemStatus::Rejected, Some(12.5)),
                (ItemStatus::Corrected, Some(30.0))
            ]
        );
        assert_eq!(facts.decided_after_report, 1);
        assert_eq!(
            store
                .week_facts(ws, None, 500, 1_000)
                .await
                .unwrap()
                .decided_after_report,
            1
        );
        assert_eq!(
            store
                .week_facts(ws, Some(a), 500, 850)
                .await
                .unwrap()
                .decided_after_report,
            0,
            "counted in the period of the decision"
        );
        assert_eq!(
            store
                .week_facts(other, None, 0, 1_000)
                .await
                .unwrap()
                .decided_after_report,
            0
        );

        // Work by hand: once per item and kind; never on another workspace's automation.
        let hw = NewHandWork {
            automation_id: a,
            item_id: Some(item),
            user_id: Some(rita.id),
            kind: HandWorkKind::Outside,
            seconds: None,
            note: String::new(),
        };
        store.record_hand_work(ws, &hw, 900).await.unwrap();
        assert!(matches!(
            store.record_hand_work(ws, &hw, 901).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store.record_hand_work(other, &hw, 901).await,
            Err(StoreError::NotFound(_))
        ));
        let measured = NewHandWork {
            kind: HandWorkKind::Measured,
            item_id: None,
            seconds: Some(300.0),
            ..hw.clone()
        };
        store.record_hand_work(ws, &measured, 902).await.unwrap();
        // Times and no times, alternating: each connection's cached statement must take
        // both (PostgreSQL once refused a number after a NULL).
        for i in 0..12 {
            let alternate = NewHandWork {
                item_id: None,
                kind: HandWorkKind::Outside,
                seconds: (i % 2 == 1).then_some(60.0),
                ..hw.clone()
            };
            store.record_hand_work(ws, &alternate, 903).await.unwrap();
        }
        let listed = store.list_hand_work(ws, a, HandWorkKind::Measured).await.unwrap();
        assert_eq!(
            listed.iter().map(|h| h.seconds).collect::<Vec<_>>(),
            vec![Some(300.0)]
        );
        assert_eq!(
            store
                .week_facts(ws, Some(a), 500, 1_000)
                .await
                .unwrap()
                .hand_outside,
            13
        );
    })
    .await;
}

#[tokio::test]
async fn rollups_notes_and_share_links() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let other = workspace(&store, "other").await;
        let a = store
            .save_version(ws, &new_version("a", "h1"), 1)
            .await
            .unwrap()
            .automation
            .id;

        // The first kept figures of a week win.
        store
            .save_rollup(ws, Some(a), 7, "{\"items_in\":1}", 10)
            .await
            .unwrap();
        store
            .save_rollup(ws, Some(a), 7, "{\"items_in\":2}", 11)
            .await
            .unwrap();
        store
            .save_rollup(ws, None, 7, "{\"items_in\":3}", 11)
            .await
            .unwrap();
        assert_eq!(
            store.rollups(ws, Some(a), 0, 100).await.unwrap(),
            vec![(7, "{\"items_in\":1}".to_owned())]
        );
        assert_eq!(
            store.rollups(ws, None, 0, 100).await.unwrap()[0].1,
            "{\"items_in\":3}"
        );
        assert!(store.rollups(other, Some(a), 0, 100).await.unwrap().is_empty());

        // Notes: an automatic note is added once; a workspace note shows on every
        // automation's check-in.
        let note = |kind: &str, auto: Option<tandem_domain::AutomationId>, key: Option<&str>| NewNote {
            automation_id: auto,
            week_start: 7,
            at: 8,
            kind: kind.into(),
            body: format!("{kind} note"),
            author_id: None,
            dedup_key: key.map(Into::into),
        };
        assert!(
            store
                .add_note(ws, &note("volume_spike", Some(a), Some("k1")), 9)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .add_note(ws, &note("volume_spike", Some(a), Some("k1")), 9)
                .await
                .unwrap()
                .is_none()
        );
        store
            .add_note(ws, &note("champion", None, None), 9)
            .await
            .unwrap();
        store
            .add_note(ws, &note("champion", None, None), 9)
            .await
            .unwrap();
        assert!(matches!(
            store.add_note(other, &note("champion", Some(a), None), 9).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(store.notes(ws, Some(a), 0, 100).await.unwrap().len(), 3);
        assert_eq!(store.notes(ws, None, 0, 100).await.unwrap().len(), 3);
        assert!(store.notes(ws, Some(a), 8, 100).await.unwrap().is_empty());
        assert!(store.notes(other, None, 0, 100).await.unwrap().is_empty());

        // Share links: found by hash until revoked; revoked once; per workspace.
        let new = |hash: &str, include_examples| NewShareLink {
            automation: Some(a),
            token_hash: hash.into(),
            label: "board".into(),
            include_examples,
            created_by: None,
        };
        let link = store
            .create_share_link(ws, &new("hash1", false), 5)
            .await
            .unwrap();
        assert_eq!(store.share_link("hash1").await.unwrap().unwrap().id, link.id);
        assert!(!link.include_examples, "figures only unless chosen");
        let with = store.create_share_link(ws, &new("hash2", true), 5).await.unwrap();
        assert!(store.share_link("hash2").await.unwrap().unwrap().include_examples);
        store.revoke_share_link(ws, with.id, 6).await.unwrap();
        assert!(matches!(
            store.revoke_share_link(other, link.id, 6).await,
            Err(StoreError::NotFound(_))
        ));
        store.revoke_share_link(ws, link.id, 6).await.unwrap();
        assert!(store.share_link("hash1").await.unwrap().is_none());
        assert!(matches!(
            store.revoke_share_link(ws, link.id, 7).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(store.list_share_links(ws).await.unwrap()[0].revoked_at, Some(6));

        // Drift checks: one per automation and week, in their workspace.
        let check = DriftCheck {
            automation_id: a,
            week_start: 7,
            psi: 0.4,
            oos_rate: 0.3,
            reference_oos_rate: 0.05,
            items: 25,
            drifted: true,
            detail: "{}".into(),
            created_at: 8,
        };
        assert!(store.save_drift_check(ws, &check).await.unwrap());
        assert!(!store.save_drift_check(ws, &check).await.unwrap());
        assert_eq!(store.drift_checks(ws, a).await.unwrap(), vec![check]);
        assert!(store.drift_checks(other, a).await.unwrap().is_empty());
        assert!(store.confidences(ws, a, 0, 100).await.unwrap().is_empty());
        let snap = store.metrics_snapshot(other, 0).await.unwrap();
        assert!(snap.items.is_empty() && snap.latencies_ms.is_empty());
    })
    .await;
}
