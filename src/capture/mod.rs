//! Capture files: pcap (µs and ns, both byte orders) and pcapng read straight from a memory
//! map, frame by frame, without copying packet bytes; several inputs merged by timestamp.
//!
//! Reading never fails after [`Input::open`]: a file that is cut or damaged yields every
//! record before the damage, then stops and says where and why ([`Records::damage`]).

mod pcap;
mod pcapng;

use crate::error::{Error, Result};
use crate::model::Ts;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Container format of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Classic pcap, microsecond timestamps.
    Pcap,
    /// Classic pcap, nanosecond timestamps (magic a1b23c4d).
    PcapNanos,
    PcapNg,
}

impl Format {
    pub fn name(&self) -> &'static str {
        match self {
            Format::Pcap => "pcap",
            Format::PcapNanos => "pcap-ns",
            Format::PcapNg => "pcapng",
        }
    }
}

/// What the bytes of a frame start with (libpcap LINKTYPE_ values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkType {
    Ethernet,
    /// BSD loopback: 4-byte address family in the capturing host's byte order.
    Null,
    /// OpenBSD loopback: 4-byte address family in network byte order.
    Loop,
    /// Raw IP, version taken from the first nibble.
    RawIp,
    Ipv4,
    Ipv6,
    LinuxSll,
    LinuxSll2,
    Nflog,
    Other(u32),
}

impl LinkType {
    /// Maps a LINKTYPE_ value as found in pcap headers and pcapng IDBs. 12 and 14 are the
    /// values old BSD / OpenBSD libpcap wrote for raw IP; libpcap and Wireshark read them so.
    pub fn from_dlt(dlt: u32) -> LinkType {
        match dlt {
            1 => LinkType::Ethernet,
            0 => LinkType::Null,
            108 => LinkType::Loop,
            12 | 14 | 101 => LinkType::RawIp,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            239 => LinkType::Nflog,
            n => LinkType::Other(n),
        }
    }

    pub fn name(&self) -> String {
        match self {
            LinkType::Ethernet => "ethernet".into(),
            LinkType::Null => "null".into(),
            LinkType::Loop => "loop".into(),
            LinkType::RawIp => "raw".into(),
            LinkType::Ipv4 => "ipv4".into(),
            LinkType::Ipv6 => "ipv6".into(),
            LinkType::LinuxSll => "linux-sll".into(),
            LinkType::LinuxSll2 => "linux-sll2".into(),
            LinkType::Nflog => "nflog".into(),
            LinkType::Other(n) => format!("dlt-{n}"),
        }
    }
}

/// One captured frame, borrowed from the mapped file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub ts: Ts,
    pub link: LinkType,
    /// The captured bytes (may be fewer than `orig_len` when the snap length cut the frame).
    pub data: &'a [u8],
    /// Length of the frame on the wire.
    pub orig_len: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record<'a> {
    Frame(Frame<'a>),
    /// pcapng Decryption Secrets Block: secrets_type (0x544c534b = TLS key log) and its bytes.
    Secrets {
        kind: u32,
        data: &'a [u8],
    },
}

/// Where and why reading stopped early (file cut or damaged). Everything before it was yielded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// File offset of the record or block that could not be read.
    pub offset: u64,
    pub message: String,
}

/// An opened capture file, memory-mapped.
pub struct Input {
    path: PathBuf,
    map: memmap2::Mmap,
    format: Format,
}

/// Maps a whole file read-only.
///
/// This is the one place of the project that uses `unsafe`. `Mmap::map` is unsafe because
/// another process may truncate or rewrite the file while it is mapped. We only ever read
/// the mapping, through bounds-checked slices, so a concurrent rewrite yields odd bytes (which
/// the parsers reject like any damage); a truncation can raise SIGBUS, the documented risk of
/// every mmap-based capture reader. Standard input is spooled to an unnamed temporary file
/// first, which nobody else can reach.
#[allow(unsafe_code)]
fn map_file(file: &File) -> io::Result<memmap2::Mmap> {
    // SAFETY: see above: read-only use of a file we do not write; the mapping outlives no
    // borrow because `Input` owns it and every slice borrows `Input`.
    unsafe { memmap2::Mmap::map(file) }
}

