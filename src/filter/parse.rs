//! Filter text → AST. A hand-written recursive-descent parser over the bytes of the text, so
//! that every error can name the byte where it happened and the parser knows, at each point,
//! whether it expects a term or an operator's argument.
//!
//! Grammar (mitmproxy's precedence: `!` binds tightest, then `&`, then `|`):
//!
//! ```text
//! or      := and ( "|" and )*
//! and     := unary ( "&"? unary )*        two terms side by side mean "&"
//! unary   := "!" unary | primary
//! primary := "(" or ")" | "~" NAME ARG? | FIELD OP VALUE | WORD | QUOTED
//! ```

use super::FilterError;
use crate::model::Outcome;
use regex::{bytes, Regex, RegexBuilder};

/// How deep parentheses and `!` may nest: keeps recursion (and the stack) bounded.
const MAX_DEPTH: usize = 64;
/// Compiled size limit of one regex: a pathological pattern fails instead of eating memory.
const REGEX_SIZE_LIMIT: usize = 1 << 21;

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
    Pred(Pred),
}

/// Which message of an exchange a header / body / content-type operator looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Either,
    Request,
    Response,
}

#[derive(Debug, Clone)]
pub(crate) enum Pred {
    All,
    Method(Regex),
    Url(Regex),
    Domain(Regex),
    /// Inclusive status range: `404` → 404..=404, `4xx` → 400..=499, `40x` → 400..=409.
    Code(u16, u16),
    Header(Side, Regex),
    Body(Side, bytes::Regex),
    ContentType(Side, Regex),
    NoResponse,
    HasResponse,
    Stage(NameMatch),
    Outcome(Outcome),
    Err,
    Conn(ConnMatch),
    Tls,
    Auth(NameMatch),
    Marked,
    Comment(Regex),
    Src(Regex),
    Dst(Regex),
    Compare(Field, CmpOp, f64),
}

/// An identifier argument: exact (case-insensitive) when it is a plain name, a regex otherwise.
#[derive(Debug, Clone)]
pub(crate) enum NameMatch {
    Exact(String),
    Regex(Regex),
}

