//! The handshake messages decryption needs, parsed from their bytes (RFC 5246 §7.4,
//! RFC 8446 §4). Only the fields we use are kept; everything is bounds-checked and a
//! malformed message is `None`, never a panic.

/// Handshake message types.
pub const CLIENT_HELLO: u8 = 1;
pub const SERVER_HELLO: u8 = 2;
pub const NEW_SESSION_TICKET: u8 = 4;
pub const ENCRYPTED_EXTENSIONS: u8 = 8;
pub const CERTIFICATE: u8 = 11;
pub const CLIENT_KEY_EXCHANGE: u8 = 16;
pub const FINISHED: u8 = 20;
pub const KEY_UPDATE: u8 = 24;

/// The ServerHello random that marks a HelloRetryRequest (RFC 8446 §4.1.3).
pub const HELLO_RETRY_REQUEST_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Extension numbers.
const EXT_SERVER_NAME: u16 = 0;
const EXT_ALPN: u16 = 16;
const EXT_ENCRYPT_THEN_MAC: u16 = 22;
const EXT_EXTENDED_MASTER_SECRET: u16 = 23;
const EXT_SESSION_TICKET: u16 = 35;
const EXT_PRE_SHARED_KEY: u16 = 41;
const EXT_SUPPORTED_VERSIONS: u16 = 43;

/// A bounds-checked reader over a message body.
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.data.len() < n {
            return None;
        }
        let (a, b) = self.data.split_at(n);
        self.data = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    fn u24(&mut self) -> Option<usize> {
        self.take(3)
            .map(|b| (usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2]))
    }
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
    fn vec24(&mut self) -> Option<&'a [u8]> {
        let n = self.u24()?;
        self.take(n)
    }
    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// Extensions as (type, body) pairs.
fn extensions(r: &mut Reader<'_>) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    if r.is_empty() {
        return out;
    }
    let Some(block) = r.vec16() else {
        return out;
    };
    let mut e = Reader::new(block);
    while !e.is_empty() {
        let (Some(t), Some(body)) = (e.u16(), e.vec16()) else {
            break;
        };
        out.push((t, body.to_vec()));
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientHello {
    pub legacy_version: u16,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    pub cipher_suites: Vec<u16>,
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    /// A TLS 1.2 session ticket offered for resumption (non-empty `session_ticket`).
    pub ticket: Option<Vec<u8>>,
    pub extended_master_secret: bool,
    pub encrypt_then_mac: bool,
    /// TLS 1.3 versions offered (`supported_versions`).
    pub supported_versions: Vec<u16>,
    /// TLS 1.3 PSK identities offered (resumption).
    pub psk_offered: bool,
}

pub fn parse_client_hello(body: &[u8]) -> Option<ClientHello> {
    let mut r = Reader::new(body);
    let legacy_version = r.u16()?;
    let random: [u8; 32] = r.take(32)?.try_into().ok()?;
    let session_id = r.vec8()?.to_vec();
    let suites = r.vec16()?;
    let cipher_suites = suites
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    // SSL 3.0 hellos may end here (no compression list parsing needed beyond skipping).
    let mut ch = ClientHello {
        legacy_version,
        random,
        session_id,
        cipher_suites,
        ..ClientHello::default()
    };
    if r.vec8().is_none() {
        return Some(ch);
    }
    for (t, b) in extensions(&mut r) {
        let mut e = Reader::new(&b);
        match t {
            EXT_SERVER_NAME => {
                if let Some(list) = e.vec16() {
                    let mut l = Reader::new(list);
                    while let (Some(kind), Some(name)) = (l.u8(), l.vec16()) {
                        if kind == 0 {
                            ch.sni = Some(String::from_utf8_lossy(name).into_owned());
                            break;
                        }
                    }
                }
            }
            EXT_ALPN => ch.alpn = alpn_list(&b),
            EXT_SESSION_TICKET if !b.is_empty() => ch.ticket = Some(b.clone()),
            EXT_EXTENDED_MASTER_SECRET => ch.extended_master_secret = true,
            EXT_ENCRYPT_THEN_MAC => ch.encrypt_then_mac = true,
            EXT_SUPPORTED_VERSIONS => {
                if let Some(list) = e.vec8() {
                    ch.supported_versions = list
                        .chunks_exact(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]))
                        .collect();
                }
            }
            EXT_PRE_SHARED_KEY => ch.psk_offered = true,
            _ => {}
        }
    }
    Some(ch)
}

