//! The card comes first: a reviewer is shown an automation's card before their first
//! decision on its items, and their acknowledgement is kept per member. Builders and
//! admins set automations up and write the card's words, so the gate is for reviewers;
//! viewers decide nothing. The pages enforce it (the item page and a decision link open
//! the card first); the JSON API does not, since integrations decide there, not people
//! meeting an automation for the first time.

use tandem_domain::Role;
use tandem_store::{Automation, CardRead};

use crate::auth::Actor;
use crate::{ServiceResult, Tandem};

impl Tandem {
    /// Whether `actor` must read this automation's card before deciding its items.
    pub async fn must_read_card(&self, actor: &Actor, automation_slug: &str) -> ServiceResult<bool> {
        if actor.user.role != Role::Reviewer {
            return Ok(false);
        }
        let a = self.automation_named(actor.workspace(), automation_slug).await?;
        let read = self.store.card_reads(actor.workspace(), actor.user.id).await?;
        Ok(!read.iter().any(|r| r.automation_id == a.id))
    }

    /// The automations with open items whose cards `actor` has still to read, in the
    /// inbox's order of automations.
    pub async fn unread_cards(&self, actor: &Actor) -> ServiceResult<Vec<Automation>> {
        if actor.user.role != Role::Reviewer {
            return Ok(Vec::new());
        }
        let ws = actor.workspace();
        let read = self.store.card_reads(ws, actor.user.id).await?;
        let open = self.store.inbox_counts(ws).await?.by_automation;
        Ok(self
            .store
            .list_automations(ws)
            .await?
            .into_iter()
            .filter(|a| open.iter().any(|(slug, _, n)| *slug == a.slug && *n > 0))
            .filter(|a| !read.iter().any(|r| r.automation_id == a.id))
            .collect())
    }

    /// Record that `actor` read the automation's card (its active version); `true` the
    /// first time.
    pub async fn acknowledge_card(&self, actor: &Actor, slug: &str) -> ServiceResult<bool> {
        actor.require(Role::Viewer, "acknowledge an automation card")?;
        let a = self.automation_named(actor.workspace(), slug).await?;
        let first = self
            .store
            .record_card_read(
                actor.workspace(),
                &CardRead {
                    automation_id: a.id,
                    user_id: actor.user.id,
                    version_id: a.active_version_id,
                    read_at: self.now(),
                },
            )
            .await?;
        if first {
            tracing::info!(automation = %slug, user = %actor.user.email, "card acknowledged");
        }
        Ok(first)
    }

    /// When `actor` acknowledged the automation's card, if they have.
    pub async fn card_read_at(
        &self,
        actor: &Actor,
        slug: &str,
    ) -> ServiceResult<Option<tandem_domain::Millis>> {
        let a = self.automation_named(actor.workspace(), slug).await?;
        Ok(self
            .store
            .card_reads(actor.workspace(), actor.user.id)
            .await?
            .into_iter()
            .find(|r| r.automation_id == a.id)
            .map(|r| r.read_at))
    }
}
