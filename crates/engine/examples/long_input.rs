//! Time the learned extractor and the pattern extractors on one long input, at growing
//! sizes, to see how cost grows with an input's length (issue 21: a 100 KB line once took
//! 8.7 GB). Doubling the input should about double the time. A measurement tool; the
//! figures are in BENCHMARKS.md.
//!
//! ```text
//! cargo run --release -p tandem-engine --example long_input -- [UNIT] [lines]
//! ```
//!
//! `UNIT` is repeated to each size (default `TOTAL RM 1,234.56 `); with `lines`, each copy
//! is its own line.

use std::time::Instant;

use tandem_engine::FieldKind;
use tandem_engine::extractor::{Extractor, FieldSpec, LabelledDoc, TrainOptions};
use tandem_engine::patterns::{self, PatternOptions};

fn receipts() -> Vec<LabelledDoc> {
    (0..60u64)
        .map(|i| {
            let total = format!("{}.{:02}", 10 + i * 7 % 300, i * 13 % 100);
            let date = format!("{:02}/03/2018", 1 + i % 28);
            let shop = format!("SHOP {i} SDN BHD");
            LabelledDoc {
                id: format!("r{i}"),
                text: format!("{shop}\nDATE: {date}\nITEM A 3.00\nTOTAL RM {total}\nCASH 500.00\nThank you"),
                fields: [
                    ("total".to_string(), vec![total]),
                    ("date".to_string(), vec![date]),
                    ("shop".to_string(), vec![shop]),
                ]
                .into_iter()
                .collect(),
            }
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let unit = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "TOTAL RM 1,234.56 ".into());
    let sep = if args.get(2).is_some_and(|a| a == "lines") {
        "\n"
    } else {
        ""
    };
    let specs = [
        FieldSpec::new("total", FieldKind::Money),
        FieldSpec::new("date", FieldKind::Date),
        FieldSpec::new("shop", FieldKind::Text),
    ];
    let opts = TrainOptions {
        hash_bits: 16,
        ..TrainOptions::default()
    };
    let ex = Extractor::train(&receipts(), &specs, &opts).expect("trains");
    println!("bytes\textract_s\tpatterns_s");
    for kib in [16usize, 64, 256, 1024] {
        let copy = format!("{unit}{sep}");
        let text = copy.repeat(kib * 1024 / copy.len());
        let t = Instant::now();
        let out = ex.extract(&text);
        let extract = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for k in FieldKind::ALL {
            let _ = patterns::find(k, &text, &PatternOptions::default());
        }
        let _ = patterns::label_value(&text, &["total"]);
        let pats = t.elapsed().as_secs_f64();
        assert_eq!(out.len(), specs.len());
        println!("{}\t{extract:.3}\t{pats:.3}", text.len());
    }
}
