//! Windows authentication over HTTP/2 (C-H2-1): IIS does not do NTLM / Negotiate over HTTP/2
//! and resets the stream with `HTTP_1_1_REQUIRED`; the client must repeat the request over
//! HTTP/1.1. Stream resets are known from trace archives (a HAR entry's `_error`); ALPN and the
//! exchanges' version from both captures and archives.

use std::collections::BTreeMap;

use super::auth::on_http2;
use super::context::*;
use crate::model::{ExchId, Finding, FindingSeverity, Outcome};
use crate::stage::classify::{http11_retry, reset_http_1_1_required};

use FindingSeverity::{Fail, Info, Warning};

/// Stages whose requests are authentication legs.
const AUTH_STAGES: [&str; 8] = [
    "ad-user-challenge",
    "webticket-oauth",
    "webticket-soap",
    "modern-auth",
    "ad-user",
    "ucwa-probe",
    "ucwa-application",
    "certprov",
];

fn windows_auth_leg(i: &Item<'_>) -> bool {
    let req =
        i.ex.request
            .as_ref()
            .and_then(|r| r.headers.get("Authorization"))
            .map(|v| v.trim_start().to_ascii_lowercase())
            .is_some_and(|v| v.starts_with("ntlm") || v.starts_with("negotiate"));
    let resp = i.auth().is_some_and(|a| {
        a.challenges.iter().any(|c| {
            c.scheme.eq_ignore_ascii_case("ntlm") || c.scheme.eq_ignore_ascii_case("negotiate")
        })
    });
    req || resp
}

pub(super) fn windows_auth_over_h2(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    // (a) authentication legs reset with HTTP_1_1_REQUIRED.
    for i in &cx.items {
        if !reset_http_1_1_required(i.ex)
            || !(AUTH_STAGES.contains(&i.stage()) || windows_auth_leg(i))
        {
            continue;
        }
        let index = i.id().0 as usize;
        let retry = http11_retry(cx.a, index);
        match retry.filter(|_| i.tag.outcome == Outcome::Noise) {
            Some(r) => {
                let ms = cx
                    .item(r)
                    .map(|j| j.at().secs_since(i.at()) * 1000.0)
                    .unwrap_or_default();
                out.push(check.finding(
                    Info,
                    format!(
                        "{} refused Windows authentication over HTTP/2 ({} reset with \
                         HTTP_1_1_REQUIRED); the client retried over HTTP/1.1 as required ({}, \
                         one extra connection, {ms:.0} ms) — no action.",
                        i.view.host,
                        ex_ref(i.id()),
                        ex_ref(r)
                    ),
                    vec![i.id(), r],
                    Vec::new(),
                    Vec::new(),
                ));
            }
            None => out.push(check.finding(
                Fail,
                format!(
                    "{} reset the {} request on HTTP/2 with HTTP_1_1_REQUIRED ({}; Windows \
                     authentication is not available over HTTP/2 in IIS) and the client did not \
                     retry over HTTP/1.1, so the WebTicket/NTLM step never completed. Fix: \
                     disable HTTP/2 for TLS on the server that answers (HTTP.sys registry \
                     HKLM\\SYSTEM\\CurrentControlSet\\Services\\HTTP\\Parameters EnableHttp2Tls = 0 \
                     and EnableHttp2Cleartext = 0, then restart — on the front ends and on an \
                     IIS/ARR reverse proxy), or stop offering h2 on the reverse-proxy / \
                     load-balancer listener, or update the client.",
                    i.view.host,
                    i.stage(),
                    ex_ref(i.id())
                ),
                vec![i.id()],
                Vec::new(),
                Vec::new(),
            )),
        }
    }
    // (b) NTLM / Negotiate legs carried on HTTP/2 streams at all: something in front of IIS
    // translates h2 to HTTP/1.1.
    let mut by_host: BTreeMap<String, (Vec<ExchId>, bool, bool)> = BTreeMap::new();
    for i in &cx.items {
        if !on_http2(i) || i.ex.response.is_none() || !windows_auth_leg(i) {
            continue;
        }
        let g = by_host.entry(i.view.host.clone()).or_default();
        g.0.push(i.id());
        let type3 = i.ntlm().is_some_and(|m| m.message_type() == 3);
        g.1 |= type3 && i.status() == Some(401);
        g.2 |= i.status().is_some_and(|s| (200..300).contains(&s));
    }
    for (host, (ids, loop_401, worked)) in by_host {
        let severity = if loop_401 && !worked { Fail } else { Warning };
        out.push(check.finding(
            severity,
            format!(
                "NTLM is running over HTTP/2 through the device in front of the Front End at \
                 {host} ({}): its streams may reach different backend connections and NTLM \
                 breaks{}. Disable HTTP/2 on that listener or virtual service.",
                refs(&ids, ex_ref),
                if loop_401 {
                    " (a type-3 message was answered 401)"
                } else {
                    ""
                }
            ),
            ids,
            Vec::new(),
            Vec::new(),
        ));
    }
}
