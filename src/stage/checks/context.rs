//! What every check family shares: the row of the check table a check builds its findings
//! from (`Check`), the Lync-tagged exchanges with their request view (`Item`), the context of one
//! run (`Ctx`), and the helpers that name evidence in messages (references, lookup results,
//! times).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use crate::model::{
    rcode_name, Analysis, AuthFacts, AuthLeg, CertificateInfo, ConnId, Connection, DnsId,
    DnsLookup, ExchId, Exchange, Finding, FindingSeverity, NtlmMessage, StageTag, Ts,
};
use crate::stage::classify::{
    cert_covers, online_vanity, request_view, Learned, RequestView, UNRELATED,
};
use crate::stage::hosts::is_online_host;
use crate::stage::links::{body_facts, response_links, Link};
use crate::stage::rules::RuleSet;

/// At most this many references are spelled out in one message.
pub(super) const MAX_REFS: usize = 8;

/// Autodiscover stages (root and user resource).
pub(super) const AUTODISCOVER_STAGES: [&str; 4] = [
    "ad-root-http",
    "ad-root-https",
    "ad-user-challenge",
    "ad-user",
];

/// How one check runs: reads the context, appends its findings, built from its table row.
type Run = fn(&Ctx<'_>, &Check, &mut Vec<Finding>);

/// One row of the check table (checks/mod.rs, rendered as docs/checks.md): the check's id and
/// title, the severities it can give, the evidence it rests on, and the functions that run it.
/// The functions get their row so that the id is written in one place only.
pub(crate) struct Check {
    pub(crate) id: &'static str,
    pub(crate) title: &'static str,
    /// Every severity the check can give (`needs` says when each applies).
    pub(crate) severities: &'static [FindingSeverity],
    /// What must be in the capture for the check to speak, in a sentence.
    pub(crate) needs: &'static str,
    /// Run in this order; a check split across functions lists them all.
    pub(super) run: &'static [Run],
}

impl Check {
    /// A finding of this check.
    pub(super) fn finding(
        &self,
        severity: FindingSeverity,
        message: String,
        exchanges: Vec<ExchId>,
        dns: Vec<DnsId>,
        connections: Vec<ConnId>,
    ) -> Finding {
        // The documented severities (docs/checks.md) must be the ones given.
        debug_assert!(
            self.severities.contains(&severity),
            "{} gave {severity:?}, which its table row does not list",
            self.id
        );
        Finding {
            check: self.id.to_string(),
            severity,
            message,
            exchanges,
            dns,
            connections,
        }
    }
}

// ---- shared context -----------------------------------------------------------------------

/// One Lync-tagged exchange with its request view and connection.
pub(super) struct Item<'a> {
    pub(super) ex: &'a Exchange,
    pub(super) tag: &'a StageTag,
    pub(super) view: RequestView<'a>,
    pub(super) conn: &'a Connection,
}

