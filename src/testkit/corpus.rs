//! One corpus locator for every test. The capture corpus is not part of the repository: it
//! is found through `$LYNCSCOPE_CORPUS`, else in `shared/corpus` beside the repository's
//! folder (the layout the project's machines use). A test that cannot find it says so on the
//! test output ("skipped: …") rather than passing silently; under CI (`$CI` set) a missing
//! corpus fails the test instead.

use std::collections::HashSet;
use std::io::Write;
use std::panic::Location;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The environment variable that points at the corpus folder.
pub const CORPUS_VAR: &str = "LYNCSCOPE_CORPUS";

/// The folder holding the crate (its `Cargo.toml`).
fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Where the corpus should be: `$LYNCSCOPE_CORPUS` when set (and then only there, so that
/// pointing it at a missing folder shows which tests need the corpus), else beside the
/// repository.
fn corpus_dir() -> PathBuf {
    match std::env::var_os(CORPUS_VAR) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => crate_dir().join("../shared/corpus"),
    }
}

/// The capture corpus folder, or `None` (after saying "skipped") when it is not there.
#[track_caller]
pub fn corpus() -> Option<PathBuf> {
    let dir = corpus_dir();
    if dir.is_dir() {
        Some(dir)
    } else {
        missing(&dir);
        None
    }
}

/// A file or folder inside the corpus (`rel` as in its MANIFEST), or `None` (after saying
/// "skipped") when the corpus is not there. A corpus that lacks `rel` is the test's failure
/// to report, not a skip.
#[track_caller]
pub fn corpus_file(rel: &str) -> Option<PathBuf> {
    corpus().map(|dir| dir.join(rel))
}

/// A bundled sample: `samples/<name>` in the repository (always there).
pub fn sample(name: &str) -> PathBuf {
    crate_dir().join("samples").join(name)
}

/// A test fixture: `tests/data/<rel>` in the repository (always there).
pub fn data(rel: &str) -> PathBuf {
    crate_dir().join("tests/data").join(rel)
}

/// Reports a missing corpus once per test: a panic under CI (at the test's call), else a
/// "skipped" line.
#[track_caller]
fn missing(dir: &Path) {
    let caller = Location::caller();
    // libtest names each test's thread after the test; with one test thread it runs tests
    // on "main", and the caller's place is the best name left.
    let what = match std::thread::current().name() {
        Some(name) if name != "main" => name.to_string(),
        _ => caller.to_string(),
    };
    if std::env::var_os("CI").is_some() {
        panic!(
            "{what}: corpus not found at {} (CI must have it: set {CORPUS_VAR})",
            dir.display()
        );
    }
    static SAID: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    if !said.get_or_insert_with(HashSet::new).insert(what.clone()) {
        return;
    }
    // Straight to the process's stderr: libtest captures `eprintln!` of passing tests and
    // would hide the line.
    let _ = writeln!(
        std::io::stderr(),
        "skipped: {what}: corpus not found (set {CORPUS_VAR})"
    );
}
