//! HTTP/1.x over the two reassembled byte streams of one TCP connection.
//!
//! Each direction is parsed incrementally as pieces arrive: heads are buffered (bounded),
//! bodies are framed (Content-Length, chunked, close), hashed and content-decoded while they
//! stream through and are never buffered whole. Responses pair FIFO with requests. Gaps
//! inside a length-framed body keep the direction in sync; anything else that breaks the
//! framing makes the direction skip to the next line that starts a message (resynchronising,
//! with the stricter tests of `resync.rs`), and a head cut short in its own frame (the snapshot
//! length) is kept for what it says.

use super::chunked::{ChunkStep, Chunked};
use super::head;
use super::resync;
use super::sniff::{
    find_head_end, find_newline, sniff_request, sniff_response, Sniff, SNIFF_LIMIT,
};
use super::tunnel::{self, Carried};
use crate::dispatch::{Dispatcher, Registry};
use crate::http::decode::{BodyAcc, BodyLimits, Notes};
use crate::http::exchange::{self, HttpOutput, Record};
use crate::http::h2::Http2Connection;
use crate::http::HttpOptions;
use crate::model::{
    token, Arrival, Body, Diagnostic, Dir, ExchId, FrameNo, Request, Response, Scheme, Severity,
    StreamEnd, Upgrade,
};
use crate::net::stream::{ConnFacts, StreamSink};
use std::collections::VecDeque;
use std::sync::Arc;

/// A head buffer that grew larger than this is given back after use.
const HEAD_BUF_KEEP: usize = 64 * 1024;

/// A connection taken on trial (see [`HttpConnection::on_trial`]) is given up when this many
/// bytes passed without a message in them: the look-ahead for the first message is bounded.
const TRIAL_LOOKAHEAD: u64 = 64 * 1024 * 1024;

/// Bytes skipped between messages without comment (NUL: TCP keep-alive probe bytes that
/// reassembly cannot tell from data when the capture starts mid-connection).
fn is_blank(b: u8) -> bool {
    matches!(b, b'\r' | b'\n' | b' ' | b'\t' | 0)
}

fn what(d: usize) -> &'static str {
    if d == 0 {
        "request"
    } else {
        "response"
    }
}

fn ended_by(how: StreamEnd) -> &'static str {
    match how {
        StreamEnd::Fin => "connection closed",
        StreamEnd::Rst => "connection reset",
        StreamEnd::CaptureEnd => "capture ended",
    }
}

fn dir_of(d: usize) -> Dir {
    if d == 0 {
        Dir::ClientToServer
    } else {
        Dir::ServerToClient
    }
}

/// The protocol a 101 switched to.
fn rec_upgrade_of(r: &Record) -> Option<&str> {
    match &r.upgrade {
        Some(Upgrade::Protocol(p)) => Some(p.as_str()),
        _ => None,
    }
}

/// A parsed head of either direction.
enum Head {
    Request(head::RequestHead),
    Response(head::ResponseHead),
}

/// What a head announced of its body (for a head cut short, whose body is not parsed).
#[derive(Clone, Copy)]
enum Announced {
    Nothing,
    Length(u64),
    Chunked,
    ToClose,
}

fn announced(framing: &Framing) -> Announced {
    match framing {
        Framing::None => Announced::Nothing,
        Framing::Length { total, .. } => Announced::Length(*total),
        Framing::Chunked(_) => Announced::Chunked,
        Framing::Close => Announced::ToClose,
    }
}

enum Framing {
    None,
    Length {
        remaining: u64,
        total: u64,
    },
    Chunked(Chunked),
    /// Ends when the connection closes (responses only).
    Close,
}

/// A message whose body is streaming through.
struct BodyRun {
    exch: usize,
    framing: Framing,
    acc: BodyAcc,
    /// Stream offset of the first body byte (chunk framing included).
    start: u64,
    /// Arrival of the latest byte of this message.
    last_at: Arrival,
}

/// Stream events held back while the client waits to learn whether the connection switches.
enum Pending {
    Data(u64, Vec<u8>, Arrival),
    Gap(u64, u64, Arrival),
    End(StreamEnd, Arrival),
}

enum State {
    /// Looking for a line that starts a message.
    Seek,
    /// Buffering a head that `buf` holds the start of.
    Head,
    Body(Box<BodyRun>),
    /// After CONNECT or an Upgrade request: held until the response says whether the
    /// connection switches protocols.
    Paused {
        exch: usize,
        from: u64,
        events: Vec<Pending>,
        bytes: usize,
    },
    /// Tunnel or protocol switch: bytes are only counted.
    Switched,
}

/// Status lines found out of step with no request waiting for them (a capture that started
/// mid-connection, or body text that looks like HTTP): their messages are parsed, but kept only
/// when what follows the last of them is another message or the end of the stream (after a
/// gap, the bytes after it decide).
struct Probation {
    /// Their exchanges, in order (the last one's head may still be buffering).
    exchs: Vec<usize>,
    /// The last message has ended as framed: the next bytes decide.
    done: bool,
    /// The last message's body was cut by the end of the stream.
    cut_by_end: bool,
    /// Text skipped before the first of them, reported once they are kept.
    before: Option<Skip>,
    seen_before: bool,
    start: u64,
    start_at: Arrival,
    /// Diagnostics from this index on may name them.
    diags_from: usize,
}

/// Where a head was cut short: the rest of its frame is missing.
#[derive(Clone, Copy)]
struct Cut {
    /// Where the head starts.
    start: u64,
    offset: u64,
    len: u64,
    at: Arrival,
    /// The start line itself was cut.
    line_cut: bool,
}

/// Non-message bytes skipped in a row.
struct Skip {
    from: u64,
    at: Arrival,
    bytes: u64,
    text: bool,
}

/// Parser state of one direction.
struct Side {
    state: State,
    /// Candidate first line, then the head being buffered.
    buf: Vec<u8>,
    buf_start: u64,
    buf_at: Arrival,
    /// The next byte starts a line (a message may start there).
    line_start: bool,
    skip: Option<Skip>,
    next_off: u64,
    ended: bool,
    last_at: Arrival,
    seen_message: bool,
    switched_at: Option<u64>,
    switched_bytes: u64,
    /// 1xx statuses waiting for the final response they precede (response side).
    interim: Vec<u16>,
    /// A gap may have swallowed the start of a message: text skipped next belongs to a
    /// message whose head was lost.
    lost_start: bool,
    /// Messages known to be lost in gaps since the last parsed head.
    lost_messages: u32,
    /// The stream is in step: the next byte should start a message (a request line that is
    /// malformed is then still taken as one).
    in_step: bool,
    /// Out of step after skipped text or a gap: only a strict start line is a candidate, and
    /// its head is vetted line by line (`vet`).
    resync: bool,
    /// Vetting the head being buffered: where in `buf` its current line starts.
    vet: Option<usize>,
    /// No message starts before this stream offset (a head cut short announced its body).
    not_before: u64,
    /// Boxed: rare, and every connection has two sides.
    probation: Option<Box<Probation>>,
    /// The frame of the latest data: a new frame out of step may start a message.
    last_data_frame: Option<FrameNo>,
    /// The exchange whose head was cut short and whose body the next bytes may be.
    cut_body: Option<usize>,
}

