//! The engine's own trained models as pipeline steps. They live beside the traits so that
//! the service, the benchmarks and the tests all run the same adapter (a copy in a test
//! once dropped the held-out evidence and so tested a different pipeline).

use crate::classifier::TextClassifier;
use crate::evidence::ThresholdEvidence;
use crate::extractor::Extractor;
use std::collections::BTreeMap;

use super::{FieldModel, ModelField, ModelValue, RoutePrediction, Router};

impl Router for TextClassifier {
    fn predict(&self, text: &str) -> RoutePrediction {
        Router::predict_inputs(self, "text", text, &BTreeMap::new())
    }

    fn predict_inputs(
        &self,
        text_name: &str,
        text: &str,
        inputs: &BTreeMap<String, String>,
    ) -> RoutePrediction {
        let p = TextClassifier::predict_inputs(self, text_name, text, inputs);
        RoutePrediction {
            ranked: p.ranked,
            confidence: p.confidence,
            out_of_scope: p.out_of_scope,
            contributions: p.contributions,
        }
    }
}

impl FieldModel for Extractor {
    fn extract(&self, text: &str) -> Vec<ModelField> {
        Extractor::extract(self, text)
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

    fn evidence(&self, field: &str, target: f64) -> Option<ThresholdEvidence> {
        Extractor::evidence(self, field, target)
    }
}
