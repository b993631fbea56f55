//! "The decided items most similar to this one", over real HTTP on each backend: the
//! near-duplicate comes first with how it was decided, unrelated items stay out, and
//! another workspace's items never appear, not even an identical one.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tandem_domain::Role;
use tandem_service::automations::TrainingFiles;
use tandem_test_support::decision::approve;
use tandem_test_support::{TestApp, backends};

use super::{get_json, post_json};

/// In shadow every item waits for a person, so each can be decided as the test needs.
const SUPPORT: &str = r#"
name = "Support"
slug = "support"

[[fields]]
name = "email"
type = "email"
required = true
threshold = 0.5

[[fields]]
name = "order"
type = "identifier"
labels = ["Order"]
threshold = 0.5

[rollout]
start = "shadow"
"#;

const PARCEL: &str =
    "My parcel never arrived and the tracking page is blank. Order: AB-1234, write to ana@x.io";
const HOURS: &str = "What are your opening hours on Saturday mornings? Reply to bo@y.io";
const SPAM: &str = "Cheap watches and pills, click here now!!! Contact promo@spam.io";
/// The item being looked at: PARCEL with one digit changed.
const QUERY: &str =
    "My parcel never arrived and the tracking page is blank. Order: AB-1235, write to ana@x.io";

async fn submit(app: &TestApp, token: &str, texts: &[&str]) -> Vec<i64> {
    let items: Vec<Value> = texts.iter().map(|t| json!({ "input": { "text": t } })).collect();
    let (s, body) = post_json(
        app,
        token,
        "/api/v1/automations/support/items/batch",
        &json!({ "items": items }),
    )
    .await;
    assert!(s.is_success(), "{s}: {body}");
    app.drain().await;
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_i64().expect("id"))
        .collect()
}

#[tokio::test]
async fn the_most_similar_decided_item_is_the_near_duplicate_and_never_another_workspaces() {
    for backend in backends() {
        let app = TestApp::start(backend).await;
        app.apply(SUPPORT, TrainingFiles::default()).await;
        let builder = app.token("ada@acme.io", Role::Admin).await;
        let rita = app.token("rita@acme.io", Role::Reviewer).await;
        // Rita has met the automation: its card does not stand before the item page.
        app.read_cards("rita@acme.io").await;

        // Another workspace, same automation slug, with QUERY's exact text decided.
        let other = app.tandem.ensure_workspace("globex", "Globex").await.unwrap().id;
        app.tandem
            .apply_definition(other, SUPPORT, TrainingFiles::default(), "support.toml", None)
            .await
            .unwrap();
        let stranger = app
            .tandem
            .add_user(other, "sam@globex.io", "Sam", Role::Admin, "a long password")
            .await
            .unwrap();
        let stranger = tandem_service::auth::Actor { user: stranger };
        let theirs = app.submit_texts(&stranger, "support", &[QUERY, QUERY]).await;
        app.tandem.decide(&stranger, theirs[0], approve()).await.unwrap();

        // Ours: three decided items, one of them a near-duplicate of the open one.
        let ids = submit(&app, &builder, &[PARCEL, HOURS, SPAM, QUERY]).await;
        let (parcel, hours, spam, query) = (ids[0], ids[1], ids[2], ids[3]);
        let decide = |id: i64, body: Value| {
            let (app, rita) = (&app, &rita);
            async move {
                let (s, b) = post_json(app, rita, &format!("/api/v1/items/{id}/decision"), &body).await;
                assert_eq!(s, StatusCode::OK, "{b}");
            }
        };
        decide(
            parcel,
            json!({ "action": "correct", "fields": { "order": "AB-4321" } }),
        )
        .await;
        decide(hours, json!({ "action": "approve" })).await;
        decide(spam, json!({ "action": "reject", "reason": "spam" })).await;

        let (s, similar) = get_json(&app, &rita, &format!("/api/v1/items/{query}/similar")).await;
        assert_eq!(s, StatusCode::OK, "{similar}");
        let list = similar.as_array().expect("a list");
        let found: Vec<i64> = list.iter().map(|x| x["id"].as_i64().unwrap()).collect();
        // Hand-checked: QUERY differs from PARCEL in one character, so nearly every
        // n-gram is shared; HOURS and SPAM share only a few common trigrams with it.
        assert_eq!(found, vec![parcel], "{similar}");
        let first = &list[0];
        assert_eq!(first["status"], "corrected");
        assert!(first["similarity"].as_f64().unwrap() > 0.8, "{first}");
        // How it was decided: the reviewer's correction of the order number.
        let fixes = first["corrections"].as_array().expect("corrections");
        assert_eq!(fixes.len(), 1, "{first}");
        assert_eq!(
            (&fixes[0]["field"], &fixes[0]["after"]),
            (&json!("order"), &json!("AB-4321"))
        );
        assert!(
            !found.contains(&theirs[0].0),
            "another workspace's identical item never appears"
        );

        // A decided item is found from another decided one too, and never itself.
        let (_, from_parcel) = get_json(&app, &rita, &format!("/api/v1/items/{parcel}/similar")).await;
        assert_eq!(from_parcel, json!([]), "nothing else decided is like PARCEL");

        // The other workspace sees its own decided copy (identical: overlap 1) and not ours.
        let mine = app.tandem.similar_decided(&stranger, theirs[1]).await.unwrap();
        assert_eq!(mine.iter().map(|x| x.id).collect::<Vec<_>>(), vec![theirs[0]]);
        assert_eq!(mine[0].similarity, 1.0);
        assert_eq!(mine[0].status.as_str(), "approved");
        // Asking for another workspace's item is "not found", not an empty list.
        let (s, _) = get_json(&app, &rita, &format!("/api/v1/items/{}/similar", theirs[1])).await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        // The item page shows the section with the decision and a link to the item.
        app.login("rita@acme.io").await;
        let html = app.page(&format!("/items/{query}")).await;
        let section = &html[html.find("id=\"similar\"").expect("the section")..];
        let section = &section[..section.find("</section>").unwrap()];
        assert!(
            section.contains(&format!("href=\"/items/{parcel}\"")),
            "{section}"
        );
        assert!(section.contains("→ AB-4321"), "{section}");
        assert!(section.contains("Corrected"), "{section}");
        assert!(!section.contains(&format!("/items/{hours}\"")), "{section}");
        // Following the link opens the decided item.
        let resp = app
            .client
            .get(app.url(&format!("/items/{parcel}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }
}
