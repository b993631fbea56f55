//! The SVG writer: layout, axes, series, rules, markers, legend.

use std::fmt::Write as _;

use crate::scale::{Linear, extent, nice_ticks};
use crate::{Chart, Format, Kind};

const PALETTE: [&str; 6] = ["#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2"];
const LEFT: f64 = 56.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 52.0;

pub(crate) fn render(chart: &Chart) -> String {
    let (w, h) = (f64::from(chart.width), f64::from(chart.height));
    let has_bars = chart.series.iter().any(|s| s.kind == Kind::Bars);

    // The x extent, widened by half a bar at each end when there are bars.
    let xs = || chart.series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let gap = min_gap(xs().chain(chart.x.labels.iter().map(|l| l.0)).collect());
    let (mut x0, mut x1) = extent(
        (chart.x.min, chart.x.max),
        xs().chain(chart.markers.iter().map(|m| m.x))
            .chain(chart.x.labels.iter().map(|l| l.0)),
        false,
    );
    if has_bars && chart.x.min.is_none() {
        x0 -= gap / 2.0;
    }
    if has_bars && chart.x.max.is_none() {
        x1 += gap / 2.0;
    }

    let ys = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .chain(chart.rules.iter().map(|r| r.y));
    let (y0, mut y1) = extent((chart.y.min, chart.y.max), ys, has_bars);
    let mut y_ticks = nice_ticks(y0, y1, 5);
    if chart.y.max.is_none()
        && let Some(&last) = y_ticks.last()
        && last < y1
    {
        let step = if y_ticks.len() > 1 {
            y_ticks[1] - y_ticks[0]
        } else {
            y1 - y0
        };
        y1 = last + step;
        y_ticks.push(y1);
    } else if chart.y.max.is_none()
        && let Some(&last) = y_ticks.last()
    {
        y1 = y1.max(last);
    }
    let sx = Linear {
        d0: x0,
        d1: x1,
        p0: LEFT,
        p1: w - RIGHT,
    };
    let sy = Linear {
        d0: y0,
        d1: y1,
        p0: h - BOTTOM,
        p1: TOP,
    };

    let mut out = String::with_capacity(4096);
    // A picture is one image to assistive technology, which hides what is inside it; a
    // chart whose points are links is a group, so each link can be reached and read.
    let role = if chart.series.iter().any(|s| !s.links.is_empty()) {
        "group"
    } else {
        "img"
    };
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="{role}" aria-label="{title}" font-family="system-ui, sans-serif" font-size="11"><title>{title}</title>"#,
        title = escape(&chart.title),
    );
    let _ = write!(out, r##"<rect width="{w}" height="{h}" fill="#fff"/>"##);
    let _ = write!(
        out,
        r##"<text x="{LEFT}" y="18" font-size="13" font-weight="600" fill="#111">{}</text>"##,
        escape(&chart.title)
    );

    // Grid and y ticks.
    let y_step = if y_ticks.len() > 1 {
        y_ticks[1] - y_ticks[0]
    } else {
        1.0
    };
    for &t in y_ticks.iter().filter(|t| **t >= y0 - 1e-9 && **t <= y1 + 1e-9) {
        let py = sy.map(t);
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{py:.1}" y2="{py:.1}" stroke="#e5e7eb"/>"##,
            w - RIGHT
        );
        let _ = write!(
            out,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#4b5563">{}</text>"##,
            LEFT - 6.0,
            py + 4.0,
            format(t, chart.y.format, y_step)
        );
    }
    // X ticks: the given labels, else round values.
    let x_ticks: Vec<(f64, String)> = if chart.x.labels.is_empty() {
        let ticks = nice_ticks(x0, x1, ((w - LEFT - RIGHT) / 80.0).max(2.0) as usize);
        let step = if ticks.len() > 1 { ticks[1] - ticks[0] } else { 1.0 };
        ticks
            .into_iter()
            .map(|t| (t, format(t, chart.x.format, step)))
            .collect()
    } else {
        thin(&chart.x.labels, ((w - LEFT - RIGHT) / 56.0).max(2.0) as usize)
    };
    for (t, label) in &x_ticks {
        let px = sx.map(*t);
        if px < LEFT - 0.5 || px > w - RIGHT + 0.5 {
            continue;
        }
        let _ = write!(
            out,
            r##"<text x="{px:.1}" y="{:.1}" text-anchor="middle" fill="#4b5563">{}</text>"##,
            h - BOTTOM + 16.0,
            escape(label)
        );
    }
    // Axes and their labels.
    let _ = write!(
        out,
        r##"<line x1="{LEFT}" x2="{:.1}" y1="{b:.1}" y2="{b:.1}" stroke="#6b7280"/><line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{b:.1}" stroke="#6b7280"/>"##,
        w - RIGHT,
        b = h - BOTTOM
    );
    let _ = write!(
        out,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#374151">{}</text>"##,
        (LEFT + w - RIGHT) / 2.0,
        h - 12.0,
        escape(&chart.x.label)
    );
    let _ = write!(
        out,
        r##"<text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle" fill="#374151">{}</text>"##,
        (TOP + h - BOTTOM) / 2.0,
        escape(&chart.y.label)
    );

    if chart.diagonal {
        let (a, b) = (x0.max(y0), x1.min(y1));
        let _ = write!(
            out,
            r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#9ca3af" stroke-dasharray="4 4"><title>perfect calibration</title></line>"##,
            sx.map(a),
            sy.map(a),
            sx.map(b),
            sy.map(b)
        );
    }

    // Series.
    let bar_series: Vec<usize> = (0..chart.series.len())
        .filter(|i| chart.series[*i].kind == Kind::Bars)
        .collect();
    let slot = (sx.map(x0 + gap) - sx.map(x0)).abs() * 0.8;
    let bar_w = (slot / bar_series.len().max(1) as f64).max(1.0);
    for (i, series) in chart.series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let name = escape(&series.name);
        let _ = write!(out, r#"<g class="series" data-name="{name}">"#);
        match series.kind {
            Kind::Line => {
                let mut pts: Vec<(f64, f64)> = series
                    .points
                    .iter()
                    .copied()
                    .filter(|p| p.0.is_finite() && p.1.is_finite())
                    .collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                if !pts.is_empty() {
                    let _ = write!(
                        out,
                        r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points=""#
                    );
                    for (x, y) in &pts {
                        let _ = write!(out, "{:.1},{:.1} ", sx.map(*x), sy.map(*y));
                    }
                    let _ = write!(out, r#""/>"#);
                }
            }
            Kind::Points if !series.links.is_empty() => {
                for (&(x, y), link) in series
                    .points
                    .iter()
                    .zip(&series.links)
                    .filter(|(p, _)| p.0.is_finite() && p.1.is_finite())
                {
                    let (px, py) = (sx.map(x), sy.map(y));
                    let label = escape(&link.label);
                    // A wider transparent disc is the target, so a point is easy to hit.
                    let _ = write!(
                        out,
                        r##"<a class="point" href="{}" aria-label="{label}"{}><title>{label}</title><circle cx="{px:.1}" cy="{py:.1}" r="9" fill="transparent"/><circle class="dot" cx="{px:.1}" cy="{py:.1}" r="{}" fill="{colour}" stroke="#fff" stroke-width="1.5"/></a>"##,
                        escape(&link.href),
                        if link.current {
                            r#" aria-current="true""#
                        } else {
                            ""
                        },
                        if link.current { "6.5" } else { "4.5" },
                    );
                }
            }
            Kind::Points => {
                for &(x, y) in series
                    .points
                    .iter()
                    .filter(|p| p.0.is_finite() && p.1.is_finite())
                {
                    let _ = write!(
                        out,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{colour}"><title>{name}: {}, {}</title></circle>"#,
                        sx.map(x),
                        sy.map(y),
                        format(x, chart.x.format, 0.01),
                        format(y, chart.y.format, 0.01)
                    );
                }
            }
            Kind::Bars => {
                let k = bar_series.iter().position(|b| *b == i).unwrap_or(0) as f64;
                let base = sy.map(0f64.clamp(y0, y1));
                for &(x, y) in series
                    .points
                    .iter()
                    .filter(|p| p.0.is_finite() && p.1.is_finite())
                {
                    let left = sx.map(x) - slot / 2.0 + k * bar_w;
                    let top = sy.map(y);
                    let _ = write!(
                        out,
                        r#"<rect x="{left:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{colour}"><title>{name}: {}</title></rect>"#,
                        top.min(base),
                        (bar_w - 1.0).max(1.0),
                        (base - top).abs(),
                        format(y, chart.y.format, 0.01)
                    );
                }
            }
        }
        out.push_str("</g>");
    }

    for rule in &chart.rules {
        let py = sy.map(rule.y);
        let _ = write!(
            out,
            r##"<g class="rule"><line x1="{LEFT}" x2="{:.1}" y1="{py:.1}" y2="{py:.1}" stroke="#111827" stroke-dasharray="6 3"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#111827" paint-order="stroke" stroke="#fff" stroke-width="3">{}</text></g>"##,
            w - RIGHT,
            w - RIGHT - 2.0,
            py - 4.0,
            escape(&rule.label)
        );
    }
    for marker in &chart.markers {
        let px = sx.map(marker.x);
        let short: String = marker.label.chars().take(28).collect();
        let short = if short.len() < marker.label.len() {
            format!("{short}…")
        } else {
            short
        };
        let _ = write!(
            out,
            r##"<g class="marker"><line x1="{px:.1}" x2="{px:.1}" y1="{TOP}" y2="{:.1}" stroke="#b45309" stroke-dasharray="2 3"/><text x="{:.1}" y="{:.1}" fill="#b45309" paint-order="stroke" stroke="#fff" stroke-width="3">{}</text><title>{}</title></g>"##,
            h - BOTTOM,
            px + 3.0,
            TOP + 10.0,
            escape(&short),
            escape(&marker.label)
        );
    }

    // A legend when there is more than one series to tell apart.
    let named: Vec<(usize, &str)> = chart
        .series
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind != Kind::Points || chart.series.len() == 1)
        .map(|(i, s)| (i, s.name.as_str()))
        .collect();
    if named.len() > 1 {
        let mut x = w - RIGHT;
        for (i, name) in named.iter().rev() {
            let width = 14.0 + 6.5 * name.chars().count() as f64;
            x -= width + 8.0;
            let _ = write!(
                out,
                r##"<rect x="{x:.1}" y="24" width="10" height="10" fill="{}"/><text x="{:.1}" y="33" fill="#374151">{}</text>"##,
                PALETTE[i % PALETTE.len()],
                x + 14.0,
                escape(name)
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// The smallest distance between distinct x values, or 1 when there is none.
fn min_gap(mut xs: Vec<f64>) -> f64 {
    xs.retain(|x| x.is_finite());
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let gap = xs.windows(2).map(|w| w[1] - w[0]).fold(f64::INFINITY, f64::min);
    if gap.is_finite() && gap > 0.0 { gap } else { 1.0 }
}

/// At most `max` labels, evenly thinned, always keeping the last.
fn thin(labels: &[(f64, String)], max: usize) -> Vec<(f64, String)> {
    if labels.len() <= max {
        return labels.to_vec();
    }
    let every = labels.len().div_ceil(max.max(1));
    let last = labels.len() - 1;
    labels
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0 || *i == last)
        .map(|(_, l)| l.clone())
        .collect()
}

fn format(v: f64, format: Format, step: f64) -> String {
    match format {
        Format::Percent => {
            if step.abs() < 0.01 && (v * 100.0).fract().abs() > 1e-9 {
                format!("{:.1}%", v * 100.0)
            } else {
                format!("{:.0}%", v * 100.0)
            }
        }
        Format::Number => {
            if (v - v.round()).abs() < 1e-9 {
                format!("{:.0}", v)
            } else if step.abs() >= 0.1 {
                format!("{v:.1}")
            } else {
                format!("{v:.2}")
            }
        }
    }
}

/// Escapes text for SVG content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}
