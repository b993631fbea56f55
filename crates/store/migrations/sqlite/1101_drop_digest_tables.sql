-- digest_subscriptions and digest_log (0007) were never used: the weekly digest goes to
-- each automation's `[[review.notify]]` channels, and the scheduler's `scheduled_runs`
-- claim makes it run once a week across instances. Dead schema goes.
DROP TABLE digest_log;
DROP TABLE digest_subscriptions;
