//! What an HTTP/1 connection carries once it stops being HTTP/1: after a 101 to h2c, HTTP/2;
//! after `CONNECT host:port` → 2xx, a proxy tunnel whose bytes go to a new [`Dispatcher`]
//! (TLS detected and decrypted, then HTTP/1 or HTTP/2, as on a direct connection).

use crate::dispatch::Dispatcher;
use crate::http::exchange::{HttpOutput, Record};
use crate::http::h2::Http2Connection;
use crate::model::{
    AppProtocol, Arrival, Diagnostic, Dir, ExchId, H2ControlFrames, Severity, StreamEnd, TlsInfo,
    TunnelLink, Upgrade,
};
use crate::net::stream::StreamSink;

/// The protocol after a switch, fed the bytes from the switch offsets on.
pub(super) enum Carried {
    H2c(Box<Http2Connection>),
    Tunnel(Box<Dispatcher>),
}

impl StreamSink for Carried {
    fn on_data(&mut self, dir: Dir, offset: u64, data: &[u8], at: Arrival) {
        match self {
            Carried::H2c(h) => h.on_data(dir, offset, data, at),
            Carried::Tunnel(d) => d.on_data(dir, offset, data, at),
        }
    }
    fn on_gap(&mut self, dir: Dir, offset: u64, len: u64, at: Arrival) {
        match self {
            Carried::H2c(h) => h.on_gap(dir, offset, len, at),
            Carried::Tunnel(d) => d.on_gap(dir, offset, len, at),
        }
    }
    fn on_end(&mut self, dir: Dir, offset: u64, how: StreamEnd, at: Arrival) {
        match self {
            Carried::H2c(h) => h.on_end(dir, offset, how, at),
            Carried::Tunnel(d) => d.on_end(dir, offset, how, at),
        }
    }
}

/// Adds a tunnel's exchanges and diagnostics after the connection's own (ids go on from
/// theirs), each exchange linked to the CONNECT whose tunnel carried it; gives back the
/// facts of the TLS inside the tunnel and of the HTTP/2 in it, for the connection.
pub(super) fn merge(
    out: &mut HttpOutput,
    tunnel: Dispatcher,
) -> (Option<TlsInfo>, Option<H2ControlFrames>) {
    let base = out.exchanges.len() as u32;
    let connect = connect_of(out);
    if tunnel.protocol() == AppProtocol::Unknown {
        let m = "the CONNECT tunnel carries bytes that are neither TLS nor HTTP: not parsed";
        let mut d = Diagnostic::new(Severity::Warning, m);
        d.exchange = connect;
        out.diagnostics.push(d);
    }
    let inner = tunnel.finish();
    for mut x in inner.exchanges {
        x.id = ExchId(base + x.id.0);
        x.tunnel = connect.and_then(TunnelLink::new);
        out.exchanges.push(x);
    }
    out.diagnostics
        .extend(inner.diagnostics.into_iter().map(|mut d| {
            d.exchange = d.exchange.map(|ExchId(x)| ExchId(base + x));
            d
        }));
    (inner.tls, inner.h2_control)
}

/// The CONNECT answered 2xx: the last exchange that switched to a tunnel (HTTP/1 parsing
/// stops there).
pub(super) fn connect_of(out: &HttpOutput) -> Option<ExchId> {
    out.exchanges
        .iter()
        .rev()
        .find(|x| matches!(x.upgrade, Some(Upgrade::Tunnel)))
        .map(|x| x.id)
}

/// Adds the HTTP/2 streams that followed a 101 to h2c after the connection's own records
/// (ids go on from theirs), and gives stream 1 the request that asked for the upgrade.
///
/// RFC 9113 section 3.2 (RFC 7540 section 3.2): the HTTP/1.1 request that carried
/// `Upgrade: h2c` is stream 1's request, and the response on stream 1 is its response. The
/// HTTP/1.1 exchange stays as tshark shows it (the request answered 101, `upgrade` "h2c"; the
/// corpus references and `tests/corpus.rs` pair them so), and stream 1's exchange gets a copy
/// of that request, marked `upgrade_request` (docs/report-schema.md, `exchanges[].stream`):
/// a support engineer sees `GET /x` → 200 on stream 1 rather than a response without a
/// request, and knows the request was sent once, on HTTP/1.1.
pub(super) fn join_h2c(
    records: &mut Vec<Record>,
    diags: &mut Vec<Diagnostic>,
    h2: Http2Connection,
) {
    let base = records.len() as u32;
    let (mut streams, stream_diags) = h2.into_records();
    let upgrade = records.iter().rev().find(|r| {
        matches!(&r.upgrade, Some(Upgrade::Protocol(p)) if p.eq_ignore_ascii_case("h2c"))
            && r.response.as_ref().is_some_and(|p| p.status == 101)
    });
    let stream1 = streams.iter_mut().find(|r| {
        r.request.is_none()
            && r.stream
                .as_ref()
                .is_some_and(|s| s.id == 1 && s.promised_by.is_none())
    });
    if let (Some(up), Some(s1)) = (upgrade, stream1) {
        s1.request.clone_from(&up.request);
        s1.request_complete = up.request_complete;
        s1.timing.set_request_start(up.timing.request_start());
        s1.timing.set_request_end(up.timing.request_end());
        if let Some(st) = s1.stream.as_deref_mut() {
            st.upgrade_request = true;
        }
    }
    records.extend(streams);
    diags.extend(stream_diags.into_iter().map(|mut d| {
        d.exchange = d.exchange.map(|ExchId(x)| ExchId(base + x));
        d
    }));
}
