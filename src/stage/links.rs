//! The URLs, host names and scalar facts a response announces (the producer → consumer links
//! that chain one stage of docs/stages.md to the next), and URL normalisation for matching them.
//!
//! Bodies are the first ≤64 KiB of a decoded response and may be cut anywhere, so every parser
//! here is lenient: JSON falls back to a regex scan, XML stops at the first error and keeps what
//! it read.

use super::auth::token_ref;
use crate::model::url::{form_decode, resolve};
use crate::model::Headers;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::LazyLock;

/// The lower-case host of an absolute URL (no port).
pub fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (host, _) = crate::model::url::host_and_port(authority, 0);
    (!host.is_empty()).then_some(host)
}

/// A URL announced by a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Where it was found: "_links.user.href", "_embedded.me._links.makeMeAvailable.href",
    /// "_links.next.href", "sender[].events[].link.href", "Link token=User", "soap:address",
    /// "IssuedToken Issuer Address", "Location", "WWW-Authenticate MsRtcOAuth href",
    /// "X-MS-WebTicketURL", "EwsUrl", "ASUrl", "ExternalEwsUrl" …
    pub via: String,
    /// The relation / token name, lower-case: "user", "redirect", "applications",
    /// "makemeavailable", "events", "next", "self", "xframe", "token" (MsRtcOAuth), "webticket"
    /// (X-MS-WebTicketURL), "external/ucwa", "ewsurl", "soap-port:<port name>" …
    pub rel: String,
    /// Absolute URL: relative hrefs resolved against `base` (scheme://host[:port] of the
    /// request).
    pub url: String,
    /// True when requests under this URL (path prefix, segment boundary) also count as
    /// announced by it (service addresses: soap:address, Issuer Address, X-MS-WebTicketURL).
    pub prefix: bool,
}

/// At most this many links / hosts / facts per response: a UCWA application document has ~40.
pub const MAX_LINKS: usize = 512;
const MAX_FACTS: usize = 256;
const MAX_VALUE_CHARS: usize = 512;
/// Deeper XML than this is not walked (its elements are counted, not kept).
const MAX_XML_DEPTH: usize = 256;
/// Text kept per XML element: URLs and dates are short.
const MAX_XML_TEXT: usize = 8 * 1024;

/// Exchange Autodiscover elements whose text is a service URL (POX `Protocol` children, SOAP
/// `UserSetting` names). OAB is a directory of files, so it covers what is below it.
const EXCHANGE_URL_ELEMENTS: &[(&str, bool)] = &[
    ("EwsUrl", false),
    ("ASUrl", false),
    ("ExternalEwsUrl", false),
    ("InternalEwsUrl", false),
    ("OABUrl", true),
    ("ExternalOABUrl", true),
    ("InternalOABUrl", true),
    ("OOFUrl", false),
    ("UMUrl", false),
];

const SIP_ACCESS_ELEMENTS: &[&str] = &[
    "SipClientExternalAccess",
    "SipClientInternalAccess",
    "SipServerExternalAccess",
    "SipServerInternalAccess",
];

/// JSON keys whose string value is an identity provider's URL (stage `modern-auth`): the
/// passive sign-in URL of an oauthtoken 400 `28020`, an Azure AD user-realm answer's ADFS
/// endpoints.
const IDP_URL_KEYS: &[&str] = &[
    "ms_rtc_passiveauthuri",
    "federation_active_auth_url",
    "federation_metadata_url",
];

/// Mobility policy keys (stage `inband-provisioning`, UCWA policies resource).
const POLICY_KEYS: &[&str] = &[
    "audioOnlyOnWifi",
    "videoOnlyOnWifi",
    "sharingOnlyOnWifi",
    "telephonyMode",
    "saveCredentials",
    "saveMessagingHistory",
    "saveCallLogs",
    "clientExchangeConnectivity",
    "allowDeviceContactsSync",
    "encryptAppData",
    "photos",
    "emoticons",
    "htmlMessaging",
    "voicemailUri",
    "emergencyDialString",
    "emergencyDialMask",
    "locationRequired",
    "logging",
    "loggingLevel",
];

/// Token-endpoint keys wherever they appear (UCWA "AuthenticationInUCWA").
const TOKEN_KEYS: &[&str] = &[
    "access_token",
    "expires_in",
    "token_type",
    "error",
    "error_description",
    "ms_rtc_identityscope",
    "ms_rtc_passiveauthuri",
];

/// Keys taken from the top level of a JSON document only: the resource kind and the UCWA
/// error fields (GenericSynchronousErrors), plus the MRAS token lifetime.
const TOP_LEVEL_KEYS: &[&str] = &[
    "rel",
    "code",
    "subcode",
    "message",
    "duration",
    "validUntil",
];

/// Keys of a `mediaRelay` entry (mediaRelay_ref).
const MEDIA_RELAY_KEYS: &[&str] = &["location", "host", "ipv4", "ipv6"];

/// Every link announced by a response. `base` = "https://host[:port]" of the request URL.
/// `body` = the first ≤64 KiB of the decoded response body (may be cut mid-document),
/// `content_type` from the response.
pub fn response_links(
    base: &str,
    headers: &Headers,
    content_type: Option<&str>,
    body: Option<&[u8]>,
) -> Vec<Link> {
    let mut sink = LinkSink {
        base,
        links: Vec::new(),
        seen: HashSet::new(),
    };
    for (name, value) in headers.iter() {
        if name.eq_ignore_ascii_case("location") {
            sink.add("Location", "location", value, false);
        } else if name.eq_ignore_ascii_case("x-ms-webticketurl") {
            sink.add("X-MS-WebTicketURL", "webticket", value, true);
        } else if name.eq_ignore_ascii_case("www-authenticate")
            || name.eq_ignore_ascii_case("proxy-authenticate")
        {
            for ch in super::auth::decode_challenges(value) {
                if ch.scheme.eq_ignore_ascii_case("msrtcoauth") {
                    if let Some(href) = ch.param("href") {
                        sink.add("WWW-Authenticate MsRtcOAuth href", "token", href, false);
                    }
                } else if ch.scheme.eq_ignore_ascii_case("bearer") {
                    // Online: where to get an Azure AD token (UCWA AuthenticationUsingAzureAD).
                    if let Some(uri) = ch.param("authorization_uri") {
                        sink.add(
                            "WWW-Authenticate Bearer authorization_uri",
                            "authorization_uri",
                            uri,
                            false,
                        );
                    }
                }
            }
        }
    }
    if let Some(body) = body {
        match body_kind(content_type, body) {
            BodyKind::Json => json_links(body, &mut sink),
            BodyKind::Xml => xml_links(body, &mut sink),
            BodyKind::Form | BodyKind::Other => {}
        }
    }
    sink.links
}

struct LinkSink<'a> {
    base: &'a str,
    links: Vec<Link>,
    seen: HashSet<(String, String, String)>,
}

impl LinkSink<'_> {
    fn add(&mut self, via: &str, rel: &str, href: &str, prefix: bool) {
        if self.links.len() >= MAX_LINKS {
            return;
        }
        let Some(url) = resolve(self.base, href) else {
            return;
        };
        let scheme = url.split_once("://").map(|(s, _)| s).unwrap_or_default();
        if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
            return;
        }
        let rel = rel.to_lowercase();
        if !self
            .seen
            .insert((via.to_string(), rel.clone(), url.clone()))
        {
            return;
        }
        self.links.push(Link {
            via: via.to_string(),
            rel,
            url,
            prefix,
        });
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    Json,
    Xml,
    Form,
    Other,
}

