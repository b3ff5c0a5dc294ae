//! A small line-chart writer: lines, shaded bands (p10–p90), axes with round ticks, a legend,
//! as SVG ([`Chart::to_svg`], plain text) and as PNG ([`Chart::to_png`]).
//!
//! Both share one layout ([`Frame`]). The PNG is rasterised by plotters' bitmap backend (lines
//! and shaded polygons only: no font machinery, no system fonts) at twice the SVG's size, its
//! labels are drawn from the public-domain 8×8 bitmap font of the `font8x8` crate, and it is
//! encoded by the `png` crate. Nothing reads the clock or the machine's fonts, so the same data
//! gives the same bytes in both formats.

use std::fmt::Write as _;

use plotters::backend::RGBPixel;
use plotters::prelude::{
    BitMapBackend, Color as _, IntoDrawingArea as _, PathElement, Polygon, RGBColor, Rectangle,
    ShapeStyle,
};

use crate::error::{Result, SimError};

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
/// The same palette as RGB, for PNG.
const PALETTE_RGB: [(u8, u8, u8); 8] = [
    (0x1f, 0x77, 0xb4),
    (0xd6, 0x27, 0x28),
    (0x2c, 0xa0, 0x2c),
    (0xff, 0x7f, 0x0e),
    (0x94, 0x67, 0xbd),
    (0x8c, 0x56, 0x4b),
    (0xe3, 0x77, 0xc2),
    (0x17, 0xbe, 0xcf),
];
/// PNG pixels per SVG unit.
const PNG_SCALE: f64 = 2.0;

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

/// Where the plot sits and how data maps onto it, shared by the SVG and PNG renderers.
struct Frame {
    x_min: f64,
    x_max: f64,
    y_min: f64,
    y_max: f64,
}

impl Frame {
    const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
    const PLOT_H: f64 = HEIGHT - TOP - BOTTOM;

    /// Ranges covering every finite point of the chart (y always includes 0).
    fn of(chart: &Chart) -> Frame {
        let xs = chart
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .chain(
                chart
                    .bands
                    .iter()
                    .flat_map(|b| b.points.iter().map(|p| p.0)),
            );
        let ys = chart
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .chain(
                chart
                    .bands
                    .iter()
                    .flat_map(|b| b.points.iter().flat_map(|p| [p.1, p.2])),
            );
        let (mut x_min, mut x_max) = (f64::INFINITY, f64::NEG_INFINITY);
        for x in xs.filter(|v| v.is_finite()) {
            x_min = x_min.min(x);
            x_max = x_max.max(x);
        }
        let (mut y_min, mut y_max) = (0.0f64, f64::NEG_INFINITY);
        for y in ys.filter(|v| v.is_finite()) {
            y_min = y_min.min(y);
            y_max = y_max.max(y);
        }
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
        Frame {
            x_min,
            x_max,
            y_min,
            y_max,
        }
    }

    /// Horizontal position of `x`, in SVG units.
    fn sx(&self, x: f64) -> f64 {
        LEFT + (x - self.x_min) / (self.x_max - self.x_min) * Self::PLOT_W
    }

    /// Vertical position of `y`, in SVG units (values outside the range are clamped).
    fn sy(&self, y: f64) -> f64 {
        TOP + Self::PLOT_H
            - (y.clamp(self.y_min, self.y_max) - self.y_min) / (self.y_max - self.y_min)
                * Self::PLOT_H
    }
}

