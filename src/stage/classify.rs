//! The classification pass (docs/stages.md): walks exchanges and DNS lookups in time
//! order, applies the first matching rule, and remembers what each response announced so that
//! later requests find their parent.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use super::auth::{asks_for_token, ntlm_type, token_rejection};
use super::hosts::{is_online_host, SFB_ONLINE_APP_ID};
use super::links::{self, Link};
use super::rules::{Hits, HostSet, Rule, RuleKind, RuleSet};
use super::tokens::{Scope, TokenKind, Tokens};
use crate::model::{
    Analysis, AuthLeg, ConnId, DnsId, DnsLookup, ExchId, Exchange, HttpVersion, Outcome, StageTag,
    Ts,
};

pub use crate::model::UNRELATED;

/// Stages that only exist after a Lync sign-in started (they do not by themselves make a
/// capture a Lync capture).
const FOLLOW_ON: [&str; 3] = ["exchange-autodiscover", "exchange-ews", "dns-hop"];

/// What a request looks like to the rules.
pub struct RequestView<'a> {
    pub method: &'a str,
    pub scheme: &'static str,
    /// Lower-case, no port.
    pub host: String,
    pub port: u16,
    /// Normalised path (lower case, no query, no duplicate or trailing '/').
    pub path: String,
    pub query: String,
    /// Absolute URL as requested.
    pub url: String,
}

/// Lower-case path without query, duplicate slashes collapsed, trailing slash dropped.
pub(crate) fn normalize_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 1);
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        out.push_str(&seg.to_ascii_lowercase());
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

pub fn request_view<'a>(analysis: &Analysis, ex: &'a Exchange) -> Option<RequestView<'a>> {
    let u = analysis.request_url(ex)?;
    let (path, query) = match u.path_query.split_once('?') {
        Some((p, q)) => (p, q),
        None => (u.path_query, ""),
    };
    Some(RequestView {
        method: u.method,
        scheme: u.scheme,
        host: u.host,
        port: u.port,
        path: normalize_path(path),
        query: query.to_string(),
        url: u.url,
    })
}

/// A URL some response announced.
#[derive(Clone)]
struct Announce {
    query: String,
    rel: String,
    via: String,
    exch: ExchId,
    at: Ts,
}

/// Link provenance and the learned sets, as of the exchange being classified.
#[derive(Default)]
pub(crate) struct Learned {
    /// origin+path (normalised) → announcements, oldest first.
    by_path: HashMap<String, Vec<Announce>>,
    /// Announcements that also cover everything under their path.
    prefixes: Vec<(String, Announce)>,
    /// Host → (first time announced, announcing exchange).
    pub announced_hosts: HashMap<String, (Ts, ExchId)>,
    /// Host → relation of the link that first announced it ("applications", "redirect",
    /// "token", "authorization_uri" …): what a connection to that host was for.
    pub announced_rel: HashMap<String, String>,
    /// Identity-provider hosts announced by this flow → when (stage `modern-auth`).
    pub idp_hosts: HashMap<String, Ts>,
    /// Tokens issued, and which hosts may accept them.
    pub tokens: Tokens,
    /// Identity-provider sign-in pages (host + path → exchange): a form posts back there.
    idp_pages: HashMap<String, ExchId>,
    /// The identity-provider exchange that last handed the client an authorization code.
    idp_code: Option<ExchId>,
    /// Host → the last exchange whose response asked for a Bearer token (the resource a token
    /// request then names).
    bearer_challenges: HashMap<String, ExchId>,
    pub lync_hosts: HashSet<String>,
    pub sip_domains: HashSet<String>,
    /// Addresses answered for names in the Lync host set.
    pub lync_addrs: HashMap<IpAddr, String>,
    /// Any lookup's answers: address → (answered at, lookup, name asked).
    pub resolved: HashMap<IpAddr, Vec<(Ts, DnsId, String)>>,
    pub lync_seen: bool,
    /// The policies response that enabled Exchange integration (clientExchangeConnectivity).
    exchange_policy: Option<ExchId>,
    /// Last exchange per (method, full normalised URL): for "retry after 401".
    last_by_url: HashMap<(String, String), ExchId>,
}

impl Learned {
    fn announce(&mut self, link: &Link, exch: ExchId, at: Ts) {
        let Some((path, query)) = crate::model::url::normalize_url(&link.url) else {
            return;
        };
        if let Some(host) = host_of(&link.url) {
            if IDP_RELS.contains(&link.rel.as_str()) {
                self.idp_hosts.entry(host.clone()).or_insert(at);
            }
            // The link a client follows to this host says what a connection there carries:
            // a service link rather than the answer's own `self` / `xframe`.
            let rel = self.announced_rel.entry(host.clone()).or_default();
            if rel.is_empty() || rel_weight(&link.rel) < rel_weight(rel) {
                *rel = link.rel.clone();
            }
            self.announced_hosts.entry(host).or_insert((at, exch));
        }
        let a = Announce {
            query,
            rel: link.rel.clone(),
            via: link.via.clone(),
            exch,
            at,
        };
        // Service addresses, and an application's own URL, cover the URLs beneath them.
        let covers = link.prefix || (link.rel == "self" && path.contains("/applications/"));
        if covers && self.prefixes.len() < 100_000 {
            self.prefixes.push((path.clone(), a.clone()));
        }
        let list = self.by_path.entry(path).or_default();
        if list.len() < 64 {
            list.push(a);
        }
    }

    /// The latest announcement of this URL made before `at`: exact, then ignoring the query,
    /// then by a covering prefix.
    fn lookup<'s>(&'s self, url: &str, at: Ts) -> Option<&'s Announce> {
        let (path, query) = crate::model::url::normalize_url(url)?;
        let list = self.by_path.get(&path);
        let before = |a: &&Announce| a.at <= at;
        if let Some(list) = list {
            // The latest announcing exchange; of its links to this URL, the first it gave
            // (EwsUrl before OOFUrl, as the document lists them).
            let first_of = |a: &'s Announce| -> &'s Announce {
                list.iter()
                    .find(|b| b.exch == a.exch && b.query == a.query)
                    .unwrap_or(a)
            };
            if let Some(a) = list.iter().rev().filter(before).find(|a| a.query == query) {
                return Some(first_of(a));
            }
            if let Some(a) = list.iter().rev().find(before) {
                return Some(first_of(a));
            }
        }
        self.prefixes
            .iter()
            .rev()
            .filter(|(_, a)| a.at <= at)
            .find(|(p, _)| {
                path.len() > p.len()
                    && path.starts_with(p.as_str())
                    && path.as_bytes().get(p.len()) == Some(&b'/')
            })
            .map(|(_, a)| a)
    }
}

/// How directly a link relation names where the client goes next (lower = more).
fn rel_weight(rel: &str) -> u8 {
    match stage_of_rel(rel) {
        _ if rel == "self" || rel == "location" => 5,
        Some(_) => 1,
        None => 9,
    }
}

/// Relations whose URL names an identity provider (stage `modern-auth`).
const IDP_RELS: [&str; 4] = [
    "authorization_uri",
    "ms_rtc_passiveauthuri",
    "federation_active_auth_url",
    "federation_metadata_url",
];

