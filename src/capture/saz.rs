//! Fiddler Session Archive Zip (SAZ): read into the model, write back in Fiddler Classic's
//! layout.
//!
//! A SAZ is a plain zip. Each session is `raw/<digits>_c.txt` (request as sent), `_s.txt`
//! (response), optional `_m.xml` (timers and flags) and `_w.txt` (WebSocket messages); the
//! digit string is the key, never recomputed from a counter. The HTTP texts go through the
//! same [`HttpConnection`] as captures, so framing, de-chunking, decoding and hashing agree.
//! Entries are only ever read into memory (never extracted), one session at a time, each
//! capped in size.

use super::datetime::{civil_from_days, parse_iso8601};
use crate::error::{Error, Result};
use crate::http::{HttpConnection, HttpOptions};
use crate::model::{
    Analysis, Annotations, Arrival, ConnId, Connection, Diagnostic, Dir, ExchId, Exchange, FrameNo,
    Headers, Response, Scheme, Severity, StreamEnd, Timing, TlsInfo, Ts, WebSocketMessage,
};
use crate::net::stream::{ConnFacts, StreamSink};
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Seek, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

/// Largest uncompressed entry read; larger ones (or zip bombs) are skipped with a diagnostic.
const ENTRY_MAX: u64 = 64 << 20;
/// Uncompressed bytes read from one archive in total: bounds time spent on a hostile file.
const ARCHIVE_MAX: u64 = 4 << 30;
/// Largest inflated permessage-deflate WebSocket payload.
const WS_INFLATE_MAX: u64 = 16 << 20;

/// SessionFlags bits (Fiddler's `SessionFlags` enum, written in hexadecimal).
const FLAG_IS_HTTPS: u64 = 0x1;
const FLAG_RESPONSE_GENERATED: u64 = 0x100;
const FLAG_RESPONSE_BODY_DROPPED: u64 = 0x20000;
const FLAG_IS_WEBSOCKET: u64 = 0x40000;
const FLAG_REQUEST_BODY_DROPPED: u64 = 0x100000;

/// Prefix of pseudo-flags that carry `_m.xml` attributes other than SessionFlags
/// (`saz:SID`, `saz:BitFlags`, `saz:Aborted`, `saz:DNSTime` …) so they survive a re-save.
const PSEUDO: &str = "saz:";
/// Flag naming the CONNECT session whose tunnel carried this one.
const TUNNEL_FLAG: &str = "lyncscope-tunnel";

/// SessionTimers attributes in the order Fiddler writes them; the `*Time` ones are
/// milliseconds, the others instants.
const TIMER_NAMES: [&str; 16] = [
    "ClientConnected",
    "ClientBeginRequest",
    "GotRequestHeaders",
    "ClientDoneRequest",
    "GatewayTime",
    "DNSTime",
    "TCPConnectTime",
    "HTTPSHandshakeTime",
    "ServerConnected",
    "FiddlerBeginRequest",
    "ServerGotRequest",
    "ServerBeginResponse",
    "GotResponseHeaders",
    "ServerDoneResponse",
    "ClientBeginResponse",
    "ClientDoneResponse",
];
const MS_TIMERS: [&str; 4] = [
    "GatewayTime",
    "DNSTime",
    "TCPConnectTime",
    "HTTPSHandshakeTime",
];
/// `DateTime.MinValue`: the timer was never set.
const UNSET_TIME: &str = "0001-01-01T00:00:00";

const CONTENT_TYPES: &str = "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\r\n<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\r\n<Default Extension=\"htm\" ContentType=\"text/html\" />\r\n<Default Extension=\"xml\" ContentType=\"application/xml\" />\r\n<Default Extension=\"txt\" ContentType=\"text/plain\" />\r\n</Types>";

/// What an archive holds, in the model's terms. Ids are local: exchanges[i].id == ExchId(i),
/// exchanges[i].connection indexes `connections`, diagnostics point at local ids.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Imported {
    pub exchanges: Vec<Exchange>,
    pub connections: Vec<Connection>,
    pub diagnostics: Vec<Diagnostic>,
}

/// A zip's first bytes: local-file header, or the end record of an empty archive.
pub fn is_saz(first_bytes: &[u8]) -> bool {
    first_bytes.starts_with(b"PK\x03\x04") || first_bytes.starts_with(b"PK\x05\x06")
}