/// From the media type when it says; else from the first byte. HTML is never parsed (RP and
/// IIS error pages carry nothing the chain needs, and `<link href>` there is noise).
fn body_kind(content_type: Option<&str>, body: &[u8]) -> BodyKind {
    let ct = content_type.unwrap_or_default().to_ascii_lowercase();
    if ct.contains("json") {
        return BodyKind::Json;
    }
    if ct.contains("html") {
        return BodyKind::Other;
    }
    if ct.contains("xml") {
        return BodyKind::Xml;
    }
    if ct.contains("x-www-form-urlencoded") {
        return BodyKind::Form;
    }
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    match body.iter().find(|c| !c.is_ascii_whitespace()) {
        Some(b'{') | Some(b'[') => BodyKind::Json,
        Some(b'<') => {
            let head = String::from_utf8_lossy(&body[..body.len().min(512)]).to_ascii_lowercase();
            if head.contains("<html") || head.contains("<!doctype html") {
                BodyKind::Other
            } else {
                BodyKind::Xml
            }
        }
        Some(c) if (c.is_ascii_alphabetic() || *c == b'_') && looks_like_form(body) => {
            BodyKind::Form
        }
        _ => BodyKind::Other,
    }
}

fn looks_like_form(body: &[u8]) -> bool {
    let head = &body[..body.len().min(256)];
    let name_end = head
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-')));
    matches!(name_end.and_then(|n| head.get(n)), Some(b'='))
        && !head.iter().any(|c| matches!(c, b'<' | b'{' | b'\n'))
}

// ---- JSON --------------------------------------------------------------------------------

fn parse_json(body: &[u8]) -> Option<Value> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    serde_json::from_slice(body).ok()
}

fn json_links(body: &[u8], sink: &mut LinkSink<'_>) {
    match parse_json(body) {
        Some(v) => walk_json_links(&v, "", sink),
        None => {
            // A cut document: the `"key":{"href":"…"}` pairs that made it.
            static HREF: LazyLock<regex::Regex> = LazyLock::new(|| {
                regex::Regex::new(r#""([\w-]+)"\s*:\s*\{\s*"href"\s*:\s*"((?:[^"\\]|\\.)*)""#)
                    .expect("static regex")
            });
            let text = String::from_utf8_lossy(body);
            for c in HREF.captures_iter(&text) {
                let (Some(key), Some(href)) = (c.get(1), c.get(2)) else {
                    continue;
                };
                let key = key.as_str();
                sink.add(
                    &format!("{key}.href"),
                    key,
                    &json_unescape(href.as_str()),
                    false,
                );
                if sink.links.len() >= MAX_LINKS {
                    break;
                }
            }
        }
    }
}

/// Every object with an `href` string: rel = its own `rel` when it has one (event `link`/`in`
/// objects and `sender[]` entries name their resource there), else the key it sits under.
fn walk_json_links(v: &Value, path: &str, sink: &mut LinkSink<'_>) {
    if sink.links.len() >= MAX_LINKS {
        return;
    }
    match v {
        Value::Object(map) => {
            for (key, child) in map {
                let child_path = join_path(path, key);
                match child {
                    Value::Object(o) => {
                        add_href(o, key, &child_path, sink);
                        walk_json_links(child, &child_path, sink);
                    }
                    Value::Array(items) => {
                        let item_path = format!("{child_path}[]");
                        for item in items {
                            if let Value::Object(o) = item {
                                add_href(o, key, &item_path, sink);
                            }
                            walk_json_links(item, &item_path, sink);
                        }
                    }
                    Value::String(url)
                        if IDP_URL_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key)) =>
                    {
                        sink.add(&child_path, key, url, false);
                    }
                    _ => {}
                }
            }
        }
        Value::Array(items) => {
            let item_path = format!("{path}[]");
            for item in items {
                walk_json_links(item, &item_path, sink);
            }
        }
        _ => {}
    }
}

fn add_href(o: &serde_json::Map<String, Value>, key: &str, path: &str, sink: &mut LinkSink<'_>) {
    if let Some(href) = get_ci(o, "href").and_then(Value::as_str) {
        let rel = get_ci(o, "rel").and_then(Value::as_str).unwrap_or(key);
        sink.add(&format!("{path}.href"), rel, href, false);
    }
}

