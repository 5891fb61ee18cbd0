//! Discovery DNS: the lyncdiscover(internal) records a mobile client starts from.

use super::context::*;
use crate::model::{
    CertificateInfo, ConnId, Connection, DnsId, DnsLookup, Finding, FindingSeverity, Outcome,
};

use FindingSeverity::{Fail, Info, Warning};

/// Neither discovery name resolves, so a mobile client cannot even start.
pub(super) fn discovery_unresolved(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    for (d, lookups) in discovery_lookups(cx) {
        if lookups.iter().any(|(_, l)| answered(l)) {
            continue;
        }
        // The external name is the client's last resort; until it has been refused the
        // client may still be on its way.
        if !lookups.iter().any(|(int, l)| !int && l.response.is_some()) {
            continue;
        }
        // An Autodiscover root that answered anyway (hosts file, proxy) means discovery
        // worked another way.
        let root_ok = cx.items.iter().any(|i| {
            i.stage().starts_with("ad-root")
                && matches!(i.tag.outcome, Outcome::Ok | Outcome::Redirect)
                && in_domain(&i.view.host, &d)
        });
        if root_ok {
            continue;
        }
        let seen: Vec<String> = lookups
            .iter()
            .map(|(_, l)| format!("{} {} {}", dns_ref(l.id), l.qname, lookup_result(l)))
            .collect();
        out.push(check.finding(
            Fail,
            format!(
                "Neither lyncdiscoverinternal.{d} nor lyncdiscover.{d} resolves ({}). Lync/SfB \
                 mobile clients use Autodiscover exclusively and have no SRV/A fallback — \
                 sign-in cannot start. Create the public lyncdiscover.{d} record (and the \
                 internal lyncdiscoverinternal.{d} record).",
                seen.join("; ")
            ),
            Vec::new(),
            lookups.iter().map(|(_, l)| l.id).collect(),
            Vec::new(),
        ));
    }
}

/// An internal client had to fall back to the external discovery name; or the
/// internal name answers on the Internet.
pub(super) fn internal_record(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    for (d, lookups) in discovery_lookups(cx) {
        let internal: Vec<&DnsLookup> = lookups
            .iter()
            .filter(|(i, _)| *i)
            .map(|(_, l)| *l)
            .collect();
        let external_ok: Vec<&DnsLookup> = lookups
            .iter()
            .filter(|(i, l)| !*i && answered(l))
            .map(|(_, l)| *l)
            .collect();
        let internal_refused = internal
            .iter()
            .all(|l| l.response.is_some() && !answered(l));
        if let (Some(first), true, false) =
            (internal.first(), internal_refused, external_ok.is_empty())
        {
            let client = first.client.ip();
            if let Some(private) = cx.private_lync_answer(client) {
                let internal_ids: Vec<DnsId> = internal.iter().map(|l| l.id).collect();
                let external_ids: Vec<DnsId> = external_ok.iter().map(|l| l.id).collect();
                let mut dns = internal_ids.clone();
                dns.extend(&external_ids);
                dns.push(private.id);
                out.push(check.finding(
                    Warning,
                    format!(
                        "Client {client} is on the internal network ({} {} answered the \
                         private address {}), but internal DNS has no lyncdiscoverinternal.{d} \
                         record ({} {}); the client fell back to lyncdiscover.{d} ({}). \
                         Microsoft: leaving out the internal record can make internal clients \
                         fail or get the wrong Autodiscover response — publish \
                         lyncdiscoverinternal.{d} in the internal zone.",
                        dns_ref(private.id),
                        private.qname,
                        private
                            .addresses()
                            .find(|a| is_private(*a))
                            .map(|a| a.to_string())
                            .unwrap_or_default(),
                        refs(&internal_ids, dns_ref),
                        lookup_result(first),
                        refs(&external_ids, dns_ref),
                    ),
                    Vec::new(),
                    dns,
                    Vec::new(),
                ));
            }
        }
        let public_answers: Vec<&DnsLookup> = internal
            .iter()
            .copied()
            .filter(|l| answered(l) && !is_private(l.client.ip()))
            .collect();
        if let Some(first) = public_answers.first() {
            out.push(check.finding(
                Info,
                format!(
                    "lyncdiscoverinternal.{d} resolves for client {} on a public network ({} → \
                     {}): the internal discovery name should not be resolvable from outside. \
                     Remove it from the public zone.",
                    first.client.ip(),
                    dns_ref(first.id),
                    lookup_result(first)
                ),
                Vec::new(),
                public_answers.iter().map(|l| l.id).collect(),
                Vec::new(),
            ));
        }
    }
}

