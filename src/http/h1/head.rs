//! HTTP/1.x message heads (via httparse, lenient): start line, fields, what they say about
//! the body's framing.

use crate::http::decode::list_elements;
use crate::model::Headers;
use std::borrow::Cow;
use std::mem::MaybeUninit;

/// Header-array size tried first; a bigger one is sized from the head's line count.
const HEADERS_FIRST_TRY: usize = 128;

/// What a head says about its body and the connection.
#[derive(Debug)]
pub(crate) struct FramingInfo {
    /// Transfer-Encoding present at all.
    pub te_present: bool,
    /// Its final coding is chunked.
    pub chunked: bool,
    /// Content-Length: `Ok(None)` when absent, `Err` text when invalid or conflicting.
    pub content_length: Result<Option<u64>, String>,
    /// Content-Encoding codings, lower-case, in the order applied.
    pub codings: Vec<String>,
    pub upgrade: Option<String>,
}

#[derive(Debug)]
pub(crate) struct RequestHead {
    pub method: String,
    pub target: String,
    pub version: String,
    pub headers: Headers,
    pub framing: FramingInfo,
    /// The request line as sent, when it was malformed (no target or no valid version).
    pub malformed_line: Option<String>,
}

#[derive(Debug)]
pub(crate) struct ResponseHead {
    pub version: String,
    pub status: u16,
    pub reason: String,
    pub headers: Headers,
    pub framing: FramingInfo,
}

fn config() -> httparse::ParserConfig {
    let mut c = httparse::ParserConfig::default();
    c.allow_spaces_after_header_name_in_responses(true)
        .allow_multiple_spaces_in_request_line_delimiters(true)
        .allow_multiple_spaces_in_response_status_delimiters(true)
        .allow_obsolete_multiline_headers_in_responses(true)
        .allow_space_before_first_header_name(true)
        .ignore_invalid_headers_in_requests(true)
        .ignore_invalid_headers_in_responses(true);
    c
}

fn version_text(minor: Option<u8>) -> String {
    match minor {
        Some(0) => "HTTP/1.0".to_string(),
        _ => "HTTP/1.1".to_string(),
    }
}

/// Upper bound on the header fields in `head`: one per line.
fn line_count(head: &[u8]) -> usize {
    head.iter().filter(|&&b| b == b'\n').count() + 1
}

fn build_headers(raw: &[httparse::Header<'_>]) -> Headers {
    let values: Vec<Cow<'_, str>> = raw
        .iter()
        .map(|h| String::from_utf8_lossy(h.value))
        .collect();
    Headers::from_pairs(
        raw.iter()
            .zip(values.iter())
            .map(|(h, v)| (h.name, v.as_ref())),
    )
}

fn describe(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status line",
        httparse::Error::Token => "invalid request line",
        httparse::Error::TooManyHeaders => "too many headers",
        httparse::Error::Version => "invalid HTTP version",
    }
}

/// A copy of `head` with NUL and lone CR bytes (which httparse always rejects) turned into
/// 0x80, an obs-text byte: the field then survives and reads as U+FFFD.
fn defanged(head: &[u8]) -> Option<Vec<u8>> {
    let lone_cr = |i: usize| head[i] == b'\r' && head.get(i + 1) != Some(&b'\n');
    if !(0..head.len()).any(|i| head[i] == 0 || lone_cr(i)) {
        return None;
    }
    Some(
        (0..head.len())
            .map(|i| {
                if head[i] == 0 || lone_cr(i) {
                    0x80
                } else {
                    head[i]
                }
            })
            .collect(),
    )
}

/// Parses a complete request head (through its empty line).
pub(crate) fn parse_request(head: &[u8]) -> Result<RequestHead, String> {
    match parse_request_raw(head) {
        Err(e) => match defanged(head) {
            Some(clean) => parse_request_raw(&clean).map_err(|_| e),
            None => Err(e),
        },
        ok => ok,
    }
}

