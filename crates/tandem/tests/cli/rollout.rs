//! `tandem test SLUG` gates a repository's CI: the accepted edge cases pass on a good
//! version (exit 0), a version that breaks one exits 1 with the difference, and running
//! an earlier version again shows what changed.

use std::path::Path;

use super::{tandem, text};

fn definition(label: &str) -> String {
    format!(
        "name = \"Support\"\nslug = \"support\"\n\n[[fields]]\nname = \"order\"\ntype = \"identifier\"\nlabels = [\"{label}\"]\nrequired = true\n"
    )
}

fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["--data-dir", "data"];
    all.extend_from_slice(args);
    let out = tandem(dir, &all);
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn tandem_test_exits_non_zero_on_a_regression() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("support.toml"), definition("Order")).unwrap();
    let (code, out, err) = run(d, &["apply", "support.toml"]);
    assert_eq!(code, Some(0), "{out}{err}");

    std::fs::write(
        d.join("bad.jsonl"),
        "{\"input\": {\"text\": \"Order: AB-1234\"}, \"expected\": {\"fields\": {\"order\": \"AB-1234\"}}}\n{\"input\": {\"text\": \"x\"}, \"expected\": {\"fields\": {\"nope\": \"1\"}}}\n",
    )
    .unwrap();
    let (code, _, err) = run(
        d,
        &["edge-case", "import", "--automation", "support", "bad.jsonl"],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("line 2: expected.fields.nope: there is no field of that name"),
        "{err}"
    );

    std::fs::write(
        d.join("cases.jsonl"),
        "{\"input\": {\"text\": \"Order: AB-1234\"}, \"expected\": {\"fields\": {\"order\": \"AB-1234\"}}, \"note\": \"plain order\"}\n\
         {\"input\": {\"text\": \"Re: late parcel\\nOrder: ZX-0042\"}, \"expected\": {\"fields\": {\"order\": \"ZX-0042\"}}, \"note\": \"order under a reply line\"}\n",
    )
    .unwrap();
    let (code, out, err) = run(
        d,
        &["edge-case", "import", "--automation", "support", "cases.jsonl"],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("2 edge case(s) added"), "{out}");

    let (code, out, err) = run(d, &["test", "support"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("support version 1: 2 accepted edge case(s)"),
        "{out}"
    );
    assert!(out.contains("2 passed, 0 failed, 0 changed"), "{out}");

    // Version 2 looks for another label: both cases regress.
    std::fs::write(d.join("support.toml"), definition("Reference")).unwrap();
    let (code, out, err) = run(d, &["apply", "support.toml"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = run(d, &["test", "support"]);
    assert_eq!(code, Some(1), "a regression fails the run: {out}{err}");
    assert!(out.contains("FAIL"), "{out}");
    assert!(out.contains("order: expected \"AB-1234\", got null"), "{out}");
    assert!(out.contains("0 passed, 2 failed, 0 changed"), "{out}");

    // Version 1 still passes; its output differs from the last run (on version 2).
    let (code, out, err) = run(d, &["test", "support", "--version", "1"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("CHANGED"), "{out}");
    assert!(out.contains("0 passed, 0 failed, 2 changed"), "{out}");

    let (code, _, err) = run(d, &["test", "nosuch"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("automation not found"), "{err}");
}
