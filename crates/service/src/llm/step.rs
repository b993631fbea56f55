//! Asking the automation's LLM for an item's fields, before the engine runs. The worker
//! runs it per item, in a task of its own with its lease renewed (issue 20).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tandem_domain::definition::{AutomationDef, ExtractorKind, LlmDef};
use tandem_domain::{VersionId, WorkspaceId};
use tandem_engine::calibration::Calibrator;
use tandem_engine::pipeline::{LlmAnswer, LlmAnswers};
use tandem_llm::{FieldRequest, LlmClient, LlmConfig};
use tandem_store::{Item, Job, LlmRun};

use crate::automations::Compiled;
use crate::{ServiceError, ServiceResult, Tandem};

/// One client per automation version, so its concurrency limit holds across the
/// batches of this process.
#[derive(Debug, Default)]
pub(crate) struct LlmClients {
    clients: Mutex<HashMap<(WorkspaceId, VersionId), Arc<LlmClient>>>,
}

/// What the LLM step gave for one item.
#[derive(Debug, Clone)]
pub(crate) struct LlmOutcome {
    /// For the engine: calibrated answers, or why there are none.
    pub answers: LlmAnswers,
    /// Per field: the raw score the calibration is fitted on.
    pub raw_scores: BTreeMap<String, f64>,
    /// Per field: how that raw score was made (`logprobs`, `agreement`, `unscored`).
    pub score_methods: BTreeMap<String, String>,
    /// Cost, for the item page.
    pub run: LlmRun,
}

/// The fields the LLM answers, as primary or shadow extractor.
pub(crate) fn llm_fields(def: &AutomationDef) -> Vec<&tandem_domain::definition::FieldDef> {
    def.fields
        .iter()
        .filter(|f| f.extractor == ExtractorKind::Llm || f.shadow_extractor == Some(ExtractorKind::Llm))
        .collect()
}

/// The client settings a definition asks for; the API key is read from the environment.
pub(crate) fn client_config(
    llm: &LlmDef,
    outbound: &tandem_llm::outbound::OutboundPolicy,
) -> ServiceResult<LlmConfig> {
    let api_key = match &llm.api_key_env {
        None => None,
        Some(var) => Some(std::env::var(var).map_err(|_| {
            ServiceError::invalid(format!(
                "the environment variable {var} (named by llm.api_key_env) is not set, so the LLM step has no API key"
            ))
        })?),
    };
    Ok(LlmConfig {
        api_key,
        timeout: Duration::from_secs_f64(llm.timeout_seconds),
        samples: llm.samples,
        max_concurrency: llm.max_concurrency as usize,
        retries: llm.retries,
        max_tokens: llm.max_tokens,
        outbound: Some(Arc::new(outbound.clone())),
        ..LlmConfig::new(llm.base_url.clone(), llm.model.clone())
    })
}

impl LlmClients {
    fn get(
        &self,
        ws: WorkspaceId,
        c: &Compiled,
        outbound: &tandem_llm::outbound::OutboundPolicy,
    ) -> ServiceResult<Option<Arc<LlmClient>>> {
        let Some(llm) = &c.def.llm else {
            return Ok(None);
        };
        let key = (ws, c.version.id);
        let mut clients = self
            .clients
            .lock()
            .map_err(|_| ServiceError::Internal("LLM client cache lock poisoned".into()))?;
        if let Some(client) = clients.get(&key) {
            return Ok(Some(client.clone()));
        }
        let client = LlmClient::new(client_config(llm, outbound)?)
            .map_err(|e| ServiceError::invalid(e.to_string()))?;
        let client = Arc::new(client);
        clients.insert(key, client.clone());
        Ok(Some(client))
    }
}

/// Whether items of this automation go through the LLM step.
pub(crate) fn uses_llm(c: &Compiled) -> bool {
    !llm_fields(&c.def).is_empty()
}

