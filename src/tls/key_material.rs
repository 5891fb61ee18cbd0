//! The key material of one analysis (key log and RSA keys), shared read-only by every TLS
//! connection, and which RSA keys matched a server certificate.

use super::keylog::KeyLog;
use super::keys::RsaKey;
use std::sync::atomic::{AtomicBool, Ordering};

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

    /// The RSA keys that matched no server certificate seen so far.
    pub fn unmatched_rsa_keys(&self) -> impl Iterator<Item = &RsaKey> {
        self.rsa
            .iter()
            .zip(&self.matched)
            .filter(|(_, m)| !m.load(Ordering::Relaxed))
            .map(|(k, _)| k)
    }
}
