//! Amounts of money with their currency: a symbol (`$`, `€`, `£`, `¥`, `RM`...) or an
//! ISO 4217 code before or after the amount (`USD 12.50`, `12,50 EUR`), thousands grouped
//! in either convention (`1,234.56`, `1.234,56`, `1 234,56`), negative with a minus sign or
//! in parentheses. Values become [`Money`]: a decimal string and an ISO 4217 code. In a
//! text only amounts with a currency are found (a bare number is [`super::number`]'s);
//! [`parse_money`] also takes a bare amount, since a field already labelled "Total" needs
//! no symbol to be money.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::number::{self, FACTOR_AMBIGUOUS_SEPARATOR, NUMBER, ambiguity_note, read_digits};
use super::{Match, NormalizeError, char_after, char_before, excerpt};
use crate::span::Span;

/// An amount and its currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// A decimal such as `"1234.56"` or `"-12.50"`, decimals as written.
    pub amount: String,
    /// ISO 4217 code, when the text names a currency.
    pub currency: Option<String>,
}

/// `1234.56 USD`, or the bare amount: the form a [`Match`] value takes, which
/// [`parse_money`] reads back.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.currency {
            Some(code) => write!(f, "{} {code}", self.amount),
            None => f.write_str(&self.amount),
        }
    }
}

/// An amount found in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct MoneyMatch {
    pub money: Money,
    pub span: Span,
    pub confidence: f64,
    pub note: Option<String>,
}

/// Symbols that name one currency, and ISO codes. `RMB` is not ISO but is what receipts
/// write for yuan.
const SYMBOLS: &[(&str, &str)] = &[
    ("US$", "USD"),
    ("AU$", "AUD"),
    ("A$", "AUD"),
    ("CA$", "CAD"),
    ("C$", "CAD"),
    ("NZ$", "NZD"),
    ("SG$", "SGD"),
    ("S$", "SGD"),
    ("HK$", "HKD"),
    ("NT$", "TWD"),
    ("MX$", "MXN"),
    ("R$", "BRL"),
    ("€", "EUR"),
    ("£", "GBP"),
    ("₹", "INR"),
    ("₩", "KRW"),
    ("₽", "RUB"),
    ("₺", "TRY"),
    ("₪", "ILS"),
    ("฿", "THB"),
    ("₫", "VND"),
    ("₱", "PHP"),
    ("₦", "NGN"),
    ("₴", "UAH"),
    ("RM", "MYR"),
    ("Rp", "IDR"),
    ("zł", "PLN"),
    ("Kč", "CZK"),
    ("RMB", "CNY"),
];

const ISO_CODES: &[&str] = &[
    "USD", "EUR", "GBP", "JPY", "CNY", "MYR", "SGD", "AUD", "CAD", "NZD", "HKD", "INR", "IDR", "THB", "PHP",
    "VND", "KRW", "TWD", "CHF", "SEK", "NOK", "DKK", "ISK", "PLN", "CZK", "HUF", "RON", "BGN", "RUB", "UAH",
    "TRY", "BRL", "MXN", "ARS", "CLP", "COP", "PEN", "ZAR", "AED", "SAR", "QAR", "KWD", "BHD", "OMR", "ILS",
    "EGP", "NGN", "KES", "PKR", "LKR", "BDT", "NPR", "MAD", "BND",
];

/// `(region, ISO code)` pairs; the first is the most used reading.
type Readings = &'static [(&'static str, &'static str)];

/// Symbols several countries use: the region decides, else the first (most used) reading,
/// with a note.
const SHARED_SYMBOLS: &[(&str, Readings)] = &[
    (
        "$",
        &[
            ("US", "USD"),
            ("CA", "CAD"),
            ("AU", "AUD"),
            ("NZ", "NZD"),
            ("SG", "SGD"),
            ("HK", "HKD"),
            ("MX", "MXN"),
            ("TW", "TWD"),
            ("BN", "BND"),
            ("AR", "ARS"),
            ("CL", "CLP"),
            ("CO", "COP"),
        ],
    ),
    ("¥", &[("JP", "JPY"), ("CN", "CNY")]),
    ("￥", &[("JP", "JPY"), ("CN", "CNY")]),
    (
        "Rs.",
        &[("IN", "INR"), ("PK", "PKR"), ("LK", "LKR"), ("NP", "NPR")],
    ),
    (
        "Rs",
        &[("IN", "INR"), ("PK", "PKR"), ("LK", "LKR"), ("NP", "NPR")],
    ),
];

