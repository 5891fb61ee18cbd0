//! Tokens in place of which a fingerprint goes, with what a reader needs of them kept in words:
//! a web ticket stays `cwt=…`, a JWT keeps its type, audience, issuer and expiry (decoded, not
//! verified), a SAML web ticket its audience and expiry.

use super::fingerprint::Fingerprints;
use base64::Engine;

/// Where the replacement goes: words may follow the fingerprint in a header or a JSON string,
/// not in a URL, a form field or a cookie (no spaces there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ctx {
    Text,
    Url,
}

/// The replacement of a token: `cwt=‹cwt:…›`, `‹jwt:… aud=… exp=…›`, or `‹kind:…›`.
pub(super) fn token(f: &mut Fingerprints, value: &str, kind: &'static str, ctx: Ctx) -> String {
    if let Some(rest) = value.strip_prefix("cwt=") {
        return format!("cwt={}", f.replace("cwt", rest, None));
    }
    if let Some(words) = jwt_words(value) {
        let extra = (ctx == Ctx::Text).then_some(words);
        return f.replace("jwt", value, extra.as_deref());
    }
    f.replace(kind, value, None)
}

/// `typ=JWT aud=… iss=… exp=2019-06-24T09:00:00Z` of a JWT (RFC 7519), None when `value` is
/// not one.
pub(super) fn jwt_words(value: &str) -> Option<String> {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts = value.trim().split('.');
    let (head, payload) = (parts.next()?, parts.next()?);
    parts.next()?;
    let decode = |p: &str| -> Option<serde_json::Value> {
        let bytes = engine.decode(p.trim_end_matches('=')).ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    let head = decode(head)?;
    let claims = decode(payload)?;
    let text = |v: &serde_json::Value, k: &str| -> Option<String> {
        match v.get(k)? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Array(a) => Some(
                a.iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => None,
        }
    };
    let mut words = Vec::new();
    if let Some(t) = text(&head, "typ") {
        words.push(format!("typ={}", clean(&t)));
    }
    for k in ["aud", "iss"] {
        if let Some(v) = text(&claims, k) {
            words.push(format!("{k}={}", clean(&v)));
        }
    }
    if let Some(exp) = claims.get("exp").and_then(serde_json::Value::as_i64) {
        words.push(format!("exp={}", crate::datetime::rfc3339_seconds(exp)));
    }
    Some(words.join(" "))
}

/// `aud=… exp=…` of a SAML assertion (its `Audience` and `NotOnOrAfter`).
pub(super) fn saml_words(xml: &str) -> Option<String> {
    static RE_EXP: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"NotOnOrAfter\s*=\s*"([^"]{1,64})""#).expect("static regex")
    });
    static RE_AUD: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"<(?:[\w.-]+:)?Audience>([^<]{1,512})<").expect("static regex")
    });
    let mut words = Vec::new();
    if let Some(c) = RE_AUD.captures(xml) {
        words.push(format!("aud={}", clean(&c[1])));
    }
    if let Some(c) = RE_EXP.captures(xml) {
        words.push(format!("exp={}", clean(&c[1])));
    }
    (!words.is_empty()).then(|| words.join(" "))
}

/// The base64 of a SAML web ticket (`X-MS-WebTicket: opaque=…`) decoded to its XML.
pub(super) fn saml_of_base64(b64: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let xml = String::from_utf8(bytes).ok()?;
    xml.contains("Assertion").then_some(xml)
}

/// A claim's words without what would break the text they go into (quotes, escapes, markup,
/// spaces, a closing fingerprint bracket).
fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '"' | '\\' | '<' | '>' | '&' | '›') && !c.is_whitespace())
        .filter(|c| !c.is_control())
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64url(s: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn jwt_keeps_type_audience_issuer_expiry() {
        let jwt = format!(
            "{}.{}.c2ln",
            b64url(r#"{"typ":"JWT","alg":"RS256"}"#),
            b64url(
                r#"{"aud":"https://webdir.online.lync.com","iss":"https://sts/","exp":1561366800,"upn":"alice@fabrikam.com"}"#
            )
        );
        let w = jwt_words(&jwt).unwrap();
        assert_eq!(
            w,
            "typ=JWT aud=https://webdir.online.lync.com iss=https://sts/ exp=2019-06-24T09:00:00Z"
        );
        let mut f = Fingerprints::collecting();
        let t = token(&mut f, &jwt, "token", Ctx::Url);
        assert!(t.starts_with("‹jwt:") && !t.contains(' '), "{t}");
        let t = token(&mut f, "cwt=AAEBHAEF", "token", Ctx::Text);
        assert!(t.starts_with("cwt=‹cwt:"), "{t}");
        assert!(jwt_words("not.a.jwt").is_none());
    }
}
