use super::lines::BODY_CAP;
use super::wrap::line_text;
use super::*;
use crate::model::{AuthLeg, Body, CaptureState, Exchange, NtlmMessage};
use crate::presentation::body::lossy;
use crate::testkit::{sample, ExchangeBuilder};
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;
use ratatui::Terminal;
use std::sync::OnceLock;

/// Scenario B, analysed once for all tests.
fn scenario_b() -> &'static Analysis {
    static B: OnceLock<Analysis> = OnceLock::new();
    B.get_or_init(|| {
        let mut opts = crate::Options {
            rules: Some(std::sync::Arc::new(crate::stage::RuleSet::builtin())),
            ..Default::default()
        };
        opts.http.keep_body_max = 1 << 20;
        let path = sample("lync/B-external-home-pool-redirect.pcapng");
        crate::analyze(&[path], &opts, &mut ()).unwrap()
    })
}

/// The exchange of a script step: method, host, path (without query) and status.
fn step(method: &str, host: &str, path: &str, status: Option<u16>) -> &'static Exchange {
    scenario_b()
        .exchanges
        .iter()
        .find(|x| {
            let Some(r) = &x.request else { return false };
            r.method == method
                && r.host() == Some(host)
                && r.target.split('?').next() == Some(path)
                && x.response.as_ref().map(|r| r.status) == status
        })
        .unwrap_or_else(|| panic!("no {method} {host}{path} {status:?}"))
}

/// #B09: the NTLM type 3 leg on pool 1 that got the OAuth token.
fn b09() -> &'static Exchange {
    let a = scenario_b();
    let legs: Vec<&Exchange> = a
        .exchanges
        .iter()
        .filter(|x| {
            x.request.as_ref().is_some_and(|r| {
                r.method == "POST"
                    && r.host() == Some("webext-pool1.contoso.com")
                    && r.target == "/WebTicket/oauthtoken"
            })
        })
        .collect();
    // B07, B08, B09 in order; B09 is the one answered 200.
    assert_eq!(legs.len(), 3);
    assert_eq!(legs[2].response.as_ref().unwrap().status, 200);
    legs[2]
}

/// #B18: UCWA application created on the home pool (JSON 201).
fn b18() -> &'static Exchange {
    step(
        "POST",
        "webext-pool2.contoso.com",
        "/ucwa/oauth/v1/applications",
        Some(201),
    )
}

fn text_of(lines: &[Line]) -> Vec<String> {
    lines.iter().map(line_text).collect()
}

type Find<'f> = &'f dyn Fn(&str) -> Vec<Range<usize>>;

fn draw(
    w: u16,
    h: u16,
    x: Option<&Exchange>,
    state: &mut DetailState,
    highlight: Option<Find>,
) -> Terminal<TestBackend> {
    let a = scenario_b();
    let notes = Notes::from_inputs(a);
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| {
        render_detail(
            f,
            f.area(),
            a,
            x,
            &notes,
            state,
            &Theme::plain(),
            true,
            highlight,
        )
    })
    .unwrap();
    term
}

fn snapshot_tab(name: &str, x: &Exchange, tab: DetailTab, raw: bool) {
    let mut state = DetailState {
        tab,
        scroll: 0,
        raw,
        fold: None,
    };
    let term = draw(100, 40, Some(x), &mut state, None);
    // The reviewed snapshots stay in views/snapshots/, where they were before detail.rs
    // became a folder; their names (from the module path) did not change.
    insta::with_settings!({ snapshot_path => "../snapshots" }, {
        insta::assert_snapshot!(name, term.backend());
    });
}

#[test]
fn snapshots_of_every_tab() {
    let ntlm3 = b09();
    snapshot_tab("b09_overview", ntlm3, DetailTab::Overview, false);
    snapshot_tab("b09_request", ntlm3, DetailTab::Request, false);
    snapshot_tab("b09_response", ntlm3, DetailTab::Response, false);
    snapshot_tab("b09_hex", ntlm3, DetailTab::Hex, false);
    snapshot_tab("b09_auth", ntlm3, DetailTab::Auth, false);
    let ucwa = b18();
    snapshot_tab("b18_overview", ucwa, DetailTab::Overview, false);
    snapshot_tab("b18_response", ucwa, DetailTab::Response, false);
    snapshot_tab("b18_response_raw", ucwa, DetailTab::Response, true);
}

