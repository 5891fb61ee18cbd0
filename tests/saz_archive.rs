//! The SAZ reader against the corpus archives (their MANIFEST and reference JSON) and
//! hand-made zips, and SAZ export read back.

mod common;

use lyncscope::archive::saz::{is_saz, read_saz, read_saz_from};
use lyncscope::archive::Imported;
use lyncscope::http::HttpOptions;
use lyncscope::model::*;
use lyncscope::report::export::write_saz;
use lyncscope::testkit::AnalysisBuilder;
use std::io::Cursor;
use std::io::{Read, Write};
use std::path::Path;

fn opts() -> HttpOptions {
    HttpOptions {
        keep_body_max: 16 << 20,
        ..HttpOptions::default()
    }
}

fn load(name: &str, password: Option<&str>) -> Option<Imported> {
    let path = common::corpus_file("saz")?.join(name);
    Some(read_saz(&path, password, &opts()).unwrap_or_else(|e| panic!("{name}: {e}")))
}

fn sessions(imp: &Imported) -> usize {
    let mut origins: Vec<String> = imp
        .exchanges
        .iter()
        .filter_map(|e| e.annotations.as_deref().map(|a| a.origin.to_string()))
        .collect();
    origins.sort_unstable();
    origins.dedup();
    origins.len()
}

/// (method, target, status) of each exchange, sorted: a multiset.
fn triples(imp: &Imported) -> Vec<(String, String, Option<u64>)> {
    let mut v: Vec<_> = imp
        .exchanges
        .iter()
        .filter_map(|e| {
            let r = e.request.as_ref()?;
            Some((
                r.method.to_string(),
                r.target.clone(),
                e.response.as_ref().map(|r| u64::from(r.status)),
            ))
        })
        .collect();
    v.sort();
    v
}

fn reference(corpus: &Path, json: &str) -> (u64, Vec<(String, String, Option<u64>)>) {
    let text = std::fs::read_to_string(corpus.join("reference/saz").join(json)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut reqs: Vec<_> = v["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap().to_string(),
                r["uri"].as_str().unwrap().to_string(),
                r["response"]["status"].as_u64(),
            )
        })
        .collect();
    reqs.sort();
    (v["sessions"].as_u64().unwrap(), reqs)
}

/// Session counts from corpus/saz/MANIFEST.md.
const MANIFEST: [(&str, usize); 17] = [
    ("office-inspectors_NewCaseName_Coauth.saz", 220),
    ("office-inspectors_NewCaseName.saz", 56),
    ("httpbin-test.saz", 6),
    ("images.saz", 3),
    ("nekoxy2_websocket.saz", 2),
    ("nekoxy2_abehiroshi.saz", 5),
    ("real-saz2har_demo.saz", 1),
    ("saz2jmx_test.saz", 14),
    ("fluxzy_testarchive.saz", 71),
    ("companion_session.saz", 420),
    ("oinspector_oidc-authorization-code-request.saz", 1),
    ("oinspector_oidc-authorization-code-response-nc.saz", 1),
    ("oinspector_oidc-authorization-code-grant-nc.saz", 1),
    ("oinspector_oauth-jwt-webapi-request.saz", 1),
    ("node-saz-parser_multipleSessions.handmade.saz", 4),
    ("node-saz-parser_simple.handmade.saz", 1),
    ("saz-viewer_sample.handmade.saz", 4),
];

#[test]
fn corpus_matches_manifest_and_reference() {
    let Some(dir) = common::corpus() else { return };
    for (name, count) in MANIFEST {
        let imp = load(name, None).unwrap();
        assert_eq!(sessions(&imp), count, "{name}: session count");
        let (ref_sessions, ref_triples) = reference(&dir, &format!("{name}.json"));
        assert_eq!(
            ref_sessions as usize, count,
            "{name}: reference session count"
        );
        assert_eq!(triples(&imp), ref_triples, "{name}: (method, uri, status)");
        for (i, e) in imp.exchanges.iter().enumerate() {
            assert_eq!(e.id, ExchId(i as u32));
            assert!(imp.connections[e.connection.0 as usize]
                .exchanges
                .contains(&e.id));
        }
    }
}

