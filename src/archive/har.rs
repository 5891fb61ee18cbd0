//! HTTP Archive (HAR 1.x) import.
//!
//! Tolerates the dialects of Chrome, Firefox, Charles, mitmproxy and Fiddler (UTF-8 BOM,
//! base64 bodies, omitted optional fields, `-1` timings, `_webSocketMessages`); a bad entry
//! becomes a diagnostic and the rest loads. docs/archives.md describes what is kept where.
//!
//! The file is read as a stream: `log.entries` one entry at a time, each entry a small JSON
//! tree that becomes an exchange before the next is read, so memory follows the exchanges
//! kept, not the JSON text (a whole-file JSON tree is many times the file's size).

use super::saz::MessageParser;
use super::Imported;
use crate::datetime::parse_iso8601 as parse_datetime;
use crate::error::{Error, Result};
use crate::model::har::{ORIGIN as HAR_ORIGIN, STARTED_TIMER};
use crate::model::url::UrlParts;
use crate::model::{
    token, websocket_kind, AppProtocol, Arrival, Body, BodyContent, CaptureState, ConnId,
    Connection, Diagnostic, Digests, ExchId, Exchange, Flags, FrameNo, Headers, HttpVersion,
    Request, Response, Scheme, Severity, Timing, TlsInfo, Ts, Upgrade, WebSocketMessage,
};
use base64::Engine;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

/// Bigger HAR files are refused: every exchange (bodies included) is held in memory.
const MAX_HAR_BYTES: u64 = 1 << 30;
/// Custom fields such as Chrome's `_initiator` (a call stack) can be huge; flags stay small.
const MAX_FLAG_VALUE: usize = 2048;
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
/// The file is read through a buffer of this size, not into memory whole.
const READ_BUFFER: usize = 256 << 10;

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
/// or has no `log` object; everything else becomes diagnostics. Bodies are kept whole up to
/// `bodies.keep_body_max()` bytes, else their first `keep_head` bytes when the stage layer
/// may need them, as for packet captures: a report of a big HAR does not hold its bodies.
/// `None` keeps every body.
pub fn read_har(path: &Path, bodies: Option<&dyn MessageParser>) -> Result<Imported> {
    let open_err = |source: io::Error| Error::Open {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(open_err)?;
    let too_big = || archive_err(path)("HAR file larger than 1 GiB, refused".into());
    let metadata_len = file.metadata().map_err(open_err)?.len();
    if metadata_len > MAX_HAR_BYTES {
        return Err(too_big());
    }
    let start = json_start(&mut file).map_err(open_err)?;
    file.seek(SeekFrom::Start(start.offset)).map_err(open_err)?;
    // take() bounds the read even if the file grows after the metadata check.
    let mut limited = file.take(MAX_HAR_BYTES + 1 - start.offset.min(MAX_HAR_BYTES));
    let read = Rc::new(Cell::new(0));
    let counted = Counted {
        inner: &mut limited,
        read: Rc::clone(&read),
    };
    let reader = io::BufReader::with_capacity(READ_BUFFER, counted);
    let size = Size {
        total: metadata_len.saturating_sub(start.offset),
        read: Some(read),
        bodies,
    };
    let log = read_json(serde_json::de::IoRead::new(reader), size);
    if limited.limit() == 0 {
        return Err(too_big());
    }
    match log {
        Err(e) if e.classify() == serde_json::error::Category::Io => Err(open_err(e.into())),
        // serde_json places a few errors (numbers out of range) a column further when it
        // reads from a reader: a file that is not valid JSON is read again from memory, so
        // the message is the one `parse_har` gives for its bytes.
        Err(_) => {
            let mut bytes = Vec::new();
            std::fs::File::open(path)
                .and_then(|file| file.take(MAX_HAR_BYTES).read_to_end(&mut bytes))
                .map_err(open_err)?;
            parse_har(&bytes).map_err(archive_err(path))
        }
        Ok(log) => finish(start, log).map_err(archive_err(path)),
    }
}

fn archive_err(path: &Path) -> impl Fn(String) -> Error + '_ {
    move |message| Error::Archive {
        path: path.to_path_buf(),
        message,
    }
}

