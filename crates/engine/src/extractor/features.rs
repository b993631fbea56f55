//! Features of a candidate span, hashed into a fixed number of buckets.
//!
//! What a person reading a document uses to find a field, as sparse binary features: the
//! words and word shapes of the candidate, its length, whether it parses as the field's
//! kind, the label-like words before it on its line and the words after, the lines above
//! and below (a "TOTAL" line, a "TEL" line), where it sits in the document, how often its
//! value recurs and, for amounts, its rank by size. Nothing names a particular document
//! type: the model learns which of these matter for each field.
//!
//! Hashing (FNV-1a then a SplitMix64 finaliser, both fixed forever because saved models
//! depend on them) keeps the model a flat weight vector whose size does not grow with the
//! vocabulary, and makes a feature cost one multiply once its token is hashed. Token hashes
//! are computed once per line and reused by every candidate that sees the line as context.

use std::collections::HashMap;

use super::candidates::{Candidate, Layout};
use super::fasthash::FastHash;
use super::normalise::{DateOrder, collapse_whitespace, kind_normalises, normalise};
use super::prose::Prose;
use crate::{FieldKind, Span};

/// What the model needs to know about a candidate's value, computed once.
#[derive(Debug, Clone)]
pub(crate) struct CandValue {
    /// The raw text with whitespace collapsed.
    pub collapsed: String,
    /// The normalised value, or why normalisation failed.
    pub normalised: Result<String, super::NormaliseError>,
    /// Pools candidates that denote one value (see `normalise::value_key`).
    pub key: String,
}

pub(crate) fn describe(text: &str, cand: &Candidate, kind: FieldKind, order: DateOrder) -> CandValue {
    let raw = &text[cand.span.start..cand.span.end];
    let collapsed = collapse_whitespace(raw);
    // A kind that only collapses whitespace normalises to `collapsed`: not again.
    let normalised = if kind_normalises(kind) {
        normalise(kind, raw, order)
    } else {
        Ok(collapsed.clone())
    };
    let key = match (&normalised, kind_normalises(kind)) {
        (Ok(v), true) => format!("n:{v}"),
        _ => format!("r:{collapsed}"),
    };
    CandValue {
        collapsed,
        normalised,
        key,
    }
}

/// Candidates' feature indices, stored flat: candidate `i` owns
/// `idx[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct FeatureMatrix {
    pub idx: Vec<u32>,
    pub offsets: Vec<u32>,
}

impl FeatureMatrix {
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn row(&self, i: usize) -> &[u32] {
        &self.idx[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }
}

// Feature namespaces. Their numbers are part of the saved-model format: append, never reuse.
const BIAS: u64 = 1;
const TOK: u64 = 2;
const TOK_FIRST: u64 = 3;
const TOK_LAST: u64 = 4;
const SHAPE: u64 = 5;
const SHAPE_FIRST: u64 = 6;
const SHAPE_LAST: u64 = 7;
const N_TOK: u64 = 8;
const N_CHAR: u64 = 9;
const N_LINES: u64 = 10;
const VALUE: u64 = 11;
const VALID: u64 = 12;
const COUNT: u64 = 13;
const RANK: u64 = 14;
const LINE_IDX: u64 = 15;
const FROM_END: u64 = 16;
const REL_POS: u64 = 17;
const PLACE: u64 = 18;
const LEFT: u64 = 19;
const LEFT_LAST: u64 = 20;
const RIGHT: u64 = 21;
const RIGHT_FIRST: u64 = 22;
const PREV1: u64 = 23;
const PREV2: u64 = 24;
const NEXT1: u64 = 25;
const NEXT2: u64 = 26;
const LINE_X_NLINES: u64 = 27;
const LEFT_X_VALID: u64 = 28;
const PREV_X_PLACE: u64 = 29;
const RANK_X_LEFT: u64 = 30;
const RANK_X_PREV: u64 = 31;
const UPPER: u64 = 32;
const DIGITS: u64 = 33;
const PREV1_LAST: u64 = 34;
const NEXT1_FIRST: u64 = 35;
const ISSUE: u64 = 36;
const PREV1_LINE: u64 = 37;
const PREV1_PAIR: u64 = 38;
const LEFT_ALL: u64 = 39;
const LEFT_PAIR: u64 = 40;
const NEXT1_LINE: u64 = 41;
const RUN_PROFILE: u64 = 42;
const PREV1_PROFILE: u64 = 43;
const NEXT1_PROFILE: u64 = 44;
const FIRST_LINE: u64 = 45;
const LAST_LINE: u64 = 46;
const AFFIX: u64 = 47;

/// At most this many tokens of one text are featurised, so a huge candidate or context
/// line costs a bounded amount.
const MAX_TOKENS: usize = 40;
/// Words of its own line read either side of a candidate by models that also read the
/// prose context: a label sits next to its value, and the prose features already read
/// the sentence around it. Reading 40 either side, as models trained before did, made
/// the line context most of a prose candidate's features, and so of the time it took.
const NARROW_LINE_CONTEXT: usize = 12;

/// Which features a model reads; models saved before a change are featurised as they
/// were trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FeatureSet {
    /// The prose context (`prose`).
    pub prose: bool,
    /// At most [`NARROW_LINE_CONTEXT`] words of the line either side, not [`MAX_TOKENS`].
    pub narrow: bool,
}

