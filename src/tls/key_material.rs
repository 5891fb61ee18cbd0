//! The key material of one analysis (key log and RSA keys), shared read-only by every TLS
//! connection, and which RSA keys matched a server certificate.

use super::keylog::{KeyLog, KeySource};
use super::keys::{load_rsa_keys, RsaKey};
use crate::error::KeyError;
use crate::model::{Diagnostic, Severity};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// Gathers an analysis' key material before the pass over the packets: key log files, key
/// logs embedded in the captures (pcapng Decryption Secrets Blocks) and RSA key files.
/// Unreadable files are errors; malformed lines are counted in diagnostics.
#[derive(Default)]
pub struct KeyLoader {
    keylog: KeyLog,
    rsa: Vec<RsaKey>,
    diagnostics: Vec<Diagnostic>,
}

impl KeyLoader {
    pub fn new() -> KeyLoader {
        KeyLoader::default()
    }

    /// An NSS key log file (SSLKEYLOGFILE format).
    pub fn keylog_file(&mut self, path: &Path) -> Result<(), KeyError> {
        let counts = self.keylog.add_file(path)?;
        if counts.malformed > 0 {
            self.diagnostics.push(Diagnostic::new(
                Severity::Warning,
                format!(
                    "key log {}: {} malformed lines skipped ({} read)",
                    path.display(),
                    counts.malformed,
                    counts.lines
                ),
            ));
        }
        Ok(())
    }

    /// A key log embedded in input `input` (a pcapng Decryption Secrets Block).
    pub fn embedded_keylog(&mut self, input: usize, text: &str) {
        let source = KeySource("key log embedded in the capture (pcapng DSB)".to_string());
        let counts = self.keylog.add_text(text, &source);
        if counts.malformed > 0 {
            self.diagnostics.push(Diagnostic {
                input: Some(input),
                ..Diagnostic::new(
                    Severity::Warning,
                    format!(
                        "embedded key log: {} malformed lines skipped",
                        counts.malformed
                    ),
                )
            });
        }
    }

    /// A file of RSA private keys (PEM, DER, or PKCS#12 with `password`).
    pub fn rsa_file(&mut self, path: &Path, password: Option<&str>) -> Result<(), KeyError> {
        self.rsa.extend(load_rsa_keys(path, password)?);
        Ok(())
    }

    /// The material, and the diagnostics about what was skipped.
    pub fn finish(self) -> (KeyMaterial, Vec<Diagnostic>) {
        (KeyMaterial::new(self.keylog, self.rsa), self.diagnostics)
    }
}

/// All key material given for an analysis, shared read-only by every connection.
#[derive(Default)]
pub struct KeyMaterial {
    pub keylog: KeyLog,
    pub rsa: Vec<RsaKey>,
    /// Per RSA key: it matched some server certificate (so a key that matches nothing can be
    /// reported: the usual sign of the wrong server's key).
    matched: Vec<AtomicBool>,
}

impl KeyMaterial {
    pub fn new(keylog: KeyLog, rsa: Vec<RsaKey>) -> KeyMaterial {
        let matched = rsa.iter().map(|_| AtomicBool::new(false)).collect();
        KeyMaterial {
            keylog,
            rsa,
            matched,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.keylog.is_empty() && self.rsa.is_empty()
    }

    /// Notes which RSA keys belong to this server certificate.
    pub fn note_certificate(&self, cert_der: &[u8]) {
        for (k, m) in self.rsa.iter().zip(&self.matched) {
            if !m.load(Ordering::Relaxed) && k.matches_certificate(cert_der) {
                m.store(true, Ordering::Relaxed);
            }
        }
    }

    /// A warning per RSA key that matched no server certificate: the usual sign of the wrong
    /// server's key.
    pub fn unmatched_key_diagnostics(&self) -> Vec<Diagnostic> {
        self.unmatched_rsa_keys()
            .map(|k| {
                Diagnostic::new(
                    Severity::Warning,
                    format!(
                        "{} matches no server certificate in the capture: is it the right server's key?",
                        k.source().0
                    ),
                )
            })
            .collect()
    }

    /// The RSA keys that matched no server certificate seen so far.
    pub fn unmatched_rsa_keys(&self) -> impl Iterator<Item = &RsaKey> {
        self.rsa
            .iter()
            .zip(&self.matched)
            .filter(|(_, m)| !m.load(Ordering::Relaxed))
            .map(|(k, _)| k)
    }
}
