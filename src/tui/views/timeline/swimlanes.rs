//! Stage swimlanes: one lane per discovery stage (in the rules' flow order, `unrelated` last),
//! each exchange, DNS lookup and connection attempt that carried no exchange (`tcp-tls`) a bar
//! on a shared time axis whose long idle gaps are compressed. Shows at a glance which stage ran when, which failed, and where the client
//! waited.
//!
//! ```text
//! ┌ Swimlanes zoom 1× ───────────────────────────────────────┐
//! │stage              n│0s        │0.5s      ≈4.0 s  │5.0s   │
//! │dns-discovery      2│◇◇                   ┊              │
//! │ad-root-https      1│   █                 ┊              │
//! │webticket-oauth    6│     ▒▒█             ┊   ▒▒█        │
//! └──────────────────────────────────────────────────────────┘
//! ```

use super::axis::{column_slice, draw_axis, PlotAxis, Window};
use super::canvas::{fit, put, put_str, scroll_to, selected_style};
use super::state::{TimelineInput, TimelineState};
use crate::model::{Analysis, ConnId, DnsId, ExchId, Outcome};
use crate::presentation::timeline::{connection_span, dns_span, exchange_span, Item, TimeAxis};
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use std::collections::HashMap;

/// The lanes of the shown rows, built once per filter change.
pub(super) struct Lanes {
    lanes: Vec<Lane>,
    /// Where each exchange sits: (lane, index in the lane's items).
    by_exchange: HashMap<ExchId, (usize, usize)>,
    label_width: usize,
}

struct Lane {
    id: String,
    /// Items sorted by start position.
    items: Vec<LaneItem>,
    /// `cover[i]`: the index among `items[..=i]` that ends last, so that a column with no
    /// item starting in it can tell whether an earlier long bar still runs through it.
    cover: Vec<usize>,
}

#[derive(Debug, Clone, Copy)]
struct LaneItem {
    item: Item,
    start: f64,
    end: f64,
    outcome: Outcome,
}

/// How many items starting in one column are compared to pick the one shown; beyond that the
/// column is crowded anyway and the scan must stay bounded per frame.
const SCAN_LIMIT: usize = 64;

impl Lanes {
    pub(super) fn new(
        a: &Analysis,
        rows: &[ExchId],
        dns: &[DnsId],
        connections: &[ConnId],
        axis: &TimeAxis,
    ) -> Lanes {
        let mut by_stage: HashMap<String, Vec<LaneItem>> = HashMap::new();
        let mut push =
            |item: Item, span: Option<crate::presentation::timeline::Span>, outcome: Outcome| {
                let Some(span) = span else { return };
                let stage = crate::presentation::timeline::item_stage(a, item).to_string();
                by_stage.entry(stage).or_default().push(LaneItem {
                    item,
                    start: axis.position(span.start),
                    end: axis.position(span.end),
                    outcome,
                });
            };
        for x in rows.iter().filter_map(|id| a.exchanges.get(id.0 as usize)) {
            let outcome = x.stage.as_ref().map_or(Outcome::Unknown, |t| t.outcome);
            push(Item::Exchange(x.id), exchange_span(x), outcome);
        }
        for l in dns.iter().filter_map(|id| a.dns.get(id.0 as usize)) {
            let outcome = l.stage.as_ref().map_or(Outcome::Unknown, |t| t.outcome);
            push(Item::Dns(l.id), dns_span(l), outcome);
        }
        for c in connections
            .iter()
            .filter_map(|id| a.connections.get(id.0 as usize))
        {
            let outcome = c.stage.as_ref().map_or(Outcome::Unknown, |t| t.outcome);
            push(Item::Connection(c.id), Some(connection_span(c)), outcome);
        }
        // Flow order of the rules, then stages the rules do not list (by name), `unrelated` last.
        let order = |id: &str| -> (usize, usize) {
            if id == "unrelated" {
                return (2, 0);
            }
            match a.stages.iter().position(|s| s.id == id) {
                Some(i) => (0, i),
                None => (1, 0),
            }
        };
        let mut ids: Vec<String> = by_stage.keys().cloned().collect();
        ids.sort_by(|x, y| order(x).cmp(&order(y)).then_with(|| x.cmp(y)));
        let mut lanes = Vec::with_capacity(ids.len());
        let mut by_exchange = HashMap::new();
        for id in ids {
            let mut items = by_stage.remove(&id).unwrap_or_default();
            items.sort_by(|x, y| x.start.total_cmp(&y.start).then(x.end.total_cmp(&y.end)));
            let mut cover = Vec::with_capacity(items.len());
            let mut best = 0usize;
            for (i, it) in items.iter().enumerate() {
                if it.end > items[best].end {
                    best = i;
                }
                cover.push(best);
                if let Item::Exchange(x) = it.item {
                    by_exchange.insert(x, (lanes.len(), i));
                }
            }
            lanes.push(Lane { id, items, cover });
        }
        let label_width = lanes
            .iter()
            .map(|l| l.id.chars().count() + 1 + digits(l.items.len()))
            .max()
            .unwrap_or(0)
            .max("stage n".len());
        Lanes {
            lanes,
            by_exchange,
            label_width,
        }
    }

