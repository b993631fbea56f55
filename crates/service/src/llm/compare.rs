//! Side by side: per field, how often each extractor that ran on it agreed with what
//! the reviewers finally accepted, and "keep the better one".

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tandem_domain::definition::{AutomationDef, ExtractorKind};
use tandem_domain::{UserId, WorkspaceId};
use tandem_store::{NewArtifact, NewVersion};

use super::refit::final_value;
use super::same_value;
use crate::automations::Applied;
use crate::{ServiceError, ServiceResult, Tandem};

/// One extractor's record on one field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtractorScore {
    pub extractor: String,
    /// Reviewed items it answered on, and how many of its answers the reviewer accepted.
    pub reviewed: usize,
    pub agreed: usize,
}

impl ExtractorScore {
    pub fn rate(&self) -> f64 {
        if self.reviewed == 0 {
            0.0
        } else {
            self.agreed as f64 / self.reviewed as f64
        }
    }
}

/// A field that runs (or ran) two extractors side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldComparison {
    pub field: String,
    /// The active version's primary and shadow extractors.
    pub primary: String,
    pub shadow: Option<String>,
    /// Reviewed items on which both extractors answered.
    pub reviewed: usize,
    /// Best first.
    pub scores: Vec<ExtractorScore>,
    /// The extractor that agreed more often, when it is not the primary already.
    pub switch_to: Option<String>,
}

/// Per item id, each extractor's answer on a field and whether the reviewer agreed.
type ItemAnswers<'a> = BTreeMap<i64, Vec<(&'a str, bool)>>;

impl Tandem {
    /// Per field with a shadow extractor: each extractor's agreement with the reviewers,
    /// counted on reviewed items where both answered, so they face the same items.
    pub async fn compare_extractors(
        &self,
        ws: WorkspaceId,
        slug: &str,
    ) -> ServiceResult<Vec<FieldComparison>> {
        let (automation, compiled) = self.active(ws, slug).await?;
        let reviewed = self.store.reviewed_field_runs(ws, automation.id).await?;
        let mut by_field: BTreeMap<&str, ItemAnswers<'_>> = BTreeMap::new();
        for r in &reviewed {
            let given: Option<Value> = r.run.value.as_deref().and_then(|v| serde_json::from_str(v).ok());
            let accepted = final_value(&r.final_result, &r.run.field);
            let agreed = same_value(given.as_ref(), accepted.as_ref());
            by_field
                .entry(r.run.field.as_str())
                .or_default()
                .entry(r.item_id.0)
                .or_default()
                .push((r.run.extractor.as_str(), agreed));
        }
        let mut out = Vec::new();
        for f in &compiled.def.fields {
            let Some(shadow) = f.shadow_extractor else {
                continue;
            };
            let mut scores: BTreeMap<&str, ExtractorScore> = BTreeMap::new();
            let mut items = 0;
            for runs in by_field
                .get(f.name.as_str())
                .map(|m| m.values())
                .into_iter()
                .flatten()
            {
                if runs.len() < 2 {
                    continue;
                }
                items += 1;
                for (extractor, agreed) in runs {
                    let s = scores.entry(extractor).or_insert_with(|| ExtractorScore {
                        extractor: (*extractor).to_owned(),
                        reviewed: 0,
                        agreed: 0,
                    });
                    s.reviewed += 1;
                    s.agreed += usize::from(*agreed);
                }
            }
            let mut scores: Vec<ExtractorScore> = scores.into_values().collect();
            // Ties keep the primary first, so a tie never suggests a switch.
            let primary = f.extractor.as_str();
            scores.sort_by(|a, b| {
                b.rate()
                    .total_cmp(&a.rate())
                    .then_with(|| (b.extractor == primary).cmp(&(a.extractor == primary)))
            });
            let switch_to = scores
                .first()
                .filter(|s| s.extractor != primary && s.reviewed > 0)
                .map(|s| s.extractor.clone());
            out.push(FieldComparison {
                field: f.name.clone(),
                primary: primary.to_owned(),
                shadow: Some(shadow.as_str().to_owned()),
                reviewed: items,
                scores,
                switch_to,
            });
        }
        Ok(out)
    }

    /// Make the better extractor of `field` its primary: a new version whose definition
    /// swaps the field's `extractor` and `shadow_extractor` (so the comparison goes on),
    /// with the current version's trained models, which already cover both.
    pub async fn keep_better_extractor(
        &self,
        ws: WorkspaceId,
        slug: &str,
        field: &str,
        by: Option<UserId>,
    ) -> ServiceResult<Applied> {
        let comparison = self.compare_extractors(ws, slug).await?;
        let c = comparison.iter().find(|c| c.field == field).ok_or_else(|| {
            ServiceError::invalid(format!("field {field:?} has no shadow_extractor to compare with"))
        })?;
        let Some(better) = &c.switch_to else {
            return Err(ServiceError::Conflict(format!(
                "{} already agrees with the reviewers at least as often as {} on {field} ({} reviewed items); nothing to switch",
                c.primary,
                c.shadow.as_deref().unwrap_or("the shadow"),
                c.reviewed
            )));
        };
        let (automation, compiled) = self.active(ws, slug).await?;
        let primary = kind(better)?;
        let shadow = kind(&c.primary)?;
        let source =
            AutomationDef::set_extractors(&compiled.version.definition, field, primary, Some(shadow))
                .map_err(ServiceError::invalid)?;
        // The rewritten definition must still be valid (the swap cannot break it, but a
        // stored definition from an older build might not parse any more).
        crate::automations::parse_definition(&source, slug)?;
        let artifacts = self
            .store
            .artifacts(ws, compiled.version.id)
            .await?
            .into_iter()
            .map(|a| NewArtifact {
                kind: a.kind,
                bytes: a.bytes,
                summary: a.summary,
            })
            .collect();
        let mut h = Sha256::new();
        h.update(source.as_bytes());
        h.update([0u8]);
        h.update(compiled.version.content_hash.as_bytes());
        let saved = self
            .store
            .save_version(
                ws,
                &NewVersion {
                    slug: slug.to_owned(),
                    name: automation.name.clone(),
                    definition: source,
                    content_hash: hex::encode(h.finalize()),
                    artifacts,
                    created_by: by,
                },
                self.now(),
            )
            .await?;
        tracing::info!(automation = slug, field, extractor = %better, version = saved.version.number, "kept the better extractor");
        Ok(Applied {
            automation: saved.automation,
            version: saved.version,
            created: saved.created,
        })
    }
}

fn kind(name: &str) -> ServiceResult<ExtractorKind> {
    [
        ExtractorKind::Pattern,
        ExtractorKind::Label,
        ExtractorKind::Learned,
        ExtractorKind::Llm,
    ]
    .into_iter()
    .find(|k| k.as_str() == name)
    .ok_or_else(|| ServiceError::Internal(format!("unknown extractor {name:?} in the records")))
}
