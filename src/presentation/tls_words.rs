//! A connection's TLS facts in words, one line each, for the detail view, the timeline's
//! status line and the reports: how far the handshake went, the chain the server sent, the
//! alerts, and a client that gave up after the server's certificate.

use crate::model::{AbortBy, Arrival, ChainCertificate, Dir, TlsAlert, TlsInfo};

/// The lines worth showing about a connection's TLS beyond version and suite, as
/// (label, text); empty when there is nothing to add.
pub fn tls_lines(t: &TlsInfo) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(h) = handshake_words(t) {
        out.push(("TLS handshake", h));
    }
    if let Some(c) = chain_words(t) {
        out.push(("TLS chain", c));
    }
    let alerts: Vec<String> = t.alerts.iter().map(alert_words).collect();
    if !alerts.is_empty() {
        out.push(("TLS alerts", alerts.join("; ")));
    }
    if let Some(a) = abort_words(t) {
        out.push(("Client abort", a));
    }
    out
}

/// The handshake when it did not get far: "ClientHello (frame 11), no ServerHello".
pub fn handshake_words(t: &TlsInfo) -> Option<String> {
    if !t.client_hello || t.server_hello {
        return None;
    }
    let frame = t
        .handshake_messages
        .iter()
        .find(|m| m.from == Dir::ClientToServer && m.kind == 1)
        .map(|m| format!(" ({})", frame(m.at)))
        .unwrap_or_default();
    Some(format!("ClientHello{frame}, no ServerHello"))
}

/// "webext-pool1.contoso.com (RSA 2048) ← Example Public CA G2 (RSA 2048, CA); issuer not
/// sent: Example Public Root CA".
pub fn chain_words(t: &TlsInfo) -> Option<String> {
    if t.chain.is_empty() {
        return None;
    }
    let certs: Vec<String> = t.chain.iter().map(certificate_words).collect();
    let mut s = certs.join(" ← ");
    if let Some(issuer) = t.unknown_issuer() {
        s.push_str(&format!("; issuer not sent: {}", short_name(issuer)));
    }
    Some(s)
}

fn certificate_words(c: &ChainCertificate) -> String {
    if c.unparsed {
        return "(a certificate that does not parse)".into();
    }
    let mut notes = vec![c.public_key.clone()];
    if c.ca {
        notes.push("CA".into());
    }
    if c.self_signed {
        notes.push(match c.self_signature_valid {
            Some(false) => "self-signed, signature does not verify".into(),
            _ => "self-signed".into(),
        });
    }
    format!(
        "{} ({})",
        short_name(&c.certificate.subject),
        notes.join(", ")
    )
}

/// "client fatal certificate_unknown (46), frame 17"; "(decrypted)" when it was not in clear.
pub fn alert_words(a: &TlsAlert) -> String {
    format!(
        "{} {} {} ({}), {}{}",
        side(a.from),
        a.level_name(),
        a.name(),
        a.description,
        frame(a.at),
        if a.in_clear { "" } else { " (decrypted)" }
    )
}

/// "after the server's Certificate (frame 14): alert certificate_unknown (46), frame 17".
pub fn abort_words(t: &TlsInfo) -> Option<String> {
    let a = t.client_abort?;
    let how = match a.by {
        AbortBy::Alert(d) => format!("alert {} ({d})", crate::model::alert_name(d)),
        AbortBy::Fin => "closed the connection (FIN)".into(),
        AbortBy::Rst => "reset the connection (RST)".into(),
        AbortBy::EncryptedAlert => "an encrypted alert (not readable)".into(),
    };
    let after = if a.certificate_encrypted {
        "the server's encrypted flight (TLS 1.3, no keys)"
    } else {
        "the server's Certificate"
    };
    Some(format!(
        "after {after} ({}): {how}, {}",
        frame(a.after_certificate),
        frame(a.at)
    ))
}

/// The TLS of a connection in one short phrase, for a one-line title: the abort, else a
/// fatal alert, else an unanswered ClientHello; None when the handshake had nothing wrong.
pub fn tls_trouble(t: &TlsInfo) -> Option<String> {
    if let Some(a) = t.client_abort {
        return Some(match a.by {
            AbortBy::Alert(d) => format!(
                "client aborted after the Certificate: alert {} ({d})",
                crate::model::alert_name(d)
            ),
            AbortBy::Fin if a.certificate_encrypted => {
                "client closed after the encrypted server flight".into()
            }
            AbortBy::Rst if a.certificate_encrypted => {
                "client reset after the encrypted server flight".into()
            }
            AbortBy::Fin => "client closed after the Certificate".into(),
            AbortBy::Rst => "client reset after the Certificate".into(),
            AbortBy::EncryptedAlert => {
                "client aborted after the encrypted server flight: alert not readable".into()
            }
        });
    }
    if let Some(a) = t.fatal_alert() {
        return Some(format!(
            "{} alert {} ({})",
            side(a.from),
            a.name(),
            a.description
        ));
    }
    handshake_words(t)
}

fn side(d: Dir) -> &'static str {
    match d {
        Dir::ClientToServer => "client",
        Dir::ServerToClient => "server",
    }
}

fn frame(at: Arrival) -> String {
    format!("frame {}", at.frame.0)
}

/// The common name of a distinguished name ("C=US, O=Contoso, CN=www.contoso.com" →
/// "www.contoso.com"), else the whole name.
fn short_name(dn: &str) -> &str {
    dn.split(", ")
        .filter_map(|part| part.strip_prefix("CN="))
        .last()
        .unwrap_or(dn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_name_takes_the_common_name() {
        assert_eq!(
            short_name("C=US, O=Contoso, CN=www.contoso.com"),
            "www.contoso.com"
        );
        assert_eq!(short_name("O=No CN here"), "O=No CN here");
    }
}
