//! A field extractor that learns new fields from labelled documents, with a calibrated
//! confidence and evidence span for every value.
//!
//! How it works, for each declared field: propose candidate spans (lines, runs of lines,
//! spans inside a line with the punctuation around them split off, spans wrapped over a
//! line break, spans shaped like the field's kind; `candidates`), describe each with
//! hashed features of its words, its context and its position (`features`, and for prose
//! the words around it across lines and its sentence: `prose`), score
//! them with a linear model trained on which candidates match the gold value (`model`),
//! pick the best value or, for a multi-valued field, every value above a learned cut
//! (`decide`), and turn the score into a probability with calibrators fitted on held-out
//! documents inside training (`train`). The values are normalised by the field's kind
//! (`normalise`): dates to ISO 8601, money to a decimal string; a value that does not
//! normalise (an impossible date) keeps its raw text and says why.
//!
//! Training is deterministic for a seed, and a trained extractor is a versioned byte
//! artifact (`serial`) that reloads to identical output without retraining.

pub mod baseline;
mod calibrate;
mod candidates;
mod decide;
pub mod eval;
mod fasthash;
mod features;
mod io;
mod model;
mod normalise;
mod prose;
mod serial;
mod train;
mod verify;

#[cfg(test)]
mod prose_tests;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use io::{LabelledDoc, ParseError, parse_documents};
pub use normalise::{DateOrder, NormaliseError, collapse_whitespace, normalise, same_value};
pub use serial::LoadError;
pub use train::{TrainError, TrainOptions};

use crate::evidence::{ThresholdEvidence, threshold_with_evidence};
use crate::metrics::Scored;
use crate::{FieldKind, Span};
use candidates::{Layout, generate};
use features::{FeatureSet, describe, featurize};
use train::FieldModel;

/// A field an automation declares: its name in the output, its kind, and whether it holds
/// several values (the parties of a contract).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSpec {
    pub name: String,
    pub kind: FieldKind,
    pub multi: bool,
}

impl FieldSpec {
    pub fn new(name: impl Into<String>, kind: FieldKind) -> Self {
        Self {
            name: name.into(),
            kind,
            multi: false,
        }
    }

    pub fn multi(name: impl Into<String>, kind: FieldKind) -> Self {
        Self {
            name: name.into(),
            kind,
            multi: true,
        }
    }
}

/// One extracted value with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtractedValue {
    /// Normalised by the field's kind; the whitespace-collapsed raw text when it does not
    /// normalise (then `issue` says why).
    pub value: String,
    /// The text of `span`, verbatim (newlines included for multi-line evidence).
    pub raw: String,
    /// Where in the input the value was read.
    pub span: Span,
    /// Calibrated probability that this value is right.
    pub confidence: f64,
    /// Why the value could not be normalised, e.g. a date that is not in the calendar. Such
    /// a value is never silently corrected.
    pub issue: Option<String>,
}

/// What the extractor found for one field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldOutput {
    pub name: String,
    /// Empty when the model judges the field absent (or too unlikely to be found to answer).
    pub values: Vec<ExtractedValue>,
    /// Calibrated probability that the whole answer is right: the value, the set of values,
    /// or, when `values` is empty, that the field really is absent.
    pub confidence: f64,
}

/// A trained extractor for a list of fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Extractor {
    fields: Vec<FieldModel>,
}

