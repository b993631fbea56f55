//! Measure the learned field extractor on SROIE (receipts; see `shared/data/sroie/README.md`)
//! and print the evaluation report as one JSON object. A measurement tool for engine work;
//! the product command is `tandem extract eval`, which calls the same `evaluate`.
//!
//! ```text
//! cargo run --release -p tandem-engine --example extract_eval -- [DATA_DIR] [--dev] [--seed N]
//! ```
//!
//! `--dev` never reads the test file: it evaluates on a seeded 30% of the training file
//! after training on the rest, which is what development decisions were made on.

use std::time::Instant;

use tandem_engine::FieldKind;
use tandem_engine::extractor::eval::{EvalOptions, evaluate};
use tandem_engine::extractor::{FieldSpec, LabelledDoc, parse_documents};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let mut data = String::from("../shared/data/sroie");
    let mut dev = false;
    let mut seed = 0u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dev" => dev = true,
            "--seed" => seed = args.next().ok_or("--seed needs a value")?.parse()?,
            _ => data = a,
        }
    }
    let read = |name: &str| -> Result<Vec<LabelledDoc>> {
        let path = format!("{data}/{name}");
        let text = std::fs::read_to_string(&path).map_err(|e| format!("reading {path}: {e}"))?;
        Ok(parse_documents(&text).map_err(|e| format!("parsing {path}: {e}"))?)
    };
    let train = read("train.jsonl")?;
    let (train, test) = if dev {
        // A seeded, arbitrary but fixed split of the training file, so runs are comparable.
        let mut order: Vec<usize> = (0..train.len()).collect();
        order.sort_by_key(|&i| (i as u64 ^ seed).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let cut = train.len() * 7 / 10;
        let pick = |ix: &[usize]| ix.iter().map(|&i| train[i].clone()).collect::<Vec<_>>();
        (pick(&order[..cut]), pick(&order[cut..]))
    } else {
        (train.clone(), read("test.jsonl")?)
    };
    let fields = [
        FieldSpec::new("company", FieldKind::Text),
        FieldSpec::new("date", FieldKind::Date),
        FieldSpec::new("address", FieldKind::MultilineText),
        FieldSpec::new("total", FieldKind::Money),
    ];
    let origin = Instant::now();
    let clock = move || origin.elapsed().as_secs_f64();
    let report = evaluate(
        &fields,
        &train,
        &test,
        &EvalOptions {
            target_precision: 0.99,
            seed,
        },
        &clock,
    )?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
