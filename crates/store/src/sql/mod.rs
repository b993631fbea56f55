//! The SQL implementation of [`Store`](crate::Store) over sqlx's `Any` driver.
//!
//! Why one implementation for two databases: with integer times, text JSON and `$N`
//! parameters (which sqlx accepts on SQLite too), nearly every statement is the same
//! text, and a second copy of each would drift. What differs is kept in [`Dialect`].
//!
//! On SQLite, writes go through a pool of exactly one connection: SQLite allows one writer
//! at a time anyway, and queueing writers in the pool avoids the `SQLITE_BUSY` errors
//! that competing deferred transactions produce. Readers use their own pool (WAL lets
//! them run beside the writer).

mod accounts;
mod automations;
mod bulk;
mod card_reads;
mod deliveries;
mod documents;
mod inbox;
mod item_list;
mod items;
mod jobs;
mod llm;
mod measure;
mod people;
mod review;
mod rollout;
mod rollout_sessions;
mod rowmap;
mod schedule;
mod similar;
mod similar_backfill;
mod training;
mod transfer;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

use crate::*;

pub use transfer::{MoveProgress, MovedTable, move_workspace, restore_sqlite, workspace_row_counts};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The statements that differ between backends.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dialect {
    pub backend: Backend,
}

impl Dialect {
    /// Lease due jobs. PostgreSQL skips rows another instance is claiming right now;
    /// SQLite has a single writer, so a plain sub-select is already exclusive.
    pub fn claim_jobs(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => {
                "UPDATE jobs SET locked_by = $1, locked_until = $2, attempts = attempts + 1
                 WHERE id IN (SELECT id FROM jobs
                              WHERE run_at <= $3 AND (locked_until IS NULL OR locked_until < $3)
                              ORDER BY run_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
                 RETURNING id, workspace_id, kind, item_id, delivery_id, attempts, max_attempts"
            }
            Backend::Sqlite => {
                "UPDATE jobs SET locked_by = $1, locked_until = $2, attempts = attempts + 1
                 WHERE id IN (SELECT id FROM jobs
                              WHERE run_at <= $3 AND (locked_until IS NULL OR locked_until < $3)
                              ORDER BY run_at, id LIMIT $4)
                 RETURNING id, workspace_id, kind, item_id, delivery_id, attempts, max_attempts"
            }
        }
    }
}

/// Bind this for a missing `f64`. sqlx 0.8.6's Any driver hands PostgreSQL a NULL `f64`
/// as `float4` (and a NULL `f32` as `float8`); the statement is then cached with a `float4`
/// parameter and the next real `f64` on that connection fails ("incorrect binary data
/// format"). A NULL `f32` arrives as the `float8` the columns are.
pub(crate) const NULL_DOUBLE: Option<f32> = None;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

async fn sqlite_pragmas(conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    // FULL: an item is on disk before the 2xx reply, even across a power cut.
    conn.execute("PRAGMA busy_timeout = 10000; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
        .await?;
    // Commits never checkpoint: a checkpoint inside a commit copies and syncs up to
    // thousands of pages while every other writer waits (hundreds of milliseconds on a busy
    // disk). A background task checkpoints beside the writer instead (PASSIVE never blocks
    // it; see `spawn_checkpointer`). Durability is unchanged: each commit is synced to the WAL.
    conn.execute("PRAGMA wal_autocheckpoint = 0").await?;
    // When a checkpoint resets the log, cut its file back to this size: without it the file
    // keeps the size of its largest burst for good.
    conn.execute(format!("PRAGMA journal_size_limit = {WAL_LIMIT_BYTES}").as_str())
        .await?;
    Ok(())
}

/// What the SQLite write-ahead log may grow to before it is folded back into the database
/// and truncated even while the writer is busy (see `spawn_checkpointer`).
const WAL_LIMIT_BYTES: u64 = 64 << 20;

/// Fold the whole write-ahead log into the database and truncate its file to nothing, on
/// `writer`'s one connection so no write of ours is in flight. `patience` is how long it may
/// wait for readers to leave the log; past it the checkpoint does what it can and the
/// file stays for the next try.
async fn truncate_wal(writer: &AnyPool, patience: Duration) -> Result<(), sqlx::Error> {
    let mut conn = writer.acquire().await?;
    conn.execute(format!("PRAGMA busy_timeout = {}", patience.as_millis()).as_str())
        .await?;
    let done = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut *conn)
        .await;
    conn.execute("PRAGMA busy_timeout = 10000").await?;
    done.map(|_| ())
}