impl NameMatch {
    pub(crate) fn is_match(&self, name: &str) -> bool {
        match self {
            NameMatch::Exact(n) => n.eq_ignore_ascii_case(name),
            NameMatch::Regex(r) => r.is_match(name),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnMatch {
    /// The connection number the reports show (`ConnId`).
    Id(u32),
    /// Either endpoint's TCP port.
    Port(u16),
}

/// Fields of the comparisons; durations in nanoseconds, sizes in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Dur,
    Ttfb,
    Size,
    ReqSize,
    Status,
    Time,
}

impl Field {
    pub(crate) const ALL: [(&'static str, Field); 6] = [
        ("dur", Field::Dur),
        ("ttfb", Field::Ttfb),
        ("size", Field::Size),
        ("reqsize", Field::ReqSize),
        ("status", Field::Status),
        ("time", Field::Time),
    ];

    fn from_name(name: &str) -> Option<Field> {
        Field::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, f)| *f)
    }

    fn kind(self) -> Unit {
        match self {
            Field::Dur | Field::Ttfb => Unit::Duration { default_ns: 1e6 },
            Field::Time => Unit::Duration { default_ns: 1e9 },
            Field::Size | Field::ReqSize => Unit::Size,
            Field::Status => Unit::Plain,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Unit {
    /// A bare number is in `default_ns` units (ms for dur/ttfb, s for time).
    Duration {
        default_ns: f64,
    },
    Size,
    Plain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

impl CmpOp {
    pub(crate) fn holds(self, left: f64, right: f64) -> bool {
        match self {
            CmpOp::Gt => left > right,
            CmpOp::Ge => left >= right,
            CmpOp::Lt => left < right,
            CmpOp::Le => left <= right,
            CmpOp::Eq => left == right,
            CmpOp::Ne => left != right,
        }
    }
}

/// What an operator takes after its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArgKind {
    None,
    Regex,
    Code,
    Name,
    Outcome,
    Conn,
}

/// Every `~` operator: name, argument, and how to build its predicate.
const OPERATORS: &[(&str, ArgKind)] = &[
    ("all", ArgKind::None),
    ("m", ArgKind::Regex),
    ("u", ArgKind::Regex),
    ("d", ArgKind::Regex),
    ("c", ArgKind::Code),
    ("h", ArgKind::Regex),
    ("hq", ArgKind::Regex),
    ("hs", ArgKind::Regex),
    ("b", ArgKind::Regex),
    ("bq", ArgKind::Regex),
    ("bs", ArgKind::Regex),
    ("t", ArgKind::Regex),
    ("tq", ArgKind::Regex),
    ("ts", ArgKind::Regex),
    ("q", ArgKind::None),
    ("s", ArgKind::None),
    ("stage", ArgKind::Name),
    ("outcome", ArgKind::Outcome),
    ("err", ArgKind::None),
    ("e", ArgKind::None),
    ("conn", ArgKind::Conn),
    ("tls", ArgKind::None),
    ("auth", ArgKind::Name),
    ("marked", ArgKind::None),
    ("comment", ArgKind::Regex),
    ("src", ArgKind::Regex),
    ("dst", ArgKind::Regex),
];

/// Parses a whole filter; `Ok(None)` for blank text.
pub(crate) fn parse(text: &str) -> Result<Option<Node>, FilterError> {
    parse_known(text, None)
}

/// Like [`parse`], and a `~stage` name must be one of `stages` (the stages of the rules in
/// force) or, as a regex, match one of them.
pub(crate) fn parse_known(
    text: &str,
    stages: Option<&[&str]>,
) -> Result<Option<Node>, FilterError> {
    let mut p = Parser {
        text,
        src: text.as_bytes(),
        pos: 0,
        depth: 0,
        stages,
    };
    p.skip_ws();
    if p.at_end() {
        return Ok(None);
    }
    let node = p.or()?;
    p.skip_ws();
    match p.peek() {
        None => Ok(Some(node)),
        Some(b')') => Err(p.error_at(p.pos, "unexpected ) without a matching (")),
        Some(_) => Err(p.error_at(p.pos, "expected & or | between terms")),
    }
}

/// Whether a tree reads the user's notes (marks, comments).
pub(crate) fn uses_notes(node: &Node) -> bool {
    match node {
        Node::Not(n) => uses_notes(n),
        Node::And(v) | Node::Or(v) => v.iter().any(uses_notes),
        Node::Pred(p) => matches!(p, Pred::Marked | Pred::Comment(_)),
    }
}

/// Builds a case-insensitive regex with a bounded compiled size.
pub(crate) fn build_regex(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

/// Like [`build_regex`], for text searched as a block of lines: `^` and `$` match at each
/// line (header, field), not only at the ends of the block.
pub(crate) fn build_lines_regex(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .multi_line(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

pub(crate) fn build_bytes_regex(
    pattern: &str,
    multi_line: bool,
) -> Result<bytes::Regex, regex::Error> {
    bytes::RegexBuilder::new(pattern)
        .case_insensitive(true)
        .multi_line(multi_line)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

/// The first line of a regex error, which names the problem without the ASCII-art pointer.
pub(crate) fn regex_problem(e: &regex::Error) -> String {
    match e {
        regex::Error::Syntax(s) => s
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with("error:"))
            .map(|l| {
                l.trim_start()
                    .trim_start_matches("error:")
                    .trim()
                    .to_string()
            })
            .unwrap_or_else(|| s.lines().next().unwrap_or("").to_string()),
        regex::Error::CompiledTooBig(_) => "pattern too big".to_string(),
        _ => e.to_string(),
    }
}

struct Parser<'t> {
    text: &'t str,
    src: &'t [u8],
    pos: usize,
    depth: usize,
    /// The stage ids `~stage` may name; None: any.
    stages: Option<&'t [&'t str]>,
}

impl<'t> Parser<'t> {
    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }
    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }
    fn error_at(&self, position: usize, message: impl Into<String>) -> FilterError {
        FilterError {
            message: message.into(),
            position: position.min(self.src.len()),
        }
    }

    /// A stage name nobody tags with selects nothing, silently: say so, and what there is.
    fn check_stage(&self, m: &NameMatch, arg: &str, at: usize) -> Result<(), FilterError> {
        let Some(known) = self.stages.filter(|k| !k.is_empty()) else {
            return Ok(());
        };
        if known.iter().any(|k| m.is_match(k)) {
            return Ok(());
        }
        let lower = arg.to_ascii_lowercase();
        let near: Vec<&str> = known
            .iter()
            .copied()
            .filter(|k| k.contains(&lower) || lower.contains(*k))
            .collect();
        let what = if matches!(m, NameMatch::Exact(_)) {
            format!("unknown stage {arg}")
        } else {
            format!("no stage matches {arg}")
        };
        Err(self.error_at(
            at,
            if near.is_empty() {
                format!("{what} (stages: {})", known.join(" "))
            } else {
                format!("{what} (did you mean {}?)", near.join(" or "))
            },
        ))
    }

    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(self.pos, "nested too deeply"));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Node, FilterError> {
        let mut terms = vec![self.and()?];
        loop {
            self.skip_ws();
            if self.peek() != Some(b'|') {
                break;
            }
            let at = self.pos;
            self.pos += 1;
            self.skip_ws();
            if !self.starts_term() {
                return Err(self.error_at(at, "missing term after |"));
            }
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 {
            terms.pop().unwrap_or(Node::Pred(Pred::All))
        } else {
            Node::Or(terms)
        })
    }

    fn and(&mut self) -> Result<Node, FilterError> {
        let mut terms = vec![self.unary()?];
        loop {
            self.skip_ws();
            if self.peek() == Some(b'&') {
                let at = self.pos;
                self.pos += 1;
                self.skip_ws();
                if !self.starts_term() {
                    return Err(self.error_at(at, "missing term after &"));
                }
            } else if !self.starts_term() {
                break;
            }
            terms.push(self.unary()?);
        }
        Ok(if terms.len() == 1 {
            terms.pop().unwrap_or(Node::Pred(Pred::All))
        } else {
            Node::And(terms)
        })
    }

    /// Whether the next byte can begin a term (so juxtaposition means `&`).
    fn starts_term(&self) -> bool {
        !matches!(self.peek(), None | Some(b')' | b'&' | b'|'))
    }

    fn unary(&mut self) -> Result<Node, FilterError> {
        self.skip_ws();
        match self.peek() {
            Some(b'!') => {
                let at = self.pos;
                self.pos += 1;
                self.skip_ws();
                if !self.starts_term() {
                    return Err(self.error_at(at, "missing term after !"));
                }
                self.enter()?;
                let inner = self.unary()?;
                self.depth -= 1;
                Ok(Node::Not(Box::new(inner)))
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<Node, FilterError> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            None => Err(self.error_at(start, "expected a term")),
            Some(b'(') => {
                self.pos += 1;
                self.enter()?;
                self.skip_ws();
                if self.peek() == Some(b')') {
                    return Err(self.error_at(self.pos, "empty parentheses"));
                }
                if self.at_end() {
                    return Err(self.error_at(start, "unclosed parenthesis"));
                }
                let inner = self.or()?;
                self.skip_ws();
                if self.peek() != Some(b')') {
                    return Err(if self.at_end() {
                        self.error_at(start, "unclosed parenthesis")
                    } else {
                        self.error_at(self.pos, "expected & or | or )")
                    });
                }
                self.pos += 1;
                self.depth -= 1;
                Ok(inner)
            }
            Some(b')') => Err(self.error_at(start, "unexpected ) without a matching (")),
            Some(c @ (b'&' | b'|')) => {
                Err(self.error_at(start, format!("expected a term before {}", char::from(c))))
            }
            Some(b'~') => self.operator(),
            Some(b'"' | b'\'') => {
                let s = self.quoted()?;
                self.url_text(&s, start)
            }
            Some(_) => {
                if let Some(node) = self.comparison()? {
                    return Ok(node);
                }
                let w = self.word();
                self.url_text(w, start)
            }
        }
    }

    /// A bare word or quoted string: the URL, as a regex, or as plain text when it is not a
    /// valid regex (so that `?sipuri=` just works).
    fn url_text(&self, s: &str, at: usize) -> Result<Node, FilterError> {
        let re = build_regex(s).or_else(|_| build_regex(&regex::escape(s)));
        match re {
            Ok(r) => Ok(Node::Pred(Pred::Url(r))),
            Err(e) => Err(self.error_at(at, format!("bad regex: {}", regex_problem(&e)))),
        }
    }

    /// A run of bytes up to whitespace or a combinator; never empty when called at a term.
    fn word(&mut self) -> &'t str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() || matches!(c, b'(' | b')' | b'&' | b'|') {
                break;
            }
            self.pos += 1;
        }
        // Stops only at ASCII bytes, so both ends are char boundaries.
        self.text.get(start..self.pos).unwrap_or("")
    }

