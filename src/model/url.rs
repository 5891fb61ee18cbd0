//! URLs as the model needs them: split into the parts a client sent (no normalisation, unlike
//! a WHATWG parser: the analysis must show what was on the wire), percent-decoded, and the
//! URL of each request.

use super::{Analysis, Exchange};

/// `scheme://authority/path?query#fragment`, borrowed from the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlParts<'a> {
    pub scheme: &'a str,
    pub authority: &'a str,
    /// Empty for `https://host` and `https://host?q`.
    pub path: &'a str,
    pub query: Option<&'a str>,
}

impl<'a> UrlParts<'a> {
    /// `None` without a scheme or an authority (a relative reference, `sip:` URIs).
    pub fn parse(url: &'a str) -> Option<UrlParts<'a>> {
        let (scheme, rest) = url.split_once("://")?;
        if !is_scheme(scheme) {
            return None;
        }
        let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = rest.get(..auth_end)?;
        if authority.is_empty() {
            return None;
        }
        let rest = rest.get(auth_end..)?;
        let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        Some(UrlParts {
            scheme,
            authority,
            path,
            query,
        })
    }

    /// Host (IPv6 without brackets, as written) and port (`None` when absent or not a
    /// number); user info dropped.
    pub fn host_port(&self) -> (&'a str, Option<u16>) {
        split_authority(self.authority)
    }
}

/// RFC 3986 scheme: a letter, then letters, digits, `+`, `-`, `.`.
pub fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Host and port of an authority (`user@host:port`, `[v6]:port`); the port is `None` when
/// absent or not a number.
pub fn split_authority(authority: &str) -> (&str, Option<u16>) {
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = hostport.strip_prefix('[') {
        return match v6.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => (v6, None),
        };
    }
    match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().ok()),
        None => (hostport, None),
    }
}

/// `%XX` escapes decoded (invalid ones kept as they are), lossy on invalid UTF-8.
pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// A query or form field (`application/x-www-form-urlencoded`): `+` is a space.
pub fn form_decode(s: &str) -> String {
    percent_decode(&s.replace('+', " "))
}

/// Where a request went, as its client addressed it: the absolute URL every view shows and
/// the host, port and path the stage rules look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestUrl<'a> {
    pub method: &'a str,
    pub scheme: &'static str,
    /// Lower-case, no port.
    pub host: String,
    pub port: u16,
    /// Path and query as sent (`/` for CONNECT and for an absolute URL without a path).
    pub path_query: &'a str,
    /// `scheme://host[:port]path?query`, the port only when it is not the scheme's default.
    pub url: String,
}

impl Analysis {
    /// The `host:port` of the CONNECT whose tunnel carried the exchange (its host when the
    /// request names none).
    pub fn tunnel_target(&self, ex: &Exchange) -> Option<&str> {
        let connect = self.exchanges.get(ex.tunnel?.connect().0 as usize)?;
        connect.request.as_ref().map(|r| r.target.as_str())
    }

    /// The URL of an exchange's request: from an absolute target, else the `Host` header (or
    /// HTTP/2's `:authority`, which may name another host than the TLS server name of a
    /// connection a client reuses for several hosts), the CONNECT target of the tunnel that carried it, the TLS server name, or the server
    /// address. `None` without a request.
    pub fn request_url<'a>(&self, ex: &'a Exchange) -> Option<RequestUrl<'a>> {
        let req = ex.request.as_ref()?;
        let scheme = ex.scheme.as_str();
        let default_port = if scheme == "https" { 443 } else { 80 };
        let target = req.target.split('#').next().unwrap_or("");
        let conn = self.connections.get(ex.connection.0 as usize);
        let connect = req.method.eq_ignore_ascii_case("CONNECT");
        let (authority, path_query) = if let Some(rest) = target
            .strip_prefix("http://")
            .or_else(|| target.strip_prefix("https://"))
        {
            match rest.find('/') {
                Some(i) => (Some(&rest[..i]), &rest[i..]),
                None => (Some(rest), "/"),
            }
        } else if connect {
            (Some(target), "/")
        } else {
            (None, target)
        };
        let authority: std::borrow::Cow<'_, str> = match authority
            .or_else(|| req.host())
            .or_else(|| self.tunnel_target(ex))
            .or_else(|| conn.and_then(|c| c.tls.as_ref()?.sni.as_deref()))
        {
            Some(a) => a.into(),
            None => conn?.server.to_string().into(),
        };
        let (host, port) = host_and_port(&authority, default_port);
        // Put together by hand: `format!` was most of the cost of naming an exchange, which
        // every stage rule and check does.
        let rest = if connect { "/" } else { path_query };
        let mut url = String::with_capacity(scheme.len() + host.len() + rest.len() + 9);
        url.push_str(scheme);
        url.push_str("://");
        url.push_str(&host);
        if port != default_port {
            url.push(':');
            url.push_str(&port.to_string());
        }
        url.push_str(rest);
        Some(RequestUrl {
            method: &req.method,
            scheme,
            host,
            port,
            path_query,
            url,
        })
    }
}

