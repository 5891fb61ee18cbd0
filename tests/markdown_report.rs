//! The Markdown report and the small exports (curl command, raw request) on the Lync samples,
//! checked against the scenario scripts (samples/lync/*.script.json: what the mock client did,
//! written by the client itself) and against the captured requests.

mod common;

use common::scripts::{all, analysis, http_steps, s, script};
use lyncscope::model::{Analysis, ExchId, Notes};
use lyncscope::presentation::wire::{curl_command, raw_request};
use lyncscope::report::markdown::write_markdown;
use std::sync::Arc;

const SCENARIOS: [&str; 5] = [
    "A-internal-rp-vip",
    "B-external-home-pool-redirect",
    "C-cert-mismatch",
    "D-user-404",
    "E-hairpin-blocked",
];

fn render(a: &Analysis, notes: &Notes, scope: &[ExchId]) -> String {
    let mut v = Vec::new();
    write_markdown(a, notes, scope, &mut v).unwrap();
    String::from_utf8(v).unwrap()
}

/// The text of a `## ` section.
fn section<'a>(md: &'a str, title: &str) -> &'a str {
    let start = md
        .find(&format!("\n## {title}\n"))
        .unwrap_or_else(|| panic!("no section {title}"));
    let rest = &md[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    &rest[..end]
}

/// The text of one exchange's `### ` section.
fn exchange_section(md: &str, id: ExchId) -> &str {
    let anchor = format!("### <a id=\"x{}\"></a>", id.0);
    let start = md
        .find(&anchor)
        .unwrap_or_else(|| panic!("no section for #{}", id.0));
    let rest = &md[start..];
    let end = rest[4..]
        .find("\n### ")
        .or_else(|| rest[4..].find("\n## "))
        .map_or(rest.len(), |i| i + 4);
    &rest[..end]
}

