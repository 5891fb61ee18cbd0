//! HTTP/2 as a dispatched protocol: the client's connection preface, ALPN `h2` inside TLS, or
//! (a capture that joined mid-connection) frames that could only be HTTP/2's.

use super::frames::plausible_frames;
use super::{Http2Connection, PREFACE};
use crate::dispatch::{Finished, Protocol, Recognizer, Registry, SniffContext, Verdict};
use crate::http::HttpOptions;
use crate::model::{AppProtocol, Scheme};
use crate::net::stream::ConnFacts;
use std::sync::Arc;

/// Recognises HTTP/2 with prior knowledge (the preface) on any port, inside TLS or not; and
/// by its frames when the preface was not captured.
pub struct Http2Recognizer {
    opts: Arc<HttpOptions>,
}

impl Http2Recognizer {
    pub fn new(opts: Arc<HttpOptions>) -> Http2Recognizer {
        Http2Recognizer { opts }
    }
}

impl Recognizer for Http2Recognizer {
    fn sniff(&self, cx: &SniffContext, [client, server]: [&[u8]; 2]) -> Verdict {
        let n = client.len().min(PREFACE.len());
        if client.starts_with(PREFACE) || cx.alpn_h2 {
            return Verdict::Yes;
        }
        if client[..n] == PREFACE[..n] && !cx.settled[0] {
            return Verdict::NeedMore;
        }
        if !cx.facts.handshake {
            // The preface was not captured: frames in a row, counted over both directions
            // (a client waiting for its answer may have sent a single HEADERS).
            match (plausible_frames(client), plausible_frames(server)) {
                (Some(c), Some(s)) if c + s >= 3 && c > 0 && s > 0 => return Verdict::Yes,
                (Some(_), Some(_)) if !(cx.settled[0] && cx.settled[1]) => {
                    return Verdict::NeedMore
                }
                _ => {}
            }
        }
        Verdict::No
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
            h2_control: out.h2_control,
            ..Finished::default()
        }
    }
}
