//! An automation's versions: the list, the difference between two definitions, and
//! re-activating an earlier one in one action (rollback). Items name the version that
//! processed them, so outputs before and after a rollback stay attributable.

use serde::Serialize;
use tandem_domain::definition::redact_secrets;
use tandem_domain::{Role, VersionId, WorkspaceId};
use tandem_store::{Automation, NewRolloutEvent, Version};

use crate::auth::Actor;
use crate::{ServiceError, ServiceResult, Tandem};

#[derive(Debug, Clone, Serialize)]
pub struct VersionInfo {
    pub id: VersionId,
    pub number: i64,
    pub active: bool,
    pub created_at: i64,
    pub created_by: Option<String>,
    pub content_hash: String,
}

/// A threshold candidate waiting to go live, and its readiness gate.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub change: super::simulate::ThresholdChange,
    pub gate: super::Gate,
}

/// One line of a definition diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    /// `' '` same, `'-'` only in the older, `'+'` only in the newer.
    pub op: char,
    pub text: String,
}

/// A line diff (longest common subsequence). Definitions are small files, so the
/// quadratic table is cheap and the output is the minimal one people expect.
pub fn diff_lines(old: &str, new: &str) -> Vec<DiffLine> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    let line = |op: char, t: &str| DiffLine {
        op,
        text: t.to_owned(),
    };
    while i < n && j < m {
        if a[i] == b[j] {
            out.push(line(' ', a[i]));
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            out.push(line('-', a[i]));
            i += 1;
        } else {
            out.push(line('+', b[j]));
            j += 1;
        }
    }
    out.extend(a[i..].iter().map(|t| line('-', t)));
    out.extend(b[j..].iter().map(|t| line('+', t)));
    out
}

/// The diff as text, `-`/`+`/` ` prefixed.
pub fn diff_text(lines: &[DiffLine]) -> String {
    lines.iter().map(|l| format!("{}{}\n", l.op, l.text)).collect()
}

impl Tandem {
    pub async fn versions(&self, actor: &Actor, slug: &str) -> ServiceResult<Vec<VersionInfo>> {
        let ws = actor.workspace();
        let a = self.automation_named(ws, slug).await?;
        let users = self.store.list_users(ws).await?;
        Ok(self
            .store
            .list_versions(ws, a.id)
            .await?
            .into_iter()
            .map(|v| VersionInfo {
                id: v.id,
                number: v.number,
                active: a.active_version_id == Some(v.id),
                created_at: v.created_at,
                created_by: v
                    .created_by
                    .and_then(|u| users.iter().find(|x| x.id == u).map(|x| x.name.clone())),
                content_hash: v.content_hash,
            })
            .collect())
    }

    pub(crate) async fn version_numbered(
        &self,
        ws: WorkspaceId,
        a: &Automation,
        number: i64,
    ) -> ServiceResult<Version> {
        self.store
            .list_versions(ws, a.id)
            .await?
            .into_iter()
            .find(|v| v.number == number)
            .ok_or(ServiceError::NotFound("version"))
    }

    /// The definition's changes from version `from` to version `to`, with every secret
    /// hidden (see [`redact_secrets`]): whoever reads a diff never sees a secret.
    pub async fn version_diff(
        &self,
        actor: &Actor,
        slug: &str,
        from: i64,
        to: i64,
    ) -> ServiceResult<Vec<DiffLine>> {
        let ws = actor.workspace();
        let a = self.automation_named(ws, slug).await?;
        let old = self.version_numbered(ws, &a, from).await?;
        let new = self.version_numbered(ws, &a, to).await?;
        Ok(diff_lines(
            &redact_secrets(&old.definition),
            &redact_secrets(&new.definition),
        ))
    }

    /// Whether version `number` was made by a threshold change on a live automation (a
    /// candidate that must pass the gate to go live).
    pub(crate) async fn is_threshold_candidate(
        &self,
        ws: WorkspaceId,
        a: &Automation,
        number: i64,
    ) -> ServiceResult<bool> {
        Ok(self
            .store
            .rollout_events(ws, a.id, 10_000)
            .await?
            .iter()
            .filter(|e| e.kind == super::simulate::THRESHOLD_EVENT)
            .filter_map(|e| serde_json::from_str::<serde_json::Value>(&e.detail).ok())
            .any(|d| d["candidate"] == true && d["version"] == number))
    }