impl FeatureSet {
    /// What training uses now.
    pub const CURRENT: FeatureSet = FeatureSet {
        prose: true,
        narrow: true,
    };
}
const MAX_CONTEXT_TOKENS: usize = 12;

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn fnv_step(h: u64, x: u64) -> u64 {
    (h ^ x).wrapping_mul(0x0000_0100_0000_01B3)
}

const FNV_OFFSET: u64 = 0xCBF2_9CE4_8422_2325;

/// A token as a word: lower case, digits as `9`, surrounding punctuation trimmed (a token
/// of punctuation only is kept as it is).
fn word_hash(tok: &str) -> u64 {
    let trimmed = tok.trim_matches(|c: char| !c.is_alphanumeric());
    let t = if trimmed.is_empty() { tok } else { trimmed };
    t.chars().fold(FNV_OFFSET, |h, c| {
        let c = if c.is_ascii_digit() {
            '9'
        } else {
            c.to_ascii_lowercase()
        };
        fnv_step(h, c as u64)
    })
}

/// Hashes of a word's first and last three letters (lower case), when it has more than
/// three; else of the word itself, once as each. Without allocating: it runs on every
/// token of every candidate.
fn affixes(tok: &str) -> (u64, u64) {
    let mut letters = tok
        .chars()
        .filter(|c| c.is_alphanumeric())
        .map(|c| c.to_ascii_lowercase());
    let mut first = ['\0'; 3];
    let mut last = ['\0'; 3];
    let mut n = 0;
    for c in letters.by_ref() {
        if n < 3 {
            first[n] = c;
        }
        last[n % 3] = c;
        n += 1;
    }
    let hash = |cs: &mut dyn Iterator<Item = char>, tag: u64| {
        cs.fold(FNV_OFFSET ^ tag, |h, c| fnv_step(h, c as u64))
    };
    if n <= 3 {
        let h = hash(&mut first[..n].iter().copied(), 1);
        return (h, h);
    }
    // The last three in order: the ring holds them starting at n % 3.
    let tail = (0..3).map(|k| last[(n + k) % 3]);
    (
        hash(&mut first.iter().copied(), 2),
        hash(&mut tail.into_iter(), 3),
    )
}

