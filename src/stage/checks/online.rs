//! Skype for Business Online: a `lyncdiscover` name CNAMEd to `webdir.online.lync.com`, whose
//! HTTPS meets Microsoft's `*.online.lync.com` certificate — inherent to Online, not a
//! reverse-proxy certificate problem (C-ONLINE-1).

use std::collections::BTreeSet;

use super::context::*;
use crate::model::{ConnId, DnsId, ExchId, Finding, FindingSeverity, Outcome};
use crate::stage::classify::discovery_went_on;
use crate::stage::hosts::{is_online_director, is_online_host};

use FindingSeverity::{Fail, Info};

/// A root request on the name answered by Online itself (its `self` on a director), with the
/// URL it sent the client on to.
fn online_root_answer(cx: &Ctx<'_>, name: &str) -> Option<(ExchId, Option<String>)> {
    cx.items.iter().find_map(|i| {
        if !i.stage().starts_with("ad-root") || i.view.host != name {
            return None;
        }
        let links = i.links();
        let self_online = links.iter().any(|l| {
            l.rel == "self" && host_of_url(&l.url).is_some_and(|h| is_online_director(&h))
        });
        let next = links
            .iter()
            .find(|l| l.rel == "redirect" || l.rel == "location" || l.rel == "user")
            .filter(|l| host_of_url(&l.url).is_some_and(|h| is_online_host(&h)))
            .map(|l| l.url.clone());
        (self_online || (next.is_some() && i.status().is_some_and(|s| (300..400).contains(&s))))
            .then(|| (i.id(), next))
    })
}

/// A `lyncdiscover` name that points into SfB Online.
pub(super) fn vanity_cname(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    let mut names: BTreeSet<String> = cx.online_vanity.clone();
    for i in &cx.items {
        if discovery_name(&i.view.host).is_some() && online_root_answer(cx, &i.view.host).is_some()
        {
            names.insert(i.view.host.clone());
        }
    }
    for name in names {
        let lookups: Vec<DnsId> =
            cx.a.dns
                .iter()
                .filter(|l| l.qname.trim_end_matches('.').eq_ignore_ascii_case(&name))
                .map(|l| l.id)
                .collect();
        let target =
            cx.a.dns
                .iter()
                .filter(|l| l.qname.trim_end_matches('.').eq_ignore_ascii_case(&name))
                .find_map(|l| {
                    l.cnames()
                        .map(|c| c.trim_end_matches('.').to_ascii_lowercase())
                        .find(|c| is_online_host(c))
                });
        // HTTPS attempts on the name that met the Online certificate.
        let https: Vec<&crate::model::Connection> =
            cx.a.connections
                .iter()
                .filter(|c| {
                    c.server.port() != 80
                        && c.tls
                            .as_ref()
                            .and_then(|t| t.sni.as_deref())
                            .is_some_and(|s| s.eq_ignore_ascii_case(&name))
                })
                .collect();
        let https_failed: Vec<&crate::model::Connection> = https
            .iter()
            .copied()
            .filter(|c| {
                c.exchanges.is_empty()
                    && c.stage
                        .as_ref()
                        .is_some_and(|t| matches!(t.outcome, Outcome::Fail | Outcome::Noise))
            })
            .collect();
        let cert_names = https
            .iter()
            .find_map(|c| c.tls.as_ref()?.certificate.as_ref())
            .map(cert_names)
            .unwrap_or_else(|| "*.online.lync.com".into());
        let (_, d) = discovery_name(&name).unwrap_or((false, name.clone()));
        let first_https = https.iter().map(|c| c.first_seen).min();
        let went_on = discovery_went_on(cx.a, &name, first_https.unwrap_or_default());
        let root = online_root_answer(cx, &name);
        // The HTTP/80 attempts on the name: root requests, and connections that carried none.
        let http_items: Vec<&Item<'_>> = cx
            .items
            .iter()
            .filter(|i| i.view.scheme == "http" && i.view.host == name)
            .collect();
        let http_conns: Vec<ConnId> = cx
            .tagged_connections()
            .filter(|(c, t)| c.server.port() == 80 && t.subkind.as_deref() == Some(name.as_str()))
            .map(|(c, _)| c.id)
            .collect();
        let lead = format!(
            "{name} {} (Skype for Business Online). Over HTTPS that service presents \
             Microsoft's certificate ({cert_names}), which can never contain {name}: the \
             mismatch comes with the Online CNAME and is not a reverse-proxy certificate \
             problem — do not add names to any certificate.",
            match &target {
                Some(t) => format!("is a CNAME to {t}"),
                None => "points to SfB Online".to_string(),
            }
        );
        let mut exchanges: Vec<ExchId> = http_items.iter().map(|i| i.id()).collect();
        exchanges.extend(root.iter().map(|(id, _)| *id));
        let mut connections: Vec<ConnId> = https_failed.iter().map(|c| c.id).collect();
        connections.extend(&http_conns);
        let (severity, tail) =
            if went_on || https_failed.is_empty() {
                let how = match (&root, http_items.first()) {
                    (Some((id, Some(next))), _) => {
                        format!("was answered by Online ({}) with {next}", ex_ref(*id))
                    }
                    (Some((id, None)), _) => format!("was answered by Online ({})", ex_ref(*id)),
                    (None, Some(i)) => format!("went to {} ({})", i.view.url, ex_ref(i.id())),
                    (None, None) => "went on to the Online directors".to_string(),
                };
                (
                    Info,
                    format!(" The client went on: discovery {how}; no action needed."),
                )
            } else if http_items.is_empty() && http_conns.is_empty() {
                (
                    Fail,
                    format!(
                    " This client tried only HTTPS on the vanity name and stopped ({}). Discover \
                     SfB Online over http://{name}, or start at \
                     https://webdir.online.lync.com/autodiscover/autodiscoverservice.svc/root \
                     (Microsoft's UCWA Azure AD guidance); fix the client or app \
                     configuration, not a certificate.",
                    refs(&https_failed.iter().map(|c| c.id).collect::<Vec<_>>(), conn_ref)
                ),
                )
            } else {
                let what = match http_items.iter().find(|i| i.status().is_some()) {
                    Some(i) => format!(
                        "an answer from something that is not Online ({} {}: {})",
                        ex_ref(i.id()),
                        i.view.host,
                        i.status().unwrap_or(0)
                    ),
                    None if !http_conns.is_empty() => {
                        format!("no answer or a reset ({})", refs(&http_conns, conn_ref))
                    }
                    None => "no answer".to_string(),
                };
                (
                    Fail,
                    format!(
                        " The HTTP attempt on port 80 got {what}: outbound TCP 80 is blocked or \
                     intercepted on this network (for {d}). Allow it, or sign in from another \
                     network."
                    ),
                )
            };
        out.push(check.finding(
            severity,
            format!("{lead}{tail}"),
            exchanges,
            lookups,
            connections,
        ));
    }
}