fn get_ci<'v>(o: &'v serde_json::Map<String, Value>, key: &str) -> Option<&'v Value> {
    o.get(key).or_else(|| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn join_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The escapes a JSON string can hold, for the regex fallback (`\/` is common in Microsoft
/// JSON).
fn json_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') | Some('f') => {}
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(ch);
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

// ---- XML ---------------------------------------------------------------------------------

struct XmlElem {
    /// Local name (prefix stripped), as written.
    name: String,
    /// (local name, value) of each attribute, namespace declarations left out.
    attrs: Vec<(String, String)>,
}

impl XmlElem {
    fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

enum XmlEvent<'a> {
    /// An element opened; the slice is the open-element stack, this element last.
    Open(&'a [XmlElem]),
    /// An element closed, with the text directly inside it (trimmed).
    Close(&'a [XmlElem], &'a str),
}

/// Walks an XML document leniently: end-tag names are not checked, and the walk stops at the
/// first syntax error or at the cut.
fn walk_xml(body: &[u8], mut visit: impl FnMut(XmlEvent<'_>)) {
    use quick_xml::events::Event;
    let text = xml_text(body);
    let mut reader = quick_xml::Reader::from_str(&text);
    {
        let config = reader.config_mut();
        config.check_end_names = false;
        config.allow_unmatched_ends = true;
        config.allow_dangling_amp = true;
    }
    let mut stack: Vec<XmlElem> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    let mut too_deep = 0usize;
    let append = |texts: &mut Vec<String>, s: &str| {
        if let Some(t) = texts.last_mut() {
            if t.len() + s.len() <= MAX_XML_TEXT {
                t.push_str(s);
            }
        }
    };
    loop {
        let event = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(e) => e,
        };
        match event {
            Event::Start(_) if stack.len() >= MAX_XML_DEPTH => too_deep += 1,
            Event::Empty(_) if stack.len() >= MAX_XML_DEPTH => {}
            Event::Start(e) => {
                stack.push(xml_elem(&e));
                texts.push(String::new());
                visit(XmlEvent::Open(&stack));
            }
            Event::Empty(e) => {
                stack.push(xml_elem(&e));
                visit(XmlEvent::Open(&stack));
                visit(XmlEvent::Close(&stack, ""));
                stack.pop();
            }
            Event::End(_) => {
                if too_deep > 0 {
                    too_deep -= 1;
                    continue;
                }
                if stack.is_empty() {
                    continue;
                }
                let t = texts.pop().unwrap_or_default();
                visit(XmlEvent::Close(&stack, t.trim()));
                stack.pop();
            }
            Event::Text(t) => append(&mut texts, &t.xml10_content()),
            Event::CData(t) => append(&mut texts, &t),
            Event::GeneralRef(r) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    let mut buf = [0u8; 4];
                    append(&mut texts, c.encode_utf8(&mut buf));
                } else if let Some(s) = quick_xml::escape::resolve_predefined_entity(&r) {
                    append(&mut texts, s);
                }
            }
            _ => {}
        }
    }
}

fn xml_elem(e: &quick_xml::events::BytesStart<'_>) -> XmlElem {
    let name = e.local_name().as_ref().to_string();
    let mut attrs = Vec::new();
    for a in e.attributes().with_checks(false).flatten() {
        let key = a.key.as_ref();
        if key == "xmlns" || key.starts_with("xmlns:") {
            continue;
        }
        let local = a.key.local_name().as_ref().to_string();
        let value = match a.normalized_value(quick_xml::XmlVersion::Implicit1_0) {
            Ok(v) => v.into_owned(),
            Err(_) => continue,
        };
        attrs.push((local, value));
    }
    XmlElem { name, attrs }
}

/// UTF-16 (by BOM) or UTF-8 text of an XML body.
fn xml_text(body: &[u8]) -> String {
    if let Some(rest) = body.strip_prefix(b"\xFF\xFE") {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(rest) = body.strip_prefix(b"\xFE\xFF") {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    String::from_utf8_lossy(body).into_owned()
}

fn parent(stack: &[XmlElem]) -> Option<&XmlElem> {
    stack.len().checked_sub(2).and_then(|i| stack.get(i))
}

fn xml_links(body: &[u8], sink: &mut LinkSink<'_>) {
    // SOAP Autodiscover: <UserSetting><Name>ExternalEwsUrl</Name><Value>https://…</Value>.
    let mut setting_name = String::new();
    walk_xml(body, |ev| match ev {
        XmlEvent::Open(stack) => {
            let Some(e) = stack.last() else { return };
            if e.is("Link") {
                let Some(href) = e.attr("href") else { return };
                if let Some(token) = e.attr("token") {
                    sink.add(&format!("Link token={token}"), token, href, false);
                } else if let Some(rel) = e.attr("rel") {
                    // UCWA XML representation: <link rel="…" href="…"/>.
                    sink.add(&format!("link rel={rel}"), rel, href, false);
                }
            } else if e.is("address") {
                if let Some(location) = e.attr("location") {
                    let port = stack
                        .iter()
                        .rev()
                        .find(|p| p.is("port"))
                        .and_then(|p| p.attr("name"));
                    let rel = match port {
                        Some(p) => format!("soap-port:{p}"),
                        None => "soap-port".to_string(),
                    };
                    sink.add("soap:address", &rel, location, true);
                }
            }
        }
        XmlEvent::Close(stack, text) => {
            let Some(e) = stack.last() else { return };
            if text.is_empty() {
                return;
            }
            if e.is("Address")
                && parent(stack).is_some_and(|p| p.is("Issuer"))
                && stack.iter().any(|p| p.is("IssuedToken"))
            {
                sink.add("IssuedToken Issuer Address", "issuer", text, true);
            } else if let Some(&(name, prefix)) =
                EXCHANGE_URL_ELEMENTS.iter().find(|(n, _)| e.is(n))
            {
                sink.add(name, name, text, prefix);
            } else if parent(stack).is_some_and(|p| p.is("UserSetting")) {
                if e.is("Name") {
                    setting_name = text.to_string();
                } else if e.is("Value") {
                    if let Some(&(name, prefix)) = EXCHANGE_URL_ELEMENTS
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(&setting_name))
                    {
                        sink.add(name, name, text, prefix);
                    }
                }
            }
        }
    });
}

// ---- Hosts -------------------------------------------------------------------------------

/// Hosts (lower-case) named in a response that are not URLs: XML
/// SipClientExternalAccess/SipClientInternalAccess/SipServer*Access `fqdn=`, JSON/XML
/// mediaRelay `host`, the `X-MS-Server-Fqdn` value. Used for dns-hop and the Lync host set.
pub fn response_hosts(headers: &Headers, body: Option<&[u8]>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut push = |via: &str, host: &str| {
        if out.len() >= MAX_LINKS {
            return;
        }
        if let Some(h) = clean_host(host) {
            if !out.iter().any(|(v, x)| v == via && *x == h) {
                out.push((via.to_string(), h));
            }
        }
    };
    for value in headers.get_all("x-ms-server-fqdn") {
        push("X-MS-Server-Fqdn", value);
    }
    let Some(body) = body else { return out };
    match body_kind(None, body) {
        BodyKind::Json => match parse_json(body) {
            Some(v) => walk_json_relays(&v, false, &mut |host| push("mediaRelay.host", host)),
            None => {
                let text = String::from_utf8_lossy(body);
                if text.contains("\"mediaRelay\"") {
                    static HOST: LazyLock<regex::Regex> = LazyLock::new(|| {
                        regex::Regex::new(r#""host"\s*:\s*"([^"\\]+)""#).expect("static regex")
                    });
                    for c in HOST.captures_iter(&text) {
                        if let Some(h) = c.get(1) {
                            push("mediaRelay.host", h.as_str());
                        }
                    }
                }
            }
        },
        BodyKind::Xml => walk_xml(body, |ev| match ev {
            XmlEvent::Open(stack) => {
                let Some(e) = stack.last() else { return };
                if let Some(name) = SIP_ACCESS_ELEMENTS.iter().find(|n| e.is(n)) {
                    if let Some(fqdn) = e.attr("fqdn") {
                        push(name, fqdn);
                    }
                }
            }
            XmlEvent::Close(stack, text) => {
                // UCWA XML: <resource rel="mediaRelay"><property name="host">…</property>.
                let Some(e) = stack.last() else { return };
                if e.is("property")
                    && e.attr("name")
                        .is_some_and(|n| n.eq_ignore_ascii_case("host"))
                    && in_xml_resource(stack, "mediaRelay")
                {
                    push("mediaRelay.host", text);
                }
            }
        }),
        BodyKind::Form | BodyKind::Other => {}
    }
    out
}

fn in_xml_resource(stack: &[XmlElem], rel: &str) -> bool {
    stack
        .iter()
        .rev()
        .find(|p| p.is("resource"))
        .and_then(|p| p.attr("rel"))
        .is_some_and(|r| r.eq_ignore_ascii_case(rel))
}

/// The `host` of every object under a `mediaRelay` key (object or array of objects).
fn walk_json_relays(v: &Value, in_relay: bool, found: &mut dyn FnMut(&str)) {
    match v {
        Value::Object(map) => {
            if in_relay {
                if let Some(h) = get_ci(map, "host").and_then(Value::as_str) {
                    found(h);
                }
            }
            for (k, child) in map {
                walk_json_relays(child, k.eq_ignore_ascii_case("mediaRelay"), found);
            }
        }
        Value::Array(items) => {
            for item in items {
                walk_json_relays(item, in_relay, found);
            }
        }
        _ => {}
    }
}

/// A host name or address as given, lower-cased, trailing dot dropped; `None` when it holds
/// anything a DNS name or IP literal cannot.
fn clean_host(host: &str) -> Option<String> {
    let h = host.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = !h.is_empty()
        && h.len() <= 253
        && h.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b':'));
    ok.then_some(h)
}

// ---- Facts -------------------------------------------------------------------------------

/// Interesting scalar values from JSON/XML bodies for findings and the UI: access_token (as
/// its token_ref prefix only, never the value), expires_in, error, error_description,
/// ms_rtc_identityscope, policy keys, mediaRelay location/host/ipv4, AccessLocation, SAML
/// AssertionID/NotBefore/NotOnOrAfter/Issuer, UCWA error code/subcode/message, SOAP faults,
/// grant_type (and username) of a form request body — never password values. Keys lower-case.
pub fn body_facts(content_type: Option<&str>, body: &[u8]) -> Vec<(String, String)> {
    let mut facts = Facts::default();
    match body_kind(content_type, body) {
        BodyKind::Json => match parse_json(body) {
            Some(v) => json_facts(&v, 0, false, &mut facts),
            None => json_facts_cut(body, &mut facts),
        },
        BodyKind::Xml => xml_facts(body, &mut facts),
        BodyKind::Form => form_facts(body, &mut facts),
        BodyKind::Other => {}
    }
    facts.out
}

#[derive(Default)]
struct Facts {
    out: Vec<(String, String)>,
}

impl Facts {
    fn push(&mut self, key: &str, value: &str) {
        if self.out.len() >= MAX_FACTS {
            return;
        }
        let key = key.to_ascii_lowercase();
        let value = if key == "access_token" {
            token_ref(value).prefix
        } else {
            value.chars().take(MAX_VALUE_CHARS).collect()
        };
        self.out.push((key, value));
    }
}

fn in_list(list: &[&str], key: &str) -> bool {
    list.iter().any(|k| k.eq_ignore_ascii_case(key))
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn json_facts(v: &Value, depth: usize, in_relay: bool, facts: &mut Facts) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if let Some(s) = scalar(child) {
                    if in_list(TOKEN_KEYS, k)
                        || in_list(POLICY_KEYS, k)
                        || (depth == 0 && in_list(TOP_LEVEL_KEYS, k))
                        || (in_relay && in_list(MEDIA_RELAY_KEYS, k))
                    {
                        facts.push(k, &s);
                    }
                } else {
                    json_facts(
                        child,
                        depth + 1,
                        k.eq_ignore_ascii_case("mediaRelay"),
                        facts,
                    );
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                json_facts(item, depth + 1, in_relay, facts);
            }
        }
        _ => {}
    }
}

