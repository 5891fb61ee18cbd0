//! Decodes the authentication material of an exchange: `Authorization` (NTLM, Negotiate,
//! Bearer, Basic), `X-MS-WebTicket`, `WWW-Authenticate` challenges, `X-MS-WebTicketURL` and
//! `X-Ms-diagnostics` (stages `ad-user-challenge` to `ucwa-application` of docs/stages.md).
//!
//! Only identities are kept: NTLM responses, session keys, passwords and tokens never leave
//! this module (tokens become a [`TokenRef`]: a prefix and a SHA-256).

use crate::model::{AuthFacts, AuthLeg, Challenge, Headers, MsDiagnostic, NtlmMessage, TokenRef};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use sha2::{Digest, Sha256};

/// Clients differ on padding; accept both so a valid blob is never reported as garbage.
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Headers are bounded by the HTTP layer, but a hostile value could still list thousands of
/// challenges; nobody needs more than these.
const MAX_CHALLENGES: usize = 64;
const MAX_PARAMS: usize = 64;
const MAX_SCHEME_CHARS: usize = 64;

const NTLM_SIGNATURE: &[u8; 8] = b"NTLMSSP\0";
const NTLMSSP_NEGOTIATE_UNICODE: u32 = 0x0000_0001;
const NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED: u32 = 0x0000_1000;
const NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED: u32 = 0x0000_2000;
const MAX_AV_PAIRS: usize = 64;

/// DER of the Kerberos v5 mechanism OIDs (1.2.840.113554.1.2.2 and Microsoft's
/// 1.2.840.48018.1.2.2), tag and length included.
const KRB5_OID: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02,
];
const MS_KRB5_OID: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02,
];
/// Kerberos AP-REQ / AP-REP application tags (RFC 4120 §5.5).
const KRB_AP_REQ: u8 = 0x6e;
const KRB_AP_REP: u8 = 0x6f;

/// Decodes the authentication headers of a request and its response; `None` when there are
/// none.
pub fn auth_facts(request: Option<&Headers>, response: Option<&Headers>) -> Option<AuthFacts> {
    let mut facts = AuthFacts::default();
    // One pass over each message's fields (this runs for every exchange of a capture).
    if let Some(req) = request {
        let (mut authorization, mut ticket, mut proxy) = (None, None, None);
        fn first<'a>(slot: &mut Option<&'a str>, name: &str, want: &str, value: &'a str) {
            if slot.is_none() && name.eq_ignore_ascii_case(want) {
                *slot = Some(value);
            }
        }
        for (name, value) in req.iter() {
            first(&mut authorization, name, "authorization", value);
            first(&mut ticket, name, "x-ms-webticket", value);
            first(&mut proxy, name, "proxy-authorization", value);
            push_diagnostic(name, value, &mut facts.diagnostics);
        }
        facts.request = authorization
            .and_then(decode_authorization)
            .or_else(|| ticket.and_then(decode_webticket))
            .or_else(|| proxy.and_then(decode_authorization));
    }
    if let Some(resp) = response {
        for (name, value) in resp.iter() {
            push_diagnostic(name, value, &mut facts.diagnostics);
            if facts.challenges.len() >= MAX_CHALLENGES {
                continue;
            }
            if name.eq_ignore_ascii_case("www-authenticate")
                || name.eq_ignore_ascii_case("proxy-authenticate")
            {
                facts.challenges.extend(decode_challenges(value));
            } else if name.eq_ignore_ascii_case("x-ms-webticketurl") {
                let url = value.trim();
                if !url.is_empty() {
                    facts.challenges.push(Challenge {
                        scheme: "X-MS-WebTicketURL".to_string(),
                        params: vec![("href".to_string(), url.to_string())],
                        ntlm: None,
                    });
                }
            }
        }
        facts.challenges.truncate(MAX_CHALLENGES);
    }
    (facts != AuthFacts::default()).then_some(facts)
}

/// Keeps an X-Ms-Diagnostics field (at most [`MAX_CHALLENGES`] in `out`, request and
/// response together).
fn push_diagnostic(name: &str, value: &str, out: &mut Vec<MsDiagnostic>) {
    if (name.eq_ignore_ascii_case("x-ms-diagnostics")
        || name.eq_ignore_ascii_case("x-ms-diagnostics-public"))
        && !value.trim().is_empty()
        && out.len() < MAX_CHALLENGES
    {
        out.push(parse_ms_diagnostics(value));
    }
}

/// Decodes one `Authorization` value: `NTLM <b64>`, `Negotiate <b64>`, `Bearer <token>`,
/// `Basic <b64>` or any other scheme. `None` for an empty value.
pub fn decode_authorization(value: &str) -> Option<AuthLeg> {
    let value = value.trim();
    let (scheme, rest) = match value.split_once(|c: char| c.is_ascii_whitespace()) {
        Some((s, r)) => (s, r.trim()),
        None => (value, ""),
    };
    if scheme.is_empty() {
        return None;
    }
    let other = || AuthLeg::Other {
        scheme: scheme.chars().take(MAX_SCHEME_CHARS).collect(),
    };
    let leg = if scheme.eq_ignore_ascii_case("ntlm") {
        b64_decode(rest)
            .and_then(|b| decode_ntlm(&b))
            .map(AuthLeg::Ntlm)
            .unwrap_or_else(other)
    } else if scheme.eq_ignore_ascii_case("negotiate") {
        match b64_decode(rest) {
            Some(b) if !b.is_empty() => decode_spnego(&b),
            _ => other(),
        }
    } else if scheme.eq_ignore_ascii_case("bearer") {
        if rest.is_empty() {
            other()
        } else {
            AuthLeg::Bearer(token_ref(rest))
        }
    } else if scheme.eq_ignore_ascii_case("basic") {
        // Only the part before ':' is kept; the password never leaves this function.
        let user = b64_decode(rest).and_then(|b| {
            let text = String::from_utf8_lossy(&b);
            text.split_once(':')
                .map(|(u, _)| u.to_string())
                .filter(|u| !u.is_empty())
        });
        AuthLeg::Basic { user }
    } else {
        other()
    };
    Some(leg)
}

