//! Review sessions: a 30-minute team session over a stratified sample of an automation's
//! items (low confidence, high confidence, new kinds of input, disagreements), where
//! participants vote (agree or disagree with the automation) and comment, and the
//! decisions taken (change a threshold, add an edge case, add a rule) are logged and
//! linked to the version that carries them out.

use serde::Serialize;
use tandem_domain::{ItemId, ItemStatus, Role};
use tandem_store::{ItemFilter, ItemSummary, NewReviewSession, NewSessionNote, ReviewSession, SessionNote};

use crate::auth::Actor;
use crate::{ServiceError, ServiceResult, Tandem};

/// The session length the sample is sized for.
pub const SESSION_MINUTES: f64 = 30.0;
/// Items considered per stratum.
const POOL: u32 = 500;

pub const STRATA: [&str; 4] = ["low_confidence", "high_confidence", "new_kind", "disagreement"];
const VOTES: [&str; 2] = ["agree", "disagree"];
const ACTIONS: [&str; 4] = ["threshold", "edge_case", "rule", "other"];

#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    pub session: ReviewSession,
    pub notes: Vec<SessionNote>,
    /// Decisions and the version number that carries each out, if any yet.
    pub decisions: Vec<(SessionNote, Option<i64>)>,
    /// Once closed: the summary as it stood then.
    pub summary: Option<super::session_close::SessionSummary>,
}

/// Pick `size` items spread evenly over the strata (each list already in the order it
/// should be taken), topping up from the others when one runs short; no item twice.
pub fn stratified(strata: &[(&str, Vec<ItemId>)], size: usize) -> Vec<(ItemId, String)> {
    let mut out: Vec<(ItemId, String)> = Vec::new();
    let mut cursors = vec![0usize; strata.len()];
    let per = size.div_ceil(strata.len().max(1));
    // First pass: up to an even share each; then round-robin over what is left.
    for (k, (name, ids)) in strata.iter().enumerate() {
        while cursors[k] < ids.len()
            && out.iter().filter(|(_, s)| s == name).count() < per
            && out.len() < size
        {
            let id = ids[cursors[k]];
            cursors[k] += 1;
            if !out.iter().any(|(x, _)| *x == id) {
                out.push((id, (*name).to_owned()));
            }
        }
    }
    let mut progressed = true;
    while out.len() < size && progressed {
        progressed = false;
        for (k, (name, ids)) in strata.iter().enumerate() {
            while cursors[k] < ids.len() && out.len() < size {
                let id = ids[cursors[k]];
                cursors[k] += 1;
                if !out.iter().any(|(x, _)| *x == id) {
                    out.push((id, (*name).to_owned()));
                    progressed = true;
                    break;
                }
            }
        }
    }
    out
}

impl Tandem {
    /// Start a session: a sample sized to 30 minutes at the team's measured pace.
    pub async fn start_review_session(
        &self,
        actor: &Actor,
        slug: &str,
        title: &str,
    ) -> ServiceResult<ReviewSession> {
        actor.require(Role::Reviewer, "start review sessions")?;
        let ws = actor.workspace();
        let (a, c) = self.active(ws, slug).await?;
        let list = |statuses: Vec<ItemStatus>, reason: Option<&str>| ItemFilter {
            statuses,
            automation: Some(a.id),
            reason: reason.map(String::from),
            newest_first: true,
            limit: POOL,
            ..ItemFilter::default()
        };
        let decided_or_open = vec![
            ItemStatus::NeedsReview,
            ItemStatus::Approved,
            ItemStatus::Corrected,
            ItemStatus::Rejected,
        ];
        let by_conf = |mut v: Vec<ItemSummary>, asc: bool| {
            v.sort_by(|x, y| {
                let (p, q) = (x.confidence.unwrap_or(0.0), y.confidence.unwrap_or(0.0));
                if asc { p.total_cmp(&q) } else { q.total_cmp(&p) }
            });
            v.into_iter().map(|i| i.id).collect::<Vec<_>>()
        };
        let low = by_conf(
            self.store
                .list_items(ws, &list(decided_or_open.clone(), None))
                .await?,
            true,
        );
        let high = by_conf(
            self.store
                .list_items(
                    ws,
                    &list(vec![ItemStatus::AutoAccepted, ItemStatus::Approved], None),
                )
                .await?,
            false,
        );
        let new_kind: Vec<ItemId> = self
            .store
            .list_items(ws, &list(decided_or_open.clone(), Some("out_of_scope")))
            .await?
            .into_iter()
            .map(|i| i.id)
            .collect();
        let disagreement: Vec<ItemId> = self
            .store
            .list_items(ws, &list(vec![ItemStatus::Corrected], None))
            .await?
            .into_iter()
            .map(|i| i.id)
            .collect();
        // "Low confidence" is every item the engine sent to a person, least sure first.
        // Size to the team's pace: the median time on a decided item, else the baseline.
        let decided = self
            .store
            .decided_items(
                ws,
                &tandem_store::DecidedFilter {
                    automation: a.id,
                    version: None,
                    reason: None,
                    live_only: false,
                    limit: 1_000,
                },
            )
            .await?;
        let minutes = super::agreement(&c.def, &decided)
            .median_seconds
            .map(|s| s / 60.0)
            .or(c.def.baseline.minutes_per_item)
            .unwrap_or(2.0)
            // Talking it over takes longer than deciding alone.
            .max(1.0);
        let size = ((SESSION_MINUTES / minutes).floor() as usize).clamp(4, 30);
        let items = stratified(
            // The rarer strata first, so an item that is both a disagreement and low
            // confidence is shown as the disagreement it is.
            &[
                (STRATA[3], disagreement),
                (STRATA[2], new_kind),
                (STRATA[0], low),
                (STRATA[1], high),
            ],
            size,
        );
        if items.is_empty() {
            return Err(ServiceError::Conflict(format!(
                "{slug} has no items to review yet"
            )));
        }
        let title = title.trim();
        Ok(self
            .store
            .create_review_session(
                ws,
                &NewReviewSession {
                    automation_id: a.id,
                    title: if title.is_empty() {
                        format!("Review of {}", a.name)
                    } else {
                        title.chars().take(200).collect()
                    },
                    created_by: Some(actor.user.id),
                    items,
                },
                self.now(),
            )
            .await?)
    }