impl Side {
    fn new() -> Side {
        Side {
            state: State::Seek,
            buf: Vec::new(),
            buf_start: 0,
            buf_at: Arrival::default(),
            line_start: true,
            skip: None,
            next_off: 0,
            ended: false,
            last_at: Arrival::default(),
            seen_message: false,
            switched_at: None,
            switched_bytes: 0,
            interim: Vec::new(),
            lost_start: false,
            lost_messages: 0,
            in_step: false,
            resync: false,
            vet: None,
            not_before: 0,
            probation: None,
            last_data_frame: None,
            cut_body: None,
        }
    }

    fn note_skip(&mut self, bytes: &[u8], off: u64, at: Arrival) {
        if bytes.is_empty() {
            return;
        }
        let text = bytes.iter().any(|&b| !is_blank(b));
        if text {
            self.in_step = false;
            self.resync = true;
        }
        if text && self.lost_start {
            self.lost_start = false;
            self.lost_messages = self.lost_messages.saturating_add(1);
        }
        match &mut self.skip {
            Some(s) => {
                s.bytes += bytes.len() as u64;
                s.text |= text;
            }
            None => {
                self.skip = Some(Skip {
                    from: off,
                    at,
                    bytes: bytes.len() as u64,
                    text,
                })
            }
        }
    }

    fn clear_buf(&mut self) {
        self.buf.clear();
        if self.buf.capacity() > HEAD_BUF_KEEP {
            self.buf.shrink_to(1024);
        }
    }
}

/// HTTP/1.x state of one TCP connection; fed by TCP reassembly through [`StreamSink`].
pub struct HttpConnection {
    facts: ConnFacts,
    scheme: Scheme,
    opts: HttpOptions,
    limits: BodyLimits,
    sides: [Side; 2],
    records: Vec<Record>,
    /// Requests without a final response yet, oldest first.
    unanswered: VecDeque<usize>,
    diags: Vec<Diagnostic>,
    switched: bool,
    /// Client data may be held back after CONNECT / Upgrade requests.
    pausing: bool,
    /// The head filter selected a message of this connection.
    keep_heads: bool,
    /// Taken on trial: HTTP/1 only if a message turns up (see [`HttpConnection::on_trial`]).
    trial: bool,
    /// Bytes seen on trial before the first message.
    trial_bytes: u64,
    /// On trial and nothing found within [`TRIAL_LOOKAHEAD`]: the rest is ignored.
    abandoned: bool,
    /// Records taken back (a probation that failed) that are not the last one.
    dead: Vec<usize>,
    /// After a 101 to h2c (RFC 7540 section 3.2) or a CONNECT 2xx: the protocol the rest of
    /// the bytes go to, and the stream offsets where they begin.
    carried: Option<(Carried, [u64; 2])>,
    /// Where a CONNECT tunnel's bytes go (None: they are only counted).
    tunnels: Option<Arc<Registry>>,
}

impl HttpConnection {
    pub fn new(facts: ConnFacts, scheme: Scheme, opts: HttpOptions) -> Self {
        let limits = BodyLimits {
            decoded_cap: opts.decoded_body_cap,
            keep_max: opts.keep_body_max,
            head_max: 0,
        };
        HttpConnection {
            facts,
            scheme,
            opts,
            limits,
            sides: [Side::new(), Side::new()].map(|mut s| {
                s.in_step = facts.handshake;
                s
            }),
            records: Vec::new(),
            unanswered: VecDeque::new(),
            diags: Vec::new(),
            switched: false,
            pausing: true,
            keep_heads: false,
            trial: false,
            trial_bytes: 0,
            abandoned: false,
            dead: Vec::new(),
            carried: None,
            tunnels: None,
        }
    }

    /// Looks into a CONNECT tunnel with the protocols of `registry` (see [`tunnel`]).
    pub fn with_tunnels(mut self, registry: Option<Arc<Registry>>) -> Self {
        self.tunnels = registry;
        self
    }

    /// The tunnel's TLS waits for a resumed session's secret (see
    /// [`crate::dispatch::Protocol::waiting`]).
    pub fn waiting(&self) -> bool {
        matches!(&self.carried, Some((Carried::Tunnel(d), _)) if d.waiting())
    }

    pub fn resolve(&mut self) {
        if let Some((Carried::Tunnel(d), _)) = &mut self.carried {
            d.resolve();
        }
    }

    /// A connection no recognizer claimed from its first bytes, taken on trial because it may
    /// have started in the middle of a message (a capture joined during a long download or a
    /// long poll): the first message is looked for within [`TRIAL_LOOKAHEAD`] bytes, and if
    /// none turns up the connection is no HTTP/1 at all ([`HttpConnection::found`] is false,
    /// and nothing is reported for it).
    pub fn on_trial(facts: ConnFacts, scheme: Scheme, opts: HttpOptions) -> Self {
        let mut c = HttpConnection::new(facts, scheme, opts);
        c.trial = true;
        c
    }

    /// False only for a connection on trial in which no message was found.
    pub fn found(&self) -> bool {
        !self.trial || self.records.len() > self.dead.len()
    }

    /// True once a CONNECT tunnel (2xx) or a 101 protocol switch stopped HTTP/1 parsing;
    /// later bytes are only counted.
    pub fn switched(&self) -> bool {
        self.switched
    }

    /// After a switch: the stream offsets `[client->server, server->client]` where the
    /// tunnelled / switched-to protocol's bytes begin.
    pub fn switch_offsets(&self) -> Option<[u64; 2]> {
        match (self.sides[0].switched_at, self.sides[1].switched_at) {
            (Some(c), Some(s)) => Some([c, s]),
            _ => None,
        }
    }

    /// All exchanges, in the order their first byte arrived, with local ids; diagnostics
    /// point at them by those ids. Directions not ended yet are ended as at capture end.
    pub fn finish(mut self) -> HttpOutput {
        if self.abandoned {
            return self.output();
        }
        if !self.sides[1].ended {
            let (off, at) = (self.sides[1].next_off, self.sides[1].last_at);
            self.on_end(Dir::ServerToClient, off, StreamEnd::CaptureEnd, at);
        }
        // A client still waiting on a switch that never came: parse what it held back.
        while matches!(self.sides[0].state, State::Paused { .. }) {
            self.resume_client();
        }
        if !self.sides[0].ended {
            let (off, at) = (self.sides[0].next_off, self.sides[0].last_at);
            self.on_end(Dir::ClientToServer, off, StreamEnd::CaptureEnd, at);
        }
        self.settle(0);
        self.settle(1);
        self.flush_skip(0);
        self.flush_skip(1);
        self.output()
    }

    fn output(mut self) -> HttpOutput {
        if !self.found() {
            return exchange::finish(Vec::new(), self.scheme, Vec::new());
        }
        if !self.dead.is_empty() {
            // Drop the records taken back; diagnostics follow the others to their new index.
            let mut alive = vec![true; self.records.len()];
            for &x in &self.dead {
                alive[x] = false;
            }
            let mut next = 0u32;
            let new_index: Vec<Option<u32>> = alive
                .iter()
                .map(|&a| {
                    a.then(|| {
                        next += 1;
                        next - 1
                    })
                })
                .collect();
            let mut i = 0;
            self.records.retain(|_| {
                i += 1;
                new_index[i - 1].is_some()
            });
            self.diags.retain_mut(|d| match d.exchange {
                Some(ExchId(x)) => match new_index.get(x as usize).copied().flatten() {
                    Some(n) => {
                        d.exchange = Some(ExchId(n));
                        true
                    }
                    None => false,
                },
                None => true,
            });
        }
        let mut inner = None;
        let mut h2_control = None;
        match self.carried.take() {
            Some((Carried::Tunnel(d), _)) => inner = Some(*d),
            Some((Carried::H2c(h2), _)) => {
                h2_control = Some(h2.control_frames());
                self.add_h2c(*h2);
            }
            None => {}
        }
        let mut out = exchange::finish(self.records, self.scheme, self.diags);
        out.h2_control = h2_control;
        if let Some(d) = inner {
            (out.tunnel_tls, out.h2_control) = tunnel::merge(&mut out, d);
        }
        out
    }

