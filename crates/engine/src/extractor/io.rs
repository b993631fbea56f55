//! Labelled documents: the JSONL training format, one document per line,
//! `{"id": ..., "text": ..., "fields": {"name": "value" | ["v1", "v2"] | null}}`.
//!
//! Parsing is strict about shape and precise about place: a malformed line is rejected with
//! its 1-based line number and what is wrong with it, because a builder fixing a training
//! file of thousands of lines needs to know where to look. A field missing from `fields`
//! is *unlabelled* for that document (training skips the document for that field); `null`
//! or `[]` means the document was labelled and the field is absent.

use std::collections::BTreeMap;

use serde_json::Value;

/// One training or test document with its gold values.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledDoc {
    pub id: String,
    pub text: String,
    /// Gold values by field name: empty when labelled absent. A field missing from the map
    /// was not labelled in this document.
    pub fields: BTreeMap<String, Vec<String>>,
}

impl LabelledDoc {
    /// The gold values of `field`, or `None` when the document does not label it.
    pub fn gold(&self, field: &str) -> Option<&[String]> {
        self.fields.get(field).map(Vec::as_slice)
    }
}

/// Why a training file was rejected, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("line {line}: not valid JSON: {message}")]
    Json { line: usize, message: String },
    #[error("line {line}: {message}")]
    Shape { line: usize, message: String },
}

impl ParseError {
    /// The 1-based line of the input where the problem is.
    pub fn line(&self) -> usize {
        match self {
            ParseError::Json { line, .. } | ParseError::Shape { line, .. } => *line,
        }
    }
}

/// Parse a JSONL file of labelled documents. Blank lines are skipped; anything else that is
/// not a well-formed document is an error naming its line.
pub fn parse_documents(input: &str) -> Result<Vec<LabelledDoc>, ParseError> {
    let mut docs = Vec::new();
    for (i, line) in input.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        docs.push(parse_line(line, i + 1)?);
    }
    Ok(docs)
}

fn parse_line(line: &str, n: usize) -> Result<LabelledDoc, ParseError> {
    let shape = |message: String| ParseError::Shape { line: n, message };
    let value: Value = serde_json::from_str(line).map_err(|e| ParseError::Json {
        line: n,
        message: e.to_string(),
    })?;
    let Value::Object(mut obj) = value else {
        return Err(shape("expected a JSON object".into()));
    };
    // The id is only for people reading reports; a number is as good as a string, and a
    // missing id falls back to the line number rather than rejecting useful data.
    let id = match obj.remove("id") {
        None | Some(Value::Null) => format!("line {n}"),
        Some(Value::String(s)) => s,
        Some(Value::Number(x)) => x.to_string(),
        Some(_) => return Err(shape("\"id\" must be a string or a number".into())),
    };
    let text = match obj.remove("text") {
        Some(Value::String(s)) => s,
        None => return Err(shape("missing \"text\"".into())),
        Some(_) => return Err(shape("\"text\" must be a string".into())),
    };
    let raw_fields = match obj.remove("fields") {
        Some(Value::Object(m)) => m,
        None => return Err(shape("missing \"fields\"".into())),
        Some(_) => return Err(shape("\"fields\" must be an object".into())),
    };
    let mut fields = BTreeMap::new();
    for (name, v) in raw_fields {
        let values = match v {
            Value::Null => Vec::new(),
            Value::String(s) => vec![s],
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (k, item) in items.into_iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s),
                        _ => {
                            return Err(shape(format!("field \"{name}\": item {k} must be a string")));
                        }
                    }
                }
                out
            }
            _ => {
                return Err(shape(format!(
                    "field \"{name}\" must be a string, a list of strings or null"
                )));
            }
        };
        // Whitespace-only gold is no gold: nothing in the text can match it.
        let values = values.into_iter().filter(|s| !s.trim().is_empty()).collect();
        fields.insert(name, values);
    }
    Ok(LabelledDoc { id, text, fields })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_single_list_and_null_values() {
        let input = concat!(
            r#"{"id": "a", "text": "x", "fields": {"total": "9.00", "party": ["A", "B"], "date": null}}"#,
            "\n\n",
            r#"{"id": 7, "text": "y", "fields": {}}"#,
            "\n"
        );
        let docs = parse_documents(input).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].gold("total"), Some(&["9.00".to_string()][..]));
        assert_eq!(docs[0].gold("party").unwrap().len(), 2);
        assert_eq!(docs[0].gold("date"), Some(&[][..]));
        assert_eq!(docs[1].id, "7");
        assert_eq!(docs[1].gold("total"), None);
    }

    #[test]
    fn malformed_lines_name_their_line_and_problem() {
        let good = r#"{"id": "a", "text": "x", "fields": {}}"#;
        let cases = [
            ("{not json", "not valid JSON"),
            (r#"{"id": "b", "fields": {}}"#, "missing \"text\""),
            (r#"{"id": "b", "text": "t", "fields": {"f": 3}}"#, "field \"f\""),
            (r#"{"id": "b", "text": "t", "fields": {"f": ["a", 1]}}"#, "item 1"),
            (r#"[1, 2]"#, "expected a JSON object"),
        ];
        for (bad, why) in cases {
            let input = format!("{good}\n\n{bad}\n{good}\n");
            let err = parse_documents(&input).unwrap_err();
            assert_eq!(err.line(), 3, "{bad}");
            assert!(err.to_string().contains(why), "{err} should say {why}");
            assert!(err.to_string().starts_with("line 3:"), "{err}");
        }
    }
}