/// Relations that exist only inside a challenge: their hosts are offered, not part of the
/// flow until the client uses them (docs/stages.md §2).
const CHALLENGE_RELS: [&str; 2] = ["token", "authorization_uri"];

/// The stage a link relation leads to: what a lookup or connection for the announced host
/// was carrying.
pub(crate) fn stage_of_rel(rel: &str) -> Option<&'static str> {
    Some(match rel {
        "user" => "ad-user-challenge",
        "redirect" | "self" | "location" => "ad-root-https",
        "token" => "webticket-oauth",
        "webticket" => "webticket-soap",
        r if IDP_RELS.contains(&r) => "modern-auth",
        "applications" | "ucwa" | "external/ucwa" | "internal/ucwa" => "ucwa-application",
        "external/mcx" | "internal/mcx" | "mcx" => "mcx-session",
        "makemeavailable" => "signed-in",
        "events" | "next" | "resume" | "resync" => "event-channel",
        "ewsurl" | "asurl" | "externalewsurl" | "internalewsurl" => "exchange-ews",
        _ => return None,
    })
}

pub(crate) fn host_of(url: &str) -> Option<String> {
    links::url_host(url)
}

/// The domain after the first label ("lyncdiscover.contoso.com" → "contoso.com").
fn parent_domain(name: &str) -> Option<String> {
    let (_, rest) = name.split_once('.')?;
    rest.contains('.').then(|| rest.to_ascii_lowercase())
}

fn status_text(ex: &Exchange) -> Option<String> {
    ex.response.as_ref().map(|r| format!("{:03}", r.status))
}

fn in_set(learned: &Learned, set: HostSet, host: &str, at: Ts) -> bool {
    match set {
        HostSet::LyncHosts => learned.lync_hosts.contains(host),
        HostSet::AnnouncedHosts => learned
            .announced_hosts
            .get(host)
            .is_some_and(|&(t, _)| t <= at),
        HostSet::SipDomains => learned.sip_domains.contains(host),
        HostSet::IdpHosts => learned.idp_hosts.get(host).is_some_and(|&t| t <= at),
    }
}

/// `resource=` / `scope=` of the query or form body names a Lync or Online host, or the SfB
/// Online application id: an identity-provider request made for this flow.
fn names_lync_resource(view: &RequestView<'_>, ex: &Exchange, learned: &Learned) -> bool {
    let body = ex
        .request
        .as_ref()
        .and_then(|r| r.body.bytes())
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    let found = resource_values(&view.query)
        .chain(resource_values(&body))
        .any(|v| {
            v.split([' ', '+']).filter(|x| !x.is_empty()).any(|item| {
                let item = item.to_ascii_lowercase();
                if item.contains(SFB_ONLINE_APP_ID) {
                    return true;
                }
                let host = host_of(&item).unwrap_or_else(|| item.trim_end_matches('/').to_string());
                is_online_host(&host) || learned.lync_hosts.contains(&host)
            })
        });
    found
}

/// The decoded values of `resource` and `scope` in a query string or form body.
fn resource_values(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split('&').filter_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        let k = k.trim();
        (k.eq_ignore_ascii_case("resource") || k.eq_ignore_ascii_case("scope"))
            .then(|| crate::model::url::form_decode(v))
    })
}

fn body_str(bytes: Option<&[u8]>) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes.unwrap_or_default())
}

/// Does an HTTP rule's request side hold?
#[allow(clippy::too_many_arguments)]
fn http_rule_matches(
    rules: &RuleSet,
    i: usize,
    hits: &Hits,
    view: &RequestView<'_>,
    ex: &Exchange,
    announced_rel: Option<&str>,
    learned: &Learned,
    at: Ts,
) -> bool {
    let Some(req) = ex.request.as_ref() else {
        return false;
    };
    let rule = &rules.rules[i];
    if rule.kind != RuleKind::Http || !hits.path_ok(rules, i) || !hits.host_ok(rules, i) {
        return false;
    }
    if rule.after_lync && !learned.lync_seen {
        return false;
    }
    if !rule.methods.is_empty() && !rule.methods.iter().any(|m| m == view.method) {
        return false;
    }
    if rule.scheme.as_deref().is_some_and(|s| s != view.scheme) {
        return false;
    }
    if rule
        .query
        .as_ref()
        .is_some_and(|r| !r.is_match(&view.query))
    {
        return false;
    }
    if !rule.req_header.is_empty() && !rule.req_header.iter().any(|t| t.holds(req.headers.iter())) {
        return false;
    }
    if rule.req_absent.iter().any(|n| req.headers.get(n).is_some()) {
        return false;
    }
    if let Some(r) = &rule.req_body {
        if !r.is_match(&body_str(req.body.bytes())) {
            return false;
        }
    }
    if let Some(r) = &rule.announced {
        if !announced_rel.is_some_and(|rel| r.is_match(rel)) {
            return false;
        }
    }
    if let Some(set) = rule.host_in {
        if !in_set(learned, set, &view.host, at) {
            return false;
        }
    }
    if rule.lync_resource && !names_lync_resource(view, ex, learned) {
        return false;
    }
    true
}

/// Outcome of an HTTP exchange under a rule, with the note of the entry that decided it.
fn http_outcome(
    rule: &Rule,
    ex: &Exchange,
    view: &RequestView<'_>,
    learned: &Learned,
) -> (Outcome, Option<String>) {
    let Some(resp) = ex.response.as_ref() else {
        let outcome = rule.no_response.unwrap_or(Outcome::Unknown);
        let note = if let Some(err) = stream_error(ex) {
            format!("no response: {err}")
        } else if outcome == Outcome::Ok {
            "pending: the long poll was still open when the capture ended".into()
        } else {
            "no response before the capture ended".into()
        };
        return (outcome, Some(note));
    };
    let status = status_text(ex).unwrap_or_default();
    let body = body_str(resp.body.bytes());
    let schemes: Vec<&str> = ex
        .auth
        .as_ref()
        .map(|a| a.challenges.iter().map(|c| c.scheme.as_str()).collect())
        .unwrap_or_default();
    let req_ntlm = ex
        .auth
        .as_ref()
        .and_then(|a| a.request.as_ref())
        .and_then(ntlm_type);
    for o in &rule.outcomes {
        if o.status.as_ref().is_some_and(|r| !r.is_match(&status)) {
            continue;
        }
        if !o.resp_header.is_empty() && !o.resp_header.iter().any(|t| t.holds(resp.headers.iter()))
        {
            continue;
        }
        if o.body.as_ref().is_some_and(|r| !r.is_match(&body)) {
            continue;
        }
        if !o.challenge.is_empty()
            && !schemes
                .iter()
                .any(|s| o.challenge.iter().any(|c| c.eq_ignore_ascii_case(s)))
        {
            continue;
        }
        if o.ntlm_type.is_some_and(|t| req_ntlm != Some(t)) {
            continue;
        }
        if let Some(want) = o.location_lync {
            if location_in_lync(resp.headers.get("Location"), view, learned) != want {
                continue;
            }
        }
        return (o.outcome, o.note.clone());
    }
    (Outcome::Unknown, None)
}

