//! HTTP/2 over the two byte streams of one connection (RFC 9113): frames are cut from each
//! direction, header blocks (HEADERS or PUSH_PROMISE and their CONTINUATIONs) decoded by that
//! direction's HPACK context, and each stream becomes one exchange of the same model as
//! HTTP/1's: its request and response heads (pseudo-header fields kept in the header list as
//! sent), DATA payloads as bodies decoded like HTTP/1's, trailers appended to the head's
//! fields, times from the frames that carried them.
//!
//! What the capture or the protocol loses is said in diagnostics: a stream reset (RST_STREAM,
//! with its error code's name), GOAWAY, header fields HPACK could not decode (the connection's
//! start was not captured, a block was lost), and gaps. A gap inside a DATA frame only makes
//! that body incomplete; anywhere else the frame boundaries after it are unknown and the rest
//! of that direction is not parsed.

use super::frames::{self, FrameHeader, HEADER_LEN, PREFACE};
use super::hpack::{Decoded, HeaderDecoder, MAX_BLOCK};
use crate::http::decode::{list_elements, BodyAcc, BodyLimits, Notes};
use crate::http::exchange::{self, HttpOutput, Record};
use crate::http::HttpOptions;
use crate::model::{
    token, Arrival, Body, Diagnostic, Dir, ExchId, FrameNo, H2ControlFrames, H2Frame, Headers,
    HttpVersion, Request, Response, Scheme, Severity, StreamEnd, StreamInfo, StreamReset,
};
use crate::net::stream::{ConnFacts, StreamSink};
use std::collections::{HashMap, VecDeque};

/// Keeps a frame on a stream, the first [`H2Frame::CAP`] (none unless `keep`); the rest are
/// counted.
fn push_frame(info: &mut StreamInfo, f: H2Frame, keep: bool) {
    if keep && info.frames.len() < H2Frame::CAP {
        info.frames.push(f);
    } else {
        info.frames_dropped = info.frames_dropped.saturating_add(1);
    }
}

fn side(d: usize) -> &'static str {
    if d == 0 {
        "client"
    } else {
        "server"
    }
}

fn half(d: usize) -> &'static str {
    if d == 0 {
        "request"
    } else {
        "response"
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The client direction's start: the connection preface is expected.
    Preface,
    Frames,
    /// The rest of a DATA frame whose start was followed by a gap: `left` bytes go to the
    /// stream's body (or count as missing when the frame is padded: data and padding cannot
    /// be told apart).
    DataTail {
        stream: u32,
        left: usize,
        padded: bool,
        end_stream: bool,
        /// The frame, when it is counted once its last byte is in (a frame whose start was
        /// parsed whole and whose payload streams on; a frame cut by a gap is not counted).
        note: Option<FrameHeader>,
    },
    /// Frame boundaries are unknown (after a gap): bytes are ignored.
    Lost,
}

/// A header block being assembled from HEADERS / PUSH_PROMISE and CONTINUATION frames.
struct Block {
    stream: u32,
    promised: Option<u32>,
    end_stream: bool,
    bytes: Vec<u8>,
    /// More than [`MAX_BLOCK`] arrived: the rest was not kept.
    oversize: bool,
    first: Arrival,
    /// The block's frames so far, kept for its stream once the block opens it.
    frames: Vec<H2Frame>,
}

struct Side {
    phase: Phase,
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    buf_off: u64,
    /// Where each piece of the buffered bytes arrived (stream offset, arrival), in order.
    marks: VecDeque<(u64, Arrival)>,
    decoder: HeaderDecoder,
    block: Option<Block>,
    ended: bool,
}

impl Side {
    fn new(phase: Phase) -> Side {
        Side {
            phase,
            buf: Vec::new(),
            buf_off: 0,
            marks: VecDeque::new(),
            decoder: HeaderDecoder::new(true),
            block: None,
            ended: false,
        }
    }

    fn next_off(&self) -> u64 {
        self.buf_off + self.buf.len() as u64
    }

    /// The arrival of the byte at stream offset `off`.
    fn arrival(&self, off: u64) -> Arrival {
        self.marks
            .iter()
            .rev()
            .find(|(o, _)| *o <= off)
            .or(self.marks.front())
            .map(|m| m.1)
            .unwrap_or_default()
    }
}

/// One direction of one stream.
#[derive(Default)]
struct Half {
    /// The head was seen.
    started: bool,
    done: bool,
    /// Boxed: most of a stream's state while its body streams, none of it after.
    acc: Option<Box<BodyAcc>>,
    body_start: Option<u64>,
    body_end: u64,
    last: Arrival,
}

struct Stream {
    rec: usize,
    halves: [Half; 2],
    interim: Vec<u16>,
}

/// An HTTP/2 connection being parsed.
pub struct Http2Connection {
    facts: ConnFacts,
    scheme: Scheme,
    opts: HttpOptions,
    limits: BodyLimits,
    keep_heads: bool,
    sides: [Side; 2],
    streams: HashMap<u32, Stream, std::hash::BuildHasherDefault<crate::net::FlowHasher>>,
    records: Vec<Record>,
    diags: Vec<Diagnostic>,
    /// The highest stream id the client opened.
    max_client_stream: u32,
    /// Frames on stream 0, by type.
    control: H2ControlFrames,
    /// Resets of streams already complete both ways, by (sent by the client, error name),
    /// with the first one's frame: said once per connection, not once per stream (curl
    /// resets every stream it has finished with).
    late_resets: Vec<(bool, String, u64, FrameNo)>,
}

