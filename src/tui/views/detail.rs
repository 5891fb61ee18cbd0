//! The detail pane: one exchange in tabs (Overview, Request, Response, Hex, Auth), after
//! mitmproxy's flow view (design-anchors §A.2): the Overview tab carries what the stage layer
//! concluded (stage, rule, parent) next to timing, connection and TLS facts, the message tabs
//! show headers and a readable body, Auth shows the decoded authentication legs.
//!
//! Every tab is first built as a list of lines ([`detail_lines`]); the pane scrolls over those
//! lines and wraps the visible ones to its width, so only what is on screen is laid out.

use crate::model::{
    rcode_name, rtype_name, Analysis, AuthFacts, AuthLeg, Body, Challenge, Connection, Exchange,
    Headers, MsDiagnostic, Notes, NtlmMessage, StreamEnd, TlsInfo, TokenRef, Ts,
};
use crate::report::content::{hexdump, lossy, pretty_folded};
use crate::report::snippets::{request_head, response_head};
use crate::timeline::{human_duration, utc_time};
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;
use std::ops::Range;

/// How much of one body (or one message in the Hex tab) is laid out: more would make every
/// frame slow, and nobody reads a megabyte in a terminal pane.
const BODY_CAP: usize = 256 * 1024;

/// Width of the label column of `label  value` lines.
const LABEL_WIDTH: usize = 19;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DetailTab {
    #[default]
    Overview,
    Request,
    Response,
    Hex,
    Auth,
}

impl DetailTab {
    pub const ALL: [DetailTab; 5] = [
        DetailTab::Overview,
        DetailTab::Request,
        DetailTab::Response,
        DetailTab::Hex,
        DetailTab::Auth,
    ];

    pub fn title(self) -> &'static str {
        match self {
            DetailTab::Overview => "Overview",
            DetailTab::Request => "Request",
            DetailTab::Response => "Response",
            DetailTab::Hex => "Hex",
            DetailTab::Auth => "Auth",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    /// The next tab, wrapping around.
    pub fn next(self) -> Self {
        Self::ALL[(self.index() + 1) % Self::ALL.len()]
    }

    /// The previous tab, wrapping around.
    pub fn prev(self) -> Self {
        Self::ALL[(self.index() + Self::ALL.len() - 1) % Self::ALL.len()]
    }
}

/// What the pane shows of the selected exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DetailState {
    pub tab: DetailTab,
    /// First line shown (an index into [`detail_lines`]); clamped when drawn.
    pub scroll: usize,
    /// Bodies shown as sent (decoded but not pretty-printed) instead of pretty.
    pub raw: bool,
    /// JSON bodies: objects and arrays from this nesting level on are folded.
    pub fold: Option<usize>,
}

/// All lines of a tab (the pane scrolls over them; also used to count lines and for search
/// highlighting).
pub fn detail_lines(
    a: &Analysis,
    x: &Exchange,
    notes: &Notes,
    tab: DetailTab,
    raw: bool,
    theme: &Theme,
) -> Vec<Line<'static>> {
    build(a, x, notes, tab, raw, None, theme).lines
}

/// The lines of a tab with the indent of their wrapped continuation rows.
fn build<'t>(
    a: &Analysis,
    x: &Exchange,
    notes: &Notes,
    tab: DetailTab,
    raw: bool,
    fold: Option<usize>,
    theme: &'t Theme,
) -> Out<'t> {
    let mut out = Out::new(theme);
    if a.partial {
        out.partial = true;
        out.line(vec![Span::styled(
            "Still loading: stage, TLS, authentication, findings and bodies are shown once the whole capture is read.",
            theme.warning(),
        )]);
    }
    match tab {
        DetailTab::Overview => overview(&mut out, a, x, notes),
        DetailTab::Request => request_tab(&mut out, x, raw, fold),
        DetailTab::Response => response_tab(&mut out, x, raw, fold),
        DetailTab::Hex => hex_tab(&mut out, x),
        DetailTab::Auth => auth_tab(&mut out, x),
    }
    out
}

/// Draws the tab bar and the visible part of the current tab. `highlight`: byte ranges to mark
/// in a line of text (the search), e.g. `|line| search.find_in(line)`.
// The signature is the one the app calls with; its length is the pane's inputs.
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub fn render_detail(
    f: &mut Frame,
    area: Rect,
    a: &Analysis,
    x: Option<&Exchange>,
    notes: &Notes,
    state: &mut DetailState,
    theme: &Theme,
    focused: bool,
    highlight: Option<&dyn Fn(&str) -> Vec<Range<usize>>>,
) {
    let border = if focused {
        theme.focus_border()
    } else {
        theme.border()
    };
    let mut block = Block::bordered().border_style(border);
    let Some(x) = x else {
        state.scroll = 0;
        let block = block.title(Line::styled(" Detail ", theme.title()));
        let inner = block.inner(area);
        f.render_widget(block, area);
        f.render_widget(
            Paragraph::new(Line::styled("no exchange selected", theme.dim())),
            inner,
        );
        return;
    };

    let built = cached_build(a, x, notes, state, theme);
    let (lines, hangs) = (&built.lines, &built.hangs);
    let inner = block.inner(area);
    let body_height = inner.height.saturating_sub(1) as usize;
    let width = inner.width as usize;
    state.scroll = state
        .scroll
        .min(max_scroll(lines, hangs, width, body_height));

    block = block
        .title(Line::styled(
            format!(" {} ", exchange_title(a, x)),
            theme.title(),
        ))
        .title(
            Line::styled(
                format!(" {}/{} ", (state.scroll + 1).min(lines.len()), lines.len()),
                theme.dim(),
            )
            .right_aligned(),
        );
    f.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let bar = Rect { height: 1, ..inner };
    f.render_widget(tab_bar(state, theme), bar);

    let mut rows: Vec<Line<'static>> = Vec::with_capacity(body_height);
    for (line, hang) in lines.iter().zip(hangs).skip(state.scroll) {
        if rows.len() >= body_height {
            break;
        }
        let line = match highlight {
            Some(find) => {
                let ranges = find(&line_text(line));
                if ranges.is_empty() {
                    line.clone()
                } else {
                    mark_ranges(line, &ranges, theme.hit())
                }
            }
            None => line.clone(),
        };
        rows.extend(wrap(&line, width, *hang));
    }
    rows.truncate(body_height);
    let content = Rect {
        y: inner.y.saturating_add(1),
        height: inner.height - 1,
        ..inner
    };
    f.render_widget(Paragraph::new(rows), content);
}

/// A built tab, kept between frames.
struct Built {
    lines: Vec<Line<'static>>,
    hangs: Vec<usize>,
}

/// What a built tab depends on. The analysis is frozen, so its address and sizes stand for
/// it; the exchange's own timing and stage make a mix-up with another analysis that happens
/// to land at the same address impossible in practice.
#[derive(PartialEq)]
struct CacheKey {
    analysis: usize,
    exchange: usize,
    sizes: [usize; 4],
    id: crate::model::ExchId,
    timing: crate::model::Timing,
    stage: Option<Box<crate::model::StageTag>>,
    note: Option<crate::model::Note>,
    tab: DetailTab,
    raw: bool,
    fold: Option<usize>,
    theme: Theme,
    partial: bool,
}

thread_local! {
    /// The last tab drawn: pretty-printing and hex-dumping a 256 KiB body takes longer than
    /// a frame should, and the pane redraws the same tab while it scrolls.
    static LAST_BUILT: std::cell::RefCell<Option<(CacheKey, std::rc::Rc<Built>)>> =
        const { std::cell::RefCell::new(None) };
}

fn cached_build(
    a: &Analysis,
    x: &Exchange,
    notes: &Notes,
    state: &DetailState,
    theme: &Theme,
) -> std::rc::Rc<Built> {
    let key = CacheKey {
        analysis: std::ptr::from_ref(a) as usize,
        exchange: std::ptr::from_ref(x) as usize,
        sizes: [
            a.exchanges.len(),
            a.connections.len(),
            a.findings.len(),
            a.diagnostics.len(),
        ],
        id: x.id,
        timing: x.timing,
        stage: x.stage.clone(),
        note: notes.get(x.id).cloned(),
        tab: state.tab,
        raw: state.raw,
        fold: state.fold,
        theme: *theme,
        partial: a.partial,
    };
    LAST_BUILT.with(|cell| {
        if let Some((k, built)) = cell.borrow().as_ref() {
            if *k == key {
                return std::rc::Rc::clone(built);
            }
        }
        let out = build(a, x, notes, state.tab, state.raw, state.fold, theme);
        let built = std::rc::Rc::new(Built {
            lines: out.lines,
            hangs: out.hangs,
        });
        *cell.borrow_mut() = Some((key, std::rc::Rc::clone(&built)));
        built
    })
}

