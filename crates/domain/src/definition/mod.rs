//! An automation's definition: what comes in, what to extract, where to route, where to
//! deliver, and what "worth it" means. Written as TOML (or sent through the API as the
//! same TOML), validated here in one pass that reports every problem with its line and
//! column, so a builder fixes a file in one round.

mod email;
mod llm;
mod parse;
mod redact;
mod review;
mod rollout;
mod route_rules;
pub mod url_host;
mod walk;

use serde::{Deserialize, Serialize};

use crate::slug::Slug;
use tandem_engine::FieldKind;
/// How an input is read (text, category, number, boolean, e-mail domain).
pub use tandem_engine::classifier::FeatureKind as InputKind;
use tandem_engine::classifier::{FeatureKind, InputFeature};

pub use email::{EmailDef, EmailItems, MailboxDef};
pub use llm::LlmDef;
pub use redact::redact_secrets;
pub use review::{NotifyChannel, Priority, ReviewPolicy};
pub use rollout::{CardDef, FieldMode, GateDef, RolloutDef};
pub use walk::DefinitionError;

/// A validated automation definition. Paths (`route.examples`, `training.documents`) are
/// as written, relative to the definition file; the loader resolves them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutomationDef {
    pub name: String,
    pub slug: Slug,
    pub description: String,
    pub inputs: Vec<InputDef>,
    pub fields: Vec<FieldDef>,
    pub route: Option<RouteDef>,
    pub training: TrainingDef,
    pub destinations: Vec<Destination>,
    pub baseline: Baseline,
    /// The LLM server for fields with `extractor` or `shadow_extractor` = "llm".
    #[serde(default)]
    pub llm: Option<LlmDef>,
    /// Priority, SLA, escalation and notifications for this automation's exceptions.
    #[serde(default)]
    pub review: ReviewPolicy,
    /// How the automation is rolled out; `None` (no `[rollout]`) means it starts live.
    pub rollout: Option<RolloutDef>,
    /// The readiness gate's thresholds (`[gate]`, with defaults).
    pub gate: GateDef,
    /// The automation card's words (`[card]`).
    pub card: CardDef,
    /// What an e-mail message becomes (`[email]`).
    #[serde(default)]
    pub email: EmailDef,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputDef {
    pub name: String,
    /// How the router reads it when `route.features` names it (`text` by default).
    #[serde(default)]
    pub kind: FeatureKind,
    pub required: bool,
    /// Larger values are refused at intake with a 413.
    pub max_bytes: usize,
}

/// How a field's value is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtractorKind {
    /// A built-in pattern for the field's kind (email, phone, URL, money, date, number).
    Pattern,
    /// The value written after one of the field's `labels` (`Invoice no: 123`).
    Label,
    /// A model trained from the automation's labelled documents.
    Learned,
    /// A large language model behind an OpenAI-compatible API.
    Llm,
}