    fn add_h2c(&mut self, h2: Http2Connection) {
        tunnel::join_h2c(&mut self.records, &mut self.diags, h2);
    }

    fn diag(&mut self, severity: Severity, message: String, exch: Option<usize>, frame: FrameNo) {
        let mut d = Diagnostic::new(severity, message).at_frame(frame);
        d.exchange = exch.map(|i| ExchId(i as u32));
        self.diags.push(d);
    }

    fn notes(&mut self, notes: Notes, d: usize, exch: usize, frame: FrameNo) {
        for (sev, msg) in notes {
            self.diag(sev, format!("{} body: {msg}", what(d)), Some(exch), frame);
        }
    }

    /// Reports skipped non-HTTP bytes, if any were more than blank lines.
    fn flush_skip(&mut self, d: usize) {
        let side = &mut self.sides[d];
        let Some(skip) = side.skip.take() else {
            return;
        };
        let seen = side.seen_message;
        self.report_skip(d, skip, seen);
    }

    fn report_skip(&mut self, d: usize, skip: Skip, seen_message: bool) {
        if !skip.text {
            return;
        }
        if let Some(x) = self.sides[d].cut_body {
            let m = format!(
                "skipped {} bytes from stream offset {}: what the capture holds of the body of a {} whose head was cut short",
                skip.bytes,
                skip.from,
                what(d)
            );
            self.diag(Severity::Info, m, Some(x), skip.at.frame);
            return;
        }
        let (sev, msg) = if !seen_message && !self.facts.handshake && skip.from == 0 {
            (
                Severity::Info,
                format!(
                    "capture started mid-connection: skipped {} bytes before the first {} (the end of a {} that began before the capture)",
                    skip.bytes,
                    what(d),
                    what(d)
                ),
            )
        } else {
            (
                Severity::Warning,
                format!(
                    "skipped {} bytes that are not an HTTP/1 {} at stream offset {}",
                    skip.bytes,
                    what(d),
                    skip.from
                ),
            )
        };
        self.diag(sev, msg, None, skip.at.frame);
    }

    // ---- stream processing -------------------------------------------------------------

    fn process_data(&mut self, d: usize, offset: u64, data: &[u8], at: Arrival) {
        {
            let side = &mut self.sides[d];
            side.next_off = offset + data.len() as u64;
            side.last_at = at;
            // Out of step, a message may start where a new segment does even when no line
            // does (the body before it need not end with a line end).
            if side.resync
                && matches!(side.state, State::Seek)
                && side.buf.is_empty()
                && side.last_data_frame != Some(at.frame)
            {
                side.line_start = true;
            }
            side.last_data_frame = Some(at.frame);
        }
        let mut pos = 0;
        while pos < data.len() {
            let off = offset + pos as u64;
            let rest = &data[pos..];
            let n = match &mut self.sides[d].state {
                State::Seek => self.seek(d, rest, off, at),
                State::Head if self.sides[d].vet.is_some() => self.vet_head(d, rest, off, at),
                State::Head => self.head(d, rest, off, at),
                State::Body(_) => self.body(d, rest, off, at),
                State::Paused { .. } => {
                    self.hold(d, Pending::Data(off, rest.to_vec(), at));
                    rest.len()
                }
                State::Switched => {
                    self.sides[d].switched_bytes += rest.len() as u64;
                    if let Some((h2, base)) = &mut self.carried {
                        h2.on_data(dir_of(d), off.saturating_sub(base[d]), rest, at);
                    }
                    rest.len()
                }
            };
            pos += n;
        }
    }

    /// Holds an event back while paused; gives up waiting when too much piles up.
    fn hold(&mut self, d: usize, ev: Pending) {
        let limit = self.opts.max_head_bytes;
        let over = match &mut self.sides[d].state {
            State::Paused { events, bytes, .. } => {
                if let Pending::Data(_, b, _) = &ev {
                    *bytes += b.len();
                }
                events.push(ev);
                *bytes > limit
            }
            _ => false,
        };
        if over && d == 0 {
            // Stop pausing on this connection for good, so replays cannot pause (and
            // overflow, and replay) again recursively.
            self.pausing = false;
            self.resume_client();
        }
    }

    /// Lets a paused client direction go on as HTTP/1, replaying what it held back.
    fn resume_client(&mut self) {
        let side = &mut self.sides[0];
        let State::Paused { events, .. } = std::mem::replace(&mut side.state, State::Seek) else {
            return;
        };
        side.line_start = true;
        for ev in events {
            match ev {
                Pending::Data(off, bytes, at) => self.process_data(0, off, &bytes, at),
                Pending::Gap(off, len, at) => self.process_gap(0, off, len, at),
                Pending::End(how, at) => self.process_end(0, how, at),
            }
        }
    }

    /// Is a request waiting for a response that starts in `frame`?
    fn request_waiting(&self, frame: FrameNo) -> bool {
        self.unanswered.front().is_some_and(|&i| {
            self.records[i]
                .timing
                .request_start()
                .is_some_and(|a| a.frame <= frame)
        })
    }

    /// The verdict on a (maybe partial) first line: the loose sniff, then, out of step, the
    /// strict test once the line is complete.
    fn line_verdict(&self, d: usize, line: &[u8]) -> Sniff {
        let side = &self.sides[d];
        let loose = match (d, sniff_request(line)) {
            (0, Sniff::No) if side.in_step && head::lenient_request_line(line) => Sniff::Yes,
            (0, v) => v,
            _ => sniff_response(line),
        };
        let doubt = side.resync || side.probation.as_ref().is_some_and(|p| p.done);
        match loose {
            Sniff::Yes if doubt => match resync::strict_start_line(d, line) {
                Some(true) => Sniff::Yes,
                Some(false) => Sniff::No,
                None => Sniff::NeedMore,
            },
            // Not buffered on: body text ending without a line end, before a new segment.
            Sniff::NeedMore if doubt && !resync::could_start(d, line) => Sniff::No,
            v => v,
        }
    }

    /// Notes skipped bytes; text after messages on probation means they were not messages.
    fn skip_bytes(&mut self, d: usize, bytes: &[u8], off: u64, at: Arrival) {
        if self.sides[d].probation.as_ref().is_some_and(|p| p.done)
            && bytes.iter().any(|&b| !is_blank(b))
        {
            self.retract(d, off);
        }
        self.sides[d].note_skip(bytes, off, at);
    }

