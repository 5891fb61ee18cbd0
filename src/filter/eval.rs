//! Evaluating a parsed filter, and the text of an exchange that global search looks through.

use super::parse::{CmpOp, ConnMatch, Field, Node, Pred, Side};
use crate::model::{
    Analysis, AuthLeg, CaptureState, Connection, ExchId, Exchange, Headers, Notes, Outcome, Scheme,
    Ts,
};
use std::borrow::Cow;

/// What evaluation needs beyond the exchange itself, built once per analysis (not per
/// exchange): an exchange → diagnostics index and the capture's start time.
#[derive(Debug, Clone)]
pub struct MatchContext<'a> {
    pub(crate) a: &'a Analysis,
    pub(crate) notes: &'a Notes,
    /// `(exchange, diagnostic index)` sorted by exchange; `None` = scan `a.diagnostics`.
    diagnostics: Option<Vec<(u32, u32)>>,
    start: Option<Ts>,
}

impl<'a> MatchContext<'a> {
    /// Indexes the diagnostics by exchange: O(diagnostics) once, then O(log n) per lookup.
    pub fn new(a: &'a Analysis, notes: &'a Notes) -> MatchContext<'a> {
        let mut index: Vec<(u32, u32)> = a
            .diagnostics
            .iter()
            .enumerate()
            .filter_map(|(i, d)| Some((d.exchange?.0, u32::try_from(i).ok()?)))
            .collect();
        index.sort_unstable();
        MatchContext {
            diagnostics: Some(index),
            ..MatchContext::light(a, notes)
        }
    }

    /// Without the index: lookups scan the diagnostics (fine for one exchange at a time).
    pub(crate) fn light(a: &'a Analysis, notes: &'a Notes) -> MatchContext<'a> {
        MatchContext {
            a,
            notes,
            diagnostics: None,
            start: time_origin(a),
        }
    }

    pub fn analysis(&self) -> &'a Analysis {
        self.a
    }
    pub fn notes(&self) -> &'a Notes {
        self.notes
    }

    /// The time `time` comparisons count from: [`time_origin`], the UI's and reports' origin.
    pub fn start(&self) -> Option<Ts> {
        self.start
    }

    /// Messages of the diagnostics attached to an exchange.
    pub fn diagnostics_of(&self, id: ExchId) -> impl Iterator<Item = &'a str> + '_ {
        let a = self.a;
        let (indexed, scanned): (&[(u32, u32)], &'a [crate::model::Diagnostic]) =
            match &self.diagnostics {
                Some(ix) => {
                    let lo = ix.partition_point(|(x, _)| *x < id.0);
                    let hi = ix.partition_point(|(x, _)| *x <= id.0);
                    (ix.get(lo..hi).unwrap_or(&[]), &[])
                }
                None => (&[], &a.diagnostics),
            };
        let from_index = indexed
            .iter()
            .filter_map(move |(_, i)| a.diagnostics.get(*i as usize));
        let from_scan = scanned.iter().filter(move |d| d.exchange == Some(id));
        from_index.chain(from_scan).map(|d| d.message.as_str())
    }

    fn has_diagnostic(&self, id: ExchId) -> bool {
        self.diagnostics_of(id).next().is_some()
    }

    fn connection(&self, x: &Exchange) -> Option<&'a Connection> {
        self.a.connections.get(x.connection.0 as usize)
    }
}

/// The one time origin of the UI and the reports: the first frame of the inputs (for a trace
/// archive, which has no frames, the first instant it recorded: a connection, a DNS message
/// or an exchange's first byte, whichever is earliest). The filter's `time` counts from it,
/// and `presentation::timeline` hands it on to the views.
pub fn time_origin(a: &Analysis) -> Option<Ts> {
    let frames = a.inputs.iter().filter_map(|i| i.first_frame);
    let conns = a.connections.iter().map(|c| c.first_seen);
    let exchanges = a
        .exchanges
        .iter()
        .filter_map(|x| x.timing.first())
        .map(|t| t.ts);
    let lookups = a.dns.iter().filter_map(|l| {
        l.query
            .map(|q| q.ts)
            .or(l.response.as_ref().map(|r| r.arrival.ts))
    });
    frames.chain(conns).chain(exchanges).chain(lookups).min()
}

