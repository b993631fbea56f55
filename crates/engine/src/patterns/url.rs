//! Web links: `http://`, `https://` and bare `www.` URLs, with the punctuation that ends a
//! sentence or closes a bracket around them left out. The value keeps the URL as written
//! except that the scheme and host are lower-cased (they are case-insensitive; the path is
//! not). No scheme is invented for `www.` links: the value is what the sender wrote.
//!
//! The `url` crate is not used: it would rewrite what it normalises (a `/` added after a
//! bare host, hosts turned into punycode), and a reviewer comparing value and evidence
//! should see the same link. Checking the host's shape is all the validation needed to
//! tell a link from `www.` in running text.

use std::sync::LazyLock;

use regex::Regex;

use super::{Match, NormalizeError, char_before, excerpt};
use crate::span::Span;

/// The scheme or `www.`, then printable ASCII that may appear in a URL. Non-ASCII ends a
/// link, so that text glued to it (`https://x.cn，更多`) is not taken in; a link with a
/// non-ASCII path is cut there rather than swallow the sentence.
static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i:https?://|www\.)[[:graph:]&&[^<>"'`\\]]+"#).expect("the URL regex is valid")
});

// Raw confidence: a scheme says "this is a link"; a bare `www.` host is almost always one.
const CONFIDENCE_WITH_SCHEME: f64 = 0.95;
const CONFIDENCE_WWW: f64 = 0.9;

/// Every URL in `text`, in text order.
pub fn find(text: &str) -> Vec<Match> {
    URL.find_iter(text)
        .filter_map(|m| {
            // Part of a longer word or address (`xwww.`, `bob@www.`, `a.www.`). Only ASCII
            // counts: Chinese or Japanese text runs straight into a link.
            if char_before(text, m.start()).is_some_and(|c| c.is_ascii_alphanumeric() || "@./-_".contains(c))
            {
                return None;
            }
            let raw = trim_trailing(m.as_str());
            let (value, has_scheme) = normalise(raw).ok()?;
            let (confidence, note) = if has_scheme {
                (CONFIDENCE_WITH_SCHEME, None)
            } else {
                (CONFIDENCE_WWW, Some("no scheme written".to_string()))
            };
            let span = Span::new(m.start(), m.start() + raw.len());
            Some(Match {
                value,
                span,
                confidence,
                note,
            })
        })
        .collect()
}

/// Normalise one URL value, or say what is wrong with it.
pub fn parse_url(s: &str) -> Result<String, NormalizeError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(NormalizeError::Empty);
    }
    match URL.find(t) {
        Some(m) if m.start() == 0 && m.end() == t.len() => normalise(t).map(|(value, _)| value),
        Some(_) => Err(error(t, "it has characters a URL cannot have")),
        None => Err(error(t, "it starts with neither http://, https:// nor www.")),
    }
}

/// Leave out what ends a sentence or closes brackets opened before the link: `(see
/// https://x.com/a_(b)).` keeps `a_(b)` and drops `).`.
fn trim_trailing(raw: &str) -> &str {
    let mut s = raw;
    loop {
        let Some(last) = s.chars().next_back() else {
            return s;
        };
        let unbalanced = |open: char, close: char| s.matches(close).count() > s.matches(open).count();
        let drop = match last {
            '.' | ',' | ';' | ':' | '!' | '?' | '*' | '\'' => true,
            ')' => unbalanced('(', ')'),
            ']' => unbalanced('[', ']'),
            '}' => unbalanced('{', '}'),
            _ => false,
        };
        if !drop {
            return s;
        }
        s = &s[..s.len() - last.len_utf8()];
    }
}

