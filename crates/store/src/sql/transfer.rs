//! Moving data out of and between databases: an online backup of SQLite, restoring one,
//! and moving a workspace from SQLite to PostgreSQL.
//!
//! Why the move copies tables it discovers instead of a list written here: every module
//! adds its own tables (each with a `workspace_id`), and a hand-kept list would silently
//! leave new ones behind. Tables are copied in creation order, which is migration order,
//! so a table comes after the tables it references. Ids are kept, so references between
//! rows stay right without rewriting; the target's id sequences are moved past them.

use std::path::{Path, PathBuf};

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection, Row};

use super::SqlStore;
use crate::*;

/// Rows read and written per statement while moving a workspace.
const PAGE: i64 = 500;

/// How far a move has got, for a progress bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveProgress {
    /// The number of rows to copy, known before the first is copied.
    Total(u64),
    /// `rows` more were copied from `table`.
    Copied { table: String, rows: u64 },
}

/// One table's rows in the moved workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedTable {
    pub table: String,
    pub rows: u64,
}

impl SqlStore {
    /// Copy a consistent snapshot of a SQLite database to `path` while it stays online:
    /// `VACUUM INTO` runs in a read transaction, so intake goes on meanwhile.
    pub async fn backup_sqlite(&self, path: &Path) -> Result<()> {
        if self.dialect.backend != Backend::Sqlite {
            return Err(StoreError::Conflict(
                "online backup with `tandem backup` is for SQLite; back up PostgreSQL with pg_dump".into(),
            ));
        }
        if path.exists() {
            return Err(StoreError::Conflict(format!(
                "{} already exists; choose a new file name",
                path.display()
            )));
        }
        sqlx::query("VACUUM INTO $1")
            .bind(path.display().to_string())
            .execute(&self.reader)
            .await?;
        Ok(())
    }
}

/// Replace the SQLite database at `target` with the backup at `backup`, after checking
/// that the backup is a sound Tandem database. Tandem must not be running on `target`.
/// Returns with the restored database migrated to this build's schema.
pub async fn restore_sqlite(backup: &Path, target: &Path, replace: bool) -> Result<()> {
    sqlx::any::install_default_drivers();
    if !backup.is_file() {
        return Err(StoreError::Conflict(format!(
            "{} is not a file",
            backup.display()
        )));
    }
    check_backup(backup).await?;
    if target.exists() && !replace {
        return Err(StoreError::Conflict(format!(
            "{} exists; pass --replace to overwrite it with the backup",
            target.display()
        )));
    }
    let io = |what: &str, p: &Path, e: std::io::Error| {
        StoreError::Conflict(format!("cannot {what} {}: {e}", p.display()))
    };
    let tmp = sibling(target, ".restoring");
    std::fs::copy(backup, &tmp).map_err(|e| io("write", &tmp, e))?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("sync", &tmp, e))?;
    // The old database's write-ahead log must go before the new file takes its name: a
    // log left beside a different database would be replayed into it.
    for suffix in ["-wal", "-shm"] {
        let p = sibling(target, suffix);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("remove", &p, e)),
        }
    }
    std::fs::rename(&tmp, target).map_err(|e| io("replace", target, e))?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Make the rename itself durable.
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    let restored = SqlStore::connect(&format!("sqlite://{}", target.display())).await?;
    restored.readiness().await?;
    restored.close().await;
    Ok(())
}

async fn check_backup(backup: &Path) -> Result<()> {
    let not_tandem = |e: &dyn std::fmt::Display| {
        StoreError::Conflict(format!("{} is not a Tandem backup: {e}", backup.display()))
    };
    let mut conn = AnyConnection::connect(&format!("sqlite://{}?mode=ro", backup.display()))
        .await
        .map_err(|e| not_tandem(&e))?;
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| not_tandem(&e))?;
    if check != "ok" {
        return Err(not_tandem(&format!("integrity check failed: {check}")));
    }
    let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM workspaces")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| not_tandem(&e))?;
    conn.close().await?;
    Ok(())
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// A column's value, typed by the target column it goes to.
enum Value {
    Int(Option<i64>),
    Float(Option<f64>),
    Bool(Option<bool>),
    Bytes(Option<Vec<u8>>),
    Text(Option<String>),
}

