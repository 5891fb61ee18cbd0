//! Chunked transfer-coding framing (RFC 9112 §7.1), stepped over a body as it streams.

/// Longest chunk-size line (size + extensions) accepted before calling it garbage.
pub(crate) const MAX_CHUNK_LINE: u32 = 4096;
/// More hex digits than this cannot be a real chunk size (15 digits = 2^60).
const MAX_CHUNK_DIGITS: u32 = 15;

/// Where a chunked body's framing is. Chunk data itself is passed through in bulk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Chunked {
    /// Reading a chunk-size line.
    Size {
        value: u64,
        digits: u32,
        /// Past the digits (in whitespace or extensions).
        after_digits: bool,
        line_len: u32,
    },
    /// Inside chunk data, this many bytes to go.
    Data(u64),
    /// After chunk data: expecting CRLF (or a bare LF).
    DataEnd {
        seen_cr: bool,
    },
    /// After the last chunk: trailer fields up to an empty line.
    Trailer {
        line_len: u32,
        total: u64,
    },
    Done,
}

/// One step of chunk framing over `data`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ChunkStep {
    /// This many framing bytes were consumed.
    Framing(usize),
    /// This many chunk-data bytes lead the input: pass them to the body.
    Data(usize),
    /// The body ended after consuming this many framing bytes.
    Done(usize),
    /// Framing is broken; the message cannot be followed further.
    Error(String),
}

impl Chunked {
    pub(crate) fn start() -> Chunked {
        Chunked::Size {
            value: 0,
            digits: 0,
            after_digits: false,
            line_len: 0,
        }
    }

    /// Advances over a prefix of `data` (non-empty); `max_trailer` bounds the trailer block.
    pub(crate) fn step(&mut self, data: &[u8], max_trailer: u64) -> ChunkStep {
        match self {
            Chunked::Data(rem) => {
                let n = (*rem).min(data.len() as u64);
                *rem -= n;
                if *rem == 0 {
                    *self = Chunked::DataEnd { seen_cr: false };
                }
                ChunkStep::Data(n as usize)
            }
            Chunked::Done => ChunkStep::Done(0),
            _ => self.step_framing(data, max_trailer),
        }
    }

    fn step_framing(&mut self, data: &[u8], max_trailer: u64) -> ChunkStep {
        for (i, &b) in data.iter().enumerate() {
            match self {
                Chunked::Size {
                    value,
                    digits,
                    after_digits,
                    line_len,
                } => {
                    *line_len += 1;
                    if *line_len > MAX_CHUNK_LINE {
                        return ChunkStep::Error(format!(
                            "chunk-size line longer than {MAX_CHUNK_LINE} bytes"
                        ));
                    }
                    if b == b'\n' {
                        if *digits == 0 {
                            return ChunkStep::Error("chunk-size line without a size".into());
                        }
                        let size = *value;
                        if size > 0 {
                            *self = Chunked::Data(size);
                            return ChunkStep::Framing(i + 1);
                        }
                        *self = Chunked::Trailer {
                            line_len: 0,
                            total: 0,
                        };
                        continue;
                    }
                    if *after_digits {
                        continue; // extensions, whitespace, CR: not interpreted
                    }
                    match (b as char).to_digit(16) {
                        Some(d) => {
                            *digits += 1;
                            if *digits > MAX_CHUNK_DIGITS {
                                return ChunkStep::Error("chunk size too large".into());
                            }
                            *value = (*value << 4) | u64::from(d);
                        }
                        // Leading whitespace is tolerated, as most servers parse it.
                        None if *digits == 0 && (b == b' ' || b == b'\t') => {}
                        None if *digits > 0 && matches!(b, b';' | b' ' | b'\t' | b'\r') => {
                            *after_digits = true;
                        }
                        None => {
                            return ChunkStep::Error(format!(
                                "invalid byte 0x{b:02x} in a chunk-size line"
                            ))
                        }
                    }
                }
                Chunked::DataEnd { seen_cr } => match b {
                    b'\r' if !*seen_cr => *seen_cr = true,
                    b'\n' => {
                        *self = Chunked::start();
                        // Return so the caller sees progress per chunk (cheap: once a chunk).
                        return ChunkStep::Framing(i + 1);
                    }
                    _ => return ChunkStep::Error("chunk data not followed by CRLF".into()),
                },
                Chunked::Trailer { line_len, total } => {
                    *total += 1;
                    if *total > max_trailer {
                        return ChunkStep::Error("chunked trailer section too long".into());
                    }
                    match b {
                        b'\n' if *line_len == 0 => {
                            *self = Chunked::Done;
                            return ChunkStep::Done(i + 1);
                        }
                        b'\n' => *line_len = 0,
                        b'\r' => {}
                        _ => *line_len += 1,
                    }
                }
                Chunked::Data(_) | Chunked::Done => return ChunkStep::Framing(i),
            }
        }
        ChunkStep::Framing(data.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a whole chunked body through the framer; returns the de-chunked data and the
    /// bytes consumed.
    fn dechunk(wire: &[u8], piece: usize) -> Result<(Vec<u8>, usize), String> {
        let mut c = Chunked::start();
        let mut out = Vec::new();
        let mut used = 0;
        for p in wire.chunks(piece) {
            let mut p = p;
            while !p.is_empty() {
                match c.step(p, 1 << 20) {
                    ChunkStep::Framing(n) => {
                        used += n;
                        p = &p[n..]
                    }
                    ChunkStep::Data(n) => {
                        out.extend_from_slice(&p[..n]);
                        used += n;
                        p = &p[n..];
                    }
                    ChunkStep::Done(n) => return Ok((out, used + n)),
                    ChunkStep::Error(e) => return Err(e),
                }
            }
        }
        Err("unfinished".into())
    }

    #[test]
    fn chunked_rfc9112_example_with_extensions_and_trailer() {
        let wire = b"4;ext=1\r\nWiki\r\n5 ; a=\"b\"\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\nNEXT";
        for piece in [1, 2, 3, 7, wire.len()] {
            let (out, used) = dechunk(wire, piece).unwrap();
            assert_eq!(out, b"Wikipedia in\r\n\r\nchunks.");
            assert_eq!(used, wire.len() - 4);
        }
    }

    #[test]
    fn chunk_size_bounds() {
        assert!(dechunk(b"1234567890abcdef0\r\n", 64).is_err());
        let endless = vec![b'1'; 10];
        let mut line = endless.clone();
        line.extend(std::iter::repeat_n(b' ', 5000));
        let e = dechunk(&line, 100).unwrap_err();
        assert!(e.contains("longer"), "{e}");
        assert!(dechunk(b"zz\r\n", 4).is_err());
        assert!(dechunk(b"\r\n", 4).is_err());
        assert!(dechunk(b"3\r\nabcX", 4).is_err());
        // Bare LF line ends are tolerated.
        assert_eq!(dechunk(b"3\nabc\n0\n\n", 2).unwrap().0, b"abc");
    }
}
