//! Fiddler Session Archive Zip (SAZ): read into the model.
//!
//! A SAZ is a plain zip. Each session is `raw/<digits>_c.txt` (request as sent), `_s.txt`
//! (response), optional `_m.xml` (timers and flags) and `_w.txt` (WebSocket messages); the
//! digit string is the key, never recomputed from a counter. The HTTP texts are parsed by a
//! [`MessageParser`] the caller hands in (the HTTP layer's: the same HTTP/1 connection parser
//! as for captures, so framing, de-chunking, decoding and hashing agree). Entries are only ever
//! read into memory (never extracted), one session at a time, each capped in size.

use super::Imported;
use crate::datetime::parse_fiddler_time;
use crate::error::{Error, Result};
use crate::model::saz::{
    timer_name, FLAG_IS_HTTPS, FLAG_REQUEST_BODY_DROPPED, FLAG_RESPONSE_BODY_DROPPED,
    FLAG_RESPONSE_GENERATED, H2_STREAM_FLAG, HTTP_VERSION_FLAG, MS_TIMERS, PSEUDO, UNSET_TIME,
};
use crate::model::{
    websocket_kind, Annotations, Arrival, ConnId, Connection, Diagnostic, ExchId, Exchange, Flags,
    FrameNo, Request, Response, Scheme, Severity, Timing, TlsInfo, Ts, TunnelLink,
    WebSocketMessage,
};
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Seek};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

/// One session's request and response texts as the archive holds them, with the endpoints it
/// recorded (0.0.0.0:0 when it did not).
#[derive(Debug, Clone, Copy)]
pub struct RecordedSession<'a> {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub scheme: Scheme,
    pub request: &'a [u8],
    pub response: &'a [u8],
}