#[test]
fn overview_shows_the_chain_the_server_sent() {
    let a = scenario_b();
    let lines = text_of(&detail_lines(
        a,
        b09(),
        &Notes::default(),
        DetailTab::Overview,
        false,
        &Theme::plain(),
    ));
    // Pool 1 sends CERT-EXT and "Example Public CA G2", not the root (samples/lync/README.md:
    // chain sent = leaf + issuing CA; make/pki: genrsa 2048).
    let chain = lines
        .iter()
        .find(|l| l.trim_start().starts_with("TLS chain"))
        .expect("a TLS chain line");
    assert!(
        chain.contains("webext-pool1.contoso.com (RSA 2048) ← Example Public CA G2 (RSA 2048, CA)")
            && chain.contains("issuer not sent: Example Public Root CA"),
        "{chain}"
    );
}

#[test]
fn overview_shows_stage_rule_and_parent_from_the_script() {
    let a = scenario_b();
    let notes = Notes::default();
    let t = Theme::plain();
    // B09: stage webticket-oauth, outcome ok (script).
    let x = b09();
    let tag = x.stage.as_deref().unwrap();
    let lines = text_of(&detail_lines(a, x, &notes, DetailTab::Overview, false, &t));
    let stage = lines
        .iter()
        .find(|l| l.trim_start().starts_with("Stage "))
        .unwrap();
    assert!(
        stage.contains("webticket-oauth") && stage.ends_with("ok"),
        "{stage}"
    );
    assert!(lines
        .iter()
        .any(|l| l.trim_start().starts_with("Rule") && l.ends_with(&tag.rule)));
    assert_eq!(tag.id, "webticket-oauth");
    // B18's parent is B17 (GET of the user URL on pool 2, answered 200), reached by
    // _links.applications.href (script: "_links.applications.href of B17").
    let b17 = step(
        "GET",
        "webext-pool2.contoso.com",
        "/Autodiscover/AutodiscoverService.svc/root/oauth/user",
        Some(200),
    );
    let lines = text_of(&detail_lines(
        a,
        b18(),
        &notes,
        DetailTab::Overview,
        false,
        &t,
    ));
    let parent = lines
        .iter()
        .find(|l| l.trim_start().starts_with("Parent"))
        .unwrap();
    assert!(parent.contains(&format!("← #{} GET", b17.id.0)), "{parent}");
    assert!(parent.contains("_links.applications.href"), "{parent}");
    // Stage id of B18 is ucwa-application; the connection is TLS, decrypted.
    assert!(lines.iter().any(|l| l.contains("ucwa-application")));
    assert!(lines
        .iter()
        .any(|l| l.trim_start().starts_with("Decrypted") && l.contains("yes")));
    assert!(lines
        .iter()
        .any(|l| l.contains("198.51.100.77:") && l.contains("203.0.113.11:443")));
}

#[test]
fn auth_tab_of_the_type_3_leg_names_the_user() {
    let a = scenario_b();
    let x = b09();
    assert!(matches!(
        x.auth.as_deref().and_then(|f| f.request.as_ref()),
        Some(AuthLeg::Ntlm(NtlmMessage::Authenticate { .. }))
            | Some(AuthLeg::Negotiate {
                ntlm: Some(NtlmMessage::Authenticate { .. }),
                ..
            })
    ));
    let lines = text_of(&detail_lines(
        a,
        x,
        &Notes::default(),
        DetailTab::Auth,
        false,
        &Theme::plain(),
    ));
    // Script: "type 3 (CONTOSO\alice @ ALICE-PHONE)".
    assert!(lines.iter().any(|l| l.contains("type 3")), "{lines:#?}");
    assert!(lines
        .iter()
        .any(|l| l.trim_start().starts_with("User") && l.ends_with("CONTOSO\\alice")));
    assert!(lines
        .iter()
        .any(|l| l.contains("Workstation") && l.ends_with("ALICE-PHONE")));
    // An exchange without auth says so.
    let plain = a.exchanges.iter().find(|x| x.auth.is_none()).unwrap();
    let lines = text_of(&detail_lines(
        a,
        plain,
        &Notes::default(),
        DetailTab::Auth,
        false,
        &Theme::plain(),
    ));
    assert_eq!(lines, vec!["no authentication".to_string()]);
}

