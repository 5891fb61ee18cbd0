//! Per-direction TCP stream reassembly (after smoltcp's assembler), delivering one ordered
//! byte stream with explicit gaps to a [`StreamSink`].
//!
//! Sequence numbers are unwrapped to 64-bit stream offsets relative to the next byte to
//! deliver, so streams beyond 4 GiB and sequence wrap-around need no special case. In-order
//! data goes straight from the capture's buffer to the sink; only out-of-order data waits, in
//! an offset-keyed map of non-overlapping pieces. Where copies disagree the first one seen
//! wins. Holes are never spliced silently: they become gaps when the peer acknowledges past
//! them, when the buffer limit forces it, when the frame was cut by the snapshot length, or
//! when the direction is closed.

use crate::model::{Arrival, Diagnostic, Dir, Severity, StreamEnd};
use crate::net::seq::SeqNumber;
use crate::net::stream::StreamSink;
use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;

/// The largest TCP window (65535 << 14, RFC 7323): data or acknowledgements further ahead of
/// the delivery point than this cannot belong to the stream.
const MAX_AHEAD: u64 = 1 << 30;
/// Recently delivered bytes kept (by reference) to check retransmissions against.
const RECENT_BYTES: usize = 64 << 10;
/// Cap on recently delivered pieces kept, so tiny segments cannot grow the window list.
const RECENT_PIECES: usize = 64;
/// Cap on waiting pieces, so that many tiny out-of-order pieces cannot cost far more memory
/// in bookkeeping than `max_buffered` allows in bytes.
const MAX_PENDING_PIECES: usize = 16 << 10;
/// Diagnostics of one kind per direction before the rest are only summarised.
const MAX_DIAGNOSTICS_PER_KIND: u32 = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReassemblyOptions {
    /// Out-of-order bytes held per direction before the oldest hole is given up as a gap.
    pub max_buffered: usize,
}

impl Default for ReassemblyOptions {
    fn default() -> Self {
        ReassemblyOptions {
            max_buffered: 4 << 20,
        }
    }
}

#[derive(Default, Clone, Debug, PartialEq, Eq)]
pub struct ReassemblyStats {
    /// Segments handed to [`Reassembler::segment`].
    pub segments: u64,
    /// Segments whose payload had all been seen before (keep-alives excluded).
    pub retransmitted_segments: u64,
    /// Segments that arrived ahead of a hole.
    pub out_of_order_segments: u64,
    /// Segments partly covering bytes already seen.
    pub overlapping_segments: u64,
    /// Bytes of later copies that differ from the first copy.
    pub conflicting_bytes: u64,
    /// Bytes delivered as gaps.
    pub missing_bytes: u64,
    /// Gaps delivered.
    pub gaps: u64,
}

/// Why a hole was given up as a gap; worded for the diagnostic.
#[derive(Debug, Clone, Copy)]
enum GapReason {
    Acknowledged,
    BufferFull,
    Snaplen,
    Closed,
}

impl GapReason {
    fn explain(self) -> &'static str {
        match self {
            GapReason::Acknowledged => "the peer acknowledged bytes the capture did not see",
            GapReason::BufferFull => "too much out-of-order data waited for a hole to be filled",
            GapReason::Snaplen => "the frame was cut by the capture's snapshot length",
            GapReason::Closed => "the direction ended with the hole unfilled",
        }
    }
}

/// Out-of-order data waiting for the hole before it.
#[derive(Debug)]
struct Pending<'a> {
    data: Cow<'a, [u8]>,
    at: Arrival,
}

/// Reassembles one direction of one TCP connection.
#[derive(Debug)]
pub struct Reassembler<'a> {
    dir: Dir,
    max_buffered: usize,
    /// Sequence number of stream offset 0, once known.
    base: Option<SeqNumber>,
    /// Next stream offset to deliver; everything before it was delivered as data or gap.
    delivered: u64,
    /// Out-of-order pieces by stream offset: non-empty, non-overlapping, all after `delivered`.
    pending: BTreeMap<u64, Pending<'a>>,
    pending_bytes: usize,
    /// Recently delivered pieces (offset, bytes), oldest first, for conflict checks.
    recent: VecDeque<(u64, Cow<'a, [u8]>)>,
    recent_bytes: usize,
    /// Stream offset of the FIN (one past the last data byte), once seen.
    fin: Option<u64>,
    ended: bool,
    stats: ReassemblyStats,
    diagnostics: Vec<Diagnostic>,
    warned_before_base: bool,
    warned_after_fin: bool,
    warned_far_ahead: bool,
    warned_fin: bool,
    gap_diagnostics: u32,
    unreported_gaps: (u64, u64),
    conflict_diagnostics: u32,
    unreported_conflicts: (u64, u64),
}

fn dir_name(dir: Dir) -> &'static str {
    match dir {
        Dir::ClientToServer => "client→server",
        Dir::ServerToClient => "server→client",
    }
}

/// `data[range]` keeping the capture borrow; an owned buffer is cut in place.
fn cut(data: Cow<'_, [u8]>, range: Range<usize>) -> Cow<'_, [u8]> {
    match data {
        Cow::Borrowed(s) => {
            let end = range.end.min(s.len());
            Cow::Borrowed(s.get(range.start.min(end)..end).unwrap_or_default())
        }
        Cow::Owned(mut v) => {
            let end = range.end.min(v.len());
            v.truncate(end);
            v.drain(..range.start.min(end));
            Cow::Owned(v)
        }
    }
}

/// A copy of `data[range]` that borrows from the capture when `data` does.
fn sub<'a>(data: &Cow<'a, [u8]>, range: Range<usize>) -> Cow<'a, [u8]> {
    match data {
        Cow::Borrowed(s) => {
            let s: &'a [u8] = s;
            Cow::Borrowed(s.get(range).unwrap_or_default())
        }
        Cow::Owned(v) => Cow::Owned(v.get(range).unwrap_or_default().to_vec()),
    }
}

/// Bytes where `a` and `b` differ (over their common length).
fn differing(a: &[u8], b: &[u8]) -> u64 {
    a.iter().zip(b).filter(|(x, y)| x != y).count() as u64
}

