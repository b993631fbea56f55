//! The only crate that speaks SQL. Everything the product keeps goes through [`Store`];
//! each method is one whole unit of work (a review decision and the deliveries it queues
//! commit together), and transactions never cross the trait.
//!
//! One implementation serves SQLite and PostgreSQL: both accept `$1`-style parameters,
//! times are integers passed in by the caller and JSON is text, so the SQL is the same
//! text for both. The few statements that differ (claiming jobs) live in [`sql::Dialect`],
//! and each backend has its own forward-only migrations folder.

mod documents;
mod error;
mod inbox_rows;
mod llm;
mod measure_rows;
mod rollout_rows;
mod rows;
mod schedule;
mod sql;
mod training;

use async_trait::async_trait;

pub use documents::{Document, DocumentReading, DocumentStore, NewDocument, NewDocumentItem};
pub use error::StoreError;
pub use inbox_rows::*;
pub use llm::{FieldRole, FieldRun, LlmCalibration, LlmRun, NewExtractorRuns, ReviewedFieldRun};
pub use measure_rows::*;
pub use rollout_rows::*;
pub use rows::*;
pub use schedule::ScheduledRun;
pub use sql::{
    Backend, MoveProgress, MovedTable, SqlStore, move_workspace, restore_sqlite, workspace_row_counts,
};
pub use training::*;

use tandem_domain::{AutomationId, DeliveryId, ItemId, JobId, Millis, Stage, UserId, VersionId, WorkspaceId};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Open the database at `url` (`sqlite://PATH` or `postgres://...`), run pending
/// migrations, and return it behind the trait.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>> {
    Ok(std::sync::Arc::new(SqlStore::connect(url).await?))
}

#[async_trait]
pub trait Store: DocumentStore + Send + Sync + std::fmt::Debug {
    fn backend(&self) -> Backend;

    /// Leave the database tidy before the process exits: SQLite folds its write-ahead log
    /// into the database and truncates the log's file (PostgreSQL: nothing to do).
    async fn shutdown(&self) -> Result<()>;

    /// Whether the database answers and every migration this build knows has been applied
    /// ([`StoreError::NotMigrated`] names the missing ones).
    async fn readiness(&self) -> Result<()>;

    // --- workspaces and people -------------------------------------------------------
    async fn create_workspace(&self, slug: &str, name: &str, now: Millis) -> Result<Workspace>;
    async fn workspace_by_slug(&self, slug: &str) -> Result<Option<Workspace>>;
    async fn workspace(&self, id: WorkspaceId) -> Result<Workspace>;
    async fn create_user(&self, ws: WorkspaceId, user: &NewUser, now: Millis) -> Result<User>;
    /// A user and their password hash, found by e-mail (case-insensitive).
    async fn user_credentials(&self, email: &str) -> Result<Option<(User, String)>>;
    async fn user(&self, ws: WorkspaceId, id: UserId) -> Result<User>;
    async fn list_users(&self, ws: WorkspaceId) -> Result<Vec<User>>;
    async fn create_session(&self, session: &NewSession, now: Millis) -> Result<()>;
    async fn session(&self, token_hash: &str, now: Millis) -> Result<Option<Session>>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
    async fn create_api_token(
        &self,
        ws: WorkspaceId,
        user: UserId,
        name: &str,
        token_hash: &str,
        expires_at: Option<Millis>,
        now: Millis,
    ) -> Result<ApiToken>;
    /// The user behind a token that is neither revoked nor expired, of a person neither
    /// disabled nor removed; records the use.
    async fn api_token_user(&self, token_hash: &str, now: Millis) -> Result<Option<User>>;
    /// A member of `ws` by e-mail (case-insensitive); removed people are not found.
    async fn user_by_email(&self, ws: WorkspaceId, email: &str) -> Result<Option<User>>;
    /// Change one account, ending the sessions (and, on removal, revoking the tokens) the
    /// change calls for, in one transaction. `Conflict` when it would leave the workspace
    /// without an active admin; `NotFound` for a removed person or one of another workspace.
    async fn change_user(
        &self,
        ws: WorkspaceId,
        id: UserId,
        change: &UserChange,
        now: Millis,
    ) -> Result<User>;
    /// Every token of the workspace, revoked and expired ones included, oldest first.
    async fn list_api_tokens(&self, ws: WorkspaceId) -> Result<Vec<ApiToken>>;
    /// Revoke a token of `ws` (`NotFound` otherwise); it answers 401 from now on.
    async fn revoke_api_token(&self, ws: WorkspaceId, id: i64, now: Millis) -> Result<ApiToken>;

