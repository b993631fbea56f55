//! Valid calendar dates: the leap-year rule, month lengths, month names and the pivot for
//! two-digit years. A [`Date`] can only be built through [`Date::new`], which says why a
//! day does not exist (`31 April 2024 is not a date: April has 30 days`) rather than roll
//! it over to the next month.
//!
//! This arithmetic is written here rather than taken from jiff or chrono: all it needs is
//! a leap-year rule and a table of month lengths, and a date library would bring time
//! zones and a clock into a crate that must have neither.

use std::fmt;

use super::NormalizeError;

/// A valid calendar date (proleptic Gregorian, years 0 to 9999).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

impl Date {
    /// The date, or an error saying why it does not exist.
    pub fn new(year: u16, month: u32, day: u32) -> Result<Self, NormalizeError> {
        let month = u8::try_from(month)
            .ok()
            .filter(|m| (1..=12).contains(m))
            .ok_or(NormalizeError::NoSuchMonth { month })?;
        let day = u8::try_from(day)
            .ok()
            .filter(|d| *d >= 1 && *d <= days_in_month(year, month))
            .ok_or(NormalizeError::NoSuchDay { year, month, day })?;
        Ok(Self { year, month, day })
    }

    pub fn year(&self) -> u16 {
        self.year
    }

    pub fn month(&self) -> u8 {
        self.month
    }

    pub fn day(&self) -> u8 {
        self.day
    }
}

/// ISO 8601: `2024-03-05`.
impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Two-digit years pivot as in POSIX `strptime("%y")`: 00–68 are 2000–2068 and 69–99 are
/// 1969–1999. Documents with two-digit years are recent, and a fixed pivot (unlike one
/// relative to today) keeps the engine free of a clock.
pub fn expand_two_digit_year(yy: u16) -> u16 {
    if yy <= 68 { 2000 + yy } else { 1900 + yy }
}

pub fn is_leap_year(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

/// Days in `month` (1–12) of `year`; 0 for a month that does not exist.
pub fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// English name of `month` (1–12), for messages.
pub(super) fn month_name(month: u8) -> &'static str {
    usize::from(month)
        .checked_sub(1)
        .and_then(|i| MONTH_NAMES.get(i))
        .copied()
        .unwrap_or("month")
}

/// Why `day` is not a day of `month` in `year`, for [`NormalizeError::NoSuchDay`].
pub(super) fn day_limit(year: u16, month: u8, day: u32) -> String {
    if day == 0 {
        "days start at 1".to_string()
    } else if month == 2 {
        format!("February {year} has {} days", days_in_month(year, month))
    } else {
        format!("{} has {} days", month_name(month), days_in_month(year, month))
    }
}

/// 1–12 for a month name or abbreviation the regex accepted.
pub(super) fn month_number(name: &str) -> u32 {
    let prefix: String = name.chars().take(3).flat_map(char::to_lowercase).collect();
    let index = MONTH_NAMES
        .iter()
        .position(|m| m[..3].eq_ignore_ascii_case(&prefix));
    index.map_or(0, |i| i as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leap_years_follow_the_gregorian_rule() {
        assert!(is_leap_year(2024) && is_leap_year(2000));
        assert!(!is_leap_year(2023) && !is_leap_year(2100));
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(days_in_month(2024, 13), 0);
    }

    #[test]
    fn impossible_days_are_errors_that_say_why() {
        let message = |y, m, d| Date::new(y, m, d).unwrap_err().to_string();
        assert_eq!(
            message(2024, 4, 31),
            "31 April 2024 is not a date: April has 30 days"
        );
        assert_eq!(
            message(2023, 2, 29),
            "29 February 2023 is not a date: February 2023 has 28 days"
        );
        assert_eq!(message(2024, 3, 0), "0 March 2024 is not a date: days start at 1");
        assert_eq!(
            message(2024, 13, 1),
            "month 13 does not exist: months run from 1 to 12"
        );
        assert_eq!(
            message(2024, 0, 1),
            "month 0 does not exist: months run from 1 to 12"
        );
        assert_eq!(
            message(2024, 1, 300),
            "300 January 2024 is not a date: January has 31 days"
        );
        assert_eq!(
            Date::new(2024, 2, 29).map(|d| d.to_string()),
            Ok("2024-02-29".to_string())
        );
    }

    #[test]
    fn month_names_and_abbreviations() {
        assert_eq!(month_number("Sept"), 9);
        assert_eq!(month_number("DECEMBER"), 12);
        assert_eq!(month_number("mar"), 3);
        assert_eq!(month_name(5), "May");
        assert_eq!(month_name(0), "month");
    }

    #[test]
    fn two_digit_years_pivot_at_68() {
        assert_eq!(expand_two_digit_year(68), 2068);
        assert_eq!(expand_two_digit_year(69), 1969);
        assert_eq!(expand_two_digit_year(0), 2000);
    }
}
