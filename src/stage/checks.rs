//! The automatic checks of lync-flow.md §4, each as a finding.
//!
//! Every check reads what the classifier tagged (stages, outcomes, decoded authentication)
//! plus the raw facts (DNS answers, TCP handshakes, certificates, headers, body heads) and
//! says in plain words what it saw and what to do. A check whose evidence is not in the
//! capture stays silent rather than guessing. Trace archives (SAZ, HAR) carry no DNS or TCP
//! facts of the device, so the network checks only use connections rebuilt from packets.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::LazyLock;

use regex::Regex;

use super::auth::token_ref;
use super::classify::{cert_covers, request_view, Learned, RequestView, UNRELATED};
use super::links::{body_facts, response_links, Link};
use super::rules::RuleSet;
use crate::datetime::{civil_from_days, parse_http_date, parse_iso8601 as parse_rfc3339};
use crate::model::{
    rcode_name, Analysis, AuthFacts, AuthLeg, CertificateInfo, ConnId, Connection, DnsId,
    DnsLookup, ExchId, Exchange, Finding, FindingSeverity, NtlmMessage, Outcome, StageTag,
    StreamEnd, Ts,
};

use FindingSeverity::{Fail, Info, Warning};

/// Clock difference that makes tickets and certificates suspect (lync-flow.md §4 C-TIME-1).
const SKEW_LIMIT_SECS: f64 = 300.0;
/// A step slower than this is worth pointing at (C-TIME-2).
const SLOW_STEP_SECS: f64 = 5.0;
/// Exchange's Lync Autodiscover client gives up after this many redirects (C-AD-4).
const MAX_REDIRECTS: usize = 10;
/// At most this many references are spelled out in one message.
const MAX_REFS: usize = 8;

/// Issuer name fragments of public CAs (C-CERT-4): an issuer containing one of these is
/// trusted by phones out of the box.
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

/// Autodiscover stages (root and user resource).
const AUTODISCOVER_STAGES: [&str; 4] = [
    "ad-root-http",
    "ad-root-https",
    "ad-user-challenge",
    "ad-user",
];

type Check = fn(&Ctx<'_>, &mut Vec<Finding>);

/// Every check, in §4 order.
const CHECKS: [Check; 32] = [
    dns_1_discovery_unresolved,
    dns_2_internal_record,
    dns_3_cname_other_domain,
    cert_1_name_not_covered,
    cert_2_lyncdiscover_san,
    cert_3_validity,
    cert_4_internal_ca,
    http_1_port_80,
    ad_1_internal_links,
    ad_2_sipuri_domain,
    ad_3_user_unknown,
    ad_4_redirect_loop,
    auth_1_path,
    auth_2_rejected_ntlm,
    auth_2_401_loop,
    auth_3_ntlm_split,
    auth_4_rp_preauth,
    auth_5_ticket_other_pool,
    auth_6_ms_diagnostics,
    time_1_date_skew,
    time_1_saml_window,
    time_2_slow_steps,
    net_1_hairpin,
    net_2_external_on_internal_vip,
    net_3_rp_errors,
    net_4_affinity,
    pol_1_mobility_refused,
    pol_2_wifi_only,
    media_1_relay_location,
    mcx_1_internal_url,
    exch_1_exchange,
    src_1_saz_and_fallback_1,
];

pub(crate) fn run(analysis: &Analysis, rules: &RuleSet, learned: &Learned) -> Vec<Finding> {
    let cx = Ctx::new(analysis, rules, learned);
    let mut out = Vec::new();
    for check in CHECKS {
        check(&cx, &mut out);
    }
    for f in &mut out {
        f.exchanges.sort();
        f.exchanges.dedup();
        f.dns.sort();
        f.dns.dedup();
        f.connections.sort();
        f.connections.dedup();
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.check.cmp(&b.check))
            .then_with(|| first_evidence(a).cmp(&first_evidence(b)))
            .then_with(|| a.message.cmp(&b.message))
    });
    out
}

fn first_evidence(f: &Finding) -> (Option<ExchId>, Option<DnsId>, Option<ConnId>) {
    (
        f.exchanges.first().copied(),
        f.dns.first().copied(),
        f.connections.first().copied(),
    )
}

// ---- shared context -----------------------------------------------------------------------

/// One Lync-tagged exchange with its request view and connection.
struct Item<'a> {
    ex: &'a Exchange,
    tag: &'a StageTag,
    view: RequestView<'a>,
    conn: &'a Connection,
}

impl<'a> Item<'a> {
    fn id(&self) -> ExchId {
        self.ex.id
    }
    fn stage(&self) -> &'a str {
        &self.tag.id
    }
    fn status(&self) -> Option<u16> {
        self.ex.response.as_ref().map(|r| r.status)
    }
    fn client(&self) -> Option<IpAddr> {
        let ip = self.conn.client.ip();
        (!ip.is_unspecified()).then_some(ip)
    }
    fn at(&self) -> Ts {
        self.ex.timing.first().map_or(Ts(0), |a| a.ts)
    }
    fn resp_header(&self, name: &str) -> Option<&'a str> {
        self.ex.response.as_ref()?.headers.get(name)
    }
    fn resp_text(&self) -> Option<Cow<'a, str>> {
        let body = self.ex.response.as_ref()?.body.bytes()?;
        Some(String::from_utf8_lossy(body))
    }
    /// Scalar facts of the response body (links.rs: policy values, relays, SAML window …).
    fn resp_facts(&self) -> Vec<(String, String)> {
        let Some(r) = self.ex.response.as_ref() else {
            return Vec::new();
        };
        r.body
            .bytes()
            .map(|b| body_facts(r.headers.get("Content-Type"), b))
            .unwrap_or_default()
    }
    /// Scalar facts of the request body (grant_type of a token request).
    fn req_facts(&self) -> Vec<(String, String)> {
        let Some(r) = self.ex.request.as_ref() else {
            return Vec::new();
        };
        r.body
            .bytes()
            .map(|b| body_facts(r.headers.get("Content-Type"), b))
            .unwrap_or_default()
    }
    /// The URLs the response announces (links.rs), relative ones resolved.
    fn links(&self) -> Vec<Link> {
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
    fn auth(&self) -> Option<&'a AuthFacts> {
        self.ex.auth.as_deref()
    }
    fn leg(&self) -> Option<&'a AuthLeg> {
        self.auth()?.request.as_ref()
    }
    fn ntlm(&self) -> Option<&'a NtlmMessage> {
        self.leg().and_then(ntlm_of)
    }
    /// Rebuilt from packets (not read from a trace archive).
    fn on_the_wire(&self) -> bool {
        self.conn.packets > 0
    }
    fn is_lync(&self) -> bool {
        is_lync_stage(self.stage())
    }
    fn describe(&self) -> String {
        format!(
            "{} {} {}",
            ex_ref(self.id()),
            self.view.method,
            self.view.url
        )
    }
}

struct Ctx<'a> {
    a: &'a Analysis,
    rules: &'a RuleSet,
    learned: &'a Learned,
    /// Exchanges with a stage other than `unrelated`, in capture order.
    items: Vec<Item<'a>>,
    /// Exchange id → index in `items`.
    item_index: HashMap<ExchId, usize>,
    /// Client → its first lookup of a Lync name that answered a private address.
    private_answers: HashMap<IpAddr, &'a DnsLookup>,
    /// SIP domains from discovery names, `sipuri=` and the sign-in summaries.
    sip_domains: BTreeSet<String>,
}

impl<'a> Ctx<'a> {
    fn new(a: &'a Analysis, rules: &'a RuleSet, learned: &'a Learned) -> Ctx<'a> {
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
        Ctx {
            a,
            rules,
            learned,
            items,
            item_index,
            private_answers,
            sip_domains,
        }
    }

    fn item(&self, id: ExchId) -> Option<&Item<'a>> {
        self.items.get(*self.item_index.get(&id)?)
    }

    /// Connections rebuilt from packets with a stage other than `unrelated`.
    fn tagged_connections(&self) -> impl Iterator<Item = (&'a Connection, &'a StageTag)> + '_ {
        self.a.connections.iter().filter_map(|c| {
            let t = c.stage.as_ref().filter(|t| t.id != UNRELATED)?;
            (c.packets > 0).then_some((c, t))
        })
    }

    /// The sign-in flow ("internal" / "external") of a client, when the summary decided it.
    fn flow(&self, client: IpAddr) -> Option<&'a str> {
        self.a
            .signin
            .iter()
            .find(|s| s.client == Some(client))
            .and_then(|s| s.flow.as_deref())
    }

    /// The client is on the corporate network: its flow started at lyncdiscoverinternal, or
    /// one of its lookups of a Lync name gave a private address (split-brain DNS).
    fn client_is_internal(&self, client: IpAddr) -> bool {
        self.flow(client) == Some("internal") || self.private_lync_answer(client).is_some()
    }

    /// A lookup by this client of a Lync name that answered a private address.
    fn private_lync_answer(&self, client: IpAddr) -> Option<&'a DnsLookup> {
        self.private_answers.get(&client).copied()
    }

    /// The client is on the Internet: a public address, or an external flow with no sign of
    /// the corporate network.
    fn client_is_external(&self, client: IpAddr) -> bool {
        if self.flow(client) == Some("internal") {
            return false;
        }
        !is_private(client)
            || (self.flow(client) == Some("external") && self.private_lync_answer(client).is_none())
    }

    /// The latest lookup by `client` answered before `before` that gave `addr`, with the
    /// name asked.
    fn lookup_giving(&self, addr: IpAddr, client: IpAddr, before: Ts) -> Option<(DnsId, String)> {
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
    fn org_labels(&self) -> Vec<String> {
        self.sip_domains
            .iter()
            .filter_map(|d| org_label(d))
            .collect()
    }
}

fn is_lync_stage(id: &str) -> bool {
    id != UNRELATED && !id.starts_with("exchange-")
}

/// RFC 1918, 100.64.0.0/10 (CGNAT), fc00::/7, plus loopback and link-local: addresses that
/// are not reachable from the Internet (lync-flow.md §3.5).
fn is_private(ip: IpAddr) -> bool {
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

fn is_online_host(host: &str) -> bool {
    ONLINE_SUFFIXES.iter().any(|s| host.ends_with(s))
}

/// "contoso" for contoso.com, "contoso" for contoso.co.uk.
fn org_label(domain: &str) -> Option<String> {
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
fn discovery_name(name: &str) -> Option<(bool, String)> {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    if let Some(d) = n.strip_prefix("lyncdiscoverinternal.") {
        return Some((true, d.to_string()));
    }
    n.strip_prefix("lyncdiscover.")
        .map(|d| (false, d.to_string()))
}

/// The domain after the first label.
fn parent_domain(host: &str) -> &str {
    host.split_once('.').map_or(host, |(_, d)| d)
}

fn in_domain(host: &str, domain: &str) -> bool {
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
fn ntlm_user(m: &NtlmMessage) -> Option<String> {
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

fn ex_ref(id: ExchId) -> String {
    format!("#{}", id.0)
}

fn dns_ref(id: DnsId) -> String {
    format!("D{}", id.0)
}

fn conn_ref(id: ConnId) -> String {
    format!("C{}", id.0)
}

/// "C2, C3" (sorted, deduplicated, at most MAX_REFS spelled out).
fn refs<T: Ord + Copy>(ids: &[T], show: fn(T) -> String) -> String {
    let mut v: Vec<T> = ids.to_vec();
    v.sort();
    v.dedup();
    let mut s: Vec<String> = v.iter().take(MAX_REFS).map(|&i| show(i)).collect();
    if v.len() > MAX_REFS {
        s.push(format!("… {} in all", v.len()));
    }
    s.join(", ")
}

fn finding(
    check: &str,
    severity: FindingSeverity,
    message: String,
    exchanges: Vec<ExchId>,
    dns: Vec<DnsId>,
    connections: Vec<ConnId>,
) -> Finding {
    Finding {
        check: check.to_string(),
        severity,
        message,
        exchanges,
        dns,
        connections,
    }
}

/// What a lookup answered, in a few words.
fn lookup_result(l: &DnsLookup) -> String {
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

fn answered(l: &DnsLookup) -> bool {
    l.addresses().next().is_some()
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn host_of_url(url: &str) -> Option<String> {
    super::classify::host_of(url)
}

static RE_ACCESS_TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)"access_token"\s*:\s*"([^"]+)""#).expect("static regex"));
static RE_UCWA_APP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)/ucwa/(?:oauth/)?v1/applications/([0-9]+)").expect("static regex")
});