/// An SSL 2.0-format ClientHello (RFC 5246 Appendix E.2), which old clients send to offer
/// SSL 3.0/TLS as well: `data` starts at the 2-byte record header (high bit set). Returns the
/// hello and the bytes it took. The client random is the challenge, right-aligned with
/// leading zeros.
pub fn parse_sslv2_client_hello(data: &[u8]) -> Option<(ClientHello, usize)> {
    let first = *data.first()?;
    if first & 0x80 == 0 {
        return None;
    }
    let len = (usize::from(first & 0x7f) << 8) | usize::from(*data.get(1)?);
    let body = data.get(2..2 + len)?;
    let mut r = Reader::new(body);
    if r.u8()? != CLIENT_HELLO {
        return None;
    }
    let legacy_version = r.u16()?;
    let specs_len = usize::from(r.u16()?);
    let session_len = usize::from(r.u16()?);
    let challenge_len = usize::from(r.u16()?);
    if !(16..=32).contains(&challenge_len) {
        return None;
    }
    let specs = r.take(specs_len)?;
    let session_id = r.take(session_len)?.to_vec();
    let challenge = r.take(challenge_len)?;
    let mut random = [0u8; 32];
    random[32 - challenge_len..].copy_from_slice(challenge);
    // SSL 2 cipher specs are 3 bytes; those whose first byte is 0 are TLS suites.
    let cipher_suites = specs
        .chunks_exact(3)
        .filter(|c| c[0] == 0)
        .map(|c| u16::from_be_bytes([c[1], c[2]]))
        .collect();
    Some((
        ClientHello {
            legacy_version,
            random,
            session_id,
            cipher_suites,
            ..ClientHello::default()
        },
        2 + len,
    ))
}

