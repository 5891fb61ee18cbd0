//! HTTP/2 captures made for these tests by real peers (tests/data/h2/make-captures.sh, what
//! each holds in tests/data/h2/README.md), each exchange compared with the client's own record
//! of what it sent and received: curl's write-out and trace (`*.curl.json`) or the python-h2
//! client's log (`*.client.json`). Never with lyncscope's own output.

mod common;

use lyncscope::model::{CaptureState, ConnId, Exchange, HttpVersion, Severity, Upgrade};
use lyncscope::{analyze, Analysis, Options};
use serde_json::Value;

fn load(name: &str, keylog: bool) -> Analysis {
    let cap = common::data(&format!("h2/{name}.pcap"));
    let mut o = Options::default();
    if keylog {
        o.keylogs.push(common::data(&format!("h2/{name}.keys.txt")));
    }
    analyze(&[cap], &o, &mut ()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn record(file: &str) -> Value {
    let text = std::fs::read_to_string(common::data(&format!("h2/{file}"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn hex(d: Option<[u8; 32]>) -> String {
    d.map(|d| d.iter().map(|b| format!("{b:02x}")).collect())
        .unwrap_or_default()
}

/// The connections in the order they opened (as the clients opened them, one after another).
fn connections(a: &Analysis) -> Vec<ConnId> {
    let mut ids: Vec<ConnId> = a.exchanges.iter().map(|x| x.connection).collect();
    ids.sort_by_key(|c| a.connection(*c).first_frame.0);
    ids.dedup();
    ids
}

fn stream_id(x: &Exchange) -> Option<u32> {
    x.stream.as_ref().map(|s| s.id)
}

fn find(a: &Analysis, conn: ConnId, stream: u32) -> &Exchange {
    a.exchanges
        .iter()
        .find(|x| x.connection == conn && stream_id(x) == Some(stream))
        .unwrap_or_else(|| panic!("no exchange for stream {stream} on {conn:?}"))
}

/// Every response header curl received (its `%{header_json}`) is on our exchange with the
/// same value, and we show none it did not receive (but `:status`).
fn same_response_headers(x: &Exchange, want: &Value, what: &str) {
    let got = &x.response.as_ref().expect("response").headers;
    let want = want.as_object().unwrap();
    for (name, values) in want {
        for v in values.as_array().unwrap() {
            assert!(
                got.iter()
                    .any(|(n, gv)| n.eq_ignore_ascii_case(name) && gv == v.as_str().unwrap()),
                "{what}: header {name}: {v} missing"
            );
        }
    }
    for (n, _) in got.iter() {
        assert!(
            n == ":status" || want.contains_key(&n.to_ascii_lowercase()),
            "{what}: header {n} curl did not receive"
        );
    }
}

/// curl's transfers (`--parallel` on one connection, then one per run): stream id, method,
/// path, status, body bytes on the wire (`size_download`), the body it saved (decoded with
/// `--compressed`) and every response header.
fn check_curl(name: &str) -> Analysis {
    let a = load(name, true);
    let rec = record(&format!("{name}.curl.json"));
    let conns = connections(&a);
    let mut conn_index: isize = -1;
    for t in rec["transfers"].as_array().unwrap() {
        conn_index += t["num_connects"].as_i64().unwrap() as isize;
        let conn = conns[conn_index as usize];
        let sid = t["stream_id"].as_u64().unwrap() as u32;
        let what = format!("{name}: {} stream {sid}", t["path"]);
        let x = find(&a, conn, sid);
        assert_eq!(x.http_version, HttpVersion::Http2, "{what}");
        let r = x.request.as_ref().expect("request");
        assert_eq!(r.method, t["method"].as_str().unwrap(), "{what}");
        assert_eq!(r.target, t["path"].as_str().unwrap(), "{what}");
        let p = x.response.as_ref().expect("response");
        assert_eq!(u64::from(p.status), t["status"].as_u64().unwrap(), "{what}");
        assert_eq!(
            p.body.wire_length,
            t["size_download"].as_u64().unwrap(),
            "{what}: wire body"
        );
        assert!(p.body.complete, "{what}: complete");
        assert_eq!(
            p.body.decoded_length,
            t["body_length"].as_u64(),
            "{what}: decoded body"
        );
        assert_eq!(
            hex(p.body.content.decoded_sha256()),
            t["body_sha256"].as_str().unwrap(),
            "{what}: decoded body digest"
        );
        same_response_headers(x, &t["headers"], &what);
    }
    assert_eq!(
        a.exchanges.len(),
        rec["transfers"].as_array().unwrap().len(),
        "{name}: one exchange per transfer"
    );
    a
}

/// Two streams of the first connection were open at the same time (curl `--parallel`).
fn interleaved(a: &Analysis) -> bool {
    let c = connections(a)[0];
    let spans: Vec<(u64, u64)> = a
        .exchanges
        .iter()
        .filter(|x| x.connection == c)
        .filter_map(|x| {
            Some((
                x.timing.request_start()?.frame.0,
                x.timing.response_end()?.frame.0,
            ))
        })
        .collect();
    spans
        .iter()
        .enumerate()
        .any(|(i, s)| spans[i + 1..].iter().any(|t| s.0 < t.1 && t.0 < s.1))
}

fn diagnostics(a: &Analysis) -> Vec<(Severity, &str)> {
    a.diagnostics
        .iter()
        .map(|d| (d.severity, d.message.as_str()))
        .collect()
}

#[test]
fn tls13_parallel_streams_big_body_gzip_head_and_304_match_curls_record() {
    let a = check_curl("tls13-parallel");
    assert!(interleaved(&a), "streams interleaved on one connection");
    let head = a
        .exchanges
        .iter()
        .find(|x| x.request.as_ref().is_some_and(|r| r.method == "HEAD"))
        .unwrap();
    // HEAD: the response names a length it has no body for.
    let p = head.response.as_ref().unwrap();
    assert!(p.headers.get("content-length").is_some() && p.body.wire_length == 0);
    assert!(
        diagnostics(&a).iter().all(|(s, _)| *s == Severity::Info),
        "{:?}",
        diagnostics(&a)
    );
}

#[test]
fn tls12_parallel_streams_match_curls_record() {
    // Four streams on one connection (curl sent each small request after the last answer:
    // not interleaved here, unlike the TLS 1.3 capture).
    let a = check_curl("tls12-parallel");
    assert_eq!(connections(&a).len(), 1);
    assert!(a.diagnostics.is_empty(), "{:?}", diagnostics(&a));
}

/// The python-h2 client's log: stream id, method, path, request body, status, every response
/// header and trailer, the response body's length and digest.
fn check_client_log(a: &Analysis, name: &str) -> Value {
    let rec = record(&format!("{name}.client.json"));
    let conn = connections(a)[0];
    for s in rec["streams"].as_array().unwrap() {
        let sid = s["stream_id"].as_u64().unwrap() as u32;
        let what = format!("{name}: stream {sid}");
        let x = find(a, conn, sid);
        assert_eq!(x.http_version, HttpVersion::Http2, "{what}");
        let r = x.request.as_ref().expect("request");
        assert_eq!(r.method, s["method"].as_str().unwrap(), "{what}");
        assert_eq!(r.target, s["path"].as_str().unwrap(), "{what}");
        for h in s["request_headers"].as_array().unwrap() {
            let (n, v) = (h[0].as_str().unwrap(), h[1].as_str().unwrap());
            assert_eq!(r.headers.get(n), Some(v), "{what}: request {n}");
        }
        assert_eq!(
            r.body.wire_length,
            s["request_body_length"].as_u64().unwrap(),
            "{what}"
        );
        assert_eq!(
            hex(r.body.content.wire_sha256()),
            s["request_body_sha256"].as_str().unwrap(),
            "{what}: request body"
        );
        if s["status"].is_null() {
            assert!(x.response.is_none(), "{what}: the client got no response");
            continue;
        }
        let p = x.response.as_ref().expect("response");
        assert_eq!(u64::from(p.status), s["status"].as_u64().unwrap(), "{what}");
        let fields: Vec<&Value> = s["response_headers"]
            .as_array()
            .unwrap()
            .iter()
            .chain(s["trailers"].as_array().into_iter().flatten())
            .collect();
        let got: Vec<(&str, &str)> = p.headers.iter().collect();
        assert_eq!(
            got.len(),
            fields.len(),
            "{what}: response fields + trailers"
        );
        for (g, w) in got.iter().zip(&fields) {
            assert_eq!(g.0, w[0].as_str().unwrap(), "{what}");
            assert_eq!(g.1, w[1].as_str().unwrap(), "{what}: {}", g.0);
        }
        assert_eq!(
            p.body.wire_length,
            s["response_body_length"].as_u64().unwrap(),
            "{what}"
        );
        assert_eq!(
            hex(p.body.content.decoded_sha256()),
            s["response_body_sha256"].as_str().unwrap(),
            "{what}: response body"
        );
        assert_eq!(s["ended"].as_bool(), Some(p.body.complete), "{what}");
    }
    rec
}

#[test]
fn h2c_prior_knowledge_trailers_continuation_and_post_match_the_clients_log() {
    let a = load("h2c-prior-knowledge", false);
    let rec = check_client_log(&a, "h2c-prior-knowledge");
    assert_eq!(a.exchanges.len(), rec["streams"].as_array().unwrap().len());
    assert!(
        a.diagnostics.iter().all(|d| d.severity == Severity::Info),
        "{:?}",
        diagnostics(&a)
    );
}

#[test]
fn goaway_mid_way_names_the_streams_never_processed() {
    let a = load("goaway", false);
    let rec = check_client_log(&a, "goaway");
    let g = &rec["goaway"];
    let unanswered: Vec<String> = rec["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"].is_null())
        .map(|s| s["stream_id"].to_string())
        .collect();
    let want = format!(
        "the server sent GOAWAY ({}), last stream processed {}: streams {} were never processed",
        g["error"].as_str().unwrap(),
        g["last_stream_id"],
        unanswered.join(", ")
    );
    assert!(
        a.diagnostics.iter().any(|d| d.message.contains(&want)),
        "{want}\n{:?}",
        diagnostics(&a)
    );
}

#[test]
fn upgrade_h2c_streams_match_curls_record() {
    let a = load("upgrade-h2c", false);
    let rec = record("upgrade-h2c.curl.json");
    let t = rec["transfers"].as_array().unwrap();
    // The first URL went as HTTP/1.1 with `Upgrade: h2c`, answered 101 (the HTTP/1.1
    // exchange, as tshark pairs it), then on stream 1 (RFC 9113 section 3.2), whose exchange
    // holds a copy of that request; the second reused the connection as stream 3.
    let up = &a.exchanges[0];
    let r = up.request.as_ref().unwrap();
    assert_eq!(
        (r.method.as_ref(), r.target.as_str()),
        ("GET", t[0]["path"].as_str().unwrap())
    );
    assert_eq!(r.headers.get("upgrade"), Some("h2c"));
    assert_eq!(up.response.as_ref().unwrap().status, 101);
    assert_eq!(up.upgrade, Some(Upgrade::Protocol("h2c".into())));
    let conn = up.connection;
    assert_eq!(
        t[0]["stream_id"],
        Value::Null,
        "curl names no stream for the upgrade"
    );
    for (sid, t) in [(1, &t[0]), (3, &t[1])] {
        let what = format!("stream {sid}");
        let x = find(&a, conn, sid);
        assert_eq!(x.http_version, HttpVersion::Http2, "{what}");
        assert_eq!(t["http_version"], "2", "{what}");
        assert_eq!(x.capture, CaptureState::Full, "{what}");
        let st = x.stream.as_ref().unwrap();
        assert_eq!(
            st.upgrade_request,
            sid == 1,
            "{what}: request copied from the upgrade"
        );
        let r = x.request.as_ref().expect("request");
        assert_eq!(r.method, t["method"].as_str().unwrap(), "{what}");
        assert_eq!(r.target, t["path"].as_str().unwrap(), "{what}");
        let p = x.response.as_ref().unwrap();
        assert_eq!(u64::from(p.status), t["status"].as_u64().unwrap(), "{what}");
        assert_eq!(p.body.wire_length, t["size_download"].as_u64().unwrap());
        assert_eq!(
            hex(p.body.content.decoded_sha256()),
            t["body_sha256"].as_str().unwrap()
        );
        same_response_headers(x, &t["headers"], &what);
        let (rq, rs) = (x.timing.request_start(), x.timing.response_start());
        assert!(
            rq.unwrap().frame < rs.unwrap().frame,
            "{what}: request first"
        );
    }
    // curl's two transfers, and the 101 tshark shows.
    assert_eq!(a.exchanges.len(), t.len() + 1);
}

#[test]
fn http_1_1_required_then_the_retry_on_http11_match_curls_record() {
    let a = load("http11-required", true);
    let rec = record("http11-required.curl.json");
    let t = &rec["transfers"][0];
    let conns = connections(&a);
    assert_eq!(conns.len() as u64, t["num_connects"].as_u64().unwrap());
    let sid = t["stream_id"].as_u64().unwrap() as u32;
    let first = find(&a, conns[0], sid);
    let reset = first.stream.as_ref().unwrap().reset.as_ref().unwrap();
    assert_eq!(reset.name, t["reset_before"].as_str().unwrap());
    assert!(!reset.by_client);
    assert!(first.response.is_none());
    let retry = a
        .exchanges
        .iter()
        .find(|x| x.connection == conns[1])
        .unwrap();
    assert_eq!(retry.http_version, HttpVersion::Http1);
    assert_eq!(t["http_version"], "1.1");
    let r = retry.request.as_ref().unwrap();
    assert_eq!(r.target, t["path"].as_str().unwrap());
    let p = retry.response.as_ref().unwrap();
    assert_eq!(u64::from(p.status), t["status"].as_u64().unwrap());
    assert_eq!(
        hex(p.body.content.decoded_sha256()),
        t["body_sha256"].as_str().unwrap()
    );
}

#[test]
fn mid_connection_capture_invents_no_header_and_marks_the_undecodable() {
    let a = load("mid-connection", false);
    let rec = record("mid-connection.client.json");
    let streams = rec["streams"].as_array().unwrap();
    assert!(
        !a.exchanges.is_empty(),
        "HTTP/2 recognised without its preface"
    );
    for x in &a.exchanges {
        let sid = stream_id(x).expect("an HTTP/2 stream");
        let s = streams
            .iter()
            .find(|s| s["stream_id"].as_u64() == Some(u64::from(sid)))
            .unwrap();
        let what = format!("stream {sid}");
        let r = x.request.as_ref().unwrap();
        let p = x.response.as_ref().unwrap();
        for (got, want) in [
            (&r.headers, &s["request_headers"]),
            (&p.headers, &s["response_headers"]),
        ] {
            for (n, v) in got.iter() {
                assert!(
                    want.as_array()
                        .unwrap()
                        .iter()
                        .any(|w| w[0] == n && w[1] == v),
                    "{what}: {n}: {v} is not what was sent"
                );
            }
        }
        // What needs no table is there: the static-table method and status, the body.
        assert_eq!(r.method, s["method"].as_str().unwrap(), "{what}");
        assert_eq!(u64::from(p.status), s["status"].as_u64().unwrap(), "{what}");
        assert_eq!(
            hex(p.body.content.decoded_sha256()),
            s["response_body_sha256"].as_str().unwrap()
        );
        // The custom header the client's encoder indexed is not guessed; it is said missing.
        assert_eq!(r.headers.get("x-session"), None, "{what}");
        assert!(
            a.diagnostics.iter().any(|d| d.exchange == Some(x.id)
                && d.message
                    .contains("request header field(s) could not be decoded")),
            "{what}: {:?}",
            diagnostics(&a)
        );
    }
    // Streams 3, 5 and 7 were in the copy (stream 1 was cut off with the start).
    let mut ids: Vec<u32> = a.exchanges.iter().filter_map(stream_id).collect();
    ids.sort_unstable();
    assert_eq!(ids, [3, 5, 7]);
}

/// The connection-level frames (stream 0) counted by type, as tshark 4.0.17 counts them
/// (`tshark -r CAP -d tcp.port==PORT,http2 -T fields -e http2.type -e http2.streamid`, the
/// types of stream 0; for the upgrade capture with `-d …,http`, as Wireshark follows the
/// 101): each side's SETTINGS and its ACK make 4; the GOAWAY the python-h2 client's log
/// records (`goaway.client.json`); curl's WINDOW_UPDATE after its preface.
#[test]
fn connection_level_frames_are_counted_per_connection() {
    let rec = record("goaway.client.json");
    assert_eq!(rec["goaway"]["error"], "NO_ERROR");
    for (name, want) in [
        ("goaway", (4, 0, 1, 0)),
        ("h2c-prior-knowledge", (4, 0, 1, 2)),
        ("upgrade-h2c", (4, 0, 0, 1)),
    ] {
        let a = load(name, false);
        let c = &a.connections[0];
        let f = c
            .h2_control
            .unwrap_or_else(|| panic!("{name}: HTTP/2 frames"));
        assert_eq!(
            (f.settings, f.ping, f.goaway, f.window_update, f.other),
            (want.0, want.1, want.2, want.3, 0),
            "{name}"
        );
        let mut out = Vec::new();
        lyncscope::report::json::write(&a, false, &mut out).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        let j = &v["connections"][0]["h2_control_frames"];
        assert_eq!(j["settings"], want.0, "{name}: JSON");
        assert_eq!(j["goaway"], want.2, "{name}: JSON");
        let row = &lyncscope::presentation::connections::connection_rows(&a)[0];
        assert!(
            row.details.iter().any(|(k, v)| *k == "HTTP/2 stream 0"
                && v.starts_with(&format!("SETTINGS {}, PING {}", want.0, want.1))),
            "{name}: {row:?}"
        );
    }
}
