//! Server RSA private keys (for the static-RSA key exchange) and certificate facts.
//!
//! Key files come as PEM (PKCS#1, PKCS#8, password-protected PKCS#8, often bundled with
//! certificates), DER (PKCS#8 or PKCS#1) or PKCS#12/PFX. Only RSA keys can decrypt a TLS key
//! exchange; other keys in a file are skipped.

use super::kdf_cost::{self, Work};
use super::key_file::{read_bounded, KeySource};
use super::pfx_cost::{self, Refusal};
pub use crate::error::KeyError;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::der::Decode;
use rsa::pkcs8::{DecodePrivateKey, EncryptedPrivateKeyInfoRef, PrivateKeyInfoRef};
use rsa::traits::PublicKeyParts;
use rsa::BoxedUint;
use rustls_pki_types::pem::{PemObject, SectionKind};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// Key files larger than this are refused (a PEM bundle of a key and a long certificate chain
/// is a few tens of KiB).
pub const MAX_KEY_FILE: u64 = 16 * 1024 * 1024;

/// Sections of one PEM file read at most, encrypted or not (a key file has a handful).
const MAX_PEM_SECTIONS: usize = 10_000;

/// An RSA private key usable for static-RSA key exchange.
pub struct RsaKey {
    key: rsa::PrivateKey,
    /// Big-endian, no leading zeros.
    modulus: Vec<u8>,
    source: KeySource,
}

impl fmt::Debug for RsaKey {
    // Never prints key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaKey")
            .field("source", &self.source)
            .field("bits", &self.key.n().bit_width())
            .finish_non_exhaustive()
    }
}

impl RsaKey {
    fn new(key: rsa::PrivateKey, source: KeySource) -> RsaKey {
        let modulus = strip_leading_zeros(&key.n().to_be_bytes()).to_vec();
        RsaKey {
            key,
            modulus,
            source,
        }
    }

    /// Where the key came from, e.g. "RSA key /path/server.pem".
    pub fn source(&self) -> &KeySource {
        &self.source
    }

    /// The modulus, big-endian without leading zeros.
    pub fn modulus(&self) -> &[u8] {
        &self.modulus
    }

    /// Does this key belong to the certificate (DER)? Compares the RSA modulus of the
    /// certificate's public key.
    pub fn matches_certificate(&self, cert_der: &[u8]) -> bool {
        certificate_rsa_modulus(cert_der).is_some_and(|m| m == self.modulus)
    }

    /// PKCS#1 v1.5 decryption of the ClientKeyExchange's encrypted premaster. Some(48-byte
    /// premaster) only if the padding is valid and the message is 48 bytes long; the version
    /// in its first two bytes is not checked (some clients put the negotiated version there
    /// instead of the offered one).
    ///
    /// The padding is checked explicitly rather than through `rsa`'s PKCS#1 v1.5 decryption,
    /// which (as a Bleichenbacher countermeasure) returns a random-looking message of random
    /// length for bad padding: with a wrong key that is 48 bytes long about once in 250 tries.
    /// Timing side channels do not matter when decrypting a capture offline.
    pub fn decrypt_premaster(&self, encrypted: &[u8]) -> Option<Vec<u8>> {
        let k = self.key.size();
        if encrypted.is_empty() || encrypted.len() > k {
            return None;
        }
        // A ciphertext with leading zero bytes dropped is still the same number.
        let mut block = vec![0u8; k];
        block
            .get_mut(k - encrypted.len()..)?
            .copy_from_slice(encrypted);
        let c = BoxedUint::from_be_slice(&block, self.key.n_bits_precision()).ok()?;
        let m = rsa::hazmat::rsa_decrypt_and_check(&self.key, None::<&mut NoRng>, &c).ok()?;
        let m = m.to_be_bytes();
        // m < n, so everything before the last k bytes is zero.
        let em = m.get(m.len().checked_sub(k)?..)?;
        // EME-PKCS1-v1_5 (RFC 8017 §7.2.2): 00 02 PS (at least 8 nonzero bytes) 00 M.
        let (&[0, 2], rest) = em.split_first_chunk::<2>()? else {
            return None;
        };
        let separator = rest.iter().position(|&b| b == 0)?;
        if separator < 8 {
            return None;
        }
        let message = rest.get(separator + 1..)?;
        (message.len() == 48).then(|| message.to_vec())
    }
}

/// No random source: blinding is pointless offline, and the `rsa` API wants an RNG type even
/// when it is given none.
enum NoRng {}

impl rsa::rand_core::TryRng for NoRng {
    type Error = std::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        match *self {}
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        match *self {}
    }
    fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Self::Error> {
        match *self {}
    }
}

impl rsa::rand_core::TryCryptoRng for NoRng {}

/// Loads every RSA private key in a file:
/// - PEM: PKCS#1 `RSA PRIVATE KEY`, PKCS#8 `PRIVATE KEY`, PKCS#8 `ENCRYPTED PRIVATE KEY` (with
///   `password`); certificates and other sections in the same file are ignored. Traditional
///   encrypted PEM (`Proc-Type: 4,ENCRYPTED`) is refused with advice to decrypt it first.
/// - DER: PKCS#8, then PKCS#1, then encrypted PKCS#8 (with `password`).
/// - PKCS#12/PFX (recognised by content, or by a `.pfx`/`.p12` name), which needs `password`
///   unless it was made with an empty one.
///
/// Non-RSA keys (EC, Ed25519, ...) are skipped; if no RSA key remains the result is
/// [`KeyError::Invalid`]. Files over [`MAX_KEY_FILE`] give [`KeyError::TooLarge`].
pub fn load_rsa_keys(path: &Path, password: Option<&str>) -> Result<Vec<RsaKey>, KeyError> {
    let bytes = read_bounded(path, MAX_KEY_FILE)?;
    load_rsa_keys_from(&bytes, path, password)
}

