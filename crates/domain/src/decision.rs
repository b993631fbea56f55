//! One action decides an item in the exception inbox: approve, correct or reject.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionAction {
    Approve,
    Correct,
    Reject,
}

impl DecisionAction {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionAction::Approve => "approve",
            DecisionAction::Correct => "correct",
            DecisionAction::Reject => "reject",
        }
    }
}

impl std::str::FromStr for DecisionAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "approve" => Ok(DecisionAction::Approve),
            "correct" => Ok(DecisionAction::Correct),
            "reject" => Ok(DecisionAction::Reject),
            other => Err(format!(
                "unknown action {other:?}: expected approve, correct or reject"
            )),
        }
    }
}

/// What a reviewer submitted. For a correction, `fields` holds only the fields the
/// reviewer changed (as typed; the service normalises them by the field's kind) and
/// `route` the chosen route when it changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub action: DecisionAction,
    #[serde(default)]
    pub fields: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub route: Option<String>,
    /// Why an item was rejected (required for a reject), or a note on a correction.
    #[serde(default)]
    pub reason: Option<String>,
    /// Seconds the reviewer spent on the item, measured by the page that sent it.
    #[serde(default)]
    pub seconds: Option<f64>,
}