/// Refresh SQLite's planner statistics (`ANALYZE`, sampling about a thousand entries of
/// each index under `analysis_limit` instead of reading them all: milliseconds at a
/// million items, and close enough for the planner).
///
/// Without statistics, SQLite 3.46 counts a million-item workspace's open items by
/// walking a whole-workspace index (170 ms) rather than the partial open-items index
/// (4 ms); see BENCHMARKS.md, "Exception inbox with 1,000,000 items". `PRAGMA optimize`
/// would decide by itself when to analyze, but it read every row here (3 s).
///
/// SQLite loads statistics when a connection reads the schema, and ANALYZE does not
/// change the schema: the readers opened before it would plan without them. So `analyzed`
/// records when it ran, and the reader pool closes (once) any connection older than that
/// as it is acquired; its replacement loads the new statistics.
async fn optimize_sqlite(writer: &AnyPool, analyzed: &Analyzed) -> Result<(), sqlx::Error> {
    let started = std::time::Instant::now();
    let mut conn = writer.acquire().await?;
    conn.execute("PRAGMA analysis_limit = 1000").await?;
    conn.execute("ANALYZE").await?;
    *analyzed.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(started);
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "planner statistics refreshed"
    );
    Ok(())
}

/// When the statistics were last refreshed (see [`optimize_sqlite`]).
type Analyzed = Arc<std::sync::Mutex<Option<std::time::Instant>>>;

/// Whether a pooled connection opened `age` ago has loaded the latest statistics.
fn has_latest_statistics(analyzed: &Analyzed, age: Duration) -> bool {
    analyzed
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .is_none_or(|at| age < at.elapsed())
}

/// How often a long-running instance refreshes SQLite's planner statistics.
const OPTIMIZE_EVERY: Duration = Duration::from_secs(3600);

/// Checkpoint the SQLite WAL every half second until the pool closes, and refresh the
/// planner statistics hourly.
///
/// Passive checkpoints never block the writer, but under steady load they never reset the
/// log either: 100,000 items once left a 1.13 GB log beside a 131 MB database (issue 21).
/// So the log is also truncated: when the writer is idle (its connection free and the log
/// unchanged for a tick), cheaply, since the passive checkpoints have copied nearly all of
/// it already; and past `WAL_LIMIT_BYTES` whatever the load. `SqlStore::shutdown` truncates
/// it a last time.
fn spawn_checkpointer(pool: AnyPool, writer: AnyPool, analyzed: Analyzed, wal: Option<std::path::PathBuf>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut optimized = tokio::time::Instant::now();
        let mut last_size = 0;
        loop {
            tick.tick().await;
            if pool.is_closed() {
                return;
            }
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
                tracing::debug!(error = %e, "WAL checkpoint skipped");
            }
            let size = wal
                .as_ref()
                .and_then(|w| std::fs::metadata(w).ok())
                .map_or(0, |m| m.len());
            let idle = size == last_size && writer.num_idle() > 0;
            last_size = size;
            if size > 0 && !writer.is_closed() && (idle || size > WAL_LIMIT_BYTES) {
                // Idle: give way at once to readers; over the limit: wait for them.
                let patience = if idle {
                    Duration::from_millis(50)
                } else {
                    Duration::from_secs(10)
                };
                match truncate_wal(&writer, patience).await {
                    Ok(()) => last_size = 0,
                    Err(e) => tracing::debug!(error = %e, "WAL truncation skipped"),
                }
            }
            if optimized.elapsed() >= OPTIMIZE_EVERY && !writer.is_closed() {
                optimized = tokio::time::Instant::now();
                if let Err(e) = optimize_sqlite(&writer, &analyzed).await {
                    tracing::warn!(error = %e, "could not refresh SQLite's planner statistics");
                }
            }
        }
    });
}

#[derive(Debug, Clone)]
pub struct SqlStore {
    pub(crate) writer: AnyPool,
    pub(crate) reader: AnyPool,
    pub(crate) dialect: Dialect,
    /// SQLite: when the planner statistics were last refreshed.
    analyzed: Analyzed,
}

