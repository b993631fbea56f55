//! Candidate spans: every piece of a document that could be a field's value, from which the
//! learned model picks.
//!
//! Three generators, all bounded so that a long document costs time linear in its length:
//! - *runs*: one line or up to `max_run` consecutive lines, joined with spaces (an address
//!   printed over four lines);
//! - *grams*: up to `max_ngram` consecutive whitespace tokens inside one line (a company
//!   name followed by its registration number on the same line, a value after a label),
//!   and the same gram with the punctuation around it split off, as a reader of prose
//!   does: "York." is "York", `(the "Company")` holds "Company";
//! - *wrapped grams*: up to `max_wrap` tokens that start on one line and end on the next
//!   (PDF text wraps names and addresses mid-sentence), with punctuation split off too;
//! - *shapes*: spans that look like a value of the field's kind (a date inside
//!   `DATE:11/03/18`), whether or not they normalise, so an impossible date is still seen.
//!
//! For typed kinds (date, money, ...) runs and grams are kept only when they normalise,
//! which removes most of the noise before the model sees it. `max_run` and `max_ngram` are
//! learned from the training labels (the longest run or gram any gold value needed), so a
//! field that is always one whole line costs one candidate per line.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::fasthash::FastHash;
use super::normalise::{DateOrder, cannot_normalise, kind_normalises, normalise, shape_matches};
use crate::{FieldKind, Span};

/// One non-empty line: its trimmed byte range and its whitespace tokens.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub start: usize,
    pub end: usize,
    pub tokens: Vec<(usize, usize)>,
}

/// The lines of a document, computed once and shared by every field.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub lines: Vec<Line>,
}

impl Layout {
    pub fn new(text: &str) -> Self {
        let mut lines = Vec::new();
        let mut offset = 0;
        for raw in text.split('\n') {
            let line_start = offset;
            offset += raw.len() + 1;
            let mut tokens = Vec::new();
            let mut tok_start = None;
            for (i, c) in raw.char_indices() {
                match (c.is_whitespace(), tok_start) {
                    (true, Some(s)) => {
                        tokens.push((line_start + s, line_start + i));
                        tok_start = None;
                    }
                    (false, None) => tok_start = Some(i),
                    _ => {}
                }
            }
            if let Some(s) = tok_start {
                tokens.push((line_start + s, line_start + raw.len()));
            }
            if let (Some(first), Some(last)) = (tokens.first(), tokens.last()) {
                lines.push(Line {
                    start: first.0,
                    end: last.1,
                    tokens,
                });
            }
        }
        Self { lines }
    }
}

/// How far candidate generation reaches; learned in training, stored with the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CandidateConfig {
    pub max_run: usize,
    pub max_ngram: usize,
    /// Zero (no wrapped grams) for models saved before wrapped grams existed.
    #[serde(default)]
    pub max_wrap: usize,
    /// The classes ([`edge_class`]) a candidate's first character may be in, as bits:
    /// learned from the gold values, so a field whose values start with a capital
    /// ("New York", "ACME Corp") is not offered the thousands of spans of a contract that
    /// start with a lower-case word. Every class for models saved before.
    #[serde(default = "any_edge")]
    pub starts: u8,
    /// The same for a candidate's last character.
    #[serde(default = "any_edge")]
    pub ends: u8,
    /// The classes the nearest character before a candidate (whitespace skipped) may be
    /// in: a party's name follows "between" or an opening quote, rarely another capital,
    /// so the spans that start in the middle of a name are not offered.
    #[serde(default = "any_edge")]
    pub before: u8,
    /// The same for the nearest character after a candidate.
    #[serde(default = "any_edge")]
    pub after: u8,
    /// The most lower-case words ([`is_lower_word`]) a gram or wrapped gram may hold,
    /// learned like its length: names and places hold few ("Bank of New York"), the
    /// spans of a sentence many. No limit for models saved before.
    #[serde(default = "no_limit")]
    pub max_lower: usize,
}

fn no_limit() -> usize {
    usize::MAX
}

/// Whether a word is written in lower case: its first letter or digit, past any
/// punctuation, is a lower-case letter ("of", "(the", "iPhone").
pub(crate) fn is_lower_word(tok: &str) -> bool {
    tok.chars()
        .find(|c| c.is_alphanumeric())
        .is_some_and(char::is_lowercase)
}

