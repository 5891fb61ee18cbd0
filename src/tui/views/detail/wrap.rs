//! Lays lines out at a pane's width: wrapping with a hanging indent for continuation rows,
//! the scroll limit that keeps the pane full, and marking search hits. Only what is on screen
//! is wrapped, so a long tab costs its visible rows.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use std::ops::Range;

/// Display width of one character (ASCII fast path).
fn char_width(c: char) -> usize {
    if c.is_ascii() {
        1
    } else {
        let mut buf = [0u8; 4];
        Span::raw(&*c.encode_utf8(&mut buf)).width()
    }
}

/// Continuation indent actually used at `width`: none when it would leave too little room.
fn usable_hang(hang: usize, width: usize) -> usize {
    if hang + 8 > width {
        0
    } else {
        hang
    }
}

/// Byte offsets where the rows after the first begin when `text` is wrapped at `width`
/// columns with continuation rows indented by `hang`: after the last space when that keeps
/// at least half the row (prose, headers), else at the character that does not fit (base64,
/// hex, minified JSON).
fn break_points(text: &str, width: usize, hang: usize) -> Vec<usize> {
    let mut breaks = Vec::new();
    let mut room = width;
    let mut row_width = 0;
    // Byte offset after the last space of the row, and the row's width up to there.
    let mut last_space: Option<(usize, usize)> = None;
    for (i, c) in text.char_indices() {
        let w = char_width(c);
        if row_width + w > room && row_width > 0 {
            match last_space {
                Some((at, upto)) if upto * 2 >= room && at < i => {
                    breaks.push(at);
                    row_width -= upto;
                }
                _ => {
                    breaks.push(i);
                    row_width = 0;
                }
            }
            room = width - hang;
            last_space = None;
        }
        row_width += w;
        if c == ' ' {
            last_space = Some((i + 1, row_width));
        }
    }
    breaks
}

/// Rows a line takes at `width` columns (at least one).
fn rows_of(line: &Line, hang: usize, width: usize) -> usize {
    if width == 0 || line.width() <= width {
        return 1;
    }
    1 + break_points(&line_text(line), width, usable_hang(hang, width)).len()
}

/// The largest scroll that still fills the pane (or shows the last line).
pub(super) fn max_scroll(lines: &[Line], hangs: &[usize], width: usize, height: usize) -> usize {
    let mut rows = 0;
    let mut first = lines.len();
    for (i, (l, hang)) in lines.iter().zip(hangs).enumerate().rev() {
        rows += rows_of(l, *hang, width);
        if rows > height {
            break;
        }
        first = i;
    }
    first.min(lines.len().saturating_sub(1))
}

/// Breaks a line into rows of at most `width` columns ([`break_points`]); rows after the
/// first are indented by `hang`. Styles stay with their characters.
pub(super) fn wrap(line: &Line<'static>, width: usize, hang: usize) -> Vec<Line<'static>> {
    if width == 0 || line.width() <= width {
        return vec![line.clone()];
    }
    let hang = usable_hang(hang, width);
    let breaks = break_points(&line_text(line), width, hang);
    let mut rows = Vec::with_capacity(breaks.len() + 1);
    let mut row: Vec<Span<'static>> = Vec::new();
    let mut next = breaks.iter().copied().peekable();
    let mut offset = 0;
    for span in &line.spans {
        let content = span.content.as_ref();
        let end = offset + content.len();
        let mut from = 0;
        while let Some(at) = next.next_if(|&at| at <= end) {
            let cut = at.saturating_sub(offset).clamp(from, content.len());
            if let Some(piece) = content.get(from..cut).filter(|p| !p.is_empty()) {
                row.push(Span::styled(piece.to_string(), span.style));
            }
            rows.push(Line::from(std::mem::take(&mut row)).style(line.style));
            if hang > 0 {
                row.push(Span::raw(" ".repeat(hang)));
            }
            from = cut;
        }
        if let Some(piece) = content.get(from..).filter(|p| !p.is_empty()) {
            row.push(Span::styled(piece.to_string(), span.style));
        }
        offset = end;
    }
    rows.push(Line::from(row).style(line.style));
    rows
}

pub(super) fn line_text(line: &Line) -> String {
    line.spans.iter().map(|s| s.content.as_ref()).collect()
}

/// Restyles the byte ranges `ranges` of the line's text with `hit` on top of their style.
pub(super) fn mark_ranges(
    line: &Line<'static>,
    ranges: &[Range<usize>],
    hit: Style,
) -> Line<'static> {
    let inside = |pos: usize| ranges.iter().any(|r| r.start <= pos && pos < r.end);
    let mut spans = Vec::new();
    let mut offset = 0;
    for span in &line.spans {
        let text = span.content.as_ref();
        let mut piece = String::new();
        let mut piece_hit = false;
        for (i, c) in text.char_indices() {
            let h = inside(offset + i);
            if h != piece_hit && !piece.is_empty() {
                let style = if piece_hit {
                    span.style.patch(hit)
                } else {
                    span.style
                };
                spans.push(Span::styled(std::mem::take(&mut piece), style));
            }
            piece_hit = h;
            piece.push(c);
        }
        if !piece.is_empty() {
            let style = if piece_hit {
                span.style.patch(hit)
            } else {
                span.style
            };
            spans.push(Span::styled(piece, style));
        }
        offset += text.len();
    }
    Line::from(spans).style(line.style)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::theme::Theme;

    fn text_of(lines: &[Line]) -> Vec<String> {
        lines.iter().map(line_text).collect()
    }

    #[test]
    fn wrapping_and_marking_keep_text_and_styles() {
        let t = Theme::colored();
        let line = Line::from(vec![Span::styled("abcdé", t.title()), Span::raw("fgh")]);
        let rows = wrap(&line, 3, 0);
        assert_eq!(text_of(&rows), vec!["abc", "déf", "gh"]);
        assert_eq!(rows[1].spans[0].style, t.title());
        assert_eq!(rows[1].spans[1].style, Style::default());
        assert_eq!(rows.len(), rows_of(&line, 0, 3));
        // Continuation rows hang under the value; too little room means no hang.
        let rows = wrap(&line, 10, 2);
        assert_eq!(text_of(&rows), vec!["abcdéfgh"]);
        let long = Line::raw("key: 0123456789abcdefghij");
        let rows = wrap(&long, 13, 5);
        assert_eq!(
            text_of(&rows),
            vec!["key: 01234567", "     89abcdef", "     ghij"]
        );
        assert_eq!(rows.len(), rows_of(&long, 5, 13));
        assert_eq!(text_of(&wrap(&long, 12, 5)).len(), rows_of(&long, 5, 12));
        // Prose breaks after a space when that keeps half the row.
        let prose = Line::raw("alpha beta gamma");
        assert_eq!(text_of(&wrap(&prose, 12, 0)), vec!["alpha beta ", "gamma"]);
        assert_eq!(rows_of(&prose, 0, 12), 2);
        let early = Line::raw("a bcdefghijklmnop");
        assert_eq!(text_of(&wrap(&early, 10, 0)), vec!["a bcdefghi", "jklmnop"]);
        let marked = mark_ranges(&line, &[2..5, 5..7], t.hit());
        assert_eq!(line_text(&marked), "abcdéfgh");
        assert_eq!(marked.spans[1].content, "cdé");
        assert_eq!(marked.spans[1].style, t.title().patch(t.hit()));
        assert_eq!(marked.spans[2].content, "f");
        assert_eq!(marked.spans[2].style, t.hit());
    }
}