/// Exchanges parsed from one session; ids are local (`ExchId(0)` is the first), diagnostics
/// point at them.
#[derive(Debug, Default)]
pub struct ParsedMessages {
    pub exchanges: Vec<Exchange>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Turns a session's HTTP texts into exchanges. Reading archives is this layer's job, parsing
/// HTTP the HTTP layer's: the caller hands its parser in.
pub trait MessageParser {
    /// Bodies up to this size are kept in memory (for exports and the stage layer).
    fn keep_body_max(&self) -> u64;
    /// For a body not kept whole: how many of its first bytes the stage layer may need...
    fn head_max(&self) -> u64 {
        0
    }
    /// ...when it wants this exchange's (from the request and, for a response body, the
    /// response head).
    fn wants_head(&self, _request: Option<&Request>, _response: Option<&Response>) -> bool {
        false
    }
    fn parse(&self, session: RecordedSession<'_>) -> ParsedMessages;
}

/// Largest uncompressed entry read; larger ones (or zip bombs) are skipped with a diagnostic.
const ENTRY_MAX: u64 = 64 << 20;
/// Uncompressed bytes read from one archive in total: bounds time spent on a hostile file.
const ARCHIVE_MAX: u64 = 4 << 30;
/// Largest inflated permessage-deflate WebSocket payload.
const WS_INFLATE_MAX: u64 = 16 << 20;

/// A zip's first bytes: local-file header, or the end record of an empty archive.
pub fn is_saz(first_bytes: &[u8]) -> bool {
    first_bytes.starts_with(b"PK\x03\x04") || first_bytes.starts_with(b"PK\x05\x06")
}

/// Reads a SAZ. `password` for protected archives (ZipCrypto, AES-128/256): missing or wrong
/// -> Err with a clear message. Bodies are kept (Body.kept / wire_kept) up to
/// `http.keep_body_max()` bytes each.
pub fn read_saz(path: &Path, password: Option<&str>, http: &dyn MessageParser) -> Result<Imported> {
    let file = std::fs::File::open(path).map_err(|source| Error::Open {
        path: path.to_path_buf(),
        source,
    })?;
    read_saz_from(io::BufReader::new(file), password, http).map_err(|message| Error::Archive {
        path: path.to_path_buf(),
        message,
    })
}

// ---- reading ------------------------------------------------------------------------------

/// Entry indexes of one session's files.
#[derive(Default)]
struct SessionFiles {
    c: Option<usize>,
    s: Option<usize>,
    m: Option<usize>,
    w: Option<usize>,
}

/// Sort key of a digit string: numeric order without overflow ("010" after "9").
fn numeric_key(digits: &str) -> (usize, String, String) {
    let trimmed = digits.trim_start_matches('0');
    (trimmed.len(), trimmed.to_string(), digits.to_string())
}

/// A name that would escape the extraction folder if someone extracted it.
fn is_unsafe_name(name: &str) -> bool {
    let n = name.replace('\\', "/");
    n.starts_with('/')
        || n.as_bytes().get(1) == Some(&b':')
        || n.split('/').any(|part| part == "..")
}

/// `raw/<digits>_<kind>.<ext>` (case-insensitive, either slash) -> (digits, kind).
fn session_entry(name: &str) -> Option<(&str, &'static str)> {
    let rest = name
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("raw/") || p.eq_ignore_ascii_case("raw\\"))
        .and_then(|_| name.get(4..))?;
    let us = rest.find('_')?;
    let (digits, tail) = rest.split_at(us);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let kind = ["_c.txt", "_s.txt", "_m.xml", "_w.txt", "_g.txt"]
        .into_iter()
        .find(|k| tail.eq_ignore_ascii_case(k))?;
    Some((digits, kind))
}

struct ZipSource<R: Read + Seek> {
    archive: zip::ZipArchive<R>,
    password: Option<Vec<u8>>,
    budget: u64,
}

impl<R: Read + Seek> ZipSource<R> {
    /// An entry's uncompressed bytes, at most [`ENTRY_MAX`]; Err explains why it was skipped.
    fn read(&mut self, index: usize) -> std::result::Result<Vec<u8>, String> {
        let mut file = match &self.password {
            Some(p) => self.archive.by_index_decrypt(index, p),
            None => self.archive.by_index(index),
        }
        .map_err(|e| format!("cannot open: {e}"))?;
        let claimed = file.size();
        if claimed > ENTRY_MAX {
            return Err(format!(
                "claims {claimed} bytes uncompressed, over the limit of {ENTRY_MAX}: skipped"
            ));
        }
        if self.budget == 0 {
            return Err(format!(
                "the archive already expanded past {ARCHIVE_MAX} bytes: skipped"
            ));
        }
        let limit = ENTRY_MAX.min(self.budget);
        let mut buf = Vec::with_capacity(claimed.min(1 << 20) as usize);
        (&mut file)
            .take(limit + 1)
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot be read: {e}"))?;
        self.budget = self.budget.saturating_sub(buf.len() as u64);
        if buf.len() as u64 > limit {
            return Err(format!(
                "expands past {limit} bytes (claimed {claimed}): skipped as a likely zip bomb"
            ));
        }
        Ok(buf)
    }
}

/// What `_m.xml` says about a session.
#[derive(Default)]
struct Meta {
    sid: Option<String>,
    bitflags: Option<u64>,
    bitflags_text: Option<String>,
    aborted: bool,
    timers: Vec<(String, Ts)>,
    ms_timers: Vec<(String, String)>,
    flags: Vec<(String, String)>,
    /// PipeInfo attributes (connection reuse: CltReuse, Reused, Streamed …).
    pipe_info: Vec<(String, String)>,
}

impl Meta {
    fn timer(&self, name: &str) -> Option<Ts> {
        self.timers.iter().find(|(n, _)| n == name).map(|&(_, t)| t)
    }
    fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn attr_value(
    a: &quick_xml::events::attributes::Attribute<'_>,
) -> std::result::Result<String, String> {
    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
        .map(|v| v.into_owned())
        .map_err(|e| e.to_string())
}

fn parse_meta(xml: &[u8]) -> std::result::Result<Meta, String> {
    use quick_xml::events::Event;
    let xml = xml.strip_prefix(b"\xef\xbb\xbf").unwrap_or(xml);
    let text = String::from_utf8_lossy(xml);
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut meta = Meta::default();
    let mut depth = 0usize;
    let mut saw_session = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("at byte {}: {e}", reader.buffer_position()))?;
        let (e, empty) = match &event {
            Event::Start(e) => {
                depth += 1;
                (e, false)
            }
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let _ = empty;
        let name = e.local_name();
        match name.as_ref() {
            "Session" => {
                saw_session = true;
                for a in e.attributes().with_checks(true) {
                    let a = a.map_err(|e| e.to_string())?;
                    let v = attr_value(&a)?;
                    match a.key.as_ref() {
                        "SID" => meta.sid = Some(v),
                        "BitFlags" => {
                            meta.bitflags = u64::from_str_radix(v.trim(), 16).ok();
                            meta.bitflags_text = Some(v);
                        }
                        "Aborted" => meta.aborted = v.eq_ignore_ascii_case("true"),
                        _ => {}
                    }
                }
            }
            "SessionTimers" => {
                for a in e.attributes().with_checks(true) {
                    let a = a.map_err(|e| e.to_string())?;
                    let v = attr_value(&a)?;
                    let key = a.key.as_ref().to_string();
                    if MS_TIMERS.contains(&key.as_str()) {
                        if v.trim() != "0" {
                            meta.ms_timers.push((key, v));
                        }
                    } else if v.trim() != UNSET_TIME {
                        match parse_fiddler_time(&v) {
                            Some(ts) => meta.timers.push((key, ts)),
                            None => {
                                return Err(format!("timer {key} has an unreadable time {v:?}"))
                            }
                        }
                    }
                }
            }
            "PipeInfo" => {
                for a in e.attributes().with_checks(true) {
                    let a = a.map_err(|e| e.to_string())?;
                    let v = attr_value(&a)?;
                    meta.pipe_info.push((a.key.as_ref().to_string(), v));
                }
            }
            "SessionFlag" => {
                let (mut n, mut v) = (None, None);
                for a in e.attributes().with_checks(true) {
                    let a = a.map_err(|e| e.to_string())?;
                    match a.key.as_ref() {
                        "N" => n = Some(attr_value(&a)?),
                        "V" => v = Some(attr_value(&a)?),
                        _ => {}
                    }
                }
                if let Some(n) = n {
                    meta.flags.push((n, v.unwrap_or_default()));
                }
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("the document ends inside an element".into());
    }
    if !saw_session {
        return Err("no <Session> element".into());
    }
    Ok(meta)
}

/// Request line's method and target, if the text starts with one.
fn request_line(c: &[u8]) -> Option<(String, String)> {
    let end = c
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(c.len())
        .min(64 * 1024);
    let line = String::from_utf8_lossy(c.get(..end)?);
    let mut parts = line.split_ascii_whitespace();
    Some((parts.next()?.to_string(), parts.next()?.to_string()))
}

/// Port from a target: authority-form `host:port`, absolute-form `scheme://host[:port]/…`.
fn target_port(target: &str, host_header: Option<&str>, scheme: Scheme) -> u16 {
    let default = match scheme {
        Scheme::Http => 80,
        Scheme::Https => 443,
    };
    let lower = target.to_ascii_lowercase();
    let (authority, default) = if let Some(rest) = lower.strip_prefix("https://") {
        (rest.to_string(), 443)
    } else if let Some(rest) = lower.strip_prefix("http://") {
        (rest.to_string(), 80)
    } else if target.starts_with('/') || target == "*" {
        (host_header.unwrap_or("").to_string(), default)
    } else {
        (target.to_string(), default)
    };
    let authority = authority
        .split(['/', '?', '#'])
        .next()
        .unwrap_or("")
        .rsplit('@')
        .next()
        .unwrap_or("");
    let port = if let Some(rest) = authority.strip_prefix('[') {
        rest.split_once("]:").map(|(_, p)| p)
    } else {
        authority.rsplit_once(':').map(|(_, p)| p)
    };
    port.and_then(|p| p.parse().ok()).unwrap_or(default)
}

/// One RFC 6455 frame -> (opcode, rsv1, unmasked payload).
fn parse_ws_frame(frame: &[u8]) -> Option<(u8, bool, Vec<u8>)> {
    let b0 = *frame.first()?;
    let b1 = *frame.get(1)?;
    let mut pos = 2usize;
    let len = match b1 & 0x7f {
        126 => {
            let v = u16::from_be_bytes(frame.get(2..4)?.try_into().ok()?);
            pos = 4;
            u64::from(v)
        }
        127 => {
            let v = u64::from_be_bytes(frame.get(2..10)?.try_into().ok()?);
            pos = 10;
            v
        }
        n => u64::from(n),
    };
    let key = if b1 & 0x80 != 0 {
        let k: [u8; 4] = frame.get(pos..pos + 4)?.try_into().ok()?;
        pos += 4;
        Some(k)
    } else {
        None
    };
    let rest = frame.get(pos..)?;
    let take = rest.len().min(usize::try_from(len).unwrap_or(usize::MAX));
    let mut payload = rest.get(..take)?.to_vec();
    if let Some(k) = key {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= k[i % 4];
        }
    }
    Some((b0 & 0x0f, b0 & 0x40 != 0, payload))
}

/// permessage-deflate (RFC 7692): raw deflate without the final empty block's tail.
fn inflate_ws(payload: &[u8]) -> Option<Vec<u8>> {
    let mut input = payload.to_vec();
    input.extend_from_slice(&[0, 0, 0xff, 0xff]);
    let mut out = Vec::new();
    let mut dec = flate2::read::DeflateDecoder::new(&input[..]).take(WS_INFLATE_MAX + 1);
    match dec.read_to_end(&mut out) {
        Ok(_) if out.len() as u64 <= WS_INFLATE_MAX => Some(out),
        // A sync-flushed stream has no final block: running out of input is its end.
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && !out.is_empty() => Some(out),
        _ => None,
    }
}

/// `_w.txt`: records of `Name: value` lines, an empty line, then `Request-Length` or
/// `Response-Length` bytes of one raw frame.
fn parse_ws_file(data: &[u8], notes: &mut Vec<String>) -> Vec<WebSocketMessage> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    loop {
        while data.get(pos).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
            pos += 1;
        }
        if pos >= data.len() {
            break;
        }
        let (mut len, mut from_client, mut ts) = (None, false, None);
        loop {
            let Some(nl) = data
                .get(pos..)
                .and_then(|r| r.iter().position(|&b| b == b'\n'))
            else {
                pos = data.len();
                break;
            };
            let line = String::from_utf8_lossy(&data[pos..pos + nl]);
            let line = line.trim_end_matches('\r');
            pos += nl + 1;
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                let value = value.trim();
                match name.trim().to_ascii_lowercase().as_str() {
                    "request-length" => {
                        len = value.parse::<usize>().ok();
                        from_client = true;
                    }
                    "response-length" => {
                        len = value.parse::<usize>().ok();
                        from_client = false;
                    }
                    "doneread" => ts = ts.or(parse_fiddler_time(value)),
                    "beginsend" => ts = ts.or(parse_fiddler_time(value)),
                    _ => {}
                }
            }
        }
        let Some(len) = len else {
            if pos < data.len() {
                notes
                    .push("a WebSocket record has no length: the rest of _w.txt is skipped".into());
            }
            break;
        };
        let Some(frame) = data.get(pos..pos.saturating_add(len)) else {
            notes.push(format!(
                "a WebSocket record claims {len} bytes but only {} remain: skipped",
                data.len().saturating_sub(pos)
            ));
            break;
        };
        pos += len;
        let Some((opcode, rsv1, mut payload)) = parse_ws_frame(frame) else {
            notes.push("a WebSocket frame is too short to parse: skipped".into());
            continue;
        };
        if rsv1 {
            match inflate_ws(&payload) {
                Some(p) => payload = p,
                None => notes.push(
                    "a compressed (permessage-deflate) WebSocket message could not be inflated: kept as sent"
                        .into(),
                ),
            }
        }
        out.push(WebSocketMessage {
            from_client,
            ts,
            kind: websocket_kind(opcode),
            payload: Arc::from(payload),
        });
    }
    out
}