/// One alternation of every currency token, longest first so that `US$` wins over `$`.
static CURRENCY: LazyLock<String> = LazyLock::new(|| {
    let mut tokens: Vec<&str> = SYMBOLS.iter().map(|(t, _)| *t).collect();
    tokens.extend(ISO_CODES);
    tokens.extend(SHARED_SYMBOLS.iter().map(|(t, _)| *t));
    tokens.sort_by_key(|t| std::cmp::Reverse(t.chars().count()));
    tokens
        .iter()
        .map(|t| regex::escape(t))
        .collect::<Vec<_>>()
        .join("|")
});

/// Currency then amount, or amount then currency, with at most two spaces between; a minus
/// may follow a leading currency (`$-5`). Linear time like every regex here.
static MONEY: LazyLock<Regex> = LazyLock::new(|| {
    let space = r"[ \t\x{a0}\x{202f}]{0,2}";
    let cur = CURRENCY.as_str();
    let pattern = format!(
        r"(?P<pcur>{cur}){space}(?P<psign>[-−]{space})?(?P<pnum>{NUMBER})|(?P<snum>{NUMBER}){space}(?P<scur>{cur})"
    );
    Regex::new(&pattern).expect("the money regex is valid")
});

static WHOLE_CURRENCY: LazyLock<(Regex, Regex)> = LazyLock::new(|| {
    let cur = CURRENCY.as_str();
    let prefix = Regex::new(&format!(r"^(?:{cur})\s*")).expect("the currency prefix regex is valid");
    let suffix = Regex::new(&format!(r"\s*(?:{cur})$")).expect("the currency suffix regex is valid");
    (prefix, suffix)
});

/// A currency just before (with a sign) or just after a span: see [`currency_next_to`].
static CURRENCY_NEXT: LazyLock<(Regex, Regex)> = LazyLock::new(|| {
    let cur = CURRENCY.as_str();
    let space = r"[ \t\x{a0}\x{202f}]{0,2}";
    let before = Regex::new(&format!(r"(?:{cur}){space}[-−]?{space}$")).expect("the currency regex is valid");
    let after = Regex::new(&format!(r"^{space}(?:{cur})")).expect("the currency regex is valid");
    (before, after)
});

// Raw confidence: a written currency and an amount read one way only is as clear as money
// gets; guessing which dollar, or how to read `1,234`, lowers it.
const CONFIDENCE_MONEY: f64 = 0.95;
/// A shared symbol read through the default region: an assumption, but a stated one.
const FACTOR_REGION_CURRENCY: f64 = 0.9;
/// A shared symbol read as its most common currency, with no region to say otherwise.
const FACTOR_GUESSED_CURRENCY: f64 = 0.8;

