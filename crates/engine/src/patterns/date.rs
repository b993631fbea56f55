//! Calendar dates in the forms people write them (`2024-03-05`, `05/03/2024`, `3/5/24`,
//! `05.03.2024`, `5 March 2024`, `March 5, 2024`, `Mar 5 2024`, `5-Mar-24`, `05MAR2024`,
//! `20240305`, `25032018`), normalised to ISO 8601 `YYYY-MM-DD`. A numeric date such as `05/03/2024`
//! is read in the automation's [`DateOrder`]; when the other order gives a different valid
//! date too, the reading is flagged ambiguous and its confidence lowered. A date that does
//! not exist (`2023-02-30`, `31/04/2024`, month 13) is an error that says why, never
//! shifted to a nearby day.
//! Which dates exist is [`super::calendar`]'s to say.

use std::sync::LazyLock;

use regex::{Captures, Regex};
use serde::{Deserialize, Serialize};

use super::calendar::{Date, expand_two_digit_year, month_number};
use super::{Match, NormalizeError, char_after, char_before, excerpt};
use crate::span::Span;

/// Which reading to prefer for a numeric date whose parts could be day or month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateOrder {
    /// `05/03/2024` is 5 March: most of the world, so the default.
    #[default]
    Dmy,
    /// `05/03/2024` is May 3: the United States.
    Mdy,
    /// `24/03/05` is 2024-03-05 (East Asia). A numeric date whose year is written last
    /// (`05/03/2024`) cannot be year first, and is read day first.
    Ymd,
}

/// How a date was written; the form decides the raw confidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DateForm {
    /// Year first with separators: `2024-03-05`.
    YearFirst,
    /// Day, month and year as numbers: `05/03/2024`.
    Numeric,
    /// With a month name: `5 March 2024`, `Mar 5, 2024`, `05MAR2024`.
    MonthName,
    /// Eight digits: `20240305`, `25032018`. Could as well be an identifier.
    Compact,
}

/// A date read from text, with what a reviewer should know about the reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateReading {
    pub date: Date,
    /// The order the date was read in (numeric forms may fall back from the preferred one).
    pub order: DateOrder,
    /// Another valid date the same text reads as in a different order: `Some` is the
    /// "ambiguous" flag.
    pub alternative: Option<Date>,
    /// The year was written with two digits and expanded by [`expand_two_digit_year`].
    pub two_digit_year: bool,
    pub form: DateForm,
}

impl DateReading {
    pub fn is_ambiguous(&self) -> bool {
        self.alternative.is_some()
    }
}

/// A date found in a text: where, and how it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateMatch {
    pub span: Span,
    pub reading: DateReading,
}

/// Month names and their usual abbreviations (`Sept` included), any case.
const MONTH: &str = r"(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";

/// All forms in one regex, so a text is scanned once. Separator runs are bounded and the
/// regex crate matches in linear time, so no input can make this slow.
static DATE: LazyLock<Regex> = LazyLock::new(|| {
    let pattern = [
        // 2024-03-05, 2024/3/5, 2024.03.05
        r"(?P<iy>[0-9]{4})(?P<is1>[-/.])(?P<im>[0-9]{1,2})(?P<is2>[-/.])(?P<id>[0-9]{1,2})",
        // 05/03/2024, 3/5/24, 05.03.2024, 24-03-05
        r"|(?P<a>[0-9]{1,2})(?P<s1>[-/.])(?P<b>[0-9]{1,2})(?P<s2>[-/.])(?P<c>[0-9]{4}|[0-9]{2})",
        // 5 March 2024, 5th of March, 2024, 5-Mar-24, 05MAR2024
        r"|(?P<dd>[0-9]{1,2})(?i:st|nd|rd|th)?[ \-/.]{0,3}(?i:of )?(?P<dm>MONTH)\.?[ \-/.,]{0,3}(?P<dy>[0-9]{4}|[0-9]{2})",
        // March 5, 2024, Mar 5 2024, Mar. 5th, 2024: four-digit year only, since
        // "Mar 5 12" is more often a count than a date
        r"|(?P<mm>MONTH)\.?[ \-/]{0,3}(?P<md>[0-9]{1,2})(?i:st|nd|rd|th)?(?:,[ ]{0,3}|[ ]{1,3})(?P<my>[0-9]{4})",
        // 20240305: years 1900-2099 only, the rest are more likely identifiers
        r"|(?P<cy>(?:19|20)[0-9]{2})(?P<cm>0[1-9]|1[0-2])(?P<cd>0[1-9]|[12][0-9]|3[01])",
        // 25032018: day and month first (read in the preferred order) when the digits are
        // not year first
        r"|(?P<xa>[0-9]{2})(?P<xb>[0-9]{2})(?P<xc>(?:19|20)[0-9]{2})",
    ]
    .concat()
    .replace("MONTH", MONTH);
    Regex::new(&pattern).expect("the date regex is valid")
});

