-- A notification that could not be sent is tried again with backoff (1, 2, 4, 8 minutes;
-- five attempts in all). `status` is sent, retrying or failed (gave up); `payload` keeps
-- the channel and the message while a retry may still need them, and is cleared once the
-- message is sent or given up on. It holds the webhook URL, so no API ever returns it.
ALTER TABLE notifications ADD COLUMN status TEXT NOT NULL DEFAULT 'sent';
ALTER TABLE notifications ADD COLUMN attempts BIGINT NOT NULL DEFAULT 1;
ALTER TABLE notifications ADD COLUMN next_attempt_at BIGINT;
ALTER TABLE notifications ADD COLUMN last_attempt_at BIGINT;
ALTER TABLE notifications ADD COLUMN payload TEXT;
-- Failures logged before retries existed were never retried: they stay failed.
UPDATE notifications SET status = 'failed' WHERE error IS NOT NULL;
UPDATE notifications SET last_attempt_at = created_at;
CREATE INDEX notifications_retry_due ON notifications(workspace_id, next_attempt_at)
    WHERE status = 'retrying';