#[test]
fn json_response_is_indented_and_raw_is_as_sent() {
    let a = scenario_b();
    let x = b18();
    let t = Theme::plain();
    let pretty = text_of(&detail_lines(
        a,
        x,
        &Notes::default(),
        DetailTab::Response,
        false,
        &t,
    ));
    // Script: "_embedded.me._links.makeMeAvailable of B18".
    let key = pretty
        .iter()
        .find(|l| l.trim_start().starts_with("\"makeMeAvailable\""))
        .expect("makeMeAvailable on its own line");
    assert!(key.starts_with("    "), "{key:?}");
    assert!(pretty.iter().any(|l| l.contains("json")));
    // Raw: the decoded body's own lines.
    let raw = text_of(&detail_lines(
        a,
        x,
        &Notes::default(),
        DetailTab::Response,
        true,
        &t,
    ));
    let body = x.response.as_ref().unwrap().body.bytes().unwrap();
    let sent = lossy(body);
    let first = sent.lines().next().unwrap();
    assert!(raw.iter().any(|l| l == first));
    assert!(raw.iter().any(|l| l.contains("as sent")));
}

#[test]
fn hex_tab_dumps_the_rebuilt_request_then_response() {
    let a = scenario_b();
    let lines = text_of(&detail_lines(
        a,
        b09(),
        &Notes::default(),
        DetailTab::Hex,
        false,
        &Theme::plain(),
    ));
    assert!(lines[0].starts_with("Request: head"));
    // "POST /We" in hex.
    assert!(
        lines[1].starts_with("00000000  50 4f 53 54 20 2f 57 65"),
        "{}",
        lines[1]
    );
    let resp = lines
        .iter()
        .position(|l| l.starts_with("Response: head"))
        .unwrap();
    // "HTTP/1.1 200".
    assert!(
        lines[resp + 1].contains("|HTTP/1.1 200 "),
        "{}",
        lines[resp + 1]
    );
}

#[test]
fn scroll_is_clamped_to_the_content() {
    let x = b18();
    let mut state = DetailState {
        tab: DetailTab::Response,
        scroll: usize::MAX,
        raw: false,
        fold: None,
    };
    let term = draw(100, 40, Some(x), &mut state, None);
    let a = scenario_b();
    let lines = detail_lines(
        a,
        x,
        &Notes::default(),
        DetailTab::Response,
        false,
        &Theme::plain(),
    );
    assert!(state.scroll < lines.len());
    assert!(state.scroll > 0);
    // The last line is on screen, the pane is full (no scrolling past the end).
    let last = line_text(lines.last().unwrap());
    let screen = term.backend().to_string();
    assert!(screen.contains(last.trim()), "{screen}");
    let mut less = DetailState {
        scroll: state.scroll - 1,
        ..state.clone()
    };
    draw(100, 40, Some(x), &mut less, None);
    assert_eq!(less.scroll, state.scroll - 1);
    // Nothing selected: the pane says so and resets.
    let mut none = DetailState {
        scroll: 7,
        ..Default::default()
    };
    let term = draw(60, 5, None, &mut none, None);
    assert!(term.backend().to_string().contains("no exchange selected"));
    assert_eq!(none.scroll, 0);
}

#[test]
fn search_hits_are_marked() {
    let x = b09();
    let mut state = DetailState {
        tab: DetailTab::Auth,
        ..Default::default()
    };
    let find = |line: &str| -> Vec<Range<usize>> {
        line.match_indices("alice")
            .map(|(i, m)| i..i + m.len())
            .collect()
    };
    let term = draw(100, 40, Some(x), &mut state, Some(&find));
    let buf = term.backend().buffer();
    let marked = (0..buf.area.height).any(|y| {
        (0..buf.area.width).any(|x| {
            let c = &buf[(x, y)];
            c.symbol() == "a" && c.modifier.contains(Modifier::UNDERLINED)
        })
    });
    assert!(marked);
}