impl Chart {
    /// The chart as an SVG document.
    pub fn to_svg(&self) -> String {
        let frame = Frame::of(self);
        let (x_min, x_max, y_min, y_max) = (frame.x_min, frame.x_max, frame.y_min, frame.y_max);
        let plot_w = Frame::PLOT_W;
        let plot_h = Frame::PLOT_H;
        let sx = |x: f64| frame.sx(x);
        let sy = |y: f64| frame.sy(y);

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

impl Chart {
    /// The chart as a PNG image, twice the SVG's size, with the same layout, lines, bands,
    /// ticks, legend and labels (drawn in an 8×8 bitmap font; characters outside ASCII are
    /// replaced by their nearest ASCII look-alike).
    pub fn to_png(&self) -> Result<Vec<u8>> {
        let fail = |reason: String| SimError::Chart {
            title: self.title.clone(),
            reason,
        };
        let width = (WIDTH * PNG_SCALE) as u32;
        let height = (HEIGHT * PNG_SCALE) as u32;
        let mut pixels = vec![255u8; width as usize * height as usize * 3];
        let frame = Frame::of(self);
        let at = |x: f64, y: f64| {
            (
                libm::round(x * PNG_SCALE) as i32,
                libm::round(y * PNG_SCALE) as i32,
            )
        };
        let grid = ShapeStyle {
            color: RGBColor(0xe5, 0xe5, 0xe5).to_rgba(),
            filled: false,
            stroke_width: 1,
        };
        let axis = ShapeStyle {
            color: RGBColor(0x99, 0x99, 0x99).to_rgba(),
            filled: false,
            stroke_width: 2,
        };
        let colour = |index: usize| {
            let (r, g, b) = PALETTE_RGB[index % PALETTE_RGB.len()];
            RGBColor(r, g, b)
        };
        let (plot_right, plot_bottom) = (LEFT + Frame::PLOT_W, TOP + Frame::PLOT_H);
        let y_ticks = ticks(frame.y_min, frame.y_max);
        let x_ticks = ticks(frame.x_min, frame.x_max);
        let mut legend = Vec::new();
        {
            let backend =
                BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut pixels, (width, height))
                    .map_err(|e| fail(e.to_string()))?;
            let area = backend.into_drawing_area();
            let draw = |result: std::result::Result<(), _>| {
                result.map_err(|e: plotters::drawing::DrawingAreaErrorKind<_>| fail(e.to_string()))
            };
            for tick in &y_ticks {
                let y = frame.sy(*tick);
                draw(area.draw(&PathElement::new(
                    vec![at(LEFT, y), at(plot_right, y)],
                    grid,
                )))?;
            }
            for tick in &x_ticks {
                let x = frame.sx(*tick);
                draw(area.draw(&PathElement::new(
                    vec![at(x, plot_bottom), at(x, plot_bottom + 5.0)],
                    axis,
                )))?;
            }
            for band in &self.bands {
                let points = thin(&band.points);
                let outline: Vec<(i32, i32)> = points
                    .iter()
                    .map(|(x, _, high)| at(frame.sx(*x), frame.sy(*high)))
                    .chain(
                        points
                            .iter()
                            .rev()
                            .map(|(x, low, _)| at(frame.sx(*x), frame.sy(*low))),
                    )
                    .collect();
                if outline.len() >= 3 {
                    draw(area.draw(&Polygon::new(
                        outline,
                        colour(band.colour).mix(0.18).filled(),
                    )))?;
                }
            }
            for (index, series) in self.series.iter().enumerate() {
                let line: Vec<(i32, i32)> = thin(&series.points)
                    .iter()
                    .filter(|(x, y)| x.is_finite() && y.is_finite())
                    .map(|(x, y)| at(frame.sx(*x), frame.sy(*y)))
                    .collect();
                draw(area.draw(&PathElement::new(
                    line,
                    ShapeStyle {
                        color: colour(index).to_rgba(),
                        filled: false,
                        stroke_width: 3,
                    },
                )))?;
            }
            draw(area.draw(&Rectangle::new(
                [at(LEFT, TOP), at(plot_right, plot_bottom)],
                axis,
            )))?;
            let entries = self
                .series
                .iter()
                .enumerate()
                .map(|(i, s)| (i, s.name.as_str(), 1.0))
                .chain(self.bands.iter().map(|b| (b.colour, b.name.as_str(), 0.25)));
            let mut legend_y = TOP + 14.0;
            for (index, name, opacity) in entries {
                if name.is_empty() {
                    continue;
                }
                draw(area.draw(&Rectangle::new(
                    [at(LEFT + 10.0, legend_y - 8.0), at(LEFT + 24.0, legend_y)],
                    colour(index).mix(opacity).filled(),
                )))?;
                legend.push((LEFT + 30.0, legend_y, name));
                legend_y += 16.0;
            }
            draw(area.present())?;
        }
        let mut canvas = Canvas {
            pixels: &mut pixels,
            width,
            height,
        };
        let ink = (0x22, 0x22, 0x22);
        canvas.text(LEFT, 24.0, &self.title, 3, Anchor::Start, ink, true);
        for tick in &y_ticks {
            let y = frame.sy(*tick);
            canvas.text(
                LEFT - 6.0,
                y + 4.0,
                &compact(*tick),
                2,
                Anchor::End,
                ink,
                false,
            );
        }
        for tick in &x_ticks {
            let x = frame.sx(*tick);
            let label = compact(*tick);
            canvas.text(x, plot_bottom + 18.0, &label, 2, Anchor::Middle, ink, false);
        }
        let middle_x = LEFT + Frame::PLOT_W / 2.0;
        canvas.text(
            middle_x,
            HEIGHT - 12.0,
            &self.x_label,
            2,
            Anchor::Middle,
            ink,
            false,
        );
        canvas.text_upwards(20.0, TOP + Frame::PLOT_H / 2.0, &self.y_label, 2, ink);
        for (x, y, name) in legend {
            canvas.text(x, y, name, 2, Anchor::Start, ink, false);
        }

        let mut bytes = Vec::new();
        let mut encoder = png::Encoder::new(&mut bytes, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().map_err(|e| fail(e.to_string()))?;
        writer
            .write_image_data(&pixels)
            .map_err(|e| fail(e.to_string()))?;
        writer.finish().map_err(|e| fail(e.to_string()))?;
        Ok(bytes)
    }
}

/// Horizontal alignment of a label on its anchor point.
#[derive(Clone, Copy)]
enum Anchor {
    Start,
    Middle,
    End,
}

/// Pixels of a finished PNG image, for drawing labels.
struct Canvas<'a> {
    pixels: &'a mut [u8],
    width: u32,
    height: u32,
}

/// Pixels per glyph side in the bitmap font.
const GLYPH: i64 = 8;

/// The 8×8 bitmap of a character (row by row, bit 0 leftmost).
fn glyph(c: char) -> [u8; 8] {
    let ascii = match c {
        '–' | '—' | '−' => '-',
        '×' => 'x',
        '÷' => '/',
        '≥' => '>',
        '≤' => '<',
        '…' => '.',
        c if c.is_ascii() && !c.is_ascii_control() => c,
        _ => '?',
    };
    font8x8::legacy::BASIC_LEGACY
        .get(ascii as usize)
        .copied()
        .unwrap_or([0; 8])
}

impl Canvas<'_> {
    fn put(&mut self, x: i64, y: i64, (r, g, b): (u8, u8, u8)) {
        if x < 0 || y < 0 || x >= i64::from(self.width) || y >= i64::from(self.height) {
            return;
        }
        let index = (y as usize * self.width as usize + x as usize) * 3;
        if let Some(pixel) = self.pixels.get_mut(index..index + 3) {
            pixel.copy_from_slice(&[r, g, b]);
        }
    }

