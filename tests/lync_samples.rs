//! The realistic Lync sign-in samples (samples/lync/) against their scenario scripts: what the
//! mock client did and why, written by the client while it ran — never our own output.

mod common;

use lyncscope::model::{Analysis, Exchange, FindingSeverity, HttpVersion, Outcome};
use lyncscope::stage::classify::request_view;
use lyncscope::{analyze, Options};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn lync_dir() -> PathBuf {
    common::sample("lync")
}

fn scripts() -> Vec<(PathBuf, Value)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(lync_dir()) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.to_string_lossy().ends_with(".script.json") {
            let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            out.push((p, v));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn analyze_with_stages(path: &Path) -> Analysis {
    let options = Options {
        rules: Some(Arc::new(lyncscope::stage::RuleSet::builtin())),
        ..Options::default()
    };
    analyze(&[path.to_path_buf()], &options, &mut ())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn same_url(ours: &str, theirs: &str) -> bool {
    // Scheme and host are case-insensitive; the rest is compared as sent.
    let split = |u: &str| -> (String, String) {
        match u.split_once("://") {
            Some((sch, rest)) => {
                let i = rest.find(['/', '?']).unwrap_or(rest.len());
                (
                    format!(
                        "{}://{}",
                        sch.to_ascii_lowercase(),
                        rest[..i].to_ascii_lowercase()
                    ),
                    if i == rest.len() {
                        "/".into()
                    } else {
                        rest[i..].to_string()
                    },
                )
            }
            None => (String::new(), u.to_string()),
        }
    };
    split(ours) == split(theirs)
}

/// Pairs each HTTP step with an exchange (same method and URL, in order).
fn match_http<'a>(a: &'a Analysis, steps: &[&Value]) -> HashMap<String, &'a Exchange> {
    let mut used = vec![false; a.exchanges.len()];
    let mut out = HashMap::new();
    for st in steps {
        let id = s(st, "step").unwrap().to_string();
        let method = s(st, "method").unwrap();
        let url = s(st, "url").unwrap();
        let found = a.exchanges.iter().position(|e| {
            !used[e.id.0 as usize]
                && e.request.as_ref().is_some_and(|r| r.method == method)
                && request_view(a, e).is_some_and(|v| same_url(&v.url, url))
        });
        let i = found.unwrap_or_else(|| panic!("step {id}: no exchange {method} {url}"));
        used[i] = true;
        out.insert(id, &a.exchanges[i]);
    }
    out
}

fn outcome(v: &Value) -> Outcome {
    Outcome::parse(v.as_str().unwrap()).unwrap()
}

/// Compares a verdict line with the script's (samples/lync/README.md), `furthest: <stage>
/// (<outcome>)[ → failed: <stage>[ for <carried stage>] (<check id>: <cause>)]`. The cause is
/// free text and the failed part may go on to name the host (`… for ad-root-https on
/// lyncdiscover.contoso.com (…)`), so only the stages, the outcome and the check id are compared.
fn verdict_matches(got: &str, want: &str) -> Result<(), String> {
    let (head, failed) = match want.split_once(" → failed: ") {
        Some((h, f)) => (h, Some(f)),
        None => (want, None),
    };
    let Some(rest) = got.strip_prefix(head) else {
        return Err(format!("does not start with {head:?}"));
    };
    let Some(failed) = failed else {
        return if rest.contains("failed:") {
            Err("names a failed stage".into())
        } else {
            Ok(())
        };
    };
    let (stages, cause) = failed
        .split_once(" (")
        .ok_or("the script's verdict has no check id")?;
    let check = cause.split(':').next().unwrap_or_default();
    let after = rest
        .strip_prefix(" → failed: ")
        .and_then(|r| r.strip_prefix(stages))
        .filter(|r| r.starts_with(' '))
        .ok_or_else(|| format!("no \"→ failed: {stages}\""))?;
    if after.contains(&format!("({check}:")) {
        Ok(())
    } else {
        Err(format!("the failed stage is not explained by {check}"))
    }
}

