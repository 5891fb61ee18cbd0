//! The entry points that the fuzz targets (`fuzz/fuzz_targets/`) and the mutation test
//! (`tests/fuzz.rs`) share: each takes arbitrary bytes, runs them through one reader
//! the way the tool does, and must return (errors are fine) without panicking or hanging.
//! Paths-only readers get the bytes in a temporary file.

use crate::archive::{self, har, saz, ArchiveKind};
use crate::capture::Source;
use crate::filter::{Filter, Search};
use crate::http::HttpOptions;
use crate::model::{Analysis, ExchId, Notes};
use crate::pipeline::{analyze, Options};
use crate::report::{self, export::ExportFormat};
use crate::stage::RuleSet;
use crate::tls::keylog::{KeyLog, KeySource, Tls13Secret};
use crate::tls::keys::load_rsa_keys;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// A fuzz entry point.
pub type Target = fn(&[u8]);

/// Every entry point by its fuzz target's name (`fuzz/fuzz_targets/<name>.rs`).
pub const TARGETS: &[(&str, Target)] = &[
    ("pipeline", pipeline),
    ("saz", saz),
    ("har", har),
    ("keylog", keylog),
    ("key_file", key_file),
    ("filter", filter),
];

/// The password of the protected SAZ seeds (`saz/synthetic/*.pw-fiddler.saz` in the corpus).
const SAZ_PASSWORD: &str = "fiddler";
/// The password of the protected key seeds (`tests/data/keys/README.md`).
const KEY_PASSWORD: &str = "test";

/// A capture's (or archive's) bytes → `analyze` with the CLI's rules and the repository's
/// key material → JSON, text, Markdown and HTML reports written to a sink.
pub fn pipeline(data: &[u8]) {
    let Some(file) = temp_file(data, "") else {
        return;
    };
    let Ok(analysis) = analyze(&[file.path().to_path_buf()], pipeline_options(), &mut ()) else {
        return;
    };
    write_reports(&analysis);
}

/// A SAZ archive's bytes; an archive that asks for a password is read again with the seeds'.
pub fn saz(data: &[u8]) {
    let http = archive_http();
    let imported = match saz::read_saz_from(io::Cursor::new(data), None, &http) {
        Err(e) if e.contains("password") => {
            saz::read_saz_from(io::Cursor::new(data), Some(SAZ_PASSWORD), &http)
        }
        other => other,
    };
    if let Ok(imported) = imported {
        report_archive(imported, ArchiveKind::Saz);
    }
}

/// A HAR file's bytes.
pub fn har(data: &[u8]) {
    if let Ok(imported) = har::parse_har(data) {
        report_archive(imported, ArchiveKind::Har);
    }
}

/// An NSS key log's text, then a lookup of each kind.
pub fn keylog(data: &[u8]) {
    let mut log = KeyLog::new();
    let counts = log.add_text(&String::from_utf8_lossy(data), &KeySource("fuzz".into()));
    assert!(counts.used + counts.malformed <= counts.lines);
    let random = [0u8; 32];
    let _ = log.master_secret(&random);
    let _ = log.tls13_secret(&random, Tls13Secret::ClientTraffic(0));
    let _ = log.rsa_premaster(&[0u8; 8]);
    let _ = log.len();
}

/// A key file: the first byte chooses the password (bits 0–1: none, the seeds' `test`, empty,
/// a wrong one) and whether the name ends in `.pfx` (bit 2); the rest is the file.
pub fn key_file(data: &[u8]) {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    let password = [None, Some(KEY_PASSWORD), Some(""), Some("wrong")][usize::from(mode & 3)];
    let suffix = if mode & 4 != 0 { ".pfx" } else { ".key" };
    let Some(file) = temp_file(bytes, suffix) else {
        return;
    };
    if let Ok(keys) = load_rsa_keys(file.path(), password) {
        for key in &keys {
            let _ = key.decrypt_premaster(&[1u8; 256]);
        }
    }
}

/// A filter expression (and the same text as a global search) over a small real analysis:
/// the bundled `samples/dvwa-login.pcapng`, with one exchange marked and commented.
pub fn filter(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (analysis, notes) = filter_analysis();
    if let Ok(f) = Filter::parse(&text) {
        let _ = f.select(analysis, notes);
        let _ = f.depends_on_notes();
    }
    if let Ok(s) = Search::new(&text) {
        for x in &analysis.exchanges {
            let _ = s.matches(analysis, notes, x);
        }
        let _ = s.find_in("GET /dvwa/login.php HTTP/1.1 — 302 Found");
    }
}