impl ExtractorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExtractorKind::Pattern => "pattern",
            ExtractorKind::Label => "label",
            ExtractorKind::Learned => "learned",
            ExtractorKind::Llm => "llm",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DateOrder {
    Dmy,
    Mdy,
    Ymd,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDef {
    pub name: String,
    pub kind: FieldKind,
    pub extractor: ExtractorKind,
    /// An extractor run beside the primary one: its answer is recorded and compared with
    /// the reviewers', never used.
    #[serde(default)]
    pub shadow_extractor: Option<ExtractorKind>,
    /// The input field the value is read from.
    pub source: String,
    pub required: bool,
    /// Below this calibrated confidence the item goes to the inbox.
    pub threshold: f64,
    /// Whether the field holds several values (the parties of a contract).
    pub multi: bool,
    /// For `extractor = "label"`: the labels the value follows.
    pub labels: Vec<String>,
    /// For phone numbers written without a country code (ISO 3166 code, e.g. "US").
    pub region: Option<String>,
    /// For numeric dates such as 03/04/2024.
    pub date_order: DateOrder,
    pub validate: Validation,
}

/// Rules a value must pass to be accepted automatically.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    /// A regular expression the whole value must match.
    pub pattern: Option<String>,
    /// Bounds for money and numbers.
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub one_of: Vec<String>,
    pub max_length: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteExample {
    pub text: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteDef {
    pub source: String,
    /// The routes to choose from. When empty, the labels of the examples.
    pub labels: Vec<String>,
    /// A JSONL or CSV file of `{"text", "label"}` examples, relative to the definition.
    pub examples: Option<String>,
    pub inline_examples: Vec<RouteExample>,
    /// Below this calibrated confidence the item goes to the inbox. Also the precision
    /// routes taken on their own must show on the router's held-out answers (95% lower
    /// bound), as for learned fields: where they cannot, nothing is routed on its own.
    pub threshold: f64,
    /// The label that marks out-of-scope examples in the training data, if any.
    pub oos_label: Option<String>,
    /// Other inputs the router reads beside `source` (a lead's country, company size,
    /// e-mail), each as its input's `kind` says.
    #[serde(default)]
    pub features: Vec<String>,
    /// `[[route.rules]]`, evaluated before the model in order; the first that applies
    /// decides, narrows or flags the route.
    #[serde(default)]
    pub rules: Vec<tandem_engine::pipeline::RouteRule>,
}

impl AutomationDef {
    /// Route rules that overlap another with a different outcome (the earlier one wins
    /// where both match), as `line N: ...` warnings for `tandem check`. Rules that can never
    /// apply are errors, refused by [`AutomationDef::parse`].
    pub fn rule_warnings(&self) -> Vec<String> {
        let Some(route) = &self.route else {
            return Vec::new();
        };
        tandem_engine::pipeline::check_route_rules(&route.rules)
            .into_iter()
            .filter(|p| !p.unreachable)
            .map(|p| format!("line {}: {}", p.line, p.message))
            .collect()
    }

    /// The structured inputs the router reads beside its source text.
    pub fn route_inputs(&self) -> Vec<InputFeature> {
        let Some(route) = &self.route else {
            return Vec::new();
        };
        route
            .features
            .iter()
            .filter_map(|name| {
                let input = self.inputs.iter().find(|i| &i.name == name)?;
                Some(InputFeature {
                    name: name.clone(),
                    kind: input.kind,
                })
            })
            .collect()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingDef {
    /// Labelled documents (JSONL) for learned extractors, relative to the definition.
    pub documents: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Destination {
    /// POST each accepted result as JSON.
    Webhook {
        url: String,
        /// When set, each request carries an HMAC-SHA256 signature of its body.
        secret: Option<String>,
    },
    /// Append each accepted result as one JSON line.
    Jsonl { path: String },
}

impl Destination {
    /// A short description for people; never shows a secret.
    pub fn describe(&self) -> String {
        match self {
            Destination::Webhook { url, .. } => format!("webhook {url}"),
            Destination::Jsonl { path } => format!("JSONL file {path}"),
        }
    }
}

/// What the work cost by hand, and what the automation should win back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub minutes_per_item: Option<f64>,
    pub weekly_volume: Option<u32>,
    pub target_hours_per_week: Option<f64>,
}

pub const DEFAULT_FIELD_THRESHOLD: f64 = 0.8;
pub const DEFAULT_ROUTE_THRESHOLD: f64 = 0.7;
pub const DEFAULT_MAX_INPUT_BYTES: usize = 1 << 20;

impl AutomationDef {
    /// Parse and validate a definition, collecting every error.
    pub fn parse(source: &str) -> Result<AutomationDef, Vec<DefinitionError>> {
        parse::parse(source)
    }

    /// The stage a newly created automation starts in: live when the definition has no
    /// `[rollout]` section (automations written before stages keep working as they did).
    pub fn start_stage(&self) -> crate::stage::Stage {
        self.rollout
            .as_ref()
            .map_or(crate::stage::Stage::Live, |r| r.start)
    }

    /// How far a field (or `route`) is trusted; automatic unless `[rollout.modes]` says.
    pub fn field_mode(&self, name: &str) -> FieldMode {
        self.rollout
            .as_ref()
            .and_then(|r| r.modes.get(name).copied())
            .unwrap_or(FieldMode::Automatic)
    }

    /// The reason codes for fields held back from automatic acceptance, once each.
    pub fn mode_reason_codes(&self) -> Vec<&'static str> {
        let mut codes: Vec<&'static str> = self
            .rollout
            .iter()
            .flat_map(|r| r.modes.values())
            .filter_map(|m| m.reason_code())
            .collect();
        codes.sort_unstable();
        codes.dedup();
        codes
    }

    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The routes an item can take: the declared labels, else the examples' labels.
    pub fn route_labels(&self) -> Vec<String> {
        let Some(route) = &self.route else {
            return Vec::new();
        };
        if !route.labels.is_empty() {
            return route.labels.clone();
        }
        let mut labels: Vec<String> = route.inline_examples.iter().map(|e| e.label.clone()).collect();
        labels.sort();
        labels.dedup();
        labels
    }
}

impl AutomationDef {
    /// The engine's view of this definition: what to extract and route, and how to gate.
    pub fn pipeline_spec(&self) -> tandem_engine::pipeline::Spec {
        use tandem_engine::pipeline::{FieldStep, RouteStep, Rules, Source, Spec};
        let fields = self
            .fields
            .iter()
            .map(|f| FieldStep {
                name: f.name.clone(),
                kind: f.kind,
                source: match f.extractor {
                    ExtractorKind::Pattern => Source::Pattern,
                    ExtractorKind::Label => Source::Label(f.labels.clone()),
                    ExtractorKind::Learned => Source::Model,
                    ExtractorKind::Llm => Source::Llm,
                },
                input: f.source.clone(),
                required: f.required,
                threshold: f.threshold,
                multi: f.multi,
                options: f.pattern_options(),
                rules: Rules {
                    pattern: f.validate.pattern.clone(),
                    min: f.validate.min,
                    max: f.validate.max,
                    one_of: f.validate.one_of.clone(),
                    max_length: f.validate.max_length,
                },
            })
            .collect();
        let route = self.route.as_ref().map(|r| RouteStep {
            input: r.source.clone(),
            threshold: r.threshold,
            oos_label: r.oos_label.clone(),
            // Filled in from the trained router's held-out answers when the version loads.
            evidence: None,
            rules: r.rules.clone(),
        });
        Spec { fields, route }
    }
}

impl AutomationDef {
    /// The fields that name a shadow extractor, each reading from it instead of its
    /// primary: running this spec gives the shadow answers. No route.
    pub fn shadow_spec(&self) -> tandem_engine::pipeline::Spec {
        use tandem_engine::pipeline::Source;
        let primary = self.pipeline_spec();
        let fields = primary
            .fields
            .into_iter()
            .zip(&self.fields)
            .filter_map(|(mut step, def)| {
                step.source = match def.shadow_extractor? {
                    ExtractorKind::Pattern => Source::Pattern,
                    ExtractorKind::Label => Source::Label(def.labels.clone()),
                    ExtractorKind::Learned => Source::Model,
                    ExtractorKind::Llm => Source::Llm,
                };
                Some(step)
            })
            .collect();
        tandem_engine::pipeline::Spec { fields, route: None }
    }

    /// `source` (a definition's TOML) with field `field` switched to `primary`, and
    /// `shadow` as its shadow extractor (none when `None`); the rest of the text is kept.
    pub fn set_extractors(
        source: &str,
        field: &str,
        primary: ExtractorKind,
        shadow: Option<ExtractorKind>,
    ) -> Result<String, String> {
        llm::set_extractors(source, field, primary, shadow)
    }
}

impl FieldDef {
    /// How ambiguous text is read for this field.
    pub fn pattern_options(&self) -> tandem_engine::patterns::PatternOptions {
        use tandem_engine::patterns::DateOrder as D;
        tandem_engine::patterns::PatternOptions {
            default_region: self.region.clone(),
            date_order: match self.date_order {
                DateOrder::Dmy => D::Dmy,
                DateOrder::Mdy => D::Mdy,
                DateOrder::Ymd => D::Ymd,
            },
        }
    }
}