/// Drops our page-table entries for `[from, upto)` of the mapping (rounded to the whole pages
/// inside it; the caller passes ranges that follow each other, so each page is dropped once).
///
/// Pages of a read-only shared file mapping that are dropped this way stay in the page cache
/// and fault back in, unchanged, if a slice that still borrows them is read again (a buffered
/// out-of-order segment). `MADV_DONTNEED` is `unsafe` in memmap2 because on a *private,
/// written* mapping it would discard the writes; ours is shared and never written. Without
/// this, every page of the capture that was read stays resident and the process's RSS grows
/// with the file.
#[allow(unsafe_code)]
fn release_pages(map: &memmap2::Mmap, from: usize, upto: usize) {
    const PAGE: usize = 4096;
    let start = (from / PAGE) * PAGE;
    let end = (upto.min(map.len()) / PAGE) * PAGE;
    if end > start {
        // SAFETY: see above: a read-only shared mapping; nothing is lost by dropping pages.
        let _ = unsafe {
            map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
        };
    }
}

/// Copies everything `reader` yields into an unnamed temporary file (deleted when closed), so
/// that a stream can be mapped like a file without ever being held in memory.
pub fn spool<R: Read>(mut reader: R) -> io::Result<File> {
    let mut file = tempfile::tempfile()?;
    io::copy(&mut reader, &mut file)?;
    file.flush()?;
    Ok(file)
}

/// Shows the first bytes of a file that is not a capture.
fn hex_prefix(data: &[u8]) -> String {
    let shown = &data[..data.len().min(16)];
    let hex: Vec<String> = shown.iter().map(|b| format!("{b:02x}")).collect();
    if hex.is_empty() {
        "nothing".into()
    } else {
        hex.join(" ")
    }
}

/// Bytes of a stream read before deciding what it holds: enough for a pcap header, a pcapng
/// section header, a zip's first entry header, and the opening of a HAR.
pub const STREAM_HEAD: usize = 4096;

/// An input as named: a file read in place, or a stream (standard input `-`, a pipe, a FIFO,
/// a device) that has to be copied somewhere before it can be read.
pub enum Source {
    /// A regular file, or a path that does not open (opening it again says why).
    File(PathBuf),
    Stream(Stream),
}

impl Source {
    /// Tells a file from a stream; of a stream, reads the first [`STREAM_HEAD`] bytes now, so
    /// that what it holds is known before anything is copied.
    pub fn new(path: &Path) -> Result<Source> {
        if path.as_os_str() == "-" {
            return Stream::new(path, Rest::Stdin(io::stdin())).map(Source::Stream);
        }
        let Ok(file) = File::open(path) else {
            return Ok(Source::File(path.to_path_buf()));
        };
        match file.metadata() {
            Ok(meta) if !meta.is_file() && !meta.is_dir() => {
                Stream::new(path, Rest::Pipe(file)).map(Source::Stream)
            }
            _ => Ok(Source::File(path.to_path_buf())),
        }
    }

    /// The name the input is reported under.
    pub fn path(&self) -> &Path {
        match self {
            Source::File(path) => path,
            Source::Stream(stream) => stream.label(),
        }
    }

    /// Opens it as a capture (see [`Stream::into_input`] for a stream).
    pub fn open(self) -> Result<Input> {
        match self {
            Source::File(path) => Input::open_file(&path),
            Source::Stream(stream) => stream.into_input(),
        }
    }
}

/// A stream whose first bytes have been read and whose rest has not.
pub struct Stream {
    label: PathBuf,
    head: Vec<u8>,
    rest: Rest,
}

/// The unread rest of a stream, by its concrete type: copying it with `io::copy` then moves
/// the bytes inside the kernel (splice), as it did when the whole stream was spooled at once.
enum Rest {
    /// Standard input (its errors are [`Error::Stdin`]).
    Stdin(io::Stdin),
    /// A pipe, FIFO or device (its errors are [`Error::Open`]).
    Pipe(File),
}

impl Stream {
    fn new(label: &Path, mut rest: Rest) -> Result<Stream> {
        let head = match &mut rest {
            Rest::Stdin(stdin) => read_head(&mut stdin.lock()),
            Rest::Pipe(file) => read_head(file),
        };
        let head = head.map_err(|e| stream_error(label, &rest, e))?;
        Ok(Stream {
            label: label.to_path_buf(),
            head,
            rest,
        })
    }

    pub fn label(&self) -> &Path {
        &self.label
    }

    /// Its first bytes (all of it when it is shorter than [`STREAM_HEAD`]).
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// Opens it as a capture. One that does not start like a capture is refused at once, with
    /// the message a file would get, before anything is copied; a capture is spooled to an
    /// unnamed temporary file and mapped.
    pub fn into_input(mut self) -> Result<Input> {
        refuse_unknown(&self.label, &self.head)?;
        let file = tempfile::tempfile()
            .and_then(|mut file| self.copy_into(&mut file).map(|()| file))
            .map_err(|e| stream_error(&self.label, &self.rest, e))?;
        Input::from_file(&self.label, &file)
    }

