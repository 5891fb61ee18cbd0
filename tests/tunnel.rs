//! HTTP inside proxy CONNECT tunnels: curl through squid to nginx (tests/data/tunnel, made by
//! its make-captures.sh). Each exchange is checked against curl's own record of the run: the
//! request and status lines of its `--trace-ascii` and the per-transfer `-w '%{json}'` line;
//! the TLS facts against the trace's "SSL connection using" and "ALPN" lines. Bad input (bytes
//! that are neither TLS nor HTTP, a CONNECT inside a tunnel) on synthetic captures whose every
//! byte the test wrote.

mod common;

use common::data;
use common::synth::{client, server, Capture};
use lyncscope::model::{Analysis, ConnId, Exchange, HttpVersion, Scheme};
use lyncscope::{analyze, Options};
use std::path::Path;
use std::sync::Arc;

fn run_case(name: &str) -> Analysis {
    let dir = data("tunnel");
    let mut o = Options {
        rules: Some(Arc::new(lyncscope::stage::RuleSet::builtin())),
        ..Options::default()
    };
    let keys = dir.join(format!("{name}.keys.txt"));
    if std::fs::metadata(&keys).is_ok_and(|m| m.len() > 0) {
        o.keylogs.push(keys);
    }
    analyze(&[dir.join(format!("{name}.pcap"))], &o, &mut ()).unwrap()
}

/// What curl's `--trace-ascii` says it sent and received: the first line of each header
/// block it sent (`=> Send header`) and received (`<= Recv header`, status lines only), and
/// its TLS version / cipher and the ALPN the server accepted.
#[derive(Default, Debug)]
struct Trace {
    sent: Vec<String>,
    statuses: Vec<String>,
    tls: Option<(String, String)>,
    alpn: Option<String>,
}

fn trace(name: &str) -> Trace {
    let text = std::fs::read_to_string(data("tunnel").join(format!("{name}.trace.txt"))).unwrap();
    let mut t = Trace::default();
    let mut lines = text.lines();
    // The first line of a header block; --trace-ascii cuts lines after 64 characters.
    let first_line = |lines: &mut std::str::Lines<'_>| {
        let mut out = String::new();
        for l in lines.by_ref() {
            let part = l.get(6..).unwrap_or("");
            out.push_str(part);
            if part.len() < 64 {
                break;
            }
        }
        out.trim_end().to_string()
    };
    while let Some(l) = lines.next() {
        if l.starts_with("=> Send header") {
            t.sent.push(first_line(&mut lines));
        } else if l.starts_with("<= Recv header") {
            let first = first_line(&mut lines);
            if first.starts_with("HTTP/") {
                t.statuses.push(first);
            }
        } else if let Some(rest) = l.strip_prefix("== Info: SSL connection using ") {
            let (v, c) = rest.split_once(" / ").unwrap();
            t.tls = Some((v.to_string(), c.to_string()));
        } else if let Some(p) = l.strip_prefix("== Info: ALPN: server accepted ") {
            t.alpn = Some(p.to_string());
        }
    }
    t
}

