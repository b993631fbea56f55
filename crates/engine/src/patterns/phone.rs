//! Telephone numbers, normalised to E.164 (`+14155550123`). A permissive regex finds runs
//! of digit groups; the `phonenumber` crate (Google's libphonenumber metadata) decides
//! whether a run is a real number, so no numbering-plan rule is written here. Numbers
//! written without `+` are read in the default region, when there is one. Runs that are
//! dates, amounts of money or long identifiers are rejected before validation, since a
//! numbering plan alone would accept many of them.

use std::collections::HashMap;
use std::sync::LazyLock;

use phonenumber::country::Id;
use phonenumber::{Mode, PhoneNumber};
use regex::Regex;

use super::date::{self, DateOrder};
use super::{Match, NormalizeError, char_after, char_before, excerpt, money};
use crate::span::Span;

/// An optional country code, then up to eight digit groups (`415`, `(020)`) joined by one
/// or two of space, dash, dot or slash. Bounded repetitions keep each run short, and the
/// regex crate keeps the scan linear.
static RUN: LazyLock<Regex> = LazyLock::new(|| {
    let group = r"(?:\([0-9]{1,5}\)|[0-9]{1,15})";
    // `+44` or, bracketed, `(+60) `.
    let plus = r"(?:\(\+[0-9]{1,4}\)[ \-.\x{a0}]{0,2}|\+)?";
    Regex::new(&format!(
        r"{plus}{group}(?:[ \-./\x{{a0}}]{{1,2}}{group}|\([0-9]{{1,5}}\)){{0,7}}"
    ))
    .expect("the phone regex is valid")
});

/// One digit group of a run, with its brackets.
static GROUP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\(?[0-9]+\)?").expect("the group regex is valid"));

// Raw confidence: validated against the numbering plan either way; a number without a
// country code also assumes the region.
const CONFIDENCE_INTERNATIONAL: f64 = 0.95;
const CONFIDENCE_NATIONAL: f64 = 0.85;

/// E.164 allows 15 digits; fewer than 7 are extensions or short codes, not numbers to
/// call back.
const MIN_DIGITS: usize = 7;
const MAX_DIGITS: usize = 15;
/// A run of more digits with no separator and no `+` is an identifier (an account or an
/// order number), not a number someone wrote to be dialled.
const MAX_UNSEPARATED_DIGITS: usize = 12;
/// How many windows of one run may be validated: the whole run, shorter ones without its
/// last groups, and without its first. Bounds the work per run whatever the input.
const MAX_TRIES_PER_RUN: usize = 6;
/// How many distinct numbers one text may send to the numbering plan. Validation costs
/// tens of microseconds (much more in a debug build), and an email or a form holds a
/// handful of numbers; a field with hundreds of distinct ones is a table or an attack, and
/// past this many, only numbers already seen in it are found. Repeats (a signature quoted
/// in every message of a thread) are validated once.
const MAX_VALIDATIONS_PER_TEXT: usize = 500;

/// Every phone number in `text` that is valid in its country, in text order.
/// `region` (ISO 3166, `"US"`, `"GB"`, `"MY"`) is where numbers without `+` are read; with
/// none, or an unknown one, only international numbers are found.
pub fn find(text: &str, region: Option<&str>) -> Vec<Match> {
    let region = region.and_then(|r| r.to_ascii_uppercase().parse::<Id>().ok());
    let mut found = Vec::new();
    // Validation result by `+` and digits, which is all it depends on.
    let mut validated: HashMap<String, Option<Match>> = HashMap::new();
    let mut at = 0;
    while let Some(run) = RUN.find_at(text, at) {
        at = run.end();
        if !stands_alone(text, run.start(), run.end()) {
            continue;
        }
        if let Some(m) = read_run(text, run.start(), run.end(), region, &mut validated) {
            at = m.span.end;
            found.push(m);
        }
    }
    found
}

