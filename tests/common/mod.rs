//! Shared helpers for the integration tests: where the corpus is, how to run an analysis.
#![allow(dead_code)]

use lyncscope::{analyze, Analysis, Options};
use std::path::{Path, PathBuf};

/// The shared capture corpus, beside the repository (`../shared/corpus`).
pub fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if p.is_dir() {
        Some(p)
    } else if std::env::var_os("CI").is_some() {
        panic!("CI must have ../shared/corpus beside the repository");
    } else {
        eprintln!("skipping: ../shared/corpus not found");
        None
    }
}

pub fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

pub fn run(path: &Path) -> Analysis {
    analyze(&[path.to_path_buf()], &Options::default(), &mut ())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every capture file below `dir`, sorted.
pub fn captures(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "reference") {
                    stack.push(p);
                }
            } else if matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("pcap" | "pcapng" | "cap")
            ) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The tshark reference of a corpus capture, if there is one.
pub fn reference(corpus: &Path, capture: &Path) -> Option<serde_json::Value> {
    let rel = capture.strip_prefix(corpus).ok()?;
    let p = corpus
        .join("reference")
        .join(format!("{}.json", rel.display()));
    let text = std::fs::read_to_string(p).ok()?;
    serde_json::from_str(&text).ok()
}
pub mod scripts;
pub mod synth;
