//! The Overview tab: what the stage layer concluded about the exchange (stage, rule, parent,
//! DNS), its notes, timing, the HTTP/2 stream and its frames, connection, TLS and findings.

use super::lines::{clean, plural, Out};
use crate::model::{
    rcode_name, rtype_name, Analysis, Connection, Exchange, Notes, StreamEnd, TlsInfo, Ts,
};
use crate::presentation::timeline::{human_duration, offset, utc_time};
use ratatui::text::Span;

pub(super) fn overview(out: &mut Out, a: &Analysis, x: &Exchange, notes: &Notes) {
    let t = *out.theme;
    out.heading("Exchange");
    match &x.request {
        Some(r) => out.field(
            "Request",
            vec![
                Span::styled(clean(&r.method), t.title()),
                Span::raw(" "),
                Span::raw(clean(&url_of(a, x, &r.target))),
            ],
        ),
        None => out.field_styled(
            "Request",
            "not in the capture (sent before it started)",
            t.dim(),
        ),
    }
    match &x.response {
        Some(r) => {
            let mut spans = vec![Span::styled(
                format!("{} {}", r.status, clean(&r.reason)),
                t.status(Some(r.status)),
            )];
            if let Some(ct) = r.headers.get("content-type") {
                spans.push(Span::styled(format!("  {}", clean(ct)), t.dim()));
            }
            out.field("Response", spans);
        }
        None => out.field_styled("Response", "none in the capture", t.status(None)),
    }
    out.field_text("Captured", capture_words(x));
    if let Some(u) = &x.upgrade {
        let text = match u {
            crate::model::Upgrade::Tunnel => {
                "CONNECT tunnel: the rest of the connection is not HTTP".to_string()
            }
            crate::model::Upgrade::Protocol(p) => format!("switched protocols to {p}"),
        };
        out.field_text("Upgrade", text);
    }

    stage_section(out, a, x);
    notes_section(out, x, notes);
    timing_section(out, a, x);
    super::frames::stream_section(out, x);
    super::frames::frames_section(out, a, x);
    let conn = a.connections.get(x.connection.0 as usize);
    if let Some(c) = conn {
        connection_section(out, x, c);
        if let Some(tls) = &c.tls {
            tls_section(out, tls);
        }
    }
    findings_section(out, a, x);
}

fn capture_words(x: &Exchange) -> &'static str {
    match x.capture {
        crate::model::CaptureState::Full => "request and response, complete",
        crate::model::CaptureState::Truncated => "incomplete: bytes missing or cut short",
        crate::model::CaptureState::ResponseOnly => "response only (request before the capture)",
        crate::model::CaptureState::NoResponse => "request only: no response in the capture",
    }
}

/// The URL as the client asked for it (absolute-form targets are already URLs).
fn url_of(a: &Analysis, x: &Exchange, target: &str) -> String {
    if target.starts_with('/') {
        format!("{}://{}{}", x.scheme.as_str(), host_of(a, x), target)
    } else {
        target.to_string()
    }
}

