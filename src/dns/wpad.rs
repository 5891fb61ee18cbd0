//! Proxy auto-discovery (WPAD) requests outside unicast DNS, for C-PROXY-3
//! (docs/checks.md): LLMNR and NetBIOS name queries for `WPAD`, and DHCP requests asking for
//! option 252 (the WPAD URL). Only these are recognised; the rest of that local-link traffic
//! stays ignored. Every read is checked and bounded by the datagram.

use super::parse;
use crate::model::WpadProbeKind;

/// LLMNR (RFC 4795 §2): queries go to UDP 5355.
pub(crate) const LLMNR_PORT: u16 = 5355;
/// NetBIOS name service (RFC 1002 §4.2): UDP 137.
pub(crate) const NBNS_PORT: u16 = 137;
/// DHCP / BOOTP server port (RFC 2131 §4.1): client requests go to UDP 67.
pub(crate) const DHCP_SERVER_PORT: u16 = 67;

/// The WPAD request a datagram sent to port `dst_port` is, with the name asked (empty for
/// DHCP); `None` when it is none.
pub(crate) fn probe(dst_port: u16, payload: &[u8]) -> Option<(WpadProbeKind, String)> {
    match dst_port {
        LLMNR_PORT => llmnr(payload).map(|n| (WpadProbeKind::Llmnr, n)),
        NBNS_PORT => nbns(payload).map(|n| (WpadProbeKind::Nbns, n)),
        DHCP_SERVER_PORT => dhcp_asks_wpad(payload).then(|| (WpadProbeKind::Dhcp, String::new())),
        _ => None,
    }
}

/// First label `wpad`, as the DNS rule of the stage layer has it.
fn wpad_name(name: &str) -> bool {
    name.split('.')
        .next()
        .is_some_and(|l| l.eq_ignore_ascii_case("wpad"))
}

/// An LLMNR query for a WPAD name. RFC 4795 §2.1.1: the DNS header and question format; a
/// query has QR = 0 and opcode 0, and carries one question.
fn llmnr(msg: &[u8]) -> Option<String> {
    let m = parse::message(msg)?;
    let h = m.header;
    (!h.response && h.opcode == 0 && h.qdcount == 1 && wpad_name(&m.qname)).then_some(m.qname)
}

