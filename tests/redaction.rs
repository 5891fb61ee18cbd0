//! Redaction (`--redact`, the default of the Markdown and HTML reports): for every export
//! format, on samples B and D and on B's SAZ, none of the secrets the input holds is left,
//! while the NTLM user, the hosts and every status still are; the redacted HAR passes the HAR
//! 1.2 schema and the redacted SAZ reads back with the same exchanges.
//!
//! The secrets are listed by scanning the input's own plaintext, never lyncscope's output: the
//! SAZ's raw files (read from the zip), and for a capture the TLS streams as tshark decrypts
//! them with the capture's embedded key log (`tshark -z follow,tls`); without tshark, sample
//! B's secrets come from its SAZ (the same run, written by the mock client from the bytes it
//! sent and received) and sample D is skipped.

mod common;

use base64::Engine;
use common::har_schema::schema_errors;
use common::scripts::{lync_dir, script};
use lyncscope::model::{ExchId, Notes};
use lyncscope::report::export::{export_to_file_with, ExportFormat, Redact};
use lyncscope::{analyze, Analysis, Options};
use regex::Regex;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const B: &str = "B-external-home-pool-redirect";
const D: &str = "D-user-404";

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn analysis_of(path: &Path) -> Analysis {
    let mut opts = Options {
        rules: Some(Arc::new(lyncscope::stage::RuleSet::builtin())),
        ..Default::default()
    };
    opts.http.keep_body_max = 1 << 20;
    analyze(&[path.to_path_buf()], &opts, &mut ()).unwrap()
}

// ---- the input's own plaintext ----

/// Every raw file of a SAZ, as text.
fn saz_text(path: &Path) -> String {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = String::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        out.push_str(&String::from_utf8_lossy(&bytes));
        out.push('\n');
    }
    out
}

