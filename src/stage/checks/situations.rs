//! The situations of the revised stage specification (docs/stages.md, docs/checks.md), each
//! built by hand and run through the whole stage layer: outcomes, findings and the verdict
//! line. The expectations are the specification's (its outcome table, the verdict example,
//! the checks' "never" clauses), not our own output.

use super::fixtures::*;
use crate::model::{Analysis, ConnId, DnsId, ExchId, Finding, FindingSeverity, Outcome, StageTag};

use FindingSeverity::{Fail, Info, Warning};

const PUBLIC_RESOLVER: &str = "198.51.100.53";
const ONLINE_IP: &str = "52.112.64.10";
const ROOT_PATH: &str = "/Autodiscover/AutodiscoverService.svc/root?originalDomain=contoso.com";
const TO1: &str = "cwt=AAEBHAEFAAAAAAAFFQAAAONLINEaliceO1xYz0";
const TO2: &str = "cwt=AAEBHAEFAAAAAAAFFQAAAONLINEaliceO2kQw7";
const WEBPOOL: &str = "webpoolbn11a01.infra.lync.com";
const APPS: &str = "/ucwa/oauth/v1/applications";
const APP_O: &str = "/ucwa/oauth/v1/applications/301234567890";

fn cert_online() -> crate::model::CertificateInfo {
    cert(
        "*.online.lync.com",
        &["*.online.lync.com", "online.lync.com", "*.infra.lync.com"],
        "CN=Microsoft RSA TLS CA 01, O=Microsoft Corporation",
        "2015-01-01",
        "2017-01-01",
    )
}

fn tag_of(a: &Analysis, id: ExchId) -> &StageTag {
    a.exchanges[id.0 as usize].stage.as_deref().unwrap()
}

fn conn_tag(a: &Analysis, id: ConnId) -> &StageTag {
    a.connections[id.0 as usize].stage.as_ref().unwrap()
}

fn findings_of<'a>(a: &'a Analysis, check: &str) -> Vec<&'a Finding> {
    a.findings.iter().filter(|f| f.check == check).collect()
}

fn none_of(a: &Analysis, checks: &[&str]) {
    for c in checks {
        assert!(
            findings_of(a, c).is_empty(),
            "{c} must not fire: {:#?}",
            findings_of(a, c)
        );
    }
}

/// The Online headers a director or webpool adds (docs/stages.md, SfB Online).
fn online_headers() -> Vec<(&'static str, String)> {
    vec![
        ("X-Ms-Correlation-Id", "2147489261".into()),
        (
            "X-Ms-Client-Request-Id",
            "9c3b5e1e-1b4c-4f1e-9a51-7e7c1c1d2e3f".into(),
        ),
        ("Strict-Transport-Security", "max-age=31536000".into()),
    ]
}

fn with_online(mut extra: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
    extra.extend(online_headers());
    extra
}

/// The challenge of an Online director or webpool: Bearer with Azure AD, MsRtcOAuth naming
/// the director `webdir` (shape of OfficeDev/skype-docs #347).
fn online_challenge(webdir: &str) -> Vec<(&'static str, String)> {
    with_online(vec![
        (
            "WWW-Authenticate",
            "Bearer trusted_issuers=\"00000001-0000-0000-c000-000000000000@*\", client_id=\"00000004-0000-0ff1-ce00-000000000000\", authorization_uri=\"https://login.windows.net/common/oauth2/authorize\"".into(),
        ),
        (
            "WWW-Authenticate",
            format!("MsRtcOAuth href=\"https://{webdir}/WebTicket/oauthtoken\",grant_type=\"urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password\""),
        ),
    ])
}

fn redirect_doc(self_host: &str, to: &str) -> String {
    format!(
        r#"{{"_links":{{"self":{{"href":"https://{self_host}{ROOT_PATH}"}},"redirect":{{"href":"https://{to}{ROOT_PATH}"}}}}}}"#
    )
}

/// An external phone signs in to SfB Online through `lyncdiscover.contoso.com` CNAMEd to
/// `webdir.online.lync.com`: HTTPS on the vanity name meets the Online certificate (the client
/// gives up with bad_certificate), HTTP/80 is answered by Online with a redirect, a chain of
/// two more directors (mixed-case links), the user resource on webdir0b, a web ticket from
/// webdir0b, the applications on a webpool. Returns the capture and the webpool connection.
fn online_until_applications(client: &str) -> (Cap, ConnId) {
    let mut cap = Cap::new(time_base(2016, 3, 1, 9, 0));
    cap.fqdn = "DM2A01FES07.infra.lync.com";
    cap.dns(
        client,
        PUBLIC_RESOLVER,
        0.0,
        "lyncdiscoverinternal.contoso.com",
        3,
        Vec::new(),
    );
    cap.dns(
        client,
        PUBLIC_RESOLVER,
        0.03,
        "lyncdiscover.contoso.com",
        0,
        vec![
            cname("lyncdiscover.contoso.com", "webdir.online.lync.com"),
            a_rec("webdir.online.lync.com", ONLINE_IP),
        ],
    );
    let intermediate = cert(
        "Microsoft RSA TLS CA 01",
        &[],
        "CN=Baltimore CyberTrust Root",
        "2015-01-01",
        "2020-01-01",
    );
    cap.tls_abort(
        client,
        &format!("{ONLINE_IP}:443"),
        0.08,
        "lyncdiscover.contoso.com",
        vec![cert_online(), intermediate],
        42,
    );
    let c80 = cap.tcp(client, &format!("{ONLINE_IP}:80"), 0.3, true, 8);
    cap.http(
        c80,
        0.3,
        0.1,
        get("lyncdiscover.contoso.com", "/?sipuri=alice@contoso.com")
            .h("Accept", "application/json"),
        Some((
            200,
            online_headers(),
            &redirect_doc("webdir.online.lync.com", "webdir1A.online.lync.com"),
        )),
    );
    // A chain of directors; the links name them in mixed case.
    let mut t = 0.5;
    for (ip, (host, next)) in [
        ("webdir1A.online.lync.com", Some("webdir0B.online.lync.com")),
        ("webdir0B.online.lync.com", None),
    ]
    .into_iter()
    .enumerate()
    {
        let addr = format!("52.112.64.{}", 11 + ip);
        cap.dns(
            client,
            PUBLIC_RESOLVER,
            t,
            &host.to_ascii_lowercase(),
            0,
            vec![a_rec(&host.to_ascii_lowercase(), &addr)],
        );
        let c = cap.tls(
            client,
            &format!("{addr}:443"),
            t + 0.02,
            host,
            cert_online(),
            false,
        );
        let doc = match next {
            Some(n) => redirect_doc(host, n),
            None => format!(
                r#"{{"_links":{{"self":{{"href":"https://{host}{ROOT_PATH}"}},"user":{{"href":"https://{host}{USER_PATH}"}},"xframe":{{"href":"https://{host}/Autodiscover/XFrame/XFrame.html"}}}}}}"#
            ),
        };
        cap.http(
            c,
            t + 0.05,
            0.1,
            get(host, ROOT_PATH),
            Some((200, online_headers(), &doc)),
        );
        if next.is_none() {
            let d = "webdir0b.online.lync.com";
            cap.http(
                c,
                t + 0.2,
                0.05,
                get(d, USER_PATH),
                Some((401, online_challenge(d), "")),
            );
            cap.http(
                c,
                t + 0.3,
                0.2,
                post(
                    d,
                    "/WebTicket/oauthtoken",
                    "grant_type=password&username=alice%40contoso.com&password=S3cret",
                ),
                Some((200, online_headers(), &token_body(TO1))),
            );
            let apps = format!(
                r#"{{"_links":{{"self":{{"href":"https://{d}{USER_PATH}"}},"applications":{{"href":"https://{WEBPOOL}{APPS}","revision":"2"}}}}}}"#
            );
            cap.http(
                c,
                t + 0.55,
                0.1,
                get(d, USER_PATH).h("Authorization", format!("Bearer {TO1}")),
                Some((200, online_headers(), &apps)),
            );
        }
        t += 0.3;
    }
    cap.dns(
        client,
        PUBLIC_RESOLVER,
        1.5,
        WEBPOOL,
        0,
        vec![a_rec(WEBPOOL, "52.112.65.20")],
    );
    cap.fqdn = "BN11A01FES03.infra.lync.com";
    let cp = cap.tls(
        client,
        "52.112.65.20:443",
        1.52,
        WEBPOOL,
        cert_online(),
        false,
    );
    // The mobile engine's unauthenticated metadata probe (stage ucwa-probe).
    cap.http(
        cp,
        1.55,
        0.05,
        get(WEBPOOL, APPS),
        Some((
            401,
            {
                let mut h = online_challenge("webdir0b.online.lync.com");
                h.push(("Content-Type", "text/html".into()));
                h
            },
            "<html><head><title>401 - Unauthorized: Access is denied due to invalid credentials.</title></head></html>",
        )),
    );
    (cap, cp)
}