    /// `"…"` or `'…'`; a backslash before the closing quote character keeps it literal, any
    /// other backslash is kept as is (regex escapes survive).
    fn quoted(&mut self) -> Result<String, FilterError> {
        let start = self.pos;
        let Some(q) = self.peek() else {
            return Err(self.error_at(start, "expected a quoted string"));
        };
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.error_at(start, "unclosed quote")),
                Some(c) if c == q => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') if self.src.get(self.pos + 1) == Some(&q) => {
                    out.push(q);
                    self.pos += 2;
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
        // Only ASCII quote bytes were removed, so the rest is still valid UTF-8.
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// An operator's argument: a quoted string or a word.
    fn argument(
        &mut self,
        op: &str,
        what: &str,
        op_at: usize,
    ) -> Result<(String, usize), FilterError> {
        self.skip_ws();
        let at = self.pos;
        match self.peek() {
            Some(b'"' | b'\'') => Ok((self.quoted()?, at)),
            Some(c) if !matches!(c, b'(' | b')' | b'&' | b'|') => Ok((self.word().to_string(), at)),
            _ => Err(self.error_at(op_at, format!("~{op} needs {what}"))),
        }
    }

    fn operator(&mut self) -> Result<Node, FilterError> {
        let start = self.pos;
        self.pos += 1;
        let name_start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.pos += 1;
        }
        let name = self.text.get(name_start..self.pos).unwrap_or("");
        if name.is_empty() {
            return Err(self.error_at(start, "expected an operator name after ~"));
        }
        let lower = name.to_ascii_lowercase();
        let Some(&(op, kind)) = OPERATORS.iter().find(|(n, _)| *n == lower) else {
            return Err(self.error_at(start, format!("unknown operator ~{name}")));
        };
        let pred = match kind {
            ArgKind::None => match op {
                "all" => Pred::All,
                "q" => Pred::NoResponse,
                "s" => Pred::HasResponse,
                "tls" => Pred::Tls,
                "marked" => Pred::Marked,
                _ => Pred::Err,
            },
            ArgKind::Regex => {
                let (arg, at) = self.argument(op, "a regex", start)?;
                if op.starts_with('b') {
                    let side = side_of(op);
                    let re = build_bytes_regex(&arg, false).map_err(|e| {
                        self.error_at(at, format!("bad regex: {}", regex_problem(&e)))
                    })?;
                    Pred::Body(side, re)
                } else {
                    let built = if op.starts_with('h') {
                        build_lines_regex(&arg)
                    } else {
                        build_regex(&arg)
                    };
                    let re = built.map_err(|e| {
                        self.error_at(at, format!("bad regex: {}", regex_problem(&e)))
                    })?;
                    match op {
                        "m" => Pred::Method(re),
                        "u" => Pred::Url(re),
                        "d" => Pred::Domain(re),
                        "h" | "hq" | "hs" => Pred::Header(side_of(op), re),
                        "t" | "tq" | "ts" => Pred::ContentType(side_of(op), re),
                        "comment" => Pred::Comment(re),
                        "src" => Pred::Src(re),
                        _ => Pred::Dst(re),
                    }
                }
            }
            ArgKind::Code => {
                let (arg, at) = self.argument(op, "a number", start)?;
                let (lo, hi) = status_pattern(&arg)
                    .ok_or_else(|| self.error_at(at, "~c needs a number (404) or a class (4xx)"))?;
                Pred::Code(lo, hi)
            }
            ArgKind::Name => {
                let what = if op == "stage" {
                    "a stage id"
                } else {
                    "a scheme name"
                };
                let (arg, at) = self.argument(op, what, start)?;
                let m = name_match(&arg)
                    .map_err(|e| self.error_at(at, format!("bad regex: {}", regex_problem(&e))))?;
                if op == "stage" {
                    self.check_stage(&m, &arg, at)?;
                    Pred::Stage(m)
                } else {
                    Pred::Auth(m)
                }
            }
            ArgKind::Outcome => {
                let (arg, at) = self.argument(op, "an outcome", start)?;
                let o = Outcome::parse(&arg.to_ascii_lowercase()).ok_or_else(|| {
                    self.error_at(
                        at,
                        format!(
                            "unknown outcome {arg} (expected ok, challenge, redirect, fail, noise or unknown)"
                        ),
                    )
                })?;
                Pred::Outcome(o)
            }
            ArgKind::Conn => {
                let (arg, at) = self.argument(op, "a connection number or :port", start)?;
                // "C3" as the list, the timelines, the findings and the reports name it.
                let m = if let Some(port) = arg.strip_prefix(':') {
                    port.parse::<u16>().ok().map(ConnMatch::Port)
                } else {
                    let n = arg.strip_prefix(['C', 'c']).unwrap_or(&arg);
                    n.parse::<u32>().ok().map(ConnMatch::Id)
                };
                Pred::Conn(m.ok_or_else(|| {
                    self.error_at(at, "~conn needs a connection (C3 or 3) or :port")
                })?)
            }
        };
        Ok(Node::Pred(pred))
    }

    /// `FIELD OP VALUE` when the text at the cursor is one (a field name followed by an
    /// operator, spaces allowed); `Ok(None)` leaves the cursor untouched.
    fn comparison(&mut self) -> Result<Option<Node>, FilterError> {
        let start = self.pos;
        let mut i = start;
        while self.src.get(i).is_some_and(|c| c.is_ascii_alphabetic()) {
            i += 1;
        }
        let name = self.text.get(start..i).unwrap_or("");
        if name.is_empty() {
            return Ok(None);
        }
        let mut j = i;
        while self.src.get(j).is_some_and(|c| c.is_ascii_whitespace()) {
            j += 1;
        }
        let (op, op_len) = match (self.src.get(j), self.src.get(j + 1)) {
            (Some(b'>'), Some(b'=')) => (CmpOp::Ge, 2),
            (Some(b'<'), Some(b'=')) => (CmpOp::Le, 2),
            (Some(b'!'), Some(b'=')) => (CmpOp::Ne, 2),
            (Some(b'='), Some(b'=')) => (CmpOp::Eq, 2),
            (Some(b'>'), _) => (CmpOp::Gt, 1),
            (Some(b'<'), _) => (CmpOp::Lt, 1),
            (Some(b'='), _) => (CmpOp::Eq, 1),
            _ => return Ok(None),
        };
        let Some(field) = Field::from_name(name) else {
            // `<` and `>` hardly occur in URLs: this is a misspelt field, not a bare word.
            if matches!(op, CmpOp::Gt | CmpOp::Lt | CmpOp::Ge | CmpOp::Le) {
                let names: Vec<&str> = Field::ALL.iter().map(|(n, _)| *n).collect();
                return Err(self.error_at(
                    start,
                    format!(
                        "unknown field {name} (expected one of {})",
                        names.join(", ")
                    ),
                ));
            }
            return Ok(None);
        };
        self.pos = j + op_len;
        self.skip_ws();
        let at = self.pos;
        let value_text = match self.peek() {
            Some(c) if !matches!(c, b'(' | b')' | b'&' | b'|') => self.word(),
            _ => "",
        };
        let value = parse_value(field, value_text).ok_or_else(|| {
            let what = match field.kind() {
                Unit::Duration { .. } if field == Field::Time => "a time in seconds like 2.5s",
                Unit::Duration { .. } => "a duration like 500ms or 1.5s",
                Unit::Size => "a size like 10KB or 1MiB",
                Unit::Plain => "a number",
            };
            self.error_at(
                if value_text.is_empty() { j } else { at },
                format!("{} needs {what}", name.to_ascii_lowercase()),
            )
        })?;
        Ok(Some(Node::Pred(Pred::Compare(field, op, value))))
    }
}

