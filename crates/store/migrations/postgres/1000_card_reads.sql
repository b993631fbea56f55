-- Automation cards read (PostgreSQL): a reviewer is shown an automation's card before their
-- first decision on it, and their acknowledgement is kept here, one row per member and
-- automation (with the version whose card they read). Numbered 1000 (rollout's range).

CREATE TABLE card_reads (
    workspace_id   BIGINT NOT NULL REFERENCES workspaces(id),
    automation_id  BIGINT NOT NULL REFERENCES automations(id),
    user_id        BIGINT NOT NULL REFERENCES users(id),
    version_id     BIGINT REFERENCES automation_versions(id),
    read_at        BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, user_id, automation_id)
);