fn check_scenario(capture: &Path, script: &Value, archive: bool) -> Vec<String> {
    let a = analyze_with_stages(capture);
    let name = capture.file_name().unwrap().to_string_lossy().to_string();
    let steps: Vec<&Value> = script["steps"].as_array().unwrap().iter().collect();
    let http: Vec<&Value> = steps
        .iter()
        .copied()
        .filter(|st| s(st, "kind") == Some("http"))
        .collect();
    let by_step = match_http(&a, &http);
    let mut failures = Vec::new();
    for st in &http {
        let id = s(st, "step").unwrap();
        let ex = by_step[id];
        let tag = ex.stage.as_ref().expect("every exchange is tagged");
        let want_stage = s(st, "stage").unwrap();
        if tag.id != want_stage {
            failures.push(format!(
                "{name} {id}: stage {} (rule {}), script says {want_stage}",
                tag.id, tag.rule
            ));
        }
        let want_outcome = outcome(&st["outcome"]);
        if tag.outcome != want_outcome {
            failures.push(format!(
                "{name} {id}: outcome {:?}, script says {want_outcome:?}",
                tag.outcome
            ));
        }
        if let Some(sub) = s(st, "sub_kind") {
            if tag.subkind.as_deref() != Some(sub) {
                failures.push(format!(
                    "{name} {id}: sub-kind {:?}, script says {sub}",
                    tag.subkind
                ));
            }
        }
        match st.get("status").and_then(Value::as_u64) {
            Some(code) => assert_eq!(
                ex.response.as_ref().map(|r| u64::from(r.status)),
                Some(code),
                "{name} {id}"
            ),
            None => assert!(
                ex.response.is_none(),
                "{name} {id}: script says no response"
            ),
        }
        // Links followed inside unrelated traffic are not tracked (on purpose: they must not
        // turn into Lync provenance).
        if let Some(parent) = s(st, "parent").filter(|_| want_stage != "unrelated") {
            let want = by_step.get(parent).map(|e| e.id);
            if tag.parent != want {
                failures.push(format!(
                    "{name} {id}: parent {:?} ({:?}), script says {parent} = {want:?}",
                    tag.parent, tag.via
                ));
            }
        }
    }
    if archive {
        // Fiddler records a connection the client could not open as its own 502; the script
        // says what that attempt was (a `tcp` step to port 80 and its outcome).
        for st in steps.iter().filter(|st| s(st, "kind") == Some("tcp")) {
            let Some(port) = s(st, "server")
                .and_then(|x| x.rsplit_once(':'))
                .map(|(_, p)| p)
            else {
                continue;
            };
            if port != "80" {
                continue;
            }
            for ex in a.exchanges.iter().filter(|e| {
                e.scheme == lyncscope::model::Scheme::Http
                    && e.annotations.as_ref().is_some_and(|x| x.generated_by_proxy)
                    && e.request.as_ref().is_some_and(|r| r.method != "CONNECT")
            }) {
                let tag = ex.stage.as_ref().unwrap();
                if tag.outcome != outcome(&st["outcome"]) {
                    failures.push(format!(
                        "{name}: proxy-made #{} ({} {:?}), script step {} says {}",
                        ex.id.0,
                        tag.id,
                        tag.outcome,
                        s(st, "step").unwrap(),
                        st["outcome"]
                    ));
                }
            }
        }
    }
    if !archive {
        // Every exchange of the capture is a step of the script.
        assert_eq!(
            a.exchanges.len(),
            http.len(),
            "{name}: exchanges vs script steps"
        );
        for st in steps.iter().filter(|st| s(st, "kind") == Some("dns")) {
            let id = s(st, "step").unwrap();
            let q = s(st, "qname").unwrap();
            let txid =
                s(st, "txid").map(|t| u16::from_str_radix(t.trim_start_matches("0x"), 16).unwrap());
            let l = a
                .dns
                .iter()
                .find(|l| l.qname.eq_ignore_ascii_case(q) && txid.is_none_or(|t| t == l.txid))
                .unwrap_or_else(|| panic!("{name} {id}: no lookup of {q}"));
            let tag = l.stage.as_ref().unwrap();
            if tag.id != s(st, "stage").unwrap() || tag.outcome != outcome(&st["outcome"]) {
                failures.push(format!(
                    "{name} {id}: {q} tagged {} / {:?}, script says {} / {}",
                    tag.id, tag.outcome, st["stage"], st["outcome"]
                ));
            }
            if let Some(sub) = s(st, "sub_kind") {
                if tag.subkind.as_deref() != Some(sub) {
                    failures.push(format!(
                        "{name} {id}: {q} sub-kind {:?}, script says {sub}",
                        tag.subkind
                    ));
                }
            }
            if let Some(parent) = s(st, "parent") {
                if let Some(want) = by_step.get(parent).map(|e| e.id) {
                    if tag.parent != Some(want) {
                        failures.push(format!(
                            "{name} {id}: parent {:?}, script says {parent}",
                            tag.parent
                        ));
                    }
                }
            }
        }
        let mut used = Vec::new();
        for st in steps.iter().filter(|st| s(st, "kind") == Some("tcp")) {
            let id = s(st, "step").unwrap();
            let server = s(st, "server").unwrap();
            let c = a
                .connections
                .iter()
                .find(|c| {
                    c.server.to_string() == server
                        && c.exchanges.is_empty()
                        && !used.contains(&c.id)
                })
                .unwrap_or_else(|| panic!("{name} {id}: no connection to {server}"));
            used.push(c.id);
            match &c.stage {
                Some(tag)
                    if tag.id == s(st, "stage").unwrap()
                        && tag.outcome == outcome(&st["outcome"]) => {}
                other => failures.push(format!(
                    "{name} {id}: connection to {server} tagged {:?}, script says {} / {}",
                    other.as_ref().map(|t| (&t.id, t.outcome, &t.note)),
                    st["stage"],
                    st["outcome"]
                )),
            }
        }
    }
    let expect = &script["expect"];
    let summary = a
        .signin
        .iter()
        .find(|x| archive || x.client.map(|c| c.to_string()).as_deref() == s(script, "client"))
        .unwrap_or_else(|| panic!("{name}: no sign-in summary for the client"));
    let want_signed_in = expect["signed_in"].as_bool().unwrap();
    if summary.signed_in != want_signed_in {
        failures.push(format!(
            "{name}: signed_in {}, script says {want_signed_in}",
            summary.signed_in
        ));
    }
    if let Some(f) = s(expect, "furthest_stage") {
        if summary.furthest_stage.as_deref() != Some(f) {
            failures.push(format!(
                "{name}: furthest stage {:?}, script says {f}",
                summary.furthest_stage
            ));
        }
    }
    let want_failed = s(expect, "failed_stage");
    if summary.failed_stage.as_deref() != want_failed {
        failures.push(format!(
            "{name}: failed stage {:?}, script says {want_failed:?}",
            summary.failed_stage
        ));
    }
    if let Some(want) = s(expect, "verdict") {
        if let Err(why) = verdict_matches(&summary.verdict, want) {
            failures.push(format!(
                "{name}: verdict {:?} {why}; script says {want:?}",
                summary.verdict
            ));
        }
    }
    if !archive {
        if let Some(flow) = s(expect, "flow") {
            if summary.flow.as_deref() != Some(flow) {
                failures.push(format!(
                    "{name}: flow {:?}, script says {flow}",
                    summary.flow
                ));
            }
        }
        for f in expect["findings"].as_array().into_iter().flatten() {
            let check = s(f, "check").unwrap();
            let sev = s(f, "severity").unwrap();
            if !a
                .findings
                .iter()
                .any(|x| x.check == check && x.severity.as_str() == sev)
            {
                failures.push(format!(
                    "{name}: missing finding {check} ({sev}); have {:?}",
                    a.findings
                        .iter()
                        .map(|x| (&x.check, x.severity.as_str()))
                        .collect::<Vec<_>>()
                ));
            }
        }
        // Checks the script says must not fire here, at any severity.
        for check in expect["findings_absent"].as_array().into_iter().flatten() {
            let check = check.as_str().unwrap();
            for x in a.findings.iter().filter(|x| x.check == check) {
                failures.push(format!(
                    "{name}: finding {check} ({}) must not fire: {}",
                    x.severity.as_str(),
                    x.message
                ));
            }
        }
        if expect["no_fail_findings"].as_bool() == Some(true) {
            for x in a
                .findings
                .iter()
                .filter(|x| x.severity == FindingSeverity::Fail)
            {
                failures.push(format!(
                    "{name}: unexpected failure finding {}: {}",
                    x.check, x.message
                ));
            }
        }
    }
    failures
}