impl Http2Connection {
    pub fn new(facts: ConnFacts, scheme: Scheme, opts: HttpOptions) -> Http2Connection {
        let limits = BodyLimits {
            decoded_cap: opts.decoded_body_cap,
            keep_max: opts.keep_body_max,
            head_max: 0,
        };
        Http2Connection {
            facts,
            scheme,
            opts,
            limits,
            keep_heads: false,
            sides: [Side::new(Phase::Preface), Side::new(Phase::Frames)],
            streams: HashMap::default(),
            records: Vec::new(),
            diags: Vec::new(),
            max_client_stream: 0,
            control: H2ControlFrames::default(),
            late_resets: Vec::new(),
        }
    }

    /// Exchanges were found.
    pub fn found(&self) -> bool {
        !self.records.is_empty()
    }

    fn diag(&mut self, sev: Severity, msg: String, exch: Option<usize>, frame: FrameNo) {
        let mut d = Diagnostic::new(sev, msg).at_frame(frame);
        d.exchange = exch.map(|i| ExchId(i as u32));
        self.diags.push(d);
    }

    #[inline]
    fn notes(&mut self, notes: Notes, d: usize, exch: usize, frame: FrameNo) {
        if notes.is_empty() {
            return; // (nearly always: this is called for every piece of a body)
        }
        for (sev, msg) in notes {
            self.diag(sev, format!("{} body: {msg}", half(d)), Some(exch), frame);
        }
    }

    // ---- bytes to frames ----

    fn data(&mut self, d: usize, offset: u64, data: &[u8], at: Arrival) {
        let s = &mut self.sides[d];
        if s.ended || s.phase == Phase::Lost {
            return;
        }
        let next = s.next_off();
        let data = if offset < next {
            // Already seen (reassembly hands bytes in order; be safe anyway).
            match data.get((next - offset) as usize..) {
                Some(rest) if !rest.is_empty() => rest,
                _ => return,
            }
        } else {
            if offset > next {
                self.gap(d, next, offset - next, at);
            }
            data
        };
        let s = &mut self.sides[d];
        if s.phase == Phase::Lost {
            return;
        }
        if s.buf.is_empty() {
            s.buf_off = offset.max(next);
            s.marks.clear();
        }
        s.marks.push_back((s.next_off(), at));
        let mut data = data;
        if let Phase::DataTail {
            stream,
            left,
            padded,
            end_stream,
            note,
        } = s.phase
        {
            let n = left.min(data.len());
            let start = s.next_off();
            self.tail_bytes(d, stream, &data[..n], padded, start, at);
            let s = &mut self.sides[d];
            s.buf_off += n as u64;
            data = &data[n..];
            if n == left {
                s.phase = Phase::Frames;
                self.data_tail_done(d, stream, end_stream, note, at);
            } else {
                s.phase = Phase::DataTail {
                    stream,
                    left: left - n,
                    padded,
                    end_stream,
                    note,
                };
            }
        }
        // Frames are parsed from the bytes as they come; only an unfinished frame's start is
        // copied to wait for the rest (a copy of every DATA payload was 6% of an h2 capture).
        if self.sides[d].buf.is_empty() {
            let used = self.parse(d, data);
            let s = &mut self.sides[d];
            if s.phase != Phase::Lost {
                s.buf.extend_from_slice(&data[used..]);
            }
        } else {
            let mut buf = std::mem::take(&mut self.sides[d].buf);
            buf.extend_from_slice(data);
            let used = self.parse(d, &buf);
            let s = &mut self.sides[d];
            if s.phase != Phase::Lost {
                buf.drain(..used);
                if buf.capacity() > 1 << 20 && buf.len() < 1 << 16 {
                    buf.shrink_to(1 << 16);
                }
                s.buf = buf;
            }
        }
    }

    fn tail_bytes(
        &mut self,
        d: usize,
        stream: u32,
        bytes: &[u8],
        padded: bool,
        off: u64,
        at: Arrival,
    ) {
        let Some(st) = self.streams.get_mut(&stream) else {
            return;
        };
        let h = &mut st.halves[d];
        h.last = at;
        h.body_end = off + bytes.len() as u64;
        let mut notes = Vec::new();
        if let Some(acc) = &mut h.acc {
            if padded {
                acc.gap(bytes.len() as u64);
            } else {
                acc.feed(bytes, &mut notes);
            }
        }
        let rec = st.rec;
        self.notes(notes, d, rec, at.frame);
    }

