//! Issue 20: which method scored each LLM answer is stored, and the refit fits on one
//! kind of score only. llama.cpp strips a code fence from the content but not from the
//! log-probabilities; those still score the answer (no sampling request).

use serde_json::json;
use tandem_domain::{ItemId, Role};
use tandem_engine::calibration::Calibrator;
use tandem_service::automations::TrainingFiles;
use tandem_store::FieldRole;
use tandem_test_support::decision::correct;
use tandem_test_support::{FakeLlm, TestApp, backends};

fn definition(base_url: &str) -> String {
    format!(
        r#"
name = "Receipts (LLM)"
slug = "receipts-llm"

[[fields]]
name = "total"
type = "money"
extractor = "llm"
threshold = 1.0

[llm]
base_url = "{base_url}"
model = "test-model"
retries = 0
samples = 2

# Every item goes to a person, so each one is evidence for the refit.
[rollout.modes]
total = "suggest"
"#
    )
}

async fn total_run(app: &TestApp, id: ItemId) -> tandem_store::FieldRun {
    app.tandem
        .store
        .field_runs(app.workspace, id)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.field == "total" && r.role == FieldRole::Primary)
        .unwrap()
}

#[tokio::test]
async fn the_scoring_method_is_kept_and_the_refit_does_not_mix_methods() {
    for backend in backends() {
        let app = TestApp::start(backend).await;
        let llm = FakeLlm::start().await;
        llm.logprobs(true)
            .fenced(true)
            .answer_when("A1", r#"{"total": "9.00"}"#)
            .answer_when("A2", r#"{"total": "4.00"}"#)
            .answer_when("B", r#"{"total": "7.00"}"#)
            .doubt("4.00", -0.4);
        app.apply(&definition(&llm.base_url), TrainingFiles::default())
            .await;
        let admin = app.user("ada@acme.io", Role::Admin).await;
        let actor = tandem_service::auth::Actor { user: admin };

        // Fenced answers with logprobs: scored by them, one request each.
        let by_logprobs = app
            .submit_texts(&actor, "receipts-llm", &["A1 Total 9.00", "A2 Total 5.00"])
            .await;
        assert_eq!(llm.requests().len(), 2, "no sampling request");
        for id in &by_logprobs {
            let run = total_run(&app, *id).await;
            assert_eq!(run.score_method.as_deref(), Some("logprobs"), "{run:?}");
        }
        let item = app
            .tandem
            .store
            .llm_run(app.workspace, by_logprobs[0])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(item.requests, 1);

        // The server stops giving logprobs: agreement between samples from now on.
        llm.logprobs(false);
        let texts: Vec<String> = (0..4).map(|i| format!("B{i} Total 7.00")).collect();
        let by_agreement = app.submit_texts(&actor, "receipts-llm", &texts).await;
        for id in &by_agreement {
            let run = total_run(&app, *id).await;
            assert_eq!(run.score_method.as_deref(), Some("agreement"), "{run:?}");
        }
        // The item page says so.
        app.login("ada@acme.io").await;
        let html = app.page(&format!("/items/{}", by_agreement[0])).await;
        assert!(html.contains("agreement between samples"), "{html}");

        // Reviewers: the first logprobs answer right, the second wrong; three of the four
        // agreement answers right.
        let truth = [("9.00", true), ("5.00", false)];
        for (id, (total, _)) in by_logprobs.iter().zip(truth) {
            app.tandem
                .decide(&actor, *id, correct([("total", json!(total))]))
                .await
                .unwrap();
        }
        for (i, id) in by_agreement.iter().enumerate() {
            let total = if i == 0 { "70.00" } else { "7.00" };
            app.tandem
                .decide(&actor, *id, correct([("total", json!(total))]))
                .await
                .unwrap();
        }
        // The refit uses the latest method's answers only, and says what it left out.
        let fits = app.tandem.refit_llm(app.workspace, "receipts-llm").await.unwrap();
        let fit = &fits[0];
        assert_eq!(fit.score_method.as_deref(), Some("agreement"));
        assert_eq!((fit.points, fit.correct, fit.other_points), (4, 3, 2));
        let (_, c) = app.tandem.active(app.workspace, "receipts-llm").await.unwrap();
        let stored = app
            .tandem
            .store
            .llm_calibrations(app.workspace, c.version.automation_id)
            .await
            .unwrap();
        assert_eq!(stored[0].score_method.as_deref(), Some("agreement"));
        let cal: Calibrator = serde_json::from_str(&stored[0].calibrator).unwrap();

        // An agreement answer goes through that calibrator; a logprobs one does not.
        let next = app.submit_texts(&actor, "receipts-llm", &["B9 Total 7.00"]).await;
        let run = total_run(&app, next[0]).await;
        assert!(
            (run.confidence - cal.apply(run.raw_score.unwrap())).abs() < 1e-9,
            "{run:?}"
        );
        llm.logprobs(true);
        let next = app.submit_texts(&actor, "receipts-llm", &["A1 again"]).await;
        let run = total_run(&app, next[0]).await;
        assert_eq!(run.score_method.as_deref(), Some("logprobs"));
        assert!(
            (run.confidence - run.raw_score.unwrap().clamp(0.0, 1.0)).abs() < 1e-9,
            "a calibrator fitted on agreement is not applied to a token probability: {run:?}"
        );
    }
}
