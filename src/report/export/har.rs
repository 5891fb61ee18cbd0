//! HTTP Archive (HAR 1.2) writer. Timings follow Fiddler's mapping of its session timers
//! (docs/archives.md), so Fiddler users recognise the numbers.

use crate::datetime::{iso_utc, parse_http_date};
use crate::model::har::STARTED_TIMER;
use crate::model::url::{form_decode, UrlParts};
use crate::model::{
    websocket_opcode, Analysis, Arrival, Body, ExchId, Exchange, Headers, Request, Ts,
};
use base64::Engine;
use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;
use serde_json::{Map, Value};
use std::io::{self, Write};
use std::net::IpAddr;

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

#[derive(Serialize)]
struct OutNameValue {
    name: String,
    value: String,
}

#[derive(Serialize)]
struct OutCookie {
    name: String,
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<String>,
    #[serde(rename = "httpOnly", skip_serializing_if = "Option::is_none")]
    http_only: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secure: Option<bool>,
}

#[derive(Serialize)]
struct OutPostData {
    #[serde(rename = "mimeType")]
    mime_type: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    params: Vec<OutNameValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    /// Not in HAR 1.2's postData, hence the custom name; our reader accepts both.
    #[serde(rename = "_encoding", skip_serializing_if = "Option::is_none")]
    encoding: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
}

#[derive(Serialize)]
struct OutRequest {
    method: String,
    url: String,
    #[serde(rename = "httpVersion")]
    http_version: String,
    cookies: Vec<OutCookie>,
    headers: Vec<OutNameValue>,
    #[serde(rename = "queryString")]
    query_string: Vec<OutNameValue>,
    #[serde(rename = "postData", skip_serializing_if = "Option::is_none")]
    post_data: Option<OutPostData>,
    #[serde(rename = "headersSize")]
    headers_size: i64,
    #[serde(rename = "bodySize")]
    body_size: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

#[derive(Serialize)]
struct OutContent {
    size: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    compression: Option<i64>,
    #[serde(rename = "mimeType")]
    mime_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
}

#[derive(Serialize)]
struct OutResponse {
    status: u16,
    #[serde(rename = "statusText")]
    status_text: String,
    #[serde(rename = "httpVersion")]
    http_version: String,
    cookies: Vec<OutCookie>,
    headers: Vec<OutNameValue>,
    content: OutContent,
    #[serde(rename = "redirectURL")]
    redirect_url: String,
    #[serde(rename = "headersSize")]
    headers_size: i64,
    #[serde(rename = "bodySize")]
    body_size: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

#[derive(Serialize)]
struct OutTimings {
    blocked: f64,
    dns: f64,
    connect: f64,
    send: f64,
    wait: f64,
    receive: f64,
    ssl: f64,
}

#[derive(Serialize)]
struct OutWebSocket {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<f64>,
    opcode: u8,
    data: String,
}

#[derive(Serialize)]
struct OutEntry {
    #[serde(rename = "startedDateTime")]
    started: String,
    time: f64,
    request: OutRequest,
    response: OutResponse,
    cache: Map<String, Value>,
    timings: OutTimings,
    #[serde(rename = "serverIPAddress", skip_serializing_if = "Option::is_none")]
    server_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connection: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(rename = "_webSocketMessages", skip_serializing_if = "Vec::is_empty")]
    websocket: Vec<OutWebSocket>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

#[derive(Serialize)]
struct OutCreator {
    name: &'static str,
    version: &'static str,
}

/// The document, serialised entry by entry so a big analysis is never held twice.
struct OutDoc<'a> {
    analysis: &'a Analysis,
    only: Option<&'a [ExchId]>,
}

struct OutLog<'a>(&'a OutDoc<'a>);
struct OutEntries<'a>(&'a OutDoc<'a>);

impl Serialize for OutDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Har", 1)?;
        st.serialize_field("log", &OutLog(self))?;
        st.end()
    }
}

impl Serialize for OutLog<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Log", 4)?;
        st.serialize_field("version", "1.2")?;
        st.serialize_field(
            "creator",
            &OutCreator {
                name: "lyncscope",
                version: env!("CARGO_PKG_VERSION"),
            },
        )?;
        st.serialize_field("pages", &[] as &[Value])?;
        st.serialize_field("entries", &OutEntries(self.0))?;
        st.end()
    }
}

