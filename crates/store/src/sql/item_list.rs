//! The item lists (the inbox and the items page): filters, the three orders, keyset
//! paging and the count of what a filter matches.
//!
//! Paging is by position, not offset: a page starts just after the sort keys of the row
//! before it, so the database walks only the rows it returns (an offset walks every row it
//! skips), and an item decided meanwhile does not push the next page's first row onto the
//! page already read.

use sqlx::Row;

use super::items::{OPEN, SqlBuilder};
use super::{SqlStore, rowmap};
use crate::*;
use tandem_domain::ItemStatus;

/// One sort key: its SQL, its value at the cursor, and whether it sorts descending.
struct Key {
    sql: &'static str,
    at: i64,
    desc: bool,
}

/// The keys of the filter's order, most significant first, ending with the id so that
/// every row has a distinct position.
fn keys(f: &ItemFilter, c: &ItemCursor) -> Vec<Key> {
    let age = f.newest_first;
    let mut keys = match f.sort {
        ItemSort::Age => Vec::new(),
        ItemSort::Priority => vec![Key {
            sql: "COALESCE(p.priority, 1)",
            at: c.priority,
            desc: true,
        }],
        // Items without a due time sort after those with one, on both backends.
        ItemSort::Due => vec![
            Key {
                sql: "CASE WHEN p.sla_ms IS NULL THEN 1 ELSE 0 END",
                at: i64::from(c.due_at.is_none()),
                desc: false,
            },
            Key {
                sql: "COALESCE(i.created_at + p.sla_ms, 0)",
                at: c.due_at.unwrap_or(0),
                desc: false,
            },
        ],
    };
    keys.push(Key {
        sql: "i.created_at",
        at: c.created_at,
        desc: age,
    });
    keys.push(Key {
        sql: "i.id",
        at: c.id.0,
        desc: age,
    });
    keys
}

/// `AND <the row comes after the cursor in this order>`. Keys that all run the same way
/// are compared as one row value, which both backends answer with an index range scan;
/// a change of direction needs `k > v OR (k = v AND <the rest>)`.
fn push_after(b: &mut SqlBuilder, keys: &[Key]) {
    let Some(first) = keys.first() else {
        b.push("1 = 0");
        return;
    };
    if keys.iter().all(|k| k.desc == first.desc) {
        b.push("(");
        for (n, k) in keys.iter().enumerate() {
            b.push(if n > 0 { ", " } else { "" }).push(k.sql);
        }
        b.push(if first.desc { ") < (" } else { ") > (" });
        for (n, k) in keys.iter().enumerate() {
            b.push(if n > 0 { ", " } else { "" }).int(k.at);
        }
        b.push(")");
        return;
    }
    let op = if first.desc { " < " } else { " > " };
    b.push("(").push(first.sql).push(op).int(first.at);
    b.push(" OR (")
        .push(first.sql)
        .push(" = ")
        .int(first.at)
        .push(" AND ");
    push_after(b, &keys[1..]);
    b.push("))");
}

/// The WHERE clause of a filter, after `WHERE i.workspace_id = <ws>`. `p` is the
/// automation's review policy (LEFT JOINed).
fn push_filter(b: &mut SqlBuilder, ws: WorkspaceId, f: &ItemFilter) {
    b.int(ws.0);
    if f.statuses == [ItemStatus::NeedsReview, ItemStatus::Failed] {
        // Written as a literal, exactly as the partial index `items_open` is, so the
        // planner can use that index (a bound parameter would hide the match).
        b.push(&format!(" AND i.status IN {OPEN}"));
    } else if !f.statuses.is_empty() {
        b.push(" AND i.status IN (");
        for (n, st) in f.statuses.iter().enumerate() {
            if n > 0 {
                b.push(", ");
            }
            b.text(st.as_str());
        }
        b.push(")");
    }
    if let Some(a) = f.automation {
        b.push(" AND i.automation_id = ").int(a.0);
    }
    if let Some(code) = &f.reason {
        b.push(" AND EXISTS (SELECT 1 FROM item_reasons r WHERE r.item_id = i.id AND r.workspace_id = ")
            .int(ws.0)
            .push(" AND r.code = ")
            .text(code)
            .push(")");
    }
    if let Some(t) = f.processed_after {
        b.push(" AND i.processed_at > ").int(t);
    }
    if let Some(t) = f.due_before {
        b.push(" AND i.created_at + p.sla_ms <= ").int(t);
    }
    match f.from {
        None => {}
        Some(PageFrom::After(c)) => {
            b.push(" AND ");
            push_after(b, &keys(f, &c));
        }
        Some(PageFrom::Before(c)) => {
            // Before the cursor is after it in the reversed order.
            let mut keys = keys(f, &c);
            for k in &mut keys {
                k.desc = !k.desc;
            }
            b.push(" AND ");
            push_after(b, &keys);
        }
    }
}

