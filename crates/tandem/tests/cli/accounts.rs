//! `tandem user` and `tandem token` manage accounts after they are made (issue 21, point
//! 5): tokens listed, expiring (90 days unless told) and revoked; people disabled,
//! enabled, removed, given another role or password; the last admin kept; clear errors.

use std::path::Path;

use super::{tandem, text};

fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["--data-dir", "data"];
    all.extend_from_slice(args);
    let out = tandem(dir, &all);
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let (code, out, err) = run(dir, args);
    assert_eq!(code, Some(0), "tandem {args:?}: {out}{err}");
    out
}

fn refused(dir: &Path, args: &[&str], says: &str) {
    let (code, out, err) = run(dir, args);
    assert_eq!(code, Some(2), "tandem {args:?}: {out}{err}");
    assert!(err.contains(says), "tandem {args:?} should say {says:?}: {err}");
}

/// The line of `tandem token list` for the token with this id.
fn token_line(dir: &Path, id: &str) -> String {
    ok(dir, &["token", "list"])
        .lines()
        .find(|l| l.split_whitespace().next() == Some(id))
        .unwrap_or_else(|| panic!("token {id} is listed"))
        .to_owned()
}

#[test]
fn tokens_are_listed_expire_by_default_and_are_revoked_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["user", "add", "ada@acme.io", "--role", "admin"]);
    ok(d, &["user", "add", "rita@acme.io", "--role", "builder"]);

    let (code, out, err) = run(d, &["token", "create", "--user", "rita@acme.io", "--name", "ci"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.trim().starts_with("tdm_"), "only the token on stdout: {out}");
    assert!(
        err.contains("API token 1 for rita@acme.io") && err.contains("expires 20"),
        "{err}"
    );
    let line = token_line(d, "1");
    assert!(
        line.contains("rita@acme.io") && line.contains("ci") && line.ends_with("active"),
        "{line}"
    );
    assert!(!line.contains("never"), "90 days unless told: {line}");

    ok(
        d,
        &[
            "token",
            "create",
            "--user",
            "rita@acme.io",
            "--expires-in",
            "never",
        ],
    );
    assert!(token_line(d, "2").contains("never"), "{}", token_line(d, "2"));
    refused(
        d,
        &[
            "token",
            "create",
            "--user",
            "rita@acme.io",
            "--expires-in",
            "3 weeks",
        ],
        "expires-in: \"3 weeks\" is not a lifetime",
    );
    refused(
        d,
        &["token", "create", "--user", "nobody@acme.io"],
        "nobody with e-mail nobody@acme.io",
    );

    assert!(ok(d, &["token", "revoke", "1"]).contains("revoked token 1 (ci, rita@acme.io)"));
    assert!(token_line(d, "1").ends_with("revoked"), "{}", token_line(d, "1"));
    refused(d, &["token", "revoke", "99"], "no token 99 in workspace");
}

#[test]
fn people_are_disabled_enabled_given_roles_and_passwords_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["user", "add", "ada@acme.io", "--role", "admin"]);
    ok(d, &["user", "add", "rita@acme.io", "--role", "reviewer"]);
    ok(d, &["token", "create", "--user", "rita@acme.io"]);
    let rita = |d: &Path| {
        ok(d, &["user", "list"])
            .lines()
            .find(|l| l.starts_with("rita@acme.io"))
            .map(str::to_owned)
    };

    assert!(ok(d, &["user", "role", "rita@acme.io", "builder"]).contains("given the role builder"));
    assert!(rita(d).unwrap().contains("builder"));
    refused(
        d,
        &["user", "role", "rita@acme.io", "boss"],
        "unknown role \"boss\"",
    );

    assert!(ok(d, &["user", "disable", "rita@acme.io"]).contains("disabled"));
    assert!(rita(d).unwrap().contains("disabled"), "{:?}", rita(d));
    ok(d, &["user", "enable", "rita@acme.io"]);
    assert!(!rita(d).unwrap().contains("disabled"));

    let out = ok(d, &["user", "password", "rita@acme.io"]);
    assert!(
        out.contains("new password") && out.contains("password: "),
        "{out}"
    );
    // No line on standard input: an empty password, refused with the rule.
    refused(
        d,
        &["user", "password", "rita@acme.io", "--password-stdin"],
        "at least 10 characters",
    );

    refused(d, &["user", "remove", "ada@acme.io"], "only active admin");
    refused(d, &["user", "disable", "ada@acme.io"], "only active admin");
    refused(
        d,
        &["user", "disable", "nobody@acme.io"],
        "nobody with e-mail \"nobody@acme.io\"",
    );

    assert!(ok(d, &["user", "remove", "rita@acme.io"]).contains("removed"));
    assert_eq!(rita(d), None);
    assert!(
        token_line(d, "1").ends_with("revoked"),
        "removal revokes: {}",
        token_line(d, "1")
    );
    // The address is free again.
    ok(d, &["user", "add", "rita@acme.io", "--role", "viewer"]);
}

#[cfg(unix)]
#[test]
fn the_database_and_its_directory_are_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["user", "add", "ada@acme.io", "--role", "admin"]);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&d.join("data")), 0o700, "the data directory");
    for f in ["tandem.db", "tandem.db-wal"] {
        let p = d.join("data").join(f);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{f}");
        }
    }
    assert!(d.join("data/tandem.db").exists());
}
