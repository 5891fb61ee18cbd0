//! TLS decryption against tshark's view of the corpus (../shared/corpus/reference), with the
//! key material tshark was given (the reference's `tshark_options`).

mod common;

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
            ours.entry((c.client.to_string(), r.method.clone(), r.target.clone()))
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
