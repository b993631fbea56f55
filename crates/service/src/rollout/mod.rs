//! Rolling an automation out: its stage (draft, shadow, live, paused), its champion and
//! their sign-off, the evidence from shadow (agreement with people), the readiness gate,
//! versions and rollback, the correction-rate guard, and the team's edge cases.
//!
//! The worker asks [`Tandem::stage_of`] before it accepts anything on its own: only a live
//! automation accepts and delivers without a person.

pub mod agreement;
pub mod card;
mod card_reads;
pub mod edge_cases;
pub mod gate;
mod guard;
pub mod session_close;
pub mod sessions;
pub mod simulate;
pub mod versions;

use serde::Serialize;
use tandem_domain::{AutomationId, Role, Stage, UserId, WorkspaceId};
use tandem_store::{
    Automation, DecidedFilter, NewRolloutEvent, RolloutEvent, RolloutState, RolloutUpdate, User,
};

use crate::auth::Actor;
use crate::automations::Compiled;
use crate::{ServiceError, ServiceResult, Tandem};

pub use agreement::{Agreement, Measure, agreement};
pub use gate::{Check, Gate};

/// Shadow items read for the evidence; enough for any sensible gate.
const EVIDENCE_LIMIT: u32 = 100_000;

/// Everything the rollout page and `GET .../rollout` show.
#[derive(Debug, Clone, Serialize)]
pub struct RolloutView {
    pub automation: Automation,
    pub stage: Stage,
    pub version: i64,
    pub champion: Option<User>,
    pub signed_off_by: Option<User>,
    pub signed_off_version: Option<i64>,
    /// Agreement between the active version and people over its decided shadow items.
    pub shadow: Agreement,
    pub gate: Gate,
    pub events: Vec<RolloutEvent>,
}

/// A request to move an automation to another stage.
#[derive(Debug, Clone)]
pub struct StageChange {
    pub to: Stage,
    /// Why; required when forcing past a red gate.
    pub reason: Option<String>,
    /// Go live although the gate is not green (admins only, with a reason).
    pub force: bool,
}

impl Tandem {
    /// The stage that governs an automation's items now. An automation without a rollout
    /// row predates stages and is live.
    pub async fn stage_of(&self, ws: WorkspaceId, automation: AutomationId) -> ServiceResult<Stage> {
        Ok(self
            .store
            .rollout_state(ws, automation)
            .await?
            .map_or(Stage::Live, |s| s.stage))
    }

    pub(crate) async fn automation_named(&self, ws: WorkspaceId, slug: &str) -> ServiceResult<Automation> {
        self.store
            .automation_by_slug(ws, slug)
            .await?
            .ok_or(ServiceError::NotFound("automation"))
    }

    /// A newly created automation starts in the stage its definition names.
    pub(crate) async fn start_rollout_of(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        stage: Stage,
    ) -> ServiceResult<()> {
        if stage != Stage::Live {
            self.store
                .start_rollout(ws, automation, stage, self.now())
                .await?;
        }
        Ok(())
    }

    /// Agreement over the decided shadow items that version `c` produced. Only that
    /// version's items are evidence for it: an older version's outputs say nothing about
    /// how this one behaves, so a new version starts its shadow evidence afresh.
    pub async fn shadow_agreement(
        &self,
        ws: WorkspaceId,
        automation: AutomationId,
        c: &Compiled,
    ) -> ServiceResult<Agreement> {
        let items = self
            .store
            .decided_items(
                ws,
                &DecidedFilter {
                    automation,
                    version: Some(c.version.id),
                    reason: Stage::Shadow.reason_code().map(String::from),
                    live_only: false,
                    limit: EVIDENCE_LIMIT,
                },
            )
            .await?;
        Ok(agreement(&c.def, &items))
    }