/// Lower-case words in a value (see [`is_lower_word`]).
pub(crate) fn lower_words(value: &str) -> usize {
    value.split_whitespace().filter(|w| is_lower_word(w)).count()
}

/// Every edge class.
pub(crate) const ANY_EDGE: u8 = 0b1111;

fn any_edge() -> u8 {
    ANY_EDGE
}

/// A character's class at a span's edge, as one bit: upper-case letter, lower-case or
/// uncased letter, digit, anything else (punctuation, symbols).
pub(crate) fn edge_class(c: char) -> u8 {
    if c.is_uppercase() {
        0b0001
    } else if c.is_alphabetic() {
        0b0010
    } else if c.is_numeric() {
        0b0100
    } else {
        0b1000
    }
}

/// The edge classes of a span of `text`: its first and last characters (0 for an empty
/// span), and what is just outside it: the character glued to it (a quote, a bracket, a
/// full stop), else the first character of the word before or after it. The first, not
/// the last, character of the word before: "First" in "Birch First" follows a
/// capitalised word, which its last letter would not show. Nothing before or after (the
/// start or end of the document) is every class: which document edge a value sits at
/// says nothing about it, and a mask must not exclude the last value of a document
/// because the training values were all followed by more text.
pub(crate) fn edges(text: &str, start: usize, end: usize) -> [u8; 4] {
    let s = &text[start..end];
    let first = s.chars().next().map_or(0, edge_class);
    let last = s.chars().next_back().map_or(0, edge_class);
    let head = &text[..start];
    let before = match head.chars().next_back() {
        None => ANY_EDGE,
        Some(c) if !c.is_whitespace() => edge_class(c),
        Some(_) => {
            let t = head.trim_end();
            // The word's start within a bounded window: a "word" of a million bytes
            // must not be scanned once per candidate.
            let window = &t[t.floor_char_boundary(t.len().saturating_sub(64))..];
            let word = window.rfind(char::is_whitespace).map_or(window, |i| &window[i..]);
            word.trim_start().chars().next().map_or(ANY_EDGE, edge_class)
        }
    };
    let after = text[end..]
        .trim_start()
        .chars()
        .next()
        .map_or(ANY_EDGE, edge_class);
    [first, last, before, after]
}

/// The edge classes of gold values' spans ([`edges`], as `(text, start, end)`), as
/// [`CandidateConfig`] keeps them: a class at least [`MIN_EDGE_SHARE`] of the values have
/// (so one odd label, `"Company"` with its quotes, does not open the door to every span
/// that starts with a quote), or every class any value has when that would keep none.
/// Every class when there are no values.
pub(crate) fn learn_edges<'a>(values: impl Iterator<Item = (&'a str, usize, usize)>) -> [u8; 4] {
    let mut counts = [[0usize; 4]; 4];
    let mut n = 0;
    for (text, start, end) in values {
        for (count, e) in counts.iter_mut().zip(edges(text, start, end)) {
            for (bit, c) in count.iter_mut().enumerate() {
                *c += usize::from(e >> bit & 1 == 1);
            }
        }
        n += 1;
    }
    counts.map(|count| {
        if n == 0 {
            return ANY_EDGE;
        }
        let common = (0..4)
            .filter(|&b| count[b] as f64 >= MIN_EDGE_SHARE * n as f64)
            .fold(0u8, |m, b| m | 1 << b);
        let any = (0..4).filter(|&b| count[b] > 0).fold(0u8, |m, b| m | 1 << b);
        if common == 0 { any } else { common }
    })
}

/// The least share of gold values an edge class needs to be kept (see [`learn_edges`]).
const MIN_EDGE_SHARE: f64 = 0.02;

impl CandidateConfig {
    /// The widest net, used once on the training documents to learn the real bounds.
    pub const SCAN: CandidateConfig = CandidateConfig {
        max_run: 12,
        max_ngram: 12,
        max_wrap: 12,
        starts: ANY_EDGE,
        ends: ANY_EDGE,
        before: ANY_EDGE,
        after: ANY_EDGE,
        max_lower: usize::MAX,
    };

    /// Whether the span `start..end` of `text` may be a candidate, by its edges.
    fn admits(&self, text: &str, start: usize, end: usize) -> bool {
        if [self.starts, self.ends, self.before, self.after] == [ANY_EDGE; 4] {
            return true;
        }
        let [a, b, c, d] = edges(text, start, end);
        a & self.starts != 0 && b & self.ends != 0 && c & self.before != 0 && d & self.after != 0
    }
}

