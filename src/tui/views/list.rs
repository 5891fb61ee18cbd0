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
use crate::tui::columns::{duration_ns, protocol, Column, TimeFormat};
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
    /// Some exchange is not HTTP/1: the Protocol column is shown.
    pub show_protocol: bool,
    pub focused: bool,
}

/// A response slower than this stands out.
const SLOW_NS: i64 = 1_000_000_000;
/// A body larger than this stands out.
const LARGE_BYTES: u64 = 1 << 20;

/// Widest a fixed column grows to (its content decides below that), and the least a column
/// that takes the room (host, path) is given.
fn cap(c: Column) -> usize {
    match c {
        Column::Number => 10,
        Column::Time => 24,
        Column::Stage => 21,
        Column::Outcome => 9,
        Column::Method => 7,
        Column::Status => 6,
        Column::Host | Column::Path => usize::MAX,
        Column::ContentType => 16,
        Column::ReqSize | Column::RespSize => 7,
        Column::Duration => 8,
        Column::Connection => 6,
        Column::Protocol => 9,
        Column::Tls => 7,
    }
}
const MIN_ROOMY: usize = 12;

/// Each column's width from its title and the shown rows' text, and the terminal: the fixed
/// columns take what their content needs (up to a cap), host and path share the rest (the
/// host first, up to its longest name); on a narrow terminal the least important columns go
/// first (never the status or the outcome).
fn sized_columns(chosen: &[Column], texts: &[Vec<String>], w: usize) -> Vec<(Column, usize)> {
    let natural = |i: usize, c: Column| -> usize {
        texts
            .iter()
            .map(|r| r.get(i).map_or(0, |t| t.chars().count()))
            .chain([c.title().chars().count() + 1])
            .max()
            .unwrap_or(0)
            .min(cap(c))
    };
    let mut cols: Vec<(Column, usize)> = chosen
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, natural(i, *c)))
        .collect();
    let roomy = |c: Column| matches!(c, Column::Host | Column::Path);
    let need = |cols: &[(Column, usize)]| -> usize {
        cols.iter()
            .map(|(c, n)| if roomy(*c) { MIN_ROOMY } else { *n } + 1)
            .sum()
    };
    let drop_order = [
        Column::Connection,
        Column::ReqSize,
        Column::ContentType,
        Column::Tls,
        Column::RespSize,
        Column::Duration,
        Column::Protocol,
        Column::Time,
        Column::Method,
    ];
    for d in drop_order {
        if need(&cols) <= w {
            break;
        }
        cols.retain(|(c, _)| *c != d);
    }
    let fixed: usize = cols
        .iter()
        .map(|(c, n)| if roomy(*c) { 0 } else { *n } + 1)
        .sum();
    let mut room = w.saturating_sub(fixed);
    let host = cols.iter().position(|(c, _)| *c == Column::Host);
    let path = cols.iter().position(|(c, _)| *c == Column::Path);
    match (host, path) {
        (Some(h), Some(p)) => {
            let (hn, pn) = (cols[h].1, cols[p].1);
            // The host whole when it leaves the path its minimum, else half the room.
            let host_w = if hn + MIN_ROOMY <= room {
                hn
            } else {
                hn.min((room / 2).max(MIN_ROOMY))
            };
            cols[h].1 = host_w;
            room = room.saturating_sub(host_w);
            cols[p].1 = room.max(pn.min(room)).max(MIN_ROOMY.min(room));
        }
        (Some(i), None) | (None, Some(i)) => cols[i].1 = room.max(1),
        (None, None) => {
            // The last column takes what is left.
            if let Some(last) = cols.last_mut() {
                last.1 += room;
            }
        }
    }
    cols
}

/// A request target for the Path column in `width` characters ([`shown_target`]), cut in the
/// middle with `…` so that the last path segment stays ("/ucwa/oauth/v1/…/batch").
pub fn fit_path(target: &str, width: usize) -> String {
    let target = shown_target(target);
    let n = target.chars().count();
    if n <= width {
        return target.to_string();
    }
    let (path, _query) = target.split_once('?').unwrap_or((target, ""));
    let path_n = path.chars().count();
    if path_n < width {
        // The path fits: cut the query.
        return fit_end(target, width);
    }
    let last = path.rfind('/').map_or(path, |i| &path[i..]);
    let last_n = last.chars().count();
    if last_n + 2 > width {
        return fit_end(last, width);
    }
    let head: String = path.chars().take(width - last_n - 1).collect();
    format!("{head}…{last}")
}

/// The request target as the Path column shows it: an absolute URL (a proxy's trace) without
/// its scheme and host, which the Host column shows.
pub fn shown_target(target: &str) -> &str {
    match target.split_once("://") {
        Some((scheme, rest)) if !scheme.contains('/') => rest.find('/').map_or("/", |i| &rest[i..]),
        _ => target,
    }
}