/// A discovery name that is a CNAME into another domain, used over HTTPS.
pub(super) fn cname_other_domain(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    for (d, lookups) in discovery_lookups(cx) {
        for (_, l) in lookups {
            let Some(target) = l.cnames().last() else {
                continue;
            };
            let target = target.trim_end_matches('.').to_ascii_lowercase();
            if in_domain(&target, &d) {
                continue;
            }
            let name = l.qname.trim_end_matches('.').to_ascii_lowercase();
            // A CNAME into SfB Online: its certificate can never carry the name (C-ONLINE-1).
            if cx.online_vanity.contains(&name) {
                continue;
            }
            let conns: Vec<&Connection> =
                cx.a.connections
                    .iter()
                    .filter(|c| {
                        c.packets > 0
                            && c.tls
                                .as_ref()
                                .and_then(|t| t.sni.as_deref())
                                .is_some_and(|s| s.eq_ignore_ascii_case(&name))
                    })
                    .collect();
            if conns.is_empty() {
                continue;
            }
            let certs: Vec<&CertificateInfo> = conns
                .iter()
                .filter_map(|c| c.tls.as_ref()?.certificate.as_ref())
                .collect();
            let uncovered = certs.iter().find(|c| !cert_covers_host(c, &name));
            let (severity, tail) = match (uncovered, certs.is_empty()) {
                (Some(cert), _) => (Fail, format!("It does not (names: {}).", cert_names(cert))),
                (None, true) => (
                    Warning,
                    "The certificate was not visible in the capture; make sure it does.".into(),
                ),
                (None, false) => continue,
            };
            let conn_ids: Vec<ConnId> = conns.iter().map(|c| c.id).collect();
            out.push(check.finding(
                severity,
                format!(
                    "{name} is a CNAME to {target} ({}), outside {d}, and the client connected \
                     to it over HTTPS ({}). A CNAME does not change the name the certificate \
                     is checked against: the certificate must still contain {name} (or *.{d}). \
                     {tail}",
                    dns_ref(l.id),
                    refs(&conn_ids, conn_ref),
                ),
                Vec::new(),
                vec![l.id],
                conn_ids,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::checks::fixtures::*;

    #[test]
    fn no_discovery_record_and_desktop_lookups() {
        let mut cap = Cap::new(time_base(2015, 6, 29, 19, 0));
        for name in [
            "lyncdiscoverinternal.contoso.com",
            "lyncdiscover.contoso.com",
        ] {
            cap.dns(CLIENT_B, "198.51.100.53", 0.0, name, 3, Vec::new());
        }
        cap.dns(
            CLIENT_B,
            "198.51.100.53",
            1.0,
            "_sipinternaltls._tcp.contoso.com",
            3,
            Vec::new(),
        );
        let f = cap.run();
        assert_eq!(
            checks_of(&f),
            vec![
                ("C-DNS-1".to_string(), Fail),
                ("C-FALLBACK-1".to_string(), Info)
            ]
        );
        let dns = find(&f, "C-DNS-1");
        assert_eq!(dns.dns, vec![DnsId(0), DnsId(1)]);
        assert!(
            dns.message.contains("D1 lyncdiscover.contoso.com NXDOMAIN"),
            "{}",
            dns.message
        );
        assert!(find(&f, "C-FALLBACK-1")
            .message
            .contains("_sipinternaltls._tcp.contoso.com"));
    }
}
