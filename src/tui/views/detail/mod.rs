//! The detail pane: one exchange in tabs (Overview, Request, Response, Hex, Auth), after
//! mitmproxy's flow view: the Overview tab carries what the stage layer
//! concluded (stage, rule, parent) next to timing, connection and TLS facts, the message tabs
//! show headers and a readable body, Auth shows the decoded authentication legs.
//!
//! Every tab is first built as a list of lines ([`detail_lines`]); the pane scrolls over those
//! lines and wraps the visible ones to its width, so only what is on screen is laid out.
//!
//! The tabs are built in `overview`, `message` (Request, Response), `hex` and `auth`, each
//! with the line builder of `lines`; `wrap` lays the visible lines out at the pane's width.

mod auth;
mod frames;
mod hex;
mod lines;
mod message;
mod overview;
mod wrap;

#[cfg(test)]
mod tests;

use crate::model::{Analysis, Exchange, Notes};
use crate::tui::theme::Theme;
use auth::auth_tab;
use hex::hex_tab;
use lines::Out;
use message::{request_tab, response_tab};
use overview::{host_of, overview};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;
use std::ops::Range;
use wrap::{line_text, mark_ranges, max_scroll, wrap};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DetailTab {
    #[default]
    Overview,
    Request,
    Response,
    Hex,
    Auth,
}

impl DetailTab {
    pub const ALL: [DetailTab; 5] = [
        DetailTab::Overview,
        DetailTab::Request,
        DetailTab::Response,
        DetailTab::Hex,
        DetailTab::Auth,
    ];

    pub fn title(self) -> &'static str {
        match self {
            DetailTab::Overview => "Overview",
            DetailTab::Request => "Request",
            DetailTab::Response => "Response",
            DetailTab::Hex => "Hex",
            DetailTab::Auth => "Auth",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    /// The next tab, wrapping around.
    pub fn next(self) -> Self {
        Self::ALL[(self.index() + 1) % Self::ALL.len()]
    }

    /// The previous tab, wrapping around.
    pub fn prev(self) -> Self {
        Self::ALL[(self.index() + Self::ALL.len() - 1) % Self::ALL.len()]
    }
}

/// What the pane shows of the selected exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DetailState {
    pub tab: DetailTab,
    /// First line shown (an index into [`detail_lines`]); clamped when drawn.
    pub scroll: usize,
    /// Bodies shown as sent (decoded but not pretty-printed) instead of pretty.
    pub raw: bool,
    /// JSON bodies: objects and arrays from this nesting level on are folded.
    pub fold: Option<usize>,
}

/// All lines of a tab (the pane scrolls over them; also used to count lines and for search
/// highlighting).
pub fn detail_lines(
    a: &Analysis,
    x: &Exchange,
    notes: &Notes,
    tab: DetailTab,
    raw: bool,
    theme: &Theme,
) -> Vec<Line<'static>> {
    build(a, x, notes, tab, raw, None, theme).lines
}

/// The lines of a tab with the indent of their wrapped continuation rows.
fn build<'t>(
    a: &Analysis,
    x: &Exchange,
    notes: &Notes,
    tab: DetailTab,
    raw: bool,
    fold: Option<usize>,
    theme: &'t Theme,
) -> Out<'t> {
    let mut out = Out::new(theme);
    if a.partial {
        out.partial = true;
        out.line(vec![Span::styled(
            "Still loading: stage, TLS, authentication, findings and bodies are shown once the whole capture is read.",
            theme.warning(),
        )]);
    }
    match tab {
        DetailTab::Overview => overview(&mut out, a, x, notes),
        DetailTab::Request => request_tab(&mut out, x, raw, fold),
        DetailTab::Response => response_tab(&mut out, x, raw, fold),
        DetailTab::Hex => hex_tab(&mut out, x),
        DetailTab::Auth => auth_tab(&mut out, x),
    }
    out
}

