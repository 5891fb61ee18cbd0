//! Authentication: the path each client took, rejected credentials, NTLM split across
//! connections, reverse-proxy pre-authentication, tickets and X-Ms-diagnostics.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::context::*;
use crate::model::{AuthLeg, ConnId, ExchId, Finding, FindingSeverity, Outcome};
use crate::stage::tokens::{Scope, TokenKind};

use FindingSeverity::{Fail, Info};

/// One way of getting a ticket, as seen: "MsRtcOAuth → NTLM (user CONTOSO\alice) at host".
struct AuthStep {
    how: &'static str,
    mech: Option<String>,
    user: Option<String>,
    grant: Option<String>,
    host: String,
    exchanges: Vec<ExchId>,
}

fn grant_name(raw: &str) -> String {
    match raw {
        "urn:microsoft.rtc:windows" => "windows".into(),
        "urn:microsoft.rtc:passive" => "passive".into(),
        "urn:microsoft.rtc:anonmeeting" => "anonmeeting".into(),
        _ => raw.to_string(),
    }
}

fn mechanism(leg: &AuthLeg) -> Option<String> {
    match leg {
        AuthLeg::Ntlm(_) => Some("NTLM".into()),
        AuthLeg::Negotiate { ntlm: Some(_), .. } => Some("Negotiate/NTLM".into()),
        AuthLeg::Negotiate { kerberos: true, .. } => Some("Kerberos".into()),
        AuthLeg::Negotiate { .. } => Some("Negotiate".into()),
        AuthLeg::Basic { .. } => Some("Basic".into()),
        _ => None,
    }
}

/// The type-1 leg a type 3 answers: the latest type 1 of the same client to the same URL.
fn matching_type1<'c, 'a>(cx: &'c Ctx<'a>, type3: &Item<'a>) -> Option<&'c Item<'a>> {
    cx.items.iter().rev().find(|j| {
        j.at() <= type3.at()
            && j.id() != type3.id()
            && j.client() == type3.client()
            && j.view.host == type3.view.host
            && j.view.path == type3.view.path
            && j.ntlm().is_some_and(|m| m.message_type() == 1)
    })
}

/// The type 3 went over another TCP connection than its type 1 (the split-handshake
/// case of `ntlm_split`).
fn split_from_type1(cx: &Ctx<'_>, type3: &Item<'_>) -> Option<ExchId> {
    let t1 = matching_type1(cx, type3)?;
    (t1.conn.id != type3.conn.id && type3.on_the_wire() && t1.on_the_wire()).then(|| t1.id())
}

/// The exchange went over HTTP/2 (the exchange's version, or ALPN h2 on its connection).
pub(super) fn on_http2(i: &Item<'_>) -> bool {
    i.ex.http_version == crate::model::HttpVersion::Http2
        || i.conn
            .tls
            .as_ref()
            .and_then(|t| t.alpn.as_deref())
            .is_some_and(|a| a.eq_ignore_ascii_case("h2"))
}

/// Why a response looks like reverse-proxy pre-authentication, if it does.
fn preauth_sign(i: &Item<'_>) -> Option<String> {
    let schemes: Vec<&str> = i
        .auth()
        .map(|a| a.challenges.iter().map(|c| c.scheme.as_str()).collect())
        .unwrap_or_default();
    let has = |s: &str| schemes.iter().any(|x| x.eq_ignore_ascii_case(s));
    if i.status() == Some(401) && has("Basic") {
        return Some("401 with WWW-Authenticate: Basic".into());
    }
    if i.stage() == "ad-user-challenge"
        && i.status() == Some(401)
        && !has("MsRtcOAuth")
        && !has("X-MS-WebTicketURL")
        && !has("Bearer")
    {
        return Some(format!(
            "401 without the MsRtcOAuth / X-MS-WebTicketURL hint (offered: {})",
            if schemes.is_empty() {
                "nothing".to_string()
            } else {
                schemes.join(", ")
            }
        ));
    }
    let location = i.resp_header("Location").unwrap_or("").to_ascii_lowercase();
    let body = i.resp_text().unwrap_or_default().to_ascii_lowercase();
    if location.contains("cookieauth.dll") || body.contains("cookieauth.dll") {
        return Some("a forms-login redirect (CookieAuth.dll)".into());
    }
    if AUTODISCOVER_STAGES.contains(&i.stage())
        && body.contains("<form")
        && body.contains("type=\"password\"")
    {
        return Some("an HTML login form".into());
    }
    None
}

