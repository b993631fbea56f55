-- Training (issue 4 part 4, issue 5 part 5): corrections made in the inbox become
-- training examples, and a retrained candidate version keeps its evaluation beside the
-- version it was compared with.

CREATE TABLE training_examples (
    id             INTEGER PRIMARY KEY,
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    automation_id  INTEGER NOT NULL REFERENCES automations(id),
    -- The item whose correction produced it (NULL for examples added another way).
    item_id        INTEGER REFERENCES items(id),
    -- 'route': {"text", "label"}; 'document': {"id", "text", "fields"}.
    kind           TEXT NOT NULL,
    example        TEXT NOT NULL,
    created_by     INTEGER,
    created_at     INTEGER NOT NULL
);
CREATE INDEX training_examples_automation ON training_examples(workspace_id, automation_id, kind, id);

CREATE TABLE version_evaluations (
    id                  INTEGER PRIMARY KEY,
    workspace_id        INTEGER NOT NULL REFERENCES workspaces(id),
    version_id          INTEGER NOT NULL REFERENCES automation_versions(id),
    -- The version that was active when the candidate was trained and compared.
    compared_version_id INTEGER REFERENCES automation_versions(id),
    report              TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    UNIQUE (version_id)
);
