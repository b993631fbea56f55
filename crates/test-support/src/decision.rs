//! Decisions as the tests write them, so a test says what was decided and not every
//! field of [`Decision`]: `approve()`, `correct([("email", json!("a@x.io"))])` and
//! `reject("spam")`, with struct update for the rest
//! (`Decision { seconds: Some(30.0), ..approve() }`).

use tandem_domain::{Decision, DecisionAction};

/// Approve what the automation found, with no time measured.
pub fn approve() -> Decision {
    decision(DecisionAction::Approve)
}

/// Correct the named fields to the values given.
pub fn correct<'a>(fields: impl IntoIterator<Item = (&'a str, serde_json::Value)>) -> Decision {
    Decision {
        fields: fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        ..decision(DecisionAction::Correct)
    }
}

/// Reject, giving `reason` (a reject needs one).
pub fn reject(reason: &str) -> Decision {
    Decision {
        reason: Some(reason.to_owned()),
        ..decision(DecisionAction::Reject)
    }
}

fn decision(action: DecisionAction) -> Decision {
    Decision {
        action,
        fields: Default::default(),
        route: None,
        reason: None,
        seconds: None,
    }
}
