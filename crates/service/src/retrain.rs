//! Learning from the inbox: a reviewer's correction of a route or a field is kept as a
//! training example, and `retrain` trains a candidate version from the definition's own
//! data plus those examples, measures it beside the active version on the same held-out
//! corrections, and activates it only when asked.
//!
//! Why the comparison is on held-out *corrections*: the active version was trained on the
//! definition's data, so scoring it on any part of that data flatters it. Corrections came
//! later, from the items people actually send, and neither model has seen the held-out
//! ones; every third correction (in the order they were made) is kept out of training for
//! that reason. With fewer than three there is nothing fair to compare on, and the report
//! says so instead of printing a number.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tandem_domain::definition::ExtractorKind;
use tandem_domain::{AutomationDef, Role, UserId, WorkspaceId};
use tandem_engine::classifier::Example;
use tandem_engine::extractor::{LabelledDoc, collapse_whitespace};
use tandem_engine::pipeline::{FieldModel, Models, Router, Spec};
use tandem_store::{Automation, Item, NewCandidate, NewRolloutEvent, NewTrainingExample, Version};

use crate::auth::Actor;
use crate::automations::TrainingFiles;
use crate::{ServiceError, ServiceResult, Tandem, training};

/// Kinds of stored training examples.
pub const ROUTE: &str = "route";
pub const DOCUMENT: &str = "document";

/// Every `HOLD_EVERY`-th correction is held out of the candidate's training to compare on.
const HOLD_EVERY: usize = 3;

/// What a retrain produced.
#[derive(Debug, Clone)]
pub struct Retrained {
    pub automation: Automation,
    /// The version that was active when the candidate was trained.
    pub current: Version,
    pub candidate: Version,
    pub comparison: Comparison,
    pub activated: bool,
}

/// The candidate beside the current version, on the same held-out corrections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub current_version: i64,
    /// Route and document examples in the definition's own training files.
    pub definition_examples: usize,
    /// Corrections the candidate learned from.
    pub corrections_trained: usize,
    /// Corrections held out to compare on.
    pub corrections_held_out: usize,
    pub router: Option<RouterComparison>,
    pub extractor: Option<ExtractorComparison>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouterComparison {
    /// Held-out route corrections both were scored on.
    pub examples: usize,
    pub current: RouterScore,
    pub candidate: RouterScore,
}

/// How a router did on held-out corrections. Figures are `None` when undefined (nothing
/// held out, nothing routed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouterScore {
    /// Share whose top route is the corrected one.
    pub accuracy: Option<f64>,
    /// Share routed automatically at the version's route threshold.
    pub coverage: Option<f64>,
    /// Share of those routed right.
    pub precision: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtractorComparison {
    /// Held-out corrected documents both were scored on.
    pub documents: usize,
    pub current: ExtractorScore,
    pub candidate: ExtractorScore,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtractorScore {
    /// Share of (document, field) answers exactly right: the value, or the set of values.
    pub accuracy: Option<f64>,
    /// Share of answers accepted automatically at the fields' thresholds.
    pub coverage: Option<f64>,
    /// Share of accepted answers that are right.
    pub precision: Option<f64>,
    /// Accuracy per field.
    pub fields: BTreeMap<String, Option<f64>>,
}

/// The training examples a correction teaches: the corrected route with the text the
/// router read, and the corrected document with every learned field's accepted value.
/// `changes` are the review's `{field, before, after}` entries; nothing changed, nothing
/// learned.
pub(crate) fn examples_from_correction(
    def: &AutomationDef,
    item: &Item,
    after: &Value,
    changes: &[Value],
    by: UserId,
) -> Vec<NewTrainingExample> {
    let inputs: BTreeMap<String, Value> = serde_json::from_str(&item.input).unwrap_or_default();
    let text_of = |name: &str| inputs.get(name).and_then(Value::as_str).map(str::to_owned);
    let changed = |name: &str| changes.iter().any(|c| c["field"] == name);
    let mut out = Vec::new();
    let new = |kind: &str, example: Value| NewTrainingExample {
        automation_id: item.automation_id,
        item_id: Some(item.id),
        kind: kind.to_owned(),
        example: example.to_string(),
        created_by: Some(by),
    };
    if let Some(route) = &def.route
        && changed("route")
        && let Some(label) = after["route"].as_str()
    {
        // The structured inputs the router reads go with the text (an `Example`'s shape).
        let text = text_of(&route.source).unwrap_or_default();
        let fields: BTreeMap<&str, String> = route
            .features
            .iter()
            .filter_map(|f| {
                text_of(f)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (f.as_str(), v))
            })
            .collect();
        if !text.trim().is_empty() || !fields.is_empty() {
            out.push(new(
                ROUTE,
                serde_json::json!({ "text": text, "label": label, "fields": fields }),
            ));
        }
    }
    let learned: Vec<_> = def
        .fields
        .iter()
        .filter(|f| f.extractor == ExtractorKind::Learned)
        .collect();
    if let Some(first) = learned.first()
        && learned.iter().any(|f| changed(&f.name))
        && let Some(text) = text_of(&first.source)
    {
        // The extractor reads one input for all its fields; fields reading another input
        // are not labelled in this document (absent from the map, not "absent").
        let fields: serde_json::Map<String, Value> = learned
            .iter()
            .filter(|f| f.source == first.source)
            .map(|f| (f.name.clone(), after["fields"][&f.name].clone()))
            .collect();
        out.push(new(
            DOCUMENT,
            serde_json::json!({ "id": format!("item-{}", item.id), "text": text, "fields": fields }),
        ));
    }
    out
}

