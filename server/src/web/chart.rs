//! Charts as SVG, drawn by plotters' SVG backend. The SVG is inlined in
//! the page; its colours come from the stylesheet where it matters
//! (text), so both themes read well.

use chrono::{Duration, NaiveDate};
use plotters::prelude::*;

/// A compliance trend: one point per day that has a figure, over the
/// `days` before `end` (inclusive), on a 0–100 % axis.
pub fn trend(points: &[(NaiveDate, f64)], end: NaiveDate, days: i64) -> Result<String, String> {
    let start = end - Duration::days(days);
    let shown: Vec<(i64, f64)> = points
        .iter()
        .filter(|(d, _)| *d >= start && *d <= end)
        .map(|(d, v)| ((*d - start).num_days(), v.clamp(0.0, 100.0)))
        .collect();
    let mut svg = String::new();
    {
        let e = |e: DrawingAreaErrorKind<_>| format!("drawing the trend chart: {e}");
        let root = SVGBackend::with_string(&mut svg, (760, 240)).into_drawing_area();
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(26)
            .y_label_area_size(44)
            .build_cartesian_2d(0i64..days, 0f64..100f64)
            .map_err(e)?;
        let label = |x: &i64| (start + Duration::days(*x)).format("%m-%d").to_string();
        chart
            .configure_mesh()
            .x_labels(7)
            .y_labels(6)
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(128, 128, 128).mix(0.3))
            .axis_style(RGBColor(128, 128, 128))
            .x_label_formatter(&label)
            .y_label_formatter(&|y| format!("{y:.0} %"))
            .draw()
            .map_err(e)?;
        let blue = RGBColor(31, 111, 235);
        chart
            .draw_series(LineSeries::new(shown.iter().copied(), blue.stroke_width(2)))
            .map_err(e)?;
        chart
            .draw_series(shown.iter().map(|&p| Circle::new(p, 3, blue.filled())))
            .map_err(e)?;
        root.present().map_err(e)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trend_is_an_svg_with_its_points_and_no_inline_style() {
        let end = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let pts = [
            (end - Duration::days(40), 50.0),
            (end - Duration::days(2), 80.0),
            (end, 90.0),
        ];
        let svg = trend(&pts, end, 30).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert_eq!(svg.matches("<circle").count(), 2, "{svg}");
        // The page's CSP allows no inline style.
        assert!(!svg.contains("style="), "{svg}");
    }
}