/// "#12 POST webext-pool1.contoso.com": the exchange, its method and the host it went to.
fn exchange_title(a: &Analysis, x: &Exchange) -> String {
    let method = x.request.as_ref().map_or("—", |r| r.method.as_str());
    format!("#{} {} {}", x.id.0, method, host_of(a, x))
}

/// The host as the client named it: Host header, else SNI, else the server address.
fn host_of(a: &Analysis, x: &Exchange) -> String {
    if let Some(h) = x.request.as_ref().and_then(|r| r.host()) {
        return clean(h);
    }
    let c = a.connections.get(x.connection.0 as usize);
    if let Some(sni) = c
        .and_then(|c| c.tls.as_ref())
        .and_then(|t| t.sni.as_deref())
    {
        return clean(sni);
    }
    c.map_or_else(|| "?".to_string(), |c| c.server.to_string())
}

fn tab_bar(state: &DetailState, theme: &Theme) -> Line<'static> {
    let mut spans = Vec::new();
    for (i, tab) in DetailTab::ALL.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled("│", theme.dim()));
        }
        let style = if *tab == state.tab {
            theme.selected().patch(theme.title())
        } else {
            theme.normal()
        };
        spans.push(Span::styled(format!(" {} ", tab.title()), style));
    }
    if matches!(state.tab, DetailTab::Request | DetailTab::Response) {
        let mode = if state.raw {
            "  body: as sent"
        } else {
            "  body: pretty"
        };
        spans.push(Span::styled(mode, theme.dim()));
    }
    Line::from(spans)
}

// ---------------------------------------------------------------------------------------------
// Line building

/// Collects the lines of a tab, with the few line shapes every tab uses.
struct Out<'t> {
    lines: Vec<Line<'static>>,
    /// Per line: columns by which its wrapped continuation rows are indented (under the value
    /// of a `label  value` line, under the value of a header).
    hangs: Vec<usize>,
    theme: &'t Theme,
    /// Built from a provisional analysis (still loading).
    partial: bool,
}

impl<'t> Out<'t> {
    fn new(theme: &'t Theme) -> Out<'t> {
        Out {
            lines: Vec::new(),
            hangs: Vec::new(),
            theme,
            partial: false,
        }
    }

    fn push(&mut self, line: Line<'static>, hang: usize) {
        self.lines.push(line);
        self.hangs.push(hang);
    }

    fn blank(&mut self) {
        self.push(Line::default(), 0);
    }

    /// A section heading, preceded by a blank line unless it is the first line.
    fn heading(&mut self, text: impl Into<String>) {
        if !self.lines.is_empty() {
            self.blank();
        }
        let line = Line::styled(clean(&text.into()), self.theme.title());
        self.push(line, 2);
    }

    /// `label           value` (the label dim, in a fixed column).
    fn field(&mut self, label: &str, value: Vec<Span<'static>>) {
        let label = format!("  {:<w$} ", label, w = LABEL_WIDTH - 3);
        let hang = Span::raw(label.as_str()).width();
        let mut spans = vec![Span::styled(label, self.theme.dim())];
        spans.extend(value);
        self.push(Line::from(spans), hang);
    }

    fn field_text(&mut self, label: &str, value: impl AsRef<str>) {
        self.field(label, vec![Span::raw(clean(value.as_ref()))]);
    }

    fn field_styled(&mut self, label: &str, value: impl AsRef<str>, style: Style) {
        self.field(label, vec![Span::styled(clean(value.as_ref()), style)]);
    }

    /// Multi-line text, one line each.
    fn text(&mut self, text: &str, style: Style) {
        for l in text.lines() {
            let s = clean(l);
            // Wrapped rows of indented text (pretty JSON, XML) stay at their level.
            let hang = s.len() - s.trim_start_matches(' ').len();
            self.push(Line::styled(s, style), hang);
        }
    }

    fn line(&mut self, spans: Vec<Span<'static>>) {
        self.push(Line::from(spans), 0);
    }

    /// A line whose wrapped rows continue under the end of its first `n` spans.
    fn hanging(&mut self, spans: Vec<Span<'static>>, n: usize) {
        let hang = spans.iter().take(n).map(Span::width).sum();
        self.push(Line::from(spans), hang);
    }
}

/// Text made safe for a terminal cell grid: tabs become spaces, carriage returns go, other
/// control characters show as `·` (they would move the cursor or be invisible).
fn clean(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' => out.push_str("    "),
            '\r' | '\n' => {}
            c if c.is_control() => out.push('·'),
            c => out.push(c),
        }
    }
    out
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn ns_between(later: Ts, earlier: Ts) -> i64 {
    later.0.saturating_sub(earlier.0)
}

// ---------------------------------------------------------------------------------------------
// Overview

fn overview(out: &mut Out, a: &Analysis, x: &Exchange, notes: &Notes) {
    let t = *out.theme;
    out.heading("Exchange");
    match &x.request {
        Some(r) => out.field(
            "Request",
            vec![
                Span::styled(clean(&r.method), t.title()),
                Span::raw(" "),
                Span::raw(clean(&url_of(a, x, &r.target))),
            ],
        ),
        None => out.field_styled(
            "Request",
            "not in the capture (sent before it started)",
            t.dim(),
        ),
    }
    match &x.response {
        Some(r) => {
            let mut spans = vec![Span::styled(
                format!("{} {}", r.status, clean(&r.reason)),
                t.status(Some(r.status)),
            )];
            if let Some(ct) = r.headers.get("content-type") {
                spans.push(Span::styled(format!("  {}", clean(ct)), t.dim()));
            }
            out.field("Response", spans);
        }
        None => out.field_styled("Response", "none in the capture", t.status(None)),
    }
    out.field_text("Captured", capture_words(x));
    if let Some(u) = &x.upgrade {
        let text = match u {
            crate::model::Upgrade::Tunnel => {
                "CONNECT tunnel: the rest of the connection is not HTTP".to_string()
            }
            crate::model::Upgrade::Protocol(p) => format!("switched protocols to {p}"),
        };
        out.field_text("Upgrade", text);
    }

    stage_section(out, a, x);
    notes_section(out, x, notes);
    timing_section(out, a, x);
    let conn = a.connections.get(x.connection.0 as usize);
    if let Some(c) = conn {
        connection_section(out, x, c);
        if let Some(tls) = &c.tls {
            tls_section(out, tls);
        }
    }
    findings_section(out, a, x);
}

fn capture_words(x: &Exchange) -> &'static str {
    match x.capture {
        crate::model::CaptureState::Full => "request and response, complete",
        crate::model::CaptureState::Truncated => "incomplete: bytes missing or cut short",
        crate::model::CaptureState::ResponseOnly => "response only (request before the capture)",
        crate::model::CaptureState::NoResponse => "request only: no response in the capture",
    }
}

/// The URL as the client asked for it (absolute-form targets are already URLs).
fn url_of(a: &Analysis, x: &Exchange, target: &str) -> String {
    if target.starts_with('/') {
        format!("{}://{}{}", x.scheme.as_str(), host_of(a, x), target)
    } else {
        target.to_string()
    }
}

fn stage_section(out: &mut Out, a: &Analysis, x: &Exchange) {
    let t = *out.theme;
    out.heading("Stage");
    let Some(tag) = x.stage.as_deref() else {
        let why = if a.partial {
            "known once loading has finished"
        } else {
            "not tagged (no stage rules were applied)"
        };
        out.field_styled("Stage", why, t.dim());
        return;
    };
    out.field(
        "Stage",
        vec![
            Span::styled(clean(&tag.id), t.stage(&tag.id)),
            Span::raw("  "),
            Span::styled(tag.outcome.as_str(), t.outcome(tag.outcome)),
        ],
    );
    out.field_text("Rule", &tag.rule);
    if let Some(sub) = &tag.subkind {
        out.field_text("Kind", sub);
    }
    if let Some(p) = tag.parent {
        let mut text = format!("← #{}", p.0);
        if let Some(px) = a.exchanges.get(p.0 as usize) {
            if let Some(r) = &px.request {
                text.push_str(&format!(" {} {}", r.method, short_target(&r.target)));
            }
        }
        if let Some(via) = &tag.via {
            text.push_str(&format!(" via {via}"));
        }
        out.field_text("Parent", text);
    } else if let Some(via) = &tag.via {
        out.field_text("Via", via);
    }
    if let Some(note) = &tag.note {
        out.field_styled("Note", note, t.warning());
    }
    if let Some(dns) = tag.dns.and_then(|id| a.dns.get(id.0 as usize)) {
        let qtype = rtype_name(dns.qtype)
            .map(str::to_string)
            .unwrap_or_else(|| format!("TYPE{}", dns.qtype));
        let mut text = format!("{} {}", dns.qname, qtype);
        match &dns.response {
            Some(r) => {
                let addrs: Vec<String> = dns.addresses().map(|ip| ip.to_string()).collect();
                if addrs.is_empty() {
                    text.push_str(&format!(" → {}", rcode_name(r.rcode)));
                } else {
                    text.push_str(&format!(" → {}", addrs.join(", ")));
                }
                text.push_str(&format!(
                    " (lookup #{}, {})",
                    dns.id.0,
                    utc_time(r.arrival.ts, false)
                ));
            }
            None => text.push_str(&format!(" (lookup #{}, unanswered)", dns.id.0)),
        }
        out.field_text("DNS", text);
    }
}

