//! The check-in: the weekly figures with the notes that explain them and the week's top
//! edge cases, for the page, the CSV export, the share link and the digest.

use serde::Serialize;
use tandem_domain::{Millis, Role, WorkspaceId};
use tandem_store::{NewShareLink, Note, ShareLink};

use super::{WEEK_MS, Weekly, week_start};
use crate::auth::{Actor, digest, new_secret};
use crate::{ServiceError, ServiceResult, Tandem};

const MAX_NOTE: usize = 2000;
/// Edge cases shown per check-in.
const TOP_EDGE_CASES: usize = 5;

#[derive(Debug, Clone, Serialize)]
pub struct EdgeCaseLine {
    pub automation: String,
    pub note: String,
    /// The input, shortened for the page.
    pub input: String,
    pub created_at: Millis,
}

#[derive(Debug, Clone, Serialize)]
pub struct Checkin {
    /// What the check-in is about: an automation's name or the workspace's.
    pub title: String,
    pub weekly: Weekly,
    pub notes: Vec<Note>,
    /// Edge cases the team added in the latest week (the rollout's regression suite).
    pub edge_cases: Vec<EdgeCaseLine>,
    /// Edge cases left out because the page is shared without examples: how many.
    pub edge_cases_withheld: usize,
}

impl Tandem {
    pub async fn checkin(
        &self,
        actor: &Actor,
        automation: Option<&str>,
        weeks: usize,
    ) -> ServiceResult<Checkin> {
        actor.require(Role::Viewer, "read the check-in")?;
        self.checkin_in(actor.workspace(), automation, weeks).await
    }

    pub(crate) async fn checkin_in(
        &self,
        ws: WorkspaceId,
        automation: Option<&str>,
        weeks: usize,
    ) -> ServiceResult<Checkin> {
        let weekly = self.weekly_in(ws, automation, weeks).await?;
        let from = weekly.weeks.first().map_or(0, |w| w.week_start);
        let to = weekly.weeks.last().map_or(0, |w| w.week_end);
        let automations = match automation {
            Some(slug) => vec![
                self.store
                    .automation_by_slug(ws, slug)
                    .await?
                    .ok_or(ServiceError::NotFound("automation"))?,
            ],
            None => self.store.list_automations(ws).await?,
        };
        for a in &automations {
            self.check_drift(ws, a).await?;
        }
        self.auto_notes(ws, &automations, &weekly).await?;
        let notes = self
            .store
            .notes(
                ws,
                automations.first().filter(|_| automation.is_some()).map(|a| a.id),
                from,
                to,
            )
            .await?;
        let mut edge_cases = Vec::new();
        let latest = weekly.weeks.last().map_or(0, |w| w.week_start);
        for a in &automations {
            for c in self.store.list_edge_cases(ws, a.id, None).await? {
                if c.created_at >= latest && c.created_at < latest + WEEK_MS {
                    edge_cases.push(EdgeCaseLine {
                        automation: a.name.clone(),
                        note: c.note.clone(),
                        input: shorten(&c.input, 200),
                        created_at: c.created_at,
                    });
                }
            }
        }
        edge_cases.sort_by_key(|c| std::cmp::Reverse(c.created_at));
        edge_cases.truncate(TOP_EDGE_CASES);
        let title = match &weekly.automation {
            Some((_, name)) => name.clone(),
            None => self.store.workspace(ws).await?.name,
        };
        Ok(Checkin {
            title,
            weekly,
            notes,
            edge_cases,
            edge_cases_withheld: 0,
        })
    }

    /// The champion's (or any reviewer's) note on the week holding `at`.
    pub async fn add_week_note(
        &self,
        actor: &Actor,
        automation: Option<&str>,
        at: Millis,
        body: &str,
    ) -> ServiceResult<Note> {
        actor.require(Role::Reviewer, "add a note to a week")?;
        let ws = actor.workspace();
        let body: String = body.trim().chars().take(MAX_NOTE).collect();
        if body.is_empty() {
            return Err(ServiceError::invalid("note: write what happened that week"));
        }
        if at > self.now() + WEEK_MS {
            return Err(ServiceError::invalid(
                "week: a note cannot be on a week that has not begun",
            ));
        }
        let automation_id = match automation {
            Some(slug) => Some(
                self.store
                    .automation_by_slug(ws, slug)
                    .await?
                    .ok_or(ServiceError::NotFound("automation"))?
                    .id,
            ),
            None => None,
        };
        let new = tandem_store::NewNote {
            automation_id,
            week_start: week_start(at),
            at,
            kind: "champion".into(),
            body,
            author_id: Some(actor.user.id),
            dedup_key: None,
        };
        self.store
            .add_note(ws, &new, self.now())
            .await?
            .ok_or_else(|| ServiceError::Internal("a note without a key was not added".into()))
    }

