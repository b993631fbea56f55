//! Measure the learned extractor (and the baseline, in the same run) on the contract
//! fields of `examples/contracts.toml`, or with `--receipts` on SROIE's fields: a
//! measurement tool for engine work on long prose documents (issue 14). The product
//! command is `tandem extract eval`, which calls the same `evaluate` and `baseline`.
//!
//! ```text
//! cargo run --release -p tandem-engine --example prose_eval -- TRAIN.jsonl TEST.jsonl \
//!     [--receipts] [--train-limit N] [--test-limit N] [--seed N] [--no-baseline]
//! ```
//!
//! Times are the CPU seconds of this thread (Linux), so they do not count the time other
//! processes held the core; the peak resident memory of the process is printed beside.

use tandem_engine::FieldKind;
use tandem_engine::extractor::baseline::baseline;
use tandem_engine::extractor::eval::{EvalOptions, ExtractEvalReport, evaluate};
use tandem_engine::extractor::{FieldSpec, LabelledDoc, parse_documents};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// CPU seconds (user + system) of the calling thread, in clock ticks of 1/100 s.
fn thread_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let rest = stat.rfind(')').map_or("", |i| &stat[i + 1..]);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn print(name: &str, r: &ExtractEvalReport) {
    println!(
        "{name}: micro P {:.1} R {:.1} F1 {:.1}; coverage {:.3}, auto P {:.3}; train {:.1} CPU-s, {:.1} docs/CPU-s",
        100.0 * r.micro_precision,
        100.0 * r.micro_recall,
        100.0 * r.micro_f1,
        r.coverage,
        r.precision,
        r.train_seconds,
        r.documents_per_second
    );
    for (field, f) in &r.fields {
        println!(
            "  {field:<16} P {:5.1} R {:5.1} F1 {:5.1}  threshold {:<6} coverage {:5.1} auto P {:5.1} ece {:.3}  {}",
            100.0 * f.extraction_precision,
            100.0 * f.recall,
            100.0 * f.f1,
            f.threshold.map_or("none".to_string(), |t| format!("{t:.3}")),
            100.0 * f.coverage,
            100.0 * f.precision,
            f.ece,
            f.no_evidence.as_deref().unwrap_or("")
        );
    }
}

fn main() -> Result<()> {
    let mut paths = Vec::new();
    let (mut train_limit, mut test_limit, mut seed) = (usize::MAX, usize::MAX, 0u64);
    let mut with_baseline = true;
    let mut receipts = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = || -> Result<u64> { Ok(args.next().ok_or("a number is missing")?.parse()?) };
        match a.as_str() {
            "--train-limit" => train_limit = num()? as usize,
            "--test-limit" => test_limit = num()? as usize,
            "--seed" => seed = num()?,
            "--no-baseline" => with_baseline = false,
            "--receipts" => receipts = true,
            _ => paths.push(a),
        }
    }
    let [train, test] = &paths[..] else {
        return Err("usage: prose_eval TRAIN.jsonl TEST.jsonl [--receipts] [--train-limit N] [--test-limit N] [--seed N] [--no-baseline]".into());
    };
    let read = |path: &str, limit: usize| -> Result<Vec<LabelledDoc>> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}"))?;
        let mut docs = parse_documents(&text).map_err(|e| format!("parsing {path}: {e}"))?;
        docs.truncate(limit);
        Ok(docs)
    };
    let train = read(train, train_limit)?;
    let test = read(test, test_limit)?;
    let chars = |d: &[LabelledDoc]| d.iter().map(|d| d.text.chars().count()).sum::<usize>() / d.len().max(1);
    println!(
        "train {} documents (mean {} chars), test {} (mean {} chars)",
        train.len(),
        chars(&train),
        test.len(),
        chars(&test)
    );
    let fields = if receipts {
        vec![
            FieldSpec::new("company", FieldKind::Text),
            FieldSpec::new("date", FieldKind::Date),
            FieldSpec::new("address", FieldKind::MultilineText),
            FieldSpec::new("total", FieldKind::Money),
        ]
    } else {
        vec![
            FieldSpec::new("agreement_date", FieldKind::Date),
            FieldSpec::new("governing_law", FieldKind::Text),
            FieldSpec::multi("parties", FieldKind::Text),
            FieldSpec::new("renewal_term", FieldKind::Duration),
        ]
    };
    let opts = EvalOptions {
        target_precision: 0.99,
        seed,
    };
    let report = evaluate(&fields, &train, &test, &opts, &thread_cpu_seconds)?;
    print("model", &report);
    println!("peak resident {:.0} MB", peak_rss_mb());
    if with_baseline {
        print("baseline", &baseline(&fields, &train, &test, &opts));
    }
    Ok(())
}