    /// Cuts the buffered bytes of direction `d` into frames.
    /// Parses the frames complete in `input` (the bytes from `buf_off` on: the direction's
    /// buffer is empty meanwhile) and returns how many bytes they took.
    fn parse(&mut self, d: usize, input: &[u8]) -> usize {
        let mut pos = 0usize;
        loop {
            let s = &mut self.sides[d];
            let avail = &input[pos..];
            match s.phase {
                Phase::Preface => {
                    let n = avail.len().min(PREFACE.len());
                    if avail[..n] != PREFACE[..n] {
                        let frame = s.arrival(s.buf_off + pos as u64).frame;
                        s.phase = Phase::Frames;
                        self.unknown_start(frame);
                        continue;
                    }
                    if n < PREFACE.len() {
                        break;
                    }
                    pos += PREFACE.len();
                    self.sides[d].phase = Phase::Frames;
                }
                Phase::Frames => {
                    let Some(h) = FrameHeader::parse(avail) else {
                        break;
                    };
                    if avail.len() < HEADER_LEN + h.len {
                        let start = s.buf_off + pos as u64;
                        if self.stream_data_head(d, h, &avail[HEADER_LEN.min(avail.len())..], start)
                        {
                            pos = input.len();
                        }
                        break;
                    }
                    let start = s.buf_off + pos as u64;
                    let end = start + (HEADER_LEN + h.len) as u64;
                    let first = s.arrival(start);
                    let last = s.arrival(end - 1);
                    let payload = &avail[HEADER_LEN..HEADER_LEN + h.len];
                    pos += HEADER_LEN + h.len;
                    self.frame(d, h, payload, start, first, last);
                    self.note_frame(d, h, last);
                    if self.sides[d].phase == Phase::Lost {
                        break;
                    }
                }
                Phase::DataTail { .. } | Phase::Lost => break,
            }
        }
        let s = &mut self.sides[d];
        if s.phase == Phase::Lost {
            s.buf = Vec::new();
            s.marks.clear();
            return input.len();
        }
        s.buf_off += pos as u64;
        let keep_from = s.buf_off;
        while s.marks.len() > 1 && s.marks.get(1).is_some_and(|m| m.0 <= keep_from) {
            s.marks.pop_front();
        }
        pos
    }

    /// The client's bytes do not start with the preface: the capture joined mid-connection
    /// (or the ALPN said h2 but the start is missing). HPACK state is unknown both ways.
    fn unknown_start(&mut self, frame: FrameNo) {
        for s in &mut self.sides {
            s.decoder.lose_state();
        }
        self.diag(
            Severity::Warning,
            "HTTP/2: the client's connection preface is not at the start of the stream (the \
             capture joined mid-connection?): header fields that need the HPACK dynamic table \
             cannot be decoded"
                .into(),
            None,
            frame,
        );
    }

    fn gap(&mut self, d: usize, offset: u64, len: u64, at: Arrival) {
        let s = &mut self.sides[d];
        if s.ended || s.phase == Phase::Lost || len == 0 {
            return;
        }
        if let Phase::DataTail {
            stream,
            left,
            padded,
            end_stream,
            note,
        } = s.phase
        {
            if len <= left as u64 {
                let left = left - len as usize;
                s.buf_off += len;
                s.phase = if left == 0 {
                    Phase::Frames
                } else {
                    Phase::DataTail {
                        stream,
                        left,
                        padded,
                        end_stream,
                        note,
                    }
                };
                self.body_gap(d, stream, len, at);
                if left == 0 {
                    self.data_tail_done(d, stream, end_stream, note, at);
                }
                return;
            }
            self.body_gap(d, stream, left as u64, at);
        } else if s.phase == Phase::Frames {
            // A DATA frame whose header is buffered and whose payload the gap falls in.
            if let Some(h) = FrameHeader::parse(&s.buf).filter(|h| h.kind == frames::DATA) {
                let have = s.buf.len() - HEADER_LEN;
                let left = h.len.saturating_sub(have);
                if s.buf.len() < HEADER_LEN + h.len && len <= left as u64 {
                    let padded = h.has(frames::FLAG_PADDED);
                    let bytes = s.buf[HEADER_LEN..].to_vec();
                    let start = s.buf_off + HEADER_LEN as u64;
                    s.buf_off += s.buf.len() as u64 + len;
                    s.buf.clear();
                    let left = left - len as usize;
                    let end_stream = h.has(frames::FLAG_END_STREAM);
                    s.phase = if left == 0 {
                        Phase::Frames
                    } else {
                        Phase::DataTail {
                            stream: h.stream,
                            left,
                            padded,
                            end_stream,
                            note: None,
                        }
                    };
                    self.open_body(d, h.stream, start);
                    self.tail_bytes(d, h.stream, &bytes, padded, start, at);
                    self.body_gap(d, h.stream, len, at);
                    if left == 0 && end_stream {
                        self.end_half(h.stream, d, true, at);
                    }
                    return;
                }
            }
        }
        let s = &mut self.sides[d];
        s.phase = Phase::Lost;
        s.decoder.lose_state();
        s.buf = Vec::new();
        s.marks.clear();
        s.block = None;
        self.diag(
            Severity::Warning,
            format!(
                "HTTP/2: {len} bytes of the {} stream are missing at offset {offset}: frame \
                 boundaries after them are unknown, the rest of this direction is not parsed",
                side(d)
            ),
            None,
            at.frame,
        );
    }

    fn body_gap(&mut self, d: usize, stream: u32, len: u64, at: Arrival) {
        if let Some(h) = self.streams.get_mut(&stream).map(|s| &mut s.halves[d]) {
            if let Some(acc) = &mut h.acc {
                acc.gap(len);
            }
            h.body_end += len;
            h.last = at;
        }
    }

    // ---- frames ----

