//! From TOML text to a validated [`AutomationDef`], every error reported at once.

use toml::de::DeTable;

use super::walk::{DefinitionError, Table, Walker, join};
use super::*;
use tandem_engine::pipeline::RouteRule;

const TOP_KEYS: &[&str] = &[
    "name",
    "slug",
    "description",
    "inputs",
    "fields",
    "route",
    "training",
    "destinations",
    "baseline",
    "llm",
    "review",
    "rollout",
    "gate",
    "card",
    "email",
];
const INPUT_KEYS: &[&str] = &["name", "kind", "required", "max_bytes"];
const FIELD_KEYS: &[&str] = &[
    "name",
    "type",
    "extractor",
    "shadow_extractor",
    "source",
    "required",
    "threshold",
    "multi",
    "labels",
    "region",
    "date_order",
    "validate",
];
const VALIDATE_KEYS: &[&str] = &["pattern", "min", "max", "one_of", "max_length"];
const ROUTE_KEYS: &[&str] = &[
    "source",
    "labels",
    "examples",
    "threshold",
    "oos_label",
    "features",
    "rules",
];
const DESTINATION_KEYS: &[&str] = &["type", "url", "secret", "path"];
const BASELINE_KEYS: &[&str] = &["minutes_per_item", "weekly_volume", "target_hours_per_week"];

/// The largest definition accepted, in bytes: a page of settings, not data (a 100 MB
/// `name` once went through).
pub const MAX_DEFINITION_BYTES: usize = 1 << 20;
/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 4000;