pub(crate) fn eval(node: &Node, cx: &MatchContext<'_>, x: &Exchange) -> bool {
    match node {
        Node::Not(n) => !eval(n, cx, x),
        Node::And(v) => v.iter().all(|n| eval(n, cx, x)),
        Node::Or(v) => v.iter().any(|n| eval(n, cx, x)),
        Node::Pred(p) => pred(p, cx, x),
    }
}

fn pred(p: &Pred, cx: &MatchContext<'_>, x: &Exchange) -> bool {
    match p {
        Pred::All => true,
        Pred::Method(r) => x.request.as_ref().is_some_and(|q| r.is_match(&q.method)),
        Pred::Url(r) => url(cx, x).is_some_and(|u| r.is_match(&u)),
        Pred::Domain(r) => domains(cx, x).iter().any(|d| r.is_match(d)),
        Pred::Code(lo, hi) => x
            .response
            .as_ref()
            .is_some_and(|s| (*lo..=*hi).contains(&s.status)),
        Pred::Header(side, r) => {
            // One "Name: value" line per header, one regex run per message (multi-line mode
            // keeps ^ and $ per header).
            let mut block = String::new();
            let mut any = |h: &Headers| {
                header_block(h, &mut block);
                r.is_match(&block)
            };
            (wants_request(*side) && x.request.as_ref().is_some_and(|q| any(&q.headers)))
                || (wants_response(*side) && x.response.as_ref().is_some_and(|s| any(&s.headers)))
        }
        Pred::Body(side, r) => {
            let req = x.request.as_ref().and_then(|q| q.body.bytes());
            let resp = x.response.as_ref().and_then(|s| s.body.bytes());
            (wants_request(*side) && req.is_some_and(|b| r.is_match(b)))
                || (wants_response(*side) && resp.is_some_and(|b| r.is_match(b)))
        }
        Pred::ContentType(side, r) => {
            let req = x
                .request
                .as_ref()
                .and_then(|q| q.headers.get("content-type"));
            let resp = x
                .response
                .as_ref()
                .and_then(|s| s.headers.get("content-type"));
            (wants_request(*side) && req.is_some_and(|t| r.is_match(t)))
                || (wants_response(*side) && resp.is_some_and(|t| r.is_match(t)))
        }
        Pred::NoResponse => x.request.is_some() && x.response.is_none(),
        Pred::HasResponse => x.response.is_some(),
        Pred::Stage(m) => x.stage.as_ref().is_some_and(|s| m.is_match(&s.id)),
        Pred::Outcome(o) => x.stage.as_ref().is_some_and(|s| s.outcome == *o),
        Pred::Err => is_error(cx, x),
        Pred::Conn(ConnMatch::Id(n)) => x.connection.0 == *n,
        Pred::Conn(ConnMatch::Port(p)) => cx
            .connection(x)
            .is_some_and(|c| c.client.port() == *p || c.server.port() == *p),
        Pred::Tls => x.scheme == Scheme::Https || cx.connection(x).is_some_and(|c| c.tls.is_some()),
        Pred::Auth(m) => {
            let mut found = false;
            auth_schemes(x, &mut |s| {
                found = found || m.is_match(s);
            });
            found
        }
        Pred::Marked => cx.notes.is_marked(x.id),
        Pred::Comment(r) => {
            cx.notes.comment(x.id).is_some_and(|c| r.is_match(c))
                || x.annotations
                    .as_ref()
                    .and_then(|n| n.comment.as_deref())
                    .is_some_and(|c| r.is_match(c))
        }
        Pred::Src(r) => cx
            .connection(x)
            .is_some_and(|c| r.is_match(&c.client.to_string())),
        Pred::Dst(r) => cx
            .connection(x)
            .is_some_and(|c| r.is_match(&c.server.to_string())),
        Pred::Compare(field, op, value) => {
            field_value(cx, x, *field).is_some_and(|v| compare(*op, v, *value))
        }
    }
}