/// Create a new SQLite database file readable by its owner only (0600) before SQLite
/// does (it would use the umask, often world-readable); SQLite gives its log and shared
/// memory files the database file's permissions. An existing file is left as it is.
fn create_private(url: &str) {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path.starts_with(':') || url.contains("mode=memory") {
        return;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    // An existing file stays as it is; a missing directory and the like are left to
    // SQLite's own open, which says so in its words.
    let _ = options.open(path);
}

impl SqlStore {
    /// Begin a transaction that writes. On SQLite it takes the write lock at `BEGIN`
    /// (`BEGIN IMMEDIATE`), waiting up to the busy timeout for another process's writer:
    /// a deferred transaction that reads first and writes later cannot wait at its first
    /// write (SQLite refuses at once with "database is locked" rather than risk a
    /// deadlock, or because its snapshot went stale), so two instances, or a `serve` and a
    /// `worker`, on one file would fail each other's writes. PostgreSQL takes row locks as
    /// it goes and needs nothing more.
    pub(crate) async fn write_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.dialect.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.writer.begin().await?,
        })
    }

    pub async fn connect(url: &str) -> Result<SqlStore> {
        install_default_drivers();
        if url.starts_with("sqlite:") {
            Self::connect_sqlite(url).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::connect_postgres(url).await
        } else {
            Err(StoreError::UnsupportedUrl(url.to_owned()))
        }
    }

    async fn connect_sqlite(url: &str) -> Result<SqlStore> {
        create_private(url);
        let url = if url.contains("mode=") {
            url.to_owned()
        } else if url.contains('?') {
            format!("{url}&mode=rwc")
        } else {
            format!("{url}?mode=rwc")
        };
        let writer = AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            .after_connect(|conn, _| Box::pin(sqlite_pragmas(conn)))
            .connect(&url)
            .await?;
        writer.execute("PRAGMA journal_mode = WAL").await?;
        SQLITE_MIGRATIONS.run(&writer).await?;
        let analyzed = Analyzed::default();
        optimize_sqlite(&writer, &analyzed).await?;
        let fresh = analyzed.clone();
        let reader = AnyPoolOptions::new()
            .max_connections(4)
            .after_connect(|conn, _| Box::pin(sqlite_pragmas(conn)))
            .before_acquire(move |_, meta| {
                let latest = has_latest_statistics(&fresh, meta.age);
                Box::pin(async move { Ok(latest) })
            })
            .connect(&url)
            .await?;
        // The log's path, to watch its size (none for an in-memory database).
        let files: Vec<(i64, String, String)> =
            sqlx::query_as("PRAGMA database_list").fetch_all(&writer).await?;
        let wal = files
            .into_iter()
            .find(|f| f.1 == "main" && !f.2.is_empty())
            .map(|f| std::path::PathBuf::from(format!("{}-wal", f.2)));
        spawn_checkpointer(reader.clone(), writer.clone(), analyzed.clone(), wal);
        Ok(SqlStore {
            writer,
            reader,
            dialect: Dialect {
                backend: Backend::Sqlite,
            },
            analyzed,
        })
    }

    async fn connect_postgres(url: &str) -> Result<SqlStore> {
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await?;
        POSTGRES_MIGRATIONS.run(&pool).await?;
        Ok(SqlStore {
            writer: pool.clone(),
            reader: pool,
            dialect: Dialect {
                backend: Backend::Postgres,
            },
            analyzed: Analyzed::default(),
        })
    }

    fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match self.dialect.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// Close both pools, waiting for connections to be returned; the SQLite log is folded
    /// into the database first.
    pub async fn close(&self) {
        let _ = Store::shutdown(self).await;
        self.writer.close().await;
        self.reader.close().await;
    }
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> Backend {
        self.dialect.backend
    }
    async fn shutdown(&self) -> Result<()> {
        if self.dialect.backend == Backend::Sqlite && !self.writer.is_closed() {
            truncate_wal(&self.writer, Duration::from_secs(10)).await?;
        }
        Ok(())
    }

    async fn readiness(&self) -> Result<()> {
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE ORDER BY version")
                .fetch_all(&self.reader)
                .await?;
        let missing: Vec<i64> = self
            .migrator()
            .iter()
            .map(|m| m.version)
            .filter(|v| !applied.contains(v))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            let versions: Vec<String> = missing.iter().map(i64::to_string).collect();
            Err(StoreError::NotMigrated(versions.join(", ")))
        }
    }

    async fn create_workspace(&self, slug: &str, name: &str, now: Millis) -> Result<Workspace> {
        people::create_workspace(self, slug, name, now).await
    }
    async fn workspace_by_slug(&self, slug: &str) -> Result<Option<Workspace>> {
        people::workspace_by_slug(self, slug).await
    }
    async fn workspace(&self, id: WorkspaceId) -> Result<Workspace> {
        people::workspace(self, id).await
    }
    async fn create_user(&self, ws: WorkspaceId, user: &NewUser, now: Millis) -> Result<User> {
        people::create_user(self, ws, user, now).await
    }
    async fn user_credentials(&self, email: &str) -> Result<Option<(User, String)>> {
        people::user_credentials(self, email).await
    }
    async fn user(&self, ws: WorkspaceId, id: UserId) -> Result<User> {
        people::user(self, ws, id).await
    }
    async fn list_users(&self, ws: WorkspaceId) -> Result<Vec<User>> {
        people::list_users(self, ws).await
    }
    async fn create_session(&self, session: &NewSession, now: Millis) -> Result<()> {
        people::create_session(self, session, now).await
    }
    async fn session(&self, token_hash: &str, now: Millis) -> Result<Option<Session>> {
        people::session(self, token_hash, now).await
    }
    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        people::delete_session(self, token_hash).await
    }
    async fn create_api_token(
        &self,
        ws: WorkspaceId,
        user: UserId,
        name: &str,
        token_hash: &str,
        expires_at: Option<Millis>,
        now: Millis,
    ) -> Result<ApiToken> {
        people::create_api_token(self, ws, user, name, token_hash, expires_at, now).await
    }
    async fn api_token_user(&self, token_hash: &str, now: Millis) -> Result<Option<User>> {
        people::api_token_user(self, token_hash, now).await
    }
    async fn user_by_email(&self, ws: WorkspaceId, email: &str) -> Result<Option<User>> {
        accounts::user_by_email(self, ws, email).await
    }
    async fn change_user(
        &self,
        ws: WorkspaceId,
        id: UserId,
        change: &UserChange,
        now: Millis,
    ) -> Result<User> {
        accounts::change_user(self, ws, id, change, now).await
    }
    async fn list_api_tokens(&self, ws: WorkspaceId) -> Result<Vec<ApiToken>> {
        accounts::list_api_tokens(self, ws).await
    }
    async fn revoke_api_token(&self, ws: WorkspaceId, id: i64, now: Millis) -> Result<ApiToken> {
        accounts::revoke_api_token(self, ws, id, now).await
    }

    async fn save_version(&self, ws: WorkspaceId, new: &NewVersion, now: Millis) -> Result<SavedVersion> {
        automations::save_version(self, ws, new, now).await
    }
    async fn automation_by_slug(&self, ws: WorkspaceId, slug: &str) -> Result<Option<Automation>> {
        automations::automation_by_slug(self, ws, slug).await
    }
    async fn automation(&self, ws: WorkspaceId, id: AutomationId) -> Result<Automation> {
        automations::automation(self, ws, id).await
    }
    async fn list_automations(&self, ws: WorkspaceId) -> Result<Vec<Automation>> {
        automations::list_automations(self, ws).await
    }
    async fn version(&self, ws: WorkspaceId, id: VersionId) -> Result<Version> {
        automations::version(self, ws, id).await
    }
    async fn list_versions(&self, ws: WorkspaceId, automation: AutomationId) -> Result<Vec<Version>> {
        automations::list_versions(self, ws, automation).await
    }
    async fn artifacts(&self, ws: WorkspaceId, version: VersionId) -> Result<Vec<Artifact>> {
        automations::artifacts(self, ws, version).await
    }

    async fn insert_items(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        items: &[NewItem],
        now: Millis,
    ) -> Result<Vec<Inserted>> {
        items::insert_items(self, ws, automation, items, now).await
    }
    async fn item(&self, ws: WorkspaceId, id: ItemId) -> Result<Item> {
        items::item(&self.reader, ws, id).await
    }
    async fn list_items(&self, ws: WorkspaceId, filter: &ItemFilter) -> Result<Vec<ItemSummary>> {
        item_list::list_items(self, ws, filter).await
    }

    async fn count_items(&self, ws: WorkspaceId, filter: &ItemFilter) -> Result<i64> {
        item_list::count_items(self, ws, filter).await
    }
    async fn load_items(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        items: &[LoadedItem],
    ) -> Result<Vec<ItemId>> {
        bulk::load_items(self, ws, automation, items).await
    }
    async fn inbox_counts(&self, ws: WorkspaceId) -> Result<InboxCounts> {
        items::inbox_counts(self, ws).await
    }
    async fn open_count(&self, ws: WorkspaceId) -> Result<i64> {
        items::open_count(self, ws).await
    }
    async fn optimize(&self) -> Result<()> {
        if self.dialect.backend == Backend::Sqlite {
            optimize_sqlite(&self.writer, &self.analyzed).await?;
        }
        Ok(())
    }
    async fn item_reasons(&self, ws: WorkspaceId, id: ItemId) -> Result<Vec<String>> {
        items::item_reasons(self, ws, id).await
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        limit: u32,
        lease_until: Millis,
        now: Millis,
    ) -> Result<Vec<Job>> {
        jobs::claim_jobs(self, worker, limit, lease_until, now).await
    }
    async fn claim_retry(&self, worker: &str, lease_until: Millis, now: Millis) -> Result<Option<Job>> {
        jobs::claim_retry(self, worker, lease_until, now).await
    }
    async fn complete_processing(&self, worker: &str, done: &[Processed], now: Millis) -> Result<Vec<JobId>> {
        jobs::complete_processing(self, worker, done, now).await
    }
    async fn fail_job(
        &self,
        worker: &str,
        job: JobId,
        error: &str,
        retry_at: Option<Millis>,
        now: Millis,
    ) -> Result<()> {
        jobs::fail_job(self, worker, job, error, retry_at, now).await
    }
    async fn release_jobs(&self, worker: &str) -> Result<u64> {
        jobs::release_jobs(self, worker).await
    }
    async fn renew_lease(&self, worker: &str, job: JobId, lease_until: Millis) -> Result<bool> {
        jobs::renew_lease(self, worker, job, lease_until).await
    }
    async fn queue_depth(&self) -> Result<i64> {
        jobs::queue_depth(self).await
    }

    async fn record_decision(&self, ws: WorkspaceId, decision: &DecisionRecord, now: Millis) -> Result<Item> {
        review::record_decision(self, ws, decision, now).await
    }
    async fn similar_candidates(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        keys: &[i64],
        exclude: ItemId,
        per_key: u32,
    ) -> Result<Vec<(ItemId, u32)>> {
        similar::similar_candidates(self, ws, automation, keys, exclude, per_key).await
    }
    async fn decided_neighbours(&self, ws: WorkspaceId, ids: &[ItemId]) -> Result<Vec<DecidedNeighbour>> {
        similar::decided_neighbours(self, ws, ids).await
    }
    async fn similar_backfill_batch(
        &self,
        ws: WorkspaceId,
        span: u32,
    ) -> Result<Option<SimilarBackfillBatch>> {
        similar_backfill::batch(self, ws, span).await
    }
    async fn save_similar_backfill(
        &self,
        ws: WorkspaceId,
        stretch: BackfillStretch,
        keys: &[(ItemId, Vec<i64>)],
    ) -> Result<bool> {
        similar_backfill::save(self, ws, stretch, keys).await
    }
    async fn restart_similar_backfill(&self, ws: WorkspaceId) -> Result<()> {
        similar_backfill::restart(self, ws).await
    }
    async fn audit_events(&self, ws: WorkspaceId, item: ItemId) -> Result<Vec<AuditEvent>> {
        review::audit_events(self, ws, item).await
    }

    async fn delivery(&self, ws: WorkspaceId, id: DeliveryId) -> Result<Delivery> {
        deliveries::delivery(self, ws, id).await
    }
    async fn list_deliveries(&self, ws: WorkspaceId, filter: &DeliveryFilter) -> Result<Vec<Delivery>> {
        deliveries::list_deliveries(self, ws, filter).await
    }
    async fn delivery_succeeded(
        &self,
        worker: &str,
        job: JobId,
        id: DeliveryId,
        now: Millis,
    ) -> Result<bool> {
        deliveries::delivery_succeeded(self, worker, job, id, now).await
    }
    async fn delivery_failed(
        &self,
        worker: &str,
        job: JobId,
        id: DeliveryId,
        error: &str,
        retry_at: Option<Millis>,
        now: Millis,
    ) -> Result<()> {
        deliveries::delivery_failed(self, worker, job, id, error, retry_at, now).await
    }
    async fn retry_delivery(&self, ws: WorkspaceId, id: DeliveryId, now: Millis) -> Result<Delivery> {
        deliveries::retry_delivery(self, ws, id, now).await
    }

    async fn week_facts(
        &self,
        ws: WorkspaceId,
        automation: Option<AutomationId>,
        from: Millis,
        to: Millis,
    ) -> Result<WeekFacts> {
        measure::week_facts(self, ws, automation, from, to).await
    }
    async fn first_item_at(
        &self,
        ws: WorkspaceId,
        automation: Option<AutomationId>,
    ) -> Result<Option<Millis>> {
        measure::first_item_at(self, ws, automation).await
    }
    async fn save_rollup(
        &self,
        ws: WorkspaceId,
        automation: Option<AutomationId>,
        week_start: Millis,
        figures: &str,
        now: Millis,
    ) -> Result<()> {
        measure::save_rollup(self, ws, automation, week_start, figures, now).await
    }
    async fn rollups(
        &self,
        ws: WorkspaceId,
        automation: Option<AutomationId>,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<(Millis, String)>> {
        measure::rollups(self, ws, automation, from, to).await
    }
    async fn record_hand_work(&self, ws: WorkspaceId, new: &NewHandWork, now: Millis) -> Result<HandWork> {
        measure::record_hand_work(self, ws, new, now).await
    }
    async fn list_hand_work(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        kind: HandWorkKind,
    ) -> Result<Vec<HandWork>> {
        measure::list_hand_work(self, ws, automation, kind).await
    }
    async fn add_note(&self, ws: WorkspaceId, new: &NewNote, now: Millis) -> Result<Option<Note>> {
        measure::add_note(self, ws, new, now).await
    }
    async fn notes(
        &self,
        ws: WorkspaceId,
        automation: Option<AutomationId>,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<Note>> {
        measure::notes(self, ws, automation, from, to).await
    }
    async fn create_share_link(&self, ws: WorkspaceId, new: &NewShareLink, now: Millis) -> Result<ShareLink> {
        measure::create_share_link(self, ws, new, now).await
    }
    async fn share_link(&self, token_hash: &str) -> Result<Option<ShareLink>> {
        measure::share_link(self, token_hash).await
    }
    async fn list_share_links(&self, ws: WorkspaceId) -> Result<Vec<ShareLink>> {
        measure::list_share_links(self, ws).await
    }
    async fn revoke_share_link(&self, ws: WorkspaceId, id: i64, now: Millis) -> Result<()> {
        measure::revoke_share_link(self, ws, id, now).await
    }
    async fn confidences(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<(Option<f64>, bool)>> {
        measure::confidences(self, ws, automation, from, to).await
    }
    async fn save_drift_check(&self, ws: WorkspaceId, check: &DriftCheck) -> Result<bool> {
        measure::save_drift_check(self, ws, check).await
    }
    async fn drift_checks(&self, ws: WorkspaceId, automation: AutomationId) -> Result<Vec<DriftCheck>> {
        measure::drift_checks(self, ws, automation).await
    }
    async fn metrics_snapshot(&self, ws: WorkspaceId, since: Millis) -> Result<MetricsSnapshot> {
        measure::metrics_snapshot(self, ws, since).await
    }
    async fn set_review_policy(&self, policy: &ReviewPolicyRow, now: Millis) -> Result<()> {
        inbox::set_review_policy(self, policy, now).await
    }
    async fn review_policy(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
    ) -> Result<Option<ReviewPolicyRow>> {
        inbox::review_policy(self, ws, automation).await
    }
    async fn notifying_policies(&self) -> Result<Vec<ReviewPolicyRow>> {
        inbox::notifying_policies(self).await
    }
    async fn claim_item(
        &self,
        ws: WorkspaceId,
        item: ItemId,
        user: UserId,
        until: Millis,
        now: Millis,
    ) -> Result<ClaimOutcome> {
        inbox::claim_item(self, ws, item, user, until, now).await
    }
    async fn release_claim(&self, ws: WorkspaceId, item: ItemId, user: UserId) -> Result<()> {
        inbox::release_claim(self, ws, item, user).await
    }
    async fn release_claims(&self, ws: WorkspaceId, user: UserId) -> Result<u64> {
        inbox::release_claims(self, ws, user).await
    }
    async fn active_claims(&self, ws: WorkspaceId, items: &[ItemId], now: Millis) -> Result<Vec<Claim>> {
        inbox::active_claims(self, ws, items, now).await
    }
    async fn overdue_items(&self, now: Millis, limit: u32) -> Result<Vec<OverdueItem>> {
        inbox::overdue_items(self, now, limit).await
    }
    async fn mark_escalated(
        &self,
        ws: WorkspaceId,
        item: ItemId,
        due_at: Millis,
        detail: &str,
        now: Millis,
    ) -> Result<bool> {
        inbox::mark_escalated(self, ws, item, due_at, detail, now).await
    }
    async fn escalated_items(&self, ws: WorkspaceId, items: &[ItemId]) -> Result<Vec<ItemId>> {
        inbox::escalated_items(self, ws, items).await
    }
    async fn record_notification(&self, ws: WorkspaceId, n: &NewNotification, now: Millis) -> Result<i64> {
        inbox::record_notification(self, ws, n, now).await
    }
    async fn list_notifications(
        &self,
        ws: WorkspaceId,
        status: Option<NotificationStatus>,
        limit: u32,
    ) -> Result<Vec<NotificationRow>> {
        inbox::list_notifications(self, ws, status, limit).await
    }
    async fn due_notifications(
        &self,
        ws: WorkspaceId,
        now: Millis,
        limit: u32,
    ) -> Result<Vec<DueNotification>> {
        inbox::due_notifications(self, ws, now, limit).await
    }
    async fn claim_notification(
        &self,
        ws: WorkspaceId,
        due: &DueNotification,
        lease_until: Millis,
        now: Millis,
    ) -> Result<bool> {
        inbox::claim_notification(self, ws, due, lease_until, now).await
    }
    async fn finish_notification(
        &self,
        ws: WorkspaceId,
        id: i64,
        error: Option<&str>,
        next: Option<Millis>,
    ) -> Result<()> {
        inbox::finish_notification(self, ws, id, error, next).await
    }
    async fn last_notification_at(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        kind: &str,
    ) -> Result<Option<Millis>> {
        inbox::last_notification_at(self, ws, automation, kind).await
    }
    async fn report_wrong(&self, ws: WorkspaceId, report: &NewWrongReport, now: Millis) -> Result<Item> {
        inbox::report_wrong(self, ws, report, now).await
    }
    async fn escaped_errors(&self, ws: WorkspaceId, since: Millis) -> Result<Vec<EscapedError>> {
        inbox::escaped_errors(self, ws, since).await
    }
    async fn wrong_reports(&self, ws: WorkspaceId, items: &[ItemId]) -> Result<Vec<EscapedError>> {
        inbox::wrong_reports(self, ws, items).await
    }
    async fn decision_stats(&self, ws: WorkspaceId, since: Millis) -> Result<Vec<DecisionStat>> {
        inbox::decision_stats(self, ws, since).await
    }
    async fn server_secret(&self, name: &str, candidate: &str, now: Millis) -> Result<String> {
        inbox::server_secret(self, name, candidate, now).await
    }
    async fn overdue_count(&self, ws: WorkspaceId, now: Millis) -> Result<i64> {
        inbox::overdue_count(self, ws, now).await
    }
    async fn rollout_state(&self, ws: WorkspaceId, automation: AutomationId) -> Result<Option<RolloutState>> {
        rollout::rollout_state(self, ws, automation).await
    }
    async fn start_rollout(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        stage: Stage,
        now: Millis,
    ) -> Result<RolloutState> {
        rollout::start_rollout(self, ws, automation, stage, now).await
    }
    async fn update_rollout(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        update: &RolloutUpdate,
        event: &NewRolloutEvent,
        now: Millis,
    ) -> Result<RolloutState> {
        rollout::update_rollout(self, ws, automation, update, event, now).await
    }
    async fn add_rollout_event(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        event: &NewRolloutEvent,
        now: Millis,
    ) -> Result<()> {
        rollout::add_rollout_event(self, ws, automation, event, now).await
    }
    async fn rollout_events(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        limit: u32,
    ) -> Result<Vec<RolloutEvent>> {
        rollout::rollout_events(self, ws, automation, limit).await
    }
    async fn activate_version(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        version: VersionId,
        event: &NewRolloutEvent,
        now: Millis,
    ) -> Result<Automation> {
        rollout::activate_version(self, ws, automation, version, event, now).await
    }
    async fn decided_items(&self, ws: WorkspaceId, filter: &DecidedFilter) -> Result<Vec<DecidedItem>> {
        rollout::decided_items(self, ws, filter).await
    }
    async fn add_edge_case(
        &self,
        ws: WorkspaceId,
        case: &NewEdgeCase,
        now: Millis,
    ) -> Result<(EdgeCase, bool)> {
        rollout::add_edge_case(self, ws, case, now).await
    }
    async fn edge_case(&self, ws: WorkspaceId, id: i64) -> Result<EdgeCase> {
        rollout::edge_case(self, ws, id).await
    }
    async fn list_edge_cases(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        status: Option<EdgeCaseStatus>,
    ) -> Result<Vec<EdgeCase>> {
        rollout::list_edge_cases(self, ws, automation, status).await
    }
    async fn decide_edge_case(
        &self,
        ws: WorkspaceId,
        id: i64,
        status: EdgeCaseStatus,
        by: UserId,
        now: Millis,
    ) -> Result<EdgeCase> {
        rollout::decide_edge_case(self, ws, id, status, by, now).await
    }
    async fn record_edge_case_results(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        results: &[NewEdgeCaseResult],
        now: Millis,
    ) -> Result<()> {
        rollout::record_edge_case_results(self, ws, automation, results, now).await
    }
    async fn latest_edge_case_results(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        version: Option<VersionId>,
    ) -> Result<Vec<EdgeCaseResult>> {
        rollout::latest_edge_case_results(self, ws, automation, version).await
    }
    async fn reason_counts(&self, ws: WorkspaceId, automation: AutomationId) -> Result<Vec<(String, i64)>> {
        rollout::reason_counts(self, ws, automation).await
    }
    async fn create_review_session(
        &self,
        ws: WorkspaceId,
        new: &NewReviewSession,
        now: Millis,
    ) -> Result<ReviewSession> {
        rollout_sessions::create_review_session(self, ws, new, now).await
    }
    async fn review_session(&self, ws: WorkspaceId, id: i64) -> Result<ReviewSession> {
        rollout_sessions::review_session(self, ws, id).await
    }
    async fn list_review_sessions(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
    ) -> Result<Vec<ReviewSession>> {
        rollout_sessions::list_review_sessions(self, ws, automation).await
    }
    async fn add_session_note(
        &self,
        ws: WorkspaceId,
        session: i64,
        note: &NewSessionNote,
        now: Millis,
    ) -> Result<SessionNote> {
        rollout_sessions::add_session_note(self, ws, session, note, now).await
    }
    async fn session_notes(&self, ws: WorkspaceId, session: i64) -> Result<Vec<SessionNote>> {
        rollout_sessions::session_notes(self, ws, session).await
    }
    async fn close_review_session(
        &self,
        ws: WorkspaceId,
        close: &CloseReviewSession,
        now: Millis,
    ) -> Result<ReviewSession> {
        rollout_sessions::close_review_session(self, ws, close, now).await
    }
    async fn link_session_decision(
        &self,
        ws: WorkspaceId,
        note: i64,
        version: VersionId,
    ) -> Result<SessionNote> {
        rollout_sessions::link_session_decision(self, ws, note, version).await
    }
    async fn record_card_read(&self, ws: WorkspaceId, read: &CardRead) -> Result<bool> {
        card_reads::record_card_read(self, ws, read).await
    }
    async fn card_reads(&self, ws: WorkspaceId, user: UserId) -> Result<Vec<CardRead>> {
        card_reads::card_reads(self, ws, user).await
    }
    async fn workspace_ids(&self) -> Result<Vec<WorkspaceId>> {
        schedule::workspace_ids(self).await
    }
    async fn claim_scheduled_run(
        &self,
        ws: WorkspaceId,
        kind: &str,
        period_key: &str,
        worker: &str,
        lease_until: Millis,
        now: Millis,
    ) -> Result<Option<ScheduledRun>> {
        schedule::claim_scheduled_run(self, ws, kind, period_key, worker, lease_until, now).await
    }
    async fn finish_scheduled_run(
        &self,
        ws: WorkspaceId,
        id: i64,
        worker: &str,
        outcome: &str,
        now: Millis,
    ) -> Result<bool> {
        schedule::finish_scheduled_run(self, ws, id, worker, outcome, now).await
    }
    async fn scheduled_runs(&self, ws: WorkspaceId, kind: &str) -> Result<Vec<ScheduledRun>> {
        schedule::scheduled_runs(self, ws, kind).await
    }
    async fn prune_scheduled_runs(&self, ws: WorkspaceId, kind: Option<&str>, before: Millis) -> Result<u64> {
        schedule::prune_scheduled_runs(self, ws, kind, before).await
    }
    async fn record_extractor_runs(
        &self,
        ws: WorkspaceId,
        runs: &NewExtractorRuns,
        now: Millis,
    ) -> Result<()> {
        llm::record_extractor_runs(self, ws, runs, now).await
    }
    async fn llm_run(&self, ws: WorkspaceId, item: ItemId) -> Result<Option<LlmRun>> {
        llm::llm_run(self, ws, item).await
    }
    async fn field_runs(&self, ws: WorkspaceId, item: ItemId) -> Result<Vec<FieldRun>> {
        llm::field_runs(self, ws, item).await
    }
    async fn reviewed_field_runs(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
    ) -> Result<Vec<ReviewedFieldRun>> {
        llm::reviewed_field_runs(self, ws, automation).await
    }
    async fn save_llm_calibrations(
        &self,
        ws: WorkspaceId,
        fits: &[LlmCalibration],
        now: Millis,
    ) -> Result<()> {
        llm::save_llm_calibrations(self, ws, fits, now).await
    }
    async fn llm_calibrations(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
    ) -> Result<Vec<LlmCalibration>> {
        llm::llm_calibrations(self, ws, automation).await
    }

    async fn record_correction(
        &self,
        ws: WorkspaceId,
        decision: &DecisionRecord,
        examples: &[NewTrainingExample],
        now: Millis,
    ) -> Result<Item> {
        review::record_decision_teaching(self, ws, decision, examples, now).await
    }
    async fn add_training_examples(
        &self,
        ws: WorkspaceId,
        examples: &[NewTrainingExample],
        now: Millis,
    ) -> Result<()> {
        training::add_training_examples(self, ws, examples, now).await
    }
    async fn training_examples(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        kind: Option<&str>,
    ) -> Result<Vec<TrainingExample>> {
        training::training_examples(self, ws, automation, kind).await
    }
    async fn save_candidate_version(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        new: &NewCandidate,
        now: Millis,
    ) -> Result<Version> {
        training::save_candidate_version(self, ws, automation, new, now).await
    }
    async fn version_evaluation(
        &self,
        ws: WorkspaceId,
        version: VersionId,
    ) -> Result<Option<VersionEvaluation>> {
        training::version_evaluation(self, ws, version).await
    }
}