    // --- automations -----------------------------------------------------------------
    /// Store a definition. When its content hash equals the active version's, nothing
    /// changes and `created` is false; otherwise a new version (with its trained models)
    /// becomes active.
    async fn save_version(&self, ws: WorkspaceId, new: &NewVersion, now: Millis) -> Result<SavedVersion>;
    async fn automation_by_slug(&self, ws: WorkspaceId, slug: &str) -> Result<Option<Automation>>;
    async fn automation(&self, ws: WorkspaceId, id: AutomationId) -> Result<Automation>;
    async fn list_automations(&self, ws: WorkspaceId) -> Result<Vec<Automation>>;
    async fn version(&self, ws: WorkspaceId, id: VersionId) -> Result<Version>;
    async fn list_versions(&self, ws: WorkspaceId, automation: AutomationId) -> Result<Vec<Version>>;
    async fn artifacts(&self, ws: WorkspaceId, version: VersionId) -> Result<Vec<Artifact>>;

    // --- items -----------------------------------------------------------------------
    /// Accept items and queue their processing in one transaction. An item whose
    /// idempotency key was seen before is returned as it is, with `created` false.
    async fn insert_items(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        items: &[NewItem],
        now: Millis,
    ) -> Result<Vec<Inserted>>;
    async fn item(&self, ws: WorkspaceId, id: ItemId) -> Result<Item>;
    /// One page of items: at most `filter.limit`, from `filter.from` on (keyset paging).
    async fn list_items(&self, ws: WorkspaceId, filter: &ItemFilter) -> Result<Vec<ItemSummary>>;
    /// How many items the filter matches, from `filter.from` on if it is set (the rows
    /// left from there in the page's direction); the limit does not apply.
    async fn count_items(&self, ws: WorkspaceId, filter: &ItemFilter) -> Result<i64>;
    /// Store items processed (and perhaps decided) elsewhere, in one transaction with
    /// multi-row inserts: their reasons, decision events and similarity keys too, and no
    /// jobs. For filling a store in benchmarks; ids are returned in the input's order.
    async fn load_items(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        items: &[LoadedItem],
    ) -> Result<Vec<ItemId>>;
    async fn inbox_counts(&self, ws: WorkspaceId) -> Result<InboxCounts>;
    /// How many items are open in the inbox (the navigation's badge): the first figure
    /// of `inbox_counts`, without the counts by automation and reason.
    async fn open_count(&self, ws: WorkspaceId) -> Result<i64>;
    /// Keep the query planner's statistics current (SQLite's `PRAGMA optimize`, bounded
    /// by an analysis limit; PostgreSQL's autovacuum does this itself). Run when the store
    /// opens and hourly; a store that grew from empty to a million items needs it for
    /// the planner to prefer the small open-items index.
    async fn optimize(&self) -> Result<()>;
    async fn item_reasons(&self, ws: WorkspaceId, id: ItemId) -> Result<Vec<String>>;