/// Which generator proposed a candidate; only used to learn the bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Run(usize),
    Gram(usize),
    Wrap(usize),
    Shape,
}

#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub span: Span,
    pub first_line: usize,
    pub last_line: usize,
    pub origin: Origin,
}

/// All candidates for a field of `kind`, without duplicates spans, in a deterministic order.
pub(crate) fn generate(
    text: &str,
    layout: &Layout,
    kind: FieldKind,
    cfg: CandidateConfig,
    order: DateOrder,
) -> Vec<Candidate> {
    let typed = kind_normalises(kind);
    // Dates, amounts, numbers and phone numbers all have digits: a cheap test that spares
    // the normaliser most of a document's words.
    let needs_digit = matches!(
        kind,
        FieldKind::Date | FieldKind::Money | FieldKind::Number | FieldKind::Phone
    );
    let valid = |start: usize, end: usize| {
        let s = &text[start..end];
        cfg.admits(text, start, end)
            && (!typed
                || ((!needs_digit || s.bytes().any(|b| b.is_ascii_digit()))
                    && !cannot_normalise(kind, s)
                    && normalise(kind, s, order).is_ok()))
    };
    let mut seen: HashSet<(usize, usize), FastHash> = HashSet::default();
    let mut out = Vec::new();
    let mut push = |out: &mut Vec<Candidate>, start, end, first_line, last_line, origin| {
        if end > start && seen.insert((start, end)) {
            out.push(Candidate {
                span: Span::new(start, end),
                first_line,
                last_line,
                origin,
            });
        }
    };
    let lines = &layout.lines;
    for i in 0..lines.len() {
        for len in 1..=cfg.max_run.min(lines.len() - i) {
            let last = i + len - 1;
            let (start, end) = (lines[i].start, lines[last].end);
            if valid(start, end) {
                push(&mut out, start, end, i, last, Origin::Run(len));
            }
        }
    }
    // Lower-case words inside a gram, counted as it grows: past the learned most, every
    // longer gram from the same start has as many, so the loop stops.
    let lower_words = |toks: &[(usize, usize)]| -> Vec<usize> {
        toks.iter()
            .map(|&(a, b)| usize::from(is_lower_word(&text[a..b])))
            .collect()
    };
    if cfg.max_ngram > 0 {
        for (i, line) in lines.iter().enumerate() {
            let n_tok = line.tokens.len();
            let lower = lower_words(&line.tokens);
            for t0 in 0..n_tok {
                let mut lowers = 0;
                for n in 1..=cfg.max_ngram.min(n_tok - t0) {
                    lowers += lower[t0 + n - 1];
                    if lowers > cfg.max_lower {
                        break;
                    }
                    let (start, end) = (line.tokens[t0].0, line.tokens[t0 + n - 1].1);
                    if valid(start, end) {
                        push(&mut out, start, end, i, i, Origin::Gram(n));
                    }
                    if let Some((a, b)) = trimmed(text, start, end)
                        && valid(a, b)
                    {
                        push(&mut out, a, b, i, i, Origin::Gram(n));
                    }
                }
            }
        }
    }
    if cfg.max_wrap > 1 {
        // A gram that starts on line i and ends on line i + 1: `before` tokens at the end
        // of one line and `after` at the start of the next, at most `max_wrap` in all.
        for i in 0..lines.len().saturating_sub(1) {
            let (top, next) = (&lines[i].tokens, &lines[i + 1].tokens);
            let (top_lower, next_lower) = (lower_words(top), lower_words(next));
            let mut top_lowers = 0;
            for before in 1..=top.len().min(cfg.max_wrap - 1) {
                top_lowers += top_lower[top.len() - before];
                if top_lowers > cfg.max_lower {
                    break;
                }
                let start = top[top.len() - before].0;
                let mut lowers = top_lowers;
                for after in 1..=next.len().min(cfg.max_wrap - before) {
                    lowers += next_lower[after - 1];
                    if lowers > cfg.max_lower {
                        break;
                    }
                    let end = next[after - 1].1;
                    let n = before + after;
                    if valid(start, end) {
                        push(&mut out, start, end, i, i + 1, Origin::Wrap(n));
                    }
                    if let Some((a, b)) = trimmed(text, start, end)
                        && valid(a, b)
                    {
                        push(&mut out, a, b, i, i + 1, Origin::Wrap(n));
                    }
                }
            }
        }
    }
    for (i, line) in lines.iter().enumerate() {
        for (a, b) in shape_matches(kind, &text[line.start..line.end]) {
            push(&mut out, line.start + a, line.start + b, i, i, Origin::Shape);
        }
    }
    out
}

