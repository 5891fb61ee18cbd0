//! The only orchestrator: inputs → frames → connections → HTTP exchanges → frozen
//! [`Analysis`]. One pass over the files, in timestamp order across files.

use crate::archive::{self, har, saz, ArchiveKind};
use crate::capture::{Input, Merged, Record, Source};
use crate::dispatch::collector::gather;
use crate::dispatch::dns::DnsRecognizer;
use crate::dispatch::tls::TlsRecognizer;
use crate::dispatch::{Collector, Recognizer, Registry};
use crate::dns::DnsCollector;
use crate::error::Result;
use crate::http::{self, HttpOptions};
use crate::model::{
    Analysis, Arrival, ConnId, Connection, Diagnostic, ExchId, Exchange, FrameNo, InputInfo,
    Severity, Ts,
};
use crate::net::ip::{Decoded, Decoder, TcpSegment};
use crate::net::reassembly::ReassemblyOptions;
use crate::net::{FlowRouter, Tracker, TrackerOutput};
use crate::tls::{KeyLoader, KeyMaterial, SessionCache};
use std::path::PathBuf;
use std::sync::Arc;

/// Secrets type of a pcapng Decryption Secrets Block holding an NSS key log ("TLSK").
const DSB_TLS_KEY_LOG: u32 = 0x544c_534b;

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub http: HttpOptions,
    pub reassembly: ReassemblyOptions,
    /// Connection-tracking threads; `None` = one per core (at most 8), plus one.
    pub threads: Option<usize>,
    /// NSS key log files (SSLKEYLOGFILE format).
    pub keylogs: Vec<PathBuf>,
    /// Files holding the servers' RSA private keys (PEM, DER, or PKCS#12 with `password`).
    pub rsa_keys: Vec<PathBuf>,
    /// Password of PKCS#12 / PFX key files.
    pub password: Option<String>,
    /// Discovery-stage rules: when set, exchanges, lookups and connections are tagged with
    /// their stage and the checks run (the HTTP layer then keeps the body heads they need).
    pub rules: Option<Arc<crate::stage::RuleSet>>,
}

/// Reports progress while reading: bytes consumed and total bytes of all inputs.
pub trait Progress {
    fn update(&mut self, done: u64, total: u64);
}

impl Progress for () {
    fn update(&mut self, _: u64, _: u64) {}
}

/// TCP segments handed to a worker in one message (amortises the channel).
const BATCH: usize = 128;
/// Batches in flight per worker: bounds the memory and how far workers lag behind reading
/// (32 × 128 segments ≈ 5 MB of the file, whose pages stay resident until they are done).
/// Small batches, many of them: with three threads on two cores the reader is often off
/// the CPU, and a worker waiting for a whole 512-segment batch sat idle a third of the time.
/// With 16 in flight, a worker of a capture with few connections at a time (the HTTP/2
/// bench: two) waited for work a third of the run while the reader waited on the other's
/// full queue; 32 halved that wait and took 5% off its run, for 5 MB more resident.
const IN_FLIGHT: usize = 32;

/// Work for a connection-tracking thread.
enum Job<'a> {
    Segment(TcpSegment<'a>, Arrival, u64),
    /// The capture reached this point (the end, for connections left open).
    Saw(Arrival),
}

/// One more tracking thread than cores: a connection is given to a thread when it opens,
/// before its size is known, so one thread often has more bytes to do than another, and a
/// spare thread lets the scheduler even that out (on 2 cores the 1 GB HTTP bench ran 5%
/// faster with 3 threads than with 2; 4 were no faster than 3).
fn worker_count(options: &Options) -> usize {
    options
        .threads
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .clamp(1, 8)
                + 1
        })
        .max(1)
}

