//! TLS facts of every connection (chain, alerts, handshake reach, client abort) against
//! references: tshark's and OpenSSL's view (tests/data/tls/facts.reference.txt, written by
//! make-facts-reference.sh), the certificates the Lync samples were made with
//! (samples/lync/make/pki), the samples' own scripts, and synthetic handshakes built after
//! RFC 5246 §7.4 where no capture shows the case.

mod common;

use common::synth::{self, Capture, Peer};
use common::{corpus, data, sample};
use lyncscope::model::{AbortBy, Analysis, Connection, Dir, TlsInfo};
use lyncscope::{analyze, Options};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn analyze_with(path: &Path, keylogs: &[PathBuf]) -> Analysis {
    let options = Options {
        keylogs: keylogs.to_vec(),
        ..Options::default()
    };
    analyze(&[path.to_path_buf()], &options, &mut ())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One capture of the reference: where it is and the key log tshark was given (the samples
/// carry theirs inside). None when it is a corpus capture and the corpus is not there.
fn reference_capture(name: &str) -> Option<(PathBuf, Vec<PathBuf>)> {
    if let Some(s) = name.strip_prefix("samples/") {
        return Some((sample(&format!("lync/{s}")), Vec::new()));
    }
    let rel = name.strip_prefix("corpus/")?;
    let dir = corpus()?;
    let keylog = match rel {
        "scapy/tls_tcp_frag_withnss.pcap" => vec![dir.join("scapy/tls_tcp_frag_withnss.keys.txt")],
        "scapy/tls_nss_example.pcap" => vec![dir.join("scapy/tls_nss_example.keys.txt")],
        "wireshark-notes/all/dump.pcapng" => vec![dir.join("wireshark-notes/all/premaster.txt")],
        _ => Vec::new(),
    };
    Some((dir.join(rel), keylog))
}

/// A certificate as the reference has it.
#[derive(Debug, PartialEq)]
struct RefCert {
    sha256: String,
    key: String,
    ca: bool,
    subject_is_issuer: bool,
}

#[derive(Default)]
struct Reference {
    /// (frame, sender) → certificates in the order sent.
    chains: BTreeMap<(u64, String), Vec<RefCert>>,
    /// (frame, sender, level, description), in order.
    alerts: Vec<(u64, String, u8, u8)>,
}

fn reference() -> BTreeMap<String, Reference> {
    let text = std::fs::read_to_string(data("tls/facts.reference.txt")).expect("reference");
    let mut out: BTreeMap<String, Reference> = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let r = out.entry(f[1].to_string()).or_default();
        let frame: u64 = f[2].parse().unwrap();
        match f[0] {
            "cert" => r
                .chains
                .entry((frame, f[3].to_string()))
                .or_default()
                .push(RefCert {
                    sha256: f[5].to_string(),
                    key: f[6].to_string(),
                    ca: f[7] == "ca",
                    subject_is_issuer: f[8] == "same",
                }),
            "alert" => r.alerts.push((
                frame,
                f[3].to_string(),
                f[4].parse().unwrap(),
                f[5].parse().unwrap(),
            )),
            other => panic!("unknown reference line {other}"),
        }
    }
    out
}

fn sender(c: &Connection, from: Dir) -> String {
    match from {
        Dir::ClientToServer => c.client.to_string(),
        Dir::ServerToClient => c.server.to_string(),
    }
}

/// The frame of the server's Certificate message on a connection.
fn certificate_frame(t: &TlsInfo) -> Option<u64> {
    t.handshake_messages
        .iter()
        .find(|m| m.from == Dir::ServerToClient && m.kind == 11)
        .map(|m| m.at.frame.0)
}

/// Every server certificate chain tshark reads, we read: the same certificates (SHA-256) in
/// the same order, with the public key, CA flag and subject = issuer OpenSSL shows; and we
/// read no chain tshark does not.
#[test]
fn chains_match_tshark_and_openssl() {
    for (name, r) in reference() {
        let Some((path, keylogs)) = reference_capture(&name) else {
            continue;
        };
        let a = analyze_with(&path, &keylogs);
        let mut ours = BTreeMap::new();
        let mut verified = 0;
        for c in &a.connections {
            let Some(t) = &c.tls else { continue };
            if t.chain.is_empty() {
                continue;
            }
            let frame = certificate_frame(t).expect("a chain comes from a Certificate message");
            let certs: Vec<RefCert> = t
                .chain
                .iter()
                .map(|x| RefCert {
                    sha256: x.sha256.clone(),
                    key: x.public_key.clone(),
                    ca: x.ca,
                    subject_is_issuer: x.certificate.subject == x.certificate.issuer,
                })
                .collect();
            for x in &t.chain {
                assert!(!x.unparsed, "{name}: frame {frame}");
                // Self-signed by name is what OpenSSL's subject = issuer says; the key
                // identifiers agree in every certificate of the reference.
                assert_eq!(x.self_signed, x.certificate.subject == x.certificate.issuer);
                // Servers' self-signed test certificates are what the name says: where the
                // signature is checked, it verifies with the certificate's own key.
                if x.self_signed {
                    assert_ne!(x.self_signature_valid, Some(false), "{name}: frame {frame}");
                    verified += usize::from(x.self_signature_valid == Some(true));
                }
            }
            ours.insert((frame, c.server.to_string()), certs);
        }
        // tshark also lists client certificates (mutual TLS); ours are the server's.
        let servers: Vec<String> = a.connections.iter().map(|c| c.server.to_string()).collect();
        let theirs: BTreeMap<_, _> = r
            .chains
            .into_iter()
            .filter(|((_, from), _)| servers.contains(from))
            .collect();
        assert!(
            !theirs.is_empty(),
            "{name}: no server chain in the reference"
        );
        assert_eq!(ours, theirs, "{name}");
        if name.contains("wireshark-notes") {
            // Its RSA servers' certificates (sha1/sha256WithRSAEncryption) are checked.
            assert!(verified > 0, "{name}");
        }
    }
}

/// Every alert tshark reads (in clear or decrypted), we read: frame, sender, level and
/// description; and no other.
#[test]
fn alerts_match_tshark() {
    for (name, r) in reference() {
        let Some((path, keylogs)) = reference_capture(&name) else {
            continue;
        };
        let a = analyze_with(&path, &keylogs);
        for t in a.connections.iter().filter_map(|c| c.tls.as_ref()) {
            for x in &t.alerts {
                // After its sender's Finished every record is encrypted (RFC 5246 §7.1,
                // RFC 8446 §4.4.4): the alert was decrypted, not read in clear.
                let finished = t
                    .handshake_messages
                    .iter()
                    .any(|m| m.from == x.from && m.kind == 20 && m.at.frame < x.at.frame);
                if finished {
                    assert!(!x.in_clear, "{name}: frame {}", x.at.frame.0);
                }
            }
        }
        let mut ours: Vec<(u64, String, u8, u8)> = a
            .connections
            .iter()
            .flat_map(|c| {
                c.tls.iter().flat_map(move |t| {
                    t.alerts
                        .iter()
                        .map(move |x| (x.at.frame.0, sender(c, x.from), x.level, x.description))
                })
            })
            .collect();
        ours.sort();
        let mut theirs = r.alerts;
        theirs.sort();
        assert_eq!(ours, theirs, "{name}");
    }
}

/// The certificates of a PEM file, DER, in order.
fn pem_certificates(path: &Path) -> Vec<Vec<u8>> {
    use rustls_pki_types::pem::PemObject;
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    rustls_pki_types::CertificateDer::pem_slice_iter(&bytes)
        .map(|c| c.expect("PEM certificate").to_vec())
        .collect()
}

fn sha256_hex(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The TLS connections a sample's script says the client abandoned with a fatal alert (its
/// `tcp` steps "… sent alert certificate_unknown"): server and SNI, in order.
fn scripted_aborts(script: &serde_json::Value) -> Vec<(String, String)> {
    script["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "tcp")
        .filter(|s| {
            s["why"].as_str().is_some_and(|w| {
                w.contains("sent alert certificate_unknown") || w.contains("sent alert unknown_ca")
            })
        })
        .map(|s| {
            (
                s["server"].as_str().unwrap().to_string(),
                s["sni"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Samples C and B: the client's script records the handshakes it abandoned on the
/// certificate with certificate_unknown (46); the chain sent is the one the samples were made
/// with (make/pki, leaf + issuing CA); tshark places the Certificate and the alert.
#[test]
fn samples_show_the_client_abort_after_the_certificate() {
    let refs = reference();
    for (capture, pki_chain) in [
        ("C-cert-mismatch", "cert-ext-bad.chain.pem"),
        ("B-external-home-pool-redirect", "cert-www.chain.pem"),
    ] {
        let script: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(sample(&format!("lync/{capture}.script.json"))).unwrap(),
        )
        .unwrap();
        let expected = scripted_aborts(&script);
        assert!(!expected.is_empty(), "{capture}: the script records aborts");
        let a = analyze_with(&sample(&format!("lync/{capture}.pcapng")), &[]);
        let aborted: Vec<&Connection> = a
            .connections
            .iter()
            .filter(|c| c.tls.as_ref().is_some_and(|t| t.client_abort.is_some()))
            .collect();
        let got: Vec<(String, String)> = aborted
            .iter()
            .map(|c| {
                let sni = c
                    .tls
                    .as_ref()
                    .and_then(|t| t.sni.clone())
                    .unwrap_or_default();
                (c.server.to_string(), sni)
            })
            .collect();
        assert_eq!(got, expected, "{capture}");

        let pki: Vec<String> = pem_certificates(&sample(&format!("lync/make/pki/{pki_chain}")))
            .iter()
            .map(|d| sha256_hex(d))
            .collect();
        let r = &refs[&format!("samples/{capture}.pcapng")];
        for c in aborted {
            let t = c.tls.as_ref().unwrap();
            assert!(t.client_hello && t.server_hello, "{capture}");
            let sent: Vec<&str> = t.chain.iter().map(|x| x.sha256.as_str()).collect();
            assert_eq!(sent, pki, "{capture}: the chain is {pki_chain}");
            // The root is not sent (README: chain sent = leaf + issuing CA).
            assert!(t.chain_incomplete(), "{capture}");
            assert_eq!(
                t.unknown_issuer(),
                Some(t.chain[1].certificate.issuer.as_str())
            );
            assert!(t.chain[0].issuer_in_chain && !t.chain[1].issuer_in_chain);

            let abort = t.client_abort.unwrap();
            assert_eq!(abort.by, AbortBy::Alert(46), "{capture}");
            let server = c.server.to_string();
            let cert_frame = r
                .chains
                .keys()
                .find(|(f, from)| *from == server && *f >= c.first_frame.0 && *f <= c.last_frame.0)
                .map(|(f, _)| *f)
                .expect("tshark's Certificate frame");
            assert_eq!(abort.after_certificate.frame.0, cert_frame, "{capture}");
            let client = c.client.to_string();
            let alert = r
                .alerts
                .iter()
                .find(|(_, from, _, _)| *from == client)
                .expect("tshark's alert");
            assert_eq!(abort.at.frame.0, alert.0, "{capture}");
            assert_eq!(t.alerts.len(), 1, "{capture}");
            let x = t.alerts[0];
            assert_eq!((x.level, x.description), (alert.2, alert.3));
            assert!(
                x.is_fatal() && x.in_clear,
                "{capture}: before any ChangeCipherSpec"
            );
            assert_eq!(x.name(), "certificate_unknown");
        }
        // The client went on wherever it sent a request.
        for c in &a.connections {
            if !c.exchanges.is_empty() {
                assert_eq!(c.tls.as_ref().and_then(|t| t.client_abort), None);
            }
        }
    }
}

/// A real public chain (httpbin.org, 2021: leaf, Amazon intermediate, Amazon root cross-signed
/// by Starfield, Starfield root cross-signed by Go Daddy class 2; tshark lists four): each
/// certificate's issuer is the next one's subject, the last one's issuer is not sent.
#[test]
fn a_public_chain_links_up_to_an_issuer_not_sent() {
    let Some(dir) = corpus() else { return };
    let a = analyze_with(
        &dir.join("scapy/tls_tcp_frag_withnss.pcap"),
        &[dir.join("scapy/tls_tcp_frag_withnss.keys.txt")],
    );
    let t = a.connections[0].tls.as_ref().unwrap();
    assert_eq!(t.chain.len(), 4);
    for pair in t.chain.windows(2) {
        assert_eq!(pair[0].certificate.issuer, pair[1].certificate.subject);
        assert!(pair[0].issuer_in_chain);
    }
    assert!(!t.chain[3].issuer_in_chain && !t.chain[3].self_signed);
    assert_eq!(
        t.unknown_issuer(),
        Some(t.chain[3].certificate.issuer.as_str())
    );
    assert!(t.client_abort.is_none() && t.decrypted);
}

// --- Synthetic handshakes (RFC 5246 §7.4) for what no capture shows ---

fn record(content_type: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![content_type, 3, 3];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

fn handshake(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

fn client_hello() -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&[1u8; 32]);
    b.push(0); // session id
    b.extend_from_slice(&[0, 2, 0xc0, 0x2f]); // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    b.extend_from_slice(&[1, 0]); // compression: null
    record(22, &handshake(1, &b))
}

/// ServerHello, Certificate (the test certificate of tests/data/keys), ServerHelloDone.
fn server_flight() -> Vec<u8> {
    let mut hello = vec![3, 3];
    hello.extend_from_slice(&[2u8; 32]);
    hello.push(0);
    hello.extend_from_slice(&[0xc0, 0x2f, 0]);
    let cert = std::fs::read(data("keys/cert.der")).unwrap();
    let mut list = (cert.len() as u32).to_be_bytes()[1..].to_vec();
    list.extend_from_slice(&cert);
    let mut certificate = (list.len() as u32).to_be_bytes()[1..].to_vec();
    certificate.extend_from_slice(&list);
    let mut flight = handshake(2, &hello);
    flight.extend(handshake(11, &certificate));
    flight.extend(handshake(14, &[]));
    record(22, &flight)
}

/// A connection up to the server's first flight, then `then` (frames it adds); the TLS facts
/// and the number of frames written before `then`.
fn synthetic(then: impl FnOnce(&mut Capture, &mut Peer, &mut Peer)) -> (TlsInfo, u64) {
    let mut cap = Capture::new();
    let mut c = synth::client(50000, 1000);
    let mut s = Peer {
        port: 443,
        ..synth::server(9000)
    };
    cap.connect(&mut c, &mut s);
    cap.send(&mut c, &mut s, &client_hello(), 1400);
    cap.send(&mut s, &mut c, &server_flight(), 1400);
    let before = cap.frame_count() as u64;
    then(&mut cap, &mut c, &mut s);
    let dir = tempfile::tempdir().unwrap();
    let path = cap.write(dir.path(), "tls.pcap");
    let a = analyze_with(&path, &[]);
    let t = a.connections[0].tls.clone().expect("a TLS connection");
    (t, before)
}

#[test]
fn a_client_that_closes_after_the_certificate_aborted() {
    let (t, before) = synthetic(|cap, c, s| {
        cap.segment(c, s, "FA", b"");
    });
    assert!(t.client_hello && t.server_hello);
    assert_eq!(t.chain.len(), 1);
    assert!(
        t.chain[0].self_signed,
        "the test certificate is `openssl req -x509`"
    );
    assert!(!t.chain_incomplete());
    let abort = t.client_abort.expect("an abort");
    assert_eq!(abort.by, AbortBy::Fin);
    assert_eq!(abort.at.frame.0, before + 1);
    assert_eq!(Some(abort.after_certificate.frame.0), certificate_frame(&t));
}

#[test]
fn a_client_that_resets_after_the_certificate_aborted() {
    let (t, before) = synthetic(|cap, c, s| {
        cap.segment(c, s, "R", b"");
    });
    let abort = t.client_abort.expect("an abort");
    assert_eq!((abort.by, abort.at.frame.0), (AbortBy::Rst, before + 1));
}

#[test]
fn a_client_alert_after_the_certificate_is_the_abort() {
    let (t, before) = synthetic(|cap, c, s| {
        cap.send(c, s, &record(21, &[2, 48]), 1400);
        cap.segment(c, s, "FA", b"");
    });
    let abort = t.client_abort.expect("an abort");
    assert_eq!(
        (abort.by, abort.at.frame.0),
        (AbortBy::Alert(48), before + 1)
    );
    assert_eq!(t.alerts.len(), 1);
    assert_eq!(t.alerts[0].name(), "unknown_ca");
    assert_eq!(t.alerts[0].from, Dir::ClientToServer);
    assert!(t.alerts[0].in_clear && t.alerts[0].is_fatal());
}

#[test]
fn a_server_that_resets_is_no_client_abort() {
    let (t, _) = synthetic(|cap, c, s| {
        cap.segment(s, c, "R", b"");
    });
    assert_eq!(t.client_abort, None);
}

#[test]
fn a_client_that_goes_on_did_not_abort() {
    let (t, _) = synthetic(|cap, c, s| {
        // ClientKeyExchange (an ECDHE point of any length will do here), then close.
        cap.send(c, s, &record(22, &handshake(16, &[4, 1, 2, 3, 4])), 1400);
        cap.segment(c, s, "FA", b"");
    });
    assert_eq!(t.client_abort, None);
    assert!(t
        .handshake_messages
        .iter()
        .any(|m| m.from == Dir::ClientToServer && m.kind == 16));
}

#[test]
fn a_client_hello_never_answered() {
    let mut cap = Capture::new();
    let mut c = synth::client(50001, 1000);
    let mut s = Peer {
        port: 443,
        ..synth::server(9000)
    };
    cap.connect(&mut c, &mut s);
    cap.send(&mut c, &mut s, &client_hello(), 1400);
    cap.segment(&mut c, &s, "FA", b"");
    let dir = tempfile::tempdir().unwrap();
    let a = analyze_with(&cap.write(dir.path(), "hello.pcap"), &[]);
    let t = a.connections[0].tls.as_ref().unwrap();
    assert!(t.client_hello && !t.server_hello);
    assert!(t.chain.is_empty() && t.alerts.is_empty());
    // No Certificate: closing is no abort on it.
    assert_eq!(t.client_abort, None);
    assert_eq!(t.handshake_messages.len(), 1);
    assert_eq!(t.handshake_messages[0].name(), "ClientHello");
}

/// The Markdown report's Connections section lists the handshakes of sample C that carried no
/// HTTP, with the abort the script records; the timeline's status line for such a connection
/// says it too.
#[test]
fn reports_and_the_status_line_show_the_abort() {
    use lyncscope::presentation::timeline::{item_title, Item};
    let a = analyze_with(&sample("lync/C-cert-mismatch.pcapng"), &[]);
    let mut md = Vec::new();
    lyncscope::report::markdown::write_markdown(&a, &Default::default(), &[], &mut md).unwrap();
    let md = String::from_utf8(md).unwrap();
    let start = md.find("## Connections").expect("the section");
    let section = &md[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 3)];
    let tls: Vec<_> = a.connections.iter().filter(|c| c.tls.is_some()).collect();
    // The script's TLS attempts, each refused by the client after the Certificate.
    let script = std::fs::read_to_string(sample("lync/C-cert-mismatch.script.json")).unwrap();
    let script: serde_json::Value = serde_json::from_str(&script).unwrap();
    let refused = script["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "tcp" && s["alert"] == "certificate_unknown (46)")
        .count();
    assert_eq!(tls.len(), refused);
    for c in tls {
        let head = format!("- **C{}** {} → {}", c.id.0, c.client, c.server);
        let from = section
            .find(&head)
            .unwrap_or_else(|| panic!("{head}\n{section}"));
        let entry = &section[from + head.len()..];
        let entry = &entry[..entry.find("\n- **C").unwrap_or(entry.len())];
        assert!(
            entry.contains("**Client abort:** after the server's Certificate"),
            "{entry}"
        );
        assert!(
            entry.contains("**TLS alerts:** client fatal certificate\\_unknown (46)"),
            "{entry}"
        );
    }
    assert!(
        !md.contains("TLS handshakes without HTTP"),
        "one section, not two"
    );
    let aborted = a
        .connections
        .iter()
        .find(|c| c.tls.as_ref().is_some_and(|t| t.client_abort.is_some()))
        .unwrap();
    let title = item_title(&a, Item::Connection(aborted.id)).unwrap();
    assert!(
        title.contains("client aborted after the Certificate: alert certificate_unknown (46)"),
        "{title}"
    );
}

// --- TLS 1.3 without keys (RFC 8446): the certificate and the client's alert are encrypted ---

/// A TLS 1.3 ClientHello (RFC 8446 §4.1.2): legacy_version 0x0303, `supported_versions`
/// (43) offering 0x0304, the suites TLS_AES_128_GCM_SHA256 (0x1301) and
/// TLS_AES_128_CCM_8_SHA256 (0x1305).
fn client_hello_13() -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&[7u8; 32]);
    b.push(0);
    b.extend_from_slice(&[0, 4, 0x13, 0x01, 0x13, 0x05]);
    b.extend_from_slice(&[1, 0]);
    let ext = [0, 43, 0, 3, 2, 3, 4];
    b.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    b.extend_from_slice(&ext);
    record(22, &handshake(1, &b))
}

/// A TLS 1.3 ServerHello choosing `suite`, `supported_versions` = 0x0304; with `psk` the
/// `pre_shared_key` extension (41) says a resumption: no Certificate follows.
fn server_hello_13(suite: u16, psk: bool) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&[8u8; 32]);
    b.push(0);
    b.extend_from_slice(&suite.to_be_bytes());
    b.push(0);
    let mut ext = vec![0, 43, 0, 2, 3, 4];
    if psk {
        ext.extend_from_slice(&[0, 41, 0, 2, 0, 0]);
    }
    b.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    b.extend_from_slice(&ext);
    record(22, &handshake(2, &b))
}

/// An encrypted TLS 1.3 record (RFC 8446 §5.2): outer type application_data (23), legacy
/// version 0x0303, `len` bytes of ciphertext and tag (random-looking here: no keys anyway).
fn opaque_13(len: usize) -> Vec<u8> {
    record(
        23,
        &(0..len).map(|i| (i * 37 + 11) as u8).collect::<Vec<_>>(),
    )
}

/// RFC 8446 §5.2: an encrypted alert is 2 alert bytes + 1 content-type byte + the AEAD tag
/// (16 bytes for AES-GCM, 8 for AES-CCM-8).
const ALERT_RECORD_13: usize = 2 + 1 + 16;
const ALERT_RECORD_13_CCM8: usize = 2 + 1 + 8;
/// A client Finished under SHA-256: 4-byte header + 32-byte verify_data, + type byte + tag.
const FINISHED_RECORD_13: usize = 4 + 32 + 1 + 16;

/// A TLS 1.3 connection up to the server's encrypted flight (EncryptedExtensions,
/// Certificate, CertificateVerify, Finished: one record of 2,400 bytes, as servers send it),
/// then `then`. No key log.
fn synthetic_13(
    suite: u16,
    psk: bool,
    then: impl FnOnce(&mut Capture, &mut Peer, &mut Peer),
) -> (TlsInfo, u64) {
    let mut cap = Capture::new();
    let mut c = synth::client(50010, 1000);
    let mut s = Peer {
        port: 443,
        ..synth::server(9000)
    };
    cap.connect(&mut c, &mut s);
    cap.send(&mut c, &mut s, &client_hello_13(), 1400);
    let mut flight = server_hello_13(suite, psk);
    flight.extend(record(20, &[1])); // middlebox-compatibility ChangeCipherSpec
    flight.extend(opaque_13(2400));
    cap.send(&mut s, &mut c, &flight, 1400);
    let before = cap.frame_count() as u64;
    then(&mut cap, &mut c, &mut s);
    let dir = tempfile::tempdir().unwrap();
    let a = analyze_with(&cap.write(dir.path(), "tls13.pcap"), &[]);
    let t = a.connections[0].tls.clone().expect("a TLS connection");
    (t, before)
}

#[test]
fn tls13_an_alert_sized_record_after_the_encrypted_flight_is_an_abort() {
    let (t, before) = synthetic_13(0x1301, false, |cap, c, s| {
        let mut bytes = record(20, &[1]);
        bytes.extend(opaque_13(ALERT_RECORD_13));
        cap.send(c, s, &bytes, 1400);
        cap.segment(c, s, "FA", b"");
    });
    assert_eq!(t.version.as_deref(), Some("TLS 1.3"));
    assert!(t.certificate.is_none() && t.chain.is_empty() && t.alerts.is_empty());
    let abort = t.client_abort.expect("an abort");
    assert_eq!(abort.by, AbortBy::EncryptedAlert);
    assert!(abort.certificate_encrypted);
    assert_eq!(abort.at.frame.0, before + 1);
    // The flight's first record arrived in the server's frames before the client's.
    assert!(abort.after_certificate.frame.0 <= before);
}

#[test]
fn tls13_the_alert_length_follows_the_suite_tag() {
    let (t, _) = synthetic_13(0x1305, false, |cap, c, s| {
        cap.send(c, s, &opaque_13(ALERT_RECORD_13_CCM8), 1400);
        cap.segment(c, s, "FA", b"");
    });
    assert_eq!(t.client_abort.map(|a| a.by), Some(AbortBy::EncryptedAlert));
    // With a 16-byte-tag suite an 11-byte record is no alert: the client went on.
    let (t, _) = synthetic_13(0x1301, false, |cap, c, s| {
        cap.send(c, s, &opaque_13(ALERT_RECORD_13_CCM8), 1400);
        cap.segment(c, s, "FA", b"");
    });
    assert_eq!(t.client_abort, None);
}

#[test]
fn tls13_closing_after_the_encrypted_flight_is_an_abort() {
    let (t, before) = synthetic_13(0x1301, false, |cap, c, s| {
        cap.segment(c, s, "FA", b"");
    });
    let abort = t.client_abort.expect("an abort");
    assert_eq!((abort.by, abort.at.frame.0), (AbortBy::Fin, before + 1));
    assert!(abort.certificate_encrypted);
    let (t, _) = synthetic_13(0x1301, false, |cap, c, s| {
        cap.segment(c, s, "R", b"");
    });
    assert_eq!(t.client_abort.map(|a| a.by), Some(AbortBy::Rst));
}

#[test]
fn tls13_a_client_that_sends_its_finished_did_not_abort() {
    let (t, _) = synthetic_13(0x1301, false, |cap, c, s| {
        let mut bytes = opaque_13(FINISHED_RECORD_13);
        bytes.extend(opaque_13(300)); // a request
        cap.send(c, s, &bytes, 1400);
        cap.segment(c, s, "FA", b"");
    });
    assert_eq!(t.client_abort, None);
    // Its Finished alone, then a close (a host-name check after the handshake): no abort
    // on the certificate either (docs/checks.md C-CERT-7, OkHttp).
    let (t, _) = synthetic_13(0x1301, false, |cap, c, s| {
        cap.send(c, s, &opaque_13(FINISHED_RECORD_13), 1400);
        cap.segment(c, s, "FA", b"");
    });
    assert_eq!(t.client_abort, None);
}

#[test]
fn tls13_a_resumption_has_no_certificate_to_refuse() {
    let (t, _) = synthetic_13(0x1301, true, |cap, c, s| {
        cap.send(c, s, &opaque_13(ALERT_RECORD_13), 1400);
        cap.segment(c, s, "FA", b"");
    });
    assert_eq!(t.client_abort, None);
}

#[test]
fn tls13_a_server_that_closes_is_no_client_abort() {
    let (t, _) = synthetic_13(0x1301, false, |cap, c, s| {
        cap.segment(s, c, "FA", b"");
        cap.segment(c, s, "FA", b"");
    });
    assert_eq!(t.client_abort, None);
}

/// Sample L (samples/lync/README.md): H on TLS 1.3 without a key log. Its script records the
/// two handshakes the phone abandoned with unknown_ca; the mock client's OpenSSL sends that
/// alert in clear (before its own handshake keys are in use), after the server's encrypted
/// flight. So the abort is read although the certificate is not. (The encrypted-alert form is
/// the synthetic `tls13_…` tests above: the samples' standard-library client cannot make it.)
#[test]
fn sample_l_aborts_after_the_encrypted_flight() {
    let script: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sample("lync/L-untrusted-ca-tls13.script.json")).unwrap(),
    )
    .unwrap();
    let expected = scripted_aborts(&script);
    assert_eq!(expected.len(), 2, "the script records two aborts");
    let a = analyze_with(&sample("lync/L-untrusted-ca-tls13.pcapng"), &[]);
    let aborted: Vec<&Connection> = a
        .connections
        .iter()
        .filter(|c| c.tls.as_ref().is_some_and(|t| t.client_abort.is_some()))
        .collect();
    let got: Vec<(String, String)> = aborted
        .iter()
        .map(|c| {
            let sni = c
                .tls
                .as_ref()
                .and_then(|t| t.sni.clone())
                .unwrap_or_default();
            (c.server.to_string(), sni)
        })
        .collect();
    assert_eq!(got, expected);
    for c in aborted {
        let t = c.tls.as_ref().unwrap();
        assert_eq!(t.version.as_deref(), Some("TLS 1.3"));
        assert!(t.certificate.is_none() && t.chain.is_empty(), "encrypted");
        let abort = t.client_abort.unwrap();
        assert_eq!(abort.by, AbortBy::Alert(48));
        assert!(abort.certificate_encrypted);
        assert!(abort.after_certificate.frame < abort.at.frame);
        assert_eq!(t.alerts.len(), 1);
        assert!(t.alerts[0].in_clear && t.alerts[0].from == Dir::ClientToServer);
    }
}
