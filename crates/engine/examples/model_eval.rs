//! Train and evaluate the routing classifier on files, for benchmark measurements; the
//! product's `tandem model eval` wraps the same `evaluate`. Prints the report as one JSON
//! object on stdout and what training chose on stderr.
//!
//! ```text
//! cargo run --release --example model_eval -- --train T.jsonl --test T.jsonl \
//!     [--val V.jsonl] [--target-precision 0.99] [--oos-label oos] [--seed 42] \
//!     [--svg-dir DIR] [--save MODEL.bin]
//! ```

use std::time::Instant;
use tandem_engine::classifier::eval::{EvalOptions, evaluate};
use tandem_engine::classifier::svg::{render_coverage_svg, render_reliability_svg};
use tandem_engine::classifier::{Example, ExampleFormat, TextClassifier, parse_examples};

fn read(path: &str) -> Result<Vec<Example>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let format = if path.ends_with(".csv") {
        ExampleFormat::Csv
    } else {
        ExampleFormat::Jsonl
    };
    parse_examples(&text, format).map_err(|e| format!("{path}: {e}"))
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let train = read(&get("--train").ok_or("--train FILE is required")?)?;
    let test = read(&get("--test").ok_or("--test FILE is required")?)?;
    let val = get("--val").map(|p| read(&p)).transpose()?;
    let mut opts = EvalOptions::default();
    if let Some(p) = get("--target-precision") {
        opts.target_precision = p.parse().map_err(|e| format!("--target-precision: {e}"))?;
    }
    if let Some(l) = get("--oos-label") {
        opts.oos_label = l;
    }
    if let Some(s) = get("--seed") {
        opts.seed = s.parse().map_err(|e| format!("--seed: {e}"))?;
    }
    let origin = Instant::now();
    let clock = move || origin.elapsed().as_secs_f64();
    let out = evaluate(&train, &test, val.as_deref(), &opts, &clock).map_err(|e| e.to_string())?;
    eprintln!(
        "{}",
        serde_json::to_string(out.model.summary()).unwrap_or_default()
    );
    if let Some(dir) = get("--svg-dir") {
        let write = |name: &str, svg: String| {
            let path = std::path::Path::new(&dir).join(name);
            std::fs::write(&path, svg).map_err(|e| format!("{}: {e}", path.display()))
        };
        write("reliability.svg", render_reliability_svg(&out.reliability))?;
        write(
            "coverage.svg",
            render_coverage_svg(&out.curve, out.report.threshold),
        )?;
    }
    if let Some(path) = get("--save") {
        let bytes = out.model.to_bytes();
        std::fs::write(&path, &bytes).map_err(|e| format!("{path}: {e}"))?;
        let loaded = TextClassifier::from_bytes(&bytes).map_err(|e| e.to_string())?;
        let same = test
            .iter()
            .all(|e| loaded.predict(&e.text) == out.model.predict(&e.text));
        eprintln!(
            "saved {path}: {} bytes, reload gives identical predictions: {same}",
            bytes.len()
        );
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&out.report).map_err(|e| e.to_string())?
    );
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