fn alpn_list(body: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut r = Reader::new(body);
    if let Some(list) = r.vec16() {
        let mut l = Reader::new(list);
        while let Some(p) = l.vec8() {
            out.push(String::from_utf8_lossy(p).into_owned());
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerHello {
    pub legacy_version: u16,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    pub cipher_suite: u16,
    /// `supported_versions` selection (TLS 1.3), else None.
    pub selected_version: Option<u16>,
    pub alpn: Option<String>,
    pub extended_master_secret: bool,
    pub encrypt_then_mac: bool,
    /// The server will send a NewSessionTicket (TLS 1.2 `session_ticket` acknowledged).
    pub ticket_ack: bool,
    /// TLS 1.3: the server accepted a pre-shared key (resumption).
    pub psk_accepted: bool,
    /// Compression method chosen (0 none, 1 DEFLATE, RFC 3749).
    pub compression: u8,
}

impl ServerHello {
    pub fn is_hello_retry_request(&self) -> bool {
        self.random == HELLO_RETRY_REQUEST_RANDOM
    }
    /// The negotiated version on the wire.
    pub fn version(&self) -> u16 {
        self.selected_version.unwrap_or(self.legacy_version)
    }
}

pub fn parse_server_hello(body: &[u8]) -> Option<ServerHello> {
    let mut r = Reader::new(body);
    let legacy_version = r.u16()?;
    let random: [u8; 32] = r.take(32)?.try_into().ok()?;
    let session_id = r.vec8()?.to_vec();
    let cipher_suite = r.u16()?;
    let compression = r.u8()?;
    let mut sh = ServerHello {
        legacy_version,
        random,
        session_id,
        cipher_suite,
        compression,
        ..ServerHello::default()
    };
    for (t, b) in extensions(&mut r) {
        let mut e = Reader::new(&b);
        match t {
            EXT_SUPPORTED_VERSIONS => sh.selected_version = e.u16(),
            EXT_ALPN => sh.alpn = alpn_list(&b).into_iter().next(),
            EXT_EXTENDED_MASTER_SECRET => sh.extended_master_secret = true,
            EXT_ENCRYPT_THEN_MAC => sh.encrypt_then_mac = true,
            EXT_SESSION_TICKET => sh.ticket_ack = true,
            EXT_PRE_SHARED_KEY => sh.psk_accepted = true,
            _ => {}
        }
    }
    Some(sh)
}

/// TLS 1.3 EncryptedExtensions: only ALPN matters here.
pub fn parse_encrypted_extensions(body: &[u8]) -> Option<String> {
    let mut r = Reader::new(body);
    extensions(&mut r)
        .into_iter()
        .find(|(t, _)| *t == EXT_ALPN)
        .and_then(|(_, b)| alpn_list(&b).into_iter().next())
}

/// The certificate chain (DER), leaf first. TLS 1.3 adds a request context and per-entry
/// extensions.
pub fn parse_certificate(body: &[u8], tls13: bool) -> Option<Vec<Vec<u8>>> {
    let mut r = Reader::new(body);
    if tls13 {
        r.vec8()?;
    }
    let list = r.vec24()?;
    let mut l = Reader::new(list);
    let mut out = Vec::new();
    while !l.is_empty() {
        out.push(l.vec24()?.to_vec());
        if tls13 {
            l.vec16()?;
        }
    }
    Some(out)
}

/// The encrypted premaster of an RSA ClientKeyExchange. SSL 3.0 sends it without the length
/// prefix; TLS with one.
pub fn parse_rsa_client_key_exchange(body: &[u8], ssl3: bool) -> Option<Vec<u8>> {
    if ssl3 {
        return Some(body.to_vec());
    }
    let mut r = Reader::new(body);
    let v = r.vec16()?;
    if r.is_empty() {
        Some(v.to_vec())
    } else {
        // Some old SSL3-style TLS 1.0 implementations omit the prefix.
        Some(body.to_vec())
    }
}

/// TLS 1.2 NewSessionTicket: the ticket (RFC 5077 §3.3).
pub fn parse_new_session_ticket_tls12(body: &[u8]) -> Option<Vec<u8>> {
    let mut r = Reader::new(body);
    r.take(4)?;
    Some(r.vec16()?.to_vec())
}

/// TLS 1.3 KeyUpdate: whether the peer is asked to update too.
pub fn parse_key_update(body: &[u8]) -> Option<bool> {
    match body {
        [0] => Some(false),
        [1] => Some(true),
        _ => None,
    }
}

/// Splits a handshake byte stream into messages: calls `each(type, body, whole message)`
/// for every complete message and returns how many bytes they took (a partial message at the
/// end is left for later).
pub fn split_messages(buf: &[u8], mut each: impl FnMut(u8, &[u8], &[u8])) -> usize {
    let mut used = 0;
    while let Some(head) = buf.get(used..used + 4) {
        let len = (usize::from(head[1]) << 16) | (usize::from(head[2]) << 8) | usize::from(head[3]);
        let Some(whole) = buf.get(used..used + 4 + len) else {
            break;
        };
        each(head[0], &whole[4..], whole);
        used += whole.len();
    }
    used
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ClientHello of RFC 8448 §3 (Simple 1-RTT Handshake), message body after the 4-byte
    /// handshake header, abbreviated to the fields we check.
    #[test]
    fn client_hello_fields() {
        // Built by hand after RFC 5246 §7.4.1.2 and RFC 6066 §3 (SNI), RFC 7301 (ALPN).
        let mut b = vec![0x03, 0x03];
        b.extend_from_slice(&[7u8; 32]);
        b.push(0); // session id
        b.extend_from_slice(&[0, 4, 0x13, 0x01, 0xc0, 0x2f]);
        b.extend_from_slice(&[1, 0]); // compression
        let sni = [
            0, 0, 0, 14, 0, 12, 0, 0, 9, b'l', b'y', b'n', b'c', b'.', b't', b'e', b's', b't',
        ];
        let alpn = [
            0, 16, 0, 11, 0, 9, 8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1',
        ];
        let ems = [0, 23, 0, 0];
        let ext_len = (sni.len() + alpn.len() + ems.len()) as u16;
        b.extend_from_slice(&ext_len.to_be_bytes());
        b.extend_from_slice(&sni);
        b.extend_from_slice(&alpn);
        b.extend_from_slice(&ems);
        let ch = parse_client_hello(&b).unwrap();
        assert_eq!(ch.random, [7u8; 32]);
        assert_eq!(ch.cipher_suites, vec![0x1301, 0xc02f]);
        assert_eq!(ch.sni.as_deref(), Some("lync.test"));
        assert_eq!(ch.alpn, vec!["http/1.1".to_string()]);
        assert!(ch.extended_master_secret);
    }

    #[test]
    fn truncated_messages_are_none_not_panics() {
        for n in 0..40 {
            let b = vec![3u8; n];
            let _ = parse_client_hello(&b);
            let _ = parse_server_hello(&b);
            let _ = parse_certificate(&b, true);
            let _ = parse_certificate(&b, false);
        }
    }

    #[test]
    fn split_keeps_partial_tail() {
        let msgs = [1u8, 0, 0, 2, 9, 9, 2, 0, 0, 3, 1];
        let mut seen = Vec::new();
        let used = split_messages(&msgs, |t, body, _| seen.push((t, body.to_vec())));
        assert_eq!(used, 6);
        assert_eq!(seen, vec![(1, vec![9, 9])]);
    }
}