/// A leading weekday and a trailing time around a single date value, which
/// [`parse_date`] accepts and ignores.
static DATE_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?(?P<date>.+?)(?:(?:T|\s+)[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:\s?[ap]\.?m\.?)?(?:\s?(?:Z|[+-][0-9]{2}:?[0-9]{2}))?)?[.,]?$",
    )
    .expect("the date value regex is valid")
});

// Raw confidence by form (see the module documentation of `patterns`): a month name or a
// year written first cannot be misread; a numeric date relies on the order; eight bare
// digits may be an identifier.
const CONFIDENCE_UNMISTAKABLE: f64 = 0.95;
const CONFIDENCE_NUMERIC: f64 = 0.9;
const CONFIDENCE_COMPACT: f64 = 0.7;
/// Another valid reading exists: roughly a coin toss without the automation's context.
const FACTOR_AMBIGUOUS: f64 = 0.6;
/// The century was assumed.
const FACTOR_TWO_DIGIT_YEAR: f64 = 0.9;

/// Every date in `text`, in text order, with the reading behind it.
pub fn find_dates(text: &str, order: DateOrder) -> Vec<DateMatch> {
    DATE.captures_iter(text)
        .filter_map(|caps| {
            let whole = caps.get(0)?;
            let compact = caps.name("cy").is_some() || caps.name("xa").is_some();
            if !stands_alone(text, whole.start(), whole.end(), compact) {
                return None;
            }
            let reading = read(&caps, order).ok()?;
            Some(DateMatch {
                span: Span::new(whole.start(), whole.end()),
                reading,
            })
        })
        .collect()
}

/// Every date in `text` as a [`Match`] whose value is `YYYY-MM-DD`. Dates that do not
/// exist are not matches.
pub fn find(text: &str, order: DateOrder) -> Vec<Match> {
    find_dates(text, order)
        .into_iter()
        .map(|m| {
            let (confidence, note) = confidence(&m.reading, order);
            Match {
                value: m.reading.date.to_string(),
                span: m.span,
                confidence,
                note,
            }
        })
        .collect()
}

/// Normalise one date value; see [`read_date`].
pub fn parse_date(s: &str, order: DateOrder) -> Result<Date, NormalizeError> {
    read_date(s, order).map(|reading| reading.date)
}

/// Read one date value (a whole field, optionally with a weekday before it and a time after
/// it), saying whether it was ambiguous. A date that does not exist is an error that names
/// the problem.
pub fn read_date(s: &str, order: DateOrder) -> Result<DateReading, NormalizeError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(NormalizeError::Empty);
    }
    // `(06/12/2016)`, `[2024-03-05]`: brackets around the whole value.
    let s = [('(', ')'), ('[', ']')]
        .iter()
        .find_map(|&(open, close)| s.strip_prefix(open)?.strip_suffix(close))
        .map_or(s, str::trim);
    let not_a_date = || NormalizeError::NotADate { input: excerpt(s) };
    // The date must match `DATE` somewhere in `s`; finding (no captures) is a fast scan,
    // and most of what candidate generation asks about (every gram of a document that has
    // a digit) is turned away here before the capturing regexes run.
    if !DATE.is_match(s) {
        return Err(not_a_date());
    }
    let date = DATE_VALUE
        .captures(s)
        .and_then(|c| c.name("date"))
        .ok_or_else(not_a_date)?;
    let caps = DATE.captures(date.as_str()).ok_or_else(not_a_date)?;
    let whole = caps.get(0).ok_or_else(not_a_date)?;
    if whole.start() != 0 || whole.end() != date.as_str().len() {
        return Err(not_a_date());
    }
    read(&caps, order).map_err(|e| match e {
        // The separators disagree (05/03-2024): say the value is not a date.
        ReadError::Mixed => not_a_date(),
        ReadError::Invalid(e) => e,
    })
}

