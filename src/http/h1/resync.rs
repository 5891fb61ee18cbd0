//! Resynchronising an HTTP/1 stream whose message boundaries were lost (a capture that starts
//! mid-message, a gap that swallowed a boundary, a head cut by the snapshot length): the strict
//! tests a line must pass to be taken for a message start there, and what is left of a head
//! cut short.
//!
//! In step, a parser takes whatever comes next for a message (RFC 9112 §2.2 asks it to be
//! lenient). Out of step, the next bytes are as likely the middle of a body, and a body can hold
//! lines that look like HTTP (a proxy log, a trace, documentation), so only a line that is a
//! well-formed start line of RFC 9112 §3 / §4 with a method of the IANA registry is a candidate,
//! and its head must be made of field lines (§5) to be kept.

use super::head::is_tchar;

/// Methods a resynchronised request line may have: the IANA HTTP Method Registry (RFC 9110
/// §18.2 and the WebDAV / versioning RFCs it lists, QUERY), and the methods of HTTP-based
/// protocols seen in captures (GENA / UPnP, cache purges, MS RPC over HTTP).
const METHODS: &[&[u8]] = &[
    b"GET",
    b"HEAD",
    b"POST",
    b"PUT",
    b"DELETE",
    b"CONNECT",
    b"OPTIONS",
    b"TRACE",
    b"PATCH",
    b"QUERY",
    b"ACL",
    b"BASELINE-CONTROL",
    b"BIND",
    b"CHECKIN",
    b"CHECKOUT",
    b"COPY",
    b"LABEL",
    b"LINK",
    b"LOCK",
    b"MERGE",
    b"MKACTIVITY",
    b"MKCALENDAR",
    b"MKCOL",
    b"MKREDIRECTREF",
    b"MKWORKSPACE",
    b"MOVE",
    b"ORDERPATCH",
    b"PROPFIND",
    b"PROPPATCH",
    b"REBIND",
    b"REPORT",
    b"SEARCH",
    b"UNBIND",
    b"UNCHECKOUT",
    b"UNLINK",
    b"UNLOCK",
    b"UPDATE",
    b"UPDATEREDIRECTREF",
    b"VERSION-CONTROL",
    b"NOTIFY",
    b"SUBSCRIBE",
    b"UNSUBSCRIBE",
    b"PURGE",
    b"RPC_IN_DATA",
    b"RPC_OUT_DATA",
];

/// Does this (maybe partial) request line start with a registered method and a space?
pub(super) fn known_method(line: &[u8]) -> bool {
    line.iter()
        .position(|&b| b == b' ')
        .is_some_and(|p| METHODS.contains(&&line[..p]))
}

/// Can this start of a line still become a strict start line?
pub(super) fn could_start(d: usize, part: &[u8]) -> bool {
    if d == 1 {
        let n = part.len().min(7);
        return part[..n] == b"HTTP/1."[..n];
    }
    match part.iter().position(|&b| b == b' ') {
        Some(p) => METHODS.contains(&&part[..p]),
        None => METHODS.iter().any(|m| m.starts_with(part)),
    }
}

/// The line without its line ending, when it has one.
fn content(line: &[u8]) -> Option<&[u8]> {
    let line = line.strip_suffix(b"\n")?;
    Some(line.strip_suffix(b"\r").unwrap_or(line))
}

fn is_version(v: &[u8]) -> bool {
    v == b"HTTP/1.1" || v == b"HTTP/1.0"
}

/// `host:port` of a CONNECT request (RFC 9112 §3.2.3).
fn is_authority(t: &[u8]) -> bool {
    match t.iter().rposition(|&b| b == b':') {
        Some(p) => {
            let (host, port) = (&t[..p], &t[p + 1..]);
            !host.is_empty()
                && !port.is_empty()
                && port.len() <= 5
                && port.iter().all(u8::is_ascii_digit)
        }
        None => false,
    }
}

/// `scheme "://"` of an absolute-form target (RFC 3986 §3.1).
fn is_absolute(t: &[u8]) -> bool {
    let Some(p) = t.windows(3).position(|w| w == b"://") else {
        return false;
    };
    let scheme = &t[..p];
    scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
}

