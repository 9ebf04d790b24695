//! SVG line plots (plotters): one line per series, e.g. SLA satisfaction against load,
//! optionally with a vertical error bar at each point (a 95 % interval over seeds).

use crate::error::{Error, Result};
use plotters::prelude::*;
use std::path::Path;

/// One plot line whose points carry a half-width: (x, y, half-width of y's interval).
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorSeries {
    /// The line's name in the legend.
    pub name: String,
    /// Its points; a half-width of 0 draws no bar.
    pub points: Vec<(f64, f64, f64)>,
}

/// Draws `series` (name, points) into an SVG file.
pub fn lines(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> Result<()> {
    let series: Vec<ErrorSeries> = series
        .iter()
        .map(|(name, points)| ErrorSeries {
            name: name.clone(),
            points: points.iter().map(|&(x, y)| (x, y, 0.0)).collect(),
        })
        .collect();
    lines_with_errors(path, title, x_label, y_label, &series)
}

/// Draws `series` into an SVG file, each point with a vertical bar from y − h to y + h
/// when its half-width h is positive (a plot without any is the one [`lines`] draws).
pub fn lines_with_errors(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[ErrorSeries],
) -> Result<()> {
    let err = |e: String| Error::Invalid(format!("{}: plot: {e}", path.display()));
    let all = || series.iter().flat_map(|s| s.points.iter().copied());
    let (x0, x1) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (x, ..)| {
        (a.min(x), b.max(x))
    });
    let (y0, y1) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (_, y, h)| {
        (a.min(y - h), b.max(y + h))
    });
    if !(x0.is_finite() && x1.is_finite() && y0.is_finite() && y1.is_finite()) {
        return Err(err("no points".into()));
    }
    let pad = |a: f64, b: f64| if b > a { (a, b) } else { (a - 1.0, b + 1.0) };
    let ((x0, x1), (y0, y1)) = (pad(x0, x1), pad(y0.min(0.0), y1));
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .build_cartesian_2d(x0..x1, y0..y1 * 1.02)
        .map_err(|e| err(e.to_string()))?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .draw()
        .map_err(|e| err(e.to_string()))?;
    for (i, s) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                s.points.iter().map(|&(x, y, _)| (x, y)),
                color.stroke_width(2),
            ))
            .map_err(|e| err(e.to_string()))?
            .label(s.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        chart
            .draw_series(
                s.points
                    .iter()
                    .map(|&(x, y, _)| Circle::new((x, y), 3, color.filled())),
            )
            .map_err(|e| err(e.to_string()))?;
        let bars = s.points.iter().filter(|p| p.2 > 0.0);
        if bars.clone().next().is_some() {
            chart
                .draw_series(bars.map(|&(x, y, h)| {
                    ErrorBar::new_vertical(x, y - h, y, y + h, color.stroke_width(1), 8)
                }))
                .map_err(|e| err(e.to_string()))?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(e.to_string()))?;
    root.present().map_err(|e| err(e.to_string()))
}
