//! NSS key log files (the `SSLKEYLOGFILE` format written by browsers, curl, OpenSSL and
//! Wireshark's "Export TLS Session Keys"; specified in draft-ietf-tls-keylogfile).
//!
//! Each line is `<label> <client random, 64 hex> <secret, hex>`. The secrets are indexed by the
//! client random, which the TLS layer reads from the ClientHello.

use super::key_file::read_bounded;
pub use super::key_file::KeySource;
use crate::error::KeyError;
use std::collections::HashMap;
use std::path::Path;

/// The TLS 1.3 secrets a key log can hold (RFC 8446 §7.1 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tls13Secret {
    ClientEarly,
    ClientHandshake,
    ServerHandshake,
    /// `CLIENT_TRAFFIC_SECRET_N`: application traffic secret after N key updates.
    ClientTraffic(u32),
    /// `SERVER_TRAFFIC_SECRET_N`.
    ServerTraffic(u32),
    Exporter,
}

/// What one batch of key log text contained.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LoadCounts {
    /// Key lines read (not counting blank lines and `#` comments).
    pub lines: usize,
    /// Lines whose secret was kept. Well-formed lines with a label that decryption does not need
    /// (`EARLY_EXPORTER_SECRET`, `ECH_SECRET`, `ECH_CONFIG`) count in neither `used` nor
    /// `malformed`.
    pub used: usize,
    /// Lines skipped: unknown label, bad hex, wrong length, wrong number of fields.
    pub malformed: usize,
}

/// Key log files larger than this are refused: real ones hold at most a few hundred thousand
/// lines of under 250 bytes, and the whole file is read into memory.
pub const MAX_KEYLOG_FILE: u64 = 256 * 1024 * 1024;

/// TLS 1.3 secrets are one hash long: 32 (SHA-256) or 48 (SHA-384) bytes; 64 allows SHA-512
/// based suites should one appear.
const MAX_TLS13_SECRET: usize = 64;

/// A TLS 1.3 secret stored inline, so that loading a large key log does not allocate per line.
#[derive(Debug, Clone, Copy)]
struct Secret {
    bytes: [u8; MAX_TLS13_SECRET],
    len: u8,
    source: u32,
}

/// An NSS key log. Thread-safe to share read-only (`Arc`).
#[derive(Debug, Default)]
pub struct KeyLog {
    /// Key sources, indexed by the `u32` stored with each secret (one string per file, not per
    /// line).
    sources: Vec<KeySource>,
    /// `CLIENT_RANDOM`: TLS ≤ 1.2 master secret by client random.
    masters: HashMap<[u8; 32], ([u8; 48], u32)>,
    /// TLS 1.3 secrets by client random and kind.
    tls13: HashMap<([u8; 32], Tls13Secret), Secret>,
    /// `RSA`: premaster by the first 8 bytes of the encrypted premaster.
    rsa: HashMap<[u8; 8], ([u8; 48], u32)>,
}

/// How one line was classified.
enum Line {
    Master([u8; 32], [u8; 48]),
    Tls13([u8; 32], Tls13Secret, [u8; MAX_TLS13_SECRET], usize),
    Rsa([u8; 8], [u8; 48]),
    /// Well-formed, but not needed for decryption.
    Ignored,
}

impl KeyLog {
    pub fn new() -> KeyLog {
        KeyLog::default()
    }

