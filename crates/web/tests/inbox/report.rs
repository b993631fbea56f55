//! "This looks wrong" keeps its why: the item sent back shows who reported it, when and
//! what they said, in the item's "why this item needs a person" box and in the inbox's
//! reason column, and its confidence reads as the reason it came back.

use super::*;

#[tokio::test]
async fn a_reported_item_shows_who_said_what_and_why_it_came_back() {
    for backend in backends() {
        let Setup { app, items, .. } = setup(backend).await;
        let accepted = items[2];
        app.user("rita@acme.io", Role::Reviewer).await;
        app.read_cards("rita@acme.io").await;
        let token = app.token("vic@acme.io", Role::Viewer).await;
        let (status, body) = app
            .post_json(
                &token,
                &format!("/api/v1/items/{accepted}/wrong"),
                &json!({ "reason": "The address is the sender's, not the customer's" }),
            )
            .await;
        assert!(status.is_success(), "{status}: {body}");

        let rita = signed_in(&app, "rita@acme.io").await;
        let html = app.page_as(&rita, &format!("/items/{accepted}")).await;
        let why = html
            .split("id=\"why\"")
            .nth(1)
            .and_then(|s| s.split("</section>").next())
            .unwrap_or_else(|| panic!("no why box: {html}"));
        assert!(
            why.contains("Reported wrong by vic on 2026-11-27 09:00 UTC"),
            "{why}"
        );
        assert!(
            why.contains("The address is the sender&#39;s, not the customer&#39;s")
                || why.contains("The address is the sender's, not the customer's"),
            "{why}"
        );
        assert!(
            html.contains("accepted on its own, then reported wrong"),
            "{html}"
        );

        let inbox = app.page_as(&rita, "/inbox").await;
        let at = inbox
            .find(&format!("data-href=\"/items/{accepted}\""))
            .unwrap_or_else(|| panic!("the item is in the inbox: {inbox}"));
        let row = inbox[at..].split("</tr>").next().unwrap();
        assert!(row.contains("Reported wrong by vic"), "{row}");
        assert!(row.contains("then reported wrong"), "{row}");
    }
}
