//! Why an item is outside the reliable range, as data (a stable code and its figures) that
//! is stored with the item and turned into words for people at the edge.

use serde::{Deserialize, Serialize};

use crate::range::{RangeCheck, RangeViolation};

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
    /// The input is far outside what the automation learned from (length, unknown words
    /// or characters, repetition, binary-looking text), whatever the score.
    OutOfRange(RangeViolation),
    /// The value was read from a page image by OCR, and the reader was unsure of a word.
    UncertainReading { confidence: f64, threshold: f64 },
    /// A rule of the definition sends items like this one to a person.
    RuleReview { rule: String, why: String },
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
            Reason::OutOfRange(_) => "out_of_range",
            Reason::UncertainReading { .. } => "uncertain_reading",
            Reason::RuleReview { .. } => "rule_review",
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
            Reason::OutOfRange(v) => out_of_range(v),
            Reason::UncertainReading {
                confidence,
                threshold,
            } => format!(
                "{subject} was read from the page image, and the text reader was only {} sure of it (under {}); check it against the page.",
                percent(*confidence),
                percent(*threshold)
            ),
            Reason::RuleReview { rule, why } => {
                let mut chars = rule.chars();
                let first: String = chars
                    .next()
                    .map(|c| c.to_uppercase().collect())
                    .unwrap_or_default();
                format!("{first}{} sends it to a person: {why}", chars.as_str())
            }
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
            "out_of_range" => "Unlike the training input",
            "uncertain_reading" => "Unsure reading of the page",
            "engine_error" => "Processing failed",
            "shadow_mode" => "Shadow mode (never delivered)",
            "draft_mode" => "Draft: not live yet",
            "paused" => "Automatic acceptance paused",
            "field_shadow" => "A field in shadow",
            "field_suggest" => "Suggested, not automatic",
            _ => "Other",
        }
    }
}

/// Words for an input outside the range: what was found, and what training saw. The same
/// words for every step that reads the input, since the range belongs to the input.
fn out_of_range(v: &RangeViolation) -> String {
    let subject = "this automation";
    let share = |p: f64| {
        if p < 0.01 {
            "almost none".to_owned()
        } else {
            format!("about {}", percent(p))
        }
    };
    let what = match v.check {
        RangeCheck::Length => format!(
            "The input is {} characters long; the longest text {subject} learned from had {}, and more than {} is out of range.",
            v.found, v.seen, v.limit
        ),
        RangeCheck::WordLength => format!(
            "The input has a word {} characters long; the longest word {subject} learned from had {}.",
            v.found, v.seen
        ),
        RangeCheck::UnknownWords => format!(
            "{} of the input's {} words never appeared in what {subject} learned from ({} of the words in new texts like them are new): it may be another language or another kind of text.",
            v.found,
            v.of,
            share(v.seen)
        ),
        RangeCheck::UnknownCharacters => format!(
            "{} of the input's {} characters never appeared in what {subject} learned from: it may be another alphabet or script.",
            v.found, v.of
        ),
        RangeCheck::Repetition => format!(
            "The input repeats itself: {} of its {} word pairs occur earlier in it ({} do in what {subject} learned from).",
            v.found,
            v.of,
            share(v.seen)
        ),
        RangeCheck::Binary => format!(
            "{} of the input's {} characters are control or unreadable characters: it looks like binary data, not text.",
            v.found, v.of
        ),
    };
    format!("{what} It goes to a person whatever its score.")
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

    #[test]
    fn out_of_range_reads_as_a_sentence_with_its_figures() {
        let r = Reason::OutOfRange(RangeViolation {
            check: RangeCheck::Length,
            found: 62_013,
            of: 0,
            limit: 280,
            seen: 140.0,
        });
        assert_eq!(r.code(), "out_of_range");
        assert_eq!(
            r.describe("the route"),
            "The input is 62013 characters long; the longest text this automation learned from had 140, and more than 280 is out of range. It goes to a person whatever its score."
        );
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"code":"out_of_range","check":"length","found":62013,"of":0,"limit":280,"seen":140.0}"#
        );
        assert_eq!(serde_json::from_str::<Reason>(&json).unwrap(), r);
    }
}
