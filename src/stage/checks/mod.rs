//! The automatic checks, each as findings (docs/checks.md describes them; it is generated from
//! the table below).
//!
//! Every check reads what the classifier tagged (stages, outcomes, decoded authentication)
//! plus the raw facts (DNS answers, TCP handshakes, certificates, headers, body heads) and
//! says in plain words what it saw and what to do. A check whose evidence is not in the
//! capture stays silent rather than guessing. Trace archives (SAZ, HAR) carry no DNS or TCP
//! facts of the device, so the network checks only use connections rebuilt from packets.
//!
//! One family of checks per file; the table here is the only place a check id is written.
//! A new check is a row in `TABLE` and its function in the family's file.

mod ad;
mod auth;
mod cert;
mod context;
mod dns;
mod exchange;
#[cfg(test)]
mod fixtures;
mod h2;
mod http;
mod modern;
mod net;
mod online;
mod policy;
mod proxy;
#[cfg(test)]
mod situations;
mod source;
mod time;
mod ucwa;

pub(crate) use context::Check;
use context::Ctx;

use super::classify::Learned;
use super::rules::RuleSet;
use crate::model::{Analysis, ConnId, DnsId, ExchId, Finding, FindingSeverity};

use FindingSeverity::{Fail, Info, Warning};

/// Every check, in the order they run and docs/checks.md lists them. A row owns its id: the
/// functions get the row and build their findings from it. The severities and the evidence
/// are what docs/checks.md shows; `Check::finding` holds the functions to the severities.
pub(crate) const TABLE: &[Check] = &[
    Check {
        id: "C-DNS-1",
        title: "Discovery names do not resolve",
        severities: &[Fail],
        needs: "every lyncdiscover(internal) lookup of a domain failed, the external name was \
                refused, and no Autodiscover root of that domain answered",
        run: &[dns::discovery_unresolved],
    },
    Check {
        id: "C-DNS-2",
        title: "Internal discovery record missing or public",
        severities: &[Warning, Info],
        needs: "`lyncdiscoverinternal` fails while `lyncdiscover` resolves for a client that \
                resolved a Lync name to a private address (W); `lyncdiscoverinternal` resolves \
                for a client on a public address (I)",
        run: &[dns::internal_record],
    },
    Check {
        id: "C-DNS-3",
        title: "Discovery name is a CNAME into another domain",
        severities: &[Fail, Warning],
        needs: "a discovery name is a CNAME outside the SIP domain and TLS went to that name (F \
                when the certificate lacks it, W when the certificate was not seen); never for a \
                CNAME into SfB Online (C-ONLINE-1)",
        run: &[dns::cname_other_domain],
    },
    Check {
        id: "C-CERT-1",
        title: "Certificate does not cover the name asked for",
        severities: &[Fail, Warning],
        needs: "a certificate on a connection to a Lync host does not cover the SNI / Host (a \
                wildcard covers one label); W when requests went through anyway or the HTTP \
                Autodiscover root answered; never for the SfB Online certificate on a \
                lyncdiscover name CNAMEd to Online (C-ONLINE-1)",
        run: &[cert::name_not_covered],
    },
    Check {
        id: "C-CERT-2",
        title: "Certificate lacks the lyncdiscover name",
        severities: &[Fail, Warning],
        needs: "the same for `lyncdiscover(internal).<domain>`, with the reverse-proxy / FE \
                certificate fix; W when the HTTP Autodiscover root answered; never when the \
                name is CNAMEd to SfB Online (C-ONLINE-1)",
        run: &[cert::lyncdiscover_san],
    },
    Check {
        id: "C-CERT-3",
        title: "Certificate expired, not yet valid, or sent without its intermediate",
        severities: &[Fail, Warning],
        needs: "a certificate not yet valid or expired at the connection's time (Exchange \
                connections included) (F); the server sent only its leaf, not self-signed (W: \
                intermediate missing)",
        run: &[cert::validity],
    },
    Check {
        id: "C-CERT-4",
        title: "Certificate from an internal CA",
        severities: &[Info],
        needs: "the issuer is no public CA and is named like the organisation's own CA (\"Contoso \
                Issuing CA 01\") or as an issuing / enterprise CA, on a completed handshake (a \
                client that aborts on it is C-CERT-7)",
        run: &[cert::issued_by_internal_ca],
    },
    Check {
        id: "C-CERT-7",
        title: "Client rejected the server certificate",
        severities: &[Fail, Warning, Info],
        needs: "the client sent a fatal alert (42–46, 48), closed or reset the connection right \
                after the server's Certificate, with no request: names the alert and the likely \
                cause from the certificate and chain (name mismatch, internal CA not trusted, \
                intermediate missing, expired); TLS 1.3 without keys (certificate and alert \
                encrypted): the client closed, or sent only a record of an encrypted alert's \
                length (19 bytes), after the server's encrypted flight, with no application \
                data — said so, the alert not readable; F on the sign-in path, W when a later \
                attempt to the host went through, I when the attempt was noise",
        run: &[cert::client_rejected],
    },
    Check {
        id: "C-HTTP-1",
        title: "HTTP/80 of the discovery hosts",
        severities: &[Info, Warning],
        needs: "SYNs to :80 of a Lync host unanswered or reset (I); a 3xx on an Autodiscover \
                root: I within the Lync hosts; to a host outside them the attempt is `fail`, I \
                when a later HTTPS root answered, W otherwise",
        run: &[http::port_80],
    },
    Check {
        id: "C-H2-1",
        title: "Windows authentication over HTTP/2",
        severities: &[Info, Warning, Fail],
        needs: "an authentication leg reset with HTTP_1_1_REQUIRED (a trace archive's stream \
                error): I when the client repeated it over HTTP/1.1 within 5 s and got an \
                answer, F otherwise; NTLM / Negotiate legs carried on HTTP/2 (W, F with a type-3 \
                → 401)",
        run: &[h2::windows_auth_over_h2],
    },
    Check {
        id: "C-AD-1",
        title: "External client pointed to internal hosts",
        severities: &[Fail],
        needs: "an external client's Autodiscover answer says `AccessLocation=Internal` or names \
                hosts that do not resolve / resolve only to private addresses",
        run: &[ad::internal_links],
    },
    Check {
        id: "C-AD-2",
        title: "Sign-in domain differs from the discovery domain",
        severities: &[Warning],
        needs: "the `sipuri=` domain of an Autodiscover root request differs from the discovery \
                domain",
        run: &[ad::sipuri_domain],
    },
    Check {
        id: "C-AD-3",
        title: "User unknown to Autodiscover",
        severities: &[Fail],
        needs: "the authenticated user resource answered 404 / 410 (names the NTLM user)",
        run: &[ad::user_unknown],
    },
    Check {
        id: "C-AD-4",
        title: "Autodiscover redirect loop",
        severities: &[Fail],
        needs: "a redirect back to a URL that already redirected, or more than 10 redirects",
        run: &[ad::redirect_loop],
    },
    Check {
        id: "C-ONLINE-1",
        title: "lyncdiscover CNAMEd to SfB Online",
        severities: &[Info, Fail],
        needs: "a lyncdiscover(internal) name whose CNAME chain reaches `*.online.lync.com`, \
                whose TLS presented Microsoft's `*.lync.com` certificate, or whose root Online \
                answered itself: the certificate mismatch is inherent. I when discovery went on \
                (HTTP root answered, or requests to an Online director); F when the failed HTTPS \
                attempt was the last (no HTTP/80 attempt, or HTTP/80 unanswered, reset or \
                answered by something else)",
        run: &[online::vanity_cname],
    },
    Check {
        id: "C-AUTH-1",
        title: "Authentication path",
        severities: &[Info],
        needs: "the auth path per client, from what it did: MsRtcOAuth / SOAP web ticket / \
                modern auth → NTLM / Negotiate (user) at host; identity providers named only in \
                a challenge are \"offered, not used\"",
        run: &[auth::path_taken],
    },
    Check {
        id: "C-AUTH-2",
        title: "Credentials rejected",
        severities: &[Fail],
        needs: "NTLM type 3 answered 401 on the connection of its type 1 (from its first \
                occurrence), or the same URL answered 401 three times without success; never \
                counts the UCWA probe, first challenges or a host asking once for a token of its \
                own",
        run: &[auth::rejected_ntlm, auth::repeated_401],
    },
    Check {
        id: "C-AUTH-3",
        title: "NTLM handshake split across connections",
        severities: &[Fail],
        needs: "NTLM type 1 and type 3 on different TCP connections and no success (missing \
                load-balancer affinity)",
        run: &[auth::ntlm_split],
    },
    Check {
        id: "C-AUTH-4",
        title: "Reverse-proxy pre-authentication",
        severities: &[Fail],
        needs: "401 with Basic, a user challenge without an MsRtcOAuth or Bearer challenge \
                (parsed, folded lines included) or X-MS-WebTicketURL, `CookieAuth.dll`, an HTML \
                password form (reverse-proxy pre-authentication); never on the UCWA probe",
        run: &[auth::rp_preauth],
    },
    Check {
        id: "C-AUTH-5",
        title: "Token used outside its scope",
        severities: &[Fail],
        needs: "a token presented outside its scope (a web ticket off its pool and the hosts \
                that name its endpoint; a JWT off its audience) and rejected (28032, 28055, \
                28077, InvalidToken, or the challenge repeated); an SfB Online director's token \
                on a webpool that names that director is in scope",
        run: &[auth::ticket_other_pool],
    },
    Check {
        id: "C-AUTH-6",
        title: "X-Ms-diagnostics",
        severities: &[Info, Fail],
        needs: "every X-Ms-diagnostics, verbatim with its stage (F on a failed step)",
        run: &[auth::ms_diagnostics],
    },
    Check {
        id: "C-AUTH-9",
        title: "Token or web ticket rejected",
        severities: &[Fail, Info],
        needs: "a 401/403/500 to a request with a token, with X-Ms-diagnostics 28032/28033/ \
                28055/28056/28072/28077, `Warning: 1xx … \"InvalidToken\"`, \
                `faultcode=\"wsse:FailedAuthentication\"`, or a fresh challenge to a token valid \
                there; I when the client got a new token and the retry succeeded, F otherwise. \
                Not a policy refusal (C-POL-1 stays silent), not a server fault (C-NET-3 stays \
                silent)",
        run: &[auth::token_rejected],
    },
    Check {
        id: "C-AUTH-11",
        title: "Modern authentication (Azure AD / ADFS)",
        severities: &[Info, Warning, Fail],
        needs: "a Bearer `authorization_uri` offered by a Lync host; stage-24 exchanges, \
                lookups / connections of the identity provider, or a JWT presented to Lync \
                (taken). F when modern auth was taken and failed (an AADSTS/MSIS error, no DNS \
                answer, no connection, the JWT rejected) and nothing worked after; W when it was \
                offered, never contacted, and Windows authentication was refused (28029)",
        run: &[modern::modern_auth],
    },
    Check {
        id: "C-TIME-1",
        title: "Clock skew",
        severities: &[Warning],
        needs: "server `Date` vs capture time (median per host) off by more than 5 min; a web \
                ticket's SAML validity window vs `Date`",
        run: &[time::date_skew, time::saml_window],
    },
    Check {
        id: "C-TIME-2",
        title: "Slow steps",
        severities: &[Info],
        needs: "a response (or DNS answer) more than 5 s after its request; the event channel is \
                excluded",
        run: &[time::slow_steps],
    },
    Check {
        id: "C-NET-1",
        title: "Hairpin (NAT loopback)",
        severities: &[Fail, Info],
        needs: "a client whose flow is internal (the discovery name decided, not the client \
                address: a CGNAT or home-network phone on an external flow is never a hairpin) → \
                public address of a Lync host with no SYN-ACK (hairpin blocked); I when the \
                hairpin works",
        run: &[net::hairpin],
    },
    Check {
        id: "C-NET-2",
        title: "External web FQDN on the internal VIP",
        severities: &[Warning, Fail],
        needs: "for a client on an internal flow, an external web FQDN resolves to the same \
                address as an internal web FQDN (F when requests there failed or the \
                certificate lacks the name)",
        run: &[net::external_on_internal_vip],
    },
    Check {
        id: "C-NET-3",
        title: "Reverse-proxy errors",
        severities: &[Fail],
        needs: "a 5xx on a Lync step without `X-MS-Server-Fqdn`, from a proxy (`Via`, non-IIS \
                `Server`, 502–504); never a 500 carrying a token-rejection id (C-AUTH-9); on \
                the UCWA applications URL (the probe, stage 29, as stage 30) also a 403 / 404 \
                without `X-MS-Server-Fqdn`, token-rejection marker or policy reason: /ucwa is \
                not published on that host",
        run: &[net::rp_errors, ucwa::not_published],
    },
    Check {
        id: "C-NET-4",
        title: "No Front End affinity",
        severities: &[Warning],
        needs: "one UCWA application answered by several `X-MS-Server-Fqdn`",
        run: &[net::affinity],
    },
    Check {
        id: "C-PROXY-3",
        title: "Proxy auto-discovery (WPAD) during sign-in",
        severities: &[Info, Warning],
        needs: "lookups of `wpad…` names or `/wpad.dat` fetches by the device (tagged \
                `unrelated`, sub-kind `wpad`; never a failure), LLMNR (UDP 5355) and NetBIOS \
                (UDP 137) queries for `WPAD` and DHCP requests asking for option 252 (counted \
                in the message): I; W when a WPAD wait held up a \
                discovery or authentication request (ended ≤ 200 ms before it) for ≥ 1 s, or ≥ \
                3 s in all",
        run: &[proxy::wpad],
    },
    Check {
        id: "C-POL-1",
        title: "Mobility refused by policy",
        severities: &[Fail],
        needs: "a policy reason only: 403 on creating the UCWA application with \
                `MobileApplicationNoLongerAllowed`, \"not allowed to create mobile application\" \
                or an X-Ms-diagnostics reason naming a policy; never with a token-rejection \
                marker (C-AUTH-9), never the cross-domain-origin 403, never a proxy's page",
        run: &[policy::mobility_refused],
    },
    Check {
        id: "C-POL-2",
        title: "Media restricted to Wi-Fi",
        severities: &[Info],
        needs: "`audioOnlyOnWifi` / `videoOnlyOnWifi` / `sharingOnlyOnWifi` Enabled in the \
                policies",
        run: &[policy::wifi_only],
    },
    Check {
        id: "C-MEDIA-1",
        title: "Only intranet media relays",
        severities: &[Warning],
        needs: "an external client received only Intranet relays from MRAS",
        run: &[policy::relay_location],
    },
    Check {
        id: "C-MCX-1",
        title: "Mobility Service URL on the internal web FQDN",
        severities: &[Warning],
        needs: "Autodiscover gives `Internal/Mcx` without `External/Mcx`, or MCX went to the \
                internal host",
        run: &[policy::mcx_internal_url],
    },
    Check {
        id: "C-EXCH-1",
        title: "Exchange Autodiscover or EWS failed",
        severities: &[Warning],
        needs: "Exchange Autodiscover tried and no candidate succeeded (none still waiting), or \
                EWS answered only 401 / 403",
        run: &[exchange::autodiscover_failed, exchange::ews_denied],
    },
    Check {
        id: "C-SRC-1",
        title: "Fiddler trace",
        severities: &[Info],
        needs: "the input is a SAZ: names were resolved and connections made by the Fiddler PC, \
                not the device",
        run: &[source::saz_input],
    },
    Check {
        id: "C-FALLBACK-1",
        title: "Desktop SRV/A lookups",
        severities: &[Info],
        needs: "desktop SRV/A lookups (`dns-legacy-sip`) or SIP/TLS to 5061 in the capture",
        run: &[source::desktop_fallback],
    },
];