/// Parses a complete response head (through its empty line).
pub(crate) fn parse_response(head: &[u8]) -> Result<ResponseHead, String> {
    match parse_response_raw(head) {
        Err(e) => match defanged(head) {
            Some(clean) => parse_response_raw(&clean).map_err(|_| e),
            None => Err(e),
        },
        ok => ok,
    }
}

fn parse_request_raw(head: &[u8]) -> Result<RequestHead, String> {
    let cfg = config();
    // Uninitialised slots: the parser writes only what it uses (no 4 KiB memset per head).
    let mut small = [const { MaybeUninit::uninit() }; HEADERS_FIRST_TRY];
    let mut req = httparse::Request::new(&mut []);
    match cfg.parse_request_with_uninit_headers(&mut req, head, &mut small) {
        Ok(httparse::Status::Complete(_)) => return Ok(request_from(&req)),
        Ok(httparse::Status::Partial) => return Err("request head ends early".to_string()),
        Err(httparse::Error::TooManyHeaders) => {}
        Err(httparse::Error::Token | httparse::Error::Version) => return parse_odd_request(head),
        Err(e) => return Err(describe(e).to_string()),
    }
    let mut big = vec![MaybeUninit::uninit(); line_count(head)];
    let mut req = httparse::Request::new(&mut []);
    match cfg.parse_request_with_uninit_headers(&mut req, head, &mut big) {
        Ok(httparse::Status::Complete(_)) => Ok(request_from(&req)),
        Ok(httparse::Status::Partial) => Err("request head ends early".to_string()),
        Err(e) => Err(describe(e).to_string()),
    }
}

/// A request line httparse rejects (raw non-ASCII bytes in the target, no or a broken
/// version, no target): parse the line by hand, then let httparse read the fields behind a
/// stand-in request line. Only the method must be a token.
fn parse_odd_request(head: &[u8]) -> Result<RequestHead, String> {
    let start = head
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(head.len());
    let head = &head[start..];
    let line_end = head
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("request line without end")?;
    let line = head[..line_end]
        .strip_suffix(b"\r")
        .unwrap_or(&head[..line_end]);
    let method_end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    let method = &line[..method_end];
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Err("invalid request line".to_string());
    }
    let rest = trim_spaces(&line[method_end..]);
    // A version is only taken from a second word: "OPTIONS HTTP/1.1" has target "HTTP/1.1".
    let (target, version) = match rest.iter().rposition(|&b| b == b' ') {
        Some(p) if rest[p + 1..].starts_with(b"HTTP/") => {
            (trim_spaces(&rest[..p]), Some(&rest[p + 1..]))
        }
        _ => (rest, None),
    };
    let minor = match version {
        Some(b"HTTP/1.0") => Some(0),
        Some(b"HTTP/1.1") => Some(1),
        _ => None,
    };
    let mut stand_in = Vec::with_capacity(head.len());
    stand_in.extend_from_slice(b"GET / HTTP/1.1\r\n");
    stand_in.extend_from_slice(&head[line_end + 1..]);
    let mut parsed = parse_request_raw(&stand_in)?;
    parsed.method = String::from_utf8_lossy(method).into_owned();
    parsed.target = String::from_utf8_lossy(target).into_owned();
    parsed.version = version_text(Some(minor.unwrap_or(1)));
    if minor.is_none() || target.is_empty() {
        parsed.malformed_line = Some(String::from_utf8_lossy(line).into_owned());
    }
    Ok(parsed)
}