impl<'a> Item<'a> {
    pub(super) fn id(&self) -> ExchId {
        self.ex.id
    }
    pub(super) fn stage(&self) -> &'a str {
        &self.tag.id
    }
    pub(super) fn status(&self) -> Option<u16> {
        self.ex.response.as_ref().map(|r| r.status)
    }
    pub(super) fn client(&self) -> Option<IpAddr> {
        let ip = self.conn.client.ip();
        (!ip.is_unspecified()).then_some(ip)
    }
    pub(super) fn at(&self) -> Ts {
        self.ex.timing.first().map_or(Ts(0), |a| a.ts)
    }
    pub(super) fn resp_header(&self, name: &str) -> Option<&'a str> {
        self.ex.response.as_ref()?.headers.get(name)
    }
    pub(super) fn resp_text(&self) -> Option<Cow<'a, str>> {
        let body = self.ex.response.as_ref()?.body.bytes()?;
        Some(String::from_utf8_lossy(body))
    }
    /// Scalar facts of the response body (links.rs: policy values, relays, SAML window …).
    pub(super) fn resp_facts(&self) -> Vec<(String, String)> {
        let Some(r) = self.ex.response.as_ref() else {
            return Vec::new();
        };
        r.body
            .bytes()
            .map(|b| body_facts(r.headers.get("Content-Type"), b))
            .unwrap_or_default()
    }
    /// Scalar facts of the request body (grant_type of a token request).
    pub(super) fn req_facts(&self) -> Vec<(String, String)> {
        let Some(r) = self.ex.request.as_ref() else {
            return Vec::new();
        };
        r.body
            .bytes()
            .map(|b| body_facts(r.headers.get("Content-Type"), b))
            .unwrap_or_default()
    }
    /// The URLs the response announces (links.rs), relative ones resolved.
    pub(super) fn links(&self) -> Vec<Link> {
        let Some(r) = self.ex.response.as_ref() else {
            return Vec::new();
        };
        let default_port = if self.view.scheme == "https" { 443 } else { 80 };
        let base = if self.view.port == default_port {
            format!("{}://{}", self.view.scheme, self.view.host)
        } else {
            format!(
                "{}://{}:{}",
                self.view.scheme, self.view.host, self.view.port
            )
        };
        response_links(
            &base,
            &r.headers,
            r.headers.get("Content-Type"),
            r.body.bytes(),
        )
    }
    pub(super) fn auth(&self) -> Option<&'a AuthFacts> {
        self.ex.auth.as_deref()
    }
    pub(super) fn leg(&self) -> Option<&'a AuthLeg> {
        self.auth()?.request.as_ref()
    }
    pub(super) fn ntlm(&self) -> Option<&'a NtlmMessage> {
        self.leg().and_then(ntlm_of)
    }
    /// The token the request presented (`Authorization: Bearer`, `X-MS-WebTicket`).
    pub(super) fn token(&self) -> Option<&'a AuthLeg> {
        self.leg()
            .filter(|l| matches!(l, AuthLeg::Bearer(_) | AuthLeg::WebTicket { .. }))
    }
    /// The token-rejection marker of the response (docs/checks.md C-AUTH-9), in a few words.
    pub(super) fn token_rejection(&self) -> Option<String> {
        let r = self.ex.response.as_ref()?;
        crate::stage::auth::token_rejection(&r.headers, self.auth())
    }
    /// Rebuilt from packets (not read from a trace archive).
    pub(super) fn on_the_wire(&self) -> bool {
        self.conn.packets > 0
    }
    /// The request went to the UCWA applications URL: the probe (stage 29) or the creation
    /// (stage 30), diagnosed alike when they fail (docs/stages.md stage 29).
    pub(super) fn on_applications_url(&self) -> bool {
        matches!(self.stage(), "ucwa-probe" | "ucwa-application")
    }
    pub(super) fn is_lync(&self) -> bool {
        is_lync_stage(self.stage())
    }
    pub(super) fn describe(&self) -> String {
        format!(
            "{} {} {}",
            ex_ref(self.id()),
            self.view.method,
            self.view.url
        )
    }
}

