-- Each item's reason codes, space-separated, kept on the item beside `item_reasons` (written
-- in the same statements), so that counting the open inbox by reason reads one small
-- partial index instead of probing item_reasons once per open item (22 ms at 20,000 open
-- items; see BENCHMARKS.md, "Exception inbox with 1,000,000 items").
ALTER TABLE items ADD COLUMN reason_codes TEXT NOT NULL DEFAULT '';
UPDATE items i SET reason_codes = s.codes
FROM (SELECT item_id, string_agg(code, ' ' ORDER BY code) AS codes FROM item_reasons GROUP BY item_id) s
WHERE s.item_id = i.id;
CREATE INDEX items_open_reasons ON items(workspace_id, reason_codes)
    WHERE status IN ('needs_review', 'failed');
