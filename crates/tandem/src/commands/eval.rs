//! `tandem model eval` and `tandem extract eval`: train on one file, report on another,
//! with no database. They answer the builder's question before going live: how much would
//! be handled automatically at a target precision, and how honest are the confidences.
//!
//! Both wrap the engine's `evaluate`, so the figures are the ones BENCHMARKS.md records.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::json;
use tandem_charts::{Axis, Chart, Series};
use tandem_domain::definition::ExtractorKind;
use tandem_engine::classifier::{self, Example, ExampleFormat};
use tandem_engine::extractor::{self, FieldSpec, LabelledDoc};
use tandem_engine::metrics::{CurvePoint, ReliabilityBin};
use tandem_service::automations;

use crate::cli::{ExtractEvalArgs, ModelEvalArgs};

/// Read labelled route examples (JSONL, or CSV by extension). Errors name the file and line.
pub fn read_examples(path: &Path) -> anyhow::Result<Vec<Example>> {
    let text = read_text(path)?;
    let format = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
        ExampleFormat::Csv
    } else {
        ExampleFormat::Jsonl
    };
    classifier::parse_examples(&text, format)
        .with_context(|| format!("{} is not a valid examples file", path.display()))
}

fn read_documents(path: &Path) -> anyhow::Result<Vec<LabelledDoc>> {
    let text = read_text(path)?;
    extractor::parse_documents(&text)
        .with_context(|| format!("{} is not a valid labelled-documents file", path.display()))
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn check_target(p: f64) -> anyhow::Result<()> {
    if !(p > 0.0 && p <= 1.0) {
        bail!("--target-precision must be above 0 and at most 1 (got {p})");
    }
    Ok(())
}

/// The clock the timing figures are read from: wall-clock seconds, or with `cpu_time`
/// the CPU seconds this thread has used. Training and prediction run on the calling
/// thread, so on a shared machine the CPU clock measures one core's work where the wall
/// clock also counts the time other processes held the core.
fn eval_clock(cpu_time: bool) -> anyhow::Result<Box<dyn Fn() -> f64>> {
    if cpu_time {
        thread_cpu_seconds().context("--cpu-time needs Linux's /proc/thread-self/stat")?;
        Ok(Box::new(|| thread_cpu_seconds().unwrap_or(0.0)))
    } else {
        let origin = Instant::now();
        Ok(Box::new(move || origin.elapsed().as_secs_f64()))
    }
}

/// Linux reports thread CPU time in clock ticks of 1/100 s (USER_HZ) on every platform
/// Tandem runs on; a 10 ms resolution is plenty for runs of seconds.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds (user + system) used by the calling thread, from `/proc/thread-self/stat`.
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // The command name is in parentheses and may hold spaces: count fields after it.
    // There, field 0 is the state (field 3 of the line); utime and stime are 14 and 15.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

pub fn model(args: &ModelEvalArgs) -> anyhow::Result<ExitCode> {
    check_target(args.target_precision)?;
    let train = read_examples(&args.train)?;
    let test = read_examples(&args.test)?;
    let val = args.val.as_deref().map(read_examples).transpose()?;
    let opts = classifier::eval::EvalOptions {
        target_precision: args.target_precision,
        oos_label: args.oos_label.clone(),
        seed: args.seed,
    };
    let clock = eval_clock(args.cpu_time)?;
    let out = classifier::eval::evaluate(&train, &test, val.as_deref(), &opts, &clock)
        .context("the classifier could not be trained")?;
    let r = &out.report;
    if args.json {
        println!("{}", serde_json::to_string_pretty(r)?);
        return Ok(ExitCode::SUCCESS);
    }
    let threshold_from = if args.val.is_some() {
        "the --val file"
    } else {
        "a held-out fifth of --train"
    };
    println!(
        "Routing classifier: trained on {} examples, scored on {} ({} out of scope)",
        train.len(),
        test.len(),
        test.iter().filter(|e| e.label == args.oos_label).count()
    );
    let rows: Vec<(&str, String)> = vec![
        ("in-scope accuracy", pct(Some(r.in_scope_accuracy))),
        (
            "threshold",
            r.threshold.map_or_else(
                || format!("none reached {} on {threshold_from}", args.target_precision),
                |t| {
                    format!(
                        "{t:.3} (chosen on {threshold_from} for precision {})",
                        args.target_precision
                    )
                },
            ),
        ),
        ("coverage (routed automatically)", pct(Some(r.coverage))),
        ("precision of routed items", pct(r.precision)),
        (
            "threshold the evidence backs",
            r.evidence_threshold.map_or_else(
                || "none: training's held-out answers back no threshold".to_owned(),
                |t| format!("{t:.3} (95% lower bound on training's held-out answers)"),
            ),
        ),
        ("coverage at that threshold", pct(Some(r.evidence_coverage))),
        ("precision at that threshold", pct(r.evidence_precision)),
        ("out-of-scope recall", pct(r.oos_recall)),
        ("out-of-scope AUROC", num(r.oos_auroc)),
        ("in-scope items out of range", pct(Some(r.out_of_range_in_scope))),
        ("out-of-scope items out of range", pct(r.out_of_range_oos)),
        ("ECE (15 bins)", num(Some(r.ece))),
        ("training", format!("{:.1} s", r.train_seconds)),
        (
            "predictions per second",
            format!("{:.0}", r.predictions_per_second),
        ),
    ];
    print_table(&rows);
    let dir = &args.out_dir;
    let reliability = write_svg(
        dir,
        "model-eval-reliability.svg",
        &reliability_chart(&out.reliability),
    )?;
    let coverage = write_svg(
        dir,
        "model-eval-coverage.svg",
        &coverage_chart(&out.curve, args.target_precision, "Routed automatically"),
    )?;
    println!("\nreliability diagram: {}", reliability.display());
    println!("coverage vs precision: {}", coverage.display());
    Ok(ExitCode::SUCCESS)
}

pub fn extract(args: &ExtractEvalArgs) -> anyhow::Result<ExitCode> {
    check_target(args.target_precision)?;
    let source = read_text(&args.automation)?;
    let def = automations::parse_definition(&source, &args.automation.display().to_string())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let fields: Vec<FieldSpec> = def
        .fields
        .iter()
        .filter(|f| f.extractor == ExtractorKind::Learned)
        .map(|f| FieldSpec {
            name: f.name.clone(),
            kind: f.kind,
            multi: f.multi,
        })
        .collect();
    if fields.is_empty() {
        bail!(
            "{} declares no learned fields (extractor = \"learned\"): nothing to evaluate",
            args.automation.display()
        );
    }
    let train = read_documents(&args.train)?;
    let test = read_documents(&args.test)?;
    let opts = extractor::eval::EvalOptions {
        target_precision: args.target_precision,
        seed: args.seed,
    };
    let clock = eval_clock(args.cpu_time)?;
    let r = if args.baseline {
        extractor::baseline::baseline(&fields, &train, &test, &opts)
    } else {
        extractor::eval::evaluate(&fields, &train, &test, &opts, &clock)
            .context("the extractor could not be trained")?
    };
    let report = json!({
        "fields": serde_json::to_value(&r.fields)?,
        "micro_f1": r.micro_f1,
        "coverage": r.coverage,
        "precision": r.precision,
        "ece": r.ece,
        "train_seconds": r.train_seconds,
        "documents_per_second": r.documents_per_second,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{}: {} trained on {} documents, scored on {} (target precision {})",
        def.slug,
        if args.baseline {
            "the baseline (first pattern match, or most frequent training value written)"
        } else {
            "learned fields"
        },
        train.len(),
        test.len(),
        args.target_precision
    );
    println!(
        "\n{:<16} {:>7} {:>7} {:>7} {:>10} {:>9} {:>8} {:>6}",
        "field", "P", "R", "F1", "threshold", "coverage", "auto P", "ECE"
    );
    for (name, f) in &r.fields {
        println!(
            "{:<16} {:>7} {:>7} {:>7} {:>10} {:>9} {:>8} {:>6.3}",
            truncate(name, 16),
            pct(Some(f.extraction_precision)),
            pct(Some(f.recall)),
            pct(Some(f.f1)),
            f.threshold
                .map_or_else(|| "none".to_owned(), |t| format!("{t:.3}")),
            pct(Some(f.coverage)),
            pct(Some(f.precision)),
            f.ece
        );
    }
    println!(
        "{:<16} {:>7} {:>7} {:>7} {:>10} {:>9} {:>8} {:>6.3}",
        "all (micro)",
        pct(Some(r.micro_precision)),
        pct(Some(r.micro_recall)),
        pct(Some(r.micro_f1)),
        "per field",
        pct(Some(r.coverage)),
        pct(Some(r.precision)),
        r.ece
    );
    println!(
        "\ntraining {:.1} s; {:.0} documents per second",
        r.train_seconds, r.documents_per_second
    );
    for (name, f) in &r.fields {
        if let Some(why) = &f.no_evidence {
            println!("{name} accepts nothing automatically: {why}.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.3}"))
}

fn print_table(rows: &[(&str, String)]) {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in rows {
        println!("  {k:<width$}  {v}");
    }
}

fn write_svg(dir: &Path, name: &str, chart: &Chart) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, chart.to_svg()).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

fn reliability_chart(bins: &[ReliabilityBin]) -> Chart {
    let bins: Vec<tandem_charts::ReliabilityBin> = bins
        .iter()
        .filter(|b| b.count > 0)
        .map(|b| tandem_charts::ReliabilityBin {
            confidence: b.mean_confidence,
            accuracy: b.accuracy,
            count: b.count,
        })
        .collect();
    tandem_charts::reliability_diagram("Is the confidence honest?", &bins)
}

fn coverage_chart(curve: &[CurvePoint], target: f64, what: &str) -> Chart {
    Chart::new(
        "Coverage against precision, over thresholds",
        Axis::new(format!("{what} (share of all items)"))
            .range(0.0, 1.0)
            .percent(),
        Axis::new("Precision of those").range(0.0, 1.0).percent(),
    )
    .size(420, 380)
    .series(Series::line(
        "at each threshold",
        curve.iter().map(|p| (p.coverage, p.precision)).collect(),
    ))
    .rule(target, format!("target {target}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The JSON keys `tandem model eval --json` prints, for callers that check them.
    const MODEL_EVAL_KEYS: [&str; 14] = [
        "in_scope_accuracy",
        "threshold",
        "coverage",
        "precision",
        "oos_recall",
        "oos_auroc",
        "ece",
        "train_seconds",
        "predictions_per_second",
        "evidence_threshold",
        "evidence_coverage",
        "evidence_precision",
        "out_of_range_in_scope",
        "out_of_range_oos",
    ];

    #[test]
    fn the_report_struct_serialises_to_exactly_the_documented_keys() {
        let r = classifier::eval::EvalReport {
            in_scope_accuracy: 0.9,
            threshold: None,
            coverage: 0.0,
            precision: None,
            oos_recall: None,
            oos_auroc: None,
            ece: 0.01,
            train_seconds: 1.0,
            predictions_per_second: 10.0,
            evidence_threshold: None,
            evidence_coverage: 0.0,
            evidence_precision: None,
            out_of_range_in_scope: 0.0,
            out_of_range_oos: None,
        };
        let Value::Object(map) = serde_json::to_value(&r).unwrap() else {
            panic!("not an object")
        };
        let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut want = MODEL_EVAL_KEYS.to_vec();
        want.sort_unstable();
        assert_eq!(keys, want);
    }
}
