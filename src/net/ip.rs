//! From a captured frame to a TCP segment or UDP datagram: link layer (Ethernet with VLAN
//! tags, PPPoE, MPLS; BSD loopback; raw IP; Linux cooked v1/v2; NFLOG), IPv4 and IPv6 with
//! extension headers (parsed by etherparse), bounded IP defragmentation, TCP and UDP headers.
//!
//! Nothing is allocated or copied per frame except for reassembled fragments; payloads borrow
//! the frame. Lengths come from the IP header, so Ethernet padding never becomes payload.

use crate::capture::{Frame, LinkType};
use crate::model::Ts;
use etherparse::{IpNumber, Ipv6ExtensionSlice, Ipv6ExtensionsSlice, LaxIpSlice, LenSource};
use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    /// Borrowed from the frame when not defragmented.
    pub payload: Cow<'a, [u8]>,
    /// Payload bytes the IP header announces but the frame does not hold (cut by snaplen).
    pub missing: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpDatagram<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub payload: Cow<'a, [u8]>,
    pub missing: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<'a> {
    Tcp(TcpSegment<'a>),
    Udp(UdpDatagram<'a>),
    /// An IP fragment held until its datagram is complete.
    Fragment,
    /// Not IP, or IP carrying something other than TCP/UDP (ARP, ICMP, ...).
    Ignored,
    /// Cannot be decoded; the reason in words.
    Malformed(String),
}

/// Holds the bounded IP defragmentation state.
#[derive(Debug, Default)]
pub struct Decoder {
    fragments: FragmentPool,
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }

    pub fn decode<'a>(&mut self, frame: &Frame<'a>) -> Decoded<'a> {
        match link_payload(frame.link, frame.data) {
            Ok(Some(ip)) => self.ip(ip, frame.ts),
            Ok(None) => Decoded::Ignored,
            Err(why) => Decoded::Malformed(why.into()),
        }
    }

    /// Fragmented datagrams given up (pool full, too old, inconsistent) so far.
    pub fn dropped_fragmented_datagrams(&self) -> u64 {
        self.fragments.dropped
    }

    fn ip<'a>(&mut self, bytes: &'a [u8], ts: Ts) -> Decoded<'a> {
        let (ip, ext_error) = match LaxIpSlice::from_slice(bytes) {
            Ok(parsed) => parsed,
            Err(e) => return Decoded::Malformed(format!("IP header: {e}")),
        };
        let src = ip.source_addr();
        let dst = ip.destination_addr();
        let payload = ip.payload();
        // What the IP header announces beyond the captured bytes.
        let announced = match &ip {
            LaxIpSlice::Ipv4(v4) => usize::from(v4.header().total_len()),
            LaxIpSlice::Ipv6(v6) => 40 + usize::from(v6.header().payload_length()),
        };
        let missing = if payload.incomplete {
            u32::try_from(announced.saturating_sub(bytes.len())).unwrap_or(u32::MAX)
        } else {
            0
        };
        // Where the datagram ends in the frame: the IP length unless it is absent or
        // larger than the frame (then the frame's end).
        let end = if payload.len_source == LenSource::Slice {
            bytes.len()
        } else {
            announced.min(bytes.len())
        };
        match &ip {
            LaxIpSlice::Ipv4(v4) if v4.header().is_fragmenting_payload() => {
                let h = v4.header();
                // From the end of the IPv4 header: headers after it (AH) are part of the
                // fragmented data, only whole once reassembled.
                let Some(part) = bytes.get(h.slice().len()..end) else {
                    return Decoded::Malformed("IPv4 fragment shorter than its header".into());
                };
                let piece = Piece {
                    key: FragmentKey {
                        src,
                        dst,
                        id: u32::from(h.identification()),
                        proto: h.protocol().0,
                        v6: false,
                    },
                    offset: usize::from(h.fragments_offset().byte_offset()),
                    more: h.more_fragments(),
                    data: part,
                };
                self.fragment(piece, missing, ts)
            }
            LaxIpSlice::Ipv6(v6) if v6.is_payload_fragmented() => {
                let Some(frag) = v6.extensions().clone().into_iter().find_map(|e| match e {
                    Ipv6ExtensionSlice::Fragment(f) => Some(f),
                    _ => None,
                }) else {
                    return Decoded::Malformed("IPv6 fragment header not found".into());
                };
                // The fragmentable part starts right after the fragment header (etherparse may
                // have read further headers after it, which belong to the fragmented data).
                // The header is a sub-slice of `bytes`: its address gives its offset.
                let start = (frag.slice().as_ptr() as usize)
                    .checked_sub(bytes.as_ptr() as usize)
                    .map(|at| at + frag.slice().len());
                let Some(part) = start.and_then(|start| bytes.get(start..end)) else {
                    return Decoded::Malformed("IPv6 fragment shorter than its headers".into());
                };
                let piece = Piece {
                    key: FragmentKey {
                        src,
                        dst,
                        id: frag.identification(),
                        proto: frag.next_header().0,
                        v6: true,
                    },
                    offset: usize::from(frag.fragment_offset().byte_offset()),
                    more: frag.more_fragments(),
                    data: part,
                };
                self.fragment(piece, missing, ts)
            }
            _ => {
                if let Some((e, _)) = ext_error {
                    return Decoded::Malformed(format!("IP extension header: {e}"));
                }
                transport(
                    payload.ip_number,
                    src,
                    dst,
                    Body::Frame(payload.payload),
                    missing,
                )
            }
        }
    }

    fn fragment<'a>(&mut self, piece: Piece<'_>, missing: u32, ts: Ts) -> Decoded<'a> {
        if missing > 0 {
            // The part the snap length cut off would leave a hole the datagram never fills.
            return Decoded::Malformed("IP fragment cut short by the capture".into());
        }
        let key = piece.key;
        match self.fragments.add(piece, ts) {
            Ok(None) => Decoded::Fragment,
            Ok(Some(datagram)) => {
                if key.v6 {
                    // Extension headers (destination options…) may lead the reassembled data.
                    let (_, next, rest, error) =
                        Ipv6ExtensionsSlice::from_slice_lax(IpNumber(key.proto), &datagram);
                    if let Some((e, _)) = error {
                        return Decoded::Malformed(format!("IPv6 extension header: {e}"));
                    }
                    let skip = datagram.len() - rest.len();
                    transport(next, key.src, key.dst, Body::Owned(datagram, skip), 0)
                } else {
                    transport(
                        IpNumber(key.proto),
                        key.src,
                        key.dst,
                        Body::Owned(datagram, 0),
                        0,
                    )
                }
            }
            Err(why) => Decoded::Malformed(why.into()),
        }
    }
}

