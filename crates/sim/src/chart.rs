//! A small SVG line-chart writer: lines, shaded bands (p10–p90), axes with round ticks, a
//! legend. Enough for time series, with no dependencies; the output is plain text, so the same
//! data gives the same bytes.

use std::fmt::Write as _;

const WIDTH: f64 = 860.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 52.0;
/// Points per drawn line; longer series are thinned evenly.
const MAX_POINTS: usize = 1_200;
const PALETTE: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// A line.
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// `(x, y)` points in x order.
    pub points: Vec<(f64, f64)>,
}

/// A shaded range, drawn under the lines.
#[derive(Clone, Debug, Default)]
pub struct Band {
    /// Legend text.
    pub name: String,
    /// `(x, low, high)` in x order.
    pub points: Vec<(f64, f64, f64)>,
    /// Index into the palette (to match the band's median line).
    pub colour: usize,
}

/// A chart.
#[derive(Clone, Debug, Default)]
pub struct Chart {
    /// Title above the plot.
    pub title: String,
    /// The x axis' label.
    pub x_label: String,
    /// The y axis' label.
    pub y_label: String,
    /// Lines.
    pub series: Vec<Series>,
    /// Bands.
    pub bands: Vec<Band>,
}

fn thin<T: Copy>(points: &[T]) -> Vec<T> {
    if points.len() <= MAX_POINTS {
        return points.to_vec();
    }
    let stride = points.len().div_ceil(MAX_POINTS);
    let mut thinned: Vec<T> = points.iter().step_by(stride).copied().collect();
    if let Some(last) = points.last()
        && !(points.len() - 1).is_multiple_of(stride)
    {
        thinned.push(*last);
    }
    thinned
}

/// Round tick positions covering `[low, high]`.
fn ticks(low: f64, high: f64) -> Vec<f64> {
    let span = (high - low).max(f64::MIN_POSITIVE);
    let raw = span / 5.0;
    let magnitude = libm::pow(10.0, libm::floor(libm::log10(raw)));
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| span / s <= 6.0)
        .unwrap_or(10.0 * magnitude);
    let mut tick = libm::ceil(low / step) * step;
    let mut out = Vec::new();
    while tick <= high + step * 1e-9 && out.len() < 20 {
        out.push(tick);
        tick += step;
    }
    out
}

