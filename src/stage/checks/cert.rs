//! Certificates on the TLS connections of the Lync flow: names, validity, issuer.

use std::collections::{BTreeMap, BTreeSet};

use super::context::*;
use crate::datetime::parse_iso8601 as parse_rfc3339;
use crate::model::{
    CertificateInfo, ConnId, Connection, ExchId, Finding, FindingSeverity, Outcome,
};
use crate::stage::classify::UNRELATED;

use FindingSeverity::{Fail, Info, Warning};

/// Issuer name fragments of public CAs: an issuer containing one of these is trusted by phones
/// out of the box.
const PUBLIC_CA_FRAGMENTS: [&str; 26] = [
    "digicert",
    "globalsign",
    "sectigo",
    "comodo",
    "godaddy",
    "go daddy",
    "entrust",
    "let's encrypt",
    "isrg",
    "thawte",
    "verisign",
    "geotrust",
    "symantec",
    "amazon",
    "microsoft rsa tls",
    "microsoft azure tls",
    "baltimore",
    "quovadis",
    "swisssign",
    "buypass",
    "certum",
    "identrust",
    "starfield",
    "network solutions",
    "public ca",
    "usertrust",
];

/// A TLS connection to a Lync host and the name the client asked for.
struct TlsSeen<'a> {
    conn: &'a Connection,
    cert: &'a CertificateInfo,
    name: String,
    /// The connection carried at least one HTTP exchange (the client went on).
    used: bool,
}

/// TLS connections (with a certificate) that belong to the Lync flow; Exchange candidates
/// are left to the Exchange checks unless `include_exchange`.
fn lync_tls<'a>(cx: &Ctx<'a>, include_exchange: bool) -> Vec<TlsSeen<'a>> {
    lync_tls_named(cx, include_exchange)
        .into_iter()
        .filter_map(|(conn, name)| {
            let cert = conn.tls.as_ref()?.certificate.as_ref()?;
            Some(TlsSeen {
                conn,
                cert,
                name,
                used: !conn.exchanges.is_empty(),
            })
        })
        .collect()
}

/// TLS connections that belong to the Lync flow, certificate read or not (TLS 1.3 without
/// keys hides it), with the name the client asked for.
fn lync_tls_named<'a>(cx: &Ctx<'a>, include_exchange: bool) -> Vec<(&'a Connection, String)> {
    let mut out = Vec::new();
    for c in &cx.a.connections {
        let Some(tls) = &c.tls else { continue };
        let first_item = c.exchanges.iter().find_map(|id| cx.item(*id));
        let stage = c
            .stage
            .as_ref()
            .map(|t| t.id.as_str())
            .or(first_item.map(|i| i.stage()));
        let name = tls
            .sni
            .as_ref()
            .map(|s| s.trim_end_matches('.').to_ascii_lowercase())
            .or_else(|| first_item.map(|i| i.view.host.clone()));
        let Some(name) = name else { continue };
        let related = match stage {
            Some(s) if s.starts_with("exchange-") => include_exchange,
            Some(s) => s != UNRELATED,
            None => cx.learned.lync_hosts.contains(&name) || discovery_name(&name).is_some(),
        };
        if related {
            out.push((c, name));
        }
    }
    out
}

/// The HTTP Autodiscover root of this discovery name's domain answered: the client can do
/// without HTTPS on the discovery name.
fn http_root_ok(cx: &Ctx<'_>, name: &str) -> Option<ExchId> {
    let (_, d) = discovery_name(name)?;
    cx.items
        .iter()
        .find(|i| {
            i.stage() == "ad-root-http"
                && matches!(i.tag.outcome, Outcome::Ok | Outcome::Redirect)
                && discovery_name(&i.view.host).is_some_and(|(_, x)| x == d)
        })
        .map(|i| i.id())
}

/// Uncovered TLS connections grouped by (name, certificate names).
fn uncovered_groups<'s, 'a>(
    seen: &'s [TlsSeen<'a>],
) -> BTreeMap<(String, String), Vec<&'s TlsSeen<'a>>> {
    let mut groups: BTreeMap<(String, String), Vec<&'s TlsSeen<'a>>> = BTreeMap::new();
    for s in seen {
        if !cert_covers_host(s.cert, &s.name) {
            groups
                .entry((s.name.clone(), cert_names(s.cert)))
                .or_default()
                .push(s);
        }
    }
    groups
}

