//! Closing a review session over real HTTP, on each backend: the summary of its votes,
//! comments and decisions against figures counted by hand, who may close it, that a
//! closed session takes no more notes, that its decisions can still be linked to the
//! version that carries them out, and that the close is in the rollout's history.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tandem_domain::Role;
use tandem_test_support::backends;

use super::{
    OneCorrected, call, link_decision, one_corrected, rollout, set_threshold, start_session,
    start_session_from_page, start_support, submit,
};

#[tokio::test]
async fn closing_a_session_keeps_its_summary_and_its_decisions_stay_linkable() {
    for backend in backends() {
        let OneCorrected {
            app,
            _receiver,
            builder,
            rita,
            ..
        } = one_corrected(backend).await;
        let sam = app.token("sam@acme.io", Role::Reviewer).await;
        let (s, sampled) = start_session(&app, &rita, "Friday review").await;
        let id = s["id"].as_i64().unwrap();
        assert!(sampled.len() >= 2, "{s}");
        let (a, stratum_a) = sampled[0].clone();
        let (b, stratum_b) = sampled[1].clone();

        let notes = format!("/api/v1/review-sessions/{id}/notes");
        for (who, body) in [
            (
                &rita,
                json!({ "kind": "vote", "item_id": a, "choice": "agree", "body": "fine" }),
            ),
            (
                &sam,
                json!({ "kind": "vote", "item_id": a, "choice": "disagree" }),
            ),
            (
                &sam,
                json!({ "kind": "vote", "item_id": b, "choice": "disagree" }),
            ),
            (
                &rita,
                json!({ "kind": "comment", "item_id": b, "body": "look at the footer" }),
            ),
            (
                &rita,
                json!({ "kind": "decision", "choice": "threshold", "body": "raise the e-mail threshold to 0.9" }),
            ),
            (
                &sam,
                json!({ "kind": "decision", "choice": "edge_case", "body": "keep the footer case as an edge case" }),
            ),
        ] {
            let (status, n) = call(&app, who, "POST", &notes, Some(body)).await;
            assert_eq!(status, StatusCode::CREATED, "{n}");
        }
        let (_, view) = call(&app, &rita, "GET", &format!("/api/v1/review-sessions/{id}"), None).await;
        let decision = |k: usize| view["decisions"][k][0]["id"].as_i64().unwrap();
        let (threshold_note, edge_note) = (decision(0), decision(1));
        assert!(view["summary"].is_null(), "open sessions have no summary: {view}");

        // The threshold decision is carried out by version 2 before the session ends.
        let (status, _) = set_threshold(&app, &builder, "email", 0.9).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, l) = link_decision(&app, &builder, threshold_note, 2).await;
        assert_eq!(status, StatusCode::OK, "{l}");

        // Sam neither started the session nor is the champion nor a builder.
        let close = format!("/api/v1/review-sessions/{id}/close");
        let (status, e) = call(&app, &sam, "POST", &close, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
        let (status, sum) = call(&app, &rita, "POST", &close, None).await;
        assert_eq!(status, StatusCode::OK, "{sum}");

        // By hand: item a got rita's agree (with a comment) and sam's disagree; item b got
        // sam's disagree and rita's comment. 2 of the sample voted on, 1 agree, 2 disagree,
        // 2 comments; only b has more disagree than agree.
        assert_eq!(sum["items"], sampled.len(), "{sum}");
        assert_eq!(sum["items_voted"], 2);
        assert_eq!(
            (sum["agree"].clone(), sum["disagree"].clone()),
            (json!(1), json!(2))
        );
        assert_eq!(sum["comments"], 2);
        assert_eq!(sum["participants"], json!(["rita", "sam"]));
        assert_eq!(sum["disputed"], json!([b]));
        let tally = |item: i64| {
            sum["by_item"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["item_id"] == item)
                .cloned()
                .unwrap()
        };
        assert_eq!(
            tally(a),
            json!({ "item_id": a, "stratum": stratum_a, "agree": 1, "disagree": 1, "comments": 1 })
        );
        assert_eq!(
            tally(b),
            json!({ "item_id": b, "stratum": stratum_b, "agree": 0, "disagree": 1, "comments": 1 })
        );
        let strata_sum: (u64, u64) = sum["by_stratum"]
            .as_array()
            .unwrap()
            .iter()
            .fold((0, 0), |acc, s| {
                (acc.0 + s[1].as_u64().unwrap(), acc.1 + s[2].as_u64().unwrap())
            });
        assert_eq!(strata_sum, (1, 2), "{sum}");
        assert_eq!(sum["decisions"][0]["action"], "threshold");
        assert_eq!(sum["decisions"][0]["version"], 2, "linked before closing");
        assert_eq!(sum["decisions"][1]["action"], "edge_case");
        assert_eq!(sum["decisions"][1]["by"], "sam");
        assert!(sum["decisions"][1]["version"].is_null());

        // Closed: once only, and no more notes.
        let (status, _) = call(&app, &builder, "POST", &close, None).await;
        assert_eq!(status, StatusCode::CONFLICT);
        let (status, e) = call(
            &app,
            &rita,
            "POST",
            &notes,
            Some(json!({ "kind": "comment", "body": "one more thing" })),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{e}");
        assert!(e["error"]["message"].as_str().unwrap().contains("closed"), "{e}");

        // The edge-case decision is carried out the week after, by version 3.
        let (status, _) = set_threshold(&app, &builder, "order", 0.6).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, l) = link_decision(&app, &builder, edge_note, 3).await;
        assert_eq!(status, StatusCode::OK, "{l}");
        let (_, view) = call(&app, &rita, "GET", &format!("/api/v1/review-sessions/{id}"), None).await;
        assert_eq!(view["decisions"][1][1], 3, "{view}");
        assert_eq!(view["summary"]["agree"], 1, "the kept summary: {view}");
        assert!(view["session"]["closed_at"].is_i64(), "{view}");

        // The rollout's history has the close, with its figures.
        let r = rollout(&app, &builder).await;
        let event = r["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "review_session")
            .cloned()
            .unwrap_or_else(|| panic!("no review_session event: {r}"));
        let detail: Value = serde_json::from_str(event["detail"].as_str().unwrap()).unwrap();
        assert_eq!(detail["session"], id);
        assert_eq!(detail["decisions"], 2);

        // The page shows the summary and takes no more votes.
        app.user("vic@acme.io", Role::Viewer).await;
        app.login("vic@acme.io").await;
        let html = app.page(&format!("/review-sessions/{id}")).await;
        assert!(
            html.contains("2 of") && html.contains("1 agree and 2 disagree"),
            "{html}"
        );
        assert!(
            html.contains("carried out by v2") && html.contains("carried out by v3"),
            "{html}"
        );
        assert!(!html.contains("value=\"agree\""), "no vote buttons once closed");
        assert!(
            !html.contains("id=\"close-button\""),
            "a viewer cannot close; it is closed anyway"
        );
    }
}

#[tokio::test]
async fn a_session_is_closed_from_its_page() {
    let (app, _receiver) = start_support(backends()[0], "").await;
    let builder = app.token("builder@acme.io", Role::Builder).await;
    submit(
        &app,
        &builder,
        &["From a@x.io\nOrder: AB-0001", "From e@x.io\nnothing"],
    )
    .await;
    app.drain().await;
    let (resp, csrf) = start_session_from_page(&app, "Monday review").await;
    let page = resp.headers()["location"].to_str().unwrap().to_owned();
    let html = app.page(&page).await;
    assert!(
        html.contains("id=\"close-button\""),
        "the one who started it can close it"
    );
    // The close button asks first; only the confirmation closes.
    let resp = app
        .post_form(&format!("{page}/close"), &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("id=\"confirm-close\"") && html.contains("Close this session?"),
        "{html}"
    );
    assert!(!html.contains("id=\"summary\""), "asking closed nothing");
    let confirm = [("csrf", csrf.as_str()), ("confirm", "yes")];
    let resp = app.post_form(&format!("{page}/close"), &confirm).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let html = app.page(&page).await;
    assert!(
        html.contains("id=\"summary\"") && html.contains("Closed "),
        "{html}"
    );
    let resp = app.post_form(&format!("{page}/close"), &confirm).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT, "closed once");
    assert!(resp.text().await.unwrap().contains("already closed"));
}