    /// Adds every line of `text`. Accepts `CLIENT_RANDOM` (48-byte master secret),
    /// `CLIENT_EARLY_TRAFFIC_SECRET`, `CLIENT_HANDSHAKE_TRAFFIC_SECRET`,
    /// `SERVER_HANDSHAKE_TRAFFIC_SECRET`, `CLIENT_TRAFFIC_SECRET_N`, `SERVER_TRAFFIC_SECRET_N`
    /// (any N), `EXPORTER_SECRET`, and the old `RSA <16 hex: first 8 bytes of the encrypted
    /// premaster> <96 hex premaster>` form. `EARLY_EXPORTER_SECRET`, `ECH_SECRET` and
    /// `ECH_CONFIG` are recognised and skipped. Blank lines and `#` comments are skipped
    /// silently; any other line that does not parse counts as malformed. CRLF line ends and
    /// surrounding whitespace are tolerated. When a secret appears twice, the first one is kept.
    pub fn add_text(&mut self, text: &str, source: &KeySource) -> LoadCounts {
        let mut counts = LoadCounts::default();
        let mut source_index = None;
        for raw in text.lines() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            counts.lines += 1;
            let Some(parsed) = parse_line(line) else {
                counts.malformed += 1;
                continue;
            };
            if matches!(parsed, Line::Ignored) {
                continue;
            }
            counts.used += 1;
            let src = *source_index.get_or_insert_with(|| self.intern(source));
            match parsed {
                Line::Master(random, master) => {
                    self.masters.entry(random).or_insert((master, src));
                }
                Line::Tls13(random, which, bytes, len) => {
                    // `len` ≤ MAX_TLS13_SECRET = 64, checked by the parser.
                    let len = u8::try_from(len).unwrap_or(0);
                    self.tls13.entry((random, which)).or_insert(Secret {
                        bytes,
                        len,
                        source: src,
                    });
                }
                Line::Rsa(prefix, premaster) => {
                    self.rsa.entry(prefix).or_insert((premaster, src));
                }
                Line::Ignored => {}
            }
        }
        counts
    }

    /// Reads a key log file. Files over [`MAX_KEYLOG_FILE`] (256 MiB) are refused with
    /// [`KeyError::TooLarge`]. Bytes that are not UTF-8 only spoil the lines they are on.
    pub fn add_file(&mut self, path: &Path) -> Result<LoadCounts, KeyError> {
        let bytes = read_bounded(path, MAX_KEYLOG_FILE)?;
        let text = String::from_utf8_lossy(&bytes);
        let source = KeySource(format!("key log {}", path.display()));
        Ok(self.add_text(&text, &source))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of secrets held (master secrets, TLS 1.3 secrets and RSA premasters).
    pub fn len(&self) -> usize {
        self.masters.len() + self.tls13.len() + self.rsa.len()
    }

    /// The TLS ≤ 1.2 master secret of the session with this client random.
    pub fn master_secret(&self, client_random: &[u8; 32]) -> Option<(&[u8; 48], &KeySource)> {
        let (master, src) = self.masters.get(client_random)?;
        Some((master, self.source(*src)?))
    }

    /// A TLS 1.3 secret of the connection with this client random.
    pub fn tls13_secret(
        &self,
        client_random: &[u8; 32],
        which: Tls13Secret,
    ) -> Option<(&[u8], &KeySource)> {
        let secret = self.tls13.get(&(*client_random, which))?;
        let bytes = secret.bytes.get(..usize::from(secret.len))?;
        Some((bytes, self.source(secret.source)?))
    }

    /// The premaster of a static-RSA key exchange, matched on the first 8 bytes of the
    /// encrypted premaster (the ClientKeyExchange body without its length prefix).
    pub fn rsa_premaster(&self, encrypted_premaster: &[u8]) -> Option<(&[u8], &KeySource)> {
        let prefix: [u8; 8] = encrypted_premaster.get(..8)?.try_into().ok()?;
        let (premaster, src) = self.rsa.get(&prefix)?;
        Some((premaster.as_slice(), self.source(*src)?))
    }

    fn source(&self, index: u32) -> Option<&KeySource> {
        self.sources.get(usize::try_from(index).ok()?)
    }

    /// The index of `source`, adding it if new.
    fn intern(&mut self, source: &KeySource) -> u32 {
        if let Some(i) = self.sources.iter().position(|s| s == source) {
            return u32::try_from(i).unwrap_or(u32::MAX);
        }
        self.sources.push(source.clone());
        u32::try_from(self.sources.len() - 1).unwrap_or(u32::MAX)
    }
}

