//! Decoded authentication in words (never hashes or tokens): NTLM messages, challenges,
//! tickets, X-Ms-diagnostics.

use crate::model::{AuthFacts, AuthLeg, NtlmMessage};

/// A NTLM message in words (never hashes).
pub fn ntlm_words(m: &NtlmMessage) -> String {
    match m {
        NtlmMessage::Negotiate {
            domain,
            workstation,
            ..
        } => {
            let mut s = "NTLM type 1 (negotiate)".to_string();
            if let Some(d) = domain {
                s.push_str(&format!(", domain {d}"));
            }
            if let Some(w) = workstation {
                s.push_str(&format!(", workstation {w}"));
            }
            s
        }
        NtlmMessage::Challenge {
            target,
            target_info,
            ..
        } => {
            let mut s = "NTLM type 2 (challenge)".to_string();
            if let Some(t) = target {
                s.push_str(&format!(", target {t}"));
            }
            let info: Vec<String> = target_info
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            if !info.is_empty() {
                s.push_str(&format!(" [{}]", info.join(", ")));
            }
            s
        }
        NtlmMessage::Authenticate {
            domain,
            user,
            workstation,
            ..
        } => {
            format!("NTLM type 3 (authenticate): user {domain}\\{user}, workstation {workstation}")
        }
    }
}

/// The authentication facts of an exchange, one line each.
pub fn auth_lines(f: &AuthFacts) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(leg) = &f.request {
        let s = match leg {
            AuthLeg::Ntlm(m) => ntlm_words(m),
            AuthLeg::Negotiate { ntlm, kerberos } => match (ntlm, kerberos) {
                (Some(m), _) => format!("Negotiate wrapping {}", ntlm_words(m)),
                (None, true) => "Negotiate (Kerberos)".to_string(),
                (None, false) => "Negotiate".to_string(),
            },
            AuthLeg::Bearer(t) => format!(
                "Bearer token {}… (sha256 {}){}",
                t.prefix,
                t.sha256.get(..16).unwrap_or(&t.sha256),
                if t.cwt { ", a web ticket" } else { "" }
            ),
            AuthLeg::WebTicket {
                assertion_id,
                token,
            } => format!(
                "X-MS-WebTicket {}… (sha256 {}){}",
                token.prefix,
                token.sha256.get(..16).unwrap_or(&token.sha256),
                assertion_id
                    .as_deref()
                    .map(|i| format!(", assertion {i}"))
                    .unwrap_or_default()
            ),
            AuthLeg::Basic { user } => format!(
                "Basic{}",
                user.as_deref()
                    .map(|u| format!(", user {u}"))
                    .unwrap_or_default()
            ),
            AuthLeg::Other { scheme } => format!("scheme {scheme}"),
        };
        out.push(format!("request presents {s}"));
    }
    for c in &f.challenges {
        let params: Vec<String> = c
            .params
            .iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect();
        let mut s = format!("response asks for {}", c.scheme);
        if !params.is_empty() {
            s.push(' ');
            s.push_str(&params.join(", "));
        }
        if let Some(m) = &c.ntlm {
            s.push_str(&format!(" — {}", ntlm_words(m)));
        }
        out.push(s);
    }
    for d in &f.diagnostics {
        let mut s = "X-Ms-diagnostics".to_string();
        if let Some(c) = d.code {
            s.push_str(&format!(" {c}"));
        }
        if let Some(r) = &d.reason {
            s.push_str(&format!(": {r}"));
        }
        if let Some(src) = &d.source {
            s.push_str(&format!(" (source {src})"));
        }
        if let Some(f) = &d.fault {
            s.push_str(&format!(" fault {f}"));
        }
        if d.code.is_none() && d.reason.is_none() {
            s.push_str(&format!(": {}", d.raw));
        }
        out.push(s);
    }
    out
}
