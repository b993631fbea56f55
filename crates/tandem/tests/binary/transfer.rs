//! Backups, restores and moving a workspace from SQLite to PostgreSQL, through the binary.

use std::time::Duration;

use serde_json::{Value, json};
use sqlx::Row;
use tandem_test_support::{Receiver, TestBackend, TestDb, backends, eventually};

use crate::instance::{Instance, free_port, prepare, tandem};

async fn post_batch(url: &str, token: &str, from: usize, n: usize) {
    let items: Vec<Value> = (from..from + n)
        .map(|i| json!({ "input": { "text": format!("Write to someone{i}@example.com") } }))
        .collect();
    let resp = reqwest::Client::new()
        .post(format!("{url}/api/v1/automations/contacts/items/batch"))
        .bearer_auth(token)
        .json(&json!({ "items": items }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}

async fn get(url: &str, token: &str) -> Value {
    let resp = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{url}: {}", resp.status());
    resp.json().await.unwrap()
}

async fn items_in(db_url: &str) -> usize {
    let store = tandem_store::open(db_url).await.unwrap();
    let ws = store.workspace_by_slug("default").await.unwrap().unwrap().id;
    let all = tandem_store::ItemFilter {
        statuses: Vec::new(),
        limit: 1000,
        ..Default::default()
    };
    store.list_items(ws, &all).await.unwrap().len()
}

#[tokio::test]
async fn sqlite_is_backed_up_while_serving_and_restored() {
    if !backends().contains(&TestBackend::Sqlite) {
        return;
    }
    let db = TestDb::new(TestBackend::Sqlite).await;
    let receiver = Receiver::start().await;
    let token = prepare(&db.url, &receiver.url).await;
    let dir = tempfile::tempdir().unwrap();
    let mut a = Instance::serve(&db.url, dir.path(), free_port()).await;
    post_batch(&a.url, &token, 0, 50).await;

    // Online: the server keeps running (and taking items) during and after the backup.
    let file = dir.path().join("backup.db");
    let out = tandem(dir.path())
        .args(["--database", &db.url, "backup"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let again = tandem(dir.path())
        .args(["--database", &db.url, "backup"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    post_batch(&a.url, &token, 50, 10).await;
    assert!(a.terminate().await.success());

    let restored_dir = tempfile::tempdir().unwrap();
    let restore = |replace: bool| {
        let mut c = tandem(dir.path());
        c.arg("--data-dir")
            .arg(restored_dir.path())
            .arg("restore")
            .arg(&file);
        if replace {
            c.arg("--replace");
        }
        c.output().unwrap()
    };
    let out = restore(false);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let restored_url = format!("sqlite://{}", restored_dir.path().join("tandem.db").display());
    assert_eq!(
        items_in(&restored_url).await,
        50,
        "the backup holds what was there when it ran"
    );
    assert_eq!(items_in(&db.url).await, 60);

    let refused = restore(false);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--replace"));
    assert!(restore(true).status.success());

    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, "not a database at all").unwrap();
    let out = tandem(dir.path())
        .arg("--data-dir")
        .arg(restored_dir.path())
        .args(["restore", "--replace"])
        .arg(&junk)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a Tandem backup"));
    assert_eq!(
        items_in(&restored_url).await,
        50,
        "a refused restore changes nothing"
    );

    // PostgreSQL is backed up with pg_dump; the command says how.
    let pg = tandem(dir.path())
        .args([
            "--database",
            "postgres://nobody@127.0.0.1:1/x",
            "backup",
            "x.dump",
        ])
        .output()
        .unwrap();
    assert_eq!(pg.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&pg.stderr).contains("pg_dump"));
}

#[tokio::test]
async fn a_workspace_moves_from_sqlite_to_postgres_and_carries_on_there() {
    let b = backends();
    if !(b.contains(&TestBackend::Sqlite) && b.contains(&TestBackend::Postgres)) {
        return;
    }
    let lite = TestDb::new(TestBackend::Sqlite).await;
    let pg = TestDb::new(TestBackend::Postgres).await;
    let receiver = Receiver::start().await;
    let token = prepare(&lite.url, &receiver.url).await;
    let dir = tempfile::tempdir().unwrap();
    let mut a = Instance::serve(&lite.url, dir.path(), free_port()).await;
    post_batch(&a.url, &token, 0, 30).await;
    eventually("30 deliveries on SQLite", Duration::from_secs(60), || {
        let n = receiver.delivered_items().len();
        async move { (n == 30).then_some(()) }
    })
    .await;
    assert!(a.terminate().await.success());
    let probe = TypedProbe::create(&lite.url, &pg.url).await;

    let moved = tandem(dir.path())
        .args([
            "--workspace",
            "default",
            "migrate",
            "--from",
            &lite.url,
            "--to",
            &pg.url,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&moved.stdout);
    assert!(
        moved.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&moved.stderr)
    );
    assert!(stdout.contains("moved workspace default"), "{stdout}");
    assert!(stdout.contains("items"), "{stdout}");

    let twice = tandem(dir.path())
        .args([
            "--workspace",
            "default",
            "migrate",
            "--from",
            &lite.url,
            "--to",
            &pg.url,
        ])
        .output()
        .unwrap();
    assert_eq!(twice.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&twice.stderr).contains("already has workspace"));
    let wrong_way = tandem(dir.path())
        .args(["migrate", "--from", &pg.url, "--to", &lite.url])
        .output()
        .unwrap();
    assert_eq!(wrong_way.status.code(), Some(2));
    probe.check(&pg.url).await;

    // On PostgreSQL: the same token works, the items and their results are there, and new
    // items get fresh ids and flow through to delivery.
    let mut p = Instance::serve(&pg.url, dir.path(), free_port()).await;
    let listed = get(&format!("{}/api/v1/items?status=all&limit=1000", p.url), &token).await;
    let ids: Vec<i64> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 30);
    let one = get(&format!("{}/api/v1/items/{}", p.url, ids[0]), &token).await;
    assert_eq!(one["status"], "auto_accepted", "{one}");
    post_batch(&p.url, &token, 30, 5).await;
    eventually(
        "5 more deliveries from PostgreSQL",
        Duration::from_secs(60),
        || {
            let n = receiver.delivered_items().len();
            async move { (n == 35).then_some(()) }
        },
    )
    .await;
    let delivered = receiver.delivered_items();
    assert_eq!(
        delivered.iter().collect::<std::collections::BTreeSet<_>>().len(),
        35,
        "new ids never reuse moved ones"
    );
    assert!(p.terminate().await.success());
}

/// A table of the kinds a later module may add, present in both databases the way its
/// migrations would make it: booleans (stored by SQLite as 0/1 or as words), a timestamp,
/// a date, JSON and an exact decimal (SQLite text), bytes, a float and text. The move
/// discovers tables, so this one travels like any other and must arrive with its values
/// intact in PostgreSQL's own types.
struct TypedProbe;

impl TypedProbe {
    async fn create(lite: &str, pg: &str) -> TypedProbe {
        sqlx::any::install_default_drivers();
        let lite = sqlx::AnyPool::connect(lite).await.unwrap();
        let ws: i64 = sqlx::query_scalar("SELECT id FROM workspaces WHERE slug = 'default'")
            .fetch_one(&lite)
            .await
            .unwrap();
        sqlx::query(
            "CREATE TABLE typed_probe (id INTEGER PRIMARY KEY, workspace_id INTEGER NOT NULL,
                 flag_int BOOLEAN, flag_word BOOLEAN, at TEXT, day TEXT, doc TEXT, amount TEXT,
                 bytes BLOB, ratio REAL, note TEXT)",
        )
        .execute(&lite)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO typed_probe VALUES
                 (1, $1, 1, 'true', '2026-11-27T10:15:30.123Z', '2026-11-27', '{\"a\": [1, 2]}',
                  '123456789012345678.0123456789', X'00FF10', 0.25, 'plain <b>text</b>'),
                 (2, $1, 0, 'f', NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
        )
        .bind(ws)
        .execute(&lite)
        .await
        .unwrap();
        // Rows written before intake refused NUL (issue 21): one in plain text, one as a
        // JSON escape. PostgreSQL takes neither; they once stopped the whole move.
        sqlx::query(
            "CREATE TABLE nul_probe (id INTEGER PRIMARY KEY, workspace_id INTEGER NOT NULL, doc TEXT, note TEXT)",
        )
        .execute(&lite)
        .await
        .unwrap();
        sqlx::query("INSERT INTO nul_probe VALUES (1, $1, '{\"t\": \"x\\u0000y\"}', 'a' || char(0) || 'b')")
            .bind(ws)
            .execute(&lite)
            .await
            .unwrap();
        lite.close().await;
        // The target is migrated first (as `tandem migrate` would), then gets the table.
        let store = tandem_store::open(pg).await.unwrap();
        drop(store);
        let pg = sqlx::AnyPool::connect(pg).await.unwrap();
        sqlx::query(
            "CREATE TABLE typed_probe (id BIGINT PRIMARY KEY, workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
                 flag_int BOOLEAN, flag_word BOOLEAN, at TIMESTAMPTZ, day DATE, doc JSONB,
                 amount NUMERIC(30, 10), bytes BYTEA, ratio DOUBLE PRECISION, note TEXT)",
        )
        .execute(&pg)
        .await
        .unwrap();
        sqlx::query(
            "CREATE TABLE nul_probe (id BIGINT PRIMARY KEY, workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
                 doc JSONB, note TEXT)",
        )
        .execute(&pg)
        .await
        .unwrap();
        pg.close().await;
        TypedProbe
    }

    async fn check(&self, pg: &str) {
        let pg = sqlx::AnyPool::connect(pg).await.unwrap();
        let rows = sqlx::query(
            "SELECT flag_int, flag_word, at = '2026-11-27 10:15:30.123+00'::timestamptz,
                    day = DATE '2026-11-27', doc = '{\"a\": [1, 2]}'::jsonb, amount::text,
                    bytes, ratio, note, at IS NULL AND day IS NULL AND doc IS NULL AND amount IS NULL
             FROM typed_probe ORDER BY id",
        )
        .fetch_all(&pg)
        .await
        .expect("the probe table was moved");
        assert_eq!(rows.len(), 2);
        let (one, two) = (&rows[0], &rows[1]);
        assert!(
            one.get::<bool, _>(0) && one.get::<bool, _>(1),
            "booleans: 1 and 'true'"
        );
        assert!(one.get::<bool, _>(2), "the timestamp, to the millisecond");
        assert!(one.get::<bool, _>(3), "the date");
        assert!(one.get::<bool, _>(4), "the JSON document");
        assert_eq!(
            one.get::<String, _>(5),
            "123456789012345678.0123456789",
            "the decimal, exactly"
        );
        assert_eq!(one.get::<Vec<u8>, _>(6), vec![0x00, 0xFF, 0x10], "the bytes");
        assert_eq!(one.get::<f64, _>(7), 0.25);
        assert_eq!(one.get::<String, _>(8), "plain <b>text</b>");
        assert!(
            !two.get::<bool, _>(0) && !two.get::<bool, _>(1),
            "booleans: 0 and 'f'"
        );
        assert!(two.get::<bool, _>(9), "NULLs stay NULL");
        assert_eq!(two.get::<Option<Vec<u8>>, _>(6), None);
        let nul = sqlx::query("SELECT doc->>'t', note FROM nul_probe")
            .fetch_one(&pg)
            .await
            .expect("the rows with NUL were moved");
        assert_eq!(nul.get::<String, _>(0), "x\u{FFFD}y", "a NUL in JSON");
        assert_eq!(nul.get::<String, _>(1), "a\u{FFFD}b", "a NUL in text");
        pg.close().await;
    }
}