impl Serialize for OutEntries<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let analysis = self.0.analysis;
        match self.0.only {
            Some(ids) => s.collect_seq(
                ids.iter()
                    .filter_map(|id| analysis.exchanges.get(id.0 as usize))
                    .map(|ex| entry_of(analysis, ex)),
            ),
            None => s.collect_seq(analysis.exchanges.iter().map(|ex| entry_of(analysis, ex))),
        }
    }
}

/// Writes HAR 1.2 of the given exchanges (all when `only` is None), in the given order.
pub fn write_har<W: Write>(analysis: &Analysis, only: Option<&[ExchId]>, out: W) -> io::Result<()> {
    let mut out = io::BufWriter::new(out);
    serde_json::to_writer_pretty(&mut out, &OutDoc { analysis, only })?;
    out.write_all(b"\n")?;
    out.flush()
}

fn ns_to_ms(ns: i64) -> f64 {
    ns as f64 / 1e6
}

fn flag<'a>(ex: &'a Exchange, name: &str) -> Option<&'a str> {
    ex.annotations
        .as_ref()?
        .flags
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn timer(ex: &Exchange, name: &str) -> Option<Ts> {
    ex.annotations
        .as_ref()?
        .timers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, t)| *t)
}

/// A millisecond count from the flags (the SAZ reader keeps Fiddler's `*Time` timers as
/// `saz:<name>` flags).
fn flag_ms(ex: &Exchange, name: &str) -> Option<f64> {
    flag(ex, name)
        .or_else(|| flag(ex, &format!("saz:{name}")))?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| *v >= 0.0 && v.is_finite())
}

/// startedDateTime and timings of an exchange.
fn timings_of(analysis: &Analysis, ex: &Exchange) -> (Ts, OutTimings) {
    let t = &ex.timing;
    let ts = |a: Option<Arrival>| a.map(|a| a.ts);
    let gap = |from: Option<Ts>, to: Option<Ts>| match (from, to) {
        (Some(f), Some(t)) => ns_to_ms(t.0.saturating_sub(f.0).max(0)),
        _ => 0.0,
    };
    let (rs, re, ps, pe) = (
        ts(t.request_start()),
        ts(t.request_end()),
        ts(t.response_start()),
        ts(t.response_end()),
    );
    let mut out = OutTimings {
        blocked: -1.0,
        dns: -1.0,
        connect: -1.0,
        send: gap(rs, re),
        wait: gap(re, ps),
        receive: gap(ps, pe),
        ssl: -1.0,
    };
    let first = rs.or(ps).or(t.first().map(|a| a.ts)).unwrap_or_default();

    // Our own HAR import: give back startedDateTime and the pre-request breakdown.
    if let (Some(started), Some(rs)) = (timer(ex, STARTED_TIMER), rs) {
        let pre = ns_to_ms(rs.0.saturating_sub(started.0).max(0));
        let dns = flag_ms(ex, "timings.dns");
        let connect = flag_ms(ex, "timings.connect");
        let ssl = flag_ms(ex, "timings.ssl");
        let remainder = pre - dns.unwrap_or(0.0) - connect.unwrap_or(0.0);
        out.dns = dns.unwrap_or(-1.0);
        out.connect = connect.unwrap_or(-1.0);
        out.ssl = ssl.unwrap_or(-1.0);
        if flag_ms(ex, "timings.blocked").is_some() || remainder > 0.0005 {
            out.blocked = remainder.max(0.0);
        }
        return (started, out);
    }

    // Fiddler session timers (SAZ import): Fiddler's own HAR formulas (docs/archives.md).
    if let (Some(begin), Some(fiddler_begin), Some(got), Some(begin_resp), Some(done)) = (
        timer(ex, "ClientBeginRequest"),
        timer(ex, "FiddlerBeginRequest"),
        timer(ex, "ServerGotRequest"),
        timer(ex, "ServerBeginResponse"),
        timer(ex, "ServerDoneResponse"),
    ) {
        let handshake = flag_ms(ex, "HTTPSHandshakeTime");
        let tcp = flag_ms(ex, "TCPConnectTime");
        out.dns = flag_ms(ex, "DNSTime").unwrap_or(0.0);
        out.connect = tcp.unwrap_or(0.0) + handshake.unwrap_or(0.0);
        out.ssl = handshake.unwrap_or(-1.0);
        out.send = gap(Some(fiddler_begin), Some(got));
        out.wait = gap(Some(got), Some(begin_resp));
        out.receive = gap(Some(begin_resp), Some(done));
        return (begin, out);
    }

    // From packets: the exchange that opened the connection also carries its handshake
    // (TCP, and TLS inside it), like Fiddler's TCPConnectTime + HTTPSHandshakeTime.
    if let (Some(conn), Some(rs)) = (analysis.connections.get(ex.connection.0 as usize), rs) {
        if ex.annotations.is_none()
            && conn.handshake
            && conn.exchanges.first() == Some(&ex.id)
            && conn.first_seen <= rs
        {
            out.connect = ns_to_ms(rs.0.saturating_sub(conn.first_seen.0));
            return (conn.first_seen, out);
        }
    }
    (first, out)
}