const FROM: &str = " FROM items i
     LEFT JOIN review_policies p ON p.automation_id = i.automation_id AND p.workspace_id = i.workspace_id
     WHERE i.workspace_id = ";

pub(super) async fn list_items(s: &SqlStore, ws: WorkspaceId, f: &ItemFilter) -> Result<Vec<ItemSummary>> {
    let mut b = SqlBuilder::new(
        "SELECT i.id, i.automation_id, a.slug, a.name, i.status, i.confidence, i.created_at, i.preview,
                COALESCE(p.priority, 1) AS priority, i.created_at + p.sla_ms AS due_at
         FROM items i JOIN automations a ON a.id = i.automation_id AND a.workspace_id = i.workspace_id
         LEFT JOIN review_policies p ON p.automation_id = i.automation_id AND p.workspace_id = i.workspace_id
         WHERE i.workspace_id = ",
    );
    push_filter(&mut b, ws, f);
    // A page going back is read in the reversed order from its cursor, then turned round.
    let back = matches!(f.from, Some(PageFrom::Before(_)));
    let any = ItemCursor {
        created_at: 0,
        id: ItemId(0),
        priority: 0,
        due_at: None,
    };
    let order: Vec<String> = keys(f, &any)
        .iter()
        .map(|k| format!("{} {}", k.sql, if k.desc != back { "DESC" } else { "ASC" }))
        .collect();
    b.push(&format!(" ORDER BY {} LIMIT ", order.join(", ")))
        .int(i64::from(f.limit.clamp(1, 1000)));
    let rows = b.query().fetch_all(&s.reader).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let st: String = row.try_get("status")?;
        out.push(ItemSummary {
            id: ItemId(row.try_get("id")?),
            automation_id: AutomationId(row.try_get("automation_id")?),
            automation_slug: row.try_get("slug")?,
            automation_name: row.try_get("name")?,
            status: rowmap::status(&st)?,
            confidence: row.try_get("confidence")?,
            created_at: row.try_get("created_at")?,
            preview: row.try_get("preview")?,
            reasons: Vec::new(),
            priority: row.try_get("priority")?,
            due_at: row.try_get("due_at")?,
        });
    }
    if back {
        out.reverse();
    }
    if !out.is_empty() {
        // `+workspace_id`, here and in `item_reasons`: without statistics SQLite would
        // walk the (workspace, code) index, every reason in the workspace (120 ms at a
        // million items), instead of probing each item's primary key.
        let mut b = SqlBuilder::new("SELECT item_id, code FROM item_reasons WHERE +workspace_id = ");
        b.int(ws.0).push(" AND item_id IN (");
        for (n, it) in out.iter().enumerate() {
            if n > 0 {
                b.push(", ");
            }
            b.int(it.id.0);
        }
        b.push(") ORDER BY item_id, code");
        for row in b.query().fetch_all(&s.reader).await? {
            let id = ItemId(row.try_get("item_id")?);
            let code: String = row.try_get("code")?;
            if let Some(it) = out.iter_mut().find(|it| it.id == id) {
                it.reasons.push(code);
            }
        }
    }
    Ok(out)
}

/// How many items the filter matches (its `from` included: the items from that position
/// on, in the page's direction); the limit does not apply.
pub(super) async fn count_items(s: &SqlStore, ws: WorkspaceId, f: &ItemFilter) -> Result<i64> {
    let mut b = SqlBuilder::new(format!("SELECT COUNT(*) AS n{FROM}"));
    push_filter(&mut b, ws, f);
    Ok(b.query().fetch_one(&s.reader).await?.try_get("n")?)
}