/// Every amount with a currency in `text`, in text order.
pub fn find_money(text: &str, region: Option<&str>) -> Vec<MoneyMatch> {
    let mut found = Vec::new();
    for caps in MONEY.captures_iter(text) {
        let (Some(whole), Some(cur), Some(num)) = (
            caps.get(0),
            caps.name("pcur").or(caps.name("scur")),
            caps.name("pnum").or(caps.name("snum")),
        ) else {
            continue;
        };
        let (mut start, mut end) = (whole.start(), whole.end());
        // Codes and letter symbols must be whole words (`XRM5`, `5 USDT`), and an amount
        // not the tail of a code (`A12 EUR`) nor part of a longer number (`$3.141.59`).
        let letter = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
        if (cur.as_str().starts_with(char::is_alphabetic)
            && cur.start() == start
            && letter(char_before(text, start)))
            || (cur.as_str().ends_with(char::is_alphabetic)
                && cur.end() == end
                && letter(char_after(text, end)))
            || (num.start() == start && number::glued_before(text, start))
            || (num.end() == end && number::glued_after(text, end))
        {
            continue;
        }
        let mut negative = caps.name("psign").is_some();
        if !negative
            && let Some(sign) = char_before(text, start).filter(|c| matches!(c, '-' | '−'))
            && number::sign_stands_alone(text, start - sign.len_utf8())
        {
            negative = true;
            start -= sign.len_utf8();
        }
        // Accounting negatives: `(1,234.56)` or `($12)`.
        if char_before(text, start) == Some('(') && char_after(text, end) == Some(')') {
            negative = true;
            start -= 1;
            end += 1;
        }
        let Ok(decimal) = read_digits(num.as_str(), negative) else {
            continue;
        };
        let (currency, currency_note, mut confidence) = resolve(cur.as_str(), region);
        let mut notes: Vec<String> = currency_note.into_iter().collect();
        if decimal.ambiguous && !settled_by_currency(num.as_str(), currency) {
            confidence *= FACTOR_AMBIGUOUS_SEPARATOR;
            notes.push(ambiguity_note(num.as_str()));
        }
        found.push(MoneyMatch {
            money: Money {
                amount: decimal.value,
                currency: Some(currency.to_string()),
            },
            span: Span::new(start, end),
            confidence,
            note: (!notes.is_empty()).then(|| notes.join("; ")),
        });
    }
    found
}

/// Every amount with a currency as a [`Match`] whose value is `1234.56 USD`.
pub fn find(text: &str, region: Option<&str>) -> Vec<Match> {
    find_money(text, region)
        .into_iter()
        .map(|m| Match {
            value: m.money.to_string(),
            span: m.span,
            confidence: m.confidence,
            note: m.note,
        })
        .collect()
}

/// Normalise one money value (`"$1,234.56"`, `"12,50 EUR"`, `"(RM 5.00)"`, `"-12"`); a
/// shared symbol such as `$` is read as its most used currency.
pub fn parse_money(s: &str) -> Result<Money, NormalizeError> {
    parse_money_in(s, None)
}

/// [`parse_money`] with a region that decides what `$`, `¥` or `Rs` mean.
pub fn parse_money_in(s: &str, region: Option<&str>) -> Result<Money, NormalizeError> {
    let input = s.trim();
    if input.is_empty() {
        return Err(NormalizeError::Empty);
    }
    let error = |reason: &str| NormalizeError::NotAnAmount {
        input: excerpt(input),
        reason: reason.to_string(),
    };
    let mut rest = input;
    let mut negative = false;
    if let Some(inner) = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        negative = true;
        rest = inner.trim();
    }
    let mut take_sign = |rest: &mut &str| {
        if let Some(r) = rest.strip_prefix(['-', '−']) {
            if negative {
                return Err(error("it is negative twice"));
            }
            negative = true;
            *rest = r.trim_start();
        }
        Ok(())
    };
    take_sign(&mut rest)?;
    let (prefix, suffix) = &*WHOLE_CURRENCY;
    let mut currency = None;
    if let Some(m) = prefix.find(rest) {
        currency = Some(m.as_str().trim());
        rest = &rest[m.end()..];
        take_sign(&mut rest)?;
    }
    if let Some(m) = suffix.find(rest) {
        if currency.is_some() {
            return Err(error("it names two currencies"));
        }
        currency = Some(m.as_str().trim());
        rest = &rest[..m.start()];
    }
    if !rest.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(error("it has no amount"));
    }
    let decimal = read_digits(rest, negative).map_err(|reason| error(&reason))?;
    let currency = currency.map(|token| resolve(token, region).0.to_string());
    Ok(Money {
        amount: decimal.value,
        currency,
    })
}

/// Whether a currency is written right before `start` or right after `end`, so that the
/// digits between are an amount: the phone reader's test, cheaper than finding all money.
pub(super) fn currency_next_to(text: &str, start: usize, end: usize) -> bool {
    const NEAR: usize = 12;
    let mut from = start.saturating_sub(NEAR);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let mut to = (end + NEAR).min(text.len());
    while !text.is_char_boundary(to) {
        to += 1;
    }
    let (before, after) = &*CURRENCY_NEXT;
    before.is_match(&text[from..start]) || after.is_match(&text[end..to])
}

