//! Command-line interface (clap). The only place that uses `anyhow`.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use lyncscope::pipeline::{analyze, Options, Progress};
use lyncscope::report;
use lyncscope::report::export::ExportFormat;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "lyncscope",
    version,
    about = "Reconstructs HTTP exchanges from pcap / pcapng captures and explains Lync / Skype for Business mobile sign-in",
    after_help = "`lyncscope FILE…` opens the interactive UI (the `open` command) when standard output is a terminal."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Browse the inputs in the terminal UI (the default: `lyncscope FILE…`). Without a
    /// terminal on standard output, prints the stage table instead.
    Open(OpenArgs),
    /// Reconstruct every HTTP exchange in the inputs and print a report.
    Report(ReportArgs),
    /// Export exchanges (all, filtered, marked or chosen ones) as a report, HAR, SAZ, raw
    /// messages, curl commands or a body, with the marks and comments made in the UI.
    Export(ExportArgs),
    /// Print the discovery stage of every request and DNS lookup, the sign-in verdict and
    /// the findings.
    Stages(StagesArgs),
    /// Compare two sign-ins stage by stage (a failing phone with a working one, yesterday's
    /// with today's): where they part and what differs (hosts, addresses, statuses, DNS
    /// answers, authentication, certificates, findings).
    #[command(after_help = COMPARE_HELP)]
    Compare(CompareArgs),
}

const COMPARE_HELP: &str = "Each side is any input lyncscope reads (pcap, pcapng, SAZ, HAR). \
Key options without a prefix (--keylog, --key, --pfx, --password) apply to both sides; \
--a-… and --b-… apply to one side only, e.g.\n\n  \
lyncscope compare good.pcapng bad.pcapng --a-keylog good.keys --b-keylog bad.keys\n\n\
The sign-ins are aligned by discovery stage (docs/stages.md), not by time or exchange number: \
the n-th visit of a stage on one side is paired with the n-th visit of that stage on the other. \
When one side is a trace archive (SAZ, HAR) only the HTTP exchanges are compared (an archive \
holds no DNS, no connection without HTTP and no TLS handshake). Exit code 0 whether or not \
they differ; --format json gives the schema lyncscope/compare-1 (docs/report-schema.md). \
The UI shows the same in its Compare pane: lyncscope A --compare-with B, then key V.";

#[derive(clap::Args, Debug)]
struct CompareArgs {
    /// Side A (e.g. the working sign-in).
    a: PathBuf,
    /// Side B (e.g. the failing sign-in).
    b: PathBuf,
    #[command(flatten)]
    keys: SideKeys,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CompareFormat::Text)]
    format: CompareFormat,
    /// Indent the JSON (it is one compact line by default).
    #[arg(long)]
    pretty: bool,
    /// Write to this file instead of standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Discovery-stage rules (TOML) that add to or override the built-in ones, for both sides
    /// (repeatable).
    #[arg(long, value_name = "FILE")]
    rules: Vec<PathBuf>,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
}

