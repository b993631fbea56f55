//! From database rows to the store's row types. Column lists live next to the mapping
//! that reads them, so a query and its decoder cannot disagree about the order.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::*;
use tandem_domain::ItemStatus;

pub(super) const USER_COLUMNS: &str =
    "u.id, u.workspace_id, u.email, u.name, u.role, u.created_at, u.disabled_at";

pub(super) fn user(row: &AnyRow) -> Result<User> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: UserId(row.try_get("id")?),
        workspace_id: WorkspaceId(row.try_get("workspace_id")?),
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: role.parse().map_err(StoreError::Corrupt)?,
        created_at: row.try_get("created_at")?,
        disabled_at: row.try_get("disabled_at")?,
    })
}

pub(super) const API_TOKEN_COLUMNS: &str = "t.id, t.workspace_id, t.user_id, u.email AS user_email, t.name, \
     t.created_at, t.last_used_at, t.expires_at, t.revoked_at";

pub(super) fn api_token(row: &AnyRow) -> Result<ApiToken> {
    Ok(ApiToken {
        id: row.try_get("id")?,
        workspace_id: WorkspaceId(row.try_get("workspace_id")?),
        user_id: UserId(row.try_get("user_id")?),
        user_email: row.try_get("user_email")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

pub(super) fn workspace(row: &AnyRow) -> Result<Workspace> {
    Ok(Workspace {
        id: WorkspaceId(row.try_get("id")?),
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) const AUTOMATION_COLUMNS: &str = "id, workspace_id, slug, name, active_version_id, created_at";

pub(super) fn automation(row: &AnyRow) -> Result<Automation> {
    Ok(Automation {
        id: AutomationId(row.try_get("id")?),
        workspace_id: WorkspaceId(row.try_get("workspace_id")?),
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        active_version_id: row.try_get::<Option<i64>, _>("active_version_id")?.map(VersionId),
        created_at: row.try_get("created_at")?,
    })
}

pub(super) const VERSION_COLUMNS: &str =
    "id, workspace_id, automation_id, number, definition, content_hash, created_by, created_at";

pub(super) fn version(row: &AnyRow) -> Result<Version> {
    Ok(Version {
        id: VersionId(row.try_get("id")?),
        workspace_id: WorkspaceId(row.try_get("workspace_id")?),
        automation_id: AutomationId(row.try_get("automation_id")?),
        number: row.try_get("number")?,
        definition: row.try_get("definition")?,
        content_hash: row.try_get("content_hash")?,
        created_by: row.try_get::<Option<i64>, _>("created_by")?.map(UserId),
        created_at: row.try_get("created_at")?,
    })
}

pub(super) const ITEM_COLUMNS: &str = "id, workspace_id, automation_id, idempotency_key, input, status, \
     version_id, outcome, final_result, confidence, revision, created_at, processed_at, decided_at, decided_by";

pub(super) fn status(s: &str) -> Result<ItemStatus> {
    s.parse().map_err(StoreError::Corrupt)
}

pub(super) fn item(row: &AnyRow) -> Result<Item> {
    let st: String = row.try_get("status")?;
    Ok(Item {
        id: ItemId(row.try_get("id")?),
        workspace_id: WorkspaceId(row.try_get("workspace_id")?),
        automation_id: AutomationId(row.try_get("automation_id")?),
        idempotency_key: row.try_get("idempotency_key")?,
        input: row.try_get("input")?,
        status: status(&st)?,
        version_id: row.try_get::<Option<i64>, _>("version_id")?.map(VersionId),
        outcome: row.try_get("outcome")?,
        final_result: row.try_get("final_result")?,
        confidence: row.try_get("confidence")?,
        revision: row.try_get("revision")?,
        created_at: row.try_get("created_at")?,
        processed_at: row.try_get("processed_at")?,
        decided_at: row.try_get("decided_at")?,
        decided_by: row.try_get::<Option<i64>, _>("decided_by")?.map(UserId),
    })
}

pub(super) fn job(row: &AnyRow) -> Result<Job> {
    let kind: String = row.try_get("kind")?;
    Ok(Job {
        id: JobId(row.try_get("id")?),
        workspace_id: WorkspaceId(row.try_get("workspace_id")?),
        kind: match kind.as_str() {
            "process" => JobKind::Process,
            "deliver" => JobKind::Deliver,
            other => return Err(StoreError::Corrupt(format!("unknown job kind {other:?}"))),
        },
        item_id: row.try_get::<Option<i64>, _>("item_id")?.map(ItemId),
        delivery_id: row.try_get::<Option<i64>, _>("delivery_id")?.map(DeliveryId),
        attempts: row.try_get("attempts")?,
        max_attempts: row.try_get("max_attempts")?,
    })
}

pub(super) const DELIVERY_COLUMNS: &str = "id, workspace_id, item_id, revision, destination_index, destination, \
     delivery_key, payload, status, attempts, last_error, created_at, delivered_at";

pub(super) fn delivery(row: &AnyRow) -> Result<Delivery> {
    let st: String = row.try_get("status")?;
    Ok(Delivery {
        id: DeliveryId(row.try_get("id")?),
        workspace_id: WorkspaceId(row.try_get("workspace_id")?),
        item_id: ItemId(row.try_get("item_id")?),
        revision: row.try_get("revision")?,
        destination_index: row.try_get("destination_index")?,
        destination: row.try_get("destination")?,
        delivery_key: row.try_get("delivery_key")?,
        payload: row.try_get("payload")?,
        status: DeliveryStatus::parse(&st)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown delivery status {st:?}")))?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        delivered_at: row.try_get("delivered_at")?,
    })
}
