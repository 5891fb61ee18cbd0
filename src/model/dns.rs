//! DNS lookups seen in the capture (queries paired with their responses).

use super::{Arrival, StageTag};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Index into `Analysis::dns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DnsId(pub u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DnsTransport {
    Udp,
    Tcp,
}

impl DnsTransport {
    pub fn as_str(self) -> &'static str {
        match self {
            DnsTransport::Udp => "udp",
            DnsTransport::Tcp => "tcp",
        }
    }
}

/// One query and its response. A response whose query was not captured has `query: None`;
/// a query never answered has `response: None`.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsLookup {
    pub id: DnsId,
    pub transport: DnsTransport,
    /// The side that sent the query (the resolver's client).
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub txid: u16,
    /// Name of the first question, as sent (no trailing dot); empty when there is none.
    pub qname: String,
    /// Type of the first question (1 = A, 28 = AAAA, 5 = CNAME, 33 = SRV …).
    pub qtype: u16,
    pub query: Option<Arrival>,
    pub response: Option<DnsResponse>,
    /// The discovery stage, set by the stage layer.
    pub stage: Option<StageTag>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DnsResponse {
    pub arrival: Arrival,
    /// RCODE: 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED …
    pub rcode: u8,
    /// TC bit: the answer was cut (the client should retry over TCP).
    pub truncated: bool,
    /// The answer section, in order (authority/additional sections are not kept).
    pub answers: Vec<DnsRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecord {
    /// Owner name, as sent (no trailing dot).
    pub name: String,
    pub rtype: u16,
    pub ttl: u32,
    pub data: DnsData,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// CNAME, NS, PTR, DNAME target.
    Name(String),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
    /// Any other type: only the RDATA length is kept.
    Other(usize),
}

impl DnsLookup {
    /// When the lookup started (query, else response).
    pub fn first(&self) -> Option<Arrival> {
        self.query.or(self.response.as_ref().map(|r| r.arrival))
    }
    /// Addresses answered (A and AAAA), in order.
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.response
            .iter()
            .flat_map(|r| r.answers.iter())
            .filter_map(|rec| match rec.data {
                DnsData::A(a) => Some(IpAddr::V4(a)),
                DnsData::Aaaa(a) => Some(IpAddr::V6(a)),
                _ => None,
            })
    }
    /// CNAME targets in answer order (the chain from the queried name).
    pub fn cnames(&self) -> impl Iterator<Item = &str> + '_ {
        self.response
            .iter()
            .flat_map(|r| r.answers.iter())
            .filter(|rec| rec.rtype == 5)
            .filter_map(|rec| match &rec.data {
                DnsData::Name(n) => Some(n.as_str()),
                _ => None,
            })
    }
}

/// RCODE name as tools print it.
pub fn rcode_name(rcode: u8) -> &'static str {
    match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        _ => "RCODE",
    }
}

/// Type name for the common types; others print as "TYPE<n>" by the caller.
pub fn rtype_name(rtype: u16) -> Option<&'static str> {
    Some(match rtype {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        39 => "DNAME",
        65 => "HTTPS",
        255 => "ANY",
        _ => return None,
    })
}

/// How a device asked for its proxy auto-discovery (WPAD) outside unicast DNS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WpadProbeKind {
    /// An LLMNR query (RFC 4795, UDP 5355) for a name whose first label is `wpad`.
    Llmnr,
    /// A NetBIOS name query (RFC 1002 §4.2.12, UDP 137) for `WPAD`.
    Nbns,
    /// A DHCP request (RFC 2131, UDP 67) whose parameter request list (option 55, RFC 2132
    /// §9.8) asks for option 252, the WPAD URL.
    Dhcp,
}

impl WpadProbeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WpadProbeKind::Llmnr => "llmnr",
            WpadProbeKind::Nbns => "nbns",
            WpadProbeKind::Dhcp => "dhcp",
        }
    }
}

/// One WPAD request outside unicast DNS (docs/checks.md C-PROXY-3). Only these are kept of
/// LLMNR, NetBIOS and DHCP traffic; they are never a sign-in stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WpadProbe {
    pub kind: WpadProbeKind,
    /// The sender (0.0.0.0:68 for a DHCP client that has no address yet).
    pub client: SocketAddr,
    /// The name asked for (`wpad`, `WPAD`); empty for DHCP.
    pub name: String,
    pub at: Arrival,
}