/// A `Location` that stays on the request's host, or goes to a Lync or Online host (a relative
/// one stays on the host).
fn location_in_lync(location: Option<&str>, view: &RequestView<'_>, learned: &Learned) -> bool {
    let Some(location) = location.map(str::trim).filter(|l| !l.is_empty()) else {
        return true;
    };
    let Some(host) = host_of(location) else {
        return true;
    };
    host == view.host || learned.lync_hosts.contains(&host) || is_online_host(&host)
}

/// Why a request got no response: the RST_STREAM error code of an HTTP/2 stream seen in
/// the capture (`HTTP_1_1_REQUIRED` …), or what a trace archive recorded (a HAR `_error`,
/// e.g. Chrome's `net::ERR_HTTP_1_1_REQUIRED` for the same reset).
pub(crate) fn stream_error(ex: &Exchange) -> Option<&str> {
    if let Some(reset) = ex.stream.as_ref().and_then(|s| s.reset.as_ref()) {
        return Some(reset.name.as_str());
    }
    ex.annotations
        .as_ref()?
        .flags
        .get("response._error")
        .filter(|v| !v.is_empty())
}

/// An HTTP/2 stream reset with `HTTP_1_1_REQUIRED` (error code 0xd).
pub(crate) fn reset_http_1_1_required(ex: &Exchange) -> bool {
    ex.http_version == HttpVersion::Http2
        && ex.response.is_none()
        && stream_error(ex).is_some_and(|e| e.to_ascii_uppercase().contains("HTTP_1_1_REQUIRED"))
}

fn subkind(rule: &Rule, view: &RequestView<'_>, ex: &Exchange) -> Option<String> {
    let req = ex.request.as_ref()?;
    rule.subkinds
        .iter()
        .find(|s| {
            (s.methods.is_empty() || s.methods.iter().any(|m| m == view.method))
                && s.path.as_ref().is_none_or(|r| r.is_match(&view.path))
                && (s.req_header.is_empty()
                    || s.req_header.iter().any(|t| t.holds(req.headers.iter())))
                && s.req_body
                    .as_ref()
                    .is_none_or(|r| r.is_match(&body_str(req.body.bytes())))
        })
        .map(|s| s.subkind.clone())
}

fn dns_outcome(rule: &Rule, lookup: &DnsLookup) -> (Outcome, Option<String>) {
    let Some(resp) = lookup.response.as_ref() else {
        return (
            rule.no_response.unwrap_or(Outcome::Fail),
            Some("no answer from the DNS server".into()),
        );
    };
    let answered = lookup.addresses().next().is_some() || lookup.cnames().next().is_some();
    let rcode = crate::model::rcode_name(resp.rcode);
    for o in &rule.outcomes {
        if o.rcode.as_deref().is_some_and(|r| r != rcode) {
            continue;
        }
        if o.answered.is_some_and(|a| a != answered) {
            continue;
        }
        return (o.outcome, o.note.clone());
    }
    (Outcome::Unknown, None)
}

fn tag(rule: &Rule, outcome: Outcome, note: Option<String>) -> StageTag {
    StageTag {
        id: rule.stage.clone(),
        outcome,
        rule: rule.name.clone(),
        parent: None,
        via: None,
        dns: None,
        subkind: None,
        carries: None,
        note,
    }
}

fn unrelated(rule: &str) -> StageTag {
    StageTag {
        id: UNRELATED.into(),
        outcome: Outcome::Unknown,
        rule: rule.into(),
        parent: None,
        via: None,
        dns: None,
        subkind: None,
        carries: None,
        note: None,
    }
}

/// Outcome of an exchange no rule claims, from its status alone.
fn plain_outcome(ex: &Exchange) -> Outcome {
    match ex.response.as_ref().map(|r| r.status) {
        None => Outcome::Unknown,
        Some(401 | 407) => Outcome::Challenge,
        Some(s) if s < 400 => Outcome::Ok,
        Some(_) => Outcome::Fail,
    }
}

/// Tags every exchange, lookup and connection; returns what was learned (for the checks).
pub(crate) fn classify(analysis: &mut Analysis, rules: &RuleSet) -> Learned {
    let mut learned = Learned::default();
    // One small entry per lookup and exchange, the vector sized once and sorted in place:
    // with hundreds of thousands of exchanges it is part of the analysis's peak memory.
    // (time, 0 = DNS / 1 = HTTP, index): the keys are unique, so the unstable sort gives the
    // order a stable one would.
    let mut events: Vec<(Ts, u8, u32)> =
        Vec::with_capacity(analysis.dns.len() + analysis.exchanges.len());
    for (i, l) in analysis.dns.iter().enumerate() {
        if let Some(a) = l.first() {
            events.push((a.ts, 0, i as u32));
        }
    }
    for (i, e) in analysis.exchanges.iter().enumerate() {
        let at = e.timing.first().map(|a| a.ts).unwrap_or_default();
        events.push((at, 1, i as u32));
    }
    events.sort_unstable();

    // Most exchanges of a big capture get the same tag (unrelated, no parent): they share one.
    let mut last: Option<std::sync::Arc<StageTag>> = None;
    for &(at, kind, i) in &events {
        let i = i as usize;
        if kind == 0 {
            let t = classify_dns(&analysis.dns[i], rules, &mut learned, at);
            analysis.dns[i].stage = Some(t);
        } else {
            let t = classify_http(analysis, i, rules, &mut learned, at);
            let t = match last.take() {
                Some(shared) if *shared == t => shared,
                _ => std::sync::Arc::new(t),
            };
            last = Some(std::sync::Arc::clone(&t));
            analysis.exchanges[i].stage = Some(t);
        }
    }
    drop(events);
    settle_dns_noise(analysis);
    settle_http_root_noise(analysis);
    settle_http2_resets(analysis);
    settle_silent_idp(analysis);
    classify_connections(analysis, rules, &learned);
    learned
}