/// Lower-case host and port of an authority ("Host" header value).
pub fn host_and_port(authority: &str, default_port: u16) -> (String, u16) {
    let a = authority.trim();
    let a = a.rsplit_once('@').map_or(a, |(_, h)| h);
    if let Some(rest) = a.strip_prefix('[') {
        if let Some((h, after)) = rest.split_once(']') {
            let port = after
                .strip_prefix(':')
                .and_then(|p| p.parse().ok())
                .unwrap_or(default_port);
            return (h.to_ascii_lowercase(), port);
        }
    }
    match a.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => {
            (h.to_ascii_lowercase(), p.parse().unwrap_or(default_port))
        }
        _ => (a.to_ascii_lowercase(), default_port),
    }
}

// ---- resolving and matching links ----------------------------------------------------------

/// (lower-case host, port) of an authority, user info dropped; `None` for a non-numeric port.
fn host_port(authority: &str) -> Option<(String, Option<u16>)> {
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        (format!("[{h}]"), after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (hostport.to_string(), None),
        }
    };
    let port = match port {
        Some("") | None => None,
        Some(p) => Some(p.parse::<u16>().ok()?),
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some((host, port))
}

/// Normalises a URL for matching announced links: lower-case scheme and host, default port
/// dropped, path lower-cased with dot segments removed, duplicate '/' collapsed, trailing '/'
/// dropped (except "/"), percent-escapes of unreserved characters (and '@', ':') decoded,
/// fragment dropped. Returns (origin + path, query parameters sorted and joined with '&') so
/// callers can match with or without the query (compared as a multiset).
pub fn normalize_url(url: &str) -> Option<(String, String)> {
    let p = UrlParts::parse(url.trim())?;
    let scheme = p.scheme.to_ascii_lowercase();
    let (host, port) = host_port(p.authority)?;
    let default_port = match scheme.as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    };
    let mut origin = format!("{scheme}://{host}");
    if let Some(port) = port.filter(|&p| Some(p) != default_port) {
        origin.push(':');
        origin.push_str(&port.to_string());
    }
    let path = percent_normalize(p.path).to_lowercase();
    let path = remove_dot_segments(&path);
    let mut norm = String::with_capacity(path.len() + 1);
    for c in path.chars() {
        if c == '/' && norm.ends_with('/') {
            continue;
        }
        norm.push(c);
    }
    if !norm.starts_with('/') {
        norm.insert(0, '/');
    }
    while norm.len() > 1 && norm.ends_with('/') {
        norm.pop();
    }
    let mut params: Vec<String> = p
        .query
        .unwrap_or_default()
        .split('&')
        .filter(|s| !s.is_empty())
        .map(percent_normalize)
        .collect();
    params.sort();
    origin.push_str(&norm);
    Some((origin, params.join("&")))
}

