//! The frozen analysis: what every later layer (stages, TUI, reports) reads.
//!
//! Produced once by [`crate::pipeline::analyze`], then immutable. Nothing here does I/O or
//! rendering. Invariants:
//! - ids are indexes: `analysis.exchanges[id.0]`, `analysis.connections[id.0]`;
//! - exchanges are sorted by their first byte's arrival; connections by first packet;
//! - `Exchange::request` is `None` for a response whose request was before the capture
//!   started, `Exchange::response` is `None` when no response was seen;
//! - stream offsets are offsets in a reassembled TCP (or decrypted TLS) stream, never file
//!   offsets.

mod archive;
mod dns;
mod live;
mod lync;
mod notes;
mod tls;
pub mod url;

pub use archive::*;
pub use dns::*;
pub use live::*;
pub use lync::*;
pub use notes::*;
pub use tls::*;

use std::fmt;
use std::net::SocketAddr;

/// A point in time: nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Ts(pub i64);

impl Ts {
    pub fn from_secs_nanos(secs: i64, nanos: i64) -> Ts {
        Ts(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
    }
    /// Epoch seconds as a float: microsecond-exact for any date this century.
    pub fn as_secs_f64(self) -> f64 {
        let s = self.0.div_euclid(1_000_000_000);
        let n = self.0.rem_euclid(1_000_000_000);
        s as f64 + n as f64 / 1e9
    }
    /// Seconds between two instants (positive when `self` is later).
    pub fn secs_since(self, earlier: Ts) -> f64 {
        // In i128: instants far apart (a date clamped to the range of Ts) overflow i64.
        (i128::from(self.0) - i128::from(earlier.0)) as f64 / 1e9
    }
}

/// Index of a frame in the merged capture, 1-based as in Wireshark. With one input file it is
/// the frame number Wireshark shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FrameNo(pub u64);

/// Where and when a piece of a stream arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Arrival {
    pub frame: FrameNo,
    pub ts: Ts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExchId(pub u32);

/// Direction of data in a connection, relative to the client (the side that opened it, or
/// that sent the first request when the capture starts mid-connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    ClientToServer,
    ServerToClient,
}

impl Dir {
    pub fn index(self) -> usize {
        match self {
            Dir::ClientToServer => 0,
            Dir::ServerToClient => 1,
        }
    }
    pub fn reverse(self) -> Dir {
        match self {
            Dir::ClientToServer => Dir::ServerToClient,
            Dir::ServerToClient => Dir::ClientToServer,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A non-fatal problem, attached to where it happened. Bad input becomes one of these; it
/// never stops the rest of the file from loading.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    pub connection: Option<ConnId>,
    pub exchange: Option<ExchId>,
    pub frame: Option<FrameNo>,
    /// Input file index (into `Analysis::inputs`) when the problem is about a file.
    pub input: Option<usize>,
}

impl Diagnostic {
    pub fn new(severity: Severity, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity,
            message: message.into(),
            connection: None,
            exchange: None,
            frame: None,
            input: None,
        }
    }
    pub fn at_frame(mut self, frame: FrameNo) -> Self {
        self.frame = Some(frame);
        self
    }
}

/// One capture file (or archive) that went into the analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct InputInfo {
    pub path: String,
    /// "pcap", "pcap-ns", "pcapng".
    pub format: String,
    pub bytes: u64,
    pub frames: u64,
    /// Link types seen, by name ("ethernet", "linux-sll", …).
    pub link_types: Vec<String>,
    /// True when the file ended in the middle of a record (the rest was not read).
    pub truncated: bool,
    /// The byte offset where reading stopped, when it did before the end.
    pub stopped_at: Option<u64>,
    /// The time of the file's first frame (in file order), whatever it carried; None for a
    /// trace archive or a capture without frames. The reports' time origin counts from it.
    pub first_frame: Option<Ts>,
}

impl InputInfo {
    /// "capture ends at frame 212, byte 50000: the sign-in may have gone on" for a capture
    /// cut short (or damaged), None for a whole one. What the verdict and every report head
    /// add, so a cut capture is not read as a failed sign-in.
    pub fn cut_note(&self, of_several: bool) -> Option<String> {
        if !self.truncated {
            return None;
        }
        let name = self.path.rsplit(['/', '\\']).next().unwrap_or(&self.path);
        let at = match self.stopped_at {
            Some(b) => format!("frame {}, byte {b}", self.frames),
            None => format!("frame {}", self.frames),
        };
        Some(if of_several {
            format!("{name} ends at its frame {at} (cut or damaged): the sign-in may have gone on")
        } else {
            format!("capture ends at {at} (cut or damaged): the sign-in may have gone on")
        })
    }
}

/// The [`InputInfo::cut_note`] of every input cut short, joined with "; ".
pub fn cut_notes(inputs: &[InputInfo]) -> Option<String> {
    let several = inputs.len() > 1;
    let notes: Vec<String> = inputs.iter().filter_map(|i| i.cut_note(several)).collect();
    (!notes.is_empty()).then(|| notes.join("; "))
}

/// A short text that is nearly always one of a few well-known values (method, version,
/// reason phrase, an archive's timer name): those are a number into [`KNOWN_TOKENS`], not
/// one allocation per message, and a token is 16 bytes (a `Cow<str>` is 24).
#[derive(Clone)]
pub struct Token(TokenText);

#[derive(Clone)]
enum TokenText {
    Known(u8),
    Owned(Box<str>),
}

