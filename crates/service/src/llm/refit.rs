//! Refitting the LLM's calibration on reviewed items: `tandem llm refit SLUG`.
//!
//! The same calibrator as the learned extractor's (`tandem_engine::calibration`): each
//! reviewed item gives one point per LLM field, the raw score and whether the LLM's
//! value was what the reviewer accepted. Auto-accepted items are not evidence (nobody
//! checked them), so only approved and corrected items count.
//!
//! Scores made by different methods are never mixed (issue 20): a token probability and
//! a share of agreeing samples are different scales. A field is fitted on the answers
//! scored the way its latest reviewed answer was (the server's present behaviour); the
//! calibrator records that method and the LLM step applies it to such answers only.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use tandem_domain::WorkspaceId;
use tandem_engine::calibration::Calibrator;
use tandem_store::LlmCalibration;

use super::same_value;
use crate::{ServiceError, ServiceResult, Tandem};

/// What the refit found for one field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldFit {
    pub field: String,
    /// Reviewed answers fitted on, and how many were right.
    pub points: usize,
    pub correct: usize,
    /// `isotonic`, `platt`, or `none` when there was nothing to fit on.
    pub method: String,
    /// The kind of raw score fitted on: `logprobs`, `agreement` or `unscored` (`None`
    /// for answers recorded before the kind was kept).
    pub score_method: Option<String>,
    /// Reviewed answers scored another way, left out of this fit.
    pub other_points: usize,
    /// What the fitted calibrator makes of a few raw scores, for people to read.
    pub curve: Vec<(f64, f64)>,
}

/// One reviewed answer: how its score was made, the score, and whether it was right.
type Point<'a> = (Option<&'a str>, f64, bool);

/// The accepted value of `field` in an item's final result.
pub(crate) fn final_value(final_result: &str, field: &str) -> Option<Value> {
    let v: Value = serde_json::from_str(final_result).ok()?;
    v.get("fields")?.get(field).cloned()
}

impl Tandem {
    /// Fit each LLM field's calibrator on the automation's reviewed items, and use it
    /// from now on.
    pub async fn refit_llm(&self, ws: WorkspaceId, slug: &str) -> ServiceResult<Vec<FieldFit>> {
        let (automation, compiled) = self.active(ws, slug).await?;
        let fields: Vec<String> = super::step::llm_fields(&compiled.def)
            .into_iter()
            .map(|f| f.name.clone())
            .collect();
        if fields.is_empty() {
            return Err(ServiceError::Conflict(format!(
                "automation {slug} has no field with extractor or shadow_extractor = \"llm\""
            )));
        }
        let reviewed = self.store.reviewed_field_runs(ws, automation.id).await?;
        // Per field, each reviewed answer's method, score and rightness, oldest first.
        let mut points: BTreeMap<&str, Vec<Point<'_>>> = BTreeMap::new();
        for r in &reviewed {
            let (Some(score), true) = (r.run.raw_score, r.run.extractor == "llm") else {
                continue;
            };
            let given: Option<Value> = r.run.value.as_deref().and_then(|v| serde_json::from_str(v).ok());
            let accepted = final_value(&r.final_result, &r.run.field);
            let right = same_value(given.as_ref(), accepted.as_ref());
            points.entry(r.run.field.as_str()).or_default().push((
                r.run.score_method.as_deref(),
                score,
                right,
            ));
        }
        let mut fits = Vec::new();
        let mut rows = Vec::new();
        for field in &fields {
            let all = points.get(field.as_str()).cloned().unwrap_or_default();
            let Some(&(score_method, _, _)) = all.last() else {
                fits.push(FieldFit {
                    field: field.clone(),
                    points: 0,
                    correct: 0,
                    method: "none".into(),
                    score_method: None,
                    other_points: 0,
                    curve: Vec::new(),
                });
                continue;
            };
            let pts: Vec<(f64, bool)> = all
                .iter()
                .filter(|(m, _, _)| *m == score_method)
                .map(|&(_, s, ok)| (s, ok))
                .collect();
            let correct = pts.iter().filter(|(_, ok)| *ok).count();
            let cal = Calibrator::fit(&pts);
            let method = match cal {
                Calibrator::Isotonic(_) => "isotonic",
                Calibrator::Platt(_) => "platt",
                Calibrator::Identity => "none",
            };
            let curve = [0.0, 0.25, 0.5, 0.75, 0.9, 1.0]
                .into_iter()
                .map(|s| (s, (cal.apply(s) * 1000.0).round() / 1000.0))
                .collect();
            rows.push(LlmCalibration {
                automation_id: automation.id,
                field: field.clone(),
                calibrator: serde_json::to_string(&cal).map_err(|e| ServiceError::Internal(e.to_string()))?,
                points: pts.len() as i64,
                correct: correct as i64,
                score_method: score_method.map(str::to_owned),
                fitted_at: self.now(),
            });
            fits.push(FieldFit {
                field: field.clone(),
                points: pts.len(),
                correct,
                method: method.into(),
                score_method: score_method.map(str::to_owned),
                other_points: all.len() - pts.len(),
                curve,
            });
        }
        self.store.save_llm_calibrations(ws, &rows, self.now()).await?;
        tracing::info!(automation = slug, fields = rows.len(), "LLM calibration refitted");
        Ok(fits)
    }
}
