//! Small captures built by hand after samples/lync/README.md (scenarios A–E, their topology,
//! certificates and tokens), run through the whole stage layer: what the families' tests share.

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine;

use crate::datetime::days_from_civil;
use crate::model::{
    AbortBy, Analysis, AppProtocol, Body, CertificateInfo, ChainCertificate, ClientAbort, ConnId,
    Dir, DnsData, DnsId, DnsLookup, DnsRecord, DnsResponse, DnsTransport, ExchId, Finding,
    FindingSeverity, Scheme, StreamEnd, TlsAlert, TlsInfo, Ts,
};
use crate::stage::{annotate, RuleSet};
use crate::testkit::{arrival, input, ConnectionBuilder, ExchangeBuilder};

pub(super) const CLIENT_A: &str = "10.50.12.34";
pub(super) const CLIENT_B: &str = "198.51.100.77";
pub(super) const TA1: &str = "cwt=AAEBHAEFAAAAAAAFFQAAAP1INTaliceA1xYz0";
pub(super) const TB1: &str = "cwt=AAEBHAEFAAAAAAAFFQAAAP1EXTaliceB1kQw7";
pub(super) const TB2: &str = "cwt=AAEBHAEFAAAAAAAFFQAAAP2EXTaliceB2mNr4";
pub(super) const USER_PATH: &str =
    "/Autodiscover/AutodiscoverService.svc/root/oauth/user?originalDomain=contoso.com";

pub(super) fn time_base(y: i64, m: i64, d: i64, h: i64, mi: i64) -> Ts {
    Ts::from_secs_nanos(days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60, 0)
}

/// IMF-fixdate of an instant (the `Date:` the sample servers send).
pub(super) fn http_date(t: Ts) -> String {
    crate::datetime::http_date(t)
}

pub(super) fn cert(cn: &str, sans: &[&str], issuer: &str, from: &str, to: &str) -> CertificateInfo {
    CertificateInfo {
        subject: format!("CN={cn}"),
        issuer: issuer.into(),
        sans: sans.iter().map(|s| s.to_string()).collect(),
        not_before: format!("{from}T00:00:00Z"),
        not_after: format!("{to}T00:00:00Z"),
    }
}

/// The pools' certificates of the worked internal sign-in (internal CA, pool and web names).
pub(super) fn cert_int_p1() -> CertificateInfo {
    cert(
        "webint-pool1.contoso.net",
        &[
            "webint-pool1.contoso.net",
            "pool1.contoso.net",
            "fe01.contoso.net",
            "fe02.contoso.net",
            "lyncdiscoverinternal.contoso.com",
            "lyncdiscover.contoso.com",
        ],
        "CN=Contoso Issuing CA 01",
        "2014-11-01",
        "2016-11-01",
    )
}
pub(super) fn cert_ext() -> CertificateInfo {
    cert(
        "webext-pool1.contoso.com",
        &[
            "webext-pool1.contoso.com",
            "webext-pool2.contoso.com",
            "lyncdiscover.contoso.com",
            "meet.contoso.com",
            "dialin.contoso.com",
        ],
        "CN=Example Public CA G2",
        "2015-01-15",
        "2017-01-15",
    )
}
pub(super) fn cert_ext_bad() -> CertificateInfo {
    cert(
        "webext-pool1.contoso.com",
        &[
            "webext-pool1.contoso.com",
            "webext-pool2.contoso.com",
            "meet.contoso.com",
            "dialin.contoso.com",
        ],
        "CN=Example Public CA G2",
        "2015-01-15",
        "2017-01-15",
    )
}
pub(super) fn cert_www() -> CertificateInfo {
    cert(
        "www.contoso.com",
        &["www.contoso.com"],
        "CN=Example Public CA G2",
        "2015-03-01",
        "2016-03-01",
    )
}
pub(super) fn cert_mail() -> CertificateInfo {
    cert(
        "mail.contoso.com",
        &["mail.contoso.com", "autodiscover.contoso.com"],
        "CN=Example Public CA G2",
        "2015-02-01",
        "2017-02-01",
    )
}

