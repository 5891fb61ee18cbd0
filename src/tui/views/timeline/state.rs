//! What the three time views share about where they are: which view is shown, its zoom, pan
//! and scroll (kept across filter changes), and what a frame shows.

use crate::model::{Analysis, ExchId, Notes};
use crate::tui::theme::Theme;

/// Which time view is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimelineKind {
    #[default]
    Swimlanes,
    Waterfall,
    Ladder,
}

impl TimelineKind {
    /// The next view in the cycle (the switch key).
    pub fn next(self) -> Self {
        match self {
            TimelineKind::Swimlanes => TimelineKind::Waterfall,
            TimelineKind::Waterfall => TimelineKind::Ladder,
            TimelineKind::Ladder => TimelineKind::Swimlanes,
        }
    }
    pub fn title(self) -> &'static str {
        match self {
            TimelineKind::Swimlanes => "Swimlanes",
            TimelineKind::Waterfall => "Waterfall",
            TimelineKind::Ladder => "Ladder",
        }
    }

    /// The glyphs this view draws, with what each means (the legend line and the help).
    pub fn legend(self) -> &'static [(&'static str, &'static str)] {
        match self {
            TimelineKind::Swimlanes => &[
                ("◇", "DNS lookup"),
                ("○", "connection attempt"),
                ("─", "its wait"),
                ("█", "ok"),
                ("▒", "challenge"),
                ("►", "redirect"),
                ("✗", "failed"),
                ("░", "noise"),
                ("▪", "unknown"),
                ("┊", "idle gap left out (≈)"),
            ],
            TimelineKind::Waterfall => &[
                ("┄", "connection set-up"),
                ("░", "waiting for the response"),
                ("█", "receiving"),
                ("✗", "failed"),
                ("●", "marked"),
                ("┊", "idle gap left out (≈)"),
            ],
            TimelineKind::Ladder => &[
                ("──►", "request, query, SYN"),
                ("◄──", "response, answer"),
                ("●", "marked"),
            ],
        }
    }

    pub const ALL: [TimelineKind; 3] = [
        TimelineKind::Swimlanes,
        TimelineKind::Waterfall,
        TimelineKind::Ladder,
    ];
}

/// Deepest zoom: 2^20 narrows a one-hour axis to a few milliseconds.
const MAX_ZOOM: f64 = (1u32 << 20) as f64;

/// UI state of the time view; survives filter changes.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineState {
    pub kind: TimelineKind,
    /// 1.0 = the whole axis fits; 2.0 shows half of it.
    pub zoom: f64,
    /// Left edge as a fraction 0..1 of the virtual axis (of the endpoint columns in the ladder).
    pub offset: f64,
    /// First row shown: waterfall rows, swimlane lanes, ladder events.
    pub scroll: usize,
    /// The selection the time views last moved to; a new one is brought into view once,
    /// after which panning away from it stays put.
    pub followed: Option<ExchId>,
}

impl Default for TimelineState {
    fn default() -> Self {
        TimelineState {
            kind: TimelineKind::default(),
            zoom: 1.0,
            offset: 0.0,
            scroll: 0,
            followed: None,
        }
    }
}

impl TimelineState {
    /// Doubles the zoom, keeping the middle of the shown range in place.
    pub fn zoom_in(&mut self) {
        self.set_zoom(self.zoom() * 2.0);
    }
    /// Halves the zoom, keeping the middle of the shown range in place.
    pub fn zoom_out(&mut self) {
        self.set_zoom(self.zoom() / 2.0);
    }
    /// Moves the shown range a quarter of its width to the left.
    pub fn pan_left(&mut self) {
        self.offset = clamp_offset(self.offset() - 0.25 / self.zoom(), self.zoom());
    }
    /// Moves the shown range a quarter of its width to the right.
    pub fn pan_right(&mut self) {
        self.offset = clamp_offset(self.offset() + 0.25 / self.zoom(), self.zoom());
    }
    /// Whole axis, top row; keeps the kind.
    pub fn reset(&mut self) {
        *self = TimelineState {
            kind: self.kind,
            ..TimelineState::default()
        };
    }