/// A match must not be glued to letters or digits, nor be part of a longer dotted or
/// dashed number (`1.05.03.2024`, a version or an address).
fn stands_alone(text: &str, start: usize, end: usize, compact: bool) -> bool {
    let before = char_before(text, start);
    let after = char_after(text, end);
    // A letter right after a year is OCR or layout glue (`21/05/2018TIME:`), but eight
    // bare digits followed by letters are a code.
    let glued_after = after.is_some_and(|c| c.is_numeric() || (compact && c.is_alphanumeric()));
    if before.is_some_and(char::is_alphanumeric) || glued_after {
        return false;
    }
    let is_sep = |c: Option<char>| matches!(c, Some('-' | '/' | '.'));
    let digit_before = is_sep(before) && char_before(text, start - 1).is_some_and(|c| c.is_ascii_digit());
    let digit_after = is_sep(after) && char_after(text, end + 1).is_some_and(|c| c.is_ascii_digit());
    !(digit_before || digit_after)
}

enum ReadError {
    Mixed,
    Invalid(NormalizeError),
}

impl From<NormalizeError> for ReadError {
    fn from(e: NormalizeError) -> Self {
        Self::Invalid(e)
    }
}

/// The date one regex match stands for.
fn read(caps: &Captures<'_>, order: DateOrder) -> Result<DateReading, ReadError> {
    let text = |name: &str| caps.name(name).map_or("", |m| m.as_str());
    let num = |name: &str| text(name).parse::<u32>().unwrap_or(0);
    // Forms other than `a/b/c` have one reading; `order` records how it was written.
    let single = |date, order, two_digit_year, form| DateReading {
        date,
        order,
        alternative: None,
        two_digit_year,
        form,
    };
    if caps.name("iy").is_some() {
        if text("is1") != text("is2") {
            return Err(ReadError::Mixed);
        }
        let date = Date::new(year(text("iy")), num("im"), num("id"))?;
        Ok(single(date, DateOrder::Ymd, false, DateForm::YearFirst))
    } else if caps.name("a").is_some() {
        if text("s1") != text("s2") {
            return Err(ReadError::Mixed);
        }
        Ok(read_numeric(text("a"), text("b"), text("c"), order)?)
    } else if let Some(m) = caps.name("dm") {
        let date = Date::new(year(text("dy")), month_number(m.as_str()), num("dd"))?;
        Ok(single(
            date,
            DateOrder::Dmy,
            text("dy").len() == 2,
            DateForm::MonthName,
        ))
    } else if let Some(m) = caps.name("mm") {
        let date = Date::new(year(text("my")), month_number(m.as_str()), num("md"))?;
        Ok(single(date, DateOrder::Mdy, false, DateForm::MonthName))
    } else if caps.name("xa").is_some() {
        let reading = read_numeric(text("xa"), text("xb"), text("xc"), order)?;
        Ok(DateReading {
            form: DateForm::Compact,
            ..reading
        })
    } else {
        let date = Date::new(year(text("cy")), num("cm"), num("cd"))?;
        Ok(single(date, DateOrder::Ymd, false, DateForm::Compact))
    }
}