/// A token's shape: character classes (`X` upper, `x` lower, `9` digit, punctuation as
/// itself) with repeats collapsed, at most eight symbols: "RM33.90" is `X9.9`.
fn shape_hash(tok: &str) -> u64 {
    let mut h = FNV_OFFSET ^ 0x5A;
    let mut prev = '\0';
    let mut n = 0;
    for c in tok.chars() {
        let class = if c.is_ascii_digit() {
            '9'
        } else if c.is_uppercase() {
            'X'
        } else if c.is_alphabetic() {
            'x'
        } else {
            c
        };
        if class != prev {
            h = fnv_step(h, class as u64);
            prev = class;
            n += 1;
            if n == 8 {
                break;
            }
        }
    }
    h
}

/// A line's outline, for where runs of lines start and stop: whether it has digits and
/// how long its longest digit run is, how it ends (comma, full stop, colon, other),
/// whether it is all capitals, and its length in tokens.
fn line_profile(line: &str, n_tokens: usize) -> u64 {
    let mut longest = 0;
    let mut run = 0;
    for c in line.chars() {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let ending = match line.chars().last() {
        Some(',') => 1,
        Some('.') => 2,
        Some(':') => 3,
        Some(c) if c.is_ascii_digit() => 4,
        _ => 0,
    };
    let caps = !line.chars().any(char::is_lowercase);
    let len = match n_tokens {
        0..=3 => n_tokens as u64,
        4..=6 => 4,
        _ => 5,
    };
    (longest.min(6) as u64) | (ending << 3) | (u64::from(caps) << 6) | (len << 7)
}

/// A context word is read up to this many bytes from the candidate: a "word" of a million
/// characters beside thousands of candidates must not be hashed whole for each of them.
const MAX_CONTEXT_BYTES: usize = 64;

/// The last `MAX_CONTEXT_BYTES` (or a little less, at a character boundary) of `s`.
fn tail(s: &str) -> &str {
    &s[s.ceil_char_boundary(s.len().saturating_sub(MAX_CONTEXT_BYTES))..]
}

/// The first `MAX_CONTEXT_BYTES` (or a little less, at a character boundary) of `s`.
fn head(s: &str) -> &str {
    &s[..s.floor_char_boundary(MAX_CONTEXT_BYTES)]
}

/// The tokens of a line (in order, not overlapping) that overlap `span`.
#[cfg(test)]
fn overlapping(tokens: &[(usize, usize)], span: Span) -> &[(usize, usize)] {
    &tokens[overlapping_range(tokens, span)]
}

/// The indices of the tokens of a line that overlap `span`.
fn overlapping_range(tokens: &[(usize, usize)], span: Span) -> std::ops::Range<usize> {
    let from = tokens.partition_point(|t| t.1 <= span.start);
    let to = tokens.partition_point(|t| t.0 < span.end);
    from..to.max(from)
}

/// What the features read of one whole token, hashed once per document: candidates that
/// contain it or see it as context look it up instead of hashing it again (a word of a
/// prose paragraph is inside or beside dozens of candidates).
#[derive(Clone, Copy)]
struct TokenHashes {
    word: u64,
    shape: u64,
    prefix: u64,
    suffix: u64,
    /// Short enough that [`head`] and [`tail`] read it whole.
    short: bool,
}

impl TokenHashes {
    fn new(tok: &str) -> Self {
        let (prefix, suffix) = affixes(tok);
        Self {
            word: word_hash(tok),
            shape: shape_hash(tok),
            prefix,
            suffix,
            short: tok.len() <= MAX_CONTEXT_BYTES,
        }
    }
}

/// Buckets that keep small counts exact and group large ones.
fn bucket(n: usize) -> u64 {
    match n {
        0..=9 => n as u64,
        10..=14 => 10,
        15..=19 => 11,
        20..=29 => 12,
        30..=49 => 13,
        50..=99 => 14,
        _ => 15,
    }
}

struct Sink<'a> {
    out: &'a mut Vec<u32>,
    shift: u32,
}

impl Sink<'_> {
    fn add(&mut self, ns: u64, h: u64) {
        let z = mix(h ^ ns.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        self.out.push((z >> self.shift) as u32);
    }

    fn pair(&mut self, ns: u64, a: u64, b: u64) {
        self.add(ns, a ^ b.rotate_left(29).wrapping_mul(0xA24B_AED4_963E_E407));
    }
}