/// Parses HAR bytes; `Err` is the fatal message.
pub fn parse_har(bytes: &[u8]) -> std::result::Result<Imported, String> {
    // Reading from a slice cannot fail.
    let start = json_start(bytes).map_err(|e| e.to_string())?;
    let json = bytes.get(start.offset as usize..).unwrap_or_default();
    let size = Size {
        total: json.len() as u64,
        read: None,
        bodies: None,
    };
    let log = read_json(serde_json::de::SliceRead::new(json), size)
        .map_err(|e| format!("not a valid HAR (JSON): {e}"))?;
    finish(start, log)
}

/// Where the JSON starts: after a UTF-8 BOM and, when something other than `{` comes first
/// (older Fiddler builds wrote junk before the JSON), at the first `{`.
struct JsonStart {
    offset: u64,
    /// Bytes skipped before the `{`, BOM not counted.
    junk: Option<u64>,
}

fn json_start(mut input: impl Read) -> io::Result<JsonStart> {
    let mut buf = vec![0u8; 64 << 10];
    let mut len = fill(&mut input, &mut buf)?;
    let bom = if buf[..len].starts_with(UTF8_BOM) {
        UTF8_BOM.len()
    } else {
        0
    };
    let at_bom = JsonStart {
        offset: bom as u64,
        junk: None,
    };
    let mut at = bom;
    // Input bytes before buf[0].
    let mut before = 0u64;
    let mut leading_space = true;
    loop {
        let chunk = &buf[at..len];
        if leading_space {
            match chunk.iter().position(|c| !c.is_ascii_whitespace()) {
                Some(i) if chunk[i] == b'{' => return Ok(at_bom),
                Some(_) => leading_space = false,
                None => {}
            }
        }
        if !leading_space {
            if let Some(i) = chunk.iter().position(|&c| c == b'{') {
                let offset = before + (at + i) as u64;
                return Ok(JsonStart {
                    offset,
                    junk: Some(offset - bom as u64),
                });
            }
        }
        before += len as u64;
        at = 0;
        len = fill(&mut input, &mut buf)?;
        if len == 0 {
            // No `{` at all: the JSON reader says what is wrong.
            return Ok(at_bom);
        }
    }
}

