//! When a model's field may be accepted without a person: only where the model's held-out
//! answers back the field's threshold as a target precision with 95% confidence
//! ([`crate::evidence`]). A learned extractor trained on 40 documents has 40 held-out
//! answers per field, and no run of them, however right, can show 99% precision; such a
//! field accepts nothing on its own, and every place that shows the field's range (the
//! item's reasons, the automation card, the readiness gate, `extract eval`) says so in the
//! same words, made here.
//!
//! The threshold then used is the higher of the builder's and the lowest one the evidence
//! backs: the builder's number is a promise about confidence, the evidence's about
//! precision, and an answer must clear both. "Absent" is an answer like any other: a model
//! field reported absent is gated by its confidence that it is absent, the same way.

use crate::evidence::ThresholdEvidence;

use super::{FieldStep, Models, RouteStep, Source};

/// Whether, and from what confidence, a field is accepted on its own.
#[derive(Debug, Clone, PartialEq)]
pub enum Acceptance {
    /// Accepted from this confidence up (the builder's threshold, or higher where the
    /// evidence needs it).
    From(f64),
    /// Nothing is accepted automatically: the held-out answers do not back the target.
    Nothing(NoEvidence),
}

/// Why the evidence backs no threshold, with its figures.
#[derive(Debug, Clone, PartialEq)]
pub struct NoEvidence {
    pub target: f64,
    pub held_out: usize,
    pub best_lower_bound: f64,
    pub needed_at_least: usize,
}

impl NoEvidence {
    /// The words every surface shows: "not enough evidence for 99%: 14 held-out answers
    /// (at least 268, all right, are needed; the best 95% lower bound reached 84%)".
    pub fn describe(&self) -> String {
        format!(
            "not enough evidence for {}: {} held-out answer{} (at least {} are needed, all right; \
             the best 95% lower bound on precision reached {})",
            percent(self.target),
            self.held_out,
            if self.held_out == 1 { "" } else { "s" },
            self.needed_at_least,
            percent(self.best_lower_bound)
        )
    }
}

/// The acceptance rule of one field step, given the version's models. Pattern, label and
/// LLM fields keep their threshold; a model field whose model keeps held-out answers gets
/// the rule the evidence allows.
pub fn acceptance(step: &FieldStep, models: &Models) -> Acceptance {
    if step.source != Source::Model {
        return Acceptance::From(step.threshold);
    }
    let evidence = models
        .fields
        .as_ref()
        .and_then(|m| m.evidence(&step.name, step.threshold));
    backed(step.threshold, evidence)
}

/// The same rule for the route: its threshold is also the precision its routes must
/// have, and the router's held-out answers (carried by the step) must back it.
pub fn route_acceptance(step: &RouteStep) -> Acceptance {
    backed(step.threshold, step.evidence.clone())
}

fn backed(threshold: f64, evidence: Option<ThresholdEvidence>) -> Acceptance {
    match evidence {
        None => Acceptance::From(threshold),
        Some(ThresholdEvidence::Supported { threshold: t, .. }) => Acceptance::From(t.max(threshold)),
        Some(ThresholdEvidence::Insufficient {
            held_out,
            best_lower_bound,
            needed_at_least,
        }) => Acceptance::Nothing(NoEvidence {
            target: threshold,
            held_out,
            best_lower_bound,
            needed_at_least,
        }),
    }
}

/// A percentage as people read it: "99%", "99.5%".
pub(crate) fn percent(p: f64) -> String {
    let x = (p * 100.0).clamp(0.0, 100.0);
    if (x - x.round()).abs() < 0.05 {
        format!("{x:.0}%")
    } else {
        format!("{x:.1}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_carry_the_figures() {
        let n = NoEvidence {
            target: 0.99,
            held_out: 14,
            best_lower_bound: 0.838,
            needed_at_least: 268,
        };
        assert_eq!(
            n.describe(),
            "not enough evidence for 99%: 14 held-out answers (at least 268 are needed, all right; \
             the best 95% lower bound on precision reached 83.8%)"
        );
        assert_eq!(percent(0.995), "99.5%");
    }
}
