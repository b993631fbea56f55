//! Fields answered by the LLM step. The step itself is network I/O and runs in the
//! service before the pipeline; here its answers (already calibrated) are read like any
//! model's: normalised to the field's kind, located in the input for evidence, and gated
//! by the same rules.

use super::{FieldStep, Found, normalize};
use crate::Span;
use crate::patterns;

/// The LLM step's answer for one field.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmAnswer {
    pub name: String,
    /// Values as the model wrote them; empty when it found the field absent.
    pub values: Vec<String>,
    /// Calibrated confidence in the field's answer as a whole.
    pub confidence: f64,
}

/// What the LLM step gave for an item: its answers, or why there are none (the server
/// was unreachable, the answer was not JSON...), in words for the reviewer.
pub type LlmAnswers = Result<Vec<LlmAnswer>, String>;

pub(super) fn from_llm(step: &FieldStep, text: &str, answers: Option<&LlmAnswers>) -> Found {
    let all = match answers {
        None => return Found::Unavailable("the LLM step did not run for this item".into()),
        Some(Err(message)) => return Found::Unavailable(message.clone()),
        Some(Ok(all)) => all,
    };
    let Some(answer) = all.iter().find(|a| a.name == step.name) else {
        return Found::Values(Vec::new());
    };
    let mut values = Vec::with_capacity(answer.values.len());
    for raw in &answer.values {
        let span = locate(text, raw, &step.name).unwrap_or(Span::new(0, 0));
        match normalize(step.kind, raw, &step.options) {
            Ok(value) => values.push(patterns::Match {
                value,
                span,
                confidence: answer.confidence,
                note: None,
            }),
            Err(e) => {
                return Found::Invalid {
                    span,
                    message: format!("the LLM answered \"{raw}\", which is not a {}: {e}", step.kind),
                };
            }
        }
    }
    Found::Model {
        values,
        confidence: answer.confidence,
    }
}

/// Where the model's value is written in the input: exactly, else ignoring ASCII case.
/// A value the model rephrased has no evidence, and the reviewer sees that.
///
/// A short value is often written more than once ("1" is in a phone number, a postcode
/// and the house number), so every occurrence is weighed by its context, not the first
/// taken (issue 20): one that stands as a whole word beats one inside a longer token,
/// and one after the field's name ("Address: 1 High Street") beats one that is not.
/// Ties go to the first.
fn locate(text: &str, value: &str, field: &str) -> Option<Span> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let mut found: Vec<usize> = text.match_indices(value).map(|(i, _)| i).collect();
    if found.is_empty() {
        // ASCII lowering keeps byte offsets, so a position in the lowered text is one in
        // the original.
        let lowered = text.to_ascii_lowercase();
        found = lowered
            .match_indices(&value.to_ascii_lowercase())
            .map(|(i, _)| i)
            .collect();
    }
    let labels: Vec<String> = field
        .split(['_', '-', ' '])
        .filter(|w| w.len() >= 3)
        .map(str::to_ascii_lowercase)
        .collect();
    let weigh = |at: usize| {
        let end = at + value.len();
        let whole = stands_alone(text[..at].chars().next_back(), true, None)
            && stands_alone(text[end..].chars().next(), false, text[end..].chars().nth(1));
        // The line the value is on, up to it, and the line before.
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let prev_start = text[..line_start.saturating_sub(1)]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let before = text[prev_start..at].to_ascii_lowercase();
        let labelled = labels.iter().any(|l| before.contains(l.as_str()));
        2 * u8::from(whole) + u8::from(labelled)
    };
    let mut best: Option<(u8, usize)> = None;
    for at in found {
        let w = weigh(at);
        if best.is_none_or(|(bw, _)| w > bw) {
            best = Some((w, at));
        }
    }
    best.map(|(_, at)| Span::new(at, at + value.len()))
}

