//! The stage swimlanes' content: one lane per stage (the rules' stage order, stages the rules
//! did not list, then `unrelated`) with the exchanges in scope, the DNS lookups they depend
//! on and the connection attempts that carried no HTTP.

use super::timeline::{
    connection_span, connection_title, dns_span, dns_title, exchange_span, Span,
};
use crate::model::{Analysis, ConnId, DnsId, ExchId, Outcome};
use std::collections::HashSet;

/// What a lane item stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Exchange(ExchId),
    Dns(DnsId),
    Connection(ConnId),
}

/// One bar of the swimlanes.
pub struct LaneItem {
    pub lane: String,
    pub span: Span,
    pub outcome: Outcome,
    pub key: Key,
    pub title: String,
}

/// The swimlanes' content: lanes in order (id, label, milestone) and the items on them.
pub struct Lanes {
    pub lanes: Vec<(String, String, bool)>,
    pub items: Vec<LaneItem>,
}

/// One line describing an exchange: method, URL (or host + target), status.
pub fn exchange_summary(a: &Analysis, id: ExchId) -> String {
    let Some(x) = a.exchanges.get(id.0 as usize) else {
        return format!("#{}", id.0);
    };
    let status = x
        .response
        .as_ref()
        .map_or_else(|| "no response".to_string(), |r| r.status.to_string());
    match &x.request {
        Some(r) => {
            let url = a.request_url(x).map_or_else(|| r.target.clone(), |v| v.url);
            format!("{} {url} → {status}", r.method)
        }
        None => format!("(response only) {status}"),
    }
}

/// The items of the swimlanes and their lanes (see [`swimlanes_svg`]).
pub fn collect_lanes(a: &Analysis, scope: &[ExchId]) -> Lanes {
    let in_scope: HashSet<ExchId> = scope.iter().copied().collect();
    let whole = in_scope.len() >= a.exchanges.len();
    let mut items: Vec<LaneItem> = Vec::new();
    let mut wanted_dns: HashSet<DnsId> = HashSet::new();
    for id in scope {
        let Some(x) = a.exchanges.get(id.0 as usize) else {
            continue;
        };
        let Some(span) = exchange_span(x) else {
            continue;
        };
        let (lane, outcome) = match x.stage.as_deref() {
            Some(t) => {
                if let Some(d) = t.dns {
                    wanted_dns.insert(d);
                }
                (t.id.clone(), t.outcome)
            }
            None => ("unrelated".to_string(), Outcome::Unknown),
        };
        items.push(LaneItem {
            lane,
            span,
            outcome,
            key: Key::Exchange(*id),
            title: format!("#{} {}", id.0, exchange_summary(a, *id)),
        });
    }
    for l in &a.dns {
        let announced_in_scope = l
            .stage
            .as_ref()
            .and_then(|t| t.parent)
            .is_some_and(|p| in_scope.contains(&p));
        if !(whole || wanted_dns.contains(&l.id) || announced_in_scope) {
            continue;
        }
        let Some(span) = dns_span(l) else { continue };
        let (lane, outcome) = l
            .stage
            .as_ref()
            .map_or(("unrelated".to_string(), Outcome::Unknown), |t| {
                (t.id.clone(), t.outcome)
            });
        items.push(LaneItem {
            lane,
            span,
            outcome,
            key: Key::Dns(l.id),
            title: dns_title(l),
        });
    }
    for c in &a.connections {
        let Some(tag) = &c.stage else { continue };
        if !(whole || tag.parent.is_some_and(|p| in_scope.contains(&p))) {
            continue;
        }
        items.push(LaneItem {
            lane: tag.id.clone(),
            span: connection_span(c),
            outcome: tag.outcome,
            key: Key::Connection(c.id),
            title: connection_title(c),
        });
    }
    // Lane order: the rules' stage order, stages the rules did not list, then unrelated.
    let mut lanes: Vec<(String, String, bool)> = Vec::new();
    let present: HashSet<&str> = items.iter().map(|i| i.lane.as_str()).collect();
    for s in &a.stages {
        if present.contains(s.id.as_str()) && s.id != "unrelated" {
            lanes.push((s.id.clone(), s.label.clone(), s.milestone));
        }
    }
    for i in &items {
        if i.lane != "unrelated" && !lanes.iter().any(|(id, _, _)| *id == i.lane) {
            lanes.push((i.lane.clone(), i.lane.clone(), false));
        }
    }
    if present.contains("unrelated") {
        lanes.push(("unrelated".into(), "other traffic".into(), false));
    }
    Lanes { lanes, items }
}
