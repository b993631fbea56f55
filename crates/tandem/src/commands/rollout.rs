//! `tandem test SLUG`: run the accepted edge cases on the active (or a given) version,
//! print pass, fail or changed per case with what differs, and exit 1 on a regression so
//! the suite can gate the CI of a repository that holds automation files.
//! `tandem edge-case import`: add cases from JSONL.

use std::process::ExitCode;

use anyhow::Context;

use super::import::cli_actor;
use super::report;
use crate::cli::{EdgeCaseCommand, TestArgs};
use crate::config::Config;

pub async fn test(config: Config, args: TestArgs) -> anyhow::Result<ExitCode> {
    let tandem = super::open(&config).await?;
    let actor = cli_actor(&tandem, &config.workspace).await?;
    let r = match tandem.run_suite(&actor, &args.slug, args.version).await {
        Ok(r) => r,
        Err(e) => {
            report(&e);
            return Ok(ExitCode::from(2));
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "{} version {}: {} accepted edge case(s)",
            r.automation,
            r.version,
            r.cases.len()
        );
        for c in &r.cases {
            println!("  {:<8} #{:<5} {}", c.status.to_uppercase(), c.id, c.note);
            for d in &c.diff {
                println!("           {d}");
            }
        }
        println!("{} passed, {} failed, {} changed", r.passed, r.failed, r.changed);
    }
    Ok(if r.is_regression() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub async fn edge_case(config: Config, cmd: EdgeCaseCommand) -> anyhow::Result<ExitCode> {
    let tandem = super::open(&config).await?;
    let actor = cli_actor(&tandem, &config.workspace).await?;
    match cmd {
        EdgeCaseCommand::Import { automation, file } => {
            let text =
                std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            match tandem.import_edge_cases(&actor, &automation, &text).await {
                Ok((added, duplicates)) => {
                    println!("{added} edge case(s) added, {duplicates} already known");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    report(&e);
                    Ok(ExitCode::from(2))
                }
            }
        }
    }
}
