//! The network path: hairpin, the external web FQDN on the internal VIP, reverse-proxy
//! errors and Front End affinity.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::LazyLock;

use regex::Regex;

use super::context::*;
use crate::model::{
    ConnId, Connection, DnsId, ExchId, Finding, FindingSeverity, Outcome, StreamEnd, Ts,
};

use FindingSeverity::{Fail, Info, Warning};

/// Host suffixes of Skype for Business Online / Azure AD: public by design, never a hairpin.
const ONLINE_SUFFIXES: [&str; 5] = [
    ".lync.com",
    ".microsoftonline.com",
    ".windows.net",
    ".office365.com",
    ".skype.com",
];

/// Stages of UCWA traffic on the home pool's external web FQDN.
const UCWA_STAGES: [&str; 7] = [
    "ucwa-application",
    "signed-in",
    "inband-provisioning",
    "mras",
    "contacts-presence",
    "event-channel",
    "ucwa-other",
];

static RE_UCWA_APP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)/ucwa/(?:oauth/)?v1/applications/([0-9]+)").expect("static regex")
});

fn is_online_host(host: &str) -> bool {
    ONLINE_SUFFIXES.iter().any(|s| host.ends_with(s))
}

/// The most recent successful token exchange of a client before `before`.
fn last_token<'c, 'a>(cx: &'c Ctx<'a>, client: IpAddr, before: Ts) -> Option<&'c Item<'a>> {
    cx.items.iter().rev().find(|i| {
        i.at() <= before
            && i.client() == Some(client)
            && matches!(i.stage(), "webticket-oauth" | "webticket-soap")
            && i.tag.outcome == Outcome::Ok
    })
}

/// External web FQDNs: where UCWA went, or what an authenticated user resource announced.
fn external_web_fqdns(cx: &Ctx<'_>) -> BTreeSet<String> {
    let mut external: BTreeSet<String> = cx
        .items
        .iter()
        .filter(|i| UCWA_STAGES.contains(&i.stage()))
        .map(|i| i.view.host.clone())
        .collect();
    for l in &cx.a.dns {
        let parent = l.stage.as_ref().and_then(|t| t.parent);
        if parent
            .and_then(|p| cx.item(p))
            .is_some_and(|i| i.stage() == "ad-user")
        {
            external.insert(l.qname.trim_end_matches('.').to_ascii_lowercase());
        }
    }
    external
}

/// Internal web FQDNs: Autodiscover/WebTicket hosts of internal flows, and the targets of
/// lyncdiscoverinternal CNAMEs.
fn internal_web_fqdns(cx: &Ctx<'_>) -> BTreeSet<String> {
    let mut internal: BTreeSet<String> = BTreeSet::new();
    for i in &cx.items {
        let stage = i.stage();
        if (AUTODISCOVER_STAGES.contains(&stage) || stage.starts_with("webticket"))
            && i.client().is_some_and(|c| cx.flow(c) == Some("internal"))
            && discovery_name(&i.view.host).is_none()
        {
            internal.insert(i.view.host.clone());
        }
    }
    for (_, lookups) in discovery_lookups(cx) {
        for (is_internal, l) in lookups {
            if let (true, Some(t)) = (is_internal, l.cnames().last()) {
                internal.insert(t.trim_end_matches('.').to_ascii_lowercase());
            }
        }
    }
    internal
}

/// The UCWA application an exchange belongs to: from its path, or (for the 201 that created
/// it) from the links of the answer.
fn ucwa_app_id(i: &Item<'_>) -> Option<String> {
    let from = |text: &str| {
        RE_UCWA_APP
            .captures(text)
            .and_then(|c| c.get(1))
            .map(|m| m.as_str().to_string())
    };
    from(&i.view.path).or_else(|| {
        if i.stage() == "ucwa-application" && i.status() == Some(201) {
            from(&i.resp_text()?)
        } else {
            None
        }
    })
}

