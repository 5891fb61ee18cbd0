//! Command-line interface (clap). The only place that uses `anyhow`.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use lyncscope::pipeline::{analyze, Options, Progress};
use lyncscope::report;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "lyncscope",
    version,
    about = "Reconstructs HTTP exchanges from pcap / pcapng captures and explains Lync / Skype for Business mobile sign-in"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Reconstruct every HTTP exchange in the inputs and print a report.
    Report(ReportArgs),
    /// Write the exchanges of the inputs as a HAR 1.2 file or a Fiddler SAZ archive.
    Export(ExportArgs),
    /// Print the discovery stage of every request and DNS lookup, the sign-in verdict and
    /// the findings.
    Stages(StagesArgs),
}

#[derive(clap::Args, Debug)]
struct StagesArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Also list requests and lookups outside the Lync flow ("unrelated").
    #[arg(long)]
    all: bool,
}

/// What to read, and the key material to decrypt it.
#[derive(clap::Args, Debug)]
struct InputArgs {
    /// Captures (pcap, pcapng) and trace archives (Fiddler .saz, .har); several are merged by
    /// time. "-" reads a capture from standard input.
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
    /// Connection-tracking threads (default: one per core).
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
}

#[derive(clap::Args, Debug)]
struct ExportArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Archive format.
    #[arg(long, value_enum)]
    format: ExportFormat,
    /// The file to write.
    #[arg(short, long, required = true)]
    output: PathBuf,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum ExportFormat {
    Har,
    Saz,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum FormatArg {
    Text,
    Json,
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

pub fn run() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Report(args) => report_cmd(args),
        Command::Export(args) => export_cmd(args),
        Command::Stages(args) => stages_cmd(args),
    }
}

/// Bodies kept for exports, each (a capture's bodies are otherwise only hashed).
const EXPORT_BODY_KEEP: u64 = 16 << 20;

fn export_cmd(args: ExportArgs) -> Result<()> {
    let analysis = load(&args.input, EXPORT_BODY_KEEP)?;
    let f = std::fs::File::create(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    match args.format {
        ExportFormat::Har => {
            let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
            lyncscope::capture::har::write_har(&analysis, None, &mut w).and_then(|()| w.flush())
        }
        ExportFormat::Saz => lyncscope::capture::saz::write_saz(&analysis, None, f),
    }
    .with_context(|| format!("writing {}", args.output.display()))?;
    eprintln!(
        "lyncscope: wrote {} exchanges to {}",
        analysis.exchanges.len(),
        args.output.display()
    );
    Ok(())
}

/// Runs the analysis the input arguments ask for, with a progress bar on a terminal.
fn load(args: &InputArgs, keep_bodies: u64) -> Result<lyncscope::Analysis> {
    let mut keylogs = args.keylog.clone();
    if let Some(env) = std::env::var_os("SSLKEYLOGFILE").filter(|v| !v.is_empty()) {
        keylogs.push(PathBuf::from(env));
    }
    let mut rule_files = Vec::new();
    for path in &args.rules {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read rules file {}", path.display()))?;
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
    let analysis = analyze(&args.files, &options, &mut progress)?;
    if let Some(b) = progress.0 {
        b.finish_and_clear();
    }
    Ok(analysis)
}

fn stages_cmd(args: StagesArgs) -> Result<()> {
    let analysis = load(&args.input, 0)?;
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    report::stages::write(&analysis, args.all, &mut w)
        .and_then(|()| w.flush())
        .context("writing the stage table")?;
    Ok(())
}

fn report_cmd(args: ReportArgs) -> Result<()> {
    let analysis = load(&args.input, 0)?;
    let format = match args.format {
        FormatArg::Text => report::Format::Text,
        FormatArg::Json if args.pretty => report::Format::JsonPretty,
        FormatArg::Json => report::Format::Json,
    };
    match &args.output {
        Some(path) => {
            let f = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
            report::write(&analysis, format, &mut w)
                .and_then(|()| w.flush())
                .with_context(|| format!("writing {}", path.display()))?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            report::write(&analysis, format, &mut w)
                .and_then(|()| w.flush())
                .context("writing the report")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert!(parse_size("12 parsecs").is_err());
    }
}
