//! Gating rules, with stand-in models whose answers are fixed, so each rule is seen alone.

use super::*;
use crate::patterns::DateOrder;

fn step(name: &str, kind: FieldKind, source: Source) -> FieldStep {
    FieldStep {
        name: name.into(),
        kind,
        source,
        input: "text".into(),
        required: false,
        threshold: 0.5,
        multi: false,
        options: PatternOptions {
            default_region: Some("US".into()),
            date_order: DateOrder::Dmy,
        },
        rules: Rules::default(),
    }
}

fn inputs(text: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("text".to_string(), text.to_string())])
}

fn run_one(s: FieldStep, text: &str) -> FieldOutcome {
    let spec = Spec {
        fields: vec![s],
        route: None,
    };
    run(&spec, &Models::default(), &inputs(text)).fields.remove(0)
}

#[test]
fn a_clear_pattern_value_is_accepted_with_its_evidence() {
    let text = "Hi, reach me at ada@example.com today.";
    let f = run_one(step("email", FieldKind::Email, Source::Pattern), text);
    assert_eq!(f.value, Some(serde_json::json!("ada@example.com")));
    assert_eq!(
        &text[f.evidence[0].span.start..f.evidence[0].span.end],
        "ada@example.com"
    );
    assert!(f.reasons.is_empty(), "{:?}", f.reasons);
    assert!(f.confidence >= 0.5);
}

#[test]
fn a_missing_required_field_is_flagged() {
    let mut s = step("email", FieldKind::Email, Source::Pattern);
    s.required = true;
    let f = run_one(s.clone(), "no address here");
    assert_eq!(f.value, None);
    assert_eq!(f.reasons, vec![Reason::MissingRequired]);
    let f = run_one(s, "   ");
    assert_eq!(f.reasons, vec![Reason::SourceMissing { input: "text".into() }]);
    // An optional field that is absent is simply absent.
    assert!(
        run_one(step("email", FieldKind::Email, Source::Pattern), "nothing")
            .reasons
            .is_empty()
    );
}

#[test]
fn competing_values_lower_confidence_and_say_so() {
    let f = run_one(
        step("email", FieldKind::Email, Source::Pattern),
        "a@x.io or b@y.io",
    );
    assert_eq!(f.value, Some(serde_json::json!("a@x.io")));
    assert!(f.reasons.contains(&Reason::Ambiguous { candidates: 2 }));
    assert!(
        f.confidence <= 0.5,
        "two candidates share the confidence: {}",
        f.confidence
    );
    // The same value twice is not ambiguous.
    let f = run_one(
        step("email", FieldKind::Email, Source::Pattern),
        "a@x.io, again a@x.io",
    );
    assert!(f.reasons.is_empty(), "{:?}", f.reasons);
}

#[test]
fn multi_valued_fields_keep_every_value() {
    let mut s = step("emails", FieldKind::Email, Source::Pattern);
    s.multi = true;
    let f = run_one(s, "cc a@x.io and b@y.io");
    assert_eq!(f.value, Some(serde_json::json!(["a@x.io", "b@y.io"])));
    assert_eq!(f.evidence.len(), 2);
    assert!(f.reasons.is_empty());
}

#[test]
fn validation_rules_flag_values() {
    let mut s = step("total", FieldKind::Money, Source::Pattern);
    s.rules.max = Some(100.0);
    let f = run_one(s, "Total: $250.00");
    assert!(
        matches!(&f.reasons[..], [Reason::ValidationFailed { rule, .. }] if rule == "at most 100"),
        "{:?}",
        f.reasons
    );
    let mut s = step("code", FieldKind::Identifier, Source::Label(vec!["Order".into()]));
    s.rules.pattern = Some("[A-Z]{3}-\\d+".into());
    assert!(run_one(s.clone(), "Order: ABC-12").reasons.is_empty());
    assert!(matches!(
        run_one(s, "Order: abc12").reasons[..],
        [Reason::ValidationFailed { .. }]
    ));
}

#[test]
fn labelled_values_are_normalised_and_impossible_dates_refused() {
    let s = step("due", FieldKind::Date, Source::Label(vec!["Due date".into()]));
    let f = run_one(s.clone(), "Invoice 7\nDue date: 5 March 2024\n");
    assert_eq!(f.value, Some(serde_json::json!("2024-03-05")));
    let f = run_one(s, "Due date: 31/04/2024");
    assert_eq!(f.value, None);
    assert!(
        matches!(&f.reasons[..], [Reason::InvalidValue { message }] if message.contains("April")),
        "{:?}",
        f.reasons
    );
    assert_eq!(
        f.evidence.len(),
        1,
        "the unreadable value is still shown where it is"
    );
}