/// [`load_rsa_keys`] on the file's bytes; `path` names the keys and tells a `.pfx` apart.
fn load_rsa_keys_from(
    bytes: &[u8],
    path: &Path,
    password: Option<&str>,
) -> Result<Vec<RsaKey>, KeyError> {
    let file = KeyFile {
        path,
        shown: path.display().to_string(),
    };
    let pfx_name = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("pfx") || e.eq_ignore_ascii_case("p12"));
    if contains(bytes, b"-----BEGIN ") {
        file.load_pem(bytes, password)
    } else if pfx_version_3(bytes) || pfx_name {
        file.load_pfx(bytes, password)
    } else {
        file.load_der(bytes, password)
    }
}

struct KeyFile<'a> {
    path: &'a Path,
    shown: String,
}

/// What a scan of a file found besides RSA keys, to explain an empty result.
#[derive(Default)]
struct Findings {
    keys: Vec<rsa::PrivateKey>,
    /// Key types skipped, e.g. "EC".
    other_keys: Vec<String>,
    /// Problems met, in order; the first explains an empty result.
    problems: Vec<String>,
    /// PEM section labels seen.
    labels: Vec<String>,
}

impl KeyFile<'_> {
    fn invalid(&self, message: impl Into<String>) -> KeyError {
        KeyError::Invalid {
            path: self.shown.clone(),
            message: message.into(),
        }
    }

    /// The keys found, each with its source; or the reason there are none.
    fn finish(&self, found: Findings, kind: &str) -> Result<Vec<RsaKey>, KeyError> {
        if found.keys.is_empty() {
            let message = if let Some(problem) = found.problems.first() {
                problem.clone()
            } else if !found.other_keys.is_empty() {
                format!(
                    "no RSA private key in this file ({}; only an RSA key can decrypt a TLS key exchange)",
                    describe_keys(&found.other_keys)
                )
            } else if !found.labels.is_empty() {
                format!(
                    "no private key in this PEM file (sections: {})",
                    found.labels.join(", ")
                )
            } else {
                format!("no RSA private key in this {kind}")
            };
            return Err(self.invalid(message));
        }
        let several = found.keys.len() > 1;
        Ok(found
            .keys
            .into_iter()
            .enumerate()
            .map(|(i, key)| {
                let source = if several {
                    format!("RSA key {} (#{})", self.path.display(), i + 1)
                } else {
                    format!("RSA key {}", self.path.display())
                };
                RsaKey::new(key, KeySource(source))
            })
            .collect())
    }

    fn load_pem(&self, bytes: &[u8], password: Option<&str>) -> Result<Vec<RsaKey>, KeyError> {
        let mut found = Findings::default();
        if contains(bytes, b"Proc-Type: 4,ENCRYPTED") {
            found.problems.push(
                "the private key is encrypted in the traditional OpenSSL PEM format, which is not supported: \
                 decrypt it first (openssl rsa -in KEY -out plain.pem)"
                    .to_string(),
            );
        }
        let encrypted = encrypted_pem_sections(bytes);
        if password.is_some() {
            self.price_encrypted_pkcs8(encrypted.iter().flatten().map(Vec::as_slice))?;
        }
        for der in &encrypted {
            match der {
                Some(der) => self.add_encrypted_pkcs8(der, password, &mut found),
                None => found
                    .problems
                    .push("an ENCRYPTED PRIVATE KEY section is not valid base64".to_string()),
            }
        }
        // One cap for all sections, encrypted or not.
        let mut capped = encrypted.len() >= MAX_PEM_SECTIONS;
        let sections = (encrypted.len()..).zip(<(SectionKind, Vec<u8>)>::pem_slice_iter(bytes));
        for (seen, section) in sections {
            if seen >= MAX_PEM_SECTIONS {
                capped = true;
                break;
            }
            let (kind, der) = match section {
                Ok(s) => s,
                Err(e) => {
                    found.problems.push(format!("bad PEM: {e}"));
                    continue;
                }
            };
            found.labels.push(format!("{kind:?}"));
            match kind {
                SectionKind::RsaPrivateKey => match rsa::PrivateKey::from_pkcs1_der(&der) {
                    Ok(key) => found.keys.push(key),
                    Err(e) => found
                        .problems
                        .push(format!("RSA PRIVATE KEY section cannot be decoded: {e}")),
                },
                SectionKind::PrivateKey => add_pkcs8(&der, &mut found),
                SectionKind::EcPrivateKey => found.other_keys.push("EC".to_string()),
                _ => {}
            }
        }
        if capped {
            found.problems.insert(
                0,
                format!("more than {MAX_PEM_SECTIONS} PEM sections: the rest were not read"),
            );
        }
        self.finish(found, "PEM file")
    }

    fn load_der(&self, bytes: &[u8], password: Option<&str>) -> Result<Vec<RsaKey>, KeyError> {
        let mut found = Findings::default();
        if PrivateKeyInfoRef::try_from(bytes).is_ok() {
            add_pkcs8(bytes, &mut found);
        } else if let Ok(key) = rsa::PrivateKey::from_pkcs1_der(bytes) {
            found.keys.push(key);
        } else if EncryptedPrivateKeyInfoRef::from_der(bytes).is_ok() {
            if password.is_some() {
                self.price_encrypted_pkcs8([bytes])?;
            }
            self.add_encrypted_pkcs8(bytes, password, &mut found);
        } else if x509_parser::parse_x509_certificate(bytes).is_ok() {
            found
                .problems
                .push("this is a certificate, not a private key".to_string());
        } else {
            found.problems.push(
                "not a PEM, DER (PKCS#8 or PKCS#1) or PKCS#12/PFX private key file".to_string(),
            );
        }
        self.finish(found, "DER file")
    }

    fn load_pfx(&self, bytes: &[u8], password: Option<&str>) -> Result<Vec<RsaKey>, KeyError> {
        if !pfx_version_3(bytes) {
            return Err(self.invalid("not a PKCS#12/PFX file (no PFX version 3 structure)"));
        }
        if let Some(iterations) = pfx_mac_iterations(bytes) {
            if iterations > kdf_cost::MAX_ITERATIONS {
                return Err(self.invalid(format!(
                    "the PKCS#12/PFX MAC asks for {iterations} key derivation iterations, more than the {} accepted",
                    kdf_cost::MAX_ITERATIONS
                )));
            }
        }
        // Every key derivation p12-keystore would run is priced first (each try with a
        // password counts).
        let mut work = Work::default();
        // Without a password, try the empty one: exports made without a password use it. A
        // password given for such a file is not an error either.
        let first = password.unwrap_or("");
        self.price_pfx(bytes, first, &mut work)?;
        let mut result = p12_keystore::Pkcs12Archive::from_pkcs12(bytes, first);
        if password.is_some_and(|p| !p.is_empty())
            && matches!(result, Err(p12_keystore::error::Error::MacError(_)))
        {
            self.price_pfx(bytes, "", &mut work)?;
            if let Ok(archive) = p12_keystore::Pkcs12Archive::from_pkcs12(bytes, "") {
                result = Ok(archive);
            }
        }
        let archive = match result {
            Ok(archive) => archive,
            Err(e) => {
                use p12_keystore::error::Error as P12Error;
                // Without a MAC, a wrong password shows as bad padding after decryption.
                let password_problem = matches!(
                    e,
                    P12Error::MacError(_) | P12Error::UnpadError | P12Error::Pkcs5Error(_)
                );
                return Err(match (password_problem, password) {
                    (true, Some(_)) => KeyError::WrongPassword {
                        path: self.shown.clone(),
                    },
                    (true, None) => KeyError::PasswordNeeded {
                        path: self.shown.clone(),
                    },
                    (false, _) => self.invalid(format!("cannot read this PKCS#12/PFX file: {e}")),
                });
            }
        };
        let mut found = Findings::default();
        for bag in &archive.keys {
            add_pkcs8(bag.key.as_der(), &mut found);
        }
        self.finish(found, "PKCS#12/PFX file")
    }

    /// Adds up the key derivations of the encrypted PKCS#8 keys `ders` (those whose parameters
    /// are refused never run, and count nothing); more than the budget refuses the file before
    /// any runs.
    fn price_encrypted_pkcs8<'a>(
        &self,
        ders: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<(), KeyError> {
        let mut work = Work::default();
        for der in ders {
            let Ok(info) = EncryptedPrivateKeyInfoRef::from_der(der) else {
                continue;
            };
            if let Some(Ok(d)) = info.encryption_algorithm.pbes2().map(kdf_cost::pbes2) {
                work.add(d);
            }
        }
        if !work.over_budget() {
            return Ok(());
        }
        Err(self.invalid(if work.count() == 1 {
            format!(
                "the encrypted key asks too much key derivation ({}): decrypt it first with openssl pkcs8",
                work.describe()
            )
        } else {
            format!(
                "the encrypted keys ask too much key derivation ({}): decrypt them first with openssl pkcs8",
                work.describe()
            )
        }))
    }

    /// [`pfx_cost::price`], its refusal in words.
    fn price_pfx(&self, bytes: &[u8], password: &str, work: &mut Work) -> Result<(), KeyError> {
        const ADVICE: &str = "extract the key first with openssl pkcs12 -nodes";
        pfx_cost::price(bytes, password, work).map_err(|refusal| {
            self.invalid(match refusal {
                Refusal::Parameter { item, reason } => {
                    format!("{item} of this PKCS#12/PFX file asks {reason}: {ADVICE}")
                }
                Refusal::Budget => format!(
                    "this PKCS#12/PFX file asks too much key derivation ({}): {ADVICE}",
                    work.describe()
                ),
            })
        })
    }

    /// Decrypts a PKCS#8 EncryptedPrivateKeyInfo (PBES2: PBKDF2 or scrypt, AES-CBC/GCM).
    fn add_encrypted_pkcs8(&self, der: &[u8], password: Option<&str>, found: &mut Findings) {
        let Some(password) = password else {
            found.problems.push(
                "the private key is encrypted (ENCRYPTED PRIVATE KEY): give its password with --password".to_string(),
            );
            return;
        };
        let info = match EncryptedPrivateKeyInfoRef::from_der(der) {
            Ok(info) => info,
            Err(e) => {
                found
                    .problems
                    .push(format!("the encrypted private key cannot be decoded: {e}"));
                return;
            }
        };
        if let Some(problem) = kdf_cost_problem(&info.encryption_algorithm) {
            found.problems.push(problem);
            return;
        }
        let document = match info.decrypt(password) {
            Ok(doc) => doc,
            Err(e) => {
                found.problems.push(format!(
                    "the encrypted private key cannot be decrypted (wrong password, or an unsupported scheme: {e})"
                ));
                return;
            }
        };
        add_pkcs8(document.as_bytes(), found);
    }
}