pub(super) fn parse(source: &str) -> Result<AutomationDef, Vec<DefinitionError>> {
    if source.len() > MAX_DEFINITION_BYTES {
        let mut w = Walker::new("");
        w.error_at(
            0,
            "",
            format!(
                "the definition has {} bytes; at most {MAX_DEFINITION_BYTES} are accepted (training data goes in files it names)",
                source.len()
            ),
        );
        return Err(w.errors);
    }
    let (doc, syntax) = DeTable::parse_recoverable(source);
    let mut w = Walker::new(source);
    for e in syntax {
        let at = e.span().map_or(0, |s| s.start);
        w.error_at(at, "", e.message().to_owned());
    }
    if !w.errors.is_empty() {
        // The tree after a syntax error is a guess; checking it would add noise.
        return Err(w.errors);
    }
    let top = doc.get_ref();
    w.check_keys(top, TOP_KEYS, "");

    let name = w.required_string(top, "name", "", 0).unwrap_or_default();
    if Walker::get(top, "name").is_some() && name.trim().is_empty() {
        let at = Walker::offset_of(top, "name").unwrap_or(0);
        w.error_at(at, "name", "must not be empty");
    }
    let slug_text = w.required_string(top, "slug", "", 0);
    let slug = slug_text.and_then(|s| match Slug::parse(&s) {
        Ok(slug) => Some(slug),
        Err(e) => {
            let at = Walker::offset_of(top, "slug").unwrap_or(0);
            w.error_at(at, "slug", e);
            None
        }
    });
    let description = w.string(top, "description", "").unwrap_or_default();
    for (key, text, max) in [
        ("name", &name, MAX_NAME_CHARS),
        ("description", &description, MAX_DESCRIPTION_CHARS),
    ] {
        let n = text.chars().count();
        if n > max {
            let at = Walker::offset_of(top, key).unwrap_or(0);
            w.error_at(at, key, format!("has {n} characters; at most {max}"));
        }
    }

    let inputs = parse_inputs(&mut w, top);
    let input_names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
    let (fields, field_offsets) = parse_fields(&mut w, top, &input_names);
    let route = w.table(top, "route", "").map(|t| {
        let at = Walker::offset_of(top, "route").unwrap_or(0);
        parse_route(&mut w, t, at, &input_names, &inputs)
    });
    let llm = w.table(top, "llm", "").and_then(|t| {
        let at = Walker::offset_of(top, "llm").unwrap_or(0);
        super::llm::parse_llm(&mut w, t, at)
    });
    if llm.is_none() && Walker::get(top, "llm").is_none() {
        for (i, f) in fields.iter().enumerate() {
            if f.extractor == ExtractorKind::Llm || f.shadow_extractor == Some(ExtractorKind::Llm) {
                w.error_at(
                    field_offsets.get(i).copied().unwrap_or(0),
                    &format!("fields[{i}].extractor"),
                    "a field uses the LLM, so the definition needs an [llm] section with base_url and model",
                );
            }
        }
    }
    let training = w
        .table(top, "training", "")
        .map(|t| {
            w.check_keys(t, &["documents"], "training");
            TrainingDef {
                documents: w.string(t, "documents", "training"),
            }
        })
        .unwrap_or_default();
    if fields
        .iter()
        .any(|f| f.extractor == ExtractorKind::Learned || f.shadow_extractor == Some(ExtractorKind::Learned))
        && training.documents.is_none()
    {
        let at = Walker::offset_of(top, "fields").unwrap_or(0);
        w.error_at(
            at,
            "training.documents",
            "a field uses extractor = \"learned\", so [training] needs documents = \"FILE.jsonl\" to learn from",
        );
    }
    let destinations = parse_destinations(&mut w, top);
    let baseline = w
        .table(top, "baseline", "")
        .map(|t| {
            w.check_keys(t, BASELINE_KEYS, "baseline");
            Baseline {
                minutes_per_item: w.number(t, "minutes_per_item", "baseline", 0.0, 24.0 * 60.0),
                weekly_volume: w
                    .number(t, "weekly_volume", "baseline", 0.0, 1e9)
                    .map(|n| n as u32),
                target_hours_per_week: w.number(t, "target_hours_per_week", "baseline", 0.0, 10_000.0),
            }
        })
        .unwrap_or_default();

    let review = super::review::parse_review(&mut w, top);
    let mut mode_targets: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    if route.is_some() {
        mode_targets.push("route");
    }
    let rollout = super::rollout::parse_rollout(&mut w, top, &mode_targets);
    let gate = super::rollout::parse_gate(&mut w, top);
    let card = super::rollout::parse_card(&mut w, top);
    let email = super::email::parse_email(&mut w, top);

    if fields.is_empty() && route.is_none() && w.errors.is_empty() {
        w.error_at(
            0,
            "",
            "the automation does nothing: add [[fields]] to extract or a [route] to choose",
        );
    }

    match (w.errors.is_empty(), slug) {
        (true, Some(slug)) => Ok(AutomationDef {
            name: name.trim().to_owned(),
            slug,
            description,
            inputs,
            fields,
            route,
            training,
            destinations,
            baseline,
            llm,
            review,
            rollout,
            gate,
            card,
            email,
        }),
        _ => {
            w.errors.sort_by_key(|e| (e.line, e.column));
            Err(w.errors)
        }
    }
}

fn parse_inputs(w: &mut Walker<'_>, top: &Table<'_>) -> Vec<InputDef> {
    let mut inputs: Vec<InputDef> = Vec::new();
    for (i, (at, t)) in w.tables(top, "inputs", "").into_iter().enumerate() {
        let path = format!("inputs[{i}]");
        w.check_keys(t, INPUT_KEYS, &path);
        let Some(name) = w.required_string(t, "name", &path, at) else {
            continue;
        };
        if !is_identifier(&name) {
            w.error_at(
                at,
                &join(&path, "name"),
                format!("{name:?} must be letters, digits and underscores"),
            );
        }
        if inputs.iter().any(|x| x.name == name) {
            w.error_at(
                at,
                &join(&path, "name"),
                format!("input {name:?} is declared twice"),
            );
        }
        let kind = match w.string(t, "kind", &path) {
            None => FeatureKind::Text,
            Some(k) => FeatureKind::parse(&k).unwrap_or_else(|| {
                let at = Walker::offset_of(t, "kind").unwrap_or(at);
                let all: Vec<&str> = FeatureKind::ALL.iter().map(|k| k.as_str()).collect();
                w.error_at(
                    at,
                    &join(&path, "kind"),
                    format!("{k:?} is not an input kind; kinds: {}", all.join(", ")),
                );
                FeatureKind::Text
            }),
        };
        inputs.push(InputDef {
            name,
            kind,
            required: w.bool(t, "required", &path).unwrap_or(true),
            max_bytes: w
                .number(t, "max_bytes", &path, 1.0, 64.0 * 1024.0 * 1024.0)
                .map_or(DEFAULT_MAX_INPUT_BYTES, |n| n as usize),
        });
    }
    if inputs.is_empty() && Walker::get(top, "inputs").is_none() {
        // The common case, one text input, needs no ceremony.
        inputs.push(InputDef {
            name: "text".into(),
            kind: FeatureKind::Text,
            required: true,
            max_bytes: DEFAULT_MAX_INPUT_BYTES,
        });
    }
    inputs
}

