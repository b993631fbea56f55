//! The command line: one subcommand per job.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "tandem",
    version,
    about = "Put AI automations into production so the team keeps using them."
)]
#[command(
    long_about = "Tandem runs automations (field extraction, routing) with calibrated confidence, \
sends what it is unsure of to one exception inbox, and delivers accepted results.\n\n\
Configuration comes from defaults, then a TOML file (--config, or ./tandem.toml), then TANDEM_* \
environment variables, then these flags. `tandem config example` prints every key."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Configuration file (TOML). Default: ./tandem.toml when it exists.
    #[arg(long, global = true, env = "TANDEM_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory for the embedded database and delivered files.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB. Default: tandem.db in the data directory.
    #[arg(long = "database", global = true)]
    pub database_url: Option<String>,
    /// The workspace (team) a command acts on.
    #[arg(long, global = true)]
    pub workspace: Option<String>,
    /// Log as JSON lines instead of text.
    #[arg(long, global = true)]
    pub json_logs: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web UI, the API and a worker.
    Serve(ServeArgs),
    /// Run a worker alone (no web server): process items and send deliveries until Ctrl-C
    /// or SIGTERM. Run as many as you like against one PostgreSQL database.
    Worker,
    /// Back up the SQLite database online to FILE (for PostgreSQL it explains pg_dump).
    Backup {
        /// The backup file to create; it must not exist.
        file: PathBuf,
    },
    /// Restore the SQLite database from a backup file. Stop Tandem first.
    Restore {
        /// A file made by `tandem backup`.
        file: PathBuf,
        /// Overwrite an existing database.
        #[arg(long)]
        replace: bool,
    },
    /// Move a workspace (--workspace) from SQLite to PostgreSQL, with every table's rows.
    Migrate {
        /// The SQLite database to move from, e.g. sqlite://tandem-data/tandem.db.
        #[arg(long)]
        from: String,
        /// The PostgreSQL database to move to, e.g. postgres://tandem@127.0.0.1/tandem.
        #[arg(long)]
        to: String,
    },
    /// Measure intake and processing throughput and intake latency (not a test).
    Bench(BenchArgs),
    /// Measure the exception inbox's pages on a large SQLite store (not a test).
    BenchInbox(BenchInboxArgs),
    /// Create (or reuse) a demo workspace with two automations and real sample data, then serve it.
    Demo(DemoArgs),
    /// Check an automation definition and its training files; exit 2 when invalid.
    Check {
        /// The definition file (TOML).
        file: PathBuf,
    },
    /// Apply automation definitions: each changed one becomes a new version, with its models trained.
    Apply {
        /// Definition files (TOML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Import items from JSONL or CSV files (bad rows are reported by line and skipped), or
    /// documents: PDF, PNG, JPEG, TIFF and text files, or folders of them (one item each).
    Import(ImportArgs),
    /// Manage people.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Configuration help.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Routing models: evaluate the classifier on labelled files.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Field extraction: evaluate the learned extractor on labelled documents.
    #[command(subcommand)]
    Extract(ExtractCommand),
    /// The LLM step: refit its calibration, compare extractors run side by side, keep the better.
    #[command(subcommand)]
    Llm(LlmCommand),
    /// Train a candidate version from the definition's data plus the corrections made in
    /// the inbox, and show it beside the active version on the same held-out corrections.
    Retrain(RetrainArgs),
    /// Make a version of an automation the active one.
    Activate {
        /// The automation's slug.
        slug: String,
        /// The version number (as `tandem retrain` or the training page shows it).
        version: i64,
    },
    /// Run an automation's accepted edge cases; exit 1 when any fails (a regression).
    Test(TestArgs),
    /// Edge cases: the inputs the team says must keep working.
    #[command(subcommand)]
    EdgeCase(EdgeCaseCommand),
}

