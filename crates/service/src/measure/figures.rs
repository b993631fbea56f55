//! A week's figures: the activity kept in a rollup (counts and medians that do not depend
//! on the baseline) and the hours derived from it with the baseline in force, so that a
//! better-measured baseline restates every past week the same way.

use serde::{Deserialize, Serialize};
use tandem_domain::{ItemStatus, Millis};
use tandem_store::WeekFacts;

use super::{BaselineView, WEEK_MS, median};

/// An approval recorded in under this many seconds is a rubber stamp: too fast to have
/// checked anything.
pub const RUBBER_STAMP_SECONDS: f64 = 3.0;

/// What happened in a week, independent of the baseline. Kept as JSON in the rollup.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WeekActivity {
    pub items_in: i64,
    pub processed: i64,
    pub auto_accepted: i64,
    pub out_of_scope: i64,
    pub approved: i64,
    pub corrected: i64,
    pub rejected: i64,
    pub escaped: i64,
    /// Approvals and corrections (counted in `approved` and `corrected`) of items reported
    /// wrong before: decided again after an automatic acceptance already counted as avoided.
    pub decided_after_report: i64,
    /// Seconds recorded on decisions, summed, and how many decisions had them.
    pub review_seconds: f64,
    pub timed_decisions: i64,
    pub untimed_decisions: i64,
    pub median_review_seconds: Option<f64>,
    pub median_first_touch_seconds: Option<f64>,
    pub open_at_end: i64,
    pub oldest_open_at: Option<Millis>,
    pub hand_outside: i64,
    pub rubber_stamps: i64,
}

impl WeekActivity {
    pub fn from_facts(f: &WeekFacts) -> WeekActivity {
        let mut a = WeekActivity {
            items_in: f.items_in,
            processed: f.processed,
            auto_accepted: f.auto_accepted,
            out_of_scope: f.out_of_scope,
            escaped: f.escaped,
            decided_after_report: f.decided_after_report,
            open_at_end: f.open_at_end,
            oldest_open_at: f.oldest_open_at,
            hand_outside: f.hand_outside,
            median_first_touch_seconds: median(&f.first_touch_seconds),
            ..WeekActivity::default()
        };
        let mut timed = Vec::new();
        for (status, seconds) in &f.decisions {
            match status {
                ItemStatus::Approved => a.approved += 1,
                ItemStatus::Corrected => a.corrected += 1,
                _ => a.rejected += 1,
            }
            match seconds {
                Some(s) => {
                    timed.push(*s);
                    if *status == ItemStatus::Approved && *s < RUBBER_STAMP_SECONDS {
                        a.rubber_stamps += 1;
                    }
                }
                None => a.untimed_decisions += 1,
            }
        }
        a.timed_decisions = timed.len() as i64;
        a.review_seconds = timed.iter().sum();
        a.median_review_seconds = median(&timed);
        a
    }

    pub fn reviewed(&self) -> i64 {
        self.approved + self.corrected + self.rejected
    }

