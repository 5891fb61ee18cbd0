//! Filter and search against hand-built exchanges and the bundled Lync samples (expected
//! sets come from each sample's `*.script.json`, the mock client's own record).

use super::*;
use crate::model::{Arrival, Body, Diagnostic, ExchId, Notes, Outcome, Scheme, Severity};
use crate::testkit::{arrival, AnalysisBuilder, ConnectionBuilder, ExchangeBuilder};
use std::sync::OnceLock;

// ---------------------------------------------------------------- hand-built exchanges

/// Capture time `ms` milliseconds in.
fn ts(ms: i64) -> i64 {
    1_000_000_000_000 + ms * 1_000_000
}

fn at(ms: i64) -> Option<Arrival> {
    Some(arrival(1, ts(ms)))
}

fn body(bytes: &[u8]) -> Body {
    Body {
        wire_length: bytes.len() as u64,
        decoded_length: Some(bytes.len() as u64),
        complete: true,
        content: crate::model::BodyContent {
            kept: Some(bytes.into()),
            ..Default::default()
        }
        .shared(),
        ..Default::default()
    }
}

/// A connection of nine packets over ten seconds, its exchanges not listed.
fn connection(id: u32, client: &str, server: &str, sni: Option<&str>) -> ConnectionBuilder {
    let b = ConnectionBuilder::new(id, client.parse().unwrap(), server.parse().unwrap())
        .seen(arrival(1, ts(0)), arrival(9, ts(10_000)))
        .packets(9, 900);
    match sni {
        Some(s) => b.tls(crate::model::TlsInfo {
            sni: Some(s.into()),
            decrypted: true,
            ..Default::default()
        }),
        None => b,
    }
}

