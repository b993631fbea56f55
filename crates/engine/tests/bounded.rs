//! Bounded work per item (issue 21): inputs of 1 MiB, on one line and on many, run through
//! the real pipeline (every pattern kind, a label field, a trained extractor, a trained
//! router and the input-range check) while a counting global allocator records the heap's
//! peak. A step whose cost grows with the square of a line's length needed gigabytes here
//! (a 100 KB line took 8.7 GB); a linear one needs a small multiple of the input.
//!
//! This is its own test binary because the allocator is global: nothing else runs in the
//! process while the peak is read.

use std::collections::BTreeMap;

use cap::Cap;
use tandem_engine::FieldKind;
use tandem_engine::classifier::{self, Example, TextClassifier};
use tandem_engine::extractor::{self, Extractor, FieldSpec, LabelledDoc};
use tandem_engine::patterns::PatternOptions;
use tandem_engine::pipeline::{self, FieldStep, Models, RouteStep, Rules, Source, Spec};
use tandem_engine::range::InputRange;

#[global_allocator]
static HEAP: Cap<std::alloc::System> = Cap::new(std::alloc::System, usize::MAX);

const MIB: usize = 1 << 20;

/// The most the heap may grow above what the trained models and the inputs themselves
/// hold while 1 MiB inputs go through the pipeline. Measured: 134 MiB at the peak, of which
/// 73.5 MiB without the router (its character n-grams of the whole text are the largest
/// part): linear, about 130 bytes per input byte. A step quadratic in a line's length
/// would need gigabytes here.
const BOUND: usize = 200 * MIB;

/// Small receipts whose total, date and shop name are labelled.
fn receipts() -> Vec<LabelledDoc> {
    (0..40u64)
        .map(|i| {
            let total = format!("{}.{:02}", 10 + i * 7 % 300, i * 13 % 100);
            let date = format!("{:02}/03/2018", 1 + i % 28);
            let shop = format!("SHOP {i} SDN BHD");
            LabelledDoc {
                id: format!("r{i}"),
                text: format!("{shop}\nDATE: {date}\nITEM A 3.00\nTOTAL RM {total}\nCASH 500.00\nThank you"),
                fields: [
                    ("total".to_string(), vec![total]),
                    ("date".to_string(), vec![date]),
                    ("shop".to_string(), vec![shop]),
                ]
                .into_iter()
                .collect(),
            }
        })
        .collect()
}

fn requests() -> Vec<Example> {
    let texts = [
        ("my card was charged twice", "billing"),
        ("refund the payment please", "billing"),
        ("the invoice total is wrong", "billing"),
        ("why was I billed this month", "billing"),
        ("the app crashes on start", "tech"),
        ("I cannot log in to my account", "tech"),
        ("the page shows an error", "tech"),
        ("sync stopped working today", "tech"),
    ];
    texts
        .iter()
        .map(|(text, label)| Example::new(*text, *label))
        .collect()
}

fn step(name: &str, kind: FieldKind, source: Source) -> FieldStep {
    FieldStep {
        name: name.into(),
        kind,
        source,
        input: "text".into(),
        required: true,
        threshold: 0.5,
        multi: false,
        options: PatternOptions::default(),
        rules: Rules::default(),
    }
}

/// Every way a field can be read, on one input.
fn spec() -> Spec {
    let mut fields: Vec<FieldStep> = FieldKind::ALL
        .iter()
        .map(|&k| step(&format!("pattern_{}", k.as_str()), k, Source::Pattern))
        .collect();
    fields.push(step(
        "labelled_total",
        FieldKind::Money,
        Source::Label(vec!["total".into()]),
    ));
    fields.push(step("total", FieldKind::Money, Source::Model));
    fields.push(step("date", FieldKind::Date, Source::Model));
    fields.push(step("shop", FieldKind::Text, Source::Model));
    Spec {
        fields,
        route: Some(RouteStep {
            input: "text".into(),
            threshold: 0.5,
            oos_label: None,
            evidence: None,
            rules: Vec::new(),
        }),
    }
}

/// `unit` repeated to 1 MiB.
fn mebibyte_of(unit: &str) -> String {
    unit.repeat(MIB / unit.len())
}

#[test]
fn one_mebibyte_inputs_keep_the_heap_bounded() {
    let extractor = Extractor::train(
        &receipts(),
        &[
            FieldSpec::new("total", FieldKind::Money),
            FieldSpec::new("date", FieldKind::Date),
            FieldSpec::new("shop", FieldKind::Text),
        ],
        &extractor::TrainOptions {
            hash_bits: 16,
            ..extractor::TrainOptions::default()
        },
    )
    .expect("the extractor trains");
    let router = TextClassifier::train(
        &requests(),
        &classifier::TrainOptions {
            oos_label: None,
            ..classifier::TrainOptions::default()
        },
    )
    .expect("the router trains");
    let texts: Vec<String> = receipts().into_iter().map(|d| d.text).collect();
    let models = Models {
        router: Some(Box::new(router)),
        fields: Some(Box::new(extractor)),
        // The check that an input looks like the training texts reads every input too.
        ranges: BTreeMap::from([("text".to_string(), InputRange::learn(&texts).expect("a range"))]),
    };
    let spec = spec();
    let inputs = [
        ("one line of amounts", mebibyte_of("TOTAL RM 1,234.56 ")),
        ("many lines of amounts", mebibyte_of("TOTAL RM 1,234.56\n")),
        ("one word of a mebibyte", mebibyte_of("TOTAL_RM_1,234.56_")),
        (
            "many lines of every kind",
            mebibyte_of(
                "Date: 12/03/2018 call +1 415 555 0100, mail ada@example.com, see https://example.com/a?b=1 ref AB-12345 qty 3 total $12.50\n",
            ),
        ),
        (
            "one line of every kind",
            mebibyte_of(
                "Date: 12/03/2018 call +1 415 555 0100, mail ada@example.com, see https://example.com/a?b=1 ref AB-12345 qty 3 total $12.50 ",
            ),
        ),
        ("one line of words", mebibyte_of("the quick brown fox jumps ")),
    ];
    // What the models and the inputs hold before any of them is processed.
    let base = HEAP.allocated();
    for (what, text) in &inputs {
        let out = pipeline::run(
            &spec,
            &models,
            &BTreeMap::from([("text".to_string(), text.clone())]),
        );
        assert_eq!(
            out.fields.len(),
            spec.fields.len(),
            "{what}: every field answered"
        );
        assert!(out.route.is_some(), "{what}: the route answered");
        let grown = HEAP.max_allocated().saturating_sub(base);
        eprintln!(
            "{what}: heap peak {:.1} MiB above the base",
            grown as f64 / MIB as f64
        );
        assert!(
            grown <= BOUND,
            "{what}: the heap grew {grown} bytes above the base, more than the bound of {BOUND}"
        );
    }
}