/// The bytes of an IP payload: borrowed from the frame, or a reassembled datagram (with the
/// number of leading bytes that are IPv6 extension headers).
enum Body<'a> {
    Frame(&'a [u8]),
    Owned(Vec<u8>, usize),
}

impl Body<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Body::Frame(b) => b,
            Body::Owned(v, skip) => v.get(*skip..).unwrap_or_default(),
        }
    }
}

impl<'a> Body<'a> {
    /// The bytes from `from` on (relative to `bytes()`), borrowed when possible.
    fn into_tail(self, from: usize) -> Cow<'a, [u8]> {
        match self {
            Body::Frame(b) => Cow::Borrowed(b.get(from..).unwrap_or_default()),
            Body::Owned(mut v, skip) => {
                v.drain(..(skip + from).min(v.len()));
                Cow::Owned(v)
            }
        }
    }
}

fn transport<'a>(
    proto: IpNumber,
    src: IpAddr,
    dst: IpAddr,
    body: Body<'a>,
    missing: u32,
) -> Decoded<'a> {
    match proto {
        IpNumber::TCP => {
            let p = body.bytes();
            if p.len() < 20 {
                return Decoded::Malformed(format!("TCP header cut short ({} bytes)", p.len()));
            }
            let header_len = usize::from(p[12] >> 4) * 4;
            if header_len < 20 {
                return Decoded::Malformed(format!("TCP data offset too small ({header_len})"));
            }
            if header_len > p.len() {
                return Decoded::Malformed(format!(
                    "TCP header cut short ({} of {header_len} bytes)",
                    p.len()
                ));
            }
            let be16 = |at: usize| u16::from_be_bytes([p[at], p[at + 1]]);
            let be32 = |at: usize| u32::from_be_bytes([p[at], p[at + 1], p[at + 2], p[at + 3]]);
            let bits = p[13];
            let (sport, dport, seq, ack, window) = (be16(0), be16(2), be32(4), be32(8), be16(14));
            let flags = TcpFlags {
                fin: bits & 0x01 != 0,
                syn: bits & 0x02 != 0,
                rst: bits & 0x04 != 0,
                psh: bits & 0x08 != 0,
                ack: bits & 0x10 != 0,
            };
            Decoded::Tcp(TcpSegment {
                src: SocketAddr::new(src, sport),
                dst: SocketAddr::new(dst, dport),
                seq,
                ack,
                flags,
                window,
                payload: body.into_tail(header_len),
                missing,
            })
        }
        IpNumber::UDP => {
            let p = body.bytes();
            if p.len() < 8 {
                return Decoded::Malformed(format!("UDP header cut short ({} bytes)", p.len()));
            }
            let sport = u16::from_be_bytes([p[0], p[1]]);
            let dport = u16::from_be_bytes([p[2], p[3]]);
            // The UDP length can only shorten what IP delivered (it is 0 in jumbograms).
            let udp_len = usize::from(u16::from_be_bytes([p[4], p[5]]));
            let mut payload = body.into_tail(8);
            if missing == 0 && udp_len >= 8 && udp_len - 8 < payload.len() {
                match &mut payload {
                    Cow::Borrowed(b) => *b = &b[..udp_len - 8],
                    Cow::Owned(v) => v.truncate(udp_len - 8),
                }
            }
            Decoded::Udp(UdpDatagram {
                src: SocketAddr::new(src, sport),
                dst: SocketAddr::new(dst, dport),
                payload,
                missing,
            })
        }
        _ => Decoded::Ignored,
    }
}