struct X {
    conn: u32,
    method: &'static str,
    target: &'static str,
    host: Option<&'static str>,
    req_headers: Vec<(&'static str, &'static str)>,
    req_body: &'static [u8],
    status: Option<u16>,
    resp_headers: Vec<(&'static str, &'static str)>,
    resp_body: &'static [u8],
    start_ms: i64,
    ttfb_ms: i64,
    dur_ms: i64,
    stage: Option<(&'static str, Outcome)>,
}

impl Default for X {
    fn default() -> X {
        X {
            conn: 0,
            method: "GET",
            target: "/",
            host: Some("a.example"),
            req_headers: vec![],
            req_body: b"",
            status: Some(200),
            resp_headers: vec![],
            resp_body: b"",
            start_ms: 0,
            ttfb_ms: 10,
            dur_ms: 20,
            stage: None,
        }
    }
}

fn build(xs: Vec<X>) -> Analysis {
    let connections = [
        connection(0, "10.0.0.1:50101", "192.0.2.1:80", None),
        connection(1, "10.0.0.1:50102", "192.0.2.2:443", Some("secure.example")),
    ];
    let exchanges = xs.into_iter().enumerate().map(|(i, x)| {
        let mut b = ExchangeBuilder::new(i as u32)
            .connection(x.conn)
            .scheme(if x.conn == 1 {
                Scheme::Https
            } else {
                Scheme::Http
            })
            .request(x.method, x.target);
        if let Some(host) = x.host {
            b = b.host(host);
        }
        b = b
            .headers(x.req_headers.iter().copied())
            .body(body(x.req_body))
            .status(x.status)
            .reason("Whatever")
            .response_headers(x.resp_headers.iter().copied())
            .response_body(body(x.resp_body))
            .request_times(at(x.start_ms), at(x.start_ms + 1))
            .response_times(
                x.status.and(at(x.start_ms + x.ttfb_ms)),
                x.status.and(at(x.start_ms + x.dur_ms)),
            );
        if let Some((id, outcome)) = x.stage {
            b = b.stage(id, outcome, "r");
        }
        b
    });
    AnalysisBuilder::new()
        .connections(connections)
        .exchanges(exchanges)
        .build()
}

fn picked(a: &Analysis, notes: &Notes, f: &str) -> Vec<u32> {
    let filter = Filter::parse(f).unwrap_or_else(|e| panic!("{f}: {e}"));
    let via_select: Vec<u32> = filter.select(a, notes).iter().map(|i| i.0).collect();
    let via_matches: Vec<u32> = a
        .exchanges
        .iter()
        .filter(|x| filter.matches(a, notes, x))
        .map(|x| x.id.0)
        .collect();
    assert_eq!(
        via_select, via_matches,
        "{f}: matches and matches_with agree"
    );
    via_select
}

fn sample_set() -> Analysis {
    build(vec![
        // 0: plain GET, 200, small JSON
        X {
            resp_headers: vec![("Content-Type", "application/json")],
            resp_body: br#"{"name":"Zo\u00eb","k":"Value"}"#,
            ..Default::default()
        },
        // 1: POST over TLS, NTLM, 401, slow
        X {
            conn: 1,
            method: "POST",
            target: "/WebTicket/oauthtoken",
            host: Some("secure.example:443"),
            req_headers: vec![
                ("Authorization", "NTLM TlRMTVNTUAABAAAA"),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            req_body: b"grant_type=urn:microsoft.rtc:windows",
            status: Some(401),
            resp_headers: vec![("WWW-Authenticate", "MsRtcOAuth href=\"x\",grant_type=\"y\"")],
            start_ms: 1000,
            ttfb_ms: 600,
            dur_ms: 700,
            stage: Some(("webticket-oauth", Outcome::Challenge)),
            ..Default::default()
        },
        // 2: no response (pending long poll)
        X {
            target: "/events?ack=2",
            status: None,
            start_ms: 2500,
            stage: Some(("event-channel", Outcome::Unknown)),
            ..Default::default()
        },
        // 3: proxy-style absolute target, big body, 404 failing stage
        X {
            target: "http://proxy.example:8080/big",
            host: None,
            status: Some(404),
            resp_body: &[b'x'; 2048],
            start_ms: 3000,
            stage: Some(("ad-user", Outcome::Fail)),
            ..Default::default()
        },
        // 4: 204 on the TLS connection, user stage prefix sibling
        X {
            conn: 1,
            method: "DELETE",
            host: Some("secure.example"),
            status: Some(204),
            start_ms: 4000,
            stage: Some(("ad-user-challenge", Outcome::Ok)),
            ..Default::default()
        },
    ])
}

#[test]
fn blank_filter_matches_all() {
    let a = sample_set();
    let f = Filter::parse("  ").unwrap();
    assert!(f.is_empty());
    assert_eq!(f.text(), "  ");
    assert_eq!(picked(&a, &Notes::default(), ""), vec![0, 1, 2, 3, 4]);
}

#[test]
fn operators_on_hand_built_exchanges() {
    let a = sample_set();
    let n = Notes::default();
    let p = |f: &str| picked(&a, &n, f);
    assert_eq!(p("~m post"), vec![1]);
    assert_eq!(p("~u ^https://secure\\.example:443/webticket"), vec![1]);
    assert_eq!(p("~u ^http://proxy\\.example:8080/big$"), vec![3]);
    assert_eq!(p("oauthtoken"), vec![1]);
    assert_eq!(p("\"ack=2\""), vec![2]);
    assert_eq!(p("~d ^secure\\.example$"), vec![1, 4]);
    assert_eq!(p("~d proxy"), vec![3]);
    assert_eq!(p("~c 404"), vec![3]);
    assert_eq!(p("~c 4xx"), vec![1, 3]);
    assert_eq!(p("~c 2xx"), vec![0, 4]);
    assert_eq!(p("~h \"^authorization: ntlm\""), vec![1]);
    assert_eq!(p("~hq msrtcoauth"), Vec::<u32>::new());
    assert_eq!(p("~hs msrtcoauth"), vec![1]);
    assert_eq!(p("~b zo"), vec![0]);
    assert_eq!(p("~bq grant_type"), vec![1]);
    assert_eq!(p("~bs grant_type"), Vec::<u32>::new());
    assert_eq!(p("~t json"), vec![0]);
    assert_eq!(p("~tq form"), vec![1]);
    assert_eq!(p("~ts form"), Vec::<u32>::new());
    assert_eq!(p("~q"), vec![2]);
    assert_eq!(p("~s"), vec![0, 1, 3, 4]);
    assert_eq!(p("~stage ad-user"), vec![3]);
    assert_eq!(p("~stage ^ad-user"), vec![3, 4]);
    assert_eq!(p("~outcome fail"), vec![3]);
    assert_eq!(p("~err"), vec![1, 2, 3]);
    assert_eq!(p("~conn 1"), vec![1, 4]);
    assert_eq!(p("~conn :50101"), vec![0, 2, 3]);
    assert_eq!(p("~conn :443"), vec![1, 4]);
    assert_eq!(p("~src :50102$"), vec![1, 4]);
    assert_eq!(p("~dst ^192\\.0\\.2\\.1:"), vec![0, 2, 3]);
    assert_eq!(p("~tls"), vec![1, 4]);
    assert_eq!(p("~auth ntlm"), vec![1]);
    assert_eq!(p("~auth MsRtcOAuth"), vec![1]);
    assert_eq!(p("~auth bearer"), Vec::<u32>::new());
    assert_eq!(p("~all"), vec![0, 1, 2, 3, 4]);
    // Combinators.
    assert_eq!(p("~tls & !~c 401"), vec![4]);
    assert_eq!(p("~tls !~c 401"), vec![4]);
    assert_eq!(p("~q | ~c 404"), vec![2, 3]);
    assert_eq!(p("!(~q | ~c 404) ~s"), vec![0, 1, 4]);
}

#[test]
fn comparisons_with_units() {
    let a = sample_set();
    let n = Notes::default();
    let p = |f: &str| picked(&a, &n, f);
    assert_eq!(p("dur>500ms"), vec![1]);
    assert_eq!(p("dur > 0.5s"), vec![1]);
    assert_eq!(p("dur>500"), vec![1]);
    assert_eq!(p("dur<=20ms"), vec![0, 3, 4]);
    assert_eq!(p("ttfb>=600ms"), vec![1]);
    assert_eq!(p("ttfb<600000us"), vec![0, 3, 4]);
    assert_eq!(p("size>1KB"), vec![3]);
    assert_eq!(p("size>2KiB"), Vec::<u32>::new());
    assert_eq!(p("size>=2KiB"), vec![3]);
    assert_eq!(p("size=0"), vec![1, 4]);
    assert_eq!(p("reqsize>0"), vec![1]);
    assert_eq!(p("status>=400"), vec![1, 3]);
    assert_eq!(p("status!=200"), vec![1, 3, 4]);
    // A missing value never matches, not even !=.
    assert_eq!(p("status!=999"), vec![0, 1, 3, 4]);
    assert_eq!(p("time>=2.5"), vec![2, 3, 4]);
    assert_eq!(p("time<1s"), vec![0]);
    assert_eq!(p("time>=3000ms & time<4s"), vec![3]);
}

#[test]
fn marks_comments_and_diagnostics() {
    let mut a = sample_set();
    let mut notes = Notes::default();
    notes.set_mark(ExchId(4), true);
    notes.set_comment(ExchId(0), Some("Looks odd".into()));
    assert_eq!(picked(&a, &notes, "~marked"), vec![4]);
    assert!(Filter::parse("~q | !~marked").unwrap().depends_on_notes());
    assert!(Filter::parse("~comment x").unwrap().depends_on_notes());
    assert!(!Filter::parse("~q | ~c 200").unwrap().depends_on_notes());
    assert_eq!(picked(&a, &notes, "~comment odd"), vec![0]);
    assert_eq!(picked(&a, &notes, "!~marked ~tls"), vec![1]);
    // A diagnostic on an otherwise fine exchange makes it an error.
    let mut d = Diagnostic::new(Severity::Warning, "Body cut short by gap");
    d.exchange = Some(ExchId(4));
    a.diagnostics.push(d);
    assert_eq!(picked(&a, &notes, "~err"), vec![1, 2, 3, 4]);
    let s = Search::new("cut SHORT").unwrap();
    let ctx = MatchContext::new(&a, &notes);
    let hits: Vec<u32> = a
        .exchanges
        .iter()
        .filter(|x| s.matches_with(&ctx, x))
        .map(|x| x.id.0)
        .collect();
    assert_eq!(hits, vec![4]);
    assert_eq!(ctx.diagnostics_of(ExchId(4)).count(), 1);
    assert_eq!(ctx.diagnostics_of(ExchId(3)).count(), 0);
    // Search covers the user's comment too.
    assert!(Search::new("LOOKS")
        .unwrap()
        .matches(&a, &notes, &a.exchanges[0]));
}

#[test]
fn search_is_case_insensitive_and_regex_in_slashes() {
    let a = sample_set();
    let n = Notes::default();
    let hits = |t: &str| -> Vec<u32> {
        let s = Search::new(t).unwrap();
        a.exchanges
            .iter()
            .filter(|x| s.matches(&a, &n, x))
            .map(|x| x.id.0)
            .collect()
    };
    assert_eq!(hits("VALUE"), vec![0]);
    assert_eq!(hits("MSRTCOAUTH"), vec![1]);
    assert_eq!(hits("secure.example"), vec![1, 4]);
    assert_eq!(hits("/ack=[0-9]/"), vec![2]);
    // Not a regex without slashes: "." is literal.
    assert_eq!(hits("e*x"), Vec::<u32>::new());
    assert_eq!(hits("/e*x/").len(), 5);
    assert!(Search::new("").is_err());
    assert_eq!(Search::new("//").unwrap_err().message, "empty regex");
    let e = Search::new("/(a/").unwrap_err();
    assert!(e.message.starts_with("bad regex"), "{e}");
    assert_eq!(e.position, 1);
    // "/" alone is text.
    assert!(Search::new("/").is_ok());
}

#[test]
fn find_in_gives_byte_ranges() {
    let s = Search::new("ab").unwrap();
    assert_eq!(s.find_in("xAByabAB"), vec![1..3, 4..6, 6..8]);
    let s = Search::new("zoë").unwrap();
    let line = "Name: ZOË and zoë";
    let r = s.find_in(line);
    assert_eq!(r.len(), 2);
    assert_eq!(&line[r[0].clone()], "ZOË");
    // Empty matches are not hits.
    assert!(Search::new("/x*/").unwrap().find_in("abc").is_empty());
}

#[test]
fn help_lists_every_operator() {
    let help: String = syntax_help()
        .iter()
        .map(|(s, _)| *s)
        .collect::<Vec<_>>()
        .join(" ");
    for op in [
        "~u", "~d", "~m", "~c", "~h", "~hq", "~b", "~bs", "~t", "~ts", "~q", "~s", "~stage",
        "~outcome", "~err", "~conn", "~src", "~dst", "~tls", "~auth", "~marked", "~comment",
        "~all", "dur", "ttfb", "size", "reqsize", "status", "time",
    ] {
        assert!(help.contains(op), "{op} missing from help");
    }
}

#[test]
fn error_display_names_column() {
    let e = Filter::parse("~q & ~zz").unwrap_err();
    assert_eq!(e.to_string(), "unknown operator ~zz (at column 6)");
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn parse_never_panics(s in "\\PC{0,64}") {
            let _ = Filter::parse(&s);
            let _ = Search::new(&s);
        }

        #[test]
        fn parse_never_panics_on_filter_like_text(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("~c"), Just("~u"), Just("~stage"), Just("~conn"), Just("!"), Just("&"),
                    Just("|"), Just("("), Just(")"), Just("\""), Just("'"), Just("404"),
                    Just("dur>"), Just("size>=1MB"), Just("x"), Just(" "), Just("é"), Just("\\"),
                    Just(":"), Just("4xx"), Just("~"), Just("status"), Just("<"), Just("=")
                ],
                0..24,
            )
        ) {
            let text: String = parts.concat();
            if let Err(e) = Filter::parse(&text) {
                prop_assert!(e.position <= text.len());
            }
        }

