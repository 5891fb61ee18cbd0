//! A connection fed hand-made frames (RFC 9113), header blocks from `loona-hpack`'s encoder.

use super::frames::*;
use super::Http2Connection;
use crate::http::{HttpOptions, HttpOutput};
use crate::model::{Arrival, CaptureState, Dir, FrameNo, HttpVersion, Scheme, StreamEnd, Ts};
use crate::net::stream::{ConnFacts, StreamSink};

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let n = payload.len();
    let mut f = vec![(n >> 16) as u8, (n >> 8) as u8, n as u8, kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

struct Conn {
    c: Http2Connection,
    off: [u64; 2],
    frame: u64,
    enc: [loona_hpack::Encoder<'static>; 2],
}

impl Conn {
    fn new() -> Conn {
        Conn {
            c: Http2Connection::new(Conn::facts(), Scheme::Http, HttpOptions::default()),
            off: [0, 0],
            frame: 1,
            enc: [loona_hpack::Encoder::new(), loona_hpack::Encoder::new()],
        }
    }

    /// A connection told not to keep frame lists (a report's run).
    fn without_frame_lists() -> Conn {
        let mut c = Conn::new();
        let opts = HttpOptions {
            keep_frames: false,
            ..HttpOptions::default()
        };
        c.c = Http2Connection::new(Conn::facts(), Scheme::Http, opts);
        c
    }

    fn facts() -> ConnFacts {
        ConnFacts {
            client: "10.0.0.1:50000".parse().unwrap(),
            server: "10.0.0.2:80".parse().unwrap(),
            handshake: true,
            first_frame: FrameNo(1),
        }
    }

    fn started() -> Conn {
        Conn::start(Conn::new())
    }

    fn start(c: Conn) -> Conn {
        let mut c = c;
        let mut first = PREFACE.to_vec();
        first.extend(frame(SETTINGS, 0, 0, &[]));
        c.send(Dir::ClientToServer, &first);
        c.send(Dir::ServerToClient, &frame(SETTINGS, 0, 0, &[]));
        c
    }

    fn send(&mut self, d: Dir, bytes: &[u8]) {
        self.frame += 1;
        let at = Arrival {
            frame: FrameNo(self.frame),
            ts: Ts(self.frame as i64 * 1000),
        };
        self.c.on_data(d, self.off[d.index()], bytes, at);
        self.off[d.index()] += bytes.len() as u64;
    }

    fn gap(&mut self, d: Dir, len: u64) {
        self.frame += 1;
        let at = Arrival {
            frame: FrameNo(self.frame),
            ts: Ts(0),
        };
        self.c.on_gap(d, self.off[d.index()], len, at);
        self.off[d.index()] += len;
    }

    fn block(&mut self, d: Dir, fields: &[(&str, &str)]) -> Vec<u8> {
        self.enc[d.index()].encode(fields.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())))
    }

    fn headers(&mut self, d: Dir, stream: u32, flags: u8, fields: &[(&str, &str)]) {
        let b = self.block(d, fields);
        self.send(d, &frame(HEADERS, flags | FLAG_END_HEADERS, stream, &b));
    }

    fn get(&mut self, stream: u32, path: &str) {
        self.headers(
            Dir::ClientToServer,
            stream,
            FLAG_END_STREAM,
            &[
                (":method", "GET"),
                (":scheme", "https"),
                (":authority", "example.com"),
                (":path", path),
            ],
        );
    }

    /// A GET on `stream` answered 304 in one HEADERS frame: an exchange with no body either
    /// way, to show parsing goes on after what came before it.
    fn get_not_modified(&mut self, stream: u32, path: &str) {
        self.get(stream, path);
        self.headers(
            Dir::ServerToClient,
            stream,
            FLAG_END_STREAM,
            &[(":status", "304")],
        );
    }

    fn finish(mut self) -> HttpOutput {
        let at = Arrival::default();
        for d in [Dir::ClientToServer, Dir::ServerToClient] {
            let off = self.off[d.index()];
            self.c.on_end(d, off, StreamEnd::Fin, at);
        }
        self.c.finish()
    }
}

