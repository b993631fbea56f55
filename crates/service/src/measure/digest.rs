//! The weekly digest: the check-in of the week that just ended, sent to each automation's
//! notification channels (a Slack-compatible webhook, e-mail) soon after Monday 00:00 UTC.
//! Runs as a periodic task, so across any number of instances it is sent once a week.

use tandem_domain::WorkspaceId;

use super::{WEEK_MS, WeekFigures, date_label};
use crate::notify::{Line, Message};
use crate::schedule::{Period, PeriodicTask, TaskRun};
use crate::{ServiceResult, Tandem};

#[derive(Debug)]
pub struct WeeklyDigest;

#[async_trait::async_trait]
impl PeriodicTask for WeeklyDigest {
    fn kind(&self) -> &'static str {
        "weekly_digest"
    }
    fn period(&self) -> Period {
        Period::weekly()
    }
    async fn run(&self, tandem: &Tandem, run: &TaskRun) -> ServiceResult<String> {
        let sent = tandem
            .send_checkin_digests(run.workspace, run.start - WEEK_MS)
            .await?;
        Ok(format!("sent {sent} check-in digests"))
    }
}

fn hours(h: Option<f64>) -> String {
    h.map_or("–".into(), |h| format!("{h:.1} h"))
}

/// The digest of one week of one automation, as words and one link.
pub fn digest_message(name: &str, link: &str, w: &WeekFigures, notes: &[String]) -> Message {
    let a = &w.activity;
    let verdict = match (w.net_hours, w.target_hours) {
        // A week still running has not missed anything yet.
        (Some(n), Some(t)) if !w.closed => format!("so far {n:.1} h recovered against {t} h"),
        (Some(n), Some(t)) if n >= t => format!("target met: {n:.1} h recovered against {t} h"),
        (Some(n), Some(t)) => format!("target missed: {n:.1} h recovered against {t} h"),
        (Some(n), None) => format!("{n:.1} h recovered (no target set)"),
        _ => "no baseline yet, so no hours".into(),
    };
    let pct = |p: Option<f64>| p.map_or("–".into(), |p| format!("{:.0}%", p * 100.0));
    let mut lines = vec![
        Line {
            text: match (w.designed_volume, w.volume_share) {
                (Some(v), Some(s)) => format!("Items in: {} of {v} designed ({})", a.items_in, pct(Some(s))),
                _ => format!("Items in: {}", a.items_in),
            },
            links: vec![],
        },
        Line {
            text: format!("Handled automatically: {}", pct(w.share_automatic)),
            links: vec![],
        },
        Line {
            text: format!(
                "Reviewed: {} ({} corrected, {} rejected); escaped errors: {}",
                w.reviewed, a.corrected, a.rejected, a.escaped
            ),
            links: vec![],
        },
        Line {
            text: format!(
                "Net hours recovered: {}{}; cumulative {}",
                hours(w.net_hours),
                match (w.net_hours_low, w.net_hours_high) {
                    (Some(l), Some(h)) => format!(" (range {l:.1}–{h:.1} h)"),
                    _ => String::new(),
                },
                hours(w.cumulative_hours)
            ),
            links: vec![],
        },
        Line {
            text: format!(
                "Open at the week's end: {}{}",
                a.open_at_end,
                w.oldest_open_age_hours
                    .map_or(String::new(), |h| format!(", the oldest waiting {h:.0} h"))
            ),
            links: vec![],
        },
    ];
    for n in notes {
        lines.push(Line {
            text: format!("Note: {n}"),
            links: vec![],
        });
    }
    lines.push(Line {
        text: "The full check-in".into(),
        links: vec![("open".into(), link.to_owned())],
    });
    Message {
        subject: format!("{name}: week of {}, {verdict}", date_label(w.week_start)),
        intro: format!(
            "Check-in for {name}, week of {}: {verdict}.",
            date_label(w.week_start)
        ),
        lines,
    }
}

impl Tandem {
    /// Send the digest of the week starting `week` for every automation that has
    /// notification channels. Returns how many messages went out.
    pub async fn send_checkin_digests(&self, ws: WorkspaceId, week: i64) -> ServiceResult<usize> {
        let mut sent = 0;
        for a in self.store.list_automations(ws).await? {
            let Some(v) = a.active_version_id else { continue };
            let channels = self.compiled(ws, v).await?.def.review.notify.clone();
            if channels.is_empty() {
                continue;
            }
            let checkin = self.checkin_in(ws, Some(&a.slug), super::MAX_WEEKS).await?;
            let Some(w) = checkin.weekly.weeks.iter().find(|w| w.week_start == week) else {
                continue;
            };
            let notes: Vec<String> = checkin
                .notes
                .iter()
                .filter(|n| n.week_start == week)
                .map(|n| n.body.clone())
                .collect();
            let link = format!(
                "{}/checkin?automation={}",
                self.settings.public_url.trim_end_matches('/'),
                a.slug
            );
            let msg = digest_message(&a.name, &link, w, &notes);
            for channel in &channels {
                match self.notify(channel, &msg).await {
                    Ok(()) => sent += 1,
                    Err(e) => tracing::warn!(automation = %a.slug, error = %e, "digest not sent"),
                }
            }
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::{BaselineView, WeekActivity};

    /// Baseline 6 min, target 1 h: 2 items accepted automatically = 0.2 h. Read on the
    /// Wednesday the week is running, so far; read after it ended, missed.
    #[test]
    fn only_a_week_that_ended_is_called_missed() {
        let monday = 1_767_571_200_000;
        let def = tandem_domain::definition::Baseline {
            minutes_per_item: Some(6.0),
            target_hours_per_week: Some(1.0),
            ..Default::default()
        };
        let baseline = BaselineView::new(&def, &[]);
        let a = WeekActivity {
            processed: 2,
            auto_accepted: 2,
            ..WeekActivity::default()
        };
        let running = WeekFigures::new(monday, a.clone(), &baseline, monday + 2 * 86_400_000);
        let m = digest_message("Support", "http://x", &running, &[]);
        assert!(!m.subject.contains("missed"), "{}", m.subject);
        assert!(
            m.intro.contains("so far 0.2 h recovered against 1 h"),
            "{}",
            m.intro
        );
        let ended = WeekFigures::new(monday, a, &baseline, monday + WEEK_MS);
        let m = digest_message("Support", "http://x", &ended, &[]);
        assert!(
            m.intro.contains("target missed: 0.2 h recovered against 1 h"),
            "{}",
            m.intro
        );
    }
}