    /// A read-only link to the check-in for people outside Tandem. The token is returned
    /// once; only its digest is kept.
    pub async fn share_checkin(
        &self,
        actor: &Actor,
        automation: Option<&str>,
        label: &str,
        include_examples: bool,
    ) -> ServiceResult<(ShareLink, String)> {
        actor.require(Role::Builder, "share the check-in")?;
        let ws = actor.workspace();
        let automation_id = match automation {
            Some(slug) => Some(
                self.store
                    .automation_by_slug(ws, slug)
                    .await?
                    .ok_or(ServiceError::NotFound("automation"))?
                    .id,
            ),
            None => None,
        };
        let token = new_secret("tck_");
        let label: String = label.trim().chars().take(200).collect();
        let link = self
            .store
            .create_share_link(
                ws,
                &NewShareLink {
                    automation: automation_id,
                    token_hash: digest(&token),
                    label,
                    include_examples,
                    created_by: Some(actor.user.id),
                },
                self.now(),
            )
            .await?;
        Ok((link, token))
    }

    pub async fn revoke_share_link(&self, actor: &Actor, id: i64) -> ServiceResult<()> {
        actor.require(Role::Builder, "revoke a share link")?;
        Ok(self
            .store
            .revoke_share_link(actor.workspace(), id, self.now())
            .await?)
    }

    pub async fn share_links(&self, actor: &Actor) -> ServiceResult<Vec<ShareLink>> {
        actor.require(Role::Builder, "see share links")?;
        Ok(self.store.list_share_links(actor.workspace()).await?)
    }

    /// The check-in a share token opens; not found once revoked.
    pub async fn shared_checkin(&self, token: &str, weeks: usize) -> ServiceResult<Checkin> {
        let link = self
            .store
            .share_link(&digest(token))
            .await?
            .ok_or(ServiceError::NotFound("shared check-in"))?;
        let slug = match link.automation_id {
            Some(a) => Some(self.store.automation(link.workspace_id, a).await?.slug),
            None => None,
        };
        let mut checkin = self.checkin_in(link.workspace_id, slug.as_deref(), weeks).await?;
        // Figures, not customers: the edge cases quote item inputs, so they go out only on
        // a link made to include examples.
        if !link.include_examples {
            checkin.edge_cases_withheld = checkin.edge_cases.len();
            checkin.edge_cases.clear();
        }
        Ok(checkin)
    }
}

fn shorten(s: &str, n: usize) -> String {
    // Inputs are JSON objects; show their text values, not the braces.
    let text = serde_json::from_str::<serde_json::Value>(s)
        .ok()
        .and_then(|v| {
            v.as_object().map(|o| {
                o.values()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(" · ")
            })
        })
        .unwrap_or_else(|| s.to_owned());
    let mut out: String = text.chars().take(n).collect();
    if text.chars().count() > n {
        out.push('…');
    }
    out
}

/// The check-in as CSV: one row per week, figures as numbers (empty when unknown).
pub fn checkin_csv(c: &Checkin) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "week_start",
        "closed",
        "items_in",
        "designed_volume",
        "processed",
        "auto_accepted",
        "share_automatic",
        "approved",
        "corrected",
        "rejected",
        "escaped",
        "median_review_seconds",
        "median_first_touch_seconds",
        "open_at_end",
        "oldest_open_age_hours",
        "hand_outside",
        "override_rate",
        "rubber_stamp_rate",
        "net_hours",
        "net_hours_low",
        "net_hours_high",
        "target_hours",
        "target_met",
        "cumulative_hours",
        "notes",
    ];
    let _ = w.write_record(header);
    let num = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v:.4}"));
    for f in &c.weekly.weeks {
        let notes: Vec<&str> = c
            .notes
            .iter()
            .filter(|n| n.week_start == f.week_start)
            .map(|n| n.body.as_str())
            .collect();
        let a = &f.activity;
        let _ = w.write_record([
            super::date_label(f.week_start),
            f.closed.to_string(),
            a.items_in.to_string(),
            f.designed_volume.map_or(String::new(), |v| v.to_string()),
            a.processed.to_string(),
            a.auto_accepted.to_string(),
            num(f.share_automatic),
            a.approved.to_string(),
            a.corrected.to_string(),
            a.rejected.to_string(),
            a.escaped.to_string(),
            num(a.median_review_seconds),
            num(a.median_first_touch_seconds),
            a.open_at_end.to_string(),
            num(f.oldest_open_age_hours),
            a.hand_outside.to_string(),
            num(f.override_rate),
            num(f.rubber_stamp_rate),
            num(f.net_hours),
            num(f.net_hours_low),
            num(f.net_hours_high),
            num(f.target_hours),
            f.target_met.map_or(String::new(), |m| m.to_string()),
            num(f.cumulative_hours),
            csv_safe(&notes.join(" | ")),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// A cell a spreadsheet would run as a formula gets a leading quote.
fn csv_safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}