/// Features of every candidate of one document. `bits` is the log2 of the bucket count.
pub(crate) fn featurize(
    text: &str,
    layout: &Layout,
    cands: &[Candidate],
    values: &[CandValue],
    kind: FieldKind,
    bits: u8,
    set: FeatureSet,
) -> FeatureMatrix {
    let lines = &layout.lines;
    // Models trained before the prose context existed are featurised as they were.
    let prose = set.prose.then(|| Prose::new(text, layout, word_hash));
    let line_context = if set.narrow {
        NARROW_LINE_CONTEXT
    } else {
        MAX_TOKENS
    };
    let token_hashes: Vec<Vec<TokenHashes>> = lines
        .iter()
        .map(|l| {
            l.tokens
                .iter()
                .map(|&(a, b)| TokenHashes::new(&text[a..b]))
                .collect()
        })
        .collect();
    let line_words: Vec<Vec<u64>> = token_hashes
        .iter()
        .map(|l| l.iter().take(MAX_CONTEXT_TOKENS).map(|h| h.word).collect())
        .collect();
    // How often each value occurs among the candidates, and for numbers their rank by size:
    // "the largest amount" and "the value printed twice" are strong, learnable cues.
    let profiles: Vec<u64> = lines
        .iter()
        .map(|l| line_profile(&text[l.start..l.end], l.tokens.len()))
        .collect();
    let mut counts: HashMap<&str, usize, FastHash> = HashMap::default();
    for v in values {
        *counts.entry(v.key.as_str()).or_default() += 1;
    }
    let numeric = matches!(kind, FieldKind::Money | FieldKind::Number);
    let amount = |v: &CandValue| v.normalised.as_ref().ok().and_then(|s| s.parse::<f64>().ok());
    let mut amounts: Vec<f64> = if numeric {
        values.iter().filter_map(amount).collect()
    } else {
        Vec::new()
    };
    amounts.sort_by(|a, b| b.total_cmp(a));
    amounts.dedup();
    let n_lines = lines.len().max(1);

    let mut fm = FeatureMatrix {
        idx: Vec::with_capacity(cands.len() * 64),
        offsets: vec![0],
    };
    for (cand, value) in cands.iter().zip(values) {
        let mut s = Sink {
            out: &mut fm.idx,
            shift: 64 - u32::from(bits),
        };
        let (span, first, last) = (cand.span, cand.first_line, cand.last_line);
        s.add(BIAS, 0);

        // The candidate's own words: the tokens of its lines that overlap it, found by
        // binary search, so a candidate inside a long line does not walk the whole line.
        let mut n_tok = 0;
        let (mut first_word, mut last_tok) = (0, None);
        for (line, hashes) in lines[first..=last].iter().zip(&token_hashes[first..=last]) {
            let range = overlapping_range(&line.tokens, span);
            let toks = &line.tokens[range.clone()];
            for (k, &(a, b)) in toks.iter().enumerate().take(MAX_TOKENS.saturating_sub(n_tok)) {
                // A token the span cuts (punctuation split off) is hashed as cut.
                let h = if a >= span.start && b <= span.end {
                    hashes[range.start + k]
                } else {
                    TokenHashes::new(&text[a.max(span.start)..b.min(span.end)])
                };
                let (w, sh) = (h.word, h.shape);
                s.add(TOK, w);
                s.add(SHAPE, sh);
                // Word beginnings and endings survive OCR slips ("ENTERORISE") and
                // generalise to unseen names ("...MART", "...WARE").
                s.add(AFFIX, h.prefix);
                s.add(AFFIX, h.suffix);
                if n_tok + k == 0 {
                    first_word = w;
                    s.add(SHAPE_FIRST, sh);
                }
            }
            n_tok += toks.len();
            last_tok = toks
                .last()
                .map(|&(a, b)| {
                    if a >= span.start && b <= span.end {
                        hashes[range.end - 1]
                    } else {
                        TokenHashes::new(&text[a.max(span.start)..b.min(span.end)])
                    }
                })
                .or(last_tok);
        }
        let (last_word, last_shape) = last_tok.map_or((0, 0), |h| (h.word, h.shape));
        // Each line of a run by its outline and place in the run, and the words of its
        // first and last lines: where a multi-line value starts and stops.
        for l in (first..=last).take(MAX_CONTEXT_TOKENS) {
            let place = match (l == first, l == last) {
                (true, true) => 3,
                (true, false) => 0,
                (false, true) => 2,
                _ => 1,
            };
            s.pair(RUN_PROFILE, place, profiles[l]);
        }
        if last > first {
            line_words[first].iter().for_each(|&w| s.add(FIRST_LINE, w));
            line_words[last].iter().for_each(|&w| s.add(LAST_LINE, w));
        }
        s.add(TOK_FIRST, first_word);
        s.add(TOK_LAST, last_word);
        s.add(SHAPE_LAST, last_shape);
        s.add(N_TOK, bucket(n_tok));
        s.add(N_CHAR, bucket(value.collapsed.len() / 4));
        s.add(N_LINES, (last - first + 1) as u64);
        if value.collapsed.len() <= 120 {
            s.add(
                VALUE,
                value
                    .collapsed
                    .chars()
                    .fold(FNV_OFFSET, |h, c| fnv_step(h, c.to_ascii_lowercase() as u64)),
            );
        }
        let letters = value.collapsed.chars().filter(|c| c.is_alphabetic()).count();
        let upper = value.collapsed.chars().filter(|c| c.is_uppercase()).count();
        let digits = value.collapsed.chars().filter(char::is_ascii_digit).count();
        s.add(UPPER, (upper * 4).checked_div(letters).map_or(9, |r| r as u64));
        s.add(DIGITS, (digits * 4 / value.collapsed.len().max(1)) as u64);

        // Does it parse as the kind, and how often and how large is its value.
        let valid = match (&value.normalised, kind_normalises(kind)) {
            (_, false) => 0,
            (Ok(_), true) => 1,
            (
                Err(super::NormaliseError::NoSuchDay { .. } | super::NormaliseError::NoSuchMonth { .. }),
                true,
            ) => 2,
            (Err(_), true) => 3,
        };
        s.add(VALID, valid);
        if valid >= 2 {
            s.add(ISSUE, valid);
        }
        s.add(
            COUNT,
            bucket(counts.get(value.key.as_str()).copied().unwrap_or(1)).min(4),
        );
        let rank = amount(value)
            .filter(|_| numeric)
            .map(|a| amounts.partition_point(|&x| x > a).min(3) as u64)
            .unwrap_or(9);
        if numeric {
            s.add(RANK, rank);
        }

        // Where it sits.
        s.add(LINE_IDX, bucket(first));
        s.add(FROM_END, bucket(lines.len() - 1 - last));
        s.add(REL_POS, (first * 10 / n_lines) as u64);
        s.pair(LINE_X_NLINES, bucket(first), (last - first + 1) as u64);
        let starts_line = span.start == lines[first].start;
        let ends_line = span.end == lines[last].end;
        let place = u64::from(starts_line) | (u64::from(ends_line) << 1);
        s.add(PLACE, place);

        // The rest of its own line: a label before it, units or codes after it.
        let mut left_last = None;
        // The whole label before the value ("total sales (inclusive of gst) :") and its word
        // pairs, besides its single words: "grand total" and "net total" differ only there.
        let (mut left_all, mut next_word) = (FNV_OFFSET, None);
        // At most `line_context` words either side: a label is near its value, and a
        // candidate inside a line of thousands of words must not cost the whole line.
        let line_toks = &lines[first].tokens;
        let before = line_toks.partition_point(|t| t.0 < span.start);
        let from = before.saturating_sub(line_context);
        for (k, &(a, b)) in line_toks[from..before].iter().enumerate().rev() {
            let h = token_hashes[first][from + k];
            let w = if b <= span.start && h.short {
                h.word
            } else {
                word_hash(tail(&text[a..b.min(span.start)]))
            };
            if left_last.is_none() {
                left_last = Some(w);
                s.add(LEFT_LAST, w);
            }
            s.add(LEFT, w);
            if let Some(n) = next_word {
                s.pair(LEFT_PAIR, w, n);
            }
            next_word = Some(w);
            left_all = fnv_step(left_all, w);
        }
        if left_last.is_some() {
            s.add(LEFT_ALL, left_all);
        }
        let left_last = left_last.unwrap_or(1);
        if left_last == 1 {
            s.add(LEFT_LAST, 1);
        }
        let mut right_first = None;
        let line_toks = &lines[last].tokens;
        let after = line_toks.partition_point(|t| t.1 <= span.end);
        for (k, &(a, b)) in line_toks[after..].iter().enumerate().take(line_context) {
            let h = token_hashes[last][after + k];
            let w = if a >= span.end && h.short {
                h.word
            } else {
                word_hash(head(&text[a.max(span.end)..b]))
            };
            if right_first.is_none() {
                right_first = Some(w);
                s.add(RIGHT_FIRST, w);
            }
            s.add(RIGHT, w);
        }
        if right_first.is_none() {
            s.add(RIGHT_FIRST, 1);
        }
        s.pair(LEFT_X_VALID, left_last, valid);
        if numeric {
            s.pair(RANK_X_LEFT, rank, left_last);
        }

        // The lines around it.
        let context = |s: &mut Sink, ns: u64, line: Option<usize>| match line {
            Some(l) => line_words[l].iter().for_each(|&w| s.add(ns, w)),
            None => s.add(ns, 1),
        };
        let prev1 = first.checked_sub(1);
        let next1 = (last + 1 < lines.len()).then_some(last + 1);
        context(&mut s, PREV1, prev1);
        context(&mut s, PREV2, first.checked_sub(2));
        context(&mut s, NEXT1, next1);
        context(&mut s, NEXT2, (last + 2 < lines.len()).then_some(last + 2));
        let prev_last = prev1.and_then(|l| line_words[l].last().copied()).unwrap_or(1);
        let next_first = next1.and_then(|l| line_words[l].first().copied()).unwrap_or(1);
        s.add(PREV1_PROFILE, prev1.map_or(1 << 12, |l| profiles[l]));
        s.add(NEXT1_PROFILE, next1.map_or(1 << 12, |l| profiles[l]));
        s.add(PREV1_LAST, prev_last);
        if let Some(l) = prev1 {
            let words = &line_words[l];
            s.add(PREV1_LINE, words.iter().fold(FNV_OFFSET, |h, &w| fnv_step(h, w)));
            for pair in words.windows(2) {
                s.pair(PREV1_PAIR, pair[0], pair[1]);
            }
        }
        if let Some(l) = next1 {
            s.add(
                NEXT1_LINE,
                line_words[l].iter().fold(FNV_OFFSET, |h, &w| fnv_step(h, w)),
            );
        }
        s.add(NEXT1_FIRST, next_first);
        if let Some(p) = &prose {
            p.features(text, layout, cand, |ns, h| s.add(ns, h));
        }
        s.pair(PREV_X_PLACE, prev_last, place);
        if numeric {
            s.pair(RANK_X_PREV, rank, prev_last);
        }
        fm.offsets.push(fm.idx.len() as u32);
    }
    fm
}