/// Lower-case scheme and host after checking the host; says whether a scheme was written.
fn normalise(raw: &str) -> Result<(String, bool), NormalizeError> {
    let (scheme, rest) = match raw.find("://") {
        Some(at) if raw[..at].eq_ignore_ascii_case("http") || raw[..at].eq_ignore_ascii_case("https") => {
            (Some(raw[..at].to_ascii_lowercase()), &raw[at + 3..])
        }
        _ => (None, raw),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    // Credentials (`user:pass@host`) are kept as written; only the host is case-folded.
    let (userinfo, host_port) = match authority.rfind('@') {
        Some(at) => authority.split_at(at + 1),
        None => ("", authority),
    };
    let host = host_without_port(host_port).ok_or_else(|| error(raw, "its port is not a number"))?;
    if !valid_host(host) {
        return Err(error(raw, "it has no valid host name"));
    }
    if scheme.is_none() && !host.to_ascii_lowercase().starts_with("www.") {
        return Err(error(raw, "it has no scheme"));
    }
    let mut value = String::with_capacity(raw.len());
    if let Some(scheme) = &scheme {
        value.push_str(scheme);
        value.push_str("://");
    }
    value.push_str(userinfo);
    value.push_str(&host_port.to_ascii_lowercase());
    value.push_str(path);
    Ok((value, scheme.is_some()))
}

/// The host of `host[:port]` (or `[v6]:port`), or `None` when the port is not a port.
fn host_without_port(host_port: &str) -> Option<&str> {
    let colon = if host_port.starts_with('[') {
        host_port
            .find(']')
            .and_then(|end| host_port[end..].find(':').map(|c| c + end))
    } else {
        host_port.find(':')
    };
    match colon {
        None => Some(host_port),
        Some(at) => {
            let port = &host_port[at + 1..];
            let ok = !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
            ok.then_some(&host_port[..at])
        }
    }
}

/// A domain name with a top-level domain, `localhost`, an IPv4 address or a bracketed IPv6
/// address.
fn valid_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.contains(':')
            && inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
    }
    let labels: Vec<&str> = host.split('.').collect();
    let is_ipv4 = labels.len() == 4 && labels.iter().all(|l| l.parse::<u8>().is_ok());
    if is_ipv4 {
        return true;
    }
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    let tld = labels.last().copied().unwrap_or("");
    let tld_ok = tld.len() >= 2 && (tld.bytes().all(|b| b.is_ascii_alphabetic()) || tld.starts_with("xn--"));
    labels.len() >= 2 && host.len() <= 253 && labels.iter().all(label_ok) && tld_ok
}

fn error(input: &str, reason: &str) -> NormalizeError {
    NormalizeError::NotAUrl {
        input: excerpt(input),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(text: &str) -> Vec<(String, &str)> {
        find(text)
            .into_iter()
            .map(|m| (m.value, &text[m.span.start..m.span.end]))
            .collect()
    }

    #[test]
    fn finds_links_and_lowercases_scheme_and_host_only() {
        let text = "See HTTPS://Example.COM/Path?Q=A#Frag, or www.Shop.io/Cart.";
        assert_eq!(
            urls(text),
            [
                (
                    "https://example.com/Path?Q=A#Frag".to_string(),
                    "HTTPS://Example.COM/Path?Q=A#Frag"
                ),
                ("www.shop.io/Cart".to_string(), "www.Shop.io/Cart"),
            ]
        );
        assert_eq!(find(text)[1].note.as_deref(), Some("no scheme written"));
        assert!(find(text)[0].confidence > find(text)[1].confidence);
    }

    #[test]
    fn strips_trailing_punctuation_but_keeps_balanced_brackets() {
        let text = "(see https://en.wikipedia.org/wiki/Rust_(language)). And [http://x.org/a]!";
        let raw: Vec<_> = urls(text).into_iter().map(|(_, raw)| raw).collect();
        assert_eq!(
            raw,
            ["https://en.wikipedia.org/wiki/Rust_(language)", "http://x.org/a"]
        );
    }

    #[test]
    fn reads_ports_credentials_and_addresses() {
        assert_eq!(
            parse_url("http://User:Pw@Host.example.com:8080/x").unwrap(),
            "http://User:Pw@host.example.com:8080/x"
        );
        assert_eq!(
            parse_url("http://127.0.0.1:3000").unwrap(),
            "http://127.0.0.1:3000"
        );
        assert_eq!(parse_url("http://[::1]:8080/").unwrap(), "http://[::1]:8080/");
        assert_eq!(parse_url("http://localhost/a").unwrap(), "http://localhost/a");
    }

    #[test]
    fn rejects_what_is_not_a_link() {
        for text in [
            "http://",
            "https://x",
            "www.",
            "http://-bad-.com",
            "http://x.com:port",
            "awww.example.com",
            "ftp://files.example.com",
        ] {
            assert!(find(text).is_empty(), "{text}: {:?}", urls(text));
        }
        assert!(
            parse_url("example.com")
                .unwrap_err()
                .to_string()
                .contains("neither http")
        );
        assert!(parse_url("http://ex ample.com").is_err());
    }

    #[test]
    fn html_and_non_ascii_neighbours_end_the_link() {
        let text = r#"<a href="https://evil.example/x?a=1&b=2">go</a><script>location='http://t.co/y'</script> 詳細はhttps://example.jp/詳細，更多"#;
        let values: Vec<_> = urls(text).into_iter().map(|(v, _)| v).collect();
        assert_eq!(
            values,
            [
                "https://evil.example/x?a=1&b=2",
                "http://t.co/y",
                "https://example.jp/"
            ]
        );
    }
}
