//! One item through an automation: every declared field extracted (by pattern, label or
//! learned model), the route chosen, and each result gated against the automation's
//! reliable range. The outcome says, per field and for the route, the value, its
//! confidence, the evidence, and the reasons (as data) when a person must look.
//!
//! Models enter through two small traits, [`Router`] and [`FieldModel`], so the gating
//! rules are tested here without training anything, and a new kind of model (an LLM step
//! run by the service) plugs in without touching them.

mod accept;
mod llm;
mod normalize;
mod reason;
mod route_rules;
mod rules;
mod steps;

use rules::check_rules;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::classifier::Contribution;
use crate::evidence::ThresholdEvidence;
use crate::patterns::{self, PatternOptions};
use crate::range::{InputRange, RangeViolation};
use crate::{FieldKind, Span};

pub use accept::{Acceptance, NoEvidence, acceptance, route_acceptance};
pub use llm::{LlmAnswer, LlmAnswers};
pub use normalize::normalize;
pub use reason::Reason;
pub use route_rules::{
    Condition, RouteRule, RuleAction, RuleProblem, check as check_route_rules, first_applying,
};

/// How a field's value is found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Source {
    Pattern,
    /// The value after one of these labels.
    Label(Vec<String>),
    /// A trained model (the automation's learned extractor, or an external step whose
    /// output the caller supplies).
    Model,
    /// The LLM step, whose answers the caller supplies (see [`run_with`]).
    Llm,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldStep {
    pub name: String,
    pub kind: FieldKind,
    pub source: Source,
    /// The input field to read.
    pub input: String,
    pub required: bool,
    pub threshold: f64,
    pub multi: bool,
    pub options: PatternOptions,
    pub rules: Rules,
}

/// Validation rules a value must pass to be accepted automatically.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rules {
    pub pattern: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub one_of: Vec<String>,
    pub max_length: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteStep {
    pub input: String,
    pub threshold: f64,
    /// The label that marks out-of-scope items, if the training data had one.
    pub oos_label: Option<String>,
    /// What the router's held-out answers say about `threshold` taken as a target
    /// precision, as for a learned field (see [`route_acceptance`]); `None` when the
    /// router kept none (a version trained before they were kept).
    #[serde(default)]
    pub evidence: Option<ThresholdEvidence>,
    /// Rules evaluated before the model, first match wins (see `route_rules`).
    #[serde(default)]
    pub rules: Vec<RouteRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    pub fields: Vec<FieldStep>,
    pub route: Option<RouteStep>,
}

/// What a router says about one text.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutePrediction {
    /// Routes with calibrated confidences, best first.
    pub ranked: Vec<(String, f64)>,
    /// Calibrated probability that the best route is right (and the item in scope).
    pub confidence: f64,
    pub out_of_scope: bool,
    /// The inputs that weighed most towards the best route, in words.
    pub contributions: Vec<Contribution>,
}

pub trait Router: Send + Sync {
    fn predict(&self, text: &str) -> RoutePrediction;

    /// Route from the text (the input named `text_name`) and every input of the item; a
    /// router that reads only text ignores the rest.
    fn predict_inputs(
        &self,
        _text_name: &str,
        text: &str,
        _inputs: &BTreeMap<String, String>,
    ) -> RoutePrediction {
        self.predict(text)
    }
}

/// One value a model found for a field.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelValue {
    pub value: String,
    pub span: Option<Span>,
    pub confidence: f64,
}

/// What a model found for one field: its values (none when it thinks the field absent)
/// and its calibrated confidence in the field as a whole.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelField {
    pub name: String,
    pub values: Vec<ModelValue>,
    pub confidence: f64,
}

pub trait FieldModel: Send + Sync {
    fn extract(&self, text: &str) -> Vec<ModelField>;

    /// What the model's held-out answers say about accepting `field` automatically at
    /// the target precision `target` (see [`acceptance`]). `None` when the model keeps no
    /// held-out answers: its confidence is then taken at its word.
    fn evidence(&self, _field: &str, _target: f64) -> Option<ThresholdEvidence> {
        None
    }
}

