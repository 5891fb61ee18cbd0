//! Two sign-ins side by side, aligned by discovery stage (never by time or exchange number):
//! what each side did in each stage, the first stage where they part and the differences
//! that matter there. Computed from two frozen analyses; `report/` and the CLI print it.
//!
//! Each side's flow is cut into stage *visits*: consecutive steps (DNS lookups, exchanges,
//! connections without HTTP, in time order) with the same stage id (docs/stages.md). The
//! n-th visit of a stage on one side is paired with the n-th visit of that stage on the other
//! (a redirect to the home pool makes `ad-user-challenge` come twice: first with first,
//! second with second). Pairs are listed in the order of side A's flow, a visit only B made
//! right after the pair that came before it in B's flow.
//!
//! A trace archive (SAZ, HAR) holds no DNS lookups, no connections without HTTP, no TLS
//! handshake, and its addresses are the proxy's view (docs/archives.md): when either side is
//! one, only the HTTP steps are compared, proxy tunnels (`CONNECT`) left out, and addresses,
//! DNS answers and certificates are not.

use super::stage_rows::{stage_rows, RowKey, StageRow};
use crate::model::{Analysis, AuthLeg, NtlmMessage, Outcome, StepRef, Ts};
use std::collections::{BTreeSet, HashMap};

/// One side of the comparison, in a few facts.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    /// The input file names.
    pub inputs: Vec<String>,
    /// Only packet captures (pcap / pcapng): DNS, addresses and TLS are the client's view.
    pub network: bool,
    /// The verdict line of each client's sign-in.
    pub verdicts: Vec<String>,
    pub furthest_stage: Option<String>,
    pub failed_stage: Option<String>,
    pub signed_in: bool,
}

/// What one side did in one visit of a stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    /// The steps (`#5`, `D1`, `C0`), in time order.
    pub steps: Vec<String>,
    /// Distinct requests as method and path shape (`GET /ucwa/…/applications/{n}/events?ack=…`),
    /// with a count when repeated; DNS lookups as `DNS A name`, connections as `TCP`.
    pub requests: Vec<String>,
    /// Statuses in order (HTTP status, DNS rcode, `—` for no answer).
    pub statuses: Vec<String>,
    /// Distinct hosts: request host, lookup name, connection SNI.
    pub hosts: Vec<String>,
    /// Distinct server addresses (packet captures only).
    pub addresses: Vec<String>,
    /// `name → answers` of each DNS lookup (packet captures only).
    pub dns: Vec<String>,
    /// Distinct authentication the requests presented (`NTLM type 3`, `Bearer (web ticket)`).
    pub auth: Vec<String>,
    /// Distinct schemes the responses challenged with (`MsRtcOAuth`, `NTLM`).
    pub challenges: Vec<String>,
    /// Distinct server certificates (`subject · issuer`), when the handshake showed them.
    pub certificates: Vec<String>,
    /// Distinct check ids of findings whose evidence includes one of the steps.
    pub findings: Vec<String>,
    /// Outcome of the last step.
    pub outcome: Outcome,
    /// Seconds from the side's first compared step to the visit's first step.
    pub at: f64,
    /// Seconds from the visit's first step starting to its last step ending.
    pub duration: f64,
}

/// A difference between the two sides' visits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// `only-a`, `only-b`, `status`, `host`, `address`, `dns`, `auth`, `challenge`,
    /// `certificate`, `finding`, `request`, `outcome`.
    pub kind: &'static str,
    /// A difference that matters (marks where the sign-ins part); a tolerated failure on one
    /// side only does not.
    pub matters: bool,
    /// In words: "status: 200 (A) vs 404 (B)".
    pub text: String,
}

/// One stage visit, paired.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub stage: String,
    /// The stage's label from the rules.
    pub label: String,
    /// 1 for the first visit of the stage, 2 for the second …
    pub occurrence: usize,
    pub a: Option<Visit>,
    pub b: Option<Visit>,
    pub differences: Vec<Difference>,
}

