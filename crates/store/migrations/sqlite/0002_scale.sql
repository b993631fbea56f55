-- Scale-out (SQLite): scheduled work that runs once across instances.
--
-- A periodic task (a weekly digest, an SLA sweep, a rollup) claims its run by inserting
-- (workspace, kind, period key); the unique key makes exactly one claimer win. A claim
-- carries a lease: if the winner dies before finishing, the lease runs out and another
-- instance may take the run over (so a crashed run is retried, a finished one never is).
CREATE TABLE scheduled_runs (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    kind          TEXT NOT NULL,
    period_key    TEXT NOT NULL,
    claimed_by    TEXT NOT NULL,
    lease_until   INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    finished_at   INTEGER,
    outcome       TEXT,
    UNIQUE (workspace_id, kind, period_key)
);
CREATE INDEX scheduled_runs_recent ON scheduled_runs(workspace_id, kind, created_at);

-- Releasing a dead or stopping worker's jobs looks them up by worker.
CREATE INDEX jobs_locked_by ON jobs(locked_by);
