//! One TLS connection: record framing over the two reassembled TCP streams, the handshake
//! facts, key derivation from whatever key material was given, record decryption, and the
//! plaintext streams handed to the next layer (HTTP) with the same arrival times.

use super::cipher::{DecryptError, RecordDecryptor};
use super::handshake::{self as hs, ClientHello, ServerHello};
use super::key_material::KeyMaterial;
use super::keylog::Tls13Secret;
use super::prf;
use super::session_cache::SessionCache;
use super::suites::{self, KeyExchange, Suite, Version};
use crate::model::{
    alert_name, AbortBy, Arrival, CertificateInfo, ClientAbort, Diagnostic, Dir, HandshakeMessage,
    Severity, StreamEnd, TlsAlert, TlsInfo, HELLO_RETRY_REQUEST,
};
use crate::net::stream::StreamSink;
use std::sync::Arc;

/// Record content types.
const CHANGE_CIPHER_SPEC: u8 = 20;
const ALERT: u8 = 21;
const HANDSHAKE: u8 = 22;
const APPLICATION_DATA: u8 = 23;
const HEARTBEAT: u8 = 24;

/// Largest record body accepted: 2^14 plus the expansion TLS 1.2 allows (RFC 5246 §6.2.3).
const MAX_FRAGMENT: usize = (1 << 14) + 2048;
/// Handshake bytes buffered while a message is incomplete (certificate chains are the largest).
const MAX_HANDSHAKE_BUFFER: usize = 1 << 20;
/// Handshake transcript kept for the extended master secret.
const MAX_TRANSCRIPT: usize = 1 << 20;
/// Alerts kept per connection (a real one sends one or two).
const MAX_ALERTS: usize = 16;

#[derive(Default)]
struct DirState {
    /// Bytes of an incomplete record.
    partial: Vec<u8>,
    /// Plaintext handshake bytes of an incomplete message.
    handshake: Vec<u8>,
    decryptor: Option<RecordDecryptor>,
    /// Keys computed but not yet in force (TLS ≤ 1.2: until this side's ChangeCipherSpec).
    next: Option<RecordDecryptor>,
    /// Records of this direction are encrypted from now on.
    encrypted: bool,
    /// Decryption of this direction stopped (failed record, lost bytes).
    stopped: bool,
    /// Offset of the next plaintext byte handed on.
    plain_offset: u64,
    /// The plaintext stream was ended (close_notify, or the TCP direction ended).
    ended: bool,
    /// TLS 1.3 secret of the current application-traffic generation.
    secret: Option<Vec<u8>>,
    generation: u32,
    /// TLS compression (DEFLATE): one zlib stream per direction, across records.
    inflate: Option<flate2::Decompress>,
    inflated: Vec<u8>,
    /// Application data records seen that could not be decrypted.
    undecrypted_records: u64,
    decrypted_records: u64,
    out: Vec<u8>,
    /// The TCP direction ended (FIN, RST or capture end).
    tcp_ended: bool,
    /// TLS 1.3 records after the ServerHello that could not be decrypted (the handshake's
    /// included): their count is what C-CERT-7 can see when the keys are missing.
    opaque_tls13_records: u64,
}

/// A TLS connection feeding its plaintext to `inner`.
pub struct TlsConnection<S: StreamSink> {
    keys: Arc<KeyMaterial>,
    cache: Arc<SessionCache>,
    inner: S,
    dirs: [DirState; 2],
    client_hello: Option<ClientHello>,
    server_hello: Option<ServerHello>,
    version: Option<Version>,
    suite: Option<&'static Suite>,
    leaf_certificate: Option<Vec<u8>>,
    encrypted_premaster: Option<Vec<u8>>,
    transcript: Vec<u8>,
    session_hash: Option<Vec<u8>>,
    master: Option<[u8; 48]>,
    info: TlsInfo,
    diagnostics: Vec<Diagnostic>,
    /// Frame that started the connection, to name it as the origin of a cached session.
    origin: String,
    /// Nothing but opaque records so far: the capture began after the handshake.
    no_handshake: bool,
    failed: bool,
    /// A resumed session whose master secret is not in the session cache yet (the connection
    /// that created it may be handled by another thread): later events wait here, bounded,
    /// until [`TlsConnection::resolve`].
    waiting: Option<Waiting>,
    /// `resolve` ran: a cache miss is now final.
    final_attempt: bool,
    /// When the server's Certificate arrived (the first one).
    server_certificate_at: Option<Arrival>,
    /// The client went on with the handshake (ClientKeyExchange, ChangeCipherSpec in
    /// TLS ≤ 1.2, Finished): it did not abandon it after the Certificate.
    client_went_on: bool,
    /// TLS 1.3 full handshake without its keys: when the server's encrypted flight
    /// (EncryptedExtensions, Certificate, CertificateVerify, Finished) began to arrive.
    encrypted_flight_at: Option<Arrival>,
}

#[derive(Default)]
struct Waiting {
    events: Vec<Event>,
    bytes: usize,
}

enum Event {
    Data(Dir, u64, Vec<u8>, Arrival),
    Gap(Dir, u64, u64, Arrival),
    End(Dir, u64, StreamEnd, Arrival),
}

