//! Issue 16, the command line and the reports: every failure gets a report, and the first
//! minutes with the tool go right. Facts come from the samples' own script records
//! (samples/lync/*.script.json, written by the client that made the capture).

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lyncscope"))
}

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples/lync")
        .join(name)
}

fn run(args: &[&str]) -> Output {
    bin()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The TCP steps of a sample's script: (server, SNI, alert) as the client recorded them.
fn script_tcp_steps(name: &str) -> Vec<(String, Option<String>, Option<String>)> {
    let path = sample(&format!("{name}.script.json"));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "tcp")
        .map(|s| {
            (
                s["server"].as_str().unwrap().to_string(),
                s["sni"].as_str().map(str::to_string),
                s["alert"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn a_sign_in_broken_before_any_http_gets_every_report_with_its_connections() {
    for name in ["C-cert-mismatch", "H-untrusted-internal-ca"] {
        let pcap = sample(&format!("{name}.pcapng"));
        let pcap = pcap.to_str().unwrap();
        let steps = script_tcp_steps(name);
        assert!(!steps.is_empty());
        let dir = tempfile::tempdir().unwrap();
        for format in ["markdown", "html", "text", "json"] {
            // Standard output and a file alike.
            let out = run(&["report", "--format", format, pcap]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{name} {format}: {}",
                text(&out.stderr)
            );
            let stdout = text(&out.stdout);
            let file = dir.path().join(format!("r.{format}"));
            let out = run(&[
                "report",
                "--format",
                format,
                "-o",
                file.to_str().unwrap(),
                pcap,
            ]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{name} {format}: {}",
                text(&out.stderr)
            );
            assert_eq!(std::fs::read_to_string(&file).unwrap(), stdout);
            if format == "json" {
                continue;
            }
            // Markdown escapes `_` and other marks; the facts are read without the escapes.
            let stdout = stdout.replace('\\', "");
            assert!(stdout.contains("Connections"), "{name} {format}");
            for (server, sni, alert) in &steps {
                assert!(
                    stdout.contains(server.as_str()),
                    "{name} {format}: {server}"
                );
                if let Some(sni) = sni {
                    assert!(
                        stdout.contains(&format!("SNI {sni}")),
                        "{name} {format}: {sni}"
                    );
                }
                if let Some(alert) = alert {
                    assert!(stdout.contains(alert.as_str()), "{name} {format}: {alert}");
                }
            }
            // C has no HTTP exchange at all (H has one, the plain-HTTP discovery answer).
            if format != "text" && name.starts_with("C-") {
                assert!(
                    stdout.contains("No HTTP exchange in the capture"),
                    "{name} {format}"
                );
            }
        }
        // The export command writes the same reports; HAR refuses, the same way for both outputs.
        for format in ["markdown", "html", "json"] {
            let file = dir.path().join(format!("e.{format}"));
            let out = run(&[
                "export",
                "--format",
                format,
                "-o",
                file.to_str().unwrap(),
                pcap,
            ]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{name} {format}: {}",
                text(&out.stderr)
            );
            let out = run(&["export", "--format", format, "-o", "-", pcap]);
            assert_eq!(out.status.code(), Some(0), "{name} {format}");
        }
        let exchange_only: &[&str] = if name.starts_with("C-") {
            &["har", "curl", "raw-request"]
        } else {
            &[]
        };
        for &format in exchange_only {
            let file = dir.path().join("e.out");
            let to_file = run(&[
                "export",
                "--format",
                format,
                "-o",
                file.to_str().unwrap(),
                pcap,
            ]);
            let to_stdout = run(&["export", "--format", format, "-o", "-", pcap]);
            for out in [&to_file, &to_stdout] {
                assert_eq!(out.status.code(), Some(2), "{name} {format}");
                let err = text(&out.stderr);
                assert_eq!(err.lines().count(), 1, "{err}");
                assert!(err.contains("no HTTP exchange"), "{err}");
            }
            assert_eq!(to_file.stderr, to_stdout.stderr);
            assert!(!file.exists(), "nothing written");
        }
    }
}

#[test]
fn a_cut_capture_says_so_in_the_verdict_and_the_report_heads() {
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pcapng");
    let whole = std::fs::read(sample("B-external-home-pool-redirect.pcapng")).unwrap();
    std::fs::write(&cut, &whole[..50_000]).unwrap();
    let cut = cut.to_str().unwrap();
    let out = run(&["stages", cut]);
    assert_eq!(out.status.code(), Some(0));
    let s = text(&out.stdout);
    // The script records a sign-in that completed: the cut one must not read as given up.
    let verdict = s
        .lines()
        .find(|l| l.contains("alice@contoso.com from"))
        .unwrap_or_else(|| panic!("{s}"));
    assert!(
        verdict.contains("capture ends at frame")
            && verdict.contains("the sign-in may have gone on"),
        "{verdict}"
    );
    let byte: u64 = verdict
        .split("byte ")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{verdict}"));
    assert!(byte > 0 && byte <= 50_000, "{verdict}");
    for format in ["markdown", "html", "text"] {
        let out = run(&["report", "--format", format, cut]);
        let r = text(&out.stdout);
        // In the head: before the first exchange is listed.
        let note = r.find("capture ends at frame");
        let first = r.find("webext").unwrap_or(r.len());
        assert!(note.is_some_and(|n| n < first), "{format}: {r}");
    }
    // The whole capture has no such note.
    let out = run(&[
        "stages",
        sample("B-external-home-pool-redirect.pcapng")
            .to_str()
            .unwrap(),
    ]);
    assert!(!text(&out.stdout).contains("capture ends at frame"));
}

/// One line on stderr, exit 2, the option named once, the OS reason once.
fn one_clear_line(out: &Output, option: &str, path: &str) {
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&format!("{option} {path}")), "{err}");
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}

#[test]
fn a_missing_file_is_named_with_its_option_once() {
    let pcap = sample("C-cert-mismatch.pcapng");
    let pcap = pcap.to_str().unwrap();
    for option in ["--keylog", "--key", "--pfx"] {
        let out = run(&["report", option, "/nonexistent/k", "--password", "x", pcap]);
        one_clear_line(&out, option, "/nonexistent/k");
    }
    let out = run(&["report", "-o", "/nonexistent/dir/r.txt", pcap]);
    one_clear_line(&out, "-o", "/nonexistent/dir/r.txt");
    let b = sample("B-external-home-pool-redirect.pcapng");
    let out = run(&[
        "export",
        "--format",
        "har",
        "-o",
        "/nonexistent/dir/x.har",
        b.to_str().unwrap(),
    ]);
    one_clear_line(&out, "-o", "/nonexistent/dir/x.har");
    let out = run(&["report", "--rules", "/nonexistent/r.toml", pcap]);
    one_clear_line(&out, "--rules", "/nonexistent/r.toml");
}

#[test]
fn piped_runs_apply_the_filter_and_refuse_a_bad_filter_or_config() {
    let b = sample("B-external-home-pool-redirect.pcapng");
    let b = b.to_str().unwrap();
    // Standard output is a pipe here: `lyncscope FILE` prints the stage table.
    let bad = run(&[b, "--filter", "~c ("]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("--filter:"),
        "{}",
        text(&bad.stderr)
    );
    let bad = run(&[b, "--config", "/nonexistent/config.toml"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = text(&bad.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--config /nonexistent/config.toml"), "{err}");
    // The filter: only 401 answers (the script's NTLM and OAuth challenges).
    for args in [
        vec![b, "--filter", "~c 401"],
        vec!["stages", b, "--filter", "~c 401"],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let s = text(&out.stdout);
        let table = s.split("\nSign-in").next().unwrap();
        let rows: Vec<&str> = table.lines().filter(|l| l.contains(" HTTP ")).collect();
        assert!(!rows.is_empty(), "{s}");
        for r in &rows {
            assert!(r.contains("→ 401"), "{r}");
        }
        assert!(!table.lines().any(|l| l.contains(" DNS ")), "{s}");
    }
}

#[test]
fn counts_agree_with_their_numbers() {
    let c = sample("C-cert-mismatch.pcapng");
    let out = run(&["report", c.to_str().unwrap()]);
    let s = text(&out.stdout);
    assert!(s.contains("0 exchanges in "), "{s}");
    let b = sample("B-external-home-pool-redirect.pcapng");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("one.har");
    let out = run(&[
        "export",
        "--format",
        "har",
        "--exchange",
        "1",
        "-o",
        f.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("wrote 1 exchange ("),
        "{}",
        text(&out.stderr)
    );
    for format in ["text", "markdown", "html"] {
        let out = run(&["report", "--format", format, b.to_str().unwrap()]);
        let s = text(&out.stdout);
        for wrong in ["1 exchanges", " 1 connections", " 1 errors", " 1 warnings"] {
            assert!(!s.contains(wrong), "{format}: {wrong}");
        }
    }
}

#[test]
fn an_archive_says_tls_was_not_recorded() {
    let saz = sample("B-external-home-pool-redirect.saz");
    let out = run(&["report", saz.to_str().unwrap()]);
    let s = text(&out.stdout);
    assert!(!s.contains("? ?"), "{s}");
    assert!(s.contains("Connections"), "{s}");
    // A finding about the input as a whole says so instead of an empty evidence list.
    let out = run(&["stages", saz.to_str().unwrap()]);
    let s = text(&out.stdout);
    let line = s
        .lines()
        .find(|l| l.contains("C-SRC-1"))
        .unwrap_or_else(|| panic!("{s}"));
    assert!(line.contains("(about the input as a whole)"), "{line}");
}

#[test]
fn the_html_report_puts_the_verdict_first_and_colours_bars_by_outcome() {
    let b = sample("B-external-home-pool-redirect.pcapng");
    let out = run(&["report", "--format", "html", b.to_str().unwrap()]);
    let s = text(&out.stdout);
    let verdict = s.find("id=\"verdict\"").unwrap();
    let summary = s.find("id=\"summary\"").unwrap();
    assert!(verdict < summary);
    // Check ids never break at their hyphen.
    assert!(s.contains("td.id, td.id code { white-space: nowrap; }"));
    assert!(
        s.contains("<td class=\"id\"><code>C-AUTH-1</code></td>"),
        "C-AUTH-1 cell"
    );
    // Waterfall bars: outcome colours only (sample B's script: ok, challenge, redirect).
    let waterfall = &s[s.find("aria-label=\"Exchange waterfall\"").unwrap()..];
    let bars: Vec<&str> = waterfall
        .split("<rect ")
        .filter(|r| r.contains("<title>receiving"))
        .collect();
    assert!(!bars.is_empty());
    let outcome_colours = [
        "#2e9d4a", "#1b9fb5", "#3b64d8", "#d33c2e", "#a0a0a0", "#9a6fc0",
    ];
    for r in bars {
        assert!(
            outcome_colours
                .iter()
                .any(|c| r.contains(&format!("fill=\"{c}\""))),
            "{r}"
        );
    }
}

/// tshark's fields for `filter` in sample `name` (one Vec per row), None when tshark is not
/// installed (the test then says it was skipped).
fn tshark(name: &str, filter: &str, fields: &[&str]) -> Option<Vec<Vec<String>>> {
    let path = sample(name);
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(path).args(["-T", "fields"]);
    if !filter.is_empty() {
        cmd.args(["-Y", filter]);
    }
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    assert!(out.status.success(), "tshark {filter}");
    Some(
        text(&out.stdout)
            .lines()
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect(),
    )
}

/// The reports of sample B in every format (text, stages, markdown, html, json).
fn reports_of_b() -> Vec<(&'static str, String)> {
    let b = sample("B-external-home-pool-redirect.pcapng");
    let b = b.to_str().unwrap();
    let mut all = Vec::new();
    for (what, args) in [
        ("text", vec!["report", b]),
        ("stages", vec!["stages", b]),
        ("markdown", vec!["report", "--format", "markdown", b]),
        ("html", vec!["report", "--format", "html", b]),
        ("json", vec!["report", "--format", "json", b]),
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(0), "{what}: {}", text(&out.stderr));
        all.push((what, text(&out.stdout)));
    }
    all
}

/// The text after `start` up to the next `end` (panics with the report when absent).
fn after<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let i = s.find(start).unwrap_or_else(|| panic!("{start} in\n{s}")) + start.len();
    let rest = &s[i..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

#[test]
fn exchange_0_has_the_same_time_in_every_report_counted_from_the_first_frame() {
    const B: &str = "B-external-home-pool-redirect.pcapng";
    let Some(requests) = tshark(B, "http.request", &["frame.number", "frame.time_relative"]) else {
        println!("skipped: exchange_0_has_the_same_time…: tshark not installed");
        return;
    };
    // tshark counts frame.time_relative from the capture's first frame.
    let (frame0, rel0): (u64, f64) = (
        requests[0][0].parse().unwrap(),
        requests[0][1].parse().unwrap(),
    );
    let first_frame: f64 = tshark(B, "", &["frame.time_epoch"]).unwrap()[0][0]
        .parse()
        .unwrap();
    let want = format!("{rel0:.3}");
    let mut origins = Vec::new();
    for (what, r) in reports_of_b() {
        let got: Vec<String> = match what {
            "text" => vec![r
                .lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>())
                .find(|t| t.first() == Some(&"0"))
                .unwrap()[1]
                .to_string()],
            "stages" => vec![r
                .lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>())
                .find(|t| t.get(1) == Some(&"#0"))
                .unwrap()[0]
                .to_string()],
            "markdown" => vec![
                after(&r, "| [#0](#x0) | ", " |").to_string(),
                after(&r, "#0 `GET", "\n## ")
                    .split("**Time:** +")
                    .nth(1)
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap()
                    .to_string(),
            ],
            "html" => vec![
                after(&r, "<a href=\"#x0\">#0</a></td><td>", "<").to_string(),
                after(&r, "Time</dt><dd>+", " ").to_string(),
            ],
            _ => {
                let v: serde_json::Value = serde_json::from_str(&r).unwrap();
                let origin = v["time_origin"].as_f64().unwrap();
                assert!(
                    (origin - first_frame).abs() < 1e-6,
                    "{origin} {first_frame}"
                );
                let input_first = v["inputs"][0]["first_frame"].as_f64().unwrap();
                assert!((input_first - first_frame).abs() < 1e-6, "{input_first}");
                let x = &v["exchanges"][0];
                // Exchange #0 is the request tshark shows first.
                assert_eq!(x["timing"]["request_frames"][0].as_u64(), Some(frame0));
                let start = x["timing"]["request_start"].as_f64().unwrap();
                vec![format!("{:.3}", start - origin)]
            }
        };
        for g in got {
            assert_eq!(g, want, "{what}");
        }
        if what != "json" {
            // The origin is said once, and the same in each.
            assert_eq!(r.matches("seconds since ").count(), 1, "{what}");
            origins.push(after(&r, "seconds since ", " UTC").to_string());
        }
    }
    assert!(origins.iter().all(|o| *o == origins[0]), "{origins:?}");
}

#[test]
fn reports_and_findings_name_connections_as_tshark_numbers_its_tcp_streams() {
    const B: &str = "B-external-home-pool-redirect.pcapng";
    let Some(requests) = tshark(B, "http.request", &["tcp.stream"]) else {
        println!("skipped: reports_and_findings_name_connections…: tshark not installed");
        return;
    };
    let streams: Vec<String> = requests.iter().map(|r| format!("C{}", r[0])).collect();
    // The connection the client aborted with certificate_unknown (46) (C-CERT-7 cites it).
    let aborted = tshark(B, "tls.alert_message.desc == 46", &["tcp.stream"]).unwrap();
    let aborted = format!("C{}", aborted[0][0]);
    for (what, r) in reports_of_b() {
        match what {
            "text" => {
                for (i, c) in streams.iter().enumerate() {
                    let row = r
                        .lines()
                        .map(|l| l.split_whitespace().collect::<Vec<_>>())
                        .find(|t| t.first() == Some(&i.to_string().as_str()))
                        .unwrap();
                    assert_eq!(row[2], c, "text #{i}");
                }
                let conn = after(&r, &format!("\n     {aborted} "), "\n");
                assert!(conn.contains("certificate_unknown (46)"), "{conn}");
            }
            "stages" => {
                let f = after(&r, "C-CERT-7 (", ")");
                assert!(f.split(", ").any(|x| x == aborted), "{f}");
            }
            "markdown" => {
                for (i, c) in streams.iter().enumerate() {
                    let x = after(&r, &format!("</a>#{i} `"), "\n### ");
                    assert!(x.contains(&format!("**Connection:** {c} ")), "md #{i}");
                }
                let f = after(&r, "`C-CERT-7`:", "\n");
                assert!(f.ends_with(&format!(", {aborted})")), "{f}");
            }
            "html" => {
                let cs: Vec<&str> = r
                    .split("Connection</dt><dd>")
                    .skip(1)
                    .map(|s| s.split(' ').next().unwrap())
                    .collect();
                assert_eq!(cs, streams, "html");
                let f = after(&r, "<code>C-CERT-7</code>", "</tr>");
                assert!(f.contains(&format!(">{aborted}</a>")), "{f}");
            }
            _ => {
                let v: serde_json::Value = serde_json::from_str(&r).unwrap();
                let ids: Vec<String> = v["exchanges"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| format!("C{}", x["connection"]))
                    .collect();
                assert_eq!(ids, streams, "json");
            }
        }
    }
}

#[test]
fn command_line_filters_refuse_an_unknown_stage_as_the_ui_does() {
    let b = sample("B-external-home-pool-redirect.pcapng");
    let b = b.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.json");
    let file = file.to_str().unwrap();
    // "webticket" is no stage id (docs/stages.md has webticket-oauth and webticket-soap).
    for filter in ["~stage webticket", "~stage ad-root-https"] {
        let known = !filter.ends_with("webticket");
        for args in [
            vec!["export", "--format", "json", "-o", file, b],
            vec!["report", b],
            vec!["report", "--format", "markdown", b],
            vec!["stages", b],
            vec![b],
        ] {
            let mut args = args.clone();
            args.extend(["--filter", filter]);
            let out = run(&args);
            let err = text(&out.stderr);
            if known {
                assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
            } else {
                assert_eq!(out.status.code(), Some(2), "{args:?}");
                let line = err.lines().last().unwrap();
                assert!(
                    line.contains("--filter:") && line.contains("unknown stage webticket"),
                    "{args:?}: {err}"
                );
            }
        }
    }
}

/// The offset of the first pcapng block that does not end inside `data` (little-endian
/// blocks, as sample B's section header says), with the count of whole Enhanced Packet
/// Blocks before it.
fn first_cut_block(data: &[u8]) -> (usize, u64) {
    assert_eq!(&data[8..12], &0x1A2B_3C4Du32.to_le_bytes(), "little-endian");
    let (mut at, mut packets) = (0usize, 0u64);
    while at + 8 <= data.len() {
        let kind = u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
        let len = u32::from_le_bytes(data[at + 4..at + 8].try_into().unwrap()) as usize;
        if at + len > data.len() {
            break;
        }
        packets += u64::from(kind == 6);
        at += len;
    }
    (at, packets)
}

#[test]
fn the_json_report_says_where_reading_of_a_cut_capture_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pcapng");
    let whole_path = sample("B-external-home-pool-redirect.pcapng");
    let whole = std::fs::read(&whole_path).unwrap();
    std::fs::write(&cut, &whole[..50_000]).unwrap();
    let (stop, packets) = first_cut_block(&whole[..50_000]);
    assert!(stop < 50_000);
    let out = run(&["report", "--format", "json", cut.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let input = &v["inputs"][0];
    assert_eq!(input["truncated"], true);
    assert_eq!(input["stopped_at"].as_u64(), Some(stop as u64), "{input}");
    assert_eq!(input["frames"].as_u64(), Some(packets), "{input}");
    // The whole capture was read to its end.
    let out = run(&["report", "--format", "json", whole_path.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["inputs"][0]["truncated"], false);
    assert!(v["inputs"][0]["stopped_at"].is_null());
}