/// Resolves `href` (absolute, scheme-relative, absolute-path or relative) against a base URL
/// (RFC 3986 §5.2, fragment dropped). Absolute hrefs of other schemes (`sip:`) come back as
/// given.
pub fn resolve(base_url: &str, href: &str) -> Option<String> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    let href = href.split_once('#').map_or(href, |(h, _)| h);
    if let Some((scheme, _)) = href.split_once(':') {
        if is_scheme(scheme) {
            return Some(match UrlParts::parse(href) {
                Some(p) => rebuild(p.scheme, p.authority, p.path, p.query),
                None => href.to_string(),
            });
        }
    }
    let base = UrlParts::parse(base_url.trim())?;
    if let Some(rest) = href.strip_prefix("//") {
        return resolve(base_url, &format!("{}://{rest}", base.scheme));
    }
    let (path, query) = match href.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (href, None),
    };
    let merged;
    let (path, query) = if path.is_empty() {
        (base.path, query.or(base.query))
    } else if path.starts_with('/') {
        (path, query)
    } else {
        let dir = base.path.rfind('/').map_or("", |i| &base.path[..i]);
        merged = format!("{dir}/{path}");
        (merged.as_str(), query)
    };
    Some(rebuild(base.scheme, base.authority, path, query))
}

fn rebuild(scheme: &str, authority: &str, path: &str, query: Option<&str>) -> String {
    let path = remove_dot_segments(path);
    let path = if path.is_empty() { "/" } else { path.as_str() };
    match query {
        Some(q) => format!("{scheme}://{authority}{path}?{q}"),
        None => format!("{scheme}://{authority}{path}"),
    }
}

/// RFC 3986 §5.2.4.
fn remove_dot_segments(path: &str) -> String {
    if !path.split('/').any(|s| s == "." || s == "..") {
        return path.to_string();
    }
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len().saturating_sub(1);
    let mut out: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "." => {}
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
            }
            s => out.push(s),
        }
        if i == last && (*seg == "." || *seg == "..") {
            out.push("");
        }
    }
    let joined = out.join("/");
    if path.starts_with('/') && !joined.starts_with('/') {
        format!("/{joined}")
    } else {
        joined
    }
}

