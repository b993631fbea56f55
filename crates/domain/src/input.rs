//! An item's input, checked against its automation's declared input fields.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::definition::AutomationDef;

/// The validated input of one item: every declared field present (or optional and
/// absent), every value text, none larger than its limit, no undeclared field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ItemInput(BTreeMap<String, String>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("the item must be a JSON object with the automation's input fields, found {found}")]
    NotAnObject { found: &'static str },
    #[error("field {name:?} is not an input of this automation (inputs: {expected})")]
    UnknownField { name: String, expected: String },
    #[error("required input field {name:?} is missing")]
    Missing { name: String },
    #[error("input field {name:?} must be text, found {found}")]
    NotText { name: String, found: &'static str },
    #[error("input field {name:?} is {bytes} bytes, over its limit of {max} bytes")]
    TooLarge { name: String, bytes: usize, max: usize },
    /// PostgreSQL cannot store a NUL in text, and no document needs one: refused on every
    /// backend alike, so an item accepted on SQLite can always move to PostgreSQL.
    #[error(
        "input field {name:?} contains a NUL character (U+0000) at byte {at}; remove it and send the item again"
    )]
    Nul { name: String, at: usize },
}

impl InputError {
    /// Too large is a different HTTP answer (413) from malformed (422).
    pub fn is_too_large(&self) -> bool {
        matches!(self, InputError::TooLarge { .. })
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "text",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

impl ItemInput {
    pub fn parse(def: &AutomationDef, value: &serde_json::Value) -> Result<ItemInput, InputError> {
        let obj = value.as_object().ok_or(InputError::NotAnObject {
            found: json_kind(value),
        })?;
        for name in obj.keys() {
            if !def.inputs.iter().any(|i| &i.name == name) {
                return Err(InputError::UnknownField {
                    name: name.clone(),
                    expected: def
                        .inputs
                        .iter()
                        .map(|i| i.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        let mut fields = BTreeMap::new();
        for input in &def.inputs {
            match obj.get(&input.name) {
                None | Some(serde_json::Value::Null) => {
                    if input.required {
                        return Err(InputError::Missing {
                            name: input.name.clone(),
                        });
                    }
                }
                Some(serde_json::Value::String(s)) => {
                    if s.len() > input.max_bytes {
                        return Err(InputError::TooLarge {
                            name: input.name.clone(),
                            bytes: s.len(),
                            max: input.max_bytes,
                        });
                    }
                    if let Some(at) = s.find('\0') {
                        return Err(InputError::Nul {
                            name: input.name.clone(),
                            at,
                        });
                    }
                    fields.insert(input.name.clone(), s.clone());
                }
                // A form's number or check box arrives as JSON; inputs the router reads as
                // numbers, booleans or categories keep it in its JSON spelling.
                Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_)))
                    if input.kind != crate::definition::InputKind::Text =>
                {
                    fields.insert(input.name.clone(), v.to_string());
                }
                Some(other) => {
                    return Err(InputError::NotText {
                        name: input.name.clone(),
                        found: json_kind(other),
                    });
                }
            }
        }
        Ok(ItemInput(fields))
    }

    /// Rebuild from stored JSON that was validated when it was accepted.
    pub fn from_stored(fields: BTreeMap<String, String>) -> ItemInput {
        ItemInput(fields)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn fields(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def() -> AutomationDef {
        AutomationDef::parse(
            r#"
name = "T"
slug = "t"
[[inputs]]
name = "text"
max_bytes = 10
[[inputs]]
name = "subject"
required = false
[[inputs]]
name = "size"
kind = "number"
required = false
[[fields]]
name = "email"
type = "email"
"#,
        )
        .unwrap()
    }

    #[test]
    fn accepts_declared_text_fields() {
        let input = ItemInput::parse(&def(), &json!({"text": "hello"})).unwrap();
        assert_eq!(input.get("text"), Some("hello"));
        assert_eq!(input.get("subject"), None);
        // A number input takes a JSON number in its JSON spelling; a text input does not.
        let input = ItemInput::parse(&def(), &json!({"text": "hi", "size": 250})).unwrap();
        assert_eq!(input.get("size"), Some("250"));
        assert!(matches!(
            ItemInput::parse(&def(), &json!({"text": "hi", "subject": 3})),
            Err(InputError::NotText { .. })
        ));
    }

    #[test]
    fn explains_what_is_wrong() {
        let d = def();
        assert!(matches!(
            ItemInput::parse(&d, &json!([1])),
            Err(InputError::NotAnObject { .. })
        ));
        assert!(matches!(
            ItemInput::parse(&d, &json!({})),
            Err(InputError::Missing { .. })
        ));
        let e = ItemInput::parse(&d, &json!({"text": "x", "body": "y"})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "field \"body\" is not an input of this automation (inputs: text, subject, size)"
        );
        assert!(matches!(
            ItemInput::parse(&d, &json!({"text": 5})),
            Err(InputError::NotText { .. })
        ));
        let nul = ItemInput::parse(&d, &json!({"text": "ab\u{0}c"})).unwrap_err();
        assert_eq!(
            nul,
            InputError::Nul {
                name: "text".into(),
                at: 2
            }
        );
        assert!(nul.to_string().contains("NUL character (U+0000) at byte 2"));
        let big = ItemInput::parse(&d, &json!({"text": "01234567890"})).unwrap_err();
        assert!(big.is_too_large());
        assert!(big.to_string().contains("11 bytes"));
    }
}
