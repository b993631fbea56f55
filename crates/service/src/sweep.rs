//! The inbox's periodic sweep: escalate items past their due time (once each, to the
//! named people and the automation's channels), and send each automation's digest of new
//! and overdue exceptions, every item with signed links to approve or reject it.
//!
//! Escalation is recorded before it is announced, under a primary key, so two instances
//! sweeping at once escalate an item once. Every send is logged in `notifications`
//! (`GET /api/v1/notifications`, and the deliveries page). A send that fails for a reason
//! that may pass (no connection, a timeout, an HTTP 5xx or 429, an SMTP 4xx) is tried
//! again 1, 2, 4 and 8 minutes later, five attempts in all, by a scheduled task that runs
//! once across instances; each attempt first claims the row, so a message goes out once.
//! A failure that will not pass (no SMTP relay configured, a bad address, a webhook that
//! answers 404) is marked failed at once, with its reason in words.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use serde::{Deserialize, Serialize};
use tandem_domain::definition::NotifyChannel;
use tandem_domain::{AutomationId, ItemId, ItemStatus, Millis, WorkspaceId};
use tandem_store::{ItemFilter, ItemSort, ItemSummary, NewNotification, ReviewPolicyRow};

use crate::inbox::reason_label;
use crate::links::LinkAction;
use crate::notify::{Line, Message};
use crate::schedule::{Period, PeriodicTask, TaskRun};
use crate::{ServiceResult, Tandem};

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub escalated: usize,
    /// Messages sent (one per channel).
    pub sent: usize,
    pub failed: usize,
    /// Earlier failed messages sent again (successfully or not) by this sweep.
    pub retried: usize,
}

/// Attempts at one notification, the first included.
pub const NOTIFY_ATTEMPTS: i64 = 5;

/// The wait before the next attempt after `attempts` failed ones: 1, 2, 4, 8 minutes.
pub fn retry_delay(attempts: i64) -> Millis {
    60_000 << (attempts - 1).clamp(0, 10)
}

/// How long one attempt holds a notification; an instance that dies mid-send leaves it
/// due again after this.
const ATTEMPT_LEASE: Millis = 5 * 60_000;

/// What a retry sends again: the channel and the message of the first attempt.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    channel: NotifyChannel,
    message: Message,
}

/// How many items one message lists at most; the rest are counted.
const MAX_LINES: u32 = 25;

fn channels(policy: &ReviewPolicyRow) -> (Vec<String>, Vec<NotifyChannel>) {
    let escalate_to: Vec<String> = serde_json::from_str(&policy.escalate_to).unwrap_or_default();
    let notify: Vec<NotifyChannel> = serde_json::from_str(&policy.notify).unwrap_or_default();
    (escalate_to, notify)
}