/// Adds the key of a PKCS#8 PrivateKeyInfo if it is RSA, or notes its type.
fn add_pkcs8(der: &[u8], found: &mut Findings) {
    let info = match PrivateKeyInfoRef::try_from(der) {
        Ok(info) => info,
        Err(e) => {
            found
                .problems
                .push(format!("PKCS#8 private key cannot be decoded: {e}"));
            return;
        }
    };
    if info.algorithm.oid != rsa::pkcs1::ALGORITHM_OID {
        found
            .other_keys
            .push(key_algorithm_name(&info.algorithm.oid.to_string()));
        return;
    }
    match rsa::PrivateKey::from_pkcs8_der(der) {
        Ok(key) => found.keys.push(key),
        Err(e) => found
            .problems
            .push(format!("RSA private key cannot be used: {e}")),
    }
}

fn key_algorithm_name(oid: &str) -> String {
    match oid {
        "1.2.840.10045.2.1" => "EC".to_string(),
        "1.3.101.112" => "Ed25519".to_string(),
        "1.3.101.113" => "Ed448".to_string(),
        "1.3.101.110" => "X25519".to_string(),
        "1.3.101.111" => "X448".to_string(),
        "1.2.840.10040.4.1" => "DSA".to_string(),
        "1.2.840.113549.1.1.10" => "RSA-PSS (signing only)".to_string(),
        other => format!("algorithm {other}"),
    }
}

