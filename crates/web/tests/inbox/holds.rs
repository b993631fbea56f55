//! Holds follow the person: opening another item, going back to the inbox or signing out
//! gives back the item left, a person holds one item at a time, and the loser of a race
//! learns who decided the item and keeps what they typed, with no stale "is working on
//! this item" beside "already decided".

use super::*;

#[tokio::test]
async fn holds_follow_the_person() {
    for backend in backends() {
        let Setup {
            app, clock, items, ..
        } = setup(backend).await;
        for who in ["rita@acme.io", "sam@acme.io"] {
            app.user(who, Role::Reviewer).await;
            app.read_cards(who).await;
        }
        let rita = signed_in(&app, "rita@acme.io").await;
        let sam = signed_in(&app, "sam@acme.io").await;
        let rita_csrf = csrf_of(&rita, &app).await;
        let sam_csrf = csrf_of(&sam, &app).await;
        let (a, b) = (format!("/items/{}", items[0]), format!("/items/{}", items[1]));
        let holder = |id: ItemId| {
            let app = &app;
            async move {
                app.tandem
                    .claims(app.workspace, &[id])
                    .await
                    .unwrap()
                    .first()
                    .map(|c| c.user_name.clone())
            }
        };

        // Rita opens A, then B: she holds B only, and Sam can decide A.
        app.page_as(&rita, &a).await;
        assert_eq!(holder(items[0]).await.as_deref(), Some("rita"));
        app.page_as(&rita, &b).await;
        assert_eq!(holder(items[0]).await, None, "opening B gave A back");
        assert_eq!(holder(items[1]).await.as_deref(), Some("rita"));
        let html = app.page_as(&sam, &a).await;
        assert!(!html.contains("is working on this item"), "{html}");
        assert!(html.contains("id=\"approve-button\""), "{html}");

        // Back at the inbox, Rita holds nothing.
        app.page_as(&rita, "/inbox").await;
        assert_eq!(holder(items[1]).await, None, "the inbox gave B back");

        // Signing out gives back what she held.
        app.page_as(&rita, &b).await;
        assert_eq!(holder(items[1]).await.as_deref(), Some("rita"));
        let resp = app
            .post_form_as(&rita, "/logout", &[("csrf", rita_csrf.as_str())])
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(holder(items[1]).await, None, "signing out gave B back");

        // A race: Rita opens B and types a correction; her hold runs out, Sam takes B and
        // approves it; then Rita submits.
        let rita = signed_in(&app, "rita@acme.io").await;
        let rita_csrf = csrf_of(&rita, &app).await;
        app.page_as(&rita, &b).await;
        clock.advance(5 * MINUTE + 1);
        app.page_as(&sam, &b).await;
        let resp = app
            .post_form_as(
                &sam,
                &format!("{b}/decide"),
                &[("csrf", sam_csrf.as_str()), ("action", "approve")],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let resp = app
            .post_form_as(
                &rita,
                &format!("{b}/decide"),
                &[
                    ("csrf", rita_csrf.as_str()),
                    ("action", "correct"),
                    ("field.email", "typed-by-rita@x.io"),
                    ("field.order", "CD-5678"),
                ],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CONFLICT);
        let html = resp.text().await.unwrap();
        assert!(
            html.contains("sam already decided this item (approved); your answer was not saved"),
            "{html}"
        );
        assert!(html.contains("id=\"unsent\""), "{html}");
        assert!(
            html.contains("typed-by-rita@x.io"),
            "what she typed is kept: {html}"
        );
        assert!(!html.contains("is working on this item"), "{html}");

        // The one who decided holds nothing stale: a third look shows no banner either.
        let html = app.page_as(&rita, &b).await;
        assert!(!html.contains("is working on this item"), "{html}");

        // A refused decision on an item still open keeps the typed values in the form.
        let resp = app
            .post_form_as(
                &rita,
                &format!("{a}/decide"),
                &[
                    ("csrf", rita_csrf.as_str()),
                    ("action", "correct"),
                    ("field.email", "not an address"),
                    ("field.order", "AB-1234"),
                ],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = resp.text().await.unwrap();
        assert!(html.contains("value=\"not an address\""), "{html}");
    }
}
