//! Streaming inflate (gzip, zlib, raw deflate) over decoder states kept per thread.
//!
//! A capture holds tens of thousands of small compressed bodies; building a fresh decoder
//! state (window and tables, ~45 KB) for each one cost more than inflating many of them, and
//! freeing them left the allocator holding hundreds of MB. Each thread keeps a few idle
//! decoders and resets one for the next body.

use flate2::{Crc, Decompress, FlushDecompress, Status};
use std::cell::RefCell;
use std::io::{self, Write};

/// Decoded bytes handed on per step.
const OUT_CHUNK: usize = 32 * 1024;
/// Idle decoders kept per thread and format (stacked codings use more than one at a time).
const IDLE_MAX: usize = 4;

/// The framing around the deflate data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// RFC 1952; several members in a row are one body (as `MultiGzDecoder` reads them).
    Gzip,
    /// RFC 1950.
    Zlib,
    /// RFC 1951 with no header.
    Raw,
}

impl Format {
    fn index(self) -> usize {
        match self {
            Format::Gzip => 0,
            Format::Zlib => 1,
            Format::Raw => 2,
        }
    }

    /// The decoder reads the zlib header itself; gzip framing is read here, around raw
    /// deflate, because a decoder made for gzip could not be reset without building a new
    /// one (and the allocator kept every old one's memory).
    fn zlib_header(self) -> bool {
        self == Format::Zlib
    }
}

/// A decoder state and its output buffer.
struct State {
    decompress: Decompress,
    out: Vec<u8>,
}

thread_local! {
    static IDLE: RefCell<[Vec<State>; 3]> = const { RefCell::new([Vec::new(), Vec::new(), Vec::new()]) };
}

fn take(format: Format) -> State {
    IDLE.try_with(|idle| idle.borrow_mut()[format.index()].pop())
        .ok()
        .flatten()
        .unwrap_or_else(|| State {
            decompress: Decompress::new(format.zlib_header()),
            out: Vec::with_capacity(OUT_CHUNK),
        })
}

fn give_back(format: Format, mut state: State) {
    state.decompress.reset(format.zlib_header());
    state.out.clear();
    // During thread teardown the pool may be gone: the state is then just dropped.
    let _ = IDLE.try_with(|idle| {
        let list = &mut idle.borrow_mut()[format.index()];
        if list.len() < IDLE_MAX {
            list.push(state);
        }
    });
}

/// RFC 1952 §2.3.1 flag bits.
const FHCRC: u8 = 2;
const FEXTRA: u8 = 4;
const FNAME: u8 = 8;
const FCOMMENT: u8 = 16;

/// Where the reader is in the stream.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// gzip: the 10 fixed header bytes (ID1 ID2 CM FLG MTIME XFL OS).
    Fixed {
        got: [u8; 10],
        n: usize,
    },
    /// gzip: the optional fields that follow, in order, per the flags.
    ExtraLen {
        flags: u8,
        got: [u8; 2],
        n: usize,
    },
    Extra {
        flags: u8,
        left: usize,
    },
    Name {
        flags: u8,
    },
    Comment {
        flags: u8,
    },
    HeaderCrc {
        left: usize,
    },
    Data,
    /// gzip: CRC-32 and ISIZE of the member.
    Trailer {
        got: [u8; 8],
        n: usize,
    },
    /// The stream (or gzip member) is over.
    Ended,
}

impl Phase {
    fn start(format: Format) -> Phase {
        match format {
            Format::Gzip => Phase::Fixed { got: [0; 10], n: 0 },
            _ => Phase::Data,
        }
    }

    /// The phase after the header field that ends with these flags still to read.
    fn after_fields(flags: u8) -> Phase {
        if flags & FEXTRA != 0 {
            Phase::ExtraLen {
                flags,
                got: [0; 2],
                n: 0,
            }
        } else if flags & FNAME != 0 {
            Phase::Name { flags }
        } else if flags & FCOMMENT != 0 {
            Phase::Comment { flags }
        } else if flags & FHCRC != 0 {
            Phase::HeaderCrc { left: 2 }
        } else {
            Phase::Data
        }
    }
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// Inflates what is written to it and writes the result to `next`. Bytes after the end of a
/// zlib or raw deflate stream are ignored (browsers do the same); after a gzip member, more
/// bytes must be another member.
pub(crate) struct Inflater<W: Write> {
    format: Format,
    state: Option<State>,
    phase: Phase,
    /// gzip: CRC-32 and length of the member's output, checked against its trailer.
    crc: Crc,
    next: W,
}

impl<W: Write> Inflater<W> {
    pub(crate) fn new(format: Format, next: W) -> Inflater<W> {
        Inflater {
            format,
            state: Some(take(format)),
            phase: Phase::start(format),
            crc: Crc::new(),
            next,
        }
    }