        #[test]
        fn find_in_ranges_are_char_boundaries(needle in "\\PC{1,4}", hay in "\\PC{0,40}") {
            if let Ok(s) = Search::new(&needle) {
                for r in s.find_in(&hay) {
                    prop_assert!(hay.is_char_boundary(r.start) && hay.is_char_boundary(r.end));
                    prop_assert!(r.start < r.end);
                }
            }
        }
    }
}

// ---------------------------------------------------------------- bundled samples

fn analyze_sample(rel: &str) -> Analysis {
    let mut opts = crate::Options {
        rules: Some(std::sync::Arc::new(crate::stage::RuleSet::builtin())),
        ..Default::default()
    };
    opts.http.keep_body_max = 1 << 20;
    crate::analyze(&[crate::testkit::sample(rel)], &opts, &mut ()).unwrap()
}

/// One HTTP step of a script: what the client sent and got.
#[derive(Debug)]
struct Step {
    id: String,
    method: String,
    url: String,
    status: Option<u16>,
    stage: String,
    outcome: String,
    connection: String,
}

fn http_steps(script: &str) -> Vec<Step> {
    let text = std::fs::read_to_string(crate::testkit::sample(script)).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "http")
        .map(|s| Step {
            id: s["step"].as_str().unwrap().into(),
            method: s["method"].as_str().unwrap().into(),
            url: s["url"].as_str().unwrap().into(),
            status: s["status"].as_u64().map(|n| n as u16),
            stage: s["stage"].as_str().unwrap().into(),
            outcome: s["outcome"].as_str().unwrap().into(),
            connection: s["connection"].as_str().unwrap().into(),
        })
        .collect()
}

