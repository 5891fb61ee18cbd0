//! The ladder (sequence diagram), as sngrep's call flow and Wireshark's Flow Graph draw it:
//! one column per endpoint with a lifeline, one row per event in
//! time order with the time at the left, an arrow client → server labelled `METHOD /path` for
//! each request and one back labelled `STATUS reason` for each response; DNS queries and
//! answers too, since they start every discovery step, and connection attempts that carried
//! no exchange (a SYN nobody answered, a failed handshake).
//!
//! ```text
//! ┌ Ladder zoom 1× ──────────────────────────────────────────────────────┐
//! │               198.51.100.77     198.51.100.53:53   203.0.113.10:443   │
//! │                  client               DNS        lyncdiscover.cont…  │
//! │     0.000          │──A lyncdiscov…──►│                  │           │
//! │     0.004          │◄─NOERROR 203.0…──│                  │           │
//! │     0.112          │──GET /?sipuri=alice@contoso.com────►│  #0 ad-r… │
//! └──────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! Client endpoints are addresses (one column per client host, not per source port); server
//! endpoints are address:port. Zoom widens the columns; pan moves across them.

use super::canvas::{fit, put, put_str, scroll_to, selected_style};
use super::state::{TimelineInput, TimelineState};
use crate::model::{rcode_name, rtype_name, Analysis, ConnId, DnsId, ExchId, Ts};
use crate::presentation::timeline::Item;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

/// Endpoints and events of the shown rows, in time order; built once per filter change.
pub(super) struct Flow {
    endpoints: Vec<Endpoint>,
    events: Vec<Event>,
    /// Index of each exchange's first event (its request, else its response).
    first_event: HashMap<ExchId, usize>,
    /// Times are shown relative to this.
    t0: Option<Ts>,
}

struct Endpoint {
    addr: String,
    /// The first host name seen for it (SNI, Host header), or its role ("client", "DNS").
    name: String,
    /// How many other names were seen (shown as "+N").
    more_names: usize,
}

impl Endpoint {
    /// "lyncdiscover.cont… +1": the first name cut so that the count stays visible.
    fn label(&self, width: usize) -> String {
        if self.more_names == 0 {
            return fit(&self.name, width);
        }
        let more = format!(" +{}", self.more_names);
        format!(
            "{}{more}",
            fit(&self.name, width.saturating_sub(more.len()))
        )
    }
}

