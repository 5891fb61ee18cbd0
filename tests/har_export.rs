//! HAR export: every corpus HAR read, written and read again keeps its requests, responses,
//! bodies and timings, and the output passes the HAR 1.2 schema (tests/data/har/schema).

mod common;

use common::har_schema::schema_errors;

use base64::Engine;
use lyncscope::archive::har::{is_har, parse_har, read_har};
use lyncscope::archive::Imported;
use lyncscope::model::*;
use lyncscope::report::export::write_har;
use lyncscope::testkit::{arrival, AnalysisBuilder, ConnectionBuilder, ExchangeBuilder};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// (file name, entry count) from the corpus MANIFEST table.
fn manifest(dir: &Path) -> Vec<(String, usize)> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.md")).unwrap();
    text.lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cols: Vec<&str> = l.split('|').map(str::trim).collect();
            let name = cols[1].split('`').nth(1).unwrap().to_string();
            let count: String = cols[5].chars().take_while(|c| c.is_ascii_digit()).collect();
            (name, count.parse().unwrap())
        })
        .collect()
}

fn analysis_of(imp: Imported) -> Analysis {
    AnalysisBuilder::new()
        .connections(imp.connections)
        .exchanges(imp.exchanges)
        .diagnostics(imp.diagnostics)
        .build()
}

fn export(analysis: &Analysis) -> Vec<u8> {
    let mut out = Vec::new();
    write_har(analysis, None, &mut out).unwrap();
    out
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

#[test]
fn validator_rejects_what_the_schema_forbids() {
    let bad = br#"{"log":{"version":"1.2","creator":{"name":"x"},"entries":[
        {"startedDateTime":"13:00","time":1,"request":{},"response":{},"cache":{},
         "timings":{"send":0,"wait":0},"serverIPAddress":""}]}}"#;
    let Some(errors) = schema_errors(bad) else {
        return;
    };
    let text = errors.join("\n");
    for want in [
        "missing \"version\"",
        "date pattern",
        "missing \"receive\"",
        "missing \"method\"",
        "oneOf",
        "missing \"content\"",
    ] {
        assert!(text.contains(want), "{want} not in {text}");
    }
}

fn timing_ms_of(a: Option<Arrival>) -> Option<i64> {
    a.map(|a| (a.ts.0 as f64 / 1e6).round() as i64)
}

#[test]
fn corpus_round_trip_and_schema() {
    let Some(dir) = common::corpus_file("har") else {
        return;
    };
    for (name, _) in manifest(&dir) {
        let first = read_har(&dir.join(&name), None).unwrap();
        let analysis = analysis_of(first);
        let har = export(&analysis);
        if let Some(errors) = schema_errors(&har) {
            assert!(errors.is_empty(), "{name}: {errors:#?}");
        }
        let again = parse_har(&har).unwrap();
        assert_eq!(again.exchanges.len(), analysis.exchanges.len(), "{name}");
        for (a, b) in analysis.exchanges.iter().zip(&again.exchanges) {
            let (ra, rb) = (a.request.as_ref().unwrap(), b.request.as_ref().unwrap());
            assert_eq!(ra.method, rb.method, "{name}");
            assert_eq!(ra.target, rb.target, "{name}");
            assert_eq!(ra.version, rb.version, "{name}");
            assert_eq!(ra.headers, rb.headers, "{name}");
            assert_eq!(ra.body.decoded_sha256(), rb.body.decoded_sha256(), "{name}");
            match (&a.response, &b.response) {
                (Some(x), Some(y)) => {
                    assert_eq!(x.status, y.status, "{name}");
                    assert_eq!(x.reason, y.reason, "{name}");
                    assert_eq!(x.headers, y.headers, "{name}");
                    assert_eq!(x.body.decoded_sha256(), y.body.decoded_sha256(), "{name}");
                    assert_eq!(x.body.decoded_length, y.body.decoded_length, "{name}");
                }
                (None, None) => {}
                _ => panic!("{name}: response lost"),
            }
            let (ta, tb) = (&a.timing, &b.timing);
            for (x, y) in [
                (ta.request_start(), tb.request_start()),
                (ta.request_end(), tb.request_end()),
                (ta.response_start(), tb.response_start()),
                (ta.response_end(), tb.response_end()),
            ] {
                assert_eq!(timing_ms_of(x), timing_ms_of(y), "{name}");
            }
            let (aa, ab) = (
                a.annotations.as_ref().unwrap(),
                b.annotations.as_ref().unwrap(),
            );
            assert_eq!(aa.comment, ab.comment, "{name}");
            assert_eq!(aa.websocket.len(), ab.websocket.len(), "{name}");
            for (m, n) in aa.websocket.iter().zip(&ab.websocket) {
                assert_eq!(
                    (m.from_client, &m.kind, &m.payload),
                    (n.from_client, &n.kind, &n.payload)
                );
                assert_eq!(m.ts.map(|t| t.0 / 1000), n.ts.map(|t| t.0 / 1000));
            }
        }
        assert_eq!(
            again.connections.len(),
            analysis.connections.len(),
            "{name}"
        );
    }
}