/// Corrections split into what the candidate learns from and what both are scored on.
#[derive(Debug, Default)]
struct Corrections {
    train_routes: Vec<Example>,
    held_routes: Vec<Example>,
    train_docs: Vec<LabelledDoc>,
    held_docs: Vec<LabelledDoc>,
}

impl Corrections {
    fn split(stored: &[tandem_store::TrainingExample]) -> ServiceResult<Corrections> {
        let mut c = Corrections::default();
        let (mut routes, mut docs) = (0usize, 0usize);
        for e in stored {
            let bad =
                |err: String| ServiceError::Internal(format!("stored training example {}: {err}", e.id));
            match e.kind.as_str() {
                ROUTE => {
                    let ex: Example = serde_json::from_str(&e.example).map_err(|x| bad(x.to_string()))?;
                    routes += 1;
                    if routes.is_multiple_of(HOLD_EVERY) {
                        c.held_routes.push(ex);
                    } else {
                        c.train_routes.push(ex);
                    }
                }
                DOCUMENT => {
                    let mut parsed = tandem_engine::extractor::parse_documents(&e.example)
                        .map_err(|x| bad(x.to_string()))?;
                    let doc = parsed.pop().ok_or_else(|| bad("empty".into()))?;
                    docs += 1;
                    if docs.is_multiple_of(HOLD_EVERY) {
                        c.held_docs.push(doc);
                    } else {
                        c.train_docs.push(doc);
                    }
                }
                other => tracing::warn!(kind = other, "ignoring a training example of unknown kind"),
            }
        }
        Ok(c)
    }

    fn trained(&self) -> usize {
        self.train_routes.len() + self.train_docs.len()
    }

    fn held(&self) -> usize {
        self.held_routes.len() + self.held_docs.len()
    }
}

/// The rollout log's record of an activation.
fn activation_event(by: Option<UserId>, from: i64, to: i64) -> NewRolloutEvent {
    NewRolloutEvent {
        actor: by,
        kind: "activate".into(),
        detail: serde_json::json!({ "from": from, "to": to }).to_string(),
    }
}

fn ratio(n: usize, d: usize) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

fn score_router(router: Option<&dyn Router>, spec: &Spec, held: &[Example]) -> RouterScore {
    let (Some(router), Some(step)) = (router, spec.route.as_ref()) else {
        return RouterScore {
            accuracy: None,
            coverage: None,
            precision: None,
        };
    };
    let (mut right, mut routed, mut routed_right) = (0, 0, 0);
    for e in held {
        let p = router.predict_inputs(&step.input, &e.text, &e.fields);
        let is_right = p.ranked.first().is_some_and(|r| r.0 == e.label);
        right += usize::from(is_right);
        if !p.out_of_scope && p.confidence >= step.threshold {
            routed += 1;
            routed_right += usize::from(is_right);
        }
    }
    RouterScore {
        accuracy: ratio(right, held.len()),
        coverage: ratio(routed, held.len()),
        precision: ratio(routed_right, routed),
    }
}

