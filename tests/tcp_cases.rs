//! TCP reassembly cases no public capture shows, on synthetic captures whose every byte the
//! test wrote: the expected values are the bytes and frames the test put in.

mod common;

use common::synth::{client, server, Capture};
use lyncscope::model::{Analysis, CaptureState};
use lyncscope::{analyze, Options};
use sha2::{Digest, Sha256};

fn body(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn response(body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: example.test\r\n\r\n").into_bytes()
}

fn analyze_caps(caps: &[&Capture]) -> Analysis {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<_> = caps
        .iter()
        .enumerate()
        .map(|(i, c)| c.write(dir.path(), &format!("c{i}.pcap")))
        .collect();
    analyze(&paths, &Options::default(), &mut ()).unwrap()
}

fn sha(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

#[test]
fn sequence_numbers_wrapping_around_2_pow_32() {
    let mut cap = Capture::new();
    let (mut c, mut s) = (client(40000, 0xFFFF_FF00), server(0xFFFF_FFF0));
    cap.connect(&mut c, &mut s);
    let mut req =
        b"POST /upload HTTP/1.1\r\nHost: example.test\r\nContent-Length: 1000\r\n\r\n".to_vec();
    let up = body(1000, 7);
    req.extend_from_slice(&up);
    cap.send(&mut c, &mut s, &req, 300);
    let down = body(5000, 3);
    cap.send(&mut s, &mut c, &response(&down), 1400);
    cap.close(&mut c, &mut s);
    let a = analyze_caps(&[&cap]);
    assert_eq!(a.exchanges.len(), 1);
    let e = &a.exchanges[0];
    assert_eq!(e.capture, CaptureState::Full);
    let r = e.request.as_ref().unwrap();
    assert_eq!((r.method.as_ref(), r.target.as_str()), ("POST", "/upload"));
    assert_eq!(r.body.wire_sha256(), Some(sha(&up)));
    let resp = e.response.as_ref().unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body.wire_length, 5000);
    assert_eq!(resp.body.decoded_sha256(), Some(sha(&down)));
    assert!(a.connections[0].handshake);
}

#[test]
fn a_reused_four_tuple_is_a_new_connection() {
    let mut cap = Capture::new();
    for (isn, path) in [(1000u32, "/first"), (900_000u32, "/second")] {
        let (mut c, mut s) = (client(40001, isn), server(isn.wrapping_mul(3)));
        cap.connect(&mut c, &mut s);
        cap.send(&mut c, &mut s, &get(path), 1400);
        cap.send(&mut s, &mut c, &response(b"hello"), 1400);
        cap.close(&mut c, &mut s);
        cap.wait(1_000_000);
    }
    let a = analyze_caps(&[&cap]);
    assert_eq!(a.connections.len(), 2);
    let targets: Vec<_> = a
        .exchanges
        .iter()
        .map(|e| {
            (
                e.connection.0,
                e.request.as_ref().unwrap().target.clone(),
                e.capture,
            )
        })
        .collect();
    assert_eq!(
        targets,
        vec![
            (0, "/first".to_string(), CaptureState::Full),
            (1, "/second".to_string(), CaptureState::Full)
        ]
    );
}

#[test]
fn out_of_order_and_retransmitted_segments_keep_the_body_intact() {
    let mut cap = Capture::new();
    let (mut c, mut s) = (client(40002, 5000), server(70000));
    cap.connect(&mut c, &mut s);
    cap.send(&mut c, &mut s, &get("/x"), 1400);
    let down = body(4000, 9);
    let resp = response(&down);
    // Server sends three segments; the capture sees them as 1, 3, 2, then 2 again.
    let parts: Vec<&[u8]> = resp.chunks(1500).collect();
    assert_eq!(parts.len(), 3);
    let base = s.seq;
    let offs = [0usize, 1500, 3000];
    for i in [0usize, 2, 1, 1] {
        cap.segment_at(base.wrapping_add(offs[i] as u32), &s, &c, "AP", parts[i]);
    }
    s.seq = base.wrapping_add(resp.len() as u32);
    cap.segment(&mut c, &s, "A", b"");
    cap.close(&mut c, &mut s);
    let a = analyze_caps(&[&cap]);
    let e = &a.exchanges[0];
    assert_eq!(e.capture, CaptureState::Full);
    assert_eq!(
        e.response.as_ref().unwrap().body.decoded_sha256(),
        Some(sha(&down))
    );
}

#[test]
fn a_lost_segment_is_a_gap_on_the_connection_and_the_exchange_and_the_next_exchange_is_intact() {
    let mut cap = Capture::new();
    let (mut c, mut s) = (client(40003, 1), server(2));
    cap.connect(&mut c, &mut s);
    cap.send(&mut c, &mut s, &get("/broken"), 1400);
    let first = cap.frame_count();
    cap.send(&mut s, &mut c, &response(&body(3000, 1)), 1000);
    // The second data segment of the response is lost (its ACK from the client is not).
    cap.drop_frame(first + 2);
    cap.send(&mut c, &mut s, &get("/fine"), 1400);
    let fine = body(100, 2);
    cap.send(&mut s, &mut c, &response(&fine), 1000);
    cap.close(&mut c, &mut s);
    let a = analyze_caps(&[&cap]);
    assert_eq!(a.exchanges.len(), 2, "{:#?}", a.diagnostics);
    let broken = &a.exchanges[0];
    assert_eq!(broken.capture, CaptureState::Truncated);
    assert_eq!(broken.response.as_ref().unwrap().body.wire_sha256(), None);
    let ok = &a.exchanges[1];
    assert_eq!(ok.request.as_ref().unwrap().target, "/fine");
    assert_eq!(ok.capture, CaptureState::Full);
    assert_eq!(
        ok.response.as_ref().unwrap().body.decoded_sha256(),
        Some(sha(&fine))
    );
    assert!(a.connections[0].missing_bytes[1] >= 1000);
    assert!(
        a.diagnostics
            .iter()
            .any(|d| d.connection == Some(a.connections[0].id) && d.exchange.is_none()),
        "a diagnostic on the connection: {:#?}",
        a.diagnostics
    );
    assert!(
        a.diagnostics.iter().any(|d| d.exchange == Some(broken.id)),
        "a diagnostic on the exchange: {:#?}",
        a.diagnostics
    );
}

#[test]
fn a_frame_cut_by_the_snapshot_length_leaves_a_hole() {
    let mut cap = Capture::new();
    let (mut c, mut s) = (client(40004, 10), server(20));
    cap.connect(&mut c, &mut s);
    cap.send(&mut c, &mut s, &get("/big"), 1400);
    let resp = response(&body(2500, 4));
    for part in resp.chunks(1000) {
        cap.segment(&mut s, &c, "AP", part);
    }
    // The last response segment is cut to its headers plus 100 payload bytes
    // (14 Ethernet + 20 IPv4 + 20 TCP).
    cap.cut_last(14 + 20 + 20 + 100);
    cap.segment(&mut c, &s, "A", b"");
    cap.close(&mut c, &mut s);
    let a = analyze_caps(&[&cap]);
    let e = &a.exchanges[0];
    assert_eq!(e.capture, CaptureState::Truncated);
    // The last segment carried 2500 + head - 2000 bytes; all but 100 are missing.
    let total = response(&body(2500, 4)).len() as u64;
    assert_eq!(a.connections[0].missing_bytes[1], total - 2000 - 100);
}

#[test]
fn several_files_are_merged_by_timestamp() {
    let mut cap = Capture::new();
    let (mut c, mut s) = (client(40005, 77), server(88));
    cap.connect(&mut c, &mut s);
    for i in 0..3 {
        cap.send(&mut c, &mut s, &get(&format!("/p{i}")), 1400);
        cap.send(&mut s, &mut c, &response(&body(3000, i)), 1000);
    }
    cap.close(&mut c, &mut s);
    let whole = analyze_caps(&[&cap]);
    let (a, b) = cap.split_alternating();
    let merged = analyze_caps(&[&a, &b]);
    assert_eq!(merged.frames, whole.frames);
    assert_eq!(merged.exchanges.len(), 3);
    for (m, w) in merged.exchanges.iter().zip(&whole.exchanges) {
        assert_eq!(m.request, w.request);
        assert_eq!(m.response, w.response);
        assert_eq!(m.capture, CaptureState::Full);
        assert_eq!(m.timing, w.timing);
    }
}

#[test]
fn a_capture_that_starts_after_the_request_keeps_the_response() {
    let mut cap = Capture::new();
    let (mut c, mut s) = (client(40006, 1000), server(2000));
    cap.connect(&mut c, &mut s);
    cap.send(&mut c, &mut s, &get("/before"), 1400);
    let started = cap.frame_count();
    let down = body(500, 5);
    cap.send(&mut s, &mut c, &response(&down), 1400);
    cap.send(&mut c, &mut s, &get("/after"), 1400);
    cap.send(&mut s, &mut c, &response(b"ok"), 1400);
    cap.close(&mut c, &mut s);
    for _ in 0..started {
        cap.drop_frame(0);
    }
    let a = analyze_caps(&[&cap]);
    assert!(!a.connections[0].handshake);
    assert_eq!(a.exchanges.len(), 2, "{:#?}", a.exchanges);
    assert_eq!(a.exchanges[0].capture, CaptureState::ResponseOnly);
    assert!(a.exchanges[0].request.is_none());
    assert_eq!(
        a.exchanges[0]
            .response
            .as_ref()
            .unwrap()
            .body
            .decoded_sha256(),
        Some(sha(&down))
    );
    assert_eq!(a.exchanges[1].request.as_ref().unwrap().target, "/after");
    assert_eq!(a.exchanges[1].capture, CaptureState::Full);
    // The client is still the side that sent requests, though no SYN was seen.
    assert_eq!(a.connections[0].server.port(), 80);
}