fn side_of(op: &str) -> Side {
    if op.len() == 2 && op.ends_with('q') {
        Side::Request
    } else if op.len() == 2 && op.ends_with('s') {
        Side::Response
    } else {
        Side::Either
    }
}

/// `404`, `4xx`, `40x` → an inclusive range of statuses.
fn status_pattern(s: &str) -> Option<(u16, u16)> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 3 || !b.first()?.is_ascii_digit() {
        return None;
    }
    if b.iter().all(u8::is_ascii_digit) {
        let n: u16 = s.parse().ok()?;
        return Some((n, n));
    }
    // Digits then only x's, exactly three characters.
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let rest = b.get(digits..).unwrap_or(&[]);
    if b.len() != 3 || !rest.iter().all(|c| c.eq_ignore_ascii_case(&b'x')) {
        return None;
    }
    let prefix: u16 = s.get(..digits)?.parse().ok()?;
    let scale = 10u16.pow((3 - digits) as u32);
    Some((prefix * scale, prefix * scale + scale - 1))
}

/// Plain names (letters, digits, `-`, `_`) match exactly; anything else is a regex.
fn name_match(arg: &str) -> Result<NameMatch, regex::Error> {
    if !arg.is_empty()
        && arg
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    {
        Ok(NameMatch::Exact(arg.to_string()))
    } else {
        build_regex(arg).map(NameMatch::Regex)
    }
}

