//! The waterfall: one row per exchange in list order, a bar from request start to response
//! end on the shared (gap-compressed) time axis. Conventions of Fiddler's Timeline tab:
//! `░` while waiting for the first response byte, `█` while the
//! response arrives, `┄` for connection setup before a connection's first exchange, and a
//! letter per connection so that reuse shows (same letter = same connection).
//!
//! ```text
//! ┌ Waterfall zoom 1× ─────────────────────────────────────────────────┐
//! │exchange                      │0s        │0.5s      ≈4.0 s   │5.0s   │
//! │ A #0   200 GET lyncdiscover.c…┄┄░░██ 120 ms                         │
//! │ B #1   401 GET webext-pool1.c…      ┄░█ 15 ms                       │
//! │ B #2   401 POST webext-pool1.…        ░█ 9 ms                       │
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
}

#[derive(Debug, Clone, Copy)]
struct Row {
    id: ExchId,
    /// None for an exchange without timing.
    bar: Option<Bar>,
    /// Connections in order of first appearance in the list: A, B, … (recycled after z).
    conn_slot: usize,
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
        let mut slots: HashMap<u32, usize> = HashMap::new();
        let mut index = HashMap::with_capacity(rows.len());
        let mut out = Vec::with_capacity(rows.len());
        for &id in rows {
            let Some(x) = a.exchanges.get(id.0 as usize) else {
                continue;
            };
            let next = slots.len();
            let conn_slot = *slots.entry(x.connection.0).or_insert(next);
            let bar = exchange_span(x).map(|s| Bar {
                start: axis.position(s.start),
                first_byte: s.first_byte.map(|t| axis.position(t)),
                end: axis.position(s.end),
                connect: connect_span(a, id).map(|c| axis.position(c.start)),
                duration_ns: s.end.0.saturating_sub(s.start.0),
            });
            index.entry(id).or_insert(out.len());
            out.push(Row { id, bar, conn_slot });
        }
        Rows { rows: out, index }
    }
}

/// "A".."Z", "a".."z", then around again: only a hint of which rows share a connection.
fn conn_letter(slot: usize) -> char {
    const LETTERS: &[u8; 52] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    char::from(LETTERS[slot % LETTERS.len()])
}

struct Layout {
    /// First exchange row.
    top: u16,
    visible: usize,
    label_width: u16,
    window: Window,
}

fn layout(inner: Rect, plot: &PlotAxis, state: &TimelineState) -> Layout {
    // Two fifths for the label, capped; the bar needs the room more than a long path does.
    let label_width = (inner.width * 2 / 5).min(48);
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
    let lay = layout(inner, plot, state);
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
        let end = draw_label(buf, inner, inner.x, y, lw, x, row, input);
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

/// `●A #12  401 POST host/path`: mark, connection letter, id, status, method, host and path.
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
    let letter = conn_letter(row.conn_slot).to_string();
    // Theme has no palette for connections; the stage palette hashed on the letter gives a
    // stable colour per connection and honours NO_COLOR.
    cx = put_str(buf, clip, cx, y, &letter, 1, style(theme.stage(&letter)));
    cx = put_str(
        buf,
        clip,
        cx,
        y,
        &format!(" #{:<4}", row.id.0),
        6,
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
    let lay = layout(inner, plot, state);
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