/// Which authentication path each client took: only what it did; hosts named only in a
/// challenge are "offered, not used" (docs/checks.md C-AUTH-1, C-AUTH-11).
pub(super) fn path_taken(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    let mut by_client: BTreeMap<Option<IpAddr>, Vec<AuthStep>> = BTreeMap::new();
    let mut hints: BTreeMap<Option<IpAddr>, Vec<ExchId>> = BTreeMap::new();
    let modern = super::modern::by_client(cx);
    for i in &cx.items {
        let client = i.client();
        if i.stage() == "ad-user-challenge" {
            hints.entry(client).or_default().push(i.id());
            continue;
        }
        let how = match i.stage() {
            "webticket-oauth" => "MsRtcOAuth",
            "webticket-soap" if i.view.method == "POST" => "WebTicket SOAP",
            "modern-auth" => "modern auth",
            _ => continue,
        };
        let mech = i.leg().and_then(mechanism);
        let user = i.ntlm().and_then(ntlm_user);
        let grant = i
            .req_facts()
            .into_iter()
            .find(|(k, _)| k == "grant_type")
            .map(|(_, v)| grant_name(&v));
        let steps = by_client.entry(client).or_default();
        match steps
            .iter_mut()
            .rev()
            .find(|s| s.how == how && s.host == i.view.host)
        {
            Some(s) => {
                s.exchanges.push(i.id());
                s.mech = s.mech.take().or(mech);
                s.user = s.user.take().or(user);
                s.grant = s.grant.take().or(grant);
            }
            None => steps.push(AuthStep {
                how,
                mech,
                user,
                grant,
                host: i.view.host.clone(),
                exchanges: vec![i.id()],
            }),
        }
    }
    let clients: BTreeSet<Option<IpAddr>> = by_client
        .keys()
        .copied()
        .chain(modern.keys().copied())
        .collect();
    for client in clients {
        let steps = by_client.remove(&client).unwrap_or_default();
        let m = modern.get(&client);
        let mut parts: Vec<String> = Vec::new();
        let mut ids: Vec<ExchId> = hints.remove(&client).unwrap_or_default();
        for s in &steps {
            let mut p = s.how.to_string();
            match (&s.mech, &s.grant) {
                (Some(m), _) => p.push_str(&format!(" → {m}")),
                (None, Some(g)) if g != "windows" => p.push_str(&format!(" → {g} grant")),
                _ => {}
            }
            if let Some(u) = &s.user {
                p.push_str(&format!(" (user {u})"));
            }
            p.push_str(&format!(" at {}", s.host));
            if !parts.contains(&p) {
                parts.push(p);
            }
            ids.extend(&s.exchanges);
        }
        if let Some(m) = m.filter(|m| m.legs.is_empty() && !m.jwt_uses.is_empty()) {
            parts.push("modern auth (token obtained outside the capture)".into());
            ids.extend(&m.jwt_uses);
        }
        let not_used: Vec<String> = m
            .map(|m| {
                m.not_used()
                    .iter()
                    .map(|h| super::modern::idp_name(h))
                    .collect()
            })
            .unwrap_or_default();
        if parts.is_empty() && not_used.is_empty() {
            continue;
        }
        let mut message = format!(
            "auth path: {}",
            if parts.is_empty() {
                "none seen".to_string()
            } else {
                parts.join("; ")
            }
        );
        if !not_used.is_empty() {
            message.push_str(&format!("; offered, not used: {}", not_used.join(", ")));
            if let Some(m) = m {
                ids.extend(m.offered.values().flatten());
            }
        }
        out.push(check.finding(Info, message, ids, Vec::new(), Vec::new()));
    }
}

