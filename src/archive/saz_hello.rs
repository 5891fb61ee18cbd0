//! What Fiddler writes in the bodies of a CONNECT session it did not decrypt (docs/archives.md):
//! a readable parse of the client's ClientHello in `_c.txt` and of the server's ServerHello in
//! `_s.txt`. The facts it gives (server name, the server's version, cipher and ALPN) become the
//! tunnel connection's TLS facts. The certificate is not in a blind tunnel's texts.

/// A hello's facts as `(name, value)` pairs, named like Fiddler's `https-*` session flags
/// (which win when present), plus `hello-alpn` and `hello-server` (a ServerHello was parsed).
pub(super) fn hello_facts(request_body: &[u8], response_body: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let client = text(request_body);
    if client.contains("ClientHello handshake was found") {
        if let Some(sni) = extension(&client, "server_name").filter(|v| v != "empty") {
            out.push(("https-client-snihostname".to_string(), sni));
        }
    }
    let server = text(response_body);
    if !server.contains("ServerHello handshake was found") {
        return out;
    }
    out.push(("hello-server".to_string(), "1".to_string()));
    let field = |name: &str| {
        server.lines().find_map(|l| {
            let v = l.strip_prefix(name)?.strip_prefix(':')?;
            Some(v.trim().to_string())
        })
    };
    // "TLS_AES_128_GCM_SHA256 [0x1301]": the IANA name, its code dropped.
    let cipher = field("Cipher").map(|c| match c.rsplit_once(" [0x") {
        Some((name, _)) => name.trim().to_string(),
        None => c,
    });
    // The ServerHello's version field says 3.3 (TLS 1.2) for TLS 1.3 too, which answers with a
    // supported_versions extension (RFC 8446 section 4.1.3) and a TLS 1.3 suite.
    let tls13 = extension(&server, "supported_versions").is_some()
        || cipher
            .as_deref()
            .is_some_and(|c| c.starts_with("TLS_AES_") || c.starts_with("TLS_CHACHA20_"));
    let version = if tls13 {
        Some("tls13".to_string())
    } else {
        field("Version").and_then(|v| match v.split_whitespace().next()? {
            "3.0" => Some("ssl3".to_string()),
            "3.1" => Some("tls10".to_string()),
            "3.2" => Some("tls11".to_string()),
            "3.3" => Some("tls12".to_string()),
            _ => None,
        })
    };
    if let Some(v) = version {
        out.push(("https-server-version".to_string(), v));
    }
    if let Some(c) = cipher.filter(|c| !c.is_empty()) {
        out.push(("https-server-cipher".to_string(), c));
    }
    if let Some(alpn) = extension(&server, "ALPN").filter(|v| !v.is_empty() && v != "empty") {
        out.push(("hello-alpn".to_string(), alpn));
    }
    out
}

/// The value of an extension line (`\tname\tvalue`, tabs around) of a hello's parse; `Some("")`
/// for an extension listed without a value.
fn extension(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let mut parts = l.split('\t').map(str::trim).filter(|p| !p.is_empty());
        (l.starts_with('\t') && parts.next()? == name).then(|| parts.collect::<Vec<_>>().join(" "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shapes from docs/archives.md's description of Fiddler's texts (tabs and mixed line ends
    /// as Fiddler writes them).
    #[test]
    fn a_blind_tunnel_gives_name_version_cipher_and_alpn() {
        let c = b"A SSLv3-compatible ClientHello handshake was found. Fiddler extracted the parameters below.\n\nVersion: 3.3 (TLS/1.2)\nExtensions: \n\tserver_name\tgithub.com\n\tALPN\t\th2, http/1.1\nCiphers: \n\t[1301]\tTLS_AES_128_GCM_SHA256\r\n";
        let s = b"This is a CONNECT tunnel, through which encrypted HTTPS traffic flows.\n\nA SSLv3-compatible ServerHello handshake was found. Fiddler extracted the parameters below.\n\nVersion: 3.3 (TLS/1.2)\nCipher:\t\tTLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 [0xC02F]\nExtensions:\n\t\tserver_name\tempty\n\t\tALPN\t\th2\n";
        let got = hello_facts(c, s);
        let get = |n: &str| got.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!(get("https-client-snihostname"), Some("github.com"));
        assert_eq!(get("https-server-version"), Some("tls12"));
        assert_eq!(
            get("https-server-cipher"),
            Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
        );
        assert_eq!(get("hello-alpn"), Some("h2"));
    }

    #[test]
    fn tls13_is_told_by_supported_versions_and_junk_gives_nothing() {
        let s = b"A SSLv3-compatible ServerHello handshake was found.\n\nVersion: 3.3 (TLS/1.2)\nCipher:\t\tTLS_AES_128_GCM_SHA256 [0x1301]\nExtensions:\n\t\tsupported_versions\t\n";
        let got = hello_facts(b"", s);
        assert!(got.contains(&("https-server-version".into(), "tls13".into())));
        assert!(hello_facts(b"\x00\xff garbage", b"Cipher: x").is_empty());
    }
}
