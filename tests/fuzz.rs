//! The fuzz targets' entry points (`lyncscope::fuzzing`) on stable Rust, inside
//! `cargo test`:
//!
//! - every input that once failed a fuzz target, kept in `tests/data/fuzz-regressions/<target>/`,
//!   runs through that target again;
//! - a small mutation test: seeds from the repository (`samples/`, `tests/data/`,
//!   `fuzz/seeds/`), mutated by proptest (bit flips, inserted, deleted and overwritten bytes,
//!   truncation, splices of another seed), go through the same entry points. Each must return
//!   without a panic, and soon.
//!
//! The libFuzzer targets (`fuzz/`, README: Fuzzing) explore much further; this keeps the
//! entry points honest where only a stable toolchain is available.

use lyncscope::{fuzzing::TARGETS, testkit};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, FileFailurePersistence, RngAlgorithm, TestRng, TestRunner};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One input may take this long in the unoptimised test build before it counts as a hang.
/// The slowest seeds (the scrypt-protected key, the largest captures) take well under a
/// second there.
const SLOW: Duration = Duration::from_secs(20);

/// Mutated inputs per target (`PROPTEST_CASES` overrides it, to explore further by hand).
const CASES: u32 = 256;

fn entry(target: &str) -> fn(&[u8]) {
    TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no fuzz entry point {target}"))
}

/// Runs `input` through `target` and fails when it takes longer than [`SLOW`].
fn run_bounded(target: &str, input: &[u8], what: &str) {
    let start = Instant::now();
    entry(target)(input);
    let took = start.elapsed();
    assert!(took < SLOW, "{target}: {what} took {took:?}");
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The files of a folder, sorted; an empty list when it does not exist.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---- regressions --------------------------------------------------------------------------

#[test]
fn every_input_that_once_failed_a_fuzz_target_passes() {
    let root = testkit::data("fuzz-regressions");
    let mut ran = 0;
    for (target, _) in TARGETS {
        for file in files_in(&root.join(target)) {
            run_bounded(target, &read(&file), &file.display().to_string());
            ran += 1;
        }
    }
    // Folders named after no target would be silently skipped.
    for dir in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        let name = dir.file_name().to_string_lossy().into_owned();
        assert!(
            !dir.path().is_dir() || TARGETS.iter().any(|(t, _)| *t == name),
            "tests/data/fuzz-regressions/{name}: no fuzz target of that name"
        );
    }
    eprintln!("fuzz regressions: {ran} inputs");
}

// ---- seeds --------------------------------------------------------------------------------

/// The repository's seeds of a target (a subset of what `fuzz/seed.sh` gathers, without the
/// corpus outside the repository and without the larger captures).
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = files_in(&repo("fuzz/seeds").join(target))
        .iter()
        .map(|p| read(p))
        .collect();
    let files = |list: &[&str]| list.iter().map(|rel| read(&repo(rel))).collect::<Vec<_>>();
    match target {
        "pipeline" => seeds.extend(files(&[
            "samples/dvwa-login.pcapng",
            "samples/pipelined-requests.pcap",
            "tests/data/tls/rsa-kx.pcap",
            "tests/data/tls/hrr.pcap",
            "tests/data/tls/resume-partial-keylog.pcap",
            "fuzz/seeds/saz/one-session.saz",
            "fuzz/seeds/har/two-entries.har",
        ])),
        "saz" => seeds.extend(files(&["samples/lync/B-external-home-pool-redirect.saz"])),
        "keylog" => seeds.extend(files(&[
            "samples/lync/A-internal-rp-vip.keylog.txt",
            "samples/lync/E-hairpin-blocked.keylog.txt",
            "tests/data/tls/resume-partial-keylog.keys.txt",
        ])),
        "key_file" => {
            // First byte: the password (0 none, 1 "test", 2 empty) and a .pfx name (+4).
            for (mode, rel) in [
                (0, "rsa2048.pkcs1.pem"),
                (0, "rsa2048.pkcs8.der"),
                (0, "rsa2048.pkcs1.der"),
                (0, "ec-p256.pkcs8.pem"),
                (0, "cert.der"),
                (1, "rsa2048.pkcs8-encrypted.pem"),
                (1, "rsa2048.pkcs8-scrypt.pem"),
                (1, "rsa2048.pkcs1-encrypted.pem"),
                (5, "rsa2048-aes.pfx"),
                (5, "rsa2048-3des.p12"),
                (4, "rsa2048-nopass.pfx"),
            ] {
                let mut seed = vec![mode];
                seed.extend(read(&testkit::data("keys").join(rel)));
                seeds.push(seed);
            }
        }
        _ => {}
    }
    assert!(!seeds.is_empty(), "no seeds for {target}");
    seeds
}

// ---- mutations ----------------------------------------------------------------------------

/// One byte-level edit; positions and lengths are taken relative to the input at that point.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(Index, u8),
    Set(Index, u8),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    Truncate(Index),
    /// Bytes of another seed (index, start, length) over this one's from a position.
    Splice(Index, Index, Index, usize),
    /// A run of a byte that parsers treat specially (length fields, counts).
    Fill(Index, u8, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop::sample::select(vec![0x00u8, 0x01, 0x7f, 0x80, 0xff, b'\r', b'\n']);
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, v)| Mutation::Set(i, v)),
        2 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        2 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (any::<Index>(), any::<Index>(), any::<Index>(), 1usize..256)
            .prop_map(|(at, seed, from, n)| Mutation::Splice(at, seed, from, n)),
        1 => (any::<Index>(), interesting, 1usize..16).prop_map(|(i, v, n)| Mutation::Fill(i, v, n)),
    ]
}