#[cfg(test)]
mod tests {
    use super::super::candidates::{CandidateConfig, generate};
    use super::*;

    /// The features of every candidate of `text` for a money field.
    fn features_of(text: &str) -> (usize, FeatureMatrix) {
        let layout = Layout::new(text);
        let cfg = CandidateConfig {
            max_run: 2,
            max_ngram: 3,
            max_wrap: 0,
            ..CandidateConfig::SCAN
        };
        let order = DateOrder::default();
        let cands = generate(text, &layout, FieldKind::Money, cfg, order);
        let values: Vec<_> = cands
            .iter()
            .map(|c| describe(text, c, FieldKind::Money, order))
            .collect();
        let fm = featurize(
            text,
            &layout,
            &cands,
            &values,
            FieldKind::Money,
            16,
            FeatureSet::CURRENT,
        );
        (cands.len(), fm)
    }

    #[test]
    fn a_candidate_in_a_long_line_has_a_bounded_number_of_features() {
        // Issue 21: every candidate of this line once featurised every other word of the
        // line as context, so memory grew with the square of the line's length.
        let (n, fm) = features_of(&"TOTAL RM 1,234.56 ".repeat(2_000));
        assert!(n >= 2_000, "every amount is a candidate ({n})");
        assert_eq!(fm.len(), n);
        let widest = (0..n).map(|i| fm.row(i).len()).max().unwrap();
        // Own words, context words either side and the fixed features: a few hundred at
        // most, whatever the line's length (before the fix: about 8,000 here).
        assert!(widest <= 400, "a candidate has {widest} features");
    }

