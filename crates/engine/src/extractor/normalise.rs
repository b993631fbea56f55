//! Type-aware normalisation of extracted values, the shape finders that propose typed
//! candidates, and the one comparison rule that training and evaluation share.
//!
//! The stored value of a field is its normalised form (a date as ISO 8601, money as a
//! decimal string), but gold labels are often verbatim strings ("25/12/2018", "RM 9.00").
//! So two values are *the same* when the kind normalises and both sides parse and the
//! normalised forms agree; otherwise when their whitespace-collapsed raw strings agree.
//! That compares "9.00" with "RM9.00" as equal amounts and "(06/12/2016)" with "06/12/2016"
//! as equal dates, while an unparseable value can still match its own verbatim text.
//!
//! An impossible date ("31/02/2018") is an error naming the offending parts, never shifted
//! to a neighbouring day: the extractor reports it with the raw text and the reason.
//!
//! The normalisers here are deliberately minimal; `normalise` is the one function to swap
//! for the shared pattern normalisers when they exist.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::FieldKind;

/// How to read an all-numeric date such as `03/04/2018`. Learned per field from the
/// training labels (the order under which most gold dates are valid), never assumed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DateOrder {
    #[default]
    DayMonthYear,
    MonthDayYear,
}

/// Why a value could not be normalised for its kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormaliseError {
    #[error("`{0}` is not a date")]
    NotADate(String),
    #[error("`{raw}` is not a calendar date (year {year}, month {month}, day {day})")]
    ImpossibleDate {
        raw: String,
        year: u32,
        month: u32,
        day: u32,
    },
    #[error("`{0}` is not an amount")]
    NotAnAmount(String),
    #[error("`{0}` is not a number")]
    NotANumber(String),
    #[error("`{0}` is not a telephone number")]
    NotAPhone(String),
}

/// Runs of whitespace (newlines included) become one space; the ends are trimmed.
pub fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The normalised value of `raw` for a field of `kind`.
pub fn normalise(kind: FieldKind, raw: &str, order: DateOrder) -> Result<String, NormaliseError> {
    match kind {
        FieldKind::Text | FieldKind::MultilineText | FieldKind::Identifier | FieldKind::Url => {
            Ok(collapse_whitespace(raw))
        }
        FieldKind::Email => Ok(collapse_whitespace(raw).to_lowercase()),
        FieldKind::Date => parse_date(raw, order),
        FieldKind::Money => parse_amount(raw, true),
        FieldKind::Number => parse_amount(raw, false),
        FieldKind::Phone => parse_phone(raw),
    }
}

/// Whether the kind's normaliser does more than collapse whitespace, so that two different
/// raw strings may denote the same value.
pub fn kind_normalises(kind: FieldKind) -> bool {
    matches!(
        kind,
        FieldKind::Date | FieldKind::Money | FieldKind::Number | FieldKind::Email | FieldKind::Phone
    )
}

/// The comparison rule of training and evaluation (see the module documentation).
pub fn same_value(kind: FieldKind, a: &str, b: &str, order: DateOrder) -> bool {
    if kind_normalises(kind)
        && let (Ok(x), Ok(y)) = (normalise(kind, a, order), normalise(kind, b, order))
    {
        return x == y;
    }
    collapse_whitespace(a) == collapse_whitespace(b)
}

/// A string that is equal for two values exactly when [`same_value`] holds for values that
/// both parse or both fail to parse; used to pool candidates that denote one value.
pub(crate) fn value_key(kind: FieldKind, raw: &str, order: DateOrder) -> String {
    match kind_normalises(kind).then(|| normalise(kind, raw, order)) {
        Some(Ok(v)) => format!("n:{v}"),
        _ => format!("r:{}", collapse_whitespace(raw)),
    }
}

