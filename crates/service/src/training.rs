//! Training an automation version's models, and loading them back as the engine's
//! pipeline steps. Training happens once, when a changed definition is applied; loading
//! a version never retrains.

use tandem_domain::definition::{AutomationDef, ExtractorKind};
use tandem_engine::classifier::{self, Example, ExampleFormat, TextClassifier};
use tandem_engine::extractor::{self, Extractor, FieldSpec, LabelledDoc};
use tandem_engine::pipeline::{FieldModel, ModelField, ModelValue, RoutePrediction, Router};
use tandem_store::NewArtifact;

use crate::automations::TrainingFiles;
use crate::{ServiceError, ServiceResult};

pub(crate) const ROUTER: &str = "router";
pub(crate) const EXTRACTOR: &str = "extractor";

/// Route examples from the definition's file and inline tables, checked against the
/// declared labels. Errors name the file and line.
pub(crate) fn route_examples(def: &AutomationDef, data: &TrainingFiles) -> ServiceResult<Vec<Example>> {
    let Some(route) = &def.route else {
        return Ok(Vec::new());
    };
    let mut examples: Vec<Example> = route
        .inline_examples
        .iter()
        .map(|e| Example {
            text: e.text.clone(),
            label: e.label.clone(),
        })
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
    let mut artifacts = Vec::new();
    if def.route.is_some() {
        let examples = route_examples(def, data)?;
        let opts = classifier::TrainOptions {
            oos_label: def.route.as_ref().and_then(|r| r.oos_label.clone()),
            ..Default::default()
        };
        let model = TextClassifier::train(&examples, &opts)
            .map_err(|e| ServiceError::invalid(format!("the router could not be trained: {e}")))?;
        let summary = serde_json::json!({ "examples": examples.len(), "labels": model.labels().len() });
        artifacts.push(NewArtifact {
            kind: ROUTER.into(),
            bytes: model.to_bytes(),
            summary: summary.to_string(),
        });
    }
    let fields = learned_fields(def);
    if !fields.is_empty() {
        let docs = documents(data)?;
        let model = Extractor::train(&docs, &fields, &extractor::TrainOptions::default())
            .map_err(|e| ServiceError::invalid(format!("the extractor could not be trained: {e}")))?;
        let summary = serde_json::json!({ "documents": docs.len(), "fields": fields.len() });
        artifacts.push(NewArtifact {
            kind: EXTRACTOR.into(),
            bytes: model.to_bytes(),
            summary: summary.to_string(),
        });
    }
    Ok(artifacts)
}

/// The trained router as a pipeline step.
pub(crate) struct RouterStep(pub TextClassifier);

impl Router for RouterStep {
    fn predict(&self, text: &str) -> RoutePrediction {
        let p = self.0.predict(text);
        RoutePrediction {
            ranked: p.ranked,
            confidence: p.confidence,
            out_of_scope: p.out_of_scope,
        }
    }
}

/// The trained extractor as a pipeline step.
pub(crate) struct ExtractorStep(pub Extractor);

impl FieldModel for ExtractorStep {
    fn extract(&self, text: &str) -> Vec<ModelField> {
        self.0
            .extract(text)
            .into_iter()
            .map(|f| ModelField {
                name: f.name,
                values: f
                    .values
                    .into_iter()
                    .map(|v| ModelValue {
                        value: v.value,
                        span: Some(v.span),
                        confidence: v.confidence,
                    })
                    .collect(),
                confidence: f.confidence,
            })
            .collect()
    }
}

pub(crate) fn load_router(bytes: &[u8]) -> ServiceResult<RouterStep> {
    TextClassifier::from_bytes(bytes)
        .map(RouterStep)
        .map_err(|e| ServiceError::Internal(format!("stored router cannot be loaded: {e}")))
}

pub(crate) fn load_extractor(bytes: &[u8]) -> ServiceResult<ExtractorStep> {
    Extractor::from_bytes(bytes)
        .map(ExtractorStep)
        .map_err(|e| ServiceError::Internal(format!("stored extractor cannot be loaded: {e}")))
}