    // --- jobs and processing ----------------------------------------------------------
    /// Lease up to `limit` due jobs to `worker` until `lease_until`. A job whose lease ran
    /// out (its worker died) is due again.
    async fn claim_jobs(
        &self,
        worker: &str,
        limit: u32,
        lease_until: Millis,
        now: Millis,
    ) -> Result<Vec<Job>>;
    /// Lease one due processing job that was claimed before without finishing (its worker
    /// died on it, or it failed and waits for a retry), alone: an item that kills its
    /// process then counts attempts against itself, not against a batch of others.
    async fn claim_retry(&self, worker: &str, lease_until: Millis, now: Millis) -> Result<Option<Job>>;
    /// Store engine results and finish their jobs. Each entry commits only while its
    /// job is still leased to `worker`; the others are reported as lost, not applied.
    async fn complete_processing(&self, worker: &str, done: &[Processed], now: Millis) -> Result<Vec<JobId>>;
    /// Give a job back: retry at `retry_at`, or mark it dead when `retry_at` is `None`.
    async fn fail_job(
        &self,
        worker: &str,
        job: JobId,
        error: &str,
        retry_at: Option<Millis>,
        now: Millis,
    ) -> Result<()>;
    /// Release every job leased to `worker` (graceful shutdown).
    async fn release_jobs(&self, worker: &str) -> Result<u64>;
    /// Extend `worker`'s lease on `job` to `lease_until`, for work still in flight (an LLM
    /// call that may outlast a lease). `false` when the job is no longer `worker`'s: it
    /// was finished, or its lease ran out and another worker took it over.
    async fn renew_lease(&self, worker: &str, job: JobId, lease_until: Millis) -> Result<bool>;
    async fn queue_depth(&self) -> Result<i64>;

    // --- review --------------------------------------------------------------------
    /// Decide an open item. Fails with `Conflict` when someone decided it first.
    async fn record_decision(&self, ws: WorkspaceId, decision: &DecisionRecord, now: Millis) -> Result<Item>;
    async fn audit_events(&self, ws: WorkspaceId, item: ItemId) -> Result<Vec<AuditEvent>>;
    /// Decided items of `automation` sharing band keys with `keys` (see
    /// `engine::similarity`), with the number shared, most first; at most `per_key` items
    /// (the newest) per key, and never `exclude`.
    async fn similar_candidates(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        keys: &[i64],
        exclude: ItemId,
        per_key: u32,
    ) -> Result<Vec<(ItemId, u32)>>;
    /// Those of `ids` in this workspace that a person decided, with the decision's detail.
    async fn decided_neighbours(&self, ws: WorkspaceId, ids: &[ItemId]) -> Result<Vec<DecidedNeighbour>>;
    /// The next stretch of at most `span` item ids in the workspace's similarity backfill
    /// (items decided before the index existed have no keys), newest first, with the items
    /// in it a person decided; `None` when the walk is done or there is none.
    async fn similar_backfill_batch(
        &self,
        ws: WorkspaceId,
        span: u32,
    ) -> Result<Option<SimilarBackfillBatch>>;
    /// Store the band keys of a stretch's items (keys already there are kept) and move the
    /// walk below the stretch, in one transaction. `false`, and nothing written, when the
    /// walk is no longer at the stretch's top (another instance did it first).
    async fn save_similar_backfill(
        &self,
        ws: WorkspaceId,
        stretch: BackfillStretch,
        keys: &[(ItemId, Vec<i64>)],
    ) -> Result<bool>;
    /// Walk the workspace's items again from its newest, as migration 1300 set up for
    /// every workspace then (tests use it to stand in for an upgraded database).
    async fn restart_similar_backfill(&self, ws: WorkspaceId) -> Result<()>;

    // --- delivery ------------------------------------------------------------------
    async fn delivery(&self, ws: WorkspaceId, id: DeliveryId) -> Result<Delivery>;
    async fn list_deliveries(&self, ws: WorkspaceId, filter: &DeliveryFilter) -> Result<Vec<Delivery>>;
    /// Record a successful delivery and finish its job, if `worker` still holds it.
    async fn delivery_succeeded(&self, worker: &str, job: JobId, id: DeliveryId, now: Millis)
    -> Result<bool>;
    /// Record a failed attempt: retry at `retry_at`, or give up when `None`.
    async fn delivery_failed(
        &self,
        worker: &str,
        job: JobId,
        id: DeliveryId,
        error: &str,
        retry_at: Option<Millis>,
        now: Millis,
    ) -> Result<()>;
    /// Queue a failed delivery again (a person pressed "retry").
    async fn retry_delivery(&self, ws: WorkspaceId, id: DeliveryId, now: Millis) -> Result<Delivery>;