/// Fiddler's plain-words reading of its failure flags.
fn failure_notes(meta: &Meta) -> Vec<(Severity, String)> {
    let mut notes = Vec::new();
    let mut aborted_said = false;
    for (n, v) in &meta.flags {
        let msg = match n.to_ascii_lowercase().as_str() {
            "x-aborted-when" => {
                aborted_said = true;
                (
                    Severity::Warning,
                    if v.trim().eq_ignore_ascii_case("aborted") {
                        "Fiddler aborted the session".to_string()
                    } else {
                        format!("Fiddler aborted the session while {v}")
                    },
                )
            }
            "x-failsession-when" => (
                Severity::Warning,
                format!("Fiddler failed the session while {v}"),
            ),
            "x-httpprotocol-violation" => (
                Severity::Warning,
                format!("Fiddler saw an HTTP protocol violation: {}", v.trim()),
            ),
            "x-failedtoreadrequestbody" => (
                Severity::Warning,
                "Fiddler could not read the whole request body from the client".to_string(),
            ),
            "x-retryonfailedreceive" => (
                Severity::Info,
                "Fiddler resent the request after a failed receive from the server".to_string(),
            ),
            "x-dns-failover" => (
                Severity::Info,
                format!("Fiddler failed over to another server address ({v})"),
            ),
            _ => continue,
        };
        notes.push(msg);
    }
    if meta.aborted && !aborted_said {
        notes.push((
            Severity::Warning,
            "Fiddler marked the session aborted".into(),
        ));
    }
    let bits = meta.bitflags.unwrap_or(0);
    if bits & FLAG_REQUEST_BODY_DROPPED != 0 {
        notes.push((
            Severity::Info,
            "Fiddler did not save the request body".into(),
        ));
    }
    if bits & FLAG_RESPONSE_BODY_DROPPED != 0 {
        notes.push((
            Severity::Info,
            "Fiddler did not save the response body".into(),
        ));
    }
    notes
}