struct FixedRouter(RoutePrediction);
impl Router for FixedRouter {
    fn predict(&self, _text: &str) -> RoutePrediction {
        self.0.clone()
    }
}

fn route_with(p: RoutePrediction) -> RouteOutcome {
    let spec = Spec {
        fields: vec![],
        route: Some(RouteStep {
            input: "text".into(),
            threshold: 0.7,
            oos_label: Some("oos".into()),
            evidence: None,
            rules: Vec::new(),
        }),
    };
    let models = Models {
        router: Some(Box::new(FixedRouter(p))),
        ..Models::default()
    };
    run(&spec, &models, &inputs("hello")).route.unwrap()
}

fn pred(ranked: &[(&str, f64)], confidence: f64, oos: bool) -> RoutePrediction {
    RoutePrediction {
        ranked: ranked.iter().map(|(l, c)| (l.to_string(), *c)).collect(),
        confidence,
        out_of_scope: oos,
        contributions: Vec::new(),
    }
}

#[test]
fn routes_are_gated_on_confidence_and_scope() {
    let sure = route_with(pred(
        &[("billing", 0.95), ("tech", 0.03), ("sales", 0.01), ("x", 0.01)],
        0.95,
        false,
    ));
    assert_eq!(sure.label.as_deref(), Some("billing"));
    assert!(sure.reasons.is_empty());
    assert_eq!(sure.top.len(), 3);

    let unsure = route_with(pred(&[("billing", 0.55), ("tech", 0.4)], 0.55, false));
    assert_eq!(
        unsure.reasons,
        vec![Reason::RouteUnsure {
            confidence: 0.55,
            threshold: 0.7
        }]
    );
    assert_eq!(
        unsure.label.as_deref(),
        Some("billing"),
        "the best guess is kept for the reviewer"
    );

    let odd = route_with(pred(&[("billing", 0.99)], 0.99, true));
    assert_eq!(
        (odd.label, odd.reasons),
        (None, vec![Reason::OutOfScope]),
        "out of scope whatever the top score"
    );
    let oos_label = route_with(pred(&[("oos", 0.9), ("billing", 0.1)], 0.9, false));
    assert!(oos_label.out_of_scope);
}

#[test]
fn a_route_without_a_model_goes_to_review() {
    let spec = Spec {
        fields: vec![],
        route: Some(RouteStep {
            input: "text".into(),
            threshold: 0.7,
            oos_label: None,
            evidence: None,
            rules: Vec::new(),
        }),
    };
    let out = run(&spec, &Models::default(), &inputs("x"));
    assert!(out.needs_review());
    assert_eq!(out.reason_codes(), vec!["step_unavailable"]);
}

struct FixedFields;
impl FieldModel for FixedFields {
    fn extract(&self, _text: &str) -> Vec<ModelField> {
        vec![ModelField {
            name: "company".into(),
            values: vec![ModelValue {
                value: "ACME LTD".into(),
                span: Some(Span::new(0, 8)),
                confidence: 0.6,
            }],
            confidence: 0.6,
        }]
    }
}

#[test]
fn learned_fields_use_the_models_confidence() {
    let mut s = step("company", FieldKind::Text, Source::Model);
    s.threshold = 0.9;
    let spec = Spec {
        fields: vec![s, step("other", FieldKind::Text, Source::Model)],
        route: None,
    };
    let models = Models {
        fields: Some(Box::new(FixedFields)),
        ..Models::default()
    };
    let out = run(&spec, &models, &inputs("ACME LTD\n1 Main St"));
    assert_eq!(out.fields[0].value, Some(serde_json::json!("ACME LTD")));
    assert_eq!(
        out.fields[0].reasons,
        vec![Reason::LowConfidence {
            confidence: 0.6,
            threshold: 0.9
        }]
    );
    assert_eq!(out.fields[1].value, None);
    assert_eq!(out.result()["fields"]["company"], "ACME LTD");
    assert_eq!(out.min_confidence(), Some(0.6));
}

#[test]
fn hostile_input_is_just_text() {
    let text = "<script>alert('x')</script><img src=x onerror=alert(1)> mail me: a@b.co \u{0}\u{202e}";
    let spec = Spec {
        fields: vec![
            step("email", FieldKind::Email, Source::Pattern),
            step("when", FieldKind::Date, Source::Pattern),
        ],
        route: None,
    };
    let out = run(&spec, &Models::default(), &inputs(text));
    assert_eq!(out.fields[0].value, Some(serde_json::json!("a@b.co")));
    for f in &out.fields {
        for e in &f.evidence {
            assert!(text.get(e.span.start..e.span.end).is_some());
        }
    }
}

