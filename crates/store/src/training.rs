//! Rows for training data that grows in use: corrections kept as examples, and the
//! evaluation stored with a retrained candidate version.

use serde::Serialize;
use tandem_domain::{AutomationId, ItemId, Millis, UserId, VersionId, WorkspaceId};

use crate::NewArtifact;

#[derive(Debug, Clone, PartialEq)]
pub struct NewTrainingExample {
    pub automation_id: AutomationId,
    /// The item whose correction taught it.
    pub item_id: Option<ItemId>,
    /// `route` (`{"text", "label"}`) or `document` (`{"id", "text", "fields"}`).
    pub kind: String,
    /// The example as JSON, in the same shape as a training file's line.
    pub example: String,
    pub created_by: Option<UserId>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainingExample {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub automation_id: AutomationId,
    pub item_id: Option<ItemId>,
    pub kind: String,
    pub example: String,
    pub created_by: Option<UserId>,
    pub created_at: Millis,
}

/// A retrained version: the same definition with newly trained models, kept beside the
/// active one until someone activates it.
#[derive(Debug, Clone)]
pub struct NewCandidate {
    pub definition: String,
    pub content_hash: String,
    pub artifacts: Vec<NewArtifact>,
    pub created_by: Option<UserId>,
    /// The version it was compared with (the one active when it was trained).
    pub compared_with: Option<VersionId>,
    /// The comparison, as JSON.
    pub evaluation: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionEvaluation {
    pub version_id: VersionId,
    pub compared_version_id: Option<VersionId>,
    pub report: String,
    pub created_at: Millis,
}