/// The texts a [`Token`] names by number.
const KNOWN_TOKENS: [&str; 46] = [
    "",
    "GET",
    "POST",
    "PUT",
    "DELETE",
    "HEAD",
    "OPTIONS",
    "PATCH",
    "CONNECT",
    "HTTP/1.1",
    "HTTP/1.0",
    "HTTP/2",
    "OK",
    "Created",
    "No Content",
    "Partial Content",
    "Moved Permanently",
    "Found",
    "See Other",
    "Not Modified",
    "Temporary Redirect",
    "Bad Request",
    "Unauthorized",
    "Forbidden",
    "Not Found",
    "Internal Server Error",
    "Bad Gateway",
    "Service Unavailable",
    "Gateway Timeout",
    // Fiddler SessionTimers and HAR's startedDateTime (model::archive).
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
    "startedDateTime",
];

impl Token {
    pub fn as_str(&self) -> &str {
        match &self.0 {
            TokenText::Known(i) => KNOWN_TOKENS.get(usize::from(*i)).copied().unwrap_or(""),
            TokenText::Owned(text) => text,
        }
    }
}

impl Default for Token {
    fn default() -> Token {
        Token(TokenText::Known(0))
    }
}

impl std::ops::Deref for Token {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Token {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for Token {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl From<&str> for Token {
    fn from(text: &str) -> Token {
        token(text)
    }
}

impl From<String> for Token {
    fn from(text: String) -> Token {
        match known_token(&text) {
            Some(i) => Token(TokenText::Known(i)),
            None => Token(TokenText::Owned(text.into_boxed_str())),
        }
    }
}

impl PartialEq for Token {
    fn eq(&self, other: &Token) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Token {}

impl PartialOrd for Token {
    fn partial_cmp(&self, other: &Token) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Token {
    fn cmp(&self, other: &Token) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for Token {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl PartialEq<String> for Token {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<str> for Token {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Token {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<Token> for &str {
    fn eq(&self, other: &Token) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Token> for str {
    fn eq(&self, other: &Token) -> bool {
        self == other.as_str()
    }
}

/// `text` as a [`Token`]: a well-known value is its number, not a copy.
pub fn token(text: &str) -> Token {
    match known_token(text) {
        Some(i) => Token(TokenText::Known(i)),
        None => Token(TokenText::Owned(text.into())),
    }
}

/// The number of a well-known token text.
fn known_token(text: &str) -> Option<u8> {
    KNOWN_TOKENS
        .iter()
        .position(|&k| k == text)
        .map(|i| i as u8)
}

/// Header fields of one HTTP message, as sent, in order. Stored as one text: each name and
/// value as its length, then its text (see [`len_groups`]), so a message's headers are one
/// allocation of a few bytes more than their text, and none when there are none.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Headers(Box<str>);

/// `len` in 6-bit groups, low group first, each as one ASCII byte (bit 6 set: more groups
/// follow), so the lengths sit in a `str` with the texts they measure. Header names and
/// values are mostly under 64 bytes: one byte each.
fn len_groups(mut len: usize) -> impl Iterator<Item = u8> {
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            None
        } else if len >= 0x40 {
            let group = 0x40 | (len & 0x3f) as u8;
            len >>= 6;
            Some(group)
        } else {
            done = true;
            Some(len as u8)
        }
    })
}

/// Bytes [`len_groups`] gives for `len`.
fn len_size(len: usize) -> usize {
    len_groups(len).count()
}

/// Where the next text written by [`len_groups`] and its bytes lies in `bytes`: its start and
/// end.
fn next_span(bytes: &[u8]) -> Option<(usize, usize)> {
    let (mut len, mut shift, mut at) = (0usize, 0u32, 0usize);
    loop {
        let b = *bytes.get(at)?;
        at += 1;
        len |= usize::from(b & 0x3f).checked_shl(shift)?;
        if b & 0x40 == 0 {
            break;
        }
        shift += 6;
    }
    Some((at, at.checked_add(len)?))
}

/// The next text written by [`Headers::from_pairs`], `rest` moved past it.
fn take_text<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let (at, end) = next_span(rest.as_bytes())?;
    let text = rest.get(at..end)?;
    *rest = rest.get(end..)?;
    Some(text)
}

/// Builds [`Headers`] one field at a time, for a decoder that has no list of them to give
/// [`Headers::from_pairs`] (HPACK yields names and values one by one, as bytes).
#[derive(Default)]
pub struct HeadersBuilder(Vec<u8>);

impl HeadersBuilder {
    /// A field as the wire has it: the list is checked as UTF-8 once, when taken (checking
    /// each name and value took longer than decoding them), and what is not UTF-8 gets
    /// replacement characters.
    pub fn push(&mut self, name: &[u8], value: &[u8]) {
        if name.len() < 0x40 && value.len() < 0x40 {
            // Both lengths one byte (nearly every field): one reservation, no iterator.
            self.0.reserve(2 + name.len() + value.len());
            self.0.push(name.len() as u8);
            self.0.extend_from_slice(name);
            self.0.push(value.len() as u8);
            self.0.extend_from_slice(value);
            return;
        }
        self.0.extend(len_groups(name.len()));
        self.0.extend_from_slice(name);
        self.0.extend(len_groups(value.len()));
        self.0.extend_from_slice(value);
    }
    /// The headers pushed so far, copied out; the builder is emptied and keeps its room for
    /// the next message (a decoder that builds thousands of header lists reuses one).
    pub fn take(&mut self) -> Headers {
        // The lengths are ASCII and a text's bytes cannot run on into them as one character
        // (continuation bytes are 0x80 and up): the whole is UTF-8 when every text is.
        let h = match std::str::from_utf8(&self.0) {
            Ok(text) => Headers(Box::from(text)),
            Err(_) => Headers::from_lossy(&self.0),
        };
        self.0.clear();
        if self.0.capacity() > 1 << 16 {
            // One huge block does not pin its room for the connection's life.
            self.0 = Vec::new();
        }
        h
    }
}

/// [`take_text`] over bytes not known to be UTF-8.
fn take_bytes<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (at, end) = next_span(rest)?;
    let text = rest.get(at..end)?;
    *rest = rest.get(end..)?;
    Some(text)
}

impl Headers {
    pub fn from_pairs<'a, I>(pairs: I) -> Headers
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
        I::IntoIter: Clone,
    {
        let pairs = pairs.into_iter();
        // Sized first: growing the text field by field was a tenth of a parser's time.
        let size: usize = pairs
            .clone()
            .map(|(n, v)| n.len() + v.len() + len_size(n.len()) + len_size(v.len()))
            .sum();
        let mut text = String::with_capacity(size);
        for (n, v) in pairs {
            for t in [n, v] {
                text.extend(len_groups(t.len()).map(char::from));
                text.push_str(t);
            }
        }
        Headers(text.into_boxed_str())
    }

    /// The fields of a [`HeadersBuilder`] whose bytes are not all UTF-8, each made text with
    /// replacement characters.
    fn from_lossy(mut rest: &[u8]) -> Headers {
        let mut pairs = Vec::new();
        while let (Some(n), Some(v)) = (take_bytes(&mut rest), take_bytes(&mut rest)) {
            pairs.push((String::from_utf8_lossy(n), String::from_utf8_lossy(v)));
        }
        Headers::from_pairs(pairs.iter().map(|(n, v)| (&**n, &**v)))
    }
    pub fn len(&self) -> usize {
        self.iter().count()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + Clone + '_ {
        let mut rest: &str = &self.0;
        std::iter::from_fn(move || Some((take_text(&mut rest)?, take_text(&mut rest)?)))
    }
    /// The first value of a header, matched case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
    /// Every value of a header, in order.
    pub fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A message body as seen on the wire and after content decoding.
///
/// Its lengths are here; its digests, codings and kept bytes are a [`BodyContent`] it points
/// to and reads through (`body.wire_sha256()` is `body.content.wire_sha256()`). Most requests
/// have an empty body, whose content is one of a few shared values: an exchange of a big
/// capture then carries 56 bytes for it, not 184.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// Bytes after de-chunking, before content decoding.
    pub wire_length: u64,
    /// Bytes after content decoding (equal to `wire_length` when not encoded); `None` when
    /// decoding failed or was stopped by the size cap.
    pub decoded_length: Option<u64>,
    /// The body ended as framed (length reached, last chunk, close) with no bytes missing.
    pub complete: bool,
    /// Where the body starts in its stream (offset of the first wire byte, chunk framing
    /// included) and how many stream bytes it spans.
    pub stream_offset: u64,
    pub stream_length: u64,
    /// Shared when equal to a common value ([`BodyContent::shared`]); changed through
    /// `DerefMut`, which copies a shared one first.
    pub content: std::sync::Arc<BodyContent>,
}

/// What a body held: digests, codings and the bytes kept.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BodyContent {
    /// SHA-256 of the de-chunked body (`None` when bytes are missing: gap, truncation) and of
    /// the decoded body (`None` when it could not be decoded completely).
    pub digests: Digests,
    /// Content-Encoding applied, lower-case, in the order the sender applied them.
    pub content_encoding: Vec<String>,
    /// The decoded body, when the analysis was asked to keep bodies (and it fit the budget).
    pub kept: Option<std::sync::Arc<[u8]>>,
    /// The de-chunked, not decoded body, when kept (exports write it back as sent).
    pub wire_kept: Option<std::sync::Arc<[u8]>>,
    /// The first bytes (at most `HttpOptions::head_max`) of the decoded body, kept for the
    /// stage layer when the exchange looked relevant to it; equal to `kept` when that is set.
    pub head: Option<std::sync::Arc<[u8]>>,
}

/// A body's two digests, mostly equal (no content coding) or one of them unknown: the one
/// digest is kept once, a second only when they differ (48 bytes, not 66).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Digests {
    sha: [u8; 32],
    /// The decoded digest when it differs from the wire one.
    decoded: Option<Box<[u8; 32]>>,
    /// Bit 0: the wire digest is known; bit 1: the decoded one.
    known: u8,
}

impl Digests {
    pub fn new(wire: Option<[u8; 32]>, decoded: Option<[u8; 32]>) -> Digests {
        match (wire, decoded) {
            (Some(w), Some(d)) => Digests {
                sha: w,
                decoded: (w != d).then(|| Box::new(d)),
                known: 3,
            },
            (Some(w), None) => Digests {
                sha: w,
                decoded: None,
                known: 1,
            },
            (None, Some(d)) => Digests {
                sha: d,
                decoded: None,
                known: 2,
            },
            (None, None) => Digests::default(),
        }
    }
    /// SHA-256 of the de-chunked body.
    pub fn wire(&self) -> Option<[u8; 32]> {
        (self.known & 1 != 0).then_some(self.sha)
    }
    /// SHA-256 of the decoded body.
    pub fn decoded(&self) -> Option<[u8; 32]> {
        (self.known & 2 != 0).then(|| self.decoded.as_deref().copied().unwrap_or(self.sha))
    }
}

impl fmt::Debug for Digests {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Digests")
            .field("wire", &self.wire())
            .field("decoded", &self.decoded())
            .finish()
    }
}

impl BodyContent {
    /// SHA-256 of the de-chunked body; `None` when bytes are missing (gap, truncation).
    pub fn wire_sha256(&self) -> Option<[u8; 32]> {
        self.digests.wire()
    }
    /// SHA-256 of the decoded body; `None` when it could not be decoded completely.
    pub fn decoded_sha256(&self) -> Option<[u8; 32]> {
        self.digests.decoded()
    }
    /// The content in an `Arc`: one shared with every equal body when it is a common value
    /// (nothing known; an empty body, kept or not), a new one otherwise.
    pub fn shared(self) -> std::sync::Arc<BodyContent> {
        use std::sync::{Arc, OnceLock};
        static COMMON: OnceLock<[Arc<BodyContent>; 3]> = OnceLock::new();
        let common = COMMON.get_or_init(|| {
            let empty_sha = Some(<[u8; 32]>::from(sha2::Sha256::digest(b"")));
            let empty = BodyContent {
                digests: Digests::new(empty_sha, empty_sha),
                ..BodyContent::default()
            };
            let empty_kept = BodyContent {
                kept: Some(Arc::from(&b""[..])),
                ..empty.clone()
            };
            [
                Arc::new(BodyContent::default()),
                Arc::new(empty),
                Arc::new(empty_kept),
            ]
        });
        match common.iter().find(|c| ***c == self) {
            Some(c) => Arc::clone(c),
            None => Arc::new(self),
        }
    }
}

use sha2::Digest as _;

impl Default for Body {
    fn default() -> Body {
        Body {
            wire_length: 0,
            decoded_length: None,
            complete: false,
            stream_offset: 0,
            stream_length: 0,
            content: BodyContent::default().shared(),
        }
    }
}

impl std::ops::Deref for Body {
    type Target = BodyContent;
    fn deref(&self) -> &BodyContent {
        &self.content
    }
}

impl std::ops::DerefMut for Body {
    fn deref_mut(&mut self) -> &mut BodyContent {
        std::sync::Arc::make_mut(&mut self.content)
    }
}

impl Body {
    /// The decoded bytes available: the whole body when kept, else its head.
    pub fn bytes(&self) -> Option<&[u8]> {
        self.kept.as_deref().or(self.head.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Token,
    /// Request target exactly as sent (origin-form, absolute-form, authority-form or `*`).
    pub target: String,
    /// "HTTP/1.1" or "HTTP/1.0".
    pub version: Token,
    pub headers: Headers,
    pub body: Body,
}

impl Request {
    /// The `Host` header, or HTTP/2's `:authority` pseudo-header (which takes its place,
    /// RFC 9113 section 8.3.1; HTTP/1 header names cannot start with a colon).
    pub fn host(&self) -> Option<&str> {
        // One walk of the list for both names: this is asked several times per exchange.
        let mut host = None;
        for (name, value) in self.headers.iter() {
            if name == ":authority" {
                return Some(value);
            }
            if host.is_none() && name.eq_ignore_ascii_case("host") {
                host = Some(value);
            }
        }
        host
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub version: Token,
    pub status: u16,
    pub reason: Token,
    pub headers: Headers,
    /// 1xx statuses received before this final response (not 101).
    pub interim_statuses: Vec<u16>,
    pub body: Body,
}

/// How much of an exchange the capture holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaptureState {
    /// Request and response, both complete.
    Full,
    /// Both halves began, but bytes are missing or one ended early (gap, capture end, reset).
    Truncated,
    /// A response whose request was sent before the capture started.
    ResponseOnly,
    /// A request that got no response in the capture.
    NoResponse,
}

impl CaptureState {
    pub fn as_str(self) -> &'static str {
        match self {
            CaptureState::Full => "full",
            CaptureState::Truncated => "truncated",
            CaptureState::ResponseOnly => "response_only",
            CaptureState::NoResponse => "no_response",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// The HTTP version an exchange was carried by (the request line's minor version, 1.0 or
/// 1.1, is in [`Request::version`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HttpVersion {
    #[default]
    Http1,
    Http2,
    Http3,
}

impl HttpVersion {
    /// From a version text as archives write it: `HTTP/1.1`, `HTTP/2.0`, `h2`, `http/3` …
    pub fn from_text(text: &str) -> HttpVersion {
        let t = text.trim().to_ascii_lowercase();
        if t.starts_with("http/2") || t == "h2" || t == "h2c" {
            HttpVersion::Http2
        } else if t.starts_with("http/3") || t == "h3" {
            HttpVersion::Http3
        } else {
            HttpVersion::Http1
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            HttpVersion::Http1 => "HTTP/1",
            HttpVersion::Http2 => "HTTP/2",
            HttpVersion::Http3 => "HTTP/3",
        }
    }
}

/// When each half of an exchange started and ended (arrival of first and last byte).
///
/// Four instants in 48 bytes, not four `Option<Arrival>` (96): an exchange of a big capture
/// or HAR holds one. The frame numbers sit behind a pointer, and only when one is known (a
/// trace archive's exchanges have none).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Timing {
    /// request start, request end, response start, response end; set when `known` says so.
    ts: [Ts; 4],
    frames: Option<Box<[FrameNo; 4]>>,
    /// Bit `i`: `ts[i]` is set.
    known: u8,
}

const REQUEST_START: usize = 0;
const REQUEST_END: usize = 1;
const RESPONSE_START: usize = 2;
const RESPONSE_END: usize = 3;

impl Timing {
    pub fn new(
        request_start: Option<Arrival>,
        request_end: Option<Arrival>,
        response_start: Option<Arrival>,
        response_end: Option<Arrival>,
    ) -> Timing {
        let mut t = Timing::default();
        t.set(REQUEST_START, request_start);
        t.set(REQUEST_END, request_end);
        t.set(RESPONSE_START, response_start);
        t.set(RESPONSE_END, response_end);
        t
    }
    fn get(&self, i: usize) -> Option<Arrival> {
        (self.known & (1 << i) != 0).then(|| Arrival {
            frame: self.frames.as_ref().map_or(FrameNo(0), |f| f[i]),
            ts: self.ts[i],
        })
    }
    fn set(&mut self, i: usize, at: Option<Arrival>) {
        match at {
            Some(a) => {
                self.known |= 1 << i;
                self.ts[i] = a.ts;
                if let Some(frames) = &mut self.frames {
                    frames[i] = a.frame;
                } else if a.frame != FrameNo(0) {
                    let mut frames = Box::new([FrameNo(0); 4]);
                    frames[i] = a.frame;
                    self.frames = Some(frames);
                }
            }
            None => {
                self.known &= !(1 << i);
                self.ts[i] = Ts(0);
                if let Some(frames) = &mut self.frames {
                    frames[i] = FrameNo(0);
                }
            }
        }
    }
    pub fn request_start(&self) -> Option<Arrival> {
        self.get(REQUEST_START)
    }
    pub fn request_end(&self) -> Option<Arrival> {
        self.get(REQUEST_END)
    }
    pub fn response_start(&self) -> Option<Arrival> {
        self.get(RESPONSE_START)
    }
    pub fn response_end(&self) -> Option<Arrival> {
        self.get(RESPONSE_END)
    }
    pub fn set_request_start(&mut self, at: Option<Arrival>) {
        self.set(REQUEST_START, at)
    }
    pub fn set_request_end(&mut self, at: Option<Arrival>) {
        self.set(REQUEST_END, at)
    }
    pub fn set_response_start(&mut self, at: Option<Arrival>) {
        self.set(RESPONSE_START, at)
    }
    pub fn set_response_end(&mut self, at: Option<Arrival>) {
        self.set(RESPONSE_END, at)
    }
    /// The earliest arrival of the exchange, used to order exchanges.
    pub fn first(&self) -> Option<Arrival> {
        self.request_start().or(self.response_start())
    }
}

impl fmt::Debug for Timing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timing")
            .field("request_start", &self.request_start())
            .field("request_end", &self.request_end())
            .field("response_start", &self.response_start())
            .field("response_end", &self.response_end())
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    pub id: ExchId,
    pub connection: ConnId,
    pub scheme: Scheme,
    pub http_version: HttpVersion,
    /// The HTTP/2 stream that carried the exchange; None for HTTP/1.
    pub stream: Option<Box<StreamInfo>>,
    pub capture: CaptureState,
    /// Boxed, like `response`: an exchange of a big capture stays small in the analysis's vector.
    pub request: Option<Box<Request>>,
    pub response: Option<Box<Response>>,
    pub timing: Timing,
    /// What became of the connection after this exchange: a CONNECT tunnel or a protocol
    /// switch (101) ends HTTP/1 parsing on it.
    pub upgrade: Option<Upgrade>,
    /// The CONNECT exchange (of the same analysis) whose tunnel carried this one: its
    /// connection is the same proxy connection, and its target is the host when the request
    /// names none. From packets: the HTTP inside a CONNECT 2xx tunnel; from a Fiddler SAZ:
    /// the latest earlier CONNECT session from the same client endpoint.
    pub tunnel: Option<TunnelLink>,
    /// What a trace archive (Fiddler SAZ, HAR) recorded about the exchange beyond the HTTP
    /// messages; None for exchanges reconstructed from packets.
    pub annotations: Option<Box<Annotations>>,
    /// Discovery stage (stage layer); shared, as most exchanges of a big capture carry the
    /// same "unrelated" tag.
    pub stage: Option<std::sync::Arc<StageTag>>,
    /// Decoded authentication headers (stage layer); None when there were none.
    pub auth: Option<Box<AuthFacts>>,
}

/// An HTTP/2 stream's facts beyond its messages (RFC 9113).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamInfo {
    /// The stream identifier (odd: opened by the client; even: pushed by the server).
    pub id: u32,
    /// A pushed stream: the stream whose PUSH_PROMISE announced it.
    pub promised_by: Option<u32>,
    /// Stream 1 after an HTTP/1.1 `Upgrade: h2c` (RFC 9113 section 3.2): its request is a copy
    /// of that HTTP/1.1 request, which stays the exchange before, answered 101.
    pub upgrade_request: bool,
    /// RST_STREAM ended the stream: who sent it and its error code's name.
    pub reset: Option<StreamReset>,
    /// The stream's frames in the order they were read, the first [`H2Frame::CAP`] of them.
    pub frames: Vec<H2Frame>,
    /// Frames of the stream past [`H2Frame::CAP`], counted but not kept.
    pub frames_dropped: u32,
}

/// One HTTP/2 frame of a stream (RFC 9113 section 4.1), as small as the facts allow: 24 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H2Frame {
    /// The frame type (`DATA` = 0 … `CONTINUATION` = 9).
    pub kind: u8,
    pub flags: u8,
    pub dir: Dir,
    /// The payload length from the frame header.
    pub len: u32,
    /// The packet that completed the frame (Wireshark lists a frame there).
    pub at: Arrival,
}

impl H2Frame {
    /// Frames kept per stream; a 1 MB body in 16 KiB DATA frames is 64.
    pub const CAP: usize = 256;