/// Parses one trimmed, non-comment line.
fn parse_line(line: &str) -> Option<Line> {
    let mut fields = line.split_ascii_whitespace();
    let label = fields.next()?;
    let first = fields.next()?;
    let second = fields.next()?;
    if fields.next().is_some() {
        return None;
    }
    if label == "CLIENT_RANDOM" {
        return Some(Line::Master(hex_array(first)?, hex_array(second)?));
    }
    if label == "RSA" {
        return Some(Line::Rsa(hex_array(first)?, hex_array(second)?));
    }
    let which = match label {
        "CLIENT_EARLY_TRAFFIC_SECRET" => Some(Tls13Secret::ClientEarly),
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => Some(Tls13Secret::ClientHandshake),
        "SERVER_HANDSHAKE_TRAFFIC_SECRET" => Some(Tls13Secret::ServerHandshake),
        "EXPORTER_SECRET" => Some(Tls13Secret::Exporter),
        "EARLY_EXPORTER_SECRET" | "ECH_SECRET" | "ECH_CONFIG" => None,
        _ => {
            if let Some(n) = label.strip_prefix("CLIENT_TRAFFIC_SECRET_") {
                Some(Tls13Secret::ClientTraffic(decimal(n)?))
            } else if let Some(n) = label.strip_prefix("SERVER_TRAFFIC_SECRET_") {
                Some(Tls13Secret::ServerTraffic(decimal(n)?))
            } else {
                return None;
            }
        }
    };
    let random: [u8; 32] = hex_array(first)?;
    let Some(which) = which else {
        // ECH_CONFIG carries a whole ECHConfig, of any length: only check it is hex.
        return hex_len(second).map(|_| Line::Ignored);
    };
    let len = hex_len(second)?;
    if !matches!(len, 32 | 48 | 64) {
        return None;
    }
    let mut bytes = [0u8; MAX_TLS13_SECRET];
    decode_hex(second, bytes.get_mut(..len)?)?;
    Some(Line::Tls13(random, which, bytes, len))
}

