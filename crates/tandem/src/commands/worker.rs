//! `tandem worker`: a worker without the web server, for scaling processing apart from the
//! API (several instances on one PostgreSQL database share the queue through job leases).
//! On Ctrl-C or SIGTERM it finishes the batch in hand and gives back any job still leased.

use std::process::ExitCode;

use tandem_service::worker::Worker;

use crate::config::Config;

pub async fn run(config: Config) -> anyhow::Result<ExitCode> {
    let tandem = super::open(&config).await?;
    let worker = Worker::new(tandem.clone(), Worker::unique_id());
    tracing::info!(worker = worker.id(), "worker started");
    worker
        .run(async {
            super::serve::shutdown_signal().await;
            tracing::info!("shutting down");
        })
        .await;
    if let Err(e) = tandem.store.shutdown().await {
        tracing::warn!(error = %e, "could not fold the database's log back in at shutdown");
    }
    Ok(ExitCode::SUCCESS)
}