/// Key material of a comparison: shared, and per side.
#[derive(clap::Args, Debug)]
struct SideKeys {
    /// NSS key log file for both sides (repeatable; SSLKEYLOGFILE is read too).
    #[arg(long, value_name = "FILE")]
    keylog: Vec<PathBuf>,
    /// NSS key log file for side A only (repeatable).
    #[arg(long, value_name = "FILE")]
    a_keylog: Vec<PathBuf>,
    /// NSS key log file for side B only (repeatable).
    #[arg(long, value_name = "FILE")]
    b_keylog: Vec<PathBuf>,
    /// Server RSA private key (PEM or DER) for both sides (repeatable).
    #[arg(long, value_name = "FILE")]
    key: Vec<PathBuf>,
    /// Server RSA private key for side A only (repeatable).
    #[arg(long, value_name = "FILE")]
    a_key: Vec<PathBuf>,
    /// Server RSA private key for side B only (repeatable).
    #[arg(long, value_name = "FILE")]
    b_key: Vec<PathBuf>,
    /// PKCS#12 / PFX server key for both sides (repeatable).
    #[arg(long, value_name = "FILE")]
    pfx: Vec<PathBuf>,
    /// PKCS#12 / PFX server key for side A only.
    #[arg(long, value_name = "FILE")]
    a_pfx: Vec<PathBuf>,
    /// PKCS#12 / PFX server key for side B only.
    #[arg(long, value_name = "FILE")]
    b_pfx: Vec<PathBuf>,
    /// Password of PFX keys and password-protected SAZ archives, both sides.
    #[arg(long)]
    password: Option<String>,
    /// Password for side A only (overrides --password there).
    #[arg(long)]
    a_password: Option<String>,
    /// Password for side B only (overrides --password there).
    #[arg(long)]
    b_password: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum CompareFormat {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
struct OpenArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Start with this filter (the UI's filter language, e.g. "~stage ad-user | ~err").
    #[arg(long, value_name = "EXPR")]
    filter: Option<String>,
    /// The UI's config file (keys, colours, list columns); default: $LYNCSCOPE_CONFIG, else
    /// ~/.config/lyncscope/config.toml when it exists.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Open a second input to compare this sign-in with, stage by stage (the Compare pane,
    /// key V; V also asks for a file in the UI). It is read with the key options above plus
    /// its own --b-… ones.
    #[arg(long, value_name = "FILE")]
    compare_with: Option<PathBuf>,
    #[command(flatten)]
    b_keys: OtherSideKeys,
}

/// Key material of the second input of the UI's Compare pane (`open --compare-with`): the
/// --b-… options of `compare`, added to the shared ones. The report's `--compare-…` names
/// are accepted too.
#[derive(clap::Args, Debug)]
struct OtherSideKeys {
    /// NSS key log file for the compared input only (repeatable).
    #[arg(long, value_name = "FILE", alias = "compare-keylog")]
    b_keylog: Vec<PathBuf>,
    /// Server RSA private key for the compared input only (repeatable).
    #[arg(long, value_name = "FILE", alias = "compare-key")]
    b_key: Vec<PathBuf>,
    /// PKCS#12 / PFX server key for the compared input only.
    #[arg(long, value_name = "FILE", alias = "compare-pfx")]
    b_pfx: Vec<PathBuf>,
    /// Password for the compared input only (overrides --password there).
    #[arg(long, alias = "compare-password")]
    b_password: Option<String>,
}

#[derive(clap::Args, Debug)]
struct StagesArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Also list requests and lookups outside the Lync flow ("unrelated").
    #[arg(long)]
    all: bool,
    /// Only the exchanges this filter matches (the UI's filter language); the verdict and
    /// the findings stay the whole capture's.
    #[arg(long, value_name = "EXPR")]
    filter: Option<String>,
    /// Replace tokens and credentials in the URLs shown (`?access_token=`, `code=`, `cwt=` …)
    /// by stable fingerprints (‹token:3f2a91c0›), as the Markdown report does. The default.
    #[arg(long, conflicts_with = "no_redact")]
    redact: bool,
    /// Show the URLs as captured, secrets included.
    #[arg(long)]
    no_redact: bool,
}

/// What to read, and the key material to decrypt it.
#[derive(clap::Args, Debug)]
struct InputArgs {
    /// Captures (pcap, pcapng) and trace archives (Fiddler .saz, .har); several are merged by
    /// time. "-" reads a capture or an archive from standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Largest decoded (decompressed) body size; larger bodies are cut with a diagnostic.
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    max_body_size: u64,
    /// NSS key log file (SSLKEYLOGFILE format; repeatable). The SSLKEYLOGFILE environment
    /// variable is read too. Decrypts any TLS key exchange.
    #[arg(long, value_name = "FILE")]
    keylog: Vec<PathBuf>,
    /// Server RSA private key: PEM (PKCS#1 or PKCS#8, may include the certificate) or DER
    /// (repeatable). Decrypts only the static RSA key exchange.
    #[arg(long, value_name = "FILE")]
    key: Vec<PathBuf>,
    /// Server RSA private key in a PKCS#12 / PFX file (needs --password).
    #[arg(long, value_name = "FILE")]
    pfx: Vec<PathBuf>,
    /// Password for PFX keys and password-protected SAZ archives.
    #[arg(long)]
    password: Option<String>,
    /// Connection-tracking threads (default: one per core, plus one).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Discovery-stage rules (TOML) that add to or override the built-in ones (repeatable).
    #[arg(long, value_name = "FILE")]
    rules: Vec<PathBuf>,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(clap::Args, Debug)]
struct ReportArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    format: FormatArg,
    /// Indent the JSON report (it is one compact line by default).
    #[arg(long)]
    pretty: bool,
    /// Write the report to this file instead of standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Only the exchanges this filter matches (the UI's filter language); the verdict, the
    /// findings and the connections stay the whole capture's.
    #[arg(long, value_name = "EXPR")]
    filter: Option<String>,
    /// Replace credentials, tokens, cookies and session keys by stable fingerprints
    /// (‹cwt:3f2a91c0›) so the output can be shared; the NTLM user, hosts, statuses, token
    /// audiences and expiries stay. The default for markdown and html.
    #[arg(long, conflicts_with = "no_redact")]
    redact: bool,
    /// Keep every secret as captured (markdown and html are redacted otherwise).
    #[arg(long)]
    no_redact: bool,
    /// Add a section comparing this sign-in, stage by stage, with the one in FILE (text,
    /// markdown and html; `lyncscope compare` gives the same as JSON).
    #[arg(long, value_name = "FILE")]
    compare_with: Option<PathBuf>,
    /// Key log for the --compare-with input (repeatable; --keylog applies to the report's own
    /// inputs only).
    #[arg(long, value_name = "FILE", requires = "compare_with")]
    compare_keylog: Vec<PathBuf>,
    /// Server RSA key (PEM or DER) for the --compare-with input (repeatable).
    #[arg(long, value_name = "FILE", requires = "compare_with")]
    compare_key: Vec<PathBuf>,
    /// PKCS#12 / PFX server key for the --compare-with input.
    #[arg(long, value_name = "FILE", requires = "compare_with")]
    compare_pfx: Vec<PathBuf>,
    /// Password of the --compare-with input (PFX key, protected SAZ).
    #[arg(long, requires = "compare_with")]
    compare_password: Option<String>,
}