#[test]
fn lync_samples_follow_their_scripts() {
    let scripts = scripts();
    if scripts.is_empty() {
        eprintln!("skipping: no samples/lync/*.script.json");
        return;
    }
    let mut failures = Vec::new();
    for (path, script) in &scripts {
        let capture = lync_dir().join(s(script, "capture").unwrap());
        assert!(capture.exists(), "{}: capture missing", path.display());
        failures.extend(check_scenario(&capture, script, false));
        // The same session recorded by the client as a Fiddler archive.
        let saz = capture.with_extension("saz");
        if saz.exists() {
            failures.extend(check_scenario(&saz, script, true));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn verdict_lines_are_compared_on_stages_outcome_and_check() {
    let want =
        "furthest: dns-discovery (ok) → failed: tcp-tls for ad-root-https (C-CERT-7: unknown_ca)";
    for got in [
        "furthest: dns-discovery (ok) → failed: tcp-tls for ad-root-https (C-CERT-7: the phone does not trust the CA)",
        "furthest: dns-discovery (ok) → failed: tcp-tls for ad-root-https on lyncdiscover.contoso.com (C-CERT-7: x)",
    ] {
        assert_eq!(verdict_matches(got, want), Ok(()), "{got}");
    }
    for got in [
        "furthest: dns-discovery (fail) → failed: tcp-tls for ad-root-https (C-CERT-7: x)",
        "furthest: dns-discovery (ok) → failed: tcp-tls for ad-root-http (C-CERT-7: x)",
        "furthest: dns-discovery (ok) → failed: tcp-tls for ad-root-https (C-CERT-1: x)",
        "furthest: dns-discovery (ok)",
    ] {
        assert!(verdict_matches(got, want).is_err(), "{got}");
    }
    let ok = "furthest: event-channel (ok)";
    assert_eq!(
        verdict_matches("furthest: event-channel (ok), signed in after 6.6 s", ok),
        Ok(())
    );
    assert!(verdict_matches("furthest: event-channel (ok) → failed: x (C-X-1: y)", ok).is_err());
}

/// Corpus archives full of OAuth / NTLM / SharePoint traffic are not Lync sign-ins.
#[test]
fn corpus_oauth_and_ntlm_archives_have_no_lync_stages() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut seen = 0;
    for e in std::fs::read_dir(corpus.join("saz")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !(name.starts_with("office-inspectors") || name.starts_with("oinspector")) {
            continue;
        }
        seen += 1;
        let a = analyze_with_stages(&e.path());
        assert!(!a.exchanges.is_empty(), "{name}");
        for ex in &a.exchanges {
            let t = ex.stage.as_ref().unwrap();
            assert_eq!(t.id, "unrelated", "{name} #{}: {:?}", ex.id.0, t);
        }
        assert!(a.signin.is_empty(), "{name}");
        assert!(
            a.findings.iter().all(|f| f.check == "C-SRC-1"),
            "{name}: {:?}",
            a.findings
        );
    }
    assert_eq!(seen, 6, "the six office-inspectors / oinspector archives");
}

/// Sample M: the reverse proxy speaks h2. Each HTTP step is on the protocol and stream the
/// client recorded (`http_version`, `stream`); the web-ticket leg the proxy reset carries the
/// reset code the client got, and C-H2-1 says (info) that the leg was redone on HTTP/1.1.
#[test]
fn sample_m_h2_legs_and_the_http11_retry_follow_the_script() {
    let script: Value = serde_json::from_slice(
        &std::fs::read(lync_dir().join("M-h2-proxy-http11-required.script.json")).unwrap(),
    )
    .unwrap();
    let a = analyze_with_stages(&lync_dir().join(s(&script, "capture").unwrap()));
    let http: Vec<&Value> = script["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|st| s(st, "kind") == Some("http"))
        .collect();
    let by_step = match_http(&a, &http);
    let mut resets = Vec::new();
    for st in &http {
        let id = s(st, "step").unwrap();
        let x = by_step[id];
        let stream = x.stream.as_ref().map(|st| st.id);
        match s(st, "http_version") {
            Some("HTTP/2") => {
                assert_eq!(x.http_version, HttpVersion::Http2, "{id}");
                assert_eq!(stream.map(u64::from), st["stream"].as_u64(), "{id}: stream");
            }
            _ => assert_eq!(x.http_version, HttpVersion::Http1, "{id}"),
        }
        let reset = x.stream.as_ref().and_then(|st| st.reset.as_ref());
        assert_eq!(
            reset.map(|r| r.name.as_str()),
            s(st, "reset"),
            "{id}: reset"
        );
        if let Some(r) = reset {
            assert!(!r.by_client && x.response.is_none(), "{id}");
            resets.push((id, x));
        }
        assert_eq!(
            x.response.as_ref().map(|p| u64::from(p.status)),
            st["status"].as_u64(),
            "{id}: status"
        );
    }
    assert_eq!(resets.len(), 1, "one leg reset");
    let (reset_id, reset_x) = resets[0];
    // The retry: the next step with the same method and URL, on HTTP/1.1.
    let reset_step = http
        .iter()
        .find(|st| s(st, "step") == Some(reset_id))
        .unwrap();
    let retry = http
        .iter()
        .skip_while(|st| s(st, "step") != Some(reset_id))
        .skip(1)
        .find(|st| {
            s(st, "method") == s(reset_step, "method") && s(st, "url") == s(reset_step, "url")
        })
        .unwrap();
    let retry_x = by_step[s(retry, "step").unwrap()];
    assert_ne!(retry_x.connection, reset_x.connection, "a new connection");
    let h2 = a
        .findings
        .iter()
        .find(|f| f.check == "C-H2-1")
        .expect("C-H2-1");
    assert_eq!(h2.severity, FindingSeverity::Info, "{}", h2.message);
    assert!(
        h2.exchanges.contains(&reset_x.id) && h2.exchanges.contains(&retry_x.id),
        "{:?}: {}",
        h2.exchanges,
        h2.message
    );
    assert!(h2.message.contains("HTTP_1_1_REQUIRED"), "{}", h2.message);
}
