//! The contract between TCP reassembly and the protocol layers above it (TLS, HTTP).
//!
//! Reassembly delivers each direction of a connection as an ordered byte stream: in-order
//! data, explicit holes where the capture missed bytes, and the end of the direction. Every
//! call says when (frame, time) those bytes arrived, so upper layers can time messages.
//! Calls for the two directions interleave in capture order.

use crate::model::{Arrival, Dir, FrameNo, StreamEnd};
use std::net::SocketAddr;

/// Facts about a connection known when its first payload byte is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnFacts {
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// A SYN was seen, so stream offset 0 is the true start of each direction.
    pub handshake: bool,
    /// The connection's first frame (names it in messages about other connections).
    pub first_frame: FrameNo,
}

/// Receives the reassembled byte streams of one connection.
pub trait StreamSink {
    /// `data` are the next bytes of direction `dir`, starting at stream offset `offset`
    /// (offset 0 = first byte after the SYN, or the first byte seen when there was none).
    fn on_data(&mut self, dir: Dir, offset: u64, data: &[u8], at: Arrival);
    /// `len` bytes starting at `offset` are missing from the capture (lost segments, or a
    /// frame cut by the snapshot length). The stream continues at `offset + len`.
    fn on_gap(&mut self, dir: Dir, offset: u64, len: u64, at: Arrival);
    /// Direction `dir` ended at stream offset `offset` (FIN, RST or end of capture). No
    /// more calls for that direction follow.
    fn on_end(&mut self, dir: Dir, offset: u64, how: StreamEnd, at: Arrival);
    /// The stream is a TLS connection's plaintext and the handshake chose this application
    /// protocol by ALPN ("h2", "http/1.1"); it comes before the plaintext it applies to.
    fn on_alpn(&mut self, _protocol: &str) {}
}