    /// The frame type's name (RFC 9113 section 6).
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            0x0 => "DATA",
            0x1 => "HEADERS",
            0x2 => "PRIORITY",
            0x3 => "RST_STREAM",
            0x4 => "SETTINGS",
            0x5 => "PUSH_PROMISE",
            0x6 => "PING",
            0x7 => "GOAWAY",
            0x8 => "WINDOW_UPDATE",
            0x9 => "CONTINUATION",
            _ => "unknown",
        }
    }

    /// The names of the flags set that the frame's type defines (RFC 9113 section 6): bit
    /// 0x1 is END_STREAM on DATA and HEADERS but ACK on SETTINGS and PING.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let defined: &[(u8, &'static str)] = match self.kind {
            0x0 => &[(0x1, "END_STREAM"), (0x8, "PADDED")],
            0x1 => &[
                (0x1, "END_STREAM"),
                (0x4, "END_HEADERS"),
                (0x8, "PADDED"),
                (0x20, "PRIORITY"),
            ],
            0x4 | 0x6 => &[(0x1, "ACK")],
            0x5 => &[(0x4, "END_HEADERS"), (0x8, "PADDED")],
            0x9 => &[(0x4, "END_HEADERS")],
            _ => &[],
        };
        defined
            .iter()
            .filter(|(bit, _)| self.flags & bit != 0)
            .map(|(_, name)| *name)
            .collect()
    }
}

