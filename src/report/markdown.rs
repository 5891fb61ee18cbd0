//! The Markdown report (for a support ticket): inputs, summary, sign-in verdict, findings,
//! marked exchanges, the stage table, a text timeline, then each exchange with its headers
//! and decoded body.
//!
//! Everything from the capture is escaped: plain text by backslash escapes, inline values in
//! code spans, heads and bodies in fenced blocks whose fence is longer than any backtick run
//! inside.

use crate::datetime::utc_label as utc;
use crate::model::{Analysis, Body, Diagnostic, ExchId, Exchange, Headers, Notes, Outcome, Ts};
use crate::presentation::auth_words::auth_lines;
use crate::presentation::body::body_view;
use crate::presentation::body::BodyKind;
use crate::presentation::compare::Comparison;
use crate::presentation::connections::{connection_rows, count};
use crate::presentation::facts::{
    diagnostic_place, diagnostics_by_exchange, exchange_facts, exchange_title, general_diagnostics,
    input_line, marked_in_order, signin_who, stream_of, summary, DIAGNOSTICS_LISTED,
};
use crate::presentation::lanes::{collect_lanes, Key};
use crate::presentation::stage_rows::{stage_rows, RowKey};
use crate::presentation::timeline::human_duration;
use crate::presentation::timeline::time_range;
use crate::presentation::wire::{
    request_head_text as request_head, response_head_text as response_head,
};
use std::collections::HashSet;
use std::io::{self, Write};

// ---------------------------------------------------------------------------------------------
// Markdown text.

