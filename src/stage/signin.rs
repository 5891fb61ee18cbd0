//! One summary per client: how far the sign-in got, where it broke, how long it took — the
//! verdict of docs/stages.md ("Milestones, furthest stage and failed stage"). [`summaries`]
//! runs before the checks; [`explain`] runs after them and names the check that explains the
//! failed step. The verdict line is built here only ([`verdict_line`]); every view prints it.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::classify::{request_view, UNRELATED};
use super::hosts::is_online_host;
use super::rules::RuleSet;
use crate::model::{
    alert_name, cut_notes, AbortBy, Analysis, AuthLeg, Finding, FindingSeverity, InputInfo,
    NtlmMessage, Outcome, SigninSummary, StageTag, StepRef, Ts,
};

/// One tagged step of a client's flow.
struct Step<'a> {
    at: Ts,
    end: Ts,
    tag: &'a StageTag,
    what: StepRef,
}

/// Checks that explain a failed step best, before the others (then the table's order): the
/// Online CNAME (whose certificate mismatch is inherent), the client's own rejection of a
/// certificate, a token rejected or used outside
/// its scope, HTTP/2, the network path.
const CAUSE_PREFERENCE: [&str; 8] = [
    "C-ONLINE-1",
    "C-CERT-7",
    "C-AUTH-5",
    "C-AUTH-9",
    "C-AUTH-11",
    "C-H2-1",
    "C-NET-1",
    "C-AD-3",
];

fn client_steps(a: &Analysis) -> BTreeMap<Option<IpAddr>, Vec<Step<'_>>> {
    let mut by_client: BTreeMap<Option<IpAddr>, Vec<Step<'_>>> = BTreeMap::new();
    let lync = |t: &&StageTag| t.id != UNRELATED;
    for l in &a.dns {
        let Some(tag) = l.stage.as_ref().filter(lync) else {
            continue;
        };
        let at = l.first().map(|x| x.ts).unwrap_or_default();
        let end = l.response.as_ref().map_or(at, |r| r.arrival.ts);
        by_client
            .entry(Some(l.client.ip()))
            .or_default()
            .push(Step {
                at,
                end,
                tag,
                what: StepRef::Dns(l.id),
            });
    }
    for e in &a.exchanges {
        let Some(tag) = e.stage.as_deref().filter(lync) else {
            continue;
        };
        let client = a
            .connections
            .get(e.connection.0 as usize)
            .map(|c| c.client.ip())
            .filter(|ip| !ip.is_unspecified());
        let at = e.timing.first().map(|x| x.ts).unwrap_or_default();
        let end = [
            e.timing.response_end(),
            e.timing.request_end(),
            e.timing.response_start(),
        ]
        .into_iter()
        .flatten()
        .map(|x| x.ts)
        .max()
        .unwrap_or(at);
        by_client.entry(client).or_default().push(Step {
            at,
            end,
            tag,
            what: StepRef::Exchange(e.id),
        });
    }
    for c in &a.connections {
        let Some(tag) = c.stage.as_ref().filter(lync) else {
            continue;
        };
        by_client
            .entry(Some(c.client.ip()))
            .or_default()
            .push(Step {
                at: c.first_seen,
                end: c.last_seen,
                tag,
                what: StepRef::Connection(c.id),
            });
    }
    // A SAZ has no DNS and may lack client addresses: its steps join the only client there is.
    if let Some(unknown) = by_client.remove(&None) {
        if by_client.len() == 1 {
            if let Some(v) = by_client.values_mut().next() {
                v.extend(unknown);
            }
        } else {
            by_client.insert(None, unknown);
        }
    }
    for v in by_client.values_mut() {
        v.sort_by_key(|s| s.at);
    }
    by_client
}

/// A milestone is reached when its service answered (docs/stages.md): a lookup got an answer
/// (NXDOMAIN included), a request got a response; a P-GET sent after sign-in that is still
/// open at capture end reaches the event channel too.
fn reached(a: &Analysis, s: &Step<'_>, signed_in_at: Option<Ts>) -> bool {
    match s.what {
        StepRef::Dns(id) => a.dns[id.0 as usize].response.is_some(),
        StepRef::Exchange(id) => {
            a.exchanges[id.0 as usize].response.is_some()
                || (s.tag.id == "event-channel" && signed_in_at.is_some_and(|t| s.at >= t))
        }
        StepRef::Connection(_) => false,
    }
}