fn parse_kind(s: &str) -> Option<FieldKind> {
    FieldKind::ALL.into_iter().find(|k| k.as_str() == s)
}

/// The fields, and the offset where each one's extractor is set (for errors about it).
fn parse_fields(w: &mut Walker<'_>, top: &Table<'_>, inputs: &[&str]) -> (Vec<FieldDef>, Vec<usize>) {
    let mut fields: Vec<FieldDef> = Vec::new();
    let mut offsets: Vec<usize> = Vec::new();
    for (i, (at, t)) in w.tables(top, "fields", "").into_iter().enumerate() {
        let path = format!("fields[{i}]");
        w.check_keys(t, FIELD_KEYS, &path);
        let name = w.required_string(t, "name", &path, at).unwrap_or_default();
        if !name.is_empty() && !is_identifier(&name) {
            w.error_at(
                at,
                &join(&path, "name"),
                format!("{name:?} must be letters, digits and underscores"),
            );
        }
        if fields.iter().any(|f| f.name == name) {
            w.error_at(
                at,
                &join(&path, "name"),
                format!("field {name:?} is declared twice"),
            );
        }
        let kind_at = Walker::offset_of(t, "type").unwrap_or(at);
        // An unknown type is reported once; checks that depend on the type are skipped
        // rather than piling consequences of the same typo on the builder.
        let known_kind = match w.string(t, "type", &path) {
            None => Some(FieldKind::Text),
            Some(s) => parse_kind(&s).or_else(|| {
                let all: Vec<&str> = FieldKind::ALL.iter().map(|k| k.as_str()).collect();
                w.error_at(
                    kind_at,
                    &join(&path, "type"),
                    format!("unknown type {s:?}; expected one of: {}", all.join(", ")),
                );
                None
            }),
        };
        let kind = known_kind.unwrap_or(FieldKind::Text);
        let labels = w.string_list(t, "labels", &path);
        let ext_at = Walker::offset_of(t, "extractor").unwrap_or(at);
        let extractor = match w.string(t, "extractor", &path).as_deref() {
            Some("pattern") => ExtractorKind::Pattern,
            Some("label") => ExtractorKind::Label,
            Some("learned") => ExtractorKind::Learned,
            Some("llm") => ExtractorKind::Llm,
            Some(other) => {
                w.error_at(
                    ext_at,
                    &join(&path, "extractor"),
                    format!("unknown extractor {other:?}; expected one of: pattern, label, learned, llm"),
                );
                ExtractorKind::Pattern
            }
            None if known_kind.is_none() => ExtractorKind::Pattern,
            None if !labels.is_empty() => ExtractorKind::Label,
            None if has_pattern(kind) => ExtractorKind::Pattern,
            None => ExtractorKind::Learned,
        };
        if extractor == ExtractorKind::Pattern && !has_pattern(kind) && known_kind.is_some() {
            w.error_at(ext_at, &join(&path, "extractor"), format!(
                "there is no built-in pattern for type {kind}; use extractor = \"label\" with labels, or \"learned\""
            ));
        }
        if extractor == ExtractorKind::Label && labels.is_empty() {
            w.error_at(
                ext_at,
                &join(&path, "labels"),
                "extractor = \"label\" needs labels = [\"Label\", ...]",
            );
        }
        let source = w
            .string(t, "source", &path)
            .unwrap_or_else(|| inputs.first().map_or_else(String::new, |s| (*s).to_owned()));
        if !inputs.contains(&source.as_str()) {
            let at = Walker::offset_of(t, "source").unwrap_or(at);
            w.error_at(
                at,
                &join(&path, "source"),
                format!("{source:?} is not an input; inputs: {}", inputs.join(", ")),
            );
        }
        let date_order = match w.string(t, "date_order", &path).as_deref() {
            None | Some("dmy") => DateOrder::Dmy,
            Some("mdy") => DateOrder::Mdy,
            Some("ymd") => DateOrder::Ymd,
            Some(other) => {
                let at = Walker::offset_of(t, "date_order").unwrap_or(at);
                w.error_at(
                    at,
                    &join(&path, "date_order"),
                    format!("unknown date order {other:?}; expected dmy, mdy or ymd"),
                );
                DateOrder::Dmy
            }
        };
        let region = w.string(t, "region", &path);
        if let Some(r) = &region
            && !(r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()))
        {
            let at = Walker::offset_of(t, "region").unwrap_or(at);
            w.error_at(
                at,
                &join(&path, "region"),
                format!("{r:?} should be a two-letter country code such as \"US\""),
            );
        }
        let shadow_at = Walker::offset_of(t, "shadow_extractor").unwrap_or(at);
        let shadow_extractor = match w.string(t, "shadow_extractor", &path).as_deref() {
            None => None,
            Some("pattern") => Some(ExtractorKind::Pattern),
            Some("label") => Some(ExtractorKind::Label),
            Some("learned") => Some(ExtractorKind::Learned),
            Some("llm") => Some(ExtractorKind::Llm),
            Some(other) => {
                w.error_at(
                    shadow_at,
                    &join(&path, "shadow_extractor"),
                    format!("unknown extractor {other:?}; expected one of: pattern, label, learned, llm"),
                );
                None
            }
        };
        if let Some(shadow) = shadow_extractor {
            if shadow == extractor {
                w.error_at(
                    shadow_at,
                    &join(&path, "shadow_extractor"),
                    format!(
                        "is the same as extractor ({}); a shadow runs a different extractor beside it",
                        shadow.as_str()
                    ),
                );
            } else if shadow == ExtractorKind::Pattern && !has_pattern(kind) && known_kind.is_some() {
                w.error_at(
                    shadow_at,
                    &join(&path, "shadow_extractor"),
                    format!("there is no built-in pattern for type {kind}"),
                );
            } else if shadow == ExtractorKind::Label && labels.is_empty() {
                w.error_at(
                    shadow_at,
                    &join(&path, "labels"),
                    "shadow_extractor = \"label\" needs labels = [\"Label\", ...]",
                );
            }
        }
        offsets.push(ext_at);
        let validate = w
            .table(t, "validate", &path)
            .map(|v| parse_validation(w, v, &join(&path, "validate")))
            .unwrap_or_default();
        fields.push(FieldDef {
            name,
            kind,
            extractor,
            shadow_extractor,
            source,
            required: w.bool(t, "required", &path).unwrap_or(false),
            threshold: w
                .number(t, "threshold", &path, 0.0, 1.0)
                .unwrap_or(DEFAULT_FIELD_THRESHOLD),
            multi: w.bool(t, "multi", &path).unwrap_or(false),
            labels,
            region,
            date_order,
            validate,
        });
    }
    (fields, offsets)
}

