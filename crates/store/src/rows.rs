//! What the store takes in (`New…`) and gives back (rows). Plain data; JSON documents stay
//! text here and are parsed by the service, which knows their shape.

use serde::Serialize;
use tandem_domain::{
    AutomationId, DeliveryId, ItemId, ItemStatus, JobId, Millis, Role, UserId, VersionId, WorkspaceId,
};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub slug: String,
    pub name: String,
    pub created_at: Millis,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: UserId,
    pub workspace_id: WorkspaceId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub created_at: Millis,
    /// When an admin disabled the account: it cannot sign in, and its sessions and tokens
    /// do not work, until enabled again.
    pub disabled_at: Option<Millis>,
}

/// One change an admin makes to a person's account ([`crate::Store::change_user`]).
#[derive(Debug, Clone, PartialEq)]
pub enum UserChange {
    Role(Role),
    /// A new password hash; the person's sessions end (their tokens stay).
    Password(String),
    /// Sessions end at once; tokens stop working until the account is enabled again.
    Disable,
    Enable,
    /// The row stays for the names on past decisions, but the person is gone from lists,
    /// cannot sign in, their sessions end and their tokens are revoked. The e-mail is
    /// freed, so the same address can be added again as a new person.
    Remove,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub token_hash: String,
    pub csrf_token: String,
    pub expires_at: Millis,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: Millis,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    /// The owner's e-mail, for listing.
    pub user_email: String,
    pub name: String,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
    /// After this the token answers 401; `None` never expires.
    pub expires_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Automation {
    pub id: AutomationId,
    pub workspace_id: WorkspaceId,
    pub slug: String,
    pub name: String,
    pub active_version_id: Option<VersionId>,
    pub created_at: Millis,
}

#[derive(Debug, Clone)]
pub struct NewArtifact {
    /// What the bytes are, e.g. `router` or `extractor`.
    pub kind: String,
    pub bytes: Vec<u8>,
    /// A JSON summary for people (training size, evaluation figures).
    pub summary: String,
}

#[derive(Debug, Clone)]
pub struct NewVersion {
    pub slug: String,
    pub name: String,
    /// The definition as written (TOML).
    pub definition: String,
    /// Hash of the definition and of every training file it names.
    pub content_hash: String,
    pub artifacts: Vec<NewArtifact>,
    pub created_by: Option<UserId>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Version {
    pub id: VersionId,
    pub workspace_id: WorkspaceId,
    pub automation_id: AutomationId,
    pub number: i64,
    pub definition: String,
    pub content_hash: String,
    pub created_by: Option<UserId>,
    pub created_at: Millis,
}

#[derive(Debug, Clone)]
pub struct SavedVersion {
    pub automation: Automation,
    pub version: Version,
    pub created: bool,
}

#[derive(Debug, Clone)]
pub struct Artifact {
    pub kind: String,
    pub bytes: Vec<u8>,
    pub summary: String,
}

#[derive(Debug, Clone)]
pub struct NewItem {
    /// The validated input as a JSON object.
    pub input: String,
    /// A short plain-text excerpt for lists, so a list never loads whole inputs.
    pub preview: String,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Inserted {
    pub item: Item,
    pub created: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub id: ItemId,
    pub workspace_id: WorkspaceId,
    pub automation_id: AutomationId,
    pub idempotency_key: Option<String>,
    pub input: String,
    pub status: ItemStatus,
    pub version_id: Option<VersionId>,
    /// The engine's outcome (JSON), once processed.
    pub outcome: Option<String>,
    /// The accepted result (JSON) that was or will be delivered.
    pub final_result: Option<String>,
    /// The lowest confidence in the outcome.
    pub confidence: Option<f64>,
    /// Bumped each time the accepted result changes; deliveries are per revision.
    pub revision: i64,
    pub created_at: Millis,
    pub processed_at: Option<Millis>,
    pub decided_at: Option<Millis>,
    pub decided_by: Option<UserId>,
}

/// Which items to list. The default is the exception inbox: open items, oldest first.
#[derive(Debug, Clone)]
pub struct ItemFilter {
    pub statuses: Vec<ItemStatus>,
    pub automation: Option<AutomationId>,
    pub reason: Option<String>,
    pub newest_first: bool,
    /// The inbox's order: by age (the default), priority or due time.
    pub sort: ItemSort,
    /// Only items due at or before this time (the "overdue" filter).
    pub due_before: Option<Millis>,
    /// Only items the engine finished after this time (new arrivals, for digests).
    pub processed_after: Option<Millis>,
    pub limit: u32,
    /// Keyset paging: only the items after (or before) this position in the list's
    /// order. A position, not an offset, so a page costs the same however deep it is
    /// and items decided meanwhile do not shift the next page.
    pub from: Option<PageFrom>,
}

/// Where a page of items starts: just after the last row of the page before, or (going
/// back) just before the first row of the page after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageFrom {
    After(ItemCursor),
    Before(ItemCursor),
}

/// A row's position in every order the item lists use: its sort keys and its id. It
/// travels in page addresses as `created.id.priority.due` (`due` is `n` for none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemCursor {
    pub created_at: Millis,
    pub id: ItemId,
    pub priority: i64,
    pub due_at: Option<Millis>,
}

impl ItemCursor {
    pub fn of(row: &ItemSummary) -> ItemCursor {
        ItemCursor {
            created_at: row.created_at,
            id: row.id,
            priority: row.priority,
            due_at: row.due_at,
        }
    }