impl Pair {
    /// Both sides made this visit and nothing told them apart: B's column says "the same".
    pub fn same(&self) -> bool {
        self.a.is_some() && self.b.is_some() && self.differences.is_empty()
    }

    /// "ad-user" for the first visit, "ad-user (2nd visit)" for a later one.
    pub fn name(&self) -> String {
        if self.occurrence == 1 {
            self.stage.clone()
        } else {
            format!("{} ({} visit)", self.stage, ordinal(self.occurrence))
        }
    }
    pub fn matters(&self) -> bool {
        self.differences.iter().any(|d| d.matters)
    }
}

/// The comparison of two sign-ins.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub a: Side,
    pub b: Side,
    /// Both sides are packet captures: DNS, connections, addresses and certificates compared.
    pub network: bool,
    pub pairs: Vec<Pair>,
    /// Index in `pairs` of the first stage where the sign-ins part.
    pub parting: Option<usize>,
    /// Check ids (with severity) of findings only one side has, outside the compared steps
    /// included.
    pub findings_only_a: Vec<String>,
    pub findings_only_b: Vec<String>,
}

impl Comparison {
    /// The pair where the sign-ins part.
    pub fn parting_pair(&self) -> Option<&Pair> {
        self.parting.and_then(|i| self.pairs.get(i))
    }
    /// How many differences there are, those that matter and the rest.
    pub fn difference_count(&self) -> usize {
        self.pairs
            .iter()
            .map(|p| p.differences.len())
            .sum::<usize>()
            + self.findings_only_a.len()
            + self.findings_only_b.len()
    }
    /// One line: "they part at ad-user: status: 200 (A) vs 404 (B); …", or that they do not.
    pub fn headline(&self) -> String {
        match self.parting_pair() {
            Some(p) => {
                let why: Vec<&str> = p
                    .differences
                    .iter()
                    .filter(|d| d.matters)
                    .map(|d| d.text.as_str())
                    .collect();
                format!("they part at {}: {}", p.name(), why.join("; "))
            }
            None if self.difference_count() == 0 => {
                "no difference: the same steps in every stage".into()
            }
            None => format!(
                "no stage where they part ({} minor difference{})",
                self.difference_count(),
                if self.difference_count() == 1 {
                    ""
                } else {
                    "s"
                }
            ),
        }
    }
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, x) if x != 11 => "st",
        (2, x) if x != 12 => "nd",
        (3, x) if x != 13 => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// Compares sign-in `a` with sign-in `b` (see the module documentation).
