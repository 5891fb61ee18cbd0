//! The Auth tab: the decoded authentication legs (NTLM, Negotiate, bearer and web tickets),
//! the server's challenges and its diagnostics.

use super::lines::{clean, Out};
use crate::model::{AuthFacts, AuthLeg, Challenge, Exchange, MsDiagnostic, NtlmMessage, TokenRef};
use ratatui::text::Span;

pub(super) fn auth_tab(out: &mut Out, x: &Exchange) {
    let t = *out.theme;
    let Some(auth) = x.auth.as_deref() else {
        let why = if out.partial {
            "decoded once loading has finished"
        } else {
            "no authentication"
        };
        out.line(vec![Span::styled(why, t.dim())]);
        return;
    };
    auth_facts(out, auth);
}

fn auth_facts(out: &mut Out, auth: &AuthFacts) {
    let t = *out.theme;
    out.heading("Request presents");
    match &auth.request {
        Some(leg) => auth_leg(out, leg),
        None => out.line(vec![Span::styled("  no credentials (anonymous)", t.dim())]),
    }
    if !auth.challenges.is_empty() {
        out.heading("Response asks for");
        for (i, c) in auth.challenges.iter().enumerate() {
            challenge(out, i + 1, c);
        }
    }
    if !auth.diagnostics.is_empty() {
        out.heading("X-Ms-diagnostics");
        for d in &auth.diagnostics {
            ms_diagnostic(out, d);
        }
    }
}

fn auth_leg(out: &mut Out, leg: &AuthLeg) {
    let t = *out.theme;
    let title = |out: &mut Out, text: &str| {
        out.line(vec![Span::styled(format!("  {}", clean(text)), t.title())]);
    };
    match leg {
        AuthLeg::Ntlm(m) => ntlm(out, "  ", m),
        AuthLeg::Negotiate {
            ntlm: inner,
            kerberos,
        } => match inner {
            Some(m) => ntlm(out, "  Negotiate (SPNEGO) wrapping ", m),
            None if *kerberos => title(out, "Negotiate (SPNEGO): Kerberos"),
            None => title(out, "Negotiate (SPNEGO): mechanism not recognised"),
        },
        AuthLeg::Bearer(tok) => {
            title(out, "Bearer token");
            token(out, tok);
        }
        AuthLeg::WebTicket {
            assertion_id,
            token: tok,
        } => {
            title(out, "X-MS-WebTicket (SAML web ticket)");
            if let Some(id) = assertion_id {
                out.field_text("  Assertion", id);
            }
            token(out, tok);
        }
        AuthLeg::Basic { user } => {
            title(out, "Basic");
            out.field_text("  User", user.as_deref().unwrap_or("—"));
        }
        AuthLeg::Other { scheme } => title(out, scheme),
    }
}

fn token(out: &mut Out, tok: &TokenRef) {
    let kind = if tok.cwt {
        "  (Lync/SfB web ticket, cwt)"
    } else {
        ""
    };
    out.field_text("  Token", format!("{}…{kind}", tok.prefix));
    out.field_text("  SHA-256", &tok.sha256);
}