#[derive(clap::Args, Debug)]
struct ExportArgs {
    #[command(flatten)]
    input: InputArgs,
    /// What to write.
    #[arg(long, value_parser = export_format_parser())]
    format: ExportFormat,
    /// The file to write ("-" = standard output, for the text formats).
    #[arg(short, long, required = true)]
    output: PathBuf,
    /// Only exchanges this filter matches (the UI's filter language).
    #[arg(long, value_name = "EXPR")]
    filter: Option<String>,
    /// Only the marked exchanges.
    #[arg(long)]
    marked: bool,
    /// Only these exchanges (their # in the UI and the reports; repeatable).
    #[arg(long = "exchange", value_name = "N")]
    exchanges: Vec<u32>,
    /// Marks and comments to carry (default: FILE.lyncscope-notes.json next to the first
    /// input, as the UI saves them).
    #[arg(long, value_name = "FILE")]
    notes: Option<PathBuf>,
    /// Replace credentials, tokens, cookies and session keys by stable fingerprints
    /// (‹cwt:3f2a91c0›) so the output can be shared; the NTLM user, hosts, statuses, token
    /// audiences and expiries stay. The default for markdown and html.
    #[arg(long, conflicts_with = "no_redact")]
    redact: bool,
    /// Keep every secret as captured (markdown and html are redacted otherwise).
    #[arg(long)]
    no_redact: bool,
    /// The other sign-in of `report --compare-with` (not an option of `export`).
    #[arg(skip)]
    compare_with: Option<InputArgs>,
}

/// `--redact` / `--no-redact`, else what the format does by default.
fn redaction(redact: bool, no_redact: bool, by_default: bool) -> report::export::Redact {
    if redact || (by_default && !no_redact) {
        report::export::Redact::Redact
    } else {
        report::export::Redact::Keep
    }
}

/// `--format` of `export`: the names of the export table.
fn export_format_parser() -> impl clap::builder::TypedValueParser<Value = ExportFormat> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new(
        ExportFormat::ALL
            .map(|f| PossibleValue::new(f.name()).aliases(f.aliases().iter().copied())),
    )
    .map(|name| ExportFormat::from_name(&name).expect("a listed name"))
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum FormatArg {
    Text,
    Json,
    #[value(alias = "md")]
    Markdown,
    Html,
}

