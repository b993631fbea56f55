//! `tandem serve`: the web UI, the API and (unless told otherwise) a worker, until Ctrl-C
//! or SIGTERM; then in-flight requests finish and leased jobs are given back.

use std::process::ExitCode;

use anyhow::Context;
use tandem_service::Tandem;
use tandem_service::worker::Worker;
use tokio::sync::watch;

use crate::cli::ServeArgs;
use crate::config::Config;

pub async fn run(mut config: Config, args: ServeArgs) -> anyhow::Result<ExitCode> {
    if let Some(addr) = args.addr {
        config.addr = addr;
    }
    let tandem = super::open(&config).await?;
    serve(tandem, &config.addr, !args.no_worker).await?;
    Ok(ExitCode::SUCCESS)
}

/// Serve until a shutdown signal.
pub async fn serve(tandem: Tandem, addr: &str, with_worker: bool) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let worker = with_worker.then(|| {
        let w = Worker::new(tandem.clone(), Worker::unique_id());
        tracing::info!(worker = w.id(), "worker started");
        tokio::spawn(w.run(stopped(stop_rx.clone())))
    });
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    });
    tracing::info!(%addr, "listening");
    tandem_web::serve(listener, tandem_web::router(tandem.clone()), stopped(stop_rx)).await?;
    if let Some(w) = worker {
        let _ = w.await;
    }
    if let Err(e) = tandem.store.shutdown().await {
        tracing::warn!(error = %e, "could not fold the database's log back in at shutdown");
    }
    Ok(())
}

/// Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
