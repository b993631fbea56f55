//! The input range: what the texts an automation learned from look like, so that an input
//! far outside it goes to a person whatever a model's top score. A classifier's confidence
//! is calibrated on inputs like its training data; a 62 KB paste, 50,000 repeated letters,
//! a message in another language or a binary blob can still score high on a few familiar
//! words, and nothing in the score says it should not be trusted.
//!
//! Everything is learned from the training texts: the longest text and word, the words and
//! characters seen, and, cross-fitted (each fifth of the texts against the other four), how
//! often a new in-range text holds a word or character training never saw; how often word
//! pairs repeat within a text; how often control or unreadable characters occur, each with
//! how much that share varies between texts. An input is out of range when a count is far
//! above what its share predicts for its size (four standard deviations, see [`Rate`]). Lengths are out of range beyond twice
//! the longest seen. One pass over the input; memory bounded by its words.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::classifier::features::{fnv, normalise};

/// Folds for the cross-fitted unknown-word and unknown-character rates.
const FOLDS: usize = 5;
/// Lengths beyond this many times the longest in training are out of range.
const LENGTH_FACTOR: usize = 2;
/// Never call a text too long under this many characters, nor a word under this many:
/// a training set of short requests says little about a slightly longer one.
const MIN_LENGTH_LIMIT: usize = 200;
const MIN_WORD_LIMIT: usize = 24;
/// Hash namespace for known words (apart from the classifier's feature namespaces).
const NS_KNOWN: u64 = 0x900;

/// Which check an input failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RangeCheck {
    /// Characters in the whole input.
    Length,
    /// Characters in its longest word.
    WordLength,
    /// Words training never saw.
    UnknownWords,
    /// Characters (letters, symbols) training never saw: another script or alphabet.
    UnknownCharacters,
    /// Word pairs that occur earlier in the same input.
    Repetition,
    /// Control or unreadable characters.
    Binary,
}

/// One failed check: what was counted, out of how many, and the most that is in range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RangeViolation {
    pub check: RangeCheck,
    /// The count found in the input (characters, words, pairs).
    pub found: usize,
    /// Out of how many (words for unknown words, pairs for repetition); 0 for lengths.
    pub of: usize,
    /// The most that is in range for an input of this size.
    pub limit: usize,
    /// What training saw: the longest for lengths, else the expected share (0–1).
    pub seen: f64,
}

/// What the training texts look like. Build with [`InputRange::learn`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputRange {
    pub texts: usize,
    pub longest_text: usize,
    pub longest_word: usize,
    /// Hashes of the lower-cased words seen, sorted.
    words: Vec<u64>,
    /// Lower-cased characters seen (whitespace aside), sorted.
    chars: Vec<char>,
    /// Cross-fitted share of a held-out text's words that the other folds never saw.
    pub unknown_words: Rate,
    /// The same for characters.
    pub unknown_chars: Rate,
    /// Share of word pairs that repeat an earlier pair of the same text.
    pub repeats: Rate,
    /// Share of characters that are control or unreadable.
    pub binary: Rate,
}

/// How often something happens in a text: the pooled share `p`, and `spread`, the
/// standard deviation of the true share from one text to the next (texts differ: a
/// receipt full of product codes has more new words than one for a coffee). Estimated
/// by the method of moments: the observed shares' variance less what counting alone
/// explains.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    pub p: f64,
    pub spread: f64,
}

impl Rate {
    /// From per-text `(found, of)` counts.
    fn learn(counts: &[(usize, usize)]) -> Rate {
        let (found, of) = counts.iter().fold((0, 0), |(f, o), &(a, b)| (f + a, o + b));
        if of == 0 {
            return Rate::default();
        }
        let p = found as f64 / of as f64;
        let texts: Vec<(f64, f64)> = counts
            .iter()
            .filter(|c| c.1 > 0)
            .map(|&(a, b)| (a as f64 / b as f64, b as f64))
            .collect();
        let k = texts.len() as f64;
        let observed = texts.iter().map(|(r, _)| (r - p).powi(2)).sum::<f64>() / k;
        let counting = texts.iter().map(|(_, n)| p * (1.0 - p) / n).sum::<f64>() / k;
        Rate {
            p,
            spread: (observed - counting).max(0.0).sqrt(),
        }
    }

