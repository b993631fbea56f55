//! The check-in shaped for its templates: every figure already in words, every chart
//! already drawn as SVG (by `tandem-charts`, which escapes its text).

use tandem_charts::{Axis, Chart, Series};
use tandem_domain::Millis;
use tandem_service::measure::{BaselineView, Checkin, EdgeCaseLine, WEEK_MS, WeekFigures, date_label};
use tandem_store::Automation;

use crate::format::{counted_rate, percent, plotted_rate};

pub struct Figure {
    pub label: String,
    pub value: String,
    /// `ok`, `bad` or empty: how the value reads against its goal.
    pub tone: &'static str,
}

pub struct WeekRow {
    pub week: String,
    pub items_in: String,
    pub share_automatic: String,
    pub reviewed: String,
    pub escaped: String,
    pub open_at_end: String,
    pub net_hours: String,
    pub target: String,
    pub cumulative: String,
}

pub struct NoteRow {
    pub week: String,
    pub kind: String,
    pub body: String,
    pub author: String,
}

pub struct AutomationLink {
    pub slug: String,
    pub name: String,
    pub selected: bool,
}

pub struct CheckinView {
    pub title: String,
    pub slug: String,
    pub period: String,
    pub headline: String,
    pub headline_tone: &'static str,
    pub figures: Vec<Figure>,
    pub baseline: String,
    pub charts: Vec<(String, String)>,
    pub rows: Vec<WeekRow>,
    pub notes: Vec<NoteRow>,
    pub edge_cases: Vec<EdgeCaseLine>,
    /// Edge cases a link without examples leaves out.
    pub edge_cases_withheld: usize,
    pub automations: Vec<AutomationLink>,
    pub today: String,
}

fn hours(h: Option<f64>) -> String {
    h.map_or("–".into(), |h| format!("{h:.1} h"))
}

fn opt_pct(p: Option<f64>) -> String {
    p.map_or("–".into(), percent)
}

fn duration(seconds: Option<f64>) -> String {
    match seconds {
        None => "–".into(),
        Some(s) if s < 90.0 => format!("{s:.0} s"),
        Some(s) if s < 5400.0 => format!("{:.0} min", s / 60.0),
        Some(s) if s < 172_800.0 => format!("{:.1} h", s / 3600.0),
        Some(s) => format!("{:.1} days", s / 86_400.0),
    }
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "champion" => "Note",
        "volume_spike" => "Volume spike",
        "new_input" => "New kind of input",
        "version_change" => "Version change",
        "delivery_outage" => "Delivery outage",
        "backlog" => "Growing backlog",
        "drift" => "Drift",
        _ => "Note",
    }
}

/// Where a moment falls on a chart whose x is the week's index.
/// Corrected of approved and corrected, only from 10 such decisions on.
fn override_rate(w: &WeekFigures) -> Option<f64> {
    plotted_rate(w.activity.corrected, w.activity.approved + w.activity.corrected)
}

/// Approvals under three seconds of all approvals, only from 10 approvals on.
fn rubber_stamp_rate(w: &WeekFigures) -> Option<f64> {
    plotted_rate(w.activity.rubber_stamps, w.activity.approved)
}

fn x_of(weeks: &[WeekFigures], at: Millis) -> Option<f64> {
    let first = weeks.first()?.week_start;
    let x = (at - first) as f64 / WEEK_MS as f64 - 0.5;
    (x >= -0.5 && x <= weeks.len() as f64 - 0.5).then_some(x)
}

