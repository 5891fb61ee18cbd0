//! Proxy auto-discovery requests outside unicast DNS through the whole pipeline (docs/checks.md
//! C-PROXY-3): LLMNR (RFC 4795) and NetBIOS (RFC 1002) queries for WPAD and a DHCP INFORM
//! asking for option 252 (RFC 2132), built after the RFCs' byte layouts because no capture of
//! the corpus or the samples has them. tshark 4 picks out the same four frames (1–4) with
//! `(llmnr && dns.qry.name == "wpad") || nbns.name == "WPAD<00>" ||
//! dhcp.option.request_list_item == 252`.

mod common;

use common::synth::Capture;
use lyncscope::model::{FindingSeverity, WpadProbeKind};
use lyncscope::{analyze, Options};
use std::sync::Arc;

const PHONE: [u8; 4] = [10, 50, 12, 34];

/// RFC 4795 §2.1.1 query: DNS header (id, flags 0, QDCOUNT 1), QNAME `name`, QTYPE A, IN.
fn llmnr(name: &str) -> Vec<u8> {
    let mut m = vec![0x4c, 0x01, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    m.push(name.len() as u8);
    m.extend_from_slice(name.as_bytes());
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    m
}

/// RFC 1002 §4.2.12 broadcast NAME QUERY REQUEST (flags 0x0110) for `WPAD<00>`, the name
/// first-level encoded (RFC 1001 §14.1), QUESTION_TYPE NB, QUESTION_CLASS IN.
fn nbns_wpad() -> Vec<u8> {
    let mut m = vec![0x8a, 0x21, 0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 0, 32];
    let mut raw = *b"WPAD            ";
    raw[15] = 0;
    for b in raw {
        m.push(b'A' + (b >> 4));
        m.push(b'A' + (b & 0xf));
    }
    m.extend_from_slice(&[0, 0, 0x20, 0, 1]);
    m
}

/// RFC 2131 §2 BOOTREQUEST (Ethernet, hlen 6) with the magic cookie; options (RFC 2132): 53
/// DHCP message type 8 (DHCPINFORM), 55 parameter request list 1, 15, 252, end.
fn dhcp_inform() -> Vec<u8> {
    let mut m = vec![1, 1, 6, 0, 0x1a, 0x2b, 0x3c, 0x4d];
    m.resize(12, 0);
    m.extend_from_slice(&PHONE); // ciaddr: INFORM is sent from a configured address
    m.resize(28, 0);
    m.extend_from_slice(&[0xa4, 0xd1, 0xd2, 0x5e, 0x12, 0x34]); // chaddr
    m.resize(236, 0);
    m.extend_from_slice(&[99, 130, 83, 99, 53, 1, 8, 55, 3, 1, 15, 252, 255]);
    m
}

#[test]
fn llmnr_nbns_and_dhcp_wpad_requests_are_counted_never_failed() {
    let mut cap = Capture::new();
    cap.datagram((PHONE, 68), ([10, 50, 0, 1], 67), &dhcp_inform());
    cap.datagram((PHONE, 61001), ([224, 0, 0, 252], 5355), &llmnr("wpad"));
    cap.datagram((PHONE, 137), ([10, 50, 255, 255], 137), &nbns_wpad());
    cap.datagram((PHONE, 61002), ([224, 0, 0, 252], 5355), &llmnr("wpad"));
    // Not WPAD: another LLMNR name, mDNS, a DHCP DISCOVER without option 252.
    cap.datagram((PHONE, 61003), ([224, 0, 0, 252], 5355), &llmnr("printer"));
    cap.datagram((PHONE, 5353), ([224, 0, 0, 251], 5353), &llmnr("wpad"));
    let mut discover = dhcp_inform();
    discover[242] = 1;
    discover[247] = 6;
    cap.datagram(([0; 4], 68), ([255; 4], 67), &discover);
    let dir = tempfile::tempdir().unwrap();
    let path = cap.write(dir.path(), "wpad.pcap");
    let options = Options {
        rules: Some(Arc::new(lyncscope::stage::RuleSet::builtin())),
        ..Options::default()
    };
    let a = analyze(&[path], &options, &mut ()).unwrap();
    let kinds: Vec<(WpadProbeKind, &str, u64)> = a
        .wpad_probes
        .iter()
        .map(|p| (p.kind, p.name.as_str(), p.at.frame.0))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (WpadProbeKind::Dhcp, "", 1),
            (WpadProbeKind::Llmnr, "wpad", 2),
            (WpadProbeKind::Nbns, "WPAD", 3),
            (WpadProbeKind::Llmnr, "wpad", 4),
        ]
    );
    // Local-link lookups are not DNS lookups.
    assert!(a.dns.is_empty());
    let p: Vec<_> = a
        .findings
        .iter()
        .filter(|f| f.check == "C-PROXY-3")
        .collect();
    assert_eq!(p.len(), 1, "{:#?}", a.findings);
    assert_eq!(p[0].severity, FindingSeverity::Info);
    for needle in [
        "The device 10.50.12.34 uses automatic proxy discovery (WPAD)",
        "2 LLMNR queries and 1 NetBIOS name query for WPAD",
        "1 DHCP request for option 252 (WPAD)",
        "not part of Lync/SfB sign-in",
    ] {
        assert!(p[0].message.contains(needle), "{needle}: {}", p[0].message);
    }
    assert!(a.signin.iter().all(|s| s.failed_stage.is_none()));
}
