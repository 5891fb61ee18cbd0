//! Trace archives end to end: corpus SAZ/HAR files load through the public API with the
//! counts their manifests give, and a decrypted capture exported as SAZ or HAR reads back as
//! the same exchanges.

mod common;

use lyncscope::model::Analysis;
use lyncscope::{analyze, Options};
use std::path::Path;
use std::process::Command;

/// (method, target, status, decoded response body hash) per exchange.
type Summary = (String, String, Option<u16>, Option<[u8; 32]>);

fn exchanges_of(a: &Analysis) -> Vec<Summary> {
    a.exchanges
        .iter()
        .map(|e| {
            let r = e.request.as_ref().unwrap();
            let resp = e.response.as_ref();
            (
                r.method.to_string(),
                r.target.clone(),
                resp.map(|x| x.status),
                resp.and_then(|x| x.body.decoded_sha256()),
            )
        })
        .collect()
}

#[test]
fn corpus_archives_load_with_their_manifest_counts() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    // Sessions per archive from the corpus's saz/MANIFEST.md and entries from its
    // har/MANIFEST.md (also the reference JSON's request counts).
    let saz = [
        ("saz/httpbin-test.saz", 6),
        ("saz/images.saz", 3),
        ("saz/nekoxy2_websocket.saz", 2),
        ("saz/office-inspectors_NewCaseName.saz", 56),
        ("saz/saz2jmx_test.saz", 14),
        ("saz/companion_session.saz", 420),
    ];
    for (f, n) in saz {
        let a = analyze(&[corpus.join(f)], &Options::default(), &mut ()).unwrap();
        assert_eq!(a.exchanges.len(), n, "{f}");
        assert_eq!(a.inputs[0].format, "saz");
        assert!(
            a.diagnostics.iter().any(|d| d.message.contains("proxy")),
            "{f}: the report says it was seen through a proxy"
        );
    }
    let o = Options {
        password: Some("fiddler".into()),
        ..Options::default()
    };
    let a = analyze(
        &[corpus.join("saz/synthetic/nekoxy2_websocket.aes256.pw-fiddler.saz")],
        &o,
        &mut (),
    )
    .unwrap();
    assert_eq!(a.exchanges.len(), 2);
    let err = analyze(
        &[corpus.join("saz/synthetic/nekoxy2_websocket.aes256.pw-fiddler.saz")],
        &Options::default(),
        &mut (),
    );
    assert!(err.unwrap_err().to_string().contains("password"));
    for entry in std::fs::read_dir(corpus.join("har")).unwrap().flatten() {
        let p = entry.path();
        if p.extension().and_then(|x| x.to_str()) != Some("har") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(text.trim_start_matches('\u{feff}')).unwrap();
        let want = v["log"]["entries"].as_array().unwrap().len();
        let a = analyze(std::slice::from_ref(&p), &Options::default(), &mut ()).unwrap();
        assert_eq!(a.exchanges.len(), want, "{}", p.display());
    }
}

fn export(sample: &Path, format: &str, out: &Path) {
    let st = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .arg("export")
        .arg(sample)
        .args(["--format", format, "-q", "-o"])
        .arg(out)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
}

#[test]
fn a_decrypted_capture_exported_as_saz_and_har_reads_back_the_same() {
    let sample = common::sample("tls12-keylog-dsb.pcapng");
    let original = analyze(std::slice::from_ref(&sample), &Options::default(), &mut ()).unwrap();
    let want = exchanges_of(&original);
    // zeek tls-1.2-stream-keylog: 16 GETs inside one decrypted TLS connection.
    assert_eq!(want.len(), 16);
    let dir = tempfile::tempdir().unwrap();
    for format in ["saz", "har"] {
        let out = dir.path().join(format!("export.{format}"));
        export(&sample, format, &out);
        let back = analyze(&[out], &Options::default(), &mut ()).unwrap();
        let got = exchanges_of(&back);
        assert_eq!(got.len(), want.len(), "{format}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!((&g.0, &g.2, &g.3), (&w.0, &w.2, &w.3), "{format}");
            // HAR holds absolute URLs; SAZ keeps the target as sent.
            assert!(g.1.ends_with(&w.1), "{format}: {} vs {}", g.1, w.1);
        }
    }
}

/// Fiddler takes every byte after the first CRLFCRLF of raw/N_c.txt / _s.txt as the body,
/// whatever the headers say; hand-made archives rely on it.
#[test]
fn saz_bodies_are_every_byte_after_the_head() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    for f in [
        "saz/node-saz-parser_simple.handmade.saz",
        "saz/node-saz-parser_multipleSessions.handmade.saz",
        "saz/saz-viewer_sample.handmade.saz",
    ] {
        let path = corpus.join(f);
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
        let mut want = Vec::new();
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i).unwrap();
            let name = entry.name().unwrap().to_string();
            if !(name.ends_with("_c.txt") || name.ends_with("_s.txt")) {
                continue;
            }
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
            let head = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
            want.push((bytes.len() - head) as u64);
        }
        want.sort_unstable();
        let a = analyze(&[path], &Options::default(), &mut ()).unwrap();
        let mut got: Vec<u64> = a
            .exchanges
            .iter()
            .flat_map(|e| {
                [
                    e.request.as_ref().map(|r| r.body.wire_length),
                    e.response.as_ref().map(|r| r.body.wire_length),
                ]
            })
            .flatten()
            .collect();
        got.sort_unstable();
        assert_eq!(got, want, "{f}");
    }
}

#[test]
fn saz_pipe_info_and_flags_reach_the_json_report() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let saz = corpus.join("saz/httpbin-test.saz");
    // raw/2_m.xml of this archive: <PipeInfo CltReuse="true" Reused="true" />.
    let out = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .arg("report")
        .arg(&saz)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ann = v["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["annotations"])
        .find(|a| a["origin"] == "SAZ session 2")
        .unwrap();
    let flags = ann["flags"].as_array().unwrap();
    for want in ["saz:PipeInfo.CltReuse", "saz:PipeInfo.Reused"] {
        assert!(
            flags.iter().any(|f| f[0] == want && f[1] == "true"),
            "{want}"
        );
    }
    assert!(!ann["timers"].as_array().unwrap().is_empty());
}
