//! Numbers and times as people read them.

use tandem_domain::Millis;

/// `2026-11-27 10:34 UTC`
pub fn datetime(ms: Millis) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// `just now`, `5 min ago`, `3 h ago`, `2 days ago`
pub fn age(ms: Millis, now: Millis) -> String {
    let s = (now - ms).max(0) / 1000;
    match s {
        0..60 => "just now".into(),
        60..3600 => format!("{} min ago", s / 60),
        3600..86_400 => format!("{} h ago", s / 3600),
        _ => {
            let d = s / 86_400;
            if d == 1 {
                "1 day ago".into()
            } else {
                format!("{d} days ago")
            }
        }
    }
}

pub fn percent(p: f64) -> String {
    format!("{:.0}%", (p * 100.0).clamp(0.0, 100.0))
}

/// Fewer events than this give no rate worth a percentage: "1 of 1" is not "100%".
pub const MIN_FOR_RATE: i64 = 10;

/// A rate with its count: "12% (3 of 25)"; under [`MIN_FOR_RATE`] events the counts
/// alone, "1 of 1 (too few for a rate)"; "–" with none.
pub fn counted_rate(n: i64, of: i64) -> String {
    if of <= 0 {
        "–".into()
    } else if of < MIN_FOR_RATE {
        format!("{n} of {of} (too few for a rate)")
    } else {
        format!("{} ({n} of {of})", percent(n as f64 / of as f64))
    }
}

/// The rate to plot, only when it rests on [`MIN_FOR_RATE`] events or more.
pub fn plotted_rate(n: i64, of: i64) -> Option<f64> {
    (of >= MIN_FOR_RATE).then(|| n as f64 / of as f64)
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `s` as a URL query value: everything but unreserved characters and `/` percent-encoded.
pub fn query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_query_values() {
        assert_eq!(query_value("/items/12"), "/items/12");
        assert_eq!(query_value("/x?a=1&b"), "/x%3Fa%3D1%26b");
    }

    #[test]
    fn rates_show_their_counts_and_need_enough_events() {
        assert_eq!(counted_rate(1, 1), "1 of 1 (too few for a rate)");
        assert_eq!(counted_rate(3, 25), "12% (3 of 25)");
        assert_eq!(counted_rate(0, 0), "–");
        assert_eq!(plotted_rate(1, 1), None);
        assert_eq!(plotted_rate(5, 10), Some(0.5));
    }

    #[test]
    fn formats_times() {
        assert_eq!(datetime(0), "1970-01-01 00:00 UTC");
        assert_eq!(datetime(1_795_775_640_000), "2026-11-27 10:34 UTC");
        assert_eq!(age(0, 90_000), "1 min ago");
        assert_eq!(age(0, 2 * 86_400_000), "2 days ago");
        assert_eq!(percent(0.934), "93%");
    }
}