fn classify_dns(lookup: &DnsLookup, rules: &RuleSet, learned: &mut Learned, at: Ts) -> StageTag {
    let qname = lookup.qname.trim_end_matches('.').to_ascii_lowercase();
    let mut result = None;
    for rule in rules.rules.iter().filter(|r| r.kind == RuleKind::Dns) {
        if rule.after_lync && !learned.lync_seen {
            continue;
        }
        if rule.qname.as_ref().is_some_and(|r| !r.is_match(&qname)) {
            continue;
        }
        if let Some(set) = rule.qname_in {
            if !in_set(learned, set, &qname, at) {
                continue;
            }
        }
        let (outcome, note) = dns_outcome(rule, lookup);
        let mut t = tag(rule, outcome, note);
        if let Some(&(_, exch)) = learned.announced_hosts.get(&qname) {
            if learned.announced_hosts[&qname].0 <= at {
                t.parent = Some(exch);
                t.via = Some("host of an announced URL".into());
            }
        }
        if rules.is_carrier(&rule.stage) {
            t.carries = carried_stage(learned, &qname, 443).0.map(str::to_string);
        }
        if t.parent.is_none() && rule.stage == "exchange-autodiscover" {
            if let Some(p) = learned.exchange_policy {
                t.parent = Some(p);
                t.via = Some("policy clientExchangeConnectivity".into());
            }
        }
        // A DNS rule's sub-kind is its first entry without request tests (wpad).
        t.subkind = rule
            .subkinds
            .iter()
            .find(|s| s.methods.is_empty() && s.path.is_none() && s.req_header.is_empty())
            .map(|s| s.subkind.clone());
        if rule.stage == "dns-discovery" {
            t.subkind = Some(
                if qname.starts_with("lyncdiscoverinternal.") {
                    "internal"
                } else {
                    "external"
                }
                .into(),
            );
        }
        result = Some(t);
        break;
    }
    let t = result.unwrap_or_else(|| {
        let mut u = unrelated("no rule matched");
        u.outcome = match &lookup.response {
            None => Outcome::Unknown,
            Some(r) if r.rcode == 0 => Outcome::Ok,
            Some(_) => Outcome::Fail,
        };
        u
    });
    // What this lookup teaches.
    if t.id == "dns-discovery" {
        learned.lync_seen = true;
        if let Some(d) = parent_domain(&qname) {
            learned.sip_domains.insert(d);
        }
        learned.lync_hosts.insert(qname.clone());
        for c in lookup.cnames() {
            learned
                .lync_hosts
                .insert(c.trim_end_matches('.').to_ascii_lowercase());
        }
    }
    let lync_name = learned.lync_hosts.contains(&qname);
    let answered_at = lookup.response.as_ref().map_or(at, |r| r.arrival.ts);
    for addr in lookup.addresses() {
        let list = learned.resolved.entry(addr).or_default();
        if list.len() < 64 {
            list.push((answered_at, lookup.id, qname.clone()));
        }
        if lync_name || matches!(t.id.as_str(), "dns-discovery" | "dns-hop") {
            learned
                .lync_addrs
                .entry(addr)
                .or_insert_with(|| qname.clone());
        }
    }
    t
}

fn classify_http(
    analysis: &Analysis,
    i: usize,
    rules: &RuleSet,
    learned: &mut Learned,
    at: Ts,
) -> StageTag {
    let ex = &analysis.exchanges[i];
    let Some(view) = request_view(analysis, ex) else {
        return unrelated("response without its request");
    };
    if view.method.eq_ignore_ascii_case("CONNECT") {
        // A proxy tunnel (SAZ): the transport step to that host.
        let lync = learned.lync_hosts.contains(&view.host) || view.host.starts_with("lyncdiscover");
        if !lync {
            return unrelated("proxy tunnel to a host outside the Lync host set");
        }
        let ok = ex
            .response
            .as_ref()
            .is_some_and(|r| (200..300).contains(&r.status));
        return StageTag {
            id: "tcp-tls".into(),
            outcome: if ok { Outcome::Ok } else { Outcome::Fail },
            rule: "proxy-tunnel".into(),
            parent: None,
            via: None,
            dns: None,
            subkind: Some("tunnel".into()),
            carries: None,
            note: None,
        };
    }
    let hits = rules.hits(&view.host, &view.path);
    // Nothing learned yet and no rule's path or host matches: no rule can fire (the common
    // case of a big capture without Lync traffic), so skip the provenance work.
    if hits.none() && !rules.loose_http && !learned.lync_seen && learned.by_path.is_empty() {
        let mut u = unrelated("no rule matched");
        u.outcome = plain_outcome(ex);
        return u;
    }
    let key = (
        view.method.to_string(),
        crate::model::url::normalize_url(&view.url)
            .map(|(p, q)| format!("{p}?{q}"))
            .unwrap_or_default(),
    );
    // A repeat of a request that was challenged: a 401/407, or a 403 that asked for a new
    // token (Online refuses a token with 403 and a fresh challenge).
    let retry_of = learned.last_by_url.get(&key).copied().and_then(|p| {
        let prev = &analysis.exchanges[p.0 as usize];
        let status = prev.response.as_ref()?.status;
        let asked = status == 401
            || status == 407
            || (status == 403
                && (asks_for_token(prev.auth.as_deref())
                    || prev
                        .response
                        .as_ref()
                        .and_then(|r| token_rejection(&r.headers, prev.auth.as_deref()))
                        .is_some()));
        asked.then_some((p, status))
    });
    let announce = learned.lookup(&view.url, at).cloned();
    let rel = announce.as_ref().map(|a| a.rel.as_str());
    let mut t = None;
    for (i, rule) in rules.rules.iter().enumerate() {
        if http_rule_matches(rules, i, &hits, &view, ex, rel, learned, at) {
            let (outcome, note) = http_outcome(rule, ex, &view, learned);
            let mut tg = tag(rule, outcome, note);
            tg.subkind = subkind(rule, &view, ex);
            t = Some(tg);
            break;
        }
    }
    let mut t = t.unwrap_or_else(|| {
        let mut u = unrelated("no rule matched");
        u.outcome = plain_outcome(ex);
        u
    });
    if t.id != UNRELATED {
        outcome_invariants(ex, &view, &mut t, learned);
        if t.id == "ucwa-probe" {
            // The probe carries the application's creation (docs/stages.md).
            t.carries = Some("ucwa-application".into());
        }
        let idp_parent = if t.id == "modern-auth" {
            idp_parent(ex, &view, learned)
        } else {
            None
        };
        if let Some((p, via)) = idp_parent {
            t.parent = Some(p);
            t.via = Some(via);
        } else if let Some((p, status)) = retry_of {
            t.parent = Some(p);
            t.via = Some(format!("retry after {status}"));
        } else if let Some(a) = &announce {
            t.parent = Some(a.exch);
            t.via = Some(a.via.clone());
        }
        if let Some(c) = analysis.connections.get(ex.connection.0 as usize) {
            t.dns = resolved_by(learned, c.server.ip(), &view.host, c.first_seen);
        }
        learn_from_response(analysis, ex, &view, &t, learned, at);
        learn_idp(ex, &view, &t, learned);
    }
    // Only steps of the flow are retried into the flow: unrelated traffic is not remembered
    // (a big capture's thousands of URLs would otherwise be held).
    if t.id != UNRELATED {
        learned.last_by_url.insert(key, ex.id);
    }
    t
}

/// Why an identity-provider request was made: the sign-in page whose form it posts, the
/// answer that handed the authorization code it redeems, or the Bearer challenge of the
/// resource it asks a token for.
fn idp_parent(
    ex: &Exchange,
    view: &RequestView<'_>,
    learned: &Learned,
) -> Option<(ExchId, String)> {
    let page_key = format!("{}{}", view.host, view.path);
    if view.method == "POST" {
        if let Some(&p) = learned.idp_pages.get(&page_key) {
            return Some((p, "form of the sign-in page".into()));
        }
    }
    let body = ex
        .request
        .as_ref()
        .and_then(|r| r.body.bytes())
        .map(|b| String::from_utf8_lossy(b).to_ascii_lowercase())
        .unwrap_or_default();
    if body.contains("grant_type=authorization_code") {
        if let Some(p) = learned.idp_code {
            return Some((p, "authorization code".into()));
        }
    }
    let resource = resource_values(&body)
        .chain(resource_values(&view.query))
        .find_map(|r| host_of(&r.to_ascii_lowercase()))?;
    learned
        .bearer_challenges
        .get(&resource)
        .map(|&p| (p, format!("Bearer challenge of {resource}")))
}

