//! Plain numbers, normalised to a decimal string (`1,234.56` and `1.234,56` and
//! `1 234,56` all become `1234.56`), and the reading of digit groups that money shares.
//! The rule for separators: the last `.` or `,` is the decimal mark when the other one
//! groups thousands before it, or when it is followed by anything but exactly three digits;
//! spaces and apostrophes only ever group thousands. A lone `1,234` or `1.234` is read as a
//! thousand and flagged ambiguous, since it may be one point two three four.

use std::sync::LazyLock;

use regex::Regex;

use super::date::{self, DateOrder};
use super::{Match, NormalizeError, char_after, char_before, excerpt};
use crate::span::Span;

/// Digits with optional thousands groups and decimals. Written out in groups of three (not
/// "digits and separators") so that `1, 2` or a list of numbers is never one number; the
/// regex crate matches it in linear time.
pub(super) const NUMBER: &str = concat!(
    // Indian lakh grouping: 1,00,000 and 12,34,567.50
    r"[0-9]{1,2}(?:,[0-9]{2})+,[0-9]{3}(?:\.[0-9]+)?",
    r"|[0-9]{1,3}(?:[,.'\x{a0}\x{202f} ][0-9]{3})+(?:[.,][0-9]+)?",
    r"|[0-9]+(?:[.,][0-9]+)?"
);

/// A number without grouping, from the start: for `3.14159`, where the grouped reading
/// stops at `3.141`.
static PLAIN_NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[-−+]?[0-9]+(?:[.,][0-9]+)?").expect("the number regex is valid"));

static SIGNED_NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"[-−+]?(?:{NUMBER})")).expect("the number regex is valid"));

// Raw confidence: a number is what it looks like unless its separators have two readings.
const CONFIDENCE_NUMBER: f64 = 0.9;
/// `1,234` may be a thousand or one point two: the automation's locale decides.
pub(super) const FACTOR_AMBIGUOUS_SEPARATOR: f64 = 0.7;

/// A number read from digits and separators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal {
    /// `-1234.56`: optional minus, integer part without leading zeros or grouping, and the
    /// decimals as written (`12.50` keeps its zero: it is how the amount was written).
    pub value: String,
    /// The separators had two readings (`1,234`); `value` is the thousands reading.
    pub ambiguous: bool,
}

/// Every number in `text`, in text order, except the parts of dates.
pub fn find(text: &str, order: DateOrder) -> Vec<Match> {
    let dates: Vec<Span> = date::find_dates(text, order)
        .into_iter()
        .map(|d| d.span)
        .collect();
    let mut dates = dates.iter().peekable();
    let mut found = Vec::new();
    // `find_at`, not captures: the sign is one character to look at, and finding is
    // several times faster than capturing on number-heavy text.
    let mut at = 0;
    while let Some(m) = SIGNED_NUMBER.find_at(text, at) {
        let mut end = m.end();
        if char_after(text, end).is_some_and(|c| c.is_ascii_digit())
            && let Some(plain) = PLAIN_NUMBER.find(&text[m.start()..])
        {
            end = m.start() + plain.end();
        }
        at = end;
        let sign = m.as_str().chars().next().filter(|c| !c.is_ascii_digit());
        let digits_start = m.start() + sign.map_or(0, char::len_utf8);
        let raw = &text[digits_start..end];
        let signed = sign.is_some() && sign_stands_alone(text, m.start());
        let start = if signed { m.start() } else { digits_start };
        if glued_before(text, digits_start) || glued_after(text, end) {
            continue;
        }
        while dates.next_if(|d| d.end <= start).is_some() {}
        if dates.peek().is_some_and(|d| d.start < end) {
            continue;
        }
        let Ok(decimal) = read_digits(raw, signed && sign != Some('+')) else {
            continue;
        };
        let (confidence, note) = if decimal.ambiguous {
            (
                CONFIDENCE_NUMBER * FACTOR_AMBIGUOUS_SEPARATOR,
                Some(ambiguity_note(raw)),
            )
        } else {
            (CONFIDENCE_NUMBER, None)
        };
        found.push(Match {
            value: decimal.value,
            span: Span::new(start, end),
            confidence,
            note,
        });
    }
    found
}

