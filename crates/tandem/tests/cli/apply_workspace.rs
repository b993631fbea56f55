//! Issue 20: `tandem apply` without `--workspace` goes to the only workspace there is,
//! instead of creating "default" beside it (whose automations the first workspace's
//! tokens then cannot see), and asks when there are several.

use std::path::Path;

use super::{tandem, text};

fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["--data-dir", "data"];
    all.extend_from_slice(args);
    let out = tandem(dir, &all);
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

fn definition(slug: &str, label: &str) -> String {
    format!(
        "name = \"{slug}\"\nslug = \"{slug}\"\n\n[[fields]]\nname = \"order\"\ntype = \"identifier\"\nlabels = [\"{label}\"]\n"
    )
}

#[test]
fn apply_without_a_workspace_uses_the_only_one_or_asks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("support.toml"), definition("support", "Order")).unwrap();
    let (code, out, err) = run(d, &["--workspace", "acme", "apply", "support.toml"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("support is now at version 1"), "{out}");

    // No --workspace: acme is the only workspace, so the change goes there.
    std::fs::write(d.join("support.toml"), definition("support", "Order no")).unwrap();
    let (code, out, err) = run(d, &["apply", "support.toml"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("support is now at version 2"), "{out}");
    assert!(err.contains("\"acme\", the only one"), "{err}");
    let (code, out, err) = run(d, &["--workspace", "acme", "apply", "support.toml"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("unchanged (version 2)"), "{out}");

    // With two workspaces, it asks which.
    std::fs::write(d.join("leads.toml"), definition("leads", "Lead")).unwrap();
    let (code, out, err) = run(d, &["--workspace", "beta", "apply", "leads.toml"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = run(d, &["apply", "support.toml"]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        err.contains("workspaces acme, beta") && err.contains("--workspace"),
        "{err}"
    );
}