    fn seek(&mut self, d: usize, data: &[u8], off: u64, at: Arrival) -> usize {
        let side = &mut self.sides[d];
        if off < side.not_before && side.buf.is_empty() {
            // Still inside the body a head cut short announced: no message starts here.
            let n = (side.not_before - off).min(data.len() as u64) as usize;
            side.line_start = off + n as u64 == side.not_before;
            self.skip_bytes(d, &data[..n], off, at);
            return n;
        }
        if !side.line_start && side.buf.is_empty() {
            return match find_newline(data) {
                Some(p) => {
                    self.skip_bytes(d, &data[..=p], off, at);
                    self.sides[d].line_start = true;
                    p + 1
                }
                None => {
                    self.skip_bytes(d, data, off, at);
                    data.len()
                }
            };
        }
        if side.buf.is_empty() {
            let nuls = data.iter().take_while(|&&b| b == 0).count();
            if nuls > 0 {
                self.skip_bytes(d, &data[..nuls], off, at);
                return nuls;
            }
            side.buf_start = off;
            side.buf_at = at;
        }
        let line_end = find_newline(data).map_or(data.len(), |p| p + 1);
        let room = SNIFF_LIMIT.saturating_sub(side.buf.len()).max(1);
        let take = line_end.min(room);
        if side.buf.is_empty() && self.line_verdict(d, &data[..take]) == Sniff::No {
            // Decided on the piece itself: nothing to copy.
            self.skip_bytes(d, &data[..take], off, at);
            self.sides[d].line_start = data[..take].last() == Some(&b'\n');
            return take;
        }
        self.sides[d].buf.extend_from_slice(&data[..take]);
        let verdict = self.line_verdict(d, &self.sides[d].buf);
        let verdict = match verdict {
            Sniff::NeedMore if self.sides[d].buf.len() >= SNIFF_LIMIT => Sniff::No,
            v => v,
        };
        match verdict {
            Sniff::Yes => self.accept_start(d),
            Sniff::No => {
                let side = &mut self.sides[d];
                let buf = std::mem::take(&mut side.buf);
                let (start, start_at) = (side.buf_start, side.buf_at);
                self.skip_bytes(d, &buf, start, start_at);
                let side = &mut self.sides[d];
                side.line_start = buf.last() == Some(&b'\n');
                side.buf = buf;
                side.clear_buf();
            }
            Sniff::NeedMore => {}
        }
        take
    }

    /// `buf` holds the first line of a message: buffer its head. Out of step, its head is
    /// vetted, and a status line no request waits for goes on probation.
    fn request_or_probation(&mut self, d: usize) {
        let at = self.sides[d].buf_at;
        let chained = self.sides[d].probation.as_ref().is_some_and(|p| p.done);
        let doubt = self.sides[d].resync || chained;
        if d == 1 && doubt && !self.request_waiting(at.frame) {
            let diags_from = self.diags.len();
            let side = &mut self.sides[d];
            match &mut side.probation {
                Some(p) => p.done = false,
                None => {
                    side.probation = Some(Box::new(Probation {
                        exchs: Vec::new(),
                        done: false,
                        cut_by_end: false,
                        before: side.skip.take(),
                        seen_before: side.seen_message,
                        start: side.buf_start,
                        start_at: side.buf_at,
                        diags_from,
                    }));
                }
            }
        } else {
            self.confirm(d);
            self.flush_skip(d);
        }
    }

    fn accept_start(&mut self, d: usize) {
        self.request_or_probation(d);
        let side = &mut self.sides[d];
        side.lost_start = false;
        side.vet = (side.resync || side.probation.is_some()).then_some(side.buf.len());
        side.state = State::Head;
    }

    /// Messages on probation are kept: report the text skipped before them.
    fn confirm(&mut self, d: usize) {
        let Some(p) = self.sides[d].probation.take() else {
            return;
        };
        if let Some(before) = p.before {
            self.report_skip(d, before, p.seen_before);
        }
        for x in p.exchs {
            self.push_live(x);
        }
    }

    /// Messages on probation were not messages: take their exchanges back and count their bytes
    /// as skipped, up to stream offset `upto`.
    fn retract(&mut self, d: usize, upto: u64) {
        let Some(p) = self.sides[d].probation.take() else {
            return;
        };
        for &x in p.exchs.iter().rev() {
            let from = p.diags_from.min(self.diags.len());
            let mut i = from;
            while i < self.diags.len() {
                if self.diags[i].exchange == Some(ExchId(x as u32)) {
                    self.diags.remove(i);
                } else {
                    i += 1;
                }
            }
            if x + 1 == self.records.len() {
                self.records.pop();
            } else {
                self.records[x] = Record::new();
                self.dead.push(x);
            }
        }
        let side = &mut self.sides[d];
        let (from, at) = p
            .before
            .as_ref()
            .map_or((p.start, p.start_at), |s| (s.from, s.at));
        side.skip = Some(Skip {
            from,
            at,
            bytes: upto.saturating_sub(from),
            text: true,
        });
        side.seen_message = p.seen_before;
        side.in_step = false;
        side.resync = true;
    }

    /// The stream ended: messages on probation whose last one ended as framed are kept; one
    /// cut by the end of the stream is not.
    fn settle(&mut self, d: usize) {
        match &self.sides[d].probation {
            Some(p) if p.done && p.cut_by_end => {
                let upto = self.sides[d].next_off;
                self.retract(d, upto);
            }
            Some(p) if p.done => self.confirm(d),
            _ => {}
        }
    }

    /// The head being vetted was no head: its bytes were text.
    fn reject_candidate(&mut self, d: usize) {
        let side = &mut self.sides[d];
        let buf = std::mem::take(&mut side.buf);
        let (start, start_at) = (side.buf_start, side.buf_at);
        side.vet = None;
        side.state = State::Seek;
        if side.probation.is_some() {
            self.retract(d, start + buf.len() as u64);
        } else {
            self.skip_bytes(d, &buf, start, start_at);
        }
        let side = &mut self.sides[d];
        side.buf = buf;
        side.clear_buf();
    }

    /// Buffers a head taken out of step, a line at a time: each line must be a field line, or
    /// the head was text that merely began like a message.
    fn vet_head(&mut self, d: usize, data: &[u8], off: u64, at: Arrival) -> usize {
        let max = self.opts.max_head_bytes;
        let side = &mut self.sides[d];
        let from = side.vet.unwrap_or(0);
        let line_end = find_newline(data).map(|p| p + 1);
        let take = line_end.unwrap_or(data.len());
        if side.buf.len() + take > max {
            self.reject_candidate(d);
            self.sides[d].line_start = false;
            return 0;
        }
        side.buf.extend_from_slice(&data[..take]);
        if line_end.is_none() {
            return take;
        }
        let line = &side.buf[from..];
        if resync::is_empty_line(line) {
            side.vet = None;
            self.complete_head(d, off + take as u64, at);
            return take;
        }
        if resync::field_line(line) {
            side.vet = Some(side.buf.len());
            return take;
        }
        // Not a field line: the candidate was text. The line itself may start a message.
        let bad = side.buf.split_off(from);
        let bad_off = side.buf_start + from as u64;
        self.reject_candidate(d);
        self.sides[d].line_start = true;
        if self.line_verdict(d, &bad) == Sniff::Yes {
            let side = &mut self.sides[d];
            side.buf = bad;
            side.buf_start = bad_off;
            side.buf_at = at;
            self.accept_start(d);
        } else {
            self.skip_bytes(d, &bad, bad_off, at);
        }
        take
    }

