//! The self-contained HTML report on the Lync samples: the scenario scripts' facts
//! (samples/lync/*.script.json, written by the mock client itself), escaping of hostile
//! content, and a real rendering in headless Chromium (screenshot not blank, the SVG pictures
//! in the DOM, no console errors).

mod common;

use common::scripts::{all, analysis, http_steps, s, script};
use lyncscope::model::{Analysis, ExchId, Headers, Notes};
use lyncscope::report::html::write_html;
use lyncscope::report::svg::{swimlanes_svg, waterfall_svg};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn render(a: &Analysis, notes: &Notes, scope: &[ExchId]) -> String {
    let mut v = Vec::new();
    write_html(a, notes, scope, &mut v).unwrap();
    String::from_utf8(v).unwrap()
}

/// The `<section>` of one exchange.
fn exchange_section(html: &str, id: ExchId) -> &str {
    let start = html
        .find(&format!("id=\"x{}\">", id.0))
        .unwrap_or_else(|| panic!("no section for #{}", id.0));
    let rest = &html[start..];
    &rest[..rest.find("</section>").unwrap()]
}

/// Every `href`/`src` value: a self-contained report only links inside itself.
fn assert_self_contained(html: &str) {
    for attr in ["href=\"", "src=\"", "src='", "href='", "url("] {
        for (i, _) in html.match_indices(attr) {
            let v = &html[i + attr.len()..];
            assert!(
                v.starts_with('#'),
                "external reference: {}",
                &html[i..(i + 80).min(html.len())]
            );
        }
    }
    assert!(!html.contains("<script"), "a script in the report");
    assert!(!html.contains("<link"), "a linked resource in the report");
}

#[test]
fn html_report_states_the_scripts_facts() {
    for name in [
        "A-internal-rp-vip",
        "C-cert-mismatch",
        "D-user-404",
        "E-hairpin-blocked",
    ] {
        let sc = script(name);
        let a = analysis(name);
        let steps = http_steps(&a, &sc);
        let expect = &sc["expect"];
        let mut notes = Notes::default();
        let annotated = steps
            .iter()
            .find(|(st, _)| s(st, "outcome") == Some("fail"))
            .or(steps.last())
            .map(|(st, x)| (*st, x.id));
        if let Some((_, id)) = annotated {
            notes.set_mark(id, true);
            notes.set_comment(id, Some(format!("look here <{name}> & there")));
        }
        let html = render(&a, &notes, &all(&a));
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.trim_end().ends_with("</html>"));
        assert!(html.contains(&format!("{name}.pcapng")));
        assert_self_contained(&html);

        let verdict =
            &html[html.find("id=\"verdict\"").unwrap()..html.find("id=\"findings\"").unwrap()];
        let furthest = s(expect, "furthest_stage").unwrap();
        assert!(
            verdict.contains(&format!("furthest stage: <code>{furthest}</code>")),
            "{name}: {verdict}"
        );
        let failed = s(expect, "failed_stage").unwrap_or("—");
        assert!(
            verdict.contains(&format!(">{failed}</code>")),
            "{name}: {verdict}"
        );
        let signed_in = expect["signed_in"].as_bool().unwrap();
        assert!(verdict.contains(if signed_in {
            "signed in: yes"
        } else {
            "signed in: no"
        }));

        for f in expect["findings"].as_array().unwrap() {
            let check = s(f, "check").unwrap();
            let sev = match s(f, "severity").unwrap() {
                "fail" => "FAIL",
                other => other,
            };
            let row_start = html
                .find(&format!("data-check=\"{check}\""))
                .unwrap_or_else(|| panic!("{name}: finding {check} missing"));
            let row = &html[row_start..row_start + html[row_start..].find("</tr>").unwrap()];
            assert!(row.contains(&format!(">{sev}</td>")), "{row}");
        }
        for f in &a.findings {
            for x in &f.exchanges {
                assert!(html.contains(&format!("<a href=\"#x{}\">#{}</a>", x.0, x.0)));
            }
        }

        for (st, x) in &steps {
            let sec = exchange_section(&html, x.id);
            let h3 = &sec[sec.find("<h3>").unwrap()..sec.find("</h3>").unwrap()];
            assert!(h3.contains(s(st, "method").unwrap()), "{h3}");
            match st["status"].as_u64() {
                Some(code) => assert!(h3.contains(&format!("→ {code}")), "{h3}"),
                None => assert!(h3.contains("no response"), "{h3}"),
            }
        }

        if let Some((_, id)) = annotated {
            let sec = exchange_section(&html, id);
            assert!(sec.contains("★"));
            assert!(sec.contains(&format!(
                "<div class=\"comment\">look here &lt;{name}&gt; &amp; there</div>"
            )));
            let marked =
                &html[html.find("id=\"marked\"").unwrap()..html.find("id=\"stages\"").unwrap()];
            assert!(marked.contains(&format!("<a href=\"#x{}\">", id.0)));
        }

        // Both pictures, with a lane per stage the script used and a row per exchange.
        assert_eq!(html.matches("<svg").count(), 2, "{name}");
        for st in sc["steps"].as_array().unwrap() {
            let stage = s(st, "stage").unwrap();
            assert!(
                html.contains(&format!("data-stage=\"{stage}\"")),
                "{name}: no lane for {stage}"
            );
        }
        for (_, x) in &steps {
            assert!(html.contains(&format!("data-exchange=\"{}\"", x.id.0)));
        }
    }
}