/// The CLI's options (built-in rules, so stages and checks run), kept bodies for the
/// Markdown report, one tracking thread, and the repository's key logs and RSA key so that
/// mutated TLS seeds reach decryption.
fn pipeline_options() -> &'static Options {
    static OPTIONS: OnceLock<Options> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut options = Options {
            rules: Some(rules()),
            threads: Some(1),
            keylogs: key_files(&crate::testkit::sample("lync"), ".keylog.txt")
                .into_iter()
                .chain(key_files(&crate::testkit::data("tls"), ".keys.txt"))
                .collect(),
            rsa_keys: vec![crate::testkit::data("keys/rsa2048.pkcs1.pem")],
            ..Options::default()
        };
        options.http.keep_body_max = 1 << 20;
        options
    })
}

fn rules() -> Arc<RuleSet> {
    static RULES: OnceLock<Arc<RuleSet>> = OnceLock::new();
    Arc::clone(RULES.get_or_init(|| Arc::new(RuleSet::builtin())))
}

/// The files in `dir` whose names end in `suffix`, sorted.
fn key_files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.to_string_lossy().ends_with(suffix))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// HTTP options as the pipeline gives the archive readers.
fn archive_http() -> HttpOptions {
    HttpOptions {
        keep_body_max: 1 << 20,
        ..HttpOptions::default()
    }
}

/// An archive's exchanges joined to an empty analysis, tagged with stages, then reported.
fn report_archive(imported: archive::Imported, kind: ArchiveKind) {
    let mut analysis = Analysis::default();
    // The input never touches the disk: the label is a name only (its size reads as 0).
    let input = archive::ArchiveInput::new(Source::File(PathBuf::from("fuzz-input")), kind)
        .expect("a named source needs no copy");
    archive::join(&mut analysis, &input, imported);
    archive::renumber(&mut analysis);
    crate::stage::annotate(&mut analysis, &rules());
    write_reports(&analysis);
}

/// The JSON, text, Markdown and HTML (with its SVG pictures) reports into a sink: writing to a
/// sink cannot fail, so an error is the writer's own.
fn write_reports(a: &Analysis) {
    let mut sink = io::sink();
    report::write(a, report::Format::Json, &mut sink).expect("JSON report");
    report::write(a, report::Format::Text, &mut sink).expect("text report");
    let notes = Notes::from_inputs(a);
    let ids: Vec<ExchId> = a.exchanges.iter().map(|x| x.id).collect();
    report::export::write_export(a, &notes, &ids, ExportFormat::Markdown, &mut sink)
        .expect("Markdown report");
    report::export::write_export(a, &notes, &ids, ExportFormat::Html, &mut sink)
        .expect("HTML report");
}

/// The filter target's analysis, made once.
fn filter_analysis() -> &'static (Analysis, Notes) {
    static ANALYSIS: OnceLock<(Analysis, Notes)> = OnceLock::new();
    ANALYSIS.get_or_init(|| {
        let mut options = Options {
            rules: Some(rules()),
            ..Options::default()
        };
        options.http.keep_body_max = 1 << 20;
        let analysis = analyze(
            &[crate::testkit::sample("dvwa-login.pcapng")],
            &options,
            &mut (),
        )
        .expect("the bundled sample analyses");
        let mut notes = Notes::from_inputs(&analysis);
        if let Some(x) = analysis.exchanges.first() {
            notes.set_mark(x.id, true);
            notes.set_comment(x.id, Some("fuzz comment".into()));
        }
        (analysis, notes)
    })
}

/// `data` in a new temporary file named with `suffix` (in memory where /dev/shm exists, as
/// the fuzzer writes one per input); `None` when it cannot be written.
fn temp_file(data: &[u8], suffix: &str) -> Option<tempfile::NamedTempFile> {
    let shm = Path::new("/dev/shm");
    let mut builder = tempfile::Builder::new();
    builder.prefix("lyncscope-fuzz-").suffix(suffix);
    let mut file = if shm.is_dir() {
        builder.tempfile_in(shm).or_else(|_| builder.tempfile())
    } else {
        builder.tempfile()
    }
    .ok()?;
    file.write_all(data).ok()?;
    file.flush().ok()?;
    Some(file)
}
