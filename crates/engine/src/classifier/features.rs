//! Text to sparse TF-IDF vectors: word unigrams and bigrams plus character 3–5-grams, each
//! hashed to 64 bits and mapped through a vocabulary learned from the training texts.
//!
//! Why these features: word n-grams carry the intent ("transfer money"), character n-grams
//! survive typos, inflections and unseen compounds ("transfering", "bankaccount"). Hashing
//! to 64 bits means no string is stored and collisions are negligible, while the vocabulary
//! keeps only what training saw, so the model's size follows the data and not a fixed
//! hash space. N-grams never seen in training still count in the vector's norm (with the
//! largest IDF): an input made mostly of unknown n-grams gets a short known part, hence
//! small scores, which is exactly the "unlike the training data" signal we want.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Character n-gram lengths (inclusive).
/// Character bigrams were tried: they add a fifth to training time (they are in every
/// input) for no measurable gain in accuracy or out-of-scope detection.
pub(crate) const CHAR_MIN: usize = 3;
pub(crate) const CHAR_MAX: usize = 5;

/// Namespaces so that the word "ab" and the character bigram "ab" hash apart.
pub(crate) const NS_WORD: u64 = 0x100;
pub(crate) const NS_BIGRAM: u64 = 0x200;
pub(crate) const NS_CHAR: u64 = 0x300;

/// Which block a feature belongs to; each block is L2-normalised on its own so that the
/// many character n-grams do not drown the few word features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Block {
    Word = 0,
    Char = 1,
    /// Structured inputs (see `inputs`): normalised on their own, so a long message does
    /// not drown the country column, nor the other way round.
    Field = 2,
}

/// The keys are already 64-bit hashes, so the map needs no second hash: a multiply spreads
/// them over the table. Fixed, so lookups are deterministic across runs and platforms.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

pub(crate) type FeatureMap = HashMap<u64, u32, BuildHasherDefault<PreHashed>>;

/// FNV-1a, 64-bit, with a namespace folded in first. Stable across versions and platforms,
/// which a saved model depends on (std's hasher is randomised per process).
pub(crate) fn fnv(ns: u64, parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325 ^ ns.wrapping_mul(0x100_0000_01B3);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            // A separator byte no token contains, so ("ab","c") differs from ("a","bc").
            h ^= 0xFF;
            h = h.wrapping_mul(0x100_0000_01B3);
        }
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01B3);
        }
    }
    h
}

/// The lower-cased text with one space between words (maximal runs of alphanumeric
/// characters; punctuation separates), padded with a space at each end, and the byte
/// range of every word in it. One string for the whole text instead of one per word.
pub(crate) fn normalise(text: &str) -> (String, Vec<(usize, usize)>) {
    let mut norm = String::with_capacity(text.len() + 2);
    let mut spans = Vec::new();
    norm.push(' ');
    let mut start: Option<usize> = None;
    for ch in text.chars() {
        if ch.is_alphanumeric() {
            if start.is_none() {
                start = Some(norm.len());
            }
            norm.extend(ch.to_lowercase());
        } else if let Some(s) = start.take() {
            spans.push((s, norm.len()));
            norm.push(' ');
        }
    }
    if let Some(s) = start {
        spans.push((s, norm.len()));
        norm.push(' ');
    }
    (norm, spans)
}

/// Lower-cased words, for tests and callers that want them as strings.
#[cfg(test)]
pub(crate) fn words(text: &str) -> Vec<String> {
    let (norm, spans) = normalise(text);
    spans.iter().map(|&(a, b)| norm[a..b].to_string()).collect()
}

/// A text's n-grams: `(hash, block, count)` sorted by hash, and its word count.
#[derive(Debug, Clone, Default)]
pub(crate) struct Grams {
    pub list: Vec<(u64, Block, u32)>,
    pub n_words: u32,
}

