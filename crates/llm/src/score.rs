//! Raw per-field scores: from token log-probabilities, or from agreement across samples.
//!
//! With log-probabilities, a field's score is the probability the model gave to the exact
//! tokens of its value: the product of the token probabilities, `exp(Σ logprob)`, over
//! every token that overlaps the value's text in the JSON answer (quotes included, since a
//! value that the model almost ended one token earlier is a different value). A field the
//! model answered `null` gets the probability of that `null`, which is its confidence that
//! the field is absent.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::protocol::TokenLogprob;

/// Byte ranges of each top-level value in a JSON object's text, by key. Fails on text
/// that is not one JSON object.
pub fn value_spans(text: &str) -> Result<Vec<(String, Range<usize>)>, String> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return Err("the answer is not a JSON object".into());
    }
    i += 1;
    let mut out = Vec::new();
    loop {
        i = skip_ws(b, i);
        match b.get(i) {
            Some(b'}') => return Ok(out),
            Some(b',') if !out.is_empty() => i = skip_ws(b, i + 1),
            Some(b'"') if out.is_empty() => {}
            _ => return Err(format!("unexpected text at byte {i}")),
        }
        let key_end = skip_string(b, i).ok_or("an unterminated key")?;
        let key: String = serde_json::from_str(&text[i..key_end]).map_err(|e| e.to_string())?;
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return Err(format!("expected ':' after key {key:?}"));
        }
        let start = skip_ws(b, i + 1);
        let end = skip_value(b, start).ok_or_else(|| format!("the value of {key:?} is cut short"))?;
        out.push((key, start..end));
        i = end;
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// The end (exclusive) of the string starting at `i`.
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// The end (exclusive) of the JSON value starting at `i`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']') && !b[j].is_ascii_whitespace() {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// Each key's score from the answer's token log-probabilities, or `None` when the tokens
/// do not spell out the answer (a server that returns log-probabilities of something else
/// is not trusted for any field).
///
/// The tokens may spell more than the content: llama.cpp strips a code fence and
/// surrounding whitespace from `message.content` but not from `logprobs.content`
/// ("```json\n{...}\n```\n" against "{...}"). The content is then found inside the
/// tokens' text and the spans shifted to it; anything else that differs is refused.
pub fn logprob_scores(content: &str, tokens: &[TokenLogprob]) -> Option<BTreeMap<String, f64>> {
    let mut offsets = Vec::with_capacity(tokens.len());
    let mut generated: Vec<u8> = Vec::with_capacity(content.len());
    for t in tokens {
        let bytes = t.bytes.as_deref().unwrap_or(t.token.as_bytes());
        offsets.push(generated.len()..generated.len() + bytes.len());
        generated.extend_from_slice(bytes);
    }
    let shift = if generated == content.as_bytes() {
        0
    } else {
        let at = find(&generated, content.as_bytes())?;
        // Only whitespace and a code fence may surround it.
        let before = std::str::from_utf8(&generated[..at]).ok()?.trim();
        let after = std::str::from_utf8(&generated[at + content.len()..]).ok()?.trim();
        let fence_open = before.is_empty() || (before.starts_with("```") && !before[3..].contains('`'));
        let fence_close = after.is_empty() || after == "```";
        if !(fence_open && fence_close) {
            return None;
        }
        at
    };
    let spans = value_spans(content).ok()?;
    let mut out = BTreeMap::new();
    for (key, span) in spans {
        let span = span.start + shift..span.end + shift;
        let sum: f64 = tokens
            .iter()
            .zip(&offsets)
            .filter(|(_, r)| r.start < span.end && span.start < r.end)
            .map(|(t, _)| t.logprob.min(0.0))
            .sum();
        out.insert(key, sum.exp());
    }
    Some(out)
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Values compared the way a reviewer would: case and spacing do not make a different
/// answer, and a list is a set.
fn comparable(v: &serde_json::Value) -> String {
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => norm(s),
        serde_json::Value::Array(xs) => {
            let mut items: Vec<String> = xs.iter().map(comparable).filter(|s| !s.is_empty()).collect();
            items.sort();
            items.dedup();
            items.join("\u{1f}")
        }
        other => norm(&other.to_string()),
    }
}

