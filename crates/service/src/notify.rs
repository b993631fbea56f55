//! Telling people about work: a message to a Slack-compatible incoming webhook (a POST of
//! `{"text": ...}` in Slack's mrkdwn) or an e-mail through an SMTP relay (lettre).
//!
//! A [`Message`] is built once, as plain lines with links, and rendered for each channel:
//! mrkdwn with `<url|label>` links for Slack, plain text with the URLs written out for
//! e-mail. Item text is untrusted, so it is escaped for mrkdwn and never becomes markup.
//! E-mail is plain text on purpose: no HTML is built, so none can be injected.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tandem_domain::definition::NotifyChannel;

use crate::Tandem;

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SmtpSecurity {
    /// Plain SMTP (a relay on localhost or a test server).
    None,
    /// Upgrade with STARTTLS (port 587).
    #[default]
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl SmtpSecurity {
    pub fn parse(s: &str) -> Option<SmtpSecurity> {
        match s {
            "none" => Some(SmtpSecurity::None),
            "starttls" => Some(SmtpSecurity::StartTls),
            "tls" => Some(SmtpSecurity::Tls),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    /// The sender, e.g. `Tandem <tandem@example.com>`.
    pub from: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub security: SmtpSecurity,
}

/// Settings for the exception inbox: claims, signed links and notifications.
#[derive(Debug, Clone)]
pub struct InboxSettings {
    /// Without an SMTP relay, e-mail channels record an error instead of sending.
    pub smtp: Option<SmtpSettings>,
    /// How long opening an item holds it for the reviewer.
    pub claim_ttl: Duration,
    /// How long a decision link in a notification stays valid.
    pub link_ttl: Duration,
    /// The key for signing decision links. When unset, one is generated and kept in the
    /// database, so every instance signs alike.
    pub link_secret: Option<String>,
    /// How often each automation's digest of new and overdue exceptions goes out.
    pub digest_every: Duration,
}

impl Default for InboxSettings {
    fn default() -> Self {
        Self {
            smtp: None,
            claim_ttl: Duration::from_secs(5 * 60),
            link_ttl: Duration::from_secs(72 * 3600),
            link_secret: None,
            digest_every: Duration::from_secs(3600),
        }
    }
}

/// One line of a notification: some text and the links that act on it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Line {
    pub text: String,
    pub links: Vec<(String, String)>,
}

/// A notification, independent of the channel it goes to.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Message {
    pub subject: String,
    pub intro: String,
    pub lines: Vec<Line>,
}

/// Escape text for Slack's mrkdwn: `&`, `<` and `>` are its only control characters.
pub fn mrkdwn_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

impl Message {
    /// The Slack text: a bold subject, then one bullet per line with its links.
    pub fn to_mrkdwn(&self) -> String {
        let mut out = format!("*{}*", mrkdwn_escape(&self.subject));
        if !self.intro.is_empty() {
            out.push('\n');
            out.push_str(&mrkdwn_escape(&self.intro));
        }
        for l in &self.lines {
            out.push_str("\n• ");
            out.push_str(&mrkdwn_escape(&l.text));
            for (label, url) in &l.links {
                // A URL inside <...|...> must not hold the delimiters itself.
                let url = url.replace(['<', '>', '|'], "");
                out.push_str(&format!("  <{url}|{}>", mrkdwn_escape(label)));
            }
        }
        out
    }

    /// The e-mail body: plain text, each link written out on its own line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if !self.intro.is_empty() {
            out.push_str(&self.intro);
            out.push_str("\n\n");
        }
        for l in &self.lines {
            out.push_str("- ");
            out.push_str(&l.text);
            out.push('\n');
            for (label, url) in &l.links {
                out.push_str(&format!("    {label}: {url}\n"));
            }
            out.push('\n');
        }
        out.push_str("-- \nSent by Tandem. Each link opens a page that shows what will be decided; only its button decides.\n");
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("no SMTP relay is configured ([inbox.smtp] host), so e-mail cannot be sent")]
    NoSmtp,
    #[error("{0}")]
    Address(String),
    /// `permanent`: the relay refused for good (a 5xx reply, a message it cannot take).
    #[error("e-mail not sent: {detail}")]
    Smtp { detail: String, permanent: bool },
    /// `permanent`: the webhook answered with a client error other than 408 or 429
    /// (a deleted hook, a revoked token), which trying again will not mend.
    #[error("Slack webhook: {detail}")]
    Slack { detail: String, permanent: bool },
}