/// curl's `-w '%{json}'` lines, one per transfer.
fn transfers(name: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(data("tunnel").join(format!("{name}.curl.json"))).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn line(x: &Exchange) -> String {
    let r = x.request.as_ref().unwrap();
    format!("{} {} {}", r.method, r.target, r.version)
}

/// The status line as curl prints it: `HTTP/1.1 200 OK`, or `HTTP/2 200` (no reason).
fn status_line(x: &Exchange) -> String {
    let r = x.response.as_ref().unwrap();
    if r.version == "HTTP/2" {
        format!("HTTP/2 {}", r.status) // curl's trailing space is trimmed
    } else {
        format!("{} {} {}", r.version, r.status, r.reason)
    }
}

/// The TLS version as curl names it ("TLSv1.3") in the report's words ("TLS 1.3").
fn tls_name(curl: &str) -> String {
    curl.replace("TLSv", "TLS ")
}

/// The IANA name of the cipher curl names the OpenSSL way.
fn iana(openssl: &str) -> &str {
    match openssl {
        "ECDHE-ECDSA-AES128-GCM-SHA256" => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        other => other, // TLS 1.3 suites have one name
    }
}

/// One tunnel case: every request curl sent (CONNECT first) is an exchange, in order, on one
/// proxy connection, with curl's status lines and body sizes; the inner ones are linked to the
/// CONNECT, take the CONNECT target as host, and the connection carries the inner TLS facts.
fn check_tunnel(name: &str, h2: bool) {
    let a = run_case(name);
    let t = trace(name);
    let xfers = transfers(name);
    let got: Vec<String> = a.exchanges.iter().map(line).collect();
    // curl's trace writes the h2 request it sent as "GET /x HTTP/2".
    assert_eq!(got, t.sent, "{name}: request lines");
    let statuses: Vec<String> = a.exchanges.iter().map(status_line).collect();
    assert_eq!(statuses, t.statuses, "{name}: status lines");
    let connect = &a.exchanges[0];
    assert_eq!(connect.request.as_ref().unwrap().method, "CONNECT");
    assert_eq!(
        xfers[0]["http_connect"].as_u64(),
        Some(connect.response.as_ref().unwrap().status as u64)
    );
    let inner = &a.exchanges[1..];
    assert_eq!(
        inner.len(),
        xfers.len(),
        "{name}: one exchange per transfer"
    );
    for (x, xf) in inner.iter().zip(&xfers) {
        assert_eq!(
            x.connection, connect.connection,
            "{name}: the proxy connection"
        );
        assert_eq!(x.tunnel.map(|l| l.connect()), Some(connect.id));
        assert_eq!(x.scheme, Scheme::Https);
        let want_version = if h2 {
            HttpVersion::Http2
        } else {
            HttpVersion::Http1
        };
        assert_eq!(x.http_version, want_version);
        assert_eq!(
            xf["http_version"].as_str(),
            Some(if h2 { "2" } else { "1.1" })
        );
        let resp = x.response.as_ref().unwrap();
        assert_eq!(Some(resp.status as u64), xf["response_code"].as_u64());
        assert_eq!(resp.body.decoded_length, xf["size_download"].as_u64());
        assert!(resp.body.complete);
        let url = a.request_url(x).unwrap().url;
        assert_eq!(Some(url.as_str()), xf["url_effective"].as_str(), "{name}");
    }
    let conn = &a.connections[connect.connection.0 as usize];
    assert_eq!(conn.server.port(), 3128);
    let tls = conn.tls.as_ref().expect("the tunnel's TLS facts");
    assert!(tls.decrypted, "{name}: {:?}", tls.reason);
    let (v, c) = t.tls.unwrap();
    assert_eq!(tls.version.as_deref(), Some(tls_name(&v).as_str()));
    assert_eq!(tls.cipher_suite.as_deref(), Some(iana(&c)));
    assert_eq!(tls.alpn, t.alpn);
    let target = connect.request.as_ref().unwrap().target.as_str();
    assert_eq!(Some(target), Some("lyncdiscover.contoso.test:443"));
    assert_eq!(tls.sni.as_deref(), target.strip_suffix(":443"));
}

#[test]
fn http1_in_a_tunnel_tls12() {
    check_tunnel("h1-tls12", false);
}

#[test]
fn http1_in_a_tunnel_tls13() {
    check_tunnel("h1-tls13", false);
}

#[test]
fn h2_in_a_tunnel() {
    check_tunnel("h2", true);
}

/// docs/stages.md: a GET of the lyncdiscover root over HTTPS is `ad-root-https`, through a
/// proxy's tunnel as directly.
#[test]
fn tunnelled_lyncdiscover_root_gets_its_stage() {
    let a = run_case("h1-tls13");
    let root = &a.exchanges[1];
    let stage = root.stage.as_ref().expect("a stage tag");
    assert_eq!(stage.id.as_str(), "ad-root-https");
}

#[test]
fn refused_connect_is_one_exchange_and_no_tunnel() {
    let a = run_case("refused");
    let t = trace("refused");
    let xfers = transfers("refused");
    let got: Vec<String> = a.exchanges.iter().map(line).collect();
    assert_eq!(got, t.sent);
    assert_eq!(a.exchanges.len(), 1);
    let r = a.exchanges[0].response.as_ref().unwrap();
    assert_eq!(Some(r.status as u64), xfers[0]["http_connect"].as_u64());
    assert_eq!(status_line(&a.exchanges[0]), t.statuses[0]);
    assert!(a.exchanges[0].upgrade.is_none());
    assert!(a.connections[0].tls.is_none());
}

// ---- bad input ---------------------------------------------------------------------------

fn analyze_cap(cap: &Capture) -> Analysis {
    let dir = tempfile::tempdir().unwrap();
    let p = cap.write(dir.path(), "t.pcap");
    analyze(&[p], &Options::default(), &mut ()).unwrap()
}

/// A proxy connection: CONNECT, 200, then `inner` both ways (client bytes, server bytes).
fn tunnel_capture(inner: &[(bool, &[u8])]) -> Capture {
    let mut cap = Capture::new();
    let mut c = client(50000, 1000);
    let mut s = server(9000);
    s.port = 3128;
    cap.connect(&mut c, &mut s);
    let req = b"CONNECT lyncdiscover.contoso.test:443 HTTP/1.1\r\nHost: lyncdiscover.contoso.test:443\r\n\r\n";
    cap.send(&mut c, &mut s, req, 1460);
    cap.send(
        &mut s,
        &mut c,
        b"HTTP/1.1 200 Connection established\r\n\r\n",
        1460,
    );
    for (from_client, bytes) in inner {
        if *from_client {
            cap.send(&mut c, &mut s, bytes, 1460);
        } else {
            cap.send(&mut s, &mut c, bytes, 1460);
        }
    }
    cap.close(&mut c, &mut s);
    cap
}

#[test]
fn a_tunnel_of_neither_tls_nor_http_says_so() {
    let noise: Vec<u8> = (0..40_000u32).map(|i| (i * 7 + 3) as u8 | 0x80).collect();
    let a = analyze_cap(&tunnel_capture(&[(true, &noise), (false, &noise)]));
    assert_eq!(a.exchanges.len(), 1, "only the CONNECT");
    assert!(a.connections[0].tls.is_none());
    let said = a
        .diagnostics
        .iter()
        .any(|d| d.connection == Some(ConnId(0)) && d.message.contains("neither TLS nor HTTP"));
    assert!(said, "{:?}", a.diagnostics);
    assert_eq!(
        tunnel_field(&a),
        serde_json::Value::Null,
        "nothing known carried"
    );
}

/// Plain HTTP inside a tunnel is parsed, host from the CONNECT when the request has none; a
/// CONNECT inside the tunnel is an exchange, and its own tunnel is not looked into (one level).
#[test]
fn plain_http_in_a_tunnel_and_nesting_is_bounded() {
    let get = b"GET /x HTTP/1.0\r\n\r\n";
    let ok = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nhi";
    let nested = b"CONNECT deeper.test:443 HTTP/1.1\r\nHost: deeper.test:443\r\n\r\n";
    let est = b"HTTP/1.1 200 Connection established\r\n\r\n";
    let deeper = b"GET /y HTTP/1.1\r\nHost: deeper.test\r\n\r\n";
    let a = analyze_cap(&tunnel_capture(&[
        (true, get),
        (false, ok),
        (true, nested),
        (false, est),
        (true, deeper),
        (false, ok),
    ]));
    let lines: Vec<String> = a.exchanges.iter().map(line).collect();
    assert_eq!(
        lines,
        [
            "CONNECT lyncdiscover.contoso.test:443 HTTP/1.1",
            "GET /x HTTP/1.0",
            "CONNECT deeper.test:443 HTTP/1.1"
        ]
    );
    let outer = a.exchanges[0].id;
    assert_eq!(a.exchanges[1].tunnel.map(|l| l.connect()), Some(outer));
    assert_eq!(a.exchanges[2].tunnel.map(|l| l.connect()), Some(outer));
    let url = a.request_url(&a.exchanges[1]).unwrap().url;
    assert_eq!(url, "http://lyncdiscover.contoso.test:443/x");
    assert_eq!(tunnel_field(&a), serde_json::json!(["http/1"]));
}

/// `connections[].tunnel` of the JSON report (docs/report-schema.md) for the one connection.
fn tunnel_field(a: &Analysis) -> serde_json::Value {
    let mut out = Vec::new();
    lyncscope::report::json::write(a, false, &mut out).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    v["connections"][0]["tunnel"].clone()
}

/// The proxy connection keeps `protocol` "http/1" (what it spoke to squid) and says what its
/// tunnel carried: TLS (curl's trace names the TLS version it used), then the HTTP version of
/// curl's transfers; without the key log, the ALPN curl's trace says the server accepted.
#[test]
fn the_connection_says_what_its_tunnel_carried() {
    for name in ["h1-tls12", "h1-tls13", "h2"] {
        let t = trace(name);
        assert!(t.tls.is_some(), "{name}: curl used TLS in the tunnel");
        let http = match transfers(name)[0]["http_version"].as_str() {
            Some("2") => "http/2",
            _ => "http/1",
        };
        let want = serde_json::json!(["tls", http]);
        let a = run_case(name);
        assert_eq!(a.connections[0].protocol.as_str(), "http/1", "{name}");
        assert_eq!(tunnel_field(&a), want, "{name}");
        // The HTTP/2 inside the tunnel: each side's SETTINGS and its ACK (RFC 9113 6.5.3).
        let h2 = a.connections[0].h2_control;
        assert_eq!(h2.is_some(), http == "http/2", "{name}");
        assert!(h2.is_none_or(|f| f.settings >= 4), "{name}: {h2:?}");
        let row = &lyncscope::presentation::connections::connection_rows(&a)[0];
        let words = format!("CONNECT lyncdiscover.contoso.test:443 carried tls → {http}");
        assert!(row.details.contains(&("Tunnel", words)), "{name}: {row:?}");
        // Not decrypted: the ALPN the server accepted (curl's trace) names the HTTP version
        // when it was in the clear (the TLS 1.2 ServerHello; TLS 1.3 encrypts it).
        let o = Options::default();
        let cap = data("tunnel").join(format!("{name}.pcap"));
        let a = analyze(&[cap], &o, &mut ()).unwrap();
        assert!(!a.connections[0].tls.as_ref().unwrap().decrypted);
        let by_alpn = match t.alpn.as_deref() {
            Some("h2") => "http/2",
            _ => "http/1",
        };
        assert_eq!(by_alpn, http, "{name}: curl's ALPN and HTTP version agree");
        let want = if t.tls.as_ref().unwrap().0.contains("1.3") {
            serde_json::json!(["tls"])
        } else {
            want
        };
        assert_eq!(tunnel_field(&a), want, "{name}: without the key log");
    }
    assert_eq!(tunnel_field(&run_case("refused")), serde_json::Value::Null);
}

#[test]
fn the_captures_are_where_the_readme_says() {
    let readme = std::fs::read_to_string(data("tunnel").join("README.md")).unwrap();
    for name in ["h1-tls12", "h1-tls13", "h2", "refused"] {
        assert!(readme.contains(name));
        assert!(Path::new(&data("tunnel").join(format!("{name}.pcap"))).exists());
    }
}

/// A client that does not wait for the proxy's 2xx: what it sent before the answer arrived is
/// the tunnel's first bytes.
#[test]
fn bytes_sent_before_the_2xx_belong_to_the_tunnel() {
    let mut cap = Capture::new();
    let mut c = client(50001, 1000);
    let mut s = server(9000);
    s.port = 3128;
    cap.connect(&mut c, &mut s);
    cap.send(
        &mut c,
        &mut s,
        b"CONNECT plain.test:80 HTTP/1.1\r\nHost: plain.test:80\r\n\r\n",
        1460,
    );
    cap.send(
        &mut c,
        &mut s,
        b"GET /early HTTP/1.1\r\nHost: plain.test\r\n\r\n",
        1460,
    );
    cap.send(&mut s, &mut c, b"HTTP/1.1 200 OK\r\n\r\n", 1460);
    cap.send(&mut s, &mut c, b"HTTP/1.1 204 No Content\r\n\r\n", 1460);
    cap.close(&mut c, &mut s);
    let a = analyze_cap(&cap);
    let lines: Vec<String> = a.exchanges.iter().map(line).collect();
    assert_eq!(
        lines,
        ["CONNECT plain.test:80 HTTP/1.1", "GET /early HTTP/1.1"]
    );
    assert_eq!(a.exchanges[1].response.as_ref().unwrap().status, 204);
    assert_eq!(
        a.exchanges[1].tunnel.map(|l| l.connect()),
        Some(a.exchanges[0].id)
    );
}