#[test]
fn corrections_are_normalised_like_extractions() {
    let o = PatternOptions {
        default_region: Some("US".into()),
        date_order: DateOrder::Mdy,
    };
    assert_eq!(
        normalize(FieldKind::Date, "03/04/2024", &o).unwrap(),
        "2024-03-04"
    );
    assert_eq!(
        normalize(FieldKind::Phone, "(415) 555-0132", &o).unwrap(),
        "+14155550132"
    );
    assert_eq!(
        normalize(FieldKind::MultilineText, " 1 Main St\n Springfield ", &o).unwrap(),
        "1 Main St Springfield"
    );
    assert!(normalize(FieldKind::Email, "not an email", &o).is_err());
    assert!(
        normalize(FieldKind::Date, "2023-02-30", &o)
            .unwrap_err()
            .to_string()
            .contains("February")
    );
    assert!(normalize(FieldKind::Text, "  ", &o).is_err());
}

#[test]
fn input_outside_its_range_goes_to_review_whatever_the_score() {
    let spec = Spec {
        fields: vec![step("email", FieldKind::Email, Source::Pattern)],
        route: Some(RouteStep {
            input: "text".into(),
            threshold: 0.7,
            oos_label: None,
            evidence: None,
            rules: Vec::new(),
        }),
    };
    let training = [
        "please send the invoice to a@b.co",
        "my parcel is late, write to c@d.co",
        "the invoice total is wrong",
        "where is my parcel",
        "send me a new invoice please",
    ];
    let models = Models {
        router: Some(Box::new(FixedRouter(pred(&[("billing", 0.99)], 0.99, false)))),
        ranges: BTreeMap::from([(
            "text".to_string(),
            crate::range::InputRange::learn(&training).unwrap(),
        )]),
        ..Models::default()
    };
    // In range: accepted on its own.
    let ok = run(&spec, &models, &inputs("the invoice is late, write to e@f.co"));
    assert!(!ok.needs_review(), "{ok:?}");
    // The same text padded far beyond any training text: the route and the field both
    // carry the reason, though the router says 99%.
    let padded = format!("the invoice is late, write to e@f.co {}", "and ".repeat(100));
    let out = run(&spec, &models, &inputs(&padded));
    assert!(out.needs_review());
    assert_eq!(out.reason_codes(), vec!["out_of_range"]);
    let route = out.route.as_ref().unwrap();
    assert_eq!(route.confidence, 0.99);
    assert!(
        matches!(&route.reasons[..], [Reason::OutOfRange(v), ..] if v.check == crate::range::RangeCheck::Length),
        "{route:?}"
    );
    assert!(!out.fields[0].reasons.is_empty());
}

#[test]
fn the_route_threshold_is_kept_only_where_the_evidence_backs_it() {
    use crate::evidence::ThresholdEvidence;
    let run_at = |evidence: ThresholdEvidence, confidence: f64| {
        let spec = Spec {
            fields: vec![],
            route: Some(RouteStep {
                input: "text".into(),
                threshold: 0.9,
                oos_label: None,
                evidence: Some(evidence),
                rules: Vec::new(),
            }),
        };
        let models = Models {
            router: Some(Box::new(FixedRouter(pred(
                &[("billing", confidence)],
                confidence,
                false,
            )))),
            ..Models::default()
        };
        run(&spec, &models, &inputs("hello")).route.unwrap()
    };
    let backed = ThresholdEvidence::Supported {
        threshold: 0.93,
        accepted: 400,
        right: 399,
        lower_bound: 0.9903,
    };
    // Over the definition's 0.9, under the 0.93 its held-out answers back: held.
    let held = run_at(backed.clone(), 0.92);
    assert_eq!(
        held.reasons,
        vec![Reason::RouteUnsure {
            confidence: 0.92,
            threshold: 0.93
        }]
    );
    assert!(run_at(backed, 0.95).reasons.is_empty());
    // Too little evidence: even a sure route waits, and says why.
    let thin = ThresholdEvidence::Insufficient {
        held_out: 120,
        best_lower_bound: 0.8756,
        needed_at_least: 25,
    };
    let out = run_at(thin, 0.999);
    assert_eq!(out.reasons.len(), 1);
    assert_eq!(out.reasons[0].code(), "not_enough_evidence");
    assert_eq!(
        out.reasons[0].describe("the route"),
        "the route is never accepted on its own yet: not enough evidence for 90%: 120 held-out answers \
         (at least 25 are needed, all right; the best 95% lower bound on precision reached 87.6%)."
    );
}