/// A compact number: 1.5k, 2.3M, 0.012.
pub fn compact(value: f64) -> String {
    let magnitude = value.abs();
    let (scaled, suffix) = if magnitude >= 1e12 {
        (value / 1e12, "T")
    } else if magnitude >= 1e9 {
        (value / 1e9, "B")
    } else if magnitude >= 1e6 {
        (value / 1e6, "M")
    } else if magnitude >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    let text = if scaled == 0.0 {
        "0".to_string()
    } else if scaled.abs() >= 100.0 || (suffix.is_empty() && scaled.fract() == 0.0) {
        format!("{scaled:.0}")
    } else if scaled.abs() >= 10.0 {
        format!("{scaled:.1}")
    } else if scaled.abs() >= 0.01 || !suffix.is_empty() {
        format!("{scaled:.2}")
    } else {
        format!("{scaled:.1e}")
    };
    format!("{text}{suffix}")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Chart {
    /// The chart as an SVG document.
    pub fn to_svg(&self) -> String {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for series in &self.series {
            for (x, y) in &series.points {
                xs.push(*x);
                ys.push(*y);
            }
        }
        for band in &self.bands {
            for (x, low, high) in &band.points {
                xs.push(*x);
                ys.push(*low);
                ys.push(*high);
            }
        }
        let finite = |v: &&f64| v.is_finite();
        let x_min = xs
            .iter()
            .filter(finite)
            .copied()
            .fold(f64::INFINITY, f64::min);
        let x_max = xs
            .iter()
            .filter(finite)
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let y_min = ys
            .iter()
            .filter(finite)
            .copied()
            .fold(f64::INFINITY, f64::min)
            .min(0.0);
        let y_max = ys
            .iter()
            .filter(finite)
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let (x_min, x_max) = if x_min.is_finite() && x_max > x_min {
            (x_min, x_max)
        } else {
            (0.0, 1.0)
        };
        let (y_min, y_max) = if y_max.is_finite() && y_max > y_min {
            (y_min, y_max * 1.05)
        } else {
            (0.0, 1.0)
        };
        let plot_w = WIDTH - LEFT - RIGHT;
        let plot_h = HEIGHT - TOP - BOTTOM;
        let sx = |x: f64| LEFT + (x - x_min) / (x_max - x_min) * plot_w;
        let sy = |y: f64| TOP + plot_h - (y.clamp(y_min, y_max) - y_min) / (y_max - y_min) * plot_h;

        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="24" font-size="15" font-weight="bold">{}</text>"#,
            LEFT,
            escape(&self.title)
        );
        for tick in ticks(y_min, y_max) {
            let y = sy(tick);
            let _ = writeln!(
                svg,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                WIDTH - RIGHT,
                LEFT - 6.0,
                y + 4.0,
                compact(tick)
            );
        }
        for tick in ticks(x_min, x_max) {
            let x = sx(tick);
            let _ = writeln!(
                svg,
                r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#999"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                TOP + plot_h,
                TOP + plot_h + 5.0,
                TOP + plot_h + 18.0,
                compact(tick)
            );
        }
        let _ = writeln!(
            svg,
            r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>"##
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            LEFT + plot_w / 2.0,
            HEIGHT - 12.0,
            escape(&self.x_label)
        );
        let _ = writeln!(
            svg,
            r#"<text x="16" y="{:.1}" text-anchor="middle" transform="rotate(-90 16 {:.1})">{}</text>"#,
            TOP + plot_h / 2.0,
            TOP + plot_h / 2.0,
            escape(&self.y_label)
        );
        for band in &self.bands {
            let points = thin(&band.points);
            if points.is_empty() {
                continue;
            }
            let mut path = String::new();
            for (x, _, high) in &points {
                let _ = write!(path, "{:.1},{:.1} ", sx(*x), sy(*high));
            }
            for (x, low, _) in points.iter().rev() {
                let _ = write!(path, "{:.1},{:.1} ", sx(*x), sy(*low));
            }
            let _ = writeln!(
                svg,
                r#"<polygon points="{}" fill="{}" fill-opacity="0.18" stroke="none"/>"#,
                path.trim_end(),
                PALETTE[band.colour % PALETTE.len()]
            );
        }
        for (index, series) in self.series.iter().enumerate() {
            let points = thin(&series.points);
            let mut path = String::new();
            for (x, y) in points
                .iter()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
            {
                let _ = write!(path, "{:.1},{:.1} ", sx(*x), sy(*y));
            }
            let _ = writeln!(
                svg,
                r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="1.6"/>"#,
                path.trim_end(),
                PALETTE[index % PALETTE.len()]
            );
        }
        let mut legend_y = TOP + 14.0;
        let entries = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| (i, s.name.as_str(), 1.0))
            .chain(self.bands.iter().map(|b| (b.colour, b.name.as_str(), 0.25)));
        for (colour, name, opacity) in entries {
            if name.is_empty() {
                continue;
            }
            let _ = writeln!(
                svg,
                r#"<rect x="{:.1}" y="{:.1}" width="14" height="8" fill="{}" fill-opacity="{opacity}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
                LEFT + 10.0,
                legend_y - 8.0,
                PALETTE[colour % PALETTE.len()],
                LEFT + 30.0,
                legend_y,
                escape(name)
            );
            legend_y += 16.0;
        }
        svg.push_str("</svg>\n");
        svg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 10.0), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let t = ticks(0.0, 1234.0);
        assert_eq!(t.first(), Some(&0.0));
        assert!(t.len() <= 7 && t.len() >= 4);
    }

    #[test]
    fn compact_numbers_read_well() {
        assert_eq!(compact(1_500.0), "1.50k");
        assert_eq!(compact(2_300_000.0), "2.30M");
        assert_eq!(compact(250.0), "250");
        assert_eq!(compact(0.5), "0.50");
        assert_eq!(compact(0.0), "0");
    }

    #[test]
    fn a_chart_is_well_formed_svg_with_its_series() {
        let chart = Chart {
            title: "Price <USD>".into(),
            series: vec![Series {
                name: "median".into(),
                points: (0..5000)
                    .map(|i| (f64::from(i), f64::from(i).sqrt()))
                    .collect(),
            }],
            bands: vec![Band {
                name: "p10–p90".into(),
                points: (0..10).map(|i| (f64::from(i), 0.0, 2.0)).collect(),
                colour: 0,
            }],
            ..Chart::default()
        };
        let svg = chart.to_svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("Price &lt;USD&gt;"));
        assert!(svg.contains("<polyline") && svg.contains("<polygon"));
    }
}