/// "non-RSA keys only: EC", "non-RSA keys only: EC, Ed25519".
fn describe_keys(kinds: &[String]) -> String {
    format!("non-RSA keys only: {}", kinds.join(", "))
}

/// Refuses key derivation parameters that would take too much memory or time (or that `pkcs5`
/// cannot handle), naming the parameter (see `kdf_cost.rs`).
fn kdf_cost_problem(scheme: &rsa::pkcs8::pkcs5::EncryptionScheme) -> Option<String> {
    let reason = kdf_cost::pbes2(scheme.pbes2()?).err()?;
    Some(format!(
        "encrypted key asks {reason}: decrypt it first with openssl pkcs8"
    ))
}

/// The base64 bodies of `ENCRYPTED PRIVATE KEY` PEM sections (None for one that does not
/// decode). `rustls-pki-types` skips this label, so it is found here.
fn encrypted_pem_sections(bytes: &[u8]) -> Vec<Option<Vec<u8>>> {
    const BEGIN: &[u8] = b"-----BEGIN ENCRYPTED PRIVATE KEY-----";
    const END: &[u8] = b"-----END ENCRYPTED PRIVATE KEY-----";
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some(start) = find(rest, BEGIN) {
        let body_and_more = rest.get(start + BEGIN.len()..).unwrap_or_default();
        let Some(end) = find(body_and_more, END) else {
            out.push(None);
            break;
        };
        out.push(body_and_more.get(..end).and_then(base64_decode));
        rest = body_and_more.get(end + END.len()..).unwrap_or_default();
        if out.len() >= MAX_PEM_SECTIONS {
            break;
        }
    }
    out
}

/// Standard base64 as PEM bodies carry it: ASCII whitespace (line breaks) ignored, up to two
/// `=` at the end, however many the length asks for. Leniencies kept so that any key file
/// readable so far stays readable: spare bits after the last byte, and a lone last symbol
/// (it holds no whole byte), are dropped.
fn base64_decode(text: &[u8]) -> Option<Vec<u8>> {
    const PEM_BODY: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    );
    let mut symbols: Vec<u8> = text
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let padding = symbols.iter().rev().take_while(|&&c| c == b'=').count();
    if padding > 2 {
        return None;
    }
    symbols.truncate(symbols.len() - padding);
    if symbols.len() % 4 == 1 {
        let last = symbols.pop()?;
        if !(last.is_ascii_alphanumeric() || last == b'+' || last == b'/') {
            return None;
        }
    }
    PEM_BODY.decode(&symbols).ok()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(first..).unwrap_or_default()
}

/// One DER TLV: (tag, contents, rest). Definite lengths only, up to 4 length bytes.
fn der_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let (len_bytes, after) = rest.split_at_checked(count)?;
        rest = after;
        len_bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    let (contents, rest) = rest.split_at_checked(len)?;
    Some((tag, contents, rest))
}

/// Does the file start like a PFX (RFC 7292): SEQUENCE { INTEGER 3, ContentInfo SEQUENCE ...}?
/// PKCS#8 and PKCS#1 keys start with version 0 or 1 instead. The outer length is not checked,
/// so that BER files with an indefinite length are still recognised.
fn pfx_version_3(bytes: &[u8]) -> bool {
    let Some((&0x30, rest)) = bytes.split_first() else {
        return false;
    };
    let header = match rest.first() {
        Some(&b) if b < 0x80 => 1,
        Some(&b) => 1 + usize::from(b & 0x7f),
        None => return false,
    };
    let inner = rest.get(header..).unwrap_or_default();
    inner.starts_with(&[0x02, 0x01, 0x03, 0x30])
}

/// The iteration count of the PFX MAC (macData, RFC 7292 §4), when there is one.
fn pfx_mac_iterations(bytes: &[u8]) -> Option<u64> {
    let (0x30, pfx, _) = der_tlv(bytes)? else {
        return None;
    };
    let (0x02, _version, rest) = der_tlv(pfx)? else {
        return None;
    };
    let (0x30, _auth_safe, rest) = der_tlv(rest)? else {
        return None;
    };
    let (0x30, mac_data, _) = der_tlv(rest)? else {
        return None;
    };
    let (0x30, _digest, rest) = der_tlv(mac_data)? else {
        return None;
    };
    let (0x04, _salt, rest) = der_tlv(rest)? else {
        return None;
    };
    let Some((0x02, iterations, _)) = der_tlv(rest) else {
        return Some(1); // DEFAULT 1
    };
    let iterations = strip_leading_zeros(iterations);
    if iterations.len() > 8 {
        return Some(u64::MAX);
    }
    Some(
        iterations
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
    )
}

/// Certificate facts shown in reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Distinguished name in certificate order, e.g. "C=UK, O=OpenSSL Group, CN=Test Server".
    pub subject: String,
    pub issuer: String,
    /// DNS names and IP addresses of the subjectAltName extension, as text.
    pub sans: Vec<String>,
    /// RFC 3339 UTC, e.g. "2011-12-08T14:01:48Z".
    pub not_before: String,
    pub not_after: String,
    /// Big-endian, no leading zeros; None for a non-RSA key.
    pub rsa_modulus: Option<Vec<u8>>,
    /// Uppercase hex without separators or leading zero bytes, as `openssl x509 -serial`.
    pub serial: String,
}

/// Parses a DER X.509 certificate; None if it does not parse.
pub fn parse_certificate(der: &[u8]) -> Option<CertInfo> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(certificate_info(&cert))
}

