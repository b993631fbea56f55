-- Measurement (issue 8): weekly rollups, work done by hand, notes on weeks, share links,
-- reliable-range checks and check-in digests. Times are milliseconds since the epoch;
-- automation_id 0 stands for "every automation of the workspace" where a row can be
-- either (a NULL would not take part in the unique keys the same way on both backends).

-- The figures of a closed week, computed once after the week ended (JSON, see
-- tandem_store::WeekActivity), so a year of check-ins reads 52 rows.
CREATE TABLE weekly_rollups (
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    automation_id  INTEGER NOT NULL,
    week_start     INTEGER NOT NULL,
    figures        TEXT NOT NULL,
    computed_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, automation_id, week_start)
);

-- Work done by hand: `measured` (a reviewer handled an item without the automation's
-- help while the time was recorded: the measured baseline) or `outside` (the team did an
-- item outside Tandem: an adoption signal).
CREATE TABLE hand_work (
    id             INTEGER PRIMARY KEY,
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    automation_id  INTEGER NOT NULL REFERENCES automations(id),
    item_id        INTEGER REFERENCES items(id),
    user_id        INTEGER REFERENCES users(id),
    kind           TEXT NOT NULL,
    seconds        REAL,
    note           TEXT NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL
);
CREATE INDEX hand_work_time ON hand_work(workspace_id, automation_id, kind, created_at);

-- Notes on a week: the champion's own and automatic ones (volume spike, new kind of
-- input, version change, delivery outage, growing backlog, drift). `dedup_key` keeps an
-- automatic note from being added twice.
CREATE TABLE week_notes (
    id             INTEGER PRIMARY KEY,
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    automation_id  INTEGER NOT NULL,
    week_start     INTEGER NOT NULL,
    at             INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    body           TEXT NOT NULL,
    author_id      INTEGER REFERENCES users(id),
    dedup_key      TEXT,
    created_at     INTEGER NOT NULL,
    UNIQUE (workspace_id, dedup_key)
);
CREATE INDEX week_notes_week ON week_notes(workspace_id, week_start);

-- Read-only links to the check-in for people outside Tandem. Only the token's hash is kept.
CREATE TABLE share_links (
    id             INTEGER PRIMARY KEY,
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    automation_id  INTEGER NOT NULL,
    token_hash     TEXT NOT NULL UNIQUE,
    label          TEXT NOT NULL DEFAULT '',
    created_by     INTEGER REFERENCES users(id),
    created_at     INTEGER NOT NULL,
    revoked_at     INTEGER
);
CREATE INDEX share_links_workspace ON share_links(workspace_id);

-- One reliable-range check per automation and week: the population stability index of
-- the confidences and the out-of-scope rate against the reference period.
CREATE TABLE drift_checks (
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    automation_id  INTEGER NOT NULL REFERENCES automations(id),
    week_start     INTEGER NOT NULL,
    psi            REAL NOT NULL,
    oos_rate       REAL NOT NULL,
    reference_oos_rate REAL NOT NULL,
    items          INTEGER NOT NULL,
    drifted        INTEGER NOT NULL,
    detail         TEXT NOT NULL DEFAULT '{}',
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, automation_id, week_start)
);

-- Where the weekly digest goes (a Slack-compatible webhook or an e-mail address), and
-- what was sent, once per subscription and week.
CREATE TABLE digest_subscriptions (
    id             INTEGER PRIMARY KEY,
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    kind           TEXT NOT NULL,
    target         TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    revoked_at     INTEGER
);
CREATE TABLE digest_log (
    subscription_id INTEGER NOT NULL REFERENCES digest_subscriptions(id),
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    week_start     INTEGER NOT NULL,
    status         TEXT NOT NULL,
    error          TEXT,
    sent_at        INTEGER NOT NULL,
    PRIMARY KEY (subscription_id, week_start)
);

-- The weekly figures read the audit trail by time.
CREATE INDEX audit_time ON audit_events(workspace_id, created_at);
CREATE INDEX items_processed ON items(workspace_id, processed_at);
