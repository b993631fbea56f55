//! Charts drawn as SVG text, on the server, with no script: line and bar series over a
//! numeric or labelled x axis, horizontal rules (a target), vertical markers (a note on
//! the week it happened), and a reliability diagram for calibrated confidences.
//!
//! Written here rather than taken from a crate: the charting crates available draw
//! through a backend and font stack we do not need; what the product needs is a few
//! hundred lines of geometry and escaped text that renders the same in a browser, in a
//! printed page and in an e-mail.
//!
//! Every text that reaches the SVG is escaped, so labels taken from user data are inert.

mod scale;
mod svg;

pub use scale::nice_ticks;

use std::fmt::Write as _;

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Line,
    Bars,
    /// Dots only, sized by nothing: a scatter.
    Points,
}

/// One named series of (x, y) points.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub kind: Kind,
    pub points: Vec<(f64, f64)>,
    /// For points: one link per point (same order), making each a focusable, labelled
    /// element that a click or Enter follows. Empty: plain dots.
    pub links: Vec<PointLink>,
}

/// Where a point of the chart leads, and what it is in words.
#[derive(Debug, Clone, PartialEq)]
pub struct PointLink {
    pub href: String,
    /// Read out by screen readers and shown as the point's tooltip.
    pub label: String,
    /// The point in force now (`aria-current`), drawn larger.
    pub current: bool,
}

impl Series {
    pub fn line(name: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.into(),
            kind: Kind::Line,
            points,
            links: Vec::new(),
        }
    }
    pub fn bars(name: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.into(),
            kind: Kind::Bars,
            points,
            links: Vec::new(),
        }
    }
    pub fn points(name: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.into(),
            kind: Kind::Points,
            points,
            links: Vec::new(),
        }
    }
    /// Points that are links: `links[i]` belongs to `points[i]`.
    pub fn linked_points(name: impl Into<String>, points: Vec<(f64, f64)>, links: Vec<PointLink>) -> Series {
        Series {
            name: name.into(),
            kind: Kind::Points,
            points,
            links,
        }
    }
}

/// How tick values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Number,
    /// 0.25 is written "25%".
    Percent,
}

/// An axis: its label, an optional fixed range, and either automatic ticks or labels at
/// given positions (week names, for example).
#[derive(Debug, Clone, Default)]
pub struct Axis {
    pub label: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub format: Format,
    /// When not empty, these ticks replace the automatic ones.
    pub labels: Vec<(f64, String)>,
}

impl Axis {
    pub fn new(label: impl Into<String>) -> Axis {
        Axis {
            label: label.into(),
            ..Axis::default()
        }
    }
    pub fn range(mut self, min: f64, max: f64) -> Axis {
        self.min = Some(min);
        self.max = Some(max);
        self
    }
    pub fn percent(mut self) -> Axis {
        self.format = Format::Percent;
        self
    }
    pub fn labels(mut self, labels: Vec<(f64, String)>) -> Axis {
        self.labels = labels;
        self
    }
}

/// A horizontal line across the plot at `y`, such as a target.
#[derive(Debug, Clone)]
pub struct Rule {
    pub y: f64,
    pub label: String,
}

/// A vertical line at `x` with a short label, such as a note on the week it happened.
#[derive(Debug, Clone)]
pub struct Marker {
    pub x: f64,
    pub label: String,
}

/// A chart. Build it, then [`Chart::to_svg`].
#[derive(Debug, Clone)]
pub struct Chart {
    pub title: String,
    pub width: u32,
    pub height: u32,
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<Series>,
    pub rules: Vec<Rule>,
    pub markers: Vec<Marker>,
    /// A diagonal from (min, min) to (max, max): perfect calibration.
    pub diagonal: bool,
}