/// The date order under which most `dates` are valid calendar dates; day-month-year on a
/// tie, as the more common convention worldwide.
pub(crate) fn infer_date_order<'a>(dates: impl Iterator<Item = &'a str> + Clone) -> DateOrder {
    let valid = |order| dates.clone().filter(|d| parse_date(d, order).is_ok()).count();
    if valid(DateOrder::MonthDayYear) > valid(DateOrder::DayMonthYear) {
        DateOrder::MonthDayYear
    } else {
        DateOrder::DayMonthYear
    }
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn month_from_name(word: &str) -> Option<u32> {
    let w = word.to_ascii_lowercase();
    if w.len() < 3 {
        return None;
    }
    let w = if w == "sept" { "sep".to_string() } else { w };
    MONTHS
        .iter()
        .position(|m| m.starts_with(&w))
        .map(|i| i as u32 + 1)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Dates as ISO 8601 `YYYY-MM-DD`: numeric forms with `/ - .` or spaces (year first when it
/// has four digits, else by `order`), compact `YYYYMMDD`, and forms with an English month
/// name. Two-digit years are read as 2000-2069 or 1970-1999.
fn parse_date(raw: &str, order: DateOrder) -> Result<String, NormaliseError> {
    let not_a_date = || NormaliseError::NotADate(raw.to_string());
    // Split into maximal runs of digits and of letters; everything else separates.
    let class = |c: char| {
        if c.is_ascii_digit() {
            1u8
        } else if c.is_alphabetic() {
            2
        } else {
            0
        }
    };
    let s = raw.trim();
    let mut groups: Vec<(u8, &str)> = Vec::new();
    let (mut start, mut current) = (0, 0u8);
    for (i, c) in s.char_indices() {
        let cl = class(c);
        if cl != current {
            if current != 0 {
                groups.push((current, &s[start..i]));
            }
            (start, current) = (i, cl);
        }
    }
    if current != 0 {
        groups.push((current, &s[start..]));
    }
    // Ordinal suffixes ("25th") are not words of their own.
    let ordinal = |w: &str| ["st", "nd", "rd", "th"].contains(&w.to_ascii_lowercase().as_str());
    let first_is_word = groups.first().is_some_and(|g| g.0 == 2);
    let digits: Vec<&str> = groups.iter().filter(|g| g.0 == 1).map(|g| g.1).collect();
    let words: Vec<&str> = groups
        .iter()
        .filter(|g| g.0 == 2 && !ordinal(g.1))
        .map(|g| g.1)
        .collect();
    let num = |g: &str| g.parse::<u32>().ok();
    let (year, month, day) = match (words.len(), digits.len()) {
        (0, 1) if digits[0].len() == 8 => {
            let g = digits[0];
            (
                num(&g[..4]).ok_or_else(not_a_date)?,
                num(&g[4..6]).ok_or_else(not_a_date)?,
                num(&g[6..]).ok_or_else(not_a_date)?,
            )
        }
        (0, 3) => {
            let (a, b, c) = (digits[0], digits[1], digits[2]);
            if a.len() == 4 && b.len() <= 2 && c.len() <= 2 {
                (
                    num(a).ok_or_else(not_a_date)?,
                    num(b).ok_or_else(not_a_date)?,
                    num(c).ok_or_else(not_a_date)?,
                )
            } else if a.len() <= 2 && b.len() <= 2 && (c.len() == 2 || c.len() == 4) {
                let (x, y, z) = (
                    num(a).ok_or_else(not_a_date)?,
                    num(b).ok_or_else(not_a_date)?,
                    num(c).ok_or_else(not_a_date)?,
                );
                match order {
                    DateOrder::DayMonthYear => (z, y, x),
                    DateOrder::MonthDayYear => (z, x, y),
                }
            } else {
                return Err(not_a_date());
            }
        }
        (1, 2) => {
            let month = month_from_name(words[0]).ok_or_else(not_a_date)?;
            let (a, b) = (digits[0], digits[1]);
            // "25 Dec 2018", "Dec 25, 2018", "2018 Dec 25": the four-digit group is the year.
            let (d, y) = if a.len() == 4 && !first_is_word {
                (b, a)
            } else {
                (a, b)
            };
            if d.len() > 2 || !(y.len() == 2 || y.len() == 4) {
                return Err(not_a_date());
            }
            (
                num(y).ok_or_else(not_a_date)?,
                month,
                num(d).ok_or_else(not_a_date)?,
            )
        }
        _ => return Err(not_a_date()),
    };
    let year = if year < 70 {
        2000 + year
    } else if year < 100 {
        1900 + year
    } else {
        year
    };
    if !(1000..=9999).contains(&year) {
        return Err(not_a_date());
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(NormaliseError::ImpossibleDate {
            raw: raw.to_string(),
            year,
            month,
            day,
        });
    }
    Ok(format!("{year:04}-{month:02}-{day:02}"))
}

/// An amount as a plain decimal string with at least two decimals (`"1234.50"`). A currency
/// code or symbol next to the number is allowed for money and dropped from the value
/// (the comparison is about the amount); a sign or accounting parentheses make it negative.
fn parse_amount(raw: &str, money: bool) -> Result<String, NormaliseError> {
    let fail = || {
        if money {
            NormaliseError::NotAnAmount(raw.to_string())
        } else {
            NormaliseError::NotANumber(raw.to_string())
        }
    };
    let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    let mut s = compact.as_str();
    let mut negative = false;
    if let Some(rest) = s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        negative = true;
        s = rest;
    }
    let is_currency = |c: char| c.is_alphabetic() || "$€£¥₹".contains(c);
    for _ in 0..2 {
        if let Some(rest) = s.strip_prefix('-') {
            negative = true;
            s = rest;
        }
        if money {
            let letters = s.chars().take_while(|&c| is_currency(c)).count();
            if letters > 3 {
                return Err(fail());
            }
            s = s.trim_start_matches(is_currency);
        }
    }
    if money {
        let letters = s.chars().rev().take_while(|&c| is_currency(c)).count();
        if letters > 3 {
            return Err(fail());
        }
        s = s.trim_end_matches(is_currency);
    }
    if let Some(rest) = s.strip_suffix('-') {
        negative = true;
        s = rest;
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || b == b',' || b == b'.') {
        return Err(fail());
    }
    if !s.starts_with(|c: char| c.is_ascii_digit()) || !s.ends_with(|c: char| c.is_ascii_digit()) {
        return Err(fail());
    }
    // The decimal separator is the last of `.`/`,` when both appear; a lone comma is a
    // decimal comma only when one or two digits follow it ("12,50"), else thousands.
    let last_dot = s.rfind('.');
    let last_comma = s.rfind(',');
    let decimal_at = match (last_dot, last_comma) {
        (Some(d), Some(c)) => Some(d.max(c)),
        (Some(d), None) => (s.matches('.').count() == 1).then_some(d),
        (None, Some(c)) => (s.matches(',').count() == 1 && s.len() - c - 1 <= 2).then_some(c),
        (None, None) => None,
    };
    let (int_part, frac_part) = match decimal_at {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    // Thousands separators must group by three: "9.00.00" is not an amount.
    let mut groups = int_part.split([',', '.']);
    let lead_ok = groups.next().is_some_and(|g| !g.is_empty());
    let grouped = int_part.contains([',', '.']);
    if !lead_ok
        || (grouped && (int_part.split([',', '.']).next().is_some_and(|g| g.len() > 3)))
        || groups.any(|g| g.len() != 3)
        || frac_part.contains([',', '.'])
    {
        return Err(fail());
    }
    let int_digits: String = int_part.chars().filter(char::is_ascii_digit).collect();
    let int_digits = int_digits.trim_start_matches('0');
    let int_digits = if int_digits.is_empty() { "0" } else { int_digits };
    let mut frac = frac_part.trim_end_matches('0').to_string();
    while frac.len() < 2 {
        frac.push('0');
    }
    let zero = int_digits == "0" && frac.bytes().all(|b| b == b'0');
    let sign = if negative && !zero { "-" } else { "" };
    Ok(format!("{sign}{int_digits}.{frac}"))
}

/// Digits with a leading `+` when one is written; at least six digits. Country codes are
/// not guessed: that needs a locale the engine does not have.
fn parse_phone(raw: &str) -> Result<String, NormaliseError> {
    let t = raw.trim();
    if !t.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c)) {
        return Err(NormaliseError::NotAPhone(raw.to_string()));
    }
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 6 {
        return Err(NormaliseError::NotAPhone(raw.to_string()));
    }
    let plus = if t.starts_with('+') { "+" } else { "" };
    Ok(format!("{plus}{digits}"))
}

static DATE_SHAPES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    let month = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?";
    [
        r"\d{1,4}[/.\-]\d{1,2}[/.\-]\d{2,4}".to_string(),
        format!(r"(?i)\d{{1,2}}[\s\-/.]*{month}[\s\-/.,]*\d{{2,4}}"),
        format!(r"(?i){month}\s*\d{{1,2}}(?:st|nd|rd|th)?,?\s*\d{{4}}"),
        r"(?:19|20)\d{6}".to_string(),
    ]
    .iter()
    .map(|p| Regex::new(p).expect("date shape"))
    .collect()
});

