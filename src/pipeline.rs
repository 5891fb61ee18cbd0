//! The only orchestrator: inputs → frames → connections → HTTP exchanges → frozen
//! [`Analysis`]. One pass over the files, in timestamp order across files.

use crate::capture::{Input, Merged, Record};
use crate::error::Result;
use crate::http::{self, HttpConnection, HttpOptions, Sniff};
use crate::model::{
    Analysis, AppProtocol, Arrival, Connection, Diagnostic, Dir, ExchId, Exchange, FrameNo,
    InputInfo, Scheme, Severity, StreamEnd,
};
use crate::net::reassembly::ReassemblyOptions;
use crate::net::stream::{ConnFacts, StreamSink};
use crate::net::{SinkFactory, Tracker};
use std::path::PathBuf;

/// Secrets type of a pcapng Decryption Secrets Block holding an NSS key log ("TLSK").
const DSB_TLS_KEY_LOG: u32 = 0x544c_534b;

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub http: HttpOptions,
    pub reassembly: ReassemblyOptions,
}

/// Reports progress while reading: bytes consumed and total bytes of all inputs.
pub trait Progress {
    fn update(&mut self, done: u64, total: u64);
}

impl Progress for () {
    fn update(&mut self, _: u64, _: u64) {}
}

/// Reads every input and reconstructs what is in it.
pub fn analyze(
    paths: &[PathBuf],
    options: &Options,
    progress: &mut dyn Progress,
) -> Result<Analysis> {
    let inputs = paths
        .iter()
        .map(|p| Input::open(p))
        .collect::<Result<Vec<_>>>()?;
    let total: u64 = inputs.iter().map(Input::len).sum();
    let mut merged = Merged::new(inputs.iter().map(Input::records).collect());
    let mut tracker = Tracker::new(
        Collector::new(options.http.clone()),
        options.reassembly.clone(),
    );
    let mut frames_per_input = vec![0u64; inputs.len()];
    let mut keylog = Vec::new();
    let mut frame_no = 0u64;
    while let Some((input, record)) = merged.next() {
        match record {
            Record::Frame(frame) => {
                frame_no += 1;
                frames_per_input[input] += 1;
                tracker.push(FrameNo(frame_no), &frame, &mut ());
                if frame_no % 8192 == 0 {
                    progress.update(merged.position(), total);
                }
            }
            Record::Secrets { kind, data } => {
                if kind == DSB_TLS_KEY_LOG {
                    keylog.extend(
                        String::from_utf8_lossy(data)
                            .lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .map(String::from),
                    );
                }
            }
        }
    }
    progress.update(total, total);

    let mut diagnostics = Vec::new();
    let mut input_infos = Vec::new();
    for (i, (records, input)) in merged.into_parts().into_iter().zip(&inputs).enumerate() {
        let truncated = records.damage().is_some();
        if records.skipped() > 0 {
            diagnostics.push(Diagnostic {
                input: Some(i),
                ..Diagnostic::new(
                    Severity::Warning,
                    format!(
                        "{}: {} packet records skipped (unknown interface or impossible length)",
                        input.path().display(),
                        records.skipped()
                    ),
                )
            });
        }
        if let Some(d) = records.damage() {
            diagnostics.push(Diagnostic {
                input: Some(i),
                ..Diagnostic::new(
                    Severity::Error,
                    format!(
                        "{}: reading stopped at byte {}: {}; the frames before it were analysed",
                        input.path().display(),
                        d.offset,
                        d.message
                    ),
                )
            });
        }
        input_infos.push(InputInfo {
            path: input.path().display().to_string(),
            format: input.format().name().to_string(),
            bytes: input.len(),
            frames: frames_per_input[i],
            link_types: records.link_types().iter().map(|l| l.name()).collect(),
            truncated,
        });
    }
    let ignored = tracker.ignored_frames;
    let malformed = tracker.malformed_frames;
    let out = tracker.finish();
    diagnostics.extend(out.diagnostics);
    if malformed > 20 {
        diagnostics.push(Diagnostic::new(
            Severity::Warning,
            format!("{malformed} frames could not be decoded (the first 20 are listed)"),
        ));
    }
    let _ = ignored;
    Ok(freeze(
        input_infos,
        out.connections,
        out.factory,
        diagnostics,
        keylog,
        frame_no,
    ))
}

