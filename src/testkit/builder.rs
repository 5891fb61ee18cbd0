//! Builders for hand-made analyses: tests say only what their case is about (method, host,
//! status, times, stage …) and take plain defaults for the rest, so a new model field is
//! added here once rather than in every test.

use std::net::SocketAddr;

use crate::model::{
    Analysis, Annotations, AppProtocol, Arrival, AuthFacts, Body, CaptureState, ConnId, Connection,
    Diagnostic, ExchId, Exchange, FrameNo, Headers, HttpVersion, InputInfo, Outcome, Request,
    Response, Scheme, StageTag, StreamEnd, Timing, TlsInfo, Ts, Upgrade,
};

/// Where and when a piece of a message arrived.
pub fn arrival(frame: u64, ts: i64) -> Arrival {
    Arrival {
        frame: FrameNo(frame),
        ts: Ts(ts),
    }
}

/// An input file of `format` ("pcapng", "saz" …) with the link types named, nothing read.
pub fn input(path: &str, format: &str, link_types: &[&str]) -> InputInfo {
    InputInfo {
        path: path.into(),
        format: format.into(),
        bytes: 0,
        frames: 0,
        link_types: link_types.iter().map(|l| l.to_string()).collect(),
        truncated: false,
        stopped_at: None,
        first_frame: None,
    }
}

/// An analysis from parts; everything not given is empty.
#[derive(Debug, Default)]
pub struct AnalysisBuilder {
    a: Analysis,
}

impl AnalysisBuilder {
    pub fn new() -> AnalysisBuilder {
        AnalysisBuilder::default()
    }

    pub fn input(mut self, input: InputInfo) -> Self {
        self.a.inputs.push(input);
        self
    }

    pub fn connection(mut self, c: impl Into<Connection>) -> Self {
        self.a.connections.push(c.into());
        self
    }

    pub fn connections<C: Into<Connection>>(mut self, cs: impl IntoIterator<Item = C>) -> Self {
        self.a.connections.extend(cs.into_iter().map(Into::into));
        self
    }

    pub fn exchange(mut self, x: impl Into<Exchange>) -> Self {
        self.a.exchanges.push(x.into());
        self
    }

    pub fn exchanges<X: Into<Exchange>>(mut self, xs: impl IntoIterator<Item = X>) -> Self {
        self.a.exchanges.extend(xs.into_iter().map(Into::into));
        self
    }

    pub fn diagnostics(mut self, ds: impl IntoIterator<Item = Diagnostic>) -> Self {
        self.a.diagnostics.extend(ds);
        self
    }

    pub fn build(self) -> Analysis {
        self.a
    }
}

/// A TCP connection. Defaults: a clean HTTP/1 connection (handshake seen, server answered,
/// both sides closed with FIN), no packets, bytes, times or exchanges.
#[derive(Debug, Clone)]
pub struct ConnectionBuilder {
    c: Connection,
}

impl ConnectionBuilder {
    pub fn new(id: u32, client: SocketAddr, server: SocketAddr) -> ConnectionBuilder {
        ConnectionBuilder {
            c: Connection {
                id: ConnId(id),
                client,
                server,
                first_seen: Ts(0),
                last_seen: Ts(0),
                first_frame: FrameNo(0),
                last_frame: FrameNo(0),
                packets: 0,
                bytes: 0,
                payload_bytes: [0, 0],
                handshake: true,
                end: [StreamEnd::Fin, StreamEnd::Fin],
                protocol: AppProtocol::Http1,
                exchanges: Vec::new(),
                missing_bytes: [0, 0],
                tls: None,
                syn_ack: true,
                stage: None,
                h2_control: None,
            },
        }
    }

    /// First and last packet: time and frame.
    pub fn seen(mut self, first: Arrival, last: Arrival) -> Self {
        self.c.first_seen = first.ts;
        self.c.last_seen = last.ts;
        self.c.first_frame = first.frame;
        self.c.last_frame = last.frame;
        self
    }

    /// TCP segments and wire bytes, both directions.
    pub fn packets(mut self, packets: u64, bytes: u64) -> Self {
        self.c.packets = packets;
        self.c.bytes = bytes;
        self
    }

