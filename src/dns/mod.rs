//! DNS messages (UDP and TCP, port 53) and the pairing of queries with their responses.
//!
//! Only unicast DNS on port 53 is handled: Lync / Skype for Business clients discover their
//! servers with ordinary SRV/A lookups; mDNS (5353) and LLMNR (5355) are local-link chatter
//! that would only add noise, so [`DnsCollector::udp`] ignores them — except for the proxy
//! auto-discovery requests among them (LLMNR and NetBIOS queries for `WPAD`, DHCP requests
//! for option 252), kept as [`WpadProbe`]s (wpad.rs).
//!
//! Pairing follows Wireshark's DNS transaction tracking (packet-dns.c), so that our lookups
//! agree with what users see in Wireshark:
//! - a transaction is keyed by transport, client and server socket, and transaction id;
//! - a query opens a transaction, unless the previous query with that key is still
//!   unanswered, asked the same question, and was sent less than 5 s earlier (Wireshark's
//!   default `dns.retransmission_timer`): then it is a retransmission, kept as its own
//!   lookup that never gets a response;
//! - a response answers the open transaction with its key (if the question matches, or the
//!   response carries no question, as some REFUSED/FORMERR answers do); otherwise, e.g. a
//!   second response to an answered query, it is a lookup of its own with `query: None`.

mod parse;
#[cfg(test)]
mod tests;
mod wpad;

use crate::model::{Arrival, DnsId, DnsLookup, DnsResponse, DnsTransport, Ts, WpadProbe};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

/// The DNS port; the only one routed here (see the module docs).
pub const DNS_PORT: u16 = 53;

/// Wireshark's default `dns.retransmission_timer`: a repeated unanswered query within this
/// time of the first is a retransmission, later it starts a new transaction.
const RETRANSMISSION_WINDOW_NS: i64 = 5_000_000_000;

/// At most this many unanswered queries are held for pairing; older ones are forgotten (they
/// stay in the result, unanswered). Bounds memory on captures full of unanswered queries.
const MAX_PENDING: usize = 100_000;

/// At most this many WPAD requests outside DNS are kept (a device repeats them; a long
/// capture of a busy LAN should not grow without bound).
const MAX_WPAD_PROBES: usize = 10_000;

/// Identifies a transaction: what a response must share with its query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct TxKey {
    transport: DnsTransport,
    client: SocketAddr,
    server: SocketAddr,
    txid: u16,
}

/// An open (unanswered) transaction.
#[derive(Debug, Clone, Copy)]
struct Pending {
    /// Index of its lookup in `DnsCollector::lookups`.
    lookup: usize,
    /// When the transaction's first query was sent (retransmissions do not move it).
    sent: Ts,
    /// Insertion number, to tell a live entry from a stale one in `order`.
    seq: u64,
}

/// Collects DNS messages of one capture and pairs queries with responses.
#[derive(Debug, Default)]
pub struct DnsCollector {
    /// Every message ends up in exactly one lookup; ids are given by `finish`.
    lookups: Vec<DnsLookup>,
    pending: HashMap<TxKey, Pending>,
    /// Open transactions oldest first, for eviction; entries whose `seq` no longer matches
    /// `pending` are stale and skipped.
    order: VecDeque<(TxKey, u64)>,
    next_seq: u64,
    /// LLMNR / NetBIOS / DHCP requests for WPAD.
    wpad: Vec<WpadProbe>,
}

impl DnsCollector {
    pub fn new() -> Self {
        Self::default()
    }

    /// A UDP datagram. Only datagrams to or from port 53 are considered, and the WPAD
    /// requests of wpad.rs kept aside. Returns false if it is not a DNS message (then the
    /// caller ignores it).
    pub fn udp(&mut self, src: SocketAddr, dst: SocketAddr, payload: &[u8], at: Arrival) -> bool {
        if src.port() != DNS_PORT && dst.port() != DNS_PORT {
            if let Some((kind, name)) = wpad::probe(dst.port(), payload) {
                if self.wpad.len() < MAX_WPAD_PROBES {
                    self.wpad.push(WpadProbe {
                        kind,
                        client: src,
                        name,
                        at,
                    });
                }
            }
            return false;
        }
        self.message(DnsTransport::Udp, src, dst, payload, at)
    }