/// The host a step was for.
fn step_host(a: &Analysis, what: StepRef) -> Option<String> {
    match what {
        StepRef::Exchange(id) => request_view(a, &a.exchanges[id.0 as usize]).map(|v| v.host),
        StepRef::Dns(id) => Some(
            a.dns[id.0 as usize]
                .qname
                .trim_end_matches('.')
                .to_ascii_lowercase(),
        ),
        StepRef::Connection(id) => {
            let c = &a.connections[id.0 as usize];
            c.stage
                .as_ref()
                .and_then(|t| t.subkind.clone())
                .or_else(|| c.tls.as_ref().and_then(|t| t.sni.clone()))
        }
    }
}

/// The rank a failed step competes with: its own, or for a carrier the rank of the stage it
/// carried (0 when unknown).
fn fail_rank(rules: &RuleSet, tag: &StageTag) -> u8 {
    rules.rank(&tag.id).unwrap_or_else(|| {
        tag.carries
            .as_deref()
            .and_then(|c| rules.rank(c))
            .unwrap_or(0)
    })
}

pub(crate) fn summaries(a: &Analysis, rules: &RuleSet) -> Vec<SigninSummary> {
    let mut out = Vec::new();
    for (client, steps) in client_steps(a) {
        // Only DNS noise (other names) or Exchange alone is not a sign-in attempt.
        if !steps.iter().any(|s| rules.is_milestone(&s.tag.id)) {
            continue;
        }
        out.push(summary(a, rules, client, &steps));
    }
    out
}