fn compare(op: CmpOp, left: f64, right: f64) -> bool {
    op.holds(left, right)
}

fn wants_request(side: Side) -> bool {
    side != Side::Response
}
fn wants_response(side: Side) -> bool {
    side != Side::Request
}

/// status ≥ 400, no response, capture not complete, a diagnostic on it, or its stage failed.
pub(crate) fn is_error(cx: &MatchContext<'_>, x: &Exchange) -> bool {
    let status_bad = match &x.response {
        Some(r) => r.status >= 400,
        None => true,
    };
    status_bad
        || x.capture != CaptureState::Full
        || x.stage.as_ref().is_some_and(|s| s.outcome == Outcome::Fail)
        || cx.has_diagnostic(x.id)
}

/// The value of a comparison field, in nanoseconds, bytes or as a plain number; `None` when
/// the exchange does not have it (then no comparison holds).
fn field_value(cx: &MatchContext<'_>, x: &Exchange, f: Field) -> Option<f64> {
    let t = &x.timing;
    match f {
        Field::Dur => Some(t.response_end()?.ts.0.saturating_sub(t.first()?.ts.0) as f64),
        Field::Ttfb => Some(t.response_start()?.ts.0.saturating_sub(t.first()?.ts.0) as f64),
        Field::Size => {
            let b = &x.response.as_ref()?.body;
            Some(b.decoded_length.unwrap_or(b.wire_length) as f64)
        }
        Field::ReqSize => {
            let b = &x.request.as_ref()?.body;
            Some(b.decoded_length.unwrap_or(b.wire_length) as f64)
        }
        Field::Status => Some(f64::from(x.response.as_ref()?.status)),
        Field::Time => Some(t.first()?.ts.0.saturating_sub(cx.start?.0) as f64),
    }
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// `scheme://host` + target, or the target itself when it is absolute (proxy requests) or
/// an authority (CONNECT). The host comes from the Host header, else the SNI, else the
/// server address.
pub fn url<'x>(cx: &MatchContext<'_>, x: &'x Exchange) -> Option<Cow<'x, str>> {
    let r = x.request.as_ref()?;
    let t = r.target.as_str();
    if starts_with_ignore_case(t, "http://")
        || starts_with_ignore_case(t, "https://")
        || r.method.eq_ignore_ascii_case("CONNECT")
    {
        return Some(Cow::Borrowed(t));
    }
    let conn = cx.connection(x);
    let host: Cow<'_, str> = match r.host() {
        Some(h) => Cow::Borrowed(h),
        None => match conn
            .and_then(|c| c.tls.as_ref())
            .and_then(|t| t.sni.as_deref())
        {
            Some(sni) => Cow::Borrowed(sni),
            None => Cow::Owned(conn.map(|c| c.server.to_string()).unwrap_or_default()),
        },
    };
    let path = if t == "*" { "" } else { t };
    Some(Cow::Owned(format!("{}://{host}{path}", x.scheme.as_str())))
}

/// Host names an exchange is about: Host header, the authority of an absolute or CONNECT
/// target, and the TLS SNI; ports stripped.
fn domains<'x>(cx: &MatchContext<'x>, x: &'x Exchange) -> Vec<&'x str> {
    let mut out = Vec::with_capacity(3);
    if let Some(r) = &x.request {
        if let Some(h) = r.host() {
            out.push(strip_port(h));
        }
        let t = r.target.as_str();
        let authority = if r.method.eq_ignore_ascii_case("CONNECT") {
            Some(t)
        } else {
            t.split_once("://")
                .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(rest))
        };
        if let Some(a) = authority {
            let a = a.rsplit('@').next().unwrap_or(a);
            out.push(strip_port(a));
        }
    }
    if let Some(sni) = cx
        .connection(x)
        .and_then(|c| c.tls.as_ref())
        .and_then(|t| t.sni.as_deref())
    {
        out.push(sni);
    }
    out
}

