//! The switchable time view of the main screen: stage swimlanes, a waterfall or a ladder
//! (design-anchors §0.1). This module owns what the three share: the state (kind, zoom, pan,
//! scroll), the per-filter cache, the block around them, the time axis row and the
//! mapping from virtual time to columns. The views themselves live in `swimlanes`,
//! `waterfall` and `ladder`.
//!
//! Everything that depends only on the analysis and the shown rows is computed once in
//! [`TimelineCache::new`]; a frame then touches only what is visible, so 100k exchanges stay
//! smooth.

use super::{ladder, swimlanes, waterfall};
use crate::model::{Analysis, ConnId, DnsId, ExchId, Notes, Ts};
use crate::timeline::{
    connection_span, dns_span, exchange_span, Break, Item, Span as TimeSpan, TimeAxis,
};
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Block;
use ratatui::Frame;
use std::collections::HashSet;

/// Which time view is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimelineKind {
    #[default]
    Swimlanes,
    Waterfall,
    Ladder,
}

impl TimelineKind {
    /// The next view in the cycle (the switch key).
    pub fn next(self) -> Self {
        match self {
            TimelineKind::Swimlanes => TimelineKind::Waterfall,
            TimelineKind::Waterfall => TimelineKind::Ladder,
            TimelineKind::Ladder => TimelineKind::Swimlanes,
        }
    }
    pub fn title(self) -> &'static str {
        match self {
            TimelineKind::Swimlanes => "Swimlanes",
            TimelineKind::Waterfall => "Waterfall",
            TimelineKind::Ladder => "Ladder",
        }
    }
}

/// Deepest zoom: 2^20 narrows a one-hour axis to a few milliseconds.
const MAX_ZOOM: f64 = (1u32 << 20) as f64;

/// UI state of the time view; survives filter changes.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineState {
    pub kind: TimelineKind,
    /// 1.0 = the whole axis fits; 2.0 shows half of it.
    pub zoom: f64,
    /// Left edge as a fraction 0..1 of the virtual axis (of the endpoint columns in the ladder).
    pub offset: f64,
    /// First row shown: waterfall rows, swimlane lanes, ladder events.
    pub scroll: usize,
    /// The selection the time views last moved to; a new one is brought into view once,
    /// after which panning away from it stays put.
    pub followed: Option<ExchId>,
}

impl Default for TimelineState {
    fn default() -> Self {
        TimelineState {
            kind: TimelineKind::default(),
            zoom: 1.0,
            offset: 0.0,
            scroll: 0,
            followed: None,
        }
    }
}

impl TimelineState {
    /// Doubles the zoom, keeping the middle of the shown range in place.
    pub fn zoom_in(&mut self) {
        self.set_zoom(self.zoom() * 2.0);
    }
    /// Halves the zoom, keeping the middle of the shown range in place.
    pub fn zoom_out(&mut self) {
        self.set_zoom(self.zoom() / 2.0);
    }
    /// Moves the shown range a quarter of its width to the left.
    pub fn pan_left(&mut self) {
        self.offset = clamp_offset(self.offset() - 0.25 / self.zoom(), self.zoom());
    }
    /// Moves the shown range a quarter of its width to the right.
    pub fn pan_right(&mut self) {
        self.offset = clamp_offset(self.offset() + 0.25 / self.zoom(), self.zoom());
    }
    /// Whole axis, top row; keeps the kind.
    pub fn reset(&mut self) {
        *self = TimelineState {
            kind: self.kind,
            ..TimelineState::default()
        };
    }

    /// Pans (zoom unchanged) so that the part `[lo, hi]` of the axis, as fractions of it,
    /// is in view: centred when it was out of view, its start first when it is wider.
    pub(super) fn bring_into_view(&mut self, lo: f64, hi: f64) {
        let zoom = self.zoom();
        let (offset, width) = (self.offset(), 1.0 / zoom);
        if !(lo.is_finite() && hi.is_finite()) || (lo >= offset && hi <= offset + width) {
            return;
        }
        let left = if hi - lo >= width {
            lo
        } else {
            (lo + hi) / 2.0 - width / 2.0
        };
        self.offset = clamp_offset(left, zoom);
    }

