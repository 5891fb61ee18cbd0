//! Every TCP connection (or attempt) in words, for the reports' Connections section: the
//! endpoints, the name the client looked up for the server, the stage and how it ended, the
//! TLS facts (version, SNI, ALPN, chain, alerts, why not decrypted) and the exchanges it
//! carried. A sign-in that broke before any HTTP (a certificate the phone rejects) shows here
//! and nowhere else, so every report lists them, not only those of an empty capture.

use crate::model::{Analysis, AppProtocol, Connection, HttpVersion, Outcome, Upgrade};

/// One connection, each fact already in words ("" when there is nothing to say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionRow {
    /// "C3".
    pub id: String,
    /// "198.51.100.77:42002 → 203.0.113.10:443".
    pub endpoints: String,
    /// The DNS name the client resolved to the server's address (else the SNI), "" if none.
    pub name: String,
    /// Its stage tag, else the stage of its first exchange; "" when untagged.
    pub stage: String,
    pub outcome: Outcome,
    /// How it ended, in words: "no answer to the SYN", the TLS trouble, "3 exchanges".
    pub result: String,
    /// "TLS 1.2, SNI …, ALPN …" or "plain TCP"; archives say it was not recorded.
    pub tls: String,
    /// Further (label, text) TLS lines: chain, alerts, client abort, why not decrypted.
    pub details: Vec<(&'static str, String)>,
    /// Exchange numbers it carried, in order.
    pub exchanges: Vec<u32>,
}

/// "1 exchange", "3 exchanges": `n` and the noun, singular or plural.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else if let Some(stem) = noun.strip_suffix('y') {
        format!("{n} {stem}ies")
    } else {
        format!("{n} {noun}s")
    }
}

/// The inputs were a proxy's trace (SAZ) or a browser's (HAR), which record no TLS handshake.
pub fn archive_kind(a: &Analysis) -> Option<&'static str> {
    a.inputs.iter().find_map(|i| {
        if i.format.eq_ignore_ascii_case("har") {
            Some("a HAR")
        } else if i.format.eq_ignore_ascii_case("saz") {
            Some("a Fiddler SAZ")
        } else {
            None
        }
    })
}

/// One row per connection, in the model's order (first seen first).
pub fn connection_rows(a: &Analysis) -> Vec<ConnectionRow> {
    a.connections.iter().map(|c| row(a, c)).collect()
}

fn row(a: &Analysis, c: &Connection) -> ConnectionRow {
    let first = c
        .exchanges
        .first()
        .and_then(|id| a.exchanges.get(id.0 as usize));
    let tag = c.stage.as_ref().or(first.and_then(|x| x.stage.as_deref()));
    let name = dns_name(a, c)
        .or_else(|| c.tls.as_ref().and_then(|t| t.sni.clone()))
        .unwrap_or_default();
    let trouble = c.tls.as_ref().and_then(super::tls_words::tls_trouble);
    let result = if c.handshake && !c.syn_ack {
        "no answer to the SYN".to_string()
    } else if let Some(t) = trouble {
        if c.exchanges.is_empty() {
            format!("{t}; no HTTP exchange")
        } else {
            t
        }
    } else if c.exchanges.is_empty() {
        "no HTTP exchange".into()
    } else {
        count(c.exchanges.len(), "exchange")
    };
    let tls = match (&c.tls, archive_kind(a)) {
        (Some(t), kind) => {
            let mut s = match (&t.version, kind) {
                (Some(v), _) => v.clone(),
                (None, Some(kind)) => format!("TLS (version not recorded in {kind})"),
                (None, None) => "TLS".into(),
            };
            if let Some(sni) = &t.sni {
                s.push_str(&format!(", SNI {sni}"));
            }
            if let Some(alpn) = &t.alpn {
                s.push_str(&format!(", ALPN {alpn}"));
            }
            match (t.decrypted, &t.key_source) {
                (true, Some(src)) => s.push_str(&format!(", decrypted ({src})")),
                (true, None) => s.push_str(", decrypted"),
                (false, _) => s.push_str(", not decrypted"),
            }
            s
        }
        (None, Some(kind)) => format!("TLS not recorded in {kind}"),
        (None, None) => "no TLS".into(),
    };
    let mut details = Vec::new();
    if let Some(t) = &c.tls {
        details.extend(super::tls_words::tls_lines(t));
        if !t.decrypted {
            if let Some(r) = &t.reason {
                details.push(("Not decrypted", r.clone()));
            }
        }
    }
    if let Some(layers) = tunnel_carried(a, c) {
        let target = c
            .exchanges
            .iter()
            .filter_map(|id| a.exchanges.get(id.0 as usize))
            .find(|x| x.upgrade == Some(Upgrade::Tunnel))
            .and_then(|x| x.request.as_ref())
            .map_or("", |r| r.target.as_str());
        details.push((
            "Tunnel",
            format!("CONNECT {target} carried {}", layers.join(" → ")),
        ));
    }
    if let Some(f) = c.h2_control {
        let mut s = format!(
            "SETTINGS {}, PING {}, GOAWAY {}, WINDOW_UPDATE {}",
            f.settings, f.ping, f.goaway, f.window_update
        );
        if f.other > 0 {
            s.push_str(&format!(", other {}", f.other));
        }
        details.push(("HTTP/2 stream 0", s));
    }
    ConnectionRow {
        id: format!("C{}", c.id.0),
        endpoints: format!("{} → {}", c.client, c.server),
        name,
        stage: tag.map(|t| t.id.clone()).unwrap_or_default(),
        outcome: tag.map_or(Outcome::Unknown, |t| t.outcome),
        result,
        tls,
        details,
        exchanges: c.exchanges.iter().map(|x| x.0).collect(),
    }
}

