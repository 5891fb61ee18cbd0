//! The Request and Response tabs: the start line, the headers and the body, pretty-printed
//! (JSON folded from a level on) or as sent.

use super::lines::{clean, plural, Out, BODY_CAP};
use crate::model::{Body, Exchange, Headers};
use crate::presentation::body::{lossy, pretty_folded};
use ratatui::text::Span;

pub(super) fn request_tab(out: &mut Out, x: &Exchange, raw: bool, fold: Option<usize>) {
    let t = *out.theme;
    let Some(r) = &x.request else {
        out.line(vec![Span::styled(
            "no request in the capture (it was sent before the capture started)",
            t.dim(),
        )]);
        return;
    };
    out.line(vec![
        Span::styled(clean(&r.method), t.title()),
        Span::raw(format!(" {} ", clean(&r.target))),
        Span::styled(clean(&r.version), t.dim()),
    ]);
    headers(out, &r.headers);
    out.blank();
    body(out, &r.headers, &r.body, raw, fold);
}

pub(super) fn response_tab(out: &mut Out, x: &Exchange, raw: bool, fold: Option<usize>) {
    let t = *out.theme;
    let Some(r) = &x.response else {
        let why = match x.capture {
            crate::model::CaptureState::NoResponse => "no response in the capture",
            _ => "no response seen",
        };
        out.line(vec![Span::styled(why, t.dim())]);
        return;
    };
    for s in &r.interim_statuses {
        out.line(vec![Span::styled(
            format!("({} {s} interim response before this one)", r.version),
            t.dim(),
        )]);
    }
    out.line(vec![
        Span::styled(format!("{} ", clean(&r.version)), t.dim()),
        Span::styled(
            format!("{} {}", r.status, clean(&r.reason)),
            t.status(Some(r.status)),
        ),
    ]);
    headers(out, &r.headers);
    out.blank();
    body(out, &r.headers, &r.body, raw, fold);
}

fn headers(out: &mut Out, h: &Headers) {
    let t = *out.theme;
    for (name, value) in h.iter() {
        out.hanging(
            vec![
                Span::styled(clean(name), t.title()),
                Span::raw(": "),
                Span::raw(clean(value)),
            ],
            2,
        );
    }
}

/// The body facts line, then the body (pretty or as sent), or why there is none to show.
fn body(out: &mut Out, headers: &Headers, b: &Body, raw: bool, fold: Option<usize>) {
    let t = *out.theme;
    let bytes = b.bytes().unwrap_or_default();
    if b.wire_length == 0 && bytes.is_empty() {
        out.line(vec![Span::styled("(no body)", t.dim())]);
        return;
    }
    let mut facts = vec![plural(b.wire_length, "byte", "bytes")];
    if !b.content_encoding.is_empty() {
        let enc = b.content_encoding.join(", ");
        match b.decoded_length {
            Some(n) => facts.push(format!("{enc} → {n} decoded")),
            None => facts.push(format!("{enc}, not decoded")),
        }
    }
    facts.push(if b.complete { "complete" } else { "incomplete" }.to_string());
    let partial = b.kept.is_none() && b.head.is_some();
    if partial {
        facts.push(format!("only the first {} bytes kept", bytes.len()));
    }
    let content_type = headers.get("content-type");
    let (text, truncated, kind) = if bytes.is_empty() {
        (String::new(), false, None)
    } else if raw {
        let shown = bytes.get(..BODY_CAP).unwrap_or(bytes);
        (lossy(shown), bytes.len() > BODY_CAP, Some("as sent"))
    } else {
        let p = pretty_folded(content_type, bytes, BODY_CAP, fold);
        if let (Some(level), crate::presentation::body::BodyKind::Json) = (fold, p.kind) {
            facts.push(format!("folded from level {level} (+ unfolds)"));
        }
        (p.text, p.truncated, Some(p.kind.as_str()))
    };
    if let Some(k) = kind {
        facts.push(k.to_string());
    }
    let style = if b.complete { t.dim() } else { t.warning() };
    out.line(vec![Span::styled(
        format!("── body: {} ──", facts.join(" · ")),
        style,
    )]);
    if bytes.is_empty() {
        let why = if out.partial {
            "body shown once loading has finished"
        } else {
            "body not kept (the analysis did not keep bodies)"
        };
        out.line(vec![Span::styled(why, t.dim())]);
        return;
    }
    out.text(&text, t.normal());
    if truncated {
        out.line(vec![Span::styled(
            format!(
                "… only the first {} KiB of {} bytes shown",
                BODY_CAP / 1024,
                bytes.len()
            ),
            t.warning(),
        )]);
    }
}
