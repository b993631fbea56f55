//! The share link shares figures, not customers: the outside page quotes no item text
//! unless whoever made the link chose to include examples, and a new link's token is shown
//! once, in the answer to the form, never in an address.

use super::*;

/// The share URL a check-in page shows once after a link is made, as its token.
pub fn token_in(page: &str) -> String {
    let at = page
        .find("/shared/checkin/")
        .unwrap_or_else(|| panic!("no share link on the page: {page}"))
        + "/shared/checkin/".len();
    page[at..]
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_share_link_shares_figures_and_shows_its_token_once() {
    for backend in backends() {
        let c = Ctx::start(backend).await;
        c.clock.set(WEEK1 + 9 * HOUR);
        c.submit(&[single(1)]).await;
        // This week's edge case quotes a customer's message.
        let secret = "Mrs Jones at 12 Acacia Avenue cannot pay";
        let line = json!({ "input": { "text": secret }, "expected": { "fields": { "order": "AB-0001" } }, "note": "hardship" });
        let resp = c
            .app
            .client
            .post(c.app.url("/api/v1/automations/support/edge-cases/import"))
            .bearer_auth(&c.builder)
            .body(line.to_string())
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());

        c.app.user("bob@acme.io", Role::Builder).await;
        c.app.login("bob@acme.io").await;
        let own = c.app.page("/checkin?automation=support").await;
        assert!(own.contains(secret), "the team's own page shows the case: {own}");

        let csrf = c.app.csrf().await;
        let make = |examples: bool| {
            let mut form = vec![
                ("csrf", csrf.clone()),
                ("automation", "support".to_owned()),
                ("label", "Finance".to_owned()),
            ];
            if examples {
                form.push(("examples", "1".to_owned()));
            }
            let app = &c.app;
            async move {
                let resp = app
                    .client
                    .post(app.url("/checkin/share"))
                    .form(&form)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200, "the page itself, not a redirect");
                assert!(resp.headers().get("location").is_none());
                let page = resp.text().await.unwrap();
                assert!(page.contains("It is shown this once"), "{page}");
                token_in(&page)
            }
        };
        let figures_only = make(false).await;
        // The page after it no longer shows the token, and no address ever held it.
        let again = c.app.page("/checkin?automation=support").await;
        assert!(!again.contains(&figures_only), "shown once");
        let anonymous = reqwest::Client::new();
        let shared = c
            .app
            .page_as(&anonymous, &format!("/shared/checkin/{figures_only}"))
            .await;
        assert!(shared.contains("Check-in: Support"), "{shared}");
        assert!(
            !shared.contains("Acacia"),
            "no item text without examples: {shared}"
        );
        assert!(!shared.contains("hardship"), "{shared}");
        assert!(
            shared.contains("1 edge case added this week; this link does not share example inputs."),
            "{shared}"
        );

        let with_examples = make(true).await;
        let shared = c
            .app
            .page_as(&anonymous, &format!("/shared/checkin/{with_examples}"))
            .await;
        assert!(shared.contains(secret), "examples were chosen: {shared}");
    }
}