/// The first window of the run `start..end` that is a valid number: the whole run, then
/// without its last groups, then without its first (`Qty 3 415 555 2671`).
fn read_run(
    text: &str,
    start: usize,
    end: usize,
    region: Option<Id>,
    validated: &mut HashMap<String, Option<Match>>,
) -> Option<Match> {
    let run = &text[start..end];
    // Group boundaries within the run, as (start, end) byte offsets into `text`.
    let groups: Vec<(usize, usize)> = GROUP
        .find_iter(run)
        .map(|g| (start + g.start(), start + g.end()))
        .collect();
    // Amounts and dates take precedence (`$4,155,552,671`, `05.03.2024`); looked for only
    // in runs that could hold a phone number, since most runs of digits cannot.
    let mut checked_amount = false;
    let mut dates: Option<Vec<Span>> = None;
    let mut tries = 0;
    for skip in 0..groups.len().min(2) {
        for take in (1..=groups.len() - skip).rev() {
            // The `+` belongs to the first group's window.
            let window_start = if skip == 0 { start } else { groups[skip].0 };
            let window_end = groups[skip + take - 1].1;
            let window = &text[window_start..window_end];
            if !plausible(window) {
                continue;
            }
            if !checked_amount {
                if is_amount(text, start, end) {
                    return None;
                }
                checked_amount = true;
            }
            let dates = dates.get_or_insert_with(|| {
                date::find_dates(run, DateOrder::Dmy)
                    .into_iter()
                    .map(|d| d.span.offset(start))
                    .collect()
            });
            if dates.iter().any(|d| d.start < window_end && window_start < d.end) {
                continue;
            }
            tries += 1;
            if tries > MAX_TRIES_PER_RUN {
                return None;
            }
            let key: String = window
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '+')
                .collect();
            let result = match validated.get(&key) {
                Some(result) => result.clone(),
                None if validated.len() < MAX_VALIDATIONS_PER_TEXT => {
                    let result = validate(&key, region);
                    validated.insert(key, result.clone());
                    result
                }
                None => None,
            };
            if let Some(m) = result {
                return Some(Match {
                    span: Span::new(window_start, window_end),
                    ..m
                });
            }
        }
    }
    None
}

/// An amount, not a number to call: next to a currency (`$4,155,552,671`, `4155552671
/// USD`), or a decimal (`4155552.67`: one dot or comma, then one or two digits).
fn is_amount(text: &str, start: usize, end: usize) -> bool {
    let run = &text[start..end];
    let marks = run.matches(['.', ',']).count();
    let decimal = marks == 1
        && run
            .rsplit(['.', ','])
            .next()
            .is_some_and(|last| (1..=2).contains(&last.len()));
    decimal || money::currency_next_to(text, start, end)
}

/// Normalise one phone value to E.164, reading a number without `+` in `region`.
pub fn parse_phone(s: &str, region: Option<&str>) -> Result<String, NormalizeError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(NormalizeError::Empty);
    }
    let region = match region {
        Some(r) => Some(
            r.to_ascii_uppercase()
                .parse::<Id>()
                .map_err(|_| NormalizeError::UnknownRegion { region: excerpt(r) })?,
        ),
        None => None,
    };
    let error = |reason: &str| NormalizeError::NotAPhone {
        input: excerpt(t),
        reason: reason.to_string(),
    };
    if !t.starts_with('+') && region.is_none() {
        return Err(error(
            "it has no country code (+...) and no default region is set",
        ));
    }
    let number = phonenumber::parse(region, t).map_err(|e| error(&e.to_string()))?;
    if !number.is_valid() {
        return Err(error("the numbering plan of its country has no such number"));
    }
    Ok(e164(&number))
}

/// Not glued to letters, digits or the marks that join the parts of a code
/// (`INV-4155550123`, `#4155550123`, `4155550123_a`).
fn stands_alone(text: &str, start: usize, end: usize) -> bool {
    let before = char_before(text, start);
    let after = char_after(text, end);
    let joins = |c: char| c.is_alphanumeric() || matches!(c, '#' | '_' | '@' | '+');
    if before.is_some_and(joins) || after.is_some_and(joins) {
        return false;
    }
    // `AB-415...`: a dash or slash right after a letter or digit joins a code.
    let joined_before =
        matches!(before, Some('-' | '/')) && char_before(text, start - 1).is_some_and(char::is_alphanumeric);
    let joined_after =
        matches!(after, Some('-' | '/')) && char_after(text, end + 1).is_some_and(char::is_alphanumeric);
    !(joined_before || joined_after)
}

/// Cheap checks before the numbering plan: a number of digits a phone number can have, not
/// a decimal, not an identifier, not a run of single digits.
fn plausible(window: &str) -> bool {
    let digits = window.bytes().filter(u8::is_ascii_digit).count();
    if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits) {
        return false;
    }
    let separators = window
        .chars()
        .filter(|c| !c.is_ascii_digit() && *c != '+')
        .count();
    if separators == 0 && !window.contains('+') && digits > MAX_UNSEPARATED_DIGITS {
        return false;
    }
    // `1234567.89`: one dot and nothing else is a decimal number.
    let only_one_dot = window.matches('.').count() == 1 && separators == 1;
    if only_one_dot {
        return false;
    }
    // `1 2 3 4 5 6 7`: counts or table cells, and the worst case for validation time.
    let single_digit_groups = window
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| g.len() == 1)
        .count();
    single_digit_groups <= 2
}

