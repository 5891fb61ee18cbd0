//! TLS decryption against tshark's view of the corpus (its reference/ folder), with the
//! key material tshark was given (the reference's `tshark_options`).

mod common;

use common::data;

use lyncscope::model::Analysis;
use lyncscope::{analyze, Options};
use std::collections::BTreeMap;
use std::path::Path;

/// The key material of a reference, as options.
fn options_for(corpus: &Path, reference: &serde_json::Value) -> Options {
    let mut o = Options::default();
    let opts: Vec<&str> = reference["tshark_options"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    for w in opts.windows(2) {
        if w[0] != "-o" {
            continue;
        }
        if let Some(f) = w[1].strip_prefix("tls.keylog_file:") {
            o.keylogs.push(corpus.join(f));
        } else if let Some(rest) = w[1].strip_prefix("uat:rsa_keys:") {
            let path = rest.split(',').next().unwrap_or("").trim_matches('"');
            o.rsa_keys.push(corpus.join(path));
        }
    }
    o
}

fn run(corpus: &Path, cap: &Path, reference: &serde_json::Value) -> Analysis {
    analyze(
        &[cap.to_path_buf()],
        &options_for(corpus, reference),
        &mut (),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", cap.display()))
}

/// Every TLS stream tshark decrypted, we decrypt, with the same plaintext byte counts.
#[test]
fn every_connection_tshark_decrypts_we_decrypt_with_the_same_plaintext() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut failures = Vec::new();
    let mut want_total = 0;
    for cap in common::captures(&corpus) {
        let Some(reference) = common::reference(&corpus, &cap) else {
            continue;
        };
        let streams: Vec<&serde_json::Value> = reference["tls"]["streams"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let decrypted: Vec<_> = streams
            .iter()
            .filter(|s| {
                s["plaintext_bytes_client"].as_u64().unwrap_or(0) > 0
                    || s["plaintext_bytes_server"].as_u64().unwrap_or(0) > 0
            })
            .collect();
        if decrypted.is_empty() {
            continue;
        }
        let a = run(&corpus, &cap, &reference);
        let name = cap
            .strip_prefix(&corpus)
            .unwrap_or(&cap)
            .display()
            .to_string();
        let by_client: BTreeMap<String, _> = a
            .connections
            .iter()
            .filter_map(|c| c.tls.as_ref().map(|t| (c.client.to_string(), t)))
            .collect();
        for s in decrypted {
            want_total += 1;
            let client = s["client"].as_str().unwrap_or_default();
            let Some(t) = by_client.get(client) else {
                failures.push(format!("{name}: {client}: no TLS connection"));
                continue;
            };
            if !t.decrypted {
                failures.push(format!(
                    "{name}: {client} {:?}: not decrypted: {:?}",
                    t.cipher_suite, t.reason
                ));
                continue;
            }
            let want = [
                s["plaintext_bytes_client"].as_u64().unwrap_or(0),
                s["plaintext_bytes_server"].as_u64().unwrap_or(0),
            ];
            if t.plaintext_bytes != want {
                failures.push(format!(
                    "{name}: {client} {:?}: plaintext bytes {:?}, tshark {:?}",
                    t.cipher_suite, t.plaintext_bytes, want
                ));
            }
        }
    }
    assert!(
        want_total >= 150,
        "the corpus should hold ~160 decryptable streams, saw {want_total}"
    );
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The HTTP requests tshark finds inside decrypted TLS, we find with the same status.
#[test]
fn requests_inside_tls_match_tshark() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut failures = Vec::new();
    let mut checked = 0;
    for cap in common::captures(&corpus) {
        let Some(reference) = common::reference(&corpus, &cap) else {
            continue;
        };
        if reference["tls"]["sessions_decrypted"].as_u64().unwrap_or(0) == 0 {
            continue;
        }
        let a = run(&corpus, &cap, &reference);
        let name = cap
            .strip_prefix(&corpus)
            .unwrap_or(&cap)
            .display()
            .to_string();
        let mut ours: BTreeMap<(String, String, String), Vec<Option<u16>>> = BTreeMap::new();
        for e in &a.exchanges {
            let Some(r) = &e.request else { continue };
            let c = a.connection(e.connection);
            ours.entry((c.client.to_string(), r.method.to_string(), r.target.clone()))
                .or_default()
                .push(e.response.as_ref().map(|x| x.status));
        }
        for r in reference["http_requests"].as_array().into_iter().flatten() {
            checked += 1;
            let k = (
                r["client"].as_str().unwrap_or_default().to_string(),
                r["method"].as_str().unwrap_or_default().to_string(),
                r["uri"].as_str().unwrap_or_default().to_string(),
            );
            // tshark pairs close-delimited responses inside TLS only without body reassembly
            // (see the corpus MANIFEST); either way the status is the one to match.
            let status = r["response"]["status"]
                .as_u64()
                .or(r["response_without_body_reassembly"]["status"].as_u64());
            match ours.get_mut(&k) {
                Some(list) if !list.is_empty() => {
                    let got = list.remove(0);
                    if let Some(s) = status {
                        if got.map(u64::from) != Some(s) {
                            failures.push(format!("{name} {k:?}: status {got:?}, tshark {s}"));
                        }
                    }
                }
                _ => failures.push(format!("{name} {k:?}: request not found")),
            }
        }
    }
    assert!(checked > 100, "checked only {checked}");
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn with(cap: &str, keylogs: &[&str], keys: &[&str]) -> Analysis {
    let o = Options {
        keylogs: keylogs.iter().map(|k| data(k)).collect(),
        rsa_keys: keys.iter().map(|k| data(k)).collect(),
        ..Options::default()
    };
    analyze(&[data(cap)], &o, &mut ()).unwrap()
}

fn targets(a: &Analysis) -> Vec<(String, Option<u16>)> {
    a.exchanges
        .iter()
        .filter_map(|e| {
            let r = e.request.as_ref()?;
            Some((r.target.clone(), e.response.as_ref().map(|x| x.status)))
        })
        .collect()
}

/// Keeps the first `n` frames of a classic pcap (24-byte header, 16-byte record headers), or
/// drops them when `keep_head` is false.
fn cut_frames(bytes: &[u8], n: usize, keep_head: bool) -> Vec<u8> {
    let mut out = bytes[..24].to_vec();
    let mut pos = 24;
    let mut i = 0;
    while pos + 16 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[pos + 8..pos + 12].try_into().unwrap()) as usize;
        let rec = &bytes[pos..pos + 16 + len];
        if (i < n) == keep_head {
            out.extend_from_slice(rec);
        }
        pos += 16 + len;
        i += 1;
    }
    out
}

fn analyze_bytes(bytes: &[u8], keys: &[&str]) -> Analysis {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.pcap");
    std::fs::write(&p, bytes).unwrap();
    let o = Options {
        rsa_keys: keys.iter().map(|k| data(k)).collect(),
        ..Options::default()
    };
    analyze(&[p], &o, &mut ()).unwrap()
}

#[test]
fn tls12_resumption_by_session_id_and_ticket_with_a_partial_key_log() {
    let a = with(
        "tls/resume-partial-keylog.pcap",
        &["tls/resume-partial-keylog.keys.txt"],
        &[],
    );
    let want: Vec<(String, Option<u16>)> = [
        "/first",
        "/by-session-id",
        "/with-ticket-first",
        "/by-ticket",
    ]
    .iter()
    .map(|t| (t.to_string(), Some(200)))
    .collect();
    assert_eq!(targets(&a), want);
    let tls: Vec<_> = a
        .connections
        .iter()
        .map(|c| c.tls.clone().unwrap())
        .collect();
    assert!(tls.iter().all(|t| t.decrypted));
    assert_eq!(
        tls.iter().map(|t| t.resumed).collect::<Vec<_>>(),
        [false, true, false, true]
    );
    assert!(tls[1]
        .key_source
        .as_deref()
        .unwrap()
        .contains("resumed session"));
    assert!(tls[3].key_source.as_deref().unwrap().contains("ticket"));
}

#[test]
fn tls13_hello_retry_request() {
    let a = with("tls/hrr.pcap", &["tls/hrr.keys.txt"], &[]);
    assert_eq!(targets(&a), vec![("/after-hrr".to_string(), Some(200))]);
    let t = a.connections[0].tls.as_ref().unwrap();
    assert_eq!(t.version.as_deref(), Some("TLS 1.3"));
}

#[test]
fn rsa_key_exchange_with_the_server_key_alone() {
    for key in [
        "keys/rsa2048.pkcs1.pem",
        "keys/rsa2048.pkcs8.der",
        "keys/cert-and-key.pem",
    ] {
        let a = with("tls/rsa-kx.pcap", &[], &[key]);
        assert_eq!(targets(&a), vec![("/rsa".to_string(), Some(200))], "{key}");
        let t = a.connections[0].tls.as_ref().unwrap();
        assert!(
            t.key_source.as_deref().unwrap().contains("RSA key"),
            "{key}"
        );
    }
}

#[test]
fn a_wrong_rsa_key_says_so_and_shows_no_plaintext() {
    let a = with("tls/rsa-kx.pcap", &[], &["keys/unrelated-rsa2048.pem"]);
    let t = a.connections[0].tls.as_ref().unwrap();
    assert!(!t.decrypted);
    assert_eq!(
        t.reason.as_deref(),
        Some("RSA key does not match the server certificate")
    );
    assert!(a.exchanges.is_empty());
}

#[test]
fn an_rsa_key_cannot_decrypt_ecdhe_and_the_reason_says_a_key_log_is_needed() {
    let a = with(
        "tls/resume-partial-keylog.pcap",
        &[],
        &["keys/rsa2048.pkcs1.pem"],
    );
    let t = a.connections[0].tls.as_ref().unwrap();
    assert!(!t.decrypted);
    assert!(
        t.reason
            .as_deref()
            .unwrap()
            .contains("an RSA key cannot decrypt it, a key log is needed"),
        "{:?}",
        t.reason
    );
}

#[test]
fn a_key_log_without_this_client_random() {
    let a = with("tls/hrr.pcap", &["tls/resume-partial-keylog.keys.txt"], &[]);
    let t = a.connections[0].tls.as_ref().unwrap();
    assert!(!t.decrypted);
    assert!(
        t.reason.as_deref().unwrap().contains("key log"),
        "{:?}",
        t.reason
    );
}

#[test]
fn a_capture_that_starts_after_the_handshake() {
    let bytes = std::fs::read(data("tls/rsa-kx.pcap")).unwrap();
    // Frames 10 and later: application data only (see tests/data/tls/README.md).
    let a = analyze_bytes(&cut_frames(&bytes, 9, false), &["keys/rsa2048.pkcs1.pem"]);
    let t = a.connections[0].tls.as_ref().unwrap();
    assert!(!t.decrypted);
    assert!(
        t.reason
            .as_deref()
            .unwrap()
            .contains("capture starts after the handshake"),
        "{:?}",
        t.reason
    );
    assert!(a.exchanges.is_empty());
}

#[test]
fn a_truncated_handshake() {
    let bytes = std::fs::read(data("tls/rsa-kx.pcap")).unwrap();
    // Up to the ServerHello (frame 6): no ClientKeyExchange, no encrypted records.
    let a = analyze_bytes(&cut_frames(&bytes, 6, true), &["keys/rsa2048.pkcs1.pem"]);
    let t = a.connections[0].tls.as_ref().unwrap();
    assert!(!t.decrypted);
    assert!(t.reason.is_some());
    assert_eq!(t.version.as_deref(), Some("TLS 1.2"));
    // Cut inside the ServerHello record as well: no panic, still a reason.
    let mut short = cut_frames(&bytes, 6, true);
    short.truncate(short.len() - 300);
    let a = analyze_bytes(&short, &[]);
    assert!(a.connections[0].tls.as_ref().unwrap().reason.is_some());
}

#[test]
fn rsa_key_exchange_with_a_pfx_key_aes_and_legacy_3des() {
    for pfx in ["keys/rsa2048-aes.pfx", "keys/rsa2048-3des.p12"] {
        let o = Options {
            rsa_keys: vec![data(pfx)],
            password: Some("test".into()),
            ..Options::default()
        };
        let a = analyze(&[data("tls/rsa-kx.pcap")], &o, &mut ()).unwrap();
        assert_eq!(targets(&a), vec![("/rsa".to_string(), Some(200))], "{pfx}");
    }
}

/// Flips the last byte of frame `n` (1-based) of a classic pcap.
fn flip_last_byte(bytes: &[u8], n: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let mut pos = 24;
    for i in 1.. {
        let len = u32::from_le_bytes(out[pos + 8..pos + 12].try_into().unwrap()) as usize;
        if i == n {
            out[pos + 16 + len - 1] ^= 0x01;
            return out;
        }
        pos += 16 + len;
    }
    unreachable!()
}

#[test]
fn a_record_that_fails_authentication_stops_that_direction_and_yields_no_garbage() {
    let bytes = std::fs::read(data("tls/rsa-kx.pcap")).unwrap();
    // Frame 11 is the server's application data (the response), ending in its GCM tag.
    let a = analyze_bytes(&flip_last_byte(&bytes, 11), &["keys/rsa2048.pkcs1.pem"]);
    assert_eq!(targets(&a), vec![("/rsa".to_string(), None)]);
    assert!(a
        .diagnostics
        .iter()
        .any(|d| d.message.contains("decryption stopped") && d.message.contains("authentication")));
    assert_eq!(
        a.exchanges.len(),
        1,
        "no exchange made of undecrypted bytes"
    );
}

#[test]
fn an_rsa_key_that_matches_no_certificate_is_reported() {
    let a = with("tls/rsa-kx.pcap", &[], &["keys/unrelated-rsa2048.pem"]);
    assert!(a
        .diagnostics
        .iter()
        .any(|d| d.message.contains("unrelated-rsa2048.pem")
            && d.message.contains("matches no server certificate")));
    let a = with("tls/rsa-kx.pcap", &[], &["keys/rsa2048.pkcs1.pem"]);
    assert!(!a
        .diagnostics
        .iter()
        .any(|d| d.message.contains("matches no server certificate")));
}

/// A response without Content-Length inside TLS ends at the server's close_notify. tshark 4.0
/// never completes such a body (it reports the response only without body reassembly, see the
/// corpus MANIFEST); the whole server plaintext (tshark's follow,tls count) after the head is
/// the body.
#[test]
fn close_notify_ends_a_close_delimited_body_inside_tls() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let cap = corpus.join("wireshark-notes/tls/http-no-content-length-ssl.pcapng");
    let reference = common::reference(&corpus, &cap).unwrap();
    let a = run(&corpus, &cap, &reference);
    let server_plaintext = reference["tls"]["streams"][0]["plaintext_bytes_server"]
        .as_u64()
        .unwrap();
    let e = &a.exchanges[0];
    let body = &e.response.as_ref().unwrap().body;
    assert_eq!(e.capture, lyncscope::model::CaptureState::Full);
    assert!(body.complete);
    assert_eq!(body.wire_length, server_plaintext - body.stream_offset);
    assert_eq!(
        reference["http_requests"][0]["response_without_body_reassembly"]["status"],
        e.response.as_ref().unwrap().status
    );
}

/// The session cache is shared by the connection threads; a resumed connection handled by
/// one thread before the connection that made the session (on another) must still decrypt.
#[test]
fn resumption_does_not_depend_on_the_thread_count() {
    for threads in 1..=4 {
        let o = Options {
            keylogs: vec![data("tls/resume-partial-keylog.keys.txt")],
            threads: Some(threads),
            ..Options::default()
        };
        let a = analyze(&[data("tls/resume-partial-keylog.pcap")], &o, &mut ()).unwrap();
        assert!(
            a.connections
                .iter()
                .all(|c| c.tls.as_ref().unwrap().decrypted),
            "threads {threads}"
        );
        assert_eq!(a.exchanges.len(), 4, "threads {threads}");
    }
}