/// Draws the tab bar and the visible part of the current tab. `highlight`: byte ranges to mark
/// in a line of text (the search), e.g. `|line| search.find_in(line)`.
// The signature is the one the app calls with; its length is the pane's inputs.
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub fn render_detail(
    f: &mut Frame,
    area: Rect,
    a: &Analysis,
    x: Option<&Exchange>,
    notes: &Notes,
    state: &mut DetailState,
    theme: &Theme,
    focused: bool,
    highlight: Option<&dyn Fn(&str) -> Vec<Range<usize>>>,
) {
    let border = theme.pane_border(focused);
    let mut block = Block::bordered().border_style(border);
    let Some(x) = x else {
        state.scroll = 0;
        let block = block.title(Line::styled(" Detail ", theme.title()));
        let inner = block.inner(area);
        f.render_widget(block, area);
        f.render_widget(
            Paragraph::new(Line::styled("no exchange selected", theme.dim())),
            inner,
        );
        return;
    };

    let built = cached_build(a, x, notes, state, theme);
    let (lines, hangs) = (&built.lines, &built.hangs);
    let inner = block.inner(area);
    let body_height = inner.height.saturating_sub(1) as usize;
    let width = inner.width as usize;
    state.scroll = state
        .scroll
        .min(max_scroll(lines, hangs, width, body_height));

    block = block
        .title(Line::styled(
            format!(" {} ", exchange_title(a, x)),
            theme.title(),
        ))
        .title(
            Line::styled(
                format!(" {}/{} ", (state.scroll + 1).min(lines.len()), lines.len()),
                theme.dim(),
            )
            .right_aligned(),
        );
    f.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let bar = Rect { height: 1, ..inner };
    f.render_widget(tab_bar(state, theme), bar);

    let mut rows: Vec<Line<'static>> = Vec::with_capacity(body_height);
    for (line, hang) in lines.iter().zip(hangs).skip(state.scroll) {
        if rows.len() >= body_height {
            break;
        }
        let line = match highlight {
            Some(find) => {
                let ranges = find(&line_text(line));
                if ranges.is_empty() {
                    line.clone()
                } else {
                    mark_ranges(line, &ranges, theme.hit())
                }
            }
            None => line.clone(),
        };
        rows.extend(wrap(&line, width, *hang));
    }
    rows.truncate(body_height);
    let content = Rect {
        y: inner.y.saturating_add(1),
        height: inner.height - 1,
        ..inner
    };
    f.render_widget(Paragraph::new(rows), content);
}

/// A built tab, kept between frames.
struct Built {
    lines: Vec<Line<'static>>,
    hangs: Vec<usize>,
}

/// What a built tab depends on. The analysis is frozen, so its address and sizes stand for
/// it; the exchange's own timing and stage make a mix-up with another analysis that happens
/// to land at the same address impossible in practice.
#[derive(PartialEq)]
struct CacheKey {
    analysis: usize,
    exchange: usize,
    sizes: [usize; 4],
    id: crate::model::ExchId,
    timing: crate::model::Timing,
    stage: Option<std::sync::Arc<crate::model::StageTag>>,
    note: Option<crate::model::Note>,
    tab: DetailTab,
    raw: bool,
    fold: Option<usize>,
    theme: Theme,
    partial: bool,
}

thread_local! {
    /// The last tab drawn: pretty-printing and hex-dumping a 256 KiB body takes longer than
    /// a frame should, and the pane redraws the same tab while it scrolls.
    static LAST_BUILT: std::cell::RefCell<Option<(CacheKey, std::rc::Rc<Built>)>> =
        const { std::cell::RefCell::new(None) };
}

fn cached_build(
    a: &Analysis,
    x: &Exchange,
    notes: &Notes,
    state: &DetailState,
    theme: &Theme,
) -> std::rc::Rc<Built> {
    let key = CacheKey {
        analysis: std::ptr::from_ref(a) as usize,
        exchange: std::ptr::from_ref(x) as usize,
        sizes: [
            a.exchanges.len(),
            a.connections.len(),
            a.findings.len(),
            a.diagnostics.len(),
        ],
        id: x.id,
        timing: x.timing.clone(),
        stage: x.stage.clone(),
        note: notes.get(x.id).cloned(),
        tab: state.tab,
        raw: state.raw,
        fold: state.fold,
        theme: *theme,
        partial: a.partial,
    };
    LAST_BUILT.with(|cell| {
        if let Some((k, built)) = cell.borrow().as_ref() {
            if *k == key {
                return std::rc::Rc::clone(built);
            }
        }
        let out = build(a, x, notes, state.tab, state.raw, state.fold, theme);
        let built = std::rc::Rc::new(Built {
            lines: out.lines,
            hangs: out.hangs,
        });
        *cell.borrow_mut() = Some((key, std::rc::Rc::clone(&built)));
        built
    })
}

/// "#12 POST webext-pool1.contoso.com": the exchange, its method and the host it went to.
fn exchange_title(a: &Analysis, x: &Exchange) -> String {
    let method = x.request.as_ref().map_or("—", |r| &*r.method);
    format!("#{} {} {}", x.id.0, method, host_of(a, x))
}

fn tab_bar(state: &DetailState, theme: &Theme) -> Line<'static> {
    let mut spans = Vec::new();
    for (i, tab) in DetailTab::ALL.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled("│", theme.dim()));
        }
        let style = if *tab == state.tab {
            theme.selected().patch(theme.title())
        } else {
            theme.normal()
        };
        spans.push(Span::styled(format!(" {} ", tab.title()), style));
    }
    if matches!(state.tab, DetailTab::Request | DetailTab::Response) {
        let mode = if state.raw {
            "  body: as sent"
        } else {
            "  body: pretty"
        };
        spans.push(Span::styled(mode, theme.dim()));
    }
    Line::from(spans)
}
