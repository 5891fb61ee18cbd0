//! Cell-level drawing helpers the three time views share: clipped writes, cutting text to
//! fit, keeping a row in view and the selection style.

use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

/// Sets one cell when (x, y) is inside `clip` (and the buffer).
pub(super) fn put(buf: &mut Buffer, clip: Rect, x: u16, y: u16, symbol: &str, style: Style) {
    if !clip.contains(ratatui::layout::Position::new(x, y)) {
        return;
    }
    if let Some(cell) = buf.cell_mut((x, y)) {
        cell.set_symbol(symbol).set_style(style);
    }
}

/// Patches the style of one cell (keeps its symbol) when inside `clip`.
pub(super) fn restyle(buf: &mut Buffer, clip: Rect, x: u16, y: u16, style: Style) {
    if !clip.contains(ratatui::layout::Position::new(x, y)) {
        return;
    }
    if let Some(cell) = buf.cell_mut((x, y)) {
        let patched = cell.style().patch(style);
        cell.set_style(patched);
    }
}

/// Writes text from (x, y), at most `max` cells and never outside `clip` or the buffer.
/// Returns the column after the last cell written.
pub(super) fn put_str(
    buf: &mut Buffer,
    clip: Rect,
    x: u16,
    y: u16,
    text: &str,
    max: usize,
    style: Style,
) -> u16 {
    let clip = clip.intersection(buf.area);
    if y < clip.top() || y >= clip.bottom() || x < clip.left() || x >= clip.right() {
        return x;
    }
    let room = usize::from(clip.right() - x).min(max);
    buf.set_stringn(x, y, text, room, style).0
}

/// `text` cut to `width` characters, with `…` when cut.
pub(super) fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut s: String = text.chars().take(width - 1).collect();
    s.push('…');
    s
}

/// The first row to show so that row `selected` (if any) is visible, clamped so that the last
/// page is full.
pub(super) fn scroll_to(
    scroll: usize,
    len: usize,
    visible: usize,
    selected: Option<usize>,
) -> usize {
    let mut s = scroll;
    if let Some(i) = selected {
        if visible == 0 {
            return i.min(len.saturating_sub(1));
        }
        if i < s {
            s = i;
        } else if i >= s.saturating_add(visible) {
            s = i + 1 - visible;
        }
    }
    s.min(len.saturating_sub(visible))
}

/// The style of the selected item: reversed and bold on top of its own.
pub(super) fn selected_style(theme: &Theme, base: Style) -> Style {
    base.patch(theme.selected()).add_modifier(Modifier::BOLD)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_cuts_with_an_ellipsis_and_scroll_keeps_the_row_in_view() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
        assert_eq!(fit("abc", 0), "");
        assert_eq!(scroll_to(0, 100, 10, Some(15)), 6);
        assert_eq!(scroll_to(50, 100, 10, Some(15)), 15);
        assert_eq!(scroll_to(95, 100, 10, None), 90);
        assert_eq!(scroll_to(3, 2, 10, None), 0);
    }
}
