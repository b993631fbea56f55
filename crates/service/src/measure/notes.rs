//! Automatic notes: what made a week unusual, added once to the week it happened so the
//! check-in's charts can say why a hard week was hard. Each has a key (what, which
//! automation, which week) so reading the check-in again does not add it twice.

use tandem_domain::definition::AutomationDef;
use tandem_domain::{Millis, WorkspaceId};
use tandem_store::{Automation, DeliveryFilter, DeliveryStatus, NewNote};

use super::{WEEK_MS, WeekFigures, Weekly, median, week_start};
use crate::{ServiceResult, Tandem};

/// Weeks before this one that the "recent median" looks at.
const RECENT_WEEKS: usize = 4;
/// A week is a spike above this multiple of the recent median, and at least this many items.
const SPIKE_FACTOR: f64 = 2.0;
const SPIKE_MIN_ITEMS: i64 = 10;
/// Out-of-scope share this much above the recent one, with at least this many items.
const NEW_INPUT_RISE: f64 = 0.15;
const NEW_INPUT_MIN: i64 = 5;
/// Open at the week's end growing this many weeks running, ending at least this high.
const BACKLOG_WEEKS: usize = 3;
const BACKLOG_MIN: i64 = 5;

/// A note the rules found: (week start, when, kind, words, key).
type Found = (Millis, Millis, &'static str, String, String);

/// The volume, new-input and backlog rules over one automation's weeks.
pub(crate) fn week_rules(slug: &str, weeks: &[WeekFigures]) -> Vec<Found> {
    let mut out = Vec::new();
    for (i, w) in weeks.iter().enumerate() {
        let recent = &weeks[i.saturating_sub(RECENT_WEEKS)..i];
        let a = &w.activity;
        if recent.len() >= 2 {
            let volumes: Vec<f64> = recent.iter().map(|r| r.activity.items_in as f64).collect();
            let m = median(&volumes).unwrap_or(0.0);
            if a.items_in >= SPIKE_MIN_ITEMS && a.items_in as f64 > SPIKE_FACTOR * m.max(1.0) {
                out.push((
                    w.week_start,
                    w.week_start,
                    "volume_spike",
                    format!(
                        "Volume spike: {} items in, {:.1}× the recent median of {}.",
                        a.items_in,
                        a.items_in as f64 / m.max(1.0),
                        m
                    ),
                    format!("volume_spike:{slug}:{}", w.week_start),
                ));
            }
            let shares: Vec<f64> = recent
                .iter()
                .filter(|r| r.activity.processed > 0)
                .map(|r| r.activity.out_of_scope as f64 / r.activity.processed as f64)
                .collect();
            if let Some(before) = median(&shares)
                && a.out_of_scope >= NEW_INPUT_MIN
                && a.processed > 0
            {
                let now = a.out_of_scope as f64 / a.processed as f64;
                if now > before + NEW_INPUT_RISE {
                    out.push((
                        w.week_start,
                        w.week_start,
                        "new_input",
                        format!(
                            "A new kind of input: {:.0}% of items were out of scope, against {:.0}% in recent weeks.",
                            now * 100.0,
                            before * 100.0
                        ),
                        format!("new_input:{slug}:{}", w.week_start),
                    ));
                }
            }
        }
        if i + 1 >= BACKLOG_WEEKS {
            let run = &weeks[i + 1 - BACKLOG_WEEKS..=i];
            let growing = run
                .windows(2)
                .all(|p| p[1].activity.open_at_end > p[0].activity.open_at_end);
            if growing && a.open_at_end >= BACKLOG_MIN {
                let path: Vec<String> = run.iter().map(|r| r.activity.open_at_end.to_string()).collect();
                out.push((
                    w.week_start,
                    w.week_start,
                    "backlog",
                    format!(
                        "The inbox backlog grew {BACKLOG_WEEKS} weeks running: {} open at the week's end.",
                        path.join(" → ")
                    ),
                    format!("backlog:{slug}:{}", w.week_start),
                ));
            }
        }
    }
    out
}

/// What changed between two definitions that moves the reliable range: thresholds.
fn threshold_changes(before: &AutomationDef, after: &AutomationDef) -> Vec<String> {
    let mut out = Vec::new();
    for f in &after.fields {
        if let Some(old) = before.field(&f.name)
            && (old.threshold - f.threshold).abs() > 1e-9
        {
            out.push(format!(
                "{} threshold {} → {}",
                f.name, old.threshold, f.threshold
            ));
        }
    }
    if let (Some(old), Some(new)) = (&before.route, &after.route)
        && (old.threshold - new.threshold).abs() > 1e-9
    {
        out.push(format!("route threshold {} → {}", old.threshold, new.threshold));
    }
    out
}

impl Tandem {
    /// Add the automatic notes the shown weeks call for.
    pub(crate) async fn auto_notes(
        &self,
        ws: WorkspaceId,
        automations: &[Automation],
        shown: &Weekly,
    ) -> ServiceResult<()> {
        let (Some(first), Some(last)) = (shown.weeks.first(), shown.weeks.last()) else {
            return Ok(());
        };
        let (from, to) = (first.week_start, last.week_end);
        let now = self.now();
        let mut found: Vec<(Option<&Automation>, Found)> = Vec::new();
        for a in automations {
            let weekly = match &shown.automation {
                Some((slug, _)) if *slug == a.slug => shown.clone(),
                _ => self.weekly_in(ws, Some(&a.slug), shown.weeks.len()).await?,
            };
            found.extend(
                week_rules(&a.slug, &weekly.weeks)
                    .into_iter()
                    .map(|f| (Some(a), f)),
            );
            // Version changes, with the thresholds that moved.
            let versions = self.store.list_versions(ws, a.id).await?;
            for pair in versions.windows(2) {
                let (old, new) = (&pair[0], &pair[1]);
                if new.created_at < from || new.created_at >= to {
                    continue;
                }
                let changes = match (
                    AutomationDef::parse(&old.definition),
                    AutomationDef::parse(&new.definition),
                ) {
                    (Ok(o), Ok(n)) => threshold_changes(&o, &n),
                    _ => Vec::new(),
                };
                let words = if changes.is_empty() {
                    format!("Version {} applied.", new.number)
                } else {
                    format!("Version {} applied: {}.", new.number, changes.join(", "))
                };
                found.push((
                    Some(a),
                    (
                        week_start(new.created_at),
                        new.created_at,
                        "version_change",
                        words,
                        format!("version:{}", new.id),
                    ),
                ));
            }
        }
        // Delivery outages, for the workspace: deliveries that gave up in the week.
        let failed = self
            .store
            .list_deliveries(
                ws,
                &DeliveryFilter {
                    status: Some(DeliveryStatus::Failed),
                    item: None,
                    limit: 1000,
                },
            )
            .await?;
        let mut w = from;
        while w < to {
            let of_week: Vec<_> = failed
                .iter()
                .filter(|d| d.created_at >= w && d.created_at < w + WEEK_MS)
                .collect();
            if let Some(firstd) = of_week.iter().min_by_key(|d| d.created_at) {
                let error = firstd.last_error.clone().unwrap_or_default();
                found.push((
                    None,
                    (
                        w,
                        firstd.created_at,
                        "delivery_outage",
                        format!(
                            "Delivery outage: {} deliveries failed after every retry ({}).",
                            of_week.len(),
                            error.chars().take(120).collect::<String>()
                        ),
                        format!("outage:{w}"),
                    ),
                ));
            }
            w += WEEK_MS;
        }
        for (a, (week, at, kind, body, key)) in found {
            let note = NewNote {
                automation_id: a.map(|a| a.id),
                week_start: week,
                at,
                kind: kind.into(),
                body,
                author_id: None,
                dedup_key: Some(key),
            };
            if self.store.add_note(ws, &note, now).await?.is_some() {
                tracing::info!(kind, "automatic note added");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::{BaselineView, WeekActivity};

    fn weeks(volumes: &[(i64, i64, i64)]) -> Vec<WeekFigures> {
        let none = BaselineView::new(&Default::default(), &[]);
        volumes
            .iter()
            .enumerate()
            .map(|(i, &(items, oos, open))| {
                let a = WeekActivity {
                    items_in: items,
                    processed: items,
                    out_of_scope: oos,
                    open_at_end: open,
                    ..Default::default()
                };
                WeekFigures::new(i as i64 * WEEK_MS, a, &none, i64::MAX)
            })
            .collect()
    }

    fn kinds(found: &[Found]) -> Vec<(&str, Millis)> {
        found.iter().map(|f| (f.2, f.0 / WEEK_MS)).collect()
    }

    #[test]
    fn a_spike_is_against_the_recent_median() {
        // 20, 22, 18 then 41: median 20, 41 > 2 × 20.
        let found = week_rules("a", &weeks(&[(20, 0, 0), (22, 0, 0), (18, 0, 0), (41, 0, 0)]));
        assert_eq!(kinds(&found), vec![("volume_spike", 3)]);
        assert!(found[0].3.contains("41 items in"), "{}", found[0].3);
        // 40 is not above twice 20; a first week has no history.
        assert!(week_rules("a", &weeks(&[(20, 0, 0), (22, 0, 0), (18, 0, 0), (40, 0, 0)])).is_empty());
        assert!(week_rules("a", &weeks(&[(500, 0, 0)])).is_empty());
    }

    #[test]
    fn new_input_and_backlog() {
        // Out of scope 5%, 5%, then 30%; open 2, 4, 6 growing.
        let found = week_rules("a", &weeks(&[(20, 1, 2), (20, 1, 4), (20, 6, 6)]));
        assert_eq!(kinds(&found), vec![("new_input", 2), ("backlog", 2)]);
        assert!(found[1].3.contains("2 → 4 → 6"), "{}", found[1].3);
        // Growing but small: no note.
        assert!(week_rules("a", &weeks(&[(20, 0, 1), (20, 0, 2), (20, 0, 3)])).is_empty());
    }
}