fn stage_section(out: &mut Out, a: &Analysis, x: &Exchange) {
    let t = *out.theme;
    out.heading("Stage");
    let Some(tag) = x.stage.as_deref() else {
        let why = if a.partial {
            "known once loading has finished"
        } else {
            "not tagged (no stage rules were applied)"
        };
        out.field_styled("Stage", why, t.dim());
        return;
    };
    out.field(
        "Stage",
        vec![
            Span::styled(clean(&tag.id), t.stage(&tag.id)),
            Span::raw("  "),
            Span::styled(tag.outcome.as_str(), t.outcome(tag.outcome)),
        ],
    );
    out.field_text("Rule", &tag.rule);
    if let Some(sub) = &tag.subkind {
        out.field_text("Kind", sub);
    }
    if let Some(p) = tag.parent {
        let mut text = format!("← #{}", p.0);
        if let Some(px) = a.exchanges.get(p.0 as usize) {
            if let Some(r) = &px.request {
                text.push_str(&format!(" {} {}", r.method, short_target(&r.target)));
            }
        }
        if let Some(via) = &tag.via {
            text.push_str(&format!(" via {via}"));
        }
        out.field_text("Parent", text);
    } else if let Some(via) = &tag.via {
        out.field_text("Via", via);
    }
    if let Some(note) = &tag.note {
        out.field_styled("Note", note, t.warning());
    }
    if let Some(dns) = tag.dns.and_then(|id| a.dns.get(id.0 as usize)) {
        let qtype = rtype_name(dns.qtype)
            .map(str::to_string)
            .unwrap_or_else(|| format!("TYPE{}", dns.qtype));
        let mut text = format!("{} {}", dns.qname, qtype);
        match &dns.response {
            Some(r) => {
                let addrs: Vec<String> = dns.addresses().map(|ip| ip.to_string()).collect();
                if addrs.is_empty() {
                    text.push_str(&format!(" → {}", rcode_name(r.rcode)));
                } else {
                    text.push_str(&format!(" → {}", addrs.join(", ")));
                }
                text.push_str(&format!(
                    " (lookup #{}, {})",
                    dns.id.0,
                    utc_time(r.arrival.ts, false)
                ));
            }
            None => text.push_str(&format!(" (lookup #{}, unanswered)", dns.id.0)),
        }
        out.field_text("DNS", text);
    }
}