/// Sorts exchanges by first arrival, gives final ids, links connections to them.
fn freeze(
    inputs: Vec<InputInfo>,
    mut connections: Vec<Connection>,
    collector: Collector,
    mut diagnostics: Vec<Diagnostic>,
    embedded_keylog: Vec<String>,
    frames: u64,
) -> Analysis {
    let Collector {
        mut exchanges,
        diagnostics: exchange_diagnostics,
        ..
    } = collector;
    diagnostics.extend(exchange_diagnostics);
    exchanges.sort_by_key(|e| {
        (
            e.timing
                .first()
                .map(|a| a.frame)
                .unwrap_or(FrameNo(u64::MAX)),
            e.connection,
            e.id,
        )
    });
    let mut new_id = vec![0u32; exchanges.len()];
    for (i, e) in exchanges.iter_mut().enumerate() {
        new_id[e.id.0 as usize] = i as u32;
        e.id = ExchId(i as u32);
        connections[e.connection.0 as usize].exchanges.push(e.id);
    }
    for d in &mut diagnostics {
        if let Some(x) = d.exchange.as_mut() {
            x.0 = new_id.get(x.0 as usize).copied().unwrap_or(x.0);
        }
    }
    diagnostics.sort_by_key(|d| {
        (
            d.input.is_none(),
            d.frame.unwrap_or(FrameNo(u64::MAX)),
            d.connection,
            d.exchange,
        )
    });
    Analysis {
        inputs,
        connections,
        exchanges,
        diagnostics,
        embedded_keylog,
        frames,
    }
}

/// What the first bytes of a connection say it carries.
enum AppSink {
    /// Not decided yet: the first bytes are held (bounded) and replayed once it is.
    Sniffing {
        facts: ConnFacts,
        held: Vec<Held>,
        held_bytes: usize,
        prefix: [Vec<u8>; 2],
        options: HttpOptions,
    },
    Http(Box<HttpConnection>),
    Opaque(AppProtocol),
}

enum Held {
    Data(Dir, u64, Vec<u8>, Arrival),
    Gap(Dir, u64, u64, Arrival),
    End(Dir, u64, StreamEnd, Arrival),
}

/// How many bytes of each direction may be held while deciding.
const SNIFF_LIMIT: usize = 16 * 1024;

fn looks_like_tls(prefix: &[u8]) -> bool {
    // A TLS handshake record: type 22, version 3.x.
    prefix.len() >= 3 && prefix[0] == 0x16 && prefix[1] == 3 && prefix[2] <= 4
}

impl AppSink {
    fn decide(&mut self) {
        let AppSink::Sniffing {
            prefix,
            held,
            held_bytes,
            facts,
            options,
        } = self
        else {
            return;
        };
        let ended = |d: Dir| {
            held.iter()
                .any(|h| matches!(h, Held::End(x, ..) | Held::Gap(x, ..) if *x == d))
        };
        let req = http::sniff_request(&prefix[0]);
        let resp = http::sniff_response(&prefix[1]);
        let full = |d: Dir| prefix[d.index()].len() >= SNIFF_LIMIT || ended(d);
        let verdict = if matches!(req, Sniff::Yes) || matches!(resp, Sniff::Yes) {
            Some(AppProtocol::Http1)
        } else if looks_like_tls(&prefix[0]) || looks_like_tls(&prefix[1]) {
            Some(AppProtocol::Tls)
        } else {
            let settled = |s: &Sniff, d: Dir| matches!(s, Sniff::No) || full(d);
            // Held bytes are bounded: past twice the limit, whatever is undecided is not HTTP.
            let both = settled(&req, Dir::ClientToServer) && settled(&resp, Dir::ServerToClient);
            if both || *held_bytes > 2 * SNIFF_LIMIT {
                Some(if prefix.iter().all(Vec::is_empty) {
                    AppProtocol::Empty
                } else {
                    AppProtocol::Unknown
                })
            } else {
                None
            }
        };
        let Some(verdict) = verdict else {
            return;
        };
        let held = std::mem::take(held);
        let mut next = match verdict {
            AppProtocol::Http1 => AppSink::Http(Box::new(HttpConnection::new(
                *facts,
                Scheme::Http,
                options.clone(),
            ))),
            other => AppSink::Opaque(other),
        };
        for h in held {
            match h {
                Held::Data(d, o, bytes, at) => next.on_data(d, o, &bytes, at),
                Held::Gap(d, o, l, at) => next.on_gap(d, o, l, at),
                Held::End(d, o, how, at) => next.on_end(d, o, how, at),
            }
        }
        *self = next;
    }