fn same_set(predicted: &[String], gold: &[String]) -> bool {
    let norm = |v: &[String]| {
        let mut v: Vec<String> = v.iter().map(|s| collapse_whitespace(s)).collect();
        v.sort();
        v
    };
    norm(predicted) == norm(gold)
}

fn score_extractor(model: Option<&dyn FieldModel>, spec: &Spec, held: &[LabelledDoc]) -> ExtractorScore {
    let mut per: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let (mut answers, mut right, mut accepted, mut accepted_right) = (0, 0, 0, 0);
    if let Some(model) = model {
        for doc in held {
            let out = model.extract(&doc.text);
            for step in spec.fields.iter().filter(|f| doc.fields.contains_key(&f.name)) {
                let gold = doc.gold(&step.name).unwrap_or(&[]);
                let found = out.iter().find(|f| f.name == step.name);
                let values: Vec<String> = found
                    .map(|f| f.values.iter().map(|v| v.value.clone()).collect())
                    .unwrap_or_default();
                let ok = same_set(&values, gold);
                let entry = per.entry(step.name.clone()).or_default();
                entry.0 += 1;
                entry.1 += usize::from(ok);
                answers += 1;
                right += usize::from(ok);
                if found.is_some_and(|f| f.confidence >= step.threshold) {
                    accepted += 1;
                    accepted_right += usize::from(ok);
                }
            }
        }
    }
    ExtractorScore {
        accuracy: ratio(right, answers),
        coverage: ratio(accepted, answers),
        precision: ratio(accepted_right, accepted),
        fields: per.into_iter().map(|(k, (n, r))| (k, ratio(r, n))).collect(),
    }
}

/// Compare the current and candidate models on the held-out corrections.
fn compare(
    spec: &Spec,
    current: &Models,
    candidate: &Models,
    c: &Corrections,
    base: Comparison,
) -> Comparison {
    let router = spec.route.as_ref().map(|_| RouterComparison {
        examples: c.held_routes.len(),
        current: score_router(current.router.as_deref(), spec, &c.held_routes),
        candidate: score_router(candidate.router.as_deref(), spec, &c.held_routes),
    });
    let has_learned = candidate.fields.is_some() || current.fields.is_some();
    let extractor = has_learned.then(|| ExtractorComparison {
        documents: c.held_docs.len(),
        current: score_extractor(current.fields.as_deref(), spec, &c.held_docs),
        candidate: score_extractor(candidate.fields.as_deref(), spec, &c.held_docs),
    });
    Comparison {
        router,
        extractor,
        ..base
    }
}

impl Tandem {
    /// `retrain` for a person: builders only.
    pub async fn retrain_as(&self, actor: &Actor, slug: &str, activate: bool) -> ServiceResult<Retrained> {
        actor.require(Role::Builder, "retrain automations")?;
        self.retrain(actor.workspace(), slug, Some(actor.user.id), activate)
            .await
    }