/// What an exchange teaches the identity-provider links: a sign-in page, an authorization
/// code handed over, a Bearer challenge.
fn learn_idp(ex: &Exchange, view: &RequestView<'_>, t: &StageTag, learned: &mut Learned) {
    let Some(resp) = ex.response.as_ref() else {
        return;
    };
    if t.id == "modern-auth" {
        if t.outcome == Outcome::Challenge && learned.idp_pages.len() < 10_000 {
            learned
                .idp_pages
                .insert(format!("{}{}", view.host, view.path), ex.id);
        }
        let location = resp
            .headers
            .get("Location")
            .unwrap_or("")
            .to_ascii_lowercase();
        if location.contains("code=") {
            learned.idp_code = Some(ex.id);
        }
    } else if asks_for_token(ex.auth.as_deref())
        && ex.auth.as_ref().is_some_and(|a| {
            a.challenges
                .iter()
                .any(|c| c.scheme.eq_ignore_ascii_case("bearer"))
        })
        && learned.bearer_challenges.len() < 10_000
    {
        learned.bearer_challenges.insert(view.host.clone(), ex.id);
    }
}

/// The outcomes docs/stages.md makes hold whatever the rule says: a 401 to an NTLM type-3
/// message is `fail`; a token rejected with a marker is `fail`; a fresh challenge to a token is
/// `challenge` once per host when the token was issued for another host, `fail` when it was
/// valid there; an HTTP/2 stream reset before its response is `fail`.
fn outcome_invariants(
    ex: &Exchange,
    view: &RequestView<'_>,
    t: &mut StageTag,
    learned: &mut Learned,
) {
    if let Some(a) = ex.auth.as_deref() {
        if !a.challenges.is_empty() {
            learned.tokens.challenged_by(&view.host, &a.challenges);
        }
    }
    let Some(resp) = ex.response.as_ref() else {
        if ex.http_version == HttpVersion::Http2 && stream_error(ex).is_some() {
            t.outcome = Outcome::Fail;
        }
        return;
    };
    let leg = ex.auth.as_ref().and_then(|a| a.request.as_ref());
    if resp.status == 401 && leg.and_then(ntlm_type) == Some(3) {
        if t.outcome != Outcome::Fail {
            t.outcome = Outcome::Fail;
            t.note = Some(
                "the NTLM type-3 message was answered 401: credentials rejected (or the NTLM \
                 context was lost between connections)"
                    .into(),
            );
        }
        return;
    }
    // Tokens of Lync stages only: Exchange has its own tokens.
    if t.id.starts_with("exchange-") {
        return;
    }
    let Some(leg) = leg.filter(|l| matches!(l, AuthLeg::Bearer(_) | AuthLeg::WebTicket { .. }))
    else {
        return;
    };
    if matches!(resp.status, 401 | 403 | 500) {
        if let Some(marker) = token_rejection(&resp.headers, ex.auth.as_deref()) {
            t.outcome = Outcome::Fail;
            t.rule = "token-rejected".into();
            t.note = Some(format!(
                "{} rejected the token ({marker}): a token problem, not a policy refusal",
                view.host
            ));
            return;
        }
    }
    if !matches!(resp.status, 401 | 403) || !asks_for_token(ex.auth.as_deref()) {
        return;
    }
    let issuer = learned
        .tokens
        .of(leg)
        .map(|i| i.issuer.clone())
        .unwrap_or_default();
    match learned.tokens.scope(leg, &view.host) {
        Scope::Out if resp.status == 401 && learned.tokens.first_request_of(&view.host) => {
            t.outcome = Outcome::Challenge;
            t.rule = "token-outside-scope".into();
            t.note = Some(format!(
                "the token from {issuer} is not for {}: it asks for a token of its own \
                 (expected once per host)",
                view.host
            ));
        }
        Scope::Out => {
            t.outcome = Outcome::Fail;
            t.rule = "token-outside-scope".into();
            t.note = Some(format!(
                "{} refused a token issued by {issuer} for another host, again",
                view.host
            ));
        }
        Scope::In => {
            t.outcome = Outcome::Fail;
            t.rule = "token-rejected".into();
            t.note = Some(format!(
                "{} challenged again although the token from {issuer} is valid there: \
                 the token was rejected",
                view.host
            ));
        }
        Scope::Unknown => {}
    }
}

/// The latest lookup answered before `before` that gave `addr`, preferring one for `host`.
fn resolved_by(learned: &Learned, addr: IpAddr, host: &str, before: Ts) -> Option<DnsId> {
    let list = learned.resolved.get(&addr)?;
    let ok = |(t, _, _): &&(Ts, DnsId, String)| *t <= before;
    list.iter()
        .rev()
        .filter(ok)
        .find(|(_, _, n)| n == host)
        .or_else(|| list.iter().rev().find(ok))
        .map(|(_, id, _)| *id)
}

fn learn_from_response(
    analysis: &Analysis,
    ex: &Exchange,
    view: &RequestView<'_>,
    t: &StageTag,
    learned: &mut Learned,
    at: Ts,
) {
    // An identity provider serves every Office app: it never joins the Lync host set.
    let idp = t.id == "modern-auth";
    if !FOLLOW_ON.contains(&t.id.as_str()) {
        learned.lync_seen = true;
        if !idp {
            learned.lync_hosts.insert(view.host.clone());
        }
    }
    if let Some(sipuri) = view
        .query
        .split('&')
        .find_map(|kv| kv.strip_prefix("sipuri="))
    {
        if let Some((_, d)) = sipuri
            .rsplit_once('@')
            .or_else(|| sipuri.rsplit_once("%40"))
        {
            learned.sip_domains.insert(d.to_ascii_lowercase());
        }
    }
    if view.host.starts_with("lyncdiscover") {
        if let Some(d) = parent_domain(&view.host) {
            learned.sip_domains.insert(d);
        }
    }
    let Some(resp) = ex.response.as_ref() else {
        return;
    };
    let when = ex.timing.response_start().map_or(at, |a| a.ts);
    let base = format!(
        "{}://{}{}",
        view.scheme,
        view.host,
        if view.port == if view.scheme == "https" { 443 } else { 80 } {
            String::new()
        } else {
            format!(":{}", view.port)
        }
    );
    let body = resp.body.bytes();
    let ctype = resp.headers.get("Content-Type");
    if t.id == "inband-provisioning" {
        let text = body_str(body);
        if let Some(i) = text.find("clientExchangeConnectivity") {
            if text[i..]
                .chars()
                .take(64)
                .collect::<String>()
                .contains("Enabled")
            {
                learned.exchange_policy = Some(ex.id);
            }
        }
    }
    learn_tokens(ex, view, t, learned, when);
    let lync_response = !FOLLOW_ON.contains(&t.id.as_str()) && !idp;
    // An Autodiscover answer names the services of its own pool (token scope, §2).
    let pool_answer = matches!(t.id.as_str(), "ad-root-http" | "ad-root-https" | "ad-user")
        && matches!(t.outcome, Outcome::Ok);
    for link in links::response_links(&base, &resp.headers, ctype, body) {
        let rel = link.rel.clone();
        if idp && rel == "location" {
            // An identity provider handing over to another (Azure AD → ADFS).
            if let Some(h) = host_of(&link.url).filter(|h| *h != view.host) {
                learned.idp_hosts.entry(h).or_insert(when);
            }
        }
        learned.announce(&link, ex.id, when);
        // A host named only inside a challenge is offered, not part of the flow (§2).
        if CHALLENGE_RELS.contains(&rel.as_str()) || IDP_RELS.contains(&rel.as_str()) {
            continue;
        }
        if let Some(h) = host_of(&link.url) {
            if pool_answer && rel != "redirect" && rel != "location" {
                learned.tokens.same_pool(&view.host, &h);
            }
            if lync_response {
                learned.lync_hosts.insert(h);
            }
        }
    }
    if lync_response {
        for (_, host) in links::response_hosts(&resp.headers, body) {
            learned.lync_hosts.insert(host.to_ascii_lowercase());
        }
    }
    let _ = analysis;
}