/// The facts of [`CertInfo`] from a parsed certificate.
pub fn certificate_info(cert: &x509_parser::certificate::X509Certificate<'_>) -> CertInfo {
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::DNSName(dns) => sans.push((*dns).to_string()),
                x509_parser::extensions::GeneralName::IPAddress(ip) => {
                    if let Ok(v4) = <[u8; 4]>::try_from(*ip) {
                        sans.push(Ipv4Addr::from(v4).to_string());
                    } else if let Ok(v6) = <[u8; 16]>::try_from(*ip) {
                        sans.push(Ipv6Addr::from(v6).to_string());
                    }
                }
                _ => {}
            }
        }
    }
    let validity = cert.validity();
    let serial = strip_leading_zeros(cert.raw_serial());
    let serial = if serial.is_empty() {
        "00".to_string()
    } else {
        serial.iter().map(|b| format!("{b:02X}")).collect()
    };
    CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        sans,
        not_before: rfc3339(validity.not_before.timestamp()),
        not_after: rfc3339(validity.not_after.timestamp()),
        rsa_modulus: rsa_modulus_of(cert),
        serial,
    }
}

fn rsa_modulus_of(cert: &x509_parser::certificate::X509Certificate<'_>) -> Option<Vec<u8>> {
    match cert.public_key().parsed().ok()? {
        x509_parser::public_key::PublicKey::RSA(key) => {
            Some(strip_leading_zeros(key.modulus).to_vec())
        }
        _ => None,
    }
}

/// The RSA modulus of a DER certificate's public key, without the rest of [`CertInfo`].
fn certificate_rsa_modulus(der: &[u8]) -> Option<Vec<u8>> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    rsa_modulus_of(&cert)
}

