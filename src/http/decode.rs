//! Body accounting as bytes stream through: SHA-256 of the de-chunked (wire) body, streaming
//! content decoding (gzip, deflate, br, stacked), a cap on decoded size, and optional keeping
//! of the decoded bytes. Nothing here buffers a whole body unless asked to keep it.

use super::inflate::{Format, Inflater};
use crate::model::Severity;
use sha2::{Digest, Sha256};
use std::io::{self, Write};
use std::sync::Arc;

/// Output buffer of the brotli writer; its window lives in the decoder state.
const BROTLI_BUFFER: usize = 16 * 1024;

/// Problems found while accounting a body, for the caller to attach to its exchange.
pub(crate) type Notes = Vec<(Severity, String)>;

/// The elements of a comma-separated field value (RFC 9110 §5.6.1): trimmed of spaces and
/// tabs, empty ones dropped. Transfer-Encoding and Content-Encoding are such lists.
pub(crate) fn list_elements(value: &str) -> impl DoubleEndedIterator<Item = &str> {
    value
        .split(',')
        .map(|e| e.trim_matches([' ', '\t']))
        .filter(|e| !e.is_empty())
}

fn sha256_of(hasher: Sha256) -> [u8; 32] {
    hasher.finalize().into()
}

/// The end of the decoder chain: counts, hashes and (optionally) keeps decoded bytes.
struct DecodedSink {
    len: u64,
    cap: u64,
    hasher: Sha256,
    keep: Option<Vec<u8>>,
    keep_max: u64,
    /// The first decoded bytes, for the stage layer (never dropped, only capped).
    head: Option<Vec<u8>>,
    head_max: u64,
    capped: bool,
}

impl Write for DecodedSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len() as u64;
        if self.len.saturating_add(n) > self.cap {
            // Stops a decompression bomb: the decoder above sees the error and gives up.
            self.capped = true;
            return Err(io::Error::other("decoded body cap reached"));
        }
        self.len += n;
        self.hasher.update(buf);
        keep_bytes(&mut self.keep, self.keep_max, self.len, buf);
        head_bytes(&mut self.head, self.head_max, buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Appends to a keep buffer while the total stays within `max`, else drops it for good.
fn keep_bytes(keep: &mut Option<Vec<u8>>, max: u64, total_after: u64, buf: &[u8]) {
    if let Some(k) = keep {
        if total_after <= max {
            k.extend_from_slice(buf);
        } else {
            *keep = None;
        }
    }
}

/// Appends to a head buffer until it holds `max` bytes.
fn head_bytes(head: &mut Option<Vec<u8>>, max: u64, buf: &[u8]) {
    if let Some(h) = head {
        let room = (max as usize).saturating_sub(h.len()).min(buf.len());
        h.extend_from_slice(&buf[..room]);
    }
}

/// One decoding stage and everything after it. Built innermost-first from the codings.
enum Chain {
    Sink(DecodedSink),
    /// gzip, zlib or raw deflate.
    Inflate(Box<Inflater<Chain>>),
    /// "deflate" whose first two bytes are not seen yet: they tell zlib from raw deflate.
    DeflateUndecided {
        head: Vec<u8>,
        next: Box<Chain>,
    },
    Brotli(Box<brotli_decompressor::DecompressorWriter<Chain>>),
    /// Placeholder while a stage is being rebuilt.
    Empty,
}

/// Feeds all of `buf` to a decoder. Bytes after the end of a compressed stream are ignored
/// (browsers do the same), so this never reports a short write.
fn write_stage<W: Write>(stage: &mut W, buf: &[u8]) -> io::Result<usize> {
    let mut rest = buf;
    while !rest.is_empty() {
        let n = stage.write(rest)?;
        if n == 0 {
            break;
        }
        rest = rest.get(n..).unwrap_or_default();
    }
    Ok(buf.len())
}

/// RFC 1950 §2.2: CM = 8, window <= 32K and the header check bits make CMF*256+FLG a
/// multiple of 31.
fn is_zlib_header(cmf: u8, flg: u8) -> bool {
    cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(cmf) * 256 + u16::from(flg)) % 31 == 0
}