    /// Draw `text` with its baseline at `(x, y)` (SVG units), `scale` PNG pixels per font
    /// pixel; `bold` strikes it twice, one pixel apart.
    #[allow(clippy::too_many_arguments)]
    fn text(
        &mut self,
        x: f64,
        y: f64,
        text: &str,
        scale: i64,
        anchor: Anchor,
        colour: (u8, u8, u8),
        bold: bool,
    ) {
        let advance = GLYPH * scale;
        let width = text.chars().count() as i64 * advance;
        let anchor_x = libm::round(x * PNG_SCALE) as i64;
        let left = match anchor {
            Anchor::Start => anchor_x,
            Anchor::Middle => anchor_x - width / 2,
            Anchor::End => anchor_x - width,
        };
        // The font's baseline is under its seventh row.
        let top = libm::round(y * PNG_SCALE) as i64 - 7 * scale;
        for (index, c) in text.chars().enumerate() {
            let origin = left + index as i64 * advance;
            for (row, bits) in glyph(c).iter().enumerate() {
                for column in 0..GLYPH {
                    if bits & (1 << column) == 0 {
                        continue;
                    }
                    for dy in 0..scale {
                        for dx in 0..scale + i64::from(bold) {
                            let px = origin + column * scale + dx;
                            self.put(px, top + row as i64 * scale + dy, colour);
                        }
                    }
                }
            }
        }
    }