// ---------------------------------------------------------------------------------------
// Link layer

/// Ethertypes.
const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const ETH_PPPOE_SESSION: u16 = 0x8864;
const ETH_MPLS: u16 = 0x8847;
const ETH_MPLS_MULTICAST: u16 = 0x8848;
/// 802.1Q, 802.1ad, and the pre-standard QinQ tags still seen in captures.
const VLAN_TAGS: &[u16] = &[0x8100, 0x88a8, 0x9100, 0x9200, 0x9300];
/// Bound on stacked VLAN tags / MPLS labels / PPPoE headers, so that a crafted frame cannot
/// make the loop long.
const MAX_ENCAPSULATIONS: usize = 16;

type LinkResult<'a> = Result<Option<&'a [u8]>, &'static str>;

/// The IP packet inside a frame: `Ok(None)` when the frame carries no IP.
fn link_payload(link: LinkType, data: &[u8]) -> LinkResult<'_> {
    match link {
        LinkType::Ethernet => {
            let (Some(ty), Some(rest)) = (be16(data, 12), data.get(14..)) else {
                return Err("Ethernet header cut short");
            };
            // Values up to 1500 are an 802.3 length (LLC frames: STP, NetBIOS…), not IP.
            if ty <= 1500 {
                return Ok(None);
            }
            by_ethertype(ty, rest)
        }
        LinkType::Null => {
            let (Some(head), Some(rest)) = (data.get(..4), data.get(4..)) else {
                return Err("loopback header cut short");
            };
            // The address family is in the byte order of the host that captured; check both.
            let le = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
            let be = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
            Ok((is_af_ip(le) || is_af_ip(be)).then_some(rest))
        }
        LinkType::Loop => {
            let (Some(af), Some(rest)) = (data.get(..4), data.get(4..)) else {
                return Err("loopback header cut short");
            };
            Ok(is_af_ip(u32::from_be_bytes([af[0], af[1], af[2], af[3]])).then_some(rest))
        }
        LinkType::RawIp | LinkType::Ipv4 | LinkType::Ipv6 => match data.first().map(|b| b >> 4) {
            Some(4 | 6) => Ok(Some(data)),
            Some(_) => Ok(None),
            None => Err("empty frame"),
        },
        LinkType::LinuxSll => {
            let (Some(ty), Some(rest)) = (be16(data, 14), data.get(16..)) else {
                return Err("Linux cooked header cut short");
            };
            by_ethertype(ty, rest)
        }
        LinkType::LinuxSll2 => {
            let (Some(ty), Some(rest)) = (be16(data, 0), data.get(20..)) else {
                return Err("Linux cooked v2 header cut short");
            };
            by_ethertype(ty, rest)
        }
        LinkType::Nflog => nflog_payload(data),
        LinkType::Other(_) => Ok(None),
    }
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*data.get(at)?, *data.get(at + 1)?]))
}

/// AF_INET, and AF_INET6 as BSDs number it (OpenBSD/NetBSD 24, FreeBSD 28, Darwin 30), plus
/// Linux's 10 which some tools write.
fn is_af_ip(af: u32) -> bool {
    matches!(af, 2 | 10 | 24 | 28 | 30)
}

fn by_ethertype(mut ty: u16, mut rest: &[u8]) -> LinkResult<'_> {
    for _ in 0..MAX_ENCAPSULATIONS {
        match ty {
            ETH_IPV4 | ETH_IPV6 => return Ok(Some(rest)),
            t if VLAN_TAGS.contains(&t) => {
                let (Some(inner), Some(after)) = (be16(rest, 2), rest.get(4..)) else {
                    return Err("VLAN tag cut short");
                };
                ty = inner;
                rest = after;
            }
            ETH_PPPOE_SESSION => {
                // PPPoE header (6 bytes), then the PPP protocol number: one byte when its
                // low bit is set (protocol field compression, RFC 1661 §6.5), else two.
                let Some(&first) = rest.get(6) else {
                    return Err("PPPoE header cut short");
                };
                let (proto, len) = if first & 1 == 1 {
                    (u16::from(first), 7)
                } else {
                    match be16(rest, 6) {
                        Some(p) => (p, 8),
                        None => return Err("PPPoE header cut short"),
                    }
                };
                let after = rest.get(len..).unwrap_or_default();
                return Ok(matches!(proto, 0x0021 | 0x0057).then_some(after));
            }
            ETH_MPLS | ETH_MPLS_MULTICAST => return mpls(rest),
            _ => return Ok(None),
        }
    }
    Err("too many stacked VLAN tags")
}

