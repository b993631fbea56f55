//! Context features that carry across document types, for values inside sentences: the
//! words just before and after a span (across line breaks, since PDF text wraps
//! anywhere), the punctuation glued to it (`(the "Company")`, `New York.`), the other
//! words of the sentence it sits in, its capitalisation pattern and where it sits in the
//! document by characters. The line-based features in `features` see a receipt's labels
//! and neighbouring lines; a contract's paragraph is one line of hundreds of words, and
//! these see what a reader of prose uses instead.
//!
//! Everything is computed once per document (a flat list of token hashes and sentence
//! bounds) and read in constant time per candidate: at most [`SENTENCE_WINDOW`] words
//! either side, whatever the length of the line or the document.

use super::candidates::{Candidate, Layout};

// Feature namespaces, after `features`' own; part of the saved-model format.
pub(crate) const BEFORE: u64 = 48;
pub(crate) const AFTER: u64 = 49;
pub(crate) const GLUED_BEFORE: u64 = 50;
pub(crate) const GLUED_AFTER: u64 = 51;
pub(crate) const SENTENCE: u64 = 52;
pub(crate) const CAPS: u64 = 53;
pub(crate) const CHAR_POS: u64 = 54;
pub(crate) const SENTENCE_START: u64 = 55;
pub(crate) const BEFORE_CAPS: u64 = 56;

/// Words of the sentence read either side of a candidate.
pub(crate) const SENTENCE_WINDOW: usize = 12;
/// Words read just before and just after a candidate, by distance.
const NEAR: usize = 3;
/// Tokens of a candidate its capitalisation pattern reads.
const CAPS_TOKENS: usize = 6;

/// Abbreviations whose full stop does not end a sentence (generic English, not any one
/// document type's).
const ABBREVIATIONS: [&str; 14] = [
    "inc", "corp", "ltd", "co", "no", "mr", "mrs", "ms", "dr", "st", "jr", "sr", "u.s", "e.g",
];

/// One document's tokens, flattened across lines, with what candidates read of them.
pub(crate) struct Prose {
    /// The first flat token index of each layout line.
    line_first: Vec<usize>,
    words: Vec<u64>,
    caps: Vec<u8>,
    /// For each token, the flat index where its sentence starts and ends (exclusive).
    sentence: Vec<(u32, u32)>,
    text_len: usize,
}

impl Prose {
    pub fn new(text: &str, layout: &Layout, word_hash: impl Fn(&str) -> u64) -> Self {
        let mut line_first = Vec::with_capacity(layout.lines.len());
        let mut words = Vec::new();
        let mut caps = Vec::new();
        let mut ends = Vec::new();
        for line in &layout.lines {
            line_first.push(words.len());
            for &(a, b) in &line.tokens {
                let tok = &text[a..b];
                words.push(word_hash(tok));
                caps.push(caps_class(tok));
                ends.push(ends_sentence(tok));
            }
        }
        let mut sentence = vec![(0u32, 0u32); words.len()];
        let mut start = 0;
        for i in 0..words.len() {
            if ends[i] || i + 1 == words.len() {
                for s in &mut sentence[start..=i] {
                    *s = (start as u32, i as u32 + 1);
                }
                start = i + 1;
            }
        }
        Self {
            line_first,
            words,
            caps,
            sentence,
            text_len: text.len().max(1),
        }
    }

    /// Add the prose features of `cand` through `add(namespace, hash)`.
    pub fn features(&self, text: &str, layout: &Layout, cand: &Candidate, mut add: impl FnMut(u64, u64)) {
        let span = cand.span;
        let first_toks = &layout.lines[cand.first_line].tokens;
        let last_toks = &layout.lines[cand.last_line].tokens;
        let i0 = first_toks.partition_point(|t| t.1 <= span.start);
        let i1 = last_toks.partition_point(|t| t.0 < span.end);
        if i0 >= first_toks.len() || i1 == 0 {
            return;
        }
        // Flat indices of the first and last tokens the candidate overlaps.
        let (f0, f1) = (
            self.line_first[cand.first_line] + i0,
            self.line_first[cand.last_line] + i1 - 1,
        );
        // Punctuation glued to the span inside its first and last tokens.
        let glued = |s: &str| {
            s.chars()
                .take(4)
                .fold(0xC0FFEE_u64, |h, c| h.rotate_left(7) ^ c as u64)
        };
        let (t0, t1) = (first_toks[i0], last_toks[i1 - 1]);
        add(GLUED_BEFORE, glued(&text[t0.0..span.start.max(t0.0)]));
        add(GLUED_AFTER, glued(&text[span.end.min(t1.1)..t1.1]));
        for k in 1..=NEAR {
            add(
                BEFORE,
                (k as u64) << 56 ^ f0.checked_sub(k).map_or(1, |i| self.words[i]),
            );
            add(
                AFTER,
                (k as u64) << 56 ^ self.words.get(f1 + k).copied().unwrap_or(1),
            );
        }
        add(
            BEFORE_CAPS,
            f0.checked_sub(1).map_or(9, |i| u64::from(self.caps[i])),
        );
        let (s0, s1) = self.sentence[f0];
        let (s0, s1) = (s0 as usize, (self.sentence[f1].1 as usize).max(s1 as usize));
        for i in s0.max(f0.saturating_sub(SENTENCE_WINDOW))..f0 {
            add(SENTENCE, self.words[i]);
        }
        for i in (f1 + 1)..s1.min(f1 + 1 + SENTENCE_WINDOW) {
            add(SENTENCE, self.words[i]);
        }
        add(SENTENCE_START, u64::from(f0 == s0));
        let caps = self.caps[f0..=f1.min(f0 + CAPS_TOKENS - 1)]
            .iter()
            .fold(0u64, |h, &c| (h << 3) | u64::from(c));
        add(CAPS, caps | (u64::from(f1 - f0 >= CAPS_TOKENS) << 40));
        add(CHAR_POS, (span.start * 20 / self.text_len) as u64);
    }
}