#[test]
fn markdown_report_states_the_scripts_facts() {
    for name in SCENARIOS {
        let sc = script(name);
        let a = analysis(name);
        let steps = http_steps(&a, &sc);
        let expect = &sc["expect"];
        let mut notes = Notes::default();
        // Annotate the failing HTTP step, else the last HTTP step.
        let annotated = steps
            .iter()
            .find(|(st, _)| s(st, "outcome") == Some("fail"))
            .or(steps.last())
            .map(|(st, x)| (*st, x.id));
        let comment = format!("ticket note for {name} | see `here`");
        if let Some((_, id)) = annotated {
            notes.set_mark(id, true);
            notes.set_comment(id, Some(comment.clone()));
        }
        let md = render(&a, &notes, &all(&a));
        assert!(md.starts_with("# lyncscope report: "), "{name}");
        assert!(md.contains(&format!("{name}.pcapng")), "{name}: inputs");

        // Verdict: furthest and failed stage from the script.
        let verdict = section(&md, "Sign-in verdict");
        let furthest = s(expect, "furthest_stage").unwrap();
        assert!(verdict.contains(furthest), "{name}: {verdict}");
        match s(expect, "failed_stage") {
            Some(f) => assert!(verdict.contains(&format!("| {f} |")), "{name}: {verdict}"),
            None => assert!(verdict.contains("| — |"), "{name}: {verdict}"),
        }
        let signed_in = expect["signed_in"].as_bool().unwrap();
        assert_eq!(verdict.contains("| yes |"), signed_in, "{name}");

        // Every finding the script expects, with its severity.
        let findings = section(&md, "Findings");
        for f in expect["findings"].as_array().unwrap() {
            let check = s(f, "check").unwrap();
            let sev = match s(f, "severity").unwrap() {
                "fail" => "**FAIL**",
                other => other,
            };
            assert!(
                findings
                    .lines()
                    .any(|l| l.contains(&format!("`{check}`"))
                        && l.starts_with(&format!("- {sev} "))),
                "{name}: {check} ({sev}) missing in\n{findings}"
            );
        }
        // Findings cite their exchanges as links to the exchange sections.
        for f in &a.findings {
            for x in &f.exchanges {
                assert!(findings.contains(&format!("[#{}](#x{})", x.0, x.0)));
            }
        }

        // The stage table lists every DNS step (not background) and every HTTP step.
        let stages = section(&md, "Stages");
        for st in sc["steps"].as_array().unwrap() {
            if s(st, "stage") == Some("unrelated") {
                continue;
            }
            match s(st, "kind") {
                Some("dns") => assert!(
                    stages.contains(s(st, "qname").unwrap()),
                    "{name}: {:?}",
                    s(st, "step")
                ),
                Some("tcp") => {
                    let server = s(st, "server").unwrap();
                    let stage = s(st, "stage").unwrap();
                    assert!(
                        stages
                            .lines()
                            .any(|l| l.contains(server) && l.contains(stage)),
                        "{name}: tcp step {:?} not in the stage table",
                        s(st, "step")
                    );
                }
                _ => {}
            }
        }
        for (st, x) in &steps {
            if s(st, "stage") == Some("unrelated") {
                continue;
            }
            let row = stages
                .lines()
                .find(|l| l.starts_with(&format!("| [#{}](#x{}) |", x.id.0, x.id.0)))
                .unwrap_or_else(|| panic!("{name}: no row for {:?}", s(st, "step")));
            assert!(row.contains(s(st, "stage").unwrap()), "{row}");
            assert!(row.contains(s(st, "outcome").unwrap()), "{row}");
            let status = st["status"]
                .as_u64()
                .map_or("—".to_string(), |v| v.to_string());
            assert!(row.contains(&format!("| {status} |")), "{row}");
            if let Some(parent) = s(st, "parent") {
                let (_, px) = steps
                    .iter()
                    .find(|(p, _)| s(p, "step") == Some(parent))
                    .unwrap();
                assert!(
                    row.contains(&format!("[#{}](#x{})", px.id.0, px.id.0)),
                    "{name}: parent of {:?}: {row}",
                    s(st, "step")
                );
            }
        }

        // Each HTTP step's section: method, URL and the status from the script.
        for (st, x) in &steps {
            let sec = exchange_section(&md, x.id);
            let head = sec.lines().next().unwrap();
            assert!(head.contains(s(st, "method").unwrap()), "{head}");
            match st["status"].as_u64() {
                Some(code) => assert!(head.contains(&format!("→ {code}")), "{head}"),
                None => assert!(head.contains("no response"), "{head}"),
            }
        }

        // The mark and comment sit with the right exchange and lead the report.
        if let Some((st, id)) = annotated {
            let sec = exchange_section(&md, id);
            assert!(sec.lines().next().unwrap().contains("★"), "{name}");
            assert!(
                sec.contains("> **Comment:** ticket note for")
                    && sec.contains("\\| see \\`here\\`"),
                "{name}: {sec}"
            );
            let marked = section(&md, "Marked exchanges");
            assert!(marked.contains(&format!("[#{}](#x{})", id.0, id.0)));
            assert!(md.find("## Marked exchanges").unwrap() < md.find("## Exchanges").unwrap());
            if s(st, "outcome") == Some("fail") {
                let code = st["status"].as_u64().unwrap();
                assert!(sec.contains(&format!(" {code} ")), "{name}: failing status");
            }
        }
    }
}

#[test]
fn markdown_scope_and_fences() {
    let mut a = analysis("D-user-404");
    // A body holding a long backtick run and a header with a table bar.
    let x = a
        .exchanges
        .iter_mut()
        .find(|x| x.response.as_ref().is_some_and(|r| r.status == 200))
        .unwrap();
    let id = x.id;
    let r = x.response.as_mut().unwrap();
    r.body.kept = Some(Arc::from(&b"text ````` more\n"[..]));
    r.headers = lyncscope::model::Headers::from_pairs([("Content-Type", "text/plain")]);
    let md = render(&a, &Notes::default(), &[id]);
    assert!(
        md.contains("\n``````text\ntext ````` more\n``````\n"),
        "{md}"
    );
    // Only the scoped exchange gets a section; findings citing others are not links.
    assert_eq!(md.matches("### <a id=").count(), 1);
    for f in &a.findings {
        for x in f.exchanges.iter().filter(|x| **x != id) {
            assert!(!md.contains(&format!("(#x{})", x.0)));
        }
    }
}