pub fn compare(a: &Analysis, b: &Analysis) -> Comparison {
    let network = is_network(a) && is_network(b);
    let visits_a = visits(a, network);
    let visits_b = visits(b, network);
    let labels: HashMap<&str, &str> = a
        .stages
        .iter()
        .chain(&b.stages)
        .map(|s| (s.id.as_str(), s.label.as_str()))
        .collect();

    // Key every visit by (stage, occurrence).
    let keyed = |vs: &[(String, Visit)]| -> Vec<(String, usize)> {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        vs.iter()
            .map(|(s, _)| {
                let n = seen.entry(s.as_str()).or_default();
                *n += 1;
                (s.clone(), *n)
            })
            .collect()
    };
    let keys_a = keyed(&visits_a);
    let keys_b = keyed(&visits_b);
    let pos_a: HashMap<&(String, usize), usize> =
        keys_a.iter().enumerate().map(|(i, k)| (k, i)).collect();
    // Order: A's position; a visit only B made goes after the pair before it in B's flow.
    // (sort key, visit of A, visit of B)
    type Slot = ((usize, usize), Option<usize>, Option<usize>);
    let mut order: Vec<Slot> = Vec::new();
    let mut anchor = 0usize;
    let mut paired_b: HashMap<usize, usize> = HashMap::new();
    for (j, k) in keys_b.iter().enumerate() {
        match pos_a.get(k) {
            Some(&i) => {
                paired_b.insert(i, j);
                anchor = i + 1;
            }
            None => order.push(((anchor, j + 1), None, Some(j))),
        }
    }
    for i in 0..keys_a.len() {
        order.push(((i + 1, 0), Some(i), paired_b.get(&i).copied()));
    }
    order.sort_by_key(|(k, _, _)| *k);

    let all_a: BTreeSet<&str> = a.findings.iter().map(|f| f.check.as_str()).collect();
    let all_b: BTreeSet<&str> = b.findings.iter().map(|f| f.check.as_str()).collect();
    let mut pairs: Vec<Pair> = order
        .into_iter()
        .map(|(_, i, j)| {
            let (stage, occurrence) = match (i, j) {
                (Some(i), _) => keys_a[i].clone(),
                (None, Some(j)) => keys_b[j].clone(),
                (None, None) => (String::new(), 0),
            };
            let va = i.map(|i| visits_a[i].1.clone());
            let vb = j.map(|j| visits_b[j].1.clone());
            let differences = differences(va.as_ref(), vb.as_ref(), network, [&all_a, &all_b]);
            Pair {
                label: labels.get(stage.as_str()).unwrap_or(&"").to_string(),
                stage,
                occurrence,
                a: va,
                b: vb,
                differences,
            }
        })
        .collect();
    pairs.retain(|p| !p.stage.is_empty());
    let parting = pairs.iter().position(Pair::matters);

    let checks = |x: &Analysis, other_network: bool| -> BTreeSet<String> {
        x.findings
            .iter()
            .filter(|f| {
                // A finding about DNS or connections only, or about the input as a whole,
                // cannot be matched against a trace archive's view.
                other_network && is_network(x) || !f.exchanges.is_empty()
            })
            .map(finding_words)
            .collect()
    };
    let fa = checks(a, network);
    let fb = checks(b, network);
    Comparison {
        a: side(a),
        b: side(b),
        network,
        pairs,
        parting,
        findings_only_a: fa.difference(&fb).cloned().collect(),
        findings_only_b: fb.difference(&fa).cloned().collect(),
    }
}

/// Every input is a packet capture.
fn is_network(a: &Analysis) -> bool {
    !a.inputs.is_empty() && a.inputs.iter().all(|i| i.format.starts_with("pcap"))
}

fn side(a: &Analysis) -> Side {
    Side {
        inputs: a
            .inputs
            .iter()
            .map(|i| {
                i.path
                    .rsplit(['/', '\\'])
                    .next()
                    .unwrap_or(&i.path)
                    .to_string()
            })
            .collect(),
        network: is_network(a),
        verdicts: a.signin.iter().map(|s| s.verdict.clone()).collect(),
        furthest_stage: a.signin.iter().find_map(|s| s.furthest_stage.clone()),
        failed_stage: a.signin.iter().find_map(|s| s.failed_stage.clone()),
        signed_in: a.signin.iter().any(|s| s.signed_in),
    }
}

/// The side's stage visits in flow order, with their stage ids.
fn visits(a: &Analysis, network: bool) -> Vec<(String, Visit)> {
    let rows: Vec<StageRow> = stage_rows(a)
        .into_iter()
        .filter(|r| {
            network
                || matches!(r.key, RowKey::Exchange(_))
                    && r.tag.subkind.as_deref() != Some("tunnel")
                    && !r.method.eq_ignore_ascii_case("CONNECT")
        })
        .collect();
    let findings = findings_by_step(a);
    let t0 = rows.first().map(|r| r.at).unwrap_or_default();
    let mut out: Vec<(String, Visit)> = Vec::new();
    let mut start = 0;
    while start < rows.len() {
        let stage = &rows[start].tag.id;
        let end = rows[start..]
            .iter()
            .position(|r| &r.tag.id != stage)
            .map_or(rows.len(), |n| start + n);
        out.push((
            stage.clone(),
            visit(a, &rows[start..end], t0, network, &findings),
        ));
        start = end;
    }
    out
}

