//! What each field's primary and shadow extractors answered for an item, computed after
//! the engine has run (the shadow answers by running the same pipeline on a spec whose
//! fields read from their shadow extractor).

use std::collections::BTreeMap;

use tandem_domain::definition::ExtractorKind;
use tandem_engine::pipeline::{self, Outcome};
use tandem_store::{FieldRole, FieldRun, Item, NewExtractorRuns};

use super::LlmOutcome;
use crate::automations::Compiled;

/// The records for one processed item, or `None` when the automation neither uses the
/// LLM nor runs a shadow extractor. CPU work (a shadow learned extractor): call from a
/// blocking thread.
pub(crate) fn extractor_runs(
    c: &Compiled,
    item: &Item,
    llm: Option<&LlmOutcome>,
    outcome_json: &str,
) -> Option<NewExtractorRuns> {
    let has_shadow = c.def.fields.iter().any(|f| f.shadow_extractor.is_some());
    if llm.is_none() && !has_shadow {
        return None;
    }
    let outcome: Outcome = serde_json::from_str(outcome_json).ok()?;
    let raw = |field: &str, kind: ExtractorKind| {
        (kind == ExtractorKind::Llm)
            .then(|| llm.and_then(|l| l.raw_scores.get(field).copied()))
            .flatten()
    };
    let method = |field: &str, kind: ExtractorKind| {
        (kind == ExtractorKind::Llm)
            .then(|| llm.and_then(|l| l.score_methods.get(field).cloned()))
            .flatten()
    };
    let mut fields = Vec::new();
    for f in &outcome.fields {
        let Some(def) = c.def.field(&f.name) else {
            continue;
        };
        if def.extractor != ExtractorKind::Llm && def.shadow_extractor.is_none() {
            continue;
        }
        fields.push(FieldRun {
            field: f.name.clone(),
            role: FieldRole::Primary,
            extractor: def.extractor.as_str().to_owned(),
            value: f.value.as_ref().map(|v| v.to_string()),
            raw_score: raw(&f.name, def.extractor),
            score_method: method(&f.name, def.extractor),
            confidence: f.confidence,
        });
    }
    if has_shadow {
        let inputs: BTreeMap<String, String> = serde_json::from_str(&item.input).ok()?;
        let spec = c.def.shadow_spec();
        let shadow = pipeline::run_with(&spec, &c.models, &inputs, llm.map(|l| &l.answers));
        for f in shadow.fields {
            let Some(kind) = c.def.field(&f.name).and_then(|d| d.shadow_extractor) else {
                continue;
            };
            fields.push(FieldRun {
                raw_score: raw(&f.name, kind),
                score_method: method(&f.name, kind),
                field: f.name,
                role: FieldRole::Shadow,
                extractor: kind.as_str().to_owned(),
                value: f.value.map(|v| v.to_string()),
                confidence: f.confidence,
            });
        }
    }
    Some(NewExtractorRuns {
        item_id: item.id,
        automation_id: item.automation_id,
        version_id: c.version.id,
        llm: llm.map(|l| l.run.clone()),
        fields,
    })
}
