//! Timeline pictures for the HTML report, as standalone SVG text: stage swimlanes and an
//! exchange waterfall. Both use the shared [`TimeAxis`], so long idle gaps are compressed
//! and drawn as breaks. Every text is escaped: hosts and paths come from the capture.

use crate::model::{Analysis, ConnId, ExchId, Notes, Outcome, Ts};
use crate::presentation::lanes::{collect_lanes, exchange_summary, Key, LaneItem, Lanes};
use crate::presentation::timeline::{axis_for, time_range};
use crate::presentation::timeline::{exchange_span, human_duration, Span, TimeAxis};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

const WIDTH: f64 = 1200.0;
const FONT: &str = "font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"11\"";
/// The waterfall draws at most this many rows; a report on a huge capture stays openable.
pub const WATERFALL_MAX_ROWS: usize = 2000;

/// Escapes text for XML / HTML content and attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0 text.
            c if c.is_control() && !matches!(c, '\n' | '\t') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Fill colour of an outcome (same meaning as the terminal theme: green ok, red fail …).
pub fn outcome_color(o: Outcome) -> &'static str {
    match o {
        Outcome::Ok => "#2e9d4a",
        Outcome::Challenge => "#1b9fb5",
        Outcome::Redirect => "#3b64d8",
        Outcome::Fail => "#d33c2e",
        Outcome::Noise => "#a0a0a0",
        Outcome::Unknown => "#9a6fc0",
    }
}

/// A stable colour per connection, so that reuse shows as bars of one colour.
pub fn connection_color(c: ConnId) -> &'static str {
    const PALETTE: [&str; 12] = [
        "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#a0cbe8", "#76b7b2", "#edc948", "#9c755f",
        "#d4a6c8", "#2f4b7c", "#8cd17d", "#b6992d",
    ];
    PALETTE[c.0 as usize % PALETTE.len()]
}

/// Shortens text to `max` characters, with an ellipsis when cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Maps instants to x pixels over the plot area, with compressed gaps.
struct Scale {
    axis: TimeAxis,
    x0: f64,
    width: f64,
}

impl Scale {
    fn new(spans: &[Span], x0: f64, width: f64) -> Scale {
        Scale {
            axis: axis_for(spans),
            x0,
            width,
        }
    }
    fn x(&self, t: Ts) -> f64 {
        let total = self.axis.total().max(1.0);
        self.x0 + self.axis.position(t) / total * self.width
    }
    fn x_virtual(&self, pos: f64) -> f64 {
        self.x0 + pos / self.axis.total().max(1.0) * self.width
    }

    /// Tick marks at round times (seconds since `origin`, the report's start), skipping the
    /// compressed gaps, plus the breaks, from `top` to `bottom`.
    fn draw_axis(&self, out: &mut String, top: f64, bottom: f64, origin: Ts) {
        let (Some(start), Some(end)) = (self.axis.start(), self.axis.end()) else {
            return;
        };
        let _ = writeln!(
            out,
            r##"<line x1="{:.1}" y1="{bottom:.1}" x2="{:.1}" y2="{bottom:.1}" stroke="#888"/>"##,
            self.x0,
            self.x0 + self.width
        );
        let step = nice_step(self.axis.total() / 8.0);
        let decimals = match step {
            s if s >= 1_000_000_000 => 0,
            s if s >= 100_000_000 => 1,
            s if s >= 10_000_000 => 2,
            _ => 3,
        };
        // In i128: instants far apart (a date clamped to the range of Ts) overflow i64; an
        // aligned tick past the range ends the loop below.
        let align = |t: i64| -> i64 {
            let (origin, step) = (i128::from(origin.0), i128::from(step));
            let rel = i128::from(t) - origin;
            let aligned = origin
                + rel.div_euclid(step) * step
                + if rel.rem_euclid(step) == 0 { 0 } else { step };
            i64::try_from(aligned).unwrap_or(i64::MAX)
        };
        let mut t = align(start.0);
        let mut last_x = f64::MIN;
        // Bounded: at most a few ticks per segment, however long the capture.
        for _ in 0..2_000 {
            if t > end.0 {
                break;
            }
            let pos = self.axis.position(Ts(t));
            match self.axis.instant(pos) {
                // Inside a compressed gap: go on from the next busy segment.
                Some(back) if back.0 > t.saturating_add(step / 100) => {
                    t = align(back.0);
                    continue;
                }
                _ => {}
            }
            let x = self.x_virtual(pos);
            if x - last_x >= 56.0 {
                last_x = x;
                let label = format!("{:.*} s", decimals, Ts(t).secs_since(origin));
                let _ = writeln!(
                    out,
                    r##"<line x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="#e4e4e4"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#555">{}</text>"##,
                    bottom + 14.0,
                    xml_escape(&label)
                );
            }
            let Some(next) = t.checked_add(step) else {
                break;
            };
            t = next;
        }
        for b in self.axis.breaks() {
            let x = self.x_virtual(b.at);
            let _ = writeln!(
                out,
                r##"<g class="break"><line x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="#999" stroke-dasharray="3 3"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#777" font-size="9">{} idle</text><title>{} without traffic left out</title></g>"##,
                top - 3.0,
                xml_escape(&format!("≈{}", human_duration(b.skipped_ns))),
                xml_escape(&human_duration(b.skipped_ns)),
            );
        }
    }
}

