//! Trace archives: Fiddler SAZ and HAR files, which hold HTTP exchanges already (no packets),
//! read into the model and joined to what the packet captures give.
//!
//! The readers only read: a SAZ's HTTP texts are parsed by the HTTP layer's parser, handed in
//! by the caller ([`saz::MessageParser`]); a HAR holds its messages as JSON fields.

pub mod har;
pub mod saz;
mod saz_hello;

use crate::capture::Source;
use crate::error::{Error, Result};
use crate::model::{
    Analysis, ConnId, Connection, Diagnostic, ExchId, Exchange, InputInfo, Severity,
};
use std::path::{Path, PathBuf};

/// What an archive holds, in the model's terms. Ids are local: exchanges[i].id == ExchId(i),
/// exchanges[i].connection indexes `connections`, diagnostics point at local ids.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Imported {
    pub exchanges: Vec<Exchange>,
    pub connections: Vec<Connection>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    Saz,
    Har,
}

impl ArchiveKind {
    /// The input format's name in the report.
    pub fn name(self) -> &'static str {
        match self {
            ArchiveKind::Saz => "saz",
            ArchiveKind::Har => "har",
        }
    }

    fn recorder(self) -> &'static str {
        match self {
            ArchiveKind::Saz => "a proxy (Fiddler)",
            ArchiveKind::Har => "a browser or proxy (HAR)",
        }
    }
}

/// Sniffs a file's first bytes (missing or unreadable files are left to the capture reader,
/// which reports them); `-` (standard input) is never an archive here: see [`source_kind`].
pub fn archive_kind(path: &Path) -> Option<ArchiveKind> {
    use std::io::Read;
    if path.as_os_str() == "-" {
        return None;
    }
    let mut head = [0u8; 512];
    let n = std::fs::File::open(path).ok()?.read(&mut head).ok()?;
    kind_of(&head[..n])
}

/// What an input holds, if an archive: a file is sniffed as [`archive_kind`] does, a stream
/// (standard input, a pipe) by the first bytes already read from it.
pub fn source_kind(source: &Source) -> Option<ArchiveKind> {
    match source {
        Source::File(path) => archive_kind(path),
        Source::Stream(stream) => kind_of(stream.head()),
    }
}

/// The archive kind first bytes show (the first 512 are looked at, for files and streams
/// alike).
fn kind_of(head: &[u8]) -> Option<ArchiveKind> {
    let head = &head[..head.len().min(512)];
    if saz::is_saz(head) {
        Some(ArchiveKind::Saz)
    } else if har::is_har(head) {
        Some(ArchiveKind::Har)
    } else {
        None
    }
}

/// An archive to read: the name it is reported under, and the file that holds it. The readers
/// open a path, so a stream is first copied whole to a named temporary file (removed when
/// this is dropped).
pub struct ArchiveInput {
    label: PathBuf,
    kind: ArchiveKind,
    copy: Option<tempfile::NamedTempFile>,
}

impl ArchiveInput {
    pub fn new(source: Source, kind: ArchiveKind) -> Result<ArchiveInput> {
        Ok(match source {
            Source::File(path) => ArchiveInput {
                label: path,
                kind,
                copy: None,
            },
            Source::Stream(stream) => ArchiveInput {
                label: stream.label().to_path_buf(),
                kind,
                copy: Some(stream.spool_named()?),
            },
        })
    }

    pub fn kind(&self) -> ArchiveKind {
        self.kind
    }

    /// The name in the report and in messages.
    pub fn label(&self) -> &Path {
        &self.label
    }

    /// The file to read.
    pub fn file(&self) -> &Path {
        self.copy.as_ref().map_or(&self.label, |copy| copy.path())
    }

    /// An error about reading [`Self::file`], naming [`Self::label`] instead of a temporary
    /// copy.
    pub fn relabel(&self, error: Error) -> Error {
        if self.copy.is_none() {
            return error;
        }
        let path = self.label.clone();
        match error {
            Error::Open { source, .. } => Error::Open { path, source },
            Error::BadFile { message, .. } => Error::BadFile { path, message },
            Error::Archive { message, .. } => Error::Archive { path, message },
            Error::UnknownFormat { magic, .. } => Error::UnknownFormat { path, magic },
            other => other,
        }
    }
}