/// A line that is no proper request line but, where a request is due, reads as one: an
/// upper-case method token alone or followed by a space (tshark's reading of such lines).
pub(crate) fn lenient_request_line(line: &[u8]) -> bool {
    let Some(line) = line.strip_suffix(b"\n") else {
        return false;
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let method_end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    let method = &line[..method_end];
    (1..=32).contains(&method.len())
        && method.iter().any(u8::is_ascii_uppercase)
        && method
            .iter()
            .all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && !line.iter().any(|&b| b < b' ' && b != b'\t')
}

fn trim_spaces(s: &[u8]) -> &[u8] {
    let a = s.iter().position(|&b| b != b' ').unwrap_or(s.len());
    let z = s.iter().rposition(|&b| b != b' ').map_or(a, |p| p + 1);
    s.get(a..z).unwrap_or_default()
}

fn request_from(req: &httparse::Request<'_, '_>) -> RequestHead {
    let headers = build_headers(req.headers);
    let framing = framing_info(&headers);
    RequestHead {
        method: req.method.unwrap_or_default().to_string(),
        target: req.path.unwrap_or_default().to_string(),
        version: version_text(req.version),
        headers,
        framing,
        malformed_line: None,
    }
}

fn parse_response_raw(head: &[u8]) -> Result<ResponseHead, String> {
    let cfg = config();
    let mut small = [const { MaybeUninit::uninit() }; HEADERS_FIRST_TRY];
    let mut resp = httparse::Response::new(&mut []);
    match cfg.parse_response_with_uninit_headers(&mut resp, head, &mut small) {
        Ok(httparse::Status::Complete(_)) => return Ok(response_from(&resp)),
        Ok(httparse::Status::Partial) => return Err("response head ends early".to_string()),
        Err(httparse::Error::TooManyHeaders) => {}
        Err(e) => return Err(describe(e).to_string()),
    }
    let mut big = vec![MaybeUninit::uninit(); line_count(head)];
    let mut resp = httparse::Response::new(&mut []);
    match cfg.parse_response_with_uninit_headers(&mut resp, head, &mut big) {
        Ok(httparse::Status::Complete(_)) => Ok(response_from(&resp)),
        Ok(httparse::Status::Partial) => Err("response head ends early".to_string()),
        Err(e) => Err(describe(e).to_string()),
    }
}

fn response_from(resp: &httparse::Response<'_, '_>) -> ResponseHead {
    let headers = build_headers(resp.headers);
    let framing = framing_info(&headers);
    ResponseHead {
        version: version_text(resp.version),
        status: resp.code.unwrap_or_default(),
        reason: resp.reason.unwrap_or_default().to_string(),
        headers,
        framing,
    }
}

/// The header fields that frame a message, found in one pass over them (a pass per field was
/// a noticeable share of parsing a head).
fn framing_info(headers: &Headers) -> FramingInfo {
    let mut te_present = false;
    let mut last_te: Option<&str> = None;
    let mut found = Ok(None);
    let mut codings = Vec::new();
    let mut upgrade = None;
    for (name, value) in headers.iter() {
        if name.eq_ignore_ascii_case("transfer-encoding") {
            te_present = true;
            last_te = list_elements(value).next_back().or(last_te);
        } else if name.eq_ignore_ascii_case("content-length") {
            if let Ok(prev) = found {
                found = content_length_field(prev, value);
            }
        } else if name.eq_ignore_ascii_case("content-encoding") {
            codings.extend(list_elements(value).map(str::to_ascii_lowercase));
        } else if upgrade.is_none() && name.eq_ignore_ascii_case("upgrade") {
            upgrade = Some(value.trim_matches([' ', '\t']).to_string());
        }
    }
    FramingInfo {
        te_present,
        chunked: last_te.is_some_and(|c| c.eq_ignore_ascii_case("chunked")),
        content_length: found,
        codings,
        upgrade,
    }
}

/// RFC 9110 §8.6 for one Content-Length field `raw` after the value `found` so far: digits
/// only; a list of identical values is tolerated, differing ones are an error.
fn content_length_field(found: Option<u64>, raw: &str) -> Result<Option<u64>, String> {
    let mut found = found;
    for part in raw.split(',') {
        let part = part.trim_matches([' ', '\t']);
        let ok = !part.is_empty() && part.len() <= 19 && part.bytes().all(|b| b.is_ascii_digit());
        let n: u64 = match part.parse() {
            Ok(n) if ok => n,
            _ => return Err(format!("invalid Content-Length \"{}\"", raw.trim())),
        };
        match found {
            Some(prev) if prev != n => {
                return Err(format!("conflicting Content-Length values {prev} and {n}"))
            }
            _ => found = Some(n),
        }
    }
    Ok(found)
}

pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every Content-Length field of `headers`, in order.
    fn content_length(headers: &Headers) -> Result<Option<u64>, String> {
        headers
            .get_all("content-length")
            .try_fold(None, content_length_field)
    }

    /// RFC 9112 §6.1 (the final transfer coding decides chunked), RFC 9110 §8.4 (content
    /// codings in the order applied, across fields), §8.6 (Content-Length), §7.8 (Upgrade).
    #[test]
    fn framing_fields_across_repeated_headers() {
        let f = |pairs: &[(&str, &str)]| framing_info(&Headers::from_pairs(pairs.iter().copied()));
        let x = f(&[("Transfer-Encoding", "gzip, chunked")]);
        assert!(x.te_present && x.chunked);
        let x = f(&[
            ("transfer-encoding", "chunked"),
            ("Transfer-Encoding", "gzip"),
        ]);
        assert!(x.te_present && !x.chunked);
        let x = f(&[("Transfer-Encoding", "chunked , ")]);
        assert!(x.chunked, "empty list elements are ignored");
        assert!(!f(&[("Transfer-Encoding", "")]).chunked);
        assert!(f(&[("Transfer-Encoding", "")]).te_present);
        let x = f(&[("Content-Encoding", "gzip"), ("content-encoding", " BR ,")]);
        assert_eq!(x.codings, ["gzip", "br"]);
        let x = f(&[("Upgrade", " h2c "), ("Upgrade", "websocket")]);
        assert_eq!(x.upgrade.as_deref(), Some("h2c"));
        let x = f(&[
            ("Content-Length", "5"),
            ("X", "y"),
            ("content-length", "5, 5"),
        ]);
        assert_eq!(x.content_length, Ok(Some(5)));
        let x = f(&[
            ("Content-Length", "5"),
            ("Content-Length", "6"),
            ("Content-Length", "x"),
        ]);
        assert!(x.content_length.unwrap_err().contains("conflicting"));
        let x = f(&[("Host", "a")]);
        assert!(!x.te_present && x.content_length == Ok(None) && x.codings.is_empty());
    }

    #[test]
    fn content_length_rules() {
        let h = |v: &[&str]| {
            let pairs: Vec<(&str, &str)> = v.iter().map(|x| ("Content-Length", *x)).collect();
            content_length(&Headers::from_pairs(pairs))
        };
        assert_eq!(h(&[]), Ok(None));
        assert_eq!(h(&["42"]), Ok(Some(42)));
        assert_eq!(h(&["42, 42"]), Ok(Some(42)));
        assert_eq!(h(&["42", "42"]), Ok(Some(42)));
        assert!(h(&["42", "43"]).is_err());
        assert!(h(&["-1"]).is_err());
        assert!(h(&["+5"]).is_err());
        assert!(h(&["99999999999999999999999"]).is_err());
    }

    #[test]
    fn request_with_raw_utf8_target_and_many_headers() {
        let mut head = b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n".to_vec();
        for i in 0..500 {
            head.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        let r = parse_request(&head).unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.target, "/café");
        assert_eq!(r.headers.len(), 501);
        assert_eq!(r.headers.get("x-499"), Some("v"));
    }

    #[test]
    fn response_lenient_forms() {
        let r =
            parse_response(b"HTTP/1.0  404  Not Found\r\nServer : x\r\nX-Fold: a\r\n b\r\n\r\n")
                .unwrap();
        assert_eq!(
            (r.status, r.reason.as_ref(), r.version.as_ref()),
            (404, "Not Found", "HTTP/1.0")
        );
        let r = parse_response(b"HTTP/1.1 200\n\n").unwrap();
        assert_eq!((r.status, r.reason.as_ref()), (200, ""));
    }
}