/// Bytes a connection may hold while its resumed session is looked for.
const MAX_WAITING: usize = 32 << 20;

/// What a finished TLS connection leaves.
pub struct TlsOutput<S> {
    pub inner: S,
    pub info: TlsInfo,
    pub diagnostics: Vec<Diagnostic>,
}

impl<S: StreamSink> TlsConnection<S> {
    /// `origin` names this connection in messages of later connections that resume its
    /// session (e.g. "the connection of frame 12").
    pub fn new(keys: Arc<KeyMaterial>, cache: Arc<SessionCache>, inner: S, origin: String) -> Self {
        TlsConnection {
            keys,
            cache,
            inner,
            dirs: [DirState::default(), DirState::default()],
            client_hello: None,
            server_hello: None,
            version: None,
            suite: None,
            leaf_certificate: None,
            encrypted_premaster: None,
            transcript: Vec::new(),
            session_hash: None,
            master: None,
            info: TlsInfo::default(),
            diagnostics: Vec::new(),
            origin,
            no_handshake: true,
            failed: false,
            waiting: None,
            final_attempt: false,
            server_certificate_at: None,
            client_went_on: false,
            encrypted_flight_at: None,
        }
    }

    /// True while a resumed session's secret is awaited (see [`Self::resolve`]).
    pub fn is_waiting(&self) -> bool {
        self.waiting.is_some()
    }

    /// Looks the resumed session up again, now that every other connection has been read,
    /// and replays what waited. Afterwards a miss is final and says why.
    pub fn resolve(&mut self) {
        let Some(waiting) = self.waiting.take() else {
            return;
        };
        self.final_attempt = true;
        let at = waiting
            .events
            .iter()
            .map(|e| match e {
                Event::Data(.., at) | Event::Gap(.., at) | Event::End(.., at) => *at,
            })
            .next()
            .unwrap_or_default();
        self.tls12_keys(at);
        for d in &mut self.dirs {
            if d.encrypted && d.decryptor.is_none() {
                d.decryptor = d.next.take();
            }
        }
        for e in waiting.events {
            match e {
                Event::Data(d, o, bytes, at) => self.on_data(d, o, &bytes, at),
                Event::Gap(d, o, l, at) => self.on_gap(d, o, l, at),
                Event::End(d, o, how, at) => self.on_end(d, o, how, at),
            }
        }
    }

