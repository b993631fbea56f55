//! The binary itself, as a newcomer and a script use it: `tandem demo` prints a login and
//! a token that work against the real server, `tandem check` explains a broken definition
//! with line and column and exits 2, and `tandem import` reports a bad row by its line and
//! keeps the good ones.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tandem_test_support::eventually;

fn tandem() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tandem"));
    for (key, _) in std::env::vars() {
        if key.starts_with("TANDEM_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("RUST_LOG", "warn");
    cmd
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the server when the test ends, however it ends.
struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The value after `label` on the first line of `out` that contains it.
fn after<'a>(out: &'a str, label: &str) -> &'a str {
    let line = out
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no {label:?} in:\n{out}"));
    line[line.find(label).unwrap() + label.len()..].trim()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_prints_a_login_and_a_token_that_work() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");

    // The first run seeds the workspace and prints the login without serving.
    let first = tandem()
        .args(["demo", "--no-serve", "--addr", &addr, "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(
        first.status.success(),
        "demo failed:\n{out}\n{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let token = after(&out, "API token:").to_string();
    let waiting: usize = after(&out, "ready:")
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(waiting > 0, "the demo's inbox should hold items:\n{out}");
    let shadow = after(&out, "In shadow:");
    assert!(
        shadow.starts_with("Support requests (")
            && shadow.contains("40 of its items decided by its champion"),
        "{shadow}"
    );
    let sign_in = after(&out, "Sign in:").to_string();
    let (email, password) = sign_in.split_once(" / ").unwrap();

    // The second run reuses the database and prints the same login, then serves.
    let mut child = tandem()
        .args(["demo", "--addr", &addr, "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut second = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        second.push_str(&line);
        second.push('\n');
        if line.contains("API token:") {
            break;
        }
    }
    assert_eq!(
        after(&second, "API token:"),
        token,
        "a second run prints the same token"
    );
    assert!(
        !second.contains("(trained)"),
        "a second run does not retrain:\n{second}"
    );

    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("http://{addr}");
    eventually("the demo server to answer", Duration::from_secs(60), || {
        let http = http.clone();
        let url = format!("{base}/healthz");
        async move {
            http.get(url)
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success())
        }
    })
    .await;

    // The printed token works against the intake endpoint, as the README says.
    let resp = http
        .post(format!("{base}/api/v1/automations/customer-requests/items"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"text": "my card was declined at the store"}))
        .send()
        .await
        .unwrap();
    assert!(
        resp.status().is_success(),
        "intake with the printed token: {}",
        resp.status()
    );
    let item: serde_json::Value = resp.json().await.unwrap();
    assert!(item["id"].as_i64().is_some(), "{item}");
    let unauthorised = http
        .post(format!("{base}/api/v1/automations/customer-requests/items"))
        .bearer_auth("not-a-token")
        .json(&serde_json::json!({"text": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorised.status(), 401);

    // The printed login opens the populated inbox.
    let form = http
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = form
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form token on the sign-in page");
    let login = http
        .post(format!("{base}/login"))
        .form(&[("email", email), ("password", password), ("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303, "the printed login signs in");
    let inbox = http.get(format!("{base}/inbox")).send().await.unwrap();
    assert_eq!(inbox.status(), 200);
    let html = inbox.text().await.unwrap();
    assert!(
        html.contains("Customer requests") && html.contains("Receipts") && html.contains("Support requests"),
        "the live automations and the one in shadow in the inbox"
    );

    // The automation in shadow: a champion, decided items and a gate not yet green, with
    // the reasons a newcomer can read on its rollout page.
    let rollout: serde_json::Value = http
        .get(format!("{base}/api/v1/automations/support-requests/rollout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rollout["stage"], "shadow", "{rollout}");
    assert_eq!(rollout["champion"]["email"], "rita@demo.tandem.local");
    assert_eq!(rollout["shadow"]["decided"], 40, "{rollout}");
    let route = &rollout["shadow"]["route"];
    assert_eq!(route["compared"], 40, "{route}");
    assert!(
        route["agreed"].as_u64().unwrap() > 20,
        "a real router agrees mostly: {route}"
    );
    assert_eq!(rollout["gate"]["green"], false);
    let unmet: Vec<&str> = rollout["gate"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert!(unmet.contains(&"shadow_decided"), "40 of 100: {unmet:?}");
    assert!(unmet.contains(&"sign_off"), "{unmet:?}");
    let page = http
        .get(format!("{base}/automations/support-requests/rollout"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("Rita Reviewer"),
        "the champion is named on the page"
    );
    assert!(
        page.contains("40 decided on version 1 of 100 needed"),
        "the gate's evidence so far"
    );
    drop(server);
}

#[test]
fn check_reports_each_error_with_its_line_and_column_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.toml");
    std::fs::write(
        &file,
        "name = \"Broken\"\nslug = \"Not A Slug\"\n\n[[inputs]]\nname = \"text\"\n\n[[fields]]\nname = \"total\"\ntype = \"moneyy\"\nthreshold = 1.5\n",
    )
    .unwrap();
    let out = tandem().arg("check").arg(&file).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("broken.toml:2:"),
        "the slug error names line 2:\n{text}"
    );
    assert!(
        text.contains("broken.toml:9:"),
        "the type error names line 9:\n{text}"
    );
    assert!(text.contains("moneyy"), "the bad value is quoted:\n{text}");

    let good = dir.path().join("good.toml");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/customer-requests.toml"
        ),
        &good,
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/data/customer-requests.train.jsonl"
        ),
        dir.path().join("data/customer-requests.train.jsonl"),
    )
    .unwrap();
    let out = tandem().arg("check").arg(&good).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn import_reports_a_bad_row_by_line_and_keeps_the_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        let out = tandem().arg("--data-dir").arg(&data).args(args).output().unwrap();
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let def = dir.path().join("customer-requests.toml");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/customer-requests.toml"
        ),
        &def,
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/data/customer-requests.train.jsonl"
        ),
        dir.path().join("data/customer-requests.train.jsonl"),
    )
    .unwrap();
    let (code, out) = run(&["apply", def.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");

    // Line 3 holds invalid UTF-8; lines 2 and 4 are good.
    let csv = dir.path().join("items.csv");
    let mut bytes = b"text\nwhere is my parcel\n".to_vec();
    bytes.extend_from_slice(b"bad \xff\xfe bytes\n");
    bytes.extend_from_slice(b"please reset my pin\n");
    std::fs::write(&csv, bytes).unwrap();
    let (code, out) = run(&[
        "import",
        "--automation",
        "customer-requests",
        csv.to_str().unwrap(),
    ]);
    assert!(out.contains("line 3"), "the bad row is named by its line:\n{out}");
    assert!(out.contains('2'), "two rows imported:\n{out}");
    assert_ne!(code, Some(0), "a bad row makes the exit code say so:\n{out}");
    let (code, out) = run(&["import", "--automation", "no-such-thing", csv.to_str().unwrap()]);
    assert_ne!(code, Some(0));
    assert!(out.contains("no-such-thing"), "{out}");
}
