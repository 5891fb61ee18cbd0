//! The filter language and global search of the terminal UI (also `export --filter`).
//!
//! Filters follow mitmproxy's console expressions (`~m ~u ~d ~c ~h ~b ~t`, `!`, `&`, `|`,
//! parentheses, a bare word matches the URL) with sign-in operators (`~stage`, `~outcome`,
//! `~err`, `~conn`, `~tls`, `~auth`) and typed comparisons (`dur>500ms`, `size>1MB`,
//! `status>=400`). [`syntax_help`] lists them all. Regexes are case-insensitive.
//!
//! Parsing happens once per edit (validated as you type, errors carry the byte position);
//! evaluation is per exchange. Build a [`MatchContext`] once per analysis when filtering many
//! exchanges, so that the exchange → diagnostics lookup of `~err` and search stays cheap.

mod eval;
mod parse;

pub use eval::{time_origin, url, MatchContext};

use crate::model::{Analysis, ExchId, Exchange, Notes};
use regex::{bytes, Regex};

/// A filter that could not be parsed: what is wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at column {})", .position + 1)]
pub struct FilterError {
    pub message: String,
    /// byte offset in the text
    pub position: usize,
}

/// A parsed filter expression and the text it came from.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    text: String,
    /// `None`: blank text, which matches everything.
    root: Option<parse::Node>,
}

impl Filter {
    /// Parses a filter; empty or blank text gives the filter that matches everything.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        Ok(Filter {
            text: text.to_string(),
            root: parse::parse(text)?,
        })
    }

    /// Parses a filter for the analysis `a`: a `~stage` name must be one of its stages (those
    /// of the rules that tagged it); an unknown one is an error at its column, as an unknown
    /// outcome always is. Without stages (a provisional analysis) any name passes.
    pub fn parse_for(text: &str, a: &Analysis) -> Result<Filter, FilterError> {
        let stages: Vec<&str> = a.stages.iter().map(|s| s.id.as_str()).collect();
        Ok(Filter {
            text: text.to_string(),
            root: parse::parse_known(text, Some(&stages))?,
        })
    }

    /// Whether one exchange passes. Convenient for one exchange; use [`Filter::matches_with`]
    /// (or [`Filter::select`]) to filter many.
    pub fn matches(&self, a: &Analysis, notes: &Notes, x: &Exchange) -> bool {
        match &self.root {
            None => true,
            Some(root) => eval::eval(root, &MatchContext::light(a, notes), x),
        }
    }

    /// Whether one exchange passes, with lookups prepared once in `ctx`.
    pub fn matches_with(&self, ctx: &MatchContext<'_>, x: &Exchange) -> bool {
        match &self.root {
            None => true,
            Some(root) => eval::eval(root, ctx, x),
        }
    }

    /// The exchanges of `a` that pass, in order.
    pub fn select(&self, a: &Analysis, notes: &Notes) -> Vec<ExchId> {
        let ctx = MatchContext::new(a, notes);
        a.exchanges
            .iter()
            .filter(|x| self.matches_with(&ctx, x))
            .map(|x| x.id)
            .collect()
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the result can change when marks or comments change (`~marked`, `~comment`),
    /// so the UI knows when to filter again.
    pub fn depends_on_notes(&self) -> bool {
        self.root.as_ref().is_some_and(parse::uses_notes)
    }

    /// True for the match-everything filter (blank text).
    pub fn is_empty(&self) -> bool {
        self.root.is_none()
    }
}