    /// Draw `text` reading upwards (an axis label), centred on `(x, y)` (SVG units).
    fn text_upwards(&mut self, x: f64, y: f64, text: &str, scale: i64, colour: (u8, u8, u8)) {
        let advance = GLYPH * scale;
        let length = text.chars().count() as i64 * advance;
        let centre_x = libm::round(x * PNG_SCALE) as i64;
        let bottom = libm::round(y * PNG_SCALE) as i64 + length / 2;
        // Rotated a quarter turn anticlockwise: the font's rows run left to right.
        let left = centre_x - 4 * scale;
        for (index, c) in text.chars().enumerate() {
            let origin = bottom - index as i64 * advance;
            for (row, bits) in glyph(c).iter().enumerate() {
                for column in 0..GLYPH {
                    if bits & (1 << column) == 0 {
                        continue;
                    }
                    for dy in 0..scale {
                        for dx in 0..scale {
                            let px = left + row as i64 * scale + dx;
                            let py = origin - column * scale - dy;
                            self.put(px, py, colour);
                        }
                    }
                }
            }
        }
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

    #[test]
    fn a_chart_is_a_png_of_twice_its_size_with_ink_where_the_line_runs() {
        let chart = Chart {
            title: "Operators (median, p10–p90)".into(),
            x_label: "day".into(),
            y_label: "operators".into(),
            series: vec![Series {
                name: "median".into(),
                points: (0..=100).map(|i| (f64::from(i), 50.0)).collect(),
            }],
            bands: vec![Band {
                name: "p10–p90".into(),
                points: (0..=100).map(|i| (f64::from(i), 40.0, 60.0)).collect(),
                colour: 0,
            }],
        };
        let png = chart.to_png().unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(png.as_slice()));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!((info.width, info.height), (1720, 840));
        let frame = Frame::of(&chart);
        let pixel = |x: f64, y: f64| {
            let (x, y) = ((x * PNG_SCALE) as usize, (y * PNG_SCALE) as usize);
            let i = (y * info.width as usize + x) * 3;
            (pixels[i], pixels[i + 1], pixels[i + 2])
        };
        // The median line is drawn in the first colour; the band around it is a light tint of
        // it; far above the band the plot is white.
        assert_eq!(pixel(frame.sx(50.0), frame.sy(50.0)), PALETTE_RGB[0]);
        let (r, g, b) = pixel(frame.sx(50.0), frame.sy(45.0));
        assert!(r > 200 && g > 200 && b > 200 && (r, g, b) != (255, 255, 255));
        assert_eq!(pixel(frame.sx(50.0), frame.sy(5.0)), (255, 255, 255));
        // Labels leave ink: the title's row has dark pixels.
        let title_row = (24.0 - 4.0) * PNG_SCALE;
        let dark = (0..info.width as usize)
            .filter(|x| pixels[(title_row as usize * info.width as usize + x) * 3] < 0x40)
            .count();
        assert!(dark > 20, "{dark} dark pixels in the title row");
        // Same chart, same bytes.
        assert_eq!(chart.to_png().unwrap(), chart.to_png().unwrap());
    }
}
