//! A stored definition as people may see it again. A definition holds secrets: a
//! webhook's signing `secret`, and the `url` of a webhook or a chat notification (a Slack
//! incoming-webhook URL *is* its own credential). Once saved, those are shown to nobody:
//! version diffs on the page and in the API go through [`redact_secrets`], which keeps
//! everything else as the builder wrote it; a URL keeps its scheme and host, so people can
//! still tell destinations apart. (A rotated secret therefore shows as no change: the
//! version list records *that* a new version was made, and by whom.)
//!
//! It works on the parsed document's spans rather than on lines, so inline tables,
//! arrays of tables and odd spacing cannot hide a secret from it.

use std::cmp::Reverse;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Keys whose string values are secrets wherever they appear.
const SECRET_KEYS: &[&str] = &["secret", "url"];

/// `source` with every secret value replaced. A definition that does not parse (stored
/// ones always do) is hidden whole rather than risk showing what it holds.
pub fn redact_secrets(source: &str) -> String {
    let Ok(doc) = DeTable::parse(source) else {
        return "# (the definition is hidden: it does not parse)\n".to_owned();
    };
    let mut edits = Vec::new();
    collect(doc.get_ref(), source, &mut edits);
    // Apply from the end so earlier offsets stay valid.
    edits.sort_by_key(|(range, _)| Reverse(range.start));
    let mut out = source.to_owned();
    for (range, text) in edits {
        out.replace_range(range, &text);
    }
    out
}

fn collect(table: &DeTable<'_>, source: &str, out: &mut Vec<(Range<usize>, String)>) {
    for (key, value) in table.iter() {
        let key = key.get_ref().as_ref();
        match value.get_ref() {
            DeValue::String(s) if SECRET_KEYS.contains(&key) => {
                let span = value.span();
                if source.get(span.clone()).is_some() {
                    out.push((span, masked(key, s)));
                }
            }
            _ => visit(value, source, out),
        }
    }
}

fn visit(value: &Spanned<DeValue<'_>>, source: &str, out: &mut Vec<(Range<usize>, String)>) {
    match value.get_ref() {
        DeValue::Table(t) => collect(t, source, out),
        DeValue::Array(items) => {
            for item in items.iter() {
                visit(item, source, out);
            }
        }
        _ => {}
    }
}

/// The quoted replacement: a URL keeps its scheme and host, anything else is hidden whole.
fn masked(key: &str, value: &str) -> String {
    if key == "url"
        && let Some((scheme, rest)) = value.split_once("://")
    {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        // Credentials in the authority (`user:pass@host`) are a secret too.
        let host = authority.rsplit('@').next().unwrap_or_default();
        let clean = |s: &str| {
            s.chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
                .collect::<String>()
        };
        return format!("\"{}://{}/(hidden)\"", clean(scheme), clean(host));
    }
    "\"(hidden)\"".to_owned()
}

#[cfg(test)]
mod tests {
    use super::redact_secrets;

    #[test]
    fn secrets_and_hook_urls_are_hidden_everywhere_and_the_rest_is_kept() {
        let src = r#"name = "Support" # the team's
slug = "support"

[[destinations]]
type = "webhook"
url = "https://user:pw@hooks.example.com/T000/B000/XXXX?token=abc"
secret = "s3cret"

[review]
notify = [{ type = "slack", url = "https://hooks.slack.com/services/T1/B2/zzz" }]

[llm]
base_url = "http://127.0.0.1:8080/v1"
api_key_env = "LLM_KEY"
"#;
        let out = redact_secrets(src);
        for secret in ["s3cret", "T000", "XXXX", "abc", "user", "pw@", "T1/B2", "zzz"] {
            assert!(!out.contains(secret), "{secret} leaked:\n{out}");
        }
        assert!(
            out.contains("url = \"https://hooks.example.com/(hidden)\""),
            "{out}"
        );
        assert!(out.contains("secret = \"(hidden)\""), "{out}");
        assert!(
            out.contains("url = \"https://hooks.slack.com/(hidden)\" }"),
            "{out}"
        );
        assert!(out.contains("name = \"Support\" # the team's"), "{out}");
        assert!(out.contains("base_url = \"http://127.0.0.1:8080/v1\""), "{out}");
        assert!(out.contains("api_key_env = \"LLM_KEY\""), "{out}");
        assert!(
            toml::de::DeTable::parse(&out).is_ok(),
            "still a definition:\n{out}"
        );
    }

    #[test]
    fn a_definition_that_does_not_parse_is_hidden_whole() {
        let out = redact_secrets("secret = \"s3cret\"\n[[[");
        assert!(!out.contains("s3cret"));
    }
}