/// Whether `neighbour` (the character just before the value, or just after it) ends a
/// token: none, whitespace or punctuation that separates; a full stop, comma or the like
/// after the value counts when a space or the end follows it ("total 9.00." but not
/// "1.5"). `next` is the character after `neighbour` on the after side.
fn stands_alone(neighbour: Option<char>, before: bool, next: Option<char>) -> bool {
    match neighbour {
        None => true,
        Some(c) if c.is_whitespace() => true,
        Some(c) if "()[]{}<>\"'|;".contains(c) => true,
        Some(':') => true,
        Some('.' | ',' | '!' | '?') if !before => next.is_none_or(char::is_whitespace),
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FieldKind;
    use crate::pipeline::{Models, Reason, Rules, Source, Spec, run_with};
    use std::collections::BTreeMap;

    fn step(name: &str, kind: FieldKind) -> FieldStep {
        FieldStep {
            name: name.into(),
            kind,
            source: Source::Llm,
            input: "text".into(),
            required: true,
            threshold: 0.8,
            multi: false,
            options: Default::default(),
            rules: Rules::default(),
        }
    }

    fn run(
        steps: Vec<FieldStep>,
        text: &str,
        answers: Option<&LlmAnswers>,
    ) -> Vec<super::super::FieldOutcome> {
        let spec = Spec {
            fields: steps,
            route: None,
        };
        let inputs = BTreeMap::from([("text".to_owned(), text.to_owned())]);
        run_with(&spec, &Models::default(), &inputs, answers).fields
    }

    fn answer(name: &str, values: &[&str], confidence: f64) -> LlmAnswer {
        LlmAnswer {
            name: name.into(),
            values: values.iter().map(|s| (*s).to_owned()).collect(),
            confidence,
        }
    }

    #[test]
    fn answers_are_normalised_located_and_gated() {
        let text = "ACME Trading\nDate: 05/03/2024\nTotal: 9.00";
        let answers = Ok(vec![
            answer("company", &["acme trading"], 0.95),
            answer("date", &["05/03/2024"], 0.6),
        ]);
        let out = run(
            vec![step("company", FieldKind::Text), step("date", FieldKind::Date)],
            text,
            Some(&answers),
        );
        assert_eq!(out[0].value, Some(serde_json::json!("acme trading")));
        assert_eq!(out[0].evidence[0].span, Span::new(0, 12), "found ignoring case");
        assert!(out[0].reasons.is_empty(), "{:?}", out[0].reasons);
        assert_eq!(
            out[1].value,
            Some(serde_json::json!("2024-03-05")),
            "day first by default"
        );
        assert!(matches!(out[1].reasons[0], Reason::LowConfidence { .. }));
    }

    #[test]
    fn an_impossible_value_or_a_failed_step_sends_the_field_to_review() {
        let answers = Ok(vec![answer("date", &["31/02/2024"], 0.99)]);
        let out = run(
            vec![step("date", FieldKind::Date)],
            "Date: 31/02/2024",
            Some(&answers),
        );
        assert_eq!(out[0].value, None);
        assert!(
            matches!(&out[0].reasons[0], Reason::InvalidValue { message } if message.contains("31/02/2024"))
        );

        let failed: LlmAnswers = Err("the LLM server at http://x/v1/chat/completions is unreachable".into());
        let out = run(
            vec![step("date", FieldKind::Date)],
            "Date: 1/2/2024",
            Some(&failed),
        );
        assert!(
            matches!(&out[0].reasons[0], Reason::StepUnavailable { message } if message.contains("unreachable"))
        );

        let none = Ok(vec![answer("date", &[], 0.9)]);
        let out = run(vec![step("date", FieldKind::Date)], "Date: 1/2/2024", Some(&none));
        assert!(matches!(out[0].reasons[0], Reason::MissingRequired));
    }

    #[test]
    fn evidence_is_the_occurrence_in_context_not_the_first() {
        // Issue 20: an address answered "1" was highlighted inside the phone number.
        let text = "Phone: +1 555 0100\nAddress: 1 High Street\nRef 1";
        let at = text.find("Address: 1").unwrap() + "Address: ".len();
        assert_eq!(locate(text, "1", "address"), Some(Span::new(at, at + 1)));
        // A whole word beats a piece of one, even without a label.
        let text = "Order 2024-1187, total 1187.";
        let at = text.rfind("1187").unwrap();
        assert_eq!(locate(text, "1187", "reference"), Some(Span::new(at, at + 4)));
        // The label may be on the line before; ties go to the first.
        let text = "ACME\nTotal due\n9.00\nPaid 9.00";
        let at = text.find("9.00").unwrap();
        assert_eq!(locate(text, "9.00", "total"), Some(Span::new(at, at + 4)));
        assert_eq!(locate("x 9.00 y 9.00", "9.00", "n"), Some(Span::new(2, 6)));
        assert_eq!(locate("nothing here", "9.00", "total"), None);
    }
}
