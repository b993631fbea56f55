//! Contract for the LLM step's records: runs replaced on reprocessing, reviewed answers
//! joined with the accepted result, calibrators replaced per field, all per workspace.

use tandem_domain::{ItemStatus, Role};
use tandem_store::*;

use super::{each_backend, new_item, new_version, processed, workspace};

fn field_run(
    field: &str,
    role: FieldRole,
    extractor: &str,
    value: Option<&str>,
    raw: Option<f64>,
) -> FieldRun {
    FieldRun {
        field: field.into(),
        role,
        extractor: extractor.into(),
        value: value.map(Into::into),
        raw_score: raw,
        // Issue 20: the method is kept with every LLM answer's score.
        score_method: (extractor == "llm").then(|| "logprobs".to_owned()),
        confidence: 0.5,
    }
}

#[tokio::test]
async fn extractor_runs_are_replaced_per_item_and_scoped_to_the_workspace() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let saved = store.save_version(ws, &new_version("r", "h"), 1).await.unwrap();
        let item = store
            .insert_items(ws, saved.automation.id, &[new_item("a", None)], 10)
            .await
            .unwrap()[0]
            .item
            .id;
        let run = |latency: i64, error: Option<&str>| NewExtractorRuns {
            item_id: item,
            automation_id: saved.automation.id,
            version_id: saved.version.id,
            llm: Some(LlmRun {
                item_id: item,
                version_id: saved.version.id,
                model: "m".into(),
                latency_ms: latency,
                prompt_tokens: 120,
                completion_tokens: 30,
                requests: 2,
                error: error.map(Into::into),
                created_at: 0,
            }),
            // A run without a score first, then one with: the order the worker writes them.
            fields: vec![
                field_run("total", FieldRole::Shadow, "learned", None, None),
                field_run("total", FieldRole::Primary, "llm", Some("\"9.00\""), Some(0.8)),
            ],
        };
        store.record_extractor_runs(ws, &run(40, None), 11).await.unwrap();
        // Processed again (a lease taken over): the later run replaces the first.
        store
            .record_extractor_runs(ws, &run(55, Some("timeout")), 12)
            .await
            .unwrap();
        let got = store.llm_run(ws, item).await.unwrap().unwrap();
        assert_eq!(
            (
                got.latency_ms,
                got.prompt_tokens,
                got.completion_tokens,
                got.requests
            ),
            (55, 120, 30, 2)
        );
        assert_eq!((got.error.as_deref(), got.created_at), (Some("timeout"), 12));
        let fields = store.field_runs(ws, item).await.unwrap();
        assert_eq!(fields.len(), 2);
        assert_eq!(
            fields[0],
            field_run("total", FieldRole::Primary, "llm", Some("\"9.00\""), Some(0.8))
        );
        assert_eq!(fields[1].value, None);

        let other = workspace(&store, "other").await;
        assert!(matches!(
            store.record_extractor_runs(other, &run(1, None), 13).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(store.llm_run(other, item).await.unwrap().is_none());
        assert!(store.field_runs(other, item).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn reviewed_field_runs_carry_the_accepted_result_and_calibrators_are_kept_per_field() {
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
        let a = saved.automation.id;
        let items: Vec<_> = store
            .insert_items(ws, a, &[new_item("one", None), new_item("two", None)], 10)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.item.id)
            .collect();
        let jobs = store.claim_jobs("w", 2, 100, 10).await.unwrap();
        let done: Vec<Processed> = jobs
            .iter()
            .map(|j| processed(j, saved.version.id, false, &["low_confidence"]))
            .collect();
        store.complete_processing("w", &done, 11).await.unwrap();
        for item in &items {
            let runs = NewExtractorRuns {
                item_id: *item,
                automation_id: a,
                version_id: saved.version.id,
                llm: None,
                fields: vec![field_run(
                    "total",
                    FieldRole::Primary,
                    "llm",
                    Some("\"9.00\""),
                    Some(0.7),
                )],
            };
            store.record_extractor_runs(ws, &runs, 12).await.unwrap();
        }
        // Only the decided item counts as reviewed.
        store
            .record_decision(
                ws,
                &DecisionRecord {
                    item_id: items[0],
                    actor: user.id,
                    status: ItemStatus::Corrected,
                    final_result: Some("{\"fields\":{\"total\":\"9.50\"}}".into()),
                    before: None,
                    after: None,
                    detail: "{}".into(),
                    seconds: None,
                    deliveries: Vec::new(),
                    similar_keys: Vec::new(),
                },
                20,
            )
            .await
            .unwrap();
        let reviewed = store.reviewed_field_runs(ws, a).await.unwrap();
        assert_eq!(reviewed.len(), 1);
        assert_eq!(reviewed[0].item_id, items[0]);
        assert_eq!(reviewed[0].status, ItemStatus::Corrected);
        assert_eq!(reviewed[0].final_result, "{\"fields\":{\"total\":\"9.50\"}}");
        assert_eq!(reviewed[0].run.raw_score, Some(0.7));
        assert_eq!(reviewed[0].run.score_method.as_deref(), Some("logprobs"));
        let other = workspace(&store, "other").await;
        assert!(store.reviewed_field_runs(other, a).await.unwrap().is_empty());

        let fit = |field: &str, points: i64| LlmCalibration {
            automation_id: a,
            field: field.into(),
            calibrator: format!("{{\"points\":{points}}}"),
            points,
            correct: points - 1,
            score_method: (points > 3).then(|| "agreement".to_owned()),
            fitted_at: 0,
        };
        store
            .save_llm_calibrations(ws, &[fit("total", 3), fit("date", 5)], 30)
            .await
            .unwrap();
        store
            .save_llm_calibrations(ws, &[fit("total", 9)], 31)
            .await
            .unwrap();
        let cals = store.llm_calibrations(ws, a).await.unwrap();
        let got: Vec<(&str, i64, i64, Option<&str>)> = cals
            .iter()
            .map(|c| (c.field.as_str(), c.points, c.fitted_at, c.score_method.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("date", 5, 30, Some("agreement")),
                ("total", 9, 31, Some("agreement"))
            ]
        );
        store
            .save_llm_calibrations(ws, &[fit("total", 2)], 33)
            .await
            .unwrap();
        let total = store.llm_calibrations(ws, a).await.unwrap().pop().unwrap();
        assert_eq!((total.points, total.score_method), (2, None), "replaced whole");
        assert!(matches!(
            store.save_llm_calibrations(other, &[fit("total", 1)], 32).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(store.llm_calibrations(other, a).await.unwrap().is_empty());
    })
    .await;
}