#[derive(Debug, Args)]
pub struct RetrainArgs {
    /// The automation's slug.
    pub slug: String,
    /// Activate the candidate straight away.
    #[arg(long)]
    pub activate: bool,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// The automation's slug.
    pub slug: String,
    /// Run on this version number instead of the active one.
    #[arg(long)]
    pub version: Option<i64>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum EdgeCaseCommand {
    /// Add cases from JSONL: {"input": {...}, "expected": {"fields": {...}, "route": ...}, "note": "..."}.
    Import {
        /// The automation's slug.
        #[arg(long)]
        automation: String,
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080 or 0.0.0.0:8080.
    #[arg(long)]
    pub addr: Option<String>,
    /// Do not run a worker in this process (run `tandem worker` elsewhere).
    #[arg(long)]
    pub no_worker: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Tandem processes to run side by side (PostgreSQL; SQLite has one writer).
    #[arg(long, default_value_t = 1)]
    pub instances: usize,
    /// Items per throughput phase.
    #[arg(long, default_value_t = 50_000)]
    pub items: usize,
    /// Concurrent clients posting batches of 1,000.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Single-item requests per second in the latency phase.
    #[arg(long, default_value_t = 200)]
    pub rate: u32,
    /// Length of the latency phase in seconds.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
}

#[derive(Debug, Args)]
pub struct BenchInboxArgs {
    /// Items in the store.
    #[arg(long, default_value_t = 1_000_000)]
    pub items: usize,
    /// Requests timed per page.
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// Set up and print the login, but do not serve.
    #[arg(long)]
    pub no_serve: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The automation's slug.
    #[arg(long)]
    pub automation: String,
    /// Files or folders: JSONL (one object per line) and CSV (a header row of input names)
    /// are read row by row; any other file is a document (PDF, PNG, JPEG, TIFF, text) and
    /// becomes one item; a folder's files are imported in name order, subfolders included.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Only queue the items; leave processing to a running `tandem serve`.
    #[arg(long)]
    pub no_process: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a person to the workspace. Prints a generated password unless --password-stdin.
    Add {
        email: String,
        /// admin, builder, reviewer or viewer.
        #[arg(long, default_value = "reviewer")]
        role: String,
        #[arg(long, default_value = "")]
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the workspace's people (disabled ones marked).
    List,
    /// Disable a person: they cannot sign in, and their sessions and tokens stop working at
    /// once, until enabled again.
    Disable { email: String },
    /// Let a disabled person sign in again (their unrevoked, unexpired tokens work again).
    Enable { email: String },
    /// Remove a person: their sessions end, their tokens are revoked, and they are gone from
    /// the lists; their name stays on past decisions. The e-mail can be added again.
    Remove { email: String },
    /// Give a person another role: admin, builder, reviewer or viewer.
    Role { email: String, role: String },
    /// Set a person's password (their sessions end). Prints a generated password unless
    /// --password-stdin.
    Password {
        email: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a person; it is printed once.
    Create {
        /// The person's e-mail.
        #[arg(long)]
        user: String,
        /// What the token is for.
        #[arg(long, default_value = "api")]
        name: String,
        /// How long the token works: days, hours or minutes (90d, 12h, 30m), or `never`.
        #[arg(long, default_value = "90d")]
        expires_in: String,
    },
    /// List the workspace's tokens: id, person, name, created, last used, expiry, state.
    List,
    /// Revoke a token by its id (from `tandem token list`); it answers 401 from now on.
    Revoke { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every configuration key with a one-line comment.
    Example,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Train the routing classifier on one file and report on another: accuracy, the
    /// threshold for a target precision, coverage, out-of-scope detection, calibration.
    Eval(ModelEvalArgs),
}

#[derive(Debug, Args)]
pub struct ModelEvalArgs {
    /// Training examples: JSONL `{"text": ..., "label": ...}` per line, or CSV with a text,label header.
    #[arg(long)]
    pub train: PathBuf,
    /// Test examples, same format; only read to report.
    #[arg(long)]
    pub test: PathBuf,
    /// Validation examples for choosing the threshold. Default: a held-out fifth of --train.
    #[arg(long)]
    pub val: Option<PathBuf>,
    /// The threshold is the lowest at which routed validation items reach this precision.
    #[arg(long, default_value_t = 0.99)]
    pub target_precision: f64,
    /// The label of out-of-scope examples.
    #[arg(long, default_value = "oos")]
    pub oos_label: String,
    /// Seed for training and the held-out split.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Print exactly one JSON object instead of a table (and write no charts).
    #[arg(long)]
    pub json: bool,
    /// Time training and prediction in this thread's CPU seconds instead of wall-clock
    /// seconds (Linux), for figures that hold on a shared, busy machine.
    #[arg(long)]
    pub cpu_time: bool,
    /// Where the reliability diagram and coverage curve (SVG) are written.
    #[arg(long, default_value = ".")]
    pub out_dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ExtractCommand {
    /// Train the learned extractor for an automation's fields on one file and report on
    /// another: per-field and overall precision, recall, F1, coverage at a target precision.
    Eval(ExtractEvalArgs),
}

#[derive(Debug, Args)]
pub struct ExtractEvalArgs {
    /// The automation definition (TOML) whose learned fields are evaluated.
    #[arg(long)]
    pub automation: PathBuf,
    /// Labelled documents: JSONL `{"id": ..., "text": ..., "fields": {...}}` per line.
    #[arg(long)]
    pub train: PathBuf,
    /// Labelled test documents, same format; only read to report.
    #[arg(long)]
    pub test: PathBuf,
    /// Per-field thresholds are chosen on held-out training answers for this precision.
    #[arg(long, default_value_t = 0.99)]
    pub target_precision: f64,
    /// Seed for training.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print exactly one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Time training and extraction in this thread's CPU seconds instead of wall-clock
    /// seconds (Linux), for figures that hold on a shared, busy machine.
    #[arg(long)]
    pub cpu_time: bool,
    /// Report the simple baseline instead of the learned extractor (the first pattern
    /// match, or the most frequent training value written in the document).
    #[arg(long)]
    pub baseline: bool,
}

#[derive(Debug, Subcommand)]
pub enum LlmCommand {
    /// Fit the calibration of each LLM field on the automation's reviewed items.
    Refit {
        /// The automation's slug.
        slug: String,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Per field with a shadow_extractor: how often each extractor agreed with the reviewers.
    Compare {
        /// The automation's slug.
        slug: String,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Make the extractor that agreed more often the field's primary (a new version).
    Keep {
        /// The automation's slug.
        slug: String,
        /// The field to switch.
        field: String,
    },
}
