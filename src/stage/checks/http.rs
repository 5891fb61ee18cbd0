//! HTTP/80 of the discovery hosts: the fallback for the first Autodiscover request.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::context::*;
use crate::model::{ConnId, Connection, Finding, FindingSeverity, Outcome, StreamEnd};

use FindingSeverity::{Info, Warning};

/// How HTTP/80 of the discovery hosts behaves.
pub(super) fn port_80(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    // Unanswered or refused SYNs to :80 of a Lync host (packets only: a SAZ has no TCP).
    let mut silent: BTreeMap<IpAddr, (Option<String>, Vec<&Connection>)> = BTreeMap::new();
    for (c, t) in cx.tagged_connections() {
        if t.id != "tcp-tls" || c.server.port() != 80 || c.syn_ack {
            continue;
        }
        // Port 80 of SfB Online is not the customer's to publish (C-ONLINE-1 speaks).
        let name = t.subkind.as_deref().unwrap_or("");
        if cx.online_vanity.contains(name) || crate::stage::hosts::is_online_host(name) {
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
        out.push(check.finding(
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
    // 3xx on a root: a redirect outside the Lync hosts is a failed attempt (docs/stages.md).
    for i in &cx.items {
        if !i.stage().starts_with("ad-root") || !i.status().is_some_and(|s| (300..400).contains(&s))
        {
            continue;
        }
        let location = i.resp_header("Location").unwrap_or("").trim();
        let shown = if location.is_empty() {
            "(no Location)"
        } else {
            location
        };
        if i.tag.outcome != Outcome::Fail {
            // Same host (HTTP → HTTPS) or a Lync host: followed, tolerated.
            if i.stage() == "ad-root-http" {
                out.push(check.finding(
                    Info,
                    format!(
                        "{} answered {} → {shown}: a redirect within the Lync hosts (usually HTTP \
                         → HTTPS) is tolerated.",
                        i.describe(),
                        i.status().unwrap_or(0),
                    ),
                    vec![i.id()],
                    Vec::new(),
                    Vec::new(),
                ));
            }
            continue;
        }
        let later_https = cx.items.iter().find(|j| {
            j.stage() == "ad-root-https"
                && j.at() >= i.at()
                && matches!(j.tag.outcome, Outcome::Ok | Outcome::Redirect)
        });
        let severity = if later_https.is_some() { Info } else { Warning };
        let root = format!("{}://{}/", i.view.scheme, i.view.host);
        let port = if i.view.scheme == "http" { "80" } else { "443" };
        let target = if i.view.scheme == "http" {
            "8080"
        } else {
            "4443"
        };
        out.push(check.finding(
            severity,
            format!(
                "{root} was answered by a redirect to {shown} ({}; a catch-all rule on the \
                 reverse proxy or web site); Lync/SfB clients treat a redirect to another domain \
                 as a failed discovery attempt. Publish port {port} for {} to the FE's port \
                 {target}, or exclude {} from the redirect rule.{}",
                ex_ref(i.id()),
                i.view.host,
                i.view.host,
                later_https
                    .map(|j| format!(" The HTTPS root answered afterwards ({}).", ex_ref(j.id())))
                    .unwrap_or_default()
            ),
            vec![i.id()],
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
}
