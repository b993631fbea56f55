//! `tandem bench`: throughput and latency of this build on this machine, measured through
//! the real binary over HTTP (not a test: figures go to BENCHMARKS.md, never into asserts).
//!
//! Four phases, each with fresh `tandem` child processes on one database:
//! 1. batch intake: `serve --no-worker`, clients post batches of 1,000 items; an item
//!    counts when its 2xx arrived, which is after its transaction committed (durable);
//! 2. processing: `worker` processes run the engine on the queued items and store the
//!    results; timed until the queue is empty;
//! 3. end to end: `serve` with its worker; batches in, timed until the last result is
//!    stored;
//! 4. latency: single-item posts at a fixed rate (open loop: a request is sent on
//!    schedule whether or not the earlier ones have been answered), p50/p99/max.

use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use tandem_domain::Role;
use tandem_service::automations::TrainingFiles;
use tandem_service::{Settings, SystemClock, Tandem};

use crate::cli::BenchArgs;
use crate::config::Config;

/// The automation benchmarked: an e-mail address read by pattern, results stored (no
/// destinations, so delivery is not part of the figures).
const DEFINITION: &str = r#"
name = "Bench contacts"
slug = "bench"

[[fields]]
name = "email"
type = "email"
required = true
threshold = 0.5

[[fields]]
name = "order"
type = "identifier"
labels = ["Order", "Order number"]
threshold = 0.5
"#;

const BATCH: usize = 1_000;

pub async fn run(config: Config, args: BenchArgs) -> anyhow::Result<ExitCode> {
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; measure with `cargo run --release -- bench`");
    }
    let tmp = tempfile::tempdir().context("a temporary directory")?;
    let url = match &config.database_url {
        Some(u) => u.clone(),
        None => format!("sqlite://{}", tmp.path().join("bench.db").display()),
    };
    let instances = args.instances.max(1);
    let load_before = load_average();
    let (token, slug) = prepare(&url).await?;
    println!(
        "tandem bench: {} with {instances} instance(s), {} items, {} clients, {} cores",
        super::redact(&url).split('?').next().unwrap_or_default(),
        args.items,
        args.clients,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let store = tandem_store::open(&url).await?;
    let bench = Bench {
        url: url.clone(),
        dir: tmp.path().to_path_buf(),
        slug,
        token,
        client: reqwest::Client::builder().pool_max_idle_per_host(64).build()?,
    };

    // 1. Intake alone.
    let servers = bench.spawn(instances, &["serve", "--no-worker"]).await?;
    let (took, _) = bench
        .post_batches(&servers, args.items, args.clients, "a")
        .await?;
    report("batch intake (durable, 2xx after commit)", args.items, took);
    stop(servers);

    // 2. Processing what was queued.
    let started = Instant::now();
    let workers = bench.spawn(instances, &["worker"]).await?;
    wait_empty(&*store).await?;
    report(
        "processing (engine + results stored)",
        args.items,
        started.elapsed(),
    );
    stop(workers);

    // 3. End to end.
    let servers = bench.spawn(instances, &["serve"]).await?;
    let started = Instant::now();
    bench
        .post_batches(&servers, args.items, args.clients, "b")
        .await?;
    wait_empty(&*store).await?;
    report(
        "end to end (intake, engine, stored)",
        args.items,
        started.elapsed(),
    );

    // 4. Single-item latency at a fixed rate.
    let lat = bench
        .latency(&servers, args.rate, Duration::from_secs(args.seconds))
        .await?;
    println!(
        "  single-item intake at {} req/s for {} s: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} requests, {} errors)",
        args.rate, args.seconds, lat.p50, lat.p99, lat.max, lat.count, lat.errors
    );
    wait_empty(&*store).await?;
    stop(servers);
    println!("  load average before/after: {load_before} / {}", load_average());
    Ok(ExitCode::SUCCESS)
}

/// The machine's 1/5/15-minute load, printed so figures from a busy machine say so.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn report(what: &str, items: usize, took: Duration) {
    println!(
        "  {what:<42} {:>9.0} items/s ({items} in {:.2} s)",
        items as f64 / took.as_secs_f64(),
        took.as_secs_f64()
    );
}

/// A fresh workspace with the automation and a builder's token.
async fn prepare(url: &str) -> anyhow::Result<(String, String)> {
    let store = tandem_store::open(url).await?;
    let settings = Settings {
        fast_password_hashing: true,
        ..Settings::default()
    };
    let t = Tandem::new(store, Arc::new(SystemClock), settings);
    let slug = format!("bench-{}", t.now());
    let ws = t
        .ensure_workspace(&slug, "Benchmark")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    t.apply_definition(ws.id, DEFINITION, TrainingFiles::default(), "bench.toml", None)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let user = t
        .add_user(ws.id, &format!("{slug}@bench.invalid"), "", Role::Builder, &slug)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let token = t
        .create_token(&user, "bench")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if t.store.queue_depth().await? > 0 {
        eprintln!("warning: the database already has queued jobs; the timings include them");
    }
    Ok((token, slug))
}

