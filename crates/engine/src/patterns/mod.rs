//! Built-in pattern extractors: email addresses, phone numbers, URLs, money, dates, plain
//! numbers and `Label: value` pairs, found in an item's text without any training. Each
//! extractor lives in its own file and returns [`Match`]es in text order, whose spans are
//! the exact raw evidence in the input and whose values are normalised (E.164, ISO 8601,
//! a decimal string...). [`find`] picks the extractor for a [`FieldKind`].
//!
//! # Raw confidence
//!
//! Every match carries a raw confidence in `[0, 1]` that says how unambiguous the match is,
//! never how often it was right on some data set: calibration on reviewed items (see
//! [`crate::calibration`]) turns it into a probability later. So the numbers are a small,
//! fixed scale, the same for every automation, and only ever lowered by a reason a person
//! could name:
//!
//! - a strict syntax that was validated (an email address, a phone number that the
//!   numbering plan accepts, a date with a month name) starts near the top (0.95);
//! - an assumption the text does not state lowers it: a national phone number read in the
//!   default region, a `$` whose country is guessed, a `www.` link with no scheme, a value
//!   found on the line after its label;
//! - an ambiguity lowers it most: a numeric date that also reads as another valid date, a
//!   `1,234` that may be one thousand or one point two, an 8-digit run that may be an ID.
//!
//! Factors multiply, so the scale is monotone: more doubt never raises a confidence.
//!
//! # Input
//!
//! Item text is untrusted. Any string is accepted and none makes an extractor panic; every
//! regex is compiled once and runs in linear time, and work per line or per digit run is
//! bounded, so a 1 MB field costs about what a thousand short ones do. Digits are ASCII
//! digits: numbers written in other scripts' digits are not read.

pub mod calendar;
pub mod date;
pub mod duration;
pub mod email;
pub mod label;
pub mod money;
pub mod number;
pub mod phone;
pub mod url;

use serde::{Deserialize, Serialize};

use crate::field::FieldKind;
use crate::span::Span;

pub use calendar::Date;
pub use date::{DateOrder, parse_date};
pub use money::{Money, parse_money};

/// One value found in a text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    /// The normalised value (`+14155550123`, `2024-03-05`, `1234.56`...).
    pub value: String,
    /// The evidence: the raw text of the value in the input, as byte offsets.
    pub span: Span,
    /// Raw confidence in `[0, 1]`; see the module documentation for its basis.
    pub confidence: f64,
    /// Why the confidence was lowered, or how the value was read, in words for a reviewer.
    pub note: Option<String>,
}

/// Settings that change how ambiguous text is read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PatternOptions {
    /// ISO 3166 region (`"US"`, `"GB"`, `"MY"`) for national phone numbers and for currency
    /// symbols shared by several countries (`$`, `¥`, `Rs`). `None` means: only numbers
    /// written with `+` are phone numbers, and `$` is read as US dollars with a note.
    pub default_region: Option<String>,
    /// How to read `05/03/2024`; day first unless the automation says otherwise.
    pub date_order: DateOrder,
}

/// Why a single string could not be normalised. Every message names the value and what is
/// wrong with it, so it can be shown to a reviewer as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormalizeError {
    #[error("the value is empty")]
    Empty,
    #[error("month {month} does not exist: months run from 1 to 12")]
    NoSuchMonth { month: u32 },
    #[error(
        "{day} {} {year} is not a date: {}",
        calendar::month_name(*.month),
        calendar::day_limit(*.year, *.month, *.day)
    )]
    NoSuchDay { year: u16, month: u8, day: u32 },
    #[error("\"{input}\" is not a date in a known form (such as 2024-03-05, 5 March 2024 or 05/03/2024)")]
    NotADate { input: String },
    #[error("\"{input}\" is not an amount: {reason}")]
    NotAnAmount { input: String, reason: String },
    #[error("\"{input}\" is not a number: {reason}")]
    NotANumber { input: String, reason: String },
    #[error("\"{input}\" is not an email address: {reason}")]
    NotAnEmail { input: String, reason: String },
    #[error("\"{input}\" is not a phone number: {reason}")]
    NotAPhone { input: String, reason: String },
    #[error("\"{input}\" is not a length of time: {reason}")]
    NotADuration { input: String, reason: String },
    #[error("\"{input}\" is not a URL: {reason}")]
    NotAUrl { input: String, reason: String },
    #[error("\"{region}\" is not a known region: use an ISO 3166 code such as US, GB or MY")]
    UnknownRegion { region: String },
}

/// Every match of `kind` in `text`, in text order. Kinds without a fixed shape (text,
/// multiline text, identifiers) have no pattern and give no match: the learned extractor
/// finds those.
pub fn find(kind: FieldKind, text: &str, opts: &PatternOptions) -> Vec<Match> {
    let region = opts.default_region.as_deref();
    match kind {
        FieldKind::Email => email::find(text),
        FieldKind::Phone => phone::find(text, region),
        FieldKind::Url => url::find(text),
        FieldKind::Money => money::find(text, region),
        FieldKind::Date => date::find(text, opts.date_order),
        FieldKind::Number => number::find(text, opts.date_order),
        FieldKind::Duration => duration::find(text),
        FieldKind::Text | FieldKind::MultilineText | FieldKind::Identifier => Vec::new(),
    }
}

/// The value written after the first label in `text` that matches one of `aliases`
/// (`["invoice no", "invoice number", "inv #"]`); see [`label`].
pub fn label_value(text: &str, aliases: &[&str]) -> Option<Match> {
    label::value_for(text, aliases)
}

/// The character just before byte `at`, if any. `at` must be a char boundary, which every
/// regex match offset is.
fn char_before(text: &str, at: usize) -> Option<char> {
    text.get(..at).and_then(|s| s.chars().next_back())
}

/// The character starting at byte `at`, if any.
fn char_after(text: &str, at: usize) -> Option<char> {
    text.get(at..).and_then(|s| s.chars().next())
}

/// At most the first 40 characters of `input`, for error messages: a 1 MB value must not
/// become a 1 MB message.
fn excerpt(input: &str) -> String {
    const MAX_CHARS: usize = 40;
    let mut chars = input.char_indices();
    match chars.nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &input[..cut]),
        None => input.to_string(),
    }
}

#[cfg(test)]
mod tests;
