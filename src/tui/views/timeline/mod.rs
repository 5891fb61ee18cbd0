//! The switchable time view of the main screen: stage swimlanes, a waterfall or a
//! ladder. This module picks the view and owns what only the choice needs: the
//! per-filter cache of all three, the block around them and the mouse hit dispatch. What the
//! views share lives in `state` (kind, zoom, pan, scroll; the frame's input), `axis` (the
//! gap-compressed time axis and its row) and `canvas` (cell drawing helpers); the views
//! themselves live in `swimlanes`, `waterfall` and `ladder`, and import only those three.
//!
//! Everything that depends only on the analysis and the shown rows is computed once in
//! [`TimelineCache::new`]; a frame then touches only what is visible, so 100k exchanges stay
//! smooth.

mod axis;
mod canvas;
mod ladder;
mod state;
mod swimlanes;
mod waterfall;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

pub use state::{TimelineInput, TimelineKind, TimelineState};

use crate::model::{Analysis, ConnId, DnsId, ExchId};
use crate::presentation::timeline::{exchange_span, Item};
use axis::{connect_span, PlotAxis};
use canvas::put_str;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Block;
use ratatui::Frame;
use std::collections::HashSet;

/// Precomputed layout that does not depend on the area (axis, lanes, ladder events); built
/// once per filter change, not per frame.
pub struct TimelineCache {
    /// The time axis of the swimlanes and the waterfall.
    plot: PlotAxis,
    lanes: swimlanes::Lanes,
    fall: waterfall::Rows,
    ladder: ladder::Flow,
}

impl TimelineCache {
    pub fn new(a: &Analysis, rows: &[ExchId]) -> TimelineCache {
        let dns = shown_lookups(a, rows);
        let connections = shown_connections(a, rows);
        let plot = PlotAxis::new(a, rows, &dns, &connections);
        let lanes = swimlanes::Lanes::new(a, rows, &dns, &connections, &plot.axis);
        let fall = waterfall::Rows::new(a, rows, &plot.axis);
        let ladder = ladder::Flow::new(a, rows, &dns, &connections, plot.origin);
        TimelineCache {
            plot,
            lanes,
            fall,
            ladder,
        }
    }
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
    // One line of legend in the bottom border: what the glyphs of this view mean.
    let mut legend = vec![Span::raw(" ")];
    for (glyph, meaning) in state.kind.legend() {
        legend.push(Span::styled(*glyph, theme.normal()));
        legend.push(Span::styled(format!(" {meaning}  "), theme.dim()));
    }
    let block = Block::bordered()
        .title(Line::from(title))
        .title_bottom(Line::from(legend))
        .border_style(theme.pane_border(focused));
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
        TimelineKind::Swimlanes => {
            swimlanes::render(buf, inner, input, &cache.plot, &cache.lanes, state)
        }
        TimelineKind::Waterfall => {
            waterfall::render(buf, inner, input, &cache.plot, &cache.fall, state)
        }
        TimelineKind::Ladder => ladder::render(buf, inner, input, &cache.ladder, state),
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
        cache.plot.axis.position(start) / cache.plot.total,
        cache.plot.axis.position(span.end) / cache.plot.total,
    );
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
        TimelineKind::Swimlanes => {
            swimlanes::hit(inner, input, &cache.plot, &cache.lanes, state, column, row)
        }
        TimelineKind::Waterfall => {
            waterfall::hit(inner, input, &cache.plot, &cache.fall, state, column, row)
                .map(Item::Exchange)
        }
        TimelineKind::Ladder => ladder::hit(inner, &cache.ladder, state, column, row),
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
