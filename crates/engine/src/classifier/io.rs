//! Reading labelled examples from text: JSON Lines (`{"text": ..., "label": ...}` per
//! line) or CSV with a `text,label` header. Any other key or column is kept as a
//! structured input of the example (`"country": "DE"`), for routers that read them. Functions take `&str`, not paths, so the
//! engine stays free of I/O; the caller reads the file.
//!
//! A bad row is an error naming its 1-based line and what is wrong, never a silent skip:
//! a training set that quietly lost rows trains a different model than the builder thinks.

use serde::Deserialize;
use std::collections::BTreeMap;
use thiserror::Error;

/// One labelled training or test example.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Example {
    pub text: String,
    pub label: String,
    /// Structured inputs by name (country, company size...), as written; the router reads
    /// those its definition declares (see `inputs`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

impl Example {
    /// An example with text only.
    pub fn new(text: impl Into<String>, label: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            label: label.into(),
            fields: BTreeMap::new(),
        }
    }
}

/// The formats [`parse_examples`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExampleFormat {
    /// One JSON object per line with string fields `text` and `label` (other keys are
    /// structured inputs); blank lines skipped.
    Jsonl,
    /// RFC 4180 CSV with a header naming `text` and `label` columns (any order; other
    /// columns are structured inputs); fields may be quoted.
    Csv,
}

/// What is wrong with an examples file, and where (`line` is 1-based).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("line {line}: {message}")]
    Row { line: u64, message: String },
    #[error("the CSV header must name a `text` and a `label` column (found: {found})")]
    Header { found: String },
    #[error("no examples found")]
    Empty,
}

/// Parse examples from the text of a JSONL or CSV file.
pub fn parse_examples(input: &str, format: ExampleFormat) -> Result<Vec<Example>, ParseError> {
    let examples = match format {
        ExampleFormat::Jsonl => parse_jsonl(input)?,
        ExampleFormat::Csv => parse_csv(input)?,
    };
    if examples.is_empty() {
        return Err(ParseError::Empty);
    }
    Ok(examples)
}

/// Fields are optional here so that a missing one gets our message, not serde's.
#[derive(Deserialize)]
struct JsonRow {
    text: Option<serde_json::Value>,
    label: Option<serde_json::Value>,
    #[serde(flatten)]
    rest: BTreeMap<String, serde_json::Value>,
}

fn parse_jsonl(input: &str) -> Result<Vec<Example>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let line_no = i as u64 + 1;
        let row_err = |message: String| ParseError::Row {
            line: line_no,
            message,
        };
        if line.trim().is_empty() {
            continue;
        }
        let row: JsonRow =
            serde_json::from_str(line).map_err(|e| row_err(format!("not a JSON object: {e}")))?;
        let label = string_field(row.label, "label").map_err(row_err)?;
        let mut fields = BTreeMap::new();
        for (k, v) in row.rest {
            let v = match v {
                serde_json::Value::Null => continue,
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                other => {
                    return Err(row_err(format!(
                        "field `{k}` must be a string, number or boolean, found {other}"
                    )));
                }
            };
            fields.insert(k, v);
        }
        // A lead may come with structured inputs and no message: then the text may be
        // missing or empty, but never of the wrong type.
        let no_text = match &row.text {
            None | Some(serde_json::Value::Null) => true,
            Some(serde_json::Value::String(t)) => t.trim().is_empty(),
            Some(_) => false,
        };
        let text = if no_text && !fields.is_empty() {
            String::new()
        } else {
            string_field(row.text, "text").map_err(row_err)?
        };
        out.push(Example { text, label, fields });
    }
    Ok(out)
}

fn string_field(v: Option<serde_json::Value>, name: &str) -> Result<String, String> {
    match v {
        None | Some(serde_json::Value::Null) => Err(format!("missing field `{name}`")),
        Some(serde_json::Value::String(s)) => check_value(s, name),
        Some(other) => Err(format!("field `{name}` must be a string, found {other}")),
    }
}

/// Empty labels cannot be routed to and empty texts teach nothing: both are mistakes.
fn check_value(s: String, name: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        Err(format!("field `{name}` is empty"))
    } else if name == "label" {
        Ok(s.trim().to_string())
    } else {
        Ok(s)
    }
}