/// A token's capitalisation: 1 Title, 2 UPPER, 3 lower, 4 starts with a digit, 5 other.
fn caps_class(tok: &str) -> u8 {
    let letters = tok.trim_matches(|c: char| !c.is_alphanumeric());
    let Some(first) = letters.chars().next() else {
        return 5;
    };
    if first.is_ascii_digit() {
        4
    } else if !letters.chars().any(char::is_lowercase) && letters.chars().any(char::is_uppercase) {
        2
    } else if first.is_uppercase() {
        1
    } else if first.is_lowercase() {
        3
    } else {
        5
    }
}

/// Whether a token ends a sentence: it ends in `.`, `!`, `?` or `;` (before any closing
/// quotes or brackets) and is not a known abbreviation or a single initial.
fn ends_sentence(tok: &str) -> bool {
    let t = tok.trim_end_matches(['"', '\'', ')', ']', '\u{201d}', '\u{2019}']);
    let Some(last) = t.chars().last() else {
        return false;
    };
    match last {
        '!' | '?' | ';' => true,
        '.' => {
            let word = t[..t.len() - 1].trim_start_matches(|c: char| !c.is_alphanumeric());
            let lower = word.to_ascii_lowercase();
            !(word.chars().count() == 1 || ABBREVIATIONS.contains(&lower.as_str()))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Span;

    fn hash(s: &str) -> u64 {
        s.bytes().fold(7, |h, b| h.wrapping_mul(31) ^ u64::from(b))
    }

    fn feats(text: &str, span: (usize, usize), lines: (usize, usize)) -> Vec<(u64, u64)> {
        let layout = Layout::new(text);
        let prose = Prose::new(text, &layout, |t| {
            hash(t.trim_matches(|c: char| !c.is_alphanumeric()))
        });
        let cand = Candidate {
            span: Span::new(span.0, span.1),
            first_line: lines.0,
            last_line: lines.1,
            origin: super::super::candidates::Origin::Shape,
        };
        let mut out = Vec::new();
        prose.features(text, &layout, &cand, |ns, h| out.push((ns, h)));
        out
    }

    #[test]
    fn words_before_carry_across_line_breaks_and_sentences_stop_at_full_stops() {
        let text = "Signed by ACME Inc. and the laws of the\nState of New York. Nothing else here.";
        let at = text.find("New York").unwrap();
        let f = feats(text, (at, at + 8), (1, 1));
        // "of" is one word before, "State" two, "the" (on the line above) three.
        assert!(f.contains(&(BEFORE, (1 << 56) ^ hash("of"))));
        assert!(f.contains(&(BEFORE, (3 << 56) ^ hash("the"))));
        // The sentence runs back over "Inc." (an abbreviation) to "Signed", and stops at
        // "York.": "Nothing" is in the next one.
        let sentence: Vec<u64> = f.iter().filter(|x| x.0 == SENTENCE).map(|x| x.1).collect();
        assert!(sentence.contains(&hash("laws")) && sentence.contains(&hash("ACME")));
        assert!(!sentence.contains(&hash("Nothing")));
        // The full stop glued to "York." is seen.
        assert!(f.contains(&(GLUED_AFTER, 0xC0FFEE_u64.rotate_left(7) ^ '.' as u64)));
    }

    #[test]
    fn capitalisation_classes() {
        assert_eq!(caps_class("York."), 1);
        assert_eq!(caps_class("(ACME"), 2);
        assert_eq!(caps_class("laws"), 3);
        assert_eq!(caps_class("2014,"), 4);
        assert!(ends_sentence("York.") && ends_sentence("here.\"") && !ends_sentence("Inc."));
    }
}