/// NTLM type 3 answered 401 — the credentials were rejected.
pub(super) fn rejected_ntlm(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<(String, String, String), Vec<ExchId>> = BTreeMap::new();
    for i in &cx.items {
        if !i.is_lync() || i.status() != Some(401) {
            continue;
        }
        let Some(m) = i.ntlm().filter(|m| m.message_type() == 3) else {
            continue;
        };
        // Split across connections is `ntlm_split`'s explanation, not a wrong password.
        if split_from_type1(cx, i).is_some() {
            continue;
        }
        let user = ntlm_user(m).unwrap_or_else(|| "(no user name)".into());
        groups
            .entry((i.view.host.clone(), i.view.path.clone(), user))
            .or_default()
            .push(i.id());
    }
    for ((host, path, user), ids) in groups {
        let h2 = ids.iter().filter_map(|id| cx.item(*id)).any(on_http2);
        out.push(check.finding(
            Fail,
            format!(
                "NTLM credentials rejected at {host}{path} ({}): the server answered the type-3 \
                 message of {user} with 401 again (wrong password, locked or disabled account, \
                 or UPN vs SIP address mismatch). Check the account and sign in with the \
                 matching user name.{}",
                refs(&ids, ex_ref),
                if h2 {
                    " The legs ran over HTTP/2, which IIS does not do Windows authentication \
                     over: C-H2-1 is the likely cause."
                } else {
                    ""
                }
            ),
            ids,
            Vec::new(),
            Vec::new(),
        ));
    }
}

/// The same URL answered 401 three times without a success between.
pub(super) fn repeated_401(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    type Key = (Option<IpAddr>, String, String);
    let mut runs: BTreeMap<Key, Vec<ExchId>> = BTreeMap::new();
    let mut flagged: BTreeMap<Key, Vec<ExchId>> = BTreeMap::new();
    for i in &cx.items {
        // The first 401 of the user resource is how the client learns where to authenticate;
        // the UCWA probe expects a 401; a host asking once for a token of its own is normal.
        if !i.is_lync() || matches!(i.stage(), "ad-user-challenge" | "ucwa-probe") {
            continue;
        }
        if i.tag.rule == "token-outside-scope" && i.tag.outcome == Outcome::Challenge {
            continue;
        }
        let key = (i.client(), i.view.method.to_string(), url_key(&i.view.url));
        match i.status() {
            Some(401) => {
                // NTLM legs are the handshake, and a rejected type 3 is reported above.
                if i.ntlm().is_some() {
                    continue;
                }
                let run = runs.entry(key.clone()).or_default();
                run.push(i.id());
                if run.len() >= 3 {
                    flagged.insert(key, run.clone());
                }
            }
            Some(s) if (200..400).contains(&s) => {
                runs.remove(&key);
            }
            _ => {}
        }
    }
    for ((_, method, url), ids) in flagged {
        out.push(check.finding(
            Fail,
            format!(
                "401 loop: {method} {url} was answered 401 {} times in a row without a success \
                 ({}). The credentials or ticket are not accepted (wrong password, ticket from \
                 another pool or expired, clock skew) or a reverse proxy strips the \
                 Authorization header.",
                ids.len(),
                refs(&ids, ex_ref)
            ),
            ids,
            Vec::new(),
            Vec::new(),
        ));
    }
}

/// NTLM legs on different TCP connections.
pub(super) fn ntlm_split(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<String, (Vec<ExchId>, Vec<ConnId>)> = BTreeMap::new();
    for i in &cx.items {
        if !i.is_lync() || i.ntlm().is_none_or(|m| m.message_type() != 3) {
            continue;
        }
        // A type 3 that worked on another connection did no harm.
        if i.status().is_some_and(|s| (200..300).contains(&s)) {
            continue;
        }
        let Some(t1) = split_from_type1(cx, i).and_then(|id| cx.item(id)) else {
            continue;
        };
        let g = groups.entry(i.view.host.clone()).or_default();
        g.0.extend([t1.id(), i.id()]);
        g.1.extend([t1.conn.id, i.conn.id]);
    }
    for (host, (ids, conns)) in groups {
        out.push(check.finding(
            Fail,
            format!(
                "NTLM handshake split across TCP connections at {host}: type 1 and type 3 went \
                 over different connections ({}; {}). NTLM is connection-oriented — the \
                 reverse proxy / load balancer is not keeping the client connection bound to \
                 one server (needs connection/source affinity).",
                refs(&ids, ex_ref),
                refs(&conns, conn_ref)
            ),
            ids,
            Vec::new(),
            conns,
        ));
    }
}

