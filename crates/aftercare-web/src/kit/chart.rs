//! Charts drawn on the server as inline SVG: no script, no library from a CDN, and each
//! bar a link to the records behind it.

use super::page::askama_escape as esc;
use std::fmt::Write;

const W: f64 = 640.0;
const H: f64 = 200.0;
/// Room for the axis labels under the plot.
const FOOT: f64 = 22.0;
const LEFT: f64 = 34.0;

/// One bar: its height, where it links and what it says when hovered.
pub struct Bar {
    pub value: f64,
    pub href: String,
    pub title: String,
    /// A CSS class naming its series (its colour).
    pub series: &'static str,
}

/// Bars side by side per label (a week or a month), from zero to the largest value.
pub fn bars(labels: &[String], groups: &[Vec<Bar>], aria: &str) -> String {
    let max = groups
        .iter()
        .flatten()
        .map(|b| b.value)
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let n = labels.len().max(1) as f64;
    let slot = (W - LEFT) / n;
    let mut s = open(aria);
    axis(&mut s, 0.0, max, labels, slot, |v| format!("{v:.0}"));
    for (i, group) in groups.iter().enumerate() {
        let per = group.len().max(1) as f64;
        let width = (slot * 0.8 / per).max(2.0);
        for (j, b) in group.iter().enumerate() {
            let h = (b.value / max * H).max(if b.value > 0.0 { 1.0 } else { 0.0 });
            let x = LEFT + slot * i as f64 + slot * 0.1 + width * j as f64;
            let _ = write!(
                s,
                "<a href=\"{href}\"><rect class=\"{class}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\"><title>{title}</title></rect></a>",
                href = esc(&b.href),
                class = b.series,
                y = H - h,
                w = width,
                title = esc(&b.title),
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// A line through the values between `min` and `max`; a missing value breaks the line.
pub fn line(labels: &[String], values: &[Option<f64>], min: f64, max: f64, aria: &str) -> String {
    let n = labels.len().max(1) as f64;
    let slot = (W - LEFT) / n;
    let span = (max - min).max(f64::EPSILON);
    let mut s = open(aria);
    axis(&mut s, min, max, labels, slot, |v| format!("{v:.0}"));
    let mut path = String::new();
    let mut pen_up = true;
    for (i, v) in values.iter().enumerate() {
        let x = LEFT + slot * (i as f64 + 0.5);
        match v {
            Some(v) => {
                let y = H - (v.clamp(min, max) - min) / span * H;
                let _ = write!(path, "{}{x:.1},{y:.1} ", if pen_up { "M" } else { "L" });
                let _ = write!(
                    s,
                    "<circle class=\"dot\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\"><title>{} {v}</title></circle>",
                    esc(&labels[i])
                );
                pen_up = false;
            }
            None => pen_up = true,
        }
    }
    let _ = write!(s, "<path class=\"line\" d=\"{}\"/></svg>", path.trim_end());
    s
}

fn open(aria: &str) -> String {
    format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} {}\" role=\"img\" aria-label=\"{}\" preserveAspectRatio=\"xMidYMid meet\">",
        H + FOOT,
        esc(aria)
    )
}

/// The baseline, the top value and the labels under the plot (every other one when
/// there are many).
fn axis(
    s: &mut String,
    min: f64,
    max: f64,
    labels: &[String],
    slot: f64,
    fmt: impl Fn(f64) -> String,
) {
    let _ = write!(
        s,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{H}\" x2=\"{W}\" y2=\"{H}\"/>\
         <text class=\"tick\" x=\"{}\" y=\"10\" text-anchor=\"end\">{}</text>\
         <text class=\"tick\" x=\"{}\" y=\"{H}\" text-anchor=\"end\">{}</text>",
        LEFT - 4.0,
        fmt(max),
        LEFT - 4.0,
        fmt(min),
    );
    let every = if labels.len() > 8 { 2 } else { 1 };
    for (i, l) in labels.iter().enumerate() {
        if i % every != 0 && i + 1 != labels.len() {
            continue;
        }
        let _ = write!(
            s,
            "<text class=\"tick\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            LEFT + slot * (i as f64 + 0.5),
            H + 16.0,
            esc(l)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_link_to_their_records_and_text_is_escaped() {
        let svg = bars(
            &["11/30".into()],
            &[vec![Bar {
                value: 3.0,
                href: "/requests?a=1&b=2".into(),
                title: "<3>".into(),
                series: "opened",
            }]],
            "chart",
        );
        assert!(svg.contains("href=\"/requests?a=1&amp;b=2\""));
        assert!(svg.contains("<title>&lt;3&gt;</title>"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn a_missing_value_breaks_the_line() {
        let svg = line(
            &["a".into(), "b".into(), "c".into()],
            &[Some(50.0), None, Some(100.0)],
            0.0,
            100.0,
            "x",
        );
        let d = svg.split("d=\"").nth(1).unwrap();
        assert_eq!(d.matches('M').count(), 2);
        assert!(!d.contains('L'));
    }
}