fn summary(
    a: &Analysis,
    rules: &RuleSet,
    client: Option<IpAddr>,
    steps: &[Step<'_>],
) -> SigninSummary {
    let started = steps.first().map_or(Ts(0), |s| s.at);
    let ended = steps.iter().map(|s| s.end).max().unwrap_or(started);
    let mut sip_uri = None;
    let mut sip_domain = None;
    let mut user = None;
    let mut flow = None;
    let mut exchanges = Vec::new();
    let mut dns = Vec::new();
    let mut connections = Vec::new();
    for s in steps {
        match s.what {
            StepRef::Exchange(id) => {
                exchanges.push(id);
                let e = &a.exchanges[id.0 as usize];
                if let Some(v) = request_view(a, e) {
                    if sip_uri.is_none() {
                        sip_uri = v
                            .query
                            .split('&')
                            .find_map(|kv| kv.strip_prefix("sipuri="))
                            .map(|u| u.replace("%40", "@"));
                    }
                    // The first root that answered on a discovery name decides the flow.
                    if flow.is_none()
                        && s.tag.id.starts_with("ad-root")
                        && matches!(s.tag.outcome, Outcome::Ok | Outcome::Redirect)
                        && v.host.starts_with("lyncdiscover")
                    {
                        flow = Some(if v.host.starts_with("lyncdiscoverinternal.") {
                            "internal"
                        } else {
                            "external"
                        });
                        sip_domain = v.host.split_once('.').map(|(_, d)| d.to_string());
                    }
                }
                if let Some(AuthLeg::Ntlm(NtlmMessage::Authenticate {
                    domain, user: u, ..
                })) = e.auth.as_ref().and_then(|x| x.request.as_ref())
                {
                    user.get_or_insert_with(|| {
                        if domain.is_empty() {
                            u.clone()
                        } else {
                            format!("{domain}\\{u}")
                        }
                    });
                }
            }
            StepRef::Dns(id) => {
                dns.push(id);
                let l = &a.dns[id.0 as usize];
                if s.tag.id == "dns-discovery" && sip_domain.is_none() {
                    let q = l.qname.to_ascii_lowercase();
                    sip_domain = q.split_once('.').map(|(_, d)| d.to_string());
                }
            }
            StepRef::Connection(id) => connections.push(id),
        }
    }
    // No root answered: the discovery name that resolved tells the network (a CGNAT or
    // private client address does not).
    if flow.is_none() {
        flow = steps
            .iter()
            .filter(|s| s.tag.id == "dns-discovery" && s.tag.outcome == Outcome::Ok)
            .find_map(|s| s.tag.subkind.as_deref())
            .map(|k| {
                if k == "internal" {
                    "internal"
                } else {
                    "external"
                }
            });
    }
    let discovery_seen = steps
        .iter()
        .any(|s| s.tag.id == "dns-discovery" || s.tag.id.starts_with("ad-root"));
    let mut flow_inferred = false;
    if flow.is_none() && !discovery_seen {
        flow = inferred_flow(a, client, steps);
        flow_inferred = flow.is_some();
    }
    if sip_domain.is_none() {
        sip_domain = sip_uri
            .as_deref()
            .and_then(|u| u.rsplit_once('@'))
            .map(|(_, d)| d.to_ascii_lowercase());
    }

    let signed_in_step = steps
        .iter()
        .find(|s| s.tag.id == "signed-in" && s.tag.outcome == Outcome::Ok);
    let signed_in_at = signed_in_step.map(|s| s.at);
    // Furthest stage: the highest rank reached; within it, the latest step's stage, with the
    // outcome of that stage's last reached step.
    let reached_steps: Vec<(&Step<'_>, u8)> = steps
        .iter()
        .filter_map(|s| Some((s, rules.rank(&s.tag.id)?)))
        .filter(|(s, _)| reached(a, s, signed_in_at))
        .collect();
    let top = reached_steps
        .iter()
        .max_by_key(|(s, r)| (*r, s.at))
        .map(|(s, _)| s.tag.id.as_str());
    let furthest = top.and_then(|stage| {
        reached_steps
            .iter()
            .filter(|(s, _)| s.tag.id == stage)
            .max_by_key(|(s, _)| s.at)
            .map(|(s, _)| *s)
    });
    // Failed stage: the last `fail` among milestones and carriers that no later milestone of
    // the same or a higher rank made good.
    let failed = if signed_in_step.is_some() {
        None
    } else {
        steps
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.tag.outcome == Outcome::Fail
                    && (rules.is_milestone(&s.tag.id) || rules.is_carrier(&s.tag.id))
            })
            .filter(|(i, s)| {
                let r = fail_rank(rules, s.tag);
                !steps[i + 1..].iter().any(|later| {
                    later.at >= s.at
                        && rules.rank(&later.tag.id).is_some_and(|lr| lr >= r)
                        && matches!(
                            later.tag.outcome,
                            Outcome::Ok | Outcome::Challenge | Outcome::Redirect
                        )
                })
            })
            .map(|(_, s)| s)
            .next_back()
    };
    let mut after_signin: Vec<String> = Vec::new();
    if signed_in_step.is_some() {
        for st in &rules.stages {
            let Some(name) = &st.post_signin else {
                continue;
            };
            if steps
                .iter()
                .any(|s| s.tag.id == st.id && s.tag.outcome == Outcome::Ok)
            {
                after_signin.push(name.clone());
            }
        }
    }
    let mut summary = SigninSummary {
        client,
        sip_uri,
        sip_domain,
        user,
        flow: flow.map(str::to_string),
        flow_inferred,
        hosting: hosting(a, steps),
        started,
        ended,
        furthest_stage: furthest.map(|s| s.tag.id.clone()),
        furthest_outcome: furthest.map(|s| s.tag.outcome),
        failed_stage: failed.map(|s| s.tag.id.clone()),
        failed_carries: failed.and_then(|s| {
            rules
                .is_carrier(&s.tag.id)
                .then(|| s.tag.carries.clone())
                .flatten()
        }),
        failed_host: failed.and_then(|s| step_host(a, s.what)),
        failed_step: failed.map(|s| s.what),
        failed_check: None,
        failed_cause: failed.map(|s| short_cause(a, s.what, s.tag)),
        signed_in: signed_in_step.is_some(),
        after_signin,
        verdict: String::new(),
        exchanges,
        dns,
        connections,
    };
    summary.verdict = verdict_line(&summary, signed_in_step.map(|s| (s.end, s.what)));
    summary
}