/// Reads until `buf` is full or the input ends.
fn fill(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// What was read of `log`. As in a JSON object read whole, a repeated key counts once: the
/// last one.
struct LogRead {
    /// `version`, when it is a string.
    version: Option<String>,
    /// `entries`, when it is an array.
    entries: Option<EntriesRead>,
}

/// The imported entries, in file order, with what the import needs of each beyond its
/// exchange. Connections are numbered later, in time order.
#[derive(Default)]
struct EntriesRead {
    /// Each exchange's `connection` is, until `finish`, its index in `conns`: nothing else is
    /// held per entry while the file is read.
    exchanges: Vec<Exchange>,
    /// The notes of the entries that have some: (position in `exchanges`, entry index, notes),
    /// in file order.
    noted: Vec<(usize, usize, Notes)>,
    /// Connection keys (see `import_entry`), numbered in order of first use.
    conn_keys: HashMap<String, usize>,
    conns: Vec<ConnDraft>,
    /// Per connection: an exchange of it kept a body head for the stage layer, so later ones
    /// do too (services behind custom path prefixes), as for packet captures.
    heads: Vec<bool>,
    server_unknown: usize,
    /// Diagnostics of the entries skipped, in file order.
    skipped: Vec<Diagnostic>,
}

/// A connection as its first exchange in time order describes it.
struct ConnDraft {
    first: Option<Ts>,
    server: SocketAddr,
    host: Option<String>,
    scheme: Scheme,
}

/// Exchanges are ordered by their first byte (stable: file order breaks ties).
fn time_order(exchange: &Exchange) -> Option<Ts> {
    exchange.timing.first().map(|a| a.ts)
}

impl EntriesRead {
    fn add(&mut self, draft: Draft, notes: Notes, bodies: Option<&dyn MessageParser>) {
        let Draft {
            index,
            mut exchange,
            conn_key,
            server,
            host,
        } = draft;
        if server.ip().is_unspecified() {
            self.server_unknown += 1;
        }
        let this = ConnDraft {
            first: time_order(&exchange),
            server,
            host,
            scheme: exchange.scheme,
        };
        let conn = match self.conn_keys.get(&conn_key) {
            Some(&conn) => {
                // Entries come in file order: an earlier time wins, a tie keeps the first.
                if let Some(known) = self.conns.get_mut(conn).filter(|c| this.first < c.first) {
                    *known = this;
                }
                conn
            }
            None => {
                let conn = self.conns.len();
                self.conns.push(this);
                self.heads.push(false);
                self.conn_keys.insert(conn_key, conn);
                conn
            }
        };
        if !notes.is_empty() {
            self.noted.push((self.exchanges.len(), index, notes));
        }
        if let Some(policy) = bodies {
            keep_bodies(&mut exchange, policy, &mut self.heads[conn]);
        }
        exchange.connection = ConnId(conn as u32);
        self.exchanges.push(exchange);
    }
}

/// Drops the bytes of the bodies `policy` does not keep whole, keeping a head where the stage
/// layer may need one (`sticky`: the connection already kept one). Digests and lengths stay.
fn keep_bodies(x: &mut Exchange, policy: &dyn MessageParser, sticky: &mut bool) {
    let max = policy.keep_body_max();
    for response in [false, true] {
        let over = |b: &Body| {
            b.content
                .kept
                .as_ref()
                .is_some_and(|k| k.len() as u64 > max)
        };
        let body = match response {
            false => x.request.as_deref().map(|r| &r.body),
            true => x.response.as_deref().map(|r| &r.body),
        };
        if !body.is_some_and(over) {
            continue;
        }
        let resp = if response {
            x.response.as_deref()
        } else {
            None
        };
        let wanted = *sticky || policy.wants_head(x.request.as_deref(), resp);
        *sticky |= wanted;
        let head = if wanted { policy.head_max() } else { 0 };
        let body = match response {
            false => x.request.as_deref_mut().map(|r| &mut r.body),
            true => x.response.as_deref_mut().map(|r| &mut r.body),
        };
        let Some(body) = body else { continue };
        let content = Arc::make_mut(&mut body.content);
        let kept = content.kept.take();
        content.wire_kept = None;
        content.head = kept
            .filter(|_| head > 0)
            .map(|k| Arc::from(&k[..k.len().min(usize::try_from(head).unwrap_or(usize::MAX))]));
    }
}

/// Reads the JSON text of a HAR, one entry at a time; `Ok(None)`: no `log` object.
fn read_json<'de, R: serde_json::de::Read<'de>>(
    read: R,
    size: Size<'_>,
) -> serde_json::Result<Option<LogRead>> {
    let mut de = serde_json::Deserializer::new(read);
    let log = Shape(RootPart(size)).deserialize(&mut de)?.flatten();
    de.end()?;
    Ok(log)
}

/// One part of a HAR's JSON, read from the stream as it comes. A value of another shape than
/// the part expects is read whole into a `serde_json::Value` and dropped, as are the fields
/// the import does not use: the JSON is checked exactly as when the whole file was one
/// `Value` (number range, string escapes, nesting depth), only never held at once.
trait Part<'de>: Sized {
    type Out;

    fn object<A: MapAccess<'de>>(self, map: A) -> std::result::Result<Option<Self::Out>, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map))?;
        Ok(None)
    }

    fn array<A: SeqAccess<'de>>(self, seq: A) -> std::result::Result<Option<Self::Out>, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq))?;
        Ok(None)
    }
}