    /// The threshold candidate waiting to go live, if there is one: the newest version a
    /// threshold change made on a live automation, newer than the active version and
    /// never activated since, with its own readiness gate (which counts the champion's
    /// sign-off only when it is for this version).
    pub async fn waiting_candidate(&self, actor: &Actor, slug: &str) -> ServiceResult<Option<Candidate>> {
        actor.require(Role::Viewer, "see rollouts")?;
        let ws = actor.workspace();
        let a = self.automation_named(ws, slug).await?;
        let Some(active) = a.active_version_id else {
            return Ok(None);
        };
        let active = self.store.version(ws, active).await?.number;
        let events = self.store.rollout_events(ws, a.id, 10_000).await?;
        let detail =
            |e: &tandem_store::RolloutEvent| serde_json::from_str::<serde_json::Value>(&e.detail).ok();
        // A version once made active (through the gate, by force, or as a rollback) waits
        // no more, even after a later rollback away from it.
        let activated: Vec<i64> = events
            .iter()
            .filter(|e| {
                matches!(
                    e.kind.as_str(),
                    "candidate_live" | "forced_activation" | "rollback"
                )
            })
            .filter_map(|e| detail(e)?["to"].as_i64())
            .collect();
        let change = events
            .iter()
            .filter(|e| e.kind == super::simulate::THRESHOLD_EVENT)
            .filter_map(|e| serde_json::from_str::<super::simulate::ThresholdChange>(&e.detail).ok())
            .filter(|c| c.candidate && c.version > active && !activated.contains(&c.version))
            .max_by_key(|c| c.version);
        let Some(change) = change else {
            return Ok(None);
        };
        let v = self.version_numbered(ws, &a, change.version).await?;
        let compiled = self.compiled(ws, v.id).await?;
        let gate = self.candidate_gate(ws, &a, &compiled).await?;
        Ok(Some(Candidate { change, gate }))
    }

    /// The readiness gate for a threshold candidate. Its models are the active version's,
    /// so its answers on the active version's decided shadow items are the same: those
    /// are its evidence, judged with its own thresholds. The edge-case suite's results and
    /// the champion's sign-off must be its own.
    pub async fn candidate_gate(
        &self,
        ws: WorkspaceId,
        a: &Automation,
        candidate: &crate::automations::Compiled,
    ) -> ServiceResult<super::Gate> {
        let parent = a.active_version_id.ok_or(ServiceError::Conflict(
            "the automation has no active version".into(),
        ))?;
        let items = self
            .store
            .decided_items(
                ws,
                &tandem_store::DecidedFilter {
                    automation: a.id,
                    version: Some(parent),
                    reason: tandem_domain::Stage::Shadow.reason_code().map(String::from),
                    live_only: false,
                    limit: super::EVIDENCE_LIMIT,
                },
            )
            .await?;
        let shadow = super::agreement(&candidate.def, &items);
        let state = self.store.rollout_state(ws, a.id).await?;
        self.gate_for(ws, a, candidate, state.as_ref(), &shadow).await
    }

    /// Make version `number` the active one again: items processed from now on use it.
    /// The edge-case suite runs on it at once, so its standing is visible.
    pub async fn activate_version(
        &self,
        actor: &Actor,
        slug: &str,
        number: i64,
        reason: Option<&str>,
    ) -> ServiceResult<Automation> {
        actor.require(Role::Builder, "re-activate a version")?;
        let ws = actor.workspace();
        let a = self.automation_named(ws, slug).await?;
        let v = self.version_numbered(ws, &a, number).await?;
        if a.active_version_id == Some(v.id) {
            return Err(ServiceError::Conflict(format!(
                "version {number} is already the active version of {slug}"
            )));
        }
        let from = match a.active_version_id {
            Some(id) => Some(self.store.version(ws, id).await?.number),
            None => None,
        };
        // Load (and check) the pipeline before switching to it.
        let compiled = self.compiled(ws, v.id).await?;
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        let mut detail = serde_json::json!({
            "from": from,
            "to": number,
            "reason": reason.unwrap_or_default(),
        });
        let mut kind = "rollback";
        // A threshold candidate goes live through the gate, like any version going live.
        if self.is_threshold_candidate(ws, &a, number).await? {
            let gate = self.candidate_gate(ws, &a, &compiled).await?;
            if gate.green {
                kind = "candidate_live";
            } else {
                let unmet: Vec<String> = gate
                    .checks
                    .iter()
                    .filter(|c| !c.passed)
                    .map(|c| format!("{}: {}", c.label, c.detail))
                    .collect();
                let admin = actor.user.role.allows(Role::Admin);
                if !admin || reason.is_none() {
                    return Err(ServiceError::invalid_with(
                        format!(
                            "version {number} is a threshold candidate and its readiness gate is not green ({} of {} checks unmet); an admin can activate it anyway with a written reason",
                            unmet.len(),
                            gate.checks.len()
                        ),
                        unmet,
                    ));
                }
                kind = "forced_activation";
                detail["unmet"] = unmet.into();
            }
        }
        let activated = self
            .store
            .activate_version(
                ws,
                a.id,
                v.id,
                &NewRolloutEvent {
                    actor: Some(actor.user.id),
                    kind: kind.into(),
                    detail: detail.to_string(),
                },
                self.now(),
            )
            .await?;
        tracing::info!(automation = %slug, ?from, to = number, "version re-activated");
        if let Err(e) = self.run_suite_on(ws, &activated, v.id).await {
            tracing::warn!(automation = %slug, error = %e, "edge-case suite did not run after re-activation");
        }
        Ok(activated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_diff_keeps_order_and_marks_changes() {
        let d = diff_lines("a\nb\nc\nd\n", "a\nc\nx\nd\ne\n");
        assert_eq!(diff_text(&d), " a\n-b\n c\n+x\n d\n+e\n");
        assert!(diff_lines("same\n", "same\n").iter().all(|l| l.op == ' '));
    }
}