    fn head(&mut self, d: usize, data: &[u8], off: u64, at: Arrival) -> usize {
        let max = self.opts.max_head_bytes;
        let side = &mut self.sides[d];
        match find_head_end(&side.buf, data) {
            Some(p) if side.buf.len() + p < max => {
                side.buf.extend_from_slice(&data[..=p]);
                self.complete_head(d, off + p as u64 + 1, at);
                p + 1
            }
            None if side.buf.len() + data.len() <= max => {
                side.buf.extend_from_slice(data);
                data.len()
            }
            found => {
                let (start, start_at, had) = (side.buf_start, side.buf_at, side.buf.len());
                side.clear_buf();
                side.state = State::Seek;
                side.in_step = false;
                // Past a complete (over-long) head the next byte starts a line; otherwise
                // skip to the next line.
                let used = match found {
                    Some(p) => {
                        side.line_start = true;
                        p + 1
                    }
                    None => {
                        side.line_start = false;
                        max.saturating_sub(had).min(data.len())
                    }
                };
                self.diag(
                    Severity::Error,
                    format!(
                        "{} head at stream offset {start} is longer than {max} bytes: skipped",
                        what(d)
                    ),
                    None,
                    start_at.frame,
                );
                used
            }
        }
    }

    fn complete_head(&mut self, d: usize, body_start: u64, at: Arrival) {
        let side = &mut self.sides[d];
        let (start, start_at) = (side.buf_start, side.buf_at);
        side.state = State::Seek;
        side.line_start = true;
        // Until the message is framed, where the next one starts is unknown.
        side.in_step = false;
        let parsed = if d == 0 {
            head::parse_request(&side.buf).map(Head::Request)
        } else {
            head::parse_response(&side.buf).map(Head::Response)
        };
        side.clear_buf();
        match parsed {
            Ok(h) => {
                let side = &mut self.sides[d];
                side.seen_message = true;
                side.resync = false;
                side.cut_body = None;
                self.take_head(h, start_at, body_start, at, None);
            }
            Err(_) if self.sides[d].probation.is_some() => self.retract(d, body_start),
            Err(e) => {
                self.sides[d].seen_message = true;
                self.diag(
                    Severity::Warning,
                    format!("unparseable {} head at stream offset {start}: {e}", what(d)),
                    None,
                    start_at.frame,
                );
            }
        }
    }

    fn take_head(
        &mut self,
        h: Head,
        start_at: Arrival,
        body_start: u64,
        at: Arrival,
        cut: Option<Cut>,
    ) {
        match h {
            Head::Request(h) => self.request_head(h, start_at, body_start, at, cut),
            Head::Response(h) => self.response_head(h, start_at, body_start, at, cut),
        }
    }

    /// The head being buffered was cut short in its own frame (the snapshot length): keep what
    /// it says. False when too little of it survives to name the message.
    fn salvage(&mut self, d: usize, cut: Cut) -> bool {
        let side = &mut self.sides[d];
        let Some((text, line_cut)) = resync::cut_head(d, &side.buf) else {
            return false;
        };
        let parsed = if d == 0 {
            head::parse_request(&text).map(Head::Request)
        } else {
            head::parse_response(&text).map(Head::Response)
        };
        let Ok(h) = parsed else {
            return false;
        };
        let (start, start_at) = (side.buf_start, side.buf_at);
        side.clear_buf();
        side.vet = None;
        side.state = State::Seek;
        side.line_start = true;
        side.seen_message = true;
        side.in_step = false;
        side.resync = true;
        side.lost_start = false;
        let resume = cut.offset + cut.len;
        let cut = Cut {
            start,
            line_cut,
            ..cut
        };
        self.take_head(h, start_at, resume, cut.at, Some(cut));
        true
    }

    /// A message whose head was cut short: it ends here, incomplete, and says what was lost.
    fn end_cut(&mut self, d: usize, exch: usize, kept: usize, body: Announced, cut: Cut) {
        let start = cut.start;
        let Some(rec) = self.records.get_mut(exch) else {
            return;
        };
        let body_of = |b: &mut Body| {
            // As for a body with bytes missing: its length is the announced one.
            if let Announced::Length(n) = body {
                b.wire_length = n;
            }
        };
        if d == 0 {
            rec.request_complete = false;
            rec.timing.set_request_end(Some(cut.at));
            rec.pause_after_request = false;
            if let Some(r) = rec.request.as_mut() {
                body_of(&mut r.body);
            }
        } else {
            rec.response_complete = false;
            rec.timing.set_response_end(Some(cut.at));
            if let Some(r) = rec.response.as_mut() {
                body_of(&mut r.body);
            }
        }
        self.sides[d].cut_body = Some(exch);
        if let Announced::Length(n) = body {
            // Its body runs at least this far past the cut: no message starts before.
            self.sides[d].not_before = cut.offset.saturating_add(n);
        }
        let line = match (d, cut.line_cut) {
            (0, false) => "the request line",
            (0, true) => "the start of the request line (the target may be incomplete)",
            (_, false) => "the status line",
            (_, true) => "the status code",
        };
        let body = match body {
            Announced::Nothing => String::new(),
            Announced::Length(n) => format!(" and its body of {n} bytes (Content-Length)"),
            Announced::Chunked => " and its chunked body".to_string(),
            Announced::ToClose => " and its body".to_string(),
        };
        self.diag(
            Severity::Warning,
            format!(
                "{} head at stream offset {start} cut short by {} missing bytes at offset {} in frame {} (the snapshot length): kept {line} and {kept} header fields; the rest of the head{body} is not in the capture",
                what(d),
                cut.len,
                cut.offset,
                cut.at.frame.0
            ),
            Some(exch),
            cut.at.frame,
        );
        if d == 1 {
            self.push_live(exch);
        }
    }

    fn request_head(
        &mut self,
        h: head::RequestHead,
        start_at: Arrival,
        body_start: u64,
        at: Arrival,
        cut: Option<Cut>,
    ) {
        let idx = self.records.len();
        let kept = h.headers.len();
        // Lost requests are not modelled (responses to them pair FIFO like the rest).
        self.sides[0].lost_messages = 0;
        let mut rec = Record::new();
        rec.pause_after_request = h.method == "CONNECT" || h.framing.upgrade.is_some();
        rec.timing.set_request_start(Some(start_at));
        let f = h.framing;
        if let Some(line) = &h.malformed_line {
            let shown: String = line.chars().take(200).collect();
            self.diag(
                Severity::Warning,
                format!(
                    "malformed request line \"{shown}\": read as method {}, target \"{}\"",
                    h.method, h.target
                ),
                Some(idx),
                start_at.frame,
            );
        }
        rec.request = Some(Box::new(Request {
            method: token(&h.method),
            target: h.target,
            version: token(&h.version),
            headers: h.headers,
            body: Body::default(),
        }));
        self.records.push(rec);
        self.unanswered.push_back(idx);
        if f.te_present && matches!(f.content_length, Ok(Some(_)) | Err(_)) {
            self.diag(
                Severity::Info,
                "request has both Transfer-Encoding and Content-Length; Transfer-Encoding wins"
                    .into(),
                Some(idx),
                start_at.frame,
            );
        }
        let mut framing_lost = false;
        let framing = if f.te_present {
            if f.chunked {
                Framing::Chunked(Chunked::start())
            } else {
                self.diag(
                    Severity::Warning,
                    "request Transfer-Encoding does not end in chunked: body length unknown".into(),
                    Some(idx),
                    start_at.frame,
                );
                framing_lost = true;
                Framing::None
            }
        } else {
            match f.content_length {
                Ok(Some(n)) if n > 0 => Framing::Length {
                    remaining: n,
                    total: n,
                },
                Ok(_) => Framing::None,
                Err(e) => {
                    self.diag(
                        Severity::Warning,
                        format!("request {e}: body length unknown"),
                        Some(idx),
                        start_at.frame,
                    );
                    framing_lost = true;
                    Framing::None
                }
            }
        };
        if let Some(cut) = cut {
            self.end_cut(0, idx, kept, announced(&framing), cut);
            return;
        }
        self.start_body(0, idx, framing, f.codings, body_start, at);
        if framing_lost {
            self.sides[0].in_step = false;
        }
    }

