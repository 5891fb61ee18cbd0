//! pcapng: a sequence of sections, each a Section Header Block (which fixes the byte order)
//! followed by interface descriptions, packets and other blocks.
//!
//! Block framing is checked here (both length fields, bounds); section and interface headers
//! are decoded by pcap-parser. Packet blocks (EPB, SPB, obsolete PB) and Decryption Secrets
//! Blocks are decoded here directly: their layout is fixed, and pcap-parser would allocate a
//! vector of options for every packet that carries any.

use super::{read_u16, read_u32, read_u64, Frame, LinkType, Record, Step};
use crate::model::Ts;
use pcap_parser::nom;
use pcap_parser::{
    parse_interfacedescriptionblock_be, parse_interfacedescriptionblock_le,
    parse_sectionheaderblock, OptionCode, PcapNGOption,
};

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
/// Obsolete Packet Block.
const PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
const DSB: u32 = 0x0a;
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;

/// Block lengths above this are taken as damage rather than a file cut inside a big block.
const PLAUSIBLE_BLOCK_LEN: u32 = 256 * 1024 * 1024;

/// How interface timestamp units become nanoseconds.
#[derive(Clone, Copy, Debug)]
enum Scale {
    /// Units are 10^-n s with n <= 9: multiply.
    Mul(u64),
    /// Units finer than a nanosecond (10^-n, n > 9): divide.
    Div(u128),
    /// Units are 2^-n s.
    Pow2(u32),
}

impl Scale {
    fn from_tsresol(v: u8) -> Scale {
        if v & 0x80 == 0 {
            let e = u32::from(v);
            if e <= 9 {
                Scale::Mul(10u64.pow(9 - e))
            } else {
                // 10^38 is the largest power of ten in a u128; beyond it every value is 0 ns.
                Scale::Div(10u128.checked_pow(e - 9).unwrap_or(u128::MAX))
            }
        } else {
            Scale::Pow2(u32::from(v & 0x7f))
        }
    }

    fn nanos(self, units: u64) -> i128 {
        let units = u128::from(units);
        let ns = match self {
            Scale::Mul(m) => units * u128::from(m),
            Scale::Div(d) => units / d,
            // units < 2^64 and 10^9 < 2^30: the product fits in a u128.
            Scale::Pow2(k) => (units * 1_000_000_000).checked_shr(k).unwrap_or(0),
        };
        ns as i128
    }
}

#[derive(Clone, Copy, Debug)]
struct Interface {
    link: LinkType,
    snaplen: u32,
    scale: Scale,
    /// if_tsoffset, in nanoseconds.
    offset_ns: i128,
}

impl Interface {
    fn ts(&self, high: u32, low: u32) -> Ts {
        let units = (u64::from(high) << 32) | u64::from(low);
        let ns = self.scale.nanos(units) + self.offset_ns;
        Ts(ns.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
    }
}

pub(crate) struct PcapNgReader {
    big_endian: bool,
    /// Interfaces of the current section, by id.
    interfaces: Vec<Interface>,
    /// Simple Packet Blocks carry no timestamp: they get the last one seen.
    last_ts: Ts,
    new_link: Option<LinkType>,
}

/// Checks that the file starts with a whole, valid Section Header Block.
pub(crate) fn check_header(data: &[u8]) -> Result<(), String> {
    match parse_sectionheaderblock(data) {
        Ok(_) => Ok(()),
        Err(nom::Err::Incomplete(_)) => Err(format!(
            "the pcapng section header is cut short ({} bytes in the file)",
            data.len()
        )),
        Err(_) => Err("the pcapng section header is invalid (byte-order magic or lengths)".into()),
    }
}

impl PcapNgReader {
    pub(crate) fn new() -> PcapNgReader {
        PcapNgReader {
            big_endian: false,
            interfaces: Vec::new(),
            last_ts: Ts::default(),
            new_link: None,
        }
    }

    /// The link type of an interface declared by the last block read, if any.
    pub(crate) fn take_new_link(&mut self) -> Option<LinkType> {
        self.new_link.take()
    }

