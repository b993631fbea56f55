//! `tandem import` for documents: each file becomes one item, checked and accepted as the
//! API accepts an upload (PDFs and images are then read by the worker, which the import
//! runs). A file that cannot be read is reported with its path and the reason
//! and skipped; the files around it are still imported.

use anyhow::Context;
use tandem_service::auth::Actor;
use tandem_service::documents::Upload;
use tandem_service::{ServiceError, Tandem};

use crate::progress;

/// Import `paths` as documents. Returns (items created, files refused).
pub async fn import(
    tandem: &Tandem,
    actor: &Actor,
    slug: &str,
    paths: &[std::path::PathBuf],
) -> anyhow::Result<(usize, usize)> {
    let bar = progress::bar(paths.len() as u64, "checking documents");
    let max = tandem.settings.documents.max_bytes;
    let (mut created, mut repeated, mut pages, mut ocr) = (0usize, 0usize, 0usize, 0usize);
    let mut bad: Vec<String> = Vec::new();
    for path in paths {
        bar.inc(1);
        let shown = path.display().to_string();
        // The size first, so an oversized file is not read into memory at all.
        let len = std::fs::metadata(path)
            .with_context(|| format!("cannot read {shown}"))?
            .len();
        if len > max as u64 {
            bad.push(format!(
                "{shown}: the file is {len} bytes, over the limit of {max} bytes"
            ));
            continue;
        }
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {shown}"))?;
        let upload = Upload {
            file_name: path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            bytes,
        };
        match tandem.submit_document(actor, slug, upload).await {
            Ok(a) if a.inserted.created => {
                created += 1 + a.linked.iter().filter(|l| l.created).count();
                pages += a.pages;
                ocr += a.ocr_pages;
            }
            Ok(_) => repeated += 1,
            Err(ServiceError::NotFound(what)) => {
                anyhow::bail!("{what} {slug:?} not found in this workspace (tandem apply FILE creates it)")
            }
            // A missing tool fails every file alike: stop and say which.
            Err(ServiceError::Unavailable(m)) => anyhow::bail!("{m}"),
            // The message starts with the file's name; show its path instead.
            Err(e) => {
                let message = e.to_string();
                let reason = message.split_once(": ").map_or(message.as_str(), |(_, r)| r);
                bad.push(format!("{shown}: {reason}"));
            }
        }
    }
    bar.finish_and_clear();
    println!(
        "{created} document(s) accepted ({pages} page(s){}){}{}",
        if ocr > 0 {
            format!(", {ocr} read by OCR")
        } else {
            String::new()
        },
        if repeated > 0 {
            format!(", {repeated} already imported")
        } else {
            String::new()
        },
        if bad.is_empty() {
            String::new()
        } else {
            format!(", {} refused:", bad.len())
        }
    );
    for b in bad.iter().take(50) {
        println!("  {b}");
    }
    if bad.len() > 50 {
        println!("  … and {} more", bad.len() - 50);
    }
    Ok((created, bad.len()))
}