/// A request target short enough for one line of the Overview.
fn short_target(target: &str) -> String {
    const MAX: usize = 60;
    if target.chars().count() <= MAX {
        target.to_string()
    } else {
        let cut: String = target.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

fn notes_section(out: &mut Out, x: &Exchange, notes: &Notes) {
    let t = *out.theme;
    let note = notes.get(x.id);
    let ann = x.annotations.as_deref();
    if note.is_none() && ann.is_none() {
        return;
    }
    out.heading("Notes");
    if notes.is_marked(x.id) {
        out.field_styled("Mark", "marked", t.mark());
    }
    if let Some(c) = notes.comment(x.id) {
        out.field_text("Comment", c);
    }
    let Some(ann) = ann else { return };
    out.field_text("Recorded as", ann.origin.to_string());
    if let Some(c) = &ann.comment {
        // Input comments usually became the note above; show them only when they differ.
        if notes.comment(x.id) != Some(&**c) {
            out.field_text("Trace comment", c);
        }
    }
    if let Some(c) = &ann.color {
        out.field_text("Trace colour", c);
    }
    if ann.generated_by_proxy {
        out.field_styled(
            "Made by proxy",
            "the proxy generated this response, not the server",
            t.warning(),
        );
    }
    if !ann.websocket.is_empty() {
        out.field_text(
            "WebSocket",
            plural(ann.websocket.len() as u64, "message", "messages"),
        );
    }
    for (name, value) in ann.flags.iter() {
        out.field(
            "Flag",
            vec![
                Span::styled(clean(name), t.title()),
                Span::raw(" = "),
                Span::raw(clean(value)),
            ],
        );
    }
}

fn timing_section(out: &mut Out, a: &Analysis, x: &Exchange) {
    let t = *out.theme;
    let tm = &x.timing;
    out.heading("Timing");
    let Some(first) = tm.first() else {
        out.field_styled("Timing", "no timing recorded", t.dim());
        return;
    };
    let mut spans = vec![Span::raw(format!("{} UTC", utc_time(first.ts, true)))];
    // The one time origin of the list, the timelines, the filter and the reports.
    if let Some(o) = crate::presentation::timeline::time_origin(a) {
        spans.push(Span::styled(
            format!("  {} from the capture start", offset(first.ts, o)),
            t.dim(),
        ));
    }
    // Trace archives (SAZ, HAR) have no frames.
    if first.frame.0 > 0 {
        spans.push(Span::styled(format!("  frame {}", first.frame.0), t.dim()));
    }
    let label = if tm.request_start().is_some() {
        "Request start"
    } else {
        "Response start"
    };
    out.field(label, spans);

    let dur = |from: Option<crate::model::Arrival>, to: Option<crate::model::Arrival>| {
        Some(ns_between(to?.ts, from?.ts))
    };
    if let Some(ns) = dur(tm.request_start(), tm.request_end()) {
        out.field_text("Request sent", human_duration(ns));
    }
    if let Some(ns) = dur(tm.request_end().or(tm.request_start()), tm.response_start()) {
        out.field_text("Wait (TTFB)", human_duration(ns));
    }
    if let Some(ns) = dur(tm.response_start(), tm.response_end()) {
        out.field_text("Receive", human_duration(ns));
    }
    if let Some(span) = crate::presentation::timeline::exchange_span(x) {
        let mut spans = vec![Span::styled(
            human_duration(ns_between(span.end, span.start)),
            t.title(),
        )];
        if tm.response_end().is_none() {
            spans.push(Span::styled("  (no response end seen)", t.dim()));
        }
        out.field("Total", spans);
    }
    if let Some(ann) = x.annotations.as_deref() {
        for (name, ts) in &ann.timers {
            out.field(
                "Proxy timer",
                vec![
                    Span::raw(format!("{} ", utc_time(*ts, false))),
                    Span::styled(clean(name), t.dim()),
                ],
            );
        }
    }
}

fn end_words(e: StreamEnd) -> &'static str {
    match e {
        StreamEnd::Fin => "FIN",
        StreamEnd::Rst => "RST",
        StreamEnd::CaptureEnd => "open at capture end",
    }
}

fn connection_section(out: &mut Out, x: &Exchange, c: &Connection) {
    let t = *out.theme;
    out.heading(format!("Connection C{}", c.id.0));
    out.field(
        "Client → server",
        vec![
            Span::raw(format!("{} → {}", c.client, c.server)),
            Span::styled(format!("  {}", c.protocol.as_str()), t.dim()),
        ],
    );
    let mut seen = format!(
        "{} – {} UTC",
        utc_time(c.first_seen, false),
        utc_time(c.last_seen, false)
    );
    if c.first_frame.0 > 0 {
        seen.push_str(&format!(
            "  (frames {}–{})",
            c.first_frame.0, c.last_frame.0
        ));
    }
    out.field_text("Seen", seen);
    let payload = format!("payload {} ↑ {} ↓", c.payload_bytes[0], c.payload_bytes[1]);
    if c.packets > 0 {
        out.field_text(
            "Packets",
            format!(
                "{}, {} on the wire; {payload}",
                c.packets,
                plural(c.bytes, "byte", "bytes")
            ),
        );
    } else {
        out.field_text("Bytes", payload);
    }
    let handshake = match (c.handshake, c.syn_ack) {
        (true, true) => ("SYN and SYN-ACK seen", t.normal()),
        (true, false) => ("SYN seen, no SYN-ACK", t.warning()),
        (false, _) => ("not seen (capture started mid-connection)", t.dim()),
    };
    out.field_styled("Handshake", handshake.0, handshake.1);
    out.field_text(
        "Ends",
        format!(
            "client {} · server {}",
            end_words(c.end[0]),
            end_words(c.end[1])
        ),
    );
    if c.missing_bytes == [0, 0] {
        out.field_text("Missing bytes", "none");
    } else {
        out.field_styled(
            "Missing bytes",
            format!(
                "{} client→server, {} server→client",
                c.missing_bytes[0], c.missing_bytes[1]
            ),
            t.warning(),
        );
    }
    let n = c.exchanges.len();
    let text = match c.exchanges.iter().position(|id| *id == x.id) {
        Some(i) => format!("{} of {n} on this connection", i + 1),
        None => plural(n as u64, "exchange", "exchanges"),
    };
    out.field_text("Exchange", text);
}

fn tls_section(out: &mut Out, tls: &TlsInfo) {
    let t = *out.theme;
    out.heading("TLS");
    let or_unknown = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_string());
    out.field_text("Version", or_unknown(&tls.version));
    out.field_text("Cipher suite", or_unknown(&tls.cipher_suite));
    out.field_text("SNI", or_unknown(&tls.sni));
    if let Some(alpn) = &tls.alpn {
        out.field_text("ALPN", alpn);
    }
    if tls.resumed {
        out.field_text("Resumed", "yes (abbreviated handshake)");
    }
    if tls.decrypted {
        out.field_styled("Decrypted", "yes", t.ok());
        if let Some(src) = &tls.key_source {
            out.field_text("Key source", src);
        }
        if tls.plaintext_bytes != [0, 0] {
            out.field_text(
                "Plaintext",
                format!(
                    "{} ↑ {} ↓ bytes",
                    tls.plaintext_bytes[0], tls.plaintext_bytes[1]
                ),
            );
        }
        if let Some(r) = &tls.reason {
            out.field_styled("Partly", r, t.warning());
        }
    } else {
        let mut spans = vec![Span::styled("no", t.error())];
        if let Some(r) = &tls.reason {
            spans.push(Span::raw(format!(": {}", clean(r))));
        }
        out.field("Decrypted", spans);
    }
    if let Some(cert) = &tls.certificate {
        out.field_text("Certificate", &cert.subject);
        out.field_text("Issuer", &cert.issuer);
        if !cert.sans.is_empty() {
            out.field_text("SANs", cert.sans.join(", "));
        }
        out.field_text("Valid", format!("{} – {}", cert.not_before, cert.not_after));
    }
    for (label, text) in crate::presentation::tls_words::tls_lines(tls) {
        out.field_text(label, clean(&text));
    }
}

