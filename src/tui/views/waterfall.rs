//! The waterfall: one row per exchange in list order, a bar from request start to response
//! end on the shared (gap-compressed) time axis. Conventions of Fiddler's Timeline tab
//! (design-anchors §A.8): `░` while waiting for the first response byte, `█` while the
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

use super::timeline::{
    connect_span, draw_axis, fit, put, put_str, restyle, scroll_to, selected_style, TimelineCache,
    TimelineInput, TimelineState, Window,
};
use crate::model::{Analysis, ExchId, Exchange, Outcome};
use crate::timeline::{exchange_span, human_duration, TimeAxis};
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
                duration_ns: s.end.0 - s.start.0,
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

fn layout(inner: Rect, cache: &TimelineCache, state: &TimelineState) -> Layout {
    // Two fifths for the label, capped; the bar needs the room more than a long path does.
    let label_width = (inner.width * 2 / 5).min(48);
    let plot_x = inner.x + label_width + 1;
    Layout {
        top: inner.y + 1,
        visible: usize::from(inner.height.saturating_sub(1)),
        label_width,
        window: Window::new(
            state,
            cache.total,
            plot_x,
            inner.right().saturating_sub(plot_x),
        ),
    }
}

fn first_row(cache: &TimelineCache, input: &TimelineInput, scroll: usize, visible: usize) -> usize {
    let selected = input
        .selected
        .and_then(|id| cache.fall.index.get(&id).copied());
    scroll_to(scroll, cache.fall.rows.len(), visible, selected)
}

