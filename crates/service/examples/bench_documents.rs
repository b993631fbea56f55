//! Document reading speed, and SROIE text from images for the end-to-end F1 (BENCHMARKS.md).
//!
//! ```text
//! # pages per second, text layer and OCR (each tool one thread; CPU from /proc):
//! cargo run --release -p tandem-service --example bench_documents -- speed FILE [FILE...] [--repeat N]
//! # SROIE from zzzDavid/ICDAR-2019-SROIE (data/img, data/box, data/key): JSONL of the
//! # organisers' transcripts and of Tesseract's reading of the same receipts' images.
//! cargo run --release -p tandem-service --example bench_documents -- sroie DATA_DIR FROM TO OUT_PREFIX
//! ```

use std::time::Instant;

use tandem_service::documents::{Limits, read};

/// CPU seconds of this process and of its waited-for children (the tools), from
/// /proc/self/stat (utime, stime, cutime, cstime in clock ticks of 1/100 s).
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    let get = |i: usize| f.get(i).copied().unwrap_or(0.0) / 100.0;
    (get(11) + get(12), get(13) + get(14))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("speed") => speed(&args[1..]).await,
        Some("sroie") => sroie(&args[1..]).await,
        _ => eprintln!(
            "usage: bench_documents speed FILES... [--repeat N] | sroie DATA_DIR FROM TO OUT_PREFIX"
        ),
    }
}

async fn speed(args: &[String]) {
    let mut repeat = 1usize;
    let mut files = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--repeat" {
            repeat = it.next().and_then(|n| n.parse().ok()).unwrap_or(1);
        } else {
            files.push(a.clone());
        }
    }
    let limits = Limits::default();
    for f in files {
        let bytes = std::fs::read(&f).expect("read the file");
        let (own0, kids0) = cpu_seconds();
        let start = Instant::now();
        let mut pages = 0;
        let mut ocr = 0;
        let mut words = 0;
        for _ in 0..repeat {
            let doc = read(&bytes, &f, &limits).await.expect("readable");
            pages += doc.pages();
            ocr += doc.ocr_pages();
            words += doc.layout.as_ref().map_or(0, |l| l.words.len());
        }
        let wall = start.elapsed().as_secs_f64();
        let (own1, kids1) = cpu_seconds();
        let cpu = (own1 - own0) + (kids1 - kids0);
        println!(
            "{f}: {pages} pages ({ocr} by OCR), {words} words; wall {wall:.2} s = {:.1} pages/s; CPU {cpu:.2} s (tools {:.2} s) = {:.1} pages per CPU-second",
            pages as f64 / wall,
            kids1 - kids0,
            pages as f64 / cpu.max(0.01)
        );
    }
}

async fn sroie(args: &[String]) {
    let [dir, from, to, out] = args else {
        eprintln!("sroie DATA_DIR FROM TO OUT_PREFIX");
        return;
    };
    let (from, to): (usize, usize) = (from.parse().unwrap(), to.parse().unwrap());
    let dir = std::path::Path::new(dir);
    let limits = Limits::default();
    let mut transcripts = String::new();
    let mut ocr = String::new();
    let (own0, kids0) = cpu_seconds();
    for i in from..to {
        let id = format!("{i:03}");
        let Ok(key) = std::fs::read(dir.join(format!("key/{id}.json"))) else {
            continue;
        };
        let key = String::from_utf8_lossy(&key);
        let key: serde_json::Value = serde_json::from_str(&key).expect("key JSON");
        let fields = serde_json::json!({
            "company": key["company"], "date": key["date"], "address": key["address"], "total": key["total"],
        });
        // box/ID.csv: x1,y1,...,x4,y4,TEXT per line; the text may hold commas.
        let boxes =
            String::from_utf8_lossy(&std::fs::read(dir.join(format!("box/{id}.csv"))).unwrap_or_default())
                .into_owned();
        let text: Vec<&str> = boxes.lines().filter_map(|l| l.splitn(9, ',').nth(8)).collect();
        transcripts.push_str(
            &serde_json::json!({ "id": id, "text": text.join("\n"), "fields": fields }).to_string(),
        );
        transcripts.push('\n');
        let image = std::fs::read(dir.join(format!("img/{id}.jpg"))).expect("image");
        let read = read(&image, "receipt.jpg", &limits).await.expect("OCR");
        ocr.push_str(&serde_json::json!({ "id": id, "text": read.text, "fields": fields }).to_string());
        ocr.push('\n');
    }
    let (own1, kids1) = cpu_seconds();
    std::fs::write(format!("{out}.transcripts.jsonl"), transcripts).unwrap();
    std::fs::write(format!("{out}.ocr.jsonl"), ocr).unwrap();
    println!(
        "{} receipts read by OCR: CPU {:.1} s (Tesseract {:.1} s)",
        to - from,
        (own1 - own0) + (kids1 - kids0),
        kids1 - kids0
    );
}
