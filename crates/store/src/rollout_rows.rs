//! Rows of the rollout: an automation's stage, champion and sign-off, its event log, the
//! decided items that measure it, and the team's edge cases with their runs.

use serde::Serialize;
use tandem_domain::{AutomationId, ItemId, ItemStatus, Millis, Stage, UserId, VersionId};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RolloutState {
    pub automation_id: AutomationId,
    pub stage: Stage,
    pub champion_id: Option<UserId>,
    pub signed_off_by: Option<UserId>,
    /// The version the sign-off was given for; a new version needs a new sign-off.
    pub signed_off_version_id: Option<VersionId>,
    pub signed_off_at: Option<Millis>,
    pub updated_at: Millis,
}

/// A change to an automation's rollout, committed together with its event.
#[derive(Debug, Clone, Default)]
pub struct RolloutUpdate {
    pub stage: Option<Stage>,
    /// `Some(None)` removes the champion.
    pub champion: Option<Option<UserId>>,
    /// `Some(None)` withdraws the sign-off.
    pub sign_off: Option<Option<(UserId, VersionId)>>,
    /// Apply only while the stage is this one (the guard pauses only a live automation,
    /// never one a person moved meanwhile). A mismatch is a conflict.
    pub only_if_stage: Option<Stage>,
}

#[derive(Debug, Clone)]
pub struct NewRolloutEvent {
    pub actor: Option<UserId>,
    /// `stage`, `sign_off`, `champion`, `rollback`, `guard_paused`, `forced_live`...
    pub kind: String,
    /// JSON.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RolloutEvent {
    pub id: i64,
    pub automation_id: AutomationId,
    pub actor_id: Option<UserId>,
    pub actor_name: Option<String>,
    pub kind: String,
    pub detail: String,
    pub created_at: Millis,
}

/// Which decided items to read, newest decision first.
#[derive(Debug, Clone)]
pub struct DecidedFilter {
    pub automation: AutomationId,
    pub version: Option<VersionId>,
    /// Only items that carry this reason code (`shadow_mode` for the shadow evidence).
    pub reason: Option<String>,
    /// Leave out items that a non-live stage sent to the inbox.
    pub live_only: bool,
    pub limit: u32,
}

/// An item a person decided: what the automation said and what was accepted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecidedItem {
    pub id: ItemId,
    pub version_id: Option<VersionId>,
    pub status: ItemStatus,
    pub input: String,
    /// The engine's outcome (JSON).
    pub outcome: Option<String>,
    /// The accepted result (JSON); `None` for a reject.
    pub final_result: Option<String>,
    pub decided_at: Option<Millis>,
    pub decided_by: Option<UserId>,
    /// Seconds the reviewer spent, from the decision's audit event.
    pub seconds: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeCaseStatus {
    Proposed,
    Accepted,
    Declined,
}

impl EdgeCaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeCaseStatus::Proposed => "proposed",
            EdgeCaseStatus::Accepted => "accepted",
            EdgeCaseStatus::Declined => "declined",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "proposed" => Some(EdgeCaseStatus::Proposed),
            "accepted" => Some(EdgeCaseStatus::Accepted),
            "declined" => Some(EdgeCaseStatus::Declined),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewEdgeCase {
    pub automation_id: AutomationId,
    /// The input as a JSON object.
    pub input: String,
    /// Deduplicates: one case per input and automation.
    pub input_hash: String,
    /// The expected result (JSON `{"fields": {...}, "route": ...}`).
    pub expected: String,
    pub note: String,
    /// `manual`, `import` or `correction`.
    pub origin: String,
    pub source_item: Option<ItemId>,
    pub added_by: Option<UserId>,
    /// Cases the champion adds are accepted at once; others wait for them.
    pub status: EdgeCaseStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EdgeCase {
    pub id: i64,
    pub automation_id: AutomationId,
    pub input: String,
    pub expected: String,
    pub note: String,
    pub origin: String,
    pub source_item_id: Option<ItemId>,
    pub status: EdgeCaseStatus,
    pub added_by: Option<UserId>,
    pub added_by_name: Option<String>,
    pub created_at: Millis,
    pub decided_by: Option<UserId>,
    pub decided_at: Option<Millis>,
}

#[derive(Debug, Clone)]
pub struct NewEdgeCaseResult {
    pub edge_case_id: i64,
    pub version_id: VersionId,
    /// `pass`, `fail` or `changed`.
    pub status: String,
    /// What the version produced (JSON).
    pub output: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EdgeCaseResult {
    pub edge_case_id: i64,
    pub version_id: VersionId,
    pub status: String,
    pub output: String,
    pub created_at: Millis,
}

/// A review session's sampled item and why it was picked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionItem {
    pub item_id: ItemId,
    /// `low_confidence`, `high_confidence`, `new_kind` or `disagreement`.
    pub stratum: String,
    pub position: i64,
}

#[derive(Debug, Clone)]
pub struct NewReviewSession {
    pub automation_id: AutomationId,
    pub title: String,
    pub created_by: Option<UserId>,
    pub items: Vec<(ItemId, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewSession {
    pub id: i64,
    pub automation_id: AutomationId,
    pub title: String,
    pub created_by: Option<UserId>,
    pub created_at: Millis,
    pub items: Vec<SessionItem>,
    /// When the session was closed; `None` while it is open.
    pub closed_at: Option<Millis>,
    pub closed_by: Option<UserId>,
    /// The summary kept at closing (JSON, written by the service).
    pub summary: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewSessionNote {
    pub item_id: Option<ItemId>,
    pub user_id: UserId,
    /// `vote`, `comment` or `decision`.
    pub kind: String,
    /// For a vote: `agree` or `disagree` (with the automation's output).
    pub vote: Option<String>,
    /// For a decision: `threshold`, `edge_case`, `rule` or `other`.
    pub action: Option<String>,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionNote {
    pub id: i64,
    pub session_id: i64,
    pub item_id: Option<ItemId>,
    pub user_id: Option<UserId>,
    pub user_name: Option<String>,
    pub kind: String,
    pub vote: Option<String>,
    pub action: Option<String>,
    pub body: String,
    /// For a decision: the version that carries it out, once there is one.
    pub version_id: Option<VersionId>,
    pub created_at: Millis,
}

/// A member's acknowledgement that they read an automation's card.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CardRead {
    pub automation_id: AutomationId,
    pub user_id: UserId,
    /// The version whose card they read.
    pub version_id: Option<VersionId>,
    pub read_at: Millis,
}

/// Closing a review session: by whom, its summary, and the rollout event that records it.
#[derive(Debug, Clone)]
pub struct CloseReviewSession {
    pub session: i64,
    pub by: UserId,
    /// JSON, kept as written.
    pub summary: String,
    pub event: NewRolloutEvent,
}
