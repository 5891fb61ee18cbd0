//! HTTP Archive (HAR 1.2) import and export.
//!
//! Import tolerates the dialects of Chrome, Firefox, Charles, mitmproxy and Fiddler (UTF-8
//! BOM, base64 bodies, omitted optional fields, `-1` timings, `_webSocketMessages`); a bad entry
//! becomes a diagnostic and the rest loads. Export follows Fiddler's timing mapping
//! (docs/saz-har.md §5.3) so that Fiddler users recognise the numbers.

use super::datetime::{civil_from_days, parse_http_date, parse_iso8601 as parse_datetime};
use crate::error::{Error, Result};
use crate::model::{
    Analysis, AppProtocol, Arrival, Body, CaptureState, ConnId, Connection, Diagnostic, ExchId,
    Exchange, FrameNo, Headers, Request, Response, Scheme, Severity, Timing, TlsInfo, Ts, Upgrade,
    WebSocketMessage,
};
use base64::Engine;
use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

/// Same shape as the SAZ reader's: local ids, `exchanges[i].id == ExchId(i)`.
pub use super::saz::Imported;

/// Bigger HAR files are refused: the whole JSON tree is held in memory.
const MAX_HAR_BYTES: u64 = 1 << 30;
/// Custom fields such as Chrome's `_initiator` (a call stack) can be huge; flags stay small.
const MAX_FLAG_VALUE: usize = 2048;
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
/// Timer under which the entry's `startedDateTime` is kept, so export can give it back.
const STARTED_TIMER: &str = "startedDateTime";
const HAR_ORIGIN: &str = "HAR entry ";

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// True when the bytes look like the start of a HAR file: optional UTF-8 BOM, whitespace,
/// `{`, then the `"log"` key soon after.
pub fn is_har(first_bytes: &[u8]) -> bool {
    let bytes = first_bytes.strip_prefix(UTF8_BOM).unwrap_or(first_bytes);
    let Some(start) = bytes.iter().position(|c| !c.is_ascii_whitespace()) else {
        return false;
    };
    if bytes.get(start) != Some(&b'{') {
        return false;
    }
    let rest = bytes.get(start + 1..).unwrap_or_default();
    let window = &rest[..rest.len().min(256)];
    window.windows(5).any(|w| w == b"\"log\"")
}