    /// The most of `n` in range: four standard deviations above the expected count
    /// (counting and text-to-text spread together), plus two so that a short text is not
    /// judged on one word.
    fn limit(&self, n: usize) -> usize {
        let n_f = n as f64;
        let p = self.p.clamp(0.0, 1.0);
        let var = n_f * p * (1.0 - p) + (n_f * self.spread).powi(2);
        (n_f * p + 4.0 * var.sqrt() + 2.0).floor() as usize
    }
}

/// The counts of one text that the checks read.
#[derive(Debug, Default)]
struct Counts {
    chars: usize,
    longest_word: usize,
    words: usize,
    unknown_words: usize,
    letters: usize,
    unknown_chars: usize,
    pairs: usize,
    repeated_pairs: usize,
    binary: usize,
}

fn is_binary(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        || c == '\u{FFFD}'
        || ('\u{E000}'..='\u{F8FF}').contains(&c)
}

fn char_key(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// Lower-cased words as hashes, numbers left out: a new amount or date is not a new word.
fn word_hashes(text: &str) -> Vec<u64> {
    let (norm, spans) = normalise(text);
    spans
        .iter()
        .map(|&(a, b)| &norm[a..b])
        .filter(|w| !w.chars().all(|c| c.is_numeric()))
        .map(|w| fnv(NS_KNOWN, &[w.as_bytes()]))
        .collect()
}

/// One pass over `text`, with the known words and characters to count against.
fn count(text: &str, known_words: &dyn Fn(u64) -> bool, known_char: &dyn Fn(char) -> bool) -> Counts {
    let mut c = Counts::default();
    let mut word_len = 0usize;
    for ch in text.chars() {
        c.chars += 1;
        if ch.is_alphanumeric() {
            word_len += 1;
            c.longest_word = c.longest_word.max(word_len);
        } else {
            word_len = 0;
        }
        if is_binary(ch) {
            c.binary += 1;
        }
        if !ch.is_whitespace() {
            c.letters += 1;
            if !known_char(char_key(ch)) {
                c.unknown_chars += 1;
            }
        }
    }
    let hashes = word_hashes(text);
    c.words = hashes.len();
    c.unknown_words = hashes.iter().filter(|&&h| !known_words(h)).count();
    let mut seen_pairs = HashSet::with_capacity(hashes.len());
    for pair in hashes.windows(2) {
        c.pairs += 1;
        if !seen_pairs.insert((pair[0], pair[1])) {
            c.repeated_pairs += 1;
        }
    }
    c
}

impl InputRange {
    /// Learn the range from training texts. `None` when there are none.
    pub fn learn<S: AsRef<str>>(texts: &[S]) -> Option<InputRange> {
        if texts.is_empty() {
            return None;
        }
        let hashed: Vec<Vec<u64>> = texts.iter().map(|t| word_hashes(t.as_ref())).collect();
        let char_sets: Vec<Vec<char>> = texts
            .iter()
            .map(|t| {
                let mut cs: Vec<char> = t
                    .as_ref()
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .map(char_key)
                    .collect();
                cs.sort_unstable();
                cs.dedup();
                cs
            })
            .collect();
        // Cross-fitted: each fold's texts counted against what the other folds saw.
        let folds = FOLDS.min(texts.len());
        let (mut unknown_words, mut unknown_chars) = (Vec::new(), Vec::new());
        if folds >= 2 {
            for fold in 0..folds {
                let others = |i: &usize| i % folds != fold;
                let known_words: HashSet<u64> = (0..texts.len())
                    .filter(others)
                    .flat_map(|i| hashed[i].iter().copied())
                    .collect();
                let known_chars: HashSet<char> = (0..texts.len())
                    .filter(others)
                    .flat_map(|i| char_sets[i].iter().copied())
                    .collect();
                for i in (0..texts.len()).filter(|i| i % folds == fold) {
                    let c = count(texts[i].as_ref(), &|h| known_words.contains(&h), &|ch| {
                        known_chars.contains(&ch)
                    });
                    unknown_words.push((c.unknown_words, c.words));
                    unknown_chars.push((c.unknown_chars, c.letters));
                }
            }
        }
        let mut all_words: Vec<u64> = hashed.into_iter().flatten().collect();
        all_words.sort_unstable();
        all_words.dedup();
        let mut all_chars: Vec<char> = char_sets.into_iter().flatten().collect();
        all_chars.sort_unstable();
        all_chars.dedup();
        let mut range = InputRange {
            texts: texts.len(),
            longest_text: 0,
            longest_word: 0,
            words: all_words,
            chars: all_chars,
            unknown_words: Rate::learn(&unknown_words),
            unknown_chars: Rate::learn(&unknown_chars),
            repeats: Rate::default(),
            binary: Rate::default(),
        };
        let (mut repeats, mut binary) = (Vec::new(), Vec::new());
        for t in texts {
            let c = range.counts(t.as_ref());
            range.longest_text = range.longest_text.max(c.chars);
            range.longest_word = range.longest_word.max(c.longest_word);
            repeats.push((c.repeated_pairs, c.pairs));
            binary.push((c.binary, c.chars));
        }
        range.repeats = Rate::learn(&repeats);
        range.binary = Rate::learn(&binary);
        Some(range)
    }

    fn counts(&self, text: &str) -> Counts {
        count(text, &|h| self.words.binary_search(&h).is_ok(), &|ch| {
            self.chars.binary_search(&ch).is_ok()
        })
    }

    /// Every check `text` fails, most telling first (binary, length, word length, unknown
    /// characters, unknown words, repetition). Empty when it is in range.
    pub fn check(&self, text: &str) -> Vec<RangeViolation> {
        let c = self.counts(text);
        let mut out = Vec::new();
        let mut by_count = |check, found: usize, of: usize, rate: Rate| {
            let limit = rate.limit(of);
            if found > limit {
                out.push(RangeViolation {
                    check,
                    found,
                    of,
                    limit,
                    seen: rate.p,
                });
            }
        };
        by_count(RangeCheck::Binary, c.binary, c.chars, self.binary);
        let mut by_length = |check, found: usize, longest: usize, floor: usize| {
            let limit = (longest * LENGTH_FACTOR).max(floor);
            if found > limit {
                out.push(RangeViolation {
                    check,
                    found,
                    of: 0,
                    limit,
                    seen: longest as f64,
                });
            }
        };
        by_length(RangeCheck::Length, c.chars, self.longest_text, MIN_LENGTH_LIMIT);
        by_length(
            RangeCheck::WordLength,
            c.longest_word,
            self.longest_word,
            MIN_WORD_LIMIT,
        );
        let mut by_count = |check, found: usize, of: usize, rate: Rate| {
            let limit = rate.limit(of);
            if found > limit {
                out.push(RangeViolation {
                    check,
                    found,
                    of,
                    limit,
                    seen: rate.p,
                });
            }
        };
        by_count(
            RangeCheck::UnknownCharacters,
            c.unknown_chars,
            c.letters,
            self.unknown_chars,
        );
        by_count(
            RangeCheck::UnknownWords,
            c.unknown_words,
            c.words,
            self.unknown_words,
        );
        by_count(RangeCheck::Repetition, c.repeated_pairs, c.pairs, self.repeats);
        out
    }
}

#[cfg(test)]
mod tests;
