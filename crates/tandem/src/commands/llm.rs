//! `tandem llm refit SLUG`, `tandem llm compare SLUG` and `tandem llm keep SLUG FIELD`.

use std::process::ExitCode;

use crate::cli::LlmCommand;
use crate::config::Config;

pub async fn run(config: Config, command: LlmCommand) -> anyhow::Result<ExitCode> {
    let tandem = super::open(&config).await?;
    let ws = tandem
        .ensure_workspace(&config.workspace, &config.workspace)
        .await?
        .id;
    match command {
        LlmCommand::Refit { slug, json } => match tandem.refit_llm(ws, &slug).await {
            Ok(fits) if json => {
                println!(
                    "{}",
                    serde_json::to_string(&serde_json::json!({ "fields": fits }))?
                );
                Ok(ExitCode::SUCCESS)
            }
            Ok(fits) => {
                for f in fits {
                    if f.points == 0 {
                        println!("{}: no reviewed items yet; raw scores pass through", f.field);
                        continue;
                    }
                    let curve: Vec<String> = f.curve.iter().map(|(s, p)| format!("{s:.2}→{p:.2}")).collect();
                    let scored = f.score_method.as_deref().unwrap_or("an unrecorded method");
                    let others = match f.other_points {
                        0 => String::new(),
                        n => format!(" ({n} scored another way left out)"),
                    };
                    println!(
                        "{}: fitted ({}) on {} reviewed answers scored by {scored}{others}, {} right ({:.0}%); {}",
                        f.field,
                        f.method,
                        f.points,
                        f.correct,
                        100.0 * f.correct as f64 / f.points as f64,
                        curve.join(" ")
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => fail(&e),
        },
        LlmCommand::Compare { slug, json } => match tandem.compare_extractors(ws, &slug).await {
            Ok(rows) if json => {
                println!(
                    "{}",
                    serde_json::to_string(&serde_json::json!({ "fields": rows }))?
                );
                Ok(ExitCode::SUCCESS)
            }
            Ok(rows) => {
                if rows.is_empty() {
                    println!("{slug}: no field names a shadow_extractor");
                }
                for r in rows {
                    let scores: Vec<String> = r
                        .scores
                        .iter()
                        .map(|s| {
                            format!(
                                "{}{} {}/{} ({:.0}%)",
                                s.extractor,
                                if s.extractor == r.primary {
                                    " (primary)"
                                } else {
                                    ""
                                },
                                s.agreed,
                                s.reviewed,
                                100.0 * s.rate()
                            )
                        })
                        .collect();
                    let verdict = match &r.switch_to {
                        Some(b) => format!("; {b} agrees more often: `tandem llm keep {slug} {}`", r.field),
                        None => String::new(),
                    };
                    if scores.is_empty() {
                        println!("{}: no reviewed items with both answers yet", r.field);
                    } else {
                        println!("{}: {}{verdict}", r.field, scores.join(", "));
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => fail(&e),
        },
        LlmCommand::Keep { slug, field } => match tandem.keep_better_extractor(ws, &slug, &field, None).await
        {
            Ok(a) => {
                println!(
                    "{}: version {} is active; the better extractor now decides {field}",
                    a.automation.slug, a.version.number
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => fail(&e),
        },
    }
}

fn fail(e: &tandem_service::ServiceError) -> anyhow::Result<ExitCode> {
    super::report(e);
    Ok(ExitCode::from(2))
}
