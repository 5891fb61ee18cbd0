//! The readable report: one row per exchange, then connections and diagnostics in brief.

use crate::datetime::utc_label;
use crate::model::{Analysis, ExchId, Exchange, Severity, Ts};
use crate::presentation::connections::{connection_rows, count};
use crate::presentation::facts::signin_who;
use crate::presentation::timeline::time_origin;
use std::collections::HashSet;
use std::io::Write;

/// Shortens `s` to at most `max` characters, marking the cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn size(n: u64) -> String {
    match n {
        0..=9_999 => format!("{n}"),
        10_000..=9_999_999 => format!("{}K", n / 1024),
        _ => format!("{}M", n / (1024 * 1024)),
    }
}

/// `h2 s5` for an HTTP/2 exchange, `h1` else: the last column when any exchange is not HTTP/1.
fn proto(e: &Exchange) -> String {
    match (e.http_version, e.stream.as_deref()) {
        (crate::model::HttpVersion::Http1, _) => "h1".into(),
        (crate::model::HttpVersion::Http2, Some(s)) => format!("h2 s{}", s.id),
        (crate::model::HttpVersion::Http2, None) => "h2".into(),
        (crate::model::HttpVersion::Http3, _) => "h3".into(),
    }
}

fn row(a: &Analysis, e: &Exchange, t0: Ts, with_proto: bool) -> String {
    let c = a.connection(e.connection);
    let first = e.timing.first().map(|x| x.ts).unwrap_or(t0);
    let (method, target, host) = match &e.request {
        Some(r) => (&*r.method, r.target.as_str(), r.host().unwrap_or("")),
        None => ("-", "(request before capture)", ""),
    };
    let url = if target.starts_with('/') {
        format!("{host}{target}")
    } else {
        target.to_string()
    };
    let (status, len) = match &e.response {
        Some(r) => (
            r.status.to_string(),
            size(r.body.decoded_length.unwrap_or(r.body.wire_length)),
        ),
        None => ("-".into(), "-".into()),
    };
    let dur = match (e.timing.first(), e.timing.response_end()) {
        (Some(s), Some(f)) => format!("{:.1}", f.ts.secs_since(s.ts) * 1000.0),
        _ => "-".into(),
    };
    let mut line = format!(
        "{:>5} {:>10.3} {:>5} {:<22} {:<7} {:<52} {:>6} {:>7} {:>9} {}",
        e.id.0,
        first.secs_since(t0),
        format!("C{}", c.id.0),
        clip(&crate::model::endpoint(&c.server), 22),
        clip(method, 7),
        clip(&url, 52),
        status,
        len,
        dur,
        e.capture.as_str()
    );
    if with_proto {
        line = format!("{line:<145} {}", proto(e));
    }
    line
}

pub fn write(a: &Analysis, out: &mut dyn Write) -> std::io::Result<()> {
    write_only(a, None, out)
}

/// The report with only the exchanges in `only` (a `--filter`) listed; the summary, the
/// verdict and the connections are the whole capture's.
pub fn write_only(
    a: &Analysis,
    only: Option<&HashSet<ExchId>>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    // The one origin of every report and the UI (docs/report-schema.md, "Times").
    let t0 = time_origin(a);
    for i in &a.inputs {
        let what = if i.link_types.is_empty() {
            i.format.clone()
        } else {
            format!(
                "{} {}, {} frames",
                i.format,
                i.link_types.join("+"),
                i.frames
            )
        };
        writeln!(
            out,
            "{}: {what}, {} bytes{}",
            i.path,
            i.bytes,
            if i.truncated { ", CUT SHORT" } else { "" }
        )?;
    }
    if let Some(note) = crate::model::cut_notes(&a.inputs) {
        writeln!(out, "NOTE: {note}")?;
    }
    if let Some(t0) = t0 {
        writeln!(
            out,
            "Times are seconds since {} (the first frame of the inputs).",
            utc_label(t0)
        )?;
    }
    let t0 = t0.unwrap_or_default();
    writeln!(out)?;
    // The protocol column only when it says something: an HTTP/1-only report stays as it was.
    let with_proto = a
        .exchanges
        .iter()
        .any(|e| e.http_version != crate::model::HttpVersion::Http1);
    let head = format!(
        "{:>5} {:>10} {:>5} {:<22} {:<7} {:<52} {:>6} {:>7} {:>9} capture",
        "#", "time s", "conn", "server", "method", "url", "status", "size", "ms"
    );
    if with_proto {
        writeln!(out, "{head:<145} proto")?;
    } else {
        writeln!(out, "{head}")?;
    }
    for e in a
        .exchanges
        .iter()
        .filter(|e| only.is_none_or(|o| o.contains(&e.id)))
    {
        writeln!(out, "{}", row(a, e, t0, with_proto))?;
    }
    if a.exchanges.is_empty() {
        writeln!(out, "{:>5} (no HTTP exchange in the capture)", "")?;
    }
    let http = a
        .connections
        .iter()
        .filter(|c| {
            matches!(
                c.protocol,
                crate::model::AppProtocol::Http1 | crate::model::AppProtocol::Http2
            )
        })
        .count();
    let tls = a
        .connections
        .iter()
        .filter(|c| c.protocol == crate::model::AppProtocol::Tls)
        .count();
    writeln!(out)?;
    writeln!(
        out,
        "{} in {} ({} HTTP, {} TLS, {} other); {} frames",
        count(a.exchanges.len(), "exchange"),
        count(a.connections.len(), "connection"),
        http,
        tls,
        a.connections.len() - http - tls,
        a.frames
    )?;
    writeln!(out)?;
    writeln!(out, "Sign-in")?;
    if a.signin.is_empty() {
        writeln!(out, "  no sign-in attempt found")?;
    }
    for s in &a.signin {
        writeln!(out, "  {}: {}", signin_who(s), s.verdict)?;
    }
    writeln!(out)?;
    writeln!(out, "Connections")?;
    for r in connection_rows(a) {
        let name = if r.name.is_empty() {
            String::new()
        } else {
            format!(" ({})", r.name)
        };
        let stage = if r.stage.is_empty() {
            String::new()
        } else {
            format!(" [{} {}]", r.stage, r.outcome.as_str())
        };
        writeln!(
            out,
            "  {:>5} {}{name}{stage}: {}; {}",
            r.id, r.endpoints, r.result, r.tls
        )?;
        for (k, v) in &r.details {
            writeln!(out, "        {k}: {v}")?;
        }
    }
    let by = |s: Severity| a.diagnostics.iter().filter(|d| d.severity == s).count();
    if !a.diagnostics.is_empty() {
        writeln!(
            out,
            "{}: {}, {}, {}",
            count(a.diagnostics.len(), "diagnostic"),
            count(by(Severity::Error), "error"),
            count(by(Severity::Warning), "warning"),
            count(by(Severity::Info), "note")
        )?;
        for d in a.diagnostics.iter().take(50) {
            let mut place = Vec::new();
            if let Some(f) = d.frame {
                place.push(format!("frame {}", f.0));
            }
            if let Some(c) = d.connection {
                place.push(format!("C{}", c.0));
            }
            if let Some(x) = d.exchange {
                place.push(format!("exchange {}", x.0));
            }
            writeln!(
                out,
                "  {:<7} [{}] {}",
                d.severity.as_str(),
                place.join(", "),
                d.message
            )?;
        }
        if a.diagnostics.len() > 50 {
            writeln!(
                out,
                "  … {} more (see --format json)",
                a.diagnostics.len() - 50
            )?;
        }
    }
    Ok(())
}