/// A response Fiddler wrote itself, judged from its text when there are no BitFlags.
fn looks_generated(resp: &Response) -> bool {
    resp.headers.get("FiddlerGateway").is_some()
        || resp.reason.contains("Fiddler")
        || resp
            .body
            .kept
            .as_deref()
            .is_some_and(|b| b.starts_with(b"[Fiddler]"))
}

/// One session, parsed, before connections are assigned.
struct Parsed {
    digits: String,
    exchanges: Vec<Exchange>,
    diagnostics: Vec<Diagnostic>,
    client: Option<SocketAddr>,
    server_ip: Option<IpAddr>,
    server_port: u16,
    is_connect: bool,
    bytes: [u64; 2],
    tls_flags: Vec<(String, String)>,
    /// The session number of the CONNECT whose tunnel carried this session.
    tunnel: Option<String>,
}

fn session_diag(digits: &str, severity: Severity, msg: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::new(severity, format!("SAZ session {digits}: {msg}"))
}

/// Replaces `body` by the bytes after the first CRLFCRLF of `file` when the parsed framing
/// did not end exactly at the end of the file. Returns whether it did.
fn take_raw_body(body: &mut crate::model::Body, file: &[u8], keep_max: u64) -> bool {
    use sha2::{Digest, Sha256};
    let Some(head_end) = file
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
    else {
        return false;
    };
    let framed_end = body.stream_offset + body.stream_length;
    if body.complete && (framed_end == file.len() as u64 || body.stream_offset != head_end as u64) {
        return false;
    }
    let raw = &file[head_end..];
    if body.complete && raw.len() as u64 == body.stream_length {
        return false;
    }
    let hash: [u8; 32] = Sha256::digest(raw).into();
    let kept: Option<std::sync::Arc<[u8]>> =
        (raw.len() as u64 <= keep_max && keep_max > 0).then(|| raw.into());
    let plain = body.content_encoding.is_empty();
    *body = crate::model::Body {
        wire_length: raw.len() as u64,
        decoded_length: plain.then_some(raw.len() as u64),
        complete: true,
        stream_offset: head_end as u64,
        stream_length: raw.len() as u64,
        content: crate::model::BodyContent {
            digests: crate::model::Digests::new(Some(hash), plain.then_some(hash)),
            kept: if plain { kept.clone() } else { None },
            wire_kept: kept,
            head: None,
            content_encoding: std::mem::take(&mut body.content_encoding),
        }
        .shared(),
    };
    true
}

