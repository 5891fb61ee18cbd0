//! Fiddler Session Archive Zip (SAZ) writer, in Fiddler Classic's layout, so a decrypted
//! capture opens in Fiddler and an archive read in is written back with its timers and flags.

use crate::datetime::fiddler_time;
use crate::model::saz::{
    FLAG_IS_HTTPS, FLAG_IS_WEBSOCKET, FLAG_RESPONSE_GENERATED, H2_STREAM_FLAG, HTTP_VERSION_FLAG,
    MS_TIMERS, PSEUDO, TIMER_NAMES, UNSET_TIME,
};
use crate::model::{
    websocket_opcode, Analysis, Annotations, Connection, ExchId, Exchange, Headers, HttpVersion,
    Scheme, WebSocketMessage,
};
use std::io::{self, Seek, Write};

const CONTENT_TYPES: &str = "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\r\n<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\r\n<Default Extension=\"htm\" ContentType=\"text/html\" />\r\n<Default Extension=\"xml\" ContentType=\"application/xml\" />\r\n<Default Extension=\"txt\" ContentType=\"text/plain\" />\r\n</Types>";

fn xml_attr(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for ch in v.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#xD;"),
            '\n' => out.push_str("&#xA;"),
            '\t' => out.push_str("&#x9;"),
            // Not allowed in XML 1.0 at all.
            c if (c as u32) < 0x20 => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn html_text(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Head + wire body of one message. A chunked body is written de-chunked with a
/// Content-Length, since only the de-chunked bytes are kept.
fn message_bytes(
    start: &str,
    headers: &Headers,
    body: &crate::model::Body,
    what: &str,
    notes: &mut Vec<String>,
) -> Vec<u8> {
    let chunked = headers
        .get_all("transfer-encoding")
        .any(|v| v.to_ascii_lowercase().contains("chunked"));
    let empty: &[u8] = &[];
    let bytes: Option<&[u8]> = match &body.wire_kept {
        Some(w) => Some(w),
        None if body.wire_length == 0 && body.complete => Some(empty),
        None => None,
    };
    let mut out = Vec::with_capacity(256 + bytes.map_or(0, <[u8]>::len));
    out.extend_from_slice(start.as_bytes());
    out.extend_from_slice(b"\r\n");
    let rewrite = chunked && bytes.is_some();
    for (n, v) in headers.iter() {
        if rewrite
            && (n.eq_ignore_ascii_case("transfer-encoding")
                || n.eq_ignore_ascii_case("content-length"))
        {
            continue;
        }
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let (true, Some(b)) = (rewrite, bytes) {
        out.extend_from_slice(format!("Content-Length: {}\r\n", b.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    match bytes {
        Some(b) => out.extend_from_slice(b),
        None => notes.push(format!(
            "lyncscope: the {what} body ({} bytes) was not kept, only the head is saved",
            body.wire_length
        )),
    }
    out
}

/// An HTTP/2 head as the HTTP/1.1 head Fiddler Classic records for the same request (it
/// speaks HTTP/1.1 to both sides, docs/archives.md): the pseudo-header fields go (the
/// request line and status line carry them), `:authority` becomes `Host` when there is none,
/// and a body gets a `Content-Length` when it has none (HTTP/2 frames delimit it; HTTP/1.1
/// needs the length).
fn h1_headers(headers: &Headers, body_len: Option<usize>) -> Headers {
    let mut out: Vec<(&str, String)> = Vec::with_capacity(headers.len() + 2);
    if headers.get("host").is_none() {
        if let Some(a) = headers.get(":authority") {
            out.push(("Host", a.to_string()));
        }
    }
    for (n, v) in headers.iter().filter(|(n, _)| !n.starts_with(':')) {
        out.push((n, v.to_string()));
    }
    let delimited =
        headers.get("content-length").is_some() || headers.get("transfer-encoding").is_some();
    if let (false, Some(n)) = (delimited, body_len.filter(|n| *n > 0)) {
        out.push(("Content-Length", n.to_string()));
    }
    Headers::from_pairs(out.iter().map(|(n, v)| (*n, v.as_str())))
}

/// The reason phrase of a status (RFC 9110 section 15), for the HTTP/1.1 status line of an
/// HTTP/2 response, which has none.
fn standard_reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

fn interim_reason(code: u16) -> &'static str {
    match code {
        100 => "Continue",
        102 => "Processing",
        103 => "Early Hints",
        _ => "Informational",
    }
}

fn ws_frame(m: &WebSocketMessage) -> Vec<u8> {
    let opcode = websocket_opcode(&m.kind);
    let mask = if m.from_client { 0x80 } else { 0 };
    let len = m.payload.len();
    let mut f = vec![0x80 | (opcode & 0x0f)];
    if len < 126 {
        f.push(mask | len as u8);
    } else if let Ok(l) = u16::try_from(len) {
        f.push(mask | 126);
        f.extend_from_slice(&l.to_be_bytes());
    } else {
        f.push(mask | 127);
        f.extend_from_slice(&(len as u64).to_be_bytes());
    }
    if m.from_client {
        // Clients must mask; an all-zero key leaves the payload readable as is.
        f.extend_from_slice(&[0, 0, 0, 0]);
    }
    f.extend_from_slice(&m.payload);
    f
}

fn ws_file(msgs: &[WebSocketMessage]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, m) in msgs.iter().enumerate() {
        let frame = ws_frame(m);
        let ts = m.ts.map_or_else(|| UNSET_TIME.to_string(), fiddler_time);
        let dir = if m.from_client { "Request" } else { "Response" };
        out.extend_from_slice(
            format!(
                "\r\n{dir}-Length: {}\r\nID: {}\r\nBitFlags: 0\r\nDoneRead: {ts}\r\nBeginSend: {ts}\r\nDoneSend: {ts}\r\n\r\n",
                frame.len(),
                k + 1
            )
            .as_bytes(),
        );
        out.extend_from_slice(&frame);
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn meta_xml(ex: &Exchange, conn: Option<&Connection>, number: usize, notes: &[String]) -> String {
    let default_ann = Annotations::default();
    let ann = ex.annotations.as_deref().unwrap_or(&default_ann);
    let pseudo = |name: &str| {
        ann.flags
            .iter()
            .find(|(n, _)| n.strip_prefix(PSEUDO) == Some(name))
            .map(|(_, v)| v)
    };
    let sid = pseudo("SID").map_or_else(|| number.to_string(), str::to_string);
    let mut bits = pseudo("BitFlags")
        .and_then(|b| u64::from_str_radix(b.trim(), 16).ok())
        .unwrap_or(0);
    if ex.scheme == Scheme::Https {
        bits |= FLAG_IS_HTTPS;
    }
    if ann.generated_by_proxy {
        bits |= FLAG_RESPONSE_GENERATED;
    }
    if !ann.websocket.is_empty() {
        bits |= FLAG_IS_WEBSOCKET;
    }
    let mut x = String::from("\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n");
    x.push_str(&format!(
        "<Session SID=\"{}\" BitFlags=\"{bits:x}\"",
        xml_attr(&sid)
    ));
    if pseudo("Aborted") == Some("true") {
        x.push_str(" Aborted=\"true\"");
    }
    x.push_str(">\r\n  <SessionTimers");
    let t = &ex.timing;
    for name in TIMER_NAMES {
        let value = if MS_TIMERS.contains(&name) {
            pseudo(name).unwrap_or("0").to_string()
        } else {
            let from_timing = match name {
                "ClientBeginRequest" => t.request_start(),
                "ClientDoneRequest" => t.request_end(),
                "ServerBeginResponse" => t.response_start(),
                "ClientDoneResponse" => t.response_end(),
                _ => None,
            };
            from_timing
                .map(|a| a.ts)
                .or_else(|| {
                    ann.timers
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|&(_, ts)| ts)
                })
                .map_or_else(|| UNSET_TIME.to_string(), fiddler_time)
        };
        x.push_str(&format!(" {name}=\"{}\"", xml_attr(&value)));
    }
    x.push_str(" />\r\n  <PipeInfo");
    for (n, v) in ann.flags.iter() {
        if let Some(attr) = n
            .strip_prefix(PSEUDO)
            .and_then(|n| n.strip_prefix("PipeInfo."))
        {
            x.push_str(&format!(" {attr}=\"{}\"", xml_attr(v)));
        }
    }
    x.push_str(" />\r\n  <SessionFlags>\r\n");
    let mut flags: Vec<(String, String)> = ann
        .flags
        .iter()
        .filter(|(n, _)| {
            !n.starts_with(PSEUDO)
                && !n.eq_ignore_ascii_case("ui-comments")
                && !n.eq_ignore_ascii_case("ui-color")
        })
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    let has = |flags: &[(String, String)], name: &str| {
        flags.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    if let Some(c) = conn {
        if !c.client.ip().is_unspecified() && c.client.port() != 0 {
            if !has(&flags, "x-clientip") {
                flags.push(("x-clientip".into(), c.client.ip().to_string()));
            }
            if !has(&flags, "x-clientport") {
                flags.push(("x-clientport".into(), c.client.port().to_string()));
            }
        }
        if !c.server.ip().is_unspecified() && !has(&flags, "x-hostip") {
            flags.push(("x-hostip".into(), c.server.ip().to_string()));
        }
    }
    let mut comment: Vec<String> = ann.comment.iter().map(|c| c.to_string()).collect();
    comment.extend(notes.iter().cloned());
    if !comment.is_empty() {
        flags.push(("ui-comments".into(), comment.join("; ")));
    }
    if let Some(color) = &ann.color {
        flags.push(("ui-color".into(), color.to_string()));
    }
    // The messages are written as HTTP/1.1; these say what they were on the wire.
    if ex.http_version == HttpVersion::Http2 && !has(&flags, HTTP_VERSION_FLAG) {
        flags.push((HTTP_VERSION_FLAG.into(), ex.http_version.as_str().into()));
        if let Some(s) = ex.stream.as_deref() {
            flags.push((H2_STREAM_FLAG.into(), s.id.to_string()));
        }
    }
    for (n, v) in flags {
        x.push_str(&format!(
            "    <SessionFlag N=\"{}\" V=\"{}\" />\r\n",
            xml_attr(&n),
            xml_attr(&v)
        ));
    }
    x.push_str("  </SessionFlags>\r\n</Session>");
    x
}

/// Writes a Fiddler Classic-compatible SAZ of the given exchanges (all of them when `only`
/// is None): `raw/NN_c.txt`, `_s.txt`, `_m.xml` (and `_w.txt` for WebSocket messages),
/// `[Content_Types].xml` and `_index.htm`, NN padded to the digit count of the session count.
pub fn write_saz<W: Write + Seek>(
    analysis: &Analysis,
    only: Option<&[ExchId]>,
    out: W,
) -> io::Result<()> {
    use zip::write::SimpleFileOptions;
    let ids: Vec<usize> = match only {
        Some(list) => list
            .iter()
            .map(|id| id.0 as usize)
            .filter(|&i| i < analysis.exchanges.len())
            .collect(),
        None => (0..analysis.exchanges.len()).collect(),
    };
    let width = ids.len().to_string().len();
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(false);
    let mut zip = zip::ZipWriter::new(out);
    zip.set_comment(format!(
        "lyncscope (v{}) Session Archive in Fiddler SAZ format",
        env!("CARGO_PKG_VERSION")
    ))?;
    zip.add_directory("raw/", opts)?;
    let mut index = String::from(
        "\u{feff}<html><head><style>body,thead,td,a,p{font-family:verdana,sans-serif;font-size: 10px;}</style></head><body><table cols=7><thead><tr><th>&nbsp;</th><th>#</th><th>Result</th><th>Protocol</th><th>Host</th><th>URL</th><th>Body</th><th>Comments</th></tr></thead><tbody>",
    );
    for (n, &i) in ids.iter().enumerate() {
        let ex = &analysis.exchanges[i];
        let conn = analysis.connections.get(ex.connection.0 as usize);
        let key = format!("{:0width$}", n + 1);
        let mut notes = Vec::new();
        let h2 = ex.http_version == HttpVersion::Http2;
        let c = match &ex.request {
            Some(r) if h2 => message_bytes(
                &format!("{} {} HTTP/1.1", r.method, r.target),
                &h1_headers(&r.headers, r.body.wire_kept.as_deref().map(<[u8]>::len)),
                &r.body,
                "request",
                &mut notes,
            ),
            Some(r) => message_bytes(
                &format!("{} {} {}", r.method, r.target, r.version),
                &r.headers,
                &r.body,
                "request",
                &mut notes,
            ),
            None => {
                notes.push("lyncscope: the request was not captured".to_string());
                Vec::new()
            }
        };
        let s = match &ex.response {
            Some(r) => {
                let version = if h2 { "HTTP/1.1" } else { &*r.version };
                let mut s = Vec::new();
                for &code in &r.interim_statuses {
                    s.extend_from_slice(
                        format!("{version} {code} {}\r\n\r\n", interim_reason(code)).as_bytes(),
                    );
                }
                let (reason, headers) = if h2 {
                    let len = r.body.wire_kept.as_deref().map(<[u8]>::len);
                    (standard_reason(r.status), h1_headers(&r.headers, len))
                } else {
                    (&*r.reason, r.headers.clone())
                };
                s.extend(message_bytes(
                    &format!("{version} {} {reason}", r.status),
                    &headers,
                    &r.body,
                    "response",
                    &mut notes,
                ));
                s
            }
            None => Vec::new(),
        };
        zip.start_file(format!("raw/{key}_c.txt"), opts)?;
        zip.write_all(&c)?;
        zip.start_file(format!("raw/{key}_s.txt"), opts)?;
        zip.write_all(&s)?;
        zip.start_file(format!("raw/{key}_m.xml"), opts)?;
        zip.write_all(meta_xml(ex, conn, n + 1, &notes).as_bytes())?;
        let ws = ex
            .annotations
            .as_deref()
            .map(|a| &*a.websocket)
            .unwrap_or(&[]);
        if !ws.is_empty() {
            zip.start_file(format!("raw/{key}_w.txt"), opts)?;
            zip.write_all(&ws_file(ws))?;
        }
        let (host, url) = ex
            .request
            .as_ref()
            .map_or((String::new(), String::new()), |r| {
                (r.host().unwrap_or("").to_string(), r.target.clone())
            });
        let result = ex
            .response
            .as_ref()
            .map_or(String::from("-"), |r| r.status.to_string());
        let body = ex.response.as_ref().map_or(0, |r| r.body.wire_length);
        let comment = ex
            .annotations
            .as_deref()
            .and_then(|a| a.comment.clone())
            .unwrap_or_default();
        index.push_str(&format!(
            "<tr><td><a href='raw\\{key}_c.txt'>C</a>&nbsp;<a href='raw\\{key}_s.txt'>S</a>&nbsp;<a href='raw\\{key}_m.xml'>M</a></td><td>{}</td><td>{result}</td><td>{}</td><td>{}</td><td>{}</td><td>{body}</td><td>{}</td></tr>",
            n + 1,
            ex.scheme.as_str().to_ascii_uppercase(),
            html_text(&host),
            html_text(&url),
            html_text(&comment)
        ));
    }
    index.push_str("</tbody></table></body></html>");
    zip.start_file("_index.htm", opts)?;
    zip.write_all(index.as_bytes())?;
    zip.start_file("[Content_Types].xml", opts)?;
    zip.write_all(CONTENT_TYPES.as_bytes())?;
    zip.finish()?;
    Ok(())
}