/// Wait until no job is left (every item processed).
async fn wait_empty(store: &dyn tandem_store::Store) -> anyhow::Result<()> {
    while store.queue_depth().await? > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

struct Server {
    child: Child,
    url: String,
}

fn stop(servers: Vec<Server>) {
    for mut s in servers {
        let _ = Command::new("kill")
            .args(["-TERM", &s.child.id().to_string()])
            .status();
        let _ = s.child.wait();
    }
}

struct Latency {
    p50: f64,
    p99: f64,
    max: f64,
    count: usize,
    errors: usize,
}

struct Bench {
    url: String,
    dir: PathBuf,
    slug: String,
    token: String,
    client: reqwest::Client,
}

impl Bench {
    async fn spawn(&self, n: usize, args: &[&str]) -> anyhow::Result<Vec<Server>> {
        let exe = std::env::current_exe().context("the tandem executable")?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
            let mut c = Command::new(&exe);
            c.args(["--database", &self.url, "--data-dir"])
                .arg(&self.dir)
                .args(["--workspace", &self.slug])
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null());
            if std::env::var_os("TANDEM_LOG").is_none() {
                c.env("TANDEM_LOG", "warn");
            }
            let serving = args[0] == "serve";
            if serving {
                c.args(["--addr", &format!("127.0.0.1:{port}")]);
            }
            let child = c.spawn().context("start a tandem instance")?;
            let url = format!("http://127.0.0.1:{port}");
            if serving {
                wait_ready(&self.client, &url).await?;
            }
            out.push(Server { child, url });
        }
        Ok(out)
    }

    /// Post `items` items in batches from `clients` concurrent clients, spread over the
    /// servers. Returns the wall time and the batch latencies.
    async fn post_batches(
        &self,
        servers: &[Server],
        items: usize,
        clients: usize,
        tag: &str,
    ) -> anyhow::Result<(Duration, Vec<f64>)> {
        let batches = items.div_ceil(BATCH);
        let next = Arc::new(AtomicUsize::new(0));
        let urls: Vec<String> = servers
            .iter()
            .map(|s| format!("{}/api/v1/automations/bench/items/batch", s.url))
            .collect();
        let started = Instant::now();
        let tasks: Vec<_> = (0..clients.max(1))
            .map(|_| {
                let (next, urls, client, token, tag) = (
                    next.clone(),
                    urls.clone(),
                    self.client.clone(),
                    self.token.clone(),
                    tag.to_owned(),
                );
                tokio::spawn(async move {
                    let mut lat = Vec::new();
                    loop {
                        let b = next.fetch_add(1, Ordering::SeqCst);
                        if b >= batches {
                            return Ok::<_, anyhow::Error>(lat);
                        }
                        let n = BATCH.min(items - b * BATCH);
                        let body = batch_body(&tag, b * BATCH, n);
                        let t = Instant::now();
                        let resp = client
                            .post(&urls[b % urls.len()])
                            .bearer_auth(&token)
                            .header("content-type", "application/json")
                            .body(body)
                            .send()
                            .await?;
                        anyhow::ensure!(resp.status().is_success(), "batch refused: {}", resp.status());
                        let _ = resp.bytes().await?;
                        lat.push(t.elapsed().as_secs_f64() * 1e3);
                    }
                })
            })
            .collect();
        let mut lat = Vec::new();
        for t in tasks {
            lat.extend(t.await??);
        }
        Ok((started.elapsed(), lat))
    }

    async fn latency(&self, servers: &[Server], rate: u32, length: Duration) -> anyhow::Result<Latency> {
        let n = (u64::from(rate.max(1)) * length.as_secs()).max(1) as usize;
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut tasks = Vec::with_capacity(n);
        for i in 0..n {
            tick.tick().await;
            let url = format!(
                "{}/api/v1/automations/bench/items",
                servers[i % servers.len()].url
            );
            let (client, token) = (self.client.clone(), self.token.clone());
            tasks.push(tokio::spawn(async move {
                let t = Instant::now();
                let resp = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&item_input("c", i))
                    .send()
                    .await;
                let ok = match resp {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                (ok, t.elapsed().as_secs_f64() * 1e3)
            }));
        }
        let mut lat = Vec::with_capacity(n);
        let mut errors = 0;
        for t in tasks {
            let (ok, ms) = t.await?;
            if ok {
                lat.push(ms);
            } else {
                errors += 1;
            }
        }
        lat.sort_by(f64::total_cmp);
        let pick = |q: f64| {
            lat.get(((lat.len() as f64 * q).ceil() as usize).saturating_sub(1))
                .copied()
                .unwrap_or(f64::NAN)
        };
        Ok(Latency {
            p50: pick(0.50),
            p99: pick(0.99),
            max: lat.last().copied().unwrap_or(f64::NAN),
            count: n,
            errors,
        })
    }
}

fn item_input(tag: &str, i: usize) -> serde_json::Value {
    serde_json::json!({
        "text": format!("Hello, please update my address. Reply to customer{i}.{tag}@example.com\nOrder: AB-{:04}", i % 10_000)
    })
}

fn batch_body(tag: &str, from: usize, n: usize) -> String {
    let items: Vec<serde_json::Value> = (from..from + n)
        .map(|i| serde_json::json!({ "input": item_input(tag, i), "idempotency_key": format!("{tag}-{i}") }))
        .collect();
    serde_json::json!({ "items": items }).to_string()
}

async fn wait_ready(client: &reqwest::Client, url: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{url}/readyz")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "{url} did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