/// An internal client sent to the public address of the reverse proxy (hairpin).
pub(super) fn hairpin(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<(IpAddr, IpAddr), Vec<&Connection>> = BTreeMap::new();
    for c in &cx.a.connections {
        let (client, server) = (c.client.ip(), c.server.ip());
        if c.packets == 0 || !is_private(client) || is_private(server) || server.is_unspecified() {
            continue;
        }
        let Some(name) = cx.learned.lync_addrs.get(&server) else {
            continue;
        };
        // Internal flows only (docs/checks.md): a CGNAT or home-network phone on an external
        // flow reaching the public RP address is the normal external path.
        if is_online_host(name) || cx.flow(client) != Some("internal") {
            continue;
        }
        groups.entry((client, server)).or_default().push(c);
    }
    for ((client, server), conns) in groups {
        let Some(first) = conns.first() else { continue };
        let ids: Vec<ConnId> = conns.iter().map(|c| c.id).collect();
        let lookup = cx.lookup_giving(server, client, first.first_seen);
        let name = lookup
            .as_ref()
            .map(|(_, n)| n.clone())
            .or_else(|| cx.learned.lync_addrs.get(&server).cloned())
            .unwrap_or_default();
        let mut exchanges = Vec::new();
        let authenticated = last_token(cx, client, first.first_seen).map(|i| {
            exchanges.push(i.id());
            format!("authenticated at {} ({}) and ", i.view.host, ex_ref(i.id()))
        });
        let announced = cx.learned.announced_hosts.get(&name).and_then(|(_, id)| {
            let i = cx.item(*id)?;
            exchanges.push(*id);
            let url = i
                .links()
                .into_iter()
                .find(|l| host_of_url(&l.url).as_deref() == Some(name.as_str()))
                .map(|l| l.url)
                .unwrap_or_else(|| format!("https://{name}/"));
            Some(format!("was sent to {url} ({})", ex_ref(*id)))
        });
        let resolved = match &lookup {
            Some((id, _)) => format!(
                "which resolves internally to the public RP address {server} ({})",
                dns_ref(*id)
            ),
            None => format!("which the client reached at the public address {server}"),
        };
        let lead = format!(
            "Internal client {client} {}{}, {resolved}.",
            authenticated.unwrap_or_default(),
            announced.unwrap_or_else(|| format!("connected to {name}"))
        );
        let dns: Vec<DnsId> = lookup.iter().map(|(id, _)| *id).collect();
        if conns.iter().all(|c| !c.syn_ack) {
            let syns: u64 = conns.iter().map(|c| c.packets).sum();
            let refused = conns.iter().any(|c| c.end[1] == StreamEnd::Rst);
            out.push(check.finding(
                Fail,
                format!(
                    "{lead} TCP to that address never completed ({}: {}): the firewall does \
                     not allow hairpin (NAT loopback). Allow hairpin, or publish an internal \
                     DNS record for {name} that points to the reverse proxy's internal \
                     listener.",
                    refs(&ids, conn_ref),
                    if refused {
                        "refused (RST)".to_string()
                    } else {
                        format!("{}, no SYN-ACK", plural(syns, "SYN", "SYNs"))
                    }
                ),
                exchanges,
                dns,
                ids,
            ));
        } else {
            out.push(check.finding(
                Info,
                format!(
                    "{lead} The connection works ({}) through hairpin (NAT loopback): it keeps \
                     working only while the firewall allows hairpin. An internal DNS record \
                     for {name} pointing to the reverse proxy's internal listener removes the \
                     dependency.",
                    refs(&ids, conn_ref)
                ),
                exchanges,
                dns,
                ids,
            ));
        }
    }
}

/// The external web FQDN resolves to the address of an internal web FQDN (the FE
/// internal VIP), so UCWA lands on the internal web site.
pub(super) fn external_on_internal_vip(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    let external = external_web_fqdns(cx);
    let mut internal = internal_web_fqdns(cx);
    internal.retain(|h| !external.contains(h));
    // Name → (address → lookup); a CNAME chain gives its target the same addresses.
    let mut answers: HashMap<String, BTreeMap<IpAddr, DnsId>> = HashMap::new();
    for l in &cx.a.dns {
        // Internal flows only: what an external client's resolver answers is another view.
        if cx.flow(l.client.ip()) != Some("internal") {
            continue;
        }
        let mut names = vec![l.qname.trim_end_matches('.').to_ascii_lowercase()];
        names.extend(
            l.cnames()
                .last()
                .map(|t| t.trim_end_matches('.').to_ascii_lowercase()),
        );
        for n in names {
            let m = answers.entry(n).or_default();
            for a in l.addresses() {
                m.entry(a).or_insert(l.id);
            }
        }
    }
    for e in &external {
        let Some(ea) = answers.get(e) else { continue };
        for i in &internal {
            let Some(ia) = answers.get(i) else { continue };
            let Some((addr, ed, id)) = ea.iter().find_map(|(a, d)| ia.get(a).map(|x| (*a, *d, *x)))
            else {
                continue;
            };
            let conns: Vec<&Connection> =
                cx.a.connections
                    .iter()
                    .filter(|c| c.packets > 0 && c.server.ip() == addr)
                    .filter(|c| {
                        c.tls
                            .as_ref()
                            .and_then(|t| t.sni.as_deref())
                            .is_some_and(|s| s.eq_ignore_ascii_case(e))
                    })
                    .collect();
            let failed_items: Vec<ExchId> = cx
                .items
                .iter()
                .filter(|x| {
                    x.view.host == *e
                        && x.conn.server.ip() == addr
                        && x.tag.outcome == Outcome::Fail
                })
                .map(|x| x.id())
                .collect();
            let cert_bad = conns.iter().any(|c| {
                c.tls
                    .as_ref()
                    .and_then(|t| t.certificate.as_ref())
                    .is_some_and(|cert| !cert_covers_host(cert, e))
            });
            let severity = if !failed_items.is_empty() || cert_bad {
                Fail
            } else {
                Warning
            };
            out.push(check.finding(
                severity,
                format!(
                    "{e} (external web FQDN, used for UCWA) resolves to {addr} ({}), the same \
                     address as the internal web FQDN {i} ({}): requests reach the Front End's \
                     internal web site (wrong site, internal links; its certificate may lack \
                     {e}{}). Point {e} at the reverse proxy (or an HLB VIP that maps \
                     443→4443).",
                    dns_ref(ed),
                    dns_ref(id),
                    if cert_bad { " — it does" } else { "" }
                ),
                failed_items,
                vec![ed, id],
                conns.iter().map(|c| c.id).collect(),
            ));
        }
    }
}

