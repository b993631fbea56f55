//! `Label: value` pairs, the way forms, receipts and templated emails write fields:
//! `Invoice No: 123`, `Total - 9.00`, `Ref = A-17`, several pairs on one line separated by
//! a tab or a wide gap, or the label on one line and its value on the next. Labels are
//! compared by [`label_key`], which ignores case, punctuation, spacing and HTML tags, so
//! `INVOICE NO.`, `Invoice-No` and `<b>Invoice no</b>` are the same label.
//!
//! Work per line is bounded: a label is looked for only in the first [`MAX_LABEL_BYTES`]
//! of a line or after a gap, so a 1 MB line costs linear time.

use super::Match;
use crate::span::Span;

/// A label is short; anything longer is a sentence with a colon in it.
pub const MAX_LABEL_BYTES: usize = 80;
const MAX_LABEL_WORDS: usize = 6;

// Raw confidence: a separator on the same line states the pairing; a value on the next
// line is inferred from layout.
const CONFIDENCE_SAME_LINE: f64 = 0.9;
const CONFIDENCE_NEXT_LINE: f64 = 0.75;

/// One pair found in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelPair {
    /// The label as written, trimmed.
    pub label: String,
    pub label_span: Span,
    /// The value as written, trimmed, with its evidence.
    pub value: Match,
}

/// The form labels are compared in: lower case, words of letters and digits (and each `#`
/// or `№` on its own) joined by single spaces, HTML tags left out. `"Inv.#"` becomes
/// `"inv #"`.
pub fn label_key(label: &str) -> String {
    let mut key = String::with_capacity(label.len());
    let mut in_tag = false;
    let mut in_word = false;
    for c in label.chars() {
        if in_tag {
            in_tag = c != '>';
            continue;
        }
        if c == '<' {
            in_tag = true;
            in_word = false;
        } else if c.is_alphanumeric() {
            if !in_word && !key.is_empty() {
                key.push(' ');
            }
            key.extend(c.to_lowercase());
            in_word = true;
        } else if c == '#' || c == '№' {
            if !key.is_empty() {
                key.push(' ');
            }
            key.push(c);
            in_word = false;
        } else {
            in_word = false;
        }
    }
    key
}

/// Every `label: value` pair in `text`, in text order. A label alone on a line counts only
/// when it ends with a separator (`Total:`), then its value is the next non-blank line.
pub fn find_pairs(text: &str) -> Vec<LabelPair> {
    scan(text, |_| true, true)
}

/// The value of the first label in `text` that matches one of `aliases`, compared by
/// [`label_key`]. Here a line that is only a matching label (`Invoice Number`, no colon)
/// also takes the next line as its value.
pub fn value_for(text: &str, aliases: &[&str]) -> Option<Match> {
    let keys: Vec<String> = aliases
        .iter()
        .map(|a| label_key(a))
        .filter(|k| !k.is_empty())
        .collect();
    if keys.is_empty() {
        return None;
    }
    let wanted = |label: &str| {
        let key = label_key(label);
        keys.contains(&key)
    };
    scan(text, wanted, false)
        .into_iter()
        .next()
        .map(|pair| pair.value)
}

/// Walk the lines, collecting the pairs whose label `wanted` accepts: all of them, or
/// only the first when `all` is false. With `all` false (looking for given aliases) a line
/// that is nothing but a wanted label (`Invoice Number`) also takes the next line's value.
fn scan(text: &str, wanted: impl Fn(&str) -> bool, all: bool) -> Vec<LabelPair> {
    let lines = lines(text);
    let mut found = Vec::new();
    for (i, &(start, end)) in lines.iter().enumerate() {
        let line = &text[start..end];
        let pairs = pairs_in_line(line);
        let mut candidates: Vec<(Range, Option<Range>)> = Vec::with_capacity(pairs.len());
        for (k, &(label, value)) in pairs.iter().enumerate() {
            if value.0 < value.1 {
                candidates.push((label, Some(value)));
            } else if k + 1 == pairs.len() {
                // `Total:` ends the line: the value may be on the next one.
                candidates.push((label, None));
            }
        }
        if pairs.is_empty() && !all {
            let label = trim_span(line, 0, line.len());
            if label.1 - label.0 <= MAX_LABEL_BYTES && is_label(&line[label.0..label.1]) {
                candidates.push((label, None));
            }
        }
        for (label, value) in candidates {
            let label_text = &line[label.0..label.1];
            if !wanted(label_text) {
                continue;
            }
            let value = match value {
                Some(v) => Some(same_line(text, Span::new(start + v.0, start + v.1))),
                None => next_line_value(text, &lines[i + 1..]),
            };
            let Some(value) = value else { continue };
            let label_span = Span::new(start + label.0, start + label.1);
            found.push(LabelPair {
                label: label_text.to_string(),
                label_span,
                value,
            });
            if !all {
                return found;
            }
        }
    }
    found
}