impl Write for Chain {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Chain::Sink(s) => s.write(buf),
            Chain::Inflate(d) => d.write(buf),
            Chain::Brotli(d) => write_stage(d.as_mut(), buf),
            Chain::DeflateUndecided { head, .. } => {
                let need = 2usize.saturating_sub(head.len()).min(buf.len());
                head.extend_from_slice(&buf[..need]);
                if head.len() < 2 {
                    return Ok(buf.len());
                }
                let Chain::DeflateUndecided { head, next } = std::mem::replace(self, Chain::Empty)
                else {
                    return Err(io::Error::other("decoder state lost"));
                };
                let zlib = is_zlib_header(head[0], head[1]);
                let format = if zlib { Format::Zlib } else { Format::Raw };
                *self = Chain::Inflate(Box::new(Inflater::new(format, *next)));
                self.write(&head)?;
                self.write(&buf[need..])?;
                Ok(buf.len())
            }
            Chain::Empty => Err(io::Error::other("decoder state lost")),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Chain {
    /// Ends every stage, outermost first; an error means some stage's stream was incomplete
    /// or corrupt.
    fn finish(&mut self) -> io::Result<()> {
        match self {
            Chain::Sink(_) => Ok(()),
            Chain::Inflate(d) => {
                d.finish()?;
                d.get_mut().finish()
            }
            Chain::Brotli(d) => {
                d.close()?;
                d.get_mut().finish()
            }
            Chain::DeflateUndecided { .. } => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "deflate stream shorter than its header",
            )),
            Chain::Empty => Err(io::Error::other("decoder state lost")),
        }
    }

    fn sink(&self) -> Option<&DecodedSink> {
        match self {
            Chain::Sink(s) => Some(s),
            Chain::Inflate(d) => d.get_ref().sink(),
            Chain::Brotli(d) => d.get_ref().sink(),
            Chain::DeflateUndecided { next, .. } => next.sink(),
            Chain::Empty => None,
        }
    }

    fn sink_mut(&mut self) -> Option<&mut DecodedSink> {
        match self {
            Chain::Sink(s) => Some(s),
            Chain::Inflate(d) => d.get_mut().sink_mut(),
            Chain::Brotli(d) => d.get_mut().sink_mut(),
            Chain::DeflateUndecided { next, .. } => next.sink_mut(),
            Chain::Empty => None,
        }
    }
}

enum Decoding {
    /// No content coding: the decoded body is the wire body.
    Identity,
    Active(Box<Chain>),
    /// Decoding gave up (reason already noted).
    Failed,
}

/// Accounts one message body while it streams by.
pub(crate) struct BodyAcc {
    wire_len: u64,
    /// `None` once bytes are missing.
    wire_hash: Option<Sha256>,
    codings: Vec<String>,
    decoding: Decoding,
    /// Wire (de-chunked, not decoded) bytes kept for `Body::wire_kept`; with no coding they
    /// are also the decoded body.
    keep_wire: Option<Vec<u8>>,
    keep_max: u64,
    /// Head of an identity-coded body (coded bodies keep theirs in the decoded sink).
    head: Option<Vec<u8>>,
    head_max: u64,
    missing: u64,
    cap: u64,
}

/// Settings a body needs, copied from the connection's options.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BodyLimits {
    pub decoded_cap: u64,
    pub keep_max: u64,
    /// Keep this many leading decoded bytes in `Body::head`; 0 keeps none.
    pub head_max: u64,
}

impl BodyAcc {
    /// `codings` are the Content-Encoding values, lower-case, in the order applied.
    pub(crate) fn new(codings: Vec<String>, limits: BodyLimits, notes: &mut Notes) -> BodyAcc {
        let keep = |on: bool| (on && limits.keep_max > 0).then(Vec::new);
        let active: Vec<&str> = codings
            .iter()
            .map(String::as_str)
            .filter(|c| *c != "identity")
            .collect();
        let decoding = if active.is_empty() {
            Decoding::Identity
        } else {
            let sink = DecodedSink {
                len: 0,
                cap: limits.decoded_cap,
                hasher: Sha256::new(),
                keep: keep(true),
                keep_max: limits.keep_max,
                head: (limits.head_max > 0).then(Vec::new),
                head_max: limits.head_max,
                capped: false,
            };
            let mut chain = Chain::Sink(sink);
            let mut unknown = None;
            // The sender applied the codings left to right, so the wire bytes meet the last
            // one first: wrap stages in listed order, the last listed ends up outermost.
            for coding in &active {
                chain = match *coding {
                    "gzip" | "x-gzip" => {
                        Chain::Inflate(Box::new(Inflater::new(Format::Gzip, chain)))
                    }
                    "deflate" => Chain::DeflateUndecided {
                        head: Vec::with_capacity(2),
                        next: Box::new(chain),
                    },
                    "br" => Chain::Brotli(Box::new(brotli_decompressor::DecompressorWriter::new(
                        chain,
                        BROTLI_BUFFER,
                    ))),
                    other => {
                        unknown = Some(other.to_string());
                        break;
                    }
                };
            }
            match unknown {
                Some(c) => {
                    notes.push((
                        Severity::Info,
                        format!("content coding \"{c}\" is not supported: body not decoded"),
                    ));
                    Decoding::Failed
                }
                None => Decoding::Active(Box::new(chain)),
            }
        };
        let keep_wire = keep(true);
        let identity = matches!(decoding, Decoding::Identity);
        BodyAcc {
            wire_len: 0,
            wire_hash: Some(Sha256::new()),
            codings,
            decoding,
            keep_wire,
            keep_max: limits.keep_max,
            head: (limits.head_max > 0 && identity).then(Vec::new),
            head_max: limits.head_max,
            missing: 0,
            cap: limits.decoded_cap,
        }
    }

