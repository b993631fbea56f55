//! Rows for scheduled work: one claimed run of a periodic task in a workspace.

use serde::Serialize;
use tandem_domain::{Millis, WorkspaceId};

/// A run of a periodic task for one period, claimed by one worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduledRun {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    /// The task's name, e.g. `weekly_digest`.
    pub kind: String,
    /// Which period this run is for, e.g. the start of the week in milliseconds.
    pub period_key: String,
    /// The worker that holds (or last held) the claim.
    pub claimed_by: String,
    /// Until when the claim is exclusive; an unfinished run past it may be taken over.
    pub lease_until: Millis,
    /// Claims including this one (more than one when a claimer died mid-run).
    pub attempts: i64,
    pub created_at: Millis,
    pub finished_at: Option<Millis>,
    /// What the task reported when it finished (free text for people).
    pub outcome: Option<String>,
}
