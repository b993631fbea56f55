//! The worker: claims due jobs, runs the engine on items, stores results, and sends
//! deliveries. Many workers may share one database; a job is leased, so if a worker dies
//! its jobs are taken over when the lease runs out, and nothing accepted is lost.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use tandem_domain::{ItemInput, ItemStatus, Millis, Stage};
use tandem_store::{Job, JobKind, Processed};

use crate::automations::Compiled;
use crate::schedule::Scheduler;
use crate::{ServiceError, ServiceResult, Tandem, delivery};

/// How long an idle worker waits before looking for work again (it is also woken at
/// once by intake in the same process).
const IDLE_POLL: Duration = Duration::from_millis(200);
/// How long a worker that found only a few jobs waits for more before the next batch.
const GATHER: Duration = Duration::from_millis(50);
/// How long to wait after a database error before trying again.
const ERROR_BACKOFF: Duration = Duration::from_secs(1);
/// Items read at the same time while preparing a batch.
const PREPARE_CONCURRENCY: usize = 8;
/// Deliveries sent at the same time by one worker.
const DELIVERY_CONCURRENCY: usize = 16;

/// The automation an item belongs to: its slug (for payloads) and its stage now.
type Target = (String, Stage);
/// A claimed job, ready for the engine.
type Work = (Job, tandem_store::Item, Arc<Compiled>, Target);
/// The engine's result for an item and what its extractors answered.
type Ran = (Processed, Option<tandem_store::NewExtractorRuns>);

/// Items whose LLM step is in flight, each in a task of its own.
#[derive(Debug, Default)]
struct InFlight {
    tasks: tokio::sync::Mutex<tokio::task::JoinSet<()>>,
    /// Woken each time one of them ends.
    finished: tokio::sync::Notify,
}

/// What one cycle of a worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tick {
    /// Items run through the engine (or failed trying).
    pub processed: usize,
    /// Delivery attempts made.
    pub delivered: usize,
}

impl Tick {
    pub fn total(&self) -> usize {
        self.processed + self.delivered
    }
}

#[derive(Debug, Clone)]
pub struct Worker {
    tandem: Tandem,
    id: String,
    /// Periodic tasks (digests, sweeps, rollups), run once per period across instances.
    scheduler: Arc<Scheduler>,
    in_flight: Arc<InFlight>,
    /// Documents read at the same time: OCR takes a core each, so at most one per core.
    reads: Arc<tokio::sync::Semaphore>,
}

