//! Network layer: link and IP decoding ([`ip`]), TCP connection tracking (this file) and
//! per-direction stream reassembly ([`reassembly`]), delivering ordered byte streams to a
//! [`stream::StreamSink`] per connection.

pub mod ip;
pub mod reassembly;
pub mod seq;
pub mod stream;

use crate::model::{
    AppProtocol, Arrival, ConnId, Connection, Diagnostic, Dir, FrameNo, StreamEnd, Ts,
};
use ip::{TcpSegment, UdpDatagram};
use reassembly::{Reassembler, ReassemblyOptions};
use std::collections::HashMap;
use std::net::SocketAddr;
use stream::{ConnFacts, StreamSink};

/// Creates and collects the per-connection consumers of reassembled streams.
pub trait SinkFactory {
    type Sink: StreamSink;
    /// Given the first payload bytes a side sent, says whether that side is the client
    /// (`Some(true)`), the server (`Some(false)`), or cannot tell (`None`). Used only when
    /// the capture holds no SYN for the connection.
    fn sender_is_client(&self, first_payload: &[u8]) -> Option<bool>;
    fn open(&mut self, facts: &ConnFacts) -> Self::Sink;
    /// The connection is over (both directions ended, or the capture ended): take what the
    /// sink produced. `conn` is the connection's record, to be completed (protocol).
    fn close(&mut self, conn: &mut Connection, sink: Self::Sink);
}

/// Receives UDP datagrams (DNS later); connectionless, so no reassembly.
pub trait DatagramSink {
    fn datagram(&mut self, dgram: &UdpDatagram<'_>, at: Arrival);
}

impl DatagramSink for () {
    fn datagram(&mut self, _: &UdpDatagram<'_>, _: Arrival) {}
}

/// Spreads connections over several [`Tracker`]s (one per thread): every segment of a
/// connection goes to the same tracker, and a new connection goes to the tracker with the
/// fewest open connections. A hash of the addresses balanced badly: a capture holds a few
/// busy connections at a time, and two of them on one thread left the other idle.
pub struct FlowRouter {
    /// The tracker of every connection seen, and whether it is still open (no FIN or RST).
    flows: HashMap<FlowKey, (u32, bool), std::hash::BuildHasherDefault<FlowHasher>>,
    open: Vec<u32>,
    /// Payload bytes routed to each tracker so far: the work it was given.
    routed: Vec<u64>,
}

impl FlowRouter {
    pub fn new(trackers: usize) -> FlowRouter {
        FlowRouter {
            flows: HashMap::default(),
            open: vec![0; trackers.max(1)],
            routed: vec![0; trackers.max(1)],
        }
    }

    /// The tracker (index) for this segment.
    pub fn route(&mut self, seg: &TcpSegment<'_>) -> usize {
        let ends = seg.flags.fin || seg.flags.rst;
        let open = &mut self.open;
        let routed = &self.routed;
        let (tracker, is_open) = self
            .flows
            .entry(FlowKey::new(seg.src, seg.dst))
            .or_insert_with(|| {
                // The tracker given the least work so far: the bytes of a connection are not
                // known when it opens, so counting open connections left one tracker with
                // 40% more bytes than the other on the benchmark capture. Ties go to the
                // fewest open connections, then the lowest index, so the routing depends
                // only on the capture.
                let least = (0..open.len())
                    .min_by_key(|&i| (open[i], routed[i], i))
                    .unwrap_or(0);
                open[least] += 1;
                (least as u32, true)
            });
        if ends && *is_open {
            *is_open = false;
            open[*tracker as usize] -= 1;
        }
        let tracker = *tracker as usize;
        self.routed[tracker] += seg.payload.len() as u64 + 64;
        tracker
    }
}

/// FxHash-style multiply-rotate hasher for flow keys: the table is looked up once per packet,
/// and SipHash cost several percent of the whole run there. Keys come from the capture, not
/// from a network peer choosing them live, so flooding resistance buys nothing here. (The
/// HTTP/2 layer uses it for stream ids, looked up several times per frame.)
#[derive(Default, Clone, Copy)]
pub struct FlowHasher(u64);

impl std::hash::Hasher for FlowHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b));
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }
    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type FlowMap<V> = HashMap<FlowKey, V, std::hash::BuildHasherDefault<FlowHasher>>;

/// Flow key independent of direction: the lower endpoint first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FlowKey(SocketAddr, SocketAddr);

