//! Paging everywhere a list can grow: the inbox and the items list show 50 rows a page
//! with "Items 51–100 of 120", and link to the pages on either side by position (never
//! an offset), keeping the list's filters and order; the API pages the same way.

use super::*;

/// The item ids of a list page's rows, in order.
fn row_ids(html: &str) -> Vec<i64> {
    html.split("data-href=\"/items/")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().parse().unwrap())
        .collect()
}

/// The address of the page's link with `rel`, unescaped.
fn link(html: &str, rel: &str) -> Option<String> {
    let before = html
        .split(&format!("rel=\"{rel}\""))
        .next()
        .filter(|b| b.len() < html.len())?;
    let at = before.rfind("href=\"")? + "href=\"".len();
    Some(
        before[at..]
            .split('"')
            .next()?
            .replace("&amp;", "&")
            .replace("&#38;", "&"),
    )
}

#[tokio::test]
async fn the_inbox_and_the_items_list_page_by_position_with_counts() {
    for backend in backends() {
        let Setup { app, items, .. } = setup(backend).await;
        let users = app.tandem.store.list_users(app.workspace).await.unwrap();
        let admin = tandem_service::auth::Actor {
            user: users.into_iter().find(|u| u.email == "ada@acme.io").unwrap(),
        };
        // 118 more without an address: 120 open items, 121 in all.
        let texts: Vec<String> = (0..118).map(|i| format!("no address in message {i}")).collect();
        app.submit_texts(&admin, "support", &texts).await;
        let ada = signed_in(&app, "ada@acme.io").await;

        // The inbox: 50 a page, oldest first, with where the page sits.
        let one = app.page_as(&ada, "/inbox").await;
        assert!(one.contains("Items 1–50 of 120"), "{one}");
        let first = row_ids(&one);
        assert_eq!(first.len(), 50);
        assert_eq!(first[0], items[0].0, "oldest first");
        assert!(link(&one, "prev").is_none(), "no page before the first");
        let next = link(&one, "next").expect("a next page");
        assert!(next.contains("after=") && !next.contains("offset"), "{next}");
        let two = app.page_as(&ada, &next).await;
        assert!(two.contains("Items 51–100 of 120"), "{two}");
        let second = row_ids(&two);
        let three = app.page_as(&ada, &link(&two, "next").unwrap()).await;
        assert!(three.contains("Items 101–120 of 120"), "{three}");
        let third = row_ids(&three);
        assert_eq!(third.len(), 20);
        assert!(link(&three, "next").is_none(), "no page after the last");
        let mut all: Vec<i64> = first.iter().chain(&second).chain(&third).copied().collect();
        assert!(all.windows(2).all(|w| w[0] < w[1]), "in order, each once");
        all.dedup();
        assert_eq!(all.len(), 120);
        // Back from the last page is the middle one again.
        let back = app.page_as(&ada, &link(&three, "prev").unwrap()).await;
        assert_eq!(row_ids(&back), second);
        assert!(back.contains("Items 51–100 of 120"), "{back}");

        // The order and filters travel with the pages.
        let newest = app
            .page_as(&ada, "/inbox?order=newest&reason=missing_required")
            .await;
        let next = link(&newest, "next").expect("a next page");
        assert!(
            next.contains("order=newest") && next.contains("reason=missing_required"),
            "{next}"
        );
        let newest_two = row_ids(&app.page_as(&ada, &next).await);
        let newest_one = row_ids(&newest);
        assert!(
            newest_one.last() > newest_two.first(),
            "newest first on both pages"
        );

        // A position that is not one is refused, clearly.
        let resp = ada.get(app.url("/inbox?after=12;drop")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = resp.text().await.unwrap();
        assert!(
            body.contains("after: ") && body.contains("not a position in this list"),
            "{body}"
        );

        // The items list (every status, newest first) pages the same way.
        let list = app.page_as(&ada, "/items").await;
        assert!(list.contains("Items 1–50 of 121"), "{list}");
        let list_two = app.page_as(&ada, &link(&list, "next").unwrap()).await;
        assert!(list_two.contains("Items 51–100 of 121"), "{list_two}");
        assert!(row_ids(&list).last() > row_ids(&list_two).first());
        let decided = app.page_as(&ada, "/items?status=auto_accepted").await;
        assert_eq!(row_ids(&decided), vec![items[2].0]);
        assert!(decided.contains("Items 1–1 of 1") && link(&decided, "next").is_none());

        // The API: `next` is the following page's `after`; offsets are refused.
        let (status, body) = get(&app, "/api/v1/items?limit=50").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            (body["total"].as_i64(), body["first"].as_i64()),
            (Some(120), Some(1))
        );
        let mut seen = body["items"].as_array().unwrap().len();
        let mut after = body["next"].as_str().unwrap().to_owned();
        loop {
            let (_, page) = get(&app, &format!("/api/v1/items?limit=50&after={after}")).await;
            seen += page["items"].as_array().unwrap().len();
            match page["next"].as_str() {
                Some(n) => after = n.to_owned(),
                None => break,
            }
        }
        assert_eq!(seen, 120);
        let (status, body) = get(&app, "/api/v1/items?offset=50").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.to_string().contains("after"), "{body}");
    }
}