/// Reads a SAZ. `password` for protected archives (ZipCrypto, AES-128/256): missing or wrong
/// -> Err with a clear message. Bodies are kept (Body.kept / wire_kept) up to
/// `http.keep_body_max` bytes each.
pub fn read_saz(path: &Path, password: Option<&str>, http: &HttpOptions) -> Result<Imported> {
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
                        match parse_ts(&v) {
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

/// ISO-8601 / XML dateTime as Fiddler writes it: `YYYY-MM-DDThh:mm:ss[.f{0,9}][Z|±hh:mm]`
/// (no offset: taken as UTC). `None` for `0001-01-01T00:00:00` (unset) and for bad text.
fn parse_ts(text: &str) -> Option<Ts> {
    let t = text.trim();
    if t == UNSET_TIME {
        return None;
    }
    parse_iso8601(t)
}

/// `Ts` as Fiddler's round-trip format, in UTC with 7 fraction digits.
fn format_ts(ts: Ts) -> String {
    let secs = ts.0.div_euclid(1_000_000_000);
    let nanos = ts.0.rem_euclid(1_000_000_000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:07}+00:00",
        sod / 3600,
        sod / 60 % 60,
        sod % 60,
        nanos / 100
    )
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

fn ws_kind(opcode: u8) -> String {
    match opcode {
        0 => "continuation".into(),
        1 => "text".into(),
        2 => "binary".into(),
        8 => "close".into(),
        9 => "ping".into(),
        10 => "pong".into(),
        n => format!("opcode {n}"),
    }
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
                    "doneread" => ts = ts.or(parse_ts(value)),
                    "beginsend" => ts = ts.or(parse_ts(value)),
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
            kind: ws_kind(opcode),
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
        wire_sha256: Some(hash),
        decoded_length: plain.then_some(raw.len() as u64),
        decoded_sha256: plain.then_some(hash),
        complete: true,
        stream_offset: head_end as u64,
        stream_length: raw.len() as u64,
        kept: if plain { kept.clone() } else { None },
        wire_kept: kept,
        head: None,
        content_encoding: std::mem::take(&mut body.content_encoding),
    };
    true
}

fn parse_session(
    digits: &str,
    c: &[u8],
    s: &[u8],
    meta: Option<Meta>,
    ws: Option<Vec<WebSocketMessage>>,
    http: &HttpOptions,
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
    let facts = ConnFacts {
        client: client.unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)),
        server: SocketAddr::new(server_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)), 0),
        handshake: true,
        first_frame: FrameNo(0),
    };
    let mut conn = HttpConnection::new(facts, scheme, http.clone());
    let at = Arrival::default();
    if !c.is_empty() {
        conn.on_data(Dir::ClientToServer, 0, c, at);
    }
    if !s.is_empty() {
        conn.on_data(Dir::ServerToClient, 0, s, at);
    }
    conn.on_end(Dir::ClientToServer, c.len() as u64, StreamEnd::Fin, at);
    conn.on_end(Dir::ServerToClient, s.len() as u64, StreamEnd::Fin, at);
    let mut out = conn.finish();
    // Fiddler's rule: the body is every byte after the first CRLFCRLF, whatever the headers
    // say (hand-made archives send GET bodies without a length, or "chunked" bodies that are
    // not). When the framing did not account for exactly those bytes, take them as they are.
    let mut raw_taken = false;
    if out.exchanges.len() == 1 {
        let keep = http.keep_body_max;
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
        ex.timing = Timing {
            request_start: set(meta.timer("ClientBeginRequest")),
            request_end: set(meta.timer("ClientDoneRequest")),
            response_start: if has_response {
                set(meta
                    .timer("ServerBeginResponse")
                    .or(meta.timer("GotResponseHeaders")))
            } else {
                None
            },
            response_end: if has_response {
                set(meta
                    .timer("ClientDoneResponse")
                    .or(meta.timer("ServerDoneResponse")))
            } else {
                None
            },
        };
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
            || ex.response.as_ref().is_some_and(looks_generated);
        ex.annotations = Some(Box::new(Annotations {
            origin: format!("SAZ session {digits}"),
            comment: meta.flag("ui-comments").map(str::to_string),
            color: meta.flag("ui-color").map(str::to_string),
            flags,
            timers: meta.timers.clone(),
            generated_by_proxy: generated,
            websocket: Vec::new(),
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
                    .websocket = ws
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
    let tls_flags = meta
        .flags
        .iter()
        .filter(|(n, _)| n.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("https-")))
        .cloned()
        .collect();
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

fn read_saz_from<R: Read + Seek>(
    reader: R,
    password: Option<&str>,
    http: &HttpOptions,
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
        if let Some(tunnel) = last_connect.get(&client) {
            if let Some(a) = p.exchanges.first_mut().and_then(|e| e.annotations.as_mut()) {
                if !a.flags.iter().any(|(n, _)| n == TUNNEL_FLAG) {
                    a.flags.push((TUNNEL_FLAG.to_string(), tunnel.clone()));
                }
            }
        }
    }
    let unspecified = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let mut conn_index: HashMap<(SocketAddr, SocketAddr), usize> = HashMap::new();
    let mut connections: Vec<Connection> = Vec::new();
    let mut conn_tls: Vec<Vec<(String, String)>> = Vec::new();
    let mut exchanges = Vec::new();
    for p in parsed {
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
            for a in [
                ex.timing.request_start,
                ex.timing.request_end,
                ex.timing.response_start,
                ex.timing.response_end,
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

// ---- writing ------------------------------------------------------------------------------

fn xml_attr(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for ch in v.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#xD;"),
            '\n' => out.push_str("&#xA;"),
            '\t' => out.push_str("&#x9;"),
            // Not allowed in XML 1.0 at all.
            c if (c as u32) < 0x20 => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn html_text(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Head + wire body of one message. A chunked body is written de-chunked with a
/// Content-Length, since only the de-chunked bytes are kept.
fn message_bytes(
    start: &str,
    headers: &Headers,
    body: &crate::model::Body,
    what: &str,
    notes: &mut Vec<String>,
) -> Vec<u8> {
    let chunked = headers
        .get_all("transfer-encoding")
        .any(|v| v.to_ascii_lowercase().contains("chunked"));
    let empty: &[u8] = &[];
    let bytes: Option<&[u8]> = match &body.wire_kept {
        Some(w) => Some(w),
        None if body.wire_length == 0 && body.complete => Some(empty),
        None => None,
    };
    let mut out = Vec::with_capacity(256 + bytes.map_or(0, <[u8]>::len));
    out.extend_from_slice(start.as_bytes());
    out.extend_from_slice(b"\r\n");
    let rewrite = chunked && bytes.is_some();
    for (n, v) in headers.iter() {
        if rewrite
            && (n.eq_ignore_ascii_case("transfer-encoding")
                || n.eq_ignore_ascii_case("content-length"))
        {
            continue;
        }
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let (true, Some(b)) = (rewrite, bytes) {
        out.extend_from_slice(format!("Content-Length: {}\r\n", b.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    match bytes {
        Some(b) => out.extend_from_slice(b),
        None => notes.push(format!(
            "lyncscope: the {what} body ({} bytes) was not kept, only the head is saved",
            body.wire_length
        )),
    }
    out
}

fn interim_reason(code: u16) -> &'static str {
    match code {
        100 => "Continue",
        102 => "Processing",
        103 => "Early Hints",
        _ => "Informational",
    }
}

fn ws_frame(m: &WebSocketMessage) -> Vec<u8> {
    let opcode: u8 = match m.kind.as_str() {
        "continuation" => 0,
        "text" => 1,
        "binary" => 2,
        "close" => 8,
        "ping" => 9,
        "pong" => 10,
        other => other
            .strip_prefix("opcode ")
            .and_then(|n| n.parse().ok())
            .unwrap_or(2),
    };
    let mask = if m.from_client { 0x80 } else { 0 };
    let len = m.payload.len();
    let mut f = vec![0x80 | (opcode & 0x0f)];
    if len < 126 {
        f.push(mask | len as u8);
    } else if let Ok(l) = u16::try_from(len) {
        f.push(mask | 126);
        f.extend_from_slice(&l.to_be_bytes());
    } else {
        f.push(mask | 127);
        f.extend_from_slice(&(len as u64).to_be_bytes());
    }
    if m.from_client {
        // Clients must mask; an all-zero key leaves the payload readable as is.
        f.extend_from_slice(&[0, 0, 0, 0]);
    }
    f.extend_from_slice(&m.payload);
    f
}

fn ws_file(msgs: &[WebSocketMessage]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, m) in msgs.iter().enumerate() {
        let frame = ws_frame(m);
        let ts = m.ts.map_or_else(|| UNSET_TIME.to_string(), format_ts);
        let dir = if m.from_client { "Request" } else { "Response" };
        out.extend_from_slice(
            format!(
                "\r\n{dir}-Length: {}\r\nID: {}\r\nBitFlags: 0\r\nDoneRead: {ts}\r\nBeginSend: {ts}\r\nDoneSend: {ts}\r\n\r\n",
                frame.len(),
                k + 1
            )
            .as_bytes(),
        );
        out.extend_from_slice(&frame);
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn meta_xml(ex: &Exchange, conn: Option<&Connection>, number: usize, notes: &[String]) -> String {
    let default_ann = Annotations::default();
    let ann = ex.annotations.as_deref().unwrap_or(&default_ann);
    let pseudo = |name: &str| {
        ann.flags
            .iter()
            .find(|(n, _)| n.strip_prefix(PSEUDO) == Some(name))
            .map(|(_, v)| v.as_str())
    };
    let sid = pseudo("SID").map_or_else(|| number.to_string(), str::to_string);
    let mut bits = pseudo("BitFlags")
        .and_then(|b| u64::from_str_radix(b.trim(), 16).ok())
        .unwrap_or(0);
    if ex.scheme == Scheme::Https {
        bits |= FLAG_IS_HTTPS;
    }
    if ann.generated_by_proxy {
        bits |= FLAG_RESPONSE_GENERATED;
    }
    if !ann.websocket.is_empty() {
        bits |= FLAG_IS_WEBSOCKET;
    }
    let mut x = String::from("\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n");
    x.push_str(&format!(
        "<Session SID=\"{}\" BitFlags=\"{bits:x}\"",
        xml_attr(&sid)
    ));
    if pseudo("Aborted") == Some("true") {
        x.push_str(" Aborted=\"true\"");
    }
    x.push_str(">\r\n  <SessionTimers");
    let t = &ex.timing;
    for name in TIMER_NAMES {
        let value = if MS_TIMERS.contains(&name) {
            pseudo(name).unwrap_or("0").to_string()
        } else {
            let from_timing = match name {
                "ClientBeginRequest" => t.request_start,
                "ClientDoneRequest" => t.request_end,
                "ServerBeginResponse" => t.response_start,
                "ClientDoneResponse" => t.response_end,
                _ => None,
            };
            from_timing
                .map(|a| a.ts)
                .or_else(|| {
                    ann.timers
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|&(_, ts)| ts)
                })
                .map_or_else(|| UNSET_TIME.to_string(), format_ts)
        };
        x.push_str(&format!(" {name}=\"{}\"", xml_attr(&value)));
    }
    x.push_str(" />\r\n  <PipeInfo");
    for (n, v) in &ann.flags {
        if let Some(attr) = n
            .strip_prefix(PSEUDO)
            .and_then(|n| n.strip_prefix("PipeInfo."))
        {
            x.push_str(&format!(" {attr}=\"{}\"", xml_attr(v)));
        }
    }
    x.push_str(" />\r\n  <SessionFlags>\r\n");
    let mut flags: Vec<(String, String)> = ann
        .flags
        .iter()
        .filter(|(n, _)| {
            !n.starts_with(PSEUDO)
                && !n.eq_ignore_ascii_case("ui-comments")
                && !n.eq_ignore_ascii_case("ui-color")
        })
        .cloned()
        .collect();
    let has = |flags: &[(String, String)], name: &str| {
        flags.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    if let Some(c) = conn {
        if !c.client.ip().is_unspecified() && c.client.port() != 0 {
            if !has(&flags, "x-clientip") {
                flags.push(("x-clientip".into(), c.client.ip().to_string()));
            }
            if !has(&flags, "x-clientport") {
                flags.push(("x-clientport".into(), c.client.port().to_string()));
            }
        }
        if !c.server.ip().is_unspecified() && !has(&flags, "x-hostip") {
            flags.push(("x-hostip".into(), c.server.ip().to_string()));
        }
    }
    let mut comment: Vec<String> = ann.comment.iter().cloned().collect();
    comment.extend(notes.iter().cloned());
    if !comment.is_empty() {
        flags.push(("ui-comments".into(), comment.join("; ")));
    }
    if let Some(color) = &ann.color {
        flags.push(("ui-color".into(), color.clone()));
    }
    for (n, v) in flags {
        x.push_str(&format!(
            "    <SessionFlag N=\"{}\" V=\"{}\" />\r\n",
            xml_attr(&n),
            xml_attr(&v)
        ));
    }
    x.push_str("  </SessionFlags>\r\n</Session>");
    x
}

/// Writes a Fiddler Classic-compatible SAZ of the given exchanges (all of them when `only`
/// is None): `raw/NN_c.txt`, `_s.txt`, `_m.xml` (and `_w.txt` for WebSocket messages),
/// `[Content_Types].xml` and `_index.htm`, NN padded to the digit count of the session count.
pub fn write_saz<W: Write + Seek>(
    analysis: &Analysis,
    only: Option<&[ExchId]>,
    out: W,
) -> io::Result<()> {
    use zip::write::SimpleFileOptions;
    let ids: Vec<usize> = match only {
        Some(list) => list
            .iter()
            .map(|id| id.0 as usize)
            .filter(|&i| i < analysis.exchanges.len())
            .collect(),
        None => (0..analysis.exchanges.len()).collect(),
    };
    let width = ids.len().to_string().len();
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(false);
    let mut zip = zip::ZipWriter::new(out);
    zip.set_comment(format!(
        "lyncscope (v{}) Session Archive in Fiddler SAZ format",
        env!("CARGO_PKG_VERSION")
    ))?;
    zip.add_directory("raw/", opts)?;
    let mut index = String::from(
        "\u{feff}<html><head><style>body,thead,td,a,p{font-family:verdana,sans-serif;font-size: 10px;}</style></head><body><table cols=7><thead><tr><th>&nbsp;</th><th>#</th><th>Result</th><th>Protocol</th><th>Host</th><th>URL</th><th>Body</th><th>Comments</th></tr></thead><tbody>",
    );
    for (n, &i) in ids.iter().enumerate() {
        let ex = &analysis.exchanges[i];
        let conn = analysis.connections.get(ex.connection.0 as usize);
        let key = format!("{:0width$}", n + 1);
        let mut notes = Vec::new();
        let c = match &ex.request {
            Some(r) => message_bytes(
                &format!("{} {} {}", r.method, r.target, r.version),
                &r.headers,
                &r.body,
                "request",
                &mut notes,
            ),
            None => {
                notes.push("lyncscope: the request was not captured".to_string());
                Vec::new()
            }
        };
        let s = match &ex.response {
            Some(r) => {
                let mut s = Vec::new();
                for &code in &r.interim_statuses {
                    s.extend_from_slice(
                        format!("{} {code} {}\r\n\r\n", r.version, interim_reason(code)).as_bytes(),
                    );
                }
                s.extend(message_bytes(
                    &format!("{} {} {}", r.version, r.status, r.reason),
                    &r.headers,
                    &r.body,
                    "response",
                    &mut notes,
                ));
                s
            }
            None => Vec::new(),
        };
        zip.start_file(format!("raw/{key}_c.txt"), opts)?;
        zip.write_all(&c)?;
        zip.start_file(format!("raw/{key}_s.txt"), opts)?;
        zip.write_all(&s)?;
        zip.start_file(format!("raw/{key}_m.xml"), opts)?;
        zip.write_all(meta_xml(ex, conn, n + 1, &notes).as_bytes())?;
        let ws = ex
            .annotations
            .as_deref()
            .map(|a| a.websocket.as_slice())
            .unwrap_or(&[]);
        if !ws.is_empty() {
            zip.start_file(format!("raw/{key}_w.txt"), opts)?;
            zip.write_all(&ws_file(ws))?;
        }
        let (host, url) = ex
            .request
            .as_ref()
            .map_or((String::new(), String::new()), |r| {
                (r.host().unwrap_or("").to_string(), r.target.clone())
            });
        let result = ex
            .response
            .as_ref()
            .map_or(String::from("-"), |r| r.status.to_string());
        let body = ex.response.as_ref().map_or(0, |r| r.body.wire_length);
        let comment = ex
            .annotations
            .as_deref()
            .and_then(|a| a.comment.clone())
            .unwrap_or_default();
        index.push_str(&format!(
            "<tr><td><a href='raw\\{key}_c.txt'>C</a>&nbsp;<a href='raw\\{key}_s.txt'>S</a>&nbsp;<a href='raw\\{key}_m.xml'>M</a></td><td>{}</td><td>{result}</td><td>{}</td><td>{}</td><td>{}</td><td>{body}</td><td>{}</td></tr>",
            n + 1,
            ex.scheme.as_str().to_ascii_uppercase(),
            html_text(&host),
            html_text(&url),
            html_text(&comment)
        ));
    }
    index.push_str("</tbody></table></body></html>");
    zip.start_file("_index.htm", opts)?;
    zip.write_all(index.as_bytes())?;
    zip.start_file("[Content_Types].xml", opts)?;
    zip.write_all(CONTENT_TYPES.as_bytes())?;
    zip.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use std::path::PathBuf;

    fn corpus() -> Option<PathBuf> {
        let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
        if here.exists() {
            return Some(here);
        }
        let main = Path::new("/work/main/../shared/corpus");
        main.exists().then(|| main.to_path_buf())
    }

    fn opts() -> HttpOptions {
        HttpOptions {
            keep_body_max: 16 << 20,
            ..HttpOptions::default()
        }
    }

    fn load(name: &str, password: Option<&str>) -> Option<Imported> {
        let path = corpus()?.join("saz").join(name);
        Some(read_saz(&path, password, &opts()).unwrap_or_else(|e| panic!("{name}: {e}")))
    }

    fn sessions(imp: &Imported) -> usize {
        let mut origins: Vec<&str> = imp
            .exchanges
            .iter()
            .filter_map(|e| e.annotations.as_deref().map(|a| a.origin.as_str()))
            .collect();
        origins.sort_unstable();
        origins.dedup();
        origins.len()
    }

    /// (method, target, status) of each exchange, sorted: a multiset.
    fn triples(imp: &Imported) -> Vec<(String, String, Option<u64>)> {
        let mut v: Vec<_> = imp
            .exchanges
            .iter()
            .filter_map(|e| {
                let r = e.request.as_ref()?;
                Some((
                    r.method.clone(),
                    r.target.clone(),
                    e.response.as_ref().map(|r| u64::from(r.status)),
                ))
            })
            .collect();
        v.sort();
        v
    }

    fn reference(corpus: &Path, json: &str) -> (u64, Vec<(String, String, Option<u64>)>) {
        let text = std::fs::read_to_string(corpus.join("reference/saz").join(json)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut reqs: Vec<_> = v["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["method"].as_str().unwrap().to_string(),
                    r["uri"].as_str().unwrap().to_string(),
                    r["response"]["status"].as_u64(),
                )
            })
            .collect();
        reqs.sort();
        (v["sessions"].as_u64().unwrap(), reqs)
    }

    /// Session counts from corpus/saz/MANIFEST.md.
    const MANIFEST: [(&str, usize); 17] = [
        ("office-inspectors_NewCaseName_Coauth.saz", 220),
        ("office-inspectors_NewCaseName.saz", 56),
        ("httpbin-test.saz", 6),
        ("images.saz", 3),
        ("nekoxy2_websocket.saz", 2),
        ("nekoxy2_abehiroshi.saz", 5),
        ("real-saz2har_demo.saz", 1),
        ("saz2jmx_test.saz", 14),
        ("fluxzy_testarchive.saz", 71),
        ("companion_session.saz", 420),
        ("oinspector_oidc-authorization-code-request.saz", 1),
        ("oinspector_oidc-authorization-code-response-nc.saz", 1),
        ("oinspector_oidc-authorization-code-grant-nc.saz", 1),
        ("oinspector_oauth-jwt-webapi-request.saz", 1),
        ("node-saz-parser_multipleSessions.handmade.saz", 4),
        ("node-saz-parser_simple.handmade.saz", 1),
        ("saz-viewer_sample.handmade.saz", 4),
    ];

    #[test]
    fn corpus_matches_manifest_and_reference() {
        let Some(dir) = corpus() else { return };
        for (name, count) in MANIFEST {
            let imp = load(name, None).unwrap();
            assert_eq!(sessions(&imp), count, "{name}: session count");
            let (ref_sessions, ref_triples) = reference(&dir, &format!("{name}.json"));
            assert_eq!(
                ref_sessions as usize, count,
                "{name}: reference session count"
            );
            assert_eq!(triples(&imp), ref_triples, "{name}: (method, uri, status)");
            for (i, e) in imp.exchanges.iter().enumerate() {
                assert_eq!(e.id, ExchId(i as u32));
                assert!(imp.connections[e.connection.0 as usize]
                    .exchanges
                    .contains(&e.id));
            }
        }
    }

    #[test]
    fn password_archives() {
        let Some(dir) = corpus() else { return };
        let (_, want) = reference(&dir, "nekoxy2_websocket.saz.json");
        for kind in ["aes256", "aes128", "zipcrypto"] {
            let name = format!("synthetic/nekoxy2_websocket.{kind}.pw-fiddler.saz");
            let imp = load(&name, Some("fiddler")).unwrap();
            assert_eq!(sessions(&imp), 2, "{name}");
            assert_eq!(triples(&imp), want, "{name}");
            let path = dir.join("saz").join(&name);
            for pw in [None, Some("wrong"), Some("Fiddler")] {
                let err = read_saz(&path, pw, &opts()).expect_err(&name).to_string();
                assert!(err.contains("password"), "{name} {pw:?}: {err}");
            }
        }
    }

    fn xml_attr_text<'a>(xml: &'a str, name: &str) -> &'a str {
        let key = format!(" {name}=\"");
        let start = xml.find(&key).unwrap() + key.len();
        let len = xml[start..].find('"').unwrap();
        &xml[start..start + len]
    }

    #[test]
    fn timings_follow_session_timers() {
        let Some(dir) = corpus() else { return };
        let imp = load("httpbin-test.saz", None).unwrap();
        // The _m.xml of session 2, read by hand.
        let file = std::fs::File::open(dir.join("saz/httpbin-test.saz")).unwrap();
        let mut zip = zip::ZipArchive::new(file).unwrap();
        let mut xml = String::new();
        zip.by_name("raw/2_m.xml")
            .unwrap()
            .read_to_string(&mut xml)
            .unwrap();
        // Epoch nanoseconds of those texts (converted independently with Python).
        let facts = [
            (
                "ClientBeginRequest",
                "2025-08-30T11:34:28.6859373-07:00",
                1756578868685937300,
            ),
            (
                "ClientDoneRequest",
                "2025-08-30T11:34:28.686944-07:00",
                1756578868686944000,
            ),
            (
                "ServerBeginResponse",
                "2025-08-30T11:34:28.8119049-07:00",
                1756578868811904900,
            ),
            (
                "ClientDoneResponse",
                "2025-08-30T11:34:28.8119049-07:00",
                1756578868811904900,
            ),
        ];
        for (name, text, _) in facts {
            assert_eq!(xml_attr_text(&xml, name), text);
        }
        let ex = imp
            .exchanges
            .iter()
            .find(|e| e.annotations.as_ref().unwrap().origin == "SAZ session 2")
            .unwrap();
        let t = ex.timing;
        let got = [
            t.request_start,
            t.request_end,
            t.response_start,
            t.response_end,
        ];
        for ((_, _, nanos), a) in facts.iter().zip(got) {
            assert_eq!(a.map(|a| a.ts), Some(Ts(*nanos)));
            assert_eq!(a.unwrap().frame, FrameNo(0));
        }
        let ann = ex.annotations.as_deref().unwrap();
        assert_eq!(
            ann.timers.len(),
            12,
            "16 timers minus the 4 millisecond ones"
        );
        assert!(ann
            .flags
            .iter()
            .any(|(n, v)| n == "x-clientport" && v == "64971"));
        assert_eq!(ex.scheme, Scheme::Https);
        // /stream/5 is chunked: de-chunked bytes are kept.
        let body = &ex.response.as_ref().unwrap().body;
        assert!(body.complete && body.wire_kept.is_some());
        assert_eq!(
            imp.connections[ex.connection.0 as usize].client.to_string(),
            "127.0.0.1:64971"
        );
    }

    #[test]
    fn websocket_messages_and_connect() {
        let Some(imp) = load("nekoxy2_websocket.saz", None) else {
            return;
        };
        let connect = &imp.exchanges[0];
        assert_eq!(connect.request.as_ref().unwrap().method, "CONNECT");
        assert!(connect.annotations.as_ref().unwrap().generated_by_proxy);
        let ws = &imp.exchanges[1];
        assert_eq!(ws.response.as_ref().unwrap().status, 101);
        let ann = ws.annotations.as_deref().unwrap();
        assert!(!ann.generated_by_proxy);
        assert!(ann.flags.iter().any(|(n, v)| n == TUNNEL_FLAG && v == "1"));
        // raw/2_w.txt: three masked client text frames, echoes, close from both sides.
        let got: Vec<(bool, &str, &[u8])> = ann
            .websocket
            .iter()
            .map(|m| (m.from_client, m.kind.as_str(), &m.payload[..]))
            .collect();
        let want: Vec<(bool, &str, &[u8])> = vec![
            (true, "text", b"Rock it with HTML5 WebSocket"),
            (false, "text", b"Rock it with HTML5 WebSocket"),
            (true, "text", b"hogee"),
            (false, "text", b"hogee"),
            (true, "close", b""),
            (false, "close", b""),
        ];
        assert_eq!(got, want);
        // DoneRead of the first record: 2018-11-26T17:07:03.6899253+09:00.
        assert_eq!(ann.websocket[0].ts, Some(Ts(1543219623689925300)));
        assert_eq!(connect.connection, ws.connection);
    }

    fn roundtrip(name: &str) {
        let Some(imp) = load(name, None) else { return };
        let analysis = Analysis {
            exchanges: imp.exchanges.clone(),
            connections: imp.connections.clone(),
            ..Analysis::default()
        };
        let mut buf = Cursor::new(Vec::new());
        write_saz(&analysis, None, &mut buf).unwrap();
        let back = read_saz_from(Cursor::new(buf.into_inner()), None, &opts()).unwrap();
        assert_eq!(back.exchanges.len(), imp.exchanges.len(), "{name}");
        for (a, b) in imp.exchanges.iter().zip(&back.exchanges) {
            let (ra, rb) = (a.request.as_ref().unwrap(), b.request.as_ref().unwrap());
            assert_eq!(
                (&ra.method, &ra.target, &ra.headers),
                (&rb.method, &rb.target, &rb.headers)
            );
            assert_eq!(
                ra.body.wire_sha256, rb.body.wire_sha256,
                "{name} {}",
                ra.target
            );
            assert_eq!(ra.body.decoded_sha256, rb.body.decoded_sha256);
            match (&a.response, &b.response) {
                (Some(x), Some(y)) => {
                    assert_eq!(x.status, y.status);
                    assert_eq!(x.reason, y.reason);
                    let chunked = x.headers.get("transfer-encoding").is_some();
                    if !chunked {
                        assert_eq!(x.headers, y.headers, "{name} {}", ra.target);
                    }
                    assert_eq!(
                        x.body.wire_sha256, y.body.wire_sha256,
                        "{name} {}",
                        ra.target
                    );
                    assert_eq!(x.body.decoded_sha256, y.body.decoded_sha256);
                }
                (None, None) => {}
                _ => panic!("{name}: response presence differs"),
            }
            let us = |t: Option<Arrival>| t.map(|a| a.ts.0 / 1000);
            for (x, y) in [
                (a.timing.request_start, b.timing.request_start),
                (a.timing.request_end, b.timing.request_end),
                (a.timing.response_start, b.timing.response_start),
                (a.timing.response_end, b.timing.response_end),
            ] {
                assert_eq!(us(x), us(y), "{name}");
            }
            let (aa, ab) = (
                a.annotations.as_deref().unwrap(),
                b.annotations.as_deref().unwrap(),
            );
            assert_eq!(aa.websocket, ab.websocket);
            assert_eq!(aa.generated_by_proxy, ab.generated_by_proxy);
            assert_eq!(a.scheme, b.scheme);
        }
        assert_eq!(back.connections.len(), imp.connections.len());
    }

    #[test]
    fn roundtrip_httpbin() {
        roundtrip("httpbin-test.saz");
    }

    #[test]
    fn roundtrip_images() {
        roundtrip("images.saz");
    }

    #[test]
    fn roundtrip_websocket() {
        roundtrip("nekoxy2_websocket.saz");
    }

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let o = zip::write::SimpleFileOptions::default();
        for (name, data) in entries {
            zip.start_file(*name, o).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn hostile_entries_become_diagnostics() {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in [
            ("../evil", &b"x"[..]),
            ("/etc/passwd", b"x"),
            ("raw/../../evil_c.txt", b"GET / HTTP/1.1\r\n\r\n"),
            (
                "raw/1_c.txt",
                b"GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n",
            ),
            ("raw/1_s.txt", b"HTTP/1.1 204 No Content\r\n\r\n"),
            (
                "raw/1_m.xml",
                b"<Session SID='1'><SessionTimers ClientBeginRequest='2020",
            ),
            (
                "raw/3_c.txt",
                b"GET http://c.example/ HTTP/1.1\r\nHost: c.example\r\n\r\n",
            ),
        ] {
            zip.start_file(name, o).unwrap();
            zip.write_all(data).unwrap();
        }
        // Bomb-like: 65 MiB of zeros deflate to ~65 KiB.
        zip.start_file("raw/2_c.txt", o.large_file(false)).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..65 {
            zip.write_all(&zeros).unwrap();
        }
        let bytes = zip.finish().unwrap().into_inner();
        let imp = read_saz_from(Cursor::new(bytes), None, &opts()).unwrap();
        let msgs: Vec<&str> = imp.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert!(
            msgs.iter()
                .any(|m| m.contains("\"../evil\"") && m.contains("unsafe")),
            "{msgs:?}"
        );
        assert!(msgs.iter().any(|m| m.contains("/etc/passwd")), "{msgs:?}");
        assert!(
            msgs.iter()
                .any(|m| m.contains("session 2") && m.contains("limit")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("session 1") && m.contains("well-formed")),
            "{msgs:?}"
        );
        // Sessions 1 and 3 load; 1 without timers.
        assert_eq!(triples(&imp).len(), 2);
        assert_eq!(imp.exchanges[0].timing, Timing::default());
        assert!(imp.exchanges[0].annotations.is_some());
        // Session 3 has no response file.
        assert_eq!(
            imp.exchanges[1].capture,
            crate::model::CaptureState::NoResponse
        );
    }

    #[test]
    fn truncated_archive_is_an_error() {
        let Some(dir) = corpus() else { return };
        let bytes = std::fs::read(dir.join("saz/httpbin-test.saz")).unwrap();
        assert!(is_saz(&bytes));
        let cut = bytes[..bytes.len() / 2].to_vec();
        let err = read_saz_from(Cursor::new(cut), None, &opts()).unwrap_err();
        assert!(err.contains("zip"), "{err}");
        assert!(!is_saz(b"\x0a\x0d\x0d\x0a"));
        assert!(is_saz(b"PK\x05\x06"));
    }

    #[test]
    fn numbering_is_by_digit_string() {
        // Third-party archives number from 0 and pad freely; order is numeric.
        let bytes = zip_of(&[
            ("raw/10_c.txt", b"GET http://x/10 HTTP/1.1\r\n\r\n"),
            ("RAW/9_C.TXT", b"GET http://x/9 HTTP/1.1\r\n\r\n"),
            ("raw/0_c.txt", b"GET http://x/0 HTTP/1.1\r\n\r\n"),
            (
                "raw/9_s.txt",
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            ),
        ]);
        let imp = read_saz_from(Cursor::new(bytes), None, &opts()).unwrap();
        let targets: Vec<&str> = imp
            .exchanges
            .iter()
            .map(|e| e.request.as_ref().unwrap().target.as_str())
            .collect();
        assert_eq!(targets, ["http://x/0", "http://x/9", "http://x/10"]);
        assert_eq!(imp.exchanges[1].response.as_ref().unwrap().status, 200);
    }

    #[test]
    fn timestamps() {
        // 1970-01-01T00:00:00Z is 0; offsets subtract; fractions of 0..9 digits.
        assert_eq!(parse_ts("1970-01-01T00:00:00Z"), Some(Ts(0)));
        assert_eq!(parse_ts("1970-01-01T01:00:00+01:00"), Some(Ts(0)));
        assert_eq!(
            parse_ts("1970-01-01T00:00:01.5-00:00"),
            Some(Ts(1_500_000_000))
        );
        assert_eq!(parse_ts(UNSET_TIME), None);
        assert_eq!(parse_ts("2020-13-01T00:00:00Z"), None);
        // Python: datetime(2000,2,29,12,tzinfo=utc).timestamp() == 951825600
        assert_eq!(
            parse_ts("2000-02-29T12:00:00.0000001+00:00"),
            Some(Ts(951_825_600_000_000_100))
        );
        let t = Ts(951_825_600_000_000_100);
        assert_eq!(format_ts(t), "2000-02-29T12:00:00.0000001+00:00");
        assert_eq!(parse_ts(&format_ts(t)), Some(t));
    }

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
