//! What kind of value a field holds. The kind decides how a value is normalised (a date
//! becomes ISO 8601, money a decimal with its currency) and which candidates a learned
//! extractor considers.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// One line of free text (a company name).
    Text,
    /// Free text that may span lines (an address); newlines are kept in the raw evidence
    /// and collapsed to single spaces in the value.
    MultilineText,
    /// A calendar date, normalised to `YYYY-MM-DD`.
    Date,
    /// An amount, normalised to a decimal string (`"1234.50"`), with a currency when one is
    /// written.
    Money,
    /// A code such as an invoice or order number: kept verbatim, spaces trimmed.
    Identifier,
    Email,
    /// A telephone number, normalised to E.164 (`+14155550123`).
    Phone,
    Url,
    /// A plain number, normalised to a decimal string.
    Number,
    /// A length of time ("two (2) years", "90 days"), normalised to an ISO 8601 duration
    /// in the unit written (`P2Y`, `P90D`).
    Duration,
}

impl FieldKind {
    pub const ALL: [FieldKind; 10] = [
        FieldKind::Text,
        FieldKind::MultilineText,
        FieldKind::Date,
        FieldKind::Money,
        FieldKind::Identifier,
        FieldKind::Email,
        FieldKind::Phone,
        FieldKind::Url,
        FieldKind::Number,
        FieldKind::Duration,
    ];

    /// The name used in automation files and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::MultilineText => "multiline_text",
            FieldKind::Date => "date",
            FieldKind::Money => "money",
            FieldKind::Identifier => "identifier",
            FieldKind::Email => "email",
            FieldKind::Phone => "phone",
            FieldKind::Url => "url",
            FieldKind::Number => "number",
            FieldKind::Duration => "duration",
        }
    }
}

impl std::fmt::Display for FieldKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
