//! Hand-built messages (RFC 1035 wire format) and tshark's view of real captures.

use super::*;
use crate::model::{DnsData, DnsRecord, FrameNo};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

// ---------------------------------------------------------------------------------------
// Building messages by hand (RFC 1035 §4.1).

const QR: u16 = 0x8000;
const TC: u16 = 0x0200;
const RD: u16 = 0x0100;
const RA: u16 = 0x0080;

fn header(txid: u16, flags: u16, qd: u16, an: u16, ns: u16, ar: u16) -> Vec<u8> {
    [txid, flags, qd, an, ns, ar]
        .iter()
        .flat_map(|w| w.to_be_bytes())
        .collect()
}

/// Uncompressed wire form of a dotted name ("" = root).
fn wire_name(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name.split('.').filter(|l| !l.is_empty()) {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

fn pointer(offset: u16) -> [u8; 2] {
    (0xC000 | offset).to_be_bytes()
}

fn question(name: &[u8], qtype: u16) -> Vec<u8> {
    let mut out = name.to_vec();
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes()); // class IN
    out
}

fn rr(name: &[u8], rtype: u16, ttl: u32, rdata: &[u8]) -> Vec<u8> {
    let mut out = name.to_vec();
    out.extend_from_slice(&rtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&ttl.to_be_bytes());
    out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    out.extend_from_slice(rdata);
    out
}

fn query_msg(txid: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut m = header(txid, RD, 1, 0, 0, 0);
    m.extend(question(&wire_name(name), qtype));
    m
}

/// A response to `name`/`qtype` with the given rcode and no answers.
fn empty_response(txid: u16, name: &str, qtype: u16, rcode: u16) -> Vec<u8> {
    let mut m = header(txid, QR | RD | RA | rcode, 1, 0, 0, 0);
    m.extend(question(&wire_name(name), qtype));
    m
}

fn sock(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn at(frame: u64, secs: f64) -> Arrival {
    Arrival {
        frame: FrameNo(frame),
        ts: Ts((secs * 1e9) as i64),
    }
}

const CLIENT: &str = "10.0.0.2:40000";
const SERVER: &str = "10.0.0.1:53";

fn ask(c: &mut DnsCollector, msg: &[u8], frame: u64, secs: f64) {
    assert!(c.udp(sock(CLIENT), sock(SERVER), msg, at(frame, secs)));
}

fn answer(c: &mut DnsCollector, msg: &[u8], frame: u64, secs: f64) {
    assert!(c.udp(sock(SERVER), sock(CLIENT), msg, at(frame, secs)));
}

/// (query frame, response frame) of each lookup, in result order.
fn pairs(lookups: &[DnsLookup]) -> Vec<(Option<u64>, Option<u64>)> {
    lookups
        .iter()
        .map(|l| {
            (
                l.query.map(|a| a.frame.0),
                l.response.as_ref().map(|r| r.arrival.frame.0),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Parsing.

/// RFC 1035 §4.1.4: names compressed with pointers to earlier names; a CNAME chain then A.
#[test]
fn compressed_cname_chain_then_address() {
    let mut m = header(0x1234, QR | RD | RA, 1, 2, 0, 0);
    let qname_at = m.len() as u16; // 12
    m.extend(question(&wire_name("www.Example.com"), 1));
    // www.Example.com CNAME web.<Example.com>: "Example.com" starts 4 bytes after "www".
    let mut target = vec![3];
    target.extend_from_slice(b"web");
    target.extend_from_slice(&pointer(qname_at + 4));
    let cname_target_at = m.len() as u16 + 12; // name pointer (2) + fixed fields (10)
    m.extend(rr(&pointer(qname_at), 5, 300, &target));
    m.extend(rr(&pointer(cname_target_at), 1, 60, &[192, 0, 2, 1]));

    let parsed = parse::message(&m).unwrap();
    assert_eq!(parsed.qname, "www.Example.com", "case kept as sent");
    assert_eq!(parsed.qtype, 1);
    assert_eq!(
        parsed.answers,
        vec![
            DnsRecord {
                name: "www.Example.com".into(),
                rtype: 5,
                ttl: 300,
                data: DnsData::Name("web.Example.com".into()),
            },
            DnsRecord {
                name: "web.Example.com".into(),
                rtype: 1,
                ttl: 60,
                data: DnsData::A(Ipv4Addr::new(192, 0, 2, 1)),
            },
        ]
    );

    let mut c = DnsCollector::new();
    ask(&mut c, &query_msg(0x1234, "www.Example.com", 1), 1, 1.0);
    answer(&mut c, &m, 2, 1.01);
    let lookups = c.finish();
    assert_eq!(pairs(&lookups), vec![(Some(1), Some(2))]);
    let l = &lookups[0];
    assert_eq!(l.cnames().collect::<Vec<_>>(), vec!["web.Example.com"]);
    assert_eq!(
        l.addresses().collect::<Vec<_>>(),
        vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))]
    );
    assert_eq!(l.client, sock(CLIENT));
    assert_eq!(l.server, sock(SERVER));
}

/// The example of RFC 1035 §4.1.4 itself: F.ISI.ARPA at offset 20, FOO.F.ISI.ARPA as a label
/// and a pointer to 20, ARPA as a pointer to 26, and the root.
#[test]
fn rfc1035_compression_example() {
    let mut m = vec![0u8; 20];
    m.extend_from_slice(b"\x01F\x03ISI\x04ARPA\x00"); // 20..32
    m.extend_from_slice(b"\x03FOO");
    m.extend_from_slice(&pointer(20)); // 32..38
    m.extend_from_slice(&pointer(26)); // 38..40
    m.push(0); // 40
    assert_eq!(parse::read_name(&m, 20), Some(("F.ISI.ARPA".into(), 32)));
    assert_eq!(
        parse::read_name(&m, 32),
        Some(("FOO.F.ISI.ARPA".into(), 38))
    );
    assert_eq!(parse::read_name(&m, 38), Some(("ARPA".into(), 40)));
    assert_eq!(parse::read_name(&m, 40), Some((String::new(), 41)));
}

#[test]
fn names_escape_ambiguous_bytes() {
    let m = b"\x03a.b\x02\\ \x01\x00\x00";
    assert_eq!(
        parse::read_name(m, 0),
        Some((r"a\.b.\\\032.\000".into(), m.len()))
    );
}

#[test]
fn nxdomain_pairs_with_its_query() {
    let mut c = DnsCollector::new();
    ask(&mut c, &query_msg(7, "nope.example", 1), 1, 0.0);
    answer(&mut c, &empty_response(7, "nope.example", 1, 3), 2, 0.02);
    let lookups = c.finish();
    assert_eq!(pairs(&lookups), vec![(Some(1), Some(2))]);
    let r = lookups[0].response.as_ref().unwrap();
    assert_eq!(crate::model::rcode_name(r.rcode), "NXDOMAIN");
    assert!(r.answers.is_empty());
    assert!(!r.truncated);
}

/// RFC 2782 SRV RDATA: priority, weight, port, target (not compressed).
#[test]
fn srv_and_aaaa_records() {
    let qname = "_sip._tls.example.com";
    let mut m = header(9, QR | RD | RA, 1, 2, 0, 0);
    m.extend(question(&wire_name(qname), 33));
    let mut srv = vec![0, 10, 0, 20, 0x01, 0xBB];
    srv.extend(wire_name("sip.example.com"));
    m.extend(rr(&pointer(12), 33, 3600, &srv));
    let v6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    m.extend(rr(&wire_name("sip.example.com"), 28, 30, &v6.octets()));
    let parsed = parse::message(&m).unwrap();
    assert_eq!(
        parsed.answers[0].data,
        DnsData::Srv {
            priority: 10,
            weight: 20,
            port: 443,
            target: "sip.example.com".into()
        }
    );
    assert_eq!(parsed.answers[0].name, qname);
    assert_eq!(parsed.answers[1].data, DnsData::Aaaa(v6));
}

#[test]
fn unknown_types_and_bad_rdata_keep_their_length() {
    let mut m = header(9, QR, 1, 3, 0, 0);
    m.extend(question(&wire_name("x.example"), 16));
    m.extend(rr(&pointer(12), 16, 5, b"\x05hello")); // TXT
    m.extend(rr(&pointer(12), 1, 5, &[1, 2, 3])); // A with 3 bytes
    m.extend(rr(&pointer(12), 5, 5, &[0xC0])); // CNAME with a cut pointer
    let parsed = parse::message(&m).unwrap();
    let data: Vec<_> = parsed.answers.iter().map(|a| a.data.clone()).collect();
    assert_eq!(
        data,
        vec![DnsData::Other(6), DnsData::Other(3), DnsData::Other(1)]
    );
}

#[test]
fn only_the_first_of_several_questions_is_kept() {
    let mut m = header(4, QR, 2, 1, 0, 0);
    m.extend(question(&wire_name("first.example"), 1));
    m.extend(question(
        &[&[6u8][..], b"second", &pointer(18)].concat(),
        28,
    ));
    m.extend(rr(&pointer(12), 1, 5, &[10, 0, 0, 1]));
    let parsed = parse::message(&m).unwrap();
    assert_eq!((parsed.qname.as_str(), parsed.qtype), ("first.example", 1));
    assert_eq!(parsed.answers.len(), 1);
    assert_eq!(
        parsed.answers[0].data,
        DnsData::A(Ipv4Addr::new(10, 0, 0, 1))
    );
    // The second question cut inside its type/class: not a well-formed message.
    let rr_len = 2 + 10 + 4;
    assert!(parse::message(&m[..m.len() - rr_len - 2]).is_none());
}

#[test]
fn truncated_bit_is_reported() {
    let mut m = empty_response(3, "big.example", 16, 0);
    m[2..4].copy_from_slice(&(QR | TC | RD | RA).to_be_bytes());
    let mut c = DnsCollector::new();
    answer(&mut c, &m, 1, 0.0);
    let lookups = c.finish();
    assert!(lookups[0].response.as_ref().unwrap().truncated);
    assert_eq!(lookups[0].query, None);
}

#[test]
fn cut_answer_section_keeps_what_parsed() {
    let mut m = header(9, QR, 1, 2, 0, 0);
    m.extend(question(&wire_name("a.example"), 1));
    m.extend(rr(&pointer(12), 1, 5, &[10, 0, 0, 1]));
    let full = m.len();
    m.extend(rr(&pointer(12), 1, 5, &[10, 0, 0, 2]));
    let parsed = parse::message(&m[..full + 5]).unwrap();
    assert_eq!(parsed.answers.len(), 1);
    assert_eq!(parsed.header.ancount, 2);
}

#[test]
fn garbage_is_not_dns() {
    let mut c = DnsCollector::new();
    let cases: Vec<Vec<u8>> = vec![
        vec![],
        vec![0; 11],
        // Question announced but missing.
        header(1, 0, 1, 0, 0, 0),
        // A name that points at itself.
        [
            header(1, 0, 1, 0, 0, 0),
            pointer(12).to_vec(),
            vec![0, 1, 0, 1],
        ]
        .concat(),
        // Two pointers pointing at each other.
        [
            header(1, 0, 1, 0, 0, 0),
            pointer(14).to_vec(),
            pointer(12).to_vec(),
        ]
        .concat(),
        // Extended label type 0x40.
        [header(1, 0, 1, 0, 0, 0), vec![0x41, b'x', 0, 0, 1, 0, 1]].concat(),
        // A label running past the end.
        [header(1, 0, 1, 0, 0, 0), vec![63, b'x', b'y']].concat(),
    ];
    for m in cases {
        assert!(!c.udp(sock(CLIENT), sock(SERVER), &m, at(1, 0.0)), "{m:?}");
    }
    assert!(c.finish().is_empty());
}

#[test]
fn names_longer_than_255_octets_are_rejected() {
    // 5 labels of 63 bytes = 320 octets.
    let long: Vec<String> = (0..5).map(|_| "a".repeat(63)).collect();
    let m = query_msg(1, &long.join("."), 1);
    assert!(parse::message(&m).is_none());
    let ok: Vec<String> = (0..3).map(|_| "a".repeat(63)).collect();
    assert!(parse::message(&query_msg(1, &ok.join("."), 1)).is_some());
}

#[test]
fn only_port_53_is_dns() {
    let mut c = DnsCollector::new();
    let q = query_msg(1, "host.local", 1);
    assert!(!c.udp(
        sock("10.0.0.2:5353"),
        sock("224.0.0.251:5353"),
        &q,
        at(1, 0.0)
    ));
    assert!(c.udp(sock("10.0.0.2:53"), sock("10.0.0.1:53"), &q, at(2, 0.0)));
}

// ---------------------------------------------------------------------------------------
// Pairing.

#[test]
fn retransmission_within_5s_is_its_own_unanswered_lookup() {
    // As ja4/latest.pcapng frames 67, 70, 71, 76 in tshark's view.
    let mut c = DnsCollector::new();
    let q = query_msg(0xd6d9, "discovery.example", 1);
    let r = empty_response(0xd6d9, "discovery.example", 1, 0);
    ask(&mut c, &q, 67, 0.0);
    ask(&mut c, &q, 70, 0.04);
    answer(&mut c, &r, 71, 0.05);
    answer(&mut c, &r, 76, 0.06);
    assert_eq!(
        pairs(&c.finish()),
        vec![(Some(67), Some(71)), (Some(70), None), (None, Some(76))]
    );
}

#[test]
fn repeat_after_5s_opens_a_new_transaction() {
    // As zeek/ipv6-fragmented-dns.pcap frames 3, 5, 8: the response answers the newest.
    let mut c = DnsCollector::new();
    let q = query_msg(0x9f91, "pad.example", 16);
    ask(&mut c, &q, 3, 0.0);
    ask(&mut c, &q, 5, 5.0008);
    answer(
        &mut c,
        &empty_response(0x9f91, "pad.example", 16, 0),
        8,
        5.08,
    );
    assert_eq!(
        pairs(&c.finish()),
        vec![(Some(3), None), (Some(5), Some(8))]
    );
}

#[test]
fn second_response_and_unsolicited_response_stand_alone() {
    let mut c = DnsCollector::new();
    let r = empty_response(5, "www.cmu.edu", 1, 0);
    ask(&mut c, &query_msg(5, "www.cmu.edu", 1), 1, 0.0);
    answer(&mut c, &r, 2, 0.1);
    answer(&mut c, &r, 3, 0.2);
    answer(&mut c, &empty_response(6, "other.example", 1, 0), 4, 0.3);
    let lookups = c.finish();
    assert_eq!(
        pairs(&lookups),
        vec![(Some(1), Some(2)), (None, Some(3)), (None, Some(4))]
    );
    assert_eq!(lookups[2].qname, "other.example");
    assert_eq!(
        lookups[2].client,
        sock(CLIENT),
        "the receiver of a response"
    );
    let ids: Vec<u32> = lookups.iter().map(|l| l.id.0).collect();
    assert_eq!(ids, vec![0, 1, 2]);
}

#[test]
fn response_must_ask_the_same_question() {
    let mut c = DnsCollector::new();
    ask(&mut c, &query_msg(5, "WWW.example.com", 1), 1, 0.0);
    answer(&mut c, &empty_response(5, "www.example.com", 28, 0), 2, 0.1);
    // 0x20 case randomisation: the name matches case-insensitively.
    answer(&mut c, &empty_response(5, "www.EXAMPLE.com", 1, 0), 3, 0.2);
    assert_eq!(
        pairs(&c.finish()),
        vec![(Some(1), Some(3)), (None, Some(2))]
    );
}

#[test]
fn response_without_question_pairs_by_id() {
    let mut c = DnsCollector::new();
    ask(&mut c, &query_msg(5, "a.example", 1), 1, 0.0);
    // REFUSED, no question section.
    answer(&mut c, &header(5, QR | 5, 0, 0, 0, 0), 2, 0.1);
    let lookups = c.finish();
    assert_eq!(pairs(&lookups), vec![(Some(1), Some(2))]);
    assert_eq!(lookups[0].response.as_ref().unwrap().rcode, 5);
    assert_eq!(lookups[0].qname, "a.example");
}

#[test]
fn transport_and_sockets_are_part_of_the_key() {
    let mut c = DnsCollector::new();
    let q = query_msg(5, "a.example", 1);
    let r = empty_response(5, "a.example", 1, 0);
    ask(&mut c, &q, 1, 0.0);
    // Same id over TCP, and from another client port: neither answers the UDP query.
    assert!(c.tcp_message(sock(CLIENT), sock(SERVER), false, &r, at(2, 0.1)));
    assert!(c.udp(sock(SERVER), sock("10.0.0.2:40001"), &r, at(3, 0.1)));
    answer(&mut c, &r, 4, 0.2);
    let lookups = c.finish();
    assert_eq!(
        pairs(&lookups),
        vec![(Some(1), Some(4)), (None, Some(2)), (None, Some(3))]
    );
    assert_eq!(lookups[1].transport, DnsTransport::Tcp);
    assert_eq!(lookups[1].client, sock(CLIENT));
}

#[test]
fn tcp_query_and_response_pair() {
    let mut c = DnsCollector::new();
    let (cl, sv) = (sock("10.0.0.2:45818"), sock("10.0.0.1:53"));
    assert!(c.tcp_message(cl, sv, true, &query_msg(1, "ripe.net", 255), at(6, 0.0)));
    assert!(c.tcp_message(
        cl,
        sv,
        false,
        &empty_response(1, "ripe.net", 255, 0),
        at(10, 0.1)
    ));
    let lookups = c.finish();
    assert_eq!(pairs(&lookups), vec![(Some(6), Some(10))]);
    assert_eq!((lookups[0].client, lookups[0].server), (cl, sv));
}

#[test]
fn finish_sorts_merged_workers_by_first_arrival() {
    let mut a = DnsCollector::new();
    let mut b = DnsCollector::new();
    ask(&mut a, &query_msg(1, "a.example", 1), 5, 0.5);
    answer(&mut b, &empty_response(2, "b.example", 1, 0), 3, 0.3);
    ask(&mut b, &query_msg(3, "c.example", 1), 9, 0.9);
    a.extend(b);
    let lookups = a.finish();
    assert_eq!(
        pairs(&lookups),
        vec![(None, Some(3)), (Some(5), None), (Some(9), None)]
    );
    assert!(lookups
        .iter()
        .enumerate()
        .all(|(i, l)| l.id.0 as usize == i));
}

#[test]
fn pairing_table_is_bounded() {
    let mut c = DnsCollector::new();
    let n = MAX_PENDING + 500;
    for i in 0..n {
        let client = SocketAddr::from(([10, 1, (i >> 16) as u8, (i >> 8) as u8], i as u16));
        let q = query_msg(i as u16, "a.example", 1);
        assert!(c.udp(client, sock(SERVER), &q, at(i as u64 + 1, 0.0)));
    }
    assert_eq!(c.pending_len(), MAX_PENDING);
    assert!(c.order.len() <= 2 * MAX_PENDING + 1024);
    // The oldest query was forgotten for pairing but kept in the result.
    let first = SocketAddr::from(([10, 1, 0, 0], 0));
    let r = empty_response(0, "a.example", 1, 0);
    assert!(c.udp(sock(SERVER), first, &r, at(n as u64 + 1, 1.0)));
    let lookups = c.finish();
    assert_eq!(lookups.len(), n + 1);
    assert!(lookups[0].response.is_none());
}

#[test]
fn answered_transactions_do_not_grow_the_order_queue() {
    let mut c = DnsCollector::new();
    for i in 0..10_000u32 {
        let id = i as u16;
        ask(&mut c, &query_msg(id, "a.example", 1), 2 * i as u64, 0.0);
        answer(
            &mut c,
            &empty_response(id, "a.example", 1, 0),
            2 * i as u64 + 1,
            0.0,
        );
    }
    assert_eq!(c.pending_len(), 0);
    assert!(c.order.len() <= 1025);
}

// ---------------------------------------------------------------------------------------
// TCP framing.

fn framed(msgs: &[&[u8]]) -> Vec<u8> {
    msgs.iter()
        .flat_map(|m| {
            let mut v = (m.len() as u16).to_be_bytes().to_vec();
            v.extend_from_slice(m);
            v
        })
        .collect()
}

fn frame_all(framer: &mut DnsTcpFramer, chunks: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for c in chunks {
        framer.push(c, |m| out.push(m.to_vec()));
    }
    out
}

#[test]
fn framer_handles_every_split_point() {
    let q = query_msg(1, "ripe.net", 255);
    let r = empty_response(1, "ripe.net", 255, 0);
    let stream = framed(&[&q, &[], &r, &[0xAB]]);
    let want = vec![q.clone(), r.clone(), vec![0xAB]];
    for i in 0..=stream.len() {
        for j in i..=stream.len() {
            let mut f = DnsTcpFramer::new();
            let got = frame_all(&mut f, &[&stream[..i], &stream[i..j], &stream[j..]]);
            assert_eq!(got, want, "split at {i}, {j}");
        }
    }
    // One byte at a time.
    let mut f = DnsTcpFramer::new();
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(frame_all(&mut f, &bytes), want);
}

#[test]
fn framer_stops_after_a_gap() {
    let q = query_msg(1, "ripe.net", 255);
    let stream = framed(&[&q, &q]);
    let mut f = DnsTcpFramer::new();
    let half = q.len() / 2;
    assert!(frame_all(&mut f, &[&stream[..half]]).is_empty());
    f.gap();
    assert!(f.is_dead());
    assert!(frame_all(&mut f, &[&stream[half..]]).is_empty());
    assert!(f.buf.capacity() == 0);
}

#[test]
fn framer_buffers_at_most_one_message() {
    let mut f = DnsTcpFramer::new();
    let mut got = 0;
    f.push(&[0xFF, 0xFF], |_| got += 1);
    for _ in 0..100 {
        f.push(&[0xFFu8; 1000], |_| got += 1);
        assert!(f.buf.len() <= 2 + 65535);
    }
    assert_eq!(got, 1, "the 65535-byte message completed once");
    // The rest is the start of the next 65535-byte message (prefix FF FF included).
    assert_eq!(f.buf.len(), 100_000 - 65535);
}

#[test]
fn sniffing_a_tcp_prefix() {
    let q = query_msg(0xb4c3, "ripe.net", 255);
    assert!(sniff_tcp(&framed(&[&q])));
    let mut r = empty_response(1, "ripe.net", 255, 0);
    r.extend(rr(&pointer(12), 1, 5, &[1, 2, 3, 4]));
    r[6..8].copy_from_slice(&1u16.to_be_bytes());
    assert!(sniff_tcp(&framed(&[&r])));
    assert!(!sniff_tcp(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    // A TLS ClientHello record header.
    assert!(!sniff_tcp(&[
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0, 0, 0, 0, 0
    ]));
    assert!(!sniff_tcp(&framed(&[&q])[..13]));
    // Counts that cannot fit the announced length.
    let mut bad = q.clone();
    bad[6..8].copy_from_slice(&50u16.to_be_bytes());
    assert!(!sniff_tcp(&framed(&[&bad])));
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut c = DnsCollector::new();
            c.udp(sock(CLIENT), sock(SERVER), &bytes, at(1, 0.0));
            c.udp(sock(SERVER), sock(CLIENT), &bytes, at(2, 0.0));
            c.tcp_message(sock(CLIENT), sock(SERVER), true, &bytes, at(3, 0.0));
            let _ = sniff_tcp(&bytes);
            let mut f = DnsTcpFramer::new();
            f.push(&bytes, |m| { c.tcp_message(sock(CLIENT), sock(SERVER), false, m, at(4, 0.0)); });
            let _ = c.finish();
        }

        /// Valid-looking headers followed by random bytes reach deeper into the parser.
        #[test]
        fn random_bodies_never_panic(
            flags in any::<u16>(),
            counts in proptest::array::uniform4(0u16..8),
            body in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let mut m = header(1, flags, counts[0], counts[1], counts[2], counts[3]);
            m.extend(body);
            let _ = parse::message(&m);
        }

        #[test]
        fn framer_ignores_how_the_stream_is_cut(
            msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..40), 0..6),
            cuts in proptest::collection::vec(0usize..300, 0..8),
        ) {
            let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
            let stream = framed(&refs);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(stream.len())).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut start = 0;
            for c in cuts.into_iter().chain([stream.len()]) {
                chunks.push(&stream[start..c]);
                start = c;
            }
            let mut f = DnsTcpFramer::new();
            prop_assert_eq!(frame_all(&mut f, &chunks), msgs);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Real captures against tshark's view.

mod corpus {
    use super::*;
    use crate::capture::{Input, Record};
    use crate::net::ip::{Decoded, Decoder};
    use crate::testkit::corpus;
    use serde_json::Value;
    use std::collections::HashMap;
    use std::path::Path;

    /// Per-direction TCP state for the test: in-order payloads only (the captures used are
    /// clean; the real pipeline reassembles).
    #[derive(Default)]
    struct Direction {
        next_seq: Option<u32>,
        framer: DnsTcpFramer,
    }

    /// Runs a capture through capture + IP decoding into a collector.
    fn collect(path: &Path) -> (Vec<DnsLookup>, usize) {
        let input = Input::open(path).unwrap();
        let mut decoder = Decoder::new();
        let mut dns = DnsCollector::new();
        let mut tcp: HashMap<(SocketAddr, SocketAddr), Direction> = HashMap::new();
        let mut messages = 0;
        let mut frame = 0;
        for record in input.records() {
            let Record::Frame(f) = record else { continue };
            frame += 1;
            let at = Arrival {
                frame: FrameNo(frame),
                ts: f.ts,
            };
            match decoder.decode(&f) {
                Decoded::Udp(d) if dns.udp(d.src, d.dst, &d.payload, at) => messages += 1,
                Decoded::Tcp(s) if s.src.port() == DNS_PORT || s.dst.port() == DNS_PORT => {
                    let from_client = s.dst.port() == DNS_PORT;
                    let (client, server) = if from_client {
                        (s.src, s.dst)
                    } else {
                        (s.dst, s.src)
                    };
                    let dir = tcp.entry((s.src, s.dst)).or_default();
                    if s.flags.syn {
                        dir.next_seq = Some(s.seq.wrapping_add(1));
                        continue;
                    }
                    if s.payload.is_empty() || dir.next_seq.is_some_and(|n| n != s.seq) {
                        continue;
                    }
                    dir.next_seq = Some(s.seq.wrapping_add(s.payload.len() as u32));
                    dir.framer.push(&s.payload, |m| {
                        if dns.tcp_message(client, server, from_client, m, at) {
                            messages += 1;
                        }
                    });
                }
                _ => {}
            }
        }
        (dns.finish(), messages)
    }

    fn epoch_ns(v: &Value) -> i64 {
        let s = v.as_str().unwrap();
        let (secs, frac) = s.split_once('.').unwrap();
        secs.parse::<i64>().unwrap() * 1_000_000_000
            + format!("{frac:0<9}")[..9].parse::<i64>().unwrap()
    }

    fn frame_of(v: &Value) -> Option<u64> {
        v.as_u64()
    }

    /// Checks every message and every pairing against the tshark reference; returns the
    /// number of messages matched.
    fn check(rel: &str) -> Option<usize> {
        let corpus = corpus()?;
        let reference: Value = serde_json::from_str(
            &std::fs::read_to_string(corpus.join("reference").join(format!("{rel}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(reference["dns_truncated_at_1000"], Value::Bool(false));
        let want = reference["dns_messages"].as_array().unwrap();
        let (lookups, messages) = collect(&corpus.join(rel));
        assert_eq!(messages, want.len(), "{rel}: message count");

        // tshark's messages by (frame, response?, id).
        let mut by_frame: HashMap<(u64, bool, u16), &Value> = HashMap::new();
        for m in want {
            let id = u16::from_str_radix(m["id"].as_str().unwrap().trim_start_matches("0x"), 16)
                .unwrap();
            let key = (
                m["frame"].as_u64().unwrap(),
                m["response"].as_bool().unwrap(),
                id,
            );
            assert!(
                by_frame.insert(key, m).is_none(),
                "{rel}: two messages {key:?}"
            );
        }
        let mut matched = 0;
        for l in &lookups {
            let qframe = l.query.map(|a| a.frame.0);
            let rframe = l.response.as_ref().map(|r| r.arrival.frame.0);
            if let Some(q) = l.query {
                let m = by_frame
                    .remove(&(q.frame.0, false, l.txid))
                    .unwrap_or_else(|| panic!("{rel}: no tshark query at {q:?}"));
                let ctx = format!("{rel} query frame {}", q.frame.0);
                assert_eq!(m["transport"], l.transport.as_str(), "{ctx}");
                assert_eq!(m["src"], l.client.to_string(), "{ctx}");
                assert_eq!(m["dst"], l.server.to_string(), "{ctx}");
                assert_eq!(m["queries"][0]["name"], l.qname.as_str(), "{ctx}");
                assert_eq!(m["queries"][0]["type"], l.qtype, "{ctx}");
                assert_eq!(epoch_ns(&m["time_epoch"]), q.ts.0, "{ctx}");
                assert_eq!(frame_of(&m["response_in"]), rframe, "{ctx}: response_in");
                matched += 1;
            }
            if let Some(r) = &l.response {
                let f = r.arrival.frame.0;
                let m = by_frame
                    .remove(&(f, true, l.txid))
                    .unwrap_or_else(|| panic!("{rel}: no tshark response at frame {f}"));
                let ctx = format!("{rel} response frame {f}");
                assert_eq!(m["transport"], l.transport.as_str(), "{ctx}");
                assert_eq!(m["src"], l.server.to_string(), "{ctx}");
                assert_eq!(m["dst"], l.client.to_string(), "{ctx}");
                assert_eq!(m["rcode"], r.rcode, "{ctx}");
                assert_eq!(m["answers"], r.answers.len(), "{ctx}: answer count");
                if let Some(q) = m["queries"][0]["name"].as_str() {
                    assert!(
                        q.eq_ignore_ascii_case(&l.qname),
                        "{ctx}: {q} vs {}",
                        l.qname
                    );
                    assert_eq!(m["queries"][0]["type"], l.qtype, "{ctx}");
                }
                assert_eq!(epoch_ns(&m["time_epoch"]), r.arrival.ts.0, "{ctx}");
                assert_eq!(frame_of(&m["response_to"]), qframe, "{ctx}: response_to");
                matched += 1;
            }
        }
        assert!(
            by_frame.is_empty(),
            "{rel}: not seen: {:?}",
            by_frame.keys()
        );
        eprintln!("{rel}: {matched}/{} messages matched", want.len());
        Some(matched)
    }

    #[test]
    fn udp_query_response() {
        check("chrissanders-packets/dns_query_response.pcapng");
    }

    #[test]
    fn udp_then_tcp() {
        check("chrissanders-packets/dns_tcp.pcapng");
    }

    #[test]
    fn tcp_google() {
        check("suricata-verify/dns/dns-tcp-www-google-com/dns.pcap");
    }

    #[test]
    fn https_record() {
        check("zeek/dns-https.pcap");
    }

    #[test]
    fn two_responses() {
        check("zeek/dns-two-responses.pcap");
    }

    #[test]
    fn long_connection() {
        check("zeek/dns/long-connection.pcap");
    }

    #[test]
    fn response_only_port_53_both_sides() {
        check("zeek/dns53.pcap");
    }

    #[test]
    fn ipv6_fragmented_and_repeated_after_5s() {
        check("zeek/ipv6-fragmented-dns.pcap");
    }

    #[test]
    fn retransmitted_query_and_response() {
        check("ja4/latest.pcapng");
    }

    #[test]
    fn tls13_google_lookups() {
        check("snet/tls1.3_curl_google.pcap");
    }

    #[test]
    fn multi_interface() {
        check("zeek/pcapng-multi-interface.pcapng");
    }

    /// Every capture in the corpus with a reference: where tshark sees DNS, every message
    /// and pairing agrees; where it sees none, we see none either (no false positives).
    #[test]
    fn all_references_with_dns() {
        let Some(corpus) = corpus() else { return };
        let summary =
            std::fs::read_to_string(corpus.join("reference/SUMMARY.tsv")).unwrap_or_default();
        let mut lines = summary.lines();
        let head: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
        let Some(col) = head.iter().position(|h| *h == "dns_messages") else {
            return;
        };
        for line in lines {
            let cells: Vec<&str> = line.split('\t').collect();
            let n: usize = cells.get(col).and_then(|c| c.parse().ok()).unwrap_or(0);
            if n > 0 {
                assert_eq!(check(cells[0]), Some(n), "{}", cells[0]);
            } else if Path::new(cells[0])
                .extension()
                .is_some_and(|e| e == "pcap" || e == "pcapng" || e == "cap")
            {
                let (lookups, messages) = collect(&corpus.join(cells[0]));
                assert_eq!((lookups.len(), messages), (0, 0), "{}", cells[0]);
            }
        }
    }
}
