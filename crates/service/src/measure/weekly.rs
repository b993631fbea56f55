//! Reading the weekly figures: kept rollups for closed weeks (computed on first need),
//! the current week live, the baseline in force, and the running total.

use std::collections::HashMap;

use tandem_domain::{AutomationId, Millis, Role, WorkspaceId};
use tandem_store::{Automation, HandWorkKind};

use super::{BaselineView, CLOSE_GRACE_MS, WEEK_MS, WeekActivity, WeekFigures, Weekly, week_start};
use crate::auth::Actor;
use crate::{ServiceError, ServiceResult, Tandem};

/// The most weeks a check-in shows at once (three years).
pub const MAX_WEEKS: usize = 156;

impl Tandem {
    /// The weekly figures of one automation (by slug), or of the whole workspace, for the
    /// last `weeks` weeks, the current one included.
    pub async fn weekly(
        &self,
        actor: &Actor,
        automation: Option<&str>,
        weeks: usize,
    ) -> ServiceResult<Weekly> {
        actor.require(Role::Viewer, "read the check-in")?;
        self.weekly_in(actor.workspace(), automation, weeks).await
    }

    /// The same without an actor: for share links and digests, already authorised.
    pub(crate) async fn weekly_in(
        &self,
        ws: WorkspaceId,
        automation: Option<&str>,
        weeks: usize,
    ) -> ServiceResult<Weekly> {
        if weeks == 0 || weeks > MAX_WEEKS {
            return Err(ServiceError::invalid(format!(
                "weeks must be between 1 and {MAX_WEEKS}"
            )));
        }
        let now = self.now();
        let mut out = match automation {
            Some(slug) => {
                let a = self
                    .store
                    .automation_by_slug(ws, slug)
                    .await?
                    .ok_or(ServiceError::NotFound("automation"))?;
                let first = self.first_week(ws, Some(a.id), now).await?;
                self.automation_weeks(ws, &a, first, now).await?
            }
            None => self.workspace_weeks(ws, now).await?,
        };
        let keep = out.weeks.len().saturating_sub(weeks);
        out.weeks.drain(..keep);
        Ok(out)
    }

    /// The baseline in force for an automation: its active definition's, replaced by the
    /// measured one once there are enough timings.
    pub async fn baseline(&self, ws: WorkspaceId, a: &Automation) -> ServiceResult<BaselineView> {
        let typed = match a.active_version_id {
            Some(v) => self.compiled(ws, v).await?.def.baseline.clone(),
            None => tandem_domain::definition::Baseline::default(),
        };
        let measured: Vec<f64> = self
            .store
            .list_hand_work(ws, a.id, HandWorkKind::Measured)
            .await?
            .iter()
            .filter_map(|h| h.seconds)
            .collect();
        Ok(BaselineView::new(&typed, &measured))
    }

    async fn first_week(
        &self,
        ws: WorkspaceId,
        a: Option<AutomationId>,
        now: Millis,
    ) -> ServiceResult<Millis> {
        let first = self.store.first_item_at(ws, a).await?.unwrap_or(now);
        Ok(week_start(first.min(now)))
    }

    /// Each week's activity from `from` to the current week: kept rollups where they
    /// exist, computed (and kept, once the week has closed) where they do not.
    pub(crate) async fn activities(
        &self,
        ws: WorkspaceId,
        automation: Option<AutomationId>,
        from: Millis,
        now: Millis,
    ) -> ServiceResult<Vec<(Millis, WeekActivity)>> {
        let current = week_start(now);
        let kept: HashMap<Millis, String> = self
            .store
            .rollups(ws, automation, from, current + WEEK_MS)
            .await?
            .into_iter()
            .collect();
        let mut out = Vec::new();
        let mut w = from;
        while w <= current {
            let activity = match kept.get(&w) {
                Some(json) => serde_json::from_str(json)
                    .map_err(|e| ServiceError::Internal(format!("a kept week does not parse: {e}")))?,
                None => {
                    let facts = self.store.week_facts(ws, automation, w, w + WEEK_MS).await?;
                    let a = WeekActivity::from_facts(&facts);
                    if now >= w + WEEK_MS + CLOSE_GRACE_MS {
                        let json = serde_json::to_string(&a)
                            .map_err(|e| ServiceError::Internal(format!("serialising a week: {e}")))?;
                        self.store.save_rollup(ws, automation, w, &json, now).await?;
                    }
                    a
                }
            };
            out.push((w, activity));
            w += WEEK_MS;
        }
        Ok(out)
    }

