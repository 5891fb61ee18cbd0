//! Lync Autodiscover: where the answers point the client, and the user resource.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use super::context::*;
use crate::model::{DnsLookup, ExchId, Finding, FindingSeverity, Outcome, Ts};

use FindingSeverity::{Fail, Warning};

/// Exchange's Lync Autodiscover client gives up after this many redirects.
const MAX_REDIRECTS: usize = 10;

/// The NTLM user who authenticated most recently before `before` (same client).
fn last_ntlm_user(cx: &Ctx<'_>, client: Option<IpAddr>, before: Ts) -> Option<(String, ExchId)> {
    cx.items
        .iter()
        .rev()
        .filter(|i| i.at() <= before && i.client() == client && i.is_lync())
        .find_map(|i| Some((ntlm_user(i.ntlm()?)?, i.id())))
}

/// Where an Autodiscover answer redirects the client: a 3xx `Location`, JSON
/// `_links.redirect` or XML `token="Redirect"`.
fn redirect_target(i: &Item<'_>) -> Option<String> {
    if i.status().is_some_and(|s| (300..400).contains(&s)) {
        return i.resp_header("Location").map(|l| l.trim().to_string());
    }
    i.links()
        .into_iter()
        .find(|l| l.rel == "redirect")
        .map(|l| l.url)
}

/// An external client handed links it cannot use (internal web FQDN).
pub(super) fn internal_links(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    // One finding per (client, host announced by an Autodiscover response).
    let mut seen: BTreeSet<(IpAddr, String)> = BTreeSet::new();
    let mut announced_by: HashMap<ExchId, Vec<&String>> = HashMap::new();
    for (host, (_, ex)) in &cx.learned.announced_hosts {
        announced_by.entry(*ex).or_default().push(host);
    }
    let mut lookups_of: HashMap<(IpAddr, String), Vec<&DnsLookup>> = HashMap::new();
    for l in cx.a.dns.iter().filter(|l| l.response.is_some()) {
        let name = l.qname.trim_end_matches('.').to_ascii_lowercase();
        lookups_of.entry((l.client.ip(), name)).or_default().push(l);
    }
    for i in &cx.items {
        if !AUTODISCOVER_STAGES.contains(&i.stage()) {
            continue;
        }
        let Some(client) = i.client() else { continue };
        if !cx.client_is_external(client) {
            continue;
        }
        let internal_location = i
            .resp_facts()
            .iter()
            .any(|(k, v)| k == "accesslocation" && v.eq_ignore_ascii_case("internal"));
        if internal_location && seen.insert((client, String::new())) {
            out.push(check.finding(
                Fail,
                format!(
                    "External client {client} got an Autodiscover answer with \
                     AccessLocation=\"Internal\" ({}): the reverse proxy publishes to the Front \
                     End's internal web site (443/80) instead of its external web site \
                     (4443/8080). Fix the publishing rule's target port.",
                    i.describe()
                ),
                vec![i.id()],
                Vec::new(),
                Vec::new(),
            ));
        }
        // Hosts this response announced first, which the client then looked up.
        let mut announced: Vec<&String> = announced_by.get(&i.id()).cloned().unwrap_or_default();
        announced.sort();
        for host in announced {
            if !seen.insert((client, host.clone())) {
                continue;
            }
            let Some(lookups) = lookups_of.get(&(client, host.clone())) else {
                continue;
            };
            let Some(first) = lookups.first() else {
                continue;
            };
            let addrs: Vec<IpAddr> = lookups.iter().flat_map(|l| l.addresses()).collect();
            let problem = match addrs.first() {
                None => format!(
                    "which does not resolve from the client's network ({} {})",
                    dns_ref(first.id),
                    lookup_result(first)
                ),
                Some(a) if addrs.iter().all(|x| is_private(*x)) => format!(
                    "which resolves to the private address {a} ({})",
                    dns_ref(first.id)
                ),
                Some(_) => continue,
            };
            out.push(check.finding(
                Fail,
                format!(
                    "External client {client} was pointed by Autodiscover {} to {host}, \
                     {problem}. Typical cause: the reverse proxy publishes to the Front End's \
                     internal web site (443/80) instead of the external web site (4443/8080), \
                     so internal links come back; or the public DNS record for that name is \
                     missing.",
                    i.describe()
                ),
                vec![i.id()],
                lookups.iter().map(|l| l.id).collect(),
                Vec::new(),
            ));
        }
    }
}

