//! `tandem check` and `tandem apply`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tandem_service::automations;

use crate::config::Config;
use crate::progress;

/// Exit 0 when the definition and its training files are valid, 2 when not.
pub fn run(file: &Path, settings: &tandem_service::Settings) -> ExitCode {
    let checked = automations::read_definition(file).and_then(|(source, files)| {
        let def = automations::parse_definition(&source, &file.display().to_string())?;
        automations::check_destinations(settings, &def)?;
        let summary = automations::check_training(&def, &files)?;
        Ok((def, summary))
    });
    match checked {
        Ok((def, summary)) => {
            println!(
                "{}: ok — {} ({}), {} field(s){}",
                file.display(),
                def.name,
                def.slug,
                def.fields.len(),
                if def.route.is_some() { ", routing" } else { "" }
            );
            for s in summary {
                println!("  {s}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            super::report(&e);
            ExitCode::from(2)
        }
    }
}

pub async fn apply(config: Config, files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let tandem = super::open(&config).await?;
    let ws = tandem
        .ensure_workspace(&config.workspace, &config.workspace)
        .await?;
    let mut code = ExitCode::SUCCESS;
    for file in files {
        let spinner = progress::spinner(&format!("applying {} (training models)", file.display()));
        let result = tandem.apply_definition_file(ws.id, file, None).await;
        spinner.finish_and_clear();
        match result {
            Ok(a) if a.created => println!(
                "{}: {} is now at version {}",
                file.display(),
                a.automation.slug,
                a.version.number
            ),
            Ok(a) => println!(
                "{}: {} unchanged (version {})",
                file.display(),
                a.automation.slug,
                a.version.number
            ),
            Err(e) => {
                super::report(&e);
                code = ExitCode::from(2);
            }
        }
    }
    Ok(code)
}