fn total_ms(t: &OutTimings) -> f64 {
    [t.blocked, t.dns, t.connect, t.send, t.wait, t.receive]
        .iter()
        .map(|v| v.max(0.0))
        .sum()
}

fn name_values(headers: &Headers) -> Vec<OutNameValue> {
    headers
        .iter()
        .map(|(n, v)| OutNameValue {
            name: n.to_string(),
            value: v.to_string(),
        })
        .collect()
}

/// The `httpVersion` of a message: an HTTP/2 exchange of a capture (our parser says
/// `HTTP/2`) is `HTTP/2.0`, as Firefox writes it (Chrome writes `http/2.0`; both are in the
/// corpus, docs/archives.md); a version read from an archive is written as it was.
fn har_version(version: &str) -> String {
    if version == "HTTP/2" {
        "HTTP/2.0".into()
    } else {
        version.to_string()
    }
}

/// The response headers of an HTTP/2 exchange without `:status` (the entry's `status` holds
/// it, and Chrome leaves it out); request pseudo-header fields stay, first, as Chrome lists
/// them.
fn response_name_values(headers: &Headers) -> Vec<OutNameValue> {
    let mut v = name_values(headers);
    v.retain(|h| h.name != ":status");
    v
}

/// Size of an HTTP/1 head (start line, fields, blank line); -1 for other versions.
fn head_size(version: &str, start_line: usize, headers: &Headers) -> i64 {
    if !version.to_ascii_uppercase().starts_with("HTTP/1") {
        return -1;
    }
    let fields: usize = headers.iter().map(|(n, v)| n.len() + v.len() + 4).sum();
    (start_line + 2 + fields + 2) as i64
}

fn form_pairs(text: &str) -> Vec<OutNameValue> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            OutNameValue {
                name: form_decode(n),
                value: form_decode(v),
            }
        })
        .collect()
}

fn request_cookies(headers: &Headers) -> Vec<OutCookie> {
    headers
        .get_all("cookie")
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            let (n, v) = c.split_once('=').unwrap_or((c, ""));
            OutCookie {
                name: n.trim().to_string(),
                value: v.trim().to_string(),
                path: None,
                domain: None,
                expires: None,
                http_only: None,
                secure: None,
            }
        })
        .collect()
}

fn response_cookies(headers: &Headers) -> Vec<OutCookie> {
    headers
        .get_all("set-cookie")
        .filter_map(|line| {
            let mut parts = line.split(';');
            let (n, v) = parts.next()?.split_once('=')?;
            let mut cookie = OutCookie {
                name: n.trim().to_string(),
                value: v.trim().to_string(),
                path: None,
                domain: None,
                expires: None,
                http_only: None,
                secure: None,
            };
            for attr in parts {
                let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
                let v = v.trim();
                match k.trim().to_ascii_lowercase().as_str() {
                    "path" => cookie.path = Some(v.to_string()),
                    "domain" => cookie.domain = Some(v.to_string()),
                    "expires" => cookie.expires = parse_http_date(v).map(iso_utc),
                    "httponly" => cookie.http_only = Some(true),
                    "secure" => cookie.secure = Some(true),
                    _ => {}
                }
            }
            Some(cookie)
        })
        .collect()
}

fn mime_type(headers: &Headers) -> String {
    headers.get("content-type").unwrap_or("").to_string()
}

/// The charset a Content-Type declares, lower-case.
fn declared_charset(mime: &str) -> Option<String> {
    mime.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_ascii_lowercase())
    })
}

