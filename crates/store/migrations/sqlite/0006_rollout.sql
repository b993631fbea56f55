-- Rollout (SQLite): each automation's stage and champion, the rollout's event log (stage
-- changes, sign-offs, rollbacks, guard trips), and the team's edge cases with their runs.
-- An automation without a rollout row is live: automations made before stages keep working.

CREATE TABLE automation_rollout (
    automation_id          INTEGER PRIMARY KEY REFERENCES automations(id),
    workspace_id           INTEGER NOT NULL REFERENCES workspaces(id),
    stage                  TEXT NOT NULL,
    champion_id            INTEGER REFERENCES users(id),
    signed_off_by          INTEGER REFERENCES users(id),
    signed_off_version_id  INTEGER REFERENCES automation_versions(id),
    signed_off_at          INTEGER,
    updated_at             INTEGER NOT NULL
);
CREATE INDEX automation_rollout_workspace ON automation_rollout(workspace_id);

CREATE TABLE rollout_events (
    id             INTEGER PRIMARY KEY,
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    automation_id  INTEGER NOT NULL REFERENCES automations(id),
    actor_id       INTEGER,
    kind           TEXT NOT NULL,
    detail         TEXT NOT NULL DEFAULT '{}',
    created_at     INTEGER NOT NULL
);
CREATE INDEX rollout_events_automation ON rollout_events(workspace_id, automation_id, id);

CREATE TABLE edge_cases (
    id              INTEGER PRIMARY KEY,
    workspace_id    INTEGER NOT NULL REFERENCES workspaces(id),
    automation_id   INTEGER NOT NULL REFERENCES automations(id),
    input           TEXT NOT NULL,
    input_hash      TEXT NOT NULL,
    expected        TEXT NOT NULL,
    note            TEXT NOT NULL,
    origin          TEXT NOT NULL,
    source_item_id  INTEGER,
    status          TEXT NOT NULL,
    added_by        INTEGER,
    created_at      INTEGER NOT NULL,
    decided_by      INTEGER,
    decided_at      INTEGER,
    UNIQUE (workspace_id, automation_id, input_hash)
);
CREATE INDEX edge_cases_status ON edge_cases(workspace_id, automation_id, status, id);

CREATE TABLE edge_case_results (
    id             INTEGER PRIMARY KEY,
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    automation_id  INTEGER NOT NULL REFERENCES automations(id),
    edge_case_id   INTEGER NOT NULL REFERENCES edge_cases(id),
    version_id     INTEGER NOT NULL REFERENCES automation_versions(id),
    status         TEXT NOT NULL,
    output         TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX edge_case_results_case ON edge_case_results(workspace_id, edge_case_id, id);
