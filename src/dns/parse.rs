//! A small, bounded DNS message parser (RFC 1035 §4.1): header, first question, answer RRs.
//!
//! Hand-written rather than `simple-dns` because we need only a few fields, must keep going
//! past record types we do not know, and must keep what parsed when a message is cut (snap
//! length, broken sender) instead of rejecting the whole message. Every read is checked;
//! compressed names are bounded by a jump limit and the 255-octet name limit, so hostile
//! input cannot loop or allocate without bound.

use crate::model::{DnsData, DnsRecord};
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

pub(crate) const HEADER_LEN: usize = 12;

/// RFC 1035 §2.3.4: a name is at most 255 octets in wire form.
const MAX_NAME_WIRE_LEN: usize = 255;
/// A name has at most 127 labels, so a legitimate chain of pointers never needs more jumps.
const MAX_POINTER_JUMPS: usize = 127;

/// Smallest question: root name (1 byte) + QTYPE + QCLASS.
pub(crate) const MIN_QUESTION_LEN: usize = 5;
/// Smallest resource record: root name + TYPE + CLASS + TTL + RDLENGTH.
pub(crate) const MIN_RR_LEN: usize = 11;

/// The fixed 12-byte header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub txid: u16,
    pub response: bool,
    pub opcode: u8,
    pub truncated: bool,
    pub rcode: u8,
    pub qdcount: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
}

pub(crate) fn header(msg: &[u8]) -> Option<Header> {
    let h = msg.get(..HEADER_LEN)?;
    let word = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
    let flags = word(2);
    Some(Header {
        txid: word(0),
        response: flags & 0x8000 != 0,
        opcode: ((flags >> 11) & 0xF) as u8,
        truncated: flags & 0x0200 != 0,
        rcode: (flags & 0xF) as u8,
        qdcount: word(4),
        ancount: word(6),
        nscount: word(8),
        arcount: word(10),
    })
}

impl Header {
    /// Whether the counts could fit in a message body of `body_len` bytes.
    pub(crate) fn counts_fit(&self, body_len: usize) -> bool {
        let rrs = self.ancount as usize + self.nscount as usize + self.arcount as usize;
        self.qdcount as usize * MIN_QUESTION_LEN + rrs * MIN_RR_LEN <= body_len
    }
}

/// What we keep of one message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Message {
    pub header: Header,
    /// First question's name, as sent (presentation form, no trailing dot); empty if none.
    pub qname: String,
    pub qtype: u16,
    /// The answer section as far as it parsed (empty for queries).
    pub answers: Vec<DnsRecord>,
}

/// Parses a message. `None` when it is not DNS: shorter than a header, or the announced
/// first question cannot be read. Later damage only shortens `answers`.
pub(crate) fn message(msg: &[u8]) -> Option<Message> {
    let header = header(msg)?;
    let mut pos = HEADER_LEN;
    let (mut qname, mut qtype) = (String::new(), 0);
    for i in 0..header.qdcount {
        if i == 0 {
            let (name, after) = read_name(msg, pos)?;
            let fixed = msg.get(after..after + 4)?;
            qname = name;
            qtype = u16::from_be_bytes([fixed[0], fixed[1]]);
            pos = after + 4;
        } else {
            // Only the first question is kept; the others are stepped over, not decoded.
            let after = skip_name(msg, pos)?;
            msg.get(after..after + 4)?;
            pos = after + 4;
        }
    }
    let mut answers = Vec::new();
    // Queries carry no answers worth keeping (mDNS known-answer lists are not our business).
    if header.response {
        // Each RR takes at least MIN_RR_LEN bytes, so the capacity is bounded by the input.
        let room = msg.len().saturating_sub(pos) / MIN_RR_LEN;
        answers.reserve(usize::from(header.ancount).min(room));
        for _ in 0..header.ancount {
            match record(msg, pos) {
                Some((rec, next)) => {
                    answers.push(rec);
                    pos = next;
                }
                None => break,
            }
        }
    }
    Some(Message {
        header,
        qname,
        qtype,
        answers,
    })
}

