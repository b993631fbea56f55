//! Why an item is outside the reliable range, as data (a stable code and its figures) that
//! is stored with the item and turned into words for people at the edge.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Reason {
    /// A required field has no value.
    MissingRequired,
    /// The calibrated confidence is under the field's or route's threshold.
    LowConfidence { confidence: f64, threshold: f64 },
    /// Several different values were found where one was expected.
    Ambiguous { candidates: usize },
    /// The value breaks a validation rule of the automation.
    ValidationFailed { rule: String, message: String },
    /// The value was found but cannot be read as its type (an impossible date).
    InvalidValue { message: String },
    /// The input looks unlike anything the router was trained on.
    OutOfScope,
    /// No route is confident enough.
    RouteUnsure { confidence: f64, threshold: f64 },
    /// The input field the value is read from is empty or absent.
    SourceMissing { input: String },
    /// The step has no trained model (or an external step failed).
    StepUnavailable { message: String },
    /// The model's held-out answers cannot back the field's threshold as a precision
    /// with 95% confidence, so the field is never accepted on its own.
    NotEnoughEvidence {
        target: f64,
        held_out: usize,
        best_lower_bound: f64,
        needed_at_least: usize,
    },
    /// The model reports the field absent, but is less sure of that than the threshold.
    AbsentUnsure { confidence: f64, threshold: f64 },
}

impl Reason {
    /// The stable code stored with the item and used to filter the inbox.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::MissingRequired => "missing_required",
            Reason::LowConfidence { .. } => "low_confidence",
            Reason::Ambiguous { .. } => "ambiguous",
            Reason::ValidationFailed { .. } => "validation_failed",
            Reason::InvalidValue { .. } => "invalid_value",
            Reason::OutOfScope => "out_of_scope",
            Reason::RouteUnsure { .. } => "route_unsure",
            Reason::SourceMissing { .. } => "source_missing",
            Reason::StepUnavailable { .. } => "step_unavailable",
            Reason::NotEnoughEvidence { .. } => "not_enough_evidence",
            Reason::AbsentUnsure { .. } => "absent_unsure",
        }
    }

    /// Plain words for a reviewer, naming the field or "the route" it is about.
    pub fn describe(&self, subject: &str) -> String {
        match self {
            Reason::MissingRequired => format!("{subject} is required but was not found in the input."),
            Reason::LowConfidence {
                confidence,
                threshold,
            } => format!(
                "{subject} was found with {} confidence; this automation accepts {subject} on its own from {}.",
                percent(*confidence),
                percent(*threshold)
            ),
            Reason::Ambiguous { candidates } => {
                format!("{candidates} different values could be {subject}; the first one is suggested.")
            }
            Reason::ValidationFailed { rule, message } => {
                format!("{subject} breaks the rule \"{rule}\": {message}.")
            }
            Reason::InvalidValue { message } => format!("{subject} could not be read: {message}."),
            Reason::OutOfScope => {
                "This input looks unlike the examples the router learned from, so no route is trusted."
                    .to_owned()
            }
            Reason::RouteUnsure {
                confidence,
                threshold,
            } => format!(
                "The best route has {} confidence; routes are taken automatically from {}.",
                percent(*confidence),
                percent(*threshold)
            ),
            Reason::SourceMissing { input } => format!("{subject} is read from \"{input}\", which is empty."),
            Reason::StepUnavailable { message } => format!("{subject} could not be worked out: {message}."),
            Reason::NotEnoughEvidence {
                target,
                held_out,
                best_lower_bound,
                needed_at_least,
            } => {
                let why = super::NoEvidence {
                    target: *target,
                    held_out: *held_out,
                    best_lower_bound: *best_lower_bound,
                    needed_at_least: *needed_at_least,
                };
                format!("{subject} is never accepted on its own yet: {}.", why.describe())
            }
            Reason::AbsentUnsure {
                confidence,
                threshold,
            } => format!(
                "{subject} was not found, but the model is only {} sure it is absent; this automation accepts that on its own from {}.",
                percent(*confidence),
                percent(*threshold)
            ),
        }
    }

    /// A short label for lists and filters.
    pub fn label(code: &str) -> &'static str {
        match code {
            "missing_required" => "Required field missing",
            "low_confidence" => "Low confidence",
            "ambiguous" => "Several candidates",
            "validation_failed" => "Failed validation",
            "invalid_value" => "Unreadable value",
            "out_of_scope" => "Out of scope",
            "route_unsure" => "Route unsure",
            "source_missing" => "Input empty",
            "step_unavailable" => "Step unavailable",
            "not_enough_evidence" => "Not enough evidence",
            "absent_unsure" => "Unsure it is absent",
            "engine_error" => "Processing failed",
            "shadow_mode" => "Shadow mode",
            "draft_mode" => "Draft: not live yet",
            "paused" => "Automatic acceptance paused",
            "field_shadow" => "A field in shadow",
            "field_suggest" => "Suggested, not automatic",
            _ => "Other",
        }
    }
}

fn percent(p: f64) -> String {
    format!("{:.0}%", (p * 100.0).clamp(0.0, 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_as_sentences_and_keep_their_code() {
        let r = Reason::LowConfidence {
            confidence: 0.612,
            threshold: 0.9,
        };
        assert_eq!(r.code(), "low_confidence");
        assert_eq!(
            r.describe("total"),
            "total was found with 61% confidence; this automation accepts total on its own from 90%."
        );
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"code":"low_confidence","confidence":0.612,"threshold":0.9}"#
        );
        assert_eq!(serde_json::from_str::<Reason>(&json).unwrap(), r);
        assert_eq!(Reason::label("out_of_scope"), "Out of scope");
    }
}