    async fn automation_weeks(
        &self,
        ws: WorkspaceId,
        a: &Automation,
        from: Millis,
        now: Millis,
    ) -> ServiceResult<Weekly> {
        let baseline = self.baseline(ws, a).await?;
        let mut total: Option<f64> = None;
        let weeks = self
            .activities(ws, Some(a.id), from, now)
            .await?
            .into_iter()
            .map(|(w, activity)| {
                let mut f = WeekFigures::new(w, activity, &baseline, now);
                if let Some(n) = f.net_hours {
                    let t = total.unwrap_or(0.0) + n;
                    total = Some(t);
                    f.cumulative_hours = Some(t);
                }
                f
            })
            .collect();
        Ok(Weekly {
            automation: Some((a.slug.clone(), a.name.clone())),
            baseline: Some(baseline),
            weeks,
        })
    }

    /// The workspace: counts and medians from its own rollup, hours and targets summed
    /// over the automations that have a baseline.
    async fn workspace_weeks(&self, ws: WorkspaceId, now: Millis) -> ServiceResult<Weekly> {
        let from = self.first_week(ws, None, now).await?;
        let mut per_automation = Vec::new();
        for a in self.store.list_automations(ws).await? {
            per_automation.push(self.automation_weeks(ws, &a, from, now).await?);
        }
        let volume: Option<u32> = sum_opt(per_automation.iter().map(|w| w.baseline.as_ref()?.weekly_volume));
        let target: Option<f64> = sum_opt(
            per_automation
                .iter()
                .map(|w| w.baseline.as_ref()?.target_hours_per_week),
        );
        let none = BaselineView {
            typed_minutes: None,
            measured: None,
            minutes_per_item: None,
            source: "none",
            range_minutes: None,
            weekly_volume: volume,
            target_hours_per_week: target,
        };
        let mut total: Option<f64> = None;
        let weeks = self
            .activities(ws, None, from, now)
            .await?
            .into_iter()
            .enumerate()
            .map(|(i, (w, activity))| {
                let mut f = WeekFigures::new(w, activity, &none, now);
                let of_week: Vec<&WeekFigures> =
                    per_automation.iter().filter_map(|p| p.weeks.get(i)).collect();
                f.net_hours = sum_opt(of_week.iter().map(|p| p.net_hours));
                let ranged = of_week.iter().any(|p| p.net_hours_low.is_some());
                if ranged {
                    f.net_hours_low = sum_opt(of_week.iter().map(|p| p.net_hours_low.or(p.net_hours)));
                    f.net_hours_high = sum_opt(of_week.iter().map(|p| p.net_hours_high.or(p.net_hours)));
                }
                f.target_hours = target;
                let mut f = f.judged(now);
                if let Some(n) = f.net_hours {
                    let t = total.unwrap_or(0.0) + n;
                    total = Some(t);
                    f.cumulative_hours = Some(t);
                }
                f
            })
            .collect();
        Ok(Weekly {
            automation: None,
            baseline: None,
            weeks,
        })
    }
}

/// The sum of the values present, or `None` when none is.
fn sum_opt<T: std::iter::Sum<T> + Copy>(values: impl Iterator<Item = Option<T>>) -> Option<T> {
    let present: Vec<T> = values.flatten().collect();
    (!present.is_empty()).then(|| present.into_iter().sum())
}