/// "64MiB", "10M", "512k", "1048576".
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("not a size: {s}"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("unknown size unit in {s} (use k, M or G)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size too large: {s}"))
}

/// indicatif bar on stderr, only when stderr is a terminal.
struct Bar(Option<indicatif::ProgressBar>);

impl Progress for Bar {
    fn update(&mut self, done: u64, total: u64) {
        if let Some(b) = &self.0 {
            b.set_length(total);
            b.set_position(done);
        }
    }
}

/// The UI's gauge as a pipeline progress sink.
struct Gauge<'a>(&'a mut dyn FnMut(u64, u64));

impl Progress for Gauge<'_> {
    fn update(&mut self, done: u64, total: u64) {
        (self.0)(done, total)
    }
}

/// `lyncscope FILE…` means `lyncscope open FILE…`.
fn with_default_command(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    const COMMANDS: [&str; 6] = ["open", "report", "export", "stages", "compare", "help"];
    // A non-UTF-8 argument is a file name, never a command or an option.
    let open = args.get(1).map(|a| match a.to_str() {
        Some(first) => (!first.starts_with('-') || first == "-") && !COMMANDS.contains(&first),
        None => true,
    });
    if open == Some(true) {
        args.insert(1, "open".into());
    }
    args
}

pub fn run() -> Result<()> {
    let cli = Cli::parse_from(with_default_command(std::env::args_os().collect()));
    match cli.command {
        Command::Open(args) => open_cmd(args),
        Command::Report(args) => report_cmd(args),
        Command::Export(args) => export_cmd(args),
        Command::Stages(args) => stages_cmd(args),
        Command::Compare(args) => compare_cmd(args),
    }
}

/// Bodies kept for exports, each (a capture's bodies are otherwise only hashed).
const EXPORT_BODY_KEEP: u64 = 16 << 20;
/// All bodies the UI keeps together: bounds its memory on big captures.
const UI_BODY_BUDGET: u64 = 256 << 20;

/// The filter of `--filter`, refused with the message the UI gives. Checked before the
/// inputs are read (a syntax error should not wait for a big capture); [`filter_for`] then
/// checks the names against the analysis.
fn parse_filter(f: Option<&str>) -> Result<Option<lyncscope::filter::Filter>> {
    f.map(|f| lyncscope::filter::Filter::parse(f).map_err(|e| anyhow::anyhow!("--filter: {e}")))
        .transpose()
}

/// The filter of `--filter` for `analysis`: as the UI does, a `~stage` name that is none of
/// the analysis' stages is refused (not a filter that silently matches nothing).
fn filter_for(
    f: Option<&str>,
    analysis: &lyncscope::Analysis,
) -> Result<Option<lyncscope::filter::Filter>> {
    f.map(|f| {
        lyncscope::filter::Filter::parse_for(f, analysis)
            .map_err(|e| anyhow::anyhow!("--filter: {e}"))
    })
    .transpose()
}

/// The UI's config: `--config FILE`, else the default file when there is one.
fn ui_config(explicit: Option<PathBuf>) -> Result<lyncscope::tui::config::UiConfig> {
    let given = explicit.is_some();
    match explicit.or_else(lyncscope::tui::config::default_path) {
        // The error's text holds its reason: no error chain, so it is printed once.
        Some(p) => lyncscope::tui::config::load(&p).map_err(|e| {
            if given {
                anyhow::anyhow!("--config {e}")
            } else {
                anyhow::anyhow!("config file {e}")
            }
        }),
        None => Ok(lyncscope::tui::config::UiConfig::default()),
    }
}

