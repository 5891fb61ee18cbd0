//! Time: clocks that differ (Date headers, web-ticket validity) and slow steps.

use std::collections::BTreeMap;

use super::context::*;
use crate::datetime::{parse_http_date, parse_iso8601 as parse_rfc3339};
use crate::model::{DnsId, ExchId, Finding, FindingSeverity};
use crate::stage::classify::UNRELATED;

use FindingSeverity::{Info, Warning};

/// Clock difference that makes tickets and certificates suspect.
const SKEW_LIMIT_SECS: f64 = 300.0;

/// A step slower than this is worth pointing at.
const SLOW_STEP_SECS: f64 = 5.0;

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

/// The server's Date header against the capture clock.
pub(super) fn date_skew(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    let mut by_host: BTreeMap<String, Vec<(f64, ExchId, bool)>> = BTreeMap::new();
    for i in &cx.items {
        let Some(at) = i.ex.timing.response_start().map(|a| a.ts) else {
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
        out.push(check.finding(
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

/// A web ticket whose validity window does not include the server's time.
pub(super) fn saml_window(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
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
                .response_start()
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
        out.push(check.finding(
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

/// Steps slower than SLOW_STEP_SECS (the event channel's long poll is normal).
pub(super) fn slow_steps(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    type Group = (Vec<String>, Vec<ExchId>, Vec<DnsId>);
    let mut by_stage: BTreeMap<String, Group> = BTreeMap::new();
    for i in &cx.items {
        if i.stage() == "event-channel" {
            continue;
        }
        let t = &i.ex.timing;
        let (Some(start), Some(resp)) = (t.request_end().or(t.request_start()), t.response_start())
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
        out.push(check.finding(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ConnId;
    use crate::stage::checks::fixtures::*;

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
}