/// A request target short enough for one line of the Overview.
fn short_target(target: &str) -> String {
    const MAX: usize = 60;
    if target.chars().count() <= MAX {
        target.to_string()
    } else {
        let cut: String = target.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

fn notes_section(out: &mut Out, x: &Exchange, notes: &Notes) {
    let t = *out.theme;
    let note = notes.get(x.id);
    let ann = x.annotations.as_deref();
    if note.is_none() && ann.is_none() {
        return;
    }
    out.heading("Notes");
    if notes.is_marked(x.id) {
        out.field_styled("Mark", "marked", t.mark());
    }
    if let Some(c) = notes.comment(x.id) {
        out.field_text("Comment", c);
    }
    let Some(ann) = ann else { return };
    out.field_text("Recorded as", &ann.origin);
    if let Some(c) = &ann.comment {
        // Input comments usually became the note above; show them only when they differ.
        if notes.comment(x.id) != Some(c.as_str()) {
            out.field_text("Trace comment", c);
        }
    }
    if let Some(c) = &ann.color {
        out.field_text("Trace colour", c);
    }
    if ann.generated_by_proxy {
        out.field_styled(
            "Made by proxy",
            "the proxy generated this response, not the server",
            t.warning(),
        );
    }
    if !ann.websocket.is_empty() {
        out.field_text(
            "WebSocket",
            plural(ann.websocket.len() as u64, "message", "messages"),
        );
    }
    for (name, value) in &ann.flags {
        out.field(
            "Flag",
            vec![
                Span::styled(clean(name), t.title()),
                Span::raw(" = "),
                Span::raw(clean(value)),
            ],
        );
    }
}

fn timing_section(out: &mut Out, a: &Analysis, x: &Exchange) {
    let t = *out.theme;
    let tm = &x.timing;
    out.heading("Timing");
    let Some(first) = tm.first() else {
        out.field_styled("Timing", "no timing recorded", t.dim());
        return;
    };
    let origin = a.exchanges.first().filter(|e| e.id != x.id);
    let mut spans = vec![Span::raw(format!("{} UTC", utc_time(first.ts, true)))];
    match origin.and_then(|e| e.timing.first()) {
        Some(o) => spans.push(Span::styled(
            format!(
                "  +{} after the first exchange",
                human_duration(ns_between(first.ts, o.ts))
            ),
            t.dim(),
        )),
        None => spans.push(Span::styled("  (the first exchange)", t.dim())),
    }
    // Trace archives (SAZ, HAR) have no frames.
    if first.frame.0 > 0 {
        spans.push(Span::styled(format!("  frame {}", first.frame.0), t.dim()));
    }
    let label = if tm.request_start.is_some() {
        "Request start"
    } else {
        "Response start"
    };
    out.field(label, spans);

    let dur = |from: Option<crate::model::Arrival>, to: Option<crate::model::Arrival>| {
        Some(ns_between(to?.ts, from?.ts))
    };
    if let Some(ns) = dur(tm.request_start, tm.request_end) {
        out.field_text("Request sent", human_duration(ns));
    }
    if let Some(ns) = dur(tm.request_end.or(tm.request_start), tm.response_start) {
        out.field_text("Wait (TTFB)", human_duration(ns));
    }
    if let Some(ns) = dur(tm.response_start, tm.response_end) {
        out.field_text("Receive", human_duration(ns));
    }
    if let Some(span) = crate::timeline::exchange_span(x) {
        let mut spans = vec![Span::styled(
            human_duration(ns_between(span.end, span.start)),
            t.title(),
        )];
        if tm.response_end.is_none() {
            spans.push(Span::styled("  (no response end seen)", t.dim()));
        }
        out.field("Total", spans);
    }
    if let Some(ann) = x.annotations.as_deref() {
        for (name, ts) in &ann.timers {
            out.field(
                "Proxy timer",
                vec![
                    Span::raw(format!("{} ", utc_time(*ts, false))),
                    Span::styled(clean(name), t.dim()),
                ],
            );
        }
    }
}

fn end_words(e: StreamEnd) -> &'static str {
    match e {
        StreamEnd::Fin => "FIN",
        StreamEnd::Rst => "RST",
        StreamEnd::CaptureEnd => "open at capture end",
    }
}

fn connection_section(out: &mut Out, x: &Exchange, c: &Connection) {
    let t = *out.theme;
    out.heading(format!("Connection #{}", c.id.0));
    out.field(
        "Client → server",
        vec![
            Span::raw(format!("{} → {}", c.client, c.server)),
            Span::styled(format!("  {}", c.protocol.as_str()), t.dim()),
        ],
    );
    let mut seen = format!(
        "{} – {} UTC",
        utc_time(c.first_seen, false),
        utc_time(c.last_seen, false)
    );
    if c.first_frame.0 > 0 {
        seen.push_str(&format!(
            "  (frames {}–{})",
            c.first_frame.0, c.last_frame.0
        ));
    }
    out.field_text("Seen", seen);
    let payload = format!("payload {} ↑ {} ↓", c.payload_bytes[0], c.payload_bytes[1]);
    if c.packets > 0 {
        out.field_text(
            "Packets",
            format!(
                "{}, {} on the wire; {payload}",
                c.packets,
                plural(c.bytes, "byte", "bytes")
            ),
        );
    } else {
        out.field_text("Bytes", payload);
    }
    let handshake = match (c.handshake, c.syn_ack) {
        (true, true) => ("SYN and SYN-ACK seen", t.normal()),
        (true, false) => ("SYN seen, no SYN-ACK", t.warning()),
        (false, _) => ("not seen (capture started mid-connection)", t.dim()),
    };
    out.field_styled("Handshake", handshake.0, handshake.1);
    out.field_text(
        "Ends",
        format!(
            "client {} · server {}",
            end_words(c.end[0]),
            end_words(c.end[1])
        ),
    );
    if c.missing_bytes == [0, 0] {
        out.field_text("Missing bytes", "none");
    } else {
        out.field_styled(
            "Missing bytes",
            format!(
                "{} client→server, {} server→client",
                c.missing_bytes[0], c.missing_bytes[1]
            ),
            t.warning(),
        );
    }
    let n = c.exchanges.len();
    let text = match c.exchanges.iter().position(|id| *id == x.id) {
        Some(i) => format!("{} of {n} on this connection", i + 1),
        None => plural(n as u64, "exchange", "exchanges"),
    };
    out.field_text("Exchange", text);
}

fn tls_section(out: &mut Out, tls: &TlsInfo) {
    let t = *out.theme;
    out.heading("TLS");
    let or_unknown = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_string());
    out.field_text("Version", or_unknown(&tls.version));
    out.field_text("Cipher suite", or_unknown(&tls.cipher_suite));
    out.field_text("SNI", or_unknown(&tls.sni));
    if let Some(alpn) = &tls.alpn {
        out.field_text("ALPN", alpn);
    }
    if tls.resumed {
        out.field_text("Resumed", "yes (abbreviated handshake)");
    }
    if tls.decrypted {
        out.field_styled("Decrypted", "yes", t.ok());
        if let Some(src) = &tls.key_source {
            out.field_text("Key source", src);
        }
        if tls.plaintext_bytes != [0, 0] {
            out.field_text(
                "Plaintext",
                format!(
                    "{} ↑ {} ↓ bytes",
                    tls.plaintext_bytes[0], tls.plaintext_bytes[1]
                ),
            );
        }
        if let Some(r) = &tls.reason {
            out.field_styled("Partly", r, t.warning());
        }
    } else {
        let mut spans = vec![Span::styled("no", t.error())];
        if let Some(r) = &tls.reason {
            spans.push(Span::raw(format!(": {}", clean(r))));
        }
        out.field("Decrypted", spans);
    }
    if let Some(cert) = &tls.certificate {
        out.field_text("Certificate", &cert.subject);
        out.field_text("Issuer", &cert.issuer);
        if !cert.sans.is_empty() {
            out.field_text("SANs", cert.sans.join(", "));
        }
        out.field_text("Valid", format!("{} – {}", cert.not_before, cert.not_after));
    }
}