/// Every n-gram hash of a text with its block, sorted and counted.
pub(crate) fn ngrams(text: &str) -> Grams {
    let (norm, ws) = normalise(text);
    let word = |i: usize| &norm.as_bytes()[ws[i].0..ws[i].1];
    let mut hashes: Vec<(u64, Block)> = Vec::with_capacity(ws.len() * 2 + norm.len() * 3);
    for i in 0..ws.len() {
        hashes.push((fnv(NS_WORD, &[word(i)]), Block::Word));
        if i + 1 < ws.len() {
            hashes.push((fnv(NS_BIGRAM, &[word(i), word(i + 1)]), Block::Word));
        }
    }
    // Character n-grams run over the normalised text with its padding spaces, so that
    // word starts and ends (" tr", "er ") are features of their own.
    let bounds: Vec<usize> = norm.char_indices().map(|(i, _)| i).chain([norm.len()]).collect();
    let n_chars = bounds.len() - 1;
    if !ws.is_empty() {
        for n in CHAR_MIN..=CHAR_MAX {
            for start in 0..(n_chars + 1).saturating_sub(n) {
                let gram = &norm.as_bytes()[bounds[start]..bounds[start + n]];
                hashes.push((fnv(NS_CHAR + n as u64, &[gram]), Block::Char));
            }
        }
    }
    hashes.sort_unstable();
    let mut out: Vec<(u64, Block, u32)> = Vec::with_capacity(hashes.len());
    for (h, b) in hashes {
        match out.last_mut() {
            Some(last) if last.0 == h => last.2 += 1,
            _ => out.push((h, b, 1)),
        }
    }
    Grams {
        list: out,
        n_words: ws.len() as u32,
    }
}

/// A sparse vector over vocabulary rows, plus how much of the input the vocabulary knew.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SparseVec {
    pub idx: Vec<u32>,
    pub val: Vec<f32>,
    /// Share of the input's TF-IDF mass (squared, before normalising) on known n-grams:
    /// 1.0 when every n-gram was seen in training, near 0 for gibberish.
    pub known: f32,
    /// Number of words, for the out-of-scope signals (one-word inputs are ambiguous).
    pub n_words: u32,
    /// The dense block (the text's static word vector, scaled), empty when the model has
    /// none. Its weights follow the sparse rows.
    pub dense: Vec<f32>,
}

/// The learned vocabulary: n-gram hash to row, with each row's IDF and block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Vocab {
    /// Rows by descending document frequency, then hash.
    pub hashes: Vec<u64>,
    pub idf: Vec<f32>,
    pub is_char: Vec<bool>,
    /// IDF given to n-grams never seen in training (as if their document frequency were 0).
    pub unknown_idf: f32,
    #[serde(skip)]
    map: FeatureMap,
}