fn charts(c: &Checkin) -> Vec<(String, String)> {
    let weeks = &c.weekly.weeks;
    let labels: Vec<(f64, String)> = weeks
        .iter()
        .enumerate()
        .map(|(i, w)| (i as f64, date_label(w.week_start)[5..].to_owned()))
        .collect();
    let x = || {
        Axis::new("Week starting")
            .labels(labels.clone())
            .range(-0.5, weeks.len() as f64 - 0.5)
    };
    let markers = |mut chart: Chart| {
        for n in &c.notes {
            if let Some(at) = x_of(weeks, n.at) {
                chart = chart.marker(at, kind_label(&n.kind));
            }
        }
        chart
    };
    let pts = |f: &dyn Fn(&WeekFigures) -> Option<f64>| -> Vec<(f64, f64)> {
        weeks
            .iter()
            .enumerate()
            .filter_map(|(i, w)| f(w).map(|v| (i as f64, v)))
            .collect()
    };
    let mut hours_chart = Chart::new("Net hours recovered", x(), Axis::new("Hours"))
        .series(Series::bars("net hours", pts(&|w| w.net_hours)));
    let low = pts(&|w| w.net_hours_low);
    if !low.is_empty() {
        hours_chart = hours_chart
            .series(Series::line("low", low))
            .series(Series::line("high", pts(&|w| w.net_hours_high)));
    }
    if let Some(t) = weeks.last().and_then(|w| w.target_hours) {
        hours_chart = hours_chart.rule(t, format!("target {t} h"));
    }
    let rate = Chart::new(
        "Handled automatically",
        x(),
        Axis::new("Share of items").range(0.0, 1.0).percent(),
    )
    .series(Series::line("automatic", pts(&|w| w.share_automatic)))
    .series(Series::points("automatic", pts(&|w| w.share_automatic)));
    let inbox = Chart::new("Inbox at the week's end", x(), Axis::new("Open items"))
        .series(Series::bars(
            "open",
            pts(&|w| Some(w.activity.open_at_end as f64)),
        ))
        .series(Series::line(
            "items in",
            pts(&|w| Some(w.activity.items_in as f64)),
        ));
    let age = Chart::new("Oldest open exception", x(), Axis::new("Hours waiting")).series(Series::bars(
        "age",
        pts(&|w| w.oldest_open_age_hours.or(Some(0.0))),
    ));
    // Adoption signals: a team that corrects more, approves without looking or works
    // around the automation is telling something the hours alone do not.
    let signals = Chart::new(
        "Override and rubber-stamp rates (weeks with 10 or more decisions)",
        x(),
        Axis::new("Share of decisions").range(0.0, 1.0).percent(),
    )
    .series(Series::line("override rate", pts(&override_rate)))
    .series(Series::points("override rate", pts(&override_rate)))
    .series(Series::line("rubber-stamp rate", pts(&rubber_stamp_rate)))
    .series(Series::points("rubber-stamp rate", pts(&rubber_stamp_rate)));
    let outside = Chart::new("Done by hand outside Tandem", x(), Axis::new("Items")).series(Series::bars(
        "done by hand",
        pts(&|w| Some(w.activity.hand_outside as f64)),
    ));
    [hours_chart, rate, inbox, age, signals, outside]
        .into_iter()
        .map(|ch| {
            let ch = markers(ch.size(560, 260));
            (ch.title.clone(), ch.to_svg())
        })
        .collect()
}

/// The baseline in force in words: measured (with its count and spread) or typed in.
pub fn baseline_sentence(b: &BaselineView) -> String {
    match (&b.measured, b.source) {
        (Some(m), "measured") => format!(
            "Baseline measured: {:.1} min per item (median of {} timed items; middle half {:.1}–{:.1} min).",
            m.median_minutes, m.count, m.p25_minutes, m.p75_minutes
        ),
        (m, "typed") => format!(
            "Baseline typed in: {} min per item{}.",
            b.minutes_per_item.unwrap_or_default(),
            m.as_ref()
                .map_or(String::new(), |m| format!(" ({} timed so far)", m.count))
        ),
        _ => "No baseline yet: add minutes_per_item to the definition, or time items by hand.".into(),
    }
}

/// The headline sentence about week `w` and its tone. Only a week that has ended is
/// called met or missed; the week still running reads "so far", with the pace it needs.
fn headline(w: &WeekFigures) -> (String, &'static str) {
    let week = date_label(w.week_start);
    match (w.net_hours, w.target_hours) {
        (Some(n), Some(t)) if !w.closed => match &w.so_far {
            Some(p) if p.still_needed_hours <= 0.0 => (
                format!(
                    "Week of {week} so far: {n:.1} h recovered against {t} h, the target already reached."
                ),
                "ok",
            ),
            Some(p) => (
                format!(
                    "Week of {week} so far: {n:.1} h recovered against {t} h; {:.1} h still to go, about {:.1} h a day over the {:.1} days left.",
                    p.still_needed_hours, p.needed_per_day, p.days_left
                ),
                "",
            ),
            None => (
                format!("Week of {week} so far: {n:.1} h recovered against {t} h."),
                "",
            ),
        },
        (Some(n), Some(t)) if n >= t => (
            format!(
                "Week of {week}: target met, {n:.1} h recovered against {t} h (+{:.1} h).",
                n - t
            ),
            "ok",
        ),
        (Some(n), Some(t)) => (
            format!(
                "Week of {week}: target missed, {n:.1} h recovered against {t} h ({:.1} h short).",
                t - n
            ),
            "bad",
        ),
        (Some(n), None) => (
            format!(
                "Week of {week}{}: {n:.1} h recovered; no target set.",
                if w.closed { "" } else { " so far" }
            ),
            "",
        ),
        _ => (
            format!("Week of {week}: set a baseline (minutes per item) to see hours recovered."),
            "",
        ),
    }
}