/// A [`Part`] as a serde seed: `Some` when the value had the expected shape.
struct Shape<P>(P);

impl<'de, P: Part<'de>> DeserializeSeed<'de> for Shape<P> {
    type Value = Option<P::Out>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, P: Part<'de>> Visitor<'de> for Shape<P> {
    type Value = Option<P::Out>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<Self::Value, A::Error> {
        self.0.object(map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> std::result::Result<Self::Value, A::Error> {
        self.0.array(seq)
    }

    fn visit_bool<E>(self, _: bool) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
}

/// How big the JSON text is and, when it is read from a file, how much of it has been read:
/// the exchange vector is sized from the entries read so far, not doubled (a doubled vector of a
/// big HAR is a quarter unused at its peak).
///
/// It also carries which bodies are kept in memory (`None`: all of them).
#[derive(Clone)]
struct Size<'a> {
    total: u64,
    read: Option<Rc<Cell<u64>>>,
    bodies: Option<&'a dyn MessageParser>,
}

/// A reader that counts the bytes it gave.
struct Counted<R> {
    inner: R,
    read: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

/// The top-level object: its `log`.
struct RootPart<'a>(Size<'a>);

impl<'de> Part<'de> for RootPart<'_> {
    type Out = Option<LogRead>;

    fn object<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Option<Self::Out>, A::Error> {
        let mut log = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "log" {
                // A repeated `log` replaces the first: free it before reading the next.
                drop(log.take());
                log = map.next_value_seed(Shape(LogPart(self.0.clone())))?;
            } else {
                map.next_value::<Value>()?;
            }
        }
        Ok(Some(log))
    }
}

/// `log`: its `version` and `entries`; `creator`, `pages` and the rest are not used.
struct LogPart<'a>(Size<'a>);

impl<'de> Part<'de> for LogPart<'_> {
    type Out = LogRead;

    fn object<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Option<Self::Out>, A::Error> {
        let mut log = LogRead {
            version: None,
            entries: None,
        };
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "version" => {
                    log.version = match map.next_value::<Value>()? {
                        Value::String(version) => Some(version),
                        _ => None,
                    }
                }
                "entries" => {
                    drop(log.entries.take());
                    log.entries = map.next_value_seed(Shape(EntriesPart(self.0.clone())))?;
                }
                _ => {
                    map.next_value::<Value>()?;
                }
            }
        }
        Ok(Some(log))
    }
}

/// `log.entries`: each entry is imported as soon as it is read.
struct EntriesPart<'a>(Size<'a>);

impl<'de> Part<'de> for EntriesPart<'_> {
    type Out = EntriesRead;

    fn array<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Option<Self::Out>, A::Error> {
        let mut read = EntriesRead::default();
        let mut index = 0;
        while let Some(entry) = seq.next_element::<Value>()? {
            if read.exchanges.len() == read.exchanges.capacity() {
                reserve_for_rest(&mut read.exchanges, &self.0);
            }
            let mut notes = Vec::new();
            match import_entry(index, &entry, &mut notes) {
                Ok(draft) => read.add(draft, notes, self.0.bodies),
                Err(why) => {
                    read.skipped
                        .extend(notes.into_iter().map(|n| entry_diag(index, n)));
                    read.skipped.push(Diagnostic::new(
                        Severity::Warning,
                        format!("{HAR_ORIGIN}{index}: skipped: {why}"),
                    ));
                }
            }
            index += 1;
        }
        Ok(Some(read))
    }
}

/// Room for the entries still to come, estimated from the bytes each entry read so far took.
fn reserve_for_rest<T>(items: &mut Vec<T>, size: &Size<'_>) {
    let done = items.len() as u64;
    let read = size.read.as_ref().map_or(0, |r| r.get());
    // Early on (or reading from memory, where nothing is counted) the vector grows as usual.
    if done < 1024 || read == 0 {
        items.reserve(1);
        return;
    }
    // The count runs ahead of the parser by a read buffer at most: a little more is asked.
    let expected = done.saturating_mul(size.total) / read;
    // Never more than doubling, as `reserve` would: odd files (small entries first) stay bounded.
    let more = (expected + expected / 64 + 64)
        .saturating_sub(done)
        .clamp(done / 16, done);
    items.reserve_exact(usize::try_from(more).unwrap_or(usize::MAX));
}