fn messages(out: &HttpOutput) -> String {
    out.diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn one_stream_is_one_exchange() {
    let mut c = Conn::started();
    c.get(1, "/a?b=c");
    c.headers(
        Dir::ServerToClient,
        1,
        0,
        &[(":status", "200"), ("content-type", "text/plain")],
    );
    // padded DATA: pad length 3, "hello", 3 bytes of padding
    c.send(
        Dir::ServerToClient,
        &frame(DATA, FLAG_PADDED, 1, b"\x03hello\0\0\0"),
    );
    c.send(Dir::ServerToClient, &frame(DATA, FLAG_END_STREAM, 1, b"!"));
    let out = c.finish();
    assert_eq!(out.exchanges.len(), 1, "{}", messages(&out));
    let x = &out.exchanges[0];
    assert_eq!(x.http_version, HttpVersion::Http2);
    assert_eq!(x.stream.as_ref().unwrap().id, 1);
    assert_eq!(x.capture, CaptureState::Full);
    let r = x.request.as_deref().unwrap();
    assert_eq!((&*r.method, r.target.as_str()), ("GET", "/a?b=c"));
    assert_eq!(r.host(), Some("example.com"));
    assert_eq!(r.headers.iter().next(), Some((":method", "GET")));
    let p = x.response.as_deref().unwrap();
    assert_eq!(p.status, 200);
    assert_eq!(p.body.wire_length, 6);
    assert!(p.body.complete);
    // times: the request's HEADERS, the response's HEADERS and last DATA frame
    assert_eq!(x.timing.request_start().unwrap().frame, FrameNo(4));
    assert_eq!(x.timing.response_start().unwrap().frame, FrameNo(5));
    assert_eq!(x.timing.response_end().unwrap().frame, FrameNo(7));
}

#[test]
fn interleaved_streams_continuation_interim_and_trailers() {
    let mut c = Conn::started();
    c.get(1, "/one");
    // stream 3: a POST whose header block is split over HEADERS + CONTINUATION
    let b = c.block(
        Dir::ClientToServer,
        &[
            (":method", "POST"),
            (":scheme", "https"),
            (":authority", "example.com"),
            (":path", "/two"),
            ("content-encoding", "gzip"),
        ],
    );
    let (a, rest) = b.split_at(3);
    c.send(Dir::ClientToServer, &frame(HEADERS, 0, 3, a));
    c.send(
        Dir::ClientToServer,
        &frame(CONTINUATION, FLAG_END_HEADERS, 3, rest),
    );
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b"posted body").unwrap();
        e.finish().unwrap()
    };
    c.send(Dir::ClientToServer, &frame(DATA, FLAG_END_STREAM, 3, &gz));
    c.headers(Dir::ServerToClient, 3, 0, &[(":status", "103")]);
    c.headers(Dir::ServerToClient, 1, 0, &[(":status", "204")]);
    c.headers(Dir::ServerToClient, 3, 0, &[(":status", "200")]);
    c.send(Dir::ServerToClient, &frame(DATA, 0, 3, b"ok"));
    c.headers(
        Dir::ServerToClient,
        1,
        FLAG_END_STREAM,
        &[("x-trailer", "t1")],
    );
    c.headers(
        Dir::ServerToClient,
        3,
        FLAG_END_STREAM,
        &[("grpc-status", "0")],
    );
    let out = c.finish();
    assert_eq!(out.exchanges.len(), 2, "{}", messages(&out));
    let one = &out.exchanges[0];
    let two = &out.exchanges[1];
    assert_eq!(one.stream.as_ref().unwrap().id, 1);
    assert_eq!(one.response.as_ref().unwrap().status, 204);
    assert_eq!(
        one.response.as_ref().unwrap().headers.get("x-trailer"),
        Some("t1")
    );
    let req = two.request.as_deref().unwrap();
    assert_eq!(&*req.method, "POST");
    assert_eq!(req.body.content_encoding, vec!["gzip".to_string()]);
    assert_eq!(req.body.decoded_length, Some(11));
    let resp = two.response.as_deref().unwrap();
    assert_eq!(resp.interim_statuses, vec![103]);
    assert_eq!(resp.headers.get("grpc-status"), Some("0"));
    assert_eq!(resp.body.wire_length, 2);
    assert_eq!(two.capture, CaptureState::Full);
}