/// A model that answers `company` (or reports it absent) with a fixed confidence and
/// held-out evidence of a fixed kind.
struct Evidenced {
    value: Option<&'static str>,
    confidence: f64,
    evidence: crate::evidence::ThresholdEvidence,
}

impl FieldModel for Evidenced {
    fn extract(&self, _text: &str) -> Vec<ModelField> {
        vec![ModelField {
            name: "company".into(),
            values: self
                .value
                .map(|v| ModelValue {
                    value: v.into(),
                    span: Some(Span::new(0, v.len())),
                    confidence: self.confidence,
                })
                .into_iter()
                .collect(),
            confidence: self.confidence,
        }]
    }

    fn evidence(&self, field: &str, _target: f64) -> Option<crate::evidence::ThresholdEvidence> {
        (field == "company").then(|| self.evidence.clone())
    }
}

fn run_evidenced(model: Evidenced, threshold: f64) -> FieldOutcome {
    let mut s = step("company", FieldKind::Text, Source::Model);
    s.threshold = threshold;
    let spec = Spec {
        fields: vec![s],
        route: None,
    };
    let models = Models {
        fields: Some(Box::new(model)),
        ..Models::default()
    };
    run(&spec, &models, &inputs("ACME LTD\n1 Main St"))
        .fields
        .remove(0)
}

#[test]
fn a_model_field_without_enough_evidence_accepts_nothing_and_says_why() {
    use crate::evidence::ThresholdEvidence;
    let few = ThresholdEvidence::Insufficient {
        held_out: 14,
        best_lower_bound: 0.838,
        needed_at_least: 268,
    };
    // Even a confident answer waits for a person.
    let f = run_evidenced(
        Evidenced {
            value: Some("ACME LTD"),
            confidence: 0.999,
            evidence: few.clone(),
        },
        0.99,
    );
    assert_eq!(f.value, Some(serde_json::json!("ACME LTD")));
    assert_eq!(f.reasons.len(), 1);
    assert_eq!(f.reasons[0].code(), "not_enough_evidence");
    assert!(
        f.reasons[0]
            .describe("company")
            .contains("not enough evidence for 99%: 14 held-out answers"),
        "{}",
        f.reasons[0].describe("company")
    );
    // So does a confident "absent": it is an answer like any other.
    let f = run_evidenced(
        Evidenced {
            value: None,
            confidence: 0.999,
            evidence: few,
        },
        0.99,
    );
    assert_eq!(f.value, None);
    assert_eq!(f.reasons[0].code(), "not_enough_evidence");
}

#[test]
fn a_model_field_is_accepted_only_from_the_threshold_its_evidence_backs() {
    use crate::evidence::ThresholdEvidence;
    let backed = ThresholdEvidence::Supported {
        threshold: 0.97,
        accepted: 400,
        right: 399,
        lower_bound: 0.9905,
    };
    let answer = |confidence, value| Evidenced {
        value,
        confidence,
        evidence: backed.clone(),
    };
    // The builder asked for 0.9; the evidence backs 0.9 only from 0.97.
    let f = run_evidenced(answer(0.95, Some("ACME LTD")), 0.9);
    assert_eq!(
        f.reasons,
        vec![Reason::LowConfidence {
            confidence: 0.95,
            threshold: 0.97
        }]
    );
    assert!(
        run_evidenced(answer(0.98, Some("ACME LTD")), 0.9)
            .reasons
            .is_empty()
    );
    // An unsure "absent" goes to a person; a sure one is accepted.
    let f = run_evidenced(answer(0.6, None), 0.9);
    assert_eq!(
        f.reasons,
        vec![Reason::AbsentUnsure {
            confidence: 0.6,
            threshold: 0.97
        }]
    );
    assert!(run_evidenced(answer(0.99, None), 0.9).reasons.is_empty());
}

