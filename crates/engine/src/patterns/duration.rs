//! Lengths of time as contracts and letters write them: "two (2) years", "24 months",
//! "one year", "a 12-month period", "ninety (90) days". Normalised to an ISO 8601 duration
//! in the unit written (`P2Y`, `P24M`, `P90D`, `P6W`): a term of 24 months is not
//! silently the same as two years to a lawyer, and converting would hide which was meant.
//!
//! Words and figures may both be written ("thirty-six (36) months"); when they disagree
//! ("two (3) years") the value is an error naming both, never one of them picked.

use std::sync::LazyLock;

use regex::Regex;

use super::{Match, NormalizeError, excerpt};
use crate::span::Span;

const UNITS: &str = r"(?:day|week|month|year)s?|(?:day|week|month|year)\(s\)";

/// Number words a duration is written with; "a" and "an" count as one.
const WORDS: [(&str, u32); 28] = [
    ("zero", 0),
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("thirteen", 13),
    ("fourteen", 14),
    ("fifteen", 15),
    ("sixteen", 16),
    ("seventeen", 17),
    ("eighteen", 18),
    ("nineteen", 19),
    ("twenty", 20),
    ("thirty", 30),
    ("forty", 40),
    ("fifty", 50),
    ("sixty", 60),
    ("seventy", 70),
    ("eighty", 80),
    ("ninety", 90),
];

fn word_pattern() -> String {
    let mut words: Vec<&str> = WORDS.iter().map(|w| w.0).collect();
    // Longest first, so "seventeen" is not read as "seven".
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    words.join("|")
}

/// A duration anywhere in prose: number words, a figure in brackets, a figure, then a unit.
static FIND: LazyLock<Regex> = LazyLock::new(|| {
    let w = word_pattern();
    Regex::new(&format!(
        r"(?i)\b(?:(?:{w})(?:[\s-]+(?:{w}))*(?:\s+hundred(?:\s+(?:and\s+)?(?:{w})(?:[\s-]+(?:{w}))?)?)?(?:\s*\(\s*\d{{1,4}}\s*\))?|\d{{1,4}})[\s-]*(?:{UNITS})\b"
    ))
    .expect("the duration regex is valid")
});

/// The whole string as one duration, with an article or "successive" before it allowed.
static WHOLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)^(?:(?:an?|the|successive|additional|further|consecutive|renewal)\s+)*(?P<words>[a-z][a-z\s-]*?)?\s*(?:\(\s*(?P<paren>\d{{1,4}})\s*\)|(?P<digits>\d{{1,4}}))?[\s-]*(?P<unit>{UNITS})(?:\s+(?:period|term)s?)?\.?$"
    ))
    .expect("the duration regex is valid")
});

static ISO: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^P(\d{1,4})([YMWD])$").expect("the duration regex is valid"));

/// The value of number words ("thirty-six", "one hundred twenty"), or `None`.
fn words_value(words: &str) -> Option<u32> {
    let mut total = 0u32;
    let mut current = 0u32;
    let mut any = false;
    for w in words
        .split(|c: char| c.is_whitespace() || c == '-')
        .filter(|w| !w.is_empty())
    {
        let w = w.to_ascii_lowercase();
        match w.as_str() {
            "and" if any => {}
            "hundred" if any => current *= 100,
            "a" | "an" if !any => {
                current = 1;
                any = true;
            }
            _ => {
                let v = WORDS.iter().find(|x| x.0 == w)?.1;
                current += v;
                any = true;
            }
        }
    }
    total += current;
    any.then_some(total)
}

