//! The time axis the swimlanes and the waterfall plot on: virtual (gap-compressed) time,
//! the part of it on screen ([`Window`]) and the axis row with its ticks and breaks.

use super::canvas::put_str;
use super::state::{clamp_offset, TimelineState};
use crate::model::{Analysis, ConnId, DnsId, ExchId, Ts};
use crate::presentation::timeline::{
    connection_span, dns_span, exchange_span, Break, Span as TimeSpan, TimeAxis,
};
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

/// The axis over everything the plotted views draw; built once per filter change.
pub(super) struct PlotAxis {
    pub(super) axis: TimeAxis,
    /// Virtual length of the axis, at least 1 so that it can be divided by.
    pub(super) total: f64,
    /// The compressed gaps, by position.
    pub(super) breaks: Vec<Break>,
    /// Tick labels count from here: the one time origin of the UI and the reports (the
    /// first frame of the inputs), not the first item shown.
    pub(super) origin: Option<Ts>,
}

impl PlotAxis {
    /// The axis over the shown exchanges (with their connection setup), the lookups `dns`
    /// and the connection attempts `connections`.
    pub(super) fn new(
        a: &Analysis,
        rows: &[ExchId],
        dns: &[DnsId],
        connections: &[ConnId],
    ) -> PlotAxis {
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
        PlotAxis {
            origin: crate::presentation::timeline::time_origin(a).or(axis.start()),
            axis,
            total,
            breaks,
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
    plot: &PlotAxis,
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
        let r = column_slice(&plot.breaks, |b| b.at, w, c);
        let Some(b) = plot.breaks.get(r.start).filter(|_| !r.is_empty()) else {
            continue;
        };
        let skipped: i64 = if r.len() > 1 {
            plot.breaks[r.clone()].iter().map(|b| b.skipped_ns).sum()
        } else {
            b.skipped_ns
        };
        let label = format!(
            "≈{}",
            crate::presentation::timeline::human_duration(skipped)
        );
        claim(buf, clip, &mut taken, w, c, y, &label, style);
    }
    let Some(start) = plot.origin else {
        return;
    };
    // About one label per 12 columns, on a 1-2-5 grid of virtual nanoseconds.
    let step = nice_step((w.v1 - w.v0) * 12.0 / f64::from(w.width));
    let first = (w.v0 / step).ceil() as i64;
    let last = (w.v1 / step).floor() as i64;
    for k in first..=last.min(first + i64::from(w.width)) {
        let pos = k as f64 * step;
        let Some(at) = plot.axis.instant(pos) else {
            continue;
        };
        // A tick inside a compressed gap has no real instant of its own.
        if (plot.axis.position(at) - pos).abs() > step / 2.0 {
            continue;
        }
        let c = w.column(pos);
        if c < 0 || c >= i64::from(w.width) {
            continue;
        }
        let label = format!("│{}", seconds_label(at.0.saturating_sub(start.0), step));
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn ticks_step_on_a_1_2_5_grid_and_label_seconds() {
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(120.0), 200.0);
        assert_eq!(seconds_label(1_500_000_000, 5e8), "1.5s");
    }
}
