//! Periods of scheduled work, aligned to UTC so every instance computes the same ones.

use std::time::Duration;

use tandem_domain::Millis;

const DAY: Millis = 86_400_000;
/// The Unix epoch was a Thursday; weeks start on Monday, four days later.
const MONDAY_OFFSET: Millis = 4 * DAY;

/// A repeating window of time: `length` long, starting at `offset` past the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    length: Millis,
    offset: Millis,
}

impl Period {
    /// Back-to-back windows of `length` (at least one second), aligned to the epoch.
    pub fn every(length: Duration) -> Period {
        Period {
            length: i64::try_from(length.as_millis()).unwrap_or(DAY).max(1_000),
            offset: 0,
        }
    }

    /// How long one period lasts, in milliseconds.
    pub fn length(&self) -> Millis {
        self.length
    }

    pub fn hourly() -> Period {
        Period::every(Duration::from_secs(3600))
    }

    /// UTC days.
    pub fn daily() -> Period {
        Period::every(Duration::from_secs(86_400))
    }

    /// Weeks from Monday 00:00 UTC.
    pub fn weekly() -> Period {
        Period {
            length: 7 * DAY,
            offset: MONDAY_OFFSET,
        }
    }

    /// The window holding `now`: `[start, end)`.
    pub fn bounds(&self, now: Millis) -> (Millis, Millis) {
        let start = now - (now - self.offset).rem_euclid(self.length);
        (start, start + self.length)
    }
}

/// The claim key of a window: its start as a UTC date and time, e.g. `2026-11-23T00:00Z`.
pub fn key(start: Millis) -> String {
    let days = start.div_euclid(DAY);
    let ms = start.rem_euclid(DAY);
    let (y, m, d) = civil_from_days(days);
    let (h, min, s) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60);
    if s == 0 && ms % 1000 == 0 {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{:03}Z", ms % 1000)
    }
}

/// Days since 1970-01-01 to a (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-27 (a Friday) 13:58:09 UTC.
    const NOW: Millis = 1_795_787_889_000;

    #[test]
    fn weeks_start_on_monday_utc() {
        let (start, end) = Period::weekly().bounds(NOW);
        assert_eq!(key(start), "2026-11-23T00:00Z");
        assert_eq!(key(end), "2026-11-30T00:00Z");
        assert_eq!(
            Period::weekly().bounds(start),
            (start, end),
            "a period holds its start"
        );
        assert_eq!(Period::weekly().bounds(end - 1), (start, end), "and not its end");
    }

    #[test]
    fn days_hours_and_custom_lengths() {
        assert_eq!(key(Period::daily().bounds(NOW).0), "2026-11-27T00:00Z");
        assert_eq!(key(Period::hourly().bounds(NOW).0), "2026-11-27T13:00Z");
        let five = Period::every(Duration::from_secs(300)).bounds(NOW);
        assert_eq!(
            (key(five.0), five.1 - five.0),
            ("2026-11-27T13:55Z".into(), 300_000)
        );
        assert_eq!(key(0), "1970-01-01T00:00Z");
        assert_eq!(key(951_782_400_000), "2000-02-29T00:00Z");
        assert_eq!(key(1_500), "1970-01-01T00:00:01.500Z");
    }
}