    #[cfg(test)]
    fn lane_ids(&self) -> Vec<&str> {
        self.lanes.iter().map(|l| l.id.as_str()).collect()
    }
}

fn digits(n: usize) -> usize {
    n.to_string().len()
}

/// Where things go inside the block.
struct Layout {
    /// Label column.
    labels: Rect,
    /// First lane row.
    top: u16,
    /// Lane rows visible.
    visible: usize,
    window: Window,
}

fn layout(inner: Rect, plot: &PlotAxis, lanes: &Lanes, state: &TimelineState) -> Layout {
    let label = lanes.label_width.min(usize::from(inner.width / 2)).min(40) as u16;
    // Label, a separator column, then the plot.
    let plot_x = inner.x + label + 1;
    let plot_w = inner.right().saturating_sub(plot_x);
    Layout {
        labels: Rect::new(inner.x, inner.y, label, inner.height),
        top: inner.y + 1,
        visible: usize::from(inner.height.saturating_sub(1)),
        window: Window::new(state, plot.total, plot_x, plot_w),
    }
}

/// First lane shown, keeping the selected exchange's lane visible.
fn first_lane(lanes: &Lanes, input: &TimelineInput, scroll: usize, visible: usize) -> usize {
    let selected = input
        .selected
        .and_then(|id| lanes.by_exchange.get(&id))
        .map(|(lane, _)| *lane);
    scroll_to(scroll, lanes.lanes.len(), visible, selected)
}

/// Draws the lanes; false when there is nothing to draw.
pub(super) fn render(
    buf: &mut Buffer,
    inner: Rect,
    input: &TimelineInput,
    plot: &PlotAxis,
    lanes: &Lanes,
    state: &mut TimelineState,
) -> bool {
    if lanes.lanes.is_empty() {
        return false;
    }
    let theme = input.theme;
    let lay = layout(inner, plot, lanes, state);
    state.scroll = first_lane(lanes, input, state.scroll, lay.visible);
    let w = lay.window;
    let lw = usize::from(lay.labels.width);

    // Header row: column titles over the labels, the time axis over the plot.
    put_str(
        buf,
        inner,
        inner.x,
        inner.y,
        &label_text("stage", "n", lw),
        lw,
        theme.dim(),
    );
    draw_axis(buf, inner, inner.y, &w, plot, theme);

    let selected = input
        .selected
        .and_then(|id| lanes.by_exchange.get(&id).copied());
    let break_columns: Vec<u16> = (0..w.width)
        .filter(|c| !column_slice(&plot.breaks, |b| b.at, &w, *c).is_empty())
        .collect();
    for (row, lane_idx) in (state.scroll..lanes.lanes.len())
        .take(lay.visible)
        .enumerate()
    {
        let y = lay.top + row as u16;
        let lane = &lanes.lanes[lane_idx];
        let mut label_style = theme.stage(&lane.id);
        if selected.is_some_and(|(l, _)| l == lane_idx) {
            label_style = label_style.add_modifier(Modifier::BOLD);
        }
        let count = lane.items.len().to_string();
        put_str(
            buf,
            inner,
            inner.x,
            y,
            &label_text(&lane.id, &count, lw),
            lw,
            label_style,
        );
        put(buf, inner, w.x.saturating_sub(1), y, "│", theme.dim());
        for c in &break_columns {
            put(buf, inner, w.x + c, y, "┊", theme.dim());
        }
        for c in 0..w.width {
            if let Some((i, starts_here)) = cell_item(lane, &w, c, input) {
                let it = &lane.items[i];
                let style = item_style(it, &lane.id, input, theme);
                let glyph = glyph(it, starts_here);
                put(buf, inner, w.x + c, y, glyph, style);
            }
        }
        // The selected item goes on top, over its whole extent.
        if let Some((_, i)) = selected.filter(|(l, _)| *l == lane_idx) {
            if let Some(it) = lane.items.get(i) {
                if let Some((c0, c1)) = w.columns(it.start, it.end) {
                    let style = selected_style(theme, item_style(it, &lane.id, input, theme));
                    for c in c0..=c1 {
                        put(buf, inner, w.x + c, y, glyph(it, c == c0), style);
                    }
                }
            }
        }
    }
    true
}