pub fn checkin_view(c: &Checkin, automations: &[Automation], now: Millis) -> CheckinView {
    let weeks = &c.weekly.weeks;
    // The headline is about the last full week, when there is one.
    let last = weeks.iter().rev().find(|w| w.closed).or(weeks.last());
    let (headline, tone) = match last {
        Some(w) => headline(w),
        None => ("No weeks yet.".into(), ""),
    };
    let mut figures = Vec::new();
    if let Some(w) = last {
        let a = &w.activity;
        let range = match (w.net_hours_low, w.net_hours_high) {
            (Some(l), Some(h)) => format!(" (range {l:.1}–{h:.1} h)"),
            _ => String::new(),
        };
        figures = vec![
            Figure {
                label: "Net hours recovered".into(),
                value: format!("{}{range}", hours(w.net_hours)),
                tone: match w.target_met {
                    Some(true) => "ok",
                    Some(false) => "bad",
                    None => "",
                },
            },
            Figure {
                label: "Cumulative".into(),
                value: hours(w.cumulative_hours),
                tone: "",
            },
            Figure {
                label: "Items in".into(),
                value: match (w.designed_volume, w.volume_share) {
                    (Some(v), Some(s)) => format!("{} of {v} designed ({})", a.items_in, percent(s)),
                    _ => a.items_in.to_string(),
                },
                tone: if w.volume_share.is_some_and(|s| s < 0.5) {
                    "bad"
                } else {
                    ""
                },
            },
            Figure {
                label: "Handled automatically".into(),
                value: opt_pct(w.share_automatic),
                tone: "",
            },
            Figure {
                label: "Reviewed".into(),
                value: format!(
                    "{} ({} corrected, {} rejected)",
                    w.reviewed, a.corrected, a.rejected
                ),
                tone: "",
            },
            Figure {
                label: "Escaped errors".into(),
                value: a.escaped.to_string(),
                tone: if a.escaped > 0 { "bad" } else { "" },
            },
            Figure {
                label: "Median time in review".into(),
                value: duration(a.median_review_seconds),
                tone: "",
            },
            Figure {
                label: "Time to first touch".into(),
                value: duration(a.median_first_touch_seconds),
                tone: "",
            },
            Figure {
                label: "Oldest open exception".into(),
                value: w
                    .oldest_open_age_hours
                    .map_or("none open".into(), |h| duration(Some(h * 3600.0))),
                tone: "",
            },
            Figure {
                label: "Override rate".into(),
                value: counted_rate(a.corrected, a.approved + a.corrected),
                tone: "",
            },
            Figure {
                label: "Rubber-stamp rate".into(),
                value: counted_rate(a.rubber_stamps, a.approved),
                tone: "",
            },
            Figure {
                label: "Done by hand outside Tandem".into(),
                value: a.hand_outside.to_string(),
                tone: if a.hand_outside > 0 { "bad" } else { "" },
            },
        ];
    }
    let baseline = match &c.weekly.baseline {
        Some(b) => baseline_sentence(b),
        None => "Hours are summed over the automations that have a baseline.".into(),
    };
    let rows = weeks
        .iter()
        .rev()
        .map(|w| WeekRow {
            week: format!(
                "{}{}",
                date_label(w.week_start),
                if w.closed { "" } else { " (so far)" }
            ),
            items_in: w.activity.items_in.to_string(),
            share_automatic: opt_pct(w.share_automatic),
            reviewed: w.reviewed.to_string(),
            escaped: w.activity.escaped.to_string(),
            open_at_end: w.activity.open_at_end.to_string(),
            net_hours: hours(w.net_hours),
            target: match (w.target_met, &w.so_far) {
                (Some(true), _) => "met".into(),
                (Some(false), _) => "missed".into(),
                (None, Some(p)) if p.still_needed_hours <= 0.0 => "met so far".into(),
                (None, Some(p)) => format!("so far: {:.1} h to go", p.still_needed_hours),
                (None, None) => "–".into(),
            },
            cumulative: hours(w.cumulative_hours),
        })
        .collect();
    let notes = c
        .notes
        .iter()
        .map(|n| NoteRow {
            week: date_label(n.week_start),
            kind: kind_label(&n.kind).into(),
            body: n.body.clone(),
            author: n.author_name.clone().unwrap_or_else(|| "Tandem".into()),
        })
        .collect();
    let slug = c
        .weekly
        .automation
        .as_ref()
        .map_or(String::new(), |a| a.0.clone());
    CheckinView {
        title: c.title.clone(),
        period: match (weeks.first(), weeks.last()) {
            (Some(f), Some(l)) => format!(
                "Weeks of {} to {}",
                date_label(f.week_start),
                date_label(l.week_start)
            ),
            _ => String::new(),
        },
        headline,
        headline_tone: tone,
        figures,
        baseline,
        charts: charts(c),
        rows,
        notes,
        edge_cases: c.edge_cases.clone(),
        edge_cases_withheld: c.edge_cases_withheld,
        automations: automations
            .iter()
            .map(|a| AutomationLink {
                slug: a.slug.clone(),
                name: a.name.clone(),
                selected: a.slug == slug,
            })
            .collect(),
        slug,
        today: date_label(now),
    }
}