fn open_cmd(args: OpenArgs) -> Result<()> {
    // Checked first, and the same way with or without a terminal: a piped run that ignored
    // a mistyped filter or config would print something else than was asked for.
    parse_filter(args.filter.as_deref())?;
    let config = ui_config(args.config.clone())?;
    if !std::io::stdout().is_terminal() {
        if let Some(other) = &args.compare_with {
            anyhow::bail!(
                "--compare-with {}: standard output is not a terminal, so there is no UI to show it in; `lyncscope compare A B` prints the comparison",
                other.display()
            );
        }
        eprintln!("lyncscope: standard output is not a terminal: printing the stage table (see `lyncscope --help` for the reports)");
        return stages_cmd(StagesArgs {
            input: args.input,
            all: false,
            filter: args.filter,
            redact: false,
            no_redact: false,
        });
    }
    let mut options = options(&args.input, EXPORT_BODY_KEEP)?;
    options.http.keep_budget = Some(lyncscope::http::KeepBudget::new(UI_BODY_BUDGET));
    // The UI reads the inputs on its worker thread through this, exchanges going to its live
    // list as they complete.
    // A second input (--compare-with or named in the UI): the shared key options and the
    // --b-… ones, as `compare` reads its side B.
    let other_keys = SideKeys {
        keylog: args.input.keylog.clone(),
        a_keylog: Vec::new(),
        b_keylog: args.b_keys.b_keylog.clone(),
        key: args.input.key.clone(),
        a_key: Vec::new(),
        b_key: args.b_keys.b_key.clone(),
        pfx: args.input.pfx.clone(),
        a_pfx: Vec::new(),
        b_pfx: args.b_keys.b_pfx.clone(),
        password: args.input.password.clone(),
        a_password: None,
        b_password: args.b_keys.b_password.clone(),
    };
    let rules = args.input.rules.clone();
    let open_other: lyncscope::tui::Opener = std::sync::Arc::new(move |file: PathBuf| {
        let k = &other_keys;
        let b_in = side_input(
            &file,
            k,
            (&k.b_keylog, &k.b_key, &k.b_pfx, k.b_password.as_ref()),
            &rules,
            true,
        );
        let options = self::options(&b_in, 0).map_err(|e| lyncscope::Error::BadFile {
            path: file.clone(),
            message: format!("{e:#}"),
        })?;
        analyze(&b_in.files, &options, &mut ())
    });
    let files = args.input.files.clone();
    let load: lyncscope::tui::Loader = Box::new(move |live, progress| {
        options.http.live = Some(live);
        analyze(&files, &options, &mut Gauge(progress))
    });
    lyncscope::tui::run(lyncscope::tui::OpenRequest {
        files: args.input.files.clone(),
        load,
        filter: args.filter,
        keys: config.keys,
        palette: config.palette,
        columns: config.columns,
        compare_with: args.compare_with,
        open_other: Some(open_other),
    })?;
    Ok(())
}

/// Marks and comments for a headless export or report: `--notes FILE`, else the UI's side
/// file next to the first input when there is one.
fn load_notes(
    analysis: &lyncscope::Analysis,
    files: &[PathBuf],
    explicit: Option<&std::path::Path>,
) -> Result<lyncscope::model::Notes> {
    let side = match explicit {
        Some(p) => {
            if !p.exists() {
                anyhow::bail!("--notes {}: no such file", p.display());
            }
            Some(p.to_path_buf())
        }
        None => lyncscope::model::Notes::side_file(files),
    };
    Ok(lyncscope::model::Notes::load(analysis, side.as_deref())?)
}

