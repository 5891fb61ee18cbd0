//! TLS facts beyond the negotiated parameters: the certificate chain the server sent, the
//! alerts either side sent, the handshake messages read, and whether the client gave up after
//! the server's certificate (what a phone that does not trust the server's CA does).
//! They are kept for every TLS connection, keys or not, handshake complete or not; the
//! connection's [`super::TlsInfo`] holds them.

use super::{Arrival, CertificateInfo, Dir};

/// One certificate of the chain the server sent (its Certificate message), in the order sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChainCertificate {
    /// Subject, issuer, SANs and validity, as for the leaf ([`super::TlsInfo::certificate`]).
    pub certificate: CertificateInfo,
    /// Serial number, uppercase hex without separators or leading zero bytes, as
    /// `openssl x509 -serial` prints it.
    pub serial: String,
    /// SHA-256 of the DER certificate, lowercase hex (`openssl x509 -fingerprint -sha256`
    /// prints it uppercase with colons).
    pub sha256: String,
    /// The subject public key: "RSA 2048", "EC P-256", "EC P-384", "Ed25519", "DSA 2048" …;
    /// the algorithm's OID when it is none of those.
    pub public_key: String,
    /// basicConstraints says this is a CA certificate.
    pub ca: bool,
    /// Subject and issuer are the same name (and, where both key identifiers are present,
    /// the authority key identifier is the certificate's own subject key identifier).
    pub self_signed: bool,
    /// For a self-signed certificate: whether its signature verifies with its own public key.
    /// `None` when not checked (not self-signed, or a signature algorithm not verified here:
    /// only RSA PKCS#1 v1.5 with SHA-1/SHA-2 is).
    pub self_signature_valid: Option<bool>,
    /// Its issuer is the subject of a certificate of this chain (itself included when
    /// self-signed). False for the last certificate of a chain sent without its root.
    pub issuer_in_chain: bool,
    /// The DER certificate did not parse: only `sha256` is set.
    pub unparsed: bool,
}

/// A TLS alert (RFC 5246 §7.2, RFC 8446 §6), read in clear or decrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsAlert {
    /// Who sent it: `ClientToServer` is the client.
    pub from: Dir,
    /// 1 warning, 2 fatal (TLS 1.3 treats every alert but close_notify and user_canceled as
    /// fatal whatever this says).
    pub level: u8,
    /// The AlertDescription code: 0 close_notify, 40 handshake_failure, 42 bad_certificate,
    /// 46 certificate_unknown, 48 unknown_ca … ([`alert_name`]).
    pub description: u8,
    /// The frame that completed the record, and its time.
    pub at: Arrival,
    /// Read in clear (a handshake-time alert before ChangeCipherSpec in TLS ≤ 1.2, or a
    /// plaintext alert record in TLS 1.3); false when it was decrypted. An encrypted alert
    /// that could not be decrypted is not listed.
    pub in_clear: bool,
}

impl TlsAlert {
    pub fn is_fatal(&self) -> bool {
        self.level == 2
    }
    /// "warning", "fatal", or "level N" for a value RFC 5246 does not define.
    pub fn level_name(&self) -> String {
        match self.level {
            1 => "warning".into(),
            2 => "fatal".into(),
            n => format!("level {n}"),
        }
    }
    /// The RFC name of the description ([`alert_name`]).
    pub fn name(&self) -> &'static str {
        alert_name(self.description)
    }
}

/// The RFC name of an AlertDescription code (RFC 8446 §6, RFC 5246 §7.2.2, RFC 7301,
/// RFC 6066), "unknown" for a code none of them defines.
pub fn alert_name(description: u8) -> &'static str {
    match description {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        _ => "unknown",
    }
}

/// One handshake message read (in clear, or decrypted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeMessage {
    pub from: Dir,
    /// HandshakeType (RFC 8446 §4, RFC 5246 §7.4): 1 ClientHello, 2 ServerHello, 11
    /// Certificate, 14 ServerHelloDone, 16 ClientKeyExchange, 20 Finished … A ServerHello that
    /// is a HelloRetryRequest is [`HELLO_RETRY_REQUEST`].
    pub kind: u8,
    /// The frame that completed the message, and its time.
    pub at: Arrival,
}

/// Stands for a HelloRetryRequest in [`HandshakeMessage::kind`] (on the wire it is a
/// ServerHello with a special random; 6 is the number RFC 8446's drafts gave it).
pub const HELLO_RETRY_REQUEST: u8 = 6;

impl HandshakeMessage {
    pub fn name(&self) -> &'static str {
        handshake_name(self.kind)
    }
}

/// The RFC name of a handshake message type.
pub fn handshake_name(kind: u8) -> &'static str {
    match kind {
        0 => "HelloRequest",
        1 => "ClientHello",
        2 => "ServerHello",
        4 => "NewSessionTicket",
        5 => "EndOfEarlyData",
        HELLO_RETRY_REQUEST => "HelloRetryRequest",
        8 => "EncryptedExtensions",
        11 => "Certificate",
        12 => "ServerKeyExchange",
        13 => "CertificateRequest",
        14 => "ServerHelloDone",
        15 => "CertificateVerify",
        16 => "ClientKeyExchange",
        20 => "Finished",
        22 => "CertificateStatus",
        24 => "KeyUpdate",
        _ => "unknown",
    }
}

/// How the client ended a handshake it abandoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbortBy {
    /// A fatal alert with this description.
    Alert(u8),
    /// It closed its side of the TCP connection (FIN) while the server's side was open.
    Fin,
    /// It reset the TCP connection (RST).
    Rst,
    /// TLS 1.3 without the keys of this connection: it sent one encrypted record exactly the
    /// size of an encrypted alert (RFC 8446 §5.2: 2 alert bytes, 1 content-type byte and the
    /// AEAD tag, so a record length of 19, or 11 with an 8-byte CCM tag) and nothing else. The
    /// alert's description is not readable.
    EncryptedAlert,
}

impl AbortBy {
    pub fn as_str(self) -> &'static str {
        match self {
            AbortBy::Alert(_) => "alert",
            AbortBy::Fin => "fin",
            AbortBy::Rst => "rst",
            AbortBy::EncryptedAlert => "encrypted-alert",
        }
    }
}

/// The client received the server's Certificate and then gave up: it sent a fatal alert, or
/// closed or reset the connection, before sending its ClientKeyExchange, ChangeCipherSpec or
/// Finished. The signature of a client that does not trust the server's certificate.
/// In TLS 1.3 without keys for the connection the Certificate and the client's alert are
/// encrypted: then this says the client gave up after the server's encrypted flight (a full
/// handshake, no pre-shared key) without sending anything but an alert-sized record, and
/// `certificate_encrypted` is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAbort {
    pub by: AbortBy,
    /// When the client did so (the alert's frame, or the FIN's / RST's).
    pub at: Arrival,
    /// When the server's Certificate message arrived (with `certificate_encrypted`: the first
    /// record of the server's encrypted flight, which carries it).
    pub after_certificate: Arrival,
    /// TLS 1.3 and the handshake could not be decrypted: the certificate and any alert were
    /// not readable.
    pub certificate_encrypted: bool,
}

impl ClientAbort {
    /// What the client gave up after, for messages: "the server's certificate", or "the
    /// server's encrypted flight (TLS 1.3, no keys for this connection)".
    pub fn after_what(&self) -> &'static str {
        if self.certificate_encrypted {
            "the server's encrypted flight (TLS 1.3, no keys for this connection)"
        } else {
            "the server's certificate"
        }
    }
}