    /// Body bytes (de-chunked) in stream order.
    pub(crate) fn feed(&mut self, data: &[u8], notes: &mut Notes) {
        if data.is_empty() {
            return;
        }
        self.wire_len += data.len() as u64;
        if let Some(h) = &mut self.wire_hash {
            h.update(data);
        }
        keep_bytes(&mut self.keep_wire, self.keep_max, self.wire_len, data);
        match &mut self.decoding {
            Decoding::Identity => head_bytes(&mut self.head, self.head_max, data),
            Decoding::Active(chain) => {
                if let Err(e) = chain.write(data) {
                    let capped = chain.sink().is_some_and(|s| s.capped);
                    notes.push(self.decode_failure(capped, &e));
                    self.decoding = Decoding::Failed;
                }
            }
            Decoding::Failed => {}
        }
    }

    fn decode_failure(&self, capped: bool, e: &io::Error) -> (Severity, String) {
        let codings = self.codings.join(", ");
        if capped {
            (
                Severity::Warning,
                format!(
                    "decoded body ({codings}) exceeds the cap of {} bytes: decoding stopped",
                    self.cap
                ),
            )
        } else {
            (
                Severity::Warning,
                format!(
                    "body decoding ({codings}) failed after {} wire bytes: {e}",
                    self.wire_len
                ),
            )
        }
    }

    /// `len` body bytes are missing from the capture: hashes become unknowable.
    pub(crate) fn gap(&mut self, len: u64) {
        self.wire_len += len;
        self.missing += len;
        self.wire_hash = None;
        self.keep_wire = None;
        if !matches!(self.decoding, Decoding::Identity) {
            self.decoding = Decoding::Failed;
        }
    }

    pub(crate) fn wire_len(&self) -> u64 {
        self.wire_len
    }