fn parse_session(
    digits: &str,
    c: &[u8],
    s: &[u8],
    meta: Option<Meta>,
    ws: Option<Vec<WebSocketMessage>>,
    http: &dyn MessageParser,
    mut diagnostics: Vec<Diagnostic>,
) -> Parsed {
    let meta = meta.unwrap_or_default();
    let bits = meta.bitflags.unwrap_or(0);
    let line = request_line(c);
    let target = line.as_ref().map(|(_, t)| t.as_str()).unwrap_or("");
    let is_connect = line
        .as_ref()
        .is_some_and(|(m, _)| m.eq_ignore_ascii_case("CONNECT"));
    let https_target = target
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("https://"));
    let origin_in_https = !is_connect && target.starts_with('/') && bits & FLAG_IS_HTTPS != 0;
    let scheme = if https_target || origin_in_https {
        Scheme::Https
    } else {
        Scheme::Http
    };
    let client = match (meta.flag("x-clientip"), meta.flag("x-clientport")) {
        (Some(ip), Some(port)) => match (ip.trim().parse::<IpAddr>(), port.trim().parse::<u16>()) {
            (Ok(ip), Ok(port)) if port != 0 => Some(SocketAddr::new(ip, port)),
            _ => None,
        },
        _ => None,
    };
    let server_ip = meta
        .flag("x-hostip")
        .and_then(|v| v.trim().parse::<IpAddr>().ok());
    let mut out = http.parse(RecordedSession {
        client: client.unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)),
        server: SocketAddr::new(server_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)), 0),
        scheme,
        request: c,
        response: s,
    });
    // Fiddler's rule: the body is every byte after the first CRLFCRLF, whatever the headers
    // say (hand-made archives send GET bodies without a length, or "chunked" bodies that are
    // not). When the framing did not account for exactly those bytes, take them as they are.
    let mut raw_taken = false;
    if out.exchanges.len() == 1 {
        let keep = http.keep_body_max();
        let e = &mut out.exchanges[0];
        if let Some(r) = e.request.as_mut() {
            raw_taken |= take_raw_body(&mut r.body, c, keep);
        }
        if let Some(r) = e.response.as_mut() {
            raw_taken |= take_raw_body(&mut r.body, s, keep);
        }
        if raw_taken && e.request.is_some() && e.response.is_some() {
            e.capture = crate::model::CaptureState::Full;
        }
    }
    if raw_taken {
        out.diagnostics.retain(|d| {
            !(d.message.contains("skipped")
                || d.message.contains("framing broken")
                || d.message.contains("connection closed after"))
        });
        out.diagnostics.push(Diagnostic::new(
            Severity::Info,
            "a body does not match its framing headers; as Fiddler does, every byte after the head is taken as the body",
        ));
    }
    for mut d in out.diagnostics {
        d.message = format!("SAZ session {digits}: {}", d.message);
        d.frame = None;
        diagnostics.push(d);
    }
    let mut exchanges = out.exchanges;
    let host_header = exchanges
        .first()
        .and_then(|e| e.request.as_ref())
        .and_then(|r| r.host().map(str::to_string));
    let server_port = target_port(target, host_header.as_deref(), scheme);
    if exchanges.is_empty() {
        diagnostics.push(session_diag(
            digits,
            Severity::Warning,
            "no HTTP message found: skipped",
        ));
    }
    if exchanges.len() > 1 {
        diagnostics.push(session_diag(
            digits,
            Severity::Warning,
            format!(
                "holds {} HTTP exchanges; the first one carries the session's metadata",
                exchanges.len()
            ),
        ));
    }
    let set = |ts: Option<Ts>| {
        ts.map(|ts| Arrival {
            frame: FrameNo(0),
            ts,
        })
    };
    for (k, ex) in exchanges.iter_mut().enumerate() {
        ex.timing = Timing::default();
        if k != 0 {
            continue;
        }
        let has_response = ex.response.is_some();
        ex.timing = Timing::new(
            set(meta.timer("ClientBeginRequest")),
            set(meta.timer("ClientDoneRequest")),
            if has_response {
                set(meta
                    .timer("ServerBeginResponse")
                    .or(meta.timer("GotResponseHeaders")))
            } else {
                None
            },
            if has_response {
                set(meta
                    .timer("ClientDoneResponse")
                    .or(meta.timer("ServerDoneResponse")))
            } else {
                None
            },
        );
        let mut flags = meta.flags.clone();
        if let Some(sid) = &meta.sid {
            flags.push((format!("{PSEUDO}SID"), sid.clone()));
        }
        if let Some(b) = &meta.bitflags_text {
            flags.push((format!("{PSEUDO}BitFlags"), b.clone()));
        }
        if meta.aborted {
            flags.push((format!("{PSEUDO}Aborted"), "true".into()));
        }
        for (n, v) in &meta.ms_timers {
            flags.push((format!("{PSEUDO}{n}"), v.clone()));
        }
        for (n, v) in &meta.pipe_info {
            flags.push((format!("{PSEUDO}PipeInfo.{n}"), v.clone()));
        }
        let generated = bits & FLAG_RESPONSE_GENERATED != 0
            || ex.response.as_deref().is_some_and(looks_generated);
        // An HTTP/2 exchange lyncscope wrote as HTTP/1.1 (report/export/saz.rs) is HTTP/2 again.
        if let Some(v) = meta.flag(HTTP_VERSION_FLAG) {
            ex.http_version = crate::model::HttpVersion::from_text(v);
            if let Some(id) = meta
                .flag(H2_STREAM_FLAG)
                .and_then(|s| s.trim().parse().ok())
            {
                ex.stream = Some(Box::new(crate::model::StreamInfo {
                    id,
                    ..Default::default()
                }));
            }
        }
        ex.annotations = Some(Box::new(Annotations {
            origin: format!("SAZ session {digits}").into(),
            comment: meta.flag("ui-comments").map(Box::from),
            color: meta.flag("ui-color").map(Box::from),
            flags: Flags::from_pairs(flags.iter().map(|(n, v)| (n.as_str(), v.as_str()))),
            timers: meta
                .timers
                .iter()
                .map(|(n, ts)| (timer_name(n), *ts))
                .collect(),
            generated_by_proxy: generated,
            websocket: Box::default(),
        }));
    }
    if let Some(ws) = ws {
        // The messages belong to the 101 (or, failing that, the session's first exchange).
        let idx = exchanges
            .iter()
            .position(|e| e.response.as_ref().is_some_and(|r| r.status == 101))
            .unwrap_or(0);
        match exchanges.get_mut(idx) {
            Some(ex) => {
                ex.annotations
                    .get_or_insert_with(Default::default)
                    .websocket = ws.into()
            }
            None => diagnostics.push(session_diag(
                digits,
                Severity::Warning,
                "WebSocket messages without an HTTP exchange: dropped",
            )),
        }
    }
    if !exchanges.is_empty() {
        for (sev, msg) in failure_notes(&meta) {
            let mut d = session_diag(digits, sev, msg);
            d.exchange = Some(ExchId(0));
            diagnostics.push(d);
        }
    }
    let mut tls_flags: Vec<(String, String)> = meta
        .flags
        .iter()
        .filter(|(n, _)| n.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("https-")))
        .cloned()
        .collect();
    if is_connect {
        // A tunnel Fiddler did not decrypt: its texts of the hellos (the flags win).
        let body = |m: &[u8]| {
            let at = m.windows(4).position(|w| w == b"\r\n\r\n");
            at.map_or(&[][..], |i| &m[i + 4..]).to_vec()
        };
        for (n, v) in super::saz_hello::hello_facts(&body(c), &body(s)) {
            if !tls_flags.iter().any(|(k, _)| k.eq_ignore_ascii_case(&n)) {
                tls_flags.push((n, v));
            }
        }
    }
    Parsed {
        digits: digits.to_string(),
        exchanges,
        diagnostics,
        client,
        server_ip,
        server_port,
        is_connect,
        bytes: [c.len() as u64, s.len() as u64],
        tls_flags,
        tunnel: None,
    }
}