/// A structurally valid NTLMSSP message of type 1, 2 or 3 (type 3: CONTOSO\alice at
/// ALICE-PHONE), base64.
pub(super) fn ntlm(kind: u32) -> String {
    let mut b = b"NTLMSSP\0".to_vec();
    b.extend(kind.to_le_bytes());
    let unicode: u32 = 0x0000_0001 | 0x0000_0200 | 0x0008_0000;
    match kind {
        1 => {
            b.extend(unicode.to_le_bytes());
            b.extend([0u8; 16]);
        }
        2 => {
            b.extend([0u8; 8]); // target name
            b.extend(unicode.to_le_bytes());
            b.extend([0x11u8; 8]); // server challenge
            b.extend([0u8; 16]); // reserved, target info
        }
        _ => {
            let utf16 =
                |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect() };
            let (dom, user, ws) = (utf16("CONTOSO"), utf16("alice"), utf16("ALICE-PHONE"));
            let mut payload_at = 64u32;
            let mut fields = Vec::new();
            let mut payload = Vec::new();
            for part in [&[][..], &[][..], &dom[..], &user[..], &ws[..], &[][..]] {
                fields.extend((part.len() as u16).to_le_bytes());
                fields.extend((part.len() as u16).to_le_bytes());
                fields.extend(payload_at.to_le_bytes());
                payload.extend_from_slice(part);
                payload_at += part.len() as u32;
            }
            b.extend(fields);
            b.extend(unicode.to_le_bytes());
            b.extend(payload);
        }
    }
    base64::engine::general_purpose::STANDARD.encode(b)
}

pub(super) fn body(text: &str) -> Body {
    let bytes: Arc<[u8]> = Arc::from(text.as_bytes());
    Body {
        wire_length: text.len() as u64,
        decoded_length: Some(text.len() as u64),
        complete: true,
        content: crate::model::BodyContent {
            head: (!text.is_empty()).then_some(bytes),
            ..Default::default()
        }
        .shared(),
        ..Body::default()
    }
}

/// A response: status, headers (replacing the standard ones of the same name), body.
pub(super) type Answer<'x> = (u16, Vec<(&'x str, String)>, &'x str);

/// A capture under construction: connections, lookups and exchanges must be added in
/// time order (ids are indexes).
pub(super) struct Cap {
    pub(super) a: Analysis,
    pub(super) base: Ts,
    pub(super) fqdn: &'static str,
    /// Seconds the servers' clocks are ahead of the capture clock.
    pub(super) date_skew: f64,
}

pub(super) struct Msg<'x> {
    pub(super) method: &'x str,
    pub(super) target: &'x str,
    pub(super) host: &'x str,
    pub(super) headers: Vec<(&'x str, String)>,
    pub(super) body: &'x str,
}

pub(super) fn get<'x>(host: &'x str, target: &'x str) -> Msg<'x> {
    Msg {
        method: "GET",
        target,
        host,
        headers: Vec::new(),
        body: "",
    }
}

pub(super) fn post<'x>(host: &'x str, target: &'x str, body: &'x str) -> Msg<'x> {
    Msg {
        method: "POST",
        target,
        host,
        headers: Vec::new(),
        body,
    }
}

