//! A database per test.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

/// The backends to run storage-dependent tests on: `TANDEM_TEST_BACKENDS` (comma
/// separated: `sqlite`, `postgres`), both by default.
pub fn backends() -> Vec<TestBackend> {
    let spec = std::env::var("TANDEM_TEST_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    spec.split(',')
        .filter_map(|s| match s.trim() {
            "sqlite" => Some(TestBackend::Sqlite),
            "postgres" => Some(TestBackend::Postgres),
            "" => None,
            other => panic!("TANDEM_TEST_BACKENDS: unknown backend {other:?}"),
        })
        .collect()
}

/// The server used for PostgreSQL test databases.
fn admin_url() -> String {
    std::env::var("TANDEM_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh, empty database. SQLite: a file in a temporary directory. PostgreSQL: a new
/// database on the test server, dropped (with its connections) on `Drop`.
#[derive(Debug)]
pub struct TestDb {
    pub backend: TestBackend,
    pub url: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    pub async fn new(backend: TestBackend) -> TestDb {
        match backend {
            TestBackend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("tandem.db").display());
                TestDb {
                    backend,
                    url,
                    pg_name: None,
                    _dir: Some(dir),
                }
            }
            TestBackend::Postgres => {
                let name = format!(
                    "tandem_test_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.subsec_nanos())
                );
                let admin = admin_url();
                let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!(
                        "cannot reach the PostgreSQL test server at {admin}: {e}. Start it \
                         (pg_ctlcluster --skip-systemctl-redirect 15 main start) or run with \
                         TANDEM_TEST_BACKENDS=sqlite"
                    )
                });
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let url = match admin.rfind('/') {
                    Some(i) => format!("{}/{name}", &admin[..i]),
                    None => panic!("TANDEM_TEST_POSTGRES_URL must end in /DATABASE"),
                };
                TestDb {
                    backend,
                    url,
                    pg_name: Some(name),
                    _dir: None,
                }
            }
        }
    }
}

impl TestDb {
    /// PostgreSQL: drop the database now, with its connections, as if the server had lost
    /// it; a program using it finds it unreachable from then on. SQLite: does nothing.
    pub async fn drop_database(&self) {
        if let Some(name) = &self.pg_name {
            drop_postgres(name)
                .await
                .unwrap_or_else(|e| panic!("could not drop the test database {name}: {e}"));
        }
    }
}

async fn drop_postgres(name: &str) -> Result<(), sqlx::Error> {
    let mut conn = sqlx::PgConnection::connect(&admin_url()).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    Ok(())
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else { return };
        // Drop runs outside any runtime guarantee, so use a small one of our own on a
        // separate thread.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(drop_postgres(&name)).ok()
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("warning: could not drop a PostgreSQL test database");
        }
    }
}
