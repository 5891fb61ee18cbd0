//! HTTP/2 as a dispatched protocol: the client's connection preface, or ALPN `h2` inside TLS.

use super::{Http2Connection, PREFACE};
use crate::dispatch::{Finished, Protocol, Recognizer, Registry, SniffContext, Verdict};
use crate::http::HttpOptions;
use crate::model::{AppProtocol, Scheme};
use crate::net::stream::ConnFacts;
use std::sync::Arc;

/// Recognises HTTP/2 with prior knowledge (the preface) on any port, inside TLS or not.
pub struct Http2Recognizer {
    opts: Arc<HttpOptions>,
}

impl Http2Recognizer {
    pub fn new(opts: Arc<HttpOptions>) -> Http2Recognizer {
        Http2Recognizer { opts }
    }
}

impl Recognizer for Http2Recognizer {
    fn sniff(&self, cx: &SniffContext, [client, _server]: [&[u8]; 2]) -> Verdict {
        let n = client.len().min(PREFACE.len());
        if client.starts_with(PREFACE) || cx.alpn_h2 {
            Verdict::Yes
        } else if client[..n] == PREFACE[..n] && !cx.settled[0] {
            Verdict::NeedMore
        } else {
            Verdict::No
        }
    }

    fn sender_is_client(&self, first: &[u8]) -> Option<bool> {
        first.starts_with(PREFACE).then_some(true)
    }

    fn open(&self, facts: ConnFacts, scheme: Scheme, _: &Arc<Registry>) -> Box<dyn Protocol> {
        Box::new(Http2Connection::new(facts, scheme, (*self.opts).clone()))
    }
}

impl Protocol for Http2Connection {
    fn kind(&self) -> AppProtocol {
        AppProtocol::Http2
    }

    fn finish(self: Box<Self>) -> Finished {
        let out = Http2Connection::finish(*self);
        Finished {
            exchanges: out.exchanges,
            diagnostics: out.diagnostics,
            ..Finished::default()
        }
    }
}