impl<'x> Msg<'x> {
    pub(super) fn h(mut self, name: &'x str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

impl Cap {
    pub(super) fn new(base: Ts) -> Cap {
        Cap {
            a: Analysis::default(),
            base,
            fqdn: "fe01.contoso.net",
            date_skew: 0.0,
        }
    }

    pub(super) fn at(&self, t: f64) -> Ts {
        Ts(self.base.0 + (t * 1e9).round() as i64)
    }

    pub(super) fn tcp(
        &mut self,
        client: &str,
        server: &str,
        t: f64,
        syn_ack: bool,
        packets: u64,
    ) -> ConnId {
        let id = ConnId(self.a.connections.len() as u32);
        let port = 50_000 + id.0 as u16;
        // One frame per connection, numbered in the order they were opened.
        let first = arrival(u64::from(id.0) + 1, self.at(t).0);
        self.a.connections.push(
            ConnectionBuilder::new(
                id.0,
                SocketAddr::new(client.parse().unwrap(), port),
                server.parse().unwrap(),
            )
            .seen(first, first)
            .packets(packets, 0)
            .end([StreamEnd::CaptureEnd, StreamEnd::CaptureEnd])
            .protocol(if syn_ack {
                AppProtocol::Http1
            } else {
                AppProtocol::Empty
            })
            .syn_ack(syn_ack)
            .build(),
        );
        id
    }

    /// A TLS connection the client abandoned right after the server's Certificate with the
    /// fatal alert `alert` (no request); `chain` = the certificates sent, leaf first.
    pub(super) fn tls_abort(
        &mut self,
        client: &str,
        server: &str,
        t: f64,
        sni: &str,
        chain: Vec<CertificateInfo>,
        alert: u8,
    ) -> ConnId {
        let leaf = chain.first().cloned().unwrap_or_default();
        let id = self.tls(client, server, t, sni, leaf, true);
        let at = arrival(0, self.at(t + 0.05).0);
        let subjects: Vec<String> = chain.iter().map(|c| c.subject.clone()).collect();
        let c = &mut self.a.connections[id.0 as usize];
        if let Some(tls) = c.tls.as_mut() {
            tls.chain = chain
                .into_iter()
                .map(|cert| ChainCertificate {
                    self_signed: cert.subject == cert.issuer,
                    issuer_in_chain: subjects.contains(&cert.issuer),
                    certificate: cert,
                    ..ChainCertificate::default()
                })
                .collect();
            tls.client_abort = Some(ClientAbort {
                by: AbortBy::Alert(alert),
                at,
                after_certificate: at,
                certificate_encrypted: false,
            });
            tls.alerts = vec![TlsAlert {
                from: Dir::ClientToServer,
                level: 2,
                description: alert,
                at,
                in_clear: true,
            }];
        }
        id
    }

    /// A TLS 1.3 connection without keys that the client abandoned `by` this right after
    /// the server's encrypted flight: no certificate, no alert readable, no request.
    pub(super) fn tls13_abort(
        &mut self,
        client: &str,
        server: &str,
        t: f64,
        sni: &str,
        by: AbortBy,
    ) -> ConnId {
        let id = self.tcp(client, server, t, true, 9);
        let at = arrival(0, self.at(t + 0.05).0);
        let c = &mut self.a.connections[id.0 as usize];
        c.protocol = AppProtocol::Tls;
        c.payload_bytes = [600, 3100];
        c.end = [StreamEnd::Fin, StreamEnd::Fin];
        c.tls = Some(TlsInfo {
            version: Some("TLS 1.3".into()),
            cipher_suite: Some("TLS_AES_128_GCM_SHA256".into()),
            sni: Some(sni.into()),
            client_hello: true,
            server_hello: true,
            reason: Some("TLS 1.3: only a key log can decrypt it, and none was given".into()),
            client_abort: Some(ClientAbort {
                by,
                at,
                after_certificate: at,
                certificate_encrypted: true,
            }),
            ..TlsInfo::default()
        });
        id
    }

    /// A TLS connection; `aborted`: the client sent certificate_unknown (46) right after the
    /// server's certificate and closed (no request), as the samples' client does.
    pub(super) fn tls(
        &mut self,
        client: &str,
        server: &str,
        t: f64,
        sni: &str,
        cert: CertificateInfo,
        aborted: bool,
    ) -> ConnId {
        let id = self.tcp(client, server, t, true, 12);
        let c = &mut self.a.connections[id.0 as usize];
        c.protocol = AppProtocol::Tls;
        c.payload_bytes = if aborted {
            [517, 3100]
        } else {
            [20_000, 60_000]
        };
        c.end = [StreamEnd::Fin, StreamEnd::Fin];
        c.tls = Some(TlsInfo {
            version: Some("TLS 1.2".into()),
            cipher_suite: Some("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384".into()),
            sni: Some(sni.into()),
            certificate: Some(cert),
            decrypted: !aborted,
            client_hello: true,
            server_hello: true,
            ..TlsInfo::default()
        });
        if aborted {
            let at = arrival(0, self.at(t + 0.05).0);
            if let Some(tls) = self.a.connections[id.0 as usize].tls.as_mut() {
                tls.client_abort = Some(ClientAbort {
                    by: AbortBy::Alert(46),
                    at,
                    after_certificate: at,
                    certificate_encrypted: false,
                });
            }
        }
        id
    }

    pub(super) fn dns(
        &mut self,
        client: &str,
        resolver: &str,
        t: f64,
        qname: &str,
        rcode: u8,
        answers: Vec<DnsRecord>,
    ) -> DnsId {
        let id = DnsId(self.a.dns.len() as u32);
        let (q, r) = (self.at(t), self.at(t + 0.012));
        self.a.dns.push(DnsLookup {
            id,
            transport: DnsTransport::Udp,
            client: SocketAddr::new(client.parse().unwrap(), 53_001 + id.0 as u16),
            server: SocketAddr::new(resolver.parse().unwrap(), 53),
            txid: 0x1a01 + id.0 as u16,
            qname: qname.into(),
            qtype: 1,
            query: Some(arrival(0, q.0)),
            response: Some(DnsResponse {
                arrival: arrival(0, r.0),
                rcode,
                truncated: false,
                answers,
            }),
            stage: None,
        });
        id
    }

    /// An exchange on `conn`; `resp` = (status, extra headers, body), sent `dt` seconds
    /// after the request. Lync answers carry the sample's standard headers.
    pub(super) fn http(
        &mut self,
        conn: ConnId,
        t: f64,
        dt: f64,
        req: Msg<'_>,
        resp: Option<Answer<'_>>,
    ) -> ExchId {
        let id = ExchId(self.a.exchanges.len() as u32);
        let https = self.a.connections[conn.0 as usize].server.port() != 80;
        let mut rh: Vec<(&str, String)> = vec![("Host", req.host.to_string())];
        rh.extend(req.headers.iter().map(|(n, v)| (*n, v.clone())));
        if !req.body.is_empty() {
            let ct = if req.body.starts_with('{') {
                "application/json"
            } else if req.body.starts_with('<') {
                "text/xml; charset=utf-8"
            } else {
                "application/x-www-form-urlencoded;charset=UTF-8"
            };
            rh.push(("Content-Type", ct.into()));
        }
        let (t0, t1) = (self.at(t), self.at(t + dt));
        let mut x = ExchangeBuilder::new(id.0)
            .connection(conn.0)
            .scheme(if https { Scheme::Https } else { Scheme::Http })
            .request(req.method, req.target)
            .headers(rh.iter().map(|(n, v)| (*n, v.as_str())))
            .body(body(req.body))
            .request_times(arrival(0, t0.0), arrival(0, t0.0));
        if let Some((status, headers, text)) = resp {
            // Headers given replace the standard ones of the same name.
            let mut h: Vec<(&str, String)> = vec![
                ("Server", "Microsoft-IIS/8.5".to_string()),
                ("Date", http_date(Ts(t1.0 + (self.date_skew * 1e9) as i64))),
                ("X-MS-Server-Fqdn", self.fqdn.to_string()),
            ];
            h.retain(|(n, _)| !headers.iter().any(|(x, _)| x.eq_ignore_ascii_case(n)));
            h.extend(headers);
            h.retain(|(_, v)| !v.is_empty());
            if !text.is_empty() && !h.iter().any(|(n, _)| *n == "Content-Type") {
                let ct = if text.starts_with('{') {
                    "application/json"
                } else {
                    "text/xml; charset=utf-8"
                };
                h.push(("Content-Type", ct.into()));
            }
            x = x
                .status(status)
                .response_headers(h.iter().map(|(n, v)| (*n, v.as_str())))
                .response_body(body(text))
                .response_times(arrival(0, t1.0), arrival(0, t1.0));
        }
        self.a.exchanges.push(x.build());
        self.a.connections[conn.0 as usize].exchanges.push(id);
        id
    }

    pub(super) fn run(self) -> Vec<Finding> {
        self.analyze().findings
    }

    /// The whole stage layer over the capture: stages, outcomes, findings, verdicts.
    pub(super) fn analyze(mut self) -> Analysis {
        self.a
            .inputs
            .push(input("hand-made.pcapng", "pcapng", &["ethernet"]));
        annotate(&mut self.a, &RuleSet::builtin());
        self.a
    }
}

pub(super) fn a_rec(name: &str, ip: &str) -> DnsRecord {
    DnsRecord {
        name: name.into(),
        rtype: 1,
        ttl: 3600,
        data: DnsData::A(ip.parse().unwrap()),
    }
}

pub(super) fn cname(name: &str, target: &str) -> DnsRecord {
    DnsRecord {
        name: name.into(),
        rtype: 5,
        ttl: 3600,
        data: DnsData::Name(target.into()),
    }
}

pub(super) fn user_links(host: &str, key: &str, href: &str) -> String {
    format!(
        r#"{{"_links":{{"self":{{"href":"https://{host}{USER_PATH}"}},"{key}":{{"href":"{href}"}},"xframe":{{"href":"https://{host}/Autodiscover/XFrame/XFrame.html"}}}}}}"#
    )
}

pub(super) fn root_links(host: &str) -> String {
    format!(
        r#"{{"_links":{{"self":{{"href":"https://{host}/Autodiscover/AutodiscoverService.svc/root?originalDomain=contoso.com"}},"user":{{"href":"https://{host}{USER_PATH}"}},"xframe":{{"href":"https://{host}/Autodiscover/XFrame/XFrame.html"}}}}}}"#
    )
}

pub(super) fn msrtc_challenge(host: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "WWW-Authenticate",
            "Bearer trusted_issuers=\"00000002-0000-0ff1-ce00-000000000000@contoso.com\", client_id=\"00000004-0000-0ff1-ce00-000000000000\"".into(),
        ),
        (
            "WWW-Authenticate",
            format!("MsRtcOAuth href=\"https://{host}/WebTicket/oauthtoken\",grant_type=\"urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password\""),
        ),
    ]
}

