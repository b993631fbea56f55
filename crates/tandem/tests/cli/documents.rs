//! `tandem import` on a folder of documents, as a team's shared folder holds them: each
//! readable file is one item (once, however often the folder is imported), a bad file is
//! named with what is wrong, and a missing tool is named with the package that brings it.

use super::{repo, tandem, text};

const DEFINITION: &str = "name = \"Docs\"\nslug = \"docs\"\n[[fields]]\nname = \"date\"\ntype = \"date\"\n";

#[test]
fn a_folder_of_documents_is_imported_once_and_bad_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("def.toml"), DEFINITION).unwrap();
    let out = tandem(d, &["--data-dir", "data", "apply", "def.toml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let folder = d.join("incoming");
    std::fs::create_dir_all(folder.join("march")).unwrap();
    for name in ["sroie-000.jpg", "mime-spec-p1-2.pdf"] {
        std::fs::copy(repo().join("examples/documents").join(name), folder.join(name)).unwrap();
    }
    std::fs::copy(
        repo().join("examples/documents/sroie-001-scan.pdf"),
        folder.join("march/scan.pdf"),
    )
    .unwrap();
    std::fs::write(folder.join("broken.png"), "not an image").unwrap();

    let out = tandem(
        d,
        &["--data-dir", "data", "import", "--automation", "docs", "incoming"],
    );
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(2),
        "a refused file makes the exit code say so:\n{said}"
    );
    assert!(said.contains("3 document(s) accepted"), "{said}");
    assert!(said.contains("(4 page(s))"), "{said}");
    assert!(
        said.contains("broken.png: it is named .png but is not a PNG file"),
        "{said}"
    );
    assert!(said.contains("processed"), "{said}");

    // Importing the folder again makes nothing new.
    let out = tandem(
        d,
        &[
            "--data-dir",
            "data",
            "import",
            "--automation",
            "docs",
            "incoming/march",
            "incoming/sroie-000.jpg",
        ],
    );
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("0 document(s) accepted") && said.contains("2 already imported"),
        "{said}"
    );
}

#[test]
fn a_missing_tool_is_named_with_its_package() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("def.toml"), DEFINITION).unwrap();
    assert!(
        tandem(d, &["--data-dir", "data", "apply", "def.toml"])
            .status
            .success()
    );
    let pdf = repo().join("examples/documents/mime-spec-p1-2.pdf");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args([
            "--data-dir",
            "data",
            "import",
            "--automation",
            "docs",
            pdf.to_str().unwrap(),
        ])
        .current_dir(d)
        .env_remove("TANDEM_CONFIG")
        .env("PATH", d.join("no-tools"))
        .output()
        .unwrap();
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("`pdfinfo` command is not installed") && said.contains("apt-get install poppler-utils"),
        "{said}"
    );
}
