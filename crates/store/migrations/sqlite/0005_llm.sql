-- The LLM step and side-by-side extractors (SQLite).
--
-- llm_runs: what the LLM step cost for an item's latest processing (one row per item;
-- reprocessing replaces it). field_runs: per item and field, what the primary extractor
-- and the shadow extractor (if the field names one) answered, with the raw score the
-- calibration is refitted from. llm_calibrations: per automation and field, the
-- calibrator fitted on reviewed items (`tandem llm refit`).
CREATE TABLE llm_runs (
    item_id            INTEGER PRIMARY KEY REFERENCES items(id),
    workspace_id       INTEGER NOT NULL REFERENCES workspaces(id),
    version_id         INTEGER NOT NULL,
    model              TEXT NOT NULL,
    latency_ms         INTEGER NOT NULL,
    prompt_tokens      INTEGER NOT NULL,
    completion_tokens  INTEGER NOT NULL,
    requests           INTEGER NOT NULL,
    error              TEXT,
    created_at         INTEGER NOT NULL
);
CREATE INDEX llm_runs_workspace ON llm_runs(workspace_id, created_at);

CREATE TABLE field_runs (
    item_id        INTEGER NOT NULL REFERENCES items(id),
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    automation_id  INTEGER NOT NULL,
    version_id     INTEGER NOT NULL,
    field          TEXT NOT NULL,
    role           TEXT NOT NULL,
    extractor      TEXT NOT NULL,
    value          TEXT,
    raw_score      REAL,
    confidence     REAL NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (item_id, field, role)
);
CREATE INDEX field_runs_automation ON field_runs(workspace_id, automation_id, field);

CREATE TABLE llm_calibrations (
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    automation_id  INTEGER NOT NULL REFERENCES automations(id),
    field          TEXT NOT NULL,
    calibrator     TEXT NOT NULL,
    points         INTEGER NOT NULL,
    correct        INTEGER NOT NULL,
    fitted_at      INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, automation_id, field)
);