/// The sign-in address's domain differs from the discovery domain.
pub(super) fn sipuri_domain(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<(String, String), Vec<ExchId>> = BTreeMap::new();
    for i in &cx.items {
        if !i.stage().starts_with("ad-root") {
            continue;
        }
        let Some((_, d)) = discovery_name(&i.view.host) else {
            continue;
        };
        let Some(sipuri) = i
            .view
            .query
            .split('&')
            .find_map(|kv| kv.strip_prefix("sipuri="))
        else {
            continue;
        };
        let sipuri = sipuri.replace("%40", "@");
        let Some((_, sd)) = sipuri.rsplit_once('@') else {
            continue;
        };
        let sd = sd.to_ascii_lowercase();
        if sd != d {
            groups.entry((sd, d)).or_default().push(i.id());
        }
    }
    for ((sd, d), ids) in groups {
        out.push(check.finding(
            Warning,
            format!(
                "The sign-in address is in {sd} but discovery used lyncdiscover(internal).{d} \
                 ({}): the sign-in address domain differs from the discovery domain. Mobile \
                 clients discover with the domain of the address typed in; publish \
                 lyncdiscover.{sd} (and the certificate names) or sign in with the SIP address.",
                refs(&ids, ex_ref)
            ),
            ids,
            Vec::new(),
            Vec::new(),
        ));
    }
}

/// The authenticated user resource answered 404 (or 410).
pub(super) fn user_unknown(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    for i in &cx.items {
        if i.stage() != "ad-user" {
            continue;
        }
        let status = i.status().unwrap_or(0);
        if status != 404 && status != 410 {
            continue;
        }
        let who = last_ntlm_user(cx, i.client(), i.at());
        let mut ids = vec![i.id()];
        let subject = match &who {
            Some((user, at)) => {
                ids.push(*at);
                format!("authenticated {user} (NTLM at {})", ex_ref(*at))
            }
            None => "accepted the sign-in ticket".to_string(),
        };
        let short = who
            .as_ref()
            .map(|(u, _)| u.rsplit('\\').next().unwrap_or(u).to_string())
            .unwrap_or_else(|| "the user".into());
        let message = if status == 404 {
            format!(
                "Autodiscover {subject} but answered 404 for the user resource ({} on {}): the \
                 server does not know {short}'s home pool (user not enabled for Lync/SfB, \
                 replication not complete, or the sign-in address is not the user's SIP URI).",
                ex_ref(i.id()),
                i.view.host
            )
        } else {
            format!(
                "Autodiscover {subject} but answered 410 for the user resource ({} on {}): \
                 \"Cannot redirect since there is no backup pool configured\" — {short}'s home \
                 pool is not available and has no backup pool.",
                ex_ref(i.id()),
                i.view.host
            )
        };
        out.push(check.finding(Fail, message, ids, Vec::new(), Vec::new()));
    }
}

