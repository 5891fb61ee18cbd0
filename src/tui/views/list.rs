//! The session list: one row per exchange, only the visible rows are built.
//!
//! ```text
//! ┌ Exchanges 42/42 · sort # ───────────────────────────────────────────────────────────┐
//! │ #   Time     Stage            Outcome   Method Status Host         Path   … TLS     │
//! │ 3★  +0.412   ad-user          challenge GET    401    lyncweb…     /Auto… … ok      │
//! └──────────────────────────────────────────────────────────────────────────────────────┘
//! ```

use crate::model::{Analysis, ExchId, Exchange, Notes, Ts};
use crate::presentation::timeline::utc_time;
use crate::tui::columns::{duration_ns, Column, TimeFormat};
use crate::tui::state::Regions;
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row, Table};
use ratatui::Frame;

/// What the list shows, read from the app's state for one frame.
pub struct ListInput<'a> {
    pub analysis: &'a Analysis,
    pub notes: &'a Notes,
    /// Exchanges in list order, and the index of the selected one.
    pub rows: &'a [ExchId],
    pub selected: usize,
    /// Per exchange id: matches the filter.
    pub matched: &'a [bool],
    /// The filter's text, when one is set.
    pub filter: Option<&'a str>,
    pub sort: Column,
    pub sort_reverse: bool,
    /// The columns, in order.
    pub columns: &'a [Column],
    pub time_format: TimeFormat,
    /// Origin of relative times.
    pub t0: Option<Ts>,
    /// Exchanges the last jumped-to finding cites.
    pub cited: &'a [ExchId],
    /// The inputs are still being read (no stages or TLS facts yet).
    pub loading: bool,
    pub focused: bool,
}

/// A response slower than this stands out.
const SLOW_NS: i64 = 1_000_000_000;
/// A body larger than this stands out.
const LARGE_BYTES: u64 = 1 << 20;

fn width(c: Column) -> Constraint {
    match c {
        Column::Number => Constraint::Length(6),
        Column::Time => Constraint::Length(12),
        Column::Stage => Constraint::Length(20),
        Column::Outcome => Constraint::Length(9),
        Column::Method => Constraint::Length(7),
        Column::Status => Constraint::Length(6),
        Column::Host => Constraint::Fill(2),
        Column::Path => Constraint::Fill(3),
        Column::ContentType => Constraint::Length(16),
        Column::ReqSize => Constraint::Length(7),
        Column::RespSize => Constraint::Length(7),
        Column::Duration => Constraint::Length(8),
        Column::Connection => Constraint::Length(5),
        Column::Tls => Constraint::Length(9),
    }
}

/// The chosen columns that fit: the least important go first on a narrow terminal.
fn visible_columns(chosen: &[Column], w: u16) -> Vec<Column> {
    let drop_order = [
        Column::Connection,
        Column::ReqSize,
        Column::ContentType,
        Column::Outcome,
        Column::Tls,
        Column::Duration,
        Column::RespSize,
    ];
    let mut cols: Vec<Column> = chosen.to_vec();
    let need = |cols: &[Column]| -> u16 {
        cols.iter()
            .map(|c| match width(*c) {
                Constraint::Length(n) => n + 1,
                _ => 12,
            })
            .sum()
    };
    for d in drop_order {
        if need(&cols) <= w {
            break;
        }
        cols.retain(|c| *c != d);
    }
    cols
}

pub fn human_size(n: u64) -> String {
    if n < 1024 {
        format!("{n}")
    } else if n < 1 << 20 {
        format!("{:.1}k", n as f64 / 1024.0)
    } else if n < 1 << 30 {
        format!("{:.1}M", n as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.1}G", n as f64 / (1u64 << 30) as f64)
    }
}

