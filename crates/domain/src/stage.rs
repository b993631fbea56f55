//! Where an automation is in its rollout. Only a live automation accepts results on its
//! own; in every other stage each item goes to the inbox and nothing is delivered until a
//! person decides it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Being set up: items can be tried, everything goes to the inbox.
    Draft,
    /// Runs on real input, delivers nothing itself; every item is reviewed and the
    /// reviewers' decisions measure how often the automation agrees with people.
    Shadow,
    /// Accepts results inside its reliable range on its own.
    Live,
    /// Automatic acceptance is off (by a person or by the correction-rate guard):
    /// everything goes to the inbox.
    Paused,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Stage::Draft, Stage::Shadow, Stage::Live, Stage::Paused];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Draft => "draft",
            Stage::Shadow => "shadow",
            Stage::Live => "live",
            Stage::Paused => "paused",
        }
    }

    /// Whether results may be accepted and delivered without a person.
    pub fn accepts_automatically(self) -> bool {
        self == Stage::Live
    }

    /// The reason code an item carries when this stage sent it to the inbox.
    pub fn reason_code(self) -> Option<&'static str> {
        match self {
            Stage::Draft => Some("draft_mode"),
            Stage::Shadow => Some("shadow_mode"),
            Stage::Paused => Some("paused"),
            Stage::Live => None,
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Stage {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stage::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown stage {s:?}: expected one of draft, shadow, live, paused"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_live_accepts_on_its_own() {
        for s in Stage::ALL {
            assert_eq!(s.accepts_automatically(), s == Stage::Live);
            assert_eq!(s.reason_code().is_none(), s == Stage::Live);
            assert_eq!(s.as_str().parse::<Stage>().unwrap(), s);
        }
        assert!(
            "sideways"
                .parse::<Stage>()
                .unwrap_err()
                .contains("draft, shadow, live, paused")
        );
    }
}