impl Chart {
    pub fn new(title: impl Into<String>, x: Axis, y: Axis) -> Chart {
        Chart {
            title: title.into(),
            width: 640,
            height: 320,
            x,
            y,
            series: Vec::new(),
            rules: Vec::new(),
            markers: Vec::new(),
            diagonal: false,
        }
    }
    pub fn size(mut self, width: u32, height: u32) -> Chart {
        self.width = width.max(160);
        self.height = height.max(120);
        self
    }
    pub fn series(mut self, series: Series) -> Chart {
        self.series.push(series);
        self
    }
    pub fn rule(mut self, y: f64, label: impl Into<String>) -> Chart {
        self.rules.push(Rule {
            y,
            label: label.into(),
        });
        self
    }
    pub fn marker(mut self, x: f64, label: impl Into<String>) -> Chart {
        self.markers.push(Marker {
            x,
            label: label.into(),
        });
        self
    }
    pub fn diagonal(mut self) -> Chart {
        self.diagonal = true;
        self
    }

    /// The chart as a standalone `<svg>` element (also valid inline in HTML).
    pub fn to_svg(&self) -> String {
        svg::render(self)
    }
}

/// One bin of a reliability diagram: the mean confidence of its items, the share of them
/// that were right, and how many there were.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReliabilityBin {
    pub confidence: f64,
    pub accuracy: f64,
    pub count: usize,
}

/// Bins (confidence, correct) pairs into `bins` equal-width bins over [0, 1]; empty bins
/// are left out.
pub fn reliability_bins(pairs: &[(f64, bool)], bins: usize) -> Vec<ReliabilityBin> {
    let bins = bins.max(1);
    let mut sums = vec![(0.0_f64, 0usize, 0usize); bins];
    for &(confidence, right) in pairs {
        if !confidence.is_finite() {
            continue;
        }
        let c = confidence.clamp(0.0, 1.0);
        let index = ((c * bins as f64) as usize).min(bins - 1);
        sums[index].0 += c;
        sums[index].1 += usize::from(right);
        sums[index].2 += 1;
    }
    sums.into_iter()
        .filter(|s| s.2 > 0)
        .map(|(conf, right, count)| ReliabilityBin {
            confidence: conf / count as f64,
            accuracy: right as f64 / count as f64,
            count,
        })
        .collect()
}

/// `bins` with neighbours merged until each holds at least `min` items (a remainder
/// too small on its own joins the last bin), so no point of a reliability diagram rests
/// on a handful of outputs. Fewer than `min` items in all give no bins.
pub fn merge_sparse_bins(bins: &[ReliabilityBin], min: usize) -> Vec<ReliabilityBin> {
    let merge = |a: &ReliabilityBin, b: &ReliabilityBin| {
        let n = (a.count + b.count) as f64;
        ReliabilityBin {
            confidence: (a.confidence * a.count as f64 + b.confidence * b.count as f64) / n,
            accuracy: (a.accuracy * a.count as f64 + b.accuracy * b.count as f64) / n,
            count: a.count + b.count,
        }
    };
    let mut out: Vec<ReliabilityBin> = Vec::new();
    let mut open: Option<ReliabilityBin> = None;
    for b in bins {
        let acc = match &open {
            Some(o) => merge(o, b),
            None => *b,
        };
        if acc.count >= min {
            out.push(acc);
            open = None;
        } else {
            open = Some(acc);
        }
    }
    if let (Some(rest), Some(last)) = (open, out.last_mut()) {
        *last = merge(&*last, &rest);
    }
    out
}

/// A reliability diagram: for each bin, how often the outputs were right against the
/// confidence they were given, with the diagonal a perfectly calibrated model would follow.
pub fn reliability_diagram(title: &str, bins: &[ReliabilityBin]) -> Chart {
    let total: usize = bins.iter().map(|b| b.count).sum();
    let mut caption = String::from("Confidence given");
    let _ = write!(caption, " ({total} outputs)");
    Chart::new(
        title,
        Axis::new(caption).range(0.0, 1.0).percent(),
        Axis::new("Share right").range(0.0, 1.0).percent(),
    )
    .size(420, 380)
    .diagonal()
    .series(Series::line(
        "observed",
        bins.iter().map(|b| (b.confidence, b.accuracy)).collect(),
    ))
    .series(Series::points(
        "bins",
        bins.iter().map(|b| (b.confidence, b.accuracy)).collect(),
    ))
}

#[cfg(test)]
mod tests;
