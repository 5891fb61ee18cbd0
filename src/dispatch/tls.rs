//! TLS as a dispatched protocol: its decrypted plaintext goes to a new [`Dispatcher`] (HTTP
//! inside, usually), and the connection gets the handshake facts.

use super::{Dispatcher, Finished, Protocol, Recognizer, Registry, SniffContext, Verdict};
use crate::model::{AppProtocol, Arrival, Dir, Scheme, StreamEnd};
use crate::net::stream::{ConnFacts, StreamSink};
use crate::tls::{KeyMaterial, SessionCache, TlsConnection};
use std::sync::Arc;

/// A TLS record header: handshake (22) or, mid-connection, application data (23) / alert
/// (21) / change cipher spec (20); version 3.x.
fn looks_like_tls(prefix: &[u8]) -> bool {
    prefix.len() >= 3 && (20..=23).contains(&prefix[0]) && prefix[1] == 3 && prefix[2] <= 4
}

/// Recognises TLS on plain connections (TLS inside TLS is not a thing) and decrypts it with
/// the analysis' key material.
pub struct TlsRecognizer {
    keys: Arc<KeyMaterial>,
    sessions: Arc<SessionCache>,
}

impl TlsRecognizer {
    pub fn new(keys: Arc<KeyMaterial>, sessions: Arc<SessionCache>) -> TlsRecognizer {
        TlsRecognizer { keys, sessions }
    }
}

impl Recognizer for TlsRecognizer {
    fn sniff(&self, cx: &SniffContext, [client, server]: [&[u8]; 2]) -> Verdict {
        if cx.scheme == Scheme::Http && (looks_like_tls(client) || looks_like_tls(server)) {
            Verdict::Yes
        } else {
            Verdict::No
        }
    }

    fn sender_is_client(&self, first: &[u8]) -> Option<bool> {
        if looks_like_tls(first) && first[0] == 22 && first.len() > 5 {
            // Handshake type 1 = ClientHello, 2 = ServerHello.
            match first[5] {
                1 => Some(true),
                2 => Some(false),
                _ => None,
            }
        } else {
            None
        }
    }

    fn open(
        &self,
        facts: ConnFacts,
        _scheme: Scheme,
        registry: &Arc<Registry>,
    ) -> Box<dyn Protocol> {
        Box::new(Tls(TlsConnection::new(
            Arc::clone(&self.keys),
            Arc::clone(&self.sessions),
            Dispatcher::new(facts, Scheme::Https, Arc::clone(registry)),
            format!("the connection of frame {}", facts.first_frame.0),
        )))
    }
}

struct Tls(TlsConnection<Dispatcher>);

impl StreamSink for Tls {
    fn on_data(&mut self, dir: Dir, offset: u64, data: &[u8], at: Arrival) {
        self.0.on_data(dir, offset, data, at);
    }
    fn on_gap(&mut self, dir: Dir, offset: u64, len: u64, at: Arrival) {
        self.0.on_gap(dir, offset, len, at);
    }
    fn on_end(&mut self, dir: Dir, offset: u64, how: StreamEnd, at: Arrival) {
        self.0.on_end(dir, offset, how, at);
    }
}

impl Protocol for Tls {
    fn kind(&self) -> AppProtocol {
        AppProtocol::Tls
    }

    fn waiting(&self) -> bool {
        self.0.is_waiting()
    }

    fn resolve(&mut self) {
        self.0.resolve();
    }

    fn finish(self: Box<Self>) -> Finished {
        let out = self.0.finish();
        let mut inner = out.inner.finish();
        let mut diagnostics = out.diagnostics;
        diagnostics.append(&mut inner.diagnostics);
        Finished {
            tls: Some(out.info),
            diagnostics,
            ..inner
        }
    }
}
