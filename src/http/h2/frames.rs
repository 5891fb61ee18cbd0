//! HTTP/2 frames (RFC 9113 section 4 and 6): the 9-byte header, and what each frame type's
//! payload says once padding and priority fields are taken off.

/// The client's connection preface (RFC 9113 section 3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Frame header length.
pub const HEADER_LEN: usize = 9;

pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const PRIORITY: u8 = 0x2;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const PUSH_PROMISE: u8 = 0x5;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;
pub const WINDOW_UPDATE: u8 = 0x8;
pub const CONTINUATION: u8 = 0x9;

pub const FLAG_END_STREAM: u8 = 0x1;
pub const FLAG_ACK: u8 = 0x1;
pub const FLAG_END_HEADERS: u8 = 0x4;
pub const FLAG_PADDED: u8 = 0x8;
pub const FLAG_PRIORITY: u8 = 0x20;

/// SETTINGS_HEADER_TABLE_SIZE (RFC 9113 section 6.5.2).
pub const SETTINGS_HEADER_TABLE_SIZE: u16 = 0x1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub len: usize,
    pub kind: u8,
    pub flags: u8,
    /// The stream identifier, reserved bit cleared.
    pub stream: u32,
}

impl FrameHeader {
    /// The header at the start of `b` (at least [`HEADER_LEN`] bytes).
    pub fn parse(b: &[u8]) -> Option<FrameHeader> {
        let h = b.get(..HEADER_LEN)?;
        Some(FrameHeader {
            len: (usize::from(h[0]) << 16) | (usize::from(h[1]) << 8) | usize::from(h[2]),
            kind: h[3],
            flags: h[4],
            stream: u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff,
        })
    }

    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// The name of a frame type, for messages.
pub fn type_name(kind: u8) -> &'static str {
    match kind {
        DATA => "DATA",
        HEADERS => "HEADERS",
        PRIORITY => "PRIORITY",
        RST_STREAM => "RST_STREAM",
        SETTINGS => "SETTINGS",
        PUSH_PROMISE => "PUSH_PROMISE",
        PING => "PING",
        GOAWAY => "GOAWAY",
        WINDOW_UPDATE => "WINDOW_UPDATE",
        CONTINUATION => "CONTINUATION",
        _ => "unknown",
    }
}

/// An error code's name (RFC 9113 section 7), or its number in hex.
pub fn error_name(code: u32) -> String {
    let name = match code {
        0x0 => "NO_ERROR",
        0x1 => "PROTOCOL_ERROR",
        0x2 => "INTERNAL_ERROR",
        0x3 => "FLOW_CONTROL_ERROR",
        0x4 => "SETTINGS_TIMEOUT",
        0x5 => "STREAM_CLOSED",
        0x6 => "FRAME_SIZE_ERROR",
        0x7 => "REFUSED_STREAM",
        0x8 => "CANCEL",
        0x9 => "COMPRESSION_ERROR",
        0xa => "CONNECT_ERROR",
        0xb => "ENHANCE_YOUR_CALM",
        0xc => "INADEQUATE_SECURITY",
        0xd => "HTTP_1_1_REQUIRED",
        _ => return format!("0x{code:x}"),
    };
    name.to_string()
}

/// The payload of a PADDED frame without its Pad Length byte and padding; None when the
/// padding is longer than the payload (a PROTOCOL_ERROR).
pub fn unpad<'a>(h: &FrameHeader, payload: &'a [u8]) -> Option<&'a [u8]> {
    if !h.has(FLAG_PADDED) {
        return Some(payload);
    }
    let (&pad, rest) = payload.split_first()?;
    rest.len()
        .checked_sub(usize::from(pad))
        .map(|end| &rest[..end])
}

/// A HEADERS frame's header block fragment (padding and priority fields taken off).
pub fn headers_fragment<'a>(h: &FrameHeader, payload: &'a [u8]) -> Option<&'a [u8]> {
    let p = unpad(h, payload)?;
    if h.has(FLAG_PRIORITY) {
        p.get(5..)
    } else {
        Some(p)
    }
}

/// A PUSH_PROMISE's promised stream id and header block fragment.
pub fn push_promise<'a>(h: &FrameHeader, payload: &'a [u8]) -> Option<(u32, &'a [u8])> {
    let p = unpad(h, payload)?;
    let id = p.get(..4)?;
    let id = u32::from_be_bytes([id[0], id[1], id[2], id[3]]) & 0x7fff_ffff;
    Some((id, &p[4..]))
}