    /// Holds an event while waiting; false when not waiting (process it now).
    fn hold(&mut self, e: Event) -> bool {
        let Some(w) = self.waiting.as_mut() else {
            return false;
        };
        if let Event::Data(_, _, b, _) = &e {
            w.bytes += b.len();
        }
        w.events.push(e);
        if w.bytes > MAX_WAITING {
            // Too much to hold: decide now with what the cache has.
            self.resolve();
        }
        true
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    pub fn finish(mut self) -> TlsOutput<S> {
        self.resolve();
        self.info.decrypted = self.dirs.iter().any(|d| d.decrypted_records > 0);
        if !self.info.decrypted && self.info.reason.is_none() {
            let undecrypted: u64 = self.dirs.iter().map(|d| d.undecrypted_records).sum();
            self.info.reason = Some(if self.no_handshake && undecrypted > 0 {
                "capture starts after the handshake: the client and server randoms are missing"
                    .into()
            } else if self.server_hello.is_none() {
                "the handshake did not complete in the capture".into()
            } else if undecrypted == 0 {
                "no application data".into()
            } else {
                "no keys for this connection".into()
            });
        }
        if self.info.decrypted {
            // A connection that decrypted needs no excuse, even if a later record failed:
            // that is a diagnostic.
            self.info.reason = None;
        }
        TlsOutput {
            inner: self.inner,
            info: self.info,
            diagnostics: self.diagnostics,
        }
    }

    fn diag(&mut self, severity: Severity, message: String, at: Arrival) {
        self.diagnostics
            .push(Diagnostic::new(severity, message).at_frame(at.frame));
    }

    fn fail(&mut self, reason: impl Into<String>) {
        if !self.failed {
            self.failed = true;
            self.info.reason = Some(reason.into());
        }
    }

    /// Splits `data` into records; an incomplete one waits in `partial`. Whole records are
    /// taken straight from `data` without copying.
    fn feed(&mut self, dir: Dir, mut data: &[u8], at: Arrival) {
        /// A record buffer larger than a full TLS record (2^14 + 2048 + header) is not kept.
        const MAX_KEPT_RECORD_BUFFER: usize = (1 << 14) + 2048 + 5;
        let i = dir.index();
        while !data.is_empty() && !self.dirs[i].stopped {
            let partial = &mut self.dirs[i].partial;
            if !partial.is_empty() {
                if partial.len() < 5 {
                    let take = (5 - partial.len()).min(data.len());
                    partial.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if partial.len() < 5 {
                        return;
                    }
                    if !header_ok(partial) {
                        return self.lose_sync(dir, at);
                    }
                }
                let total = record_len(partial).unwrap_or(0) + 5;
                let take = (total - partial.len()).min(data.len());
                // Sized once: growing by doubling would copy a 16 KiB record several times.
                partial.reserve_exact(total - partial.len());
                partial.extend_from_slice(&data[..take]);
                data = &data[take..];
                if partial.len() == total {
                    let mut rec = std::mem::take(partial);
                    self.record(dir, &rec, at);
                    // The buffer serves the next record that spans segments.
                    rec.clear();
                    let partial = &mut self.dirs[i].partial;
                    if partial.capacity() == 0 && rec.capacity() <= MAX_KEPT_RECORD_BUFFER {
                        *partial = rec;
                    }
                    if self.waiting.is_some() && !data.is_empty() {
                        self.hold(Event::Data(dir, 0, data.to_vec(), at));
                        return;
                    }
                }
                continue;
            }
            if dir == Dir::ClientToServer && self.client_hello.is_none() && data[0] & 0x80 != 0 {
                if let Some((ch, used)) = hs::parse_sslv2_client_hello(data) {
                    self.no_handshake = false;
                    self.info.client_hello = true;
                    self.note_message(dir, hs::CLIENT_HELLO, at);
                    self.client_hello = Some(ch);
                    data = &data[used..];
                    continue;
                }
            }
            if data.len() >= 5 && !header_ok(data) || !plausible_type(data[0]) {
                return self.lose_sync(dir, at);
            }
            match record_len(data) {
                Some(n) if data.len() >= n + 5 => {
                    let (rec, rest) = data.split_at(n + 5);
                    self.record(dir, rec, at);
                    data = rest;
                    if self.waiting.is_some() && !data.is_empty() {
                        // The offset is not used by this layer's input side.
                        self.hold(Event::Data(dir, 0, data.to_vec(), at));
                        return;
                    }
                }
                _ => {
                    if let Some(n) = record_len(data) {
                        partial.reserve_exact(n + 5);
                    }
                    partial.extend_from_slice(data);
                    return;
                }
            }
        }
    }

    fn lose_sync(&mut self, dir: Dir, at: Arrival) {
        let i = dir.index();
        if !self.dirs[i].stopped {
            self.dirs[i].stopped = true;
            self.dirs[i].partial = Vec::new();
            self.diag(
                Severity::Warning,
                format!(
                    "{}: not a TLS record here; TLS parsing of this direction stopped",
                    side(dir)
                ),
                at,
            );
            self.end_plaintext(dir, StreamEnd::CaptureEnd, at);
        }
    }

    fn end_plaintext(&mut self, dir: Dir, how: StreamEnd, at: Arrival) {
        let d = &mut self.dirs[dir.index()];
        if !d.ended {
            d.ended = true;
            let off = d.plain_offset;
            self.inner.on_end(dir, off, how, at);
        }
    }

    /// One whole record (header included).
    fn record(&mut self, dir: Dir, rec: &[u8], at: Arrival) {
        let i = dir.index();
        let Ok(header) = <[u8; 5]>::try_from(&rec[..5]) else {
            return;
        };
        let fragment = &rec[5..];
        let ct = header[0];
        if !self.dirs[i].encrypted {
            match ct {
                HANDSHAKE => {
                    self.no_handshake = false;
                    self.handshake_bytes(dir, fragment, at);
                }
                CHANGE_CIPHER_SPEC => self.change_cipher_spec(dir, at),
                APPLICATION_DATA => self.dirs[i].undecrypted_records += 1,
                // Without the handshake the direction may be encrypted already: only a
                // 2-byte record is surely in clear (an encrypted alert is longer).
                ALERT if !self.no_handshake || fragment.len() == 2 => {
                    self.alerts(dir, fragment, at, true)
                }
                _ => {}
            }
            return;
        }
        if ct == ALERT && self.version == Some(Version::Tls13) {
            // TLS 1.3 sends every encrypted record as application_data (RFC 8446 §5.2): an
            // alert record is in clear (a client refusing the ServerHello, say).
            return self.alerts(dir, fragment, at, true);
        }
        if ct == CHANGE_CIPHER_SPEC {
            // TLS 1.3 middlebox-compatibility CCS: unencrypted, meaningless.
            return;
        }
        let Some(mut dec) = self.dirs[i].decryptor.take() else {
            self.dirs[i].undecrypted_records += u64::from(ct == APPLICATION_DATA);
            if ct == APPLICATION_DATA && self.version == Some(Version::Tls13) {
                self.opaque_tls13_record(dir, fragment.len(), at);
            }
            return;
        };
        let mut out = std::mem::take(&mut self.dirs[i].out);
        let mut result = dec.decrypt(&header, fragment, &mut out);
        self.dirs[i].decryptor = Some(dec);
        if result.is_ok() && self.dirs[i].inflate.is_some() {
            match self.inflate(i, &out) {
                Ok(()) => std::mem::swap(&mut out, &mut self.dirs[i].inflated),
                Err(e) => result = Err(e),
            }
        }
        match result {
            Ok(inner_type) => {
                self.dirs[i].decrypted_records += 1;
                match inner_type {
                    APPLICATION_DATA => {
                        self.info.plaintext_bytes[i] += out.len() as u64;
                        if !out.is_empty() && !self.dirs[i].ended {
                            let off = self.dirs[i].plain_offset;
                            self.dirs[i].plain_offset += out.len() as u64;
                            self.inner.on_data(dir, off, &out, at);
                        }
                    }
                    HANDSHAKE => self.handshake_bytes(dir, &out, at),
                    ALERT => {
                        self.alerts(dir, &out, at, false);
                        // close_notify (warning 1, description 0) ends this direction's data:
                        // a close-delimited HTTP body ends here, not at the TCP FIN.
                        if out.len() >= 2 && out[1] == 0 {
                            self.end_plaintext(dir, StreamEnd::Fin, at);
                        } else if out.len() >= 2 {
                            let d = out[1];
                            self.diag(
                                Severity::Info,
                                format!("{}: TLS alert {d} ({})", side(dir), alert_name(d)),
                                at,
                            );
                        }
                    }
                    _ => {}
                }
            }
            Err(e) => {
                self.dirs[i].stopped = true;
                self.dirs[i].decryptor = None;
                let why = match e {
                    DecryptError::Auth => {
                        "a record failed authentication (wrong key, or bytes damaged)".to_string()
                    }
                    DecryptError::Unsupported(s) => format!("unsupported: {s}"),
                    DecryptError::Malformed(s) => format!("malformed record: {s}"),
                };
                self.diag(
                    Severity::Error,
                    format!("{}: decryption stopped: {why}", side(dir)),
                    at,
                );
                if self.dirs[i].decrypted_records == 0 {
                    self.fail(format!("decryption failed: {why}"));
                }
                self.end_plaintext(dir, StreamEnd::CaptureEnd, at);
            }
        }
        self.dirs[i].out = out;
    }

    /// Decompresses one record of a DEFLATE-compressed direction into `inflated`. A record
    /// inflates to at most 2^14 bytes (RFC 5246 §6.2.2); more is an error, not a bomb.
    fn inflate(&mut self, i: usize, input: &[u8]) -> Result<(), DecryptError> {
        const MAX_PLAIN: usize = (1 << 14) + 1024;
        let d = &mut self.dirs[i];
        let Some(z) = d.inflate.as_mut() else {
            return Ok(());
        };
        d.inflated.clear();
        d.inflated.reserve(MAX_PLAIN);
        let before_in = z.total_in();
        let mut consumed = 0usize;
        loop {
            let status = z
                .decompress_vec(
                    &input[consumed..],
                    &mut d.inflated,
                    flate2::FlushDecompress::Sync,
                )
                .map_err(|e| DecryptError::Malformed(format!("TLS compression: {e}")))?;
            consumed = (z.total_in() - before_in) as usize;
            if d.inflated.len() > MAX_PLAIN - 64 {
                return Err(DecryptError::Malformed(
                    "TLS compression: a record inflates beyond 16 KiB".into(),
                ));
            }
            if consumed >= input.len() || status == flate2::Status::StreamEnd {
                return Ok(());
            }
            if d.inflated.len() == d.inflated.capacity() {
                d.inflated.reserve(4096);
            } else if status == flate2::Status::BufError {
                return Ok(());
            }
        }
    }

    /// Keeps a handshake message in the connection's facts (bounded).
    fn note_message(&mut self, from: Dir, kind: u8, at: Arrival) {
        let messages = &mut self.info.handshake_messages;
        if messages.len() < TlsInfo::MAX_HANDSHAKE_MESSAGES {
            messages.push(HandshakeMessage { from, kind, at });
        }
    }

    /// The alerts of one alert record's plaintext (two bytes each: level, description).
    fn alerts(&mut self, from: Dir, bytes: &[u8], at: Arrival, in_clear: bool) {
        for pair in bytes.chunks_exact(2) {
            let alert = TlsAlert {
                from,
                level: pair[0],
                description: pair[1],
                at,
                in_clear,
            };
            if from == Dir::ClientToServer && alert.is_fatal() {
                self.client_abort(AbortBy::Alert(alert.description), at);
            }
            if self.info.alerts.len() < MAX_ALERTS {
                self.info.alerts.push(alert);
            }
        }
    }

    /// The client ended the handshake `by` this: an abort if it had the server's Certificate
    /// (or, TLS 1.3 without keys, the server's encrypted flight that carries it) and had not
    /// gone on (the first such event counts).
    fn client_abort(&mut self, by: AbortBy, at: Arrival) {
        if self.info.client_abort.is_some() || self.client_went_on {
            return;
        }
        let certificate_encrypted = self.server_certificate_at.is_none();
        if let Some(after_certificate) = self.server_certificate_at.or(self.encrypted_flight_at) {
            self.info.client_abort = Some(ClientAbort {
                by,
                at,
                after_certificate,
                certificate_encrypted,
            });
        }
    }

    /// A TLS 1.3 record after the ServerHello that cannot be decrypted (no keys for this
    /// connection). RFC 8446 §5.2 hides the content type, so only who sent it and its length
    /// are left: the server's encrypted flight of a full handshake (no pre-shared key: it
    /// carries the Certificate); then from the client either its Finished (36 bytes or more of
    /// plaintext: it went on) or, as its first record, one of exactly the length of an
    /// encrypted alert (2 alert bytes + 1 content-type byte + the AEAD tag): the client
    /// refused what it was sent.
    fn opaque_tls13_record(&mut self, dir: Dir, len: usize, at: Arrival) {
        let first = self.dirs[dir.index()].opaque_tls13_records == 0;
        self.dirs[dir.index()].opaque_tls13_records += 1;
        match dir {
            Dir::ServerToClient => {
                if !self.server_hello.as_ref().is_some_and(|s| s.psk_accepted) {
                    self.encrypted_flight_at.get_or_insert(at);
                }
            }
            Dir::ClientToServer => {
                let tag = match self.suite.map(|s| s.cipher) {
                    Some(suites::Cipher::Aes128Ccm8 | suites::Cipher::Aes256Ccm8) => 8,
                    _ => 16,
                };
                if first && len == 2 + 1 + tag && self.encrypted_flight_at.is_some() {
                    self.client_abort(AbortBy::EncryptedAlert, at);
                } else {
                    self.client_went_on = true;
                }
            }
        }
    }

    fn handshake_bytes(&mut self, dir: Dir, bytes: &[u8], at: Arrival) {
        let i = dir.index();
        if self.dirs[i].handshake.len() + bytes.len() > MAX_HANDSHAKE_BUFFER {
            self.dirs[i].handshake.clear();
            self.diag(
                Severity::Warning,
                format!("{}: handshake message too large; skipped", side(dir)),
                at,
            );
            return;
        }
        let mut buf = std::mem::take(&mut self.dirs[i].handshake);
        buf.extend_from_slice(bytes);
        let mut messages = Vec::new();
        let used = hs::split_messages(&buf, |t, body, whole| {
            messages.push((t, body.to_vec(), whole.len()));
        });
        let mut start = 0;
        for (t, body, len) in messages {
            let whole = buf[start..start + len].to_vec();
            start += len;
            self.handshake_message(dir, t, &body, &whole, at);
        }
        buf.drain(..used);
        self.dirs[i].handshake = buf;
    }

    fn handshake_message(&mut self, dir: Dir, t: u8, body: &[u8], whole: &[u8], at: Arrival) {
        let tls13 = self.version == Some(Version::Tls13);
        let hello_retry =
            t == hs::SERVER_HELLO && body.get(2..34) == Some(&hs::HELLO_RETRY_REQUEST_RANDOM[..]);
        self.note_message(dir, if hello_retry { HELLO_RETRY_REQUEST } else { t }, at);
        match (dir, t) {
            (Dir::ClientToServer, hs::CLIENT_KEY_EXCHANGE | hs::FINISHED) => {
                self.client_went_on = true
            }
            (Dir::ServerToClient, hs::CERTIFICATE) => {
                self.server_certificate_at.get_or_insert(at);
            }
            _ => {}
        }
        if !tls13
            && self.session_hash.is_none()
            && self.transcript.len() + whole.len() <= MAX_TRANSCRIPT
        {
            self.transcript.extend_from_slice(whole);
        }
        match (dir, t) {
            (Dir::ClientToServer, hs::CLIENT_HELLO) => {
                if let Some(ch) = hs::parse_client_hello(body) {
                    self.info.client_hello = true;
                    self.info.sni = ch.sni.clone();
                    self.client_hello = Some(ch);
                }
            }
            (Dir::ServerToClient, hs::SERVER_HELLO) => {
                if let Some(sh) = hs::parse_server_hello(body) {
                    if sh.is_hello_retry_request() {
                        // A second ClientHello follows; the transcript restarts in TLS 1.3.
                        return;
                    }
                    self.server_hello(sh, at);
                }
            }
            (Dir::ServerToClient, hs::ENCRYPTED_EXTENSIONS) => {
                if let Some(p) = hs::parse_encrypted_extensions(body) {
                    self.inner.on_alpn(&p);
                    self.info.alpn = Some(p);
                }
            }
            (Dir::ServerToClient, hs::CERTIFICATE) => {
                if let Some(chain) = hs::parse_certificate(body, tls13) {
                    self.info.chain = super::certificate::chain_facts(&chain);
                    if let Some(leaf) = chain.into_iter().next() {
                        self.info.certificate =
                            super::keys::parse_certificate(&leaf).map(|c| CertificateInfo {
                                subject: c.subject,
                                issuer: c.issuer,
                                sans: c.sans,
                                not_before: c.not_before,
                                not_after: c.not_after,
                            });
                        self.keys.note_certificate(&leaf);
                        self.leaf_certificate = Some(leaf);
                    }
                }
            }
            (Dir::ClientToServer, hs::CLIENT_KEY_EXCHANGE) => {
                if self.suite.is_some_and(|s| s.kx == KeyExchange::Rsa) {
                    let ssl3 = self.version == Some(Version::Ssl30);
                    self.encrypted_premaster = hs::parse_rsa_client_key_exchange(body, ssl3);
                }
                if let (Some(v), Some(s)) = (self.version, self.suite) {
                    self.session_hash = Some(prf::transcript_hash(v, s.prf, &self.transcript));
                    self.transcript = Vec::new();
                }
            }
            (Dir::ServerToClient, hs::NEW_SESSION_TICKET) if !tls13 => {
                if let (Some(ticket), Some(master)) =
                    (hs::parse_new_session_ticket_tls12(body), self.master)
                {
                    self.cache.put_ticket(ticket, master, &self.origin);
                }
            }
            (_, hs::FINISHED) if tls13 => self.tls13_finished(dir, at),
            (_, hs::KEY_UPDATE) if tls13 => self.tls13_key_update(dir, at),
            _ => {}
        }
    }

    fn server_hello(&mut self, sh: ServerHello, at: Arrival) {
        let version = Version::from_wire(sh.version());
        let suite = suites::suite(sh.cipher_suite);
        self.info.version = Some(
            version
                .map(|v| v.name().to_string())
                .unwrap_or_else(|| format!("0x{:04x}", sh.version())),
        );
        self.info.cipher_suite = Some(suites::suite_name(sh.cipher_suite));
        self.info.server_hello = true;
        if let Some(p) = &sh.alpn {
            self.inner.on_alpn(p);
            self.info.alpn = Some(p.clone());
        }
        self.version = version;
        self.suite = suite;
        let resumed_id = self
            .client_hello
            .as_ref()
            .is_some_and(|ch| !ch.session_id.is_empty() && ch.session_id == sh.session_id);
        self.server_hello = Some(sh);
        let (Some(version), Some(suite)) = (version, suite) else {
            return self.fail(format!(
                "unsupported version or cipher suite {}",
                self.info.cipher_suite.clone().unwrap_or_default()
            ));
        };
        if !matches!(
            self.server_hello.as_ref().map(|s| s.compression),
            Some(0 | 1)
        ) {
            return self.fail("unsupported TLS compression method");
        }
        if !suite.cipher.supported() {
            return self.fail(format!("unsupported cipher {}", suite.name));
        }
        if self.client_hello.is_none() {
            return self.fail("the ClientHello is not in the capture, so its random is unknown");
        }
        if version == Version::Tls13 {
            self.tls13_handshake_keys(at);
        } else if resumed_id {
            self.info.resumed = true;
        }
    }

    fn client_random(&self) -> Option<[u8; 32]> {
        self.client_hello.as_ref().map(|c| c.random)
    }

    fn server_random(&self) -> Option<[u8; 32]> {
        self.server_hello.as_ref().map(|s| s.random)
    }

    fn tls13_handshake_keys(&mut self, at: Arrival) {
        let (Some(cr), Some(suite)) = (self.client_random(), self.suite) else {
            return;
        };
        self.dirs[0].encrypted = true;
        self.dirs[1].encrypted = true;
        let keylog = &self.keys.keylog;
        let c = keylog.tls13_secret(&cr, Tls13Secret::ClientHandshake);
        let s = keylog.tls13_secret(&cr, Tls13Secret::ServerHandshake);
        let (Some((c, src)), Some((s, _))) = (c, s) else {
            return self.fail(if keylog.is_empty() {
                "TLS 1.3: only a key log can decrypt it, and none was given".to_string()
            } else {
                "no TLS 1.3 handshake secrets in the key log for this client random".to_string()
            });
        };
        self.info.key_source = Some(src.0.clone());
        let (c, s) = (c.to_vec(), s.to_vec());
        for (i, secret) in [(0usize, c), (1usize, s)] {
            let (key, iv) = prf::tls13_keys(suite, &secret);
            match RecordDecryptor::new_tls13(suite, &key, &iv) {
                Ok(d) => self.dirs[i].decryptor = Some(d),
                Err(e) => {
                    self.diag(Severity::Error, format!("TLS 1.3 keys: {e:?}"), at);
                    return self.fail(format!("unsupported cipher {}", suite.name));
                }
            }
        }
    }

    /// After a side's Finished, its records use the application traffic secret.
    fn tls13_finished(&mut self, dir: Dir, at: Arrival) {
        let (Some(cr), Some(suite)) = (self.client_random(), self.suite) else {
            return;
        };
        let which = match dir {
            Dir::ClientToServer => Tls13Secret::ClientTraffic(0),
            Dir::ServerToClient => Tls13Secret::ServerTraffic(0),
        };
        let Some((secret, _)) = self.keys.keylog.tls13_secret(&cr, which) else {
            self.dirs[dir.index()].decryptor = None;
            if self.dirs[dir.index()].decrypted_records > 0 {
                self.diag(
                    Severity::Warning,
                    format!(
                        "{}: no application traffic secret in the key log",
                        side(dir)
                    ),
                    at,
                );
            }
            return;
        };
        let secret = secret.to_vec();
        self.install_tls13(dir, suite, secret, 0, at);
    }

    fn install_tls13(
        &mut self,
        dir: Dir,
        suite: &'static Suite,
        secret: Vec<u8>,
        generation: u32,
        at: Arrival,
    ) {
        let (key, iv) = prf::tls13_keys(suite, &secret);
        let i = dir.index();
        match RecordDecryptor::new_tls13(suite, &key, &iv) {
            Ok(d) => {
                self.dirs[i].decryptor = Some(d);
                self.dirs[i].secret = Some(secret);
                self.dirs[i].generation = generation;
            }
            Err(e) => self.diag(Severity::Error, format!("TLS 1.3 keys: {e:?}"), at),
        }
    }

    fn tls13_key_update(&mut self, dir: Dir, at: Arrival) {
        let i = dir.index();
        let (Some(secret), Some(suite)) = (self.dirs[i].secret.clone(), self.suite) else {
            return;
        };
        let next = prf::tls13_next_secret(suite.prf, &secret);
        let generation = self.dirs[i].generation + 1;
        self.install_tls13(dir, suite, next, generation, at);
    }

    /// TLS ≤ 1.2: from this record on, `dir` is encrypted with the negotiated keys.
    fn change_cipher_spec(&mut self, dir: Dir, at: Arrival) {
        // TLS 1.3 sends meaningless compatibility CCS records, also before the (final)
        // ServerHello after a HelloRetryRequest; in TLS ≤ 1.2 a CCS always follows it.
        if self.version == Some(Version::Tls13) || self.version.is_none() {
            return;
        }
        self.no_handshake = false;
        if dir == Dir::ClientToServer {
            self.client_went_on = true;
        }
        let i = dir.index();
        self.dirs[i].encrypted = true;
        if self.dirs[i].next.is_none() && !self.failed {
            self.tls12_keys(at);
        }
        self.dirs[i].decryptor = self.dirs[i].next.take();
        if self
            .server_hello
            .as_ref()
            .is_some_and(|s| s.compression == 1)
        {
            self.dirs[i].inflate = Some(flate2::Decompress::new(true));
        }
    }

    /// Finds the master secret and builds both directions' decryptors.
    fn tls12_keys(&mut self, at: Arrival) {
        let (Some(cr), Some(sr), Some(version), Some(suite)) = (
            self.client_random(),
            self.server_random(),
            self.version,
            self.suite,
        ) else {
            return self.fail("the handshake is incomplete in the capture");
        };
        let Some((master, source)) = self.find_master(version, suite, &cr, &sr) else {
            return;
        };
        self.master = Some(master);
        self.info.key_source = Some(source);
        if let Some(sh) = &self.server_hello {
            if !sh.session_id.is_empty() {
                self.cache
                    .put_session_id(sh.session_id.clone(), master, &self.origin);
            }
        }
        let kb = prf::key_block(version, suite, &master, &cr, &sr);
        let etm = self
            .client_hello
            .as_ref()
            .is_some_and(|c| c.encrypt_then_mac)
            && self
                .server_hello
                .as_ref()
                .is_some_and(|s| s.encrypt_then_mac);
        let client = RecordDecryptor::new(
            version,
            suite,
            &kb.client_mac,
            &kb.client_key,
            &kb.client_iv,
            etm,
        );
        let server = RecordDecryptor::new(
            version,
            suite,
            &kb.server_mac,
            &kb.server_key,
            &kb.server_iv,
            etm,
        );
        match (client, server) {
            (Ok(c), Ok(s)) => {
                self.dirs[0].next = Some(c);
                self.dirs[1].next = Some(s);
            }
            (Err(e), _) | (_, Err(e)) => {
                self.diag(Severity::Error, format!("record keys: {e:?}"), at);
                self.fail(format!("unsupported cipher {}", suite.name));
            }
        }
    }

    fn find_master(
        &mut self,
        version: Version,
        suite: &'static Suite,
        cr: &[u8; 32],
        sr: &[u8; 32],
    ) -> Option<([u8; 48], String)> {
        let keys = Arc::clone(&self.keys);
        if let Some((m, src)) = keys.keylog.master_secret(cr) {
            return Some((*m, src.0.clone()));
        }
        // A resumed session: the master secret of the connection that created it.
        if self.info.resumed {
            if let Some(sh) = &self.server_hello {
                if let Some((m, origin)) = self.cache.by_session_id(&sh.session_id) {
                    return Some((m, format!("resumed session of {origin}")));
                }
            }
        }
        let ticket = self.client_hello.as_ref().and_then(|c| c.ticket.clone());
        let abbreviated = self.leaf_certificate.is_none() && self.encrypted_premaster.is_none();
        if let Some(ticket) = &ticket {
            if abbreviated {
                if let Some((m, origin)) = self.cache.by_ticket(ticket) {
                    self.info.resumed = true;
                    return Some((m, format!("resumed session (ticket) of {origin}")));
                }
            }
        }
        if (self.info.resumed || (ticket.is_some() && abbreviated)) && !self.final_attempt {
            // The connection that made the session may not have been read yet.
            self.info.resumed = true;
            self.waiting = Some(Waiting::default());
            return None;
        }
        let (premaster, source) = self.premaster(suite, &keys)?;
        let session_hash = if self
            .client_hello
            .as_ref()
            .is_some_and(|c| c.extended_master_secret)
            && self
                .server_hello
                .as_ref()
                .is_some_and(|s| s.extended_master_secret)
        {
            self.session_hash.clone()
        } else {
            None
        };
        let master = prf::master_secret(
            version,
            suite.prf,
            &premaster,
            cr,
            sr,
            session_hash.as_deref(),
        );
        Some((master, source))
    }

    /// The premaster of an RSA key exchange, from a key log "RSA" line or an RSA key.
    fn premaster(&mut self, suite: &Suite, keys: &KeyMaterial) -> Option<(Vec<u8>, String)> {
        let resumed = self.info.resumed;
        if resumed {
            self.fail("resumed session: the full handshake that created it was not decrypted (or is not in the capture), and the key log has no entry for this client random");
            return None;
        }
        if suite.kx != KeyExchange::Rsa {
            let kx = format!("{:?}", suite.kx).to_uppercase();
            self.fail(if keys.keylog.is_empty() && !keys.rsa.is_empty() {
                format!("{kx} key exchange: an RSA key cannot decrypt it, a key log is needed")
            } else if keys.keylog.is_empty() {
                format!(
                    "{kx} key exchange: a key log (SSLKEYLOGFILE) is needed, and none was given"
                )
            } else {
                "no key log entry for this client random".to_string()
            });
            return None;
        }
        let Some(epms) = self.encrypted_premaster.clone() else {
            self.fail("the ClientKeyExchange is not in the capture");
            return None;
        };
        if let Some((pm, src)) = keys.keylog.rsa_premaster(&epms) {
            return Some((pm.to_vec(), src.0.clone()));
        }
        if keys.rsa.is_empty() {
            self.fail(if keys.keylog.is_empty() {
                "RSA key exchange: the server's RSA private key (--key) or a key log is needed, and neither was given"
            } else {
                "no key log entry for this client random (an RSA key exchange: the server's private key would also do)"
            });
            return None;
        }
        let cert = self.leaf_certificate.clone();
        let candidates: Vec<_> = match &cert {
            Some(c) => keys
                .rsa
                .iter()
                .filter(|k| k.matches_certificate(c))
                .collect(),
            None => keys.rsa.iter().collect(),
        };
        if candidates.is_empty() {
            self.fail("RSA key does not match the server certificate");
            return None;
        }
        for k in candidates {
            if let Some(pm) = k.decrypt_premaster(&epms) {
                return Some((pm, k.source().0.clone()));
            }
        }
        self.fail("the RSA key matches the certificate but does not decrypt the premaster");
        None
    }
}

impl<S: StreamSink> StreamSink for TlsConnection<S> {
    fn on_data(&mut self, dir: Dir, offset: u64, data: &[u8], at: Arrival) {
        if self.waiting.is_some() {
            self.hold(Event::Data(dir, offset, data.to_vec(), at));
            return;
        }
        self.feed(dir, data, at);
    }

