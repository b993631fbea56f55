//! Values inside prose: paragraphs of sentences, some wrapped mid-sentence the way PDF
//! text is, where the governing law is a state named inside a sentence (beside other
//! states that are not it) and the term is a length of time written in words, figures or
//! both. Nothing here is a line of its own, so a line-based extractor finds none of it.

use super::model::SplitMix;
use super::*;
use crate::evidence::ThresholdEvidence;

const STATES: [&str; 10] = [
    "New York",
    "Delaware",
    "California",
    "New Jersey",
    "Texas",
    "North Carolina",
    "Nevada",
    "Illinois",
    "Massachusetts",
    "Rhode Island",
];
const TERMS: [(&str, &str); 6] = [
    ("two (2) years", "P2Y"),
    ("24 months", "P24M"),
    ("one year", "P1Y"),
    ("three (3) years", "P3Y"),
    ("thirty-six (36) months", "P36M"),
    ("5 years", "P5Y"),
];

fn pick<T: Copy>(rng: &mut SplitMix, items: &[T]) -> T {
    items[(rng.next_u64() % items.len() as u64) as usize]
}

/// Break a paragraph into lines of about `width` characters at spaces, as PDF text does.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for word in text.split(' ') {
        if line > 0 && line + word.len() > width {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += word.len();
    }
    out
}

fn agreement(rng: &mut SplitMix, id: usize) -> LabelledDoc {
    let law = pick(rng, &STATES);
    let home = pick(rng, &STATES);
    let (term, iso) = pick(rng, &TERMS);
    let notice = pick(rng, &["thirty (30) days", "60 days", "ninety (90) days"]);
    let mut sentences = [
        format!(
            "ACME Holdings Inc., a {home} corporation (the \"Company\"), and the Supplier agree as follows."
        ),
        format!("The initial term of this Agreement is {term} from the Effective Date."),
        format!("Either party may terminate on {notice}' written notice."),
        "The Supplier shall deliver the Products in good order.".to_string(),
        format!(
            "This Agreement shall be governed by the laws of the State of {law}, without regard to its conflict of laws rules."
        ),
        "All notices shall be in writing.".to_string(),
    ];
    // The order of the middle clauses varies, as contracts do.
    let k = 1 + (rng.next_u64() % 4) as usize;
    sentences[1..].rotate_left(k);
    let mut paragraph = sentences.join(" ");
    if rng.next_u64().is_multiple_of(2) {
        // The line break falls inside the state's name, as it often does in PDF text.
        let at = paragraph.find(&format!("State of {law}")).unwrap_or(0);
        let broken = format!("State of {}", law.replacen(' ', "\n", 1));
        paragraph.replace_range(at..at + 9 + law.len(), &broken);
    }
    let text = if rng.next_u64().is_multiple_of(2) {
        wrap(&paragraph, 40 + (rng.next_u64() % 40) as usize)
    } else {
        paragraph
    };
    LabelledDoc {
        id: format!("agreement-{id}"),
        text: format!("SUPPLY AGREEMENT\n\n{text}\n"),
        fields: [
            ("governing_law".to_string(), vec![law.to_string()]),
            ("term".to_string(), vec![iso.to_string()]),
        ]
        .into_iter()
        .collect(),
    }
}

fn agreements(n: usize, seed: u64) -> Vec<LabelledDoc> {
    let mut rng = SplitMix(seed);
    (0..n).map(|i| agreement(&mut rng, i)).collect()
}

#[test]
fn values_inside_sentences_are_found_across_line_breaks_and_durations_normalised() {
    let train = agreements(80, 11);
    let test = agreements(40, 12);
    let fields = [
        FieldSpec::new("governing_law", FieldKind::Text),
        FieldSpec::new("term", FieldKind::Duration),
    ];
    let opts = TrainOptions {
        hash_bits: 16,
        ..TrainOptions::default()
    };
    let ex = Extractor::train(&train, &fields, &opts).unwrap();
    let (mut law_right, mut term_right, mut wrapped_right) = (0, 0, 0);
    for d in &test {
        let out = ex.extract(&d.text);
        let law = &d.gold("governing_law").unwrap()[0];
        if let [v] = out[0].values.as_slice()
            && &v.value == law
        {
            law_right += 1;
            // The value is a piece of a sentence, not a line of its own...
            let line_start = d.text[..v.span.start].rfind('\n').map_or(0, |i| i + 1);
            assert!(v.span.start > line_start || v.span.end < d.text.len(), "{v:?}");
            // ...and a state wrapped over two lines is found whole.
            if v.raw.contains('\n') {
                wrapped_right += 1;
            }
        }
        if let [v] = out[1].values.as_slice()
            && v.value == d.gold("term").unwrap()[0]
        {
            term_right += 1;
        }
    }
    assert!(law_right >= 36, "{law_right}/40 governing laws right");
    assert!(term_right >= 36, "{term_right}/40 terms right");
    assert!(wrapped_right >= 1, "no wrapped state was found whole");

    // 80 held-out answers cannot back 99%: nothing would be accepted automatically.
    match ex.evidence("governing_law", 0.99) {
        Some(ThresholdEvidence::Insufficient { held_out, .. }) => assert_eq!(held_out, 80),
        other => panic!("80 answers cannot back 0.99: {other:?}"),
    }
}
