//! Structured inputs beside the text: a lead's country, company size, e-mail domain or
//! newsletter box become features of the same linear model as the message's n-grams.
//!
//! Each value becomes one or two hashed features in their own block (see
//! `features::Block::Field`), namespaced by the input's name so that "DE" in `country`
//! and "DE" in `billing_country` are different features. What a feature is worth is
//! learned from the examples like any n-gram; nothing here says which value means which
//! route. Numbers are binned on a log scale (half-octaves, plus whole octaves so that
//! neighbouring bins share a feature), which needs no fitted state and keeps a saved
//! model independent of the training set's range.
//!
//! Every feature carries its description in words ("country = de"), which is how the
//! item page explains a route.

use super::features::{Block, fnv, normalise};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Namespace of structured features (text n-grams use 0x100–0x3FF).
const NS_FIELD: u64 = 0x1000;
/// A category value longer than this is cut: a form field is not an essay, and the cut
/// bounds the work one input can cause.
const MAX_VALUE_CHARS: usize = 100;
/// At most this many words of an extra text input count.
const MAX_TEXT_WORDS: usize = 200;

/// How a router input is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureKind {
    /// Free text: its words.
    #[default]
    Text,
    /// One value out of a set (country, product, lead source), compared case-insensitively.
    Category,
    /// A number (company size, budget), binned on a log scale.
    Number,
    /// yes/no, true/false, 1/0.
    Boolean,
    /// An e-mail address, read for its domain and top-level domain.
    EmailDomain,
}

impl FeatureKind {
    pub const ALL: [FeatureKind; 5] = [
        FeatureKind::Text,
        FeatureKind::Category,
        FeatureKind::Number,
        FeatureKind::Boolean,
        FeatureKind::EmailDomain,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FeatureKind::Text => "text",
            FeatureKind::Category => "category",
            FeatureKind::Number => "number",
            FeatureKind::Boolean => "boolean",
            FeatureKind::EmailDomain => "email_domain",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One structured input the router reads, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFeature {
    pub name: String,
    pub kind: FeatureKind,
}

/// One feature of a structured value: its hash and what it means in words.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldGram {
    pub hash: u64,
    pub words: String,
}

/// The features of every declared input present in `values` (missing or blank inputs
/// give none: an empty form field says nothing).
pub(crate) fn field_grams(schema: &[InputFeature], values: &BTreeMap<String, String>) -> Vec<FieldGram> {
    let mut out = Vec::new();
    for f in schema {
        let Some(raw) = values.get(&f.name) else { continue };
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let name = f.name.as_str();
        let mut push = |tag: &str, value: &str, words: String| {
            out.push(FieldGram {
                hash: fnv(NS_FIELD, &[name.as_bytes(), tag.as_bytes(), value.as_bytes()]),
                words,
            });
        };
        match f.kind {
            FeatureKind::Category => {
                let v = bounded_lower(raw);
                push("=", &v, format!("{name} = {v}"));
            }
            FeatureKind::Boolean => match parse_bool(raw) {
                Some(true) => push("=", "yes", format!("{name} = yes")),
                Some(false) => push("=", "no", format!("{name} = no")),
                None => {}
            },
            FeatureKind::Number => {
                if let Some(x) = parse_number(raw) {
                    let (fine, coarse) = bins(x);
                    let sign = if x < 0.0 { "-" } else { "" };
                    let (lo, hi) = bin_range(fine, 2.0);
                    push(
                        "#",
                        &format!("{sign}{fine}"),
                        format!("{name} {sign}{lo}–{sign}{hi}"),
                    );
                    let (lo, hi) = bin_range(coarse, 1.0);
                    push(
                        "##",
                        &format!("{sign}{coarse}"),
                        format!("{name} {sign}{lo}–{sign}{hi}"),
                    );
                }
            }
            FeatureKind::EmailDomain => {
                let domain = bounded_lower(raw.rsplit('@').next().unwrap_or(raw));
                let domain = domain.trim_matches(|c: char| c == '.' || c.is_whitespace() || c == '>');
                if !domain.is_empty() {
                    push("@", domain, format!("{name} domain {domain}"));
                    if let Some((_, tld)) = domain.rsplit_once('.') {
                        push("@.", tld, format!("{name} ends in .{tld}"));
                    }
                }
            }
            FeatureKind::Text => {
                let (norm, spans) = normalise(raw);
                let mut seen = std::collections::BTreeSet::new();
                for &(a, b) in spans.iter().take(MAX_TEXT_WORDS) {
                    let w = &norm[a..b];
                    if seen.insert(w) {
                        push("w", w, format!("{name} mentions \u{201c}{w}\u{201d}"));
                    }
                }
            }
        }
    }
    out
}

/// The grams of `field_grams` as the vectoriser takes them.
pub(crate) fn as_block(grams: &[FieldGram]) -> impl Iterator<Item = (u64, Block)> + '_ {
    grams.iter().map(|g| (g.hash, Block::Field))
}

