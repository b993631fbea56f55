//! A real IMAP server for tests: Dovecot from Debian's `dovecot-imapd`, started on a free
//! loopback port with its own configuration, a TLS certificate made for the test (by
//! `openssl`, signed by a CA of its own that the client is told to trust), and one user in
//! a passwd file. Stopped on drop. Missing Dovecot fails the test: it never skips.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DOVECOT: &str = "/usr/sbin/dovecot";

#[derive(Debug)]
pub struct Dovecot {
    dir: tempfile::TempDir,
    child: Child,
    pub port: u16,
    pub user: String,
    pub password: String,
}

impl Dovecot {
    pub async fn start() -> Dovecot {
        assert!(
            Path::new(DOVECOT).exists(),
            "{DOVECOT} is missing: install Debian's dovecot-imapd (scripts/test.sh does)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        for sub in ["run", "state", "home"] {
            std::fs::create_dir_all(d.join(sub)).expect("dir");
        }
        make_certificates(d);
        let user = "in@example.com".to_owned();
        let password = format!("pw-{}", std::process::id());
        std::fs::write(d.join("passwd"), format!("{user}:{{PLAIN}}{password}\n")).expect("passwd");
        // Dovecot will not keep mail as root: as root, the mail belongs to its own user.
        let (uid, gid) = mail_owner(d);
        let port = free_port();
        let conf = format!(
            r#"base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{d}/server.pem
ssl_key = <{d}/server.key
auth_mechanisms = plain
first_valid_uid = {uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
"#,
            d = d.display()
        );
        std::fs::write(d.join("dovecot.conf"), conf).expect("config");
        let child = Command::new(DOVECOT)
            .arg("-F")
            .arg("-c")
            .arg(d.join("dovecot.conf"))
            .stdin(Stdio::null())
            .spawn()
            .expect("start dovecot");
        let server = Dovecot {
            dir,
            child,
            port,
            user,
            password,
        };
        server.wait_ready().await;
        server
    }

    /// The CA certificate (PEM) the server's certificate is signed by.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// An `[email.mailbox]` section for this server, the password in `password_env`.
    pub fn mailbox_toml(&self, password_env: &str) -> String {
        format!(
            "[email.mailbox]\nhost = \"127.0.0.1\"\nport = {}\nfolder = \"INBOX\"\nuser = \"{}\"\npassword_env = \"{password_env}\"\nca_file = \"{}\"\n",
            self.port,
            self.user,
            self.ca_file().display()
        )
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            let log = std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default();
            assert!(
                Instant::now() < deadline,
                "dovecot did not listen on {} within 20 s; its log:\n{log}",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Append a message to INBOX over IMAP (APPEND), as a mail server delivering it would.
    pub async fn append(&self, message: &[u8]) {
        let mut roots = rustls::RootCertStore::empty();
        let pem = std::fs::read(self.ca_file()).expect("ca");
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        for c in CertificateDer::pem_slice_iter(&pem) {
            roots.add(c.expect("pem")).expect("ca");
        }
        let config =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("tls")
                .with_root_certificates(roots)
                .with_no_client_auth();
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("connect");
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name");
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .expect("tls");
        let mut client = async_imap::Client::new(tls);
        client.read_response().await.expect("greeting").expect("greeting");
        let mut session = client
            .login(&self.user, &self.password)
            .await
            .map_err(|(e, _)| e)
            .expect("login");
        session
            .append("INBOX", None, None, message)
            .await
            .expect("append");
        session.logout().await.expect("logout");
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its children; SIGKILL only if it does not.
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// The uid and gid mail is kept as: this process's own, or Dovecot's user when root.
fn mail_owner(d: &Path) -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(d).expect("metadata");
    if meta.uid() != 0 {
        return (meta.uid(), meta.gid());
    }
    let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    let (uid, gid) = passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&"dovecot")).then(|| (f[2].parse().ok(), f[3].parse().ok()))
        })
        .and_then(|(u, g)| Some((u?, g?)))
        .expect("the dovecot user (made by the dovecot-core package)");
    std::os::unix::fs::chown(d.join("home"), Some(uid), Some(gid)).expect("chown home");
    (uid, gid)
}

/// A CA and a server certificate for 127.0.0.1 signed by it, made with `openssl`.
fn make_certificates(d: &Path) {
    let ext = d.join("ext.cnf");
    std::fs::write(&ext, "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n").expect("ext");
    let steps: [&[&str]; 3] = [
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=Tandem test CA",
        ],
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    ];
    for args in steps {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(d)
            .output()
            .expect("openssl (Debian: apt-get install openssl)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