/// A complete line (with its line ending) that is a request line out of step: a registered
/// method, one space, a target in the form the method allows, one space, HTTP/1.0 or HTTP/1.1.
pub(super) fn strict_request_line(line: &[u8]) -> bool {
    let Some(line) = content(line) else {
        return false;
    };
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    if !METHODS.contains(&method) || !is_version(version) || target.is_empty() {
        return false;
    }
    // Raw bytes >= 0x80 occur in real targets; controls do not.
    if target.iter().any(|&b| b < b' ' || b == 0x7f) {
        return false;
    }
    match method {
        b"CONNECT" => is_authority(target),
        b"OPTIONS" if target == b"*" => true,
        _ => target.starts_with(b"/") || is_absolute(target),
    }
}

/// A complete line that is a status line out of step: HTTP/1.0 or HTTP/1.1, a status code of
/// 100..=599, and a reason phrase of text (or none).
pub(super) fn strict_status_line(line: &[u8]) -> bool {
    let Some(line) = content(line) else {
        return false;
    };
    let (Some(version), Some(code)) = (line.get(..8), line.get(9..12)) else {
        return false;
    };
    is_version(version)
        && line[8] == b' '
        && (b'1'..=b'5').contains(&code[0])
        && code.iter().all(u8::is_ascii_digit)
        && match line.get(12..) {
            None | Some([]) => true,
            Some([b' ', reason @ ..]) => reason.iter().all(|&b| b >= b' ' || b == b'\t'),
            Some(_) => false,
        }
}

/// Verdict on a candidate first line out of step, once the loose sniff said yes: undecided
/// until the line is complete.
pub(super) fn strict_start_line(d: usize, line: &[u8]) -> Option<bool> {
    if !line.ends_with(b"\n") {
        return None;
    }
    Some(if d == 0 {
        strict_request_line(line)
    } else {
        strict_status_line(line)
    })
}

/// A complete line of a head after the start line: a field line (token, colon) or the
/// continuation of one (obs-fold).
pub(super) fn field_line(line: &[u8]) -> bool {
    let Some(line) = content(line) else {
        return false;
    };
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return true;
    }
    match line.iter().position(|&b| b == b':') {
        Some(p) => p > 0 && line[..p].iter().all(|&b| is_tchar(b)),
        None => false,
    }
}

/// The empty line that ends a head.
pub(super) fn is_empty_line(line: &[u8]) -> bool {
    line == b"\n" || line == b"\r\n"
}

