//! HTTP/1 as a dispatched protocol: recognised by its request or status line.

use super::{sniff_request, sniff_response, HttpConnection, Sniff};
use crate::dispatch::{Finished, Protocol, Recognizer, Registry, SniffContext, Verdict};
use crate::http::HttpOptions;
use crate::model::AppProtocol;
use crate::model::Scheme;
use crate::net::stream::ConnFacts;
use std::sync::Arc;

/// Recognises HTTP/1 on any port, inside TLS or not.
pub struct Http1Recognizer {
    opts: Arc<HttpOptions>,
}

impl Http1Recognizer {
    pub fn new(opts: Arc<HttpOptions>) -> Http1Recognizer {
        Http1Recognizer { opts }
    }
}

impl Recognizer for Http1Recognizer {
    fn sniff(&self, cx: &SniffContext, [client, server]: [&[u8]; 2]) -> Verdict {
        let (req, resp) = (sniff_request(client), sniff_response(server));
        if req == Sniff::Yes || resp == Sniff::Yes {
            return Verdict::Yes;
        }
        let settled = |s: Sniff, d: usize| s == Sniff::No || cx.settled[d];
        if settled(req, 0) && settled(resp, 1) {
            Verdict::No
        } else {
            Verdict::NeedMore
        }
    }

    fn sender_is_client(&self, first: &[u8]) -> Option<bool> {
        if sniff_request(first) == Sniff::Yes {
            Some(true)
        } else if sniff_response(first) == Sniff::Yes {
            Some(false)
        } else {
            None
        }
    }

    fn open(&self, facts: ConnFacts, scheme: Scheme, _: &Arc<Registry>) -> Box<dyn Protocol> {
        Box::new(HttpConnection::new(facts, scheme, (*self.opts).clone()))
    }
}

impl Protocol for HttpConnection {
    fn kind(&self) -> AppProtocol {
        AppProtocol::Http1
    }

    fn finish(self: Box<Self>) -> Finished {
        let out = HttpConnection::finish(*self);
        Finished {
            exchanges: out.exchanges,
            diagnostics: out.diagnostics,
            ..Finished::default()
        }
    }
}