/// Decodes %XX escapes of characters that mean the same escaped or not (unreserved, '@', ':')
/// and upper-cases the hex of the others.
fn percent_normalize(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut from = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let Some(v) = hex_byte(b.get(i + 1..i + 3)) {
                out.push_str(s.get(from..i).unwrap_or_default());
                if v.is_ascii_alphanumeric() || b"-._~@:".contains(&v) {
                    out.push(char::from(v));
                } else {
                    out.push('%');
                    out.push_str(&format!("{v:02X}"));
                }
                i += 3;
                from = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(s.get(from..).unwrap_or_default());
    out
}

fn hex_byte(two: Option<&[u8]>) -> Option<u8> {
    let two = std::str::from_utf8(two?).ok()?;
    u8::from_str_radix(two, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An HTTP/2 request names its host in `:authority`: the URL takes it, not the TLS server
    /// name of the connection (browsers reuse a connection for every host its certificate
    /// covers, RFC 9113 section 9.1.1).
    #[test]
    fn an_http2_request_url_takes_its_authority() {
        use crate::model::{Scheme, TlsInfo};
        use crate::testkit::{AnalysisBuilder, ConnectionBuilder, ExchangeBuilder};
        let a = AnalysisBuilder::new()
            .connection(
                ConnectionBuilder::new(
                    0,
                    "10.0.0.2:50000".parse().unwrap(),
                    "10.0.0.1:443".parse().unwrap(),
                )
                .tls(TlsInfo {
                    sni: Some("webext.contoso.com".into()),
                    ..TlsInfo::default()
                }),
            )
            .exchange(
                ExchangeBuilder::new(0)
                    .scheme(Scheme::Https)
                    .request("GET", "/?sipuri=u@contoso.com")
                    .header(":authority", "lyncdiscover.contoso.com"),
            )
            .build();
        let url = a.request_url(&a.exchanges[0]).unwrap();
        assert_eq!(
            url.url,
            "https://lyncdiscover.contoso.com/?sipuri=u@contoso.com"
        );
        assert_eq!(url.host, "lyncdiscover.contoso.com");
    }

    #[test]
    fn parts_as_sent() {
        let p = UrlParts::parse("HTTPS://u@[::1]:8443/a//B?x=1&y#frag").unwrap();
        assert_eq!(
            (p.scheme, p.authority, p.path, p.query),
            ("HTTPS", "u@[::1]:8443", "/a//B", Some("x=1&y"))
        );
        assert_eq!(p.host_port(), ("::1", Some(8443)));
        let p = UrlParts::parse("https://host?q").unwrap();
        assert_eq!((p.path, p.query), ("", Some("q")));
        assert_eq!(UrlParts::parse("/relative?x"), None);
        assert_eq!(UrlParts::parse("sip:user@contoso.com"), None);
        assert_eq!(UrlParts::parse("http:///nohost"), None);
        assert_eq!(split_authority("host:99999"), ("host", None));
    }

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a%20b+c%2B%zz%4"), "a b+c+%zz%4");
        assert_eq!(form_decode("a%20b+c%2B"), "a b c+");
        assert_eq!(percent_decode("%ff"), "\u{fffd}");
    }

    #[test]
    fn resolve_cases() {
        let base = "https://webext-pool1.contoso.com/ucwa/oauth/v1/applications/1?x=1#f";
        assert_eq!(
            resolve(base, "/a/b").as_deref(),
            Some("https://webext-pool1.contoso.com/a/b")
        );
        assert_eq!(
            resolve(base, "2/me").as_deref(),
            Some("https://webext-pool1.contoso.com/ucwa/oauth/v1/applications/2/me")
        );
        assert_eq!(
            resolve(base, "../x").as_deref(),
            Some("https://webext-pool1.contoso.com/ucwa/oauth/v1/x")
        );
        assert_eq!(
            resolve(base, "//cdn.contoso.com/y").as_deref(),
            Some("https://cdn.contoso.com/y")
        );
        assert_eq!(
            resolve(base, "?ack=2").as_deref(),
            Some("https://webext-pool1.contoso.com/ucwa/oauth/v1/applications/1?ack=2")
        );
        assert_eq!(
            resolve(base, "HTTP://Other/p/./q/../r#frag").as_deref(),
            Some("HTTP://Other/p/r")
        );
        assert_eq!(
            resolve(base, "sip:bob@contoso.com").as_deref(),
            Some("sip:bob@contoso.com")
        );
        assert_eq!(resolve("https://h", "x").as_deref(), Some("https://h/x"));
        assert_eq!(
            resolve("https://h", "/../..").as_deref(),
            Some("https://h/")
        );
        assert_eq!(resolve("not a url", "x"), None);
        assert_eq!(resolve(base, "  "), None);
    }

    #[test]
    fn normalize_cases() {
        let n = |u: &str| normalize_url(u).unwrap();
        assert_eq!(
            n("HTTPS://WebExt-Pool1.Contoso.com:443//Autodiscover/AutodiscoverService.svc/Root/OAuth/User/?originalDomain=contoso.com"),
            (
                "https://webext-pool1.contoso.com/autodiscover/autodiscoverservice.svc/root/oauth/user".to_string(),
                "originalDomain=contoso.com".to_string()
            )
        );
        assert_eq!(n("http://h:80"), ("http://h/".to_string(), String::new()));
        assert_eq!(
            n("http://h:8080/"),
            ("http://h:8080/".to_string(), String::new())
        );
        assert_eq!(n("https://h/x?b=2&a=1&b=1#frag").1, "a=1&b=1&b=2");
        assert_eq!(
            n("https://h/?sipuri=alice%40contoso.com").1,
            n("https://h/?sipuri=alice@contoso.com").1
        );
        assert_eq!(
            n("https://h/people/bob%40contoso.com").0,
            "https://h/people/bob@contoso.com"
        );
        assert_eq!(
            n("https://user@[2001:DB8::1]:4443/a").0,
            "https://[2001:db8::1]:4443/a"
        );
        assert_eq!(n("https://h/a/./b/../c").0, "https://h/a/c");
        assert_eq!(normalize_url("https://h:99999/"), None);
        assert_eq!(normalize_url("/relative"), None);
    }
}