/// Reads every input and reconstructs what is in it.
///
/// The reading thread decodes frames and hands each TCP segment (still borrowing the mapped
/// file) to one of several tracking threads, chosen by its connection, so each connection is
/// reassembled and parsed by one thread. The result does not depend on the thread count:
/// connections and exchanges are put in capture order afterwards.
pub fn analyze(
    paths: &[PathBuf],
    options: &Options,
    progress: &mut dyn Progress,
) -> Result<Analysis> {
    // Trace archives (Fiddler SAZ, HAR) hold exchanges already: they are read whole and
    // joined to what the packet captures give. Standard input and pipes are told apart by
    // their first bytes, read here once.
    let mut archives = Vec::new();
    let mut captures = Vec::new();
    for p in paths {
        let source = Source::new(p)?;
        match archive::source_kind(&source) {
            Some(kind) => archives.push(archive::ArchiveInput::new(source, kind)?),
            None => captures.push(source),
        }
    }
    let mut options = options.clone();
    if let Some(rules) = &options.rules {
        options.http.head_filter = Some(crate::stage::head_filter(Arc::clone(rules)));
    }
    let options = &options;
    let mut imported = Vec::new();
    for input in &archives {
        let mut http = options.http.clone();
        // A run that keeps no bodies (a report) keeps none of an archive's either, only the
        // heads the stage layer asks for: a big HAR's report holds no body text.
        if http.keep_body_max > 0 {
            http.keep_body_max = http.keep_body_max.max(ARCHIVE_BODY_KEEP);
        }
        let (p, kind) = (input.file(), input.kind());
        imported.push(
            match kind {
                ArchiveKind::Saz => saz::read_saz(p, options.password.as_deref(), &http),
                ArchiveKind::Har => har::read_har(p, Some(&http)),
            }
            .map_err(|e| input.relabel(e))?,
        );
        if let (Some(feed), Some(imp)) = (&options.http.live, imported.last()) {
            for x in &imp.exchanges {
                if let Some(c) = imp.connections.get(x.connection.0 as usize) {
                    feed.push(c.client, c.server, c.first_frame, x.clone());
                }
            }
        }
    }
    let mut analysis = analyze_captures(captures, options, progress)?;
    for (input, imp) in archives.iter().zip(imported) {
        archive::join(&mut analysis, input, imp);
    }
    if !archives.is_empty() {
        archive::renumber(&mut analysis);
    }
    if let Some(rules) = &options.rules {
        crate::stage::annotate(&mut analysis, rules);
    }
    crate::phases::mark("annotate");
    Ok(analysis)
}

/// Bodies of archive exchanges are in the archive already; when bodies are kept at all,
/// keeping theirs (up to this size each) costs no extra reading and lets exports write them
/// back.
const ARCHIVE_BODY_KEEP: u64 = 16 << 20;