/// How a column is carried over, chosen by its type in the target.
///
/// Why a cast for the rest: SQLite keeps timestamps, dates, JSON, UUIDs and decimals as
/// text, and PostgreSQL refuses text bound to a column of another type ("column is of
/// type timestamp with time zone but expression is of type text"). Binding the text and
/// casting it to the column's own type in the statement lets PostgreSQL parse it, exactly
/// (a decimal is not rounded through a float), whatever type a later migration adds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Int,
    Float,
    Bool,
    Bytes,
    Text,
    /// Bound as text, then `CAST(... AS type)`; the type as PostgreSQL's `format_type`
    /// spells it (`timestamp with time zone`, `numeric(12,2)`, `jsonb`).
    Cast(String),
}

impl Kind {
    fn of(pg_type: &str) -> Kind {
        match pg_type {
            "bigint" | "integer" | "smallint" => Kind::Int,
            "double precision" | "real" => Kind::Float,
            "boolean" => Kind::Bool,
            "bytea" => Kind::Bytes,
            t if t == "text" || t.starts_with("character") => Kind::Text,
            other => Kind::Cast(other.to_owned()),
        }
    }

    /// The placeholder for parameter `n` of this kind.
    fn placeholder(&self, n: usize) -> String {
        match self {
            Kind::Cast(t) => format!("CAST(${n} AS {t})"),
            _ => format!("${n}"),
        }
    }

    /// Read column `i` of a SQLite row. SQLite's columns hold whatever was stored in them,
    /// so the reading is lenient where the meaning is plain (a boolean stored as 0/1 or as
    /// `true`/`false`; a number in a text column) and names the column where it is not.
    fn read(&self, row: &AnyRow, i: usize, table: &str, column: &str) -> Result<Value> {
        let wrong = |what: &str| {
            StoreError::Corrupt(format!(
                "{table}.{column} (rowid {}): {what}",
                row.try_get::<i64, _>(0).unwrap_or_default()
            ))
        };
        Ok(match self {
            Kind::Int => Value::Int(row.try_get(i).map_err(|_| wrong("not an integer"))?),
            Kind::Float => Value::Float(
                row.try_get::<Option<f64>, _>(i)
                    .or_else(|_| row.try_get::<Option<i64>, _>(i).map(|v| v.map(|v| v as f64)))
                    .map_err(|_| wrong("not a number"))?,
            ),
            Kind::Bool => Value::Bool(match row.try_get::<Option<i64>, _>(i) {
                Ok(v) => v.map(|v| v != 0),
                Err(_) => match row.try_get::<Option<String>, _>(i) {
                    Ok(None) => None,
                    Ok(Some(t)) => Some(match t.to_ascii_lowercase().as_str() {
                        "1" | "t" | "true" => true,
                        "0" | "f" | "false" => false,
                        _ => return Err(wrong(&format!("{t:?} is not a boolean"))),
                    }),
                    Err(_) => return Err(wrong("not a boolean")),
                },
            }),
            Kind::Bytes => Value::Bytes(
                row.try_get::<Option<Vec<u8>>, _>(i)
                    .or_else(|_| {
                        row.try_get::<Option<String>, _>(i)
                            .map(|t| t.map(String::into_bytes))
                    })
                    .map_err(|_| wrong("not bytes"))?,
            ),
            Kind::Text | Kind::Cast(_) => Value::Text(
                row.try_get::<Option<String>, _>(i)
                    .or_else(|_| row.try_get::<Option<i64>, _>(i).map(|v| v.map(|v| v.to_string())))
                    .or_else(|_| row.try_get::<Option<f64>, _>(i).map(|v| v.map(|v| v.to_string())))
                    .map_err(|_| wrong("not text"))?
                    .map(without_nul),
            ),
        })
    }
}

