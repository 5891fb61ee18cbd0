//! The Connections pane: every TCP connection and attempt, one row each, and the facts of the
//! selected one below. The rows are the reports' Connections section
//! (`presentation::connections`), so a sign-in that broke before any HTTP (a certificate the
//! client refused) is visible here with its chain and alert.
//!
//! ```text
//! ┌ Connections 3 · Enter selects its exchanges ───────────────────────────────┐
//! │ #  Endpoints                             Name             Stage   Outcome … │
//! │▶C0 10.0.0.5:50100 → 203.0.113.10:443     lyncdiscover.co… tcp-tls fail    … │
//! │ C0 lyncdiscover.contoso.com                                                 │
//! │   TLS        TLS 1.2, SNI lyncdiscover.contoso.com, not decrypted          │
//! │   Chain      CN=… (issuer …)                                               │
//! └────────────────────────────────────────────────────────────────────────────┘
//! ```

use crate::model::Outcome;
use crate::presentation::connections::ConnectionRow;
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

/// Width of the labels of the selected connection's facts.
const LABEL: usize = 14;

/// `text` cut to `width` characters, with `…` when cut.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
    if width > 0 {
        s.push('…');
    }
    s
}

fn outcome_text(o: Outcome, stage: &str) -> &'static str {
    if stage.is_empty() {
        ""
    } else {
        o.as_str()
    }
}

/// The facts of one connection, label and text, for the lower half of the pane.
pub fn connection_lines(c: &ConnectionRow, theme: &Theme) -> Vec<Line<'static>> {
    let field = |label: &str, text: String| {
        Line::from(vec![
            Span::styled(format!("  {label:<LABEL$} "), theme.dim()),
            Span::raw(text),
        ])
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{} ", c.id), theme.title()),
        Span::raw(if c.name.is_empty() {
            c.endpoints.clone()
        } else {
            c.name.clone()
        }),
    ])];
    lines.push(field("Endpoints", c.endpoints.clone()));
    if !c.name.is_empty() {
        lines.push(field("DNS name", c.name.clone()));
    }
    if !c.stage.is_empty() {
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<LABEL$} ", "Stage"), theme.dim()),
            Span::styled(c.stage.clone(), theme.stage(&c.stage)),
            Span::raw(" "),
            Span::styled(
                format!("({})", c.outcome.as_str()),
                theme.outcome(c.outcome),
            ),
        ]));
    }
    lines.push(field("Result", c.result.clone()));
    lines.push(field("TLS", c.tls.clone()));
    for (label, text) in &c.details {
        lines.push(field(label, text.clone()));
    }
    let carried = if c.exchanges.is_empty() {
        "none".to_string()
    } else {
        c.exchanges
            .iter()
            .map(|x| format!("#{x}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    lines.push(field("Exchanges", carried));
    lines
}

pub fn render_connections(
    f: &mut Frame,
    area: Rect,
    rows: &[ConnectionRow],
    selected: usize,
    theme: &Theme,
    focused: bool,
) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.pane_border(focused))
        .title(Line::from(vec![
            Span::styled(" Connections ", theme.title()),
            Span::styled(
                format!("{} · Enter selects its exchanges ", rows.len()),
                theme.dim(),
            ),
        ]));
    let inner = block.inner(area);
    f.render_widget(block, area);
    if rows.is_empty() {
        f.render_widget(
            Line::styled("No TCP connection in the input.", theme.dim()),
            inner,
        );
        return;
    }
    let selected = selected.min(rows.len() - 1);
    // The table takes what it needs up to half the pane; the facts get the rest.
    let table_h = (rows.len() as u16 + 1).min(inner.height / 2).max(2);
    let [top, bottom] =
        Layout::vertical([Constraint::Length(table_h), Constraint::Fill(1)]).areas(inner);
    render_table(f, top, rows, selected, theme);
    let c = &rows[selected];
    f.render_widget(
        Paragraph::new(connection_lines(c, theme)).wrap(Wrap { trim: false }),
        bottom,
    );
}

/// One row per connection; the columns sized from their content, the result gets the rest.
fn render_table(f: &mut Frame, area: Rect, rows: &[ConnectionRow], selected: usize, theme: &Theme) {
    let body = usize::from(area.height.saturating_sub(1)).max(1);
    let first = selected.saturating_sub(body.saturating_sub(1));
    let shown = &rows[first..(first + body).min(rows.len())];
    let widest = |f: &dyn Fn(&ConnectionRow) -> usize, title: &str| -> u16 {
        shown
            .iter()
            .map(f)
            .chain([title.chars().count()])
            .max()
            .unwrap_or(0) as u16
    };
    let w_id = widest(&|r| r.id.len() + 1, "#");
    let w_stage = widest(&|r| r.stage.len(), "Stage");
    let w_out = widest(&|r| outcome_text(r.outcome, &r.stage).len(), "Outcome");
    let mut w_ends = widest(&|r| r.endpoints.chars().count(), "Endpoints");
    let mut w_name = widest(&|r| r.name.chars().count(), "Name");
    // Endpoints and name give way (with an ellipsis) so that stage and outcome stay; the
    // result takes what is left, at least a little when there is room.
    let room = area
        .width
        .saturating_sub(w_id + w_stage + w_out + 5)
        .saturating_sub(12.min(area.width / 8));
    while w_ends + w_name > room && (w_ends > 12 || w_name > 12) {
        if w_name >= w_ends && w_name > 12 {
            w_name -= 1;
        } else {
            w_ends -= 1;
        }
    }
    let w_res = area
        .width
        .saturating_sub(w_id + w_ends + w_name + w_stage + w_out + 5);
    let widths = [
        Constraint::Length(w_id),
        Constraint::Length(w_ends),
        Constraint::Length(w_name),
        Constraint::Length(w_stage),
        Constraint::Length(w_out),
        Constraint::Length(w_res),
    ];
    let header =
        Row::new(["#", "Endpoints", "Name", "Stage", "Outcome", "Result"]).style(theme.title());
    let body: Vec<Row> = shown
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let here = first + i == selected;
            let row = Row::new(vec![
                Cell::from(format!("{}{}", if here { "▶" } else { " " }, r.id)),
                Cell::from(fit(&r.endpoints, usize::from(w_ends))),
                Cell::from(fit(&r.name, usize::from(w_name))),
                Cell::from(Span::styled(r.stage.clone(), theme.stage(&r.stage))),
                Cell::from(Span::styled(
                    outcome_text(r.outcome, &r.stage),
                    theme.outcome(r.outcome),
                )),
                Cell::from(fit(&r.result, usize::from(w_res))),
            ]);
            if here {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    f.render_widget(
        Table::new(body, widths).header(header).column_spacing(1),
        area,
    );
}