/// An RST_STREAM (RFC 9113 section 6.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamReset {
    pub by_client: bool,
    pub code: u32,
    /// The error code's name (`CANCEL`, `HTTP_1_1_REQUIRED` …), or `0x…` for an unknown one.
    pub name: String,
}

/// [`Exchange::tunnel`]: the CONNECT exchange whose tunnel carried an exchange, in 4 bytes
/// (an `Option<ExchId>` would take 8 and make every exchange 8 bytes bigger).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TunnelLink(std::num::NonZeroU32);

impl TunnelLink {
    /// None only for the last possible id.
    pub fn new(connect: ExchId) -> Option<TunnelLink> {
        connect
            .0
            .checked_add(1)
            .and_then(std::num::NonZeroU32::new)
            .map(TunnelLink)
    }

    /// The CONNECT exchange.
    pub fn connect(self) -> ExchId {
        ExchId(self.0.get() - 1)
    }

    /// The same link after the exchanges were numbered anew (`new_id` of the old id).
    pub fn renumbered(self, new_id: impl FnOnce(u32) -> u32) -> Option<TunnelLink> {
        TunnelLink::new(ExchId(new_id(self.connect().0)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upgrade {
    /// CONNECT answered 2xx: the rest of the connection is a tunnel.
    Tunnel,
    /// 101 Switching Protocols to the named protocol (`Upgrade` header).
    Protocol(String),
}

/// What the application-layer bytes of a connection turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppProtocol {
    Http1,
    Http2,
    Tls,
    /// DNS over TCP.
    Dns,
    Unknown,
    /// No payload at all.
    Empty,
}

impl AppProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            AppProtocol::Http1 => "http/1",
            AppProtocol::Http2 => "http/2",
            AppProtocol::Tls => "tls",
            AppProtocol::Dns => "dns",
            AppProtocol::Unknown => "unknown",
            AppProtocol::Empty => "empty",
        }
    }
}

