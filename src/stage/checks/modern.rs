//! Modern authentication (Azure AD / ADFS, stage `modern-auth`): what a Lync host offered in
//! its `Bearer … authorization_uri` challenge, what the client actually did with it (C-AUTH-11),
//! and the offered / taken split C-AUTH-1 prints (docs/checks.md).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::LazyLock;

use regex::Regex;

use super::context::*;
use crate::model::{AuthLeg, ConnId, DnsId, ExchId, Finding, FindingSeverity, Outcome};
use crate::stage::hosts::is_azure_ad_host;
use crate::stage::tokens::TokenKind;

use FindingSeverity::{Fail, Info, Warning};

static RE_IDP_CODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(AADSTS[0-9]+|MSIS[0-9]+)\b").expect("static regex"));

/// "Azure AD (login.windows.net)" or "ADFS (adfs.contoso.com)".
pub(super) fn idp_name(host: &str) -> String {
    if is_azure_ad_host(host) {
        format!("Azure AD ({host})")
    } else if host.contains("adfs") || host.contains("sts") {
        format!("ADFS ({host})")
    } else {
        format!("the identity provider {host}")
    }
}

/// What one client was offered and did about modern authentication.
#[derive(Default)]
pub(super) struct Modern {
    /// IdP host → the Lync exchanges whose challenge named it.
    pub(super) offered: BTreeMap<String, Vec<ExchId>>,
    /// Who offered it (the challenging Lync hosts).
    pub(super) offered_by: BTreeSet<String>,
    /// Stage-24 exchanges.
    pub(super) legs: Vec<ExchId>,
    /// Lookups and connections of IdP hosts by this client.
    pub(super) lookups: Vec<DnsId>,
    pub(super) connections: Vec<ConnId>,
    /// Hosts the client looked up, connected to or sent a request to.
    pub(super) contacted: BTreeSet<String>,
    /// JWTs presented to Lync hosts.
    pub(super) jwt_uses: Vec<ExchId>,
}

impl Modern {
    /// Offered IdP hosts the client never contacted.
    pub(super) fn not_used(&self) -> Vec<&String> {
        self.offered
            .keys()
            .filter(|h| !self.contacted.contains(*h))
            .collect()
    }
}

fn is_jwt(leg: &AuthLeg) -> bool {
    matches!(leg, AuthLeg::Bearer(t) if t.prefix.starts_with("eyJ"))
}

/// Per client: offered and taken modern authentication.
pub(super) fn by_client(cx: &Ctx<'_>) -> BTreeMap<Option<IpAddr>, Modern> {
    let mut out: BTreeMap<Option<IpAddr>, Modern> = BTreeMap::new();
    for i in &cx.items {
        let m = out.entry(i.client()).or_default();
        if i.stage() == "modern-auth" {
            m.legs.push(i.id());
            m.contacted.insert(i.view.host.clone());
            continue;
        }
        if i.token().is_some_and(is_jwt) {
            m.jwt_uses.push(i.id());
        }
        if let Some(a) = i.auth() {
            for c in &a.challenges {
                if !c.scheme.eq_ignore_ascii_case("bearer") {
                    continue;
                }
                if let Some(h) = c.param("authorization_uri").and_then(host_of_url) {
                    m.offered.entry(h).or_default().push(i.id());
                    m.offered_by.insert(i.view.host.clone());
                }
            }
        }
    }
    // Lookups and connections of the offered hosts by the same client count as taking it.
    for (client, m) in out.iter_mut() {
        let idp: BTreeSet<String> = m
            .offered
            .keys()
            .cloned()
            .chain(m.contacted.iter().cloned())
            .collect();
        for l in &cx.a.dns {
            let name = l.qname.trim_end_matches('.').to_ascii_lowercase();
            if idp.contains(&name) && client.is_none_or(|c| l.client.ip() == c) {
                m.lookups.push(l.id);
                m.contacted.insert(name);
            }
        }
        for c in &cx.a.connections {
            let Some(sni) = c.tls.as_ref().and_then(|t| t.sni.as_deref()) else {
                continue;
            };
            let sni = sni.to_ascii_lowercase();
            if idp.contains(&sni) && client.is_none_or(|x| c.client.ip() == x) {
                m.connections.push(c.id);
                m.contacted.insert(sni);
            }
        }
    }
    out
}