/// A reverse proxy authenticating in place of Lync.
pub(super) fn rp_preauth(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<String, (BTreeSet<String>, Vec<ExchId>)> = BTreeMap::new();
    for i in cx
        .items
        .iter()
        .filter(|i| i.is_lync() && i.stage() != "ucwa-probe")
    {
        if let Some(why) = preauth_sign(i) {
            let g = groups.entry(i.view.host.clone()).or_default();
            g.0.insert(why);
            g.1.push(i.id());
        }
    }
    for (host, (whys, ids)) in groups {
        out.push(check.finding(
            Fail,
            format!(
                "{host} answered with {} ({}): the reverse proxy authenticates in place of \
                 Lync (pre-authentication), so the mobile client never sees the MsRtcOAuth hint \
                 and cannot find the WebTicket service. Disable pre-auth on the Lync publishing \
                 rules (/Autodiscover/*, /WebTicket/*, /ucwa/*).",
                whys.into_iter().collect::<Vec<_>>().join("; "),
                refs(&ids, ex_ref)
            ),
            ids,
            Vec::new(),
            Vec::new(),
        ));
    }
}

/// Where `host` itself says to get a token: its own MsRtcOAuth `href` or Bearer
/// `authorization_uri`.
fn own_token_source(cx: &Ctx<'_>, host: &str) -> Option<String> {
    cx.items
        .iter()
        .filter(|i| i.view.host == host)
        .filter_map(|i| i.auth())
        .flat_map(|a| a.challenges.iter())
        .find_map(|c| {
            if c.scheme.eq_ignore_ascii_case("msrtcoauth") {
                c.param("href").map(str::to_string)
            } else if c.scheme.eq_ignore_ascii_case("bearer") {
                c.param("authorization_uri").map(str::to_string)
            } else {
                None
            }
        })
}

/// A token rejected by a host: the marker, or a repeated / in-scope fresh challenge.
fn rejected(i: &Item<'_>) -> bool {
    matches!(i.status(), Some(401 | 403 | 500))
        && (i.token_rejection().is_some()
            || (i.tag.outcome == Outcome::Fail
                && matches!(
                    i.tag.rule.as_str(),
                    "token-rejected" | "token-outside-scope"
                )))
}

/// A token presented outside its scope and rejected (wrong pool, wrong audience).
pub(super) fn ticket_other_pool(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    type Group = (
        Vec<ExchId>,
        Option<ExchId>,
        Option<String>,
        TokenKind,
        Option<String>,
    );
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    for i in cx.items.iter().filter(|i| i.is_lync() && rejected(i)) {
        let Some(leg) = i.token() else { continue };
        if cx.learned.tokens.scope(leg, &i.view.host) != Scope::Out {
            continue;
        }
        let Some(t) = cx.learned.tokens.of(leg) else {
            continue;
        };
        let g = groups
            .entry((i.view.host.clone(), t.issuer.clone()))
            .or_insert_with(|| (Vec::new(), None, None, t.kind, t.audience.clone()));
        g.0.push(i.id());
        g.0.push(t.exch);
        g.1.get_or_insert(t.exch);
        if g.2.is_none() {
            g.2 = i.auth().and_then(|a| {
                a.diagnostics
                    .iter()
                    .find(|d| {
                        d.code
                            .is_some_and(|c| crate::stage::auth::TOKEN_REJECTION_IDS.contains(&c))
                    })
                    .map(|d| d.raw.trim().to_string())
            });
        }
    }
    for ((host, issuer), (ids, issued_at, diag, kind, audience)) in groups {
        let diag = diag
            .map(|d| format!(" (X-Ms-diagnostics: {d})"))
            .unwrap_or_default();
        let at = issued_at
            .map(|x| format!(" at {}", ex_ref(x)))
            .unwrap_or_default();
        let source = own_token_source(cx, &host)
            .map(|u| format!(" Get a token from {u} (named by {host}'s own challenge)."))
            .unwrap_or_default();
        let message = match kind {
            TokenKind::WebTicket => format!(
                "{host} rejected a ticket issued by {issuer}{at}{diag} ({}): web tickets are \
                 pool-scoped — {host} belongs to another pool than {issuer}, so the client must \
                 re-authenticate there (MsRtcOAuth → /WebTicket/oauthtoken of {host}'s pool). If \
                 it does not, check the Autodiscover redirect and that this pool's WebTicket \
                 service is published.{source}",
                refs(&ids, ex_ref)
            ),
            TokenKind::Jwt => format!(
                "{host} rejected a token issued by {issuer}{at}{diag} ({}): the token's audience \
                 is {}, not {host} — a modern-auth token is valid only for its resource. The \
                 client must request a token for {host}.{source}",
                refs(&ids, ex_ref),
                audience.as_deref().unwrap_or("another resource")
            ),
        };
        out.push(check.finding(Fail, message, ids, Vec::new(), Vec::new()));
    }
}

