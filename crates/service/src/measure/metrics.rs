//! Prometheus metrics in the text exposition format (version 0.0.4), for the token's
//! workspace: intake, queue depth, processing latency and deliveries. Written directly
//! rather than through a metrics registry: every figure is read from the database at
//! scrape time, so several instances on one database report the same truth and nothing
//! is lost on restart.

use std::fmt::Write as _;

use tandem_domain::Role;

use crate::auth::Actor;
use crate::{ServiceResult, Tandem};

/// Latency buckets in seconds, from arrival to processed.
const BUCKETS: [f64; 9] = [0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 1800.0, 3600.0];
/// The latency histogram covers items processed in the last hour.
const LATENCY_WINDOW_MS: i64 = 3_600_000;

/// Label values: escape backslash, quote and newline.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Tandem {
    pub async fn metrics_text(&self, actor: &Actor) -> ServiceResult<String> {
        actor.require(Role::Builder, "read metrics")?;
        let ws = actor.workspace();
        let snap = self
            .store
            .metrics_snapshot(ws, self.now() - LATENCY_WINDOW_MS)
            .await?;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP tandem_items_received_total Items received, by automation."
        );
        let _ = writeln!(out, "# TYPE tandem_items_received_total counter");
        let mut received: Vec<(String, i64)> = Vec::new();
        for (slug, _, n) in &snap.items {
            match received.iter_mut().find(|r| r.0 == *slug) {
                Some(r) => r.1 += n,
                None => received.push((slug.clone(), *n)),
            }
        }
        for (slug, n) in &received {
            let _ = writeln!(
                out,
                "tandem_items_received_total{{automation=\"{}\"}} {n}",
                label(slug)
            );
        }
        let _ = writeln!(out, "# HELP tandem_items Items by automation and current status.");
        let _ = writeln!(out, "# TYPE tandem_items gauge");
        for (slug, status, n) in &snap.items {
            let _ = writeln!(
                out,
                "tandem_items{{automation=\"{}\",status=\"{}\"}} {n}",
                label(slug),
                label(status)
            );
        }
        let open: i64 = snap
            .items
            .iter()
            .filter(|i| i.1 == "needs_review" || i.1 == "failed")
            .map(|i| i.2)
            .sum();
        let _ = writeln!(
            out,
            "# HELP tandem_inbox_open Items waiting in the exception inbox."
        );
        let _ = writeln!(out, "# TYPE tandem_inbox_open gauge");
        let _ = writeln!(out, "tandem_inbox_open {open}");
        let _ = writeln!(out, "# HELP tandem_queue_depth Jobs queued or running, by kind.");
        let _ = writeln!(out, "# TYPE tandem_queue_depth gauge");
        for kind in ["process", "deliver"] {
            let n = snap.jobs.iter().find(|j| j.0 == kind).map_or(0, |j| j.1);
            let _ = writeln!(out, "tandem_queue_depth{{kind=\"{kind}\"}} {n}");
        }
        let _ = writeln!(out, "# HELP tandem_deliveries Deliveries by status.");
        let _ = writeln!(out, "# TYPE tandem_deliveries gauge");
        for status in ["pending", "delivered", "failed"] {
            let n = snap.deliveries.iter().find(|d| d.0 == status).map_or(0, |d| d.1);
            let _ = writeln!(out, "tandem_deliveries{{status=\"{status}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP tandem_processing_latency_seconds Arrival to processed, for items processed in the last hour."
        );
        let _ = writeln!(out, "# TYPE tandem_processing_latency_seconds histogram");
        let seconds: Vec<f64> = snap.latencies_ms.iter().map(|ms| *ms as f64 / 1000.0).collect();
        for b in BUCKETS {
            let n = seconds.iter().filter(|s| **s <= b).count();
            let _ = writeln!(out, "tandem_processing_latency_seconds_bucket{{le=\"{b}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "tandem_processing_latency_seconds_bucket{{le=\"+Inf\"}} {}",
            seconds.len()
        );
        let _ = writeln!(
            out,
            "tandem_processing_latency_seconds_sum {}",
            seconds.iter().sum::<f64>()
        );
        let _ = writeln!(out, "tandem_processing_latency_seconds_count {}", seconds.len());
        Ok(out)
    }
}