impl FlowKey {
    fn new(a: SocketAddr, b: SocketAddr) -> FlowKey {
        if a <= b {
            FlowKey(a, b)
        } else {
            FlowKey(b, a)
        }
    }
}

struct Live<'a, S> {
    /// Indexed by `Dir::index()`: data sent by the client, data sent by the server.
    streams: [Reassembler<'a>; 2],
    sink: S,
    client: SocketAddr,
}

struct Flow<'a, S> {
    conn: usize,
    /// Sequence number of the SYN sent by each endpoint, keyed by the sender.
    syn: [(Option<SocketAddr>, u32); 2],
    live: Option<Live<'a, S>>,
    /// Both directions ended (or reset): a later SYN opens a new connection.
    ended: bool,
}

/// Tracks TCP connections frame by frame and drives their reassembly.
pub struct Tracker<'a, F: SinkFactory> {
    flows: FlowMap<Flow<'a, F::Sink>>,
    connections: Vec<Connection>,
    diagnostics: Vec<Diagnostic>,
    options: ReassemblyOptions,
    factory: F,
    last_ts: Ts,
    last_frame: FrameNo,
}

/// What the tracker produced once the capture is over.
pub struct TrackerOutput<F> {
    pub connections: Vec<Connection>,
    pub diagnostics: Vec<Diagnostic>,
    pub factory: F,
}

/// Ports that identify the server side when nothing else does.
const SERVER_PORTS: &[u16] = &[
    80, 443, 8080, 8443, 8000, 8008, 8888, 3128, 4443, 5061, 5060, 53,
];

fn port_says_server(port: u16, other: u16) -> bool {
    let known = SERVER_PORTS.contains(&port);
    let other_known = SERVER_PORTS.contains(&other);
    if known != other_known {
        return known;
    }
    if (port < 1024) != (other < 1024) {
        return port < 1024;
    }
    port < other
}

impl<'a, F: SinkFactory> Tracker<'a, F> {
    pub fn new(factory: F, options: ReassemblyOptions) -> Self {
        Tracker {
            flows: FlowMap::default(),
            connections: Vec::new(),
            diagnostics: Vec::new(),
            options,
            factory,
            last_ts: Ts::default(),
            last_frame: FrameNo::default(),
        }
    }

    pub fn factory(&self) -> &F {
        &self.factory
    }

    /// Feeds one TCP segment; `wire_len` is the length of the frame that carried it.
    pub fn segment(&mut self, seg: TcpSegment<'a>, at: Arrival, wire_len: u64) {
        self.last_ts = self.last_ts.max(at.ts);
        self.last_frame = self.last_frame.max(at.frame);
        self.tcp(seg, at, wire_len);
    }

    /// Notes that the capture went on until `at` (so connections left open end there).
    pub fn saw(&mut self, at: Arrival) {
        self.last_ts = self.last_ts.max(at.ts);
        self.last_frame = self.last_frame.max(at.frame);
    }

    fn new_connection(&mut self, client: SocketAddr, server: SocketAddr, at: Arrival) -> usize {
        let id = self.connections.len();
        self.connections.push(Connection {
            id: ConnId(id as u32),
            client,
            server,
            first_seen: at.ts,
            last_seen: at.ts,
            first_frame: at.frame,
            last_frame: at.frame,
            packets: 0,
            bytes: 0,
            payload_bytes: [0, 0],
            handshake: false,
            end: [StreamEnd::CaptureEnd; 2],
            protocol: AppProtocol::Empty,
            exchanges: Vec::new(),
            missing_bytes: [0, 0],
            tls: None,
            syn_ack: false,
            stage: None,
            h2_control: None,
        });
        id
    }

