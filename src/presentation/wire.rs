//! Small exports of one exchange: a `curl` command that repeats the request, and the raw
//! request / response as HTTP/1.x text.

use crate::model::{Analysis, Body, Exchange, Headers, Request, Response, Scheme};

/// Headers that describe one hop (RFC 9110 §7.6.1) or the framing curl recomputes: a replayed
/// request must not carry them.
const NOT_REPLAYED: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

/// Quotes a word for a POSIX shell: bare when it is plainly safe, else in single quotes.
pub fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'_' | b'.' | b'/' | b':' | b'@' | b',' | b'=' | b'+'
                )
        });
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The authority ("host[:port]") a request went to: its Host header, else the TLS SNI, else
/// the server address.
fn authority(a: &Analysis, x: &Exchange) -> String {
    let req_host = x.request.as_ref().and_then(|r| r.host()).map(str::trim);
    if let Some(h) = req_host.filter(|h| !h.is_empty()) {
        return h.to_string();
    }
    if let Some(t) = a.tunnel_target(x) {
        return t.to_string();
    }
    let conn = a.connections.get(x.connection.0 as usize);
    let default_port = match x.scheme {
        Scheme::Http => 80,
        Scheme::Https => 443,
    };
    if let Some(c) = conn {
        let port = c.server.port();
        let port_part = if port == default_port {
            String::new()
        } else {
            format!(":{port}")
        };
        if let Some(sni) = c.tls.as_ref().and_then(|t| t.sni.as_deref()) {
            return format!("{sni}{port_part}");
        }
        return match c.server.ip() {
            std::net::IpAddr::V6(ip) => format!("[{ip}]{port_part}"),
            ip => format!("{ip}{port_part}"),
        };
    }
    "localhost".into()
}

/// The absolute URL of a request: as sent when in absolute-form, else scheme + authority +
/// target.
pub fn request_url(a: &Analysis, x: &Exchange) -> Option<String> {
    let r = x.request.as_ref()?;
    let lower = r.target.get(..8).unwrap_or(&r.target).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Some(r.target.clone());
    }
    let host = authority(a, x);
    if r.method.eq_ignore_ascii_case("CONNECT") {
        return Some(format!("{}://{}/", x.scheme.as_str(), r.target));
    }
    let path = if r.target.starts_with('/') {
        r.target.clone()
    } else if r.target == "*" {
        String::new()
    } else {
        format!("/{}", r.target)
    };
    Some(format!("{}://{host}{path}", x.scheme.as_str()))
}

/// Text that reads back as the same bytes: valid UTF-8 with no control characters a shell
/// argument would mangle (NUL) or a reader would miss.
fn printable(bytes: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(bytes).ok()?;
    let ok = s
        .chars()
        .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'));
    ok.then_some(s)
}