/// `text` cut to `width` characters, with `…` at the end when cut.
pub fn fit_end(text: &str, width: usize) -> String {
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

/// One cell's text and style.
fn cell(
    a: &Analysis,
    app: &ListInput,
    x: &Exchange,
    prev: Option<&Exchange>,
    c: Column,
    t: &Theme,
) -> (String, Style) {
    let req = x.request.as_ref();
    let resp = x.response.as_ref();
    let stage = x.stage.as_deref();
    let plain = |s: &str| (s.to_string(), t.normal());
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
            (s, style)
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
            (s, t.normal())
        }
        // Stages and TLS facts are known once the whole capture is read.
        Column::Stage if app.loading => ("…".into(), t.dim()),
        Column::Tls if app.loading => (
            if x.scheme == crate::model::Scheme::Https {
                "TLS …".into()
            } else {
                "plain".into()
            },
            t.dim(),
        ),
        Column::Stage => {
            let id = stage.map_or("unrelated", |s| s.id.as_str());
            (id.to_string(), t.stage(id))
        }
        Column::Outcome => match stage {
            Some(s) => (s.outcome.as_str().to_string(), t.outcome(s.outcome)),
            None => plain(""),
        },
        Column::Method => plain(req.map_or("", |r| &*r.method)),
        Column::Status => {
            let status = resp.map(|r| r.status);
            let s = status.map_or("-".to_string(), |s| s.to_string());
            (s, t.status(status))
        }
        Column::Host => {
            let host = req.and_then(|r| r.host()).or_else(|| {
                a.connections
                    .get(x.connection.0 as usize)
                    .and_then(|c| c.tls.as_ref())
                    .and_then(|t| t.sni.as_deref())
            });
            plain(host.unwrap_or(""))
        }
        // The text as sent; cut to the column's width when drawn (fit_path).
        Column::Path => plain(req.map_or("", |r| shown_target(&r.target))),
        Column::ContentType => {
            let ct = resp
                .and_then(|r| r.headers.get("content-type"))
                .or_else(|| req.and_then(|r| r.headers.get("content-type")))
                .unwrap_or("");
            plain(ct.split(';').next().unwrap_or("").trim())
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
                    (human_size(n), style)
                }
                None => plain("-"),
            }
        }
        Column::Duration => match duration_ns(x) {
            Some(ns) => {
                let style = if ns >= SLOW_NS {
                    t.stands_out()
                } else {
                    t.normal()
                };
                (crate::presentation::timeline::human_duration(ns), style)
            }
            None => plain("-"),
        },
        Column::Connection => plain(&format!("C{}", x.connection.0)),
        Column::Protocol => plain(&protocol(x)),
        Column::Tls => {
            let tls = a
                .connections
                .get(x.connection.0 as usize)
                .and_then(|c| c.tls.as_ref());
            match tls {
                None => ("plain".into(), t.dim()),
                Some(t2) if t2.decrypted => (
                    t2.version
                        .as_deref()
                        .unwrap_or("TLS")
                        .replace("TLS ", "TLS"),
                    t.ok(),
                ),
                Some(_) => ("no key".into(), t.error()),
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
        .border_style(theme.pane_border(focused))
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
    let a = app.analysis;
    let columns: Vec<Column> = app
        .columns
        .iter()
        .copied()
        .filter(|c| app.show_protocol || *c != Column::Protocol)
        .collect();
    let end = (*offset + body_rows).min(app.rows.len());
    // Each shown row's cells as text first: the columns are sized from them.
    let mut shown: Vec<(usize, Vec<(String, Style)>)> = Vec::with_capacity(end - *offset);
    for i in *offset..end {
        let id = app.rows[i];
        let Some(x) = a.exchanges.get(id.0 as usize) else {
            continue;
        };
        let prev = i
            .checked_sub(1)
            .and_then(|p| app.rows.get(p))
            .and_then(|p| a.exchanges.get(p.0 as usize));
        let cells = columns
            .iter()
            .map(|c| cell(a, app, x, prev, *c, theme))
            .collect();
        shown.push((i, cells));
    }
    let texts: Vec<Vec<String>> = shown
        .iter()
        .map(|(_, cells)| cells.iter().map(|(t, _)| t.clone()).collect())
        .collect();
    let sized = sized_columns(&columns, &texts, usize::from(inner.width));
    let cols: Vec<Column> = sized.iter().map(|(c, _)| *c).collect();
    let mut rows = Vec::with_capacity(shown.len());
    for (i, cells) in shown {
        let id = app.rows[i];
        let cells: Vec<Cell> = sized
            .iter()
            .filter_map(|(c, w)| {
                let at = columns.iter().position(|x| x == c)?;
                let (text, style) = cells.get(at)?;
                let text = match c {
                    Column::Path => fit_path(text, *w),
                    _ => fit_end(text, *w),
                };
                Some(Cell::from(Span::styled(text, *style)))
            })
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
    let widths: Vec<Constraint> = sized
        .iter()
        .map(|(_, w)| Constraint::Length(*w as u16))
        .collect();
    // Column positions for header clicks, from the same layout the table uses.
    let areas = ratatui::layout::Layout::horizontal(widths.clone())
        .spacing(1)
        .split(inner);
    regions.column_x = [0; 15];
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

#[cfg(test)]
mod tests {
    use super::{fit_end, fit_path};

    #[test]
    fn paths_keep_their_last_segment_and_lose_a_proxys_scheme_and_host() {
        let t = "/ucwa/oauth/v1/applications/101/people/contacts";
        assert_eq!(fit_path(t, 60), t);
        assert_eq!(fit_path(t, 20), "/ucwa/oaut…/contacts");
        assert_eq!(fit_path(t, 20).chars().count(), 20);
        assert_eq!(fit_path("/?sipuri=alice@contoso.com", 12), "/?sipuri=al…");
        assert_eq!(
            fit_path(
                "https://webext-pool2.contoso.com/ucwa/oauth/v1/applications",
                40
            ),
            "/ucwa/oauth/v1/applications"
        );
        assert_eq!(fit_path("https://webext-pool2.contoso.com", 10), "/");
        assert_eq!(
            fit_end("lyncdiscoverinternal.contoso.com", 14),
            "lyncdiscoveri…"
        );
    }
}