    pub async fn review_session(&self, actor: &Actor, id: i64) -> ServiceResult<SessionView> {
        let ws = actor.workspace();
        let session = self.store.review_session(ws, id).await?;
        let notes = self.store.session_notes(ws, id).await?;
        let versions = self.version_numbers(ws, &notes).await?;
        let decisions = notes
            .iter()
            .filter(|n| n.kind == "decision")
            .map(|n| (n.clone(), n.version_id.and_then(|v| versions.get(&v.0).copied())))
            .collect();
        let summary = match session.summary.as_deref() {
            Some(text) => Some(
                serde_json::from_str(text)
                    .map_err(|e| ServiceError::Internal(format!("summary of session {id}: {e}")))?,
            ),
            None => None,
        };
        Ok(SessionView {
            session,
            notes,
            decisions,
            summary,
        })
    }

    /// A vote (`agree`/`disagree` on an item), a comment, or a decision (`threshold`,
    /// `edge_case`, `rule` or `other`, with what was decided).
    pub async fn add_session_note(
        &self,
        actor: &Actor,
        session: i64,
        item: Option<ItemId>,
        kind: &str,
        choice: Option<&str>,
        body: &str,
    ) -> ServiceResult<SessionNote> {
        actor.require(Role::Reviewer, "take part in review sessions")?;
        let body = body.trim();
        let (vote, action) = match kind {
            "vote" => {
                let v = choice
                    .filter(|c| VOTES.contains(c))
                    .ok_or_else(|| ServiceError::invalid("vote: say agree or disagree"))?;
                if item.is_none() {
                    return Err(ServiceError::invalid("vote: name the item you vote on"));
                }
                (Some(v.to_owned()), None)
            }
            "comment" => {
                if body.is_empty() {
                    return Err(ServiceError::invalid("comment: write something"));
                }
                (None, None)
            }
            "decision" => {
                let a = choice.filter(|c| ACTIONS.contains(c)).ok_or_else(|| {
                    ServiceError::invalid(format!(
                        "decision: the action must be one of {}",
                        ACTIONS.join(", ")
                    ))
                })?;
                if body.is_empty() {
                    return Err(ServiceError::invalid("decision: say what was decided"));
                }
                (None, Some(a.to_owned()))
            }
            other => {
                return Err(ServiceError::invalid(format!(
                    "{other:?} is not a kind of note; expected vote, comment or decision"
                )));
            }
        };
        Ok(self
            .store
            .add_session_note(
                actor.workspace(),
                session,
                &NewSessionNote {
                    item_id: item,
                    user_id: actor.user.id,
                    kind: kind.to_owned(),
                    vote,
                    action,
                    body: body.chars().take(4000).collect(),
                },
                self.now(),
            )
            .await?)
    }

    /// Link a session decision to the version (by number) that carries it out.
    pub async fn link_session_decision(
        &self,
        actor: &Actor,
        slug: &str,
        note: i64,
        number: i64,
    ) -> ServiceResult<SessionNote> {
        actor.require(Role::Builder, "link decisions to versions")?;
        let ws = actor.workspace();
        let a = self.automation_named(ws, slug).await?;
        let v = self.version_numbered(ws, &a, number).await?;
        Ok(self.store.link_session_decision(ws, note, v.id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_spreads_over_strata_and_tops_up_from_the_others() {
        let ids = |xs: &[i64]| xs.iter().map(|x| ItemId(*x)).collect::<Vec<_>>();
        let strata = [
            ("low", ids(&[1, 2, 3, 4, 5])),
            ("high", ids(&[6, 7, 8])),
            ("new", ids(&[])),
            ("dis", ids(&[1, 9])),
        ];
        let got = stratified(&strata, 8);
        let names: Vec<(i64, &str)> = got.iter().map(|(i, s)| (i.0, s.as_str())).collect();
        assert_eq!(
            names,
            [
                (1, "low"),
                (2, "low"),
                (6, "high"),
                (7, "high"),
                (9, "dis"),
                (3, "low"),
                (8, "high"),
                (4, "low")
            ],
            "two each first (item 1 only once), then round-robin"
        );
        assert_eq!(stratified(&strata, 3).len(), 3);
        assert!(stratified(&[("a", Vec::new())], 5).is_empty());
    }
}