    fn set_zoom(&mut self, zoom: f64) {
        let old = self.zoom();
        let middle = self.offset() + 0.5 / old;
        let zoom = zoom.clamp(1.0, MAX_ZOOM);
        self.zoom = zoom;
        self.offset = clamp_offset(middle - 0.5 / zoom, zoom);
    }
    /// The zoom, sanitised (a caller may have stored anything in the pub field).
    pub(super) fn zoom(&self) -> f64 {
        if self.zoom.is_finite() {
            self.zoom.clamp(1.0, MAX_ZOOM)
        } else {
            1.0
        }
    }
    pub(super) fn offset(&self) -> f64 {
        if self.offset.is_finite() {
            self.offset.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

fn clamp_offset(offset: f64, zoom: f64) -> f64 {
    let max = (1.0 - 1.0 / zoom).max(0.0);
    if offset.is_finite() {
        offset.clamp(0.0, max)
    } else {
        0.0
    }
}

/// What the time view shows this frame.
pub struct TimelineInput<'a> {
    pub analysis: &'a Analysis,
    /// The exchanges shown in the list, in list order (filtered).
    pub rows: &'a [ExchId],
    pub selected: Option<ExchId>,
    /// Marked exchanges get a mark glyph.
    pub notes: &'a Notes,
    /// Highlight mode: these are drawn dim.
    pub dimmed: Option<&'a dyn Fn(ExchId) -> bool>,
    pub theme: &'a Theme,
}

impl TimelineInput<'_> {
    pub(super) fn is_dimmed(&self, id: ExchId) -> bool {
        self.dimmed.is_some_and(|f| f(id))
    }
}

/// Precomputed layout that does not depend on the area (axis, lanes, ladder events); built
/// once per filter change, not per frame.
pub struct TimelineCache {
    pub(super) axis: TimeAxis,
    /// Virtual length of the axis, at least 1 so that it can be divided by.
    pub(super) total: f64,
    /// The compressed gaps, by position.
    pub(super) breaks: Vec<Break>,
    pub(super) lanes: swimlanes::Lanes,
    pub(super) fall: waterfall::Rows,
    pub(super) ladder: ladder::Flow,
}

impl TimelineCache {
    pub fn new(a: &Analysis, rows: &[ExchId]) -> TimelineCache {
        let dns = shown_lookups(a, rows);
        let connections = shown_connections(a, rows);
        let mut spans: Vec<TimeSpan> = Vec::with_capacity(rows.len() + dns.len());
        spans.extend(
            rows.iter()
                .filter_map(|id| a.exchanges.get(id.0 as usize))
                .filter_map(exchange_span),
        );
        spans.extend(
            dns.iter()
                .filter_map(|id| a.dns.get(id.0 as usize))
                .filter_map(dns_span),
        );
        // The waterfall draws connection setup before a connection's first exchange: keep it
        // on the axis too.
        spans.extend(rows.iter().filter_map(|id| connect_span(a, *id)));
        // A connection attempt is its first and last packet: the wait between them (a SYN
        // nobody answered) may be compressed like any idle gap, its bar then crosses the break.
        for c in connections
            .iter()
            .filter_map(|id| a.connections.get(id.0 as usize))
        {
            let span = connection_span(c);
            for at in [span.start, span.end] {
                spans.push(TimeSpan {
                    start: at,
                    first_byte: None,
                    end: at,
                });
            }
        }
        let axis = axis_for(&spans);
        let total = axis.total().max(1.0);
        let breaks = axis.breaks().collect();
        let lanes = swimlanes::Lanes::new(a, rows, &dns, &connections, &axis);
        let fall = waterfall::Rows::new(a, rows, &axis);
        let ladder = ladder::Flow::new(a, rows, &dns, &connections, axis.start());
        TimelineCache {
            axis,
            total,
            breaks,
            lanes,
            fall,
            ladder,
        }
    }
}

/// Same compression rule as [`TimeAxis::for_analysis`] (idle gaps longer than a tenth of
/// the busy time, at least 1 s), over spans that include connection setup.
fn axis_for(spans: &[TimeSpan]) -> TimeAxis {
    let busy = TimeAxis::new(spans.iter().copied(), 1_000_000_000).total() as i64;
    TimeAxis::new(spans.iter().copied(), (busy / 10).max(1_000_000_000))
}

/// From the connection's first packet to the start of its first exchange, when `id` is that
/// first exchange.
pub(super) fn connect_span(a: &Analysis, id: ExchId) -> Option<TimeSpan> {
    let x = a.exchanges.get(id.0 as usize)?;
    let c = a.connections.get(x.connection.0 as usize)?;
    if c.exchanges.first() != Some(&id) {
        return None;
    }
    let start = exchange_span(x)?.start;
    (c.first_seen < start).then_some(TimeSpan {
        start: c.first_seen,
        first_byte: None,
        end: start,
    })
}

/// Connections with a stage of their own (attempts that carried no exchange) drawn next to
/// the rows: all of them when the list is unfiltered, else those a shown exchange led to.
fn shown_connections(a: &Analysis, rows: &[ExchId]) -> Vec<ConnId> {
    let whole = rows.len() == a.exchanges.len();
    let shown: HashSet<ExchId> = if whole {
        HashSet::new()
    } else {
        rows.iter().copied().collect()
    };
    a.connections
        .iter()
        .filter(|c| {
            c.stage
                .as_ref()
                .is_some_and(|t| whole || t.parent.is_some_and(|p| shown.contains(&p)))
        })
        .map(|c| c.id)
        .collect()
}

/// The DNS lookups drawn next to the rows: all of them when the list is unfiltered; else those
/// that gave a shown exchange its address, and those tagged with a stage that a shown
/// exchange has (so a filtered view keeps the lookups that belong to it).
fn shown_lookups(a: &Analysis, rows: &[ExchId]) -> Vec<DnsId> {
    if rows.len() == a.exchanges.len() {
        return a.dns.iter().map(|l| l.id).collect();
    }
    let mut linked: HashSet<DnsId> = HashSet::new();
    let mut stages: HashSet<&str> = HashSet::new();
    for x in rows.iter().filter_map(|id| a.exchanges.get(id.0 as usize)) {
        if let Some(tag) = x.stage.as_deref() {
            if let Some(d) = tag.dns {
                linked.insert(d);
            }
            if tag.id != "unrelated" {
                stages.insert(tag.id.as_str());
            }
        }
    }
    a.dns
        .iter()
        .filter(|l| {
            linked.contains(&l.id)
                || l.stage
                    .as_ref()
                    .is_some_and(|t| stages.contains(t.id.as_str()))
        })
        .map(|l| l.id)
        .collect()
}

/// Draws the time view: a bordered block titled with the kind and zoom, and the view inside.
/// Adjusts `state.scroll` so that the selected exchange is visible.
pub fn render_timeline(
    f: &mut Frame,
    area: Rect,
    input: &TimelineInput,
    cache: &TimelineCache,
    state: &mut TimelineState,
    focused: bool,
) {
    let buf = f.buffer_mut();
    let area = area.intersection(buf.area);
    if area.is_empty() {
        return;
    }
    let theme = input.theme;
    let mut title = vec![Span::styled(
        format!(" {} ", state.kind.title()),
        theme.title(),
    )];
    title.push(Span::styled(
        format!("zoom {} ", zoom_label(state.zoom())),
        theme.dim(),
    ));
    let block = Block::bordered()
        .title(Line::from(title))
        .border_style(if focused {
            theme.focus_border()
        } else {
            theme.border()
        });
    let inner = block.inner(area);
    ratatui::widgets::Widget::render(block, area, buf);
    if inner.is_empty() {
        return;
    }
    if state.followed != input.selected {
        state.followed = input.selected;
        follow_selection(input, cache, state);
    }
    let drawn = match state.kind {
        TimelineKind::Swimlanes => swimlanes::render(buf, inner, input, cache, state),
        TimelineKind::Waterfall => waterfall::render(buf, inner, input, cache, state),
        TimelineKind::Ladder => ladder::render(buf, inner, input, cache, state),
    };
    if !drawn {
        let notice = if input.rows.is_empty() {
            "No exchanges to show"
        } else {
            "No timed exchanges to show"
        };
        notice_line(buf, inner, notice, theme.dim());
    }
}

/// Pans a zoomed time axis to the selected exchange (the ladder's columns are endpoints,
/// not time; it scrolls its rows to the selection itself).
fn follow_selection(input: &TimelineInput, cache: &TimelineCache, state: &mut TimelineState) {
    if state.kind == TimelineKind::Ladder {
        return;
    }
    let Some(id) = input.selected else { return };
    let Some(span) = input
        .analysis
        .exchanges
        .get(id.0 as usize)
        .and_then(exchange_span)
    else {
        return;
    };
    let start = connect_span(input.analysis, id).map_or(span.start, |c| c.start);
    state.bring_into_view(
        cache.axis.position(start) / cache.total,
        cache.axis.position(span.end) / cache.total,
    );
}

/// The exchange under a mouse click at (column,row), if any (the views' tests ask this).
#[cfg(test)]
pub(super) fn hit_test(
    area: Rect,
    input: &TimelineInput,
    cache: &TimelineCache,
    state: &TimelineState,
    column: u16,
    row: u16,
) -> Option<ExchId> {
    match hit_item(area, input, cache, state, column, row)? {
        Item::Exchange(id) => Some(id),
        Item::Dns(_) | Item::Connection(_) => None,
    }
}

/// What is under a mouse click at (column,row): an exchange, a DNS lookup or a connection.
pub fn hit_item(
    area: Rect,
    input: &TimelineInput,
    cache: &TimelineCache,
    state: &TimelineState,
    column: u16,
    row: u16,
) -> Option<Item> {
    let inner = Block::bordered().inner(area);
    if !inner.contains(ratatui::layout::Position::new(column, row)) {
        return None;
    }
    match state.kind {
        TimelineKind::Swimlanes => swimlanes::hit(inner, input, cache, state, column, row),
        TimelineKind::Waterfall => {
            waterfall::hit(inner, input, cache, state, column, row).map(Item::Exchange)
        }
        TimelineKind::Ladder => ladder::hit(inner, cache, state, column, row),
    }
}

fn zoom_label(zoom: f64) -> String {
    if zoom >= 10.0 || zoom.fract() == 0.0 {
        format!("{zoom:.0}×")
    } else {
        format!("{zoom:.1}×")
    }
}

fn notice_line(buf: &mut Buffer, inner: Rect, text: &str, style: Style) {
    let width = text.chars().count() as u16;
    let x = inner.x + inner.width.saturating_sub(width) / 2;
    let y = inner.y + inner.height.saturating_sub(1) / 2;
    put_str(buf, inner, x, y, text, usize::MAX, style);
}

// ---------------------------------------------------------------------------------------------
// Shared drawing helpers for the three views.

/// The part of the virtual axis shown, and the columns it maps to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Window {
    pub v0: f64,
    pub v1: f64,
    /// First column of the plot.
    pub x: u16,
    pub width: u16,
}

