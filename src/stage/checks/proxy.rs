//! Proxy auto-discovery (WPAD) during sign-in (C-PROXY-3): the lookups of `wpad…` names and the
//! `/wpad.dat` fetches a device with "HTTP Proxy: Auto" makes before its Autodiscover requests.
//! Never a failure; a warning when it delays discovery.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::context::*;
use crate::model::{DnsId, ExchId, Finding, FindingSeverity, Outcome, Ts, WpadProbeKind};

use FindingSeverity::{Info, Warning};

/// Stages whose requests a WPAD wait delays (discovery and authentication; the discovery
/// lookups are taken from the DNS side).
const DELAYED_STAGES: [&str; 9] = [
    "ad-root-http",
    "ad-root-https",
    "ad-user-challenge",
    "webticket-oauth",
    "webticket-soap",
    "modern-auth",
    "ad-user",
    "ucwa-probe",
    "ucwa-application",
];

/// A wait this long before one request, or this much in all, is a delay (heuristic).
const ONE_WAIT_SECS: f64 = 1.0;
const TOTAL_WAIT_SECS: f64 = 3.0;
/// A WPAD attempt that ended at most this long before a request held it up.
const GAP_SECS: f64 = 0.2;

/// One WPAD lookup or fetch.
struct Attempt {
    start: Ts,
    /// None: no answer before the capture ended.
    end: Option<Ts>,
    what: Result<DnsId, ExchId>,
    result: &'static str,
}

fn is_wpad(tag: Option<&crate::model::StageTag>) -> bool {
    tag.is_some_and(|t| t.subkind.as_deref() == Some("wpad"))
}

/// A device's WPAD requests outside DNS (LLMNR, NetBIOS, DHCP option 252): counted in the
/// message, never a failure; they carry no answer the check could time.
#[derive(Default)]
struct LocalProbes {
    counts: BTreeMap<WpadProbeKind, u64>,
    first: Option<Ts>,
    last: Option<Ts>,
}

impl LocalProbes {
    fn add(&mut self, kind: WpadProbeKind, at: Ts) {
        *self.counts.entry(kind).or_default() += 1;
        self.first = Some(self.first.map_or(at, |t| t.min(at)));
        self.last = Some(self.last.map_or(at, |t| t.max(at)));
    }