#[test]
fn password_archives() {
    let Some(dir) = common::corpus() else { return };
    let (_, want) = reference(&dir, "nekoxy2_websocket.saz.json");
    for kind in ["aes256", "aes128", "zipcrypto"] {
        let name = format!("synthetic/nekoxy2_websocket.{kind}.pw-fiddler.saz");
        let imp = load(&name, Some("fiddler")).unwrap();
        assert_eq!(sessions(&imp), 2, "{name}");
        assert_eq!(triples(&imp), want, "{name}");
        let path = dir.join("saz").join(&name);
        for pw in [None, Some("wrong"), Some("Fiddler")] {
            let err = read_saz(&path, pw, &opts()).expect_err(&name).to_string();
            assert!(err.contains("password"), "{name} {pw:?}: {err}");
        }
    }
}

fn xml_attr_text<'a>(xml: &'a str, name: &str) -> &'a str {
    let key = format!(" {name}=\"");
    let start = xml.find(&key).unwrap() + key.len();
    let len = xml[start..].find('"').unwrap();
    &xml[start..start + len]
}

#[test]
fn timings_follow_session_timers() {
    let Some(dir) = common::corpus() else { return };
    let imp = load("httpbin-test.saz", None).unwrap();
    // The _m.xml of session 2, read by hand.
    let file = std::fs::File::open(dir.join("saz/httpbin-test.saz")).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut xml = String::new();
    zip.by_name("raw/2_m.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    // Epoch nanoseconds of those texts (converted independently with Python).
    let facts = [
        (
            "ClientBeginRequest",
            "2025-08-30T11:34:28.6859373-07:00",
            1756578868685937300,
        ),
        (
            "ClientDoneRequest",
            "2025-08-30T11:34:28.686944-07:00",
            1756578868686944000,
        ),
        (
            "ServerBeginResponse",
            "2025-08-30T11:34:28.8119049-07:00",
            1756578868811904900,
        ),
        (
            "ClientDoneResponse",
            "2025-08-30T11:34:28.8119049-07:00",
            1756578868811904900,
        ),
    ];
    for (name, text, _) in facts {
        assert_eq!(xml_attr_text(&xml, name), text);
    }
    let ex = imp
        .exchanges
        .iter()
        .find(|e| e.annotations.as_ref().unwrap().origin == "SAZ session 2")
        .unwrap();
    let t = &ex.timing;
    let got = [
        t.request_start(),
        t.request_end(),
        t.response_start(),
        t.response_end(),
    ];
    for ((_, _, nanos), a) in facts.iter().zip(got) {
        assert_eq!(a.map(|a| a.ts), Some(Ts(*nanos)));
        assert_eq!(a.unwrap().frame, FrameNo(0));
    }
    let ann = ex.annotations.as_deref().unwrap();
    assert_eq!(
        ann.timers.len(),
        12,
        "16 timers minus the 4 millisecond ones"
    );
    assert!(ann
        .flags
        .iter()
        .any(|(n, v)| n == "x-clientport" && v == "64971"));
    assert_eq!(ex.scheme, Scheme::Https);
    // /stream/5 is chunked: de-chunked bytes are kept.
    let body = &ex.response.as_ref().unwrap().body;
    assert!(body.complete && body.wire_kept.is_some());
    assert_eq!(
        imp.connections[ex.connection.0 as usize].client.to_string(),
        "127.0.0.1:64971"
    );
}

#[test]
fn websocket_messages_and_connect() {
    let Some(imp) = load("nekoxy2_websocket.saz", None) else {
        return;
    };
    let connect = &imp.exchanges[0];
    assert_eq!(connect.request.as_ref().unwrap().method, "CONNECT");
    assert!(connect.annotations.as_ref().unwrap().generated_by_proxy);
    let ws = &imp.exchanges[1];
    assert_eq!(ws.response.as_ref().unwrap().status, 101);
    let ann = ws.annotations.as_deref().unwrap();
    assert!(!ann.generated_by_proxy);
    // Session 2 went through session 1's CONNECT tunnel.
    assert_eq!(ws.tunnel.map(|t| t.connect()), Some(connect.id));
    // raw/2_w.txt: three masked client text frames, echoes, close from both sides.
    let got: Vec<(bool, &str, &[u8])> = ann
        .websocket
        .iter()
        .map(|m| (m.from_client, m.kind.as_str(), &m.payload[..]))
        .collect();
    let want: Vec<(bool, &str, &[u8])> = vec![
        (true, "text", b"Rock it with HTML5 WebSocket"),
        (false, "text", b"Rock it with HTML5 WebSocket"),
        (true, "text", b"hogee"),
        (false, "text", b"hogee"),
        (true, "close", b""),
        (false, "close", b""),
    ];
    assert_eq!(got, want);
    // DoneRead of the first record: 2018-11-26T17:07:03.6899253+09:00.
    assert_eq!(ann.websocket[0].ts, Some(Ts(1543219623689925300)));
    assert_eq!(connect.connection, ws.connection);
}

fn roundtrip(name: &str) {
    let Some(imp) = load(name, None) else { return };
    let analysis = AnalysisBuilder::new()
        .exchanges(imp.exchanges.clone())
        .connections(imp.connections.clone())
        .build();
    let mut buf = Cursor::new(Vec::new());
    write_saz(&analysis, None, &mut buf).unwrap();
    let back = read_saz_from(Cursor::new(buf.into_inner()), None, &opts()).unwrap();
    assert_eq!(back.exchanges.len(), imp.exchanges.len(), "{name}");
    for (a, b) in imp.exchanges.iter().zip(&back.exchanges) {
        let (ra, rb) = (a.request.as_ref().unwrap(), b.request.as_ref().unwrap());
        assert_eq!(
            (&ra.method, &ra.target, &ra.headers),
            (&rb.method, &rb.target, &rb.headers)
        );
        assert_eq!(
            ra.body.wire_sha256(),
            rb.body.wire_sha256(),
            "{name} {}",
            ra.target
        );
        assert_eq!(ra.body.decoded_sha256(), rb.body.decoded_sha256());
        match (&a.response, &b.response) {
            (Some(x), Some(y)) => {
                assert_eq!(x.status, y.status);
                assert_eq!(x.reason, y.reason);
                let chunked = x.headers.get("transfer-encoding").is_some();
                if !chunked {
                    assert_eq!(x.headers, y.headers, "{name} {}", ra.target);
                }
                assert_eq!(
                    x.body.wire_sha256(),
                    y.body.wire_sha256(),
                    "{name} {}",
                    ra.target
                );
                assert_eq!(x.body.decoded_sha256(), y.body.decoded_sha256());
            }
            (None, None) => {}
            _ => panic!("{name}: response presence differs"),
        }
        let us = |t: Option<Arrival>| t.map(|a| a.ts.0 / 1000);
        for (x, y) in [
            (a.timing.request_start(), b.timing.request_start()),
            (a.timing.request_end(), b.timing.request_end()),
            (a.timing.response_start(), b.timing.response_start()),
            (a.timing.response_end(), b.timing.response_end()),
        ] {
            assert_eq!(us(x), us(y), "{name}");
        }
        let (aa, ab) = (
            a.annotations.as_deref().unwrap(),
            b.annotations.as_deref().unwrap(),
        );
        assert_eq!(aa.websocket, ab.websocket);
        assert_eq!(aa.generated_by_proxy, ab.generated_by_proxy);
        assert_eq!(a.scheme, b.scheme);
    }
    assert_eq!(back.connections.len(), imp.connections.len());
}

#[test]
fn roundtrip_httpbin() {
    roundtrip("httpbin-test.saz");
}

#[test]
fn roundtrip_images() {
    roundtrip("images.saz");
}

#[test]
fn roundtrip_websocket() {
    roundtrip("nekoxy2_websocket.saz");
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default();
    for (name, data) in entries {
        zip.start_file(*name, o).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn hostile_entries_become_diagnostics() {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in [
        ("../evil", &b"x"[..]),
        ("/etc/passwd", b"x"),
        ("raw/../../evil_c.txt", b"GET / HTTP/1.1\r\n\r\n"),
        (
            "raw/1_c.txt",
            b"GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n",
        ),
        ("raw/1_s.txt", b"HTTP/1.1 204 No Content\r\n\r\n"),
        (
            "raw/1_m.xml",
            b"<Session SID='1'><SessionTimers ClientBeginRequest='2020",
        ),
        (
            "raw/3_c.txt",
            b"GET http://c.example/ HTTP/1.1\r\nHost: c.example\r\n\r\n",
        ),
    ] {
        zip.start_file(name, o).unwrap();
        zip.write_all(data).unwrap();
    }
    // Bomb-like: 65 MiB of zeros deflate to ~65 KiB.
    zip.start_file("raw/2_c.txt", o.large_file(false)).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..65 {
        zip.write_all(&zeros).unwrap();
    }
    let bytes = zip.finish().unwrap().into_inner();
    let imp = read_saz_from(Cursor::new(bytes), None, &opts()).unwrap();
    let msgs: Vec<&str> = imp.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("\"../evil\"") && m.contains("unsafe")),
        "{msgs:?}"
    );
    assert!(msgs.iter().any(|m| m.contains("/etc/passwd")), "{msgs:?}");
    assert!(
        msgs.iter()
            .any(|m| m.contains("session 2") && m.contains("limit")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("session 1") && m.contains("well-formed")),
        "{msgs:?}"
    );
    // Sessions 1 and 3 load; 1 without timers.
    assert_eq!(triples(&imp).len(), 2);
    assert_eq!(imp.exchanges[0].timing, Timing::default());
    assert!(imp.exchanges[0].annotations.is_some());
    // Session 3 has no response file.
    assert_eq!(imp.exchanges[1].capture, CaptureState::NoResponse);
}

#[test]
fn truncated_archive_is_an_error() {
    let Some(dir) = common::corpus() else { return };
    let bytes = std::fs::read(dir.join("saz/httpbin-test.saz")).unwrap();
    assert!(is_saz(&bytes));
    let cut = bytes[..bytes.len() / 2].to_vec();
    let err = read_saz_from(Cursor::new(cut), None, &opts()).unwrap_err();
    assert!(err.contains("zip"), "{err}");
    assert!(!is_saz(b"\x0a\x0d\x0d\x0a"));
    assert!(is_saz(b"PK\x05\x06"));
}

#[test]
fn numbering_is_by_digit_string() {
    // Third-party archives number from 0 and pad freely; order is numeric.
    let bytes = zip_of(&[
        ("raw/10_c.txt", b"GET http://x/10 HTTP/1.1\r\n\r\n"),
        ("RAW/9_C.TXT", b"GET http://x/9 HTTP/1.1\r\n\r\n"),
        ("raw/0_c.txt", b"GET http://x/0 HTTP/1.1\r\n\r\n"),
        (
            "raw/9_s.txt",
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ),
    ]);
    let imp = read_saz_from(Cursor::new(bytes), None, &opts()).unwrap();
    let targets: Vec<&str> = imp
        .exchanges
        .iter()
        .map(|e| e.request.as_ref().unwrap().target.as_str())
        .collect();
    assert_eq!(targets, ["http://x/0", "http://x/9", "http://x/10"]);
    assert_eq!(imp.exchanges[1].response.as_ref().unwrap().status, 200);
}

/// A CONNECT Fiddler did not decrypt: its `raw/07_c.txt` names `server_name
/// github.githubassets.com` (ClientHello) and `07_s.txt` the ServerHello's `Version: 3.3
/// (TLS/1.2)`, `Cipher: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 [0xC02F]` and `ALPN h2`.
#[test]
fn blind_connect_hellos_become_the_connections_tls_facts() {
    let Some(imp) = load("saz2jmx_test.saz", None) else {
        return;
    };
    let connect = imp
        .exchanges
        .iter()
        .find(|e| {
            e.request
                .as_ref()
                .is_some_and(|r| r.target == "github.githubassets.com:443")
        })
        .unwrap();
    let tls = imp.connections[connect.connection.0 as usize]
        .tls
        .as_ref()
        .unwrap();
    assert_eq!(tls.sni.as_deref(), Some("github.githubassets.com"));
    assert_eq!(tls.version.as_deref(), Some("TLS 1.2"));
    assert_eq!(
        tls.cipher_suite.as_deref(),
        Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    );
    assert_eq!(tls.alpn.as_deref(), Some("h2"));
    assert!(!tls.decrypted);
    assert!(tls.reason.is_some());
}
