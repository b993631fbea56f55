//! Type-aware normalisation of extracted values, the shape finders that propose typed
//! candidates, and the one comparison rule that training and evaluation share.
//!
//! Values are normalised by the engine's shared pattern normalisers
//! ([`crate::patterns`]): a date becomes ISO 8601, money a decimal with its ISO 4217
//! currency when one is written, a phone number E.164. Gold labels, though, are often
//! verbatim strings ("25/12/2018", "RM 9.00", "43.7"). So two values are *the same* when
//! the kind normalises and both sides parse and their comparison forms agree (the ISO
//! date; for money the amount alone, with trailing zeros evened out, since a label rarely
//! writes the currency); otherwise when their whitespace-collapsed raw strings agree. That
//! compares "9.00" with "RM9.00" as equal amounts and "(06/12/2016)" with "06/12/2016" as
//! equal dates, while an unparseable value can still match its own verbatim text.
//!
//! An impossible date ("31/02/2018") is an error naming the problem, never shifted to a
//! neighbouring day: the extractor reports it with the raw text and the reason.

use std::sync::LazyLock;

use regex::Regex;

use crate::FieldKind;
use crate::patterns::date::read_date;
use crate::patterns::{duration, email, number, parse_date, parse_money, phone, url};

pub use crate::patterns::DateOrder;
/// Why a value could not be normalised for its kind (the pattern normalisers' error).
pub use crate::patterns::NormalizeError as NormaliseError;

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

/// The normalised value of `raw` for a field of `kind`: what the product stores.
pub fn normalise(kind: FieldKind, raw: &str, order: DateOrder) -> Result<String, NormaliseError> {
    match kind {
        FieldKind::Text | FieldKind::MultilineText | FieldKind::Identifier => Ok(collapse_whitespace(raw)),
        FieldKind::Url => url::parse_url(raw),
        FieldKind::Email => email::parse_email(raw),
        FieldKind::Date => parse_date(unbracket(raw), order).map(|d| d.to_string()),
        FieldKind::Money => parse_money(raw).map(|m| m.to_string()),
        FieldKind::Number => number::parse_number(raw).map(|d| d.value),
        FieldKind::Phone => phone::parse_phone(raw, None),
        FieldKind::Duration => duration::parse_duration(raw),
    }
}

/// A cheap test that `raw` cannot be a value of `kind`, before the normaliser's regular
/// expressions run: a duration names its unit (or is written in ISO 8601, `P2Y`).
/// Candidate generation asks it of every span of a document, so it must stay a scan of
/// bytes; `false` means only "maybe".
pub(crate) fn cannot_normalise(kind: FieldKind, raw: &str) -> bool {
    match kind {
        FieldKind::Duration => {
            let has_unit = raw.as_bytes().windows(3).any(|w| {
                [b"day", b"wee", b"mon", b"yea"]
                    .iter()
                    .any(|u| w.eq_ignore_ascii_case(&u[..]))
            });
            let iso = raw.trim().len() <= 6 && raw.trim_start().starts_with(['P', 'p']);
            !(has_unit || iso)
        }
        _ => false,
    }
}

/// A value wrapped whole in brackets, `(06/12/2016)`, is the value inside them.
fn unbracket(raw: &str) -> &str {
    let t = raw.trim();
    [('(', ')'), ('[', ']')]
        .iter()
        .find_map(|&(open, close)| t.strip_prefix(open)?.strip_suffix(close))
        .map_or(t, str::trim)
}

/// Whether the kind's normaliser does more than collapse whitespace, so that two different
/// raw strings may denote the same value.
pub fn kind_normalises(kind: FieldKind) -> bool {
    !matches!(
        kind,
        FieldKind::Text | FieldKind::MultilineText | FieldKind::Identifier
    )
}

/// The form two parsed values are compared in: the normalised value, except that money
/// compares its amount alone and amounts compare with trailing zeros evened out.
fn compare_form(kind: FieldKind, raw: &str, order: DateOrder) -> Option<String> {
    match kind {
        FieldKind::Money => parse_money(raw).ok().map(|m| even_decimals(&m.amount)),
        FieldKind::Number => number::parse_number(raw).ok().map(|d| even_decimals(&d.value)),
        _ if kind_normalises(kind) => normalise(kind, raw, order).ok(),
        _ => None,
    }
}

