//! The `[email]` section of a definition: what an e-mail message (an `.eml` file, or a
//! message read from a mailbox) becomes.
//!
//! ```toml
//! [email]
//! items = "both"   # the message is an item, and each attachment an item linked to it
//!                  # "message": the message only (its attachments stay in the original)
//!                  # "attachments": each attachment only; the message too when an
//!                  # attachment cannot be read, or there is none, so nothing is lost
//!
//! [email.mailbox]      # optional: a shared mailbox the worker polls (IMAP over TLS)
//! host = "imap.example.com"
//! port = 993           # the default
//! folder = "INBOX"     # the default
//! user = "invoices@example.com"
//! password_env = "INVOICES_IMAP_PASSWORD"   # the variable's name, never the password
//! ca_file = "/etc/tandem/our-ca.pem"        # optional: also trust this CA (a private server)
//! ```

use serde::{Deserialize, Serialize};

use super::walk::{Table, Walker, join};

const EMAIL_KEYS: &[&str] = &["items", "mailbox"];
const MAILBOX_KEYS: &[&str] = &["host", "port", "folder", "user", "password_env", "ca_file"];

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

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailDef {
    pub items: EmailItems,
    /// The mailbox the worker reads messages from, if any.
    #[serde(default)]
    pub mailbox: Option<MailboxDef>,
}

/// A shared mailbox read over IMAP with TLS (`[email.mailbox]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxDef {
    pub host: String,
    pub port: u16,
    pub folder: String,
    pub user: String,
    /// The environment variable holding the password (never the password: definitions
    /// are versioned, shown and kept in the database).
    pub password_env: String,
    /// A PEM file of certificate authorities to trust besides the system's.
    #[serde(default)]
    pub ca_file: Option<String>,
}

impl MailboxDef {
    /// The mailbox's identity for remembering what was read: a different server, user or
    /// folder is a different mailbox, read from its start.
    pub fn key(&self) -> String {
        format!(
            "imaps://{}@{}:{}/{}",
            self.user, self.host, self.port, self.folder
        )
    }
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
    let mailbox = w
        .table(t, "mailbox", "email")
        .and_then(|m| parse_mailbox(w, m, Walker::offset_of(t, "mailbox").unwrap_or(0)));
    EmailDef { items, mailbox }
}

fn parse_mailbox(w: &mut Walker<'_>, t: &Table<'_>, at: usize) -> Option<MailboxDef> {
    let path = "email.mailbox";
    w.check_keys(t, MAILBOX_KEYS, path);
    let host = w.required_string(t, "host", path, at);
    if let Some(h) = &host
        && (h.is_empty() || h.contains(|c: char| c.is_whitespace() || c == '/' || c == ':'))
    {
        let hat = Walker::offset_of(t, "host").unwrap_or(at);
        w.error_at(
            hat,
            &join(path, "host"),
            format!("{h:?} is not a host name (such as \"imap.example.com\")"),
        );
    }
    let port = w.number(t, "port", path, 1.0, 65535.0).map_or(993, |p| p as u16);
    let folder = w.string(t, "folder", path).unwrap_or_else(|| "INBOX".into());
    if folder.is_empty() || folder.contains(['"', '\\', '\r', '\n']) {
        let fat = Walker::offset_of(t, "folder").unwrap_or(at);
        w.error_at(
            fat,
            &join(path, "folder"),
            "must be a folder name without quotes, backslashes or line breaks",
        );
    }
    let user = w.required_string(t, "user", path, at);
    let password_env = w.required_string(t, "password_env", path, at);
    if let Some(name) = &password_env
        && !(!name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !name.as_bytes()[0].is_ascii_digit())
    {
        let pat = Walker::offset_of(t, "password_env").unwrap_or(at);
        w.error_at(
            pat,
            &join(path, "password_env"),
            format!("{name:?} is not an environment variable name; give the variable's name (such as \"IMAP_PASSWORD\"), never the password itself"),
        );
    }
    let ca_file = w.string(t, "ca_file", path);
    Some(MailboxDef {
        host: host?,
        port,
        folder,
        user: user?,
        password_env: password_env?,
        ca_file,
    })
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

    #[test]
    fn a_mailbox_is_read_with_its_defaults_and_a_password_is_refused() {
        let d = AutomationDef::parse(&format!(
            "{HEAD}[email.mailbox]\nhost = \"imap.example.com\"\nuser = \"in@example.com\"\npassword_env = \"IN_PASSWORD\"\n"
        ))
        .unwrap();
        let m = d.email.mailbox.unwrap();
        assert_eq!((m.port, m.folder.as_str()), (993, "INBOX"));
        assert_eq!(m.key(), "imaps://in@example.com@imap.example.com:993/INBOX");
        let e = AutomationDef::parse(&format!(
            "{HEAD}[email.mailbox]\nhost = \"imap.example.com\"\nuser = \"u\"\npassword_env = \"hunter 2\"\n"
        ))
        .unwrap_err();
        assert!(
            e[0].path == "email.mailbox.password_env" && e[0].message.contains("never the password"),
            "{e:?}"
        );
        let e = AutomationDef::parse(&format!("{HEAD}[email.mailbox]\nhost = \"h\"\n")).unwrap_err();
        let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            ["email.mailbox.user", "email.mailbox.password_env"],
            "{e:?}"
        );
    }
}