/// Draws the rows; false when there is nothing to draw.
pub(super) fn render(
    buf: &mut Buffer,
    inner: Rect,
    input: &TimelineInput,
    cache: &TimelineCache,
    state: &mut TimelineState,
) -> bool {
    let rows = &cache.fall.rows;
    if rows.is_empty() {
        return false;
    }
    let a = input.analysis;
    let theme = input.theme;
    let lay = layout(inner, cache, state);
    state.scroll = first_row(cache, input, state.scroll, lay.visible);
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
    draw_axis(buf, inner, inner.y, &w, cache, theme);
    let break_columns: Vec<u16> = (0..w.width)
        .filter(|c| !super::timeline::column_slice(&cache.breaks, |b| b.at, &w, *c).is_empty())
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
        Some(r) => (r.method.as_str(), r.host().unwrap_or(""), r.target.as_str()),
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
    cache: &TimelineCache,
    state: &TimelineState,
    _column: u16,
    row: u16,
) -> Option<ExchId> {
    let lay = layout(inner, cache, state);
    if row < lay.top {
        return None;
    }
    let scroll = first_row(cache, input, state.scroll, lay.visible);
    let n = usize::from(row - lay.top);
    if n >= lay.visible {
        return None;
    }
    cache.fall.rows.get(scroll + n).map(|r| r.id)
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::timeline::tests::{all_rows, draw, draw_buffer, reversed, sample_b};
    use super::super::timeline::{hit_test, TimelineKind};
    use super::*;
    use crate::model::Notes;

    fn state() -> TimelineState {
        TimelineState {
            kind: TimelineKind::Waterfall,
            ..Default::default()
        }
    }

    #[test]
    fn snapshot_sample_b() {
        let a = sample_b();
        let rows = all_rows(a);
        let mut s = state();
        let screen = draw(a, &rows, rows.get(4).copied(), &mut s, 120, 30);
        insta::assert_snapshot!(screen.join("\n"));
    }

    #[test]
    fn rows_follow_the_list_and_show_reuse_and_setup() {
        let a = sample_b();
        let rows = all_rows(a);
        let mut s = state();
        let screen = draw(a, &rows, None, &mut s, 120, 30);
        // Exchange #0 is on the first row, #1 on the second (list order).
        assert!(screen[2].contains("#0 "), "{}", screen[2]);
        assert!(screen[3].contains("#1 "), "{}", screen[3]);
        // Script B06–B10 share connection C3: one letter for all five rows.
        let c3: Vec<&Exchange> = a
            .exchanges
            .iter()
            .filter(|x| {
                x.request
                    .as_ref()
                    .and_then(|r| r.host())
                    .is_some_and(|h| h.starts_with("webext-pool1"))
            })
            .collect();
        assert!(c3.len() >= 5);
        let letters: Vec<char> = c3
            .iter()
            .map(|x| {
                let line = screen
                    .iter()
                    .find(|l| l.contains(&format!(" #{:<4}", x.id.0)))
                    .unwrap();
                line.chars().nth(2).unwrap()
            })
            .collect();
        assert!(letters.iter().all(|l| *l == letters[0]), "{letters:?}");
        // A new connection's first exchange shows its setup.
        assert!(screen.iter().any(|l| l.contains('┄')));
    }

    #[test]
    fn selection_scrolls_into_view_and_clicks_select_rows() {
        let a = sample_b();
        let rows = all_rows(a);
        let last = *rows.last().unwrap();
        let mut s = state();
        let screen = draw(a, &rows, Some(last), &mut s, 120, 12);
        assert!(s.scroll > 0);
        let y = screen
            .iter()
            .position(|l| l.contains(&format!(" #{:<4}", last.0)))
            .expect("selected row visible");
        let notes = Notes::default();
        let theme = Theme::plain();
        let cache = TimelineCache::new(a, &rows);
        let input = TimelineInput {
            analysis: a,
            rows: &rows,
            selected: Some(last),
            notes: &notes,
            dimmed: None,
            theme: &theme,
        };
        let area = Rect::new(0, 0, 120, 12);
        // On the bar of that row.
        let line: Vec<char> = screen[y].chars().collect();
        let bar_x = line.iter().position(|c| *c == '█' || *c == '░').unwrap();
        assert_eq!(
            hit_test(area, &input, &cache, &s, bar_x as u16, y as u16),
            Some(last)
        );
        assert_eq!(hit_test(area, &input, &cache, &s, bar_x as u16, 1), None);
        assert_eq!(hit_test(area, &input, &cache, &s, bar_x as u16, 11), None);
        // The selected row is reversed from the label to the bar.
        let buf = draw_buffer(a, &rows, Some(last), &mut s, 120, 12);
        assert!(reversed(&buf, 3, y) && reversed(&buf, bar_x, y));
        assert!(!reversed(&buf, 3, y - 1));
    }

    #[test]
    fn huge_lists_render_only_what_is_visible() {
        let a = synthetic(100_000);
        let rows = all_rows(&a);
        let t = std::time::Instant::now();
        let cache = TimelineCache::new(&a, &rows);
        let built = t.elapsed();
        let notes = Notes::default();
        let theme = Theme::colored();
        let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 30)).unwrap();
        let t = std::time::Instant::now();
        for (i, kind) in [
            TimelineKind::Swimlanes,
            TimelineKind::Waterfall,
            TimelineKind::Ladder,
        ]
        .into_iter()
        .enumerate()
        {
            let mut s = TimelineState {
                kind,
                ..Default::default()
            };
            for sel in [0u32, 50_000, 99_999] {
                let input = TimelineInput {
                    analysis: &a,
                    rows: &rows,
                    selected: Some(ExchId(sel + i as u32)),
                    notes: &notes,
                    dimmed: Some(&|id: ExchId| id.0.is_multiple_of(2)),
                    theme: &theme,
                };
                term.draw(|f| {
                    super::super::timeline::render_timeline(
                        f,
                        f.area(),
                        &input,
                        &cache,
                        &mut s,
                        false,
                    )
                })
                .unwrap();
            }
        }
        let frames = t.elapsed() / 9;
        // Generous bounds (unoptimised test build on a shared machine): a frame that walked
        // all 100k rows would still pass, so this mainly guards against accidental O(n²).
        assert!(built.as_secs() < 20, "cache {built:?}");
        assert!(frames.as_millis() < 2000, "frame {frames:?}");
    }

    /// `n` exchanges, ten per connection, 50 ms apart, with a long pause in the middle.
    pub(crate) fn synthetic(n: u32) -> Analysis {
        use crate::model::*;
        use std::net::SocketAddr;
        let t0 = 1_435_600_000_000_000_000i64;
        let at = |i: u32| {
            let pause = if i >= n / 2 { 600_000_000_000 } else { 0 };
            t0 + i64::from(i) * 50_000_000 + pause
        };
        let arrival = |ts: i64| {
            Some(Arrival {
                frame: FrameNo(1),
                ts: Ts(ts),
            })
        };
        let conns = n.div_ceil(10);
        let connections = (0..conns)
            .map(|c| Connection {
                id: ConnId(c),
                client: SocketAddr::from(([10, 0, 0, 1], 40000 + (c % 20000) as u16)),
                server: SocketAddr::from(([192, 0, 2, (c % 200) as u8], 443)),
                first_seen: Ts(at(c * 10) - 1_000_000),
                last_seen: Ts(at((c * 10 + 9).min(n - 1)) + 20_000_000),
                first_frame: FrameNo(1),
                last_frame: FrameNo(1),
                packets: 1,
                bytes: 1,
                payload_bytes: [0, 0],
                handshake: true,
                end: [StreamEnd::Fin, StreamEnd::Fin],
                protocol: AppProtocol::Http1,
                exchanges: (c * 10..(c * 10 + 10).min(n)).map(ExchId).collect(),
                missing_bytes: [0, 0],
                tls: None,
                syn_ack: true,
                stage: None,
            })
            .collect();
        let exchanges = (0..n)
            .map(|i| Exchange {
                id: ExchId(i),
                connection: ConnId(i / 10),
                scheme: Scheme::Http,
                capture: CaptureState::Full,
                request: Some(Request {
                    method: "GET".into(),
                    target: format!("/item/{i}"),
                    version: "HTTP/1.1".into(),
                    headers: Headers::from_pairs([("Host", "example.org")]),
                    body: Body::default(),
                }),
                response: Some(Response {
                    version: "HTTP/1.1".into(),
                    status: if i % 7 == 0 { 404 } else { 200 },
                    reason: "OK".into(),
                    headers: Headers::default(),
                    interim_statuses: vec![],
                    body: Body::default(),
                }),
                timing: Timing {
                    request_start: arrival(at(i)),
                    request_end: arrival(at(i) + 1_000_000),
                    response_start: arrival(at(i) + 10_000_000),
                    response_end: arrival(at(i) + 20_000_000),
                },
                upgrade: None,
                annotations: None,
                stage: Some(Box::new(StageTag {
                    id: ["alpha", "beta", "unrelated"][(i % 3) as usize].into(),
                    outcome: if i % 7 == 0 {
                        Outcome::Fail
                    } else {
                        Outcome::Ok
                    },
                    rule: "test".into(),
                    parent: None,
                    via: None,
                    dns: None,
                    subkind: None,
                    note: None,
                })),
                auth: None,
            })
            .collect();
        Analysis {
            connections,
            exchanges,
            ..Default::default()
        }
    }
}