/// Tokens this response issued: a web ticket from `/WebTicket/oauthtoken` or the SOAP
/// WebTicket service, a JWT from an identity provider (docs/stages.md "Token scope").
fn learn_tokens(
    ex: &Exchange,
    view: &RequestView<'_>,
    t: &StageTag,
    learned: &mut Learned,
    at: Ts,
) {
    if t.outcome != Outcome::Ok {
        return;
    }
    let Some(resp) = ex.response.as_ref() else {
        return;
    };
    let Some(body) = resp.body.bytes() else {
        return;
    };
    let facts = links::body_facts(resp.headers.get("Content-Type"), body);
    let fact = |k: &str| facts.iter().find(|(x, _)| x == k).map(|(_, v)| v.as_str());
    match t.id.as_str() {
        "webticket-oauth" | "modern-auth" => {
            // body_facts keeps only a prefix of the token: read it whole here.
            let text = String::from_utf8_lossy(body);
            let Some(token) = RE_ACCESS_TOKEN
                .captures(&text)
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().to_string())
            else {
                return;
            };
            let expires_in = fact("expires_in").and_then(|v| v.trim_matches('"').parse().ok());
            let (kind, resource) = if t.id == "modern-auth" {
                let req_body = ex
                    .request
                    .as_ref()
                    .and_then(|r| r.body.bytes())
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                let resource = resource_values(&req_body)
                    .chain(resource_values(&view.query))
                    .next()
                    .or_else(|| fact("resource").map(str::to_string));
                (TokenKind::Jwt, resource)
            } else {
                (TokenKind::WebTicket, None)
            };
            learned.tokens.issue(
                &token,
                kind,
                &view.host,
                &view.url,
                resource.as_deref(),
                ex.id,
                at,
                expires_in,
            );
        }
        "webticket-soap" => {
            if let Some(id) = fact("assertionid") {
                learned
                    .tokens
                    .issue_saml(id, &view.host, &view.url, ex.id, at);
            }
        }
        _ => {}
    }
}

static RE_ACCESS_TOKEN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r#"(?i)"access_token"\s*:\s*"([^"]+)""#).expect("static regex")
});

/// `lyncdiscoverinternal` failing while the external name answers is what an external client
/// does (noise); a failed lookup that a later lookup of the same name answered is a retry.
fn settle_dns_noise(analysis: &mut Analysis) {
    let answered: HashSet<String> = analysis
        .dns
        .iter()
        .filter(|l| l.addresses().next().is_some())
        .map(|l| l.qname.to_ascii_lowercase())
        .collect();
    for l in &mut analysis.dns {
        let Some(t) = l.stage.as_mut() else { continue };
        if t.outcome != Outcome::Fail {
            continue;
        }
        let q = l.qname.to_ascii_lowercase();
        if t.id == "dns-discovery" {
            if let Some(domain) = q.strip_prefix("lyncdiscoverinternal.") {
                if answered.contains(&format!("lyncdiscover.{domain}")) {
                    t.tolerate(format!(
                        "{q} does not resolve here; the client went on with lyncdiscover.{domain} (expected outside the corporate network)"
                    ));
                    continue;
                }
            }
        }
        if answered.contains(&q) {
            t.tolerate("another lookup of this name was answered");
        }
    }
}

/// The HTTP first hop failing (port 80 not published: a proxy's 502, a timeout) is tolerated
/// when an HTTPS root answered afterwards.
fn settle_http_root_noise(analysis: &mut Analysis) {
    let https_ok_from = analysis
        .exchanges
        .iter()
        .filter(|e| {
            e.stage.as_ref().is_some_and(|t| {
                t.id == "ad-root-https" && matches!(t.outcome, Outcome::Ok | Outcome::Redirect)
            })
        })
        .filter_map(|e| e.timing.first().map(|a| a.ts))
        .min();
    let Some(later) = https_ok_from else { return };
    for e in &mut analysis.exchanges {
        let at = e.timing.first().map(|a| a.ts).unwrap_or_default();
        let Some(t) = e.stage.as_mut().map(std::sync::Arc::make_mut) else {
            continue;
        };
        // A redirect to another domain is a failed attempt, tolerated or not (C-HTTP-1).
        let redirected = e
            .response
            .as_ref()
            .is_some_and(|r| (300..400).contains(&r.status));
        if t.id == "ad-root-http" && t.outcome == Outcome::Fail && at <= later && !redirected {
            t.tolerate(
                "the HTTP first hop failed (port 80 not published?); the client went on over HTTPS",
            );
        }
    }
}

/// An HTTP/2 stream reset with `HTTP_1_1_REQUIRED` is `noise` when the client repeated the same
/// method and URL over HTTP/1.1 within 5 s and got an answer (C-H2-1).
fn settle_http2_resets(analysis: &mut Analysis) {
    let resets: Vec<usize> = analysis
        .exchanges
        .iter()
        .enumerate()
        .filter(|(_, e)| reset_http_1_1_required(e))
        .filter(|(_, e)| e.stage.as_ref().is_some_and(|t| t.id != UNRELATED))
        .map(|(i, _)| i)
        .collect();
    for i in resets {
        let Some(retry) = http11_retry(analysis, i) else {
            continue;
        };
        if let Some(t) = analysis.exchanges[i]
            .stage
            .as_mut()
            .map(std::sync::Arc::make_mut)
        {
            t.tolerate(format!(
                "HTTP/2 stream reset with HTTP_1_1_REQUIRED; the client repeated it over HTTP/1.1 \
                 (#{})",
                retry.0
            ));
        }
    }
}