/// An NTLM message under a title line `{prefix}NTLM type N (kind)`.
fn ntlm(out: &mut Out, prefix: &str, m: &NtlmMessage) {
    let t = *out.theme;
    let (kind, flags) = match m {
        NtlmMessage::Negotiate { flags, .. } => ("negotiate", *flags),
        NtlmMessage::Challenge { flags, .. } => ("challenge", *flags),
        NtlmMessage::Authenticate { flags, .. } => ("authenticate", *flags),
    };
    out.line(vec![Span::styled(
        format!("{prefix}NTLM type {} ({kind})", m.message_type()),
        t.title(),
    )]);
    match m {
        NtlmMessage::Negotiate {
            domain,
            workstation,
            ..
        } => {
            out.field_text("  Domain", domain.as_deref().unwrap_or("—"));
            out.field_text("  Workstation", workstation.as_deref().unwrap_or("—"));
        }
        NtlmMessage::Challenge {
            target,
            target_info,
            ..
        } => {
            out.field_text("  Target", target.as_deref().unwrap_or("—"));
            for (i, (k, v)) in target_info.iter().enumerate() {
                let label = if i == 0 { "  Target info" } else { "" };
                out.field(
                    label,
                    vec![
                        Span::styled(format!("{} ", clean(k)), t.dim()),
                        Span::raw(clean(v)),
                    ],
                );
            }
        }
        NtlmMessage::Authenticate {
            domain,
            user,
            workstation,
            ..
        } => {
            out.field_styled("  User", format!("{domain}\\{user}"), t.title());
            out.field_text("  Workstation", workstation);
        }
    }
    out.field(
        "  Flags",
        vec![
            Span::raw(format!("0x{flags:08x}  ")),
            Span::styled(ntlm_flag_names(flags).join(" "), t.dim()),
        ],
    );
}

/// NTLMSSP negotiate flags by name (MS-NLMP §2.2.2.5), lowest bit first.
fn ntlm_flag_names(flags: u32) -> Vec<&'static str> {
    const NAMES: [(u32, &str); 22] = [
        (0x0000_0001, "UNICODE"),
        (0x0000_0002, "OEM"),
        (0x0000_0004, "REQUEST_TARGET"),
        (0x0000_0010, "SIGN"),
        (0x0000_0020, "SEAL"),
        (0x0000_0040, "DATAGRAM"),
        (0x0000_0080, "LM_KEY"),
        (0x0000_0200, "NTLM"),
        (0x0000_0800, "ANONYMOUS"),
        (0x0000_1000, "OEM_DOMAIN_SUPPLIED"),
        (0x0000_2000, "OEM_WORKSTATION_SUPPLIED"),
        (0x0000_8000, "ALWAYS_SIGN"),
        (0x0001_0000, "TARGET_TYPE_DOMAIN"),
        (0x0002_0000, "TARGET_TYPE_SERVER"),
        (0x0008_0000, "EXTENDED_SESSIONSECURITY"),
        (0x0010_0000, "IDENTIFY"),
        (0x0040_0000, "REQUEST_NON_NT_SESSION_KEY"),
        (0x0080_0000, "TARGET_INFO"),
        (0x0200_0000, "VERSION"),
        (0x2000_0000, "128"),
        (0x4000_0000, "KEY_EXCH"),
        (0x8000_0000, "56"),
    ];
    NAMES
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| *n)
        .collect()
}

fn challenge(out: &mut Out, n: usize, c: &Challenge) {
    let t = *out.theme;
    match &c.ntlm {
        Some(m) => {
            let prefix = if c.scheme.eq_ignore_ascii_case("ntlm") {
                format!("  {n}. ")
            } else {
                format!("  {n}. {}: ", clean(&c.scheme))
            };
            ntlm(out, &prefix, m);
        }
        None => out.line(vec![Span::styled(
            format!("  {n}. {}", clean(&c.scheme)),
            t.title(),
        )]),
    }
    for (k, v) in &c.params {
        out.field(&format!("  {k}"), vec![Span::raw(clean(v))]);
    }
}

fn ms_diagnostic(out: &mut Out, d: &MsDiagnostic) {
    let t = *out.theme;
    let code = d.code.map_or_else(|| "—".to_string(), |c| c.to_string());
    out.field_styled("  Code", code, t.warning());
    if let Some(r) = &d.reason {
        out.field_text("  Reason", r);
    }
    if let Some(s) = &d.source {
        out.field_text("  Source", s);
    }
    if let Some(f) = &d.fault {
        out.field_text("  Fault", f);
    }
    out.field_styled("  As sent", &d.raw, t.dim());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntlm_flags_are_named() {
        assert_eq!(ntlm_flag_names(0x0000_0201), vec!["UNICODE", "NTLM"]);
    }
}
