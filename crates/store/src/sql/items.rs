//! Accepting items, reading them back, and the exception inbox's lists and counts.

use sqlx::Row;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

use super::{SqlStore, rowmap};
use crate::*;

pub(super) const PROCESS_MAX_ATTEMPTS: i64 = 5;

pub(super) async fn insert_items(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: AutomationId,
    items: &[NewItem],
    now: Millis,
) -> Result<Vec<Inserted>> {
    let mut tx = s.write_tx().await?;
    // The automation must be this workspace's.
    let owned: Option<i64> =
        sqlx::query_scalar("SELECT id FROM automations WHERE workspace_id = $1 AND id = $2")
            .bind(ws.0)
            .bind(automation.0)
            .fetch_optional(&mut *tx)
            .await?;
    if owned.is_none() {
        return Err(StoreError::NotFound("automation"));
    }
    let mut out = Vec::with_capacity(items.len());
    for chunk in items.chunks(INSERT_CHUNK) {
        insert_chunk(&mut tx, ws, automation, chunk, now, &mut out).await?;
    }
    tx.commit().await?;
    Ok(out)
}

/// Rows per multi-row INSERT: three parameters each, well under SQLite's limit of 32,766.
const INSERT_CHUNK: usize = 500;

/// Insert a chunk of items with one statement and their jobs with another.
///
/// Why multi-row statements: a batch of 1,000 items was 2,000 round trips through the
/// driver inside the one writer's transaction; two statements per 500 items keep the
/// writer free for other requests, and the commit (the durability point) is unchanged.
pub(super) async fn insert_chunk(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ws: WorkspaceId,
    automation: AutomationId,
    chunk: &[NewItem],
    now: Millis,
    out: &mut Vec<Inserted>,
) -> Result<()> {
    let values: Vec<String> = (0..chunk.len())
        .map(|i| {
            format!(
                "($1, $2, ${}, ${}, ${}, 'queued', $3)",
                4 + 3 * i,
                5 + 3 * i,
                6 + 3 * i
            )
        })
        .collect();
    let insert = format!(
        "INSERT INTO items (workspace_id, automation_id, idempotency_key, input, preview, status, created_at)
         VALUES {}
         ON CONFLICT (workspace_id, automation_id, idempotency_key) DO NOTHING
         RETURNING {}",
        values.join(", "),
        rowmap::ITEM_COLUMNS
    );
    let mut q = sqlx::query(&insert).bind(ws.0).bind(automation.0).bind(now);
    for new in chunk {
        q = q
            .bind(new.idempotency_key.as_deref())
            .bind(&new.input)
            .bind(&new.preview);
    }
    let mut created: Vec<Item> = q
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(rowmap::item)
        .collect::<Result<_>>()?;
    // RETURNING promises no order; ids grow in insertion order, so sorting by id lines the
    // new rows up with the inputs that were inserted (the ones not skipped as repeats).
    created.sort_by_key(|i| i.id);
    let mut by_key: std::collections::HashMap<String, Item> = std::collections::HashMap::new();
    let mut keyless = std::collections::VecDeque::new();
    for item in created.iter().cloned() {
        match item.idempotency_key.clone() {
            Some(k) => {
                by_key.insert(k, item);
            }
            None => keyless.push_back(item),
        }
    }
    if !created.is_empty() {
        let jobs: Vec<String> = (0..created.len())
            .map(|i| format!("($1, 'process', ${}, $2, $3, $2)", 4 + i))
            .collect();
        let sql = format!(
            "INSERT INTO jobs (workspace_id, kind, item_id, run_at, max_attempts, created_at) VALUES {}",
            jobs.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(ws.0).bind(now).bind(PROCESS_MAX_ATTEMPTS);
        for item in &created {
            q = q.bind(item.id.0);
        }
        q.execute(&mut **tx).await?;
    }
    let existing = format!(
        "SELECT {} FROM items WHERE workspace_id = $1 AND automation_id = $2 AND idempotency_key = $3",
        rowmap::ITEM_COLUMNS
    );
    for new in chunk {
        let inserted = match &new.idempotency_key {
            None => keyless.pop_front().map(|item| Inserted { item, created: true }),
            Some(k) => by_key.remove(k).map(|item| Inserted { item, created: true }),
        };
        let inserted = match inserted {
            Some(i) => i,
            None => {
                // Only an idempotency key can conflict, so the earlier item exists (it
                // may be earlier in this very batch).
                let row = sqlx::query(&existing)
                    .bind(ws.0)
                    .bind(automation.0)
                    .bind(new.idempotency_key.as_deref())
                    .fetch_one(&mut **tx)
                    .await?;
                Inserted {
                    item: rowmap::item(&row)?,
                    created: false,
                }
            }
        };
        out.push(inserted);
    }
    Ok(())
}

pub(super) async fn item<'e, E>(executor: E, ws: WorkspaceId, id: ItemId) -> Result<Item>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!(
        "SELECT {} FROM items WHERE workspace_id = $1 AND id = $2",
        rowmap::ITEM_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(ws.0)
        .bind(id.0)
        .fetch_optional(executor)
        .await?
        .ok_or(StoreError::NotFound("item"))?;
    rowmap::item(&row)
}