    pub fn encode(&self) -> String {
        let due = self.due_at.map_or_else(|| "n".to_owned(), |d| d.to_string());
        format!("{}.{}.{}.{due}", self.created_at, self.id.0, self.priority)
    }

    /// `None` for anything `encode` did not make.
    pub fn parse(s: &str) -> Option<ItemCursor> {
        let mut parts = s.split('.');
        let created_at = parts.next()?.parse().ok()?;
        let id = ItemId(parts.next()?.parse().ok()?);
        let priority = parts.next()?.parse().ok()?;
        let due_at = match parts.next()? {
            "n" => None,
            d => Some(d.parse().ok()?),
        };
        parts.next().is_none().then_some(ItemCursor {
            created_at,
            id,
            priority,
            due_at,
        })
    }
}

/// How the inbox is ordered. Ties fall back to age, oldest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemSort {
    #[default]
    Age,
    /// Most urgent automation first.
    Priority,
    /// Earliest due time first; items without a due time last.
    Due,
}

impl ItemSort {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemSort::Age => "age",
            ItemSort::Priority => "priority",
            ItemSort::Due => "due",
        }
    }

    pub fn parse(s: &str) -> Option<ItemSort> {
        match s {
            "age" | "" => Some(ItemSort::Age),
            "priority" => Some(ItemSort::Priority),
            "due" => Some(ItemSort::Due),
            _ => None,
        }
    }
}

