//! Tests that train whole extractors on small synthetic documents whose answers are known:
//! a field that can only be found from its context in varying layouts, a multi-valued
//! field, an impossible date, the saved form, determinism and long inputs.

use super::model::SplitMix;
use super::*;

fn pick<'a>(rng: &mut SplitMix, items: &[&'a str]) -> &'a str {
    items[(rng.next_u64() % items.len() as u64) as usize]
}

fn code(rng: &mut SplitMix) -> String {
    let letters: String = (0..2)
        .map(|_| (b'A' + (rng.next_u64() % 26) as u8) as char)
        .collect();
    format!("{letters}-{:05}", rng.next_u64() % 100_000)
}

/// An order document: the order reference is an identifier like several decoys (invoice,
/// customer and tracking numbers); only the label near it, in one of several layouts, and
/// wherever it lands in the document, tells which one it is.
fn order_doc(rng: &mut SplitMix, id: usize) -> LabelledDoc {
    let reference = code(rng);
    let mut lines: Vec<String> = Vec::new();
    let fillers = [
        "Thank you for your order",
        "Acme Supplies Ltd",
        "Goods once sold are not returnable",
        "Page 1 of 1",
    ];
    for _ in 0..(rng.next_u64() % 4) {
        lines.push(pick(rng, &fillers).to_string());
    }
    let mut blocks: Vec<Vec<String>> = Vec::new();
    let label = pick(
        rng,
        &["Order ref:", "Order reference", "ORDER REF", "Our order ref."],
    );
    blocks.push(match rng.next_u64() % 2 {
        0 => vec![format!("{label} {reference}")],
        _ => vec![label.to_string(), reference.clone()],
    });
    for decoy in ["Invoice no:", "Customer ID", "Tracking number"] {
        blocks.push(match rng.next_u64() % 2 {
            0 => vec![format!("{decoy} {}", code(rng))],
            _ => vec![decoy.to_string(), code(rng)],
        });
    }
    rng.shuffle(&mut blocks);
    lines.extend(blocks.into_iter().flatten());
    lines.push(pick(rng, &fillers).to_string());
    LabelledDoc {
        id: format!("order-{id}"),
        text: lines.join("\n"),
        fields: [("order_ref".to_string(), vec![reference])].into_iter().collect(),
    }
}

/// A contract preamble naming one to three parties, with a witness as a decoy.
fn contract_doc(rng: &mut SplitMix, id: usize) -> LabelledDoc {
    let names = [
        "Acme Corp",
        "Beta Holdings Ltd",
        "Gamma GmbH",
        "Delta Partners LLP",
        "Epsilon SA",
        "Zeta Inc",
    ];
    let n = 1 + (rng.next_u64() % 3) as usize;
    let mut chosen: Vec<&str> = names.to_vec();
    rng.shuffle(&mut chosen);
    let (parties, rest) = chosen.split_at(n);
    let mut lines = vec![
        "SERVICES AGREEMENT".to_string(),
        "This agreement is made between:".to_string(),
    ];
    for p in parties {
        lines.push(format!("Party: {p}"));
    }
    lines.push(format!("Witness: {}", rest[0]));
    lines.push("The parties agree as follows.".to_string());
    LabelledDoc {
        id: format!("contract-{id}"),
        text: lines.join("\n"),
        fields: [(
            "parties".to_string(),
            parties.iter().map(|s| s.to_string()).collect(),
        )]
        .into_iter()
        .collect(),
    }
}

fn dated_doc(rng: &mut SplitMix, id: usize) -> LabelledDoc {
    let (d, m, y) = (
        1 + rng.next_u64() % 28,
        1 + rng.next_u64() % 12,
        2015 + rng.next_u64() % 8,
    );
    let date = format!("{d:02}/{m:02}/{y}");
    let other = format!(
        "{:02}/{:02}/{}",
        1 + rng.next_u64() % 28,
        1 + rng.next_u64() % 12,
        2015 + rng.next_u64() % 8
    );
    let text = format!("RECEIPT\nPrinted {other}\nDate: {date}\nTotal 12.00");
    LabelledDoc {
        id: format!("dated-{id}"),
        text,
        fields: [("date".to_string(), vec![date])].into_iter().collect(),
    }
}

fn docs(make: fn(&mut SplitMix, usize) -> LabelledDoc, n: usize, seed: u64) -> Vec<LabelledDoc> {
    let mut rng = SplitMix(seed);
    (0..n).map(|i| make(&mut rng, i)).collect()
}

fn opts() -> TrainOptions {
    TrainOptions {
        hash_bits: 16,
        ..TrainOptions::default()
    }
}

#[test]
fn learns_a_field_from_its_context_in_varying_layouts() {
    let train = docs(order_doc, 150, 1);
    let test = docs(order_doc, 60, 2);
    let spec = FieldSpec::new("order_ref", FieldKind::Identifier);
    let ex = Extractor::train(&train, std::slice::from_ref(&spec), &opts()).unwrap();
    let right = test
        .iter()
        .filter(|d| {
            let out = &ex.extract(&d.text)[0];
            out.values.len() == 1 && out.values[0].value == d.gold("order_ref").unwrap()[0]
        })
        .count();
    assert!(right >= 57, "{right}/60 order references right");
    // Evidence points at the value in the input.
    let out = &ex.extract(&test[0].text)[0];
    let v = &out.values[0];
    assert_eq!(&test[0].text[v.span.start..v.span.end], v.raw);
    assert!(out.confidence > 0.5 && out.confidence <= 1.0);
}

