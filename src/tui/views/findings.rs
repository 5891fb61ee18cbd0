//! The verdict of each sign-in and the findings of the checks.
//!
//! ```text
//! ┌ Findings ─────────────────────────────────────────────────────────────┐
//! │ Sign-in 10.0.0.5 alice@contoso.com furthest: ad-user (fail) → failed: … │
//! │ ▶ ERROR   C-CERT-1  The certificate of lyncdiscover… does not cover …  │
//! │             cites #4 #5                                                │
//! └────────────────────────────────────────────────────────────────────────┘
//! ```

use crate::model::{Analysis, FindingSeverity};
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

fn severity_style(t: &Theme, s: FindingSeverity) -> Style {
    match s {
        FindingSeverity::Fail => t.error(),
        FindingSeverity::Warning => t.warning(),
        FindingSeverity::Info => t.dim(),
    }
}

/// Verdict lines, then one block per finding; `selected` is the finding index.
pub fn findings_lines(a: &Analysis, selected: usize, theme: &Theme) -> (Vec<Line<'static>>, usize) {
    let mut lines = Vec::new();
    if a.signin.is_empty() {
        lines.push(Line::styled(
            "No Lync / Skype for Business sign-in in this input.",
            theme.dim(),
        ));
    }
    for s in &a.signin {
        let who = [
            s.client.map(|c| c.to_string()),
            s.sip_uri.clone(),
            s.user.clone(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
        let style = if s.signed_in {
            theme.ok()
        } else if s.failed_stage.is_some() {
            theme.error()
        } else {
            theme.warning()
        };
        lines.push(Line::from(vec![
            Span::styled("Sign-in ", theme.title()),
            Span::raw(format!("{who} ")),
            Span::styled(s.verdict.clone(), style),
        ]));
        lines.push(Line::styled(
            format!(
                "  flow {} · furthest {} · failed at {}",
                s.flow_label(),
                s.furthest_stage.as_deref().unwrap_or("-"),
                s.failed_label().unwrap_or_else(|| "-".into())
            ),
            theme.dim(),
        ));
    }
    lines.push(Line::raw(""));
    if a.findings.is_empty() {
        lines.push(Line::styled("No findings.", theme.dim()));
    }
    let mut selected_line = 0;
    for (i, f) in a.findings.iter().enumerate() {
        let here = i == selected;
        if here {
            selected_line = lines.len();
        }
        let marker = if here { "▶ " } else { "  " };
        let head_style = if here {
            theme.selected()
        } else {
            Style::default()
        };
        lines.push(
            Line::from(vec![
                Span::raw(marker),
                Span::styled(
                    format!("{:<7} ", f.severity.as_str().to_uppercase()),
                    severity_style(theme, f.severity),
                ),
                Span::styled(format!("{:<12} ", f.check), theme.title()),
                Span::raw(f.message.clone()),
            ])
            .style(head_style),
        );
        let mut cites: Vec<String> = f.exchanges.iter().map(|x| format!("#{}", x.0)).collect();
        cites.extend(f.dns.iter().map(|d| {
            let q = a.dns.get(d.0 as usize).map_or("?", |l| l.qname.as_str());
            format!("dns {q}")
        }));
        cites.extend(f.connections.iter().map(|c| format!("C{}", c.0)));
        if !cites.is_empty() {
            lines.push(Line::styled(
                format!("    cites {}", cites.join(" ")),
                theme.dim(),
            ));
        }
    }
    (lines, selected_line)
}

pub fn render_findings(
    f: &mut Frame,
    area: Rect,
    a: &Analysis,
    selected: usize,
    theme: &Theme,
    focused: bool,
) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.pane_border(focused))
        .title(Line::from(vec![
            Span::styled(" Findings ", theme.title()),
            Span::styled(
                format!("{} · Enter jumps to the cited exchanges ", a.findings.len()),
                theme.dim(),
            ),
        ]));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let (lines, at) = findings_lines(a, selected, theme);
    // Keep the selected finding in view (lines wrap, so aim a little above it).
    let scroll = at.saturating_sub((inner.height as usize) / 3) as u16;
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        inner,
    );
}