/// Seconds since 1970 as "YYYY-MM-DDTHH:MM:SSZ".
fn rfc3339(timestamp: i64) -> String {
    crate::datetime::rfc3339_seconds(timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::corpus_file;
    use std::path::PathBuf;

    /// A fixture of tests/data/keys (see its README).
    fn fixture(name: &str) -> PathBuf {
        crate::testkit::data("keys").join(name)
    }

    fn unhex(s: &str) -> Vec<u8> {
        let s = s.trim();
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
            .collect()
    }

    /// The modulus in a file written by `openssl rsa -noout -modulus` ("Modulus=HEX").
    fn openssl_modulus(name: &str) -> Vec<u8> {
        let text = std::fs::read_to_string(fixture(name)).expect("modulus file");
        unhex(text.trim().strip_prefix("Modulus=").expect("Modulus= line"))
    }

    /// `key=value` lines of a file written by `openssl x509 -noout -subject ...`.
    fn openssl_field(text: &str, key: &str) -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
            .unwrap_or_else(|| panic!("{key} missing"))
            .to_string()
    }

    /// openssl's "2011-12-08 14:01:48Z" (-dateopt iso_8601) as RFC 3339.
    fn openssl_date(text: &str, key: &str) -> String {
        openssl_field(text, key).replacen(' ', "T", 1)
    }

    fn load_one(name: &str, password: Option<&str>) -> RsaKey {
        let mut keys =
            load_rsa_keys(&fixture(name), password).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(keys.len(), 1, "{name}");
        keys.remove(0)
    }

    #[test]
    fn every_format_loads_the_same_key() {
        let expected = openssl_modulus("rsa2048.modulus.txt");
        assert_eq!(expected.len(), 256);
        for (name, password) in [
            ("rsa2048.pkcs1.pem", None),
            ("rsa2048.pkcs8.pem", None),
            ("rsa2048.pkcs8.der", None),
            ("rsa2048.pkcs1.der", None),
            ("cert-and-key.pem", None),
            ("rsa2048.pkcs8-encrypted.pem", Some("test")),
            ("rsa2048.pkcs8-scrypt.pem", Some("test")),
            ("rsa2048-aes.pfx", Some("test")),
            ("rsa2048-3des.p12", Some("test")),
            ("rsa2048-nopass.pfx", None),
            ("rsa2048-nopass.pfx", Some("test")),
            // A password given for a file that needs none is ignored.
            ("rsa2048.pkcs1.pem", Some("unused")),
        ] {
            let key = load_one(name, password);
            assert_eq!(key.modulus(), expected.as_slice(), "{name}");
            assert_eq!(
                key.source().0,
                format!("RSA key {}", fixture(name).display())
            );
        }
    }

    #[test]
    fn pfx_password_errors() {
        let path = fixture("rsa2048-aes.pfx");
        let err = load_rsa_keys(&path, Some("wrong")).expect_err("wrong password");
        assert!(matches!(err, KeyError::WrongPassword { .. }), "{err}");
        let err = load_rsa_keys(&path, None).expect_err("no password");
        assert!(matches!(err, KeyError::PasswordNeeded { .. }), "{err}");
        assert!(err.to_string().contains("--password"));
        let err =
            load_rsa_keys(&fixture("rsa2048-3des.p12"), Some("nope")).expect_err("wrong password");
        assert!(matches!(err, KeyError::WrongPassword { .. }), "{err}");
    }

    #[test]
    fn encrypted_pem_errors() {
        let err = load_rsa_keys(&fixture("rsa2048.pkcs1-encrypted.pem"), Some("test"))
            .expect_err("traditional");
        assert!(
            matches!(&err, KeyError::Invalid { message, .. } if message.contains("decrypt it first")),
            "{err}"
        );
        let err = load_rsa_keys(&fixture("rsa2048.pkcs8-encrypted.pem"), None)
            .expect_err("needs password");
        assert!(
            matches!(&err, KeyError::Invalid { message, .. } if message.contains("--password")),
            "{err}"
        );
        let err = load_rsa_keys(&fixture("rsa2048.pkcs8-encrypted.pem"), Some("wrong"))
            .expect_err("wrong");
        assert!(
            matches!(&err, KeyError::Invalid { message, .. } if message.contains("wrong password")),
            "{err}"
        );
    }

    #[test]
    fn certificate_matching() {
        let key = load_one("rsa2048.pkcs1.pem", None);
        let unrelated = load_one("unrelated-rsa2048.pem", None);
        assert_eq!(
            unrelated.modulus(),
            openssl_modulus("unrelated-rsa2048.modulus.txt").as_slice()
        );
        let cert = std::fs::read(fixture("cert.der")).expect("cert");
        assert!(key.matches_certificate(&cert));
        assert!(!unrelated.matches_certificate(&cert));
        assert!(!key.matches_certificate(b"not a certificate"));
        assert!(!key.matches_certificate(&[]));
        // The PEM certificate is the same certificate.
        let pem = std::fs::read(fixture("cert.pem")).expect("pem");
        let der = rustls_pki_types::CertificateDer::from_pem_slice(&pem).expect("pem cert");
        assert_eq!(der.as_ref(), cert.as_slice());
    }

    #[test]
    fn non_rsa_and_garbage_files_are_invalid() {
        for name in ["ec-p256.pem", "ec-p256.pkcs8.pem"] {
            let err = load_rsa_keys(&fixture(name), None).expect_err(name);
            assert!(
                matches!(&err, KeyError::Invalid { message, .. } if message.contains("no RSA private key") && message.contains("EC")),
                "{name}: {err}"
            );
        }
        for name in ["cert.pem", "cert.der", "premaster.bin", "README.md"] {
            let err = load_rsa_keys(&fixture(name), None).expect_err(name);
            assert!(matches!(err, KeyError::Invalid { .. }), "{name}: {err}");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty.pem", vec![]),
            ("zeros.der", vec![0; 1000]),
            ("seq.der", vec![0x30, 0x82, 0xff, 0xff, 0x02, 0x01, 0x00]),
            ("fake.pfx", vec![0x30, 0x03, 0x02, 0x01, 0x03]),
            ("fake2.bin", vec![0x30, 0x80, 0x02, 0x01, 0x03, 0x30, 0x80, 0, 0]),
            ("bad.pem", b"-----BEGIN RSA PRIVATE KEY-----\n!!!!\n-----END RSA PRIVATE KEY-----\n".to_vec()),
            ("unterminated.pem", b"-----BEGIN PRIVATE KEY-----\nMIIB\n".to_vec()),
            ("badlabel.pem", b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n%%%\n-----END ENCRYPTED PRIVATE KEY-----\n".to_vec()),
            ("text.txt", b"hello world\n".repeat(100)),
        ];
        for (name, bytes) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes).expect("write");
            for password in [None, Some("test")] {
                let err = load_rsa_keys(&path, password).expect_err(name);
                assert!(matches!(err, KeyError::Invalid { .. }), "{name}: {err}");
            }
        }
        // Truncations of real files never panic.
        for name in [
            "rsa2048-aes.pfx",
            "rsa2048.pkcs8.der",
            "rsa2048.pkcs1.der",
            "cert-and-key.pem",
        ] {
            let bytes = std::fs::read(fixture(name)).expect("fixture");
            for cut in [1, 10, 100, bytes.len() / 2, bytes.len() - 2] {
                let path = dir.path().join(format!("cut-{cut}-{name}"));
                std::fs::write(&path, &bytes[..cut]).expect("write");
                assert!(
                    load_rsa_keys(&path, Some("test")).is_err(),
                    "{name} cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn missing_and_huge_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = load_rsa_keys(&dir.path().join("nope.pem"), None).expect_err("missing");
        assert!(matches!(err, KeyError::Io { .. }));
        let huge = dir.path().join("huge.pem");
        std::fs::File::create(&huge)
            .expect("create")
            .set_len(MAX_KEY_FILE + 1)
            .expect("set_len");
        assert!(matches!(
            load_rsa_keys(&huge, None),
            Err(KeyError::TooLarge { .. })
        ));
    }

    #[test]
    fn decrypt_premaster_round_trip() {
        // premaster.enc was made by `openssl pkeyutl -encrypt -pkeyopt rsa_padding_mode:pkcs1`.
        let plain = std::fs::read(fixture("premaster.bin")).expect("plain");
        let enc = std::fs::read(fixture("premaster.enc")).expect("enc");
        assert_eq!(plain.len(), 48);
        for (name, password) in [
            ("rsa2048.pkcs1.pem", None),
            ("rsa2048-3des.p12", Some("test")),
        ] {
            let key = load_one(name, password);
            assert_eq!(key.decrypt_premaster(&enc), Some(plain.clone()), "{name}");
        }
        let unrelated = load_one("unrelated-rsa2048.pem", None);
        assert_eq!(unrelated.decrypt_premaster(&enc), None);
        let key = load_one("rsa2048.pkcs1.pem", None);
        let mut corrupted = enc.clone();
        corrupted[100] ^= 1;
        assert_eq!(key.decrypt_premaster(&corrupted), None);
        assert_eq!(key.decrypt_premaster(&enc[..200]), None);
        assert_eq!(key.decrypt_premaster(&[]), None);
        assert_eq!(key.decrypt_premaster(&[0xff; 256]), None);
        assert_eq!(key.decrypt_premaster(&[0x01; 257]), None);
    }

    #[test]
    fn corpus_key_decrypts_the_corpus_client_key_exchange() {
        let Some(pem) = corpus_file("scapy-ssl_tls/openssl_1_0_1_f_server.pem") else {
            return;
        };
        let keys = load_rsa_keys(&pem, None).expect("corpus key");
        assert_eq!(keys.len(), 1);
        let key = &keys[0];
        assert_eq!(
            key.modulus(),
            openssl_modulus("corpus-openssl_1_0_1_f_server.modulus.txt").as_slice()
        );
        // The certificate in the same PEM file.
        let bytes = std::fs::read(&pem).expect("pem");
        let cert = rustls_pki_types::CertificateDer::from_pem_slice(&bytes).expect("cert");
        assert!(key.matches_certificate(&cert));

        // Frame 7 of RSA_WITH_AES_128_CBC_SHA_w_key.pcap and the premaster tshark decrypts from
        // it, both printed by tshark (see tests/data/keys/make-fixtures.sh).
        let facts = std::fs::read_to_string(fixture("corpus-rsa-cke.tshark.txt")).expect("facts");
        let field = |key: &str| {
            facts
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .expect(key)
                .trim()
                .to_string()
        };
        let epms_line = field("frame+epms:");
        let (frame, epms) = epms_line.split_once('\t').expect("frame<TAB>epms");
        assert_eq!(frame, "7");
        let epms = unhex(epms);
        assert_eq!(epms.len(), 256);
        let premaster = key.decrypt_premaster(&epms).expect("decrypts");
        assert_eq!(premaster, unhex(&field("premaster:")));
        // The client offered TLS 1.2 (03 03) although TLS 1.0 was negotiated.
        assert_eq!(&premaster[..2], &[3, 3]);
    }

    #[test]
    fn certificate_facts_match_openssl() {
        let cert = std::fs::read(fixture("cert.der")).expect("cert");
        let info = parse_certificate(&cert).expect("parses");
        let text = std::fs::read_to_string(fixture("cert.openssl.txt")).expect("openssl output");
        assert_eq!(info.subject, openssl_field(&text, "subject"));
        assert_eq!(info.issuer, openssl_field(&text, "issuer"));
        assert_eq!(info.not_before, openssl_date(&text, "notBefore"));
        assert_eq!(info.not_after, openssl_date(&text, "notAfter"));
        assert_eq!(info.serial, openssl_field(&text, "serial"));
        assert_eq!(
            info.rsa_modulus,
            Some(openssl_modulus("rsa2048.modulus.txt"))
        );
        // openssl's "DNS:a, DNS:b, IP Address:192.0.2.10, IP Address:2001:DB8:0:0:0:0:0:10".
        let san_line = text
            .lines()
            .find(|l| l.trim_start().starts_with("DNS:"))
            .expect("SAN line");
        let expected: Vec<String> = san_line
            .split(", ")
            .map(|entry| {
                let entry = entry.trim();
                if let Some(dns) = entry.strip_prefix("DNS:") {
                    dns.to_string()
                } else {
                    let ip = entry.strip_prefix("IP Address:").expect("IP entry");
                    ip.parse::<std::net::IpAddr>().expect("ip").to_string()
                }
            })
            .collect();
        assert_eq!(info.sans, expected);
    }

    #[test]
    fn corpus_certificate_facts_match_openssl() {
        let Some(pem) = corpus_file("scapy-ssl_tls/openssl_1_0_1_f_server.pem") else {
            return;
        };
        let bytes = std::fs::read(&pem).expect("pem");
        let cert = rustls_pki_types::CertificateDer::from_pem_slice(&bytes).expect("cert");
        let info = parse_certificate(&cert).expect("parses");
        let text = std::fs::read_to_string(fixture("corpus-openssl_1_0_1_f_server.openssl.txt"))
            .expect("openssl");
        assert_eq!(info.subject, openssl_field(&text, "subject"));
        assert_eq!(info.issuer, openssl_field(&text, "issuer"));
        assert_eq!(info.not_before, openssl_date(&text, "notBefore"));
        assert_eq!(info.not_after, openssl_date(&text, "notAfter"));
        assert_eq!(info.serial, openssl_field(&text, "serial"));
        assert_eq!(
            info.rsa_modulus,
            Some(openssl_modulus("corpus-openssl_1_0_1_f_server.modulus.txt"))
        );
        assert!(info.sans.is_empty());
    }

    #[test]
    fn parse_certificate_rejects_garbage() {
        assert_eq!(parse_certificate(&[]), None);
        assert_eq!(parse_certificate(b"garbage"), None);
        let cert = std::fs::read(fixture("cert.der")).expect("cert");
        for cut in [1, 4, 100, cert.len() - 1] {
            assert_eq!(parse_certificate(&cert[..cut]), None, "cut {cut}");
        }
    }

    #[test]
    fn costly_or_broken_kdf_parameters_are_refused() {
        use rsa::pkcs8::pkcs5::pbes2::Kdf;
        let pem = std::fs::read(fixture("rsa2048.pkcs8-scrypt.pem")).expect("fixture");
        let der = encrypted_pem_sections(&pem).remove(0).expect("base64");
        let info = EncryptedPrivateKeyInfoRef::from_der(&der).expect("decodes");
        assert_eq!(kdf_cost_problem(&info.encryption_algorithm), None);
        // N = 0 would make `pkcs5` panic; N = 2^30 would take gigabytes and minutes.
        for n in [0, 3, 1 << 30] {
            let mut scheme = info.encryption_algorithm.clone();
            if let rsa::pkcs8::pkcs5::EncryptionScheme::Pbes2(params) = &mut scheme {
                if let Kdf::Scrypt(scrypt) = &mut params.kdf {
                    scrypt.cost_parameter = n;
                }
            }
            assert_ne!(scheme, info.encryption_algorithm, "scrypt expected");
            assert!(kdf_cost_problem(&scheme).is_some(), "N = {n}");
        }
        let pem = std::fs::read(fixture("rsa2048.pkcs8-encrypted.pem")).expect("fixture");
        let der = encrypted_pem_sections(&pem).remove(0).expect("base64");
        let info = EncryptedPrivateKeyInfoRef::from_der(&der).expect("decodes");
        let mut scheme = info.encryption_algorithm.clone();
        let rsa::pkcs8::pkcs5::EncryptionScheme::Pbes2(params) = &mut scheme else {
            panic!("PBES2 expected");
        };
        let Kdf::Pbkdf2(pbkdf2) = &mut params.kdf else {
            panic!("PBKDF2 expected");
        };
        assert_eq!(pbkdf2.iteration_count, 2048); // openssl's default
        pbkdf2.iteration_count = u32::MAX;
        assert!(kdf_cost_problem(&scheme).is_some());
    }

    #[test]
    fn one_section_cap_for_every_kind_of_section() {
        let bogus =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\n%%%\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let key = std::fs::read_to_string(fixture("rsa2048.pkcs1.pem")).expect("fixture");
        let dir = tempfile::tempdir().expect("tempdir");
        // Below the cap, the key after the bogus sections is read.
        let path = dir.path().join("under.pem");
        std::fs::write(&path, bogus.repeat(MAX_PEM_SECTIONS - 1) + &key).expect("write");
        assert_eq!(load_rsa_keys(&path, None).expect("under the cap").len(), 1);
        // At the cap, it is not, and the message says why.
        let path = dir.path().join("over.pem");
        std::fs::write(&path, bogus.repeat(MAX_PEM_SECTIONS) + &key).expect("write");
        let err = load_rsa_keys(&path, None).expect_err("over the cap");
        assert!(
            err.to_string().ends_with(&format!(
                ": more than {MAX_PEM_SECTIONS} PEM sections: the rest were not read"
            )),
            "{err}"
        );
    }

    #[test]
    fn encrypted_keys_together_are_priced_before_any_runs() {
        use rsa::pkcs8::der::Encode;
        use rsa::pkcs8::pkcs5::pbes2::Kdf;
        let pem = std::fs::read(fixture("rsa2048.pkcs8-encrypted.pem")).expect("fixture");
        let der = encrypted_pem_sections(&pem).remove(0).expect("base64");
        let info = EncryptedPrivateKeyInfoRef::from_der(&der).expect("decodes");
        let with_iterations = |n: u32| {
            let mut scheme = info.encryption_algorithm.clone();
            let rsa::pkcs8::pkcs5::EncryptionScheme::Pbes2(params) = &mut scheme else {
                panic!("PBES2 expected");
            };
            let Kdf::Pbkdf2(pbkdf2) = &mut params.kdf else {
                panic!("PBKDF2 expected");
            };
            pbkdf2.iteration_count = n;
            let der = EncryptedPrivateKeyInfoRef {
                encryption_algorithm: scheme,
                encrypted_data: info.encrypted_data,
            }
            .to_der()
            .expect("der");
            let body = base64::engine::general_purpose::STANDARD.encode(der);
            format!("-----BEGIN ENCRYPTED PRIVATE KEY-----\n{body}\n-----END ENCRYPTED PRIVATE KEY-----\n")
        };
        let dir = tempfile::tempdir().expect("tempdir");
        // Two keys of 8,400,000 iterations: over the budget together, although each is not.
        let path = dir.path().join("two.pem");
        std::fs::write(&path, with_iterations(8_400_000).repeat(2)).expect("write");
        let err = load_rsa_keys(&path, Some("test")).expect_err("over");
        assert!(
            err.to_string().contains("the encrypted keys ask too much key derivation (2 key derivations, the costliest PBKDF2-HMAC-SHA256 with 8400000 iterations: 16800000 PBKDF2-SHA256 rounds in all"),
            "{err}"
        );
        // Without a password nothing runs: the message asks for one.
        let err = load_rsa_keys(&path, None).expect_err("no password");
        assert!(err.to_string().contains("--password"), "{err}");
        // The fixture itself (2048 iterations), many times, is fine.
        let path = dir.path().join("many.pem");
        let many = String::from_utf8(pem.clone()).expect("text").repeat(50);
        std::fs::write(&path, many).expect("write");
        assert_eq!(
            load_rsa_keys(&path, Some("test")).expect("50 keys").len(),
            50
        );
    }

    #[test]
    fn pfx_mac_iterations_as_openssl_reports() {
        // `openssl pkcs12 -info` reports "MAC: sha256, Iteration 2048" for both files.
        for name in ["rsa2048-aes.pfx", "rsa2048-3des.p12"] {
            let bytes = std::fs::read(fixture(name)).expect("fixture");
            assert!(pfx_version_3(&bytes), "{name}");
            assert_eq!(pfx_mac_iterations(&bytes), Some(2048), "{name}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Corrupted key files and certificates give errors, never panics.
        #[test]
        fn corrupted_files_never_panic(
            which in 0usize..6,
            flips in proptest::collection::vec((0usize..4096, 1u8..=255), 1..4),
        ) {
            let name = ["rsa2048-aes.pfx", "rsa2048-3des.p12", "rsa2048.pkcs8.der",
                "rsa2048.pkcs1.der", "cert-and-key.pem", "rsa2048.pkcs8-encrypted.pem"][which];
            let mut bytes = std::fs::read(fixture(name)).expect("fixture");
            for (at, x) in flips {
                let i = at % bytes.len();
                bytes[i] ^= x;
            }
            let _ = load_rsa_keys_from(&bytes, Path::new(name), Some("test"));
            let _ = load_rsa_keys_from(&bytes, Path::new(name), None);
            let _ = parse_certificate(&bytes);
        }
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn base64_edge_cases() {
        assert_eq!(base64_decode(b"aGVsbG8="), Some(b"hello".to_vec()));
        assert_eq!(base64_decode(b"aGVs\r\nbG8h"), Some(b"hello!".to_vec()));
        assert_eq!(base64_decode(b"aGVsbG8=x"), None);
        assert_eq!(base64_decode(b"a*b"), None);
        // Any ASCII whitespace, anywhere; vertical tab is not ASCII whitespace.
        assert_eq!(
            base64_decode(b" aG\tVs\x0cbG\r\n8= "),
            Some(b"hello".to_vec())
        );
        assert_eq!(base64_decode(b"aGVs\x0bbG8="), None);
        // Padding missing, short or surplus (at most two `=`), and a lone last symbol.
        assert_eq!(base64_decode(b"aGVsbG8"), Some(b"hello".to_vec()));
        assert_eq!(base64_decode(b"aGVsbA="), Some(b"hell".to_vec()));
        assert_eq!(base64_decode(b"aGVsbG8h=="), Some(b"hello!".to_vec()));
        assert_eq!(base64_decode(b"aGVsbG8==="), None);
        assert_eq!(base64_decode(b"aGVsbG8hQ"), Some(b"hello!".to_vec()));
        assert_eq!(base64_decode(b"aGVsbG8h*"), None);
    }
}