/// Currencies whose amounts are always written with a decimal point (`$1,234` is a
/// thousand dollars), and those always written with a decimal comma (`Rp 15.000` is fifteen
/// thousand rupiah). The euro is in neither: Ireland writes `€1,234.50`, Germany
/// `1.234,50 €`.
const DECIMAL_POINT: &[&str] = &[
    "USD", "GBP", "JPY", "CNY", "INR", "MYR", "SGD", "HKD", "AUD", "NZD", "CAD", "PHP", "THB", "KRW", "TWD",
    "MXN", "ILS", "AED", "SAR", "PKR", "LKR", "NPR", "BDT", "NGN", "KES", "EGP", "BND",
];
const DECIMAL_COMMA: &[&str] = &[
    "IDR", "VND", "BRL", "TRY", "RUB", "UAH", "PLN", "CZK", "HUF", "RON", "BGN", "DKK", "NOK", "SEK", "ISK",
    "ARS", "CLP", "COP",
];

/// A lone `1,234` or `1.234` (read as thousands) whose currency's convention says the
/// separator can only group thousands.
fn settled_by_currency(raw: &str, currency: &str) -> bool {
    (raw.contains(',') && DECIMAL_POINT.contains(&currency))
        || (raw.contains('.') && DECIMAL_COMMA.contains(&currency))
}

