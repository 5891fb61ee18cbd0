//! Classic pcap: a 24-byte file header, then records of a 16-byte header and the frame.

use super::{Format, Frame, LinkType, Record, Step};
use crate::model::Ts;
use pcap_parser::nom;
use pcap_parser::{
    parse_pcap_frame, parse_pcap_frame_be, parse_pcap_frame_modified, parse_pcap_header,
};

pub(crate) const HEADER_LEN: usize = 24;

/// Captured lengths above this are taken as a damaged record header rather than a file cut in
/// the middle of a big frame (Wireshark's own limit for the largest link types is 256 MiB).
const PLAUSIBLE_CAPLEN: u32 = 256 * 1024 * 1024;

pub(crate) struct PcapReader {
    big_endian: bool,
    nanos: bool,
    /// Kuznetzov's "modified" pcap (magic a1b2cd34): 24-byte record headers.
    modified: bool,
    pub(crate) link: LinkType,
}

/// `None` when the magic is not a pcap magic; else the format or why the header is unusable.
pub(crate) fn check_header(data: &[u8]) -> Option<Result<Format, String>> {
    match parse_pcap_header(data) {
        Ok((_, h)) => Some(Ok(if h.is_nanosecond_precision() {
            Format::PcapNanos
        } else {
            Format::Pcap
        })),
        Err(nom::Err::Incomplete(_)) => Some(Err(format!(
            "the pcap file header is cut short ({} of {HEADER_LEN} bytes)",
            data.len()
        ))),
        Err(_) => None,
    }
}

impl PcapReader {
    pub(crate) fn new(data: &[u8]) -> Result<PcapReader, String> {
        let (_, h) = parse_pcap_header(data).map_err(|_| "invalid pcap file header".to_string())?;
        // The upper bits of the link-type field carry FCS information (RFC draft, "LinkType
        // and additional information"); the link type is the low 16 bits.
        let dlt = (h.network.0 as u32) & 0xffff;
        Ok(PcapReader {
            big_endian: h.is_bigendian(),
            nanos: h.is_nanosecond_precision(),
            modified: h.is_modified_format(),
            link: LinkType::from_dlt(dlt),
        })
    }

    pub(crate) fn next<'a>(&mut self, data: &'a [u8], pos: &mut usize) -> Step<'a> {
        let Some(rest) = data.get(*pos..) else {
            return Step::End;
        };
        if rest.is_empty() {
            return Step::End;
        }
        let parsed = if self.modified {
            parse_pcap_frame_modified(rest)
        } else if self.big_endian {
            parse_pcap_frame_be(rest)
        } else {
            parse_pcap_frame(rest)
        };
        match parsed {
            Ok((after, block)) => {
                *pos = data.len() - after.len();
                let frac = i64::from(block.ts_usec);
                let nanos = if self.nanos { frac } else { frac * 1000 };
                Step::Record(Record::Frame(Frame {
                    ts: Ts::from_secs_nanos(i64::from(block.ts_sec), nanos),
                    link: self.link,
                    data: block.data,
                    orig_len: block.origlen,
                }))
            }
            Err(_) => {
                let header_len = if self.modified { 24 } else { 16 };
                if rest.len() < header_len {
                    return Step::Damaged(format!(
                        "the file ends inside a record header ({} of {header_len} bytes)",
                        rest.len()
                    ));
                }
                let caplen = super::read_u32(rest, 8, self.big_endian).unwrap_or(0);
                if caplen > PLAUSIBLE_CAPLEN {
                    Step::Damaged(format!(
                        "damaged record header (captured length {caplen} bytes)"
                    ))
                } else {
                    Step::Damaged(format!(
                        "the file ends inside a record ({caplen} bytes announced, {} present)",
                        rest.len() - header_len
                    ))
                }
            }
        }
    }
}
