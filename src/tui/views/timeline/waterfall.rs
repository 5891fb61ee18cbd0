//! The waterfall: one row per exchange in list order, a bar from request start to response
//! end on the shared (gap-compressed) time axis. Conventions of Fiddler's Timeline tab:
//! `░` while waiting for the first response byte, `█` while the
//! response arrives, `┄` for connection setup before a connection's first exchange, and the
//! connection's number as the reports and the list write it (`C3`), so that reuse shows.
//! HTTP/2 streams carry their stream id (`C0┬s1`), and consecutive rows of one multiplexed
//! connection are bracketed together (`┬ ├ └`) so that the overlapping bars read as one
//! connection's streams.
//!
//! ```text
//! ┌ Waterfall zoom 1× ─────────────────────────────────────────────────┐
//! │exchange                      │0s        │0.5s      ≈4.0 s   │5.0s   │
//! │ C0 #0 200 GET lyncdiscover.c…┄┄░░██ 120 ms                          │
//! │ C1 #1 401 GET webext-pool1.c…      ┄░█ 15 ms                        │
//! │ C1 #2 401 POST webext-pool1.…        ░█ 9 ms                        │
//! └────────────────────────────────────────────────────────────────────┘
//! ```

use super::axis::{column_slice, connect_span, draw_axis, PlotAxis, Window};
use super::canvas::{fit, put, put_str, restyle, scroll_to, selected_style};
use super::state::{TimelineInput, TimelineState};
use crate::model::{Analysis, ExchId, Exchange, Outcome};
use crate::presentation::timeline::{exchange_span, human_duration, TimeAxis};
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use std::collections::HashMap;

/// One row per shown exchange, positions precomputed.
pub(super) struct Rows {
    rows: Vec<Row>,
    /// Row index of each exchange (the first, should the list repeat one).
    index: HashMap<ExchId, usize>,
    /// Widest exchange number and connection name, so that labels line up in full.
    id_width: usize,
    conn_width: usize,
    /// Width of the stream column (`┬s29`), 0 when no row is an HTTP/2 stream.
    stream_width: usize,
}

#[derive(Debug, Clone, Copy)]
struct Row {
    id: ExchId,
    /// None for an exchange without timing.
    bar: Option<Bar>,
    /// The connection, numbered as everywhere else.
    conn: u32,
    /// The HTTP/2 stream id, and where the row sits in its connection's group of consecutive
    /// stream rows.
    stream: Option<(u32, Group)>,
}

/// The bracket of consecutive rows of one HTTP/2 connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    Alone,
    First,
    Middle,
    Last,
}

