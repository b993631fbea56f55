//! The JSON API, version 1. Every route needs a bearer token; every answer is scoped to the
//! token's workspace.

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tandem_domain::{Decision, DeliveryId, ItemId, ItemStatus, Role};
use tandem_service::ServiceError;
use tandem_service::intake::{MAX_BATCH, Submission};
use tandem_store::{DeliveryFilter, DeliveryStatus, Inserted, ItemFilter};

use crate::AppState;
use crate::auth::ApiUser;
use crate::error::ApiError;

/// One item's JSON may be up to 2 MiB (inputs are capped at 1 MiB per field by default).
const ITEM_BODY_LIMIT: usize = 2 << 20;
/// A batch of up to 1,000 items.
const BATCH_BODY_LIMIT: usize = 64 << 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/automations/{slug}/items",
            post(submit_item).layer(DefaultBodyLimit::max(ITEM_BODY_LIMIT)),
        )
        .route(
            "/api/v1/automations/{slug}/items/batch",
            post(submit_batch).layer(DefaultBodyLimit::max(BATCH_BODY_LIMIT)),
        )
        .route("/api/v1/automations", get(list_automations))
        .route("/api/v1/items", get(list_items))
        .route("/api/v1/items/{id}", get(get_item))
        .route("/api/v1/items/{id}/decision", post(record_decision))
        .route("/api/v1/inbox", get(inbox_counts))
        .route("/api/v1/deliveries", get(list_deliveries))
        .route("/api/v1/deliveries/{id}/retry", post(retry_delivery))
        .fallback(not_found)
}

async fn not_found() -> ApiError {
    ApiError(ServiceError::NotFound("API route"))
}

/// Turn axum's body errors into ours: 413 for too large, 422 with the parser's words
/// (which name the line and column) otherwise.
fn body<T>(r: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    match r {
        Ok(Json(v)) => Ok(v),
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError(ServiceError::TooLarge(
            "the request body is too large".into(),
        ))),
        Err(e) => Err(ApiError(ServiceError::invalid(format!(
            "the request body is not valid: {}",
            e.body_text()
        )))),
    }
}

fn item_json(i: &Inserted) -> serde_json::Value {
    serde_json::json!({
        "id": i.item.id,
        "status": i.item.status,
        "created": i.created,
        "created_at": i.item.created_at,
    })
}

/// `POST /api/v1/automations/{slug}/items`: one item, its input fields as a JSON object.
/// `Idempotency-Key` makes a retry return the same item (200) instead of a new one (201).
async fn submit_item(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(slug): Path<String>,
    headers: HeaderMap,
    input: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let input = body(input)?;
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| ServiceError::invalid("the Idempotency-Key header must be printable ASCII"))?
                .to_owned(),
        ),
    };
    let inserted = s
        .tandem
        .submit(
            &actor,
            &slug,
            vec![Submission {
                input,
                idempotency_key: key,
            }],
        )
        .await?;
    let first = &inserted[0];
    let view = s.tandem.item_view(&actor, first.item.id).await?;
    let status = if first.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view)))
}

#[derive(Deserialize)]
struct BatchItem {
    input: serde_json::Value,
    #[serde(default)]
    idempotency_key: Option<String>,
}

#[derive(Deserialize)]
struct Batch {
    items: Vec<BatchItem>,
}

/// `POST /api/v1/automations/{slug}/items/batch`: `{"items": [{"input": {...},
/// "idempotency_key": "..."}]}`, up to 1,000. All are accepted, or none.
async fn submit_batch(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(slug): Path<String>,
    batch: Result<Json<Batch>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let batch = body(batch)?;
    if batch.items.len() > MAX_BATCH {
        return Err(ApiError(ServiceError::TooLarge(format!(
            "at most {MAX_BATCH} items per batch"
        ))));
    }
    let subs = batch
        .items
        .into_iter()
        .map(|b| Submission {
            input: b.input,
            idempotency_key: b.idempotency_key,
        })
        .collect();
    let inserted = s.tandem.submit(&actor, &slug, subs).await?;
    let created = inserted.iter().filter(|i| i.created).count();
    let items: Vec<_> = inserted.iter().map(item_json).collect();
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "accepted": items.len(), "created": created, "items": items })),
    ))
}

