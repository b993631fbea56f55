//! `tandem retrain SLUG` and `tandem activate SLUG VERSION`: learn from the corrections
//! made in the inbox, look at the candidate beside the current version, and switch only
//! when asked.

use std::process::ExitCode;

use tandem_service::retrain::{Comparison, ExtractorScore, RouterScore};

use crate::cli::RetrainArgs;
use crate::config::Config;
use crate::progress;

pub async fn retrain(config: Config, args: RetrainArgs) -> anyhow::Result<ExitCode> {
    let tandem = super::open(&config).await?;
    let ws = tandem
        .ensure_workspace(&config.workspace, &config.workspace)
        .await?;
    let spinner = progress::spinner(&format!("retraining {} with its corrections", args.slug));
    let result = tandem.retrain(ws.id, &args.slug, None, args.activate).await;
    spinner.finish_and_clear();
    let r = match result {
        Ok(r) => r,
        Err(e) => {
            super::report(&e);
            return Ok(ExitCode::from(2));
        }
    };
    if args.json {
        let out = serde_json::json!({
            "automation": r.automation.slug,
            "current_version": r.current.number,
            "candidate_version": r.candidate.number,
            "activated": r.activated,
            "comparison": r.comparison,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    print_comparison(r.candidate.number, &r.comparison);
    if r.activated {
        println!(
            "\nversion {} of {} is now active",
            r.candidate.number, r.automation.slug
        );
    } else {
        println!(
            "\nversion {} is stored but not active; to use it: tandem activate {} {}",
            r.candidate.number, r.automation.slug, r.candidate.number
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn activate(config: Config, slug: &str, version: i64) -> anyhow::Result<ExitCode> {
    let tandem = super::open(&config).await?;
    let ws = tandem
        .ensure_workspace(&config.workspace, &config.workspace)
        .await?;
    match tandem.activate(ws.id, slug, version).await {
        Ok((a, v)) => {
            println!("version {} of {} is now active", v.number, a.slug);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            super::report(&e);
            Ok(ExitCode::from(2))
        }
    }
}

fn figure(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

fn row(what: &str, a: Option<f64>, b: Option<f64>) {
    println!("  {what:<26} {:>10} {:>10}", figure(a), figure(b));
}

fn print_comparison(candidate: i64, c: &Comparison) {
    println!(
        "candidate version {candidate}: trained on the definition's {} examples plus {} corrections",
        c.definition_examples, c.corrections_trained
    );
    if c.corrections_held_out == 0 {
        println!("too few corrections to compare on held-out data (three or more are needed)");
        return;
    }
    println!(
        "compared on {} held-out corrections that neither version trained on:\n",
        c.corrections_held_out
    );
    println!(
        "  {:<26} {:>10} {:>10}",
        "",
        format!("v{}", c.current_version),
        format!("v{candidate}")
    );
    if let Some(r) = &c.router {
        println!("  routing ({} held out)", r.examples);
        let (a, b): (&RouterScore, &RouterScore) = (&r.current, &r.candidate);
        row("top route right", a.accuracy, b.accuracy);
        row("routed automatically", a.coverage, b.coverage);
        row("of those, right", a.precision, b.precision);
    }
    if let Some(x) = &c.extractor {
        println!("  fields ({} documents held out)", x.documents);
        let (a, b): (&ExtractorScore, &ExtractorScore) = (&x.current, &x.candidate);
        row("fields right", a.accuracy, b.accuracy);
        row("accepted automatically", a.coverage, b.coverage);
        row("of those, right", a.precision, b.precision);
        for (name, v) in &b.fields {
            row(
                &format!("{name} right"),
                a.fields.get(name).copied().flatten(),
                *v,
            );
        }
    }
}