struct Sample {
    a: Analysis,
    steps: Vec<Step>,
}

/// The analysis and its script, with the steps lined up with the exchanges (the client's
/// order is the order of the first request byte, as the model's).
fn sample(which: &str) -> &'static Sample {
    static A: OnceLock<Sample> = OnceLock::new();
    static D: OnceLock<Sample> = OnceLock::new();
    let (cell, name) = match which {
        "A" => (&A, "A-internal-rp-vip"),
        _ => (&D, "D-user-404"),
    };
    cell.get_or_init(|| {
        let a = analyze_sample(&format!("lync/{name}.pcapng"));
        let steps = http_steps(&format!("lync/{name}.script.json"));
        assert_eq!(a.exchanges.len(), steps.len(), "one exchange per HTTP step");
        let notes = Notes::default();
        let ctx = MatchContext::new(&a, &notes);
        for (x, s) in a.exchanges.iter().zip(&steps) {
            let r = x.request.as_ref().unwrap();
            assert_eq!(r.method, s.method, "{}", s.id);
            assert_eq!(url(&ctx, x).unwrap(), s.url, "{}", s.id);
        }
        Sample { a, steps }
    })
}

fn step_ids(s: &Sample, f: &str) -> Vec<String> {
    picked(&s.a, &Notes::default(), f)
        .into_iter()
        .map(|i| s.steps[i as usize].id.clone())
        .collect()
}

