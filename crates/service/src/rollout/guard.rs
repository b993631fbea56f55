//! The correction-rate guard. When the live version's share of corrected items among its
//! last N reviewed items passes the definition's limit, automatic acceptance pauses (the
//! automation goes to `paused`, so everything goes to the inbox) and the team is told.
//! Only automations with a `[rollout]` section are guarded: the window and the limit are
//! part of that section, and automations without one keep the behaviour they had.

use tandem_domain::{ItemStatus, Stage};
use tandem_store::{DecidedFilter, Item, NewRolloutEvent, RolloutUpdate};

use crate::{ServiceResult, Tandem};

/// What the guard measured, for the event and the notification.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardReading {
    pub window: u32,
    pub reviewed: u32,
    pub corrected: u32,
    pub limit: f64,
}

impl GuardReading {
    pub fn tripped(&self) -> bool {
        self.reviewed >= self.window
            && self.reviewed > 0
            && f64::from(self.corrected) / f64::from(self.reviewed) > self.limit
    }
}

impl Tandem {
    /// Called after every decision; never fails the decision itself.
    pub(crate) async fn after_decision(&self, item: &Item) {
        if let Err(e) = self.guard(item).await {
            tracing::warn!(item = %item.id, error = %e, "the correction-rate guard could not run");
        }
        if item.status == ItemStatus::Corrected
            && let Err(e) = self.propose_from_correction(item).await
        {
            tracing::warn!(item = %item.id, error = %e, "could not propose the correction as an edge case");
        }
    }

    async fn guard(&self, item: &Item) -> ServiceResult<()> {
        let ws = item.workspace_id;
        if self.stage_of(ws, item.automation_id).await? != Stage::Live {
            return Ok(());
        }
        let automation = self.store.automation(ws, item.automation_id).await?;
        let Some(active) = automation.active_version_id else {
            return Ok(());
        };
        let compiled = self.compiled(ws, active).await?;
        let Some(rollout) = &compiled.def.rollout else {
            return Ok(());
        };
        let recent = self
            .store
            .decided_items(
                ws,
                &DecidedFilter {
                    automation: automation.id,
                    version: Some(active),
                    reason: None,
                    live_only: true,
                    limit: rollout.guard_window,
                },
            )
            .await?;
        let reading = GuardReading {
            window: rollout.guard_window,
            reviewed: u32::try_from(recent.len()).unwrap_or(u32::MAX),
            corrected: u32::try_from(
                recent
                    .iter()
                    .filter(|d| d.status == ItemStatus::Corrected)
                    .count(),
            )
            .unwrap_or(u32::MAX),
            limit: rollout.guard_correction_rate,
        };
        if !reading.tripped() {
            return Ok(());
        }
        let detail = serde_json::json!({
            "version": compiled.version.number,
            "reviewed": reading.reviewed,
            "corrected": reading.corrected,
            "limit": reading.limit,
            "message": format!(
                "{} of the last {} reviewed items of version {} were corrected (limit {:.0}%): automatic acceptance is paused and every item goes to the inbox until someone resumes it",
                reading.corrected, reading.reviewed, compiled.version.number, reading.limit * 100.0
            ),
        });
        let paused = self
            .store
            .update_rollout(
                ws,
                automation.id,
                &RolloutUpdate {
                    stage: Some(Stage::Paused),
                    only_if_stage: Some(Stage::Live),
                    ..RolloutUpdate::default()
                },
                &NewRolloutEvent {
                    actor: None,
                    kind: "guard_paused".into(),
                    detail: detail.to_string(),
                },
                self.now(),
            )
            .await;
        match paused {
            Ok(_) => {
                tracing::warn!(automation = %automation.slug, corrected = reading.corrected, reviewed = reading.reviewed, "correction-rate guard paused automatic acceptance");
                let message = detail["message"].as_str().unwrap_or_default().to_owned();
                self.tell_team(&automation, &compiled.def, &message).await;
                Ok(())
            }
            // Someone moved it meanwhile: nothing to pause.
            Err(tandem_store::StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

impl Tandem {
    /// Tell the team through the automation's notification channels (`[[review.notify]]`),
    /// and log each attempt, so a pause is never silent even when a channel fails.
    async fn tell_team(
        &self,
        automation: &tandem_store::Automation,
        def: &tandem_domain::AutomationDef,
        message: &str,
    ) {
        let url = format!(
            "{}/automations/{}/rollout",
            self.settings.public_url.trim_end_matches('/'),
            automation.slug
        );
        let msg = crate::notify::Message {
            subject: format!("{}: automatic acceptance paused", automation.name),
            intro: message.to_owned(),
            lines: vec![crate::notify::Line {
                text: "Every item now goes to the inbox. Look at the recent corrections, then resume on the rollout page.".into(),
                links: vec![("Open the rollout page".into(), url)],
            }],
        };
        for channel in &def.review.notify {
            let sent = self.notify(channel, &msg).await;
            if let Err(e) = &sent {
                tracing::warn!(automation = %automation.slug, channel = %channel.describe(), error = %e, "could not tell the team about the pause");
            }
            let event = NewRolloutEvent {
                actor: None,
                kind: if sent.is_ok() { "notified" } else { "notify_failed" }.into(),
                detail: serde_json::json!({
                    "channel": channel.describe(),
                    "error": sent.err().map(|e| e.to_string()),
                })
                .to_string(),
            };
            if let Err(e) = self
                .store
                .add_rollout_event(automation.workspace_id, automation.id, &event, self.now())
                .await
            {
                tracing::warn!(automation = %automation.slug, error = %e, "could not log a notification");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_waits_for_a_full_window_and_trips_above_the_limit() {
        let r = |reviewed, corrected| GuardReading {
            window: 10,
            reviewed,
            corrected,
            limit: 0.2,
        };
        assert!(!r(9, 9).tripped(), "not a full window yet");
        assert!(!r(10, 2).tripped(), "20% is not above a 20% limit");
        assert!(r(10, 3).tripped());
    }
}
