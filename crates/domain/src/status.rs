//! Where an item is in its life.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// Accepted and durable; waiting for the engine.
    Queued,
    /// Outside the reliable range: waiting in the exception inbox.
    NeedsReview,
    /// Inside the reliable range: accepted without a person.
    AutoAccepted,
    /// A reviewer approved the automation's result as it was.
    Approved,
    /// A reviewer changed fields or the route, then accepted.
    Corrected,
    /// A reviewer rejected the item; nothing is delivered.
    Rejected,
    /// The engine could not process the item (after retries); shown in the inbox.
    Failed,
}

impl ItemStatus {
    pub const ALL: [ItemStatus; 7] = [
        ItemStatus::Queued,
        ItemStatus::NeedsReview,
        ItemStatus::AutoAccepted,
        ItemStatus::Approved,
        ItemStatus::Corrected,
        ItemStatus::Rejected,
        ItemStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Queued => "queued",
            ItemStatus::NeedsReview => "needs_review",
            ItemStatus::AutoAccepted => "auto_accepted",
            ItemStatus::Approved => "approved",
            ItemStatus::Corrected => "corrected",
            ItemStatus::Rejected => "rejected",
            ItemStatus::Failed => "failed",
        }
    }

    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            ItemStatus::Queued => "Queued",
            ItemStatus::NeedsReview => "Needs review",
            ItemStatus::AutoAccepted => "Accepted automatically",
            ItemStatus::Approved => "Approved",
            ItemStatus::Corrected => "Corrected",
            ItemStatus::Rejected => "Rejected",
            ItemStatus::Failed => "Failed",
        }
    }

    /// Whether a reviewer can still decide the item.
    pub fn is_open(self) -> bool {
        matches!(self, ItemStatus::NeedsReview | ItemStatus::Failed)
    }
}

impl std::str::FromStr for ItemStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ItemStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown item status {s:?}"))
    }
}

impl std::fmt::Display for ItemStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