    fn response_head(
        &mut self,
        h: head::ResponseHead,
        start_at: Arrival,
        body_start: u64,
        at: Arrival,
        cut: Option<Cut>,
    ) {
        if (100..200).contains(&h.status) && h.status != 101 {
            self.sides[1].interim.push(h.status);
            self.sides[1].in_step = true;
            if let Some(p) = &mut self.sides[1].probation {
                p.done = true;
            }
            return;
        }
        // Responses lost in gaps answered the oldest requests sent before this response.
        for _ in 0..std::mem::take(&mut self.sides[1].lost_messages) {
            match self.unanswered.front() {
                Some(&i)
                    if self.records[i]
                        .timing
                        .request_start()
                        .is_some_and(|a| a.frame <= start_at.frame) =>
                {
                    self.unanswered.pop_front();
                    self.records[i].pause_after_request = false;
                    self.diag(
                        Severity::Warning,
                        "the response to this request was lost in a capture gap".into(),
                        Some(i),
                        start_at.frame,
                    );
                }
                _ => break,
            }
        }
        let paired = match self.unanswered.front() {
            Some(&i)
                if self.records[i]
                    .timing
                    .request_start()
                    .is_some_and(|a| a.frame <= start_at.frame) =>
            {
                self.unanswered.pop_front();
                Some(i)
            }
            _ => None,
        };
        let idx = match paired {
            Some(i) => i,
            None => {
                self.records.push(Record::new());
                self.records.len() - 1
            }
        };
        if let Some(p) = &mut self.sides[1].probation {
            p.exchs.push(idx);
        }
        let kept = h.headers.len();
        // A close-delimited body on probation would run to the end of the stream, over any
        // message after it: only kept when the head says the connection closes.
        let closes = h.version == "HTTP/1.0"
            || h.headers
                .get_all("connection")
                .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")));
        let method = self.records[idx]
            .request
            .as_ref()
            .map_or("GET", |r| &*r.method);
        let head_request = method == "HEAD";
        let connect = method == "CONNECT";
        let f = h.framing;
        let status = h.status;
        let interim = std::mem::take(&mut self.sides[1].interim);
        let rec = &mut self.records[idx];
        rec.timing.set_response_start(Some(start_at));
        rec.response = Some(Box::new(Response {
            version: token(&h.version),
            status,
            reason: token(&h.reason),
            headers: h.headers,
            interim_statuses: interim,
            body: Body::default(),
        }));
        let switch = if status == 101 {
            Some(Upgrade::Protocol(f.upgrade.clone().unwrap_or_default()))
        } else if connect && (200..300).contains(&status) {
            Some(Upgrade::Tunnel)
        } else {
            None
        };
        if let Some(up) = switch {
            rec.upgrade = Some(up);
            self.start_body(1, idx, Framing::None, f.codings, body_start, at);
            self.confirm(1);
            if let Some(cut) = cut {
                self.end_cut(1, idx, kept, Announced::Nothing, cut);
            }
            let h2c = matches!(&rec_upgrade_of(&self.records[idx]), Some(p) if p.eq_ignore_ascii_case("h2c"));
            let to = if h2c {
                let h2 = Http2Connection::new(self.facts, self.scheme, self.opts.clone());
                Some(Carried::H2c(Box::new(h2)))
            } else if connect {
                // The tunnel's bytes start as a new connection's would: TLS, or plain HTTP.
                let reg = self.tunnels.as_ref().map(Arc::clone);
                reg.map(|r| Carried::Tunnel(Box::new(Dispatcher::new(self.facts, Scheme::Http, r))))
            } else {
                None
            };
            self.switch(body_start, to);
            return;
        }
        rec.pause_after_request = false;
        let framing = if head_request || status < 200 || status == 204 || status == 304 {
            Framing::None
        } else if f.te_present {
            if f.content_length != Ok(None) {
                self.diag(
                    Severity::Info,
                    "response has both Transfer-Encoding and Content-Length; Transfer-Encoding wins"
                        .into(),
                    Some(idx),
                    start_at.frame,
                );
            }
            if f.chunked {
                Framing::Chunked(Chunked::start())
            } else {
                Framing::Close
            }
        } else {
            match f.content_length {
                Ok(Some(0)) => Framing::None,
                Ok(Some(n)) => Framing::Length {
                    remaining: n,
                    total: n,
                },
                Ok(None) => Framing::Close,
                Err(e) => {
                    self.diag(
                        Severity::Warning,
                        format!("response {e}: body read until the connection closes"),
                        Some(idx),
                        start_at.frame,
                    );
                    Framing::Close
                }
            }
        };
        if let Some(cut) = cut {
            self.end_cut(1, idx, kept, announced(&framing), cut);
        } else if matches!(framing, Framing::Close) && !closes && self.sides[1].probation.is_some()
        {
            self.retract(1, body_start);
            return;
        } else {
            self.start_body(1, idx, framing, f.codings, body_start, at);
        }
        if matches!(self.sides[0].state, State::Paused { exch, .. } if exch == idx) {
            self.resume_client();
        }
    }

    /// CONNECT 2xx or 101: both directions stop being HTTP/1.
    /// `to`: the protocol (HTTP/2 after h2c, a tunnel's) whose bytes are parsed from here on.
    fn switch(&mut self, server_off: u64, to: Option<Carried>) {
        self.switched = true;
        self.sides[1].state = State::Switched;
        self.sides[1].switched_at = Some(server_off);
        let client = &mut self.sides[0];
        let mut held_events = Vec::new();
        let (from, held) = match std::mem::replace(&mut client.state, State::Switched) {
            State::Paused {
                from,
                bytes,
                events,
                ..
            } => {
                held_events = events;
                (from, bytes as u64)
            }
            State::Body(run) => {
                // The request body was still arriving: it ends where the switch happened.
                let off = client.next_off;
                client.state = State::Body(run);
                self.finish_body(0, off, false);
                self.sides[0].state = State::Switched;
                (off, 0)
            }
            _ => {
                client.buf.clear();
                (client.next_off, 0)
            }
        };
        self.sides[0].switched_at = Some(from);
        self.sides[0].switched_bytes += held;
        if let Some(to) = to {
            self.carried = Some((to, [from, server_off]));
            // What the client sent while waiting for the 101 (the preface and its frames) or
            // the 2xx (a TLS ClientHello).
            if let Some((h2, base)) = &mut self.carried {
                for ev in held_events {
                    match ev {
                        Pending::Data(off, bytes, at) => {
                            h2.on_data(Dir::ClientToServer, off.saturating_sub(base[0]), &bytes, at)
                        }
                        Pending::Gap(off, len, at) => {
                            h2.on_gap(Dir::ClientToServer, off.saturating_sub(base[0]), len, at)
                        }
                        Pending::End(how, at) => {
                            let end = self.sides[0].next_off.saturating_sub(base[0]);
                            h2.on_end(Dir::ClientToServer, end, how, at)
                        }
                    }
                }
            }
        }
    }

