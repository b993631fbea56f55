//! Writes a sample of each chart kind to the directory given (default: the current one),
//! to look at while changing the drawing code: `cargo run -p tandem-charts --example sample`.
use tandem_charts::{Axis, Chart, Series, reliability_bins, reliability_diagram};

fn main() -> std::io::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let weeks: Vec<(f64, String)> = (1..=12).map(|w| (w as f64, format!("W{w}"))).collect();
    let hours: Vec<(f64, f64)> = (1..=12)
        .map(|w| (w as f64, 4.0 + 1.7 * w as f64 - if w == 7 { 9.0 } else { 0.0 }))
        .collect();
    let bars = Chart::new(
        "Net hours recovered per week",
        Axis::new("week").labels(weeks.clone()),
        Axis::new("hours"),
    )
    .series(Series::bars("net hours", hours))
    .rule(20.0, "target 20 h")
    .marker(7.0, "delivery outage on Tuesday");
    std::fs::write(format!("{dir}/bars.svg"), bars.to_svg())?;
    let rate = Chart::new(
        "Automation rate",
        Axis::new("week").labels(weeks),
        Axis::new("share automatic").range(0.0, 1.0).percent(),
    )
    .series(Series::line(
        "automatic",
        (1..=12).map(|w| (w as f64, 0.4 + 0.04 * w as f64)).collect(),
    ))
    .series(Series::line(
        "corrected",
        (1..=12).map(|w| (w as f64, 0.1 - 0.005 * w as f64)).collect(),
    ));
    std::fs::write(format!("{dir}/line.svg"), rate.to_svg())?;
    let pairs: Vec<(f64, bool)> = (0..1000)
        .map(|i| {
            let c = (i % 100) as f64 / 100.0;
            (c, (i * 37 % 100) as f64 / 100.0 < c)
        })
        .collect();
    std::fs::write(
        format!("{dir}/reliability.svg"),
        reliability_diagram("Reliability of routes", &reliability_bins(&pairs, 10)).to_svg(),
    )?;
    Ok(())
}