fn tls_version_name(v: &str) -> String {
    match v.trim().to_ascii_lowercase().as_str() {
        "ssl3" => "SSL 3.0".into(),
        "tls" | "tls10" => "TLS 1.0".into(),
        "tls11" => "TLS 1.1".into(),
        "tls12" => "TLS 1.2".into(),
        "tls13" => "TLS 1.3".into(),
        _ => v.trim().to_string(),
    }
}

/// [`read_saz`] of an archive already open (in memory, say); `Err` is the fatal message.
pub fn read_saz_from<R: Read + Seek>(
    reader: R,
    password: Option<&str>,
    http: &dyn MessageParser,
) -> std::result::Result<Imported, String> {
    let archive = zip::ZipArchive::new(reader)
        .map_err(|e| format!("not a readable zip (SAZ) archive: {e}"))?;
    let mut diagnostics = Vec::new();
    let mut sessions: BTreeMap<(usize, String, String), SessionFiles> = BTreeMap::new();
    let mut first_encrypted = None;
    for i in 0..archive.len() {
        let name = match archive.name_for_index(i) {
            Some(Ok(n)) => n.into_owned(),
            Some(Err(e)) => {
                diagnostics.push(Diagnostic::new(
                    Severity::Warning,
                    format!("SAZ entry {i} has an unreadable name ({e}): ignored"),
                ));
                continue;
            }
            None => continue,
        };
        if is_unsafe_name(&name) {
            diagnostics.push(Diagnostic::new(
                Severity::Warning,
                format!("SAZ entry {name:?} has an unsafe path (absolute or with ..): ignored"),
            ));
            continue;
        }
        let Some((digits, kind)) = session_entry(&name) else {
            let lower = name.to_ascii_lowercase();
            if lower.starts_with("raw/") && lower.len() > 4 && !lower.ends_with('/') {
                diagnostics.push(Diagnostic::new(
                    Severity::Info,
                    format!("SAZ entry {name:?} is not a session file: ignored"),
                ));
            }
            continue;
        };
        if first_encrypted.is_none() && archive.by_index_data(i).is_ok_and(|e| e.encrypted()) {
            first_encrypted = Some(i);
        }
        let files = sessions.entry(numeric_key(digits)).or_default();
        let slot = match kind {
            "_c.txt" => &mut files.c,
            "_s.txt" => &mut files.s,
            "_m.xml" => &mut files.m,
            "_w.txt" => &mut files.w,
            _ => {
                diagnostics.push(Diagnostic::new(
                    Severity::Info,
                    format!("SAZ entry {name:?}: gRPC messages are not read"),
                ));
                continue;
            }
        };
        if slot.is_some() {
            diagnostics.push(Diagnostic::new(
                Severity::Warning,
                format!("SAZ entry {name:?} appears twice: the first one is used"),
            ));
        } else {
            *slot = Some(i);
        }
    }
    let mut src = ZipSource {
        archive,
        password: password.map(|p| p.as_bytes().to_vec()),
        budget: ARCHIVE_MAX,
    };
    if let Some(i) = first_encrypted {
        if password.is_none() {
            return Err("the archive is password-protected: give its password".into());
        }
        // ZipCrypto's check byte lets ~1/256 wrong passwords through; reading the entry to
        // its CRC settles it.
        src.read(i)
            .map_err(|e| format!("wrong password (the archive's entries do not decrypt: {e})"))?;
    }

    let mut parsed = Vec::with_capacity(sessions.len());
    for ((_, _, digits), files) in sessions {
        let mut diags = Vec::new();
        let mut read =
            |idx: Option<usize>, what: &str, diags: &mut Vec<Diagnostic>| -> Option<Vec<u8>> {
                let idx = idx?;
                match src.read(idx) {
                    Ok(b) => Some(b),
                    Err(e) => {
                        diags.push(session_diag(
                            &digits,
                            Severity::Warning,
                            format!("{what} {e}"),
                        ));
                        None
                    }
                }
            };
        let Some(c_idx) = files.c else {
            diagnostics.push(session_diag(
                &digits,
                Severity::Warning,
                "has no request file (_c.txt): skipped",
            ));
            continue;
        };
        let Some(c) = read(Some(c_idx), "request file (_c.txt)", &mut diags) else {
            diagnostics.extend(diags);
            continue;
        };
        let s = read(files.s, "response file (_s.txt)", &mut diags).unwrap_or_default();
        let meta = read(files.m, "metadata (_m.xml)", &mut diags).and_then(|m| match parse_meta(&m) {
            Ok(meta) => Some(meta),
            Err(e) => {
                diags.push(session_diag(
                    &digits,
                    Severity::Warning,
                    format!("metadata (_m.xml) is not well-formed XML ({e}): loaded without timers and flags"),
                ));
                None
            }
        });
        let ws = read(files.w, "WebSocket file (_w.txt)", &mut diags).map(|w| {
            let mut notes = Vec::new();
            let msgs = parse_ws_file(&w, &mut notes);
            for n in notes {
                diags.push(session_diag(&digits, Severity::Warning, n));
            }
            msgs
        });
        parsed.push(parse_session(&digits, &c, &s, meta, ws, http, diags));
    }
    Ok(assemble(parsed, diagnostics))
}