/// Splits a shell command line the way sh does for the quoting curl_command uses: single
/// quotes, backslash escapes, `\`-newline continuations; `#` lines are comments.
fn shell_words(cmd: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = cmd.chars().peekable();
    let mut at_line_start = true;
    while let Some(c) = chars.next() {
        match c {
            '#' if at_line_start && !in_word => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                continue;
            }
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    cur.push(c);
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(n) => {
                    in_word = true;
                    cur.push(n);
                }
                None => {}
            },
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
        at_line_start = c == '\n';
    }
    if in_word {
        words.push(cur);
    }
    words
}

const NOT_REPLAYED: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

#[test]
fn curl_command_repeats_each_request() {
    for name in ["A-internal-rp-vip", "B-external-home-pool-redirect"] {
        let sc = script(name);
        let a = analysis(name);
        for (st, x) in http_steps(&a, &sc) {
            let r = x.request.as_ref().unwrap();
            let cmd = curl_command(&a, x);
            let w = shell_words(&cmd);
            assert_eq!(w[0], "curl");
            let mut method: Option<String> = None;
            let mut url: Option<String> = None;
            let mut headers: Vec<(String, String)> = Vec::new();
            let mut data: Option<String> = None;
            let mut i = 1;
            while i < w.len() {
                match w[i].as_str() {
                    "-X" => {
                        method = Some(w[i + 1].clone());
                        i += 1;
                    }
                    "-H" => {
                        let h = &w[i + 1];
                        let (n, v) = match h.split_once(':') {
                            Some((n, v)) => (n.to_string(), v.trim_start().to_string()),
                            None => (h.trim_end_matches(';').to_string(), String::new()),
                        };
                        headers.push((n, v));
                        i += 1;
                    }
                    "--data-binary" => {
                        data = Some(w[i + 1].clone());
                        i += 1;
                    }
                    "--compressed" | "--http1.0" => {}
                    "--head" => method = Some("HEAD".into()),
                    other => {
                        assert!(!other.starts_with('-'), "unexpected option {other}");
                        url = Some(other.to_string());
                    }
                }
                i += 1;
            }
            let method = method.unwrap_or_else(|| {
                if data.is_some() {
                    "POST".into()
                } else {
                    "GET".into()
                }
            });
            assert_eq!(method, s(st, "method").unwrap(), "{cmd}");
            assert_eq!(url.as_deref(), s(st, "url"), "{cmd}");
            let expected: Vec<(String, String)> = r
                .headers
                .iter()
                .filter(|(n, _)| {
                    let l = n.to_ascii_lowercase();
                    !NOT_REPLAYED.contains(&l.as_str()) && l != "host"
                })
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            assert_eq!(headers, expected, "{cmd}");
            assert_eq!(
                cmd.contains("--compressed"),
                r.headers.get("accept-encoding").is_some()
            );
            match r.body.kept.as_deref() {
                Some(b) if !b.is_empty() => {
                    assert_eq!(data.as_deref().map(str::as_bytes), Some(b), "{cmd}")
                }
                _ => assert!(data.is_none(), "{cmd}"),
            }
        }
    }
}

#[test]
fn raw_request_parses_back_to_the_request() {
    let name = "B-external-home-pool-redirect";
    let sc = script(name);
    let a = analysis(name);
    for (_, x) in http_steps(&a, &sc) {
        let r = x.request.as_ref().unwrap();
        let raw = raw_request(x);
        let mut hs = [httparse::EMPTY_HEADER; 64];
        let mut p = httparse::Request::new(&mut hs);
        let n = match p.parse(&raw).unwrap() {
            httparse::Status::Complete(n) => n,
            httparse::Status::Partial => panic!("partial head"),
        };
        assert_eq!(p.method, Some(r.method.as_ref()));
        assert_eq!(p.path, Some(r.target.as_str()));
        let got: Vec<(String, String)> = p
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8(h.value.to_vec()).unwrap(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = r
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(&raw[n..], r.body.kept.as_deref().unwrap_or(&[]));
    }
}
