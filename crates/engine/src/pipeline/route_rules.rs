//! Rules beside the router: a team's territory table or segment conditions, written in
//! the definition and evaluated before the model, in order; the first rule whose
//! conditions all hold applies. A rule decides the route, restricts the model's choice to
//! some routes, or sends the item to review; whatever it does, it is the reason, in words.
//!
//! Also here: which rules can never apply (an earlier rule matches everything they match)
//! and which overlap another with a different outcome, for `tandem check`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One condition on one input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Condition {
    /// The value (or, for `domain`, the e-mail address's domain) is one of these,
    /// compared case-insensitively after trimming. Stored lower-cased.
    OneOf { values: Vec<String>, domain: bool },
    /// The value is a number in `[min, max)`; either bound may be open.
    Range { min: Option<f64>, max: Option<f64> },
}

/// What a rule does when it applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RuleAction {
    /// This route, whatever the model thinks.
    Route { label: String },
    /// The model chooses, but only among these routes.
    Only { labels: Vec<String> },
    /// A person decides; the model's answer is only a suggestion.
    Review { why: String },
}

/// One rule, as the definition wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteRule {
    /// 1-based line of the rule in the definition, for messages.
    pub line: usize,
    /// Every condition must hold; by input name.
    pub when: Vec<(String, Condition)>,
    pub action: RuleAction,
}

impl Condition {
    fn holds(&self, value: Option<&str>) -> bool {
        let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return false;
        };
        match self {
            Condition::OneOf { values, domain } => {
                let v = v.to_lowercase();
                let v = if *domain {
                    v.rsplit('@').next().unwrap_or_default().to_string()
                } else {
                    v
                };
                values.contains(&v)
            }
            Condition::Range { min, max } => {
                let Some(x) = parse_number(v) else { return false };
                min.is_none_or(|m| x >= m) && max.is_none_or(|m| x < m)
            }
        }
    }

    fn describe(&self, input: &str) -> String {
        match self {
            Condition::OneOf { values, domain } => {
                let what = if *domain {
                    format!("{input}'s domain")
                } else {
                    input.to_owned()
                };
                match values.as_slice() {
                    [one] => format!("{what} is {one}"),
                    many => format!("{what} is one of {}", many.join(", ")),
                }
            }
            Condition::Range { min, max } => match (min, max) {
                (Some(a), Some(b)) => format!("{input} is from {a} to under {b}"),
                (Some(a), None) => format!("{input} is at least {a}"),
                (None, Some(b)) => format!("{input} is under {b}"),
                (None, None) => format!("{input} is a number"),
            },
        }
    }

    /// Every value this condition accepts, the other accepts too.
    fn within(&self, other: &Condition) -> bool {
        match (self, other) {
            (
                Condition::OneOf {
                    values: a,
                    domain: da,
                },
                Condition::OneOf {
                    values: b,
                    domain: db,
                },
            ) => da == db && a.iter().all(|v| b.contains(v)),
            (Condition::Range { min: a0, max: a1 }, Condition::Range { min: b0, max: b1 }) => {
                let lo = match (a0, b0) {
                    (_, None) => true,
                    (None, Some(_)) => false,
                    (Some(a), Some(b)) => a >= b,
                };
                let hi = match (a1, b1) {
                    (_, None) => true,
                    (None, Some(_)) => false,
                    (Some(a), Some(b)) => a <= b,
                };
                lo && hi
            }
            _ => false,
        }
    }

    /// Some value may satisfy both.
    fn meets(&self, other: &Condition) -> bool {
        match (self, other) {
            (
                Condition::OneOf {
                    values: a,
                    domain: da,
                },
                Condition::OneOf {
                    values: b,
                    domain: db,
                },
            ) => da != db || a.iter().any(|v| b.contains(v)),
            (Condition::Range { min: a0, max: a1 }, Condition::Range { min: b0, max: b1 }) => {
                let lo = a0
                    .unwrap_or(f64::NEG_INFINITY)
                    .max(b0.unwrap_or(f64::NEG_INFINITY));
                let hi = a1.unwrap_or(f64::INFINITY).min(b1.unwrap_or(f64::INFINITY));
                lo < hi
            }
            // A value listed by name and a range: a listed value might be a number in it.
            _ => true,
        }
    }
}

impl RouteRule {
    /// Whether every condition holds for these inputs.
    pub fn applies(&self, inputs: &BTreeMap<String, String>) -> bool {
        self.when
            .iter()
            .all(|(input, c)| c.holds(inputs.get(input).map(String::as_str)))
    }

    /// The rule in words: "the rule on line 12 (country is one of de, at)".
    pub fn describe(&self) -> String {
        let conds: Vec<String> = self.when.iter().map(|(i, c)| c.describe(i)).collect();
        format!("the rule on line {} ({})", self.line, conds.join(" and "))
    }

    /// Every item this rule matches, `earlier` matches too.
    fn covered_by(&self, earlier: &RouteRule) -> bool {
        earlier
            .when
            .iter()
            .all(|(input, ec)| self.when.iter().any(|(i, c)| i == input && c.within(ec)))
    }

    /// Some item may match both.
    fn overlaps(&self, other: &RouteRule) -> bool {
        self.when.iter().all(|(input, c)| {
            other
                .when
                .iter()
                .filter(|(i, _)| i == input)
                .all(|(_, oc)| c.meets(oc))
        })
    }
}

/// The first rule that applies to these inputs.
pub fn first_applying<'r>(
    rules: &'r [RouteRule],
    inputs: &BTreeMap<String, String>,
) -> Option<&'r RouteRule> {
    rules.iter().find(|r| r.applies(inputs))
}

/// A problem with a rule list: `line` is the later rule's.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleProblem {
    pub line: usize,
    /// True when the rule can never apply (an error); false for an overlap (a warning).
    pub unreachable: bool,
    pub message: String,
}