/// A `curl` command that sends the same request again: method, URL, the end-to-end headers
/// as sent (Host comes from the URL), the body. Notes about what could not be put on the
/// command line come first as `#` comment lines.
pub fn curl_command(a: &Analysis, x: &Exchange) -> String {
    let Some(r) = x.request.as_ref() else {
        return format!(
            "# exchange #{} has no request in the capture: nothing to repeat\n",
            x.id.0
        );
    };
    let url = request_url(a, x).unwrap_or_default();
    let mut notes: Vec<String> = Vec::new();
    let mut args: Vec<String> = vec!["curl".into()];
    if r.version == "HTTP/1.0" {
        args.push("--http1.0".into());
    }
    let body = request_body_arg(&r.body, r.headers.get("content-encoding"), &mut notes);
    let method = &*r.method;
    match (method, body.is_some()) {
        ("GET", false) => {}
        ("POST", true) => {}
        ("HEAD", false) => args.push("--head".into()),
        _ => {
            args.push("-X".into());
            args.push(shell_quote(method));
        }
    }
    let url_index = args.len();
    args.push(shell_quote(&url));
    // With absolute-form the URL may name another host than the Host header: keep it then.
    let url_authority = url
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""))
        .unwrap_or("");
    let mut compressed = false;
    for (name, value) in r.headers.iter() {
        let lower = name.to_ascii_lowercase();
        if NOT_REPLAYED.contains(&lower.as_str()) {
            continue;
        }
        if lower == "host" && value.trim().eq_ignore_ascii_case(url_authority) {
            continue;
        }
        if lower == "accept-encoding" {
            compressed = true;
        }
        args.push("-H".into());
        // curl drops a header given as "Name:" with nothing after; "Name;" sends it empty.
        let h = if value.is_empty() {
            format!("{name};")
        } else {
            format!("{name}: {value}")
        };
        args.push(shell_quote(&h));
    }
    if compressed {
        args.push("--compressed".into());
    }
    if let Some(b) = body {
        args.push("--data-binary".into());
        args.push(b);
    }
    let mut out = String::new();
    for n in notes {
        out.push_str("# ");
        out.push_str(&n);
        out.push('\n');
    }
    // Method and URL on the first line, then one header or option per line.
    let mut line = String::new();
    let mut i = 0;
    while i < args.len() {
        let takes_value = matches!(args[i].as_str(), "-X" | "-H" | "--data-binary");
        let mut piece = args[i].clone();
        if takes_value {
            if let Some(v) = args.get(i + 1) {
                piece.push(' ');
                piece.push_str(v);
                i += 1;
            }
        }
        let on_first_line = i <= url_index;
        i += 1;
        if line.is_empty() {
            line.push_str(&piece);
        } else if on_first_line {
            line.push(' ');
            line.push_str(&piece);
        } else {
            line.push_str(" \\\n  ");
            line.push_str(&piece);
        }
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// The `--data-binary` argument for a request body, or `None` when there is no body to send.
fn request_body_arg(
    body: &Body,
    content_encoding: Option<&str>,
    notes: &mut Vec<String>,
) -> Option<String> {
    if body.wire_length == 0 && body.kept.as_deref().is_none_or(|b| b.is_empty()) {
        return None;
    }
    // What went on the wire is what to send again; for an unencoded body both are the same.
    let encoded = content_encoding.is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity"));
    let bytes = if encoded {
        body.wire_kept.as_deref()
    } else {
        body.kept.as_deref().or(body.wire_kept.as_deref())
    };
    let Some(bytes) = bytes else {
        notes.push(format!(
            "the request body ({} bytes) was not kept in this analysis: add it with --data-binary @body.bin",
            body.wire_length
        ));
        return Some("@body.bin".into());
    };
    match printable(bytes).filter(|_| !encoded) {
        Some(text) => {
            if !body.complete {
                notes.push("the request body was cut in the capture: this is its beginning".into());
            }
            Some(shell_quote(text))
        }
        None => {
            notes.push(format!(
                "the request body is binary ({} bytes{}): save it as body.bin first",
                bytes.len(),
                if encoded { ", content-encoded" } else { "" }
            ));
            Some("@body.bin".into())
        }
    }
}

fn push_headers(out: &mut String, headers: &Headers) {
    for (n, v) in headers.iter() {
        out.push_str(n);
        out.push_str(": ");
        out.push_str(v);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
}

/// The request line and headers as HTTP/1.x text, up to and including the blank line.
pub fn request_head(r: &Request) -> String {
    let mut out = format!("{} {} {}\r\n", r.method, r.target, r.version);
    push_headers(&mut out, &r.headers);
    out
}

/// The status line and headers as HTTP/1.x text, up to and including the blank line.
pub fn response_head(r: &Response) -> String {
    let mut out = if r.reason.is_empty() {
        format!("{} {}\r\n", r.version, r.status)
    } else {
        format!("{} {} {}\r\n", r.version, r.status, r.reason)
    };
    push_headers(&mut out, &r.headers);
    out
}

/// A head followed by the kept (decoded) body.
fn with_body(head: String, body: &Body) -> Vec<u8> {
    let mut out = head.into_bytes();
    if let Some(b) = body.kept.as_deref() {
        out.extend_from_slice(b);
    }
    out
}

/// The request as HTTP/1.x text: request line, headers as sent, a blank line, and the
/// decoded body when it was kept. The body is the de-chunked, decoded one, so with
/// `Transfer-Encoding: chunked` or a `Content-Encoding` the headers describe the wire form,
/// not these bytes. Empty when the capture holds no request.
pub fn raw_request(x: &Exchange) -> Vec<u8> {
    x.request
        .as_ref()
        .map_or_else(Vec::new, |r| with_body(request_head(r), &r.body))
}

/// The response as HTTP/1.x text, like [`raw_request`]. Empty when no response was seen.
pub fn raw_response(x: &Exchange) -> Vec<u8> {
    x.response
        .as_ref()
        .map_or_else(Vec::new, |r| with_body(response_head(r), &r.body))
}

/// Request line and headers, as text: the HTTP head with plain line ends, no blank line.
pub fn request_head_text(r: &crate::model::Request) -> String {
    plain_lines(&request_head(r))
}

/// Status line and headers, as text (interim 1xx statuses first).
pub fn response_head_text(r: &crate::model::Response) -> String {
    let mut s = String::new();
    for i in &r.interim_statuses {
        s.push_str(&format!("{} {i} (interim)\n", r.version));
    }
    s.push_str(&plain_lines(&response_head(r)));
    s
}

fn plain_lines(wire_head: &str) -> String {
    let mut s = wire_head.trim_end_matches("\r\n").replace("\r\n", "\n");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CaptureState, ConnId, ExchId};

    fn exchange(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Exchange {
        let body = Body {
            wire_length: body.len() as u64,
            complete: true,
            content: crate::model::BodyContent {
                kept: (!body.is_empty()).then(|| std::sync::Arc::from(body)),
                ..Default::default()
            }
            .shared(),
            ..Default::default()
        };
        Exchange {
            id: ExchId(0),
            connection: ConnId(0),
            scheme: Scheme::Https,
            http_version: crate::model::HttpVersion::Http1,
            stream: None,
            capture: CaptureState::Full,
            request: Some(Box::new(Request {
                method: crate::model::token(method),
                target: target.into(),
                version: "HTTP/1.1".into(),
                headers: Headers::from_pairs(headers.iter().copied()),
                body,
            })),
            response: Some(Box::new(Response {
                version: "HTTP/1.1".into(),
                status: 404,
                reason: "Not Found".into(),
                headers: Headers::from_pairs([("Content-Length", "0")]),
                interim_statuses: vec![],
                body: Body::default(),
            })),
            timing: Default::default(),
            upgrade: None,
            annotations: None,
            stage: None,
            auth: None,
            tunnel: None,
        }
    }

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(shell_quote("abc"), "abc");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b;$(x)"), "'a b;$(x)'");
    }

    #[test]
    fn curl_keeps_end_to_end_headers_and_body() {
        let x = exchange(
            "POST",
            "/WebTicket/oauthtoken",
            &[
                ("Host", "webext-pool1.contoso.com"),
                ("Connection", "keep-alive"),
                ("Content-Length", "35"),
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Accept-Encoding", "gzip"),
                ("X-Quote", "a'b"),
            ],
            b"grant_type=urn:microsoft.rtc:windows",
        );
        let c = curl_command(&Analysis::default(), &x);
        assert!(c.starts_with("curl https://webext-pool1.contoso.com/WebTicket/oauthtoken"));
        assert!(!c.contains("Connection"));
        assert!(!c.contains("Content-Length"));
        assert!(!c.contains("-X"));
        assert!(c.contains("-H 'Content-Type: application/x-www-form-urlencoded'"));
        assert!(c.contains("-H 'X-Quote: a'\\''b'"));
        assert!(c.contains("--compressed"));
        assert!(c.contains("--data-binary grant_type=urn:microsoft.rtc:windows"));
    }

    #[test]
    fn binary_and_missing_bodies_become_notes() {
        let x = exchange("PUT", "/x", &[("Host", "h")], b"\x00\x01\x02");
        let c = curl_command(&Analysis::default(), &x);
        assert!(c.starts_with("# the request body is binary (3 bytes)"));
        assert!(c.contains("-X PUT"));
        assert!(c.contains("--data-binary @body.bin"));
        let mut y = exchange("POST", "/y", &[("Host", "h")], b"");
        if let Some(r) = y.request.as_mut() {
            r.body.wire_length = 10;
        }
        let c = curl_command(&Analysis::default(), &y);
        assert!(c.contains("was not kept"), "{c}");
    }

    #[test]
    fn raw_messages() {
        let x = exchange("GET", "/a?b=c", &[("Host", "h"), ("Accept", "*/*")], b"");
        assert_eq!(
            raw_request(&x),
            b"GET /a?b=c HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n".to_vec()
        );
        assert_eq!(
            raw_response(&x),
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec()
        );
    }
}