    fn on_gap(&mut self, dir: Dir, offset: u64, len: u64, at: Arrival) {
        if self.hold(Event::Gap(dir, offset, len, at)) {
            return;
        }
        let i = dir.index();
        if self.dirs[i].stopped {
            return;
        }
        self.dirs[i].stopped = true;
        self.dirs[i].partial = Vec::new();
        self.diag(
            Severity::Warning,
            format!(
                "{}: {len} bytes missing at stream offset {offset}: TLS records after it cannot be decrypted",
                side(dir)
            ),
            at,
        );
        self.end_plaintext(dir, StreamEnd::CaptureEnd, at);
    }

    fn on_end(&mut self, dir: Dir, offset: u64, how: StreamEnd, at: Arrival) {
        if self.hold(Event::End(dir, offset, how, at)) {
            return;
        }
        let i = dir.index();
        // The client closing or resetting while the server's side is still open: if it had
        // the server's Certificate and went no further, it gave up on it. After a gap the
        // client's messages may have been lost: no conclusion then.
        if dir == Dir::ClientToServer && !self.dirs[1].tcp_ended && !self.dirs[i].stopped {
            match how {
                StreamEnd::Fin => self.client_abort(AbortBy::Fin, at),
                StreamEnd::Rst => self.client_abort(AbortBy::Rst, at),
                StreamEnd::CaptureEnd => {}
            }
        }
        self.dirs[i].tcp_ended = true;
        if !self.dirs[i].partial.is_empty() && !self.dirs[i].stopped {
            let n = self.dirs[i].partial.len();
            self.diag(
                Severity::Info,
                format!(
                    "{}: the stream ended inside a TLS record ({n} bytes)",
                    side(dir)
                ),
                at,
            );
        }
        self.dirs[i].partial = Vec::new();
        self.end_plaintext(dir, how, at);
    }
}

/// A record header we can believe: a known content type, version 3.x, a possible length.
fn header_ok(b: &[u8]) -> bool {
    plausible_type(b[0]) && b[1] == 3 && record_len(b).is_some_and(|n| n <= MAX_FRAGMENT)
}

/// Length of the record body announced by a header, once the header is complete.
fn record_len(b: &[u8]) -> Option<usize> {
    (b.len() >= 5).then(|| usize::from(u16::from_be_bytes([b[3], b[4]])))
}

fn plausible_type(t: u8) -> bool {
    matches!(
        t,
        CHANGE_CIPHER_SPEC | ALERT | HANDSHAKE | APPLICATION_DATA | HEARTBEAT
    )
}

fn side(dir: Dir) -> &'static str {
    match dir {
        Dir::ClientToServer => "client→server",
        Dir::ServerToClient => "server→client",
    }
}
