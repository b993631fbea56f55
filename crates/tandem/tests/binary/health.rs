//! `/readyz` of the real binary tells a load balancer the truth: 503 and the reason while
//! the database lacks a migration this build needs or cannot be reached, 200 once it is
//! whole again.

use reqwest::StatusCode;
use sqlx::{AnyPool, Row};
use tandem_test_support::{TestBackend, TestDb, backends};

use crate::instance::{Instance, free_port};

async fn readyz(instance: &Instance) -> (StatusCode, String) {
    let r = reqwest::get(format!("{}/readyz", instance.url))
        .await
        .expect("/readyz answers");
    let status = r.status();
    (status, r.text().await.expect("a body"))
}

#[tokio::test]
async fn readyz_fails_with_the_reason_while_the_database_is_not_migrated_or_gone() {
    sqlx::any::install_default_drivers();
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let serve = Instance::serve(&db.url, dir.path(), free_port()).await;
        assert_eq!(readyz(&serve).await, (StatusCode::OK, "ready".to_owned()));

        // The newest migration's record goes, as if the database had been restored from a
        // backup taken before it, under the running instance.
        let pool = AnyPool::connect(&db.url)
            .await
            .expect("connect to the test database");
        let row = sqlx::query(
            "SELECT version, description, checksum, execution_time FROM _sqlx_migrations
             WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
        )
        .fetch_one(&pool)
        .await
        .expect("the binary applied migrations");
        let version: i64 = row.get(0);
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = $1")
            .bind(version)
            .execute(&pool)
            .await
            .unwrap();
        let (status, body) = readyz(&serve).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{backend:?}: {body}");
        assert_eq!(
            body,
            format!("not ready: database migrations not applied: {version}"),
            "{backend:?}"
        );

        // Applied again: ready again, without a restart.
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES ($1, $2, TRUE, $3, $4)",
        )
        .bind(version)
        .bind(row.get::<String, _>(1))
        .bind(row.get::<Vec<u8>, _>(2))
        .bind(row.get::<i64, _>(3))
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
        assert_eq!(readyz(&serve).await, (StatusCode::OK, "ready".to_owned()));

        // The database goes away altogether (PostgreSQL: dropped with its connections; an
        // SQLite file open in the process cannot be taken away from it).
        if backend == TestBackend::Postgres {
            db.drop_database().await;
            let (status, body) = readyz(&serve).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
            assert_eq!(body, "not ready: the database is unreachable");
            let live = reqwest::get(format!("{}/healthz", serve.url)).await.unwrap();
            assert_eq!(live.status(), StatusCode::OK, "the process itself is still up");
        }
    }
}