// ---- time ---------------------------------------------------------------------------------

/// Days since 1970-01-01 (H. Hinnant's algorithm).
/// "2015-06-29 14:00:00 UTC".
fn show_time(t: Ts) -> String {
    let secs = t.0.div_euclid(1_000_000_000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// A capture timestamp that is a real date (not zero, as hand-made archives may leave it).
fn real_time(t: Ts) -> bool {
    t.0 > 946_684_800_000_000_000 // 2000-01-01
}

fn show_duration(secs: f64) -> String {
    let a = secs.abs();
    if a >= 2.0 * 86_400.0 {
        format!("{:.0} days", a / 86_400.0)
    } else if a >= 2.0 * 3600.0 {
        format!("{:.1} h", a / 3600.0)
    } else {
        format!("{:.0} min", a / 60.0)
    }
}

// ---- C-DNS ---------------------------------------------------------------------------------

/// Discovery lookups by SIP domain, each with "is the internal name".
fn discovery_lookups<'a>(cx: &Ctx<'a>) -> BTreeMap<String, Vec<(bool, &'a DnsLookup)>> {
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

/// C-DNS-1: neither discovery name resolves, so a mobile client cannot even start.
fn dns_1_discovery_unresolved(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for (d, lookups) in discovery_lookups(cx) {
        if lookups.iter().any(|(_, l)| answered(l)) {
            continue;
        }
        // The external name is the client's last resort; until it has been refused the
        // client may still be on its way.
        if !lookups.iter().any(|(int, l)| !int && l.response.is_some()) {
            continue;
        }
        // An Autodiscover root that answered anyway (hosts file, proxy) means discovery
        // worked another way.
        let root_ok = cx.items.iter().any(|i| {
            i.stage().starts_with("ad-root")
                && matches!(i.tag.outcome, Outcome::Ok | Outcome::Redirect)
                && in_domain(&i.view.host, &d)
        });
        if root_ok {
            continue;
        }
        let seen: Vec<String> = lookups
            .iter()
            .map(|(_, l)| format!("{} {} {}", dns_ref(l.id), l.qname, lookup_result(l)))
            .collect();
        out.push(finding(
            "C-DNS-1",
            Fail,
            format!(
                "Neither lyncdiscoverinternal.{d} nor lyncdiscover.{d} resolves ({}). Lync/SfB \
                 mobile clients use Autodiscover exclusively and have no SRV/A fallback — \
                 sign-in cannot start. Create the public lyncdiscover.{d} record (and the \
                 internal lyncdiscoverinternal.{d} record).",
                seen.join("; ")
            ),
            Vec::new(),
            lookups.iter().map(|(_, l)| l.id).collect(),
            Vec::new(),
        ));
    }
}

/// C-DNS-2: an internal client had to fall back to the external discovery name; or the
/// internal name answers on the Internet.
fn dns_2_internal_record(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for (d, lookups) in discovery_lookups(cx) {
        let internal: Vec<&DnsLookup> = lookups
            .iter()
            .filter(|(i, _)| *i)
            .map(|(_, l)| *l)
            .collect();
        let external_ok: Vec<&DnsLookup> = lookups
            .iter()
            .filter(|(i, l)| !*i && answered(l))
            .map(|(_, l)| *l)
            .collect();
        let internal_refused = internal
            .iter()
            .all(|l| l.response.is_some() && !answered(l));
        if let (Some(first), true, false) =
            (internal.first(), internal_refused, external_ok.is_empty())
        {
            let client = first.client.ip();
            if let Some(private) = cx.private_lync_answer(client) {
                let internal_ids: Vec<DnsId> = internal.iter().map(|l| l.id).collect();
                let external_ids: Vec<DnsId> = external_ok.iter().map(|l| l.id).collect();
                let mut dns = internal_ids.clone();
                dns.extend(&external_ids);
                dns.push(private.id);
                out.push(finding(
                    "C-DNS-2",
                    Warning,
                    format!(
                        "Client {client} is on the internal network ({} {} answered the \
                         private address {}), but internal DNS has no lyncdiscoverinternal.{d} \
                         record ({} {}); the client fell back to lyncdiscover.{d} ({}). \
                         Microsoft: leaving out the internal record can make internal clients \
                         fail or get the wrong Autodiscover response — publish \
                         lyncdiscoverinternal.{d} in the internal zone.",
                        dns_ref(private.id),
                        private.qname,
                        private
                            .addresses()
                            .find(|a| is_private(*a))
                            .map(|a| a.to_string())
                            .unwrap_or_default(),
                        refs(&internal_ids, dns_ref),
                        lookup_result(first),
                        refs(&external_ids, dns_ref),
                    ),
                    Vec::new(),
                    dns,
                    Vec::new(),
                ));
            }
        }
        let public_answers: Vec<&DnsLookup> = internal
            .iter()
            .copied()
            .filter(|l| answered(l) && !is_private(l.client.ip()))
            .collect();
        if let Some(first) = public_answers.first() {
            out.push(finding(
                "C-DNS-2",
                Info,
                format!(
                    "lyncdiscoverinternal.{d} resolves for client {} on a public network ({} → \
                     {}): the internal discovery name should not be resolvable from outside. \
                     Remove it from the public zone.",
                    first.client.ip(),
                    dns_ref(first.id),
                    lookup_result(first)
                ),
                Vec::new(),
                public_answers.iter().map(|l| l.id).collect(),
                Vec::new(),
            ));
        }
    }
}

/// C-DNS-3: a discovery name that is a CNAME into another domain, used over HTTPS.
fn dns_3_cname_other_domain(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for (d, lookups) in discovery_lookups(cx) {
        for (_, l) in lookups {
            let Some(target) = l.cnames().last() else {
                continue;
            };
            let target = target.trim_end_matches('.').to_ascii_lowercase();
            if in_domain(&target, &d) {
                continue;
            }
            let name = l.qname.trim_end_matches('.').to_ascii_lowercase();
            let conns: Vec<&Connection> =
                cx.a.connections
                    .iter()
                    .filter(|c| {
                        c.packets > 0
                            && c.tls
                                .as_ref()
                                .and_then(|t| t.sni.as_deref())
                                .is_some_and(|s| s.eq_ignore_ascii_case(&name))
                    })
                    .collect();
            if conns.is_empty() {
                continue;
            }
            let certs: Vec<&CertificateInfo> = conns
                .iter()
                .filter_map(|c| c.tls.as_ref()?.certificate.as_ref())
                .collect();
            let uncovered = certs.iter().find(|c| !cert_covers_host(c, &name));
            let (severity, tail) = match (uncovered, certs.is_empty()) {
                (Some(cert), _) => (Fail, format!("It does not (names: {}).", cert_names(cert))),
                (None, true) => (
                    Warning,
                    "The certificate was not visible in the capture; make sure it does.".into(),
                ),
                (None, false) => continue,
            };
            let conn_ids: Vec<ConnId> = conns.iter().map(|c| c.id).collect();
            out.push(finding(
                "C-DNS-3",
                severity,
                format!(
                    "{name} is a CNAME to {target} ({}), outside {d}, and the client connected \
                     to it over HTTPS ({}). A CNAME does not change the name the certificate \
                     is checked against: the certificate must still contain {name} (or *.{d}). \
                     {tail}",
                    dns_ref(l.id),
                    refs(&conn_ids, conn_ref),
                ),
                Vec::new(),
                vec![l.id],
                conn_ids,
            ));
        }
    }
}

// ---- C-CERT --------------------------------------------------------------------------------

/// SAN DNS names (wildcard = one label); the subject CN only when there are none.
fn cert_covers_host(cert: &CertificateInfo, host: &str) -> bool {
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

fn cert_names(cert: &CertificateInfo) -> String {
    if cert.sans.is_empty() {
        common_names(cert).collect::<Vec<_>>().join(", ")
    } else {
        cert.sans.join(", ")
    }
}

/// A TLS connection to a Lync host and the name the client asked for.
struct TlsSeen<'a> {
    conn: &'a Connection,
    cert: &'a CertificateInfo,
    name: String,
    /// The connection carried at least one HTTP exchange (the client went on).
    used: bool,
}

/// TLS connections (with a certificate) that belong to the Lync flow; Exchange candidates
/// are judged by C-EXCH-1 unless `include_exchange`.
fn lync_tls<'a>(cx: &Ctx<'a>, include_exchange: bool) -> Vec<TlsSeen<'a>> {
    let mut out = Vec::new();
    for c in &cx.a.connections {
        let Some(tls) = &c.tls else { continue };
        let Some(cert) = &tls.certificate else {
            continue;
        };
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
        if !related {
            continue;
        }
        out.push(TlsSeen {
            conn: c,
            cert,
            name,
            used: !c.exchanges.is_empty(),
        });
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

/// C-CERT-1: the certificate does not cover the name the client asked for.
fn cert_1_name_not_covered(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let seen = lync_tls(cx, false);
    for ((name, names), group) in uncovered_groups(&seen) {
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
        out.push(finding(
            "C-CERT-1",
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

/// C-CERT-2: the certificate answering for lyncdiscover(internal).<d> lacks that name.
fn cert_2_lyncdiscover_san(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let seen = lync_tls(cx, false);
    for ((name, names), group) in uncovered_groups(&seen) {
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
        out.push(finding(
            "C-CERT-2",
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

/// C-CERT-3: certificate validity against the capture time (the chain length is not in the
/// model, so "intermediate missing" is not decided here).
fn cert_3_validity(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
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
        out.push(finding(
            "C-CERT-3",
            Fail,
            message,
            Vec::new(),
            Vec::new(),
            ids,
        ));
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

/// C-CERT-4: an internal enterprise CA on a name the mobile device must trust.
fn cert_4_internal_ca(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let labels = cx.org_labels();
    let mut groups: BTreeMap<String, (BTreeSet<String>, Vec<ConnId>)> = BTreeMap::new();
    for s in lync_tls(cx, true) {
        if !internal_ca(&s.cert.issuer, &labels) {
            continue;
        }
        let g = groups.entry(s.cert.issuer.clone()).or_default();
        g.0.insert(s.name.clone());
        g.1.push(s.conn.id);
    }
    for (issuer, (hosts, conns)) in groups {
        let hosts: Vec<String> = hosts.into_iter().collect();
        out.push(finding(
            "C-CERT-4",
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

// ---- C-HTTP-1 ------------------------------------------------------------------------------

/// C-HTTP-1: how HTTP/80 of the discovery hosts behaves.
fn http_1_port_80(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    // Unanswered or refused SYNs to :80 of a Lync host (packets only: a SAZ has no TCP).
    let mut silent: BTreeMap<IpAddr, (Option<String>, Vec<&Connection>)> = BTreeMap::new();
    for (c, t) in cx.tagged_connections() {
        if t.id != "tcp-tls" || c.server.port() != 80 || c.syn_ack {
            continue;
        }
        let g = silent.entry(c.server.ip()).or_default();
        if g.0.is_none() {
            g.0 = t.subkind.clone();
        }
        g.1.push(c);
    }
    for (ip, (name, conns)) in silent {
        let syns: u64 = conns.iter().map(|c| c.packets).sum();
        let refused = conns.iter().any(|c| c.end[1] == StreamEnd::Rst);
        let what = if refused {
            "refused (RST)".to_string()
        } else {
            format!("not answered ({})", plural(syns, "SYN", "SYNs"))
        };
        let ids: Vec<ConnId> = conns.iter().map(|c| c.id).collect();
        out.push(finding(
            "C-HTTP-1",
            Info,
            format!(
                "HTTP/80 on {ip}{} {what}, {} — the HTTP fallback for the initial Autodiscover \
                 request is not published. That is fine when HTTPS works; if the certificate \
                 lacks the lyncdiscover name, publishing port 80 (→ FE 8080) is the workaround.",
                name.map(|n| format!(" ({n})")).unwrap_or_default(),
                refs(&ids, conn_ref)
            ),
            Vec::new(),
            Vec::new(),
            ids,
        ));
    }
    // 3xx on the HTTP root: a redirect to another domain is a failed attempt for UCWA clients.
    for i in &cx.items {
        if i.stage() != "ad-root-http" || !i.status().is_some_and(|s| (300..400).contains(&s)) {
            continue;
        }
        let location = i.resp_header("Location").unwrap_or("").trim();
        let target = host_of_url(location);
        let domain = parent_domain(&i.view.host);
        let same_domain = target
            .as_deref()
            .is_none_or(|h| h == i.view.host || in_domain(h, domain));
        let (severity, tail) = if same_domain {
            (
                Info,
                "a redirect within the domain (usually HTTP → HTTPS) is tolerated",
            )
        } else {
            (
                Warning,
                "UCWA clients treat a redirect to a different domain as a failed discovery \
                 attempt; remove the reverse-proxy/web-site redirect rule for lyncdiscover",
            )
        };
        out.push(finding(
            "C-HTTP-1",
            severity,
            format!(
                "{} answered {} → {}: {tail}.",
                i.describe(),
                i.status().unwrap_or(0),
                if location.is_empty() {
                    "(no Location)"
                } else {
                    location
                }
            ),
            vec![i.id()],
            Vec::new(),
            Vec::new(),
        ));
    }
}

// ---- C-AD ----------------------------------------------------------------------------------

/// C-AD-1: an external client handed links it cannot use (internal web FQDN).
fn ad_1_internal_links(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
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
            out.push(finding(
                "C-AD-1",
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
            out.push(finding(
                "C-AD-1",
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

/// C-AD-2: the sign-in address's domain differs from the discovery domain.
fn ad_2_sipuri_domain(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
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
        out.push(finding(
            "C-AD-2",
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

/// The NTLM user who authenticated most recently before `before` (same client).
fn last_ntlm_user(cx: &Ctx<'_>, client: Option<IpAddr>, before: Ts) -> Option<(String, ExchId)> {
    cx.items
        .iter()
        .rev()
        .filter(|i| i.at() <= before && i.client() == client && i.is_lync())
        .find_map(|i| Some((ntlm_user(i.ntlm()?)?, i.id())))
}

/// C-AD-3: the authenticated user resource answered 404 (or 410).
fn ad_3_user_unknown(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
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
        out.push(finding(
            "C-AD-3",
            Fail,
            message,
            ids,
            Vec::new(),
            Vec::new(),
        ));
    }
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

/// Origin + lower-case path, no query: what makes two Autodiscover URLs "the same".
fn url_key(url: &str) -> String {
    let no_query = url.split(['?', '#']).next().unwrap_or(url);
    no_query.trim_end_matches('/').to_ascii_lowercase()
}

/// C-AD-4: Autodiscover redirect loops and long chains.
fn ad_4_redirect_loop(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
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
            out.push(finding(
                "C-AD-4",
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
            out.push(finding(
                "C-AD-4",
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

// ---- C-AUTH --------------------------------------------------------------------------------

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

/// C-AUTH-1: which authentication path each client took.
fn auth_1_path(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let mut by_client: BTreeMap<Option<IpAddr>, Vec<AuthStep>> = BTreeMap::new();
    let mut hints: BTreeMap<Option<IpAddr>, Vec<ExchId>> = BTreeMap::new();
    for i in &cx.items {
        let client = i.client();
        if i.stage() == "ad-user-challenge" {
            // Azure AD (Online) announces itself in the Bearer challenge.
            let aad = i.auth().and_then(|a| {
                a.challenges
                    .iter()
                    .find_map(|c| c.param("authorization_uri").and_then(host_of_url))
            });
            match aad {
                Some(aad) => by_client.entry(client).or_default().push(AuthStep {
                    how: "Azure AD OAuth",
                    mech: None,
                    user: None,
                    grant: None,
                    host: aad,
                    exchanges: vec![i.id()],
                }),
                None => hints.entry(client).or_default().push(i.id()),
            }
            continue;
        }
        let how = match i.stage() {
            "webticket-oauth" => "MsRtcOAuth",
            "webticket-soap" if i.view.method == "POST" => "WebTicket SOAP",
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
    for (client, steps) in by_client {
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
        if parts.is_empty() {
            continue;
        }
        out.push(finding(
            "C-AUTH-1",
            Info,
            format!("auth path: {}", parts.join("; ")),
            ids,
            Vec::new(),
            Vec::new(),
        ));
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

/// The type 3 went over another TCP connection than its type 1 (C-AUTH-3's case).
fn split_from_type1(cx: &Ctx<'_>, type3: &Item<'_>) -> Option<ExchId> {
    let t1 = matching_type1(cx, type3)?;
    (t1.conn.id != type3.conn.id && type3.on_the_wire() && t1.on_the_wire()).then(|| t1.id())
}

/// C-AUTH-2 (first half): NTLM type 3 answered 401 — the credentials were rejected.
fn auth_2_rejected_ntlm(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<(String, String, String), Vec<ExchId>> = BTreeMap::new();
    for i in &cx.items {
        if !i.is_lync() || i.status() != Some(401) {
            continue;
        }
        let Some(m) = i.ntlm().filter(|m| m.message_type() == 3) else {
            continue;
        };
        // Split across connections is C-AUTH-3's explanation, not a wrong password.
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
        out.push(finding(
            "C-AUTH-2",
            Fail,
            format!(
                "NTLM credentials rejected at {host}{path} ({}): the server answered the type-3 \
                 message of {user} with 401 again (wrong password, locked or disabled account, \
                 or UPN vs SIP address mismatch). Check the account and sign in with the \
                 matching user name.",
                refs(&ids, ex_ref)
            ),
            ids,
            Vec::new(),
            Vec::new(),
        ));
    }
}

/// C-AUTH-2 (second half): the same URL answered 401 three times without a success between.
fn auth_2_401_loop(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    type Key = (Option<IpAddr>, String, String);
    let mut runs: BTreeMap<Key, Vec<ExchId>> = BTreeMap::new();
    let mut flagged: BTreeMap<Key, Vec<ExchId>> = BTreeMap::new();
    for i in &cx.items {
        // The first 401 of the user resource is how the client learns where to authenticate.
        if !i.is_lync() || i.stage() == "ad-user-challenge" {
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
        out.push(finding(
            "C-AUTH-2",
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

/// C-AUTH-3: NTLM legs on different TCP connections.
fn auth_3_ntlm_split(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
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
        out.push(finding(
            "C-AUTH-3",
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

/// C-AUTH-4: a reverse proxy authenticating in place of Lync.
fn auth_4_rp_preauth(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<String, (BTreeSet<String>, Vec<ExchId>)> = BTreeMap::new();
    for i in cx.items.iter().filter(|i| i.is_lync()) {
        if let Some(why) = preauth_sign(i) {
            let g = groups.entry(i.view.host.clone()).or_default();
            g.0.insert(why);
            g.1.push(i.id());
        }
    }
    for (host, (whys, ids)) in groups {
        out.push(finding(
            "C-AUTH-4",
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

/// C-AUTH-5: a ticket presented to a pool other than the one that issued it.
fn auth_5_ticket_other_pool(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    // Issued tickets: SHA-256 of the access token → (issuing host, exchange).
    let mut issued: HashMap<String, (String, ExchId)> = HashMap::new();
    for i in &cx.items {
        if i.stage() != "webticket-oauth" || i.status() != Some(200) {
            continue;
        }
        let Some(body) = i.resp_text() else { continue };
        if let Some(tok) = RE_ACCESS_TOKEN.captures(&body).and_then(|c| c.get(1)) {
            issued.insert(
                token_ref(tok.as_str()).sha256,
                (i.view.host.clone(), i.id()),
            );
        }
    }
    type Group = (Vec<ExchId>, Option<ExchId>, Option<String>);
    let mut groups: BTreeMap<(String, Option<String>), Group> = BTreeMap::new();
    for i in cx.items.iter().filter(|i| i.is_lync()) {
        let diag_28032 = i.auth().and_then(|a| {
            a.diagnostics
                .iter()
                .find(|d| d.code == Some(28032))
                .map(|d| d.raw.trim().to_string())
        });
        let origin = match i.leg() {
            Some(AuthLeg::Bearer(t)) => issued.get(&t.sha256),
            _ => None,
        }
        .filter(|(h, _)| *h != i.view.host);
        let rejected = matches!(i.status(), Some(401 | 403 | 500));
        if diag_28032.is_none() && !(rejected && origin.is_some()) {
            continue;
        }
        let g = groups
            .entry((i.view.host.clone(), origin.map(|(h, _)| h.clone())))
            .or_default();
        g.0.push(i.id());
        if let Some((_, at)) = origin {
            g.0.push(*at);
            g.1.get_or_insert(*at);
        }
        if g.2.is_none() {
            g.2 = diag_28032;
        }
    }
    for ((host, from), (ids, issued_at, diag)) in groups {
        let diag = diag
            .map(|d| format!(" (X-Ms-diagnostics: {d})"))
            .unwrap_or_default();
        let from = match (&from, issued_at) {
            (Some(h), Some(at)) => format!("a ticket issued by {h} at {}", ex_ref(at)),
            (Some(h), None) => format!("a ticket issued by {h}"),
            _ => "a ticket issued by a different pool (or an expired ticket)".into(),
        };
        out.push(finding(
            "C-AUTH-5",
            Fail,
            format!(
                "{host} rejected {from}{diag} ({}): web tickets are pool-scoped — the client \
                 must re-authenticate at the new pool (MsRtcOAuth → /WebTicket/oauthtoken on \
                 {host}). If it does not, check the Autodiscover redirect and that this pool's \
                 WebTicket service is published.",
                refs(&ids, ex_ref)
            ),
            ids,
            Vec::new(),
            Vec::new(),
        ));
    }
}

/// C-AUTH-6: every X-Ms-diagnostics header, verbatim, with its stage.
fn auth_6_ms_diagnostics(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
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
        out.push(finding(
            "C-AUTH-6",
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

// ---- C-TIME --------------------------------------------------------------------------------

/// C-TIME-1: the server's Date header against the capture clock.
fn time_1_date_skew(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let mut by_host: BTreeMap<String, Vec<(f64, ExchId, bool)>> = BTreeMap::new();
    for i in &cx.items {
        let Some(at) = i.ex.timing.response_start.map(|a| a.ts) else {
            continue;
        };
        if !real_time(at) {
            continue;
        }
        let Some(date) = i.resp_header("Date").and_then(parse_http_date) else {
            continue;
        };
        by_host.entry(i.view.host.clone()).or_default().push((
            date.secs_since(at),
            i.id(),
            i.on_the_wire(),
        ));
    }
    for (host, mut v) in by_host {
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        // The median: one odd Date (a cached response) does not make a skew.
        let Some(&(median, _, _)) = v.get(v.len() / 2) else {
            continue;
        };
        if median.abs() <= SKEW_LIMIT_SECS {
            continue;
        }
        let mut ids: Vec<ExchId> = v.iter().map(|x| x.1).collect();
        ids.sort();
        let clock = if v.iter().all(|x| x.2) {
            "the capture clock"
        } else {
            "the clock of the machine that recorded the trace"
        };
        out.push(finding(
            "C-TIME-1",
            Warning,
            format!(
                "{host}'s Date header is {} {} {clock} ({}): device/server clock differs by \
                 {} — tickets and certificates may be rejected. Check NTP on the device, the \
                 servers and the capture machine.",
                show_duration(median),
                if median > 0.0 { "ahead of" } else { "behind" },
                refs(&ids, ex_ref),
                show_duration(median)
            ),
            ids,
            Vec::new(),
            Vec::new(),
        ));
    }
}

/// C-TIME-1 (SAML): a web ticket whose validity window does not include the server's time.
fn time_1_saml_window(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for i in &cx.items {
        if !i.is_lync() || i.status() != Some(200) {
            continue;
        }
        let facts = i.resp_facts();
        let get = |key: &str| {
            facts
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| parse_rfc3339(v).map(|t| (t, v.clone())))
        };
        let (not_before, not_after) = (get("notbefore"), get("notonorafter"));
        if not_before.is_none() && not_after.is_none() {
            continue;
        }
        let reference = i.resp_header("Date").and_then(parse_http_date).or_else(|| {
            i.ex.timing
                .response_start
                .map(|a| a.ts)
                .filter(|t| real_time(*t))
        });
        let Some(now) = reference else { continue };
        let problem = match (not_before, not_after) {
            (Some((nb, text)), _) if nb.secs_since(now) > SKEW_LIMIT_SECS => format!(
                "starts at NotBefore {text}, {} after the server time {}",
                show_duration(nb.secs_since(now)),
                show_time(now)
            ),
            (_, Some((na, text))) if now > na => format!(
                "ended at NotOnOrAfter {text}, before the server time {}",
                show_time(now)
            ),
            _ => continue,
        };
        out.push(finding(
            "C-TIME-1",
            Warning,
            format!(
                "The web ticket issued by {} ({}) {problem}: a clock differs — tickets may be \
                 rejected. Check NTP on the servers and the device.",
                i.view.host,
                ex_ref(i.id())
            ),
            vec![i.id()],
            Vec::new(),
            Vec::new(),
        ));
    }
}

fn slow_hint(stage: &str) -> &'static str {
    match stage {
        "webticket-oauth" | "webticket-soap" | "certprov" => "DC/NTLM latency?",
        "dns-discovery" | "dns-hop" => "resolver latency?",
        "ad-root-http" | "ad-root-https" | "ad-user-challenge" | "ad-user" => {
            "reverse proxy / Front End latency?"
        }
        "ucwa-application" | "signed-in" => "Front End / registrar latency?",
        _ => "server latency?",
    }
}

/// C-TIME-2: steps slower than SLOW_STEP_SECS (the event channel's long poll is normal).
fn time_2_slow_steps(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    type Group = (Vec<String>, Vec<ExchId>, Vec<DnsId>);
    let mut by_stage: BTreeMap<String, Group> = BTreeMap::new();
    for i in &cx.items {
        if i.stage() == "event-channel" {
            continue;
        }
        let t = i.ex.timing;
        let (Some(start), Some(resp)) = (t.request_end.or(t.request_start), t.response_start)
        else {
            continue;
        };
        let secs = resp.ts.secs_since(start.ts);
        if secs > SLOW_STEP_SECS {
            let what = i.view.path.rsplit('/').next().unwrap_or("").to_string();
            let g = by_stage.entry(i.stage().to_string()).or_default();
            g.0.push(format!("{what} took {secs:.1} s ({})", ex_ref(i.id())));
            g.1.push(i.id());
        }
    }
    for l in &cx.a.dns {
        let Some(tag) = l.stage.as_ref().filter(|t| t.id != UNRELATED) else {
            continue;
        };
        let (Some(q), Some(r)) = (l.query, l.response.as_ref()) else {
            continue;
        };
        let secs = r.arrival.ts.secs_since(q.ts);
        if secs > SLOW_STEP_SECS {
            let g = by_stage.entry(tag.id.clone()).or_default();
            g.0.push(format!(
                "lookup of {} took {secs:.1} s ({})",
                l.qname,
                dns_ref(l.id)
            ));
            g.2.push(l.id);
        }
    }
    for (stage, (whats, ids, dns)) in by_stage {
        let shown: Vec<String> = whats.iter().take(MAX_REFS).cloned().collect();
        out.push(finding(
            "C-TIME-2",
            Info,
            format!(
                "{}: {} ({})",
                cx.rules.label(&stage),
                shown.join("; "),
                slow_hint(&stage)
            ),
            ids,
            dns,
            Vec::new(),
        ));
    }
}

// ---- C-NET ---------------------------------------------------------------------------------

/// The most recent successful token exchange of a client before `before`.
fn last_token<'c, 'a>(cx: &'c Ctx<'a>, client: IpAddr, before: Ts) -> Option<&'c Item<'a>> {
    cx.items.iter().rev().find(|i| {
        i.at() <= before
            && i.client() == Some(client)
            && matches!(i.stage(), "webticket-oauth" | "webticket-soap")
            && i.tag.outcome == Outcome::Ok
    })
}

/// C-NET-1: an internal client sent to the public address of the reverse proxy (hairpin).
fn net_1_hairpin(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<(IpAddr, IpAddr), Vec<&Connection>> = BTreeMap::new();
    for c in &cx.a.connections {
        let (client, server) = (c.client.ip(), c.server.ip());
        if c.packets == 0 || !is_private(client) || is_private(server) || server.is_unspecified() {
            continue;
        }
        let Some(name) = cx.learned.lync_addrs.get(&server) else {
            continue;
        };
        if is_online_host(name) || !cx.client_is_internal(client) {
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
            out.push(finding(
                "C-NET-1",
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
            out.push(finding(
                "C-NET-1",
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

/// C-NET-2: the external web FQDN resolves to the address of an internal web FQDN (the FE
/// internal VIP), so UCWA lands on the internal web site.
fn net_2_external_on_internal_vip(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let external = external_web_fqdns(cx);
    let mut internal = internal_web_fqdns(cx);
    internal.retain(|h| !external.contains(h));
    // Name → (address → lookup); a CNAME chain gives its target the same addresses.
    let mut answers: HashMap<String, BTreeMap<IpAddr, DnsId>> = HashMap::new();
    for l in &cx.a.dns {
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
            out.push(finding(
                "C-NET-2",
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

/// C-NET-3: 5xx that a reverse proxy made (no X-MS-Server-Fqdn).
fn net_3_rp_errors(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
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
        let via = i.resp_header("Via");
        let server = i.resp_header("Server");
        let proxy_server = server.is_some_and(|s| {
            let s = s.to_ascii_lowercase();
            !s.starts_with("microsoft-iis") && !s.starts_with("microsoft-httpapi")
        });
        let gateway = matches!(status, 502..=504);
        if via.is_none() && !proxy_server && !gateway {
            continue;
        }
        let who = match (server, via) {
            (Some(s), Some(v)) => format!("Server: {s}, Via: {v}"),
            (Some(s), None) => format!("Server: {s}"),
            (None, Some(v)) => format!("Via: {v}"),
            (None, None) => "no Server header".into(),
        };
        let g = groups.entry((i.view.host.clone(), status)).or_default();
        if g.0.is_empty() {
            g.0 = who;
        }
        g.1.push(i.id());
    }
    for ((host, status), (who, ids)) in groups {
        out.push(finding(
            "C-NET-3",
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

/// C-NET-4: one UCWA application answered by different Front Ends.
fn net_4_affinity(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
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
        out.push(finding(
            "C-NET-4",
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

// ---- C-POL / C-MEDIA / C-MCX ---------------------------------------------------------------

/// C-POL-1: creating the UCWA application refused by policy.
fn pol_1_mobility_refused(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for i in &cx.items {
        let body = i.resp_text().unwrap_or_default();
        let refused_app = i.stage() == "ucwa-application" && i.status() == Some(403);
        let no_longer = i.is_lync() && body.contains("MobileApplicationNoLongerAllowed");
        if !refused_app && !no_longer {
            continue;
        }
        let detail: Vec<String> = i
            .resp_facts()
            .into_iter()
            .filter(|(k, _)| matches!(k.as_str(), "code" | "subcode" | "message"))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let detail = if detail.is_empty() {
            String::new()
        } else {
            format!(" [{}]", detail.join(", "))
        };
        let message = if body.to_ascii_lowercase().contains("cross domain") {
            format!(
                "{} was refused (403){detail}: the origin is not in the \
                 CrossDomainAuthorizationList (web/SDK applications only). Add it with \
                 Set-CsWebServiceConfiguration -CrossDomainAuthorizationList.",
                i.describe()
            )
        } else {
            format!(
                "{} was refused ({}){detail}: mobility is disabled for this user by policy \
                 (mobility policy / client version policy). Enable it \
                 (Set-CsMobilityPolicy -EnableMobility $true) or allow the client version.",
                i.describe(),
                i.status().unwrap_or(0)
            )
        };
        out.push(finding(
            "C-POL-1",
            Fail,
            message,
            vec![i.id()],
            Vec::new(),
            Vec::new(),
        ));
    }
}

/// C-POL-2: media modalities limited to Wi-Fi by the mobility policy.
fn pol_2_wifi_only(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<Vec<&'static str>, Vec<ExchId>> = BTreeMap::new();
    for i in &cx.items {
        if i.stage() != "inband-provisioning"
            || !i.status().is_some_and(|s| (200..300).contains(&s))
        {
            continue;
        }
        let mut restricted: Vec<&'static str> = i
            .resp_facts()
            .iter()
            .filter(|(_, v)| v.eq_ignore_ascii_case("enabled"))
            .filter_map(|(k, _)| match k.as_str() {
                "audioonlyonwifi" => Some("VoIP"),
                "videoonlyonwifi" => Some("video"),
                "sharingonlyonwifi" => Some("sharing"),
                _ => None,
            })
            .collect();
        restricted.sort();
        restricted.dedup();
        if !restricted.is_empty() {
            groups.entry(restricted).or_default().push(i.id());
        }
    }
    for (restricted, ids) in groups {
        let keys: Vec<&str> = restricted
            .iter()
            .map(|r| match *r {
                "VoIP" => "audioOnlyOnWifi",
                "video" => "videoOnlyOnWifi",
                _ => "sharingOnlyOnWifi",
            })
            .collect();
        out.push(finding(
            "C-POL-2",
            Info,
            format!(
                "{} restricted to Wi-Fi by the mobility policy ({} = Enabled, {}): on a \
                 cellular network the app does not offer it. A policy choice, not a fault \
                 (Set-CsMobilityPolicy -RequireWiFiForIPAudio / -RequireWiFiForIPVideo / \
                 -RequireWiFiForSharing).",
                restricted.join(" and "),
                keys.join(", "),
                refs(&ids, ex_ref)
            ),
            ids,
            Vec::new(),
            Vec::new(),
        ));
    }
}

/// (host, ipv4, location) of each MRAS relay, from the body facts: one relay's keys come
/// together, so a key seen again starts the next relay.
fn media_relays(facts: &[(String, String)]) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    let mut cur: [Option<String>; 3] = [None, None, None];
    let flush = |cur: &mut [Option<String>; 3], out: &mut Vec<(String, String, String)>| {
        if cur.iter().any(Option::is_some) {
            let [h, ip, loc] = std::mem::take(cur);
            out.push((
                h.unwrap_or_default(),
                ip.unwrap_or_default(),
                loc.unwrap_or_default(),
            ));
        }
    };
    for (k, v) in facts {
        let slot = match k.as_str() {
            "host" => 0,
            "ipv4" => 1,
            "location" => 2,
            _ => continue,
        };
        if cur[slot].is_some() {
            flush(&mut cur, &mut out);
        }
        cur[slot] = Some(v.clone());
    }
    flush(&mut cur, &mut out);
    out
}

/// C-MEDIA-1: a client on the Internet given only relays it cannot reach.
fn media_1_relay_location(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for i in &cx.items {
        if i.stage() != "mras" || i.status() != Some(200) {
            continue;
        }
        let Some(client) = i.client() else { continue };
        if !cx.client_is_external(client) {
            continue;
        }
        let relays = media_relays(&i.resp_facts());
        if relays.is_empty() {
            continue;
        }
        let reachable = relays.iter().any(|(_, ip, loc)| {
            loc.eq_ignore_ascii_case("internet")
                || loc.eq_ignore_ascii_case("all")
                || (loc.is_empty() && ip.parse::<IpAddr>().is_ok_and(|a| !is_private(a)))
        });
        if reachable {
            continue;
        }
        let list: Vec<String> = relays
            .iter()
            .map(|(h, ip, loc)| {
                let loc = if loc.is_empty() {
                    String::new()
                } else {
                    format!(" ({loc})")
                };
                format!("{h} {ip}{loc}").trim().to_string()
            })
            .collect();
        out.push(finding(
            "C-MEDIA-1",
            Warning,
            format!(
                "Client on the Internet ({client}) received only Intranet media relays ({}) in \
                 {}: audio/video cannot reach a relay from outside. MRAS must hand out the A/V \
                 Edge's external (Internet) relay — check the A/V Edge external FQDN/IP in the \
                 topology.",
                list.join(", "),
                ex_ref(i.id())
            ),
            vec![i.id()],
            Vec::new(),
            Vec::new(),
        ));
    }
}

/// C-MCX-1: the Lync 2010 mobility URL handed out on the internal web FQDN.
fn mcx_1_internal_url(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for i in &cx.items {
        if !AUTODISCOVER_STAGES.contains(&i.stage()) {
            continue;
        }
        let links = i.links();
        let find = |rel: &str| links.iter().find(|l| l.rel == rel).map(|l| l.url.clone());
        let Some(internal) = find("internal/mcx") else {
            continue;
        };
        let external = find("external/mcx");
        let internal_host = host_of_url(&internal).unwrap_or_default();
        let external_host = external.as_deref().and_then(host_of_url);
        // MCX traffic that went to the internal URL's host (when it differs from the external).
        let used: Vec<ExchId> = cx
            .items
            .iter()
            .filter(|j| {
                j.stage() == "mcx-session"
                    && j.at() >= i.at()
                    && j.view.host == internal_host
                    && external_host.as_deref() != Some(internal_host.as_str())
            })
            .map(|j| j.id())
            .collect();
        if external.is_some() && used.is_empty() {
            continue;
        }
        let mut ids = vec![i.id()];
        ids.extend(&used);
        out.push(finding(
            "C-MCX-1",
            Warning,
            format!(
                "Autodiscover {} hands out the Mobility Service on the internal web FQDN \
                 ({internal}){}: McxConfiguration ExposedWebURL is Internal; Microsoft's design \
                 expects the mobility URL on the external web FQDN so the device keeps working \
                 when it roams (Set-CsMcxConfiguration -ExposedWebURL External).",
                ex_ref(i.id()),
                if used.is_empty() {
                    " and no External/Mcx link".to_string()
                } else {
                    format!(", and the client used it ({})", refs(&used, ex_ref))
                }
            ),
            ids,
            Vec::new(),
            Vec::new(),
        ));
    }
}

// ---- C-EXCH-1 ------------------------------------------------------------------------------

/// C-EXCH-1: Exchange Autodiscover (stage 40) attempted with no candidate working.
fn exch_1_exchange(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let ad: Vec<&Item<'_>> = cx
        .items
        .iter()
        .filter(|i| i.stage() == "exchange-autodiscover")
        .collect();
    let ad_conns: Vec<(&Connection, &StageTag)> = cx
        .tagged_connections()
        .filter(|(_, t)| t.id == "exchange-autodiscover")
        .collect();
    let ad_dns: Vec<&DnsLookup> =
        cx.a.dns
            .iter()
            .filter(|l| {
                l.stage.as_ref().is_some_and(|t| {
                    t.id == "exchange-autodiscover"
                        || (t.id == "dns-hop"
                            && l.qname.to_ascii_lowercase().starts_with("autodiscover."))
                })
            })
            .collect();
    let worked = ad.iter().any(|i| i.status() == Some(200));
    // A request still waiting at the end of the capture may yet succeed.
    let pending = ad.iter().any(|i| i.status().is_none());
    let attempted = !ad.is_empty() || !ad_conns.is_empty();
    if attempted && !worked && !pending {
        let mut parts: Vec<String> = Vec::new();
        for i in &ad {
            parts.push(format!("{} → {}", i.describe(), i.status().unwrap_or(0)));
        }
        for (c, t) in &ad_conns {
            parts.push(format!(
                "{} {}: {}",
                conn_ref(c.id),
                t.subkind.as_deref().unwrap_or(""),
                t.note.as_deref().unwrap_or("failed")
            ));
        }
        for l in ad_dns.iter().filter(|l| !answered(l)) {
            parts.push(format!(
                "{} {} {}",
                dns_ref(l.id),
                l.qname,
                lookup_result(l)
            ));
        }
        out.push(finding(
            "C-EXCH-1",
            Warning,
            format!(
                "Exchange autodiscover failed: no candidate worked ({}). Exchange integration \
                 is unavailable (no meetings, voicemail or conversation history in the app); \
                 sign-in itself is not affected. Publish autodiscover.<SMTP domain> with a \
                 certificate that covers it and without forms pre-authentication.",
                parts.join("; ")
            ),
            ad.iter().map(|i| i.id()).collect(),
            ad_dns.iter().map(|l| l.id).collect(),
            ad_conns.iter().map(|(c, _)| c.id).collect(),
        ));
    }
    exch_1_ews(cx, out);
}

/// C-EXCH-1 (EWS, stage 41): every answer a 401/403.
fn exch_1_ews(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let ews: Vec<&Item<'_>> = cx
        .items
        .iter()
        .filter(|i| i.stage() == "exchange-ews")
        .collect();
    let ews_ok = ews
        .iter()
        .any(|i| i.status().is_some_and(|s| (200..300).contains(&s)));
    let all_answered = ews.iter().all(|i| i.status().is_some());
    let denied: Vec<ExchId> = ews
        .iter()
        .filter(|i| matches!(i.status(), Some(401 | 403)))
        .map(|i| i.id())
        .collect();
    if ews_ok || !all_answered || denied.is_empty() {
        return;
    }
    out.push(finding(
        "C-EXCH-1",
        Warning,
        format!(
            "EWS authentication failed ({}): Exchange Web Services never accepted the client's \
             credentials. Reverse-proxy pre-authentication or forms authentication on /EWS \
             breaks Lync clients; publish EWS with pass-through authentication.",
            refs(&denied, ex_ref)
        ),
        denied,
        Vec::new(),
        Vec::new(),
    ));
}

// ---- C-SRC-1 / C-FALLBACK-1 ----------------------------------------------------------------

/// C-SRC-1 (a SAZ input is the proxy's view) and C-FALLBACK-1 (desktop lookups mixed in).
fn src_1_saz_and_fallback_1(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let saz: Vec<&str> =
        cx.a.inputs
            .iter()
            .filter(|i| i.format.eq_ignore_ascii_case("saz"))
            .map(|i| i.path.as_str())
            .collect();
    if !saz.is_empty() {
        out.push(finding(
            "C-SRC-1",
            Info,
            format!(
                "{} {} a Fiddler trace: when a phone is proxied through Fiddler, the Fiddler PC \
                 resolves the names and opens the server connections, so the DNS view, the \
                 internal/external path and the server addresses reflect the Fiddler host, not \
                 the phone; the phone sees Fiddler's certificate. Judge DNS, network and \
                 certificate questions from a packet capture on the phone's network.",
                saz.join(", "),
                if saz.len() == 1 { "is" } else { "are" }
            ),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        ));
    }
    let legacy: Vec<&DnsLookup> =
        cx.a.dns
            .iter()
            .filter(|l| l.stage.as_ref().is_some_and(|t| t.id == "dns-legacy-sip"))
            .collect();
    // SIP/TLS to 5061 only counts next to Lync traffic (it is not tagged by itself).
    let sip_tls: Vec<ConnId> = if legacy.is_empty() && cx.items.is_empty() {
        Vec::new()
    } else {
        cx.a.connections
            .iter()
            .filter(|c| c.packets > 0 && c.server.port() == 5061)
            .map(|c| c.id)
            .collect()
    };
    if legacy.is_empty() && sip_tls.is_empty() {
        return;
    }
    let names: BTreeSet<String> = legacy
        .iter()
        .map(|l| l.qname.to_ascii_lowercase())
        .collect();
    let mut seen = Vec::new();
    if !names.is_empty() {
        seen.push(format!(
            "lookups of {}",
            names.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    if !sip_tls.is_empty() {
        seen.push(format!(
            "SIP/TLS connections to port 5061 ({})",
            refs(&sip_tls, conn_ref)
        ));
    }
    out.push(finding(
        "C-FALLBACK-1",
        Info,
        format!(
            "SRV/A SIP lookups seen ({}) — these come from a desktop client (or another device) \
             in the same capture; mobile clients never use them. Do not treat their success as \
             evidence that mobile discovery works.",
            seen.join("; ")
        ),
        Vec::new(),
        legacy.iter().map(|l| l.id).collect(),
        sip_tls,
    ));
}

#[cfg(test)]
mod tests {
    //! Small captures built by hand from lync-sample-exchanges.md (scenarios A–E, their
    //! topology, certificate table and tokens), run through the whole stage layer.

    use super::*;
    use crate::datetime::days_from_civil;
    use crate::model::{
        Analysis, AppProtocol, Arrival, Body, CaptureState, DnsData, DnsRecord, DnsResponse,
        DnsTransport, FrameNo, Headers, InputInfo, Request, Response, Scheme, Timing, TlsInfo,
    };
    use crate::stage::{annotate, RuleSet};
    use base64::Engine;
    use std::net::SocketAddr;
    use std::sync::Arc;

    const CLIENT_A: &str = "10.50.12.34";
    const CLIENT_B: &str = "198.51.100.77";
    const TA1: &str = "cwt=AAEBHAEFAAAAAAAFFQAAAP1INTaliceA1xYz0";
    const TB1: &str = "cwt=AAEBHAEFAAAAAAAFFQAAAP1EXTaliceB1kQw7";
    const TB2: &str = "cwt=AAEBHAEFAAAAAAAFFQAAAP2EXTaliceB2mNr4";
    const USER_PATH: &str =
        "/Autodiscover/AutodiscoverService.svc/root/oauth/user?originalDomain=contoso.com";

    fn time_base(y: i64, m: i64, d: i64, h: i64, mi: i64) -> Ts {
        Ts::from_secs_nanos(days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60, 0)
    }

    /// IMF-fixdate of an instant (the `Date:` the sample servers send).
    fn http_date(t: Ts) -> String {
        let secs = t.0.div_euclid(1_000_000_000);
        let days = secs.div_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let wd = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
        let mon = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ][(m - 1) as usize];
        let rem = secs.rem_euclid(86_400);
        format!(
            "{wd}, {d:02} {mon} {y} {:02}:{:02}:{:02} GMT",
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        )
    }

    fn cert(cn: &str, sans: &[&str], issuer: &str, from: &str, to: &str) -> CertificateInfo {
        CertificateInfo {
            subject: format!("CN={cn}"),
            issuer: issuer.into(),
            sans: sans.iter().map(|s| s.to_string()).collect(),
            not_before: format!("{from}T00:00:00Z"),
            not_after: format!("{to}T00:00:00Z"),
        }
    }

    /// The certificate table of lync-sample-exchanges.md.
    fn cert_int_p1() -> CertificateInfo {
        cert(
            "webint-pool1.contoso.net",
            &[
                "webint-pool1.contoso.net",
                "pool1.contoso.net",
                "fe01.contoso.net",
                "fe02.contoso.net",
                "lyncdiscoverinternal.contoso.com",
                "lyncdiscover.contoso.com",
            ],
            "CN=Contoso Issuing CA 01",
            "2014-11-01",
            "2016-11-01",
        )
    }
    fn cert_ext() -> CertificateInfo {
        cert(
            "webext-pool1.contoso.com",
            &[
                "webext-pool1.contoso.com",
                "webext-pool2.contoso.com",
                "lyncdiscover.contoso.com",
                "meet.contoso.com",
                "dialin.contoso.com",
            ],
            "CN=Example Public CA G2",
            "2015-01-15",
            "2017-01-15",
        )
    }
    fn cert_ext_bad() -> CertificateInfo {
        cert(
            "webext-pool1.contoso.com",
            &[
                "webext-pool1.contoso.com",
                "webext-pool2.contoso.com",
                "meet.contoso.com",
                "dialin.contoso.com",
            ],
            "CN=Example Public CA G2",
            "2015-01-15",
            "2017-01-15",
        )
    }
    fn cert_www() -> CertificateInfo {
        cert(
            "www.contoso.com",
            &["www.contoso.com"],
            "CN=Example Public CA G2",
            "2015-03-01",
            "2016-03-01",
        )
    }
    fn cert_mail() -> CertificateInfo {
        cert(
            "mail.contoso.com",
            &["mail.contoso.com", "autodiscover.contoso.com"],
            "CN=Example Public CA G2",
            "2015-02-01",
            "2017-02-01",
        )
    }

    /// A structurally valid NTLMSSP message of type 1, 2 or 3 (type 3: CONTOSO\alice at
    /// ALICE-PHONE), base64.
    fn ntlm(kind: u32) -> String {
        let mut b = b"NTLMSSP\0".to_vec();
        b.extend(kind.to_le_bytes());
        let unicode: u32 = 0x0000_0001 | 0x0000_0200 | 0x0008_0000;
        match kind {
            1 => {
                b.extend(unicode.to_le_bytes());
                b.extend([0u8; 16]);
            }
            2 => {
                b.extend([0u8; 8]); // target name
                b.extend(unicode.to_le_bytes());
                b.extend([0x11u8; 8]); // server challenge
                b.extend([0u8; 16]); // reserved, target info
            }
            _ => {
                let utf16 = |s: &str| -> Vec<u8> {
                    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
                };
                let (dom, user, ws) = (utf16("CONTOSO"), utf16("alice"), utf16("ALICE-PHONE"));
                let mut payload_at = 64u32;
                let mut fields = Vec::new();
                let mut payload = Vec::new();
                for part in [&[][..], &[][..], &dom[..], &user[..], &ws[..], &[][..]] {
                    fields.extend((part.len() as u16).to_le_bytes());
                    fields.extend((part.len() as u16).to_le_bytes());
                    fields.extend(payload_at.to_le_bytes());
                    payload.extend_from_slice(part);
                    payload_at += part.len() as u32;
                }
                b.extend(fields);
                b.extend(unicode.to_le_bytes());
                b.extend(payload);
            }
        }
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    fn body(text: &str) -> Body {
        let bytes: Arc<[u8]> = Arc::from(text.as_bytes());
        Body {
            wire_length: text.len() as u64,
            decoded_length: Some(text.len() as u64),
            complete: true,
            head: (!text.is_empty()).then_some(bytes),
            ..Body::default()
        }
    }

    /// A response: status, headers (replacing the standard ones of the same name), body.
    type Answer<'x> = (u16, Vec<(&'x str, String)>, &'x str);

    /// A capture under construction: connections, lookups and exchanges must be added in
    /// time order (ids are indexes).
    struct Cap {
        a: Analysis,
        base: Ts,
        fqdn: &'static str,
        /// Seconds the servers' clocks are ahead of the capture clock.
        date_skew: f64,
    }

    struct Msg<'x> {
        method: &'x str,
        target: &'x str,
        host: &'x str,
        headers: Vec<(&'x str, String)>,
        body: &'x str,
    }

    fn get<'x>(host: &'x str, target: &'x str) -> Msg<'x> {
        Msg {
            method: "GET",
            target,
            host,
            headers: Vec::new(),
            body: "",
        }
    }

    fn post<'x>(host: &'x str, target: &'x str, body: &'x str) -> Msg<'x> {
        Msg {
            method: "POST",
            target,
            host,
            headers: Vec::new(),
            body,
        }
    }

    impl<'x> Msg<'x> {
        fn h(mut self, name: &'x str, value: impl Into<String>) -> Self {
            self.headers.push((name, value.into()));
            self
        }
    }

    impl Cap {
        fn new(base: Ts) -> Cap {
            Cap {
                a: Analysis::default(),
                base,
                fqdn: "fe01.contoso.net",
                date_skew: 0.0,
            }
        }

        fn at(&self, t: f64) -> Ts {
            Ts(self.base.0 + (t * 1e9).round() as i64)
        }

        fn tcp(
            &mut self,
            client: &str,
            server: &str,
            t: f64,
            syn_ack: bool,
            packets: u64,
        ) -> ConnId {
            let id = ConnId(self.a.connections.len() as u32);
            let port = 50_000 + id.0 as u16;
            let first = self.at(t);
            self.a.connections.push(Connection {
                id,
                client: SocketAddr::new(client.parse().unwrap(), port),
                server: server.parse().unwrap(),
                first_seen: first,
                last_seen: first,
                first_frame: FrameNo(u64::from(id.0) + 1),
                last_frame: FrameNo(u64::from(id.0) + 1),
                packets,
                bytes: 0,
                payload_bytes: [0, 0],
                handshake: true,
                end: [StreamEnd::CaptureEnd, StreamEnd::CaptureEnd],
                protocol: if syn_ack {
                    AppProtocol::Http1
                } else {
                    AppProtocol::Empty
                },
                exchanges: Vec::new(),
                missing_bytes: [0, 0],
                tls: None,
                syn_ack,
                stage: None,
            });
            id
        }

        /// A TLS connection; `aborted`: the client closed after the handshake (no request).
        fn tls(
            &mut self,
            client: &str,
            server: &str,
            t: f64,
            sni: &str,
            cert: CertificateInfo,
            aborted: bool,
        ) -> ConnId {
            let id = self.tcp(client, server, t, true, 12);
            let c = &mut self.a.connections[id.0 as usize];
            c.protocol = AppProtocol::Tls;
            c.payload_bytes = if aborted {
                [517, 3100]
            } else {
                [20_000, 60_000]
            };
            c.end = [StreamEnd::Fin, StreamEnd::Fin];
            c.tls = Some(TlsInfo {
                version: Some("TLS 1.2".into()),
                cipher_suite: Some("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384".into()),
                sni: Some(sni.into()),
                certificate: Some(cert),
                decrypted: !aborted,
                ..TlsInfo::default()
            });
            id
        }

        fn dns(
            &mut self,
            client: &str,
            resolver: &str,
            t: f64,
            qname: &str,
            rcode: u8,
            answers: Vec<DnsRecord>,
        ) -> DnsId {
            let id = DnsId(self.a.dns.len() as u32);
            let (q, r) = (self.at(t), self.at(t + 0.012));
            self.a.dns.push(DnsLookup {
                id,
                transport: DnsTransport::Udp,
                client: SocketAddr::new(client.parse().unwrap(), 53_001 + id.0 as u16),
                server: SocketAddr::new(resolver.parse().unwrap(), 53),
                txid: 0x1a01 + id.0 as u16,
                qname: qname.into(),
                qtype: 1,
                query: Some(Arrival {
                    frame: FrameNo(0),
                    ts: q,
                }),
                response: Some(DnsResponse {
                    arrival: Arrival {
                        frame: FrameNo(0),
                        ts: r,
                    },
                    rcode,
                    truncated: false,
                    answers,
                }),
                stage: None,
            });
            id
        }

        /// An exchange on `conn`; `resp` = (status, extra headers, body), sent `dt` seconds
        /// after the request. Lync answers carry the sample's standard headers.
        fn http(
            &mut self,
            conn: ConnId,
            t: f64,
            dt: f64,
            req: Msg<'_>,
            resp: Option<Answer<'_>>,
        ) -> ExchId {
            let id = ExchId(self.a.exchanges.len() as u32);
            let https = self.a.connections[conn.0 as usize].server.port() != 80;
            let mut rh: Vec<(&str, String)> = vec![("Host", req.host.to_string())];
            rh.extend(req.headers.iter().map(|(n, v)| (*n, v.clone())));
            if !req.body.is_empty() {
                let ct = if req.body.starts_with('{') {
                    "application/json"
                } else if req.body.starts_with('<') {
                    "text/xml; charset=utf-8"
                } else {
                    "application/x-www-form-urlencoded;charset=UTF-8"
                };
                rh.push(("Content-Type", ct.into()));
            }
            let request = Request {
                method: req.method.into(),
                target: req.target.into(),
                version: "HTTP/1.1".into(),
                headers: Headers::from_pairs(rh.iter().map(|(n, v)| (*n, v.as_str()))),
                body: body(req.body),
            };
            let (t0, t1) = (self.at(t), self.at(t + dt));
            let arrival = |ts| {
                Some(Arrival {
                    frame: FrameNo(0),
                    ts,
                })
            };
            let response = resp.map(|(status, headers, text)| {
                // Headers given replace the standard ones of the same name.
                let mut h: Vec<(&str, String)> = vec![
                    ("Server", "Microsoft-IIS/8.5".to_string()),
                    ("Date", http_date(Ts(t1.0 + (self.date_skew * 1e9) as i64))),
                    ("X-MS-Server-Fqdn", self.fqdn.to_string()),
                ];
                h.retain(|(n, _)| !headers.iter().any(|(x, _)| x.eq_ignore_ascii_case(n)));
                h.extend(headers);
                h.retain(|(_, v)| !v.is_empty());
                if !text.is_empty() && !h.iter().any(|(n, _)| *n == "Content-Type") {
                    let ct = if text.starts_with('{') {
                        "application/json"
                    } else {
                        "text/xml; charset=utf-8"
                    };
                    h.push(("Content-Type", ct.into()));
                }
                Response {
                    version: "HTTP/1.1".into(),
                    status,
                    reason: String::new(),
                    headers: Headers::from_pairs(h.iter().map(|(n, v)| (*n, v.as_str()))),
                    interim_statuses: Vec::new(),
                    body: body(text),
                }
            });
            self.a.exchanges.push(Exchange {
                id,
                connection: conn,
                scheme: if https { Scheme::Https } else { Scheme::Http },
                capture: if response.is_some() {
                    CaptureState::Full
                } else {
                    CaptureState::NoResponse
                },
                request: Some(request),
                timing: Timing {
                    request_start: arrival(t0),
                    request_end: arrival(t0),
                    response_start: response.as_ref().and_then(|_| arrival(t1)),
                    response_end: response.as_ref().and_then(|_| arrival(t1)),
                },
                response,
                upgrade: None,
                annotations: None,
                stage: None,
                auth: None,
            });
            self.a.connections[conn.0 as usize].exchanges.push(id);
            id
        }

        fn run(mut self) -> Vec<Finding> {
            self.a.inputs.push(InputInfo {
                path: "hand-made.pcapng".into(),
                format: "pcapng".into(),
                bytes: 0,
                frames: 0,
                link_types: vec!["ethernet".into()],
                truncated: false,
            });
            annotate(&mut self.a, &RuleSet::builtin());
            self.a.findings
        }
    }

    fn a_rec(name: &str, ip: &str) -> DnsRecord {
        DnsRecord {
            name: name.into(),
            rtype: 1,
            ttl: 3600,
            data: DnsData::A(ip.parse().unwrap()),
        }
    }

    fn cname(name: &str, target: &str) -> DnsRecord {
        DnsRecord {
            name: name.into(),
            rtype: 5,
            ttl: 3600,
            data: DnsData::Name(target.into()),
        }
    }

    fn user_links(host: &str, key: &str, href: &str) -> String {
        format!(
            r#"{{"_links":{{"self":{{"href":"https://{host}{USER_PATH}"}},"{key}":{{"href":"{href}"}},"xframe":{{"href":"https://{host}/Autodiscover/XFrame/XFrame.html"}}}}}}"#
        )
    }

    fn root_links(host: &str) -> String {
        format!(
            r#"{{"_links":{{"self":{{"href":"https://{host}/Autodiscover/AutodiscoverService.svc/root?originalDomain=contoso.com"}},"user":{{"href":"https://{host}{USER_PATH}"}},"xframe":{{"href":"https://{host}/Autodiscover/XFrame/XFrame.html"}}}}}}"#
        )
    }

    fn msrtc_challenge(host: &str) -> Vec<(&'static str, String)> {
        vec![
            (
                "WWW-Authenticate",
                "Bearer trusted_issuers=\"00000002-0000-0ff1-ce00-000000000000@contoso.com\", client_id=\"00000004-0000-0ff1-ce00-000000000000\"".into(),
            ),
            (
                "WWW-Authenticate",
                format!("MsRtcOAuth href=\"https://{host}/WebTicket/oauthtoken\",grant_type=\"urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password\""),
            ),
        ]
    }

    fn token_body(token: &str) -> String {
        format!(
            r#"{{"access_token":"{token}","expires_in":28800,"ms_rtc_identityscope":"local","token_type":"Bearer"}}"#
        )
    }

    const GRANT: &str = "grant_type=urn:microsoft.rtc:windows";

    /// #A04–#A08 (or #B06–#B10): challenge, three NTLM legs on `conn`, authenticated user.
    fn sign_in_legs(
        cap: &mut Cap,
        conn: ConnId,
        t: f64,
        host: &str,
        token: &str,
        user: (u16, String),
    ) {
        cap.http(
            conn,
            t,
            0.028,
            get(host, USER_PATH).h("Accept", "application/json"),
            Some((401, msrtc_challenge(host), "")),
        );
        let tok = "/WebTicket/oauthtoken";
        cap.http(
            conn,
            t + 0.038,
            0.02,
            post(host, tok, GRANT),
            Some((
                401,
                vec![
                    ("WWW-Authenticate", "Negotiate".into()),
                    ("WWW-Authenticate", "NTLM".into()),
                ],
                "",
            )),
        );
        cap.http(
            conn,
            t + 0.063,
            0.015,
            post(host, tok, GRANT).h("Authorization", format!("NTLM {}", ntlm(1))),
            Some((
                401,
                vec![("WWW-Authenticate", format!("NTLM {}", ntlm(2)))],
                "",
            )),
        );
        cap.http(
            conn,
            t + 0.083,
            0.285,
            post(host, tok, GRANT).h("Authorization", format!("NTLM {}", ntlm(3))),
            Some((200, Vec::new(), &token_body(token))),
        );
        cap.http(
            conn,
            t + 0.378,
            0.07,
            get(host, USER_PATH).h("Authorization", format!("Bearer {token}")),
            Some((user.0, Vec::new(), &user.1)),
        );
    }

    /// Scenario A #A01–#A09: internal client, up to the lookup of the external web FQDN,
    /// which answers `ucwa_addr` (10.20.0.10 = internal RP VIP; 203.0.113.10 = variant E).
    fn scenario_a_start(ucwa_addr: &str) -> Cap {
        let mut cap = Cap::new(time_base(2015, 6, 29, 14, 0));
        cap.dns(
            CLIENT_A,
            "10.10.0.10",
            0.0,
            "lyncdiscoverinternal.contoso.com",
            0,
            vec![
                cname(
                    "lyncdiscoverinternal.contoso.com",
                    "webint-pool1.contoso.net",
                ),
                a_rec("webint-pool1.contoso.net", "10.10.1.50"),
            ],
        );
        let c_http = cap.tcp(CLIENT_A, "10.10.1.50:80", 0.020, true, 8);
        let c_int = cap.tls(
            CLIENT_A,
            "10.10.1.50:443",
            0.070,
            "webint-pool1.contoso.net",
            cert_int_p1(),
            false,
        );
        cap.http(
            c_http,
            0.020,
            0.040,
            get(
                "lyncdiscoverinternal.contoso.com",
                "/?sipuri=alice@contoso.com",
            )
            .h("Accept", "application/json"),
            Some((200, Vec::new(), &root_links("webint-pool1.contoso.net"))),
        );
        let user = user_links(
            "webint-pool1.contoso.net",
            "applications",
            "https://webext-pool1.contoso.com/ucwa/oauth/v1/applications",
        );
        sign_in_legs(
            &mut cap,
            c_int,
            0.112,
            "webint-pool1.contoso.net",
            TA1,
            (200, user),
        );
        cap.dns(
            CLIENT_A,
            "10.10.0.10",
            0.570,
            "webext-pool1.contoso.com",
            0,
            vec![a_rec("webext-pool1.contoso.com", ucwa_addr)],
        );
        cap
    }

    const APP_A: &str = "/ucwa/oauth/v1/applications/102146789012";

    fn application_body(prefix: &str) -> String {
        format!(
            r#"{{"culture":"en-US","_links":{{"self":{{"href":"{prefix}"}},"policies":{{"href":"{prefix}/policies"}},"events":{{"href":"{prefix}/events?ack=1"}}}},"_embedded":{{"me":{{"_links":{{"makeMeAvailable":{{"href":"{prefix}/me/makeMeAvailable"}}}},"rel":"me"}},"communication":{{"_links":{{"mediaRelayAccessToken":{{"href":"{prefix}/communication/mediaRelayAccessToken"}}}},"rel":"communication"}}}},"rel":"application"}}"#
        )
    }

    const POLICIES_A19: &str = r#"{"rel":"policies","audioOnlyOnWifi":"Disabled","videoOnlyOnWifi":"Enabled","sharingOnlyOnWifi":"Disabled","telephonyMode":"AudioVideo","clientExchangeConnectivity":"Enabled","_links":{"self":{"href":"/ucwa/oauth/v1/applications/102146789012/policies"}}}"#;

    fn relays(list: &[(&str, &str, &str)]) -> String {
        let items: Vec<String> = list
            .iter()
            .map(|(h, ip, loc)| {
                format!(r#"{{"rel":"mediaRelay","host":"{h}","ipv4":"{ip}","location":"{loc}","tcpPort":443,"udpPort":3478}}"#)
            })
            .collect();
        format!(
            r#"{{"rel":"mediaRelayAccessToken","duration":480,"userName":"AgAAJN","password":"x","_embedded":{{"mediaRelay":[{}]}}}}"#,
            items.join(",")
        )
    }

    /// Scenario A: internal Wi-Fi, internal RP VIP (split-brain DNS), signed in.
    fn scenario_a() -> Cap {
        let mut cap = scenario_a_start("10.20.0.10");
        let c3 = cap.tls(
            CLIENT_A,
            "10.20.0.10:443",
            0.585,
            "webext-pool1.contoso.com",
            cert_ext(),
            false,
        );
        let host = "webext-pool1.contoso.com";
        let bearer = format!("Bearer {TA1}");
        cap.http(
            c3,
            0.645,
            0.565,
            post(host, "/ucwa/oauth/v1/applications", r#"{"UserAgent":"Lync2013Mobile/5.4.1087","EndpointId":"9b1f2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d","Culture":"en-US"}"#)
                .h("Authorization", bearer.clone()),
            Some((201, Vec::new(), &application_body(APP_A))),
        );
        let mma = format!("{APP_A}/me/makeMeAvailable");
        cap.http(
            c3,
            2.5,
            0.28,
            post(
                host,
                &mma,
                r#"{"signInAs":"Online","supportedModalities":["Messaging"]}"#,
            )
            .h("Authorization", bearer.clone()),
            Some((204, Vec::new(), "")),
        );
        let pol = format!("{APP_A}/policies");
        cap.http(
            c3,
            2.8,
            0.05,
            get(host, &pol).h("Authorization", bearer.clone()),
            Some((200, Vec::new(), POLICIES_A19)),
        );
        let mras = format!("{APP_A}/communication/mediaRelayAccessToken");
        let relay_body = relays(&[
            ("edgeint.contoso.net", "10.30.0.5", "Intranet"),
            ("av.contoso.com", "203.0.113.22", "Internet"),
        ]);
        cap.http(
            c3,
            2.86,
            0.07,
            get(host, &mras).h("Authorization", bearer.clone()),
            Some((200, Vec::new(), &relay_body)),
        );
        // #A24: the pending long poll is not a failure and not slow.
        let ev = format!("{APP_A}/events?ack=2");
        cap.http(
            c3,
            3.91,
            0.0,
            get(host, &ev).h("Authorization", bearer),
            None,
        );
        cap
    }

    fn checks_of(findings: &[Finding]) -> Vec<(String, FindingSeverity)> {
        findings
            .iter()
            .map(|f| (f.check.clone(), f.severity))
            .collect()
    }

    fn find<'f>(findings: &'f [Finding], check: &str) -> &'f Finding {
        findings
            .iter()
            .find(|f| f.check == check)
            .unwrap_or_else(|| panic!("no {check} in {:#?}", checks_of(findings)))
    }

    #[test]
    fn scenario_a_internal_ca_and_video_on_wifi_only() {
        let f = scenario_a().run();
        // Expected tool result (A): I C-CERT-4, I C-POL-2, no failures (plus the auth path).
        assert_eq!(
            checks_of(&f),
            vec![
                ("C-AUTH-1".to_string(), Info),
                ("C-CERT-4".to_string(), Info),
                ("C-POL-2".to_string(), Info),
            ],
            "{f:#?}"
        );
        let ca = find(&f, "C-CERT-4");
        assert!(
            ca.message.contains("webint-pool1.contoso.net"),
            "{}",
            ca.message
        );
        assert!(
            ca.message.contains("Contoso Issuing CA 01"),
            "{}",
            ca.message
        );
        assert!(!ca.message.contains("webext-pool1"), "{}", ca.message);
        assert_eq!(ca.connections, vec![ConnId(1)]);
        let pol = find(&f, "C-POL-2");
        assert!(
            pol.message.starts_with("video restricted to Wi-Fi"),
            "{}",
            pol.message
        );
        let auth = find(&f, "C-AUTH-1");
        assert_eq!(
            auth.message,
            "auth path: MsRtcOAuth → NTLM (user CONTOSO\\alice) at webint-pool1.contoso.net"
        );
    }

    /// Scenario B #B01–#B09 (external, port 80 dropped), as shared by variant D.
    fn scenario_b_start() -> (Cap, ConnId) {
        let mut cap = Cap::new(time_base(2015, 6, 29, 18, 30));
        cap.fqdn = "fe02.contoso.net";
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
        let c1 = cap.tls(
            CLIENT_B,
            "203.0.113.10:443",
            4.090,
            "lyncdiscover.contoso.com",
            cert_ext(),
            false,
        );
        cap.http(
            c1,
            4.265,
            0.1,
            get("lyncdiscover.contoso.com", "/?sipuri=alice@contoso.com"),
            Some((200, Vec::new(), &root_links("webext-pool1.contoso.com"))),
        );
        let c2 = cap.tls(
            CLIENT_B,
            "203.0.113.10:443",
            4.420,
            "webext-pool1.contoso.com",
            cert_ext(),
            false,
        );
        (cap, c2)
    }

    #[test]
    fn scenario_b_port_80_not_published_is_info_only() {
        let (mut cap, c2) = scenario_b_start();
        let redirect = user_links(
            "webext-pool1.contoso.com",
            "redirect",
            &format!("https://webext-pool2.contoso.com{USER_PATH}"),
        );
        sign_in_legs(
            &mut cap,
            c2,
            4.420,
            "webext-pool1.contoso.com",
            TB1,
            (200, redirect),
        );
        cap.dns(
            CLIENT_B,
            "198.51.100.53",
            5.430,
            "webext-pool2.contoso.com",
            0,
            vec![a_rec("webext-pool2.contoso.com", "203.0.113.11")],
        );
        let c4 = cap.tls(
            CLIENT_B,
            "203.0.113.11:443",
            5.475,
            "webext-pool2.contoso.com",
            cert_ext(),
            false,
        );
        cap.fqdn = "fe21.contoso.net";
        let apps = user_links(
            "webext-pool2.contoso.com",
            "applications",
            "https://webext-pool2.contoso.com/ucwa/oauth/v1/applications",
        );
        sign_in_legs(
            &mut cap,
            c4,
            5.655,
            "webext-pool2.contoso.com",
            TB2,
            (200, apps),
        );
        let app_b = "/ucwa/oauth/v1/applications/203157890123";
        let host = "webext-pool2.contoso.com";
        let bearer = format!("Bearer {TB2}");
        cap.http(
            c4,
            6.61,
            0.74,
            post(
                host,
                "/ucwa/oauth/v1/applications",
                r#"{"Culture":"en-US"}"#,
            )
            .h("Authorization", bearer.clone()),
            Some((201, Vec::new(), &application_body(app_b))),
        );
        let mma = format!("{app_b}/me/makeMeAvailable");
        cap.http(
            c4,
            8.95,
            0.35,
            post(host, &mma, r#"{"signInAs":"Online"}"#).h("Authorization", bearer.clone()),
            Some((204, Vec::new(), "")),
        );
        let mras = format!("{app_b}/communication/mediaRelayAccessToken");
        let relay_body = relays(&[("av.contoso.com", "203.0.113.22", "Internet")]);
        cap.http(
            c4,
            9.43,
            0.11,
            get(host, &mras).h("Authorization", bearer),
            Some((200, Vec::new(), &relay_body)),
        );
        // Exchange: the root-domain candidate fails on its certificate (noise), then
        // autodiscover.contoso.com works.
        cap.fqdn = "";
        cap.dns(
            CLIENT_B,
            "198.51.100.53",
            11.0,
            "contoso.com",
            0,
            vec![a_rec("contoso.com", "203.0.113.80")],
        );
        cap.tls(
            CLIENT_B,
            "203.0.113.80:443",
            11.045,
            "contoso.com",
            cert_www(),
            true,
        );
        cap.dns(
            CLIENT_B,
            "198.51.100.53",
            11.22,
            "autodiscover.contoso.com",
            0,
            vec![a_rec("autodiscover.contoso.com", "203.0.113.30")],
        );
        let c7 = cap.tls(
            CLIENT_B,
            "203.0.113.30:443",
            11.265,
            "autodiscover.contoso.com",
            cert_mail(),
            false,
        );
        let pox = "<Autodiscover><Request><EMailAddress>alice@contoso.com</EMailAddress></Request></Autodiscover>";
        let ad = "/autodiscover/autodiscover.xml";
        let ex_host = "autodiscover.contoso.com";
        cap.http(
            c7,
            11.265,
            0.235,
            post(ex_host, ad, pox),
            Some((401, vec![("WWW-Authenticate", "NTLM".into())], "")),
        );
        cap.http(
            c7,
            11.505,
            0.055,
            post(ex_host, ad, pox).h("Authorization", format!("NTLM {}", ntlm(1))),
            Some((
                401,
                vec![("WWW-Authenticate", format!("NTLM {}", ntlm(2)))],
                "",
            )),
        );
        cap.http(
            c7,
            11.565,
            0.535,
            post(ex_host, ad, pox).h("Authorization", format!("NTLM {}", ntlm(3))),
            Some((200, Vec::new(), "<Autodiscover><Response><Account><Protocol><Type>EXPR</Type><EwsUrl>https://mail.contoso.com/EWS/Exchange.asmx</EwsUrl></Protocol></Account></Response></Autodiscover>")),
        );
        let f = cap.run();
        // Expected tool result (B): HTTP/80 not published (info, tolerated), no failures.
        assert!(f.iter().all(|x| x.severity == Info), "{f:#?}");
        let http = find(&f, "C-HTTP-1");
        assert!(http.message.contains("203.0.113.10"), "{}", http.message);
        assert!(http.message.contains("3 SYNs"), "{}", http.message);
        assert_eq!(http.connections, vec![ConnId(0)]);
        // The pool-2 ticket was obtained afresh; nothing was presented to the wrong pool.
        assert!(f
            .iter()
            .all(|x| x.check != "C-AUTH-5" && x.check != "C-EXCH-1"));
        let auth = find(&f, "C-AUTH-1");
        assert!(auth.message.contains("at webext-pool1.contoso.com; MsRtcOAuth → NTLM (user CONTOSO\\alice) at webext-pool2.contoso.com"), "{}", auth.message);
    }

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
                ("C-HTTP-1".to_string(), Info),
            ],
            "{f:#?}"
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

    /// A small external sign-in up to the user resource, for single-check tests.
    fn external_until_user(user: (u16, String)) -> (Cap, ConnId) {
        let (mut cap, c2) = scenario_b_start();
        sign_in_legs(&mut cap, c2, 4.420, "webext-pool1.contoso.com", TB1, user);
        (cap, c2)
    }

    fn apps_on_pool1() -> (u16, String) {
        (
            200,
            user_links(
                "webext-pool1.contoso.com",
                "applications",
                "https://webext-pool1.contoso.com/ucwa/oauth/v1/applications",
            ),
        )
    }

    #[test]
    fn clock_skew_from_date_headers() {
        let (mut cap, _) = scenario_b_start();
        cap.date_skew = 720.0;
        sign_in_legs(
            &mut cap,
            ConnId(2),
            4.420,
            "webext-pool1.contoso.com",
            TB1,
            apps_on_pool1(),
        );
        let f = cap.run();
        let skew = find(&f, "C-TIME-1");
        assert_eq!(skew.severity, Warning);
        assert!(
            skew.message.contains("12 min ahead of the capture clock"),
            "{}",
            skew.message
        );
        // The root was answered before the skew was set: only pool 1's answers count.
        assert_eq!(skew.exchanges.len(), 5);
        assert!(skew
            .message
            .starts_with("webext-pool1.contoso.com's Date header"));
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

    #[test]
    fn internet_client_given_only_an_intranet_relay() {
        let (mut cap, c2) = external_until_user(apps_on_pool1());
        let mras = format!("{APP_A}/communication/mediaRelayAccessToken");
        let body = relays(&[("edgeint.contoso.net", "10.30.0.5", "Intranet")]);
        cap.http(
            c2,
            6.0,
            0.1,
            get("webext-pool1.contoso.com", &mras).h("Authorization", format!("Bearer {TB1}")),
            Some((200, Vec::new(), &body)),
        );
        let f = cap.run();
        let m = find(&f, "C-MEDIA-1");
        assert_eq!(m.severity, Warning);
        assert!(m.message.contains("198.51.100.77"), "{}", m.message);
        assert!(
            m.message
                .contains("edgeint.contoso.net 10.30.0.5 (Intranet)"),
            "{}",
            m.message
        );
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

    #[test]
    fn no_discovery_record_and_desktop_lookups() {
        let mut cap = Cap::new(time_base(2015, 6, 29, 19, 0));
        for name in [
            "lyncdiscoverinternal.contoso.com",
            "lyncdiscover.contoso.com",
        ] {
            cap.dns(CLIENT_B, "198.51.100.53", 0.0, name, 3, Vec::new());
        }
        cap.dns(
            CLIENT_B,
            "198.51.100.53",
            1.0,
            "_sipinternaltls._tcp.contoso.com",
            3,
            Vec::new(),
        );
        let f = cap.run();
        assert_eq!(
            checks_of(&f),
            vec![
                ("C-DNS-1".to_string(), Fail),
                ("C-FALLBACK-1".to_string(), Info)
            ]
        );
        let dns = find(&f, "C-DNS-1");
        assert_eq!(dns.dns, vec![DnsId(0), DnsId(1)]);
        assert!(
            dns.message.contains("D1 lyncdiscover.contoso.com NXDOMAIN"),
            "{}",
            dns.message
        );
        assert!(find(&f, "C-FALLBACK-1")
            .message
            .contains("_sipinternaltls._tcp.contoso.com"));
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

    #[test]
    fn exchange_autodiscover_without_a_working_candidate() {
        let (mut cap, c2) = external_until_user(apps_on_pool1());
        cap.fqdn = "";
        let c = cap.tls(
            CLIENT_B,
            "203.0.113.30:443",
            12.0,
            "autodiscover.contoso.com",
            cert_mail(),
            false,
        );
        let _ = c2;
        cap.http(
            c,
            12.1,
            0.1,
            post(
                "autodiscover.contoso.com",
                "/autodiscover/autodiscover.xml",
                "<Autodiscover/>",
            ),
            Some((404, Vec::new(), "")),
        );
        let f = cap.run();
        let ex = find(&f, "C-EXCH-1");
        assert_eq!(ex.severity, Warning);
        assert!(
            ex.message.contains("Exchange autodiscover failed"),
            "{}",
            ex.message
        );
        assert!(ex.message.contains("→ 404"), "{}", ex.message);
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
    fn saz_input_gets_the_proxy_caveat_only() {
        let mut a = Analysis::default();
        a.inputs.push(InputInfo {
            path: "trace.saz".into(),
            format: "saz".into(),
            bytes: 0,
            frames: 0,
            link_types: Vec::new(),
            truncated: false,
        });
        annotate(&mut a, &RuleSet::builtin());
        assert_eq!(checks_of(&a.findings), vec![("C-SRC-1".to_string(), Info)]);
        assert!(a.findings[0]
            .message
            .contains("the Fiddler PC resolves the names"));
    }

    #[test]
    fn findings_are_deterministic_and_ordered() {
        let f1 = scenario_a().run();
        let f2 = scenario_a().run();
        assert_eq!(f1, f2);
        let mut c = Cap::new(time_base(2015, 6, 29, 19, 0));
        for name in [
            "lyncdiscoverinternal.contoso.com",
            "lyncdiscover.contoso.com",
        ] {
            c.dns(CLIENT_B, "198.51.100.53", 0.0, name, 3, Vec::new());
        }
        c.dns(
            CLIENT_B,
            "198.51.100.53",
            1.0,
            "sip.contoso.com",
            3,
            Vec::new(),
        );
        let f = c.run();
        let sev: Vec<FindingSeverity> = f.iter().map(|x| x.severity).collect();
        let mut sorted = sev.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(sev, sorted);
    }

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

    /// The corpus SAZ files hold generic OAuth/NTLM traffic (Azure AD, SharePoint): only the
    /// proxy caveat may come out.
    #[test]
    fn corpus_saz_files_give_only_the_proxy_caveat() {
        let dir =
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/saz"));
        let Ok(entries) = std::fs::read_dir(dir) else {
            eprintln!("corpus not found: skipped");
            return;
        };
        let mut files: Vec<std::path::PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "saz"))
            .collect();
        files.sort();
        let options = crate::pipeline::Options {
            rules: Some(Arc::new(RuleSet::builtin())),
            ..Default::default()
        };
        for path in files.iter().take(24) {
            let Ok(a) = crate::pipeline::analyze(std::slice::from_ref(path), &options, &mut ())
            else {
                continue;
            };
            let other: Vec<&Finding> = a.findings.iter().filter(|f| f.check != "C-SRC-1").collect();
            assert!(other.is_empty(), "{}: {other:#?}", path.display());
            assert!(
                a.findings.iter().any(|f| f.check == "C-SRC-1"),
                "{}",
                path.display()
            );
        }
    }
}