/// A 4-byte error code (RST_STREAM's payload).
pub fn u32_at(p: &[u8], at: usize) -> Option<u32> {
    let b = p.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// GOAWAY: last stream id and error code.
pub fn goaway(p: &[u8]) -> Option<(u32, u32)> {
    Some((u32_at(p, 0)? & 0x7fff_ffff, u32_at(p, 4)?))
}

/// SETTINGS parameters (identifier, value); None when the length is not a multiple of 6.
pub fn settings(p: &[u8]) -> Option<Vec<(u16, u32)>> {
    if !p.len().is_multiple_of(6) {
        return None;
    }
    Some(
        p.chunks_exact(6)
            .map(|c| {
                (
                    u16::from_be_bytes([c[0], c[1]]),
                    u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
                )
            })
            .collect(),
    )
}

/// Frame headers at the start of a byte stream, for recognising HTTP/2 whose connection
/// preface was not captured (a capture that joined mid-connection): how many headers in a row
/// could only be HTTP/2's, or `None` as soon as one could not.
///
/// Strict on purpose, as any bytes are tried: a known type, only that type's flags, the
/// stream-0 rule and fixed payload lengths of RFC 9113 section 6, the reserved bit clear, and
/// a length within 1 MiB (text such as `GET ` or a TLS record header reads as more).
pub fn plausible_frames(mut b: &[u8]) -> Option<usize> {
    let mut n = 0;
    while let Some(h) = FrameHeader::parse(b) {
        if b[5] & 0x80 != 0 || h.len > 1 << 20 {
            return None;
        }
        let (flags, on_stream, len_ok) = match h.kind {
            DATA => (FLAG_END_STREAM | FLAG_PADDED, true, true),
            HEADERS => (
                FLAG_END_STREAM | FLAG_END_HEADERS | FLAG_PADDED | FLAG_PRIORITY,
                true,
                true,
            ),
            PRIORITY => (0, true, h.len == 5),
            RST_STREAM => (0, true, h.len == 4),
            SETTINGS => (
                FLAG_ACK,
                false,
                h.len % 6 == 0 && !(h.has(FLAG_ACK) && h.len > 0),
            ),
            PUSH_PROMISE => (FLAG_END_HEADERS | FLAG_PADDED, true, h.len >= 4),
            PING => (FLAG_ACK, false, h.len == 8),
            GOAWAY => (0, false, h.len >= 8),
            WINDOW_UPDATE => (0, h.stream != 0, h.len == 4),
            CONTINUATION => (FLAG_END_HEADERS, true, true),
            _ => return None,
        };
        if h.flags & !flags != 0 || on_stream != (h.stream != 0) || !len_ok {
            return None;
        }
        n += 1;
        b = b.get(HEADER_LEN + h.len..).unwrap_or_default();
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(len: usize, kind: u8, flags: u8, stream: u32) -> FrameHeader {
        FrameHeader {
            len,
            kind,
            flags,
            stream,
        }
    }

    #[test]
    fn header_fields_and_reserved_bit() {
        // RFC 9113 section 4.1: 24-bit length, type, flags, R + 31-bit stream id.
        let h = FrameHeader::parse(&[0, 1, 2, 1, 0x25, 0x80, 0, 0, 3]).unwrap();
        assert_eq!(h, header(258, HEADERS, 0x25, 3));
        assert!(h.has(FLAG_END_STREAM) && h.has(FLAG_END_HEADERS) && h.has(FLAG_PRIORITY));
        assert!(FrameHeader::parse(&[0; 8]).is_none());
    }

    #[test]
    fn padding_and_priority_are_taken_off() {
        let h = header(0, HEADERS, FLAG_PADDED | FLAG_PRIORITY, 1);
        // pad length 2, 5 priority bytes, fragment "ab", 2 padding bytes
        let p = [2, 0, 0, 0, 0, 16, b'a', b'b', 0, 0];
        assert_eq!(headers_fragment(&h, &p), Some(&b"ab"[..]));
        // padding longer than the payload
        assert_eq!(unpad(&header(0, DATA, FLAG_PADDED, 1), &[5, 1, 2]), None);
        assert_eq!(unpad(&header(0, DATA, FLAG_PADDED, 1), &[]), None);
        assert_eq!(unpad(&header(0, DATA, 0, 1), b"xy"), Some(&b"xy"[..]));
    }

    #[test]
    fn push_promise_goaway_settings() {
        let h = header(0, PUSH_PROMISE, 0, 1);
        assert_eq!(
            push_promise(&h, &[0x80, 0, 0, 2, 0x82]),
            Some((2, &[0x82][..]))
        );
        assert_eq!(goaway(&[0, 0, 0, 7, 0, 0, 0, 0xd]), Some((7, 0xd)));
        assert_eq!(error_name(0xd), "HTTP_1_1_REQUIRED");
        assert_eq!(error_name(0x8), "CANCEL");
        assert_eq!(error_name(0x99), "0x99");
        assert_eq!(
            settings(&[0, 1, 0, 0, 0x10, 0, 0, 4, 0, 0, 0xff, 0xff]),
            Some(vec![(1, 4096), (4, 65535)])
        );
        assert_eq!(settings(&[0, 1, 0]), None);
    }
}