impl Vocab {
    /// Learn the vocabulary from training texts (already split into n-grams).
    pub(crate) fn fit<'a>(docs: impl ExactSizeIterator<Item = &'a Grams>) -> Self {
        let n = docs.len() as f32;
        let mut df: HashMap<u64, (u32, Block), BuildHasherDefault<PreHashed>> = HashMap::default();
        for doc in docs {
            for &(h, b, _) in &doc.list {
                df.entry(h).or_insert((0, b)).0 += 1;
            }
        }
        let mut rows: Vec<(u64, u32, Block)> = df.into_iter().map(|(h, (d, b))| (h, d, b)).collect();
        // Frequent n-grams first: every example touches them, so keeping their weight
        // rows together keeps them in cache during training and prediction. The hash
        // breaks ties, so the order (and a saved model) is canonical.
        rows.sort_unstable_by_key(|r| (std::cmp::Reverse(r.1), r.0));
        // Smoothed IDF, as scikit-learn computes it: ln((1 + n) / (1 + df)) + 1.
        let idf = rows
            .iter()
            .map(|r| ((1.0 + n) / (1.0 + r.1 as f32)).ln() + 1.0)
            .collect();
        let mut vocab = Self {
            hashes: rows.iter().map(|r| r.0).collect(),
            idf,
            is_char: rows.iter().map(|r| r.2 == Block::Char).collect(),
            unknown_idf: (1.0 + n).ln() + 1.0,
            map: FeatureMap::default(),
        };
        vocab.rebuild_map();
        vocab
    }

    /// The lookup table is derived data: rebuilt after loading rather than serialised.
    pub(crate) fn rebuild_map(&mut self) {
        self.map = self
            .hashes
            .iter()
            .enumerate()
            .map(|(i, &h)| (h, i as u32))
            .collect();
    }

    pub(crate) fn len(&self) -> usize {
        self.hashes.len()
    }

    /// TF-IDF with sublinear term frequency (1 + ln tf), each block L2-normalised and
    /// scaled by 1/sqrt(2) so that the text alone has unit norm; structured inputs, when
    /// there are any, add a block of the same weight as each text block.
    pub(crate) fn vectorize(&self, grams: &Grams) -> SparseVec {
        let mut norm2 = [0.0f32; 3];
        let mut known2 = 0.0f32;
        let mut idx = Vec::with_capacity(grams.list.len());
        let mut val = Vec::with_capacity(grams.list.len());
        let mut blocks = Vec::with_capacity(grams.list.len());
        for &(h, b, tf) in &grams.list {
            let tfw = 1.0 + (tf as f32).ln();
            match self.map.get(&h) {
                Some(&row) => {
                    let v = tfw * self.idf[row as usize];
                    norm2[b as usize] += v * v;
                    known2 += v * v;
                    idx.push(row);
                    val.push(v);
                    blocks.push(b);
                }
                None => {
                    let v = tfw * self.unknown_idf;
                    norm2[b as usize] += v * v;
                }
            }
        }
        let scale = [
            std::f32::consts::FRAC_1_SQRT_2 / norm2[0].sqrt().max(1e-12),
            std::f32::consts::FRAC_1_SQRT_2 / norm2[1].sqrt().max(1e-12),
            std::f32::consts::FRAC_1_SQRT_2 / norm2[2].sqrt().max(1e-12),
        ];
        for (v, b) in val.iter_mut().zip(&blocks) {
            *v *= scale[*b as usize];
        }
        let total = norm2[0] + norm2[1] + norm2[2];
        SparseVec {
            idx,
            val,
            known: if total > 0.0 { known2 / total } else { 0.0 },
            n_words: grams.n_words,
            dense: Vec::new(),
        }
    }

    /// Add structured-input features (see `inputs`) to a text's n-grams, keeping the
    /// list sorted by hash.
    pub(crate) fn merge(grams: &mut Grams, fields: impl Iterator<Item = (u64, Block)>) {
        let before = grams.list.len();
        grams.list.extend(fields.map(|(h, b)| (h, b, 1)));
        if grams.list.len() == before {
            return;
        }
        grams.list.sort_unstable_by_key(|g| g.0);
        grams.list.dedup_by(|b, a| {
            let same = a.0 == b.0;
            if same {
                a.2 += b.2;
            }
            same
        });
    }

    /// Words and n-grams in one step.
    #[cfg(test)]
    pub(crate) fn transform(&self, text: &str) -> SparseVec {
        self.vectorize(&ngrams(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_on_punctuation_and_lowercase() {
        assert_eq!(
            words("Hello, World! it's 2x"),
            ["hello", "world", "it", "s", "2x"]
        );
        assert!(words("  ...  ").is_empty());
    }

    #[test]
    fn ngrams_are_counted_and_distinct_by_kind() {
        let g = ngrams("ab ab").list;
        // "ab" word twice; one bigram; char grams over " ab ab ".
        assert!(g.iter().any(|x| x.1 == Block::Word && x.2 == 2));
        assert_ne!(fnv(NS_WORD, &[b"ab"]), fnv(NS_CHAR + 2, &[b"ab"]));
        assert_ne!(fnv(NS_BIGRAM, &[b"ab", b"c"]), fnv(NS_BIGRAM, &[b"a", b"bc"]));
    }

    #[test]
    fn unknown_ngrams_shrink_the_known_part() {
        let docs: Vec<_> = ["book a flight", "cancel my flight"]
            .iter()
            .map(|t| ngrams(t))
            .collect();
        let vocab = Vocab::fit(docs.iter());
        let seen = vocab.transform("book a flight");
        let odd = vocab.transform("zqxv wpfj");
        assert!(seen.known > 0.99);
        assert!(odd.known < 0.2, "known {}", odd.known);
        let norm: f32 = seen.val.iter().map(|v| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-4);
    }
}