/// (syntax, meaning) rows for the help overlay and the README, in display order.
pub fn syntax_help() -> &'static [(&'static str, &'static str)] {
    &[
        (
            "WORD or \"text\"",
            "URL contains it (a regex; plain text when not a valid one)",
        ),
        ("~u REGEX", "URL: scheme://host/path?query"),
        (
            "~d REGEX",
            "domain: Host header, absolute/CONNECT target host, TLS SNI",
        ),
        ("~m REGEX", "request method"),
        ("~c CODE", "response status: 404, or a class 4xx / 40x"),
        (
            "~h REGEX",
            "a header, request or response, as \"Name: value\"",
        ),
        ("~hq / ~hs REGEX", "a request / response header"),
        (
            "~b REGEX",
            "decoded body, request or response (kept bodies only)",
        ),
        ("~bq / ~bs REGEX", "decoded request / response body"),
        ("~t REGEX", "Content-Type, request or response"),
        ("~tq / ~ts REGEX", "request / response Content-Type"),
        ("~q", "request without response"),
        ("~s", "has a response"),
        (
            "~stage ID",
            "discovery stage: exact id (ad-user), or a regex if not a plain name",
        ),
        (
            "~outcome NAME",
            "stage outcome: ok challenge redirect fail noise unknown",
        ),
        (
            "~err (~e)",
            "status >= 400, no response, incomplete, diagnostic, or stage failed",
        ),
        (
            "~conn C3 / ~conn :PORT",
            "connection (C3 or 3, as in the Conn column) / either port",
        ),
        ("~src / ~dst REGEX", "client / server address \"ip:port\""),
        ("~tls", "on a TLS (HTTPS) connection"),
        (
            "~auth SCHEME",
            "auth scheme: NTLM Negotiate Kerberos Bearer MsRtcOAuth Basic …",
        ),
        ("~marked", "marked by you (m)"),
        ("~comment REGEX", "your comment or the trace's"),
        ("~all", "everything"),
        (
            "dur OP TIME",
            "first request byte to last response byte; 500ms, 1.5s, 250us (bare = ms)",
        ),
        (
            "ttfb OP TIME",
            "first request byte to first response byte (bare = ms)",
        ),
        (
            "size OP SIZE",
            "response body, decoded (else wire); 10KB, 1MiB, 2GB (bare = bytes)",
        ),
        ("reqsize OP SIZE", "request body, decoded (else wire)"),
        ("status OP N", "response status"),
        (
            "time OP TIME",
            "start, counted from the capture's start (bare = seconds)",
        ),
        ("OP", "> >= < <= = != ; a missing value never matches"),
        (
            "!  &  |  ( )",
            "not, and, or, grouping; two terms side by side mean &",
        ),
    ]
}

/// Global search: case-insensitive substring (or /regex/ when the text is wrapped in slashes)
/// across every field and the decoded bodies.
#[derive(Debug, Clone)]
pub struct Search {
    text: String,
    /// For displayed lines (ranges on char boundaries).
    line: Regex,
    /// For bodies, which need not be UTF-8.
    bytes: bytes::Regex,
}

impl Search {
    pub fn new(text: &str) -> Result<Search, FilterError> {
        let error = |message: String, position: usize| FilterError { message, position };
        if text.is_empty() {
            return Err(error("nothing to search for".into(), 0));
        }
        let (pattern, at) = match text.strip_prefix('/').and_then(|t| t.strip_suffix('/')) {
            Some("") => return Err(error("empty regex".into(), 0)),
            Some(re) => (re.to_string(), 1),
            None => (regex::escape(text), 0),
        };
        let bad = |e: regex::Error| error(format!("bad regex: {}", parse::regex_problem(&e)), at);
        // Multi-line: fields are searched as lines of one block, so ^ and $ are per field.
        let line = parse::build_lines_regex(&pattern).map_err(bad)?;
        let bytes = parse::build_bytes_regex(&pattern, true).map_err(bad)?;
        Ok(Search {
            text: text.to_string(),
            line,
            bytes,
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the text occurs anywhere in the exchange: request line, URL, headers, status,
    /// connection and TLS facts, stage, decoded auth, trace annotations, notes, diagnostics,
    /// and the decoded bodies (as far as the analysis kept them).
    pub fn matches(&self, a: &Analysis, notes: &Notes, x: &Exchange) -> bool {
        self.matches_with(&MatchContext::light(a, notes), x)
    }

    pub fn matches_with(&self, ctx: &MatchContext<'_>, x: &Exchange) -> bool {
        eval::any_text(ctx, x, &mut |t| self.bytes.is_match(t))
    }

    /// byte ranges of hits in a line of displayed text (for highlighting)
    pub fn find_in(&self, line: &str) -> Vec<std::ops::Range<usize>> {
        self.line
            .find_iter(line)
            .filter(|m| !m.is_empty())
            .map(|m| m.range())
            .collect()
    }
}

#[cfg(test)]
mod tests;
