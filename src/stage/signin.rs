//! One summary per client: how far the sign-in got, where it broke, how long it took.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::classify::{request_view, UNRELATED};
use super::rules::RuleSet;
use crate::model::{
    Analysis, AuthLeg, ConnId, DnsId, ExchId, NtlmMessage, Outcome, SigninSummary, StageTag, Ts,
};

/// One tagged step of a client's flow.
struct Step<'a> {
    at: Ts,
    end: Ts,
    tag: &'a StageTag,
    what: Item,
}

#[derive(Clone, Copy)]
enum Item {
    Exchange(ExchId),
    Dns(DnsId),
    Connection(ConnId),
}

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
                what: Item::Dns(l.id),
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
            e.timing.response_end,
            e.timing.request_end,
            e.timing.response_start,
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
            what: Item::Exchange(e.id),
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
                what: Item::Connection(c.id),
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

pub(crate) fn summaries(a: &Analysis, rules: &RuleSet) -> Vec<SigninSummary> {
    let mut out = Vec::new();
    for (client, steps) in client_steps(a) {
        // Only DNS noise (other names) or Exchange alone is not a sign-in attempt.
        if !steps
            .iter()
            .any(|s| rules.is_milestone(&s.tag.id) && s.tag.id != "dns-hop")
        {
            continue;
        }
        let started = steps.first().map_or(Ts(0), |s| s.at);
        let ended = steps.iter().map(|s| s.end).max().unwrap_or(started);
        let mut sip_uri = None;
        let mut sip_domain = None;
        let mut user = None;
        let mut flow = None;
        let mut exchanges = Vec::new();
        let mut dns = Vec::new();
        let mut connections = Vec::new();
        for s in &steps {
            match s.what {
                Item::Exchange(id) => {
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
                        if flow.is_none()
                            && s.tag.id.starts_with("ad-root")
                            && s.tag.outcome == Outcome::Ok
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
                Item::Dns(id) => {
                    dns.push(id);
                    let l = &a.dns[id.0 as usize];
                    if s.tag.id == "dns-discovery" {
                        let q = l.qname.to_ascii_lowercase();
                        if sip_domain.is_none() {
                            sip_domain = q.split_once('.').map(|(_, d)| d.to_string());
                        }
                    }
                }
                Item::Connection(id) => connections.push(id),
            }
        }
        // No root answered: the discovery name that resolved tells the network.
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
        if sip_domain.is_none() {
            sip_domain = sip_uri
                .as_deref()
                .and_then(|u| u.rsplit_once('@'))
                .map(|(_, d)| d.to_ascii_lowercase());
        }
        let counted =
            |s: &&Step<'_>| rules.is_milestone(&s.tag.id) && s.tag.outcome != Outcome::Noise;
        // A stage is reached when its service answered: a connection that never carried a
        // request, or a request never answered, did not reach the service.
        let furthest = steps
            .iter()
            .filter(counted)
            .filter(|s| answered(a, s.what))
            .max_by_key(|s| (rules.order(&s.tag.id).unwrap_or(0), s.at));
        let signed_in_step = steps
            .iter()
            .find(|s| s.tag.id == "signed-in" && s.tag.outcome == Outcome::Ok);
        let failed = if signed_in_step.is_some() {
            None
        } else {
            steps
                .iter()
                .filter(counted)
                .rfind(|s| s.tag.outcome == Outcome::Fail)
        };
        let verdict = match (signed_in_step, failed, furthest) {
            (Some(s), _, _) => format!(
                "signed in after {:.1} s (makeMeAvailable {})",
                s.end.secs_since(started),
                describe(s.what)
            ),
            (None, Some(f), _) => format!(
                "sign-in failed at {} ({}){}",
                f.tag.id,
                describe(f.what),
                f.tag
                    .note
                    .as_deref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default()
            ),
            (None, None, Some(f)) => format!(
                "sign-in not completed in the capture; furthest stage {} ({})",
                f.tag.id,
                f.tag.outcome.as_str()
            ),
            _ => "no sign-in step seen".into(),
        };
        out.push(SigninSummary {
            client,
            sip_uri,
            sip_domain,
            user,
            flow: flow.map(str::to_string),
            started,
            ended,
            furthest_stage: furthest.map(|s| s.tag.id.clone()),
            furthest_outcome: furthest.map(|s| s.tag.outcome),
            failed_stage: failed.map(|s| s.tag.id.clone()),
            signed_in: signed_in_step.is_some(),
            verdict,
            exchanges,
            dns,
            connections,
        });
    }
    out
}

fn answered(a: &Analysis, item: Item) -> bool {
    match item {
        Item::Exchange(id) => a.exchanges[id.0 as usize].response.is_some(),
        Item::Dns(id) => a.dns[id.0 as usize].addresses().next().is_some(),
        Item::Connection(_) => false,
    }
}

fn describe(item: Item) -> String {
    match item {
        Item::Exchange(id) => format!("#{}", id.0),
        Item::Dns(id) => format!("D{}", id.0),
        Item::Connection(id) => format!("C{}", id.0),
    }
}