    // --- measure ---------------------------------------------------------------------
    /// What happened in `[from, to)` for one automation, or every one when `None`.
    async fn week_facts(
        &self,
        ws: WorkspaceId,
        automation: Option<AutomationId>,
        from: Millis,
        to: Millis,
    ) -> Result<WeekFacts>;
    /// When the first item arrived.
    async fn first_item_at(
        &self,
        ws: WorkspaceId,
        automation: Option<AutomationId>,
    ) -> Result<Option<Millis>>;
    /// Keep a closed week's figures (JSON). A week already kept is left as it is.
    async fn save_rollup(
        &self,
        ws: WorkspaceId,
        automation: Option<AutomationId>,
        week_start: Millis,
        figures: &str,
        now: Millis,
    ) -> Result<()>;
    /// The kept weeks starting in `[from, to)`, oldest first: (week start, figures JSON).
    async fn rollups(
        &self,
        ws: WorkspaceId,
        automation: Option<AutomationId>,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<(Millis, String)>>;
    /// Record work done by hand; once per item and kind.
    async fn record_hand_work(&self, ws: WorkspaceId, new: &NewHandWork, now: Millis) -> Result<HandWork>;
    async fn list_hand_work(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        kind: HandWorkKind,
    ) -> Result<Vec<HandWork>>;
    /// Add a note on a week; `None` when an automatic note with the same key exists.
    async fn add_note(&self, ws: WorkspaceId, new: &NewNote, now: Millis) -> Result<Option<Note>>;
    /// Notes on weeks starting in `[from, to)`: an automation's and the workspace's own.
    async fn notes(
        &self,
        ws: WorkspaceId,
        automation: Option<AutomationId>,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<Note>>;
    async fn create_share_link(&self, ws: WorkspaceId, new: &NewShareLink, now: Millis) -> Result<ShareLink>;
    /// The unrevoked link with this token hash.
    async fn share_link(&self, token_hash: &str) -> Result<Option<ShareLink>>;
    async fn list_share_links(&self, ws: WorkspaceId) -> Result<Vec<ShareLink>>;
    async fn revoke_share_link(&self, ws: WorkspaceId, id: i64, now: Millis) -> Result<()>;
    /// The confidence (lowest in the outcome) and out-of-scope flag of each item an
    /// automation processed in `[from, to)`.
    async fn confidences(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<(Option<f64>, bool)>>;
    /// Keep a week's reliable-range check; false when that week was already checked.
    async fn save_drift_check(&self, ws: WorkspaceId, check: &DriftCheck) -> Result<bool>;
    async fn drift_checks(&self, ws: WorkspaceId, automation: AutomationId) -> Result<Vec<DriftCheck>>;
    /// Counts for `/metrics`, and processing latencies since `since`.
    async fn metrics_snapshot(&self, ws: WorkspaceId, since: Millis) -> Result<MetricsSnapshot>;
    // --- inbox ---------------------------------------------------------------------
    /// Keep an automation's `[review]` policy (from its active version) for SQL to sort by.
    async fn set_review_policy(&self, policy: &ReviewPolicyRow, now: Millis) -> Result<()>;
    async fn review_policy(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
    ) -> Result<Option<ReviewPolicyRow>>;
    /// Every workspace's policies that notify or escalate (for the scheduled sweeps).
    async fn notifying_policies(&self) -> Result<Vec<ReviewPolicyRow>>;
    /// Claim an open item for `user` until `until`, unless someone else's claim is live.
    /// Either way any other item `user` held is given back: a person holds one at a time.
    async fn claim_item(
        &self,
        ws: WorkspaceId,
        item: ItemId,
        user: UserId,
        until: Millis,
        now: Millis,
    ) -> Result<ClaimOutcome>;
    async fn release_claim(&self, ws: WorkspaceId, item: ItemId, user: UserId) -> Result<()>;
    /// Give back every item `user` holds; how many were held.
    async fn release_claims(&self, ws: WorkspaceId, user: UserId) -> Result<u64>;
    /// The unexpired claims on these items, if they are still open.
    async fn active_claims(&self, ws: WorkspaceId, items: &[ItemId], now: Millis) -> Result<Vec<Claim>>;
    /// Open items past their due time and not yet escalated, across workspaces.
    async fn overdue_items(&self, now: Millis, limit: u32) -> Result<Vec<OverdueItem>>;
    /// Record an escalation (and its audit event) once; false when it was already done.
    async fn mark_escalated(
        &self,
        ws: WorkspaceId,
        item: ItemId,
        due_at: Millis,
        detail: &str,
        now: Millis,
    ) -> Result<bool>;
    /// Which of these items have been escalated.
    async fn escalated_items(&self, ws: WorkspaceId, items: &[ItemId]) -> Result<Vec<ItemId>>;
    /// Log a notification (sent, or failed with its retry); returns its id.
    async fn record_notification(&self, ws: WorkspaceId, n: &NewNotification, now: Millis) -> Result<i64>;
    /// The newest notifications first, optionally only those with one status.
    async fn list_notifications(
        &self,
        ws: WorkspaceId,
        status: Option<NotificationStatus>,
        limit: u32,
    ) -> Result<Vec<NotificationRow>>;
    /// Retrying notifications whose next attempt is due, oldest due first.
    async fn due_notifications(
        &self,
        ws: WorkspaceId,
        now: Millis,
        limit: u32,
    ) -> Result<Vec<DueNotification>>;
    /// Take a due notification for one attempt: counts the attempt and moves its next
    /// attempt to `lease_until` (so an instance that dies mid-send leaves it due again
    /// then). False when another instance took it first.
    async fn claim_notification(
        &self,
        ws: WorkspaceId,
        due: &DueNotification,
        lease_until: Millis,
        now: Millis,
    ) -> Result<bool>;
    /// Record how a claimed attempt went: sent (clears the payload and the error), or
    /// failed with the time of the next attempt, or failed for good (`next` is None).
    async fn finish_notification(
        &self,
        ws: WorkspaceId,
        id: i64,
        error: Option<&str>,
        next: Option<Millis>,
    ) -> Result<()>;
    async fn last_notification_at(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        kind: &str,
    ) -> Result<Option<Millis>>;
    /// Send an automatically accepted item back to the inbox and count it as an escaped
    /// error, in one transaction. `Conflict` when it was not accepted automatically.
    async fn report_wrong(&self, ws: WorkspaceId, report: &NewWrongReport, now: Millis) -> Result<Item>;
    async fn escaped_errors(&self, ws: WorkspaceId, since: Millis) -> Result<Vec<EscapedError>>;
    /// The "this looks wrong" reports on these items, oldest first.
    async fn wrong_reports(&self, ws: WorkspaceId, items: &[ItemId]) -> Result<Vec<EscapedError>>;
    /// Every review decision since `since`, oldest first.
    async fn decision_stats(&self, ws: WorkspaceId, since: Millis) -> Result<Vec<DecisionStat>>;
    /// A named server secret: `candidate` is stored if none exists yet; the stored one is
    /// returned, so every instance signs with the same key.
    async fn server_secret(&self, name: &str, candidate: &str, now: Millis) -> Result<String>;
    /// How many open items are past their due time.
    async fn overdue_count(&self, ws: WorkspaceId, now: Millis) -> Result<i64>;
    // --- rollout ---------------------------------------------------------------------
    /// The automation's rollout row; `None` means it predates stages and runs live.
    async fn rollout_state(&self, ws: WorkspaceId, automation: AutomationId) -> Result<Option<RolloutState>>;
    /// Give a new automation its starting stage; an existing row is left as it is.
    async fn start_rollout(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        stage: Stage,
        now: Millis,
    ) -> Result<RolloutState>;
    /// Change stage, champion or sign-off and log the event, in one transaction.
    async fn update_rollout(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        update: &RolloutUpdate,
        event: &NewRolloutEvent,
        now: Millis,
    ) -> Result<RolloutState>;
    /// Log an event without changing the rollout (a notification, a simulator run).
    async fn add_rollout_event(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        event: &NewRolloutEvent,
        now: Millis,
    ) -> Result<()>;
    /// The newest events first.
    async fn rollout_events(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        limit: u32,
    ) -> Result<Vec<RolloutEvent>>;
    /// Make an earlier (or any) version of the automation the active one, with its event.
    async fn activate_version(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        version: VersionId,
        event: &NewRolloutEvent,
        now: Millis,
    ) -> Result<Automation>;
    async fn decided_items(&self, ws: WorkspaceId, filter: &DecidedFilter) -> Result<Vec<DecidedItem>>;
    /// Add an edge case; `false` when the automation already has a case for this input.
    async fn add_edge_case(
        &self,
        ws: WorkspaceId,
        case: &NewEdgeCase,
        now: Millis,
    ) -> Result<(EdgeCase, bool)>;
    async fn edge_case(&self, ws: WorkspaceId, id: i64) -> Result<EdgeCase>;
    async fn list_edge_cases(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        status: Option<EdgeCaseStatus>,
    ) -> Result<Vec<EdgeCase>>;
    /// Accept or decline a proposed case (or change an earlier decision).
    async fn decide_edge_case(
        &self,
        ws: WorkspaceId,
        id: i64,
        status: EdgeCaseStatus,
        by: UserId,
        now: Millis,
    ) -> Result<EdgeCase>;
    async fn record_edge_case_results(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        results: &[NewEdgeCaseResult],
        now: Millis,
    ) -> Result<()>;
    /// The latest result of each case of the automation, on `version` or on any version.
    async fn latest_edge_case_results(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        version: Option<VersionId>,
    ) -> Result<Vec<EdgeCaseResult>>;
    /// How many of the automation's items carry each reason code, most frequent first.
    async fn reason_counts(&self, ws: WorkspaceId, automation: AutomationId) -> Result<Vec<(String, i64)>>;
    async fn create_review_session(
        &self,
        ws: WorkspaceId,
        new: &NewReviewSession,
        now: Millis,
    ) -> Result<ReviewSession>;
    async fn review_session(&self, ws: WorkspaceId, id: i64) -> Result<ReviewSession>;
    async fn list_review_sessions(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
    ) -> Result<Vec<ReviewSession>>;
    async fn add_session_note(
        &self,
        ws: WorkspaceId,
        session: i64,
        note: &NewSessionNote,
        now: Millis,
    ) -> Result<SessionNote>;
    async fn session_notes(&self, ws: WorkspaceId, session: i64) -> Result<Vec<SessionNote>>;
    /// Close a session with its summary and log the rollout event, in one transaction.
    /// `Conflict` when it is already closed; a closed session takes no more notes.
    async fn close_review_session(
        &self,
        ws: WorkspaceId,
        close: &CloseReviewSession,
        now: Millis,
    ) -> Result<ReviewSession>;
    /// Link a session's decision to the version of its automation that carries it out.
    async fn link_session_decision(
        &self,
        ws: WorkspaceId,
        note: i64,
        version: VersionId,
    ) -> Result<SessionNote>;
    /// Keep a member's acknowledgement of an automation's card; `true` the first time,
    /// `false` when they had already acknowledged it. `NotFound` when the automation or the
    /// member is not of this workspace.
    async fn record_card_read(&self, ws: WorkspaceId, read: &CardRead) -> Result<bool>;
    /// The cards a member has acknowledged.
    async fn card_reads(&self, ws: WorkspaceId, user: UserId) -> Result<Vec<CardRead>>;
    // --- scale ---------------------------------------------------------------------
    /// Every workspace's id (the scheduler runs periodic tasks per workspace).
    async fn workspace_ids(&self) -> Result<Vec<WorkspaceId>>;
    /// Claim the run of task `kind` for one period in a workspace. Exactly one caller gets
    /// `Some` for a (workspace, kind, period key); a later caller gets it again only if the
    /// run is unfinished and its lease (`lease_until`) has run out by `now`.
    async fn claim_scheduled_run(
        &self,
        ws: WorkspaceId,
        kind: &str,
        period_key: &str,
        worker: &str,
        lease_until: Millis,
        now: Millis,
    ) -> Result<Option<ScheduledRun>>;
    /// Mark a claimed run finished; false when `worker` no longer holds the claim.
    async fn finish_scheduled_run(
        &self,
        ws: WorkspaceId,
        id: i64,
        worker: &str,
        outcome: &str,
        now: Millis,
    ) -> Result<bool>;
    /// The runs of one task in a workspace, oldest first.
    async fn scheduled_runs(&self, ws: WorkspaceId, kind: &str) -> Result<Vec<ScheduledRun>>;
    /// Forget finished runs created before `before`.
    /// Delete finished runs created before `before`: every task's, or only `kind`'s.
    async fn prune_scheduled_runs(&self, ws: WorkspaceId, kind: Option<&str>, before: Millis) -> Result<u64>;

    // --- llm -------------------------------------------------------------------------
    /// Replace an item's LLM run and field runs (primary and shadow answers) with these.
    async fn record_extractor_runs(
        &self,
        ws: WorkspaceId,
        runs: &NewExtractorRuns,
        now: Millis,
    ) -> Result<()>;
    /// What the LLM step cost on an item's latest processing.
    async fn llm_run(&self, ws: WorkspaceId, item: ItemId) -> Result<Option<LlmRun>>;
    async fn field_runs(&self, ws: WorkspaceId, item: ItemId) -> Result<Vec<FieldRun>>;
    /// Field runs of the automation's approved and corrected items, with their accepted result.
    async fn reviewed_field_runs(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
    ) -> Result<Vec<ReviewedFieldRun>>;
    /// Store fitted calibrators, replacing each field's previous one.
    async fn save_llm_calibrations(
        &self,
        ws: WorkspaceId,
        fits: &[LlmCalibration],
        now: Millis,
    ) -> Result<()>;
    async fn llm_calibrations(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
    ) -> Result<Vec<LlmCalibration>>;
    // --- training ------------------------------------------------------------------
    /// [`Store::record_decision`] plus the training examples the correction teaches, in
    /// the same transaction: a correction is never recorded without what it teaches.
    async fn record_correction(
        &self,
        ws: WorkspaceId,
        decision: &DecisionRecord,
        examples: &[NewTrainingExample],
        now: Millis,
    ) -> Result<Item>;
    /// Keep training examples that come from elsewhere than a review decision.
    async fn add_training_examples(
        &self,
        ws: WorkspaceId,
        examples: &[NewTrainingExample],
        now: Millis,
    ) -> Result<()>;
    /// An automation's training examples, oldest first; `kind` filters (`route`, `document`).
    async fn training_examples(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        kind: Option<&str>,
    ) -> Result<Vec<TrainingExample>>;
    /// Store a retrained version with its models and evaluation, without activating it.
    async fn save_candidate_version(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        new: &NewCandidate,
        now: Millis,
    ) -> Result<Version>;
    /// The evaluation stored with a retrained version, if it has one.
    async fn version_evaluation(
        &self,
        ws: WorkspaceId,
        version: VersionId,
    ) -> Result<Option<VersionEvaluation>>;
}