impl Group {
    fn glyph(self) -> &'static str {
        match self {
            Group::Alone => "─",
            Group::First => "┬",
            Group::Middle => "├",
            Group::Last => "└",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bar {
    start: f64,
    first_byte: Option<f64>,
    end: f64,
    /// Start of connection setup when this is the connection's first exchange.
    connect: Option<f64>,
    /// Real duration, for the label after the bar.
    duration_ns: i64,
}

impl Rows {
    pub(super) fn new(a: &Analysis, rows: &[ExchId], axis: &TimeAxis) -> Rows {
        let mut index = HashMap::with_capacity(rows.len());
        let mut out = Vec::with_capacity(rows.len());
        for &id in rows {
            let Some(x) = a.exchanges.get(id.0 as usize) else {
                continue;
            };
            let conn = x.connection.0;
            let bar = exchange_span(x).map(|s| Bar {
                start: axis.position(s.start),
                first_byte: s.first_byte.map(|t| axis.position(t)),
                end: axis.position(s.end),
                connect: connect_span(a, id).map(|c| axis.position(c.start)),
                duration_ns: s.end.0.saturating_sub(s.start.0),
            });
            index.entry(id).or_insert(out.len());
            let stream = x.stream.as_deref().map(|s| (s.id, Group::Alone));
            out.push(Row {
                id,
                bar,
                conn,
                stream,
            });
        }
        // Bracket runs of stream rows of the same connection.
        let same = |a: &Row, b: &Row| a.conn == b.conn && a.stream.is_some() && b.stream.is_some();
        for i in 0..out.len() {
            let before = i > 0 && same(&out[i - 1], &out[i]);
            let after = i + 1 < out.len() && same(&out[i], &out[i + 1]);
            if let Some((_, g)) = &mut out[i].stream {
                *g = match (before, after) {
                    (false, false) => Group::Alone,
                    (false, true) => Group::First,
                    (true, true) => Group::Middle,
                    (true, false) => Group::Last,
                };
            }
        }
        let digits = |n: u32| n.checked_ilog10().unwrap_or(0) as usize + 1;
        Rows {
            id_width: out.iter().map(|r| digits(r.id.0)).max().unwrap_or(1),
            conn_width: out.iter().map(|r| digits(r.conn)).max().unwrap_or(1) + 1,
            stream_width: out
                .iter()
                .filter_map(|r| r.stream.map(|(s, _)| digits(s) + 2))
                .max()
                .unwrap_or(0),
            rows: out,
            index,
        }
    }
}

struct Layout {
    /// First exchange row.
    top: u16,
    visible: usize,
    label_width: u16,
    window: Window,
}

fn layout(inner: Rect, plot: &PlotAxis, state: &TimelineState, fall: &Rows) -> Layout {
    // Room the mark, connection and number take beyond the 12 the cap was made for.
    let fixed = (fall.id_width + fall.conn_width + fall.stream_width).saturating_sub(8) as u16;
    // Two fifths for the label, capped; the bar needs the room more than a long path does.
    let label_width = (inner.width * 2 / 5).min(48 + fixed);
    let plot_x = inner.x + label_width + 1;
    Layout {
        top: inner.y + 1,
        visible: usize::from(inner.height.saturating_sub(1)),
        label_width,
        window: Window::new(
            state,
            plot.total,
            plot_x,
            inner.right().saturating_sub(plot_x),
        ),
    }
}

fn first_row(fall: &Rows, input: &TimelineInput, scroll: usize, visible: usize) -> usize {
    let selected = input.selected.and_then(|id| fall.index.get(&id).copied());
    scroll_to(scroll, fall.rows.len(), visible, selected)
}

/// Draws the rows; false when there is nothing to draw.
pub(super) fn render(
    buf: &mut Buffer,
    inner: Rect,
    input: &TimelineInput,
    plot: &PlotAxis,
    fall: &Rows,
    state: &mut TimelineState,
) -> bool {
    let rows = &fall.rows;
    if rows.is_empty() {
        return false;
    }
    let a = input.analysis;
    let theme = input.theme;
    let lay = layout(inner, plot, state, fall);
    state.scroll = first_row(fall, input, state.scroll, lay.visible);
    let w = lay.window;
    let lw = usize::from(lay.label_width);

    put_str(
        buf,
        inner,
        inner.x,
        inner.y,
        &fit("  exchange", lw),
        lw,
        theme.dim(),
    );
    draw_axis(buf, inner, inner.y, &w, plot, theme);
    let break_columns: Vec<u16> = (0..w.width)
        .filter(|c| !column_slice(&plot.breaks, |b| b.at, &w, *c).is_empty())
        .collect();

    for (n, row) in rows.iter().skip(state.scroll).take(lay.visible).enumerate() {
        let y = lay.top + n as u16;
        let Some(x) = a.exchanges.get(row.id.0 as usize) else {
            continue;
        };
        let selected = input.selected == Some(row.id);
        let dimmed = input.is_dimmed(row.id);
        let end = draw_label(buf, inner, inner.x, y, lw, x, row, fall, input);
        if selected {
            // Reverse the whole label column so the row reads as selected.
            for cx in inner.x..inner.x + lay.label_width {
                if cx >= end {
                    put(buf, inner, cx, y, " ", Style::default());
                }
                restyle(buf, inner, cx, y, selected_style(theme, Style::default()));
            }
        }
        put(buf, inner, w.x.saturating_sub(1), y, "│", theme.dim());
        for c in &break_columns {
            put(buf, inner, w.x + c, y, "┊", theme.dim());
        }
        let outcome = x.stage.as_ref().map(|t| t.outcome);
        let base = if dimmed {
            theme.unmatched()
        } else if outcome == Some(Outcome::Fail) {
            theme.error()
        } else {
            theme.stage(x.stage.as_ref().map_or("unrelated", |t| t.id.as_str()))
        };
        let bar_style = if selected {
            selected_style(theme, base)
        } else {
            base
        };
        match row.bar {
            Some(bar) => draw_bar(buf, inner, &w, y, &bar, x, bar_style, base, outcome, theme),
            None => {
                put_str(
                    buf,
                    inner,
                    w.x,
                    y,
                    "no timing",
                    usize::from(w.width),
                    theme.dim(),
                );
            }
        }
    }
    true
}

/// `●C3 #12 401 POST host/path`: mark, connection, id (both in full), status, method, host
/// and path; an HTTP/2 stream adds its id and bracket after the connection (`●C0├s5 #2 …`).
/// Returns the column after the text.
#[allow(clippy::too_many_arguments)]
fn draw_label(
    buf: &mut Buffer,
    clip: Rect,
    x0: u16,
    y: u16,
    width: usize,
    x: &Exchange,
    row: &Row,
    fall: &Rows,
    input: &TimelineInput,
) -> u16 {
    let theme = input.theme;
    let dimmed = input.is_dimmed(row.id);
    let style = |s: Style| if dimmed { theme.unmatched() } else { s };
    let clip = Rect::new(x0, y, width as u16, 1).intersection(clip);
    let mut cx = x0;
    let marked = input.notes.is_marked(row.id);
    cx = put_str(
        buf,
        clip,
        cx,
        y,
        if marked { "●" } else { " " },
        1,
        style(theme.mark()),
    );
    let conn = format!("C{}", row.conn);
    // Theme has no palette for connections; the stage palette hashed on the name gives a
    // stable colour per connection and honours NO_COLOR.
    let cw = fall.conn_width;
    cx = put_str(
        buf,
        clip,
        cx,
        y,
        &format!("{conn:<cw$}"),
        cw,
        style(theme.stage(&conn)),
    );
    let sw = fall.stream_width;
    if sw > 0 {
        let text = match row.stream {
            Some((id, g)) => format!("{}s{id}", g.glyph()),
            None => String::new(),
        };
        cx = put_str(
            buf,
            clip,
            cx,
            y,
            &format!("{text:<sw$}"),
            sw,
            style(theme.stage(&conn)),
        );
    }
    let iw = fall.id_width;
    cx = put_str(
        buf,
        clip,
        cx,
        y,
        &format!(" #{:<iw$} ", row.id.0),
        iw + 3,
        style(theme.normal()),
    );
    let status = x.response.as_ref().map(|r| r.status);
    let status_text = status.map_or("---".to_string(), |s| s.to_string());
    cx = put_str(
        buf,
        clip,
        cx,
        y,
        &format!("{status_text:>3} "),
        4,
        style(theme.status(status)),
    );
    let (method, host, path) = match &x.request {
        Some(r) => (&*r.method, r.host().unwrap_or(""), r.target.as_str()),
        None => ("?", "", ""),
    };
    cx = put_str(
        buf,
        clip,
        cx,
        y,
        &format!("{method} "),
        method.len() + 1,
        style(theme.normal()),
    );
    let room = usize::from(clip.right().saturating_sub(cx));
    let target = if path.starts_with('/') {
        format!("{host}{path}")
    } else {
        path.to_string()
    };
    put_str(
        buf,
        clip,
        cx,
        y,
        &fit(&target, room),
        room,
        style(theme.normal()),
    )
}

/// Connection setup `┄`, waiting `░`, receiving `█`, then the duration (and `✗` on failure).
#[allow(clippy::too_many_arguments)]
fn draw_bar(
    buf: &mut Buffer,
    clip: Rect,
    w: &Window,
    y: u16,
    bar: &Bar,
    x: &Exchange,
    style: Style,
    base: Style,
    outcome: Option<Outcome>,
    theme: &Theme,
) {
    if let Some(connect) = bar.connect {
        // The setup ends where the request starts; that column belongs to the bar.
        let start_col = w.column(bar.start);
        if let Some((c0, c1)) = w.columns(connect, bar.start) {
            for c in (c0..=c1).filter(|c| i64::from(*c) < start_col) {
                put(buf, clip, w.x + c, y, "┄", base);
            }
        }
    }
    let Some((c0, c1)) = w.columns(bar.start, bar.end) else {
        return;
    };
    let first_byte = bar.first_byte.map(|p| w.column(p));
    for c in c0..=c1 {
        let receiving = first_byte.is_some_and(|fb| i64::from(c) >= fb);
        put(
            buf,
            clip,
            w.x + c,
            y,
            if receiving { "█" } else { "░" },
            style,
        );
    }
    // After the bar: failure mark and duration, dim, when there is room.
    let mut cx = w.x + c1 + 1;
    let right = w.x + w.width;
    let mut label = format!(" {}", human_duration(bar.duration_ns));
    if outcome == Some(Outcome::Fail) {
        cx = put_str(buf, clip, cx, y, "✗", 1, theme.error());
    } else if x.response.is_none() {
        // Held open or lost: the bar ends with the request, its length means nothing.
        cx = put_str(buf, clip, cx, y, "?", 1, theme.status(None));
        label = " no response".to_string();
    }
    if usize::from(right.saturating_sub(cx)) >= label.chars().count() {
        put_str(buf, clip, cx, y, &label, label.len(), theme.dim());
    }
}

/// The exchange on the clicked row (anywhere on it: label or bar).
pub(super) fn hit(
    inner: Rect,
    input: &TimelineInput,
    plot: &PlotAxis,
    fall: &Rows,
    state: &TimelineState,
    _column: u16,
    row: u16,
) -> Option<ExchId> {
    let lay = layout(inner, plot, state, fall);
    if row < lay.top {
        return None;
    }
    let scroll = first_row(fall, input, state.scroll, lay.visible);
    let n = usize::from(row - lay.top);
    if n >= lay.visible {
        return None;
    }
    fall.rows.get(scroll + n).map(|r| r.id)
}

#[cfg(test)]
mod tests;