    fn frame(
        &mut self,
        d: usize,
        h: FrameHeader,
        p: &[u8],
        off: u64,
        first: Arrival,
        last: Arrival,
    ) {
        if let Some(b) = &self.sides[d].block {
            if h.kind == frames::CONTINUATION && h.stream == b.stream {
                let b = self.sides[d].block.as_mut().expect("checked above");
                if b.bytes.len() + p.len() > MAX_BLOCK {
                    b.oversize = true;
                } else {
                    b.bytes.extend_from_slice(p);
                }
                if h.has(frames::FLAG_END_HEADERS) {
                    self.complete_block(d, last);
                }
                return;
            }
            let stream = b.stream;
            self.sides[d].block = None;
            self.sides[d].decoder.lose_state();
            self.diag(
                Severity::Warning,
                format!(
                    "HTTP/2: the {} header block of stream {stream} is cut by a {} frame (a \
                     CONTINUATION was due): its fields are lost",
                    side(d),
                    frames::type_name(h.kind)
                ),
                None,
                first.frame,
            );
        }
        let needs_stream = matches!(
            h.kind,
            frames::DATA
                | frames::HEADERS
                | frames::PRIORITY
                | frames::RST_STREAM
                | frames::PUSH_PROMISE
                | frames::CONTINUATION
        );
        if needs_stream && h.stream == 0 {
            self.diag(
                Severity::Warning,
                format!(
                    "HTTP/2: {} frame on stream 0 from the {} (a protocol error): ignored",
                    frames::type_name(h.kind),
                    side(d)
                ),
                None,
                first.frame,
            );
            return;
        }
        match h.kind {
            frames::DATA => self.data_frame(d, h, p, off, last),
            frames::HEADERS => match frames::headers_fragment(&h, p) {
                Some(frag) => self.start_block(d, h, None, frag, first, last),
                None => self.malformed(d, h, first),
            },
            frames::PUSH_PROMISE => match frames::push_promise(&h, p) {
                Some((promised, frag)) if d == 1 => {
                    self.start_block(d, h, Some(promised), frag, first, last)
                }
                _ => self.malformed(d, h, first),
            },
            frames::RST_STREAM => match frames::u32_at(p, 0) {
                Some(code) => self.reset(d, h.stream, code, last),
                None => self.malformed(d, h, first),
            },
            frames::SETTINGS if !h.has(frames::FLAG_ACK) => match frames::settings(p) {
                Some(params) => {
                    for (id, value) in params {
                        if id == frames::SETTINGS_HEADER_TABLE_SIZE {
                            // The peer's encoder may size its table up to this.
                            self.sides[1 - d].decoder.set_allowed_table_size(value);
                        }
                    }
                }
                None => self.malformed(d, h, first),
            },
            frames::GOAWAY => match frames::goaway(p) {
                Some((last_id, code)) => {
                    let sev = if code == 0 {
                        Severity::Info
                    } else {
                        Severity::Warning
                    };
                    // The streams it cut: opened by the other side (odd ids by the client,
                    // even by the server), above the last id, not answered (RFC 9113 6.8).
                    let mut cut: Vec<u32> = self
                        .streams
                        .iter()
                        .filter(|(&id, st)| {
                            id > last_id && id % 2 == d as u32 && !st.halves[1].started
                        })
                        .map(|(&id, _)| id)
                        .collect();
                    cut.sort_unstable();
                    let what = match cut.as_slice() {
                        [] => "no open stream was cut".to_string(),
                        [one] => format!("stream {one} was never processed"),
                        many => format!(
                            "streams {} were never processed",
                            many.iter()
                                .map(u32::to_string)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    };
                    self.diag(
                        sev,
                        format!(
                            "HTTP/2: the {} sent GOAWAY ({}), last stream processed {last_id}: \
                             {what}",
                            side(d),
                            frames::error_name(code)
                        ),
                        None,
                        first.frame,
                    );
                }
                None => self.malformed(d, h, first),
            },
            frames::CONTINUATION => self.diag(
                Severity::Warning,
                format!(
                    "HTTP/2: CONTINUATION on stream {} from the {} without a HEADERS or \
                     PUSH_PROMISE before it: ignored",
                    h.stream,
                    side(d)
                ),
                None,
                first.frame,
            ),
            // PRIORITY, PING, WINDOW_UPDATE, SETTINGS ACK say nothing about exchanges; unknown
            // types are ignored (RFC 9113 section 4.1).
            _ => {}
        }
    }

    /// Keeps the frame on its stream's record (after [`Self::frame`], so a header block has
    /// opened its stream); a block still waiting for CONTINUATION holds its frames until then.
    fn note_frame(&mut self, d: usize, h: FrameHeader, last: Arrival) {
        if h.stream == 0 {
            let c = &mut self.control;
            let n = match h.kind {
                frames::SETTINGS => &mut c.settings,
                frames::PING => &mut c.ping,
                frames::GOAWAY => &mut c.goaway,
                frames::WINDOW_UPDATE => &mut c.window_update,
                _ => &mut c.other,
            };
            *n = n.saturating_add(1);
            return;
        }
        let f = H2Frame {
            kind: h.kind,
            flags: h.flags,
            dir: if d == 0 {
                Dir::ClientToServer
            } else {
                Dir::ServerToClient
            },
            len: h.len as u32,
            at: last,
        };
        if let Some(st) = self.streams.get(&h.stream) {
            if let Some(info) = self.records[st.rec].stream.as_deref_mut() {
                push_frame(info, f, self.opts.keep_frames);
            }
        } else if let Some(b) = self.sides[d]
            .block
            .as_mut()
            .filter(|b| b.stream == h.stream)
        {
            if b.frames.len() < H2Frame::CAP {
                b.frames.push(f);
            }
        }
    }

    /// Frames of a header block, kept once the block's stream is open.
    fn keep_frames(&mut self, stream: u32, frames: Vec<H2Frame>) {
        let Some(st) = self.streams.get(&stream) else {
            return;
        };
        if let Some(info) = self.records[st.rec].stream.as_deref_mut() {
            for f in frames {
                push_frame(info, f, self.opts.keep_frames);
            }
        }
    }

    fn malformed(&mut self, d: usize, h: FrameHeader, first: Arrival) {
        self.diag(
            Severity::Warning,
            format!(
                "HTTP/2: malformed {} frame ({} bytes) on stream {} from the {}: ignored",
                frames::type_name(h.kind),
                h.len,
                h.stream,
                side(d)
            ),
            None,
            first.frame,
        );
        if matches!(h.kind, frames::HEADERS | frames::PUSH_PROMISE) {
            self.sides[d].decoder.lose_state();
        }
    }

    /// The start of DATA frame `h` (at stream offset `start`) whose payload runs past what
    /// has arrived: `have` of it goes to the body now and the rest as it comes, instead of the
    /// frame being copied to wait for its end (a frame longer than a TLS record always waits,
    /// and that copy was a tenth of an HTTP/2 capture's copying). Only what the whole frame
    /// would do is done: an unpadded frame of a stream whose body is open, with no header block
    /// pending; false leaves the frame to be parsed whole.
    fn stream_data_head(&mut self, d: usize, h: FrameHeader, have: &[u8], start: u64) -> bool {
        if h.kind != frames::DATA
            || h.has(frames::FLAG_PADDED)
            || h.stream == 0
            || have.is_empty()
            || self.sides[d].block.is_some()
        {
            return false;
        }
        let body_off = start + HEADER_LEN as u64;
        if !self.open_body(d, h.stream, body_off) {
            return false;
        }
        let s = &mut self.sides[d];
        let at = s.arrival(body_off + have.len() as u64 - 1);
        s.phase = Phase::DataTail {
            stream: h.stream,
            left: h.len - have.len(),
            padded: false,
            end_stream: h.has(frames::FLAG_END_STREAM),
            note: Some(h),
        };
        self.tail_bytes(d, h.stream, have, false, body_off, at);
        true
    }

    /// The last byte of a DATA frame taken as it came is in.
    fn data_tail_done(
        &mut self,
        d: usize,
        stream: u32,
        end_stream: bool,
        note: Option<FrameHeader>,
        at: Arrival,
    ) {
        if end_stream {
            self.end_half(stream, d, true, at);
        }
        if let Some(h) = note {
            self.note_frame(d, h, at);
        }
    }

    fn data_frame(&mut self, d: usize, h: FrameHeader, p: &[u8], off: u64, last: Arrival) {
        let Some(data) = frames::unpad(&h, p) else {
            return self.malformed(d, h, last);
        };
        let body_off = off + HEADER_LEN as u64;
        if !self.open_body(d, h.stream, body_off) {
            if !data.is_empty() {
                self.diag(
                    Severity::Warning,
                    format!(
                        "HTTP/2: DATA on stream {} from the {} before any HEADERS of it: not \
                         kept",
                        h.stream,
                        side(d)
                    ),
                    None,
                    last.frame,
                );
            }
            return;
        }
        self.tail_bytes(d, h.stream, data, false, body_off, last);
        if let Some(hf) = self.streams.get_mut(&h.stream).map(|s| &mut s.halves[d]) {
            hf.body_end = body_off + h.len as u64;
        }
        if h.has(frames::FLAG_END_STREAM) {
            self.end_half(h.stream, d, true, last);
        }
    }

    /// The body of `stream` in direction `d` may take bytes (its head was seen and it has not
    /// ended); records where it starts.
    fn open_body(&mut self, d: usize, stream: u32, off: u64) -> bool {
        match self.streams.get_mut(&stream).map(|s| &mut s.halves[d]) {
            Some(h) if h.started && !h.done && h.acc.is_some() => {
                h.body_start.get_or_insert(off);
                true
            }
            _ => false,
        }
    }

    fn start_block(
        &mut self,
        d: usize,
        h: FrameHeader,
        promised: Option<u32>,
        frag: &[u8],
        first: Arrival,
        last: Arrival,
    ) {
        let whole = h.has(frames::FLAG_END_HEADERS);
        let b = Block {
            stream: h.stream,
            promised,
            end_stream: h.kind == frames::HEADERS && h.has(frames::FLAG_END_STREAM),
            // A block in one frame (the usual case) is decoded where it lies.
            bytes: if whole { Vec::new() } else { frag.to_vec() },
            oversize: frag.len() > MAX_BLOCK,
            first,
            frames: Vec::new(),
        };
        if whole {
            self.decode_block(d, b, frag, last);
        } else {
            self.sides[d].block = Some(b);
        }
    }

    /// The block waiting for CONTINUATION got its last one.
    fn complete_block(&mut self, d: usize, last: Arrival) {
        let Some(mut b) = self.sides[d].block.take() else {
            return;
        };
        let bytes = std::mem::take(&mut b.bytes);
        self.decode_block(d, b, &bytes, last);
    }

    /// Decodes block `b`, whose bytes are `bytes`, and gives its fields to its stream.
    fn decode_block(&mut self, d: usize, b: Block, bytes: &[u8], last: Arrival) {
        let decoded = if b.oversize {
            self.sides[d].decoder.lose_state();
            Decoded {
                undecodable: 1,
                error: Some(format!(
                    "header block over the limit of {MAX_BLOCK} bytes: not decoded"
                )),
                ..Decoded::default()
            }
        } else {
            self.sides[d].decoder.decode(bytes)
        };
        let known = self.sides[d].decoder.known();
        let mut b = b;
        let block_frames = std::mem::take(&mut b.frames);
        match b.promised {
            Some(promised) => {
                let rec = self.open_stream(promised, Some(b.stream));
                self.keep_frames(b.stream, block_frames);
                self.report_decoding(d, &decoded, rec, promised, known, b.first.frame);
                self.set_request(promised, rec, decoded.fields, b.first, true, last);
                // A promised request has no body (RFC 9113 section 8.4).
                self.end_half(promised, 0, true, last);
            }
            None => {
                if d == 0 && b.stream % 2 == 1 && !self.streams.contains_key(&b.stream) {
                    if b.stream <= self.max_client_stream {
                        self.diag(
                            Severity::Warning,
                            format!(
                                "HTTP/2: the client opened stream {} after stream {}: stream \
                                 ids must increase (RFC 9113 section 5.1.1)",
                                b.stream, self.max_client_stream
                            ),
                            None,
                            b.first.frame,
                        );
                    }
                    self.max_client_stream = self.max_client_stream.max(b.stream);
                }
                let rec = self.open_stream(b.stream, None);
                self.keep_frames(b.stream, block_frames);
                self.report_decoding(d, &decoded, rec, b.stream, known, b.first.frame);
                let started = self.streams[&b.stream].halves[d].started;
                if started {
                    self.trailers(d, rec, &decoded.fields);
                } else if d == 0 {
                    self.set_request(b.stream, rec, decoded.fields, b.first, b.end_stream, last);
                } else if !self.set_response(b.stream, rec, decoded.fields, b.first, last) {
                    return;
                }
                if b.end_stream {
                    self.end_half(b.stream, d, true, last);
                }
            }
        }
    }

    fn report_decoding(
        &mut self,
        d: usize,
        decoded: &Decoded,
        rec: usize,
        stream: u32,
        known: bool,
        frame: FrameNo,
    ) {
        if let Some(e) = &decoded.error {
            self.diag(
                Severity::Warning,
                format!(
                    "HTTP/2 stream {stream}: the {} header block: {e}; from here on fields \
                     that need the HPACK dynamic table are not decoded",
                    half(d)
                ),
                Some(rec),
                frame,
            );
        } else if decoded.undecodable > 0 {
            let why = if known {
                "decoding failed"
            } else {
                "the HPACK dynamic table is unknown (the connection's start or a header block \
                 was not captured)"
            };
            self.diag(
                Severity::Warning,
                format!(
                    "HTTP/2 stream {stream}: {} {} header field(s) could not be decoded: {why}",
                    decoded.undecodable,
                    half(d)
                ),
                Some(rec),
                frame,
            );
        }
        if decoded.dropped > 0 {
            self.diag(
                Severity::Warning,
                format!(
                    "HTTP/2 stream {stream}: {} {} header field(s) past {} decoded bytes not kept",
                    decoded.dropped,
                    half(d),
                    super::hpack::MAX_DECODED
                ),
                Some(rec),
                frame,
            );
        }
    }

    /// The record of a stream, opened if new.
    fn open_stream(&mut self, id: u32, promised_by: Option<u32>) -> usize {
        if let Some(s) = self.streams.get(&id) {
            return s.rec;
        }
        let mut r = Record::new();
        r.version = HttpVersion::Http2;
        r.stream = Some(Box::new(StreamInfo {
            id,
            promised_by,
            ..StreamInfo::default()
        }));
        self.records.push(r);
        let rec = self.records.len() - 1;
        self.streams.insert(
            id,
            Stream {
                rec,
                halves: [Half::default(), Half::default()],
                interim: Vec::new(),
            },
        );
        rec
    }

    fn set_request(
        &mut self,
        stream: u32,
        rec: usize,
        fields: Headers,
        first: Arrival,
        no_body: bool,
        last: Arrival,
    ) {
        let head = HeadFacts::of(&fields);
        let method = head.method.unwrap_or("");
        // CONNECT names its target in :authority (RFC 9113 section 8.5).
        let target = head
            .path
            .or_else(|| (method == "CONNECT").then_some(head.authority).flatten())
            .unwrap_or("");
        let (method, target) = (token(method), target.to_string());
        let codings = head.codings;
        let request = Request {
            method,
            target,
            version: token("HTTP/2"),
            headers: fields,
            body: Body::default(),
        };
        let r = &mut self.records[rec];
        r.request = Some(Box::new(request));
        r.timing.set_request_start(Some(first));
        r.timing.set_request_end(Some(last));
        self.start_half(stream, 0, codings, no_body, last);
    }

    /// Sets the response head; false for an interim (1xx) response, which is only counted.
    fn set_response(
        &mut self,
        stream: u32,
        rec: usize,
        fields: Headers,
        first: Arrival,
        last: Arrival,
    ) -> bool {
        let head = HeadFacts::of(&fields);
        let status = head.status.and_then(|v| v.parse::<u16>().ok()).unwrap_or(0);
        let r = &mut self.records[rec];
        if r.timing.response_start().is_none() {
            r.timing.set_response_start(Some(first));
        }
        if (100..200).contains(&status) {
            if let Some(s) = self.streams.get_mut(&stream) {
                s.interim.push(status);
            }
            return false;
        }
        let interim = self
            .streams
            .get_mut(&stream)
            .map(|s| std::mem::take(&mut s.interim))
            .unwrap_or_default();
        let codings = head.codings;
        let response = Response {
            version: token("HTTP/2"),
            status,
            reason: token(""),
            headers: fields,
            interim_statuses: interim,
            body: Body::default(),
        };
        let r = &mut self.records[rec];
        r.response = Some(Box::new(response));
        r.timing.set_response_end(Some(last));
        self.start_half(stream, 1, codings, false, last);
        true
    }

    /// Trailer fields: appended to the head's fields.
    fn trailers(&mut self, d: usize, rec: usize, fields: &Headers) {
        let r = &mut self.records[rec];
        let headers = if d == 0 {
            r.request.as_mut().map(|m| &mut m.headers)
        } else {
            r.response.as_mut().map(|m| &mut m.headers)
        };
        if let Some(h) = headers {
            *h = Headers::from_pairs(h.iter().chain(fields.iter()));
        }
    }

    fn start_half(
        &mut self,
        stream: u32,
        d: usize,
        codings: Vec<String>,
        no_body: bool,
        at: Arrival,
    ) {
        let Some(st) = self.streams.get(&stream) else {
            return;
        };
        let rec = st.rec;
        // A half without a body has no head to keep (as HTTP/1 asks only for bodies).
        if !self.keep_heads && !no_body {
            if let Some(filter) = &self.opts.head_filter {
                let r = &self.records[rec];
                let response = if d == 1 { r.response.as_deref() } else { None };
                self.keep_heads = (filter.0)(r.request.as_deref(), response);
            }
        }
        let mut limits = self.limits;
        if self.keep_heads {
            limits.head_max = self.opts.head_max;
        }
        let mut notes = Vec::new();
        let acc = BodyAcc::new(codings, limits, &mut notes);
        if let Some(st) = self.streams.get_mut(&stream) {
            let h = &mut st.halves[d];
            h.started = true;
            h.acc = Some(Box::new(acc));
            h.last = at;
        }
        if !no_body {
            self.notes(notes, d, rec, at.frame);
        }
    }

    /// Direction `d` of `stream` ended: END_STREAM (`complete`), a reset, or the capture's end.
    fn end_half(&mut self, stream: u32, d: usize, complete: bool, at: Arrival) {
        let Some(st) = self.streams.get_mut(&stream) else {
            return;
        };
        let rec = st.rec;
        let h = &mut st.halves[d];
        if h.done || !h.started {
            return;
        }
        h.done = true;
        let Some(acc) = h.acc.take() else {
            return;
        };
        let start = h.body_start.unwrap_or(h.body_end);
        let len = h.body_end.saturating_sub(start);
        let mut notes = Vec::new();
        let mut body = acc.finish(complete, start, len, &mut notes);
        if let Some(budget) = &self.opts.keep_budget {
            budget.charge(&mut body);
        }
        self.notes(notes, d, rec, at.frame);
        let complete = body.complete;
        let r = &mut self.records[rec];
        if d == 0 {
            if let Some(m) = &mut r.request {
                m.body = body;
            }
            r.request_complete = complete;
            r.timing.set_request_end(Some(at));
        } else {
            if let Some(m) = &mut r.response {
                m.body = body;
            }
            r.response_complete = complete;
            r.timing.set_response_end(Some(at));
            self.push_live(rec);
        }
    }

    fn reset(&mut self, d: usize, stream: u32, code: u32, at: Arrival) {
        let name = frames::error_name(code);
        let Some(rec) = self.streams.get(&stream).map(|s| s.rec) else {
            self.diag(
                Severity::Info,
                format!(
                    "HTTP/2: the {} reset stream {stream}, which the capture holds no headers \
                     of ({name})",
                    side(d)
                ),
                None,
                at.frame,
            );
            return;
        };
        if let Some(info) = &mut self.records[rec].stream {
            info.reset = Some(StreamReset {
                by_client: d == 0,
                code,
                name: name.clone(),
            });
        }
        // Both halves already ended (END_STREAM each way): the reset cost nothing (curl, for
        // one, resets streams it has finished with, STREAM_CLOSED).
        let finished = self
            .streams
            .get(&stream)
            .is_some_and(|s| s.halves.iter().all(|h| h.done));
        // A client's CANCEL is routine (a navigation moved on); anything else is worth a look.
        let sev = if code == 8 || code == 0 {
            Severity::Info
        } else {
            Severity::Warning
        };
        if finished {
            let by_client = d == 0;
            // A hostile peer may use a new unknown code each time: the kinds stay few.
            let name = if self.late_resets.len() < 16 {
                name
            } else {
                "other codes".to_string()
            };
            match self
                .late_resets
                .iter_mut()
                .find(|(c, n, ..)| *c == by_client && *n == name)
            {
                Some(seen) => seen.2 += 1,
                None => self.late_resets.push((by_client, name, 1, at.frame)),
            }
            return;
        }
        self.diag(
            sev,
            format!(
                "HTTP/2 stream {stream} reset by the {} with {name} (RST_STREAM)",
                side(d)
            ),
            Some(rec),
            at.frame,
        );
        for h in 0..2 {
            self.end_half(stream, h, false, at);
        }
    }

    fn push_live(&self, rec: usize) {
        if let (Some(feed), Some(r)) = (&self.opts.live, self.records.get(rec)) {
            feed.push(
                self.facts.client,
                self.facts.server,
                self.facts.first_frame,
                r.snapshot(ExchId(rec as u32), self.scheme),
            );
        }
    }

    pub fn finish(self) -> HttpOutput {
        let scheme = self.scheme;
        let control = self.control;
        let (records, diags) = self.into_records();
        let mut out = exchange::finish(records, scheme, diags);
        out.h2_control = Some(control);
        out
    }

    /// The connection-level frames (stream 0) counted so far.
    pub fn control_frames(&self) -> H2ControlFrames {
        self.control
    }

    /// The streams' records (open ones ended as at capture end) and the diagnostics, whose
    /// exchange ids are indexes into the records: for HTTP/1's connection after an h2c
    /// Upgrade, which joins them to its own.
    pub(crate) fn into_records(mut self) -> (Vec<Record>, Vec<Diagnostic>) {
        let mut open: Vec<(u32, usize)> = Vec::new();
        for (&id, s) in &self.streams {
            for d in 0..2 {
                if s.halves[d].started && !s.halves[d].done {
                    open.push((id, d));
                }
            }
        }
        open.sort_unstable();
        for (id, d) in open {
            let at = self.streams[&id].halves[d].last;
            self.end_half(id, d, false, at);
        }
        for d in 0..2 {
            if self.sides[d].block.is_some() {
                self.diag(
                    Severity::Warning,
                    format!("HTTP/2: the {} stream ended inside a header block", side(d)),
                    None,
                    FrameNo(0),
                );
            }
        }
        for (by_client, name, count, frame) in std::mem::take(&mut self.late_resets) {
            let who = if by_client { "client" } else { "server" };
            let what = if count == 1 {
                "a stream".to_string()
            } else {
                format!("{count} streams")
            };
            self.diag(
                Severity::Info,
                format!(
                    "HTTP/2: the {who} reset {what} with {name} (RST_STREAM) after the stream had \
                     completed both ways: nothing was lost (each exchange records its reset)"
                ),
                None,
                frame,
            );
        }
        // The frame lists grew by doubling; the analysis keeps them for good.
        for r in &mut self.records {
            if let Some(s) = r.stream.as_deref_mut() {
                s.frames.shrink_to_fit();
            }
        }
        (self.records, self.diags)
    }
}

/// What the exchange takes from a head's fields, found in one walk of the list: the first of
/// each pseudo-header, and every Content-Encoding coding, lower-cased, in the order applied.
#[derive(Default)]
struct HeadFacts<'a> {
    method: Option<&'a str>,
    path: Option<&'a str>,
    authority: Option<&'a str>,
    status: Option<&'a str>,
    codings: Vec<String>,
}

