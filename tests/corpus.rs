//! The plaintext HTTP/1.x requests tshark finds in the corpus, compared with ours
//! (reference: the corpus's reference/*.json, tshark 4.0.17).

mod common;

use lyncscope::model::Analysis;
use std::collections::{BTreeMap, BTreeSet};

/// (client, server, method, uri) → how many times, as tshark or we see them.
type Requests = BTreeMap<(String, String, String, String), usize>;

fn ours(a: &Analysis) -> (Requests, Requests) {
    let mut reqs = Requests::new();
    let mut statuses = Requests::new();
    for e in &a.exchanges {
        let Some(r) = &e.request else { continue };
        let c = a.connection(e.connection);
        let k = (
            c.client.to_string(),
            c.server.to_string(),
            r.method.to_string(),
            r.target.clone(),
        );
        *reqs.entry(k.clone()).or_default() += 1;
        if let Some(resp) = &e.response {
            let mut k = k;
            k.3 = format!("{} -> {}", k.3, resp.status);
            *statuses.entry(k).or_default() += 1;
        }
    }
    (reqs, statuses)
}

fn theirs(reference: &serde_json::Value) -> (Requests, Requests) {
    // Requests tshark decrypted out of TLS are checked by the TLS tests; here only what was
    // plaintext on the wire counts (a CONNECT before a tunnel is plaintext).
    let tls_streams: BTreeSet<u64> = reference["tls"]["streams"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|s| {
                    s["plaintext_bytes_client"].as_u64().unwrap_or(0) > 0
                        || s["plaintext_bytes_server"].as_u64().unwrap_or(0) > 0
                })
                .filter_map(|s| s["tcp_stream"].as_u64())
                .collect()
        })
        .unwrap_or_default();
    let mut reqs = Requests::new();
    let mut statuses = Requests::new();
    for r in reference["http_requests"].as_array().into_iter().flatten() {
        if r["tcp_stream"]
            .as_u64()
            .is_some_and(|s| tls_streams.contains(&s))
        {
            continue;
        }
        let k = (
            r["client"].as_str().unwrap_or_default().to_string(),
            r["server"].as_str().unwrap_or_default().to_string(),
            r["method"].as_str().unwrap_or_default().to_string(),
            r["uri"].as_str().unwrap_or_default().to_string(),
        );
        *reqs.entry(k.clone()).or_default() += 1;
        if let Some(status) = r["response"]["status"].as_u64() {
            let mut k = k;
            k.3 = format!("{} -> {status}", k.3);
            *statuses.entry(k).or_default() += 1;
        }
    }
    (reqs, statuses)
}

fn missing(want: &Requests, got: &Requests) -> Vec<String> {
    want.iter()
        .filter(|(k, n)| got.get(*k).copied().unwrap_or(0) < **n)
        .map(|(k, n)| format!("{k:?} x{n} (we have {})", got.get(k).copied().unwrap_or(0)))
        .collect()
}

#[test]
fn every_plaintext_request_tshark_finds_we_find_with_the_same_status() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut failures = Vec::new();
    let mut total = (0, 0);
    for cap in common::captures(&corpus) {
        let Some(reference) = common::reference(&corpus, &cap) else {
            continue;
        };
        let (want_req, want_status) = theirs(&reference);
        if want_req.is_empty() {
            continue;
        }
        let a = common::run(&cap);
        let (got_req, got_status) = ours(&a);
        total.0 += want_req.values().sum::<usize>();
        total.1 += want_status.values().sum::<usize>();
        let name = cap
            .strip_prefix(&corpus)
            .unwrap_or(&cap)
            .display()
            .to_string();
        for m in missing(&want_req, &got_req) {
            failures.push(format!("{name}: request missing: {m}"));
        }
        for m in missing(&want_status, &got_status) {
            failures.push(format!("{name}: status differs: {m}"));
        }
    }
    assert!(
        total.0 > 1200,
        "the corpus should hold over 1200 plaintext requests, saw {}",
        total.0
    );
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_corpus_capture_loads() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let caps = common::captures(&corpus);
    assert!(caps.len() > 50, "corpus too small: {}", caps.len());
    for cap in caps {
        let a = common::run(&cap);
        if let Some(reference) = common::reference(&corpus, &cap) {
            let want = reference["capinfos"]["packets"].as_u64();
            assert_eq!(Some(a.frames), want, "{}: frames read", cap.display());
        }
        assert!(
            a.inputs.iter().all(|i| !i.truncated),
            "{}: the file is whole, yet reading stopped early",
            cap.display()
        );
    }
}

