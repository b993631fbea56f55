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
        let span = locate(text, raw).unwrap_or(Span::new(0, 0));
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
fn locate(text: &str, value: &str) -> Option<Span> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if let Some(i) = text.find(value) {
        return Some(Span::new(i, i + value.len()));
    }
    // ASCII lowering keeps byte offsets, so a position in the lowered text is one in the
    // original.
    let i = text.to_ascii_lowercase().find(&value.to_ascii_lowercase())?;
    Some(Span::new(i, i + value.len()))
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
}