/// A round step (1, 2 or 5 × 10^n nanoseconds, at least 1 µs) near `ns`.
fn nice_step(ns: f64) -> i64 {
    let ns = ns.max(1_000.0);
    let mag = 10f64.powf(ns.log10().floor());
    let f = ns / mag;
    let m = if f < 1.5 {
        1.0
    } else if f < 3.5 {
        2.0
    } else if f < 7.5 {
        5.0
    } else {
        10.0
    };
    (m * mag).min(i64::MAX as f64 / 4.0) as i64
}

fn svg_open(out: &mut String, height: f64, label: &str) {
    let _ = writeln!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" role="img" aria-label="{}" {FONT}>"##,
        xml_escape(label)
    );
    let _ = writeln!(
        out,
        r##"<rect x="0" y="0" width="{WIDTH}" height="{height:.0}" fill="#ffffff"/>"##
    );
}

fn empty_svg(label: &str, message: &str) -> String {
    let mut out = String::new();
    svg_open(&mut out, 40.0, label);
    let _ = writeln!(
        out,
        r##"<text x="10" y="24" fill="#555">{}</text></svg>"##,
        xml_escape(message)
    );
    out
}

/// Stage swimlanes: one lane per stage (the analysis's stage order, then `unrelated`), with
/// the exchanges of `scope`, the DNS lookups they (or the whole capture, when `scope` is
/// everything) depend on, and the connection attempts that carried no HTTP.
pub fn swimlanes_svg(a: &Analysis, scope: &[ExchId]) -> String {
    const LABEL: &str = "Stage swimlanes";
    let Lanes { lanes, items } = collect_lanes(a, scope);
    if items.is_empty() {
        return empty_svg(LABEL, "No timed exchanges or DNS lookups to show.");
    }
    let origin = time_range(a).map_or(Ts(0), |r| r.0);
    draw_lanes(LABEL, &lanes, &items, origin)
}