impl Window {
    pub fn new(state: &TimelineState, total: f64, x: u16, width: u16) -> Window {
        let zoom = state.zoom();
        let offset = clamp_offset(state.offset(), zoom);
        let v0 = offset * total;
        Window {
            v0,
            v1: v0 + total / zoom,
            x,
            width,
        }
    }
    /// Virtual nanoseconds per column.
    fn per_column(&self) -> f64 {
        (self.v1 - self.v0) / f64::from(self.width.max(1))
    }
    /// Plot column (0-based, may be outside 0..width) of a virtual position; the right edge
    /// belongs to the last column.
    pub fn column(&self, pos: f64) -> i64 {
        let c = ((pos - self.v0) / self.per_column()).floor();
        let c = if c.is_finite() { c as i64 } else { 0 };
        if pos <= self.v1 && c >= i64::from(self.width) {
            i64::from(self.width) - 1
        } else {
            c
        }
    }
    /// The columns `[start, end]` covers, clipped to the plot; None when off screen.
    pub fn columns(&self, start: f64, end: f64) -> Option<(u16, u16)> {
        if self.width == 0 || end < self.v0 || start > self.v1 {
            return None;
        }
        let last = i64::from(self.width) - 1;
        let a = self.column(start).clamp(0, last);
        let b = self.column(end).clamp(a, last);
        Some((a as u16, b as u16))
    }
    /// Virtual range `[from, to)` of a plot column; the last one ends at `v1` inclusive.
    pub fn range(&self, column: u16) -> (f64, f64) {
        let d = self.per_column();
        (
            self.v0 + f64::from(column) * d,
            self.v0 + f64::from(column + 1) * d,
        )
    }
    pub fn is_last(&self, column: u16) -> bool {
        column + 1 >= self.width
    }
}

