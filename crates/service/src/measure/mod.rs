//! Measured adoption: what each week brought in, what the automation handled alone, what
//! people reviewed, and the hours that came back, against the target.
//!
//! Weeks run Monday 00:00 to Monday 00:00 UTC. A week's figures are events counted by when
//! they happened (an item by its arrival, a decision by when it was made), so once a week
//! has ended nothing can change them: it is computed once and kept as a rollup, and a year
//! of check-ins reads 52 small rows plus the current week, which is computed live.

mod baseline;
mod checkin;
mod digest;
mod drift;
mod figures;
mod hand;
mod metrics;
mod notes;
mod weekly;

pub use baseline::{BaselineView, MIN_MEASURED, MeasuredBaseline};
pub use checkin::{Checkin, EdgeCaseLine, checkin_csv};
pub use digest::{WeeklyDigest, digest_message};
pub use drift::{
    MIN_ITEMS, OOS_DRIFT, PSI_DRIFT, REFERENCE_WEEKS, Reference, ReferenceKind, distribution, psi,
    shadow_periods,
};
pub use figures::{NetMinutes, RUBBER_STAMP_SECONDS, SoFar, WeekActivity, WeekFigures, Weekly};
pub use weekly::MAX_WEEKS;

use tandem_domain::Millis;

pub const DAY_MS: i64 = 86_400_000;
pub const WEEK_MS: i64 = 7 * DAY_MS;
/// 1970-01-05, the first Monday after the epoch.
const FIRST_MONDAY: i64 = 4 * DAY_MS;
/// A week counts as closed this long after its end, so a transaction stamped just before
/// midnight that commits just after it is still inside the rollup.
pub const CLOSE_GRACE_MS: i64 = 5 * 60_000;

/// The Monday 00:00 UTC that starts the week holding `t`.
pub fn week_start(t: Millis) -> Millis {
    (t - FIRST_MONDAY).div_euclid(WEEK_MS) * WEEK_MS + FIRST_MONDAY
}

/// `2026-01-05` for a time (UTC).
pub fn date_label(t: Millis) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(DAY_MS));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Midnight UTC of a `YYYY-MM-DD` date.
pub fn parse_date(s: &str) -> Result<Millis, String> {
    let bad = || format!("date: {s:?} is not a date written YYYY-MM-DD");
    let mut parts = s.trim().splitn(3, '-');
    let mut next = || parts.next().and_then(|p| p.parse::<i64>().ok()).ok_or_else(bad);
    let (y, m, d) = (next()?, next()?, next()?);
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    let days = days_from_civil(y, m, d);
    if civil_from_days(days) != (y, m, d) {
        return Err(bad());
    }
    Ok(days * DAY_MS)
}

/// Days since 1970-01-01 to a civil date, and back (Howard Hinnant's algorithms).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The median of `values` (the mean of the middle two for an even count).
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    quantile(values, 0.5)
}

/// The `q` quantile by linear interpolation between order statistics (type 7, what a
/// spreadsheet's QUARTILE gives).
pub(crate) fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_midnight_utc() {
        // 2026-01-05 is a Monday.
        let monday = 1_767_571_200_000;
        assert_eq!(week_start(monday), monday);
        assert_eq!(week_start(monday + WEEK_MS - 1), monday);
        assert_eq!(week_start(monday - 1), monday - WEEK_MS);
        assert_eq!(week_start(monday + 3 * DAY_MS + 5), monday);
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(date_label(1_767_571_200_000), "2026-01-05");
        assert_eq!(parse_date("2026-01-05"), Ok(1_767_571_200_000));
        assert!(parse_date("2026-02-30").is_err());
        assert!(parse_date("5 Jan").is_err());
    }

    #[test]
    fn medians_and_quartiles() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        let v = [240.0, 300.0, 360.0, 420.0, 600.0];
        assert_eq!(quantile(&v, 0.25), Some(300.0));
        assert_eq!(quantile(&v, 0.75), Some(420.0));
    }
}