/// Punctuation a value is wrapped in, in prose: opening quotes and brackets before it,
/// and closing ones, commas, full stops, colons and semicolons after it.
const OPENING: &[char] = &['"', '\'', '(', '[', '{', '\u{201c}', '\u{2018}', '<'];
const CLOSING: &[char] = &[
    '"', '\'', ')', ']', '}', '\u{201d}', '\u{2019}', '>', ',', '.', ';', ':', '!', '?',
];

/// `start..end` without the punctuation around it, when there is some and something is
/// left. A full stop that ends an abbreviation ("Inc.") is also split off: the untrimmed
/// span stays a candidate beside it, and the model learns which one a field wants.
fn trimmed(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let s = &text[start..end];
    let inner = s.trim_start_matches(OPENING).trim_end_matches(CLOSING);
    if inner.is_empty() || inner.len() == s.len() {
        return None;
    }
    let a = start + (s.len() - s.trim_start_matches(OPENING).len());
    Some((a, a + inner.len()))
}

/// The bounds a set of gold values needs: for each value some candidate matches, the
/// cheapest generator that reaches it (a run before a shape before a gram before a wrapped
/// gram); then the longest run any value needs, and the gram and wrapped-gram lengths that
/// reach [`GRAM_COVERAGE`] of the values that need them. Not the longest: a gram's cost
/// grows with its length on every word of every document, and the last few percent of
/// labels are the sentence-long ones ("Xencor and Aimmune are sometimes referred to herein
/// individually as a Party...") that no span model finds anyway. Runs keep the longest:
/// they cost one candidate per line. `values` gives each value's candidates;
/// `matches(value, candidate)` says whether a candidate is right.
pub(crate) fn learn_config<'a>(
    values: impl Iterator<Item = (usize, &'a [Candidate])>,
    mut matches: impl FnMut(usize, &Candidate) -> bool,
) -> CandidateConfig {
    let mut cfg = CandidateConfig {
        max_run: 1,
        max_ngram: 0,
        max_wrap: 0,
        ..CandidateConfig::SCAN
    };
    let (mut grams, mut wraps) = (Vec::new(), Vec::new());
    for (value, cands) in values {
        let hits: Vec<Origin> = cands
            .iter()
            .filter(|c| matches(value, c))
            .map(|c| c.origin)
            .collect();
        let shortest = |pick: fn(&Origin) -> Option<usize>| hits.iter().filter_map(pick).min();
        if let Some(n) = shortest(|o| match o {
            Origin::Run(n) => Some(*n),
            _ => None,
        }) {
            cfg.max_run = cfg.max_run.max(n);
        } else if hits.contains(&Origin::Shape) {
        } else if let Some(n) = shortest(|o| match o {
            Origin::Gram(n) => Some(*n),
            _ => None,
        }) {
            grams.push(n);
        } else if let Some(n) = shortest(|o| match o {
            Origin::Wrap(n) => Some(*n),
            _ => None,
        }) {
            wraps.push(n);
        }
    }
    cfg.max_ngram = covering(grams);
    cfg.max_wrap = covering(wraps);
    cfg
}

/// The share of gold values the learned gram lengths reach (see [`learn_config`]).
pub(crate) const GRAM_COVERAGE: f64 = 0.95;

