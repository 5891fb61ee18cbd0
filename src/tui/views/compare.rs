//! The Compare pane: this sign-in (A) versus a second input (B), aligned by discovery stage
//! (`presentation::compare`): the two stage lanes one above the other, one cell per stage
//! visit, the first stage where they part marked, then each stage with what each side did and
//! the differences.
//!
//! ```text
//! ┌ Compare  A B-external….pcapng  B D-user-404.pcapng ─────────────────────────┐
//! │ they part at ad-user: status: 200 (A) vs 404 (B); …                        │
//! │    1    2    3    4    5    6    7    8                                     │
//! │ A  ▒▒▒▒ ░░░░ ████ ▒▒▒▒ ████ ▓▓▓▓ ████ ████                                │
//! │ B  ▒▒▒▒ ░░░░ ████ ▒▒▒▒ ████ ✗✗✗✗ ···· ····                                │
//! │                             ▲ ad-user                                      │
//! │ ▶  6 ad-user            A 200 [redirect]        B 404 [fail]               │
//! │        ! status: 200 (A) vs 404 (B)                                        │
//! └────────────────────────────────────────────────────────────────────────────┘
//! ```

use crate::model::{Analysis, Outcome};
use crate::presentation::compare::{Comparison, Pair, Visit};
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;
use std::path::PathBuf;
use std::sync::Arc;

/// The Compare pane's state: the second input and, once both sides are read, the comparison.
#[derive(Default)]
pub struct CompareState {
    /// The second input's files (for the title).
    pub other_inputs: Vec<PathBuf>,
    /// The second input's analysis, once read.
    pub other: Option<Arc<Analysis>>,
    /// Why the second input could not be read.
    pub error: Option<String>,
    /// This sign-in versus the other one, once both are read.
    pub comparison: Option<Comparison>,
    /// The selected stage visit (index into the comparison's pairs).
    pub selected: usize,
}

impl CompareState {
    /// A comparison with `other` is asked for (its files are being read).
    pub fn waiting(other_inputs: Vec<PathBuf>) -> CompareState {
        CompareState {
            other_inputs,
            ..CompareState::default()
        }
    }

    /// Compares `a` with the other side when both are there; starts on the parting stage.
    pub fn update(&mut self, a: &Analysis) {
        if let Some(b) = &self.other {
            let c = crate::presentation::compare::compare(a, b);
            self.selected = c.parting.unwrap_or(0);
            self.comparison = Some(c);
        }
    }

    pub fn pair_count(&self) -> usize {
        self.comparison.as_ref().map_or(0, |c| c.pairs.len())
    }
}

/// The glyph that fills a visit's cell in a lane.
fn glyph(o: Outcome) -> char {
    match o {
        Outcome::Ok => '█',
        Outcome::Redirect => '▓',
        Outcome::Challenge => '▒',
        Outcome::Noise => '░',
        Outcome::Fail => '✗',
        Outcome::Unknown => '?',
    }
}