    fn tcp(&mut self, seg: TcpSegment<'a>, at: Arrival, wire_len: u64) {
        let key = FlowKey::new(seg.src, seg.dst);
        let opening = seg.flags.syn && !seg.flags.ack;
        // A SYN on a finished flow, or with a different initial sequence number, starts a new
        // connection on the same 4-tuple.
        let reuse = match self.flows.get(&key) {
            Some(flow) if opening => {
                flow.ended
                    || flow
                        .syn
                        .iter()
                        .any(|&(s, isn)| s == Some(seg.src) && isn != seg.seq)
            }
            _ => false,
        };
        if reuse {
            if let Some(flow) = self.flows.remove(&key) {
                self.retire(flow, StreamEnd::CaptureEnd, at);
            }
        }
        if !self.flows.contains_key(&key) {
            // Without a SYN the roles are decided when the first payload arrives; until then
            // the sender of the first packet is provisionally the client.
            let (client, server) = if seg.flags.syn && seg.flags.ack {
                (seg.dst, seg.src)
            } else {
                (seg.src, seg.dst)
            };
            let conn = self.new_connection(client, server, at);
            self.flows.insert(
                key,
                Flow {
                    conn,
                    syn: [(None, 0); 2],
                    live: None,
                    ended: false,
                },
            );
        }
        let Some(flow) = self.flows.get_mut(&key) else {
            return;
        };
        let conn = &mut self.connections[flow.conn];
        conn.packets += 1;
        conn.bytes += wire_len;
        conn.last_seen = conn.last_seen.max(at.ts);
        conn.last_frame = at.frame;

        if flow.ended {
            // Late ACKs and retransmitted FINs of a closed connection: counted, not parsed.
            return;
        }
        if seg.flags.syn {
            conn.handshake = true;
            conn.syn_ack |= seg.flags.ack;
            let slot = usize::from(flow.syn[0].0.is_some() && flow.syn[0].0 != Some(seg.src));
            flow.syn[slot] = (Some(seg.src), seg.seq);
        }

        if flow.live.is_none() {
            let decided = if seg.flags.syn {
                Some(if seg.flags.ack { seg.dst } else { seg.src })
            } else if !seg.payload.is_empty() {
                Some(match self.factory.sender_is_client(&seg.payload) {
                    Some(true) => seg.src,
                    Some(false) => seg.dst,
                    None if port_says_server(seg.dst.port(), seg.src.port()) => seg.src,
                    None => seg.dst,
                })
            } else if seg.flags.fin || seg.flags.rst {
                Some(if port_says_server(seg.dst.port(), seg.src.port()) {
                    seg.src
                } else {
                    seg.dst
                })
            } else {
                None
            };
            let Some(client) = decided else {
                return;
            };
            let server = if client == seg.src { seg.dst } else { seg.src };
            conn.client = client;
            conn.server = server;
            let facts = ConnFacts {
                client,
                server,
                handshake: conn.handshake,
                first_frame: conn.first_frame,
            };
            let mut streams = [
                Reassembler::new(Dir::ClientToServer, &self.options),
                Reassembler::new(Dir::ServerToClient, &self.options),
            ];
            for &(sender, isn) in &flow.syn {
                if let Some(sender) = sender {
                    let d = if sender == client {
                        Dir::ClientToServer
                    } else {
                        Dir::ServerToClient
                    };
                    streams[d.index()].syn(isn);
                }
            }
            flow.live = Some(Live {
                streams,
                sink: self.factory.open(&facts),
                client,
            });
        } else if seg.flags.syn {
            if let Some(live) = flow.live.as_mut() {
                let d = if seg.src == live.client {
                    Dir::ClientToServer
                } else {
                    Dir::ServerToClient
                };
                if !live.streams[d.index()].has_started() {
                    live.streams[d.index()].syn(seg.seq);
                }
            }
        }

        let Some(live) = flow.live.as_mut() else {
            return;
        };
        let dir = if seg.src == live.client {
            Dir::ClientToServer
        } else {
            Dir::ServerToClient
        };
        conn.payload_bytes[dir.index()] += seg.payload.len() as u64 + u64::from(seg.missing);
        let [c2s, s2c] = &mut live.streams;
        let (mine, peer) = match dir {
            Dir::ClientToServer => (c2s, s2c),
            Dir::ServerToClient => (s2c, c2s),
        };
        // The acknowledgement first: it may reveal that bytes of the other direction were
        // lost, which must reach the parser before this segment's data (a response must not
        // be parsed before the request bytes it answers are settled).
        if seg.flags.ack {
            peer.peer_ack(seg.ack, at, &mut live.sink);
        }
        if !seg.payload.is_empty() || seg.missing > 0 || seg.flags.fin {
            // Data on a SYN (TCP Fast Open) starts after the SYN's own sequence number.
            let seq = if seg.flags.syn {
                seg.seq.wrapping_add(1)
            } else {
                seg.seq
            };
            mine.segment(
                seq,
                seg.payload,
                seg.missing,
                seg.flags.fin,
                at,
                &mut live.sink,
            );
        }
        if seg.flags.rst {
            conn.end[dir.index()] = StreamEnd::Rst;
            conn.end[dir.reverse().index()] = StreamEnd::Rst;
            mine.close(StreamEnd::Rst, at, &mut live.sink);
            peer.close(StreamEnd::Rst, at, &mut live.sink);
        }
        if live.streams.iter().all(|s| s.is_ended()) {
            if let Some(flow) = self.flows.get_mut(&key) {
                flow.ended = true;
                if let Some(live) = flow.live.take() {
                    let conn = flow.conn;
                    Self::finish_live(
                        &mut self.connections[conn],
                        live,
                        &mut self.factory,
                        &mut self.diagnostics,
                        StreamEnd::CaptureEnd,
                        at,
                    );
                }
            }
        }
    }

