//! The `[review]` section of a definition: how urgent this automation's exceptions are,
//! how long a person has to decide one (the SLA), who hears about an overdue one, and
//! where notifications go.
//!
//! ```toml
//! [review]
//! priority = "high"            # low, normal, high, urgent
//! sla_minutes = 240            # each item is due this long after it arrives
//! escalate_to = ["lead@example.com"]
//!
//! [[review.notify]]
//! type = "slack"               # a Slack-compatible incoming webhook
//! url = "https://hooks.slack.com/services/..."
//!
//! [[review.notify]]
//! type = "email"
//! to = ["ops@example.com"]
//! ```

use serde::{Deserialize, Serialize};

use super::walk::{Table, Walker, join};

const REVIEW_KEYS: &[&str] = &["priority", "sla_minutes", "escalate_to", "notify"];
const NOTIFY_KEYS: &[&str] = &["type", "url", "to"];

/// How urgent an automation's exceptions are; the inbox can sort by it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    /// A number that sorts like the priority (higher is more urgent), for storage.
    pub fn rank(self) -> i64 {
        match self {
            Priority::Low => 0,
            Priority::Normal => 1,
            Priority::High => 2,
            Priority::Urgent => 3,
        }
    }

    pub fn from_rank(rank: i64) -> Priority {
        match rank {
            i64::MIN..=0 => Priority::Low,
            1 => Priority::Normal,
            2 => Priority::High,
            _ => Priority::Urgent,
        }
    }

    pub fn parse(s: &str) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// Where a notification about exceptions goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NotifyChannel {
    /// A Slack-compatible incoming webhook: a POST of `{"text": ...}`.
    Slack { url: String },
    /// E-mail through the server's SMTP relay.
    Email { to: Vec<String> },
}

impl NotifyChannel {
    /// A short description for people; a webhook URL is a secret, so only its host shows.
    pub fn describe(&self) -> String {
        match self {
            NotifyChannel::Slack { url } => {
                let host = url
                    .split("://")
                    .nth(1)
                    .and_then(|rest| rest.split('/').next())
                    .unwrap_or("?");
                format!("Slack webhook at {host}")
            }
            NotifyChannel::Email { to } => format!("e-mail to {}", to.join(", ")),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReviewPolicy {
    pub priority: Priority,
    /// Minutes a person has to decide an item once it arrives; none means no due time.
    pub sla_minutes: Option<u32>,
    /// E-mail addresses of the people an overdue item escalates to.
    pub escalate_to: Vec<String>,
    pub notify: Vec<NotifyChannel>,
}

impl ReviewPolicy {
    /// The SLA in milliseconds, when there is one.
    pub fn sla_ms(&self) -> Option<i64> {
        self.sla_minutes.map(|m| i64::from(m) * 60_000)
    }
}

fn looks_like_email(s: &str) -> bool {
    let mut parts = s.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(local), Some(domain), None) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.contains(char::is_whitespace)
        }
        _ => false,
    }
}

