//! Training an automation version's models, and loading them back as the engine's
//! pipeline steps. Training happens once, when a changed definition is applied; loading
//! a version never retrains.

use std::collections::BTreeMap;
use tandem_domain::definition::{AutomationDef, ExtractorKind};
use tandem_engine::classifier::{self, Example, ExampleFormat, TextClassifier};
use tandem_engine::evidence::{ThresholdEvidence, threshold_with_evidence};
use tandem_engine::extractor::{self, Extractor, FieldSpec, LabelledDoc};
use tandem_engine::metrics::Scored;
use tandem_engine::pipeline::Models;
use tandem_engine::range::InputRange;
use tandem_store::NewArtifact;

use crate::automations::TrainingFiles;
use crate::{ServiceError, ServiceResult};

pub(crate) const ROUTER: &str = "router";
pub(crate) const EXTRACTOR: &str = "extractor";
/// The router's cross-fitted held-out answers (confidence, right), the evidence behind the
/// route threshold taken as a target precision.
pub(crate) const ROUTE_EVIDENCE: &str = "route_evidence";
/// What each input's training texts looked like (`engine::range`), by input name.
pub(crate) const INPUT_RANGE: &str = "input_range";
/// The definition's training files as they were when the version was trained, so that a
/// retrain can start from the same data without the files on disk.
pub(crate) const TRAINING_DATA: &str = "training_data";

/// Route examples from the definition's file and inline tables, checked against the
/// declared labels. Errors name the file and line.
pub(crate) fn route_examples(def: &AutomationDef, data: &TrainingFiles) -> ServiceResult<Vec<Example>> {
    let Some(route) = &def.route else {
        return Ok(Vec::new());
    };
    let mut examples: Vec<Example> = route
        .inline_examples
        .iter()
        .map(|e| Example::new(e.text.clone(), e.label.clone()))
        .collect();
    if let Some((name, text)) = &data.route_examples {
        let format = if name.to_ascii_lowercase().ends_with(".csv") {
            ExampleFormat::Csv
        } else {
            ExampleFormat::Jsonl
        };
        let parsed = classifier::parse_examples(text, format)
            .map_err(|e| ServiceError::invalid(format!("{name}: {e}")))?;
        examples.extend(parsed);
    }
    if !route.labels.is_empty() {
        let oos = route.oos_label.as_deref();
        if let Some(bad) = examples
            .iter()
            .find(|e| !route.labels.contains(&e.label) && Some(e.label.as_str()) != oos)
        {
            return Err(ServiceError::invalid(format!(
                "route example label {:?} is not one of route.labels ({})",
                bad.label,
                route.labels.join(", ")
            )));
        }
    }
    Ok(examples)
}

pub(crate) fn learned_fields(def: &AutomationDef) -> Vec<FieldSpec> {
    def.fields
        .iter()
        .filter(|f| {
            f.extractor == ExtractorKind::Learned || f.shadow_extractor == Some(ExtractorKind::Learned)
        })
        .map(|f| FieldSpec {
            name: f.name.clone(),
            kind: f.kind,
            multi: f.multi,
        })
        .collect()
}

pub(crate) fn documents(data: &TrainingFiles) -> ServiceResult<Vec<LabelledDoc>> {
    match &data.documents {
        None => Ok(Vec::new()),
        Some((name, text)) => {
            extractor::parse_documents(text).map_err(|e| ServiceError::invalid(format!("{name}: {e}")))
        }
    }
}

/// Train every model the definition needs. CPU-bound: call from a blocking thread.
pub(crate) fn train(def: &AutomationDef, data: &TrainingFiles) -> ServiceResult<Vec<NewArtifact>> {
    train_with(def, data, &[], &[])
}