#[test]
fn resets_and_goaway_are_said_in_words() {
    let mut c = Conn::started();
    c.get(1, "/slow");
    c.get(3, "/h1-only");
    c.send(
        Dir::ClientToServer,
        &frame(RST_STREAM, 0, 1, &8u32.to_be_bytes()),
    );
    c.send(
        Dir::ServerToClient,
        &frame(RST_STREAM, 0, 3, &0xdu32.to_be_bytes()),
    );
    c.send(
        Dir::ServerToClient,
        &frame(GOAWAY, 0, 0, &[0, 0, 0, 3, 0, 0, 0, 0]),
    );
    let out = c.finish();
    let msgs = messages(&out);
    assert!(msgs.contains("reset by the client with CANCEL"), "{msgs}");
    assert!(msgs.contains("HTTP_1_1_REQUIRED"), "{msgs}");
    assert!(
        msgs.contains("GOAWAY (NO_ERROR), last stream processed 3"),
        "{msgs}"
    );
    let reset = out.exchanges[1]
        .stream
        .as_ref()
        .unwrap()
        .reset
        .clone()
        .unwrap();
    assert!(!reset.by_client);
    assert_eq!(reset.name, "HTTP_1_1_REQUIRED");
    assert_eq!(out.exchanges[1].capture, CaptureState::NoResponse);
}

#[test]
fn goaway_names_the_open_streams_it_cut() {
    let mut c = Conn::started();
    for (id, path) in [(1, "/g1"), (3, "/g2"), (5, "/g3"), (7, "/g4")] {
        c.get(id, path);
    }
    c.headers(
        Dir::ServerToClient,
        1,
        FLAG_END_STREAM,
        &[(":status", "200")],
    );
    c.headers(
        Dir::ServerToClient,
        3,
        FLAG_END_STREAM,
        &[(":status", "200")],
    );
    c.send(
        Dir::ServerToClient,
        &frame(GOAWAY, 0, 0, &[0, 0, 0, 3, 0, 0, 0, 0]),
    );
    // The client's own GOAWAY at its end cuts nothing: the server pushed no stream.
    c.send(Dir::ClientToServer, &frame(GOAWAY, 0, 0, &[0; 8]));
    let msgs = messages(&c.finish());
    assert!(
        msgs.contains(
            "the server sent GOAWAY (NO_ERROR), last stream processed 3: streams 5, 7 were \
             never processed"
        ),
        "{msgs}"
    );
    assert!(
        msgs.contains(
            "the client sent GOAWAY (NO_ERROR), last stream processed 0: no open stream was cut"
        ),
        "{msgs}"
    );
}