    /// TCP payload bytes, `[client→server, server→client]`.
    pub fn payload(mut self, bytes: [u64; 2]) -> Self {
        self.c.payload_bytes = bytes;
        self
    }

    pub fn handshake(mut self, seen: bool) -> Self {
        self.c.handshake = seen;
        self
    }

    pub fn syn_ack(mut self, seen: bool) -> Self {
        self.c.syn_ack = seen;
        self
    }

    pub fn end(mut self, end: [StreamEnd; 2]) -> Self {
        self.c.end = end;
        self
    }

    pub fn protocol(mut self, protocol: AppProtocol) -> Self {
        self.c.protocol = protocol;
        self
    }

    pub fn exchanges(mut self, ids: impl IntoIterator<Item = ExchId>) -> Self {
        self.c.exchanges = ids.into_iter().collect();
        self
    }

    pub fn tls(mut self, tls: TlsInfo) -> Self {
        self.c.tls = Some(tls);
        self
    }

    pub fn build(self) -> Connection {
        self.c
    }
}

impl From<ConnectionBuilder> for Connection {
    fn from(b: ConnectionBuilder) -> Connection {
        b.build()
    }
}

/// An HTTP/1.1 exchange. Defaults: connection 0, plain HTTP, no request, no response, no
/// times; the capture state follows from the messages given (a request without a response
/// is `NoResponse`, anything else `Full`) unless set.
#[derive(Debug, Clone)]
pub struct ExchangeBuilder {
    x: Exchange,
    request: Option<(String, String)>,
    request_headers: Vec<(String, String)>,
    request_body: Body,
    status: Option<u16>,
    reason: String,
    response_headers: Vec<(String, String)>,
    response_body: Body,
    capture: Option<CaptureState>,
}

fn headers(pairs: &[(String, String)]) -> Headers {
    Headers::from_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())))
}

impl ExchangeBuilder {
    pub fn new(id: u32) -> ExchangeBuilder {
        ExchangeBuilder {
            x: Exchange {
                id: ExchId(id),
                connection: ConnId(0),
                scheme: Scheme::Http,
                http_version: HttpVersion::Http1,
                stream: None,
                capture: CaptureState::Full,
                request: None,
                response: None,
                timing: Timing::default(),
                upgrade: None,
                annotations: None,
                stage: None,
                auth: None,
                tunnel: None,
            },
            request: None,
            request_headers: Vec::new(),
            request_body: Body::default(),
            status: None,
            reason: String::new(),
            response_headers: Vec::new(),
            response_body: Body::default(),
            capture: None,
        }
    }

    pub fn connection(mut self, id: u32) -> Self {
        self.x.connection = ConnId(id);
        self
    }

    pub fn scheme(mut self, scheme: Scheme) -> Self {
        self.x.scheme = scheme;
        self
    }

    pub fn capture(mut self, capture: CaptureState) -> Self {
        self.capture = Some(capture);
        self
    }

    /// The request line (HTTP/1.1); without it the exchange has no request, and the request
    /// headers and body below are dropped.
    pub fn request(mut self, method: &str, target: &str) -> Self {
        self.request = Some((method.into(), target.into()));
        self
    }

    /// A `Host` request header, in the order of the calls.
    pub fn host(self, host: &str) -> Self {
        self.header("Host", host)
    }

