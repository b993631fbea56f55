//! The `[email]` section of a definition: what an e-mail message (an `.eml` file, or a
//! message read from a mailbox) becomes.
//!
//! ```toml
//! [email]
//! items = "both"   # the message is an item, and each attachment an item linked to it
//!                  # "message": the message only (its attachments stay in the original)
//!                  # "attachments": each attachment only; the message too when an
//!                  # attachment cannot be read, or there is none, so nothing is lost
//! ```

use serde::{Deserialize, Serialize};

use super::walk::{Table, Walker};

const EMAIL_KEYS: &[&str] = &["items"];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailItems {
    Message,
    Attachments,
    #[default]
    Both,
}

impl EmailItems {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailItems::Message => "message",
            EmailItems::Attachments => "attachments",
            EmailItems::Both => "both",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailDef {
    pub items: EmailItems,
}

pub(super) fn parse_email(w: &mut Walker<'_>, top: &Table<'_>) -> EmailDef {
    let Some(t) = w.table(top, "email", "") else {
        return EmailDef::default();
    };
    w.check_keys(t, EMAIL_KEYS, "email");
    let items = match w.string(t, "items", "email").as_deref() {
        None => EmailItems::default(),
        Some("message") => EmailItems::Message,
        Some("attachments") => EmailItems::Attachments,
        Some("both") => EmailItems::Both,
        Some(other) => {
            let at = Walker::offset_of(t, "items").unwrap_or(0);
            w.error_at(
                at,
                "email.items",
                format!("{other:?} is not a choice; expected \"message\", \"attachments\" or \"both\""),
            );
            EmailItems::default()
        }
    };
    EmailDef { items }
}

#[cfg(test)]
mod tests {
    use crate::AutomationDef;

    use super::*;

    const HEAD: &str = "name = \"M\"\nslug = \"m\"\n[[fields]]\nname = \"e\"\ntype = \"email\"\n";

    #[test]
    fn the_choice_is_read_and_a_wrong_one_is_named_at_its_line() {
        assert_eq!(AutomationDef::parse(HEAD).unwrap().email.items, EmailItems::Both);
        let d = AutomationDef::parse(&format!("{HEAD}[email]\nitems = \"attachments\"\n")).unwrap();
        assert_eq!(d.email.items, EmailItems::Attachments);
        let e = AutomationDef::parse(&format!("{HEAD}[email]\nitems = \"all\"\n")).unwrap_err();
        let shown = format!("{e:?}");
        assert!(
            e[0].path == "email.items" && e[0].message.contains("\"all\" is not a choice"),
            "{shown}"
        );
        assert_eq!(e[0].line, 7, "{shown}");
    }
}
