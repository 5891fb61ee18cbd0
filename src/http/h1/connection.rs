//! HTTP/1.x over the two reassembled byte streams of one TCP connection.
//!
//! Each direction is parsed incrementally as pieces arrive: heads are buffered (bounded),
//! bodies are framed (Content-Length, chunked, close), hashed and content-decoded while they
//! stream through and are never buffered whole. Responses pair FIFO with requests. Gaps
//! inside a length-framed body keep the direction in sync; anything else that breaks the
//! framing makes the direction skip to the next line that starts a message.

use super::chunked::{ChunkStep, Chunked};
use super::head;
use super::sniff::{
    find_head_end, find_newline, sniff_request, sniff_response, Sniff, SNIFF_LIMIT,
};
use crate::http::decode::{BodyAcc, BodyLimits, Notes};
use crate::http::exchange::{self, HttpOutput, Record};
use crate::http::HttpOptions;
use crate::model::{
    Arrival, Body, Diagnostic, Dir, ExchId, FrameNo, Request, Response, Scheme, Severity,
    StreamEnd, Upgrade,
};
use crate::net::stream::{ConnFacts, StreamSink};
use std::collections::VecDeque;
use std::sync::Arc;

/// A head buffer that grew larger than this is given back after use.
const HEAD_BUF_KEEP: usize = 64 * 1024;

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
        }
    }

    fn note_skip(&mut self, bytes: &[u8], off: u64, at: Arrival) {
        if bytes.is_empty() {
            return;
        }
        let text = bytes.iter().any(|&b| !is_blank(b));
        if text {
            self.in_step = false;
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
        }
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
        self.flush_skip(0);
        self.flush_skip(1);
        self.output()
    }

    fn output(self) -> HttpOutput {
        exchange::finish(self.records, self.scheme, self.diags)
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
        if !skip.text {
            return;
        }
        let (sev, msg) = if !side.seen_message && !self.facts.handshake && skip.from == 0 {
            (
                Severity::Info,
                format!(
                    "capture started mid-connection: skipped {} bytes before the first {}",
                    skip.bytes,
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
        }
        let mut pos = 0;
        while pos < data.len() {
            let off = offset + pos as u64;
            let rest = &data[pos..];
            let n = match &mut self.sides[d].state {
                State::Seek => self.seek(d, rest, off, at),
                State::Head => self.head(d, rest, off, at),
                State::Body(_) => self.body(d, rest, off, at),
                State::Paused { .. } => {
                    self.hold(d, Pending::Data(off, rest.to_vec(), at));
                    rest.len()
                }
                State::Switched => {
                    self.sides[d].switched_bytes += rest.len() as u64;
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

    fn seek(&mut self, d: usize, data: &[u8], off: u64, at: Arrival) -> usize {
        let side = &mut self.sides[d];
        if !side.line_start && side.buf.is_empty() {
            return match find_newline(data) {
                Some(p) => {
                    side.note_skip(&data[..=p], off, at);
                    side.line_start = true;
                    p + 1
                }
                None => {
                    side.note_skip(data, off, at);
                    data.len()
                }
            };
        }
        if side.buf.is_empty() {
            let nuls = data.iter().take_while(|&&b| b == 0).count();
            if nuls > 0 {
                side.note_skip(&data[..nuls], off, at);
                return nuls;
            }
            side.buf_start = off;
            side.buf_at = at;
        }
        let line_end = find_newline(data).map_or(data.len(), |p| p + 1);
        let room = SNIFF_LIMIT.saturating_sub(side.buf.len()).max(1);
        let take = line_end.min(room);
        let in_step = side.in_step;
        let sniff = |line: &[u8]| match (d, sniff_request(line)) {
            (0, Sniff::No) if in_step && head::lenient_request_line(line) => Sniff::Yes,
            (0, v) => v,
            _ => sniff_response(line),
        };
        if side.buf.is_empty() && sniff(&data[..take]) == Sniff::No {
            // Decided on the piece itself: nothing to copy.
            side.note_skip(&data[..take], off, at);
            side.line_start = data[..take].last() == Some(&b'\n');
            return take;
        }
        side.buf.extend_from_slice(&data[..take]);
        let verdict = sniff(&side.buf);
        let verdict = match verdict {
            Sniff::NeedMore if side.buf.len() >= SNIFF_LIMIT => Sniff::No,
            v => v,
        };
        match verdict {
            Sniff::Yes => {
                self.flush_skip(d);
                self.sides[d].lost_start = false;
                self.sides[d].state = State::Head;
            }
            Sniff::No => {
                let side = &mut self.sides[d];
                let buf = std::mem::take(&mut side.buf);
                side.note_skip(&buf, side.buf_start, side.buf_at);
                side.line_start = buf.last() == Some(&b'\n');
                side.buf = buf;
                side.clear_buf();
            }
            Sniff::NeedMore => {}
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
        side.seen_message = true;
        // Until the message is framed, where the next one starts is unknown.
        side.in_step = false;
        if d == 0 {
            let parsed = head::parse_request(&side.buf);
            side.clear_buf();
            match parsed {
                Ok(h) => self.request_head(h, start_at, body_start, at),
                Err(e) => self.diag(
                    Severity::Warning,
                    format!("unparseable request head at stream offset {start}: {e}"),
                    None,
                    start_at.frame,
                ),
            }
        } else {
            let parsed = head::parse_response(&side.buf);
            side.clear_buf();
            match parsed {
                Ok(h) => self.response_head(h, start_at, body_start, at),
                Err(e) => self.diag(
                    Severity::Warning,
                    format!("unparseable response head at stream offset {start}: {e}"),
                    None,
                    start_at.frame,
                ),
            }
        }
    }

    fn request_head(
        &mut self,
        h: head::RequestHead,
        start_at: Arrival,
        body_start: u64,
        at: Arrival,
    ) {
        let idx = self.records.len();
        // Lost requests are not modelled (responses to them pair FIFO like the rest).
        self.sides[0].lost_messages = 0;
        let mut rec = Record::new();
        rec.pause_after_request = h.method == "CONNECT" || h.framing.upgrade.is_some();
        rec.timing.request_start = Some(start_at);
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
        rec.request = Some(Request {
            method: h.method,
            target: h.target,
            version: h.version,
            headers: h.headers,
            body: Body::default(),
        });
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
    ) {
        if (100..200).contains(&h.status) && h.status != 101 {
            self.sides[1].interim.push(h.status);
            self.sides[1].in_step = true;
            return;
        }
        // Responses lost in gaps answered the oldest requests sent before this response.
        for _ in 0..std::mem::take(&mut self.sides[1].lost_messages) {
            match self.unanswered.front() {
                Some(&i)
                    if self.records[i]
                        .timing
                        .request_start
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
                    .request_start
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
        let method = self.records[idx]
            .request
            .as_ref()
            .map_or("GET", |r| r.method.as_str());
        let head_request = method == "HEAD";
        let connect = method == "CONNECT";
        let f = h.framing;
        let status = h.status;
        let interim = std::mem::take(&mut self.sides[1].interim);
        let rec = &mut self.records[idx];
        rec.timing.response_start = Some(start_at);
        rec.response = Some(Response {
            version: h.version,
            status,
            reason: h.reason,
            headers: h.headers,
            interim_statuses: interim,
            body: Body::default(),
        });
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
            self.switch(body_start);
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
        self.start_body(1, idx, framing, f.codings, body_start, at);
        if matches!(self.sides[0].state, State::Paused { exch, .. } if exch == idx) {
            self.resume_client();
        }
    }

    /// CONNECT 2xx or 101: both directions stop being HTTP/1.
    fn switch(&mut self, server_off: u64) {
        self.switched = true;
        self.sides[1].state = State::Switched;
        self.sides[1].switched_at = Some(server_off);
        let client = &mut self.sides[0];
        let (from, held) = match std::mem::replace(&mut client.state, State::Switched) {
            State::Paused { from, bytes, .. } => (from, bytes as u64),
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
                let response = if d == 1 { rec.response.as_ref() } else { None };
                self.keep_heads = (filter.0)(rec.request.as_ref(), response);
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
            let kept = body.kept.as_ref().map_or(0, |k| k.len());
            let wire = match (&body.kept, &body.wire_kept) {
                (Some(k), Some(w)) if Arc::ptr_eq(k, w) => 0,
                (_, Some(w)) => w.len(),
                _ => 0,
            };
            if kept + wire > 0 && !budget.take((kept + wire) as u64) {
                body.kept = None;
                body.wire_kept = None;
            }
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
            rec.timing.request_end = Some(run.last_at);
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
            rec.timing.response_end = Some(run.last_at);
            if let Some(feed) = &self.opts.live {
                let x = rec.snapshot(ExchId(run.exch as u32), self.scheme);
                feed.push(
                    self.facts.client,
                    self.facts.server,
                    self.facts.first_frame,
                    x,
                );
            }
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

    fn process_gap(&mut self, d: usize, offset: u64, len: u64, at: Arrival) {
        {
            let side = &mut self.sides[d];
            side.next_off = offset + len;
            side.last_at = at;
        }
        let frame = at.frame;
        match &mut self.sides[d].state {
            State::Paused { .. } => self.hold(d, Pending::Gap(offset, len, at)),
            State::Switched => self.sides[d].switched_bytes += len,
            State::Seek => {
                let side = &mut self.sides[d];
                side.clear_buf();
                side.line_start = true;
                side.lost_start = true;
                side.in_step = false;
                self.diag(
                    Severity::Warning,
                    format!(
                        "{len} bytes missing at stream offset {offset} between {}s: any {} in them is lost",
                        what(d),
                        what(d)
                    ),
                    None,
                    frame,
                );
            }
            State::Head => {
                let side = &mut self.sides[d];
                let start = side.buf_start;
                side.clear_buf();
                side.line_start = true;
                side.state = State::Seek;
                // This message is lost; the bytes after the gap are still its own.
                side.lost_messages = side.lost_messages.saturating_add(1);
                side.lost_start = false;
                side.in_step = false;
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
            State::Switched => {}
            State::Seek => {
                let side = &mut self.sides[d];
                let buf = std::mem::take(&mut side.buf);
                side.note_skip(&buf, side.buf_start, side.buf_at);
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
            }
        }
    }
}

impl StreamSink for HttpConnection {
    fn on_data(&mut self, dir: Dir, offset: u64, data: &[u8], at: Arrival) {
        let d = dir.index();
        let side = &self.sides[d];
        if side.ended || data.is_empty() {
            return;
        }
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
        if side.ended {
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
        if self.sides[d].ended {
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
