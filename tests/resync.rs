//! Resynchronisation on captures made with real peers (`tests/data/resync/`, see its README):
//! every expected value comes from the client's own record written next to the capture
//! (what it requested, the status and body it received), never from our output.

mod common;

use common::{data, run};
use lyncscope::model::{AppProtocol, CaptureState, Exchange, Severity};
use serde_json::Value;

fn record(name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(data(&format!("resync/{name}.client.json"))).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["exchanges"].as_array().unwrap().clone()
}

fn hex(h: &[u8; 32]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

fn method_target(e: &Exchange) -> Option<(&str, &str)> {
    e.request
        .as_ref()
        .map(|r| (r.method.as_ref(), r.target.as_str()))
}

#[test]
fn capture_started_mid_body_keeps_every_exchange_after_the_tail() {
    let a = run(&data("resync/mid-body.pcap"));
    let rec = record("mid-body");
    let (before, after): (Vec<&Value>, Vec<&Value>) = rec
        .iter()
        .partition(|r| r["started_before_capture"].as_bool() == Some(true));
    assert_eq!(before.len(), 1);

    // One connection, recognised as HTTP/1 although it starts inside a body.
    assert_eq!(a.connections.len(), 1);
    assert_eq!(a.connections[0].protocol, AppProtocol::Http1);
    assert!(!a.connections[0].handshake);

    // Every exchange after the tail, in order, and nothing made of the tail's text.
    let got: Vec<(&str, &str)> = a.exchanges.iter().filter_map(method_target).collect();
    let want: Vec<(&str, &str)> = after
        .iter()
        .map(|r| (r["method"].as_str().unwrap(), r["target"].as_str().unwrap()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(a.exchanges.len(), after.len());
    for (e, r) in a.exchanges.iter().zip(&after) {
        let resp = e.response.as_ref().expect("response");
        assert_eq!(u64::from(resp.status), r["status"].as_u64().unwrap());
        assert_eq!(resp.reason, r["reason"].as_str().unwrap());
        assert_eq!(resp.body.wire_length, r["body_length"].as_u64().unwrap());
        assert_eq!(
            resp.body.wire_sha256().as_ref().map(hex).as_deref(),
            r["body_sha256"].as_str()
        );
        assert_eq!(e.capture, CaptureState::Full);
    }

    // The tail is reported as skipped: the bytes of the download still to come when the
    // capture started.
    let tail = before[0]["tail_in_capture"].as_u64().unwrap();
    let skipped: Vec<&str> = a
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("capture started mid-connection"))
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(
        skipped[0].contains(&format!("skipped {tail} bytes before the first response")),
        "{}",
        skipped[0]
    );
}

#[test]
fn snaplen_200_keeps_every_request_and_status_line_in_order() {
    let a = run(&data("resync/snaplen-200.pcap"));
    let rec = record("snaplen-200");
    assert_eq!(a.connections.len(), 1);

    let requests: Vec<(&str, &str)> = a.exchanges.iter().filter_map(method_target).collect();
    let want: Vec<(&str, &str)> = rec
        .iter()
        .map(|r| (r["method"].as_str().unwrap(), r["target"].as_str().unwrap()))
        .collect();
    assert_eq!(requests, want);

    // Each status line on the exchange of its request: paired in order.
    let statuses: Vec<Option<u64>> = a
        .exchanges
        .iter()
        .map(|e| e.response.as_ref().map(|r| u64::from(r.status)))
        .collect();
    let want: Vec<Option<u64>> = rec.iter().map(|r| r["status"].as_u64()).collect();
    assert_eq!(statuses, want);

    // The POST whose head crosses the cut: kept as truncated, with the fields that survive
    // (its Content-Length among them) and the body length they announce.
    let (i, post) = rec
        .iter()
        .enumerate()
        .find(|(_, r)| r["method"] == "POST")
        .unwrap();
    let e = &a.exchanges[i];
    assert_eq!(e.capture, CaptureState::Truncated);
    let req = e.request.as_ref().unwrap();
    let sent = post["request_body_length"].as_u64().unwrap();
    assert_eq!(
        req.headers.get("content-length"),
        Some(sent.to_string().as_str())
    );
    assert_eq!(req.body.wire_length, sent);
    assert!(!req.body.complete);
    // The long fields after the cut are not invented.
    assert_eq!(req.headers.get("authorization"), None);
    let said: Vec<&str> = a
        .diagnostics
        .iter()
        .filter(|d| d.exchange == Some(e.id) && d.severity == Severity::Warning)
        .map(|d| d.message.as_str())
        .collect();
    assert!(
        said.iter()
            .any(|m| m.starts_with("request head") && m.contains("cut short")),
        "{said:?}"
    );

    // Every exchange whose response head survived whole has the client's body, or says what
    // it is missing.
    for (e, r) in a.exchanges.iter().zip(&rec) {
        let resp = e.response.as_ref().unwrap();
        if resp.body.complete {
            assert_eq!(
                resp.body.wire_sha256().as_ref().map(hex).as_deref(),
                r["body_sha256"].as_str()
            );
        } else if e.capture == CaptureState::Full {
            panic!("{:?} full with an incomplete body", method_target(e));
        }
    }
}