pub(super) struct Ctx<'a> {
    pub(super) a: &'a Analysis,
    pub(super) rules: &'a RuleSet,
    pub(super) learned: &'a Learned,
    /// Exchanges with a stage other than `unrelated`, in capture order.
    pub(super) items: Vec<Item<'a>>,
    /// Exchange id → index in `items`.
    pub(super) item_index: HashMap<ExchId, usize>,
    /// Client → its first lookup of a Lync name that answered a private address.
    pub(super) private_answers: HashMap<IpAddr, &'a DnsLookup>,
    /// SIP domains from discovery names, `sipuri=` and the sign-in summaries.
    pub(super) sip_domains: BTreeSet<String>,
    /// Discovery names that point into SfB Online (CNAME to `*.online.lync.com`, or TLS on
    /// the name presented Microsoft's `*.lync.com` certificate): C-ONLINE-1 speaks for them,
    /// not the certificate checks.
    pub(super) online_vanity: BTreeSet<String>,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(a: &'a Analysis, rules: &'a RuleSet, learned: &'a Learned) -> Ctx<'a> {
        let items = a
            .exchanges
            .iter()
            .filter_map(|ex| {
                let tag = ex.stage.as_ref().filter(|t| t.id != UNRELATED)?;
                let view = request_view(a, ex)?;
                let conn = a.connections.get(ex.connection.0 as usize)?;
                Some(Item {
                    ex,
                    tag,
                    view,
                    conn,
                })
            })
            .collect::<Vec<Item<'a>>>();
        let item_index = items.iter().enumerate().map(|(k, i)| (i.id(), k)).collect();
        let mut private_answers: HashMap<IpAddr, &DnsLookup> = HashMap::new();
        for l in &a.dns {
            let lync_name = l.stage.as_ref().is_some_and(|t| t.id != UNRELATED)
                && learned
                    .lync_hosts
                    .contains(&l.qname.trim_end_matches('.').to_ascii_lowercase());
            if lync_name && l.addresses().any(is_private) {
                private_answers.entry(l.client.ip()).or_insert(l);
            }
        }
        let mut sip_domains: BTreeSet<String> = learned.sip_domains.iter().cloned().collect();
        sip_domains.extend(
            a.signin
                .iter()
                .filter_map(|s| s.sip_domain.as_ref())
                .map(|d| d.to_ascii_lowercase()),
        );
        let mut vanity = BTreeSet::new();
        for l in &a.dns {
            let name = l.qname.trim_end_matches('.').to_ascii_lowercase();
            if discovery_name(&name).is_some()
                && l.cnames().any(|c| is_online_host(c.trim_end_matches('.')))
            {
                vanity.insert(name);
            }
        }
        for c in &a.connections {
            let Some(sni) = c.tls.as_ref().and_then(|t| t.sni.as_deref()) else {
                continue;
            };
            let sni = sni.trim_end_matches('.').to_ascii_lowercase();
            if discovery_name(&sni).is_some() && online_vanity(a, learned, c, &sni) {
                vanity.insert(sni);
            }
        }
        Ctx {
            a,
            rules,
            learned,
            items,
            item_index,
            private_answers,
            sip_domains,
            online_vanity: vanity,
        }
    }

    pub(super) fn item(&self, id: ExchId) -> Option<&Item<'a>> {
        self.items.get(*self.item_index.get(&id)?)
    }

    /// Connections rebuilt from packets with a stage other than `unrelated`.
    pub(super) fn tagged_connections(
        &self,
    ) -> impl Iterator<Item = (&'a Connection, &'a StageTag)> + '_ {
        self.a.connections.iter().filter_map(|c| {
            let t = c.stage.as_ref().filter(|t| t.id != UNRELATED)?;
            (c.packets > 0).then_some((c, t))
        })
    }

    /// The sign-in flow ("internal" / "external") of a client, when the summary decided it.
    pub(super) fn flow(&self, client: IpAddr) -> Option<&'a str> {
        self.a
            .signin
            .iter()
            .find(|s| s.client == Some(client))
            .and_then(|s| s.flow.as_deref())
    }

    /// A lookup by this client of a Lync name that answered a private address.
    pub(super) fn private_lync_answer(&self, client: IpAddr) -> Option<&'a DnsLookup> {
        self.private_answers.get(&client).copied()
    }

    /// The client is on the Internet: a public address, or an external flow with no sign of
    /// the corporate network.
    pub(super) fn client_is_external(&self, client: IpAddr) -> bool {
        if self.flow(client) == Some("internal") {
            return false;
        }
        !is_private(client)
            || (self.flow(client) == Some("external") && self.private_lync_answer(client).is_none())
    }

    /// The latest lookup by `client` answered before `before` that gave `addr`, with the
    /// name asked.
    pub(super) fn lookup_giving(
        &self,
        addr: IpAddr,
        client: IpAddr,
        before: Ts,
    ) -> Option<(DnsId, String)> {
        let list = self.learned.resolved.get(&addr)?;
        list.iter()
            .rev()
            .filter(|(t, id, _)| {
                *t <= before
                    && self
                        .a
                        .dns
                        .get(id.0 as usize)
                        .is_some_and(|l| l.client.ip() == client)
            })
            .map(|(_, id, name)| (*id, name.clone()))
            .next()
    }

    /// The organisation labels of the SIP domains ("contoso" for contoso.com).
    pub(super) fn org_labels(&self) -> Vec<String> {
        self.sip_domains
            .iter()
            .filter_map(|d| org_label(d))
            .collect()
    }
}