    /// Pans (zoom unchanged) so that the part `[lo, hi]` of the axis, as fractions of it,
    /// is in view: centred when it was out of view, its start first when it is wider.
    pub(super) fn bring_into_view(&mut self, lo: f64, hi: f64) {
        let zoom = self.zoom();
        let (offset, width) = (self.offset(), 1.0 / zoom);
        if !(lo.is_finite() && hi.is_finite()) || (lo >= offset && hi <= offset + width) {
            return;
        }
        let left = if hi - lo >= width {
            lo
        } else {
            (lo + hi) / 2.0 - width / 2.0
        };
        self.offset = clamp_offset(left, zoom);
    }

    fn set_zoom(&mut self, zoom: f64) {
        let old = self.zoom();
        let middle = self.offset() + 0.5 / old;
        let zoom = zoom.clamp(1.0, MAX_ZOOM);
        self.zoom = zoom;
        self.offset = clamp_offset(middle - 0.5 / zoom, zoom);
    }
    /// The zoom, sanitised (a caller may have stored anything in the pub field).
    pub(super) fn zoom(&self) -> f64 {
        if self.zoom.is_finite() {
            self.zoom.clamp(1.0, MAX_ZOOM)
        } else {
            1.0
        }
    }
    pub(super) fn offset(&self) -> f64 {
        if self.offset.is_finite() {
            self.offset.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

pub(super) fn clamp_offset(offset: f64, zoom: f64) -> f64 {
    let max = (1.0 - 1.0 / zoom).max(0.0);
    if offset.is_finite() {
        offset.clamp(0.0, max)
    } else {
        0.0
    }
}

/// What the time view shows this frame.
pub struct TimelineInput<'a> {
    pub analysis: &'a Analysis,
    /// The exchanges shown in the list, in list order (filtered).
    pub rows: &'a [ExchId],
    pub selected: Option<ExchId>,
    /// Marked exchanges get a mark glyph.
    pub notes: &'a Notes,
    /// Highlight mode: these are drawn dim.
    pub dimmed: Option<&'a dyn Fn(ExchId) -> bool>,
    pub theme: &'a Theme,
}

impl TimelineInput<'_> {
    pub(super) fn is_dimmed(&self, id: ExchId) -> bool {
        self.dimmed.is_some_and(|f| f(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_cycle_and_have_titles() {
        let k = TimelineKind::default();
        assert_eq!(k, TimelineKind::Swimlanes);
        assert_eq!(k.next().next().next(), k);
        assert_eq!(k.next().title(), "Waterfall");
        assert_eq!(k.next().next().title(), "Ladder");
    }

    #[test]
    fn zoom_and_pan_stay_in_bounds() {
        let mut s = TimelineState::default();
        s.pan_left();
        assert_eq!(s.offset, 0.0);
        s.zoom_out();
        assert_eq!(s.zoom, 1.0);
        s.zoom_in();
        assert_eq!(s.zoom, 2.0);
        // Zooming keeps the middle: the shown half is the middle half.
        assert!((s.offset - 0.25).abs() < 1e-12);
        for _ in 0..10 {
            s.pan_right();
        }
        assert!((s.offset - 0.5).abs() < 1e-12);
        for _ in 0..40 {
            s.zoom_in();
        }
        assert_eq!(s.zoom, MAX_ZOOM);
        s.kind = TimelineKind::Ladder;
        s.scroll = 7;
        s.reset();
        assert_eq!(
            s,
            TimelineState {
                kind: TimelineKind::Ladder,
                ..Default::default()
            }
        );
        // Garbage in the pub fields does not poison the arithmetic.
        s.zoom = f64::NAN;
        s.offset = f64::INFINITY;
        s.zoom_in();
        assert_eq!(s.zoom, 2.0);
        assert!(s.offset.is_finite());
    }
}