    fn hold(&mut self, h: Held) {
        if let AppSink::Sniffing {
            held,
            held_bytes,
            prefix,
            ..
        } = self
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

    fn protocol(&self) -> AppProtocol {
        match self {
            AppSink::Sniffing { prefix, .. } => {
                if prefix.iter().all(Vec::is_empty) {
                    AppProtocol::Empty
                } else {
                    AppProtocol::Unknown
                }
            }
            AppSink::Http(_) => AppProtocol::Http1,
            AppSink::Opaque(p) => *p,
        }
    }
}

impl StreamSink for AppSink {
    fn on_data(&mut self, dir: Dir, offset: u64, data: &[u8], at: Arrival) {
        match self {
            AppSink::Http(h) => h.on_data(dir, offset, data, at),
            AppSink::Opaque(_) => {}
            AppSink::Sniffing { .. } => self.hold(Held::Data(dir, offset, data.to_vec(), at)),
        }
    }
    fn on_gap(&mut self, dir: Dir, offset: u64, len: u64, at: Arrival) {
        match self {
            AppSink::Http(h) => h.on_gap(dir, offset, len, at),
            AppSink::Opaque(_) => {}
            AppSink::Sniffing { .. } => self.hold(Held::Gap(dir, offset, len, at)),
        }
    }
    fn on_end(&mut self, dir: Dir, offset: u64, how: StreamEnd, at: Arrival) {
        match self {
            AppSink::Http(h) => h.on_end(dir, offset, how, at),
            AppSink::Opaque(_) => {}
            AppSink::Sniffing { .. } => self.hold(Held::End(dir, offset, how, at)),
        }
    }
}

/// Creates an [`AppSink`] per connection and gathers their exchanges.
struct Collector {
    options: HttpOptions,
    exchanges: Vec<Exchange>,
    diagnostics: Vec<Diagnostic>,
}

impl Collector {
    fn new(options: HttpOptions) -> Collector {
        Collector {
            options,
            exchanges: Vec::new(),
            diagnostics: Vec::new(),
        }
    }
}

impl SinkFactory for Collector {
    type Sink = AppSink;

    fn sender_is_client(&self, first: &[u8]) -> Option<bool> {
        if matches!(http::sniff_request(first), Sniff::Yes) {
            Some(true)
        } else if matches!(http::sniff_response(first), Sniff::Yes) {
            Some(false)
        } else if looks_like_tls(first) && first.len() > 5 {
            // Handshake type 1 = ClientHello, 2 = ServerHello.
            match first[5] {
                1 => Some(true),
                2 => Some(false),
                _ => None,
            }
        } else {
            None
        }
    }

    fn open(&mut self, facts: &ConnFacts) -> AppSink {
        AppSink::Sniffing {
            facts: *facts,
            held: Vec::new(),
            held_bytes: 0,
            prefix: [Vec::new(), Vec::new()],
            options: self.options.clone(),
        }
    }

    fn close(&mut self, conn: &mut Connection, sink: AppSink) {
        conn.protocol = sink.protocol();
        if let AppSink::Http(h) = sink {
            let out = h.finish();
            let base = self.exchanges.len() as u32;
            for mut e in out.exchanges {
                e.id = ExchId(base + e.id.0);
                e.connection = conn.id;
                self.exchanges.push(e);
            }
            for mut d in out.diagnostics {
                d.connection = Some(conn.id);
                if let Some(x) = d.exchange.as_mut() {
                    x.0 += base;
                }
                self.diagnostics.push(d);
            }
        }
    }
}