    pub(crate) fn get_ref(&self) -> &W {
        &self.next
    }

    pub(crate) fn get_mut(&mut self) -> &mut W {
        &mut self.next
    }

    /// The input is over. A gzip member cut short is an error (its trailer checks the data);
    /// a zlib or raw stream cut short keeps what it decoded, as flate2's writers do.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        match (self.format, self.phase) {
            (Format::Gzip, Phase::Ended) | (Format::Zlib | Format::Raw, _) => Ok(()),
            _ => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "gzip stream ends before its trailer",
            )),
        }
    }

    /// Reads gzip header or trailer bytes from the front of `input`.
    fn framing(&mut self, input: &mut &[u8]) -> io::Result<()> {
        while let Some((&b, rest)) = input.split_first() {
            self.phase = match self.phase {
                Phase::Fixed { mut got, n } => {
                    got[n] = b;
                    if n + 1 < got.len() {
                        Phase::Fixed { got, n: n + 1 }
                    } else if got[0] != 0x1f || got[1] != 0x8b {
                        return Err(corrupt("invalid gzip header"));
                    } else if got[2] != 8 {
                        return Err(corrupt("gzip compression method is not deflate"));
                    } else {
                        Phase::after_fields(got[3])
                    }
                }
                Phase::ExtraLen { flags, mut got, n } => {
                    got[n] = b;
                    match n {
                        0 => Phase::ExtraLen { flags, got, n: 1 },
                        _ => match usize::from(u16::from_le_bytes(got)) {
                            0 => Phase::after_fields(flags & !FEXTRA),
                            left => Phase::Extra { flags, left },
                        },
                    }
                }
                Phase::Extra { flags, left } => match left - 1 {
                    0 => Phase::after_fields(flags & !FEXTRA),
                    left => Phase::Extra { flags, left },
                },
                Phase::Name { flags } if b == 0 => Phase::after_fields(flags & !(FEXTRA | FNAME)),
                Phase::Comment { flags } if b == 0 => {
                    Phase::after_fields(flags & !(FEXTRA | FNAME | FCOMMENT))
                }
                phase @ (Phase::Name { .. } | Phase::Comment { .. }) => phase,
                Phase::HeaderCrc { left } => match left - 1 {
                    0 => Phase::Data,
                    left => Phase::HeaderCrc { left },
                },
                Phase::Trailer { mut got, n } => {
                    got[n] = b;
                    if n + 1 < got.len() {
                        Phase::Trailer { got, n: n + 1 }
                    } else {
                        let crc = u32::from_le_bytes([got[0], got[1], got[2], got[3]]);
                        let size = u32::from_le_bytes([got[4], got[5], got[6], got[7]]);
                        if crc != self.crc.sum() || size != self.crc.amount() {
                            return Err(corrupt("gzip trailer does not match the data"));
                        }
                        Phase::Ended
                    }
                }
                Phase::Data | Phase::Ended => return Ok(()),
            };
            *input = rest;
            if matches!(self.phase, Phase::Data | Phase::Ended) {
                return Ok(());
            }
        }
        Ok(())
    }
}