    /// Copies it whole to a named temporary file (deleted when dropped), for readers that open
    /// a path (trace archives).
    pub fn spool_named(mut self) -> Result<tempfile::NamedTempFile> {
        tempfile::NamedTempFile::new()
            .and_then(|mut file| self.copy_into(file.as_file_mut()).map(|()| file))
            .map_err(|e| stream_error(&self.label, &self.rest, e))
    }

    fn copy_into(&mut self, file: &mut File) -> io::Result<()> {
        file.write_all(&self.head)?;
        match &mut self.rest {
            Rest::Stdin(stdin) => io::copy(&mut stdin.lock(), file)?,
            Rest::Pipe(pipe) => io::copy(pipe, file)?,
        };
        file.flush()
    }
}

/// A stream's reading error: [`Error::Stdin`] for standard input, [`Error::Open`] for a pipe.
fn stream_error(label: &Path, rest: &Rest, source: io::Error) -> Error {
    match rest {
        Rest::Stdin(_) => Error::Stdin(source),
        Rest::Pipe(_) => Error::Open {
            path: label.to_path_buf(),
            source,
        },
    }
}

/// Reads up to [`STREAM_HEAD`] bytes: until that many, or the end.
fn read_head(reader: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(STREAM_HEAD);
    reader.take(STREAM_HEAD as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// Refuses, from its first bytes, a stream that cannot be a capture: exactly what [`sniff`]
/// would refuse as an unknown format once it is whole (the magic number is in the first
/// bytes), with the same message; and an empty one.
fn refuse_unknown(label: &Path, head: &[u8]) -> Result<()> {
    if head.is_empty() {
        return Err(Error::BadFile {
            path: label.to_path_buf(),
            message: "the file is empty".into(),
        });
    }
    match sniff(head) {
        Err(Sniffed::Unknown) => Err(Error::UnknownFormat {
            path: label.to_path_buf(),
            magic: hex_prefix(head),
        }),
        _ => Ok(()),
    }
}

impl Input {
    /// Opens a file. "-" (standard input) and pipes are streams: their first bytes are read
    /// first, and one that is not a capture is refused before anything is copied; a capture is
    /// spooled to an unnamed temp file and then mmapped, so memory never holds the whole
    /// capture. Sniffs the format from the magic number.
    pub fn open(path: &Path) -> Result<Input> {
        Source::new(path)?.open()
    }

    /// A path that is not a stream (or was not one when [`Source::new`] looked).
    fn open_file(path: &Path) -> Result<Input> {
        let open_err = |source| Error::Open {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(open_err)?;
        let meta = file.metadata().map_err(open_err)?;
        if meta.is_file() {
            Input::from_file(path, &file)
        } else if meta.is_dir() {
            Err(open_err(io::Error::other("is a directory")))
        } else {
            Stream::new(path, Rest::Pipe(file))?.into_input()
        }
    }

    /// Reads a stream (standard input, a pipe) as a capture: refused from its first bytes when
    /// it is not one, else spooled to a temporary file and opened. `label` is the name the
    /// input is reported under. Reading errors are `Error::Stdin`.
    pub fn from_reader<R: Read>(label: &Path, mut reader: R) -> Result<Input> {
        let head = read_head(&mut reader).map_err(Error::Stdin)?;
        refuse_unknown(label, &head)?;
        let mut spooled = || -> io::Result<File> {
            let mut file = tempfile::tempfile()?;
            file.write_all(&head)?;
            io::copy(&mut reader, &mut file)?;
            file.flush()?;
            Ok(file)
        };
        let file = spooled().map_err(Error::Stdin)?;
        Input::from_file(label, &file)
    }

    fn from_file(path: &Path, file: &File) -> Result<Input> {
        let bad = |message: String| Error::BadFile {
            path: path.to_path_buf(),
            message,
        };
        let len = file
            .metadata()
            .map_err(|source| Error::Open {
                path: path.to_path_buf(),
                source,
            })?
            .len();
        if len == 0 {
            return Err(bad("the file is empty".into()));
        }
        let map = map_file(file).map_err(|source| Error::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let format = sniff(&map).map_err(|e| match e {
            Sniffed::Unknown => Error::UnknownFormat {
                path: path.to_path_buf(),
                magic: hex_prefix(&map),
            },
            Sniffed::Bad(message) => bad(message),
        })?;
        Ok(Input {
            path: path.to_path_buf(),
            map,
            format,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.map.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Tells the kernel that the bytes before `offset` have been read, so the memory they take
    /// is given back (resident memory stays flat however large the file). Slices of that range
    /// stay valid: they are read back from the page cache if touched again.
    pub fn release_before(&self, offset: u64) {
        self.release_range(0, offset);
    }

    /// [`Self::release_before`] for the bytes `[from, upto)` only: a reader that gives pages
    /// back as it goes passes each range once (dropping the whole prefix every time would walk
    /// the page tables of everything read so far, again and again).
    pub fn release_range(&self, from: u64, upto: u64) {
        let at = |o: u64| usize::try_from(o).unwrap_or(usize::MAX);
        release_pages(&self.map, at(from), at(upto));
    }

    /// The pcapng Decryption Secrets Blocks (type, bytes) of the input, by a quick walk over
    /// block headers that gives pages back as it goes (memory stays flat on a big file);
    /// none for pcap.
    pub fn secrets(&self) -> Vec<(u32, &[u8])> {
        if self.format != Format::PcapNg {
            return Vec::new();
        }
        let mut done = 0u64;
        let found = pcapng::secrets(&self.map, |upto| {
            self.release_range(done, upto as u64);
            done = done.max(upto as u64);
        });
        self.release_range(done, self.len());
        found
    }

    /// Iterates over the records, from the start of the file.
    pub fn records(&self) -> Records<'_> {
        Records::new(&self.map, self.format)
    }
}

enum Sniffed {
    Unknown,
    Bad(String),
}

/// Decides the format from the magic number and checks that the file header is whole.
fn sniff(data: &[u8]) -> std::result::Result<Format, Sniffed> {
    const MAGICS: &[[u8; 4]] = &[
        [0xd4, 0xc3, 0xb2, 0xa1],
        [0xa1, 0xb2, 0xc3, 0xd4],
        [0x4d, 0x3c, 0xb2, 0xa1],
        [0xa1, 0xb2, 0x3c, 0x4d],
        [0x34, 0xcd, 0xb2, 0xa1],
        [0x0a, 0x0d, 0x0d, 0x0a],
    ];
    if data.len() < 4 {
        return if MAGICS.iter().any(|m| m.starts_with(data)) {
            Err(Sniffed::Bad(format!(
                "the file is only {} bytes long, too short for a capture header",
                data.len()
            )))
        } else {
            Err(Sniffed::Unknown)
        };
    }
    if data.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        pcapng::check_header(data).map_err(Sniffed::Bad)?;
        return Ok(Format::PcapNg);
    }
    match pcap::check_header(data) {
        Some(Ok(format)) => Ok(format),
        Some(Err(message)) => Err(Sniffed::Bad(message)),
        None => Err(Sniffed::Unknown),
    }
}

/// One step of a format reader.
pub(crate) enum Step<'a> {
    Record(Record<'a>),
    /// A block that carries nothing for us (or a packet that had to be skipped).
    Skip,
    End,
    /// Reading cannot go on: why. The offset is the reader's current position.
    Damaged(String),
}

enum Reader {
    Pcap(pcap::PcapReader),
    PcapNg(pcapng::PcapNgReader),
}

/// The records of one input, in file order.
pub struct Records<'a> {
    data: &'a [u8],
    /// Offset of the next record or block.
    pos: usize,
    reader: Reader,
    damage: Option<Damage>,
    done: bool,
    link_types: Vec<LinkType>,
    /// Packets skipped: unknown interface id or a packet block whose lengths do not fit.
    skipped: u64,
}

impl<'a> Records<'a> {
    fn new(data: &'a [u8], format: Format) -> Records<'a> {
        let mut records = Records {
            data,
            pos: 0,
            reader: Reader::PcapNg(pcapng::PcapNgReader::new()),
            damage: None,
            done: false,
            link_types: Vec::new(),
            skipped: 0,
        };
        match format {
            Format::Pcap | Format::PcapNanos => match pcap::PcapReader::new(data) {
                Ok(r) => {
                    records.pos = pcap::HEADER_LEN;
                    records.note_link(r.link);
                    records.reader = Reader::Pcap(r);
                }
                Err(message) => records.stop(message),
            },
            Format::PcapNg => {}
        }
        records
    }

    /// Bytes consumed so far (for a progress bar).
    pub fn position(&self) -> u64 {
        self.pos as u64
    }

    /// Set when iteration stopped before the end of the file.
    pub fn damage(&self) -> Option<&Damage> {
        self.damage.as_ref()
    }

    /// Distinct link types announced so far (pcap header, pcapng interfaces), in order.
    pub fn link_types(&self) -> &[LinkType] {
        &self.link_types
    }

    /// Packets skipped so far: packet blocks naming an interface that does not exist, or
    /// whose captured length does not fit in the block.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    fn note_link(&mut self, link: LinkType) {
        if !self.link_types.contains(&link) {
            self.link_types.push(link);
        }
    }

    fn stop(&mut self, message: String) {
        self.damage = Some(Damage {
            offset: self.pos as u64,
            message,
        });
        self.done = true;
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        while !self.done {
            let step = match &mut self.reader {
                Reader::Pcap(r) => r.next(self.data, &mut self.pos),
                Reader::PcapNg(r) => {
                    let step = r.next(self.data, &mut self.pos, &mut self.skipped);
                    if let Some(link) = r.take_new_link() {
                        self.note_link(link);
                    }
                    step
                }
            };
            match step {
                Step::Record(record) => return Some(record),
                Step::Skip => {}
                Step::End => self.done = true,
                Step::Damaged(message) => self.stop(message),
            }
        }
        None
    }
}

/// Merges several inputs' records by timestamp (k-way, ties keep input order; Secrets records
/// are yielded as soon as they are read). Yields (input index, record). Each input's own
/// order is kept even where its timestamps go backwards.
pub struct Merged<'a> {
    inputs: Vec<Records<'a>>,
    /// The next frame of each input, read ahead to compare timestamps.
    heads: Vec<Option<Frame<'a>>>,
    exhausted: Vec<bool>,
}

impl<'a> Merged<'a> {
    pub fn new(inputs: Vec<Records<'a>>) -> Self {
        let n = inputs.len();
        Merged {
            inputs,
            heads: vec![None; n],
            exhausted: vec![false; n],
        }
    }

    /// Bytes consumed so far, all inputs together.
    pub fn position(&self) -> u64 {
        self.inputs.iter().map(Records::position).sum()
    }

    /// The inputs' readers, to ask each for its damage, link types and skip count at the end.
    pub fn into_parts(self) -> Vec<Records<'a>> {
        self.inputs
    }

    /// The inputs' readers, while merging.
    pub fn parts(&self) -> &[Records<'a>] {
        &self.inputs
    }
}

impl<'a> Iterator for Merged<'a> {
    type Item = (usize, Record<'a>);

    fn next(&mut self) -> Option<(usize, Record<'a>)> {
        // Fill the empty heads first; a Secrets record is handed out at once so that keys
        // are known before the frames they decrypt.
        for i in 0..self.inputs.len() {
            if self.heads[i].is_some() || self.exhausted[i] {
                continue;
            }
            match self.inputs[i].next() {
                Some(Record::Frame(f)) => self.heads[i] = Some(f),
                Some(secrets @ Record::Secrets { .. }) => return Some((i, secrets)),
                None => self.exhausted[i] = true,
            }
        }
        let mut best: Option<(usize, Ts)> = None;
        for (i, head) in self.heads.iter().enumerate() {
            if let Some(f) = head {
                if best.is_none_or(|(_, ts)| f.ts < ts) {
                    best = Some((i, f.ts));
                }
            }
        }
        let (i, _) = best?;
        self.heads[i].take().map(|f| (i, Record::Frame(f)))
    }
}

/// Reads a u16/u32/u64 at `at` in the given byte order; `None` past the end.
pub(crate) fn read_u16(data: &[u8], at: usize, big_endian: bool) -> Option<u16> {
    let b: [u8; 2] = data.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(if big_endian {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    })
}

pub(crate) fn read_u32(data: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let b: [u8; 4] = data.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

pub(crate) fn read_u64(data: &[u8], at: usize, big_endian: bool) -> Option<u64> {
    let b: [u8; 8] = data.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(if big_endian {
        u64::from_be_bytes(b)
    } else {
        u64::from_le_bytes(b)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::corpus;

    fn write_temp(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f.flush().unwrap();
        f
    }

    /// A classic pcap file, built by hand after the format description (draft-ietf-opsawg-pcap).
    pub(crate) fn pcap_file(
        big_endian: bool,
        nanos: bool,
        link: u32,
        frames: &[(u32, u32, &[u8], u32)],
    ) -> Vec<u8> {
        let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        let u32b = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let u16b = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut out = Vec::new();
        out.extend(u32b(magic));
        out.extend(u16b(2));
        out.extend(u16b(4));
        out.extend(u32b(0));
        out.extend(u32b(0));
        out.extend(u32b(65535));
        out.extend(u32b(link));
        for &(sec, frac, data, orig) in frames {
            out.extend(u32b(sec));
            out.extend(u32b(frac));
            out.extend(u32b(data.len() as u32));
            out.extend(u32b(orig));
            out.extend_from_slice(data);
        }
        out
    }

    fn frames_of(input: &Input) -> (Vec<Frame<'_>>, Option<Damage>) {
        let mut recs = input.records();
        let frames = recs
            .by_ref()
            .filter_map(|r| match r {
                Record::Frame(f) => Some(f),
                Record::Secrets { .. } => None,
            })
            .collect();
        (frames, recs.damage().cloned())
    }

    #[test]
    fn pcap_timestamps_all_byte_orders_and_resolutions() {
        for big in [false, true] {
            for nanos in [false, true] {
                let frac = if nanos { 123_456_789 } else { 123_456 };
                let bytes = pcap_file(big, nanos, 1, &[(1_265_682_773, frac, b"abcd", 60)]);
                let f = write_temp(&bytes);
                let input = Input::open(f.path()).unwrap();
                assert_eq!(
                    input.format(),
                    if nanos {
                        Format::PcapNanos
                    } else {
                        Format::Pcap
                    }
                );
                let (frames, damage) = frames_of(&input);
                assert_eq!(damage, None);
                assert_eq!(frames.len(), 1);
                let want = if nanos {
                    1_265_682_773_123_456_789
                } else {
                    1_265_682_773_123_456_000
                };
                assert_eq!(frames[0].ts, Ts(want), "big={big} nanos={nanos}");
                assert_eq!(frames[0].data, b"abcd");
                assert_eq!(frames[0].orig_len, 60);
                assert_eq!(frames[0].link, LinkType::Ethernet);
            }
        }
    }

    #[test]
    fn cut_pcap_yields_earlier_frames_then_damage() {
        let bytes = pcap_file(
            false,
            false,
            1,
            &[(1, 0, &[1u8; 40], 40), (2, 0, &[2u8; 40], 40)],
        );
        // Second record starts at 24 + 16 + 40 = 80; cut 10 bytes into its data.
        let cut = &bytes[..80 + 16 + 10];
        let f = write_temp(cut);
        let input = Input::open(f.path()).unwrap();
        let (frames, damage) = frames_of(&input);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].ts, Ts(1_000_000_000));
        let damage = damage.expect("damage reported");
        assert_eq!(damage.offset, 80);
        // Cut inside the record header too.
        let f = write_temp(&bytes[..85]);
        let input = Input::open(f.path()).unwrap();
        let (frames, damage) = frames_of(&input);
        assert_eq!(frames.len(), 1);
        assert_eq!(damage.unwrap().offset, 80);
    }

    #[test]
    fn garbage_empty_and_short_files() {
        let f = write_temp(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        match Input::open(f.path()) {
            Err(Error::UnknownFormat { magic, .. }) => assert!(magic.starts_with("47 45 54 20")),
            other => panic!("expected UnknownFormat, got {:?}", other.err()),
        }
        let f = write_temp(b"");
        assert!(matches!(Input::open(f.path()), Err(Error::BadFile { .. })));
        // A pcap header cut short.
        let f = write_temp(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]);
        assert!(matches!(Input::open(f.path()), Err(Error::BadFile { .. })));
        let f = write_temp(&[0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0]);
        assert!(matches!(Input::open(f.path()), Err(Error::BadFile { .. })));
        assert!(matches!(
            Input::open(Path::new("/nonexistent/capture.pcap")),
            Err(Error::Open { .. })
        ));
    }

    #[test]
    fn spooled_stream_reads_like_a_file() {
        let bytes = pcap_file(false, false, 101, &[(5, 7, b"\x45\x00", 2)]);
        let input = Input::from_reader(Path::new("-"), io::Cursor::new(bytes)).unwrap();
        assert_eq!(input.path(), Path::new("-"));
        let (frames, damage) = frames_of(&input);
        assert!(damage.is_none());
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].link, LinkType::RawIp);
        assert_eq!(frames[0].ts, Ts(5_000_007_000));
    }

    #[test]
    fn a_stream_that_is_no_capture_is_refused_from_its_first_bytes() {
        // An endless stream of zeros: refused without reading past its head.
        match Input::from_reader(Path::new("-"), io::repeat(0)) {
            Err(Error::UnknownFormat { path, magic }) => {
                assert_eq!(path, Path::new("-"));
                assert_eq!(magic, ["00"; 16].join(" "));
            }
            other => panic!("expected UnknownFormat, got {:?}", other.err()),
        }
        // The same messages as for files with the same bytes.
        for bytes in [
            &b""[..],
            b"GET / HTTP/1.1\r\n",
            &[0xd4, 0xc3, 0xb2],
            &[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0],
            &[0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0],
        ] {
            let f = write_temp(bytes);
            let from_file = Input::open(f.path()).err().expect("refused").to_string();
            let from_stream = Input::from_reader(f.path(), io::Cursor::new(bytes.to_vec()))
                .err()
                .expect("refused")
                .to_string();
            assert_eq!(from_stream, from_file);
        }
    }

    #[test]
    fn a_capture_longer_than_the_head_is_read_whole_from_a_stream() {
        let frames: Vec<(u32, u32, &[u8], u32)> = (0..500)
            .map(|i| (i, 0, &b"\x45\x00abcdef"[..], 8))
            .collect();
        let bytes = pcap_file(false, false, 101, &frames);
        assert!(bytes.len() > STREAM_HEAD);
        let input = Input::from_reader(Path::new("-"), io::Cursor::new(bytes)).unwrap();
        let (frames, damage) = frames_of(&input);
        assert!(damage.is_none());
        assert_eq!(frames.len(), 500);
    }

    #[test]
    fn merge_orders_by_time_and_keeps_ties_in_input_order() {
        let a = pcap_file(
            false,
            false,
            1,
            &[(1, 0, b"a1", 2), (3, 0, b"a3", 2), (3, 0, b"a3'", 3)],
        );
        let b = pcap_file(
            true,
            true,
            1,
            &[(2, 0, b"b2", 2), (3, 0, b"b3", 2), (9, 0, b"b9", 2)],
        );
        let (fa, fb) = (write_temp(&a), write_temp(&b));
        let (ia, ib) = (
            Input::open(fa.path()).unwrap(),
            Input::open(fb.path()).unwrap(),
        );
        let mut merged = Merged::new(vec![ia.records(), ib.records()]);
        let mut order = Vec::new();
        for (i, r) in merged.by_ref() {
            if let Record::Frame(f) = r {
                order.push((i, f.data.to_vec()));
            }
        }
        let names: Vec<(usize, &[u8])> = order.iter().map(|(i, d)| (*i, d.as_slice())).collect();
        assert_eq!(
            names,
            vec![
                (0, &b"a1"[..]),
                (1, b"b2"),
                (0, b"a3"),
                (0, b"a3'"),
                (1, b"b3"),
                (1, b"b9")
            ]
        );
        assert_eq!(merged.position(), ia.len() + ib.len());
        assert!(merged.into_parts().iter().all(|r| r.damage().is_none()));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// Whatever follows a pcap header, reading ends without panicking, and the frames
        /// yielded lie inside the file.
        #[test]
        fn arbitrary_records_never_panic(
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
            big in proptest::prelude::any::<bool>(),
        ) {
            let mut bytes = pcap_file(big, false, 1, &[]);
            bytes.extend(tail);
            let f = write_temp(&bytes);
            let input = Input::open(f.path()).unwrap();
            let mut recs = input.records();
            let total: usize = recs.by_ref().map(|r| match r {
                Record::Frame(f) => f.data.len() + 16,
                Record::Secrets { data, .. } => data.len(),
            }).sum();
            proptest::prop_assert!(total <= bytes.len());
            proptest::prop_assert!(recs.position() <= input.len());
        }
    }

    /// Maps capinfos' encapsulation short names ("Ethernet (1 - ether)") to ours.
    fn capinfos_link(name: &str) -> Option<LinkType> {
        let short = name.rsplit(" - ").next()?.trim_end_matches(')');
        Some(match short {
            "ether" => LinkType::Ethernet,
            "null" => LinkType::Null,
            "loop" => LinkType::Loop,
            "rawip" => LinkType::RawIp,
            "rawip4" => LinkType::Ipv4,
            "rawip6" => LinkType::Ipv6,
            "linux-sll" => LinkType::LinuxSll,
            "linux-sll2" => LinkType::LinuxSll2,
            "nflog" => LinkType::Nflog,
            _ => return None,
        })
    }

    fn captures_under(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "reference") {
                    captures_under(&p, out);
                }
            } else if p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| matches!(x, "pcap" | "pcapng" | "cap"))
            {
                out.push(p);
            }
        }
    }

    /// Pulls `"key": value` out of the reference JSON without a JSON parser (this crate has
    /// none outside the report layer): the first number after the key.
    fn json_number(text: &str, key: &str) -> Option<u64> {
        let at = text.find(&format!("\"{key}\""))?;
        let rest = &text[at + key.len() + 2..];
        let rest = rest.trim_start().strip_prefix(':')?.trim_start();
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        rest[..end].parse().ok()
    }

    fn json_strings(text: &str, key: &str) -> Vec<String> {
        let Some(at) = text.find(&format!("\"{key}\"")) else {
            return Vec::new();
        };
        let rest = &text[at..];
        let (Some(open), Some(close)) = (rest.find('['), rest.find(']')) else {
            return Vec::new();
        };
        rest[open + 1..close]
            .split('"')
            .skip(1)
            .step_by(2)
            .map(String::from)
            .collect()
    }

    #[test]
    fn every_corpus_capture_yields_the_reference_frame_count() {
        let Some(corpus) = corpus() else { return };
        let mut files = Vec::new();
        captures_under(&corpus, &mut files);
        files.sort();
        assert!(files.len() > 50, "corpus has {} captures", files.len());
        let mut checked = 0;
        for file in &files {
            let rel = file.strip_prefix(&corpus).unwrap();
            let reference = corpus
                .join("reference")
                .join(format!("{}.json", rel.display()));
            let Ok(text) = std::fs::read_to_string(&reference) else {
                continue;
            };
            let Some(capinfos) = text.find("\"capinfos\"").map(|at| &text[at..]) else {
                continue;
            };
            let want = json_number(capinfos, "packets").expect("packets in reference");
            let input = Input::open(file).unwrap_or_else(|e| panic!("{e}"));
            let mut recs = input.records();
            let got = recs
                .by_ref()
                .filter(|r| matches!(r, Record::Frame(_)))
                .count() as u64;
            assert_eq!(got, want, "{}", rel.display());
            assert_eq!(recs.damage(), None, "{}", rel.display());
            assert_eq!(recs.position(), input.len(), "{}", rel.display());
            let want_links: Vec<LinkType> = json_strings(capinfos, "interface_encapsulations")
                .iter()
                .map(|n| capinfos_link(n).unwrap_or_else(|| panic!("unknown encapsulation {n}")))
                .collect();
            assert_eq!(
                recs.link_types(),
                want_links.as_slice(),
                "{}",
                rel.display()
            );
            checked += 1;
        }
        assert!(checked > 50, "only {checked} captures had a reference");
    }

    #[test]
    fn embedded_key_logs_are_yielded_as_secrets() {
        let Some(corpus) = corpus() else { return };
        for name in [
            "derived/tls-1.2-stream-keylog-dsb.pcapng",
            "derived/tls_nss_example-dsb.pcapng",
            "ja4/http2-with-cookies.pcapng",
        ] {
            let input = Input::open(&corpus.join(name)).unwrap();
            let secrets: Vec<(u32, &[u8])> = input
                .records()
                .filter_map(|r| match r {
                    Record::Secrets { kind, data } => Some((kind, data)),
                    Record::Frame(_) => None,
                })
                .collect();
            assert!(!secrets.is_empty(), "{name}");
            let (kind, data) = secrets[0];
            assert_eq!(kind, 0x544c_534b, "{name}");
            let text = String::from_utf8_lossy(data);
            assert!(
                text.contains("CLIENT_RANDOM") || text.contains("TRAFFIC_SECRET"),
                "{name}"
            );
            // Key logs are text; padding must not leak into the data.
            assert!(!data.ends_with(&[0]), "{name}");
        }
        let input = Input::open(&corpus.join("derived/tls_nss_example-dsb.pcapng")).unwrap();
        let all: String = input
            .records()
            .filter_map(|r| match r {
                Record::Secrets { data, .. } => Some(String::from_utf8_lossy(data).into_owned()),
                Record::Frame(_) => None,
            })
            .collect();
        assert!(all.contains("CLIENT_RANDOM"));
    }

    #[test]
    fn first_frame_of_a_real_capture_has_the_reference_time() {
        let Some(corpus) = corpus() else { return };
        // reference/chrissanders-packets/http_post.pcapng.json: frame 4 at 1265682773.126763.
        let input = Input::open(&corpus.join("chrissanders-packets/http_post.pcapng")).unwrap();
        let frame = input
            .records()
            .filter_map(|r| match r {
                Record::Frame(f) => Some(f),
                Record::Secrets { .. } => None,
            })
            .nth(3)
            .unwrap();
        assert_eq!(frame.ts, Ts::from_secs_nanos(1_265_682_773, 126_763_000));
    }
}