pub(super) fn parse_review(w: &mut Walker<'_>, top: &Table<'_>) -> ReviewPolicy {
    let Some(t) = w.table(top, "review", "") else {
        return ReviewPolicy::default();
    };
    let table_at = Walker::offset_of(top, "review").unwrap_or(0);
    w.check_keys(t, REVIEW_KEYS, "review");
    let priority = match w.string(t, "priority", "review") {
        None => Priority::Normal,
        Some(p) => Priority::parse(&p).unwrap_or_else(|| {
            let at = Walker::offset_of(t, "priority").unwrap_or(table_at);
            w.error_at(
                at,
                "review.priority",
                format!("unknown priority {p:?}; expected low, normal, high or urgent"),
            );
            Priority::Normal
        }),
    };
    // An SLA up to a year; a zero SLA would make every item overdue on arrival.
    let sla_minutes = w
        .number(t, "sla_minutes", "review", 1.0, 525_600.0)
        .map(|n| n as u32);
    let escalate_to = w.string_list(t, "escalate_to", "review");
    for (i, e) in escalate_to.iter().enumerate() {
        if !looks_like_email(e) {
            let at = Walker::offset_of(t, "escalate_to").unwrap_or(table_at);
            w.error_at(
                at,
                &format!("review.escalate_to[{i}]"),
                format!("{e:?} is not an e-mail address"),
            );
        }
    }
    if !escalate_to.is_empty() && sla_minutes.is_none() {
        let at = Walker::offset_of(t, "escalate_to").unwrap_or(table_at);
        w.error_at(
            at,
            "review.escalate_to",
            "escalation needs a due time: add sla_minutes = N",
        );
    }
    let mut notify = Vec::new();
    for (i, (at, n)) in w.tables(t, "notify", "review").into_iter().enumerate() {
        let path = format!("review.notify[{i}]");
        w.check_keys(n, NOTIFY_KEYS, &path);
        match w.required_string(n, "type", &path, at).as_deref() {
            Some("slack") => {
                let Some(url) = w.required_string(n, "url", &path, at) else {
                    continue;
                };
                if !(url.starts_with("http://") || url.starts_with("https://"))
                    || url.len() < 10
                    || url.contains(char::is_whitespace)
                {
                    let uat = Walker::offset_of(n, "url").unwrap_or(at);
                    w.error_at(
                        uat,
                        &join(&path, "url"),
                        format!("{url:?} is not an http:// or https:// URL"),
                    );
                }
                notify.push(NotifyChannel::Slack { url });
            }
            Some("email") => {
                let to = w.string_list(n, "to", &path);
                let tat = Walker::offset_of(n, "to").unwrap_or(at);
                if to.is_empty() {
                    w.error_at(
                        tat,
                        &join(&path, "to"),
                        "give at least one address: to = [\"ops@example.com\"]",
                    );
                }
                for (j, addr) in to.iter().enumerate() {
                    if !looks_like_email(addr) {
                        w.error_at(
                            tat,
                            &format!("{path}.to[{j}]"),
                            format!("{addr:?} is not an e-mail address"),
                        );
                    }
                }
                notify.push(NotifyChannel::Email { to });
            }
            Some(other) => {
                let tat = Walker::offset_of(n, "type").unwrap_or(at);
                w.error_at(
                    tat,
                    &join(&path, "type"),
                    format!("unknown notification type {other:?}; expected slack or email"),
                );
            }
            None => {}
        }
    }
    ReviewPolicy {
        priority,
        sla_minutes,
        escalate_to,
        notify,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AutomationDef;

    const BASE: &str = "name = \"X\"\nslug = \"x\"\n[[fields]]\nname = \"e\"\ntype = \"email\"\n";

    #[test]
    fn a_complete_review_section() {
        let src = format!(
            "{BASE}[review]\npriority = \"urgent\"\nsla_minutes = 90\nescalate_to = [\"lead@acme.io\"]\n\
             [[review.notify]]\ntype = \"slack\"\nurl = \"http://127.0.0.1:9/hook\"\n\
             [[review.notify]]\ntype = \"email\"\nto = [\"ops@acme.io\"]\n"
        );
        let def = AutomationDef::parse(&src).unwrap();
        assert_eq!(def.review.priority, Priority::Urgent);
        assert_eq!(def.review.sla_ms(), Some(90 * 60_000));
        assert_eq!(def.review.escalate_to, vec!["lead@acme.io"]);
        assert_eq!(def.review.notify.len(), 2);
        assert_eq!(def.review.notify[0].describe(), "Slack webhook at 127.0.0.1:9");
    }

    #[test]
    fn no_section_means_normal_priority_and_no_due_time() {
        let def = AutomationDef::parse(BASE).unwrap();
        assert_eq!(def.review, ReviewPolicy::default());
        assert_eq!(def.review.sla_ms(), None);
    }

    #[test]
    fn errors_have_lines_and_columns() {
        let src = format!(
            "{BASE}[review]\npriority = \"asap\"\nsla_minutes = 0\nescalate_to = [\"nobody\"]\nwhen = 1\n\
             [[review.notify]]\ntype = \"pager\"\n[[review.notify]]\ntype = \"email\"\nto = []\n"
        );
        let errs: Vec<String> = AutomationDef::parse(&src)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        let all = errs.join("\n");
        assert!(
            all.contains("line 7, column 12: review.priority: unknown priority \"asap\""),
            "{all}"
        );
        assert!(
            all.contains("line 8, column 15: review.sla_minutes: expected a number from 1"),
            "{all}"
        );
        assert!(
            all.contains("review.escalate_to[0]: \"nobody\" is not an e-mail address"),
            "{all}"
        );
        assert!(all.contains("review.when: unknown key"), "{all}");
        assert!(
            all.contains("review.notify[0].type: unknown notification type \"pager\""),
            "{all}"
        );
        assert!(
            all.contains("review.notify[1].to: give at least one address"),
            "{all}"
        );
    }
}