/// Reads a HAR 1.x file. Fatal only when the file cannot be read, is over 1 GiB, is not JSON
/// or has no `log` object; everything else becomes diagnostics.
pub fn read_har(path: &Path) -> Result<Imported> {
    let open_err = |source: io::Error| Error::Open {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(open_err)?;
    let too_big = || Error::Archive {
        path: path.to_path_buf(),
        message: "HAR file larger than 1 GiB, refused".into(),
    };
    if file.metadata().map_err(open_err)?.len() > MAX_HAR_BYTES {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    // take() bounds the read even if the file grows after a metadata check.
    file.take(MAX_HAR_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(open_err)?;
    if bytes.len() as u64 > MAX_HAR_BYTES {
        return Err(too_big());
    }
    parse_har(&bytes).map_err(|message| Error::Archive {
        path: path.to_path_buf(),
        message,
    })
}

/// Parses HAR bytes; `Err` is the fatal message.
pub(crate) fn parse_har(bytes: &[u8]) -> std::result::Result<Imported, String> {
    let mut diagnostics = Vec::new();
    let mut bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    // Older Fiddler builds wrote junk before the JSON (docs/saz-har.md §5.2).
    let first = bytes.iter().position(|c| !c.is_ascii_whitespace());
    if let Some(first) = first {
        if bytes.get(first) != Some(&b'{') {
            if let Some(brace) = bytes.iter().position(|&c| c == b'{') {
                diagnostics.push(Diagnostic::new(
                    Severity::Warning,
                    format!("HAR: {brace} bytes before the JSON object ignored"),
                ));
                bytes = &bytes[brace..];
            }
        }
    }
    let root: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not a valid HAR (JSON): {e}"))?;
    let log = root
        .get("log")
        .and_then(Value::as_object)
        .ok_or("not a HAR file: no \"log\" object")?;
    if let Some(version) = log.get("version").and_then(Value::as_str) {
        if !version.starts_with("1.") {
            diagnostics.push(Diagnostic::new(
                Severity::Warning,
                format!("HAR version {version:?}: read as 1.2"),
            ));
        }
    }
    let entries: &[Value] = match log.get("entries") {
        Some(Value::Array(entries)) => entries,
        _ => {
            diagnostics.push(Diagnostic::new(
                Severity::Warning,
                "HAR has no \"entries\" array: nothing to load",
            ));
            &[]
        }
    };

    let mut drafts = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let mut notes = Vec::new();
        match import_entry(index, entry, &mut notes) {
            Ok(draft) => drafts.push((draft, notes)),
            Err(why) => {
                diagnostics.extend(notes.into_iter().map(|n| entry_diag(index, n)));
                diagnostics.push(Diagnostic::new(
                    Severity::Warning,
                    format!("{HAR_ORIGIN}{index}: skipped: {why}"),
                ));
            }
        }
    }
    // Exchanges are ordered by their first byte (stable: file order breaks ties).
    drafts.sort_by_key(|(d, _)| d.exchange.timing.first().map(|a| a.ts));

    let mut connections: Vec<Connection> = Vec::new();
    let mut by_key: HashMap<String, ConnId> = HashMap::new();
    let mut exchanges = Vec::with_capacity(drafts.len());
    let mut server_unknown = 0usize;
    for (i, (draft, notes)) in drafts.into_iter().enumerate() {
        let id = ExchId(i as u32);
        let mut exchange = draft.exchange;
        exchange.id = id;
        for note in notes {
            let mut d = entry_diag(draft.index, note);
            d.exchange = Some(id);
            diagnostics.push(d);
        }
        if draft.server.ip().is_unspecified() {
            server_unknown += 1;
        }
        let (first, last) = exchange_span(&exchange);
        let conn_id = *by_key.entry(draft.conn_key).or_insert_with(|| {
            let cid = ConnId(connections.len() as u32);
            connections.push(new_connection(
                cid,
                draft.server,
                &draft.host,
                exchange.scheme,
            ));
            cid
        });
        exchange.connection = conn_id;
        if let Some(conn) = connections.get_mut(conn_id.0 as usize) {
            if conn.exchanges.is_empty() {
                conn.first_seen = first;
                conn.last_seen = last;
            } else {
                conn.first_seen = conn.first_seen.min(first);
                conn.last_seen = conn.last_seen.max(last);
            }
            conn.exchanges.push(id);
        }
        exchanges.push(exchange);
    }
    if !connections.is_empty() {
        diagnostics.push(Diagnostic::new(
            Severity::Info,
            "HAR records no client address: connections use the placeholder 0.0.0.0:0",
        ));
    }
    if server_unknown > 0 {
        diagnostics.push(Diagnostic::new(
            Severity::Info,
            format!(
                "HAR gives no server IP address for {server_unknown} entries: shown as 0.0.0.0"
            ),
        ));
    }
    Ok(Imported {
        exchanges,
        connections,
        diagnostics,
    })
}

fn entry_diag(index: usize, (severity, message): (Severity, String)) -> Diagnostic {
    Diagnostic::new(severity, format!("{HAR_ORIGIN}{index}: {message}"))
}

struct Draft {
    index: usize,
    exchange: Exchange,
    conn_key: String,
    server: SocketAddr,
    host: Option<String>,
}

type Notes = Vec<(Severity, String)>;

fn import_entry(
    index: usize,
    entry: &Value,
    notes: &mut Notes,
) -> std::result::Result<Draft, String> {
    let entry = entry.as_object().ok_or("not a JSON object")?;
    let req = entry
        .get("request")
        .and_then(Value::as_object)
        .ok_or("no \"request\" object")?;
    let method = req
        .get("method")
        .and_then(Value::as_str)
        .ok_or("request has no method")?;
    let url = req
        .get("url")
        .and_then(Value::as_str)
        .ok_or("request has no url")?;
    let parts = UrlParts::parse(url);
    let scheme = match parts.scheme.map(str::to_ascii_lowercase).as_deref() {
        Some("https") | Some("wss") => Scheme::Https,
        _ => Scheme::Http,
    };

    let req_headers = headers_of(req.get("headers"), "request", notes);
    let req_body = request_body(req, &req_headers, notes);
    let request = Request {
        method: method.to_string(),
        target: url.to_string(),
        version: str_field(req, "httpVersion").to_string(),
        headers: req_headers,
        body: req_body,
    };

    let resp_obj = entry.get("response").and_then(Value::as_object);
    let status = resp_obj
        .and_then(|r| r.get("status"))
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let response = match resp_obj {
        Some(resp) if status >= 1.0 && status <= u16::MAX as f64 => {
            let headers = headers_of(resp.get("headers"), "response", notes);
            let body = response_body(resp, &headers, notes);
            Some(Response {
                version: str_field(resp, "httpVersion").to_string(),
                status: status as u16,
                reason: str_field(resp, "statusText").to_string(),
                headers,
                interim_statuses: Vec::new(),
                body,
            })
        }
        Some(_) if status != 0.0 => {
            notes.push((
                Severity::Warning,
                format!("response status {status} out of range"),
            ));
            None
        }
        _ => None,
    };

    let started = match entry.get("startedDateTime").and_then(Value::as_str) {
        Some(text) => {
            let ts = parse_datetime(text);
            if ts.is_none() {
                notes.push((
                    Severity::Warning,
                    format!("startedDateTime {text:?} unreadable: no timing"),
                ));
            }
            ts
        }
        None => {
            notes.push((
                Severity::Warning,
                "no startedDateTime: no timing".to_string(),
            ));
            None
        }
    };
    let timings = entry.get("timings").and_then(Value::as_object);
    let timing = started
        .map(|s| timing_of(s, timings, response.is_some()))
        .unwrap_or_default();

    // Annotations: where it came from, the tool's extra fields, the timings as written.
    let mut flags = Vec::new();
    for key in ["pageref", "serverIPAddress", "connection"] {
        if let Some(v) = entry.get(key) {
            flags.push((key.to_string(), flag_value(v)));
        }
    }
    for (k, v) in entry {
        if k.starts_with('_') && k != "_webSocketMessages" {
            flags.push((k.clone(), flag_value(v)));
        }
    }
    for (prefix, obj) in [("request.", Some(req)), ("response.", resp_obj)] {
        for (k, v) in obj.into_iter().flatten() {
            if k.starts_with('_') {
                flags.push((format!("{prefix}{k}"), flag_value(v)));
            }
        }
    }
    for (k, v) in timings.into_iter().flatten() {
        flags.push((format!("timings.{k}"), flag_value(v)));
    }
    let comment = entry
        .get("comment")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    let websocket = match entry.get("_webSocketMessages") {
        Some(Value::Array(msgs)) => websocket_messages(msgs, notes),
        _ => Vec::new(),
    };
    let annotations = crate::model::Annotations {
        origin: format!("{HAR_ORIGIN}{index}"),
        flags,
        timers: started
            .map(|s| vec![(STARTED_TIMER.to_string(), s)])
            .unwrap_or_default(),
        comment,
        color: None,
        generated_by_proxy: false,
        websocket,
    };

    let upgrade = match &response {
        Some(r) if r.status == 101 => Some(Upgrade::Protocol(
            r.headers.get("upgrade").unwrap_or("").to_ascii_lowercase(),
        )),
        Some(r) if method.eq_ignore_ascii_case("CONNECT") && (200..300).contains(&r.status) => {
            Some(Upgrade::Tunnel)
        }
        _ => None,
    };

    // Connection identity: the tool's connection id, else the server address, else the host.
    let server_ip_text = entry
        .get("serverIPAddress")
        .and_then(Value::as_str)
        .unwrap_or("");
    let port = parts.port.unwrap_or(match scheme {
        Scheme::Https => 443,
        Scheme::Http => 80,
    });
    let server = parse_server(server_ip_text, port);
    let conn_text = entry.get("connection").map(flag_value).unwrap_or_default();
    let conn_key = if !conn_text.is_empty() {
        format!("c {conn_text} {server_ip_text}")
    } else if !server_ip_text.is_empty() {
        format!("ip {server}")
    } else {
        format!("host {}:{port}", parts.host)
    };

    let capture = if response.is_some() {
        CaptureState::Full
    } else {
        CaptureState::NoResponse
    };
    let host = (!parts.host.is_empty()).then(|| parts.host.to_string());
    Ok(Draft {
        index,
        exchange: Exchange {
            id: ExchId(0),
            connection: ConnId(0),
            scheme,
            capture,
            request: Some(request),
            response,
            timing,
            upgrade,
            annotations: Some(Box::new(annotations)),
            stage: None,
            auth: None,
        },
        conn_key,
        server,
        host,
    })
}

fn str_field<'a>(obj: &'a Map<String, Value>, key: &str) -> &'a str {
    obj.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A flag's text: strings as they are, other JSON compact, long values cut.
fn flag_value(v: &Value) -> String {
    let mut text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.len() > MAX_FLAG_VALUE {
        let mut cut = MAX_FLAG_VALUE;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

fn headers_of(v: Option<&Value>, which: &str, notes: &mut Notes) -> Headers {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut bad = 0;
    for h in v.and_then(Value::as_array).into_iter().flatten() {
        let name = h.get("name").and_then(Value::as_str);
        let value = h.get("value").map(|v| match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        });
        match (name, value) {
            (Some(n), Some(v)) => pairs.push((n.to_string(), v)),
            _ => bad += 1,
        }
    }
    if bad > 0 {
        notes.push((
            Severity::Warning,
            format!("{bad} {which} headers without name/value skipped"),
        ));
    }
    Headers::from_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())))
}

fn content_encodings(headers: &Headers) -> Vec<String> {
    headers
        .get_all("content-encoding")
        .flat_map(|v| v.split(','))
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty() && e != "identity")
        .collect()
}

