//! End-to-end tests of the `lyncscope` binary: exit codes, error lines, formats, stdin.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lyncscope"))
}

#[test]
fn missing_file_is_one_line_and_exit_2() {
    let out = bin()
        .args(["report", "/nonexistent/x.pcap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/x.pcap"), "{err}");
    // The operating system's reason, once.
    let os = std::fs::File::open("/nonexistent/x.pcap")
        .unwrap_err()
        .to_string();
    assert_eq!(err.matches(os.as_str()).count(), 1, "{err}");
}

#[test]
fn unknown_format_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notes.txt");
    std::fs::write(&p, b"this is not a capture file at all\n").unwrap();
    let out = bin().arg("report").arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("not a pcap or pcapng"), "{err}");
}

#[test]
fn empty_file_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("empty.pcap");
    std::fs::write(&p, b"").unwrap();
    let out = bin().arg("report").arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn json_report_names_its_schema_and_reads_stdin() {
    let sample = std::fs::read(common::sample("dvwa-login.pcapng")).unwrap();
    let mut child = bin()
        .args(["report", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || stdin.write_all(&sample));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "lyncscope/report-1");
    // chrissanders http_dvwa_clearlogin: tshark sees 8 HTTP requests.
    let reqs = v["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !e["request"].is_null())
        .count();
    assert_eq!(reqs, 8);
}

#[test]
fn text_report_writes_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("r.txt");
    let out = bin()
        .arg("report")
        .arg(common::sample("pipelined-requests.pcap"))
        .arg("-o")
        .arg(&out_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&out_path).unwrap();
    // zeek pipelined-requests.pcap: 5 GETs to www.mozilla.org on one connection.
    assert_eq!(text.matches(" GET ").count(), 5, "{text}");
    assert!(text.contains("www.mozilla.org"));
}

#[test]
fn truncated_file_loads_what_is_before_the_damage() {
    let bytes = std::fs::read(common::sample("dvwa-login.pcapng")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.pcapng");
    // Cut in the middle of a block, two thirds in.
    std::fs::write(&p, &bytes[..bytes.len() * 2 / 3 + 7]).unwrap();
    let out = bin()
        .arg("report")
        .arg(&p)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["inputs"][0]["truncated"], true);
    assert!(v["summary"]["frames"].as_u64().unwrap() > 10);
    assert!(v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["message"]
            .as_str()
            .unwrap()
            .contains("reading stopped at byte")));
}

