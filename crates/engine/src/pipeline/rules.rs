//! A field value's validation rules (pattern, bounds, one of, length): a value that
//! breaks one is not accepted automatically, and the reason names the rule.

use super::{FieldStep, Reason};

pub(super) fn check_rules(step: &FieldStep, value: &str) -> Option<Reason> {
    let rules = &step.rules;
    if let Some(p) = &rules.pattern {
        // The definition was validated, so the pattern compiles; a failure here would be
        // a stored definition from an older build, reported rather than panicking.
        let matched = regex::Regex::new(&format!("^(?:{p})$")).map(|re| re.is_match(value));
        match matched {
            Ok(true) => {}
            Ok(false) => {
                return Some(Reason::ValidationFailed {
                    rule: format!("matches {p}"),
                    message: format!("\"{}\" does not match", excerpt(value)),
                });
            }
            Err(e) => {
                return Some(Reason::ValidationFailed {
                    rule: format!("matches {p}"),
                    message: e.to_string(),
                });
            }
        }
    }
    if rules.min.is_some() || rules.max.is_some() {
        // Money values read "12.50 USD": the amount is the first word.
        let amount = value
            .split_whitespace()
            .next()
            .and_then(|a| a.parse::<f64>().ok());
        match amount {
            None => {
                return Some(Reason::ValidationFailed {
                    rule: "is a number".into(),
                    message: format!("\"{}\" is not a number", excerpt(value)),
                });
            }
            Some(a) => {
                if let Some(min) = rules.min
                    && a < min
                {
                    return Some(Reason::ValidationFailed {
                        rule: format!("at least {min}"),
                        message: format!("{a} is below {min}"),
                    });
                }
                if let Some(max) = rules.max
                    && a > max
                {
                    return Some(Reason::ValidationFailed {
                        rule: format!("at most {max}"),
                        message: format!("{a} is above {max}"),
                    });
                }
            }
        }
    }
    if !rules.one_of.is_empty() && !rules.one_of.iter().any(|o| o == value) {
        return Some(Reason::ValidationFailed {
            rule: format!("one of {}", rules.one_of.join(", ")),
            message: format!("\"{}\" is not one of them", excerpt(value)),
        });
    }
    if let Some(max) = rules.max_length
        && value.chars().count() > max
    {
        return Some(Reason::ValidationFailed {
            rule: format!("at most {max} characters"),
            message: format!("it has {}", value.chars().count()),
        });
    }
    None
}

fn excerpt(s: &str) -> String {
    let cut: String = s.chars().take(60).collect();
    if cut.len() < s.len() {
        format!("{cut}…")
    } else {
        cut
    }
}
