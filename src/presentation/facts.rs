//! The facts a report gives about the whole analysis (summary, inputs, sign-ins) and about
//! each exchange (title, timing, connection, TLS, stage, diagnostics), the same in Markdown
//! and HTML.

use super::timeline::{exchange_span, human_duration, offset, time_range};
use crate::datetime::utc_label;
use crate::model::{Analysis, CaptureState, Diagnostic, ExchId, Exchange, Notes, Ts};
use std::collections::{HashMap, HashSet};

/// Label and value lines of the summary.
pub fn summary(a: &Analysis) -> Vec<(&'static str, String)> {
    let mut states: [usize; 4] = [0; 4];
    for x in &a.exchanges {
        let i = match x.capture {
            CaptureState::Full => 0,
            CaptureState::Truncated => 1,
            CaptureState::ResponseOnly => 2,
            CaptureState::NoResponse => 3,
        };
        states[i] += 1;
    }
    let mut parts = vec![format!("{} complete", states[0])];
    for (n, what) in [
        (states[1], "truncated"),
        (states[2], "response only"),
        (states[3], "without response"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    let tls: Vec<_> = a
        .connections
        .iter()
        .filter_map(|c| c.tls.as_ref())
        .collect();
    let decrypted = tls.iter().filter(|t| t.decrypted).count();
    let mut out = Vec::new();
    // A cut capture first: the rest of the report reads differently once it is known.
    if let Some(note) = crate::model::cut_notes(&a.inputs) {
        out.push(("Capture cut short", note));
    }
    out.extend([
        (
            "Exchanges",
            format!("{} ({})", a.exchanges.len(), parts.join(", ")),
        ),
        (
            "Connections",
            format!(
                "{} ({} TLS, {decrypted} of them decrypted)",
                a.connections.len(),
                tls.len()
            ),
        ),
        ("DNS lookups", a.dns.len().to_string()),
        ("Frames", a.frames.to_string()),
    ]);
    if let Some((s, e)) = time_range(a) {
        out.push((
            "Time range",
            format!(
                "{} – {} ({})",
                utc_label(s),
                utc_label(e),
                human_duration(e.0.saturating_sub(s.0))
            ),
        ));
    }
    let problems = a
        .diagnostics
        .iter()
        .filter(|d| d.severity != crate::model::Severity::Info)
        .count();
    if problems > 0 {
        out.push((
            "Problems reading the input",
            format!("{problems} (listed under Diagnostics)"),
        ));
    }
    out
}

/// A short description of one input file.
pub fn input_line(i: &crate::model::InputInfo) -> String {
    let mut s = format!(
        "{} ({}, {} frames, {} bytes",
        i.path, i.format, i.frames, i.bytes
    );
    if !i.link_types.is_empty() {
        s.push_str(", ");
        s.push_str(&i.link_types.join("/"));
    }
    if i.truncated {
        s.push_str(", truncated");
    }
    s.push(')');
    s
}

/// Who signed in: SIP URI, else the NTLM user, else unknown.
pub fn signin_who(s: &crate::model::SigninSummary) -> String {
    s.sip_uri
        .clone()
        .or_else(|| s.user.clone())
        .unwrap_or_else(|| "unknown user".into())
}

/// Diagnostics by the exchange they are about.
pub fn diagnostics_by_exchange(a: &Analysis) -> HashMap<ExchId, Vec<&Diagnostic>> {
    let mut m: HashMap<ExchId, Vec<&Diagnostic>> = HashMap::new();
    for d in &a.diagnostics {
        if let Some(id) = d.exchange {
            m.entry(id).or_default().push(d);
        }
    }
    m
}

/// Plain facts about an exchange (label, value), without its parent (a link) and notes.
pub fn exchange_facts(a: &Analysis, x: &Exchange, t0: Ts) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(c) = a.connections.get(x.connection.0 as usize) {
        let mut s = format!("C{} {} → {}", c.id.0, c.client, c.server);
        if let Some(t) = &c.tls {
            s.push_str(", ");
            s.push_str(t.version.as_deref().unwrap_or("TLS"));
            if let Some(sni) = &t.sni {
                s.push_str(&format!(" SNI {sni}"));
            }
            if t.decrypted {
                s.push_str(", decrypted");
            } else {
                s.push_str(", not decrypted");
                if let Some(r) = &t.reason {
                    s.push_str(&format!(" ({r})"));
                }
            }
        }
        // Ids on a connection ascend (exchanges are numbered in time order): no linear scan
        // per exchange on a connection that carried thousands.
        let pos = c.exchanges.binary_search(&x.id).ok();
        match pos {
            Some(0) => s.push_str("; first exchange on this connection"),
            Some(n) => s.push_str(&format!(
                "; reused: exchange {} of {} on this connection",
                n + 1,
                c.exchanges.len()
            )),
            None => {}
        }
        out.push(("Connection", s));
        if let Some(p) = protocol_words(x) {
            out.push(("Protocol", p));
        }
        // The TLS facts once per connection: with its first exchange.
        if let (Some(t), Some(0)) = (&c.tls, pos) {
            out.extend(super::tls_words::tls_lines(t));
        }
    }
    if x.capture != CaptureState::Full {
        out.push(("Capture", x.capture.as_str().replace('_', " ")));
    }
    if let Some(span) = exchange_span(x) {
        let mut s = format!("{} ({})", offset(span.start, t0), utc_label(span.start));
        s.push_str(&format!(
            ", took {}",
            human_duration(span.end.0.saturating_sub(span.start.0))
        ));
        if let Some(fb) = span.first_byte {
            s.push_str(&format!(
                ", first response byte after {}",
                human_duration(fb.0.saturating_sub(span.start.0))
            ));
        }
        if let Some(f) = x.timing.first() {
            s.push_str(&format!(", frame {}", f.frame.0));
        }
        out.push(("Time", s));
    }
    if let Some(t) = x.stage.as_deref() {
        let mut s = t.id.clone();
        if let Some(k) = &t.subkind {
            s.push_str(&format!(" ({k})"));
        }
        s.push_str(&format!(" — {}, rule {}", t.outcome.as_str(), t.rule));
        if let Some(n) = &t.note {
            s.push_str(&format!(": {n}"));
        }
        out.push(("Stage", s));
        if let Some(d) = t.dns.and_then(|d| a.dns.get(d.0 as usize)) {
            out.push(("Address from", format!("D{} {}", d.id.0, d.qname)));
        }
    }
    if let Some(u) = &x.upgrade {
        let s = match u {
            crate::model::Upgrade::Tunnel => "CONNECT tunnel".to_string(),
            crate::model::Upgrade::Protocol(p) => format!("switched to {p}"),
        };
        out.push(("Upgrade", s));
    }
    if let Some(n) = &x.annotations {
        let mut s = n.origin.to_string();
        if n.generated_by_proxy {
            s.push_str(" (response made by the proxy)");
        }
        out.push(("Recorded as", s));
    }
    out
}

/// Diagnostics listed one by one in a report; the rest are counted.
pub const DIAGNOSTICS_LISTED: usize = 500;

/// Diagnostics not about one exchange (those are shown with it).
pub fn general_diagnostics(a: &Analysis) -> Vec<&Diagnostic> {
    a.diagnostics
        .iter()
        .filter(|d| d.exchange.is_none())
        .collect()
}

/// " C3 frame 120": where a diagnostic points.
pub fn diagnostic_place(d: &Diagnostic) -> String {
    let mut at = String::new();
    if let Some(c) = d.connection {
        at.push_str(&format!(" C{}", c.0));
    }
    if let Some(f) = d.frame {
        at.push_str(&format!(" frame {}", f.0));
    }
    at
}

/// The title line of an exchange: method, URL, status and reason.
pub fn exchange_title(a: &Analysis, x: &Exchange) -> String {
    let status = x.response.as_ref().map_or_else(
        || "no response".to_string(),
        |r| format!("{} {}", r.status, r.reason).trim_end().to_string(),
    );
    match &x.request {
        Some(r) => {
            let url = a.request_url(x).map_or_else(|| r.target.clone(), |v| v.url);
            format!("{} {url} → {status}", r.method)
        }
        None => format!("(response only) → {status}"),
    }
}

/// Marked exchanges: those in scope in scope order, then the others.
pub fn marked_in_order(notes: &Notes, scope: &[ExchId]) -> Vec<(ExchId, bool)> {
    let mut out: Vec<(ExchId, bool)> = scope
        .iter()
        .filter(|id| notes.is_marked(**id))
        .map(|id| (*id, true))
        .collect();
    let listed: HashSet<ExchId> = out.iter().map(|(id, _)| *id).collect();
    out.extend(
        notes
            .marked()
            .filter(|id| !listed.contains(id))
            .map(|id| (id, false)),
    );
    out
}

/// `HTTP/2 stream 5 (C0 s5), 102 frames`, with a push and a reset in words; None for HTTP/1,
/// which every report takes as the default.
pub fn protocol_words(x: &Exchange) -> Option<String> {
    if x.http_version == crate::model::HttpVersion::Http1 {
        return None;
    }
    let Some(s) = x.stream.as_deref() else {
        return Some(x.http_version.as_str().to_string());
    };
    let mut w = format!(
        "{} stream {} (C{} s{})",
        x.http_version.as_str(),
        s.id,
        x.connection.0,
        s.id
    );
    let n = s.frames.len() as u64 + u64::from(s.frames_dropped);
    if n > 0 {
        w.push_str(&format!(", {n} frame{}", if n == 1 { "" } else { "s" }));
    }
    if let Some(p) = s.promised_by {
        w.push_str(&format!(", pushed (PUSH_PROMISE on stream {p})"));
    }
    if s.upgrade_request {
        w.push_str(", request sent on HTTP/1.1 with Upgrade: h2c (answered 101)");
    }
    if let Some(r) = &s.reset {
        let by = if r.by_client { "client" } else { "server" };
        w.push_str(&format!(", reset by the {by} ({})", r.name));
    }
    Some(w)
}

/// The HTTP/2 stream id of an exchange, for the reports' stage tables.
pub fn stream_of(a: &Analysis, id: ExchId) -> Option<u32> {
    a.exchanges
        .get(id.0 as usize)?
        .stream
        .as_deref()
        .map(|s| s.id)
}