#[test]
fn a_wrong_pfx_password_is_a_clear_error_and_exit_2() {
    let key = common::data("keys/rsa2048-aes.pfx");
    let out = bin()
        .arg("report")
        .arg(common::sample("dvwa-login.pcapng"))
        .arg("--pfx")
        .arg(&key)
        .args(["--password", "not-the-password"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("wrong password"), "{err}");
}

fn lync_sample(name: &str) -> std::path::PathBuf {
    common::sample("lync").join(name)
}

/// Scenario C of samples/lync: the certificate lacks lyncdiscover.contoso.com, the client
/// aborts twice (its script: C04, C05 tcp-tls fail; findings C-CERT-1, C-CERT-2).
#[test]
fn stages_prints_the_flow_the_verdict_and_the_findings() {
    let out = bin()
        .arg("stages")
        .arg(lync_sample("C-cert-mismatch.pcapng"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "dns-discovery",
        "lyncdiscover.contoso.com",
        "tcp-tls",
        "failed at tcp-tls",
        "C-CERT-1",
        "C-CERT-2",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    assert!(!text.contains("ad-root-https"), "{text}");
}

/// A rules file adds a stage and a rule; the tag names the rule. (Scenario A's script: N03 is
/// the phone's captive-portal probe, GET http://captive.apple.com/hotspot-detect.html.)
#[test]
fn a_rules_file_adds_stages_and_a_bad_one_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("captive.toml");
    std::fs::write(
        &rules,
        "[[stage]]\nid = \"captive-portal\"\nlabel = \"Captive-portal probe\"\n\n[[rule]]\nname = \"apple-captive\"\nstage = \"captive-portal\"\nhost = '^captive\\.apple\\.com$'\noutcome = [{ status = \"200\", outcome = \"ok\" }]\n",
    )
    .unwrap();
    let out = bin()
        .args(["report", "--format", "json", "--rules"])
        .arg(&rules)
        .arg(lync_sample("A-internal-rp-vip.pcapng"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let probe = v["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["request"]["target"] == "/hotspot-detect.html")
        .expect("the captive-portal probe");
    assert_eq!(probe["stage"]["id"], "captive-portal");
    assert_eq!(probe["stage"]["rule"], "apple-captive");
    assert_eq!(probe["stage"]["outcome"], "ok");

    std::fs::write(
        &rules,
        "[[rule]]\nname = \"x\"\nstage = \"no-such-stage\"\n",
    )
    .unwrap();
    let out = bin()
        .args(["stages", "--rules"])
        .arg(&rules)
        .arg(lync_sample("A-internal-rp-vip.pcapng"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("captive.toml") && err.contains("no-such-stage"),
        "{err}"
    );
}

/// The UI's marks and comments (its side file) travel with headless exports: SAZ
/// `ui-comments`, JSON `note`, Markdown; `--marked` and `--filter` choose the scope; a bare file
/// name without a terminal prints the stage table.
#[test]
fn headless_exports_carry_the_notes_and_honour_the_scope() {
    let dir = tempfile::tempdir().unwrap();
    let name = "D-user-404.pcapng";
    let src = common::sample("lync").join(name);
    let capture = dir.path().join(name);
    std::fs::copy(&src, &capture).unwrap();
    // The script's failing step: GET …/Autodiscover… answered 404.
    let script: serde_json::Value = serde_json::from_slice(
        &std::fs::read(src.with_file_name("D-user-404.script.json")).unwrap(),
    )
    .unwrap();
    let failing = script["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["status"] == 404)
        .unwrap();
    assert_eq!(failing["step"], "D10");

    // Find its exchange number through the JSON report, then mark it as the UI would.
    let out = bin()
        .args(["report", "--format", "json"])
        .arg(&capture)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = report["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["response"]["status"] == 404)
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    let notes = format!(
        r#"{{"version":1,"exchanges":[{{"id":{id},"marked":true,"comment":"404 for the user resource"}}]}}"#
    );
    std::fs::write(
        dir.path().join(format!("{name}.lyncscope-notes.json")),
        notes,
    )
    .unwrap();

    let saz = dir.path().join("marked.saz");
    let out = bin()
        .args(["export", "--format", "saz", "--marked", "-o"])
        .arg(&saz)
        .arg(&capture)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&saz).unwrap()).unwrap();
    let metas: Vec<String> = (0..zip.len())
        .filter_map(|i| {
            let mut f = zip.by_index(i).unwrap();
            f.name().unwrap().ends_with("_m.xml").then(|| {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut f, &mut s).unwrap();
                s
            })
        })
        .collect();
    assert_eq!(metas.len(), 1);
    assert!(
        metas[0].contains(r#"N="ui-comments" V="404 for the user resource""#),
        "{}",
        metas[0]
    );

    let out = bin()
        .args([
            "export", "--format", "json", "--filter", "~c 404", "-o", "-",
        ])
        .arg(&capture)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let xs = json["exchanges"].as_array().unwrap();
    assert_eq!(xs.len(), 1);
    assert_eq!(xs[0]["note"]["comment"], "404 for the user resource");
    assert_eq!(xs[0]["note"]["marked"], true);

    let out = bin()
        .args(["report", "--format", "markdown"])
        .arg(&capture)
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.contains("404 for the user resource"), "{md}");

    // Without a terminal, `lyncscope FILE` prints the stage table.
    let out = bin().arg(&capture).output().unwrap();
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("ad-user"), "{table}");
}
