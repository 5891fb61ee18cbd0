//! Pop-ups over the main screen: the help (generated from the key table, with the filter
//! syntax) and the export dialog (scope × format).

use crate::tui::keymap::{Context, Keymap};
use crate::tui::state::ExportDialog;
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

/// A centred rectangle of at most `w`×`h` inside `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// Every line of the help: the keys in force per context, then the filter language.
pub fn help_lines(keys: &Keymap, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for ctx in Context::ALL {
        lines.push(Line::styled(ctx.title().to_string(), theme.title()));
        for b in keys.bound().iter().filter(|b| b.binding.context == ctx) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<22}", b.keys_label()), theme.key()),
                Span::raw(b.binding.help),
            ]));
        }
        lines.push(Line::raw(""));
    }
    lines.push(Line::styled("Timeline glyphs (t)", theme.title()));
    for kind in crate::tui::views::timeline::TimelineKind::ALL {
        let mut spans = vec![Span::styled(format!("  {:<22}", kind.title()), theme.key())];
        for (glyph, meaning) in kind.legend() {
            spans.push(Span::raw(format!("{glyph} {meaning}  ")));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Filter language (f)", theme.title()));
    for (syntax, meaning) in crate::filter::syntax_help() {
        lines.push(Line::from(vec![
            Span::styled(format!("  {syntax:<22}"), theme.key()),
            Span::raw(*meaning),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Marks and comments are saved next to the first input (<file>.lyncscope-notes.json)",
        theme.dim(),
    ));
    lines
}

pub fn render_help(f: &mut Frame, area: Rect, scroll: &mut usize, keys: &Keymap, theme: &Theme) {
    let r = centered(area, 100, area.height.saturating_sub(2));
    f.render_widget(Clear, r);
    let lines = help_lines(keys, theme);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.focus_border())
        .title(Span::styled(
            " Help · ↑/↓ scroll · any other key closes ",
            theme.title(),
        ));
    let inner_h = block.inner(r).height as usize;
    *scroll = (*scroll).min(lines.len().saturating_sub(inner_h));
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((*scroll as u16, 0)),
        r,
    );
}

/// `scopes` are the dialog's scopes (title, exchanges in it) and `formats` its formats' titles,
/// in the order `d` counts them.
pub fn render_export(
    f: &mut Frame,
    area: Rect,
    d: &ExportDialog,
    scopes: &[(&str, usize)],
    formats: &[&str],
    theme: &Theme,
) {
    let r = centered(area, 64, 16);
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.focus_border())
        .title(Span::styled(
            " Export · ←/→ column · ↑/↓ choose · Enter: file name ",
            theme.title(),
        ));
    let inner = block.inner(r);
    f.render_widget(block, r);
    let [left, right] =
        Layout::horizontal([Constraint::Length(26), Constraint::Fill(1)]).areas(inner);
    let redacts = crate::report::export::ExportFormat::ALL
        .get(d.format)
        .is_some_and(|f| d.redacts(*f));
    let scope_lines: Vec<Line> = std::iter::once(Line::styled("Scope", theme.title()))
        .chain(scopes.iter().enumerate().map(|(i, (title, n))| {
            let text = format!(" {title:<17}{n:>6}");
            let style = if i == d.scope {
                if d.column == 0 {
                    theme.selected()
                } else {
                    theme.key()
                }
            } else {
                theme.normal()
            };
            Line::styled(text, style)
        }))
        .chain([
            Line::raw(""),
            Line::styled(
                format!(
                    " Redact secrets (r)  {}",
                    if redacts { "yes" } else { "no" }
                ),
                theme.normal(),
            ),
        ])
        .collect();
    let format_lines: Vec<Line> = std::iter::once(Line::styled("Format", theme.title()))
        .chain(formats.iter().enumerate().map(|(i, title)| {
            let style = if i == d.format {
                if d.column == 1 {
                    theme.selected()
                } else {
                    theme.key()
                }
            } else {
                theme.normal()
            };
            Line::styled(format!(" {title}"), style)
        }))
        .collect();
    f.render_widget(Paragraph::new(scope_lines), left);
    f.render_widget(Paragraph::new(format_lines), right);
}
