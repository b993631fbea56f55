//! The LLM step in the product, and running extractors side by side.
//!
//! - [`step`]: before the engine runs an item, ask the automation's LLM for the fields
//!   that use it (as primary or shadow extractor), calibrate each raw score with the
//!   field's fitted calibrator, and record latency and token use.
//! - [`records`]: after the engine, what each field's primary and shadow extractors
//!   answered, kept for the item page, the comparison and the refit.
//! - [`refit`]: `tandem llm refit SLUG`, calibration fitted on reviewed items.
//! - [`compare`]: how often each extractor agreed with the reviewers, and "keep the
//!   better one", a new version with that field's extractor switched.

mod compare;
mod records;
mod refit;
mod step;
mod view;

pub use compare::{ExtractorScore, FieldComparison};
pub(crate) use records::extractor_runs;
pub use refit::FieldFit;
pub(crate) use step::{LlmClients, LlmOutcome, run_step, uses_llm};
pub use view::ItemLlmView;

use serde_json::Value;

/// Two values the same as a reviewer would judge them: exact after collapsing
/// whitespace; lists as sets; a missing value equals only a missing value.
pub fn same_value(a: Option<&Value>, b: Option<&Value>) -> bool {
    fn canon(v: Option<&Value>) -> Vec<String> {
        let one = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut out: Vec<String> = match v {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![one(s)],
            Some(Value::Array(xs)) => xs
                .iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), one))
                .collect(),
            Some(other) => vec![other.to_string()],
        };
        out.retain(|s| !s.is_empty());
        out.sort();
        out.dedup();
        out
    }
    canon(a) == canon(b)
}

#[cfg(test)]
mod tests {
    use super::same_value;
    use serde_json::json;

    #[test]
    fn values_compare_after_collapsing_whitespace_and_lists_as_sets() {
        assert!(same_value(Some(&json!("ACME  Ltd ")), Some(&json!("ACME Ltd"))));
        assert!(!same_value(Some(&json!("acme ltd")), Some(&json!("ACME Ltd"))));
        assert!(same_value(
            Some(&json!(["b", "a"])),
            Some(&json!(["a", "b", "a"]))
        ));
        assert!(same_value(None, Some(&json!(null))));
        assert!(!same_value(None, Some(&json!("x"))));
    }
}