fn body_of(decoded: &[u8], wire: &[u8], encoding: &[&str]) -> Body {
    Body {
        wire_length: wire.len() as u64,
        decoded_length: Some(decoded.len() as u64),
        complete: true,
        stream_offset: 0,
        stream_length: wire.len() as u64,
        content: BodyContent {
            digests: lyncscope::model::Digests::new(Some(sha256(wire)), Some(sha256(decoded))),
            content_encoding: encoding.iter().map(|e| e.to_string()).collect(),
            kept: Some(Arc::from(decoded)),
            wire_kept: Some(Arc::from(wire)),
            head: None,
        }
        .shared(),
    }
}

fn hand_made() -> Analysis {
    use flate2::write::GzEncoder;
    let text = "{\"déjà\":\"vu\"}".as_bytes();
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text).unwrap();
    let gzipped = gz.finish().unwrap();
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe";
    let t0 = 1_700_000_000_000_000_000;
    // Frame n arrives n milliseconds in.
    let at = |ms: i64| arrival(ms as u64, t0 + ms * 1_000_000);
    let conn = ConnectionBuilder::new(
        0,
        "10.0.0.2:50123".parse().unwrap(),
        "192.0.2.7:80".parse().unwrap(),
    )
    .seen(arrival(1, t0), arrival(20, t0 + 100_000_000))
    .packets(20, 4000)
    .payload([300, 2000])
    .exchanges([ExchId(0), ExchId(1)]);
    let get = |id: u32, target: &str| {
        ExchangeBuilder::new(id)
            .request("GET", target)
            .host("example.test")
            .body(body_of(b"", b"", &[]))
            .status(200)
            .reason("OK")
    };
    let exchanges = [
        get(0, "/api?x=1&y=a%20b#frag")
            .header("Cookie", "a=1; b=two")
            .response_headers([
                ("Content-Type", "application/json; charset=utf-8"),
                ("Content-Encoding", "gzip"),
                (
                    "Set-Cookie",
                    "sid=abc; Path=/; Expires=Sun, 06 Nov 2044 08:49:37 GMT; HttpOnly",
                ),
            ])
            .response_body(body_of(text, &gzipped, &["gzip"]))
            .request_times(at(10), at(11))
            .response_times(at(40), at(45)),
        get(1, "/logo.png")
            .response_header("Content-Type", "image/png")
            .response_body(body_of(png, png, &[]))
            .request_times(at(50), at(50))
            .response_times(at(70), at(100))
            .annotations(Annotations {
                origin: "SAZ session 2".into(),
                comment: Some("stage: logo".into()),
                ..Annotations::default()
            }),
    ];
    AnalysisBuilder::new()
        .connection(conn)
        .exchanges(exchanges)
        .build()
}