    fn start_body(
        &mut self,
        d: usize,
        exch: usize,
        framing: Framing,
        codings: Vec<String>,
        start: u64,
        at: Arrival,
    ) {
        let mut notes = Vec::new();
        if !self.keep_heads && !matches!(framing, Framing::None) {
            if let Some(filter) = &self.opts.head_filter {
                let rec = &self.records[exch];
                let response = if d == 1 {
                    rec.response.as_deref()
                } else {
                    None
                };
                self.keep_heads = (filter.0)(rec.request.as_deref(), response);
            }
        }
        let mut limits = self.limits;
        if self.keep_heads {
            limits.head_max = self.opts.head_max;
        }
        let acc = BodyAcc::new(codings, limits, &mut notes);
        let none = matches!(framing, Framing::None);
        self.sides[d].state = State::Body(Box::new(BodyRun {
            exch,
            framing,
            acc,
            start,
            last_at: at,
        }));
        if none {
            self.finish_body(d, start, true);
        }
        // Notes of an empty body (unknown coding) are not worth reporting.
        if !none {
            self.notes(notes, d, exch, at.frame);
        }
    }

    /// Ends the current message of direction `d` at stream offset `end`.
    fn finish_body(&mut self, d: usize, end: u64, framed_complete: bool) {
        let State::Body(run) = std::mem::replace(&mut self.sides[d].state, State::Seek) else {
            return;
        };
        let run = *run;
        self.sides[d].in_step = framed_complete;
        let mut notes = Vec::new();
        let mut body = run.acc.finish(
            framed_complete,
            run.start,
            end.saturating_sub(run.start),
            &mut notes,
        );
        if let Some(budget) = &self.opts.keep_budget {
            budget.charge(&mut body);
        }
        self.notes(notes, d, run.exch, run.last_at.frame);
        let Some(rec) = self.records.get_mut(run.exch) else {
            return;
        };
        let complete = body.complete;
        if d == 0 {
            if let Some(r) = &mut rec.request {
                r.body = body;
            }
            rec.request_complete = complete;
            rec.timing.set_request_end(Some(run.last_at));
            if rec.pause_after_request && self.pausing {
                self.sides[0].state = State::Paused {
                    exch: run.exch,
                    from: end,
                    events: Vec::new(),
                    bytes: 0,
                };
            }
        } else {
            if let Some(r) = &mut rec.response {
                r.body = body;
            }
            rec.response_complete = complete;
            rec.timing.set_response_end(Some(run.last_at));
            match &mut self.sides[1].probation {
                // Shown once kept.
                Some(p) if p.exchs.last() == Some(&run.exch) => p.done = true,
                _ => self.push_live(run.exch),
            }
        }
    }

    /// Shows a finished exchange in the live list while loading.
    fn push_live(&self, exch: usize) {
        if let (Some(feed), Some(rec)) = (&self.opts.live, self.records.get(exch)) {
            let x = rec.snapshot(ExchId(exch as u32), self.scheme);
            feed.push(
                self.facts.client,
                self.facts.server,
                self.facts.first_frame,
                x,
            );
        }
    }

    fn body(&mut self, d: usize, data: &[u8], off: u64, at: Arrival) -> usize {
        let max_trailer = self.opts.max_head_bytes as u64;
        let State::Body(run) = &mut self.sides[d].state else {
            return 0;
        };
        run.last_at = at;
        let mut notes = Vec::new();
        let mut broken = None;
        let (used, done) = match &mut run.framing {
            Framing::Length { remaining, .. } => {
                let n = (*remaining).min(data.len() as u64);
                run.acc.feed(&data[..n as usize], &mut notes);
                *remaining -= n;
                (n as usize, *remaining == 0)
            }
            Framing::Close => {
                run.acc.feed(data, &mut notes);
                (data.len(), false)
            }
            Framing::Chunked(c) => match c.step(data, max_trailer) {
                ChunkStep::Framing(n) => (n, false),
                ChunkStep::Data(n) => {
                    run.acc.feed(&data[..n], &mut notes);
                    (n, false)
                }
                ChunkStep::Done(n) => (n, true),
                ChunkStep::Error(e) => {
                    broken = Some(e);
                    (0, true)
                }
            },
            Framing::None => (0, true),
        };
        let exch = run.exch;
        self.notes(notes, d, exch, at.frame);
        if let Some(e) = broken {
            self.diag(
                Severity::Warning,
                format!(
                    "{} body: chunked framing broken near stream offset {off}: {e}; skipping to the next message",
                    what(d)
                ),
                Some(exch),
                at.frame,
            );
            self.sides[d].line_start = false;
            self.finish_body(d, off, false);
            self.sides[d].line_start = false;
            return 0;
        }
        if done {
            self.finish_body(d, off + used as u64, true);
            self.sides[d].line_start = true;
        }
        used
    }

    /// May the head (or the first line) being buffered be kept though cut short? A head begun
    /// as any other; a first line cut in the middle only in step, or when what survives would
    /// have been taken for a start line anyway: a status line a request waits for, a request
    /// line with a registered method.
    fn may_salvage(&self, d: usize) -> bool {
        let side = &self.sides[d];
        if side.probation.is_some() {
            return false;
        }
        if matches!(side.state, State::Head) || side.in_step {
            return true;
        }
        if d == 1 {
            self.request_waiting(side.buf_at.frame)
        } else {
            resync::known_method(&side.buf)
        }
    }