/// Byte ranges of the lines of `text`, without their `\n` or `\r\n`.
fn lines(text: &str) -> Vec<(usize, usize)> {
    let mut lines = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        lines.push((start, start + body.len()));
        start += line.len();
    }
    lines
}

/// The value on the first non-blank line after a label, unless that line is a label too.
fn next_line_value(text: &str, rest: &[(usize, usize)]) -> Option<Match> {
    let &(start, end) = rest.iter().find(|(s, e)| !text[*s..*e].trim().is_empty())?;
    let line = &text[start..end];
    let (s, e) = strip_tags(line, trim_span(line, 0, line.len()));
    let trimmed = &line[s..e];
    if s == e || !pairs_in_line(line).is_empty() || trimmed.ends_with([':', '：']) {
        return None;
    }
    Some(Match {
        value: trimmed.to_string(),
        span: Span::new(start + s, start + e),
        confidence: CONFIDENCE_NEXT_LINE,
        note: Some("value on the line after its label".to_string()),
    })
}

fn same_line(text: &str, span: Span) -> Match {
    Match {
        value: text[span.start..span.end].to_string(),
        span,
        confidence: CONFIDENCE_SAME_LINE,
        note: None,
    }
}

type Range = (usize, usize);

/// The `(label, value)` ranges of every pair on one line; a value range is empty when the
/// label ends the line. A later pair starts after a tab or two spaces: `No: 1   Date: 2`.
fn pairs_in_line(line: &str) -> Vec<(Range, Range)> {
    let mut pairs = Vec::new();
    let mut from = 0;
    while let Some((label, value_start)) = label_at(line, from) {
        // The value runs to the next gap that starts another label, or the end.
        let mut value_end = line.len();
        let mut next = None;
        let mut search = value_start;
        while let Some(gap) = find_gap(line, search) {
            let after_gap = gap.1;
            if label_at(line, after_gap).is_some() {
                value_end = gap.0;
                next = Some(after_gap);
                break;
            }
            search = after_gap.max(search + 1);
        }
        let value = strip_tags(line, trim_span(line, value_start, value_end));
        pairs.push((label, value));
        match next {
            Some(n) => from = n,
            None => break,
        }
    }
    pairs
}

/// A label starting at `from` (after spaces): its trimmed range, and where its value
/// starts. Only the first [`MAX_LABEL_BYTES`] are searched for the separator.
fn label_at(line: &str, from: usize) -> Option<(Range, usize)> {
    let rest = &line[from..];
    let mut limit = rest.len().min(MAX_LABEL_BYTES);
    while !rest.is_char_boundary(limit) {
        limit -= 1;
    }
    let head = &rest[..limit];
    let separators = head.char_indices().filter_map(|(i, c)| {
        let after = &rest[i + c.len_utf8()..];
        match c {
            // `https://`: the scheme of a link, not a label.
            ':' | '：' if !after.starts_with("//") => Some((i, c.len_utf8())),
            '=' => Some((i, 1)),
            '-' | '–' | '—' if i > 0 && rest[..i].ends_with(' ') && after.starts_with(' ') => {
                Some((i, c.len_utf8()))
            }
            _ => None,
        }
    });
    // The first separator whose left side is a label: in `<p class=x>Total: 5` the `=` is
    // inside a tag and the `:` ends the label. Three tries bound the work per line.
    separators.take(3).find_map(|(sep_at, sep_len)| {
        let label = trim_span(line, from, from + sep_at);
        is_label(&line[label.0..label.1]).then_some((label, from + sep_at + sep_len))
    })
}

/// A few words, the first starting with a letter or `#` (once HTML tags and punctuation
/// are left out): `Total`, `Inv #`, `(a) Name`; not `12`, `10:30` or a sentence.
fn is_label(s: &str) -> bool {
    let key = label_key(s);
    key.starts_with(|c: char| c.is_alphabetic() || c == '#') && key.split(' ').count() <= MAX_LABEL_WORDS
}

/// The next tab or run of two spaces at or after `from`: (start of gap, end of gap).
fn find_gap(line: &str, from: usize) -> Option<Range> {
    let bytes = line.as_bytes();
    let mut i = from;
    while i < bytes.len() {
        let is_gap = bytes[i] == b'\t' || (bytes[i] == b' ' && bytes.get(i + 1) == Some(&b' '));
        if is_gap {
            let mut end = i;
            while end < bytes.len() && (bytes[end] == b' ' || bytes[end] == b'\t') {
                end += 1;
            }
            return Some((i, end));
        }
        i += 1;
    }
    None
}

