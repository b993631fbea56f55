//! `tandem check`, `apply`, `import` and `tandem llm ...` on an automation whose fields are
//! read by an LLM, against a local server that speaks the chat-completions protocol.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use tandem_test_support::FakeLlm;

fn repo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Run `tandem ARGS` in `dir` on the SQLite database there, off the async threads (the
/// fake LLM server answers from them meanwhile).
async fn tandem(dir: &Path, args: &[&str]) -> Output {
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_tandem"))
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args(&args)
            .current_dir(&dir)
            .env_remove("TANDEM_CONFIG")
            .env_remove("TANDEM_DATABASE_URL")
            // The fake model server listens on 127.0.0.1.
            .env("TANDEM_OUTBOUND__ALLOW_PRIVATE", "true")
            .output()
            .expect("the tandem binary runs")
    })
    .await
    .expect("the command finished")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_checks_and_an_llm_automation_runs_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let example = repo().join("examples/receipts-llm.toml");
    let out = tandem(dir.path(), &["check", example.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        text(&out.stdout).contains("receipts-llm"),
        "{}",
        text(&out.stdout)
    );

    // A mistake in [llm] is reported with its line and column, exit 2.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "name = \"R\"\nslug = \"r\"\n[[fields]]\nname = \"total\"\nextractor = \"llm\"\n[llm]\nbase_url = \"localhost\"\nmodel = \"m\"\n",
    )
    .unwrap();
    let out = tandem(dir.path(), &["check", bad.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("bad.toml:7:12: llm.base_url"),
        "{}",
        text(&out.stderr)
    );

    let llm = FakeLlm::start().await;
    llm.logprobs(true)
        .answer(r#"{"company": "ACME Ltd"}"#)
        .doubt("ACME", -0.2);
    let def = dir.path().join("receipts.toml");
    std::fs::write(
        &def,
        format!(
            "name = \"R\"\nslug = \"r\"\n[[fields]]\nname = \"company\"\nextractor = \"llm\"\nshadow_extractor = \"label\"\nlabels = [\"Company\"]\n[llm]\nbase_url = \"{}\"\nmodel = \"m\"\n",
            llm.base_url
        ),
    )
    .unwrap();
    let out = tandem(dir.path(), &["apply", def.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let items = dir.path().join("items.jsonl");
    std::fs::write(
        &items,
        "{\"text\": \"Company: ACME Ltd\"}\n{\"text\": \"ACME Ltd, 1 Main St\"}\n",
    )
    .unwrap();
    let out = tandem(
        dir.path(),
        &["import", "--automation", "r", items.to_str().unwrap()],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(llm.requests().len(), 2, "each item asked the LLM once");

    // Nothing reviewed yet: the refit says so, the comparison has no evidence.
    let out = tandem(dir.path(), &["llm", "refit", "r"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("company: no reviewed items yet"),
        "{}",
        text(&out.stdout)
    );
    let out = tandem(dir.path(), &["llm", "compare", "r", "--json"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(report["fields"][0]["field"], "company");
    assert_eq!(report["fields"][0]["primary"], "llm");
    assert_eq!(report["fields"][0]["shadow"], "label");
    assert_eq!(report["fields"][0]["reviewed"], 0);
    let out = tandem(dir.path(), &["llm", "keep", "r", "company"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("nothing to switch"),
        "{}",
        text(&out.stderr)
    );
    let out = tandem(dir.path(), &["llm", "refit", "nope"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}