/// A [`Match`] (without its span) when the numbering plan accepts `digits` (with a
/// leading `+` for an international number; the layout is not needed and is left out).
fn validate(digits: &str, region: Option<Id>) -> Option<Match> {
    let international = digits.starts_with('+');
    if !international && region.is_none() {
        return None;
    }
    let number = phonenumber::parse(if international { None } else { region }, digits).ok()?;
    if !number.is_valid() {
        return None;
    }
    let (confidence, note) = match region {
        Some(region) if !international => (
            CONFIDENCE_NATIONAL,
            Some(format!("read as a national number of {}", region.as_ref())),
        ),
        _ => (CONFIDENCE_INTERNATIONAL, None),
    };
    Some(Match {
        value: e164(&number),
        span: Span::new(0, 0),
        confidence,
        note,
    })
}

fn e164(number: &PhoneNumber) -> String {
    phonenumber::format(number).mode(Mode::E164).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phones(text: &str, region: Option<&str>) -> Vec<(String, String)> {
        find(text, region)
            .into_iter()
            .map(|m| (m.value, text[m.span.start..m.span.end].to_string()))
            .collect()
    }

    #[test]
    fn international_numbers_need_no_region() {
        let text = "Call +1 (415) 555-2671 or +44 (0) 20 7946 0958, (+60) 12-345 6789.";
        let values: Vec<_> = phones(text, None).into_iter().map(|(v, _)| v).collect();
        assert_eq!(values, ["+14155552671", "+442079460958", "+60123456789"]);
        assert_eq!(phones(text, None)[2].1, "(+60) 12-345 6789");
        assert_eq!(phones(text, None)[0].1, "+1 (415) 555-2671");
    }

    #[test]
    fn national_numbers_use_the_default_region() {
        let us = "Office: (415) 555-2671 / 415.555.2671";
        assert_eq!(phones(us, Some("US")).len(), 2);
        assert!(phones(us, Some("US")).iter().all(|(v, _)| v == "+14155552671"));
        assert!(phones(us, None).is_empty());
        let gb = find("Ring 020 7946 0958 today", Some("gb"));
        assert_eq!(gb[0].value, "+442079460958");
        assert!(gb[0].confidence < CONFIDENCE_INTERNATIONAL);
        assert_eq!(gb[0].note.as_deref(), Some("read as a national number of GB"));
        assert_eq!(find("Tel 03-2161 0000", Some("MY"))[0].value, "+60321610000");
        // An unknown region reads no national number, and does not panic.
        assert!(find("(415) 555-2671", Some("ZZ")).is_empty());
    }

    #[test]
    fn dates_money_and_ids_are_not_phone_numbers() {
        for text in [
            "Date 2024-03-05 and 05/03/2024 and 05.03.2024",
            "Total $4,155,552,671 and 4155552671.50 USD",
            "Account 41555526710012345",
            "Order #4155552671",
            "Ref INV-4155552671 and 4155552671-A",
            "Amount 4155552.67",
            "1 2 3 4 5 6 7 8 9",
        ] {
            assert!(
                phones(text, Some("US")).is_empty(),
                "{text}: {:?}",
                phones(text, Some("US"))
            );
        }
    }

    #[test]
    fn numbers_glued_to_a_count_are_still_found() {
        // The run is `3 415 555 2671`; the window without the leading count is the number.
        let found = phones("Qty 3 415 555 2671 ext", Some("US"));
        assert_eq!(found, [("+14155552671".to_string(), "415 555 2671".to_string())]);
    }

    #[test]
    fn parse_phone_reads_one_value_or_says_why_not() {
        assert_eq!(parse_phone("+1 415-555-2671", None).unwrap(), "+14155552671");
        assert_eq!(parse_phone("020 7946 0958", Some("GB")).unwrap(), "+442079460958");
        assert!(
            parse_phone("415 555 2671", None)
                .unwrap_err()
                .to_string()
                .contains("no default region")
        );
        assert_eq!(
            parse_phone("1", Some("XX")),
            Err(NormalizeError::UnknownRegion { region: "XX".into() })
        );
        assert!(parse_phone("+1 555 0000", None).is_err());
        assert_eq!(parse_phone(" ", None), Err(NormalizeError::Empty));
    }
}
