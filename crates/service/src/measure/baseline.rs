//! The baseline: how long an item takes by hand. Typed into the definition, or measured:
//! reviewers handle items without the automation's help while the time is kept, and the
//! median of those times, shown with its count and spread, replaces the typed figure once
//! there are enough of them.

use serde::Serialize;
use tandem_domain::definition::Baseline;

use super::{median, quantile};

/// Measured times needed before the median replaces a typed baseline: fewer than this and
/// one slow item moves it too much.
pub const MIN_MEASURED: usize = 5;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeasuredBaseline {
    pub count: usize,
    pub median_minutes: f64,
    /// The spread: the first and third quartiles.
    pub p25_minutes: f64,
    pub p75_minutes: f64,
}

impl MeasuredBaseline {
    pub fn from_seconds(seconds: &[f64]) -> Option<MeasuredBaseline> {
        let minutes: Vec<f64> = seconds.iter().map(|s| s / 60.0).collect();
        Some(MeasuredBaseline {
            count: minutes.len(),
            median_minutes: median(&minutes)?,
            p25_minutes: quantile(&minutes, 0.25)?,
            p75_minutes: quantile(&minutes, 0.75)?,
        })
    }
}

/// The baseline in force for an automation, and where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BaselineView {
    pub typed_minutes: Option<f64>,
    pub measured: Option<MeasuredBaseline>,
    /// The minutes per item used for hours recovered.
    pub minutes_per_item: Option<f64>,
    /// `measured`, `typed`, or `none`.
    pub source: &'static str,
    /// The range of minutes per item when measured (first to third quartile).
    pub range_minutes: Option<(f64, f64)>,
    pub weekly_volume: Option<u32>,
    pub target_hours_per_week: Option<f64>,
}

impl BaselineView {
    pub fn new(typed: &Baseline, measured_seconds: &[f64]) -> BaselineView {
        let measured = MeasuredBaseline::from_seconds(measured_seconds);
        let use_measured = measured.as_ref().filter(|m| m.count >= MIN_MEASURED);
        let (minutes, source, range) = match (use_measured, typed.minutes_per_item) {
            (Some(m), _) => (
                Some(m.median_minutes),
                "measured",
                Some((m.p25_minutes, m.p75_minutes)),
            ),
            (None, Some(t)) => (Some(t), "typed", None),
            (None, None) => (None, "none", None),
        };
        BaselineView {
            typed_minutes: typed.minutes_per_item,
            measured,
            minutes_per_item: minutes,
            source,
            range_minutes: range,
            weekly_volume: typed.weekly_volume,
            target_hours_per_week: typed.target_hours_per_week,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(minutes: Option<f64>) -> Baseline {
        Baseline {
            minutes_per_item: minutes,
            weekly_volume: Some(100),
            target_hours_per_week: Some(20.0),
        }
    }

    #[test]
    fn typed_until_enough_measurements() {
        let b = BaselineView::new(&typed(Some(4.0)), &[240.0, 300.0]);
        assert_eq!(b.source, "typed");
        assert_eq!(b.minutes_per_item, Some(4.0));
        assert_eq!(b.measured.as_ref().map(|m| m.count), Some(2));
        let b = BaselineView::new(&typed(Some(4.0)), &[240.0, 300.0, 360.0, 420.0, 600.0]);
        assert_eq!(b.source, "measured");
        assert_eq!(b.minutes_per_item, Some(6.0));
        assert_eq!(b.range_minutes, Some((5.0, 7.0)));
    }

    #[test]
    fn no_baseline_at_all() {
        let b = BaselineView::new(&typed(None), &[]);
        assert_eq!(b.source, "none");
        assert_eq!(b.minutes_per_item, None);
    }
}