/// Runs every check of `TABLE` in order; findings come out sorted by severity (fail first),
/// check id, first evidence and message.
pub(crate) fn run(analysis: &Analysis, rules: &RuleSet, learned: &Learned) -> Vec<Finding> {
    let cx = Ctx::new(analysis, rules, learned);
    let mut out = Vec::new();
    for check in TABLE {
        for run in check.run {
            run(&cx, check, &mut out);
        }
    }
    for f in &mut out {
        f.exchanges.sort();
        f.exchanges.dedup();
        f.dns.sort();
        f.dns.dedup();
        f.connections.sort();
        f.connections.dedup();
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.check.cmp(&b.check))
            .then_with(|| first_evidence(a).cmp(&first_evidence(b)))
            .then_with(|| a.message.cmp(&b.message))
    });
    out
}

fn first_evidence(f: &Finding) -> (Option<ExchId>, Option<DnsId>, Option<ConnId>) {
    (
        f.exchanges.first().copied(),
        f.dns.first().copied(),
        f.connections.first().copied(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::checks::fixtures::*;

    #[test]
    fn scenario_a_internal_ca_and_video_on_wifi_only() {
        let f = scenario_a().run();
        // Expected tool result (A): I C-CERT-4, I C-POL-2, no failures (plus the auth path).
        assert_eq!(
            checks_of(&f),
            vec![
                ("C-AUTH-1".to_string(), Info),
                ("C-CERT-4".to_string(), Info),
                ("C-POL-2".to_string(), Info),
            ],
            "{f:#?}"
        );
        let ca = find(&f, "C-CERT-4");
        assert!(
            ca.message.contains("webint-pool1.contoso.net"),
            "{}",
            ca.message
        );
        assert!(
            ca.message.contains("Contoso Issuing CA 01"),
            "{}",
            ca.message
        );
        assert!(!ca.message.contains("webext-pool1"), "{}", ca.message);
        assert_eq!(ca.connections, vec![ConnId(1)]);
        let pol = find(&f, "C-POL-2");
        assert!(
            pol.message.starts_with("video restricted to Wi-Fi"),
            "{}",
            pol.message
        );
        let auth = find(&f, "C-AUTH-1");
        assert_eq!(
            auth.message,
            "auth path: MsRtcOAuth → NTLM (user CONTOSO\\alice) at webint-pool1.contoso.net"
        );
    }

    #[test]
    fn findings_are_deterministic_and_ordered() {
        let f1 = scenario_a().run();
        let f2 = scenario_a().run();
        assert_eq!(f1, f2);
        let mut c = Cap::new(time_base(2015, 6, 29, 19, 0));
        for name in [
            "lyncdiscoverinternal.contoso.com",
            "lyncdiscover.contoso.com",
        ] {
            c.dns(CLIENT_B, "198.51.100.53", 0.0, name, 3, Vec::new());
        }
        c.dns(
            CLIENT_B,
            "198.51.100.53",
            1.0,
            "sip.contoso.com",
            3,
            Vec::new(),
        );
        let f = c.run();
        let sev: Vec<FindingSeverity> = f.iter().map(|x| x.severity).collect();
        let mut sorted = sev.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(sev, sorted);
    }

    /// Ids are unique and every row runs something: a row per check id.
    #[test]
    fn every_row_has_its_own_id_and_a_function() {
        let mut ids: Vec<&str> = TABLE.iter().map(|c| c.id).collect();
        assert!(TABLE
            .iter()
            .all(|c| !c.run.is_empty() && !c.severities.is_empty()));
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), TABLE.len());
    }
}
