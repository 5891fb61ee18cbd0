//! Message bodies: form fields, JSON members and XML elements that hold a credential or a token
//! (OAuth grants and responses, MRAS relay credentials, the web ticket service's SOAP), and any
//! web ticket or JWT in other text. The body keeps its structure; its lengths, hashes,
//! `Content-Length` and content encoding follow the redacted bytes, so an exported SAZ or HAR
//! stays consistent.

use super::fingerprint::Fingerprints;
use super::params::redact_pairs;
use super::token::{token, Ctx};
use crate::model::{Body, Headers};
use regex::{Captures, Regex};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::sync::{Arc, LazyLock};

/// JSON members whose string value is a secret (RFC 6749 §5.1 token responses, OpenID Connect,
/// UCWA `mediaRelayAccessToken`, grants sent as JSON).
static RE_JSON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)"(access_token|refresh_token|id_token|accessToken|refreshToken|idToken|cwt|password|passwd|client_secret|assertion|userName)"(\s*:\s*)"((?:[^"\\]|\\.)*)""#,
    )
    .expect("static regex")
});

/// XML elements whose text is a secret: WS-Trust entropy (`BinarySecret`), the signature of a
/// SAML assertion (without it the assertion cannot be replayed; its conditions, audience and
/// subject stay readable), an encrypted key, a WS-Security password.
static RE_XML: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"<((?:[\w.-]+:)?(BinarySecret|SignatureValue|DigestValue|CipherValue|Password))(\s[^>]*)?>([^<]+)<",
    )
    .expect("static regex")
});

/// A web ticket or a JWT anywhere else in a text.
static RE_CWT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bcwt=([A-Za-z0-9%+/_-]{8,}=*)").expect("static regex"));
static RE_JWT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
        .expect("static regex")
});

/// The bytes of a body with its secrets replaced; None when it holds none.
pub(super) fn redact_bytes(
    f: &mut Fingerprints,
    content_type: Option<&str>,
    bytes: &[u8],
) -> Option<Vec<u8>> {
    let structured = std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| redact_text(f, content_type, text));
    let after = structured.as_deref().map_or(bytes, str::as_bytes);
    match f.sweep_bytes(after) {
        Some(swept) => Some(swept),
        None => structured.map(String::into_bytes),
    }
}

fn redact_text(f: &mut Fingerprints, content_type: Option<&str>, text: &str) -> Option<String> {
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    let mut out = std::borrow::Cow::Borrowed(text);
    let form = ct.starts_with("application/x-www-form-urlencoded")
        || (ct.is_empty() && looks_like_form(text));
    if form {
        if let Some(r) = redact_pairs(f, text.trim_end_matches(['\r', '\n']), true) {
            let tail = &text[text.trim_end_matches(['\r', '\n']).len()..];
            out = std::borrow::Cow::Owned(format!("{r}{tail}"));
        }
    }
    if out.contains('"') {
        // MRAS: `userName` is a relay credential next to its `password`; elsewhere a user
        // name is what a reader needs.
        let mras = out.contains("\"password\"");
        let r = RE_JSON.replace_all(&out, |c: &Captures<'_>| {
            let key = &c[1];
            let raw = &c[3];
            let lower = key.to_ascii_lowercase();
            if raw.is_empty() || (lower == "username" && !mras) {
                return c[0].to_string();
            }
            let value = serde_json::from_str::<String>(&format!("\"{raw}\""))
                .unwrap_or_else(|_| raw.to_string());
            let replacement = match lower.as_str() {
                "password" | "passwd" => f.replace("password", &value, None),
                "username" => f.replace("mras-credential", &value, None),
                "client_secret" => f.replace("client-secret", &value, None),
                "cwt" => f.replace("cwt", value.strip_prefix("cwt=").unwrap_or(&value), None),
                _ => token(f, &value, "token", Ctx::Text),
            };
            format!("\"{key}\"{}\"{replacement}\"", &c[2])
        });
        if let std::borrow::Cow::Owned(s) = r {
            out = std::borrow::Cow::Owned(s);
        }
    }
    if out.contains('<') {
        let r = RE_XML.replace_all(&out, |c: &Captures<'_>| {
            let kind = match &c[2] {
                "BinarySecret" => "binary-secret",
                "SignatureValue" | "DigestValue" => "signature",
                "CipherValue" => "encrypted-key",
                _ => "password",
            };
            let value = c[4].trim();
            if value.is_empty() {
                return c[0].to_string();
            }
            format!(
                "<{}{}>{}<",
                &c[1],
                c.get(3).map_or("", |m| m.as_str()),
                f.replace(kind, value, None)
            )
        });
        if let std::borrow::Cow::Owned(s) = r {
            out = std::borrow::Cow::Owned(s);
        }
    }
    if out.contains("cwt=") {
        let r = RE_CWT.replace_all(&out, |c: &Captures<'_>| {
            let v = crate::model::url::percent_decode(&c[1]);
            format!("cwt={}", f.replace("cwt", &v, None))
        });
        if let std::borrow::Cow::Owned(s) = r {
            out = std::borrow::Cow::Owned(s);
        }
    }
    if out.contains("eyJ") {
        let r = RE_JWT.replace_all(&out, |c: &Captures<'_>| token(f, &c[0], "token", Ctx::Url));
        if let std::borrow::Cow::Owned(s) = r {
            out = std::borrow::Cow::Owned(s);
        }
    }
    match out {
        std::borrow::Cow::Owned(s) => Some(s),
        std::borrow::Cow::Borrowed(_) => None,
    }
}