/// Pops MPLS labels to the bottom of the stack; IP is recognised by its version nibble.
fn mpls(mut rest: &[u8]) -> LinkResult<'_> {
    for _ in 0..MAX_ENCAPSULATIONS {
        let Some(&bottom) = rest.get(2) else {
            return Err("MPLS label cut short");
        };
        rest = rest.get(4..).unwrap_or_default();
        if bottom & 0x01 != 0 {
            return Ok(matches!(rest.first().map(|b| b >> 4), Some(4 | 6)).then_some(rest));
        }
    }
    Err("too many MPLS labels")
}

/// NFLOG: a 4-byte header, then TLVs (length including the 4-byte TLV header, type; both in
/// the capturing host's byte order, padded to 4 bytes). The packet is TLV type 9.
fn nflog_payload(data: &[u8]) -> LinkResult<'_> {
    const NFULA_PAYLOAD: u16 = 9;
    let walk = |big_endian: bool| -> Result<Option<&[u8]>, ()> {
        let read = |at: usize| -> Option<u16> {
            let b = [*data.get(at)?, *data.get(at + 1)?];
            Some(if big_endian {
                u16::from_be_bytes(b)
            } else {
                u16::from_le_bytes(b)
            })
        };
        let mut at = 4;
        while at < data.len() {
            let (Some(len), Some(kind)) = (read(at), read(at + 2)) else {
                return Err(());
            };
            let len = usize::from(len);
            let end = at + len;
            if len < 4 || end > data.len() {
                return Err(());
            }
            // The top bits of the type are netlink flags (nested, byte order).
            if kind & 0x3fff == NFULA_PAYLOAD {
                return Ok(data.get(at + 4..end));
            }
            at += (len + 3) & !3;
        }
        Ok(None)
    };
    if data.len() < 4 {
        return Err("NFLOG header cut short");
    }
    match (walk(false), walk(true)) {
        (Ok(Some(p)), _) | (_, Ok(Some(p))) => Ok(Some(p)),
        (Ok(None), _) | (_, Ok(None)) => Ok(None),
        (Err(()), Err(())) => Err("NFLOG attributes damaged"),
    }
}

// ---------------------------------------------------------------------------------------
// IP defragmentation

/// At most this many datagrams are reassembled at once...
const MAX_PENDING_DATAGRAMS: usize = 256;
/// ...holding at most this many bytes together; beyond either, the oldest is dropped.
const MAX_PENDING_BYTES: usize = 8 * 1024 * 1024;
/// A datagram whose first fragment is older than this (capture time) is given up.
const FRAGMENT_TIMEOUT_NS: i64 = 60 * 1_000_000_000;
/// IPv4 total length and IPv6 payload length are 16-bit.
const MAX_DATAGRAM: usize = 65_535;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FragmentKey {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    proto: u8,
    v6: bool,
}

struct Piece<'a> {
    key: FragmentKey,
    offset: usize,
    more: bool,
    data: &'a [u8],
}

#[derive(Debug)]
struct Pending {
    key: FragmentKey,
    first_seen: Ts,
    data: Vec<u8>,
    /// Byte ranges received, sorted and merged.
    have: Vec<(usize, usize)>,
    /// Known once the last fragment arrived.
    total: Option<usize>,
}

#[derive(Debug, Default)]
struct FragmentPool {
    /// In order of first fragment: the front is the oldest.
    pending: std::collections::VecDeque<Pending>,
    bytes: usize,
    dropped: u64,
}