/// How a TCP direction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamEnd {
    Fin,
    Rst,
    /// The capture ended with the direction still open.
    CaptureEnd,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    pub id: ConnId,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub first_seen: Ts,
    pub last_seen: Ts,
    pub first_frame: FrameNo,
    pub last_frame: FrameNo,
    /// TCP segments of this connection, both directions.
    pub packets: u64,
    /// Bytes on the wire (frame lengths), both directions.
    pub bytes: u64,
    /// TCP payload bytes per direction, `[client→server, server→client]`.
    pub payload_bytes: [u64; 2],
    /// The three-way handshake (a SYN) was seen; false when the capture starts mid-connection.
    pub handshake: bool,
    pub end: [StreamEnd; 2],
    pub protocol: AppProtocol,
    pub exchanges: Vec<ExchId>,
    /// Bytes the capture missed per direction (holes that were never filled).
    pub missing_bytes: [u64; 2],
    /// What the TLS handshake said and whether the connection was decrypted (TLS only).
    pub tls: Option<TlsInfo>,
    /// The server answered the SYN (a SYN-ACK was seen).
    pub syn_ack: bool,
    /// Transport pseudo-stage (`tcp-tls`) for connections to discovery hosts that carried no
    /// HTTP exchange (stage layer).
    pub stage: Option<StageTag>,
    /// HTTP/2 (direct, h2c, or inside a CONNECT tunnel): its connection-level frames.
    pub h2_control: Option<H2ControlFrames>,
}

