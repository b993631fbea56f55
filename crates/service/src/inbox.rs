//! The exception inbox around the decision itself: each automation's review policy
//! (priority, SLA), claims so two reviewers never work on the same item, "this looks
//! wrong" for results accepted without a person, and words for reason codes.

use tandem_domain::definition::ReviewPolicy;
use tandem_domain::{AutomationDef, AutomationId, ItemId, Millis, Role, WorkspaceId};
use tandem_store::{
    Claim, ClaimOutcome, Item, ItemCursor, ItemFilter, ItemSummary, NewWrongReport, PageFrom, ReviewPolicyRow,
};

use crate::auth::Actor;
use crate::{ServiceError, ServiceResult, Tandem};

/// The reason code of an item someone sent back with "this looks wrong".
pub const REPORTED_WRONG: &str = "reported_wrong";

/// Words for a reason code, including the inbox's own.
pub fn reason_label(code: &str) -> &'static str {
    match code {
        REPORTED_WRONG => "Reported wrong",
        other => tandem_engine::pipeline::Reason::label(other),
    }
}

/// One page of an item list, with where it sits in the whole.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ItemPage {
    pub items: Vec<ItemSummary>,
    /// How many items the filter matches in all.
    pub total: i64,
    /// The 1-based position of the page's first row (0 on an empty page).
    pub first: i64,
    /// Where the next page starts, if there are rows after this page.
    #[serde(serialize_with = "cursor")]
    pub next: Option<ItemCursor>,
    /// Where the page before ends, if there are rows before this page.
    #[serde(serialize_with = "cursor")]
    pub prev: Option<ItemCursor>,
}

impl ItemPage {
    /// The 1-based position of the page's last row.
    pub fn last(&self) -> i64 {
        self.first + i64::try_from(self.items.len()).unwrap_or(0) - 1
    }
}

fn cursor<S: serde::Serializer>(c: &Option<ItemCursor>, s: S) -> Result<S::Ok, S::Error> {
    match c {
        Some(c) => s.serialize_some(&c.encode()),
        None => s.serialize_none(),
    }
}

impl Tandem {
    /// One page of items for `filter` (its `from` and `limit`), with the count of all it
    /// matches and the cursors of the pages on either side. Two counts at most: the
    /// whole, and what lies on the far side of the cursor.
    pub async fn page_items(&self, ws: WorkspaceId, filter: &ItemFilter) -> ServiceResult<ItemPage> {
        let items = self.store.list_items(ws, filter).await?;
        let whole = ItemFilter {
            from: None,
            ..filter.clone()
        };
        let total = self.store.count_items(ws, &whole).await?;
        let len = i64::try_from(items.len()).unwrap_or(0);
        let first = match filter.from {
            None => 1,
            // The rows from the cursor on end the list; what comes before them precedes.
            Some(PageFrom::After(_)) => total - self.store.count_items(ws, filter).await? + 1,
            Some(PageFrom::Before(_)) => self.store.count_items(ws, filter).await? - len + 1,
        }
        .max(1);
        let first = if items.is_empty() { 0 } else { first };
        let last = first + len - 1;
        Ok(ItemPage {
            next: items.last().filter(|_| last < total).map(ItemCursor::of),
            prev: items.first().filter(|_| first > 1).map(ItemCursor::of),
            items,
            total,
            first,
        })
    }

    /// Keep the store's copy of an automation's `[review]` policy in step with its active
    /// version, so the inbox can sort by priority and due time in SQL.
    pub async fn sync_review_policy(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        def: &AutomationDef,
    ) -> ServiceResult<()> {
        let p: &ReviewPolicy = &def.review;
        let row = ReviewPolicyRow {
            workspace_id: ws,
            automation_id: automation,
            priority: p.priority.rank(),
            sla_ms: p.sla_ms(),
            escalate_to: serde_json::to_string(&p.escalate_to).unwrap_or_else(|_| "[]".into()),
            notify: serde_json::to_string(&p.notify).unwrap_or_else(|_| "[]".into()),
        };
        self.store.set_review_policy(&row, self.now()).await?;
        Ok(())
    }

    /// A reviewer opens an item: hold it for them for the claim time, unless someone else
    /// holds it, and give back the item they held before. Viewers and closed items claim
    /// nothing.
    pub async fn open_item(&self, actor: &Actor, id: ItemId) -> ServiceResult<ClaimOutcome> {
        if !actor.user.role.allows(Role::Reviewer) {
            let now = self.now();
            let held = self.store.active_claims(actor.workspace(), &[id], now).await?;
            return Ok(held
                .into_iter()
                .next()
                .map_or(ClaimOutcome::NotOpen, ClaimOutcome::HeldBy));
        }
        let now = self.now();
        let until = now + self.claim_ttl_ms();
        Ok(self
            .store
            .claim_item(actor.workspace(), id, actor.user.id, until, now)
            .await?)
    }

    /// Give an item back before the claim runs out (the reviewer moved on).
    pub async fn release_item(&self, actor: &Actor, id: ItemId) -> ServiceResult<()> {
        self.store
            .release_claim(actor.workspace(), id, actor.user.id)
            .await?;
        Ok(())
    }

    /// Give back every item the person holds: they went back to the inbox or signed out.
    pub async fn release_items(&self, actor: &Actor) -> ServiceResult<()> {
        self.store
            .release_claims(actor.workspace(), actor.user.id)
            .await?;
        Ok(())
    }

    pub(crate) fn claim_ttl_ms(&self) -> Millis {
        i64::try_from(self.settings.inbox.claim_ttl.as_millis()).unwrap_or(300_000)
    }

    /// Refuse to decide an item another reviewer holds right now.
    pub(crate) async fn check_claim(&self, actor: &Actor, id: ItemId) -> ServiceResult<()> {
        let now = self.now();
        let claims = self.store.active_claims(actor.workspace(), &[id], now).await?;
        match claims.first() {
            Some(c) if c.user_id != actor.user.id => Err(ServiceError::Conflict(held_message(c, now))),
            _ => Ok(()),
        }
    }

    /// The live claims on these items, for lists.
    pub async fn claims(&self, ws: WorkspaceId, ids: &[ItemId]) -> ServiceResult<Vec<Claim>> {
        Ok(self.store.active_claims(ws, ids, self.now()).await?)
    }

    /// "This looks wrong": send a result that was accepted without a person back to the
    /// inbox, counted as an escaped error with who reported it and why.
    pub async fn report_wrong(&self, actor: &Actor, id: ItemId, reason: &str) -> ServiceResult<Item> {
        actor.require(Role::Viewer, "report a wrong result")?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(ServiceError::invalid_with(
                "say what looks wrong, so the reviewer knows what to check",
                vec!["reason: is required".into()],
            ));
        }
        let report = NewWrongReport {
            item_id: id,
            reporter_id: Some(actor.user.id),
            reporter: actor.user.name.clone(),
            reason: reason.chars().take(2000).collect(),
        };
        let item = self
            .store
            .report_wrong(actor.workspace(), &report, self.now())
            .await?;
        tracing::info!(item = %id, reporter = %actor.user.id, "result reported wrong");
        Ok(item)
    }
}

/// "Rita is working on this item (for 4 more minutes)".
pub fn held_message(c: &Claim, now: Millis) -> String {
    let minutes = ((c.expires_at - now).max(0) + 59_999) / 60_000;
    let unit = if minutes == 1 { "minute" } else { "minutes" };
    format!(
        "{} is working on this item (held for {minutes} more {unit}); it frees up when they decide it, move on, or the time runs out",
        c.user_name
    )
}
