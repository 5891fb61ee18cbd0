//! What the HTTP layer is told: caps, what bodies to keep, the live feed.

use crate::model::{LiveFeed, Request, Response};
use std::sync::Arc;

/// Decides, from the request (if seen) and the response head (for response bodies), whether
/// a message's body head is kept in `Body::head`. Supplied by the stage layer, so that only
/// bodies it may need are held in memory.
#[derive(Clone)]
pub struct HeadFilter(pub Arc<HeadPredicate>);

/// The question a [`HeadFilter`] answers.
pub type HeadPredicate = dyn Fn(Option<&Request>, Option<&Response>) -> bool + Send + Sync;

impl std::fmt::Debug for HeadFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HeadFilter")
    }
}

#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Decoding stops past this many decoded bytes (with a diagnostic); decoded_* are then None.
    pub decoded_body_cap: u64,
    /// Keep decoded bodies up to this size in `Body::kept`; 0 keeps none.
    pub keep_body_max: u64,
    /// Keep each HTTP/2 stream's frame list (`StreamInfo::frames`, the UI's frame view); when
    /// false only their count is kept (`frames_dropped`), which is all a report writes.
    pub keep_frames: bool,
    /// A longer head is an error: that direction skips to the next message.
    pub max_head_bytes: usize,
    /// Leading decoded bytes kept in `Body::head` for bodies `head_filter` selects.
    pub head_max: u64,
    /// None keeps no heads. Once it selects one message of a connection, every later body of
    /// that connection keeps its head too (services behind custom path prefixes).
    pub head_filter: Option<HeadFilter>,
    /// Total bytes all kept bodies may hold together (the UI's bound on memory); `None` = no
    /// bound beyond `keep_body_max` per body.
    pub keep_budget: Option<KeepBudget>,
    /// Receives a body-less copy of each exchange when its response ends (the UI's list
    /// while loading).
    pub live: Option<LiveFeed>,
}

/// Bytes left for kept bodies, shared by every connection of one analysis. Once a body does
/// not fit, it is dropped (its hashes and lengths stay) and so are later ones.
#[derive(Clone, Debug)]
pub struct KeepBudget(Arc<std::sync::atomic::AtomicI64>);

impl KeepBudget {
    pub fn new(bytes: u64) -> KeepBudget {
        KeepBudget(Arc::new(std::sync::atomic::AtomicI64::new(
            i64::try_from(bytes).unwrap_or(i64::MAX),
        )))
    }
    /// Takes `n` bytes if they are left.
    pub(crate) fn take(&self, n: u64) -> bool {
        use std::sync::atomic::Ordering;
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                (left >= n).then_some(left - n)
            })
            .is_ok()
    }
    /// Charges a finished body's kept bytes (decoded and wire; counted once when they are
    /// the same bytes) to the budget, or drops them when the budget cannot pay.
    pub(crate) fn charge(&self, body: &mut crate::model::Body) {
        let kept = body.kept.as_ref().map_or(0, |k| k.len());
        let wire = match (&body.kept, &body.wire_kept) {
            (Some(k), Some(w)) if Arc::ptr_eq(k, w) => 0,
            (_, Some(w)) => w.len(),
            _ => 0,
        };
        if kept + wire > 0 && !self.take((kept + wire) as u64) {
            body.kept = None;
            body.wire_kept = None;
        }
    }
    /// Bytes still free.
    pub fn left(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed).max(0) as u64
    }
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            decoded_body_cap: 64 << 20,
            keep_body_max: 0,
            keep_frames: true,
            max_head_bytes: 1 << 20,
            head_max: 64 << 10,
            head_filter: None,
            keep_budget: None,
            live: None,
        }
    }
}