/// Text when the bytes are valid UTF-8 and read the same under the declared charset;
/// base64 otherwise (HAR text is UTF-8, base64 keeps the bytes exact).
fn encode_body(bytes: &[u8], mime: &str) -> (String, Option<&'static str>) {
    let charset_ok = match declared_charset(mime).as_deref() {
        None | Some("utf-8" | "utf8" | "us-ascii" | "ascii") => true,
        Some(_) => bytes.is_ascii(),
    };
    match std::str::from_utf8(bytes) {
        Ok(text) if charset_ok => (text.to_string(), None),
        _ => (b64().encode(bytes), Some("base64")),
    }
}

fn not_kept(body: &Body, what: &str) -> Option<String> {
    match body.decoded_length {
        Some(0) => None,
        Some(n) => Some(format!("{what} ({n} bytes) not kept by the analysis")),
        None if body.wire_length > 0 => Some(format!(
            "{what} ({} bytes on the wire) could not be decoded or was not kept",
            body.wire_length
        )),
        None => None,
    }
}

/// Custom `_` flags recorded at import, given back at the same level.
fn extra_fields(ex: &Exchange, prefix: &str) -> Map<String, Value> {
    let mut map = Map::new();
    let Some(a) = &ex.annotations else {
        return map;
    };
    for (name, value) in a.flags.iter() {
        let Some(key) = name.strip_prefix(prefix) else {
            continue;
        };
        if !key.starts_with('_') || key == "_webSocketMessages" || key == "_encoding" {
            continue;
        }
        let v = match serde_json::from_str::<Value>(value) {
            Ok(
                v @ (Value::Object(_)
                | Value::Array(_)
                | Value::Bool(_)
                | Value::Number(_)
                | Value::Null),
            ) => v,
            _ => Value::String(value.to_string()),
        };
        map.insert(key.to_string(), v);
    }
    map
}

fn absolute_url(analysis: &Analysis, ex: &Exchange, req: &Request) -> String {
    let target = req.target.split('#').next().unwrap_or("");
    if UrlParts::parse(target).is_some() {
        return target.to_string();
    }
    let server = analysis
        .connections
        .get(ex.connection.0 as usize)
        .map(|c| crate::model::endpoint(&c.server));
    let host = req
        .host()
        .map(str::to_string)
        .or(server)
        .unwrap_or_default();
    let scheme = ex.scheme.as_str();
    if req.method.eq_ignore_ascii_case("CONNECT") {
        format!("{scheme}://{target}")
    } else if target.starts_with('/') {
        format!("{scheme}://{host}{target}")
    } else {
        format!("{scheme}://{host}/")
    }
}

