//! A simple baseline to report beside the learned extractor, so a figure on a new kind of
//! document has something plain to stand against. It learns nothing but the training
//! labels' values and date order, and has no confidence (so it accepts nothing
//! automatically):
//! - a field whose kind has a built-in pattern (dates, amounts, durations, e-mail...)
//!   answers with the pattern's first match in the document, or every distinct match for
//!   a field with several values;
//! - a text field answers with the most frequent training value that is written in the
//!   document (a gazetteer: "New York" for a governing law, a shop seen before), or every
//!   training value written there for a field with several values.

use std::collections::HashMap;

use super::eval::{EvalOptions, ExtractEvalReport, Rule, score};
use super::normalise::{collapse_whitespace, infer_date_order};
use super::{ExtractedValue, FieldOutput, FieldSpec, LabelledDoc};
use crate::FieldKind;
use crate::evidence::ThresholdEvidence;
use crate::patterns::{self, PatternOptions};

/// Most training values a text field's gazetteer keeps, most frequent first: enough for
/// every recurring value, few enough that each document costs a bounded number of scans.
const GAZETTEER: usize = 200;

/// Run the baseline on `test` with what it learns from `train`, scored like the model.
pub fn baseline(
    fields: &[FieldSpec],
    train: &[LabelledDoc],
    test: &[LabelledDoc],
    opts: &EvalOptions,
) -> ExtractEvalReport {
    let learned: Vec<(PatternOptions, Vec<String>)> = fields
        .iter()
        .map(|spec| {
            let golds = train.iter().filter_map(|d| d.gold(&spec.name)).flatten();
            let order = infer_date_order(golds.clone().map(String::as_str));
            let mut counts: HashMap<String, usize> = HashMap::new();
            for g in golds {
                *counts.entry(collapse_whitespace(g)).or_default() += 1;
            }
            let mut values: Vec<(String, usize)> = counts.into_iter().collect();
            values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let values = values.into_iter().take(GAZETTEER).map(|v| v.0).collect();
            let opts = PatternOptions {
                default_region: None,
                date_order: order,
            };
            (opts, values)
        })
        .collect();
    let outputs: Vec<Vec<FieldOutput>> = test
        .iter()
        .map(|doc| {
            fields
                .iter()
                .zip(&learned)
                .map(|(spec, (popts, values))| answer(spec, &doc.text, popts, values))
                .collect()
        })
        .collect();
    let rules: Vec<Rule> = learned
        .iter()
        .map(|(popts, _)| Rule {
            evidence: ThresholdEvidence::Insufficient {
                held_out: 0,
                best_lower_bound: 0.0,
                needed_at_least: crate::evidence::min_answers_for(opts.target_precision),
            },
            order: popts.date_order,
        })
        .collect();
    let (per_field, all) = score(fields, test, &outputs, &rules, opts.target_precision);
    ExtractEvalReport {
        fields: per_field,
        micro_precision: all.precision(),
        micro_recall: all.recall(),
        micro_f1: all.f1(),
        coverage: all.coverage(),
        precision: all.accepted_precision(),
        ece: crate::metrics::ece(&all.answers, 15),
        target_precision: opts.target_precision,
        train_documents: train.len(),
        test_documents: test.len(),
        train_seconds: 0.0,
        documents_per_second: 0.0,
    }
}

fn answer(spec: &FieldSpec, text: &str, popts: &PatternOptions, values: &[String]) -> FieldOutput {
    let typed = !matches!(
        spec.kind,
        FieldKind::Text | FieldKind::MultilineText | FieldKind::Identifier
    );
    let mut found: Vec<ExtractedValue> = Vec::new();
    if typed {
        for m in patterns::find(spec.kind, text, popts) {
            if found.iter().any(|f| f.value == m.value) {
                continue;
            }
            found.push(ExtractedValue {
                value: m.value,
                raw: text[m.span.start..m.span.end].to_string(),
                span: m.span,
                confidence: 0.0,
                issue: None,
            });
            if !spec.multi {
                break;
            }
        }
    } else {
        for v in values {
            if let Some(at) = text.find(v.as_str()) {
                found.push(ExtractedValue {
                    value: v.clone(),
                    raw: v.clone(),
                    span: crate::Span::new(at, at + v.len()),
                    confidence: 0.0,
                    issue: None,
                });
                if !spec.multi {
                    break;
                }
            }
        }
    }
    FieldOutput {
        name: spec.name.clone(),
        values: found,
        confidence: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str, law: &str, date: &str) -> LabelledDoc {
        LabelledDoc {
            id: text.into(),
            text: text.into(),
            fields: [
                ("law".to_string(), vec![law.to_string()]),
                ("date".to_string(), vec![date.to_string()]),
            ]
            .into(),
        }
    }

    #[test]
    fn the_baseline_reads_patterns_and_known_values_and_accepts_nothing() {
        let fields = [
            FieldSpec::new("law", FieldKind::Text),
            FieldSpec::new("date", FieldKind::Date),
        ];
        let train = [
            doc("Dated 1/2/2020. Laws of Nevada.", "Nevada", "1/2/2020"),
            doc("Dated 12/28/2019. Laws of Nevada.", "Nevada", "12/28/2019"),
            doc("Dated 3/4/2021. Laws of Texas.", "Texas", "3/4/2021"),
        ];
        let test = [
            doc(
                "Made on May 5, 2022 under the laws of Texas.",
                "Texas",
                "5/5/2022",
            ),
            doc("Made 6/7/2022 under the laws of Ohio.", "Ohio", "6/7/2022"),
        ];
        let r = baseline(&fields, &train, &test, &EvalOptions::default());
        assert_eq!(r.fields["law"].correct, 1, "Ohio was never seen in training");
        assert_eq!(
            r.fields["date"].correct, 2,
            "month first, learned from the labels"
        );
        assert_eq!(r.coverage, 0.0);
        assert!(r.fields["law"].no_evidence.is_some());
    }
}