    pub(crate) fn next<'a>(
        &mut self,
        data: &'a [u8],
        pos: &mut usize,
        skipped: &mut u64,
    ) -> Step<'a> {
        let rest = data.get(*pos..).unwrap_or_default();
        if rest.is_empty() {
            return Step::End;
        }
        if rest.len() < 12 {
            return Step::Damaged(format!(
                "the file ends inside a block header ({} bytes left)",
                rest.len()
            ));
        }
        // The section header's type reads the same in both byte orders; its byte-order magic
        // says how to read everything up to the next section header.
        if read_u32(rest, 0, false) == Some(SHB) {
            match read_u32(rest, 8, false) {
                Some(BYTE_ORDER_MAGIC) => self.big_endian = false,
                Some(m) if m.swap_bytes() == BYTE_ORDER_MAGIC => self.big_endian = true,
                _ => {
                    return Step::Damaged("section header with an invalid byte-order magic".into())
                }
            }
        }
        let be = self.big_endian;
        let (Some(kind), Some(len)) = (read_u32(rest, 0, be), read_u32(rest, 4, be)) else {
            return Step::Damaged("the file ends inside a block header".into());
        };
        if len < 12 {
            return Step::Damaged(format!("block with an invalid length ({len} bytes)"));
        }
        let Some(block) = rest.get(..len as usize) else {
            return Step::Damaged(if len > PLAUSIBLE_BLOCK_LEN {
                format!("damaged block header (length {len} bytes)")
            } else {
                format!(
                    "the file ends inside a block ({len} bytes announced, {} present)",
                    rest.len()
                )
            });
        };
        let trailer = read_u32(block, block.len() - 4, be);
        if trailer != Some(len) {
            return Step::Damaged(format!(
                "damaged block: its leading and trailing lengths differ ({len} and {})",
                trailer.unwrap_or(0)
            ));
        }
        let body = &block[8..block.len() - 4];
        let step = match kind {
            SHB => self.section(block),
            IDB => self.interface(block),
            EPB => self.enhanced_packet(body, skipped),
            SPB => self.simple_packet(body, skipped),
            PB => self.obsolete_packet(body, skipped),
            DSB => self.secrets(body),
            _ => Step::Skip,
        };
        if !matches!(step, Step::Damaged(_)) {
            *pos += block.len();
        }
        step
    }

    fn section(&mut self, block: &[u8]) -> Step<'static> {
        match parse_sectionheaderblock(block) {
            Ok((_, shb)) if shb.major_version == 1 => {
                // Interface ids are local to a section.
                self.interfaces.clear();
                Step::Skip
            }
            Ok((_, shb)) => Step::Damaged(format!(
                "unsupported pcapng version {}.{}",
                shb.major_version, shb.minor_version
            )),
            Err(_) => Step::Damaged("invalid section header block".into()),
        }
    }

    fn interface(&mut self, block: &[u8]) -> Step<'static> {
        let parsed = if self.big_endian {
            parse_interfacedescriptionblock_be(block)
        } else {
            parse_interfacedescriptionblock_le(block)
        };
        let Ok((_, idb)) = parsed else {
            return Step::Damaged("invalid interface description block".into());
        };
        let link = LinkType::from_dlt(u32::from(idb.linktype.0 as u16));
        let (resol, offset) = time_options(&idb.options, self.big_endian);
        self.interfaces.push(Interface {
            link,
            snaplen: idb.snaplen,
            scale: Scale::from_tsresol(resol),
            offset_ns: i128::from(offset) * 1_000_000_000,
        });
        self.new_link = Some(link);
        Step::Skip
    }

    fn packet<'a>(
        &mut self,
        if_id: u32,
        time: Option<(u32, u32)>,
        data: &'a [u8],
        orig_len: u32,
        skipped: &mut u64,
    ) -> Step<'a> {
        let Some(iface) = self.interfaces.get(if_id as usize) else {
            *skipped += 1;
            return Step::Skip;
        };
        let ts = match time {
            Some((high, low)) => iface.ts(high, low),
            None => self.last_ts,
        };
        self.last_ts = ts;
        Step::Record(Record::Frame(Frame {
            ts,
            link: iface.link,
            data,
            orig_len,
        }))
    }

    /// EPB body: interface id, timestamp (high, low), captured length, original length, data.
    fn enhanced_packet<'a>(&mut self, body: &'a [u8], skipped: &mut u64) -> Step<'a> {
        let be = self.big_endian;
        let fields = (
            read_u32(body, 0, be),
            read_u32(body, 4, be),
            read_u32(body, 8, be),
            read_u32(body, 12, be),
            read_u32(body, 16, be),
        );
        let (Some(if_id), Some(high), Some(low), Some(caplen), Some(orig)) = fields else {
            *skipped += 1;
            return Step::Skip;
        };
        let Some(data) = body.get(20..20usize.saturating_add(caplen as usize)) else {
            *skipped += 1;
            return Step::Skip;
        };
        self.packet(if_id, Some((high, low)), data, orig, skipped)
    }

    /// Obsolete Packet Block: a 16-bit interface id and a drop count, then as the EPB.
    fn obsolete_packet<'a>(&mut self, body: &'a [u8], skipped: &mut u64) -> Step<'a> {
        let be = self.big_endian;
        let fields = (
            read_u16(body, 0, be),
            read_u32(body, 4, be),
            read_u32(body, 8, be),
            read_u32(body, 12, be),
            read_u32(body, 16, be),
        );
        let (Some(if_id), Some(high), Some(low), Some(caplen), Some(orig)) = fields else {
            *skipped += 1;
            return Step::Skip;
        };
        let Some(data) = body.get(20..20usize.saturating_add(caplen as usize)) else {
            *skipped += 1;
            return Step::Skip;
        };
        self.packet(u32::from(if_id), Some((high, low)), data, orig, skipped)
    }

    /// Simple Packet Block: original length then data, on interface 0; the captured length is
    /// what fits the block and the interface's snap length.
    fn simple_packet<'a>(&mut self, body: &'a [u8], skipped: &mut u64) -> Step<'a> {
        let Some(orig) = read_u32(body, 0, self.big_endian) else {
            *skipped += 1;
            return Step::Skip;
        };
        let mut caplen = (orig as usize).min(body.len() - 4);
        if let Some(iface) = self.interfaces.first() {
            if iface.snaplen != 0 {
                caplen = caplen.min(iface.snaplen as usize);
            }
        }
        self.packet(0, None, &body[4..4 + caplen], orig, skipped)
    }

    /// Decryption Secrets Block: secrets type, length, the secrets (padded), options.
    fn secrets<'a>(&mut self, body: &'a [u8]) -> Step<'a> {
        let be = self.big_endian;
        let (Some(kind), Some(len)) = (read_u32(body, 0, be), read_u32(body, 4, be)) else {
            return Step::Skip;
        };
        match body.get(8..8usize.saturating_add(len as usize)) {
            Some(data) => Step::Record(Record::Secrets { kind, data }),
            None => Step::Skip,
        }
    }
}