fn findings_section(out: &mut Out, a: &Analysis, x: &Exchange) {
    let t = *out.theme;
    let cited: Vec<_> = a
        .findings
        .iter()
        .filter(|f| f.exchanges.contains(&x.id))
        .collect();
    if !cited.is_empty() {
        out.heading("Findings");
        for f in cited {
            let style = match f.severity {
                crate::model::FindingSeverity::Info => t.normal(),
                crate::model::FindingSeverity::Warning => t.warning(),
                crate::model::FindingSeverity::Fail => t.error(),
            };
            out.hanging(
                vec![
                    Span::styled(format!("  {:<8}", f.severity.as_str()), style),
                    Span::styled(format!("{} ", clean(&f.check)), t.title()),
                    Span::raw(clean(&f.message)),
                ],
                2,
            );
        }
    }
    let diags: Vec<_> = a
        .diagnostics
        .iter()
        .filter(|d| d.exchange == Some(x.id))
        .collect();
    if !diags.is_empty() {
        out.heading("Diagnostics");
        for d in diags {
            let style = match d.severity {
                crate::model::Severity::Info => t.normal(),
                crate::model::Severity::Warning => t.warning(),
                crate::model::Severity::Error => t.error(),
            };
            let mut spans = vec![
                Span::styled(format!("  {:<8}", d.severity.as_str()), style),
                Span::raw(clean(&d.message)),
            ];
            if let Some(fr) = d.frame {
                spans.push(Span::styled(format!("  (frame {})", fr.0), t.dim()));
            }
            out.hanging(spans, 1);
        }
    }
}

/// The host as the client named it: Host header, else SNI, else the server address.
pub(super) fn host_of(a: &Analysis, x: &Exchange) -> String {
    if let Some(h) = x.request.as_ref().and_then(|r| r.host()) {
        return clean(h);
    }
    let c = a.connections.get(x.connection.0 as usize);
    if let Some(sni) = c
        .and_then(|c| c.tls.as_ref())
        .and_then(|t| t.sni.as_deref())
    {
        return clean(sni);
    }
    c.map_or_else(|| "?".to_string(), |c| c.server.to_string())
}

fn ns_between(later: Ts, earlier: Ts) -> i64 {
    later.0.saturating_sub(earlier.0)
}