    /// Net minutes recovered with `baseline` minutes per item by hand:
    /// manual minutes avoided − review minutes − rework minutes, where
    /// * avoided = baseline × items whose result Tandem gave (accepted automatically,
    ///   approved or corrected), each once: an automatic acceptance reported wrong and then
    ///   approved or corrected counted when it was accepted, so that decision does not
    ///   count it again (its time is review, the report rework);
    /// * review = the seconds reviewers recorded, plus, for decisions sent without a time,
    ///   the week's median review time (or the baseline itself when nothing was timed:
    ///   the cautious guess, a review as long as doing it by hand);
    /// * rework = baseline × (escaped errors + items the team did by hand outside Tandem),
    ///   each of which was done by hand after all.
    pub fn net_minutes(&self, baseline: f64) -> NetMinutes {
        let handled = self.auto_accepted + self.approved + self.corrected - self.decided_after_report;
        let avoided = baseline * handled as f64;
        let untimed_each = self.median_review_seconds.map_or(baseline, |s| s / 60.0);
        let review = self.review_seconds / 60.0 + untimed_each * self.untimed_decisions as f64;
        let rework = baseline * (self.escaped + self.hand_outside) as f64;
        NetMinutes {
            avoided,
            review,
            rework,
            net: avoided - review - rework,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NetMinutes {
    pub avoided: f64,
    pub review: f64,
    pub rework: f64,
    pub net: f64,
}

/// One week as the check-in shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekFigures {
    pub week_start: Millis,
    pub week_end: Millis,
    /// Whether the week has ended (its figures are final and kept).
    pub closed: bool,
    #[serde(flatten)]
    pub activity: WeekActivity,
    pub reviewed: i64,
    /// The weekly volume the automation was designed for, and this week's share of it.
    pub designed_volume: Option<u32>,
    pub volume_share: Option<f64>,
    /// Accepted automatically, of the items processed.
    pub share_automatic: Option<f64>,
    /// Corrected, of the items approved or corrected.
    pub override_rate: Option<f64>,
    /// Approvals under [`RUBBER_STAMP_SECONDS`], of all approvals.
    pub rubber_stamp_rate: Option<f64>,
    /// Hours the oldest open exception had waited when the week ended (or now).
    pub oldest_open_age_hours: Option<f64>,
    pub minutes: Option<NetMinutes>,
    pub net_hours: Option<f64>,
    /// With a measured baseline: net hours at its first and third quartile.
    pub net_hours_low: Option<f64>,
    pub net_hours_high: Option<f64>,
    pub target_hours: Option<f64>,
    /// Whether the target was met: only for a week that has ended, since a week still
    /// running has not missed anything yet.
    pub target_met: Option<bool>,
    /// For the week still running, with a target: hours still to recover to meet it
    /// (0 when already met), the days left, and the pace that needs per day left.
    pub so_far: Option<SoFar>,
    /// Net hours since the first week, this one included.
    pub cumulative_hours: Option<f64>,
}

/// Where a week still running stands against its target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SoFar {
    pub still_needed_hours: f64,
    pub days_left: f64,
    /// `still_needed_hours / days_left`, hours a day.
    pub needed_per_day: f64,
}

fn ratio(a: i64, b: i64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

impl WeekFigures {
    /// Figures for one automation with its baseline. `now` limits the age of the oldest
    /// exception in the current week.
    pub fn new(
        week_start: Millis,
        activity: WeekActivity,
        baseline: &BaselineView,
        now: Millis,
    ) -> WeekFigures {
        let week_end = week_start + WEEK_MS;
        let closed = now >= week_end;
        let at = if closed { week_end } else { now };
        let minutes = baseline.minutes_per_item.map(|b| activity.net_minutes(b));
        let range = baseline.range_minutes.map(|(lo, hi)| {
            (
                activity.net_minutes(lo).net / 60.0,
                activity.net_minutes(hi).net / 60.0,
            )
        });
        let net_hours = minutes.map(|m| m.net / 60.0);
        let target = baseline.target_hours_per_week;
        WeekFigures {
            week_start,
            week_end,
            closed,
            reviewed: activity.reviewed(),
            designed_volume: baseline.weekly_volume,
            volume_share: baseline
                .weekly_volume
                .filter(|v| *v > 0)
                .map(|v| activity.items_in as f64 / f64::from(v)),
            share_automatic: ratio(activity.auto_accepted, activity.processed),
            override_rate: ratio(activity.corrected, activity.approved + activity.corrected),
            rubber_stamp_rate: ratio(activity.rubber_stamps, activity.approved),
            oldest_open_age_hours: activity
                .oldest_open_at
                .map(|t| (at - t).max(0) as f64 / 3_600_000.0),
            minutes,
            net_hours,
            net_hours_low: range.map(|r| r.0.min(r.1)),
            net_hours_high: range.map(|r| r.0.max(r.1)),
            target_hours: target,
            target_met: None,
            so_far: None,
            cumulative_hours: None,
            activity,
        }
        .judged(now)
    }

    /// Sets the verdict from `net_hours` and `target_hours`: met or missed for a week that
    /// has ended, "so far" with the pace still needed for the week running at `now`.
    pub fn judged(mut self, now: Millis) -> WeekFigures {
        let both = self.net_hours.zip(self.target_hours);
        if self.closed {
            self.target_met = both.map(|(n, t)| n >= t);
            self.so_far = None;
        } else {
            self.target_met = None;
            self.so_far = both.map(|(n, t)| {
                let still_needed_hours = (t - n).max(0.0);
                let days_left = (self.week_end - now).max(0) as f64 / 86_400_000.0;
                SoFar {
                    still_needed_hours,
                    days_left,
                    needed_per_day: if days_left > 0.0 {
                        still_needed_hours / days_left
                    } else {
                        still_needed_hours
                    },
                }
            });
        }
        self
    }
}

/// The check-in's figures: one automation (or the whole workspace), week by week.
#[derive(Debug, Clone, Serialize)]
pub struct Weekly {
    /// The automation's slug and name; `None` for the whole workspace.
    pub automation: Option<(String, String)>,
    /// The baseline in force (for one automation).
    pub baseline: Option<BaselineView>,
    /// Oldest first; the last is the current week.
    pub weeks: Vec<WeekFigures>,
}
