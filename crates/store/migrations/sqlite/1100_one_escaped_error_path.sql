-- One path for escaped errors. "This looks wrong" (the inbox) writes an `escaped_errors`
-- row; the measurement API used to write an audit event of kind 'escaped_error' instead,
-- and the weekly figures counted only those. Both endpoints now make the same report and
-- the figures count `escaped_errors`, so the old events become rows there (their items
-- stay where they were) and ordinary 'reported_wrong' events in the item's history.
INSERT INTO escaped_errors (workspace_id, item_id, automation_id, reporter_id, reporter, reason, created_at)
SELECT e.workspace_id, e.item_id, i.automation_id, e.actor_id, COALESCE(u.name, 'API'),
       COALESCE(json_extract(e.detail, '$.note'), ''), e.created_at
FROM audit_events e
JOIN items i ON i.id = e.item_id AND i.workspace_id = e.workspace_id
LEFT JOIN users u ON u.id = e.actor_id AND u.workspace_id = e.workspace_id
WHERE e.kind = 'escaped_error'
  AND NOT EXISTS (SELECT 1 FROM escaped_errors x WHERE x.workspace_id = e.workspace_id AND x.item_id = e.item_id);
UPDATE audit_events SET kind = 'reported_wrong' WHERE kind = 'escaped_error';
CREATE INDEX escaped_errors_item ON escaped_errors(workspace_id, item_id);
