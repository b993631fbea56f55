//! Email addresses, normalised by trimming and lower-casing the domain (the local part is
//! kept as written: RFC 5321 lets a server treat `Bob` and `bob` as different mailboxes).
//! The syntax accepted is the common subset of RFC 5322 that people write in text, not
//! the full grammar: quoted local parts and comments are left out because they are rarer
//! in real mail than the false matches they would bring (`"a@b"` in code samples, `(c)`).
//! Internationalised (non-ASCII) addresses are not found yet.

use std::sync::LazyLock;

use regex::Regex;

use super::{Match, NormalizeError, char_after, char_before, excerpt};
use crate::span::Span;

/// Local part, `@`, and at least two dot-separated domain labels that start and end with a
/// letter or digit. A trailing dot (end of a sentence) is left out by the label rule.
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)+")
        .expect("the email regex is valid")
});

// Raw confidence: the syntax is strict and checked, so a match is an address; whether it
// is the right party's address is for calibration to learn.
const CONFIDENCE_EMAIL: f64 = 0.95;

/// Every email address in `text`, in text order.
pub fn find(text: &str) -> Vec<Match> {
    EMAIL
        .find_iter(text)
        .filter_map(|m| {
            // A local part may not start with a dot; leave leading dots of `...bob@x.com`
            // out of the evidence rather than drop the address.
            let lead = m.as_str().len() - m.as_str().trim_start_matches('.').len();
            let raw = &m.as_str()[lead..];
            // Glued to letters the regex does not take (`jöhn@x.com`, `bob@mail.exämple.com`)
            // or to `_`, `-`, `@`: the address goes on in a way we cannot read, and a cut
            // piece of it would be a wrong address.
            let glued = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '@');
            if char_before(text, m.start()).is_some_and(glued) || char_after(text, m.end()).is_some_and(glued)
            {
                return None;
            }
            let value = normalise(raw).ok()?;
            let span = Span::new(m.start() + lead, m.end());
            Some(Match {
                value,
                span,
                confidence: CONFIDENCE_EMAIL,
                note: None,
            })
        })
        .collect()
}

/// Normalise one email value (`" Bob@Example.COM "` becomes `Bob@example.com`), or say what
/// is wrong with it.
pub fn parse_email(s: &str) -> Result<String, NormalizeError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(NormalizeError::Empty);
    }
    let t = t.strip_prefix("mailto:").unwrap_or(t);
    let whole = EMAIL.find(t).filter(|m| m.start() == 0 && m.end() == t.len());
    match whole {
        Some(_) => normalise(t),
        None if !t.contains('@') => Err(error(t, "it has no @")),
        None => Err(error(t, "it has characters an address cannot have, or no domain")),
    }
}

/// Check the limits the regex does not, and lower-case the domain.
fn normalise(raw: &str) -> Result<String, NormalizeError> {
    let (local, domain) = raw.rsplit_once('@').ok_or_else(|| error(raw, "it has no @"))?;
    if local.is_empty() || local.len() > 64 {
        return Err(error(raw, "the part before @ must have 1 to 64 characters"));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(error(raw, "the part before @ has a misplaced dot"));
    }
    if domain.len() > 253 || domain.split('.').any(|label| label.len() > 63) {
        return Err(error(raw, "the domain is too long"));
    }
    // A top-level domain is letters (or punycode `xn--`): `bob@10.0.0.1` and `v1.2@3.4` are
    // not what people mean by an address in text.
    let tld = domain.rsplit('.').next().unwrap_or("");
    let tld_ok = tld.len() >= 2 && (tld.bytes().all(|b| b.is_ascii_alphabetic()) || tld.starts_with("xn--"));
    if !tld_ok {
        return Err(error(raw, "the domain does not end in a top-level domain"));
    }
    Ok(format!("{local}@{}", domain.to_ascii_lowercase()))
}

fn error(input: &str, reason: &str) -> NormalizeError {
    NormalizeError::NotAnEmail {
        input: excerpt(input),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emails(text: &str) -> Vec<String> {
        find(text).into_iter().map(|m| m.value).collect()
    }

    #[test]
    fn finds_addresses_and_lowercases_the_domain() {
        let text = "Write to Jane.Doe+invoices@Example.CO.UK, or ops@acme.io.";
        assert_eq!(emails(text), ["Jane.Doe+invoices@example.co.uk", "ops@acme.io"]);
        let first = &find(text)[0];
        assert_eq!(
            &text[first.span.start..first.span.end],
            "Jane.Doe+invoices@Example.CO.UK"
        );
    }

    #[test]
    fn finds_addresses_inside_html_and_brackets() {
        let text = r#"<a href="mailto:bob@shop.com">Bob</a> <script>alert("x@y")</script> <sales@shop.com>"#;
        assert_eq!(emails(text), ["bob@shop.com", "sales@shop.com"]);
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        for text in [
            "jöhn@x.com",
            "bob@mail.exämple.com",
            "user@localhost",
            "v1.2@3.4",
            "a..b@x.com",
            "@example.com",
            "foo@",
            "x@y.c",
            "a@b_c.com",
        ] {
            assert!(emails(text).is_empty(), "{text}: {:?}", emails(text));
        }
    }

    #[test]
    fn parse_email_normalises_one_value_or_says_why_not() {
        assert_eq!(
            parse_email("  mailto:Bob@Example.COM ").unwrap(),
            "Bob@example.com"
        );
        assert!(
            parse_email("bob at example.com")
                .unwrap_err()
                .to_string()
                .contains("it has no @")
        );
        assert!(parse_email("bob@example.com extra").is_err());
        assert!(
            parse_email("bob@192.168.0.1")
                .unwrap_err()
                .to_string()
                .contains("top-level domain")
        );
        assert_eq!(parse_email(""), Err(NormalizeError::Empty));
    }

    #[test]
    fn spans_survive_multibyte_neighbours() {
        let text = "Café — écrire à ventes@café-paris.fr ou info@cafe.fr 🙂";
        let found = find(text);
        let raw: Vec<_> = found.iter().map(|m| &text[m.span.start..m.span.end]).collect();
        // `café-paris.fr` is an internationalised domain: left out, not cut short.
        assert_eq!(raw, ["info@cafe.fr"]);
    }
}