#[cfg(test)]
mod tests {
    use tandem_service::measure::{BaselineView, Checkin, WeekActivity, WeekFigures, Weekly};

    use super::*;

    /// Two weeks computed by hand. Week 1: 2 approved (one in 2 s, a rubber stamp), 1
    /// corrected, nothing done outside: override 1/3 = 33%, rubber stamps 1/2 = 50%.
    /// Week 2: 3 approved (none fast), 1 corrected, 2 done by hand outside Tandem:
    /// override 1/4 = 25%, rubber stamps 0%.
    #[test]
    fn the_adoption_signals_are_charted_week_by_week() {
        let monday = 1_767_571_200_000;
        let baseline = BaselineView::new(&Default::default(), &[]);
        let week = |start, approved, corrected, stamps, outside| {
            let a = WeekActivity {
                approved,
                corrected,
                rubber_stamps: stamps,
                hand_outside: outside,
                ..WeekActivity::default()
            };
            WeekFigures::new(start, a, &baseline, monday + 3 * WEEK_MS)
        };
        let c = Checkin {
            title: "Support".into(),
            weekly: Weekly {
                automation: Some(("support".into(), "Support".into())),
                baseline: Some(baseline.clone()),
                weeks: vec![week(monday, 20, 10, 5, 0), week(monday + WEEK_MS, 3, 1, 0, 2)],
            },
            notes: vec![],
            edge_cases: vec![],
            edge_cases_withheld: 0,
        };
        let charts = charts(&c);
        let svg = |title: &str| {
            charts
                .iter()
                .find(|(t, _)| t == title)
                .unwrap_or_else(|| panic!("no chart {title}"))
                .1
                .clone()
        };
        // Week 0: 10 corrected of 30, 5 quick of 20 approvals. Week 1 has only 4
        // decisions and 3 approvals: too few for a rate, so no point (not "25%", "0%").
        let signals = svg("Override and rubber-stamp rates (weeks with 10 or more decisions)");
        for point in [
            "<title>override rate: 0, 33%</title>",
            "<title>rubber-stamp rate: 0, 25%</title>",
        ] {
            assert!(signals.contains(point), "missing {point} in {signals}");
        }
        assert!(
            !signals.contains("rate: 1,"),
            "a rate from 4 decisions: {signals}"
        );
        let outside = svg("Done by hand outside Tandem");
        assert!(outside.contains("<title>done by hand: 0</title>"), "{outside}");
        assert!(outside.contains("<title>done by hand: 2</title>"), "{outside}");
    }
}
