//! Exchange integration after sign-in: Autodiscover and EWS.

use super::context::*;
use crate::model::{Connection, DnsLookup, ExchId, Finding, FindingSeverity, StageTag};

use FindingSeverity::Warning;

/// Exchange Autodiscover (`exchange-autodiscover`) attempted with no candidate working.
pub(super) fn autodiscover_failed(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    let ad: Vec<&Item<'_>> = cx
        .items
        .iter()
        .filter(|i| i.stage() == "exchange-autodiscover")
        .collect();
    let ad_conns: Vec<(&Connection, &StageTag)> = cx
        .tagged_connections()
        .filter(|(_, t)| t.id == "exchange-autodiscover")
        .collect();
    let ad_dns: Vec<&DnsLookup> =
        cx.a.dns
            .iter()
            .filter(|l| {
                l.stage.as_ref().is_some_and(|t| {
                    t.id == "exchange-autodiscover"
                        || (t.id == "dns-hop"
                            && l.qname.to_ascii_lowercase().starts_with("autodiscover."))
                })
            })
            .collect();
    let worked = ad.iter().any(|i| i.status() == Some(200));
    // A request still waiting at the end of the capture may yet succeed.
    let pending = ad.iter().any(|i| i.status().is_none());
    let attempted = !ad.is_empty() || !ad_conns.is_empty();
    if attempted && !worked && !pending {
        let mut parts: Vec<String> = Vec::new();
        for i in &ad {
            parts.push(format!("{} → {}", i.describe(), i.status().unwrap_or(0)));
        }
        for (c, t) in &ad_conns {
            parts.push(format!(
                "{} {}: {}",
                conn_ref(c.id),
                t.subkind.as_deref().unwrap_or(""),
                t.note.as_deref().unwrap_or("failed")
            ));
        }
        for l in ad_dns.iter().filter(|l| !answered(l)) {
            parts.push(format!(
                "{} {} {}",
                dns_ref(l.id),
                l.qname,
                lookup_result(l)
            ));
        }
        out.push(check.finding(
            Warning,
            format!(
                "Exchange autodiscover failed: no candidate worked ({}). Exchange integration \
                 is unavailable (no meetings, voicemail or conversation history in the app); \
                 sign-in itself is not affected. Publish autodiscover.<SMTP domain> with a \
                 certificate that covers it and without forms pre-authentication.",
                parts.join("; ")
            ),
            ad.iter().map(|i| i.id()).collect(),
            ad_dns.iter().map(|l| l.id).collect(),
            ad_conns.iter().map(|(c, _)| c.id).collect(),
        ));
    }
}

/// EWS (`exchange-ews`) answered only 401 / 403.
pub(super) fn ews_denied(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    let ews: Vec<&Item<'_>> = cx
        .items
        .iter()
        .filter(|i| i.stage() == "exchange-ews")
        .collect();
    let ews_ok = ews
        .iter()
        .any(|i| i.status().is_some_and(|s| (200..300).contains(&s)));
    let all_answered = ews.iter().all(|i| i.status().is_some());
    let denied: Vec<ExchId> = ews
        .iter()
        .filter(|i| matches!(i.status(), Some(401 | 403)))
        .map(|i| i.id())
        .collect();
    if ews_ok || !all_answered || denied.is_empty() {
        return;
    }
    out.push(check.finding(
        Warning,
        format!(
            "EWS authentication failed ({}): Exchange Web Services never accepted the client's \
             credentials. Reverse-proxy pre-authentication or forms authentication on /EWS \
             breaks Lync clients; publish EWS with pass-through authentication.",
            refs(&denied, ex_ref)
        ),
        denied,
        Vec::new(),
        Vec::new(),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::checks::fixtures::*;

    #[test]
    fn exchange_autodiscover_without_a_working_candidate() {
        let (mut cap, c2) = external_until_user(apps_on_pool1());
        cap.fqdn = "";
        let c = cap.tls(
            CLIENT_B,
            "203.0.113.30:443",
            12.0,
            "autodiscover.contoso.com",
            cert_mail(),
            false,
        );
        let _ = c2;
        cap.http(
            c,
            12.1,
            0.1,
            post(
                "autodiscover.contoso.com",
                "/autodiscover/autodiscover.xml",
                "<Autodiscover/>",
            ),
            Some((404, Vec::new(), "")),
        );
        let f = cap.run();
        let ex = find(&f, "C-EXCH-1");
        assert_eq!(ex.severity, Warning);
        assert!(
            ex.message.contains("Exchange autodiscover failed"),
            "{}",
            ex.message
        );
        assert!(ex.message.contains("→ 404"), "{}", ex.message);
    }
}