// ---- helpers ------------------------------------------------------------------------------

fn is_lync_stage(id: &str) -> bool {
    id != UNRELATED && !id.starts_with("exchange-")
}

/// RFC 1918, 100.64.0.0/10 (CGNAT), fc00::/7, plus loopback and link-local: addresses that
/// are not reachable from the Internet.
pub(super) fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            a.is_private()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || a.is_loopback()
                || a.is_link_local()
        }
        IpAddr::V6(a) => {
            let s = a.segments()[0];
            (s & 0xfe00) == 0xfc00 || (s & 0xffc0) == 0xfe80 || a.is_loopback()
        }
    }
}

/// "contoso" for contoso.com, "contoso" for contoso.co.uk.
pub(super) fn org_label(domain: &str) -> Option<String> {
    let labels: Vec<&str> = domain.trim_end_matches('.').split('.').collect();
    let n = labels.len();
    if n < 2 {
        return None;
    }
    let sld = labels[n - 2];
    let short_sld = ["co", "com", "org", "net", "ac", "gov", "edu", "ne", "or"];
    let label = if n >= 3 && short_sld.contains(&sld) {
        labels[n - 3]
    } else {
        sld
    };
    (label.len() >= 3).then(|| label.to_ascii_lowercase())
}

/// `lyncdiscoverinternal.d` → (true, d); `lyncdiscover.d` → (false, d).
pub(super) fn discovery_name(name: &str) -> Option<(bool, String)> {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    if let Some(d) = n.strip_prefix("lyncdiscoverinternal.") {
        return Some((true, d.to_string()));
    }
    n.strip_prefix("lyncdiscover.")
        .map(|d| (false, d.to_string()))
}

/// The domain after the first label.
pub(super) fn parent_domain(host: &str) -> &str {
    host.split_once('.').map_or(host, |(_, d)| d)
}

pub(super) fn in_domain(host: &str, domain: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == domain || host.ends_with(&format!(".{domain}"))
}

fn ntlm_of(leg: &AuthLeg) -> Option<&NtlmMessage> {
    match leg {
        AuthLeg::Ntlm(m) => Some(m),
        AuthLeg::Negotiate { ntlm: Some(m), .. } => Some(m),
        _ => None,
    }
}

/// DOMAIN\user of an NTLM type 3.
pub(super) fn ntlm_user(m: &NtlmMessage) -> Option<String> {
    match m {
        NtlmMessage::Authenticate { domain, user, .. } if !user.is_empty() => {
            Some(if domain.is_empty() {
                user.clone()
            } else {
                format!("{domain}\\{user}")
            })
        }
        _ => None,
    }
}

pub(super) fn ex_ref(id: ExchId) -> String {
    format!("#{}", id.0)
}

pub(super) fn dns_ref(id: DnsId) -> String {
    format!("D{}", id.0)
}

pub(super) fn conn_ref(id: ConnId) -> String {
    format!("C{}", id.0)
}

/// "C2, C3" (sorted, deduplicated, at most MAX_REFS spelled out).
pub(super) fn refs<T: Ord + Copy>(ids: &[T], show: fn(T) -> String) -> String {
    let mut v: Vec<T> = ids.to_vec();
    v.sort();
    v.dedup();
    let mut s: Vec<String> = v.iter().take(MAX_REFS).map(|&i| show(i)).collect();
    if v.len() > MAX_REFS {
        s.push(format!("… {} in all", v.len()));
    }
    s.join(", ")
}