/// Adds an archive's exchanges and connections to the analysis (ids shifted).
pub fn join(a: &mut Analysis, archive: &ArchiveInput, imp: Imported) {
    let (path, kind) = (archive.label(), archive.kind());
    let input = a.inputs.len();
    let conn_base = a.connections.len() as u32;
    let exch_base = a.exchanges.len() as u32;
    a.inputs.push(InputInfo {
        path: path.display().to_string(),
        format: kind.name().to_string(),
        bytes: std::fs::metadata(archive.file())
            .map(|m| m.len())
            .unwrap_or(0),
        frames: 0,
        link_types: Vec::new(),
        truncated: false,
        stopped_at: None,
        first_frame: None,
    });
    a.diagnostics.push(Diagnostic {
        input: Some(input),
        ..Diagnostic::new(
            Severity::Info,
            format!(
                "{}: recorded by {}: DNS lookups, server addresses and connections are the proxy's view, not the device's",
                path.display(),
                kind.recorder()
            ),
        )
    });
    for mut c in imp.connections {
        c.id.0 += conn_base;
        c.exchanges.clear();
        a.connections.push(c);
    }
    // The exchanges are most of the memory: renumbered where they are and moved, so the
    // archive's vector is never held twice (nor grown by doubling).
    let mut exchanges = imp.exchanges;
    for e in &mut exchanges {
        e.id.0 += exch_base;
        e.connection.0 += conn_base;
    }
    if a.exchanges.is_empty() {
        a.exchanges = exchanges;
    } else {
        a.exchanges.reserve_exact(exchanges.len());
        a.exchanges.append(&mut exchanges);
    }
    for mut d in imp.diagnostics {
        if let Some(c) = d.connection.as_mut() {
            c.0 += conn_base;
        }
        if let Some(x) = d.exchange.as_mut() {
            x.0 += exch_base;
        }
        if d.connection.is_none() && d.exchange.is_none() {
            d.input = Some(input);
        }
        a.diagnostics.push(d);
    }
}

/// Puts connections and exchanges of several sources in time order and renumbers them.
pub fn renumber(a: &mut Analysis) {
    let mut order: Vec<usize> = (0..a.connections.len()).collect();
    order.sort_by_key(|&i| (a.connections[i].first_seen, a.connections[i].first_frame, i));
    let mut conn_id = vec![0u32; order.len()];
    for (new, &old) in order.iter().enumerate() {
        conn_id[old] = new as u32;
    }
    let mut conns: Vec<Option<Connection>> = std::mem::take(&mut a.connections)
        .into_iter()
        .map(Some)
        .collect();
    a.connections = order
        .iter()
        .enumerate()
        .filter_map(|(new, &old)| {
            let mut c = conns[old].take()?;
            c.id = ConnId(new as u32);
            c.exchanges.clear();
            Some(c)
        })
        .collect();
    for e in &mut a.exchanges {
        e.connection.0 = conn_id[e.connection.0 as usize];
    }
    for d in &mut a.diagnostics {
        if let Some(c) = d.connection.as_mut() {
            c.0 = conn_id.get(c.0 as usize).copied().unwrap_or(c.0);
        }
    }
    // The id makes every key unique, so an unstable sort gives the stable order; it sorts in
    // place, where a stable sort takes a scratch copy of up to half the exchanges.
    a.exchanges.sort_unstable_by_key(|e| {
        let first = e.timing.first();
        (
            first.map(|f| f.ts),
            first.map(|f| f.frame),
            e.connection,
            e.id,
        )
    });
    let mut exch_id = vec![0u32; a.exchanges.len()];
    for (i, e) in a.exchanges.iter_mut().enumerate() {
        exch_id[e.id.0 as usize] = i as u32;
        e.id = ExchId(i as u32);
        a.connections[e.connection.0 as usize].exchanges.push(e.id);
    }
    for e in a.exchanges.iter_mut().filter(|e| e.tunnel.is_some()) {
        e.tunnel = e.tunnel.and_then(|t| t.renumbered(|x| exch_id[x as usize]));
    }
    for d in &mut a.diagnostics {
        if let Some(x) = d.exchange.as_mut() {
            x.0 = exch_id.get(x.0 as usize).copied().unwrap_or(x.0);
        }
    }
}