/// Who answered, from the headers, in words ("Server: TMG, Via: 1.1 RP01"), and whether they
/// name a proxy: a `Via`, or a `Server` that is neither IIS nor HTTP.SYS.
pub(super) fn answered_by(i: &Item<'_>) -> (String, bool) {
    let via = i.resp_header("Via");
    let server = i.resp_header("Server");
    let proxy_server = server.is_some_and(|s| {
        let s = s.to_ascii_lowercase();
        !s.starts_with("microsoft-iis") && !s.starts_with("microsoft-httpapi")
    });
    let who = match (server, via) {
        (Some(s), Some(v)) => format!("Server: {s}, Via: {v}"),
        (Some(s), None) => format!("Server: {s}"),
        (None, Some(v)) => format!("Via: {v}"),
        (None, None) => "no Server header".into(),
    };
    (who, via.is_some() || proxy_server)
}

/// 5xx that a reverse proxy made (no X-MS-Server-Fqdn).
pub(super) fn rp_errors(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<(String, u16), (String, Vec<ExchId>)> = BTreeMap::new();
    for i in cx.items.iter().filter(|i| i.is_lync()) {
        let Some(status) = i.status().filter(|s| (500..600).contains(s)) else {
            continue;
        };
        // Fiddler's own "connection failed" answers are the proxy's view, not the server's.
        if i.ex
            .annotations
            .as_ref()
            .is_some_and(|a| a.generated_by_proxy)
        {
            continue;
        }
        if i.resp_header("X-MS-Server-Fqdn").is_some() {
            continue;
        }
        // A 500 carrying a token-rejection id is a rejected token (C-AUTH-9), whatever the
        // body looks like; SfB Online has no reverse proxy of the customer's in front.
        if i.token_rejection().is_some() || is_online_host(&i.view.host) {
            continue;
        }
        let (who, proxy) = answered_by(i);
        let gateway = matches!(status, 502..=504);
        if !proxy && !gateway {
            continue;
        }
        let g = groups.entry((i.view.host.clone(), status)).or_default();
        if g.0.is_empty() {
            g.0 = who;
        }
        g.1.push(i.id());
    }
    for ((host, status), (who, ids)) in groups {
        out.push(check.finding(
            Fail,
            format!(
                "{host} answered {status} without X-MS-Server-Fqdn ({who}; {}): the reverse \
                 proxy could not reach the Front End. Publish to the FE external web site \
                 (:4443, :8080 for HTTP), check the RP→FE firewall and that the RP trusts the \
                 FE certificate.",
                refs(&ids, ex_ref)
            ),
            ids,
            Vec::new(),
            Vec::new(),
        ));
    }
}

