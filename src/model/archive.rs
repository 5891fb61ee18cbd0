//! What a trace archive (Fiddler SAZ, HAR) recorded about an exchange beyond its HTTP
//! messages, and the conventions its readers and writers share, so an archive read in and
//! written back keeps its timers, flags and WebSocket messages.

use super::{Token, Ts};

/// Facts a trace archive records about an exchange.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Annotations {
    /// Where it came from: "SAZ session 12", "HAR entry 3".
    pub origin: Origin,
    /// Proxy flags as recorded, e.g. Fiddler SessionFlags (x-clientip, https-client-sessionid,
    /// ui-comments, x-processinfo …), in file order.
    pub flags: Flags,
    /// Named instants the proxy recorded (Fiddler SessionTimers that are set), in file order.
    /// The names are the archive format's own, so mostly shared static strings.
    pub timers: Box<[(Token, Ts)]>,
    pub comment: Option<Box<str>>,
    pub color: Option<Box<str>>,
    /// The response was made by the proxy itself (Fiddler's CONNECT 200, 502 "connection
    /// failed", 408 …), not by the server.
    pub generated_by_proxy: bool,
    /// WebSocket messages carried after a 101.
    pub websocket: Box<[WebSocketMessage]>,
}

/// Where an archive's exchange came from, as its text says ("HAR entry 3"). A HAR entry's is
/// its number, written out when shown: a HAR of 200,000 entries holds no text for it.
#[derive(Clone, PartialEq, Eq)]
pub enum Origin {
    /// `log.entries[n]` of a HAR: "HAR entry n".
    HarEntry(u64),
    Text(Box<str>),
}

impl Default for Origin {
    fn default() -> Origin {
        Origin::Text(Box::default())
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::HarEntry(n) => write!(f, "{}{n}", har::ORIGIN),
            Origin::Text(text) => f.write_str(text),
        }
    }
}

impl std::fmt::Debug for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.to_string(), f)
    }
}

impl From<&str> for Origin {
    fn from(text: &str) -> Origin {
        Origin::Text(text.into())
    }
}

impl From<String> for Origin {
    fn from(text: String) -> Origin {
        Origin::Text(text.into())
    }
}

impl PartialEq<&str> for Origin {
    fn eq(&self, other: &&str) -> bool {
        match self {
            Origin::Text(text) => **text == **other,
            Origin::HarEntry(n) => other
                .strip_prefix(har::ORIGIN)
                .is_some_and(|digits| digits == n.to_string()),
        }
    }
}

/// Name/value pairs in order (an archive's flags), held in one allocation: each name and
/// value as its length (LEB128) then its UTF-8 bytes. A HAR of 200,000 small entries carries a
/// handful of flags (its `timings`) in each; a pair of Strings apiece cost several times the
/// text itself. A name of [`KNOWN_NAMES`] is written as its index instead (the number before
/// a name is twice its length, or twice the index plus one).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Flags(Box<[u8]>);

impl Flags {
    pub fn from_pairs<'a, I: IntoIterator<Item = (&'a str, &'a str)>>(pairs: I) -> Flags {
        let mut bytes = Vec::new();
        for (name, value) in pairs {
            match KNOWN_NAMES.iter().position(|&known| known == name) {
                Some(i) => put_number(&mut bytes, i * 2 + 1),
                None => {
                    put_number(&mut bytes, name.len() * 2);
                    bytes.extend_from_slice(name.as_bytes());
                }
            }
            put_number(&mut bytes, value.len());
            bytes.extend_from_slice(value.as_bytes());
        }
        Flags(bytes.into_boxed_slice())
    }
    pub fn len(&self) -> usize {
        self.iter().count()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let mut rest: &[u8] = &self.0;
        std::iter::from_fn(move || {
            let name = match next_number(&mut rest)? {
                n if n % 2 == 1 => *KNOWN_NAMES.get(n / 2)?,
                n => next_text(&mut rest, n / 2)?,
            };
            let len = next_number(&mut rest)?;
            Some((name, next_text(&mut rest, len)?))
        })
    }
    /// The value of the first flag named exactly `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
    /// Adds a flag at the end.
    pub fn push(&mut self, name: &str, value: &str) {
        *self = Flags::from_pairs(self.iter().chain([(name, value)]));
    }
    /// Keeps the flags `keep` says yes to, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        *self = Flags::from_pairs(self.iter().filter(|&(n, v)| keep(n, v)));
    }
}

/// Flag names written as a number, not a text: the ones nearly every HAR entry carries.
const KNOWN_NAMES: [&str; 11] = [
    "timings.blocked",
    "timings.dns",
    "timings.connect",
    "timings.ssl",
    "timings.send",
    "timings.wait",
    "timings.receive",
    "serverIPAddress",
    "connection",
    "pageref",
    "_priority",
];

