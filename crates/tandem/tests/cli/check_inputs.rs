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

#[test]
fn jsonl_destinations_stay_in_the_data_directory_unless_a_directory_is_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let jsonl = |path: &str| format!("{HEAD}[[destinations]]\ntype = \"jsonl\"\npath = \"{path}\"\n");
    let (code, err) = check(d, &jsonl("out/results.jsonl"));
    assert_eq!(code, Some(0), "{err}");
    for (path, says) in [
        ("/etc/cron.d/tandem", "outside the data directory"),
        ("../../home/me/.bashrc", "climbs out"),
    ] {
        let (code, err) = check(d, &jsonl(path));
        assert_eq!(code, Some(2), "{path}: {err}");
        assert!(
            err.contains("destinations[0].path") && err.contains(says),
            "{path}: {err}"
        );
    }
    // An operator allows a directory in the configuration file.
    let exports = d.join("exports");
    std::fs::write(
        d.join("tandem.toml"),
        format!(
            "[delivery]\nallow_paths = [{:?}]\n",
            exports.display().to_string()
        ),
    )
    .unwrap();
    let (code, err) = check(d, &jsonl(&format!("{}/results.jsonl", exports.display())));
    assert_eq!(code, Some(0), "{err}");
    let (code, _) = check(d, &jsonl("/etc/cron.d/tandem"));
    assert_eq!(code, Some(2), "only the allowed directory");
}