/// `a/b/c` with `c` the year (two or four digits), or with `a` the year when all three have
/// two digits and the order is year first. The preferred reading wins when it is a date;
/// otherwise the first other reading that is; the first error is kept for the message.
fn read_numeric(a: &str, b: &str, c: &str, order: DateOrder) -> Result<DateReading, NormalizeError> {
    let n = |s: &str| s.parse::<u32>().unwrap_or(0);
    let two_digit_year = c.len() == 2;
    let dmy = (DateOrder::Dmy, year(c), n(b), n(a));
    let mdy = (DateOrder::Mdy, year(c), n(a), n(b));
    let year_first = a.len() == 2 && c.len() == 2;
    let ymd = (DateOrder::Ymd, year(a), n(b), n(c));
    let readings: &[_] = match (order, year_first) {
        (DateOrder::Dmy, true) => &[dmy, mdy, ymd],
        (DateOrder::Mdy, true) => &[mdy, dmy, ymd],
        (DateOrder::Ymd, true) => &[ymd, dmy, mdy],
        (DateOrder::Dmy | DateOrder::Ymd, false) => &[dmy, mdy],
        (DateOrder::Mdy, false) => &[mdy, dmy],
    };
    let mut first_error = None;
    let mut valid = Vec::with_capacity(3);
    for &(order, y, m, d) in readings {
        match Date::new(y, m, d) {
            Ok(date) => valid.push((order, date)),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let Some(&(order, date)) = valid.first() else {
        return Err(first_error.unwrap_or(NormalizeError::NotADate {
            input: format!("{a}/{b}/{c}"),
        }));
    };
    let alternative = valid.iter().map(|&(_, other)| other).find(|other| *other != date);
    Ok(DateReading {
        date,
        order,
        alternative,
        two_digit_year,
        form: DateForm::Numeric,
    })
}

/// A year of two or four digits (the regex allows no other length).
fn year(digits: &str) -> u16 {
    let value = digits.parse::<u16>().unwrap_or(0);
    if digits.len() == 2 {
        expand_two_digit_year(value)
    } else {
        value
    }
}

/// Raw confidence and the note for a reviewer.
fn confidence(reading: &DateReading, preferred: DateOrder) -> (f64, Option<String>) {
    let mut confidence = match reading.form {
        DateForm::YearFirst | DateForm::MonthName => CONFIDENCE_UNMISTAKABLE,
        DateForm::Numeric => CONFIDENCE_NUMERIC,
        DateForm::Compact => CONFIDENCE_COMPACT,
    };
    let mut notes = Vec::new();
    if let Some(other) = reading.alternative {
        confidence *= FACTOR_AMBIGUOUS;
        notes.push(format!("ambiguous: also reads as {other}"));
    }
    if reading.two_digit_year {
        confidence *= FACTOR_TWO_DIGIT_YEAR;
        notes.push(format!("two-digit year read as {}", reading.date.year()));
    }
    let order = match reading.order {
        DateOrder::Ymd => "year, month, day",
        DateOrder::Dmy => "day, month, year",
        DateOrder::Mdy => "month, day, year",
    };
    if reading.form == DateForm::Compact {
        notes.push(format!("eight digits read as {order}"));
    }
    // `12/31/2024` in a day-first automation: only the other order gives a date. Not an
    // ambiguity, but worth a reviewer's glance.
    let numeric = matches!(reading.form, DateForm::Numeric | DateForm::Compact);
    if numeric
        && reading.order != DateOrder::Ymd
        && (reading.order == DateOrder::Mdy) != (preferred == DateOrder::Mdy)
    {
        notes.push(format!("read as {order}: the preferred order gives no date"));
    }
    let note = (!notes.is_empty()).then(|| notes.join("; "));
    (confidence, note)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dates(text: &str, order: DateOrder) -> Vec<String> {
        find(text, order).into_iter().map(|m| m.value).collect()
    }

    #[test]
    fn reads_every_documented_form() {
        for text in [
            "2024-03-05",
            "05/03/2024",
            "05.03.2024",
            "5 March 2024",
            "March 5, 2024",
            "Mar 5 2024",
            "5-Mar-24",
            "05MAR2024",
            "20240305",
            "5th of March, 2024",
            "Tue, 5 Mar. 2024",
            "Sept 5, 2024",
        ] {
            let expected = if text.starts_with("Sept") {
                "2024-09-05"
            } else {
                "2024-03-05"
            };
            assert_eq!(dates(text, DateOrder::Dmy), [expected], "{text}");
        }
        assert_eq!(dates("3/5/24", DateOrder::Mdy), ["2024-03-05"]);
    }

    #[test]
    fn order_decides_numeric_dates_and_flags_ambiguity() {
        let dmy = read_date("05/03/2024", DateOrder::Dmy).unwrap();
        assert_eq!(dmy.date.to_string(), "2024-03-05");
        assert_eq!(
            dmy.alternative.map(|d| d.to_string()).as_deref(),
            Some("2024-05-03")
        );
        let mdy = read_date("05/03/2024", DateOrder::Mdy).unwrap();
        assert_eq!(mdy.date.to_string(), "2024-05-03");
        assert!(mdy.is_ambiguous());
        // Same day either way: not ambiguous.
        assert!(!read_date("03/03/2024", DateOrder::Dmy).unwrap().is_ambiguous());
        // Only one reading is a date: that one, not ambiguous.
        let only = read_date("13/05/2024", DateOrder::Mdy).unwrap();
        assert_eq!(
            (only.date.to_string(), only.order),
            ("2024-05-13".into(), DateOrder::Dmy)
        );
        assert!(!only.is_ambiguous());
        let note = find("13/05/2024", DateOrder::Mdy).remove(0).note;
        assert_eq!(
            note.as_deref(),
            Some("read as day, month, year: the preferred order gives no date")
        );
        let ymd = read_date("24/03/05", DateOrder::Ymd).unwrap();
        assert_eq!(ymd.date.to_string(), "2024-03-05");
        assert_eq!(
            parse_date("05/03/2024", DateOrder::Ymd).unwrap().to_string(),
            "2024-03-05"
        );
    }

    #[test]
    fn ambiguity_and_short_years_lower_confidence() {
        let clear = &find("5 March 2024", DateOrder::Dmy)[0];
        let numeric = &find("13/03/2024", DateOrder::Dmy)[0];
        let ambiguous = &find("05/03/2024", DateOrder::Dmy)[0];
        let short = &find("05/03/24", DateOrder::Dmy)[0];
        assert!(clear.confidence > numeric.confidence);
        assert!(numeric.confidence > ambiguous.confidence);
        assert!(ambiguous.confidence > short.confidence);
        assert!(ambiguous.note.as_deref().unwrap().contains("2024-05-03"));
    }

    #[test]
    fn impossible_dates_are_errors_that_say_why() {
        let message = |s: &str| parse_date(s, DateOrder::Dmy).unwrap_err().to_string();
        for (input, expected) in [
            ("31/04/2024", "31 April 2024 is not a date: April has 30 days"),
            (
                "2023-02-29",
                "29 February 2023 is not a date: February 2023 has 28 days",
            ),
            (
                "30 Feb 2024",
                "30 February 2024 is not a date: February 2024 has 29 days",
            ),
            ("2024-13-01", "month 13 does not exist: months run from 1 to 12"),
            ("13/13/2024", "month 13 does not exist: months run from 1 to 12"),
            ("00/03/2024", "0 March 2024 is not a date: days start at 1"),
        ] {
            assert_eq!(message(input), expected);
        }
        assert!(message("next Tuesday").contains("is not a date"));
        assert!(message("05/03-2024").contains("is not a date"));
        assert_eq!(parse_date("  ", DateOrder::Dmy), Err(NormalizeError::Empty));
        // Not found in text either, never shifted to 1 May.
        assert!(find("due 31/04/2024", DateOrder::Dmy).is_empty());
    }

    #[test]
    fn two_digit_years_use_the_pivot() {
        assert_eq!(parse_date("1-Jan-68", DateOrder::Dmy).map(|d| d.year()), Ok(2068));
        assert_eq!(parse_date("1-Jan-69", DateOrder::Dmy).map(|d| d.year()), Ok(1969));
    }

    #[test]
    fn eight_digits_read_year_first_else_in_the_preferred_order() {
        assert_eq!(dates("on 25032018.", DateOrder::Dmy), ["2018-03-25"]);
        assert_eq!(dates("on 03252018.", DateOrder::Mdy), ["2018-03-25"]);
        let ambiguous = &find("01022024", DateOrder::Dmy)[0];
        assert_eq!(ambiguous.value, "2024-02-01");
        assert!(
            ambiguous
                .note
                .as_deref()
                .is_some_and(|n| n.contains("also reads as 2024-01-02"))
        );
        assert!(ambiguous.confidence < CONFIDENCE_COMPACT);
        assert!(dates("20240305ABC 05032024X", DateOrder::Dmy).is_empty());
    }

    #[test]
    fn letters_may_follow_a_year_but_not_precede_a_date() {
        assert_eq!(dates("21/05/2018TIME: 12:00", DateOrder::Dmy), ["2018-05-21"]);
        assert!(dates("REF21/05/2018", DateOrder::Dmy).is_empty());
    }

    #[test]
    fn parse_date_accepts_brackets_a_weekday_and_a_time() {
        for s in [
            "(05/03/2024)",
            "[ 2024-03-05 ]",
            "Tuesday, 5 March 2024",
            "2024-03-05T10:30:00Z",
            "05/03/2024 10:30 pm",
            "5 Mar 2024.",
        ] {
            assert_eq!(
                parse_date(s, DateOrder::Dmy).map(|d| d.to_string()),
                Ok("2024-03-05".into()),
                "{s}"
            );
        }
        assert!(parse_date("5 March 2024 and more", DateOrder::Dmy).is_err());
    }

    #[test]
    fn numbers_that_are_not_dates_are_ignored() {
        for text in [
            "version 1.05.03.2024",
            "ip 10.1.12.3",
            "INV05032024",
            "2024030512",
            "order 123/05/2024",
            "Marketing 5 2024",
            "Grammar 5, 2024",
            "Mar 5 12 items",
            "19991399",
        ] {
            assert!(
                dates(text, DateOrder::Dmy).is_empty(),
                "{text}: {:?}",
                dates(text, DateOrder::Dmy)
            );
        }
    }

    #[test]
    fn spans_are_the_raw_text_in_order() {
        let text = "Réf: café, livré le 5 mars? Non: 05.03.2024 — puis March 7, 2024.";
        let found = find(text, DateOrder::Dmy);
        let raw: Vec<_> = found.iter().map(|m| &text[m.span.start..m.span.end]).collect();
        assert_eq!(raw, ["05.03.2024", "March 7, 2024"]);
    }
}