/// The least count at or under which [`GRAM_COVERAGE`] of `lengths` fall (0 for none).
pub(crate) fn covering(mut lengths: Vec<usize>) -> usize {
    if lengths.is_empty() {
        return 0;
    }
    lengths.sort_unstable();
    let at = ((GRAM_COVERAGE * lengths.len() as f64).ceil() as usize).clamp(1, lengths.len());
    lengths[at - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_skips_blank_lines_and_keeps_byte_offsets() {
        let text = "  ACME SDN BHD \n\n12 Road,\n  Town ";
        let layout = Layout::new(text);
        assert_eq!(layout.lines.len(), 3);
        let l = &layout.lines[0];
        assert_eq!(&text[l.start..l.end], "ACME SDN BHD");
        assert_eq!(&text[layout.lines[2].start..layout.lines[2].end], "Town");
    }

    #[test]
    fn runs_grams_and_shapes_are_bounded_and_unique() {
        let text = "a b c\nd e\nDATE:31/02/2018";
        let layout = Layout::new(text);
        let cfg = CandidateConfig {
            max_run: 2,
            max_ngram: 2,
            max_wrap: 0,
            ..CandidateConfig::SCAN
        };
        let cands = generate(text, &layout, FieldKind::Text, cfg, DateOrder::default());
        // Runs: 3 single + 2 double; grams inside "a b c": a, b, c, "a b", "b c"; inside
        // "d e": d, e ("d e" is the run already); the last line is one token (the run).
        assert_eq!(cands.len(), 5 + 5 + 2);
        let dates = generate(text, &layout, FieldKind::Date, cfg, DateOrder::default());
        let raw: Vec<&str> = dates.iter().map(|c| &text[c.span.start..c.span.end]).collect();
        assert_eq!(raw, ["31/02/2018"], "the impossible date is found by its shape");
    }

    #[test]
    fn learned_bounds_follow_the_gold() {
        let text = "x\nSHOP NAME (123-X)\n1 ROAD\nTOWN";
        let layout = Layout::new(text);
        let cands = generate(
            text,
            &layout,
            FieldKind::Text,
            CandidateConfig::SCAN,
            DateOrder::default(),
        );
        let gold = ["SHOP NAME", "1 ROAD TOWN"];
        let cfg = learn_config([(0, &cands[..]), (1, &cands[..])].into_iter(), |d, c| {
            super::super::normalise::collapse_whitespace(&text[c.span.start..c.span.end]) == gold[d]
        });
        assert_eq!(
            cfg,
            CandidateConfig {
                max_run: 2,
                max_ngram: 2,
                max_wrap: 0,
                ..CandidateConfig::SCAN
            }
        );
    }

    #[test]
    fn prose_values_are_found_without_their_punctuation_and_across_line_breaks() {
        let text = "governed by the laws of the State of New York.\nBetween ACME (the \"Company\") and Beta\nHoldings Inc., a Delaware corporation";
        let layout = Layout::new(text);
        let cfg = CandidateConfig {
            max_run: 1,
            max_ngram: 3,
            max_wrap: 3,
            ..CandidateConfig::SCAN
        };
        let cands = generate(text, &layout, FieldKind::Text, cfg, DateOrder::default());
        let raw: Vec<&str> = cands.iter().map(|c| &text[c.span.start..c.span.end]).collect();
        for want in [
            "New York",
            "York",
            "Company",
            "Beta\nHoldings Inc",
            "Beta\nHoldings Inc.,",
        ] {
            assert!(raw.contains(&want), "{want:?} missing from {raw:?}");
        }
        let wrapped = cands
            .iter()
            .find(|c| &text[c.span.start..c.span.end] == "Beta\nHoldings Inc")
            .unwrap();
        assert_eq!((wrapped.first_line, wrapped.last_line), (1, 2));
        // The learned bounds reach a wrapped value only when a label needs one.
        let learned = learn_config([(0, &cands[..])].into_iter(), |_, c| {
            super::super::normalise::collapse_whitespace(&text[c.span.start..c.span.end])
                == "Beta Holdings Inc"
        });
        assert_eq!(learned.max_wrap, 3);
        assert_eq!(learned.max_ngram, 0);
    }

    #[test]
    fn learned_edges_drop_spans_that_start_or_stop_inside_a_name() {
        let text = "This Agreement is made by Birch First Global Investments Inc. and the\nlaws of the State of New York. Nothing in New York shall apply.";
        let layout = Layout::new(text);
        let wide = CandidateConfig {
            max_run: 1,
            max_ngram: 5,
            max_wrap: 0,
            ..CandidateConfig::SCAN
        };
        let spans = |cfg| -> Vec<String> {
            generate(text, &layout, FieldKind::Text, cfg, DateOrder::default())
                .iter()
                .map(|c| text[c.span.start..c.span.end].to_string())
                .collect()
        };
        let at = |v: &str| {
            let a = text.find(v).unwrap();
            (text, a, a + v.len())
        };
        // Values that start with a capital after a lower-case word, and end in a
        // lower-case letter or a full stop before a lower-case word or a full stop.
        let [starts, ends, before, after] =
            learn_edges([at("Birch First Global Investments Inc."), at("New York")].into_iter());
        assert_eq!((starts, ends), (0b0001, 0b1010));
        assert_eq!((before, after), (0b0010, 0b1010));
        let cfg = CandidateConfig {
            starts,
            ends,
            before,
            after,
            ..wide
        };
        let all = spans(wide);
        let kept = spans(cfg);
        for want in [
            "Birch First Global Investments Inc.",
            "New York",
            "State of New York",
        ] {
            assert!(kept.iter().any(|k| k == want), "{want:?} missing from {kept:?}");
        }
        // Cut inside the name (a capital before or after), or starting with a lower-case
        // word: offered by the wide scan, not by the learned edges.
        for gone in [
            "First Global Investments Inc.",
            "Birch First",
            "York",
            "Agreement",
            "the State of New",
        ] {
            assert!(
                all.iter().any(|k| k == gone),
                "{gone:?} should be in the wide scan"
            );
            assert!(!kept.iter().any(|k| k == gone), "{gone:?} should be dropped");
        }
        assert!(kept.len() * 4 < all.len(), "{} of {}", kept.len(), all.len());
        // The end of the document is no class of its own: a value there is kept.
        let last = "shall apply.";
        let (_, a, b) = at(last);
        assert_eq!(edges(text, a, b)[3], ANY_EDGE);
    }

    #[test]
    fn odd_labels_do_not_widen_the_edges() {
        // 60 values start with a capital, one with a quote: the quote is under 2%.
        let text = "Acme \"Beta\"";
        let mut values = vec![(text, 0, 4); 60];
        values.push((text, 5, 11));
        assert_eq!(learn_edges(values.into_iter())[0], 0b0001);
        // With nothing common, every class that occurs is kept; with nothing, every class.
        assert_eq!(learn_edges([(text, 5, 11)].into_iter())[0], 0b1000);
        assert_eq!(learn_edges(std::iter::empty()), [ANY_EDGE; 4]);
    }

    #[test]
    fn gram_length_covers_most_values_and_every_value_of_a_document_counts() {
        // 39 values need two tokens, one needs eleven: the eleven is the 2.5% tail.
        assert_eq!(covering([vec![2; 39], vec![11]].concat()), 2);
        assert_eq!(covering(vec![3, 1, 2]), 3);
        assert_eq!(covering(Vec::new()), 0);
        // A document with a short and a long value (a defined term and a full name): the
        // long one is learned too, not only the easiest value of the document.
        let text = "between Birch First Global Inc (the Company) and";
        let layout = Layout::new(text);
        let cands = generate(
            text,
            &layout,
            FieldKind::Text,
            CandidateConfig::SCAN,
            DateOrder::default(),
        );
        let gold = ["Company", "Birch First Global Inc"];
        let cfg = learn_config([(0, &cands[..]), (1, &cands[..])].into_iter(), |v, c| {
            super::super::normalise::collapse_whitespace(&text[c.span.start..c.span.end]) == gold[v]
        });
        assert_eq!(cfg.max_ngram, 4);
    }

    #[test]
    fn grams_hold_at_most_the_learned_lower_case_words() {
        let text = "made by the Bank of New York Mellon and the laws of the State";
        let layout = Layout::new(text);
        let cfg = CandidateConfig {
            max_run: 1,
            max_ngram: 6,
            max_wrap: 0,
            max_lower: 1,
            ..CandidateConfig::SCAN
        };
        let raw: Vec<String> = generate(text, &layout, FieldKind::Text, cfg, DateOrder::default())
            .iter()
            .map(|c| text[c.span.start..c.span.end].to_string())
            .collect();
        assert!(raw.iter().any(|r| r == "Bank of New York Mellon"), "{raw:?}");
        assert!(raw.iter().any(|r| r == "the Bank"), "{raw:?}");
        for gone in ["the Bank of", "made by", "Mellon and the", "laws of the State"] {
            assert!(!raw.iter().any(|r| r == gone), "{gone:?} in {raw:?}");
        }
        // The count reads past punctuation: "(the" is a lower-case word, "(2)" is not.
        assert!(is_lower_word("(the") && !is_lower_word("(2)") && !is_lower_word("Bank"));
        assert_eq!(lower_words("two (2) years"), 2);
    }
}