/// The majority answer among samples and the share of samples that gave it. Ties go to
/// the answer seen first, so the first (lowest-temperature) sample wins them.
pub fn agreement(samples: &[serde_json::Value]) -> (serde_json::Value, f64) {
    if samples.is_empty() {
        return (serde_json::Value::Null, 0.0);
    }
    let keys: Vec<String> = samples.iter().map(comparable).collect();
    let mut best = 0usize;
    let mut best_votes = 0usize;
    for (i, k) in keys.iter().enumerate() {
        let votes = keys.iter().filter(|o| *o == k).count();
        if votes > best_votes {
            best = i;
            best_votes = votes;
        }
    }
    (samples[best].clone(), best_votes as f64 / samples.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(s: &str, lp: f64) -> TokenLogprob {
        TokenLogprob {
            token: s.into(),
            logprob: lp,
            bytes: None,
        }
    }

    #[test]
    fn spans_cover_each_value_exactly() {
        let text = r#" {"a": "x \"y\"", "b":null , "c": ["p", "q,]"], "d": 12.5}"#;
        let spans = value_spans(text).unwrap();
        let got: Vec<(&str, &str)> = spans
            .iter()
            .map(|(k, r)| (k.as_str(), &text[r.clone()]))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", r#""x \"y\"""#),
                ("b", "null"),
                ("c", r#"["p", "q,]"]"#),
                ("d", "12.5")
            ]
        );
        assert!(value_spans("[1]").is_err());
        assert!(value_spans(r#"{"a": "unterminated"#).is_err());
    }

    #[test]
    fn a_value_scores_the_product_of_its_tokens() {
        let tokens = [
            tok("{\"", 0.0),
            tok("total", 0.0),
            tok("\":", 0.0),
            tok(" \"", -0.1),
            tok("9", -0.2),
            tok(".00", -0.3),
            tok("\"", 0.0),
            tok(", \"date\": ", 0.0),
            tok("null", -1.0),
            tok("}", 0.0),
        ];
        let content: String = tokens.iter().map(|t| t.token.as_str()).collect();
        let s = logprob_scores(&content, &tokens).unwrap();
        assert!((s["total"] - (-0.6f64).exp()).abs() < 1e-12, "{s:?}");
        assert!((s["date"] - (-1.0f64).exp()).abs() < 1e-12, "{s:?}");
        // Tokens that do not spell the answer are not used at all.
        assert!(logprob_scores("{\"total\": 1}", &tokens).is_none());
    }

    #[test]
    fn tokens_of_a_fenced_answer_score_the_trimmed_content() {
        // llama.cpp: the tokens spell the fence and the newline, the content does not.
        let tokens = [
            tok("```", 0.0),
            tok("json", 0.0),
            tok("\n{\"", 0.0),
            tok("total", 0.0),
            tok("\": \"", -0.1),
            tok("9", -0.2),
            tok(".00", -0.3),
            tok("\"}", 0.0),
            tok("\n```", 0.0),
            tok("\n", 0.0),
        ];
        let s = logprob_scores("{\"total\": \"9.00\"}", &tokens).unwrap();
        assert!((s["total"] - (-0.6f64).exp()).abs() < 1e-12, "{s:?}");
        // Anything but a fence and whitespace around it is not the same answer.
        let mut chatty = tokens.to_vec();
        chatty[0] = tok("Sure! ", 0.0);
        assert!(logprob_scores("{\"total\": \"9.00\"}", &chatty).is_none());
    }

    #[test]
    fn agreement_is_the_majority_share_ignoring_case_space_and_order() {
        use serde_json::json;
        let (v, s) = agreement(&[json!("ACME  Ltd"), json!("acme ltd"), json!("Other")]);
        assert_eq!(v, json!("ACME  Ltd"));
        assert!((s - 2.0 / 3.0).abs() < 1e-12);
        let (_, s) = agreement(&[json!(["a", "b"]), json!(["b", "a"])]);
        assert_eq!(s, 1.0);
        let (v, s) = agreement(&[json!("x"), json!("y")]);
        assert_eq!((v, s), (json!("x"), 0.5), "a tie goes to the first sample");
    }
}
