//! `lyncscope stages`: the stage table, the sign-in verdict per client and the findings, as
//! text for a terminal or a ticket.

use crate::model::{rcode_name, rtype_name, Analysis, StageTag, Ts};
use std::io::{self, Write};

struct Row {
    at: Ts,
    key: String,
    kind: &'static str,
    what: String,
    tag: StageTag,
}

fn rows(a: &Analysis, all: bool) -> Vec<Row> {
    let mut rows = Vec::new();
    for l in &a.dns {
        let Some(tag) = l.stage.clone() else { continue };
        let at = l.first().map(|x| x.ts).unwrap_or_default();
        let qtype = rtype_name(l.qtype).map_or_else(|| format!("TYPE{}", l.qtype), str::to_string);
        let answer = match &l.response {
            None => "no answer".to_string(),
            Some(r) if r.rcode != 0 => rcode_name(r.rcode).to_string(),
            Some(_) => {
                let mut parts: Vec<String> = l.cnames().map(|c| format!("CNAME {c}")).collect();
                parts.extend(l.addresses().map(|ip| ip.to_string()));
                if parts.is_empty() {
                    "NOERROR, no answer".into()
                } else {
                    parts.join(", ")
                }
            }
        };
        rows.push(Row {
            at,
            key: format!("D{}", l.id.0),
            kind: "DNS",
            what: format!("{qtype} {} → {answer}", l.qname),
            tag,
        });
    }
    for e in &a.exchanges {
        let Some(tag) = e.stage.clone() else { continue };
        let at = e.timing.first().map(|x| x.ts).unwrap_or_default();
        let what = match (&e.request, &e.response) {
            (Some(r), resp) => {
                let url = a.request_url(e).map_or(r.target.clone(), |v| v.url);
                let status = resp
                    .as_ref()
                    .map_or("—".to_string(), |s| s.status.to_string());
                format!("{} {url} → {status}", r.method)
            }
            (None, Some(s)) => format!("(response only) {}", s.status),
            (None, None) => String::new(),
        };
        rows.push(Row {
            at,
            key: format!("#{}", e.id.0),
            kind: "HTTP",
            what,
            tag: *tag,
        });
    }
    for c in &a.connections {
        let Some(tag) = c.stage.clone() else { continue };
        let sni = c
            .tls
            .as_ref()
            .and_then(|t| t.sni.as_deref())
            .map(|s| format!(" (SNI {s})"))
            .unwrap_or_default();
        rows.push(Row {
            at: c.first_seen,
            key: format!("C{}", c.id.0),
            kind: "TCP",
            what: format!("{} → {}{sni}", c.client, c.server),
            tag,
        });
    }
    rows.retain(|r| all || r.tag.id != crate::stage::classify::UNRELATED);
    rows.sort_by_key(|r| r.at);
    rows
}

pub fn write<W: Write>(a: &Analysis, all: bool, out: &mut W) -> io::Result<()> {
    let rows = rows(a, all);
    let t0 = rows.first().map(|r| r.at).unwrap_or_default();
    writeln!(out, "Discovery stages")?;
    if rows.is_empty() {
        writeln!(
            out,
            "  (no Lync / Skype for Business sign-in traffic found)"
        )?;
    }
    for r in &rows {
        let parent = match (r.tag.parent, &r.tag.via) {
            (Some(p), Some(v)) => format!("  ← #{} ({v})", p.0),
            (Some(p), None) => format!("  ← #{}", p.0),
            _ => String::new(),
        };
        let sub = r
            .tag
            .subkind
            .as_deref()
            .filter(|_| r.kind != "TCP")
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        writeln!(
            out,
            "{:>9.3}  {:<5} {:<4} {:<22} {:<9} {}{parent}",
            r.at.secs_since(t0),
            r.key,
            r.kind,
            format!("{}{sub}", r.tag.id),
            r.tag.outcome.as_str(),
            r.what,
        )?;
        let mut why = format!("rule {}", r.tag.rule);
        if let Some(n) = &r.tag.note {
            why.push_str(": ");
            why.push_str(n);
        }
        writeln!(out, "{:>9}  {why}", "")?;
    }
    writeln!(out)?;
    writeln!(out, "Sign-in")?;
    if a.signin.is_empty() {
        writeln!(out, "  no sign-in attempt found")?;
    }
    for s in &a.signin {
        let who = s
            .sip_uri
            .clone()
            .or_else(|| s.user.clone())
            .unwrap_or_else(|| "unknown user".into());
        let client = s
            .client
            .map_or_else(|| "client ?".into(), |c| c.to_string());
        writeln!(
            out,
            "  {who} from {client}{}: {}",
            s.flow
                .as_deref()
                .map(|f| format!(" ({f})"))
                .unwrap_or_default(),
            s.verdict
        )?;
        writeln!(
            out,
            "    furthest stage: {}   failed at: {}   elapsed: {:.3} s",
            s.furthest_stage.as_deref().unwrap_or("none"),
            s.failed_stage.as_deref().unwrap_or("-"),
            s.ended.secs_since(s.started)
        )?;
    }
    writeln!(out)?;
    writeln!(out, "Findings")?;
    if a.findings.is_empty() {
        writeln!(out, "  none")?;
    }
    for f in &a.findings {
        let mut refs: Vec<String> = f.exchanges.iter().map(|x| format!("#{}", x.0)).collect();
        refs.extend(f.dns.iter().map(|d| format!("D{}", d.0)));
        refs.extend(f.connections.iter().map(|c| format!("C{}", c.0)));
        writeln!(
            out,
            "  [{}] {} {}",
            f.severity.as_str(),
            f.check,
            if refs.is_empty() {
                String::new()
            } else {
                format!("({})", refs.join(", "))
            }
        )?;
        writeln!(out, "      {}", f.message)?;
    }
    Ok(())
}
