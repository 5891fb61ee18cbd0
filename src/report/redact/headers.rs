//! Header values: credentials (`Authorization`, `Proxy-Authorization`, `X-MS-WebTicket`),
//! the token parts of challenges (`WWW-Authenticate`), cookies and URLs. Names, schemes,
//! challenge parameters and cookie names stay.

use super::fingerprint::Fingerprints;
use super::ntlm::{nt_response, zero_type3};
use super::params::redact_url;
use super::token::{saml_of_base64, saml_words, token, Ctx};
use base64::Engine;

/// The value of header `name` redacted; None when it holds nothing to redact.
pub(super) fn redact_header(f: &mut Fingerprints, name: &str, value: &str) -> Option<String> {
    match name.to_ascii_lowercase().as_str() {
        "authorization" | "proxy-authorization" => credentials(f, value),
        "www-authenticate" | "proxy-authenticate" => challenge(f, value),
        "cookie" => cookie(f, value),
        "set-cookie" | "set-cookie2" => set_cookie(f, value),
        "x-ms-webticket" => web_ticket(f, value),
        "location" | "content-location" | "referer" | "x-ms-webticketurl" => redact_url(f, value),
        _ => None,
    }
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// `Authorization` / `Proxy-Authorization`: `<scheme> <credentials>`.
fn credentials(f: &mut Fingerprints, value: &str) -> Option<String> {
    let v = value.trim();
    let (scheme, rest) = match v.split_once(' ') {
        Some((s, r)) => (s, r.trim()),
        None => return Some(f.replace("credentials", v, None)),
    };
    if rest.is_empty() {
        return None;
    }
    let lower = scheme.to_ascii_lowercase();
    let redacted = match lower.as_str() {
        "ntlm" | "negotiate" | "kerberos" => {
            let bytes = b64().decode(rest).ok();
            match bytes {
                Some(b) if b.windows(8).any(|w| w == b"NTLMSSP\0") => {
                    let zeroed = zero_type3(&b)?;
                    if let Some(nt) = nt_response(&b) {
                        // Counted here, and the whole credential is known to the catch-all.
                        f.learn("ntlm-response", &super::fingerprint::hex(nt));
                    }
                    f.note("ntlm-response", rest);
                    b64().encode(zeroed)
                }
                // A Kerberos AP-REQ (or anything else): the ticket is the credential.
                _ => f.replace("kerberos", rest, None),
            }
        }
        "basic" => {
            let decoded = b64()
                .decode(rest)
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            match decoded.as_deref().and_then(|d| d.split_once(':')) {
                // Still Basic, the user readable in it, the password a fingerprint.
                Some((user, pass)) => {
                    let p = f.replace("password", pass, None);
                    f.learn("password", rest);
                    b64().encode(format!("{user}:{p}"))
                }
                None => f.replace("credentials", rest, None),
            }
        }
        "bearer" | "msrtcoauth" => token(f, rest, "token", Ctx::Text),
        _ => f.replace("credentials", rest, None),
    };
    Some(format!("{scheme} {redacted}"))
}

/// `WWW-Authenticate`: the parameters are no secret (realm, href, grant types …); a
/// `Negotiate` blob that is not NTLM is a Kerberos AP-REP (mutual authentication) and goes.
fn challenge(f: &mut Fingerprints, value: &str) -> Option<String> {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)\b(Negotiate|Kerberos)\s+([A-Za-z0-9+/]{16,}=*)")
            .expect("static regex")
    });
    let mut changed = false;
    let out = RE.replace_all(value, |c: &regex::Captures<'_>| {
        let blob = &c[2];
        let is_ntlm = b64()
            .decode(blob)
            .is_ok_and(|b| b.windows(8).any(|w| w == b"NTLMSSP\0"));
        if is_ntlm {
            return c[0].to_string();
        }
        changed = true;
        format!("{} {}", &c[1], f.replace("kerberos", blob, None))
    });
    changed.then(|| out.into_owned())
}

/// `Cookie: a=1; b=2`: every value goes, the names stay.
fn cookie(f: &mut Fingerprints, value: &str) -> Option<String> {
    let parts: Vec<String> = value
        .split(';')
        .map(|p| match p.split_once('=') {
            Some((n, v)) if !v.trim().is_empty() => {
                format!("{n}={}", f.replace("cookie", v.trim(), None))
            }
            _ => p.to_string(),
        })
        .collect();
    let out = parts.join(";");
    (out != value).then_some(out)
}

/// `Set-Cookie: name=value; Path=/; Secure`: the value goes, the attributes stay.
fn set_cookie(f: &mut Fingerprints, value: &str) -> Option<String> {
    let (first, attrs) = match value.find(';') {
        Some(i) => value.split_at(i),
        None => (value, ""),
    };
    let (name, v) = first.split_once('=')?;
    if v.trim().is_empty() {
        return None;
    }
    Some(format!(
        "{name}={}{attrs}",
        f.replace("cookie", v.trim(), None)
    ))
}

/// `X-MS-WebTicket: opaque=<base64 SAML>`: the ticket goes, its audience and expiry stay.
fn web_ticket(f: &mut Fingerprints, value: &str) -> Option<String> {
    let v = value.trim();
    let (prefix, blob) = match v.split_once('=') {
        Some((p, b)) if p.eq_ignore_ascii_case("opaque") => (format!("{p}="), b),
        _ => (String::new(), v),
    };
    if blob.is_empty() {
        return None;
    }
    let words = saml_of_base64(blob).and_then(|xml| saml_words(&xml));
    Some(format!(
        "{prefix}{}",
        f.replace("saml", blob, words.as_deref())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_keep_scheme_cookies_keep_names() {
        let mut f = Fingerprints::collecting();
        let a = redact_header(&mut f, "Authorization", "Bearer cwt=AAEBHAEFxyz").unwrap();
        assert!(a.starts_with("Bearer cwt=‹cwt:"), "{a}");
        let b = redact_header(&mut f, "authorization", "Basic YWxpY2U6c2VjcmV0").unwrap();
        let user_pass = String::from_utf8(b64().decode(&b["Basic ".len()..]).unwrap()).unwrap();
        assert!(user_pass.starts_with("alice:‹password:"), "{user_pass}");
        let c = redact_header(&mut f, "Cookie", "cwt_ucwa=AAEB; other=1").unwrap();
        assert!(
            c.starts_with("cwt_ucwa=‹cookie:") && c.contains("; other=‹cookie:"),
            "{c}"
        );
        let s = redact_header(&mut f, "Set-Cookie", "cwt_ucwa=AAEB; path=/x; secure").unwrap();
        assert!(s.ends_with("; path=/x; secure"), "{s}");
        assert!(redact_header(
            &mut f,
            "WWW-Authenticate",
            r#"MsRtcOAuth href="https://h/WebTicket/oauthtoken",grant_type="urn:microsoft.rtc:windows""#
        )
        .is_none());
        assert!(redact_header(&mut f, "WWW-Authenticate", "Negotiate").is_none());
        assert!(redact_header(&mut f, "Content-Type", "text/xml").is_none());
    }
}