#[test]
fn multi_valued_fields_return_every_value_and_only_those() {
    let train = docs(contract_doc, 150, 3);
    let test = docs(contract_doc, 50, 4);
    let spec = FieldSpec::multi("parties", FieldKind::Text);
    let ex = Extractor::train(&train, &[spec], &opts()).unwrap();
    let mut exact = 0;
    for d in &test {
        let out = &ex.extract(&d.text)[0];
        let mut got: Vec<&str> = out.values.iter().map(|v| v.value.as_str()).collect();
        let mut want: Vec<&str> = d.gold("parties").unwrap().iter().map(String::as_str).collect();
        got.sort();
        want.sort();
        // Calibrated: a right set is not reported as a coin flip.
        exact += usize::from(got == want && out.confidence > 0.5);
    }
    assert!(
        exact >= 45,
        "{exact}/50 party sets exactly right and confidently so"
    );
}

#[test]
fn impossible_dates_are_flagged_not_shifted() {
    let train = docs(dated_doc, 80, 5);
    let spec = FieldSpec::new("date", FieldKind::Date);
    let ex = Extractor::train(&train, &[spec], &opts()).unwrap();
    let good = &ex.extract("RECEIPT\nPrinted 01/01/2019\nDate: 25/12/2018\nTotal 3.00")[0];
    assert_eq!(good.values[0].value, "2018-12-25");
    assert_eq!(good.values[0].issue, None);
    let out = &ex.extract("RECEIPT\nPrinted 01/01/2019\nDate: 31/02/2018\nTotal 3.00")[0];
    if let Some(v) = out.values.first().filter(|v| v.raw == "31/02/2018") {
        assert_eq!(v.value, "31/02/2018", "kept as written, never moved to March");
        assert!(
            v.issue.as_deref().unwrap_or("").contains("is not a date"),
            "{:?}",
            v.issue
        );
    } else {
        // The model may also prefer the valid decoy; it must then not claim certainty.
        assert!(
            out.values
                .iter()
                .all(|v| v.value != "2018-03-03" && v.value != "2018-03-02")
        );
    }
}

#[test]
fn a_saved_extractor_reloads_to_identical_output() {
    let train = docs(order_doc, 60, 6);
    let spec = FieldSpec::new("order_ref", FieldKind::Identifier);
    let ex = Extractor::train(&train, &[spec], &opts()).unwrap();
    let bytes = ex.to_bytes();
    let back = Extractor::from_bytes(&bytes).unwrap();
    assert_eq!(back, ex);
    for d in docs(order_doc, 20, 7) {
        assert_eq!(back.extract(&d.text), ex.extract(&d.text));
    }
    // Compact: a sparse fraction of the 2^16 buckets, not the dense vector.
    assert!(bytes.len() < 4 * (1 << 16), "{} bytes", bytes.len());
    assert!(Extractor::from_bytes(&bytes[..bytes.len() - 1]).is_err());
}

#[test]
fn training_is_deterministic_for_a_seed() {
    let train = docs(order_doc, 40, 8);
    let spec = [FieldSpec::new("order_ref", FieldKind::Identifier)];
    let a = Extractor::train(&train, &spec, &opts()).unwrap();
    let b = Extractor::train(&train, &spec, &opts()).unwrap();
    assert_eq!(a.to_bytes(), b.to_bytes());
}

#[test]
fn long_documents_are_handled() {
    let train = docs(order_doc, 40, 9);
    let spec = [FieldSpec::new("order_ref", FieldKind::Identifier)];
    let ex = Extractor::train(&train, &spec, &opts()).unwrap();
    let mut long = String::new();
    for i in 0..3000 {
        long.push_str(&format!("Line {i} of a long annex with several words in it\n"));
    }
    long.push_str("Order ref: QX-12345\n");
    let out = &ex.extract(&long)[0];
    assert_eq!(out.values.first().map(|v| v.value.as_str()), Some("QX-12345"));
}

#[test]
fn training_errors_say_what_is_wrong() {
    let train = docs(order_doc, 10, 10);
    let spec = FieldSpec::new("order_ref", FieldKind::Identifier);
    let missing = FieldSpec::new("nowhere", FieldKind::Text);
    assert_eq!(Extractor::train(&train, &[], &opts()), Err(TrainError::NoFields));
    assert_eq!(
        Extractor::train(&train, &[spec.clone(), spec.clone()], &opts()),
        Err(TrainError::DuplicateField("order_ref".into()))
    );
    assert_eq!(
        Extractor::train(&train, &[missing], &opts()),
        Err(TrainError::Unlabelled("nowhere".into()))
    );
    let bad = TrainOptions { folds: 1, ..opts() };
    assert!(matches!(
        Extractor::train(&train, &[spec], &bad),
        Err(TrainError::InvalidOption(_))
    ));
}
