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

use super::normalise::{DateOrder, kind_normalises, normalise, shape_matches};
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
}

impl CandidateConfig {
    /// The widest net, used once on the training documents to learn the real bounds.
    pub const SCAN: CandidateConfig = CandidateConfig {
        max_run: 12,
        max_ngram: 12,
        max_wrap: 12,
    };
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
    let valid = |s: &str| {
        !typed
            || ((!needs_digit || s.bytes().any(|b| b.is_ascii_digit())) && normalise(kind, s, order).is_ok())
    };
    let mut seen: HashSet<(usize, usize)> = HashSet::new();
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
            if valid(&text[start..end]) {
                push(&mut out, start, end, i, last, Origin::Run(len));
            }
        }
    }
    if cfg.max_ngram > 0 {
        for (i, line) in lines.iter().enumerate() {
            let n_tok = line.tokens.len();
            for t0 in 0..n_tok {
                for n in 1..=cfg.max_ngram.min(n_tok - t0) {
                    let (start, end) = (line.tokens[t0].0, line.tokens[t0 + n - 1].1);
                    if valid(&text[start..end]) {
                        push(&mut out, start, end, i, i, Origin::Gram(n));
                    }
                    if let Some((a, b)) = trimmed(text, start, end)
                        && valid(&text[a..b])
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
            for before in 1..=top.len().min(cfg.max_wrap - 1) {
                let start = top[top.len() - before].0;
                for after in 1..=next.len().min(cfg.max_wrap - before) {
                    let end = next[after - 1].1;
                    let n = before + after;
                    if valid(&text[start..end]) {
                        push(&mut out, start, end, i, i + 1, Origin::Wrap(n));
                    }
                    if let Some((a, b)) = trimmed(text, start, end)
                        && valid(&text[a..b])
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

/// The bounds a set of documents needs: for each document whose gold value some candidate
/// matches, the cheapest generator that reaches it (a run before a gram before a shape), and
/// the longest run and gram over all documents. `matches(doc, candidate)` says whether a
/// candidate of document `doc` is right.
pub(crate) fn learn_config<'a>(
    docs: impl Iterator<Item = (usize, &'a [Candidate])>,
    mut matches: impl FnMut(usize, &Candidate) -> bool,
) -> CandidateConfig {
    let mut cfg = CandidateConfig {
        max_run: 1,
        max_ngram: 0,
        max_wrap: 0,
    };
    for (doc, cands) in docs {
        let hits: Vec<Origin> = cands
            .iter()
            .filter(|c| matches(doc, c))
            .map(|c| c.origin)
            .collect();
        let shortest_run = hits.iter().filter_map(|o| match o {
            Origin::Run(n) => Some(*n),
            _ => None,
        });
        if let Some(n) = shortest_run.min() {
            cfg.max_run = cfg.max_run.max(n);
            continue;
        }
        if hits.contains(&Origin::Shape) {
            continue;
        }
        let shortest_gram = hits.iter().filter_map(|o| match o {
            Origin::Gram(n) => Some(*n),
            _ => None,
        });
        if let Some(n) = shortest_gram.min() {
            cfg.max_ngram = cfg.max_ngram.max(n);
            continue;
        }
        let shortest_wrap = hits.iter().filter_map(|o| match o {
            Origin::Wrap(n) => Some(*n),
            _ => None,
        });
        if let Some(n) = shortest_wrap.min() {
            cfg.max_wrap = cfg.max_wrap.max(n);
        }
    }
    cfg
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
}
