//! What an HTTP/1 connection carries once it stops being HTTP/1: after a 101 to h2c, HTTP/2;
//! after `CONNECT host:port` → 2xx, a proxy tunnel whose bytes go to a new [`Dispatcher`]
//! (TLS detected and decrypted, then HTTP/1 or HTTP/2, as on a direct connection).

use crate::dispatch::Dispatcher;
use crate::http::exchange::HttpOutput;
use crate::http::h2::Http2Connection;
use crate::model::{
    AppProtocol, Arrival, Diagnostic, Dir, ExchId, Severity, StreamEnd, TlsInfo, TunnelLink,
    Upgrade,
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
/// facts of the TLS inside the tunnel, for the connection.
pub(super) fn merge(out: &mut HttpOutput, tunnel: Dispatcher) -> Option<TlsInfo> {
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
    inner.tls
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
