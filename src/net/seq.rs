//! TCP sequence numbers: 32-bit values compared modulo 2^32 (RFC 793 §3.3, RFC 1982 serial
//! number arithmetic), after smoltcp's `TcpSeqNumber`.
//!
//! Two sequence numbers are only comparable while they are less than 2^31 apart; TCP keeps
//! every valid segment of a connection far closer than that to the receive point (the
//! largest window is 2^30), so "later" is the shorter way around the circle.

use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, Sub};

/// A TCP sequence (or acknowledgement) number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// Signed distance from `earlier` to `self`: positive when `self` comes after `earlier`.
    pub fn diff(self, earlier: SeqNumber) -> i32 {
        // Reinterpreting the wrapped difference as signed picks the shorter way round.
        self.0.wrapping_sub(earlier.0) as i32
    }

    /// The later of two sequence numbers.
    pub fn later(self, other: SeqNumber) -> SeqNumber {
        if self.diff(other) >= 0 {
            self
        } else {
            other
        }
    }

    /// The earlier of two sequence numbers.
    pub fn earlier(self, other: SeqNumber) -> SeqNumber {
        if self.diff(other) <= 0 {
            self
        } else {
            other
        }
    }

    /// Unwraps `self` to a 64-bit stream offset, given that sequence number `anchor` is
    /// stream offset `anchor_offset`. Negative when `self` lies before offset 0.
    pub fn offset_from(self, anchor: SeqNumber, anchor_offset: u64) -> i64 {
        let anchor_offset = i64::try_from(anchor_offset).unwrap_or(i64::MAX);
        anchor_offset.saturating_add(i64::from(self.diff(anchor)))
    }

    /// The sequence number of stream offset `offset` when offset 0 is `self`.
    pub fn at_offset(self, offset: u64) -> SeqNumber {
        // Only the low 32 bits matter modulo 2^32.
        self + offset as u32
    }
}

impl Add<u32> for SeqNumber {
    type Output = SeqNumber;
    fn add(self, rhs: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(rhs))
    }
}

impl Sub<u32> for SeqNumber {
    type Output = SeqNumber;
    fn sub(self, rhs: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_sub(rhs))
    }
}

/// Serial-number order: not transitive over the whole circle, hence no `Ord`.
impl PartialOrd for SeqNumber {
    fn partial_cmp(&self, other: &SeqNumber) -> Option<Ordering> {
        Some(self.diff(*other).cmp(&0))
    }
}

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_wraps_around() {
        // RFC 1982 §3.2: 0xFFFF_FFFF + 1 = 0, and 0 comes after 0xFFFF_FFFF.
        let before = SeqNumber(u32::MAX);
        let after = before + 1;
        assert_eq!(after, SeqNumber(0));
        assert!(after > before);
        assert!(before < after);
        assert_eq!(after.diff(before), 1);
        assert_eq!(before.diff(after), -1);
        assert_eq!(SeqNumber(5) - 10, SeqNumber(u32::MAX - 4));
        assert_eq!(before.later(after), after);
        assert_eq!(before.earlier(after), before);
    }

    #[test]
    fn offsets_unwrap_across_the_wrap() {
        let base = SeqNumber(u32::MAX - 9);
        // 4 GiB + 20 bytes into the stream the sequence number has wrapped twice-ish.
        let offset = (1u64 << 32) + 20;
        let seq = base.at_offset(offset);
        assert_eq!(seq, SeqNumber(10));
        assert_eq!(
            seq.offset_from(base.at_offset(offset - 5), offset - 5),
            offset as i64
        );
        assert_eq!((seq - 30).offset_from(seq, offset), offset as i64 - 30);
        assert_eq!(base.offset_from(base + 3, 2), -1);
    }
}