/// Every Decryption Secrets Block of a pcapng file as (secrets type, bytes), found by a walk
/// over block headers only (packet blocks are not decoded). `passed(offset)` is told how far
/// the walk got, every few MiB, so the caller can give the pages back. Stops at the first
/// damage: the main pass reports it.
pub(crate) fn secrets(data: &[u8], mut passed: impl FnMut(usize)) -> Vec<(u32, &[u8])> {
    const REPORT_STEP: usize = 8 << 20;
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut reported = 0usize;
    let mut be = false;
    while let Some(rest) = data.get(pos..).filter(|r| r.len() >= 12) {
        if read_u32(rest, 0, false) == Some(SHB) {
            match read_u32(rest, 8, false) {
                Some(BYTE_ORDER_MAGIC) => be = false,
                Some(m) if m.swap_bytes() == BYTE_ORDER_MAGIC => be = true,
                _ => break,
            }
        }
        let (Some(kind), Some(len)) = (read_u32(rest, 0, be), read_u32(rest, 4, be)) else {
            break;
        };
        let Some(block) = rest.get(..len as usize).filter(|_| len >= 12) else {
            break;
        };
        if kind == DSB {
            let body = &block[8..block.len() - 4];
            if let (Some(t), Some(n)) = (read_u32(body, 0, be), read_u32(body, 4, be)) {
                if let Some(bytes) = body.get(8..8usize.saturating_add(n as usize)) {
                    out.push((t, bytes));
                }
            }
        }
        pos += block.len();
        if pos - reported >= REPORT_STEP {
            passed(pos);
            reported = pos;
        }
    }
    out
}

