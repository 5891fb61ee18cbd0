//! The self-contained HTML report: one file, inline CSS and SVG, no scripts, no external
//! resources (a Content-Security-Policy forbids them, so a body that slipped through unescaped
//! still could not run or fetch anything). Same content as the Markdown report, plus the
//! swimlanes and waterfall pictures.

use super::svg::{outcome_color, swimlanes_svg, waterfall_svg, xml_escape as esc};
use crate::datetime::utc_label as utc;
use crate::model::{
    Analysis, Body, Diagnostic, ExchId, Exchange, FindingSeverity, Headers, Notes, Ts,
};
use crate::presentation::auth_words::auth_lines;
use crate::presentation::body::body_view;
use crate::presentation::connections::{connection_rows, count};
use crate::presentation::facts::{
    diagnostic_place, diagnostics_by_exchange, exchange_facts, exchange_title, general_diagnostics,
    input_line, marked_in_order, signin_who, stream_of, summary, DIAGNOSTICS_LISTED,
};
use crate::presentation::stage_rows::{stage_rows, RowKey, StageRow};
use crate::presentation::wire::{
    request_head_text as request_head, response_head_text as response_head,
};
use std::collections::HashSet;
use std::io::{self, Write};

const CSS: &str = r#"
:root { color-scheme: light; }
body { font: 14px/1.45 "DejaVu Sans", Arial, sans-serif; color: #1d2125; background: #fff; margin: 0 auto; padding: 16px 24px 48px; max-width: 1280px; }
h1 { font-size: 22px; margin: 0 0 6px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 2px solid #d8dde3; padding-bottom: 3px; }
h3 { font-size: 15px; margin: 0 0 6px; }
code, pre, .mono { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 12.5px; }
pre { background: #f4f6f8; border: 1px solid #dde2e7; padding: 8px 10px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; margin: 4px 0 8px; }
table { border-collapse: collapse; margin: 6px 0 10px; }
th, td { border: 1px solid #d5dae0; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #eef1f4; }
table.stages { width: 100%; font-size: 13px; }
table.stages td.what { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 12px; overflow-wrap: anywhere; min-width: 380px; }
table.stages td.rule, table.stages td.parent { font-size: 12px; max-width: 260px; }
table.stages td.nowrap { white-space: nowrap; }
table { max-width: 100%; }
td.id, td.id code { white-space: nowrap; }
td.refs { overflow-wrap: anywhere; max-width: 220px; }
table.findings td, table.connections td { overflow-wrap: anywhere; }
table.connections { width: 100%; font-size: 13px; }
.sev-fail, .fail { color: #b3261e; font-weight: bold; }
.sev-warning { color: #a15c00; font-weight: bold; }
.sev-info { color: #36618e; }
.ok { color: #1e7b35; }
.verdict { padding: 8px 12px; border-left: 5px solid #999; background: #f7f7f7; margin: 6px 0; }
.verdict.good { border-color: #2e9d4a; background: #eef8f0; }
.verdict.bad { border-color: #d33c2e; background: #fcefee; }
.exchange { border: 1px solid #d5dae0; border-radius: 6px; padding: 10px 14px; margin: 14px 0; }
.exchange.marked { border-color: #d4a017; box-shadow: 0 0 0 2px #f5d76e inset; }
.exchange:target { outline: 3px solid #3b64d8; }
.comment { background: #fff8d6; border-left: 4px solid #d4a017; padding: 4px 10px; margin: 6px 0; white-space: pre-wrap; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 6px 0; }
.facts dt { font-weight: bold; color: #444; }
.facts dd { margin: 0; word-break: break-word; }
details { margin: 4px 0; }
summary { cursor: pointer; color: #36618e; }
.note { color: #6b5200; }
.star { color: #d4a017; }
svg { max-width: 100%; height: auto; display: block; margin: 8px 0; border: 1px solid #e2e6ea; }
.badge { display: inline-block; border-radius: 3px; padding: 0 5px; color: #fff; font-size: 12px; }
"#;

fn link(id: ExchId, listed: &HashSet<ExchId>) -> String {
    if listed.contains(&id) {
        format!("<a href=\"#x{}\">#{}</a>", id.0, id.0)
    } else {
        format!("#{}", id.0)
    }
}

/// Writes the HTML report. `scope` lists the exchanges to show in detail, in that order; the
/// verdict, findings and stage table cover the whole analysis.
pub fn write_html(
    a: &Analysis,
    notes: &Notes,
    scope: &[ExchId],
    out: &mut dyn Write,
) -> io::Result<()> {
    write_html_compared(a, notes, scope, None, None, out)
}

/// [`write_html`] of an analysis [`super::redact::redact`] gave (the summary says what
/// was replaced), with a section comparing the sign-in, stage by stage, with another
/// one (`report A --compare-with B`), after the findings.
pub fn write_html_compared(
    a: &Analysis,
    notes: &Notes,
    scope: &[ExchId],
    redaction: Option<&super::redact::RedactionSummary>,
    compare: Option<&crate::presentation::compare::Comparison>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let super::markdown::Listing {
        scope,
        listed,
        t0,
        names,
    } = super::markdown::Listing::new(a, scope);
    let title = if names.is_empty() {
        "lyncscope report".to_string()
    } else {
        format!("lyncscope report: {}", names.join(", "))
    };

    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"generator\" content=\"lyncscope {}\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        env!("CARGO_PKG_VERSION"),
        esc(&title)
    )?;
    writeln!(out, "<h1>{}</h1>", esc(&title))?;
    if !a.inputs.is_empty() {
        writeln!(out, "<ul class=\"inputs\">")?;
        for i in &a.inputs {
            writeln!(out, "<li class=\"mono\">{}</li>", esc(&input_line(i)))?;
        }
        writeln!(out, "</ul>")?;
    }

    let rows = stage_rows(a);
    // DNS lookups and bare connections have a row (an anchor) in the stage table.
    let row_anchors: HashSet<String> = rows
        .iter()
        .filter(|r| !matches!(r.key, RowKey::Exchange(_)))
        .map(|r| r.key.label().to_ascii_lowercase())
        .collect();
    // The verdict first: it is what the reader came for; the counts follow it.
    write_verdict(a, out)?;
    writeln!(out, "<h2 id=\"summary\">Summary</h2>\n<dl class=\"facts\">")?;
    for (k, v) in summary(a) {
        writeln!(out, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v))?;
    }
    if let Some(r) = redaction {
        writeln!(out, "<dt>Redacted</dt><dd>{}</dd>", esc(&r.words()))?;
    }
    writeln!(
        out,
        "<dt>Shown below</dt><dd>{} of {}; times are seconds since {}</dd>\n</dl>",
        scope.len(),
        count(a.exchanges.len(), "exchange"),
        esc(&utc(t0))
    )?;

    write_findings(a, &listed, &row_anchors, out)?;
    if let Some(c) = compare {
        write_comparison(c, out)?;
    }
    write_marked(a, notes, &scope, &listed, out)?;
    write_stage_table(a, &rows, &listed, t0, out)?;
    write_connections(a, &listed, out)?;

    writeln!(out, "<h2 id=\"timeline\">Timeline</h2>")?;
    out.write_all(swimlanes_svg(a, &scope).as_bytes())?;
    out.write_all(waterfall_svg(a, &scope, notes).as_bytes())?;

    let diags = diagnostics_by_exchange(a);
    writeln!(out, "<h2 id=\"exchanges\">Exchanges</h2>")?;
    if scope.is_empty() {
        if a.exchanges.is_empty() {
            writeln!(out, "<p>{}</p>", esc(super::markdown::NO_EXCHANGE))?;
        } else {
            writeln!(out, "<p>None selected.</p>")?;
        }
    }
    for id in &scope {
        write_exchange(a, notes, a.exchange(*id), &listed, t0, diags.get(id), out)?;
    }

    let general = general_diagnostics(a);
    if !general.is_empty() {
        writeln!(out, "<h2 id=\"diagnostics\">Diagnostics</h2>\n<ul>")?;
        for d in general.iter().take(DIAGNOSTICS_LISTED) {
            let at = diagnostic_place(d);
            writeln!(
                out,
                "<li><span class=\"sev-{}\">{}</span>{}: {}</li>",
                d.severity.as_str(),
                d.severity.as_str(),
                esc(&at),
                esc(&d.message)
            )?;
        }
        if general.len() > DIAGNOSTICS_LISTED {
            writeln!(
                out,
                "<li>… and {} more</li>",
                general.len() - DIAGNOSTICS_LISTED
            )?;
        }
        writeln!(out, "</ul>")?;
    }
    writeln!(
        out,
        "<p class=\"note\">Generated by lyncscope {}.</p>\n</body>\n</html>",
        env!("CARGO_PKG_VERSION")
    )
}

fn write_verdict(a: &Analysis, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "<h2 id=\"verdict\">Sign-in verdict</h2>")?;
    if a.signin.is_empty() {
        return writeln!(out, "<p>No sign-in attempt found.</p>");
    }
    for s in &a.signin {
        let class = if s.signed_in {
            "good"
        } else if s.failed_stage.is_some() {
            "bad"
        } else {
            ""
        };
        writeln!(
            out,
            "<div class=\"verdict {class}\"><strong>{}</strong> from {}{}: {}<br>\
furthest stage: <code>{}</code> · failed stage: <code class=\"{}\">{}</code>{} · elapsed: {:.3} s · signed in: {}</div>",
            esc(&signin_who(s)),
            esc(&s.client.map_or_else(|| "client ?".into(), |c| c.to_string())),
            esc(&format!(" ({})", s.flow_label())),
            esc(&s.verdict),
            esc(s.furthest_stage.as_deref().unwrap_or("none")),
            if s.failed_stage.is_some() { "fail" } else { "" },
            esc(s.failed_stage.as_deref().unwrap_or("—")),
            esc(&failed_detail(s)),
            s.ended.secs_since(s.started),
            if s.signed_in { "yes" } else { "no" },
        )?;
    }
    Ok(())
}

/// " for ad-root-https (C2, lyncdiscover.contoso.com)" after the failed stage.
fn failed_detail(s: &crate::model::SigninSummary) -> String {
    match (s.failed_label(), &s.failed_stage) {
        (Some(label), Some(stage)) => label.strip_prefix(stage.as_str()).unwrap_or("").to_string(),
        _ => String::new(),
    }
}

/// "D3" / "C2", linked to its stage-table row when it has one.
fn row_link(label: String, anchors: &HashSet<String>) -> String {
    let id = label.to_ascii_lowercase();
    if anchors.contains(&id) {
        format!("<a href=\"#{id}\">{label}</a>")
    } else {
        label
    }
}

fn write_findings(
    a: &Analysis,
    listed: &HashSet<ExchId>,
    anchors: &HashSet<String>,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "<h2 id=\"findings\">Findings</h2>")?;
    if a.findings.is_empty() {
        return writeln!(out, "<p>None.</p>");
    }
    writeln!(
        out,
        "<table class=\"findings\"><tr><th>severity</th><th>check</th><th>what was seen</th><th>evidence</th></tr>"
    )?;
    for f in &a.findings {
        let mut refs: Vec<String> = f.exchanges.iter().map(|x| link(*x, listed)).collect();
        refs.extend(f.dns.iter().map(|d| row_link(format!("D{}", d.0), anchors)));
        refs.extend(
            f.connections
                .iter()
                .map(|c| row_link(format!("C{}", c.0), anchors)),
        );
        let sev = f.severity.as_str();
        writeln!(
            out,
            "<tr class=\"finding\" data-check=\"{}\"><td class=\"sev-{sev}\">{}</td><td class=\"id\"><code>{}</code></td><td>{}</td><td class=\"refs\">{}</td></tr>",
            esc(&f.check),
            if f.severity == FindingSeverity::Fail { "FAIL" } else { sev },
            esc(&f.check),
            esc(&f.message),
            if refs.is_empty() {
                "the input as a whole".to_string()
            } else {
                refs.join(", ")
            }
        )?;
    }
    writeln!(out, "</table>")
}

/// The comparison section: both sides, where they part, then one row per stage visit.
fn write_comparison(
    c: &crate::presentation::compare::Comparison,
    out: &mut dyn Write,
) -> io::Result<()> {
    use super::compare::{pair_mark, scope_words, side_line, visit_facts, visit_line};
    writeln!(
        out,
        "<h2 id=\"comparison\">Comparison by stage</h2>\n<dl class=\"facts\">"
    )?;
    for (k, v) in [
        ("A", side_line(&c.a)),
        ("B", side_line(&c.b)),
        ("Compared", scope_words(c)),
        ("Result", c.headline()),
    ] {
        writeln!(out, "<dt>{k}</dt><dd>{}</dd>", esc(&v))?;
    }
    writeln!(out, "</dl>")?;
    writeln!(
        out,
        "<table class=\"comparison\"><tr><th></th><th>stage</th><th>A</th><th>B</th><th>differences</th></tr>"
    )?;
    let side = |v: &Option<crate::presentation::compare::Visit>| match v {
        None => "—".to_string(),
        Some(v) => {
            let mut s = format!("<span class=\"mono\">{}</span>", esc(&visit_line(v)));
            for (k, f) in visit_facts(v) {
                s.push_str(&format!("<br><small><b>{k}:</b> {}</small>", esc(&f)));
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
                    format!("<span class=\"sev-fail\">{}</span>", esc(&d.text))
                } else {
                    esc(&d.text)
                }
            })
            .collect();
        let b = if p.same() {
            "the same".to_string()
        } else {
            side(&p.b)
        };
        let class = if c.parting == Some(i) {
            " class=\"parting\" style=\"background:#fdecea\""
        } else {
            ""
        };
        writeln!(
            out,
            "<tr{class} data-stage=\"{}\"><td>{}</td><td class=\"nowrap\"><code>{}</code></td><td>{}</td><td>{b}</td><td>{}</td></tr>",
            esc(&p.stage),
            pair_mark(c, i),
            esc(&p.name()),
            side(&p.a),
            diffs.join("<br>"),
        )?;
    }
    writeln!(out, "</table>")?;
    for (who, list) in [("A", &c.findings_only_a), ("B", &c.findings_only_b)] {
        if !list.is_empty() {
            writeln!(
                out,
                "<p>Findings on {who} only: {}</p>",
                esc(&list.join(", "))
            )?;
        }
    }
    Ok(())
}

fn write_marked(
    a: &Analysis,
    notes: &Notes,
    scope: &[ExchId],
    listed: &HashSet<ExchId>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let marked = marked_in_order(notes, scope);
    if marked.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<h2 id=\"marked\">Marked exchanges</h2>\n<ul class=\"marked\">"
    )?;
    for (id, _) in marked {
        let title = a
            .exchanges
            .get(id.0 as usize)
            .map(|x| exchange_title(a, x))
            .unwrap_or_default();
        write!(
            out,
            "<li><span class=\"star\">★</span> {} <code>{}</code>",
            link(id, listed),
            esc(&title)
        )?;
        if let Some(c) = notes.comment(id) {
            write!(out, " — <span class=\"comment-inline\">{}</span>", esc(c))?;
        }
        writeln!(out, "</li>")?;
    }
    writeln!(out, "</ul>")
}

/// The Connections table: one row per TCP connection or attempt.
fn write_connections(
    a: &Analysis,
    listed: &HashSet<ExchId>,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "<h2 id=\"connections\">Connections</h2>")?;
    let rows = connection_rows(a);
    if rows.is_empty() {
        return writeln!(out, "<p>None.</p>");
    }
    writeln!(
        out,
        "<table class=\"connections\"><tr><th>#</th><th>endpoints</th><th>name</th><th>stage</th><th>outcome</th><th>TLS</th><th>exchanges</th></tr>"
    )?;
    for r in &rows {
        let mut result = esc(&r.result);
        for (k, v) in &r.details {
            result.push_str(&format!("<br><small><b>{}:</b> {}</small>", esc(k), esc(v)));
        }
        let refs: Vec<String> = r
            .exchanges
            .iter()
            .map(|n| link(ExchId(*n), listed))
            .collect();
        writeln!(
            out,
            "<tr id=\"conn-{}\"><td class=\"id\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"id\">{}</td><td>{}</td><td>{}</td><td class=\"refs\">{}</td></tr>",
            esc(&r.id.to_ascii_lowercase()),
            esc(&r.id),
            esc(&r.endpoints),
            esc(&r.name),
            esc(&r.stage),
            result,
            esc(&r.tls),
            refs.join(", ")
        )?;
    }
    writeln!(out, "</table>")
}

fn write_stage_table(
    a: &Analysis,
    rows: &[StageRow],
    listed: &HashSet<ExchId>,
    t0: Ts,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "<h2 id=\"stages\">Stages</h2>")?;
    if rows.is_empty() {
        return writeln!(
            out,
            "<p>No Lync / Skype for Business sign-in traffic found.</p>"
        );
    }
    writeln!(
        out,
        "<table class=\"stages\"><tr><th>#</th><th>time</th><th>stage</th><th>outcome</th><th>rule</th><th>parent</th><th>method</th><th>status</th><th>host + path</th></tr>"
    )?;
    for r in rows {
        let (key, row_id) = match r.key {
            // An HTTP/2 step names its stream (`#5 h2 s7`); HTTP/1 rows are as they were.
            RowKey::Exchange(id) => match stream_of(a, id) {
                Some(s) => (
                    format!("{} <small>h2 s{s}</small>", link(id, listed)),
                    String::new(),
                ),
                None => (link(id, listed), String::new()),
            },
            k => (
                esc(&k.label()),
                format!(" id=\"{}\"", k.label().to_ascii_lowercase()),
            ),
        };
        let parent = match (r.tag.parent, &r.tag.via) {
            (Some(p), Some(v)) => format!("{} <small>({})</small>", link(p, listed), esc(v)),
            (Some(p), None) => link(p, listed),
            _ => String::new(),
        };
        writeln!(
            out,
            "<tr{row_id}><td class=\"nowrap\">{key}</td><td>{:.3}</td><td class=\"nowrap\">{}</td><td><span class=\"badge\" style=\"background:{}\">{}</span></td><td class=\"rule\">{}</td><td class=\"parent\">{parent}</td><td>{}</td><td>{}</td><td class=\"what\">{}</td></tr>",
            r.at.secs_since(t0),
            esc(&r.stage()),
            outcome_color(r.tag.outcome),
            r.tag.outcome.as_str(),
            esc(&r.rule()),
            esc(&r.method),
            esc(&r.status),
            esc(&r.what),
        )?;
    }
    writeln!(out, "</table>")
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
    let marked = notes.is_marked(id);
    writeln!(
        out,
        "<section class=\"exchange{}\" id=\"x{}\">",
        if marked { " marked" } else { "" },
        id.0
    )?;
    writeln!(
        out,
        "<h3>{}#{} <code>{}</code></h3>",
        if marked {
            "<span class=\"star\" title=\"marked\">★</span> "
        } else {
            ""
        },
        id.0,
        esc(&exchange_title(a, x))
    )?;
    if let Some(c) = notes.comment(id) {
        writeln!(out, "<div class=\"comment\">{}</div>", esc(c))?;
    }
    writeln!(out, "<dl class=\"facts\">")?;
    for (k, v) in exchange_facts(a, x, t0) {
        writeln!(out, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v))?;
    }
    if let Some(t) = x.stage.as_deref() {
        if let Some(p) = t.parent {
            write!(out, "<dt>Parent</dt><dd>{}", link(p, listed))?;
            if let Some(v) = &t.via {
                write!(out, " via {}", esc(v))?;
            }
            writeln!(out, "</dd>")?;
        }
    }
    if let Some(f) = x.auth.as_deref() {
        for l in auth_lines(f) {
            writeln!(out, "<dt>Auth</dt><dd>{}</dd>", esc(&l))?;
        }
    }
    for d in diags.into_iter().flatten() {
        writeln!(
            out,
            "<dt>Diagnostic</dt><dd><span class=\"sev-{}\">{}</span>: {}</dd>",
            d.severity.as_str(),
            d.severity.as_str(),
            esc(&d.message)
        )?;
    }
    writeln!(out, "</dl>")?;
    match &x.request {
        Some(r) => {
            writeln!(out, "<div class=\"req\"><strong>Request</strong>")?;
            writeln!(out, "<pre class=\"head\">{}</pre>", esc(&request_head(r)))?;
            write_body(out, "request body", &r.headers, &r.body)?;
            writeln!(out, "</div>")?;
        }
        None => writeln!(out, "<p><em>The request is not in the capture.</em></p>")?,
    }
    match &x.response {
        Some(r) => {
            writeln!(out, "<div class=\"resp\"><strong>Response</strong>")?;
            writeln!(out, "<pre class=\"head\">{}</pre>", esc(&response_head(r)))?;
            write_body(out, "response body", &r.headers, &r.body)?;
            writeln!(out, "</div>")?;
        }
        None => writeln!(out, "<p><em>No response in the capture.</em></p>")?,
    }
    writeln!(out, "</section>")
}

fn write_body(out: &mut dyn Write, what: &str, headers: &Headers, body: &Body) -> io::Result<()> {
    let v = body_view(headers, body);
    if v.text.is_none() && v.notes.is_empty() {
        return Ok(());
    }
    let mut label = format!("{what} ({}, {} bytes)", v.kind.as_str(), v.length);
    if !v.notes.is_empty() {
        label.push_str(": ");
        label.push_str(&v.notes.join("; "));
    }
    match v.text.filter(|t| !t.is_empty()) {
        Some(t) => writeln!(
            out,
            "<details><summary>{}</summary><pre class=\"body\">{}</pre></details>",
            esc(&label),
            esc(&t)
        ),
        None => writeln!(out, "<p class=\"note\">{}</p>", esc(&label)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CaptureState, ConnId, Request, Scheme};

    #[test]
    fn hostile_text_is_escaped() {
        let body = b"<script>alert(1)</script>".to_vec();
        let x = Exchange {
            id: ExchId(0),
            connection: ConnId(0),
            scheme: Scheme::Http,
            http_version: crate::model::HttpVersion::Http1,
            stream: None,
            capture: CaptureState::NoResponse,
            request: Some(Box::new(Request {
                method: "POST".into(),
                target: "/<img src=x onerror=alert(2)>".into(),
                version: "HTTP/1.1".into(),
                headers: Headers::from_pairs([
                    ("Host", "h\"><script>"),
                    ("Content-Type", "text/html"),
                ]),
                body: Body {
                    wire_length: body.len() as u64,
                    complete: true,
                    content: crate::model::BodyContent {
                        kept: Some(body.into()),
                        ..Default::default()
                    }
                    .shared(),
                    ..Default::default()
                },
            })),
            response: None,
            timing: Default::default(),
            upgrade: None,
            annotations: None,
            stage: None,
            auth: None,
            tunnel: None,
        };
        let a = Analysis {
            exchanges: vec![x],
            ..Default::default()
        };
        let mut notes = Notes::default();
        notes.set_comment(ExchId(0), Some("<b>bold</b>".into()));
        notes.set_mark(ExchId(0), true);
        let mut v = Vec::new();
        write_html(&a, &notes, &[ExchId(0)], &mut v).unwrap();
        let s = String::from_utf8(v).unwrap();
        assert!(!s.contains("<script"), "{s}");
        assert!(!s.contains("<img"));
        assert!(!s.contains("<b>bold"));
        assert!(s.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(s.contains("&lt;b&gt;bold&lt;/b&gt;"));
        assert!(s.contains("id=\"x0\""));
    }
}