#[derive(Debug, Clone, Copy)]
struct Event {
    when: Option<Ts>,
    what: What,
    from: usize,
    to: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum What {
    Request(ExchId),
    Response(ExchId),
    Query(DnsId),
    Answer(DnsId),
    Connect(ConnId),
}

impl What {
    fn exchange(self) -> Option<ExchId> {
        match self {
            What::Request(id) | What::Response(id) => Some(id),
            What::Query(_) | What::Answer(_) | What::Connect(_) => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Client(IpAddr),
    Server(SocketAddr),
}

/// Narrowest distance between two lifelines that still leaves room for a short label.
const MIN_SPACING: u16 = 18;
/// Time column: a mark and "   12.345".
const TIME_WIDTH: u16 = 11;

impl Flow {
    pub(super) fn new(
        a: &Analysis,
        rows: &[ExchId],
        dns: &[DnsId],
        connections: &[ConnId],
        t0: Option<Ts>,
    ) -> Flow {
        // (when, order of discovery, event with endpoint keys).
        let mut raw: Vec<(Option<Ts>, What, Key, Key)> = Vec::new();
        let mut names: HashMap<Key, Vec<String>> = HashMap::new();
        let mut add_name = |k: Key, n: &str| {
            let list = names.entry(k).or_default();
            // Enough names to count a few; a label shows only the first.
            if !n.is_empty() && list.len() < 64 && !list.iter().any(|m| m.eq_ignore_ascii_case(n)) {
                list.push(n.to_string());
            }
        };
        for x in rows.iter().filter_map(|id| a.exchanges.get(id.0 as usize)) {
            let Some(c) = a.connections.get(x.connection.0 as usize) else {
                continue;
            };
            let client = Key::Client(c.client.ip());
            let server = Key::Server(c.server);
            if let Some(sni) = c.tls.as_ref().and_then(|t| t.sni.as_deref()) {
                add_name(server, sni);
            }
            if let Some(host) = x.request.as_ref().and_then(|r| r.host()) {
                add_name(server, strip_port(host));
            }
            let t = &x.timing;
            let req_when = t.request_start().or(t.request_end()).map(|a| a.ts);
            if x.request.is_some() {
                raw.push((req_when, What::Request(x.id), client, server));
            }
            if x.response.is_some() {
                let when = t
                    .response_start()
                    .or(t.response_end())
                    .map(|a| a.ts)
                    .or(req_when);
                raw.push((when, What::Response(x.id), server, client));
            }
        }
        for l in dns.iter().filter_map(|id| a.dns.get(id.0 as usize)) {
            let client = Key::Client(l.client.ip());
            let server = Key::Server(l.server);
            add_name(server, "DNS");
            if let Some(q) = l.query {
                raw.push((Some(q.ts), What::Query(l.id), client, server));
            }
            if let Some(r) = &l.response {
                raw.push((Some(r.arrival.ts), What::Answer(l.id), server, client));
            }
        }
        for c in connections
            .iter()
            .filter_map(|id| a.connections.get(id.0 as usize))
        {
            let server = Key::Server(c.server);
            if let Some(sni) = c.tls.as_ref().and_then(|t| t.sni.as_deref()) {
                add_name(server, sni);
            }
            raw.push((
                Some(c.first_seen),
                What::Connect(c.id),
                Key::Client(c.client.ip()),
                server,
            ));
        }
        // Time order; events without a time keep list order after all timed ones.
        let mut order: Vec<usize> = (0..raw.len()).collect();
        order.sort_by_key(|&i| (raw[i].0.is_none(), raw[i].0, i));
        // Columns: clients first, then servers, each in order of first appearance.
        let mut index: HashMap<Key, usize> = HashMap::new();
        let mut keys: Vec<Key> = Vec::new();
        for clients in [true, false] {
            for &i in &order {
                let (_, _, from, to) = raw[i];
                for k in [from, to] {
                    if matches!(k, Key::Client(_)) == clients && !index.contains_key(&k) {
                        index.insert(k, keys.len());
                        keys.push(k);
                    }
                }
            }
        }
        let endpoints = keys
            .iter()
            .map(|k| {
                let (addr, role) = match k {
                    Key::Client(ip) => (ip.to_string(), "client"),
                    Key::Server(s) => (crate::model::endpoint(s), ""),
                };
                let (name, more_names) = match names.get(k).map(Vec::as_slice) {
                    Some([first, rest @ ..]) => (first.clone(), rest.len()),
                    _ => (role.to_string(), 0),
                };
                Endpoint {
                    addr,
                    name,
                    more_names,
                }
            })
            .collect();
        let mut first_event = HashMap::new();
        let events: Vec<Event> = order
            .iter()
            .map(|&i| {
                let (when, what, from, to) = raw[i];
                Event {
                    when,
                    what,
                    from: index.get(&from).copied().unwrap_or(0),
                    to: index.get(&to).copied().unwrap_or(0),
                }
            })
            .collect();
        for (i, e) in events.iter().enumerate() {
            if let Some(id) = e.what.exchange() {
                first_event.entry(id).or_insert(i);
            }
        }
        let t0 = t0.or_else(|| events.iter().find_map(|e| e.when));
        Flow {
            endpoints,
            events,
            first_event,
            t0,
        }
    }
}

/// "host:8080" → "host"; IPv6 literals in brackets are left alone.
fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((h, p))
            if (!h.contains(':') || h.ends_with(']')) && p.bytes().all(|b| b.is_ascii_digit()) =>
        {
            h
        }
        _ => host,
    }
}

struct Layout {
    /// First event row.
    top: u16,
    visible: usize,
    /// The endpoint columns.
    plot: Rect,
    spacing: u16,
    /// Virtual columns scrolled off to the left.
    left: u32,
    /// Comment column (right of the endpoints) when there is room.
    comment: Option<Rect>,
}

fn layout(inner: Rect, flow: &Flow, state: &TimelineState) -> Layout {
    let n = flow.endpoints.len().max(1) as u32;
    let tw = if inner.width >= 30 { TIME_WIDTH } else { 0 };
    let avail = inner.width.saturating_sub(tw);
    let need = n * u32::from(MIN_SPACING);
    // Room for "#123 stage" at the right when the columns leave it.
    let comment_w = if u32::from(avail) >= need + 16 {
        (u32::from(avail) - need).min(24) as u16
    } else {
        0
    };
    let cols = avail - comment_w;
    let base = (u32::from(cols) / n).max(u32::from(MIN_SPACING));
    let cap = u32::from(cols.max(MIN_SPACING));
    // Zoom widens the gaps until one of them fills the plot.
    let spacing = (f64::from(base) * state.zoom()).clamp(f64::from(base), f64::from(cap)) as u16;
    let spacing = spacing.max(1);
    let virtual_w = u32::from(spacing) * n;
    let max_left = virtual_w.saturating_sub(u32::from(cols));
    let left = ((state.offset() * f64::from(virtual_w)) as u32).min(max_left);
    let header = 2u16.min(inner.height);
    let plot = Rect::new(inner.x + tw, inner.y, cols, inner.height);
    let comment =
        (comment_w > 0).then(|| Rect::new(plot.right(), inner.y, comment_w, inner.height));
    Layout {
        top: inner.y + header,
        visible: usize::from(inner.height - header),
        plot,
        spacing,
        left,
        comment,
    }
}

impl Layout {
    /// Screen column of endpoint `j`'s lifeline (may be off the plot).
    fn center(&self, j: usize) -> i64 {
        i64::from(self.plot.x) + j as i64 * i64::from(self.spacing) + i64::from(self.spacing / 2)
            - i64::from(self.left)
    }
    /// Endpoints whose lifeline is on the plot.
    fn visible_columns(&self, n: usize) -> std::ops::Range<usize> {
        let s = u32::from(self.spacing.max(1));
        let first = (self.left / s) as usize;
        let last = ((self.left + u32::from(self.plot.width)) / s + 1) as usize;
        first.min(n)..last.min(n)
    }
}

fn first_row(flow: &Flow, input: &TimelineInput, scroll: usize, visible: usize) -> usize {
    let selected = input
        .selected
        .and_then(|id| flow.first_event.get(&id).copied());
    scroll_to(scroll, flow.events.len(), visible, selected)
}

/// Draws the ladder; false when there is nothing to draw.
pub(super) fn render(
    buf: &mut Buffer,
    inner: Rect,
    input: &TimelineInput,
    flow: &Flow,
    state: &mut TimelineState,
) -> bool {
    if flow.events.is_empty() {
        return false;
    }
    let theme = input.theme;
    let lay = layout(inner, flow, state);
    state.scroll = first_row(flow, input, state.scroll, lay.visible);
    let cols = lay.visible_columns(flow.endpoints.len());
    let label_w = usize::from(lay.spacing.saturating_sub(1));

    // Header: address, then name, centred over each lifeline.
    for j in cols.clone() {
        let e = &flow.endpoints[j];
        let name = e.label(label_w);
        for (dy, text, style) in [(0, &e.addr, theme.title()), (1, &name, theme.dim())] {
            if inner.y + dy >= lay.top {
                continue;
            }
            let text = fit(text, label_w);
            let x = lay.center(j) - (text.chars().count() as i64) / 2;
            centered(buf, lay.plot, x, inner.y + dy, &text, style);
        }
    }

    for (n, e) in flow
        .events
        .iter()
        .skip(state.scroll)
        .take(lay.visible)
        .enumerate()
    {
        let y = lay.top + n as u16;
        for j in cols.clone() {
            if let Ok(x) = u16::try_from(lay.center(j)) {
                put(buf, lay.plot, x, y, "│", theme.dim());
            }
        }
        let exchange = e.what.exchange();
        let selected = exchange.is_some() && exchange == input.selected;
        let dimmed = exchange.is_some_and(|id| input.is_dimmed(id));
        let (label, label_style, comment) = describe(input.analysis, e.what, input);
        let pick = |s: Style| {
            let s = if dimmed { theme.unmatched() } else { s };
            if selected {
                selected_style(theme, s)
            } else {
                s
            }
        };
        draw_arrow(
            buf,
            &lay,
            e,
            y,
            &label,
            pick(theme.normal()),
            pick(label_style),
        );

        // Time column: mark and seconds since the first event.
        if lay.plot.x > inner.x {
            let marked = exchange.is_some_and(|id| input.notes.is_marked(id));
            put_str(
                buf,
                inner,
                inner.x,
                y,
                if marked { "●" } else { " " },
                1,
                theme.mark(),
            );
            let time = match (e.when, flow.t0) {
                (Some(t), Some(t0)) => format!("{:>9.3}", since(t, t0)),
                _ => format!("{:>9}", "—"),
            };
            put_str(buf, inner, inner.x + 1, y, &time, 9, pick(theme.dim()));
        }
        if let Some(c) = lay.comment {
            let text = fit(&comment, usize::from(c.width.saturating_sub(1)));
            put_str(
                buf,
                c,
                c.x + 1,
                y,
                &text,
                usize::from(c.width),
                pick(theme.dim()),
            );
        }
    }
    true
}

/// Writes `text` from screen column `x` (possibly left of the plot), clipped to `clip`.
fn centered(buf: &mut Buffer, clip: Rect, x: i64, y: u16, text: &str, style: Style) {
    let skip = (i64::from(clip.x) - x).max(0) as usize;
    let x = x.max(i64::from(clip.x));
    let Ok(x) = u16::try_from(x) else { return };
    let text: String = text.chars().skip(skip).collect();
    put_str(buf, clip, x, y, &text, usize::MAX, style);
}

/// `│──label───►│` from the sender's lifeline to the receiver's (`◄` going left), or `↺ label`
/// when both ends are the same endpoint.
fn draw_arrow(
    buf: &mut Buffer,
    lay: &Layout,
    e: &Event,
    y: u16,
    label: &str,
    line: Style,
    text: Style,
) {
    let (xa, xb) = (lay.center(e.from), lay.center(e.to));
    let row = Rect::new(lay.plot.x, y, lay.plot.width, 1);
    let cell = |buf: &mut Buffer, x: i64, sym: &str, style: Style| {
        if let Ok(x) = u16::try_from(x) {
            put(buf, row, x, y, sym, style);
        }
    };
    if xa == xb {
        let room = usize::from(lay.spacing.saturating_sub(2));
        centered(buf, row, xa + 1, y, &fit(&format!("↺ {label}"), room), text);
        return;
    }
    let (lo, hi) = (xa.min(xb), xa.max(xb));
    // Only the visible part of a long arrow is walked.
    let from = (lo + 1).max(i64::from(row.x));
    let to = (hi - 1).min(i64::from(row.right()) - 1);
    for x in from..=to {
        cell(buf, x, "─", line);
    }
    if xa < xb {
        cell(buf, xb - 1, "►", line);
    } else {
        cell(buf, xb + 1, "◄", line);
    }
    // The label sits on the shaft, after two cells of it, and stops two cells short of the
    // head; it slides right when the start is panned off.
    let start = (lo + 3).max(i64::from(row.x) + 1);
    let end = (hi - 2).min(i64::from(row.right()));
    if end > start {
        let room = (end - start) as usize;
        centered(buf, row, start, y, &fit(label, room), text);
    }
}

/// The arrow label, its style and the comment for an event.
fn describe(a: &Analysis, what: What, input: &TimelineInput) -> (String, Style, String) {
    let theme = input.theme;
    match what {
        What::Request(id) => {
            let Some(x) = a.exchanges.get(id.0 as usize) else {
                return (String::new(), theme.normal(), String::new());
            };
            let stage = x.stage.as_ref().map_or("unrelated", |t| t.id.as_str());
            let mut label = x
                .request
                .as_ref()
                .map_or_else(|| "?".into(), |r| format!("{} {}", r.method, r.target));
            // HTTP/2 streams of one connection interleave: each arrow names its stream.
            if let Some(tag) = crate::presentation::timeline::stream_tag(x) {
                label = format!("{tag} {label}");
            }
            (label, theme.stage(stage), format!("#{} {stage}", id.0))
        }
        What::Response(id) => {
            let Some(x) = a.exchanges.get(id.0 as usize) else {
                return (String::new(), theme.normal(), String::new());
            };
            let status = x.response.as_ref().map(|r| r.status);
            let mut label = x
                .response
                .as_ref()
                .map_or_else(String::new, |r| format!("{} {}", r.status, r.reason));
            if let Some(tag) = crate::presentation::timeline::stream_tag(x) {
                label = format!("{tag} {}", label.trim_end());
            }
            let outcome = x.stage.as_ref().map_or("", |t| t.outcome.as_str());
            let style = if x
                .stage
                .as_ref()
                .is_some_and(|t| t.outcome == crate::model::Outcome::Fail)
            {
                theme.error()
            } else {
                theme.status(status)
            };
            (label, style, format!("#{} {outcome}", id.0))
        }
        What::Query(id) => {
            let Some(l) = a.dns.get(id.0 as usize) else {
                return (String::new(), theme.normal(), String::new());
            };
            let qtype =
                rtype_name(l.qtype).map_or_else(|| format!("TYPE{}", l.qtype), str::to_string);
            let stage = l.stage.as_ref().map_or("unrelated", |t| t.id.as_str());
            (
                format!("{qtype} {}", l.qname),
                theme.stage(stage),
                format!("dns {stage}"),
            )
        }
        What::Connect(id) => {
            let Some(c) = a.connections.get(id.0 as usize) else {
                return (String::new(), theme.normal(), String::new());
            };
            let tag = c.stage.as_ref();
            let label = match tag.and_then(|t| t.note.as_deref()) {
                Some(note) => format!("TCP connect: {note}"),
                None if !c.syn_ack => "TCP connect: no SYN-ACK".to_string(),
                None => "TCP connect".to_string(),
            };
            let style = if tag.is_some_and(|t| t.outcome == crate::model::Outcome::Fail) {
                theme.error()
            } else {
                theme.dim()
            };
            let comment =
                tag.map_or_else(String::new, |t| format!("{} {}", t.id, t.outcome.as_str()));
            (label, style, comment)
        }
        What::Answer(id) => {
            let Some(r) = a
                .dns
                .get(id.0 as usize)
                .and_then(|l| l.response.as_ref().map(|r| (l, r)))
            else {
                return (String::new(), theme.normal(), String::new());
            };
            let (l, resp) = r;
            let mut label = rcode_name(resp.rcode).to_string();
            let answers: Vec<String> = l
                .addresses()
                .map(|ip| ip.to_string())
                .chain(l.cnames().map(str::to_string))
                .take(3)
                .collect();
            if !answers.is_empty() {
                label = format!("{label} {}", answers.join(" "));
            }
            let style = if resp.rcode == 0 {
                theme.ok()
            } else {
                theme.warning()
            };
            let outcome = l.stage.as_ref().map_or("", |t| t.outcome.as_str());
            (label, style, format!("dns {outcome}"))
        }
    }
}

/// What the clicked event row is about: an exchange, a DNS lookup or a connection.
pub(super) fn hit(
    inner: Rect,
    flow: &Flow,
    state: &TimelineState,
    _column: u16,
    row: u16,
) -> Option<Item> {
    let lay = layout(inner, flow, state);
    if row < lay.top || usize::from(row - lay.top) >= lay.visible {
        return None;
    }
    // hit_test has no selection to follow: the scroll is the one the last frame settled on.
    let scroll = scroll_to(state.scroll, flow.events.len(), lay.visible, None);
    flow.events
        .get(scroll + usize::from(row - lay.top))
        .map(|e| match e.what {
            What::Request(id) | What::Response(id) => Item::Exchange(id),
            What::Query(id) | What::Answer(id) => Item::Dns(id),
            What::Connect(id) => Item::Connection(id),
        })
}

/// Seconds since `t0`, for the time column.
fn since(t: Ts, t0: Ts) -> f64 {
    t.secs_since(t0)
}

#[cfg(test)]
mod tests;