/// "dns-discovery      2": the stage id left, the count right, in `width` cells.
fn label_text(id: &str, count: &str, width: usize) -> String {
    let room = width.saturating_sub(count.len() + 1);
    let id = fit(id, room);
    let pad = width.saturating_sub(id.chars().count() + count.len());
    format!("{id}{}{count}", " ".repeat(pad))
}

/// The item shown in plot column `c` of a lane, and whether it starts there (else it is a
/// longer bar running through). Among items starting in the column the most telling wins:
/// marked, then failed, then challenges and redirects, then the rest.
fn cell_item(lane: &Lane, w: &Window, c: u16, input: &TimelineInput) -> Option<(usize, bool)> {
    let r = column_slice(&lane.items, |it| it.start, w, c);
    if !r.is_empty() {
        let best = r
            .clone()
            .take(SCAN_LIMIT)
            .max_by_key(|&i| (priority(&lane.items[i], input), std::cmp::Reverse(i)))?;
        return Some((best, true));
    }
    // Nothing starts here: the bar that started earlier and ends last may run through.
    let before = r.start.checked_sub(1)?;
    let k = *lane.cover.get(before)?;
    let (from, _) = w.range(c);
    (lane.items.get(k)?.end >= from).then_some((k, false))
}

fn priority(it: &LaneItem, input: &TimelineInput) -> u8 {
    let base = match it.outcome {
        Outcome::Fail => 5,
        Outcome::Challenge | Outcome::Redirect => 3,
        Outcome::Ok => 2,
        Outcome::Unknown => 1,
        Outcome::Noise => 0,
    };
    let marked = matches!(it.item, Item::Exchange(id) if input.notes.is_marked(id));
    base + if marked { 10 } else { 0 }
}

/// Exchanges by outcome (readable without colour); DNS lookups as diamonds.
fn glyph(it: &LaneItem, starts_here: bool) -> &'static str {
    match it.item {
        Item::Dns(_) => match (it.outcome, starts_here) {
            (Outcome::Fail, _) => "✗",
            (_, true) => "◇",
            (_, false) => "─",
        },
        Item::Connection(_) => match (it.outcome, starts_here) {
            (Outcome::Fail, _) => "✗",
            (_, true) => "○",
            (_, false) => "─",
        },
        Item::Exchange(_) => match it.outcome {
            Outcome::Ok => "█",
            Outcome::Challenge => "▒",
            Outcome::Redirect => "►",
            Outcome::Fail => "✗",
            Outcome::Noise => "░",
            Outcome::Unknown => "▪",
        },
    }
}

fn item_style(it: &LaneItem, stage: &str, input: &TimelineInput, theme: &Theme) -> Style {
    match it.item {
        Item::Exchange(id) if input.is_dimmed(id) => theme.unmatched(),
        Item::Exchange(id) if input.notes.is_marked(id) => theme.mark(),
        _ if it.outcome == Outcome::Fail => theme.error(),
        _ => theme.stage(stage),
    }
}

/// The item drawn at (column, row), if any.
pub(super) fn hit(
    inner: Rect,
    input: &TimelineInput,
    plot: &PlotAxis,
    lanes: &Lanes,
    state: &TimelineState,
    column: u16,
    row: u16,
) -> Option<Item> {
    let lay = layout(inner, plot, lanes, state);
    let w = lay.window;
    if row < lay.top || column < w.x || column >= w.x + w.width {
        return None;
    }
    let scroll = first_lane(lanes, input, state.scroll, lay.visible);
    let lane_idx = scroll + usize::from(row - lay.top);
    let lane = lanes.lanes.get(lane_idx)?;
    let c = column - w.x;
    // The selected item is drawn on top, so it is what the click lands on.
    if let Some(&(l, i)) = input.selected.and_then(|id| lanes.by_exchange.get(&id)) {
        if l == lane_idx {
            let it = lane.items.get(i)?;
            if w.columns(it.start, it.end)
                .is_some_and(|(c0, c1)| (c0..=c1).contains(&c))
            {
                return Some(it.item);
            }
        }
    }
    let (i, _) = cell_item(lane, &w, c, input)?;
    Some(lane.items.get(i)?.item)
}

#[cfg(test)]
mod tests;