fn expected(s: &Sample, keep: impl Fn(&Step) -> bool) -> Vec<String> {
    s.steps
        .iter()
        .filter(|st| keep(st))
        .map(|st| st.id.clone())
        .collect()
}

#[test]
fn sample_d_404_stage_and_errors() {
    let s = sample("D");
    assert_eq!(
        step_ids(s, "~c 404"),
        expected(s, |st| st.status == Some(404))
    );
    assert_eq!(step_ids(s, "~c 404"), vec!["D10"]);
    assert_eq!(
        step_ids(s, "~stage ad-user"),
        expected(s, |st| st.stage == "ad-user")
    );
    assert_eq!(
        step_ids(s, "~outcome fail"),
        expected(s, |st| st.outcome == "fail")
    );
    assert_eq!(
        step_ids(s, "status>=400"),
        expected(s, |st| st.status.is_some_and(|c| c >= 400))
    );
    let err = step_ids(s, "~err");
    // The failing step, and every 4xx, are errors; the 200s of a complete capture are not.
    for st in &s.steps {
        let bad = st.status.is_none_or(|c| c >= 400) || st.outcome == "fail";
        if bad {
            assert!(err.contains(&st.id), "{} should be ~err", st.id);
        }
    }
    assert!(!err.contains(&"B05".to_string()));
    assert!(!err.contains(&"B09".to_string()));
    // B08/B09 carry NTLM legs, B07's 401 offers NTLM (the script's "why").
    let ntlm = step_ids(s, "~auth NTLM");
    for id in ["B07", "B08", "B09"] {
        assert!(ntlm.contains(&id.to_string()), "{id} ~auth NTLM");
    }
    assert!(step_ids(s, "~auth msrtcoauth").contains(&"B06".to_string()));
    assert_eq!(
        step_ids(s, "~m POST & oauthtoken"),
        expected(s, |st| st.method == "POST" && st.url.contains("oauthtoken"))
    );
}