/// The trained parts of an automation version.
#[derive(Default)]
pub struct Models {
    pub router: Option<Box<dyn Router>>,
    pub fields: Option<Box<dyn FieldModel>>,
    /// What each input's training texts looked like, by input name: a text far outside
    /// it sends every step that reads it to review (see [`crate::range`]).
    pub ranges: BTreeMap<String, InputRange>,
}

impl std::fmt::Debug for Models {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Models")
            .field("router", &self.router.is_some())
            .field("fields", &self.fields.is_some())
            .field("ranges", &self.ranges.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Where a value came from: a span of one input field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub input: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldOutcome {
    pub name: String,
    /// A string, or a list of strings for a multi-valued field; `None` when not found.
    pub value: Option<serde_json::Value>,
    pub confidence: f64,
    pub evidence: Vec<Evidence>,
    pub reasons: Vec<Reason>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteChoice {
    pub label: String,
    pub confidence: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteOutcome {
    /// The chosen route; `None` when the item is out of scope.
    pub label: Option<String>,
    pub confidence: f64,
    /// The three best routes.
    pub top: Vec<RouteChoice>,
    pub out_of_scope: bool,
    pub reasons: Vec<Reason>,
    /// Which inputs weighed most in the model's choice, in words ("country = de").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contributions: Vec<Contribution>,
    /// The definition's rule that decided, narrowed or flagged the route, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// True when that rule decided the route itself (the model was not asked).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_rule: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub fields: Vec<FieldOutcome>,
    pub route: Option<RouteOutcome>,
}

impl Outcome {
    /// Outside the reliable range: some field or the route has a reason.
    pub fn needs_review(&self) -> bool {
        self.fields.iter().any(|f| !f.reasons.is_empty())
            || self.route.as_ref().is_some_and(|r| !r.reasons.is_empty())
    }

    /// Every reason code, once each, for filtering the inbox.
    pub fn reason_codes(&self) -> Vec<String> {
        let mut codes: Vec<String> = self
            .fields
            .iter()
            .flat_map(|f| &f.reasons)
            .chain(self.route.iter().flat_map(|r| &r.reasons))
            .map(|r| r.code().to_owned())
            .collect();
        codes.sort();
        codes.dedup();
        codes
    }

    /// The lowest confidence of any field or the route: what the item is as sure as.
    pub fn min_confidence(&self) -> Option<f64> {
        self.fields
            .iter()
            .filter(|f| f.value.is_some())
            .map(|f| f.confidence)
            .chain(self.route.iter().map(|r| r.confidence))
            .reduce(f64::min)
    }

    /// The result to deliver: field values by name and the route.
    pub fn result(&self) -> serde_json::Value {
        let fields: serde_json::Map<String, serde_json::Value> = self
            .fields
            .iter()
            .map(|f| (f.name.clone(), f.value.clone().unwrap_or(serde_json::Value::Null)))
            .collect();
        let mut out = serde_json::json!({ "fields": fields });
        if let Some(r) = &self.route {
            out["route"] = r
                .label
                .clone()
                .map_or(serde_json::Value::Null, serde_json::Value::String);
        }
        out
    }
}

/// Add an [`Reason::UncertainReading`] to each found field whose evidence in `input` lies
/// on words the OCR engine read with a certainty under `threshold` (0 to 1). The lowest
/// certainty of the words under the evidence is what the reason reports: one misread digit
/// is enough to make a total wrong.
pub fn flag_uncertain_readings(
    outcome: &mut Outcome,
    input: &str,
    layout: &crate::layout::Layout,
    threshold: f64,
) {
    for field in &mut outcome.fields {
        if field.value.is_none() {
            continue;
        }
        let lowest = field
            .evidence
            .iter()
            .filter(|e| e.input == input)
            .filter_map(|e| layout.min_confidence(e.span))
            .reduce(f32::min);
        if let Some(c) = lowest
            && f64::from(c) < threshold
        {
            field.reasons.push(Reason::UncertainReading {
                confidence: f64::from(c),
                threshold,
            });
        }
    }
}

/// Run one item through the pipeline. `inputs` are the item's input fields by name.
pub fn run(spec: &Spec, models: &Models, inputs: &BTreeMap<String, String>) -> Outcome {
    run_with(spec, models, inputs, None)
}

/// [`run`], with the LLM step's answers for fields whose source is [`Source::Llm`]
/// (`None` when the step did not run; those fields then go to review, saying so).
pub fn run_with(
    spec: &Spec,
    models: &Models,
    inputs: &BTreeMap<String, String>,
    llm: Option<&LlmAnswers>,
) -> Outcome {
    // Each input with a learned range is checked once; a step reading an input far outside
    // it goes to review whatever its score.
    let outside: BTreeMap<&str, Vec<RangeViolation>> = models
        .ranges
        .iter()
        .filter_map(|(input, range)| {
            let text = inputs.get(input).map_or("", String::as_str);
            let found = if text.trim().is_empty() {
                Vec::new()
            } else {
                range.check(text)
            };
            (!found.is_empty()).then_some((input.as_str(), found))
        })
        .collect();
    let out_of_range = |input: &str| {
        outside
            .get(input)
            .into_iter()
            .flatten()
            .map(|v| Reason::OutOfRange(v.clone()))
    };
    // A learned extractor reads each input once for all its fields.
    let mut learned: BTreeMap<&str, Vec<ModelField>> = BTreeMap::new();
    if let Some(model) = &models.fields {
        for step in spec.fields.iter().filter(|f| f.source == Source::Model) {
            if !learned.contains_key(step.input.as_str()) {
                let text = inputs.get(&step.input).map_or("", String::as_str);
                learned.insert(step.input.as_str(), model.extract(text));
            }
        }
    }
    let fields = spec
        .fields
        .iter()
        .map(|step| {
            let text = inputs.get(&step.input).map_or("", String::as_str);
            let found = if text.trim().is_empty() {
                Found::NoSource
            } else {
                match &step.source {
                    Source::Pattern => Found::Values(patterns::find(step.kind, text, &step.options)),
                    Source::Label(aliases) => {
                        let aliases: Vec<&str> = aliases.iter().map(String::as_str).collect();
                        label_value(step, text, &aliases)
                    }
                    Source::Model => match learned.get(step.input.as_str()) {
                        None => Found::Unavailable("no trained extractor for this version".into()),
                        Some(all) => from_model(all, &step.name),
                    },
                    Source::Llm => llm::from_llm(step, text, llm),
                }
            };
            let mut outcome = gate_field(step, found, &acceptance(step, models));
            outcome.reasons.extend(out_of_range(&step.input));
            outcome
        })
        .collect();
    let route = spec
        .route
        .as_ref()
        .map(|step| route_step(step, models, inputs, out_of_range(&step.input).collect()));
    Outcome { fields, route }
}

/// The route: the first rule that applies, then (unless the rule decided) the model.
fn route_step(
    step: &RouteStep,
    models: &Models,
    inputs: &BTreeMap<String, String>,
    out_of_range: Vec<Reason>,
) -> RouteOutcome {
    let rule = first_applying(&step.rules, inputs);
    if let Some(r) = rule
        && let RuleAction::Route { label } = &r.action
    {
        // The team's own rule: certain by definition, and the reason in words.
        return RouteOutcome {
            label: Some(label.clone()),
            confidence: 1.0,
            top: vec![RouteChoice {
                label: label.clone(),
                confidence: 1.0,
            }],
            out_of_scope: false,
            reasons: Vec::new(),
            contributions: Vec::new(),
            rule: Some(format!("{} routes it to {label}", r.describe())),
            by_rule: true,
        };
    }
    let text = inputs.get(&step.input).map_or("", String::as_str);
    let mut outcome = match &models.router {
        None => RouteOutcome {
            label: None,
            confidence: 0.0,
            top: Vec::new(),
            out_of_scope: false,
            reasons: vec![Reason::StepUnavailable {
                message: "there is no trained router for this version".into(),
            }],
            contributions: Vec::new(),
            rule: None,
            by_rule: false,
        },
        Some(router) => {
            let mut p = router.predict_inputs(&step.input, text, inputs);
            if let Some(RouteRule {
                action: RuleAction::Only { labels },
                ..
            }) = rule
            {
                restrict(&mut p, labels);
            }
            let mut outcome = gate_route(step, p);
            outcome.reasons.extend(out_of_range);
            outcome
        }
    };
    if let Some(r) = rule {
        match &r.action {
            RuleAction::Only { labels } => {
                outcome.rule = Some(format!(
                    "{} limits the choice to {}",
                    r.describe(),
                    labels.join(", ")
                ));
            }
            RuleAction::Review { why } => {
                outcome.reasons.push(Reason::RuleReview {
                    rule: r.describe(),
                    why: why.clone(),
                });
                outcome.rule = Some(format!("{} sends it to a person", r.describe()));
            }
            RuleAction::Route { .. } => {}
        }
    }
    outcome
}

/// Keep only the routes a rule allows; the best of them, with the probability the model
/// gave it, becomes the answer. The explanation was for the model's own top route, so it
/// goes when that route is not allowed.
fn restrict(p: &mut RoutePrediction, allowed: &[String]) {
    let top_before = p.ranked.first().map(|r| r.0.clone());
    p.ranked.retain(|(l, _)| allowed.contains(l));
    p.confidence = p.ranked.first().map_or(0.0, |r| r.1);
    if p.ranked.first().map(|r| &r.0) != top_before.as_ref() {
        p.contributions.clear();
    }
}

enum Found {
    /// Candidates in text order, values normalised.
    Values(Vec<patterns::Match>),
    /// From a model: values with the model's own field confidence.
    Model {
        values: Vec<patterns::Match>,
        confidence: f64,
    },
    /// A value was there but could not be read as its type.
    Invalid {
        span: Span,
        message: String,
    },
    NoSource,
    Unavailable(String),
}

fn label_value(step: &FieldStep, text: &str, aliases: &[&str]) -> Found {
    let Some(m) = patterns::label_value(text, aliases) else {
        return Found::Values(Vec::new());
    };
    match normalize(step.kind, &m.value, &step.options) {
        Ok(value) => Found::Values(vec![patterns::Match { value, ..m }]),
        Err(e) => Found::Invalid {
            span: m.span,
            message: e.to_string(),
        },
    }
}

fn from_model(all: &[ModelField], name: &str) -> Found {
    let Some(field) = all.iter().find(|f| f.name == name) else {
        return Found::Values(Vec::new());
    };
    let values = field
        .values
        .iter()
        .map(|v| patterns::Match {
            value: v.value.clone(),
            span: v.span.unwrap_or(Span::new(0, 0)),
            confidence: v.confidence,
            note: None,
        })
        .collect();
    Found::Model {
        values,
        confidence: field.confidence,
    }
}

fn gate_field(step: &FieldStep, found: Found, accept: &Acceptance) -> FieldOutcome {
    let mut out = FieldOutcome {
        name: step.name.clone(),
        value: None,
        confidence: 0.0,
        evidence: Vec::new(),
        reasons: Vec::new(),
    };
    let evidence = |span: Span| Evidence {
        input: step.input.clone(),
        span,
    };
    let (values, confidence) = match found {
        Found::NoSource => {
            if step.required {
                out.reasons.push(Reason::SourceMissing {
                    input: step.input.clone(),
                });
            }
            return out;
        }
        Found::Unavailable(message) => {
            out.reasons.push(Reason::StepUnavailable { message });
            return out;
        }
        Found::Invalid { span, message } => {
            out.evidence.push(evidence(span));
            out.reasons.push(Reason::InvalidValue { message });
            return out;
        }
        Found::Values(ms) => {
            let conf = pattern_confidence(step, &ms);
            (ms, conf)
        }
        Found::Model { values, confidence } => (values, confidence),
    };
    // Distinct values, first occurrence kept: the same total printed twice is one value.
    let mut distinct: Vec<patterns::Match> = Vec::new();
    for m in values {
        if !distinct.iter().any(|d| d.value == m.value) {
            distinct.push(m);
        }
    }
    if distinct.is_empty() {
        if step.required {
            out.reasons.push(Reason::MissingRequired);
        } else if step.source == Source::Model {
            // "Absent" is the model's answer, with its own confidence: gated the same way.
            out.confidence = confidence;
            match accept {
                Acceptance::Nothing(why) => out.reasons.push(not_enough(why)),
                Acceptance::From(t) if confidence < *t => out.reasons.push(Reason::AbsentUnsure {
                    confidence,
                    threshold: *t,
                }),
                Acceptance::From(_) => {}
            }
        }
        return out;
    }
    if step.multi {
        out.value = Some(serde_json::Value::Array(
            distinct
                .iter()
                .map(|m| serde_json::Value::String(m.value.clone()))
                .collect(),
        ));
        out.evidence = distinct
            .iter()
            .filter(|m| !m.span.is_empty())
            .map(|m| evidence(m.span))
            .collect();
    } else {
        let chosen = &distinct[0];
        out.value = Some(serde_json::Value::String(chosen.value.clone()));
        if !chosen.span.is_empty() {
            out.evidence.push(evidence(chosen.span));
        }
        if distinct.len() > 1 && step.source != Source::Model {
            out.reasons.push(Reason::Ambiguous {
                candidates: distinct.len(),
            });
        }
    }
    out.confidence = confidence;
    match accept {
        Acceptance::Nothing(why) => out.reasons.push(not_enough(why)),
        Acceptance::From(t) if confidence < *t => out.reasons.push(Reason::LowConfidence {
            confidence,
            threshold: *t,
        }),
        Acceptance::From(_) => {}
    }
    for m in &distinct {
        if let Some(r) = check_rules(step, &m.value) {
            out.reasons.push(r);
            break;
        }
    }
    out
}

fn not_enough(why: &NoEvidence) -> Reason {
    Reason::NotEnoughEvidence {
        target: why.target,
        held_out: why.held_out,
        best_lower_bound: why.best_lower_bound,
        needed_at_least: why.needed_at_least,
    }
}

/// A pattern field's confidence: the chosen match's own confidence, shared out when
/// several different values compete for a single-valued field (with no way to tell them
/// apart, the first is right about as often as one in `n`). Multi-valued fields are as
/// sure as their least sure value.
fn pattern_confidence(step: &FieldStep, ms: &[patterns::Match]) -> f64 {
    if ms.is_empty() {
        return 0.0;
    }
    if step.multi {
        return ms.iter().map(|m| m.confidence).fold(1.0, f64::min);
    }
    let mut values: Vec<&str> = ms.iter().map(|m| m.value.as_str()).collect();
    values.sort_unstable();
    values.dedup();
    ms[0].confidence / values.len() as f64
}

fn gate_route(step: &RouteStep, p: RoutePrediction) -> RouteOutcome {
    let top: Vec<RouteChoice> = p
        .ranked
        .iter()
        .take(3)
        .map(|(label, confidence)| RouteChoice {
            label: label.clone(),
            confidence: *confidence,
        })
        .collect();
    let best = p.ranked.first().map(|(l, _)| l.clone());
    let oos = p.out_of_scope || (best.is_some() && best == step.oos_label);
    let mut reasons = Vec::new();
    let threshold = match route_acceptance(step) {
        Acceptance::From(t) => Some(t),
        Acceptance::Nothing(why) => {
            reasons.push(not_enough(&why));
            None
        }
    };
    if oos {
        reasons.push(Reason::OutOfScope);
    } else if let Some(threshold) = threshold
        && (p.confidence < threshold || best.is_none())
    {
        reasons.push(Reason::RouteUnsure {
            confidence: p.confidence,
            threshold,
        });
    }
    RouteOutcome {
        label: if oos { None } else { best },
        confidence: p.confidence,
        top,
        out_of_scope: oos,
        reasons,
        contributions: p.contributions,
        rule: None,
        by_rule: false,
    }
}

#[cfg(test)]
mod tests;
