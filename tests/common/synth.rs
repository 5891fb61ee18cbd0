//! Builds small synthetic captures for cases no public capture shows (sequence wrap, a reused
//! 4-tuple, frames cut by the snapshot length). Frames are made with etherparse's
//! PacketBuilder and written as a classic little-endian microsecond pcap.
#![allow(dead_code)]

use etherparse::PacketBuilder;

pub struct Capture {
    frames: Vec<(u64, Vec<u8>, u32)>,
    time_us: u64,
}

/// One side of a TCP conversation being written.
#[derive(Clone, Copy)]
pub struct Peer {
    pub ip: [u8; 4],
    pub port: u16,
    pub seq: u32,
}

impl Default for Capture {
    fn default() -> Self {
        Self::new()
    }
}

impl Capture {
    pub fn new() -> Capture {
        Capture {
            frames: Vec::new(),
            time_us: 1_700_000_000_000_000,
        }
    }

    /// Advances the clock by `us` microseconds.
    pub fn wait(&mut self, us: u64) {
        self.time_us += us;
    }

    pub fn now_us(&self) -> u64 {
        self.time_us
    }

    /// Writes one TCP segment from `from` to `to`; `flags` is any of "S", "A", "F", "R", "P".
    /// The sender's sequence number advances by the payload (and SYN/FIN).
    pub fn segment(&mut self, from: &mut Peer, to: &Peer, flags: &str, payload: &[u8]) -> usize {
        self.segment_at(from.seq, from, to, flags, payload);
        let mut adv = payload.len() as u32;
        if flags.contains('S') || flags.contains('F') {
            adv += 1;
        }
        from.seq = from.seq.wrapping_add(adv);
        self.frames.len() - 1
    }

    /// Writes a segment with an explicit sequence number (retransmission, reordering).
    pub fn segment_at(&mut self, seq: u32, from: &Peer, to: &Peer, flags: &str, payload: &[u8]) {
        let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(from.ip, to.ip, 64)
            .tcp(from.port, to.port, seq, 65535);
        if flags.contains('S') {
            b = b.syn();
        }
        if flags.contains('A') {
            b = b.ack(to.seq);
        }
        if flags.contains('F') {
            b = b.fin();
        }
        if flags.contains('R') {
            b = b.rst();
        }
        if flags.contains('P') {
            b = b.psh();
        }
        let mut v = Vec::with_capacity(b.size(payload.len()));
        b.write(&mut v, payload).expect("build frame");
        let len = v.len() as u32;
        self.frames.push((self.time_us, v, len));
        self.time_us += 100;
    }

    /// Writes one UDP datagram (IPv4) from `from` to `to`.
    pub fn datagram(&mut self, from: ([u8; 4], u16), to: ([u8; 4], u16), payload: &[u8]) {
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [0xff; 6])
            .ipv4(from.0, to.0, 64)
            .udp(from.1, to.1);
        let mut v = Vec::with_capacity(b.size(payload.len()));
        b.write(&mut v, payload).expect("build frame");
        let len = v.len() as u32;
        self.frames.push((self.time_us, v, len));
        self.time_us += 100;
    }

    /// Cuts the last frame to `caplen` bytes, as a snapshot length would.
    pub fn cut_last(&mut self, caplen: usize) {
        if let Some(f) = self.frames.last_mut() {
            f.1.truncate(caplen);
        }
    }

    /// Removes frame `i` (a segment the capture lost).
    pub fn drop_frame(&mut self, i: usize) {
        self.frames.remove(i);
    }

    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }

    /// Three-way handshake.
    pub fn connect(&mut self, c: &mut Peer, s: &mut Peer) {
        self.segment(c, s, "S", b"");
        let mut syn_ack = *s;
        // SYN-ACK acknowledges the client's SYN.
        self.segment_at(syn_ack.seq, &syn_ack, c, "SA", b"");
        syn_ack.seq = syn_ack.seq.wrapping_add(1);
        *s = syn_ack;
        self.segment(c, s, "A", b"");
    }

    /// Sends `data` in segments of at most `mss` bytes, each acknowledged by the peer.
    pub fn send(&mut self, from: &mut Peer, to: &mut Peer, data: &[u8], mss: usize) {
        for chunk in data.chunks(mss.max(1)) {
            self.segment(from, to, "AP", chunk);
            self.segment(to, from, "A", b"");
        }
    }

    /// FIN from each side, acknowledged.
    pub fn close(&mut self, c: &mut Peer, s: &mut Peer) {
        self.segment(c, s, "FA", b"");
        self.segment(s, c, "FA", b"");
        self.segment(c, s, "A", b"");
    }

    /// The capture as classic pcap bytes (little-endian, microseconds, Ethernet).
    pub fn pcap(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&0i32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&65535u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        for (t, data, len) in &self.frames {
            out.extend_from_slice(&((t / 1_000_000) as u32).to_le_bytes());
            out.extend_from_slice(&((t % 1_000_000) as u32).to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(data);
        }
        out
    }

    /// Writes the capture to a file in `dir` and returns its path.
    pub fn write(&self, dir: &std::path::Path, name: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, self.pcap()).expect("write capture");
        p
    }

    /// Splits into two captures, alternating frames (to test merging by time).
    pub fn split_alternating(&self) -> (Capture, Capture) {
        let mut a = Capture::new();
        let mut b = Capture::new();
        for (i, f) in self.frames.iter().enumerate() {
            if i % 2 == 0 {
                a.frames.push(f.clone());
            } else {
                b.frames.push(f.clone());
            }
        }
        (a, b)
    }
}

pub fn client(port: u16, seq: u32) -> Peer {
    Peer {
        ip: [10, 0, 0, 2],
        port,
        seq,
    }
}

pub fn server(seq: u32) -> Peer {
    Peer {
        ip: [192, 0, 2, 10],
        port: 80,
        seq,
    }
}