#[test]
fn sample_a_operators_follow_the_script() {
    let s = sample("A");
    let p = |f: &str| step_ids(s, f);
    assert_eq!(
        p("~stage contacts-presence"),
        expected(s, |st| st.stage == "contacts-presence")
    );
    assert_eq!(
        p("!~stage unrelated"),
        expected(s, |st| st.stage != "unrelated")
    );
    assert_eq!(
        p("~outcome challenge"),
        expected(s, |st| st.outcome == "challenge")
    );
    assert_eq!(p("~q"), expected(s, |st| st.status.is_none()));
    assert_eq!(p("~c 401"), expected(s, |st| st.status == Some(401)));
    assert_eq!(
        p("~c 2xx"),
        expected(s, |st| st.status.is_some_and(|c| (200..300).contains(&c)))
    );
    assert_eq!(p("~m post"), expected(s, |st| st.method == "POST"));
    assert_eq!(p("~tls"), expected(s, |st| st.url.starts_with("https://")));
    assert_eq!(
        p("~d \"example\\.(com|net|org)$\""),
        expected(s, |st| {
            let host = st.url.split('/').nth(2).unwrap();
            host.ends_with(".example.com")
                || host.ends_with(".example.net")
                || host.ends_with(".example.org")
        })
    );
    // Background connection NC1 is client port 50111 (README's port plan).
    assert_eq!(p("~conn :50111"), expected(s, |st| st.connection == "NC1"));
    assert_eq!(
        p("mediaRelayAccessToken"),
        expected(s, |st| st.url.contains("mediaRelayAccessToken"))
    );
    // callForwardingSettings is only in the body of the UCWA application answer (A11).
    assert_eq!(p("~bs callforwardingsettings"), vec!["A11"]);
    assert_eq!(p("~bq callforwardingsettings"), Vec::<String>::new());
    // The CDN config is gzip-encoded: only its decoded body names the fittrack API.
    assert_eq!(p("~b fittrack"), vec!["N14"]);
}

#[test]
fn sample_a_search_reaches_decoded_bodies() {
    let s = sample("A");
    let notes = Notes::default();
    let ctx = MatchContext::new(&s.a, &notes);
    let hits = |t: &str| -> Vec<String> {
        let q = Search::new(t).unwrap();
        s.a.exchanges
            .iter()
            .filter(|x| q.matches_with(&ctx, x))
            .map(|x| s.steps[x.id.0 as usize].id.clone())
            .collect()
    };
    assert_eq!(hits("CALLFORWARDINGSETTINGS"), vec!["A11"]);
    assert_eq!(hits("api.FitTrack.example.net"), vec!["N14"]);
    assert_eq!(hits("/fittrack\\.example\\.(net|com)/"), vec!["N14"]);
    // A URL-only text is found through the URL too.
    assert_eq!(hits("hotspot-detect"), vec!["N03"]);
    // Search agrees with matches() without a prepared context.
    let q = Search::new("alice ahlberg").unwrap();
    let direct: Vec<u32> =
        s.a.exchanges
            .iter()
            .filter(|x| q.matches(&s.a, &notes, x))
            .map(|x| x.id.0)
            .collect();
    assert!(direct.contains(&(s.steps.iter().position(|st| st.id == "A11").unwrap() as u32)));
}