/// What a lookup answered, in a few words.
pub(super) fn lookup_result(l: &DnsLookup) -> String {
    match &l.response {
        None => "no response".into(),
        Some(r) if r.rcode != 0 => rcode_name(r.rcode).into(),
        Some(_) => {
            let addrs: Vec<String> = l.addresses().map(|a| a.to_string()).collect();
            if addrs.is_empty() {
                "no address".into()
            } else {
                addrs.join(", ")
            }
        }
    }
}

pub(super) fn answered(l: &DnsLookup) -> bool {
    l.addresses().next().is_some()
}

pub(super) fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub(super) fn host_of_url(url: &str) -> Option<String> {
    crate::stage::classify::host_of(url)
}

/// Origin + lower-case path, no query: what makes two Autodiscover URLs "the same".
pub(super) fn url_key(url: &str) -> String {
    let no_query = url.split(['?', '#']).next().unwrap_or(url);
    no_query.trim_end_matches('/').to_ascii_lowercase()
}

/// "2015-06-29 14:00:00 UTC".
pub(super) fn show_time(t: Ts) -> String {
    crate::datetime::utc_seconds(t)
}

/// A capture timestamp that is a real date (not zero, as hand-made archives may leave it).
pub(super) fn real_time(t: Ts) -> bool {
    t.0 > 946_684_800_000_000_000 // 2000-01-01
}

/// Discovery lookups by SIP domain, each with "is the internal name".
pub(super) fn discovery_lookups<'a>(cx: &Ctx<'a>) -> BTreeMap<String, Vec<(bool, &'a DnsLookup)>> {
    let mut by_domain: BTreeMap<String, Vec<(bool, &DnsLookup)>> = BTreeMap::new();
    for l in &cx.a.dns {
        if l.stage.as_ref().is_none_or(|t| t.id != "dns-discovery") {
            continue;
        }
        if let Some((internal, d)) = discovery_name(&l.qname) {
            by_domain.entry(d).or_default().push((internal, l));
        }
    }
    by_domain
}

/// SAN DNS names (wildcard = one label); the subject CN only when there are none.
pub(super) fn cert_covers_host(cert: &CertificateInfo, host: &str) -> bool {
    let dns_sans: Vec<&String> = cert
        .sans
        .iter()
        .filter(|s| s.parse::<IpAddr>().is_err())
        .collect();
    if !dns_sans.is_empty() {
        return dns_sans.iter().any(|s| cert_covers(s, host));
    }
    common_names(cert).any(|cn| cert_covers(cn, host))
}

fn common_names(cert: &CertificateInfo) -> impl Iterator<Item = &str> {
    cert.subject
        .split([',', '/'])
        .filter_map(|p| p.trim().strip_prefix("CN="))
}

pub(super) fn cert_names(cert: &CertificateInfo) -> String {
    if cert.sans.is_empty() {
        common_names(cert).collect::<Vec<_>>().join(", ")
    } else {
        cert.sans.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datetime::{parse_http_date, parse_iso8601 as parse_rfc3339};
    use crate::stage::checks::fixtures::*;

    #[test]
    fn dates_parse() {
        let t = parse_http_date("Mon, 29 Jun 2015 14:00:00 GMT").unwrap();
        assert_eq!(t, time_base(2015, 6, 29, 14, 0));
        assert_eq!(http_date(t), "Mon, 29 Jun 2015 14:00:00 GMT");
        assert_eq!(
            parse_rfc3339("2015-06-29T22:00:01.690Z").unwrap(),
            Ts::from_secs_nanos(
                time_base(2015, 6, 29, 22, 0).0 / 1_000_000_000 + 1,
                690_000_000
            )
        );
        assert_eq!(
            parse_rfc3339("2015-06-29T16:00:00+02:00"),
            Some(time_base(2015, 6, 29, 14, 0))
        );
        assert_eq!(parse_rfc3339("2015-06-29"), None);
        assert_eq!(parse_http_date("garbage"), None);
        assert_eq!(
            show_time(time_base(2015, 6, 29, 14, 0)),
            "2015-06-29 14:00:00 UTC"
        );
    }
}