/// Autodiscover redirect loops and long chains.
pub(super) fn redirect_loop(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    let mut by_client: BTreeMap<Option<IpAddr>, Vec<(&Item<'_>, String)>> = BTreeMap::new();
    for i in &cx.items {
        if !AUTODISCOVER_STAGES.contains(&i.stage()) || i.tag.outcome != Outcome::Redirect {
            continue;
        }
        if let Some(target) = redirect_target(i) {
            by_client.entry(i.client()).or_default().push((i, target));
        }
    }
    for (_, chain) in by_client {
        // A loop: a redirect back to a URL that itself redirected earlier (or to itself).
        let mut redirected_from: HashMap<String, ExchId> = HashMap::new();
        let mut looped: Option<(ExchId, ExchId, String)> = None;
        for (i, target) in &chain {
            redirected_from.insert(url_key(&i.view.url), i.id());
            if let Some(&first) = redirected_from.get(&url_key(target)) {
                looped = Some((first, i.id(), target.clone()));
                break;
            }
        }
        let ids: Vec<ExchId> = chain.iter().map(|(i, _)| i.id()).collect();
        if let Some((first, last, target)) = looped {
            out.push(check.finding(
                Fail,
                format!(
                    "Autodiscover redirect loop: {} redirected back to {target}, which had \
                     already redirected at {} ({}). Check the Autodiscover / hosting-provider \
                     configuration of the pools involved (each must answer for the users \
                     homed on it).",
                    ex_ref(last),
                    ex_ref(first),
                    refs(&ids, ex_ref)
                ),
                ids,
                Vec::new(),
                Vec::new(),
            ));
        } else if chain.len() > MAX_REDIRECTS {
            out.push(check.finding(
                Fail,
                format!(
                    "Autodiscover redirected the client {} times ({}): clients give up after \
                     {MAX_REDIRECTS}. Check the redirect configuration (Director, hybrid \
                     hosting provider).",
                    chain.len(),
                    refs(&ids, ex_ref)
                ),
                ids,
                Vec::new(),
                Vec::new(),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ConnId;
    use crate::stage::checks::fixtures::*;

    #[test]
    fn variant_d_user_unknown_after_ntlm() {
        let (mut cap, c2) = scenario_b_start();
        sign_in_legs(
            &mut cap,
            c2,
            4.420,
            "webext-pool1.contoso.com",
            TB1,
            (404, String::new()),
        );
        let f = cap.run();
        let fails: Vec<&Finding> = f.iter().filter(|x| x.severity == Fail).collect();
        assert_eq!(fails.len(), 1, "{:#?}", checks_of(&f));
        let ad3 = find(&f, "C-AD-3");
        assert_eq!(ad3.severity, Fail);
        // The type 3 is the 4th exchange of the legs (#4), the 404 the 5th (#5).
        assert_eq!(ad3.exchanges, vec![ExchId(4), ExchId(5)]);
        for needle in [
            "authenticated CONTOSO\\alice (NTLM at #4)",
            "404",
            "alice's home pool",
            "webext-pool1.contoso.com",
        ] {
            assert!(ad3.message.contains(needle), "{needle}: {}", ad3.message);
        }
        assert_eq!(f[0].check, "C-AD-3", "fail findings come first");
    }

    #[test]
    fn external_client_pointed_to_an_internal_fqdn() {
        let (mut cap, _) = scenario_b_start();
        // The root on webext-pool1 hands out the internal web FQDN, which does not resolve
        // outside.
        cap.a.exchanges.clear();
        for c in &mut cap.a.connections {
            c.exchanges.clear();
        }
        cap.http(
            ConnId(1),
            4.265,
            0.1,
            get("lyncdiscover.contoso.com", "/?sipuri=alice@contoso.com"),
            Some((200, Vec::new(), &root_links("webint-pool1.contoso.net"))),
        );
        cap.dns(
            CLIENT_B,
            "198.51.100.53",
            4.5,
            "webint-pool1.contoso.net",
            3,
            Vec::new(),
        );
        let f = cap.run();
        let ad1 = find(&f, "C-AD-1");
        assert_eq!(ad1.severity, Fail);
        assert!(
            ad1.message
                .contains("webint-pool1.contoso.net, which does not resolve"),
            "{}",
            ad1.message
        );
        assert!(ad1.message.contains("(D2 NXDOMAIN)"), "{}", ad1.message);
        assert_eq!(ad1.exchanges, vec![ExchId(0)]);
    }
}
