//! Bodies for people: what kind of content a body holds, pretty JSON / XML, text, and hex
//! dumps. Shared by the terminal detail pane and the Markdown / HTML reports.

/// What a body holds, from its Content-Type and, failing that, its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Empty,
    Json,
    Xml,
    Html,
    Form,
    Text,
    Binary,
}

impl BodyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BodyKind::Empty => "empty",
            BodyKind::Json => "json",
            BodyKind::Xml => "xml",
            BodyKind::Html => "html",
            BodyKind::Form => "form",
            BodyKind::Text => "text",
            BodyKind::Binary => "binary",
        }
    }
}

pub fn body_kind(content_type: Option<&str>, bytes: &[u8]) -> BodyKind {
    if bytes.is_empty() {
        return BodyKind::Empty;
    }
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    let mime = ct.split(';').next().unwrap_or("").trim();
    if mime.ends_with("json") || mime.ends_with("+json") {
        return BodyKind::Json;
    }
    if mime.contains("html") {
        return BodyKind::Html;
    }
    if mime.ends_with("xml") || mime.ends_with("+xml") {
        return BodyKind::Xml;
    }
    if mime == "application/x-www-form-urlencoded" {
        return BodyKind::Form;
    }
    let head = trim_start(bytes);
    if head.starts_with(b"{") || head.starts_with(b"[") {
        if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() {
            return BodyKind::Json;
        }
    } else if head.starts_with(b"<") {
        let lower: Vec<u8> = head.iter().take(64).map(u8::to_ascii_lowercase).collect();
        if lower.starts_with(b"<!doctype html") || lower.starts_with(b"<html") {
            return BodyKind::Html;
        }
        return BodyKind::Xml;
    }
    if mime.starts_with("text/") || mime.ends_with("javascript") || looks_textual(bytes) {
        BodyKind::Text
    } else {
        BodyKind::Binary
    }
}

fn trim_start(b: &[u8]) -> &[u8] {
    let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[n..]
}

/// Valid UTF-8 (allowing a cut last character) without control bytes other than whitespace.
fn looks_textual(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(4096)];
    let valid = match std::str::from_utf8(sample) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    };
    valid
        && !sample
            .iter()
            .any(|&c| c < 0x20 && !matches!(c, b'\n' | b'\r' | b'\t' | 0x0c))
}

/// A body made readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrettyBody {
    pub kind: BodyKind,
    /// Indented JSON / XML, text as text, a hex dump for binary content.
    pub text: String,
    /// The body was longer than the limit; `text` shows its beginning.
    pub truncated: bool,
}

/// Readable text for a body: at most `limit` bytes of it are looked at.
pub fn pretty(content_type: Option<&str>, bytes: &[u8], limit: usize) -> PrettyBody {
    pretty_folded(content_type, bytes, limit, None)
}

/// [`pretty`], with JSON folded from nesting level `fold` on (see [`pretty_json_folded`]).
pub fn pretty_folded(
    content_type: Option<&str>,
    bytes: &[u8],
    limit: usize,
    fold: Option<usize>,
) -> PrettyBody {
    let truncated = bytes.len() > limit;
    let shown = &bytes[..bytes.len().min(limit)];
    let kind = body_kind(content_type, bytes);
    let text = match kind {
        BodyKind::Empty => String::new(),
        BodyKind::Json => pretty_json_folded(&String::from_utf8_lossy(shown), fold)
            .unwrap_or_else(|| lossy(shown)),
        BodyKind::Xml => {
            pretty_xml(&String::from_utf8_lossy(shown)).unwrap_or_else(|| lossy(shown))
        }
        BodyKind::Form => lossy(shown)
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => format!(
                    "{} = {}",
                    crate::model::url::form_decode(k),
                    crate::model::url::form_decode(v)
                ),
                None => crate::model::url::form_decode(kv),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        BodyKind::Html | BodyKind::Text => lossy(shown),
        BodyKind::Binary => hexdump(shown, usize::MAX).join("\n"),
    };
    PrettyBody {
        kind,
        text,
        truncated,
    }
}

/// Text as it is, invalid UTF-8 replaced.
pub fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Re-indents JSON without re-encoding it (key order, numbers and escapes stay as sent).
/// `None` when the text is not JSON.
pub fn pretty_json(s: &str) -> Option<String> {
    pretty_json_folded(s, None)
}

/// Whether a scan of JSON text is inside a string literal (where brackets and commas mean
/// nothing).
#[derive(Default)]
struct JsonString {
    inside: bool,
    escaped: bool,
}