/// `43.7`, `43.70` and `43.700` all become `43.70`; `0.125` stays as it is.
fn even_decimals(amount: &str) -> String {
    let (int, frac) = amount.split_once('.').unwrap_or((amount, ""));
    let mut frac = frac.trim_end_matches('0').to_string();
    while frac.len() < 2 {
        frac.push('0');
    }
    format!("{int}.{frac}")
}

/// The comparison rule of training and evaluation (see the module documentation).
pub fn same_value(kind: FieldKind, a: &str, b: &str, order: DateOrder) -> bool {
    if let (Some(x), Some(y)) = (compare_form(kind, a, order), compare_form(kind, b, order)) {
        return x == y;
    }
    collapse_whitespace(a) == collapse_whitespace(b)
}

/// A string that is equal for two values exactly when [`same_value`] holds for values that
/// both parse or both fail to parse; used to pool candidates that denote one value.
pub(crate) fn value_key(kind: FieldKind, raw: &str, order: DateOrder) -> String {
    match compare_form(kind, raw, order) {
        Some(v) => format!("n:{v}"),
        None => format!("r:{}", collapse_whitespace(raw)),
    }
}

/// The date order the training labels were written in: the one that reads fewest of
/// `dates` only by falling back to another order (a `12/28/2017` is month first).
/// Day first on a tie, as the more common convention.
pub(crate) fn infer_date_order<'a>(dates: impl Iterator<Item = &'a str> + Clone) -> DateOrder {
    let fallbacks = |order| {
        dates
            .clone()
            .filter(|d| read_date(d, order).is_ok_and(|r| r.order != order))
            .count()
    };
    if fallbacks(DateOrder::Mdy) < fallbacks(DateOrder::Dmy) {
        DateOrder::Mdy
    } else {
        DateOrder::Dmy
    }
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
        FieldKind::Duration => return duration::shapes(line),
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

    const DMY: DateOrder = DateOrder::Dmy;

    #[test]
    fn values_are_normalised_by_kind() {
        let cases = [
            (FieldKind::Date, "25/12/2018", "2018-12-25"),
            (FieldKind::Date, "(06/12/2016)", "2016-12-06"),
            (FieldKind::Date, "25 Dec 2018", "2018-12-25"),
            (FieldKind::Money, "9.00", "9.00"),
            (FieldKind::Money, "RM 33.90", "33.90 MYR"),
            (FieldKind::MultilineText, "12 Road,\n  Town", "12 Road, Town"),
        ];
        for (kind, raw, v) in cases {
            assert_eq!(normalise(kind, raw, DMY).as_deref(), Ok(v), "{raw}");
        }
    }

    #[test]
    fn impossible_dates_are_errors_not_shifted() {
        for raw in ["31/02/2018", "29/02/2019", "32/13/2018"] {
            let err = normalise(FieldKind::Date, raw, DMY).unwrap_err();
            assert!(
                matches!(
                    err,
                    NormaliseError::NoSuchDay { .. } | NormaliseError::NoSuchMonth { .. }
                ),
                "{raw}: {err}"
            );
        }
    }

    #[test]
    fn comparison_uses_the_parsed_form_only_when_both_parse() {
        assert!(same_value(FieldKind::Money, "RM 9.00", "9.00", DMY));
        assert!(same_value(FieldKind::Money, "43.70", "43.7", DMY));
        assert!(!same_value(FieldKind::Money, "43.70", "43.07", DMY));
        assert!(same_value(FieldKind::Date, "25/12/2018", "25-12-18", DMY));
        assert!(same_value(FieldKind::Date, "31/02/2018", " 31/02/2018", DMY));
        assert!(!same_value(FieldKind::Date, "31/02/2018", "2018-03-03", DMY));
        assert!(same_value(FieldKind::Text, "A  B\nC", "A B C", DMY));
        assert!(!same_value(FieldKind::Text, "A,B", "A, B", DMY));
    }

    #[test]
    fn date_order_is_learned_from_labels() {
        let us = ["12/28/2017", "01/31/2018", "02/03/2018"];
        assert_eq!(infer_date_order(us.iter().copied()), DateOrder::Mdy);
        let eu = ["28/12/2017", "31/01/2018", "02/03/2018"];
        assert_eq!(infer_date_order(eu.iter().copied()), DateOrder::Dmy);
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