static MONEY_SHAPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"-?\d[\d,]*\.\d{1,3}").expect("money shape"));
static NUMBER_SHAPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"-?\d[\d,]*(?:\.\d+)?").expect("number shape"));
static EMAIL_SHAPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+").expect("email shape"));
static URL_SHAPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(?:https?://|www\.)[^\s]+").expect("url shape"));
static PHONE_SHAPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\+?\(?\d[\d\s().\-]{4,}\d").expect("phone shape"));

/// Byte ranges in `line` that look like a value of `kind` (a date shape, an amount...),
/// whether or not they normalise: an impossible date must still be found so that it can be
/// reported. A match glued to more digits on either side is not a value of its own.
pub(crate) fn shape_matches(kind: FieldKind, line: &str) -> Vec<(usize, usize)> {
    let regexes: Vec<&Regex> = match kind {
        FieldKind::Date => DATE_SHAPES.iter().collect(),
        FieldKind::Money => vec![&*MONEY_SHAPE],
        FieldKind::Number => vec![&*NUMBER_SHAPE],
        FieldKind::Email => vec![&*EMAIL_SHAPE],
        FieldKind::Url => vec![&*URL_SHAPE],
        FieldKind::Phone => vec![&*PHONE_SHAPE],
        FieldKind::Text | FieldKind::MultilineText | FieldKind::Identifier => return Vec::new(),
    };
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    for re in regexes {
        for m in re.find_iter(line) {
            let glued_before = m.start() > 0 && bytes[m.start() - 1].is_ascii_digit();
            let glued_after = m.end() < bytes.len() && bytes[m.end()].is_ascii_digit();
            if !glued_before && !glued_after {
                out.push((m.start(), m.end()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DMY: DateOrder = DateOrder::DayMonthYear;

    #[test]
    fn dates_in_many_formats() {
        let cases = [
            ("25/12/2018", "2018-12-25"),
            ("25-12-18", "2018-12-25"),
            ("(06/12/2016)", "2016-12-06"),
            ("2018.12.25", "2018-12-25"),
            ("20180428", "2018-04-28"),
            ("25 Dec 2018", "2018-12-25"),
            ("25-DEC-18", "2018-12-25"),
            ("December 25, 2018", "2018-12-25"),
            ("29/02/2020", "2020-02-29"),
        ];
        for (raw, iso) in cases {
            assert_eq!(normalise(FieldKind::Date, raw, DMY).as_deref(), Ok(iso), "{raw}");
        }
        assert_eq!(
            parse_date("12/28/2017", DateOrder::MonthDayYear).as_deref(),
            Ok("2017-12-28")
        );
    }

    #[test]
    fn impossible_dates_are_errors_not_shifted() {
        for raw in ["31/02/2018", "29/02/2019", "00/01/2018", "12/13/2018"] {
            let err = parse_date(raw, DMY).unwrap_err();
            assert!(
                matches!(err, NormaliseError::ImpossibleDate { .. }),
                "{raw}: {err}"
            );
        }
        assert!(matches!(
            parse_date("TOTAL", DMY),
            Err(NormaliseError::NotADate(_))
        ));
        assert!(matches!(
            parse_date("12/01/2019 10:30", DMY),
            Err(NormaliseError::NotADate(_))
        ));
    }

    #[test]
    fn amounts_in_many_formats() {
        let cases = [
            ("9.00", "9.00"),
            ("RM 33.90", "33.90"),
            ("RM33.9", "33.90"),
            ("-RM 0.02", "-0.02"),
            ("$1,234.50", "1234.50"),
            ("1.234,50 EUR", "1234.50"),
            ("12,50", "12.50"),
            ("1,200", "1200.00"),
            ("9.000", "9.00"),
            ("(5.00)", "-5.00"),
        ];
        for (raw, v) in cases {
            assert_eq!(normalise(FieldKind::Money, raw, DMY).as_deref(), Ok(v), "{raw}");
        }
        for raw in ["TOTAL 9.00", "9.00.00", "abc", ""] {
            assert!(normalise(FieldKind::Money, raw, DMY).is_err(), "{raw}");
        }
    }

    #[test]
    fn comparison_uses_normalised_form_only_when_both_parse() {
        assert!(same_value(FieldKind::Money, "RM 9.00", "9.00", DMY));
        assert!(same_value(FieldKind::Date, "25/12/2018", "25-12-18", DMY));
        assert!(same_value(FieldKind::Date, "31/02/2018", " 31/02/2018", DMY));
        assert!(!same_value(FieldKind::Date, "31/02/2018", "2018-03-03", DMY));
        assert!(same_value(FieldKind::Text, "A  B\nC", "A B C", DMY));
        assert!(!same_value(FieldKind::Text, "A,B", "A, B", DMY));
    }

    #[test]
    fn date_order_is_learned_from_labels() {
        let us = ["12/28/2017", "01/31/2018", "02/03/2018"];
        assert_eq!(infer_date_order(us.iter().copied()), DateOrder::MonthDayYear);
        let eu = ["28/12/2017", "31/01/2018", "02/03/2018"];
        assert_eq!(infer_date_order(eu.iter().copied()), DateOrder::DayMonthYear);
    }

    #[test]
    fn shapes_find_typed_spans_but_not_inside_longer_numbers() {
        let line = "DATE:11/03/18 21:30 TOTAL RM33.90";
        let dates = shape_matches(FieldKind::Date, line);
        assert_eq!(
            dates.iter().map(|&(a, b)| &line[a..b]).collect::<Vec<_>>(),
            ["11/03/18"]
        );
        let money = shape_matches(FieldKind::Money, line);
        assert_eq!(
            money.iter().map(|&(a, b)| &line[a..b]).collect::<Vec<_>>(),
            ["33.90"]
        );
        assert!(shape_matches(FieldKind::Date, "9556939040116").is_empty());
    }
}