/// Normalise one number value: optional sign, digits and separators, nothing else.
pub fn parse_number(s: &str) -> Result<Decimal, NormalizeError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(NormalizeError::Empty);
    }
    let error = |reason: &str| NormalizeError::NotANumber {
        input: excerpt(t),
        reason: reason.to_string(),
    };
    let (negative, digits) = match t.strip_prefix(['-', '−']) {
        Some(rest) => (true, rest.trim_start()),
        None => (false, t.strip_prefix('+').unwrap_or(t).trim_start()),
    };
    if !digits.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(error("it does not start with a digit"));
    }
    read_digits(digits, negative).map_err(|reason| error(&reason))
}

/// A sign counts only where a sign can stand: at the start, after a space or an opening
/// bracket. In `415-555` or `5-10` the dash joins, it does not negate.
pub(super) fn sign_stands_alone(text: &str, sign_start: usize) -> bool {
    char_before(text, sign_start).is_none_or(|c| c.is_whitespace() || "([{:=;".contains(c))
}

/// Digits at `start` continue a code or a longer number: a letter or digit before (`A4`,
/// `INV123`), or a digit and a `.`, `,` or `:` (`1.2.3`, `10:30`).
pub(super) fn glued_before(text: &str, start: usize) -> bool {
    match char_before(text, start) {
        Some('.' | ',' | ':') => char_before(text, start - 1).is_some_and(|c| c.is_ascii_digit()),
        Some(c) => c.is_alphanumeric(),
        None => false,
    }
}

/// Digits ending at `end` go on as a longer number (`1.2.3`, `10:30`, `₹1,00,0`). Letters
/// may follow: `5kg`.
pub(super) fn glued_after(text: &str, end: usize) -> bool {
    match char_after(text, end) {
        Some('.' | ',' | ':') => char_after(text, end + 1).is_some_and(|c| c.is_ascii_digit()),
        Some(c) => c.is_numeric(),
        None => false,
    }
}

/// The note shown for an ambiguous separator.
pub(super) fn ambiguity_note(raw: &str) -> String {
    format!(
        "ambiguous: {raw} read with {} grouping thousands",
        if raw.contains(',') { "\",\"" } else { "\".\"" }
    )
}