fn findings_section(out: &mut Out, a: &Analysis, x: &Exchange) {
    let t = *out.theme;
    let cited: Vec<_> = a
        .findings
        .iter()
        .filter(|f| f.exchanges.contains(&x.id))
        .collect();
    if !cited.is_empty() {
        out.heading("Findings");
        for f in cited {
            let style = match f.severity {
                crate::model::FindingSeverity::Info => t.normal(),
                crate::model::FindingSeverity::Warning => t.warning(),
                crate::model::FindingSeverity::Fail => t.error(),
            };
            out.hanging(
                vec![
                    Span::styled(format!("  {:<8}", f.severity.as_str()), style),
                    Span::styled(format!("{} ", clean(&f.check)), t.title()),
                    Span::raw(clean(&f.message)),
                ],
                2,
            );
        }
    }
    let diags: Vec<_> = a
        .diagnostics
        .iter()
        .filter(|d| d.exchange == Some(x.id))
        .collect();
    if !diags.is_empty() {
        out.heading("Diagnostics");
        for d in diags {
            let style = match d.severity {
                crate::model::Severity::Info => t.normal(),
                crate::model::Severity::Warning => t.warning(),
                crate::model::Severity::Error => t.error(),
            };
            let mut spans = vec![
                Span::styled(format!("  {:<8}", d.severity.as_str()), style),
                Span::raw(clean(&d.message)),
            ];
            if let Some(fr) = d.frame {
                spans.push(Span::styled(format!("  (frame {})", fr.0), t.dim()));
            }
            out.hanging(spans, 1);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Request / Response

fn request_tab(out: &mut Out, x: &Exchange, raw: bool, fold: Option<usize>) {
    let t = *out.theme;
    let Some(r) = &x.request else {
        out.line(vec![Span::styled(
            "no request in the capture (it was sent before the capture started)",
            t.dim(),
        )]);
        return;
    };
    out.line(vec![
        Span::styled(clean(&r.method), t.title()),
        Span::raw(format!(" {} ", clean(&r.target))),
        Span::styled(clean(&r.version), t.dim()),
    ]);
    headers(out, &r.headers);
    out.blank();
    body(out, &r.headers, &r.body, raw, fold);
}

fn response_tab(out: &mut Out, x: &Exchange, raw: bool, fold: Option<usize>) {
    let t = *out.theme;
    let Some(r) = &x.response else {
        let why = match x.capture {
            crate::model::CaptureState::NoResponse => "no response in the capture",
            _ => "no response seen",
        };
        out.line(vec![Span::styled(why, t.dim())]);
        return;
    };
    for s in &r.interim_statuses {
        out.line(vec![Span::styled(
            format!("({} {s} interim response before this one)", r.version),
            t.dim(),
        )]);
    }
    out.line(vec![
        Span::styled(format!("{} ", clean(&r.version)), t.dim()),
        Span::styled(
            format!("{} {}", r.status, clean(&r.reason)),
            t.status(Some(r.status)),
        ),
    ]);
    headers(out, &r.headers);
    out.blank();
    body(out, &r.headers, &r.body, raw, fold);
}

fn headers(out: &mut Out, h: &Headers) {
    let t = *out.theme;
    for (name, value) in h.iter() {
        out.hanging(
            vec![
                Span::styled(clean(name), t.title()),
                Span::raw(": "),
                Span::raw(clean(value)),
            ],
            2,
        );
    }
}

/// The body facts line, then the body (pretty or as sent), or why there is none to show.
fn body(out: &mut Out, headers: &Headers, b: &Body, raw: bool, fold: Option<usize>) {
    let t = *out.theme;
    let bytes = b.bytes().unwrap_or_default();
    if b.wire_length == 0 && bytes.is_empty() {
        out.line(vec![Span::styled("(no body)", t.dim())]);
        return;
    }
    let mut facts = vec![plural(b.wire_length, "byte", "bytes")];
    if !b.content_encoding.is_empty() {
        let enc = b.content_encoding.join(", ");
        match b.decoded_length {
            Some(n) => facts.push(format!("{enc} → {n} decoded")),
            None => facts.push(format!("{enc}, not decoded")),
        }
    }
    facts.push(if b.complete { "complete" } else { "incomplete" }.to_string());
    let partial = b.kept.is_none() && b.head.is_some();
    if partial {
        facts.push(format!("only the first {} bytes kept", bytes.len()));
    }
    let content_type = headers.get("content-type");
    let (text, truncated, kind) = if bytes.is_empty() {
        (String::new(), false, None)
    } else if raw {
        let shown = bytes.get(..BODY_CAP).unwrap_or(bytes);
        (lossy(shown), bytes.len() > BODY_CAP, Some("as sent"))
    } else {
        let p = pretty_folded(content_type, bytes, BODY_CAP, fold);
        if let (Some(level), crate::report::content::BodyKind::Json) = (fold, p.kind) {
            facts.push(format!("folded from level {level} (+ unfolds)"));
        }
        (p.text, p.truncated, Some(p.kind.as_str()))
    };
    if let Some(k) = kind {
        facts.push(k.to_string());
    }
    let style = if b.complete { t.dim() } else { t.warning() };
    out.line(vec![Span::styled(
        format!("── body: {} ──", facts.join(" · ")),
        style,
    )]);
    if bytes.is_empty() {
        let why = if out.partial {
            "body shown once loading has finished"
        } else {
            "body not kept (the analysis did not keep bodies)"
        };
        out.line(vec![Span::styled(why, t.dim())]);
        return;
    }
    out.text(&text, t.normal());
    if truncated {
        out.line(vec![Span::styled(
            format!(
                "… only the first {} KiB of {} bytes shown",
                BODY_CAP / 1024,
                bytes.len()
            ),
            t.warning(),
        )]);
    }
}

// ---------------------------------------------------------------------------------------------
// Hex

fn hex_tab(out: &mut Out, x: &Exchange) {
    let t = *out.theme;
    match &x.request {
        Some(r) => hex_message(out, "Request", request_head(r), &r.body),
        None => {
            out.heading("Request");
            out.line(vec![Span::styled("not in the capture", t.dim())]);
        }
    }
    match &x.response {
        Some(r) => hex_message(out, "Response", response_head(r), &r.body),
        None => {
            out.heading("Response");
            out.line(vec![Span::styled("not in the capture", t.dim())]);
        }
    }
}

/// One message as bytes: its head rebuilt from the parsed fields, then the body as sent
/// (de-chunked) when kept, else the decoded body.
fn hex_message(out: &mut Out, name: &str, head: String, b: &Body) {
    let t = *out.theme;
    let (body, what): (&[u8], &str) = match (&b.wire_kept, b.bytes()) {
        (Some(w), _) => (w, "as sent, de-chunked"),
        (None, Some(d)) if b.content_encoding.is_empty() => (d, "as sent, de-chunked"),
        (None, Some(d)) => (d, "decoded (the encoded bytes were not kept)"),
        (None, None) => (&[], ""),
    };
    let mut heading = format!(
        "{name}: head {} bytes (rebuilt from the parsed fields)",
        head.len()
    );
    if !body.is_empty() {
        heading.push_str(&format!(" + body {} bytes {what}", body.len()));
    } else if b.wire_length > 0 {
        heading.push_str(&format!(" + body of {} bytes not kept", b.wire_length));
    }
    out.heading(heading);
    let mut bytes = head.into_bytes();
    let room = BODY_CAP.saturating_sub(bytes.len());
    let shown = body.get(..room).unwrap_or(body);
    let omitted = body.len() - shown.len();
    bytes.extend_from_slice(shown);
    for l in hexdump(&bytes, usize::MAX) {
        out.push(Line::raw(l), 0);
    }
    if omitted > 0 {
        out.line(vec![Span::styled(
            format!(
                "… only the first {} KiB shown ({omitted} more bytes)",
                BODY_CAP / 1024
            ),
            t.warning(),
        )]);
    }
}

// ---------------------------------------------------------------------------------------------
// Auth

fn auth_tab(out: &mut Out, x: &Exchange) {
    let t = *out.theme;
    let Some(auth) = x.auth.as_deref() else {
        let why = if out.partial {
            "decoded once loading has finished"
        } else {
            "no authentication"
        };
        out.line(vec![Span::styled(why, t.dim())]);
        return;
    };
    auth_facts(out, auth);
}

fn auth_facts(out: &mut Out, auth: &AuthFacts) {
    let t = *out.theme;
    out.heading("Request presents");
    match &auth.request {
        Some(leg) => auth_leg(out, leg),
        None => out.line(vec![Span::styled("  no credentials (anonymous)", t.dim())]),
    }
    if !auth.challenges.is_empty() {
        out.heading("Response asks for");
        for (i, c) in auth.challenges.iter().enumerate() {
            challenge(out, i + 1, c);
        }
    }
    if !auth.diagnostics.is_empty() {
        out.heading("X-Ms-diagnostics");
        for d in &auth.diagnostics {
            ms_diagnostic(out, d);
        }
    }
}

fn auth_leg(out: &mut Out, leg: &AuthLeg) {
    let t = *out.theme;
    let title = |out: &mut Out, text: &str| {
        out.line(vec![Span::styled(format!("  {}", clean(text)), t.title())]);
    };
    match leg {
        AuthLeg::Ntlm(m) => ntlm(out, "  ", m),
        AuthLeg::Negotiate {
            ntlm: inner,
            kerberos,
        } => match inner {
            Some(m) => ntlm(out, "  Negotiate (SPNEGO) wrapping ", m),
            None if *kerberos => title(out, "Negotiate (SPNEGO): Kerberos"),
            None => title(out, "Negotiate (SPNEGO): mechanism not recognised"),
        },
        AuthLeg::Bearer(tok) => {
            title(out, "Bearer token");
            token(out, tok);
        }
        AuthLeg::WebTicket {
            assertion_id,
            token: tok,
        } => {
            title(out, "X-MS-WebTicket (SAML web ticket)");
            if let Some(id) = assertion_id {
                out.field_text("  Assertion", id);
            }
            token(out, tok);
        }
        AuthLeg::Basic { user } => {
            title(out, "Basic");
            out.field_text("  User", user.as_deref().unwrap_or("—"));
        }
        AuthLeg::Other { scheme } => title(out, scheme),
    }
}

fn token(out: &mut Out, tok: &TokenRef) {
    let kind = if tok.cwt {
        "  (Lync/SfB web ticket, cwt)"
    } else {
        ""
    };
    out.field_text("  Token", format!("{}…{kind}", tok.prefix));
    out.field_text("  SHA-256", &tok.sha256);
}

/// An NTLM message under a title line `{prefix}NTLM type N (kind)`.
fn ntlm(out: &mut Out, prefix: &str, m: &NtlmMessage) {
    let t = *out.theme;
    let (kind, flags) = match m {
        NtlmMessage::Negotiate { flags, .. } => ("negotiate", *flags),
        NtlmMessage::Challenge { flags, .. } => ("challenge", *flags),
        NtlmMessage::Authenticate { flags, .. } => ("authenticate", *flags),
    };
    out.line(vec![Span::styled(
        format!("{prefix}NTLM type {} ({kind})", m.message_type()),
        t.title(),
    )]);
    match m {
        NtlmMessage::Negotiate {
            domain,
            workstation,
            ..
        } => {
            out.field_text("  Domain", domain.as_deref().unwrap_or("—"));
            out.field_text("  Workstation", workstation.as_deref().unwrap_or("—"));
        }
        NtlmMessage::Challenge {
            target,
            target_info,
            ..
        } => {
            out.field_text("  Target", target.as_deref().unwrap_or("—"));
            for (i, (k, v)) in target_info.iter().enumerate() {
                let label = if i == 0 { "  Target info" } else { "" };
                out.field(
                    label,
                    vec![
                        Span::styled(format!("{} ", clean(k)), t.dim()),
                        Span::raw(clean(v)),
                    ],
                );
            }
        }
        NtlmMessage::Authenticate {
            domain,
            user,
            workstation,
            ..
        } => {
            out.field_styled("  User", format!("{domain}\\{user}"), t.title());
            out.field_text("  Workstation", workstation);
        }
    }
    out.field(
        "  Flags",
        vec![
            Span::raw(format!("0x{flags:08x}  ")),
            Span::styled(ntlm_flag_names(flags).join(" "), t.dim()),
        ],
    );
}

/// NTLMSSP negotiate flags by name (MS-NLMP §2.2.2.5), lowest bit first.
fn ntlm_flag_names(flags: u32) -> Vec<&'static str> {
    const NAMES: [(u32, &str); 22] = [
        (0x0000_0001, "UNICODE"),
        (0x0000_0002, "OEM"),
        (0x0000_0004, "REQUEST_TARGET"),
        (0x0000_0010, "SIGN"),
        (0x0000_0020, "SEAL"),
        (0x0000_0040, "DATAGRAM"),
        (0x0000_0080, "LM_KEY"),
        (0x0000_0200, "NTLM"),
        (0x0000_0800, "ANONYMOUS"),
        (0x0000_1000, "OEM_DOMAIN_SUPPLIED"),
        (0x0000_2000, "OEM_WORKSTATION_SUPPLIED"),
        (0x0000_8000, "ALWAYS_SIGN"),
        (0x0001_0000, "TARGET_TYPE_DOMAIN"),
        (0x0002_0000, "TARGET_TYPE_SERVER"),
        (0x0008_0000, "EXTENDED_SESSIONSECURITY"),
        (0x0010_0000, "IDENTIFY"),
        (0x0040_0000, "REQUEST_NON_NT_SESSION_KEY"),
        (0x0080_0000, "TARGET_INFO"),
        (0x0200_0000, "VERSION"),
        (0x2000_0000, "128"),
        (0x4000_0000, "KEY_EXCH"),
        (0x8000_0000, "56"),
    ];
    NAMES
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| *n)
        .collect()
}

fn challenge(out: &mut Out, n: usize, c: &Challenge) {
    let t = *out.theme;
    match &c.ntlm {
        Some(m) => {
            let prefix = if c.scheme.eq_ignore_ascii_case("ntlm") {
                format!("  {n}. ")
            } else {
                format!("  {n}. {}: ", clean(&c.scheme))
            };
            ntlm(out, &prefix, m);
        }
        None => out.line(vec![Span::styled(
            format!("  {n}. {}", clean(&c.scheme)),
            t.title(),
        )]),
    }
    for (k, v) in &c.params {
        out.field(&format!("  {k}"), vec![Span::raw(clean(v))]);
    }
}

fn ms_diagnostic(out: &mut Out, d: &MsDiagnostic) {
    let t = *out.theme;
    let code = d.code.map_or_else(|| "—".to_string(), |c| c.to_string());
    out.field_styled("  Code", code, t.warning());
    if let Some(r) = &d.reason {
        out.field_text("  Reason", r);
    }
    if let Some(s) = &d.source {
        out.field_text("  Source", s);
    }
    if let Some(f) = &d.fault {
        out.field_text("  Fault", f);
    }
    out.field_styled("  As sent", &d.raw, t.dim());
}

// ---------------------------------------------------------------------------------------------
// Layout helpers: wrapping, scrolling, highlighting

/// Display width of one character (ASCII fast path).
fn char_width(c: char) -> usize {
    if c.is_ascii() {
        1
    } else {
        let mut buf = [0u8; 4];
        Span::raw(&*c.encode_utf8(&mut buf)).width()
    }
}

/// Continuation indent actually used at `width`: none when it would leave too little room.
fn usable_hang(hang: usize, width: usize) -> usize {
    if hang + 8 > width {
        0
    } else {
        hang
    }
}

/// Byte offsets where the rows after the first begin when `text` is wrapped at `width`
/// columns with continuation rows indented by `hang`: after the last space when that keeps
/// at least half the row (prose, headers), else at the character that does not fit (base64,
/// hex, minified JSON).
fn break_points(text: &str, width: usize, hang: usize) -> Vec<usize> {
    let mut breaks = Vec::new();
    let mut room = width;
    let mut row_width = 0;
    // Byte offset after the last space of the row, and the row's width up to there.
    let mut last_space: Option<(usize, usize)> = None;
    for (i, c) in text.char_indices() {
        let w = char_width(c);
        if row_width + w > room && row_width > 0 {
            match last_space {
                Some((at, upto)) if upto * 2 >= room && at < i => {
                    breaks.push(at);
                    row_width -= upto;
                }
                _ => {
                    breaks.push(i);
                    row_width = 0;
                }
            }
            room = width - hang;
            last_space = None;
        }
        row_width += w;
        if c == ' ' {
            last_space = Some((i + 1, row_width));
        }
    }
    breaks
}

/// Rows a line takes at `width` columns (at least one).
fn rows_of(line: &Line, hang: usize, width: usize) -> usize {
    if width == 0 || line.width() <= width {
        return 1;
    }
    1 + break_points(&line_text(line), width, usable_hang(hang, width)).len()
}

/// The largest scroll that still fills the pane (or shows the last line).
fn max_scroll(lines: &[Line], hangs: &[usize], width: usize, height: usize) -> usize {
    let mut rows = 0;
    let mut first = lines.len();
    for (i, (l, hang)) in lines.iter().zip(hangs).enumerate().rev() {
        rows += rows_of(l, *hang, width);
        if rows > height {
            break;
        }
        first = i;
    }
    first.min(lines.len().saturating_sub(1))
}

/// Breaks a line into rows of at most `width` columns ([`break_points`]); rows after the
/// first are indented by `hang`. Styles stay with their characters.
fn wrap(line: &Line<'static>, width: usize, hang: usize) -> Vec<Line<'static>> {
    if width == 0 || line.width() <= width {
        return vec![line.clone()];
    }
    let hang = usable_hang(hang, width);
    let breaks = break_points(&line_text(line), width, hang);
    let mut rows = Vec::with_capacity(breaks.len() + 1);
    let mut row: Vec<Span<'static>> = Vec::new();
    let mut next = breaks.iter().copied().peekable();
    let mut offset = 0;
    for span in &line.spans {
        let content = span.content.as_ref();
        let end = offset + content.len();
        let mut from = 0;
        while let Some(at) = next.next_if(|&at| at <= end) {
            let cut = at.saturating_sub(offset).clamp(from, content.len());
            if let Some(piece) = content.get(from..cut).filter(|p| !p.is_empty()) {
                row.push(Span::styled(piece.to_string(), span.style));
            }
            rows.push(Line::from(std::mem::take(&mut row)).style(line.style));
            if hang > 0 {
                row.push(Span::raw(" ".repeat(hang)));
            }
            from = cut;
        }
        if let Some(piece) = content.get(from..).filter(|p| !p.is_empty()) {
            row.push(Span::styled(piece.to_string(), span.style));
        }
        offset = end;
    }
    rows.push(Line::from(row).style(line.style));
    rows
}

fn line_text(line: &Line) -> String {
    line.spans.iter().map(|s| s.content.as_ref()).collect()
}

/// Restyles the byte ranges `ranges` of the line's text with `hit` on top of their style.
fn mark_ranges(line: &Line<'static>, ranges: &[Range<usize>], hit: Style) -> Line<'static> {
    let inside = |pos: usize| ranges.iter().any(|r| r.start <= pos && pos < r.end);
    let mut spans = Vec::new();
    let mut offset = 0;
    for span in &line.spans {
        let text = span.content.as_ref();
        let mut piece = String::new();
        let mut piece_hit = false;
        for (i, c) in text.char_indices() {
            let h = inside(offset + i);
            if h != piece_hit && !piece.is_empty() {
                let style = if piece_hit {
                    span.style.patch(hit)
                } else {
                    span.style
                };
                spans.push(Span::styled(std::mem::take(&mut piece), style));
            }
            piece_hit = h;
            piece.push(c);
        }
        if !piece.is_empty() {
            let style = if piece_hit {
                span.style.patch(hit)
            } else {
                span.style
            };
            spans.push(Span::styled(piece, style));
        }
        offset += text.len();
    }
    Line::from(spans).style(line.style)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AuthLeg, CaptureState, ConnId, ExchId, Exchange, NtlmMessage, Scheme};
    use ratatui::backend::TestBackend;
    use ratatui::style::Modifier;
    use ratatui::Terminal;
    use std::path::PathBuf;
    use std::sync::OnceLock;

    fn sample(rel: &str) -> PathBuf {
        let here = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel);
        if here.exists() {
            here
        } else {
            PathBuf::from("/work/main").join(rel)
        }
    }

    /// Scenario B, analysed once for all tests.
    fn scenario_b() -> &'static Analysis {
        static B: OnceLock<Analysis> = OnceLock::new();
        B.get_or_init(|| {
            let mut opts = crate::Options {
                rules: Some(std::sync::Arc::new(crate::stage::RuleSet::builtin())),
                ..Default::default()
            };
            opts.http.keep_body_max = 1 << 20;
            let path = sample("samples/lync/B-external-home-pool-redirect.pcapng");
            crate::analyze(&[path], &opts, &mut ()).unwrap()
        })
    }

    /// The exchange of a script step: method, host, path (without query) and status.
    fn step(method: &str, host: &str, path: &str, status: Option<u16>) -> &'static Exchange {
        scenario_b()
            .exchanges
            .iter()
            .find(|x| {
                let Some(r) = &x.request else { return false };
                r.method == method
                    && r.host() == Some(host)
                    && r.target.split('?').next() == Some(path)
                    && x.response.as_ref().map(|r| r.status) == status
            })
            .unwrap_or_else(|| panic!("no {method} {host}{path} {status:?}"))
    }

    /// #B09: the NTLM type 3 leg on pool 1 that got the OAuth token.
    fn b09() -> &'static Exchange {
        let a = scenario_b();
        let legs: Vec<&Exchange> = a
            .exchanges
            .iter()
            .filter(|x| {
                x.request.as_ref().is_some_and(|r| {
                    r.method == "POST"
                        && r.host() == Some("webext-pool1.contoso.com")
                        && r.target == "/WebTicket/oauthtoken"
                })
            })
            .collect();
        // B07, B08, B09 in order; B09 is the one answered 200.
        assert_eq!(legs.len(), 3);
        assert_eq!(legs[2].response.as_ref().unwrap().status, 200);
        legs[2]
    }

    /// #B18: UCWA application created on the home pool (JSON 201).
    fn b18() -> &'static Exchange {
        step(
            "POST",
            "webext-pool2.contoso.com",
            "/ucwa/oauth/v1/applications",
            Some(201),
        )
    }

    fn text_of(lines: &[Line]) -> Vec<String> {
        lines.iter().map(line_text).collect()
    }

    type Find<'f> = &'f dyn Fn(&str) -> Vec<Range<usize>>;

    fn draw(
        w: u16,
        h: u16,
        x: Option<&Exchange>,
        state: &mut DetailState,
        highlight: Option<Find>,
    ) -> Terminal<TestBackend> {
        let a = scenario_b();
        let notes = Notes::from_inputs(a);
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| {
            render_detail(
                f,
                f.area(),
                a,
                x,
                &notes,
                state,
                &Theme::plain(),
                true,
                highlight,
            )
        })
        .unwrap();
        term
    }

    fn snapshot_tab(name: &str, x: &Exchange, tab: DetailTab, raw: bool) {
        let mut state = DetailState {
            tab,
            scroll: 0,
            raw,
            fold: None,
        };
        let term = draw(100, 40, Some(x), &mut state, None);
        insta::assert_snapshot!(name, term.backend());
    }

    #[test]
    fn snapshots_of_every_tab() {
        let ntlm3 = b09();
        snapshot_tab("b09_overview", ntlm3, DetailTab::Overview, false);
        snapshot_tab("b09_request", ntlm3, DetailTab::Request, false);
        snapshot_tab("b09_response", ntlm3, DetailTab::Response, false);
        snapshot_tab("b09_hex", ntlm3, DetailTab::Hex, false);
        snapshot_tab("b09_auth", ntlm3, DetailTab::Auth, false);
        let ucwa = b18();
        snapshot_tab("b18_overview", ucwa, DetailTab::Overview, false);
        snapshot_tab("b18_response", ucwa, DetailTab::Response, false);
        snapshot_tab("b18_response_raw", ucwa, DetailTab::Response, true);
    }

    #[test]
    fn overview_shows_stage_rule_and_parent_from_the_script() {
        let a = scenario_b();
        let notes = Notes::default();
        let t = Theme::plain();
        // B09: stage webticket-oauth, outcome ok (script).
        let x = b09();
        let tag = x.stage.as_deref().unwrap();
        let lines = text_of(&detail_lines(a, x, &notes, DetailTab::Overview, false, &t));
        let stage = lines
            .iter()
            .find(|l| l.trim_start().starts_with("Stage "))
            .unwrap();
        assert!(
            stage.contains("webticket-oauth") && stage.ends_with("ok"),
            "{stage}"
        );
        assert!(lines
            .iter()
            .any(|l| l.trim_start().starts_with("Rule") && l.ends_with(&tag.rule)));
        assert_eq!(tag.id, "webticket-oauth");
        // B18's parent is B17 (GET of the user URL on pool 2, answered 200), reached by
        // _links.applications.href (script: "_links.applications.href of B17").
        let b17 = step(
            "GET",
            "webext-pool2.contoso.com",
            "/Autodiscover/AutodiscoverService.svc/root/oauth/user",
            Some(200),
        );
        let lines = text_of(&detail_lines(
            a,
            b18(),
            &notes,
            DetailTab::Overview,
            false,
            &t,
        ));
        let parent = lines
            .iter()
            .find(|l| l.trim_start().starts_with("Parent"))
            .unwrap();
        assert!(parent.contains(&format!("← #{} GET", b17.id.0)), "{parent}");
        assert!(parent.contains("_links.applications.href"), "{parent}");
        // Stage id of B18 is ucwa-application; the connection is TLS, decrypted.
        assert!(lines.iter().any(|l| l.contains("ucwa-application")));
        assert!(lines
            .iter()
            .any(|l| l.trim_start().starts_with("Decrypted") && l.contains("yes")));
        assert!(lines
            .iter()
            .any(|l| l.contains("198.51.100.77:") && l.contains("203.0.113.11:443")));
    }

    #[test]
    fn auth_tab_of_the_type_3_leg_names_the_user() {
        let a = scenario_b();
        let x = b09();
        assert!(matches!(
            x.auth.as_deref().and_then(|f| f.request.as_ref()),
            Some(AuthLeg::Ntlm(NtlmMessage::Authenticate { .. }))
                | Some(AuthLeg::Negotiate {
                    ntlm: Some(NtlmMessage::Authenticate { .. }),
                    ..
                })
        ));
        let lines = text_of(&detail_lines(
            a,
            x,
            &Notes::default(),
            DetailTab::Auth,
            false,
            &Theme::plain(),
        ));
        // Script: "type 3 (CONTOSO\alice @ ALICE-PHONE)".
        assert!(lines.iter().any(|l| l.contains("type 3")), "{lines:#?}");
        assert!(lines
            .iter()
            .any(|l| l.trim_start().starts_with("User") && l.ends_with("CONTOSO\\alice")));
        assert!(lines
            .iter()
            .any(|l| l.contains("Workstation") && l.ends_with("ALICE-PHONE")));
        // An exchange without auth says so.
        let plain = a.exchanges.iter().find(|x| x.auth.is_none()).unwrap();
        let lines = text_of(&detail_lines(
            a,
            plain,
            &Notes::default(),
            DetailTab::Auth,
            false,
            &Theme::plain(),
        ));
        assert_eq!(lines, vec!["no authentication".to_string()]);
    }

    #[test]
    fn json_response_is_indented_and_raw_is_as_sent() {
        let a = scenario_b();
        let x = b18();
        let t = Theme::plain();
        let pretty = text_of(&detail_lines(
            a,
            x,
            &Notes::default(),
            DetailTab::Response,
            false,
            &t,
        ));
        // Script: "_embedded.me._links.makeMeAvailable of B18".
        let key = pretty
            .iter()
            .find(|l| l.trim_start().starts_with("\"makeMeAvailable\""))
            .expect("makeMeAvailable on its own line");
        assert!(key.starts_with("    "), "{key:?}");
        assert!(pretty.iter().any(|l| l.contains("json")));
        // Raw: the decoded body's own lines.
        let raw = text_of(&detail_lines(
            a,
            x,
            &Notes::default(),
            DetailTab::Response,
            true,
            &t,
        ));
        let body = x.response.as_ref().unwrap().body.bytes().unwrap();
        let sent = lossy(body);
        let first = sent.lines().next().unwrap();
        assert!(raw.iter().any(|l| l == first));
        assert!(raw.iter().any(|l| l.contains("as sent")));
    }

    #[test]
    fn hex_tab_dumps_the_rebuilt_request_then_response() {
        let a = scenario_b();
        let lines = text_of(&detail_lines(
            a,
            b09(),
            &Notes::default(),
            DetailTab::Hex,
            false,
            &Theme::plain(),
        ));
        assert!(lines[0].starts_with("Request: head"));
        // "POST /We" in hex.
        assert!(
            lines[1].starts_with("00000000  50 4f 53 54 20 2f 57 65"),
            "{}",
            lines[1]
        );
        let resp = lines
            .iter()
            .position(|l| l.starts_with("Response: head"))
            .unwrap();
        // "HTTP/1.1 200".
        assert!(
            lines[resp + 1].contains("|HTTP/1.1 200 "),
            "{}",
            lines[resp + 1]
        );
    }

    #[test]
    fn scroll_is_clamped_to_the_content() {
        let x = b18();
        let mut state = DetailState {
            tab: DetailTab::Response,
            scroll: usize::MAX,
            raw: false,
            fold: None,
        };
        let term = draw(100, 40, Some(x), &mut state, None);
        let a = scenario_b();
        let lines = detail_lines(
            a,
            x,
            &Notes::default(),
            DetailTab::Response,
            false,
            &Theme::plain(),
        );
        assert!(state.scroll < lines.len());
        assert!(state.scroll > 0);
        // The last line is on screen, the pane is full (no scrolling past the end).
        let last = line_text(lines.last().unwrap());
        let screen = term.backend().to_string();
        assert!(screen.contains(last.trim()), "{screen}");
        let mut less = DetailState {
            scroll: state.scroll - 1,
            ..state.clone()
        };
        draw(100, 40, Some(x), &mut less, None);
        assert_eq!(less.scroll, state.scroll - 1);
        // Nothing selected: the pane says so and resets.
        let mut none = DetailState {
            scroll: 7,
            ..Default::default()
        };
        let term = draw(60, 5, None, &mut none, None);
        assert!(term.backend().to_string().contains("no exchange selected"));
        assert_eq!(none.scroll, 0);
    }

    #[test]
    fn search_hits_are_marked() {
        let x = b09();
        let mut state = DetailState {
            tab: DetailTab::Auth,
            ..Default::default()
        };
        let find = |line: &str| -> Vec<Range<usize>> {
            line.match_indices("alice")
                .map(|(i, m)| i..i + m.len())
                .collect()
        };
        let term = draw(100, 40, Some(x), &mut state, Some(&find));
        let buf = term.backend().buffer();
        let marked = (0..buf.area.height).any(|y| {
            (0..buf.area.width).any(|x| {
                let c = &buf[(x, y)];
                c.symbol() == "a" && c.modifier.contains(Modifier::UNDERLINED)
            })
        });
        assert!(marked);
    }

    fn bare_exchange() -> Exchange {
        Exchange {
            id: ExchId(0),
            connection: ConnId(u32::MAX),
            scheme: Scheme::Http,
            capture: CaptureState::Truncated,
            request: None,
            response: None,
            timing: Default::default(),
            upgrade: None,
            annotations: None,
            stage: None,
            auth: None,
        }
    }

    #[test]
    fn no_panic_without_messages_or_room() {
        let bare = bare_exchange();
        let a = scenario_b();
        for tab in DetailTab::ALL {
            let lines = detail_lines(a, &bare, &Notes::default(), tab, false, &Theme::plain());
            assert!(!lines.is_empty(), "{tab:?}");
            for raw in [false, true] {
                for (w, h) in [(0, 0), (1, 1), (2, 2), (5, 2), (10, 3), (3, 10), (40, 4)] {
                    for x in [Some(&bare), Some(b09()), Some(b18()), None] {
                        let mut state = DetailState {
                            tab,
                            scroll: usize::MAX,
                            raw,
                            fold: Some(1),
                        };
                        let find = |line: &str| -> Vec<Range<usize>> {
                            // Ranges at and beyond the end, and inside characters, are ignored.
                            vec![0..1, line.len().saturating_sub(1)..line.len() + 5]
                        };
                        draw(w, h, x, &mut state, Some(&find));
                    }
                }
            }
        }
        let lines = text_of(&detail_lines(
            a,
            &bare,
            &Notes::default(),
            DetailTab::Request,
            false,
            &Theme::plain(),
        ));
        assert!(lines[0].starts_with("no request"));
    }

    #[test]
    fn tabs_cycle_both_ways() {
        let mut t = DetailTab::default();
        for expected in DetailTab::ALL.iter().cycle().skip(1).take(5) {
            t = t.next();
            assert_eq!(t, *expected);
        }
        assert_eq!(DetailTab::Overview.prev(), DetailTab::Auth);
        assert_eq!(DetailTab::Auth.next(), DetailTab::Overview);
        assert_eq!(DetailTab::Hex.title(), "Hex");
    }

    #[test]
    fn wrapping_and_marking_keep_text_and_styles() {
        let t = Theme::colored();
        let line = Line::from(vec![Span::styled("abcdé", t.title()), Span::raw("fgh")]);
        let rows = wrap(&line, 3, 0);
        assert_eq!(text_of(&rows), vec!["abc", "déf", "gh"]);
        assert_eq!(rows[1].spans[0].style, t.title());
        assert_eq!(rows[1].spans[1].style, Style::default());
        assert_eq!(rows.len(), rows_of(&line, 0, 3));
        // Continuation rows hang under the value; too little room means no hang.
        let rows = wrap(&line, 10, 2);
        assert_eq!(text_of(&rows), vec!["abcdéfgh"]);
        let long = Line::raw("key: 0123456789abcdefghij");
        let rows = wrap(&long, 13, 5);
        assert_eq!(
            text_of(&rows),
            vec!["key: 01234567", "     89abcdef", "     ghij"]
        );
        assert_eq!(rows.len(), rows_of(&long, 5, 13));
        assert_eq!(text_of(&wrap(&long, 12, 5)).len(), rows_of(&long, 5, 12));
        // Prose breaks after a space when that keeps half the row.
        let prose = Line::raw("alpha beta gamma");
        assert_eq!(text_of(&wrap(&prose, 12, 0)), vec!["alpha beta ", "gamma"]);
        assert_eq!(rows_of(&prose, 0, 12), 2);
        let early = Line::raw("a bcdefghijklmnop");
        assert_eq!(text_of(&wrap(&early, 10, 0)), vec!["a bcdefghi", "jklmnop"]);
        let marked = mark_ranges(&line, &[2..5, 5..7], t.hit());
        assert_eq!(line_text(&marked), "abcdéfgh");
        assert_eq!(marked.spans[1].content, "cdé");
        assert_eq!(marked.spans[1].style, t.title().patch(t.hit()));
        assert_eq!(marked.spans[2].content, "f");
        assert_eq!(marked.spans[2].style, t.hit());
        assert_eq!(clean("a\tb\r\x1b"), "a    b·");
        assert_eq!(ntlm_flag_names(0x0000_0201), vec!["UNICODE", "NTLM"]);
    }

    #[test]
    fn big_bodies_are_capped_and_say_so() {
        let a = Analysis::default();
        let mut json = String::from("[");
        while json.len() < 1 << 20 {
            json.push_str("{\"href\":\"/ucwa/oauth/v1/applications/1/people\"},");
        }
        json.push_str("{}]");
        let bytes: std::sync::Arc<[u8]> = json.into_bytes().into();
        let mut x = bare_exchange();
        x.response = Some(crate::model::Response {
            version: "HTTP/1.1".into(),
            status: 200,
            reason: "OK".into(),
            headers: Headers::from_pairs([("Content-Type", "application/json")]),
            interim_statuses: vec![],
            body: Body {
                wire_length: bytes.len() as u64,
                decoded_length: Some(bytes.len() as u64),
                complete: true,
                kept: Some(bytes.clone()),
                wire_kept: Some(bytes),
                ..Default::default()
            },
        });
        let t = Theme::plain();
        for (tab, raw) in [
            (DetailTab::Response, false),
            (DetailTab::Response, true),
            (DetailTab::Hex, false),
        ] {
            let lines = text_of(&detail_lines(&a, &x, &Notes::default(), tab, raw, &t));
            let last = lines.last().unwrap();
            assert!(
                last.contains("only the first 256 KiB"),
                "{tab:?} {raw}: {last}"
            );
            let shown: usize = lines.iter().map(|l| l.len()).sum();
            assert!(shown < 2 << 20, "{tab:?} {raw}: {shown}");
        }
        // Hex: 16 bytes a line, so at most 256 KiB / 16 dump lines.
        let hex = detail_lines(&a, &x, &Notes::default(), DetailTab::Hex, false, &t);
        assert!(hex.len() <= BODY_CAP / 16 + 8);
    }

    #[test]
    fn overview_of_a_saz_session_shows_the_proxy_facts_and_notes() {
        let mut opts = crate::Options {
            rules: Some(std::sync::Arc::new(crate::stage::RuleSet::builtin())),
            ..Default::default()
        };
        opts.http.keep_body_max = 1 << 20;
        let path = sample("samples/lync/B-external-home-pool-redirect.saz");
        let a = crate::analyze(&[path], &opts, &mut ()).unwrap();
        // README: one Fiddler-generated "502 Fiddler - Connection Failed" for port 80, session 01,
        // from the phone at x-clientip 192.168.137.23.
        let x = a
            .exchanges
            .iter()
            .find(|x| x.response.as_ref().is_some_and(|r| r.status == 502))
            .unwrap();
        let mut notes = Notes::from_inputs(&a);
        notes.set_mark(x.id, true);
        notes.set_comment(x.id, Some("port 80 not published".into()));
        let lines = text_of(&detail_lines(
            &a,
            x,
            &notes,
            DetailTab::Overview,
            false,
            &Theme::plain(),
        ));
        let has = |label: &str, value: &str| {
            lines
                .iter()
                .any(|l| l.trim_start().starts_with(label) && l.contains(value))
        };
        assert!(has("Recorded as", "SAZ session 01"), "{lines:#?}");
        assert!(has("Made by proxy", "not the server"));
        assert!(has("Flag", "x-clientip = 192.168.137.23"));
        assert!(has("Mark", "marked"));
        assert!(has("Comment", "port 80 not published"));
        assert!(has("Proxy timer", "ClientBeginRequest"));
        // No frames in a trace archive.
        assert!(!lines.iter().any(|l| l.contains("frame")), "{lines:#?}");
    }

    #[test]
    fn auth_tab_reads_every_kind_of_leg() {
        use crate::model::{AuthFacts, Challenge, MsDiagnostic, TokenRef};
        let a = Analysis::default();
        let mut x = bare_exchange();
        let tok = TokenRef {
            prefix: "cwt=AAEBHAEF".into(),
            sha256: "ab".repeat(32),
            cwt: true,
        };
        x.auth = Some(Box::new(AuthFacts {
            request: Some(AuthLeg::WebTicket {
                assertion_id: Some("SamlSecurityToken-1".into()),
                token: tok,
            }),
            challenges: vec![
                Challenge {
                    scheme: "MsRtcOAuth".into(),
                    params: vec![
                        ("href".into(), "https://fe/WebTicket/oauthtoken".into()),
                        ("grant_type".into(), "urn:microsoft.rtc:windows".into()),
                    ],
                    ntlm: None,
                },
                Challenge {
                    scheme: "Negotiate".into(),
                    params: vec![],
                    ntlm: Some(NtlmMessage::Challenge {
                        flags: 0x0000_0201,
                        target: Some("CONTOSO".into()),
                        target_info: vec![(
                            "MsvAvDnsComputerName".into(),
                            "fe02.contoso.net".into(),
                        )],
                    }),
                },
            ],
            diagnostics: vec![MsDiagnostic {
                code: Some(28032),
                source: Some("fe01.contoso.net".into()),
                reason: Some("The web ticket is invalid.".into()),
                fault: None,
                raw: "28032;source=\"fe01.contoso.net\";reason=\"The web ticket is invalid.\""
                    .into(),
            }],
        }));
        let lines = text_of(&detail_lines(
            &a,
            &x,
            &Notes::default(),
            DetailTab::Auth,
            false,
            &Theme::plain(),
        ));
        let joined = lines.join("\n");
        for needle in [
            "X-MS-WebTicket",
            "SamlSecurityToken-1",
            "cwt=AAEBHAEF…",
            "1. MsRtcOAuth",
            "https://fe/WebTicket/oauthtoken",
            "urn:microsoft.rtc:windows",
            "2. Negotiate: NTLM type 2 (challenge)",
            "MsvAvDnsComputerName fe02.contoso.net",
            "0x00000201  UNICODE NTLM",
            "X-Ms-diagnostics",
            "28032",
            "The web ticket is invalid.",
            "fe01.contoso.net",
        ] {
            assert!(joined.contains(needle), "{needle} in\n{joined}");
        }
        x.auth = Some(Box::new(AuthFacts {
            request: Some(AuthLeg::Negotiate {
                ntlm: None,
                kerberos: true,
            }),
            ..Default::default()
        }));
        let lines = text_of(&detail_lines(
            &a,
            &x,
            &Notes::default(),
            DetailTab::Auth,
            false,
            &Theme::plain(),
        ));
        assert!(lines.iter().any(|l| l.contains("Kerberos")));
    }
}
