//! `tandem check` on files that once took it down or out (issue 21, point 11): a device
//! that never ends (`/dev/zero`), a FIFO that never opens, a definition of 2 MB, a webhook
//! aimed at the cloud metadata address. Each is refused at once with a clear error.

use super::{tandem, text};

fn check(dir: &std::path::Path, definition: &str) -> (Option<i32>, String) {
    std::fs::write(dir.join("def.toml"), definition).unwrap();
    let out = tandem(dir, &["check", "def.toml"]);
    (out.status.code(), text(&out.stderr))
}

const HEAD: &str = "name = \"R\"\nslug = \"r\"\n[[fields]]\nname = \"email\"\ntype = \"email\"\n";

#[test]
fn devices_fifos_and_huge_definitions_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, err) = check(d, &format!("{HEAD}[training]\ndocuments = \"/dev/zero\"\n"));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("/dev/zero") && err.contains("not a regular file"),
        "{err}"
    );

    let fifo = d.join("docs.jsonl");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let (code, err) = check(d, &format!("{HEAD}[training]\ndocuments = \"docs.jsonl\"\n"));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("docs.jsonl") && err.contains("not a regular file"),
        "{err}"
    );

    let (code, err) = check(d, &format!("name = \"{}\"\nslug = \"r\"\n", "x".repeat(2 << 20)));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("the limit is 1048576"), "{err}");

    let (code, err) = check(
        d,
        &format!(
            "{HEAD}[[destinations]]\ntype = \"webhook\"\nurl = \"http://169.254.169.254/latest/meta-data\"\n"
        ),
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("destinations[0].url") && err.contains("link-local"),
        "{err}"
    );
}