#[test]
fn frames_are_recognised_without_the_preface_and_text_is_not() {
    let mut b = frame(
        HEADERS,
        FLAG_END_STREAM | FLAG_END_HEADERS,
        3,
        &[0x82, 0x84],
    );
    b.extend(frame(WINDOW_UPDATE, 0, 0, &[0, 0, 1, 0]));
    // A DATA frame whose payload the prefix cuts still counts.
    b.extend(&frame(DATA, 0, 3, b"abc")[..10]);
    assert_eq!(plausible_frames(&b), Some(3));
    assert_eq!(plausible_frames(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), None);
    assert_eq!(plausible_frames(b"HTTP/1.1 200 OK\r\n"), None);
    assert_eq!(
        plausible_frames(&[0x16, 3, 1, 0, 0xc8, 1, 0, 0, 0xc4]),
        None
    );
    // SETTINGS on a stream, a PING of the wrong length, a flag DATA does not have.
    assert_eq!(plausible_frames(&frame(SETTINGS, 0, 1, &[])), None);
    assert_eq!(plausible_frames(&frame(PING, 0, 0, &[0; 4])), None);
    assert_eq!(
        plausible_frames(&frame(DATA, FLAG_END_HEADERS, 1, &[])),
        None
    );
}

#[test]
fn a_pushed_stream_is_linked_to_its_parent() {
    let mut c = Conn::started();
    c.get(1, "/");
    let b = c.block(
        Dir::ServerToClient,
        &[
            (":method", "GET"),
            (":scheme", "https"),
            (":authority", "example.com"),
            (":path", "/style.css"),
        ],
    );
    let mut p = 2u32.to_be_bytes().to_vec();
    p.extend(b);
    c.send(
        Dir::ServerToClient,
        &frame(PUSH_PROMISE, FLAG_END_HEADERS, 1, &p),
    );
    c.headers(
        Dir::ServerToClient,
        1,
        FLAG_END_STREAM,
        &[(":status", "200")],
    );
    c.headers(Dir::ServerToClient, 2, 0, &[(":status", "200")]);
    c.send(
        Dir::ServerToClient,
        &frame(DATA, FLAG_END_STREAM, 2, b"css"),
    );
    let out = c.finish();
    assert_eq!(out.exchanges.len(), 2, "{}", messages(&out));
    let pushed = out
        .exchanges
        .iter()
        .find(|x| x.stream.as_ref().unwrap().id == 2)
        .unwrap();
    assert_eq!(pushed.stream.as_ref().unwrap().promised_by, Some(1));
    assert_eq!(pushed.request.as_ref().unwrap().target, "/style.css");
    assert_eq!(pushed.capture, CaptureState::Full);
}

#[test]
fn mid_connection_decodes_only_what_needs_no_table() {
    let mut c = Conn::new();
    // No preface: the capture joined later. `be` = dynamic index 62, never guessed.
    let mut block = vec![0x82, 0x87, 0xbe];
    block.extend([0x04, 0x02, b'/', b'x']); // :path "/x", literal without indexing
    c.send(
        Dir::ClientToServer,
        &frame(HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, 5, &block),
    );
    let out = c.finish();
    let msgs = messages(&out);
    assert!(msgs.contains("preface is not at the start"), "{msgs}");
    assert!(
        msgs.contains("1 request header field(s) could not be decoded"),
        "{msgs}"
    );
    let r = out.exchanges[0].request.as_deref().unwrap();
    assert_eq!(r.target, "/x");
    assert_eq!(r.host(), None);
    assert_eq!(r.headers.len(), 3);
}

#[test]
fn settings_header_table_size_is_honoured() {
    let mut c = Conn::new();
    let mut first = PREFACE.to_vec();
    first.extend(frame(SETTINGS, 0, 0, &[0, 1, 0, 0, 0, 100])); // HEADER_TABLE_SIZE 100
    c.send(Dir::ClientToServer, &first);
    c.get(1, "/");
    // the server's encoder sizes its table to 4096: over what the client allowed
    c.send(
        Dir::ServerToClient,
        &frame(
            HEADERS,
            FLAG_END_HEADERS | FLAG_END_STREAM,
            1,
            &[0x3f, 0xe1, 0x1f, 0x88],
        ),
    );
    let out = c.finish();
    assert!(
        messages(&out).contains("InvalidMaxDynamicSize"),
        "{}",
        messages(&out)
    );
}