/// A NetBIOS name query for `WPAD`. RFC 1002 §4.2.12: a DNS-style header (QR = 0, opcode 0
/// QUERY) and one question whose name is the first-level encoded NetBIOS name (RFC 1001
/// §14.1): a 32-byte label, each byte of the 16-byte name (15 characters padded with spaces,
/// then the suffix byte) written as two characters 'A' + nibble; a scope may follow.
fn nbns(msg: &[u8]) -> Option<String> {
    let h = parse::header(msg)?;
    if h.response || h.opcode != 0 || h.qdcount == 0 {
        return None;
    }
    let label = msg.get(parse::HEADER_LEN..parse::HEADER_LEN + 33)?;
    if label[0] != 32 {
        return None;
    }
    let mut name = [0u8; 16];
    for (out, pair) in name.iter_mut().zip(label[1..].chunks_exact(2)) {
        let nibble = |c: u8| c.checked_sub(b'A').filter(|n| *n < 16);
        *out = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    let netbios = std::str::from_utf8(&name[..15]).ok()?.trim_end_matches(' ');
    netbios
        .eq_ignore_ascii_case("wpad")
        .then(|| netbios.to_string())
}

/// A DHCP client request whose parameter request list asks for option 252. RFC 2131 §2: op
/// 1 (BOOTREQUEST), a fixed part of 236 bytes, then the magic cookie 99.130.83.99 and the
/// options (RFC 2132 §2, §3: code, length, data; 0 is a one-byte pad, 255 the end); option
/// 55 lists the codes the client wants (§9.8).
fn dhcp_asks_wpad(msg: &[u8]) -> bool {
    const OPTIONS: usize = 240;
    if msg.first() != Some(&1) || msg.get(236..OPTIONS) != Some(&[99, 130, 83, 99][..]) {
        return false;
    }
    let mut pos = OPTIONS;
    while let Some(&code) = msg.get(pos) {
        match code {
            0 => pos += 1,
            255 => break,
            _ => {
                let Some(&len) = msg.get(pos + 1) else {
                    break;
                };
                let Some(data) = msg.get(pos + 2..pos + 2 + usize::from(len)) else {
                    break;
                };
                if code == 55 && data.contains(&252) {
                    return true;
                }
                pos += 2 + usize::from(len);
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DNS-format header (RFC 1035 §4.1.1) with `flags` and one question.
    fn header(txid: u16, flags: u16) -> Vec<u8> {
        let mut m = txid.to_be_bytes().to_vec();
        m.extend_from_slice(&flags.to_be_bytes());
        m.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        m
    }

    /// RFC 4795 §2.1.1: an LLMNR query for `name`, QTYPE A, QCLASS IN.
    fn llmnr_query(name: &str, flags: u16) -> Vec<u8> {
        let mut m = header(0x1d2c, flags);
        for l in name.split('.') {
            m.push(l.len() as u8);
            m.extend_from_slice(l.as_bytes());
        }
        m.extend_from_slice(&[0, 0, 1, 0, 1]);
        m
    }

    #[test]
    fn llmnr_queries_for_wpad() {
        assert_eq!(
            probe(5355, &llmnr_query("wpad", 0)),
            Some((WpadProbeKind::Llmnr, "wpad".into()))
        );
        assert_eq!(
            probe(5355, &llmnr_query("WPAD.corp", 0)).map(|p| p.1),
            Some("WPAD.corp".into())
        );
        // Another name, a response (QR = 1), another opcode (1 = IQUERY in DNS terms).
        assert_eq!(probe(5355, &llmnr_query("fileserver", 0)), None);
        assert_eq!(probe(5355, &llmnr_query("wpadx", 0)), None);
        assert_eq!(probe(5355, &llmnr_query("wpad", 0x8000)), None);
        assert_eq!(probe(5355, &llmnr_query("wpad", 0x0800)), None);
    }

    /// RFC 1001 §14.1 first-level encoding of a 16-byte NetBIOS name.
    fn encode(name: &str, suffix: u8) -> Vec<u8> {
        let mut raw = [b' '; 16];
        raw[..name.len()].copy_from_slice(name.as_bytes());
        raw[15] = suffix;
        let mut out = vec![32];
        for b in raw {
            out.push(b'A' + (b >> 4));
            out.push(b'A' + (b & 0xf));
        }
        out.push(0);
        out
    }

    /// RFC 1002 §4.2.12: NAME QUERY REQUEST, broadcast (B = 1, RD = 1: flags 0x0110),
    /// QUESTION_TYPE NB (0x0020), QUESTION_CLASS IN.
    fn nbns_query(encoded: &[u8], flags: u16) -> Vec<u8> {
        let mut m = header(0x8a21, flags);
        m.extend_from_slice(encoded);
        m.extend_from_slice(&[0, 0x20, 0, 1]);
        m
    }

    #[test]
    fn nbns_name_queries_for_wpad() {
        // RFC 1001 §14.1's own example: "FRED" → "EGFCEFEECACACACACACACACACACACACA".
        assert_eq!(
            &encode("FRED", b' ')[1..33],
            b"EGFCEFEECACACACACACACACACACACACA"
        );
        let wpad = encode("WPAD", 0);
        assert_eq!(&wpad[1..9], b"FHFAEBEE");
        assert_eq!(
            probe(137, &nbns_query(&wpad, 0x0110)),
            Some((WpadProbeKind::Nbns, "WPAD".into()))
        );
        assert_eq!(probe(137, &nbns_query(&encode("FRED", 0), 0x0110)), None);
        // A positive name query response (QR = 1, AA) is no request.
        assert_eq!(probe(137, &nbns_query(&wpad, 0x8500)), None);
        // A registration (opcode 5) of the name is no query either.
        assert_eq!(probe(137, &nbns_query(&wpad, 0x2910)), None);
        // Not first-level encoded ('Q' is past 'A' + 15), or a short label.
        let mut bad = wpad.clone();
        bad[1] = b'Q';
        assert_eq!(probe(137, &nbns_query(&bad, 0x0110)), None);
        assert_eq!(
            probe(137, &nbns_query(&[4, b'W', b'P', b'A', b'D', 0], 0)),
            None
        );
    }

    /// RFC 2131 §2 BOOTREQUEST with the magic cookie and `options` (RFC 2132), END added.
    fn dhcp(op: u8, options: &[u8]) -> Vec<u8> {
        let mut m = vec![op, 1, 6, 0];
        m.resize(236, 0);
        m.extend_from_slice(&[99, 130, 83, 99]);
        m.extend_from_slice(options);
        m.push(255);
        m
    }

    #[test]
    fn dhcp_requests_asking_for_option_252() {
        // DHCPINFORM (53 = 8), pad, parameter request list 1, 3, 6, 15, 252 (what Windows asks).
        let inform = dhcp(1, &[53, 1, 8, 0, 55, 5, 1, 3, 6, 15, 252]);
        assert_eq!(
            probe(67, &inform),
            Some((WpadProbeKind::Dhcp, String::new()))
        );
        assert_eq!(probe(67, &dhcp(1, &[53, 1, 1, 55, 3, 1, 3, 6])), None);
        // 252 as the value of another option is not a request for it.
        assert_eq!(probe(67, &dhcp(1, &[12, 1, 252, 55, 1, 1])), None);
        // A server's BOOTREPLY carrying option 252 is no request.
        assert_eq!(probe(67, &dhcp(2, &[55, 1, 252])), None);
        // No magic cookie, cut options, an option running past the end: no panic, no probe.
        let mut cut = dhcp(1, &[55, 5, 1, 3, 6, 15, 252]);
        cut.truncate(243);
        assert_eq!(probe(67, &cut), None);
        let mut no_cookie = inform.clone();
        no_cookie[236] = 0;
        assert_eq!(probe(67, &no_cookie), None);
        assert_eq!(probe(67, &dhcp(1, &[55, 200, 252])), None);
    }

    #[test]
    fn any_bytes_are_safe() {
        for port in [LLMNR_PORT, NBNS_PORT, DHCP_SERVER_PORT] {
            for len in 0..300 {
                let bytes: Vec<u8> = (0..len).map(|i| (i * 151 + len) as u8).collect();
                let _ = probe(port, &bytes);
            }
        }
    }
}