/// Writes `n` as LEB128.
fn put_number(bytes: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        bytes.push((n & 0x7f) as u8 | 0x80);
        n >>= 7;
    }
    bytes.push(n as u8);
}

/// The next LEB128 number of [`Flags`], `rest` moved past it.
fn next_number(rest: &mut &[u8]) -> Option<usize> {
    let mut n = 0usize;
    let mut shift = 0;
    loop {
        let (&b, tail) = rest.split_first()?;
        *rest = tail;
        n |= usize::from(b & 0x7f).checked_shl(shift)?;
        if b < 0x80 {
            return Some(n);
        }
        shift += 7;
    }
}

/// The next `len` bytes of [`Flags`] as text, `rest` moved past them.
fn next_text<'a>(rest: &mut &'a [u8], len: usize) -> Option<&'a str> {
    let (text, tail) = rest.split_at_checked(len)?;
    *rest = tail;
    std::str::from_utf8(text).ok()
}

impl std::fmt::Debug for Flags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSocketMessage {
    pub from_client: bool,
    pub ts: Option<Ts>,
    /// "text", "binary", "close", "ping", "pong", "continuation".
    pub kind: String,
    pub payload: std::sync::Arc<[u8]>,
}

/// WebSocket opcode → the name kept in [`WebSocketMessage::kind`].
pub fn websocket_kind(opcode: u8) -> String {
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

/// [`WebSocketMessage::kind`] → its opcode (binary when unknown).
pub fn websocket_opcode(kind: &str) -> u8 {
    match kind {
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
    }
}

/// Fiddler's session archive: the names and bits its `_m.xml` uses.
pub mod saz {
    /// SessionFlags bits (Fiddler's `SessionFlags` enum, written in hexadecimal).
    pub const FLAG_IS_HTTPS: u64 = 0x1;
    pub const FLAG_RESPONSE_GENERATED: u64 = 0x100;
    pub const FLAG_RESPONSE_BODY_DROPPED: u64 = 0x20000;
    pub const FLAG_IS_WEBSOCKET: u64 = 0x40000;
    pub const FLAG_REQUEST_BODY_DROPPED: u64 = 0x100000;

    /// Prefix of pseudo-flags that carry `_m.xml` attributes other than SessionFlags
    /// (`saz:SID`, `saz:BitFlags`, `saz:Aborted`, `saz:DNSTime` …) so they survive a re-save.
    pub const PSEUDO: &str = "saz:";
    /// Flags of an exchange that was HTTP/2 on the wire, written as HTTP/1.1 like Fiddler
    /// Classic's own sessions (docs/archives.md): the version (`HTTP/2`) and the stream id.
    pub const HTTP_VERSION_FLAG: &str = "lyncscope-http-version";
    pub const H2_STREAM_FLAG: &str = "lyncscope-h2-stream";

    /// SessionTimers attributes in the order Fiddler writes them; the `*Time` ones are
    /// milliseconds, the others instants.
    pub const TIMER_NAMES: [&str; 16] = [
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
    pub const MS_TIMERS: [&str; 4] = [
        "GatewayTime",
        "DNSTime",
        "TCPConnectTime",
        "HTTPSHandshakeTime",
    ];
    /// A SessionTimers attribute name: one of [`TIMER_NAMES`] is shared, not copied.
    pub fn timer_name(name: &str) -> crate::model::Token {
        match TIMER_NAMES.iter().find(|&&known| known == name) {
            Some(&known) => known.into(),
            None => name.to_string().into(),
        }
    }
    /// `DateTime.MinValue`: the timer was never set.
    pub const UNSET_TIME: &str = "0001-01-01T00:00:00";
}

/// HAR: where the reader keeps what has no field of its own in the model.
pub mod har {
    /// Timer under which an entry's `startedDateTime` is kept, so export can give it back.
    pub const STARTED_TIMER: &str = "startedDateTime";
    /// [`super::Annotations::origin`] prefix of HAR entries.
    pub const ORIGIN: &str = "HAR entry ";
}

#[cfg(test)]
mod tests {
    use super::Flags;

    #[test]
    fn flags_keep_pairs_in_order() {
        let long = "x".repeat(300);
        let mut flags = Flags::from_pairs([("timings.wait", "1"), ("", ""), ("_note", &long)]);
        assert_eq!(flags.len(), 3);
        assert_eq!(flags.get("timings.wait"), Some("1"));
        flags.push("é", "ü");
        flags.retain(|n, _| !n.is_empty());
        let got: Vec<(&str, &str)> = flags.iter().collect();
        assert_eq!(
            got,
            [("timings.wait", "1"), ("_note", long.as_str()), ("é", "ü")]
        );
        assert_eq!(flags.get("_note"), Some(long.as_str()));
        assert!(Flags::default().is_empty());
    }
}
