//! One [`Dispatcher`] per TCP connection, and the gathering of what their protocols made of
//! each connection into one worker's share of the analysis.

use super::{Dispatcher, Finished, Registry};
use crate::dns::DnsCollector;
use crate::model::{ConnId, Connection, Diagnostic, ExchId, Exchange, Scheme};
use crate::net::stream::ConnFacts;
use crate::net::SinkFactory;
use std::sync::Arc;

/// Creates a dispatcher per connection and gathers their exchanges (one per tracking thread).
pub struct Collector {
    registry: Arc<Registry>,
    /// Exchange ids count from 0 in this collector; connections are the tracker's.
    pub exchanges: Vec<Exchange>,
    pub diagnostics: Vec<Diagnostic>,
    pub dns: DnsCollector,
    /// Finished connections still waiting for a resumed TLS session's secret; resolved once
    /// every thread is done (the session cache is then complete).
    pub pending: Vec<(ConnId, Dispatcher)>,
}

impl Collector {
    pub fn new(registry: Arc<Registry>) -> Collector {
        Collector {
            registry,
            exchanges: Vec::new(),
            diagnostics: Vec::new(),
            dns: DnsCollector::new(),
            pending: Vec::new(),
        }
    }
}

/// Takes the exchanges, TLS facts, DNS messages and diagnostics of a finished connection;
/// exchange ids continue from `exchanges.len()`.
pub fn gather(
    exchanges: &mut Vec<Exchange>,
    diagnostics: &mut Vec<Diagnostic>,
    dns: &mut DnsCollector,
    conn: &mut Connection,
    finished: Finished,
) {
    let base = exchanges.len() as u32;
    for mut e in finished.exchanges {
        e.id = ExchId(base + e.id.0);
        e.tunnel = e.tunnel.and_then(|t| t.renumbered(|x| base + x));
        e.connection = conn.id;
        exchanges.push(e);
    }
    for mut d in finished.diagnostics {
        d.connection = Some(conn.id);
        if let Some(x) = d.exchange.as_mut() {
            x.0 += base;
        }
        diagnostics.push(d);
    }
    if let Some(info) = finished.tls {
        conn.tls = Some(info);
    }
    if finished.h2_control.is_some() {
        conn.h2_control = finished.h2_control;
    }
    if let Some(d) = finished.dns {
        dns.extend(d);
    }
}

impl SinkFactory for Collector {
    type Sink = Dispatcher;

    fn sender_is_client(&self, first: &[u8]) -> Option<bool> {
        self.registry.sender_is_client(first)
    }

    fn open(&mut self, facts: &ConnFacts) -> Dispatcher {
        Dispatcher::new(*facts, Scheme::Http, Arc::clone(&self.registry))
    }

    fn close(&mut self, conn: &mut Connection, sink: Dispatcher) {
        conn.protocol = sink.protocol();
        if sink.waiting() {
            self.pending.push((conn.id, sink));
        } else {
            gather(
                &mut self.exchanges,
                &mut self.diagnostics,
                &mut self.dns,
                conn,
                sink.finish(),
            );
        }
    }
}