#[test]
fn svg_pictures_show_connections_and_first_bytes() {
    let a = analysis("B-external-home-pool-redirect");
    let scope = all(&a);
    let w = waterfall_svg(&a, &scope, &Notes::default());
    // One row per exchange; one connection set-up per connection that carried HTTP and was
    // opened in the capture; a first-byte tick per answered exchange.
    assert_eq!(w.matches("class=\"row\"").count(), a.exchanges.len());
    let opened = a
        .connections
        .iter()
        .filter(|c| c.handshake && !c.exchanges.is_empty())
        .count();
    assert_eq!(w.matches("class=\"connect\"").count(), opened);
    let answered = a
        .exchanges
        .iter()
        .filter(|x| x.timing.response_start().is_some())
        .count();
    assert_eq!(w.matches("class=\"ttfb\"").count(), answered);
    // Lanes follow the rules' stage order, unrelated last.
    let l = swimlanes_svg(&a, &scope);
    let order: Vec<&str> = l
        .match_indices("data-stage=\"")
        .map(|(i, m)| {
            let v = &l[i + m.len()..];
            &v[..v.find('"').unwrap()]
        })
        .collect();
    let rank = |id: &str| {
        if id == "unrelated" {
            return usize::MAX;
        }
        a.stages
            .iter()
            .position(|s| s.id == id)
            .unwrap_or(usize::MAX - 1)
    };
    let mut sorted = order.clone();
    sorted.sort_by_key(|id| rank(id));
    assert_eq!(order, sorted);
    assert!(order.contains(&"tcp-tls") && order.contains(&"dns-discovery"));
}

#[test]
fn hostile_content_is_escaped() {
    let mut a = analysis("D-user-404");
    let x = a
        .exchanges
        .iter_mut()
        .find(|x| x.response.is_some())
        .unwrap();
    let id = x.id;
    let r = x.response.as_mut().unwrap();
    r.headers = Headers::from_pairs([
        ("Content-Type", "text/html"),
        ("X-Evil", "\"><script>alert(2)</script>"),
    ]);
    r.body.kept = Some(Arc::from(
        &b"<html><script>alert(1)</script><img src=http://evil.example/x></html>"[..],
    ));
    let html = render(&a, &Notes::default(), &[id]);
    assert_self_contained(&html);
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;script&gt;alert(2)"));
    assert!(html.contains("<details>"));
}

// ---------------------------------------------------------------------------------------------
// Headless Chromium.

fn browser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Runs the browser with a time limit; returns (stdout, stderr).
fn run_browser(bin: &Path, args: &[String]) -> (Vec<u8>, String) {
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        String::from_utf8_lossy(&v).into_owned()
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (out_reader.join().unwrap(), err_reader.join().unwrap())
}

