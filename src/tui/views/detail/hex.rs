//! The Hex tab: request and response as bytes, heads rebuilt from the parsed fields.

use super::lines::{Out, BODY_CAP};
use crate::model::{Body, Exchange};
use crate::presentation::body::hexdump;
use crate::presentation::wire::{request_head, response_head};
use ratatui::text::{Line, Span};

pub(super) fn hex_tab(out: &mut Out, x: &Exchange) {
    let t = *out.theme;
    match &x.request {
        Some(r) => hex_message(out, "Request", request_head(r), &r.body),
        None => {
            out.heading("Request");
            out.line(vec![Span::styled("not in the capture", t.dim())]);
        }
    }
    match &x.response {
        Some(r) => hex_message(out, "Response", response_head(r), &r.body),
        None => {
            out.heading("Response");
            out.line(vec![Span::styled("not in the capture", t.dim())]);
        }
    }
}

/// One message as bytes: its head rebuilt from the parsed fields, then the body as sent
/// (de-chunked) when kept, else the decoded body.
fn hex_message(out: &mut Out, name: &str, head: String, b: &Body) {
    let t = *out.theme;
    let (body, what): (&[u8], &str) = match (&b.wire_kept, b.bytes()) {
        (Some(w), _) => (w, "as sent, de-chunked"),
        (None, Some(d)) if b.content_encoding.is_empty() => (d, "as sent, de-chunked"),
        (None, Some(d)) => (d, "decoded (the encoded bytes were not kept)"),
        (None, None) => (&[], ""),
    };
    let mut heading = format!(
        "{name}: head {} bytes (rebuilt from the parsed fields)",
        head.len()
    );
    if !body.is_empty() {
        heading.push_str(&format!(" + body {} bytes {what}", body.len()));
    } else if b.wire_length > 0 {
        heading.push_str(&format!(" + body of {} bytes not kept", b.wire_length));
    }
    out.heading(heading);
    let mut bytes = head.into_bytes();
    let room = BODY_CAP.saturating_sub(bytes.len());
    let shown = body.get(..room).unwrap_or(body);
    let omitted = body.len() - shown.len();
    bytes.extend_from_slice(shown);
    for l in hexdump(&bytes, usize::MAX) {
        out.push(Line::raw(l), 0);
    }
    if omitted > 0 {
        out.line(vec![Span::styled(
            format!(
                "… only the first {} KiB shown ({omitted} more bytes)",
                BODY_CAP / 1024
            ),
            t.warning(),
        )]);
    }
}
