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

    fn open(&self, facts: ConnFacts, scheme: Scheme, reg: &Arc<Registry>) -> Box<dyn Protocol> {
        let c = HttpConnection::new(facts, scheme, (*self.opts).clone());
        Box::new(c.with_tunnels(reg.tunnels().map(Arc::clone)))
    }

    /// A plain connection on a usual HTTP port whose handshake the capture missed: its first
    /// bytes may be the end of a body (a capture started during a download or a long poll),
    /// longer than the dispatcher holds, with the next message after it.
    fn adopt(&self, cx: &SniffContext) -> Option<Box<dyn Protocol>> {
        let f = cx.facts;
        (cx.scheme == Scheme::Http && !f.handshake && HTTP_PORTS.contains(&f.server.port())).then(
            || {
                Box::new(HttpConnection::on_trial(f, cx.scheme, (*self.opts).clone()))
                    as Box<dyn Protocol>
            },
        )
    }
}

/// Ports of plain HTTP (and HTTP proxies) on which a connection no recognizer claimed is taken
/// on trial.
const HTTP_PORTS: &[u16] = &[80, 3128, 8000, 8008, 8080, 8888];

impl Protocol for HttpConnection {
    fn kind(&self) -> AppProtocol {
        if self.found() {
            AppProtocol::Http1
        } else {
            AppProtocol::Unknown
        }
    }

    fn waiting(&self) -> bool {
        HttpConnection::waiting(self)
    }

    fn resolve(&mut self) {
        HttpConnection::resolve(self);
    }

    fn finish(self: Box<Self>) -> Finished {
        let out = HttpConnection::finish(*self);
        Finished {
            exchanges: out.exchanges,
            diagnostics: out.diagnostics,
            tls: out.tunnel_tls,
            h2_control: out.h2_control,
            ..Finished::default()
        }
    }
}
