//! The readable report: one row per exchange, then connections and diagnostics in brief.

use crate::model::{Analysis, Exchange, Severity, Ts};
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

fn start_of(a: &Analysis) -> Option<Ts> {
    a.connections.iter().map(|c| c.first_seen).min()
}

fn row(a: &Analysis, e: &Exchange, t0: Ts) -> String {
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
    let dur = match (e.timing.first(), e.timing.response_end) {
        (Some(s), Some(f)) => format!("{:.1}", f.ts.secs_since(s.ts) * 1000.0),
        _ => "-".into(),
    };
    format!(
        "{:>5} {:>10.3} {:>4} {:<22} {:<7} {:<52} {:>6} {:>7} {:>9} {}",
        e.id.0,
        first.secs_since(t0),
        c.id.0,
        clip(&crate::model::endpoint(&c.server), 22),
        clip(method, 7),
        clip(&url, 52),
        status,
        len,
        dur,
        e.capture.as_str()
    )
}

pub fn write(a: &Analysis, out: &mut dyn Write) -> std::io::Result<()> {
    let t0 = start_of(a).unwrap_or_default();
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
    writeln!(out)?;
    writeln!(
        out,
        "{:>5} {:>10} {:>4} {:<22} {:<7} {:<52} {:>6} {:>7} {:>9} capture",
        "#", "time s", "conn", "server", "method", "url", "status", "size", "ms"
    )?;
    for e in &a.exchanges {
        writeln!(out, "{}", row(a, e, t0))?;
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
        "{} exchanges in {} connections ({} HTTP, {} TLS, {} other); {} frames",
        a.exchanges.len(),
        a.connections.len(),
        http,
        tls,
        a.connections.len() - http - tls,
        a.frames
    )?;
    for c in a.connections.iter().filter(|c| c.tls.is_some()) {
        let Some(t) = &c.tls else { continue };
        let what = if t.decrypted {
            match t.key_source.as_deref().unwrap_or("?") {
                // Archives say it themselves ("decrypted by Fiddler (SAZ)").
                src if src.starts_with("decrypted") || src.starts_with("recorded") => {
                    src.to_string()
                }
                src => format!("decrypted with {src}"),
            }
        } else {
            format!(
                "NOT decrypted: {}",
                t.reason.as_deref().unwrap_or("unknown reason")
            )
        };
        writeln!(
            out,
            "  TLS conn {:>4} {} → {} {} {}{}: {}",
            c.id.0,
            c.client,
            t.sni.as_deref().unwrap_or(""),
            t.version.as_deref().unwrap_or("?"),
            t.cipher_suite.as_deref().unwrap_or("?"),
            if t.resumed { " (resumed)" } else { "" },
            what
        )?;
    }
    let count = |s: Severity| a.diagnostics.iter().filter(|d| d.severity == s).count();
    if !a.diagnostics.is_empty() {
        writeln!(
            out,
            "{} diagnostics: {} errors, {} warnings, {} notes",
            a.diagnostics.len(),
            count(Severity::Error),
            count(Severity::Warning),
            count(Severity::Info)
        )?;
        for d in a.diagnostics.iter().take(50) {
            let mut place = Vec::new();
            if let Some(f) = d.frame {
                place.push(format!("frame {}", f.0));
            }
            if let Some(c) = d.connection {
                place.push(format!("conn {}", c.0));
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