fn bounded_lower(s: &str) -> String {
    s.chars().take(MAX_VALUE_CHARS).collect::<String>().to_lowercase()
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "on" | "checked" => Some(true),
        "false" | "no" | "n" | "0" | "off" | "unchecked" => Some(false),
        _ => None,
    }
}

/// A number as forms write them: "1,200", "250 ", "1.5e3". Thousands separators are
/// dropped; anything else that is not a number gives `None` (the input then says nothing).
fn parse_number(s: &str) -> Option<f64> {
    if s.len() > 40 {
        return None;
    }
    let cleaned: String = s
        .chars()
        .filter(|c| *c != ',' && *c != '_' && *c != ' ')
        .collect();
    cleaned.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// Half-octave and octave bin of |x|: floor(2·log2(|x|+1)) and floor(log2(|x|+1)).
fn bins(x: f64) -> (i32, i32) {
    let l = (x.abs() + 1.0).log2();
    ((l * 2.0).floor() as i32, l.floor() as i32)
}

/// The values a bin covers, for its description: [2^(k/per) - 1, 2^((k+1)/per) - 1).
fn bin_range(k: i32, per: f64) -> (String, String) {
    let at = |k: i32| (2f64.powf(f64::from(k) / per) - 1.0).round();
    let fmt = |v: f64| format!("{v:.0}");
    (fmt(at(k)), fmt(at(k + 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Vec<InputFeature> {
        [
            ("country", FeatureKind::Category),
            ("size", FeatureKind::Number),
            ("email", FeatureKind::EmailDomain),
            ("newsletter", FeatureKind::Boolean),
            ("subject", FeatureKind::Text),
        ]
        .into_iter()
        .map(|(n, k)| InputFeature {
            name: n.into(),
            kind: k,
        })
        .collect()
    }

    fn words(values: &[(&str, &str)]) -> Vec<String> {
        let v: BTreeMap<String, String> = values.iter().map(|(a, b)| ((*a).into(), (*b).into())).collect();
        field_grams(&schema(), &v).into_iter().map(|g| g.words).collect()
    }

    #[test]
    fn each_kind_reads_its_value_in_words() {
        assert_eq!(
            words(&[
                ("country", " DE "),
                ("size", "1,200"),
                ("email", "Ana@Acme.CO.uk"),
                ("newsletter", "Yes"),
                ("subject", "Invoice, invoice copy")
            ]),
            [
                "country = de",
                "size 1023–1447",
                "size 1023–2047",
                "email domain acme.co.uk",
                "email ends in .uk",
                "newsletter = yes",
                "subject mentions \u{201c}invoice\u{201d}",
                "subject mentions \u{201c}copy\u{201d}",
            ]
        );
    }

    #[test]
    fn blank_missing_and_unreadable_values_say_nothing() {
        assert!(words(&[("country", "  "), ("size", "lots"), ("newsletter", "maybe")]).is_empty());
        assert!(words(&[("unknown", "x")]).is_empty());
    }

    #[test]
    fn the_same_value_in_two_inputs_is_two_features() {
        let v: BTreeMap<String, String> =
            [("a".to_string(), "x".to_string()), ("b".into(), "x".into())].into();
        let s = vec![
            InputFeature {
                name: "a".into(),
                kind: FeatureKind::Category,
            },
            InputFeature {
                name: "b".into(),
                kind: FeatureKind::Category,
            },
        ];
        let g = field_grams(&s, &v);
        assert_eq!(g.len(), 2);
        assert_ne!(g[0].hash, g[1].hash);
    }

    #[test]
    fn numbers_in_neighbouring_bins_share_the_octave() {
        let (f1, c1) = bins(64.0);
        let (f2, c2) = bins(100.0);
        assert_eq!(c1, c2);
        assert_ne!(f1, f2);
        assert_eq!(bins(0.0), (0, 0));
    }

    mod learned {
        //! The model learns structured inputs from data: sets where only a column decides.
        use super::super::super::{Example, TextClassifier, TrainOptions};
        use super::super::*;
        use crate::classifier::rng::Rng;

        const COUNTRIES: [&str; 8] = ["DE", "FR", "US", "CA", "JP", "BR", "IN", "ZA"];

        /// Leads whose message says nothing about the route (the same few phrases for
        /// every route); the route is the country's region, a mapping the model never sees
        /// except through the examples.
        fn leads(n: usize, seed: u64) -> Vec<Example> {
            let region = |c: &str| match c {
                "DE" | "FR" => "emea",
                "US" | "CA" | "BR" => "americas",
                _ => "apac",
            };
            let phrases = [
                "please call me about your product",
                "interested in a demo for our team",
                "send me pricing information",
                "we want to talk to sales",
            ];
            let mut rng = Rng::new(seed);
            (0..n)
                .map(|_| {
                    let c = COUNTRIES[rng.below(COUNTRIES.len())];
                    let mut e = Example::new(phrases[rng.below(phrases.len())], region(c));
                    e.fields.insert("country".into(), c.into());
                    e.fields.insert("size".into(), (10 + rng.below(5000)).to_string());
                    e
                })
                .collect()
        }

        fn opts(inputs: &[(&str, FeatureKind)]) -> TrainOptions {
            TrainOptions {
                oos_label: None,
                word_vector_weights: vec![0.0],
                inputs: inputs
                    .iter()
                    .map(|(n, k)| InputFeature {
                        name: (*n).into(),
                        kind: *k,
                    })
                    .collect(),
                ..TrainOptions::default()
            }
        }

        fn accuracy(model: &TextClassifier, test: &[Example]) -> f64 {
            let right = test
                .iter()
                .filter(|e| model.predict_inputs("message", &e.text, &e.fields).ranked[0].0 == e.label)
                .count();
            right as f64 / test.len() as f64
        }

        #[test]
        fn a_category_column_is_learned_when_the_text_says_nothing() {
            let (train, test) = (leads(300, 1), leads(200, 2));
            let text_only = TextClassifier::train(&train, &opts(&[])).unwrap();
            let with = TextClassifier::train(&train, &opts(&[("country", FeatureKind::Category)])).unwrap();
            let (a, b) = (accuracy(&text_only, &test), accuracy(&with, &test));
            assert!(a < 0.6, "text alone cannot know the region: {a:.3}");
            assert!(b > 0.97, "with the country column: {b:.3}");
            // The explanation names the column, first.
            let p = with.predict_inputs(
                "message",
                "send me pricing information",
                &[("country".to_string(), "JP".to_string())].into(),
            );
            assert_eq!(p.ranked[0].0, "apac");
            assert_eq!(p.contributions[0].what, "country = jp", "{:?}", p.contributions);
            // The router keeps its inputs through a save and load.
            let back = TextClassifier::from_bytes(&with.to_bytes()).unwrap();
            assert_eq!(back.inputs(), with.inputs());
            assert_eq!(accuracy(&back, &test), b);
        }

        #[test]
        fn a_number_column_is_learned_through_its_bins() {
            let segment = |e: &mut Example| {
                let size: f64 = e.fields["size"].parse().unwrap();
                e.label = if size >= 1000.0 { "enterprise" } else { "smb" }.into();
            };
            let mut train = leads(400, 3);
            let mut test = leads(200, 4);
            train.iter_mut().for_each(segment);
            test.iter_mut().for_each(segment);
            let model = TextClassifier::train(&train, &opts(&[("size", FeatureKind::Number)])).unwrap();
            let acc = accuracy(&model, &test);
            // Bins straddling 1000 (the half-octave 723–1023 is all below) make a few errors
            // possible only in the bin that holds the boundary.
            assert!(acc > 0.9, "{acc:.3}");
        }

        #[test]
        fn text_routers_ignore_inputs_they_were_not_trained_on() {
            let train = leads(100, 5);
            let model = TextClassifier::train(&train, &opts(&[])).unwrap();
            let plain = model.predict("send me pricing information");
            let with = model.predict_inputs(
                "text",
                "send me pricing information",
                &[("country".to_string(), "JP".to_string())].into(),
            );
            assert_eq!(plain, with);
        }
    }
}