/// Numbers exchanges, groups them into connections and links tunnels.
fn assemble(mut parsed: Vec<Parsed>, mut diagnostics: Vec<Diagnostic>) -> Imported {
    // Tunnel links: the latest earlier CONNECT from the same client endpoint.
    let mut last_connect: HashMap<SocketAddr, String> = HashMap::new();
    for p in &mut parsed {
        let Some(client) = p.client else { continue };
        if p.is_connect {
            last_connect.insert(client, p.digits.clone());
            continue;
        }
        p.tunnel = last_connect.get(&client).cloned();
    }
    let unspecified = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let mut conn_index: HashMap<(SocketAddr, SocketAddr), usize> = HashMap::new();
    let mut connections: Vec<Connection> = Vec::new();
    let mut conn_tls: Vec<Vec<(String, String)>> = Vec::new();
    let mut exchanges = Vec::new();
    // The first exchange of each CONNECT session, for the tunnel links.
    let mut connect_ids: HashMap<String, ExchId> = HashMap::new();
    for p in parsed {
        let tunnel = p
            .tunnel
            .as_ref()
            .and_then(|t| connect_ids.get(t))
            .and_then(|&x| TunnelLink::new(x));
        if p.is_connect {
            connect_ids.insert(p.digits.clone(), ExchId(exchanges.len() as u32));
        }
        let base = exchanges.len() as u32;
        for mut d in p.diagnostics {
            d.exchange = d.exchange.map(|ExchId(k)| ExchId(base + k));
            diagnostics.push(d);
        }
        if p.exchanges.is_empty() {
            continue;
        }
        let client = p.client.unwrap_or(SocketAddr::new(unspecified, 0));
        let server = SocketAddr::new(p.server_ip.unwrap_or(unspecified), p.server_port);
        let ci = *conn_index.entry((client, server)).or_insert_with(|| {
            let id = connections.len();
            connections.push(Connection::from_endpoints(ConnId(id as u32), client, server));
            conn_tls.push(Vec::new());
            let mut missing = Vec::new();
            if p.client.is_none() {
                missing.push("client address (x-clientip/x-clientport)");
            }
            if p.server_ip.is_none() {
                missing.push("server address (x-hostip)");
            }
            if !missing.is_empty() {
                let mut d = Diagnostic::new(
                    Severity::Info,
                    format!(
                        "SAZ: the archive does not record the {}: connection {client} -> {server} uses 0.0.0.0 as a placeholder",
                        missing.join(" or the ")
                    ),
                );
                d.connection = Some(ConnId(id as u32));
                diagnostics.push(d);
            }
            id
        });
        let conn = &mut connections[ci];
        conn.payload_bytes[0] += p.bytes[0];
        conn.payload_bytes[1] += p.bytes[1];
        conn.bytes += p.bytes[0] + p.bytes[1];
        conn_tls[ci].extend(p.tls_flags);
        for mut ex in p.exchanges {
            let id = ExchId(exchanges.len() as u32);
            ex.id = id;
            ex.connection = ConnId(ci as u32);
            ex.tunnel = tunnel;
            for a in [
                ex.timing.request_start(),
                ex.timing.request_end(),
                ex.timing.response_start(),
                ex.timing.response_end(),
            ]
            .into_iter()
            .flatten()
            {
                conn.first_seen = conn.first_seen.min(a.ts);
                conn.last_seen = conn.last_seen.max(a.ts);
            }
            conn.exchanges.push(id);
            exchanges.push(ex);
        }
    }
    for (conn, flags) in connections.iter_mut().zip(conn_tls) {
        if conn.first_seen.0 == i64::MAX {
            conn.first_seen = Ts(0);
            conn.last_seen = Ts(0);
        }
        let decrypted = conn
            .exchanges
            .iter()
            .any(|id| exchanges[id.0 as usize].scheme == Scheme::Https);
        if flags.is_empty() && !decrypted {
            continue;
        }
        let get = |name: &str| {
            flags
                .iter()
                .find(|(n, v)| n.eq_ignore_ascii_case(name) && !v.trim().is_empty())
                .map(|(_, v)| v.trim().to_string())
        };
        conn.tls = Some(TlsInfo {
            version: get("https-server-version")
                .or_else(|| get("https-client-version"))
                .map(|v| tls_version_name(&v)),
            cipher_suite: get("https-server-cipher"),
            sni: get("https-client-snihostname"),
            alpn: get("hello-alpn"),
            reason: (!decrypted && get("hello-server").is_some())
                .then(|| "not decrypted by Fiddler: a blind CONNECT tunnel (the hellos are from Fiddler's text of them)".to_string()),
            decrypted,
            key_source: decrypted.then(|| "decrypted by Fiddler (SAZ)".to_string()),
            ..TlsInfo::default()
        });
    }
    Imported {
        exchanges,
        connections,
        diagnostics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitflags_are_hex_and_failures_are_diagnosed() {
        let m = parse_meta(
            "\u{feff}<Session SID=\"7\" BitFlags=\"100\" Aborted=\"true\"><SessionFlags><SessionFlag N=\"x-aborted-when\" V=\"SendingResponse\" /></SessionFlags></Session>"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(m.bitflags, Some(0x100));
        let notes = failure_notes(&m);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].1.contains("SendingResponse"));
    }
}
