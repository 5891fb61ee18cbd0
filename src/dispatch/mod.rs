//! Protocol dispatch: each reassembled connection (and each decrypted TLS stream) goes to the
//! application protocol its first bytes show, on any port.
//!
//! A [`Dispatcher`] holds the first bytes of both directions (bounded) and asks every
//! [`Recognizer`] of the [`Registry`], in order, whether it knows them; the first that says yes
//! gets a [`Protocol`] that is replayed the held bytes and fed the rest. TLS and DNS over TCP
//! are built in ([`tls`], [`dns`]); later layers plug their protocols in (the HTTP layer's
//! HTTP/1 and HTTP/2) when the pipeline builds the registry. Adding a protocol = a recognizer and a
//! protocol in its own folder, and one entry in the registry.

pub mod collector;
pub mod dns;
pub mod tls;

use crate::model::{AppProtocol, Arrival, Diagnostic, Dir, Exchange, Scheme, StreamEnd, TlsInfo};
use crate::net::stream::{ConnFacts, StreamSink};
use std::sync::Arc;

pub use collector::Collector;

/// A prefix's verdict: is this protocol's start there?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Yes,
    No,
    /// Not enough bytes to tell yet.
    NeedMore,
}

/// What a recognizer may look at besides the bytes.
#[derive(Debug, Clone, Copy)]
pub struct SniffContext {
    pub facts: ConnFacts,
    /// `Https` inside a decrypted TLS stream.
    pub scheme: Scheme,
    /// Per direction (client, server): no more bytes will come to decide on (the prefix is at
    /// its limit, or the direction ended or has a gap).
    pub settled: [bool; 2],
    /// Inside TLS, the handshake chose HTTP/2 by ALPN ("h2", or a draft's "h2-NN"): the
    /// stream is HTTP/2 even when its preface was not captured.
    pub alpn_h2: bool,
}

/// Recognises one application protocol from a connection's first bytes and starts it.
pub trait Recognizer: Send + Sync {
    /// `prefixes` = the first bytes of [client → server, server → client] (either may be
    /// empty), at most [`SNIFF_LIMIT`] each.
    fn sniff(&self, cx: &SniffContext, prefixes: [&[u8]; 2]) -> Verdict;
    /// For a connection whose handshake was not captured: does the side that sent these first
    /// bytes look like the client (`Some(true)`) or the server (`Some(false)`)?
    fn sender_is_client(&self, _first: &[u8]) -> Option<bool> {
        None
    }
    /// The protocol state for a connection it recognised. `registry` is for protocols that
    /// carry others (TLS hands its plaintext to a new dispatcher).
    fn open(&self, facts: ConnFacts, scheme: Scheme, registry: &Arc<Registry>)
        -> Box<dyn Protocol>;
    /// The dispatcher gives up on a connection no recognizer claimed (all said no, or too
    /// many bytes were held): may this protocol take it on trial? For a stream the capture
    /// joined in the middle of a message, whose first message start lies past what was held.
    /// A protocol on trial that finds nothing reports [`AppProtocol::Unknown`] and no output.
    fn adopt(&self, _cx: &SniffContext) -> Option<Box<dyn Protocol>> {
        None
    }
}

/// One application protocol running on a connection's two byte streams.
pub trait Protocol: StreamSink + Send {
    fn kind(&self) -> AppProtocol;
    /// Waiting for something only the whole capture gives (a resumed TLS session's secret).
    fn waiting(&self) -> bool {
        false
    }
    /// The whole capture is read: finish what [`Protocol::waiting`] held back.
    fn resolve(&mut self) {}
    /// Everything it made of the connection.
    fn finish(self: Box<Self>) -> Finished;
}

/// What a protocol made of a connection. Exchange ids are local (`ExchId(0)` first) and
/// diagnostics point at them; the collector gives them their place in the analysis.
#[derive(Debug, Default)]
pub struct Finished {
    pub exchanges: Vec<Exchange>,
    pub diagnostics: Vec<Diagnostic>,
    pub tls: Option<TlsInfo>,
    pub dns: Option<crate::dns::DnsCollector>,
    /// HTTP/2's frames on stream 0.
    pub h2_control: Option<crate::model::H2ControlFrames>,
}

/// The protocols a dispatcher chooses from, in the order they are asked.
pub struct Registry {
    recognizers: Vec<Box<dyn Recognizer>>,
    /// The registry for the bytes of a proxy tunnel (after `CONNECT` → 2xx) found on a
    /// connection of this one; None: tunnels are not looked into. The pipeline gives the
    /// top-level registry one whose own is None, so tunnels nest at most one level deep.
    tunnel: Option<Arc<Registry>>,
}

impl Registry {
    pub fn new(recognizers: Vec<Box<dyn Recognizer>>) -> Registry {
        Registry {
            recognizers,
            tunnel: None,
        }
    }

    /// This registry, looking into proxy tunnels with `inner`.
    pub fn with_tunnels(mut self, inner: Arc<Registry>) -> Registry {
        self.tunnel = Some(inner);
        self
    }

    /// See [`Registry::with_tunnels`].
    pub fn tunnels(&self) -> Option<&Arc<Registry>> {
        self.tunnel.as_ref()
    }

    /// Which side sent these first bytes, by the first recognizer that can tell.
    pub fn sender_is_client(&self, first: &[u8]) -> Option<bool> {
        self.recognizers
            .iter()
            .find_map(|r| r.sender_is_client(first))
    }
}

/// How many bytes of each direction may be held while deciding.
pub const SNIFF_LIMIT: usize = 16 * 1024;

enum Held {
    Data(Dir, u64, Vec<u8>, Arrival),
    Gap(Dir, u64, u64, Arrival),
    End(Dir, u64, StreamEnd, Arrival),
}