/// One resource record at `pos`; returns it and the position after it.
fn record(msg: &[u8], pos: usize) -> Option<(DnsRecord, usize)> {
    let (name, after) = read_name(msg, pos)?;
    let fixed = msg.get(after..after + 10)?;
    let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
    let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
    let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
    let start = after + 10;
    let end = start + rdlen;
    let rdata = msg.get(start..end)?;
    let data = rdata_of(msg, rtype, rdata, start, end).unwrap_or(DnsData::Other(rdlen));
    Some((
        DnsRecord {
            name,
            rtype,
            ttl,
            data,
        },
        end,
    ))
}

/// Decodes the RDATA we keep; `None` falls back to `Other(len)` (unknown type or bad data).
fn rdata_of(msg: &[u8], rtype: u16, rdata: &[u8], start: usize, end: usize) -> Option<DnsData> {
    // A name inside RDATA may point anywhere earlier in the message, but must end inside
    // the RDATA, otherwise the record is inconsistent.
    let name_at = |pos: usize| read_name(msg, pos).filter(|&(_, after)| after <= end);
    Some(match rtype {
        1 => DnsData::A(Ipv4Addr::from(<[u8; 4]>::try_from(rdata).ok()?)),
        28 => DnsData::Aaaa(Ipv6Addr::from(<[u8; 16]>::try_from(rdata).ok()?)),
        // CNAME, NS, PTR, DNAME
        5 | 2 | 12 | 39 => DnsData::Name(name_at(start)?.0),
        33 => {
            let word = |i: usize| Some(u16::from_be_bytes([*rdata.get(i)?, *rdata.get(i + 1)?]));
            DnsData::Srv {
                priority: word(0)?,
                weight: word(2)?,
                port: word(4)?,
                target: name_at(start + 6)?.0,
            }
        }
        _ => return None,
    })
}

/// Reads a possibly compressed name at `pos`. Returns the name in presentation form (labels
/// joined by '.', no trailing dot, root = "") and the position right after the name where it
/// starts (after the first pointer when compressed).
pub(crate) fn read_name(msg: &[u8], mut pos: usize) -> Option<(String, usize)> {
    let mut name = String::new();
    let mut after: Option<usize> = None;
    let mut jumps = 0;
    let mut wire_len = 1; // the terminating root label
    loop {
        let len = usize::from(*msg.get(pos)?);
        match len & 0xC0 {
            0x00 if len == 0 => return Some((name, after.unwrap_or(pos + 1))),
            0x00 => {
                let label = msg.get(pos + 1..pos + 1 + len)?;
                wire_len += 1 + len;
                if wire_len > MAX_NAME_WIRE_LEN {
                    return None;
                }
                if !name.is_empty() {
                    name.push('.');
                }
                push_label(&mut name, label);
                pos += 1 + len;
            }
            0xC0 => {
                let low = usize::from(*msg.get(pos + 1)?);
                after.get_or_insert(pos + 2);
                jumps += 1;
                if jumps > MAX_POINTER_JUMPS {
                    return None;
                }
                pos = ((len & 0x3F) << 8) | low;
            }
            // 0x40 / 0x80: extended label types (RFC 6891 §5), none in use.
            _ => return None,
        }
    }
}

/// The position right after the name at `pos`, without decoding it (a pointer ends it).
fn skip_name(msg: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = usize::from(*msg.get(pos)?);
        match len & 0xC0 {
            0x00 if len == 0 => return Some(pos + 1),
            0x00 => pos += 1 + len,
            0xC0 => return Some(pos + 2),
            _ => return None,
        }
    }
}

/// Appends one label; bytes that would be ambiguous or unprintable are escaped as in zone
/// files (RFC 1035 §5.1: `\.`, `\\`, `\DDD`), so a name always reads back unambiguously.
fn push_label(out: &mut String, label: &[u8]) {
    for &b in label {
        match b {
            b'.' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x21..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
}