/// A cut JSON document: the scalar pairs of keys that mean the same at any depth.
fn json_facts_cut(body: &[u8], facts: &mut Facts) {
    static PAIR: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(
            r#""([\w-]+)"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false)"#,
        )
        .expect("static regex")
    });
    let text = String::from_utf8_lossy(body);
    for c in PAIR.captures_iter(&text) {
        let (Some(k), Some(v)) = (c.get(1), c.get(2)) else {
            continue;
        };
        let (k, v) = (k.as_str(), v.as_str());
        if in_list(TOKEN_KEYS, k) || in_list(POLICY_KEYS, k) {
            let v = match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                Some(inner) => json_unescape(inner),
                None => v.to_string(),
            };
            facts.push(k, &v);
        }
        if facts.out.len() >= MAX_FACTS {
            break;
        }
    }
}

fn xml_facts(body: &[u8], facts: &mut Facts) {
    walk_xml(body, |ev| match ev {
        XmlEvent::Open(stack) => {
            let Some(e) = stack.last() else { return };
            if let Some(v) = e.attr("AccessLocation") {
                facts.push("accesslocation", v);
            }
            if e.is("Assertion") {
                for (k, v) in &e.attrs {
                    if in_list(&["AssertionID", "ID", "Issuer", "IssueInstant"], k) {
                        let key = if k.eq_ignore_ascii_case("id") {
                            "assertionid"
                        } else {
                            k
                        };
                        facts.push(key, v);
                    }
                }
            } else if e.is("Conditions") {
                for (k, v) in &e.attrs {
                    if in_list(&["NotBefore", "NotOnOrAfter"], k) {
                        facts.push(k, v);
                    }
                }
            }
        }
        XmlEvent::Close(stack, text) => {
            let Some(e) = stack.last() else { return };
            if text.is_empty() {
                return;
            }
            let parent = parent(stack);
            let parent_is = |n: &str| parent.is_some_and(|p| p.is(n));
            if e.is("Issuer") && parent_is("Assertion") {
                // SAML 2.0 puts the issuer in an element.
                facts.push("issuer", text);
            } else if ((e.is("Created") || e.is("Expires")) && parent_is("Lifetime"))
                || e.is("faultcode")
                || e.is("faultstring")
            {
                facts.push(&e.name, text);
            } else if e.is("Text") && parent_is("Reason") {
                // SOAP 1.2 fault reason.
                facts.push("faultstring", text);
            } else if e.is("text") && parent_is("internalerror") {
                // Lync web services fault detail (sipe: Body/Fault/Detail/error/internalerror).
                facts.push("internalerror", text);
            } else if (e.is("ErrorCode") || e.is("Message") || e.is("ErrorMessage"))
                && stack.iter().any(|p| p.is("Error") || p.is("Response"))
                && !stack.iter().any(|p| p.is("Account"))
            {
                // Exchange Autodiscover error (POX <Error>, SOAP <Response><ErrorCode>).
                facts.push(&e.name, text);
            } else if e.is("property") {
                // UCWA XML: <property name="audioOnlyOnWifi">Enabled</property>.
                if let Some(name) = e.attr("name") {
                    let relay = in_xml_resource(stack, "mediaRelay");
                    if in_list(TOKEN_KEYS, name)
                        || in_list(POLICY_KEYS, name)
                        || (relay && in_list(MEDIA_RELAY_KEYS, name))
                    {
                        facts.push(name, text);
                    }
                }
            }
        }
    });
}

