-- A kept week counted an approval or correction of an item reported wrong as a result
-- Tandem gave, although the item had already counted as accepted automatically: its hours
-- held the item's minutes twice. Kept weeks that hold such a decision go, for this
-- automation and for the workspace, and are computed again (with the decision counted
-- once) the next time the check-in reads them; every other kept week stays as it was.
DELETE FROM weekly_rollups
WHERE EXISTS (
    SELECT 1 FROM audit_events e
    JOIN escaped_errors x ON x.workspace_id = e.workspace_id AND x.item_id = e.item_id
                          AND x.created_at <= e.created_at
    WHERE e.workspace_id = weekly_rollups.workspace_id
      AND (weekly_rollups.automation_id = 0 OR weekly_rollups.automation_id = x.automation_id)
      AND e.kind IN ('approved', 'corrected')
      AND e.created_at >= weekly_rollups.week_start
      AND e.created_at < weekly_rollups.week_start + 604800000
);
