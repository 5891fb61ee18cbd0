//! The Markdown report (for a support ticket): inputs, summary, sign-in verdict, findings,
//! marked exchanges, the stage table, a text timeline, then each exchange with its headers
//! and decoded body. Also home of the facts the HTML report shows the same way.
//!
//! Everything from the capture is escaped: plain text by backslash escapes, inline values in
//! code spans, heads and bodies in fenced blocks whose fence is longer than any backtick run
//! inside.

use super::content::{pretty, BodyKind};
use super::svg::{collect_lanes, Key};
use crate::model::{
    Analysis, AuthFacts, AuthLeg, Body, CaptureState, Diagnostic, ExchId, Exchange, Headers, Notes,
    NtlmMessage, Outcome, StageTag, Ts,
};
use crate::timeline::{exchange_span, human_duration};
use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

/// Bodies are shown up to this many bytes each.
pub const BODY_LIMIT: usize = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Facts shared with the HTML report.

/// The first instant of the analysis (exchanges, DNS lookups, connections).
pub(crate) fn time_range(a: &Analysis) -> Option<(Ts, Ts)> {
    let mut lo: Option<Ts> = None;
    let mut hi: Option<Ts> = None;
    let mut see = |s: Ts, e: Ts| {
        lo = Some(lo.map_or(s, |l| l.min(s)));
        hi = Some(hi.map_or(e, |h| h.max(e)));
    };
    for c in &a.connections {
        see(c.first_seen, c.last_seen.max(c.first_seen));
    }
    for x in &a.exchanges {
        if let Some(s) = exchange_span(x) {
            see(s.start, s.end);
        }
    }
    for l in &a.dns {
        if let Some(s) = crate::timeline::dns_span(l) {
            see(s.start, s.end);
        }
    }
    Some((lo?, hi?))
}

