//! A shared mailbox as a source of items (`[email.mailbox]`): the worker reads new
//! messages over IMAP with TLS, once per poll period across all instances (a scheduled
//! task, [`MailboxPoll`]), and each message is accepted as an uploaded `.eml` would be.
//!
//! What was read is remembered per mailbox in the database (`mailbox_cursors`: the
//! folder's UIDVALIDITY and the last UID accepted), advanced after each message is
//! stored. A crash between storing a message and advancing the cursor reads that message
//! again next time, and its SHA-256 idempotency key makes it the same item, so nothing is
//! read twice as items or lost. A new UIDVALIDITY (the folder was recreated) starts from
//! the beginning, with the same protection. Messages are only read (`BODY.PEEK`), never
//! flagged, moved or deleted: the mailbox stays the team's.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tandem_domain::WorkspaceId;
use tandem_domain::definition::MailboxDef;

use super::Upload;
use crate::schedule::{Period, PeriodicTask, TaskRun};
use crate::{ServiceError, ServiceResult, Tandem};

/// How often mailboxes are read.
pub const POLL_EVERY: Duration = Duration::from_secs(60);
/// Messages accepted in one poll; the rest wait for the next, so one poll stays short.
const MAX_PER_POLL: usize = 200;
/// Connecting, signing in and each IMAP command are given up past this.
const NETWORK_DEADLINE: Duration = Duration::from_secs(60);

/// What one poll of one mailbox did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Polled {
    /// New messages seen (past the remembered UID).
    pub messages: usize,
    /// Items made from them (a message and its attachments may be several).
    pub created: usize,
    /// Messages that were not accepted, each with its UID and the reason; they stay in the
    /// mailbox, untouched.
    pub refused: Vec<String>,
}

type Session = async_imap::Session<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

impl Tandem {
    /// Read the new messages of automation `slug`'s mailbox into items. Used by the
    /// scheduled poll; callable on its own (a test, an operator's `tandem`).
    pub async fn poll_mailbox(&self, ws: WorkspaceId, slug: &str) -> ServiceResult<Polled> {
        let (automation, compiled) = self.active(ws, slug).await?;
        let def = compiled
            .def
            .email
            .mailbox
            .clone()
            .ok_or_else(|| ServiceError::Conflict(format!("automation {slug} has no [email.mailbox]")))?;
        let password = self.mailbox_password(&def)?;
        let key = def.key();
        let mut session = connect(self, &def, &password).await?;
        let result = async {
            let selected = timed(session.select(&def.folder)).await?;
            let validity = i64::from(selected.uid_validity.unwrap_or(0));
            let after = match self.store.mailbox_cursor(ws, automation.id, &key).await? {
                Some((v, last)) if v == validity => last,
                _ => 0,
            };
            let first = u32::try_from(after + 1).unwrap_or(u32::MAX);
            let found = timed(session.uid_search(format!("UID {first}:*"))).await?;
            // "n:*" always names the last message, even below n: keep only the new ones.
            let mut uids: Vec<u32> = found.into_iter().filter(|&u| i64::from(u) > after).collect();
            uids.sort_unstable();
            uids.truncate(MAX_PER_POLL);
            let mut polled = Polled {
                messages: uids.len(),
                ..Polled::default()
            };
            for uid in uids {
                let bytes = fetch(&mut session, uid).await?;
                let upload = Upload {
                    file_name: format!("{}-{uid}.eml", def.folder),
                    bytes,
                };
                match self.accept_file(ws, &automation, &compiled, upload).await {
                    Ok(a) => {
                        polled.created +=
                            usize::from(a.inserted.created) + a.linked.iter().filter(|l| l.created).count();
                    }
                    // The message's own fault: say so, leave it in the mailbox, go on.
                    Err(e @ (ServiceError::Invalid { .. } | ServiceError::TooLarge(_))) => {
                        tracing::warn!(mailbox = %key, uid, error = %e, "message not accepted");
                        polled.refused.push(format!("UID {uid}: {e}"));
                    }
                    // The server's (the database, a missing tool): stop; read it again next time.
                    Err(e) => return Err(e),
                }
                self.store
                    .set_mailbox_cursor(ws, automation.id, &key, validity, i64::from(uid), self.now())
                    .await?;
            }
            Ok(polled)
        }
        .await;
        // A polite goodbye; the connection closes either way.
        let _ = tokio::time::timeout(Duration::from_secs(5), session.logout()).await;
        result
    }

    fn mailbox_password(&self, def: &MailboxDef) -> ServiceResult<String> {
        let var = &def.password_env;
        self.settings
            .documents
            .env_overrides
            .get(var)
            .cloned()
            .or_else(|| std::env::var(var).ok())
            .ok_or_else(|| {
                ServiceError::Unavailable(format!(
                    "the environment variable {var} (named by email.mailbox.password_env) is not set, so the mailbox cannot be read"
                ))
            })
    }
}

/// One message's bytes, by UID, without marking it read.
async fn fetch(session: &mut Session, uid: u32) -> ServiceResult<Vec<u8>> {
    let mut body = None;
    {
        let mut stream = timed(session.uid_fetch(uid.to_string(), "(UID BODY.PEEK[])")).await?;
        while let Some(f) = timed(async { stream.next().await.transpose() }).await? {
            if f.uid == Some(uid)
                && let Some(b) = f.body()
            {
                body = Some(b.to_vec());
            }
        }
    }
    body.ok_or_else(|| ServiceError::Unavailable(format!("the mailbox did not return message UID {uid}")))
}