    pub async fn rollout(&self, actor: &Actor, slug: &str) -> ServiceResult<RolloutView> {
        let ws = actor.workspace();
        let (automation, compiled) = self.active(ws, slug).await?;
        let state = self.store.rollout_state(ws, automation.id).await?;
        let stage = state.as_ref().map_or(Stage::Live, |s| s.stage);
        let user = |id: Option<UserId>| async move {
            match id {
                Some(id) => self.store.user(ws, id).await.map(Some),
                None => Ok(None),
            }
        };
        let champion = user(state.as_ref().and_then(|s| s.champion_id)).await?;
        let signed_off_by = user(state.as_ref().and_then(|s| s.signed_off_by)).await?;
        let signed_off_version = match state.as_ref().and_then(|s| s.signed_off_version_id) {
            Some(v) => Some(self.store.version(ws, v).await?.number),
            None => None,
        };
        let shadow = self.shadow_agreement(ws, automation.id, &compiled).await?;
        let gate = self
            .gate_for(ws, &automation, &compiled, state.as_ref(), &shadow)
            .await?;
        let events = self.store.rollout_events(ws, automation.id, 50).await?;
        Ok(RolloutView {
            version: compiled.version.number,
            automation,
            stage,
            champion,
            signed_off_by,
            signed_off_version,
            shadow,
            gate,
            events,
        })
    }