/// The LLM step for one item; `None` when its automation does not use the LLM.
pub(crate) async fn run_step(t: &Tandem, job: &Job, item: &Item, c: &Compiled) -> Option<LlmOutcome> {
    let fields = llm_fields(&c.def);
    if fields.is_empty() {
        return None;
    }
    let model = c.def.llm.as_ref().map_or_else(String::new, |l| l.model.clone());
    let mut run = LlmRun {
        item_id: item.id,
        version_id: c.version.id,
        model,
        latency_ms: 0,
        prompt_tokens: 0,
        completion_tokens: 0,
        requests: 0,
        error: None,
        created_at: t.now(),
    };
    let mut raw_scores = BTreeMap::new();
    let mut score_methods = BTreeMap::new();
    let answers = ask(
        t,
        job,
        item,
        c,
        &fields,
        &mut run,
        (&mut raw_scores, &mut score_methods),
    )
    .await;
    if let Err(e) = &answers {
        tracing::warn!(item = %item.id, error = %e, "the LLM step failed");
        run.error = Some(e.clone());
    }
    Some(LlmOutcome {
        answers,
        raw_scores,
        score_methods,
        run,
    })
}

async fn ask(
    t: &Tandem,
    job: &Job,
    item: &Item,
    c: &Compiled,
    fields: &[&tandem_domain::definition::FieldDef],
    run: &mut LlmRun,
    (raw_scores, score_methods): (&mut BTreeMap<String, f64>, &mut BTreeMap<String, String>),
) -> Result<Vec<LlmAnswer>, String> {
    let client = t
        .llm_clients
        .get(job.workspace_id, c, &t.settings.outbound)
        .map_err(|e| e.to_string())?
        .ok_or("the automation uses extractor = \"llm\" but has no [llm] section")?;
    // Each calibrator with the kind of raw score it was fitted on.
    let calibrators: HashMap<String, (Calibrator, Option<String>)> = t
        .store
        .llm_calibrations(job.workspace_id, item.automation_id)
        .await
        .map_err(|e| format!("the LLM calibration could not be read: {e}"))?
        .into_iter()
        .filter_map(|cal| {
            let fitted: Calibrator = serde_json::from_str(&cal.calibrator).ok()?;
            Some((cal.field, (fitted, cal.score_method)))
        })
        .collect();
    let inputs: BTreeMap<String, String> =
        serde_json::from_str(&item.input).map_err(|e| format!("stored input is not readable: {e}"))?;
    // One question per input the fields read from (usually the one text input).
    let mut by_input: BTreeMap<&str, Vec<FieldRequest>> = BTreeMap::new();
    for f in fields {
        by_input.entry(f.source.as_str()).or_default().push(FieldRequest {
            name: f.name.clone(),
            kind: f.kind.as_str().to_owned(),
            multi: f.multi,
        });
    }
    let mut answers = Vec::new();
    for (input, requests) in by_input {
        let text = inputs.get(input).map_or("", String::as_str);
        if text.trim().is_empty() {
            continue;
        }
        // Metered outside the result, so a failure's requests and tokens are recorded
        // too: they were spent.
        let mut meter = tandem_llm::Meter::default();
        let out = client.extract_metered(text, &requests, &mut meter).await;
        run.latency_ms += i64::try_from(meter.latency.as_millis()).unwrap_or(i64::MAX);
        run.prompt_tokens += meter.usage.prompt_tokens as i64;
        run.completion_tokens += meter.usage.completion_tokens as i64;
        run.requests += i64::from(meter.requests);
        let out = out.map_err(|e| e.to_string())?;
        for a in out.fields {
            let method = a.source.as_str();
            raw_scores.insert(a.name.clone(), a.score);
            score_methods.insert(a.name.clone(), method.to_owned());
            // A token probability and a share of agreeing samples are different scales:
            // a calibrator applies to the kind of score it was fitted on (one fitted
            // before the kind was kept applies to any).
            let confidence = match calibrators.get(&a.name) {
                Some((cal, fitted_on)) if fitted_on.as_deref().is_none_or(|m| m == method) => {
                    cal.apply(a.score)
                }
                _ => a.score.clamp(0.0, 1.0),
            };
            let values = match a.value {
                Value::String(s) => vec![s],
                Value::Array(xs) => xs
                    .into_iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            answers.push(LlmAnswer {
                name: a.name,
                values,
                confidence,
            });
        }
    }
    Ok(answers)
}
