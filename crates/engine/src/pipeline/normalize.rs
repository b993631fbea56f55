//! Reading one typed-in value (a reviewer's correction, a label's value) as its field's
//! kind, with the same normalisation the extractors apply.

use crate::FieldKind;
use crate::patterns::{self, NormalizeError, PatternOptions};

/// The normalised form of `raw` for a field of `kind`, or why it cannot be one.
pub fn normalize(kind: FieldKind, raw: &str, opts: &PatternOptions) -> Result<String, NormalizeError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(NormalizeError::Empty);
    }
    match kind {
        FieldKind::Text | FieldKind::Identifier => Ok(s.to_owned()),
        // Lines collapse to single spaces: the value is one string, the evidence keeps
        // the layout.
        FieldKind::MultilineText => Ok(s.split_whitespace().collect::<Vec<_>>().join(" ")),
        FieldKind::Date => patterns::parse_date(s, opts.date_order).map(|d| d.to_string()),
        FieldKind::Money => {
            patterns::money::parse_money_in(s, opts.default_region.as_deref()).map(|m| m.to_string())
        }
        FieldKind::Number => patterns::number::parse_number(s).map(|d| d.value),
        FieldKind::Duration => patterns::duration::parse_duration(s),
        FieldKind::Email | FieldKind::Phone | FieldKind::Url => {
            // The whole value must be one match of the pattern, not merely contain one.
            let found = patterns::find(kind, s, opts);
            match found.as_slice() {
                [m] if m.span.start == 0 && m.span.end == s.len() => Ok(m.value.clone()),
                _ => Err(match kind {
                    FieldKind::Email => NormalizeError::NotAnEmail { input: s.to_owned(), reason: "expected name@domain".into() },
                    FieldKind::Phone => NormalizeError::NotAPhone {
                        input: s.to_owned(),
                        reason: "expected a valid number, with its country code unless the automation sets a region".into(),
                    },
                    _ => NormalizeError::NotAUrl { input: s.to_owned(), reason: "expected http://, https:// or www.".into() },
                }),
            }
        }
    }
}