impl<'a> Reassembler<'a> {
    /// An empty direction `dir`; the sink hears of it with this `dir`.
    pub fn new(dir: Dir, opts: &ReassemblyOptions) -> Self {
        Reassembler {
            dir,
            max_buffered: opts.max_buffered,
            base: None,
            delivered: 0,
            pending: BTreeMap::new(),
            pending_bytes: 0,
            recent: VecDeque::new(),
            recent_bytes: 0,
            fin: None,
            ended: false,
            stats: ReassemblyStats::default(),
            diagnostics: Vec::new(),
            warned_before_base: false,
            warned_after_fin: false,
            warned_far_ahead: false,
            warned_fin: false,
            gap_diagnostics: 0,
            unreported_gaps: (0, 0),
            conflict_diagnostics: 0,
            unreported_conflicts: (0, 0),
        }
    }

    /// A SYN from this direction's sender with sequence number `isn`: stream offset 0 = isn+1.
    pub fn syn(&mut self, isn: u32) {
        // Once bytes were placed, moving the base would shift every offset already delivered.
        if self.base.is_none() && !self.ended {
            self.base = Some(SeqNumber(isn) + 1);
        }
    }

    /// `on_end` was delivered.
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// The base offset is known (SYN or first segment seen).
    pub fn has_started(&self) -> bool {
        self.base.is_some()
    }

