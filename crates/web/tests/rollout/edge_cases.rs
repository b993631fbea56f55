//! Edge cases are legible on the rollout page: each shows its input, its expected
//! values, a link to the item it came from, and after a failed run expected against
//! actual; the champion can decline an accepted case later; and "Add as an edge case" is
//! on the item page, as the rollout page says.

use reqwest::StatusCode;
use serde_json::json;
use tandem_domain::Role;
use tandem_test_support::backends;

use super::{call, decide, set_champion, start_support, submit};

/// The table row of case `id` on the rollout page.
fn case_row(html: &str, id: i64) -> String {
    let at = html
        .find(&format!("<tr id=\"case-{id}\""))
        .unwrap_or_else(|| panic!("no row for case {id}: {html}"));
    let rest = &html[at..];
    // The row ends where the next row starts, or the table (the nested mismatch table
    // is indented deeper).
    let end = [
        rest[1..].find("<tr id=\"case-").map(|e| e + 1),
        rest.find("\n  </table>"),
    ]
    .into_iter()
    .flatten()
    .min()
    .unwrap_or(rest.len());
    rest[..end].to_owned()
}

#[tokio::test]
async fn a_case_shows_what_it_checks_can_be_declined_later_and_is_added_from_an_item() {
    for backend in backends() {
        let gate = "[rollout]\nstart = \"shadow\"\n[gate]\nmin_shadow_decided = 0\nmin_field_agreement = 0\nteam_hours_per_week = 40\n";
        let (app, _receiver) = start_support(backend, gate).await;
        let builder = app.token("builder@acme.io", Role::Builder).await;
        let rita = app.token("rita@acme.io", Role::Reviewer).await;
        let sam = app.token("sam@acme.io", Role::Reviewer).await;
        set_champion(&app, &builder, "rita@acme.io").await;

        // Sam's correction proposes a case; rita accepts it; the engine still reads
        // AB-1234 where people want AB-1235, so the suite fails on it.
        let text = "From a@x.io\nOrder: AB-1234 (or AB-1235?)";
        let ids = submit(&app, &builder, &[text, "From b@x.io\nOrder: CD-0001"]).await;
        app.drain().await;
        decide(
            &app,
            &sam,
            ids[0],
            json!({ "action": "correct", "fields": { "order": "AB-1235" } }),
        )
        .await;
        let (_, cases) = call(
            &app,
            &builder,
            "GET",
            "/api/v1/automations/support/edge-cases",
            None,
        )
        .await;
        let case = cases["edge_cases"][0]["id"].as_i64().unwrap();
        let (status, _) = call(
            &app,
            &rita,
            "POST",
            &format!("/api/v1/edge-cases/{case}/decision"),
            Some(json!({ "accept": true })),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (_, report) = call(&app, &builder, "POST", "/api/v1/automations/support/test", None).await;
        assert_eq!(report["failed"], 1, "{report}");

        // The page shows the input, the expected values, the item, expected against actual.
        app.login("rita@acme.io").await;
        let html = app.page("/automations/support/rollout").await;
        let row = case_row(&html, case);
        assert!(row.contains("Order: AB-1234 (or AB-1235?)"), "the input: {row}");
        assert!(
            row.contains("<dt>order</dt><dd>AB-1235</dd>"),
            "the expected values: {row}"
        );
        assert!(
            row.contains(&format!("href=\"/items/{}\"", ids[0])),
            "its item: {row}"
        );
        assert!(row.contains("fail on v1"), "{row}");
        assert!(
            row.contains("<th scope=\"row\">order</th><td>AB-1235</td><td class=\"late\">AB-1234"),
            "expected against actual: {row}"
        );
        // Accepted, it can still be declined (and is not offered "Accept" again).
        assert!(row.contains(&format!("id=\"decline-{case}\"")), "{row}");
        assert!(!row.contains("value=\"1\">Accept"), "{row}");
        let csrf = app.csrf().await;
        let resp = app
            .post_form(
                &format!("/edge-cases/{case}/decide"),
                &[("csrf", csrf.as_str()), ("slug", "support"), ("accept", "0")],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let html = app.page("/automations/support/rollout").await;
        let row = case_row(&html, case);
        assert!(row.contains("declined"), "{row}");
        assert!(
            row.contains("value=\"1\">Accept"),
            "a declined case can be accepted again: {row}"
        );

        // "Add as an edge case" on a decided item's page; the note is required.
        app.read_cards("sam@acme.io").await;
        app.login("sam@acme.io").await;
        decide(&app, &sam, ids[1], json!({ "action": "approve" })).await;
        let item = app.page(&format!("/items/{}", ids[1])).await;
        assert!(
            item.contains("id=\"add-case\"") && item.contains("Add as an edge case"),
            "{item}"
        );
        let csrf = app.csrf().await;
        let add = format!("/items/{}/edge-case", ids[1]);
        let resp = app
            .post_form(&add, &[("csrf", csrf.as_str()), ("note", " ")])
            .await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(resp.text().await.unwrap().contains("say why this case is tricky"));
        let resp = app
            .post_form(
                &add,
                &[
                    ("csrf", csrf.as_str()),
                    ("note", "b@x always writes the order last"),
                ],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let to = resp.headers()["location"].to_str().unwrap().to_owned();
        assert!(
            to.starts_with("/automations/support/rollout?done=case-added#case-"),
            "{to}"
        );
        let added: i64 = to.rsplit("#case-").next().unwrap().parse().unwrap();
        let html = app.page("/automations/support/rollout?done=case-added").await;
        let row = case_row(&html, added);
        assert!(
            row.contains("b@x always writes the order last") && row.contains("proposed"),
            "{row}"
        );
        assert!(row.contains("<dt>order</dt><dd>CD-0001</dd>"), "{row}");
        assert!(row.contains(&format!("href=\"/items/{}\"", ids[1])), "{row}");

        // An item still open has no accepted result to expect: no form.
        let open = submit(&app, &builder, &["From c@x.io\nOrder: EF-0001"]).await[0];
        app.drain().await;
        let page = app.page(&format!("/items/{open}")).await;
        assert!(!page.contains("id=\"add-case\""), "{page}");
    }
}
