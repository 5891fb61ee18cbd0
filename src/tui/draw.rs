//! The whole screen: title bar, list, lower pane, input / status line, key hints, overlays.
//!
//! ```text
//! lyncscope · B-external….pcapng · 42 exchanges · 4 findings                   ← title
//!   furthest: … → signed in after 2.8 s (wrapped when the title does not fit)  ← verdict
//! ┌ Exchanges ──────────────────────────────────────────────────────────────┐
//! │ …                                                                       │ ← list
//! └─────────────────────────────────────────────────────────────────────────┘
//! ┌ Detail | Timeline | Findings | Connections ─────────────────────────────┐ ← lower pane
//! └─────────────────────────────────────────────────────────────────────────┘
//! filter> ~stage ad-user                                                     ← input/status
//!  q quit  ? help  Tab focus  d detail  t timeline …                         ← key hints
//! ```

use super::app::{App, EXPORT_SCOPES};
use super::keymap::Context;
use super::state::{Focus, InputKind, Layout as PaneLayout, LowerPane, Overlay};
use super::theme::Theme;
use super::views;
use crate::presentation::connections::count;
use crate::report::export::ExportFormat;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// Below this the screen cannot show a list and a pane; a notice says so.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 12;

pub fn draw(f: &mut Frame, app: &mut App, theme: &Theme) {
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = vec![
            Line::styled("Terminal too small", theme.error()),
            Line::raw(format!(
                "{}×{} — needs at least {MIN_WIDTH}×{MIN_HEIGHT}",
                area.width, area.height
            )),
            Line::styled("q quits", theme.dim()),
        ];
        f.render_widget(
            Paragraph::new(msg).wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    let title_lines = title_lines(app, theme, area.width);
    let [title, main, status, hints] = Layout::vertical([
        Constraint::Length(title_lines.len().max(1) as u16),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    render_title(f, title, app, theme, title_lines);
    let (list_area, lower_area) = split_main(main, app);
    app.regions.lower = lower_area.unwrap_or_default();
    if let Some(r) = list_area {
        let input = views::list::ListInput {
            analysis: &app.analysis,
            notes: &app.notes,
            rows: &app.rows,
            selected: app.selected,
            matched: &app.matched,
            filter: app.filter.as_ref().map(|f| f.text()),
            sort: app.sort,
            sort_reverse: app.sort_reverse,
            columns: &app.columns,
            time_format: app.time_format,
            t0: app.t0,
            cited: &app.cited,
            loading: app.loading.is_some(),
            show_protocol: app.protocol_column,
            focused: app.focus == Focus::List,
        };
        views::list::render_list(f, r, &input, &mut app.list_offset, &mut app.regions, theme);
    } else {
        app.regions.list = Rect::default();
    }
    if let Some(r) = lower_area {
        render_lower(f, r, app, theme);
    }
    render_status(f, status, app, theme);
    render_hints(f, hints, app, theme);
    match &mut app.overlay {
        Some(Overlay::Help { scroll }) => {
            views::overlays::render_help(f, main, scroll, &app.keys, theme)
        }
        Some(Overlay::Export(d)) if app.input.is_none() => {
            let d = d.clone();
            let scopes: Vec<(&str, usize)> = EXPORT_SCOPES
                .iter()
                .map(|s| (s.title(), app.scope_ids(*s).len()))
                .collect();
            let formats: Vec<&str> = ExportFormat::ALL.iter().map(|f| f.title()).collect();
            views::overlays::render_export(f, main, &d, &scopes, &formats, theme)
        }
        _ => {}
    }
}

fn split_main(main: Rect, app: &App) -> (Option<Rect>, Option<Rect>) {
    if app.maximized {
        return match app.focus {
            Focus::List => (Some(main), None),
            Focus::Lower => (None, Some(main)),
        };
    }
    match app.layout {
        PaneLayout::ListOnly => (Some(main), None),
        PaneLayout::Stacked => {
            let [a, b] =
                Layout::vertical([Constraint::Percentage(45), Constraint::Fill(1)]).areas(main);
            (Some(a), Some(b))
        }
        PaneLayout::SideBySide => {
            let [a, b] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Fill(1)]).areas(main);
            (Some(a), Some(b))
        }
    }
}

fn render_title(f: &mut Frame, area: Rect, app: &App, theme: &Theme, lines: Vec<Line<'static>>) {
    let a = &app.analysis;
    let names: Vec<String> = app
        .inputs
        .iter()
        .map(|p| {
            p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        })
        .collect();
    if let Some(l) = &app.loading {
        // The list below fills in as exchanges complete; the gauge says how far reading is.
        let [text, gauge] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(46)]).areas(area);
        let line = Line::from(vec![
            Span::styled("lyncscope ", theme.title()),
            Span::raw(format!("· {} · ", names.join(", "))),
            Span::styled(
                format!("loading: {} exchanges so far", a.exchanges.len()),
                theme.warning(),
            ),
        ]);
        f.render_widget(line, text);
        let ratio = if l.total > 0 {
            (l.done as f64 / l.total as f64).clamp(0.0, 1.0)
        } else {
            0.0
        };
        f.render_widget(
            ratatui::widgets::LineGauge::default()
                .ratio(ratio)
                .label(format!(
                    "{}/{} MB {:.1} s ",
                    l.done >> 20,
                    l.total >> 20,
                    l.elapsed.as_secs_f64()
                ))
                .filled_style(theme.ok())
                .unfilled_style(theme.dim()),
            gauge,
        );
        return;
    }
    f.render_widget(Paragraph::new(lines), area);
}