fn size_field(obj: &Map<String, Value>, key: &str) -> Option<u64> {
    obj.get(key)
        .and_then(Value::as_f64)
        .filter(|v| *v >= 0.0 && v.is_finite())
        .map(|v| v as u64)
}

/// Decodes a HAR text field (`encoding: base64` or as UTF-8 text).
fn text_bytes(text: &str, base64: bool, what: &str, notes: &mut Notes) -> Vec<u8> {
    if base64 {
        // Some writers wrap base64 lines; whitespace is not part of the data.
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        match b64().decode(compact.as_bytes()) {
            Ok(bytes) => return bytes,
            Err(e) => notes.push((
                Severity::Warning,
                format!("{what}: bad base64 ({e}); the text is kept as it is"),
            )),
        }
    }
    text.as_bytes().to_vec()
}

/// Body from what the HAR holds: `decoded` (None when the text was omitted), the declared
/// decoded size and the wire size.
fn body_from(
    decoded: Option<Vec<u8>>,
    declared_size: Option<u64>,
    wire_size: Option<u64>,
    headers: &Headers,
    what: &str,
    notes: &mut Notes,
) -> Body {
    let content_encoding = content_encodings(headers);
    let wire_length = wire_size.unwrap_or(0);
    match decoded {
        Some(bytes) => {
            let len = bytes.len() as u64;
            if let Some(size) = declared_size.filter(|&s| s != len) {
                notes.push((
                    Severity::Info,
                    format!("{what}: size says {size} bytes, the text holds {len}"),
                ));
            }
            let decoded_sha256 = Some(sha256(&bytes));
            let kept: Arc<[u8]> = Arc::from(bytes);
            // Without content coding the wire bytes are the decoded bytes, when sizes agree.
            let wire_known = content_encoding.is_empty() && wire_size == Some(len);
            Body {
                wire_length,
                wire_sha256: if wire_known { decoded_sha256 } else { None },
                content_encoding,
                decoded_length: Some(len),
                decoded_sha256,
                complete: true,
                stream_offset: 0,
                stream_length: 0,
                wire_kept: wire_known.then(|| kept.clone()),
                kept: Some(kept),
                head: None,
            }
        }
        None => {
            let empty = declared_size.unwrap_or(0) == 0 && wire_size.unwrap_or(0) == 0;
            Body {
                wire_length,
                wire_sha256: (empty && content_encoding.is_empty()).then(|| sha256(b"")),
                content_encoding,
                decoded_length: if empty { Some(0) } else { declared_size },
                decoded_sha256: empty.then(|| sha256(b"")),
                complete: empty,
                stream_offset: 0,
                stream_length: 0,
                kept: empty.then(|| Arc::from(&b""[..])),
                wire_kept: None,
                head: None,
            }
        }
    }
}

fn request_body(req: &Map<String, Value>, headers: &Headers, notes: &mut Notes) -> Body {
    let wire_size = size_field(req, "bodySize");
    let post = req.get("postData").and_then(Value::as_object);
    let decoded = post.and_then(|p| {
        if let Some(text) = p.get("text").and_then(Value::as_str) {
            // `encoding` is not in HAR 1.2's postData; some tools (and we) write it anyway.
            let base64 = ["encoding", "_encoding"]
                .iter()
                .any(|k| p.get(*k).and_then(Value::as_str) == Some("base64"));
            Some(text_bytes(text, base64, "postData", notes))
        } else {
            // Form posts written as params only (older Fiddler): rebuild the urlencoded text.
            let params = p.get("params").and_then(Value::as_array)?;
            let joined: Vec<String> = params
                .iter()
                .map(|prm| {
                    let n = prm.get("name").and_then(Value::as_str).unwrap_or("");
                    let v = prm.get("value").and_then(Value::as_str).unwrap_or("");
                    format!("{n}={v}")
                })
                .collect();
            notes.push((
                Severity::Info,
                "postData has params only: body rebuilt from them".into(),
            ));
            Some(joined.join("&").into_bytes())
        }
    });
    let declared = decoded.as_ref().map(|d| d.len() as u64);
    body_from(decoded, declared, wire_size, headers, "request body", notes)
}

fn response_body(resp: &Map<String, Value>, headers: &Headers, notes: &mut Notes) -> Body {
    let wire_size = size_field(resp, "bodySize");
    let content = resp.get("content").and_then(Value::as_object);
    let declared = content.and_then(|c| size_field(c, "size"));
    let decoded = content.and_then(|c| {
        let text = c.get("text").and_then(Value::as_str)?;
        let base64 = c.get("encoding").and_then(Value::as_str) == Some("base64");
        Some(text_bytes(text, base64, "response content", notes))
    });
    body_from(
        decoded,
        declared,
        wire_size,
        headers,
        "response content",
        notes,
    )
}

fn ms_to_ns(ms: f64) -> i64 {
    (ms * 1e6).round() as i64
}

/// HAR timings value in ms; `-1`, missing or nonsense = not applicable (0).
fn timing_ms(timings: Option<&Map<String, Value>>, key: &str) -> f64 {
    timings
        .and_then(|t| t.get(key))
        .and_then(Value::as_f64)
        .filter(|v| *v >= 0.0 && v.is_finite())
        .unwrap_or(0.0)
}

fn timing_of(started: Ts, timings: Option<&Map<String, Value>>, has_response: bool) -> Timing {
    let at = |ns: i64| {
        Some(Arrival {
            frame: FrameNo(0),
            ts: Ts(started.0.saturating_add(ns)),
        })
    };
    // `ssl` is inside `connect` (HAR 1.2), so it is not added again.
    let pre = ms_to_ns(
        timing_ms(timings, "blocked") + timing_ms(timings, "dns") + timing_ms(timings, "connect"),
    );
    let send = pre.saturating_add(ms_to_ns(timing_ms(timings, "send")));
    let wait = send.saturating_add(ms_to_ns(timing_ms(timings, "wait")));
    let receive = wait.saturating_add(ms_to_ns(timing_ms(timings, "receive")));
    Timing {
        request_start: at(pre),
        request_end: at(send),
        response_start: if has_response { at(wait) } else { None },
        response_end: if has_response { at(receive) } else { None },
    }
}

fn ws_kind(opcode: u64) -> &'static str {
    match opcode {
        0 => "continuation",
        1 => "text",
        2 => "binary",
        8 => "close",
        9 => "ping",
        10 => "pong",
        _ => "unknown",
    }
}

fn ws_opcode(kind: &str) -> u8 {
    match kind {
        "continuation" => 0,
        "text" => 1,
        "binary" => 2,
        "close" => 8,
        "ping" => 9,
        "pong" => 10,
        _ => 2,
    }
}

