//! `lyncscope stages`: the stage table, the sign-in verdict per client and the findings, as
//! text for a terminal or a ticket.

use crate::model::{Analysis, ExchId};
use crate::presentation::stage_rows::{all_stage_rows, stage_rows, RowKey};
use std::collections::HashSet;
use std::io::{self, Write};

/// `only`: the exchanges a filter let through (`--filter`); then the table lists those and
/// no lookup or bare connection (the filter language selects exchanges). The verdict and the
/// findings are the whole capture's either way.
pub fn write<W: Write>(
    a: &Analysis,
    all: bool,
    only: Option<&HashSet<ExchId>>,
    out: &mut W,
) -> io::Result<()> {
    let mut rows = if all {
        all_stage_rows(a)
    } else {
        stage_rows(a)
    };
    if let Some(only) = only {
        rows.retain(|r| matches!(r.key, RowKey::Exchange(id) if only.contains(&id)));
    }
    // The one origin of every report and the UI, not the first row shown (a filter would
    // move it): docs/report-schema.md, `time_origin`.
    let t0 = crate::presentation::timeline::time_origin(a);
    if let Some(note) = crate::model::cut_notes(&a.inputs) {
        writeln!(out, "NOTE: {note}\n")?;
    }
    writeln!(out, "Discovery stages")?;
    if let Some(t0) = t0 {
        writeln!(
            out,
            "  (times are seconds since {}, the first frame of the inputs)",
            crate::datetime::utc_label(t0)
        )?;
    }
    let t0 = t0.unwrap_or_default();
    if let Some(only) = only {
        writeln!(
            out,
            "  (filtered: {} of {} shown)",
            only.len(),
            crate::presentation::connections::count(a.exchanges.len(), "exchange")
        )?;
    }
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
        writeln!(
            out,
            "{:>9.3}  {:<5} {:<4} {:<22} {:<9} {}{parent}",
            r.at.secs_since(t0),
            r.key.label(),
            r.kind,
            r.stage(),
            r.tag.outcome.as_str(),
            r.line(),
        )?;
        writeln!(out, "{:>9}  rule {}", "", r.rule())?;
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
            "  {who} from {client} ({}): {}",
            s.flow_label(),
            s.verdict
        )?;
        writeln!(
            out,
            "    furthest stage: {}   failed at: {}   elapsed: {:.3} s",
            s.furthest_stage.as_deref().unwrap_or("none"),
            s.failed_label().unwrap_or_else(|| "-".into()),
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
                "(about the input as a whole)".to_string()
            } else {
                format!("({})", refs.join(", "))
            }
        )?;
        writeln!(out, "      {}", f.message)?;
    }
    Ok(())
}
