//! URL-safe names for workspaces and automations.

use serde::{Deserialize, Serialize};

/// Lower-case ASCII letters, digits and single hyphens; 1 to 64 characters; starts with a
/// letter. Checked once here, so a `Slug` can go into a URL or a file name unescaped.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    pub fn parse(s: &str) -> Result<Slug, String> {
        let ok_chars = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if s.is_empty() || s.len() > 64 {
            Err(format!("{s:?} must be 1 to 64 characters long"))
        } else if !ok_chars {
            Err(format!(
                "{s:?} may only contain lower-case letters, digits and hyphens"
            ))
        } else if !s.as_bytes()[0].is_ascii_lowercase() {
            Err(format!("{s:?} must start with a letter"))
        } else if s.ends_with('-') || s.contains("--") {
            Err(format!(
                "{s:?} must not end with a hyphen or contain two in a row"
            ))
        } else {
            Ok(Slug(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Slug::parse(&s)
    }
}

impl From<Slug> for String {
    fn from(s: Slug) -> String {
        s.0
    }
}

impl std::fmt::Display for Slug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_good_and_explains_bad() {
        assert!(Slug::parse("customer-requests").is_ok());
        assert!(Slug::parse("a1").is_ok());
        assert!(Slug::parse("").is_err());
        assert!(Slug::parse("Receipts").unwrap_err().contains("lower-case"));
        assert!(Slug::parse("1st").unwrap_err().contains("start with a letter"));
        assert!(Slug::parse("a--b").is_err());
        assert!(Slug::parse("../etc").is_err());
    }
}
