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
            for w in def.rule_warnings() {
                println!("  warning: {w}");
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
    let Some(ws) = apply_workspace(&tandem, &config.workspace).await? else {
        return Ok(ExitCode::from(2));
    };
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

/// The workspace `apply` writes to. A workspace named with `--workspace` (or in the
/// configuration) is used, and created if new. Without one (the name is the default,
/// "default", and no such workspace exists), `apply` goes to the only workspace there is
/// (`tandem demo` made "demo", say) instead of silently creating a second one whose
/// automations the first one's tokens cannot see (issue 20); with several, it asks.
/// `None`: it asked (the message is printed).
async fn apply_workspace(
    tandem: &tandem_service::Tandem,
    name: &str,
) -> anyhow::Result<Option<tandem_store::Workspace>> {
    if let Some(ws) = tandem.store.workspace_by_slug(name).await? {
        return Ok(Some(ws));
    }
    let ids = if name == crate::config::DEFAULT_WORKSPACE {
        tandem.store.workspace_ids().await?
    } else {
        Vec::new()
    };
    match ids.as_slice() {
        [] => Ok(Some(tandem.ensure_workspace(name, name).await?)),
        [only] => {
            let ws = tandem.store.workspace(*only).await?;
            eprintln!(
                "applying to workspace {:?}, the only one in this database (name another with --workspace)",
                ws.slug
            );
            Ok(Some(ws))
        }
        many => {
            let mut slugs = Vec::with_capacity(many.len());
            for id in many {
                slugs.push(tandem.store.workspace(*id).await?.slug);
            }
            eprintln!(
                "error: this database has workspaces {}; say which to apply to with --workspace (for example --workspace {})",
                slugs.join(", "),
                slugs[0]
            );
            Ok(None)
        }
    }
}