/// `host:443` → `host`, `[::1]:443` → `::1`; a bare IPv6 address stays whole.
fn strip_port(h: &str) -> &str {
    let h = h.trim();
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match h.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|c| c.is_ascii_digit()) => {
            host
        }
        _ => h,
    }
}

/// Authentication scheme names of an exchange: decoded auth facts (with `NTLM` / `Kerberos`
/// for what a Negotiate leg wraps, `X-MS-WebTicket` / `WebTicket` for web tickets) and the
/// first token of each Authorization / WWW-Authenticate (and Proxy-) header.
fn auth_schemes(x: &Exchange, f: &mut dyn FnMut(&str)) {
    if let Some(auth) = &x.auth {
        if let Some(leg) = &auth.request {
            match leg {
                AuthLeg::Ntlm(_) => f("NTLM"),
                AuthLeg::Negotiate { ntlm, kerberos } => {
                    f("Negotiate");
                    if ntlm.is_some() {
                        f("NTLM");
                    }
                    if *kerberos {
                        f("Kerberos");
                    }
                }
                AuthLeg::Bearer(_) => f("Bearer"),
                AuthLeg::WebTicket { .. } => {
                    f("X-MS-WebTicket");
                    f("WebTicket");
                }
                AuthLeg::Basic { .. } => f("Basic"),
                AuthLeg::Other { scheme } => f(scheme),
            }
        }
        for c in &auth.challenges {
            f(&c.scheme);
        }
    }
    if let Some(r) = &x.request {
        for name in ["authorization", "proxy-authorization"] {
            for v in r.headers.get_all(name) {
                if let Some(t) = first_token(v) {
                    f(t);
                }
            }
        }
        if r.headers.get("x-ms-webticket").is_some() {
            f("X-MS-WebTicket");
        }
    }
    if let Some(s) = &x.response {
        for name in ["www-authenticate", "proxy-authenticate"] {
            for v in s.headers.get_all(name) {
                if let Some(t) = first_token(v) {
                    f(t);
                }
            }
        }
    }
}

fn first_token(v: &str) -> Option<&str> {
    v.split_whitespace().next().map(|s| s.trim_end_matches(','))
}

/// `Name: value` lines of a header block, into `out` (cleared first).
fn header_block(h: &Headers, out: &mut String) {
    out.clear();
    for (n, v) in h.iter() {
        out.push_str(n);
        out.push_str(": ");
        out.push_str(v);
        out.push('\n');
    }
}