/// Each finding at its last evidence step (the step it concludes on: C-AD-3 cites the NTLM
/// leg and the 404, and belongs to the 404's stage).
fn findings_by_step(a: &Analysis) -> HashMap<StepRef, Vec<String>> {
    let at = |s: &StepRef| -> Ts {
        match s {
            StepRef::Exchange(x) => a
                .exchanges
                .get(x.0 as usize)
                .and_then(|x| x.timing.first())
                .map_or(Ts(0), |t| t.ts),
            StepRef::Dns(d) => a
                .dns
                .get(d.0 as usize)
                .and_then(|l| l.first())
                .map_or(Ts(0), |t| t.ts),
            StepRef::Connection(c) => a
                .connections
                .get(c.0 as usize)
                .map_or(Ts(0), |c| c.first_seen),
        }
    };
    let mut map: HashMap<StepRef, Vec<String>> = HashMap::new();
    for f in &a.findings {
        let last = f
            .exchanges
            .iter()
            .map(|x| StepRef::Exchange(*x))
            .chain(f.dns.iter().map(|d| StepRef::Dns(*d)))
            .chain(f.connections.iter().map(|c| StepRef::Connection(*c)))
            .max_by_key(|s| (at(s), *s));
        if let Some(s) = last {
            map.entry(s).or_default().push(finding_words(f));
        }
    }
    map
}

/// "C-AD-3 (fail)", "C-AUTH-1 (info)".
fn finding_words(f: &crate::model::Finding) -> String {
    format!("{} ({})", f.check, f.severity.as_str())
}

/// The check id of [`finding_words`].
fn check_of(words: &str) -> &str {
    words.split(' ').next().unwrap_or(words)
}

/// Pushes `v` unless it is there already.
fn add(list: &mut Vec<String>, v: String) {
    if !list.contains(&v) {
        list.push(v);
    }
}

fn visit(
    a: &Analysis,
    rows: &[StageRow],
    t0: Ts,
    network: bool,
    findings: &HashMap<StepRef, Vec<String>>,
) -> Visit {
    let mut v = Visit {
        steps: Vec::new(),
        requests: Vec::new(),
        statuses: Vec::new(),
        hosts: Vec::new(),
        addresses: Vec::new(),
        dns: Vec::new(),
        auth: Vec::new(),
        challenges: Vec::new(),
        certificates: Vec::new(),
        findings: Vec::new(),
        outcome: rows.last().map_or(Outcome::Unknown, |r| r.tag.outcome),
        at: rows.first().map_or(0.0, |r| r.at.secs_since(t0)),
        duration: 0.0,
    };
    let mut requests: Vec<(String, usize)> = Vec::new();
    let mut end = rows.first().map_or(Ts(0), |r| r.at);
    let connection = |id: crate::model::ConnId, v: &mut Visit| {
        let Some(c) = a.connections.get(id.0 as usize) else {
            return;
        };
        if network {
            add(&mut v.addresses, c.server.ip().to_string());
            if let Some(cert) = c.tls.as_ref().and_then(|t| t.certificate.as_ref()) {
                add(
                    &mut v.certificates,
                    format!("{} · issuer {}", cert.subject, cert.issuer),
                );
            }
        }
    };
    for r in rows {
        v.steps.push(r.key.label());
        let step = match r.key {
            RowKey::Exchange(id) => StepRef::Exchange(id),
            RowKey::Dns(id) => StepRef::Dns(id),
            RowKey::Connection(id) => StepRef::Connection(id),
        };
        for f in findings.get(&step).into_iter().flatten() {
            add(&mut v.findings, f.clone());
        }
        let request = match r.key {
            RowKey::Exchange(id) => {
                let Some(x) = a.exchanges.get(id.0 as usize) else {
                    continue;
                };
                if let Some(s) = super::timeline::exchange_span(x) {
                    end = end.max(s.end);
                }
                v.statuses.push(r.status.clone());
                connection(x.connection, &mut v);
                if let Some(auth) = &x.auth {
                    if let Some(leg) = &auth.request {
                        add(&mut v.auth, auth_words(leg));
                    }
                    for c in &auth.challenges {
                        add(&mut v.challenges, c.scheme.clone());
                    }
                }
                match a.request_url(x) {
                    Some(u) => {
                        add(&mut v.hosts, u.host.clone());
                        format!("{} {}", u.method, path_shape(u.path_query))
                    }
                    None => "(response only)".to_string(),
                }
            }
            RowKey::Dns(id) => {
                let Some(l) = a.dns.get(id.0 as usize) else {
                    continue;
                };
                if let Some(s) = super::timeline::dns_span(l) {
                    end = end.max(s.end);
                }
                v.statuses.push(r.status.clone());
                add(&mut v.hosts, l.qname.to_ascii_lowercase());
                // The row reads "name → answers".
                add(&mut v.dns, r.what.clone());
                r.method.clone()
            }
            RowKey::Connection(id) => {
                let Some(c) = a.connections.get(id.0 as usize) else {
                    continue;
                };
                end = end.max(c.last_seen);
                v.statuses.push(connection_outcome(r));
                if let Some(sni) = c.tls.as_ref().and_then(|t| t.sni.as_deref()) {
                    add(&mut v.hosts, sni.to_ascii_lowercase());
                }
                connection(id, &mut v);
                format!("TCP :{}", c.server.port())
            }
        };
        match requests.iter_mut().find(|(s, _)| *s == request) {
            Some((_, n)) => *n += 1,
            None => requests.push((request, 1)),
        }
    }
    v.requests = requests
        .into_iter()
        .map(|(s, n)| if n > 1 { format!("{s} ×{n}") } else { s })
        .collect();
    v.duration = rows.first().map_or(0.0, |r| end.secs_since(r.at).max(0.0));
    v
}

