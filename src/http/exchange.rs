//! The exchange builder every HTTP version shares: one exchange being assembled from the
//! messages of a connection ([`Record`]), and the step that turns a connection's records into
//! the model's exchanges with local ids.

use crate::model::{
    CaptureState, ConnId, Diagnostic, ExchId, Exchange, H2ControlFrames, HttpVersion, Request,
    Response, Scheme, StreamInfo, Timing, TlsInfo, Upgrade,
};

/// One exchange being assembled.
pub(crate) struct Record {
    /// Boxed as in [`Exchange`]: a connection holds a record per exchange in a growing list,
    /// which copies less when its records are small, and they move into the exchange as they are.
    pub(crate) request: Option<Box<Request>>,
    pub(crate) response: Option<Box<Response>>,
    pub(crate) timing: Timing,
    pub(crate) upgrade: Option<Upgrade>,
    pub(crate) request_complete: bool,
    pub(crate) response_complete: bool,
    /// The client must wait for this exchange's response (HTTP/1 CONNECT, Upgrade).
    pub(crate) pause_after_request: bool,
    pub(crate) version: HttpVersion,
    /// The HTTP/2 stream (None for HTTP/1).
    pub(crate) stream: Option<Box<StreamInfo>>,
}

impl Record {
    pub(crate) fn new() -> Record {
        Record {
            request: None,
            response: None,
            timing: Timing::default(),
            upgrade: None,
            request_complete: false,
            response_complete: false,
            pause_after_request: false,
            version: HttpVersion::Http1,
            stream: None,
        }
    }

    pub(crate) fn capture_state(&self) -> CaptureState {
        match (&self.request, &self.response) {
            (None, _) => CaptureState::ResponseOnly,
            (Some(_), None) => CaptureState::NoResponse,
            _ if self.request_complete && self.response_complete => CaptureState::Full,
            _ => CaptureState::Truncated,
        }
    }

    /// The exchange as it stands (for the live list while loading).
    pub(crate) fn snapshot(&self, id: ExchId, scheme: Scheme) -> Exchange {
        Exchange {
            id,
            connection: ConnId(0),
            scheme,
            http_version: self.version,
            stream: self.stream.clone(),
            capture: self.capture_state(),
            request: self.request.clone(),
            response: self.response.clone(),
            timing: self.timing.clone(),
            upgrade: self.upgrade.clone(),
            annotations: None,
            stage: None,
            auth: None,
            tunnel: None,
        }
    }

    fn into_exchange(self, id: ExchId, scheme: Scheme) -> Exchange {
        let capture = self.capture_state();
        Exchange {
            id,
            connection: ConnId(0),
            scheme,
            http_version: self.version,
            stream: self.stream,
            capture,
            request: self.request,
            response: self.response,
            timing: self.timing,
            upgrade: self.upgrade,
            annotations: None,
            stage: None,
            auth: None,
            tunnel: None,
        }
    }
}

/// What the HTTP layer made of one connection.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpOutput {
    pub exchanges: Vec<Exchange>,
    pub diagnostics: Vec<Diagnostic>,
    /// The facts of the TLS inside a CONNECT tunnel of the connection (`h1/tunnel.rs`).
    pub tunnel_tls: Option<TlsInfo>,
    /// HTTP/2's frames on stream 0 (direct, after h2c, or inside a tunnel).
    pub h2_control: Option<H2ControlFrames>,
}

/// A connection's records become exchanges in the order their first byte arrived, with local
/// ids (`ExchId(0)` first, connection 0); diagnostics that name a record follow it.
pub(crate) fn finish(records: Vec<Record>, scheme: Scheme, diags: Vec<Diagnostic>) -> HttpOutput {
    let mut order: Vec<usize> = (0..records.len()).collect();
    order.sort_by_key(|&i| records[i].timing.first().map(|a| a.frame));
    let mut new_id = vec![0u32; records.len()];
    for (pos, &i) in order.iter().enumerate() {
        new_id[i] = pos as u32;
    }
    let mut slots: Vec<Option<Record>> = records.into_iter().map(Some).collect();
    let mut exchanges = Vec::with_capacity(slots.len());
    for (pos, &i) in order.iter().enumerate() {
        let Some(r) = slots.get_mut(i).and_then(Option::take) else {
            continue;
        };
        exchanges.push(r.into_exchange(ExchId(pos as u32), scheme));
    }
    let mut diagnostics = diags;
    for d in &mut diagnostics {
        if let Some(ExchId(old)) = d.exchange {
            d.exchange = new_id.get(old as usize).map(|&n| ExchId(n));
        }
    }
    HttpOutput {
        exchanges,
        diagnostics,
        tunnel_tls: None,
        h2_control: None,
    }
}
