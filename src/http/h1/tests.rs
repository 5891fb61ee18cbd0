//! Framing, pairing, decoding and resync tests on hand-built byte streams. Expected values
//! come from the bytes each test builds (lengths, SHA-256 of the plain bytes) and from the
//! RFC 9112 rules under test.

use super::sniff::find_newline;
use super::*;
use crate::http::{HttpOptions, HttpOutput};
use crate::model::{AppProtocol, CaptureState, Ts};
use crate::model::{
    Arrival, Dir, ExchId, Exchange, FrameNo, Request, Response, Scheme, Severity, StreamEnd,
    Upgrade,
};
use crate::net::stream::{ConnFacts, StreamSink};
use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
use flate2::Compression;
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::net::SocketAddr;

const C: Dir = Dir::ClientToServer;
const S: Dir = Dir::ServerToClient;

fn sha(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

fn facts(handshake: bool) -> ConnFacts {
    let client: SocketAddr = "10.0.0.1:40000".parse().unwrap();
    let server: SocketAddr = "10.0.0.2:80".parse().unwrap();
    ConnFacts {
        client,
        server,
        handshake,
        first_frame: crate::model::FrameNo(1),
    }
}

/// Feeds pieces into a connection, one frame per piece, tracking stream offsets.
struct Feed {
    conn: HttpConnection,
    frame: u64,
    off: [u64; 2],
}

impl Feed {
    fn new() -> Feed {
        Feed::with(HttpOptions::default(), true)
    }
    fn with(opts: HttpOptions, handshake: bool) -> Feed {
        Feed {
            conn: HttpConnection::new(facts(handshake), Scheme::Http, opts),
            frame: 0,
            off: [0, 0],
        }
    }
    fn at(&mut self) -> Arrival {
        self.frame += 1;
        Arrival {
            frame: FrameNo(self.frame),
            ts: Ts(self.frame as i64 * 1000),
        }
    }
    fn send(&mut self, dir: Dir, bytes: &[u8]) -> &mut Self {
        let at = self.at();
        let off = self.off[dir.index()];
        self.conn.on_data(dir, off, bytes, at);
        self.off[dir.index()] += bytes.len() as u64;
        self
    }
    fn gap(&mut self, dir: Dir, len: u64) -> &mut Self {
        let at = self.at();
        let off = self.off[dir.index()];
        self.conn.on_gap(dir, off, len, at);
        self.off[dir.index()] += len;
        self
    }
    fn end(&mut self, dir: Dir, how: StreamEnd) -> &mut Self {
        let at = self.at();
        let off = self.off[dir.index()];
        self.conn.on_end(dir, off, how, at);
        self
    }
    fn close(&mut self) -> &mut Self {
        self.end(C, StreamEnd::Fin).end(S, StreamEnd::Fin)
    }
    fn finish(self) -> HttpOutput {
        self.conn.finish()
    }
}

fn req(e: &Exchange) -> &Request {
    e.request.as_ref().expect("request")
}
fn resp(e: &Exchange) -> &Response {
    e.response.as_ref().expect("response")
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut g = GzEncoder::new(Vec::new(), Compression::default());
    g.write_all(data).unwrap();
    g.finish().unwrap()
}

fn messages(out: &HttpOutput) -> Vec<&str> {
    out.diagnostics.iter().map(|d| d.message.as_str()).collect()
}

// ---- sniffing --------------------------------------------------------------------------

#[test]
fn sniff_request_lines() {
    assert_eq!(sniff_request(b"GET / HTTP/1.1\r\n"), Sniff::Yes);
    assert_eq!(sniff_request(b"PROPFIND /dav HTTP/1.1"), Sniff::Yes);
    assert_eq!(sniff_request(b"FOO * HTTP/1.0"), Sniff::Yes);
    assert_eq!(sniff_request(b"CONNECT host:443 HTTP/1."), Sniff::Yes);
    assert_eq!(sniff_request(b""), Sniff::NeedMore);
    assert_eq!(sniff_request(b"GE"), Sniff::NeedMore);
    assert_eq!(sniff_request(b"GET /index"), Sniff::NeedMore);
    assert_eq!(sniff_request(b"GET / HT"), Sniff::NeedMore);
    assert_eq!(sniff_request(b"\x16\x03\x01\x02\x00"), Sniff::No);
    assert_eq!(sniff_request(b"GET / FTP/1.0"), Sniff::No);
    assert_eq!(sniff_request(b"GET /\r\n"), Sniff::No);
    assert_eq!(sniff_request(b"GET\t/ HTTP/1.1"), Sniff::No);
    assert_eq!(sniff_request(&[b'A'; 40]), Sniff::No);
}

#[test]
fn sniff_response_lines() {
    assert_eq!(sniff_response(b"HTTP/1.1 200 OK"), Sniff::Yes);
    assert_eq!(sniff_response(b"HTTP/1.0"), Sniff::Yes);
    assert_eq!(sniff_response(b"HTT"), Sniff::NeedMore);
    assert_eq!(sniff_response(b""), Sniff::NeedMore);
    assert_eq!(sniff_response(b"HTTP/2 200"), Sniff::No);
    assert_eq!(sniff_response(b"SSH-2.0-OpenSSH"), Sniff::No);
}

#[test]
fn newline_search_matches_naive() {
    let mut hay = vec![b'a'; 40];
    assert_eq!(find_newline(&hay), None);
    for pos in [0, 1, 7, 8, 9, 15, 16, 31, 39] {
        hay.iter_mut().for_each(|b| *b = 0x0b); // bytes next to '\n' in value
        hay[pos] = b'\n';
        if pos + 1 < hay.len() {
            hay[pos + 1] = b'\n';
        }
        assert_eq!(find_newline(&hay), Some(pos));
        assert_eq!(find_newline(&hay[..pos]), None);
    }
    assert_eq!(find_newline(&[0x8a, 0x0a]), Some(1));
}

// ---- framing -----------------------------------------------------------------------------

#[test]
fn content_length_exchange() {
    let head = b"GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n";
    let rhead = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n";
    let mut f = Feed::new();
    f.send(C, head)
        .send(S, rhead)
        .send(S, b"hel")
        .send(S, b"lo");
    f.close();
    let out = f.finish();
    assert!(out.diagnostics.is_empty(), "{:?}", messages(&out));
    assert_eq!(out.exchanges.len(), 1);
    let e = &out.exchanges[0];
    assert_eq!(e.id, ExchId(0));
    assert_eq!(e.capture, CaptureState::Full);
    let r = req(e);
    assert_eq!(
        (r.method.as_ref(), r.target.as_str(), r.version.as_ref()),
        ("GET", "/a?b=1", "HTTP/1.1")
    );
    assert_eq!(r.host(), Some("example.com"));
    assert_eq!(r.headers.len(), 2);
    assert_eq!(r.body.wire_length, 0);
    assert!(r.body.complete);
    let p = resp(e);
    assert_eq!(
        (p.status, p.reason.as_ref(), p.version.as_ref()),
        (200, "OK", "HTTP/1.1")
    );
    assert_eq!(p.body.wire_length, 5);
    assert_eq!(p.body.wire_sha256(), Some(sha(b"hello")));
    assert_eq!(p.body.decoded_sha256(), Some(sha(b"hello")));
    assert_eq!(p.body.decoded_length, Some(5));
    assert_eq!(p.body.stream_offset, rhead.len() as u64);
    assert_eq!(p.body.stream_length, 5);
    assert!(p.body.complete);
    assert_eq!(e.timing.request_start().unwrap().frame, FrameNo(1));
    assert_eq!(e.timing.request_end().unwrap().frame, FrameNo(1));
    assert_eq!(e.timing.response_start().unwrap().frame, FrameNo(2));
    assert_eq!(e.timing.response_end().unwrap().frame, FrameNo(4));
}

#[test]
fn head_split_in_single_bytes() {
    let stream = b"POST /p HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
    let mut f = Feed::new();
    for b in stream.iter() {
        f.send(C, std::slice::from_ref(b));
    }
    f.send(S, b"HTTP/1.1 204 No Content\r\n\r\n").close();
    let out = f.finish();
    let e = &out.exchanges[0];
    assert_eq!(req(e).body.wire_sha256(), Some(sha(b"abc")));
    assert_eq!(
        e.timing.request_end().unwrap().frame,
        FrameNo(stream.len() as u64)
    );
    assert_eq!(e.capture, CaptureState::Full);
}

#[test]
fn chunked_with_extensions_and_trailer() {
    let body = b"4;name=val\r\nWiki\r\n5\r\npedia\r\nE ; x=\"y\"\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\n";
    let rhead = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    let mut f = Feed::new();
    f.send(C, b"GET / HTTP/1.1\r\n\r\n");
    let mut wire = rhead.to_vec();
    wire.extend_from_slice(body);
    wire.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    // Second request so the second response pairs with something.
    f.send(C, b"GET /2 HTTP/1.1\r\n\r\n");
    for piece in wire.chunks(5) {
        f.send(S, piece);
    }
    f.close();
    let out = f.finish();
    assert!(out.diagnostics.is_empty(), "{:?}", messages(&out));
    assert_eq!(out.exchanges.len(), 2);
    let b = &resp(&out.exchanges[0]).body;
    let plain = b"Wikipedia in\r\n\r\nchunks.";
    assert_eq!(b.wire_length, plain.len() as u64);
    assert_eq!(b.wire_sha256(), Some(sha(plain)));
    assert_eq!(b.stream_offset, rhead.len() as u64);
    assert_eq!(b.stream_length, body.len() as u64);
    assert!(b.complete);
    assert_eq!(out.exchanges[1].capture, CaptureState::Full);
}

#[test]
fn chunked_request_body() {
    let mut f = Feed::new();
    f.send(
        C,
        b"POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    f.send(S, b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
        .close();
    let out = f.finish();
    let e = &out.exchanges[0];
    assert_eq!(req(e).body.wire_sha256(), Some(sha(b"abc")));
    assert_eq!(resp(e).status, 201);
    assert_eq!(e.capture, CaptureState::Full);
}

#[test]
fn close_delimited_http10_and_11() {
    for version in ["HTTP/1.0", "HTTP/1.1"] {
        let mut f = Feed::new();
        f.send(C, format!("GET / {version}\r\n\r\n").as_bytes());
        f.send(
            S,
            format!("{version} 200 OK\r\nServer: x\r\n\r\n").as_bytes(),
        );
        f.send(S, b"part one, ").send(S, b"part two");
        f.end(S, StreamEnd::Fin).end(C, StreamEnd::Fin);
        let out = f.finish();
        assert!(out.diagnostics.is_empty(), "{:?}", messages(&out));
        let e = &out.exchanges[0];
        assert_eq!(e.capture, CaptureState::Full);
        assert_eq!(req(e).version, version);
        let b = &resp(e).body;
        assert_eq!(b.wire_sha256(), Some(sha(b"part one, part two")));
        assert!(b.complete);
        assert_eq!(e.timing.response_end().unwrap().frame, FrameNo(4));
    }
}

#[test]
fn close_delimited_cut_by_reset_is_truncated() {
    let mut f = Feed::new();
    f.send(C, b"GET / HTTP/1.0\r\n\r\n");
    f.send(S, b"HTTP/1.0 200 OK\r\n\r\nabc");
    f.end(S, StreamEnd::Rst);
    let out = f.finish();
    let e = &out.exchanges[0];
    assert_eq!(e.capture, CaptureState::Truncated);
    assert!(!resp(e).body.complete);
    assert_eq!(resp(e).body.wire_sha256(), None);
    assert_eq!(resp(e).body.wire_length, 3);
    assert!(
        messages(&out).iter().any(|m| m.contains("reset")),
        "{:?}",
        messages(&out)
    );
}

#[test]
fn no_body_statuses_and_head() {
    // HEAD, 204 and 304 responses carry no body even with Content-Length (RFC 9112 §6.3).
    let mut f = Feed::new();
    f.send(C, b"HEAD /big HTTP/1.1\r\n\r\nGET /nc HTTP/1.1\r\n\r\nGET /nm HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\n\r\n");
    f.send(
        S,
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n\
          HTTP/1.1 204 No Content\r\n\r\n\
          HTTP/1.1 304 Not Modified\r\nContent-Length: 77\r\n\r\n\
          HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    );
    f.close();
    let out = f.finish();
    assert!(out.diagnostics.is_empty(), "{:?}", messages(&out));
    let statuses: Vec<(String, u16, u64)> = out
        .exchanges
        .iter()
        .map(|e| {
            (
                req(e).target.clone(),
                resp(e).status,
                resp(e).body.wire_length,
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("/big".into(), 200, 0),
            ("/nc".into(), 204, 0),
            ("/nm".into(), 304, 0),
            ("/x".into(), 200, 2)
        ]
    );
    assert!(out
        .exchanges
        .iter()
        .all(|e| e.capture == CaptureState::Full));
}

#[test]
fn two_interim_100_continue() {
    let mut f = Feed::new();
    f.send(
        C,
        b"POST /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
    );
    f.send(S, b"HTTP/1.1 100 Continue\r\n\r\n");
    f.send(C, b"data");
    f.send(S, b"HTTP/1.1 100 Continue\r\n\r\n");
    f.send(S, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    f.close();
    let out = f.finish();
    assert_eq!(out.exchanges.len(), 1);
    let e = &out.exchanges[0];
    assert_eq!(resp(e).interim_statuses, vec![100, 100]);
    assert_eq!(resp(e).status, 200);
    assert_eq!(e.timing.response_start().unwrap().frame, FrameNo(5));
    assert_eq!(e.timing.request_end().unwrap().frame, FrameNo(3));
    assert_eq!(e.capture, CaptureState::Full);
}

#[test]
fn connect_tunnel_stops_parsing() {
    let mut f = Feed::new();
    let connect = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
    let ok = b"HTTP/1.1 200 Connection established\r\n\r\n";
    f.send(C, connect).send(S, ok);
    f.send(
        C,
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03 not http\r\n\r\n",
    );
    f.send(S, b"\x16\x03\x03\x00\x5d\x02 HTTP/1.1 200 OK\r\n\r\n");
    f.close();
    assert!(f.conn.switched());
    assert_eq!(
        f.conn.switch_offsets(),
        Some([connect.len() as u64, ok.len() as u64])
    );
    let out = f.finish();
    assert!(out.diagnostics.is_empty(), "{:?}", messages(&out));
    assert_eq!(out.exchanges.len(), 1);
    let e = &out.exchanges[0];
    assert_eq!(e.upgrade, Some(Upgrade::Tunnel));
    assert_eq!(req(e).method, "CONNECT");
    assert_eq!(req(e).target, "example.com:443");
    assert_eq!(e.capture, CaptureState::Full);
}

#[test]
fn connect_refused_continues_http() {
    let mut f = Feed::new();
    f.send(C, b"CONNECT example.com:443 HTTP/1.1\r\n\r\n");
    f.send(C, b"GET /after HTTP/1.1\r\n\r\n");
    f.send(
        S,
        b"HTTP/1.1 407 Proxy Auth\r\nContent-Length: 3\r\n\r\nno!",
    );
    f.send(S, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    f.close();
    assert!(!f.conn.switched());
    let out = f.finish();
    assert_eq!(out.exchanges.len(), 2);
    assert_eq!(resp(&out.exchanges[0]).status, 407);
    assert_eq!(out.exchanges[0].upgrade, None);
    assert_eq!(req(&out.exchanges[1]).target, "/after");
    assert_eq!(resp(&out.exchanges[1]).status, 200);
}

#[test]
fn many_unanswered_connects_do_not_recurse() {
    let mut f = Feed::new();
    let one = b"CONNECT a:1 HTTP/1.1\r\n\r\n";
    f.send(C, one);
    f.send(C, &one.repeat((2 << 20) / one.len()));
    f.close();
    let out = f.finish();
    assert_eq!(out.exchanges.len(), 1 + (2 << 20) / one.len());
    assert!(out
        .exchanges
        .iter()
        .all(|e| e.capture == CaptureState::NoResponse));
}

#[test]
fn upgrade_101_switches() {
    let mut f = Feed::new();
    f.send(
        C,
        b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    );
    f.send(S, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello");
    f.send(C, b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
    f.close();
    assert!(f.conn.switched());
    let out = f.finish();
    assert!(out.diagnostics.is_empty(), "{:?}", messages(&out));
    assert_eq!(out.exchanges.len(), 1);
    let e = &out.exchanges[0];
    assert_eq!(e.upgrade, Some(Upgrade::Protocol("websocket".into())));
    assert_eq!(resp(e).status, 101);
    assert_eq!(resp(e).interim_statuses, Vec::<u16>::new());
    assert_eq!(e.capture, CaptureState::Full);
}

const H2C_REQUEST: &[u8] = b"GET /up HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n";
const H2C_101: &[u8] =
    b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
/// The client preface and an empty SETTINGS frame (RFC 9113 sections 3.4, 6.5).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0";

#[test]
fn h2c_upgrade_request_is_copied_to_stream_1() {
    let mut f = Feed::new();
    f.send(C, H2C_REQUEST);
    f.send(S, b"HTTP/1.1 100 Continue\r\n\r\n");
    f.send(S, H2C_101);
    f.send(C, H2_PREFACE);
    // SETTINGS; HEADERS on stream 1 (END_STREAM | END_HEADERS): `:status: 200`, static index 8.
    f.send(S, b"\0\0\0\x04\0\0\0\0\0\0\0\x01\x01\x05\0\0\0\x01\x88");
    f.close();
    let out = f.finish();
    assert!(out.diagnostics.is_empty(), "{:?}", messages(&out));
    assert_eq!(out.exchanges.len(), 2);
    // The HTTP/1.1 exchange: the request answered 101 (after a 100).
    let up = &out.exchanges[0];
    assert_eq!(resp(up).status, 101);
    assert_eq!(resp(up).interim_statuses, vec![100]);
    assert_eq!(up.upgrade, Some(Upgrade::Protocol("h2c".into())));
    assert!(up.stream.is_none());
    // Stream 1 (RFC 9113 section 3.2): that request, and the response HEADERS.
    let s1 = &out.exchanges[1];
    assert_eq!(
        s1.stream.as_ref().map(|s| (s.id, s.upgrade_request)),
        Some((1, true))
    );
    assert_eq!(s1.http_version, crate::model::HttpVersion::Http2);
    assert_eq!(req(s1), req(up));
    assert_eq!(&*req(s1).version, "HTTP/1.1");
    assert_eq!(resp(s1).status, 200);
    assert_eq!(s1.capture, CaptureState::Full);
    assert_eq!(s1.timing.request_start().unwrap().frame, FrameNo(1));
    assert_eq!(s1.timing.response_start().unwrap().frame, FrameNo(5));
    assert!(s1.upgrade.is_none());
}

#[test]
fn h2c_upgrade_without_stream_1_keeps_the_101() {
    let mut f = Feed::new();
    f.send(C, H2C_REQUEST);
    f.send(S, H2C_101);
    f.send(C, H2_PREFACE);
    f.close();
    let out = f.finish();
    assert_eq!(out.exchanges.len(), 1);
    let e = &out.exchanges[0];
    assert_eq!(resp(e).status, 101);
    assert_eq!(e.upgrade, Some(Upgrade::Protocol("h2c".into())));
    assert!(e.stream.is_none());
}

#[test]
fn pipelined_requests_pair_fifo() {
    let mut f = Feed::new();
    f.send(C, b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
    f.send(C, b"GET /3 HTTP/1.1\r\n\r\n");
    f.send(S, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none");
    f.send(S, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nthree");
    f.close();
    let out = f.finish();
    assert!(out.diagnostics.is_empty(), "{:?}", messages(&out));
    let got: Vec<(String, u16, [u8; 32])> = out
        .exchanges
        .iter()
        .map(|e| {
            (
                req(e).target.clone(),
                resp(e).status,
                resp(e).body.wire_sha256().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("/1".into(), 200, sha(b"one")),
            ("/2".into(), 200, sha(b"two")),
            ("/3".into(), 404, sha(b"three")),
        ]
    );
    let ids: Vec<u32> = out.exchanges.iter().map(|e| e.id.0).collect();
    assert_eq!(ids, vec![0, 1, 2]);
}

#[test]
fn response_only_at_capture_start_and_no_response_at_end() {
    let mut f = Feed::with(HttpOptions::default(), false);
    f.send(S, b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate");
    f.send(C, b"GET /next HTTP/1.1\r\n\r\n");
    f.send(S, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
    f.send(C, b"GET /unanswered HTTP/1.1\r\n\r\n");
    f.close();
    let out = f.finish();
    assert!(out.diagnostics.is_empty(), "{:?}", messages(&out));
    assert_eq!(out.exchanges.len(), 3);
    assert_eq!(out.exchanges[0].capture, CaptureState::ResponseOnly);
    assert!(out.exchanges[0].request.is_none());
    assert_eq!(
        resp(&out.exchanges[0]).body.wire_sha256(),
        Some(sha(b"late"))
    );
    assert_eq!(out.exchanges[1].capture, CaptureState::Full);
    assert_eq!(req(&out.exchanges[1]).target, "/next");
    assert_eq!(out.exchanges[2].capture, CaptureState::NoResponse);
    assert!(out.exchanges[2].response.is_none());
}

#[test]
fn response_that_started_before_the_request_is_response_only() {
    let mut f = Feed::new();
    f.send(S, b"HTTP/1.1 200 OK\r\nCont");
    f.send(C, b"GET /x HTTP/1.1\r\n\r\n");
    f.send(S, b"ent-Length: 5\r\n\r\nab");
    f.end(S, StreamEnd::Rst).end(C, StreamEnd::Fin);
    let out = f.finish();
    assert_eq!(out.exchanges.len(), 2);
    // Ordered by first byte: the response (frame 1) before the request (frame 2), and the
    // diagnostic follows its exchange to the new id.
    assert_eq!(out.exchanges[0].capture, CaptureState::ResponseOnly);
    assert_eq!(out.exchanges[1].capture, CaptureState::NoResponse);
    assert_eq!(
        messages(&out),
        vec!["response body: connection reset after 2 of 5 body bytes"]
    );
    assert_eq!(out.diagnostics[0].exchange, Some(ExchId(0)));
    assert_eq!(out.diagnostics[0].frame, Some(FrameNo(4)));
}

#[test]
fn mid_connection_start_skips_partial_body() {
    let mut f = Feed::with(HttpOptions::default(), false);
    f.send(
        S,
        b"tail of an earlier body\r\nmore\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
    );
    f.close();
    let out = f.finish();
    assert_eq!(out.exchanges.len(), 1);
    assert_eq!(out.exchanges[0].capture, CaptureState::ResponseOnly);
    assert_eq!(out.diagnostics.len(), 1);
    assert_eq!(out.diagnostics[0].severity, Severity::Info);
    assert!(out.diagnostics[0].message.contains("mid-connection"));
}

#[test]
fn keep_alive_nul_before_first_request() {
    let mut f = Feed::with(HttpOptions::default(), false);
    f.send(C, b"\0");
    f.send(C, b"GET /after-keepalive HTTP/1.1\r\n\r\n");
    f.send(S, b"HTTP/1.1 204 No Content\r\n\r\n").close();
    let out = f.finish();
    assert!(out.diagnostics.is_empty(), "{:?}", messages(&out));
    assert_eq!(req(&out.exchanges[0]).target, "/after-keepalive");
    assert_eq!(out.exchanges[0].capture, CaptureState::Full);
}

#[test]
fn malformed_request_lines_in_step_are_requests() {
    // zeek's methods.pcap sends lines like these; tshark reads them as requests.
    for (line, method, target) in [
        ("OPTIONS HTTP/1.1", "OPTIONS", "HTTP/1.1"),
        ("OPTIONS", "OPTIONS", ""),
        ("GET / HTTP/1.", "GET", "/"),
        ("GET /HTTP/1.1", "GET", "/HTTP/1.1"),
    ] {
        let mut f = Feed::new();
        f.send(C, format!("{line}\nHost: h\n\n").as_bytes());
        f.send(S, b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .close();
        let out = f.finish();
        assert_eq!(out.exchanges.len(), 1, "{line}");
        let r = req(&out.exchanges[0]);
        assert_eq!((r.method.as_ref(), r.target.as_str()), (method, target));
        assert_eq!(r.host(), Some("h"));
        assert_eq!(out.exchanges[0].capture, CaptureState::Full);
        assert_eq!(out.diagnostics.len(), 1, "{:?}", messages(&out));
        assert!(out.diagnostics[0]
            .message
            .starts_with("malformed request line"));
    }
    // Not a request: no space after the method token.
    let mut f = Feed::new();
    f.send(C, b"OPTIONSHTTP/1.1\nHost: h\n\n").close();
    assert!(f.finish().exchanges.is_empty());
}

// ---- content coding --------------------------------------------------------------------

fn coded_exchange(coding: &str, wire: &[u8], opts: HttpOptions) -> HttpOutput {
    let mut f = Feed::with(opts, true);
    f.send(
        C,
        b"GET /c HTTP/1.1\r\nAccept-Encoding: gzip, deflate, br\r\n\r\n",
    );
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: {coding}\r\nContent-Length: {}\r\n\r\n",
        wire.len()
    );
    f.send(S, head.as_bytes());
    for piece in wire.chunks(1000) {
        f.send(S, piece);
    }
    f.close();
    f.finish()
}

#[test]
fn gzip_body_decoded() {
    let plain = b"The quick brown fox jumps over the lazy dog. ".repeat(200);
    let wire = gzip(&plain);
    let opts = HttpOptions {
        keep_body_max: 1 << 20,
        ..HttpOptions::default()
    };
    let out = coded_exchange("gzip", &wire, opts);
    assert!(out.diagnostics.is_empty(), "{:?}", messages(&out));
    let b = &resp(&out.exchanges[0]).body;
    assert_eq!(b.content_encoding, vec!["gzip"]);
    assert_eq!(b.wire_length, wire.len() as u64);
    assert_eq!(b.wire_sha256(), Some(sha(&wire)));
    assert_eq!(b.decoded_length, Some(plain.len() as u64));
    assert_eq!(b.decoded_sha256(), Some(sha(&plain)));
    assert_eq!(b.kept.as_deref(), Some(&plain[..]));
}

#[test]
fn deflate_raw_and_zlib_decoded() {
    let plain = b"deflate me deflate me deflate me".repeat(100);
    let mut raw = DeflateEncoder::new(Vec::new(), Compression::default());
    raw.write_all(&plain).unwrap();
    let raw = raw.finish().unwrap();
    let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
    z.write_all(&plain).unwrap();
    let z = z.finish().unwrap();
    for wire in [raw, z] {
        let out = coded_exchange("deflate", &wire, HttpOptions::default());
        assert!(out.diagnostics.is_empty(), "{:?}", messages(&out));
        let b = &resp(&out.exchanges[0]).body;
        assert_eq!(b.decoded_sha256(), Some(sha(&plain)));
        assert_eq!(b.decoded_length, Some(plain.len() as u64));
    }
}

#[test]
fn brotli_body_decoded() {
    // RFC 7932 uncompressed meta-block holding "hello\n" (brotli-decompressor's test vector).
    let br = b"\x8f\x02\x80\x68\x65\x6c\x6c\x6f\x0a\x03";
    let out = coded_exchange("br", br, HttpOptions::default());
    assert!(out.diagnostics.is_empty(), "{:?}", messages(&out));
    let b = &resp(&out.exchanges[0]).body;
    assert_eq!(b.decoded_sha256(), Some(sha(b"hello\n")));
    assert_eq!(b.decoded_length, Some(6));
}

#[test]
fn gzip_bomb_capped() {
    let zeros = vec![0u8; 4 << 20];
    let wire = gzip(&zeros);
    let opts = HttpOptions {
        decoded_body_cap: 1 << 20,
        ..HttpOptions::default()
    };
    let out = coded_exchange("gzip", &wire, opts);
    let e = &out.exchanges[0];
    let b = &resp(e).body;
    assert_eq!(b.decoded_length, None);
    assert_eq!(b.decoded_sha256(), None);
    assert_eq!(b.wire_sha256(), Some(sha(&wire)));
    assert!(b.complete);
    assert_eq!(e.capture, CaptureState::Full);
    assert_eq!(out.diagnostics.len(), 1, "{:?}", messages(&out));
    assert_eq!(out.diagnostics[0].exchange, Some(ExchId(0)));
    assert!(out.diagnostics[0].message.contains("cap"));
}

#[test]
fn corrupt_and_unknown_codings() {
    let out = coded_exchange("gzip", b"definitely not gzip", HttpOptions::default());
    let b = &resp(&out.exchanges[0]).body;
    assert_eq!(b.decoded_length, None);
    assert_eq!(b.wire_sha256(), Some(sha(b"definitely not gzip")));
    assert_eq!(out.diagnostics.len(), 1);
    let out = coded_exchange("compress", b"xyz", HttpOptions::default());
    assert_eq!(resp(&out.exchanges[0]).body.decoded_length, None);
    assert_eq!(out.diagnostics.len(), 1);
}

// ---- robustness ------------------------------------------------------------------------

#[test]
fn huge_content_length_is_truncated_not_allocated() {
    let mut f = Feed::new();
    f.send(C, b"GET / HTTP/1.1\r\n\r\n");
    f.send(
        S,
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000000000\r\n\r\n",
    );
    f.send(S, &[7u8; 300]);
    f.close();
    let out = f.finish();
    let e = &out.exchanges[0];
    assert_eq!(e.capture, CaptureState::Truncated);
    assert_eq!(resp(e).body.wire_length, 300);
    assert!(!resp(e).body.complete);
    assert_eq!(
        messages(&out),
        vec!["response body: connection closed after 300 of 1000000000000000000 body bytes"]
    );
}

#[test]
fn endless_chunk_size_line_is_an_error() {
    let mut f = Feed::new();
    f.send(C, b"GET / HTTP/1.1\r\n\r\n");
    f.send(S, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    // A size line that never ends: extensions after "1;" with no line end for 2 MiB.
    f.send(S, b"1;");
    let ext = vec![b'a'; 64 * 1024];
    for _ in 0..32 {
        f.send(S, &ext);
    }
    f.send(S, b"\r\nHTTP/1.1 204 No Content\r\n\r\n");
    f.close();
    let out = f.finish();
    assert_eq!(out.exchanges.len(), 2);
    assert_eq!(out.exchanges[0].capture, CaptureState::Truncated);
    assert_eq!(out.exchanges[1].capture, CaptureState::ResponseOnly);
    assert_eq!(resp(&out.exchanges[1]).status, 204);
    assert!(
        messages(&out)[0].contains("chunk-size line longer"),
        "{:?}",
        messages(&out)
    );
}

#[test]
fn absurd_chunk_size_is_an_error() {
    let mut f = Feed::new();
    f.send(C, b"GET / HTTP/1.1\r\n\r\n");
    f.send(S, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    f.send(S, &[b'f'; 100_000]);
    f.close();
    let out = f.finish();
    assert_eq!(out.exchanges[0].capture, CaptureState::Truncated);
    assert!(
        messages(&out)[0].contains("chunk size too large"),
        "{:?}",
        messages(&out)
    );
}

fn many_headers(n: usize) -> Vec<u8> {
    let mut head = b"GET /many HTTP/1.1\r\n".to_vec();
    for i in 0..n {
        head.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    head
}

#[test]
fn hundred_thousand_headers_hit_the_head_cap_then_resync() {
    let head = many_headers(100_000);
    assert!(head.len() > 1 << 20);
    let mut f = Feed::new();
    for piece in head.chunks(1460) {
        f.send(C, piece);
    }
    f.send(C, b"GET /after HTTP/1.1\r\n\r\n");
    f.send(S, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    f.close();
    let out = f.finish();
    assert_eq!(out.exchanges.len(), 1);
    assert_eq!(req(&out.exchanges[0]).target, "/after");
    assert_eq!(out.exchanges[0].capture, CaptureState::Full);
    assert!(out
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error && d.message.contains("longer than")));
}

#[test]
fn hundred_thousand_headers_parse_under_a_larger_cap() {
    let head = many_headers(100_000);
    let opts = HttpOptions {
        max_head_bytes: 4 << 20,
        ..HttpOptions::default()
    };
    let mut f = Feed::with(opts, true);
    for piece in head.chunks(64 * 1024) {
        f.send(C, piece);
    }
    f.close();
    let out = f.finish();
    let r = req(&out.exchanges[0]);
    assert_eq!(r.headers.len(), 100_000);
    assert_eq!(r.headers.get("x-h99999"), Some("v"));
}

#[test]
fn nul_bytes_and_garbage_between_messages() {
    let mut f = Feed::new();
    f.send(C, b"GET /1 HTTP/1.1\r\nX-Nul: a\0b\r\nHost: h\r\n\r\n");
    f.send(C, b"\0\0\0garbage\xff\xfe\r\nGET /2 HTTP/1.1\r\n\r\n");
    f.send(
        S,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    );
    f.close();
    let out = f.finish();
    let targets: Vec<&str> = out
        .exchanges
        .iter()
        .map(|e| req(e).target.as_str())
        .collect();
    assert_eq!(targets, vec!["/1", "/2"]);
    let first = req(&out.exchanges[0]);
    assert_eq!(first.headers.get("x-nul"), Some("a\u{fffd}b"));
    assert_eq!(first.host(), Some("h"));
    assert!(out
        .exchanges
        .iter()
        .all(|e| e.capture == CaptureState::Full));
    assert!(
        out.diagnostics
            .iter()
            .any(|d| d.message.contains("skipped")),
        "{:?}",
        messages(&out)
    );
}

#[test]
fn conflicting_content_length_is_reported() {
    let mut f = Feed::new();
    f.send(C, b"GET / HTTP/1.1\r\n\r\n");
    f.send(
        S,
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    );
    f.close();
    let out = f.finish();
    assert!(
        messages(&out)[0].contains("conflicting Content-Length"),
        "{:?}",
        messages(&out)
    );
    // Read as close-delimited.
    assert_eq!(
        resp(&out.exchanges[0]).body.wire_sha256(),
        Some(sha(b"abcd"))
    );
}

// ---- gaps --------------------------------------------------------------------------------

#[test]
fn gap_inside_content_length_body_stays_in_sync() {
    let rhead = b"HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n";
    let mut f = Feed::new();
    f.send(C, b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
    f.send(S, rhead)
        .send(S, &[b'a'; 1000])
        .gap(S, 1448)
        .send(S, &[b'a'; 552]);
    f.send(S, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    f.close();
    let out = f.finish();
    assert_eq!(out.exchanges.len(), 2);
    let first = &out.exchanges[0];
    assert_eq!(first.capture, CaptureState::Truncated);
    let b = &resp(first).body;
    assert_eq!(b.wire_length, 3000);
    assert_eq!(b.wire_sha256(), None);
    assert!(!b.complete);
    assert_eq!(b.stream_length, 3000);
    let offset = rhead.len() + 1000;
    assert_eq!(
        messages(&out),
        vec![format!(
            "response body: 1448 bytes missing at stream offset {offset}"
        )]
    );
    assert_eq!(out.diagnostics[0].exchange, Some(ExchId(0)));
    let second = &out.exchanges[1];
    assert_eq!(second.capture, CaptureState::Full);
    assert_eq!(resp(second).body.wire_sha256(), Some(sha(b"ok")));
}

#[test]
fn gap_covering_body_end_and_next_head_resyncs() {
    let mut f = Feed::new();
    f.send(
        C,
        b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n",
    );
    f.send(S, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345");
    // Loses the last 5 body bytes and the start of the next response head.
    f.gap(S, 20);
    f.send(
        S,
        b"gth: 2\r\n\r\nok\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz",
    );
    f.close();
    let out = f.finish();
    let got: Vec<(CaptureState, Option<u16>)> = out
        .exchanges
        .iter()
        .map(|e| (e.capture, e.response.as_ref().map(|r| r.status)))
        .collect();
    // The skipped text after the gap shows a response head was lost: it answered /b, so
    // the resynced response answers /c.
    assert_eq!(
        got,
        vec![
            (CaptureState::Truncated, Some(200)),
            (CaptureState::NoResponse, None),
            (CaptureState::Full, Some(200))
        ]
    );
    assert!(out
        .diagnostics
        .iter()
        .any(|d| d.exchange == Some(ExchId(1)) && d.message.contains("lost in a capture gap")));
    assert_eq!(resp(&out.exchanges[2]).body.wire_sha256(), Some(sha(b"z")));
    assert!(
        messages(&out)
            .iter()
            .any(|m| m.contains("skipped 14 bytes")),
        "{:?}",
        messages(&out)
    );
    assert!(out
        .diagnostics
        .iter()
        .any(|d| d.message.contains("20 bytes missing")));
}

#[test]
fn gap_inside_head_resyncs_on_next_message() {
    let mut f = Feed::new();
    f.send(C, b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
    f.send(S, b"HTTP/1.1 200 OK\r\nContent-Le");
    f.gap(S, 30);
    f.send(
        S,
        b"ngth remains\r\n\r\nbody bytes\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nyes",
    );
    f.close();
    let out = f.finish();
    assert!(
        messages(&out)
            .iter()
            .any(|m| m.contains("head at stream offset 0 cut by 30 missing bytes")),
        "{:?}",
        messages(&out)
    );
    // /a's response head was cut: /a keeps no response and the resynced one answers /b.
    assert_eq!(out.exchanges[0].capture, CaptureState::NoResponse);
    assert_eq!(req(&out.exchanges[1]).target, "/b");
    assert_eq!(
        resp(&out.exchanges[1]).body.wire_sha256(),
        Some(sha(b"yes"))
    );
    assert_eq!(out.exchanges[1].capture, CaptureState::Full);
}

#[test]
fn gap_inside_chunk_data_stays_in_sync() {
    let mut f = Feed::new();
    f.send(C, b"GET / HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
    f.send(
        S,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123",
    );
    f.gap(S, 8);
    f.send(
        S,
        b"CDEF\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nq",
    );
    f.close();
    let out = f.finish();
    assert_eq!(out.exchanges.len(), 2);
    assert_eq!(resp(&out.exchanges[0]).body.wire_length, 16);
    assert_eq!(out.exchanges[0].capture, CaptureState::Truncated);
    assert_eq!(out.exchanges[1].capture, CaptureState::Full);
}

#[test]
fn finish_without_end_treats_as_capture_end() {
    let mut f = Feed::new();
    f.send(C, b"GET / HTTP/1.1\r\n\r\n");
    f.send(S, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345");
    let out = f.finish();
    assert_eq!(out.exchanges[0].capture, CaptureState::Truncated);
    assert_eq!(
        messages(&out),
        vec!["response body: capture ended after 5 of 10 body bytes"]
    );
}

// ---- split invariance ------------------------------------------------------------------

/// A pipelined conversation: (client bytes, server bytes).
fn conversation() -> (Vec<u8>, Vec<u8>) {
    let mut c = Vec::new();
    let mut s = Vec::new();
    let gz = gzip(&b"gzip body ".repeat(300));
    for i in 0..6 {
        match i % 3 {
            0 => {
                c.extend_from_slice(format!("GET /r{i} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes());
                s.extend_from_slice(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
                s.extend_from_slice(
                    b"5;e=1\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nT: 1\r\n\r\n",
                );
            }
            1 => {
                c.extend_from_slice(
                    format!("POST /r{i} HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world")
                        .as_bytes(),
                );
                s.extend_from_slice(format!("HTTP/1.1 201 Created\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n", gz.len()).as_bytes());
                s.extend_from_slice(&gz);
            }
            _ => {
                c.extend_from_slice(format!("PUT /r{i} HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n").as_bytes());
                s.extend_from_slice(
                    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
                );
            }
        }
    }
    (c, s)
}

type Summary = Vec<(
    String,
    String,
    u16,
    u64,
    Option<[u8; 32]>,
    Option<[u8; 32]>,
    Option<[u8; 32]>,
    CaptureState,
)>;

fn summarize(out: &HttpOutput) -> Summary {
    out.exchanges
        .iter()
        .map(|e| {
            let r = req(e);
            let p = resp(e);
            (
                r.method.to_string(),
                r.target.clone(),
                p.status,
                p.body.wire_length,
                p.body.wire_sha256(),
                p.body.decoded_sha256(),
                r.body.wire_sha256(),
                e.capture,
            )
        })
        .collect()
}

/// All client bytes first, then all server bytes, each cut at the given points.
fn run_split(c: &[u8], s: &[u8], cuts_c: &[usize], cuts_s: &[usize]) -> HttpOutput {
    let mut f = Feed::new();
    for (dir, data, cuts) in [(C, c, cuts_c), (S, s, cuts_s)] {
        let mut points: Vec<usize> = cuts.iter().map(|&x| x % (data.len() + 1)).collect();
        points.push(0);
        points.push(data.len());
        points.sort_unstable();
        points.dedup();
        for w in points.windows(2) {
            f.send(dir, &data[w[0]..w[1]]);
        }
    }
    f.close();
    f.finish()
}

#[test]
fn unsplit_conversation_is_parsed_fully() {
    let (c, s) = conversation();
    let out = run_split(&c, &s, &[], &[]);
    assert!(out.diagnostics.is_empty(), "{:?}", messages(&out));
    let sum = summarize(&out);
    assert_eq!(sum.len(), 6);
    assert_eq!(sum[0].4, Some(sha(b"helloabcdefghijklmnopqrstuvwxyz")));
    assert_eq!(sum[1].5, Some(sha(&b"gzip body ".repeat(300))));
    assert_eq!(sum[1].6, Some(sha(b"hello world")));
    assert_eq!(sum[2].2, 204);
    assert_eq!(sum[2].6, Some(sha(b"abc")));
    assert_eq!(resp(&out.exchanges[2]).interim_statuses, vec![100]);
    assert!(sum.iter().all(|x| x.7 == CaptureState::Full));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn splitting_does_not_change_exchanges(
        cuts_c in proptest::collection::vec(0usize..100_000, 0..40),
        cuts_s in proptest::collection::vec(0usize..100_000, 0..40),
    ) {
        let (c, s) = conversation();
        let whole = summarize(&run_split(&c, &s, &[], &[]));
        let split = run_split(&c, &s, &cuts_c, &cuts_s);
        prop_assert!(split.diagnostics.is_empty());
        prop_assert_eq!(summarize(&split), whole);
    }
}

// ---- resynchronisation ---------------------------------------------------------------------

impl Feed {
    /// A frame cut short by the snapshot length: `bytes` captured, `missing` more were sent.
    fn send_cut(&mut self, dir: Dir, bytes: &[u8], missing: u64) -> &mut Self {
        let at = self.at();
        let off = self.off[dir.index()];
        self.conn.on_data(dir, off, bytes, at);
        self.conn.on_gap(dir, off + bytes.len() as u64, missing, at);
        self.off[dir.index()] += bytes.len() as u64 + missing;
        self
    }
}

fn targets(out: &HttpOutput) -> Vec<&str> {
    out.exchanges
        .iter()
        .filter_map(|e| e.request.as_ref().map(|r| r.target.as_str()))
        .collect()
}

#[test]
fn status_lines_in_a_body_tail_are_not_exchanges() {
    // Body text of a response begun before the capture: lines that read like responses, one
    // with a body, one chained after it, one close-delimited.
    let tail: &[u8] =
        b"line one of a log\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nline after it\r\n\
HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 500 x\r\n\r\nend of the body";
    let mut f = Feed::with(HttpOptions::default(), false);
    f.send(S, tail);
    f.send(C, b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
    // A new segment: the status line starts it though no line end came before.
    f.send(S, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    f.close();
    let out = f.finish();
    assert_eq!(targets(&out), vec!["/next"]);
    assert_eq!(out.exchanges.len(), 1);
    assert_eq!(out.exchanges[0].capture, CaptureState::Full);
    assert_eq!(resp(&out.exchanges[0]).body.wire_sha256(), Some(sha(b"ok")));
    assert_eq!(
        messages(&out),
        vec![format!(
            "capture started mid-connection: skipped {} bytes before the first response (the end of a response that began before the capture)",
            tail.len()
        )]
    );
}

#[test]
fn responses_at_capture_start_are_kept_when_a_message_follows() {
    let mut f = Feed::with(HttpOptions::default(), false);
    f.send(S, b"end of an earlier body\r\n");
    f.send(S, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na");
    f.send(S, b"HTTP/1.1 204 No Content\r\n\r\n");
    f.send(C, b"GET /x HTTP/1.1\r\n\r\n");
    f.send(S, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb");
    f.close();
    let out = f.finish();
    let got: Vec<(CaptureState, u16)> = out
        .exchanges
        .iter()
        .map(|e| (e.capture, resp(e).status))
        .collect();
    assert_eq!(
        got,
        vec![
            (CaptureState::ResponseOnly, 200),
            (CaptureState::ResponseOnly, 204),
            (CaptureState::Full, 200)
        ]
    );
    assert_eq!(targets(&out), vec!["/x"]);
}

#[test]
fn response_on_probation_cut_by_the_end_or_close_delimited_is_dropped() {
    for tail in [
        &b"text\r\nHTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"[..],
        b"text\r\nHTTP/1.1 200 OK\r\n\r\nmore text\r\n",
    ] {
        let mut f = Feed::with(HttpOptions::default(), false);
        f.send(S, tail).close();
        let out = f.finish();
        assert!(
            out.exchanges.is_empty(),
            "{:?}",
            String::from_utf8_lossy(tail)
        );
        assert!(messages(&out)[0].contains(&format!("skipped {} bytes", tail.len())));
    }
    // HTTP/1.0 says the body runs to the close.
    let mut f = Feed::with(HttpOptions::default(), false);
    f.send(S, b"text\r\nHTTP/1.0 200 OK\r\n\r\nbody until close")
        .close();
    let out = f.finish();
    assert_eq!(out.exchanges.len(), 1);
    assert_eq!(
        resp(&out.exchanges[0]).body.wire_sha256(),
        Some(sha(b"body until close"))
    );
}

#[test]
fn request_lines_out_of_step_are_checked() {
    let mut f = Feed::with(HttpOptions::default(), false);
    f.send(
        C,
        b"tail of an upload\r\nget /lower HTTP/1.1\r\n\r\nFETCH /x HTTP/1.1\r\n\r\nGET x HTTP/1.1\r\n\r\n\
GET /fake HTTP/1.1\r\nthis line is prose\r\n\r\nGET /fake2 HTTP/1.1\r\nGET /real HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    f.send(S, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        .close();
    let out = f.finish();
    assert_eq!(targets(&out), vec!["/real"]);
    assert_eq!(req(&out.exchanges[0]).host(), Some("h"));
    assert_eq!(out.exchanges[0].capture, CaptureState::Full);
}

#[test]
fn snaplen_cut_request_head_is_kept_and_its_body_skipped() {
    let head: &[u8] =
        b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 300\r\nAuthorization: Bearer abcdefghijkl\r\n\r\n";
    let mut body = b"GET /inside HTTP/1.1\r\n\r\n".repeat(12);
    body.resize(300, b'.');
    let mut post = head.to_vec();
    post.extend_from_slice(&body);
    let mut f = Feed::new();
    // Frame 1 held 100 bytes, 60 captured (the cut falls inside Authorization); frame 2
    // starts inside the body with a line that reads like a request.
    f.send_cut(C, &post[..60], 40);
    f.send_cut(C, &post[100..160], 40);
    f.send(C, &post[200..]);
    f.send(S, b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
    f.send(C, b"GET /next HTTP/1.1\r\n\r\n");
    f.send(S, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    f.close();
    let out = f.finish();
    assert_eq!(targets(&out), vec!["/up", "/next"]);
    let post = &out.exchanges[0];
    assert_eq!(post.capture, CaptureState::Truncated);
    let r = req(post);
    assert_eq!(r.method, "POST");
    assert_eq!(r.headers.len(), 2);
    assert_eq!(r.headers.get("content-length"), Some("300"));
    assert_eq!(r.headers.get("authorization"), None);
    assert_eq!(r.body.wire_length, 300);
    assert!(!r.body.complete);
    assert_eq!(resp(post).status, 201);
    let said: Vec<&str> = out
        .diagnostics
        .iter()
        .filter(|d| d.exchange == Some(ExchId(0)))
        .map(|d| d.message.as_str())
        .collect();
    assert!(
        said.contains(
            &"request head at stream offset 0 cut short by 40 missing bytes at offset 60 in frame 1 (the snapshot length): kept the request line and 2 header fields; the rest of the head and its body of 300 bytes (Content-Length) is not in the capture"
        ),
        "{said:?}"
    );
    assert_eq!(out.exchanges[1].capture, CaptureState::Full);
    assert_eq!(resp(&out.exchanges[1]).status, 200);
}

#[test]
fn snaplen_cut_status_lines_pair_in_order() {
    let mut f = Feed::new();
    f.send(
        C,
        b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n",
    );
    f.send_cut(S, b"HTTP/1.1 200 OK\r\nServer: x\r\nContent-Le", 500);
    // The status line itself cut: only its code survives.
    f.send_cut(S, b"HTTP/1.1 301 Moved Perm", 300);
    f.send(S, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    f.close();
    let out = f.finish();
    let got: Vec<(&str, u16, CaptureState)> = out
        .exchanges
        .iter()
        .map(|e| (req(e).target.as_str(), resp(e).status, e.capture))
        .collect();
    assert_eq!(
        got,
        vec![
            ("/a", 200, CaptureState::Truncated),
            ("/b", 301, CaptureState::Truncated),
            ("/c", 404, CaptureState::Full)
        ]
    );
    assert_eq!(resp(&out.exchanges[0]).headers.get("server"), Some("x"));
}

#[test]
fn snaplen_cut_request_line_keeps_the_start_of_its_target() {
    let mut f = Feed::new();
    f.send_cut(C, b"GET /a/very/long/path/that/is/cu", 200);
    f.send(S, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    f.send(C, b"GET /next HTTP/1.1\r\n\r\n");
    f.send(S, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    f.close();
    let out = f.finish();
    assert_eq!(targets(&out), vec!["/a/very/long/path/that/is/cu", "/next"]);
    assert!(messages(&out)
        .iter()
        .any(|m| m.contains("the target may be incomplete")));
    assert_eq!(resp(&out.exchanges[0]).status, 200);
}

#[test]
fn segment_start_out_of_step_may_start_a_message() {
    let mut f = Feed::with(HttpOptions::default(), false);
    f.send(S, b"{\"end\": \"of a json body\"}");
    f.send(C, b"GET /a HTTP/1.1\r\n\r\n");
    f.send(S, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    f.close();
    let out = f.finish();
    assert_eq!(targets(&out), vec!["/a"]);
    assert_eq!(out.exchanges[0].capture, CaptureState::Full);
}

fn dispatch(
    port: u16,
    handshake: bool,
    server_first: &[u8],
    then: &[(Dir, &[u8])],
) -> (AppProtocol, crate::dispatch::Finished) {
    use crate::dispatch::{Dispatcher, Registry};
    let registry = std::sync::Arc::new(Registry::new(crate::http::recognizers(
        std::sync::Arc::new(HttpOptions::default()),
    )));
    let mut facts = facts(handshake);
    facts.server.set_port(port);
    let mut d = Dispatcher::new(facts, Scheme::Http, registry);
    let mut frame = 0;
    let mut off = [0u64; 2];
    let mut send = |d: &mut Dispatcher, dir: Dir, bytes: &[u8]| {
        for seg in bytes.chunks(1448) {
            frame += 1;
            let at = Arrival {
                frame: FrameNo(frame),
                ts: Ts(frame as i64),
            };
            d.on_data(dir, off[dir.index()], seg, at);
            off[dir.index()] += seg.len() as u64;
        }
    };
    send(&mut d, S, server_first);
    for (dir, bytes) in then {
        send(&mut d, *dir, bytes);
    }
    let end = Arrival {
        frame: FrameNo(frame + 1),
        ts: Ts(frame as i64 + 1),
    };
    d.on_end(C, off[0], StreamEnd::Fin, end);
    d.on_end(S, off[1], StreamEnd::Fin, end);
    (d.protocol(), d.finish())
}

/// 1 MiB of a log whose lines read like HTTP.
fn log_tail() -> Vec<u8> {
    let mut t = Vec::new();
    let mut n = 0;
    while t.len() < 1 << 20 {
        n += 1;
        t.extend_from_slice(
            format!(
                "{n:06} GET /logged/{n} HTTP/1.1\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
            )
            .as_bytes(),
        );
    }
    t.truncate(1 << 20);
    t
}

#[test]
fn connection_starting_in_a_long_body_tail_is_adopted_on_http_ports() {
    let tail = log_tail();
    let after: [(Dir, &[u8]); 4] = [
        (C, b"GET /after HTTP/1.1\r\nHost: h\r\n\r\n"),
        (S, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        (C, b"GET /again HTTP/1.1\r\nHost: h\r\n\r\n"),
        (S, b"HTTP/1.1 204 No Content\r\n\r\n"),
    ];
    let (proto, fin) = dispatch(80, false, &tail, &after);
    assert_eq!(proto, AppProtocol::Http1);
    let got: Vec<(&str, u16)> = fin
        .exchanges
        .iter()
        .map(|e| (req(e).target.as_str(), resp(e).status))
        .collect();
    assert_eq!(got, vec![("/after", 200), ("/again", 204)]);
    assert!(fin
        .diagnostics
        .iter()
        .any(|d| d.message.contains(&format!("skipped {} bytes", tail.len()))));

    // Not on a usual HTTP port, or with the handshake captured: not HTTP/1 as before.
    for (port, handshake) in [(5000, false), (80, true)] {
        let (proto, fin) = dispatch(port, handshake, &tail, &after);
        assert_eq!(proto, AppProtocol::Unknown);
        assert!(fin.exchanges.is_empty());
    }
}

#[test]
fn adopted_connection_without_http_stays_unknown() {
    let noise: Vec<u8> = (0..100_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    let (proto, fin) = dispatch(80, false, &noise, &[(C, &noise[..50_000])]);
    assert_eq!(proto, AppProtocol::Unknown);
    assert!(fin.exchanges.is_empty());
    assert!(fin.diagnostics.is_empty());
}

#[test]
fn trial_gives_up_past_its_look_ahead() {
    let mut c = HttpConnection::on_trial(facts(false), Scheme::Http, HttpOptions::default());
    let piece = vec![b'x'; 1 << 20];
    let mut off = 0;
    for i in 0..65 {
        let at = Arrival {
            frame: FrameNo(i + 1),
            ts: Ts(i as i64),
        };
        c.on_data(S, off, &piece, at);
        off += piece.len() as u64;
    }
    let at = Arrival {
        frame: FrameNo(100),
        ts: Ts(100),
    };
    c.on_data(C, 0, b"GET / HTTP/1.1\r\n\r\n", at);
    assert!(!c.found());
    let out = c.finish();
    assert!(out.exchanges.is_empty() && out.diagnostics.is_empty());
}

/// Pieces a stream out of step is made of: messages, parts of them, text that reads like them.
const PIECES: &[&[u8]] = &[
    b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n",
    b"POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    b"HTTP/1.1 204 No Content\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
    b"HTTP/1.0 200 OK\r\n\r\n",
    b"CONNECT h:443 HTTP/1.1\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Le",
    b"GET /cut/targ",
    b"some text of a body\r\n",
    b"no line end",
    b"\r\n",
    b"\0\0",
    b"prose: with a colon\r\n",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    /// Whatever a stream out of step holds, gaps and cuts included: no panic, and every
    /// exchange and diagnostic the parser gives is well formed.
    #[test]
    fn streams_out_of_step_never_break_the_parser(
        handshake in any::<bool>(),
        events in proptest::collection::vec((0usize..3, 0usize..PIECES.len(), 0u8..6), 0..60),
    ) {
        let mut f = Feed::with(HttpOptions::default(), handshake);
        for (dir, piece, how) in events {
            let dir = if dir == 0 { C } else { S };
            let bytes = PIECES[piece];
            match how {
                0 => { f.gap(dir, 17); }
                1 => { f.send_cut(dir, bytes, 40); }
                _ => { f.send(dir, bytes); }
            }
        }
        let out = f.finish();
        for (i, e) in out.exchanges.iter().enumerate() {
            prop_assert_eq!(e.id, ExchId(i as u32));
            prop_assert!(e.request.is_some() || e.response.is_some());
        }
        for d in &out.diagnostics {
            if let Some(ExchId(x)) = d.exchange {
                prop_assert!((x as usize) < out.exchanges.len());
            }
        }
    }
}