fn has_pattern(kind: FieldKind) -> bool {
    matches!(
        kind,
        FieldKind::Email
            | FieldKind::Phone
            | FieldKind::Url
            | FieldKind::Money
            | FieldKind::Date
            | FieldKind::Number
            | FieldKind::Duration
    )
}

fn parse_validation(w: &mut Walker<'_>, t: &Table<'_>, path: &str) -> Validation {
    w.check_keys(t, VALIDATE_KEYS, path);
    let pattern = w.string(t, "pattern", path);
    if let Some(p) = &pattern
        && let Err(e) = regex::Regex::new(p)
    {
        let at = Walker::offset_of(t, "pattern").unwrap_or(0);
        let first = e.to_string().lines().last().unwrap_or("").trim().to_owned();
        w.error_at(
            at,
            &join(path, "pattern"),
            format!("not a valid regular expression: {first}"),
        );
    }
    Validation {
        pattern,
        min: w.number(t, "min", path, f64::MIN, f64::MAX),
        max: w.number(t, "max", path, f64::MIN, f64::MAX),
        one_of: w.string_list(t, "one_of", path),
        max_length: w.number(t, "max_length", path, 1.0, 1e9).map(|n| n as usize),
    }
}

fn parse_route(w: &mut Walker<'_>, t: &Table<'_>, at: usize, inputs: &[&str], defs: &[InputDef]) -> RouteDef {
    w.check_keys(t, ROUTE_KEYS, "route");
    let source = w
        .string(t, "source", "route")
        .unwrap_or_else(|| inputs.first().map_or_else(String::new, |s| (*s).to_owned()));
    if !inputs.contains(&source.as_str()) {
        let at = Walker::offset_of(t, "source").unwrap_or(at);
        w.error_at(
            at,
            "route.source",
            format!("{source:?} is not an input; inputs: {}", inputs.join(", ")),
        );
    }
    let labels = w.string_list(t, "labels", "route");
    let features = w.string_list(t, "features", "route");
    for (i, f) in features.iter().enumerate() {
        let problem = if f == &source {
            Some(format!("{f:?} is the route's source already"))
        } else if !inputs.contains(&f.as_str()) {
            Some(format!("{f:?} is not an input; inputs: {}", inputs.join(", ")))
        } else if features[..i].contains(f) {
            Some(format!("{f:?} is listed twice"))
        } else {
            None
        };
        if let Some(message) = problem {
            let at = Walker::offset_of(t, "features").unwrap_or(at);
            w.error_at(at, &format!("route.features[{i}]"), message);
        }
    }
    let mut inline_examples = Vec::new();
    let mut examples = None;
    if let Some(v) = Walker::get(t, "examples") {
        if v.get_ref().as_str().is_some() {
            examples = w.string(t, "examples", "route");
        } else {
            for (i, (eat, e)) in w.tables(t, "examples", "route").into_iter().enumerate() {
                let path = format!("route.examples[{i}]");
                w.check_keys(e, &["text", "label"], &path);
                let text = w.required_string(e, "text", &path, eat);
                let label = w.required_string(e, "label", &path, eat);
                if let (Some(text), Some(label)) = (text, label) {
                    if !labels.is_empty() && !labels.contains(&label) {
                        w.error_at(
                            eat,
                            &join(&path, "label"),
                            format!("{label:?} is not one of route.labels"),
                        );
                    }
                    inline_examples.push(RouteExample { text, label });
                }
            }
        }
    } else {
        w.error_at(at, "route.examples", "a route learns from examples: give a file (examples = \"FILE.jsonl\") or [[route.examples]] tables");
    }
    let rules = rules_checked(w, t, defs, &labels);
    RouteDef {
        source,
        labels,
        examples,
        inline_examples,
        threshold: w
            .number(t, "threshold", "route", 0.0, 1.0)
            .unwrap_or(DEFAULT_ROUTE_THRESHOLD),
        oos_label: w.string(t, "oos_label", "route"),
        rules,
        features,
    }
}

