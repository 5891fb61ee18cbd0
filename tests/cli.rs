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
    assert_eq!(v["schema"], "lyncscope/report-2");
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
/// aborts twice (its script: C04, C05 tcp-tls fail carrying ad-root-https; findings C-CERT-1,
/// C-CERT-2, C-CERT-7; the verdict line of the stage specification names the carried stage).
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
        "furthest: dns-discovery (ok) → failed: tcp-tls for ad-root-https (C-CERT-7: certificate_unknown)",
        "C-CERT-1",
        "C-CERT-2",
        "C-CERT-7",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    // No Autodiscover root request was ever sent: the stage table has no such row.
    let table = text.split("\nSign-in").next().unwrap_or_default();
    assert!(!table.contains("ad-root-https"), "{text}");
}

/// Sample H (samples/lync): the phone does not trust the internal CA. The JSON report carries
/// the verdict of the stage specification: the failed carrier, the stage it carried, the
/// check and the alert (its script: H03/H04 tcp-tls fail carrying ad-user-challenge, alert
/// unknown_ca; C-CERT-7 fail).
#[test]
fn json_signin_names_the_failed_carrier_the_check_and_the_alert() {
    let out = bin()
        .args(["report", "--format", "json"])
        .arg(lync_sample("H-untrusted-internal-ca.pcapng"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &v["signin"][0];
    assert_eq!(s["failed_stage"], "tcp-tls");
    assert_eq!(s["failed_carries"], "ad-user-challenge");
    assert_eq!(s["failed_check"], "C-CERT-7");
    assert_eq!(s["failed_cause"], "unknown_ca");
    assert_eq!(s["failed_host"], "webint-pool1.contoso.net");
    assert!(
        s["verdict"]
            .as_str()
            .unwrap()
            .starts_with("furthest: ad-root-http (ok) → failed: tcp-tls for ad-user-challenge (C-CERT-7: unknown_ca)"),
        "{}",
        s["verdict"]
    );
    let aborted: Vec<&serde_json::Value> = v["connections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["stage"]["outcome"] == "fail")
        .collect();
    assert_eq!(aborted.len(), 2);
    assert!(aborted
        .iter()
        .all(|c| c["stage"]["carries"] == "ad-user-challenge"));
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

/// Runs `lyncscope ARGS` with `input` on its standard input. Also returns how writing the input
/// ended: a program that stops reading early makes the writer fail with a broken pipe.
fn with_stdin(args: &[&str], input: Vec<u8>) -> (std::process::Output, std::io::Result<()>) {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    (out, feeder.join().unwrap())
}

/// Zeros on standard input are refused from their first bytes, with the message a file of
/// zeros gets, before the rest is read (or copied anywhere).
#[test]
fn zeros_on_stdin_are_refused_from_their_first_bytes() {
    let zeros = vec![0u8; 8 << 20];
    let (out, fed) = with_stdin(&["report", "-"], zeros.clone());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(
        fed.expect_err("the input is not read to its end").kind(),
        std::io::ErrorKind::BrokenPipe
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zeros");
    std::fs::write(&file, &zeros).unwrap();
    let from_file = bin().arg("report").arg(&file).output().unwrap();
    let from_file = String::from_utf8_lossy(&from_file.stderr);
    assert_eq!(
        err.replacen("lyncscope: -:", "", 1),
        from_file.replacen(&format!("lyncscope: {}:", file.display()), "", 1)
    );
    assert!(err.contains("not a pcap or pcapng capture"), "{err}");
}

/// A SAZ and a HAR on standard input give the exchanges the same file gives (the corpus
/// manifests: 6 sessions in httpbin-test.saz, 3 entries in mitmproxy_chrome.har).
#[test]
fn saz_and_har_on_stdin_give_the_exchanges_of_the_file() {
    for (rel, format, count) in [
        ("saz/httpbin-test.saz", "saz", 6),
        ("har/mitmproxy_chrome.har", "har", 3),
    ] {
        let Some(path) = common::corpus_file(rel) else {
            return;
        };
        let from_file = bin()
            .args(["report", "--format", "json"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(from_file.status.success(), "{rel}");
        let from_file: serde_json::Value = serde_json::from_slice(&from_file.stdout).unwrap();
        let (out, fed) = with_stdin(
            &["report", "--format", "json", "-"],
            std::fs::read(&path).unwrap(),
        );
        fed.unwrap();
        assert!(
            out.status.success(),
            "{rel}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let from_stdin: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(from_stdin["inputs"][0]["path"], "-");
        assert_eq!(from_stdin["inputs"][0]["format"], format);
        assert_eq!(
            from_stdin["inputs"][0]["bytes"],
            from_file["inputs"][0]["bytes"]
        );
        assert_eq!(from_stdin["exchanges"].as_array().unwrap().len(), count);
        assert_eq!(from_stdin["exchanges"], from_file["exchanges"], "{rel}");
    }
}

// ---- hostile key files ---------------------------------------------------------------------

mod hostile_keys {
    use base64::Engine;
    use rsa::pkcs8::der::asn1::OctetStringRef;
    use rsa::pkcs8::der::Encode;
    use rsa::pkcs8::pkcs5::pbes2::{Kdf, Parameters};
    use rsa::pkcs8::pkcs5::{scrypt, EncryptionScheme};
    use rsa::pkcs8::{EncryptedPrivateKeyInfoRef, ObjectIdentifier};
    use std::path::{Path, PathBuf};

    /// `lyncscope report` of a small capture with the key file; its exit code and stderr.
    pub fn report_with_key(option: &str, key: &Path) -> (Option<i32>, String) {
        let out = super::bin()
            .arg("report")
            .arg(super::common::sample("dvwa-login.pcapng"))
            .arg(option)
            .arg(key)
            .args(["--password", "test"])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The test RSA key, PKCS#8 DER (tests/data/keys).
    fn key_der() -> Vec<u8> {
        std::fs::read(super::common::data("keys/rsa2048.pkcs8.der")).unwrap()
    }

    /// The test EC key, PKCS#8 DER: small enough for 8,900 in a key file's 16 MiB.
    fn small_key_der() -> Vec<u8> {
        let text = std::fs::read_to_string(super::common::data("keys/ec-p256.pkcs8.pem")).unwrap();
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    }

    fn pbkdf2(iterations: u32) -> Parameters {
        Parameters::generate_pbkdf2_sha256_aes256cbc(iterations, &[7; 16], [9; 16]).unwrap()
    }

    /// The test RSA key encrypted with `params` and the password "test", then its parameters
    /// changed by `ask` (a file only needs to ask: it is refused before anything derives).
    pub fn encrypted_key(params: Parameters, ask: impl FnOnce(&mut Kdf)) -> Vec<u8> {
        encrypted(&key_der(), params, ask)
    }

    fn encrypted(key: &[u8], params: Parameters, ask: impl FnOnce(&mut Kdf)) -> Vec<u8> {
        let data = params.encrypt("test", key).unwrap();
        let mut params = params;
        ask(&mut params.kdf);
        EncryptedPrivateKeyInfoRef {
            encryption_algorithm: EncryptionScheme::Pbes2(params),
            encrypted_data: OctetStringRef::new(&data).unwrap(),
        }
        .to_der()
        .unwrap()
    }

    pub fn pem(der: &[u8]) -> String {
        let body = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|l| std::str::from_utf8(l).unwrap())
            .collect();
        format!(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\n{}\n-----END ENCRYPTED PRIVATE KEY-----\n",
            lines.join("\n")
        )
    }

    /// A key asking scrypt N = 2^log_n, r, p: encrypted with those parameters when `real`,
    /// else with cheap ones (it never decrypts, but it asks).
    pub fn scrypt_key(log_n: u32, r: u16, p: u16, real: bool) -> Vec<u8> {
        let used = if real {
            scrypt::Params::new(log_n as u8, r.into(), p.into()).unwrap()
        } else {
            scrypt::Params::new(4, 8, 1).unwrap()
        };
        let params = Parameters::generate_scrypt_aes256cbc(used, &[7; 16], [9; 16]).unwrap();
        encrypted_key(params, |kdf| {
            let Kdf::Scrypt(s) = kdf else {
                panic!("scrypt")
            };
            s.cost_parameter = 1 << log_n;
            s.block_size = r;
            s.parallelization = p;
        })
    }

    /// An EC key asking PBKDF2-HMAC-SHA256 with `iterations`.
    pub fn pbkdf2_small_key(iterations: u32) -> Vec<u8> {
        encrypted(&small_key_der(), pbkdf2(2048), |kdf| {
            let Kdf::Pbkdf2(p) = kdf else {
                panic!("PBKDF2")
            };
            p.iteration_count = iterations;
        })
    }

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        if content.len() < 0x80 {
            out.push(content.len() as u8);
        } else {
            let len: Vec<u8> = content
                .len()
                .to_be_bytes()
                .into_iter()
                .skip_while(|&b| b == 0)
                .collect();
            out.push(0x80 | len.len() as u8);
            out.extend(len);
        }
        out.extend_from_slice(content);
        out
    }

    fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
        tlv(0x30, &parts.concat())
    }

    fn oid(dotted: &str) -> Vec<u8> {
        ObjectIdentifier::new_unwrap(dotted).to_der().unwrap()
    }

    // RFC 7292 and RFC 5652 object identifiers.
    const DATA: &str = "1.2.840.113549.1.7.1";
    const ENCRYPTED_DATA: &str = "1.2.840.113549.1.7.6";
    const SHROUDED_KEY_BAG: &str = "1.2.840.113549.1.12.10.1.2";
    const PBES2: &str = "1.2.840.113549.1.5.13";

    /// A PFX (RFC 7292) of these safes, without MAC (p12-keystore accepts that, as OpenSSL
    /// does with `-nomac`).
    pub fn pfx(safes: &[Vec<u8>]) -> Vec<u8> {
        let auth_safe = seq(safes);
        seq(&[
            vec![2, 1, 3],
            seq(&[oid(DATA), tlv(0xa0, &tlv(0x04, &auth_safe))]),
        ])
    }

    pub fn data_safe(bags: &[Vec<u8>]) -> Vec<u8> {
        seq(&[oid(DATA), tlv(0xa0, &tlv(0x04, &seq(bags)))])
    }

    /// A safe encrypted with PBES2 (PBKDF2, 2048 iterations) and the password "test".
    pub fn encrypted_safe(bags: &[Vec<u8>]) -> Vec<u8> {
        let params = pbkdf2(2048);
        let data = params.encrypt("test", &seq(bags)).unwrap();
        let algorithm = seq(&[oid(PBES2), params.to_der().unwrap()]);
        let info = seq(&[oid(DATA), algorithm, tlv(0x80, &data)]);
        seq(&[oid(ENCRYPTED_DATA), tlv(0xa0, &seq(&[vec![2, 1, 0], info]))])
    }

    pub fn shrouded_bag(encrypted_key: &[u8]) -> Vec<u8> {
        seq(&[oid(SHROUDED_KEY_BAG), tlv(0xa0, encrypted_key)])
    }

    /// A key bag that opens with "test" after 1,000,000 PBKDF2 iterations, the most
    /// p12-keystore accepts for one bag.
    pub fn costly_valid_bag() -> Vec<u8> {
        shrouded_bag(&encrypted_key(pbkdf2(1_000_000), |_| {}))
    }

    pub fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

/// One line on stderr, exit 2, and that line.
fn one_line_error((code, err): (Option<i32>, String)) -> String {
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    err.trim_end().to_string()
}

/// Keys asking scrypt for gigabytes are refused before scrypt runs, naming the parameters.
/// (Before: N=2^20, r=64, p=16 allocated 8 GiB; N=2^20, r=16 took 2 GiB and many seconds.)
#[test]
fn a_key_asking_gigabytes_of_scrypt_memory_is_refused_at_once() {
    use hostile_keys::*;
    let dir = tempfile::tempdir().unwrap();
    for (log_n, r, p, memory) in [(20, 64, 16, "8 GiB"), (20, 16, 1, "2 GiB")] {
        let key = write(dir.path(), "KEY.pem", pem(&scrypt_key(log_n, r, p, false)));
        let err = one_line_error(report_with_key("--key", &key));
        assert_eq!(
            err,
            format!(
                "lyncscope: --key {}: encrypted key asks scrypt N={}, r={r}, p={p} ({memory} of memory; at most 256 MiB is allowed): decrypt it first with openssl pkcs8",
                key.display(),
                1u64 << log_n
            )
        );
    }
    // OpenSSL's default (N=2^14, r=8, p=1: 16 MiB) opens.
    let key = write(dir.path(), "ok.pem", pem(&scrypt_key(14, 8, 1, true)));
    let (code, err) = report_with_key("--key", &key);
    assert_eq!(code, Some(0), "{err}");
}

/// 8,900 PEM sections of 8.4 M PBKDF2 rounds each (hours of work before) are refused from
/// their parameters, before any key derivation runs.
#[test]
fn thousands_of_costly_pem_sections_are_refused_before_any_runs() {
    use hostile_keys::*;
    let dir = tempfile::tempdir().unwrap();
    let key = write(
        dir.path(),
        "KEY.pem",
        pem(&pbkdf2_small_key(8_400_000)).repeat(8_900),
    );
    let err = one_line_error(report_with_key("--key", &key));
    assert!(
        err.contains(": the encrypted keys ask too much key derivation (8900 key derivations, the costliest PBKDF2-HMAC-SHA256 with 8400000 iterations: 74760000000 PBKDF2-SHA256 rounds in all; at most 16000000, a few seconds, are allowed per key file): decrypt them first with openssl pkcs8"),
        "{err}"
    );
}

/// PKCS#12 files: each key bag within p12-keystore's own bound (1 M iterations), but a
/// hundred of them, in a plain or in an encrypted safe; and a bag asking scrypt for 1 GiB
/// (which p12-keystore would allow).
#[test]
fn pfx_files_asking_too_much_key_derivation_are_refused() {
    use hostile_keys::*;
    let dir = tempfile::tempdir().unwrap();
    let bag = costly_valid_bag();
    // One such bag is a real, if slow, file: the key opens.
    let one = write(
        dir.path(),
        "one.pfx",
        pfx(&[data_safe(std::slice::from_ref(&bag))]),
    );
    let (code, err) = report_with_key("--pfx", &one);
    assert_eq!(code, Some(0), "{err}");
    let bags = vec![bag; 100];
    for (name, safe) in [
        ("plain.pfx", data_safe(&bags)),
        ("nested.pfx", encrypted_safe(&bags)),
    ] {
        let file = write(dir.path(), name, pfx(&[safe]));
        let err = one_line_error(report_with_key("--pfx", &file));
        assert!(
            err.contains(": this PKCS#12/PFX file asks too much key derivation (")
                && err.contains("the costliest PBKDF2-HMAC-SHA256 with 1000000 iterations")
                && err.ends_with("): extract the key first with openssl pkcs12 -nodes"),
            "{name}: {err}"
        );
    }
    let file = write(
        dir.path(),
        "scrypt.pfx",
        pfx(&[data_safe(&[shrouded_bag(&scrypt_key(20, 8, 16, false))])]),
    );
    let err = one_line_error(report_with_key("--pfx", &file));
    assert!(
        err.ends_with(": a key bag of this PKCS#12/PFX file asks scrypt N=1048576, r=8, p=16 (1 GiB of memory; at most 256 MiB is allowed): extract the key first with openssl pkcs12 -nodes"),
        "{err}"
    );
}
