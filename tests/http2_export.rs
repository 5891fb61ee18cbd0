//! HTTP/2 exchanges written out: the HAR says `HTTP/2.0` and passes the HAR 1.2 schema, the
//! SAZ holds HTTP/1.1 messages as Fiddler Classic records them and reads back as the same
//! HTTP/2 exchanges. On the corpus's Chrome-to-YouTube capture (15 streams), its facts from
//! tshark's view (reference/ja4/http2-with-cookies.pcapng.json, `http2_streams`).

mod common;

use common::har_schema::schema_errors;
use lyncscope::archive::har::parse_har;
use lyncscope::archive::saz::read_saz_from;
use lyncscope::http::HttpOptions;
use lyncscope::model::{Analysis, HttpVersion};
use lyncscope::report::export::{write_har, write_saz};
use lyncscope::{analyze, Options};
use serde_json::Value;
use std::io::{Cursor, Read};

fn keep_all() -> HttpOptions {
    HttpOptions {
        keep_body_max: 16 << 20,
        ..HttpOptions::default()
    }
}

fn load() -> Option<(Analysis, Value)> {
    let corpus = common::corpus()?;
    let cap = corpus.join("ja4/http2-with-cookies.pcapng");
    let reference = common::reference(&corpus, &cap).expect("reference");
    let options = Options {
        http: keep_all(),
        ..Options::default()
    };
    let a = analyze(std::slice::from_ref(&cap), &options, &mut ()).unwrap();
    Some((a, reference))
}

/// tshark's streams by id: (method, authority, path, status).
fn tshark(reference: &Value) -> Vec<(u32, String, String, String, u16)> {
    let s = |v: &Value| v.as_str().unwrap().to_string();
    reference["http2_streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["stream_id"].as_u64().unwrap() as u32,
                s(&x["request"]["method"]),
                s(&x["request"]["authority"]),
                s(&x["request"]["path"]),
                x["response"]["status"].as_u64().unwrap() as u16,
            )
        })
        .collect()
}

#[test]
fn har_of_an_http2_capture_says_http_2_0_and_passes_the_schema() {
    let Some((a, reference)) = load() else {
        return;
    };
    let want = tshark(&reference);
    let mut out = Vec::new();
    write_har(&a, None, &mut out).unwrap();
    let har: Value = serde_json::from_slice(&out).unwrap();
    let errors = schema_errors(&out).expect("the HAR 1.2 schema (tests/data/har/schema)");
    assert!(errors.is_empty(), "{errors:#?}");
    let entries = har["log"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), want.len());
    for (e, (_, method, authority, path, status)) in entries.iter().zip(&want) {
        assert_eq!(e["request"]["httpVersion"], "HTTP/2.0");
        assert_eq!(e["response"]["httpVersion"], "HTTP/2.0");
        assert_eq!(e["request"]["url"], format!("https://{authority}{path}"));
        assert_eq!(e["response"]["status"], *status);
        // Request pseudo-header fields first, as Chrome lists them; no `:status` in the
        // response's (the entry's status holds it).
        let names = |m: &str| -> Vec<String> {
            e[m]["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["name"].as_str().unwrap().to_string())
                .collect()
        };
        let req = names("request");
        let value = |n: &str| {
            e["request"]["headers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|h| h["name"] == n)
                .map(|h| h["value"].as_str().unwrap().to_string())
        };
        assert!(req[0].starts_with(':'), "{req:?}");
        assert_eq!(value(":method").as_deref(), Some(method.as_str()));
        assert_eq!(value(":authority").as_deref(), Some(authority.as_str()));
        assert_eq!(value(":path").as_deref(), Some(path.as_str()));
        assert!(!names("response").iter().any(|n| n.starts_with(':')));
    }
    // Read back: HTTP/2 exchanges again.
    let back = parse_har(&out).unwrap();
    assert_eq!(back.exchanges.len(), want.len());
    assert!(back
        .exchanges
        .iter()
        .all(|x| x.http_version == HttpVersion::Http2));
}

#[test]
fn saz_of_an_http2_capture_is_http_1_1_as_fiddler_writes_it_and_reads_back() {
    let Some((a, reference)) = load() else {
        return;
    };
    let want = tshark(&reference);
    let mut buf = Cursor::new(Vec::new());
    write_saz(&a, None, &mut buf).unwrap();
    let bytes = buf.into_inner();
    // The first session's request as Fiddler Classic records a downgraded one: an HTTP/1.1
    // request line, Host from :authority, no pseudo-header fields.
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes.clone())).unwrap();
    let mut c = String::new();
    zip.by_name("raw/01_c.txt")
        .unwrap()
        .read_to_string(&mut c)
        .unwrap();
    let (_, method, authority, path, status) = &want[0];
    assert!(
        c.starts_with(&format!(
            "{method} {path} HTTP/1.1\r\nHost: {authority}\r\n"
        )),
        "{c}"
    );
    assert!(!c.contains("\r\n:"), "{c}");
    let mut s = String::new();
    zip.by_name("raw/01_s.txt")
        .unwrap()
        .read_to_string(&mut s)
        .unwrap();
    assert!(s.starts_with(&format!("HTTP/1.1 {status} ")), "{s}");
    assert!(!s.contains("\r\n:"), "{s}");

    let back = read_saz_from(Cursor::new(bytes), None, &keep_all()).unwrap();
    assert_eq!(back.exchanges.len(), a.exchanges.len());
    for (x, y) in a.exchanges.iter().zip(&back.exchanges) {
        let (rx, ry) = (x.request.as_deref().unwrap(), y.request.as_deref().unwrap());
        assert_eq!((&rx.method, &rx.target), (&ry.method, &ry.target));
        assert_eq!(rx.host(), ry.host());
        let (px, py) = (
            x.response.as_deref().unwrap(),
            y.response.as_deref().unwrap(),
        );
        assert_eq!(px.status, py.status);
        assert_eq!(
            px.body.wire_sha256(),
            py.body.wire_sha256(),
            "{}",
            rx.target
        );
        assert_eq!(px.body.decoded_sha256(), py.body.decoded_sha256());
        assert_eq!(y.http_version, HttpVersion::Http2);
        assert_eq!(
            x.stream.as_ref().map(|s| s.id),
            y.stream.as_ref().map(|s| s.id)
        );
    }
    // and they are tshark's streams
    let ids: Vec<u32> = back
        .exchanges
        .iter()
        .map(|x| x.stream.as_ref().unwrap().id)
        .collect();
    let tshark_ids: Vec<u32> = want.iter().map(|w| w.0).collect();
    assert_eq!(ids, tshark_ids);
}

