//! The session list's columns: what each is called (in the config file and the header), how
//! the Time column shows times, and the Duration column's value. Here rather than in `app.rs`
//! so that the list view, the config file and the app all read them without importing each
//! other.

use crate::model::Exchange;

/// The session list's columns, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Number,
    Time,
    Stage,
    Outcome,
    Method,
    Status,
    Host,
    Path,
    ContentType,
    ReqSize,
    RespSize,
    Duration,
    Connection,
    /// `h1`, or `h2 s5`: the HTTP version and the HTTP/2 stream.
    Protocol,
    Tls,
}

impl Column {
    pub const ALL: [Column; 15] = [
        Column::Number,
        Column::Time,
        Column::Stage,
        Column::Outcome,
        Column::Method,
        Column::Status,
        Column::Host,
        Column::Path,
        Column::ContentType,
        Column::ReqSize,
        Column::RespSize,
        Column::Duration,
        Column::Connection,
        Column::Protocol,
        Column::Tls,
    ];
    /// The name a config file uses (`[list] columns = [...]`).
    pub fn name(self) -> &'static str {
        match self {
            Column::Number => "number",
            Column::Time => "time",
            Column::Stage => "stage",
            Column::Outcome => "outcome",
            Column::Method => "method",
            Column::Status => "status",
            Column::Host => "host",
            Column::Path => "path",
            Column::ContentType => "type",
            Column::ReqSize => "req-size",
            Column::RespSize => "resp-size",
            Column::Duration => "duration",
            Column::Connection => "connection",
            Column::Protocol => "proto",
            Column::Tls => "tls",
        }
    }
    pub fn title(self) -> &'static str {
        match self {
            Column::Number => "#",
            Column::Time => "Time",
            Column::Stage => "Stage",
            Column::Outcome => "Outcome",
            Column::Method => "Method",
            Column::Status => "Status",
            Column::Host => "Host",
            Column::Path => "Path",
            Column::ContentType => "Type",
            Column::ReqSize => "Req",
            Column::RespSize => "Resp",
            Column::Duration => "Dur",
            Column::Connection => "Conn",
            Column::Protocol => "Proto",
            Column::Tls => "TLS",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    /// Seconds since the first exchange.
    Relative,
    /// Wall clock (UTC).
    Absolute,
    /// Since the previous row.
    Delta,
}

/// The Protocol column's text: `h1`, `h2 s5` (the HTTP/2 stream), `h3`.
pub fn protocol(x: &Exchange) -> String {
    match (x.http_version, x.stream.as_deref()) {
        (crate::model::HttpVersion::Http1, _) => "h1".into(),
        (crate::model::HttpVersion::Http2, Some(s)) => format!("h2 s{}", s.id),
        (crate::model::HttpVersion::Http2, None) => "h2".into(),
        (crate::model::HttpVersion::Http3, _) => "h3".into(),
    }
}

/// The Protocol column says something only when some exchange is not HTTP/1: an HTTP/1-only
/// input keeps its room for the other columns.
pub fn protocol_varies<'a>(exchanges: impl IntoIterator<Item = &'a Exchange>) -> bool {
    exchanges
        .into_iter()
        .any(|x| x.http_version != crate::model::HttpVersion::Http1)
}

/// Request start to response end.
pub fn duration_ns(x: &Exchange) -> Option<i64> {
    let s = x.timing.request_start().or(x.timing.first())?.ts;
    let e = x.timing.response_end().or(x.timing.response_start())?.ts;
    Some(e.0.saturating_sub(s.0).max(0))
}
