//! Why the router chose a route, in words: each input's share of the chosen route's score
//! in the linear model ("country = de", "message mentions “invoice”").
//!
//! A feature's contribution is its value in the input vector times its (centred) weight
//! for the chosen route, so the contributions and the bias add up to the route's logit.
//! Text n-grams are hashed and the model keeps no strings, so the words come from the
//! input itself: each n-gram's contribution is shared among the words it spans (a word
//! bigram between its two words, a character n-gram among the words it overlaps), then
//! summed per distinct word. Structured inputs carry their own description (see `inputs`).

use super::features::{NS_BIGRAM, NS_CHAR, NS_WORD, SparseVec, Vocab, fnv, normalise};
use super::inputs::FieldGram;
use super::linear::Compact;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// How many contributions a prediction lists.
const TOP: usize = 5;

/// One input's share of the chosen route's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// In words: "country = de", "message mentions “invoice”".
    pub what: String,
    /// Its share of the route's logit (positive: towards the route).
    pub weight: f64,
}

/// The inputs that pushed hardest towards `class`, strongest first (positive ones only).
pub(crate) fn contributions(
    vocab: &Vocab,
    linear: &Compact,
    x: &SparseVec,
    class: usize,
    text_name: &str,
    text: &str,
    fields: &[FieldGram],
) -> Vec<Contribution> {
    // Contribution of each n-gram hash present in the vector.
    let by_hash: HashMap<u64, f32> = x
        .idx
        .iter()
        .zip(&x.val)
        .filter_map(|(&row, &v)| {
            let w = linear.weight(row as usize, class);
            (w != 0.0).then(|| (vocab.hashes[row as usize], v * w))
        })
        .collect();
    let mut total: BTreeMap<String, f64> = BTreeMap::new();
    for f in fields {
        if let Some(&c) = by_hash.get(&f.hash) {
            *total.entry(f.words.clone()).or_default() += f64::from(c);
        }
    }
    for (word, c) in word_shares(text, &by_hash) {
        *total
            .entry(format!("{text_name} mentions \u{201c}{word}\u{201d}"))
            .or_default() += c;
    }
    let mut out: Vec<Contribution> = total
        .into_iter()
        .filter(|(_, w)| *w > 1e-6)
        .map(|(what, weight)| Contribution { what, weight })
        .collect();
    out.sort_by(|a, b| b.weight.total_cmp(&a.weight).then_with(|| a.what.cmp(&b.what)));
    out.truncate(TOP);
    out
}

/// Each distinct word's share of the n-gram contributions in `by_hash`.
fn word_shares(text: &str, by_hash: &HashMap<u64, f32>) -> BTreeMap<String, f64> {
    let (norm, ws) = normalise(text);
    if ws.is_empty() || by_hash.is_empty() {
        return BTreeMap::new();
    }
    let word = |i: usize| &norm.as_bytes()[ws[i].0..ws[i].1];
    // Every occurrence of every n-gram with the words it spans (first, last).
    let mut occ: Vec<(u64, usize, usize)> = Vec::new();
    for i in 0..ws.len() {
        occ.push((fnv(NS_WORD, &[word(i)]), i, i));
        if i + 1 < ws.len() {
            occ.push((fnv(NS_BIGRAM, &[word(i), word(i + 1)]), i, i + 1));
        }
    }
    // Word index of each character position; a padding space belongs to the next word.
    let bounds: Vec<usize> = norm.char_indices().map(|(i, _)| i).chain([norm.len()]).collect();
    let n_chars = bounds.len() - 1;
    let mut owner = Vec::with_capacity(n_chars);
    let mut w = 0;
    for &b in &bounds[..n_chars] {
        while w + 1 < ws.len() && b >= ws[w].1 {
            w += 1;
        }
        owner.push(w);
    }
    for n in super::features::CHAR_MIN..=super::features::CHAR_MAX {
        for start in 0..(n_chars + 1).saturating_sub(n) {
            let gram = &norm.as_bytes()[bounds[start]..bounds[start + n]];
            let h = fnv(NS_CHAR + n as u64, &[gram]);
            if by_hash.contains_key(&h) {
                let last = (start + n - 1).min(n_chars - 1);
                occ.push((h, owner[start], owner[last]));
            }
        }
    }
    let mut count: HashMap<u64, u32> = HashMap::new();
    for &(h, ..) in &occ {
        *count.entry(h).or_default() += 1;
    }
    let mut per_word = vec![0.0f64; ws.len()];
    for &(h, a, b) in &occ {
        let Some(&c) = by_hash.get(&h) else { continue };
        let share = f64::from(c) / f64::from(count[&h]) / (b - a + 1) as f64;
        for p in &mut per_word[a..=b] {
            *p += share;
        }
    }
    let mut out: BTreeMap<String, f64> = BTreeMap::new();
    for (i, c) in per_word.into_iter().enumerate() {
        let w = String::from_utf8_lossy(word(i)).into_owned();
        *out.entry(w).or_default() += c;
    }
    out
}