fn create_app(cap: &mut Cap, conn: ConnId, t: f64, token: &str, answer: Answer<'_>) -> ExchId {
    cap.http(
        conn,
        t,
        0.2,
        post(
            WEBPOOL,
            APPS,
            r#"{"UserAgent":"SfBMobile","EndpointId":"e1","Culture":"en-US"}"#,
        )
        .h("Authorization", format!("Bearer {token}")),
        Some(answer),
    )
}

/// The webpool refuses the director's token: 403, `Warning: 120 … "InvalidToken"`, 28055 and
/// a fresh challenge (OfficeDev/skype-docs #347).
fn invalid_token_403() -> (u16, Vec<(&'static str, String)>, &'static str) {
    let mut h = online_challenge("webdir0b.online.lync.com");
    h.push((
        "Warning",
        "120 BN11A01FES03.infra.lync.com \"InvalidToken\"".into(),
    ));
    h.push((
        "X-Ms-diagnostics",
        "28055;source=\"BN11A01FES03.infra.lync.com\";reason=\"The OAuth token is invalid.\";faultcode=\"wsse:FailedAuthentication\"".into(),
    ));
    (403, h, "")
}

#[test]
fn online_vanity_cname_is_not_a_reverse_proxy_certificate_problem() {
    let (mut cap, cp) = online_until_applications(CLIENT_B);
    let app = create_app(
        &mut cap,
        cp,
        1.7,
        TO1,
        (201, online_headers(), &application_body(APP_O)),
    );
    cap.http(
        cp,
        2.0,
        0.1,
        post(WEBPOOL, &format!("{APP_O}/me/makeMeAvailable"), "{}")
            .h("Authorization", format!("Bearer {TO1}")),
        Some((204, online_headers(), "")),
    );
    cap.http(
        cp,
        2.2,
        0.1,
        get(WEBPOOL, &format!("{APP_O}/events?ack=1")).h("Authorization", format!("Bearer {TO1}")),
        Some((200, online_headers(), r#"{"_links":{"next":{"href":"x"}}}"#)),
    );
    let a = cap.analyze();
    // The HTTPS attempt on the vanity name is noise: discovery went on over HTTP (§1.0).
    assert_eq!(conn_tag(&a, ConnId(0)).outcome, Outcome::Noise);
    // C-DNS-3, C-CERT-1, C-CERT-2 are not reported for a name CNAMEd to Online (§4.2).
    none_of(
        &a,
        &[
            "C-DNS-3", "C-CERT-1", "C-CERT-2", "C-AUTH-5", "C-AUTH-2", "C-AUTH-4",
        ],
    );
    let online = findings_of(&a, "C-ONLINE-1");
    assert_eq!(online.len(), 1, "{:#?}", a.findings);
    assert_eq!(online[0].severity, Info);
    for needle in [
        "lyncdiscover.contoso.com is a CNAME to webdir.online.lync.com",
        "do not add names to any certificate",
        "no action needed",
    ] {
        assert!(
            online[0].message.contains(needle),
            "{needle}: {}",
            online[0].message
        );
    }
    // C-CERT-7 sees the abort, but not as a failure (the attempt is noise) and not as a name
    // problem to fix.
    let c7 = findings_of(&a, "C-CERT-7");
    assert!(c7.iter().all(|f| f.severity == Info), "{c7:#?}");
    assert!(c7.iter().all(|f| !f.message.contains("add lyncdiscover")));
    // The director chain: mixed-case links are followed, each root a redirect.
    let roots: Vec<&StageTag> = a
        .exchanges
        .iter()
        .map(|e| e.stage.as_deref().unwrap())
        .filter(|t| t.id.starts_with("ad-root"))
        .collect();
    assert_eq!(
        roots.iter().map(|t| t.outcome).collect::<Vec<_>>(),
        [Outcome::Redirect, Outcome::Redirect, Outcome::Ok]
    );
    assert!(roots[1].parent.is_some() && roots[2].parent.is_some());
    // The probe is its own stage, a challenge; the director's token is in scope on the webpool
    // that names the director: the application is created.
    let probe = tag_of(&a, ExchId(app.0 - 1));
    assert_eq!(
        (probe.id.as_str(), probe.outcome),
        ("ucwa-probe", Outcome::Challenge)
    );
    assert_eq!(probe.carries.as_deref(), Some("ucwa-application"));
    assert_eq!(tag_of(&a, app).outcome, Outcome::Ok);
    let s = &a.signin[0];
    assert_eq!(s.flow_label(), "external · SfB Online");
    assert!(s.signed_in);
    assert_eq!(s.furthest_stage.as_deref(), Some("event-channel"));
    assert!(
        s.verdict
            .starts_with("furthest: event-channel (ok) → signed in after"),
        "{}",
        s.verdict
    );
}

#[test]
fn online_vanity_cname_https_only_is_a_failure_with_a_client_fix() {
    // The client tries only HTTPS on the vanity name and stops (Web SDK apps).
    let mut cap = Cap::new(time_base(2016, 3, 1, 9, 0));
    cap.dns(
        CLIENT_B,
        PUBLIC_RESOLVER,
        0.0,
        "lyncdiscover.contoso.com",
        0,
        vec![
            cname("lyncdiscover.contoso.com", "webdir.online.lync.com"),
            a_rec("webdir.online.lync.com", ONLINE_IP),
        ],
    );
    cap.tls_abort(
        CLIENT_B,
        &format!("{ONLINE_IP}:443"),
        0.08,
        "lyncdiscover.contoso.com",
        vec![cert_online()],
        42,
    );
    let a = cap.analyze();
    assert_eq!(conn_tag(&a, ConnId(0)).outcome, Outcome::Fail);
    none_of(&a, &["C-DNS-3", "C-CERT-1", "C-CERT-2"]);
    let online = findings_of(&a, "C-ONLINE-1");
    assert_eq!(online[0].severity, Fail);
    assert!(
        online[0]
            .message
            .contains("tried only HTTPS on the vanity name")
            && online[0]
                .message
                .contains("https://webdir.online.lync.com/autodiscover"),
        "{}",
        online[0].message
    );
    // The verdict names the transport with the root it carried, explained by C-ONLINE-1.
    assert_eq!(
        a.signin[0].verdict,
        "furthest: dns-discovery (ok) → failed: tcp-tls for ad-root-https (C-ONLINE-1: bad_certificate)"
    );
}

#[test]
fn hybrid_redirect_on_the_vanity_name_keeps_the_certificate_checks() {
    // An on-premises Autodiscover answering on lyncdiscover with a redirect to Online is not
    // C-ONLINE-1: its `self` is the on-premises pool, its certificate the reverse proxy's
    // (docs/checks.md C-ONLINE-1).
    let mut cap = Cap::new(time_base(2016, 3, 1, 9, 0));
    cap.dns(
        CLIENT_B,
        PUBLIC_RESOLVER,
        0.0,
        "lyncdiscover.contoso.com",
        0,
        vec![
            cname("lyncdiscover.contoso.com", "webext-pool1.contoso.com"),
            a_rec("webext-pool1.contoso.com", "203.0.113.10"),
        ],
    );
    cap.tls(
        CLIENT_B,
        "203.0.113.10:443",
        0.05,
        "lyncdiscover.contoso.com",
        cert_ext_bad(),
        true,
    );
    let c80 = cap.tcp(CLIENT_B, "203.0.113.10:80", 0.3, true, 8);
    cap.http(
        c80,
        0.3,
        0.1,
        get("lyncdiscover.contoso.com", "/?sipuri=alice@contoso.com"),
        Some((
            200,
            Vec::new(),
            &redirect_doc("webext-pool1.contoso.com", "webdir1a.online.lync.com"),
        )),
    );
    let a = cap.analyze();
    none_of(&a, &["C-ONLINE-1"]);
    assert!(!findings_of(&a, "C-CERT-2").is_empty(), "{:#?}", a.findings);
    assert_eq!(a.signin[0].hosting.as_deref(), Some("hybrid"));
    assert_eq!(a.signin[0].flow_label(), "external · hybrid → SfB Online");
}

#[test]
fn token_rejected_on_application_creation_is_not_a_mobility_policy() {
    let (mut cap, cp) = online_until_applications(CLIENT_B);
    let app = create_app(&mut cap, cp, 1.7, TO1, invalid_token_403());
    let a = cap.analyze();
    let t = tag_of(&a, app);
    assert_eq!(t.outcome, Outcome::Fail);
    assert_eq!(t.rule, "token-rejected");
    // Never a policy refusal, never a reverse-proxy error; in scope, so C-AUTH-9 not C-AUTH-5.
    none_of(&a, &["C-POL-1", "C-NET-3", "C-AUTH-5"]);
    let rejected = findings_of(&a, "C-AUTH-9");
    assert_eq!(rejected.len(), 1, "{:#?}", a.findings);
    assert_eq!(rejected[0].severity, Fail);
    for needle in [
        "webpoolbn11a01.infra.lync.com rejected the web ticket on POST /ucwa/oauth/v1/applications",
        "28055: The OAuth token is invalid.",
        "Warning 120 BN11A01FES03.infra.lync.com \"InvalidToken\"",
        "The token came from webdir0b.online.lync.com",
        "not a mobility-policy refusal",
    ] {
        assert!(
            rejected[0].message.contains(needle),
            "{needle}: {}",
            rejected[0].message
        );
    }
    let s = &a.signin[0];
    assert_eq!(
        s.verdict,
        "furthest: ucwa-application (fail) → failed: ucwa-application (C-AUTH-9: 403 token rejected (28055))"
    );
}

#[test]
fn token_rejected_then_renewed_is_information_only() {
    let (mut cap, cp) = online_until_applications(CLIENT_B);
    create_app(&mut cap, cp, 1.7, TO1, invalid_token_403());
    let c = cap.tls(
        CLIENT_B,
        "52.112.64.12:443",
        2.0,
        "webdir0b.online.lync.com",
        cert_online(),
        false,
    );
    cap.http(
        c,
        2.05,
        0.2,
        post(
            "webdir0b.online.lync.com",
            "/WebTicket/oauthtoken",
            "grant_type=password&username=alice%40contoso.com&password=S3cret",
        ),
        Some((200, online_headers(), &token_body(TO2))),
    );
    let ok = create_app(
        &mut cap,
        cp,
        2.4,
        TO2,
        (201, online_headers(), &application_body(APP_O)),
    );
    let a = cap.analyze();
    assert_eq!(tag_of(&a, ok).outcome, Outcome::Ok);
    let rejected = findings_of(&a, "C-AUTH-9");
    assert_eq!(rejected[0].severity, Info, "{}", rejected[0].message);
    assert!(rejected[0].message.contains("the retry succeeded"));
    none_of(&a, &["C-POL-1"]);
    // The rejection was made good by a later ok of the same rank: no failed stage.
    assert_eq!(a.signin[0].failed_stage, None);
}

#[test]
fn out_of_scope_token_is_a_challenge_once_then_c_auth_5() {
    // A JWT for the director presented to the webpool: a challenge the first time (the pool asks
    // for a token of its own), C-AUTH-5 when refused again (docs/stages.md token scope).
    let (mut cap, cp) = online_until_applications(CLIENT_B);
    let c = cap.tls(
        CLIENT_B,
        "40.126.1.1:443",
        1.6,
        "login.windows.net",
        cert(
            "login.windows.net",
            &["login.windows.net"],
            "CN=Microsoft RSA TLS CA 02",
            "2015-01-01",
            "2017-01-01",
        ),
        false,
    );
    let jwt = "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJodHRwczovL3dlYmRpcjBiLm9ubGluZS5seW5jLmNvbSJ9.c2ln";
    cap.http(
        c,
        1.62,
        0.1,
        post(
            "login.windows.net",
            "/common/oauth2/token",
            "grant_type=password&resource=https%3A%2F%2Fwebdir0b.online.lync.com&client_id=x&username=alice%40contoso.com&password=y",
        ),
        Some((200, Vec::new(), &format!(r#"{{"token_type":"Bearer","expires_in":"3599","resource":"https://webdir0b.online.lync.com","access_token":"{jwt}"}}"#))),
    );
    let first = create_app(
        &mut cap,
        cp,
        1.8,
        jwt,
        (401, online_challenge("webdir0b.online.lync.com"), ""),
    );
    let second = create_app(
        &mut cap,
        cp,
        2.0,
        jwt,
        (401, online_challenge("webdir0b.online.lync.com"), ""),
    );
    let a = cap.analyze();
    let leg = tag_of(&a, ExchId(first.0 - 1));
    assert_eq!((leg.id.as_str(), leg.outcome), ("modern-auth", Outcome::Ok));
    assert_eq!(tag_of(&a, first).outcome, Outcome::Challenge);
    assert_eq!(tag_of(&a, second).outcome, Outcome::Fail);
    let scope = findings_of(&a, "C-AUTH-5");
    assert_eq!(scope.len(), 1, "{:#?}", a.findings);
    assert!(
        scope[0]
            .message
            .contains("audience is https://webdir0b.online.lync.com"),
        "{}",
        scope[0].message
    );
    none_of(&a, &["C-AUTH-9", "C-AUTH-2"]);
    let ma = findings_of(&a, "C-AUTH-11");
    assert_eq!(ma.len(), 1, "{:#?}", a.findings);
}

#[test]
fn folded_challenge_line_is_a_challenge_and_its_link_is_followed() {
    // One WWW-Authenticate line carrying Bearer and MsRtcOAuth (docs/stages.md challenge
    // parsing): the 401 is a challenge, and the token request is linked to it.
    let (mut cap, c2) = scenario_b_start();
    let host = "webext-pool1.contoso.com";
    let folded = vec![(
        "WWW-Authenticate",
        format!("Bearer trusted_issuers=\"\", client_id=\"00000004-0000-0ff1-ce00-000000000000\", MsRtcOAuth href=https://{host}/WebTicket/oauthtoken,grant_type=\"urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password\""),
    )];
    sign_in_legs_with(&mut cap, c2, 4.42, host, TB1, apps_on_pool1(), folded);
    let a = cap.analyze();
    // #0 root, #1 the user 401, #2 the first token POST.
    let user = tag_of(&a, ExchId(1));
    assert_eq!(
        (user.id.as_str(), user.outcome),
        ("ad-user-challenge", Outcome::Challenge)
    );
    let token = tag_of(&a, ExchId(2));
    assert_eq!(token.parent, Some(ExchId(1)));
    assert_eq!(
        token.via.as_deref(),
        Some("WWW-Authenticate MsRtcOAuth href")
    );
    none_of(&a, &["C-AUTH-4"]);
}

#[test]
fn offered_identity_provider_is_not_the_auth_path_taken() {
    let (mut cap, cp) = online_until_applications(CLIENT_B);
    create_app(
        &mut cap,
        cp,
        1.7,
        TO1,
        (201, online_headers(), &application_body(APP_O)),
    );
    let a = cap.analyze();
    let path = findings_of(&a, "C-AUTH-1");
    assert_eq!(path.len(), 1);
    assert_eq!(
        path[0].message,
        "auth path: MsRtcOAuth → password grant at webdir0b.online.lync.com; offered, not used: Azure AD (login.windows.net)"
    );
    // The host named only in the challenge is not a Lync host: a request there without
    // linkage stays unrelated.
    assert!(!a
        .findings
        .iter()
        .any(|f| f.message.contains("Modern authentication via")));

    // Looking the identity provider up is taking it.
    let (mut cap, _) = online_until_applications(CLIENT_B);
    cap.dns(
        CLIENT_B,
        PUBLIC_RESOLVER,
        1.6,
        "login.windows.net",
        0,
        vec![a_rec("login.windows.net", "40.126.1.1")],
    );
    let a = cap.analyze();
    let path = findings_of(&a, "C-AUTH-1");
    assert!(
        !path[0].message.contains("offered, not used"),
        "{}",
        path[0].message
    );
    let lookup = a
        .dns
        .iter()
        .find(|l| l.qname == "login.windows.net")
        .unwrap();
    assert_eq!(lookup.stage.as_ref().unwrap().id, "dns-hop");
}

#[test]
fn challenge_only_host_does_not_join_the_lync_host_set() {
    let (mut cap, _) = online_until_applications(CLIENT_B);
    let c = cap.tls(
        CLIENT_B,
        "40.126.1.1:443",
        1.6,
        "login.windows.net",
        cert(
            "login.windows.net",
            &["login.windows.net"],
            "CN=Microsoft RSA TLS CA 02",
            "2015-01-01",
            "2017-01-01",
        ),
        false,
    );
    // Another Office app's request on the same host: no IdP path, no Lync resource.
    let other = cap.http(
        c,
        1.65,
        0.1,
        get("login.windows.net", "/favicon.ico"),
        Some((200, Vec::new(), "x")),
    );
    let a = cap.analyze();
    assert_eq!(tag_of(&a, other).id, "unrelated");
}

#[test]
fn phone_not_trusting_the_internal_ca_fails_with_unknown_ca() {
    // Internal Wi-Fi, HTTP/80 not published, the HTTPS root on lyncdiscoverinternal meets a
    // certificate from the enterprise CA, which the phone does not trust: it sends unknown_ca.
    let mut cap = Cap::new(time_base(2015, 6, 29, 14, 0));
    cap.dns(
        CLIENT_A,
        "10.10.0.10",
        0.0,
        "lyncdiscoverinternal.contoso.com",
        0,
        vec![
            cname(
                "lyncdiscoverinternal.contoso.com",
                "webint-pool1.contoso.net",
            ),
            a_rec("webint-pool1.contoso.net", "10.10.1.50"),
        ],
    );
    cap.tcp(CLIENT_A, "10.10.1.50:80", 0.02, false, 3);
    let issuing = cert(
        "Contoso Issuing CA 01",
        &[],
        "CN=Contoso Root CA",
        "2014-01-01",
        "2024-01-01",
    );
    let mut leaf = cert_int_p1();
    leaf.issuer = "CN=Contoso Issuing CA 01".into();
    let c = cap.tls_abort(
        CLIENT_A,
        "10.10.1.50:443",
        4.0,
        "lyncdiscoverinternal.contoso.com",
        vec![leaf, issuing],
        48,
    );
    let a = cap.analyze();
    // An aborted handshake is fail, never unknown (§1.0).
    assert_eq!(conn_tag(&a, c).outcome, Outcome::Fail);
    assert_eq!(conn_tag(&a, c).carries.as_deref(), Some("ad-root-https"));
    let s = &a.signin[0];
    assert_eq!(s.flow.as_deref(), Some("internal"));
    assert_eq!(
        s.verdict,
        "furthest: dns-discovery (ok) → failed: tcp-tls for ad-root-https (C-CERT-7: unknown_ca)"
    );
    let c7 = findings_of(&a, "C-CERT-7");
    assert_eq!(c7.len(), 1);
    assert_eq!(c7[0].severity, Fail);
    for needle in [
        "fatal alert unknown_ca (48)",
        "carrying ad-root-https",
        "the device does not trust CN=Contoso Root CA",
        "install the enterprise root CA on the devices",
        "E_SslError (E2-2-2)",
    ] {
        assert!(
            c7[0].message.contains(needle),
            "{needle}: {}",
            c7[0].message
        );
    }
    // The aborted handshake is C-CERT-7's, not an informational C-CERT-4 (§4.2).
    none_of(&a, &["C-CERT-4", "C-CERT-1", "C-CERT-2"]);
}

#[test]
fn tls13_phone_not_trusting_the_ca_fails_though_the_alert_is_encrypted() {
    // The same phone on TLS 1.3 without a key log: the certificate and the alert are
    // encrypted; the client's only record after the server's flight has an encrypted alert's
    // length (docs/checks.md C-CERT-7, RFC 8446 §5.2).
    let mut cap = Cap::new(time_base(2015, 6, 29, 14, 0));
    cap.dns(
        CLIENT_A,
        "10.10.0.10",
        0.0,
        "lyncdiscoverinternal.contoso.com",
        0,
        vec![
            cname(
                "lyncdiscoverinternal.contoso.com",
                "webint-pool1.contoso.net",
            ),
            a_rec("webint-pool1.contoso.net", "10.10.1.50"),
        ],
    );
    cap.tcp(CLIENT_A, "10.10.1.50:80", 0.02, false, 3);
    let c = cap.tls13_abort(
        CLIENT_A,
        "10.10.1.50:443",
        4.0,
        "lyncdiscoverinternal.contoso.com",
        crate::model::AbortBy::EncryptedAlert,
    );
    let a = cap.analyze();
    // fail, never unknown (§1.0), though nothing was decrypted.
    let tag = conn_tag(&a, c);
    assert_eq!(tag.outcome, Outcome::Fail);
    assert_eq!(tag.carries.as_deref(), Some("ad-root-https"));
    assert!(
        tag.note
            .as_deref()
            .is_some_and(|n| n.contains("encrypted alert (not readable)")),
        "{:?}",
        tag.note
    );
    assert_eq!(
        a.signin[0].verdict,
        "furthest: dns-discovery (ok) → failed: tcp-tls for ad-root-https (C-CERT-7: encrypted \
         alert, not readable)"
    );
    let c7 = findings_of(&a, "C-CERT-7");
    assert_eq!(c7.len(), 1);
    assert_eq!(c7[0].severity, Fail);
    assert_eq!(c7[0].connections, vec![c]);
    for needle in [
        "TLS 1.3 to lyncdiscoverinternal.contoso.com (10.10.1.50:443, carrying ad-root-https)",
        "right after the server's encrypted flight",
        "no application data",
        "the alert is not readable",
        "SSLKEYLOGFILE",
    ] {
        assert!(
            c7[0].message.contains(needle),
            "{needle}: {}",
            c7[0].message
        );
    }
}

#[test]
fn tls13_close_after_the_encrypted_flight_uses_a_certificate_seen_elsewhere() {
    // The client closed (no record) after the encrypted flight; an earlier TLS 1.2 attempt to
    // the same name showed the certificate, so the message can name the likely cause.
    let mut cap = Cap::new(time_base(2015, 6, 29, 14, 0));
    cap.dns(
        CLIENT_A,
        "10.10.0.10",
        0.0,
        "lyncdiscoverinternal.contoso.com",
        0,
        vec![a_rec("lyncdiscoverinternal.contoso.com", "10.10.1.50")],
    );
    let issuing = cert(
        "Contoso Issuing CA 01",
        &[],
        "CN=Contoso Root CA",
        "2014-01-01",
        "2024-01-01",
    );
    let mut leaf = cert_int_p1();
    leaf.issuer = "CN=Contoso Issuing CA 01".into();
    let sni = "lyncdiscoverinternal.contoso.com";
    cap.tls_abort(
        CLIENT_A,
        "10.10.1.50:443",
        1.0,
        sni,
        vec![leaf, issuing],
        48,
    );
    let c = cap.tls13_abort(
        CLIENT_A,
        "10.10.1.50:443",
        4.0,
        sni,
        crate::model::AbortBy::Fin,
    );
    let a = cap.analyze();
    assert_eq!(conn_tag(&a, c).outcome, Outcome::Fail);
    assert!(a.signin[0]
        .verdict
        .ends_with("(C-CERT-7: client closed after the encrypted server flight)"));
    let c7 = findings_of(&a, "C-CERT-7");
    assert_eq!(c7.len(), 2, "one per kind of abort");
    let m = &c7
        .iter()
        .find(|f| f.connections == vec![c])
        .expect("the TLS 1.3 one")
        .message;
    assert!(m.contains("was closed by the client (no alert)"), "{m}");
    assert!(
        m.contains("The certificate lyncdiscoverinternal.contoso.com presented on C0"),
        "{m}"
    );
    assert!(
        m.contains("the device does not trust CN=Contoso Root CA"),
        "{m}"
    );
}

#[test]
fn ntlm_type_3_answered_401_is_a_failure() {
    let mut cap = Cap::new(time_base(2015, 6, 29, 18, 30));
    let host = "webext-pool1.contoso.com";
    let tok = "/WebTicket/oauthtoken";
    let c0 = cap.tls(CLIENT_B, "203.0.113.10:443", 0.0, host, cert_ext(), false);
    cap.http(
        c0,
        0.1,
        0.02,
        post(host, tok, GRANT).h("Authorization", format!("NTLM {}", ntlm(1))),
        Some((
            401,
            vec![("WWW-Authenticate", format!("NTLM {}", ntlm(2)))],
            "",
        )),
    );
    let t3 = cap.http(
        c0,
        0.2,
        0.02,
        post(host, tok, GRANT).h("Authorization", format!("NTLM {}", ntlm(3))),
        Some((
            401,
            vec![
                ("WWW-Authenticate", "Negotiate".into()),
                ("WWW-Authenticate", "NTLM".into()),
            ],
            "",
        )),
    );
    let a = cap.analyze();
    assert_eq!(tag_of(&a, ExchId(0)).outcome, Outcome::Challenge);
    // Never challenge (§1.0 outcome table).
    assert_eq!(tag_of(&a, t3).outcome, Outcome::Fail);
    assert_eq!(findings_of(&a, "C-AUTH-2")[0].severity, Fail);
}

fn http_root_redirected_elsewhere(https_after: bool) -> Analysis {
    let mut cap = Cap::new(time_base(2015, 6, 29, 18, 30));
    cap.fqdn = "";
    cap.dns(
        CLIENT_B,
        PUBLIC_RESOLVER,
        0.0,
        "lyncdiscover.contoso.com",
        0,
        vec![
            cname("lyncdiscover.contoso.com", "webext-pool1.contoso.com"),
            a_rec("webext-pool1.contoso.com", "203.0.113.10"),
        ],
    );
    let c80 = cap.tcp(CLIENT_B, "203.0.113.10:80", 0.05, true, 8);
    cap.http(
        c80,
        0.05,
        0.03,
        get("lyncdiscover.contoso.com", "/?sipuri=alice@contoso.com"),
        Some((
            302,
            vec![("Location", "https://www.contoso.com/".into())],
            "",
        )),
    );
    if https_after {
        let c = cap.tls(
            CLIENT_B,
            "203.0.113.10:443",
            0.2,
            "lyncdiscover.contoso.com",
            cert_ext(),
            false,
        );
        cap.fqdn = "fe01.contoso.net";
        cap.http(
            c,
            0.25,
            0.1,
            get("lyncdiscover.contoso.com", "/?sipuri=alice@contoso.com"),
            Some((200, Vec::new(), &root_links("webext-pool1.contoso.com"))),
        );
    }
    cap.analyze()
}

#[test]
fn http_root_redirected_to_another_domain_is_a_failed_attempt() {
    // Alone: fail, C-HTTP-1 W, and the failed stage of the sign-in.
    let a = http_root_redirected_elsewhere(false);
    assert_eq!(tag_of(&a, ExchId(0)).outcome, Outcome::Fail);
    let h = findings_of(&a, "C-HTTP-1");
    assert_eq!(h[0].severity, Warning);
    assert!(
        h[0].message.contains("http://lyncdiscover.contoso.com/ was answered by a redirect to https://www.contoso.com/")
            && h[0].message.contains("exclude lyncdiscover.contoso.com from the redirect rule"),
        "{}",
        h[0].message
    );
    assert_eq!(
        a.signin[0].verdict,
        "furthest: ad-root-http (fail) → failed: ad-root-http (C-HTTP-1: HTTP 302)"
    );
    // With a working HTTPS root afterwards: still fail (never redirect), C-HTTP-1 I, no failed
    // stage.
    let a = http_root_redirected_elsewhere(true);
    assert_eq!(tag_of(&a, ExchId(0)).outcome, Outcome::Fail);
    assert_eq!(findings_of(&a, "C-HTTP-1")[0].severity, Info);
    assert_eq!(a.signin[0].failed_stage, None);
}

#[test]
fn furthest_stage_is_the_event_channel_not_contacts() {
    // Scenario A: the P-GET still open at capture end is ok, and the event channel is the
    // furthest milestone; policies and MRAS are printed beside the verdict (§1.0b).
    let a = scenario_a().analyze();
    let pget = a.exchanges.last().unwrap().stage.as_deref().unwrap();
    assert_eq!(
        (pget.id.as_str(), pget.outcome),
        ("event-channel", Outcome::Ok)
    );
    let s = &a.signin[0];
    assert_eq!(s.furthest_stage.as_deref(), Some("event-channel"));
    assert_eq!(s.after_signin, ["policies", "MRAS"]);
    assert!(
        s.verdict
            .starts_with("furthest: event-channel (ok) + policies, MRAS → signed in after"),
        "{}",
        s.verdict
    );
}

#[test]
fn non_milestones_never_raise_the_furthest_stage() {
    // Contacts after makeMeAvailable, no event channel: the furthest stage is signed-in.
    let mut cap = scenario_a_start("10.20.0.10");
    let c3 = cap.tls(
        CLIENT_A,
        "10.20.0.10:443",
        0.585,
        "webext-pool1.contoso.com",
        cert_ext(),
        false,
    );
    let host = "webext-pool1.contoso.com";
    let bearer = format!("Bearer {TA1}");
    cap.http(
        c3,
        0.645,
        0.5,
        post(host, APPS, "{}").h("Authorization", bearer.clone()),
        Some((201, Vec::new(), &application_body(APP_A))),
    );
    cap.http(
        c3,
        2.5,
        0.2,
        post(host, &format!("{APP_A}/me/makeMeAvailable"), "{}").h("Authorization", bearer.clone()),
        Some((204, Vec::new(), "")),
    );
    cap.http(
        c3,
        3.0,
        0.1,
        get(host, &format!("{APP_A}/people/contacts")).h("Authorization", bearer),
        Some((200, Vec::new(), "{}")),
    );
    let a = cap.analyze();
    assert_eq!(a.signin[0].furthest_stage.as_deref(), Some("signed-in"));
    assert_eq!(a.signin[0].after_signin, ["contacts"]);
}

#[test]
fn ucwa_probe_never_makes_auth_findings() {
    // Three probes, each a 401 with Negotiate/NTLM/Basic and IIS HTML: a challenge each; no
    // C-AUTH-2, C-AUTH-4, C-AUTH-9 (docs/stages.md stage ucwa-probe).
    let (mut cap, c2) = external_until_user(apps_on_pool1());
    for t in [6.0, 6.5, 7.0] {
        cap.http(
            c2,
            t,
            0.05,
            get("webext-pool1.contoso.com", "/ucwa/v1/applications"),
            Some((
                401,
                vec![
                    ("WWW-Authenticate", "Negotiate".into()),
                    ("WWW-Authenticate", "NTLM".into()),
                    ("WWW-Authenticate", "Basic realm=\"webext-pool1.contoso.com\"".into()),
                    ("Content-Type", "text/html".into()),
                ],
                "<html><title>401 - Unauthorized: Access is denied due to invalid credentials.</title></html>",
            )),
        );
    }
    let a = cap.analyze();
    for e in &a.exchanges[a.exchanges.len() - 3..] {
        let t = e.stage.as_deref().unwrap();
        assert_eq!(
            (t.id.as_str(), t.outcome),
            ("ucwa-probe", Outcome::Challenge)
        );
    }
    none_of(&a, &["C-AUTH-2", "C-AUTH-4", "C-AUTH-9"]);
}

#[test]
fn on_premises_28032_with_iis_error_page_is_a_token_rejection_not_a_proxy_error() {
    // SfB Server answers a web ticket it does not take with 500, 28032 and IIS's HTML page
    // (mattermost-plugin-skype4business #9): C-AUTH-9, never C-NET-3.
    let (mut cap, c2) = external_until_user(apps_on_pool1());
    cap.fqdn = "";
    let app = cap.http(
        c2,
        6.0,
        0.1,
        post("webext-pool1.contoso.com", APPS, "{}").h("Authorization", format!("Bearer {TB1}")),
        Some((
            500,
            vec![
                (
                    "X-Ms-diagnostics",
                    "28032;source=\"fe01.contoso.net\";reason=\"The web ticket is invalid.\""
                        .into(),
                ),
                ("Content-Type", "text/html".into()),
                ("Server", "Microsoft-IIS/8.5".into()),
                ("Via", "1.1 rp.contoso.com".into()),
            ],
            "<html><title>500 - Internal server error.</title></html>",
        )),
    );
    let a = cap.analyze();
    assert_eq!(tag_of(&a, app).outcome, Outcome::Fail);
    none_of(&a, &["C-NET-3", "C-POL-1", "C-AUTH-5"]);
    assert_eq!(findings_of(&a, "C-AUTH-9")[0].severity, Fail);
}

#[test]
fn mobility_policy_only_on_policy_reasons() {
    // A cross-domain-origin 403 and a proxy's block page are no mobility policy.
    let (mut cap, c2) = external_until_user(apps_on_pool1());
    let host = "webext-pool1.contoso.com";
    cap.http(
        c2,
        6.0,
        0.1,
        post(host, APPS, "{}").h("Authorization", format!("Bearer {TB1}")).h("X-Ms-Origin", "https://app.example.com"),
        Some((403, Vec::new(), r#"{"code":"Forbidden","message":"Service does not allow a cross domain request from this origin."}"#)),
    );
    cap.fqdn = "";
    cap.http(
        c2,
        6.5,
        0.1,
        post(host, APPS, "{}").h("Authorization", format!("Bearer {TB1}")),
        Some((
            403,
            vec![
                ("Server", "BlueCoat".into()),
                ("Content-Type", "text/html".into()),
            ],
            "<html>Access denied by your organisation's web filter</html>",
        )),
    );
    let a = cap.analyze();
    none_of(&a, &["C-POL-1"]);
}

#[test]
fn cgnat_phone_on_an_external_flow_is_never_a_hairpin() {
    // A phone on mobile data behind carrier-grade NAT (100.64.0.0/10): lyncdiscoverinternal
    // fails, lyncdiscover answers; TCP to the public RP address is the normal external path,
    // even when it fails (docs/checks.md C-NET-1, C-NET-2).
    let cgnat = "100.72.15.9";
    let mut cap = Cap::new(time_base(2015, 6, 29, 18, 30));
    cap.dns(
        cgnat,
        "100.64.0.53",
        0.0,
        "lyncdiscoverinternal.contoso.com",
        3,
        Vec::new(),
    );
    cap.dns(
        cgnat,
        "100.64.0.53",
        0.03,
        "lyncdiscover.contoso.com",
        0,
        vec![
            cname("lyncdiscover.contoso.com", "webext-pool1.contoso.com"),
            a_rec("webext-pool1.contoso.com", "203.0.113.10"),
        ],
    );
    cap.tcp(cgnat, "203.0.113.10:443", 0.1, false, 4);
    let a = cap.analyze();
    assert_eq!(a.signin[0].flow.as_deref(), Some("external"));
    none_of(&a, &["C-NET-1", "C-NET-2"]);
    assert_eq!(a.signin[0].failed_stage.as_deref(), Some("tcp-tls"));
}

#[test]
fn wpad_is_unrelated_never_a_failure() {
    // The device looks up wpad names (NXDOMAIN, one timeout) and asks for /wpad.dat (404)
    // before discovery: sub-kind wpad, noise, never a failed stage, C-PROXY-3 W for the wait.
    let (mut cap, c2) = {
        let mut cap = Cap::new(time_base(2015, 6, 29, 18, 30));
        cap.dns(
            CLIENT_B,
            PUBLIC_RESOLVER,
            0.0,
            "wpad.guest.example.net",
            3,
            Vec::new(),
        );
        let w = cap.tcp(CLIENT_B, "198.51.100.60:80", 0.02, true, 6);
        cap.fqdn = "";
        cap.http(
            w,
            0.02,
            1.5,
            get("wpad", "/wpad.dat"),
            Some((404, vec![("Server", "nginx".into())], "")),
        );
        cap.fqdn = "fe02.contoso.net";
        cap.dns(
            CLIENT_B,
            PUBLIC_RESOLVER,
            1.6,
            "lyncdiscover.contoso.com",
            0,
            vec![
                cname("lyncdiscover.contoso.com", "webext-pool1.contoso.com"),
                a_rec("webext-pool1.contoso.com", "203.0.113.10"),
            ],
        );
        let c = cap.tls(
            CLIENT_B,
            "203.0.113.10:443",
            1.62,
            "lyncdiscover.contoso.com",
            cert_ext(),
            false,
        );
        (cap, c)
    };
    cap.http(
        c2,
        1.65,
        0.1,
        get("lyncdiscover.contoso.com", "/?sipuri=alice@contoso.com"),
        Some((200, Vec::new(), &root_links("webext-pool1.contoso.com"))),
    );
    let a = cap.analyze();
    let lookup = a.dns[0].stage.as_ref().unwrap();
    assert_eq!(
        (
            lookup.id.as_str(),
            lookup.subkind.as_deref(),
            lookup.outcome
        ),
        ("unrelated", Some("wpad"), Outcome::Noise)
    );
    let fetch = tag_of(&a, ExchId(0));
    assert_eq!(
        (fetch.id.as_str(), fetch.subkind.as_deref(), fetch.outcome),
        ("unrelated", Some("wpad"), Outcome::Noise)
    );
    let p = findings_of(&a, "C-PROXY-3");
    assert_eq!(p.len(), 1, "{:#?}", a.findings);
    assert_eq!(p[0].severity, Warning, "{}", p[0].message);
    assert!(
        p[0].message.contains("Wi-Fi HTTP proxy to Off"),
        "{}",
        p[0].message
    );
    assert!(
        a.findings.iter().all(|f| f.severity != Fail),
        "{:#?}",
        a.findings
    );
    assert_eq!(a.signin[0].failed_stage, None);
    assert_eq!(a.signin[0].dns, vec![DnsId(1)]);
}

#[test]
fn wpad_outside_dns_joins_the_device_lookups() {
    // A DHCP INFORM from the phone and a DISCOVER-time request from 0.0.0.0, with an LLMNR
    // query and a wpad DNS lookup: one device, one finding that counts them all (docs/checks.md
    // C-PROXY-3), never a failure.
    use crate::model::{WpadProbe, WpadProbeKind};
    let mut cap = Cap::new(time_base(2015, 6, 29, 18, 30));
    cap.dns(
        CLIENT_B,
        PUBLIC_RESOLVER,
        0.0,
        "wpad.contoso.com",
        3,
        Vec::new(),
    );
    for (kind, from, name, t) in [
        (WpadProbeKind::Dhcp, "0.0.0.0:68", "", 0.1),
        (WpadProbeKind::Dhcp, &format!("{CLIENT_B}:68")[..], "", 0.2),
        (
            WpadProbeKind::Llmnr,
            &format!("{CLIENT_B}:61000")[..],
            "wpad",
            0.3,
        ),
    ] {
        let at = crate::testkit::arrival(100 + (t * 10.0) as u64, cap.at(t).0);
        cap.a.wpad_probes.push(WpadProbe {
            kind,
            client: from.parse().unwrap(),
            name: name.into(),
            at,
        });
    }
    let a = cap.analyze();
    let p = findings_of(&a, "C-PROXY-3");
    assert_eq!(p.len(), 1, "{:#?}", a.findings);
    assert_eq!(p[0].severity, Info);
    assert!(
        p[0].message.contains(&format!(
            "The device {CLIENT_B} uses automatic proxy discovery (WPAD): 1 lookup of \
             wpad.contoso.com, 1 LLMNR query for WPAD, 2 DHCP requests for option 252 (WPAD) \
             between"
        )),
        "{}",
        p[0].message
    );
    assert!(p[0].message.contains("(NXDOMAIN ×1)"), "{}", p[0].message);
}

#[test]
fn director_token_on_the_webpool_naming_that_director_is_in_scope() {
    // A 401 with a fresh challenge to an in-scope token is a rejection (C-AUTH-9), not a wrong
    // pool (C-AUTH-5): docs/checks.md C-AUTH-5.
    let (mut cap, cp) = online_until_applications(CLIENT_B);
    let app = create_app(
        &mut cap,
        cp,
        1.7,
        TO1,
        (401, online_challenge("webdir0b.online.lync.com"), ""),
    );
    let a = cap.analyze();
    assert_eq!(tag_of(&a, app).outcome, Outcome::Fail);
    none_of(&a, &["C-AUTH-5"]);
    assert_eq!(findings_of(&a, "C-AUTH-9").len(), 1);
}

#[test]
fn leaf_without_its_intermediate_is_named() {
    // The reverse proxy sends only its leaf (public CA): the phone cannot build the chain and
    // answers unknown_ca; C-CERT-7 names the missing intermediate, C-CERT-3 warns (§03, §4.1).
    let mut cap = Cap::new(time_base(2015, 6, 29, 19, 0));
    cap.dns(
        CLIENT_B,
        PUBLIC_RESOLVER,
        0.0,
        "lyncdiscover.contoso.com",
        0,
        vec![
            cname("lyncdiscover.contoso.com", "webext-pool1.contoso.com"),
            a_rec("webext-pool1.contoso.com", "203.0.113.10"),
        ],
    );
    cap.tls_abort(
        CLIENT_B,
        "203.0.113.10:443",
        0.1,
        "lyncdiscover.contoso.com",
        vec![cert_ext()],
        48,
    );
    let a = cap.analyze();
    let c7 = findings_of(&a, "C-CERT-7");
    assert!(
        c7[0]
            .message
            .contains("the intermediate CN=Example Public CA G2 is not sent"),
        "{}",
        c7[0].message
    );
    let c3 = findings_of(&a, "C-CERT-3");
    assert_eq!(c3[0].severity, Warning);
    assert!(c3[0].message.contains("without the intermediate CA"));
}

/// Makes exchange `id` an HTTP/2 stream (a HAR entry); `reset`: the browser recorded the
/// stream error `net::ERR_HTTP_1_1_REQUIRED` and no response.
fn as_h2(cap: &mut Cap, id: ExchId, reset: bool) {
    let e = &mut cap.a.exchanges[id.0 as usize];
    e.http_version = crate::model::HttpVersion::Http2;
    if reset {
        e.response = None;
        e.annotations = Some(Box::new(crate::model::Annotations {
            origin: "HAR entry".into(),
            flags: crate::model::Flags::from_pairs([(
                "response._error",
                "net::ERR_HTTP_1_1_REQUIRED",
            )]),
            ..crate::model::Annotations::default()
        }));
    }
}

/// Makes exchange `id` an HTTP/2 stream seen in a capture that the server reset with
/// RST_STREAM HTTP_1_1_REQUIRED (RFC 9113 §7, error code 0xd), with no response.
fn as_h2_reset_in_capture(cap: &mut Cap, id: ExchId) {
    let e = &mut cap.a.exchanges[id.0 as usize];
    e.http_version = crate::model::HttpVersion::Http2;
    e.response = None;
    e.stream = Some(Box::new(crate::model::StreamInfo {
        id: 3,
        promised_by: None,
        reset: Some(crate::model::StreamReset {
            by_client: false,
            code: 0xd,
            name: "HTTP_1_1_REQUIRED".into(),
        }),
        ..Default::default()
    }));
}

fn token_leg_on_h2(retry: bool) -> Analysis {
    token_leg_on_h2_recorded(retry, false)
}

/// `packets`: the reset is an RST_STREAM of the capture, not a HAR's stream error.
fn token_leg_on_h2_recorded(retry: bool, packets: bool) -> Analysis {
    let (mut cap, c2) = scenario_b_start();
    let host = "webext-pool1.contoso.com";
    cap.http(
        c2,
        4.42,
        0.03,
        get(host, USER_PATH),
        Some((401, msrtc_challenge(host), "")),
    );
    let reset = cap.http(
        c2,
        4.5,
        0.01,
        post(host, "/WebTicket/oauthtoken", GRANT),
        Some((401, Vec::new(), "")),
    );
    if packets {
        as_h2_reset_in_capture(&mut cap, reset);
    } else {
        as_h2(&mut cap, reset, true);
    }
    if retry {
        let c = cap.tls(CLIENT_B, "203.0.113.10:443", 4.6, host, cert_ext(), false);
        cap.http(
            c,
            4.65,
            0.02,
            post(host, "/WebTicket/oauthtoken", GRANT),
            Some((
                401,
                vec![
                    ("WWW-Authenticate", "Negotiate".into()),
                    ("WWW-Authenticate", "NTLM".into()),
                ],
                "",
            )),
        );
    }
    cap.analyze()
}

#[test]
fn windows_auth_reset_on_http2() {
    // The token leg reset with HTTP_1_1_REQUIRED and repeated over HTTP/1.1: noise, I.
    let a = token_leg_on_h2(true);
    assert_eq!(tag_of(&a, ExchId(2)).outcome, Outcome::Noise);
    let h2 = findings_of(&a, "C-H2-1");
    assert_eq!(h2[0].severity, Info, "{}", h2[0].message);
    assert!(h2[0].message.contains("retried over HTTP/1.1"));
    // Not repeated: fail, F with the HTTP.sys fix, and the failed stage of the sign-in.
    let a = token_leg_on_h2(false);
    assert_eq!(tag_of(&a, ExchId(2)).outcome, Outcome::Fail);
    let h2 = findings_of(&a, "C-H2-1");
    assert_eq!(h2[0].severity, Fail);
    assert!(
        h2[0].message.contains("EnableHttp2Tls = 0"),
        "{}",
        h2[0].message
    );
    assert_eq!(
        a.signin[0].verdict,
        "furthest: ad-user-challenge (challenge) → failed: webticket-oauth (C-H2-1: net::ERR_HTTP_1_1_REQUIRED)"
    );
}

#[test]
fn windows_auth_reset_seen_as_rst_stream_in_a_capture() {
    let a = token_leg_on_h2_recorded(true, true);
    assert_eq!(tag_of(&a, ExchId(2)).outcome, Outcome::Noise);
    assert_eq!(findings_of(&a, "C-H2-1")[0].severity, Info);
    let a = token_leg_on_h2_recorded(false, true);
    assert_eq!(tag_of(&a, ExchId(2)).outcome, Outcome::Fail);
    assert_eq!(findings_of(&a, "C-H2-1")[0].severity, Fail);
    assert_eq!(
        a.signin[0].verdict,
        "furthest: ad-user-challenge (challenge) → failed: webticket-oauth (C-H2-1: HTTP_1_1_REQUIRED)"
    );
}

#[test]
fn ntlm_legs_carried_on_http2() {
    // NTLM legs on HTTP/2 streams (something in front of IIS speaks h2): W while sign-in
    // works.
    let (mut cap, c2) = external_until_user(apps_on_pool1());
    for id in 2..5 {
        as_h2(&mut cap, ExchId(id), false);
    }
    let _ = c2;
    let a = cap.analyze();
    let h2 = findings_of(&a, "C-H2-1");
    assert_eq!(h2.len(), 1, "{:#?}", a.findings);
    assert_eq!(h2[0].severity, Warning);
    assert!(h2[0].message.contains("NTLM is running over HTTP/2"));
}