/// The frames of an HTTP/2 connection on stream 0 (RFC 9113 section 5.1.1), counted by type,
/// both directions: a SETTINGS storm, keep-alive PINGs, a GOAWAY, flow control at work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct H2ControlFrames {
    pub settings: u32,
    pub ping: u32,
    pub goaway: u32,
    pub window_update: u32,
    /// Any other type on stream 0 (a peer's error, or an extension's frame).
    pub other: u32,
}

impl Connection {
    /// A connection known only by its endpoints (a trace archive's, or one a UI lists while
    /// loading): no packets counted, times unset until its exchanges give them, and the
    /// server answered (whoever recorded the exchanges saw it do so).
    pub fn from_endpoints(id: ConnId, client: SocketAddr, server: SocketAddr) -> Connection {
        Connection {
            id,
            client,
            server,
            first_seen: Ts(i64::MAX),
            last_seen: Ts(i64::MIN),
            first_frame: FrameNo(0),
            last_frame: FrameNo(0),
            packets: 0,
            bytes: 0,
            payload_bytes: [0, 0],
            handshake: false,
            end: [StreamEnd::CaptureEnd, StreamEnd::CaptureEnd],
            protocol: AppProtocol::Http1,
            exchanges: Vec::new(),
            missing_bytes: [0, 0],
            tls: None,
            syn_ack: true,
            stage: None,
            h2_control: None,
        }
    }
}

