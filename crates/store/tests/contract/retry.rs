//! Contract for poison items (issue 21): a processing job claimed before and not finished
//! is claimed again alone, with its attempt counted in the claim, so an item that kills
//! its process counts attempts against itself and not against the batch it came with.

use tandem_store::*;

use super::{each_backend, new_item, new_version, workspace};

#[tokio::test]
async fn an_unfinished_job_is_claimed_again_alone_with_its_attempt_counted() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let saved = store.save_version(ws, &new_version("r", "h"), 1).await.unwrap();
        let items: Vec<NewItem> = ["a", "b", "c"].iter().map(|k| new_item(k, None)).collect();
        store
            .insert_items(ws, saved.automation.id, &items, 10)
            .await
            .unwrap();
        assert!(
            store.claim_retry("w", 1_000, 10).await.unwrap().is_none(),
            "a job never claimed is not a retry"
        );
        // A worker takes the batch and dies: every lease runs out at 100.
        let batch = store.claim_jobs("dead", 10, 100, 10).await.unwrap();
        assert_eq!(batch.len(), 3);
        assert!(batch.iter().all(|j| j.attempts == 1));
        assert!(
            store.claim_retry("w", 1_000, 99).await.unwrap().is_none(),
            "not while the lease holds"
        );
        let first = store
            .claim_retry("w", 1_000, 101)
            .await
            .unwrap()
            .expect("a retry");
        assert_eq!((first.id, first.attempts), (batch[0].id, 2));
        let second = store
            .claim_retry("w2", 1_000, 101)
            .await
            .unwrap()
            .expect("another");
        assert_eq!((second.id, second.attempts), (batch[1].id, 2));
        // Delivery jobs and fresh processing jobs are not retries.
        store
            .insert_items(ws, saved.automation.id, &[new_item("d", None)], 101)
            .await
            .unwrap();
        let third = store
            .claim_retry("w3", 1_000, 102)
            .await
            .unwrap()
            .expect("the last");
        assert_eq!((third.id, third.attempts), (batch[2].id, 2));
        assert!(store.claim_retry("w3", 1_000, 102).await.unwrap().is_none());
        let fresh = store.claim_jobs("w3", 10, 1_000, 102).await.unwrap();
        assert_eq!(fresh.len(), 1);
        assert_eq!(fresh[0].attempts, 1);
    })
    .await;
}

/// Issue 20: a worker whose LLM call outlasts the lease renews it, so no other worker
/// takes the job over; a lease already taken over is not renewed.
#[tokio::test]
async fn a_lease_in_use_is_renewed_and_a_lost_one_is_not() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let saved = store.save_version(ws, &new_version("r", "h"), 1).await.unwrap();
        let items: Vec<NewItem> = ["a", "b"].iter().map(|k| new_item(k, None)).collect();
        store
            .insert_items(ws, saved.automation.id, &items, 10)
            .await
            .unwrap();
        let batch = store.claim_jobs("w1", 10, 100, 10).await.unwrap();
        assert_eq!(batch.len(), 2);
        // w1 renews the first job at 90, until 200; not the second.
        assert!(store.renew_lease("w1", batch[0].id, 200).await.unwrap());
        assert!(
            !store.renew_lease("w2", batch[0].id, 300).await.unwrap(),
            "only the holder renews"
        );
        // At 150 the second lease has run out and w2 takes it; the first is still w1's.
        let taken = store.claim_jobs("w2", 10, 1_000, 150).await.unwrap();
        let ids: Vec<tandem_domain::JobId> = taken.iter().map(|j| j.id).collect();
        assert_eq!(ids, [batch[1].id]);
        assert!(
            !store.renew_lease("w1", batch[1].id, 400).await.unwrap(),
            "a lease taken over is lost"
        );
        // Renewing never shortens a lease.
        assert!(store.renew_lease("w1", batch[0].id, 120).await.unwrap());
        assert!(store.claim_jobs("w3", 10, 1_000, 190).await.unwrap().is_empty());
    })
    .await;
}
