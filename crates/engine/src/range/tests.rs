//! The input range on real text: the CLINC150 and SROIE samples the repository carries.
//! In-range inputs held out from training must pass; padded, repeated, foreign-language
//! and binary inputs must fail, each with the check that explains it.

use super::*;

fn requests() -> Vec<(String, String)> {
    include_str!("../../../../examples/data/customer-requests.train.jsonl")
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["text"].as_str().unwrap().to_owned(),
                v["label"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn held_out_items() -> Vec<String> {
    include_str!("../../../../examples/data/customer-requests.items.jsonl")
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["text"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn checks(range: &InputRange, text: &str) -> Vec<RangeCheck> {
    range.check(text).into_iter().map(|v| v.check).collect()
}

fn clinc_range() -> InputRange {
    let texts: Vec<String> = requests().into_iter().map(|(t, _)| t).collect();
    InputRange::learn(&texts).unwrap()
}

#[test]
fn held_out_requests_are_in_range() {
    let range = clinc_range();
    assert_eq!(range.texts, 3060);
    assert!(
        range.unknown_words.p > 0.0 && range.unknown_words.p < 0.2,
        "{:?}",
        range.unknown_words
    );
    let items = held_out_items();
    assert_eq!(items.len(), 190);
    let flagged: Vec<&String> = items.iter().filter(|t| !range.check(t).is_empty()).collect();
    // Real requests the router never saw, in scope or not: at most one in a hundred may
    // look out of range (none did when this was written).
    assert!(flagged.len() * 100 <= items.len(), "{flagged:?}");
}

#[test]
fn padded_input_is_out_of_range_by_length_and_unknown_words() {
    let range = clinc_range();
    let mut text = String::from("what is the balance of my checking account");
    for i in 0..7000 {
        text.push_str(&format!(" word{i}"));
    }
    let found = range.check(&text);
    let length = found
        .iter()
        .find(|v| v.check == RangeCheck::Length)
        .expect("length");
    assert_eq!(length.found, text.chars().count());
    assert_eq!(length.limit, (range.longest_text * 2).max(200));
    assert!(
        found.iter().any(|v| v.check == RangeCheck::UnknownWords),
        "{found:?}"
    );
}

#[test]
fn repeated_letters_and_words_are_out_of_range() {
    let range = clinc_range();
    let letters = format!("book a flight {}", "a".repeat(50_000));
    assert_eq!(
        checks(&range, &letters),
        vec![RangeCheck::Length, RangeCheck::WordLength]
    );
    // Short enough to pass the length check, but the same phrase over and over.
    let phrase = "transfer money now ".repeat(9);
    assert!(phrase.chars().count() <= range.longest_text * 2);
    assert_eq!(checks(&range, &phrase), vec![RangeCheck::Repetition]);
}

#[test]
fn another_language_is_out_of_range() {
    let range = clinc_range();
    let spanish = "necesito ayuda urgente porque perdieron mi maleta durante el vuelo de ayer";
    assert!(
        checks(&range, spanish).contains(&RangeCheck::UnknownWords),
        "{:?}",
        range.check(spanish)
    );
    let russian = "пожалуйста переведите деньги на мой сберегательный счёт";
    let found = checks(&range, russian);
    assert!(found.contains(&RangeCheck::UnknownCharacters), "{found:?}");
    // The same request in English is fine.
    assert!(range.check("please move money to my savings account").is_empty());
}

#[test]
fn binary_looking_text_is_out_of_range() {
    let range = clinc_range();
    let blob: String = "PK\u{3}\u{4}\u{14}\u{0}\u{8}\u{0}\u{FFFD}\u{FFFD}x\u{1}\u{2} pay my bill".into();
    assert!(
        checks(&range, &blob).contains(&RangeCheck::Binary),
        "{:?}",
        range.check(&blob)
    );
}

#[test]
fn receipts_learn_their_own_range() {
    let texts: Vec<String> = include_str!("../../../../examples/data/receipts.train.jsonl")
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["text"].as_str().unwrap().to_owned()
        })
        .collect();
    let (train, held) = texts.split_at(240);
    let range = InputRange::learn(train).unwrap();
    // Receipts are long and repeat lines, and numbers are never new words: held-out
    // receipts pass (at most one in twenty flagged).
    let flagged = held.iter().filter(|t| !range.check(t).is_empty()).count();
    let why: Vec<_> = held
        .iter()
        .map(|t| range.check(t))
        .filter(|v| !v.is_empty())
        .collect();
    assert!(flagged * 20 <= held.len(), "{flagged} of {}: {why:?}", held.len());
    // A request routed to a receipt reader is out of range by its words.
    let doubled = format!("{}\n{}\n{}", held[0], held[1], held[2]).repeat(3);
    assert!(!range.check(&doubled).is_empty());
}

#[test]
fn nothing_to_learn_from_is_no_range() {
    assert!(InputRange::learn::<&str>(&[]).is_none());
    let one = InputRange::learn(&["hello there"]).unwrap();
    // One text gives no held-out evidence: no new word or letter is expected.
    assert_eq!((one.longest_text, one.unknown_words.p), (11, 0.0));
    assert!(one.check("there, hello").is_empty());
    assert_eq!(
        checks(&one, "hello there again"),
        vec![RangeCheck::UnknownCharacters]
    );
}

#[test]
fn counts_bound_at_four_deviations_plus_two() {
    // Every text at exactly 1 in 20: no spread beyond counting.
    let even = Rate::learn(&[(1, 20), (2, 40), (5, 100)]);
    assert!((even.p - 0.05).abs() < 1e-12);
    // Observed variance (0 + 0 + 0) is under counting's: spread 0.
    assert_eq!(even.spread, 0.0);
    // n = 100: 5 + 4 * sqrt(4.75) + 2 = 5 + 8.718 + 2 = 15.72.
    assert_eq!(even.limit(100), 15);
    // Texts at 0 and 0.5 of 100 words each: p = 0.25, observed variance 0.0625,
    // counting 0.001875, spread sqrt(0.060625) = 0.24622; n = 10: var = 1.875 + 6.0625,
    // 2.5 + 4 * 2.8174 + 2 = 15.77.
    let uneven = Rate::learn(&[(0, 100), (50, 100)]);
    assert!((uneven.spread - 0.24622).abs() < 1e-4, "{uneven:?}");
    assert_eq!(uneven.limit(10), 15);
    assert_eq!(Rate::default().limit(3), 2);
}