/// A connection without HTTP has no status: its outcome stands in ("noise", "fail").
fn connection_outcome(r: &StageRow) -> String {
    r.tag.outcome.as_str().to_string()
}

/// What a request presented, in a few words (never a token).
fn auth_words(leg: &AuthLeg) -> String {
    let ntlm = |m: &NtlmMessage| format!("NTLM type {}", m.message_type());
    match leg {
        AuthLeg::Ntlm(m) => ntlm(m),
        AuthLeg::Negotiate {
            ntlm: Some(m),
            kerberos: _,
        } => format!("Negotiate ({})", ntlm(m)),
        AuthLeg::Negotiate { kerberos: true, .. } => "Negotiate (Kerberos)".into(),
        AuthLeg::Negotiate { .. } => "Negotiate".into(),
        AuthLeg::Bearer(t) if t.cwt => "Bearer (web ticket)".into(),
        AuthLeg::Bearer(_) => "Bearer".into(),
        AuthLeg::WebTicket { .. } => "X-MS-WebTicket".into(),
        AuthLeg::Basic { .. } => "Basic".into(),
        AuthLeg::Other { scheme } => scheme.clone(),
    }
}

/// The path as a shape: ids (digits, GUIDs, long hex) and user names become placeholders,
/// query values `…`, so two runs of the same client give the same shape.
pub fn path_shape(path_query: &str) -> String {
    let (path, query) = match path_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_query, None),
    };
    let segments: Vec<String> = path
        .split('/')
        .map(|s| {
            let hex = s.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
            if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
                "{n}".to_string()
            } else if hex && s.len() >= 16 {
                "{id}".to_string()
            } else if s.contains('@') || s.to_ascii_lowercase().starts_with("sip:") {
                "{user}".to_string()
            } else {
                s.to_string()
            }
        })
        .collect();
    let mut out = segments.join("/");
    if let Some(q) = query {
        let keys: Vec<String> = q
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, _)) => format!("{k}=…"),
                None => p.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&keys.join("&"));
    }
    out
}

/// Sorted, distinct.
fn set(list: &[String]) -> BTreeSet<&str> {
    list.iter().map(String::as_str).collect()
}

