//! Tests of the real `tandem` binary: several processes on one database, killed with
//! SIGKILL or stopped with SIGTERM, backups and migrations between backends.

#[path = "binary/health.rs"]
mod health;
#[path = "binary/instance.rs"]
mod instance;
#[path = "binary/kill.rs"]
mod kill;
#[path = "binary/poison.rs"]
mod poison;
#[path = "binary/shutdown.rs"]
mod shutdown;
#[path = "binary/transfer.rs"]
mod transfer;

#[path = "binary/llm.rs"]
mod llm;
