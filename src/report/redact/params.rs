//! `name=value&…` pairs, in a URL's query or fragment and in a form body: the values of names
//! that carry a credential or a token become fingerprints, the names and every other pair
//! stay as they were.

use super::fingerprint::Fingerprints;
use super::token::{token, Ctx};
use crate::model::url::{form_decode, percent_decode};

/// The kind a parameter's value is redacted as, None for a parameter that is no secret.
fn kind_of(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "password" | "passwd" | "pwd" | "pass" => "password",
        "client_secret" => "client-secret",
        // An OAuth authorization code (RFC 6749 §4.1.2): exchanged for a token once.
        "code" => "auth-code",
        "cwt" => "cwt",
        "access_token" | "id_token" | "refresh_token" | "token" | "assertion"
        | "client_assertion" | "x-ms-webticket" | "sig" | "samlresponse" => "token",
        _ => return None,
    })
}

/// A URL or request target with its secret query and fragment parameters replaced; None when
/// nothing changed.
pub(super) fn redact_url(f: &mut Fingerprints, url: &str) -> Option<String> {
    let cut = url.find(['?', '#'])?;
    let (base, rest) = url.split_at(cut);
    let (query, fragment) = match rest.find('#') {
        Some(h) => (&rest[..h], Some(&rest[h + 1..])),
        None => (rest, None),
    };
    let mut changed = false;
    let mut out = String::from(base);
    if let Some(q) = query.strip_prefix('?') {
        out.push('?');
        match redact_pairs(f, q, false) {
            Some(r) => {
                changed = true;
                out.push_str(&r);
            }
            None => out.push_str(q),
        }
    }
    if let Some(frag) = fragment {
        out.push('#');
        match redact_pairs(f, frag, false) {
            Some(r) => {
                changed = true;
                out.push_str(&r);
            }
            None => out.push_str(frag),
        }
    }
    changed.then_some(out)
}

/// `a=1&password=x` with the secret values replaced; None when nothing changed. `form`: the
/// values are form-encoded (`+` for a space).
pub(super) fn redact_pairs(f: &mut Fingerprints, text: &str, form: bool) -> Option<String> {
    let mut changed = false;
    let parts: Vec<String> = text
        .split('&')
        .map(|pair| {
            let Some((name, value)) = pair.split_once('=') else {
                return pair.to_string();
            };
            let Some(kind) = kind_of(&percent_decode(name)) else {
                return pair.to_string();
            };
            if value.is_empty() {
                return pair.to_string();
            }
            let plain = if form {
                form_decode(value)
            } else {
                percent_decode(value)
            };
            changed = true;
            let replacement = if kind == "cwt" {
                f.replace("cwt", &plain, None)
            } else {
                token(f, &plain, kind, Ctx::Url)
            };
            format!("{name}={replacement}")
        })
        .collect();
    changed.then(|| parts.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_fragment_secrets_go_names_stay() {
        let mut f = Fingerprints::collecting();
        let u = redact_url(
            &mut f,
            "https://h/x?originalDomain=contoso.com&cwt=AAEB%2Bx&code=abc#access_token=t1&state=s",
        )
        .unwrap();
        assert!(
            u.starts_with("https://h/x?originalDomain=contoso.com&cwt=‹cwt:"),
            "{u}"
        );
        assert!(u.contains("&code=‹auth-code:") && u.contains("#access_token=‹token:"));
        assert!(u.ends_with("&state=s"), "{u}");
        assert!(!u.contains("AAEB") && !u.contains("t1&"));
        assert!(redact_url(&mut f, "/plain?a=1").is_none());
        let form = redact_pairs(
            &mut f,
            "grant_type=password&username=alice&password=p%40ss",
            true,
        )
        .unwrap();
        assert!(form.starts_with("grant_type=password&username=alice&password=‹password:"));
    }
}