/// The rules, with those that can never apply reported as errors at their line.
fn rules_checked(w: &mut Walker<'_>, t: &Table<'_>, defs: &[InputDef], labels: &[String]) -> Vec<RouteRule> {
    let rules = super::route_rules::parse_rules(w, t, defs, labels);
    let problems = tandem_engine::pipeline::check_route_rules(&rules);
    for (i, rule) in rules.iter().enumerate() {
        for p in problems.iter().filter(|p| p.unreachable && p.line == rule.line) {
            let at = w.offset_of_line(rule.line);
            w.error_at(at, &format!("route.rules[{i}]"), p.message.clone());
        }
    }
    rules
}

fn parse_destinations(w: &mut Walker<'_>, top: &Table<'_>) -> Vec<Destination> {
    let mut out = Vec::new();
    for (i, (at, t)) in w.tables(top, "destinations", "").into_iter().enumerate() {
        let path = format!("destinations[{i}]");
        w.check_keys(t, DESTINATION_KEYS, &path);
        match w.required_string(t, "type", &path, at).as_deref() {
            Some("webhook") => {
                let Some(url) = w.required_string(t, "url", &path, at) else {
                    continue;
                };
                let ok = (url.starts_with("http://") || url.starts_with("https://"))
                    && url.len() > 8
                    && !url.contains(char::is_whitespace);
                let uat = Walker::offset_of(t, "url").unwrap_or(at);
                if !ok {
                    w.error_at(
                        uat,
                        &join(&path, "url"),
                        format!("{url:?} is not an http:// or https:// URL"),
                    );
                } else if let Some(why) = super::url_host::forbidden(&url) {
                    w.error_at(uat, &join(&path, "url"), why);
                }
                out.push(Destination::Webhook {
                    url,
                    secret: w.string(t, "secret", &path),
                });
            }
            Some("jsonl") => {
                let Some(path_value) = w.required_string(t, "path", &path, at) else {
                    continue;
                };
                out.push(Destination::Jsonl { path: path_value });
            }
            Some(other) => {
                let tat = Walker::offset_of(t, "type").unwrap_or(at);
                w.error_at(
                    tat,
                    &join(&path, "type"),
                    format!("unknown destination type {other:?}; expected webhook or jsonl"),
                );
            }
            None => {}
        }
    }
    out
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_definition_or_name_is_refused_with_a_clear_error() {
        let huge = format!("name = \"{}\"\nslug = \"r\"\n", "x".repeat(MAX_DEFINITION_BYTES));
        let errors = parse(&huge).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].message.contains("at most 1048576 are accepted"),
            "{errors:?}"
        );

        let long = format!(
            "name = \"{}\"\nslug = \"r\"\ndescription = \"{}\"\n",
            "n".repeat(201),
            "d".repeat(4001)
        );
        let errors = parse(&long).unwrap_err();
        let said: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.path.as_str(), e.message.as_str()))
            .collect();
        assert!(
            said.contains(&("name", "name: has 201 characters; at most 200")),
            "{said:?}"
        );
        assert!(
            said.contains(&("description", "description: has 4001 characters; at most 4000")),
            "{said:?}"
        );
    }

    #[test]
    fn webhook_and_llm_urls_on_link_local_addresses_are_refused() {
        let src = "name = \"R\"\nslug = \"r\"\n[[destinations]]\ntype = \"webhook\"\nurl = \"http://169.254.169.254/latest\"\n[llm]\nbase_url = \"http://metadata.google.internal/v1\"\nmodel = \"m\"\n";
        let errors = parse(src).unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert!(
            paths.contains(&"destinations[0].url") && paths.contains(&"llm.base_url"),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.message.contains("link-local")),
            "{errors:?}"
        );
    }

    const GOOD: &str = r#"