#[test]
fn a_value_on_words_read_unsurely_goes_to_review_saying_so() {
    use crate::layout::{BBox, LayoutBuilder, Page, Reading};
    let mut b = LayoutBuilder::new();
    b.page(Page {
        width: 1.0,
        height: 1.0,
        reading: Reading::Ocr,
    });
    let bbox = BBox {
        x0: 0.0,
        y0: 0.0,
        x1: 0.1,
        y1: 0.1,
    };
    b.word("Mail", bbox, Some(0.97));
    b.word("ada@example.com", bbox, Some(0.52));
    b.end_line();
    b.word("bob@example.org", bbox, Some(0.93));
    let (text, layout) = b.finish();
    let spec = Spec {
        fields: vec![step("email", FieldKind::Email, Source::Pattern)],
        route: None,
    };
    let mut outcome = run(&spec, &Models::default(), &inputs(&text));
    let before = outcome.fields[0].reasons.len();
    flag_uncertain_readings(&mut outcome, "text", &layout, 0.6);
    let f = &outcome.fields[0];
    assert_eq!(f.value, Some(serde_json::json!("ada@example.com")));
    assert_eq!(f.reasons.len(), before + 1);
    assert!(
        matches!(f.reasons.last(), Some(Reason::UncertainReading { confidence, threshold })
            if (*confidence - 0.52).abs() < 1e-6 && (*threshold - 0.6).abs() < 1e-9),
        "{:?}",
        f.reasons
    );
    assert!(outcome.reason_codes().contains(&"uncertain_reading".to_string()));
    // Above the threshold, or evidence in another input: no reason.
    let mut sure = run(&spec, &Models::default(), &inputs(&text));
    flag_uncertain_readings(&mut sure, "text", &layout, 0.5);
    flag_uncertain_readings(&mut sure, "subject", &layout, 0.99);
    assert!(!sure.reason_codes().contains(&"uncertain_reading".to_string()));
}

fn rules_spec(rules: Vec<RouteRule>) -> Spec {
    Spec {
        fields: vec![],
        route: Some(RouteStep {
            input: "text".into(),
            threshold: 0.7,
            oos_label: None,
            evidence: None,
            rules,
        }),
    }
}

fn country(line: usize, values: &[&str], action: RuleAction) -> RouteRule {
    RouteRule {
        line,
        when: vec![(
            "country".into(),
            Condition::OneOf {
                values: values.iter().map(|v| v.to_lowercase()).collect(),
                domain: false,
            },
        )],
        action,
    }
}

#[test]
fn rules_decide_narrow_or_flag_the_route_before_the_model() {
    let rules = vec![
        country(4, &["DE", "AT"], RuleAction::Route { label: "emea".into() }),
        country(
            7,
            &["US"],
            RuleAction::Only {
                labels: vec!["americas".into(), "partners".into()],
            },
        ),
        country(
            10,
            &["KP"],
            RuleAction::Review {
                why: "export control".into(),
            },
        ),
    ];
    let spec = rules_spec(rules);
    let models = Models {
        router: Some(Box::new(FixedRouter(pred(
            &[("apac", 0.9), ("partners", 0.06), ("americas", 0.03)],
            0.9,
            false,
        )))),
        ..Models::default()
    };
    let lead = |c: &str| {
        let mut i = inputs("please call me");
        i.insert("country".into(), c.into());
        run(&spec, &models, &i).route.unwrap()
    };
    // A territory rule decides, whatever the model thinks, and says so.
    let de = lead("de");
    assert_eq!(de.label.as_deref(), Some("emea"));
    assert!(de.reasons.is_empty() && de.by_rule);
    assert_eq!(
        de.rule.as_deref(),
        Some("the rule on line 4 (country is one of de, at) routes it to emea")
    );
    // A narrowing rule leaves the model the allowed routes only: its best allowed one, at
    // the probability it gave it (under the threshold here, so a person checks).
    let us = lead("US");
    assert_eq!(us.label.as_deref(), Some("partners"));
    assert_eq!(us.confidence, 0.06);
    assert!(us.reasons.iter().any(|r| r.code() == "route_unsure"), "{us:?}");
    assert!(!us.by_rule);
    assert!(
        us.rule
            .unwrap()
            .contains("limits the choice to americas, partners")
    );
    // A review rule keeps the model's suggestion and sends the item to a person.
    let kp = lead("KP");
    assert_eq!(kp.label.as_deref(), Some("apac"));
    let why: Vec<String> = kp.reasons.iter().map(|r| r.describe("the route")).collect();
    assert!(kp.reasons.iter().any(|r| r.code() == "rule_review"), "{why:?}");
    assert!(
        why.iter()
            .any(|w| w == "The rule on line 10 (country is kp) sends it to a person: export control"),
        "{why:?}"
    );
    // No rule applies: the model alone.
    let fr = lead("FR");
    assert_eq!((fr.label.as_deref(), fr.rule), (Some("apac"), None));
    assert!(fr.reasons.is_empty());
}