/// The ISO 8601 duration written in `raw`, in the unit written.
pub fn parse_duration(raw: &str) -> Result<String, NormalizeError> {
    let s = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let bad = |reason: &str| NormalizeError::NotADuration {
        input: excerpt(raw),
        reason: reason.to_owned(),
    };
    if s.is_empty() {
        return Err(NormalizeError::Empty);
    }
    // The normalised form reads as itself, so a stored value or a label written in ISO
    // 8601 compares with the text it came from.
    if let Some(c) = ISO.captures(&s) {
        return Ok(format!("P{}{}", &c[1], c[2].to_ascii_uppercase()));
    }
    // Matching first (a fast scan) turns most non-durations away before the captures run.
    let caps = Some(&*WHOLE)
        .filter(|re| re.is_match(&s))
        .and_then(|re| re.captures(&s))
        .ok_or_else(|| bad("expected a number and a unit, such as \"two (2) years\" or \"90 days\""))?;
    let from_words = match caps.name("words").map(|m| m.as_str().trim()) {
        Some(w) if !w.is_empty() => {
            Some(words_value(w).ok_or_else(|| bad("the number is not written in words this reads"))?)
        }
        _ => None,
    };
    let figure = caps
        .name("paren")
        .or(caps.name("digits"))
        .map(|m| m.as_str().parse::<u32>())
        .transpose()
        .map_err(|_| bad("the figure is not a number"))?;
    let n = match (from_words, figure) {
        (Some(a), Some(b)) if a != b => {
            return Err(bad(&format!("the words say {a} and the figure says {b}")));
        }
        (Some(a), _) => a,
        (None, Some(b)) => b,
        (None, None) => return Err(bad("there is no number before the unit")),
    };
    let unit = caps["unit"].to_ascii_lowercase();
    let letter = match unit.chars().next() {
        Some('d') => 'D',
        Some('w') => 'W',
        Some('m') => 'M',
        _ => 'Y',
    };
    Ok(format!("P{n}{letter}"))
}

/// Every duration in `text` that normalises, in text order.
pub fn find(text: &str) -> Vec<Match> {
    FIND.find_iter(text)
        .filter_map(|m| {
            let value = parse_duration(m.as_str()).ok()?;
            Some(Match {
                value,
                span: Span::new(m.start(), m.end()),
                confidence: 0.9,
                note: None,
            })
        })
        .collect()
}

/// Byte ranges in `text` shaped like a duration, whether or not they normalise.
pub(crate) fn shapes(text: &str) -> Vec<(usize, usize)> {
    FIND.find_iter(text).map(|m| (m.start(), m.end())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_normalise_in_the_unit_written() {
        for (raw, want) in [
            ("two (2) years", "P2Y"),
            ("24 months", "P24M"),
            ("one year", "P1Y"),
            ("a one-year period", "P1Y"),
            ("12-month", "P12M"),
            ("thirty-six (36) months", "P36M"),
            ("ninety (90) days", "P90D"),
            ("one hundred twenty (120) days", "P120D"),
            ("successive 1 year", "P1Y"),
            ("six weeks", "P6W"),
            ("1 year(s)", "P1Y"),
            ("P24M", "P24M"),
        ] {
            assert_eq!(parse_duration(raw).as_deref(), Ok(want), "{raw}");
        }
    }

    #[test]
    fn disagreeing_or_missing_numbers_are_errors_that_say_so() {
        let e = parse_duration("two (3) years").unwrap_err().to_string();
        assert!(e.contains("the words say 2 and the figure says 3"), "{e}");
        assert!(parse_duration("years").is_err());
        assert!(parse_duration("the term").is_err());
        assert!(parse_duration("New York").is_err());
    }

    #[test]
    fn durations_are_found_inside_sentences() {
        let text = "This Agreement continues for two (2) years, then renews for successive \
                    one year terms unless either party gives ninety (90) days' notice.";
        let found: Vec<(&str, String)> = find(text)
            .into_iter()
            .map(|m| (&text[m.span.start..m.span.end], m.value))
            .collect();
        assert_eq!(
            found,
            [
                ("two (2) years", "P2Y".to_string()),
                ("one year", "P1Y".to_string()),
                ("ninety (90) days", "P90D".to_string()),
            ]
        );
    }
}