impl Default for ItemFilter {
    fn default() -> Self {
        Self {
            statuses: vec![ItemStatus::NeedsReview, ItemStatus::Failed],
            automation: None,
            reason: None,
            newest_first: false,
            sort: ItemSort::Age,
            due_before: None,
            processed_after: None,
            limit: 50,
            from: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemSummary {
    pub id: ItemId,
    pub automation_id: AutomationId,
    pub automation_slug: String,
    pub automation_name: String,
    pub status: ItemStatus,
    pub confidence: Option<f64>,
    pub created_at: Millis,
    /// The first 200 characters of the input, for the list.
    pub preview: String,
    pub reasons: Vec<String>,
    /// The automation's priority rank (0 low … 3 urgent; 1 when it sets none).
    pub priority: i64,
    /// When a person should have decided it, if the automation has an SLA.
    pub due_at: Option<Millis>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InboxCounts {
    pub open: i64,
    /// (automation slug, automation name, open items)
    pub by_automation: Vec<(String, String, i64)>,
    /// (reason code, open items)
    pub by_reason: Vec<(String, i64)>,
    pub oldest_open_at: Option<Millis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Process,
    Deliver,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Process => "process",
            JobKind::Deliver => "deliver",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub workspace_id: WorkspaceId,
    pub kind: JobKind,
    pub item_id: Option<ItemId>,
    pub delivery_id: Option<DeliveryId>,
    /// Attempts including this one.
    pub attempts: i64,
    pub max_attempts: i64,
}

#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub destination_index: i64,
    /// A description for people ("webhook https://…"); never a secret.
    pub destination: String,
    pub payload: String,
}

/// The engine's result for one item, ready to store.
#[derive(Debug, Clone)]
pub struct Processed {
    pub job_id: JobId,
    pub workspace_id: WorkspaceId,
    pub item_id: ItemId,
    pub version_id: VersionId,
    pub status: ItemStatus,
    pub outcome: String,
    pub confidence: Option<f64>,
    pub reason_codes: Vec<String>,
    /// For an automatically accepted item: the result to deliver, and where.
    pub final_result: Option<String>,
    pub deliveries: Vec<NewDelivery>,
}

#[derive(Debug, Clone)]
pub struct DecisionRecord {
    pub item_id: ItemId,
    pub actor: UserId,
    pub status: ItemStatus,
    /// The accepted result; `None` for a reject.
    pub final_result: Option<String>,
    /// The event's before/after documents and detail (JSON).
    pub before: Option<String>,
    pub after: Option<String>,
    pub detail: String,
    pub seconds: Option<f64>,
    pub deliveries: Vec<NewDelivery>,
    /// The item text's MinHash band keys (`engine::similarity`), kept so that later items
    /// can find this decided one among their most similar; empty to leave it unindexed.
    pub similar_keys: Vec<i64>,
}

/// An item processed (and perhaps decided) elsewhere, loaded as it is by
/// `Store::load_items`: no job, no delivery.
#[derive(Debug, Clone)]
pub struct LoadedItem {
    pub input: String,
    pub preview: String,
    pub status: ItemStatus,
    pub version_id: Option<VersionId>,
    pub outcome: Option<String>,
    pub final_result: Option<String>,
    pub confidence: Option<f64>,
    pub reason_codes: Vec<String>,
    pub created_at: Millis,
    pub processed_at: Option<Millis>,
    pub decision: Option<LoadedDecision>,
}

/// How a loaded item was decided: its audit event and its similarity keys.
#[derive(Debug, Clone)]
pub struct LoadedDecision {
    pub decided_by: UserId,
    pub decided_at: Millis,
    pub before: Option<String>,
    pub detail: String,
    pub similar_keys: Vec<i64>,
}

/// A decided item found by its band keys, with how it was decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecidedNeighbour {
    pub id: ItemId,
    pub status: ItemStatus,
    pub input: String,
    pub preview: String,
    pub decided_at: Option<Millis>,
    pub decided_by: Option<String>,
    /// The decision event's detail (JSON: corrections, reason), when there is one.
    pub detail: Option<String>,
}

/// A stretch of a workspace's item ids, `bottom..=top`, walked by the similarity backfill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BackfillStretch {
    pub top: i64,
    pub bottom: i64,
}

/// The next stretch of the similarity backfill and the items in it that need keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimilarBackfillBatch {
    pub stretch: BackfillStretch,
    /// The items of the stretch a person decided, newest first: (id, input JSON).
    pub items: Vec<(ItemId, String)>,
    /// Item ids left to walk below this stretch.
    pub ids_left: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEvent {
    pub id: i64,
    pub item_id: Option<ItemId>,
    pub actor_id: Option<UserId>,
    pub actor_name: Option<String>,
    pub kind: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub detail: String,
    pub seconds: Option<f64>,
    pub created_at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(DeliveryStatus::Pending),
            "delivered" => Some(DeliveryStatus::Delivered),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    pub id: DeliveryId,
    pub workspace_id: WorkspaceId,
    pub item_id: ItemId,
    pub revision: i64,
    pub destination_index: i64,
    pub destination: String,
    /// Stable across retries: the receiver de-duplicates on it.
    pub delivery_key: String,
    pub payload: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: Millis,
    pub delivered_at: Option<Millis>,
}

#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    pub item: Option<ItemId>,
    pub limit: u32,
}