fn websocket_messages(msgs: &[Value], notes: &mut Notes) -> Vec<WebSocketMessage> {
    let mut out = Vec::with_capacity(msgs.len());
    for m in msgs {
        let Some(kind_text) = m.get("type").and_then(Value::as_str) else {
            notes.push((
                Severity::Warning,
                "WebSocket message without type skipped".into(),
            ));
            continue;
        };
        let opcode = m.get("opcode").and_then(Value::as_u64).unwrap_or(1);
        let data = m.get("data").and_then(Value::as_str).unwrap_or("");
        // Chrome writes binary frames base64-encoded, text frames as text.
        let payload = text_bytes(data, opcode == 2, "WebSocket message", notes);
        let ts = m
            .get("time")
            .and_then(Value::as_f64)
            .filter(|t| t.is_finite())
            .map(|t| {
                let secs = t.floor();
                Ts::from_secs_nanos(secs as i64, ((t - secs) * 1e6).round() as i64 * 1000)
            });
        out.push(WebSocketMessage {
            from_client: kind_text == "send",
            ts,
            kind: ws_kind(opcode).to_string(),
            payload: Arc::from(payload),
        });
    }
    out
}

/// The parts of an absolute URL that matter here.
struct UrlParts<'a> {
    scheme: Option<&'a str>,
    host: &'a str,
    port: Option<u16>,
    /// Everything after the authority, fragment excluded.
    path_query: &'a str,
}

impl<'a> UrlParts<'a> {
    fn parse(url: &'a str) -> UrlParts<'a> {
        let (scheme, rest) = match url.split_once("://") {
            Some((s, rest))
                if !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
            {
                (Some(s), rest)
            }
            _ => (None, url),
        };
        let rest = rest.split('#').next().unwrap_or("");
        if scheme.is_none() {
            return UrlParts {
                scheme,
                host: "",
                port: None,
                path_query: rest,
            };
        }
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path_query) = rest.split_at(end);
        let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            match v6.split_once(']') {
                Some((h, p)) => (h, p.strip_prefix(':').and_then(|p| p.parse().ok())),
                None => (v6, None),
            }
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, p.parse().ok()),
                None => (hostport, None),
            }
        };
        UrlParts {
            scheme,
            host,
            port,
            path_query,
        }
    }
}

fn parse_server(text: &str, port: u16) -> SocketAddr {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return addr;
    }
    let bare = text.trim_start_matches('[').trim_end_matches(']');
    let ip = bare
        .parse::<IpAddr>()
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    SocketAddr::new(ip, port)
}

fn exchange_span(ex: &Exchange) -> (Ts, Ts) {
    let t = &ex.timing;
    let all = [
        t.request_start,
        t.request_end,
        t.response_start,
        t.response_end,
    ];
    let mut times = all.iter().flatten().map(|a| a.ts);
    let first = times.next().unwrap_or_default();
    let (mut lo, mut hi) = (first, first);
    for ts in times {
        lo = lo.min(ts);
        hi = hi.max(ts);
    }
    if let Some(a) = &ex.annotations {
        for ts in a.websocket.iter().filter_map(|m| m.ts) {
            hi = hi.max(ts);
        }
    }
    (lo, hi)
}

fn new_connection(
    id: ConnId,
    server: SocketAddr,
    host: &Option<String>,
    scheme: Scheme,
) -> Connection {
    let https = scheme == Scheme::Https;
    let client = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
    Connection {
        first_seen: Ts(0),
        last_seen: Ts(0),
        protocol: if https {
            AppProtocol::Tls
        } else {
            AppProtocol::Http1
        },
        // The recording tool saw the plaintext: the archive holds it decrypted.
        tls: https.then(|| TlsInfo {
            sni: host.clone(),
            decrypted: true,
            key_source: Some("recorded decrypted in the HAR".into()),
            ..TlsInfo::default()
        }),
        ..Connection::from_endpoints(id, client, server)
    }
}

// ---------------------------------------------------------------------------------------
// Dates