/// The index range of `sorted` (by `key`) whose key lies in plot column `c`.
pub(super) fn column_slice<T>(
    sorted: &[T],
    key: impl Fn(&T) -> f64,
    w: &Window,
    c: u16,
) -> std::ops::Range<usize> {
    let (from, to) = w.range(c);
    let lo = sorted.partition_point(|t| key(t) < from);
    let hi = if w.is_last(c) {
        sorted.partition_point(|t| key(t) <= w.v1)
    } else {
        sorted.partition_point(|t| key(t) < to)
    };
    lo..hi.max(lo)
}

/// Draws the time axis row: tick labels in real seconds since the axis start, and the
/// compressed gaps as `≈` with the time left out. Breaks win over ticks.
pub(super) fn draw_axis(
    buf: &mut Buffer,
    clip: Rect,
    y: u16,
    w: &Window,
    cache: &TimelineCache,
    theme: &Theme,
) {
    if w.width == 0 {
        return;
    }
    let mut taken = vec![false; usize::from(w.width)];
    let style = theme.dim();
    // Breaks: at most one per column, found by binary search so that a capture with
    // thousands of gaps costs the width of the screen, not the number of gaps.
    for c in 0..w.width {
        let r = column_slice(&cache.breaks, |b| b.at, w, c);
        let Some(b) = cache.breaks.get(r.start).filter(|_| !r.is_empty()) else {
            continue;
        };
        let skipped: i64 = if r.len() > 1 {
            cache.breaks[r.clone()].iter().map(|b| b.skipped_ns).sum()
        } else {
            b.skipped_ns
        };
        let label = format!("≈{}", crate::timeline::human_duration(skipped));
        claim(buf, clip, &mut taken, w, c, y, &label, style);
    }
    let Some(start) = cache.axis.start() else {
        return;
    };
    // About one label per 12 columns, on a 1-2-5 grid of virtual nanoseconds.
    let step = nice_step((w.v1 - w.v0) * 12.0 / f64::from(w.width));
    let first = (w.v0 / step).ceil() as i64;
    let last = (w.v1 / step).floor() as i64;
    for k in first..=last.min(first + i64::from(w.width)) {
        let pos = k as f64 * step;
        let Some(at) = cache.axis.instant(pos) else {
            continue;
        };
        // A tick inside a compressed gap has no real instant of its own.
        if (cache.axis.position(at) - pos).abs() > step / 2.0 {
            continue;
        }
        let c = w.column(pos);
        if c < 0 || c >= i64::from(w.width) {
            continue;
        }
        let label = format!("│{}", seconds_label(at.0 - start.0, step));
        claim(buf, clip, &mut taken, w, c as u16, y, &label, style);
    }
}