#[test]
fn a_gap_inside_data_costs_only_that_body() {
    let mut c = Conn::started();
    c.get(1, "/big");
    c.headers(Dir::ServerToClient, 1, 0, &[(":status", "200")]);
    let data = frame(DATA, FLAG_END_STREAM, 1, &[b'x'; 100]);
    c.send(Dir::ServerToClient, &data[..30]);
    c.gap(Dir::ServerToClient, 40);
    c.send(Dir::ServerToClient, &data[70..]);
    c.get_not_modified(3, "/next");
    let out = c.finish();
    assert_eq!(out.exchanges.len(), 2, "{}", messages(&out));
    let b = &out.exchanges[0].response.as_ref().unwrap().body;
    assert_eq!(b.wire_length, 100);
    assert!(!b.complete);
    assert_eq!(out.exchanges[1].response.as_ref().unwrap().status, 304);
    // a gap in a frame header: the rest of the direction is not parsed, with a word why
    let mut c = Conn::started();
    c.send(Dir::ServerToClient, &[0, 0]);
    c.gap(Dir::ServerToClient, 5);
    c.send(Dir::ServerToClient, &frame(PING, 0, 0, &[0; 8]));
    assert!(messages(&c.finish()).contains("not parsed"));
}

#[test]
fn bad_input_gives_words_not_panics() {
    let mut c = Conn::started();
    c.send(
        Dir::ClientToServer,
        &frame(CONTINUATION, FLAG_END_HEADERS, 1, b"x"),
    );
    c.send(Dir::ClientToServer, &frame(DATA, 0, 0, b"x"));
    c.get(7, "/");
    c.get(5, "/"); // backwards
    c.send(
        Dir::ClientToServer,
        &frame(HEADERS, FLAG_PADDED, 9, &[200, 1]),
    );
    c.send(Dir::ClientToServer, &frame(SETTINGS, 0, 0, &[1, 2, 3]));
    c.send(Dir::ClientToServer, &frame(0xfa, 0, 0, b"unknown type"));
    // a header block past the limit, in many CONTINUATIONs
    c.send(Dir::ClientToServer, &frame(HEADERS, 0, 11, &[0x82]));
    for _ in 0..20 {
        c.send(
            Dir::ClientToServer,
            &frame(CONTINUATION, 0, 11, &vec![0x82; 16 * 1024]),
        );
    }
    c.send(
        Dir::ClientToServer,
        &frame(CONTINUATION, FLAG_END_HEADERS, 11, &[]),
    );
    // a header block cut by another frame
    c.send(Dir::ClientToServer, &frame(HEADERS, 0, 13, &[0x82]));
    c.send(Dir::ClientToServer, &frame(PING, 0, 0, &[0; 8]));
    c.send(Dir::ServerToClient, &[0xff; 40]);
    let out = c.finish();
    let msgs = messages(&out);
    for want in [
        "CONTINUATION on stream 1",
        "DATA frame on stream 0",
        "opened stream 5 after stream 7",
        "malformed HEADERS",
        "malformed SETTINGS",
        "over the limit",
        "cut by a PING frame",
    ] {
        assert!(msgs.contains(want), "{want}: {msgs}");
    }
}

#[test]
fn a_reset_after_both_ends_is_information_not_a_warning() {
    // curl resets streams it has finished with (RST_STREAM STREAM_CLOSED after the response's
    // END_STREAM): nothing was lost, the exchange is whole.
    // Said once per connection, with the count: a bench capture had 10,146 of them.
    let mut c = Conn::started();
    for (stream, path) in [(1, "/done"), (3, "/also")] {
        c.get(stream, path);
        c.headers(
            Dir::ServerToClient,
            stream,
            FLAG_END_STREAM,
            &[(":status", "200")],
        );
        c.send(
            Dir::ClientToServer,
            &frame(RST_STREAM, 0, stream, &5u32.to_be_bytes()),
        );
    }
    let out = c.finish();
    let said: Vec<_> = out
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("STREAM_CLOSED"))
        .collect();
    assert_eq!(said.len(), 1, "{said:?}");
    let d = said[0];
    assert_eq!(d.severity, crate::model::Severity::Info, "{}", d.message);
    assert!(
        d.message.contains("the client reset 2 streams"),
        "{}",
        d.message
    );
    assert!(d.message.contains("after the stream had completed"));
    for x in &out.exchanges {
        assert_eq!(x.capture, CaptureState::Full);
        assert_eq!(x.response.as_ref().unwrap().status, 200);
        let reset = x.stream.as_ref().unwrap().reset.as_ref().unwrap();
        assert_eq!(reset.name, "STREAM_CLOSED");
    }
}

