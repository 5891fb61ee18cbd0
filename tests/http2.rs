//! HTTP/2 streams of the corpus compared with tshark's view of them (reference:
//! the corpus's reference/*.json `http2_streams`, tshark 4.0.17): each stream tshark decoded
//! with its request is one exchange of ours, with the same stream id, request pseudo-headers,
//! status, content coding, DATA byte count, and frames.

mod common;

use lyncscope::model::{Exchange, HttpVersion};
use lyncscope::{analyze, Analysis, Options};
use std::path::Path;

/// The key material of a reference, as options (DSB keys come with the capture).
fn options_for(corpus: &Path, reference: &serde_json::Value) -> Options {
    let mut o = Options::default();
    let opts: Vec<&str> = reference["tshark_options"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    for w in opts.windows(2) {
        if let Some(f) = w[1].strip_prefix("tls.keylog_file:") {
            o.keylogs.push(corpus.join(f));
        }
    }
    o
}

fn endpoints(a: &Analysis, x: &Exchange) -> (String, String) {
    let c = a.connection(x.connection);
    (c.client.to_string(), c.server.to_string())
}

/// HTTP/2 that starts with its preface, by ALPN, or after an HTTP/1.1 Upgrade to h2c.
const CAPTURES: &[&str] = &[
    "scapy/http2_h2c.pcap",
    "ja4/http2-with-cookies.pcapng",
    "ja4/chrome-cloudflare-quic-with-secrets.pcapng",
    "snet/tls1.3_curl_google.pcap",
    "wireshark-notes/tls/http2-16-ssl.pcapng",
];

#[test]
fn every_http2_stream_tshark_decodes_is_an_exchange_with_its_facts() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut failures = Vec::new();
    let mut checked = 0;
    for rel in CAPTURES {
        let cap = corpus.join(rel);
        let reference = common::reference(&corpus, &cap).expect("reference");
        let a = analyze(
            std::slice::from_ref(&cap),
            &options_for(&corpus, &reference),
            &mut (),
        )
        .unwrap_or_else(|e| panic!("{rel}: {e}"));
        for s in reference["http2_streams"].as_array().into_iter().flatten() {
            let req = &s["request"];
            if req.is_null() {
                continue;
            }
            checked += 1;
            let id = s["stream_id"].as_u64().unwrap() as u32;
            let want_ends = (
                req["client"].as_str().unwrap().to_string(),
                req["server"].as_str().unwrap().to_string(),
            );
            let Some(x) = a.exchanges.iter().find(|x| {
                x.stream.as_ref().is_some_and(|st| st.id == id) && endpoints(&a, x) == want_ends
            }) else {
                failures.push(format!("{rel}: stream {id}: no exchange"));
                continue;
            };
            let mut check = |what: &str, ok: bool| {
                if !ok {
                    failures.push(format!("{rel}: stream {id}: {what}"));
                }
            };
            check("http_version", x.http_version == HttpVersion::Http2);
            let r = x.request.as_deref().expect("request");
            check("method", r.method == req["method"].as_str().unwrap());
            check("authority", r.host() == req["authority"].as_str());
            check("path", r.target == req["path"].as_str().unwrap());
            check(
                ":scheme",
                r.headers.get(":scheme") == req["scheme"].as_str(),
            );
            let f = req["frame"].as_u64().unwrap();
            let (rs, re) = (x.timing.request_start(), x.timing.request_end());
            check(
                "request frame",
                rs.is_some_and(|a| a.frame.0 <= f) && re.is_some_and(|a| a.frame.0 >= f),
            );
            check(
                "request body bytes",
                r.body.wire_length == s["data_bytes_client"].as_u64().unwrap(),
            );
            let resp = &s["response"];
            if resp.is_null() {
                continue;
            }
            let Some(p) = x.response.as_deref() else {
                check("no response", false);
                continue;
            };
            check(
                "status",
                u64::from(p.status) == resp["status"].as_u64().unwrap(),
            );
            check(
                "content-encoding",
                p.headers.get("content-encoding") == resp["content_encoding"].as_str(),
            );
            check(
                "content-type",
                p.headers.get("content-type") == resp["content_type"].as_str(),
            );
            check(
                "response body bytes",
                p.body.wire_length == s["data_bytes_server"].as_u64().unwrap(),
            );
            let f = resp["frame"].as_u64().unwrap();
            let (rs, re) = (x.timing.response_start(), x.timing.response_end());
            check(
                "response frame",
                rs.is_some_and(|a| a.frame.0 <= f) && re.is_some_and(|a| a.frame.0 >= f),
            );
            check(
                "complete body",
                p.body.complete && p.body.decoded_length.is_some(),
            );
        }
    }
    assert!(checked >= 19, "only {checked} streams checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