fn file_names(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|p| {
            p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a side did in a visit, in a few words, the answers first (the requests are long):
/// "200 [redirect] GET /…".
fn side_words(v: Option<&Visit>) -> String {
    match v {
        None => "— (not in this side's flow)".into(),
        Some(v) => format!(
            "{} [{}] {}",
            v.statuses.join(", "),
            v.outcome.as_str(),
            v.requests.join(", ")
        ),
    }
}

/// The header row (visit numbers), the two lanes and the parting marker. `cell` columns per
/// visit, the first `first` visits scrolled out of view.
fn lane_lines(
    c: &Comparison,
    cell: usize,
    first: usize,
    fit: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let shown = &c.pairs[first..(first + fit).min(c.pairs.len())];
    let mut numbers = vec![Span::raw("   ")];
    for (i, _) in shown.iter().enumerate() {
        numbers.push(Span::styled(
            format!("{:<cell$}", first + i + 1),
            theme.dim(),
        ));
    }
    let lane = |name: &'static str, side: fn(&Pair) -> Option<&Visit>| {
        let mut spans = vec![Span::styled(format!("{name}  "), theme.title())];
        for p in shown {
            let (text, style) = match side(p) {
                Some(v) => (
                    glyph(v.outcome).to_string().repeat(cell - 1),
                    theme.outcome(v.outcome),
                ),
                None => ("·".repeat(cell - 1), theme.dim()),
            };
            spans.push(Span::styled(text, style));
            spans.push(Span::raw(" "));
        }
        Line::from(spans)
    };
    let mut lines = vec![
        Line::from(numbers),
        lane("A", |p| p.a.as_ref()),
        lane("B", |p| p.b.as_ref()),
    ];
    let marker = match c.parting {
        Some(i) if (first..first + fit).contains(&i) => {
            let p = &c.pairs[i];
            Line::from(vec![
                Span::raw(" ".repeat(3 + (i - first) * cell)),
                Span::styled(format!("▲ {}: they part here", p.name()), theme.error()),
            ])
        }
        Some(i) => Line::styled(
            format!("   they part at {} (visit {})", c.pairs[i].name(), i + 1),
            theme.error(),
        ),
        None => Line::styled("   no stage where they part", theme.ok()),
    };
    lines.push(marker);
    lines
}

/// Every stage visit: a line with what A and B did, then its differences (those that matter
/// with `!`), then, for the selected one, the hosts, authentication and findings of each side.
fn pair_lines(
    c: &Comparison,
    selected: usize,
    width: usize,
    theme: &Theme,
) -> (Vec<Line<'static>>, usize) {
    let mut lines = Vec::new();
    let mut at = 0;
    let name_w = c
        .pairs
        .iter()
        .map(|p| p.name().chars().count())
        .max()
        .unwrap_or(0)
        .min(34)
        .min(width / 4);
    let side_w = width.saturating_sub(name_w + 14) / 2;
    let cut = |s: String, w: usize| -> String {
        if s.chars().count() <= w {
            format!("{s:<w$}")
        } else {
            let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
            t.push('…');
            t
        }
    };
    for (i, p) in c.pairs.iter().enumerate() {
        let here = i == selected;
        if here {
            at = lines.len();
        }
        let sign = if c.parting == Some(i) {
            "▶"
        } else if p.differences.is_empty() {
            "="
        } else {
            "≠"
        };
        let sign_style = if c.parting == Some(i) {
            theme.error()
        } else if p.differences.is_empty() {
            theme.dim()
        } else {
            theme.warning()
        };
        let same = p.differences.is_empty();
        let b_words = if same {
            "the same".to_string()
        } else {
            side_words(p.b.as_ref())
        };
        let line = Line::from(vec![
            Span::raw(if here { "›" } else { " " }),
            Span::styled(sign, sign_style),
            Span::styled(format!("{:>3} ", i + 1), theme.dim()),
            Span::styled(cut(p.name(), name_w), theme.stage(&p.stage)),
            Span::styled(" A ", theme.title()),
            Span::styled(
                cut(side_words(p.a.as_ref()), side_w),
                p.a.as_ref()
                    .map_or(theme.dim(), |v| theme.outcome(v.outcome)),
            ),
            Span::styled(" B ", theme.title()),
            Span::styled(
                cut(b_words, side_w),
                if same {
                    theme.dim()
                } else {
                    p.b.as_ref()
                        .map_or(theme.dim(), |v| theme.outcome(v.outcome))
                },
            ),
        ]);
        lines.push(if here {
            line.style(theme.selected())
        } else {
            line
        });
        for d in &p.differences {
            let (mark, style): (&str, Style) = if d.matters {
                ("!", theme.error())
            } else {
                ("·", theme.dim())
            };
            lines.push(Line::styled(format!("        {mark} {}", d.text), style));
        }
        if here {
            for (who, v) in [("A", &p.a), ("B", &p.b)] {
                let Some(v) = v else { continue };
                let mut facts = Vec::new();
                if !v.hosts.is_empty() {
                    facts.push(format!("host {}", v.hosts.join(", ")));
                }
                if !v.addresses.is_empty() {
                    facts.push(format!("address {}", v.addresses.join(", ")));
                }
                if !v.auth.is_empty() {
                    facts.push(format!("auth {}", v.auth.join(", ")));
                }
                if !v.challenges.is_empty() {
                    facts.push(format!("challenge {}", v.challenges.join(", ")));
                }
                if !v.findings.is_empty() {
                    facts.push(format!("findings {}", v.findings.join(", ")));
                }
                facts.push(format!("steps {}", v.steps.join(" ")));
                lines.push(Line::styled(
                    format!("        {who} +{:.3} s · {}", v.at, facts.join(" · ")),
                    theme.dim(),
                ));
            }
        }
    }
    for (who, list) in [("A", &c.findings_only_a), ("B", &c.findings_only_b)] {
        if !list.is_empty() {
            lines.push(Line::styled(
                format!("  findings on {who} only: {}", list.join(", ")),
                theme.warning(),
            ));
        }
    }
    (lines, at)
}

pub fn render_compare(
    f: &mut Frame,
    area: Rect,
    a_inputs: &[PathBuf],
    state: &CompareState,
    theme: &Theme,
    focused: bool,
) {
    let mut title = vec![
        Span::styled(" Compare ", theme.title()),
        Span::styled("A ", theme.title()),
        Span::raw(format!("{}  ", file_names(a_inputs))),
    ];
    if !state.other_inputs.is_empty() {
        title.push(Span::styled("B ", theme.title()));
        title.push(Span::raw(format!("{} ", file_names(&state.other_inputs))));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.pane_border(focused))
        .title(Line::from(title));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(c) = &state.comparison else {
        let text = if let Some(e) = &state.error {
            Line::styled(format!("B cannot be read: {e}"), theme.error())
        } else if state.other_inputs.is_empty() {
            Line::styled(
                "No second input: V asks for one (or start with --compare-with FILE).",
                theme.dim(),
            )
        } else {
            Line::styled("reading B …", theme.warning())
        };
        f.render_widget(Paragraph::new(text), inner);
        return;
    };
    // The headline wrapped on up to three lines (it says why they part).
    let headline = c.headline();
    let head_lines = headline
        .chars()
        .count()
        .div_ceil(usize::from(inner.width.max(1)))
        .clamp(1, 3) as u16;
    let [head, lanes, list] = Layout::vertical([
        Constraint::Length(head_lines),
        Constraint::Length(5),
        Constraint::Fill(1),
    ])
    .areas(inner);
    let style = if c.parting.is_some() {
        theme.error()
    } else {
        theme.ok()
    };
    f.render_widget(
        Paragraph::new(Line::styled(headline, style)).wrap(Wrap { trim: false }),
        head,
    );

    // One cell per visit: as wide as the pane allows (2 to 8 columns); when they do not all
    // fit, the window follows the selection.
    let n = c.pairs.len().max(1);
    let room = usize::from(lanes.width).saturating_sub(3);
    let cell = (room / n).clamp(2, 8);
    let fit = (room / cell).max(1);
    let first = if state.selected < fit {
        0
    } else {
        (state.selected + 1 - fit).min(c.pairs.len().saturating_sub(fit))
    };
    f.render_widget(
        Paragraph::new(lane_lines(c, cell, first, fit, theme)),
        lanes,
    );

    let (lines, at) = pair_lines(c, state.selected, usize::from(list.width), theme);
    // Long lines wrap, so aim a little above the selected visit to keep it in view.
    let scroll = at.saturating_sub(usize::from(list.height) / 3) as u16;
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        list,
    );
}