fn entry_of(analysis: &Analysis, ex: &Exchange) -> OutEntry {
    let (started, timings) = timings_of(analysis, ex);
    let conn = analysis.connections.get(ex.connection.0 as usize);

    let request = match &ex.request {
        Some(req) => {
            let url = absolute_url(analysis, ex, req);
            let query = UrlParts::parse(&url)
                .and_then(|p| p.query)
                .map(form_pairs)
                .unwrap_or_default();
            let mime = mime_type(&req.headers);
            let post_data = match &req.body.kept {
                Some(bytes) if !bytes.is_empty() => {
                    let (text, encoding) = encode_body(bytes, &mime);
                    let params = if encoding.is_none()
                        && mime
                            .to_ascii_lowercase()
                            .starts_with("application/x-www-form-urlencoded")
                    {
                        form_pairs(&text)
                    } else {
                        Vec::new()
                    };
                    Some(OutPostData {
                        mime_type: mime,
                        params,
                        text: Some(text),
                        encoding,
                        comment: None,
                    })
                }
                Some(_) => None,
                None => not_kept(&req.body, "request body").map(|c| OutPostData {
                    mime_type: mime,
                    params: Vec::new(),
                    text: None,
                    encoding: None,
                    comment: Some(c),
                }),
            };
            let start_line = req.method.len() + req.target.len() + req.version.len() + 2;
            OutRequest {
                method: req.method.to_string(),
                query_string: query,
                url,
                http_version: har_version(&req.version),
                cookies: request_cookies(&req.headers),
                headers: name_values(&req.headers),
                post_data,
                headers_size: head_size(&req.version, start_line, &req.headers),
                body_size: req.body.wire_length as i64,
                comment: None,
                extra: extra_fields(ex, "request."),
            }
        }
        None => OutRequest {
            method: String::new(),
            url: String::new(),
            http_version: String::new(),
            cookies: Vec::new(),
            headers: Vec::new(),
            query_string: Vec::new(),
            post_data: None,
            headers_size: -1,
            body_size: -1,
            comment: Some("request not captured".into()),
            extra: Map::new(),
        },
    };

    let response = match &ex.response {
        Some(resp) => {
            let mime = mime_type(&resp.headers);
            let body = &resp.body;
            let (text, encoding) = match &body.kept {
                Some(bytes) if !bytes.is_empty() => {
                    let (t, e) = encode_body(bytes, &mime);
                    (Some(t), e)
                }
                _ => (None, None),
            };
            let size = body
                .kept
                .as_ref()
                .map(|k| k.len() as u64)
                .or(body.decoded_length)
                .unwrap_or(body.wire_length) as i64;
            let compression = (!body.content_encoding.is_empty() && body.decoded_length.is_some())
                .then(|| size - body.wire_length as i64);
            let content_comment = if body.kept.is_none() {
                not_kept(body, "response body")
            } else {
                None
            };
            let start_line = resp.version.len() + 5 + resp.reason.len();
            OutResponse {
                status: resp.status,
                status_text: resp.reason.to_string(),
                http_version: har_version(&resp.version),
                cookies: response_cookies(&resp.headers),
                headers: response_name_values(&resp.headers),
                content: OutContent {
                    size,
                    compression,
                    mime_type: mime,
                    text,
                    encoding,
                    comment: content_comment,
                },
                redirect_url: resp.headers.get("location").unwrap_or("").to_string(),
                headers_size: head_size(&resp.version, start_line, &resp.headers),
                body_size: body.wire_length as i64,
                comment: None,
                extra: extra_fields(ex, "response."),
            }
        }
        // Like Chrome for a request that got no answer: status 0.
        None => OutResponse {
            status: 0,
            status_text: String::new(),
            http_version: String::new(),
            cookies: Vec::new(),
            headers: Vec::new(),
            content: OutContent {
                size: 0,
                compression: None,
                mime_type: "x-unknown".into(),
                text: None,
                encoding: None,
                comment: None,
            },
            redirect_url: String::new(),
            headers_size: -1,
            body_size: -1,
            comment: Some(format!("no response ({})", ex.capture.as_str())),
            extra: extra_fields(ex, "response."),
        },
    };

    // serverIPAddress must be a bare IP (HAR schema); the recorded text wins when it is one.
    let server_ip = flag(ex, "serverIPAddress")
        .map(|s| {
            s.trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string()
        })
        .filter(|s| s.parse::<IpAddr>().is_ok())
        .or_else(|| {
            conn.map(|c| c.server.ip())
                .filter(|ip| !ip.is_unspecified())
                .map(|ip| ip.to_string())
        });
    // Fiddler writes the client port; a HAR import gives back the tool's connection id.
    let connection = flag(ex, "connection")
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .or_else(|| {
            conn.filter(|c| c.client.port() != 0)
                .map(|c| c.client.port().to_string())
        });
    let annotations = ex.annotations.as_deref();
    let websocket = annotations
        .map(|a| {
            a.websocket
                .iter()
                .map(|m| {
                    let opcode = websocket_opcode(&m.kind);
                    let data = match (opcode, std::str::from_utf8(&m.payload)) {
                        (2, _) | (_, Err(_)) => b64().encode(&m.payload),
                        (_, Ok(text)) => text.to_string(),
                    };
                    OutWebSocket {
                        kind: if m.from_client { "send" } else { "receive" },
                        time: m.ts.map(Ts::as_secs_f64),
                        opcode: if opcode != 2 && std::str::from_utf8(&m.payload).is_err() {
                            2
                        } else {
                            opcode
                        },
                        data,
                    }
                })
                .collect()
        })
        .unwrap_or_default();

    OutEntry {
        started: iso_utc(started),
        time: total_ms(&timings),
        request,
        response,
        cache: Map::new(),
        timings,
        server_ip,
        connection,
        comment: annotations.and_then(|a| a.comment.as_deref().map(str::to_string)),
        websocket,
        extra: extra_fields(ex, ""),
    }
}
