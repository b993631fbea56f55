//! Two small standalone SVG charts for an evaluation: the reliability diagram (is a
//! confidence of 0.8 right 80% of the time?) and the coverage-versus-precision curve (how
//! much is routed automatically at each threshold, and how well). Pure string building:
//! every value written is a number we computed, and the only text is fixed labels, so
//! nothing needs escaping. The CLI writes the strings to files.

use crate::metrics::{CurvePoint, ReliabilityBin};
use std::fmt::Write;

const W: f64 = 420.0;
const H: f64 = 420.0;
/// Plot area: left, top, right, bottom margins leave room for axis labels.
const L: f64 = 60.0;
const T: f64 = 40.0;
const R: f64 = 20.0;
const B: f64 = 60.0;

fn x_at(v: f64) -> f64 {
    L + v.clamp(0.0, 1.0) * (W - L - R)
}

fn y_at(v: f64) -> f64 {
    H - B - v.clamp(0.0, 1.0) * (H - T - B)
}

/// The frame shared by both charts: background, grid, ticks, axis labels and title.
fn frame(title: &str, x_label: &str, y_label: &str) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">
<rect width="{W}" height="{H}" fill="#ffffff"/>
<text x="{tx}" y="24" text-anchor="middle" font-size="14" font-weight="bold">{title}</text>
"##,
        tx = W / 2.0
    );
    for i in 0..=5 {
        let v = i as f64 / 5.0;
        let (x, y) = (x_at(v), y_at(v));
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="{t:.1}" x2="{x:.1}" y2="{b:.1}" stroke="#e5e5e5"/>
<line x1="{l:.1}" y1="{y:.1}" x2="{r:.1}" y2="{y:.1}" stroke="#e5e5e5"/>
<text x="{x:.1}" y="{ly:.1}" text-anchor="middle">{v:.1}</text>
<text x="{lx:.1}" y="{yy:.1}" text-anchor="end">{v:.1}</text>
"##,
            t = y_at(1.0),
            b = y_at(0.0),
            l = x_at(0.0),
            r = x_at(1.0),
            ly = y_at(0.0) + 18.0,
            lx = x_at(0.0) - 8.0,
            yy = y + 4.0,
        );
    }
    let _ = write!(
        s,
        r##"<rect x="{l:.1}" y="{t:.1}" width="{pw:.1}" height="{ph:.1}" fill="none" stroke="#333333"/>
<text x="{cx:.1}" y="{xl:.1}" text-anchor="middle">{x_label}</text>
<text x="16" y="{cy:.1}" text-anchor="middle" transform="rotate(-90 16 {cy:.1})">{y_label}</text>
"##,
        l = x_at(0.0),
        t = y_at(1.0),
        pw = W - L - R,
        ph = H - T - B,
        cx = (x_at(0.0) + x_at(1.0)) / 2.0,
        xl = H - 18.0,
        cy = (y_at(0.0) + y_at(1.0)) / 2.0,
    );
    s
}

/// Reliability diagram: one bar per non-empty bin at its accuracy, a dot at its mean
/// confidence, and the diagonal where a calibrated model sits.
pub fn render_reliability_svg(bins: &[ReliabilityBin]) -> String {
    let mut s = frame("Reliability", "confidence", "share right");
    let _ = writeln!(
        s,
        r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#999999" stroke-dasharray="4 4"/>"##,
        x_at(0.0),
        y_at(0.0),
        x_at(1.0),
        y_at(1.0)
    );
    for b in bins.iter().filter(|b| b.count > 0) {
        let (x0, x1) = (x_at(b.lower), x_at(b.upper));
        let y = y_at(b.accuracy);
        let _ = writeln!(
            s,
            r##"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="#4a78c2" fill-opacity="0.75" stroke="#ffffff"><title>{:.2}-{:.2}: {} items, {:.1}% right, mean confidence {:.3}</title></rect>"##,
            x0,
            (x1 - x0).max(0.0),
            (y_at(0.0) - y).max(0.0),
            b.lower,
            b.upper,
            b.count,
            b.accuracy * 100.0,
            b.mean_confidence
        );
        let _ = writeln!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="#d9534f"/>"##,
            x_at(b.mean_confidence),
            y_at(b.accuracy)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// Coverage (x) against precision (y) over every threshold, with the chosen threshold
/// marked. The y axis spans the whole 0–1 range so that charts of different models compare.
pub fn render_coverage_svg(curve: &[CurvePoint], chosen_threshold: Option<f64>) -> String {
    let mut s = frame(
        "Coverage vs precision",
        "coverage (share routed automatically)",
        "precision",
    );
    if !curve.is_empty() {
        // A curve has a point per distinct confidence (thousands); points that land on
        // the same pixel as the last one drawn add bytes, not information.
        let mut path = String::new();
        let mut last: Option<(f64, f64)> = None;
        for (i, p) in curve.iter().enumerate() {
            let (x, y) = (x_at(p.coverage), y_at(p.precision));
            let is_end = i + 1 == curve.len();
            if let Some((lx, ly)) = last
                && (x - lx).abs() < 1.0
                && (y - ly).abs() < 1.0
                && !is_end
            {
                continue;
            }
            let _ = write!(path, "{}{x:.1},{y:.1} ", if last.is_none() { 'M' } else { 'L' });
            last = Some((x, y));
        }
        let _ = writeln!(
            s,
            r##"<path d="{}" fill="none" stroke="#4a78c2" stroke-width="2"/>"##,
            path.trim_end()
        );
    }
    // The chosen point is the last one (lowest threshold) still at or above it.
    let chosen = chosen_threshold.and_then(|t| curve.iter().rev().find(|p| p.threshold >= t));
    if let Some(p) = chosen {
        let (x, y) = (x_at(p.coverage), y_at(p.precision));
        let _ = writeln!(
            s,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="5" fill="#d9534f"/>
<text x="{tx:.1}" y="{ty:.1}" text-anchor="end" fill="#d9534f">threshold {:.3}: coverage {:.1}%, precision {:.1}%</text>"##,
            p.threshold,
            p.coverage * 100.0,
            p.precision * 100.0,
            tx = x_at(1.0) - 4.0,
            ty = y_at(0.0) - 10.0,
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Scored, coverage_curve, reliability_bins};

    #[test]
    fn charts_are_standalone_svg_with_labels() {
        let scored: Vec<Scored> = (0..50)
            .map(|i| Scored::new(i as f64 / 50.0, i % 3 != 0))
            .collect();
        let rel = render_reliability_svg(&reliability_bins(&scored, 15));
        assert!(rel.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(rel.trim_end().ends_with("</svg>"));
        assert!(rel.contains("confidence") && rel.contains("stroke-dasharray"));
        let cov = render_coverage_svg(&coverage_curve(&scored, 60), Some(0.5));
        assert!(cov.contains("<path d=\"M") && cov.contains("threshold 0.500"));
        assert!(!render_coverage_svg(&[], None).contains("<path"));
        assert!(!rel.contains("NaN") && !cov.contains("NaN"));
    }
}