fn export_cmd(args: ExportArgs) -> Result<()> {
    parse_filter(args.filter.as_deref())?;
    let analysis = load(&args.input, EXPORT_BODY_KEEP)?;
    let notes = load_notes(&analysis, &args.input.files, args.notes.as_deref())?;
    let filter = filter_for(args.filter.as_deref(), &analysis)?;
    for n in &args.exchanges {
        if *n as usize >= analysis.exchanges.len() {
            anyhow::bail!(
                "--exchange {n}: the inputs hold exchanges #0 to #{}",
                analysis.exchanges.len().saturating_sub(1)
            );
        }
    }
    let ctx = lyncscope::filter::MatchContext::new(&analysis, &notes);
    let ids: Vec<lyncscope::model::ExchId> = analysis
        .exchanges
        .iter()
        .filter(|x| args.exchanges.is_empty() || args.exchanges.contains(&x.id.0))
        .filter(|x| !args.marked || notes.is_marked(x.id))
        .filter(|x| filter.as_ref().is_none_or(|f| f.matches_with(&ctx, x)))
        .map(|x| x.id)
        .collect();
    let format = args.format;
    let redact = redaction(args.redact, args.no_redact, format.redacts_by_default());
    let comparison = match &args.compare_with {
        Some(other) => Some(lyncscope::presentation::compare::compare(
            &analysis,
            &load(other, 0)?,
        )),
        None => None,
    };
    let comparison = comparison.as_ref();
    // The same refusal for a file and for standard output.
    report::export::check_scope(format, &ids).map_err(|e| anyhow::anyhow!("{e}"))?;
    if args.output.as_os_str() == "-" {
        let stdout = std::io::stdout();
        let mut w = std::io::BufWriter::new(stdout.lock());
        report::export::write_export_compared(
            &analysis, &notes, &ids, format, redact, comparison, &mut w,
        )
        .and_then(|()| w.flush())
        .context("writing the export")?;
        return Ok(());
    }
    let n = report::export::export_to_file_compared(
        &analysis,
        &notes,
        &ids,
        format,
        redact,
        comparison,
        &args.output,
    )
    .map_err(|e| match e {
        report::export::ExportError::Io { path, error } => {
            anyhow::anyhow!("-o {path}: cannot write: {error}")
        }
        e => anyhow::anyhow!("{e}"),
    })?;
    eprintln!(
        "lyncscope: wrote {} ({}) to {}",
        lyncscope::presentation::connections::count(n, "exchange"),
        format.title(),
        args.output.display()
    );
    Ok(())
}

/// Pipeline options from the input arguments.
fn options(args: &InputArgs, keep_bodies: u64) -> Result<Options> {
    let mut keylogs = args.keylog.clone();
    if let Some(env) = std::env::var_os("SSLKEYLOGFILE").filter(|v| !v.is_empty()) {
        keylogs.push(PathBuf::from(env));
    }
    let mut rule_files = Vec::new();
    for path in &args.rules {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("--rules {}: cannot read: {e}", path.display()))?;
        rule_files.push((path.display().to_string(), text));
    }
    let rules = lyncscope::stage::RuleSet::with_overrides(&rule_files)?;
    let mut options = Options {
        rules: Some(std::sync::Arc::new(rules)),
        keylogs,
        rsa_keys: args.key.iter().chain(&args.pfx).cloned().collect(),
        password: args.password.clone(),
        threads: args.threads,
        ..Options::default()
    };
    options.http.decoded_body_cap = args.max_body_size;
    options.http.keep_body_max = keep_bodies;
    Ok(options)
}

/// Runs the analysis the input arguments ask for, with a progress bar on a terminal.
fn load(args: &InputArgs, keep_bodies: u64) -> Result<lyncscope::Analysis> {
    load_with(args, options(args, keep_bodies)?)
}

/// [`load`] with options already made.
fn load_with(args: &InputArgs, options: Options) -> Result<lyncscope::Analysis> {
    let bar = if !args.quiet && std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} reading {bytes}/{total_bytes} {wide_bar} {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(b)
    } else {
        None
    };
    let mut progress = Bar(bar);
    let analysis =
        analyze(&args.files, &options, &mut progress).map_err(|e| name_option(e, args))?;
    if let Some(b) = progress.0 {
        b.finish_and_clear();
    }
    Ok(analysis)
}

/// A key file's error names the option it came from ("--keylog FILE: cannot read: …").
fn name_option(e: lyncscope::error::Error, args: &InputArgs) -> anyhow::Error {
    let lyncscope::error::Error::Key(k) = &e else {
        return e.into();
    };
    let is = |p: &PathBuf| p.display().to_string() == k.path();
    let option = if args.keylog.iter().any(is) {
        "--keylog "
    } else if args.key.iter().any(is) {
        "--key "
    } else if args.pfx.iter().any(is) {
        "--pfx "
    } else if std::env::var_os("SSLKEYLOGFILE").is_some_and(|v| is(&PathBuf::from(v))) {
        "SSLKEYLOGFILE="
    } else {
        ""
    };
    anyhow::anyhow!("{option}{k}")
}

