//! Deciding an item in the exception inbox: approve, correct or reject, in one action that
//! is recorded (who, when, before, after, seconds on the item) and queues delivery.

use serde_json::{Map, Value};
use tandem_domain::definition::FieldDef;
use tandem_domain::{Decision, DecisionAction, ItemId, ItemStatus, Role};
use tandem_engine::pipeline::{Outcome, normalize};
use tandem_store::{DecisionRecord, Item};

use crate::auth::Actor;
use crate::{ServiceError, ServiceResult, Tandem, delivery};

impl Tandem {
    /// The conflict a late decision gets: who decided the item first, and how.
    pub(crate) async fn already_decided(&self, ws: tandem_domain::WorkspaceId, item: &Item) -> ServiceError {
        let by = match item.decided_by {
            Some(user) => self
                .store
                .audit_events(ws, item.id)
                .await
                .ok()
                .and_then(|events| {
                    events
                        .into_iter()
                        .rev()
                        .find(|e| e.actor_id == Some(user))
                        .and_then(|e| e.actor_name)
                }),
            None => None,
        };
        ServiceError::Conflict(match by {
            Some(name) => format!(
                "{name} already decided this item ({}); your answer was not saved",
                item.status.label().to_lowercase()
            ),
            None => format!(
                "this item was already decided ({}); your answer was not saved",
                item.status.label().to_lowercase()
            ),
        })
    }

    pub async fn decide(&self, actor: &Actor, id: ItemId, decision: Decision) -> ServiceResult<Item> {
        actor.require(Role::Reviewer, "decide items")?;
        let ws = actor.workspace();
        let item = self.store.item(ws, id).await?;
        if !item.status.is_open() {
            return Err(self.already_decided(ws, &item).await);
        }
        self.check_claim(actor, id).await?;
        let automation = self.store.automation(ws, item.automation_id).await?;
        let version = item
            .version_id
            .or(automation.active_version_id)
            .ok_or(ServiceError::Conflict("the automation has no version".into()))?;
        let compiled = self.compiled(ws, version).await?;
        let def = &compiled.def;
        let outcome: Option<Outcome> = item.outcome.as_deref().and_then(|o| serde_json::from_str(o).ok());
        let before = outcome
            .as_ref()
            .map_or_else(|| empty_result(def), Outcome::result);
        let before = crate::rollout::hide_shadowed(def, before);

        let mut detail = serde_json::json!({ "action": decision.action.as_str() });
        let mut training_examples = Vec::new();
        let (status, final_result) = match decision.action {
            DecisionAction::Approve => {
                if outcome.is_none() {
                    return Err(ServiceError::Conflict(
                        "there is no result to approve: correct the fields or reject the item".into(),
                    ));
                }
                check_complete(def, &before, "approve")?;
                (ItemStatus::Approved, Some(before.clone()))
            }
            DecisionAction::Correct => {
                let (after, changes) = apply_corrections(def, &before, &decision)?;
                check_complete(def, &after, "accept")?;
                detail["corrections"] = Value::Array(changes.clone());
                training_examples =
                    crate::retrain::examples_from_correction(def, &item, &after, &changes, actor.user.id);
                let status = if changes.is_empty() {
                    ItemStatus::Approved
                } else {
                    ItemStatus::Corrected
                };
                (status, Some(after))
            }
            DecisionAction::Reject => {
                let reason = decision.reason.as_deref().map(str::trim).unwrap_or_default();
                if reason.is_empty() {
                    return Err(ServiceError::invalid("say why the item is rejected"));
                }
                (ItemStatus::Rejected, None)
            }
        };
        if let Some(reason) = decision
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            detail["reason"] = Value::String(reason.chars().take(2000).collect());
        }
        let deliveries = match &final_result {
            Some(result) => {
                let routing = delivery::routing(
                    outcome.as_ref().and_then(|o| o.route.as_ref()),
                    result,
                    Some(actor.user.name.as_str()),
                );
                let mut payload = delivery::payload(
                    self,
                    &item,
                    &automation.slug,
                    compiled.version.number,
                    status,
                    result,
                    routing,
                );
                payload["decided_by"] = Value::String(actor.user.name.clone());
                delivery::for_destinations(&def.destinations, &payload)
            }
            None => Vec::new(),
        };
        // A shadow (or draft) item's decision is evidence, not work to send on.
        let deliveries = self.held_back(&item, deliveries).await?;
        let seconds = decision
            .seconds
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| s.min(86_400.0));
        let record = DecisionRecord {
            item_id: id,
            actor: actor.user.id,
            status,
            final_result: final_result.as_ref().map(Value::to_string),
            before: Some(before.to_string()),
            after: final_result.as_ref().map(Value::to_string),
            detail: detail.to_string(),
            seconds,
            deliveries,
            similar_keys: crate::similar::keys_of(&item),
        };
        let decided = match self
            .store
            .record_correction(ws, &record, &training_examples, self.now())
            .await
        {
            Ok(decided) => decided,
            // Someone else's decision landed between our read and our write.
            Err(tandem_store::StoreError::Conflict(_)) => {
                let item = self.store.item(ws, id).await?;
                return Err(self.already_decided(ws, &item).await);
            }
            Err(e) => return Err(e.into()),
        };
        self.after_decision(&decided).await;
        if !record.deliveries.is_empty() {
            self.work_ready.notify_waiters();
        }
        tracing::info!(item = %id, status = %status, reviewer = %actor.user.id, "item decided");
        Ok(decided)
    }
}