/// Escapes text for Markdown paragraphs and list items (one line).
pub fn md_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// An inline code span that holds any text (one line).
pub fn md_code(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let fence = "`".repeat(longest_run(&s, '`') + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') || s.is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// A table cell: `|` escaped (also inside code spans, as GFM requires).
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn longest_run(s: &str, ch: char) -> usize {
    let mut best = 0;
    let mut run = 0;
    for c in s.chars() {
        if c == ch {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// A fenced code block whose fence is longer than any backtick run in the text.
pub fn md_fence(out: &mut dyn Write, lang: &str, text: &str) -> io::Result<()> {
    let fence = "`".repeat((longest_run(text, '`') + 1).max(3));
    writeln!(out, "{fence}{lang}")?;
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        writeln!(out)?;
    }
    writeln!(out, "{fence}")
}

fn lang_of(kind: BodyKind) -> &'static str {
    match kind {
        BodyKind::Json => "json",
        BodyKind::Xml => "xml",
        BodyKind::Html => "html",
        BodyKind::Form | BodyKind::Text | BodyKind::Empty => "text",
        BodyKind::Binary => "text",
    }
}

/// What both readable reports start from: the exchanges to list (valid ids, in order), the
/// set of them for links, the time origin and the input names.
pub(super) struct Listing<'a> {
    pub scope: Vec<ExchId>,
    pub listed: HashSet<ExchId>,
    pub t0: Ts,
    pub names: Vec<&'a str>,
}

impl<'a> Listing<'a> {
    pub(super) fn new(a: &'a Analysis, scope: &[ExchId]) -> Listing<'a> {
        let scope: Vec<ExchId> = scope
            .iter()
            .copied()
            .filter(|id| (id.0 as usize) < a.exchanges.len())
            .collect();
        Listing {
            listed: scope.iter().copied().collect(),
            scope,
            t0: time_range(a).map(|r| r.0).unwrap_or_default(),
            names: a
                .inputs
                .iter()
                .map(|i| i.path.rsplit(['/', '\\']).next().unwrap_or(&i.path))
                .collect(),
        }
    }
}

/// A reference to an exchange: a link when it is listed in the report.
fn md_ref(id: ExchId, listed: &HashSet<ExchId>) -> String {
    if listed.contains(&id) {
        format!("[#{}](#x{})", id.0, id.0)
    } else {
        format!("#{}", id.0)
    }
}

/// Writes the Markdown report. `scope` lists the exchanges to show in detail, in that order;
/// the verdict, findings and stage table cover the whole analysis.
pub fn write_markdown(
    a: &Analysis,
    notes: &Notes,
    scope: &[ExchId],
    out: &mut dyn Write,
) -> io::Result<()> {
    write_markdown_compared(a, notes, scope, None, None, out)
}

/// [`write_markdown`] of an analysis [`super::redact::redact`] gave (the summary says what
/// was replaced), with a section comparing the sign-in, stage by stage, with
/// another one (`report A --compare-with B`), after the findings.
pub fn write_markdown_compared(
    a: &Analysis,
    notes: &Notes,
    scope: &[ExchId],
    redaction: Option<&super::redact::RedactionSummary>,
    compare: Option<&Comparison>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let Listing {
        scope,
        listed,
        t0,
        names,
    } = Listing::new(a, scope);
    writeln!(
        out,
        "# lyncscope report: {}\n",
        md_text(&if names.is_empty() {
            "(no input)".to_string()
        } else {
            names.join(", ")
        })
    )?;
    if !a.inputs.is_empty() {
        writeln!(out, "Inputs:\n")?;
        for i in &a.inputs {
            writeln!(out, "- {}", md_text(&input_line(i)))?;
        }
        writeln!(out)?;
    }

    writeln!(out, "## Summary\n")?;
    for (k, v) in summary(a) {
        writeln!(out, "- **{k}:** {}", md_text(&v))?;
    }
    if let Some(r) = redaction {
        writeln!(out, "- **Redacted:** {}", md_text(&r.words()))?;
    }
    writeln!(
        out,
        "- **Shown below:** {} of {}; times are seconds since {}",
        scope.len(),
        count(a.exchanges.len(), "exchange"),
        md_text(&utc(t0))
    )?;
    writeln!(out)?;

    writeln!(out, "## Sign-in verdict\n")?;
    if a.signin.is_empty() {
        writeln!(out, "No sign-in attempt found.\n")?;
    } else {
        writeln!(
            out,
            "| Client | User | Flow | Signed in | Furthest stage | Failed stage | Elapsed | Verdict |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|---|---|")?;
        for s in &a.signin {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {:.3} s | {} |",
                cell(&md_text(
                    &s.client.map_or_else(|| "?".into(), |c| c.to_string())
                )),
                cell(&md_text(&signin_who(s))),
                cell(&md_text(&s.flow_label())),
                if s.signed_in { "yes" } else { "**no**" },
                cell(&md_text(s.furthest_stage.as_deref().unwrap_or("none"))),
                cell(&md_text(s.failed_stage.as_deref().unwrap_or("—"))),
                s.ended.secs_since(s.started),
                cell(&md_text(&s.verdict)),
            )?;
        }
        writeln!(out)?;
    }

    writeln!(out, "## Findings\n")?;
    if a.findings.is_empty() {
        writeln!(out, "None.\n")?;
    } else {
        for f in &a.findings {
            let mut refs: Vec<String> = f.exchanges.iter().map(|x| md_ref(*x, &listed)).collect();
            refs.extend(f.dns.iter().map(|d| format!("D{}", d.0)));
            refs.extend(f.connections.iter().map(|c| format!("C{}", c.0)));
            let sev = match f.severity {
                crate::model::FindingSeverity::Fail => "**FAIL**".to_string(),
                s => s.as_str().to_string(),
            };
            write!(
                out,
                "- {sev} {}: {}",
                md_code(&f.check),
                md_text(&f.message)
            )?;
            if refs.is_empty() {
                write!(out, " (about the input as a whole)")?;
            } else {
                write!(out, " (evidence: {})", refs.join(", "))?;
            }
            writeln!(out)?;
        }
        writeln!(out)?;
    }

    if let Some(c) = compare {
        write_comparison(c, out)?;
    }

    let marked = marked_in_order(notes, &scope);
    if !marked.is_empty() {
        writeln!(out, "## Marked exchanges\n")?;
        for (id, _) in &marked {
            let title = a
                .exchanges
                .get(id.0 as usize)
                .map(|x| exchange_title(a, x))
                .unwrap_or_default();
            write!(out, "- ★ {} {}", md_ref(*id, &listed), md_code(&title))?;
            if let Some(c) = notes.comment(*id) {
                write!(out, " — {}", md_text(c))?;
            }
            writeln!(out)?;
        }
        writeln!(out)?;
    }

    write_stage_table(a, &listed, t0, out)?;
    write_connections(a, &listed, out)?;
    write_text_timeline(a, &scope, out)?;

    let diags = diagnostics_by_exchange(a);
    writeln!(out, "## Exchanges\n")?;
    if scope.is_empty() {
        if a.exchanges.is_empty() {
            writeln!(out, "{}\n", md_text(NO_EXCHANGE))?;
        } else {
            writeln!(out, "None selected.\n")?;
        }
    }
    for id in &scope {
        let x = a.exchange(*id);
        write_exchange(a, notes, x, &listed, t0, diags.get(id), out)?;
    }

    let general = general_diagnostics(a);
    if !general.is_empty() {
        writeln!(out, "## Diagnostics\n")?;
        for d in general.iter().take(DIAGNOSTICS_LISTED) {
            let at = diagnostic_place(d);
            writeln!(
                out,
                "- {}{}: {}",
                d.severity.as_str(),
                md_text(&at),
                md_text(&d.message)
            )?;
        }
        if general.len() > DIAGNOSTICS_LISTED {
            writeln!(out, "- … and {} more", general.len() - DIAGNOSTICS_LISTED)?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// The comparison section: both sides, where they part, then one row per stage visit.
fn write_comparison(c: &Comparison, out: &mut dyn Write) -> io::Result<()> {
    use super::compare::{pair_mark, scope_words, side_line, visit_facts, visit_line};
    writeln!(out, "## Comparison by stage\n")?;
    writeln!(out, "- **A:** {}", md_text(&side_line(&c.a)))?;
    writeln!(out, "- **B:** {}", md_text(&side_line(&c.b)))?;
    writeln!(out, "- **Compared:** {}", md_text(&scope_words(c)))?;
    writeln!(out, "- **Result:** {}\n", md_text(&c.headline()))?;
    writeln!(out, "| | Stage | A | B | Differences |")?;
    writeln!(out, "|---|---|---|---|---|")?;
    let side = |v: &Option<crate::presentation::compare::Visit>| match v {
        None => "—".to_string(),
        Some(v) => {
            let mut s = md_text(&visit_line(v));
            for (k, f) in visit_facts(v) {
                s.push_str(&format!("<br>{k}: {}", md_text(&f)));
            }
            s
        }
    };
    for (i, p) in c.pairs.iter().enumerate() {
        let diffs: Vec<String> = p
            .differences
            .iter()
            .map(|d| {
                if d.matters {
                    format!("**{}**", md_text(&d.text))
                } else {
                    md_text(&d.text)
                }
            })
            .collect();
        let b = if p.same() {
            "the same".to_string()
        } else {
            side(&p.b)
        };
        writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            pair_mark(c, i),
            md_code(&p.name()),
            cell(&side(&p.a)),
            cell(&b),
            cell(&diffs.join("<br>")),
        )?;
    }
    writeln!(out)?;
    for (who, list) in [("A", &c.findings_only_a), ("B", &c.findings_only_b)] {
        if !list.is_empty() {
            writeln!(
                out,
                "Findings on {who} only: {}\n",
                md_text(&list.join(", "))
            )?;
        }
    }
    Ok(())
}

/// What a report says in place of its exchanges when the capture holds none.
pub(super) const NO_EXCHANGE: &str = "No HTTP exchange in the capture: the sign-in stopped before \
     any request (see the verdict, the findings and the connections above).";

/// One line per TCP connection or attempt, with its TLS facts below it.
fn write_connections(
    a: &Analysis,
    listed: &HashSet<ExchId>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let rows = connection_rows(a);
    writeln!(out, "## Connections\n")?;
    if rows.is_empty() {
        writeln!(out, "None.\n")?;
        return Ok(());
    }
    for r in &rows {
        write!(out, "- **{}** {}", r.id, md_text(&r.endpoints))?;
        if !r.name.is_empty() {
            write!(out, " ({})", md_code(&r.name))?;
        }
        if !r.stage.is_empty() {
            write!(
                out,
                ", stage {} ({})",
                md_text(&r.stage),
                r.outcome.as_str()
            )?;
        }
        writeln!(out, ": {}; {}", md_text(&r.result), md_text(&r.tls))?;
        for (k, v) in &r.details {
            writeln!(out, "  - **{k}:** {}", md_text(v))?;
        }
        if !r.exchanges.is_empty() {
            let refs: Vec<String> = r
                .exchanges
                .iter()
                .map(|n| md_ref(ExchId(*n), listed))
                .collect();
            writeln!(out, "  - **Exchanges:** {}", refs.join(", "))?;
        }
    }
    writeln!(out)
}

fn write_stage_table(
    a: &Analysis,
    listed: &HashSet<ExchId>,
    t0: Ts,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "## Stages\n")?;
    let rows = stage_rows(a);
    if rows.is_empty() {
        writeln!(out, "No Lync / Skype for Business sign-in traffic found.\n")?;
        return Ok(());
    }
    writeln!(
        out,
        "| # | time | stage | outcome | rule | parent | method | status | host + path |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|")?;
    for r in &rows {
        let key = match r.key {
            // An HTTP/2 step names its stream (`#5 h2 s7`); HTTP/1 rows are as they were.
            RowKey::Exchange(id) => match stream_of(a, id) {
                Some(s) => format!("{} h2 s{s}", md_ref(id, listed)),
                None => md_ref(id, listed),
            },
            k => k.label(),
        };
        let parent = match (r.tag.parent, &r.tag.via) {
            (Some(p), Some(v)) => format!("{} ({})", md_ref(p, listed), md_text(v)),
            (Some(p), None) => md_ref(p, listed),
            _ => String::new(),
        };
        let outcome = if r.tag.outcome == Outcome::Fail {
            "**fail**".to_string()
        } else {
            r.tag.outcome.as_str().to_string()
        };
        writeln!(
            out,
            "| {} | {:.3} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&key),
            r.at.secs_since(t0),
            cell(&md_text(&r.stage())),
            outcome,
            cell(&md_text(&r.rule())),
            cell(&parent),
            cell(&md_text(&r.method)),
            cell(&md_text(&r.status)),
            cell(&md_code(&r.what)),
        )?;
    }
    writeln!(out)
}

/// The swimlanes as text: one line per stage, one character per time slot.
fn write_text_timeline(a: &Analysis, scope: &[ExchId], out: &mut dyn Write) -> io::Result<()> {
    const COLS: usize = 64;
    let lanes = collect_lanes(a, scope);
    if lanes.items.is_empty() {
        return Ok(());
    }
    let spans: Vec<crate::presentation::timeline::Span> =
        lanes.items.iter().map(|i| i.span).collect();
    let axis = crate::presentation::timeline::axis_for(&spans);
    let total = axis.total().max(1.0);
    let col = |t: Ts| ((axis.position(t) / total) * (COLS - 1) as f64).round() as usize;
    let width = lanes
        .lanes
        .iter()
        .map(|(id, _, _)| id.chars().count())
        .max()
        .unwrap_or(0)
        .min(28);
    let mut text = String::new();
    for (id, _, _) in &lanes.lanes {
        let mut line = vec![' '; COLS];
        for it in lanes.items.iter().filter(|i| i.lane == *id) {
            let ch = match (it.outcome, it.key) {
                (Outcome::Fail, _) => 'X',
                (_, Key::Dns(_)) => 'd',
                (_, Key::Connection(_)) => 't',
                (Outcome::Ok, _) => 'o',
                (Outcome::Challenge, _) => 'c',
                (Outcome::Redirect, _) => 'r',
                (Outcome::Noise, _) => '.',
                (Outcome::Unknown, _) => '?',
            };
            let (s, e) = (col(it.span.start), col(it.span.end));
            for c in line
                .iter_mut()
                .take(e.min(COLS - 1) + 1)
                .skip(s.min(COLS - 1))
            {
                // A failure stays visible when other items share the slot.
                if *c != 'X' {
                    *c = ch;
                }
            }
        }
        let name: String = id.chars().take(width).collect();
        let bar: String = line.into_iter().collect();
        text.push_str(&format!("{name:<width$} |{}|\n", bar.trim_end_matches(' ')));
    }
    let mut breaks: Vec<String> = axis
        .breaks()
        .map(|b| human_duration(b.skipped_ns))
        .collect();
    breaks.truncate(10);
    writeln!(out, "## Timeline\n")?;
    md_fence(out, "text", &text)?;
    writeln!(
        out,
        "\nOne column ≈ {} of busy time. o ok, c challenge, r redirect, X fail, . noise, ? unknown, d DNS lookup, t connection without HTTP.{}\n",
        human_duration((axis.total() / COLS as f64) as i64),
        if breaks.is_empty() {
            String::new()
        } else {
            format!(" Idle gaps compressed: {}.", breaks.join(", "))
        }
    )?;
    Ok(())
}

fn write_exchange(
    a: &Analysis,
    notes: &Notes,
    x: &Exchange,
    listed: &HashSet<ExchId>,
    t0: Ts,
    diags: Option<&Vec<&Diagnostic>>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let id = x.id;
    let star = if notes.is_marked(id) { "★ " } else { "" };
    writeln!(
        out,
        "### <a id=\"x{}\"></a>{star}#{} {}\n",
        id.0,
        id.0,
        md_code(&exchange_title(a, x))
    )?;
    if let Some(c) = notes.comment(id) {
        for line in c.lines() {
            writeln!(out, "> **Comment:** {}", md_text(line))?;
        }
        writeln!(out)?;
    }
    for (k, v) in exchange_facts(a, x, t0) {
        writeln!(out, "- **{k}:** {}", md_text(&v))?;
    }
    if let Some(t) = x.stage.as_deref() {
        if let Some(p) = t.parent {
            write!(out, "- **Parent:** {}", md_ref(p, listed))?;
            if let Some(v) = &t.via {
                write!(out, " via {}", md_text(v))?;
            }
            writeln!(out)?;
        }
    }
    if let Some(f) = x.auth.as_deref() {
        for l in auth_lines(f) {
            writeln!(out, "- **Auth:** {}", md_text(&l))?;
        }
    }
    for d in diags.into_iter().flatten() {
        writeln!(
            out,
            "- **Diagnostic ({}):** {}",
            d.severity.as_str(),
            md_text(&d.message)
        )?;
    }
    writeln!(out)?;
    if let Some(r) = &x.request {
        writeln!(out, "**Request**\n")?;
        md_fence(out, "http", &request_head(r))?;
        write_body(out, "Request body", &r.headers, &r.body)?;
    } else {
        writeln!(out, "*The request is not in the capture.*\n")?;
    }
    if let Some(r) = &x.response {
        writeln!(out, "**Response**\n")?;
        md_fence(out, "http", &response_head(r))?;
        write_body(out, "Response body", &r.headers, &r.body)?;
    } else {
        writeln!(out, "*No response in the capture.*\n")?;
    }
    Ok(())
}

fn write_body(out: &mut dyn Write, what: &str, headers: &Headers, body: &Body) -> io::Result<()> {
    let v = body_view(headers, body);
    if v.text.is_none() && v.notes.is_empty() {
        writeln!(out)?;
        return Ok(());
    }
    let mut line = format!("{what} ({}, {} bytes)", v.kind.as_str(), v.length);
    if !v.notes.is_empty() {
        line.push_str(": ");
        line.push_str(&v.notes.join("; "));
    }
    writeln!(out, "\n{}\n", md_text(&line))?;
    if let Some(t) = v.text.filter(|t| !t.is_empty()) {
        md_fence(out, lang_of(v.kind), &t)?;
        writeln!(out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_utc() {
        // 2015-06-29 14:00:00 UTC (scenario A's time base).
        assert_eq!(
            utc(Ts::from_secs_nanos(1_435_586_400, 5_000_000)),
            "2015-06-29 14:00:00.005 UTC"
        );
        assert_eq!(utc(Ts(0)), "1970-01-01 00:00:00.000 UTC");
        assert_eq!(
            utc(Ts::from_secs_nanos(951_782_400, 0)),
            "2000-02-29 00:00:00.000 UTC"
        );
    }

    #[test]
    fn markdown_escapes() {
        assert_eq!(md_text("a|b <x> *y*"), "a\\|b \\<x\\> \\*y\\*");
        assert_eq!(md_code("a`b"), "``a`b``");
        assert_eq!(md_code("`a"), "`` `a ``");
        assert_eq!(cell("`a|b`"), "`a\\|b`");
        let mut v = Vec::new();
        md_fence(&mut v, "text", "x ```` y").unwrap();
        let s = String::from_utf8(v).unwrap();
        assert!(s.starts_with("`````text\n"), "{s}");
        assert!(s.ends_with("\n`````\n"));
    }
}
