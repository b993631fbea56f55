//! Closing a review session (by whoever started it, the champion, a builder or an admin): the summary of its votes, comments and decisions as they
//! stood when the team finished, kept with the session and logged in the rollout's
//! history. Each decision keeps its link to the version that carries it out, which can
//! still be made after closing (the version often comes the day after).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tandem_domain::Role;
use tandem_store::{CloseReviewSession, NewRolloutEvent, ReviewSession, SessionNote};

use crate::auth::Actor;
use crate::{ServiceError, ServiceResult, Tandem};

/// Votes on one sampled item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemTally {
    pub item_id: i64,
    pub stratum: String,
    pub agree: u32,
    pub disagree: u32,
    pub comments: u32,
}

/// A decision as logged in the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionLine {
    pub note_id: i64,
    /// `threshold`, `edge_case`, `rule` or `other`.
    pub action: String,
    pub body: String,
    pub by: Option<String>,
    /// The version that carries it out, when one was linked by the time of closing.
    pub version: Option<i64>,
}

/// What a session came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub items: u32,
    /// Sampled items that got at least one vote.
    pub items_voted: u32,
    pub agree: u32,
    pub disagree: u32,
    /// Comments: on their own, or written with a vote.
    pub comments: u32,
    /// Names of the people who voted, commented or decided.
    pub participants: Vec<String>,
    /// Per stratum: (stratum, agree, disagree), in sampling order.
    pub by_stratum: Vec<(String, u32, u32)>,
    /// Items where more people disagreed with the automation than agreed.
    pub disputed: Vec<i64>,
    pub by_item: Vec<ItemTally>,
    pub decisions: Vec<DecisionLine>,
}

/// The summary of a session's notes. Pure, so its figures can be checked by hand.
pub fn summarise(
    session: &ReviewSession,
    notes: &[SessionNote],
    versions: &BTreeMap<i64, i64>,
) -> SessionSummary {
    let mut by_item: Vec<ItemTally> = session
        .items
        .iter()
        .map(|i| ItemTally {
            item_id: i.item_id.0,
            stratum: i.stratum.clone(),
            agree: 0,
            disagree: 0,
            comments: 0,
        })
        .collect();
    let mut participants: Vec<String> = Vec::new();
    let mut comments = 0;
    let mut decisions = Vec::new();
    for n in notes {
        if let Some(name) = &n.user_name
            && !participants.contains(name)
        {
            participants.push(name.clone());
        }
        let tally = n
            .item_id
            .and_then(|id| by_item.iter_mut().find(|t| t.item_id == id.0));
        match n.kind.as_str() {
            "vote" => {
                if let Some(t) = tally {
                    match n.vote.as_deref() {
                        Some("agree") => t.agree += 1,
                        Some("disagree") => t.disagree += 1,
                        _ => {}
                    }
                    if !n.body.is_empty() {
                        t.comments += 1;
                        comments += 1;
                    }
                }
            }
            "comment" => {
                comments += 1;
                if let Some(t) = tally {
                    t.comments += 1;
                }
            }
            "decision" => decisions.push(DecisionLine {
                note_id: n.id,
                action: n.action.clone().unwrap_or_default(),
                body: n.body.clone(),
                by: n.user_name.clone(),
                version: n.version_id.and_then(|v| versions.get(&v.0).copied()),
            }),
            _ => {}
        }
    }
    let mut by_stratum: Vec<(String, u32, u32)> = Vec::new();
    for t in &by_item {
        match by_stratum.iter_mut().find(|s| s.0 == t.stratum) {
            Some(s) => {
                s.1 += t.agree;
                s.2 += t.disagree;
            }
            None => by_stratum.push((t.stratum.clone(), t.agree, t.disagree)),
        }
    }
    SessionSummary {
        items: u32::try_from(by_item.len()).unwrap_or(u32::MAX),
        items_voted: u32::try_from(by_item.iter().filter(|t| t.agree + t.disagree > 0).count())
            .unwrap_or(u32::MAX),
        agree: by_item.iter().map(|t| t.agree).sum(),
        disagree: by_item.iter().map(|t| t.disagree).sum(),
        comments,
        participants,
        by_stratum,
        disputed: by_item
            .iter()
            .filter(|t| t.disagree > t.agree)
            .map(|t| t.item_id)
            .collect(),
        by_item,
        decisions,
    }
}

impl Tandem {
    /// Close a session: its summary is kept as it stands now and the close is logged in
    /// the automation's rollout history. The champion, a builder or an admin closes it.
    pub async fn close_review_session(&self, actor: &Actor, id: i64) -> ServiceResult<SessionSummary> {
        let ws = actor.workspace();
        let session = self.store.review_session(ws, id).await?;
        let champion = self
            .store
            .rollout_state(ws, session.automation_id)
            .await?
            .and_then(|st| st.champion_id);
        let me = Some(actor.user.id);
        if !(actor.user.role.allows(Role::Builder) || session.created_by == me || champion == me) {
            return Err(ServiceError::Forbidden {
                have: format!("a {} who did not start this session", actor.user.role),
                need: "whoever started it, the automation's champion, a builder or an admin".into(),
                action: "close this review session".into(),
            });
        }
        if session.closed_at.is_some() {
            return Err(ServiceError::Conflict(
                "this review session is already closed".into(),
            ));
        }
        let notes = self.store.session_notes(ws, id).await?;
        let versions = self.version_numbers(ws, &notes).await?;
        let summary = summarise(&session, &notes, &versions);
        let text = serde_json::to_string(&summary)
            .map_err(|e| ServiceError::Internal(format!("session summary: {e}")))?;
        self.store
            .close_review_session(
                ws,
                &CloseReviewSession {
                    session: id,
                    by: actor.user.id,
                    summary: text,
                    event: NewRolloutEvent {
                        actor: Some(actor.user.id),
                        kind: "review_session".into(),
                        detail: serde_json::json!({
                            "session": id,
                            "title": session.title,
                            "items": summary.items,
                            "agree": summary.agree,
                            "disagree": summary.disagree,
                            "decisions": summary.decisions.len(),
                        })
                        .to_string(),
                    },
                },
                self.now(),
            )
            .await?;
        tracing::info!(
            session = id,
            decisions = summary.decisions.len(),
            "review session closed"
        );
        Ok(summary)
    }

    /// Version id -> number for the versions the notes' decisions are linked to.
    pub(crate) async fn version_numbers(
        &self,
        ws: tandem_domain::WorkspaceId,
        notes: &[SessionNote],
    ) -> ServiceResult<BTreeMap<i64, i64>> {
        let mut out = BTreeMap::new();
        for v in notes.iter().filter_map(|n| n.version_id) {
            if let std::collections::btree_map::Entry::Vacant(e) = out.entry(v.0) {
                e.insert(self.store.version(ws, v).await?.number);
            }
        }
        Ok(out)
    }
}
