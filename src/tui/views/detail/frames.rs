//! The HTTP/2 part of the Overview tab: the stream (its id, the stream that pushed it, a
//! reset) and its frames, one line each: time from the one time origin, direction, type,
//! flags by name, payload length and the packet that completed the frame.

use super::lines::{plural, Out};
use crate::model::{Analysis, Dir, Exchange};
use ratatui::text::Span;

/// "Stream" fields: what the stream was, besides its messages. Nothing for HTTP/1.
pub(super) fn stream_section(out: &mut Out, x: &Exchange) {
    let Some(s) = x.stream.as_deref() else {
        return;
    };
    let t = *out.theme;
    out.heading(format!("HTTP/2 stream {}", s.id));
    let opened = if s.id % 2 == 0 {
        "server (pushed)"
    } else if s.upgrade_request {
        // RFC 9113 section 3.2: the request is the HTTP/1.1 one the 101 answered.
        "client, by its HTTP/1.1 request with Upgrade: h2c (the exchange before, answered 101)"
    } else {
        "client"
    };
    out.field_text("Opened by", opened);
    if let Some(p) = s.promised_by {
        out.field_text("Promised on", format!("stream {p} (PUSH_PROMISE)"));
    }
    if let Some(r) = &s.reset {
        let by = if r.by_client { "client" } else { "server" };
        out.field_styled(
            "Reset",
            format!("RST_STREAM {} by the {by}", r.name),
            t.warning(),
        );
    }
    let mut n = plural(
        s.frames.len() as u64 + u64::from(s.frames_dropped),
        "frame",
        "frames",
    );
    if s.frames_dropped > 0 {
        n.push_str(&format!(" (the first {} listed below)", s.frames.len()));
    }
    out.field_text("Frames", n);
}

/// "Frames": one line per frame of the stream, after the stream's fields.
pub(super) fn frames_section(out: &mut Out, a: &Analysis, x: &Exchange) {
    let Some(s) = x.stream.as_deref() else {
        return;
    };
    let t = *out.theme;
    out.heading(format!("Frames of stream {}", s.id));
    if s.frames.is_empty() {
        out.text("  none recorded", t.dim());
        return;
    }
    let origin = crate::presentation::timeline::time_origin(a);
    out.line(vec![Span::styled(
        format!(
            "  {:<12} {:<3} {:<14} {:>7}  {:<8} flags",
            "time", "", "type", "length", "packet"
        ),
        t.dim(),
    )]);
    for f in &s.frames {
        let time = match origin {
            Some(o) => format!("+{:.6}", f.at.ts.secs_since(o)),
            None => "-".into(),
        };
        let dir = match f.dir {
            Dir::ClientToServer => "→",
            Dir::ServerToClient => "←",
        };
        let packet = if f.at.frame.0 > 0 {
            f.at.frame.0.to_string()
        } else {
            "-".into()
        };
        let flags = f.flag_names().join(" ");
        let style = if f.kind == 0x3 {
            t.warning()
        } else {
            t.normal()
        };
        out.line(vec![
            Span::raw(format!("  {time:<12} {dir:<3} ")),
            Span::styled(format!("{:<14}", f.type_name()), style),
            Span::raw(format!(" {:>7}  ", f.len)),
            Span::styled(format!("{packet:<8}"), t.dim()),
            Span::raw(format!(" {flags}")),
        ]);
    }
    if s.frames_dropped > 0 {
        out.text(
            &format!(
                "  … and {} more not kept",
                plural(u64::from(s.frames_dropped), "frame", "frames")
            ),
            t.dim(),
        );
    }
}
