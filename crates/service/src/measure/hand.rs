//! Work done by hand, in two senses: timed work without the automation's help (the
//! measured baseline), and work the team did outside Tandem (an adoption signal, and
//! rework in the hours). An escaped error (an automatic acceptance found wrong afterwards)
//! is "this looks wrong": `Tandem::report_wrong` in the inbox module.

use tandem_domain::{AutomationId, Decision, DecisionAction, ItemId, Role};
use tandem_store::{Automation, HandWork, HandWorkKind, Item, NewHandWork};

use crate::auth::Actor;
use crate::{ServiceError, ServiceResult, Tandem};

/// Longer than this is not one item's work: a timer left running.
const MAX_SECONDS: f64 = 8.0 * 3600.0;
const MAX_NOTE: usize = 2000;

fn check_seconds(seconds: Option<f64>) -> ServiceResult<()> {
    match seconds {
        Some(s) if !(s.is_finite() && s > 0.0 && s <= MAX_SECONDS) => Err(ServiceError::invalid(format!(
            "seconds: {s} is not a time one item takes (more than 0, at most {MAX_SECONDS})"
        ))),
        _ => Ok(()),
    }
}

impl Tandem {
    /// Record that an item of automation `slug` was done by hand. A `Measured` record needs
    /// the seconds it took; an `Outside` one may carry them. An item, when named, must be
    /// one of that automation's, and an item is counted as done outside Tandem once.
    pub async fn record_by_hand(
        &self,
        actor: &Actor,
        slug: &str,
        item: Option<ItemId>,
        kind: HandWorkKind,
        seconds: Option<f64>,
        note: &str,
    ) -> ServiceResult<HandWork> {
        actor.require(Role::Reviewer, "record work done by hand")?;
        let a = self
            .store
            .automation_by_slug(actor.workspace(), slug)
            .await?
            .ok_or(ServiceError::NotFound("automation"))?;
        if let Some(id) = item {
            let found = match self.store.item(actor.workspace(), id).await {
                Ok(i) => Some(i),
                Err(tandem_store::StoreError::NotFound(_)) => None,
                Err(e) => return Err(e.into()),
            };
            if found.is_none_or(|i| i.automation_id != a.id) {
                return Err(ServiceError::invalid(format!(
                    "item_id: {id} is not an item of automation {slug}"
                )));
            }
        }
        self.record_hand_work(actor, &a, item, kind, seconds, note).await
    }

    async fn record_hand_work(
        &self,
        actor: &Actor,
        a: &Automation,
        item: Option<ItemId>,
        kind: HandWorkKind,
        seconds: Option<f64>,
        note: &str,
    ) -> ServiceResult<HandWork> {
        let ws = actor.workspace();
        check_seconds(seconds)?;
        if kind == HandWorkKind::Measured && seconds.is_none() {
            return Err(ServiceError::invalid(
                "seconds: a measured item needs the time it took",
            ));
        }
        if kind == HandWorkKind::Outside
            && let Some(id) = item
            && self.done_outside(ws, a.id, id).await?.is_some()
        {
            return Err(ServiceError::Conflict(
                "this item is already recorded as done by hand outside Tandem".into(),
            ));
        }
        let new = NewHandWork {
            automation_id: a.id,
            item_id: item,
            user_id: Some(actor.user.id),
            kind,
            seconds,
            note: note.trim().chars().take(MAX_NOTE).collect(),
        };
        let done = self.store.record_hand_work(ws, &new, self.now()).await?;
        tracing::info!(automation = %a.slug, kind = kind.as_str(), "work by hand recorded");
        Ok(done)
    }

    /// By-hand mode: the reviewer worked the item out without the automation's answers
    /// and submitted the result as a correction, with the seconds it took. The decision
    /// is recorded as any other (the same values as the automation's make it an approval),
    /// and the time becomes one measurement of the baseline.
    ///
    /// Two writes, decision first: a decision refused (someone else holds the item, it was
    /// already decided) records no time, and a lost timing costs one measurement, never a
    /// decision.
    pub async fn decide_by_hand(
        &self,
        actor: &Actor,
        id: ItemId,
        decision: Decision,
    ) -> ServiceResult<(Item, HandWork)> {
        actor.require(Role::Reviewer, "time items by hand")?;
        if decision.action != DecisionAction::Correct {
            return Err(ServiceError::invalid(
                "action: an item timed by hand is submitted with the values worked out by hand (correct)",
            ));
        }
        if decision.seconds.is_none() {
            return Err(ServiceError::invalid(
                "seconds: an item timed by hand needs the time it took",
            ));
        }
        check_seconds(decision.seconds)?;
        let seconds = decision.seconds;
        let item = self.decide(actor, id, decision).await?;
        let a = self
            .store
            .automation(actor.workspace(), item.automation_id)
            .await?;
        let work = self
            .record_hand_work(
                actor,
                &a,
                Some(id),
                HandWorkKind::Measured,
                seconds,
                "by-hand mode",
            )
            .await?;
        Ok((item, work))
    }

    /// "Did this one by hand": the team did this item outside Tandem.
    pub async fn did_by_hand(&self, actor: &Actor, id: ItemId, note: &str) -> ServiceResult<HandWork> {
        actor.require(Role::Reviewer, "record work done by hand")?;
        let item = self.store.item(actor.workspace(), id).await?;
        let a = self
            .store
            .automation(actor.workspace(), item.automation_id)
            .await?;
        self.record_hand_work(actor, &a, Some(id), HandWorkKind::Outside, None, note)
            .await
    }

    /// The record of `item` done by hand outside Tandem, if there is one.
    pub async fn done_outside(
        &self,
        ws: tandem_domain::WorkspaceId,
        automation: AutomationId,
        item: ItemId,
    ) -> ServiceResult<Option<HandWork>> {
        Ok(self
            .store
            .list_hand_work(ws, automation, HandWorkKind::Outside)
            .await?
            .into_iter()
            .find(|h| h.item_id == Some(item)))
    }
}