impl FragmentPool {
    /// Adds a fragment; returns the reassembled payload once every byte is there.
    fn add(&mut self, piece: Piece<'_>, ts: Ts) -> Result<Option<Vec<u8>>, &'static str> {
        let end = piece.offset + piece.data.len();
        if end > MAX_DATAGRAM {
            return Err("IP fragment reaches beyond 64 KiB");
        }
        if piece.more && !piece.data.len().is_multiple_of(8) {
            return Err("IP fragment length not a multiple of 8");
        }
        while self
            .pending
            .front()
            .is_some_and(|p| ts.0.saturating_sub(p.first_seen.0) > FRAGMENT_TIMEOUT_NS)
        {
            self.drop_oldest();
        }
        let index = match self.pending.iter().position(|p| p.key == piece.key) {
            Some(i) => i,
            None => {
                while self.pending.len() >= MAX_PENDING_DATAGRAMS {
                    self.drop_oldest();
                }
                self.pending.push_back(Pending {
                    key: piece.key,
                    first_seen: ts,
                    data: Vec::new(),
                    have: Vec::new(),
                    total: None,
                });
                self.pending.len() - 1
            }
        };
        let Some(p) = self.pending.get_mut(index) else {
            return Err("IP fragment pool inconsistent");
        };
        if !piece.more {
            if p.total.is_some_and(|t| t != end) {
                let _ = self
                    .pending
                    .remove(index)
                    .map(|p| self.bytes -= p.data.len());
                self.dropped += 1;
                return Err("IP fragments disagree on the datagram length");
            }
            p.total = Some(end);
        }
        if p.data.len() < end {
            self.bytes += end - p.data.len();
            p.data.resize(end, 0);
        }
        p.data[piece.offset..end].copy_from_slice(piece.data);
        insert_range(&mut p.have, (piece.offset, end));
        let complete = p.total.is_some_and(|t| p.have.first() == Some(&(0, t)));
        if complete {
            let Some(mut done) = self.pending.remove(index) else {
                return Err("IP fragment pool inconsistent");
            };
            self.bytes -= done.data.len();
            // Bytes past the end announced by the last fragment were conflicting data.
            done.data.truncate(done.total.unwrap_or(done.data.len()));
            return Ok(Some(done.data));
        }
        while self.bytes > MAX_PENDING_BYTES && self.pending.len() > 1 {
            self.drop_oldest();
        }
        Ok(None)
    }

    fn drop_oldest(&mut self) {
        if let Some(p) = self.pending.pop_front() {
            self.bytes -= p.data.len();
            self.dropped += 1;
        }
    }
}

/// Inserts [start, end) into sorted, disjoint ranges, merging what touches or overlaps.
fn insert_range(ranges: &mut Vec<(usize, usize)>, (mut start, mut end): (usize, usize)) {
    let mut i = 0;
    while i < ranges.len() {
        let (s, e) = ranges[i];
        if e < start {
            i += 1;
        } else if end < s {
            break;
        } else {
            start = start.min(s);
            end = end.max(e);
            ranges.remove(i);
        }
    }
    ranges.insert(i, (start, end));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{Input, Record};
    use crate::testkit::corpus;

    fn frame(link: LinkType, data: &[u8]) -> Frame<'_> {
        Frame {
            ts: Ts(0),
            link,
            data,
            orig_len: data.len() as u32,
        }
    }

