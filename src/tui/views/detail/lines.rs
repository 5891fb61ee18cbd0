//! The line builder every tab writes with ([`Out`]): headings, `label  value` fields and
//! text, each line with the indent of its wrapped rows; and the text cleaning for the cell grid.

use crate::tui::theme::Theme;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// How much of one body (or one message in the Hex tab) is laid out: more would make every
/// frame slow, and nobody reads a megabyte in a terminal pane.
pub(super) const BODY_CAP: usize = 256 * 1024;

/// Width of the label column of `label  value` lines.
const LABEL_WIDTH: usize = 19;

/// Collects the lines of a tab, with the few line shapes every tab uses.
pub(super) struct Out<'t> {
    pub(super) lines: Vec<Line<'static>>,
    /// Per line: columns by which its wrapped continuation rows are indented (under the value
    /// of a `label  value` line, under the value of a header).
    pub(super) hangs: Vec<usize>,
    pub(super) theme: &'t Theme,
    /// Built from a provisional analysis (still loading).
    pub(super) partial: bool,
}

impl<'t> Out<'t> {
    pub(super) fn new(theme: &'t Theme) -> Out<'t> {
        Out {
            lines: Vec::new(),
            hangs: Vec::new(),
            theme,
            partial: false,
        }
    }

    pub(super) fn push(&mut self, line: Line<'static>, hang: usize) {
        self.lines.push(line);
        self.hangs.push(hang);
    }

    pub(super) fn blank(&mut self) {
        self.push(Line::default(), 0);
    }

    /// A section heading, preceded by a blank line unless it is the first line.
    pub(super) fn heading(&mut self, text: impl Into<String>) {
        if !self.lines.is_empty() {
            self.blank();
        }
        let line = Line::styled(clean(&text.into()), self.theme.title());
        self.push(line, 2);
    }

    /// `label           value` (the label dim, in a fixed column).
    pub(super) fn field(&mut self, label: &str, value: Vec<Span<'static>>) {
        let label = format!("  {:<w$} ", label, w = LABEL_WIDTH - 3);
        let hang = Span::raw(label.as_str()).width();
        let mut spans = vec![Span::styled(label, self.theme.dim())];
        spans.extend(value);
        self.push(Line::from(spans), hang);
    }

    pub(super) fn field_text(&mut self, label: &str, value: impl AsRef<str>) {
        self.field(label, vec![Span::raw(clean(value.as_ref()))]);
    }

    pub(super) fn field_styled(&mut self, label: &str, value: impl AsRef<str>, style: Style) {
        self.field(label, vec![Span::styled(clean(value.as_ref()), style)]);
    }

    /// Multi-line text, one line each.
    pub(super) fn text(&mut self, text: &str, style: Style) {
        for l in text.lines() {
            let s = clean(l);
            // Wrapped rows of indented text (pretty JSON, XML) stay at their level.
            let hang = s.len() - s.trim_start_matches(' ').len();
            self.push(Line::styled(s, style), hang);
        }
    }

    pub(super) fn line(&mut self, spans: Vec<Span<'static>>) {
        self.push(Line::from(spans), 0);
    }

    /// A line whose wrapped rows continue under the end of its first `n` spans.
    pub(super) fn hanging(&mut self, spans: Vec<Span<'static>>, n: usize) {
        let hang = spans.iter().take(n).map(Span::width).sum();
        self.push(Line::from(spans), hang);
    }
}

/// Text made safe for a terminal cell grid: tabs become spaces, carriage returns go, other
/// control characters show as `·` (they would move the cursor or be invisible).
pub(super) fn clean(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' => out.push_str("    "),
            '\r' | '\n' => {}
            c if c.is_control() => out.push('·'),
            c => out.push(c),
        }
    }
    out
}

pub(super) fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_made_visible_or_dropped() {
        assert_eq!(clean("a\tb\r\x1b"), "a    b·");
    }
}
