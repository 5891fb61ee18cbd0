//! URLs as the model needs them: split into parts, and percent-decoded.

/// The parts of an absolute URL that matter here.
pub struct UrlParts<'a> {
    pub scheme: Option<&'a str>,
    pub host: &'a str,
    pub port: Option<u16>,
    /// Everything after the authority, fragment excluded.
    pub path_query: &'a str,
}

impl<'a> UrlParts<'a> {
    pub fn parse(url: &'a str) -> UrlParts<'a> {
        let (scheme, rest) = match url.split_once("://") {
            Some((s, rest))
                if !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
            {
                (Some(s), rest)
            }
            _ => (None, url),
        };
        let rest = rest.split('#').next().unwrap_or("");
        if scheme.is_none() {
            return UrlParts {
                scheme,
                host: "",
                port: None,
                path_query: rest,
            };
        }
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path_query) = rest.split_at(end);
        let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            match v6.split_once(']') {
                Some((h, p)) => (h, p.strip_prefix(':').and_then(|p| p.parse().ok())),
                None => (v6, None),
            }
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, p.parse().ok()),
                None => (hostport, None),
            }
        };
        UrlParts {
            scheme,
            host,
            port,
            path_query,
        }
    }
}