/// Decodes `X-MS-WebTicket: opaque=<base64 SAML>`; the `AssertionID` is read from the SAML
/// when the blob decodes to XML. `None` for an empty value.
pub fn decode_webticket(value: &str) -> Option<AuthLeg> {
    let value = value.trim();
    let token = strip_prefix_ci(value, "opaque=")
        .unwrap_or(value)
        .trim()
        .trim_matches('"');
    if token.is_empty() {
        return None;
    }
    let assertion_id = b64_decode(token).and_then(|xml| saml_assertion_id(&xml));
    Some(AuthLeg::WebTicket {
        assertion_id,
        token: token_ref(token),
    })
}

/// The `AssertionID` (SAML 1.1) or `ID` (SAML 2.0) of the first `Assertion` element.
fn saml_assertion_id(xml: &[u8]) -> Option<String> {
    use quick_xml::events::Event;
    let text = String::from_utf8_lossy(xml);
    let mut reader = quick_xml::Reader::from_str(&text);
    reader.config_mut().check_end_names = false;
    reader.config_mut().allow_unmatched_ends = true;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                if !e.local_name().as_ref().eq_ignore_ascii_case("assertion") {
                    continue;
                }
                for a in e.attributes().with_checks(false).flatten() {
                    let key = a.key.local_name();
                    let key = key.as_ref();
                    if key.eq_ignore_ascii_case("assertionid") || key.eq_ignore_ascii_case("id") {
                        let v = a
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .ok()?
                            .into_owned();
                        return (!v.is_empty()).then_some(v);
                    }
                }
                return None;
            }
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Splits one `WWW-Authenticate` value into its challenges (RFC 9110 §11.6.1: a comma list
/// that mixes challenges and their parameters). Parameters may be quoted or not; a quoted
/// value keeps its commas (`grant_type="a,b,c"`). A token68 after `NTLM`/`Negotiate` is decoded
/// into [`Challenge::ntlm`] and not kept in `params`.
pub fn decode_challenges(value: &str) -> Vec<Challenge> {
    let s = value.as_bytes();
    let mut i = 0;
    let mut out: Vec<Challenge> = Vec::new();
    while i < s.len() && out.len() < MAX_CHALLENGES {
        skip_while(s, &mut i, |c| c == b',' || is_ows(c));
        if i >= s.len() {
            break;
        }
        let scheme = read_token(value, &mut i);
        if scheme.is_empty() {
            // Not a challenge: drop everything up to the next list separator.
            skip_item(s, &mut i);
            continue;
        }
        let mut challenge = Challenge {
            scheme: scheme.chars().take(MAX_SCHEME_CHARS).collect(),
            params: Vec::new(),
            ntlm: None,
        };
        skip_while(s, &mut i, is_ows);
        if let Some(end) = token68_end(s, i) {
            let blob = value.get(i..end).unwrap_or_default();
            i = end;
            challenge.ntlm = decode_challenge_blob(scheme, blob);
        } else {
            read_params(value, &mut i, &mut challenge.params);
        }
        out.push(challenge);
    }
    out
}

fn decode_challenge_blob(scheme: &str, blob: &str) -> Option<NtlmMessage> {
    let bytes = b64_decode(blob)?;
    if scheme.eq_ignore_ascii_case("ntlm") {
        decode_ntlm(&bytes)
    } else if scheme.eq_ignore_ascii_case("negotiate") {
        match decode_spnego(&bytes) {
            AuthLeg::Negotiate { ntlm, .. } => ntlm,
            _ => None,
        }
    } else {
        None
    }
}

/// Reads `name=value` pairs separated by commas until the list continues with a new
/// challenge (a token not followed by `=`) or ends.
fn read_params(value: &str, i: &mut usize, params: &mut Vec<(String, String)>) {
    let s = value.as_bytes();
    loop {
        let start = *i;
        skip_while(s, i, |c| c == b',' || is_ows(c));
        let name = read_token(value, i);
        skip_while(s, i, is_ows);
        if name.is_empty() || s.get(*i) != Some(&b'=') {
            // The start of the next challenge (or junk): leave it to the caller.
            *i = start;
            return;
        }
        *i += 1;
        skip_while(s, i, is_ows);
        let v = if s.get(*i) == Some(&b'"') {
            read_quoted(value, i)
        } else {
            // Lenient: unquoted URLs (MsRtcOAuth href=https://…) are not RFC tokens.
            let from = *i;
            skip_while(s, i, |c| c != b',' && !is_ows(c));
            value.get(from..*i).unwrap_or_default().to_string()
        };
        if params.len() < MAX_PARAMS {
            params.push((name.to_string(), v));
        }
        skip_while(s, i, is_ows);
        if *i >= s.len() {
            return;
        }
        if s.get(*i) != Some(&b',') {
            // Garbage after a value: skip to the next separator and go on.
            skip_item(s, i);
        }
        if *i == start {
            return;
        }
    }
}

/// If a token68 starts at `i` (RFC 9110 §11.2) and is all that the list item holds, its end.
fn token68_end(s: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    skip_while(s, &mut j, |c| {
        c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
    });
    if j == i {
        return None;
    }
    skip_while(s, &mut j, |c| c == b'=');
    let end = j;
    skip_while(s, &mut j, is_ows);
    (j >= s.len() || s.get(j) == Some(&b',')).then_some(end)
}

fn read_token<'a>(value: &'a str, i: &mut usize) -> &'a str {
    let from = *i;
    skip_while(value.as_bytes(), i, is_tchar);
    value.get(from..*i).unwrap_or_default()
}