pub(super) fn token_body(token: &str) -> String {
    format!(
        r#"{{"access_token":"{token}","expires_in":28800,"ms_rtc_identityscope":"local","token_type":"Bearer"}}"#
    )
}

pub(super) const GRANT: &str = "grant_type=urn:microsoft.rtc:windows";

/// #A04–#A08 (or #B06–#B10): challenge, three NTLM legs on `conn`, authenticated user.
pub(super) fn sign_in_legs(
    cap: &mut Cap,
    conn: ConnId,
    t: f64,
    host: &str,
    token: &str,
    user: (u16, String),
) {
    sign_in_legs_with(cap, conn, t, host, token, user, msrtc_challenge(host));
}

/// The same legs, the user resource's 401 carrying `challenge`.
pub(super) fn sign_in_legs_with(
    cap: &mut Cap,
    conn: ConnId,
    t: f64,
    host: &str,
    token: &str,
    user: (u16, String),
    challenge: Vec<(&'static str, String)>,
) {
    cap.http(
        conn,
        t,
        0.028,
        get(host, USER_PATH).h("Accept", "application/json"),
        Some((401, challenge, "")),
    );
    let tok = "/WebTicket/oauthtoken";
    cap.http(
        conn,
        t + 0.038,
        0.02,
        post(host, tok, GRANT),
        Some((
            401,
            vec![
                ("WWW-Authenticate", "Negotiate".into()),
                ("WWW-Authenticate", "NTLM".into()),
            ],
            "",
        )),
    );
    cap.http(
        conn,
        t + 0.063,
        0.015,
        post(host, tok, GRANT).h("Authorization", format!("NTLM {}", ntlm(1))),
        Some((
            401,
            vec![("WWW-Authenticate", format!("NTLM {}", ntlm(2)))],
            "",
        )),
    );
    cap.http(
        conn,
        t + 0.083,
        0.285,
        post(host, tok, GRANT).h("Authorization", format!("NTLM {}", ntlm(3))),
        Some((200, Vec::new(), &token_body(token))),
    );
    cap.http(
        conn,
        t + 0.378,
        0.07,
        get(host, USER_PATH).h("Authorization", format!("Bearer {token}")),
        Some((user.0, Vec::new(), &user.1)),
    );
}

/// Scenario A #A01–#A09: internal client, up to the lookup of the external web FQDN,
/// which answers `ucwa_addr` (10.20.0.10 = internal RP VIP; 203.0.113.10 = variant E).
pub(super) fn scenario_a_start(ucwa_addr: &str) -> Cap {
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
    let c_http = cap.tcp(CLIENT_A, "10.10.1.50:80", 0.020, true, 8);
    let c_int = cap.tls(
        CLIENT_A,
        "10.10.1.50:443",
        0.070,
        "webint-pool1.contoso.net",
        cert_int_p1(),
        false,
    );
    cap.http(
        c_http,
        0.020,
        0.040,
        get(
            "lyncdiscoverinternal.contoso.com",
            "/?sipuri=alice@contoso.com",
        )
        .h("Accept", "application/json"),
        Some((200, Vec::new(), &root_links("webint-pool1.contoso.net"))),
    );
    let user = user_links(
        "webint-pool1.contoso.net",
        "applications",
        "https://webext-pool1.contoso.com/ucwa/oauth/v1/applications",
    );
    sign_in_legs(
        &mut cap,
        c_int,
        0.112,
        "webint-pool1.contoso.net",
        TA1,
        (200, user),
    );
    cap.dns(
        CLIENT_A,
        "10.10.0.10",
        0.570,
        "webext-pool1.contoso.com",
        0,
        vec![a_rec("webext-pool1.contoso.com", ucwa_addr)],
    );
    cap
}

pub(super) const APP_A: &str = "/ucwa/oauth/v1/applications/102146789012";

pub(super) fn application_body(prefix: &str) -> String {
    format!(
        r#"{{"culture":"en-US","_links":{{"self":{{"href":"{prefix}"}},"policies":{{"href":"{prefix}/policies"}},"events":{{"href":"{prefix}/events?ack=1"}}}},"_embedded":{{"me":{{"_links":{{"makeMeAvailable":{{"href":"{prefix}/me/makeMeAvailable"}}}},"rel":"me"}},"communication":{{"_links":{{"mediaRelayAccessToken":{{"href":"{prefix}/communication/mediaRelayAccessToken"}}}},"rel":"communication"}}}},"rel":"application"}}"#
    )
}

pub(super) const POLICIES_A19: &str = r#"{"rel":"policies","audioOnlyOnWifi":"Disabled","videoOnlyOnWifi":"Enabled","sharingOnlyOnWifi":"Disabled","telephonyMode":"AudioVideo","clientExchangeConnectivity":"Enabled","_links":{"self":{"href":"/ucwa/oauth/v1/applications/102146789012/policies"}}}"#;

pub(super) fn relays(list: &[(&str, &str, &str)]) -> String {
    let items: Vec<String> = list
        .iter()
        .map(|(h, ip, loc)| {
            format!(r#"{{"rel":"mediaRelay","host":"{h}","ipv4":"{ip}","location":"{loc}","tcpPort":443,"udpPort":3478}}"#)
        })
        .collect();
    format!(
        r#"{{"rel":"mediaRelayAccessToken","duration":480,"userName":"AgAAJN","password":"x","_embedded":{{"mediaRelay":[{}]}}}}"#,
        items.join(",")
    )
}

/// Scenario A: internal Wi-Fi, internal RP VIP (split-brain DNS), signed in.
pub(super) fn scenario_a() -> Cap {
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
        0.565,
        post(host, "/ucwa/oauth/v1/applications", r#"{"UserAgent":"Lync2013Mobile/5.4.1087","EndpointId":"9b1f2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d","Culture":"en-US"}"#)
            .h("Authorization", bearer.clone()),
        Some((201, Vec::new(), &application_body(APP_A))),
    );
    let mma = format!("{APP_A}/me/makeMeAvailable");
    cap.http(
        c3,
        2.5,
        0.28,
        post(
            host,
            &mma,
            r#"{"signInAs":"Online","supportedModalities":["Messaging"]}"#,
        )
        .h("Authorization", bearer.clone()),
        Some((204, Vec::new(), "")),
    );
    let pol = format!("{APP_A}/policies");
    cap.http(
        c3,
        2.8,
        0.05,
        get(host, &pol).h("Authorization", bearer.clone()),
        Some((200, Vec::new(), POLICIES_A19)),
    );
    let mras = format!("{APP_A}/communication/mediaRelayAccessToken");
    let relay_body = relays(&[
        ("edgeint.contoso.net", "10.30.0.5", "Intranet"),
        ("av.contoso.com", "203.0.113.22", "Internet"),
    ]);
    cap.http(
        c3,
        2.86,
        0.07,
        get(host, &mras).h("Authorization", bearer.clone()),
        Some((200, Vec::new(), &relay_body)),
    );
    // #A24: the pending long poll is not a failure and not slow.
    let ev = format!("{APP_A}/events?ack=2");
    cap.http(
        c3,
        3.91,
        0.0,
        get(host, &ev).h("Authorization", bearer),
        None,
    );
    cap
}

pub(super) fn checks_of(findings: &[Finding]) -> Vec<(String, FindingSeverity)> {
    findings
        .iter()
        .map(|f| (f.check.clone(), f.severity))
        .collect()
}

pub(super) fn find<'f>(findings: &'f [Finding], check: &str) -> &'f Finding {
    findings
        .iter()
        .find(|f| f.check == check)
        .unwrap_or_else(|| panic!("no {check} in {:#?}", checks_of(findings)))
}