/// Writes `label` at plot column `c` unless it would overlap an earlier one (one free cell is
/// kept between labels).
#[allow(clippy::too_many_arguments)]
fn claim(
    buf: &mut Buffer,
    clip: Rect,
    taken: &mut [bool],
    w: &Window,
    c: u16,
    y: u16,
    label: &str,
    style: Style,
) {
    let c = usize::from(c);
    let len = label.chars().count();
    let end = (c + len + 1).min(taken.len());
    if c >= taken.len() || taken[c..end].iter().any(|t| *t) || c + len > taken.len() {
        return;
    }
    taken[c..end].iter_mut().for_each(|t| *t = true);
    put_str(buf, clip, w.x + c as u16, y, label, len, style);
}

/// The smallest 1, 2 or 5 × 10^k not below `x` (at least 1 ns).
fn nice_step(x: f64) -> f64 {
    if !x.is_finite() || x <= 1.0 {
        return 1.0;
    }
    let mag = 10f64.powf(x.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * mag >= x {
            return m * mag;
        }
    }
    10.0 * mag
}

/// Seconds with as many decimals as the tick step needs: "0s", "1.5s", "0.012s".
pub(super) fn seconds_label(ns: i64, step: f64) -> String {
    let decimals = if step >= 1e9 {
        0
    } else if step >= 1e8 {
        1
    } else if step >= 1e7 {
        2
    } else if step >= 1e6 {
        3
    } else {
        6
    };
    format!("{:.*}s", decimals, ns as f64 / 1e9)
}

/// Sets one cell when (x, y) is inside `clip` (and the buffer).
pub(super) fn put(buf: &mut Buffer, clip: Rect, x: u16, y: u16, symbol: &str, style: Style) {
    if !clip.contains(ratatui::layout::Position::new(x, y)) {
        return;
    }
    if let Some(cell) = buf.cell_mut((x, y)) {
        cell.set_symbol(symbol).set_style(style);
    }
}

/// Patches the style of one cell (keeps its symbol) when inside `clip`.
pub(super) fn restyle(buf: &mut Buffer, clip: Rect, x: u16, y: u16, style: Style) {
    if !clip.contains(ratatui::layout::Position::new(x, y)) {
        return;
    }
    if let Some(cell) = buf.cell_mut((x, y)) {
        let patched = cell.style().patch(style);
        cell.set_style(patched);
    }
}

/// Writes text from (x, y), at most `max` cells and never outside `clip` or the buffer.
/// Returns the column after the last cell written.
pub(super) fn put_str(
    buf: &mut Buffer,
    clip: Rect,
    x: u16,
    y: u16,
    text: &str,
    max: usize,
    style: Style,
) -> u16 {
    let clip = clip.intersection(buf.area);
    if y < clip.top() || y >= clip.bottom() || x < clip.left() || x >= clip.right() {
        return x;
    }
    let room = usize::from(clip.right() - x).min(max);
    buf.set_stringn(x, y, text, room, style).0
}

/// `text` cut to `width` characters, with `…` when cut.
pub(super) fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut s: String = text.chars().take(width - 1).collect();
    s.push('…');
    s
}