fn empty_result(def: &tandem_domain::AutomationDef) -> Value {
    let fields: Map<String, Value> = def.fields.iter().map(|f| (f.name.clone(), Value::Null)).collect();
    let mut out = serde_json::json!({ "fields": fields });
    if def.route.is_some() {
        out["route"] = Value::Null;
    }
    out
}

/// Refuse to accept a result that lacks a required field or a route.
fn check_complete(def: &tandem_domain::AutomationDef, result: &Value, verb: &str) -> ServiceResult<()> {
    let mut missing: Vec<String> = def
        .fields
        .iter()
        .filter(|f| f.required && result["fields"][&f.name].is_null())
        .map(|f| format!("{} is required", f.name))
        .collect();
    if def.route.is_some() && result["route"].is_null() {
        missing.push("a route must be chosen".into());
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::invalid_with(
            format!(
                "cannot {verb} yet: {}; correct it, or reject the item",
                missing.join(", ")
            ),
            missing,
        ))
    }
}

/// Apply a reviewer's edits, each normalised like the extractor's output. Returns the new
/// result and the list of changes (`{field, before, after}`).
fn apply_corrections(
    def: &tandem_domain::AutomationDef,
    before: &Value,
    decision: &Decision,
) -> ServiceResult<(Value, Vec<Value>)> {
    let mut after = before.clone();
    let mut changes = Vec::new();
    let mut errors = Vec::new();
    for (name, raw) in &decision.fields {
        let Some(field) = def.field(name) else {
            errors.push(format!("{name}: there is no field of that name"));
            continue;
        };
        match normalize_value(field, raw) {
            Ok(value) => {
                if after["fields"][name] != value {
                    changes.push(
                        serde_json::json!({ "field": name, "before": after["fields"][name], "after": value }),
                    );
                    after["fields"][name] = value;
                }
            }
            Err(e) => errors.push(format!("{name}: {e}")),
        }
    }
    if let Some(route) = decision.route.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        let labels = def.route_labels();
        if def.route.is_none() {
            errors.push("route: this automation does not route".into());
        } else if !labels.is_empty() && !labels.iter().any(|l| l == route) {
            errors.push(format!("route: {route:?} is not one of {}", labels.join(", ")));
        } else if after["route"] != Value::String(route.to_owned()) {
            changes.push(serde_json::json!({ "field": "route", "before": after["route"], "after": route }));
            after["route"] = Value::String(route.to_owned());
        }
    }
    if errors.is_empty() {
        Ok((after, changes))
    } else {
        let message = if errors.len() == 1 {
            errors[0].clone()
        } else {
            format!("{} corrections are invalid", errors.len())
        };
        Err(ServiceError::invalid_with(message, errors))
    }
}

fn normalize_value(field: &FieldDef, raw: &Value) -> Result<Value, String> {
    let opts = field.pattern_options();
    let one = |s: &str| normalize(field.kind, s, &opts).map_err(|e| e.to_string());
    let texts: Vec<String> = match raw {
        Value::Null => return Ok(Value::Null),
        Value::String(s) if s.trim().is_empty() => return Ok(Value::Null),
        // A multi-valued field typed into one box: one value per line.
        Value::String(s) if field.multi => s
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
        Value::String(s) => vec![s.clone()],
        Value::Number(n) => vec![n.to_string()],
        Value::Array(items) if field.multi => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(String::from)
                    .ok_or_else(|| "each value must be text".to_owned())
            })
            .collect::<Result<_, _>>()?,
        _ => return Err("expected text".into()),
    };
    if field.multi {
        Ok(Value::Array(
            texts
                .iter()
                .map(|t| one(t).map(Value::String))
                .collect::<Result<_, _>>()?,
        ))
    } else {
        one(&texts[0]).map(Value::String)
    }
}
