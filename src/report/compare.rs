//! `lyncscope compare A B`: the comparison of two sign-ins by stage
//! ([`crate::presentation::compare`]) as text, or as JSON of the schema
//! `lyncscope/compare-1` (docs/report-schema.md, "Comparison").

use crate::presentation::compare::{Comparison, Difference, Pair, Side, Visit};
use serde_json::{json, Value};
use std::io::{self, Write};

pub const SCHEMA: &str = "lyncscope/compare-1";

/// What was compared, in words: both packet captures, or only HTTP because one side is a
/// trace archive.
pub fn scope_words(c: &Comparison) -> String {
    if c.network {
        "DNS lookups, connections, addresses, certificates and HTTP (both sides are packet captures)"
            .into()
    } else {
        let which = match (c.a.network, c.b.network) {
            (false, false) => "both sides are trace archives",
            (false, true) => "A is a trace archive",
            _ => "B is a trace archive",
        };
        format!(
            "HTTP exchanges only ({which}: no DNS, no connection without HTTP, no TLS handshake, addresses are the proxy's)"
        )
    }
}

/// A side in one line: its inputs and its verdict.
pub fn side_line(s: &Side) -> String {
    let verdict = if s.verdicts.is_empty() {
        "no sign-in attempt found".to_string()
    } else {
        s.verdicts.join(" | ")
    };
    format!("{}: {verdict}", s.inputs.join(", "))
}

/// The first line of a visit: when, how long, the requests, the statuses, the outcome.
pub fn visit_line(v: &Visit) -> String {
    format!(
        "+{:.3} s ({:.3} s)  {} → {}  [{}]",
        v.at,
        v.duration,
        v.requests.join(", "),
        v.statuses.join(", "),
        v.outcome.as_str()
    )
}

/// The facts of a visit beyond its requests: hosts, addresses, DNS answers, authentication,
/// challenges, certificates, findings (those it has).
pub fn visit_facts(v: &Visit) -> Vec<(&'static str, String)> {
    [
        ("host", &v.hosts),
        ("address", &v.addresses),
        ("DNS", &v.dns),
        ("auth", &v.auth),
        ("challenge", &v.challenges),
        ("certificate", &v.certificates),
        ("findings", &v.findings),
    ]
    .into_iter()
    .filter(|(_, l)| !l.is_empty())
    .map(|(k, l)| (k, l.join(", ")))
    .collect()
}

/// "=" same, "≠" different, "▶" where they part.
pub fn pair_mark(c: &Comparison, i: usize) -> &'static str {
    if c.parting == Some(i) {
        "▶"
    } else if c.pairs[i].differences.is_empty() {
        "="
    } else {
        "≠"
    }
}

/// Writes the comparison as text.
pub fn write_text(c: &Comparison, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "Comparing two sign-ins by stage")?;
    writeln!(out, "  A  {}", side_line(&c.a))?;
    writeln!(out, "  B  {}", side_line(&c.b))?;
    writeln!(out, "  compared: {}", scope_words(c))?;
    writeln!(out)?;
    writeln!(out, "Result: {}", c.headline())?;
    writeln!(out)?;
    writeln!(
        out,
        "Stage by stage (= the same, ≠ differs, ▶ the first stage where they part)"
    )?;
    for (i, p) in c.pairs.iter().enumerate() {
        write_pair(c, i, p, out)?;
    }
    if !c.findings_only_a.is_empty() || !c.findings_only_b.is_empty() {
        writeln!(out)?;
        writeln!(out, "Findings on one side only")?;
        for f in &c.findings_only_a {
            writeln!(out, "  A only: {f}")?;
        }
        for f in &c.findings_only_b {
            writeln!(out, "  B only: {f}")?;
        }
    }
    Ok(())
}

fn write_pair(c: &Comparison, i: usize, p: &Pair, out: &mut dyn Write) -> io::Result<()> {
    let here = if c.parting == Some(i) {
        "   ◀ they part here"
    } else {
        ""
    };
    writeln!(out, "{} {}{here}", pair_mark(c, i), p.name())?;
    let write_visit = |who: &str, v: &Option<Visit>, out: &mut dyn Write| -> io::Result<()> {
        match v {
            None => writeln!(out, "    {who}  (not in this side's flow)"),
            Some(v) => {
                writeln!(out, "    {who}  {}", visit_line(v))?;
                let facts: Vec<String> = visit_facts(v)
                    .into_iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect();
                if !facts.is_empty() {
                    writeln!(out, "       {}", facts.join(" · "))?;
                }
                Ok(())
            }
        }
    };
    write_visit("A", &p.a, out)?;
    if p.differences.is_empty() {
        if let Some(b) = &p.b {
            writeln!(out, "    B  the same (+{:.3} s, {:.3} s)", b.at, b.duration)?;
        }
    } else {
        write_visit("B", &p.b, out)?;
        for d in &p.differences {
            writeln!(out, "    {} {}", if d.matters { "!" } else { "·" }, d.text)?;
        }
    }
    Ok(())
}

fn side_json(s: &Side) -> Value {
    json!({
        "inputs": s.inputs,
        "packet_capture": s.network,
        "verdicts": s.verdicts,
        "furthest_stage": s.furthest_stage,
        "failed_stage": s.failed_stage,
        "signed_in": s.signed_in,
    })
}

fn visit_json(v: &Option<Visit>) -> Value {
    let Some(v) = v else { return Value::Null };
    json!({
        "steps": v.steps,
        "requests": v.requests,
        "statuses": v.statuses,
        "hosts": v.hosts,
        "addresses": v.addresses,
        "dns": v.dns,
        "auth": v.auth,
        "challenges": v.challenges,
        "certificates": v.certificates,
        "findings": v.findings,
        "outcome": v.outcome.as_str(),
        "at": v.at,
        "duration": v.duration,
    })
}

fn difference_json(d: &Difference) -> Value {
    json!({ "kind": d.kind, "matters": d.matters, "text": d.text })
}

/// The comparison as a JSON value (schema `lyncscope/compare-1`).
pub fn to_json(c: &Comparison) -> Value {
    let pairs: Vec<Value> = c
        .pairs
        .iter()
        .map(|p| {
            json!({
                "stage": p.stage,
                "label": p.label,
                "occurrence": p.occurrence,
                "same": p.differences.is_empty(),
                "a": visit_json(&p.a),
                "b": visit_json(&p.b),
                "differences": p.differences.iter().map(difference_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    let parting = c.parting_pair().map(|p| {
        json!({
            "stage": p.stage,
            "occurrence": p.occurrence,
            "differences": p.differences.iter().filter(|d| d.matters).map(difference_json).collect::<Vec<_>>(),
        })
    });
    json!({
        "schema": SCHEMA,
        "a": side_json(&c.a),
        "b": side_json(&c.b),
        "packet_level": c.network,
        "headline": c.headline(),
        "parting": parting,
        "differences": c.difference_count(),
        "stages": pairs,
        "findings_only_a": c.findings_only_a,
        "findings_only_b": c.findings_only_b,
    })
}

/// Writes the comparison as JSON, compact or indented.
pub fn write_json(c: &Comparison, pretty: bool, out: &mut dyn Write) -> io::Result<()> {
    let v = to_json(c);
    if pretty {
        serde_json::to_writer_pretty(&mut *out, &v)?;
    } else {
        serde_json::to_writer(&mut *out, &v)?;
    }
    writeln!(out)
}