/// The request ids SfB Online answers carry (what Microsoft support asks for).
fn online_ids(i: &Item<'_>) -> String {
    let ids: Vec<String> = ["X-Ms-Correlation-Id", "X-Ms-Client-Request-Id"]
        .iter()
        .filter_map(|h| i.resp_header(h).map(|v| format!("{h}: {}", v.trim())))
        .collect();
    if ids.is_empty() {
        format!("the time of {} and the user", ex_ref(i.id()))
    } else {
        ids.join(", ")
    }
}

/// A token or web ticket rejected by a host that should have taken it (docs/checks.md
/// C-AUTH-9): not a policy refusal, not a server fault.
pub(super) fn token_rejected(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    // Rejections of the same request by the same host are one finding (a retry rejected
    // again is a loop): client, host, method, URL → the items, in order.
    type Key = (Option<IpAddr>, String, String, String);
    let mut groups: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
    for (n, i) in cx.items.iter().enumerate() {
        if !i.is_lync() || i.stage() == "ucwa-probe" || !rejected(i) {
            continue;
        }
        let Some(leg) = i.token() else { continue };
        // Outside its scope, the finding is C-AUTH-5.
        if cx.learned.tokens.scope(leg, &i.view.host) == Scope::Out {
            continue;
        }
        groups
            .entry((
                i.client(),
                i.view.host.clone(),
                i.view.method.to_string(),
                url_key(&i.view.url),
            ))
            .or_default()
            .push(n);
    }
    for idxs in groups.into_values() {
        let Some(&n) = idxs.last() else { continue };
        let i = &cx.items[n];
        let Some(leg) = i.token() else { continue };
        let earlier: Vec<ExchId> = idxs[..idxs.len() - 1]
            .iter()
            .map(|&k| cx.items[k].id())
            .collect();
        let issued = cx.learned.tokens.of(leg);
        let what = match (leg, issued.map(|t| t.kind)) {
            (_, Some(TokenKind::Jwt)) => "OAuth token",
            (AuthLeg::WebTicket { .. }, _) => "web ticket",
            (AuthLeg::Bearer(t), _) if t.cwt => "web ticket",
            _ => "OAuth token",
        };
        let mut detail = vec![i.status().unwrap_or(0).to_string()];
        if let Some(d) = i.auth().and_then(|a| {
            a.diagnostics.iter().find(|d| {
                d.code
                    .is_some_and(|c| crate::stage::auth::TOKEN_REJECTION_IDS.contains(&c))
            })
        }) {
            detail.push(format!(
                "{}: {}",
                d.code.unwrap_or_default(),
                d.reason.as_deref().unwrap_or("")
            ));
        }
        if let Some(w) = i.resp_header("Warning") {
            detail.push(format!("Warning {}", w.trim()));
        }
        if i.token_rejection().is_none() {
            detail.push("a fresh challenge".into());
        }
        let mut exchanges = earlier.clone();
        exchanges.push(i.id());
        let again = match earlier.len() {
            0 => String::new(),
            1 => format!(", again after {} had been rejected", ex_ref(earlier[0])),
            _ => format!(", again after {} had been rejected", refs(&earlier, ex_ref)),
        };
        let origin = match issued {
            Some(t) => {
                exchanges.push(t.exch);
                let age = i.at().secs_since(t.at);
                format!(
                    " The token came from {} at {} ({:.0} s old{}).",
                    t.issuer,
                    ex_ref(t.exch),
                    age.max(0.0),
                    t.expires_in
                        .map(|e| format!(", expires_in {e} s"))
                        .unwrap_or_default()
                )
            }
            None => " The token was obtained before the capture started.".into(),
        };
        let clock = issued.is_some_and(|t| {
            let age = i.at().secs_since(t.at);
            let early_expiry = i.auth().is_some_and(|a| {
                a.diagnostics
                    .iter()
                    .any(|d| matches!(d.code, Some(28033 | 28056)))
            }) && t.expires_in.is_some_and(|e| age < e as f64);
            age < 300.0 || early_expiry
        });
        // Renewed and retried with success: a normal refresh.
        let renewed = cx.items[n + 1..].iter().find(|j| {
            j.client() == i.client()
                && matches!(
                    j.stage(),
                    "webticket-oauth" | "webticket-soap" | "modern-auth"
                )
                && j.tag.outcome == Outcome::Ok
        });
        let retried = renewed.and_then(|r| {
            cx.items[n + 1..].iter().find(|j| {
                j.at() >= r.at()
                    && j.client() == i.client()
                    && j.view.method == i.view.method
                    && url_key(&j.view.url) == url_key(&i.view.url)
                    && j.status().is_some_and(|s| (200..300).contains(&s))
            })
        });
        let (severity, tail) = match (renewed, retried) {
            (Some(r), Some(j)) => {
                exchanges.extend([r.id(), j.id()]);
                (
                    Info,
                    format!(
                        " The client obtained a new token from {} ({}) and the retry succeeded \
                         ({}) — no action.",
                        r.view.host,
                        ex_ref(r.id()),
                        ex_ref(j.id())
                    ),
                )
            }
            _ if crate::stage::hosts::is_online_host(&i.view.host) => (
                Fail,
                format!(
                    " The client did not obtain a new token (or the new one was rejected too): \
                     sign-in stops here. SfB Online wants a token of its own for each host: check \
                     that the token was requested for https://{} (resource / audience) and the \
                     device clock (C-TIME-1){}; if it persists, open a case with Microsoft quoting \
                     {}.",
                    i.view.host,
                    if clock {
                        " — the token was rejected soon after it was issued"
                    } else {
                        ""
                    },
                    online_ids(i)
                ),
            ),
            _ => (
                Fail,
                format!(
                    " The client did not obtain a new token (or the new one was rejected too): \
                     sign-in stops here. Check that the token was requested for this host \
                     (resource / audience), the clocks (C-TIME-1){}, and that {} trusts the \
                     issuer.",
                    if clock {
                        " — the token was rejected soon after it was issued"
                    } else {
                        ""
                    },
                    i.view.host
                ),
            ),
        };
        out.push(check.finding(
            severity,
            format!(
                "{} rejected the {what} on {} {} ({}; {}{again}).{origin}{tail} This is a token \
                 problem, not a mobility-policy refusal.",
                i.view.host,
                i.view.method,
                i.view.path,
                detail.join("; "),
                ex_ref(i.id())
            ),
            exchanges,
            Vec::new(),
            Vec::new(),
        ));
    }
}

