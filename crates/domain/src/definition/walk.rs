//! Reading a spanned TOML tree while collecting errors instead of stopping at the first.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One problem in a definition, at a 1-based line and column (in characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct DefinitionError {
    pub line: usize,
    pub column: usize,
    /// Where in the definition, e.g. `fields[2].threshold`; empty for syntax errors.
    pub path: String,
    pub message: String,
}

pub(super) type Table<'i> = DeTable<'i>;
pub(super) type Value<'i> = Spanned<DeValue<'i>>;

pub(super) struct Walker<'s> {
    src: &'s str,
    pub errors: Vec<DefinitionError>,
}

impl<'s> Walker<'s> {
    pub fn new(src: &'s str) -> Self {
        Self {
            src,
            errors: Vec::new(),
        }
    }

    /// The 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        let offset = floor_char_boundary(self.src, offset.min(self.src.len()));
        self.src[..offset].matches('\n').count() + 1
    }

    /// The byte offset where a 1-based line starts.
    pub fn offset_of_line(&self, line: usize) -> usize {
        if line <= 1 {
            return 0;
        }
        self.src
            .match_indices('\n')
            .nth(line - 2)
            .map_or(self.src.len(), |(i, _)| i + 1)
    }

    pub fn error_at(&mut self, offset: usize, path: &str, message: impl Into<String>) {
        let offset = offset.min(self.src.len());
        let before = &self.src[..floor_char_boundary(self.src, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        let message = message.into();
        let message = if path.is_empty() {
            message
        } else {
            format!("{path}: {message}")
        };
        self.errors.push(DefinitionError {
            line,
            column,
            path: path.to_owned(),
            message,
        });
    }

    pub fn error(&mut self, value: &Value<'_>, path: &str, message: impl Into<String>) {
        self.error_at(value.span().start, path, message);
    }

    /// Report keys that are not in `allowed`, with a suggestion for near misses.
    pub fn check_keys(&mut self, table: &Table<'_>, allowed: &[&str], path: &str) {
        for key in table.keys() {
            let k: &str = key.get_ref();
            if !allowed.contains(&k) {
                let hint = allowed
                    .iter()
                    .filter(|a| edit_distance(a, k) <= 2)
                    .min_by_key(|a| edit_distance(a, k))
                    .map(|a| format!(" (did you mean {a:?}?)"))
                    .unwrap_or_default();
                let at = join(path, k);
                self.error_at(
                    key.span().start,
                    &at,
                    format!("unknown key{hint}; expected one of: {}", allowed.join(", ")),
                );
            }
        }
    }

    pub fn get<'t, 'i>(table: &'t Table<'i>, key: &str) -> Option<&'t Value<'i>> {
        table
            .iter()
            .find(|(k, _)| {
                let k: &Cow<'i, str> = k.get_ref();
                k == key
            })
            .map(|(_, v)| v)
    }

    pub fn string(&mut self, table: &Table<'_>, key: &str, path: &str) -> Option<String> {
        let v = Self::get(table, key)?;
        match v.get_ref().as_str() {
            Some(s) => Some(s.to_owned()),
            None => {
                let found = v.get_ref().type_str();
                self.error(v, &join(path, key), format!("expected text, found {found}"));
                None
            }
        }
    }

    pub fn required_string(&mut self, table: &Table<'_>, key: &str, path: &str, at: usize) -> Option<String> {
        let s = self.string(table, key, path);
        if s.is_none() && Self::get(table, key).is_none() {
            self.error_at(at, &join(path, key), "is required");
        }
        s
    }

    pub fn bool(&mut self, table: &Table<'_>, key: &str, path: &str) -> Option<bool> {
        let v = Self::get(table, key)?;
        match v.get_ref().as_bool() {
            Some(b) => Some(b),
            None => {
                let found = v.get_ref().type_str();
                self.error(
                    v,
                    &join(path, key),
                    format!("expected true or false, found {found}"),
                );
                None
            }
        }
    }

    /// A number (integer or float) within `[min, max]`.
    pub fn number(&mut self, table: &Table<'_>, key: &str, path: &str, min: f64, max: f64) -> Option<f64> {
        let v = Self::get(table, key)?;
        let parsed = match v.get_ref() {
            DeValue::Integer(i) => parse_integer(i.as_str(), i.radix()).map(|n| n as f64),
            DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
            _ => None,
        };
        match parsed {
            Some(n) if n.is_finite() && (min..=max).contains(&n) => Some(n),
            Some(n) => {
                self.error(
                    v,
                    &join(path, key),
                    format!("expected a number from {min} to {max}, found {n}"),
                );
                None
            }
            None => {
                let found = v.get_ref().type_str();
                self.error(v, &join(path, key), format!("expected a number, found {found}"));
                None
            }
        }
    }

    pub fn string_list(&mut self, table: &Table<'_>, key: &str, path: &str) -> Vec<String> {
        let Some(v) = Self::get(table, key) else {
            return Vec::new();
        };
        let at = join(path, key);
        let Some(items) = v.get_ref().as_array() else {
            let found = v.get_ref().type_str();
            self.error(v, &at, format!("expected a list of text, found {found}"));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item.get_ref().as_str() {
                Some(s) => out.push(s.to_owned()),
                None => {
                    let found = item.get_ref().type_str();
                    self.error(
                        item,
                        &format!("{at}[{i}]"),
                        format!("expected text, found {found}"),
                    );
                }
            }
        }
        out
    }

    pub fn table<'t, 'i>(&mut self, table: &'t Table<'i>, key: &str, path: &str) -> Option<&'t Table<'i>> {
        let v = Self::get(table, key)?;
        match v.get_ref().as_table() {
            Some(t) => Some(t),
            None => {
                let found = v.get_ref().type_str();
                self.error(
                    v,
                    &join(path, key),
                    format!("expected a table ([{key}]), found {found}"),
                );
                None
            }
        }
    }

    /// An array of tables (`[[key]]`), each with the offset where it starts.
    pub fn tables<'t, 'i>(
        &mut self,
        table: &'t Table<'i>,
        key: &str,
        path: &str,
    ) -> Vec<(usize, &'t Table<'i>)> {
        let Some(v) = Self::get(table, key) else {
            return Vec::new();
        };
        let Some(items) = v.get_ref().as_array() else {
            let found = v.get_ref().type_str();
            self.error(
                v,
                &join(path, key),
                format!("expected a list of tables ([[{key}]]), found {found}"),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item.get_ref().as_table() {
                Some(t) => out.push((item.span().start, t)),
                None => {
                    let found = item.get_ref().type_str();
                    self.error(
                        item,
                        &format!("{}[{i}]", join(path, key)),
                        format!("expected a table, found {found}"),
                    );
                }
            }
        }
        out
    }

    pub fn offset_of(table: &Table<'_>, key: &str) -> Option<usize> {
        Self::get(table, key).map(|v| v.span().start)
    }
}

pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn parse_integer(digits: &str, radix: u32) -> Option<i64> {
    let clean = digits.replace('_', "");
    let clean = clean
        .strip_prefix("0x")
        .or_else(|| clean.strip_prefix("0o"))
        .or_else(|| clean.strip_prefix("0b"))
        .unwrap_or(&clean);
    i64::from_str_radix(clean, radix).ok()
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