/// The first row to show so that row `selected` (if any) is visible, clamped so that the last
/// page is full.
pub(super) fn scroll_to(
    scroll: usize,
    len: usize,
    visible: usize,
    selected: Option<usize>,
) -> usize {
    let mut s = scroll;
    if let Some(i) = selected {
        if visible == 0 {
            return i.min(len.saturating_sub(1));
        }
        if i < s {
            s = i;
        } else if i >= s.saturating_add(visible) {
            s = i + 1 - visible;
        }
    }
    s.min(len.saturating_sub(visible))
}

/// The style of the selected item: reversed and bold on top of its own.
pub(super) fn selected_style(theme: &Theme, base: Style) -> Style {
    base.patch(theme.selected()).add_modifier(Modifier::BOLD)
}

/// Seconds since `t0`, for the ladder's time column.
pub(super) fn since(t: Ts, t0: Ts) -> f64 {
    (t.0 - t0.0) as f64 / 1e9
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    use std::path::PathBuf;
    use std::sync::OnceLock;

    /// Sample B analysed with the built-in rules (once per test binary).
    pub fn sample_b() -> &'static Analysis {
        static A: OnceLock<Analysis> = OnceLock::new();
        A.get_or_init(|| {
            let rel = "samples/lync/B-external-home-pool-redirect.pcapng";
            let mut path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel);
            if !path.exists() {
                path = PathBuf::from("/work/main").join(rel);
            }
            let mut opts = crate::Options {
                rules: Some(std::sync::Arc::new(crate::stage::RuleSet::builtin())),
                ..Default::default()
            };
            opts.http.keep_body_max = 1 << 20;
            crate::analyze(&[path], &opts, &mut ()).unwrap()
        })
    }

    pub fn all_rows(a: &Analysis) -> Vec<ExchId> {
        a.exchanges.iter().map(|x| x.id).collect()
    }

    /// Renders into a test terminal and returns the screen as text lines.
    pub fn draw(
        a: &Analysis,
        rows: &[ExchId],
        selected: Option<ExchId>,
        state: &mut TimelineState,
        width: u16,
        height: u16,
    ) -> Vec<String> {
        lines(&draw_buffer(a, rows, selected, state, width, height))
    }

    pub fn lines(buf: &Buffer) -> Vec<String> {
        (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
            })
            .collect()
    }

    /// Renders into a test terminal (plain theme, nothing marked) and returns its buffer.
    pub fn draw_buffer(
        a: &Analysis,
        rows: &[ExchId],
        selected: Option<ExchId>,
        state: &mut TimelineState,
        width: u16,
        height: u16,
    ) -> Buffer {
        let notes = Notes::default();
        let theme = Theme::plain();
        let input = TimelineInput {
            analysis: a,
            rows,
            selected,
            notes: &notes,
            dimmed: None,
            theme: &theme,
        };
        draw_input(&input, state, width, height)
    }

    pub fn draw_input(
        input: &TimelineInput,
        state: &mut TimelineState,
        width: u16,
        height: u16,
    ) -> Buffer {
        let cache = TimelineCache::new(input.analysis, input.rows);
        let mut term = Terminal::new(TestBackend::new(width, height)).unwrap();
        term.draw(|f| render_timeline(f, f.area(), input, &cache, state, true))
            .unwrap();
        term.backend().buffer().clone()
    }

    /// Whether the cell at (x, y) is drawn reversed (the selection).
    pub fn reversed(buf: &Buffer, x: usize, y: usize) -> bool {
        buf[(x as u16, y as u16)]
            .style()
            .add_modifier
            .contains(Modifier::REVERSED)
    }

    #[test]
    fn marks_dims_untimed_and_single_exchanges() {
        let mut a = super::super::waterfall::tests::synthetic(5);
        a.exchanges[2].timing = Default::default();
        let rows = all_rows(&a);
        let mut notes = Notes::default();
        notes.set_mark(ExchId(1), true);
        let theme = Theme::plain();
        let dim = |id: ExchId| id.0 == 3;
        let input = TimelineInput {
            analysis: &a,
            rows: &rows,
            selected: Some(ExchId(4)),
            notes: &notes,
            dimmed: Some(&dim),
            theme: &theme,
        };
        let row_of = |screen: &[String], needle: &str| {
            screen
                .iter()
                .position(|l| l.contains(needle))
                .unwrap_or_else(|| panic!("{needle} missing:\n{}", screen.join("\n")))
        };

        let mut s = TimelineState {
            kind: TimelineKind::Waterfall,
            ..Default::default()
        };
        let buf = draw_input(&input, &mut s, 100, 12);
        let screen = lines(&buf);
        assert!(screen[row_of(&screen, "#1 ")].contains('●'));
        assert!(screen[row_of(&screen, "#2 ")].contains("no timing"));
        let dimmed_row = row_of(&screen, "#3 ");
        assert!(buf[(5, dimmed_row as u16)]
            .style()
            .add_modifier
            .contains(Modifier::DIM));

        s.kind = TimelineKind::Ladder;
        let screen = lines(&draw_input(&input, &mut s, 100, 16));
        // The untimed exchange's arrows come last, without a time.
        let untimed = row_of(&screen, "GET /item/2");
        assert!(screen[untimed].contains('—'));
        assert!(untimed > row_of(&screen, "GET /item/4"));
        assert!(screen[row_of(&screen, "GET /item/1")].contains('●'));

        s.kind = TimelineKind::Swimlanes;
        let screen = lines(&draw_input(&input, &mut s, 100, 12));
        // #2 (the only `unrelated` one) has no time: no lane for it.
        assert!(screen.iter().all(|l| !l.contains("unrelated")));
        // alpha holds #0 and #3.
        let label: String = screen[row_of(&screen, "│alpha ")]
            .chars()
            .skip(1)
            .take_while(|c| *c != '│')
            .collect();
        assert!(label.ends_with(" 2"), "{label}");

        let one = super::super::waterfall::tests::synthetic(1);
        let rows = all_rows(&one);
        for (kind, needle) in [
            (TimelineKind::Swimlanes, "alpha"),
            (TimelineKind::Waterfall, "#0 "),
            (TimelineKind::Ladder, "GET /item/0"),
        ] {
            let mut s = TimelineState {
                kind,
                ..Default::default()
            };
            let screen = draw(&one, &rows, Some(ExchId(0)), &mut s, 80, 10);
            row_of(&screen, needle);
        }
    }

    #[test]
    fn kinds_cycle_and_have_titles() {
        let k = TimelineKind::default();
        assert_eq!(k, TimelineKind::Swimlanes);
        assert_eq!(k.next().next().next(), k);
        assert_eq!(k.next().title(), "Waterfall");
        assert_eq!(k.next().next().title(), "Ladder");
    }

    #[test]
    fn zoom_and_pan_stay_in_bounds() {
        let mut s = TimelineState::default();
        s.pan_left();
        assert_eq!(s.offset, 0.0);
        s.zoom_out();
        assert_eq!(s.zoom, 1.0);
        s.zoom_in();
        assert_eq!(s.zoom, 2.0);
        // Zooming keeps the middle: the shown half is the middle half.
        assert!((s.offset - 0.25).abs() < 1e-12);
        for _ in 0..10 {
            s.pan_right();
        }
        assert!((s.offset - 0.5).abs() < 1e-12);
        for _ in 0..40 {
            s.zoom_in();
        }
        assert_eq!(s.zoom, MAX_ZOOM);
        s.kind = TimelineKind::Ladder;
        s.scroll = 7;
        s.reset();
        assert_eq!(
            s,
            TimelineState {
                kind: TimelineKind::Ladder,
                ..Default::default()
            }
        );
        // Garbage in the pub fields does not poison the arithmetic.
        s.zoom = f64::NAN;
        s.offset = f64::INFINITY;
        s.zoom_in();
        assert_eq!(s.zoom, 2.0);
        assert!(s.offset.is_finite());
    }

    #[test]
    fn zoom_in_narrows_the_shown_range() {
        let mut s = TimelineState::default();
        let whole = Window::new(&s, 1000.0, 0, 100);
        s.zoom_in();
        let half = Window::new(&s, 1000.0, 0, 100);
        assert_eq!((whole.v0, whole.v1), (0.0, 1000.0));
        assert_eq!((half.v0, half.v1), (250.0, 750.0));

        // And on screen: the last tick label of the swimlane axis gets smaller.
        let a = sample_b();
        let rows = all_rows(a);
        let last_tick = |state: &mut TimelineState| -> f64 {
            state.offset = 0.0;
            let screen = draw(a, &rows, None, state, 120, 30);
            screen[1]
                .split('│')
                .skip(1)
                .filter_map(|t| t.split('s').next()?.trim().parse::<f64>().ok())
                .fold(f64::NAN, f64::max)
        };
        let mut s = TimelineState::default();
        let wide = last_tick(&mut s);
        s.zoom_in();
        s.zoom_in();
        let narrow = last_tick(&mut s);
        assert!(narrow < wide, "{narrow} < {wide}");
        let screen = draw(a, &rows, None, &mut s, 120, 30);
        assert!(screen[0].contains("Swimlanes zoom 4×"), "{}", screen[0]);
    }

    #[test]
    fn a_zoomed_axis_follows_the_selection_once() {
        let a = sample_b();
        let rows = all_rows(a);
        let cache = TimelineCache::new(a, &rows);
        let (first, last) = (rows[0], *rows.last().unwrap());
        let at = |id: ExchId| {
            let span = exchange_span(&a.exchanges[id.0 as usize]).unwrap();
            cache.axis.position(span.end) / cache.total
        };
        let in_view = |s: &TimelineState, f: f64| f >= s.offset && f <= s.offset + 1.0 / s.zoom;
        let selection_drawn = |buf: &Buffer| {
            (1..buf.area.height as usize)
                .any(|y| (20..buf.area.width as usize - 1).any(|x| reversed(buf, x, y)))
        };
        let mut s = TimelineState::default();
        for _ in 0..4 {
            s.zoom_in();
        }
        s.offset = 0.0;
        assert!(!in_view(&s, at(last)));
        // Selecting the last exchange brings it into view, drawn selected.
        let buf = draw_buffer(a, &rows, Some(last), &mut s, 120, 30);
        assert!(in_view(&s, at(last)), "{s:?}");
        assert!(selection_drawn(&buf));
        // Panning away with the same selection stays where the user put it.
        s.offset = 0.0;
        draw_buffer(a, &rows, Some(last), &mut s, 120, 30);
        assert_eq!(s.offset, 0.0);
        // A new selection is followed again.
        s.offset = 1.0;
        draw_buffer(a, &rows, Some(first), &mut s, 120, 30);
        assert!(in_view(&s, at(first)), "{s:?}");
    }

    #[test]
    fn window_maps_edges_to_the_plot() {
        let w = Window {
            v0: 0.0,
            v1: 100.0,
            x: 5,
            width: 10,
        };
        assert_eq!(w.column(0.0), 0);
        assert_eq!(w.column(99.0), 9);
        assert_eq!(w.column(100.0), 9);
        assert_eq!(w.columns(-50.0, 5.0), Some((0, 0)));
        assert_eq!(w.columns(101.0, 200.0), None);
        assert_eq!(w.columns(50.0, 1e9), Some((5, 9)));
        let items = [0.0, 5.0, 10.0, 95.0, 100.0];
        assert_eq!(column_slice(&items, |v| *v, &w, 0), 0..2);
        assert_eq!(column_slice(&items, |v| *v, &w, 9), 3..5);
    }

    #[test]
    fn helpers() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
        assert_eq!(fit("abc", 0), "");
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(120.0), 200.0);
        assert_eq!(scroll_to(0, 100, 10, Some(15)), 6);
        assert_eq!(scroll_to(50, 100, 10, Some(15)), 15);
        assert_eq!(scroll_to(95, 100, 10, None), 90);
        assert_eq!(scroll_to(3, 2, 10, None), 0);
        assert_eq!(seconds_label(1_500_000_000, 5e8), "1.5s");
        assert_eq!(zoom_label(1.0), "1×");
    }

    #[test]
    fn no_panic_on_tiny_areas_and_empty_analysis() {
        let a = sample_b();
        let rows = all_rows(a);
        let empty = Analysis::default();
        for kind in [
            TimelineKind::Swimlanes,
            TimelineKind::Waterfall,
            TimelineKind::Ladder,
        ] {
            for (w, h) in (0..=10).flat_map(|w| (0..=3).map(move |h| (w, h))) {
                let mut s = TimelineState {
                    kind,
                    ..Default::default()
                };
                draw(a, &rows, rows.get(3).copied(), &mut s, w, h);
                s.zoom_in();
                draw(&empty, &[], None, &mut s, w, h);
            }
            let mut s = TimelineState {
                kind,
                ..Default::default()
            };
            let screen = draw(&empty, &[], None, &mut s, 60, 8);
            assert!(screen.iter().any(|l| l.contains("No exchanges to show")));
            // hit_test on an empty analysis finds nothing.
            let notes = Notes::default();
            let theme = Theme::plain();
            let cache = TimelineCache::new(&empty, &[]);
            let input = TimelineInput {
                analysis: &empty,
                rows: &[],
                selected: None,
                notes: &notes,
                dimmed: None,
                theme: &theme,
            };
            for (x, y) in [(0, 0), (5, 3), (30, 4)] {
                assert_eq!(
                    hit_test(Rect::new(0, 0, 60, 8), &input, &cache, &s, x, y),
                    None
                );
            }
        }
    }
}