fn draw_lanes(
    title: &str,
    lanes: &[(String, String, bool)],
    items: &[LaneItem],
    origin: Ts,
) -> String {
    let label_w = 220.0;
    let plot_w = WIDTH - label_w - 20.0;
    let spans: Vec<Span> = items.iter().map(|i| i.span).collect();
    let scale = Scale::new(&spans, label_w, plot_w);

    // Pack each lane's items into sub-rows so that overlapping bars stay visible.
    const SUB_MAX: usize = 6;
    const BAR_H: f64 = 10.0;
    const SUB_H: f64 = 13.0;
    let mut by_lane: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, it) in items.iter().enumerate() {
        by_lane.entry(it.lane.as_str()).or_default().push(i);
    }
    let top = 24.0;
    let mut y = top;
    let mut body = String::new();
    for (lane_idx, (id, label, milestone)) in lanes.iter().enumerate() {
        let mut idx = by_lane.remove(id.as_str()).unwrap_or_default();
        idx.sort_by_key(|&i| items[i].span.start);
        let mut row_end: Vec<f64> = Vec::new();
        let mut placed: Vec<(usize, usize)> = Vec::with_capacity(idx.len());
        for i in idx {
            let x = scale.x(items[i].span.start);
            let end = scale.x(items[i].span.end).max(x + 3.0);
            let row = match row_end.iter().position(|&e| e + 1.0 <= x) {
                Some(r) => r,
                None if row_end.len() < SUB_MAX => {
                    row_end.push(f64::MIN);
                    row_end.len() - 1
                }
                None => row_end
                    .iter()
                    .enumerate()
                    .min_by(|p, q| p.1.total_cmp(q.1))
                    .map_or(0, |(r, _)| r),
            };
            if let Some(e) = row_end.get_mut(row) {
                *e = e.max(end);
            }
            placed.push((i, row));
        }
        let rows = row_end.len().max(1);
        let lane_h = rows as f64 * SUB_H + 8.0;
        let fill = if lane_idx % 2 == 0 {
            "#f6f7f9"
        } else {
            "#ffffff"
        };
        let _ = writeln!(
            body,
            r##"<g class="lane" data-stage="{}"><rect x="0" y="{y:.1}" width="{WIDTH}" height="{lane_h:.1}" fill="{fill}"/><text x="6" y="{:.1}" fill="#222"{}>{}</text><title>{}</title></g>"##,
            xml_escape(id),
            y + 14.0,
            if *milestone {
                r#" font-weight="bold""#
            } else {
                ""
            },
            xml_escape(&clip(id, 32)),
            xml_escape(label),
        );
        for (i, row) in placed {
            let it = &items[i];
            let x = scale.x(it.span.start);
            let w = (scale.x(it.span.end) - x).max(3.0);
            let by = y + 4.0 + row as f64 * SUB_H;
            let color = outcome_color(it.outcome);
            let (open, close, style) = match it.key {
                Key::Exchange(id) => (format!(r##"<a href="#x{}">"##, id.0), "</a>", String::new()),
                Key::Dns(_) => (
                    String::new(),
                    "",
                    r##" fill-opacity="0.55" stroke="#333" stroke-width="0.6""##.to_string(),
                ),
                Key::Connection(_) => (
                    String::new(),
                    "",
                    r##" fill-opacity="0.35" stroke-dasharray="2 2" stroke="#333""##.to_string(),
                ),
            };
            let _ = write!(
                body,
                r##"{open}<rect class="item" x="{x:.1}" y="{by:.1}" width="{w:.1}" height="{BAR_H}" rx="2" fill="{color}"{style}><title>{}</title></rect>"##,
                xml_escape(&it.title)
            );
            if let Some(fb) = it
                .span
                .first_byte
                .filter(|_| matches!(it.key, Key::Exchange(_)))
            {
                let fx = scale.x(fb);
                let _ = write!(
                    body,
                    r##"<line x1="{fx:.1}" y1="{by:.1}" x2="{fx:.1}" y2="{:.1}" stroke="#111" stroke-width="1"/>"##,
                    by + BAR_H
                );
            }
            let _ = writeln!(body, "{close}");
        }
        y += lane_h;
    }
    let plot_bottom = y;
    let legend_y = plot_bottom + 34.0;
    let height = legend_y + 16.0;
    let mut out = String::with_capacity(body.len() + 4096);
    svg_open(&mut out, height, title);
    let _ = writeln!(
        out,
        r##"<text x="6" y="15" font-weight="bold" fill="#222">Stages over time</text>"##
    );
    out.push_str(&body);
    scale.draw_axis(&mut out, top, plot_bottom, origin);
    legend(&mut out, legend_y);
    out.push_str("</svg>\n");
    out
}

fn legend(out: &mut String, y: f64) {
    let mut x = 10.0;
    for o in [
        Outcome::Ok,
        Outcome::Challenge,
        Outcome::Redirect,
        Outcome::Fail,
        Outcome::Noise,
        Outcome::Unknown,
    ] {
        let _ = write!(
            out,
            r##"<rect x="{x:.1}" y="{:.1}" width="12" height="10" fill="{}"/><text x="{:.1}" y="{y:.1}" fill="#333">{}</text>"##,
            y - 9.0,
            outcome_color(o),
            x + 16.0,
            o.as_str()
        );
        x += 90.0;
    }
    let _ = writeln!(
        out,
        r##"<rect x="{x:.1}" y="{:.1}" width="12" height="10" fill="#888" fill-opacity="0.55" stroke="#333" stroke-width="0.6"/><text x="{:.1}" y="{y:.1}" fill="#333">DNS lookup</text><rect x="{:.1}" y="{:.1}" width="12" height="10" fill="#888" fill-opacity="0.35" stroke="#333" stroke-dasharray="2 2"/><text x="{:.1}" y="{y:.1}" fill="#333">connection without HTTP</text><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#111"/><text x="{:.1}" y="{y:.1}" fill="#333">first response byte</text>"##,
        y - 9.0,
        x + 16.0,
        x + 110.0,
        y - 9.0,
        x + 126.0,
        x + 300.0,
        y - 10.0,
        x + 300.0,
        y + 1.0,
        x + 306.0,
    );
}

/// Waterfall: one row per exchange of `scope` (in that order, at most
/// [`WATERFALL_MAX_ROWS`]), a bar from request start to response end split into sending,
/// waiting and receiving in its outcome's colour, a tick at the first response byte, the
/// connection's badge, and the connection set-up before the first exchange of each connection.
pub fn waterfall_svg(a: &Analysis, scope: &[ExchId], notes: &Notes) -> String {
    const LABEL: &str = "Exchange waterfall";
    let rows: Vec<ExchId> = scope
        .iter()
        .copied()
        .filter(|id| (id.0 as usize) < a.exchanges.len())
        .take(WATERFALL_MAX_ROWS)
        .collect();
    if rows.is_empty() {
        return empty_svg(LABEL, "No exchanges to show.");
    }
    // The instant each row's connection was opened, for the first exchange on it.
    let connect_start = |id: ExchId| -> Option<Ts> {
        let x = a.exchanges.get(id.0 as usize)?;
        let c = a.connections.get(x.connection.0 as usize)?;
        let first_on_conn = c.exchanges.first() == Some(&id);
        let start = x.timing.first()?.ts;
        (first_on_conn && c.handshake && c.first_seen < start).then_some(c.first_seen)
    };
    let mut spans: Vec<Span> = Vec::new();
    for id in &rows {
        if let Some(s) = exchange_span(a.exchange(*id)) {
            let start = connect_start(*id).unwrap_or(s.start);
            spans.push(Span { start, ..s });
        }
    }
    if spans.is_empty() {
        return empty_svg(LABEL, "The exchanges have no timing.");
    }
    let label_w = 440.0;
    let plot_w = WIDTH - label_w - 20.0;
    let scale = Scale::new(&spans, label_w, plot_w);
    const ROW_H: f64 = 18.0;
    let top = 24.0;
    let mut body = String::new();
    let mut seen_conn: HashSet<ConnId> = HashSet::new();
    for (i, id) in rows.iter().enumerate() {
        let x = a.exchange(*id);
        let y = top + i as f64 * ROW_H;
        let conn_color = connection_color(x.connection);
        let new_conn = seen_conn.insert(x.connection);
        let star = if notes.is_marked(*id) { "★ " } else { "" };
        let status = x
            .response
            .as_ref()
            .map_or_else(|| "—".to_string(), |r| r.status.to_string());
        let what = match &x.request {
            Some(r) => {
                let url = a.request_url(x).map_or_else(
                    || r.target.clone(),
                    |v| {
                        v.url
                            .split_once("://")
                            .map_or(v.url.clone(), |(_, rest)| rest.to_string())
                    },
                );
                format!("{} {url}", r.method)
            }
            None => "(response only)".into(),
        };
        let label = clip(&format!("{star}#{} {what}", id.0), 58);
        let fill = if i % 2 == 0 { "#f6f7f9" } else { "#ffffff" };
        // A 401 leg the flow expects is not a failure; untagged errors are.
        let outcome = x.stage.as_deref().map(|t| t.outcome);
        let status_code = x.response.as_ref().map(|r| r.status);
        let failed = outcome == Some(Outcome::Fail)
            || (outcome.is_none_or(|o| o == Outcome::Unknown)
                && status_code.is_some_and(|s| s >= 400));
        let status_color = match outcome {
            _ if failed => "#c0392b",
            Some(Outcome::Challenge) => outcome_color(Outcome::Challenge),
            _ if status_code.is_none() => "#888",
            _ => "#333",
        };
        // The bar takes its outcome's colour, as in the swimlanes above it (the badge
        // beside the label tells the connection).
        let bar_color = outcome_color(if failed {
            Outcome::Fail
        } else {
            outcome.unwrap_or(Outcome::Unknown)
        });
        let mut tip = format!("#{} {}", id.0, exchange_summary(a, *id));
        if let Some(c) = notes.comment(*id) {
            tip.push_str("\ncomment: ");
            tip.push_str(c);
        }
        let _ = write!(
            body,
            r##"<a href="#x{}"><g class="row" data-exchange="{}"><rect x="0" y="{y:.1}" width="{WIDTH}" height="{ROW_H}" fill="{fill}"/><title>{}</title><text x="6" y="{:.1}" fill="#222">{}</text><text x="{:.1}" y="{:.1}" text-anchor="end" fill="{status_color}">{}</text><rect x="{:.1}" y="{:.1}" width="26" height="12" rx="3" fill="{conn_color}"{}/><text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#fff" font-size="9">C{}</text>"##,
            id.0,
            id.0,
            xml_escape(&tip),
            y + 13.0,
            xml_escape(&label),
            label_w - 36.0,
            y + 13.0,
            xml_escape(&status),
            label_w - 32.0,
            y + 3.0,
            if new_conn {
                ""
            } else {
                r#" fill-opacity="0.6""#
            },
            label_w - 19.0,
            y + 12.0,
            x.connection.0,
        );
        if let Some(span) = exchange_span(x) {
            let bar_y = y + 4.0;
            let bar_h = 10.0;
            if let Some(cs) = connect_start(*id) {
                let cx = scale.x(cs);
                let sx = scale.x(span.start);
                let _ = write!(
                    body,
                    r##"<line class="connect" x1="{cx:.1}" y1="{:.1}" x2="{sx:.1}" y2="{:.1}" stroke="{conn_color}" stroke-width="3" stroke-dasharray="4 2"><title>new connection C{}: opened {} before the request (TCP + TLS set-up)</title></line>"##,
                    bar_y + bar_h / 2.0,
                    bar_y + bar_h / 2.0,
                    x.connection.0,
                    xml_escape(&human_duration(span.start.0.saturating_sub(cs.0))),
                );
            }
            let t = &x.timing;
            let req_end = t.request_end().map_or(span.start, |a| a.ts).max(span.start);
            let first = span.first_byte.unwrap_or(span.end).max(req_end);
            let parts = [
                (span.start, req_end, "0.45", "sending"),
                (req_end, first, "0.7", "waiting"),
                (first, span.end, "1", "receiving"),
            ];
            for (s, e, opacity, what) in parts {
                if e <= s && what != "receiving" {
                    continue;
                }
                let sx = scale.x(s);
                let w = (scale.x(e) - sx).max(if what == "receiving" { 2.0 } else { 0.5 });
                let _ = write!(
                    body,
                    r##"<rect x="{sx:.1}" y="{bar_y:.1}" width="{w:.1}" height="{bar_h}" fill="{bar_color}" fill-opacity="{opacity}"><title>{what}: {}</title></rect>"##,
                    xml_escape(&human_duration(e.0.saturating_sub(s.0)))
                );
            }
            if failed {
                let sx = scale.x(span.start);
                let w = (scale.x(span.end) - sx).max(2.0);
                let _ = write!(
                    body,
                    r##"<rect x="{sx:.1}" y="{bar_y:.1}" width="{w:.1}" height="{bar_h}" fill="none" stroke="#c0392b" stroke-width="1.2"/>"##
                );
            }
            if let Some(fb) = span.first_byte {
                let fx = scale.x(fb);
                let _ = write!(
                    body,
                    r##"<line class="ttfb" x1="{fx:.1}" y1="{:.1}" x2="{fx:.1}" y2="{:.1}" stroke="#111" stroke-width="1.5"><title>first response byte after {}</title></line>"##,
                    bar_y - 2.0,
                    bar_y + bar_h + 2.0,
                    xml_escape(&human_duration(fb.0.saturating_sub(span.start.0))),
                );
            }
        }
        let _ = writeln!(body, "</g></a>");
    }
    let plot_bottom = top + rows.len() as f64 * ROW_H;
    let mut height = plot_bottom + 24.0;
    let cut = scope.len() > rows.len();
    if cut {
        height += 16.0;
    }
    let mut out = String::with_capacity(body.len() + 4096);
    svg_open(&mut out, height, LABEL);
    let _ = writeln!(
        out,
        r##"<text x="6" y="15" font-weight="bold" fill="#222">Exchanges over time (bar colour and label = connection; dashed = connection set-up; tick = first response byte)</text>"##
    );
    out.push_str(&body);
    let origin = time_range(a).map_or(Ts(0), |r| r.0);
    scale.draw_axis(&mut out, top, plot_bottom, origin);
    if cut {
        let _ = writeln!(
            out,
            r##"<text x="6" y="{:.1}" fill="#a33">Only the first {} of {} exchanges are drawn.</text>"##,
            height - 4.0,
            rows.len(),
            scope.len()
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_clipping() {
        assert_eq!(
            xml_escape("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(xml_escape("a\u{0}b"), "a\u{fffd}b");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }

    #[test]
    fn empty_analysis_draws_a_message() {
        let a = Analysis::default();
        let s = swimlanes_svg(&a, &[]);
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        let w = waterfall_svg(&a, &[], &Notes::default());
        assert!(w.contains("No exchanges"));
    }
}
