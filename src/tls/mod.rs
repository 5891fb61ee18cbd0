//! TLS: handshake facts, key material and record decryption, between TCP reassembly and
//! HTTP. A [`TlsConnection`] takes the two reassembled TCP streams of a connection and hands
//! the decrypted application data streams to the next layer.
//!
//! What decrypts what:
//! - an NSS key log (`--keylog`, `SSLKEYLOGFILE`, or a pcapng Decryption Secrets Block):
//!   any key exchange, every version (TLS 1.3 needs its traffic secrets);
//! - the server's RSA private key (`--key`, `--pfx`): only the static RSA key exchange
//!   (`TLS_RSA_WITH_…`), SSL 3.0 to TLS 1.2, and sessions resumed from such a connection;
//! - nothing decrypts (EC)DHE without a key log.

pub mod cipher;
pub mod handshake;
pub mod key_file;
pub mod keylog;
pub mod keys;
pub mod prf;
pub mod session;
pub mod suites;

pub use session::{TlsConnection, TlsOutput};

use keylog::KeyLog;
use keys::RsaKey;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

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

/// Master secrets of decrypted TLS ≤ 1.2 sessions, so that a later connection resuming one
/// (by session ID or ticket) can be decrypted when only the first is in the key log, or when
/// the first was decrypted with the server's RSA key. Shared by all connection threads.
#[derive(Default)]
pub struct SessionCache {
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    by_id: HashMap<Vec<u8>, ([u8; 48], String)>,
    by_ticket: HashMap<Vec<u8>, ([u8; 48], String)>,
}

/// Sessions remembered at most (a capture of a scan could otherwise fill memory).
const MAX_CACHED: usize = 100_000;

impl SessionCache {
    fn with<R>(&self, f: impl FnOnce(&mut CacheInner) -> R) -> R {
        // A poisoned lock means another thread panicked; the map itself is still usable.
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }

    pub fn put_session_id(&self, id: Vec<u8>, master: [u8; 48], origin: &str) {
        self.with(|c| {
            if c.by_id.len() >= MAX_CACHED {
                c.by_id.clear();
            }
            c.by_id.entry(id).or_insert((master, origin.to_string()));
        });
    }

    pub fn put_ticket(&self, ticket: Vec<u8>, master: [u8; 48], origin: &str) {
        self.with(|c| {
            if c.by_ticket.len() >= MAX_CACHED {
                c.by_ticket.clear();
            }
            c.by_ticket
                .entry(ticket)
                .or_insert((master, origin.to_string()));
        });
    }

    pub fn by_session_id(&self, id: &[u8]) -> Option<([u8; 48], String)> {
        self.with(|c| c.by_id.get(id).cloned())
    }

    pub fn by_ticket(&self, ticket: &[u8]) -> Option<([u8; 48], String)> {
        self.with(|c| c.by_ticket.get(ticket).cloned())
    }
}