async fn get_item(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.tandem.item_view(&actor, ItemId(id)).await?))
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    automation: Option<String>,
    reason: Option<String>,
    #[serde(default)]
    newest_first: bool,
    /// age (default), priority or due.
    sort: Option<String>,
    /// Only items past their due time.
    #[serde(default)]
    overdue: bool,
    limit: Option<u32>,
    /// Refused with a pointer to `after`: the lists page by position, not offset.
    offset: Option<String>,
    /// The `next` of the page before (or the `prev` of the page after, as `before`).
    after: Option<String>,
    before: Option<String>,
}

async fn list_items(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Query(q): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    actor.require(Role::Viewer, "list items")?;
    let ws = actor.workspace();
    let mut filter = ItemFilter {
        newest_first: q.newest_first,
        ..Default::default()
    };
    if let Some(st) = &q.status {
        filter.statuses = if st == "all" {
            Vec::new()
        } else {
            st.split(',')
                .map(|x| x.parse::<ItemStatus>())
                .collect::<Result<_, _>>()
                .map_err(ServiceError::invalid)?
        };
    }
    if let Some(slug) = &q.automation {
        let a = s
            .tandem
            .store
            .automation_by_slug(ws, slug)
            .await?
            .ok_or(ServiceError::NotFound("automation"))?;
        filter.automation = Some(a.id);
    }
    filter.reason = q.reason.clone();
    if let Some(sort) = q.sort.as_deref() {
        filter.sort = tandem_store::ItemSort::parse(sort).ok_or_else(|| {
            ServiceError::invalid(format!("sort: {sort:?} is not one of age, priority, due"))
        })?;
    }
    if q.overdue {
        filter.due_before = Some(s.tandem.now());
    }
    filter.limit = q.limit.unwrap_or(50).clamp(1, 1000);
    if q.offset.is_some() {
        return Err(ServiceError::invalid(
            "offset: the item list pages by position; pass the previous answer's `next` as `after`",
        )
        .into());
    }
    filter.from = crate::pages::page_from(q.after.as_deref(), q.before.as_deref())?;
    // {"items": [...], "total": N, "first": position, "next": "...", "prev": "..."}
    Ok(Json(s.tandem.page_items(ws, &filter).await?))
}

async fn record_decision(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    decision: Result<Json<Decision>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let decision = body(decision)?;
    s.tandem.decide(&actor, ItemId(id), decision).await?;
    Ok(Json(s.tandem.item_view(&actor, ItemId(id)).await?))
}

async fn list_automations(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
) -> Result<impl IntoResponse, ApiError> {
    actor.require(Role::Viewer, "list automations")?;
    let list = s.tandem.store.list_automations(actor.workspace()).await?;
    Ok(Json(serde_json::json!({ "automations": list })))
}

async fn inbox_counts(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
) -> Result<impl IntoResponse, ApiError> {
    actor.require(Role::Viewer, "see the inbox")?;
    Ok(Json(s.tandem.store.inbox_counts(actor.workspace()).await?))
}

#[derive(Deserialize)]
struct DeliveryQuery {
    status: Option<String>,
    limit: Option<u32>,
}

async fn list_deliveries(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Query(q): Query<DeliveryQuery>,
) -> Result<impl IntoResponse, ApiError> {
    actor.require(Role::Viewer, "see deliveries")?;
    let status = match q.status.as_deref() {
        None | Some("all") => None,
        Some("pending") => Some(DeliveryStatus::Pending),
        Some("delivered") => Some(DeliveryStatus::Delivered),
        Some("failed") => Some(DeliveryStatus::Failed),
        Some(other) => {
            return Err(ApiError(ServiceError::invalid(format!(
                "unknown delivery status {other:?}"
            ))));
        }
    };
    let list = s
        .tandem
        .store
        .list_deliveries(
            actor.workspace(),
            &DeliveryFilter {
                status,
                item: None,
                limit: q.limit.unwrap_or(100),
            },
        )
        .await?;
    Ok(Json(serde_json::json!({ "deliveries": list })))
}

async fn retry_delivery(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    actor.require(Role::Reviewer, "retry deliveries")?;
    let d = s
        .tandem
        .store
        .retry_delivery(actor.workspace(), DeliveryId(id), s.tandem.now())
        .await?;
    s.tandem.work_ready.notify_waiters();
    Ok(Json(d))
}