/// "in 35 min", "2 h ago" — relative times read at a glance in a chat.
fn relative(at: Millis, now: Millis) -> String {
    let d = (at - now).abs() / 60_000;
    let amount = if d < 120 {
        format!("{d} min")
    } else if d < 48 * 60 {
        format!("{} h", d / 60)
    } else {
        format!("{} days", d / 1440)
    };
    if at >= now {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

impl Tandem {
    /// Run one sweep now, over every workspace (tests, and `tandem` without a worker).
    pub async fn sweep_inbox(&self) -> ServiceResult<SweepReport> {
        let mut report = SweepReport::default();
        for ws in self.store.workspace_ids().await? {
            self.retry_notifications(ws, &mut report).await?;
        }
        self.escalate_overdue(None, &mut report).await?;
        self.send_digests(None, &mut report).await?;
        Ok(report)
    }

    async fn line_for(&self, ws: WorkspaceId, s: &ItemSummary, now: Millis) -> ServiceResult<Line> {
        let base = self.settings.public_url.trim_end_matches('/');
        let reasons: Vec<&str> = s.reasons.iter().map(|c| reason_label(c)).collect();
        let preview: String = s.preview.chars().take(120).collect();
        let preview = preview.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut text = format!("#{} {}", s.id, s.automation_name);
        if !reasons.is_empty() {
            text.push_str(&format!(" — {}", reasons.join(", ")));
        }
        if let Some(due) = s.due_at {
            text.push_str(&if due <= now {
                format!(" — overdue (due {})", relative(due, now))
            } else {
                format!(" — due {}", relative(due, now))
            });
        }
        text.push_str(&format!(": “{preview}”"));
        let mut links = vec![("Open".to_owned(), format!("{base}/items/{}", s.id))];
        if s.status == ItemStatus::NeedsReview {
            links.push((
                "Approve".into(),
                self.decision_link(ws, s.id, LinkAction::Approve).await?,
            ));
        }
        links.push((
            "Reject".into(),
            self.decision_link(ws, s.id, LinkAction::Reject).await?,
        ));
        Ok(Line { text, links })
    }

    async fn deliver_message(
        &self,
        (ws, automation): (WorkspaceId, AutomationId),
        kind: &str,
        channels: &[NotifyChannel],
        msg: &Message,
        items: &[ItemId],
        report: &mut SweepReport,
    ) -> ServiceResult<()> {
        for ch in channels {
            let outcome = self.notify(ch, msg).await;
            let now = self.now();
            let retry = match &outcome {
                Ok(()) => {
                    report.sent += 1;
                    None
                }
                Err(e) => {
                    tracing::warn!(channel = %ch.describe(), error = %e, kind, "notification not sent");
                    report.failed += 1;
                    e.is_transient().then(|| {
                        let pending = Pending {
                            channel: ch.clone(),
                            message: msg.clone(),
                        };
                        (
                            now + retry_delay(1),
                            serde_json::to_string(&pending).unwrap_or_default(),
                        )
                    })
                }
            };
            self.store
                .record_notification(
                    ws,
                    &NewNotification {
                        automation_id: Some(automation),
                        kind: kind.to_owned(),
                        channel: ch.describe(),
                        item_ids: items.to_vec(),
                        error: outcome.err().map(|e| e.to_string()),
                        retry,
                    },
                    now,
                )
                .await?;
        }
        Ok(())
    }

    /// Send again the workspace's failed notifications whose next attempt is due.
    async fn retry_notifications(&self, ws: WorkspaceId, report: &mut SweepReport) -> ServiceResult<()> {
        let now = self.now();
        for due in self.store.due_notifications(ws, now, 100).await? {
            if !self
                .store
                .claim_notification(ws, &due, now + ATTEMPT_LEASE, now)
                .await?
            {
                continue;
            }
            let attempts = due.attempts + 1;
            let Ok(pending) = serde_json::from_str::<Pending>(&due.payload) else {
                self.store
                    .finish_notification(
                        ws,
                        due.id,
                        Some("the stored message could not be read again"),
                        None,
                    )
                    .await?;
                continue;
            };
            report.retried += 1;
            match self.notify(&pending.channel, &pending.message).await {
                Ok(()) => {
                    report.sent += 1;
                    self.store.finish_notification(ws, due.id, None, None).await?;
                }
                Err(e) => {
                    report.failed += 1;
                    let next = (e.is_transient() && attempts < NOTIFY_ATTEMPTS)
                        .then(|| self.now() + retry_delay(attempts));
                    tracing::warn!(
                        channel = %pending.channel.describe(), error = %e, attempts,
                        gave_up = next.is_none(), "notification retry not sent"
                    );
                    let error = format!("attempt {attempts} of {NOTIFY_ATTEMPTS}: {e}");
                    self.store
                        .finish_notification(ws, due.id, Some(&error), next)
                        .await?;
                }
            }
        }
        Ok(())
    }

    async fn escalate_overdue(
        &self,
        only: Option<WorkspaceId>,
        report: &mut SweepReport,
    ) -> ServiceResult<()> {
        let now = self.now();
        let mut overdue = self.store.overdue_items(now, 500).await?;
        overdue.retain(|o| only.is_none_or(|ws| ws == o.workspace_id));
        let mut policies: HashMap<AutomationId, Option<ReviewPolicyRow>> = HashMap::new();
        for o in overdue {
            if let Entry::Vacant(slot) = policies.entry(o.automation_id) {
                slot.insert(self.store.review_policy(o.workspace_id, o.automation_id).await?);
            }
            let Some(Some(policy)) = policies.get(&o.automation_id) else {
                continue;
            };
            let (escalate_to, mut notify) = channels(policy);
            let detail = serde_json::json!({ "due_at": o.due_at, "escalate_to": escalate_to }).to_string();
            if !self
                .store
                .mark_escalated(o.workspace_id, o.item_id, o.due_at, &detail, now)
                .await?
            {
                continue;
            }
            report.escalated += 1;
            if !escalate_to.is_empty() {
                notify.push(NotifyChannel::Email { to: escalate_to });
            }
            if notify.is_empty() {
                continue;
            }
            // The item as the inbox lists it (reasons, due time, preview).
            let list = self
                .store
                .list_items(
                    o.workspace_id,
                    &ItemFilter {
                        automation: Some(o.automation_id),
                        due_before: Some(o.due_at),
                        sort: ItemSort::Due,
                        limit: 1000,
                        ..ItemFilter::default()
                    },
                )
                .await?;
            let Some(summary) = list.iter().find(|s| s.id == o.item_id) else {
                continue;
            };
            let msg = Message {
                subject: format!(
                    "Overdue: item #{} in {} was due {}",
                    o.item_id,
                    summary.automation_name,
                    relative(o.due_at, now)
                ),
                intro: "This exception passed its due time without a decision.".into(),
                lines: vec![self.line_for(o.workspace_id, summary, now).await?],
            };
            self.deliver_message(
                (o.workspace_id, o.automation_id),
                "escalation",
                &notify,
                &msg,
                &[o.item_id],
                report,
            )
            .await?;
        }
        Ok(())
    }

    async fn send_digests(&self, only: Option<WorkspaceId>, report: &mut SweepReport) -> ServiceResult<()> {
        let now = self.now();
        let every = i64::try_from(self.settings.inbox.digest_every.as_millis()).unwrap_or(3_600_000);
        let mut policies = self.store.notifying_policies().await?;
        policies.retain(|p| only.is_none_or(|ws| ws == p.workspace_id));
        for policy in policies {
            let (_, notify) = channels(&policy);
            if notify.is_empty() {
                continue;
            }
            let (ws, automation) = (policy.workspace_id, policy.automation_id);
            let last = self.store.last_notification_at(ws, automation, "digest").await?;
            if last.is_some_and(|l| now - l < every) {
                continue;
            }
            let since = last.unwrap_or(now - every);
            let base = ItemFilter {
                automation: Some(automation),
                limit: MAX_LINES,
                ..ItemFilter::default()
            };
            let new = self
                .store
                .list_items(
                    ws,
                    &ItemFilter {
                        processed_after: Some(since),
                        ..base.clone()
                    },
                )
                .await?;
            let overdue = self
                .store
                .list_items(
                    ws,
                    &ItemFilter {
                        due_before: Some(now),
                        sort: ItemSort::Due,
                        ..base
                    },
                )
                .await?;
            let mut listed: Vec<&ItemSummary> = overdue.iter().collect();
            listed.extend(new.iter().filter(|n| !overdue.iter().any(|o| o.id == n.id)));
            if listed.is_empty() {
                continue;
            }
            let name = listed[0].automation_name.clone();
            let mut lines = Vec::with_capacity(listed.len());
            for s in &listed {
                lines.push(self.line_for(ws, s, now).await?);
            }
            let n_new = new.len();
            let n_overdue = overdue.len();
            let msg = Message {
                subject: format!("{name}: {n_new} new and {n_overdue} overdue exceptions"),
                intro: "Approve or reject from a link (each opens a page that shows exactly what will be decided), or open the item to correct it.".into(),
                lines,
            };
            let ids: Vec<ItemId> = listed.iter().map(|s| s.id).collect();
            self.deliver_message((ws, automation), "digest", &notify, &msg, &ids, report)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::relative;

    #[test]
    fn relative_times() {
        assert_eq!(relative(0, 35 * 60_000), "35 min ago");
        assert_eq!(relative(3 * 3_600_000, 0), "in 3 h");
        assert_eq!(relative(0, 3 * 86_400_000), "3 days ago");
    }
}

/// Escalate overdue items, once a minute per workspace, once across instances (the
/// scheduler picks one runner; `mark_escalated` makes a re-run harmless).
#[derive(Debug)]
pub struct InboxEscalations;

#[async_trait::async_trait]
impl PeriodicTask for InboxEscalations {
    fn kind(&self) -> &'static str {
        "inbox_escalations"
    }
    fn period(&self) -> Period {
        Period::every(std::time::Duration::from_secs(60))
    }
    fn lease(&self) -> std::time::Duration {
        std::time::Duration::from_secs(120)
    }
    async fn run(&self, tandem: &Tandem, run: &TaskRun) -> ServiceResult<String> {
        let mut r = SweepReport::default();
        tandem.escalate_overdue(Some(run.workspace), &mut r).await?;
        Ok(format!(
            "{} escalated; {} sent, {} failed",
            r.escalated, r.sent, r.failed
        ))
    }
}

/// Each automation's digest of new and overdue exceptions, checked hourly per workspace
/// (an automation's digest still waits `inbox.digest_minutes` after its last one).
#[derive(Debug)]
pub struct InboxDigests;

#[async_trait::async_trait]
impl PeriodicTask for InboxDigests {
    fn kind(&self) -> &'static str {
        "inbox_digests"
    }
    fn period(&self) -> Period {
        Period::hourly()
    }
    async fn run(&self, tandem: &Tandem, run: &TaskRun) -> ServiceResult<String> {
        let mut r = SweepReport::default();
        tandem.send_digests(Some(run.workspace), &mut r).await?;
        Ok(format!("{} digests sent, {} failed", r.sent, r.failed))
    }
}

/// Send again failed notifications whose next attempt is due, every minute per
/// workspace, once across instances.
#[derive(Debug)]
pub struct NotificationRetries;

#[async_trait::async_trait]
impl PeriodicTask for NotificationRetries {
    fn kind(&self) -> &'static str {
        "notification_retries"
    }
    fn period(&self) -> Period {
        Period::every(std::time::Duration::from_secs(60))
    }
    fn lease(&self) -> std::time::Duration {
        std::time::Duration::from_secs(300)
    }
    async fn run(&self, tandem: &Tandem, run: &TaskRun) -> ServiceResult<String> {
        let mut r = SweepReport::default();
        tandem.retry_notifications(run.workspace, &mut r).await?;
        Ok(format!(
            "{} retried: {} sent, {} failed",
            r.retried, r.sent, r.failed
        ))
    }
}