/// A comparison value in the field's base unit (ns, bytes, plain number).
fn parse_value(field: Field, text: &str) -> Option<f64> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    if num.is_empty() {
        return None;
    }
    let n: f64 = num.parse().ok()?;
    if !n.is_finite() {
        return None;
    }
    let unit = unit.to_ascii_lowercase();
    let scale = match field.kind() {
        Unit::Duration { default_ns } => match unit.as_str() {
            "" => default_ns,
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" | "sec" => 1e9,
            "m" | "min" => 60e9,
            "h" => 3600e9,
            _ => return None,
        },
        Unit::Size => match unit.as_str() {
            "" | "b" => 1.0,
            "k" | "kb" => 1e3,
            "m" | "mb" => 1e6,
            "g" | "gb" => 1e9,
            "kib" => 1024.0,
            "mib" => 1024.0 * 1024.0,
            "gib" => 1024.0 * 1024.0 * 1024.0,
            _ => return None,
        },
        Unit::Plain => match unit.as_str() {
            "" => 1.0,
            _ => return None,
        },
    };
    Some(n * scale)
}

/// A compact, fully parenthesised rendering of the tree (tests check precedence with it).
#[cfg(test)]
pub(crate) fn render(node: &Node) -> String {
    match node {
        Node::Not(n) => format!("!{}", render(n)),
        Node::And(v) => format!("({})", v.iter().map(render).collect::<Vec<_>>().join(" & ")),
        Node::Or(v) => format!("({})", v.iter().map(render).collect::<Vec<_>>().join(" | ")),
        Node::Pred(p) => match p {
            Pred::All => "all".into(),
            Pred::Method(r) => format!("m:{}", r.as_str()),
            Pred::Url(r) => format!("u:{}", r.as_str()),
            Pred::Domain(r) => format!("d:{}", r.as_str()),
            Pred::Code(lo, hi) => format!("c:{lo}-{hi}"),
            Pred::Header(s, r) => format!("h{s:?}:{}", r.as_str()),
            Pred::Body(s, r) => format!("b{s:?}:{}", r.as_str()),
            Pred::ContentType(s, r) => format!("t{s:?}:{}", r.as_str()),
            Pred::NoResponse => "q".into(),
            Pred::HasResponse => "s".into(),
            Pred::Stage(m) => format!("stage:{m:?}"),
            Pred::Outcome(o) => format!("outcome:{}", o.as_str()),
            Pred::Err => "err".into(),
            Pred::Conn(c) => format!("conn:{c:?}"),
            Pred::Tls => "tls".into(),
            Pred::Auth(m) => format!("auth:{m:?}"),
            Pred::Marked => "marked".into(),
            Pred::Comment(r) => format!("comment:{}", r.as_str()),
            Pred::Src(r) => format!("src:{}", r.as_str()),
            Pred::Dst(r) => format!("dst:{}", r.as_str()),
            Pred::Compare(f, o, v) => format!("{f:?}{o:?}{v}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(s: &str) -> String {
        render(&parse(s).unwrap().unwrap())
    }
    fn err(s: &str) -> FilterError {
        parse(s).unwrap_err()
    }

    #[test]
    fn blank_is_none() {
        assert!(parse("").unwrap().is_none());
        assert!(parse("   \t").unwrap().is_none());
    }

    #[test]
    fn precedence_not_and_or() {
        assert_eq!(tree("~q | ~s & ~tls"), "(q | (s & tls))");
        assert_eq!(tree("~q & ~s | ~tls"), "((q & s) | tls)");
        assert_eq!(tree("!~q & ~s"), "(!q & s)");
        assert_eq!(tree("!(~q | ~s)"), "!(q | s)");
        assert_eq!(tree("~q ~s | ~tls ~err"), "((q & s) | (tls & err))");
        assert_eq!(tree("!!~q"), "!!q");
        assert_eq!(tree("((~q))"), "q");
        assert_eq!(tree("~m GET foo"), "(m:GET & u:foo)");
        assert_eq!(tree("a|b"), "(u:a | u:b)");
    }

    #[test]
    fn every_operator_parses() {
        let cases = [
            ("~all", "all"),
            ("~m post", "m:post"),
            ("~u oauth", "u:oauth"),
            ("~d contoso", "d:contoso"),
            ("~c 404", "c:404-404"),
            ("~c 4xx", "c:400-499"),
            ("~c 40x", "c:400-409"),
            ("~h ntlm", "hEither:ntlm"),
            ("~hq ntlm", "hRequest:ntlm"),
            ("~hs ntlm", "hResponse:ntlm"),
            ("~b x", "bEither:x"),
            ("~bq x", "bRequest:x"),
            ("~bs x", "bResponse:x"),
            ("~t json", "tEither:json"),
            ("~tq json", "tRequest:json"),
            ("~ts json", "tResponse:json"),
            ("~q", "q"),
            ("~s", "s"),
            ("~stage ad-user", "stage:Exact(\"ad-user\")"),
            ("~outcome FAIL", "outcome:fail"),
            ("~err", "err"),
            ("~e", "err"),
            ("~conn 3", "conn:Id(3)"),
            ("~conn :41003", "conn:Port(41003)"),
            ("~tls", "tls"),
            ("~auth NTLM", "auth:Exact(\"NTLM\")"),
            ("~marked", "marked"),
            ("~comment loop", "comment:loop"),
            ("~src 10\\.50", "src:10\\.50"),
            ("~dst :443", "dst::443"),
            ("dur>500ms", "Dur Gt 500000000"),
            ("ttfb <= 1.5s", "Ttfb Le 1500000000"),
            ("size>1MB", "Size Gt 1000000"),
            ("size>=2KiB", "Size Ge 2048"),
            ("reqsize!=0", "ReqSize Ne 0"),
            ("status>=400", "Status Ge 400"),
            ("status==204", "Status Eq 204"),
            ("time<2", "Time Lt 2000000000"),
            ("dur>20", "Dur Gt 20000000"),
            ("\"a b\"", "u:a b"),
            ("'x\\'y'", "u:x'y"),
        ];
        for (text, want) in cases {
            let got = tree(text).replace(['(', ')'], "");
            let want = want.replace(['(', ')'], "");
            let got_norm = got.replace(' ', "");
            let want_norm = want.replace(' ', "");
            assert_eq!(got_norm, want_norm, "{text}");
        }
        // ~stage with regex characters is a regex.
        assert!(tree("~stage ^ad-user").contains("Regex"));
        // Every operator in the table is reachable.
        for (name, kind) in OPERATORS {
            let text = match kind {
                ArgKind::None => format!("~{name}"),
                ArgKind::Code => format!("~{name} 200"),
                ArgKind::Outcome => format!("~{name} ok"),
                ArgKind::Conn => format!("~{name} 1"),
                _ => format!("~{name} x"),
            };
            assert!(parse(&text).is_ok(), "{text}");
        }
    }

    #[test]
    fn operator_names_are_case_insensitive_and_may_touch_args() {
        assert_eq!(tree("~C 404"), "c:404-404");
        assert_eq!(tree("~c404"), "c:404-404");
    }

    #[test]
    fn bare_word_that_is_no_regex_is_plain_text() {
        assert_eq!(tree("?sipuri=alice"), "u:\\?sipuri=alice");
        // A field name not followed by an operator is a bare word.
        assert_eq!(tree("time"), "u:time");
        assert_eq!(tree("~u size"), "u:size");
    }

    #[test]
    fn errors_name_problem_and_position() {
        let e = err("~zz");
        assert_eq!(
            (e.message.as_str(), e.position),
            ("unknown operator ~zz", 0)
        );
        let e = err("~q & ~c");
        assert_eq!(e.position, 5);
        assert!(e.message.starts_with("~c needs a number"), "{e}");
        let e = err("~c abc");
        assert_eq!(e.position, 3);
        assert!(e.message.starts_with("~c needs a number"));
        let e = err("~q & (~s | ~tls");
        assert_eq!(
            (e.message.as_str(), e.position),
            ("unclosed parenthesis", 5)
        );
        let e = err("~u (a");
        assert!(e.message.starts_with("~u needs a regex"), "{e}");
        let e = err("~u \"(a\"");
        assert!(e.message.starts_with("bad regex: "), "{e}");
        assert_eq!(e.position, 3);
        let e = err("~q )");
        assert_eq!(e.position, 3);
        assert!(e.message.contains("unexpected )"));
        let e = err("~q &");
        assert_eq!(
            (e.message.as_str(), e.position),
            ("missing term after &", 3)
        );
        let e = err("| ~q");
        assert_eq!(e.position, 0);
        let e = err("!");
        assert_eq!(e.message, "missing term after !");
        let e = err("~");
        assert_eq!(e.position, 0);
        let e = err("dur>fast");
        assert_eq!(e.position, 4);
        assert!(e.message.starts_with("dur needs a duration"), "{e}");
        let e = err("size >");
        assert!(e.message.starts_with("size needs a size"), "{e}");
        let e = err("szie>1MB");
        assert!(e.message.starts_with("unknown field szie"), "{e}");
        let e = err("~outcome great");
        assert!(e.message.starts_with("unknown outcome great"), "{e}");
        let e = err("~conn x");
        assert_eq!(e.position, 6);
        let e = err("\"abc");
        assert_eq!((e.message.as_str(), e.position), ("unclosed quote", 0));
        let e = err("()");
        assert_eq!(e.message, "empty parentheses");
        let e = err("status>4xx");
        assert!(e.message.starts_with("status needs a number"));
        let e = err(&"(".repeat(200));
        assert_eq!(e.message, "nested too deeply");
        assert!(err(&"!".repeat(10_000)).message.contains("deeply"));
    }

    #[test]
    fn values_and_units() {
        assert_eq!(parse_value(Field::Dur, "250us"), Some(250e3));
        assert_eq!(parse_value(Field::Dur, "2S"), Some(2e9));
        assert_eq!(parse_value(Field::Size, "1kb"), Some(1e3));
        assert_eq!(parse_value(Field::Size, "1MiB"), Some(1048576.0));
        assert_eq!(parse_value(Field::Size, "3GB"), Some(3e9));
        assert_eq!(parse_value(Field::Size, "3xb"), None);
        assert_eq!(parse_value(Field::Status, "."), None);
        assert_eq!(parse_value(Field::Status, ""), None);
        assert_eq!(status_pattern("5XX"), Some((500, 599)));
        assert_eq!(status_pattern("x00"), None);
        assert_eq!(status_pattern("4x4"), None);
        assert_eq!(status_pattern("1000"), None);
    }
}
