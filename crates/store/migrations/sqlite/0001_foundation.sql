-- Foundation schema (SQLite). Times are milliseconds since the Unix epoch, passed in by
-- the service; JSON documents are TEXT. Every table carries workspace_id.

CREATE TABLE workspaces (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    email          TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    role           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX users_workspace ON users(workspace_id);

CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    user_id       INTEGER NOT NULL REFERENCES users(id),
    token_hash    TEXT NOT NULL UNIQUE,
    csrf_token    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    user_id       INTEGER NOT NULL REFERENCES users(id),
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);

CREATE TABLE automations (
    id                 INTEGER PRIMARY KEY,
    workspace_id       INTEGER NOT NULL REFERENCES workspaces(id),
    slug               TEXT NOT NULL,
    name               TEXT NOT NULL,
    active_version_id  INTEGER,
    created_at         INTEGER NOT NULL,
    UNIQUE (workspace_id, slug)
);

CREATE TABLE automation_versions (
    id              INTEGER PRIMARY KEY,
    workspace_id    INTEGER NOT NULL REFERENCES workspaces(id),
    automation_id   INTEGER NOT NULL REFERENCES automations(id),
    number          INTEGER NOT NULL,
    definition      TEXT NOT NULL,
    content_hash    TEXT NOT NULL,
    created_by      INTEGER,
    created_at      INTEGER NOT NULL,
    UNIQUE (automation_id, number)
);

CREATE TABLE model_artifacts (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    version_id    INTEGER NOT NULL REFERENCES automation_versions(id),
    kind          TEXT NOT NULL,
    bytes         BLOB NOT NULL,
    summary       TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (version_id, kind)
);

CREATE TABLE items (
    id               INTEGER PRIMARY KEY,
    workspace_id     INTEGER NOT NULL REFERENCES workspaces(id),
    automation_id    INTEGER NOT NULL REFERENCES automations(id),
    idempotency_key  TEXT,
    input            TEXT NOT NULL,
    preview          TEXT NOT NULL,
    status           TEXT NOT NULL,
    version_id       INTEGER,
    outcome          TEXT,
    final_result         TEXT,
    confidence       REAL,
    revision         INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    processed_at     INTEGER,
    decided_at       INTEGER,
    decided_by       INTEGER,
    UNIQUE (workspace_id, automation_id, idempotency_key)
);
CREATE INDEX items_inbox ON items(workspace_id, status, created_at);
CREATE INDEX items_automation ON items(workspace_id, automation_id, status, created_at);

CREATE TABLE item_reasons (
    item_id       INTEGER NOT NULL REFERENCES items(id),
    workspace_id  INTEGER NOT NULL,
    code          TEXT NOT NULL,
    PRIMARY KEY (item_id, code)
);
CREATE INDEX item_reasons_code ON item_reasons(workspace_id, code);

CREATE TABLE audit_events (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    item_id       INTEGER,
    actor_id      INTEGER,
    kind          TEXT NOT NULL,
    before_value  TEXT,
    after_value   TEXT,
    detail        TEXT NOT NULL DEFAULT '{}',
    seconds       REAL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX audit_item ON audit_events(workspace_id, item_id, id);

CREATE TABLE deliveries (
    id                 INTEGER PRIMARY KEY,
    workspace_id       INTEGER NOT NULL REFERENCES workspaces(id),
    item_id            INTEGER NOT NULL REFERENCES items(id),
    revision           INTEGER NOT NULL,
    destination_index  INTEGER NOT NULL,
    destination        TEXT NOT NULL,
    delivery_key       TEXT NOT NULL UNIQUE,
    payload            TEXT NOT NULL,
    status             TEXT NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0,
    last_error         TEXT,
    created_at         INTEGER NOT NULL,
    delivered_at       INTEGER
);
CREATE INDEX deliveries_status ON deliveries(workspace_id, status, id);
CREATE INDEX deliveries_item ON deliveries(workspace_id, item_id);

-- The job queue is a table in the same database, so accepting an item and queueing its
-- processing commit together.
CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    item_id       INTEGER,
    delivery_id   INTEGER,
    run_at        INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL,
    locked_by     TEXT,
    locked_until  INTEGER,
    last_error    TEXT,
    created_at    INTEGER NOT NULL
);
CREATE INDEX jobs_ready ON jobs(run_at, id);
