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
    /// The URL of an exchange's request: from an absolute target, else the `Host` header, the
    /// TLS server name, or the server address. `None` without a request.
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
        let authority = authority.map(str::to_string).or_else(|| {
            req.headers
                .get("Host")
                .map(str::to_string)
                .or_else(|| conn.and_then(|c| c.tls.as_ref()?.sni.clone()))
                .or_else(|| conn.map(|c| c.server.to_string()))
        })?;
        let (host, port) = host_and_port(&authority, default_port);
        let port_part = if port == default_port {
            String::new()
        } else {
            format!(":{port}")
        };
        let url = if connect {
            format!("{scheme}://{host}{port_part}/")
        } else {
            format!("{scheme}://{host}{port_part}{path_query}")
        };
        Some(RequestUrl {
            method: req.method.as_str(),
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