    /// A request header, in the order of the calls.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.request_headers.push((name.into(), value.into()));
        self
    }

    pub fn headers<'h>(mut self, headers: impl IntoIterator<Item = (&'h str, &'h str)>) -> Self {
        for (n, v) in headers {
            self.request_headers.push((n.into(), v.into()));
        }
        self
    }

    pub fn body(mut self, body: Body) -> Self {
        self.request_body = body;
        self
    }

    /// The response's status (HTTP/1.1, empty reason phrase unless `reason` is given), or
    /// `None`: without one the exchange has no response, and the response headers and body below are
    /// dropped.
    pub fn status(mut self, status: impl Into<Option<u16>>) -> Self {
        self.status = status.into();
        self
    }

    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = reason.into();
        self
    }

    /// A response header, in the order of the calls.
    pub fn response_header(mut self, name: &str, value: &str) -> Self {
        self.response_headers.push((name.into(), value.into()));
        self
    }

    pub fn response_headers<'h>(
        mut self,
        headers: impl IntoIterator<Item = (&'h str, &'h str)>,
    ) -> Self {
        for (n, v) in headers {
            self.response_headers.push((n.into(), v.into()));
        }
        self
    }

    pub fn response_body(mut self, body: Body) -> Self {
        self.response_body = body;
        self
    }

    /// First and last byte of the request.
    pub fn request_times(
        mut self,
        start: impl Into<Option<Arrival>>,
        end: impl Into<Option<Arrival>>,
    ) -> Self {
        self.x.timing.set_request_start(start.into());
        self.x.timing.set_request_end(end.into());
        self
    }

    /// First and last byte of the response.
    pub fn response_times(
        mut self,
        start: impl Into<Option<Arrival>>,
        end: impl Into<Option<Arrival>>,
    ) -> Self {
        self.x.timing.set_response_start(start.into());
        self.x.timing.set_response_end(end.into());
        self
    }

    /// The discovery stage, as a rule named `rule` tagged it (no parent, no note).
    pub fn stage(mut self, id: &str, outcome: Outcome, rule: &str) -> Self {
        self.x.stage = Some(std::sync::Arc::new(StageTag {
            id: id.into(),
            outcome,
            rule: rule.into(),
            parent: None,
            via: None,
            dns: None,
            subkind: None,
            carries: None,
            note: None,
        }));
        self
    }

    pub fn auth(mut self, auth: AuthFacts) -> Self {
        self.x.auth = Some(Box::new(auth));
        self
    }

    pub fn annotations(mut self, annotations: Annotations) -> Self {
        self.x.annotations = Some(Box::new(annotations));
        self
    }

    pub fn upgrade(mut self, upgrade: Upgrade) -> Self {
        self.x.upgrade = Some(upgrade);
        self
    }

    pub fn build(self) -> Exchange {
        let mut x = self.x;
        x.request = self.request.map(|(method, target)| {
            Box::new(Request {
                method: crate::model::token(&method),
                target,
                version: "HTTP/1.1".into(),
                headers: headers(&self.request_headers),
                body: self.request_body,
            })
        });
        x.response = self.status.map(|status| {
            Box::new(Response {
                version: "HTTP/1.1".into(),
                status,
                reason: crate::model::token(&self.reason),
                headers: headers(&self.response_headers),
                interim_statuses: Vec::new(),
                body: self.response_body,
            })
        });
        x.capture = self.capture.unwrap_or(match (&x.request, &x.response) {
            (Some(_), None) => CaptureState::NoResponse,
            _ => CaptureState::Full,
        });
        x
    }
}

impl From<ExchangeBuilder> for Exchange {
    fn from(b: ExchangeBuilder) -> Exchange {
        b.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_decide_the_capture_state_unless_it_is_set() {
        let asked = ExchangeBuilder::new(0).request("GET", "/").build();
        assert_eq!(asked.capture, CaptureState::NoResponse);
        let answered = ExchangeBuilder::new(0).request("GET", "/").status(204);
        assert_eq!(answered.clone().build().capture, CaptureState::Full);
        let cut = answered.capture(CaptureState::Truncated).build();
        assert_eq!(cut.capture, CaptureState::Truncated);
        assert_eq!(ExchangeBuilder::new(0).build().capture, CaptureState::Full);
    }

    #[test]
    fn headers_keep_the_order_given_and_need_their_message() {
        let x = ExchangeBuilder::new(3)
            .request("POST", "/t")
            .host("h")
            .headers([("A", "1"), ("B", "2")])
            .response_header("C", "3")
            .build();
        let r = x.request.unwrap();
        let names: Vec<&str> = r.headers.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["Host", "A", "B"]);
        // No status: no response, so its header goes nowhere.
        assert!(x.response.is_none());
    }
}
