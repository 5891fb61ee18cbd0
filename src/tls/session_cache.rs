//! Master secrets remembered for TLS session resumption, shared by all connection threads.

use std::collections::HashMap;
use std::sync::Mutex;

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