#[test]
fn reports_say_http2_and_the_stream_of_each_exchange() {
    let Some((a, reference)) = load() else {
        return;
    };
    let want = tshark(&reference);
    let all: Vec<_> = a.exchanges.iter().map(|x| x.id).collect();
    let notes = lyncscope::model::Notes::default();
    let conn = a.exchanges[0].connection.0;
    // Text: a proto column, `h2 s<id>` on each exchange's row, beside tshark's status.
    let mut text = Vec::new();
    lyncscope::report::text::write(&a, &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    let header = text
        .lines()
        .find(|l| l.trim_start().starts_with("# "))
        .unwrap();
    assert!(header.trim_end().ends_with("proto"), "{header}");
    for (id, _, authority, _, status) in &want {
        let row = text
            .lines()
            .find(|l| l.trim_end().ends_with(&format!(" h2 s{id}")))
            .unwrap_or_else(|| panic!("no row of stream {id}\n{text}"));
        assert!(row.contains(authority.as_str()), "{row}");
        assert!(row.contains(&format!(" {status} ")), "{row}");
    }
    // Markdown and HTML: each exchange's facts name its protocol and stream.
    let mut md = Vec::new();
    lyncscope::report::markdown::write_markdown(&a, &notes, &all, &mut md).unwrap();
    let md = String::from_utf8(md).unwrap();
    let mut html = Vec::new();
    lyncscope::report::html::write_html(&a, &notes, &all, &mut html).unwrap();
    let html = String::from_utf8(html).unwrap();
    for (id, ..) in &want {
        let words = format!("HTTP/2 stream {id} (C{conn} s{id})");
        assert!(md.contains(&words), "{words}");
        assert!(html.contains(&words), "{words}");
    }
    // JSON: http_version, stream.id, and frame_count: at least the two HEADERS and the DATA
    // frames the server's bytes need at the default 16 KiB frame size (RFC 9113 section 4.2).
    let mut json = Vec::new();
    lyncscope::report::json::write(&a, false, &mut json).unwrap();
    let json: Value = serde_json::from_slice(&json).unwrap();
    let by_id: std::collections::HashMap<u64, &Value> = json["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["stream"]["id"].as_u64().unwrap(), x))
        .collect();
    for s in reference["http2_streams"].as_array().unwrap() {
        let x = by_id[&s["stream_id"].as_u64().unwrap()];
        assert_eq!(x["http_version"], "HTTP/2");
        let data = s["data_bytes_server"].as_u64().unwrap();
        let least = 2 + data.div_ceil(16384);
        let n = x["stream"]["frame_count"].as_u64().unwrap();
        assert!(n >= least, "stream {}: {n} < {least}", s["stream_id"]);
    }
}

#[test]
fn stage_tables_name_the_stream_of_an_http2_step() {
    // Sample B's first web-ticket request, made an HTTP/2 stream: the stage table row of that
    // exchange says so; the other rows stay as HTTP/1's.
    let sample = lyncscope::testkit::sample("lync").join("B-external-home-pool-redirect.pcapng");
    let options = Options {
        rules: Some(std::sync::Arc::new(lyncscope::stage::RuleSet::builtin())),
        ..Options::default()
    };
    let mut a = analyze(&[sample], &options, &mut ()).unwrap();
    let i = a
        .exchanges
        .iter()
        .position(|x| x.stage.as_ref().is_some_and(|t| t.id == "webticket-oauth"))
        .expect("a web-ticket step in sample B");
    let x = &mut a.exchanges[i];
    x.http_version = HttpVersion::Http2;
    x.stream = Some(Box::new(lyncscope::model::StreamInfo {
        id: 7,
        ..Default::default()
    }));
    let all: Vec<_> = a.exchanges.iter().map(|x| x.id).collect();
    let notes = lyncscope::model::Notes::default();
    let mut md = Vec::new();
    lyncscope::report::markdown::write_markdown(&a, &notes, &all, &mut md).unwrap();
    let md = String::from_utf8(md).unwrap();
    let rows: Vec<&str> = md.lines().filter(|l| l.contains(" h2 s")).collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0].contains(&format!("[#{i}](#x{i}) h2 s7 |")),
        "{}",
        rows[0]
    );
    assert!(rows[0].contains("webticket-oauth"), "{}", rows[0]);
    let mut html = Vec::new();
    lyncscope::report::html::write_html(&a, &notes, &all, &mut html).unwrap();
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("<small>h2 s7</small>"));
}