    /// One DNS message taken from a TCP stream (the 2-byte length prefix already removed),
    /// `from_client` = sent by the side that opened the connection.
    pub fn tcp_message(
        &mut self,
        client: SocketAddr,
        server: SocketAddr,
        from_client: bool,
        msg: &[u8],
        at: Arrival,
    ) -> bool {
        let (src, dst) = if from_client {
            (client, server)
        } else {
            (server, client)
        };
        self.message(DnsTransport::Tcp, src, dst, msg, at)
    }

    /// Lookups sorted by first arrival (query, else response), ids = index.
    pub fn finish(self) -> Vec<DnsLookup> {
        let mut lookups = self.lookups;
        // Frame order is capture order (frames are numbered after merging inputs); the sort
        // is stable, so messages completed by the same frame keep their stream order.
        lookups.sort_by_key(|l| l.first().map(|a| (a.frame, a.ts)));
        for (i, l) in lookups.iter_mut().enumerate() {
            l.id = DnsId(u32::try_from(i).unwrap_or(u32::MAX));
        }
        lookups
    }

    /// Merges collectors from several worker threads (just concatenates; `finish` sorts).
    /// Workers split traffic by flow, so no transaction spans two collectors; `other`'s
    /// open transactions are dropped (its messages are all kept).
    pub fn extend(&mut self, other: DnsCollector) {
        self.lookups.extend(other.lookups);
        self.wpad.extend(other.wpad);
    }

    /// The WPAD requests outside DNS, in capture order.
    pub fn take_wpad_probes(&mut self) -> Vec<WpadProbe> {
        let mut v = std::mem::take(&mut self.wpad);
        v.sort_by_key(|p| (p.at.frame, p.at.ts));
        v
    }

    fn message(
        &mut self,
        transport: DnsTransport,
        src: SocketAddr,
        dst: SocketAddr,
        msg: &[u8],
        at: Arrival,
    ) -> bool {
        let Some(m) = parse::message(msg) else {
            return false;
        };
        if m.header.response {
            self.response(transport, src, dst, m, at);
        } else {
            self.query(transport, src, dst, m, at);
        }
        true
    }

    fn query(
        &mut self,
        transport: DnsTransport,
        src: SocketAddr,
        dst: SocketAddr,
        m: parse::Message,
        at: Arrival,
    ) {
        let key = TxKey {
            transport,
            client: src,
            server: dst,
            txid: m.header.txid,
        };
        let retransmission = self.pending.get(&key).is_some_and(|p| {
            let first = &self.lookups[p.lookup];
            at.ts.0.saturating_sub(p.sent.0) < RETRANSMISSION_WINDOW_NS
                && first.qtype == m.qtype
                && first.qname.eq_ignore_ascii_case(&m.qname)
        });
        let index = self.lookups.len();
        self.lookups.push(DnsLookup {
            id: DnsId(0),
            transport,
            client: src,
            server: dst,
            txid: m.header.txid,
            qname: m.qname,
            qtype: m.qtype,
            query: Some(at),
            response: None,
            stage: None,
        });
        if !retransmission {
            // Replaces any older open transaction with this key, as Wireshark does: a
            // response now answers the newest query.
            self.open(key, index, at.ts);
        }
    }

    fn response(
        &mut self,
        transport: DnsTransport,
        src: SocketAddr,
        dst: SocketAddr,
        m: parse::Message,
        at: Arrival,
    ) {
        let key = TxKey {
            transport,
            client: dst,
            server: src,
            txid: m.header.txid,
        };
        let response = DnsResponse {
            arrival: at,
            rcode: m.header.rcode,
            truncated: m.header.truncated,
            answers: m.answers,
        };
        if let Some(p) = self.pending.get(&key).copied() {
            let query = &mut self.lookups[p.lookup];
            let same_question = m.header.qdcount == 0
                || (query.qtype == m.qtype && query.qname.eq_ignore_ascii_case(&m.qname));
            if same_question {
                query.response = Some(response);
                self.pending.remove(&key);
                return;
            }
        }
        self.lookups.push(DnsLookup {
            id: DnsId(0),
            transport,
            client: dst,
            server: src,
            txid: m.header.txid,
            qname: m.qname,
            qtype: m.qtype,
            query: None,
            response: Some(response),
            stage: None,
        });
    }