enum State {
    /// Not decided yet: the first bytes are held (bounded) and replayed once it is.
    Sniffing {
        held: Vec<Held>,
        held_bytes: usize,
        prefix: [Vec<u8>; 2],
    },
    Running(Box<dyn Protocol>),
    /// Nothing to parse (unknown protocol, or no payload).
    Opaque(AppProtocol),
}

/// The stream sink of one connection (or of one decrypted TLS stream): sniffs, then forwards.
pub struct Dispatcher {
    facts: ConnFacts,
    scheme: Scheme,
    registry: Arc<Registry>,
    state: State,
    alpn_h2: bool,
}

impl Dispatcher {
    pub fn new(facts: ConnFacts, scheme: Scheme, registry: Arc<Registry>) -> Dispatcher {
        Dispatcher {
            facts,
            scheme,
            registry,
            alpn_h2: false,
            state: State::Sniffing {
                held: Vec::new(),
                held_bytes: 0,
                prefix: [Vec::new(), Vec::new()],
            },
        }
    }

    fn decide(&mut self) {
        let State::Sniffing {
            prefix,
            held,
            held_bytes,
        } = &mut self.state
        else {
            return;
        };
        let ended = |d: Dir| {
            held.iter()
                .any(|h| matches!(h, Held::End(x, ..) | Held::Gap(x, ..) if *x == d))
        };
        let full = |d: Dir| prefix[d.index()].len() >= SNIFF_LIMIT || ended(d);
        let cx = SniffContext {
            facts: self.facts,
            scheme: self.scheme,
            settled: [full(Dir::ClientToServer), full(Dir::ServerToClient)],
            alpn_h2: self.alpn_h2,
        };
        let prefixes = [prefix[0].as_slice(), prefix[1].as_slice()];
        let mut undecided = false;
        let mut chosen = None;
        for r in &self.registry.recognizers {
            match r.sniff(&cx, prefixes) {
                Verdict::Yes => {
                    chosen = Some(r);
                    break;
                }
                Verdict::NeedMore => undecided = true,
                Verdict::No => {}
            }
        }
        let next = match chosen {
            Some(r) => State::Running(r.open(self.facts, self.scheme, &self.registry)),
            // Held bytes are bounded: past twice the limit, whatever is undecided is unknown
            // (unless a protocol takes it on trial).
            None if !undecided || *held_bytes > 2 * SNIFF_LIMIT => {
                if prefix.iter().all(Vec::is_empty) {
                    State::Opaque(AppProtocol::Empty)
                } else {
                    match self.registry.recognizers.iter().find_map(|r| r.adopt(&cx)) {
                        Some(p) => State::Running(p),
                        None => State::Opaque(AppProtocol::Unknown),
                    }
                }
            }
            None => return,
        };
        let held = std::mem::take(held);
        self.state = next;
        for h in held {
            match h {
                Held::Data(d, o, bytes, at) => self.on_data(d, o, &bytes, at),
                Held::Gap(d, o, l, at) => self.on_gap(d, o, l, at),
                Held::End(d, o, how, at) => self.on_end(d, o, how, at),
            }
        }
    }

    fn hold(&mut self, h: Held) {
        if let State::Sniffing {
            held,
            held_bytes,
            prefix,
        } = &mut self.state
        {
            if let Held::Data(d, _, bytes, _) = &h {
                let p = &mut prefix[d.index()];
                if p.len() < SNIFF_LIMIT {
                    let take = (SNIFF_LIMIT - p.len()).min(bytes.len());
                    p.extend_from_slice(&bytes[..take]);
                }
                *held_bytes += bytes.len();
            }
            held.push(h);
        }
        self.decide();
    }

    /// See [`Protocol::waiting`].
    pub fn waiting(&self) -> bool {
        matches!(&self.state, State::Running(p) if p.waiting())
    }

    pub fn resolve(&mut self) {
        if let State::Running(p) = &mut self.state {
            p.resolve();
        }
    }

    /// What the connection turned out to carry.
    pub fn protocol(&self) -> AppProtocol {
        match &self.state {
            State::Sniffing { prefix, .. } => {
                if prefix.iter().all(Vec::is_empty) {
                    AppProtocol::Empty
                } else {
                    AppProtocol::Unknown
                }
            }
            State::Running(p) => p.kind(),
            State::Opaque(p) => *p,
        }
    }

    pub fn finish(self) -> Finished {
        match self.state {
            State::Running(p) => p.finish(),
            State::Sniffing { .. } | State::Opaque(_) => Finished::default(),
        }
    }
}

impl StreamSink for Dispatcher {
    fn on_data(&mut self, dir: Dir, offset: u64, data: &[u8], at: Arrival) {
        match &mut self.state {
            State::Running(p) => p.on_data(dir, offset, data, at),
            State::Opaque(_) => {}
            State::Sniffing { .. } => self.hold(Held::Data(dir, offset, data.to_vec(), at)),
        }
    }
    fn on_gap(&mut self, dir: Dir, offset: u64, len: u64, at: Arrival) {
        match &mut self.state {
            State::Running(p) => p.on_gap(dir, offset, len, at),
            State::Opaque(_) => {}
            State::Sniffing { .. } => self.hold(Held::Gap(dir, offset, len, at)),
        }
    }
    fn on_end(&mut self, dir: Dir, offset: u64, how: StreamEnd, at: Arrival) {
        match &mut self.state {
            State::Running(p) => p.on_end(dir, offset, how, at),
            State::Opaque(_) => {}
            State::Sniffing { .. } => self.hold(Held::End(dir, offset, how, at)),
        }
    }
    fn on_alpn(&mut self, protocol: &str) {
        self.alpn_h2 = protocol == "h2" || protocol.starts_with("h2-");
    }
}