/// The server certificate, as shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CertificateInfo {
    pub subject: String,
    pub issuer: String,
    /// Subject alternative names (DNS names and addresses).
    pub sans: Vec<String>,
    /// RFC 3339, UTC.
    pub not_before: String,
    pub not_after: String,
}

/// TLS facts of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsInfo {
    /// "SSL 3.0", "TLS 1.0" … "TLS 1.3"; None when no ServerHello was seen.
    pub version: Option<String>,
    /// IANA name, e.g. "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".
    pub cipher_suite: Option<String>,
    pub sni: Option<String>,
    /// The protocol the server chose by ALPN ("http/1.1", "h2").
    pub alpn: Option<String>,
    pub certificate: Option<CertificateInfo>,
    /// Application data was decrypted (both directions as far as they went).
    pub decrypted: bool,
    /// Where the keys came from: a key log file, the capture's embedded secrets, an RSA key
    /// file, or the connection whose session this one resumed.
    pub key_source: Option<String>,
    /// Why the connection was not (fully) decrypted, in plain words.
    pub reason: Option<String>,
    /// An abbreviated (resumed) handshake.
    pub resumed: bool,
    /// Application data bytes decrypted, `[client→server, server→client]`.
    pub plaintext_bytes: [u64; 2],
    /// A ClientHello was read (false for a trace archive's connection, which records no
    /// handshake, and for a capture that starts after the handshake).
    pub client_hello: bool,
    /// A ServerHello was read (a HelloRetryRequest does not count). A ClientHello without one
    /// is a handshake the server never answered.
    pub server_hello: bool,
    /// The certificate chain of the server's Certificate message, leaf first, as sent (empty
    /// when none was read: TLS 1.3 sends it encrypted). `certificate` is the first one's
    /// facts.
    pub chain: Vec<ChainCertificate>,
    /// Alerts in either direction, in order, as far as they could be read.
    pub alerts: Vec<TlsAlert>,
    /// Handshake messages read, both directions, in order (at most
    /// [`TlsInfo::MAX_HANDSHAKE_MESSAGES`]).
    pub handshake_messages: Vec<HandshakeMessage>,
    /// The client gave up after the server's Certificate ([`ClientAbort`]).
    pub client_abort: Option<ClientAbort>,
}

impl TlsInfo {
    /// Handshake messages kept per connection (a long TLS 1.3 connection may carry many
    /// tickets and key updates).
    pub const MAX_HANDSHAKE_MESSAGES: usize = 32;

    /// A certificate of the chain names an issuer the chain does not contain (and is not
    /// self-signed): the client must find that issuer in its own store. Normal for a public
    /// CA (the root is not sent); for a private CA the client needs it installed, and a
    /// missing intermediate shows here too.
    pub fn chain_incomplete(&self) -> bool {
        self.unknown_issuer().is_some()
    }

    /// The first issuer (from the leaf up) that is neither in the chain nor the certificate
    /// itself.
    pub fn unknown_issuer(&self) -> Option<&str> {
        self.chain
            .iter()
            .find(|c| !c.unparsed && !c.issuer_in_chain)
            .map(|c| c.certificate.issuer.as_str())
    }

    /// The first fatal alert, if any.
    pub fn fatal_alert(&self) -> Option<&TlsAlert> {
        self.alerts.iter().find(|a| a.is_fatal())
    }
}

/// The whole result of an analysis. Frozen: built once, then only read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Analysis {
    pub inputs: Vec<InputInfo>,
    pub connections: Vec<Connection>,
    pub exchanges: Vec<Exchange>,
    pub diagnostics: Vec<Diagnostic>,
    /// Key log lines found inside the inputs (pcapng Decryption Secrets Blocks), kept for TLS.
    pub embedded_keylog: Vec<String>,
    /// Frames read, all inputs together.
    pub frames: u64,
    /// DNS lookups, in order of their first message; ids are indexes.
    pub dns: Vec<DnsLookup>,
    /// Proxy auto-discovery requests outside unicast DNS (LLMNR, NetBIOS, DHCP option 252),
    /// in capture order (docs/checks.md C-PROXY-3).
    pub wpad_probes: Vec<WpadProbe>,
    /// Results of the automatic checks (stage layer).
    pub findings: Vec<Finding>,
    /// One sign-in summary per client (stage layer).
    pub signin: Vec<SigninSummary>,
    /// The stages of the rules that tagged this analysis, in flow order (empty without rules).
    pub stages: Vec<StageInfo>,
    /// A provisional analysis a UI shows while the inputs are still read: the exchanges
    /// completed so far, without stages, TLS facts, authentication, findings or bodies.
    pub partial: bool,
}

