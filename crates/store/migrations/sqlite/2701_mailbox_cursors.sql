-- Mailboxes read by the worker (issue 16): per automation and mailbox (server, user and
-- folder), the folder's UIDVALIDITY and the last UID accepted as items. Advanced after each
-- message is stored, so a restart goes on where the last poll stopped; a message read
-- again after a crash is the same item by its content hash.
CREATE TABLE mailbox_cursors (
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    automation_id  INTEGER NOT NULL REFERENCES automations(id),
    mailbox        TEXT NOT NULL,
    uid_validity   INTEGER NOT NULL,
    last_uid       INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, automation_id, mailbox)
);