/// if_tsresol (default 6: microseconds) and if_tsoffset (seconds, default 0) of an interface.
/// Read here rather than by pcap-parser, which reads if_tsoffset as little-endian whatever the
/// section's byte order.
fn time_options(options: &[PcapNGOption<'_>], big_endian: bool) -> (u8, i64) {
    let mut resol = 6;
    let mut offset = 0;
    for opt in options {
        let Ok(value) = opt.as_bytes() else {
            continue;
        };
        if opt.code == OptionCode::IfTsresol {
            if let Some(&v) = value.first() {
                resol = v;
            }
        } else if opt.code == OptionCode::IfTsoffset {
            if let Some(v) = read_u64(value, 0, big_endian) {
                offset = v as i64;
            }
        }
    }
    (resol, offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{Input, Records};
    use std::io::Write;

    /// Builds pcapng blocks after draft-ietf-opsawg-pcapng, in either byte order.
    struct Ng {
        be: bool,
        out: Vec<u8>,
    }

    impl Ng {
        fn u16(&self, v: u16) -> [u8; 2] {
            if self.be {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        }
        fn u32(&self, v: u32) -> [u8; 4] {
            if self.be {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        }
        fn block(&mut self, kind: u32, body: &[u8]) {
            let mut body = body.to_vec();
            while !body.len().is_multiple_of(4) {
                body.push(0);
            }
            let len = body.len() as u32 + 12;
            let (k, l) = (self.u32(kind), self.u32(len));
            self.out.extend(k);
            self.out.extend(l);
            self.out.extend(body);
            self.out.extend(l);
        }
        fn option(&self, code: u16, value: &[u8]) -> Vec<u8> {
            let mut o = Vec::new();
            o.extend(self.u16(code));
            o.extend(self.u16(value.len() as u16));
            o.extend_from_slice(value);
            while o.len() % 4 != 0 {
                o.push(0);
            }
            o
        }
        fn section(&mut self, be: bool) {
            self.be = be;
            let mut body = Vec::new();
            body.extend(self.u32(BYTE_ORDER_MAGIC));
            body.extend(self.u16(1));
            body.extend(self.u16(0));
            body.extend(u64::MAX.to_le_bytes());
            self.block(SHB, &body);
        }
        fn interface(&mut self, dlt: u16, options: &[Vec<u8>]) {
            let mut body = Vec::new();
            body.extend(self.u16(dlt));
            body.extend(self.u16(0));
            body.extend(self.u32(262_144));
            for o in options {
                body.extend(o);
            }
            if !options.is_empty() {
                body.extend([0, 0, 0, 0]);
            }
            self.block(IDB, &body);
        }
        fn epb(&mut self, if_id: u32, units: u64, data: &[u8]) {
            let mut body = Vec::new();
            body.extend(self.u32(if_id));
            body.extend(self.u32((units >> 32) as u32));
            body.extend(self.u32(units as u32));
            body.extend(self.u32(data.len() as u32));
            body.extend(self.u32(data.len() as u32 + 10));
            body.extend_from_slice(data);
            self.block(EPB, &body);
        }
    }

    fn open(bytes: &[u8]) -> (tempfile::NamedTempFile, Input) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f.flush().unwrap();
        let input = Input::open(f.path()).unwrap();
        (f, input)
    }

    fn frames<'a>(recs: &mut Records<'a>) -> Vec<Frame<'a>> {
        recs.by_ref()
            .filter_map(|r| match r {
                Record::Frame(f) => Some(f),
                Record::Secrets { .. } => None,
            })
            .collect()
    }

    #[test]
    fn two_sections_with_own_byte_order_interfaces_and_resolutions() {
        let mut ng = Ng {
            be: false,
            out: Vec::new(),
        };
        ng.section(false);
        // Interface 0: Ethernet, default µs. Interface 1: raw IP, nanoseconds (tsresol 9)
        // and if_tsoffset of 100 s.
        ng.interface(1, &[]);
        let resol = ng.option(9, &[9]);
        let offset = ng.option(14, &100u64.to_le_bytes());
        ng.interface(101, &[resol, offset]);
        ng.epb(0, 1_000_000_123_456, b"eth");
        ng.epb(1, 5_000_000_007, b"raw");
        ng.epb(7, 1, b"nope"); // no interface 7: skipped
                               // Second section, big-endian; its interface 0 is Linux SLL with 2^-10 s units and
                               // the tsoffset option in big-endian order.
        ng.section(true);
        let resol = ng.option(9, &[0x80 | 10]);
        let offset = ng.option(14, &7u64.to_be_bytes());
        ng.interface(113, &[resol, offset]);
        ng.epb(0, 3 * 1024 + 512, b"sll");
        ng.epb(1, 0, b"gone"); // interface 1 belonged to the first section
        let (_f, input) = open(&ng.out);
        let mut recs = input.records();
        let got = frames(&mut recs);
        assert_eq!(recs.damage(), None);
        assert_eq!(recs.skipped(), 2);
        assert_eq!(got.len(), 3);
        assert_eq!(
            (got[0].link, got[0].data),
            (LinkType::Ethernet, &b"eth"[..])
        );
        assert_eq!(got[0].ts, Ts(1_000_000_123_456_000));
        assert_eq!(got[0].orig_len, 13);
        assert_eq!((got[1].link, got[1].data), (LinkType::RawIp, &b"raw"[..]));
        assert_eq!(got[1].ts, Ts(105_000_000_007));
        assert_eq!(
            (got[2].link, got[2].data),
            (LinkType::LinuxSll, &b"sll"[..])
        );
        assert_eq!(got[2].ts, Ts(10_500_000_000));
        assert_eq!(
            recs.link_types(),
            &[LinkType::Ethernet, LinkType::RawIp, LinkType::LinuxSll]
        );
    }

    #[test]
    fn simple_packets_reuse_the_last_timestamp_and_secrets_are_unpadded() {
        let mut ng = Ng {
            be: true,
            out: Vec::new(),
        };
        ng.section(true);
        ng.interface(1, &[]);
        ng.epb(0, 2_000_000, b"first");
        let mut spb = Vec::new();
        spb.extend(ng.u32(6));
        spb.extend_from_slice(b"second");
        ng.block(SPB, &spb);
        let mut dsb = Vec::new();
        dsb.extend(ng.u32(0x544c_534b));
        dsb.extend(ng.u32(5));
        dsb.extend_from_slice(b"KEYS\n");
        ng.block(DSB, &dsb);
        let (_f, input) = open(&ng.out);
        let recs: Vec<Record> = input.records().collect();
        assert_eq!(recs.len(), 3);
        let Record::Frame(a) = recs[0] else { panic!() };
        let Record::Frame(b) = recs[1] else { panic!() };
        assert_eq!(b.data, b"second");
        assert_eq!(a.ts, Ts(2_000_000_000));
        assert_eq!(b.ts, a.ts);
        assert_eq!(
            recs[2],
            Record::Secrets {
                kind: 0x544c_534b,
                data: b"KEYS\n"
            }
        );
    }

    #[test]
    fn cut_and_damaged_blocks_stop_with_the_offset() {
        let mut ng = Ng {
            be: false,
            out: Vec::new(),
        };
        ng.section(false);
        ng.interface(1, &[]);
        ng.epb(0, 1, b"one");
        let second = ng.out.len();
        ng.epb(0, 2, b"two");
        // Cut in the middle of the second EPB.
        let (_f, input) = open(&ng.out[..second + 20]);
        let mut recs = input.records();
        assert_eq!(frames(&mut recs).len(), 1);
        let d = recs.damage().unwrap();
        assert_eq!(d.offset, second as u64);
        // Trailing length overwritten.
        let mut bad = ng.out.clone();
        let end = bad.len();
        bad[end - 4..].copy_from_slice(&[9, 9, 9, 9]);
        let (_f, input) = open(&bad);
        let mut recs = input.records();
        assert_eq!(frames(&mut recs).len(), 1);
        assert_eq!(recs.damage().unwrap().offset, second as u64);
        // A huge announced length must not be trusted.
        let mut bad = ng.out.clone();
        bad[second + 4..second + 8].copy_from_slice(&u32::MAX.to_le_bytes());
        let (_f, input) = open(&bad);
        let mut recs = input.records();
        assert_eq!(frames(&mut recs).len(), 1);
        assert!(recs.damage().unwrap().message.contains("damaged"));
    }

    #[test]
    fn timestamp_scales() {
        assert_eq!(Scale::from_tsresol(6).nanos(1), 1000);
        assert_eq!(Scale::from_tsresol(9).nanos(1), 1);
        assert_eq!(Scale::from_tsresol(12).nanos(5_000), 5);
        assert_eq!(Scale::from_tsresol(0x80 | 1).nanos(1), 500_000_000);
        assert_eq!(Scale::from_tsresol(127).nanos(u64::MAX), 0);
        assert_eq!(Scale::from_tsresol(0xff).nanos(u64::MAX), 0);
        assert_eq!(
            Scale::from_tsresol(0).nanos(u64::MAX),
            u128::from(u64::MAX) as i128 * 1_000_000_000
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// Whatever follows a valid section header, reading ends (no panic, no endless loop).
        #[test]
        fn arbitrary_blocks_never_panic(tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let mut ng = Ng { be: false, out: Vec::new() };
            ng.section(false);
            ng.interface(1, &[]);
            ng.out.extend(tail);
            let (_f, input) = open(&ng.out);
            let mut recs = input.records();
            let n = recs.by_ref().count();
            proptest::prop_assert!(n <= ng.out.len() / 12);
            proptest::prop_assert!(recs.position() <= input.len());
        }
    }
}