/// The packet-capture part of [`analyze`].
fn analyze_captures(
    sources: Vec<Source>,
    options: &Options,
    progress: &mut dyn Progress,
) -> Result<Analysis> {
    let inputs = sources
        .into_iter()
        .map(Source::open)
        .collect::<Result<Vec<_>>>()?;
    let total: u64 = inputs.iter().map(Input::len).sum();
    let mut key_diagnostics = Vec::new();
    let keys = Arc::new(load_keys(options, &inputs, &mut key_diagnostics)?);
    // The protocols a connection may carry, in the order they are asked; TLS hands its
    // plaintext to the same list.
    let http_opts = Arc::new(options.http.clone());
    let sessions = Arc::new(SessionCache::default());
    let protocols = || {
        let mut p = http::recognizers(Arc::clone(&http_opts));
        p.push(Box::new(DnsRecognizer) as Box<dyn Recognizer>);
        p.push(Box::new(TlsRecognizer::new(
            Arc::clone(&keys),
            Arc::clone(&sessions),
        )));
        p
    };
    // A proxy tunnel's bytes (after CONNECT → 2xx) go to the same protocols, whose own
    // tunnels are not looked into (one level of nesting).
    let inner = Arc::new(Registry::new(protocols()));
    let registry = Arc::new(Registry::new(protocols()).with_tunnels(inner));
    let workers = worker_count(options);
    let mut read = Reading {
        frames_per_input: vec![0u64; inputs.len()],
        first_frames: vec![None; inputs.len()],
        keylog: Vec::new(),
        frame_no: 0,
        diagnostics: Vec::new(),
        malformed: 0,
        dns: DnsCollector::new(),
    };
    let mut merged = Merged::new(inputs.iter().map(Input::records).collect());
    let outputs = std::thread::scope(|scope| {
        let mut senders = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Job<'_>>>(IN_FLIGHT);
            let registry = Arc::clone(&registry);
            let reassembly = options.reassembly.clone();
            handles.push(scope.spawn(move || {
                let mut tracker = Tracker::new(Collector::new(registry), reassembly);
                for batch in rx {
                    for job in batch {
                        match job {
                            Job::Segment(seg, at, len) => tracker.segment(seg, at, len),
                            Job::Saw(at) => tracker.saw(at),
                        }
                    }
                }
                tracker.finish()
            }));
            senders.push(tx);
        }
        read.run(&inputs, &mut merged, &senders, total, progress);
        drop(senders);
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect::<Vec<_>>()
    });
    progress.update(total, total);
    crate::phases::mark("read+workers");

    let Reading {
        frames_per_input,
        first_frames,
        keylog,
        frame_no,
        mut diagnostics,
        malformed,
        dns: mut dns_collector,
    } = read;
    diagnostics.extend(key_diagnostics);
    diagnostics.extend(keys.unmatched_key_diagnostics());
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
            stopped_at: records.damage().map(|d| d.offset),
            first_frame: first_frames[i],
        });
    }
    if malformed > MALFORMED_LISTED {
        diagnostics.push(Diagnostic::new(
            Severity::Warning,
            format!(
                "{malformed} frames could not be decoded (the first {MALFORMED_LISTED} are listed)"
            ),
        ));
    }
    let (connections, exchanges, more, dns_tcp) = merge(outputs);
    diagnostics.extend(more);
    for c in dns_tcp {
        dns_collector.extend(c);
    }
    let mut analysis = freeze(
        input_infos,
        connections,
        exchanges,
        diagnostics,
        keylog,
        frame_no,
    );
    analysis.wpad_probes = dns_collector.take_wpad_probes();
    analysis.dns = dns_collector.finish();
    crate::phases::mark("merge+freeze");
    Ok(analysis)
}

