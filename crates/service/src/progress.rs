//! Reviewers' progress: items decided today and this week, the median time on an item,
//! how often each reviewer agreed with the automation, and a warning when someone
//! approves many items in under two seconds each (rubber-stamping).

use std::collections::BTreeMap;

use serde::Serialize;
use tandem_domain::{Millis, Role, UserId};
use tandem_store::DecisionStat;

use crate::auth::Actor;
use crate::{ServiceResult, Tandem};

/// Approvals faster than this are too quick to have been read.
pub const RUBBER_STAMP_SECONDS: f64 = 2.0;
/// How many such approvals in a week earn the warning.
pub const RUBBER_STAMP_COUNT: usize = 5;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewerProgress {
    pub user_id: UserId,
    pub name: String,
    pub today: usize,
    pub week: usize,
    /// Median seconds on an item this week (decisions that reported a time).
    pub median_seconds: Option<f64>,
    /// Share of this week's decisions that kept the automation's result (approvals out
    /// of approvals and corrections); rejects are not counted either way.
    pub agreement: Option<f64>,
    /// The counts `agreement` rests on: approvals, and approvals plus corrections.
    pub agreed: usize,
    pub compared: usize,
    /// Approvals this week made in under [`RUBBER_STAMP_SECONDS`].
    pub quick_approvals: usize,
    pub rubber_stamping: bool,
}

/// Midnight UTC of the day `now` falls in.
pub fn day_start(now: Millis) -> Millis {
    now - now.rem_euclid(86_400_000)
}

/// Monday 00:00 UTC of the week `now` falls in (1970-01-01 was a Thursday).
pub fn week_start(now: Millis) -> Millis {
    let day = now.div_euclid(86_400_000);
    let weekday = (day + 3).rem_euclid(7); // 0 = Monday
    (day - weekday) * 86_400_000
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Fold decisions (oldest first) into one row per reviewer, busiest first.
pub fn summarize(stats: &[DecisionStat], today: Millis) -> Vec<ReviewerProgress> {
    let mut by: BTreeMap<UserId, Vec<&DecisionStat>> = BTreeMap::new();
    for s in stats {
        by.entry(s.actor_id).or_default().push(s);
    }
    let mut out: Vec<ReviewerProgress> = by
        .into_iter()
        .map(|(user_id, ds)| {
            let approved = ds.iter().filter(|d| d.kind == "approved").count();
            let corrected = ds.iter().filter(|d| d.kind == "corrected").count();
            let quick = ds
                .iter()
                .filter(|d| d.kind == "approved" && d.seconds.is_some_and(|s| s < RUBBER_STAMP_SECONDS))
                .count();
            ReviewerProgress {
                user_id,
                name: ds[0].actor_name.clone(),
                today: ds.iter().filter(|d| d.created_at >= today).count(),
                week: ds.len(),
                median_seconds: median(ds.iter().filter_map(|d| d.seconds).collect()),
                agreement: (approved + corrected > 0)
                    .then(|| approved as f64 / (approved + corrected) as f64),
                agreed: approved,
                compared: approved + corrected,
                quick_approvals: quick,
                rubber_stamping: quick >= RUBBER_STAMP_COUNT && quick * 2 >= approved,
            }
        })
        .collect();
    out.sort_by(|a, b| b.week.cmp(&a.week).then_with(|| a.name.cmp(&b.name)));
    out
}

impl Tandem {
    /// Every reviewer's progress this week (Monday to now, UTC).
    pub async fn reviewer_progress(&self, actor: &Actor) -> ServiceResult<Vec<ReviewerProgress>> {
        actor.require(Role::Viewer, "see reviewer progress")?;
        let now = self.now();
        let stats = self
            .store
            .decision_stats(actor.workspace(), week_start(now))
            .await?;
        Ok(summarize(&stats, day_start(now)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(user: i64, kind: &str, seconds: f64, at: Millis) -> DecisionStat {
        DecisionStat {
            actor_id: UserId(user),
            actor_name: format!("u{user}"),
            kind: kind.into(),
            seconds: Some(seconds),
            created_at: at,
        }
    }

    #[test]
    fn weeks_start_on_monday() {
        // 2026-11-27 is a Friday; that week began on Monday 2026-11-23.
        let friday = 1_795_775_640_000;
        assert_eq!(week_start(friday), 1_795_392_000_000);
        assert_eq!(day_start(friday), 1_795_737_600_000);
    }

    #[test]
    fn counts_medians_agreement_and_rubber_stamps() {
        let today = 1_000_000;
        let mut stats = vec![
            d(1, "approved", 10.0, 0),
            d(1, "corrected", 30.0, today),
            d(1, "rejected", 20.0, today + 1),
        ];
        for i in 0..6 {
            stats.push(d(2, "approved", 0.8, today + i));
        }
        let rows = summarize(&stats, today);
        assert_eq!(rows[0].name, "u2");
        assert!(rows[0].rubber_stamping);
        assert_eq!(rows[0].agreement, Some(1.0));
        let one = &rows[1];
        assert_eq!((one.today, one.week), (2, 3));
        assert_eq!(one.median_seconds, Some(20.0));
        assert_eq!(one.agreement, Some(0.5));
        assert_eq!((one.agreed, one.compared), (1, 2));
        assert!(!one.rubber_stamping);
    }
}