impl Worker {
    /// `id` names this worker in job leases; it must be unique among running workers.
    pub fn new(tandem: Tandem, id: impl Into<String>) -> Self {
        Self {
            tandem,
            id: id.into(),
            scheduler: Arc::new(Scheduler::standard()),
            in_flight: Arc::default(),
            reads: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            )),
        }
    }

    /// Drive these periodic tasks instead of the product's ([`crate::schedule::tasks`]).
    pub fn with_scheduler(mut self, scheduler: Scheduler) -> Self {
        self.scheduler = Arc::new(scheduler);
        self
    }

    /// A worker id unique to this process.
    pub fn unique_id() -> String {
        format!(
            "{}-{}",
            std::process::id(),
            crate::auth::new_secret("").chars().take(8).collect::<String>()
        )
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Items whose LLM step is still in flight (finished tasks are reaped here).
    pub async fn in_flight(&self) -> usize {
        let mut tasks = self.in_flight.tasks.lock().await;
        while let Some(ended) = tasks.try_join_next() {
            if let Err(e) = ended
                && e.is_panic()
            {
                tracing::error!(worker = %self.id, error = %e, "an LLM item's task panicked; its lease will run out and it is retried");
            }
        }
        tasks.len()
    }

    /// Wait until every item in the LLM step has finished; whether there were any.
    pub async fn settle(&self) -> bool {
        let mut tasks = self.in_flight.tasks.lock().await;
        let any = !tasks.is_empty();
        while tasks.join_next().await.is_some() {}
        any
    }

    /// Work until `shutdown` completes; then finish the batch in hand and give back any
    /// job still leased, so another worker can take it at once.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        // Set when shutdown begins: the work in hand has until then to finish.
        let mut stop_by = None;
        loop {
            // Scheduled work first: it is rare and short, and runs between job batches so
            // that a shutdown never interrupts a claimed period half-way.
            if let Err(e) = self.scheduler.tick(&self.tandem, &self.id).await {
                tracing::error!(worker = %self.id, error = %e, "scheduled work failed");
            }
            let tick = self.tick();
            tokio::pin!(tick);
            let outcome = tokio::select! {
                biased;
                r = &mut tick => r,
                () = &mut shutdown => {
                    // Finish the batch in hand if it ends soon; otherwise drop it and let
                    // the release below give its jobs back (their results were not stored).
                    let until = *stop_by.insert(grace_until(&self.tandem));
                    match tokio::time::timeout_at(until, tick).await {
                        Ok(_) => tracing::info!(worker = %self.id, "finished the batch in hand"),
                        Err(_) => tracing::warn!(worker = %self.id, "batch still running at shutdown; its jobs are released"),
                    }
                    break;
                }
            };
            match outcome.map(|t| t.total()) {
                Ok(0) => {
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = self.tandem.work_ready.notified() => {}
                        () = self.in_flight.finished.notified() => {}
                        () = tokio::time::sleep(IDLE_POLL) => {}
                    }
                }
                Ok(n) if n < self.tandem.settings.worker_batch as usize / 2 => {
                    // A part-filled batch means work trickles in. Claiming and finishing are
                    // write transactions, each synced to disk; one pair per arriving item
                    // would keep SQLite's single writer busy and make intake wait behind
                    // it. Gather a little instead (a full batch goes again at once).
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(GATHER) => {}
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(worker = %self.id, error = %e, "worker cycle failed");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(ERROR_BACKOFF) => {}
                    }
                }
            }
        }
        // Items in the LLM step get the same grace; those still waiting then are stopped,
        // and their jobs released with the rest.
        let until = stop_by.unwrap_or_else(|| grace_until(&self.tandem));
        if tokio::time::timeout_at(until, self.settle()).await.is_err() {
            tracing::warn!(worker = %self.id, "items still in the LLM step at shutdown; their jobs are released");
            self.in_flight.tasks.lock().await.shutdown().await;
        }
        match self.tandem.store.release_jobs(&self.id).await {
            Ok(n) => tracing::info!(worker = %self.id, released = n, "worker stopped"),
            Err(e) => {
                tracing::warn!(worker = %self.id, error = %e, "could not release jobs; their leases will expire")
            }
        }
    }

    /// Claim one batch of due jobs and do them.
    pub async fn tick(&self) -> ServiceResult<Tick> {
        let t = &self.tandem;
        // Items in the LLM step count against the batch: a worker holds at most a batch's
        // worth of leases, so other instances get their share of a queue of slow items.
        let room = t
            .settings
            .worker_batch
            .saturating_sub(self.in_flight().await as u32);
        if room == 0 {
            return Ok(Tick::default());
        }
        let now = t.now();
        let lease = i64::try_from(t.settings.job_lease.as_millis()).unwrap_or(60_000);
        // A job claimed before that did not finish is taken alone: if its item is what
        // killed the last process, the next death counts against it only, and the items
        // that shared its batch are not quarantined with it.
        let jobs = match t.store.claim_retry(&self.id, now + lease, now).await? {
            Some(job) => vec![job],
            None => t.store.claim_jobs(&self.id, room, now + lease, now).await?,
        };
        let (process, deliver): (Vec<Job>, Vec<Job>) =
            jobs.into_iter().partition(|j| j.kind == JobKind::Process);
        // The claim counted this attempt before any work. A job claimed again after using
        // all its attempts lost them without a recorded failure: each time, the process
        // died (or stalled past its lease) on this item. Taking it up again would kill the
        // next instance too, so it goes to a person instead.
        let (poison, process): (Vec<Job>, Vec<Job>) = process
            .into_iter()
            .partition(|j| j.attempts > self.attempts_allowed(j));
        for job in &poison {
            let made = job.attempts - 1;
            let plural = if made == 1 { "" } else { "s" };
            let message = format!("could not be processed ({made} attempt{plural})");
            self.give_up(job, &message).await;
        }
        let tick = Tick {
            processed: process.len() + poison.len(),
            delivered: deliver.len(),
        };
        if !process.is_empty() {
            self.process(process).await?;
        }
        if !deliver.is_empty() {
            self.deliver_all(deliver).await;
        }
        Ok(tick)
    }

    async fn process(&self, jobs: Vec<Job>) -> ServiceResult<()> {
        let mut work: Vec<Work> = Vec::with_capacity(jobs.len());
        // Reading each job's item is a round trip to the database; on PostgreSQL those
        // add up to most of a batch's time when done one after another, so overlap them.
        let prepared: Vec<_> = {
            use futures::StreamExt;
            futures::stream::iter(jobs)
                .map(|job| async move {
                    let r = self.prepare(&job).await;
                    (job, r)
                })
                .buffered(PREPARE_CONCURRENCY)
                .collect()
                .await
        };
        let mut alone: Vec<(Work, Option<tandem_store::Document>)> = Vec::new();
        for (job, r) in prepared {
            match r {
                Ok((item, compiled, slug, Some(doc))) => alone.push(((job, item, compiled, slug), Some(doc))),
                Ok((item, compiled, slug, None)) => work.push((job, item, compiled, slug)),
                Err(e) => self.failed(&job, &e.to_string()).await,
            }
        }
        // An item whose automation asks an LLM waits on a model server for seconds or
        // minutes, and a file to read takes OCR's second or so a page. Each goes on in a
        // task of its own, its lease renewed while it waits, so it holds up neither the
        // rest of this batch nor the next ones (issue 20, issue 16).
        let (asks, plain): (Vec<Work>, Vec<Work>) =
            work.into_iter().partition(|(_, _, c, _)| crate::llm::uses_llm(c));
        alone.extend(asks.into_iter().map(|w| (w, None)));
        for (w, doc) in alone {
            let worker = self.clone();
            self.in_flight
                .tasks
                .lock()
                .await
                .spawn(async move { worker.process_alone(w, doc).await });
        }
        let mut results = Vec::with_capacity(plain.len());
        for (job, item, compiled, slug) in plain {
            let r = self.run_item(&job, item, compiled, slug, None).await;
            results.push((job, r));
        }
        self.store_results(results).await
    }

    /// One item whose file is to be read or whose automation uses the LLM: the reading,
    /// the step, the engine and the result, while its lease is renewed. If the lease is
    /// lost anyway (this process stalled, or the database was unreachable past it),
    /// another worker has the job: stop.
    async fn process_alone(&self, (job, item, compiled, slug): Work, doc: Option<tandem_store::Document>) {
        let work = async {
            let item = match doc {
                None => item,
                Some(doc) => {
                    let read = {
                        // Closed only if the worker is dropped, and then nothing reads.
                        let _permit = self.reads.acquire().await;
                        crate::documents::read_waiting(&self.tandem, &item, &compiled, &doc).await
                    };
                    match read {
                        Ok(item) => item,
                        Err(crate::documents::ReadFailed::Retry(e)) => {
                            self.failed(&job, &e).await;
                            return Ok(());
                        }
                        Err(crate::documents::ReadFailed::Never(e)) => {
                            self.give_up(&job, &e).await;
                            return Ok(());
                        }
                    }
                }
            };
            let llm = crate::llm::run_step(&self.tandem, &job, &item, &compiled).await;
            let r = self.run_item(&job, item, compiled, slug, llm).await;
            self.store_results(vec![(job.clone(), r)]).await
        };
        tokio::select! {
            r = work => {
                if let Err(e) = r {
                    tracing::error!(worker = %self.id, job = %job.id, error = %e, "could not store an item's result");
                }
            }
            () = self.keep_leased(&job) => {
                tracing::warn!(worker = %self.id, job = %job.id, "lost the lease of an item being read or in the LLM step (another worker took it over); stopped");
            }
        }
        self.in_flight.finished.notify_waiters();
    }

    /// Renew `job`'s lease every third of the lease until it is lost; never returns
    /// while it is held.
    async fn keep_leased(&self, job: &Job) {
        let t = &self.tandem;
        let lease = t.settings.job_lease;
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(60_000);
        loop {
            tokio::time::sleep(lease / 3).await;
            match t.store.renew_lease(&self.id, job.id, t.now() + lease_ms).await {
                Ok(true) => {}
                Ok(false) => return,
                // The lease still has two thirds to run: try again at the next third.
                Err(e) => {
                    tracing::warn!(worker = %self.id, job = %job.id, error = %e, "could not renew a lease")
                }
            }
        }
    }

    /// Run the engine on one item (CPU work, off the async threads, within the time
    /// budget). A thread cannot be stopped from outside: an item past its budget is left
    /// to finish on its own, its result dropped, and goes to the inbox at once. The
    /// engine's work is linear in the input and inputs are capped (issue 21), so that
    /// thread ends, and memory stays bounded for the same reason.
    async fn run_item(
        &self,
        job: &Job,
        item: tandem_store::Item,
        compiled: Arc<Compiled>,
        slug: Target,
        llm: Option<crate::llm::LlmOutcome>,
    ) -> Result<Ran, Failed> {
        let t = &self.tandem;
        let budget = t.settings.item_time_budget;
        // An item made from a document read by OCR: the positions and certainty of its words.
        let layout = crate::documents::layout_for(t, &item).await;
        let tandem = t.clone();
        let claimed = job.clone();
        let engine = tokio::task::spawn_blocking(move || {
            std::panic::catch_unwind(AssertUnwindSafe(|| {
                let answers = llm.as_ref().map(|l| &l.answers);
                let p = run_engine(
                    &tandem,
                    &claimed,
                    &item,
                    &compiled,
                    &slug,
                    answers,
                    layout.as_ref(),
                )?;
                let runs = crate::llm::extractor_runs(&compiled, &item, llm.as_ref(), &p.outcome);
                Ok((p, runs))
            }))
            .unwrap_or_else(|_| Err(Failed::Retry("the engine failed on this item".to_owned())))
        });
        match tokio::time::timeout(budget, engine).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => Err(Failed::Retry(format!("the engine stopped: {e}"))),
            Err(_) => Err(Failed::Never(format!(
                "took longer than {} to process",
                words_for(budget)
            ))),
        }
    }

    /// Record what the engine made of each job: results in one transaction (only while
    /// the lease is still ours), failures retried or sent to the inbox.
    async fn store_results(&self, results: Vec<(Job, Result<Ran, Failed>)>) -> ServiceResult<()> {
        let t = &self.tandem;
        let mut done = Vec::with_capacity(results.len());
        for (job, r) in results {
            match r {
                Ok((p, runs)) => {
                    if let Some(runs) = runs
                        && let Err(e) = t
                            .store
                            .record_extractor_runs(job.workspace_id, &runs, t.now())
                            .await
                    {
                        tracing::warn!(worker = %self.id, item = %p.item_id, error = %e, "could not record the extractor runs");
                    }
                    done.push(p);
                }
                Err(Failed::Retry(e)) => self.failed(&job, &e).await,
                Err(Failed::Never(e)) => {
                    tracing::warn!(worker = %self.id, job = %job.id, error = %e, "item over its time budget");
                    self.give_up(&job, &e).await;
                }
            }
        }
        if !done.is_empty() {
            let completed = t.store.complete_processing(&self.id, &done, t.now()).await?;
            if completed.len() < done.len() {
                tracing::warn!(worker = %self.id, lost = done.len() - completed.len(), "results dropped: leases expired and were taken over");
            }
            if done.iter().any(|p| !p.deliveries.is_empty()) {
                t.work_ready.notify_waiters();
            }
        }
        Ok(())
    }

    /// The job's item, its automation's version and stage, and its document if the file
    /// still waits to be read.
    async fn prepare(
        &self,
        job: &Job,
    ) -> ServiceResult<(
        tandem_store::Item,
        Arc<Compiled>,
        Target,
        Option<tandem_store::Document>,
    )> {
        let t = &self.tandem;
        let item_id = job
            .item_id
            .ok_or(ServiceError::Internal("process job without an item".into()))?;
        let item = t.store.item(job.workspace_id, item_id).await?;
        let automation = t.store.automation(job.workspace_id, item.automation_id).await?;
        let version = automation
            .active_version_id
            .ok_or(ServiceError::Conflict("the automation has no version".into()))?;
        let compiled = t.compiled(job.workspace_id, version).await?;
        // Only a live automation accepts on its own; read its stage per batch, so a pause
        // (by a person or by the correction-rate guard) holds from the next batch on.
        let stage = t.stage_of(job.workspace_id, automation.id).await?;
        let waiting = crate::documents::waiting(t, &item).await?;
        Ok((item, compiled, (automation.slug, stage), waiting))
    }

    /// How many attempts `job` may use: the job's own limit, and for processing at most
    /// the configured number (`worker.process_attempts`).
    fn attempts_allowed(&self, job: &Job) -> i64 {
        match job.kind {
            JobKind::Process => job
                .max_attempts
                .min(i64::from(self.tandem.settings.process_attempts.max(1))),
            JobKind::Deliver => job.max_attempts,
        }
    }

    /// Send the item to the inbox as failed, saying why in words; the job is not retried.
    async fn give_up(&self, job: &Job, error: &str) {
        let t = &self.tandem;
        tracing::warn!(worker = %self.id, job = %job.id, attempts = job.attempts, error, "job given up");
        if let Err(e) = t.store.fail_job(&self.id, job.id, error, None, t.now()).await {
            tracing::error!(worker = %self.id, job = %job.id, error = %e, "could not record a job failure");
        }
    }

    /// Record a failed attempt: retry later with backoff, or give up after the last one.
    async fn failed(&self, job: &Job, error: &str) {
        let t = &self.tandem;
        let now = t.now();
        let retry_at = (job.attempts < self.attempts_allowed(job)).then(|| now + backoff(t, job.attempts));
        tracing::warn!(worker = %self.id, job = %job.id, attempts = job.attempts, error, "job failed");
        if let Err(e) = t.store.fail_job(&self.id, job.id, error, retry_at, now).await {
            tracing::error!(worker = %self.id, job = %job.id, error = %e, "could not record a job failure");
        }
    }

    async fn deliver_all(&self, jobs: Vec<Job>) {
        use futures::StreamExt;
        futures::stream::iter(jobs)
            .for_each_concurrent(DELIVERY_CONCURRENCY, |job| self.deliver(job))
            .await;
    }

    async fn deliver(&self, job: Job) {
        let t = &self.tandem;
        let Some(id) = job.delivery_id else {
            self.failed(&job, "delivery job without a delivery").await;
            return;
        };
        let ws = job.workspace_id;
        let prepared = async {
            let d = t.store.delivery(ws, id).await?;
            let item = t.store.item(ws, d.item_id).await?;
            let version = item
                .version_id
                .ok_or(ServiceError::Conflict("delivered item has no version".into()))?;
            let compiled = t.compiled(ws, version).await?;
            let dest = usize::try_from(d.destination_index)
                .ok()
                .and_then(|i| compiled.def.destinations.get(i).cloned())
                .ok_or(ServiceError::Conflict(format!(
                    "destination {} is no longer defined",
                    d.destination_index
                )))?;
            Ok::<_, ServiceError>((d, dest))
        }
        .await;
        let (d, dest) = match prepared {
            Ok(x) => x,
            Err(e) => {
                self.failed(&job, &e.to_string()).await;
                return;
            }
        };
        let sent = t.send(&dest, &d).await;
        let now = t.now();
        let recorded = match sent {
            Ok(()) => t
                .store
                .delivery_succeeded(&self.id, job.id, id, now)
                .await
                .map(|_| ()),
            Err(error) => {
                let retry_at = (job.attempts < job.max_attempts).then(|| now + backoff(t, job.attempts));
                tracing::warn!(delivery = %d.delivery_key, attempts = job.attempts, %error, "delivery failed");
                t.store
                    .delivery_failed(&self.id, job.id, id, &error, retry_at, now)
                    .await
            }
        };
        if let Err(e) = recorded {
            tracing::error!(delivery = %d.delivery_key, error = %e, "could not record a delivery attempt");
        }
    }
}