/// "2015-06-29 14:00:00.123 UTC".
pub(crate) fn utc(t: Ts) -> String {
    let secs = t.0.div_euclid(1_000_000_000);
    let ms = t.0.rem_euclid(1_000_000_000) / 1_000_000;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{ms:03} UTC",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// Seconds since the report's start, "+1.234 s".
pub(crate) fn offset(t: Ts, t0: Ts) -> String {
    format!("+{:.3} s", t.secs_since(t0))
}

/// Label and value lines of the summary.
pub(crate) fn summary(a: &Analysis) -> Vec<(&'static str, String)> {
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
    let mut out = vec![
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
    ];
    if let Some((s, e)) = time_range(a) {
        out.push((
            "Time range",
            format!(
                "{} – {} ({})",
                utc(s),
                utc(e),
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
pub(crate) fn input_line(i: &crate::model::InputInfo) -> String {
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
pub(crate) fn signin_who(s: &crate::model::SigninSummary) -> String {
    s.sip_uri
        .clone()
        .or_else(|| s.user.clone())
        .unwrap_or_else(|| "unknown user".into())
}

/// Where a stage-table row comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowKey {
    Exchange(ExchId),
    Dns(crate::model::DnsId),
    Connection(crate::model::ConnId),
}

impl RowKey {
    pub(crate) fn label(self) -> String {
        match self {
            RowKey::Exchange(id) => format!("#{}", id.0),
            RowKey::Dns(id) => format!("D{}", id.0),
            RowKey::Connection(id) => format!("C{}", id.0),
        }
    }
}

/// One row of the stage table (the facts `lyncscope stages` prints).
pub(crate) struct StageRow {
    pub at: Ts,
    pub key: RowKey,
    /// "HTTP", "DNS", "TCP".
    pub kind: &'static str,
    pub tag: StageTag,
    /// HTTP method, "DNS" with the query type, or "TCP".
    pub method: String,
    /// HTTP status, DNS rcode, or "—".
    pub status: String,
    /// Host and path (URL), DNS name and answer, or the endpoints.
    pub what: String,
}

impl StageRow {
    pub(crate) fn stage(&self) -> String {
        match self.tag.subkind.as_deref().filter(|_| self.kind != "TCP") {
            Some(s) => format!("{} ({s})", self.tag.id),
            None => self.tag.id.clone(),
        }
    }
    pub(crate) fn rule(&self) -> String {
        match &self.tag.note {
            Some(n) => format!("{}: {n}", self.tag.rule),
            None => self.tag.rule.clone(),
        }
    }
}

/// The stage table: DNS lookups, exchanges and bare connections with a stage other than
/// unrelated, in time order.
pub(crate) fn stage_rows(a: &Analysis) -> Vec<StageRow> {
    use crate::model::{rcode_name, rtype_name};
    let unrelated = crate::stage::classify::UNRELATED;
    let mut rows = Vec::new();
    for l in &a.dns {
        let Some(tag) = l.stage.clone().filter(|t| t.id != unrelated) else {
            continue;
        };
        let qtype = rtype_name(l.qtype).map_or_else(|| format!("TYPE{}", l.qtype), str::to_string);
        let (status, answer) = match &l.response {
            None => ("—".to_string(), "no answer".to_string()),
            Some(r) if r.rcode != 0 => (
                rcode_name(r.rcode).to_string(),
                rcode_name(r.rcode).to_string(),
            ),
            Some(_) => {
                let mut parts: Vec<String> = l.cnames().map(|c| format!("CNAME {c}")).collect();
                parts.extend(l.addresses().map(|ip| ip.to_string()));
                let answer = if parts.is_empty() {
                    "NOERROR, no answer".into()
                } else {
                    parts.join(", ")
                };
                ("NOERROR".to_string(), answer)
            }
        };
        rows.push(StageRow {
            at: l.first().map(|x| x.ts).unwrap_or_default(),
            key: RowKey::Dns(l.id),
            kind: "DNS",
            tag,
            method: format!("DNS {qtype}"),
            status,
            what: format!("{} → {answer}", l.qname),
        });
    }
    for x in &a.exchanges {
        let Some(tag) = x.stage.as_deref().filter(|t| t.id != unrelated) else {
            continue;
        };
        let status = x
            .response
            .as_ref()
            .map_or_else(|| "—".to_string(), |r| r.status.to_string());
        let (method, what) = match &x.request {
            Some(r) => (
                r.method.clone(),
                a.request_url(x).map_or_else(|| r.target.clone(), |v| v.url),
            ),
            None => ("—".to_string(), "(response only)".to_string()),
        };
        rows.push(StageRow {
            at: x.timing.first().map(|t| t.ts).unwrap_or_default(),
            key: RowKey::Exchange(x.id),
            kind: "HTTP",
            tag: tag.clone(),
            method,
            status,
            what,
        });
    }
    for c in &a.connections {
        let Some(tag) = c.stage.clone().filter(|t| t.id != unrelated) else {
            continue;
        };
        let sni = c
            .tls
            .as_ref()
            .and_then(|t| t.sni.as_deref())
            .map(|s| format!(" (SNI {s})"))
            .unwrap_or_default();
        rows.push(StageRow {
            at: c.first_seen,
            key: RowKey::Connection(c.id),
            kind: "TCP",
            tag,
            method: "TCP".into(),
            status: "—".into(),
            what: format!("{} → {}{sni}", c.client, c.server),
        });
    }
    rows.sort_by_key(|r| r.at);
    rows
}

/// A NTLM message in words (never hashes).
pub(crate) fn ntlm_words(m: &NtlmMessage) -> String {
    match m {
        NtlmMessage::Negotiate {
            domain,
            workstation,
            ..
        } => {
            let mut s = "NTLM type 1 (negotiate)".to_string();
            if let Some(d) = domain {
                s.push_str(&format!(", domain {d}"));
            }
            if let Some(w) = workstation {
                s.push_str(&format!(", workstation {w}"));
            }
            s
        }
        NtlmMessage::Challenge {
            target,
            target_info,
            ..
        } => {
            let mut s = "NTLM type 2 (challenge)".to_string();
            if let Some(t) = target {
                s.push_str(&format!(", target {t}"));
            }
            let info: Vec<String> = target_info
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            if !info.is_empty() {
                s.push_str(&format!(" [{}]", info.join(", ")));
            }
            s
        }
        NtlmMessage::Authenticate {
            domain,
            user,
            workstation,
            ..
        } => {
            format!("NTLM type 3 (authenticate): user {domain}\\{user}, workstation {workstation}")
        }
    }
}

/// The authentication facts of an exchange, one line each.
pub(crate) fn auth_lines(f: &AuthFacts) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(leg) = &f.request {
        let s = match leg {
            AuthLeg::Ntlm(m) => ntlm_words(m),
            AuthLeg::Negotiate { ntlm, kerberos } => match (ntlm, kerberos) {
                (Some(m), _) => format!("Negotiate wrapping {}", ntlm_words(m)),
                (None, true) => "Negotiate (Kerberos)".to_string(),
                (None, false) => "Negotiate".to_string(),
            },
            AuthLeg::Bearer(t) => format!(
                "Bearer token {}… (sha256 {}){}",
                t.prefix,
                t.sha256.get(..16).unwrap_or(&t.sha256),
                if t.cwt { ", a web ticket" } else { "" }
            ),
            AuthLeg::WebTicket {
                assertion_id,
                token,
            } => format!(
                "X-MS-WebTicket {}… (sha256 {}){}",
                token.prefix,
                token.sha256.get(..16).unwrap_or(&token.sha256),
                assertion_id
                    .as_deref()
                    .map(|i| format!(", assertion {i}"))
                    .unwrap_or_default()
            ),
            AuthLeg::Basic { user } => format!(
                "Basic{}",
                user.as_deref()
                    .map(|u| format!(", user {u}"))
                    .unwrap_or_default()
            ),
            AuthLeg::Other { scheme } => format!("scheme {scheme}"),
        };
        out.push(format!("request presents {s}"));
    }
    for c in &f.challenges {
        let params: Vec<String> = c
            .params
            .iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect();
        let mut s = format!("response asks for {}", c.scheme);
        if !params.is_empty() {
            s.push(' ');
            s.push_str(&params.join(", "));
        }
        if let Some(m) = &c.ntlm {
            s.push_str(&format!(" — {}", ntlm_words(m)));
        }
        out.push(s);
    }
    for d in &f.diagnostics {
        let mut s = "X-Ms-diagnostics".to_string();
        if let Some(c) = d.code {
            s.push_str(&format!(" {c}"));
        }
        if let Some(r) = &d.reason {
            s.push_str(&format!(": {r}"));
        }
        if let Some(src) = &d.source {
            s.push_str(&format!(" (source {src})"));
        }
        if let Some(f) = &d.fault {
            s.push_str(&format!(" fault {f}"));
        }
        if d.code.is_none() && d.reason.is_none() {
            s.push_str(&format!(": {}", d.raw));
        }
        out.push(s);
    }
    out
}

/// Diagnostics by the exchange they are about.
pub(crate) fn diagnostics_by_exchange(a: &Analysis) -> HashMap<ExchId, Vec<&Diagnostic>> {
    let mut m: HashMap<ExchId, Vec<&Diagnostic>> = HashMap::new();
    for d in &a.diagnostics {
        if let Some(id) = d.exchange {
            m.entry(id).or_default().push(d);
        }
    }
    m
}

/// Plain facts about an exchange (label, value), without its parent (a link) and notes.
pub(crate) fn exchange_facts(a: &Analysis, x: &Exchange, t0: Ts) -> Vec<(&'static str, String)> {
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
    }
    if x.capture != CaptureState::Full {
        out.push(("Capture", x.capture.as_str().replace('_', " ")));
    }
    if let Some(span) = exchange_span(x) {
        let mut s = format!("{} ({})", offset(span.start, t0), utc(span.start));
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
        let mut s = n.origin.clone();
        if n.generated_by_proxy {
            s.push_str(" (response made by the proxy)");
        }
        out.push(("Recorded as", s));
    }
    out
}

/// A message body made ready to show.
pub(crate) struct BodyView {
    pub kind: BodyKind,
    /// The readable text, `None` when nothing of the body is at hand.
    pub text: Option<String>,
    /// What the reader must know: cut, not kept, incomplete, decoded from gzip …
    pub notes: Vec<String>,
    /// Decoded length (or wire length) in bytes.
    pub length: u64,
}

pub(crate) fn body_view(headers: &Headers, body: &Body) -> BodyView {
    let ct = headers.get("content-type");
    let length = body.decoded_length.unwrap_or(body.wire_length);
    let mut notes = Vec::new();
    if !body.content_encoding.is_empty() {
        notes.push(format!("decoded from {}", body.content_encoding.join(", ")));
    }
    if !body.complete && body.wire_length > 0 {
        notes.push("incomplete in the capture".into());
    }
    let (kind, text) = match (body.kept.as_deref(), body.head.as_deref()) {
        (Some(b), _) => {
            let p = pretty(ct, b, BODY_LIMIT);
            if p.truncated {
                notes.push(format!(
                    "cut: first {} KiB of {} bytes shown",
                    BODY_LIMIT / 1024,
                    b.len()
                ));
            }
            (p.kind, Some(p.text))
        }
        (None, Some(h)) => {
            let p = pretty(ct, h, BODY_LIMIT);
            notes.push(format!(
                "only the first {} of {length} bytes were kept",
                h.len().min(BODY_LIMIT)
            ));
            (p.kind, Some(p.text))
        }
        (None, None) if length > 0 || body.wire_length > 0 => {
            notes.push(format!(
                "{length} bytes, not kept in this analysis (keep bodies to see them)"
            ));
            (BodyKind::Binary, None)
        }
        (None, None) => (BodyKind::Empty, None),
    };
    // An empty body needs no block and no label.
    let text = text.filter(|t| !t.is_empty() || length > 0);
    BodyView {
        kind,
        text,
        notes,
        length,
    }
}

/// Diagnostics listed one by one in a report; the rest are counted.
pub(crate) const DIAGNOSTICS_LISTED: usize = 500;

/// Diagnostics not about one exchange (those are shown with it).
pub(crate) fn general_diagnostics(a: &Analysis) -> Vec<&Diagnostic> {
    a.diagnostics
        .iter()
        .filter(|d| d.exchange.is_none())
        .collect()
}

/// " C3 frame 120": where a diagnostic points.
pub(crate) fn diagnostic_place(d: &Diagnostic) -> String {
    let mut at = String::new();
    if let Some(c) = d.connection {
        at.push_str(&format!(" C{}", c.0));
    }
    if let Some(f) = d.frame {
        at.push_str(&format!(" frame {}", f.0));
    }
    at
}

/// Request line and headers, as text: the HTTP head with plain line ends, no blank line.
pub(crate) fn request_head(r: &crate::model::Request) -> String {
    plain_lines(&super::snippets::request_head(r))
}

/// Status line and headers, as text (interim 1xx statuses first).
pub(crate) fn response_head(r: &crate::model::Response) -> String {
    let mut s = String::new();
    for i in &r.interim_statuses {
        s.push_str(&format!("{} {i} (interim)\n", r.version));
    }
    s.push_str(&plain_lines(&super::snippets::response_head(r)));
    s
}

fn plain_lines(wire_head: &str) -> String {
    let mut s = wire_head.trim_end_matches("\r\n").replace("\r\n", "\n");
    s.push('\n');
    s
}

/// The title line of an exchange: method, URL, status and reason.
pub(crate) fn exchange_title(a: &Analysis, x: &Exchange) -> String {
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
pub(crate) fn marked_in_order(notes: &Notes, scope: &[ExchId]) -> Vec<(ExchId, bool)> {
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
    writeln!(
        out,
        "- **Shown below:** {} of {} exchanges; times are seconds since {}",
        scope.len(),
        a.exchanges.len(),
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
                cell(&md_text(s.flow.as_deref().unwrap_or("?"))),
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
            if !refs.is_empty() {
                write!(out, " (evidence: {})", refs.join(", "))?;
            }
            writeln!(out)?;
        }
        writeln!(out)?;
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
    write_text_timeline(a, &scope, out)?;

    let diags = diagnostics_by_exchange(a);
    writeln!(out, "## Exchanges\n")?;
    if scope.is_empty() {
        if a.exchanges.is_empty() {
            writeln!(out, "The capture holds no HTTP exchanges.\n")?;
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
            RowKey::Exchange(id) => md_ref(id, listed),
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
    let spans: Vec<crate::timeline::Span> = lanes.items.iter().map(|i| i.span).collect();
    let axis = super::svg::axis_for(&spans);
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
