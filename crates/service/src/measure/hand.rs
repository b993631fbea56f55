//! Work done by hand, in two senses: timed work without the automation's help (the
//! measured baseline), and work the team did outside Tandem (an adoption signal, and
//! rework in the hours). Also the report of an escaped error: an automatic acceptance
//! found wrong afterwards.

use tandem_domain::{ItemId, Role};
use tandem_store::{HandWork, HandWorkKind, NewHandWork};

use crate::auth::Actor;
use crate::{ServiceError, ServiceResult, Tandem};

/// Longer than this is not one item's work: a timer left running.
const MAX_SECONDS: f64 = 8.0 * 3600.0;
const MAX_NOTE: usize = 2000;

impl Tandem {
    /// Record that an item of automation `slug` was done by hand. A `Measured` record needs
    /// the seconds it took; an `Outside` one may carry them.
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
        let ws = actor.workspace();
        if let Some(s) = seconds
            && !(s.is_finite() && s > 0.0 && s <= MAX_SECONDS)
        {
            return Err(ServiceError::invalid(format!(
                "seconds: {s} is not a time one item takes (more than 0, at most {MAX_SECONDS})"
            )));
        }
        if kind == HandWorkKind::Measured && seconds.is_none() {
            return Err(ServiceError::invalid(
                "seconds: a measured item needs the time it took",
            ));
        }
        let a = self
            .store
            .automation_by_slug(ws, slug)
            .await?
            .ok_or(ServiceError::NotFound("automation"))?;
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

    /// Report an automatically accepted item as wrong: an escaped error.
    pub async fn report_escaped_error(&self, actor: &Actor, item: ItemId, note: &str) -> ServiceResult<()> {
        actor.require(Role::Reviewer, "report an escaped error")?;
        let note: String = note.trim().chars().take(MAX_NOTE).collect();
        self.store
            .record_escaped_error(actor.workspace(), item, actor.user.id, &note, self.now())
            .await?;
        tracing::info!(item = %item, "escaped error reported");
        Ok(())
    }
}