    /// Move an automation to another stage. Going live from draft or shadow needs a green
    /// readiness gate, or an admin who forces it with a written reason (which is logged
    /// with the checks that were not met).
    pub async fn change_stage(
        &self,
        actor: &Actor,
        slug: &str,
        change: StageChange,
    ) -> ServiceResult<RolloutState> {
        actor.require(Role::Builder, "change an automation's stage")?;
        let ws = actor.workspace();
        let (automation, compiled) = self.active(ws, slug).await?;
        let state = self.store.rollout_state(ws, automation.id).await?;
        let from = state.as_ref().map_or(Stage::Live, |s| s.stage);
        let to = change.to;
        let reason = change
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| r.chars().take(2000).collect::<String>());
        if from == to {
            return Err(ServiceError::Conflict(format!("{slug} is already {to}")));
        }
        let allowed = matches!(
            (from, to),
            (Stage::Draft, Stage::Shadow | Stage::Live)
                | (Stage::Shadow, Stage::Draft | Stage::Live)
                | (Stage::Live, Stage::Paused | Stage::Shadow)
                | (Stage::Paused, Stage::Live | Stage::Shadow)
        );
        if !allowed {
            return Err(ServiceError::Conflict(format!(
                "{slug} cannot go from {from} to {to}; from {from} it can go to {}",
                next_stages(from).join(" or ")
            )));
        }
        let mut detail = serde_json::json!({ "from": from, "to": to, "version": compiled.version.number });
        if let Some(r) = &reason {
            detail["reason"] = r.clone().into();
        }
        let mut kind = "stage";
        if to == Stage::Live && matches!(from, Stage::Draft | Stage::Shadow) {
            let shadow = self.shadow_agreement(ws, automation.id, &compiled).await?;
            let gate = self
                .gate_for(ws, &automation, &compiled, state.as_ref(), &shadow)
                .await?;
            if !gate.green {
                let unmet: Vec<String> = gate
                    .checks
                    .iter()
                    .filter(|c| !c.passed)
                    .map(|c| format!("{}: {}", c.label, c.detail))
                    .collect();
                if !change.force {
                    return Err(ServiceError::invalid_with(
                        format!(
                            "the readiness gate is not green ({} of {} checks unmet); an admin can go live anyway with a written reason",
                            unmet.len(),
                            gate.checks.len()
                        ),
                        unmet,
                    ));
                }
                actor.require(Role::Admin, "go live without a green readiness gate")?;
                if reason.is_none() {
                    return Err(ServiceError::invalid(
                        "going live without a green gate needs a written reason",
                    ));
                }
                kind = "forced_live";
                detail["unmet"] = unmet.into();
            }
        }
        let st = self
            .store
            .update_rollout(
                ws,
                automation.id,
                &RolloutUpdate {
                    stage: Some(to),
                    only_if_stage: Some(from),
                    ..RolloutUpdate::default()
                },
                &NewRolloutEvent {
                    actor: Some(actor.user.id),
                    kind: kind.into(),
                    detail: detail.to_string(),
                },
                self.now(),
            )
            .await?;
        tracing::info!(automation = %slug, %from, %to, forced = kind == "forced_live", "stage changed");
        Ok(st)
    }

    /// Name the automation's champion (a reviewer or above), or remove them.
    pub async fn set_champion(
        &self,
        actor: &Actor,
        slug: &str,
        email: Option<&str>,
    ) -> ServiceResult<RolloutState> {
        actor.require(Role::Builder, "name a champion")?;
        let ws = actor.workspace();
        let automation = self.automation_named(ws, slug).await?;
        let champion = match email.map(str::trim).filter(|e| !e.is_empty()) {
            None => None,
            Some(e) => {
                let user = self
                    .store
                    .list_users(ws)
                    .await?
                    .into_iter()
                    .find(|u| u.email.eq_ignore_ascii_case(e))
                    .ok_or_else(|| ServiceError::invalid(format!("{e} is not a member of this workspace")))?;
                if !user.role.allows(Role::Reviewer) {
                    return Err(ServiceError::invalid(format!(
                        "{e} is a {}; a champion reviews items, so needs the reviewer role or above",
                        user.role
                    )));
                }
                Some(user)
            }
        };
        let st = self
            .store
            .update_rollout(
                ws,
                automation.id,
                &RolloutUpdate {
                    champion: Some(champion.as_ref().map(|u| u.id)),
                    // A new champion signs off for themselves.
                    sign_off: Some(None),
                    ..RolloutUpdate::default()
                },
                &NewRolloutEvent {
                    actor: Some(actor.user.id),
                    kind: "champion".into(),
                    detail: serde_json::json!({
                        "champion": champion.as_ref().map(|u| u.email.clone()),
                    })
                    .to_string(),
                },
                self.now(),
            )
            .await?;
        Ok(st)
    }

    /// The champion's sign-off on the active version going live.
    pub async fn sign_off(
        &self,
        actor: &Actor,
        slug: &str,
        note: Option<&str>,
    ) -> ServiceResult<RolloutState> {
        self.sign_off_version(actor, slug, None, note).await
    }

    /// The champion's sign-off on version `number` (a threshold candidate waiting to go
    /// live), or on the active version when `None`.
    pub async fn sign_off_version(
        &self,
        actor: &Actor,
        slug: &str,
        number: Option<i64>,
        note: Option<&str>,
    ) -> ServiceResult<RolloutState> {
        let ws = actor.workspace();
        let (automation, compiled) = match number {
            None => self.active(ws, slug).await?,
            Some(n) => {
                let (a, _) = self.active(ws, slug).await?;
                let v = self.version_numbered(ws, &a, n).await?;
                let c = self.compiled(ws, v.id).await?;
                (a, c)
            }
        };
        self.require_champion(actor, automation.id, "sign off going live")
            .await?;
        let st = self
            .store
            .update_rollout(
                ws,
                automation.id,
                &RolloutUpdate {
                    sign_off: Some(Some((actor.user.id, compiled.version.id))),
                    ..RolloutUpdate::default()
                },
                &NewRolloutEvent {
                    actor: Some(actor.user.id),
                    kind: "sign_off".into(),
                    detail: serde_json::json!({
                        "version": compiled.version.number,
                        "note": note.map(str::trim).unwrap_or_default(),
                    })
                    .to_string(),
                },
                self.now(),
            )
            .await?;
        Ok(st)
    }

    /// Only the automation's champion (or an admin, who can always stand in) may.
    pub(crate) async fn require_champion(
        &self,
        actor: &Actor,
        automation: AutomationId,
        action: &str,
    ) -> ServiceResult<()> {
        if actor.user.role.allows(Role::Admin) {
            return Ok(());
        }
        let st = self.store.rollout_state(actor.workspace(), automation).await?;
        match st.and_then(|s| s.champion_id) {
            Some(c) if c == actor.user.id => Ok(()),
            Some(_) => Err(ServiceError::Forbidden {
                have: "not this automation's champion".into(),
                need: "its champion (or an admin)".into(),
                action: action.into(),
            }),
            None => Err(ServiceError::Conflict(format!(
                "this automation has no champion yet; a builder names one before anyone can {action}"
            ))),
        }
    }
}