    fn open(&mut self, key: TxKey, lookup: usize, sent: Ts) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending.insert(key, Pending { lookup, sent, seq });
        self.order.push_back((key, seq));
        while self.pending.len() > MAX_PENDING {
            let Some((old, old_seq)) = self.order.pop_front() else {
                break;
            };
            if self.pending.get(&old).is_some_and(|p| p.seq == old_seq) {
                self.pending.remove(&old);
            }
        }
        // Answered or replaced transactions leave stale entries behind; drop them once they
        // outnumber the live ones so `order` stays proportional to `pending`.
        if self.order.len() > 2 * self.pending.len() + 1024 {
            let pending = &self.pending;
            self.order
                .retain(|(k, s)| pending.get(k).is_some_and(|p| p.seq == *s));
        }
    }

    #[cfg(test)]
    fn pending_len(&self) -> usize {
        self.pending.len()
    }
}

/// Splits a DNS-over-TCP byte stream (RFC 1035 §4.2.2: 2-byte big-endian length, then the
/// message) incrementally.
#[derive(Debug, Default)]
pub struct DnsTcpFramer {
    /// The partial message (length prefix included); never more than 2 + 65535 bytes.
    buf: Vec<u8>,
    /// Set by a gap: DNS over TCP has no resync marker, so after lost bytes any "length"
    /// we read would be arbitrary; we stop parsing that direction.
    dead: bool,
}

impl DnsTcpFramer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends stream bytes; calls `on_msg` for every complete message (empty messages,
    /// length 0, are skipped: there is nothing to parse). Complete messages inside `data`
    /// are handed out without copying.
    pub fn push(&mut self, mut data: &[u8], mut on_msg: impl FnMut(&[u8])) {
        if self.dead {
            return;
        }
        while !data.is_empty() {
            if self.buf.is_empty() {
                if let Some((msg, rest)) = split_message(data) {
                    if !msg.is_empty() {
                        on_msg(msg);
                    }
                    data = rest;
                    continue;
                }
                self.buf.extend_from_slice(data);
                return;
            }
            // Complete the length prefix, then the message.
            let want = match prefix_len(&self.buf) {
                Some(len) => 2 + len,
                None => 2,
            };
            let take = (want - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if let Some(len) = prefix_len(&self.buf) {
                if self.buf.len() == 2 + len {
                    if len > 0 {
                        on_msg(&self.buf[2..]);
                    }
                    self.buf.clear();
                }
            }
        }
    }

    /// Bytes are missing from the stream: drops the partial message and stops framing.
    pub fn gap(&mut self) {
        self.dead = true;
        self.buf = Vec::new();
    }

    /// True after a gap (nothing more will be framed).
    pub fn is_dead(&self) -> bool {
        self.dead
    }
}

/// The length announced by a buffered prefix, once its two bytes are there.
fn prefix_len(buf: &[u8]) -> Option<usize> {
    match buf {
        [hi, lo, ..] => Some(usize::from(u16::from_be_bytes([*hi, *lo]))),
        _ => None,
    }
}

/// A whole length-prefixed message at the start of `data`, and what follows it.
fn split_message(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = prefix_len(data)?;
    let body = data.get(2..)?;
    (body.len() >= len).then(|| body.split_at(len))
}

/// True when this looks like a DNS message carried over TCP (for sniffing a stream prefix):
/// the length prefix is plausible, a header follows with a known opcode, and its counts
/// could fit in the announced length.
pub fn sniff_tcp(prefix: &[u8]) -> bool {
    let Some(len) = prefix_len(prefix) else {
        return false;
    };
    let Some(h) = prefix.get(2..).and_then(parse::header) else {
        return false;
    };
    // Opcodes in use: QUERY 0, IQUERY 1, STATUS 2, NOTIFY 4, UPDATE 5, DSO 6.
    len >= parse::HEADER_LEN
        && matches!(h.opcode, 0 | 1 | 2 | 4 | 5 | 6)
        && h.counts_fit(len - parse::HEADER_LEN)
        // A query asks exactly one question (RFC 9619); DSO messages ask none.
        && (h.response || h.qdcount == 1 || h.opcode == 6)
}