/// No discovery in the capture (started mid-flow, DNS cached): the Autodiscover host's
/// address, then the client's, break the tie (docs/stages.md, internal vs external).
fn inferred_flow(a: &Analysis, client: Option<IpAddr>, steps: &[Step<'_>]) -> Option<&'static str> {
    let rfc1918 = |ip: IpAddr| match ip {
        IpAddr::V4(v) => v.is_private(),
        IpAddr::V6(v) => (v.segments()[0] & 0xfe00) == 0xfc00,
    };
    let autodiscover_server = steps.iter().find_map(|s| match s.what {
        StepRef::Exchange(id) if s.tag.id.starts_with("ad-") => {
            let e = &a.exchanges[id.0 as usize];
            let c = a.connections.get(e.connection.0 as usize)?;
            (c.packets > 0 && !c.server.ip().is_unspecified()).then(|| c.server.ip())
        }
        _ => None,
    });
    let ip = autodiscover_server.or(client)?;
    Some(if rfc1918(ip) { "internal" } else { "external" })
}

/// "online" when an Autodiscover / token / UCWA host of the flow is SfB Online; "hybrid" when
/// an on-premises Autodiscover answer (its own `self`, not Online's) redirected there.
fn hosting(a: &Analysis, steps: &[Step<'_>]) -> Option<String> {
    let mut online = false;
    let mut hybrid = false;
    for s in steps {
        let StepRef::Exchange(id) = s.what else {
            continue;
        };
        let e = &a.exchanges[id.0 as usize];
        let Some(v) = request_view(a, e) else {
            continue;
        };
        let lync_stage = s.tag.id.starts_with("ad-")
            || s.tag.id.starts_with("webticket")
            || s.tag.id.starts_with("ucwa")
            || matches!(s.tag.id.as_str(), "signed-in" | "event-channel");
        if !lync_stage {
            continue;
        }
        if is_online_host(&v.host) {
            online = true;
            continue;
        }
        if s.tag.outcome != Outcome::Redirect || !s.tag.id.starts_with("ad-") {
            continue;
        }
        let Some(resp) = e.response.as_ref() else {
            continue;
        };
        let links = super::links::response_links(
            &format!("{}://{}", v.scheme, v.host),
            &resp.headers,
            resp.headers.get("Content-Type"),
            resp.body.bytes(),
        );
        let to_online = links.iter().any(|l| {
            matches!(l.rel.as_str(), "redirect" | "location")
                && super::links::url_host(&l.url).is_some_and(|h| is_online_host(&h))
        });
        let self_online = links.iter().any(|l| {
            l.rel == "self" && super::links::url_host(&l.url).is_some_and(|h| is_online_host(&h))
        });
        if to_online && !self_online {
            hybrid = true;
        } else if to_online {
            online = true;
        }
    }
    if hybrid {
        Some("hybrid".into())
    } else if online {
        Some("online".into())
    } else {
        None
    }
}

/// The cause of a failed step in a few words: the TLS alert, the DNS answer, the HTTP status
/// and token-rejection marker.
fn short_cause(a: &Analysis, what: StepRef, tag: &StageTag) -> String {
    match what {
        StepRef::Connection(id) => {
            let c = &a.connections[id.0 as usize];
            if !c.syn_ack {
                return if c.end[1] == crate::model::StreamEnd::Rst {
                    "connection refused (RST)".into()
                } else {
                    "no SYN-ACK".into()
                };
            }
            if let Some(tls) = &c.tls {
                if let Some(abort) = &tls.client_abort {
                    return match abort.by {
                        AbortBy::Alert(d) => alert_name(d).to_string(),
                        AbortBy::Fin if abort.certificate_encrypted => {
                            "client closed after the encrypted server flight".into()
                        }
                        AbortBy::Rst if abort.certificate_encrypted => {
                            "client reset after the encrypted server flight".into()
                        }
                        AbortBy::Fin => "client closed after the certificate".into(),
                        AbortBy::Rst => "client reset after the certificate".into(),
                        AbortBy::EncryptedAlert => "encrypted alert, not readable".into(),
                    };
                }
                if let Some(alert) = tls.fatal_alert() {
                    return alert.name().to_string();
                }
                if tls.client_hello && !tls.server_hello {
                    return "no ServerHello".into();
                }
            }
            tag.note
                .clone()
                .unwrap_or_else(|| "connection failed".into())
        }
        StepRef::Dns(id) => match &a.dns[id.0 as usize].response {
            None => "no DNS answer".into(),
            Some(r) if r.rcode != 0 => crate::model::rcode_name(r.rcode).to_string(),
            Some(_) => "no address".into(),
        },
        StepRef::Exchange(id) => {
            let e = &a.exchanges[id.0 as usize];
            let Some(r) = e.response.as_ref() else {
                return super::classify::stream_error(e)
                    .map(str::to_string)
                    .unwrap_or_else(|| "no response".into());
            };
            match super::auth::token_rejection(&r.headers, e.auth.as_deref()) {
                Some(m) => {
                    let short = m.split_whitespace().next().unwrap_or("").to_string();
                    let marker = if short.starts_with("Warning") || short.is_empty() {
                        "InvalidToken".to_string()
                    } else {
                        short
                    };
                    format!("{} token rejected ({marker})", r.status)
                }
                None if r.status == 401
                    && e.auth
                        .as_ref()
                        .and_then(|a| a.request.as_ref())
                        .and_then(super::auth::ntlm_type)
                        == Some(3) =>
                {
                    "401 to the NTLM type-3 message".into()
                }
                None => format!("HTTP {}", r.status),
            }
        }
    }
}

/// After the checks: names the check whose finding explains each failed step, and rebuilds
/// the verdict line with it.
pub(crate) fn explain(summaries: &mut [SigninSummary], findings: &[Finding]) {
    for s in summaries.iter_mut() {
        let Some(step) = s.failed_step else { continue };
        let cites = |f: &&Finding| match step {
            StepRef::Exchange(id) => f.exchanges.contains(&id),
            StepRef::Dns(id) => f.dns.contains(&id),
            StepRef::Connection(id) => f.connections.contains(&id),
        };
        let citing: Vec<&Finding> = findings.iter().filter(cites).collect();
        let pick = |sev: Option<FindingSeverity>| {
            let ok = |f: &&&Finding| sev.is_none_or(|x| f.severity == x);
            CAUSE_PREFERENCE
                .iter()
                .find_map(|id| citing.iter().filter(ok).find(|f| f.check == *id))
                .or_else(|| citing.iter().filter(ok).find(|_| true))
                .map(|f| f.check.clone())
        };
        s.failed_check = pick(Some(FindingSeverity::Fail)).or_else(|| pick(None));
        s.verdict = verdict_line(s, None);
    }
}

/// Last: a sign-in not completed in a capture that was cut short (or damaged) says so in its
/// verdict line, so that the end of the file is not read as the client giving up.
pub(crate) fn note_cut_capture(summaries: &mut [SigninSummary], inputs: &[InputInfo]) {
    let Some(note) = cut_notes(inputs) else {
        return;
    };
    for s in summaries.iter_mut().filter(|s| !s.signed_in) {
        s.verdict = format!("{}; {note}", s.verdict);
    }
}

fn furthest_part(s: &SigninSummary) -> String {
    match (&s.furthest_stage, s.furthest_outcome) {
        (Some(st), Some(o)) => format!("furthest: {st} ({})", o.as_str()),
        (Some(st), None) => format!("furthest: {st}"),
        _ => "furthest: none".into(),
    }
}

/// The verdict line of docs/stages.md:
/// `furthest: <stage> (<outcome>) → failed: <stage> [for <carried>] (<check>: <cause>)`, or
/// `… → incomplete: capture ends after <stage>`, or `… + policies, MRAS → signed in after …`.
/// `signed` gives the makeMeAvailable step when called before the checks; after them the
/// signed-in line is kept as it was.
fn verdict_line(s: &SigninSummary, signed: Option<(Ts, StepRef)>) -> String {
    let furthest = furthest_part(s);
    if s.signed_in {
        let post = if s.after_signin.is_empty() {
            String::new()
        } else {
            format!(" + {}", s.after_signin.join(", "))
        };
        return match signed {
            Some((end, step)) => format!(
                "{furthest}{post} → signed in after {:.1} s (makeMeAvailable {step})",
                end.secs_since(s.started)
            ),
            None => s.verdict.clone(),
        };
    }
    if let Some(stage) = &s.failed_stage {
        let carried = match (&s.failed_carries, s.failed_step) {
            (Some(c), _) => format!(" for {c}"),
            (None, Some(StepRef::Connection(_) | StepRef::Dns(_))) if stage != "dns-discovery" => {
                " (carried stage unknown)".into()
            }
            _ => String::new(),
        };
        let cause = s.failed_cause.clone().unwrap_or_default();
        let why = match &s.failed_check {
            Some(c) if cause.is_empty() => format!(" ({c})"),
            Some(c) => format!(" ({c}: {cause})"),
            None if cause.is_empty() => String::new(),
            None => format!(" ({cause})"),
        };
        return format!("{furthest} → failed: {stage}{carried}{why}");
    }
    match &s.furthest_stage {
        Some(st) => format!("{furthest} → incomplete: capture ends after {st}"),
        None => "no sign-in step seen".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ConnId, DnsId, ExchId};

    fn summary() -> SigninSummary {
        SigninSummary {
            client: None,
            sip_uri: None,
            sip_domain: None,
            user: None,
            flow: Some("external".into()),
            flow_inferred: false,
            hosting: None,
            started: Ts(0),
            ended: Ts(0),
            furthest_stage: Some("dns-discovery".into()),
            furthest_outcome: Some(Outcome::Ok),
            failed_stage: Some("tcp-tls".into()),
            failed_carries: Some("ad-root-https".into()),
            failed_host: Some("lyncdiscover.contoso.com".into()),
            failed_step: Some(StepRef::Connection(ConnId(2))),
            failed_check: None,
            failed_cause: Some("unknown_ca".into()),
            signed_in: false,
            after_signin: Vec::new(),
            verdict: String::new(),
            exchanges: Vec::new(),
            dns: Vec::new(),
            connections: vec![ConnId(2)],
        }
    }

    #[test]
    fn verdict_line_follows_the_spec_example() {
        // docs/stages.md, verdict line (the specification's §1.0b example).
        let mut s = vec![summary()];
        let finding = Finding {
            check: "C-CERT-7".into(),
            severity: FindingSeverity::Fail,
            message: String::new(),
            exchanges: Vec::new(),
            dns: vec![DnsId(0)],
            connections: vec![ConnId(2)],
        };
        let other = Finding {
            check: "C-CERT-1".into(),
            ..finding.clone()
        };
        explain(&mut s, &[other, finding]);
        assert_eq!(
            s[0].verdict,
            "furthest: dns-discovery (ok) → failed: tcp-tls for ad-root-https (C-CERT-7: unknown_ca)"
        );
        let mut t = summary();
        t.failed_stage = None;
        t.failed_step = None;
        t.furthest_stage = Some("ad-user".into());
        assert_eq!(
            verdict_line(&t, None),
            "furthest: ad-user (ok) → incomplete: capture ends after ad-user"
        );
        let mut u = summary();
        u.failed_carries = None;
        assert_eq!(
            verdict_line(&u, None),
            "furthest: dns-discovery (ok) → failed: tcp-tls (carried stage unknown) (unknown_ca)"
        );
        let mut v = summary();
        v.signed_in = true;
        v.failed_stage = None;
        v.furthest_stage = Some("event-channel".into());
        v.after_signin = vec!["policies".into(), "MRAS".into(), "contacts".into()];
        assert_eq!(
            verdict_line(&v, Some((Ts(2_800_000_000), StepRef::Exchange(ExchId(18))))),
            "furthest: event-channel (ok) + policies, MRAS, contacts → signed in after 2.8 s (makeMeAvailable #18)"
        );
    }
}
