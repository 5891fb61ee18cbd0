//! Every export, for the UI's dialog and `lyncscope export` alike: one scope of exchanges in
//! one format, with the user's marks and comments carried in.

mod har;
mod saz;

pub use crate::report::redact::Redact;
pub use har::write_har;
pub use saz::write_saz;

use crate::model::{Analysis, ExchId, Notes};
use crate::presentation::compare::Comparison;
use crate::report::redact::{redact, RedactionSummary};
use std::io::{self, Write};
use std::path::Path;

/// Which exchanges an export covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    /// Those the filter lets through.
    Shown,
    Marked,
    /// The selected one (in the UI) / the ones named with `--exchange`.
    Selected,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::All => "all",
            Scope::Shown => "shown",
            Scope::Marked => "marked",
            Scope::Selected => "this",
        }
    }
    pub fn title(self) -> &'static str {
        match self {
            Scope::All => "All exchanges",
            Scope::Shown => "Shown (filtered)",
            Scope::Marked => "Marked",
            Scope::Selected => "This one",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Json,
    Har,
    Saz,
    Markdown,
    Html,
    RawRequest,
    RawResponse,
    Curl,
    RequestBody,
    ResponseBody,
}

impl ExportFormat {
    /// Every format, in the order the UI's dialog and `--help` list them.
    pub const ALL: [ExportFormat; 10] = [
        ExportFormat::Json,
        ExportFormat::Har,
        ExportFormat::Saz,
        ExportFormat::Markdown,
        ExportFormat::Html,
        ExportFormat::RawRequest,
        ExportFormat::RawResponse,
        ExportFormat::Curl,
        ExportFormat::RequestBody,
        ExportFormat::ResponseBody,
    ];

    /// The name `lyncscope export --format` takes.
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Har => "har",
            ExportFormat::Saz => "saz",
            ExportFormat::Markdown => "markdown",
            ExportFormat::Html => "html",
            ExportFormat::RawRequest => "raw-request",
            ExportFormat::RawResponse => "raw-response",
            ExportFormat::Curl => "curl",
            ExportFormat::RequestBody => "request-body",
            ExportFormat::ResponseBody => "response-body",
        }
    }

    /// Other names it is known by.
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            ExportFormat::Markdown => &["md"],
            _ => &[],
        }
    }

    /// By [`ExportFormat::name`] or an alias.
    pub fn from_name(name: &str) -> Option<ExportFormat> {
        ExportFormat::ALL
            .into_iter()
            .find(|f| f.name() == name || f.aliases().contains(&name))
    }

    pub fn title(self) -> &'static str {
        match self {
            ExportFormat::Json => "JSON report",
            ExportFormat::Har => "HAR 1.2",
            ExportFormat::Saz => "Fiddler SAZ",
            ExportFormat::Markdown => "Markdown report",
            ExportFormat::Html => "HTML report",
            ExportFormat::RawRequest => "Raw request(s)",
            ExportFormat::RawResponse => "Raw response(s)",
            ExportFormat::Curl => "curl command(s)",
            ExportFormat::RequestBody => "Request body to file",
            ExportFormat::ResponseBody => "Response body to file",
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Har => "har",
            ExportFormat::Saz => "saz",
            ExportFormat::Markdown => "md",
            ExportFormat::Html => "html",
            ExportFormat::RawRequest => "request.txt",
            ExportFormat::RawResponse => "response.txt",
            ExportFormat::Curl => "sh",
            ExportFormat::RequestBody => "request.bin",
            ExportFormat::ResponseBody => "response.bin",
        }
    }
}

impl ExportFormat {
    /// Whether the format is redacted unless asked otherwise: the readable reports (Markdown,
    /// HTML) are what gets mailed around; the rest are written as captured unless `--redact`.
    pub fn redacts_by_default(self) -> bool {
        matches!(self, ExportFormat::Markdown | ExportFormat::Html)
    }

    /// [`Redact::Redact`] for the formats redacted by default, else [`Redact::Keep`].
    pub fn default_redaction(self) -> Redact {
        if self.redacts_by_default() {
            Redact::Redact
        } else {
            Redact::Keep
        }
    }
}

