use super::*;

#[test]
fn ticks_are_round_and_cover_the_range() {
    assert_eq!(nice_ticks(0.0, 1.0, 5), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
    assert_eq!(nice_ticks(0.0, 23.0, 5), vec![0.0, 5.0, 10.0, 15.0, 20.0]);
    assert_eq!(nice_ticks(-3.0, 3.0, 3), vec![-2.0, 0.0, 2.0]);
    assert_eq!(nice_ticks(5.0, 5.0, 5), vec![5.0]);
    assert_eq!(nice_ticks(f64::NAN, 1.0, 5), vec![0.0]);
}

#[test]
fn labels_from_user_data_are_escaped() {
    let svg = Chart::new(
        "<script>alert(1)</script>",
        Axis::new("week \"1\""),
        Axis::new("hours & more"),
    )
    .series(Series::bars("<img onerror=x>", vec![(0.0, 1.0), (1.0, 2.0)]))
    .marker(1.0, "note <b>")
    .to_svg();
    assert!(!svg.contains("<script>"), "{svg}");
    assert!(!svg.contains("<img"), "{svg}");
    assert!(!svg.contains("<b>"), "{svg}");
    assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(svg.contains("hours &amp; more"));
    assert!(svg.contains("week &quot;1&quot;"));
}

/// Pulls the numbers out of an attribute such as `y="12.5"` for every element `tag`.
fn attr_values(svg: &str, tag: &str, attr: &str) -> Vec<f64> {
    svg.split(&format!("<{tag} "))
        .skip(1)
        .filter_map(|rest| {
            let start = rest
                .find(&format!(" {attr}=\""))
                .map(|i| i + attr.len() + 3)
                .or_else(|| rest.starts_with(&format!("{attr}=\"")).then_some(attr.len() + 2))?;
            let end = rest[start..].find('"')? + start;
            rest[start..end].parse().ok()
        })
        .collect()
}

#[test]
fn taller_bars_for_larger_values_and_a_rule_at_its_height() {
    let svg = Chart::new("Hours recovered", Axis::new("week"), Axis::new("hours"))
        .series(Series::bars(
            "net hours",
            vec![(1.0, 5.0), (2.0, 10.0), (3.0, 20.0)],
        ))
        .rule(10.0, "target 10 h")
        .to_svg();
    let heights = attr_values(&svg, "rect", "height");
    // The background, then the three bars.
    assert_eq!(heights.len(), 4, "{svg}");
    let bars = &heights[1..];
    assert!(bars[0] < bars[1] && bars[1] < bars[2], "{bars:?}");
    assert!(
        (bars[1] - 2.0 * bars[0]).abs() < 0.5,
        "bar heights proportional to values: {bars:?}"
    );
    // The rule is drawn at the top of the 10-hour bar.
    let tops = attr_values(&svg, "rect", "y");
    let rule_y = svg
        .split("<g class=\"rule\">")
        .nth(1)
        .and_then(|r| attr_values(&format!("<x {r}"), "line", "y1").first().copied());
    let rule_y = rule_y.expect("a rule line");
    assert!(
        (rule_y - tops[2]).abs() < 0.6,
        "rule at {rule_y}, bar top at {}",
        tops[2]
    );
    assert!(svg.contains("target 10 h"));
}

#[test]
fn a_line_series_is_drawn_left_to_right() {
    let svg = Chart::new(
        "Automation rate",
        Axis::new("week"),
        Axis::new("share").range(0.0, 1.0).percent(),
    )
    .series(Series::line(
        "automatic",
        vec![(3.0, 0.9), (1.0, 0.5), (2.0, 0.7)],
    ))
    .to_svg();
    let points = svg.split("points=\"").nth(1).unwrap().split('"').next().unwrap();
    let xs: Vec<f64> = points
        .split_whitespace()
        .map(|p| p.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(xs.len(), 3);
    assert!(xs.windows(2).all(|w| w[0] < w[1]), "{xs:?}");
    assert!(svg.contains("100%") && svg.contains("0%"), "percent ticks: {svg}");
}

#[test]
fn reliability_bins_average_confidence_and_accuracy() {
    let pairs = [
        (0.95, true),
        (0.91, true),
        (0.97, false),
        (0.15, false),
        (0.1, true),
        (f64::NAN, true),
    ];
    let bins = reliability_bins(&pairs, 10);
    assert_eq!(bins.len(), 2);
    assert_eq!(bins[0].count, 2);
    assert!((bins[0].confidence - 0.125).abs() < 1e-12);
    assert!((bins[0].accuracy - 0.5).abs() < 1e-12);
    assert_eq!(bins[1].count, 3);
    assert!((bins[1].accuracy - 2.0 / 3.0).abs() < 1e-12);
    let svg = reliability_diagram("Routes", &bins).to_svg();
    assert!(svg.contains("perfect calibration"));
    assert!(svg.contains("5 outputs"));
    assert_eq!(svg.matches("<circle").count(), 2);
}

#[test]
fn empty_charts_still_render() {
    let svg = Chart::new("Nothing yet", Axis::new("x"), Axis::new("y")).to_svg();
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    let svg = reliability_diagram("none", &[]).to_svg();
    assert!(svg.ends_with("</svg>"));
}

#[test]
fn linked_points_are_focusable_labelled_links_with_escaped_text() {
    let chart = Chart::new("curve", Axis::new("x"), Axis::new("y")).series(Series::linked_points(
        "thresholds",
        vec![(0.2, 0.1), (0.6, 0.3), (f64::NAN, 0.5)],
        vec![
            PointLink {
                href: "/s?t=0.9&x=1".into(),
                label: "Threshold 0.9 <b>".into(),
                current: false,
            },
            PointLink {
                href: "/s?t=0.5".into(),
                label: "Threshold 0.5".into(),
                current: true,
            },
            PointLink {
                href: "/nan".into(),
                label: "not drawn".into(),
                current: false,
            },
        ],
    ));
    let svg = chart.to_svg();
    assert!(
        svg.contains(r#"role="group""#),
        "links inside an img are hidden: {svg}"
    );
    assert_eq!(svg.matches("<a class=\"point\"").count(), 2, "{svg}");
    assert!(
        svg.contains(r#"href="/s?t=0.9&amp;x=1" aria-label="Threshold 0.9 &lt;b&gt;">"#),
        "{svg}"
    );
    assert!(
        svg.contains(r#"href="/s?t=0.5" aria-label="Threshold 0.5" aria-current="true">"#),
        "{svg}"
    );
    assert!(!svg.contains("/nan"));
    let plain = Chart::new("c", Axis::new("x"), Axis::new("y"))
        .series(Series::points("p", vec![(0.1, 0.2)]))
        .to_svg();
    assert!(plain.contains(r#"role="img""#) && !plain.contains("<a "));
}

#[test]
fn sparse_reliability_bins_merge_until_each_has_enough_items() {
    let bin = |confidence: f64, accuracy: f64, count: usize| ReliabilityBin {
        confidence,
        accuracy,
        count,
    };
    // 1 + 3 items merge into one bin of 4 (weighted), 5 stands, the lone 2 joins it.
    let merged = merge_sparse_bins(
        &[
            bin(0.1, 0.0, 1),
            bin(0.3, 1.0, 3),
            bin(0.6, 0.4, 5),
            bin(0.9, 1.0, 2),
        ],
        4,
    );
    assert_eq!(merged.len(), 2, "{merged:?}");
    assert_eq!(merged[0].count, 4);
    assert!((merged[0].confidence - 0.25).abs() < 1e-9 && (merged[0].accuracy - 0.75).abs() < 1e-9);
    assert_eq!(merged[1].count, 7);
    assert!((merged[1].accuracy - 4.0 / 7.0).abs() < 1e-9, "{merged:?}");
    assert!(merged.iter().all(|b| b.count >= 4));
    // Too few in all: no bins at all, not one bin of three.
    assert!(merge_sparse_bins(&[bin(0.5, 1.0, 3)], 4).is_empty());
}