/// A body sent without a content type that reads as `a=1&b=2`.
fn looks_like_form(text: &str) -> bool {
    let t = text.trim();
    !t.is_empty()
        && t.contains('=')
        && !t.contains(['{', '<', ' ', '\n'])
        && t.split('&').all(|p| p.contains('='))
}

/// Redacts one message's body in place, and the headers that describe it.
pub(super) fn redact_message_body(f: &mut Fingerprints, headers: &mut Headers, body: &mut Body) {
    let content_type = headers.get("content-type").map(str::to_string);
    let Some(kept) = body.kept.clone() else {
        // Only a head (or nothing) of the body was kept: the rest cannot be checked, so no
        // hash of it is given, and no bytes of it are exported.
        if let Some(head) = body.head.clone() {
            if let Some(r) = redact_bytes(f, content_type.as_deref(), &head) {
                body.head = Some(Arc::from(r));
            }
        }
        if body.wire_length > 0 {
            body.wire_kept = None;
            body.digests = crate::model::Digests::default();
        }
        return;
    };
    let Some(new) = redact_bytes(f, content_type.as_deref(), &kept) else {
        return;
    };
    let new: Arc<[u8]> = Arc::from(new);
    body.decoded_length = Some(new.len() as u64);
    body.digests =
        crate::model::Digests::new(body.wire_sha256(), Some(Sha256::digest(&new).into()));
    if body.head.is_some() {
        body.head = Some(new.clone());
    }
    body.kept = Some(new.clone());
    let wire: Arc<[u8]> = match encode(&body.content_encoding, &new) {
        Some(w) => Arc::from(w),
        None => {
            // An encoding this crate cannot write (br …): the body goes out decoded.
            body.content_encoding.clear();
            *headers = rebuild(headers, |n, v| {
                (!n.eq_ignore_ascii_case("content-encoding")).then(|| v.to_string())
            });
            new.clone()
        }
    };
    body.wire_length = wire.len() as u64;
    body.digests =
        crate::model::Digests::new(Some(Sha256::digest(&wire).into()), body.decoded_sha256());
    body.wire_kept = Some(wire.clone());
    let len = wire.len().to_string();
    *headers = rebuild(headers, |n, v| {
        Some(if n.eq_ignore_ascii_case("content-length") {
            len.clone()
        } else {
            v.to_string()
        })
    });
}

/// `bytes` with the content encodings applied again, in the sender's order; None for one that
/// cannot be written here.
fn encode(encodings: &[String], bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = bytes.to_vec();
    for e in encodings {
        out = match e.as_str() {
            "identity" => out,
            "gzip" | "x-gzip" => {
                let mut g =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                g.write_all(&out).ok()?;
                g.finish().ok()?
            }
            "deflate" => {
                let mut z =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
                z.write_all(&out).ok()?;
                z.finish().ok()?
            }
            _ => return None,
        };
    }
    Some(out)
}