/// What is left of a head cut short, as a head the parser reads: the start line and the
/// complete field lines (a field cut in the middle is dropped), then the empty line. A start
/// line cut in the middle is kept when what survives names the message: a method and the start
/// of the target, or the version and status code. Returns the head and whether the start line
/// itself was cut.
pub(super) fn cut_head(d: usize, buf: &[u8]) -> Option<(Vec<u8>, bool)> {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let buf = &buf[start..];
    let mut head = match buf.iter().rposition(|&b| b == b'\n') {
        Some(p) => buf[..=p].to_vec(),
        None => return cut_start_line(d, buf).map(|h| (h, true)),
    };
    if !head.ends_with(b"\r\n") {
        head.pop();
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    Some((head, false))
}

fn cut_start_line(d: usize, part: &[u8]) -> Option<Vec<u8>> {
    if d == 1 {
        let (Some(version), Some(code)) = (part.get(..8), part.get(9..12)) else {
            return None;
        };
        if !version.starts_with(b"HTTP/1.") || part[8] != b' ' {
            return None;
        }
        let mut head = part[..12].to_vec();
        if !code.iter().all(u8::is_ascii_digit) {
            return None;
        }
        head.extend_from_slice(b"\r\n\r\n");
        return Some(head);
    }
    let m = part.iter().position(|&b| b == b' ')?;
    let (method, rest) = (&part[..m], &part[m + 1..]);
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return None;
    }
    let target_end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
    let target = &rest[..target_end];
    if target.is_empty() || target.iter().any(|&b| b < b' ' || b == 0x7f) {
        return None;
    }
    let mut head = Vec::with_capacity(part.len() + 16);
    head.extend_from_slice(method);
    head.push(b' ');
    head.extend_from_slice(target);
    head.extend_from_slice(b" HTTP/1.1\r\n\r\n");
    Some(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_out_of_step() {
        for ok in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"POST /api/uploads HTTP/1.0\n",
            b"GET http://example.test/a?b HTTP/1.1\r\n",
            b"CONNECT example.test:443 HTTP/1.1\r\n",
            b"OPTIONS * HTTP/1.1\r\n",
            b"RPC_IN_DATA /rpc/rpcproxy.dll?x:6001 HTTP/1.1\r\n",
        ] {
            assert!(strict_request_line(ok), "{}", String::from_utf8_lossy(ok));
        }
        for bad in [
            &b"GET / HTTP/1.1"[..],         // no line end yet
            b"get / HTTP/1.1\r\n",          // methods are case-sensitive
            b"FETCH / HTTP/1.1\r\n",        // not a registered method
            b"GET  / HTTP/1.1\r\n",         // two spaces
            b"GET index.html HTTP/1.1\r\n", // no form of target
            b"GET * HTTP/1.1\r\n",          // asterisk-form is OPTIONS only
            b"CONNECT /x HTTP/1.1\r\n",     // CONNECT takes host:port
            b"GET / HTTP/1.2\r\n",          // no such version
            b"GET / HTTP/1.1 trailing\r\n", // a fourth word
            b"PRI * HTTP/2.0\r\n",          // the HTTP/2 preface
            b"GET /a\x01b HTTP/1.1\r\n",    // a control in the target
        ] {
            assert!(
                !strict_request_line(bad),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn status_lines_out_of_step() {
        for ok in [
            &b"HTTP/1.1 200 OK\r\n"[..],
            b"HTTP/1.0 404 Not Found\n",
            b"HTTP/1.1 204\r\n",
            b"HTTP/1.1 599 \r\n",
        ] {
            assert!(strict_status_line(ok), "{}", String::from_utf8_lossy(ok));
        }
        for bad in [
            &b"HTTP/1.1 200 OK"[..],
            b"HTTP/1.1 600 Nope\r\n",
            b"HTTP/1.1 20 OK\r\n",
            b"HTTP/1.1 2000 OK\r\n",
            b"HTTP/2 200\r\n",
            b"HTTP/1.1  200 OK\r\n",
            b"HTTP/1.1 200 O\x00K\r\n",
        ] {
            assert!(!strict_status_line(bad), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn partial_lines_that_may_still_start_a_message() {
        assert!(could_start(0, b"PROP"));
        assert!(could_start(0, b"GET /a/b"));
        assert!(!could_start(0, b"....."));
        assert!(!could_start(0, b"GETX /a"));
        assert!(could_start(1, b"HTTP/1.1 20"));
        assert!(could_start(1, b"HT"));
        assert!(!could_start(1, b"HTTP/2 "));
    }

    #[test]
    fn field_lines() {
        assert!(field_line(b"Host: example.test\r\n"));
        assert!(field_line(b"X-Empty:\n"));
        assert!(field_line(b" folded continuation\r\n"));
        assert!(!field_line(b"just some prose\r\n"));
        assert!(!field_line(b": no name\r\n"));
        assert!(!field_line(b"Bad Name: x\r\n"));
        assert!(!field_line(b"Host: cut"));
        assert!(is_empty_line(b"\r\n") && is_empty_line(b"\n") && !is_empty_line(b" \r\n"));
    }

    #[test]
    fn heads_cut_short() {
        let (h, line_cut) = cut_head(
            0,
            b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 3100\r\nAuthoriz",
        )
        .unwrap();
        assert_eq!(
            h,
            b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 3100\r\n\r\n".to_vec()
        );
        assert!(!line_cut);
        let (h, line_cut) = cut_head(0, b"GET /a/very/long/tar").unwrap();
        assert_eq!(h, b"GET /a/very/long/tar HTTP/1.1\r\n\r\n".to_vec());
        assert!(line_cut);
        let (h, _) = cut_head(1, b"HTTP/1.1 201 Crea").unwrap();
        assert_eq!(h, b"HTTP/1.1 201\r\n\r\n".to_vec());
        assert_eq!(cut_head(1, b"HTTP/1.1 2"), None);
        assert_eq!(cut_head(0, b"GET "), None);
        let (h, _) = cut_head(1, b"HTTP/1.1 200 OK\nServer: x\nDa").unwrap();
        assert_eq!(h, b"HTTP/1.1 200 OK\nServer: x\r\n\r\n".to_vec());
    }
}