/// PostgreSQL stores no NUL character: not in text, and not as `\u0000` in JSON. SQLite
/// took both before intake refused them (issue 21), and one such row stopped the whole
/// move; each NUL becomes U+FFFD (the replacement character), in JSON strings too.
fn without_nul(text: String) -> String {
    const REPLACEMENT: &str = "\u{FFFD}";
    let text = if text.contains('\0') {
        text.replace('\0', REPLACEMENT)
    } else {
        text
    };
    if !text.contains("\\u0000") {
        return text;
    }
    // Only a JSON document spells a NUL `\u0000`; rewrite its strings, keys included.
    fn clean(v: serde_json::Value) -> serde_json::Value {
        use serde_json::Value as J;
        match v {
            J::String(s) => J::String(s.replace('\0', REPLACEMENT)),
            J::Array(a) => J::Array(a.into_iter().map(clean).collect()),
            J::Object(o) => J::Object(
                o.into_iter()
                    .map(|(k, v)| (k.replace('\0', REPLACEMENT), clean(v)))
                    .collect(),
            ),
            other => other,
        }
    }
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(doc) => serde_json::to_string(&clean(doc)).unwrap_or(text),
        Err(_) => text,
    }
}

/// A table to move: its columns with their kinds, and how to pick the workspace's rows.
struct Plan {
    table: String,
    columns: Vec<(String, Kind)>,
    filter: &'static str,
    rows: u64,
}