impl<W: Write> Write for Inflater<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.state.is_none() {
            return Err(io::Error::other("decoder state lost"));
        }
        let mut input = buf;
        while !input.is_empty() {
            match self.phase {
                Phase::Ended if self.format == Format::Gzip => {
                    // Another member follows.
                    if let Some(state) = &mut self.state {
                        state.decompress.reset(false);
                    }
                    self.crc.reset();
                    self.phase = Phase::start(Format::Gzip);
                }
                Phase::Ended => break,
                Phase::Data => {
                    let Some(state) = &mut self.state else { break };
                    let before = state.decompress.total_in();
                    state.out.clear();
                    let status = state
                        .decompress
                        .decompress_vec(input, &mut state.out, FlushDecompress::None)
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                    let used = usize::try_from(state.decompress.total_in() - before)
                        .unwrap_or(input.len())
                        .min(input.len());
                    input = &input[used..];
                    if !state.out.is_empty() {
                        if self.format == Format::Gzip {
                            self.crc.update(&state.out);
                        }
                        self.next.write_all(&state.out)?;
                    }
                    match status {
                        Status::StreamEnd if self.format == Format::Gzip => {
                            self.phase = Phase::Trailer { got: [0; 8], n: 0 }
                        }
                        Status::StreamEnd => self.phase = Phase::Ended,
                        // No progress with room to write: the decoder wants more input.
                        Status::Ok | Status::BufError if used == 0 && state.out.is_empty() => break,
                        Status::Ok | Status::BufError => {}
                    }
                }
                _ => self.framing(&mut input)?,
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for Inflater<W> {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            give_back(self.format, state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use flate2::Compression;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn inflate(format: Format, wire: &[u8], piece: usize) -> (io::Result<()>, Vec<u8>) {
        let mut d = Inflater::new(format, Vec::new());
        for chunk in wire.chunks(piece.max(1)) {
            if let Err(e) = d.write_all(chunk) {
                return (Err(e), d.get_ref().clone());
            }
        }
        let end = d.finish();
        (end, d.get_ref().clone())
    }

    fn sample() -> Vec<u8> {
        (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect()
    }

    #[test]
    fn every_format_round_trips_in_any_piece_size() {
        let data = sample();
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(&data).unwrap();
        let zlib = z.finish().unwrap();
        let mut r = DeflateEncoder::new(Vec::new(), Compression::default());
        r.write_all(&data).unwrap();
        let raw = r.finish().unwrap();
        for piece in [1, 7, 4096, usize::MAX] {
            for (format, wire) in [
                (Format::Gzip, gzip(&data)),
                (Format::Zlib, zlib.clone()),
                (Format::Raw, raw.clone()),
            ] {
                let (end, out) = inflate(format, &wire, piece.min(wire.len()));
                assert!(end.is_ok(), "{format:?} piece {piece}: {end:?}");
                assert_eq!(out, data, "{format:?} piece {piece}");
            }
        }
    }

    #[test]
    fn gzip_members_in_a_row_are_one_body_and_states_are_reused() {
        let mut wire = gzip(b"hello ");
        wire.extend(gzip(b"world"));
        for _ in 0..3 {
            let (end, out) = inflate(Format::Gzip, &wire, 5);
            assert!(end.is_ok());
            assert_eq!(out, b"hello world");
        }
        let idle = IDLE.with(|i| i.borrow()[Format::Gzip.index()].len());
        assert_eq!(idle, 1, "one state served the three bodies");
    }

    #[test]
    fn a_cut_gzip_body_fails_at_the_end_and_a_corrupt_one_while_writing() {
        let wire = gzip(&sample());
        let (end, _) = inflate(Format::Gzip, &wire[..wire.len() - 3], 1000);
        assert_eq!(end.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        let mut bad = wire.clone();
        let n = bad.len();
        bad[n - 6] ^= 0xff; // inside the CRC-32 of the trailer (RFC 1952 §2.2)
        let (end, _) = inflate(Format::Gzip, &bad, 1000);
        assert_eq!(end.unwrap_err().kind(), io::ErrorKind::InvalidData);
        let (end, _) = inflate(Format::Gzip, b"not gzip at all", 4);
        assert!(end.is_err());
    }

    #[test]
    fn optional_gzip_header_fields_are_skipped() {
        // RFC 1952 §2.3: FEXTRA, FNAME, FCOMMENT, then FHCRC.
        let mut b = flate2::GzBuilder::new()
            .extra(vec![1, 2, 3, 4, 5])
            .filename("body.json")
            .comment("a comment")
            .write(Vec::new(), Compression::default());
        b.write_all(b"{\"ok\":true}").unwrap();
        let with_fields = b.finish().unwrap();
        let (end, out) = inflate(Format::Gzip, &with_fields, 1);
        assert!(end.is_ok(), "{end:?}");
        assert_eq!(out, b"{\"ok\":true}");
        // Add FHCRC: two header CRC bytes after the fixed header (no other fields here).
        let plain = gzip(b"crc");
        let mut hcrc = plain[..10].to_vec();
        hcrc[3] |= FHCRC;
        hcrc.extend_from_slice(&[0xab, 0xcd]);
        hcrc.extend_from_slice(&plain[10..]);
        let (end, out) = inflate(Format::Gzip, &hcrc, 3);
        assert!(end.is_ok(), "{end:?}");
        assert_eq!(out, b"crc");
    }

    #[test]
    fn bytes_after_a_zlib_stream_are_ignored() {
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(b"payload").unwrap();
        let mut wire = z.finish().unwrap();
        wire.extend_from_slice(b"\r\n\r\ntrailing junk");
        let (end, out) = inflate(Format::Zlib, &wire, 3);
        assert!(end.is_ok());
        assert_eq!(out, b"payload");
    }
}