/// One UCWA application answered by different Front Ends.
pub(super) fn affinity(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    type Group = (String, BTreeMap<String, Vec<ExchId>>);
    let mut apps: BTreeMap<String, Group> = BTreeMap::new();
    for i in &cx.items {
        if !UCWA_STAGES.contains(&i.stage()) {
            continue;
        }
        let Some(fqdn) = i.resp_header("X-MS-Server-Fqdn") else {
            continue;
        };
        let Some(app) = ucwa_app_id(i) else { continue };
        let g = apps.entry(app).or_default();
        if g.0.is_empty() {
            g.0 = i.view.host.clone();
        }
        g.1.entry(fqdn.trim().to_ascii_lowercase())
            .or_default()
            .push(i.id());
    }
    for (app, (host, fes)) in apps {
        if fes.len() < 2 {
            continue;
        }
        let parts: Vec<String> = fes
            .iter()
            .map(|(fe, ids)| format!("{fe} ({})", refs(ids, ex_ref)))
            .collect();
        out.push(check.finding(
            Warning,
            format!(
                "UCWA application {app} on {host} was answered by different Front Ends: {}. \
                 Requests for one application must reach the Front End that owns it — load \
                 balancer affinity (source/TCP) is missing on the external web VIP / reverse \
                 proxy farm.",
                parts.join(" and ")
            ),
            fes.into_values().flatten().collect(),
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
    fn variant_e_hairpin_blocked() {
        let mut cap = scenario_a_start("203.0.113.10");
        cap.tcp(CLIENT_A, "203.0.113.10:443", 0.605, false, 4);
        cap.tcp(CLIENT_A, "203.0.113.10:443", 16.0, false, 4);
        let f = cap.run();
        let fails: Vec<&Finding> = f.iter().filter(|x| x.severity == Fail).collect();
        assert_eq!(fails.len(), 1, "{:#?}", checks_of(&f));
        let net = find(&f, "C-NET-1");
        assert_eq!(net.severity, Fail);
        assert_eq!(net.connections, vec![ConnId(2), ConnId(3)]);
        assert_eq!(net.dns, vec![DnsId(1)]);
        for needle in [
            "Internal client 10.50.12.34",
            "authenticated at webint-pool1.contoso.net (#4)",
            "https://webext-pool1.contoso.com/ucwa/oauth/v1/applications (#5)",
            "public RP address 203.0.113.10 (D1)",
            "8 SYNs, no SYN-ACK",
            "hairpin",
            "internal DNS record for webext-pool1.contoso.com",
        ] {
            assert!(net.message.contains(needle), "{needle}: {}", net.message);
        }
    }

    #[test]
    fn reverse_proxy_502_and_affinity_and_policy_refusal() {
        let (mut cap, c2) = external_until_user(apps_on_pool1());
        let host = "webext-pool1.contoso.com";
        let bearer = format!("Bearer {TB1}");
        cap.fqdn = "";
        cap.http(
            c2,
            6.0,
            0.1,
            post(host, "/ucwa/oauth/v1/applications", "{}").h("Authorization", bearer.clone()),
            Some((
                502,
                vec![
                    ("Server", "nginx".into()),
                    ("X-MS-Server-Fqdn", String::new()),
                ],
                "<html>Bad Gateway</html>",
            )),
        );
        cap.fqdn = "fe01.contoso.net";
        cap.http(
            c2,
            7.0,
            0.1,
            post(host, "/ucwa/oauth/v1/applications", "{}").h("Authorization", bearer.clone()),
            Some((201, Vec::new(), &application_body(APP_A))),
        );
        cap.fqdn = "fe02.contoso.net";
        let pol = format!("{APP_A}/policies");
        cap.http(
            c2,
            8.0,
            0.1,
            get(host, &pol).h("Authorization", bearer.clone()),
            Some((200, Vec::new(), r#"{"rel":"policies"}"#)),
        );
        cap.http(
            c2,
            9.0,
            0.1,
            post(host, "/ucwa/oauth/v1/applications", "{}").h("Authorization", bearer),
            Some((
                403,
                Vec::new(),
                r#"{"code":"Forbidden","subcode":"MobileApplicationNoLongerAllowed","message":"The user is not allowed to create mobile application."}"#,
            )),
        );
        let f = cap.run();
        let rp = find(&f, "C-NET-3");
        assert!(
            rp.message
                .contains("answered 502 without X-MS-Server-Fqdn (Server: nginx"),
            "{}",
            rp.message
        );
        assert_eq!(rp.exchanges, vec![ExchId(6)]);
        let aff = find(&f, "C-NET-4");
        assert_eq!(aff.severity, Warning);
        assert!(aff.message.contains("102146789012"), "{}", aff.message);
        assert!(
            aff.message
                .contains("fe01.contoso.net (#7) and fe02.contoso.net (#8"),
            "{}",
            aff.message
        );
        let pol = find(&f, "C-POL-1");
        assert_eq!(pol.severity, Fail);
        assert!(
            pol.message.contains("mobility is disabled for this user"),
            "{}",
            pol.message
        );
        assert!(
            pol.message
                .contains("subcode=MobileApplicationNoLongerAllowed"),
            "{}",
            pol.message
        );
    }
}