/// The headers with each value mapped (None drops the field).
pub(super) fn rebuild(
    headers: &Headers,
    mut map: impl FnMut(&str, &str) -> Option<String>,
) -> Headers {
    let pairs: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(n, v)| map(n, v).map(|v| (n.to_string(), v)))
        .collect();
    Headers::from_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn red(ct: &str, text: &str) -> String {
        let mut f = Fingerprints::collecting();
        String::from_utf8(redact_bytes(&mut f, Some(ct), text.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn json_form_xml_keep_structure() {
        let j = red(
            "application/json",
            r#"{"access_token": "cwt=AAEB\/x", "expires_in": 28800, "token_type": "Bearer"}"#,
        );
        assert!(j.starts_with(r#"{"access_token": "cwt=‹cwt:"#), "{j}");
        assert!(
            j.ends_with(r#"", "expires_in": 28800, "token_type": "Bearer"}"#),
            "{j}"
        );
        let m = red(
            "application/json",
            r#"{"userName":"AgAA","password":"t6cY","validUntil":"x"}"#,
        );
        assert!(
            m.contains(r#""userName":"‹mras-credential:"#)
                && m.contains(r#""password":"‹password:"#)
        );
        let u = red("application/json", r#"{"userName":"alice"}"#);
        assert!(u.is_empty() || u.contains("alice"));
        let x = red(
            "text/xml",
            "<wst:Entropy><wst:BinarySecret Type=\"n\">c2VjcmV0</wst:BinarySecret></wst:Entropy>",
        );
        assert!(
            x.starts_with("<wst:Entropy><wst:BinarySecret Type=\"n\">‹binary-secret:"),
            "{x}"
        );
        assert!(x.ends_with("›</wst:BinarySecret></wst:Entropy>"), "{x}");
        let form = red(
            "application/x-www-form-urlencoded;charset=UTF-8",
            "grant_type=password&username=alice&password=hunter2",
        );
        assert!(
            form.contains("username=alice&password=‹password:"),
            "{form}"
        );
    }

    #[test]
    fn gzip_body_is_encoded_again() {
        use std::io::Read;
        let mut f = Fingerprints::collecting();
        let text = br#"{"access_token":"cwt=AAEBsecret","expires_in":1}"#.to_vec();
        let wire = encode(&["gzip".to_string()], &text).unwrap();
        let mut body = Body {
            wire_length: wire.len() as u64,
            decoded_length: Some(text.len() as u64),
            content: crate::model::BodyContent {
                content_encoding: vec!["gzip".into()],
                kept: Some(Arc::from(text)),
                wire_kept: Some(Arc::from(wire)),
                ..Default::default()
            }
            .shared(),
            complete: true,
            ..Body::default()
        };
        let mut h = Headers::from_pairs([("Content-Encoding", "gzip"), ("Content-Length", "1")]);
        redact_message_body(&mut f, &mut h, &mut body);
        let w = body.wire_kept.as_deref().unwrap();
        let mut plain = String::new();
        flate2::read::GzDecoder::new(w)
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain.as_bytes(), body.kept.as_deref().unwrap());
        assert!(
            plain.starts_with(r#"{"access_token":"cwt=‹cwt:"#),
            "{plain}"
        );
        assert_eq!(h.get("content-encoding"), Some("gzip"));
        assert_eq!(h.get("content-length"), Some(w.len().to_string().as_str()));
    }

    #[test]
    fn lengths_and_content_length_follow() {
        let mut f = Fingerprints::collecting();
        let text = b"password=hunter2".to_vec();
        let mut body = Body {
            wire_length: text.len() as u64,
            decoded_length: Some(text.len() as u64),
            content: crate::model::BodyContent {
                kept: Some(Arc::from(text.clone())),
                wire_kept: Some(Arc::from(text)),
                ..Default::default()
            }
            .shared(),
            complete: true,
            ..Body::default()
        };
        let mut h = Headers::from_pairs([
            ("Content-Length", "16"),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ]);
        redact_message_body(&mut f, &mut h, &mut body);
        let w = body.wire_kept.as_deref().unwrap();
        assert_eq!(h.get("content-length"), Some(w.len().to_string().as_str()));
        assert_eq!(body.wire_length, w.len() as u64);
        assert!(!String::from_utf8_lossy(w).contains("hunter2"));
    }
}
