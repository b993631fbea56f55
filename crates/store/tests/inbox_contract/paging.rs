//! Keyset paging of the item lists: in every order the inbox offers, walking the pages
//! forward and back gives exactly the whole list once, with counts that agree, and an
//! item decided between two pages shifts nothing.

use super::*;

/// Every row of `f` (one big page).
async fn whole(store: &Arc<dyn Store>, ws: WorkspaceId, f: &ItemFilter) -> Vec<ItemId> {
    let all = ItemFilter {
        limit: 1000,
        from: None,
        ..f.clone()
    };
    store
        .list_items(ws, &all)
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect()
}

async fn page(
    store: &Arc<dyn Store>,
    ws: WorkspaceId,
    f: &ItemFilter,
    from: Option<PageFrom>,
) -> Vec<ItemSummary> {
    let f = ItemFilter { from, ..f.clone() };
    store.list_items(ws, &f).await.unwrap()
}

#[tokio::test]
async fn pages_by_position_cover_every_order_once_forward_and_back() {
    each_backend(|store| async move {
        // Another workspace's open items come first and must never show up.
        let other = workspace(&store, "other").await;
        items(&store, other, "o", 4, 0, 100, 110).await;
        let ws = workspace(&store, "acme").await;
        // Ties on purpose: "slow" and "many" arrive at the same instant, so only the id
        // keeps their order; "fast" is urgent with the earliest due time; "none" has no
        // policy (normal priority, no due time).
        // (Accepted items queue deliveries, which the helper would claim as its own: the
        // automation with accepted items comes last.)
        let (slow, _, _) = items(&store, ws, "slow", 2, 0, 100, 150).await;
        let (fast, _, _) = items(&store, ws, "fast", 3, 0, 200, 250).await;
        items(&store, ws, "none", 2, 0, 50, 300).await;
        let (many, _, _) = items(&store, ws, "many", 7, 2, 100, 160).await;
        store
            .set_review_policy(&policy(ws, slow, 1, Some(10_000)), 1)
            .await
            .unwrap();
        store
            .set_review_policy(&policy(ws, many, 0, Some(500)), 1)
            .await
            .unwrap();
        store
            .set_review_policy(&policy(ws, fast, 3, Some(1_000)), 1)
            .await
            .unwrap();

        let everything = ItemFilter {
            statuses: Vec::new(),
            ..ItemFilter::default()
        };
        let mut filters = Vec::new();
        for sort in [ItemSort::Age, ItemSort::Priority, ItemSort::Due] {
            for newest_first in [false, true] {
                let open = ItemFilter {
                    sort,
                    newest_first,
                    limit: 3,
                    ..ItemFilter::default()
                };
                filters.push(ItemFilter {
                    limit: 4,
                    ..ItemFilter {
                        statuses: everything.statuses.clone(),
                        ..open.clone()
                    }
                });
                filters.push(open);
            }
        }
        for f in &filters {
            let all = whole(&store, ws, f).await;
            let expect = if f.statuses.is_empty() { 14 } else { 12 };
            assert_eq!(all.len(), expect, "{f:?}");
            assert_eq!(store.count_items(ws, f).await.unwrap(), expect as i64, "{f:?}");

            // Forward: each page starts after the last row of the one before.
            let mut walked = Vec::new();
            let mut pages = Vec::new();
            let mut from = None;
            loop {
                let rows = page(&store, ws, f, from).await;
                if rows.is_empty() {
                    break;
                }
                assert!(rows.len() <= f.limit as usize, "{f:?}");
                let last = ItemCursor::of(rows.last().unwrap());
                // What lies after this page's first row is the rest of the list.
                let rest = ItemFilter {
                    from: Some(PageFrom::After(ItemCursor::of(&rows[0]))),
                    ..f.clone()
                };
                assert_eq!(
                    store.count_items(ws, &rest).await.unwrap() as usize,
                    all.len() - walked.len() - 1,
                    "{f:?}"
                );
                walked.extend(rows.iter().map(|r| r.id));
                pages.push(rows);
                from = Some(PageFrom::After(last));
                assert!(pages.len() <= all.len(), "paging never ends: {f:?}");
            }
            assert_eq!(walked, all, "forward pages are the whole list once: {f:?}");

            // Back: from the last page's first row, each page ends just before.
            let mut back = pages.last().unwrap().iter().map(|r| r.id).collect::<Vec<_>>();
            let mut at = ItemCursor::of(&pages.last().unwrap()[0]);
            loop {
                let rows = page(&store, ws, f, Some(PageFrom::Before(at))).await;
                if rows.is_empty() {
                    break;
                }
                assert!(rows.len() <= f.limit as usize, "{f:?}");
                at = ItemCursor::of(&rows[0]);
                back.splice(0..0, rows.iter().map(|r| r.id));
            }
            assert_eq!(back, all, "backward pages are the whole list once: {f:?}");
        }

        // The orders themselves: urgent first; earliest due first, no due time last.
        let by = |sort| ItemFilter {
            sort,
            limit: 1000,
            ..ItemFilter::default()
        };
        let rows = store.list_items(ws, &by(ItemSort::Priority)).await.unwrap();
        assert!(rows[..3].iter().all(|r| r.automation_id == fast), "{rows:?}");
        let rows = store.list_items(ws, &by(ItemSort::Due)).await.unwrap();
        assert!(rows[..5].iter().all(|r| r.automation_id == many), "{rows:?}");
        assert!(rows[10..].iter().all(|r| r.due_at.is_none()), "{rows:?}");

        // Rejecting an item on the first page does not shift the second one (an offset
        // would: the second page would start one row later).
        let rita = user(&store, ws, "rita@acme.io", "Rita").await;
        let f = ItemFilter {
            limit: 3,
            ..ItemFilter::default()
        };
        let first = page(&store, ws, &f, None).await;
        let next = Some(PageFrom::After(ItemCursor::of(&first[2])));
        let second = page(&store, ws, &f, next).await;
        let reject = DecisionRecord {
            item_id: first[0].id,
            actor: rita,
            status: ItemStatus::Rejected,
            final_result: None,
            before: None,
            after: None,
            detail: "{}".into(),
            seconds: Some(5.0),
            deliveries: Vec::new(),
            similar_keys: Vec::new(),
        };
        store.record_decision(ws, &reject, 400).await.unwrap();
        let ids = |rows: &[ItemSummary]| rows.iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(&page(&store, ws, &f, next).await), ids(&second));
        assert_eq!(store.count_items(ws, &f).await.unwrap(), 11);
    })
    .await;
}