/// A decimal key-update counter (`_0`, `_1`, ...); digits only.
fn decimal(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The byte length of a hex string, if it is non-empty, even and all hex digits.
fn hex_len(s: &str) -> Option<usize> {
    if s.is_empty() || !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(s.len() / 2)
}

/// Decodes a hex string of exactly `N` bytes.
fn hex_array<const N: usize>(s: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    decode_hex(s, &mut out)?;
    Some(out)
}

/// Decodes `s` into `out`, which must be exactly half as long (either case accepted).
fn decode_hex(s: &str, out: &mut [u8]) -> Option<()> {
    let digits = s.as_bytes();
    if digits.len() != out.len() * 2 {
        return None;
    }
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let [hi, lo] = pair else { return None };
        *byte = (nibble(*hi)? << 4) | nibble(*lo)?;
    }
    Some(())
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::corpus_file;

    fn hex(s: &str) -> Vec<u8> {
        let mut out = vec![0; s.len() / 2];
        decode_hex(s, &mut out).expect("test hex");
        out
    }

    fn random(s: &str) -> [u8; 32] {
        hex(s).try_into().expect("32 bytes")
    }

    /// Every key log named in the corpus MANIFEST.
    const CORPUS_KEYLOGS: &[&str] = &[
        "illustrated-tls12/keylog.txt",
        "illustrated-tls13/keylog.txt",
        "scapy/tls_nss_example.keys.txt",
        "scapy/tls_tcp_frag_withnss.keys.txt",
        "snet/TLS1_1_ECDHE-RSA-AES128-SHA.txt",
        "snet/TLS1_3_TLS_AES_128_CCM_8_SHA256.txt",
        "snet/TLS1_3_TLS_AES_128_CCM_SHA256.txt",
        "snet/TLS1_3_TLS_AES_128_GCM_SHA256.txt",
        "snet/TLS1_3_TLS_AES_256_GCM_SHA384.txt",
        "snet/TLS1_3_TLS_CHACHA20_POLY1305_SHA256.txt",
        "snet/TLS1_ECDHE-RSA-AES128-SHA.txt",
        "snet/TLS1_ECDHE-RSA-NULL-SHA.txt",
        "snet/keylog_AES128-CCM.txt",
        "snet/keylog_AES128-CCM8.txt",
        "snet/keylog_AES128-GCM-SHA256.txt",
        "snet/keylog_AES128-SHA256.txt",
        "snet/keylog_AES256-GCM-SHA384.txt",
        "snet/keylog_CAMELLIA128-SHA256.txt",
        "snet/keylog_DHE-RSA-AES128-GCM-SHA256.txt",
        "snet/keylog_DHE-RSA-CHACHA20-POLY1305.txt",
        "snet/keylog_ECDHE-ECDSA-AES128-CCM.txt",
        "snet/keylog_ECDHE-ECDSA-AES256-GCM-SHA384.txt",
        "snet/keylog_ECDHE-RSA-AES128-SHA256.txt",
        "snet/keylog_ECDHE-RSA-AES256-SHA384.txt",
        "snet/keylog_ECDHE-RSA-CHACHA20-POLY1305.txt",
        "snet/log.txt",
        "snet/mTLS1_2_RSA.txt",
        "snet/mTLS1_3_RSA.txt",
        "snet/ssl3_0.keylog",
        "snet/tls1_0.keylog",
        "snet/tls1_1.keylog",
        "snet/tls1_2.keylog",
        "snet/tls1_2_dhe_rsa.keylog",
        "wireshark-notes/all/premaster.txt",
        "wireshark-notes/ssl3/premaster.txt",
        "wireshark-notes/tls/http-chunked-ssl.keys.txt",
        "wireshark-notes/tls/http-no-content-length-ssl.keys.txt",
        "wireshark-notes/tls/http2-16-ssl.keys.txt",
        "wireshark-notes/tls/tls-null.keys.txt",
        "zeek/tls/tls-1.2-stream-keylog.keylog.txt",
        "zeek/tls/tls12-decryption.keylog.txt",
    ];

    #[test]
    fn corpus_keylogs_parse_without_malformed_lines() {
        for rel in CORPUS_KEYLOGS {
            let Some(path) = corpus_file(rel) else {
                return;
            };
            let mut log = KeyLog::new();
            let counts = log.add_file(&path).expect("readable");
            assert_eq!(counts.malformed, 0, "{rel}");
            assert!(counts.used > 0, "{rel}");
            assert_eq!(counts.used, counts.lines, "{rel}");
            // Every line of the file is found again by its client random.
            let text = std::fs::read_to_string(&path).expect("text");
            for line in text
                .lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            {
                let f: Vec<&str> = line.split_whitespace().collect();
                let (label, cr, secret) = (f[0], random(f[1]), hex(f[2]));
                let found = match label {
                    "CLIENT_RANDOM" => log.master_secret(&cr).map(|(m, _)| m.to_vec()),
                    "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => log
                        .tls13_secret(&cr, Tls13Secret::ClientHandshake)
                        .map(|(s, _)| s.to_vec()),
                    "SERVER_HANDSHAKE_TRAFFIC_SECRET" => log
                        .tls13_secret(&cr, Tls13Secret::ServerHandshake)
                        .map(|(s, _)| s.to_vec()),
                    "CLIENT_TRAFFIC_SECRET_0" => log
                        .tls13_secret(&cr, Tls13Secret::ClientTraffic(0))
                        .map(|(s, _)| s.to_vec()),
                    "SERVER_TRAFFIC_SECRET_0" => log
                        .tls13_secret(&cr, Tls13Secret::ServerTraffic(0))
                        .map(|(s, _)| s.to_vec()),
                    "EXPORTER_SECRET" => log
                        .tls13_secret(&cr, Tls13Secret::Exporter)
                        .map(|(s, _)| s.to_vec()),
                    other => panic!("{rel}: label {other} not covered by this test"),
                };
                assert_eq!(found, Some(secret), "{rel}: {line}");
            }
        }
    }

    #[test]
    fn wireshark_notes_premaster_counts() {
        let Some(path) = corpus_file("wireshark-notes/all/premaster.txt") else {
            return;
        };
        let mut log = KeyLog::new();
        let counts = log.add_file(&path).expect("readable");
        // `grep -c ^CLIENT_RANDOM` on the file: 146 lines, 146 distinct client randoms, plus 73
        // "# Cipher Suite ..." comment lines that are not counted.
        assert_eq!(
            counts,
            LoadCounts {
                lines: 146,
                used: 146,
                malformed: 0
            }
        );
        assert_eq!(log.len(), 146);
        // First key line of the file.
        let cr = random("52362c10a2665e323a2adb4b9da0c10d4a8823719272f8b4c97af24f92784812");
        let (master, source) = log.master_secret(&cr).expect("present");
        assert_eq!(
            master.to_vec(),
            hex("9F9A0F19A02BDDBE1A05926597D622CCA06D2AF416A28AD9C03163B87FF1B0C67824BBDB595B32D8027DB566EC04FB25")
        );
        assert_eq!(source.0, format!("key log {}", path.display()));
    }

    #[test]
    fn nss_example_tls12_and_tls13() {
        let Some(path) = corpus_file("scapy/tls_nss_example.keys.txt") else {
            return;
        };
        let mut log = KeyLog::new();
        let counts = log.add_file(&path).expect("readable");
        // One comment line, one CLIENT_RANDOM, five TLS 1.3 lines.
        assert_eq!(
            counts,
            LoadCounts {
                lines: 6,
                used: 6,
                malformed: 0
            }
        );
        let tls13 = random("74ef95570af6a305910ee6cb0f98fc5bcec0c5d5dffe5f293ae9a4d7ba2110f2");
        let (s, _) = log
            .tls13_secret(&tls13, Tls13Secret::ServerTraffic(0))
            .expect("present");
        assert_eq!(
            s.to_vec(),
            hex("c5f265aee5d17472c71fa889cfa351b12b9280bf74d16477161fd495c87432632908cae923e390d5d52a4719c2f896de")
        );
        assert!(log
            .tls13_secret(&tls13, Tls13Secret::ServerTraffic(1))
            .is_none());
        assert!(log.tls13_secret(&tls13, Tls13Secret::ClientEarly).is_none());
        assert!(log.master_secret(&tls13).is_none());
    }

    const CR: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const MASTER: &str = "9f9a0f19a02bddbe1a05926597d622cca06d2af416a28ad9c03163b87ff1b0c67824bbdb595b32d8027db566ec04fb25";
    const S32: &str = "9e47af27cb60d818a9ea7d233cb5ed4cc525fcd74614fb24b0ee59acb8e5aa7f";

    #[test]
    fn malformed_lines_are_counted_not_fatal() {
        let text = format!(
            "# a comment\n\
             \n\
             CLIENT_RANDOM {CR} {MASTER}\n\
             CLIENT_RANDOM {CR}zz {MASTER}\n\
             CLIENT_RANDOM 00{CR} {MASTER}\n\
             CLIENT_RANDOM {CR} {short}\n\
             CLIENT_RANDOM {bad_hex} {MASTER}\n\
             CLIENT_RANDOM {CR}\n\
             CLIENT_RANDOM {CR} {MASTER} extra\n\
             SERVER_HANDSHAKE_TRAFFIC_SECRET {CR} {odd}\n\
             CLIENT_TRAFFIC_SECRET_X {CR} {S32}\n\
             CLIENT_TRAFFIC_SECRET_ {CR} {S32}\n\
             CLIENT_HANDSHAKE_TRAFFIC_SECRET {CR} {twenty}\n\
             UNKNOWN_LABEL {CR} {S32}\n\
             RSA 0011223344 {MASTER}\n\
             garbage\n",
            short = &MASTER[..94],
            bad_hex = CR.replace('a', "g"),
            odd = &S32[..63],
            twenty = &S32[..40],
        );
        let mut log = KeyLog::new();
        let counts = log.add_text(&text, &KeySource("test".into()));
        assert_eq!(
            counts,
            LoadCounts {
                lines: 14,
                used: 1,
                malformed: 13
            }
        );
        assert_eq!(log.len(), 1);
        assert_eq!(
            log.master_secret(&random(CR)).map(|(m, _)| m.to_vec()),
            Some(hex(MASTER))
        );
    }

    #[test]
    fn crlf_whitespace_case_and_all_labels() {
        let text = format!(
            "  CLIENT_RANDOM {CR} {upper}  \r\n\
             CLIENT_EARLY_TRAFFIC_SECRET {CR} {S32}\r\n\
             CLIENT_HANDSHAKE_TRAFFIC_SECRET\t{CR}\t{S32}\r\n\
             SERVER_HANDSHAKE_TRAFFIC_SECRET {CR} {S32}\r\n\
             CLIENT_TRAFFIC_SECRET_0 {CR} {S32}\r\n\
             SERVER_TRAFFIC_SECRET_17 {CR} {MASTER}\r\n\
             EXPORTER_SECRET {CR} {S32}\r\n\
             EARLY_EXPORTER_SECRET {CR} {S32}\r\n\
             ECH_SECRET {CR} {S32}\r\n\
             RSA 0011223344556677 {MASTER}\r\n\
             # trailing comment\r\n",
            upper = MASTER.to_uppercase(),
        );
        let mut log = KeyLog::new();
        let source = KeySource("key log test.txt".into());
        let counts = log.add_text(&text, &source);
        assert_eq!(
            counts,
            LoadCounts {
                lines: 10,
                used: 8,
                malformed: 0
            }
        );
        let cr = random(CR);
        assert_eq!(
            log.master_secret(&cr).map(|(m, s)| (m.to_vec(), s)),
            Some((hex(MASTER), &source))
        );
        for which in [
            Tls13Secret::ClientEarly,
            Tls13Secret::ClientHandshake,
            Tls13Secret::ServerHandshake,
            Tls13Secret::ClientTraffic(0),
            Tls13Secret::Exporter,
        ] {
            assert_eq!(
                log.tls13_secret(&cr, which).map(|(s, _)| s.to_vec()),
                Some(hex(S32)),
                "{which:?}"
            );
        }
        assert_eq!(
            log.tls13_secret(&cr, Tls13Secret::ServerTraffic(17))
                .map(|(s, _)| s.to_vec()),
            Some(hex(MASTER))
        );
        let mut epms = hex("0011223344556677");
        epms.extend_from_slice(&[0xAB; 248]);
        assert_eq!(
            log.rsa_premaster(&epms).map(|(p, _)| p.to_vec()),
            Some(hex(MASTER))
        );
        assert!(log.rsa_premaster(&epms[..7]).is_none());
        assert!(log.rsa_premaster(&[0u8; 256]).is_none());
    }

    #[test]
    fn sources_and_first_entry_wins() {
        let mut log = KeyLog::new();
        let a = KeySource("key log a.txt".into());
        let b = KeySource("key log embedded in the capture (pcapng DSB)".into());
        log.add_text(&format!("CLIENT_RANDOM {CR} {MASTER}\n"), &a);
        let other = "11".repeat(48);
        let other_cr = "22".repeat(32);
        let counts = log.add_text(
            &format!("CLIENT_RANDOM {CR} {other}\nCLIENT_RANDOM {other_cr} {other}\n"),
            &b,
        );
        assert_eq!(counts.used, 2);
        assert_eq!(log.len(), 2);
        let (m, s) = log.master_secret(&random(CR)).expect("present");
        assert_eq!((m.to_vec(), s), (hex(MASTER), &a));
        let (_, s) = log.master_secret(&random(&other_cr)).expect("present");
        assert_eq!(s, &b);
        assert!(!log.is_empty());
        assert!(KeyLog::new().is_empty());
    }

    #[test]
    fn files_missing_huge_and_binary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.txt");
        assert!(matches!(
            KeyLog::new().add_file(&missing),
            Err(KeyError::Io { .. })
        ));

        // A sparse file just over the limit: refused before anything is read.
        let huge = dir.path().join("huge.txt");
        let f = std::fs::File::create(&huge).expect("create");
        f.set_len(MAX_KEYLOG_FILE + 1).expect("set_len");
        let err = KeyLog::new().add_file(&huge).expect_err("too large");
        assert!(matches!(err, KeyError::TooLarge { .. }));
        assert!(err.to_string().contains("too large"), "{err}");

        let binary = dir.path().join("binary.bin");
        let mut bytes: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        bytes.extend_from_slice(format!("\nCLIENT_RANDOM {CR} {MASTER}\n").as_bytes());
        std::fs::write(&binary, bytes).expect("write");
        let mut log = KeyLog::new();
        let counts = log.add_file(&binary).expect("readable");
        assert_eq!(counts.used, 1);
        assert!(counts.malformed > 0);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Any text loads without panicking, and every counted line is used, malformed or
        /// (recognised but unneeded) ignored.
        #[test]
        fn arbitrary_text_never_panics(text in "(CLIENT_RANDOM|RSA|[A-Z_0-9]{0,30}|#)?[ \t]?[0-9a-fA-FxX \t\r\n]{0,200}") {
            let mut log = KeyLog::new();
            let counts = log.add_text(&text, &KeySource("p".into()));
            proptest::prop_assert!(counts.used + counts.malformed <= counts.lines);
            proptest::prop_assert!(log.len() <= counts.used);
        }

        /// A well-formed line is always found again.
        #[test]
        fn generated_lines_round_trip(
            cr in proptest::array::uniform32(0u8..),
            secret in proptest::collection::vec(0u8.., 48),
            n in 0u32..1000,
            upper: bool,
        ) {
            let to_hex = |b: &[u8]| -> String {
                let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
                if upper { h.to_uppercase() } else { h }
            };
            let text = format!(
                "CLIENT_RANDOM {cr} {s}\r\nSERVER_TRAFFIC_SECRET_{n} {cr} {s}\n",
                cr = to_hex(&cr),
                s = to_hex(&secret)
            );
            let mut log = KeyLog::new();
            let counts = log.add_text(&text, &KeySource("p".into()));
            proptest::prop_assert_eq!(counts, LoadCounts { lines: 2, used: 2, malformed: 0 });
            proptest::prop_assert_eq!(log.master_secret(&cr).map(|(m, _)| m.to_vec()), Some(secret.clone()));
            let found = log.tls13_secret(&cr, Tls13Secret::ServerTraffic(n)).map(|(s, _)| s.to_vec());
            proptest::prop_assert_eq!(found, Some(secret));
        }
    }
}