/// The exchanges `--filter` lets through, None without a filter.
fn filtered(
    analysis: &lyncscope::Analysis,
    filter: Option<&str>,
) -> Result<Option<std::collections::HashSet<lyncscope::model::ExchId>>> {
    let Some(f) = filter_for(filter, analysis)? else {
        return Ok(None);
    };
    let notes = lyncscope::model::Notes::default();
    let ctx = lyncscope::filter::MatchContext::new(analysis, &notes);
    Ok(Some(
        analysis
            .exchanges
            .iter()
            .filter(|x| f.matches_with(&ctx, x))
            .map(|x| x.id)
            .collect(),
    ))
}

/// A side of `compare`: its file, the shared key options and its own.
fn side_input(
    file: &std::path::Path,
    shared: &SideKeys,
    own: (&[PathBuf], &[PathBuf], &[PathBuf], Option<&String>),
    rules: &[PathBuf],
    quiet: bool,
) -> InputArgs {
    let (keylog, key, pfx, password) = own;
    InputArgs {
        files: vec![file.to_path_buf()],
        max_body_size: 64 << 20,
        keylog: shared.keylog.iter().chain(keylog).cloned().collect(),
        key: shared.key.iter().chain(key).cloned().collect(),
        pfx: shared.pfx.iter().chain(pfx).cloned().collect(),
        password: password.or(shared.password.as_ref()).cloned(),
        threads: None,
        rules: rules.to_vec(),
        quiet,
    }
}

fn compare_cmd(args: CompareArgs) -> Result<()> {
    let k = &args.keys;
    let a_in = side_input(
        &args.a,
        k,
        (&k.a_keylog, &k.a_key, &k.a_pfx, k.a_password.as_ref()),
        &args.rules,
        args.quiet,
    );
    let b_in = side_input(
        &args.b,
        k,
        (&k.b_keylog, &k.b_key, &k.b_pfx, k.b_password.as_ref()),
        &args.rules,
        args.quiet,
    );
    let a = load(&a_in, 0)?;
    let b = load(&b_in, 0)?;
    let c = lyncscope::presentation::compare::compare(&a, &b);
    let write = |w: &mut dyn Write| match args.format {
        CompareFormat::Text => report::compare::write_text(&c, w),
        CompareFormat::Json => report::compare::write_json(&c, args.pretty, w),
    };
    match &args.output {
        Some(path) => {
            let f = std::fs::File::create(path)
                .map_err(|e| anyhow::anyhow!("-o {}: cannot create: {e}", path.display()))?;
            let mut w = std::io::BufWriter::new(f);
            write(&mut w)
                .and_then(|()| w.flush())
                .with_context(|| format!("writing {}", path.display()))?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::new(stdout.lock());
            write(&mut w)
                .and_then(|()| w.flush())
                .context("writing the comparison")?;
        }
    }
    Ok(())
}

fn stages_cmd(args: StagesArgs) -> Result<()> {
    parse_filter(args.filter.as_deref())?;
    let analysis = load(&args.input, 0)?;
    // The table prints request URLs, and a URL can carry a token: redacted by default, like
    // the Markdown report a table is pasted into a ticket the same way.
    let analysis = match redaction(args.redact, args.no_redact, true) {
        report::export::Redact::Redact => report::redact::redact(&analysis).0,
        report::export::Redact::Keep => analysis,
    };
    let only = filtered(&analysis, args.filter.as_deref())?;
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    report::stages::write(&analysis, args.all, only.as_ref(), &mut w)
        .and_then(|()| w.flush())
        .context("writing the stage table")?;
    Ok(())
}