fn cell<'a>(
    a: &'a Analysis,
    app: &ListInput,
    x: &'a Exchange,
    prev: Option<&Exchange>,
    c: Column,
    t: &Theme,
) -> Cell<'a> {
    let req = x.request.as_ref();
    let resp = x.response.as_ref();
    let stage = x.stage.as_deref();
    match c {
        Column::Number => {
            let mut s = x.id.0.to_string();
            if app.notes.is_marked(x.id) {
                s.push('★');
            }
            if app.notes.comment(x.id).is_some() {
                s.push('✎');
            }
            if app.cited.contains(&x.id) {
                s.push('◆');
            }
            let style = if app.notes.is_marked(x.id) {
                t.mark()
            } else {
                t.normal()
            };
            Cell::from(Span::styled(s, style))
        }
        Column::Time => {
            let ts = x.timing.first().map(|a| a.ts);
            let s = match (app.time_format, ts) {
                (_, None) => "-".to_string(),
                (TimeFormat::Relative, Some(ts)) => {
                    format!("+{:.3}", ts.secs_since(app.t0.unwrap_or(ts)))
                }
                (TimeFormat::Absolute, Some(ts)) => utc_time(ts, false),
                (TimeFormat::Delta, Some(ts)) => {
                    match prev.and_then(|p| p.timing.first()).map(|a| a.ts) {
                        Some(p) => format!("{:+.3}", ts.secs_since(p)),
                        None => "0.000".into(),
                    }
                }
            };
            Cell::from(s)
        }
        // Stages and TLS facts are known once the whole capture is read.
        Column::Stage if app.loading => Cell::from(Span::styled("…", t.dim())),
        Column::Tls if app.loading => Cell::from(Span::styled(
            if x.scheme == crate::model::Scheme::Https {
                "TLS …"
            } else {
                "plain"
            },
            t.dim(),
        )),
        Column::Stage => {
            let id = stage.map_or("unrelated", |s| s.id.as_str());
            Cell::from(Span::styled(id, t.stage(id)))
        }
        Column::Outcome => match stage {
            Some(s) => Cell::from(Span::styled(s.outcome.as_str(), t.outcome(s.outcome))),
            None => Cell::from(""),
        },
        Column::Method => Cell::from(req.map_or("", |r| &*r.method)),
        Column::Status => {
            let status = resp.map(|r| r.status);
            let s = status.map_or("-".to_string(), |s| s.to_string());
            Cell::from(Span::styled(s, t.status(status)))
        }
        Column::Host => {
            let host = req.and_then(|r| r.host()).or_else(|| {
                a.connections
                    .get(x.connection.0 as usize)
                    .and_then(|c| c.tls.as_ref())
                    .and_then(|t| t.sni.as_deref())
            });
            Cell::from(host.unwrap_or(""))
        }
        Column::Path => Cell::from(req.map_or("", |r| r.target.as_str())),
        Column::ContentType => {
            let ct = resp
                .and_then(|r| r.headers.get("content-type"))
                .or_else(|| req.and_then(|r| r.headers.get("content-type")))
                .unwrap_or("");
            Cell::from(ct.split(';').next().unwrap_or("").trim())
        }
        Column::ReqSize | Column::RespSize => {
            let body = if c == Column::ReqSize {
                req.map(|r| &r.body)
            } else {
                resp.map(|r| &r.body)
            };
            match body {
                Some(b) => {
                    let n = b.decoded_length.unwrap_or(b.wire_length);
                    let style = if n >= LARGE_BYTES {
                        t.stands_out()
                    } else {
                        t.normal()
                    };
                    Cell::from(Span::styled(human_size(n), style))
                }
                None => Cell::from("-"),
            }
        }
        Column::Duration => match duration_ns(x) {
            Some(ns) => {
                let style = if ns >= SLOW_NS {
                    t.stands_out()
                } else {
                    t.normal()
                };
                Cell::from(Span::styled(
                    crate::presentation::timeline::human_duration(ns),
                    style,
                ))
            }
            None => Cell::from("-"),
        },
        Column::Connection => Cell::from(format!("C{}", x.connection.0)),
        Column::Tls => {
            let tls = a
                .connections
                .get(x.connection.0 as usize)
                .and_then(|c| c.tls.as_ref());
            match tls {
                None => Cell::from(Span::styled("plain", t.dim())),
                Some(t2) if t2.decrypted => Cell::from(Span::styled(
                    t2.version
                        .as_deref()
                        .unwrap_or("TLS")
                        .replace("TLS ", "TLS"),
                    t.ok(),
                )),
                Some(_) => Cell::from(Span::styled("no key", t.error())),
            }
        }
    }
}