/// Body lengths tshark reports, per (client, server, method, uri), in capture order:
/// (request body, response body after de-chunking, response body after decoding).
type Lengths =
    BTreeMap<(String, String, String, String), Vec<(u64, Option<u64>, Option<u64>, Option<u64>)>>;

#[test]
fn body_lengths_match_tshark() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut failures = Vec::new();
    let mut compared = 0;
    for cap in common::captures(&corpus) {
        let Some(reference) = common::reference(&corpus, &cap) else {
            continue;
        };
        let mut want = Lengths::new();
        for r in reference["http_requests"].as_array().into_iter().flatten() {
            let resp = &r["response"];
            let k = (
                r["client"].as_str().unwrap_or_default().to_string(),
                r["server"].as_str().unwrap_or_default().to_string(),
                r["method"].as_str().unwrap_or_default().to_string(),
                r["uri"].as_str().unwrap_or_default().to_string(),
            );
            want.entry(k).or_default().push((
                r["body_length"].as_u64().unwrap_or(0),
                resp["body_length"].as_u64(),
                resp["body_length_decoded"].as_u64(),
                resp["status"].as_u64(),
            ));
        }
        if want.is_empty() {
            continue;
        }
        let a = common::run(&cap);
        let mut got = Lengths::new();
        for e in &a.exchanges {
            let Some(r) = &e.request else { continue };
            let c = a.connection(e.connection);
            let k = (
                c.client.to_string(),
                c.server.to_string(),
                r.method.to_string(),
                r.target.clone(),
            );
            got.entry(k).or_default().push((
                r.body.wire_length,
                e.response.as_ref().map(|x| x.body.wire_length),
                e.response.as_ref().and_then(|x| x.body.decoded_length),
                e.response.as_ref().map(|x| u64::from(x.status)),
            ));
        }
        let name = cap
            .strip_prefix(&corpus)
            .unwrap_or(&cap)
            .display()
            .to_string();
        for (k, ws) in &want {
            let Some(gs) = got.get(k) else { continue };
            // tshark gives a CONNECT's 200 a 1-byte body (the first byte of the tunnel).
            // RFC 9112 §6.3: a 2xx response to CONNECT has no body; what follows is the
            // tunnel. We are right; the request body is still compared.
            for (w, g) in ws.iter().zip(gs) {
                let connect_2xx_body =
                    k.2 == "CONNECT" && w.3.is_some_and(|s| (200..300).contains(&s));
                compared += 1;
                if w.0 != g.0 {
                    failures.push(format!(
                        "{name} {k:?}: request body {} vs ours {}",
                        w.0, g.0
                    ));
                }
                // Only where tshark reassembled the response body (see MANIFEST: it does not
                // for close-delimited bodies inside TLS).
                if connect_2xx_body {
                    assert_eq!(g.1, Some(0), "{name}: a CONNECT 2xx has no body");
                    continue;
                }
                if let (Some(wl), Some(gl)) = (w.1, g.1) {
                    if wl != gl {
                        failures.push(format!("{name} {k:?}: response body {wl} vs ours {gl}"));
                    }
                    if let (Some(wd), Some(gd)) = (w.2, g.2) {
                        if wd != gd {
                            failures.push(format!("{name} {k:?}: decoded body {wd} vs ours {gd}"));
                        }
                    }
                }
            }
        }
    }
    assert!(compared > 1000, "compared only {compared}");
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