/// Builds a statement with numbered parameters, so optional filters can be appended
/// without counting placeholders by hand.
pub(super) struct SqlBuilder {
    pub sql: String,
    binds: Vec<Bind>,
}

enum Bind {
    Int(i64),
    Text(String),
}

impl SqlBuilder {
    pub fn new(sql: impl Into<String>) -> Self {
        Self {
            sql: sql.into(),
            binds: Vec::new(),
        }
    }

    /// Append `$N` for a new integer parameter.
    pub fn int(&mut self, v: i64) -> &mut Self {
        self.binds.push(Bind::Int(v));
        self.sql.push_str(&format!("${}", self.binds.len()));
        self
    }

    pub fn text(&mut self, v: &str) -> &mut Self {
        self.binds.push(Bind::Text(v.to_owned()));
        self.sql.push_str(&format!("${}", self.binds.len()));
        self
    }

    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    pub fn query(&self) -> Query<'_, sqlx::Any, AnyArguments<'_>> {
        let mut q = sqlx::query(&self.sql);
        for b in &self.binds {
            q = match b {
                Bind::Int(v) => q.bind(*v),
                Bind::Text(v) => q.bind(v.as_str()),
            };
        }
        q
    }
}

pub(super) const OPEN: &str = "('needs_review', 'failed')";

pub(super) async fn open_count(s: &SqlStore, ws: WorkspaceId) -> Result<i64> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM items WHERE workspace_id = $1 AND status IN {OPEN}"
    ))
    .bind(ws.0)
    .fetch_one(&s.reader)
    .await?)
}

pub(super) async fn inbox_counts(s: &SqlStore, ws: WorkspaceId) -> Result<InboxCounts> {
    let row = sqlx::query(&format!(
        "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM items WHERE workspace_id = $1 AND status IN {OPEN}"
    ))
    .bind(ws.0)
    .fetch_one(&s.reader)
    .await?;
    let open: i64 = row.try_get("n")?;
    let oldest_open_at: Option<i64> = row.try_get("oldest")?;
    let by_automation = sqlx::query(&format!(
        "SELECT a.slug, a.name, COUNT(*) AS n FROM items i
         JOIN automations a ON a.id = i.automation_id AND a.workspace_id = i.workspace_id
         WHERE i.workspace_id = $1 AND i.status IN {OPEN} GROUP BY a.slug, a.name ORDER BY a.name"
    ))
    .bind(ws.0)
    .fetch_all(&s.reader)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("slug")?, r.try_get("name")?, r.try_get("n")?)))
    .collect::<Result<Vec<_>>>()?;
    // From each open item's own `reason_codes` (kept beside `item_reasons`, in the same
    // statements): a walk of the small partial index `items_open_reasons`, grouped by the
    // combination of codes, then split and summed here. Probing item_reasons once per open
    // item took 22 ms at 20,000 open items.
    let mut by_code: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    let combos = sqlx::query(&format!(
        "SELECT reason_codes, COUNT(*) AS n FROM items
         WHERE workspace_id = $1 AND status IN {OPEN} AND reason_codes <> '' GROUP BY reason_codes"
    ))
    .bind(ws.0)
    .fetch_all(&s.reader)
    .await?;
    for r in &combos {
        let codes: String = r.try_get("reason_codes")?;
        let n: i64 = r.try_get("n")?;
        for code in codes.split_whitespace() {
            *by_code.entry(code.to_owned()).or_default() += n;
        }
    }
    let mut by_reason: Vec<(String, i64)> = by_code.into_iter().collect();
    by_reason.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(InboxCounts {
        open,
        by_automation,
        by_reason,
        oldest_open_at,
    })
}

pub(super) async fn item_reasons(s: &SqlStore, ws: WorkspaceId, id: ItemId) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT code FROM item_reasons WHERE +workspace_id = $1 AND item_id = $2 ORDER BY code",
    )
    .bind(ws.0)
    .bind(id.0)
    .fetch_all(&s.reader)
    .await?)
}