#[test]
fn sample_b_saz_proxy_sessions() {
    // README: 1 Fiddler-generated 502, 7 CONNECT tunnels.
    let a = analyze_sample("lync/B-external-home-pool-redirect.saz");
    let n = Notes::default();
    assert_eq!(picked(&a, &n, "~c 502").len(), 1);
    assert_eq!(picked(&a, &n, "~m ^CONNECT$").len(), 7);
    // The CONNECT to contoso.com:443 (#B34) is found by its domain.
    let ids = picked(&a, &n, "~m CONNECT & ~d ^contoso\\.com$");
    assert_eq!(ids.len(), 1);
}

#[test]
fn stage_names_are_checked_against_the_analysis_and_connections_take_their_c_name() {
    let s = sample("A");
    let a = &s.a;
    // Every stage the script names is known; a name no rule tags is an error at its column.
    for st in &s.steps {
        let text = format!("~stage {}", st.stage);
        assert!(Filter::parse_for(&text, a).is_ok(), "{text}");
    }
    let e = Filter::parse_for("~m get & ~stage webticket", a).unwrap_err();
    assert_eq!(e.position, "~m get & ~stage ".len());
    assert!(e.message.contains("unknown stage webticket"), "{e}");
    assert!(e.message.contains("webticket-oauth"), "{e}");
    let e = Filter::parse_for("~stage ^nothing", a).unwrap_err();
    assert!(e.message.contains("no stage matches"), "{e}");
    assert!(Filter::parse_for("~stage ^webticket", a).is_ok());
    // Without an analysis (the command line's plain parse) any name passes, as before.
    assert!(Filter::parse("~stage webticket").is_ok());
    // `~conn C2` is `~conn 2`: the name the list, timelines, findings and reports use.
    assert_eq!(
        picked(a, &Notes::default(), "~conn C2"),
        picked(a, &Notes::default(), "~conn 2")
    );
    assert!(!picked(a, &Notes::default(), "~conn c2").is_empty());
    assert!(Filter::parse("~conn Cx").is_err());
}

#[test]
fn time_counts_from_the_first_instant_the_inputs_recorded() {
    let s = sample("A");
    let a = &s.a;
    let origin = time_origin(a).unwrap();
    // Nothing the analysis holds is earlier: no connection, lookup or exchange.
    assert!(a.connections.iter().all(|c| c.first_seen >= origin));
    assert!(a.dns.iter().filter_map(|l| l.query).all(|q| q.ts >= origin));
    assert!(a
        .exchanges
        .iter()
        .filter_map(|x| x.timing.first())
        .all(|t| t.ts >= origin));
    assert_eq!(
        MatchContext::new(a, &Notes::default()).start(),
        Some(origin)
    );
    assert_eq!(
        crate::presentation::timeline::time_range(a).map(|r| r.0),
        Some(origin)
    );
}

#[test]
fn time_counts_from_the_first_frame_even_when_it_carried_nothing_kept() {
    // A first frame (an ARP, say) a second before the first connection: the origin is that
    // frame, not the connection.
    let mut a = sample_set();
    let first_conn = a.connections.iter().map(|c| c.first_seen).min().unwrap();
    let frame = crate::model::Ts(first_conn.0 - 1_000_000_000);
    let mut info = crate::testkit::input("x.pcap", "pcap", &["ethernet"]);
    info.first_frame = Some(frame);
    a.inputs.push(info);
    assert_eq!(time_origin(&a), Some(frame));
}
