//! The rollout history in words: each event's stored detail (JSON, for machines and the
//! API) turned into the sentence a champion or manager reads on the rollout page.

use serde_json::Value;

/// `"text"` for a person's note, or nothing when there is none.
fn said(v: &Value) -> Option<String> {
    v.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| format!("“{}”", s.chars().take(300).collect::<String>()))
}

fn num(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Null => "–".into(),
        other => other.to_string(),
    }
}

/// "Unmet: a; b." for the checks a forced step went past.
fn unmet(d: &Value) -> String {
    match d["unmet"].as_array().filter(|u| !u.is_empty()) {
        Some(u) => format!(
            " Unmet: {}.",
            u.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; ")
        ),
        None => String::new(),
    }
}

/// " Reason: “…”." when the event has one.
fn reason(d: &Value, key: &str) -> String {
    said(&d[key]).map_or_else(String::new, |r| format!(" Reason: {r}."))
}

/// The event's label and sentence.
pub fn event_words(kind: &str, detail: &str) -> (String, String) {
    let d: Value = serde_json::from_str(detail).unwrap_or(Value::Null);
    let (label, text) = match kind {
        "stage" => (
            "Stage",
            format!(
                "Moved from {} to {} (version {}).{}",
                num(&d["from"]),
                num(&d["to"]),
                num(&d["version"]),
                reason(&d, "reason")
            ),
        ),
        "forced_live" => (
            "Live without a green gate",
            format!(
                "An admin moved version {} from {} to {} though the readiness gate was not green.{}{}",
                num(&d["version"]),
                num(&d["from"]),
                num(&d["to"]),
                reason(&d, "reason"),
                unmet(&d)
            ),
        ),
        "champion" => (
            "Champion",
            match d["champion"].as_str() {
                Some(c) => format!("{c} is the champion now; any earlier sign-off was cleared."),
                None => "The champion was removed; any earlier sign-off was cleared.".into(),
            },
        ),
        "sign_off" => (
            "Sign-off",
            format!(
                "Signed off version {} going live.{}",
                num(&d["version"]),
                said(&d["note"]).map_or_else(String::new, |n| format!(" Note: {n}."))
            ),
        ),
        "suite" => (
            "Edge cases",
            format!(
                "The edge-case suite ran on version {}: {} passed, {} failed, {} changed.",
                num(&d["version"]),
                num(&d["passed"]),
                num(&d["failed"]),
                num(&d["changed"])
            ),
        ),
        "threshold" => {
            let target = d["target"].as_str().unwrap_or("?");
            let what = if target == "route" {
                "The route's threshold".to_owned()
            } else {
                format!("{target}'s threshold")
            };
            let then = if d["candidate"] == true {
                format!(
                    "version {} waits as a candidate; version {} stays live until it passes the gate and is signed off",
                    num(&d["version"]),
                    num(&d["active_version"])
                )
            } else {
                format!("version {} is active", num(&d["version"]))
            };
            (
                "Threshold",
                format!(
                    "{what} moved from {} to {}, simulated on {} decided items: {then}.",
                    num(&d["from"]),
                    num(&d["to"]),
                    num(&d["decided_items"])
                ),
            )
        }
        "rollback" => (
            "Version",
            format!(
                "Version {} is active again (was version {}).{}",
                num(&d["to"]),
                num(&d["from"]),
                reason(&d, "reason")
            ),
        ),
        "candidate_live" => (
            "Candidate live",
            format!(
                "Candidate version {} went live through a green gate (was version {}).{}",
                num(&d["to"]),
                num(&d["from"]),
                reason(&d, "reason")
            ),
        ),
        "forced_activation" => (
            "Candidate live without a green gate",
            format!(
                "An admin made candidate version {} live though its gate was not green (was version {}).{}{}",
                num(&d["to"]),
                num(&d["from"]),
                reason(&d, "reason"),
                unmet(&d)
            ),
        ),
        "activate" => (
            "Retrained",
            format!(
                "Retrained: version {} is active (was version {}).",
                num(&d["to"]),
                num(&d["from"])
            ),
        ),
        "guard_paused" => (
            "Paused",
            d["message"]
                .as_str()
                .map_or_else(|| "Automatic acceptance was paused.".into(), |m| format!("{m}.")),
        ),
        "notified" => (
            "Told the team",
            format!(
                "The team was told on {}.",
                d["channel"].as_str().unwrap_or("a channel")
            ),
        ),
        "notify_failed" => (
            "Could not tell the team",
            format!(
                "Telling the team on {} failed: {}.",
                d["channel"].as_str().unwrap_or("a channel"),
                d["error"].as_str().unwrap_or("unknown error")
            ),
        ),
        "review_session" => (
            "Review session",
            format!(
                "Review session {} closed: {} items, {} agree and {} disagree votes, {} decisions.",
                said(&d["title"]).unwrap_or_default(),
                num(&d["items"]),
                num(&d["agree"]),
                num(&d["disagree"]),
                num(&d["decisions"])
            ),
        ),
        other => {
            // An event this page does not know yet: its figures as "key: value", never
            // the raw JSON.
            let words = d
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{}: {}", k.replace('_', " "), num(v)))
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default();
            return (other.replace('_', " "), words);
        }
    };
    (label.to_owned(), text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_read_as_sentences_and_unknown_ones_as_figures() {
        let (label, text) = event_words("sign_off", r#"{"version": 2, "note": "checked the curve"}"#);
        assert_eq!(label, "Sign-off");
        assert_eq!(
            text,
            "Signed off version 2 going live. Note: “checked the curve”."
        );
        let (_, text) = event_words(
            "threshold",
            r#"{"version":2,"candidate":true,"active_version":1,"target":"email","from":0.5,"to":0.97,"decided_items":3}"#,
        );
        assert_eq!(
            text,
            "email's threshold moved from 0.5 to 0.97, simulated on 3 decided items: version 2 waits as a candidate; version 1 stays live until it passes the gate and is signed off."
        );
        let (_, text) = event_words(
            "forced_activation",
            r#"{"from":1,"to":2,"reason":"month-end","unmet":["Sign-off: none"]}"#,
        );
        assert!(
            text.ends_with("Reason: “month-end”. Unmet: Sign-off: none."),
            "{text}"
        );
        let (label, text) = event_words("new_kind", r#"{"some_count": 3, "who": "x"}"#);
        assert_eq!(
            (label.as_str(), text.as_str()),
            ("new kind", "some count: 3; who: x")
        );
        assert!(!text.contains('{'));
    }
}
