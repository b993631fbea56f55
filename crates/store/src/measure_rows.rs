//! Rows for measurement: the raw facts of a week, stored rollups, work done by hand, notes
//! on weeks, share links and reliable-range checks.

use serde::Serialize;
use tandem_domain::{AutomationId, ItemId, ItemStatus, Millis, UserId, WorkspaceId};

/// Everything that happened in one week (`[from, to)`) for one automation, or for every
/// automation of the workspace. Raw facts; the service turns them into figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WeekFacts {
    /// Items created in the week.
    pub items_in: i64,
    /// Items the engine finished in the week, and how many of them it accepted alone.
    pub processed: i64,
    pub auto_accepted: i64,
    /// Processed items the engine found out of scope.
    pub out_of_scope: i64,
    /// Each review decision made in the week: its outcome and the seconds recorded on it.
    pub decisions: Vec<(ItemStatus, Option<f64>)>,
    /// Automatic acceptances reported wrong in the week.
    pub escaped: i64,
    /// Of the week's decisions, the approvals and corrections of items reported wrong
    /// before: their result already counted as Tandem's when it was accepted automatically.
    pub decided_after_report: i64,
    /// For each item first touched by a reviewer in the week: seconds from entering the
    /// inbox to that touch.
    pub first_touch_seconds: Vec<f64>,
    /// Exceptions still open when the week ended, and when the oldest of them arrived.
    pub open_at_end: i64,
    pub oldest_open_at: Option<Millis>,
    /// Items the team said it did by hand outside Tandem.
    pub hand_outside: i64,
}

/// How a piece of work by hand was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HandWorkKind {
    /// A reviewer handled an item without the automation's help while the time was kept:
    /// the measured baseline.
    Measured,
    /// The team did an item outside Tandem: an adoption signal.
    Outside,
}

impl HandWorkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HandWorkKind::Measured => "measured",
            HandWorkKind::Outside => "outside",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "measured" => Some(HandWorkKind::Measured),
            "outside" => Some(HandWorkKind::Outside),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewHandWork {
    pub automation_id: AutomationId,
    pub item_id: Option<ItemId>,
    pub user_id: Option<UserId>,
    pub kind: HandWorkKind,
    pub seconds: Option<f64>,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HandWork {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub automation_id: AutomationId,
    pub item_id: Option<ItemId>,
    pub user_id: Option<UserId>,
    pub kind: HandWorkKind,
    pub seconds: Option<f64>,
    pub note: String,
    pub created_at: Millis,
}

/// A note on a week. `automation_id` None: about the whole workspace.
#[derive(Debug, Clone)]
pub struct NewNote {
    pub automation_id: Option<AutomationId>,
    pub week_start: Millis,
    /// When the thing the note is about happened.
    pub at: Millis,
    /// `champion` for a person's note; otherwise what raised it (`volume_spike`, ...).
    pub kind: String,
    pub body: String,
    pub author_id: Option<UserId>,
    /// An automatic note with a key already stored is not added again.
    pub dedup_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    pub id: i64,
    pub automation_id: Option<AutomationId>,
    pub week_start: Millis,
    pub at: Millis,
    pub kind: String,
    pub body: String,
    pub author_id: Option<UserId>,
    pub author_name: Option<String>,
    pub created_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShareLink {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    /// None: the whole workspace's check-in.
    pub automation_id: Option<AutomationId>,
    pub label: String,
    /// Whether the outside page shows example inputs (item text): off unless chosen.
    pub include_examples: bool,
    pub created_by: Option<UserId>,
    pub created_at: Millis,
    pub revoked_at: Option<Millis>,
}

/// A share link to make: only the token's hash is kept.
#[derive(Debug, Clone)]
pub struct NewShareLink {
    pub automation: Option<AutomationId>,
    pub token_hash: String,
    pub label: String,
    pub include_examples: bool,
    pub created_by: Option<UserId>,
}

/// One reliable-range check: the week's stream against the reference period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftCheck {
    pub automation_id: AutomationId,
    pub week_start: Millis,
    pub psi: f64,
    pub oos_rate: f64,
    pub reference_oos_rate: f64,
    pub items: i64,
    pub drifted: bool,
    /// JSON: the bins and their shares.
    pub detail: String,
    pub created_at: Millis,
}

/// What `/metrics` reports for one workspace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsSnapshot {
    /// (automation slug, item status, items)
    pub items: Vec<(String, String, i64)>,
    /// (delivery status, deliveries)
    pub deliveries: Vec<(String, i64)>,
    /// (job kind, jobs queued or running)
    pub jobs: Vec<(String, i64)>,
    /// Milliseconds from arrival to processed, for items processed since the given time.
    pub latencies_ms: Vec<i64>,
}