/// Scenario B #B01–#B09 (external, port 80 dropped), as shared by variant D.
pub(super) fn scenario_b_start() -> (Cap, ConnId) {
    let mut cap = Cap::new(time_base(2015, 6, 29, 18, 30));
    cap.fqdn = "fe02.contoso.net";
    cap.dns(
        CLIENT_B,
        "198.51.100.53",
        0.0,
        "lyncdiscoverinternal.contoso.com",
        3,
        Vec::new(),
    );
    cap.dns(
        CLIENT_B,
        "198.51.100.53",
        0.035,
        "lyncdiscover.contoso.com",
        0,
        vec![
            cname("lyncdiscover.contoso.com", "webext-pool1.contoso.com"),
            a_rec("webext-pool1.contoso.com", "203.0.113.10"),
        ],
    );
    cap.tcp(CLIENT_B, "203.0.113.10:80", 0.085, false, 3);
    let c1 = cap.tls(
        CLIENT_B,
        "203.0.113.10:443",
        4.090,
        "lyncdiscover.contoso.com",
        cert_ext(),
        false,
    );
    cap.http(
        c1,
        4.265,
        0.1,
        get("lyncdiscover.contoso.com", "/?sipuri=alice@contoso.com"),
        Some((200, Vec::new(), &root_links("webext-pool1.contoso.com"))),
    );
    let c2 = cap.tls(
        CLIENT_B,
        "203.0.113.10:443",
        4.420,
        "webext-pool1.contoso.com",
        cert_ext(),
        false,
    );
    (cap, c2)
}

/// A small external sign-in up to the user resource, for single-check tests.
pub(super) fn external_until_user(user: (u16, String)) -> (Cap, ConnId) {
    let (mut cap, c2) = scenario_b_start();
    sign_in_legs(&mut cap, c2, 4.420, "webext-pool1.contoso.com", TB1, user);
    (cap, c2)
}

pub(super) fn apps_on_pool1() -> (u16, String) {
    (
        200,
        user_links(
            "webext-pool1.contoso.com",
            "applications",
            "https://webext-pool1.contoso.com/ucwa/oauth/v1/applications",
        ),
    )
}