fn parse_csv(input: &str) -> Result<Vec<Example>, ParseError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(input.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| ParseError::Row {
            line: 1,
            message: format!("unreadable header: {e}"),
        })?
        .clone();
    let find = |name: &str| header.iter().position(|h| h.trim().eq_ignore_ascii_case(name));
    let (Some(ti), Some(li)) = (find("text"), find("label")) else {
        return Err(ParseError::Header {
            found: header.iter().collect::<Vec<_>>().join(","),
        });
    };
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            let message = match e.kind() {
                csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => {
                    format!("expected {expected_len} fields, found {len}")
                }
                _ => e.to_string(),
            };
            ParseError::Row { line, message }
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let row_err = |message: String| ParseError::Row { line, message };
        let label = check_value(record.get(li).unwrap_or_default().to_string(), "label").map_err(row_err)?;
        let fields: BTreeMap<String, String> = header
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != ti && i != li)
            .filter_map(|(i, h)| {
                let v = record.get(i).unwrap_or_default().trim();
                (!v.is_empty()).then(|| (h.trim().to_string(), v.to_string()))
            })
            .collect();
        let raw = record.get(ti).unwrap_or_default().to_string();
        let text = if fields.is_empty() {
            check_value(raw, "text").map_err(row_err)?
        } else {
            raw
        };
        out.push(Example { text, label, fields });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_reads_rows_and_skips_blank_lines() {
        let input =
            "{\"text\": \"hi there\", \"label\": \"greet\"}\n\n{\"text\":\"bye\",\"label\":\"leave\"}\n";
        let ex = parse_examples(input, ExampleFormat::Jsonl).unwrap();
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[1], Example::new("bye", "leave"));
    }

    #[test]
    fn jsonl_errors_name_the_line_and_the_problem() {
        let input = "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\"}\n";
        let err = parse_examples(input, ExampleFormat::Jsonl).unwrap_err();
        assert_eq!(
            err,
            ParseError::Row {
                line: 2,
                message: "missing field `label`".into()
            }
        );
        let err = parse_examples(
            "{\"text\": \"a\", \"label\": \"x\"}\n\nnot json",
            ExampleFormat::Jsonl,
        )
        .unwrap_err();
        assert!(matches!(err, ParseError::Row { line: 3, .. }), "{err}");
        let err = parse_examples("{\"text\": 5, \"label\": \"x\"}", ExampleFormat::Jsonl).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("line 1: field `text` must be a string"),
            "{err}"
        );
    }

    #[test]
    fn other_keys_and_columns_are_structured_inputs() {
        let ex = parse_examples(
            "{\"text\": \"hi\", \"label\": \"a\", \"country\": \"DE\", \"size\": 250, \"vip\": true, \"x\": null}\n{\"label\": \"b\", \"country\": \"FR\"}",
            ExampleFormat::Jsonl,
        )
        .unwrap();
        assert_eq!(ex[0].fields.len(), 3);
        assert_eq!(ex[0].fields["size"], "250");
        assert_eq!(ex[0].fields["vip"], "true");
        assert_eq!(
            (ex[1].text.as_str(), ex[1].fields["country"].as_str()),
            ("", "FR")
        );
        let err = parse_examples("{\"label\": \"b\", \"country\": [1]}", ExampleFormat::Jsonl).unwrap_err();
        assert!(
            err.to_string()
                .contains("field `country` must be a string, number or boolean"),
            "{err}"
        );
        let err = parse_examples(
            "{\"text\": 3, \"label\": \"b\", \"country\": \"DE\"}",
            ExampleFormat::Jsonl,
        )
        .unwrap_err();
        assert!(err.to_string().contains("field `text` must be a string"), "{err}");
        let ex = parse_examples("text,label,state\nhello,a,CA\n,b,NY\n", ExampleFormat::Csv).unwrap();
        assert_eq!(ex[0].fields["state"], "CA");
        assert_eq!((ex[1].text.as_str(), ex[1].fields["state"].as_str()), ("", "NY"));
    }

    #[test]
    fn csv_reads_quoted_fields_in_any_column_order() {
        let input = "label,text\ngreet,\"hello, world\"\nleave,\"say \"\"bye\"\"\nnow\"\n";
        let ex = parse_examples(input, ExampleFormat::Csv).unwrap();
        assert_eq!(ex[0].text, "hello, world");
        assert_eq!(ex[1].text, "say \"bye\"\nnow");
        assert_eq!(ex[1].label, "leave");
    }

    #[test]
    fn csv_errors_name_the_line() {
        let err = parse_examples("text,label\na,x\nb\n", ExampleFormat::Csv).unwrap_err();
        assert_eq!(
            err,
            ParseError::Row {
                line: 3,
                message: "expected 2 fields, found 1".into()
            }
        );
        let err = parse_examples("text,label\na,x\nb,\n", ExampleFormat::Csv).unwrap_err();
        assert_eq!(
            err,
            ParseError::Row {
                line: 3,
                message: "field `label` is empty".into()
            }
        );
        let err = parse_examples("words,label\na,x\n", ExampleFormat::Csv).unwrap_err();
        assert!(matches!(err, ParseError::Header { .. }));
        assert_eq!(
            parse_examples("text,label\n", ExampleFormat::Csv),
            Err(ParseError::Empty)
        );
    }
}
