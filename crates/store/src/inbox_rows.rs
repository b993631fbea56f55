//! What the exception inbox's store methods take and give: review policies, claims,
//! escalations, notifications, reports of wrong results and reviewer statistics.

use serde::{Deserialize, Serialize};
use tandem_domain::{AutomationId, ItemId, Millis, UserId, WorkspaceId};

/// An automation's `[review]` section as the store keeps it (JSON lists stay text).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewPolicyRow {
    pub workspace_id: WorkspaceId,
    pub automation_id: AutomationId,
    /// `Priority::rank`: 0 low … 3 urgent.
    pub priority: i64,
    pub sla_ms: Option<i64>,
    /// JSON list of e-mail addresses.
    pub escalate_to: String,
    /// JSON list of notification channels.
    pub notify: String,
}

/// Who holds an item, until when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Claim {
    pub item_id: ItemId,
    pub user_id: UserId,
    pub user_name: String,
    pub claimed_at: Millis,
    pub expires_at: Millis,
}

/// The answer to "let me work on this item".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ClaimOutcome {
    /// The caller holds it now (a new claim, or their own renewed).
    Claimed(Claim),
    /// Someone else holds it.
    HeldBy(Claim),
    /// The item is not open any more; nothing to claim.
    NotOpen,
}

/// An open item past its due time that has not been escalated yet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverdueItem {
    pub workspace_id: WorkspaceId,
    pub item_id: ItemId,
    pub automation_id: AutomationId,
    pub due_at: Millis,
}

#[derive(Debug, Clone)]
pub struct NewNotification {
    pub automation_id: Option<AutomationId>,
    /// `digest` or `escalation`.
    pub kind: String,
    /// A description of the channel for people (never a secret URL).
    pub channel: String,
    pub item_ids: Vec<ItemId>,
    pub error: Option<String>,
    /// When the first attempt failed and another will be made: when, and what to send
    /// (the channel and the message, as the service serialises them).
    pub retry: Option<(Millis, String)>,
}

/// Where a notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationStatus {
    Sent,
    /// Failed so far; another attempt is due at `next_attempt_at`.
    Retrying,
    /// Failed every attempt (or could not be retried).
    Failed,
}

impl NotificationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationStatus::Sent => "sent",
            NotificationStatus::Retrying => "retrying",
            NotificationStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<NotificationStatus> {
        match s {
            "sent" => Some(NotificationStatus::Sent),
            "retrying" => Some(NotificationStatus::Retrying),
            "failed" => Some(NotificationStatus::Failed),
            _ => None,
        }
    }
}

/// A notification as people see it (never its payload, which may hold a webhook URL).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotificationRow {
    pub id: i64,
    pub automation_id: Option<AutomationId>,
    pub kind: String,
    pub channel: String,
    pub item_ids: Vec<ItemId>,
    pub status: NotificationStatus,
    pub attempts: i64,
    /// The last failed attempt's error; cleared when a retry succeeds.
    pub error: Option<String>,
    pub created_at: Millis,
    pub last_attempt_at: Option<Millis>,
    pub next_attempt_at: Option<Millis>,
}

/// A notification whose next attempt is due, with what to send.
#[derive(Debug, Clone, PartialEq)]
pub struct DueNotification {
    pub id: i64,
    pub attempts: i64,
    pub next_attempt_at: Millis,
    pub payload: String,
}

#[derive(Debug, Clone)]
pub struct NewWrongReport {
    pub item_id: ItemId,
    pub reporter_id: Option<UserId>,
    /// A person's name, or "API"/"link" for a system.
    pub reporter: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EscapedError {
    pub id: i64,
    pub item_id: ItemId,
    pub automation_id: AutomationId,
    pub reporter_id: Option<UserId>,
    pub reporter: String,
    pub reason: String,
    pub created_at: Millis,
}

/// One review decision, for reviewer statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionStat {
    pub actor_id: UserId,
    pub actor_name: String,
    /// approved, corrected, rejected.
    pub kind: String,
    pub seconds: Option<f64>,
    pub created_at: Millis,
}