/// The IdP's error in a few words: `error`, the first AADSTS / MSIS code and the first line of
/// `error_description`.
fn idp_error(i: &Item<'_>) -> String {
    let facts = i.resp_facts();
    let fact = |k: &str| facts.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
    let text = i.resp_text().unwrap_or_default().into_owned();
    let location = i.resp_header("Location").unwrap_or("").to_string();
    let code = RE_IDP_CODE
        .find(&text)
        .or_else(|| RE_IDP_CODE.find(&location))
        .map(|m| m.as_str().to_string());
    let error = fact("error").or_else(|| {
        location
            .split(['?', '#', '&'])
            .find_map(|kv| kv.strip_prefix("error="))
            .map(|e| e.to_string())
    });
    let desc = fact("error_description")
        .and_then(|d| d.lines().next().map(|l| l.trim().to_string()))
        .filter(|d| !d.is_empty());
    let parts: Vec<String> = [error, code, desc].into_iter().flatten().collect();
    if parts.is_empty() {
        format!("HTTP {}", i.status().unwrap_or(0))
    } else {
        parts.join(": ")
    }
}

/// C-AUTH-11: modern authentication offered, taken, failed.
pub(super) fn modern_auth(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    for (client, m) in by_client(cx) {
        if m.offered.is_empty() && m.legs.is_empty() && m.jwt_uses.is_empty() {
            continue;
        }
        let mut exchanges: Vec<ExchId> = m.offered.values().flatten().copied().collect();
        exchanges.extend(&m.legs);
        exchanges.extend(&m.jwt_uses);
        let offered_by: Vec<&str> = m.offered_by.iter().map(String::as_str).collect();
        let not_used: Vec<String> = m.not_used().iter().map(|h| idp_name(h)).collect();
        // Failures on the modern-auth path and whether anything worked after them.
        let failed_leg = m
            .legs
            .iter()
            .filter_map(|id| cx.item(*id))
            .rfind(|i| i.tag.outcome == Outcome::Fail);
        let failed_transport = cx.tagged_connections().find(|(c, t)| {
            m.connections.contains(&c.id)
                && t.outcome == Outcome::Fail
                && t.carries.as_deref() == Some("modern-auth")
        });
        let failed_lookup = m.lookups.iter().find_map(|id| {
            let l = cx.a.dns.get(id.0 as usize)?;
            (l.stage.as_ref()?.outcome == Outcome::Fail).then_some(l)
        });
        let jwt_rejected = m.jwt_uses.iter().filter_map(|id| cx.item(*id)).rfind(|i| {
            i.tag.outcome == Outcome::Fail
                && i.token()
                    .and_then(|l| cx.learned.tokens.of(l))
                    .is_none_or(|t| t.kind == TokenKind::Jwt)
        });
        let fail_at = [
            failed_leg.map(|i| i.at()),
            failed_transport.map(|(c, _)| c.first_seen),
            failed_lookup.and_then(|l| l.first().map(|a| a.ts)),
            jwt_rejected.map(|i| i.at()),
        ]
        .into_iter()
        .flatten()
        .max();
        let worked_after = fail_at.is_some_and(|t| {
            cx.items.iter().any(|i| {
                i.client() == client
                    && i.at() > t
                    && matches!(
                        i.stage(),
                        "webticket-oauth" | "webticket-soap" | "modern-auth" | "ad-user"
                    )
                    && i.tag.outcome == Outcome::Ok
            })
        });
        let taken = !m.legs.is_empty() || !m.contacted.is_empty() || !m.jwt_uses.is_empty();
        if taken && fail_at.is_some() && !worked_after {
            let (idp, at, what, fix) = if let Some(i) = failed_leg {
                let step = i.tag.subkind.clone().unwrap_or_else(|| "token".into());
                (
                    i.view.host.clone(),
                    step,
                    idp_error(i),
                    "Fix the account, tenant, consent or conditional-access condition named by \
                     the code on the identity provider's side"
                        .to_string(),
                )
            } else if let Some((c, t)) = failed_transport {
                let host = t.subkind.clone().unwrap_or_else(|| c.server.to_string());
                (
                    host.clone(),
                    "connection".into(),
                    t.note.clone().unwrap_or_else(|| "no connection".into()),
                    format!("Make {host} reachable from this network"),
                )
            } else if let Some(l) = failed_lookup {
                let host = l.qname.trim_end_matches('.').to_string();
                (
                    host.clone(),
                    "lookup".into(),
                    format!("no DNS answer ({})", lookup_result(l)),
                    format!("Make {host} resolvable from this network"),
                )
            } else if let Some(i) = jwt_rejected {
                let issuer = i
                    .token()
                    .and_then(|l| cx.learned.tokens.of(l))
                    .map(|t| t.issuer.clone())
                    .unwrap_or_else(|| "the identity provider".into());
                (
                    issuer,
                    "the Lync host".into(),
                    format!(
                        "the token was rejected by {} ({}; see C-AUTH-9 / C-AUTH-5)",
                        i.view.host,
                        ex_ref(i.id())
                    ),
                    "Get a token for this host (resource / audience)".to_string(),
                )
            } else {
                continue;
            };
            out.push(check.finding(
                Fail,
                format!(
                    "Modern authentication via {idp} failed at {at}: {what}. The client has no \
                     token for the Lync service; sign-in stops. {fix}."
                ),
                exchanges,
                m.lookups.clone(),
                m.connections.clone(),
            ));
            continue;
        }
        // Windows authentication refused while the offered modern auth was never tried.
        let refused_28029 = cx.items.iter().find(|i| {
            i.client() == client
                && i.stage() == "webticket-oauth"
                && i.auth()
                    .is_some_and(|a| a.diagnostics.iter().any(|d| d.code == Some(28029)))
        });
        if let (Some(r), false, Some(host)) = (refused_28029, taken, m.not_used().first()) {
            exchanges.push(r.id());
            out.push(check.finding(
                Warning,
                format!(
                    "{} accepts only modern authentication from this client (Windows \
                     authentication refused: 28029, {}), but the client never contacted {}: use \
                     a modern-auth capable app version or let it reach {host}; on SfB Server \
                     review Set-CsAuthConfig.",
                    r.view.host,
                    ex_ref(r.id()),
                    idp_name(host)
                ),
                exchanges,
                Vec::new(),
                Vec::new(),
            ));
            continue;
        }
        let taken_text = if !m.legs.is_empty() {
            let hosts: BTreeSet<String> = m
                .legs
                .iter()
                .filter_map(|id| cx.item(*id))
                .map(|i| i.view.host.clone())
                .collect();
            let aud: BTreeSet<String> = m
                .jwt_uses
                .iter()
                .filter_map(|id| cx.item(*id))
                .filter_map(|i| i.token().and_then(|l| cx.learned.tokens.of(l)))
                .filter_map(|t| t.audience.clone())
                .collect();
            format!(
                "modern auth via {}{}",
                hosts.into_iter().collect::<Vec<_>>().join(", "),
                if aud.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (token for {})",
                        aud.into_iter().collect::<Vec<_>>().join(", ")
                    )
                }
            )
        } else if !m.jwt_uses.is_empty() {
            "a modern-auth token presented to Lync (obtained outside the capture)".into()
        } else if taken {
            format!(
                "the client contacted {} (no request seen)",
                m.contacted.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        } else {
            "not taken".into()
        };
        let offered = if not_used.is_empty() {
            String::new()
        } else {
            format!(
                " Offered by {} but not used: {}.",
                offered_by.join(", "),
                not_used.join(", ")
            )
        };
        out.push(check.finding(
            Info,
            format!("Modern authentication: {taken_text}.{offered}"),
            exchanges,
            m.lookups.clone(),
            m.connections.clone(),
        ));
    }
}