impl Extractor {
    /// Learn every field in `fields` from `docs`. Documents that do not label a field are
    /// skipped for that field.
    pub fn train(
        docs: &[LabelledDoc],
        fields: &[FieldSpec],
        opts: &TrainOptions,
    ) -> Result<Self, TrainError> {
        train::validate(opts)?;
        if fields.is_empty() {
            return Err(TrainError::NoFields);
        }
        for (i, f) in fields.iter().enumerate() {
            if fields[..i].iter().any(|g| g.name == f.name) {
                return Err(TrainError::DuplicateField(f.name.clone()));
            }
        }
        let layouts: Vec<Layout> = docs.iter().map(|d| Layout::new(&d.text)).collect();
        let pairs: Vec<(&LabelledDoc, &Layout)> = docs.iter().zip(&layouts).collect();
        let fields = fields
            .iter()
            .map(|spec| train::train_field(spec, &pairs, opts))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { fields })
    }

    /// Extract every field from `text`, in the order the fields were declared.
    pub fn extract(&self, text: &str) -> Vec<FieldOutput> {
        let layout = Layout::new(text);
        self.fields
            .iter()
            .map(|f| extract_field(f, text, &layout))
            .collect()
    }

    /// The fields this extractor was trained for.
    pub fn fields(&self) -> impl Iterator<Item = &FieldSpec> {
        self.fields.iter().map(|f| &f.spec)
    }

    /// The held-out `(confidence, right)` of each training document's answer for `field`,
    /// from cross-fitting: what a confidence threshold should be chosen on.
    pub fn held_out(&self, field: &str) -> Option<&[Scored]> {
        self.fields
            .iter()
            .find(|f| f.spec.name == field)
            .map(|f| f.held_out.as_slice())
    }

    /// What `field`'s held-out answers back at the target precision `target`: the lowest
    /// threshold whose 95% lower bound on precision reaches it, or why there is none.
    /// `None` for a field this extractor does not know.
    pub fn evidence(&self, field: &str, target: f64) -> Option<ThresholdEvidence> {
        self.held_out(field)
            .map(|held| threshold_with_evidence(held, target))
    }

    /// The date order learned for `field` (meaningful for date fields).
    pub fn date_order(&self, field: &str) -> Option<DateOrder> {
        self.fields.iter().find(|f| f.spec.name == field).map(|f| f.order)
    }

    /// A versioned, compact binary form; see [`Extractor::from_bytes`].
    pub fn to_bytes(&self) -> Vec<u8> {
        serial::to_bytes(&self.fields)
    }

    /// Load an extractor saved by [`Extractor::to_bytes`]. No retraining: the output is
    /// identical to the saved extractor's.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LoadError> {
        serial::from_bytes(bytes).map(|fields| Self { fields })
    }
}

fn extract_field(f: &FieldModel, text: &str, layout: &Layout) -> FieldOutput {
    let kind = f.spec.kind;
    let cands = generate(text, layout, kind, f.cfg, f.order);
    let values: Vec<_> = cands.iter().map(|c| describe(text, c, kind, f.order)).collect();
    let set = FeatureSet {
        prose: f.prose,
        narrow: f.narrow,
    };
    let feats = featurize(text, layout, &cands, &values, kind, f.linear.bits, set);
    let scores = f.linear.scores(&feats);
    let make = |i: usize, confidence: f64| {
        let v = &values[i];
        let span = cands[i].span;
        let (value, issue) = match &v.normalised {
            Ok(n) => (n.clone(), None),
            Err(e) => (v.collapsed.clone(), Some(e.to_string())),
        };
        ExtractedValue {
            value,
            raw: text[span.start..span.end].to_string(),
            span,
            confidence,
            issue,
        }
    };
    let name = f.spec.name.clone();
    if f.spec.multi {
        let ranked = decide::ranked(&cands, &values, &scores, train::MAX_VALUES);
        let out: Vec<ExtractedValue> = ranked
            .iter()
            .filter(|r| r.1 >= f.cut)
            .map(|&(i, p)| make(i, f.value_calib.apply(decide::logit(p))))
            .collect();
        let confidence = f.calib.apply(decide::logit(decide::set_score(&ranked, f.cut)));
        return FieldOutput {
            name,
            values: out,
            confidence,
        };
    }
    let answer = decide::single(&values, &scores);
    // The probability the cut and calibrators read: the verifier's, when the field has one.
    let p = answer.map_or(0.0, |a| match &f.verifier {
        Some(v) => verify::probability(
            v,
            a.share,
            &verify::features(feats.row(a.cand), &values[a.cand].collapsed, &a),
        ),
        None => a.share,
    });
    match answer {
        Some(a) if p >= f.cut => {
            let confidence = f.calib.apply(decide::logit(p));
            FieldOutput {
                name,
                values: vec![make(a.cand, confidence)],
                confidence,
            }
        }
        _ => FieldOutput {
            name,
            values: Vec::new(),
            confidence: f.absent_calib.apply(-decide::logit(p)),
        },
    }
}