/// What differs between two visits of a stage. `checks` are the check ids each side has
/// anywhere: a finding is a difference where it is seen only when the other side has no such
/// finding at all (a check that cites several stages may conclude in another one there).
fn differences(
    a: Option<&Visit>,
    b: Option<&Visit>,
    network: bool,
    checks: [&BTreeSet<&str>; 2],
) -> Vec<Difference> {
    let (a, b) = match (a, b) {
        (Some(a), Some(b)) => (a, b),
        (Some(v), None) | (None, Some(v)) => {
            let (kind, who) = if b.is_none() {
                ("only-a", "A")
            } else {
                ("only-b", "B")
            };
            // A step the client tolerated (outcome noise) on one side only does not part them.
            let tolerated = v.outcome == Outcome::Noise;
            return vec![Difference {
                kind,
                matters: !tolerated,
                text: format!(
                    "only {who} went through this stage ({}, {}){}",
                    v.requests.join(", "),
                    v.statuses.join(", "),
                    if tolerated { ", tolerated" } else { "" }
                ),
            }];
        }
        (None, None) => return Vec::new(),
    };
    let mut out = Vec::new();
    let mut differ = |kind: &'static str, x: &[String], y: &[String], what: &str| {
        if set(x) != set(y) {
            let words = |l: &[String]| {
                if l.is_empty() {
                    "none".to_string()
                } else {
                    l.join(", ")
                }
            };
            out.push(Difference {
                kind,
                matters: true,
                text: format!("{what}: {} (A) vs {} (B)", words(x), words(y)),
            });
        }
    };
    differ("status", &a.statuses, &b.statuses, "status");
    differ("host", &a.hosts, &b.hosts, "host");
    if network {
        differ("address", &a.addresses, &b.addresses, "address");
        differ("dns", &a.dns, &b.dns, "DNS answer");
        if !a.certificates.is_empty() && !b.certificates.is_empty() {
            differ(
                "certificate",
                &a.certificates,
                &b.certificates,
                "certificate",
            );
        }
    }
    differ("request", &a.requests, &b.requests, "requests");
    differ("auth", &a.auth, &b.auth, "authentication");
    differ("challenge", &a.challenges, &b.challenges, "challenge");
    for (who, v, other) in [("A", a, checks[1]), ("B", b, checks[0])] {
        let only: Vec<&str> = v
            .findings
            .iter()
            .filter(|f| !other.contains(check_of(f)))
            .map(String::as_str)
            .collect();
        if !only.is_empty() {
            out.push(Difference {
                kind: "finding",
                matters: true,
                text: format!("finding on {who} only: {}", only.join(", ")),
            });
        }
    }
    if a.outcome != b.outcome {
        out.push(Difference {
            kind: "outcome",
            matters: true,
            text: format!(
                "outcome: {} (A) vs {} (B)",
                a.outcome.as_str(),
                b.outcome.as_str()
            ),
        });
    }
    // The counts of "POST … ×3" are not a difference of requests by themselves: a client may
    // retry. Compare the requests without their counts.
    if let Some(i) = out.iter().position(|d| d.kind == "request") {
        let strip = |l: &[String]| -> BTreeSet<String> {
            l.iter()
                .map(|s| {
                    s.rsplit_once(" ×")
                        .map_or(s.as_str(), |(h, _)| h)
                        .to_string()
                })
                .collect()
        };
        if strip(&a.requests) == strip(&b.requests) {
            out.remove(i);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_hide_ids_and_values() {
        assert_eq!(
            path_shape("/ucwa/oauth/v1/applications/203157890123/events?ack=2"),
            "/ucwa/oauth/v1/applications/{n}/events?ack=…"
        );
        assert_eq!(
            path_shape("/ucwa/oauth/v1/applications/1/people/bob@contoso.com/presence"),
            "/ucwa/oauth/v1/applications/{n}/people/{user}/presence"
        );
        assert_eq!(path_shape("/"), "/");
    }

    #[test]
    fn a_visit_on_one_side_only_parts_unless_tolerated() {
        let v = |outcome| Visit {
            steps: vec!["#1".into()],
            requests: vec!["GET /".into()],
            statuses: vec!["502".into()],
            hosts: vec![],
            addresses: vec![],
            dns: vec![],
            auth: vec![],
            challenges: vec![],
            certificates: vec![],
            findings: vec![],
            outcome,
            at: 0.0,
            duration: 0.0,
        };
        let none = BTreeSet::new();
        let d = differences(Some(&v(Outcome::Noise)), None, true, [&none, &none]);
        assert!(!d[0].matters);
        let d = differences(None, Some(&v(Outcome::Fail)), true, [&none, &none]);
        assert!(d[0].matters && d[0].kind == "only-b");
        let same = differences(
            Some(&v(Outcome::Ok)),
            Some(&v(Outcome::Ok)),
            true,
            [&none, &none],
        );
        assert!(same.is_empty());
    }

    /// A HAR-like side (HTTP only): `(stage, host, status, outcome)` per exchange, one second
    /// apart.
    fn side(steps: &[(&str, &str, u16, Outcome)]) -> Analysis {
        use crate::testkit::{arrival, input, AnalysisBuilder, ExchangeBuilder};
        let mut b = AnalysisBuilder::new().input(input("x.har", "har", &[]));
        for (i, (stage, host, status, outcome)) in steps.iter().enumerate() {
            let t = (i as i64 + 1) * 1_000_000_000;
            b = b.exchange(
                ExchangeBuilder::new(i as u32)
                    .request("POST", "/WebTicket/oauthtoken")
                    .host(host)
                    .status(*status)
                    .request_times(arrival(i as u64 * 2, t), arrival(i as u64 * 2, t))
                    .response_times(
                        arrival(i as u64 * 2 + 1, t + 1000),
                        arrival(i as u64 * 2 + 1, t + 1000),
                    )
                    .stage(stage, *outcome, "test"),
            );
        }
        b.build()
    }

    #[test]
    fn visits_of_a_stage_pair_by_occurrence() {
        use Outcome::{Fail, Ok, Redirect};
        // A: a redirect to the home pool, so web ticket and user request come twice, first on
        // pool1 then on pool2 (as in sample B). B: the same, but its second web ticket fails.
        let a = side(&[
            ("webticket-oauth", "pool1", 200, Ok),
            ("ad-user", "pool1", 200, Redirect),
            ("webticket-oauth", "pool2", 200, Ok),
            ("ad-user", "pool2", 200, Ok),
        ]);
        let b = side(&[
            ("webticket-oauth", "pool1", 200, Ok),
            ("ad-user", "pool1", 200, Redirect),
            ("webticket-oauth", "pool2", 500, Fail),
        ]);
        let c = compare(&a, &b);
        let names: Vec<String> = c.pairs.iter().map(Pair::name).collect();
        assert_eq!(
            names,
            [
                "webticket-oauth",
                "ad-user",
                "webticket-oauth (2nd visit)",
                "ad-user (2nd visit)"
            ]
        );
        // First with first (both pool1), second with second (both pool2).
        for p in &c.pairs[..3] {
            let host = |v: &Option<Visit>| v.as_ref().map(|v| v.hosts.clone());
            assert_eq!(host(&p.a), host(&p.b), "{}", p.name());
        }
        assert!(c.pairs[0].differences.is_empty() && c.pairs[1].differences.is_empty());
        assert_eq!(c.parting, Some(2));
        assert!(c.pairs[2]
            .differences
            .iter()
            .any(|d| d.kind == "status" && d.text == "status: 200 (A) vs 500 (B)"));
        assert!(c.pairs[3].b.is_none() && c.pairs[3].differences[0].kind == "only-a");
    }

    #[test]
    fn ordinals() {
        assert_eq!(ordinal(1), "1st");
        assert_eq!(ordinal(2), "2nd");
        assert_eq!(ordinal(12), "12th");
        assert_eq!(ordinal(23), "23rd");
    }
}