#[test]
fn each_stream_keeps_its_frames_and_counts_past_the_cap() {
    use crate::model::H2Frame;
    let mut c = Conn::started();
    // stream 1's header block over HEADERS + CONTINUATION: both frames are the stream's
    let b = c.block(
        Dir::ClientToServer,
        &[
            (":method", "GET"),
            (":scheme", "https"),
            (":authority", "example.com"),
            (":path", "/f"),
        ],
    );
    let (a, rest) = b.split_at(2);
    c.send(Dir::ClientToServer, &frame(HEADERS, FLAG_END_STREAM, 1, a));
    c.send(
        Dir::ClientToServer,
        &frame(CONTINUATION, FLAG_END_HEADERS, 1, rest),
    );
    c.send(
        Dir::ClientToServer,
        &frame(WINDOW_UPDATE, 0, 0, &[0, 0, 1, 0]),
    );
    c.headers(Dir::ServerToClient, 1, 0, &[(":status", "200")]);
    for _ in 0..H2Frame::CAP + 5 {
        c.send(Dir::ServerToClient, &frame(DATA, 0, 1, b"x"));
    }
    c.send(Dir::ServerToClient, &frame(DATA, FLAG_END_STREAM, 1, b""));
    let out = c.finish();
    let s = out.exchanges[0].stream.as_deref().unwrap();
    let names: Vec<_> = s.frames[..4].iter().map(|f| f.type_name()).collect();
    // the connection's WINDOW_UPDATE (stream 0) is not the stream's
    assert_eq!(names, ["HEADERS", "CONTINUATION", "HEADERS", "DATA"]);
    assert_eq!(s.frames[0].flag_names(), ["END_STREAM"]);
    assert_eq!(s.frames[1].flag_names(), ["END_HEADERS"]);
    assert_eq!(s.frames[0].dir, Dir::ClientToServer);
    assert_eq!(s.frames[2].dir, Dir::ServerToClient);
    assert_eq!(s.frames[3].len, 1);
    // the frame's time is the packet that carried it
    assert_eq!(s.frames[0].at.frame, FrameNo(4));
    assert_eq!(s.frames[1].at.frame, FrameNo(5));
    assert_eq!(s.frames.len(), H2Frame::CAP);
    // 2 + 1 + 261 + 1 = 265 frames, 256 kept
    assert_eq!(s.frames_dropped, 9);
    assert_eq!(std::mem::size_of::<H2Frame>(), 24);
}

#[test]
fn a_run_without_frame_lists_counts_the_same_frames() {
    let mut c = Conn::start(Conn::without_frame_lists());
    c.get(1, "/f");
    c.headers(Dir::ServerToClient, 1, 0, &[(":status", "200")]);
    for _ in 0..300 {
        c.send(Dir::ServerToClient, &frame(DATA, 0, 1, b"x"));
    }
    c.send(Dir::ServerToClient, &frame(DATA, FLAG_END_STREAM, 1, b""));
    let out = c.finish();
    let s = out.exchanges[0].stream.as_deref().unwrap();
    // HEADERS both ways and 301 DATA frames: counted, none listed.
    assert!(s.frames.is_empty());
    assert_eq!(s.frames_dropped, 303);
    assert_eq!(
        out.exchanges[0].response.as_ref().unwrap().body.wire_length,
        300
    );
}