/// Loads the key logs, the RSA keys, and the key logs embedded in pcapng inputs (Decryption
/// Secrets Blocks, which may sit anywhere in a file: a quick pass over the pcapng inputs finds
/// them before the analysis needs them).
fn load_keys(
    options: &Options,
    inputs: &[Input],
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<KeyMaterial> {
    let mut loader = KeyLoader::new();
    for path in &options.keylogs {
        loader.keylog_file(path)?;
    }
    for (i, input) in inputs.iter().enumerate() {
        for (kind, data) in input.secrets() {
            if kind == DSB_TLS_KEY_LOG {
                loader.embedded_keylog(i, &String::from_utf8_lossy(data));
            }
        }
    }
    for path in &options.rsa_keys {
        loader.rsa_file(path, options.password.as_deref())?;
    }
    let (keys, notes) = loader.finish();
    diagnostics.extend(notes);
    Ok(keys)
}

/// Malformed frames listed one by one before the rest are only counted.
const MALFORMED_LISTED: u64 = 20;

/// The reading thread's state.
struct Reading {
    frames_per_input: Vec<u64>,
    /// Each input's first frame time (file order): the reports' time origin.
    first_frames: Vec<Option<Ts>>,
    keylog: Vec<String>,
    frame_no: u64,
    diagnostics: Vec<Diagnostic>,
    malformed: u64,
    /// DNS over UDP (DNS over TCP is collected by the connection workers).
    dns: DnsCollector,
}

impl Reading {
    fn run<'a>(
        &mut self,
        inputs: &[Input],
        merged: &mut Merged<'a>,
        workers: &[std::sync::mpsc::SyncSender<Vec<Job<'a>>>],
        total: u64,
        progress: &mut dyn Progress,
    ) {
        let mut decoder = Decoder::new();
        let mut router = FlowRouter::new(workers.len());
        let mut batches: Vec<Vec<Job<'a>>> =
            workers.iter().map(|_| Vec::with_capacity(BATCH)).collect();
        let mut released = vec![0u64; inputs.len()];
        let mut last = Arrival::default();
        // A worker that is gone has panicked; its panic surfaces when it is joined.
        let send = |w: usize, batch: Vec<Job<'a>>| {
            let _ = workers[w].send(batch);
        };
        while let Some((input, record)) = merged.next() {
            match record {
                Record::Frame(frame) => {
                    self.frame_no += 1;
                    self.frames_per_input[input] += 1;
                    if self.frames_per_input[input] == 1 {
                        self.first_frames[input] = Some(frame.ts);
                    }
                    let at = Arrival {
                        frame: FrameNo(self.frame_no),
                        ts: frame.ts,
                    };
                    last = at;
                    match decoder.decode(&frame) {
                        Decoded::Tcp(seg) => {
                            let w = router.route(&seg);
                            batches[w].push(Job::Segment(seg, at, u64::from(frame.orig_len)));
                            if batches[w].len() == BATCH {
                                send(
                                    w,
                                    std::mem::replace(&mut batches[w], Vec::with_capacity(BATCH)),
                                );
                            }
                        }
                        Decoded::Udp(u) => {
                            self.dns.udp(u.src, u.dst, &u.payload, at);
                        }
                        Decoded::Fragment | Decoded::Ignored => {}
                        Decoded::Malformed(why) => {
                            self.malformed += 1;
                            if self.malformed <= MALFORMED_LISTED {
                                self.diagnostics.push(
                                    Diagnostic::new(
                                        Severity::Warning,
                                        format!("frame not decoded: {why}"),
                                    )
                                    .at_frame(at.frame),
                                );
                            }
                        }
                    }
                    if self.frame_no.is_multiple_of(8192) {
                        // (Iterator::position would shadow it on `&mut Merged`.)
                        progress.update(Merged::position(merged), total);
                        release_read_pages(inputs, merged, &mut released);
                    }
                }
                Record::Secrets { kind, data } => {
                    if kind == DSB_TLS_KEY_LOG {
                        self.keylog.extend(
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
        for (w, mut batch) in batches.into_iter().enumerate() {
            batch.push(Job::Saw(last));
            send(w, batch);
        }
    }
}

/// Gives back the memory of the file pages already read, in steps of 4 MiB, keeping the
/// last 4 MiB (workers lag behind reading by at most a few MiB of queued segments, and
/// buffered out-of-order segments may still point there: a released page that is read again
/// is only faulted back in from the page cache). Each step drops the new range and, again,
/// the `AGAIN` bytes before it, where lagging readers fault pages back in; dropping the
/// whole prefix every time would walk the page tables of everything read so far.
fn release_read_pages(inputs: &[Input], merged: &Merged<'_>, released: &mut [u64]) {
    const STEP: u64 = 4 << 20;
    const KEEP: u64 = 4 << 20;
    const AGAIN: u64 = 16 << 20;
    for ((input, records), done) in inputs.iter().zip(merged.parts()).zip(released.iter_mut()) {
        let upto = records.position().saturating_sub(KEEP);
        if upto >= *done + STEP {
            input.release_range(done.saturating_sub(AGAIN), upto);
            *done = upto;
        }
    }
}

/// Joins the workers' results: connections renumbered in order of first packet, exchange and
/// connection references updated.
#[allow(clippy::type_complexity)]
fn merge(
    outputs: Vec<TrackerOutput<Collector>>,
) -> (
    Vec<Connection>,
    Vec<Exchange>,
    Vec<Diagnostic>,
    Vec<DnsCollector>,
) {
    let mut dns = Vec::new();
    let mut connections = Vec::new();
    // Sized once: each worker's exchanges are moved in and its vector freed, so the merged
    // vector has no growth slack and at most one worker's vector exists beside it.
    let total: usize = outputs.iter().map(|o| o.factory.exchanges.len()).sum();
    let mut exchanges: Vec<Exchange> = Vec::with_capacity(total);
    let mut diagnostics = Vec::new();
    let mut pending = Vec::new();
    for out in outputs {
        let conn_base = connections.len() as u32;
        let exch_base = exchanges.len() as u32;
        let shift = |d: &mut Diagnostic| {
            if let Some(c) = d.connection.as_mut() {
                c.0 += conn_base;
            }
            if let Some(x) = d.exchange.as_mut() {
                x.0 += exch_base;
            }
        };
        connections.extend(out.connections.into_iter().map(|mut c| {
            c.id.0 += conn_base;
            c
        }));
        dns.push(out.factory.dns);
        exchanges.extend(out.factory.exchanges.into_iter().map(|mut e| {
            e.connection.0 += conn_base;
            e.id.0 += exch_base;
            e.tunnel = e.tunnel.and_then(|t| t.renumbered(|x| x + exch_base));
            e
        }));
        for mut d in out.diagnostics.into_iter().chain(out.factory.diagnostics) {
            shift(&mut d);
            diagnostics.push(d);
        }
        pending.extend(
            out.factory
                .pending
                .into_iter()
                .map(|(c, sink)| (ConnId(c.0 + conn_base), sink)),
        );
    }
    // A frame opens at most one connection, so the first frame orders them totally.
    connections.sort_by_key(|c| c.first_frame);
    let mut new_id = vec![0u32; connections.len()];
    for (i, c) in connections.iter_mut().enumerate() {
        new_id[c.id.0 as usize] = i as u32;
        c.id = ConnId(i as u32);
    }
    for e in &mut exchanges {
        e.connection.0 = new_id[e.connection.0 as usize];
    }
    for d in &mut diagnostics {
        if let Some(c) = d.connection.as_mut() {
            c.0 = new_id[c.0 as usize];
        }
    }
    // Every connection has been read: resumed sessions can be looked up for good. In capture
    // order, so a resumption of a resumption finds its origin.
    let mut pending: Vec<_> = pending
        .into_iter()
        .map(|(c, sink)| (new_id[c.0 as usize], sink))
        .collect();
    pending.sort_by_key(|(c, _)| *c);
    let mut late_dns = DnsCollector::new();
    for (c, mut sink) in pending {
        sink.resolve();
        gather(
            &mut exchanges,
            &mut diagnostics,
            &mut late_dns,
            &mut connections[c as usize],
            sink.finish(),
        );
    }
    dns.push(late_dns);
    (connections, exchanges, diagnostics, dns)
}

/// Sorts exchanges by first arrival, gives final ids, links connections to them.
fn freeze(
    inputs: Vec<InputInfo>,
    mut connections: Vec<Connection>,
    mut exchanges: Vec<Exchange>,
    mut diagnostics: Vec<Diagnostic>,
    embedded_keylog: Vec<String>,
    frames: u64,
) -> Analysis {
    // In place (no merge buffer); the keys are unique, so stability does not matter.
    exchanges.sort_unstable_by_key(|e| {
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
    for e in exchanges.iter_mut().filter(|e| e.tunnel.is_some()) {
        e.tunnel = e.tunnel.and_then(|t| t.renumbered(|x| new_id[x as usize]));
    }
    for d in &mut diagnostics {
        if let Some(x) = d.exchange.as_mut() {
            x.0 = new_id.get(x.0 as usize).copied().unwrap_or(x.0);
        }
    }
    diagnostics.sort_by(|a, b| {
        (
            a.input.is_none(),
            a.frame.unwrap_or(FrameNo(u64::MAX)),
            a.connection,
            a.exchange,
        )
            .cmp(&(
                b.input.is_none(),
                b.frame.unwrap_or(FrameNo(u64::MAX)),
                b.connection,
                b.exchange,
            ))
            .then_with(|| a.message.cmp(&b.message))
    });
    Analysis {
        inputs,
        connections,
        exchanges,
        diagnostics,
        embedded_keylog,
        frames,
        dns: Vec::new(),
        wpad_probes: Vec::new(),
        findings: Vec::new(),
        signin: Vec::new(),
        stages: Vec::new(),
        partial: false,
    }
}
