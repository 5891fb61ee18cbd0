//! Shared helpers for the integration tests: how to run an analysis, which captures the corpus
//! holds. Where the corpus, the samples and the fixtures are is the library's test kit's to say
//! (`lyncscope::testkit`, shared with the unit tests).
#![allow(dead_code)]

// Each test binary uses some of these; the others would warn.
#[allow(unused_imports)]
pub use lyncscope::testkit::{corpus, corpus_file, data, sample};
use lyncscope::{analyze, Analysis, Options};
use std::path::{Path, PathBuf};

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
pub mod har_schema;
pub mod screen;
pub mod scripts;
pub mod synth;