/// Draws the list and records where rows and columns are, for the mouse.
/// `offset` is the first row shown; it follows the selection.
pub fn render_list(
    f: &mut Frame,
    area: Rect,
    app: &ListInput,
    offset: &mut usize,
    regions: &mut Regions,
    theme: &Theme,
) {
    let focused = app.focused;
    let total = app.analysis.exchanges.len();
    let matched = app.matched.iter().filter(|m| **m).count();
    let mut title = vec![
        Span::styled(" Exchanges ", theme.title()),
        Span::raw(if app.filter.is_some() {
            format!("{matched}/{total} ")
        } else {
            format!("{total} ")
        }),
        Span::styled(
            format!(
                "· sort {}{} ",
                app.sort.title(),
                if app.sort_reverse { "↑" } else { "" }
            ),
            theme.dim(),
        ),
    ];
    if let Some(f) = app.filter {
        title.push(Span::styled(format!("· {f} "), theme.warning()));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused {
            theme.focus_border()
        } else {
            theme.border()
        })
        .title(Line::from(title));
    let inner = block.inner(area);
    f.render_widget(block, area);
    regions.list = area;
    if inner.height < 2 || inner.width < 10 {
        return;
    }
    let body_rows = (inner.height - 1) as usize;
    // Keep the selection inside the page; move the page only when it leaves it.
    if app.selected < *offset {
        *offset = app.selected;
    } else if app.selected >= *offset + body_rows {
        *offset = app.selected + 1 - body_rows;
    }
    *offset = (*offset).min(app.rows.len().saturating_sub(body_rows));
    let cols = visible_columns(app.columns, inner.width);
    let a = app.analysis;
    let end = (*offset + body_rows).min(app.rows.len());
    let mut rows = Vec::with_capacity(end - *offset);
    for i in *offset..end {
        let id = app.rows[i];
        let Some(x) = a.exchanges.get(id.0 as usize) else {
            continue;
        };
        let prev = i
            .checked_sub(1)
            .and_then(|p| app.rows.get(p))
            .and_then(|p| a.exchanges.get(p.0 as usize));
        let cells: Vec<Cell> = cols
            .iter()
            .map(|c| cell(a, app, x, prev, *c, theme))
            .collect();
        let mut style = Style::default();
        if app.matched.get(id.0 as usize) == Some(&false) {
            style = theme.unmatched();
        }
        if i == app.selected {
            style = style.patch(theme.selected());
            if !focused {
                style = style.remove_modifier(Modifier::BOLD);
            }
        }
        rows.push(Row::new(cells).style(style));
    }
    let header = Row::new(cols.iter().map(|c| {
        let mut s = c.title().to_string();
        if *c == app.sort {
            s.push(if app.sort_reverse { '▲' } else { '▼' });
        }
        Cell::from(s)
    }))
    .style(theme.title());
    let widths: Vec<Constraint> = cols.iter().map(|c| width(*c)).collect();
    // Column positions for header clicks, from the same layout the table uses.
    let areas = ratatui::layout::Layout::horizontal(widths.clone())
        .spacing(1)
        .split(inner);
    regions.column_x = [0; 14];
    for (c, r) in cols.iter().zip(areas.iter()) {
        if let Some(i) = Column::ALL.iter().position(|x| x == c) {
            regions.column_x[i] = r.x.max(1);
        }
    }
    regions.list_first_row = inner.y + 1;
    regions.list_offset = *offset;
    let table = Table::new(rows, widths).header(header).column_spacing(1);
    f.render_widget(table, inner);
    if app.rows.is_empty() {
        let msg = if total == 0 && app.loading {
            "Reading… exchanges appear here as their responses end."
        } else if total == 0 {
            "No HTTP exchange in the input."
        } else {
            "No exchange matches the filter (f to change it, Esc to clear)."
        };
        let r = Rect::new(inner.x + 1, inner.y + 1, inner.width.saturating_sub(2), 1);
        f.render_widget(Span::styled(msg, theme.dim()), r);
    }
}