/// A quoted-string starting at `i` (on the opening quote), unescaped; an unterminated one runs
/// to the end of the value.
fn read_quoted(value: &str, i: &mut usize) -> String {
    let mut out = String::new();
    let mut chars = value.get(*i + 1..).unwrap_or_default().char_indices();
    let mut end = value.len();
    while let Some((k, c)) = chars.next() {
        match c {
            '"' => {
                end = *i + 1 + k + 1;
                break;
            }
            '\\' => {
                if let Some((_, n)) = chars.next() {
                    out.push(n);
                }
            }
            _ => out.push(c),
        }
    }
    *i = end;
    out
}

/// Skips to the next comma outside a quoted string.
fn skip_item(s: &[u8], i: &mut usize) {
    let mut quoted = false;
    let start = *i;
    while let Some(&c) = s.get(*i) {
        match c {
            b'"' => quoted = !quoted,
            b'\\' if quoted => *i += 1,
            b',' if !quoted => break,
            _ => {}
        }
        *i += 1;
    }
    if *i == start && *i < s.len() {
        *i += 1;
    }
    *i = (*i).min(s.len());
}

fn skip_while(s: &[u8], i: &mut usize, f: impl Fn(u8) -> bool) {
    while s.get(*i).is_some_and(|&c| f(c)) {
        *i += 1;
    }
}

fn is_ows(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    B64.decode(s).ok()
}

/// Decodes an NTLMSSP message (MS-NLMP §2.2.1). `None` when the signature or type is wrong or
/// the fixed header is cut. Payload fields whose length/offset point outside the message are
/// treated as absent. The LM/NT responses and the session key are never read.
pub fn decode_ntlm(bytes: &[u8]) -> Option<NtlmMessage> {
    if bytes.get(..8)? != NTLM_SIGNATURE {
        return None;
    }
    match le_u32(bytes, 8)? {
        1 => {
            let flags = le_u32(bytes, 12)?;
            // Type 1 names are OEM per the spec; some stacks send UTF-16 anyway.
            let oem_name = |at: usize, flag: u32| {
                if flags & flag == 0 {
                    return None;
                }
                let raw = field(bytes, at)?;
                let unicode = looks_utf16le(raw);
                Some(decode_text(raw, unicode)).filter(|s| !s.is_empty())
            };
            Some(NtlmMessage::Negotiate {
                flags,
                domain: oem_name(16, NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED),
                workstation: oem_name(24, NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED),
            })
        }
        2 => {
            let flags = le_u32(bytes, 20)?;
            let unicode = flags & NTLMSSP_NEGOTIATE_UNICODE != 0;
            let target = field(bytes, 12)
                .map(|raw| decode_text(raw, unicode))
                .filter(|s| !s.is_empty());
            let target_info = field(bytes, 40).map(av_names).unwrap_or_default();
            Some(NtlmMessage::Challenge {
                flags,
                target,
                target_info,
            })
        }
        3 => {
            // The workstation field ends at 52; very old type 3 messages stop there (no
            // session key, no flags).
            if bytes.len() < 52 {
                return None;
            }
            let flags = le_u32(bytes, 60);
            let text = |at: usize| {
                field(bytes, at)
                    .map(|raw| {
                        let unicode = match flags {
                            Some(f) => f & NTLMSSP_NEGOTIATE_UNICODE != 0,
                            None => looks_utf16le(raw),
                        };
                        decode_text(raw, unicode)
                    })
                    .unwrap_or_default()
            };
            Some(NtlmMessage::Authenticate {
                domain: text(28),
                user: text(36),
                workstation: text(44),
                flags: flags.unwrap_or(0),
            })
        }
        _ => None,
    }
}

/// The names in a type 2 target info AV_PAIR list (MS-NLMP §2.2.2.1).
fn av_names(info: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while out.len() < MAX_AV_PAIRS {
        let (Some(id), Some(len)) = (le_u16(info, pos), le_u16(info, pos + 2)) else {
            break;
        };
        if id == 0 {
            break;
        }
        let start = pos + 4;
        let Some(value) = info.get(start..start + usize::from(len)) else {
            break;
        };
        let name = match id {
            1 => "MsvAvNbComputerName",
            2 => "MsvAvNbDomainName",
            3 => "MsvAvDnsComputerName",
            4 => "MsvAvDnsDomainName",
            5 => "MsvAvDnsTreeName",
            _ => "",
        };
        if !name.is_empty() {
            out.push((name.to_string(), decode_text(value, true)));
        }
        pos = start + usize::from(len);
    }
    out
}

/// A security buffer (u16 length, u16 max length, u32 offset) at `at`; `None` when empty or
/// pointing outside the message.
fn field(bytes: &[u8], at: usize) -> Option<&[u8]> {
    let len = usize::from(le_u16(bytes, at)?);
    let offset = usize::try_from(le_u32(bytes, at + 4)?).ok()?;
    if len == 0 {
        return None;
    }
    bytes.get(offset..offset.checked_add(len)?)
}

fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    let raw: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(u16::from_le_bytes(raw))
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    let raw: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(raw))
}

/// UTF-16LE, or the OEM code page, which is unknown here: UTF-8 when valid, else Latin-1 so
/// no byte is lost.
fn decode_text(raw: &[u8], unicode: bool) -> String {
    let text = if unicode {
        let units: Vec<u16> = raw
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        match std::str::from_utf8(raw) {
            Ok(s) => s.to_string(),
            Err(_) => raw.iter().map(|&b| char::from(b)).collect(),
        }
    };
    text.trim_end_matches('\0').to_string()
}