/// The ISO code for a currency token, the note when it was a shared symbol, and the raw
/// confidence that follows.
fn resolve(token: &str, region: Option<&str>) -> (&'static str, Option<String>, f64) {
    if let Some((_, code)) = SYMBOLS.iter().find(|(t, _)| *t == token) {
        return (code, None, CONFIDENCE_MONEY);
    }
    if let Some(code) = ISO_CODES.iter().find(|c| **c == token) {
        return (code, None, CONFIDENCE_MONEY);
    }
    let readings = SHARED_SYMBOLS
        .iter()
        .find(|(t, _)| *t == token)
        .map_or(&[][..], |(_, r)| r);
    let region = region.map(str::to_ascii_uppercase);
    let by_region = region
        .as_deref()
        .and_then(|r| readings.iter().find(|(rg, _)| *rg == r));
    match (by_region, readings.first()) {
        (Some((r, code)), _) => (
            code,
            Some(format!("{token} read as {code} for region {r}")),
            CONFIDENCE_MONEY * FACTOR_REGION_CURRENCY,
        ),
        (None, Some((_, code))) => (
            code,
            Some(format!("{token} read as {code}: no region says otherwise")),
            CONFIDENCE_MONEY * FACTOR_GUESSED_CURRENCY,
        ),
        // Unreachable: the regex only matches listed tokens. Say so rather than panic.
        (None, None) => (
            "XXX",
            Some(format!("unknown currency {token}")),
            CONFIDENCE_MONEY * FACTOR_GUESSED_CURRENCY,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str, region: Option<&str>) -> Vec<String> {
        find(text, region).into_iter().map(|m| m.value).collect()
    }

    fn money(amount: &str, currency: &str) -> Money {
        Money {
            amount: amount.into(),
            currency: Some(currency.into()),
        }
    }

    #[test]
    fn finds_symbols_and_codes_before_or_after() {
        let text = "Paid $1,234.56, then USD 12.50 and 12,50 EUR; RM 9.00; 1.234,56 €; 1 234,56 zł; £5; ¥300";
        assert_eq!(
            values(text, None),
            [
                "1234.56 USD",
                "12.50 USD",
                "12.50 EUR",
                "9.00 MYR",
                "1234.56 EUR",
                "1234.56 PLN",
                "5 GBP",
                "300 JPY"
            ]
        );
    }

    #[test]
    fn negatives_with_a_minus_or_parentheses() {
        let text = "Refund -$12.00, credit ($5.50), adj. (1.234,00 EUR), fee $-3 and −€4";
        assert_eq!(
            values(text, None),
            ["-12.00 USD", "-5.50 USD", "-1234.00 EUR", "-3 USD", "-4 EUR"]
        );
        let found = find(text, None);
        assert_eq!(&text[found[1].span.start..found[1].span.end], "($5.50)");
        // A dash between amounts joins them: `$5-$10` is two positive amounts.
        assert_eq!(values("$5-$10", None), ["5 USD", "10 USD"]);
    }

    #[test]
    fn shared_symbols_follow_the_region_and_lower_confidence() {
        let plain = &find("€5", None)[0];
        let region = &find("$5", Some("ca"))[0];
        let guessed = &find("$5", None)[0];
        assert_eq!(region.value, "5 CAD");
        assert_eq!(guessed.value, "5 USD");
        assert!(plain.confidence > region.confidence && region.confidence > guessed.confidence);
        assert!(guessed.note.as_deref().unwrap().contains("no region"));
        assert_eq!(values("¥300", Some("CN")), ["300 CNY"]);
        assert_eq!(values("Rs. 250", Some("PK")), ["250 PKR"]);
        assert_eq!(find("$5", Some("US"))[0].value, "5 USD");
    }

    #[test]
    fn ambiguous_grouping_lowers_confidence() {
        let clear = &find("€1.234,50", None)[0];
        let unclear = &find("€1.234", None)[0];
        assert_eq!(unclear.value, "1234 EUR");
        assert!(unclear.confidence < clear.confidence);
        assert!(unclear.note.as_deref().unwrap().contains("ambiguous"));
        // The currency's convention settles it: dollars use a decimal point, rupiah a comma.
        for text in ["USD 1,000", "Rp 15.000"] {
            let settled = &find(text, None)[0];
            assert_eq!(
                (settled.confidence, settled.note.as_deref()),
                (CONFIDENCE_MONEY, None),
                "{text}"
            );
        }
    }

    #[test]
    fn codes_must_be_whole_words() {
        assert!(values("XRM5 and 5 USDT and ABCUSD 4 and A12 EUR", None).is_empty());
        assert!(values("the total is 12.50", None).is_empty());
        assert!(values("$3.141.59 and 1.2.3 EUR", None).is_empty());
        assert_eq!(values("₹1,00,000", None), ["100000 INR"]);
    }

    #[test]
    fn parse_money_reads_one_value() {
        assert_eq!(parse_money("$1,234.56").unwrap(), money("1234.56", "USD"));
        assert_eq!(parse_money(" 12,50 EUR ").unwrap(), money("12.50", "EUR"));
        assert_eq!(parse_money("(RM 5.00)").unwrap(), money("-5.00", "MYR"));
        assert_eq!(parse_money("USD -12").unwrap(), money("-12", "USD"));
        assert_eq!(parse_money("1234.56 USD").unwrap(), money("1234.56", "USD"));
        assert_eq!(
            parse_money("9.00").unwrap(),
            Money {
                amount: "9.00".into(),
                currency: None
            }
        );
        assert_eq!(parse_money_in("$ 3", Some("AU")).unwrap(), money("3", "AUD"));
        let message = |s: &str| parse_money(s).unwrap_err().to_string();
        assert_eq!(
            message("USD 5 EUR"),
            "\"USD 5 EUR\" is not an amount: it names two currencies"
        );
        assert_eq!(message("USD"), "\"USD\" is not an amount: it has no amount");
        assert!(message("1,23,4 EUR").contains("not thousands"));
        assert!(message("-(5)").contains("no amount"));
        assert_eq!(parse_money(" "), Err(NormalizeError::Empty));
    }

    #[test]
    fn spans_are_exact_in_multibyte_text() {
        let text = "Café — 5 € et 3,20 £ 🙂";
        let found = find(text, None);
        let raw: Vec<_> = found.iter().map(|m| &text[m.span.start..m.span.end]).collect();
        assert_eq!(raw, ["5 €", "3,20 £"]);
        assert_eq!(found[1].value, "3.20 GBP");
    }
}