/// The analysis an export writes: the captured one, or a redacted copy and what was replaced.
fn prepared(
    a: &Analysis,
    redaction: Redact,
) -> (std::borrow::Cow<'_, Analysis>, Option<RedactionSummary>) {
    match redaction {
        Redact::Keep => (std::borrow::Cow::Borrowed(a), None),
        Redact::Redact => {
            let (copy, summary) = redact(a);
            (std::borrow::Cow::Owned(copy), Some(summary))
        }
    }
}

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A format that holds only exchanges (HAR, SAZ, raw messages, curl, a body) and a scope
    /// without one. The reports (JSON, Markdown, HTML) are written all the same: they carry
    /// the verdict, the findings and the connections.
    #[error("nothing to export as {0}: the scope holds no HTTP exchange (the json, markdown and html reports still give the verdict, findings and connections)")]
    Empty(&'static str),
    #[error("a body export takes exactly one exchange (the scope holds {0})")]
    NotOne(usize),
    #[error("exchange #{0} has no {1} body kept (none, not decrypted, or too large)")]
    NoBody(u32, &'static str),
    // Not a `source`: the reason is part of the message, printed once.
    #[error("cannot write {path}: {error}")]
    Io { path: String, error: io::Error },
}

/// Writes the export to `path`, redacted when the format is by default
/// ([`ExportFormat::redacts_by_default`]); returns how many exchanges it holds.
pub fn export_to_file(
    a: &Analysis,
    notes: &Notes,
    ids: &[ExchId],
    format: ExportFormat,
    path: &Path,
) -> Result<usize, ExportError> {
    export_to_file_with(a, notes, ids, format, format.default_redaction(), path)
}

/// [`export_to_file`], redacted or not as `redaction` says.
pub fn export_to_file_with(
    a: &Analysis,
    notes: &Notes,
    ids: &[ExchId],
    format: ExportFormat,
    redaction: Redact,
    path: &Path,
) -> Result<usize, ExportError> {
    export_to_file_compared(a, notes, ids, format, redaction, None, path)
}

/// [`export_to_file_with`]; the Markdown and HTML reports gain a section comparing the
/// sign-in with another one (`report A --compare-with B`).
pub fn export_to_file_compared(
    a: &Analysis,
    notes: &Notes,
    ids: &[ExchId],
    format: ExportFormat,
    redaction: Redact,
    compare: Option<&Comparison>,
    path: &Path,
) -> Result<usize, ExportError> {
    let io_err = |error: io::Error| ExportError::Io {
        path: path.display().to_string(),
        error,
    };
    check_scope(format, ids)?;
    let (a, summary) = prepared(a, redaction);
    let a = a.as_ref();
    // Bodies are checked before the file is created, so a failure leaves nothing behind.
    let body = match format {
        ExportFormat::RequestBody | ExportFormat::ResponseBody => {
            Some(single_body(a, ids, format == ExportFormat::RequestBody)?)
        }
        _ => None,
    };
    let file = std::fs::File::create(path).map_err(io_err)?;
    if format == ExportFormat::Saz {
        saz::write_saz(&with_notes(a, notes, ids), Some(ids), file).map_err(io_err)?;
        return Ok(ids.len());
    }
    let mut w = io::BufWriter::with_capacity(1 << 20, file);
    match body {
        Some(bytes) => w.write_all(&bytes).map_err(io_err)?,
        None => write_prepared(a, summary.as_ref(), notes, ids, format, compare, &mut w)
            .map_err(io_err)?,
    }
    w.flush().map_err(io_err)?;
    Ok(ids.len())
}

/// Whether `format` can be written for `ids`: the reports always can; the formats that hold
/// only exchanges need at least one. The same check for a file and for standard output.
pub fn check_scope(format: ExportFormat, ids: &[ExchId]) -> Result<(), ExportError> {
    match format {
        ExportFormat::Json | ExportFormat::Markdown | ExportFormat::Html => Ok(()),
        _ if ids.is_empty() => Err(ExportError::Empty(format.title())),
        _ => Ok(()),
    }
}

/// The body of the one exchange of `ids`.
fn single_body(a: &Analysis, ids: &[ExchId], request: bool) -> Result<Vec<u8>, ExportError> {
    let [id] = ids else {
        return Err(ExportError::NotOne(ids.len()));
    };
    let x = a
        .exchanges
        .get(id.0 as usize)
        .ok_or(ExportError::Empty("a body"))?;
    let (body, side) = if request {
        (x.request.as_ref().map(|r| &r.body), "request")
    } else {
        (x.response.as_ref().map(|r| &r.body), "response")
    };
    body.and_then(|b| b.bytes())
        .map(<[u8]>::to_vec)
        .ok_or(ExportError::NoBody(id.0, side))
}

/// Streamable formats (all but SAZ and single bodies) to any writer, redacted when the
/// format is by default.
pub fn write_export(
    a: &Analysis,
    notes: &Notes,
    ids: &[ExchId],
    format: ExportFormat,
    out: &mut dyn Write,
) -> io::Result<()> {
    write_export_with(a, notes, ids, format, format.default_redaction(), out)
}

/// [`write_export`], redacted or not as `redaction` says.
pub fn write_export_with(
    a: &Analysis,
    notes: &Notes,
    ids: &[ExchId],
    format: ExportFormat,
    redaction: Redact,
    out: &mut dyn Write,
) -> io::Result<()> {
    write_export_compared(a, notes, ids, format, redaction, None, out)
}

/// [`write_export_with`]; the Markdown and HTML reports gain a section comparing the sign-in
/// with another one (`report A --compare-with B`).
pub fn write_export_compared(
    a: &Analysis,
    notes: &Notes,
    ids: &[ExchId],
    format: ExportFormat,
    redaction: Redact,
    compare: Option<&Comparison>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let (a, summary) = prepared(a, redaction);
    write_prepared(
        a.as_ref(),
        summary.as_ref(),
        notes,
        ids,
        format,
        compare,
        out,
    )
}

/// Writes `a` (already redacted when `redaction` is given).
fn write_prepared(
    a: &Analysis,
    redaction: Option<&RedactionSummary>,
    notes: &Notes,
    ids: &[ExchId],
    format: ExportFormat,
    compare: Option<&Comparison>,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        ExportFormat::Json => {
            crate::report::json::write_scoped_with(a, notes, ids, redaction, true, &mut *out)
        }
        ExportFormat::Har => har::write_har(&with_notes(a, notes, ids), Some(ids), out),
        ExportFormat::Markdown => {
            crate::report::markdown::write_markdown_compared(a, notes, ids, redaction, compare, out)
        }
        ExportFormat::Html => {
            crate::report::html::write_html_compared(a, notes, ids, redaction, compare, out)
        }
        ExportFormat::RawRequest | ExportFormat::RawResponse => {
            for (i, id) in ids.iter().enumerate() {
                let Some(x) = a.exchanges.get(id.0 as usize) else {
                    continue;
                };
                if ids.len() > 1 {
                    if i > 0 {
                        out.write_all(b"\n")?;
                    }
                    writeln!(out, "### exchange #{}", id.0)?;
                }
                let raw = if format == ExportFormat::RawRequest {
                    crate::presentation::wire::raw_request(x)
                } else {
                    crate::presentation::wire::raw_response(x)
                };
                out.write_all(&raw)?;
            }
            Ok(())
        }
        ExportFormat::Curl => {
            for id in ids {
                let Some(x) = a.exchanges.get(id.0 as usize) else {
                    continue;
                };
                if ids.len() > 1 {
                    writeln!(out, "# exchange #{}", id.0)?;
                }
                writeln!(out, "{}", crate::presentation::wire::curl_command(a, x))?;
            }
            Ok(())
        }
        ExportFormat::Saz | ExportFormat::RequestBody | ExportFormat::ResponseBody => Err(
            io::Error::other(format!("{} needs a file, not a stream", format.title())),
        ),
    }
}

/// A copy of the analysis whose exchanges in `ids` carry the user's comments (and a mark
/// flag) in their annotations, which is what the HAR and SAZ writers export.
fn with_notes(a: &Analysis, notes: &Notes, ids: &[ExchId]) -> Analysis {
    let mut copy = a.clone();
    for id in ids {
        let Some(note) = notes.get(*id) else { continue };
        let Some(x) = copy.exchanges.get_mut(id.0 as usize) else {
            continue;
        };
        let ann = x.annotations.get_or_insert_with(Default::default);
        if let Some(c) = &note.comment {
            ann.comment = Some(c.as_str().into());
        }
        if note.marked {
            ann.flags.retain(|k, _| k != "lyncscope-marked");
            ann.flags.push("lyncscope-marked", "true");
            // Fiddler shows a marked session in its colour.
            if ann.color.is_none() {
                ann.color = Some("red".into());
            }
        }
    }
    copy
}