fn form_facts(body: &[u8], facts: &mut Facts) {
    let text = String::from_utf8_lossy(body);
    for pair in text.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = form_decode(k.trim());
        if k.eq_ignore_ascii_case("grant_type") || k.eq_ignore_ascii_case("username") {
            facts.push(&k, &form_decode(v.trim()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POOL1_EXT: &str = "https://webext-pool1.contoso.com";

    fn links_of(base: &str, ct: &str, body: &str) -> Vec<Link> {
        response_links(
            base,
            &Headers::from_pairs([("Content-Type", ct)]),
            Some(ct),
            Some(body.as_bytes()),
        )
    }

    fn find<'a>(links: &'a [Link], via: &str) -> &'a Link {
        links
            .iter()
            .find(|l| l.via == via)
            .unwrap_or_else(|| panic!("no link via {via} in {links:#?}"))
    }

    // An Autodiscover root answer (JSON) to an internal client.
    const A02: &str = r#"{"_links":{
    "self":{"href":"https://webint-pool1.contoso.net/Autodiscover/AutodiscoverService.svc/root?originalDomain=contoso.com"},
    "user":{"href":"https://webint-pool1.contoso.net/Autodiscover/AutodiscoverService.svc/root/oauth/user?originalDomain=contoso.com"},
    "xframe":{"href":"https://webint-pool1.contoso.net/Autodiscover/XFrame/XFrame.html"}}}"#;

    #[test]
    fn a02_root_links() {
        let links = links_of(
            "http://lyncdiscoverinternal.contoso.com",
            "application/json",
            A02,
        );
        assert_eq!(links.len(), 3);
        let user = find(&links, "_links.user.href");
        assert_eq!(user.rel, "user");
        assert_eq!(
            user.url,
            "https://webint-pool1.contoso.net/Autodiscover/AutodiscoverService.svc/root/oauth/user?originalDomain=contoso.com"
        );
        assert!(!user.prefix);
        assert_eq!(find(&links, "_links.self.href").rel, "self");
        assert_eq!(
            find(&links, "_links.xframe.href").url,
            "https://webint-pool1.contoso.net/Autodiscover/XFrame/XFrame.html"
        );
    }

    #[test]
    fn a04_challenge_links() {
        // #A04 (MsRtcOAuth) and the XML-flow 401 of `ad-user-challenge` (X-MS-WebTicketURL).
        let h = Headers::from_pairs([
            ("Content-Type", "text/html"),
            ("WWW-Authenticate", "Bearer trusted_issuers=\"00000002-0000-0ff1-ce00-000000000000@contoso.com\", client_id=\"00000004-0000-0ff1-ce00-000000000000\""),
            ("WWW-Authenticate", "MsRtcOAuth href=\"https://webint-pool1.contoso.net/WebTicket/oauthtoken\",grant_type=\"urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password\""),
            ("X-MS-WebTicketURL", "https://webext-pool1.contoso.com/WebTicket/WebTicketService.svc"),
            ("X-MS-Server-Fqdn", "fe01.contoso.net"),
        ]);
        let body = b"<html> 401 - Unauthorized: Access is denied due to invalid credentials. <link rel=\"x\" href=\"/css\"></html>";
        let links = response_links(
            "https://webint-pool1.contoso.net",
            &h,
            Some("text/html"),
            Some(body),
        );
        assert_eq!(
            links,
            vec![
                Link {
                    via: "WWW-Authenticate MsRtcOAuth href".into(),
                    rel: "token".into(),
                    url: "https://webint-pool1.contoso.net/WebTicket/oauthtoken".into(),
                    prefix: false,
                },
                Link {
                    via: "X-MS-WebTicketURL".into(),
                    rel: "webticket".into(),
                    url: "https://webext-pool1.contoso.com/WebTicket/WebTicketService.svc".into(),
                    prefix: true,
                },
            ]
        );
        assert_eq!(
            response_hosts(&h, Some(body)),
            vec![(
                "X-MS-Server-Fqdn".to_string(),
                "fe01.contoso.net".to_string()
            )]
        );
    }

    // #A11 (application 201), with the doc's "…" elisions left out so it parses.
    const A11: &str = r#"{"culture":"en-US","userAgent":"Lync2013Mobile/5.4.1087 (iPhone; iOS 8.3) [synthetic]",
   "_links":{
     "self":{"href":"/ucwa/oauth/v1/applications/102146789012"},
     "policies":{"href":"/ucwa/oauth/v1/applications/102146789012/policies"},
     "batch":{"href":"/ucwa/oauth/v1/applications/102146789012/batch"},
     "events":{"href":"/ucwa/oauth/v1/applications/102146789012/events?ack=1"}},
   "_embedded":{
     "me":{"name":"Alice Ahlberg","uri":"sip:alice@contoso.com","_links":{
        "self":{"href":"/ucwa/oauth/v1/applications/102146789012/me"},
        "makeMeAvailable":{"href":"/ucwa/oauth/v1/applications/102146789012/me/makeMeAvailable"},
        "callForwardingSettings":{"href":"/ucwa/oauth/v1/applications/102146789012/me/callForwardingSettings"},
        "phones":{"href":"/ucwa/oauth/v1/applications/102146789012/me/phones"},
        "photo":{"href":"/ucwa/oauth/v1/applications/102146789012/photos/alice@contoso.com"}},"rel":"me"},
     "people":{"_links":{
        "self":{"href":"/ucwa/oauth/v1/applications/102146789012/people"},
        "presenceSubscriptions":{"href":"/ucwa/oauth/v1/applications/102146789012/people/presenceSubscriptions"},
        "subscribedContacts":{"href":"/ucwa/oauth/v1/applications/102146789012/people/subscribedContacts"},
        "presenceSubscriptionMemberships":{"href":"/ucwa/oauth/v1/applications/102146789012/people/presenceSubscriptionMemberships"},
        "myGroups":{"href":"/ucwa/oauth/v1/applications/102146789012/people/groups"},
        "myGroupMemberships":{"href":"/ucwa/oauth/v1/applications/102146789012/people/groupMemberships"},
        "myContacts":{"href":"/ucwa/oauth/v1/applications/102146789012/people/contacts"},
        "myContactsAndGroupsSubscription":{"href":"/ucwa/oauth/v1/applications/102146789012/people/contactsAndGroupsSubscription"},
        "search":{"href":"/ucwa/oauth/v1/applications/102146789012/people/search"}},"rel":"people"},
     "onlineMeetings":{"_links":{"self":{"href":"/ucwa/oauth/v1/applications/102146789012/onlineMeetings"}},"rel":"onlineMeetings"},
     "communication":{"d0c1e7a2-5b0f-4c1e-9f3a-2b6d8e4f1a90":"please pass this in a PUT request",
        "supportedModalities":[],"supportedMessageFormats":["Plain"],
        "_links":{
          "self":{"href":"/ucwa/oauth/v1/applications/102146789012/communication"},
          "mediaRelayAccessToken":{"href":"/ucwa/oauth/v1/applications/102146789012/communication/mediaRelayAccessToken"},
          "mediaPolicies":{"href":"/ucwa/oauth/v1/applications/102146789012/mediaPolicies"},
          "conversations":{"href":"/ucwa/oauth/v1/applications/102146789012/communication/conversations?filter=active"},
          "startMessaging":{"href":"/ucwa/oauth/v1/applications/102146789012/communication/messagingInvitations"},
          "startAudioVideo":{"href":"/ucwa/oauth/v1/applications/102146789012/communication/audioVideoInvitations"}},
        "rel":"communication","etag":"3140562359"}},
   "rel":"application","etag":"680531847"}"#;

    #[test]
    fn a11_application_links() {
        let links = links_of(POOL1_EXT, "application/json; charset=utf-8", A11);
        let app = "https://webext-pool1.contoso.com/ucwa/oauth/v1/applications/102146789012";
        let mma = find(&links, "_embedded.me._links.makeMeAvailable.href");
        assert_eq!(mma.rel, "makemeavailable");
        assert_eq!(mma.url, format!("{app}/me/makeMeAvailable"));
        assert_eq!(
            find(&links, "_links.policies.href").url,
            format!("{app}/policies")
        );
        assert_eq!(
            find(&links, "_links.events.href").url,
            format!("{app}/events?ack=1")
        );
        let mras = find(
            &links,
            "_embedded.communication._links.mediaRelayAccessToken.href",
        );
        assert_eq!(mras.rel, "mediarelayaccesstoken");
        assert_eq!(
            mras.url,
            format!("{app}/communication/mediaRelayAccessToken")
        );
        assert_eq!(
            find(&links, "_embedded.people._links.myContacts.href").url,
            format!("{app}/people/contacts")
        );
        assert_eq!(find(&links, "_links.self.href").url, app);
        assert_eq!(links.len(), 25);
        assert!(links.iter().all(|l| l.url.starts_with(app) && !l.prefix));
    }

    #[test]
    fn a11_as_printed_falls_back_to_the_scan() {
        // The doc's own text (with "…" in onlineMeetings) is not JSON, like a cut body.
        let printed = A11.replace(
            r#""onlineMeetings"}},"rel""#,
            r#""onlineMeetings"}, …},"rel""#,
        );
        let cut = &printed[..printed.find("\"mediaPolicies\"").unwrap()];
        let links = links_of(POOL1_EXT, "application/json", cut);
        let mma = find(&links, "makeMeAvailable.href");
        assert_eq!(mma.rel, "makemeavailable");
        assert_eq!(
            mma.url,
            "https://webext-pool1.contoso.com/ucwa/oauth/v1/applications/102146789012/me/makeMeAvailable"
        );
        assert_eq!(
            find(&links, "mediaRelayAccessToken.href").url,
            "https://webext-pool1.contoso.com/ucwa/oauth/v1/applications/102146789012/communication/mediaRelayAccessToken"
        );
    }

    // #A12 / #A13 WSDL, completed into well-formed documents.
    const A12: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions name="CertProvisioningService" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:wsp="http://schemas.xmlsoap.org/ws/2004/09/policy" xmlns:sp="http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702" xmlns:wsa10="http://www.w3.org/2005/08/addressing" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">
  <wsp:Policy wsu:Id="CertProvisioningServiceWebTicketProof_SHA1_policy"><wsp:ExactlyOne><wsp:All>
    <sp:SymmetricBinding><wsp:Policy><sp:ProtectionToken><wsp:Policy>
      <sp:IssuedToken sp:IncludeToken="http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702/IncludeToken/AlwaysToRecipient">
        <sp:Issuer>
          <wsa10:Address>https://webint-pool1.contoso.net/WebTicket/WebTicketService.svc</wsa10:Address>
        </sp:Issuer>
      </sp:IssuedToken>
    </wsp:Policy></sp:ProtectionToken></wsp:Policy></sp:SymmetricBinding>
  </wsp:All></wsp:ExactlyOne></wsp:Policy>
  <wsdl:service name="CertProvisioningService">
    <wsdl:port name="CertProvisioningServiceWebTicketProof_SHA1" binding="tns:CertProvisioningServiceWebTicketProof_SHA1">
      <soap:address location="https://webint-pool1.contoso.net/CertProv/CertProvisioningService.svc/WebTicket_Proof"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>"#;

    const A13: &str = r#"<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"><wsdl:service name="WebTicketService">
    <wsdl:port name="WebTicketServiceWinNegotiate" binding="i0:WebTicketServiceWinNegotiate"><soap:address location="https://webint-pool1.contoso.net/WebTicket/WebTicketService.svc/Auth"/></wsdl:port>
    <wsdl:port name="WebTicketServiceAnon" binding="i0:WebTicketServiceAnon"><soap:address location="https://webint-pool1.contoso.net/WebTicket/WebTicketService.svc/Anon"/></wsdl:port>
  </wsdl:service></wsdl:definitions>"#;

    #[test]
    fn a12_a13_wsdl_service_addresses() {
        let base = "https://webint-pool1.contoso.net";
        let links = links_of(base, "text/xml; charset=utf-8", A12);
        assert_eq!(
            links,
            vec![
                Link {
                    via: "IssuedToken Issuer Address".into(),
                    rel: "issuer".into(),
                    url: "https://webint-pool1.contoso.net/WebTicket/WebTicketService.svc".into(),
                    prefix: true,
                },
                Link {
                    via: "soap:address".into(),
                    rel: "soap-port:certprovisioningservicewebticketproof_sha1".into(),
                    url: "https://webint-pool1.contoso.net/CertProv/CertProvisioningService.svc/WebTicket_Proof".into(),
                    prefix: true,
                },
            ]
        );
        let links = links_of(base, "text/xml; charset=utf-8", A13);
        let rels: Vec<_> = links
            .iter()
            .map(|l| (l.rel.as_str(), l.url.as_str()))
            .collect();
        assert_eq!(
            rels,
            [
                (
                    "soap-port:webticketservicewinnegotiate",
                    "https://webint-pool1.contoso.net/WebTicket/WebTicketService.svc/Auth"
                ),
                (
                    "soap-port:webticketserviceanon",
                    "https://webint-pool1.contoso.net/WebTicket/WebTicketService.svc/Anon"
                ),
            ]
        );
        // Cut in the middle of the second port: the first is kept.
        let cut = &A13[..A13.find("WebTicketServiceAnon\" binding").unwrap()];
        assert_eq!(links_of(base, "text/xml", cut).len(), 1);
    }

    // #A23 (event channel).
    const A23: &str = r#"{"_links":{"self":{"href":"/ucwa/oauth/v1/applications/102146789012/events?ack=1"},
             "next":{"href":"/ucwa/oauth/v1/applications/102146789012/events?ack=2"}},
   "sender":[
    {"rel":"me","href":"/ucwa/oauth/v1/applications/102146789012/me","events":[
      {"link":{"rel":"presence","href":"/ucwa/oauth/v1/applications/102146789012/me/presence"},"type":"updated"}]},
    {"rel":"people","href":"/ucwa/oauth/v1/applications/102146789012/people","events":[
      {"link":{"rel":"contact","href":"/ucwa/oauth/v1/applications/102146789012/people/bob@contoso.com"},"in":{"rel":"subscribedContacts","href":"/ucwa/oauth/v1/applications/102146789012/people/subscribedContacts"},"type":"added"},
      {"link":{"rel":"contact","href":"/ucwa/oauth/v1/applications/102146789012/people/carol@contoso.com"},"in":{"rel":"subscribedContacts","href":"/ucwa/oauth/v1/applications/102146789012/people/subscribedContacts"},"type":"added"},
      {"link":{"rel":"presenceSubscription","href":"/ucwa/oauth/v1/applications/102146789012/people/presenceSubscriptions/5e1a9c02"},"type":"added"},
      {"link":{"rel":"contactPresence","href":"/ucwa/oauth/v1/applications/102146789012/people/bob@contoso.com/presence"},"in":{"rel":"contact","href":"/ucwa/oauth/v1/applications/102146789012/people/bob@contoso.com"},"type":"updated"},
      {"link":{"rel":"contactPresence","href":"/ucwa/oauth/v1/applications/102146789012/people/carol@contoso.com/presence"},"in":{"rel":"contact","href":"/ucwa/oauth/v1/applications/102146789012/people/carol@contoso.com"},"type":"updated"}]}]}"#;

    #[test]
    fn a23_event_links() {
        let links = links_of(POOL1_EXT, "application/json", A23);
        let app = "https://webext-pool1.contoso.com/ucwa/oauth/v1/applications/102146789012";
        let next = find(&links, "_links.next.href");
        assert_eq!(
            (next.rel.as_str(), next.url.clone()),
            ("next", format!("{app}/events?ack=2"))
        );
        let bob_presence: Vec<_> = links
            .iter()
            .filter(|l| l.url == format!("{app}/people/bob@contoso.com/presence"))
            .collect();
        assert_eq!(bob_presence.len(), 1);
        assert_eq!(bob_presence[0].via, "sender[].events[].link.href");
        assert_eq!(bob_presence[0].rel, "contactpresence");
        assert!(links.iter().any(|l| l.via == "sender[].href"
            && l.rel == "people"
            && l.url == format!("{app}/people")));
        assert!(links
            .iter()
            .any(|l| l.via == "sender[].events[].in.href" && l.rel == "subscribedcontacts"));
    }

    #[test]
    fn b10_user_redirect() {
        let body = r#"{"_links":{
    "self":{"href":"https://webext-pool1.contoso.com/Autodiscover/AutodiscoverService.svc/root/oauth/user?originalDomain=contoso.com"},
    "redirect":{"href":"https://webext-pool2.contoso.com/Autodiscover/AutodiscoverService.svc/root/oauth/user?originalDomain=contoso.com"}}}"#;
        let links = links_of(POOL1_EXT, "application/json", body);
        let r = find(&links, "_links.redirect.href");
        assert_eq!(r.rel, "redirect");
        assert_eq!(
            r.url,
            "https://webext-pool2.contoso.com/Autodiscover/AutodiscoverService.svc/root/oauth/user?originalDomain=contoso.com"
        );
    }

    const B38: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
   <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
    <User><DisplayName>Alice Ahlberg</DisplayName></User>
    <Account><AccountType>email</AccountType><Action>settings</Action>
     <Protocol><Type>EXPR</Type><Server>mail.contoso.com</Server><ASUrl>https://mail.contoso.com/EWS/Exchange.asmx</ASUrl><EwsUrl>https://mail.contoso.com/EWS/Exchange.asmx</EwsUrl></Protocol>
    </Account></Response></Autodiscover>"#;

    #[test]
    fn b38_exchange_pox() {
        let links = links_of(
            "https://autodiscover.contoso.com",
            "text/xml; charset=utf-8",
            B38,
        );
        let ews = find(&links, "EwsUrl");
        assert_eq!(
            (ews.rel.as_str(), ews.url.as_str()),
            ("ewsurl", "https://mail.contoso.com/EWS/Exchange.asmx")
        );
        assert_eq!(find(&links, "ASUrl").rel, "asurl");
        // SOAP GetUserSettings form.
        let soap = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetUserSettingsResponseMessage xmlns="http://schemas.microsoft.com/exchange/2010/Autodiscover"><Response><UserResponses><UserResponse><UserSettings>
<UserSetting i:type="StringSetting" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Name>ExternalEwsUrl</Name><Value>https://mail.contoso.com/EWS/Exchange.asmx</Value></UserSetting>
<UserSetting><Name>UserDisplayName</Name><Value>Alice</Value></UserSetting>
</UserSettings></UserResponse></UserResponses></Response></GetUserSettingsResponseMessage></s:Body></s:Envelope>"#;
        let links = links_of("https://autodiscover.contoso.com", "text/xml", soap);
        assert_eq!(
            links,
            vec![Link {
                via: "ExternalEwsUrl".into(),
                rel: "externalewsurl".into(),
                url: "https://mail.contoso.com/EWS/Exchange.asmx".into(),
                prefix: false,
            }]
        );
    }

    #[test]
    fn xml_autodiscover_links_and_hosts() {
        // The `ad-root-http` XML form, and an `ad-user` XML user document.
        let root = r#"<AutodiscoverResponse AccessLocation="External">
  <Root>
    <Link token="Domain" href="https://webext-pool1.contoso.com/Autodiscover/AutodiscoverService.svc/root/domain"/>
    <Link token="User"   href="https://webext-pool1.contoso.com/Autodiscover/AutodiscoverService.svc/root/user"/>
    <Link token="Self"   href="https://webext-pool1.contoso.com/Autodiscover/AutodiscoverService.svc/root"/>
  </Root>
</AutodiscoverResponse>"#;
        let ct = "application/vnd.microsoft.rtc.autodiscover+xml; v=1";
        let links = links_of(POOL1_EXT, ct, root);
        let user = find(&links, "Link token=User");
        assert_eq!(user.rel, "user");
        assert_eq!(links.len(), 3);
        assert_eq!(
            body_facts(Some(ct), root.as_bytes()),
            vec![("accesslocation".to_string(), "External".to_string())]
        );
        let user_doc = r#"<AutodiscoverResponse AccessLocation="External"><User>
  <SipServerExternalAccess fqdn="sip.contoso.com" port="443"/>
  <SipClientExternalAccess fqdn="sip.contoso.com" port="443"/>
  <Link token="External/Ucwa" href="https://webext-pool1.contoso.com/ucwa/v1/applications"/>
  <Link token="External/Mcx" href="https://webext-pool1.contoso.com/Mcx/McxService.svc"/>
</User></AutodiscoverResponse>"#;
        let links = links_of(POOL1_EXT, ct, user_doc);
        assert_eq!(
            find(&links, "Link token=External/Ucwa").rel,
            "external/ucwa"
        );
        let hosts = response_hosts(&Headers::from_pairs([]), Some(user_doc.as_bytes()));
        assert_eq!(
            hosts,
            vec![
                (
                    "SipServerExternalAccess".to_string(),
                    "sip.contoso.com".to_string()
                ),
                (
                    "SipClientExternalAccess".to_string(),
                    "sip.contoso.com".to_string()
                ),
            ]
        );
    }

    // #A20 (MRAS).
    const A20: &str = r#"{"rel":"mediaRelayAccessToken","duration":480,"Uri":"sip:alice@contoso.com","userName":"AgAAJN…Kq8=","password":"…redact…",
   "validUntil":"\/Date(1435615200000)\/",
   "_links":{"self":{"href":"/ucwa/oauth/v1/applications/102146789012/communication/mediaRelayAccessToken"}},
   "_embedded":{"mediaRelay":[
     {"rel":"mediaRelay","host":"edgeint.contoso.net","ipv4":"10.30.0.5","location":"Intranet","tcpPort":443,"udpPort":3478,"_links":{"self":{"href":"/ucwa/oauth/v1/applications/102146789012/communication/mediaRelay"}}},
     {"rel":"mediaRelay","host":"av.contoso.com","ipv4":"203.0.113.22","location":"Internet","tcpPort":443,"udpPort":3478,"_links":{"self":{"href":"/ucwa/oauth/v1/applications/102146789012/communication/mediaRelay"}}}]}}"#;

    #[test]
    fn a20_relays() {
        let h = Headers::from_pairs([("X-MS-Server-Fqdn", "FE01.contoso.net")]);
        assert_eq!(
            response_hosts(&h, Some(A20.as_bytes())),
            vec![
                (
                    "X-MS-Server-Fqdn".to_string(),
                    "fe01.contoso.net".to_string()
                ),
                ("mediaRelay.host".into(), "edgeint.contoso.net".into()),
                ("mediaRelay.host".into(), "av.contoso.com".into()),
            ]
        );
        let facts = body_facts(Some("application/json"), A20.as_bytes());
        let get = |k: &str| -> Vec<&str> {
            facts
                .iter()
                .filter(|(x, _)| x == k)
                .map(|(_, v)| v.as_str())
                .collect()
        };
        assert_eq!(get("rel"), ["mediaRelayAccessToken"]);
        assert_eq!(get("duration"), ["480"]);
        assert_eq!(get("validuntil"), ["/Date(1435615200000)/"]);
        assert_eq!(get("location"), ["Intranet", "Internet"]);
        assert_eq!(get("ipv4"), ["10.30.0.5", "203.0.113.22"]);
        assert_eq!(get("host"), ["edgeint.contoso.net", "av.contoso.com"]);
        assert!(facts.iter().all(|(k, v)| k != "password"
            && k != "username"
            && !v.contains("redact")
            && !v.contains("AgAAJN")));
        // Duplicate self links of the two relays are reported once.
        let links = links_of(POOL1_EXT, "application/json", A20);
        assert_eq!(links.len(), 2);
    }

    #[test]
    fn token_and_policy_facts() {
        // #A07 token response.
        let a07 = r#"{"access_token":"cwt=AAEBHAEFAAAAAAAFFQAAAP1INTaliceA1xYz0","expires_in":28800,"ms_rtc_identityscope":"local","token_type":"Bearer"}"#;
        assert_eq!(
            body_facts(Some("application/json"), a07.as_bytes()),
            vec![
                ("access_token".to_string(), "cwt=AAEBHAEF".to_string()),
                ("expires_in".into(), "28800".into()),
                ("ms_rtc_identityscope".into(), "local".into()),
                ("token_type".into(), "Bearer".into()),
            ]
        );
        // Cut before the end: the scan still finds the pairs, never the full token.
        let cut = &a07[..a07.len() - 30];
        let facts = body_facts(Some("application/json"), cut.as_bytes());
        assert_eq!(
            facts[0],
            ("access_token".to_string(), "cwt=AAEBHAEF".to_string())
        );
        assert!(facts.iter().all(|(_, v)| !v.contains("A1xYz0")));
        // #A19 policies.
        let a19 = r#"{"rel":"policies","audioOnlyOnWifi":"Disabled","videoOnlyOnWifi":"Enabled","sharingOnlyOnWifi":"Disabled",
   "telephonyMode":"AudioVideo","saveCredentials":"Enabled","saveMessagingHistory":"Enabled","saveCallLogs":"Enabled",
   "clientExchangeConnectivity":"Enabled","allowDeviceContactsSync":"Enabled","encryptAppData":"Disabled","photos":"Enabled",
   "emoticons":"Enabled","htmlMessaging":"Enabled","logging":"Disabled","loggingLevel":"Off",
   "voicemailUri":"sip:alice@contoso.com;opaque=app:voicemail","emergencyDialString":"911","emergencyDialMask":"112",
   "_links":{"self":{"href":"/ucwa/oauth/v1/applications/102146789012/policies"}}}"#;
        let facts = body_facts(Some("application/json"), a19.as_bytes());
        assert!(facts.contains(&("videoonlyonwifi".to_string(), "Enabled".to_string())));
        assert!(facts.contains(&(
            "clientexchangeconnectivity".to_string(),
            "Enabled".to_string()
        )));
        assert!(facts.contains(&("rel".to_string(), "policies".to_string())));
        assert_eq!(facts.len(), 19);
        // Stage 21 error body and a UCWA error (GenericSynchronousErrors).
        let facts = body_facts(None, br#"{"error":"invalid_grant"}"#);
        assert_eq!(
            facts,
            vec![("error".to_string(), "invalid_grant".to_string())]
        );
        let facts = body_facts(
            Some("application/json"),
            br#"{"code":"Forbidden","subcode":"MobileApplicationNoLongerAllowed","message":"The user is not allowed to create mobile application."}"#,
        );
        assert_eq!(facts.len(), 3);
        // serde_json (without preserve_order) walks keys in sorted order.
        assert!(facts.contains(&(
            "subcode".to_string(),
            "MobileApplicationNoLongerAllowed".to_string()
        )));
    }

    #[test]
    fn saml_and_form_facts() {
        // #A16 RSTR.
        let a16 = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><wst:RequestSecurityTokenResponseCollection xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512" xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion" xmlns:wsu="u"><wst:RequestSecurityTokenResponse>
    <wst:TokenType>http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1</wst:TokenType>
    <wst:RequestedSecurityToken><saml:Assertion MajorVersion="1" MinorVersion="1" AssertionID="_wtA1c9d2"
        Issuer="URI:https://webint-pool1.contoso.net/WebTicket/WebTicketService.svc" IssueInstant="2015-06-29T14:00:01.690Z">
      <saml:Conditions NotBefore="2015-06-29T14:00:01.690Z" NotOnOrAfter="2015-06-29T22:00:01.690Z"></saml:Conditions>
    </saml:Assertion></wst:RequestedSecurityToken>
    <wst:Lifetime><wsu:Created>2015-06-29T14:00:01.690Z</wsu:Created><wsu:Expires>2015-06-29T22:00:01.690Z</wsu:Expires></wst:Lifetime>
    <wst:Entropy><wst:BinarySecret>c2VjcmV0</wst:BinarySecret></wst:Entropy>
  </wst:RequestSecurityTokenResponse></wst:RequestSecurityTokenResponseCollection></s:Body></s:Envelope>"#;
        let facts = body_facts(Some("text/xml; charset=utf-8"), a16.as_bytes());
        let pairs: Vec<(&str, &str)> = facts
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("assertionid", "_wtA1c9d2"),
                (
                    "issuer",
                    "URI:https://webint-pool1.contoso.net/WebTicket/WebTicketService.svc"
                ),
                ("issueinstant", "2015-06-29T14:00:01.690Z"),
                ("notbefore", "2015-06-29T14:00:01.690Z"),
                ("notonorafter", "2015-06-29T22:00:01.690Z"),
                ("created", "2015-06-29T14:00:01.690Z"),
                ("expires", "2015-06-29T22:00:01.690Z"),
            ]
        );
        // #A05 request body; a password grant never shows its password.
        let ct = Some("application/x-www-form-urlencoded;charset=UTF-8");
        assert_eq!(
            body_facts(ct, b"grant_type=urn:microsoft.rtc:windows"),
            vec![(
                "grant_type".to_string(),
                "urn:microsoft.rtc:windows".to_string()
            )]
        );
        let facts = body_facts(
            None,
            b"grant_type=password&username=alice%40contoso.com&password=S3cr%21t",
        );
        assert_eq!(
            facts,
            vec![
                ("grant_type".to_string(), "password".to_string()),
                ("username".into(), "alice@contoso.com".into()),
            ]
        );
        // SOAP fault (sipe reads Body/Fault/Detail/error/internalerror/text).
        let fault = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring xml:lang="en-US">Bad &amp; worse</faultstring><detail><error><internalerror><text>No valid security token.</text></internalerror></error></detail></s:Fault></s:Body></s:Envelope>"#;
        let facts = body_facts(Some("text/xml"), fault.as_bytes());
        assert_eq!(
            facts,
            vec![
                ("faultcode".to_string(), "s:Client".to_string()),
                ("faultstring".into(), "Bad & worse".into()),
                ("internalerror".into(), "No valid security token.".into()),
            ]
        );
    }

    #[test]
    fn location_and_relative_hrefs() {
        let h = Headers::from_pairs([(
            "Location",
            "/Autodiscover/AutodiscoverService.svc/root?sipuri=alice@contoso.com",
        )]);
        let links = response_links("http://lyncdiscover.contoso.com:8080", &h, None, None);
        assert_eq!(
            links,
            vec![Link {
                via: "Location".into(),
                rel: "location".into(),
                url: "http://lyncdiscover.contoso.com:8080/Autodiscover/AutodiscoverService.svc/root?sipuri=alice@contoso.com".into(),
                prefix: false,
            }]
        );
        // Non-HTTP hrefs are not links.
        let links = links_of(
            POOL1_EXT,
            "application/json",
            r#"{"a":{"href":"sip:alice@contoso.com"},"b":{"href":"data/x"}}"#,
        );
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].url, "https://webext-pool1.contoso.com/data/x");
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            #[test]
            fn strings_never_panic(a in ".{0,120}", b in ".{0,120}") {
                let _ = crate::model::url::normalize_url(&a);
                let _ = resolve(&a, &b);
                let _ = resolve("https://h:1/p/q?x", &b);
                let h = Headers::from_pairs([
                    ("Location", a.as_str()),
                    ("WWW-Authenticate", b.as_str()),
                    ("X-MS-WebTicketURL", a.as_str()),
                    ("X-MS-Server-Fqdn", b.as_str()),
                ]);
                let _ = response_links(&a, &h, Some(&b), Some(a.as_bytes()));
                let _ = response_hosts(&h, Some(b.as_bytes()));
            }

            #[test]
            fn bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400), ct in 0usize..5) {
                let ct = ["application/json", "text/xml", "application/x-www-form-urlencoded", "text/html", ""][ct];
                let ct = (!ct.is_empty()).then_some(ct);
                let h = Headers::from_pairs([]);
                let _ = response_links("https://h", &h, ct, Some(&body));
                let _ = response_hosts(&h, Some(&body));
                let _ = body_facts(ct, &body);
            }

            #[test]
            fn markup_like_bodies_never_panic(s in r#"[<>{}\[\]"=:/a-zA-Z&;#%, _.-]{0,300}"#) {
                let h = Headers::from_pairs([]);
                for ct in [Some("application/json"), Some("text/xml"), None] {
                    let _ = response_links("https://h", &h, ct, Some(s.as_bytes()));
                    let _ = body_facts(ct, s.as_bytes());
                }
                let _ = response_hosts(&h, Some(s.as_bytes()));
            }

            #[test]
            fn cut_documents_never_panic(cut in 0usize..4000) {
                for doc in [super::A11, super::A12, super::A13, super::A20, super::A23, super::B38] {
                    let b = &doc.as_bytes()[..cut.min(doc.len())];
                    let h = Headers::from_pairs([]);
                    let _ = response_links("https://h", &h, None, Some(b));
                    let _ = response_hosts(&h, Some(b));
                    let _ = body_facts(None, b);
                }
            }
        }
    }
}