/// The HTTP/1.1 repeat of an HTTP/2 request (same method and URL, within 5 s, answered).
pub(crate) fn http11_retry(analysis: &Analysis, i: usize) -> Option<ExchId> {
    let e = &analysis.exchanges[i];
    let v = request_view(analysis, e)?;
    let at = e.timing.first().map_or(Ts(0), |a| a.ts);
    analysis.exchanges.iter().find_map(|r| {
        let rv = request_view(analysis, r)?;
        let t = r.timing.first().map_or(Ts(0), |a| a.ts);
        (r.id != e.id
            && r.http_version != HttpVersion::Http2
            && r.response.is_some()
            && rv.method == v.method
            && rv.url.eq_ignore_ascii_case(&v.url)
            && t >= at
            && t.secs_since(at) <= 5.0)
            .then_some(r.id)
    })
}

/// A silent identity-provider attempt (`prompt=none`, a refresh-token grant) answered
/// `interaction_required` / `login_required` / `invalid_grant` and followed by an interactive
/// authorize is `noise` (docs/stages.md stage `modern-auth`).
fn settle_silent_idp(analysis: &mut Analysis) {
    let mut silent_fails = Vec::new();
    let mut interactive: Vec<Ts> = Vec::new();
    for (i, e) in analysis.exchanges.iter().enumerate() {
        let Some(t) = e.stage.as_ref().filter(|t| t.id == "modern-auth") else {
            continue;
        };
        let Some(v) = request_view(analysis, e) else {
            continue;
        };
        let at = e.timing.first().map_or(Ts(0), |a| a.ts);
        let req_body = e
            .request
            .as_ref()
            .and_then(|r| r.body.bytes())
            .map(|b| String::from_utf8_lossy(b).to_ascii_lowercase())
            .unwrap_or_default();
        let query = v.query.to_ascii_lowercase();
        let silent = query.contains("prompt=none") || req_body.contains("grant_type=refresh_token");
        if t.outcome == Outcome::Fail && silent {
            let answer = e
                .response
                .as_ref()
                .map(|r| {
                    let body = String::from_utf8_lossy(r.body.bytes().unwrap_or_default())
                        .to_ascii_lowercase();
                    format!(
                        "{} {body}",
                        r.headers.get("Location").unwrap_or("").to_ascii_lowercase()
                    )
                })
                .unwrap_or_default();
            if ["interaction_required", "login_required", "invalid_grant"]
                .iter()
                .any(|k| answer.contains(k))
            {
                silent_fails.push((i, at));
            }
        } else if !silent && v.path.ends_with("/authorize") {
            interactive.push(at);
        }
    }
    for (i, at) in silent_fails {
        if !interactive.iter().any(|&t| t >= at) {
            continue;
        }
        if let Some(t) = analysis.exchanges[i]
            .stage
            .as_mut()
            .map(std::sync::Arc::make_mut)
        {
            t.tolerate(
                "a silent token attempt that needs the user; the client went on to an \
                 interactive sign-in",
            );
        }
    }
}

/// Does a certificate name (`*.d` = exactly one label) cover `host`?
pub(crate) fn cert_covers(name: &str, host: &str) -> bool {
    let name = name.trim().trim_start_matches("DNS:").to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    match name.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(first, rest)| !first.is_empty() && rest == suffix),
        None => name == host,
    }
}

/// The names a connection was for: SNI, else the names that resolved to its address.
fn connection_names(analysis: &Analysis, c: ConnId, learned: &Learned) -> Vec<String> {
    let conn = &analysis.connections[c.0 as usize];
    if let Some(sni) = conn.tls.as_ref().and_then(|t| t.sni.clone()) {
        return vec![sni.to_ascii_lowercase()];
    }
    let mut names: Vec<String> = learned
        .resolved
        .get(&conn.server.ip())
        .map(|l| {
            l.iter()
                .filter(|(t, _, _)| *t <= conn.first_seen)
                .map(|(_, _, n)| n.clone())
                .collect()
        })
        .unwrap_or_default();
    names.dedup();
    names
}

fn classify_connections(analysis: &mut Analysis, rules: &RuleSet, learned: &Learned) {
    let ids: Vec<ConnId> = analysis
        .connections
        .iter()
        .filter(|c| c.exchanges.is_empty())
        .map(|c| c.id)
        .collect();
    for id in ids {
        let names = connection_names(analysis, id, learned);
        let conn = &analysis.connections[id.0 as usize];
        let by_addr = learned.lync_addrs.get(&conn.server.ip()).cloned();
        let mut found = None;
        for rule in rules
            .rules
            .iter()
            .filter(|r| r.kind == RuleKind::Connection)
        {
            if rule.after_lync && !learned.lync_seen {
                continue;
            }
            if rule.port.is_some_and(|p| p != conn.server.port()) {
                continue;
            }
            let name = names.iter().find(|n| {
                rule.host.as_ref().is_none_or(|r| r.is_match(n))
                    && rule
                        .host_in
                        .is_none_or(|set| in_set(learned, set, n, Ts(i64::MAX)))
            });
            let name = match (name, &by_addr) {
                (Some(n), _) => n.clone(),
                (None, Some(n))
                    if rule.host_in == Some(HostSet::LyncHosts) && rule.host.is_none() =>
                {
                    n.clone()
                }
                _ => continue,
            };
            found = Some((rule, name));
            break;
        }
        let Some((rule, name)) = found else { continue };
        let (outcome, note) = connection_outcome(conn, &name);
        let mut t = tag(rule, outcome, Some(note));
        t.dns = resolved_by(learned, conn.server.ip(), &name, conn.first_seen);
        if rules.is_carrier(&rule.stage) {
            let (carries, parent) = carried_stage(learned, &name, conn.server.port());
            t.carries = carries.map(str::to_string);
            if let Some(p) = parent.filter(|_| t.parent.is_none()) {
                t.parent = Some(p);
                t.via = Some("host of an announced URL".into());
            }
        }
        t.subkind = Some(name);
        analysis.connections[id.0 as usize].stage = Some(t);
    }
    settle_connection_noise(analysis);
    settle_online_vanity_name(analysis, learned);
}

/// What a lookup or connection for `host` was carrying: the Autodiscover root for a discovery
/// name, else the stage of the link that announced the host (and that link's exchange).
pub(crate) fn carried_stage(
    learned: &Learned,
    host: &str,
    port: u16,
) -> (Option<&'static str>, Option<ExchId>) {
    if host.starts_with("lyncdiscover") {
        let root = if port == 80 {
            "ad-root-http"
        } else {
            "ad-root-https"
        };
        return (Some(root), None);
    }
    let stage = learned
        .announced_rel
        .get(host)
        .and_then(|rel| stage_of_rel(rel));
    let parent = learned.announced_hosts.get(host).map(|&(_, e)| e);
    (stage, parent)
}