/// ASCII text in UTF-16LE: even length and every second byte zero.
fn looks_utf16le(raw: &[u8]) -> bool {
    raw.len() >= 2 && raw.len().is_multiple_of(2) && raw.iter().skip(1).step_by(2).all(|&b| b == 0)
}

/// Decodes a `Negotiate` blob (SPNEGO / GSS-API): an embedded NTLMSSP message when there is
/// one, else whether it carries Kerberos (mechanism OID or an AP-REQ/AP-REP).
pub fn decode_spnego(bytes: &[u8]) -> AuthLeg {
    if let Some(pos) = find(bytes, NTLM_SIGNATURE) {
        if let Some(ntlm) = bytes.get(pos..).and_then(decode_ntlm) {
            return AuthLeg::Negotiate {
                ntlm: Some(ntlm),
                kerberos: false,
            };
        }
    }
    let kerberos = find(bytes, KRB5_OID).is_some()
        || find(bytes, MS_KRB5_OID).is_some()
        || matches!(bytes.first(), Some(&KRB_AP_REQ) | Some(&KRB_AP_REP));
    AuthLeg::Negotiate {
        ntlm: None,
        kerberos,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Parses `X-Ms-diagnostics: 28032;source="fe01.contoso.net";reason="…"` (MS-OCAUTHWS):
/// `errorId` then `;name=value` parameters, quoted or not, in any order (`fault` optional,
/// unknown ones ignored). `code` is `None` when the first field is not a number.
pub fn parse_ms_diagnostics(value: &str) -> MsDiagnostic {
    let mut diag = MsDiagnostic {
        code: None,
        source: None,
        reason: None,
        fault: None,
        raw: value.to_string(),
    };
    for (n, part) in split_unquoted(value, b';').into_iter().enumerate() {
        let part = part.trim();
        let Some((name, v)) = part.split_once('=') else {
            if n == 0 {
                diag.code = part.parse().ok();
            }
            continue;
        };
        let v = v.trim();
        let v = if v.starts_with('"') {
            let mut i = 0;
            read_quoted(v, &mut i)
        } else {
            v.to_string()
        };
        let slot = match name.trim().to_ascii_lowercase().as_str() {
            "source" => &mut diag.source,
            "reason" => &mut diag.reason,
            "fault" => &mut diag.fault,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(v);
        }
    }
    diag
}

/// Splits on `sep` outside double quotes.
fn split_unquoted(value: &str, sep: u8) -> Vec<&str> {
    let s = value.as_bytes();
    let mut parts = Vec::new();
    let (mut from, mut i, mut quoted) = (0usize, 0usize, false);
    while let Some(&c) = s.get(i) {
        if c == b'"' {
            quoted = !quoted;
        } else if c == b'\\' && quoted {
            i += 1;
        } else if c == sep && !quoted {
            parts.push(value.get(from..i).unwrap_or_default());
            from = i + 1;
        }
        i += 1;
    }
    parts.push(value.get(from..).unwrap_or_default());
    parts
}

/// A token shown by reference: the first 12 characters and the SHA-256 (lower-case hex) of the
/// whole string; `cwt` when it is a Lync web ticket (`cwt=…`).
pub fn token_ref(token: &str) -> TokenRef {
    let digest = Sha256::digest(token.as_bytes());
    let mut sha256 = String::with_capacity(64);
    for b in digest.iter() {
        sha256.push(char::from(HEX[usize::from(b >> 4)]));
        sha256.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    TokenRef {
        prefix: token.chars().take(12).collect(),
        sha256,
        cwt: token.starts_with("cwt="),
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `X-Ms-diagnostics` ids that mean "the token or web ticket was rejected" (docs/checks.md
/// C-AUTH-9): 28032 web ticket invalid, 28033 expired, 28055 OAuth token invalid, 28056 OAuth
/// token expired, 28072 ticket could not be verified, 28077 invalid audience.
pub const TOKEN_REJECTION_IDS: [u32; 6] = [28032, 28033, 28055, 28056, 28072, 28077];

static RE_WARNING_INVALID_TOKEN: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"(?i)^\s*1[0-9][0-9]\s+\S+\s+"InvalidToken""#).expect("static regex")
    });

/// The token-rejection marker of a response, in a few words ("28055 The OAuth token is
/// invalid.", "Warning 120 InvalidToken", "wsse:FailedAuthentication"); None when there is
/// none. The status is not looked at: Online answers a rejected token with 403, SfB Server with
/// 401 or 500.
pub fn token_rejection(response: &Headers, facts: Option<&AuthFacts>) -> Option<String> {
    let diags = facts.map(|f| f.diagnostics.as_slice()).unwrap_or_default();
    if let Some(d) = diags
        .iter()
        .find(|d| d.code.is_some_and(|c| TOKEN_REJECTION_IDS.contains(&c)))
    {
        let code = d.code.unwrap_or_default();
        return Some(match &d.reason {
            Some(r) => format!("{code} {r}"),
            None => code.to_string(),
        });
    }
    if let Some(w) = response
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("warning"))
        .find(|(_, v)| RE_WARNING_INVALID_TOKEN.is_match(v))
    {
        return Some(format!("Warning: {}", w.1.trim()));
    }
    diags
        .iter()
        .any(|d| {
            d.raw
                .to_ascii_lowercase()
                .contains("faultcode=\"wsse:failedauthentication\"")
        })
        .then(|| "wsse:FailedAuthentication".to_string())
}

/// The NTLM message type a request leg carries (bare or inside Negotiate).
pub fn ntlm_type(leg: &AuthLeg) -> Option<u8> {
    let m = match leg {
        AuthLeg::Ntlm(m) => m,
        AuthLeg::Negotiate { ntlm: Some(m), .. } => m,
        _ => return None,
    };
    Some(m.message_type())
}

/// The response challenges the client for a (new) token: a `Bearer` or `MsRtcOAuth`
/// challenge, wherever it sits in the parsed header.
pub fn asks_for_token(facts: Option<&AuthFacts>) -> bool {
    facts.is_some_and(|f| {
        f.challenges.iter().any(|c| {
            c.scheme.eq_ignore_ascii_case("bearer") || c.scheme.eq_ignore_ascii_case("msrtcoauth")
        })
    })
}

/// The claims of a JWT that say where it may be used, decoded without verifying: `aud`,
/// `iss`, `exp` (docs/stages.md "Token scope").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JwtClaims {
    pub aud: Option<String>,
    pub iss: Option<String>,
    pub exp: Option<i64>,
}

pub fn jwt_claims(token: &str) -> Option<JwtClaims> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts = token.trim().split('.');
    let (_, payload) = (parts.next()?, parts.next()?);
    parts.next()?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let text = |k: &str| match v.get(k)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(a) => a.first()?.as_str().map(str::to_string),
        _ => None,
    };
    Some(JwtClaims {
        aud: text("aud"),
        iss: text("iss"),
        exp: v.get("exp").and_then(serde_json::Value::as_i64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
    }

    /// Builds an NTLM message: fixed header `head` (signature and type included, security
    /// buffers at `fields` filled in), then the payloads in order.
    fn ntlm(mut head: Vec<u8>, fields: &[(usize, &[u8])]) -> Vec<u8> {
        let mut payload = Vec::new();
        for &(at, data) in fields {
            let off = (head.len() + payload.len()) as u32;
            head[at..at + 2].copy_from_slice(&(data.len() as u16).to_le_bytes());
            head[at + 2..at + 4].copy_from_slice(&(data.len() as u16).to_le_bytes());
            head[at + 4..at + 8].copy_from_slice(&off.to_le_bytes());
            payload.extend_from_slice(data);
        }
        head.extend(payload);
        head
    }

    fn header(kind: u32, len: usize) -> Vec<u8> {
        let mut h = vec![0u8; len];
        h[..8].copy_from_slice(NTLM_SIGNATURE);
        h[8..12].copy_from_slice(&kind.to_le_bytes());
        h
    }

    /// MS-NLMP §2.2.1.1 NEGOTIATE_MESSAGE with OEM domain and workstation supplied.
    fn contoso_type1() -> Vec<u8> {
        let mut h = header(1, 40);
        let flags: u32 = 0xe208_b207 | 0x3000;
        h[12..16].copy_from_slice(&flags.to_le_bytes());
        ntlm(h, &[(16, b"CONTOSO"), (24, b"ALICE-PHONE")])
    }

    /// MS-NLMP §2.2.1.2 CHALLENGE_MESSAGE, Unicode, target CONTOSO with target info.
    fn contoso_type2() -> Vec<u8> {
        let mut h = header(2, 56);
        h[20..24].copy_from_slice(&0xe28a_8215u32.to_le_bytes());
        h[24..32].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        let mut info = Vec::new();
        for (id, v) in [
            (2u16, "CONTOSO"),
            (1, "FE01"),
            (4, "contoso.net"),
            (3, "fe01.contoso.net"),
            (5, "contoso.net"),
            (7, "\u{1}\u{2}\u{3}\u{4}"),
        ] {
            let v = utf16(v);
            info.extend_from_slice(&id.to_le_bytes());
            info.extend_from_slice(&(v.len() as u16).to_le_bytes());
            info.extend(v);
        }
        info.extend_from_slice(&[0, 0, 0, 0]);
        ntlm(h, &[(12, &utf16("CONTOSO")), (40, &info)])
    }

    /// MS-NLMP §2.2.1.3 AUTHENTICATE_MESSAGE, Unicode: CONTOSO\alice at ALICE-PHONE.
    fn contoso_type3() -> Vec<u8> {
        let mut h = header(3, 72);
        h[60..64].copy_from_slice(&0xe288_8215u32.to_le_bytes());
        ntlm(
            h,
            &[
                (12, &[0xaa; 24]),
                (20, &[0xbb; 24]),
                (28, &utf16("CONTOSO")),
                (36, &utf16("alice")),
                (44, &utf16("ALICE-PHONE")),
                (52, &[0xcc; 16]),
            ],
        )
    }

    // MS-NLMP §4.2.4.3 (NTLMv2 messages), as reproduced in public test suites.
    const SPEC_NEGOTIATE: &str =
        "4e544c4d535350000100000033828ae2000000000000000000000000000000000601b01d0000000f";
    const SPEC_CHALLENGE: &str = "4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef
        00000000000000002400240044000000060070170000000f5300650072007600
        6500720002000c0044006f006d00610069006e0001000c005300650072007600
        6500720000000000";
    const SPEC_AUTHENTICATE: &str =
        "4e544c4d5353500003000000180018006c00000054005400840000000c000c00
        480000000800080054000000100010005c00000010001000d8000000358288e2
        0501280a0000000f44006f006d00610069006e00550073006500720043004f00
        4d005000550054004500520086c35097ac9cec102554764a57cccc19aaaaaaaa
        aaaaaaaa68cd0ab851e51c96aabc927bebef6a1c010100000000000000000000
        00000000aaaaaaaaaaaaaaaa0000000002000c0044006f006d00610069006e00
        01000c005300650072007600650072000000000000000000c5dad2544fc97990
        94ce1ce90bc9d03e";

    #[test]
    fn ms_nlmp_4_2_4_3_vectors() {
        assert_eq!(
            decode_ntlm(&unhex(SPEC_NEGOTIATE)),
            Some(NtlmMessage::Negotiate {
                flags: 0xe28a_8233,
                domain: None,
                workstation: None
            })
        );
        assert_eq!(
            decode_ntlm(&unhex(SPEC_CHALLENGE)),
            Some(NtlmMessage::Challenge {
                flags: 0xe28a_8233,
                target: Some("Server".into()),
                target_info: vec![
                    ("MsvAvNbDomainName".into(), "Domain".into()),
                    ("MsvAvNbComputerName".into(), "Server".into()),
                ],
            })
        );
        assert_eq!(
            decode_ntlm(&unhex(SPEC_AUTHENTICATE)),
            Some(NtlmMessage::Authenticate {
                domain: "Domain".into(),
                user: "User".into(),
                workstation: "COMPUTER".into(),
                flags: 0xe288_8235,
            })
        );
    }

    #[test]
    fn contoso_ntlm_legs() {
        let t1 = contoso_type1();
        let t2 = contoso_type2();
        let t3 = contoso_type3();
        // Every NTLMSSP message starts "NTLMSSP\0" + its type: these base64 prefixes.
        assert!(B64.encode(&t1).starts_with("TlRMTVNTUAABAAAA"));
        assert!(B64.encode(&t2).starts_with("TlRMTVNTUAACAAAA"));
        assert!(B64.encode(&t3).starts_with("TlRMTVNTUAADAAAA"));

        let leg = decode_authorization(&format!("NTLM {}", B64.encode(&t1))).unwrap();
        assert_eq!(
            leg,
            AuthLeg::Ntlm(NtlmMessage::Negotiate {
                flags: 0xe208_b207 | 0x3000,
                domain: Some("CONTOSO".into()),
                workstation: Some("ALICE-PHONE".into()),
            })
        );
        let ch = decode_challenges(&format!("NTLM {}", B64.encode(&t2)));
        assert_eq!(ch.len(), 1);
        assert_eq!(ch[0].scheme, "NTLM");
        assert!(ch[0].params.is_empty());
        let Some(NtlmMessage::Challenge {
            target,
            target_info,
            ..
        }) = &ch[0].ntlm
        else {
            panic!("{ch:?}")
        };
        assert_eq!(target.as_deref(), Some("CONTOSO"));
        assert_eq!(
            target_info,
            &vec![
                ("MsvAvNbDomainName".to_string(), "CONTOSO".to_string()),
                ("MsvAvNbComputerName".into(), "FE01".into()),
                ("MsvAvDnsDomainName".into(), "contoso.net".into()),
                ("MsvAvDnsComputerName".into(), "fe01.contoso.net".into()),
                ("MsvAvDnsTreeName".into(), "contoso.net".into()),
            ]
        );
        let leg = decode_authorization(&format!("NTLM {}", B64.encode(&t3))).unwrap();
        assert_eq!(
            leg,
            AuthLeg::Ntlm(NtlmMessage::Authenticate {
                domain: "CONTOSO".into(),
                user: "alice".into(),
                workstation: "ALICE-PHONE".into(),
                flags: 0xe288_8215,
            })
        );
    }

    #[test]
    fn ntlm_type3_oem_and_bad_offsets() {
        let mut h = header(3, 64);
        h[60..64].copy_from_slice(&0x0000_0202u32.to_le_bytes());
        let msg = ntlm(h, &[(28, b"CONTOSO"), (36, b"alice"), (44, b"ALICE-PHONE")]);
        assert_eq!(
            decode_ntlm(&msg),
            Some(NtlmMessage::Authenticate {
                domain: "CONTOSO".into(),
                user: "alice".into(),
                workstation: "ALICE-PHONE".into(),
                flags: 0x202,
            })
        );
        // User field pointing past the end → absent, the rest still decodes.
        let mut bad = msg.clone();
        bad[40..44].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
        let Some(NtlmMessage::Authenticate { user, domain, .. }) = decode_ntlm(&bad) else {
            panic!()
        };
        assert_eq!((user.as_str(), domain.as_str()), ("", "CONTOSO"));
        // Cut inside the fixed header → not a message.
        assert_eq!(decode_ntlm(&msg[..40]), None);
        assert_eq!(decode_ntlm(b"NTLMSSP\0\x02\0\0\0"), None);
        assert_eq!(decode_ntlm(b"NTLMSSP\0\x09\0\0\0\0\0\0\0"), None);
        assert_eq!(decode_ntlm(b"hello"), None);
    }

    #[test]
    fn authorization_schemes() {
        assert_eq!(
            decode_authorization("NTLM !!!notbase64"),
            Some(AuthLeg::Other {
                scheme: "NTLM".into()
            })
        );
        assert_eq!(
            decode_authorization("NTLM aGVsbG8="),
            Some(AuthLeg::Other {
                scheme: "NTLM".into()
            })
        );
        let Some(AuthLeg::Bearer(t)) =
            decode_authorization("Bearer cwt=AAEBHAEFAAAAAAAFFQAAAP1INTaliceA1xYz0")
        else {
            panic!()
        };
        assert_eq!(t.prefix, "cwt=AAEBHAEF");
        assert!(t.cwt);
        // base64("alice@contoso.com:secret")
        assert_eq!(
            decode_authorization("Basic YWxpY2VAY29udG9zby5jb206c2VjcmV0"),
            Some(AuthLeg::Basic {
                user: Some("alice@contoso.com".into())
            })
        );
        assert_eq!(
            decode_authorization("Digest username=\"x\""),
            Some(AuthLeg::Other {
                scheme: "Digest".into()
            })
        );
        assert_eq!(decode_authorization("   "), None);
        // Raw NTLM under the Negotiate scheme (no SPNEGO wrapper), as Windows sends it.
        let leg = decode_authorization(&format!("Negotiate {}", B64.encode(contoso_type3())));
        assert!(matches!(
            leg,
            Some(AuthLeg::Negotiate {
                ntlm: Some(NtlmMessage::Authenticate { .. }),
                kerberos: false
            })
        ));
    }

    #[test]
    fn spnego_kerberos_and_wrapped_ntlm() {
        // GSS-API InitialContextToken: SPNEGO OID, NegTokenInit listing MS-KRB5 then KRB5,
        // mechToken = an AP-REQ (RFC 4178 §4.2.1).
        let mut krb = vec![0x60, 0x40, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
        krb.extend([0xa0, 0x36, 0x30, 0x34, 0xa0, 0x18, 0x30, 0x16]);
        krb.extend(MS_KRB5_OID);
        krb.extend(KRB5_OID);
        krb.extend([0xa2, 0x04, 0x04, 0x02, 0x6e, 0x00]);
        assert_eq!(
            decode_spnego(&krb),
            AuthLeg::Negotiate {
                ntlm: None,
                kerberos: true
            }
        );
        assert_eq!(
            decode_spnego(&[0x6e, 0x82, 0x01, 0x00]),
            AuthLeg::Negotiate {
                ntlm: None,
                kerberos: true
            }
        );
        // NegTokenInit whose mechToken is an NTLM type 1.
        let mut wrapped = vec![0x60, 0x48, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
        wrapped.extend([0xa0, 0x3e, 0x30, 0x3c, 0xa2, 0x3a, 0x04, 0x38]);
        wrapped.extend(contoso_type1());
        let AuthLeg::Negotiate { ntlm, kerberos } = decode_spnego(&wrapped) else {
            panic!()
        };
        assert!(!kerberos);
        assert_eq!(ntlm.map(|m| m.message_type()), Some(1));
        assert_eq!(
            decode_spnego(b"garbage"),
            AuthLeg::Negotiate {
                ntlm: None,
                kerberos: false
            }
        );
    }

    #[test]
    fn challenges_a04() {
        // A Lync user challenge: two WWW-Authenticate headers (Bearer, MsRtcOAuth).
        let bearer = decode_challenges(
            "Bearer trusted_issuers=\"00000002-0000-0ff1-ce00-000000000000@contoso.com\", client_id=\"00000004-0000-0ff1-ce00-000000000000\"",
        );
        assert_eq!(bearer.len(), 1);
        assert_eq!(bearer[0].scheme, "Bearer");
        assert_eq!(
            bearer[0].param("trusted_issuers"),
            Some("00000002-0000-0ff1-ce00-000000000000@contoso.com")
        );
        assert_eq!(
            bearer[0].param("client_id"),
            Some("00000004-0000-0ff1-ce00-000000000000")
        );
        let oauth = decode_challenges(
            "MsRtcOAuth href=\"https://webint-pool1.contoso.net/WebTicket/oauthtoken\",grant_type=\"urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password\"",
        );
        assert_eq!(oauth.len(), 1);
        assert_eq!(
            oauth[0].params,
            vec![
                (
                    "href".to_string(),
                    "https://webint-pool1.contoso.net/WebTicket/oauthtoken".to_string()
                ),
                (
                    "grant_type".into(),
                    "urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password".into()
                ),
            ]
        );
        // Unquoted href (also in Microsoft's docs).
        let unq = decode_challenges(
            "MsRtcOAuth href=https://webext-pool1.contoso.com/WebTicket/oauthtoken,grant_type=\"urn:microsoft.rtc:windows,password\"",
        );
        assert_eq!(
            unq[0].param("href"),
            Some("https://webext-pool1.contoso.com/WebTicket/oauthtoken")
        );
        assert_eq!(
            unq[0].param("grant_type"),
            Some("urn:microsoft.rtc:windows,password")
        );
    }

    #[test]
    fn several_challenges_in_one_value() {
        let ch = decode_challenges(
            "Negotiate, NTLM, Basic realm=\"webext-pool1.contoso.com\", Bearer realm=\"x\", error=\"invalid_token\", NTLM TlRMTVNTUAACAAAA==",
        );
        let schemes: Vec<_> = ch.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(
            schemes,
            ["Negotiate", "NTLM", "Basic", "Bearer", "NTLM"],
            "{ch:?}"
        );
        assert_eq!(ch[2].param("realm"), Some("webext-pool1.contoso.com"));
        assert_eq!(ch[3].params.len(), 2);
        assert_eq!(ch[3].param("error"), Some("invalid_token"));
        assert!(ch[4].params.is_empty());
        assert_eq!(ch[4].ntlm, None, "cut NTLM type 2 is not decoded");
        assert!(decode_challenges("").is_empty());
        assert!(decode_challenges(" , ,").is_empty());
    }

    #[test]
    fn facts_from_headers() {
        let t2 = B64.encode(contoso_type2());
        let req = Headers::from_pairs([
            ("Host", "webint-pool1.contoso.net"),
            (
                "Authorization",
                "Bearer cwt=AAEBHAEFAAAAAAAFFQAAAP1INTaliceA1xYz0",
            ),
        ]);
        let ntlm_challenge = format!("NTLM {t2}");
        let resp = Headers::from_pairs([
            ("WWW-Authenticate", "Negotiate"),
            ("WWW-Authenticate", ntlm_challenge.as_str()),
            (
                "X-MS-WebTicketURL",
                " https://webext-pool1.contoso.com/WebTicket/WebTicketService.svc",
            ),
            (
                "X-Ms-diagnostics",
                "28032;source=\"fe01.contoso.net\";reason=\"The web ticket is invalid.\"",
            ),
        ]);
        let f = auth_facts(Some(&req), Some(&resp)).unwrap();
        assert!(matches!(f.request, Some(AuthLeg::Bearer(_))));
        assert_eq!(f.challenges.len(), 3);
        assert_eq!(
            f.challenges[1].ntlm.as_ref().map(|m| m.message_type()),
            Some(2)
        );
        assert_eq!(f.challenges[2].scheme, "X-MS-WebTicketURL");
        assert_eq!(
            f.challenges[2].param("href"),
            Some("https://webext-pool1.contoso.com/WebTicket/WebTicketService.svc")
        );
        assert_eq!(f.diagnostics[0].code, Some(28032));
        assert_eq!(
            auth_facts(Some(&Headers::from_pairs([("Host", "a")])), None),
            None
        );
        assert_eq!(auth_facts(None, None), None);
    }

    #[test]
    fn webticket_assertion_id() {
        // A web ticket SAML assertion, sent back as X-MS-WebTicket.
        let saml = "<saml:Assertion MajorVersion=\"1\" MinorVersion=\"1\" AssertionID=\"_wtA1c9d2\" Issuer=\"URI:https://webint-pool1.contoso.net/WebTicket/WebTicketService.svc\" xmlns:saml=\"urn:oasis:names:tc:SAML:1.0:assertion\"><saml:Conditions NotBefore=\"2015-06-29T14:00:01.690Z\" NotOnOrAfter=\"2015-06-29T22:00:01.690Z\"/></saml:Assertion>";
        let b64 = B64.encode(saml);
        let Some(AuthLeg::WebTicket {
            assertion_id,
            token,
        }) = decode_webticket(&format!("opaque={b64}"))
        else {
            panic!()
        };
        assert_eq!(assertion_id.as_deref(), Some("_wtA1c9d2"));
        assert_eq!(token.prefix, b64[..12]);
        assert!(!token.cwt);
        let Some(AuthLeg::WebTicket { assertion_id, .. }) = decode_webticket("opaque=%%%") else {
            panic!()
        };
        assert_eq!(assertion_id, None);
        assert_eq!(decode_webticket("opaque="), None);
    }

    #[test]
    fn ms_diagnostics_variants() {
        // UCWA "AuthenticationInUCWA" and the UCWA team blog (`webticket-oauth`, `ad-user`).
        let d = parse_ms_diagnostics(
            "28029;source=\"fe01.contoso.net\";reason=\"Authentication type not allowed.\"",
        );
        assert_eq!(d.code, Some(28029));
        assert_eq!(d.source.as_deref(), Some("fe01.contoso.net"));
        assert_eq!(
            d.reason.as_deref(),
            Some("Authentication type not allowed.")
        );
        assert_eq!(d.fault, None);
        let d = parse_ms_diagnostics(
            "28020;source=\"fe01.contoso.net\";reason=\"No valid security token.\"",
        );
        assert_eq!(
            (d.code, d.reason.as_deref()),
            (Some(28020), Some("No valid security token."))
        );
        let raw = "28032;source=\"fe01.contoso.net\";reason=\"The web ticket is invalid.\"";
        let d = parse_ms_diagnostics(raw);
        assert_eq!(d.code, Some(28032));
        assert_eq!(d.raw, raw);
        // MS-OCAUTHWS form with fault, unquoted values, extra params and a ';' inside quotes.
        let d = parse_ms_diagnostics(
            " 28015 ; source=fe21.contoso.net;reason=\"Bad; very bad \\\"ticket\\\"\";fault=\"a:FailedAuthentication\";extra=1",
        );
        assert_eq!(d.code, Some(28015));
        assert_eq!(d.source.as_deref(), Some("fe21.contoso.net"));
        assert_eq!(d.reason.as_deref(), Some("Bad; very bad \"ticket\""));
        assert_eq!(d.fault.as_deref(), Some("a:FailedAuthentication"));
        assert_eq!(parse_ms_diagnostics("ErrorId;reason=\"x\"").code, None);
        assert_eq!(parse_ms_diagnostics("").code, None);
    }

    #[test]
    fn token_ref_sha256() {
        // SHA-256("abc") = ba7816bf… (FIPS 180-2 appendix B.1).
        let t = token_ref("abc");
        assert_eq!(
            t.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(t.prefix, "abc");
        assert!(!t.cwt);
        assert_eq!(token_ref("ééééééééééééééé").prefix.chars().count(), 12);
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            #[test]
            fn strings_never_panic(s in ".{0,200}") {
                let _ = decode_authorization(&s);
                let _ = decode_webticket(&s);
                let _ = decode_challenges(&s);
                let _ = parse_ms_diagnostics(&s);
                let _ = token_ref(&s);
                let h = Headers::from_pairs([
                    ("Authorization", s.as_str()),
                    ("WWW-Authenticate", s.as_str()),
                    ("X-Ms-diagnostics", s.as_str()),
                ]);
                let _ = auth_facts(Some(&h), Some(&h));
            }

            #[test]
            fn header_like_strings_never_panic(s in "[A-Za-z]{1,9}( [A-Za-z0-9+/=,\" _:-]{0,80})?") {
                let _ = decode_authorization(&s);
                let _ = decode_challenges(&s);
            }

            #[test]
            fn bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300), kind in 0u8..5) {
                let mut msg = NTLM_SIGNATURE.to_vec();
                msg.extend_from_slice(&u32::from(kind).to_le_bytes());
                msg.extend_from_slice(&b);
                let _ = decode_ntlm(&msg);
                let _ = decode_ntlm(&b);
                let _ = decode_spnego(&b);
                let _ = decode_spnego(&msg);
            }
        }
    }
}