    /// Decodes every frame of a corpus capture, numbered from 1 as Wireshark does.
    fn with_decoded(path: &str, mut check: impl FnMut(u64, Decoded<'_>)) -> bool {
        let Some(corpus) = corpus() else { return false };
        let input = Input::open(&corpus.join(path)).unwrap();
        let mut decoder = Decoder::new();
        let mut no = 0;
        for r in input.records() {
            if let Record::Frame(f) = r {
                no += 1;
                check(no, decoder.decode(&f));
            }
        }
        true
    }

    fn sock(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn real_request_frame_matches_tshark() {
        // tshark -r http_post.pcapng frame 4: seq_raw 2808074211, ack_raw 3740859985,
        // tcp.len 1121, window 4218, flags PSH+ACK; reference: 172.16.16.128:1989 -> :80.
        let mut seen = false;
        let ran = with_decoded("chrissanders-packets/http_post.pcapng", |no, d| {
            if no != 4 {
                return;
            }
            let Decoded::Tcp(s) = d else {
                panic!("frame 4 not TCP: {d:?}")
            };
            assert_eq!(s.src, sock("172.16.16.128:1989"));
            assert_eq!(s.dst, sock("69.163.176.56:80"));
            assert_eq!(
                (s.seq, s.ack, s.window),
                (2_808_074_211, 3_740_859_985, 4218)
            );
            assert_eq!(s.payload.len(), 1121);
            assert!(s.payload.starts_with(b"POST /wp-comments-post.php"));
            assert!(matches!(s.payload, Cow::Borrowed(_)));
            assert_eq!(s.missing, 0);
            assert_eq!(
                s.flags,
                TcpFlags {
                    psh: true,
                    ack: true,
                    ..TcpFlags::default()
                }
            );
            seen = true;
        });
        assert!(seen || !ran);
    }

    /// The request frames that tshark lists in a capture's reference decode to TCP between
    /// the same endpoints.
    fn request_endpoints_match(
        path: &str,
        frame_no: u64,
        client: &str,
        server: &str,
        method: &str,
    ) {
        let mut seen = false;
        let ran = with_decoded(path, |no, d| {
            if no != frame_no {
                return;
            }
            let Decoded::Tcp(s) = d else {
                panic!("{path} frame {no} not TCP: {d:?}")
            };
            assert_eq!((s.src, s.dst), (sock(client), sock(server)), "{path}");
            assert!(s.payload.starts_with(method.as_bytes()), "{path}");
            seen = true;
        });
        assert!(seen || !ran, "{path}: frame {frame_no} not found");
    }

    #[test]
    fn link_layers_of_the_corpus_decode_to_tcp() {
        // (capture, frame, client, server, method) from reference/<capture>.json.
        let cases = [
            (
                "zeek/http-vlan-0.pcap",
                4,
                "141.142.228.5:59856",
                "192.150.187.43:80",
                "GET",
            ),
            (
                "zeek/http-qinq-0.pcap",
                4,
                "141.142.228.5:59856",
                "192.150.187.43:80",
                "GET",
            ),
            (
                "zeek/vlan-qinqinq.pcap",
                4,
                "141.142.228.5:59856",
                "192.150.187.43:80",
                "GET",
            ),
            (
                "suricata-verify/decode-sll2-01/input.pcap",
                4,
                "192.168.1.253:56478",
                "192.168.1.21:80",
                "GET",
            ),
            (
                "suricata-verify/websocket-ping/input.pcap",
                4,
                "127.0.0.1:55371",
                "127.0.0.1:10301",
                "GET",
            ),
            (
                "zeek/http/basic-auth-with-colon.pcap",
                4,
                "172.24.133.205:43090",
                "172.24.133.205:8000",
                "GET",
            ),
            (
                "zeek/nflog-http.pcap",
                6,
                "10.0.2.15:49762",
                "93.184.216.34:80",
                "GET",
            ),
            (
                "suricata-verify/bug-4810/pppoe-session-http.pcap",
                4,
                "10.100.0.0:57013",
                "142.250.179.131:80",
                "GET",
            ),
            // tshark names the frame that completes the request: here its last byte.
            (
                "ja4/http-empty-useragent.pcap",
                9,
                "[::1]:57722",
                "[::1]:9200",
                "",
            ),
        ];
        for (path, no, client, server, method) in cases {
            request_endpoints_match(path, no, client, server, method);
        }
    }

    #[test]
    fn every_frame_of_http_captures_decodes() {
        // Captures whose every frame tshark dissects as IP: none may come out Malformed.
        for path in [
            "zeek/vlan-qinqinq.pcap",
            "zeek/nflog-http.pcap",
            "suricata-verify/decode-sll2-01/input.pcap",
            "illustrated-tls12/capture.pcap",
            "chrissanders-packets/http_ip4and6.pcapng",
        ] {
            with_decoded(path, |no, d| {
                assert!(
                    !matches!(d, Decoded::Malformed(_)),
                    "{path} frame {no}: {d:?}"
                );
            });
        }
    }

    #[test]
    fn ipv6_fragments_of_the_corpus_reassemble() {
        // tshark: frames 6, 7, 8 are fragments of one datagram (ident 2) completed in frame 8,
        // a DNS response from [2607:f740:b::f93]:53; frame 4 is a lone last fragment (ident 1).
        let mut got = Vec::new();
        with_decoded("zeek/ipv6-fragmented-dns.pcap", |no, d| {
            got.push((no, d.clone().into_owned()))
        });
        if got.is_empty() {
            return;
        }
        assert!(matches!(got[3].1, Decoded::Fragment));
        assert!(matches!(got[5].1, Decoded::Fragment));
        assert!(matches!(got[6].1, Decoded::Fragment));
        let Decoded::Udp(u) = &got[7].1 else {
            panic!("frame 8: {:?}", got[7].1)
        };
        assert_eq!(u.src, sock("[2607:f740:b::f93]:53"));
        assert_eq!(u.dst, sock("[2001:470:1f11:81f:d138:5f55:6d4:1fe2]:51851"));
        // DNS id 0x9f91 (reference), then a response with the QR bit.
        assert_eq!(&u.payload[..2], &[0x9f, 0x91]);
        assert!(u.payload[2] & 0x80 != 0);
        for (no, d) in [(1, &got[0].1), (2, &got[1].1)] {
            assert!(matches!(d, Decoded::Udp(_)), "frame {no}");
        }
    }

    impl Decoded<'_> {
        fn into_owned(self) -> Decoded<'static> {
            match self {
                Decoded::Tcp(s) => Decoded::Tcp(TcpSegment {
                    payload: Cow::Owned(s.payload.into_owned()),
                    ..s
                }),
                Decoded::Udp(u) => Decoded::Udp(UdpDatagram {
                    payload: Cow::Owned(u.payload.into_owned()),
                    ..u
                }),
                Decoded::Fragment => Decoded::Fragment,
                Decoded::Ignored => Decoded::Ignored,
                Decoded::Malformed(m) => Decoded::Malformed(m),
            }
        }
    }

    // --- synthetic packets, built after RFC 791 / 793 / 8200 ---