/// Rules that can never apply because an earlier one matches everything they match, and
/// pairs of rules that can match the same item with different outcomes (the earlier one
/// wins). Quadratic in the number of rules, which a definition keeps small.
pub fn check(rules: &[RouteRule]) -> Vec<RuleProblem> {
    let mut out = Vec::new();
    let mut dead = vec![false; rules.len()];
    for (j, later) in rules.iter().enumerate() {
        // Rules that can never apply take part in no further finding.
        let earlier: Vec<&RouteRule> = (0..j).filter(|&k| !dead[k]).map(|k| &rules[k]).collect();
        if let Some(e) = earlier.iter().find(|e| later.covered_by(e)) {
            dead[j] = true;
            out.push(RuleProblem {
                line: later.line,
                unreachable: true,
                message: format!(
                    "the rule on line {} can never apply: the rule on line {} comes first and matches every item it matches",
                    later.line, e.line
                ),
            });
            continue;
        }
        for e in earlier
            .iter()
            .filter(|e| e.action != later.action && later.overlaps(e))
        {
            out.push(RuleProblem {
                line: later.line,
                unreachable: false,
                message: format!(
                    "the rule on line {} overlaps the rule on line {} with a different outcome: where both match, line {} wins",
                    later.line, e.line, e.line
                ),
            });
        }
    }
    out
}

/// A number as forms write it ("1,200"); `None` when it is not one.
fn parse_number(s: &str) -> Option<f64> {
    if s.len() > 40 {
        return None;
    }
    let cleaned: String = s
        .chars()
        .filter(|c| *c != ',' && *c != '_' && *c != ' ')
        .collect();
    cleaned.parse::<f64>().ok().filter(|x| x.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_of(input: &str, values: &[&str]) -> (String, Condition) {
        (
            input.into(),
            Condition::OneOf {
                values: values.iter().map(|v| v.to_lowercase()).collect(),
                domain: false,
            },
        )
    }

    fn range(input: &str, min: Option<f64>, max: Option<f64>) -> (String, Condition) {
        (input.into(), Condition::Range { min, max })
    }

    fn route(line: usize, when: Vec<(String, Condition)>, label: &str) -> RouteRule {
        RouteRule {
            line,
            when,
            action: RuleAction::Route { label: label.into() },
        }
    }

    fn inputs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(a, b)| ((*a).into(), (*b).into())).collect()
    }

    #[test]
    fn the_first_rule_whose_conditions_all_hold_applies() {
        let rules = vec![
            route(
                3,
                vec![
                    one_of("country", &["DE", "AT"]),
                    range("size", Some(1000.0), None),
                ],
                "emea_enterprise",
            ),
            route(7, vec![one_of("country", &["DE", "AT", "CH"])], "emea"),
        ];
        let pick = |p: &[(&str, &str)]| first_applying(&rules, &inputs(p)).map(|r| r.line);
        assert_eq!(pick(&[("country", " de "), ("size", "1,500")]), Some(3));
        assert_eq!(pick(&[("country", "DE"), ("size", "999")]), Some(7));
        assert_eq!(pick(&[("country", "CH")]), Some(7));
        assert_eq!(pick(&[("country", "FR"), ("size", "5000")]), None);
        assert_eq!(pick(&[("size", "5000")]), None, "a missing input matches nothing");
        assert_eq!(
            rules[0].describe(),
            "the rule on line 3 (country is one of de, at and size is at least 1000)"
        );
    }

    #[test]
    fn domains_match_the_address_after_the_at() {
        let r = RouteRule {
            line: 1,
            when: vec![(
                "email".into(),
                Condition::OneOf {
                    values: vec!["rival.com".into()],
                    domain: true,
                },
            )],
            action: RuleAction::Review {
                why: "a competitor".into(),
            },
        };
        assert!(r.applies(&inputs(&[("email", "Bob@Rival.com")])));
        assert!(!r.applies(&inputs(&[("email", "bob@rival.com.evil.io")])));
    }

    #[test]
    fn unreachable_and_overlapping_rules_are_found_with_their_lines() {
        let rules = vec![
            route(2, vec![one_of("country", &["DE", "AT", "CH"])], "emea"),
            route(
                5,
                vec![one_of("country", &["DE"]), range("size", Some(500.0), None)],
                "emea_big",
            ),
            route(8, vec![range("size", Some(1000.0), None)], "enterprise"),
            route(11, vec![range("size", Some(2000.0), Some(5000.0))], "enterprise"),
            route(14, vec![one_of("country", &["US"])], "americas"),
        ];
        let problems = check(&rules);
        let lines: Vec<(usize, bool)> = problems.iter().map(|p| (p.line, p.unreachable)).collect();
        // Line 5 is inside line 2; line 11 inside line 8. Line 8 overlaps line 2 (a big
        // company in DE) with another route; line 14 overlaps line 8 (a big US company).
        assert_eq!(
            lines,
            [(5, true), (8, false), (11, true), (14, false)],
            "{problems:?}"
        );
        assert!(
            problems[0].message.contains("line 2 comes first"),
            "{}",
            problems[0].message
        );
        // Disjoint territories do not overlap.
        let ok = vec![
            route(1, vec![one_of("country", &["DE"])], "emea"),
            route(2, vec![one_of("country", &["US"])], "americas"),
            route(3, vec![range("size", None, Some(10.0))], "smb"),
            route(
                4,
                vec![range("size", Some(10.0), None), one_of("country", &["JP"])],
                "apac",
            ),
        ];
        assert!(check(&ok).iter().all(|p| !p.unreachable));
        assert!(check(&ok[..3]).iter().all(|p| p.line == 3));
    }
}
