//! Share-safe copies of an analysis (docs/report-schema.md "redaction"): credentials, tokens,
//! cookies and session keys are replaced by stable fingerprints (`‹cwt:3f2a91c0›`, the same
//! value always the same fingerprint within a report) while what a reader needs stays — the
//! NTLM user, domain and workstation, a token's type, audience and expiry, header names, body
//! structure.
//!
//! The frozen analysis is never changed: [`redact`] returns a redacted copy, which every writer
//! (reports and exports alike) is then given, so the rules live here once. Two passes: the first
//! finds every secret (and derives the fingerprint key from them), the second replaces them,
//! and then sweeps every remaining text for any secret seen anywhere.

mod body;
mod fingerprint;
mod headers;
mod ntlm;
mod params;
mod token;

use crate::model::{Analysis, AuthLeg, Exchange, Headers, TokenRef};
use fingerprint::Fingerprints;
use std::collections::BTreeMap;

/// How a fingerprint is written, in words (the JSON report's `redaction.fingerprint`).
pub const FINGERPRINT_FORM: &str = "‹kind:first 8 hex digits of HMAC-SHA-256 over the value, keyed by a digest of all the report's secrets›";

/// What a redaction replaced: how many values of each kind (`cwt`, `jwt`, `cookie`,
/// `ntlm-response`, `password` …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedactionSummary {
    pub kinds: BTreeMap<String, usize>,
}

impl RedactionSummary {
    pub fn total(&self) -> usize {
        self.kinds.values().sum()
    }

    /// "14 values replaced by fingerprints (cookie 2, cwt 4, …)": the line the readable
    /// reports give.
    pub fn words(&self) -> String {
        if self.total() == 0 {
            return "no secret found to replace".to_string();
        }
        let kinds: Vec<String> = self.kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        format!(
            "{} replaced by fingerprints ({}); --no-redact keeps them",
            crate::presentation::connections::count(self.total(), "value"),
            kinds.join(", ")
        )
    }
}

/// Whether an output is redacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Redact {
    /// As captured.
    #[default]
    Keep,
    Redact,
}

/// A redacted copy of `a` and what was replaced.
pub fn redact(a: &Analysis) -> (Analysis, RedactionSummary) {
    let mut first = Fingerprints::collecting();
    let _ = redact_with(&mut first, a);
    let mut f = Fingerprints::keyed(first, &a.embedded_keylog);
    let out = redact_with(&mut f, a);
    let summary = RedactionSummary {
        kinds: f
            .counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| ((*k).to_string(), *n))
            .collect(),
    };
    (out, summary)
}

fn redact_with(f: &mut Fingerprints, a: &Analysis) -> Analysis {
    let mut out = a.clone();
    for x in &mut out.exchanges {
        exchange(f, x);
    }
    out.embedded_keylog = a
        .embedded_keylog
        .iter()
        .map(|l| keylog_line(f, l))
        .collect();
    // Words about the capture: a finding or a diagnostic may quote a URL or a header.
    for d in &mut out.diagnostics {
        d.message = f.sweep(&d.message);
    }
    for fi in &mut out.findings {
        fi.message = f.sweep(&fi.message);
    }
    for s in &mut out.signin {
        s.verdict = f.sweep(&s.verdict);
        if let Some(c) = &s.failed_cause {
            s.failed_cause = Some(f.sweep(c));
        }
    }
    out
}