#[test]
fn hand_made_export_text_vs_base64() {
    let analysis = hand_made();
    let har = export(&analysis);
    if let Some(errors) = schema_errors(&har) {
        assert!(errors.is_empty(), "{errors:#?}");
    }
    let doc: Value = serde_json::from_slice(&har).unwrap();
    assert_eq!(doc["log"]["creator"]["name"], "lyncscope");
    let e0 = &doc["log"]["entries"][0];
    let e1 = &doc["log"]["entries"][1];
    // gzip on the wire, UTF-8 JSON decoded: text, decoded size, bytes saved.
    let c0 = &e0["response"]["content"];
    assert_eq!(c0["text"], "{\"déjà\":\"vu\"}");
    assert!(c0.get("encoding").is_none());
    assert_eq!(c0["size"], 15);
    let wire = analysis.exchanges[0]
        .response
        .as_ref()
        .unwrap()
        .body
        .wire_length as i64;
    assert_eq!(e0["response"]["bodySize"], wire);
    assert_eq!(c0["compression"], 15 - wire);
    // Binary: base64 of the exact bytes.
    let c1 = &e1["response"]["content"];
    assert_eq!(c1["encoding"], "base64");
    let png = b64().decode(c1["text"].as_str().unwrap()).unwrap();
    assert_eq!(png, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe");
    // URL absolute without fragment, query parsed, cookies split.
    assert_eq!(e0["request"]["url"], "http://example.test/api?x=1&y=a%20b");
    assert_eq!(e0["request"]["queryString"][1]["value"], "a b");
    assert_eq!(e0["request"]["cookies"][1]["name"], "b");
    assert_eq!(e0["request"]["cookies"][1]["value"], "two");
    let sc = &e0["response"]["cookies"][0];
    assert_eq!(
        (sc["name"].as_str(), sc["httpOnly"].as_bool()),
        (Some("sid"), Some(true))
    );
    assert_eq!(sc["expires"], "2044-11-06T08:49:37.000Z");
    // The first exchange opened the connection: its handshake is `connect`.
    assert_eq!(e0["startedDateTime"], "2023-11-14T22:13:20.000Z");
    assert_eq!(e0["timings"]["connect"], 10.0);
    assert_eq!(e0["timings"]["send"], 1.0);
    assert_eq!(e0["timings"]["wait"], 29.0);
    assert_eq!(e0["timings"]["receive"], 5.0);
    assert_eq!(e0["time"], 45.0);
    assert_eq!(e0["serverIPAddress"], "192.0.2.7");
    assert_eq!(e0["connection"], "50123");
    assert_eq!(e1["comment"], "stage: logo");
    assert_eq!(e1["timings"]["connect"], -1.0);
    // And it reads back: same bodies.
    let back = parse_har(&har).unwrap();
    for (a, b) in analysis.exchanges.iter().zip(&back.exchanges) {
        let (x, y) = (
            &a.response.as_ref().unwrap().body,
            &b.response.as_ref().unwrap().body,
        );
        assert_eq!(x.decoded_sha256(), y.decoded_sha256());
    }
    // `only` selects.
    let mut out = Vec::new();
    write_har(&analysis, Some(&[ExchId(1), ExchId(9)]), &mut out).unwrap();
    let doc: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["log"]["entries"].as_array().unwrap().len(), 1);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    /// Whatever numbers and dates an entry holds, import and export never panic.
    #[test]
    fn odd_values_never_panic(
        blocked in proptest::prelude::any::<f64>(),
        send in proptest::prelude::any::<f64>(),
        status in proptest::prelude::any::<f64>(),
        size in proptest::prelude::any::<i64>(),
        date in "[0-9T:.+Z-]{0,40}",
        time in proptest::prelude::any::<f64>(),
    ) {
        let num = |v: f64| if v.is_finite() { v.to_string() } else { "1e308".into() };
        let doc = format!(
            r#"{{"log":{{"entries":[{{"startedDateTime":"{date}","request":{{"method":"GET","url":"https://[::1]:99999/a?b"}},
            "response":{{"status":{},"content":{{"size":{size},"text":"x"}},"bodySize":{size}}},
            "timings":{{"blocked":{},"send":{},"wait":1e300,"receive":-1}},
            "_webSocketMessages":[{{"type":"send","time":{},"opcode":2,"data":"!!"}}]}}]}}}}"#,
            num(status), num(blocked), num(send), num(time)
        );
        let imp = parse_har(doc.as_bytes()).unwrap();
        let har = export(&analysis_of(imp));
        proptest::prop_assert!(parse_har(&har).is_ok());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
        let _ = is_har(&bytes);
        let _ = parse_har(&bytes);
    }
}