impl<'a> HeadFacts<'a> {
    fn of(fields: &'a Headers) -> HeadFacts<'a> {
        let mut f = HeadFacts::default();
        for (name, value) in fields.iter() {
            let slot = match name {
                ":method" => &mut f.method,
                ":path" => &mut f.path,
                ":authority" => &mut f.authority,
                ":status" => &mut f.status,
                _ => {
                    if name.eq_ignore_ascii_case("content-encoding") {
                        f.codings
                            .extend(list_elements(value).map(str::to_ascii_lowercase));
                    }
                    continue;
                }
            };
            slot.get_or_insert(value);
        }
        f
    }
}

impl StreamSink for Http2Connection {
    fn on_data(&mut self, dir: Dir, offset: u64, data: &[u8], at: Arrival) {
        self.data(dir.index(), offset, data, at);
    }
    fn on_gap(&mut self, dir: Dir, offset: u64, len: u64, at: Arrival) {
        let d = dir.index();
        let next = self.sides[d].next_off();
        self.gap(d, offset.max(next), len, at);
    }
    fn on_end(&mut self, dir: Dir, _offset: u64, _how: StreamEnd, at: Arrival) {
        let d = dir.index();
        let s = &mut self.sides[d];
        if s.ended {
            return;
        }
        s.ended = true;
        // The bytes of the unfinished frame: streaming on into its body, or waiting whole.
        let cut = match s.phase {
            Phase::DataTail {
                left,
                note: Some(h),
                ..
            } => Some(HEADER_LEN + h.len - left),
            Phase::Frames if !s.buf.is_empty() => Some(s.buf.len()),
            _ => None,
        };
        if let Some(n) = cut {
            self.diag(
                Severity::Info,
                format!(
                    "HTTP/2: the {} stream ended inside a frame ({n} bytes of it)",
                    side(d)
                ),
                None,
                at.frame,
            );
        }
    }
}
