//! DNS over TCP as a dispatched protocol: two-byte length framing per direction, messages to
//! the DNS layer's collector.

use super::{Finished, Protocol, Recognizer, Registry, SniffContext, Verdict};
use crate::dns::{self, DnsCollector, DnsTcpFramer};
use crate::model::{AppProtocol, Arrival, Dir, Scheme, StreamEnd};
use crate::net::stream::{ConnFacts, StreamSink};
use std::sync::Arc;

/// DNS over TCP on port 53 (never inside TLS).
pub struct DnsRecognizer;

impl Recognizer for DnsRecognizer {
    fn sniff(&self, cx: &SniffContext, [client, server]: [&[u8]; 2]) -> Verdict {
        let port = cx.facts.server.port() == 53 || cx.facts.client.port() == 53;
        if cx.scheme == Scheme::Http && port && (dns::sniff_tcp(client) || dns::sniff_tcp(server)) {
            Verdict::Yes
        } else {
            Verdict::No
        }
    }

    fn open(&self, facts: ConnFacts, _: Scheme, _: &Arc<Registry>) -> Box<dyn Protocol> {
        Box::new(DnsTcp {
            facts,
            framers: [DnsTcpFramer::new(), DnsTcpFramer::new()],
            collector: DnsCollector::new(),
        })
    }
}

/// DNS messages of one TCP connection, framed per direction.
struct DnsTcp {
    facts: ConnFacts,
    framers: [DnsTcpFramer; 2],
    collector: DnsCollector,
}

impl StreamSink for DnsTcp {
    fn on_data(&mut self, dir: Dir, _offset: u64, data: &[u8], at: Arrival) {
        let (client, server) = (self.facts.client, self.facts.server);
        let collector = &mut self.collector;
        let from_client = dir == Dir::ClientToServer;
        self.framers[dir.index()].push(data, |msg| {
            collector.tcp_message(client, server, from_client, msg, at);
        });
    }
    fn on_gap(&mut self, dir: Dir, _offset: u64, _len: u64, _at: Arrival) {
        self.framers[dir.index()].gap();
    }
    fn on_end(&mut self, _dir: Dir, _offset: u64, _how: StreamEnd, _at: Arrival) {}
}

impl Protocol for DnsTcp {
    fn kind(&self) -> AppProtocol {
        AppProtocol::Dns
    }

    fn finish(self: Box<Self>) -> Finished {
        Finished {
            dns: Some(self.collector),
            ..Finished::default()
        }
    }
}