impl NotifyError {
    /// Whether trying again later could succeed: a connection refused, a timeout, a 4xx
    /// SMTP reply, an HTTP 5xx or 429. Missing settings and bad addresses need a person.
    pub fn is_transient(&self) -> bool {
        match self {
            NotifyError::NoSmtp | NotifyError::Address(_) => false,
            NotifyError::Smtp { permanent, .. } | NotifyError::Slack { permanent, .. } => !permanent,
        }
    }
}

impl Tandem {
    /// Send `msg` to one channel.
    pub async fn notify(&self, channel: &NotifyChannel, msg: &Message) -> Result<(), NotifyError> {
        match channel {
            NotifyChannel::Slack { url } => self.send_slack(url, msg).await,
            NotifyChannel::Email { to } => self.send_email(to, msg).await,
        }
    }

    /// POST the message to a Slack-compatible incoming webhook.
    pub async fn send_slack(&self, url: &str, msg: &Message) -> Result<(), NotifyError> {
        let body = serde_json::json!({ "text": msg.to_mrkdwn(), "mrkdwn": true });
        self.settings
            .outbound
            .check_url(url)
            .map_err(|detail| NotifyError::Slack {
                detail,
                permanent: true,
            })?;
        let resp = self
            .http
            .post(url)
            .json(&body)
            .send()
            .await
            .map_err(|e| NotifyError::Slack {
                detail: if e.is_timeout() {
                    "no answer in time".into()
                } else if e.is_connect() {
                    "cannot connect".into()
                } else {
                    e.to_string()
                },
                permanent: false,
            })?;
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else {
            let text: String = resp.text().await.unwrap_or_default().chars().take(200).collect();
            let permanent = status.is_client_error()
                && status != reqwest::StatusCode::REQUEST_TIMEOUT
                && status != reqwest::StatusCode::TOO_MANY_REQUESTS;
            Err(NotifyError::Slack {
                detail: format!("HTTP {status}: {text}"),
                permanent,
            })
        }
    }

    /// Send the message as a plain-text e-mail to each address (one message, all in To).
    pub async fn send_email(&self, to: &[String], msg: &Message) -> Result<(), NotifyError> {
        let smtp = self.settings.inbox.smtp.as_ref().ok_or(NotifyError::NoSmtp)?;
        let from: Mailbox = smtp
            .from
            .parse()
            .map_err(|e| NotifyError::Address(format!("sender {:?}: {e}", smtp.from)))?;
        let mut builder = lettre::Message::builder().from(from).subject(msg.subject.clone());
        for addr in to {
            let mailbox: Mailbox = addr
                .parse()
                .map_err(|e| NotifyError::Address(format!("recipient {addr:?}: {e}")))?;
            builder = builder.to(mailbox);
        }
        let email = builder
            .header(ContentType::TEXT_PLAIN)
            .body(msg.to_text())
            .map_err(|e| NotifyError::Smtp {
                detail: e.to_string(),
                permanent: true,
            })?;
        let transport = smtp_transport(smtp)?;
        transport
            .send(email)
            .await
            .map(|_| ())
            .map_err(|e| NotifyError::Smtp {
                permanent: e.is_permanent(),
                detail: e.to_string(),
            })
    }
}

fn smtp_transport(s: &SmtpSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, NotifyError> {
    let builder = match s.security {
        SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
        SmtpSecurity::StartTls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host).map_err(|e| NotifyError::Smtp {
                detail: e.to_string(),
                permanent: true,
            })?
        }
        SmtpSecurity::Tls => {
            AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host).map_err(|e| NotifyError::Smtp {
                detail: e.to_string(),
                permanent: true,
            })?
        }
    };
    let mut builder = builder.port(s.port).timeout(Some(Duration::from_secs(20)));
    if let (Some(u), Some(p)) = (&s.username, &s.password) {
        builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
    }
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg() -> Message {
        Message {
            subject: "2 items <need> you".into(),
            intro: "Support & co".into(),
            lines: vec![Line {
                text: "#1 <script>alert(1)</script>".into(),
                links: vec![("Approve".into(), "https://t.example/decide/abc".into())],
            }],
        }
    }

    #[test]
    fn mrkdwn_escapes_item_text_and_keeps_links() {
        let m = msg().to_mrkdwn();
        assert!(
            m.starts_with("*2 items &lt;need&gt; you*\nSupport &amp; co"),
            "{m}"
        );
        assert!(m.contains("#1 &lt;script&gt;alert(1)&lt;/script&gt;"), "{m}");
        assert!(m.contains("<https://t.example/decide/abc|Approve>"), "{m}");
    }

    #[test]
    fn text_writes_links_out() {
        let t = msg().to_text();
        assert!(
            t.contains("- #1 <script>alert(1)</script>\n    Approve: https://t.example/decide/abc\n"),
            "{t}"
        );
    }
}