/// The import from what the JSON gave; `Err` is the fatal message.
fn finish(start: JsonStart, log: Option<LogRead>) -> std::result::Result<Imported, String> {
    let log = log.ok_or("not a HAR file: no \"log\" object")?;
    let mut diagnostics = Vec::new();
    if let Some(junk) = start.junk {
        diagnostics.push(Diagnostic::new(
            Severity::Warning,
            format!("HAR: {junk} bytes before the JSON object ignored"),
        ));
    }
    if let Some(version) = log.version.filter(|v| !v.starts_with("1.")) {
        diagnostics.push(Diagnostic::new(
            Severity::Warning,
            format!("HAR version {version:?}: read as 1.2"),
        ));
    }
    let EntriesRead {
        mut exchanges,
        mut noted,
        conns,
        server_unknown,
        skipped,
        ..
    } = log.entries.unwrap_or_else(|| {
        diagnostics.push(Diagnostic::new(
            Severity::Warning,
            "HAR has no \"entries\" array: nothing to load",
        ));
        EntriesRead::default()
    });
    diagnostics.extend(skipped);
    // The exchanges are the bulk of the memory: they are numbered through this order, then
    // moved into it in place, never copied.
    let mut order: Vec<usize> = (0..exchanges.len()).collect();
    order.sort_by_key(|&i| time_order(&exchanges[i]));

    let mut connections: Vec<Connection> = Vec::new();
    let mut conn_ids: Vec<Option<ConnId>> = vec![None; conns.len()];
    // `noted` is in file order, so sorted by position.
    for (new, &i) in order.iter().enumerate() {
        let id = ExchId(new as u32);
        let Some(exchange) = exchanges.get_mut(i) else {
            continue;
        };
        exchange.id = id;
        if let Ok(at) = noted.binary_search_by_key(&i, |n| n.0) {
            let (_, index, notes) = &mut noted[at];
            for note in std::mem::take(notes) {
                let mut d = entry_diag(*index, note);
                d.exchange = Some(id);
                diagnostics.push(d);
            }
        }
        let (first, last) = exchange_span(exchange);
        let conn = exchange.connection.0 as usize;
        let (Some(slot), Some(conn)) = (conn_ids.get_mut(conn), conns.get(conn)) else {
            continue;
        };
        let conn_id = *slot.get_or_insert_with(|| {
            let cid = ConnId(connections.len() as u32);
            connections.push(new_connection(cid, conn.server, &conn.host, conn.scheme));
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
    }
    permute(&mut exchanges, order);
    exchanges.shrink_to_fit();
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

/// Puts `items` in `order` (`order[p]`: where the item that goes to `p` is now) in place.
fn permute<T>(items: &mut [T], mut order: Vec<usize>) {
    for start in 0..order.len() {
        // Each cycle of the permutation is walked once; a walked position points at itself.
        let mut p = start;
        loop {
            let q = order[p];
            order[p] = p;
            if q == start {
                break;
            }
            items.swap(p, q);
            p = q;
        }
    }
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
    let (url_host, url_port) = parts.map_or(("", None), |p| p.host_port());
    let scheme = match parts.map(|p| p.scheme.to_ascii_lowercase()).as_deref() {
        Some("https") | Some("wss") => Scheme::Https,
        _ => Scheme::Http,
    };

    let req_headers = headers_of(req.get("headers"), "request", notes);
    let req_body = request_body(req, &req_headers, notes);
    let request = Request {
        method: token(method),
        target: url.to_string(),
        version: token(str_field(req, "httpVersion")),
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
                version: token(str_field(resp, "httpVersion")),
                status: status as u16,
                reason: token(str_field(resp, "statusText")),
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
        .map(Box::from);
    let websocket = match entry.get("_webSocketMessages") {
        Some(Value::Array(msgs)) => websocket_messages(msgs, notes).into(),
        _ => Box::default(),
    };
    let annotations = crate::model::Annotations {
        origin: crate::model::Origin::HarEntry(index as u64),
        flags: Flags::from_pairs(flags.iter().map(|(n, v)| (n.as_str(), v.as_str()))),
        timers: started
            .map(|s| Box::from([(STARTED_TIMER.into(), s)]))
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
    let port = url_port.unwrap_or(match scheme {
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
        format!("host {url_host}:{port}")
    };

    let capture = if response.is_some() {
        CaptureState::Full
    } else {
        CaptureState::NoResponse
    };
    let host = (!url_host.is_empty()).then(|| url_host.to_string());
    Ok(Draft {
        index,
        exchange: Exchange {
            id: ExchId(0),
            connection: ConnId(0),
            scheme,
            http_version: HttpVersion::from_text(&request.version),
            stream: None,
            capture,
            request: Some(Box::new(request)),
            response: response.map(Box::new),
            timing,
            upgrade,
            annotations: Some(Box::new(annotations)),
            stage: None,
            auth: None,
            tunnel: None,
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
            let kept = if bytes.is_empty() {
                empty_body()
            } else {
                Arc::from(bytes)
            };
            // Without content coding the wire bytes are the decoded bytes, when sizes agree.
            let wire_known = content_encoding.is_empty() && wire_size == Some(len);
            Body {
                wire_length,
                decoded_length: Some(len),
                complete: true,
                stream_offset: 0,
                stream_length: 0,
                content: BodyContent {
                    digests: Digests::new(
                        if wire_known { decoded_sha256 } else { None },
                        decoded_sha256,
                    ),
                    content_encoding,
                    wire_kept: wire_known.then(|| kept.clone()),
                    kept: Some(kept),
                    head: None,
                }
                .shared(),
            }
        }
        None => {
            let empty = declared_size.unwrap_or(0) == 0 && wire_size.unwrap_or(0) == 0;
            Body {
                wire_length,
                decoded_length: if empty { Some(0) } else { declared_size },
                complete: empty,
                stream_offset: 0,
                stream_length: 0,
                content: BodyContent {
                    digests: Digests::new(
                        (empty && content_encoding.is_empty()).then(|| sha256(b"")),
                        empty.then(|| sha256(b"")),
                    ),
                    content_encoding,
                    kept: empty.then(empty_body),
                    wire_kept: None,
                    head: None,
                }
                .shared(),
            }
        }
    }
}

/// The empty body, shared: most requests of a HAR have one, and each `Arc` is an allocation.
fn empty_body() -> Arc<[u8]> {
    static EMPTY: std::sync::OnceLock<Arc<[u8]>> = std::sync::OnceLock::new();
    Arc::clone(EMPTY.get_or_init(|| Arc::from(&b""[..])))
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
    Timing::new(
        at(pre),
        at(send),
        if has_response { at(wait) } else { None },
        if has_response { at(receive) } else { None },
    )
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
            kind: u8::try_from(opcode).map_or_else(|_| format!("opcode {opcode}"), websocket_kind),
            payload: Arc::from(payload),
        });
    }
    out
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
        t.request_start(),
        t.request_end(),
        t.response_start(),
        t.response_end(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::corpus_file;

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
        let origin = ex.annotations.as_ref().unwrap().origin.to_string();
        origin.strip_prefix(HAR_ORIGIN).unwrap().parse().unwrap()
    }

    #[test]
    fn every_corpus_har_loads_with_the_manifest_entries() {
        let Some(dir) = corpus_file("har") else {
            return;
        };
        let files = manifest(&dir);
        assert_eq!(files.len(), 6);
        for (name, count) in files {
            let path = dir.join(&name);
            let head = std::fs::read(&path).unwrap();
            assert!(is_har(&head[..head.len().min(64)]), "{name}");
            let imp = read_har(&path, None).unwrap_or_else(|e| panic!("{e}"));
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
        let Some(dir) = corpus_file("har") else {
            return;
        };
        let path = dir.join("mitmproxy_with-bom.har");
        let raw = std::fs::read(&path).unwrap();
        assert!(raw.starts_with(UTF8_BOM));
        assert!(is_har(&raw));
        let imp = read_har(&path, None).unwrap();
        let json = file_json(&path);
        let e = &json["log"]["entries"][0];
        let req = imp.exchanges[0].request.as_ref().unwrap();
        assert_eq!(req.method, "POST");
        let text = e["request"]["postData"]["text"].as_str().unwrap();
        assert_eq!(req.body.kept.as_deref(), Some(text.as_bytes()));
        assert_eq!(req.body.decoded_sha256(), Some(sha256(text.as_bytes())));
        // Timing: started + blocked + dns + connect (ssl inside connect), then send, wait, receive.
        let t = &e["timings"];
        let ms = |k: &str| t[k].as_f64().filter(|v| *v >= 0.0).unwrap_or(0.0);
        let started = imp.exchanges[0].annotations.as_ref().unwrap().timers[0].1;
        let timing = &imp.exchanges[0].timing;
        let off = |a: Option<Arrival>| (a.unwrap().ts.0 - started.0) as f64 / 1e6;
        assert!(
            (off(timing.request_start()) - (ms("blocked") + ms("dns") + ms("connect"))).abs()
                < 1e-3
        );
        assert!(
            (off(timing.request_end()) - off(timing.request_start()) - ms("send")).abs() < 1e-3
        );
        assert!(
            (off(timing.response_start()) - off(timing.request_end()) - ms("wait")).abs() < 1e-3
        );
        assert!(
            (off(timing.response_end()) - off(timing.response_start()) - ms("receive")).abs()
                < 1e-3
        );
    }

    #[test]
    fn base64_bodies_decode_to_content_size() {
        let Some(dir) = corpus_file("har") else {
            return;
        };
        let path = dir.join("mitmproxy_chrome.har");
        let imp = read_har(&path, None).unwrap();
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
        let Some(dir) = corpus_file("har") else {
            return;
        };
        let path = dir.join("mitmproxy_websocket.har");
        let imp = read_har(&path, None).unwrap();
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
            crate::datetime::iso_utc(Ts(1_597_344_795_848_000_000)),
            "2020-08-13T18:53:15.848Z"
        );
        assert_eq!(
            crate::datetime::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Ts(784_111_777_000_000_000))
        );
    }

    proptest::proptest! {
        #[test]
        fn permute_puts_each_item_where_the_order_says(
            keys in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..60)
        ) {
            // Some order of the positions: sorted by the random keys.
            let mut order: Vec<usize> = (0..keys.len()).collect();
            order.sort_by_key(|&i| keys[i]);
            let items: Vec<usize> = (100..100 + keys.len()).collect();
            let want: Vec<usize> = order.iter().map(|&i| items[i]).collect();
            let mut got = items;
            permute(&mut got, order);
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn a_file_reads_as_its_bytes_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.har");
        let entry = r#"{"startedDateTime":"2020-01-01T00:00:00Z","request":{"method":"GET","url":"http://a/"},"response":{"status":200,"content":{"size":2,"text":"aGk=","encoding":"base64"}}}"#;
        let good = format!(r#"{{"log":{{"version":"1.2","entries":[{entry},{entry}]}}}}"#);
        let out_of_range = good.replace(r#""1.2""#, "1e400");
        let cases: [Vec<u8>; 6] = [
            good.clone().into_bytes(),
            [UTF8_BOM, b"Fiddler\r\n", good.as_bytes()].concat(),
            // Cut inside the second entry.
            good.as_bytes()[..good.len() - 30].to_vec(),
            out_of_range.clone().into_bytes(),
            b"[1, 2]".to_vec(),
            Vec::new(),
        ];
        let message = |e: Error| match e {
            Error::Archive { message, .. } => message,
            other => other.to_string(),
        };
        for bytes in &cases {
            std::fs::write(&path, bytes).unwrap();
            assert_eq!(read_har(&path, None).map_err(message), parse_har(bytes));
        }
        std::fs::write(&path, &cases[0]).unwrap();
        assert_eq!(read_har(&path, None).unwrap().exchanges.len(), 2);
        // A damaged file is refused whole, with serde_json's message for the whole text.
        for bytes in [&cases[2], &cases[3]] {
            std::fs::write(&path, bytes).unwrap();
            let json = serde_json::from_slice::<Value>(bytes).unwrap_err();
            assert_eq!(
                read_har(&path, None).map_err(message).unwrap_err(),
                format!("not a valid HAR (JSON): {json}")
            );
        }
    }

    /// Keeps no body whole, and heads of 4 bytes for exchanges to `/wanted`.
    struct HeadsOfWanted;

    impl MessageParser for HeadsOfWanted {
        fn keep_body_max(&self) -> u64 {
            0
        }
        fn head_max(&self) -> u64 {
            4
        }
        fn wants_head(&self, request: Option<&Request>, _: Option<&Response>) -> bool {
            request.is_some_and(|r| r.target.ends_with("/wanted"))
        }
        fn parse(
            &self,
            _: super::super::saz::RecordedSession<'_>,
        ) -> super::super::saz::ParsedMessages {
            unreachable!("a HAR holds no raw messages")
        }
    }

    #[test]
    fn bodies_not_kept_lose_their_bytes_not_their_digests() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.har");
        let entry = |url: &str, conn: &str| {
            format!(
                r#"{{"startedDateTime":"2020-01-01T00:00:00Z","connection":"{conn}","request":{{"method":"GET","url":"{url}"}},"response":{{"status":200,"content":{{"size":11,"text":"hello world"}}}}}}"#
            )
        };
        let text = format!(
            r#"{{"log":{{"version":"1.2","entries":[{},{},{}]}}}}"#,
            entry("http://a/other", "1"),
            entry("http://a/wanted", "2"),
            // Same connection as a wanted one: its head is kept too, as for packet captures.
            entry("http://a/later", "2"),
        );
        std::fs::write(&path, &text).unwrap();
        let all = read_har(&path, None).unwrap();
        let some = read_har(&path, Some(&HeadsOfWanted)).unwrap();
        // "hello world": sha256 as `printf 'hello world' | sha256sum` gives it.
        let sha = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";
        for (a, b) in all.exchanges.iter().zip(&some.exchanges) {
            let (a, b) = (
                &a.response.as_ref().unwrap().body,
                &b.response.as_ref().unwrap().body,
            );
            assert_eq!(a.bytes(), Some(&b"hello world"[..]));
            let hex: String = b
                .decoded_sha256()
                .unwrap()
                .iter()
                .map(|x| format!("{x:02x}"))
                .collect();
            assert_eq!(hex, sha);
            assert_eq!(b.decoded_length, Some(11));
            assert!(b.content.kept.is_none() && b.content.wire_kept.is_none());
        }
        let heads: Vec<Option<&[u8]>> = some
            .exchanges
            .iter()
            .map(|x| x.response.as_ref().unwrap().body.content.head.as_deref())
            .collect();
        assert_eq!(heads, [None, Some(&b"hell"[..]), Some(&b"hell"[..])]);
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
            .find(|e| e.timing.request_start().is_some())
            .unwrap();
        assert_eq!(
            b.timing.response_end().unwrap().ts,
            Ts(1_577_836_800_006_000_000)
        );
        assert!(parse_har(b"{\"log\": ").is_err());
        assert!(parse_har(b"[1,2]").is_err());
    }
}