/// `i` as a position in `0..=len` (an insertion point).
fn at(i: &Index, len: usize) -> usize {
    i.index(len + 1)
}

fn apply(data: &mut Vec<u8>, m: &Mutation, seeds: &[Vec<u8>]) {
    let len = data.len();
    match m {
        Mutation::FlipBit(i, bit) if len > 0 => data[i.index(len)] ^= 1 << bit,
        Mutation::Set(i, v) if len > 0 => data[i.index(len)] = *v,
        Mutation::Insert(i, bytes) => {
            let p = at(i, len);
            data.splice(p..p, bytes.iter().copied());
        }
        Mutation::Delete(i, n) if len > 0 => {
            let p = i.index(len);
            data.drain(p..(p + n).min(len));
        }
        Mutation::Truncate(i) => data.truncate(at(i, len)),
        Mutation::Splice(i, seed, from, n) => {
            let other = &seeds[seed.index(seeds.len())];
            if other.is_empty() {
                return;
            }
            let from = from.index(other.len());
            let piece = &other[from..(from + n).min(other.len())];
            let p = at(i, len);
            let end = (p + piece.len()).min(len);
            data.splice(p..end, piece.iter().copied());
        }
        Mutation::Fill(i, v, n) if len > 0 => {
            let p = i.index(len);
            let end = (p + n).min(len);
            data[p..end].fill(*v);
        }
        _ => {}
    }
}

/// Every seed as it is, then [`CASES`] mutated seeds, through `target`.
fn mutate(target: &str) {
    let seeds = seeds(target);
    for (i, seed) in seeds.iter().enumerate() {
        run_bounded(target, seed, &format!("seed {i}"));
    }
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES);
    // The same cases on every run: a CI failure is a finding to keep, not a fluke.
    let config = Config {
        cases,
        // Shrinking a failure re-runs whole pipelines: keep it short, the failing input is
        // printed either way.
        max_shrink_iters: 64,
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let strategy = (any::<Index>(), prop::collection::vec(mutation(), 1..8));
    runner
        .run(&strategy, |(seed, mutations)| {
            let mut data = seeds[seed.index(seeds.len())].clone();
            for m in &mutations {
                apply(&mut data, m, &seeds);
            }
            run_bounded(target, &data, "a mutated seed");
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{target}: {e}"));
}

#[test]
fn mutated_captures_through_the_pipeline() {
    mutate("pipeline");
}

#[test]
fn mutated_saz_archives() {
    mutate("saz");
}

#[test]
fn mutated_har_files() {
    mutate("har");
}

#[test]
fn mutated_key_logs() {
    mutate("keylog");
}

#[test]
fn mutated_key_files() {
    mutate("key_file");
}

#[test]
fn mutated_filters() {
    mutate("filter");
}

/// The hand-made archive seeds are what they claim to be, so that mutating them reaches past
/// the container into the sessions.
#[test]
fn the_hand_made_archive_seeds_import() {
    use lyncscope::archive::{har, saz};
    let imported = har::parse_har(&read(&repo("fuzz/seeds/har/two-entries.har"))).unwrap();
    assert_eq!(imported.exchanges.len(), 2);
    let saz_seed = read(&repo("fuzz/seeds/saz/one-session.saz"));
    let imported = saz::read_saz_from(
        std::io::Cursor::new(saz_seed),
        None,
        &lyncscope::http::HttpOptions::default(),
    )
    .unwrap();
    assert_eq!(imported.exchanges.len(), 1);
    let x = &imported.exchanges[0];
    assert_eq!(x.request.as_ref().unwrap().method, "POST");
    assert_eq!(x.response.as_ref().unwrap().status, 200);
}

/// CI builds no fuzz target (README: Fuzzing): each target of `fuzz/Cargo.toml` must be a
/// file that hands its input to the entry point of its name, and every entry point must have
/// a target, so that the two cannot drift apart unnoticed.
#[test]
fn every_entry_point_has_a_fuzz_target_and_back() {
    let manifest = String::from_utf8(read(&repo("fuzz/Cargo.toml"))).unwrap();
    let bins: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|name| *name != "lyncscope-fuzz")
        .collect();
    let mut entries: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
    let mut sorted_bins = bins.clone();
    sorted_bins.sort_unstable();
    entries.sort_unstable();
    assert_eq!(sorted_bins, entries, "fuzz/Cargo.toml [[bin]] names");
    for name in bins {
        let path = format!("fuzz/fuzz_targets/{name}.rs");
        let source = String::from_utf8(read(&repo(&path))).unwrap();
        assert!(
            manifest.contains(&format!("path = \"fuzz_targets/{name}.rs\"")),
            "fuzz/Cargo.toml: {name} is not built from {path}"
        );
        assert!(
            source.contains(&format!("lyncscope::fuzzing::{name}(data)")),
            "{path} does not call lyncscope::fuzzing::{name}"
        );
    }
}