    #[test]
    fn the_same_candidate_has_the_same_features_in_a_short_and_a_huge_line() {
        // The bounds cut only what is far from the candidate: the last candidate of a
        // line is described the same whether the line has 50 words before it or 30,000.
        let short = "x ".repeat(50) + "TOTAL RM 9.50";
        let long = "x ".repeat(30_000) + "TOTAL RM 9.50";
        let (_, a) = features_of(&short);
        let (_, b) = features_of(&long);
        let last = |fm: &FeatureMatrix| fm.row(fm.len() - 1).to_vec();
        assert_eq!(last(&a), last(&b));
    }

    #[test]
    fn affixes_are_the_first_and_last_three_letters() {
        // The plain definition, allocating: what saved models were trained with.
        let plain = |tok: &str| {
            let chars: Vec<char> = tok
                .chars()
                .filter(|c| c.is_alphanumeric())
                .map(|c| c.to_ascii_lowercase())
                .collect();
            let hash =
                |cs: &[char], tag: u64| cs.iter().fold(FNV_OFFSET ^ tag, |h, &c| fnv_step(h, c as u64));
            let n = chars.len();
            if n <= 3 {
                (hash(&chars, 1), hash(&chars, 1))
            } else {
                (hash(&chars[..3], 2), hash(&chars[n - 3..], 3))
            }
        };
        for tok in [
            "",
            "-",
            "ab",
            "abc",
            "abcd",
            "ENTERORISE",
            "(Company)",
            "R2-D2!",
            "Ünïcode",
            "York.",
        ] {
            assert_eq!(affixes(tok), plain(tok), "{tok:?}");
        }
        assert_ne!(affixes("abcd"), affixes("abce"));
    }

    #[test]
    fn overlapping_tokens_are_found_by_their_byte_ranges() {
        let toks = [(0, 5), (6, 8), (9, 15), (16, 20)];
        assert_eq!(overlapping(&toks, Span::new(6, 8)), &toks[1..2]);
        assert_eq!(overlapping(&toks, Span::new(7, 12)), &toks[1..3]);
        assert_eq!(overlapping(&toks, Span::new(0, 20)), &toks[..]);
        assert!(overlapping(&toks, Span::new(8, 9)).is_empty());
    }

    #[test]
    fn context_words_are_cut_at_a_character_boundary() {
        let word = "é".repeat(100);
        assert!(tail(&word).len() <= MAX_CONTEXT_BYTES && tail(&word).ends_with('é'));
        assert!(head(&word).len() <= MAX_CONTEXT_BYTES && head(&word).starts_with('é'));
        assert_eq!(tail("TOTAL"), "TOTAL");
    }
}