/// An exchange with neither request nor response, on no connection.
fn bare() -> ExchangeBuilder {
    ExchangeBuilder::new(0)
        .connection(u32::MAX)
        .capture(CaptureState::Truncated)
}

fn bare_exchange() -> Exchange {
    bare().build()
}

#[test]
fn no_panic_without_messages_or_room() {
    let bare = bare_exchange();
    let a = scenario_b();
    for tab in DetailTab::ALL {
        let lines = detail_lines(a, &bare, &Notes::default(), tab, false, &Theme::plain());
        assert!(!lines.is_empty(), "{tab:?}");
        for raw in [false, true] {
            for (w, h) in [(0, 0), (1, 1), (2, 2), (5, 2), (10, 3), (3, 10), (40, 4)] {
                for x in [Some(&bare), Some(b09()), Some(b18()), None] {
                    let mut state = DetailState {
                        tab,
                        scroll: usize::MAX,
                        raw,
                        fold: Some(1),
                    };
                    let find = |line: &str| -> Vec<Range<usize>> {
                        // Ranges at and beyond the end, and inside characters, are ignored.
                        vec![0..1, line.len().saturating_sub(1)..line.len() + 5]
                    };
                    draw(w, h, x, &mut state, Some(&find));
                }
            }
        }
    }
    let lines = text_of(&detail_lines(
        a,
        &bare,
        &Notes::default(),
        DetailTab::Request,
        false,
        &Theme::plain(),
    ));
    assert!(lines[0].starts_with("no request"));
}

#[test]
fn tabs_cycle_both_ways() {
    let mut t = DetailTab::default();
    for expected in DetailTab::ALL.iter().cycle().skip(1).take(5) {
        t = t.next();
        assert_eq!(t, *expected);
    }
    assert_eq!(DetailTab::Overview.prev(), DetailTab::Auth);
    assert_eq!(DetailTab::Auth.next(), DetailTab::Overview);
    assert_eq!(DetailTab::Hex.title(), "Hex");
}

#[test]
fn big_bodies_are_capped_and_say_so() {
    let a = Analysis::default();
    let mut json = String::from("[");
    while json.len() < 1 << 20 {
        json.push_str("{\"href\":\"/ucwa/oauth/v1/applications/1/people\"},");
    }
    json.push_str("{}]");
    let bytes: std::sync::Arc<[u8]> = json.into_bytes().into();
    let x = bare()
        .status(200)
        .reason("OK")
        .response_header("Content-Type", "application/json")
        .response_body(Body {
            wire_length: bytes.len() as u64,
            decoded_length: Some(bytes.len() as u64),
            complete: true,
            content: crate::model::BodyContent {
                kept: Some(bytes.clone()),
                wire_kept: Some(bytes),
                ..Default::default()
            }
            .shared(),
            ..Default::default()
        })
        .build();
    let t = Theme::plain();
    for (tab, raw) in [
        (DetailTab::Response, false),
        (DetailTab::Response, true),
        (DetailTab::Hex, false),
    ] {
        let lines = text_of(&detail_lines(&a, &x, &Notes::default(), tab, raw, &t));
        let last = lines.last().unwrap();
        assert!(
            last.contains("only the first 256 KiB"),
            "{tab:?} {raw}: {last}"
        );
        let shown: usize = lines.iter().map(|l| l.len()).sum();
        assert!(shown < 2 << 20, "{tab:?} {raw}: {shown}");
    }
    // Hex: 16 bytes a line, so at most 256 KiB / 16 dump lines.
    let hex = detail_lines(&a, &x, &Notes::default(), DetailTab::Hex, false, &t);
    assert!(hex.len() <= BODY_CAP / 16 + 8);
}