/// The HTTPS attempt on a `lyncdiscover` name CNAMEd to SfB Online meets Microsoft's
/// `*.online.lync.com` certificate: inherent to the Online CNAME, so `noise` when discovery
/// went on (C-ONLINE-1, docs/checks.md).
fn settle_online_vanity_name(analysis: &mut Analysis, learned: &Learned) {
    for i in 0..analysis.connections.len() {
        let c = &analysis.connections[i];
        let Some(t) = c.stage.as_ref().filter(|t| t.outcome == Outcome::Fail) else {
            continue;
        };
        let Some(name) = t.subkind.clone().filter(|n| n.starts_with("lyncdiscover")) else {
            continue;
        };
        if !online_vanity(analysis, learned, c, &name) {
            continue;
        }
        if !discovery_went_on(analysis, &name, c.first_seen) {
            continue;
        }
        if let Some(t) = analysis.connections[i].stage.as_mut() {
            t.tolerate(format!(
                "{name} is a CNAME to SfB Online, whose certificate (*.online.lync.com) cannot \
                 cover it; the client went on (HTTP, or Online directly)"
            ));
        }
    }
}

/// A discovery name that points into SfB Online: its CNAME chain reaches `*.online.lync.com`,
/// or its TLS certificate is Microsoft's `*.lync.com` one and does not cover it.
pub(crate) fn online_vanity(
    analysis: &Analysis,
    learned: &Learned,
    conn: &crate::model::Connection,
    name: &str,
) -> bool {
    let _ = learned;
    let cname_online = analysis.dns.iter().any(|l| {
        l.qname.trim_end_matches('.').eq_ignore_ascii_case(name)
            && l.cnames().any(|c| is_online_host(c.trim_end_matches('.')))
    });
    let cert_online = conn
        .tls
        .as_ref()
        .and_then(|t| t.certificate.as_ref())
        .is_some_and(|cert| {
            let names: Vec<&str> = if cert.sans.is_empty() {
                cert.subject
                    .split([',', '/'])
                    .filter_map(|p| p.trim().strip_prefix("CN="))
                    .collect()
            } else {
                cert.sans.iter().map(String::as_str).collect()
            };
            !names.iter().any(|n| cert_covers(n, name))
                && names.iter().any(|n| {
                    let n = n.trim_start_matches("*.").to_ascii_lowercase();
                    n == "lync.com" || n.ends_with(".lync.com")
                })
        });
    cname_online || cert_online
}

/// After `at`, the HTTP root of `name` was answered, or a request went to an Online director:
/// discovery went on after the HTTPS attempt on the vanity name.
pub(crate) fn discovery_went_on(analysis: &Analysis, name: &str, at: Ts) -> bool {
    analysis.exchanges.iter().any(|e| {
        let Some(v) = request_view(analysis, e) else {
            return false;
        };
        let answered = e.response.is_some();
        let when = e.timing.first().map_or(Ts(0), |a| a.ts);
        let http_root = v.scheme == "http"
            && v.host == name
            && e.stage
                .as_ref()
                .is_some_and(|t| t.id == "ad-root-http" && t.outcome != Outcome::Fail);
        (http_root && answered)
            || (when >= at && super::hosts::is_online_director(&v.host) && answered)
    })
}

fn connection_outcome(conn: &crate::model::Connection, name: &str) -> (Outcome, String) {
    use crate::model::AbortBy;
    if !conn.syn_ack {
        let what = if conn.end[1] == crate::model::StreamEnd::Rst {
            "refused (RST)".to_string()
        } else {
            format!(
                "not answered ({} SYN{})",
                conn.packets,
                if conn.packets == 1 { "" } else { "s" }
            )
        };
        return (Outcome::Fail, format!("TCP to {} {what}", conn.server));
    }
    if let Some(tls) = &conn.tls {
        let host = tls.sni.as_deref().unwrap_or(name);
        let uncovered = tls.certificate.as_ref().filter(|cert| {
            !(cert.sans.iter().any(|s| cert_covers(s, host))
                || (cert.sans.is_empty()
                    && cert
                        .subject
                        .split(',')
                        .filter_map(|p| p.trim().strip_prefix("CN="))
                        .any(|cn| cert_covers(cn, host))))
        });
        let mismatch = uncovered
            .map(|cert| {
                format!(
                    "; the certificate does not cover {host} (names: {})",
                    cert.sans.join(", ")
                )
            })
            .unwrap_or_default();
        // An aborted handshake is a failure, never unknown (docs/stages.md outcomes).
        if let Some(abort) = &tls.client_abort {
            let how = match abort.by {
                AbortBy::Alert(d) => {
                    format!("sent the fatal alert {} ({d})", crate::model::alert_name(d))
                }
                AbortBy::Fin => "closed the connection".into(),
                AbortBy::Rst => "reset the connection".into(),
                AbortBy::EncryptedAlert => "sent an encrypted alert (not readable)".into(),
            };
            return (
                Outcome::Fail,
                format!(
                    "the client {how} right after {}{mismatch}; no request followed",
                    abort.after_what()
                ),
            );
        }
        if uncovered.is_some() {
            return (
                Outcome::Fail,
                format!(
                    "the certificate does not cover {host} (names: {}); the client closed the \
                     connection without a request",
                    uncovered.map(|c| c.sans.join(", ")).unwrap_or_default()
                ),
            );
        }
        if let Some(alert) = tls.fatal_alert() {
            let who = if alert.from == crate::model::Dir::ClientToServer {
                "client"
            } else {
                "server"
            };
            return (
                Outcome::Fail,
                format!(
                    "TLS aborted: the {who} sent the fatal alert {} ({})",
                    alert.name(),
                    alert.description
                ),
            );
        }
        if tls.client_hello && !tls.server_hello {
            return (
                Outcome::Fail,
                "the server never answered the ClientHello".into(),
            );
        }
        if tls.version.is_none() {
            return (Outcome::Fail, "TLS handshake did not complete".into());
        }
        return (
            Outcome::Unknown,
            "TLS connection without an HTTP request".into(),
        );
    }
    (
        Outcome::Unknown,
        "TCP connection without an HTTP request".into(),
    )
}

/// Port 80 not answering is tolerated when the client went on over HTTPS to the same host;
/// an Exchange candidate failing is tolerated when a later one worked.
fn settle_connection_noise(analysis: &mut Analysis) {
    let https_ok: HashSet<IpAddr> = analysis
        .connections
        .iter()
        .filter(|c| c.server.port() == 443 && c.syn_ack)
        .map(|c| c.server.ip())
        .collect();
    let exchange_ok = analysis.exchanges.iter().any(|e| {
        e.stage
            .as_ref()
            .is_some_and(|t| t.id == "exchange-autodiscover" && t.outcome == Outcome::Ok)
    });
    for c in &mut analysis.connections {
        let ip = c.server.ip();
        let port = c.server.port();
        let Some(t) = c.stage.as_mut() else { continue };
        if t.outcome != Outcome::Fail {
            continue;
        }
        if t.id == "tcp-tls" && port == 80 && https_ok.contains(&ip) {
            t.tolerate(format!(
                "HTTP/80 on {ip} not published ({}); the client went on over HTTPS",
                t.note.as_deref().unwrap_or("no answer")
            ));
        } else if t.id == "exchange-autodiscover" && exchange_ok {
            t.outcome = Outcome::Noise;
        }
    }
}