    fn ipv4(proto: u8, id: u16, frag_field: u16, total_len: u16, payload: &[u8]) -> Vec<u8> {
        let mut h = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        h[2..4].copy_from_slice(&total_len.to_be_bytes());
        h[4..6].copy_from_slice(&id.to_be_bytes());
        h[6..8].copy_from_slice(&frag_field.to_be_bytes());
        h.extend_from_slice(payload);
        h
    }

    fn tcp(sport: u16, dport: u16, seq: u32, flags: u8, options: &[u8], payload: &[u8]) -> Vec<u8> {
        let header_len = 20 + options.len();
        let mut t = Vec::new();
        t.extend(sport.to_be_bytes());
        t.extend(dport.to_be_bytes());
        t.extend(seq.to_be_bytes());
        t.extend(7u32.to_be_bytes());
        t.push(((header_len / 4) as u8) << 4);
        t.push(flags);
        t.extend(512u16.to_be_bytes());
        t.extend([0, 0, 0, 0]);
        t.extend_from_slice(options);
        t.extend_from_slice(payload);
        t
    }

    fn ethernet(ethertypes: &[u16], payload: &[u8]) -> Vec<u8> {
        let mut e = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
        for (i, ty) in ethertypes.iter().enumerate() {
            e.extend(ty.to_be_bytes());
            if i + 1 < ethertypes.len() {
                e.extend([0x00, 0x0a]); // VLAN TCI
            }
        }
        e.extend_from_slice(payload);
        e
    }