impl JsonString {
    /// Takes the next character; true when it is part of a string literal (quotes included).
    fn take(&mut self, c: char) -> bool {
        if self.inside {
            if self.escaped {
                self.escaped = false;
            } else if c == '\\' {
                self.escaped = true;
            } else if c == '"' {
                self.inside = false;
            }
            true
        } else {
            self.inside = c == '"';
            self.inside
        }
    }
}

/// How deep objects and arrays nest (0 for a scalar, 1 for `{"a":1}`); strings are skipped.
pub fn json_depth(s: &str) -> usize {
    let (mut depth, mut max, mut string) = (0usize, 0usize, JsonString::default());
    for c in s.chars() {
        if string.take(c) {
            continue;
        }
        match c {
            '{' | '[' => {
                depth += 1;
                max = max.max(depth);
            }
            '}' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Skips the rest of a container whose opening bracket was just read; returns how many
/// members it had (for "{… 3 keys}").
fn skip_container(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> usize {
    let (mut depth, mut string) = (1usize, JsonString::default());
    let (mut members, mut empty) = (0usize, true);
    for c in chars.by_ref() {
        if string.take(c) {
            empty = false;
            continue;
        }
        match c {
            '}' | ']' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            '{' | '[' => {
                depth += 1;
                empty = false;
            }
            ',' if depth == 1 => members += 1,
            c if !c.is_whitespace() => empty = false,
            _ => {}
        }
    }
    if empty {
        0
    } else {
        members + 1
    }
}

/// [`pretty_json`], with objects and arrays that open at nesting level `fold` (0 = the top)
/// or deeper shown as `{… N keys}` / `[… N items]`.
pub fn pretty_json_folded(s: &str, fold: Option<usize>) -> Option<String> {
    let t = s.trim_start_matches('\u{feff}').trim();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    let mut out = String::with_capacity(t.len() + t.len() / 4);
    let mut depth = 0usize;
    let mut string = JsonString::default();
    let mut chars = t.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    while let Some(c) = chars.next() {
        if string.take(c) {
            out.push(c);
            continue;
        }
        match c {
            '{' | '[' if fold.is_some_and(|f| depth >= f) => {
                let n = skip_container(&mut chars);
                out.push_str(&match (c, n) {
                    ('{', 0) => "{}".to_string(),
                    (_, 0) => "[]".to_string(),
                    ('{', 1) => "{… 1 key}".to_string(),
                    ('{', n) => format!("{{… {n} keys}}"),
                    (_, 1) => "[… 1 item]".to_string(),
                    (_, n) => format!("[… {n} items]"),
                });
            }
            '{' | '[' => {
                out.push(c);
                // Keep empty containers on one line.
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('}') | Some(']')) {
                    if let Some(close) = chars.next() {
                        out.push(close);
                    }
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    Some(out)
}

/// Indents XML; `None` when it does not parse.
pub fn pretty_xml(s: &str) -> Option<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(s.trim_start_matches('\u{feff}'));
    reader.config_mut().trim_text(true);
    let mut writer = quick_xml::Writer::new_with_indent(Vec::new(), b' ', 2);
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(e) => writer.write_event(e).ok()?,
            Err(_) => return None,
        }
    }
    String::from_utf8(writer.into_inner()).ok()
}

/// Classic hex dump lines: offset, 16 bytes in hex, the printable ASCII.
pub fn hexdump(bytes: &[u8], max_lines: usize) -> Vec<String> {
    bytes
        .chunks(16)
        .take(max_lines)
        .enumerate()
        .map(|(i, chunk)| {
            let mut line = format!("{:08x}  ", i * 16);
            for j in 0..16 {
                match chunk.get(j) {
                    Some(b) => line.push_str(&format!("{b:02x} ")),
                    None => line.push_str("   "),
                }
                if j == 7 {
                    line.push(' ');
                }
            }
            line.push_str(" |");
            line.extend(chunk.iter().map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            }));
            line.push('|');
            line
        })
        .collect()
}

/// Bodies are shown up to this many bytes each in the reports.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A message body made ready to show.
pub struct BodyView {
    pub kind: BodyKind,
    /// The readable text, `None` when nothing of the body is at hand.
    pub text: Option<String>,
    /// What the reader must know: cut, not kept, incomplete, decoded from gzip …
    pub notes: Vec<String>,
    /// Decoded length (or wire length) in bytes.
    pub length: u64,
}

pub fn body_view(headers: &crate::model::Headers, body: &crate::model::Body) -> BodyView {
    let ct = headers.get("content-type");
    let length = body.decoded_length.unwrap_or(body.wire_length);
    let mut notes = Vec::new();
    if !body.content_encoding.is_empty() {
        notes.push(format!("decoded from {}", body.content_encoding.join(", ")));
    }
    if !body.complete && body.wire_length > 0 {
        notes.push("incomplete in the capture".into());
    }
    let (kind, text) = match (body.kept.as_deref(), body.head.as_deref()) {
        (Some(b), _) => {
            let p = pretty(ct, b, BODY_LIMIT);
            if p.truncated {
                notes.push(format!(
                    "cut: first {} KiB of {} bytes shown",
                    BODY_LIMIT / 1024,
                    b.len()
                ));
            }
            (p.kind, Some(p.text))
        }
        (None, Some(h)) => {
            let p = pretty(ct, h, BODY_LIMIT);
            notes.push(format!(
                "only the first {} of {length} bytes were kept",
                h.len().min(BODY_LIMIT)
            ));
            (p.kind, Some(p.text))
        }
        (None, None) if length > 0 || body.wire_length > 0 => {
            notes.push(format!(
                "{length} bytes, not kept in this analysis (keep bodies to see them)"
            ));
            (BodyKind::Binary, None)
        }
        (None, None) => (BodyKind::Empty, None),
    };
    // An empty body needs no block and no label.
    let text = text.filter(|t| !t.is_empty() || length > 0);
    BodyView {
        kind,
        text,
        notes,
        length,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_folds_below_a_level() {
        let j = r#"{"a":{"b":[1,2,{"c":"}"}]},"d":[],"e":"x,y","f":{}}"#;
        assert_eq!(json_depth(j), 4);
        assert_eq!(pretty_json_folded(j, None), pretty_json(j));
        assert_eq!(
            pretty_json_folded(j, Some(1)).unwrap(),
            "{\n  \"a\": {… 1 key},\n  \"d\": [],\n  \"e\": \"x,y\",\n  \"f\": {}\n}"
        );
        assert_eq!(pretty_json_folded(j, Some(0)).unwrap(), "{… 4 keys}");
        let two = pretty_json_folded(j, Some(2)).unwrap();
        assert!(two.contains("\"b\": [… 3 items]"), "{two}");
        // Unbalanced input neither panics nor loops.
        assert!(pretty_json_folded("{\"a\":[1,", Some(1)).is_some());
    }

    #[test]
    fn json_is_reindented_keeping_order_and_escapes() {
        let src = r#"{"z":1,"a":{"href":"/x\"y"},"e":[],"l":[1,2.50]}"#;
        let p = pretty_json(src).unwrap();
        assert_eq!(
            p,
            "{\n  \"z\": 1,\n  \"a\": {\n    \"href\": \"/x\\\"y\"\n  },\n  \"e\": [],\n  \"l\": [\n    1,\n    2.50\n  ]\n}"
        );
        // Same data as the input.
        let a: serde_json::Value = serde_json::from_str(src).unwrap();
        let b: serde_json::Value = serde_json::from_str(&p).unwrap();
        assert_eq!(a, b);
        assert!(pretty_json("hello").is_none());
    }

    #[test]
    fn kinds_from_type_and_content() {
        assert_eq!(
            body_kind(Some("application/vnd.microsoft.com.ucwa+json"), b"{}"),
            BodyKind::Json
        );
        assert_eq!(
            body_kind(Some("application/soap+xml; charset=utf-8"), b"<a/>"),
            BodyKind::Xml
        );
        assert_eq!(body_kind(None, b"{\"a\":1}"), BodyKind::Json);
        assert_eq!(body_kind(None, b"<!DOCTYPE html><html>"), BodyKind::Html);
        assert_eq!(body_kind(None, b"\x00\x01\x02"), BodyKind::Binary);
        assert_eq!(body_kind(Some("text/plain"), b""), BodyKind::Empty);
        assert_eq!(body_kind(None, b"plain words"), BodyKind::Text);
    }

    #[test]
    fn xml_form_and_hex() {
        let x = pretty_xml("<a><b>t</b><c/></a>").unwrap();
        assert_eq!(x, "<a>\n  <b>t</b>\n  <c/>\n</a>");
        assert!(pretty_xml("<a><b></a>").is_none());
        let f = pretty(
            Some("application/x-www-form-urlencoded"),
            b"grant_type=password&username=a%40b.c&x",
            1024,
        );
        assert_eq!(f.text, "grant_type = password\nusername = a@b.c\nx");
        let h = hexdump(b"GET / HTTP/1.1\r\n\x00", 4);
        assert_eq!(
            h[0],
            "00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 31 0d 0a  |GET / HTTP/1.1..|"
        );
        assert!(h[1].starts_with("00000010  00 "));
        let cut = pretty(Some("text/plain"), b"abcdef", 3);
        assert!(cut.truncated);
        assert_eq!(cut.text, "abc");
    }
}