    /// Ends a flow that is being replaced or that the capture left open.
    fn retire(&mut self, mut flow: Flow<'a, F::Sink>, how: StreamEnd, at: Arrival) {
        if let Some(live) = flow.live.take() {
            Self::finish_live(
                &mut self.connections[flow.conn],
                live,
                &mut self.factory,
                &mut self.diagnostics,
                how,
                at,
            );
        }
    }

    fn finish_live(
        conn: &mut Connection,
        mut live: Live<'a, F::Sink>,
        factory: &mut F,
        diagnostics: &mut Vec<Diagnostic>,
        how: StreamEnd,
        at: Arrival,
    ) {
        for (i, s) in live.streams.iter_mut().enumerate() {
            if !s.is_ended() {
                s.close(how, at, &mut live.sink);
            } else if conn.end[i] == StreamEnd::CaptureEnd {
                conn.end[i] = StreamEnd::Fin;
            }
            conn.missing_bytes[i] = s.stats().missing_bytes;
            for mut d in s.take_diagnostics() {
                d.connection = Some(conn.id);
                diagnostics.push(d);
            }
        }
        factory.close(conn, live.sink);
    }

    /// The capture is over: end every open connection and hand back the results.
    pub fn finish(mut self) -> TrackerOutput<F> {
        let at = Arrival {
            frame: self.last_frame,
            ts: self.last_ts,
        };
        let mut flows: Vec<_> = self.flows.drain().map(|(_, f)| f).collect();
        flows.sort_by_key(|f| f.conn);
        for flow in flows {
            self.retire(flow, StreamEnd::CaptureEnd, at);
        }
        TrackerOutput {
            connections: self.connections,
            diagnostics: self.diagnostics,
            factory: self.factory,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_port_is_the_server() {
        assert!(port_says_server(80, 51000));
        assert!(!port_says_server(51000, 80));
        assert!(port_says_server(8080, 1989));
        assert!(port_says_server(22, 40000));
    }
}

#[cfg(test)]
mod router_tests {
    use super::ip::{TcpFlags, TcpSegment};
    use super::FlowRouter;
    use std::borrow::Cow;

    fn seg(src: &str, dst: &str, fin: bool) -> TcpSegment<'static> {
        TcpSegment {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            seq: 0,
            ack: 0,
            flags: TcpFlags {
                fin,
                ..TcpFlags::default()
            },
            window: 0,
            payload: Cow::Borrowed(&[]),
            missing: 0,
        }
    }

    #[test]
    fn both_directions_go_to_one_tracker_and_new_connections_to_the_least_loaded() {
        let mut r = FlowRouter::new(2);
        let a = r.route(&seg("10.0.0.1:1000", "10.0.0.2:80", false));
        let b = r.route(&seg("10.0.0.1:1001", "10.0.0.2:80", false));
        assert_ne!(a, b, "the second connection goes to the idle tracker");
        assert_eq!(r.route(&seg("10.0.0.2:80", "10.0.0.1:1000", false)), a);
        // `a` was given three segments, `b` one: new connections go where less work went.
        assert_eq!(r.route(&seg("10.0.0.1:1002", "10.0.0.2:80", false)), b);
        assert_eq!(r.route(&seg("10.0.0.2:80", "10.0.0.1:1002", false)), b);
        assert_eq!(r.route(&seg("10.0.0.1:1003", "10.0.0.2:80", false)), a);
        assert_eq!(r.route(&seg("10.0.0.1:1000", "10.0.0.2:80", true)), a);
        // A late segment of an ended connection still reaches its tracker.
        assert_eq!(r.route(&seg("10.0.0.2:80", "10.0.0.1:1000", false)), a);
    }
}