/// How the client reacted on the connections, for messages.
fn client_reaction(group: &[&TlsSeen<'_>]) -> String {
    let ids: Vec<ConnId> = group.iter().map(|s| s.conn.id).collect();
    let times = match group.len() {
        1 => "once".to_string(),
        2 => "twice".to_string(),
        n => format!("{n} times"),
    };
    // A ClientHello and an alert are a few hundred bytes; a request would be more.
    if group
        .iter()
        .all(|s| !s.used && s.conn.payload_bytes[0] < 4096)
    {
        format!(
            "The client closed the connection without sending a request, {times} ({})",
            refs(&ids, conn_ref)
        )
    } else if group.iter().all(|s| s.used) {
        format!(
            "The client went on anyway ({}); mobile clients that check the name abort here",
            refs(&ids, conn_ref)
        )
    } else {
        format!("Connections: {}", refs(&ids, conn_ref))
    }
}

/// Does the issuer look like an internal enterprise CA (not a known public CA, and named
/// after the organisation or as an issuing/enterprise CA)?
fn internal_ca(issuer: &str, org_labels: &[String]) -> bool {
    let issuer = issuer.to_ascii_lowercase();
    if issuer.is_empty() || PUBLIC_CA_FRAGMENTS.iter().any(|f| issuer.contains(f)) {
        return false;
    }
    org_labels.iter().any(|l| issuer.contains(l.as_str()))
        || issuer.contains("issuing ca")
        || issuer.contains("enterprise")
}

/// The certificate does not cover the name the client asked for.
pub(super) fn name_not_covered(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    let seen = lync_tls(cx, false);
    for ((name, names), group) in uncovered_groups(&seen) {
        // The Online certificate on a name CNAMEd to Online is C-ONLINE-1's.
        if cx.online_vanity.contains(&name) {
            continue;
        }
        let server = group[0].conn.server;
        let http_ok = http_root_ok(cx, &name);
        let severity = if group.iter().all(|s| s.used) || http_ok.is_some() {
            Warning
        } else {
            Fail
        };
        let d = parent_domain(&name);
        let fallback = if discovery_name(&name).is_some() {
            format!(", or publish Autodiscover on HTTP/80 (http://{name} → FE 8080)")
        } else {
            String::new()
        };
        let http_note = http_ok
            .map(|id| {
                format!(
                    " The HTTP Autodiscover root answered ({}), so discovery itself got through.",
                    ex_ref(id)
                )
            })
            .unwrap_or_default();
        out.push(check.finding(
            severity,
            format!(
                "TLS to {name} ({server}) presented a certificate that does not cover {name} \
                 (names: {names}; subject {}). {}. Publish a certificate with {name} in the \
                 SAN (or a wildcard *.{d}){fallback}.{http_note}",
                group[0].cert.subject,
                client_reaction(&group),
            ),
            http_ok.into_iter().collect(),
            Vec::new(),
            group.iter().map(|s| s.conn.id).collect(),
        ));
    }
}

/// The certificate answering for lyncdiscover(internal).<d> lacks that name.
pub(super) fn lyncdiscover_san(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    let seen = lync_tls(cx, false);
    for ((name, names), group) in uncovered_groups(&seen) {
        if cx.online_vanity.contains(&name) {
            continue;
        }
        let Some((internal, d)) = discovery_name(&name) else {
            continue;
        };
        let server = group[0].conn.server;
        let http_ok = http_root_ok(cx, &name);
        let (who, fallback) = if internal {
            (
                "Front End",
                format!("or publish http://{name} (FE internal web site on port 80)"),
            )
        } else {
            (
                "reverse-proxy",
                format!("or publish http://{name} (port 80 → FE 8080)"),
            )
        };
        let severity = if http_ok.is_some() { Warning } else { Fail };
        out.push(check.finding(
            severity,
            format!(
                "TLS to {name} ({server}) presented a certificate whose SAN list ({names}) does \
                 not include {name}. {}{}. Fix: add {name} (or *.{d}) to the {who} \
                 certificate, {fallback} so the first request does not need it.",
                client_reaction(&group),
                if http_ok.is_some() {
                    "; the HTTP root answered, so only HTTPS discovery is affected"
                } else {
                    " and never sent the Autodiscover request"
                },
            ),
            http_ok.into_iter().collect(),
            Vec::new(),
            group.iter().map(|s| s.conn.id).collect(),
        ));
    }
}

/// Certificate validity against the capture time, and a chain sent without its
/// intermediate.
pub(super) fn validity(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    let seen = lync_tls(cx, true);
    let mut groups: BTreeMap<(String, String, bool), Vec<&TlsSeen<'_>>> = BTreeMap::new();
    for s in &seen {
        let at = s.conn.first_seen;
        if !real_time(at) {
            continue;
        }
        let expired = parse_rfc3339(&s.cert.not_after).is_some_and(|t| at > t);
        let early = parse_rfc3339(&s.cert.not_before).is_some_and(|t| at < t);
        if expired || early {
            groups
                .entry((s.name.clone(), s.cert.subject.clone(), expired))
                .or_default()
                .push(s);
        }
    }
    for ((name, subject, expired), group) in groups {
        let cert = group[0].cert;
        let when = show_time(group[0].conn.first_seen);
        let ids: Vec<ConnId> = group.iter().map(|s| s.conn.id).collect();
        let message = if expired {
            format!(
                "The certificate of {name} ({subject}, issued by {}) expired on {} but was \
                 presented on {when} ({}): clients refuse it. Renew the certificate (and check \
                 the capture clock if the date looks wrong).",
                cert.issuer,
                cert.not_after,
                refs(&ids, conn_ref)
            )
        } else {
            format!(
                "The certificate of {name} ({subject}) is valid only from {} but was presented \
                 on {when} ({}): a clock is wrong (device, server or capture) or the \
                 certificate is not valid yet. Clients refuse it.",
                cert.not_before,
                refs(&ids, conn_ref)
            )
        };
        out.push(check.finding(Fail, message, Vec::new(), Vec::new(), ids));
    }
    // The server sent only its leaf, not self-signed: the intermediate is missing.
    let mut leaf_only: BTreeMap<(String, String), Vec<ConnId>> = BTreeMap::new();
    for s in &seen {
        let Some(tls) = s.conn.tls.as_ref() else {
            continue;
        };
        if tls.chain.len() == 1 && !tls.chain[0].self_signed && !tls.chain[0].unparsed {
            leaf_only
                .entry((s.name.clone(), s.cert.issuer.clone()))
                .or_default()
                .push(s.conn.id);
        }
    }
    for ((name, issuer), ids) in leaf_only {
        out.push(check.finding(
            Warning,
            format!(
                "{name} sent only its own certificate, without the intermediate CA {issuer} ({}): \
                 clients that do not already have that intermediate (iOS Lync among them) fail \
                 certificate verification. Add the intermediate to the chain the reverse proxy / \
                 HLB / server sends.",
                refs(&ids, conn_ref)
            ),
            Vec::new(),
            Vec::new(),
            ids,
        ));
    }
}

/// Why a client would reject this certificate, from the certificate and chain the server sent
/// (docs/checks.md C-CERT-7: first match wins, checked against the alert).
fn likely_cause(cx: &Ctx<'_>, s: &TlsSeen<'_>, alert: Option<u8>) -> String {
    let tls = s.conn.tls.as_ref();
    let chain = tls.map(|t| t.chain.as_slice()).unwrap_or_default();
    let labels = cx.org_labels();
    let at = s.conn.first_seen;
    let mismatch = !cert_covers_host(s.cert, &s.name);
    // The trust anchor the chain leads to: a self-signed root sent along, else the issuer of
    // the last certificate.
    let top_issuer = chain
        .iter()
        .rev()
        .find(|c| c.self_signed)
        .map(|c| c.certificate.subject.clone())
        .or_else(|| chain.last().map(|c| c.certificate.issuer.clone()))
        .unwrap_or_else(|| s.cert.issuer.clone());
    let public = |issuer: &str| {
        let i = issuer.to_ascii_lowercase();
        PUBLIC_CA_FRAGMENTS.iter().any(|f| i.contains(f))
    };
    let private_ca = !top_issuer.is_empty()
        && (!public(&top_issuer) || internal_ca(&top_issuer, &labels))
        && !public(&s.cert.issuer);
    let incomplete = chain.len() == 1 && !chain[0].self_signed;
    let expired = real_time(at)
        && (parse_rfc3339(&s.cert.not_after).is_some_and(|t| at > t)
            || parse_rfc3339(&s.cert.not_before).is_some_and(|t| at < t));
    let d = parent_domain(&s.name);
    let name_fix = format!(
        "the certificate does not cover {} — add {} to its SAN (or use *.{d})",
        s.name, s.name
    );
    let trust_fix = format!(
        "the device does not trust {top_issuer} — install the enterprise root CA on the devices \
         (iOS: configuration profile, then enable full trust for it; Android: MDM or user CA) \
         or put a certificate from a public CA on the reverse proxy"
    );
    let chain_fix = format!(
        "the intermediate {} is not sent — add it to the chain on the reverse proxy / HLB",
        s.cert.issuer
    );
    let mut causes: Vec<String> = Vec::new();
    if mismatch {
        causes.push(name_fix);
    }
    // unknown_ca says the chain could not be tied to a trust anchor: say so even when the
    // name mismatches too.
    if causes.is_empty() || alert == Some(48) {
        if private_ca {
            causes.push(trust_fix);
        } else if incomplete {
            causes.push(chain_fix);
        }
    }
    if causes.is_empty() && expired {
        causes.push(format!("the certificate expired on {}", s.cert.not_after));
    }
    if causes.is_empty() {
        causes.push(match alert {
            Some(44) => "the certificate was revoked".to_string(),
            Some(43) => "the client does not accept the certificate's key usage, extended key \
                         usage or key type"
                .to_string(),
            _ => "the certificate looks valid from the capture: check its extended key usage \
                  (serverAuth), signature and key size, whether the client can reach the CA's \
                  revocation lists, and TLS interception on the client's network (an issuer \
                  other than the one other networks see)"
                .to_string(),
        });
    }
    causes.join("; and ")
}

/// The client abandoned the handshake right after the server's certificate (or, TLS 1.3
/// without keys, right after the server's encrypted flight that carries it).
pub(super) fn client_rejected(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    use crate::model::AbortBy;
    let seen = lync_tls(cx, true);
    // Attempts grouped by (name, port, how the client gave up, certificate): `None` for the
    // TLS 1.3 handshakes whose certificate was encrypted.
    type Key = (String, u16, String, Option<String>);
    let mut groups: BTreeMap<Key, Vec<(&Connection, Option<&TlsSeen<'_>>)>> = BTreeMap::new();
    for (conn, name) in lync_tls_named(cx, true) {
        let Some(abort) = conn.tls.as_ref().and_then(|t| t.client_abort) else {
            continue;
        };
        let s = seen.iter().find(|s| s.conn.id == conn.id);
        let cert = s.map(|s| s.cert);
        // The Online certificate on a name CNAMEd to Online: inherent, C-ONLINE-1 speaks.
        if cx.online_vanity.contains(&name) && cert.is_some_and(|c| !cert_covers_host(c, &name)) {
            continue;
        }
        if cert.is_none() && !abort.certificate_encrypted {
            continue;
        }
        let how = abort.by.as_str().to_string()
            + &match abort.by {
                AbortBy::Alert(d) => d.to_string(),
                _ => String::new(),
            };
        groups
            .entry((
                name,
                conn.server.port(),
                how,
                cert.map(|c| c.subject.clone() + &c.issuer),
            ))
            .or_default()
            .push((conn, s));
    }
    for ((name, port, _, _), group) in groups {
        let (first, first_seen) = group[0];
        let last = group[group.len() - 1].0;
        let Some(tls) = first.tls.as_ref() else {
            continue;
        };
        let Some(abort) = tls.client_abort else {
            continue;
        };
        let tag = last.stage.as_ref();
        let noise = group.iter().all(|(c, _)| {
            c.stage
                .as_ref()
                .is_some_and(|t| t.outcome == Outcome::Noise)
        });
        // A later attempt to the same name and port that went through.
        let later_ok = cx.a.connections.iter().any(|c| {
            c.first_seen > last.first_seen
                && c.server.port() == port
                && !c.exchanges.is_empty()
                && c.tls.as_ref().is_some_and(|t| {
                    t.client_abort.is_none()
                        && t.sni
                            .as_deref()
                            .is_some_and(|n| n.eq_ignore_ascii_case(&name))
                })
        });
        let severity = if noise {
            Info
        } else if later_ok {
            Warning
        } else {
            Fail
        };
        let alert = match abort.by {
            AbortBy::Alert(d) => Some(d),
            _ => None,
        };
        let how = match abort.by {
            AbortBy::Alert(d) => format!(
                "aborted by the client with the fatal alert {} ({d})",
                crate::model::alert_name(d)
            ),
            AbortBy::Fin => "closed by the client (no alert)".to_string(),
            AbortBy::Rst => "reset by the client (no alert)".to_string(),
            AbortBy::EncryptedAlert => "aborted by the client with an encrypted alert (its \
                                        only record, of the size of an alert)"
                .to_string(),
        };
        let ids: Vec<ConnId> = group.iter().map(|(c, _)| c.id).collect();
        let times = match group.len() {
            1 => String::new(),
            2 => format!(", twice ({})", refs(&ids, conn_ref)),
            n => format!(", {n} times ({})", refs(&ids, conn_ref)),
        };
        let carrying = tag
            .and_then(|t| t.carries.clone())
            .or_else(|| tag.map(|t| t.id.clone()))
            .unwrap_or_else(|| "the sign-in".into());
        let mut message = match first_seen {
            Some(s) => {
                let cause = likely_cause(cx, s, alert);
                let mut m = format!(
                    "TLS to {name} ({}, carrying {carrying}) was {how} right after the server \
                     sent its certificate{times} ({}). The client never sent the {carrying} \
                     request. Likely cause: {cause}.",
                    first.server,
                    certificate_words(s.cert, tls.chain.len()),
                );
                if cause.contains("does not trust") {
                    m.push_str(
                        " On iOS the client log shows E_SslError (E2-2-2) and \"We can't verify \
                         the certificate from the server\".",
                    );
                }
                m
            }
            None => {
                // docs/checks.md C-CERT-7: TLS 1.3 without keys, the alert is not readable.
                // A certificate the same name showed on another connection still helps.
                let elsewhere = seen
                    .iter()
                    .find(|s| s.name == name && s.conn.server.port() == port)
                    .map(|s| {
                        format!(
                            " The certificate {name} presented on {} ({}) suggests: {}.",
                            conn_ref(s.conn.id),
                            certificate_words(
                                s.cert,
                                s.conn.tls.as_ref().map_or(1, |t| t.chain.len())
                            ),
                            likely_cause(cx, s, None)
                        )
                    })
                    .unwrap_or_default();
                let hidden = match abort.by {
                    AbortBy::EncryptedAlert => {
                        "the server's certificate and the client's alert are encrypted: the \
                         alert is not readable"
                    }
                    AbortBy::Alert(_) => {
                        "the server's certificate is encrypted; the client sent its alert in \
                         clear"
                    }
                    AbortBy::Fin | AbortBy::Rst => {
                        "the server's certificate is encrypted; the client sent no alert"
                    }
                };
                format!(
                    "TLS 1.3 to {name} ({}, carrying {carrying}) was {how} right after the \
                     server's encrypted flight{times}, with no application data. Without keys \
                     for this connection {hidden}. The client never sent the {carrying} \
                     request. Likely cause: the client rejected the server's certificate{}.\
                     {elsewhere} To see the certificate, capture with the client's TLS key log \
                     (SSLKEYLOGFILE) or look at the chain {name} serves (openssl s_client \
                     -connect {} -servername {name} -showcerts).",
                    first.server,
                    alert_meaning(alert),
                    first.server,
                )
            }
        };
        if later_ok {
            message.push_str(" A later attempt to the same host went through.");
        }
        if noise {
            message.push_str(" The client tolerated it (it went on another way).");
        }
        let dns: Vec<crate::model::DnsId> = group
            .iter()
            .filter_map(|(c, _)| c.stage.as_ref().and_then(|t| t.dns))
            .collect();
        out.push(check.finding(severity, message, Vec::new(), dns, ids));
    }
}

/// What a certificate alert says when the certificate itself cannot be read (docs/checks.md
/// C-CERT-7, alert meanings; RFC 8446 §6.2).
fn alert_meaning(alert: Option<u8>) -> &'static str {
    match alert {
        Some(48) => {
            " — unknown_ca: the chain could not be tied to a trust anchor: the device does not \
             trust the issuing CA (install the enterprise root CA on the devices, or put a \
             certificate from a public CA on the reverse proxy) or the intermediate is not sent"
        }
        Some(45) => " — certificate_expired: the certificate has expired; renew it",
        Some(44) => " — certificate_revoked: the certificate was revoked",
        Some(43) => {
            " — unsupported_certificate: the key usage, extended key usage or key type is \
             refused"
        }
        _ => " (untrusted issuer, missing intermediate, name or validity)",
    }
}

/// "subject <CN>; SAN <…>; issuer <issuer>; chain of <n>" for C-CERT-7's messages.
fn certificate_words(cert: &CertificateInfo, chain_len: usize) -> String {
    format!(
        "subject {}; SAN {}; issuer {}; chain of {}",
        cert.subject,
        if cert.sans.is_empty() {
            "none".to_string()
        } else {
            cert.sans.join(", ")
        },
        cert.issuer,
        chain_len.max(1)
    )
}

/// An internal enterprise CA on a name the mobile device must trust.
pub(super) fn issued_by_internal_ca(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    let labels = cx.org_labels();
    let mut groups: BTreeMap<String, (BTreeSet<String>, Vec<ConnId>)> = BTreeMap::new();
    for s in lync_tls(cx, true) {
        if !internal_ca(&s.cert.issuer, &labels) {
            continue;
        }
        // A client that gave up on this certificate is C-CERT-7's (as F), not an aside.
        if s.conn
            .tls
            .as_ref()
            .is_some_and(|t| t.client_abort.is_some())
        {
            continue;
        }
        let g = groups.entry(s.cert.issuer.clone()).or_default();
        g.0.insert(s.name.clone());
        g.1.push(s.conn.id);
    }
    for (issuer, (hosts, conns)) in groups {
        let hosts: Vec<String> = hosts.into_iter().collect();
        out.push(check.finding(
            Info,
            format!(
                "{} presented a certificate issued by {issuer}, an internal enterprise CA ({}): \
                 the mobile device must trust the internal root CA (managed devices usually \
                 have it; personal devices refuse the connection). Install the root on the \
                 devices or use a public certificate for names mobile clients reach.",
                hosts.join(", "),
                refs(&conns, conn_ref)
            ),
            Vec::new(),
            Vec::new(),
            conns,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::checks::fixtures::*;

    #[test]
    fn scenario_c_certificate_without_lyncdiscover() {
        let mut cap = Cap::new(time_base(2015, 6, 29, 19, 0));
        cap.dns(
            CLIENT_B,
            "198.51.100.53",
            0.0,
            "lyncdiscoverinternal.contoso.com",
            3,
            Vec::new(),
        );
        cap.dns(
            CLIENT_B,
            "198.51.100.53",
            0.035,
            "lyncdiscover.contoso.com",
            0,
            vec![
                cname("lyncdiscover.contoso.com", "webext-pool1.contoso.com"),
                a_rec("webext-pool1.contoso.com", "203.0.113.10"),
            ],
        );
        cap.tcp(CLIENT_B, "203.0.113.10:80", 0.085, false, 3);
        for t in [4.090, 6.300] {
            cap.tls(
                CLIENT_B,
                "203.0.113.10:443",
                t,
                "lyncdiscover.contoso.com",
                cert_ext_bad(),
                true,
            );
        }
        let f = cap.run();
        assert_eq!(
            checks_of(&f),
            vec![
                ("C-CERT-1".to_string(), Fail),
                ("C-CERT-2".to_string(), Fail),
                ("C-CERT-7".to_string(), Fail),
                ("C-HTTP-1".to_string(), Info),
            ],
            "{f:#?}"
        );
        // The client's certificate_unknown after the certificate (docs/checks.md C-CERT-7).
        let c7 = find(&f, "C-CERT-7");
        assert!(
            c7.message.contains("certificate_unknown (46)")
                && c7.message.contains("twice (C1, C2)")
                && c7
                    .message
                    .contains("does not cover lyncdiscover.contoso.com"),
            "{}",
            c7.message
        );
        let c2 = find(&f, "C-CERT-2");
        assert_eq!(c2.connections, vec![ConnId(1), ConnId(2)]);
        for needle in [
            "lyncdiscover.contoso.com (203.0.113.10:443)",
            "webext-pool1.contoso.com, webext-pool2.contoso.com, meet.contoso.com, dialin.contoso.com",
            "twice (C1, C2)",
            "reverse-proxy certificate",
            "*.contoso.com",
        ] {
            assert!(c2.message.contains(needle), "{needle}: {}", c2.message);
        }
        let c1 = find(&f, "C-CERT-1");
        assert!(
            c1.message
                .contains("does not cover lyncdiscover.contoso.com"),
            "{}",
            c1.message
        );
        let http = find(&f, "C-HTTP-1");
        assert!(
            http.message.contains("HTTP/80 on 203.0.113.10"),
            "{}",
            http.message
        );
        assert!(http.message.contains("3 SYNs"), "{}", http.message);
    }

    #[test]
    fn expired_certificate_and_redirect_loop() {
        let mut cap = Cap::new(time_base(2017, 3, 1, 9, 0));
        let host = "lyncdiscover.contoso.com";
        let c = cap.tls(CLIENT_B, "203.0.113.10:443", 0.0, host, cert_ext(), false);
        let a = "https://webext-pool1.contoso.com/Autodiscover/AutodiscoverService.svc/root";
        let b = "https://webext-pool2.contoso.com/Autodiscover/AutodiscoverService.svc/root";
        let redirect_to = |href: &str| {
            format!(r#"{{"_links":{{"redirect":{{"href":"{href}?originalDomain=contoso.com"}}}}}}"#)
        };
        cap.http(
            c,
            0.1,
            0.1,
            get(host, "/?sipuri=alice@contoso.com"),
            Some((200, Vec::new(), &redirect_to(a))),
        );
        cap.http(
            c,
            0.3,
            0.1,
            get(
                "webext-pool1.contoso.com",
                "/Autodiscover/AutodiscoverService.svc/root?originalDomain=contoso.com",
            ),
            Some((200, Vec::new(), &redirect_to(b))),
        );
        cap.http(
            c,
            0.5,
            0.1,
            get(
                "webext-pool2.contoso.com",
                "/Autodiscover/AutodiscoverService.svc/root?originalDomain=contoso.com",
            ),
            Some((200, Vec::new(), &redirect_to(a))),
        );
        let f = cap.run();
        let exp = find(&f, "C-CERT-3");
        assert_eq!(exp.severity, Fail);
        assert!(
            exp.message.contains("expired on 2017-01-15"),
            "{}",
            exp.message
        );
        assert!(
            exp.message.contains("2017-03-01 09:00:00 UTC"),
            "{}",
            exp.message
        );
        let lp = find(&f, "C-AD-4");
        assert!(
            lp.message.contains("#2 redirected back to"),
            "{}",
            lp.message
        );
        assert!(
            lp.message.contains("already redirected at #1"),
            "{}",
            lp.message
        );
    }

    #[test]
    fn internal_ca_recognition() {
        let labels = vec!["contoso".to_string()];
        assert!(internal_ca("CN=Contoso Issuing CA 01", &labels));
        assert!(internal_ca("CN=Fabrikam Enterprise Root", &labels));
        assert!(!internal_ca("CN=Example Public CA G2", &labels));
        assert!(!internal_ca(
            "CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1, O=DigiCert Inc",
            &labels
        ));
        assert!(!internal_ca("CN=R3, O=Let's Encrypt", &labels));
        assert_eq!(org_label("contoso.co.uk").as_deref(), Some("contoso"));
        assert_eq!(org_label("contoso.com").as_deref(), Some("contoso"));
    }
}
