//! Reading items from JSONL or CSV files for `tandem import`. A bad row is reported with
//! its line number and skipped; it never stops the good rows around it.

use std::io::{BufRead, Read};

use crate::intake::Submission;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
}

impl Format {
    /// From a file name's extension; JSONL unless it ends in `.csv`.
    pub fn from_path(path: &std::path::Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("csv") => Format::Csv,
            _ => Format::Jsonl,
        }
    }
}

/// One problem in an import file, at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// A row ready to submit, with the line it came from.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: u64,
    pub submission: Submission,
}

/// Read every row of `reader`. `key_prefix` makes each row's idempotency key
/// (`PREFIX:LINE`), so importing the same file twice does not duplicate items.
pub fn read_rows(reader: impl Read, format: Format, key_prefix: &str) -> Vec<Result<Row, RowError>> {
    match format {
        Format::Jsonl => read_jsonl(reader, key_prefix),
        Format::Csv => read_csv(reader, key_prefix),
    }
}

fn row(line: u64, input: serde_json::Value, key_prefix: &str) -> Row {
    Row {
        line,
        submission: Submission {
            input,
            idempotency_key: Some(format!("{key_prefix}:{line}")),
        },
    }
}

fn read_jsonl(reader: impl Read, key_prefix: &str) -> Vec<Result<Row, RowError>> {
    let mut out = Vec::new();
    let mut reader = std::io::BufReader::new(reader);
    let mut buf = Vec::new();
    let mut line = 0u64;
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                out.push(Err(RowError {
                    line: line + 1,
                    message: format!("cannot read: {e}"),
                }));
                break;
            }
        }
        line += 1;
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => t,
            Err(e) => {
                out.push(Err(RowError {
                    line,
                    message: format!("not valid UTF-8 (bad byte at column {})", e.valid_up_to() + 1),
                }));
                continue;
            }
        };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v) if v.is_object() => out.push(Ok(row(line, v, key_prefix))),
            Ok(_) => out.push(Err(RowError {
                line,
                message: "expected a JSON object of the automation's inputs".into(),
            })),
            Err(e) => out.push(Err(RowError {
                line,
                message: format!("not valid JSON: {e}"),
            })),
        }
    }
    out
}

fn read_csv(reader: impl Read, key_prefix: &str) -> Vec<Result<Row, RowError>> {
    let mut out = Vec::new();
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let headers = match csv.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return vec![Err(RowError {
                line: 1,
                message: format!("cannot read the header row: {e}"),
            })];
        }
    };
    let mut names = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        match std::str::from_utf8(h) {
            Ok(n) => names.push(n.trim().to_owned()),
            Err(_) => {
                return vec![Err(RowError {
                    line: 1,
                    message: format!("header {} is not valid UTF-8", i + 1),
                })];
            }
        }
    }
    for record in csv.byte_records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                out.push(Err(RowError {
                    line,
                    message: format!("malformed CSV: {e}"),
                }));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != names.len() {
            out.push(Err(RowError {
                line,
                message: format!(
                    "{} values for {} columns ({})",
                    record.len(),
                    names.len(),
                    names.join(", ")
                ),
            }));
            continue;
        }
        let mut obj = serde_json::Map::new();
        let mut bad = None;
        for (name, value) in names.iter().zip(record.iter()) {
            match std::str::from_utf8(value) {
                Ok(v) => {
                    obj.insert(name.clone(), serde_json::Value::String(v.to_owned()));
                }
                Err(e) => {
                    bad = Some(format!(
                        "column {name:?} is not valid UTF-8 (bad byte at offset {})",
                        e.valid_up_to()
                    ));
                    break;
                }
            }
        }
        match bad {
            Some(message) => out.push(Err(RowError { line, message })),
            None => out.push(Ok(row(line, serde_json::Value::Object(obj), key_prefix))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_bad_lines_are_reported_and_good_ones_kept() {
        let data =
            b"{\"text\": \"one\"}\n\nnot json\n[1,2]\n{\"text\": \"bad \xff byte\"}\n{\"text\": \"two\"}\n";
        let rows = read_rows(&data[..], Format::Jsonl, "f");
        let ok: Vec<u64> = rows
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|r| r.line))
            .collect();
        let bad: Vec<(u64, String)> = rows
            .iter()
            .filter_map(|r| r.as_ref().err().map(|e| (e.line, e.message.clone())))
            .collect();
        assert_eq!(ok, vec![1, 6]);
        assert_eq!(bad.len(), 3);
        assert_eq!(bad[0].0, 3);
        assert!(bad[0].1.starts_with("not valid JSON"));
        assert_eq!(bad[1].0, 4);
        assert_eq!(bad[2].0, 5);
        assert!(bad[2].1.contains("UTF-8"), "{}", bad[2].1);
        let Ok(first) = &rows[0] else { panic!() };
        assert_eq!(first.submission.idempotency_key.as_deref(), Some("f:1"));
    }

    #[test]
    fn csv_rows_become_objects_and_invalid_utf8_is_located() {
        let data = b"text,subject\n\"hello, world\",hi\nonly one\n\"caf\xe9\",x\n\"multi\nline\",y\n";
        let rows = read_rows(&data[..], Format::Csv, "c");
        assert_eq!(rows.len(), 4);
        let Ok(r) = &rows[0] else { panic!("{:?}", rows[0]) };
        assert_eq!(r.submission.input["text"], "hello, world");
        assert_eq!(r.line, 2);
        let Err(e) = &rows[1] else { panic!() };
        assert_eq!(e.line, 3);
        assert!(e.message.contains("1 values for 2 columns"));
        let Err(e) = &rows[2] else { panic!() };
        assert_eq!(e.line, 4);
        assert!(e.message.contains("\"text\" is not valid UTF-8"), "{}", e.message);
        let Ok(r) = &rows[3] else { panic!() };
        assert_eq!(r.submission.input["text"], "multi\nline");
    }
}
