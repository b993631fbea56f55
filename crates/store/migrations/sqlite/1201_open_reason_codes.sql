-- Each item's reason codes, space-separated, kept on the item beside `item_reasons` (written
-- in the same statements), so that counting the open inbox by reason reads one small
-- partial index instead of probing item_reasons once per open item (22 ms at 20,000 open
-- items; see BENCHMARKS.md, "Exception inbox with 1,000,000 items").
ALTER TABLE items ADD COLUMN reason_codes TEXT NOT NULL DEFAULT '';
UPDATE items SET reason_codes = COALESCE(
    (SELECT group_concat(code, ' ') FROM
        (SELECT code FROM item_reasons r WHERE r.item_id = items.id ORDER BY code)), '')
WHERE id IN (SELECT item_id FROM item_reasons);
CREATE INDEX items_open_reasons ON items(workspace_id, reason_codes)
    WHERE status IN ('needs_review', 'failed');