/// What a proxy connection's CONNECT tunnel (answered 2xx) carried, outermost first:
/// `["tls", "http/2"]`, `["tls"]` (no exchange decrypted and no ALPN), `["http/1"]` (plain
/// HTTP in the tunnel). The connection's `protocol` stays `http/1`, what it spoke to the proxy
/// (docs/report-schema.md, `connections[].tunnel`). None without such a tunnel, when the
/// tunnel's bytes were neither TLS nor HTTP (a diagnostic says so), and for a trace archive's
/// CONNECT sessions, whose tunnel bytes are the proxy's to show.
pub fn tunnel_carried(a: &Analysis, c: &Connection) -> Option<Vec<&'static str>> {
    if c.protocol != AppProtocol::Http1 {
        return None;
    }
    let mut xs = c
        .exchanges
        .iter()
        .filter_map(|id| a.exchanges.get(id.0 as usize));
    let connect = xs.find(|x| x.upgrade == Some(Upgrade::Tunnel))?;
    if connect.annotations.is_some() {
        return None;
    }
    let mut layers = Vec::new();
    if c.tls.is_some() {
        // An HTTP/1 connection's TLS facts are its tunnel's (h1/tunnel.rs).
        layers.push("tls");
    }
    let inner = xs.find(|x| x.tunnel.is_some_and(|l| l.connect() == connect.id));
    let alpn = c.tls.as_ref().and_then(|t| t.alpn.as_deref());
    let http = match (inner.map(|x| x.http_version), alpn) {
        (Some(HttpVersion::Http2), _) | (None, Some("h2")) => Some("http/2"),
        (Some(_), _) | (None, Some("http/1.1" | "http/1.0")) => Some("http/1"),
        (None, _) => None,
    };
    layers.extend(http);
    (!layers.is_empty()).then_some(layers)
}

/// The name of the last lookup before the connection whose answer held its server address.
fn dns_name(a: &Analysis, c: &Connection) -> Option<String> {
    let ip = c.server.ip();
    a.dns
        .iter()
        .rev()
        .filter(|l| {
            l.response
                .as_ref()
                .is_some_and(|r| r.arrival.ts <= c.first_seen)
        })
        .find(|l| l.addresses().any(|x| x == ip))
        .map(|l| l.qname.clone())
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn counts_agree_with_their_number() {
        assert_eq!(count(1, "exchange"), "1 exchange");
        assert_eq!(count(0, "exchange"), "0 exchanges");
        assert_eq!(count(2, "lookup"), "2 lookups");
        assert_eq!(count(2, "discovery"), "2 discoveries");
    }
}
