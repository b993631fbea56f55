//! One module per subcommand.

mod bench;
mod bench_inbox;
mod check;
mod demo;
mod demo_shadow;
mod eval;
mod import;
mod import_documents;
mod llm;
mod retrain;
mod rollout;
mod serve;
mod transfer;
mod users;
mod worker;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tandem_service::{ServiceError, SystemClock, Tandem};

use crate::cli::{Command, ConfigCommand, ExtractCommand, ModelCommand};
use crate::config::Config;

pub async fn run(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => serve::run(config, args).await,
        Command::Worker => worker::run(config).await,
        Command::Backup { file } => transfer::backup(config, &file).await,
        Command::Restore { file, replace } => transfer::restore(config, &file, replace).await,
        Command::Migrate { from, to } => transfer::migrate(config, &from, &to).await,
        Command::Bench(args) => bench::run(config, args).await,
        Command::BenchInbox(args) => bench_inbox::run(config, args).await,
        Command::Demo(args) => demo::run(config, args).await,
        Command::Check { file } => Ok(check::run(&file, &config.settings())),
        Command::Apply { files } => check::apply(config, &files).await,
        Command::Import(args) => import::run(config, args).await,
        Command::Llm(cmd) => llm::run(config, cmd).await,
        Command::User(cmd) => users::user(config, cmd).await,
        Command::Token(cmd) => users::token(config, cmd).await,
        Command::Config(ConfigCommand::Example) => {
            print!("{}", crate::config::EXAMPLE);
            Ok(ExitCode::SUCCESS)
        }
        // CPU-bound and database-free: run off the async threads.
        Command::Model(ModelCommand::Eval(args)) => blocking(move || eval::model(&args)).await,
        Command::Extract(ExtractCommand::Eval(args)) => blocking(move || eval::extract(&args)).await,
        Command::Retrain(args) => retrain::retrain(config, args).await,
        Command::Activate { slug, version } => retrain::activate(config, &slug, version).await,
        Command::Test(args) => rollout::test(config, args).await,
        Command::EdgeCase(cmd) => rollout::edge_case(config, cmd).await,
    }
}

async fn blocking(f: impl FnOnce() -> anyhow::Result<ExitCode> + Send + 'static) -> anyhow::Result<ExitCode> {
    tokio::task::spawn_blocking(f)
        .await
        .context("the command stopped")?
}

/// Open the database (creating the data directory for SQLite) and build the service.
pub async fn open(config: &Config) -> anyhow::Result<Tandem> {
    config.validate()?;
    let url = config.database_url();
    if url.starts_with("sqlite:") {
        // Owner only (0700): the directory holds the database, its log and destinations.
        let mut dir = std::fs::DirBuilder::new();
        dir.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
        dir.create(&config.data_dir)
            .with_context(|| format!("cannot create the data directory {}", config.data_dir.display()))?;
    }
    let store = tandem_store::open(&url)
        .await
        .with_context(|| format!("cannot open the database {}", redact(&url)))?;
    Ok(Tandem::new(store, Arc::new(SystemClock), config.settings()))
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..scheme + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Print a service error the way a person at a terminal needs it: the message, then each
/// detail on its own line.
pub fn report(e: &ServiceError) {
    match e {
        ServiceError::Invalid { message, details } => {
            eprintln!("error: {message}");
            for d in details {
                eprintln!("  {d}");
            }
        }
        other => eprintln!("error: {other}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            super::redact("postgres://tandem:s3cret@db/x"),
            "postgres://tandem:***@db/x"
        );
        assert_eq!(super::redact("postgres://tandem@db/x"), "postgres://tandem@db/x");
        assert_eq!(super::redact("sqlite://a.db"), "sqlite://a.db");
    }
}