/// Move workspace `slug` from a SQLite store into a PostgreSQL store, in one target
/// transaction (all or nothing). The target must not hold that workspace yet, nor rows
/// with the same ids (a fresh database, or one filled from this source only).
pub async fn move_workspace(
    from: &SqlStore,
    to: &SqlStore,
    slug: &str,
    progress: &mut (dyn FnMut(MoveProgress) + Send),
) -> Result<Vec<MovedTable>> {
    if from.dialect.backend != Backend::Sqlite || to.dialect.backend != Backend::Postgres {
        return Err(StoreError::Conflict(
            "a workspace moves from SQLite (--from sqlite://...) to PostgreSQL (--to postgres://...)".into(),
        ));
    }
    let ws: i64 = sqlx::query_scalar("SELECT id FROM workspaces WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&from.reader)
        .await?
        .ok_or(StoreError::NotFound("workspace"))?;
    let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM workspaces WHERE slug = $1 OR id = $2")
        .bind(slug)
        .bind(ws)
        .fetch_optional(&to.reader)
        .await?;
    if taken.is_some() {
        return Err(StoreError::Conflict(format!(
            "the target already has workspace {slug:?} (or its id {ws}); nothing was moved"
        )));
    }

    let plans = plan(from, to, ws).await?;
    progress(MoveProgress::Total(plans.iter().map(|p| p.rows).sum()));
    let mut tx = to.write_tx().await?;
    let mut moved = Vec::with_capacity(plans.len());
    for p in &plans {
        let names: Vec<&str> = p.columns.iter().map(|(c, _)| c.as_str()).collect();
        // `+column` (a no-op in SQLite) reads the value without its declared type: sqlx's
        // Any driver refuses a column declared BOOLEAN, DATE or DATETIME outright, while
        // the stored value is only ever an integer, real, text or blob, which it reads.
        let reads: Vec<String> = names.iter().map(|c| format!("+{c}")).collect();
        let select = format!(
            "SELECT rowid, {} FROM {} WHERE {} = $1 AND rowid > $2 ORDER BY rowid LIMIT {PAGE}",
            reads.join(", "),
            p.table,
            p.filter
        );
        let mut after = 0_i64;
        let mut copied = 0_u64;
        loop {
            let rows = sqlx::query(&select)
                .bind(ws)
                .bind(after)
                .fetch_all(&from.reader)
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get(0)?;
            let mut values = Vec::with_capacity(rows.len() * names.len());
            for row in &rows {
                for (i, (column, kind)) in p.columns.iter().enumerate() {
                    values.push(kind.read(row, i + 1, &p.table, column)?);
                }
            }
            let tuples: Vec<String> = (0..rows.len())
                .map(|r| {
                    let ps: Vec<String> = p
                        .columns
                        .iter()
                        .enumerate()
                        .map(|(c, (_, kind))| kind.placeholder(r * names.len() + c + 1))
                        .collect();
                    format!("({})", ps.join(", "))
                })
                .collect();
            let insert = format!(
                "INSERT INTO {} ({}) VALUES {}",
                p.table,
                names.join(", "),
                tuples.join(", ")
            );
            let mut q = sqlx::query(&insert);
            for v in values {
                q = match v {
                    Value::Int(v) => q.bind(v),
                    Value::Float(v) => q.bind(v),
                    Value::Bool(v) => q.bind(v),
                    Value::Bytes(v) => q.bind(v),
                    Value::Text(v) => q.bind(v),
                };
            }
            q.execute(&mut *tx).await.map_err(|e| match e {
                // A value the target's type refuses (a timestamp it cannot parse): say
                // which table; PostgreSQL's message says which value.
                sqlx::Error::Database(db) if !db.is_unique_violation() => StoreError::Conflict(format!(
                    "cannot copy {} into PostgreSQL: {}",
                    p.table,
                    db.message()
                )),
                e => {
                    StoreError::from_unique(e, &format!("a row of {} already exists in the target", p.table))
                }
            })?;
            copied += rows.len() as u64;
            progress(MoveProgress::Copied {
                table: p.table.clone(),
                rows: rows.len() as u64,
            });
        }
        if p.columns.iter().any(|(c, _)| c == "id") {
            let seq: Option<String> = sqlx::query_scalar("SELECT pg_get_serial_sequence($1, 'id')")
                .bind(&p.table)
                .fetch_one(&mut *tx)
                .await?;
            if let Some(seq) = seq {
                sqlx::query(&format!(
                    "SELECT setval($1, (SELECT COALESCE(MAX(id), 0) + 1 FROM {}), false)",
                    p.table
                ))
                .bind(seq)
                .execute(&mut *tx)
                .await?;
            }
        }
        moved.push(MovedTable {
            table: p.table.clone(),
            rows: copied,
        });
    }
    tx.commit().await?;
    Ok(moved)
}

/// The tables that hold the workspace's rows, in creation order, with the target's types.
async fn plan(from: &SqlStore, to: &SqlStore, ws: i64) -> Result<Vec<Plan>> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table'
           AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY rowid",
    )
    .fetch_all(&from.reader)
    .await?;
    let mut plans = Vec::new();
    for table in tables {
        if !table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StoreError::Corrupt(format!("unexpected table name {table:?}")));
        }
        let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
            .bind(&table)
            .fetch_all(&from.reader)
            .await?;
        let filter = if table == "workspaces" {
            "id"
        } else if columns.iter().any(|c| c == "workspace_id") {
            "workspace_id"
        } else {
            tracing::warn!(%table, "not moved: the table has no workspace_id");
            continue;
        };
        // `format_type` spells a type the way a cast accepts it, modifiers included
        // (`numeric(12,2)`, `character varying(20)`, an enum's own name).
        let types: Vec<(String, String)> = sqlx::query_as(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod)
             FROM pg_attribute a
             JOIN pg_class c ON c.oid = a.attrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = current_schema() AND c.relname = $1 AND a.attnum > 0 AND NOT a.attisdropped",
        )
        .bind(&table)
        .fetch_all(&to.reader)
        .await?;
        let mut typed = Vec::with_capacity(columns.len());
        for c in columns {
            let Some((_, t)) = types.iter().find(|(n, _)| *n == c) else {
                return Err(StoreError::Conflict(format!(
                    "the target has no column {table}.{c}; run the same Tandem version on both"
                )));
            };
            typed.push((c, Kind::of(t)));
        }
        let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table} WHERE {filter} = $1"))
            .bind(ws)
            .fetch_one(&from.reader)
            .await?;
        plans.push(Plan {
            table,
            columns: typed,
            filter,
            rows: u64::try_from(rows).unwrap_or(0),
        });
    }
    Ok(plans)
}

/// Rows of workspace `slug` per table in `store` (to check a move).
pub async fn workspace_row_counts(
    store: &SqlStore,
    slug: &str,
    tables: &[String],
) -> Result<Vec<MovedTable>> {
    let ws: i64 = sqlx::query_scalar("SELECT id FROM workspaces WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&store.reader)
        .await?
        .ok_or(StoreError::NotFound("workspace"))?;
    let mut out = Vec::with_capacity(tables.len());
    for table in tables {
        if !table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StoreError::Conflict(format!("unexpected table name {table:?}")));
        }
        let filter = if table == "workspaces" {
            "id"
        } else {
            "workspace_id"
        };
        let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table} WHERE {filter} = $1"))
            .bind(ws)
            .fetch_one(&store.reader)
            .await?;
        out.push(MovedTable {
            table: table.clone(),
            rows: u64::try_from(rows).unwrap_or(0),
        });
    }
    Ok(out)
}