/// Decodes an 8-bit RGB / RGBA (or grey) PNG into pixels: chunks, zlib, scanline filters.
fn decode_png(data: &[u8]) -> (u32, u32, usize, Vec<u8>) {
    assert_eq!(&data[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let mut pos = 8;
    let (mut w, mut h, mut channels) = (0u32, 0u32, 0usize);
    let mut idat = Vec::new();
    while pos + 8 <= data.len() {
        let len = u32::from_be_bytes(data[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = &data[pos + 4..pos + 8];
        let body = &data[pos + 8..pos + 8 + len];
        match kind {
            b"IHDR" => {
                w = u32::from_be_bytes(body[0..4].try_into().unwrap());
                h = u32::from_be_bytes(body[4..8].try_into().unwrap());
                assert_eq!(body[8], 8, "bit depth");
                assert_eq!(body[12], 0, "interlaced");
                channels = match body[9] {
                    0 => 1,
                    2 => 3,
                    4 => 2,
                    6 => 4,
                    t => panic!("colour type {t}"),
                };
            }
            b"IDAT" => idat.extend_from_slice(body),
            b"IEND" => break,
            _ => {}
        }
        pos += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .unwrap();
    let stride = w as usize * channels;
    assert_eq!(raw.len(), (stride + 1) * h as usize);
    let mut px = vec![0u8; stride * h as usize];
    for y in 0..h as usize {
        let filter = raw[y * (stride + 1)];
        let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
        for i in 0..stride {
            let a = if i >= channels {
                px[y * stride + i - channels]
            } else {
                0
            } as i32;
            let b = if y > 0 { px[(y - 1) * stride + i] } else { 0 } as i32;
            let c = if y > 0 && i >= channels {
                px[(y - 1) * stride + i - channels]
            } else {
                0
            } as i32;
            let pred = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => {
                    let p = a + b - c;
                    let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                f => panic!("filter {f}"),
            };
            px[y * stride + i] = (line[i] as i32 + pred) as u8;
        }
    }
    (w, h, channels, px)
}

#[test]
fn chromium_renders_the_report() {
    let Some(bin) = browser() else {
        if std::env::var_os("CI").is_some() {
            panic!("chromium missing: .ci/run installs it");
        }
        eprintln!("skipping: no chromium, chromium-browser or google-chrome on PATH");
        return;
    };
    let a = analysis("D-user-404");
    let mut notes = Notes::default();
    let failing = a
        .exchanges
        .iter()
        .find(|x| x.response.as_ref().is_some_and(|r| r.status == 404))
        .unwrap()
        .id;
    notes.set_mark(failing, true);
    notes.set_comment(failing, Some("user resource answers 404".into()));
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.html");
    let mut f = std::fs::File::create(&report).unwrap();
    write_html(&a, &notes, &all(&a), &mut f).unwrap();
    drop(f);
    let url = format!("file://{}", report.display());
    let common = |profile: &str| -> Vec<String> {
        vec![
            "--headless=new".into(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--no-first-run".into(),
            "--disable-dev-shm-usage".into(),
            "--hide-scrollbars".into(),
            format!("--user-data-dir={}", dir.path().join(profile).display()),
        ]
    };

    let png = dir.path().join("shot.png");
    let mut args = common("p1");
    args.push("--window-size=1280,1600".into());
    args.push(format!("--screenshot={}", png.display()));
    args.push(url.clone());
    let (_, err) = run_browser(&bin, &args);
    let data = std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot ({e}): {err}"));
    let (w, h, channels, px) = decode_png(&data);
    assert_eq!((w, h), (1280, 1600));
    let mut colours = std::collections::HashSet::new();
    let mut not_white = 0usize;
    for p in px.chunks(channels) {
        colours.insert(p[..channels.min(3)].to_vec());
        if p[..channels.min(3)].iter().any(|&v| v < 240) {
            not_white += 1;
        }
    }
    assert!(colours.len() > 50, "only {} colours", colours.len());
    assert!(
        not_white * 50 > (w * h) as usize,
        "the screenshot is nearly blank ({not_white} non-white pixels)"
    );

    let mut args = common("p2");
    args.extend([
        "--enable-logging=stderr".to_string(),
        "--v=0".to_string(),
        "--dump-dom".to_string(),
        url.clone(),
    ]);
    let (dom, err) = run_browser(&bin, &args);
    let dom = String::from_utf8_lossy(&dom);
    assert!(dom.matches("<svg").count() >= 2, "SVG not in the DOM");
    assert!(dom.contains("class=\"item\"") && dom.contains("class=\"row\""));
    assert!(dom.contains(&format!("id=\"x{}\"", failing.0)));
    let bad: Vec<&str> = err
        .lines()
        .filter(|l| {
            l.contains("Uncaught")
                || (l.contains("CONSOLE") && l.contains("report.html"))
                || l.contains("Content Security Policy")
        })
        .collect();
    assert!(bad.is_empty(), "console errors:\n{}", bad.join("\n"));
}