    /// Closes the body. `framed_complete`: the framing reached its end (length, last chunk,
    /// close) rather than being cut.
    pub(crate) fn finish(
        mut self,
        framed_complete: bool,
        stream_offset: u64,
        stream_length: u64,
        notes: &mut Notes,
    ) -> crate::model::Body {
        let complete = framed_complete && self.missing == 0;
        let mut head = match &mut self.decoding {
            Decoding::Active(chain) => chain.sink_mut().and_then(|s| s.head.take()),
            _ => self.head.take(),
        };
        let wire_sha256 = if complete {
            self.wire_hash.map(sha256_of)
        } else {
            None
        };
        // Kept only when the whole body is there: a prefix would pass for the body.
        let wire_kept = match (&wire_sha256, self.keep_wire) {
            (Some(_), Some(w)) => Some(Arc::<[u8]>::from(w)),
            _ => None,
        };
        let (decoded_length, decoded_sha256, kept) = match self.decoding {
            Decoding::Identity => match wire_sha256 {
                Some(h) => (Some(self.wire_len), Some(h), wire_kept.clone()),
                None => (None, None, None),
            },
            _ if complete && self.wire_len == 0 => {
                // An empty body with a coding header (HEAD-like, or a sloppy server): there
                // is nothing to decode.
                (Some(0), Some(sha256_of(Sha256::new())), None)
            }
            Decoding::Active(mut chain) if complete => match chain.finish() {
                Ok(()) => match chain.sink_mut() {
                    Some(s) => (
                        Some(s.len),
                        Some(sha256_of(std::mem::take(&mut s.hasher))),
                        s.keep.take().map(Arc::<[u8]>::from),
                    ),
                    None => (None, None, None),
                },
                Err(e) => {
                    let capped = chain.sink().is_some_and(|s| s.capped);
                    let codings = self.codings.join(", ");
                    let msg = if capped {
                        format!(
                            "decoded body ({codings}) exceeds the cap of {} bytes: decoding stopped",
                            self.cap
                        )
                    } else {
                        format!("body decoding ({codings}) failed at the end of the body: {e}")
                    };
                    notes.push((Severity::Warning, msg));
                    (None, None, None)
                }
            },
            _ => (None, None, None),
        };
        // A whole kept body is its own head; an empty head says nothing.
        let head = match &kept {
            Some(k) if head.is_some() => Some(k.clone()),
            _ => head.take().filter(|h| !h.is_empty()).map(Arc::<[u8]>::from),
        };
        crate::model::Body {
            wire_length: self.wire_len,
            decoded_length,
            complete,
            stream_offset,
            stream_length,
            content: crate::model::BodyContent {
                digests: crate::model::Digests::new(wire_sha256, decoded_sha256),
                content_encoding: self.codings,
                kept,
                wire_kept,
                head,
            }
            .shared(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use flate2::Compression;

    fn limits() -> BodyLimits {
        BodyLimits {
            decoded_cap: 64 << 20,
            keep_max: 1 << 20,
            head_max: 0,
        }
    }

    fn sha(data: &[u8]) -> [u8; 32] {
        Sha256::digest(data).into()
    }

    fn run(
        codings: &[&str],
        wire: &[u8],
        piece: usize,
        lim: BodyLimits,
    ) -> (crate::model::Body, Notes) {
        let mut notes = Vec::new();
        let mut acc = BodyAcc::new(
            codings.iter().map(|s| s.to_string()).collect(),
            lim,
            &mut notes,
        );
        for chunk in wire.chunks(piece.max(1)) {
            acc.feed(chunk, &mut notes);
        }
        let len = wire.len() as u64;
        (acc.finish(true, 0, len, &mut notes), notes)
    }

    #[test]
    fn sha256_empty_matches_fips_vector() {
        // FIPS 180-2 / well-known digest of the empty string.
        assert_eq!(
            sha(b"")[..4],
            [0xe3, 0xb0, 0xc4, 0x42],
            "SHA-256(\"\") starts e3b0c442"
        );
    }

    #[test]
    fn zlib_header_check() {
        // RFC 1950: 0x78 0x9c is the common default-compression header.
        assert!(is_zlib_header(0x78, 0x9c));
        assert!(is_zlib_header(0x78, 0x01));
        assert!(!is_zlib_header(0x78, 0x9d));
        assert!(!is_zlib_header(0xcb, 0x48)); // raw deflate of "hello..."
    }

    #[test]
    fn brotli_hello_vector() {
        // Uncompressed meta-block holding "hello\n" (brotli-decompressor's own test vector).
        let br = b"\x8f\x02\x80\x68\x65\x6c\x6c\x6f\x0a\x03";
        for piece in [1, 3, br.len()] {
            let (b, notes) = run(&["br"], br, piece, limits());
            assert!(notes.is_empty(), "{notes:?}");
            assert_eq!(b.decoded_length, Some(6));
            assert_eq!(b.decoded_sha256(), Some(sha(b"hello\n")));
            assert_eq!(b.kept.as_deref(), Some(&b"hello\n"[..]));
            assert_eq!(b.wire_sha256(), Some(sha(br)));
        }
    }

    #[test]
    fn stacked_codings_decode_in_reverse() {
        let plain = b"stacked coding test, stacked coding test".repeat(50);
        // Applied: deflate (zlib) first, then gzip.
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(&plain).unwrap();
        let z = z.finish().unwrap();
        let mut g = GzEncoder::new(Vec::new(), Compression::default());
        g.write_all(&z).unwrap();
        let wire = g.finish().unwrap();
        let (b, notes) = run(&["deflate", "gzip"], &wire, 7, limits());
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(b.decoded_length, Some(plain.len() as u64));
        assert_eq!(b.decoded_sha256(), Some(sha(&plain)));
        assert_eq!(b.content_encoding, vec!["deflate", "gzip"]);
    }

    #[test]
    fn raw_and_zlib_deflate() {
        let plain = b"hello hello hello deflate".repeat(30);
        let mut raw = DeflateEncoder::new(Vec::new(), Compression::default());
        raw.write_all(&plain).unwrap();
        let raw = raw.finish().unwrap();
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(&plain).unwrap();
        let z = z.finish().unwrap();
        for wire in [&raw, &z] {
            for piece in [1, 2, 5, 4096] {
                let (b, notes) = run(&["deflate"], wire, piece, limits());
                assert!(notes.is_empty(), "{notes:?}");
                assert_eq!(b.decoded_sha256(), Some(sha(&plain)));
            }
        }
    }

    #[test]
    fn truncated_gzip_is_a_decoding_error() {
        let mut g = GzEncoder::new(Vec::new(), Compression::default());
        g.write_all(&b"abcdefgh".repeat(100)).unwrap();
        let wire = g.finish().unwrap();
        let cut = &wire[..wire.len() - 5];
        let (b, notes) = run(&["gzip"], cut, 100, limits());
        assert_eq!(b.decoded_length, None);
        assert_eq!(b.wire_length, cut.len() as u64);
        assert_eq!(b.wire_sha256(), Some(sha(cut)));
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn multi_member_gzip() {
        let mut wire = Vec::new();
        for part in [&b"first "[..], b"second"] {
            let mut g = GzEncoder::new(Vec::new(), Compression::default());
            g.write_all(part).unwrap();
            wire.extend(g.finish().unwrap());
        }
        let (b, notes) = run(&["x-gzip"], &wire, 3, limits());
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(b.decoded_sha256(), Some(sha(b"first second")));
    }

    #[test]
    fn gzip_bomb_stops_at_cap() {
        let mut g = GzEncoder::new(Vec::new(), Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..8 {
            g.write_all(&zeros).unwrap();
        }
        let wire = g.finish().unwrap();
        let lim = BodyLimits {
            decoded_cap: 1 << 20,
            keep_max: 0,
            head_max: 0,
        };
        let (b, notes) = run(&["gzip"], &wire, 1000, lim);
        assert_eq!(b.decoded_length, None);
        assert_eq!(b.decoded_sha256(), None);
        assert!(b.wire_sha256().is_some());
        assert_eq!(notes.len(), 1);
        assert!(notes[0].1.contains("cap"), "{notes:?}");
    }

    #[test]
    fn unknown_coding_is_noted() {
        let (b, notes) = run(&["zstd"], b"xyz", 10, limits());
        assert_eq!(b.decoded_length, None);
        assert_eq!(b.wire_length, 3);
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn wire_kept_holds_encoded_bytes() {
        let plain = b"wire kept test ".repeat(20);
        let mut g = GzEncoder::new(Vec::new(), Compression::default());
        g.write_all(&plain).unwrap();
        let wire = g.finish().unwrap();
        let (b, notes) = run(&["gzip"], &wire, 9, limits());
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(b.kept.as_deref(), Some(&plain[..]));
        assert_eq!(b.wire_kept.as_deref(), Some(&wire[..]));
        // Not decodable: the wire bytes are still kept for export.
        let (b, _) = run(&["zstd"], b"xyz", 2, limits());
        assert_eq!(b.kept, None);
        assert_eq!(b.wire_kept.as_deref(), Some(&b"xyz"[..]));
        // Identity: both are the same bytes.
        let (b, _) = run(&[], b"abc", 1, limits());
        assert_eq!(b.wire_kept.as_deref(), Some(&b"abc"[..]));
        assert_eq!(b.kept, b.wire_kept);
    }

    #[test]
    fn wire_kept_respects_limit_and_gaps() {
        let lim = BodyLimits {
            decoded_cap: 1 << 20,
            keep_max: 4,
            head_max: 0,
        };
        let (b, _) = run(&["zstd"], b"12345", 2, lim);
        assert_eq!(b.wire_kept, None);
        let none = BodyLimits {
            decoded_cap: 1 << 20,
            keep_max: 0,
            head_max: 0,
        };
        let (b, _) = run(&[], b"12", 2, none);
        assert_eq!((b.kept.clone(), b.wire_kept.clone()), (None, None));
        let mut notes = Vec::new();
        let mut acc = BodyAcc::new(Vec::new(), limits(), &mut notes);
        acc.feed(b"ab", &mut notes);
        acc.gap(2);
        acc.feed(b"cd", &mut notes);
        let b = acc.finish(true, 0, 6, &mut notes);
        assert_eq!((b.kept.clone(), b.wire_kept.clone()), (None, None));
    }

    #[test]
    fn keep_limit_drops_large_bodies() {
        let lim = BodyLimits {
            decoded_cap: 1 << 20,
            keep_max: 4,
            head_max: 0,
        };
        let (b, _) = run(&[], b"12345", 2, lim);
        assert_eq!(b.kept, None);
        let (b, _) = run(&["identity"], b"1234", 2, lim);
        assert_eq!(b.kept.as_deref(), Some(&b"1234"[..]));
        assert_eq!(b.decoded_sha256(), b.wire_sha256());
    }
}