/// The decrypted TLS streams (and plain TCP streams) of a capture as tshark shows them;
/// None without tshark.
fn tshark_text(path: &Path) -> Option<String> {
    let streams = Command::new("tshark")
        .args(["-r"])
        .arg(path)
        .args(["-T", "fields", "-e", "tcp.stream"])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let ids: BTreeSet<String> = String::from_utf8_lossy(&streams.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(path).arg("-q");
    for id in &ids {
        cmd.args(["-z", &format!("follow,tls,ascii,{id}")]);
        cmd.args(["-z", &format!("follow,tcp,ascii,{id}")]);
    }
    let out = cmd.output().ok().filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The plaintext of a sample capture: tshark's, else (B only) its SAZ's.
fn capture_text(name: &str) -> Option<String> {
    let path = lync_dir().join(format!("{name}.pcapng"));
    if let Some(t) = tshark_text(&path) {
        if t.contains("HTTP/1.1") {
            return Some(t);
        }
    }
    if name == B {
        return Some(saz_text(&lync_dir().join(format!("{B}.saz"))));
    }
    None
}

/// What the input's plaintext says a redacted export must not hold, and what it must.
#[derive(Debug, Default)]
struct Facts {
    /// Secret values (tokens, cookie values, passwords, whole NTLM type 3 messages …).
    secrets: BTreeSet<String>,
    /// NT responses of the NTLM type 3 messages.
    nt_responses: BTreeSet<Vec<u8>>,
    /// DOMAIN\user@workstation of each NTLM type 3.
    ntlm_users: BTreeSet<String>,
}

fn re(s: &str) -> Regex {
    Regex::new(s).unwrap()
}

/// Security buffer `at` of an NTLM message.
fn ntlm_field(m: &[u8], at: usize) -> Option<&[u8]> {
    let len = u16::from_le_bytes(m.get(at..at + 2)?.try_into().ok()?) as usize;
    let off = u32::from_le_bytes(m.get(at + 4..at + 8)?.try_into().ok()?) as usize;
    m.get(off..off + len)
}

fn utf16(b: &[u8]) -> String {
    let u: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&u)
}

/// An NTLM type 3 (MS-NLMP §2.2.1.3): `DOMAIN\user@workstation` and the NT response.
fn type3(blob: &str) -> Option<(String, Vec<u8>)> {
    let m = b64().decode(blob).ok()?;
    if m.get(..8)? != b"NTLMSSP\0" || m.get(8..12)? != [3, 0, 0, 0] {
        return None;
    }
    let who = format!(
        "{}\\{}@{}",
        utf16(ntlm_field(&m, 28)?),
        utf16(ntlm_field(&m, 36)?),
        utf16(ntlm_field(&m, 44)?)
    );
    Some((who, ntlm_field(&m, 20)?.to_vec()))
}

fn scan(text: &str) -> Facts {
    let mut f = Facts::default();
    let add = |f: &mut Facts, v: &str| {
        let v = v.trim().trim_matches('"');
        let v = v.strip_prefix("cwt=").unwrap_or(v);
        if v.len() >= 6 {
            f.secrets.insert(v.to_string());
        }
    };
    for c in re(r"(?mi)^(?:proxy-)?authorization: *(\S+) +(\S+)").captures_iter(text) {
        match c[1].to_ascii_lowercase().as_str() {
            "ntlm" | "negotiate" => {
                if let Some((who, nt)) = type3(&c[2]) {
                    f.ntlm_users.insert(who);
                    f.nt_responses.insert(nt);
                    add(&mut f, &c[2]);
                }
            }
            _ => add(&mut f, &c[2]),
        }
    }
    for c in re(r"(?mi)^x-ms-webticket: *(?:opaque=)?(\S+)").captures_iter(text) {
        add(&mut f, &c[1]);
    }
    for c in re(r"(?mi)^cookie: *(.+)$").captures_iter(text) {
        for kv in c[1].split(';') {
            if let Some((_, v)) = kv.split_once('=') {
                add(&mut f, v);
            }
        }
    }
    for c in re(r"(?mi)^set-cookie: *[^=]+=([^;\r\n]+)").captures_iter(text) {
        add(&mut f, &c[1]);
    }
    for c in re(r#""(?:access_token|refresh_token|id_token|password)"\s*:\s*"([^"]+)""#)
        .captures_iter(text)
    {
        add(&mut f, &c[1]);
    }
    // MRAS (mediaRelayAccessToken): the relay user name is a credential, next to its password.
    for c in re(r#""userName"\s*:\s*"([^"]+)"\s*,\s*"password""#).captures_iter(text) {
        add(&mut f, &c[1]);
    }
    for c in re(r"<(?:\w+:)?(?:BinarySecret|SignatureValue)\b[^>]*>([^<]+)<").captures_iter(text) {
        add(&mut f, &c[1]);
    }
    for c in re(
        r"(?:^|[?&#\s])(?:password|passwd|client_secret|code|access_token|refresh_token|id_token)=([^&\s]+)",
    )
    .captures_iter(text)
    {
        add(&mut f, &c[1]);
        // And as the form field means it (`%21` is `!`).
        add(&mut f, &percent_decode(&c[1]));
    }
    for c in re(r"cwt=([A-Za-z0-9+/%_-]{8,}=*)").captures_iter(text) {
        add(&mut f, &c[1]);
    }
    f
}

/// `%XX` decoded (a form field's value as the user typed it).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---- the export's text ----

/// An export as text: a SAZ's files unzipped, a HAR's base64 bodies decoded, and the text
/// again with the escapes of Markdown, HTML and JSON undone (so an escaped secret is found).
fn export_text(format: ExportFormat, path: &Path) -> String {
    let mut text = match format {
        ExportFormat::Saz => saz_text(path),
        _ => String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned(),
    };
    if format == ExportFormat::Har {
        let v: Value = serde_json::from_str(&text).unwrap();
        for e in v["log"]["entries"].as_array().unwrap() {
            for c in [&e["response"]["content"], &e["request"]["postData"]] {
                if c["encoding"] == "base64" {
                    if let Some(bytes) = c["text"].as_str().and_then(|t| b64().decode(t).ok()) {
                        text.push_str(&String::from_utf8_lossy(&bytes));
                    }
                }
            }
        }
    }
    let plain = text
        .replace('\\', "")
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    format!("{text}\n{plain}")
}

/// The NTLM type 3 messages an export holds.
fn export_type3(text: &str) -> Vec<(String, Vec<u8>)> {
    re(r"NTLM ([A-Za-z0-9+/]{60,}=*)")
        .captures_iter(text)
        .filter_map(|c| type3(&c[1]))
        .collect()
}

/// Hosts and statuses of the sample's HTTP steps (its script).
fn hosts_and_statuses(name: &str) -> (BTreeSet<String>, BTreeSet<u64>) {
    let sc = script(name);
    let mut hosts = BTreeSet::new();
    let mut statuses = BTreeSet::new();
    for st in sc["steps"].as_array().unwrap() {
        if st["kind"] != "http" {
            continue;
        }
        if let Some(u) = st["url"].as_str() {
            hosts.insert(u.split('/').nth(2).unwrap().to_string());
        }
        if let Some(s) = st["status"].as_u64() {
            statuses.insert(s);
        }
    }
    (hosts, statuses)
}

fn out_dir(label: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "lyncscope-redaction-{}-{label}",
        std::process::id()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every format, redacted; checks what each must and must not hold. `hosts`/`statuses` are
/// those of the scenario script (None for an input without one).
fn check_all_formats(
    label: &str,
    a: &Analysis,
    facts: &Facts,
    expect: Option<&(BTreeSet<String>, BTreeSet<u64>)>,
) {
    assert!(
        !facts.secrets.is_empty(),
        "{label}: the scan found no secret: {facts:?}"
    );
    println!(
        "{label}: {} secrets, NTLM {:?}: {:?}",
        facts.secrets.len(),
        facts.ntlm_users,
        facts.secrets
    );
    let dir = out_dir(label);
    let ids: Vec<ExchId> = a.exchanges.iter().map(|x| x.id).collect();
    let notes = Notes::default();
    // The check means something: written as captured, the HAR holds every secret.
    let kept = dir.join(format!("{label}.kept.har"));
    export_to_file_with(a, &notes, &ids, ExportFormat::Har, Redact::Keep, &kept).unwrap();
    let kept_text = export_text(ExportFormat::Har, &kept);
    for s in &facts.secrets {
        assert!(
            kept_text.contains(s.as_str()),
            "{label}: {s} not in the unredacted HAR"
        );
    }
    for format in ExportFormat::ALL {
        let single = matches!(
            format,
            ExportFormat::RequestBody | ExportFormat::ResponseBody
        );
        // A body export takes one exchange: each exchange with a body in turn.
        let scopes: Vec<Vec<ExchId>> = if single {
            ids.iter().map(|id| vec![*id]).collect()
        } else {
            vec![ids.clone()]
        };
        let mut texts = String::new();
        for scope in scopes {
            let path = dir.join(format!("{label}.{}", format.extension()));
            match export_to_file_with(a, &notes, &scope, format, Redact::Redact, &path) {
                Ok(_) => texts.push_str(&export_text(format, &path)),
                Err(e) if single => {
                    let _ = e;
                    continue;
                }
                Err(e) => panic!("{label} {}: {e}", format.name()),
            }
            if format == ExportFormat::Har {
                let har = std::fs::read(&path).unwrap();
                if let Some(errors) = schema_errors(&har) {
                    assert!(errors.is_empty(), "{label}: HAR 1.2: {errors:#?}");
                }
            }
            if format == ExportFormat::Saz {
                saz_reads_back(label, a, &path);
            }
        }
        for s in &facts.secrets {
            assert!(
                !texts.contains(s.as_str()),
                "{label} {}: secret {s} left",
                format.name()
            );
        }
        let type3s = export_type3(&texts);
        for (_, nt) in &type3s {
            assert!(
                !facts.nt_responses.contains(nt),
                "{label} {}: an NT response left",
                format.name()
            );
        }
        // What a reader still needs.
        let requests = !matches!(
            format,
            ExportFormat::RawResponse | ExportFormat::RequestBody | ExportFormat::ResponseBody
        );
        let responses = !matches!(
            format,
            ExportFormat::RawRequest
                | ExportFormat::Curl
                | ExportFormat::RequestBody
                | ExportFormat::ResponseBody
        );
        if requests {
            let users: BTreeSet<String> = type3s.into_iter().map(|(w, _)| w).collect();
            assert_eq!(
                users,
                facts.ntlm_users,
                "{label} {}: NTLM user, domain, workstation",
                format.name()
            );
        }
        if let Some((hosts, statuses)) = expect {
            if requests {
                for h in hosts {
                    assert!(
                        texts.contains(h.as_str()),
                        "{label} {}: host {h}",
                        format.name()
                    );
                }
            }
            if responses {
                for s in statuses {
                    assert!(
                        re(&format!(r"\b{s}\b")).is_match(&texts),
                        "{label} {}: status {s}",
                        format.name()
                    );
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The redacted SAZ read back: the same exchanges (method, URL, status), the same NTLM users.
fn saz_reads_back(label: &str, a: &Analysis, saz: &Path) {
    let back = analysis_of(saz);
    let key = |a: &Analysis| -> Vec<(String, String, Option<u16>)> {
        a.exchanges
            .iter()
            .map(|x| {
                let r = x.request.as_ref();
                let host = r.and_then(|r| r.host()).unwrap_or("").to_string();
                let path = r
                    .map(|r| {
                        let t = r.target.as_str();
                        // Fiddler writes the absolute form; the capture has the origin form.
                        let t = t
                            .split_once("://")
                            .map_or(t, |(_, rest)| rest.find('/').map_or("/", |i| &rest[i..]));
                        t.split('?').next().unwrap_or("").to_string()
                    })
                    .unwrap_or_default();
                let method = r.map(|r| r.method.to_string()).unwrap_or_default();
                (
                    format!("{method} {host}"),
                    path,
                    x.response.as_ref().map(|r| r.status),
                )
            })
            .filter(|(m, _, _)| !m.starts_with("CONNECT"))
            .collect()
    };
    assert_eq!(key(&back), key(a), "{label}: the redacted SAZ reads back");
    let users =
        |a: &Analysis| -> Vec<Option<String>> { a.signin.iter().map(|s| s.user.clone()).collect() };
    assert_eq!(
        users(&back),
        users(a),
        "{label}: sign-in users after read-back"
    );
}

#[test]
fn sample_b_every_format() {
    let Some(text) = capture_text(B) else {
        return;
    };
    let facts = scan(&text);
    let a = analysis_of(&lync_dir().join(format!("{B}.pcapng")));
    check_all_formats("B", &a, &facts, Some(&hosts_and_statuses(B)));
}

#[test]
fn sample_d_every_format() {
    let Some(text) = capture_text(D) else {
        println!("skipped: sample_d_every_format: tshark not found (it decrypts D's plaintext)");
        return;
    };
    let facts = scan(&text);
    assert!(
        facts.secrets.iter().any(|s| s.contains("EXTaliceB1")),
        "D's web ticket (TB1) is among its secrets: {facts:?}"
    );
    let a = analysis_of(&lync_dir().join(format!("{D}.pcapng")));
    check_all_formats("D", &a, &facts, Some(&hosts_and_statuses(D)));
}

/// Sample F (SfB Online, Azure AD): a password grant, an authorization code, JWTs with their
/// refresh and id tokens; no NTLM.
#[test]
fn sample_f_modern_auth_every_format() {
    let name = "F-online-modern-auth";
    let Some(text) = capture_text(name) else {
        println!("skipped: sample_f_modern_auth_every_format: tshark not found");
        return;
    };
    let facts = scan(&text);
    assert!(facts.ntlm_users.is_empty());
    let a = analysis_of(&lync_dir().join(format!("{name}.pcapng")));
    check_all_formats("F", &a, &facts, Some(&hosts_and_statuses(name)));
}

#[test]
fn saz_input_every_format() {
    let saz = lync_dir().join(format!("{B}.saz"));
    let facts = scan(&saz_text(&saz));
    let a = analysis_of(&saz);
    check_all_formats("B.saz", &a, &facts, Some(&hosts_and_statuses(B)));
}

/// The command line: Markdown and HTML redact by default, `--no-redact` keeps the secrets,
/// `--redact` adds the JSON report's `redaction` section.
#[test]
fn command_line_defaults() {
    let b = lync_dir().join(format!("{B}.pcapng"));
    let saz = lync_dir().join(format!("{B}.saz"));
    let facts = scan(&saz_text(&saz));
    let run = |args: &[&str]| -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
            .args(args)
            .arg(&b)
            .arg("-q")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let leaks = |t: &str| {
        facts
            .secrets
            .iter()
            .filter(|s| t.contains(s.as_str()))
            .count()
    };
    for format in ["markdown", "html"] {
        let redacted = run(&["report", "--format", format]);
        assert_eq!(leaks(&redacted), 0, "{format} by default");
        assert!(redacted.contains("Redacted"), "{format} says so");
        assert!(leaks(&run(&["report", "--format", format, "--no-redact"])) > 0);
    }
    assert!(
        leaks(&run(&["report", "--format", "json"])) > 0,
        "json keeps by default"
    );
    let json = run(&["report", "--format", "json", "--redact"]);
    assert_eq!(leaks(&json), 0);
    let v: Value = serde_json::from_str(&json).unwrap();
    let kinds = &v["redaction"]["kinds"];
    assert_eq!(v["redaction"]["applied"], true);
    for k in [
        "cwt",
        "ntlm-response",
        "cookie",
        "binary-secret",
        "mras-credential",
    ] {
        assert!(kinds[k].as_u64().unwrap_or(0) > 0, "{k} in {kinds}");
    }
    assert_eq!(
        v["redaction"]["total"].as_u64(),
        Some(
            kinds
                .as_object()
                .unwrap()
                .values()
                .filter_map(Value::as_u64)
                .sum()
        )
    );
    assert!(
        run(&["report", "--format", "json"])
            .find("\"redaction\"")
            .is_none(),
        "no section in a report written as captured"
    );
    let text = run(&["report", "--redact"]);
    assert_eq!(leaks(&text), 0, "text report");
}

/// A reused web ticket keeps one fingerprint across the report: the token of the OAuth
/// response and the Bearer header that presents it give the same `‹cwt:…›`.
#[test]
fn same_ticket_same_fingerprint() {
    let a = analysis_of(&lync_dir().join(format!("{B}.pcapng")));
    let (r, _) = lyncscope::report::redact::redact(&a);
    let fp = re(r"cwt=‹cwt:([0-9a-f]{8})›");
    let mut in_bodies = BTreeSet::new();
    let mut in_headers = BTreeSet::new();
    for x in &r.exchanges {
        if let Some(resp) = &x.response {
            if let Some(b) = resp.body.kept.as_deref() {
                for c in fp.captures_iter(&String::from_utf8_lossy(b)) {
                    in_bodies.insert(c[1].to_string());
                }
            }
        }
        if let Some(v) = x
            .request
            .as_ref()
            .and_then(|q| q.headers.get("authorization"))
        {
            for c in fp.captures_iter(v) {
                in_headers.insert(c[1].to_string());
            }
        }
    }
    // Scenario B: a ticket from pool 1, then one from pool 2 (samples/lync/README.md).
    assert_eq!(in_bodies.len(), 2, "{in_bodies:?}");
    assert_eq!(in_bodies, in_headers);
}

/// `stages` prints request URLs, and a URL can carry a token (a WOPI `access_token` in the
/// query of an Office Online capture): redacted by default like the Markdown report,
/// `--no-redact` shows it as captured.
#[test]
fn stages_redacts_tokens_in_urls_by_default() {
    let Some(saz) = lyncscope::testkit::corpus_file("saz/office-inspectors_NewCaseName_Coauth.saz")
    else {
        return;
    };
    let facts = scan(&saz_text(&saz));
    assert!(!facts.secrets.is_empty(), "the archive holds tokens");
    let run = |args: &[&str]| -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
            .arg("stages")
            .arg("--all")
            .args(args)
            .arg(&saz)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let leaks = |t: &str| -> Vec<String> {
        facts
            .secrets
            .iter()
            .filter(|s| t.contains(s.as_str()))
            .cloned()
            .collect()
    };
    let kept = run(&["--no-redact"]);
    assert!(!leaks(&kept).is_empty(), "the table shows URLs with tokens");
    for args in [&[][..], &["--redact"][..]] {
        let t = run(args);
        assert_eq!(leaks(&t), Vec::<String>::new(), "{args:?}");
        assert!(t.contains("access_token=‹"), "{args:?}: the name stays");
    }
}