fn exchange(f: &mut Fingerprints, x: &mut Exchange) {
    // Tokens of the decoded authentication, by the SHA-256 the stage layer keyed them with.
    let mut tokens: BTreeMap<String, String> = BTreeMap::new();
    if let Some(r) = x.request.as_deref_mut() {
        for (n, v) in r.headers.iter() {
            remember_token(n, v, &mut tokens);
        }
        if let Some(u) = params::redact_url(f, &r.target) {
            r.target = u;
        }
        r.target = f.sweep(&r.target);
        r.headers = redact_headers(f, &r.headers);
        body::redact_message_body(f, &mut r.headers, &mut r.body);
    }
    if let Some(r) = x.response.as_deref_mut() {
        r.headers = redact_headers(f, &r.headers);
        body::redact_message_body(f, &mut r.headers, &mut r.body);
    }
    if let Some(auth) = x.auth.as_deref_mut() {
        match &mut auth.request {
            Some(AuthLeg::Bearer(t)) => token_ref(f, t, &tokens),
            Some(AuthLeg::WebTicket { token, .. }) => token_ref(f, token, &tokens),
            _ => {}
        }
        for d in &mut auth.diagnostics {
            d.raw = f.sweep(&d.raw);
        }
    }
    if let Some(tag) = x.stage.as_deref() {
        let mut t = tag.clone();
        let note = t.note.as_deref().map(|n| f.sweep(n));
        let via = t.via.as_deref().map(|v| f.sweep(v));
        if note != t.note || via != t.via {
            t.note = note;
            t.via = via;
            x.stage = Some(std::sync::Arc::new(t));
        }
    }
    if let Some(ann) = x.annotations.as_deref_mut() {
        if let Some(c) = &ann.comment {
            ann.comment = Some(f.sweep(c).into());
        }
        let flags: Vec<(String, String)> = ann
            .flags
            .iter()
            .map(|(n, v)| (n.to_string(), f.sweep(v)))
            .collect();
        ann.flags =
            crate::model::Flags::from_pairs(flags.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        for m in &mut ann.websocket {
            if let Some(r) = body::redact_bytes(f, None, &m.payload) {
                m.payload = std::sync::Arc::from(r);
            }
        }
    }
}

/// Every header value with its secrets replaced, then swept for secrets seen elsewhere.
fn redact_headers(f: &mut Fingerprints, h: &Headers) -> Headers {
    body::rebuild(h, |n, v| {
        let v = headers::redact_header(f, n, v).unwrap_or_else(|| v.to_string());
        Some(f.sweep(&v))
    })
}

/// The token an `Authorization: Bearer` or `X-MS-WebTicket` header carries, by its SHA-256
/// (as [`crate::stage::auth::token_ref`] keys it).
fn remember_token(name: &str, value: &str, out: &mut BTreeMap<String, String>) {
    let v = value.trim();
    let token = if name.eq_ignore_ascii_case("authorization") {
        match v.split_once(' ') {
            Some((s, t)) if s.eq_ignore_ascii_case("bearer") => t.trim(),
            _ => return,
        }
    } else if name.eq_ignore_ascii_case("x-ms-webticket") {
        let t = match v.split_once('=') {
            Some((p, rest)) if p.eq_ignore_ascii_case("opaque") => rest,
            _ => v,
        };
        t.trim().trim_matches('"')
    } else {
        return;
    };
    let r = crate::stage::auth::token_ref(token);
    out.insert(r.sha256, token.to_string());
}

/// A decoded token reference: its prefix becomes the token's fingerprint, its SHA-256 the
/// keyed hash (a plain SHA-256 of a token identifies it to anyone who has it elsewhere).
fn token_ref(f: &mut Fingerprints, t: &mut TokenRef, tokens: &BTreeMap<String, String>) {
    let value = tokens
        .get(&t.sha256)
        .cloned()
        .unwrap_or_else(|| t.sha256.clone());
    let kind = if token::jwt_words(&value).is_some() {
        "jwt"
    } else if token::saml_of_base64(&value).is_some() {
        "saml"
    } else {
        "token"
    };
    let shown = match value.strip_prefix("cwt=") {
        Some(rest) => format!("cwt={}", fingerprint_only(f, "cwt", rest)),
        None => fingerprint_only(f, kind, &value),
    };
    t.sha256 = f.digest_hex(value.strip_prefix("cwt=").unwrap_or(&value));
    t.prefix = shown;
}

/// The fingerprint of a value already counted where it was replaced.
fn fingerprint_only(f: &mut Fingerprints, kind: &'static str, value: &str) -> String {
    let shown = f.replace(kind, value, None);
    if let Some(n) = f.counts.get_mut(kind) {
        *n = n.saturating_sub(1);
    }
    shown
}

/// `CLIENT_RANDOM <random> <secret>` (NSS key log): the label and the client random stay (they
/// name the connection), the secret goes.
fn keylog_line(f: &mut Fingerprints, line: &str) -> String {
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(label), Some(random), Some(secret)) if !label.starts_with('#') => {
            // Not counted: no export writes the key log (the JSON report gives its line count).
            format!(
                "{label} {random} {}",
                fingerprint_only(f, "tls-secret", secret)
            )
        }
        _ => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keylog_keeps_label_and_random() {
        let mut f = Fingerprints::collecting();
        let l = keylog_line(&mut f, "CLIENT_RANDOM 0a0b 1122334455");
        assert!(l.starts_with("CLIENT_RANDOM 0a0b ‹tls-secret:"), "{l}");
    }
}