    fn merge(&mut self, other: LocalProbes) {
        for (k, n) in other.counts {
            *self.counts.entry(k).or_default() += n;
        }
        for t in other.first.into_iter().chain(other.last) {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
    }

    /// "3 LLMNR queries and 2 NetBIOS name queries for WPAD, 1 DHCP request for option 252 (WPAD)".
    fn words(&self) -> String {
        let n = |k| self.counts.get(&k).copied().unwrap_or(0);
        let mut names = Vec::new();
        if n(WpadProbeKind::Llmnr) > 0 {
            names.push(plural(
                n(WpadProbeKind::Llmnr),
                "LLMNR query",
                "LLMNR queries",
            ));
        }
        if n(WpadProbeKind::Nbns) > 0 {
            names.push(plural(
                n(WpadProbeKind::Nbns),
                "NetBIOS name query",
                "NetBIOS name queries",
            ));
        }
        let mut parts = Vec::new();
        if !names.is_empty() {
            parts.push(format!("{} for WPAD", names.join(" and ")));
        }
        if n(WpadProbeKind::Dhcp) > 0 {
            parts.push(format!(
                "{} for option 252 (WPAD)",
                plural(n(WpadProbeKind::Dhcp), "DHCP request", "DHCP requests")
            ));
        }
        parts.join(", ")
    }
}

pub(super) fn wpad(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    let mut by_client: BTreeMap<Option<IpAddr>, Vec<Attempt>> = BTreeMap::new();
    let mut names: BTreeMap<Option<IpAddr>, Vec<String>> = BTreeMap::new();
    for l in &cx.a.dns {
        if !is_wpad(l.stage.as_ref()) {
            continue;
        }
        let Some(start) = l.first().map(|a| a.ts) else {
            continue;
        };
        let result = match &l.response {
            None => "timeout",
            Some(r) if r.rcode == 3 => "NXDOMAIN",
            Some(r) if r.rcode != 0 => "error",
            Some(_) if l.addresses().next().is_none() => "no address",
            Some(_) => "answered",
        };
        let client = Some(l.client.ip());
        let n = names.entry(client).or_default();
        let q = l.qname.trim_end_matches('.').to_ascii_lowercase();
        if !n.contains(&q) {
            n.push(q);
        }
        by_client.entry(client).or_default().push(Attempt {
            start,
            end: l.response.as_ref().map(|r| r.arrival.ts),
            what: Ok(l.id),
            result,
        });
    }
    for e in &cx.a.exchanges {
        if !is_wpad(e.stage.as_deref()) {
            continue;
        }
        let Some(start) = e.timing.first().map(|a| a.ts) else {
            continue;
        };
        let client =
            cx.a.connections
                .get(e.connection.0 as usize)
                .map(|c| c.client.ip())
                .filter(|ip| !ip.is_unspecified());
        let result = match e.response.as_ref().map(|r| r.status) {
            None => "timeout",
            Some(200) => "PAC served",
            Some(404) => "404",
            Some(_) => "error",
        };
        by_client.entry(client).or_default().push(Attempt {
            start,
            end: e
                .timing
                .response_end()
                .or(e.timing.response_start())
                .map(|a| a.ts),
            what: Err(e.id),
            result,
        });
    }
    // LLMNR, NetBIOS and DHCP requests for WPAD; a DHCP client without an address yet
    // (0.0.0.0) counts as no address.
    let mut local: BTreeMap<Option<IpAddr>, LocalProbes> = BTreeMap::new();
    for p in &cx.a.wpad_probes {
        let ip = Some(p.client.ip()).filter(|ip| !ip.is_unspecified());
        local.entry(ip).or_default().add(p.kind, p.at.ts);
        by_client.entry(ip).or_default();
    }
    // A SAZ may lack client addresses: join the only client there is.
    if by_client.len() == 2 {
        if let Some(none) = by_client.remove(&None) {
            if let Some((client, v)) = by_client.iter_mut().next() {
                v.extend(none);
                if let Some(l) = local.remove(&None) {
                    local.entry(*client).or_default().merge(l);
                }
            }
        }
    }
    for (client, attempts) in by_client {
        let probes = local.remove(&client).unwrap_or_default();
        if attempts.is_empty() && probes.counts.is_empty() {
            continue;
        }
        // Requests of the sign-in this client made, and the DNS discovery lookups.
        let mut requests: Vec<(Ts, String)> = cx
            .items
            .iter()
            .filter(|i| {
                DELAYED_STAGES.contains(&i.stage()) && (client.is_none() || i.client() == client)
            })
            .map(|i| (i.at(), format!("{} {}", ex_ref(i.id()), i.view.url)))
            .collect();
        for l in &cx.a.dns {
            if l.stage.as_ref().is_some_and(|t| t.id == "dns-discovery")
                && client.is_none_or(|c| l.client.ip() == c)
            {
                if let Some(a) = l.first() {
                    requests.push((a.ts, format!("{} {}", dns_ref(l.id), l.qname)));
                }
            }
        }
        let mut total = 0.0f64;
        let mut longest: Option<(f64, String)> = None;
        for (at, what) in &requests {
            // The WPAD attempts that held this request up: started before it and ended (or
            // gave up) at most 200 ms before it.
            let wait: f64 = attempts
                .iter()
                .filter(|w| w.start < *at)
                .filter(|w| {
                    let end = w.end.unwrap_or(*at);
                    end <= *at && at.secs_since(end) <= GAP_SECS
                })
                .map(|w| w.end.unwrap_or(*at).secs_since(w.start))
                .fold(0.0, f64::max);
            if wait <= 0.0 {
                continue;
            }
            total += wait;
            if longest.as_ref().is_none_or(|(l, _)| wait > *l) {
                longest = Some((wait, what.clone()));
            }
        }
        let lookups: Vec<DnsId> = attempts.iter().filter_map(|w| w.what.ok()).collect();
        let fetches: Vec<ExchId> = attempts.iter().filter_map(|w| w.what.err()).collect();
        let mut results: BTreeMap<&str, usize> = BTreeMap::new();
        for w in &attempts {
            *results.entry(w.result).or_default() += 1;
        }
        let results: Vec<String> = results.iter().map(|(r, n)| format!("{r} ×{n}")).collect();
        let t1 = attempts
            .iter()
            .map(|w| w.start)
            .chain(probes.first)
            .min()
            .unwrap_or_default();
        let t2 = attempts
            .iter()
            .map(|w| w.end.unwrap_or(w.start))
            .chain(probes.last)
            .max()
            .unwrap_or_default();
        let served = fetches.iter().any(|id| {
            cx.a.exchanges[id.0 as usize]
                .stage
                .as_ref()
                .is_some_and(|t| t.outcome == Outcome::Ok)
        });
        let dns_words = format!(
            "{} of {}",
            plural(lookups.len() as u64, "lookup", "lookups"),
            names
                .get(&client)
                .map(|n| n.join(", "))
                .unwrap_or_else(|| "wpad".into()),
        );
        let fetch_words = format!(
            "{} for /wpad.dat",
            plural(fetches.len() as u64, "request", "requests")
        );
        let what = if probes.counts.is_empty() {
            format!("{dns_words} and {fetch_words}")
        } else {
            // docs/checks.md C-PROXY-3: LLMNR/NBNS `WPAD` and DHCP option 252 count too.
            let mut parts = Vec::new();
            if !lookups.is_empty() {
                parts.push(dns_words);
            }
            if !fetches.is_empty() {
                parts.push(fetch_words);
            }
            parts.push(probes.words());
            parts.join(", ")
        };
        let outcome_words = if results.is_empty() {
            String::new()
        } else {
            format!(" ({})", results.join(", "))
        };
        let lead = format!(
            "The device{} uses automatic proxy discovery (WPAD): {what} between {} and {}{}. \
             This traffic is not part of Lync/SfB sign-in.",
            client.map(|c| format!(" {c}")).unwrap_or_default(),
            show_time(t1),
            show_time(t2),
            outcome_words,
        );
        let delayed = longest
            .as_ref()
            .filter(|(l, _)| *l >= ONE_WAIT_SECS || total >= TOTAL_WAIT_SECS);
        let (severity, message) = match delayed {
            Some((l, what)) => (
                Warning,
                format!(
                    "{lead} WPAD delayed the discovery requests by {total:.1} s (longest {l:.1} s \
                     before {what}): the device waits for proxy discovery before each \
                     Autodiscover request. On the device set the Wi-Fi HTTP proxy to Off (or \
                     Manual), or make wpad answer quickly (NXDOMAIN, or a PAC that returns \
                     DIRECT for the Lync hosts).{}",
                    if served {
                        " A PAC file was served: if Lync requests then go through a proxy, check \
                         that proxy."
                    } else {
                        ""
                    }
                ),
            ),
            None => (Info, lead),
        };
        out.push(check.finding(severity, message, fetches, lookups, Vec::new()));
    }
}
