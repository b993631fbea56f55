//! `[[route.rules]]`: a team's territory table or segment conditions, read into the
//! engine's [`RouteRule`]s with every mistake reported at its line.
//!
//! ```toml
//! [[route.rules]]
//! when = { country = ["DE", "AT", "CH"] }     # one of these values (any case)
//! route = "emea"                               # decide the route
//!
//! [[route.rules]]
//! when = { employees = { min = 1000 } }        # a number in [min, max)
//! only = ["enterprise_east", "enterprise_west"]  # the model chooses among these
//!
//! [[route.rules]]
//! when = { email = ["rival.com"] }             # an email_domain input: its domain
//! review = "a competitor's address: check by hand"   # a person decides
//! ```
//!
//! A rule that can never apply (an earlier one matches all it matches) is an error; rules
//! that overlap with different outcomes are legal (the first wins) and `tandem check`
//! lists them as warnings.

use tandem_engine::pipeline::{Condition, RouteRule, RuleAction};
use toml::de::DeValue;

use super::walk::{Table, Walker, join};
use super::{InputDef, InputKind};

const RULE_KEYS: &[&str] = &["when", "route", "only", "review"];
const RANGE_KEYS: &[&str] = &["min", "max"];

pub(super) fn parse_rules(
    w: &mut Walker<'_>,
    route: &Table<'_>,
    inputs: &[InputDef],
    labels: &[String],
) -> Vec<RouteRule> {
    let mut rules = Vec::new();
    for (i, (at, t)) in w.tables(route, "rules", "route").into_iter().enumerate() {
        let path = format!("route.rules[{i}]");
        w.check_keys(t, RULE_KEYS, &path);
        let when = parse_when(w, t, at, &path, inputs);
        let check_label = |w: &mut Walker<'_>, label: &str, key: &str| {
            if !labels.is_empty() && !labels.iter().any(|l| l == label) {
                let at = Walker::offset_of(t, key).unwrap_or(at);
                w.error_at(
                    at,
                    &join(&path, key),
                    format!("{label:?} is not one of route.labels"),
                );
            }
        };
        let given: Vec<&str> = ["route", "only", "review"]
            .into_iter()
            .filter(|k| Walker::get(t, k).is_some())
            .collect();
        let action = match given.as_slice() {
            ["route"] => w.string(t, "route", &path).map(|label| {
                check_label(w, &label, "route");
                RuleAction::Route { label }
            }),
            ["only"] => {
                let labels = w.string_list(t, "only", &path);
                for l in &labels {
                    check_label(w, l, "only");
                }
                if labels.is_empty() {
                    let at = Walker::offset_of(t, "only").unwrap_or(at);
                    w.error_at(at, &join(&path, "only"), "name at least one route");
                }
                Some(RuleAction::Only { labels })
            }
            ["review"] => w.string(t, "review", &path).map(|why| RuleAction::Review { why }),
            _ => {
                w.error_at(
                    at,
                    &path,
                    "a rule does one thing: give exactly one of route = \"...\", only = [...] or review = \"why\"",
                );
                None
            }
        };
        if let (Some(when), Some(action)) = (when, action) {
            rules.push(RouteRule {
                line: w.line_of(at),
                when,
                action,
            });
        }
    }
    rules
}

fn parse_when(
    w: &mut Walker<'_>,
    t: &Table<'_>,
    at: usize,
    path: &str,
    inputs: &[InputDef],
) -> Option<Vec<(String, Condition)>> {
    if Walker::get(t, "when").is_none() {
        w.error_at(
            at,
            &join(path, "when"),
            "is required: the conditions, e.g. when = { country = [\"DE\"] }",
        );
        return None;
    }
    let when = w.table(t, "when", path)?;
    let path = join(path, "when");
    let mut out = Vec::new();
    let mut ok = true;
    for (key, v) in when.iter() {
        let name: &str = key.get_ref();
        let here = join(&path, name);
        let Some(input) = inputs.iter().find(|i| i.name == name) else {
            let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
            w.error(
                v,
                &here,
                format!("{name:?} is not an input; inputs: {}", names.join(", ")),
            );
            ok = false;
            continue;
        };
        let cond = match v.get_ref() {
            DeValue::Table(range) => {
                w.check_keys(range, RANGE_KEYS, &here);
                let min = w.number(range, "min", &here, f64::MIN, f64::MAX);
                let max = w.number(range, "max", &here, f64::MIN, f64::MAX);
                match (min, max) {
                    (None, None) => {
                        w.error(v, &here, "give min, max or both");
                        None
                    }
                    (Some(a), Some(b)) if a >= b => {
                        w.error(v, &here, format!("min ({a}) must be under max ({b})"));
                        None
                    }
                    _ => Some(Condition::Range { min, max }),
                }
            }
            DeValue::Array(items) => {
                let mut values = Vec::new();
                for item in items.iter() {
                    match scalar(item.get_ref()) {
                        Some(s) => values.push(s.trim().to_lowercase()),
                        None => {
                            let found = item.get_ref().type_str();
                            w.error(
                                item,
                                &here,
                                format!("expected text, a number or true/false, found {found}"),
                            );
                        }
                    }
                }
                if values.is_empty() {
                    w.error(v, &here, "list at least one value");
                    None
                } else {
                    Some(Condition::OneOf {
                        values,
                        domain: input.kind == InputKind::EmailDomain,
                    })
                }
            }
            other => match scalar(other) {
                Some(s) => Some(Condition::OneOf {
                    values: vec![s.trim().to_lowercase()],
                    domain: input.kind == InputKind::EmailDomain,
                }),
                None => {
                    let found = other.type_str();
                    w.error(
                        v,
                        &here,
                        format!("expected a value, a list of values or {{ min, max }}, found {found}"),
                    );
                    None
                }
            },
        };
        match cond {
            Some(c) => out.push((name.to_owned(), c)),
            None => ok = false,
        }
    }
    if out.is_empty() && ok {
        w.error_at(at, &path, "give at least one condition");
        return None;
    }
    ok.then_some(out)
}

fn scalar(v: &DeValue<'_>) -> Option<String> {
    match v {
        DeValue::String(s) => Some(s.to_string()),
        DeValue::Integer(i) => Some(i.as_str().replace('_', "")),
        DeValue::Float(f) => Some(f.as_str().replace('_', "")),
        DeValue::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}