/// Calls `f` with the text of an exchange that global search covers: first every field as a
/// line of one block (one regex run instead of dozens), then each decoded body; stops at the
/// first call that returns true and returns whether one did.
pub(crate) fn any_text(
    cx: &MatchContext<'_>,
    x: &Exchange,
    f: &mut dyn FnMut(&[u8]) -> bool,
) -> bool {
    use std::fmt::Write;
    let mut block = String::new();
    let mut headers = String::new();
    let mut s = |t: &str| {
        block.push_str(t);
        block.push('\n');
        false
    };
    if let Some(r) = &x.request {
        s(&r.method);
        s(&r.target);
        s(&r.version);
        if let Some(u) = url(cx, x) {
            s(&u);
        }
        header_block(&r.headers, &mut headers);
        s(&headers);
    }
    if let Some(r) = &x.response {
        s(&r.status.to_string());
        s(&r.reason);
        s(&r.version);
        header_block(&r.headers, &mut headers);
        s(&headers);
    }
    if let Some(c) = cx.connection(x) {
        s(&c.client.to_string());
        s(&c.server.to_string());
        if let Some(t) = &c.tls {
            let texts = [
                &t.version,
                &t.cipher_suite,
                &t.sni,
                &t.alpn,
                &t.key_source,
                &t.reason,
            ];
            for v in texts.iter().filter_map(|v| v.as_deref()) {
                s(v);
            }
            if let Some(cert) = &t.certificate {
                s(&cert.subject);
                s(&cert.issuer);
                for n in &cert.sans {
                    s(n);
                }
            }
        }
    }
    if let Some(t) = &x.stage {
        s(&t.id);
        s(&t.rule);
        s(t.outcome.as_str());
        for v in [&t.via, &t.subkind, &t.note]
            .iter()
            .filter_map(|v| v.as_deref())
        {
            s(v);
        }
    }
    if let Some(auth) = &x.auth {
        auth_text(auth, &mut s);
    }
    if let Some(n) = &x.annotations {
        s(&n.origin.to_string());
        if let Some(c) = &n.comment {
            s(c);
        }
        for (k, v) in n.flags.iter() {
            let _ = writeln!(block, "{k}: {v}");
        }
    }
    if let Some(c) = cx.notes.comment(x.id) {
        block.push_str(c);
        block.push('\n');
    }
    for d in cx.diagnostics_of(x.id) {
        block.push_str(d);
        block.push('\n');
    }
    if f(block.as_bytes()) {
        return true;
    }
    // Bodies last: the biggest texts, searched only when nothing cheaper matched.
    let bodies = [
        x.request.as_ref().and_then(|r| r.body.bytes()),
        x.response.as_ref().and_then(|r| r.body.bytes()),
    ];
    if bodies.into_iter().flatten().any(&mut *f) {
        return true;
    }
    x.annotations
        .as_ref()
        .is_some_and(|n| n.websocket.iter().any(|m| f(&m.payload)))
}

/// Decoded authentication facts as text: users, domains, challenge parameters, diagnostics.
fn auth_text(auth: &crate::model::AuthFacts, s: &mut dyn FnMut(&str) -> bool) -> bool {
    use crate::model::NtlmMessage;
    let ntlm_text = |m: &NtlmMessage, s: &mut dyn FnMut(&str) -> bool| match m {
        NtlmMessage::Negotiate {
            domain,
            workstation,
            ..
        } => domain.as_deref().is_some_and(&mut *s) || workstation.as_deref().is_some_and(s),
        NtlmMessage::Challenge {
            target,
            target_info,
            ..
        } => target.as_deref().is_some_and(&mut *s) || target_info.iter().any(|(_, v)| s(v)),
        NtlmMessage::Authenticate {
            domain,
            user,
            workstation,
            ..
        } => s(domain) || s(user) || s(workstation),
    };
    let leg_hit = match &auth.request {
        Some(AuthLeg::Ntlm(m)) => ntlm_text(m, s),
        Some(AuthLeg::Negotiate { ntlm: Some(m), .. }) => ntlm_text(m, s),
        Some(AuthLeg::Bearer(t)) => s(&t.prefix),
        Some(AuthLeg::WebTicket {
            assertion_id,
            token,
        }) => assertion_id.as_deref().is_some_and(&mut *s) || s(&token.prefix),
        Some(AuthLeg::Basic { user }) => user.as_deref().is_some_and(&mut *s),
        Some(AuthLeg::Other { scheme }) => s(scheme),
        Some(AuthLeg::Negotiate { ntlm: None, .. }) | None => false,
    };
    leg_hit
        || auth.challenges.iter().any(|c| {
            s(&c.scheme)
                || c.params.iter().any(|(k, v)| s(k) || s(v))
                || c.ntlm.as_ref().is_some_and(|m| ntlm_text(m, s))
        })
        || auth.diagnostics.iter().any(|d| {
            s(&d.raw)
                || d.reason.as_deref().is_some_and(&mut *s)
                || d.source.as_deref().is_some_and(&mut *s)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_port_keeps_ipv6() {
        assert_eq!(strip_port("a.example:443"), "a.example");
        assert_eq!(strip_port("a.example"), "a.example");
        assert_eq!(strip_port("[2001:db8::1]:443"), "2001:db8::1");
        assert_eq!(strip_port("2001:db8::1"), "2001:db8::1");
    }
}