#[test]
fn overview_of_a_saz_session_shows_the_proxy_facts_and_notes() {
    let mut opts = crate::Options {
        rules: Some(std::sync::Arc::new(crate::stage::RuleSet::builtin())),
        ..Default::default()
    };
    opts.http.keep_body_max = 1 << 20;
    let path = sample("lync/B-external-home-pool-redirect.saz");
    let a = crate::analyze(&[path], &opts, &mut ()).unwrap();
    // README: one Fiddler-generated "502 Fiddler - Connection Failed" for port 80, session 01,
    // from the phone at x-clientip 192.168.137.23.
    let x = a
        .exchanges
        .iter()
        .find(|x| x.response.as_ref().is_some_and(|r| r.status == 502))
        .unwrap();
    let mut notes = Notes::from_inputs(&a);
    notes.set_mark(x.id, true);
    notes.set_comment(x.id, Some("port 80 not published".into()));
    let lines = text_of(&detail_lines(
        &a,
        x,
        &notes,
        DetailTab::Overview,
        false,
        &Theme::plain(),
    ));
    let has = |label: &str, value: &str| {
        lines
            .iter()
            .any(|l| l.trim_start().starts_with(label) && l.contains(value))
    };
    assert!(has("Recorded as", "SAZ session 01"), "{lines:#?}");
    assert!(has("Made by proxy", "not the server"));
    assert!(has("Flag", "x-clientip = 192.168.137.23"));
    assert!(has("Mark", "marked"));
    assert!(has("Comment", "port 80 not published"));
    assert!(has("Proxy timer", "ClientBeginRequest"));
    // No frames in a trace archive.
    assert!(!lines.iter().any(|l| l.contains("frame")), "{lines:#?}");
}

#[test]
fn auth_tab_reads_every_kind_of_leg() {
    use crate::model::{AuthFacts, Challenge, MsDiagnostic, TokenRef};
    let a = Analysis::default();
    let mut x = bare_exchange();
    let tok = TokenRef {
        prefix: "cwt=AAEBHAEF".into(),
        sha256: "ab".repeat(32),
        cwt: true,
    };
    x.auth = Some(Box::new(AuthFacts {
        request: Some(AuthLeg::WebTicket {
            assertion_id: Some("SamlSecurityToken-1".into()),
            token: tok,
        }),
        challenges: vec![
            Challenge {
                scheme: "MsRtcOAuth".into(),
                params: vec![
                    ("href".into(), "https://fe/WebTicket/oauthtoken".into()),
                    ("grant_type".into(), "urn:microsoft.rtc:windows".into()),
                ],
                ntlm: None,
            },
            Challenge {
                scheme: "Negotiate".into(),
                params: vec![],
                ntlm: Some(NtlmMessage::Challenge {
                    flags: 0x0000_0201,
                    target: Some("CONTOSO".into()),
                    target_info: vec![("MsvAvDnsComputerName".into(), "fe02.contoso.net".into())],
                }),
            },
        ],
        diagnostics: vec![MsDiagnostic {
            code: Some(28032),
            source: Some("fe01.contoso.net".into()),
            reason: Some("The web ticket is invalid.".into()),
            fault: None,
            raw: "28032;source=\"fe01.contoso.net\";reason=\"The web ticket is invalid.\"".into(),
        }],
    }));
    let lines = text_of(&detail_lines(
        &a,
        &x,
        &Notes::default(),
        DetailTab::Auth,
        false,
        &Theme::plain(),
    ));
    let joined = lines.join("\n");
    for needle in [
        "X-MS-WebTicket",
        "SamlSecurityToken-1",
        "cwt=AAEBHAEF…",
        "1. MsRtcOAuth",
        "https://fe/WebTicket/oauthtoken",
        "urn:microsoft.rtc:windows",
        "2. Negotiate: NTLM type 2 (challenge)",
        "MsvAvDnsComputerName fe02.contoso.net",
        "0x00000201  UNICODE NTLM",
        "X-Ms-diagnostics",
        "28032",
        "The web ticket is invalid.",
        "fe01.contoso.net",
    ] {
        assert!(joined.contains(needle), "{needle} in\n{joined}");
    }
    x.auth = Some(Box::new(AuthFacts {
        request: Some(AuthLeg::Negotiate {
            ntlm: None,
            kerberos: true,
        }),
        ..Default::default()
    }));
    let lines = text_of(&detail_lines(
        &a,
        &x,
        &Notes::default(),
        DetailTab::Auth,
        false,
        &Theme::plain(),
    ));
    assert!(lines.iter().any(|l| l.contains("Kerberos")));
}
