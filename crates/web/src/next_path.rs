//! Where to send someone after they sign in or acknowledge a card: a `next` that came in
//! with the request, so only a path on this site. A browser strips tabs and line breaks
//! from a URL before it reads it, so `/\t/evil.example` becomes `//evil.example`, another
//! host; and a line break in a `Location` header is refused by the HTTP stack after the
//! session was made. Rejecting every control and whitespace character (and backslashes,
//! which browsers read as slashes) leaves nothing the browser can rewrite into another
//! host. One check, used by every `next`, so the two cannot drift apart again.

/// `next` when it is a path on this site, else `None`.
pub(crate) fn local_path(next: &str) -> Option<&str> {
    let safe = next.starts_with('/')
        && !next.starts_with("//")
        && next.len() < 500
        && !next
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\');
    safe.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn paths_on_this_site_pass() {
        assert_eq!(local_path("/items/7?from=inbox"), Some("/items/7?from=inbox"));
        assert_eq!(local_path("/inbox"), Some("/inbox"));
    }

    #[test]
    fn anything_a_browser_could_read_as_another_host_is_refused() {
        for bad in [
            "//evil.example/x",
            "/\t/evil.example/x",
            "/\n/evil.example/x",
            "/\r/evil.example",
            "/\\evil.example",
            "/ /evil.example",
            "https://evil.example",
            "evil.example",
            "/\u{0}x",
            "/\u{a0}/evil.example",
            "",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
        assert_eq!(local_path(&format!("/{}", "a".repeat(600))), None);
    }
}