/// Train from the definition's data plus more examples (corrections from the inbox).
pub(crate) fn train_with(
    def: &AutomationDef,
    data: &TrainingFiles,
    more_routes: &[Example],
    more_documents: &[LabelledDoc],
) -> ServiceResult<Vec<NewArtifact>> {
    let mut artifacts = Vec::new();
    // The texts each input was trained on, for its range.
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Some(route) = &def.route {
        let mut examples = route_examples(def, data)?;
        examples.extend_from_slice(more_routes);
        seen.entry(route.source.clone())
            .or_default()
            .extend(examples.iter().map(|e| e.text.clone()));
        let opts = classifier::TrainOptions {
            oos_label: def.route.as_ref().and_then(|r| r.oos_label.clone()),
            inputs: def.route_inputs(),
            ..Default::default()
        };
        let (model, held_out) = TextClassifier::train_scored(&examples, &opts)
            .map_err(|e| ServiceError::invalid(format!("the router could not be trained: {e}")))?;
        let summary = serde_json::json!({ "examples": examples.len(), "labels": model.labels().len() });
        artifacts.push(NewArtifact {
            kind: ROUTER.into(),
            bytes: model.to_bytes(),
            summary: summary.to_string(),
        });
        let bytes = serde_json::to_vec(&held_out)
            .map_err(|e| ServiceError::Internal(format!("held-out answers do not serialise: {e}")))?;
        let right = held_out.iter().filter(|s| s.correct).count();
        artifacts.push(NewArtifact {
            kind: ROUTE_EVIDENCE.into(),
            bytes,
            summary: serde_json::json!({ "held_out": held_out.len(), "right": right }).to_string(),
        });
    }
    let fields = learned_fields(def);
    if !fields.is_empty() {
        let mut docs = documents(data)?;
        docs.extend_from_slice(more_documents);
        let mut inputs: Vec<&str> = def
            .fields
            .iter()
            .filter(|f| fields.iter().any(|l| l.name == f.name))
            .map(|f| f.source.as_str())
            .collect();
        inputs.sort_unstable();
        inputs.dedup();
        for input in inputs {
            seen.entry(input.to_owned())
                .or_default()
                .extend(docs.iter().map(|d| d.text.clone()));
        }
        let model = Extractor::train(&docs, &fields, &extractor::TrainOptions::default())
            .map_err(|e| ServiceError::invalid(format!("the extractor could not be trained: {e}")))?;
        let summary = serde_json::json!({ "documents": docs.len(), "fields": fields.len() });
        artifacts.push(NewArtifact {
            kind: EXTRACTOR.into(),
            bytes: model.to_bytes(),
            summary: summary.to_string(),
        });
    }
    let ranges: BTreeMap<String, InputRange> = seen
        .iter()
        .filter_map(|(input, texts)| Some((input.clone(), InputRange::learn(texts)?)))
        .collect();
    if !ranges.is_empty() {
        let bytes = serde_json::to_vec(&ranges)
            .map_err(|e| ServiceError::Internal(format!("input ranges do not serialise: {e}")))?;
        let summary: BTreeMap<&String, serde_json::Value> = ranges
            .iter()
            .map(|(k, r)| {
                let v = serde_json::json!({ "texts": r.texts, "longest_text": r.longest_text });
                (k, v)
            })
            .collect();
        artifacts.push(NewArtifact {
            kind: INPUT_RANGE.into(),
            bytes,
            summary: serde_json::json!(summary).to_string(),
        });
    }
    let kept = serde_json::to_vec(data)
        .map_err(|e| ServiceError::Internal(format!("training data does not serialise: {e}")))?;
    let summary = serde_json::json!({
        "route_examples": data.route_examples.as_ref().map(|f| &f.0),
        "documents": data.documents.as_ref().map(|f| &f.0),
    });
    artifacts.push(NewArtifact {
        kind: TRAINING_DATA.into(),
        bytes: kept,
        summary: summary.to_string(),
    });
    Ok(artifacts)
}

/// Load freshly trained artifacts as the pipeline's models.
pub(crate) fn load_models(artifacts: &[NewArtifact]) -> ServiceResult<Models> {
    let mut models = Models::default();
    for a in artifacts {
        match a.kind.as_str() {
            ROUTER => models.router = Some(Box::new(load_router(&a.bytes)?)),
            EXTRACTOR => models.fields = Some(Box::new(load_extractor(&a.bytes)?)),
            INPUT_RANGE => models.ranges = load_ranges(&a.bytes)?,
            _ => {}
        }
    }
    Ok(models)
}

pub(crate) fn load_router(bytes: &[u8]) -> ServiceResult<TextClassifier> {
    TextClassifier::from_bytes(bytes)
        .map_err(|e| ServiceError::Internal(format!("stored router cannot be loaded: {e}")))
}

pub(crate) fn load_extractor(bytes: &[u8]) -> ServiceResult<Extractor> {
    Extractor::from_bytes(bytes)
        .map_err(|e| ServiceError::Internal(format!("stored extractor cannot be loaded: {e}")))
}

pub(crate) fn load_route_evidence(bytes: &[u8]) -> ServiceResult<Vec<Scored>> {
    serde_json::from_slice(bytes)
        .map_err(|e| ServiceError::Internal(format!("stored held-out answers cannot be loaded: {e}")))
}

/// What the router's held-out answers say about the route threshold taken as a target
/// precision (as for learned fields). `None` for a version trained before the answers
/// were kept: its confidence is then taken at its word, as before.
pub(crate) fn route_evidence(def: &AutomationDef, held_out: Option<&[Scored]>) -> Option<ThresholdEvidence> {
    let target = def.route.as_ref()?.threshold;
    Some(threshold_with_evidence(held_out?, target))
}

pub(crate) fn load_ranges(bytes: &[u8]) -> ServiceResult<BTreeMap<String, InputRange>> {
    serde_json::from_slice(bytes)
        .map_err(|e| ServiceError::Internal(format!("stored input ranges cannot be loaded: {e}")))
}