/// Read a run of digits and separators (the whole of `raw`) as a decimal. The error is the
/// reason, for the caller's message.
pub(super) fn read_digits(raw: &str, negative: bool) -> Result<Decimal, String> {
    let is_group_only = |c: char| matches!(c, ' ' | '\'' | '\u{a0}' | '\u{202f}');
    let seps: Vec<(usize, char)> = raw.char_indices().filter(|(_, c)| !c.is_ascii_digit()).collect();
    if let Some((_, c)) = seps
        .iter()
        .find(|(_, c)| !matches!(c, '.' | ',') && !is_group_only(*c))
    {
        return Err(format!("'{c}' is not part of a number"));
    }
    let mut ambiguous = false;
    // Where the decimal mark is, if any.
    let decimal_at = match seps.as_slice() {
        [] => None,
        [.., (_, last)] if is_group_only(*last) => None,
        [.., (at, last)] => {
            let others = &seps[..seps.len() - 1];
            let after = raw.len() - at - 1;
            if others.iter().any(|(_, c)| c == last) {
                // `1,234,567`: every one groups thousands.
                None
            } else if !others.is_empty() || after != 3 {
                // `1,234.56`, `12,50`, `0.5`: the last one is the decimal mark.
                Some(*at)
            } else if raw.starts_with("0") && *at == 1 {
                // `0,500` has no thousands to group.
                Some(*at)
            } else {
                ambiguous = true;
                None
            }
        }
    };
    let (integer, fraction) = match decimal_at {
        Some(at) => (&raw[..at], Some(&raw[at + 1..])),
        None => (raw, None),
    };
    // Every group after the first has exactly three digits, and the first one to three; or
    // in Indian grouping, commas with groups of two before the last three.
    let groups: Vec<&str> = integer.split(|c: char| !c.is_ascii_digit()).collect();
    let grouped = groups.len() > 1;
    let western = groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3);
    let indian = groups.len() > 2
        && integer.contains(',')
        && groups[0].len() <= 2
        && groups[1..groups.len() - 1].iter().all(|g| g.len() == 2)
        && groups.last().is_some_and(|g| g.len() == 3);
    if groups.iter().any(|g| g.is_empty()) || (grouped && !western && !indian) {
        return Err("its digit groups are not thousands".to_string());
    }
    let mut group_seps = integer.chars().filter(|c| !c.is_ascii_digit());
    if group_seps
        .next()
        .is_some_and(|first| group_seps.any(|c| c != first))
    {
        return Err("it mixes thousands separators".to_string());
    }
    if fraction.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit())) {
        return Err("its decimals are not digits".to_string());
    }
    let digits: String = groups.concat();
    let digits = digits.trim_start_matches('0');
    let mut value = String::with_capacity(raw.len() + 2);
    let zero = digits.is_empty() && fraction.is_none_or(|f| f.bytes().all(|b| b == b'0'));
    if negative && !zero {
        value.push('-');
    }
    value.push_str(if digits.is_empty() { "0" } else { digits });
    if let Some(fraction) = fraction {
        value.push('.');
        value.push_str(fraction);
    }
    Ok(Decimal { value, ambiguous })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(raw: &str) -> (String, bool) {
        let d = read_digits(raw, false).unwrap();
        (d.value, d.ambiguous)
    }

    #[test]
    fn both_conventions_and_spaces() {
        assert_eq!(read("1,234.56"), ("1234.56".into(), false));
        assert_eq!(read("1.234,56"), ("1234.56".into(), false));
        assert_eq!(read("1 234,56"), ("1234.56".into(), false));
        assert_eq!(read("1\u{a0}234\u{a0}567"), ("1234567".into(), false));
        assert_eq!(read("1'234.50"), ("1234.50".into(), false));
        assert_eq!(read("1,234,567"), ("1234567".into(), false));
        assert_eq!(read("1.234.567,8"), ("1234567.8".into(), false));
        assert_eq!(read("12,50"), ("12.50".into(), false));
        assert_eq!(read("1234.5"), ("1234.5".into(), false));
        assert_eq!(read("0,500"), ("0.500".into(), false));
        assert_eq!(read("007"), ("7".into(), false));
        assert_eq!(read("1,00,000"), ("100000".into(), false));
        assert_eq!(read("12,34,567.5"), ("1234567.5".into(), false));
    }

    #[test]
    fn a_lone_group_of_three_is_ambiguous() {
        assert_eq!(read("1,234"), ("1234".into(), true));
        assert_eq!(read("1.234"), ("1234".into(), true));
    }

    #[test]
    fn malformed_groups_are_errors() {
        for raw in [
            "1,23,45",
            "1234,567,890",
            "1,234,56",
            "1.234.56",
            "1 234.567,89,0",
            "1,234 567",
        ] {
            assert!(read_digits(raw, false).is_err(), "{raw}");
        }
    }

    #[test]
    fn parse_number_takes_a_sign_and_rejects_words() {
        assert_eq!(parse_number(" -1.234,50 ").unwrap().value, "-1234.50");
        assert_eq!(parse_number("−0").unwrap().value, "0");
        assert_eq!(parse_number("+42").unwrap().value, "42");
        assert!(
            parse_number("twelve")
                .unwrap_err()
                .to_string()
                .contains("does not start with a digit")
        );
        assert!(parse_number("12 apples").is_err());
        assert_eq!(parse_number(""), Err(NormalizeError::Empty));
    }

    #[test]
    fn finds_numbers_but_not_dates_codes_or_joining_dashes() {
        let text = "Qty -3, price 1.234,50 on 05/03/2024, part A4 and INV123; range 5-10 (−2) 5kg";
        let found: Vec<_> = find(text, DateOrder::Dmy).into_iter().map(|m| m.value).collect();
        assert_eq!(found, ["-3", "1234.50", "5", "10", "-2", "5"]);
        let others = "pi 3.14159, v1.2.3 at 10:30";
        let found: Vec<_> = find(others, DateOrder::Dmy)
            .into_iter()
            .map(|m| m.value)
            .collect();
        assert_eq!(found, ["3.14159"]);
    }
}