    fn tcp_of(d: Decoded<'_>) -> TcpSegment<'_> {
        match d {
            Decoded::Tcp(s) => s,
            other => panic!("not TCP: {other:?}"),
        }
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        let seg = tcp(1234, 80, 1, 0x10, &[], b"");
        let ip = ipv4(6, 1, 0, (20 + seg.len()) as u16, &seg);
        let mut eth = ethernet(&[0x0800], &ip);
        eth.extend([0u8; 6]); // pad to the 60-byte Ethernet minimum
        let s = tcp_of(Decoder::new().decode(&frame(LinkType::Ethernet, &eth)));
        assert!(s.payload.is_empty());
        assert_eq!(s.missing, 0);
    }

    #[test]
    fn tcp_options_are_skipped_and_short_headers_refused() {
        let seg = tcp(1234, 80, 99, 0x02, &[2, 4, 5, 0xb4, 1, 1, 4, 2], b"hi");
        let ip = ipv4(6, 1, 0, (20 + seg.len()) as u16, &seg);
        let s = tcp_of(Decoder::new().decode(&frame(LinkType::RawIp, &ip)));
        assert_eq!(s.payload.as_ref(), b"hi");
        assert!(s.flags.syn && !s.flags.ack);
        assert_eq!(s.seq, 99);
        // The frame ends inside the TCP options.
        let cut = &ip[..20 + 24];
        assert!(matches!(
            Decoder::new().decode(&frame(LinkType::RawIp, cut)),
            Decoded::Malformed(_)
        ));
    }

    #[test]
    fn snaplen_cut_frames_report_missing_bytes() {
        let seg = tcp(1234, 80, 1, 0x18, &[], &[b'x'; 100]);
        let ip = ipv4(6, 1, 0, (20 + seg.len()) as u16, &seg);
        let eth = ethernet(&[0x0800], &ip);
        let cut = &eth[..14 + 20 + 20 + 30];
        let s = tcp_of(Decoder::new().decode(&frame(LinkType::Ethernet, cut)));
        assert_eq!(s.payload.len(), 30);
        assert_eq!(s.missing, 70);
    }

    #[test]
    fn vlan_stacks_loopback_and_cooked_headers() {
        let seg = tcp(40000, 443, 5, 0x10, &[], b"data");
        let ip = ipv4(6, 1, 0, (20 + seg.len()) as u16, &seg);
        let mut d = Decoder::new();
        for tags in [
            &[0x8100, 0x0800][..],
            &[0x88a8, 0x8100, 0x0800],
            &[0x9100, 0x88a8, 0x8100, 0x0800],
        ] {
            let eth = ethernet(tags, &ip);
            assert_eq!(
                tcp_of(d.decode(&frame(LinkType::Ethernet, &eth)))
                    .payload
                    .as_ref(),
                b"data"
            );
        }
        for af in [2u32.to_le_bytes(), 2u32.to_be_bytes()] {
            let null = [&af[..], &ip].concat();
            assert_eq!(tcp_of(d.decode(&frame(LinkType::Null, &null))).seq, 5);
        }
        let lo = [&2u32.to_be_bytes()[..], &ip].concat();
        assert_eq!(tcp_of(d.decode(&frame(LinkType::Loop, &lo))).seq, 5);
        let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
        sll.extend_from_slice(&ip);
        assert_eq!(tcp_of(d.decode(&frame(LinkType::LinuxSll, &sll))).seq, 5);
        let mut sll2 = vec![
            0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0,
        ];
        sll2.extend_from_slice(&ip);
        assert_eq!(tcp_of(d.decode(&frame(LinkType::LinuxSll2, &sll2))).seq, 5);
        // ARP on Ethernet, and a frame too short for its header.
        let arp = ethernet(&[0x0806], &[0; 28]);
        assert_eq!(d.decode(&frame(LinkType::Ethernet, &arp)), Decoded::Ignored);
        assert!(matches!(
            d.decode(&frame(LinkType::Ethernet, &arp[..10])),
            Decoded::Malformed(_)
        ));
        let too_many = ethernet(&[0x8100; 20], &ip);
        assert!(matches!(
            d.decode(&frame(LinkType::Ethernet, &too_many)),
            Decoded::Malformed(_)
        ));
    }

    #[test]
    fn ipv4_fragments_reassemble_in_any_order() {
        let payload: Vec<u8> = (0..64u8).collect();
        let seg = tcp(1000, 80, 42, 0x18, &[], &payload);
        assert_eq!(seg.len(), 84);
        // Three fragments: 0..32, 32..64 (MF), 64..84 (last).
        let mk = |off: usize, end: usize, more: bool| {
            let field = (off / 8) as u16 | if more { 0x2000 } else { 0 };
            ipv4(6, 77, field, (20 + end - off) as u16, &seg[off..end])
        };
        let pieces = [mk(0, 32, true), mk(32, 64, true), mk(64, 84, false)];
        for order in [[0, 1, 2], [2, 0, 1], [1, 2, 0]] {
            let mut d = Decoder::new();
            let mut out = Vec::new();
            for &i in &order {
                out.push(d.decode(&frame(LinkType::RawIp, &pieces[i])));
            }
            assert_eq!(out[0], Decoded::Fragment);
            assert_eq!(out[1], Decoded::Fragment);
            let s = tcp_of(out.pop().unwrap());
            assert_eq!(s.seq, 42);
            assert_eq!(s.payload.as_ref(), payload.as_slice());
            assert!(matches!(s.payload, Cow::Owned(_)));
        }
    }

    #[test]
    fn fragment_pool_is_bounded() {
        let mut d = Decoder::new();
        let chunk = [0u8; 1480];
        // Many datagrams that never complete.
        for id in 0..2000u16 {
            let ip = ipv4(17, id, 0x2000, 1500, &chunk);
            assert_eq!(d.decode(&frame(LinkType::RawIp, &ip)), Decoded::Fragment);
        }
        assert!(d.fragments.pending.len() <= MAX_PENDING_DATAGRAMS);
        assert!(d.fragments.bytes <= MAX_PENDING_BYTES);
        assert!(d.dropped_fragmented_datagrams() >= 2000 - MAX_PENDING_DATAGRAMS as u64);
        // A fragment claiming to reach past 64 KiB.
        let ip = ipv4(17, 1, 0x2000 | 8190, 1500, &chunk);
        assert!(matches!(
            d.decode(&frame(LinkType::RawIp, &ip)),
            Decoded::Malformed(_)
        ));
    }

    #[test]
    fn udp_length_trims_and_nflog_finds_its_payload() {
        let mut udp = vec![0, 53, 0x30, 0x39, 0, 12, 0, 0];
        udp.extend_from_slice(b"abcd");
        let ip = ipv4(17, 1, 0, 32, &udp);
        // NFLOG: header, a prefix TLV (type 10), then the payload TLV (type 9), little-endian.
        let mut nf = vec![2, 0, 0, 0];
        nf.extend(8u16.to_le_bytes());
        nf.extend(10u16.to_le_bytes());
        nf.extend(b"abc\0");
        nf.extend(((4 + ip.len()) as u16).to_le_bytes());
        nf.extend(9u16.to_le_bytes());
        nf.extend_from_slice(&ip);
        let Decoded::Udp(u) = Decoder::new().decode(&frame(LinkType::Nflog, &nf)) else {
            panic!()
        };
        assert_eq!(u.payload.as_ref(), b"abcd");
        assert_eq!(u.dst.port(), 12345);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_frames_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200), link in 0usize..9) {
            let links = [LinkType::Ethernet, LinkType::Null, LinkType::Loop, LinkType::RawIp,
                LinkType::Ipv4, LinkType::Ipv6, LinkType::LinuxSll, LinkType::LinuxSll2, LinkType::Nflog];
            let mut d = Decoder::new();
            let _ = d.decode(&frame(links[link], &bytes));
            // Also as the IP payload of a raw frame with a valid-looking version nibble.
            let mut v = bytes.clone();
            if let Some(b) = v.first_mut() { *b = 0x45; }
            let _ = d.decode(&frame(LinkType::RawIp, &v));
            if let Some(b) = v.first_mut() { *b = 0x60; }
            let _ = d.decode(&frame(LinkType::RawIp, &v));
        }
    }
}