/// Every X-Ms-diagnostics header, verbatim, with its stage.
pub(super) fn ms_diagnostics(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    type Group = (Vec<ExchId>, bool, BTreeSet<String>);
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    for i in &cx.items {
        let Some(a) = i.auth() else { continue };
        for d in &a.diagnostics {
            let g = groups
                .entry((d.raw.trim().to_string(), i.stage().to_string()))
                .or_default();
            g.0.push(i.id());
            g.1 |= i.tag.outcome == Outcome::Fail;
            g.2.insert(i.view.host.clone());
        }
    }
    for ((raw, stage), (ids, failed, hosts)) in groups {
        out.push(check.finding(
            if failed { Fail } else { Info },
            format!(
                "X-Ms-diagnostics at {} ({}, {}): {raw}",
                cx.rules.label(&stage),
                refs(&ids, ex_ref),
                hosts.into_iter().collect::<Vec<_>>().join(", ")
            ),
            ids,
            Vec::new(),
            Vec::new(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::checks::fixtures::*;

    #[test]
    fn split_ntlm_legs_and_rejected_credentials() {
        let mut cap = Cap::new(time_base(2015, 6, 29, 18, 30));
        let host = "webext-pool1.contoso.com";
        let tok = "/WebTicket/oauthtoken";
        let c0 = cap.tls(CLIENT_B, "203.0.113.10:443", 0.0, host, cert_ext(), false);
        let c1 = cap.tls(CLIENT_B, "203.0.113.10:443", 0.5, host, cert_ext(), false);
        cap.http(
            c0,
            0.1,
            0.02,
            post(host, tok, GRANT).h("Authorization", format!("NTLM {}", ntlm(1))),
            Some((
                401,
                vec![("WWW-Authenticate", format!("NTLM {}", ntlm(2)))],
                "",
            )),
        );
        cap.http(
            c1,
            0.6,
            0.02,
            post(host, tok, GRANT).h("Authorization", format!("NTLM {}", ntlm(3))),
            Some((401, vec![("WWW-Authenticate", "NTLM".into())], "")),
        );
        let f = cap.run();
        let split = find(&f, "C-AUTH-3");
        assert_eq!(split.severity, Fail);
        assert_eq!(split.connections, vec![ConnId(0), ConnId(1)]);
        assert!(
            f.iter().all(|x| x.check != "C-AUTH-2"),
            "{:#?}",
            checks_of(&f)
        );

        // The same legs on one connection: the password is wrong.
        let mut cap = Cap::new(time_base(2015, 6, 29, 18, 30));
        let c0 = cap.tls(CLIENT_B, "203.0.113.10:443", 0.0, host, cert_ext(), false);
        cap.http(
            c0,
            0.1,
            0.02,
            post(host, tok, GRANT).h("Authorization", format!("NTLM {}", ntlm(1))),
            Some((
                401,
                vec![("WWW-Authenticate", format!("NTLM {}", ntlm(2)))],
                "",
            )),
        );
        cap.http(
            c0,
            0.2,
            0.02,
            post(host, tok, GRANT).h("Authorization", format!("NTLM {}", ntlm(3))),
            Some((401, vec![("WWW-Authenticate", "NTLM".into())], "")),
        );
        let f = cap.run();
        let rejected = find(&f, "C-AUTH-2");
        assert!(
            rejected.message.contains("CONTOSO\\alice"),
            "{}",
            rejected.message
        );
        assert!(rejected
            .message
            .contains("webext-pool1.contoso.com/webticket/oauthtoken"));
        assert!(f.iter().all(|x| x.check != "C-AUTH-3"));
    }

    #[test]
    fn ticket_from_another_pool_and_ms_diagnostics() {
        let (mut cap, _) = external_until_user((
            200,
            user_links(
                "webext-pool1.contoso.com",
                "redirect",
                &format!("https://webext-pool2.contoso.com{USER_PATH}"),
            ),
        ));
        let c4 = cap.tls(
            CLIENT_B,
            "203.0.113.11:443",
            5.475,
            "webext-pool2.contoso.com",
            cert_ext(),
            false,
        );
        cap.fqdn = "fe21.contoso.net";
        let diag = "28032;source=\"fe21.contoso.net\";reason=\"The web ticket is invalid.\"";
        cap.http(
            c4,
            5.6,
            0.1,
            get("webext-pool2.contoso.com", USER_PATH).h("Authorization", format!("Bearer {TB1}")),
            Some((500, vec![("X-Ms-diagnostics", diag.to_string())], "")),
        );
        let f = cap.run();
        let pool = find(&f, "C-AUTH-5");
        assert_eq!(pool.severity, Fail);
        assert!(pool.message.starts_with("webext-pool2.contoso.com rejected a ticket issued by webext-pool1.contoso.com at #4"), "{}", pool.message);
        assert!(pool.message.contains("The web ticket is invalid."));
        assert_eq!(pool.exchanges, vec![ExchId(4), ExchId(6)]);
        let d = find(&f, "C-AUTH-6");
        assert_eq!(d.severity, Fail);
        assert!(d.message.ends_with(diag), "{}", d.message);
    }

    #[test]
    fn reverse_proxy_pre_authentication() {
        let (mut cap, c2) = scenario_b_start();
        cap.fqdn = "";
        cap.http(
            c2,
            4.5,
            0.05,
            get("webext-pool1.contoso.com", USER_PATH),
            Some((
                401,
                vec![
                    (
                        "WWW-Authenticate",
                        "Basic realm=\"webext-pool1.contoso.com\"".into(),
                    ),
                    ("Server", "BigIP".into()),
                ],
                "",
            )),
        );
        let f = cap.run();
        let pre = find(&f, "C-AUTH-4");
        assert_eq!(pre.severity, Fail);
        assert!(
            pre.message.contains("401 with WWW-Authenticate: Basic"),
            "{}",
            pre.message
        );
        assert!(pre.message.contains("Disable pre-auth"), "{}", pre.message);
    }
}