/// UTC, `Z`, with as many fraction digits as needed (3, 6 or 9).
fn format_datetime(ts: Ts) -> String {
    let secs = ts.0.div_euclid(1_000_000_000);
    let nanos = ts.0.rem_euclid(1_000_000_000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    let frac = if nanos % 1_000_000 == 0 {
        format!("{:03}", nanos / 1_000_000)
    } else if nanos % 1000 == 0 {
        format!("{:06}", nanos / 1000)
    } else {
        format!("{nanos:09}")
    };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

// ---------------------------------------------------------------------------------------
// Export

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
        .map(|(_, v)| v.as_str())
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
        ts(t.request_start),
        ts(t.request_end),
        ts(t.response_start),
        ts(t.response_end),
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

    // Fiddler session timers (SAZ import): Fiddler's own HAR formulas (§5.3).
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

/// Size of an HTTP/1 head (start line, fields, blank line); -1 for other versions.
fn head_size(version: &str, start_line: usize, headers: &Headers) -> i64 {
    if !version.to_ascii_uppercase().starts_with("HTTP/1") {
        return -1;
    }
    let fields: usize = headers.iter().map(|(n, v)| n.len() + v.len() + 4).sum();
    (start_line + 2 + fields + 2) as i64
}

fn percent_decode(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = |j: usize| b.get(j).and_then(|h| (*h as char).to_digit(16));
        match c {
            b'%' => match (hex(i + 1), hex(i + 2)) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(c),
            },
            b'+' => out.push(b' '),
            _ => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn form_pairs(text: &str) -> Vec<OutNameValue> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            OutNameValue {
                name: percent_decode(n),
                value: percent_decode(v),
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
                    "expires" => cookie.expires = parse_http_date(v).map(format_datetime),
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
    for (name, value) in &a.flags {
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
            _ => Value::String(value.clone()),
        };
        map.insert(key.to_string(), v);
    }
    map
}

fn absolute_url(analysis: &Analysis, ex: &Exchange, req: &Request) -> String {
    let target = req.target.split('#').next().unwrap_or("");
    if UrlParts::parse(target).scheme.is_some() {
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
                .path_query
                .split_once('?')
                .map(|(_, q)| form_pairs(q))
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
                method: req.method.clone(),
                query_string: query,
                url,
                http_version: req.version.clone(),
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
                status_text: resp.reason.clone(),
                http_version: resp.version.clone(),
                cookies: response_cookies(&resp.headers),
                headers: name_values(&resp.headers),
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
                    let opcode = ws_opcode(&m.kind);
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
        started: format_datetime(started),
        time: total_ms(&timings),
        request,
        response,
        cache: Map::new(),
        timings,
        server_ip,
        connection,
        comment: annotations.and_then(|a| a.comment.clone()),
        websocket,
        extra: extra_fields(ex, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Annotations, StreamEnd};
    use std::path::PathBuf;

    /// `<crate>/../shared/corpus/har`, or the shared corpus when built elsewhere.
    fn corpus() -> Option<PathBuf> {
        [
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/har")),
            PathBuf::from("/work/main/../shared/corpus/har"),
        ]
        .into_iter()
        .find(|p| p.is_dir())
    }

    fn schema_dir() -> Option<PathBuf> {
        [
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/data/har/schema"
            )),
            PathBuf::from("/work/main/tests/data/har/schema"),
        ]
        .into_iter()
        .find(|p| p.is_dir())
    }

    /// (file name, entry count) from the corpus MANIFEST table.
    fn manifest(dir: &Path) -> Vec<(String, usize)> {
        let text = std::fs::read_to_string(dir.join("MANIFEST.md")).unwrap();
        text.lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| {
                let cols: Vec<&str> = l.split('|').map(str::trim).collect();
                let name = cols[1].split('`').nth(1).unwrap().to_string();
                let count: String = cols[5].chars().take_while(|c| c.is_ascii_digit()).collect();
                (name, count.parse().unwrap())
            })
            .collect()
    }

    fn file_json(path: &Path) -> Value {
        let bytes = std::fs::read(path).unwrap();
        let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(&bytes);
        serde_json::from_slice(bytes).unwrap()
    }

    fn entry_index(ex: &Exchange) -> usize {
        let origin = &ex.annotations.as_ref().unwrap().origin;
        origin.strip_prefix(HAR_ORIGIN).unwrap().parse().unwrap()
    }

    fn analysis_of(imp: Imported) -> Analysis {
        Analysis {
            connections: imp.connections,
            exchanges: imp.exchanges,
            diagnostics: imp.diagnostics,
            ..Analysis::default()
        }
    }

    fn export(analysis: &Analysis) -> Vec<u8> {
        let mut out = Vec::new();
        write_har(analysis, None, &mut out).unwrap();
        out
    }

    #[test]
    fn every_corpus_har_loads_with_the_manifest_entries() {
        let Some(dir) = corpus() else {
            eprintln!("corpus not found, skipped");
            return;
        };
        let files = manifest(&dir);
        assert_eq!(files.len(), 6);
        for (name, count) in files {
            let path = dir.join(&name);
            let head = std::fs::read(&path).unwrap();
            assert!(is_har(&head[..head.len().min(64)]), "{name}");
            let imp = read_har(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(imp.exchanges.len(), count, "{name}");
            let json = file_json(&path);
            let entries = json["log"]["entries"].as_array().unwrap();
            for (i, ex) in imp.exchanges.iter().enumerate() {
                assert_eq!(ex.id, ExchId(i as u32));
                let e = &entries[entry_index(ex)];
                let req = ex.request.as_ref().unwrap();
                assert_eq!(
                    req.method,
                    e["request"]["method"].as_str().unwrap(),
                    "{name}"
                );
                assert_eq!(req.target, e["request"]["url"].as_str().unwrap(), "{name}");
                let status = e["response"]["status"].as_u64().unwrap();
                assert_eq!(ex.response.as_ref().map_or(0, |r| r.status as u64), status);
                let conn = &imp.connections[ex.connection.0 as usize];
                assert!(conn.exchanges.contains(&ex.id));
                if let Some(ip) = e["serverIPAddress"].as_str().filter(|s| !s.is_empty()) {
                    assert_eq!(conn.server.ip().to_string(), ip, "{name}");
                }
                let https = req.target.starts_with("https:");
                assert_eq!(ex.scheme == Scheme::Https, https);
                let headers = e["request"]["headers"].as_array().unwrap();
                assert_eq!(req.headers.len(), headers.len());
                for ((n, v), h) in req.headers.iter().zip(headers) {
                    assert_eq!(n, h["name"].as_str().unwrap());
                    assert_eq!(v, h["value"].as_str().unwrap());
                }
            }
        }
    }

    #[test]
    fn bom_file_and_post_data() {
        let Some(dir) = corpus() else { return };
        let path = dir.join("mitmproxy_with-bom.har");
        let raw = std::fs::read(&path).unwrap();
        assert!(raw.starts_with(UTF8_BOM));
        assert!(is_har(&raw));
        let imp = read_har(&path).unwrap();
        let json = file_json(&path);
        let e = &json["log"]["entries"][0];
        let req = imp.exchanges[0].request.as_ref().unwrap();
        assert_eq!(req.method, "POST");
        let text = e["request"]["postData"]["text"].as_str().unwrap();
        assert_eq!(req.body.kept.as_deref(), Some(text.as_bytes()));
        assert_eq!(req.body.decoded_sha256, Some(sha256(text.as_bytes())));
        // Timing: started + blocked + dns + connect (ssl inside connect), then send, wait, receive.
        let t = &e["timings"];
        let ms = |k: &str| t[k].as_f64().filter(|v| *v >= 0.0).unwrap_or(0.0);
        let started = imp.exchanges[0].annotations.as_ref().unwrap().timers[0].1;
        let timing = imp.exchanges[0].timing;
        let off = |a: Option<Arrival>| (a.unwrap().ts.0 - started.0) as f64 / 1e6;
        assert!(
            (off(timing.request_start) - (ms("blocked") + ms("dns") + ms("connect"))).abs() < 1e-3
        );
        assert!((off(timing.request_end) - off(timing.request_start) - ms("send")).abs() < 1e-3);
        assert!((off(timing.response_start) - off(timing.request_end) - ms("wait")).abs() < 1e-3);
        assert!(
            (off(timing.response_end) - off(timing.response_start) - ms("receive")).abs() < 1e-3
        );
    }

    #[test]
    fn base64_bodies_decode_to_content_size() {
        let Some(dir) = corpus() else { return };
        let path = dir.join("mitmproxy_chrome.har");
        let imp = read_har(&path).unwrap();
        let json = file_json(&path);
        let entries = json["log"]["entries"].as_array().unwrap();
        let mut checked = 0;
        for ex in &imp.exchanges {
            let c = &entries[entry_index(ex)]["response"]["content"];
            if c["encoding"].as_str() != Some("base64") {
                continue;
            }
            let body = &ex.response.as_ref().unwrap().body;
            let size = c["size"].as_u64().unwrap();
            assert_eq!(body.kept.as_ref().unwrap().len() as u64, size);
            assert_eq!(body.decoded_length, Some(size));
            checked += 1;
        }
        assert!(checked >= 2, "{checked}");
        // The 304 starts with the page's doctype (the base64 above decodes to HTML).
        let html = imp.exchanges[0]
            .response
            .as_ref()
            .unwrap()
            .body
            .kept
            .clone()
            .unwrap();
        assert!(html.starts_with(b"<!DOCTYPE html>"));
        // The failed request (status 0, `_error`) has no response.
        let failed = imp
            .exchanges
            .iter()
            .find(|e| e.request.as_ref().unwrap().target == "https://www.google.com/")
            .unwrap();
        assert!(failed.response.is_none());
        assert_eq!(failed.capture, CaptureState::NoResponse);
        let flags = &failed.annotations.as_ref().unwrap().flags;
        assert!(flags
            .iter()
            .any(|(n, v)| n == "response._error" && v == "net::ERR_INTERNET_DISCONNECTED"));
    }

    #[test]
    fn websocket_messages_are_read() {
        let Some(dir) = corpus() else { return };
        let path = dir.join("mitmproxy_websocket.har");
        let imp = read_har(&path).unwrap();
        let json = file_json(&path);
        let entries = json["log"]["entries"].as_array().unwrap();
        let mut total = 0;
        for ex in &imp.exchanges {
            let msgs = entries[entry_index(ex)]["_webSocketMessages"]
                .as_array()
                .unwrap();
            let got = &ex.annotations.as_ref().unwrap().websocket;
            assert_eq!(got.len(), msgs.len());
            for (m, w) in got.iter().zip(msgs) {
                assert_eq!(m.from_client, w["type"] == "send");
                assert_eq!(&*m.payload, w["data"].as_str().unwrap().as_bytes());
                assert_eq!(m.kind, "text");
                let t = w["time"].as_f64().unwrap();
                assert!((m.ts.unwrap().as_secs_f64() - t).abs() < 2e-6);
            }
            total += got.len();
            assert_eq!(ex.upgrade, Some(Upgrade::Protocol("websocket".into())));
        }
        assert_eq!(total, 5);
    }

    #[test]
    fn datetimes_of_every_dialect() {
        // Epoch values from `date -u -d ... +%s.%N`.
        assert_eq!(
            parse_datetime("2023-03-29T17:37:42.482-07:00"),
            Some(Ts(1_680_136_662_482_000_000))
        );
        assert_eq!(
            parse_datetime("2023-08-29T13:03:20.195591+00:00"),
            Some(Ts(1_693_314_200_195_591_000))
        );
        assert_eq!(
            parse_datetime("2020-08-13T18:53:15.848Z"),
            Some(Ts(1_597_344_795_848_000_000))
        );
        assert_eq!(
            parse_datetime("2020-08-13T20:53:15.8480000+0200"),
            Some(Ts(1_597_344_795_848_000_000))
        );
        assert_eq!(parse_datetime("2020-13-13T20:53:15Z"), None);
        assert_eq!(parse_datetime("yesterday"), None);
        assert_eq!(parse_datetime(""), None);
        assert_eq!(
            format_datetime(Ts(1_597_344_795_848_000_000)),
            "2020-08-13T18:53:15.848Z"
        );
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Ts(784_111_777_000_000_000))
        );
    }

    #[test]
    fn sniffing() {
        assert!(is_har(b"\xEF\xBB\xBF{\r\n  \"log\": {"));
        assert!(is_har(b"  {\"log\":{\"version\":\"1.2\""));
        assert!(!is_har(b"PK\x03\x04"));
        assert!(!is_har(b"{\"foo\": 1}"));
        assert!(!is_har(b""));
    }

    #[test]
    fn bad_entries_become_diagnostics() {
        let text = br#"{"log":{"version":"1.2","entries":[
            {"request":{"url":"http://a/"}},
            7,
            {"startedDateTime":"bad","request":{"method":"GET","url":"http://a/x?q=1"},
             "response":{"status":200,"content":{"size":2,"text":"%%","encoding":"base64"}}},
            {"startedDateTime":"2020-01-01T00:00:00Z","request":{"method":"GET","url":"http://b/"},
             "response":{"status":204,"headers":[{"name":"X"}]},"timings":{"send":1,"wait":2,"receive":3}}
        ]}}"#;
        let imp = parse_har(text).unwrap();
        assert_eq!(imp.exchanges.len(), 2);
        let msgs: Vec<&str> = imp.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert!(
            msgs.iter().any(|m| m.starts_with("HAR entry 0: skipped")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter().any(|m| m.starts_with("HAR entry 1: skipped")),
            "{msgs:?}"
        );
        assert!(msgs.iter().any(|m| m.contains("bad base64")), "{msgs:?}");
        assert!(
            msgs.iter().any(|m| m.contains("startedDateTime")),
            "{msgs:?}"
        );
        let b = imp
            .exchanges
            .iter()
            .find(|e| e.timing.request_start.is_some())
            .unwrap();
        assert_eq!(
            b.timing.response_end.unwrap().ts,
            Ts(1_577_836_800_006_000_000)
        );
        assert!(parse_har(b"{\"log\": ").is_err());
        assert!(parse_har(b"[1,2]").is_err());
    }

    // ---- HAR 1.2 schema check (tests/data/har/schema, ahmadnassri/har-schema) ----

    const DATE_PATTERN: &str = r"^(\d{4})(-)?(\d\d)(-)?(\d\d)(T)?(\d\d)(:)?(\d\d)(:)?(\d\d)(\.\d+)?(Z|([+-])(\d\d)(:)?(\d\d))";

    /// The schema's date-time pattern, by hand (no regex crate here).
    fn matches_date_pattern(s: &str) -> bool {
        let b = s.as_bytes();
        let mut i = 0;
        let digits = |i: &mut usize, n: usize| -> bool {
            let ok = b
                .get(*i..*i + n)
                .is_some_and(|d| d.iter().all(u8::is_ascii_digit));
            *i += n;
            ok
        };
        let opt = |i: &mut usize, c: u8| {
            if b.get(*i) == Some(&c) {
                *i += 1;
            }
        };
        if !digits(&mut i, 4) {
            return false;
        }
        for (sep, n) in [(b'-', 2), (b'-', 2), (b'T', 2), (b':', 2), (b':', 2)] {
            opt(&mut i, sep);
            if !digits(&mut i, n) {
                return false;
            }
        }
        if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            i += 1;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        match b.get(i) {
            Some(b'Z') => true,
            Some(b'+' | b'-') => {
                i += 1;
                if !digits(&mut i, 2) {
                    return false;
                }
                opt(&mut i, b':');
                digits(&mut i, 2)
            }
            _ => false,
        }
    }

    fn check_format(format: &str, v: &Value) -> bool {
        let Some(s) = v.as_str() else { return true };
        match format {
            "date-time" => matches_date_pattern(s),
            "uri" => s.split_once(':').is_some_and(|(scheme, _)| {
                !scheme.is_empty()
                    && scheme.chars().next().unwrap().is_ascii_alphabetic()
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            }),
            "ipv4" => s.parse::<std::net::Ipv4Addr>().is_ok(),
            "ipv6" => s.parse::<std::net::Ipv6Addr>().is_ok(),
            other => panic!("format {other} not supported by the test validator"),
        }
    }

    fn type_ok(t: &str, v: &Value) -> bool {
        match t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "number" => v.is_number(),
            "integer" => v.is_i64() || v.is_u64(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            other => panic!("type {other}"),
        }
    }

    fn validate(
        v: &Value,
        schema: &Value,
        all: &HashMap<String, Value>,
        at: &str,
        errors: &mut Vec<String>,
    ) {
        let Some(s) = schema.as_object() else { return };
        for (key, rule) in s {
            match key.as_str() {
                "$ref" => {
                    let name = rule.as_str().unwrap().trim_end_matches('#');
                    validate(v, &all[name], all, at, errors);
                }
                "type" => {
                    let ok = match rule {
                        Value::String(t) => type_ok(t, v),
                        Value::Array(ts) => ts.iter().any(|t| type_ok(t.as_str().unwrap(), v)),
                        _ => panic!("type rule"),
                    };
                    if !ok {
                        errors.push(format!("{at}: not {rule}"));
                    }
                }
                "required" => {
                    if let Some(obj) = v.as_object() {
                        for r in rule.as_array().unwrap() {
                            if !obj.contains_key(r.as_str().unwrap()) {
                                errors.push(format!("{at}: missing {r}"));
                            }
                        }
                    }
                }
                "properties" => {
                    if let Some(obj) = v.as_object() {
                        for (name, sub) in rule.as_object().unwrap() {
                            if let Some(child) = obj.get(name) {
                                validate(child, sub, all, &format!("{at}.{name}"), errors);
                            }
                        }
                    }
                }
                "items" => {
                    for (i, item) in v.as_array().into_iter().flatten().enumerate() {
                        validate(item, rule, all, &format!("{at}[{i}]"), errors);
                    }
                }
                "oneOf" => {
                    let passing = rule
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|sub| {
                            let mut e = Vec::new();
                            validate(v, sub, all, at, &mut e);
                            e.is_empty()
                        })
                        .count();
                    if passing != 1 {
                        errors.push(format!("{at}: {passing} of oneOf match"));
                    }
                }
                "format" => {
                    if !check_format(rule.as_str().unwrap(), v) {
                        errors.push(format!("{at}: not a {rule}: {v}"));
                    }
                }
                "pattern" => {
                    assert_eq!(rule.as_str().unwrap(), DATE_PATTERN, "unsupported pattern");
                    if v.as_str().is_some_and(|s| !matches_date_pattern(s)) {
                        errors.push(format!("{at}: does not match the date pattern: {v}"));
                    }
                }
                // Annotations and the files' non-standard keys.
                "$id" | "$schema" | "optional" | "min" | "unique" => {}
                other => panic!("schema keyword {other} not supported by the test validator"),
            }
        }
    }

    /// Errors of a HAR document against the HAR 1.2 schema; None when the schema is absent.
    fn schema_errors(har: &[u8]) -> Option<Vec<String>> {
        let dir = schema_dir()?;
        let mut all = HashMap::new();
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") {
                all.insert(
                    name,
                    serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap(),
                );
            }
        }
        let doc: Value = serde_json::from_slice(har).unwrap();
        let mut errors = Vec::new();
        validate(&doc, &all["har.json"], &all, "$", &mut errors);
        Some(errors)
    }

    #[test]
    fn validator_rejects_what_the_schema_forbids() {
        let bad = br#"{"log":{"version":"1.2","creator":{"name":"x"},"entries":[
            {"startedDateTime":"13:00","time":1,"request":{},"response":{},"cache":{},
             "timings":{"send":0,"wait":0},"serverIPAddress":""}]}}"#;
        let Some(errors) = schema_errors(bad) else {
            return;
        };
        let text = errors.join("\n");
        for want in [
            "missing \"version\"",
            "date pattern",
            "missing \"receive\"",
            "missing \"method\"",
            "oneOf",
            "missing \"content\"",
        ] {
            assert!(text.contains(want), "{want} not in {text}");
        }
    }

    fn timing_ms_of(a: Option<Arrival>) -> Option<i64> {
        a.map(|a| (a.ts.0 as f64 / 1e6).round() as i64)
    }

    #[test]
    fn corpus_round_trip_and_schema() {
        let Some(dir) = corpus() else { return };
        for (name, _) in manifest(&dir) {
            let first = read_har(&dir.join(&name)).unwrap();
            let analysis = analysis_of(first);
            let har = export(&analysis);
            if let Some(errors) = schema_errors(&har) {
                assert!(errors.is_empty(), "{name}: {errors:#?}");
            }
            let again = parse_har(&har).unwrap();
            assert_eq!(again.exchanges.len(), analysis.exchanges.len(), "{name}");
            for (a, b) in analysis.exchanges.iter().zip(&again.exchanges) {
                let (ra, rb) = (a.request.as_ref().unwrap(), b.request.as_ref().unwrap());
                assert_eq!(ra.method, rb.method, "{name}");
                assert_eq!(ra.target, rb.target, "{name}");
                assert_eq!(ra.version, rb.version, "{name}");
                assert_eq!(ra.headers, rb.headers, "{name}");
                assert_eq!(ra.body.decoded_sha256, rb.body.decoded_sha256, "{name}");
                match (&a.response, &b.response) {
                    (Some(x), Some(y)) => {
                        assert_eq!(x.status, y.status, "{name}");
                        assert_eq!(x.reason, y.reason, "{name}");
                        assert_eq!(x.headers, y.headers, "{name}");
                        assert_eq!(x.body.decoded_sha256, y.body.decoded_sha256, "{name}");
                        assert_eq!(x.body.decoded_length, y.body.decoded_length, "{name}");
                    }
                    (None, None) => {}
                    _ => panic!("{name}: response lost"),
                }
                let (ta, tb) = (a.timing, b.timing);
                for (x, y) in [
                    (ta.request_start, tb.request_start),
                    (ta.request_end, tb.request_end),
                    (ta.response_start, tb.response_start),
                    (ta.response_end, tb.response_end),
                ] {
                    assert_eq!(timing_ms_of(x), timing_ms_of(y), "{name}");
                }
                let (aa, ab) = (
                    a.annotations.as_ref().unwrap(),
                    b.annotations.as_ref().unwrap(),
                );
                assert_eq!(aa.comment, ab.comment, "{name}");
                assert_eq!(aa.websocket.len(), ab.websocket.len(), "{name}");
                for (m, n) in aa.websocket.iter().zip(&ab.websocket) {
                    assert_eq!(
                        (m.from_client, &m.kind, &m.payload),
                        (n.from_client, &n.kind, &n.payload)
                    );
                    assert_eq!(m.ts.map(|t| t.0 / 1000), n.ts.map(|t| t.0 / 1000));
                }
            }
            assert_eq!(
                again.connections.len(),
                analysis.connections.len(),
                "{name}"
            );
        }
    }

    fn body_of(decoded: &[u8], wire: &[u8], encoding: &[&str]) -> Body {
        Body {
            wire_length: wire.len() as u64,
            wire_sha256: Some(sha256(wire)),
            content_encoding: encoding.iter().map(|e| e.to_string()).collect(),
            decoded_length: Some(decoded.len() as u64),
            decoded_sha256: Some(sha256(decoded)),
            complete: true,
            stream_offset: 0,
            stream_length: wire.len() as u64,
            kept: Some(Arc::from(decoded)),
            wire_kept: Some(Arc::from(wire)),
            head: None,
        }
    }

    fn hand_made() -> Analysis {
        use flate2::write::GzEncoder;
        let text = "{\"déjà\":\"vu\"}".as_bytes();
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(text).unwrap();
        let gzipped = gz.finish().unwrap();
        let png: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe";
        let at = |ms: i64| {
            Some(Arrival {
                frame: FrameNo(ms as u64),
                ts: Ts(1_700_000_000_000_000_000 + ms * 1_000_000),
            })
        };
        let conn = Connection {
            id: ConnId(0),
            client: "10.0.0.2:50123".parse().unwrap(),
            server: "192.0.2.7:80".parse().unwrap(),
            first_seen: Ts(1_700_000_000_000_000_000),
            last_seen: Ts(1_700_000_000_100_000_000),
            first_frame: FrameNo(1),
            last_frame: FrameNo(20),
            packets: 20,
            bytes: 4000,
            payload_bytes: [300, 2000],
            handshake: true,
            end: [StreamEnd::Fin, StreamEnd::Fin],
            protocol: AppProtocol::Http1,
            exchanges: vec![ExchId(0), ExchId(1)],
            missing_bytes: [0, 0],
            tls: None,
            syn_ack: true,
            stage: None,
        };
        let request = |target: &str, cookie: bool| Request {
            method: "GET".into(),
            target: target.into(),
            version: "HTTP/1.1".into(),
            headers: if cookie {
                Headers::from_pairs([("Host", "example.test"), ("Cookie", "a=1; b=two")])
            } else {
                Headers::from_pairs([("Host", "example.test")])
            },
            body: body_of(b"", b"", &[]),
        };
        let response = |ctype: &str, body: Body, enc: bool| Response {
            version: "HTTP/1.1".into(),
            status: 200,
            reason: "OK".into(),
            headers: if enc {
                Headers::from_pairs([
                    ("Content-Type", ctype),
                    ("Content-Encoding", "gzip"),
                    (
                        "Set-Cookie",
                        "sid=abc; Path=/; Expires=Sun, 06 Nov 2044 08:49:37 GMT; HttpOnly",
                    ),
                ])
            } else {
                Headers::from_pairs([("Content-Type", ctype)])
            },
            interim_statuses: Vec::new(),
            body,
        };
        let exchanges = vec![
            Exchange {
                id: ExchId(0),
                connection: ConnId(0),
                scheme: Scheme::Http,
                capture: CaptureState::Full,
                request: Some(request("/api?x=1&y=a%20b#frag", true)),
                response: Some(response(
                    "application/json; charset=utf-8",
                    body_of(text, &gzipped, &["gzip"]),
                    true,
                )),
                timing: Timing {
                    request_start: at(10),
                    request_end: at(11),
                    response_start: at(40),
                    response_end: at(45),
                },
                upgrade: None,
                annotations: None,
                stage: None,
                auth: None,
            },
            Exchange {
                id: ExchId(1),
                connection: ConnId(0),
                scheme: Scheme::Http,
                capture: CaptureState::Full,
                request: Some(request("/logo.png", false)),
                response: Some(response("image/png", body_of(png, png, &[]), false)),
                timing: Timing {
                    request_start: at(50),
                    request_end: at(50),
                    response_start: at(70),
                    response_end: at(100),
                },
                upgrade: None,
                annotations: Some(Box::new(Annotations {
                    origin: "SAZ session 2".into(),
                    comment: Some("stage: logo".into()),
                    ..Annotations::default()
                })),
                stage: None,
                auth: None,
            },
        ];
        Analysis {
            connections: vec![conn],
            exchanges,
            ..Analysis::default()
        }
    }

    #[test]
    fn hand_made_export_text_vs_base64() {
        let analysis = hand_made();
        let har = export(&analysis);
        if let Some(errors) = schema_errors(&har) {
            assert!(errors.is_empty(), "{errors:#?}");
        }
        let doc: Value = serde_json::from_slice(&har).unwrap();
        assert_eq!(doc["log"]["creator"]["name"], "lyncscope");
        let e0 = &doc["log"]["entries"][0];
        let e1 = &doc["log"]["entries"][1];
        // gzip on the wire, UTF-8 JSON decoded: text, decoded size, bytes saved.
        let c0 = &e0["response"]["content"];
        assert_eq!(c0["text"], "{\"déjà\":\"vu\"}");
        assert!(c0.get("encoding").is_none());
        assert_eq!(c0["size"], 15);
        let wire = analysis.exchanges[0]
            .response
            .as_ref()
            .unwrap()
            .body
            .wire_length as i64;
        assert_eq!(e0["response"]["bodySize"], wire);
        assert_eq!(c0["compression"], 15 - wire);
        // Binary: base64 of the exact bytes.
        let c1 = &e1["response"]["content"];
        assert_eq!(c1["encoding"], "base64");
        let png = b64().decode(c1["text"].as_str().unwrap()).unwrap();
        assert_eq!(png, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe");
        // URL absolute without fragment, query parsed, cookies split.
        assert_eq!(e0["request"]["url"], "http://example.test/api?x=1&y=a%20b");
        assert_eq!(e0["request"]["queryString"][1]["value"], "a b");
        assert_eq!(e0["request"]["cookies"][1]["name"], "b");
        assert_eq!(e0["request"]["cookies"][1]["value"], "two");
        let sc = &e0["response"]["cookies"][0];
        assert_eq!(
            (sc["name"].as_str(), sc["httpOnly"].as_bool()),
            (Some("sid"), Some(true))
        );
        assert_eq!(sc["expires"], "2044-11-06T08:49:37.000Z");
        // The first exchange opened the connection: its handshake is `connect`.
        assert_eq!(e0["startedDateTime"], "2023-11-14T22:13:20.000Z");
        assert_eq!(e0["timings"]["connect"], 10.0);
        assert_eq!(e0["timings"]["send"], 1.0);
        assert_eq!(e0["timings"]["wait"], 29.0);
        assert_eq!(e0["timings"]["receive"], 5.0);
        assert_eq!(e0["time"], 45.0);
        assert_eq!(e0["serverIPAddress"], "192.0.2.7");
        assert_eq!(e0["connection"], "50123");
        assert_eq!(e1["comment"], "stage: logo");
        assert_eq!(e1["timings"]["connect"], -1.0);
        // And it reads back: same bodies.
        let back = parse_har(&har).unwrap();
        for (a, b) in analysis.exchanges.iter().zip(&back.exchanges) {
            let (x, y) = (
                &a.response.as_ref().unwrap().body,
                &b.response.as_ref().unwrap().body,
            );
            assert_eq!(x.decoded_sha256, y.decoded_sha256);
        }
        // `only` selects.
        let mut out = Vec::new();
        write_har(&analysis, Some(&[ExchId(1), ExchId(9)]), &mut out).unwrap();
        let doc: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["log"]["entries"].as_array().unwrap().len(), 1);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// Whatever numbers and dates an entry holds, import and export never panic.
        #[test]
        fn odd_values_never_panic(
            blocked in proptest::prelude::any::<f64>(),
            send in proptest::prelude::any::<f64>(),
            status in proptest::prelude::any::<f64>(),
            size in proptest::prelude::any::<i64>(),
            date in "[0-9T:.+Z-]{0,40}",
            time in proptest::prelude::any::<f64>(),
        ) {
            let num = |v: f64| if v.is_finite() { v.to_string() } else { "1e308".into() };
            let doc = format!(
                r#"{{"log":{{"entries":[{{"startedDateTime":"{date}","request":{{"method":"GET","url":"https://[::1]:99999/a?b"}},
                "response":{{"status":{},"content":{{"size":{size},"text":"x"}},"bodySize":{size}}},
                "timings":{{"blocked":{},"send":{},"wait":1e300,"receive":-1}},
                "_webSocketMessages":[{{"type":"send","time":{},"opcode":2,"data":"!!"}}]}}]}}}}"#,
                num(status), num(blocked), num(send), num(time)
            );
            let imp = parse_har(doc.as_bytes()).unwrap();
            let har = export(&analysis_of(imp));
            proptest::prop_assert!(parse_har(&har).is_ok());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = is_har(&bytes);
            let _ = parse_har(&bytes);
        }
    }
}