    /// Train a candidate version from the active version's definition data plus the
    /// corrections made since, store it (not active) with its comparison, and activate it
    /// only when `activate` is set.
    pub async fn retrain(
        &self,
        ws: WorkspaceId,
        slug: &str,
        by: Option<UserId>,
        activate: bool,
    ) -> ServiceResult<Retrained> {
        let (automation, compiled) = self.active(ws, slug).await?;
        let current = compiled.version.clone();
        let stored = self.store.training_examples(ws, automation.id, None).await?;
        if stored.is_empty() {
            return Err(ServiceError::Conflict(format!(
                "{slug} has no corrections to learn from yet: correct a route or a field in the inbox first"
            )));
        }
        let artifacts = self.store.artifacts(ws, current.id).await?;
        let files: TrainingFiles = match artifacts.iter().find(|a| a.kind == training::TRAINING_DATA) {
            Some(a) => serde_json::from_slice(&a.bytes).map_err(|e| {
                ServiceError::Internal(format!(
                    "stored training data of version {} is unreadable: {e}",
                    current.number
                ))
            })?,
            None => {
                return Err(ServiceError::Conflict(format!(
                    "version {} of {slug} was applied before Tandem kept training data with each version; \
                     apply the definition again, then retrain",
                    current.number
                )));
            }
        };
        let corrections = Corrections::split(&stored)?;
        let def = compiled.def.clone();
        let task_compiled = compiled.clone();
        let (new_artifacts, comparison) = tokio::task::spawn_blocking(move || -> ServiceResult<_> {
            let definition_examples = training::route_examples(&def, &files)?.len()
                + if training::learned_fields(&def).is_empty() {
                    0
                } else {
                    training::documents(&files)?.len()
                };
            let artifacts =
                training::train_with(&def, &files, &corrections.train_routes, &corrections.train_docs)?;
            let candidate = training::load_models(&artifacts)?;
            let base = Comparison {
                current_version: task_compiled.version.number,
                definition_examples,
                corrections_trained: corrections.trained(),
                corrections_held_out: corrections.held(),
                router: None,
                extractor: None,
            };
            let comparison = compare(
                &task_compiled.spec,
                &task_compiled.models,
                &candidate,
                &corrections,
                base,
            );
            Ok((artifacts, comparison))
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("retraining stopped: {e}")))??;
        let evaluation = serde_json::to_string(&comparison)
            .map_err(|e| ServiceError::Internal(format!("comparison does not serialise: {e}")))?;
        let candidate = self
            .store
            .save_candidate_version(
                ws,
                automation.id,
                &NewCandidate {
                    definition: current.definition.clone(),
                    content_hash: current.content_hash.clone(),
                    artifacts: new_artifacts,
                    created_by: by,
                    compared_with: Some(current.id),
                    evaluation,
                },
                self.now(),
            )
            .await?;
        tracing::info!(
            automation = slug,
            candidate = candidate.number,
            "candidate version trained"
        );
        let automation = if activate {
            self.store
                .activate_version(
                    ws,
                    automation.id,
                    candidate.id,
                    &activation_event(by, current.number, candidate.number),
                    self.now(),
                )
                .await?
        } else {
            automation
        };
        Ok(Retrained {
            automation,
            current,
            candidate,
            comparison,
            activated: activate,
        })
    }

    /// Make version `number` of `slug` the active one (a retrained candidate, or an earlier
    /// version to roll back to), from the command line: the operator at the machine acts,
    /// so no person is named. People use the rollout's `activate_version`, which checks
    /// their role.
    pub async fn activate(
        &self,
        ws: WorkspaceId,
        slug: &str,
        number: i64,
    ) -> ServiceResult<(Automation, Version)> {
        let a = self
            .store
            .automation_by_slug(ws, slug)
            .await?
            .ok_or(ServiceError::NotFound("automation"))?;
        let versions = self.store.list_versions(ws, a.id).await?;
        let from = versions
            .iter()
            .find(|v| Some(v.id) == a.active_version_id)
            .map_or(0, |v| v.number);
        let v = versions
            .into_iter()
            .find(|v| v.number == number)
            .ok_or_else(|| ServiceError::invalid(format!("{slug} has no version {number}")))?;
        // Load (and check) the models before switching to them.
        self.compiled(ws, v.id).await?;
        let a = self
            .store
            .activate_version(ws, a.id, v.id, &activation_event(None, from, number), self.now())
            .await?;
        tracing::info!(automation = slug, version = number, "version activated");
        Ok((a, v))
    }

    /// The stored comparison of a retrained version, if it has one.
    pub async fn version_comparison(
        &self,
        ws: WorkspaceId,
        version: &Version,
    ) -> ServiceResult<Option<Comparison>> {
        Ok(self
            .store
            .version_evaluation(ws, version.id)
            .await?
            .and_then(|e| serde_json::from_str(&e.report).ok()))
    }
}