/// The title: name, inputs, counts and the verdict on one line when it fits; else the verdict
/// (which says where the sign-in broke, and that a capture is cut) on lines of its own,
/// wrapped, so that it is readable at 80 columns.
fn title_lines(app: &App, theme: &Theme, width: u16) -> Vec<Line<'static>> {
    if app.loading.is_some() {
        return vec![Line::raw("")];
    }
    let a = &app.analysis;
    let names: Vec<String> = app
        .inputs
        .iter()
        .map(|p| {
            p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let mut head = vec![
        Span::styled("lyncscope ", theme.title()),
        Span::raw(format!(
            "· {} · {} ",
            names.join(", "),
            count(a.exchanges.len(), "exchange")
        )),
    ];
    let mut verdict = Vec::new();
    if let Some(s) = a.signin.first() {
        let style = if s.signed_in {
            theme.ok()
        } else if s.failed_stage.is_some() {
            theme.error()
        } else {
            theme.warning()
        };
        verdict.push(Span::styled(s.verdict.clone(), style));
        if a.signin.len() > 1 {
            verdict.push(Span::styled(
                format!(" (+{} more sign-ins: F)", a.signin.len() - 1),
                theme.dim(),
            ));
        }
    }
    // A cut or damaged input is named here even when the verdict does not say it (no
    // sign-in, or one that completed before the cut).
    if let Some(note) = crate::model::cut_notes(&a.inputs) {
        if !a.signin.iter().any(|s| s.verdict.contains(&note)) {
            let sep = if verdict.is_empty() { "" } else { "; " };
            verdict.push(Span::styled(format!("{sep}{note}"), theme.warning()));
        }
    }
    let findings = (!a.findings.is_empty()).then(|| {
        Span::styled(
            format!("· {}", count(a.findings.len(), "finding")),
            theme.warning(),
        )
    });
    let len = |spans: &[Span]| spans.iter().map(|s| s.width()).sum::<usize>();
    let one = len(&head) + 2 + len(&verdict) + findings.as_ref().map_or(0, |f| f.width());
    if verdict.is_empty() || one <= usize::from(width) {
        if !verdict.is_empty() {
            head.push(Span::raw("· "));
            head.extend(verdict);
            head.push(Span::raw(" "));
        }
        head.extend(findings);
        return vec![Line::from(head)];
    }
    head.extend(findings);
    let mut lines = vec![Line::from(head)];
    // The verdict wrapped at spaces, on at most three lines.
    let text: String = verdict.iter().map(|s| s.content.as_ref()).collect();
    let style = verdict.first().map(|s| s.style).unwrap_or_default();
    let w = usize::from(width.max(20)) - 2;
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > w {
            lines.push(Line::from(vec![Span::raw("  "), Span::styled(line, style)]));
            line = String::new();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(Line::from(vec![Span::raw("  "), Span::styled(line, style)]));
    }
    lines.truncate(4);
    lines
}

fn render_lower(f: &mut Frame, area: Rect, app: &mut App, theme: &Theme) {
    let focused = app.focus == Focus::Lower;
    match app.lower {
        LowerPane::Detail => {
            let a = std::sync::Arc::clone(&app.analysis);
            let x = app
                .selected_id()
                .and_then(|id| a.exchanges.get(id.0 as usize));
            let search = app.search.as_ref();
            let hl = |line: &str| search.map(|s| s.find_in(line)).unwrap_or_default();
            let hl_ref: &dyn Fn(&str) -> Vec<std::ops::Range<usize>> = &hl;
            views::detail::render_detail(
                f,
                area,
                &a,
                x,
                &app.notes,
                &mut app.detail,
                theme,
                focused,
                search.map(|_| hl_ref),
            );
        }
        LowerPane::Timeline => {
            let matched = &app.matched;
            let dim = |id: crate::model::ExchId| matched.get(id.0 as usize) == Some(&false);
            let dim_ref: &dyn Fn(crate::model::ExchId) -> bool = &dim;
            let input = views::timeline::TimelineInput {
                analysis: &app.analysis,
                rows: &app.rows,
                selected: app.selected_id(),
                notes: &app.notes,
                dimmed: (app.filter.is_some() && app.dim_unmatched).then_some(dim_ref),
                theme,
            };
            views::timeline::render_timeline(
                f,
                area,
                &input,
                &app.timeline_cache,
                &mut app.timeline,
                focused,
            );
        }
        LowerPane::Findings => {
            views::findings::render_findings(f, area, &app.analysis, app.finding, theme, focused)
        }
        LowerPane::Connections => views::connections::render_connections(
            f,
            area,
            &app.connections,
            app.connection,
            theme,
            focused,
        ),
        LowerPane::Compare => {
            views::compare::render_compare(f, area, &app.inputs, &app.compare, theme, focused)
        }
    }
}

fn render_status(f: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if let Some(input) = &app.input {
        let prompt = match input.kind {
            InputKind::Filter => "filter> ",
            InputKind::Search => "search> ",
            InputKind::Comment => "comment> ",
            InputKind::ExportPath => "export to> ",
            InputKind::ComparePath => "compare with> ",
        };
        let mut spans = vec![
            Span::styled(prompt, theme.key()),
            Span::raw(input.text.clone()),
            Span::styled("█", theme.dim()),
        ];
        match &input.error {
            Some(e) => spans.push(Span::styled(format!("  ✗ {e}"), theme.error())),
            None if input.kind == InputKind::Filter && !input.text.trim().is_empty() => {
                spans.push(Span::styled("  ✓", theme.ok()))
            }
            None => {}
        }
        f.render_widget(Line::from(spans), area);
        return;
    }
    if let Some(s) = &app.status {
        let style = if s.error {
            theme.error()
        } else {
            theme.normal()
        };
        f.render_widget(Line::styled(s.text.clone(), style), area);
        return;
    }
    // Default: where we are.
    let pos = if app.rows.is_empty() {
        "no exchange".to_string()
    } else {
        format!("{}/{}", app.selected + 1, app.rows.len())
    };
    let mut spans = vec![Span::styled(pos, theme.dim())];
    if app.search.is_some() {
        spans.push(Span::styled(
            format!("  search: {} (n/N)", app.search_text),
            theme.dim(),
        ));
    }
    if !app.mouse {
        spans.push(Span::styled("  mouse off", theme.dim()));
    }
    f.render_widget(Line::from(spans), area);
}

/// The context's hint-bar bindings, then the global ones.
fn render_hints(f: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut spans = Vec::new();
    if app.input.is_some() {
        for (k, h) in [("Enter", "apply"), ("Esc", "cancel"), ("Ctrl-u", "clear")] {
            spans.push(Span::styled(format!(" {k}"), theme.key()));
            spans.push(Span::styled(format!(" {h} "), theme.dim()));
        }
    } else {
        let ctx = app.context();
        let shown = |c: Context| {
            app.keys
                .bound()
                .iter()
                .filter(move |b| b.binding.context == c && b.binding.in_hint_bar)
        };
        for b in shown(ctx).chain(shown(Context::Global)) {
            let Some(key) = b.keys.first() else { continue };
            spans.push(Span::styled(format!(" {}", key.label()), theme.key()));
            spans.push(Span::styled(format!(" {} ", b.binding.hint), theme.dim()));
        }
    }
    f.render_widget(Line::from(spans), area);
}
