//! TLS protocol versions and the cipher-suite table (IANA registry, plus the SSL 3.0 era
//! EXPORT1024 suites that OpenSSL used to offer). One static table sorted by id, looked up by
//! binary search, like tls-parser's.

use std::fmt;

/// A record-layer protocol version this tool can decrypt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    Ssl30,
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

impl Version {
    /// The version for a wire value (0x0300..=0x0304); `None` for SSL 2, DTLS or unknown values.
    pub fn from_wire(v: u16) -> Option<Version> {
        match v {
            0x0300 => Some(Version::Ssl30),
            0x0301 => Some(Version::Tls10),
            0x0302 => Some(Version::Tls11),
            0x0303 => Some(Version::Tls12),
            0x0304 => Some(Version::Tls13),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Version::Ssl30 => "SSL 3.0",
            Version::Tls10 => "TLS 1.0",
            Version::Tls11 => "TLS 1.1",
            Version::Tls12 => "TLS 1.2",
            Version::Tls13 => "TLS 1.3",
        }
    }

    pub fn wire(self) -> u16 {
        match self {
            Version::Ssl30 => 0x0300,
            Version::Tls10 => 0x0301,
            Version::Tls11 => 0x0302,
            Version::Tls12 => 0x0303,
            Version::Tls13 => 0x0304,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyExchange {
    Null,
    Rsa,
    Dh,
    Dhe,
    Ecdh,
    Ecdhe,
    Psk,
    DhePsk,
    RsaPsk,
    EcdhePsk,
    Srp,
    Krb5,
    /// TLS 1.3 suites: the key exchange is negotiated separately.
    Tls13,
    Other,
}

/// Bulk cipher of a suite. `Other` covers what we cannot decrypt (ARIA, Camellia-GCM, SM4,
/// GOST, AEGIS, RC4-56, RC2-56, RFC 9150 integrity-only suites).
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cipher {
    Null,
    Rc4_40,
    Rc4_128,
    Rc2Cbc40,
    IdeaCbc,
    Des40Cbc,
    DesCbc,
    TripleDesCbc,
    SeedCbc,
    Aes128Cbc,
    Aes256Cbc,
    Camellia128Cbc,
    Camellia256Cbc,
    Aes128Gcm,
    Aes256Gcm,
    Aes128Ccm,
    Aes256Ccm,
    Aes128Ccm8,
    Aes256Ccm8,
    Chacha20Poly1305,
    Other,
}

impl Cipher {
    /// Bytes of key material taken from the key block (export ciphers: 5).
    pub fn key_len(self) -> usize {
        match self {
            Cipher::Null | Cipher::Other => 0,
            Cipher::Rc4_40 | Cipher::Rc2Cbc40 | Cipher::Des40Cbc => 5,
            Cipher::DesCbc => 8,
            Cipher::TripleDesCbc => 24,
            Cipher::Rc4_128
            | Cipher::IdeaCbc
            | Cipher::SeedCbc
            | Cipher::Aes128Cbc
            | Cipher::Camellia128Cbc
            | Cipher::Aes128Gcm
            | Cipher::Aes128Ccm
            | Cipher::Aes128Ccm8 => 16,
            Cipher::Aes256Cbc
            | Cipher::Camellia256Cbc
            | Cipher::Aes256Gcm
            | Cipher::Aes256Ccm
            | Cipher::Aes256Ccm8
            | Cipher::Chacha20Poly1305 => 32,
        }
    }

    /// Length of the cipher key actually used by the record layer. Differs from
    /// [`Cipher::key_len`] only for the 40-bit export ciphers, whose 5 secret bytes are expanded
    /// (RFC 2246 §6.3, SSL 3.0 §6.2.2) to the cipher's full key size.
    pub fn final_key_len(self) -> usize {
        match self {
            Cipher::Rc4_40 | Cipher::Rc2Cbc40 => 16,
            Cipher::Des40Cbc => 8,
            c => c.key_len(),
        }
    }

    /// IV bytes in the TLS 1.2 key block: 4 (GCM/CCM salt), 12 (ChaCha20), the block size for
    /// CBC (the implicit IV of SSL 3.0 / TLS 1.0), 0 for stream ciphers.
    pub fn fixed_iv_len(self) -> usize {
        match self {
            Cipher::Aes128Gcm
            | Cipher::Aes256Gcm
            | Cipher::Aes128Ccm
            | Cipher::Aes256Ccm
            | Cipher::Aes128Ccm8
            | Cipher::Aes256Ccm8 => 4,
            Cipher::Chacha20Poly1305 => 12,
            c => c.block_len(),
        }
    }

    /// Block size of CBC ciphers; 0 for stream ciphers, NULL and AEADs.
    pub fn block_len(self) -> usize {
        match self {
            Cipher::Rc2Cbc40
            | Cipher::IdeaCbc
            | Cipher::Des40Cbc
            | Cipher::DesCbc
            | Cipher::TripleDesCbc => 8,
            Cipher::SeedCbc
            | Cipher::Aes128Cbc
            | Cipher::Aes256Cbc
            | Cipher::Camellia128Cbc
            | Cipher::Camellia256Cbc => 16,
            _ => 0,
        }
    }

    pub fn is_aead(self) -> bool {
        self.tag_len() > 0
    }

    /// AEAD authentication tag length; 0 for non-AEAD ciphers.
    pub fn tag_len(self) -> usize {
        match self {
            Cipher::Aes128Gcm
            | Cipher::Aes256Gcm
            | Cipher::Aes128Ccm
            | Cipher::Aes256Ccm
            | Cipher::Chacha20Poly1305 => 16,
            Cipher::Aes128Ccm8 | Cipher::Aes256Ccm8 => 8,
            _ => 0,
        }
    }

    /// Whether the record decryptor can decrypt this cipher.
    pub fn supported(self) -> bool {
        self != Cipher::Other
    }
}

/// Record MAC of a suite (`Aead` when the cipher authenticates).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mac {
    Aead,
    Null,
    Md5,
    Sha1,
    Sha256,
    Sha384,
}

impl Mac {
    /// MAC output (and, for TLS, MAC key) length in bytes.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(self) -> usize {
        match self {
            Mac::Aead | Mac::Null => 0,
            Mac::Md5 => 16,
            Mac::Sha1 => 20,
            Mac::Sha256 => 32,
            Mac::Sha384 => 48,
        }
    }
}

/// TLS 1.2 PRF hash, which is also the TLS 1.3 HKDF hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
}

impl Hash {
    /// Digest length in bytes.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
        }
    }
}

#[derive(Debug)]
pub struct Suite {
    pub id: u16,
    /// IANA name, e.g. "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".
    pub name: &'static str,
    pub kx: KeyExchange,
    pub cipher: Cipher,
    pub mac: Mac,
    pub prf: Hash,
    /// Export suite: keys are derived from the 5-byte (or 8-byte for EXPORT1024 DES) secret.
    pub export: bool,
}

/// The suite with this id, if registered.
pub fn suite(id: u16) -> Option<&'static Suite> {
    SUITES
        .binary_search_by_key(&id, |s| s.id)
        .ok()
        .and_then(|i| SUITES.get(i))
}

/// The IANA name of a suite, or "0x%04x" if unknown.
pub fn suite_name(id: u16) -> String {
    match suite(id) {
        Some(s) => s.name.to_string(),
        None => format!("0x{id:04x}"),
    }
}

const fn s(
    id: u16,
    name: &'static str,
    kx: KeyExchange,
    cipher: Cipher,
    mac: Mac,
    prf: Hash,
    export: bool,
) -> Suite {
    Suite {
        id,
        name,
        kx,
        cipher,
        mac,
        prf,
        export,
    }
}