fn next_stages(from: Stage) -> Vec<&'static str> {
    match from {
        Stage::Draft => vec!["shadow", "live"],
        Stage::Shadow => vec!["draft", "live"],
        Stage::Live => vec!["paused", "shadow"],
        Stage::Paused => vec!["live", "shadow"],
    }
}

impl Tandem {
    /// A new version: a new automation starts in its definition's stage, and the
    /// accepted edge cases run on the version at once.
    pub(crate) async fn after_new_version(
        &self,
        automation: &Automation,
        version: &tandem_store::Version,
        start: Stage,
    ) -> ServiceResult<()> {
        let ws = automation.workspace_id;
        if version.number == 1 {
            self.start_rollout_of(ws, automation.id, start).await?;
        }
        match self.run_suite_on(ws, automation, version.id).await {
            Ok(report) if !report.cases.is_empty() => {
                self.store
                    .add_rollout_event(
                        ws,
                        automation.id,
                        &NewRolloutEvent {
                            actor: None,
                            kind: "suite".into(),
                            detail: serde_json::json!({
                                "version": report.version,
                                "passed": report.passed,
                                "failed": report.failed,
                                "changed": report.changed,
                            })
                            .to_string(),
                        },
                        self.now(),
                    )
                    .await?;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(automation = %automation.slug, error = %e, "edge-case suite did not run on the new version")
            }
        }
        Ok(())
    }
}

/// Words for the reason a stage puts on an item, for the item page.
pub fn stage_reason_message(code: &str) -> Option<&'static str> {
    match code {
        "shadow_mode" => Some(
            "Shadow mode: this automation is not live yet, so every item is reviewed, and decided shadow items are never delivered: nothing is sent, not even after you decide. Your decision is the ground truth it is measured against.",
        ),
        "draft_mode" => Some(
            "Draft: this automation is being set up; decided draft items are never delivered, so nothing is sent, not even after you decide.",
        ),
        "paused" => Some(
            "Automatic acceptance is paused for this automation, so every item is reviewed before anything is sent.",
        ),
        "field_shadow" => Some(
            "A field of this automation is in shadow: fill it in yourself; the automation's value is kept aside to measure it.",
        ),
        "field_suggest" => Some(
            "A field of this automation is only suggested, not yet accepted on its own: check the pre-filled value.",
        ),
        _ => None,
    }
}

/// What a reviewer is shown and approves: the result without the values of fields in
/// shadow, which the reviewer fills in unprompted (the stored outcome keeps them, so
/// agreement is still measured).
pub fn hide_shadowed(def: &tandem_domain::AutomationDef, mut result: serde_json::Value) -> serde_json::Value {
    for f in &def.fields {
        if def.field_mode(&f.name) == tandem_domain::definition::FieldMode::Shadow {
            result["fields"][&f.name] = serde_json::Value::Null;
        }
    }
    if def.route.is_some() && def.field_mode("route") == tandem_domain::definition::FieldMode::Shadow {
        result["route"] = serde_json::Value::Null;
    }
    result
}

impl Tandem {
    /// Deliveries for a decided item, unless a shadow or draft stage sent it to the inbox:
    /// then the decision is evidence only, and nothing leaves Tandem.
    pub(crate) async fn held_back(
        &self,
        item: &tandem_store::Item,
        deliveries: Vec<tandem_store::NewDelivery>,
    ) -> ServiceResult<Vec<tandem_store::NewDelivery>> {
        if deliveries.is_empty() {
            return Ok(deliveries);
        }
        let codes = self.store.item_reasons(item.workspace_id, item.id).await?;
        let held = [Stage::Shadow, Stage::Draft]
            .iter()
            .filter_map(|s| s.reason_code())
            .any(|c| codes.iter().any(|x| x == c));
        Ok(if held { Vec::new() } else { deliveries })
    }
}