/// Why an item's processing produced no result.
enum Failed {
    /// Perhaps passing (a store read, a panic): tried again while attempts remain.
    Retry(String),
    /// Would fail again (over the time budget): to the inbox now.
    Never(String),
}

/// When a shutdown stops waiting for work in hand.
fn grace_until(t: &Tandem) -> tokio::time::Instant {
    tokio::time::Instant::now() + t.settings.shutdown_grace
}

/// A duration as people say it: "10 s", "1.5 s", "250 ms".
pub(crate) fn words_for(d: Duration) -> String {
    if d.as_millis() < 1000 {
        format!("{} ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// Exponential backoff: base × 2^(attempts-1), capped.
fn backoff(t: &Tandem, attempts: i64) -> Millis {
    let base = i64::try_from(t.settings.delivery_backoff_base.as_millis()).unwrap_or(2_000);
    let max = i64::try_from(t.settings.delivery_backoff_max.as_millis()).unwrap_or(3_600_000);
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    base.saturating_mul(1i64 << exp).min(max)
}

fn run_engine(
    t: &Tandem,
    job: &Job,
    item: &tandem_store::Item,
    c: &Compiled,
    (slug, stage): &(String, Stage),
    llm: Option<&tandem_engine::pipeline::LlmAnswers>,
    layout: Option<&(String, tandem_engine::layout::Layout)>,
) -> Result<Processed, Failed> {
    let fields: std::collections::BTreeMap<String, String> = serde_json::from_str(&item.input)
        .map_err(|e| Failed::Retry(format!("stored input is not readable: {e}")))?;
    let input = ItemInput::from_stored(fields);
    let mut outcome = tandem_engine::pipeline::run_with(&c.spec, &c.models, input.fields(), llm);
    if let Some((input, layout)) = layout {
        tandem_engine::pipeline::flag_uncertain_readings(
            &mut outcome,
            input,
            layout,
            t.settings.documents.ocr_min_certainty,
        );
    }
    let mut reason_codes = outcome.reason_codes();
    if let Some(code) = stage.reason_code() {
        reason_codes.push(code.to_owned());
    }
    // Fields not yet trusted on their own ([rollout.modes]) hold every item for a person.
    let held = c.def.mode_reason_codes();
    reason_codes.extend(held.iter().map(|c| (*c).to_owned()));
    let needs_review = outcome.needs_review() || !stage.accepts_automatically() || !held.is_empty();
    let status = if needs_review {
        ItemStatus::NeedsReview
    } else {
        ItemStatus::AutoAccepted
    };
    let (final_result, deliveries) = if needs_review {
        (None, Vec::new())
    } else {
        let result = outcome.result();
        let routing = delivery::routing(outcome.route.as_ref(), &result, None);
        let payload = delivery::payload(t, item, slug, c.version.number, status, &result, routing);
        (
            Some(result.to_string()),
            delivery::for_destinations(&c.def.destinations, &payload),
        )
    };
    Ok(Processed {
        job_id: job.id,
        workspace_id: job.workspace_id,
        item_id: item.id,
        version_id: c.version.id,
        status,
        outcome: serde_json::to_string(&outcome).map_err(|e| Failed::Retry(e.to_string()))?,
        confidence: outcome.min_confidence(),
        reason_codes,
        final_result,
        deliveries,
    })
}
