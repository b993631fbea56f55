//! Rows for the LLM step and side-by-side extractors: what a run cost, what each
//! extractor answered per field, and the calibrators fitted on reviewed items.

use serde::Serialize;
use tandem_domain::{AutomationId, ItemId, ItemStatus, Millis, VersionId};

/// What the LLM step cost on one item (its latest processing).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LlmRun {
    pub item_id: ItemId,
    pub version_id: VersionId,
    pub model: String,
    pub latency_ms: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    /// HTTP requests, retries and samples included.
    pub requests: i64,
    /// Why the step gave no answer, when it failed.
    pub error: Option<String>,
    pub created_at: Millis,
}

/// Which extractor of a field an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldRole {
    /// Decides the item's value.
    Primary,
    /// Runs beside it; recorded, never used.
    Shadow,
}

impl FieldRole {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldRole::Primary => "primary",
            FieldRole::Shadow => "shadow",
        }
    }
}

/// One extractor's answer for one field of an item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldRun {
    pub field: String,
    pub role: FieldRole,
    /// `pattern`, `label`, `learned` or `llm`.
    pub extractor: String,
    /// JSON: a string, a list of strings, or absent.
    pub value: Option<String>,
    /// The LLM's uncalibrated score, which calibration is refitted from.
    pub raw_score: Option<f64>,
    /// How the LLM's raw score was made: `logprobs`, `agreement` (of samples) or
    /// `unscored`; `None` for other extractors (and LLM answers recorded before it was).
    pub score_method: Option<String>,
    pub confidence: f64,
}

/// A field answer next to what the reviewer finally accepted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewedFieldRun {
    pub item_id: ItemId,
    pub run: FieldRun,
    pub status: ItemStatus,
    /// The item's accepted result (JSON `{"fields": {...}}`).
    pub final_result: String,
}

/// A fitted calibrator for one LLM field of an automation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LlmCalibration {
    pub automation_id: AutomationId,
    pub field: String,
    /// The calibrator as JSON (the engine's `Calibrator`).
    pub calibrator: String,
    /// Reviewed answers it was fitted on, and how many of them were right.
    pub points: i64,
    pub correct: i64,
    /// The kind of raw score it was fitted on (see [`FieldRun::score_method`]); it is
    /// applied to answers scored the same way only. `None`: fitted before this was kept.
    pub score_method: Option<String>,
    pub fitted_at: Millis,
}

/// Everything recorded about one item's extractors, written in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct NewExtractorRuns {
    pub item_id: ItemId,
    pub automation_id: AutomationId,
    pub version_id: VersionId,
    pub llm: Option<LlmRun>,
    pub fields: Vec<FieldRun>,
}