    /// Next stream offset to deliver.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    pub fn stats(&self) -> &ReassemblyStats {
        &self.stats
    }

    /// Diagnostics produced so far, each with its frame and no connection. Drains them.
    pub fn take_diagnostics(&mut self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.diagnostics)
    }

    /// Stream offset of `seq` (negative before offset 0), relative to the delivery point so
    /// that wrap-around and streams beyond 4 GiB unwrap correctly.
    fn offset_of(&self, base: SeqNumber, seq: u32) -> i64 {
        SeqNumber(seq).offset_from(base.at_offset(self.delivered), self.delivered)
    }

    /// One TCP segment sent in this direction. In-order bytes go to the sink at once (borrowed,
    /// not copied); bytes ahead of a hole wait. `missing` bytes (cut by the snapshot length)
    /// follow `payload`; `fin` marks the end after them.
    pub fn segment<S: StreamSink>(
        &mut self,
        seq: u32,
        payload: Cow<'a, [u8]>,
        missing: u32,
        fin: bool,
        at: Arrival,
        sink: &mut S,
    ) {
        self.stats.segments += 1;
        if self.ended {
            // Retransmissions after the end are expected; new bytes after a FIN are not.
            if let (Some(base), Some(fin_at)) = (self.base, self.fin) {
                let seg_end = self.offset_of(base, seq) + payload.len() as i64 + i64::from(missing);
                if seg_end > fin_at as i64 {
                    self.note_after_fin(at);
                }
            }
            return;
        }
        let base = match self.base {
            Some(base) => base,
            None if payload.is_empty() && missing == 0 && !fin => return,
            None => {
                let base = SeqNumber(seq);
                self.base = Some(base);
                base
            }
        };
        let start = self.offset_of(base, seq);
        let data_end = start + payload.len() as i64;
        let seg_end = data_end + i64::from(missing);
        let delivered = self.delivered as i64;

        if start - delivered > MAX_AHEAD as i64 {
            if !self.warned_far_ahead {
                self.warned_far_ahead = true;
                self.diagnose(
                    Severity::Warning,
                    format!(
                        "{}: segment {} bytes beyond the stream position ignored (not part of this stream)",
                        dir_name(self.dir),
                        start - delivered
                    ),
                    at,
                );
            }
            return;
        }
        // A keep-alive probe repeats the last byte (or none) to provoke an ACK; it is not data.
        if !fin && missing == 0 && payload.len() <= 1 && delivered > 0 && start == delivered - 1 {
            return;
        }
        if start < 0 {
            self.note_before_base(at);
            if seg_end <= 0 {
                return;
            }
        }

        // Everything from here in non-negative stream offsets.
        let skip = (-start).clamp(0, payload.len() as i64) as usize;
        let mut payload = if skip > 0 {
            cut(payload, skip..usize::MAX)
        } else {
            payload
        };
        let mut start = start.max(0) as u64;
        let mut data_end = data_end.max(0) as u64;
        let mut seg_end = seg_end as u64;

        if fin {
            self.set_fin(seg_end, at);
        }
        if let Some(fin_at) = self.fin {
            if seg_end > fin_at {
                self.note_after_fin(at);
                seg_end = fin_at;
                start = start.min(fin_at);
                if data_end > fin_at {
                    data_end = fin_at;
                    payload = cut(payload, 0..(data_end - start) as usize);
                }
            }
        }

        self.place(start, payload, at, sink);
        self.drain(sink);
        // Bytes the frame did not hold right where the stream stands cannot come later in a
        // better copy (a retransmission is cut the same way): give them up now.
        if seg_end > self.delivered && data_end <= self.delivered {
            self.flush_through(seg_end, GapReason::Snaplen, at, sink);
        }
        self.enforce_limit(at, sink);
        self.check_end(at, sink);
    }

    /// Puts payload starting at stream offset `start` (>= 0) in the stream: delivers what is
    /// next, buffers what is ahead, compares what was already seen.
    fn place<S: StreamSink>(
        &mut self,
        start: u64,
        payload: Cow<'a, [u8]>,
        at: Arrival,
        sink: &mut S,
    ) {
        let len = payload.len() as u64;
        if len == 0 {
            return;
        }
        let end = start + len;
        let mut covered = 0u64;
        let mut conflicts = 0u64;
        let mut cur = start;

        if cur < self.delivered {
            let upto = end.min(self.delivered);
            covered += upto - cur;
            conflicts += self.compare_recent(
                cur,
                payload.get(..(upto - start) as usize).unwrap_or_default(),
            );
            cur = upto;
        }
        // Fast path: the next bytes with nothing waiting, straight through without copying.
        if cur == self.delivered && cur < end && self.pending.is_empty() {
            let piece = if cur == start {
                payload
            } else {
                sub(&payload, (cur - start) as usize..len as usize)
            };
            self.deliver(piece, at, sink);
        } else {
            let mut out_of_order = false;
            while cur < end {
                let covering = self
                    .pending
                    .range(..=cur)
                    .next_back()
                    .filter(|(&k, p)| k + p.data.len() as u64 > cur)
                    .map(|(&k, p)| (k, p.data.len() as u64));
                if let Some((k, plen)) = covering {
                    let upto = end.min(k + plen);
                    let ours = payload
                        .get((cur - start) as usize..(upto - start) as usize)
                        .unwrap_or_default();
                    let theirs = self
                        .pending
                        .get(&k)
                        .and_then(|p| p.data.get((cur - k) as usize..(upto - k) as usize))
                        .unwrap_or_default();
                    conflicts += differing(ours, theirs);
                    covered += upto - cur;
                    cur = upto;
                    continue;
                }
                let next = self.pending.range(cur..).next().map_or(end, |(&k, _)| k);
                let upto = end.min(next);
                let piece = sub(&payload, (cur - start) as usize..(upto - start) as usize);
                if cur == self.delivered {
                    self.deliver(piece, at, sink);
                } else {
                    out_of_order = true;
                    self.pending_bytes += piece.len();
                    self.pending.insert(cur, Pending { data: piece, at });
                }
                cur = upto;
            }
            if out_of_order {
                self.stats.out_of_order_segments += 1;
            }
        }

        if covered == len {
            self.stats.retransmitted_segments += 1;
        } else if covered > 0 {
            self.stats.overlapping_segments += 1;
        }
        if conflicts > 0 {
            self.note_conflict(start, len, conflicts, at);
        }
    }

    /// Differing bytes between `data` at `offset` and what was delivered there, as far as
    /// the window of recent pieces still holds it.
    fn compare_recent(&self, offset: u64, data: &[u8]) -> u64 {
        let end = offset + data.len() as u64;
        let mut conflicts = 0;
        for (o, d) in &self.recent {
            let (o, dend) = (*o, *o + d.len() as u64);
            let (lo, hi) = (offset.max(o), end.min(dend));
            if lo < hi {
                let ours = data.get((lo - offset) as usize..(hi - offset) as usize);
                let theirs = d.get((lo - o) as usize..(hi - o) as usize);
                conflicts += differing(ours.unwrap_or_default(), theirs.unwrap_or_default());
            }
        }
        conflicts
    }

    /// Hands the next bytes to the sink and remembers them for conflict checks.
    fn deliver<S: StreamSink>(&mut self, data: Cow<'a, [u8]>, at: Arrival, sink: &mut S) {
        if data.is_empty() {
            return;
        }
        sink.on_data(self.dir, self.delivered, &data, at);
        let len = data.len();
        self.recent.push_back((self.delivered, data));
        self.recent_bytes += len;
        self.delivered += len as u64;
        while let Some((_, front)) = self.recent.front() {
            let keep_without_front = self.recent_bytes - front.len() >= RECENT_BYTES;
            if !keep_without_front && self.recent.len() <= RECENT_PIECES {
                break;
            }
            self.recent_bytes -= front.len();
            self.recent.pop_front();
        }
    }

    /// Delivers `len` missing bytes at the delivery point.
    fn gap<S: StreamSink>(&mut self, len: u64, reason: GapReason, at: Arrival, sink: &mut S) {
        if len == 0 {
            return;
        }
        sink.on_gap(self.dir, self.delivered, len, at);
        self.stats.gaps += 1;
        self.stats.missing_bytes += len;
        if self.gap_diagnostics < MAX_DIAGNOSTICS_PER_KIND {
            self.gap_diagnostics += 1;
            let message = format!(
                "{}: {len} bytes missing at stream offset {} ({})",
                dir_name(self.dir),
                self.delivered,
                reason.explain()
            );
            self.diagnose(Severity::Warning, message, at);
        } else {
            self.unreported_gaps.0 += 1;
            self.unreported_gaps.1 += len;
        }
        self.delivered += len;
    }

    /// Delivers waiting pieces that start at the delivery point.
    fn drain<S: StreamSink>(&mut self, sink: &mut S) {
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() > self.delivered {
                break;
            }
            let (offset, piece) = entry.remove_entry();
            self.pending_bytes -= piece.data.len();
            // Pieces never start before the delivery point; trimmed defensively anyway.
            let skip = (self.delivered - offset) as usize;
            if skip < piece.data.len() {
                let data = if skip == 0 {
                    piece.data
                } else {
                    cut(piece.data, skip..usize::MAX)
                };
                self.deliver(data, piece.at, sink);
            }
        }
    }

    /// Delivers everything up to `target`, waiting pieces as data and holes as gaps, then
    /// whatever follows contiguously.
    fn flush_through<S: StreamSink>(
        &mut self,
        target: u64,
        reason: GapReason,
        at: Arrival,
        sink: &mut S,
    ) {
        while self.delivered < target {
            let next = self.pending.first_key_value().map(|(&k, _)| k);
            match next {
                Some(k) if k <= self.delivered => self.drain(sink),
                Some(k) => self.gap(k.min(target) - self.delivered, reason, at, sink),
                None => self.gap(target - self.delivered, reason, at, sink),
            }
        }
        self.drain(sink);
    }

    /// Gives up the oldest holes until the waiting data fits the limit again.
    fn enforce_limit<S: StreamSink>(&mut self, at: Arrival, sink: &mut S) {
        while self.pending_bytes > self.max_buffered || self.pending.len() > MAX_PENDING_PIECES {
            let Some(first) = self.pending.first_key_value().map(|(&k, _)| k) else {
                break;
            };
            self.flush_through(first, GapReason::BufferFull, at, sink);
        }
    }

    /// Records the FIN offset (the first one wins) and drops waiting data beyond it.
    fn set_fin(&mut self, offset: u64, at: Arrival) {
        match self.fin {
            Some(f) if f != offset && !self.warned_fin => {
                self.warned_fin = true;
                let message = format!(
                    "{}: FIN at stream offset {offset} contradicts the earlier FIN at {f}; the first is kept",
                    dir_name(self.dir)
                );
                self.diagnose(Severity::Warning, message, at);
            }
            Some(_) => {}
            None if offset < self.delivered && !self.warned_fin => {
                self.warned_fin = true;
                let message = format!(
                    "{}: FIN at stream offset {offset} before {} bytes already delivered; ignored",
                    dir_name(self.dir),
                    self.delivered
                );
                self.diagnose(Severity::Warning, message, at);
            }
            None if offset < self.delivered => {}
            None => {
                self.fin = Some(offset);
                let beyond = self.pending.split_off(&offset);
                let mut dropped = !beyond.is_empty();
                self.pending_bytes -= beyond.values().map(|p| p.data.len()).sum::<usize>();
                let straddling = self.pending.range_mut(..offset).next_back();
                if let Some((&k, p)) = straddling {
                    let keep = (offset - k) as usize;
                    if p.data.len() > keep {
                        self.pending_bytes -= p.data.len() - keep;
                        p.data = cut(std::mem::take(&mut p.data), 0..keep);
                        dropped = true;
                    }
                }
                if dropped {
                    self.note_after_fin(at);
                }
            }
        }
    }

    /// Ends the direction with FIN once every byte before the FIN was delivered.
    fn check_end<S: StreamSink>(&mut self, at: Arrival, sink: &mut S) {
        if !self.ended && self.fin.is_some_and(|f| self.delivered >= f) {
            self.finish(StreamEnd::Fin, at, sink);
        }
    }

    fn finish<S: StreamSink>(&mut self, how: StreamEnd, at: Arrival, sink: &mut S) {
        sink.on_end(self.dir, self.delivered, how, at);
        self.ended = true;
        self.pending = BTreeMap::new();
        self.pending_bytes = 0;
        self.recent = VecDeque::new();
        self.recent_bytes = 0;
        let (gaps, bytes) = self.unreported_gaps;
        if gaps > 0 {
            let message = format!(
                "{}: {gaps} more gaps ({bytes} bytes) not reported one by one",
                dir_name(self.dir)
            );
            self.diagnose(Severity::Warning, message, at);
        }
        let (segments, bytes) = self.unreported_conflicts;
        if segments > 0 {
            let message = format!(
                "{}: {segments} more retransmissions differing from the first copy ({bytes} bytes) not reported one by one",
                dir_name(self.dir)
            );
            self.diagnose(Severity::Warning, message, at);
        }
    }

    /// The other side acknowledged everything before `ack`: holes before it are lost for good.
    pub fn peer_ack<S: StreamSink>(&mut self, ack: u32, at: Arrival, sink: &mut S) {
        if self.ended {
            return;
        }
        let Some(base) = self.base else {
            return;
        };
        let offset = self.offset_of(base, ack);
        let ahead = offset - self.delivered as i64;
        // Behind or equal: nothing new. Beyond the largest window: not an ACK of this stream.
        if ahead <= 0 || ahead > MAX_AHEAD as i64 {
            return;
        }
        let mut target = offset as u64;
        if let Some(f) = self.fin {
            // The FIN takes a sequence number of its own: an ACK of it is no data.
            target = target.min(f);
        }
        self.flush_through(target, GapReason::Acknowledged, at, sink);
        self.check_end(at, sink);
    }

    /// RST or end of capture: flush what is buffered (holes become gaps), then end. A FIN
    /// already seen is reached through the flush and ends the direction as `Fin`.
    pub fn close<S: StreamSink>(&mut self, how: StreamEnd, at: Arrival, sink: &mut S) {
        if self.ended {
            return;
        }
        let last_waiting = self
            .pending
            .last_key_value()
            .map(|(&k, p)| k + p.data.len() as u64);
        let target = self.fin.or(last_waiting).unwrap_or(self.delivered);
        self.flush_through(target, GapReason::Closed, at, sink);
        self.check_end(at, sink);
        if !self.ended {
            self.finish(how, at, sink);
        }
    }

    fn diagnose(&mut self, severity: Severity, message: String, at: Arrival) {
        self.diagnostics
            .push(Diagnostic::new(severity, message).at_frame(at.frame));
    }

    fn note_conflict(&mut self, offset: u64, len: u64, conflicts: u64, at: Arrival) {
        self.stats.conflicting_bytes += conflicts;
        if self.conflict_diagnostics < MAX_DIAGNOSTICS_PER_KIND {
            self.conflict_diagnostics += 1;
            let message = format!(
                "{}: retransmitted bytes at stream offset {offset}..{} differ from the first copy in {conflicts} bytes; the first copy is kept",
                dir_name(self.dir),
                offset + len
            );
            self.diagnose(Severity::Warning, message, at);
        } else {
            self.unreported_conflicts.0 += 1;
            self.unreported_conflicts.1 += conflicts;
        }
    }

    fn note_before_base(&mut self, at: Arrival) {
        if !self.warned_before_base {
            self.warned_before_base = true;
            let message = format!(
                "{}: data from before the start of the stream ignored (sent before the capture's first segment or SYN)",
                dir_name(self.dir)
            );
            self.diagnose(Severity::Info, message, at);
        }
    }

    fn note_after_fin(&mut self, at: Arrival) {
        if !self.warned_after_fin {
            self.warned_after_fin = true;
            let message = format!("{}: data after FIN ignored", dir_name(self.dir));
            self.diagnose(Severity::Warning, message, at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FrameNo, Ts};
    use proptest::prelude::*;

    #[derive(Debug, Clone, PartialEq)]
    enum Event {
        Data {
            off: u64,
            bytes: Vec<u8>,
            frame: u64,
        },
        Gap {
            off: u64,
            len: u64,
            frame: u64,
        },
        End {
            off: u64,
            how: StreamEnd,
            frame: u64,
        },
    }

    /// Records every call and checks the contract as it goes (direction, contiguity, one end).
    struct Recorder {
        dir: Dir,
        next: u64,
        ended: bool,
        events: Vec<Event>,
    }

    impl Recorder {
        fn new(dir: Dir) -> Recorder {
            Recorder {
                dir,
                next: 0,
                ended: false,
                events: Vec::new(),
            }
        }
        fn advance(&mut self, dir: Dir, off: u64, len: u64) {
            assert_eq!(dir, self.dir);
            assert!(!self.ended, "call after on_end");
            assert_eq!(off, self.next, "offsets must be contiguous");
            assert!(len > 0, "empty data or gap");
            self.next += len;
        }
        fn data(&self) -> Vec<u8> {
            let mut out = Vec::new();
            for e in &self.events {
                if let Event::Data { bytes, .. } = e {
                    out.extend_from_slice(bytes);
                }
            }
            out
        }
        fn gaps(&self) -> Vec<(u64, u64)> {
            self.events
                .iter()
                .filter_map(|e| match e {
                    Event::Gap { off, len, .. } => Some((*off, *len)),
                    _ => None,
                })
                .collect()
        }
        fn end(&self) -> Option<(u64, StreamEnd)> {
            match self.events.last() {
                Some(Event::End { off, how, .. }) => Some((*off, *how)),
                _ => None,
            }
        }
    }

    impl StreamSink for Recorder {
        fn on_data(&mut self, dir: Dir, offset: u64, data: &[u8], at: Arrival) {
            self.advance(dir, offset, data.len() as u64);
            self.events.push(Event::Data {
                off: offset,
                bytes: data.to_vec(),
                frame: at.frame.0,
            });
        }
        fn on_gap(&mut self, dir: Dir, offset: u64, len: u64, at: Arrival) {
            self.advance(dir, offset, len);
            self.events.push(Event::Gap {
                off: offset,
                len,
                frame: at.frame.0,
            });
        }
        fn on_end(&mut self, dir: Dir, offset: u64, how: StreamEnd, at: Arrival) {
            assert_eq!(dir, self.dir);
            assert!(!self.ended, "on_end twice");
            assert_eq!(offset, self.next);
            self.ended = true;
            self.events.push(Event::End {
                off: offset,
                how,
                frame: at.frame.0,
            });
        }
    }

    fn at(frame: u64) -> Arrival {
        Arrival {
            frame: FrameNo(frame),
            ts: Ts(frame as i64 * 1000),
        }
    }

    const ISN: u32 = 1000;
    const DIR: Dir = Dir::ServerToClient;

    fn opened<'a>(opts: &ReassemblyOptions) -> Reassembler<'a> {
        let mut r = Reassembler::new(DIR, opts);
        r.syn(ISN);
        r
    }

    /// Sequence number of stream offset `off` after a SYN with `ISN`.
    fn seq(off: u64) -> u32 {
        ISN.wrapping_add(1).wrapping_add(off as u32)
    }

    fn stream(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    fn bounded(r: &Reassembler<'_>) -> bool {
        r.pending_bytes == r.pending.values().map(|p| p.data.len()).sum::<usize>()
            && r.pending_bytes <= r.max_buffered
            && r.recent.len() <= RECENT_PIECES + 1
    }

    #[test]
    fn lost_segment_becomes_one_gap_at_close() {
        let data = stream(3000);
        let mut r = opened(&ReassemblyOptions::default());
        let mut sink = Recorder::new(DIR);
        for (i, chunk) in data.chunks(500).enumerate() {
            let off = i as u64 * 500;
            if off == 1000 {
                continue;
            }
            r.segment(
                seq(off),
                Cow::Borrowed(chunk),
                0,
                false,
                at(i as u64 + 1),
                &mut sink,
            );
        }
        assert_eq!(r.delivered(), 1000);
        r.close(StreamEnd::CaptureEnd, at(99), &mut sink);
        r.close(StreamEnd::Rst, at(100), &mut sink);
        assert_eq!(sink.gaps(), vec![(1000, 500)]);
        let mut expected = data[..1000].to_vec();
        expected.extend_from_slice(&data[1500..]);
        assert_eq!(sink.data(), expected);
        assert_eq!(sink.end(), Some((3000, StreamEnd::CaptureEnd)));
        assert_eq!(r.stats().gaps, 1);
        assert_eq!(r.stats().missing_bytes, 500);
        assert_eq!(r.stats().out_of_order_segments, 3);
        let diags = r.take_diagnostics();
        assert_eq!(diags.len(), 1);
        assert!(diags[0]
            .message
            .contains("500 bytes missing at stream offset 1000"));
        assert_eq!(diags[0].frame, Some(FrameNo(99)));
        assert!(r.is_ended() && r.pending.is_empty() && r.recent.is_empty());
    }

    #[test]
    fn peer_ack_past_a_hole_delivers_the_gap_then_the_waiting_data() {
        let data = stream(1500);
        let mut r = opened(&ReassemblyOptions::default());
        let mut sink = Recorder::new(DIR);
        r.segment(
            seq(0),
            Cow::Borrowed(&data[..500]),
            0,
            false,
            at(1),
            &mut sink,
        );
        r.segment(
            seq(1000),
            Cow::Borrowed(&data[1000..]),
            0,
            false,
            at(2),
            &mut sink,
        );
        assert_eq!(r.delivered(), 500);
        // An ACK inside the hole gives up only the acknowledged part.
        r.peer_ack(seq(800), at(3), &mut sink);
        assert_eq!(sink.gaps(), vec![(500, 300)]);
        r.peer_ack(seq(1200), at(4), &mut sink);
        assert_eq!(
            sink.events[1..],
            [
                Event::Gap {
                    off: 500,
                    len: 300,
                    frame: 3
                },
                Event::Gap {
                    off: 800,
                    len: 200,
                    frame: 4
                },
                Event::Data {
                    off: 1000,
                    bytes: data[1000..].to_vec(),
                    frame: 2
                },
            ]
        );
        assert_eq!(r.delivered(), 1500);
    }

    #[test]
    fn peer_ack_with_nothing_waiting_is_a_tail_gap() {
        let data = stream(1000);
        let mut r = opened(&ReassemblyOptions::default());
        let mut sink = Recorder::new(DIR);
        r.segment(
            seq(0),
            Cow::Borrowed(&data[..500]),
            0,
            false,
            at(1),
            &mut sink,
        );
        r.peer_ack(seq(800), at(2), &mut sink);
        assert_eq!(sink.gaps(), vec![(500, 300)]);
        r.segment(
            seq(800),
            Cow::Borrowed(&data[800..]),
            0,
            false,
            at(3),
            &mut sink,
        );
        assert_eq!(
            sink.events.last(),
            Some(&Event::Data {
                off: 800,
                bytes: data[800..].to_vec(),
                frame: 3
            })
        );
        // The lost bytes arriving late are a retransmission of gapped bytes: dropped.
        r.segment(
            seq(500),
            Cow::Borrowed(&data[500..800]),
            0,
            false,
            at(4),
            &mut sink,
        );
        assert_eq!(r.delivered(), 1000);
        assert_eq!(r.stats().retransmitted_segments, 1);
    }

    #[test]
    fn absurd_and_early_acks_are_ignored() {
        let mut sink = Recorder::new(DIR);
        let mut r = Reassembler::new(DIR, &ReassemblyOptions::default());
        r.peer_ack(12345, at(1), &mut sink);
        assert!(!r.has_started());
        r.syn(ISN);
        assert!(r.has_started());
        r.peer_ack(seq(0), at(2), &mut sink);
        r.peer_ack(seq(0).wrapping_sub(10), at(3), &mut sink);
        r.peer_ack(seq((1 << 30) + 1), at(4), &mut sink);
        r.peer_ack(seq(3 << 30), at(5), &mut sink);
        assert!(sink.events.is_empty());
        assert_eq!(r.delivered(), 0);
    }

    #[test]
    fn conflicting_retransmission_keeps_the_first_copy() {
        let mut r = opened(&ReassemblyOptions::default());
        let mut sink = Recorder::new(DIR);
        r.segment(
            seq(0),
            Cow::Borrowed(b"hello world"),
            0,
            false,
            at(1),
            &mut sink,
        );
        r.segment(seq(6), Cow::Borrowed(b"WORLD"), 0, false, at(2), &mut sink);
        // Same bytes again: a plain retransmission, no conflict.
        r.segment(seq(0), Cow::Borrowed(b"hello"), 0, false, at(3), &mut sink);
        // Keep-alive: one garbage byte at the last delivered offset.
        r.segment(seq(10), Cow::Borrowed(b"\0"), 0, false, at(4), &mut sink);
        // Overlap with buffered data: "abc" waits at 21, "xbcdef" overlaps it.
        r.segment(seq(21), Cow::Borrowed(b"abc"), 0, false, at(5), &mut sink);
        r.segment(seq(21), Cow::Borrowed(b"xbcdef"), 0, true, at(6), &mut sink);
        r.segment(
            seq(11),
            Cow::Owned(b"-123456789".to_vec()),
            0,
            false,
            at(7),
            &mut sink,
        );
        assert_eq!(sink.data(), b"hello world-123456789abcdef");
        assert_eq!(sink.end(), Some((27, StreamEnd::Fin)));
        let stats = r.stats().clone();
        assert_eq!(stats.conflicting_bytes, 6);
        assert_eq!(stats.retransmitted_segments, 2);
        assert_eq!(stats.overlapping_segments, 1);
        let diags = r.take_diagnostics();
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert!(diags[0]
            .message
            .contains("differ from the first copy in 5 bytes"));
        assert_eq!(diags[0].frame, Some(FrameNo(2)));
        assert!(diags[1].message.contains("in 1 bytes"));
        // Arrival: the "abc" bytes came in frame 5, "def" in frame 6.
        assert!(sink.events.contains(&Event::Data {
            off: 21,
            bytes: b"abc".to_vec(),
            frame: 5
        }));
        assert!(sink.events.contains(&Event::Data {
            off: 24,
            bytes: b"def".to_vec(),
            frame: 6
        }));
    }

    #[test]
    fn snaplen_cut_segment_is_a_gap() {
        let data = stream(3000);
        let mut r = opened(&ReassemblyOptions::default());
        let mut sink = Recorder::new(DIR);
        r.segment(
            seq(0),
            Cow::Borrowed(&data[..100]),
            1400,
            false,
            at(1),
            &mut sink,
        );
        assert_eq!(sink.gaps(), vec![(100, 1400)]);
        // Out of order: the cut part stays a hole until something gives it up.
        r.segment(
            seq(2000),
            Cow::Borrowed(&data[2000..2100]),
            900,
            true,
            at(2),
            &mut sink,
        );
        r.segment(
            seq(1500),
            Cow::Borrowed(&data[1500..2000]),
            0,
            false,
            at(3),
            &mut sink,
        );
        assert_eq!(r.delivered(), 2100);
        r.close(StreamEnd::CaptureEnd, at(4), &mut sink);
        assert_eq!(sink.gaps(), vec![(100, 1400), (2100, 900)]);
        assert_eq!(sink.end(), Some((3000, StreamEnd::Fin)));
        assert_eq!(r.stats().missing_bytes, 2300);
    }

    #[test]
    fn buffer_overflow_forces_the_oldest_hole() {
        let data = stream(5000);
        let opts = ReassemblyOptions { max_buffered: 1000 };
        let mut r = opened(&opts);
        let mut sink = Recorder::new(DIR);
        r.segment(
            seq(0),
            Cow::Borrowed(&data[..100]),
            0,
            false,
            at(1),
            &mut sink,
        );
        r.segment(
            seq(200),
            Cow::Borrowed(&data[200..700]),
            0,
            false,
            at(2),
            &mut sink,
        );
        r.segment(
            seq(700),
            Cow::Borrowed(&data[700..1200]),
            0,
            false,
            at(3),
            &mut sink,
        );
        assert!(sink.gaps().is_empty());
        assert_eq!(r.pending_bytes, 1000);
        r.segment(
            seq(1300),
            Cow::Borrowed(&data[1300..1400]),
            0,
            false,
            at(4),
            &mut sink,
        );
        assert_eq!(sink.gaps(), vec![(100, 100)]);
        assert_eq!(r.delivered(), 1200);
        assert_eq!(r.pending_bytes, 100);
        assert!(r.take_diagnostics()[0].message.contains("out-of-order"));
        // Many scattered pieces: memory never exceeds the limit.
        for i in (0..30u64).rev() {
            let off = 1500 + i * 110;
            r.segment(
                seq(off),
                Cow::Borrowed(&data[off as usize..off as usize + 100]),
                0,
                false,
                at(5 + i),
                &mut sink,
            );
            assert!(bounded(&r));
        }
        r.close(StreamEnd::CaptureEnd, at(50), &mut sink);
        assert_eq!(sink.end(), Some((4790, StreamEnd::CaptureEnd)));
    }

    #[test]
    fn waiting_data_keeps_the_arrival_of_its_own_frame() {
        let mut r = opened(&ReassemblyOptions::default());
        let mut sink = Recorder::new(DIR);
        r.segment(seq(5), Cow::Borrowed(b"world"), 0, true, at(1), &mut sink);
        assert!(sink.events.is_empty());
        r.segment(seq(0), Cow::Borrowed(b"hello"), 0, false, at(2), &mut sink);
        assert_eq!(
            sink.events,
            [
                Event::Data {
                    off: 0,
                    bytes: b"hello".to_vec(),
                    frame: 2
                },
                Event::Data {
                    off: 5,
                    bytes: b"world".to_vec(),
                    frame: 1
                },
                Event::End {
                    off: 10,
                    how: StreamEnd::Fin,
                    frame: 2
                },
            ]
        );
    }

    #[test]
    fn data_before_the_start_and_after_fin_is_diagnosed_and_ignored() {
        let data = stream(300);
        let mut r = Reassembler::new(DIR, &ReassemblyOptions::default());
        let mut sink = Recorder::new(DIR);
        let s = |off: u64| 5000u32.wrapping_add(off as u32);
        // No SYN: the first segment sets the base (its offset 100 in `data` is offset 0).
        r.segment(
            s(100),
            Cow::Borrowed(&data[100..200]),
            0,
            false,
            at(1),
            &mut sink,
        );
        r.segment(
            s(0),
            Cow::Borrowed(&data[..100]),
            0,
            false,
            at(2),
            &mut sink,
        );
        r.segment(
            s(50),
            Cow::Borrowed(&data[50..250]),
            0,
            true,
            at(3),
            &mut sink,
        );
        // Beyond the FIN, and after the end.
        r.segment(
            s(250),
            Cow::Borrowed(&data[250..]),
            0,
            false,
            at(4),
            &mut sink,
        );
        r.segment(
            s(240),
            Cow::Borrowed(&data[240..260]),
            0,
            false,
            at(5),
            &mut sink,
        );
        assert_eq!(sink.data(), &data[100..250]);
        assert_eq!(sink.end(), Some((150, StreamEnd::Fin)));
        let diags = r.take_diagnostics();
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert!(diags[0].message.contains("before the start"));
        assert_eq!(diags[0].frame, Some(FrameNo(2)));
        assert!(diags[1].message.contains("after FIN"));
        assert_eq!(diags[1].frame, Some(FrameNo(4)));
    }

    #[test]
    fn fin_seen_early_drops_waiting_data_beyond_it() {
        let mut r = opened(&ReassemblyOptions::default());
        let mut sink = Recorder::new(DIR);
        r.segment(
            seq(8),
            Cow::Owned(b"89abcdef".to_vec()),
            0,
            false,
            at(1),
            &mut sink,
        );
        r.segment(seq(4), Cow::Borrowed(b""), 0, false, at(2), &mut sink);
        r.segment(seq(10), Cow::Borrowed(b""), 0, true, at(3), &mut sink);
        assert_eq!(r.pending_bytes, 2);
        r.segment(
            seq(0),
            Cow::Borrowed(b"01234567"),
            0,
            false,
            at(4),
            &mut sink,
        );
        assert_eq!(sink.data(), b"0123456789");
        assert_eq!(sink.end(), Some((10, StreamEnd::Fin)));
        assert_eq!(r.take_diagnostics().len(), 1);
    }

    #[test]
    fn close_reaches_a_known_fin_and_unstarted_close_ends_at_zero() {
        let mut r = opened(&ReassemblyOptions::default());
        let mut sink = Recorder::new(DIR);
        r.segment(seq(10), Cow::Borrowed(b"xyz"), 0, true, at(1), &mut sink);
        r.close(StreamEnd::Rst, at(2), &mut sink);
        assert_eq!(sink.gaps(), vec![(0, 10)]);
        assert_eq!(sink.end(), Some((13, StreamEnd::Fin)));

        let mut r = Reassembler::new(DIR, &ReassemblyOptions::default());
        let mut sink = Recorder::new(DIR);
        r.close(StreamEnd::CaptureEnd, at(1), &mut sink);
        r.close(StreamEnd::CaptureEnd, at(2), &mut sink);
        assert_eq!(
            sink.events,
            [Event::End {
                off: 0,
                how: StreamEnd::CaptureEnd,
                frame: 1
            }]
        );
        assert!(r.is_ended() && !r.has_started());
    }

    #[test]
    fn streams_beyond_4_gib_keep_64_bit_offsets() {
        let mut r = opened(&ReassemblyOptions::default());
        let mut sink = Recorder::new(DIR);
        // Lost stretches acknowledged by the peer carry the stream past 2^32 cheaply.
        let step = 900u64 << 20;
        let mut off = 0;
        for i in 0..5 {
            off += step;
            r.peer_ack(seq(off), at(i + 1), &mut sink);
        }
        assert!(off > 1 << 32);
        assert_eq!(r.delivered(), off);
        r.segment(
            seq(off + 3),
            Cow::Borrowed(b"def"),
            0,
            true,
            at(10),
            &mut sink,
        );
        r.segment(seq(off), Cow::Borrowed(b"abc"), 0, false, at(11), &mut sink);
        assert_eq!(sink.data(), b"abcdef");
        assert_eq!(sink.end(), Some((off + 6, StreamEnd::Fin)));
        assert_eq!(r.stats().missing_bytes, off);
    }

    /// Records where delivered bytes live, to tell a borrow from a copy.
    struct Pointers(Vec<(u64, usize)>);

    impl StreamSink for Pointers {
        fn on_data(&mut self, _: Dir, offset: u64, data: &[u8], _: Arrival) {
            self.0.push((offset, data.as_ptr() as usize));
        }
        fn on_gap(&mut self, _: Dir, _: u64, _: u64, _: Arrival) {}
        fn on_end(&mut self, _: Dir, _: u64, _: StreamEnd, _: Arrival) {}
    }

    #[test]
    fn borrowed_payload_reaches_the_sink_without_a_copy() {
        let capture = stream(4000);
        let mut r = opened(&ReassemblyOptions::default());
        let mut sink = Pointers(Vec::new());
        r.segment(
            seq(0),
            Cow::Borrowed(&capture[..1000]),
            0,
            false,
            at(1),
            &mut sink,
        );
        r.segment(
            seq(2000),
            Cow::Borrowed(&capture[2000..3000]),
            0,
            false,
            at(2),
            &mut sink,
        );
        // Overlaps delivered bytes at the front: the new part is still a borrow.
        r.segment(
            seq(500),
            Cow::Borrowed(&capture[500..2000]),
            0,
            false,
            at(3),
            &mut sink,
        );
        r.segment(
            seq(3000),
            Cow::Borrowed(&capture[3000..]),
            0,
            true,
            at(4),
            &mut sink,
        );
        let base = capture.as_ptr() as usize;
        assert_eq!(
            sink.0,
            [
                (0, base),
                (1000, base + 1000),
                (2000, base + 2000),
                (3000, base + 3000)
            ]
        );
    }

    #[test]
    fn many_tiny_pieces_are_bounded_in_count() {
        let capture = stream(3 * MAX_PENDING_PIECES);
        let mut r = opened(&ReassemblyOptions::default());
        let mut sink = Recorder::new(DIR);
        for i in 0..MAX_PENDING_PIECES + 10 {
            let off = 2 + 2 * i;
            r.segment(
                seq(off as u64),
                Cow::Borrowed(&capture[off..off + 1]),
                0,
                false,
                at(1),
                &mut sink,
            );
            assert!(r.pending.len() <= MAX_PENDING_PIECES);
        }
        assert!(!sink.gaps().is_empty());
        assert!(bounded(&r));
    }

    /// One segment of the generated stream: [start, end) of the original bytes.
    #[derive(Debug, Clone)]
    struct Cutting {
        data: Vec<u8>,
        syn: bool,
        isn: u32,
        /// (start, end, owned) in feed order.
        feed: Vec<(usize, usize, bool)>,
        /// Per fed segment: acknowledge what the receiver holds contiguously afterwards.
        acks: Vec<bool>,
    }

    fn cutting() -> impl Strategy<Value = Cutting> {
        (
            prop::collection::vec(any::<u8>(), 1..3000),
            prop::collection::vec(1usize..400, 1..40),
            prop::collection::vec((0usize..3000, 1usize..500), 0..12),
            any::<bool>(),
            prop_oneof![any::<u32>(), (u32::MAX - 4000)..=u32::MAX],
            prop::collection::vec((any::<u32>(), any::<bool>(), any::<bool>()), 200),
            prop::collection::vec(0usize..1000, 0..10),
        )
            .prop_map(|(data, sizes, recuts, syn, isn, noise, dups)| {
                let len = data.len();
                let mut segs = Vec::new();
                let mut at = 0;
                let mut i = 0;
                while at < len {
                    let end = (at + sizes[i % sizes.len()]).min(len);
                    segs.push((at, end));
                    at = end;
                    i += 1;
                }
                let first = segs[0];
                let base_count = segs.len();
                for (a, l) in recuts {
                    let a = a % len;
                    segs.push((a, (a + l).min(len)));
                }
                for d in dups {
                    segs.push(segs[d % base_count]);
                }
                let mut keyed: Vec<(u32, (usize, usize))> = segs
                    .iter()
                    .enumerate()
                    .map(|(i, &s)| (noise[i % noise.len()].0 ^ i as u32, s))
                    .collect();
                keyed.sort_by_key(|&(k, _)| k);
                let mut feed: Vec<(usize, usize, bool)> = Vec::new();
                if !syn {
                    // Without a SYN the first segment seen defines offset 0.
                    feed.push((first.0, first.1, false));
                }
                for (i, (_, (a, b))) in keyed.into_iter().enumerate() {
                    feed.push((a, b, noise[i % noise.len()].1));
                }
                let acks = (0..feed.len()).map(|i| noise[i % noise.len()].2).collect();
                Cutting {
                    data,
                    syn,
                    isn,
                    feed,
                    acks,
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn any_order_with_duplicates_gives_back_the_stream(c in cutting()) {
            let len = c.data.len();
            let mut r = Reassembler::new(DIR, &ReassemblyOptions::default());
            if c.syn {
                r.syn(c.isn);
            }
            let seq_of = |off: usize| c.isn.wrapping_add(1).wrapping_add(off as u32);
            let mut sink = Recorder::new(DIR);
            let mut have = vec![false; len];
            let mut fin_seen = false;
            for (i, &(a, b, owned)) in c.feed.iter().enumerate() {
                let frame = i as u64 + 1;
                let bytes = &c.data[a..b];
                let payload = if owned { Cow::Owned(bytes.to_vec()) } else { Cow::Borrowed(bytes) };
                let fin = b == len;
                r.segment(seq_of(a), payload, 0, fin, at(frame), &mut sink);
                prop_assert!(bounded(&r));
                have[a..b].iter_mut().for_each(|h| *h = true);
                fin_seen |= fin;
                // Delivered as soon as the hole before it is filled.
                let held = have.iter().position(|h| !h).unwrap_or(len);
                prop_assert_eq!(r.delivered(), held as u64);
                prop_assert_eq!(r.is_ended(), fin_seen && held == len);
                if c.acks[i] {
                    // What the receiver holds contiguously: acknowledging it loses nothing.
                    let ack = if held == len && fin_seen { seq_of(len + 1) } else { seq_of(held) };
                    r.peer_ack(ack, at(frame), &mut sink);
                }
            }
            r.close(StreamEnd::CaptureEnd, at(c.feed.len() as u64 + 1), &mut sink);
            prop_assert_eq!(sink.data(), c.data.clone());
            prop_assert!(sink.gaps().is_empty());
            prop_assert_eq!(sink.end(), Some((len as u64, StreamEnd::Fin)));
            prop_assert_eq!(r.stats().conflicting_bytes, 0);
            prop_assert!(r.take_diagnostics().is_empty());
            prop_assert!(r.pending.is_empty() && r.recent.is_empty());
            // Every piece was carried by the frame it names.
            for e in &sink.events {
                if let Event::Data { off, bytes, frame } = e {
                    let (a, b, _) = c.feed[*frame as usize - 1];
                    let (off, end) = (*off as usize, *off as usize + bytes.len());
                    prop_assert!(a <= off && end <= b, "bytes {}..{} not in frame {}", off, end, frame);
                }
            }
        }
    }
}