// Sorted by id (checked by a test). `prf` is SHA-256 unless the suite names SHA384; it only
// matters for TLS 1.2 and 1.3.
#[rustfmt::skip]
static SUITES: &[Suite] = &[
    s(0x0000, "TLS_NULL_WITH_NULL_NULL", KeyExchange::Null, Cipher::Null, Mac::Null, Hash::Sha256, false),
    s(0x0001, "TLS_RSA_WITH_NULL_MD5", KeyExchange::Rsa, Cipher::Null, Mac::Md5, Hash::Sha256, false),
    s(0x0002, "TLS_RSA_WITH_NULL_SHA", KeyExchange::Rsa, Cipher::Null, Mac::Sha1, Hash::Sha256, false),
    s(0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5", KeyExchange::Rsa, Cipher::Rc4_40, Mac::Md5, Hash::Sha256, true),
    s(0x0004, "TLS_RSA_WITH_RC4_128_MD5", KeyExchange::Rsa, Cipher::Rc4_128, Mac::Md5, Hash::Sha256, false),
    s(0x0005, "TLS_RSA_WITH_RC4_128_SHA", KeyExchange::Rsa, Cipher::Rc4_128, Mac::Sha1, Hash::Sha256, false),
    s(0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5", KeyExchange::Rsa, Cipher::Rc2Cbc40, Mac::Md5, Hash::Sha256, true),
    s(0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA", KeyExchange::Rsa, Cipher::IdeaCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", KeyExchange::Rsa, Cipher::Des40Cbc, Mac::Sha1, Hash::Sha256, true),
    s(0x0009, "TLS_RSA_WITH_DES_CBC_SHA", KeyExchange::Rsa, Cipher::DesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", KeyExchange::Rsa, Cipher::TripleDesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x000b, "TLS_DH_DSS_EXPORT_WITH_DES40_CBC_SHA", KeyExchange::Dh, Cipher::Des40Cbc, Mac::Sha1, Hash::Sha256, true),
    s(0x000c, "TLS_DH_DSS_WITH_DES_CBC_SHA", KeyExchange::Dh, Cipher::DesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x000d, "TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA", KeyExchange::Dh, Cipher::TripleDesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x000e, "TLS_DH_RSA_EXPORT_WITH_DES40_CBC_SHA", KeyExchange::Dh, Cipher::Des40Cbc, Mac::Sha1, Hash::Sha256, true),
    s(0x000f, "TLS_DH_RSA_WITH_DES_CBC_SHA", KeyExchange::Dh, Cipher::DesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0010, "TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA", KeyExchange::Dh, Cipher::TripleDesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0011, "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA", KeyExchange::Dhe, Cipher::Des40Cbc, Mac::Sha1, Hash::Sha256, true),
    s(0x0012, "TLS_DHE_DSS_WITH_DES_CBC_SHA", KeyExchange::Dhe, Cipher::DesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA", KeyExchange::Dhe, Cipher::TripleDesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA", KeyExchange::Dhe, Cipher::Des40Cbc, Mac::Sha1, Hash::Sha256, true),
    s(0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA", KeyExchange::Dhe, Cipher::DesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", KeyExchange::Dhe, Cipher::TripleDesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0017, "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5", KeyExchange::Dh, Cipher::Rc4_40, Mac::Md5, Hash::Sha256, true),
    s(0x0018, "TLS_DH_anon_WITH_RC4_128_MD5", KeyExchange::Dh, Cipher::Rc4_128, Mac::Md5, Hash::Sha256, false),
    s(0x0019, "TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA", KeyExchange::Dh, Cipher::Des40Cbc, Mac::Sha1, Hash::Sha256, true),
    s(0x001a, "TLS_DH_anon_WITH_DES_CBC_SHA", KeyExchange::Dh, Cipher::DesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x001b, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA", KeyExchange::Dh, Cipher::TripleDesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x001e, "TLS_KRB5_WITH_DES_CBC_SHA", KeyExchange::Krb5, Cipher::DesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x001f, "TLS_KRB5_WITH_3DES_EDE_CBC_SHA", KeyExchange::Krb5, Cipher::TripleDesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0020, "TLS_KRB5_WITH_RC4_128_SHA", KeyExchange::Krb5, Cipher::Rc4_128, Mac::Sha1, Hash::Sha256, false),
    s(0x0021, "TLS_KRB5_WITH_IDEA_CBC_SHA", KeyExchange::Krb5, Cipher::IdeaCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0022, "TLS_KRB5_WITH_DES_CBC_MD5", KeyExchange::Krb5, Cipher::DesCbc, Mac::Md5, Hash::Sha256, false),
    s(0x0023, "TLS_KRB5_WITH_3DES_EDE_CBC_MD5", KeyExchange::Krb5, Cipher::TripleDesCbc, Mac::Md5, Hash::Sha256, false),
    s(0x0024, "TLS_KRB5_WITH_RC4_128_MD5", KeyExchange::Krb5, Cipher::Rc4_128, Mac::Md5, Hash::Sha256, false),
    s(0x0025, "TLS_KRB5_WITH_IDEA_CBC_MD5", KeyExchange::Krb5, Cipher::IdeaCbc, Mac::Md5, Hash::Sha256, false),
    s(0x0026, "TLS_KRB5_EXPORT_WITH_DES_CBC_40_SHA", KeyExchange::Krb5, Cipher::Des40Cbc, Mac::Sha1, Hash::Sha256, true),
    s(0x0027, "TLS_KRB5_EXPORT_WITH_RC2_CBC_40_SHA", KeyExchange::Krb5, Cipher::Rc2Cbc40, Mac::Sha1, Hash::Sha256, true),
    s(0x0028, "TLS_KRB5_EXPORT_WITH_RC4_40_SHA", KeyExchange::Krb5, Cipher::Rc4_40, Mac::Sha1, Hash::Sha256, true),
    s(0x0029, "TLS_KRB5_EXPORT_WITH_DES_CBC_40_MD5", KeyExchange::Krb5, Cipher::Des40Cbc, Mac::Md5, Hash::Sha256, true),
    s(0x002a, "TLS_KRB5_EXPORT_WITH_RC2_CBC_40_MD5", KeyExchange::Krb5, Cipher::Rc2Cbc40, Mac::Md5, Hash::Sha256, true),
    s(0x002b, "TLS_KRB5_EXPORT_WITH_RC4_40_MD5", KeyExchange::Krb5, Cipher::Rc4_40, Mac::Md5, Hash::Sha256, true),
    s(0x002c, "TLS_PSK_WITH_NULL_SHA", KeyExchange::Psk, Cipher::Null, Mac::Sha1, Hash::Sha256, false),
    s(0x002d, "TLS_DHE_PSK_WITH_NULL_SHA", KeyExchange::DhePsk, Cipher::Null, Mac::Sha1, Hash::Sha256, false),
    s(0x002e, "TLS_RSA_PSK_WITH_NULL_SHA", KeyExchange::RsaPsk, Cipher::Null, Mac::Sha1, Hash::Sha256, false),
    s(0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", KeyExchange::Rsa, Cipher::Aes128Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0030, "TLS_DH_DSS_WITH_AES_128_CBC_SHA", KeyExchange::Dh, Cipher::Aes128Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0031, "TLS_DH_RSA_WITH_AES_128_CBC_SHA", KeyExchange::Dh, Cipher::Aes128Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA", KeyExchange::Dhe, Cipher::Aes128Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", KeyExchange::Dhe, Cipher::Aes128Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA", KeyExchange::Dh, Cipher::Aes128Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", KeyExchange::Rsa, Cipher::Aes256Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0036, "TLS_DH_DSS_WITH_AES_256_CBC_SHA", KeyExchange::Dh, Cipher::Aes256Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0037, "TLS_DH_RSA_WITH_AES_256_CBC_SHA", KeyExchange::Dh, Cipher::Aes256Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA", KeyExchange::Dhe, Cipher::Aes256Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", KeyExchange::Dhe, Cipher::Aes256Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x003a, "TLS_DH_anon_WITH_AES_256_CBC_SHA", KeyExchange::Dh, Cipher::Aes256Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x003b, "TLS_RSA_WITH_NULL_SHA256", KeyExchange::Rsa, Cipher::Null, Mac::Sha256, Hash::Sha256, false),
    s(0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256", KeyExchange::Rsa, Cipher::Aes128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256", KeyExchange::Rsa, Cipher::Aes256Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x003e, "TLS_DH_DSS_WITH_AES_128_CBC_SHA256", KeyExchange::Dh, Cipher::Aes128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x003f, "TLS_DH_RSA_WITH_AES_128_CBC_SHA256", KeyExchange::Dh, Cipher::Aes128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256", KeyExchange::Dhe, Cipher::Aes128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA", KeyExchange::Rsa, Cipher::Camellia128Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0042, "TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA", KeyExchange::Dh, Cipher::Camellia128Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0043, "TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA", KeyExchange::Dh, Cipher::Camellia128Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0044, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA", KeyExchange::Dhe, Cipher::Camellia128Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA", KeyExchange::Dhe, Cipher::Camellia128Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0046, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA", KeyExchange::Dh, Cipher::Camellia128Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0060, "TLS_RSA_EXPORT1024_WITH_RC4_56_MD5", KeyExchange::Rsa, Cipher::Other, Mac::Md5, Hash::Sha256, true),
    s(0x0061, "TLS_RSA_EXPORT1024_WITH_RC2_CBC_56_MD5", KeyExchange::Rsa, Cipher::Other, Mac::Md5, Hash::Sha256, true),
    s(0x0062, "TLS_RSA_EXPORT1024_WITH_DES_CBC_SHA", KeyExchange::Rsa, Cipher::DesCbc, Mac::Sha1, Hash::Sha256, true),
    s(0x0063, "TLS_DHE_DSS_EXPORT1024_WITH_DES_CBC_SHA", KeyExchange::Dhe, Cipher::DesCbc, Mac::Sha1, Hash::Sha256, true),
    s(0x0064, "TLS_RSA_EXPORT1024_WITH_RC4_56_SHA", KeyExchange::Rsa, Cipher::Other, Mac::Sha1, Hash::Sha256, true),
    s(0x0065, "TLS_DHE_DSS_EXPORT1024_WITH_RC4_56_SHA", KeyExchange::Dhe, Cipher::Other, Mac::Sha1, Hash::Sha256, true),
    s(0x0066, "TLS_DHE_DSS_WITH_RC4_128_SHA", KeyExchange::Dhe, Cipher::Rc4_128, Mac::Sha1, Hash::Sha256, false),
    s(0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", KeyExchange::Dhe, Cipher::Aes128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x0068, "TLS_DH_DSS_WITH_AES_256_CBC_SHA256", KeyExchange::Dh, Cipher::Aes256Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x0069, "TLS_DH_RSA_WITH_AES_256_CBC_SHA256", KeyExchange::Dh, Cipher::Aes256Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x006a, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256", KeyExchange::Dhe, Cipher::Aes256Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", KeyExchange::Dhe, Cipher::Aes256Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x006c, "TLS_DH_anon_WITH_AES_128_CBC_SHA256", KeyExchange::Dh, Cipher::Aes128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x006d, "TLS_DH_anon_WITH_AES_256_CBC_SHA256", KeyExchange::Dh, Cipher::Aes256Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA", KeyExchange::Rsa, Cipher::Camellia256Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0085, "TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA", KeyExchange::Dh, Cipher::Camellia256Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0086, "TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA", KeyExchange::Dh, Cipher::Camellia256Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0087, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA", KeyExchange::Dhe, Cipher::Camellia256Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA", KeyExchange::Dhe, Cipher::Camellia256Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0089, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA", KeyExchange::Dh, Cipher::Camellia256Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x008a, "TLS_PSK_WITH_RC4_128_SHA", KeyExchange::Psk, Cipher::Rc4_128, Mac::Sha1, Hash::Sha256, false),
    s(0x008b, "TLS_PSK_WITH_3DES_EDE_CBC_SHA", KeyExchange::Psk, Cipher::TripleDesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x008c, "TLS_PSK_WITH_AES_128_CBC_SHA", KeyExchange::Psk, Cipher::Aes128Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x008d, "TLS_PSK_WITH_AES_256_CBC_SHA", KeyExchange::Psk, Cipher::Aes256Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x008e, "TLS_DHE_PSK_WITH_RC4_128_SHA", KeyExchange::DhePsk, Cipher::Rc4_128, Mac::Sha1, Hash::Sha256, false),
    s(0x008f, "TLS_DHE_PSK_WITH_3DES_EDE_CBC_SHA", KeyExchange::DhePsk, Cipher::TripleDesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0090, "TLS_DHE_PSK_WITH_AES_128_CBC_SHA", KeyExchange::DhePsk, Cipher::Aes128Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0091, "TLS_DHE_PSK_WITH_AES_256_CBC_SHA", KeyExchange::DhePsk, Cipher::Aes256Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0092, "TLS_RSA_PSK_WITH_RC4_128_SHA", KeyExchange::RsaPsk, Cipher::Rc4_128, Mac::Sha1, Hash::Sha256, false),
    s(0x0093, "TLS_RSA_PSK_WITH_3DES_EDE_CBC_SHA", KeyExchange::RsaPsk, Cipher::TripleDesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0094, "TLS_RSA_PSK_WITH_AES_128_CBC_SHA", KeyExchange::RsaPsk, Cipher::Aes128Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0095, "TLS_RSA_PSK_WITH_AES_256_CBC_SHA", KeyExchange::RsaPsk, Cipher::Aes256Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0096, "TLS_RSA_WITH_SEED_CBC_SHA", KeyExchange::Rsa, Cipher::SeedCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0097, "TLS_DH_DSS_WITH_SEED_CBC_SHA", KeyExchange::Dh, Cipher::SeedCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0098, "TLS_DH_RSA_WITH_SEED_CBC_SHA", KeyExchange::Dh, Cipher::SeedCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x0099, "TLS_DHE_DSS_WITH_SEED_CBC_SHA", KeyExchange::Dhe, Cipher::SeedCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x009a, "TLS_DHE_RSA_WITH_SEED_CBC_SHA", KeyExchange::Dhe, Cipher::SeedCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x009b, "TLS_DH_anon_WITH_SEED_CBC_SHA", KeyExchange::Dh, Cipher::SeedCbc, Mac::Sha1, Hash::Sha256, false),
    s(0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256", KeyExchange::Rsa, Cipher::Aes128Gcm, Mac::Aead, Hash::Sha256, false),
    s(0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384", KeyExchange::Rsa, Cipher::Aes256Gcm, Mac::Aead, Hash::Sha384, false),
    s(0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", KeyExchange::Dhe, Cipher::Aes128Gcm, Mac::Aead, Hash::Sha256, false),
    s(0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", KeyExchange::Dhe, Cipher::Aes256Gcm, Mac::Aead, Hash::Sha384, false),
    s(0x00a0, "TLS_DH_RSA_WITH_AES_128_GCM_SHA256", KeyExchange::Dh, Cipher::Aes128Gcm, Mac::Aead, Hash::Sha256, false),
    s(0x00a1, "TLS_DH_RSA_WITH_AES_256_GCM_SHA384", KeyExchange::Dh, Cipher::Aes256Gcm, Mac::Aead, Hash::Sha384, false),
    s(0x00a2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256", KeyExchange::Dhe, Cipher::Aes128Gcm, Mac::Aead, Hash::Sha256, false),
    s(0x00a3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384", KeyExchange::Dhe, Cipher::Aes256Gcm, Mac::Aead, Hash::Sha384, false),
    s(0x00a4, "TLS_DH_DSS_WITH_AES_128_GCM_SHA256", KeyExchange::Dh, Cipher::Aes128Gcm, Mac::Aead, Hash::Sha256, false),
    s(0x00a5, "TLS_DH_DSS_WITH_AES_256_GCM_SHA384", KeyExchange::Dh, Cipher::Aes256Gcm, Mac::Aead, Hash::Sha384, false),
    s(0x00a6, "TLS_DH_anon_WITH_AES_128_GCM_SHA256", KeyExchange::Dh, Cipher::Aes128Gcm, Mac::Aead, Hash::Sha256, false),
    s(0x00a7, "TLS_DH_anon_WITH_AES_256_GCM_SHA384", KeyExchange::Dh, Cipher::Aes256Gcm, Mac::Aead, Hash::Sha384, false),
    s(0x00a8, "TLS_PSK_WITH_AES_128_GCM_SHA256", KeyExchange::Psk, Cipher::Aes128Gcm, Mac::Aead, Hash::Sha256, false),
    s(0x00a9, "TLS_PSK_WITH_AES_256_GCM_SHA384", KeyExchange::Psk, Cipher::Aes256Gcm, Mac::Aead, Hash::Sha384, false),
    s(0x00aa, "TLS_DHE_PSK_WITH_AES_128_GCM_SHA256", KeyExchange::DhePsk, Cipher::Aes128Gcm, Mac::Aead, Hash::Sha256, false),
    s(0x00ab, "TLS_DHE_PSK_WITH_AES_256_GCM_SHA384", KeyExchange::DhePsk, Cipher::Aes256Gcm, Mac::Aead, Hash::Sha384, false),
    s(0x00ac, "TLS_RSA_PSK_WITH_AES_128_GCM_SHA256", KeyExchange::RsaPsk, Cipher::Aes128Gcm, Mac::Aead, Hash::Sha256, false),
    s(0x00ad, "TLS_RSA_PSK_WITH_AES_256_GCM_SHA384", KeyExchange::RsaPsk, Cipher::Aes256Gcm, Mac::Aead, Hash::Sha384, false),
    s(0x00ae, "TLS_PSK_WITH_AES_128_CBC_SHA256", KeyExchange::Psk, Cipher::Aes128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x00af, "TLS_PSK_WITH_AES_256_CBC_SHA384", KeyExchange::Psk, Cipher::Aes256Cbc, Mac::Sha384, Hash::Sha384, false),
    s(0x00b0, "TLS_PSK_WITH_NULL_SHA256", KeyExchange::Psk, Cipher::Null, Mac::Sha256, Hash::Sha256, false),
    s(0x00b1, "TLS_PSK_WITH_NULL_SHA384", KeyExchange::Psk, Cipher::Null, Mac::Sha384, Hash::Sha384, false),
    s(0x00b2, "TLS_DHE_PSK_WITH_AES_128_CBC_SHA256", KeyExchange::DhePsk, Cipher::Aes128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x00b3, "TLS_DHE_PSK_WITH_AES_256_CBC_SHA384", KeyExchange::DhePsk, Cipher::Aes256Cbc, Mac::Sha384, Hash::Sha384, false),
    s(0x00b4, "TLS_DHE_PSK_WITH_NULL_SHA256", KeyExchange::DhePsk, Cipher::Null, Mac::Sha256, Hash::Sha256, false),
    s(0x00b5, "TLS_DHE_PSK_WITH_NULL_SHA384", KeyExchange::DhePsk, Cipher::Null, Mac::Sha384, Hash::Sha384, false),
    s(0x00b6, "TLS_RSA_PSK_WITH_AES_128_CBC_SHA256", KeyExchange::RsaPsk, Cipher::Aes128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x00b7, "TLS_RSA_PSK_WITH_AES_256_CBC_SHA384", KeyExchange::RsaPsk, Cipher::Aes256Cbc, Mac::Sha384, Hash::Sha384, false),
    s(0x00b8, "TLS_RSA_PSK_WITH_NULL_SHA256", KeyExchange::RsaPsk, Cipher::Null, Mac::Sha256, Hash::Sha256, false),
    s(0x00b9, "TLS_RSA_PSK_WITH_NULL_SHA384", KeyExchange::RsaPsk, Cipher::Null, Mac::Sha384, Hash::Sha384, false),
    s(0x00ba, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256", KeyExchange::Rsa, Cipher::Camellia128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x00bb, "TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA256", KeyExchange::Dh, Cipher::Camellia128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x00bc, "TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA256", KeyExchange::Dh, Cipher::Camellia128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x00bd, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA256", KeyExchange::Dhe, Cipher::Camellia128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x00be, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256", KeyExchange::Dhe, Cipher::Camellia128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x00bf, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA256", KeyExchange::Dh, Cipher::Camellia128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x00c0, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256", KeyExchange::Rsa, Cipher::Camellia256Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x00c1, "TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA256", KeyExchange::Dh, Cipher::Camellia256Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x00c2, "TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA256", KeyExchange::Dh, Cipher::Camellia256Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x00c3, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA256", KeyExchange::Dhe, Cipher::Camellia256Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x00c4, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256", KeyExchange::Dhe, Cipher::Camellia256Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x00c5, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA256", KeyExchange::Dh, Cipher::Camellia256Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0x00c6, "TLS_SM4_GCM_SM3", KeyExchange::Tls13, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0x00c7, "TLS_SM4_CCM_SM3", KeyExchange::Tls13, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV", KeyExchange::Null, Cipher::Null, Mac::Null, Hash::Sha256, false),
    s(0x1301, "TLS_AES_128_GCM_SHA256", KeyExchange::Tls13, Cipher::Aes128Gcm, Mac::Aead, Hash::Sha256, false),
    s(0x1302, "TLS_AES_256_GCM_SHA384", KeyExchange::Tls13, Cipher::Aes256Gcm, Mac::Aead, Hash::Sha384, false),
    s(0x1303, "TLS_CHACHA20_POLY1305_SHA256", KeyExchange::Tls13, Cipher::Chacha20Poly1305, Mac::Aead, Hash::Sha256, false),
    s(0x1304, "TLS_AES_128_CCM_SHA256", KeyExchange::Tls13, Cipher::Aes128Ccm, Mac::Aead, Hash::Sha256, false),
    s(0x1305, "TLS_AES_128_CCM_8_SHA256", KeyExchange::Tls13, Cipher::Aes128Ccm8, Mac::Aead, Hash::Sha256, false),
    s(0x1306, "TLS_AEGIS_256_SHA512", KeyExchange::Tls13, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0x1307, "TLS_AEGIS_128L_SHA256", KeyExchange::Tls13, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0x5600, "TLS_FALLBACK_SCSV", KeyExchange::Null, Cipher::Null, Mac::Null, Hash::Sha256, false),
    s(0xc001, "TLS_ECDH_ECDSA_WITH_NULL_SHA", KeyExchange::Ecdh, Cipher::Null, Mac::Sha1, Hash::Sha256, false),
    s(0xc002, "TLS_ECDH_ECDSA_WITH_RC4_128_SHA", KeyExchange::Ecdh, Cipher::Rc4_128, Mac::Sha1, Hash::Sha256, false),
    s(0xc003, "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA", KeyExchange::Ecdh, Cipher::TripleDesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc004, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA", KeyExchange::Ecdh, Cipher::Aes128Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc005, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA", KeyExchange::Ecdh, Cipher::Aes256Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA", KeyExchange::Ecdhe, Cipher::Null, Mac::Sha1, Hash::Sha256, false),
    s(0xc007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", KeyExchange::Ecdhe, Cipher::Rc4_128, Mac::Sha1, Hash::Sha256, false),
    s(0xc008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", KeyExchange::Ecdhe, Cipher::TripleDesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", KeyExchange::Ecdhe, Cipher::Aes128Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", KeyExchange::Ecdhe, Cipher::Aes256Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc00b, "TLS_ECDH_RSA_WITH_NULL_SHA", KeyExchange::Ecdh, Cipher::Null, Mac::Sha1, Hash::Sha256, false),
    s(0xc00c, "TLS_ECDH_RSA_WITH_RC4_128_SHA", KeyExchange::Ecdh, Cipher::Rc4_128, Mac::Sha1, Hash::Sha256, false),
    s(0xc00d, "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA", KeyExchange::Ecdh, Cipher::TripleDesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc00e, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA", KeyExchange::Ecdh, Cipher::Aes128Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc00f, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA", KeyExchange::Ecdh, Cipher::Aes256Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc010, "TLS_ECDHE_RSA_WITH_NULL_SHA", KeyExchange::Ecdhe, Cipher::Null, Mac::Sha1, Hash::Sha256, false),
    s(0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", KeyExchange::Ecdhe, Cipher::Rc4_128, Mac::Sha1, Hash::Sha256, false),
    s(0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", KeyExchange::Ecdhe, Cipher::TripleDesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", KeyExchange::Ecdhe, Cipher::Aes128Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", KeyExchange::Ecdhe, Cipher::Aes256Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc015, "TLS_ECDH_anon_WITH_NULL_SHA", KeyExchange::Ecdh, Cipher::Null, Mac::Sha1, Hash::Sha256, false),
    s(0xc016, "TLS_ECDH_anon_WITH_RC4_128_SHA", KeyExchange::Ecdh, Cipher::Rc4_128, Mac::Sha1, Hash::Sha256, false),
    s(0xc017, "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA", KeyExchange::Ecdh, Cipher::TripleDesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA", KeyExchange::Ecdh, Cipher::Aes128Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc019, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA", KeyExchange::Ecdh, Cipher::Aes256Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc01a, "TLS_SRP_SHA_WITH_3DES_EDE_CBC_SHA", KeyExchange::Srp, Cipher::TripleDesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc01b, "TLS_SRP_SHA_RSA_WITH_3DES_EDE_CBC_SHA", KeyExchange::Srp, Cipher::TripleDesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc01c, "TLS_SRP_SHA_DSS_WITH_3DES_EDE_CBC_SHA", KeyExchange::Srp, Cipher::TripleDesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc01d, "TLS_SRP_SHA_WITH_AES_128_CBC_SHA", KeyExchange::Srp, Cipher::Aes128Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc01e, "TLS_SRP_SHA_RSA_WITH_AES_128_CBC_SHA", KeyExchange::Srp, Cipher::Aes128Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc01f, "TLS_SRP_SHA_DSS_WITH_AES_128_CBC_SHA", KeyExchange::Srp, Cipher::Aes128Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc020, "TLS_SRP_SHA_WITH_AES_256_CBC_SHA", KeyExchange::Srp, Cipher::Aes256Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc021, "TLS_SRP_SHA_RSA_WITH_AES_256_CBC_SHA", KeyExchange::Srp, Cipher::Aes256Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc022, "TLS_SRP_SHA_DSS_WITH_AES_256_CBC_SHA", KeyExchange::Srp, Cipher::Aes256Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", KeyExchange::Ecdhe, Cipher::Aes128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", KeyExchange::Ecdhe, Cipher::Aes256Cbc, Mac::Sha384, Hash::Sha384, false),
    s(0xc025, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256", KeyExchange::Ecdh, Cipher::Aes128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0xc026, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384", KeyExchange::Ecdh, Cipher::Aes256Cbc, Mac::Sha384, Hash::Sha384, false),
    s(0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", KeyExchange::Ecdhe, Cipher::Aes128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", KeyExchange::Ecdhe, Cipher::Aes256Cbc, Mac::Sha384, Hash::Sha384, false),
    s(0xc029, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256", KeyExchange::Ecdh, Cipher::Aes128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0xc02a, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384", KeyExchange::Ecdh, Cipher::Aes256Cbc, Mac::Sha384, Hash::Sha384, false),
    s(0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", KeyExchange::Ecdhe, Cipher::Aes128Gcm, Mac::Aead, Hash::Sha256, false),
    s(0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", KeyExchange::Ecdhe, Cipher::Aes256Gcm, Mac::Aead, Hash::Sha384, false),
    s(0xc02d, "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256", KeyExchange::Ecdh, Cipher::Aes128Gcm, Mac::Aead, Hash::Sha256, false),
    s(0xc02e, "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384", KeyExchange::Ecdh, Cipher::Aes256Gcm, Mac::Aead, Hash::Sha384, false),
    s(0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", KeyExchange::Ecdhe, Cipher::Aes128Gcm, Mac::Aead, Hash::Sha256, false),
    s(0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", KeyExchange::Ecdhe, Cipher::Aes256Gcm, Mac::Aead, Hash::Sha384, false),
    s(0xc031, "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256", KeyExchange::Ecdh, Cipher::Aes128Gcm, Mac::Aead, Hash::Sha256, false),
    s(0xc032, "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384", KeyExchange::Ecdh, Cipher::Aes256Gcm, Mac::Aead, Hash::Sha384, false),
    s(0xc033, "TLS_ECDHE_PSK_WITH_RC4_128_SHA", KeyExchange::EcdhePsk, Cipher::Rc4_128, Mac::Sha1, Hash::Sha256, false),
    s(0xc034, "TLS_ECDHE_PSK_WITH_3DES_EDE_CBC_SHA", KeyExchange::EcdhePsk, Cipher::TripleDesCbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc035, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA", KeyExchange::EcdhePsk, Cipher::Aes128Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc036, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA", KeyExchange::EcdhePsk, Cipher::Aes256Cbc, Mac::Sha1, Hash::Sha256, false),
    s(0xc037, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256", KeyExchange::EcdhePsk, Cipher::Aes128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0xc038, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384", KeyExchange::EcdhePsk, Cipher::Aes256Cbc, Mac::Sha384, Hash::Sha384, false),
    s(0xc039, "TLS_ECDHE_PSK_WITH_NULL_SHA", KeyExchange::EcdhePsk, Cipher::Null, Mac::Sha1, Hash::Sha256, false),
    s(0xc03a, "TLS_ECDHE_PSK_WITH_NULL_SHA256", KeyExchange::EcdhePsk, Cipher::Null, Mac::Sha256, Hash::Sha256, false),
    s(0xc03b, "TLS_ECDHE_PSK_WITH_NULL_SHA384", KeyExchange::EcdhePsk, Cipher::Null, Mac::Sha384, Hash::Sha384, false),
    s(0xc03c, "TLS_RSA_WITH_ARIA_128_CBC_SHA256", KeyExchange::Rsa, Cipher::Other, Mac::Sha256, Hash::Sha256, false),
    s(0xc03d, "TLS_RSA_WITH_ARIA_256_CBC_SHA384", KeyExchange::Rsa, Cipher::Other, Mac::Sha384, Hash::Sha384, false),
    s(0xc03e, "TLS_DH_DSS_WITH_ARIA_128_CBC_SHA256", KeyExchange::Dh, Cipher::Other, Mac::Sha256, Hash::Sha256, false),
    s(0xc03f, "TLS_DH_DSS_WITH_ARIA_256_CBC_SHA384", KeyExchange::Dh, Cipher::Other, Mac::Sha384, Hash::Sha384, false),
    s(0xc040, "TLS_DH_RSA_WITH_ARIA_128_CBC_SHA256", KeyExchange::Dh, Cipher::Other, Mac::Sha256, Hash::Sha256, false),
    s(0xc041, "TLS_DH_RSA_WITH_ARIA_256_CBC_SHA384", KeyExchange::Dh, Cipher::Other, Mac::Sha384, Hash::Sha384, false),
    s(0xc042, "TLS_DHE_DSS_WITH_ARIA_128_CBC_SHA256", KeyExchange::Dhe, Cipher::Other, Mac::Sha256, Hash::Sha256, false),
    s(0xc043, "TLS_DHE_DSS_WITH_ARIA_256_CBC_SHA384", KeyExchange::Dhe, Cipher::Other, Mac::Sha384, Hash::Sha384, false),
    s(0xc044, "TLS_DHE_RSA_WITH_ARIA_128_CBC_SHA256", KeyExchange::Dhe, Cipher::Other, Mac::Sha256, Hash::Sha256, false),
    s(0xc045, "TLS_DHE_RSA_WITH_ARIA_256_CBC_SHA384", KeyExchange::Dhe, Cipher::Other, Mac::Sha384, Hash::Sha384, false),
    s(0xc046, "TLS_DH_anon_WITH_ARIA_128_CBC_SHA256", KeyExchange::Dh, Cipher::Other, Mac::Sha256, Hash::Sha256, false),
    s(0xc047, "TLS_DH_anon_WITH_ARIA_256_CBC_SHA384", KeyExchange::Dh, Cipher::Other, Mac::Sha384, Hash::Sha384, false),
    s(0xc048, "TLS_ECDHE_ECDSA_WITH_ARIA_128_CBC_SHA256", KeyExchange::Ecdhe, Cipher::Other, Mac::Sha256, Hash::Sha256, false),
    s(0xc049, "TLS_ECDHE_ECDSA_WITH_ARIA_256_CBC_SHA384", KeyExchange::Ecdhe, Cipher::Other, Mac::Sha384, Hash::Sha384, false),
    s(0xc04a, "TLS_ECDH_ECDSA_WITH_ARIA_128_CBC_SHA256", KeyExchange::Ecdh, Cipher::Other, Mac::Sha256, Hash::Sha256, false),
    s(0xc04b, "TLS_ECDH_ECDSA_WITH_ARIA_256_CBC_SHA384", KeyExchange::Ecdh, Cipher::Other, Mac::Sha384, Hash::Sha384, false),
    s(0xc04c, "TLS_ECDHE_RSA_WITH_ARIA_128_CBC_SHA256", KeyExchange::Ecdhe, Cipher::Other, Mac::Sha256, Hash::Sha256, false),
    s(0xc04d, "TLS_ECDHE_RSA_WITH_ARIA_256_CBC_SHA384", KeyExchange::Ecdhe, Cipher::Other, Mac::Sha384, Hash::Sha384, false),
    s(0xc04e, "TLS_ECDH_RSA_WITH_ARIA_128_CBC_SHA256", KeyExchange::Ecdh, Cipher::Other, Mac::Sha256, Hash::Sha256, false),
    s(0xc04f, "TLS_ECDH_RSA_WITH_ARIA_256_CBC_SHA384", KeyExchange::Ecdh, Cipher::Other, Mac::Sha384, Hash::Sha384, false),
    s(0xc050, "TLS_RSA_WITH_ARIA_128_GCM_SHA256", KeyExchange::Rsa, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc051, "TLS_RSA_WITH_ARIA_256_GCM_SHA384", KeyExchange::Rsa, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc052, "TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256", KeyExchange::Dhe, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc053, "TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384", KeyExchange::Dhe, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc054, "TLS_DH_RSA_WITH_ARIA_128_GCM_SHA256", KeyExchange::Dh, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc055, "TLS_DH_RSA_WITH_ARIA_256_GCM_SHA384", KeyExchange::Dh, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc056, "TLS_DHE_DSS_WITH_ARIA_128_GCM_SHA256", KeyExchange::Dhe, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc057, "TLS_DHE_DSS_WITH_ARIA_256_GCM_SHA384", KeyExchange::Dhe, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc058, "TLS_DH_DSS_WITH_ARIA_128_GCM_SHA256", KeyExchange::Dh, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc059, "TLS_DH_DSS_WITH_ARIA_256_GCM_SHA384", KeyExchange::Dh, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc05a, "TLS_DH_anon_WITH_ARIA_128_GCM_SHA256", KeyExchange::Dh, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc05b, "TLS_DH_anon_WITH_ARIA_256_GCM_SHA384", KeyExchange::Dh, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc05c, "TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256", KeyExchange::Ecdhe, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc05d, "TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384", KeyExchange::Ecdhe, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc05e, "TLS_ECDH_ECDSA_WITH_ARIA_128_GCM_SHA256", KeyExchange::Ecdh, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc05f, "TLS_ECDH_ECDSA_WITH_ARIA_256_GCM_SHA384", KeyExchange::Ecdh, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc060, "TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256", KeyExchange::Ecdhe, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc061, "TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384", KeyExchange::Ecdhe, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc062, "TLS_ECDH_RSA_WITH_ARIA_128_GCM_SHA256", KeyExchange::Ecdh, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc063, "TLS_ECDH_RSA_WITH_ARIA_256_GCM_SHA384", KeyExchange::Ecdh, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc064, "TLS_PSK_WITH_ARIA_128_CBC_SHA256", KeyExchange::Psk, Cipher::Other, Mac::Sha256, Hash::Sha256, false),
    s(0xc065, "TLS_PSK_WITH_ARIA_256_CBC_SHA384", KeyExchange::Psk, Cipher::Other, Mac::Sha384, Hash::Sha384, false),
    s(0xc066, "TLS_DHE_PSK_WITH_ARIA_128_CBC_SHA256", KeyExchange::DhePsk, Cipher::Other, Mac::Sha256, Hash::Sha256, false),
    s(0xc067, "TLS_DHE_PSK_WITH_ARIA_256_CBC_SHA384", KeyExchange::DhePsk, Cipher::Other, Mac::Sha384, Hash::Sha384, false),
    s(0xc068, "TLS_RSA_PSK_WITH_ARIA_128_CBC_SHA256", KeyExchange::RsaPsk, Cipher::Other, Mac::Sha256, Hash::Sha256, false),
    s(0xc069, "TLS_RSA_PSK_WITH_ARIA_256_CBC_SHA384", KeyExchange::RsaPsk, Cipher::Other, Mac::Sha384, Hash::Sha384, false),
    s(0xc06a, "TLS_PSK_WITH_ARIA_128_GCM_SHA256", KeyExchange::Psk, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc06b, "TLS_PSK_WITH_ARIA_256_GCM_SHA384", KeyExchange::Psk, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc06c, "TLS_DHE_PSK_WITH_ARIA_128_GCM_SHA256", KeyExchange::DhePsk, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc06d, "TLS_DHE_PSK_WITH_ARIA_256_GCM_SHA384", KeyExchange::DhePsk, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc06e, "TLS_RSA_PSK_WITH_ARIA_128_GCM_SHA256", KeyExchange::RsaPsk, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc06f, "TLS_RSA_PSK_WITH_ARIA_256_GCM_SHA384", KeyExchange::RsaPsk, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc070, "TLS_ECDHE_PSK_WITH_ARIA_128_CBC_SHA256", KeyExchange::EcdhePsk, Cipher::Other, Mac::Sha256, Hash::Sha256, false),
    s(0xc071, "TLS_ECDHE_PSK_WITH_ARIA_256_CBC_SHA384", KeyExchange::EcdhePsk, Cipher::Other, Mac::Sha384, Hash::Sha384, false),
    s(0xc072, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256", KeyExchange::Ecdhe, Cipher::Camellia128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0xc073, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384", KeyExchange::Ecdhe, Cipher::Camellia256Cbc, Mac::Sha384, Hash::Sha384, false),
    s(0xc074, "TLS_ECDH_ECDSA_WITH_CAMELLIA_128_CBC_SHA256", KeyExchange::Ecdh, Cipher::Camellia128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0xc075, "TLS_ECDH_ECDSA_WITH_CAMELLIA_256_CBC_SHA384", KeyExchange::Ecdh, Cipher::Camellia256Cbc, Mac::Sha384, Hash::Sha384, false),
    s(0xc076, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256", KeyExchange::Ecdhe, Cipher::Camellia128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0xc077, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384", KeyExchange::Ecdhe, Cipher::Camellia256Cbc, Mac::Sha384, Hash::Sha384, false),
    s(0xc078, "TLS_ECDH_RSA_WITH_CAMELLIA_128_CBC_SHA256", KeyExchange::Ecdh, Cipher::Camellia128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0xc079, "TLS_ECDH_RSA_WITH_CAMELLIA_256_CBC_SHA384", KeyExchange::Ecdh, Cipher::Camellia256Cbc, Mac::Sha384, Hash::Sha384, false),
    s(0xc07a, "TLS_RSA_WITH_CAMELLIA_128_GCM_SHA256", KeyExchange::Rsa, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc07b, "TLS_RSA_WITH_CAMELLIA_256_GCM_SHA384", KeyExchange::Rsa, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc07c, "TLS_DHE_RSA_WITH_CAMELLIA_128_GCM_SHA256", KeyExchange::Dhe, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc07d, "TLS_DHE_RSA_WITH_CAMELLIA_256_GCM_SHA384", KeyExchange::Dhe, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc07e, "TLS_DH_RSA_WITH_CAMELLIA_128_GCM_SHA256", KeyExchange::Dh, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc07f, "TLS_DH_RSA_WITH_CAMELLIA_256_GCM_SHA384", KeyExchange::Dh, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc080, "TLS_DHE_DSS_WITH_CAMELLIA_128_GCM_SHA256", KeyExchange::Dhe, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc081, "TLS_DHE_DSS_WITH_CAMELLIA_256_GCM_SHA384", KeyExchange::Dhe, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc082, "TLS_DH_DSS_WITH_CAMELLIA_128_GCM_SHA256", KeyExchange::Dh, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc083, "TLS_DH_DSS_WITH_CAMELLIA_256_GCM_SHA384", KeyExchange::Dh, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc084, "TLS_DH_anon_WITH_CAMELLIA_128_GCM_SHA256", KeyExchange::Dh, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc085, "TLS_DH_anon_WITH_CAMELLIA_256_GCM_SHA384", KeyExchange::Dh, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc086, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_GCM_SHA256", KeyExchange::Ecdhe, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc087, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_GCM_SHA384", KeyExchange::Ecdhe, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc088, "TLS_ECDH_ECDSA_WITH_CAMELLIA_128_GCM_SHA256", KeyExchange::Ecdh, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc089, "TLS_ECDH_ECDSA_WITH_CAMELLIA_256_GCM_SHA384", KeyExchange::Ecdh, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc08a, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_GCM_SHA256", KeyExchange::Ecdhe, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc08b, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_GCM_SHA384", KeyExchange::Ecdhe, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc08c, "TLS_ECDH_RSA_WITH_CAMELLIA_128_GCM_SHA256", KeyExchange::Ecdh, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc08d, "TLS_ECDH_RSA_WITH_CAMELLIA_256_GCM_SHA384", KeyExchange::Ecdh, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc08e, "TLS_PSK_WITH_CAMELLIA_128_GCM_SHA256", KeyExchange::Psk, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc08f, "TLS_PSK_WITH_CAMELLIA_256_GCM_SHA384", KeyExchange::Psk, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc090, "TLS_DHE_PSK_WITH_CAMELLIA_128_GCM_SHA256", KeyExchange::DhePsk, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc091, "TLS_DHE_PSK_WITH_CAMELLIA_256_GCM_SHA384", KeyExchange::DhePsk, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc092, "TLS_RSA_PSK_WITH_CAMELLIA_128_GCM_SHA256", KeyExchange::RsaPsk, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc093, "TLS_RSA_PSK_WITH_CAMELLIA_256_GCM_SHA384", KeyExchange::RsaPsk, Cipher::Other, Mac::Aead, Hash::Sha384, false),
    s(0xc094, "TLS_PSK_WITH_CAMELLIA_128_CBC_SHA256", KeyExchange::Psk, Cipher::Camellia128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0xc095, "TLS_PSK_WITH_CAMELLIA_256_CBC_SHA384", KeyExchange::Psk, Cipher::Camellia256Cbc, Mac::Sha384, Hash::Sha384, false),
    s(0xc096, "TLS_DHE_PSK_WITH_CAMELLIA_128_CBC_SHA256", KeyExchange::DhePsk, Cipher::Camellia128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0xc097, "TLS_DHE_PSK_WITH_CAMELLIA_256_CBC_SHA384", KeyExchange::DhePsk, Cipher::Camellia256Cbc, Mac::Sha384, Hash::Sha384, false),
    s(0xc098, "TLS_RSA_PSK_WITH_CAMELLIA_128_CBC_SHA256", KeyExchange::RsaPsk, Cipher::Camellia128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0xc099, "TLS_RSA_PSK_WITH_CAMELLIA_256_CBC_SHA384", KeyExchange::RsaPsk, Cipher::Camellia256Cbc, Mac::Sha384, Hash::Sha384, false),
    s(0xc09a, "TLS_ECDHE_PSK_WITH_CAMELLIA_128_CBC_SHA256", KeyExchange::EcdhePsk, Cipher::Camellia128Cbc, Mac::Sha256, Hash::Sha256, false),
    s(0xc09b, "TLS_ECDHE_PSK_WITH_CAMELLIA_256_CBC_SHA384", KeyExchange::EcdhePsk, Cipher::Camellia256Cbc, Mac::Sha384, Hash::Sha384, false),
    s(0xc09c, "TLS_RSA_WITH_AES_128_CCM", KeyExchange::Rsa, Cipher::Aes128Ccm, Mac::Aead, Hash::Sha256, false),
    s(0xc09d, "TLS_RSA_WITH_AES_256_CCM", KeyExchange::Rsa, Cipher::Aes256Ccm, Mac::Aead, Hash::Sha256, false),
    s(0xc09e, "TLS_DHE_RSA_WITH_AES_128_CCM", KeyExchange::Dhe, Cipher::Aes128Ccm, Mac::Aead, Hash::Sha256, false),
    s(0xc09f, "TLS_DHE_RSA_WITH_AES_256_CCM", KeyExchange::Dhe, Cipher::Aes256Ccm, Mac::Aead, Hash::Sha256, false),
    s(0xc0a0, "TLS_RSA_WITH_AES_128_CCM_8", KeyExchange::Rsa, Cipher::Aes128Ccm8, Mac::Aead, Hash::Sha256, false),
    s(0xc0a1, "TLS_RSA_WITH_AES_256_CCM_8", KeyExchange::Rsa, Cipher::Aes256Ccm8, Mac::Aead, Hash::Sha256, false),
    s(0xc0a2, "TLS_DHE_RSA_WITH_AES_128_CCM_8", KeyExchange::Dhe, Cipher::Aes128Ccm8, Mac::Aead, Hash::Sha256, false),
    s(0xc0a3, "TLS_DHE_RSA_WITH_AES_256_CCM_8", KeyExchange::Dhe, Cipher::Aes256Ccm8, Mac::Aead, Hash::Sha256, false),
    s(0xc0a4, "TLS_PSK_WITH_AES_128_CCM", KeyExchange::Psk, Cipher::Aes128Ccm, Mac::Aead, Hash::Sha256, false),
    s(0xc0a5, "TLS_PSK_WITH_AES_256_CCM", KeyExchange::Psk, Cipher::Aes256Ccm, Mac::Aead, Hash::Sha256, false),
    s(0xc0a6, "TLS_DHE_PSK_WITH_AES_128_CCM", KeyExchange::DhePsk, Cipher::Aes128Ccm, Mac::Aead, Hash::Sha256, false),
    s(0xc0a7, "TLS_DHE_PSK_WITH_AES_256_CCM", KeyExchange::DhePsk, Cipher::Aes256Ccm, Mac::Aead, Hash::Sha256, false),
    s(0xc0a8, "TLS_PSK_WITH_AES_128_CCM_8", KeyExchange::Psk, Cipher::Aes128Ccm8, Mac::Aead, Hash::Sha256, false),
    s(0xc0a9, "TLS_PSK_WITH_AES_256_CCM_8", KeyExchange::Psk, Cipher::Aes256Ccm8, Mac::Aead, Hash::Sha256, false),
    s(0xc0aa, "TLS_PSK_DHE_WITH_AES_128_CCM_8", KeyExchange::DhePsk, Cipher::Aes128Ccm8, Mac::Aead, Hash::Sha256, false),
    s(0xc0ab, "TLS_PSK_DHE_WITH_AES_256_CCM_8", KeyExchange::DhePsk, Cipher::Aes256Ccm8, Mac::Aead, Hash::Sha256, false),
    s(0xc0ac, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", KeyExchange::Ecdhe, Cipher::Aes128Ccm, Mac::Aead, Hash::Sha256, false),
    s(0xc0ad, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM", KeyExchange::Ecdhe, Cipher::Aes256Ccm, Mac::Aead, Hash::Sha256, false),
    s(0xc0ae, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8", KeyExchange::Ecdhe, Cipher::Aes128Ccm8, Mac::Aead, Hash::Sha256, false),
    s(0xc0af, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8", KeyExchange::Ecdhe, Cipher::Aes256Ccm8, Mac::Aead, Hash::Sha256, false),
    s(0xc0b0, "TLS_ECCPWD_WITH_AES_128_GCM_SHA256", KeyExchange::Other, Cipher::Aes128Gcm, Mac::Aead, Hash::Sha256, false),
    s(0xc0b1, "TLS_ECCPWD_WITH_AES_256_GCM_SHA384", KeyExchange::Other, Cipher::Aes256Gcm, Mac::Aead, Hash::Sha384, false),
    s(0xc0b2, "TLS_ECCPWD_WITH_AES_128_CCM_SHA256", KeyExchange::Other, Cipher::Aes128Ccm, Mac::Aead, Hash::Sha256, false),
    s(0xc0b3, "TLS_ECCPWD_WITH_AES_256_CCM_SHA384", KeyExchange::Other, Cipher::Aes256Ccm, Mac::Aead, Hash::Sha384, false),
    s(0xc0b4, "TLS_SHA256_SHA256", KeyExchange::Tls13, Cipher::Other, Mac::Sha256, Hash::Sha256, false),
    s(0xc0b5, "TLS_SHA384_SHA384", KeyExchange::Tls13, Cipher::Other, Mac::Sha384, Hash::Sha384, false),
    s(0xc100, "TLS_GOSTR341112_256_WITH_KUZNYECHIK_CTR_OMAC", KeyExchange::Other, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc101, "TLS_GOSTR341112_256_WITH_MAGMA_CTR_OMAC", KeyExchange::Other, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc102, "TLS_GOSTR341112_256_WITH_28147_CNT_IMIT", KeyExchange::Other, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc103, "TLS_GOSTR341112_256_WITH_KUZNYECHIK_MGM_L", KeyExchange::Other, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc104, "TLS_GOSTR341112_256_WITH_MAGMA_MGM_L", KeyExchange::Other, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc105, "TLS_GOSTR341112_256_WITH_KUZNYECHIK_MGM_S", KeyExchange::Other, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xc106, "TLS_GOSTR341112_256_WITH_MAGMA_MGM_S", KeyExchange::Other, Cipher::Other, Mac::Aead, Hash::Sha256, false),
    s(0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", KeyExchange::Ecdhe, Cipher::Chacha20Poly1305, Mac::Aead, Hash::Sha256, false),
    s(0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", KeyExchange::Ecdhe, Cipher::Chacha20Poly1305, Mac::Aead, Hash::Sha256, false),
    s(0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", KeyExchange::Dhe, Cipher::Chacha20Poly1305, Mac::Aead, Hash::Sha256, false),
    s(0xccab, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256", KeyExchange::Psk, Cipher::Chacha20Poly1305, Mac::Aead, Hash::Sha256, false),
    s(0xccac, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256", KeyExchange::EcdhePsk, Cipher::Chacha20Poly1305, Mac::Aead, Hash::Sha256, false),
    s(0xccad, "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256", KeyExchange::DhePsk, Cipher::Chacha20Poly1305, Mac::Aead, Hash::Sha256, false),
    s(0xccae, "TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256", KeyExchange::RsaPsk, Cipher::Chacha20Poly1305, Mac::Aead, Hash::Sha256, false),
    s(0xd001, "TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256", KeyExchange::EcdhePsk, Cipher::Aes128Gcm, Mac::Aead, Hash::Sha256, false),
    s(0xd002, "TLS_ECDHE_PSK_WITH_AES_256_GCM_SHA384", KeyExchange::EcdhePsk, Cipher::Aes256Gcm, Mac::Aead, Hash::Sha384, false),
    s(0xd003, "TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256", KeyExchange::EcdhePsk, Cipher::Aes128Ccm8, Mac::Aead, Hash::Sha256, false),
    s(0xd005, "TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256", KeyExchange::EcdhePsk, Cipher::Aes128Ccm, Mac::Aead, Hash::Sha256, false),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(SUITES.windows(2).all(|w| w[0].id < w[1].id));
    }

    #[test]
    fn lookups_match_iana() {
        // IANA TLS Cipher Suites registry.
        let s = suite(0xc02f).unwrap();
        assert_eq!(s.name, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assert_eq!(
            (s.kx, s.cipher, s.mac, s.prf),
            (
                KeyExchange::Ecdhe,
                Cipher::Aes128Gcm,
                Mac::Aead,
                Hash::Sha256
            )
        );
        let s = suite(0x1302).unwrap();
        assert_eq!(s.name, "TLS_AES_256_GCM_SHA384");
        assert_eq!(s.prf, Hash::Sha384);
        let s = suite(0x0003).unwrap();
        assert!(s.export);
        assert_eq!((s.cipher, s.mac), (Cipher::Rc4_40, Mac::Md5));
        assert_eq!(suite(0xc0a0).unwrap().cipher, Cipher::Aes128Ccm8);
        assert_eq!(suite(0x1305).unwrap().cipher, Cipher::Aes128Ccm8);
        assert_eq!(suite(0xc028).unwrap().mac, Mac::Sha384);
        assert_eq!(suite(0x0096).unwrap().cipher, Cipher::SeedCbc);
        assert_eq!(suite(0xcca8).unwrap().kx, KeyExchange::Ecdhe);
        assert_eq!(suite_name(0x0a0a), "0x0a0a");
        assert_eq!(suite_name(0x002f), "TLS_RSA_WITH_AES_128_CBC_SHA");
    }

    #[test]
    fn versions() {
        for v in [
            Version::Ssl30,
            Version::Tls10,
            Version::Tls11,
            Version::Tls12,
            Version::Tls13,
        ] {
            assert_eq!(Version::from_wire(v.wire()), Some(v));
        }
        assert_eq!(
            Version::from_wire(0x0304).map(Version::name),
            Some("TLS 1.3")
        );
        assert_eq!(Version::from_wire(0x0200), None);
        assert_eq!(Version::from_wire(0xfefd), None);
    }

    #[test]
    fn cipher_parameters() {
        assert_eq!(Cipher::Aes128Gcm.fixed_iv_len(), 4);
        assert_eq!(Cipher::Chacha20Poly1305.fixed_iv_len(), 12);
        assert_eq!(Cipher::TripleDesCbc.fixed_iv_len(), 8);
        assert_eq!(Cipher::Rc4_128.fixed_iv_len(), 0);
        assert_eq!(Cipher::Aes256Ccm8.tag_len(), 8);
        assert!(!Cipher::Aes128Cbc.is_aead());
        assert_eq!(Cipher::Des40Cbc.key_len(), 5);
        assert_eq!(Cipher::Des40Cbc.final_key_len(), 8);
        assert!(SUITES
            .iter()
            .filter(|s| s.cipher.is_aead())
            .all(|s| s.mac == Mac::Aead));
    }
}