name = "Receipts"
slug = "receipts"
description = "Pull totals out of receipts."

[[fields]]
name = "total"
type = "money"
required = true
threshold = 0.9

[[fields]]
name = "invoice"
type = "identifier"
labels = ["Invoice no", "Invoice number"]
[fields.validate]
pattern = "^[A-Z0-9-]+$"

[route]
labels = ["food", "travel"]
examples = [
  { text = "lunch", label = "food" },
  { text = "taxi", label = "travel" },
]

[[destinations]]
type = "webhook"
url = "http://127.0.0.1:9000/hook"

[baseline]
minutes_per_item = 3
target_hours_per_week = 20
"#;

    #[test]
    fn parses_a_complete_definition_with_defaults() {
        let def = AutomationDef::parse(GOOD).unwrap();
        assert_eq!(def.slug.as_str(), "receipts");
        assert_eq!(def.inputs.len(), 1, "one text input by default");
        assert_eq!(def.inputs[0].name, "text");
        assert_eq!(def.fields[0].extractor, ExtractorKind::Pattern);
        assert_eq!(
            def.fields[1].extractor,
            ExtractorKind::Label,
            "labels imply the label extractor"
        );
        assert_eq!(def.fields[1].threshold, DEFAULT_FIELD_THRESHOLD);
        assert_eq!(def.route.as_ref().unwrap().inline_examples.len(), 2);
        assert_eq!(def.baseline.minutes_per_item, Some(3.0));
        assert_eq!(def.destinations.len(), 1);
    }

    fn errors(src: &str) -> Vec<String> {
        AutomationDef::parse(src)
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn route_rules_are_read_and_checked_with_their_lines() {
        let head = "name = \"Leads\"\nslug = \"leads\"\n\
[[inputs]]\nname = \"message\"\n\
[[inputs]]\nname = \"country\"\nkind = \"category\"\n\
[[inputs]]\nname = \"employees\"\nkind = \"number\"\n\
[[inputs]]\nname = \"email\"\nkind = \"email_domain\"\n\
[route]\nsource = \"message\"\nlabels = [\"emea\", \"americas\", \"enterprise\"]\nexamples = \"leads.jsonl\"\n";
        let good = format!(
            "{head}\
[[route.rules]]\nwhen = {{ country = [\"DE\", \"AT\"] }}\nroute = \"emea\"\n\
[[route.rules]]\nwhen = {{ employees = {{ min = 1000 }} }}\nonly = [\"enterprise\", \"americas\"]\n\
[[route.rules]]\nwhen = {{ email = \"Rival.com\" }}\nreview = \"a competitor\"\n"
        );
        let def = AutomationDef::parse(&good).unwrap();
        let rules = &def.route.as_ref().unwrap().rules;
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[0].line, 18);
        assert_eq!(
            rules[2].when[0].1,
            tandem_engine::pipeline::Condition::OneOf {
                values: vec!["rival.com".into()],
                domain: true
            }
        );
        // A big company in DE matches lines 18 and 21 with different outcomes: a warning;
        // a rival's address may come with either (line 24 overlaps both).
        let warnings = def.rule_warnings();
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(
            warnings[0].starts_with("line 21: the rule on line 21 overlaps the rule on line 18"),
            "{warnings:?}"
        );

        let bad = format!(
            "{head}\
[[route.rules]]\nwhen = {{ country = [\"DE\", \"AT\"] }}\nroute = \"emea\"\n\
[[route.rules]]\nwhen = {{ country = \"de\", employees = {{ min = 10 }} }}\nroute = \"americas\"\n\
[[route.rules]]\nwhen = {{ zip = [\"1\"] }}\nroute = \"apac\"\n\
[[route.rules]]\nwhen = {{ employees = {{ min = 5, max = 1 }} }}\nroute = \"emea\"\nreview = \"x\"\n"
        );
        let all = errors(&bad).join("\n");
        assert!(all.contains("line 21, column 1: route.rules[1]: the rule on line 21 can never apply: the rule on line 18 comes first"), "{all}");
        assert!(
            all.contains("route.rules[2].when.zip: \"zip\" is not an input"),
            "{all}"
        );
        assert!(
            all.contains("route.rules[2].route: \"apac\" is not one of route.labels"),
            "{all}"
        );
        assert!(
            all.contains("route.rules[3].when.employees: min (5) must be under max (1)"),
            "{all}"
        );
        assert!(all.contains("route.rules[3]: a rule does one thing"), "{all}");
    }

    #[test]
    fn route_features_name_typed_inputs() {
        let src = "name = \"Leads\"\nslug = \"leads\"\n\
[[inputs]]\nname = \"message\"\n\
[[inputs]]\nname = \"country\"\nkind = \"category\"\n\
[[inputs]]\nname = \"size\"\nkind = \"number\"\nrequired = false\n\
[route]\nsource = \"message\"\nfeatures = [\"country\", \"size\"]\nexamples = \"leads.jsonl\"\n";
        let def = AutomationDef::parse(src).unwrap();
        let inputs = def.route_inputs();
        assert_eq!(inputs.len(), 2);
        assert_eq!(
            (inputs[1].name.as_str(), inputs[1].kind),
            ("size", FeatureKind::Number)
        );
        let bad = src.replace("kind = \"number\"", "kind = \"integer\"").replace(
            "[\"country\", \"size\"]",
            "[\"country\", \"zip\", \"message\", \"country\"]",
        );
        let all = errors(&bad).join("\n");
        assert!(
            all.contains(
                "\"integer\" is not an input kind; kinds: text, category, number, boolean, email_domain"
            ),
            "{all}"
        );
        assert!(
            all.contains("route.features[1]: \"zip\" is not an input"),
            "{all}"
        );
        assert!(
            all.contains("route.features[2]: \"message\" is the route's source already"),
            "{all}"
        );
        assert!(
            all.contains("route.features[3]: \"country\" is listed twice"),
            "{all}"
        );
        assert!(
            all.contains("line 14, column 12: route.features[1]"),
            "errors carry the line: {all}"
        );
    }

    #[test]
    fn reports_every_error_with_line_and_column() {
        let src = "name = \"X\"\nslug = \"Bad Slug\"\n\n[[fields]]\nname = \"a\"\ntype = \"moneys\"\nthreshold = 1.5\nrequird = true\n";
        let errs = errors(src);
        assert_eq!(errs.len(), 4, "{errs:#?}");
        assert!(errs[0].starts_with("line 2, column 8: slug:"), "{}", errs[0]);
        assert!(
            errs[1].starts_with("line 6, column 8: fields[0].type: unknown type \"moneys\""),
            "{}",
            errs[1]
        );
        assert!(
            errs[2].starts_with(
                "line 7, column 13: fields[0].threshold: expected a number from 0 to 1, found 1.5"
            ),
            "{}",
            errs[2]
        );
        assert!(
            errs[3].contains("line 8, column 1: fields[0].requird: unknown key (did you mean \"required\"?)"),
            "{}",
            errs[3]
        );
    }

    #[test]
    fn syntax_errors_have_positions() {
        let errs = AutomationDef::parse("name = \"X\"\nslug = \n").unwrap_err();
        assert_eq!(errs[0].line, 2);
        assert!(
            errs[0].message.contains("quoted") || errs[0].message.contains("expected"),
            "{:?}",
            errs[0]
        );
    }

    #[test]
    fn missing_required_keys_and_bad_references() {
        let errs = errors(
            "description = 1\n[[fields]]\nname = \"x\"\nsource = \"body\"\ntype = \"text\"\nextractor = \"pattern\"\n",
        );
        let all = errs.join("\n");
        assert!(all.contains("name: is required"), "{all}");
        assert!(all.contains("slug: is required"), "{all}");
        assert!(all.contains("description: expected text, found integer"), "{all}");
        assert!(
            all.contains("fields[0].source: \"body\" is not an input"),
            "{all}"
        );
        assert!(all.contains("no built-in pattern for type text"), "{all}");
    }

    #[test]
    fn destinations_and_validation_are_checked() {
        let src = "name = \"X\"\nslug = \"x\"\n[[fields]]\nname = \"e\"\ntype = \"email\"\n[fields.validate]\npattern = \"(\"\n[[destinations]]\ntype = \"webhook\"\nurl = \"ftp://x\"\n[[destinations]]\ntype = \"slack\"\n";
        let all = errors(src).join("\n");
        assert!(
            all.contains("fields[0].validate.pattern: not a valid regular expression"),
            "{all}"
        );
        assert!(
            all.contains("destinations[0].url: \"ftp://x\" is not an http:// or https:// URL"),
            "{all}"
        );
        assert!(
            all.contains("destinations[1].type: unknown destination type \"slack\""),
            "{all}"
        );
    }

    #[test]
    fn learned_fields_need_documents_and_routes_need_examples() {
        let all =
            errors("name = \"X\"\nslug = \"x\"\n[[fields]]\nname = \"company\"\n[route]\nlabels = [\"a\"]\n")
                .join("\n");
        assert!(all.contains("needs documents"), "{all}");
        assert!(
            all.contains("route.examples: a route learns from examples"),
            "{all}"
        );
    }

    #[test]
    fn an_empty_automation_is_refused() {
        let all = errors("name = \"X\"\nslug = \"x\"\n").join("\n");
        assert!(all.contains("does nothing"), "{all}");
    }
}