/// An IMAP step within the network deadline, its errors in words.
async fn timed<T>(step: impl Future<Output = async_imap::error::Result<T>>) -> ServiceResult<T> {
    match tokio::time::timeout(NETWORK_DEADLINE, step).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ServiceError::Unavailable(format!(
            "the mailbox server answered: {e}"
        ))),
        Err(_) => Err(ServiceError::Unavailable(format!(
            "the mailbox server did not answer within {} s",
            NETWORK_DEADLINE.as_secs()
        ))),
    }
}

/// Connect with TLS (the system's CAs, and the definition's `ca_file`), where the
/// outbound policy allows, and sign in.
async fn connect(t: &Tandem, def: &MailboxDef, password: &str) -> ServiceResult<Session> {
    let unavailable = |m: String| ServiceError::Unavailable(format!("mailbox {}: {m}", def.key()));
    let policy = &t.settings.outbound;
    policy.check_host(&def.host).map_err(unavailable)?;
    let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((def.host.as_str(), def.port))
        .await
        .map_err(|e| unavailable(format!("cannot resolve {}: {e}", def.host)))?
        .collect();
    let allowed: Vec<_> = addrs
        .into_iter()
        .filter(|a| policy.check_address(&def.host, a.ip()).is_ok())
        .collect();
    if allowed.is_empty() {
        return Err(unavailable(format!(
            "{} resolves to no address the outbound policy allows",
            def.host
        )));
    }
    let tcp = tokio::time::timeout(NETWORK_DEADLINE, tokio::net::TcpStream::connect(&allowed[..]))
        .await
        .map_err(|_| unavailable("connecting timed out".into()))?
        .map_err(|e| unavailable(format!("cannot connect: {e}")))?;
    let config = tls_config(def).map_err(unavailable)?;
    let name = rustls::pki_types::ServerName::try_from(def.host.clone())
        .map_err(|e| unavailable(format!("{:?} is not a TLS server name: {e}", def.host)))?;
    let tls = tokio::time::timeout(
        NETWORK_DEADLINE,
        tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp),
    )
    .await
    .map_err(|_| unavailable("the TLS handshake timed out".into()))?
    .map_err(|e| unavailable(format!("TLS: {e}")))?;
    let mut client = async_imap::Client::new(tls);
    // The server's greeting comes first.
    let greeting = tokio::time::timeout(NETWORK_DEADLINE, client.read_response())
        .await
        .map_err(|_| unavailable("no greeting from the server".into()))?
        .map_err(|e| unavailable(format!("reading the greeting: {e}")))?;
    if greeting.is_none() {
        return Err(unavailable(
            "the server closed the connection before its greeting".into(),
        ));
    }
    match tokio::time::timeout(NETWORK_DEADLINE, client.login(&def.user, password)).await {
        Err(_) => Err(unavailable("signing in timed out".into())),
        Ok(Err((e, _))) => Err(unavailable(format!("signing in as {} failed: {e}", def.user))),
        Ok(Ok(session)) => Ok(session),
    }
}

fn tls_config(def: &MailboxDef) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    // Certificates the system cannot parse are skipped, as browsers do.
    for c in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(c);
    }
    if let Some(file) = &def.ca_file {
        let certs = CertificateDer::pem_file_iter(file).map_err(|e| format!("ca_file {file}: {e}"))?;
        for c in certs {
            let c = c.map_err(|e| format!("ca_file {file}: {e}"))?;
            roots.add(c).map_err(|e| format!("ca_file {file}: {e}"))?;
        }
    }
    // Named explicitly: more than one provider is built into this binary.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Reads every automation's mailbox once per [`POLL_EVERY`], once across instances.
#[derive(Debug)]
pub struct MailboxPoll;

#[async_trait::async_trait]
impl PeriodicTask for MailboxPoll {
    fn kind(&self) -> &'static str {
        "mailbox_poll"
    }

    fn period(&self) -> Period {
        Period::every(POLL_EVERY)
    }

    fn lease(&self) -> Duration {
        Duration::from_secs(600)
    }

    async fn run(&self, tandem: &Tandem, run: &TaskRun) -> ServiceResult<String> {
        let mut lines = Vec::new();
        for a in tandem.store.list_automations(run.workspace).await? {
            let Ok((_, compiled)) = tandem.active(run.workspace, &a.slug).await else {
                continue;
            };
            if compiled.def.email.mailbox.is_none() {
                continue;
            }
            // One mailbox failing (down, a wrong password) does not stop the others.
            match tandem.poll_mailbox(run.workspace, &a.slug).await {
                Ok(p) => lines.push(format!(
                    "{}: {} new message(s), {} item(s){}",
                    a.slug,
                    p.messages,
                    p.created,
                    if p.refused.is_empty() {
                        String::new()
                    } else {
                        format!(", {} refused", p.refused.len())
                    }
                )),
                Err(e) => {
                    tracing::warn!(automation = %a.slug, error = %e, "mailbox poll failed");
                    lines.push(format!("{}: {e}", a.slug));
                }
            }
        }
        Ok(if lines.is_empty() {
            "no automation reads a mailbox".into()
        } else {
            lines.join("; ")
        })
    }
}
