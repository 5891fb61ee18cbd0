//! Policies the server hands out: mobility refused, Wi-Fi-only media, media relays, the
//! Lync 2010 Mobility Service URL.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::context::*;
use crate::model::{ExchId, Finding, FindingSeverity};

use FindingSeverity::{Fail, Info, Warning};

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

/// The X-Ms-diagnostics entry of an answer whose reason names a policy, verbatim.
fn diagnostics_policy(i: &Item<'_>) -> Option<String> {
    i.auth().and_then(|a| {
        a.diagnostics
            .iter()
            .find(|d| {
                d.reason
                    .as_deref()
                    .is_some_and(|r| r.to_ascii_lowercase().contains("policy"))
            })
            .map(|d| d.raw.trim().to_string())
    })
}

/// The answer refuses by mobility or client-version policy (docs/checks.md C-POL-1): a
/// policy body on any refusal, or a 403 on the applications URL (stages 29 and 30) whose
/// X-Ms-diagnostics reason names a policy; never a token rejection.
pub(super) fn policy_refusal(i: &Item<'_>) -> bool {
    if !i.is_lync() || i.token_rejection().is_some() || i.tag.rule == "token-rejected" {
        return false;
    }
    let body = i.resp_text().unwrap_or_default();
    let policy_body = body.contains("MobileApplicationNoLongerAllowed")
        || body
            .to_ascii_lowercase()
            .contains("not allowed to create mobile application");
    let on_apps = i.on_applications_url() && i.status() == Some(403);
    (on_apps && (policy_body || diagnostics_policy(i).is_some()))
        || (policy_body && i.status().is_some_and(|s| s >= 400))
}

/// Creating the UCWA application refused by policy: only a policy reason counts, never a
/// token rejection (C-AUTH-9), an origin allow-list refusal or a proxy's block page.
pub(super) fn mobility_refused(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    for i in &cx.items {
        if !policy_refusal(i) {
            continue;
        }
        let diag_policy = diagnostics_policy(i);
        let mut detail: Vec<String> = i
            .resp_facts()
            .into_iter()
            .filter(|(k, _)| matches!(k.as_str(), "code" | "subcode" | "message"))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if let Some(d) = diag_policy {
            detail.push(format!("X-Ms-diagnostics: {d}"));
        }
        let detail = if detail.is_empty() {
            String::new()
        } else {
            format!(" [{}]", detail.join(", "))
        };
        let message = format!(
            "{} was refused ({}){detail}: mobility is disabled for this user by policy \
             (mobility policy / client version policy). Enable it \
             (Set-CsMobilityPolicy -EnableMobility $true) or allow the client version.",
            i.describe(),
            i.status().unwrap_or(0)
        );
        out.push(check.finding(Fail, message, vec![i.id()], Vec::new(), Vec::new()));
    }
}

/// Media modalities limited to Wi-Fi by the mobility policy.
pub(super) fn wifi_only(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
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
        out.push(check.finding(
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

/// A client on the Internet given only relays it cannot reach.
pub(super) fn relay_location(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
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
        out.push(check.finding(
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

/// The Lync 2010 mobility URL handed out on the internal web FQDN.
pub(super) fn mcx_internal_url(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
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
        out.push(check.finding(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::checks::fixtures::*;

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
}