impl Analysis {
    pub fn connection(&self, id: ConnId) -> &Connection {
        &self.connections[id.0 as usize]
    }
    pub fn exchange(&self, id: ExchId) -> &Exchange {
        &self.exchanges[id.0 as usize]
    }
    pub fn lookup(&self, id: DnsId) -> &DnsLookup {
        &self.dns[id.0 as usize]
    }
}

impl fmt::Display for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.div_euclid(1_000_000_000);
        let n = self.0.rem_euclid(1_000_000_000);
        write!(f, "{s}.{n:09}")
    }
}

/// Formats an endpoint the way the report does: "ip:port", IPv6 as "[addr]:port".
pub fn endpoint(addr: &SocketAddr) -> String {
    addr.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A builder takes the wire's bytes: UTF-8 stays as it is, anything else gets
    /// replacement characters, lengths of several 6-bit groups included, in the valid and the
    /// replaced case alike.
    #[test]
    fn builder_takes_bytes_and_replaces_what_is_not_utf8() {
        let long_name = "n".repeat(70);
        let long_value = "v".repeat(5000);
        let mut b = HeadersBuilder::default();
        b.push(b"x-name", "caf\u{e9}".as_bytes());
        b.push(long_name.as_bytes(), long_value.as_bytes());
        let h = b.take();
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            [("x-name", "caf\u{e9}"), (&*long_name, &*long_value)]
        );
        b.push(b"x-bad", b"a\xffb\xc3");
        b.push(long_name.as_bytes(), long_value.as_bytes());
        let h = b.take();
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            [("x-bad", "a\u{fffd}b\u{fffd}"), (&*long_name, &*long_value)]
        );
        assert!(b.take().is_empty());
    }

    #[test]
    fn headers_keep_order_and_case() {
        let h = Headers::from_pairs([("Host", "a"), ("X-A", "1"), ("x-a", "2")]);
        assert_eq!(h.get("HOST"), Some("a"));
        assert_eq!(h.get_all("X-A").collect::<Vec<_>>(), vec!["1", "2"]);
        assert_eq!(h.iter().next(), Some(("Host", "a")));
        let long = "v".repeat(5000);
        let h = Headers::from_pairs([("", ""), ("X-Long", long.as_str()), ("é", "ü")]);
        let got: Vec<(&str, &str)> = h.iter().collect();
        assert_eq!(got, [("", ""), ("X-Long", long.as_str()), ("é", "ü")]);
        assert_eq!(h.len(), 3);
        assert!(Headers::default().is_empty());
    }

    /// The archives' timer names are written again in [`KNOWN_TOKENS`] (a const array cannot
    /// be joined from two): every one must be there, or each timer of each exchange becomes an
    /// allocation.
    #[test]
    fn archive_timer_names_are_known_tokens() {
        for name in archive::saz::TIMER_NAMES
            .iter()
            .chain([&archive::har::STARTED_TIMER])
        {
            assert!(known_token(name).is_some(), "{name}");
        }
    }

    /// A capture or HAR of hundreds of thousands of exchanges holds one of each per exchange
    /// (a body twice): issue 14's budget is 1 KiB an exchange in all, bodies' bytes included.
    /// A field added here should go behind a pointer when most exchanges do not need it.
    #[test]
    fn per_exchange_records_stay_small() {
        use std::mem::size_of;
        assert!(size_of::<Headers>() <= 16, "{}", size_of::<Headers>());
        assert!(size_of::<Token>() <= 16, "{}", size_of::<Token>());
        assert!(size_of::<Body>() <= 56, "{}", size_of::<Body>());
        assert!(
            size_of::<BodyContent>() <= 120,
            "{}",
            size_of::<BodyContent>()
        );
        assert!(size_of::<Request>() <= 144, "{}", size_of::<Request>());
        assert!(size_of::<Response>() <= 152, "{}", size_of::<Response>());
        assert!(size_of::<Timing>() <= 48, "{}", size_of::<Timing>());
        assert!(size_of::<Exchange>() <= 136, "{}", size_of::<Exchange>());
        assert!(size_of::<Origin>() <= 16, "{}", size_of::<Origin>());
        assert!(
            size_of::<Annotations>() <= 104,
            "{}",
            size_of::<Annotations>()
        );
    }

    #[test]
    fn empty_bodies_share_their_content() {
        let empty = || BodyContent {
            digests: Digests::new(
                Some(sha2::Sha256::digest(b"").into()),
                Some(sha2::Sha256::digest(b"").into()),
            ),
            ..BodyContent::default()
        };
        let (a, b) = (empty().shared(), empty().shared());
        assert!(std::sync::Arc::ptr_eq(&a, &b));
        // Changing a body's content copies the shared value first.
        let mut body = Body {
            content: a,
            ..Body::default()
        };
        body.kept = Some(std::sync::Arc::from(&b"x"[..]));
        assert_eq!(b.kept, None);
        assert!(Body::default().kept.is_none());
    }

    #[test]
    fn ts_float_keeps_microseconds() {
        let t = Ts::from_secs_nanos(1265682773, 126763000);
        assert_eq!(format!("{:.6}", t.as_secs_f64()), "1265682773.126763");
        assert_eq!(t.to_string(), "1265682773.126763000");
    }
}
