//! Figures that mean something: one approval is "1 of 1", not a 100% agreement, on the
//! progress page, and the check-in's override and rubber-stamp rates carry their counts.

use super::*;

#[tokio::test]
async fn a_rate_from_one_decision_shows_its_count_not_a_percentage() {
    for backend in backends() {
        let Setup { app, items, .. } = setup(backend).await;
        app.user("rita@acme.io", Role::Reviewer).await;
        app.read_cards("rita@acme.io").await;
        let rita = signed_in(&app, "rita@acme.io").await;
        let csrf = csrf_of(&rita, &app).await;
        let item = format!("/items/{}", items[1]);
        app.page_as(&rita, &item).await;
        let resp = app
            .post_form_as(
                &rita,
                &format!("{item}/decide"),
                &[("csrf", csrf.as_str()), ("action", "approve"), ("seconds", "1.0")],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.item_status(items[1]).await, ItemStatus::Approved);

        let progress = app.page_as(&rita, "/progress").await;
        let row = progress
            .split("<th scope=\"row\">rita</th>")
            .nth(1)
            .and_then(|r| r.split("</tr>").next())
            .unwrap_or_else(|| panic!("rita's row: {progress}"));
        assert!(row.contains("1 of 1 (too few for a rate)"), "{row}");
        assert!(!row.contains("100%"), "{row}");

        // One approval in under 3 s: not "100% rubber stamps", and the chart has no point.
        let checkin = app.page_as(&rita, "/checkin").await;
        let figure = |label: &str| {
            let at = checkin
                .find(&format!("<div class=\"muted\">{label}</div>"))
                .unwrap_or_else(|| panic!("no figure {label}: {checkin}"));
            checkin[at..].split("</div></div>").next().unwrap().to_owned()
        };
        assert!(figure("Override rate").contains("0 of 1 (too few for a rate)"));
        assert!(figure("Rubber-stamp rate").contains("1 of 1 (too few for a rate)"));
        assert!(
            !checkin.contains("<title>rubber-stamp rate: 0, 100%</title>"),
            "{checkin}"
        );
    }
}
