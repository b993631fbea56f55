//! "The decided items most similar to this one, with how they were decided": what a
//! reviewer looks at to decide an item the way the team decided its look-alikes.
//!
//! A decision stores the item text's MinHash band keys (`engine::similarity`); a page view
//! computes its own keys, asks the store for the decided items of the same automation
//! sharing any (a bounded number per key), and ranks the best of them by the exact
//! overlap of their features. Nothing reads all decided items. Items decided before the
//! index existed get their keys from [`backfill`].

pub mod backfill;

use std::collections::BTreeMap;

use serde::Serialize;
use tandem_domain::{ItemId, ItemStatus, Millis, Role};
use tandem_engine::similarity::Shingles;
use tandem_store::Item;

use crate::auth::Actor;
use crate::{ServiceResult, Tandem};

/// How many similar items the page shows.
pub const SHOWN: usize = 5;
/// Newest items taken per band key: bounds a page view's reads on templated input, where
/// thousands of items can share a key.
const PER_KEY: u32 = 40;
/// Candidates (by shared keys) whose text is read to rank them exactly.
const RANKED: usize = 30;
/// Below this overlap an item is not "similar", whatever it shares.
const MIN_OVERLAP: f64 = 0.2;

#[derive(Debug, Clone, Serialize)]
pub struct SimilarItem {
    pub id: ItemId,
    pub status: ItemStatus,
    pub status_label: &'static str,
    /// Jaccard overlap of the two texts' features, 0..=1.
    pub similarity: f64,
    pub preview: String,
    pub decided_at: Option<Millis>,
    pub decided_by: Option<String>,
    /// What the reviewer changed, for a correction: (field, before, after).
    pub corrections: Vec<Correction>,
    /// The reviewer's reason, for a reject (or a note with another decision).
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Correction {
    pub field: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

/// The text similarity is computed on: every input, in name order.
pub(crate) fn item_text(input: &str) -> String {
    let fields: BTreeMap<String, String> = serde_json::from_str(input).unwrap_or_default();
    fields.into_values().collect::<Vec<_>>().join("\n")
}

/// The band keys a decision stores for its item.
pub(crate) fn keys_of(item: &Item) -> Vec<i64> {
    keys_of_input(&item.input)
}

/// The band keys of an item input (its JSON), as a decision would store them.
pub fn keys_of_input(input: &str) -> Vec<i64> {
    Shingles::of(&item_text(input)).band_keys()
}

impl Tandem {
    /// The decided items of the same automation most like item `id`, most similar first.
    pub async fn similar_decided(&self, actor: &Actor, id: ItemId) -> ServiceResult<Vec<SimilarItem>> {
        actor.require(Role::Viewer, "see items")?;
        let ws = actor.workspace();
        let item = self.store.item(ws, id).await?;
        let shingles = Shingles::of(&item_text(&item.input));
        let keys = shingles.band_keys();
        let candidates = self
            .store
            .similar_candidates(ws, item.automation_id, &keys, id, PER_KEY)
            .await?;
        let ids: Vec<ItemId> = candidates.iter().take(RANKED).map(|(c, _)| *c).collect();
        let neighbours = self.store.decided_neighbours(ws, &ids).await?;
        let mut out: Vec<SimilarItem> = neighbours
            .into_iter()
            .filter_map(|n| {
                let similarity = shingles.jaccard(&Shingles::of(&item_text(&n.input)));
                (similarity >= MIN_OVERLAP).then(|| {
                    let detail: serde_json::Value = n
                        .detail
                        .as_deref()
                        .and_then(|d| serde_json::from_str(d).ok())
                        .unwrap_or_default();
                    SimilarItem {
                        id: n.id,
                        status: n.status,
                        status_label: n.status.label(),
                        similarity,
                        preview: n.preview,
                        decided_at: n.decided_at,
                        decided_by: n.decided_by,
                        corrections: corrections(&detail),
                        reason: detail["reason"].as_str().map(String::from),
                    }
                })
            })
            .collect();
        out.sort_by(|a, b| b.similarity.total_cmp(&a.similarity).then(b.id.0.cmp(&a.id.0)));
        out.truncate(SHOWN);
        Ok(out)
    }
}

fn corrections(detail: &serde_json::Value) -> Vec<Correction> {
    detail["corrections"]
        .as_array()
        .map(|changes| {
            changes
                .iter()
                .map(|c| Correction {
                    field: c["field"].as_str().unwrap_or_default().to_owned(),
                    before: c["before"].clone(),
                    after: c["after"].clone(),
                })
                .collect()
        })
        .unwrap_or_default()
}