/// `start..end` without surrounding whitespace.
fn trim_span(line: &str, start: usize, end: usize) -> Range {
    let s = &line[start..end];
    let lead = s.len() - s.trim_start().len();
    let trail = s.len() - s.trim_end().len();
    if lead == s.len() {
        (start, start)
    } else {
        (start + lead, end - trail)
    }
}

/// Leave out HTML tags around a value: `</td><td>123</td>` gives `123`.
fn strip_tags(line: &str, (mut start, mut end): Range) -> Range {
    while start < end && line[start..end].starts_with('<') {
        let Some(close) = line[start..end].find('>') else {
            break;
        };
        (start, end) = trim_span(line, start + close + 1, end);
    }
    while start < end && line[start..end].ends_with('>') {
        let Some(open) = line[start..end].rfind('<') else {
            break;
        };
        (start, end) = trim_span(line, start, start + open);
    }
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, aliases: &[&str]) -> Option<String> {
        value_for(text, aliases).map(|m| m.value)
    }

    const INVOICE: &[&str] = &["invoice no", "invoice number", "inv #"];

    #[test]
    fn keys_ignore_case_punctuation_spacing_and_tags() {
        assert_eq!(label_key("  INVOICE   No. "), "invoice no");
        assert_eq!(label_key("Invoice-No"), "invoice no");
        assert_eq!(label_key("Inv.#"), "inv #");
        assert_eq!(label_key("<b>Invoice no</b>"), "invoice no");
    }

    #[test]
    fn every_separator_form() {
        for text in [
            "Invoice No: 12345",
            "INVOICE NO. : 12345",
            "Invoice Number - 12345",
            "inv # = 12345",
            "Inv.#：12345",
            "<td>Invoice No:</td><td>12345</td>",
        ] {
            assert_eq!(value(text, INVOICE).as_deref(), Some("12345"), "{text}");
        }
        assert_eq!(value("Date: 10:30", &["date"]).as_deref(), Some("10:30"));
        assert_eq!(
            value("Web: https://x.io/a", &["web"]).as_deref(),
            Some("https://x.io/a")
        );
    }

    #[test]
    fn value_on_the_next_line() {
        let text = "Invoice Number\n\n  INV-77 \nTotal:\r\n9.00\n";
        let found = value_for(text, INVOICE).unwrap();
        assert_eq!(
            (found.value.as_str(), &text[found.span.start..found.span.end]),
            ("INV-77", "INV-77")
        );
        assert!(found.confidence < CONFIDENCE_SAME_LINE);
        assert_eq!(value(text, &["total"]).as_deref(), Some("9.00"));
        // The next line is a label itself: no value.
        assert_eq!(value("Total:\nTax: 5", &["total"]), None);
        assert_eq!(value("Total:\nSubtotal:\n5", &["total"]), None);
    }

    #[test]
    fn several_pairs_on_one_line() {
        let text = "Invoice No: 123   Date: 05/03/2024\tTotal = 9.00";
        assert_eq!(value(text, INVOICE).as_deref(), Some("123"));
        assert_eq!(value(text, &["date"]).as_deref(), Some("05/03/2024"));
        assert_eq!(value(text, &["total"]).as_deref(), Some("9.00"));
        let labels: Vec<_> = find_pairs(text).into_iter().map(|p| p.label).collect();
        assert_eq!(labels, ["Invoice No", "Date", "Total"]);
    }

    #[test]
    fn what_is_not_a_label() {
        assert_eq!(
            find_pairs("12:30 we met\nwell-known\nSee http://x.io\n3 - 4 = -1"),
            Vec::new()
        );
        assert_eq!(
            value("This is a long sentence with many words in it: 5", &["this"]),
            None
        );
        assert_eq!(value("Invoice No: 12", &[]), None);
        assert_eq!(value("Invoice Number 12", INVOICE), None);
    }

    #[test]
    fn spans_are_exact_with_multibyte_text() {
        let text = "Café — résumé\nRéférence : Ünïcødé-42 🙂\nمرجع: ١٢٣";
        let found = value_for(text, &["référence"]).unwrap();
        assert_eq!(&text[found.span.start..found.span.end], "Ünïcødé-42 🙂");
        let arabic = value_for(text, &["مرجع"]).unwrap();
        assert_eq!(arabic.value, "١٢٣");
        // `Café — résumé`: an em dash between spaces is a separator.
        assert_eq!(value(text, &["cafe", "café"]).as_deref(), Some("résumé"));
    }
}