#[test]
fn late_resets_with_ever_new_codes_stay_a_few_lines() {
    // 40 finished streams, each reset with a code no one defined: at most 16 kinds are named,
    // the rest are counted together, and every reset is counted.
    let mut c = Conn::started();
    for i in 0..40u32 {
        let stream = 1 + 2 * i;
        c.get(stream, "/x");
        c.headers(
            Dir::ServerToClient,
            stream,
            FLAG_END_STREAM,
            &[(":status", "204")],
        );
        c.send(
            Dir::ClientToServer,
            &frame(RST_STREAM, 0, stream, &(0x1000 + i).to_be_bytes()),
        );
    }
    let out = c.finish();
    let lines: Vec<&str> = out
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .filter(|m| m.contains("after the stream had completed"))
        .collect();
    assert_eq!(lines.len(), 17, "{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("24 streams with other codes")),
        "{lines:#?}"
    );
    assert_eq!(out.exchanges.len(), 40);
}

/// A DATA frame longer than what one delivery holds (a frame over several TLS records) is
/// the same body, frame and times whether it arrives whole or in pieces; a padded one too
/// (it waits whole). A direction that ends inside such a frame says so.
#[test]
fn a_data_frame_in_pieces_is_the_same_as_whole() {
    use sha2::{Digest, Sha256};
    let body: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let run = |cuts: &[usize], flags: u8, payload: &[u8]| {
        let mut c = Conn::start(Conn::without_frame_lists());
        c.get(1, "/f");
        c.headers(Dir::ServerToClient, 1, 0, &[(":status", "200")]);
        let f = frame(DATA, flags | FLAG_END_STREAM, 1, payload);
        let mut at = 0;
        for &cut in cuts.iter().chain([f.len()].iter()) {
            c.send(Dir::ServerToClient, &f[at..cut]);
            at = cut;
        }
        // the next exchange parses on after the frame
        c.get_not_modified(3, "/g");
        let out = c.finish();
        assert_eq!(out.exchanges.len(), 2, "{}", messages(&out));
        assert_eq!(out.exchanges[1].response.as_ref().unwrap().status, 304);
        let x = &out.exchanges[0];
        let p = x.response.as_deref().unwrap();
        assert!(p.body.complete);
        assert_eq!(p.body.wire_length, 1000);
        let want: [u8; 32] = Sha256::digest(&body).into();
        assert_eq!(p.body.wire_sha256(), Some(want));
        // request HEADERS, response HEADERS, DATA
        assert_eq!(x.stream.as_ref().unwrap().frames_dropped, 3);
        x.timing.response_end().unwrap().frame.0
    };
    let whole = run(&[], 0, &body);
    // header and a few bytes; the rest in two more deliveries
    assert_eq!(run(&[12, 500], 0, &body), whole + 2);
    // the header alone, then the payload
    assert_eq!(run(&[9], 0, &body), whole + 1);
    // half a header
    assert_eq!(run(&[4, 300], 0, &body), whole + 2);
    let mut padded = vec![5u8];
    padded.extend_from_slice(&body);
    padded.extend_from_slice(&[0; 5]);
    assert_eq!(run(&[12, 500], FLAG_PADDED, &padded), whole + 2);

    let mut c = Conn::started();
    c.get(1, "/f");
    c.headers(Dir::ServerToClient, 1, 0, &[(":status", "200")]);
    let f = frame(DATA, FLAG_END_STREAM, 1, &body);
    c.send(Dir::ServerToClient, &f[..400]);
    let out = c.finish();
    let p = out.exchanges[0].response.as_deref().unwrap();
    assert!(!p.body.complete);
    assert_eq!(p.body.wire_length, 391);
    assert!(
        messages(&out).contains("ended inside a frame (400 bytes of it)"),
        "{}",
        messages(&out)
    );
}
