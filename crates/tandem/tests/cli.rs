//! The `tandem` binary as a person at a terminal runs it: the evaluation commands on the
//! sample data the repository carries (examples/data, CLINC150 and SROIE subsets).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

#[path = "cli/accounts.rs"]
mod accounts;
#[path = "cli/apply_workspace.rs"]
mod apply_workspace;
#[path = "cli/check_inputs.rs"]
mod check_inputs;
// --- rollout ---
#[path = "cli/rollout.rs"]
mod rollout;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Run `tandem ARGS` in `dir` (so no ./tandem.toml of the developer's is picked up).
fn tandem(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(args)
        .current_dir(dir)
        .env_remove("TANDEM_CONFIG")
        .output()
        .expect("the tandem binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Split a JSONL sample file: every `nth` line goes to the second file.
fn split(source: &str, dir: &Path, nth: usize, limit: usize) -> (PathBuf, PathBuf) {
    let body = std::fs::read_to_string(repo().join(source)).unwrap();
    let (mut a, mut b) = (String::new(), String::new());
    for (i, line) in body.lines().take(limit).enumerate() {
        let out = if i % nth == 0 { &mut b } else { &mut a };
        out.push_str(line);
        out.push('\n');
    }
    let (pa, pb) = (dir.join("train.jsonl"), dir.join("test.jsonl"));
    std::fs::write(&pa, a).unwrap();
    std::fs::write(&pb, b).unwrap();
    (pa, pb)
}

#[test]
fn model_eval_json_is_one_object_with_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = split(
        "examples/data/customer-requests.train.jsonl",
        dir.path(),
        4,
        usize::MAX,
    );
    let out = tandem(
        dir.path(),
        &[
            "model",
            "eval",
            "--train",
            train.to_str().unwrap(),
            "--test",
            test.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("stdout is exactly one JSON object");
    let map = report.as_object().expect("an object");
    let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "coverage",
            "ece",
            "evidence_coverage",
            "evidence_precision",
            "evidence_threshold",
            "in_scope_accuracy",
            "oos_auroc",
            "oos_recall",
            "out_of_range_in_scope",
            "out_of_range_oos",
            "precision",
            "predictions_per_second",
            "threshold",
            "train_seconds"
        ]
    );
    // Ten teams with 20 examples per intent: a trained router is far above chance (0.1).
    let acc = report["in_scope_accuracy"].as_f64().unwrap();
    assert!(acc > 0.6 && acc <= 1.0, "{report}");
    for key in ["coverage", "ece", "oos_recall", "oos_auroc"] {
        let v = report[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} is a number: {report}"));
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    assert!(report["train_seconds"].as_f64().unwrap() > 0.0);
    assert!(report["predictions_per_second"].as_f64().unwrap() > 0.0);
    // No charts in JSON mode: stdout stays machine-readable and nothing is written.
    assert!(!dir.path().join("model-eval-reliability.svg").exists());
}

#[test]
fn model_eval_prints_a_table_and_writes_both_charts() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = split("examples/data/customer-requests.train.jsonl", dir.path(), 5, 1500);
    let charts = dir.path().join("charts");
    let out = tandem(
        dir.path(),
        &[
            "model",
            "eval",
            "--train",
            train.to_str().unwrap(),
            "--test",
            test.to_str().unwrap(),
            "--target-precision",
            "0.95",
            "--out-dir",
            charts.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("in-scope accuracy"), "{stdout}");
    assert!(stdout.contains("coverage"), "{stdout}");
    for name in ["model-eval-reliability.svg", "model-eval-coverage.svg"] {
        let path = charts.join(name);
        assert!(
            stdout.contains(&path.display().to_string()),
            "{stdout} names {name}"
        );
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("</svg>"), "{name}");
    }
}

#[test]
fn a_malformed_training_file_is_rejected_with_its_line_number() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("bad.jsonl");
    std::fs::write(
        &train,
        "{\"text\": \"reset my password\", \"label\": \"it\"}\n\
         {\"text\": \"where is my card\", \"label\": \"banking\"}\n\
         {\"text\": \"no label here\"}\n",
    )
    .unwrap();
    let out = tandem(
        dir.path(),
        &[
            "model",
            "eval",
            "--train",
            train.to_str().unwrap(),
            "--test",
            train.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("bad.jsonl") && stderr.contains("line 3"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing on stdout when it fails");

    let out = tandem(
        dir.path(),
        &[
            "model",
            "eval",
            "--train",
            train.to_str().unwrap(),
            "--test",
            train.to_str().unwrap(),
            "--target-precision",
            "1.5",
        ],
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--target-precision"));
}

#[test]
fn extract_eval_json_has_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = split("examples/data/receipts.train.jsonl", dir.path(), 4, 120);
    let automation = repo().join("examples/receipts.toml");
    let out = tandem(
        dir.path(),
        &[
            "extract",
            "eval",
            "--automation",
            automation.to_str().unwrap(),
            "--train",
            train.to_str().unwrap(),
            "--test",
            test.to_str().unwrap(),
            "--json",
            "--cpu-time",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("stdout is exactly one JSON object");
    let mut keys: Vec<&str> = report.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "coverage",
            "documents_per_second",
            "ece",
            "fields",
            "micro_f1",
            "precision",
            "train_seconds"
        ]
    );
    let fields = report["fields"].as_object().unwrap();
    let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["address", "company", "date", "total"]);
    for (name, f) in fields {
        for key in ["precision", "recall", "f1", "threshold", "coverage", "ece"] {
            assert!(f.get(key).is_some(), "fields.{name}.{key} missing: {f}");
        }
    }
    // Dates are printed plainly on receipts: even 90 training documents learn them.
    assert!(report["fields"]["date"]["f1"].as_f64().unwrap() > 0.8, "{report}");
    assert!(report["micro_f1"].as_f64().unwrap() > 0.5, "{report}");
    // But 90 held-out answers cannot back 99% precision (268 right ones at least could):
    // nothing is accepted automatically, and each field says why.
    for (name, f) in fields {
        assert!(f["threshold"].is_null(), "{name}: {f}");
        assert_eq!(f["accepted"], 0, "{name}: {f}");
        let why = f["no_evidence"].as_str().unwrap_or_default();
        assert!(
            why.starts_with("not enough evidence for 99%: 90 held-out answers (at least 268"),
            "{name}: {why}"
        );
    }

    // The table form names every field.
    let out = tandem(
        dir.path(),
        &[
            "extract",
            "eval",
            "--automation",
            automation.to_str().unwrap(),
            "--train",
            train.to_str().unwrap(),
            "--test",
            test.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for name in ["company", "date", "address", "total", "all (micro)"] {
        assert!(stdout.contains(name), "{stdout}");
    }
    assert!(
        stdout.contains("date accepts nothing automatically: not enough evidence for 99%"),
        "{stdout}"
    );
}

#[test]
fn extract_eval_rejects_a_malformed_document_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("docs.jsonl");
    std::fs::write(
        &bad,
        "{\"id\": \"1\", \"text\": \"ACME\", \"fields\": {\"company\": \"ACME\"}}\nnot json\n",
    )
    .unwrap();
    let automation = repo().join("examples/receipts.toml");
    let out = tandem(
        dir.path(),
        &[
            "extract",
            "eval",
            "--automation",
            automation.to_str().unwrap(),
            "--train",
            bad.to_str().unwrap(),
            "--test",
            bad.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("docs.jsonl") && stderr.contains("line 2"),
        "{stderr}"
    );
}

#[test]
fn retrain_needs_corrections_and_activate_switches_versions() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let definition = repo().join("examples/customer-requests.toml");
    let out = tandem(
        dir.path(),
        &["--data-dir", data, "apply", definition.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("version 1"), "{}", text(&out.stdout));

    let out = tandem(dir.path(), &["--data-dir", data, "retrain", "customer-requests"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no corrections to learn from yet"),
        "{}",
        text(&out.stderr)
    );

    let out = tandem(
        dir.path(),
        &["--data-dir", data, "activate", "customer-requests", "1"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("version 1 of customer-requests is now active"));

    let out = tandem(
        dir.path(),
        &["--data-dir", data, "activate", "customer-requests", "7"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("has no version 7"),
        "{}",
        text(&out.stderr)
    );
    let out = tandem(dir.path(), &["--data-dir", data, "retrain", "nobody"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn extract_eval_reports_a_baseline_on_the_contract_sample() {
    // The CUAD sample the repository carries: 30 contracts to learn from, 10 to score.
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = split("benches/cuad/sample.jsonl", dir.path(), 4, 40);
    let automation = repo().join("examples/contracts.toml");
    let out = tandem(
        dir.path(),
        &[
            "extract",
            "eval",
            "--automation",
            automation.to_str().unwrap(),
            "--train",
            train.to_str().unwrap(),
            "--test",
            test.to_str().unwrap(),
            "--baseline",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let fields = report["fields"].as_object().unwrap();
    let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["agreement_date", "governing_law", "parties", "renewal_term"]
    );
    // The baseline has no confidence: it accepts nothing, and says so.
    assert_eq!(report["coverage"], 0.0, "{report}");
    for (name, f) in fields {
        assert!(f["threshold"].is_null(), "{name}: {f}");
        assert!(f["no_evidence"].as_str().is_some(), "{name}: {f}");
    }
    // The first date written in a contract is often its date.
    assert!(
        fields["agreement_date"]["correct"].as_u64().unwrap() >= 1,
        "{report}"
    );
}
