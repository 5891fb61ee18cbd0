//! Recognising HTTP/1 by content: does a stream start with a request or status line, and
//! where do lines and heads end (fast scans over the bytes as they arrive).

use super::head::is_tchar;

/// Verdict on a stream prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sniff {
    Yes,
    No,
    NeedMore,
}

/// Longest method token accepted when sniffing ("BASELINE-CONTROL" is 16).
const SNIFF_MAX_METHOD: usize = 32;
/// Longest request target accepted when sniffing; longer lines are not taken for requests.
const SNIFF_MAX_TARGET: usize = 64 * 1024;
/// Bytes a sniff may need before it must decide.
pub(super) const SNIFF_LIMIT: usize = SNIFF_MAX_METHOD + SNIFF_MAX_TARGET + 16;

/// Does this prefix of a client->server stream start with an HTTP/1.x request line? (method
/// token, SP, target, SP, "HTTP/1.") Decides as early as possible.
pub fn sniff_request(prefix: &[u8]) -> Sniff {
    let mut i = 0;
    while i < prefix.len() && is_tchar(prefix[i]) {
        i += 1;
        if i > SNIFF_MAX_METHOD {
            return Sniff::No;
        }
    }
    let Some(&sep) = prefix.get(i) else {
        return Sniff::NeedMore;
    };
    if i == 0 || sep != b' ' {
        return Sniff::No;
    }
    while prefix.get(i) == Some(&b' ') {
        i += 1;
    }
    let target_start = i;
    // Raw bytes >= 0x80 occur in real targets; controls and spaces end the target.
    while let Some(&b) = prefix.get(i) {
        if b <= b' ' || b == 0x7f {
            break;
        }
        i += 1;
        if i - target_start > SNIFF_MAX_TARGET {
            return Sniff::No;
        }
    }
    match prefix.get(i) {
        None => return Sniff::NeedMore,
        Some(b' ') if i > target_start => {}
        Some(_) => return Sniff::No,
    }
    while prefix.get(i) == Some(&b' ') {
        i += 1;
    }
    starts_with_partial(prefix.get(i..).unwrap_or_default(), b"HTTP/1.")
}

/// Does this prefix of a server->client stream start with "HTTP/1."?
pub fn sniff_response(prefix: &[u8]) -> Sniff {
    starts_with_partial(prefix, b"HTTP/1.")
}

fn starts_with_partial(have: &[u8], want: &[u8]) -> Sniff {
    let n = have.len().min(want.len());
    if have[..n] != want[..n] {
        Sniff::No
    } else if n < want.len() {
        Sniff::NeedMore
    } else {
        Sniff::Yes
    }
}

/// Position of the first '\n' in `hay`, eight bytes at a time (SWAR zero-byte test: the
/// lowest flagged byte is always a true match).
pub(super) fn find_newline(hay: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut chunks = hay.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ (ONES * u64::from(b'\n'));
        let found = x.wrapping_sub(ONES) & !x & HIGHS;
        if found != 0 {
            return Some(base + (found.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|p| base + p)
}

/// Position in `data` of the '\n' that ends a head, looking back into `prev` (the head bytes
/// already buffered) for the line end before it.
pub(super) fn find_head_end(prev: &[u8], data: &[u8]) -> Option<usize> {
    let before = |i: usize, back: usize| -> Option<u8> {
        if i >= back {
            data.get(i - back).copied()
        } else {
            let k = back - i;
            prev.len().checked_sub(k).and_then(|j| prev.get(j).copied())
        }
    };
    let mut from = 0;
    while let Some(p) = find_newline(data.get(from..)?) {
        let i = from + p;
        match before(i, 1) {
            Some(b'\n') => return Some(i),
            Some(b'\r') if before(i, 2) == Some(b'\n') => return Some(i),
            _ => {}
        }
        from = i + 1;
    }
    None
}