    fn process_gap(&mut self, d: usize, offset: u64, len: u64, at: Arrival) {
        {
            let side = &mut self.sides[d];
            side.next_off = offset + len;
            side.last_at = at;
        }
        let frame = at.frame;
        // The gap came with the bytes before it: their frame was cut short (snapshot length).
        let cut = (self.sides[d].last_data_frame == Some(frame)).then_some(Cut {
            start: 0,
            offset,
            len,
            at,
            line_cut: false,
        });
        match &mut self.sides[d].state {
            State::Paused { .. } => self.hold(d, Pending::Gap(offset, len, at)),
            State::Switched => {
                self.sides[d].switched_bytes += len;
                if let Some((h2, base)) = &mut self.carried {
                    h2.on_gap(dir_of(d), offset.saturating_sub(base[d]), len, at);
                }
            }
            State::Seek => {
                if let Some(cut) = cut {
                    if !self.sides[d].buf.is_empty() && self.may_salvage(d) && self.salvage(d, cut)
                    {
                        return;
                    }
                }
                let side = &mut self.sides[d];
                side.clear_buf();
                side.line_start = true;
                side.in_step = false;
                side.resync = true;
                let msg = match side.cut_body {
                    // Text after it is still that body: no message is known to be lost.
                    Some(_) => format!(
                        "{len} bytes missing at stream offset {offset} in or after the body of a {} whose head was cut short: any {} in them is lost",
                        what(d),
                        what(d)
                    ),
                    None => {
                        side.lost_start = true;
                        format!(
                            "{len} bytes missing at stream offset {offset} between {}s: any {} in them is lost",
                            what(d),
                            what(d)
                        )
                    }
                };
                let exch = side.cut_body;
                self.diag(Severity::Warning, msg, exch, frame);
            }
            State::Head if self.sides[d].probation.is_some() => {
                // On probation and cut: nothing says it was a message.
                self.reject_candidate(d);
                let side = &mut self.sides[d];
                side.line_start = true;
                side.lost_start = true;
            }
            State::Head => {
                if let Some(cut) = cut {
                    if self.may_salvage(d) && self.salvage(d, cut) {
                        return;
                    }
                }
                let side = &mut self.sides[d];
                let start = side.buf_start;
                side.clear_buf();
                side.vet = None;
                side.line_start = true;
                side.state = State::Seek;
                // This message is lost; the bytes after the gap are still its own.
                side.lost_messages = side.lost_messages.saturating_add(1);
                side.lost_start = false;
                side.in_step = false;
                side.resync = true;
                self.diag(
                    Severity::Warning,
                    format!(
                        "{} head at stream offset {start} cut by {len} missing bytes at offset {offset}: skipped",
                        what(d)
                    ),
                    None,
                    frame,
                );
            }
            State::Body(run) => {
                run.last_at = at;
                let exch = run.exch;
                // Bytes of this body inside the gap, and whether the framing survives it.
                let (in_body, in_sync) = match &mut run.framing {
                    Framing::Length { remaining, .. } => {
                        let n = (*remaining).min(len);
                        *remaining -= n;
                        (n, true)
                    }
                    Framing::Close => (len, true),
                    Framing::Chunked(c) => match c {
                        Chunked::Data(rem) if *rem > len => {
                            *rem -= len;
                            (len, true)
                        }
                        Chunked::Data(rem) if *rem == len => {
                            *c = Chunked::DataEnd { seen_cr: false };
                            (len, true)
                        }
                        Chunked::Data(rem) => (*rem, false),
                        _ => (0, false),
                    },
                    Framing::None => (0, true),
                };
                run.acc.gap(in_body);
                let ends_body = matches!(run.framing, Framing::Length { remaining: 0, .. });
                let msg = if in_sync {
                    format!(
                        "{} body: {len} bytes missing at stream offset {offset}",
                        what(d)
                    )
                } else {
                    format!(
                        "{} body: {len} bytes missing at stream offset {offset} inside chunked framing; skipping to the next message",
                        what(d)
                    )
                };
                self.diag(Severity::Warning, msg, Some(exch), frame);
                if !in_sync {
                    self.finish_body(d, offset + len, false);
                    self.sides[d].line_start = true;
                    self.sides[d].lost_start = true;
                    self.sides[d].resync = true;
                } else if ends_body {
                    self.finish_body(d, offset + in_body, false);
                    self.sides[d].line_start = true;
                    self.sides[d].lost_start = in_body < len;
                    // The gap ended exactly where the body did: the next byte starts a message.
                    self.sides[d].in_step = in_body == len;
                }
            }
        }
    }

    fn process_end(&mut self, d: usize, how: StreamEnd, at: Arrival) {
        let frame = at.frame;
        let end = self.sides[d].next_off;
        match &mut self.sides[d].state {
            State::Paused { .. } => self.hold(d, Pending::End(how, at)),
            State::Switched => {
                if let Some((h2, base)) = &mut self.carried {
                    h2.on_end(dir_of(d), end.saturating_sub(base[d]), how, at);
                }
            }
            State::Seek => {
                let side = &mut self.sides[d];
                let buf = std::mem::take(&mut side.buf);
                let (start, start_at) = (side.buf_start, side.buf_at);
                self.skip_bytes(d, &buf, start, start_at);
                self.settle(d);
                self.flush_skip(d);
            }
            State::Head if self.sides[d].vet.is_some() => {
                // Taken out of step and never completed: text that began like a head.
                self.reject_candidate(d);
                self.settle(d);
                self.flush_skip(d);
            }
            State::Head => {
                let side = &mut self.sides[d];
                let (start, n) = (side.buf_start, side.buf.len());
                side.clear_buf();
                side.state = State::Seek;
                self.diag(
                    Severity::Warning,
                    format!(
                        "{} inside a {} head ({n} bytes from stream offset {start})",
                        ended_by(how),
                        what(d)
                    ),
                    None,
                    frame,
                );
            }
            State::Body(run) => {
                let exch = run.exch;
                let got = run.acc.wire_len();
                let (complete, msg) = match &run.framing {
                    Framing::Length { total, .. } => (
                        false,
                        Some(format!(
                            "{} body: {} after {got} of {total} body bytes",
                            what(d),
                            ended_by(how)
                        )),
                    ),
                    Framing::Chunked(_) => (
                        false,
                        Some(format!(
                            "{} body: {} inside the chunked body after {got} body bytes",
                            what(d),
                            ended_by(how)
                        )),
                    ),
                    Framing::Close => match how {
                        StreamEnd::Fin => (true, None),
                        StreamEnd::Rst => (
                            false,
                            Some(format!(
                                "{} body: close-delimited body ended by a TCP reset after {got} bytes; it may be incomplete",
                                what(d)
                            )),
                        ),
                        StreamEnd::CaptureEnd => (
                            false,
                            Some(format!(
                                "{} body: capture ended before the close-delimited body did ({got} bytes seen)",
                                what(d)
                            )),
                        ),
                    },
                    Framing::None => (true, None),
                };
                if let Some(m) = msg {
                    self.diag(Severity::Warning, m, Some(exch), frame);
                }
                self.finish_body(d, end, complete);
                if let Some(p) = &mut self.sides[d].probation {
                    p.cut_by_end = !complete;
                }
                self.settle(d);
            }
        }
    }
}

impl StreamSink for HttpConnection {
    fn on_data(&mut self, dir: Dir, offset: u64, data: &[u8], at: Arrival) {
        let d = dir.index();
        let side = &self.sides[d];
        if side.ended || data.is_empty() || self.abandoned {
            return;
        }
        if self.trial && !self.found() {
            self.trial_bytes += data.len() as u64;
            if self.trial_bytes > TRIAL_LOOKAHEAD {
                self.abandoned = true;
                return;
            }
        }
        let side = &self.sides[d];
        let (mut offset, mut data) = (offset, data);
        let expected = side.next_off;
        if offset < expected {
            // Already delivered (reassembly should not do this): drop the overlap.
            let skip = (expected - offset).min(data.len() as u64);
            data = &data[skip as usize..];
            offset += skip;
            if data.is_empty() {
                return;
            }
        } else if offset > expected {
            self.process_gap(d, expected, offset - expected, at);
        }
        self.process_data(d, offset, data, at);
    }

    fn on_gap(&mut self, dir: Dir, offset: u64, len: u64, at: Arrival) {
        let d = dir.index();
        let side = &self.sides[d];
        if side.ended || self.abandoned {
            return;
        }
        let expected = side.next_off;
        let end = offset.saturating_add(len);
        if end <= expected {
            return;
        }
        // Anything between what was delivered and the reported hole is missing too.
        self.process_gap(d, expected, end - expected, at);
    }

    fn on_end(&mut self, dir: Dir, offset: u64, how: StreamEnd, at: Arrival) {
        let d = dir.index();
        if self.sides[d].ended || self.abandoned {
            return;
        }
        let expected = self.sides[d].next_off;
        if offset > expected {
            self.process_gap(d, expected, offset - expected, at);
        }
        self.sides[d].ended = true;
        self.process_end(d, how, at);
    }
}