fn report_cmd(args: ReportArgs) -> Result<()> {
    let compare_with = args.compare_with.as_ref().map(|file| InputArgs {
        files: vec![file.clone()],
        max_body_size: args.input.max_body_size,
        keylog: args.compare_keylog.clone(),
        key: args.compare_key.clone(),
        pfx: args.compare_pfx.clone(),
        password: args.compare_password.clone(),
        threads: args.input.threads,
        rules: args.input.rules.clone(),
        quiet: args.input.quiet,
    });
    if let FormatArg::Markdown | FormatArg::Html = args.format {
        // The readable reports show bodies: they are an export of every exchange.
        let format = match args.format {
            FormatArg::Html => ExportFormat::Html,
            _ => ExportFormat::Markdown,
        };
        return export_cmd(ExportArgs {
            input: args.input,
            format,
            output: args.output.unwrap_or_else(|| PathBuf::from("-")),
            filter: args.filter,
            marked: false,
            exchanges: Vec::new(),
            notes: None,
            redact: args.redact,
            no_redact: args.no_redact,
            compare_with,
        });
    }
    if compare_with.is_some() && matches!(args.format, FormatArg::Json) {
        anyhow::bail!(
            "--compare-with: the JSON report has no comparison section; `lyncscope compare A B --format json` gives it"
        );
    }
    lyncscope::phases::mark("start");
    parse_filter(args.filter.as_deref())?;
    let redact = redaction(args.redact, args.no_redact, false);
    // A redacted report checks whole bodies (and gives their hashes only after redaction).
    let keep = match redact {
        report::export::Redact::Redact => EXPORT_BODY_KEEP,
        report::export::Redact::Keep => 0,
    };
    let mut options = options(&args.input, keep)?;
    // No report lists HTTP/2 frames one by one (only the UI does): their count is enough.
    options.http.keep_frames = false;
    let analysis = load_with(&args.input, options)?;
    let (analysis, summary) = match redact {
        report::export::Redact::Redact => {
            let (a, s) = report::redact::redact(&analysis);
            (a, Some(s))
        }
        report::export::Redact::Keep => (analysis, None),
    };
    let only = filtered(&analysis, args.filter.as_deref())?;
    let format = match args.format {
        FormatArg::Json if args.pretty => report::Format::JsonPretty,
        FormatArg::Json => report::Format::Json,
        _ => report::Format::Text,
    };
    let comparison = match &compare_with {
        Some(other) => Some(lyncscope::presentation::compare::compare(
            &analysis,
            &load(other, 0)?,
        )),
        None => None,
    };
    let write_report = |w: &mut dyn Write| match (&only, format) {
        (None, report::Format::Text) => report::write(&analysis, format, w),
        (None, _) => report::json::write_with(
            &analysis,
            summary.as_ref(),
            format == report::Format::JsonPretty,
            w,
        ),
        (Some(only), report::Format::Text) => report::text::write_only(&analysis, Some(only), w),
        (Some(only), _) => {
            let mut ids: Vec<_> = only.iter().copied().collect();
            ids.sort();
            let notes = lyncscope::model::Notes::default();
            report::json::write_scoped_with(
                &analysis,
                &notes,
                &ids,
                summary.as_ref(),
                format == report::Format::JsonPretty,
                w,
            )
        }
    };
    let write = |w: &mut dyn Write| {
        write_report(w)?;
        match &comparison {
            Some(c) => {
                writeln!(w)?;
                report::compare::write_text(c, w)
            }
            None => Ok(()),
        }
    };
    match &args.output {
        Some(path) => {
            let f = std::fs::File::create(path)
                .map_err(|e| anyhow::anyhow!("-o {}: cannot create: {e}", path.display()))?;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
            write(&mut w)
                .and_then(|()| w.flush())
                .with_context(|| format!("writing {}", path.display()))?;
            lyncscope::phases::mark("json");
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            write(&mut w)
                .and_then(|()| w.flush())
                .context("writing the report")?;
            lyncscope::phases::mark("json");
        }
    }
    // The process ends here: freeing a large analysis piece by piece takes longer than
    // the exit that gives its memory back whole.
    std::mem::forget(analysis);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{parse_size, with_default_command};

    #[test]
    fn a_bare_file_opens_the_ui() {
        let args = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert_eq!(
            with_default_command(args(&["ls", "a.pcap"])),
            args(&["ls", "open", "a.pcap"])
        );
        assert_eq!(
            with_default_command(args(&["ls", "-"])),
            args(&["ls", "open", "-"])
        );
        assert_eq!(
            with_default_command(args(&["ls", "report", "a"])),
            args(&["ls", "report", "a"])
        );
        assert_eq!(
            with_default_command(args(&["ls", "--help"])),
            args(&["ls", "--help"])
        );
        assert_eq!(with_default_command(args(&["ls"])), args(&["ls"]));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert!(parse_size("12 parsecs").is_err());
    }
}
