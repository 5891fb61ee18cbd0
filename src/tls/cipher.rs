//! Per-direction record decryption for SSL 3.0 and TLS 1.0-1.3.
//!
//! CBC is done by hand on top of the block ciphers (ECB decryption of the whole record, then one
//! XOR pass with the previous ciphertext blocks): the same code serves the implicit IV chain of
//! SSL 3.0 / TLS 1.0 and the explicit IV of TLS 1.1+, and AES keeps its parallel decryption.

use aes::cipher::{Block, BlockCipherDecrypt, KeyInit, StreamCipher};
use aes_gcm::aead::inout::InOutBuf;
use aes_gcm::aead::{AeadInOut, Nonce, Tag};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use ccm::consts::{U12, U16, U8};
use ccm::Ccm;
use chacha20poly1305::ChaCha20Poly1305;
use hmac::Hmac;
use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::{Sha256, Sha384};

use super::seed::Seed;
use super::suites::{Cipher, Mac, Suite, Version};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Bad AEAD tag, MAC or padding.
    #[error("authentication failed (bad tag, MAC or padding)")]
    Auth,
    /// Record too short, wrong length for the cipher, bad key length, ...
    #[error("malformed record: {0}")]
    Malformed(String),
}

/// Decrypts the records of ONE direction, in order (keeps the sequence number, CBC IV chaining
/// for SSL3/TLS1.0, RC4 state).
pub struct RecordDecryptor {
    version: Version,
    seq: u64,
    protection: Protection,
}

enum Protection {
    /// RC4 or NULL encryption, MAC after the content.
    Stream {
        rc4: Option<Box<rc4::Rc4>>,
        mac: RecordMac,
    },
    Cbc {
        cipher: BlockCipher,
        /// Last ciphertext block: the IV of the next record for SSL 3.0 / TLS 1.0.
        chain: [u8; 16],
        explicit_iv: bool,
        mac: RecordMac,
        encrypt_then_mac: bool,
    },
    /// TLS 1.2 AEAD: GCM/CCM with a 4-byte salt and an 8-byte explicit nonce per record, or
    /// ChaCha20-Poly1305 with a 12-byte IV XORed with the sequence number (RFC 7905).
    Aead12 {
        aead: AeadCipher,
        iv: [u8; 12],
        explicit_nonce: bool,
    },
    /// TLS 1.3: nonce = IV XOR sequence number, AAD = record header.
    Aead13 { aead: AeadCipher, iv: [u8; 12] },
}

impl RecordDecryptor {
    /// SSL3 / TLS 1.0-1.2. `encrypt_then_mac` = RFC 7366 negotiated (applies to CBC only).
    /// `key` is the final write key (after the export derivation), `iv` the key-block IV (CBC:
    /// used by SSL 3.0 / TLS 1.0 only; GCM/CCM: 4-byte salt; ChaCha20: 12 bytes).
    pub fn new(
        version: Version,
        suite: &Suite,
        mac_key: &[u8],
        key: &[u8],
        iv: &[u8],
        encrypt_then_mac: bool,
    ) -> Result<RecordDecryptor, DecryptError> {
        if version == Version::Tls13 {
            return Err(DecryptError::Unsupported(
                "TLS 1.3 records need RecordDecryptor::new_tls13".into(),
            ));
        }
        let cipher = suite.cipher;
        let protection = match cipher {
            Cipher::Other => {
                return Err(DecryptError::Unsupported(format!(
                    "cipher of {}",
                    suite.name
                )))
            }
            Cipher::Null | Cipher::Rc4_40 | Cipher::Rc4_128 => {
                let rc4 = if cipher == Cipher::Null {
                    None
                } else {
                    Some(Box::new(
                        rc4::Rc4::new_from_slice(key).map_err(|_| bad_key(key))?,
                    ))
                };
                Protection::Stream {
                    rc4,
                    mac: RecordMac::new(version, suite.mac, mac_key)?,
                }
            }
            _ if cipher.is_aead() => {
                let aead = AeadCipher::new(cipher, key)?;
                let explicit_nonce = cipher != Cipher::Chacha20Poly1305;
                let want = if explicit_nonce { 4 } else { 12 };
                if iv.len() != want {
                    return Err(DecryptError::Malformed(format!(
                        "{cipher:?} needs a {want}-byte IV, got {}",
                        iv.len()
                    )));
                }
                let mut fixed = [0u8; 12];
                fixed[..want].copy_from_slice(iv);
                Protection::Aead12 {
                    aead,
                    iv: fixed,
                    explicit_nonce,
                }
            }
            _ => {
                let block_cipher = BlockCipher::new(cipher, key)?;
                let bs = block_cipher.block_len();
                let explicit_iv = version >= Version::Tls11;
                let mut chain = [0u8; 16];
                if !explicit_iv {
                    let Some(first) = iv.get(..bs) else {
                        return Err(DecryptError::Malformed(format!(
                            "{cipher:?} needs a {bs}-byte IV, got {}",
                            iv.len()
                        )));
                    };
                    chain[..bs].copy_from_slice(first);
                }
                Protection::Cbc {
                    cipher: block_cipher,
                    chain,
                    explicit_iv,
                    mac: RecordMac::new(version, suite.mac, mac_key)?,
                    encrypt_then_mac,
                }
            }
        };
        Ok(RecordDecryptor {
            version,
            seq: 0,
            protection,
        })
    }

    /// TLS 1.3 (nonce = iv XOR seq; AAD = record header). `key`/`iv` from
    /// [`crate::tls::prf::tls13_keys`].
    pub fn new_tls13(
        suite: &Suite,
        key: &[u8],
        iv: &[u8],
    ) -> Result<RecordDecryptor, DecryptError> {
        if !suite.cipher.is_aead() {
            return Err(DecryptError::Unsupported(format!(
                "{} in TLS 1.3",
                suite.name
            )));
        }
        let aead = AeadCipher::new(suite.cipher, key)?;
        let iv: [u8; 12] = iv.try_into().map_err(|_| {
            DecryptError::Malformed(format!("TLS 1.3 needs a 12-byte IV, got {}", iv.len()))
        })?;
        Ok(RecordDecryptor {
            version: Version::Tls13,
            seq: 0,
            protection: Protection::Aead13 { aead, iv },
        })
    }

    /// The sequence number of the next record.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// `header` = the 5-byte record header as on the wire, `fragment` = the record body.
    /// Writes the plaintext to `out` (cleared first). Returns the content type of the plaintext
    /// (TLS 1.3: the inner type after removing zero padding; otherwise header[0]). Verifies MAC
    /// / tag / padding (not in constant time: this is offline analysis). Increments the sequence
    /// number on success AND on failure. On failure `out` is left empty.
    pub fn decrypt(
        &mut self,
        header: &[u8; 5],
        fragment: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<u8, DecryptError> {
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        let result = self.decrypt_seq(seq, header, fragment, out);
        if result.is_err() {
            out.clear();
        }
        result
    }

    fn decrypt_seq(
        &mut self,
        seq: u64,
        header: &[u8; 5],
        fragment: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<u8, DecryptError> {
        let version = self.version;
        let content_type = header[0];
        match &mut self.protection {
            Protection::Stream { rc4, mac } => {
                out.clear();
                out.extend_from_slice(fragment);
                // Run the keystream before any length check so that the RC4 state stays in
                // step with the sender even for a broken record.
                if let Some(rc4) = rc4 {
                    rc4.apply_keystream(out);
                }
                let content_len = out
                    .len()
                    .checked_sub(mac.len())
                    .ok_or_else(|| too_short(fragment.len(), mac.len()))?;
                let (content, received) = out.split_at(content_len);
                mac.verify(version, seq, header, content, received)?;
                out.truncate(content_len);
                Ok(content_type)
            }
            Protection::Cbc {
                cipher,
                chain,
                explicit_iv,
                mac,
                encrypt_then_mac,
            } => {
                let mac_len = mac.len();
                let ciphertext = if *encrypt_then_mac {
                    let ct_len = fragment
                        .len()
                        .checked_sub(mac_len)
                        .ok_or_else(|| too_short(fragment.len(), mac_len))?;
                    let (ct, received) = fragment.split_at(ct_len);
                    mac.verify(version, seq, header, ct, received)?;
                    ct
                } else {
                    fragment
                };
                out.clear();
                cbc_decrypt(cipher, chain, *explicit_iv, ciphertext, out)?;
                let Some(&pad) = out.last() else {
                    return Err(too_short(fragment.len(), cipher.block_len()));
                };
                let pad_len = usize::from(pad) + 1;
                let trailer = if *encrypt_then_mac {
                    pad_len
                } else {
                    pad_len + mac_len
                };
                if trailer > out.len() {
                    return Err(DecryptError::Auth);
                }
                let padding = &out[out.len() - pad_len..out.len() - 1];
                let padding_ok = if version == Version::Ssl30 {
                    // SSL 3.0 padding bytes are arbitrary; only its length is bounded.
                    pad_len <= cipher.block_len()
                } else {
                    padding.iter().all(|&b| b == pad)
                };
                if !padding_ok {
                    return Err(DecryptError::Auth);
                }
                let content_len = out.len() - trailer;
                if !*encrypt_then_mac {
                    let (content, rest) = out.split_at(content_len);
                    mac.verify(version, seq, header, content, &rest[..mac_len])?;
                }
                out.truncate(content_len);
                Ok(content_type)
            }
            Protection::Aead12 {
                aead,
                iv,
                explicit_nonce,
            } => {
                let tag_len = aead.tag_len();
                let nonce_len = if *explicit_nonce { 8 } else { 0 };
                let ct_len = fragment
                    .len()
                    .checked_sub(nonce_len + tag_len)
                    .ok_or_else(|| too_short(fragment.len(), nonce_len + tag_len))?;
                let mut nonce = *iv;
                if *explicit_nonce {
                    nonce[4..].copy_from_slice(&fragment[..8]);
                } else {
                    xor_seq(&mut nonce, seq);
                }
                let ct = &fragment[nonce_len..nonce_len + ct_len];
                let tag = &fragment[nonce_len + ct_len..];
                let plain_len = u16::try_from(ct_len)
                    .map_err(|_| DecryptError::Malformed(format!("{ct_len}-byte record")))?;
                let mut aad = [0u8; 13];
                aad[..8].copy_from_slice(&seq.to_be_bytes());
                aad[8..11].copy_from_slice(&header[..3]);
                aad[11..].copy_from_slice(&plain_len.to_be_bytes());
                aead.open(&nonce, &aad, ct, sized(out, ct_len), tag)?;
                Ok(content_type)
            }
            Protection::Aead13 { aead, iv } => {
                let tag_len = aead.tag_len();
                let ct_len = fragment
                    .len()
                    .checked_sub(tag_len)
                    .ok_or_else(|| too_short(fragment.len(), tag_len))?;
                let mut nonce = *iv;
                xor_seq(&mut nonce, seq);
                aead.open(
                    &nonce,
                    header,
                    &fragment[..ct_len],
                    sized(out, ct_len),
                    &fragment[ct_len..],
                )?;
                // TLSInnerPlaintext: content, content type, zero padding.
                let Some(type_at) = out.iter().rposition(|&b| b != 0) else {
                    return Err(DecryptError::Malformed(
                        "TLS 1.3 record without a content type".into(),
                    ));
                };
                let inner_type = out[type_at];
                out.truncate(type_at);
                Ok(inner_type)
            }
        }
    }
}

/// `out` at length `len`, for a record to be decrypted straight into it: its bytes are
/// overwritten, so only the part beyond its previous length is zeroed (copying each record
/// in first, to decrypt it in place, was a pass over every decrypted byte).
fn sized(out: &mut Vec<u8>, len: usize) -> &mut [u8] {
    if out.len() < len {
        out.resize(len, 0);
    } else {
        out.truncate(len);
    }
    out
}

fn too_short(len: usize, need: usize) -> DecryptError {
    DecryptError::Malformed(format!(
        "{len}-byte record, shorter than the {need} bytes of IV/MAC/tag"
    ))
}

fn bad_key(key: &[u8]) -> DecryptError {
    DecryptError::Malformed(format!("{}-byte key does not fit the cipher", key.len()))
}

/// XORs the big-endian sequence number into the last 8 bytes of the nonce (RFC 7905, RFC 8446).
fn xor_seq(nonce: &mut [u8; 12], seq: u64) {
    for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
        *n ^= s;
    }
}

/// CBC-decrypts `ciphertext` (with its explicit IV first when `explicit_iv`) into `out`,
/// updating the chained IV.
fn cbc_decrypt(
    cipher: &BlockCipher,
    chain: &mut [u8; 16],
    explicit_iv: bool,
    ciphertext: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), DecryptError> {
    let bs = cipher.block_len();
    let (iv, body) = if explicit_iv {
        if ciphertext.len() < bs {
            return Err(too_short(ciphertext.len(), bs));
        }
        ciphertext.split_at(bs)
    } else {
        (&chain[..bs], ciphertext)
    };
    if body.is_empty() || body.len() % bs != 0 {
        return Err(DecryptError::Malformed(format!(
            "{}-byte CBC ciphertext is not a positive multiple of the {bs}-byte block",
            body.len()
        )));
    }
    out.extend_from_slice(body);
    cipher.decrypt_blocks(out);
    for (o, i) in out[..bs].iter_mut().zip(iv) {
        *o ^= i;
    }
    for (o, c) in out[bs..].iter_mut().zip(body) {
        *o ^= c;
    }
    chain[..bs].copy_from_slice(&body[body.len() - bs..]);
    Ok(())
}

/// The CBC block ciphers, boxed where the key schedule is large.
enum BlockCipher {
    Aes128(Box<aes::Aes128Dec>),
    Aes256(Box<aes::Aes256Dec>),
    Camellia128(Box<camellia::Camellia128>),
    Camellia256(Box<camellia::Camellia256>),
    Des(Box<des::Des>),
    TripleDes(Box<des::TdesEde3>),
    Idea(Box<idea::Idea>),
    Rc2(Box<rc2::Rc2>),
    Seed(Box<Seed>),
}

impl BlockCipher {
    fn new(cipher: Cipher, key: &[u8]) -> Result<BlockCipher, DecryptError> {
        fn init<C: KeyInit>(key: &[u8]) -> Result<Box<C>, DecryptError> {
            C::new_from_slice(key)
                .map(Box::new)
                .map_err(|_| bad_key(key))
        }
        Ok(match cipher {
            Cipher::Aes128Cbc => BlockCipher::Aes128(init(key)?),
            Cipher::Aes256Cbc => BlockCipher::Aes256(init(key)?),
            Cipher::Camellia128Cbc => BlockCipher::Camellia128(init(key)?),
            Cipher::Camellia256Cbc => BlockCipher::Camellia256(init(key)?),
            Cipher::DesCbc | Cipher::Des40Cbc => BlockCipher::Des(init(key)?),
            Cipher::TripleDesCbc => BlockCipher::TripleDes(init(key)?),
            Cipher::IdeaCbc => BlockCipher::Idea(init(key)?),
            // RC2 with an effective key length equal to the key length (what OpenSSL uses for
            // the 16-byte final export key).
            Cipher::Rc2Cbc40 => BlockCipher::Rc2(init(key)?),
            Cipher::SeedCbc => {
                let key: &[u8; 16] = key.try_into().map_err(|_| bad_key(key))?;
                BlockCipher::Seed(Box::new(Seed::new(key)))
            }
            other => {
                return Err(DecryptError::Unsupported(format!(
                    "{other:?} is not a CBC cipher"
                )))
            }
        })
    }

    fn block_len(&self) -> usize {
        match self {
            BlockCipher::Des(_)
            | BlockCipher::TripleDes(_)
            | BlockCipher::Idea(_)
            | BlockCipher::Rc2(_) => 8,
            _ => 16,
        }
    }

    /// ECB-decrypts whole blocks in place (`data.len()` is a multiple of the block size).
    fn decrypt_blocks(&self, data: &mut [u8]) {
        fn run<C: BlockCipherDecrypt>(c: &C, data: &mut [u8]) {
            let (blocks, _) = Block::<C>::slice_as_chunks_mut(data);
            c.decrypt_blocks(blocks);
        }
        match self {
            BlockCipher::Aes128(c) => run(&**c, data),
            BlockCipher::Aes256(c) => run(&**c, data),
            BlockCipher::Camellia128(c) => run(&**c, data),
            BlockCipher::Camellia256(c) => run(&**c, data),
            BlockCipher::Des(c) => run(&**c, data),
            BlockCipher::TripleDes(c) => run(&**c, data),
            BlockCipher::Idea(c) => run(&**c, data),
            BlockCipher::Rc2(c) => run(&**c, data),
            BlockCipher::Seed(c) => {
                for block in data.chunks_exact_mut(16) {
                    if let Ok(block) = <&mut [u8; 16]>::try_from(block) {
                        c.decrypt_block(block);
                    }
                }
            }
        }
    }
}

enum AeadCipher {
    Aes128Gcm(Box<Aes128Gcm>),
    Aes256Gcm(Box<Aes256Gcm>),
    Chacha20Poly1305(Box<ChaCha20Poly1305>),
    Aes128Ccm(Box<Ccm<aes::Aes128, U16, U12>>),
    Aes256Ccm(Box<Ccm<aes::Aes256, U16, U12>>),
    Aes128Ccm8(Box<Ccm<aes::Aes128, U8, U12>>),
    Aes256Ccm8(Box<Ccm<aes::Aes256, U8, U12>>),
}

impl AeadCipher {
    fn new(cipher: Cipher, key: &[u8]) -> Result<AeadCipher, DecryptError> {
        fn init<C: KeyInit>(key: &[u8]) -> Result<Box<C>, DecryptError> {
            C::new_from_slice(key)
                .map(Box::new)
                .map_err(|_| bad_key(key))
        }
        Ok(match cipher {
            Cipher::Aes128Gcm => AeadCipher::Aes128Gcm(init(key)?),
            Cipher::Aes256Gcm => AeadCipher::Aes256Gcm(init(key)?),
            Cipher::Chacha20Poly1305 => AeadCipher::Chacha20Poly1305(init(key)?),
            Cipher::Aes128Ccm => AeadCipher::Aes128Ccm(init(key)?),
            Cipher::Aes256Ccm => AeadCipher::Aes256Ccm(init(key)?),
            Cipher::Aes128Ccm8 => AeadCipher::Aes128Ccm8(init(key)?),
            Cipher::Aes256Ccm8 => AeadCipher::Aes256Ccm8(init(key)?),
            other => {
                return Err(DecryptError::Unsupported(format!(
                    "{other:?} is not an AEAD"
                )))
            }
        })
    }

    fn tag_len(&self) -> usize {
        match self {
            AeadCipher::Aes128Ccm8(_) | AeadCipher::Aes256Ccm8(_) => 8,
            _ => 16,
        }
    }

    /// Decrypts `ct` into `out` (of the same length) and checks `tag`.
    fn open(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        ct: &[u8],
        out: &mut [u8],
        tag: &[u8],
    ) -> Result<(), DecryptError> {
        fn run<A: AeadInOut>(
            a: &A,
            nonce: &[u8; 12],
            aad: &[u8],
            ct: &[u8],
            out: &mut [u8],
            tag: &[u8],
        ) -> Result<(), DecryptError> {
            let nonce = Nonce::<A>::try_from(&nonce[..])
                .map_err(|_| DecryptError::Malformed("nonce size".into()))?;
            let tag =
                Tag::<A>::try_from(tag).map_err(|_| DecryptError::Malformed("tag size".into()))?;
            let buf = InOutBuf::new(ct, out)
                .map_err(|_| DecryptError::Malformed("plaintext buffer size".into()))?;
            a.decrypt_inout_detached(&nonce, aad, buf, &tag)
                .map_err(|_| DecryptError::Auth)
        }
        match self {
            AeadCipher::Aes128Gcm(a) => run(&**a, nonce, aad, ct, out, tag),
            AeadCipher::Aes256Gcm(a) => run(&**a, nonce, aad, ct, out, tag),
            AeadCipher::Chacha20Poly1305(a) => run(&**a, nonce, aad, ct, out, tag),
            AeadCipher::Aes128Ccm(a) => run(&**a, nonce, aad, ct, out, tag),
            AeadCipher::Aes256Ccm(a) => run(&**a, nonce, aad, ct, out, tag),
            AeadCipher::Aes128Ccm8(a) => run(&**a, nonce, aad, ct, out, tag),
            AeadCipher::Aes256Ccm8(a) => run(&**a, nonce, aad, ct, out, tag),
        }
    }
}

/// The record MAC of MAC-then-encrypt / encrypt-then-MAC / stream suites.
enum RecordMac {
    None,
    /// SSL 3.0: hash(secret + pad_2 + hash(secret + pad_1 + seq + type + length + content)).
    Ssl3 {
        md5: bool,
        secret: Vec<u8>,
    },
    Md5(Box<Hmac<Md5>>),
    Sha1(Box<Hmac<Sha1>>),
    Sha256(Box<Hmac<Sha256>>),
    Sha384(Box<Hmac<Sha384>>),
}

impl RecordMac {
    fn new(version: Version, mac: Mac, key: &[u8]) -> Result<RecordMac, DecryptError> {
        fn init<M: KeyInit>(key: &[u8]) -> Result<Box<M>, DecryptError> {
            // HMAC takes keys of any length.
            <M as KeyInit>::new_from_slice(key)
                .map(Box::new)
                .map_err(|_| bad_key(key))
        }
        Ok(match (version, mac) {
            (_, Mac::Null) => RecordMac::None,
            (_, Mac::Aead) => {
                return Err(DecryptError::Unsupported(
                    "AEAD MAC on a non-AEAD cipher".into(),
                ))
            }
            (Version::Ssl30, Mac::Md5 | Mac::Sha1) => RecordMac::Ssl3 {
                md5: mac == Mac::Md5,
                secret: key.to_vec(),
            },
            (Version::Ssl30, _) => {
                return Err(DecryptError::Unsupported(format!("{mac:?} MAC in SSL 3.0")))
            }
            (_, Mac::Md5) => RecordMac::Md5(init(key)?),
            (_, Mac::Sha1) => RecordMac::Sha1(init(key)?),
            (_, Mac::Sha256) => RecordMac::Sha256(init(key)?),
            (_, Mac::Sha384) => RecordMac::Sha384(init(key)?),
        })
    }

    fn len(&self) -> usize {
        match self {
            RecordMac::None => 0,
            RecordMac::Ssl3 { md5: true, .. } | RecordMac::Md5(_) => 16,
            RecordMac::Ssl3 { md5: false, .. } | RecordMac::Sha1(_) => 20,
            RecordMac::Sha256(_) => 32,
            RecordMac::Sha384(_) => 48,
        }
    }

    /// Checks `received` against the MAC of `data` (seq, type and version from the header,
    /// length = `data.len()`).
    fn verify(
        &self,
        version: Version,
        seq: u64,
        header: &[u8; 5],
        data: &[u8],
        received: &[u8],
    ) -> Result<(), DecryptError> {
        let len = u16::try_from(data.len())
            .map_err(|_| DecryptError::Malformed(format!("{}-byte record", data.len())))?;
        // seq_num(8) type(1) version(2) length(2); SSL 3.0 has no version field.
        let mut pseudo = [0u8; 13];
        pseudo[..8].copy_from_slice(&seq.to_be_bytes());
        pseudo[8] = header[0];
        let pseudo: &[u8] = if version == Version::Ssl30 {
            pseudo[9..11].copy_from_slice(&len.to_be_bytes());
            &pseudo[..11]
        } else {
            pseudo[9..11].copy_from_slice(&header[1..3]);
            pseudo[11..13].copy_from_slice(&len.to_be_bytes());
            &pseudo[..]
        };
        fn hmac<M: hmac::Mac + Clone>(
            base: &M,
            pseudo: &[u8],
            data: &[u8],
            received: &[u8],
        ) -> bool {
            let mut m = base.clone();
            m.update(pseudo);
            m.update(data);
            m.finalize().into_bytes()[..] == *received
        }
        fn ssl3<D: Digest>(
            secret: &[u8],
            pad: usize,
            pseudo: &[u8],
            data: &[u8],
            received: &[u8],
        ) -> bool {
            let inner = D::new()
                .chain_update(secret)
                .chain_update(&[0x36; 48][..pad])
                .chain_update(pseudo)
                .chain_update(data)
                .finalize();
            let outer = D::new()
                .chain_update(secret)
                .chain_update(&[0x5c; 48][..pad])
                .chain_update(inner)
                .finalize();
            outer[..] == *received
        }
        let ok = match self {
            RecordMac::None => received.is_empty(),
            RecordMac::Ssl3 { md5: true, secret } => {
                ssl3::<Md5>(secret, 48, pseudo, data, received)
            }
            RecordMac::Ssl3 { md5: false, secret } => {
                ssl3::<Sha1>(secret, 40, pseudo, data, received)
            }
            RecordMac::Md5(m) => hmac(&**m, pseudo, data, received),
            RecordMac::Sha1(m) => hmac(&**m, pseudo, data, received),
            RecordMac::Sha256(m) => hmac(&**m, pseudo, data, received),
            RecordMac::Sha384(m) => hmac(&**m, pseudo, data, received),
        };
        if ok {
            Ok(())
        } else {
            Err(DecryptError::Auth)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::prf::tls13_keys;
    use crate::tls::suites::suite;
    use crate::tls::test_hex::hex;
    use proptest::prelude::*;

    // RFC 8448 §3 (Simple 1-RTT Handshake): the server's encrypted handshake flight
    // (EncryptedExtensions, Certificate, CertificateVerify, Finished) under the server
    // handshake key/IV derived from server_handshake_traffic_secret.
    const RFC8448_SERVER_HS_SECRET: &str =
        "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38";
    const RFC8448_SERVER_HS_RECORD: &str = "
        17 03 03 02 a2 d1 ff 33 4a 56 f5 bf f6 59 4a 07 cc 87 b5 80 23 3f 50 0f
        45 e4 89 e7 f3 3a f3 5e df 78 69 fc f4 0a a4 0a a2 b8 ea 73 f8 48 a7 ca
        07 61 2e f9 f9 45 cb 96 0b 40 68 90 51 23 ea 78 b1 11 b4 29 ba 91 91 cd
        05 d2 a3 89 28 0f 52 61 34 aa dc 7f c7 8c 4b 72 9d f8 28 b5 ec f7 b1 3b
        d9 ae fb 0e 57 f2 71 58 5b 8e a9 bb 35 5c 7c 79 02 07 16 cf b9 b1 18 3e
        f3 ab 20 e3 7d 57 a6 b9 d7 47 76 09 ae e6 e1 22 a4 cf 51 42 73 25 25 0c
        7d 0e 50 92 89 44 4c 9b 3a 64 8f 1d 71 03 5d 2e d6 5b 0e 3c dd 0c ba e8
        bf 2d 0b 22 78 12 cb b3 60 98 72 55 cc 74 41 10 c4 53 ba a4 fc d6 10 92
        8d 80 98 10 e4 b7 ed 1a 8f d9 91 f0 6a a6 24 82 04 79 7e 36 a6 a7 3b 70
        a2 55 9c 09 ea d6 86 94 5b a2 46 ab 66 e5 ed d8 04 4b 4c 6d e3 fc f2 a8
        94 41 ac 66 27 2f d8 fb 33 0e f8 19 05 79 b3 68 45 96 c9 60 bd 59 6e ea
        52 0a 56 a8 d6 50 f5 63 aa d2 74 09 96 0d ca 63 d3 e6 88 61 1e a5 e2 2f
        44 15 cf 95 38 d5 1a 20 0c 27 03 42 72 96 8a 26 4e d6 54 0c 84 83 8d 89
        f7 2c 24 46 1a ad 6d 26 f5 9e ca ba 9a cb bb 31 7b 66 d9 02 f4 f2 92 a3
        6a c1 b6 39 c6 37 ce 34 31 17 b6 59 62 22 45 31 7b 49 ee da 0c 62 58 f1
        00 d7 d9 61 ff b1 38 64 7e 92 ea 33 0f ae ea 6d fa 31 c7 a8 4d c3 bd 7e
        1b 7a 6c 71 78 af 36 87 90 18 e3 f2 52 10 7f 24 3d 24 3d c7 33 9d 56 84
        c8 b0 37 8b f3 02 44 da 8c 87 c8 43 f5 e5 6e b4 c5 e8 28 0a 2b 48 05 2c
        f9 3b 16 49 9a 66 db 7c ca 71 e4 59 94 26 f7 d4 61 e6 6f 99 88 2b d8 9f
        c5 08 00 be cc a6 2d 6c 74 11 6d bd 29 72 fd a1 fa 80 f8 5d f8 81 ed be
        5a 37 66 89 36 b3 35 58 3b 59 91 86 dc 5c 69 18 a3 96 fa 48 a1 81 d6 b6
        fa 4f 9d 62 d5 13 af bb 99 2f 2b 99 2f 67 f8 af e6 7f 76 91 3f a3 88 cb
        56 30 c8 ca 01 e0 c6 5d 11 c6 6a 1e 2a c4 c8 59 77 b7 c7 a6 99 9b bf 10
        dc 35 ae 69 f5 51 56 14 63 6c 0b 9b 68 c1 9e d2 e3 1c 0b 3b 66 76 30 38
        eb ba 42 f3 b3 8e dc 03 99 f3 a9 f2 3f aa 63 97 8c 31 7f c9 fa 66 a7 3f
        60 f0 50 4d e9 3b 5b 84 5e 27 55 92 c1 23 35 ee 34 0b bc 4f dd d5 02 78
        40 16 e4 b3 be 7e f0 4d da 49 f4 b4 40 a3 0c b5 d2 af 93 98 28 fd 4a e3
        79 4e 44 f9 4d f5 a6 31 ed e4 2c 17 19 bf da bf 02 53 fe 51 75 be 89 8e
        75 0e dc 53 37 0d 2b";

    fn rfc8448_decryptor() -> RecordDecryptor {
        let s = suite(0x1301).unwrap();
        let (key, iv) = tls13_keys(s, &hex(RFC8448_SERVER_HS_SECRET));
        RecordDecryptor::new_tls13(s, &key, &iv).unwrap()
    }

    #[test]
    fn rfc8448_server_handshake_record() {
        let record = hex(RFC8448_SERVER_HS_RECORD);
        assert_eq!(record.len(), 679);
        let header: [u8; 5] = record[..5].try_into().unwrap();
        let mut dec = rfc8448_decryptor();
        let mut out = Vec::new();
        assert_eq!(dec.decrypt(&header, &record[5..], &mut out), Ok(22));
        // 674 bytes minus the 16-byte tag and the inner content type.
        assert_eq!(out.len(), 657);
        // EncryptedExtensions (type 8) first; the flight ends with Finished (type 20,
        // 32 bytes of verify_data).
        assert_eq!(&out[..4], &[0x08, 0x00, 0x00, 0x24]);
        assert_eq!(&out[657 - 36..657 - 32], &[0x14, 0x00, 0x00, 0x20]);
        assert_eq!(dec.seq(), 1);
        // The same record at sequence 1 no longer authenticates.
        assert_eq!(
            dec.decrypt(&header, &record[5..], &mut out),
            Err(DecryptError::Auth)
        );
        assert!(out.is_empty());
        assert_eq!(dec.seq(), 2);
    }

    #[test]
    fn flipped_bytes_fail_authentication() {
        let record = hex(RFC8448_SERVER_HS_RECORD);
        let header: [u8; 5] = record[..5].try_into().unwrap();
        let mut out = Vec::new();
        for at in [5, 100, 400, record.len() - 1] {
            let mut bad = record.clone();
            bad[at] ^= 0x01;
            let mut dec = rfc8448_decryptor();
            assert_eq!(
                dec.decrypt(&header, &bad[5..], &mut out),
                Err(DecryptError::Auth)
            );
        }
        // The AAD is the header: a changed header fails too.
        let mut bad_header = header;
        bad_header[2] = 0x01;
        let mut dec = rfc8448_decryptor();
        assert_eq!(
            dec.decrypt(&bad_header, &record[5..], &mut out),
            Err(DecryptError::Auth)
        );
    }

    #[test]
    fn construction_errors() {
        let gcm = suite(0xc02f).unwrap();
        assert!(matches!(
            RecordDecryptor::new(Version::Tls12, gcm, &[], &[0; 15], &[0; 4], false),
            Err(DecryptError::Malformed(_))
        ));
        assert!(matches!(
            RecordDecryptor::new(Version::Tls12, gcm, &[], &[0; 16], &[0; 12], false),
            Err(DecryptError::Malformed(_))
        ));
        assert!(matches!(
            RecordDecryptor::new(Version::Tls13, gcm, &[], &[0; 16], &[0; 4], false),
            Err(DecryptError::Unsupported(_))
        ));
        let aria = suite(0xc03c).unwrap();
        assert!(matches!(
            RecordDecryptor::new(Version::Tls12, aria, &[0; 32], &[0; 16], &[0; 16], false),
            Err(DecryptError::Unsupported(_))
        ));
        let cbc = suite(0x002f).unwrap();
        assert!(matches!(
            RecordDecryptor::new(Version::Tls10, cbc, &[0; 20], &[0; 16], &[0; 3], false),
            Err(DecryptError::Malformed(_))
        ));
        assert!(matches!(
            RecordDecryptor::new_tls13(suite(0x1302).unwrap(), &[0; 32], &[0; 8]),
            Err(DecryptError::Malformed(_))
        ));
        assert!(matches!(
            RecordDecryptor::new_tls13(cbc, &[0; 16], &[0; 12]),
            Err(DecryptError::Unsupported(_))
        ));
    }

    /// One decryptor per supported kind of protection, with fixed arbitrary keys.
    fn all_decryptors() -> Vec<RecordDecryptor> {
        let mut v = Vec::new();
        let key = [0x42u8; 32];
        let iv = [0x24u8; 16];
        for (ver, id, etm) in [
            (Version::Ssl30, 0x0004, false), // RC4-MD5
            (Version::Ssl30, 0x000a, false), // 3DES
            (Version::Tls10, 0x002f, false), // AES-CBC implicit IV
            (Version::Tls12, 0x002f, false), // AES-CBC explicit IV
            (Version::Tls12, 0x003d, true),  // AES-256-CBC-SHA256 EtM
            (Version::Tls11, 0x0096, false), // SEED
            (Version::Tls12, 0x0041, false), // Camellia
            (Version::Tls10, 0x0007, false), // IDEA
            (Version::Tls10, 0x0006, false), // RC2 export
            (Version::Tls12, 0x003b, false), // NULL-SHA256
            (Version::Tls12, 0xc02f, false), // GCM
            (Version::Tls12, 0xcca8, false), // ChaCha20
            (Version::Tls12, 0xc0a0, false), // CCM_8
            (Version::Tls12, 0xc09c, false), // CCM
        ] {
            let s = suite(id).unwrap();
            let k = &key[..s.cipher.final_key_len()];
            let iv = &iv[..s.cipher.fixed_iv_len()];
            v.push(RecordDecryptor::new(ver, s, &key[..s.mac.len()], k, iv, etm).unwrap());
        }
        for id in [0x1301, 0x1302, 0x1303, 0x1304, 0x1305] {
            let s = suite(id).unwrap();
            v.push(RecordDecryptor::new_tls13(s, &key[..s.cipher.key_len()], &iv[..12]).unwrap());
        }
        v
    }

    #[test]
    fn empty_and_tiny_fragments_are_errors() {
        let mut out = Vec::new();
        for mut dec in all_decryptors() {
            for len in [0usize, 1, 7, 8, 15, 16, 17, 24, 31] {
                let r = dec.decrypt(&[23, 3, 3, 0, len as u8], &vec![0; len], &mut out);
                assert!(r.is_err(), "{len}-byte record accepted");
                assert!(out.is_empty());
            }
        }
    }

    /// Throughput check, run with `cargo test --release -- --ignored throughput`.
    #[test]
    #[ignore]
    fn throughput_aes_gcm_16k() {
        let s = suite(0xc02f).unwrap();
        let (key, salt) = ([7u8; 16], [9u8; 4]);
        let aead = Aes128Gcm::new_from_slice(&key).unwrap();
        let n = 4096u64;
        let mut records = Vec::new();
        for seq in 0..64u64 {
            let mut body = vec![0x55u8; 16384];
            let mut nonce = [0u8; 12];
            nonce[..4].copy_from_slice(&salt);
            nonce[4..].copy_from_slice(&seq.to_be_bytes());
            let mut aad = seq.to_be_bytes().to_vec();
            aad.extend_from_slice(&[23, 3, 3, 0x40, 0x00]);
            let tag = aead
                .encrypt_inout_detached(&nonce.into(), &aad, body.as_mut_slice().into())
                .unwrap();
            let mut frag = seq.to_be_bytes().to_vec();
            frag.extend_from_slice(&body);
            frag.extend_from_slice(&tag);
            records.push(frag);
        }
        let mut dec = RecordDecryptor::new(Version::Tls12, s, &[], &key, &salt, false).unwrap();
        let mut out = Vec::new();
        let start = std::time::Instant::now();
        for i in 0..n {
            let frag = &records[(i % 64) as usize];
            let header = [23, 3, 3, (frag.len() >> 8) as u8, frag.len() as u8];
            // Sequence numbers repeat every 64 records: restart the decryptor then.
            if i % 64 == 0 {
                dec = RecordDecryptor::new(Version::Tls12, s, &[], &key, &salt, false).unwrap();
            }
            assert_eq!(dec.decrypt(&header, frag, &mut out), Ok(23));
        }
        let secs = start.elapsed().as_secs_f64();
        let gbps = (n * 16384) as f64 / secs / 1e9;
        eprintln!("AES-128-GCM TLS 1.2: {gbps:.2} GB/s");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        #[test]
        fn arbitrary_fragments_never_panic(frag in proptest::collection::vec(any::<u8>(), 0..300), hdr in any::<[u8; 5]>()) {
            let mut out = Vec::new();
            for mut dec in all_decryptors() {
                // Random bytes never authenticate (except by 2^-64 chance).
                let r = dec.decrypt(&hdr, &frag, &mut out);
                prop_assert!(r.is_err());
                prop_assert_eq!(dec.seq(), 1);
            }
        }
    }
}

/// End-to-end checks on the corpus captures with their key logs: a deliberately naive pcap
/// reader, in-order TCP reassembly and record splitter (test scaffolding only), then the
/// decrypted application-data byte counts are compared with tshark's (reference JSON).
#[cfg(test)]
mod corpus {
    use super::*;
    use crate::tls::prf::{key_block, tls13_keys, tls13_next_secret};
    use crate::tls::suites::suite;
    use crate::tls::test_hex::hex;
    use std::collections::HashMap;

    /// Link-layer frames of a pcap or pcapng file (little- or big-endian), with link type.
    fn frames(data: &[u8]) -> Vec<(u16, &[u8])> {
        let mut out = Vec::new();
        let u32_at = |b: &[u8], at: usize, be: bool| -> u32 {
            let a: [u8; 4] = b[at..at + 4].try_into().unwrap();
            if be {
                u32::from_be_bytes(a)
            } else {
                u32::from_le_bytes(a)
            }
        };
        if data[..4] == [0x0a, 0x0d, 0x0d, 0x0a] {
            let be = data[8..12] == [0x1a, 0x2b, 0x3c, 0x4d];
            let mut links = Vec::new();
            let mut at = 0;
            while at + 12 <= data.len() {
                let kind = u32_at(data, at, be);
                let len = u32_at(data, at + 4, be) as usize;
                let block = &data[at..at + len];
                match kind {
                    0x0a0d0d0a => links.clear(),
                    1 => links.push(if be {
                        u16::from_be_bytes([block[8], block[9]])
                    } else {
                        u16::from_le_bytes([block[8], block[9]])
                    }),
                    6 => {
                        let iface = u32_at(block, 8, be) as usize;
                        let cap = u32_at(block, 20, be) as usize;
                        out.push((links[iface], &block[28..28 + cap]));
                    }
                    3 => out.push((links[0], &block[12..len - 4])),
                    _ => {}
                }
                at += len;
            }
        } else {
            let be = data[..4] == [0xa1, 0xb2, 0xc3, 0xd4] || data[..4] == [0xa1, 0xb2, 0x3c, 0x4d];
            let link = u32_at(data, 20, be) as u16;
            let mut at = 24;
            while at + 16 <= data.len() {
                let cap = u32_at(data, at + 8, be) as usize;
                out.push((link, &data[at + 16..at + 16 + cap]));
                at += 16 + cap;
            }
        }
        out
    }

    /// (src, dst, seq, syn, payload) of a TCP segment, endpoints as "addr:port".
    fn tcp(link: u16, frame: &[u8]) -> Option<(String, String, u32, bool, &[u8])> {
        let ip = match link {
            1 => {
                let mut at = 12;
                while frame[at..at + 2] == [0x81, 0x00] {
                    at += 4;
                }
                &frame[at + 2..]
            }
            0 => &frame[4..],
            _ => return None,
        };
        let (src, dst, seg) = match ip[0] >> 4 {
            4 => {
                let ihl = usize::from(ip[0] & 15) * 4;
                let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
                if ip[9] != 6 {
                    return None;
                }
                let a = |b: &[u8]| format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3]);
                (a(&ip[12..16]), a(&ip[16..20]), &ip[ihl..total])
            }
            6 => {
                if ip[6] != 6 {
                    return None;
                }
                let len = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
                let a = |b: &[u8]| format!("{:x?}", b);
                (a(&ip[8..24]), a(&ip[24..40]), &ip[40..40 + len])
            }
            _ => return None,
        };
        let port = |at: usize| u16::from_be_bytes([seg[at], seg[at + 1]]);
        let seq = u32::from_be_bytes(seg[4..8].try_into().unwrap());
        let off = usize::from(seg[12] >> 4) * 4;
        let syn = seg[13] & 0x02 != 0;
        Some((
            format!("{src}:{}", port(0)),
            format!("{dst}:{}", port(2)),
            seq,
            syn,
            &seg[off..],
        ))
    }

    struct Conn {
        client: String,
        client_port: u16,
        data: [Vec<u8>; 2],
        next: [Option<u32>; 2],
    }

    /// TCP connections in order of appearance, each direction's bytes appended in sequence
    /// order (retransmissions dropped; these captures have no loss).
    fn connections(data: &[u8]) -> Vec<Conn> {
        let mut conns: Vec<Conn> = Vec::new();
        let mut by_key: HashMap<(String, String), (usize, usize)> = HashMap::new();
        for (link, frame) in frames(data) {
            let Some((src, dst, seq, syn, payload)) = tcp(link, frame) else {
                continue;
            };
            let (ci, dir) = match by_key.get(&(src.clone(), dst.clone())) {
                Some(&k) => k,
                None => {
                    let port = src.rsplit(':').next().unwrap().parse().unwrap();
                    conns.push(Conn {
                        client: src.clone(),
                        client_port: port,
                        data: [Vec::new(), Vec::new()],
                        next: [None, None],
                    });
                    let ci = conns.len() - 1;
                    by_key.insert((src.clone(), dst.clone()), (ci, 0));
                    by_key.insert((dst, src), (ci, 1));
                    (ci, 0)
                }
            };
            let c = &mut conns[ci];
            let start = if syn { seq.wrapping_add(1) } else { seq };
            let next = *c.next[dir].get_or_insert(start);
            let skip = next.wrapping_sub(seq) as i32;
            if skip >= 0 && (skip as usize) < payload.len() {
                c.data[dir].extend_from_slice(&payload[skip as usize..]);
                c.next[dir] = Some(next.wrapping_add((payload.len() - skip as usize) as u32));
            }
        }
        conns
    }

    fn records(stream: &[u8]) -> Vec<([u8; 5], &[u8])> {
        let mut out = Vec::new();
        let mut at = 0;
        while at + 5 <= stream.len() {
            let header: [u8; 5] = stream[at..at + 5].try_into().unwrap();
            let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
            if at + 5 + len > stream.len() {
                break;
            }
            out.push((header, &stream[at + 5..at + 5 + len]));
            at += 5 + len;
        }
        out
    }

    struct Hello {
        version: Version,
        suite: u16,
        server_random: [u8; 32],
        encrypt_then_mac: bool,
        /// 1 = DEFLATE (RFC 3749), used by OpenSSL 1.0 era captures.
        compression: u8,
    }

    fn server_hello(body: &[u8]) -> Hello {
        assert_eq!(body[0], 2, "ServerHello");
        let sh = &body[4..];
        let mut version = Version::from_wire(u16::from_be_bytes([sh[0], sh[1]])).unwrap();
        let server_random = sh[2..34].try_into().unwrap();
        let sid = usize::from(sh[34]);
        let suite = u16::from_be_bytes([sh[35 + sid], sh[36 + sid]]);
        let compression = sh[37 + sid];
        let mut encrypt_then_mac = false;
        let mut at = 38 + sid;
        if at + 2 <= sh.len() {
            let end = at + 2 + usize::from(u16::from_be_bytes([sh[at], sh[at + 1]]));
            at += 2;
            while at + 4 <= end {
                let kind = u16::from_be_bytes([sh[at], sh[at + 1]]);
                let len = usize::from(u16::from_be_bytes([sh[at + 2], sh[at + 3]]));
                match kind {
                    0x002b => version = Version::Tls13,
                    0x0016 => encrypt_then_mac = true,
                    _ => {}
                }
                at += 4 + len;
            }
        }
        Hello {
            version,
            suite,
            server_random,
            encrypt_then_mac,
            compression,
        }
    }

    /// Keylog: (label, client_random) -> secret.
    fn keylog(text: &str) -> HashMap<(String, Vec<u8>), Vec<u8>> {
        text.lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let (label, cr, secret) = (f.next()?, f.next()?, f.next()?);
                (!label.starts_with('#')).then(|| ((label.to_string(), hex(cr)), hex(secret)))
            })
            .collect()
    }

    #[derive(Debug)]
    struct Outcome {
        suite: u16,
        version: Version,
        /// Application-data plaintext bytes, client then server.
        app_bytes: [usize; 2],
        records: usize,
    }

    /// Decrypts every protected record of one connection; Err names the first failure.
    fn decrypt_connection(
        conn: &Conn,
        keys: &HashMap<(String, Vec<u8>), Vec<u8>>,
    ) -> Result<Outcome, String> {
        let client = &conn.data[0];
        let mut client_random = [0u8; 32];
        // An SSL 2.0-format ClientHello: its challenge, left-padded with zeros, is the client
        // random (RFC 5246 Appendix E.2); TLS records follow it.
        let v2_len = if client.first().is_some_and(|b| b & 0x80 != 0) {
            let len = usize::from(u16::from_be_bytes([client[0] & 0x7f, client[1]]));
            let m = &client[2..2 + len];
            let field = |at: usize| usize::from(u16::from_be_bytes([m[at], m[at + 1]]));
            let (specs, sid, challenge) = (field(3), field(5), field(7));
            let c = &m[9 + specs + sid..9 + specs + sid + challenge];
            client_random[32 - c.len()..].copy_from_slice(c);
            2 + len
        } else {
            0
        };
        let recs = [records(&client[v2_len..]), records(&conn.data[1])];
        if v2_len == 0 {
            let ch = recs[0]
                .iter()
                .find(|(h, b)| h[0] == 22 && b[0] == 1)
                .ok_or("no ClientHello")?;
            client_random = ch.1[6..38].try_into().unwrap();
        }
        let sh = recs[1]
            .iter()
            .find(|(h, b)| h[0] == 22 && b[0] == 2)
            .ok_or("no ServerHello")?;
        let hello = server_hello(sh.1);
        let s = suite(hello.suite).ok_or("unknown suite")?;
        let key = |label: &str| {
            keys.get(&(label.to_string(), client_random.to_vec()))
                .cloned()
                .ok_or(format!("no {label} in key log"))
        };
        let mut outcome = Outcome {
            suite: hello.suite,
            version: hello.version,
            app_bytes: [0, 0],
            records: 0,
        };
        let mut out = Vec::new();
        if hello.version == Version::Tls13 {
            let labels = [
                ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0"),
                ("SERVER_HANDSHAKE_TRAFFIC_SECRET", "SERVER_TRAFFIC_SECRET_0"),
            ];
            for dir in 0..2 {
                let mut secret = key(labels[dir].0)?;
                let new = |secret: &[u8]| {
                    let (k, iv) = tls13_keys(s, secret);
                    RecordDecryptor::new_tls13(s, &k, &iv)
                };
                let mut dec = new(&secret).map_err(|e| e.to_string())?;
                let mut handshake = Vec::new();
                let mut in_handshake = true;
                for (i, (header, body)) in recs[dir].iter().enumerate() {
                    if header[0] != 23 {
                        continue;
                    }
                    let inner = dec
                        .decrypt(header, body, &mut out)
                        .map_err(|e| format!("dir {dir} record {i}: {e}"))?;
                    outcome.records += 1;
                    match inner {
                        23 => outcome.app_bytes[dir] += out.len(),
                        22 => {
                            handshake.extend_from_slice(&out);
                            while handshake.len() >= 4 {
                                let len = usize::from(handshake[1]) << 16
                                    | usize::from(handshake[2]) << 8
                                    | usize::from(handshake[3]);
                                if handshake.len() < 4 + len {
                                    break;
                                }
                                let kind = handshake[0];
                                handshake.drain(..4 + len);
                                if kind == 20 && in_handshake {
                                    in_handshake = false;
                                    secret = key(labels[dir].1)?;
                                    dec = new(&secret).map_err(|e| e.to_string())?;
                                } else if kind == 24 {
                                    secret = tls13_next_secret(s.prf, &secret);
                                    dec = new(&secret).map_err(|e| e.to_string())?;
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
        } else {
            let master: [u8; 48] = key("CLIENT_RANDOM")?
                .try_into()
                .map_err(|_| "master length")?;
            let kb = key_block(
                hello.version,
                s,
                &master,
                &client_random,
                &hello.server_random,
            );
            let material = [
                (&kb.client_mac, &kb.client_key, &kb.client_iv),
                (&kb.server_mac, &kb.server_key, &kb.server_iv),
            ];
            for dir in 0..2 {
                let (mac, k, iv) = material[dir];
                let mut dec =
                    RecordDecryptor::new(hello.version, s, mac, k, iv, hello.encrypt_then_mac)
                        .map_err(|e| e.to_string())?;
                let mut protected = false;
                let mut inflate = (hello.compression == 1).then(|| flate2::Decompress::new(true));
                let mut inflated = Vec::with_capacity(1 << 16);
                for (i, (header, body)) in recs[dir].iter().enumerate() {
                    if !protected {
                        protected = header[0] == 20;
                        continue;
                    }
                    let ty = dec
                        .decrypt(header, body, &mut out)
                        .map_err(|e| format!("dir {dir} record {i} (type {}): {e}", header[0]))?;
                    outcome.records += 1;
                    if let Some(z) = &mut inflate {
                        inflated.clear();
                        z.decompress_vec(&out, &mut inflated, flate2::FlushDecompress::Sync)
                            .map_err(|e| format!("dir {dir} record {i}: inflate: {e}"))?;
                        std::mem::swap(&mut out, &mut inflated);
                    }
                    if ty == 22 && outcome.records <= 2 && out.first() != Some(&20) {
                        return Err(format!(
                            "dir {dir}: first protected record is not Finished: {:02x?}",
                            &out[..out.len().min(8)]
                        ));
                    }
                    if ty == 23 {
                        outcome.app_bytes[dir] += out.len();
                    }
                }
            }
        }
        Ok(outcome)
    }

    /// Checks every TLS connection of a capture against tshark's per-stream plaintext counts;
    /// returns the outcomes for the summary table.
    fn check_capture(capture: &str, keylog_file: &str) -> Vec<(String, Result<Outcome, String>)> {
        let Some(dir) = crate::testkit::corpus() else {
            return Vec::new();
        };
        let data = std::fs::read(dir.join(capture)).unwrap();
        let keys = keylog(&std::fs::read_to_string(dir.join(keylog_file)).unwrap());
        let reference: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.join("reference").join(format!("{capture}.json"))).unwrap(),
        )
        .unwrap();
        let streams = reference["tls"]["streams"].as_array().unwrap();
        let conns = connections(&data);
        let mut results = Vec::new();
        for stream in streams {
            let client = stream["client"].as_str().unwrap();
            let port: u16 = client.rsplit(':').next().unwrap().parse().unwrap();
            let conn = conns.iter().find(|c| c.client_port == port).unwrap();
            let want = [
                stream["plaintext_bytes_client"].as_u64().unwrap() as usize,
                stream["plaintext_bytes_server"].as_u64().unwrap() as usize,
            ];
            let name = format!(
                "{capture} {} ({})",
                stream["cipher_suite"].as_str().unwrap(),
                conn.client
            );
            let mut result = decrypt_connection(conn, &keys);
            if let Ok(o) = &result {
                // tshark decrypts nothing where it has no key: both counts are zero then.
                if o.app_bytes != want {
                    result = Err(format!("app bytes {:?}, tshark {:?}", o.app_bytes, want));
                }
            } else if want == [0, 0] && result.as_ref().is_err_and(|e| e.contains("key log")) {
                continue;
            }
            results.push((name, result));
        }
        results
    }

    fn report(results: &[(String, Result<Outcome, String>)]) -> usize {
        let mut failures = 0;
        for (name, r) in results {
            match r {
                Ok(o) => eprintln!(
                    "ok   {name}: {} {} records={} app={:?}",
                    o.version.name(),
                    crate::tls::suites::suite_name(o.suite),
                    o.records,
                    o.app_bytes
                ),
                Err(e) => {
                    failures += 1;
                    eprintln!("FAIL {name}: {e}")
                }
            }
        }
        failures
    }

    #[test]
    fn small_captures_decrypt() {
        let cases = [
            (
                "illustrated-tls12/capture.pcap",
                "illustrated-tls12/keylog.txt",
            ),
            (
                "illustrated-tls13/capture.pcap",
                "illustrated-tls13/keylog.txt",
            ),
            (
                "wireshark-notes/tls/tls-null.pcapng",
                "wireshark-notes/tls/tls-null.keys.txt",
            ),
            (
                "snet/TLS1_ECDHE-RSA-NULL-SHA.pcap",
                "snet/TLS1_ECDHE-RSA-NULL-SHA.txt",
            ),
            (
                "snet/TLS1_ECDHE-RSA-AES128-SHA.pcap",
                "snet/TLS1_ECDHE-RSA-AES128-SHA.txt",
            ),
            (
                "snet/TLS1_1_ECDHE-RSA-AES128-SHA.pcap",
                "snet/TLS1_1_ECDHE-RSA-AES128-SHA.txt",
            ),
            (
                "snet/TLS1_3_TLS_AES_128_GCM_SHA256.pcap",
                "snet/TLS1_3_TLS_AES_128_GCM_SHA256.txt",
            ),
            (
                "snet/TLS1_3_TLS_AES_256_GCM_SHA384.pcap",
                "snet/TLS1_3_TLS_AES_256_GCM_SHA384.txt",
            ),
            (
                "snet/TLS1_3_TLS_CHACHA20_POLY1305_SHA256.pcap",
                "snet/TLS1_3_TLS_CHACHA20_POLY1305_SHA256.txt",
            ),
            (
                "snet/TLS1_3_TLS_AES_128_CCM_SHA256.pcap",
                "snet/TLS1_3_TLS_AES_128_CCM_SHA256.txt",
            ),
            (
                "snet/TLS1_3_TLS_AES_128_CCM_8_SHA256.pcap",
                "snet/TLS1_3_TLS_AES_128_CCM_8_SHA256.txt",
            ),
            ("snet/mTLS1_2_RSA.pcap", "snet/mTLS1_2_RSA.txt"),
            ("snet/mTLS1_3_RSA.pcap", "snet/mTLS1_3_RSA.txt"),
            ("snet/ssl3_0.pcap", "snet/ssl3_0.keylog"),
            ("snet/tls1_0.pcap", "snet/tls1_0.keylog"),
            ("snet/tls1_1.pcap", "snet/tls1_1.keylog"),
            ("snet/tls1_2.pcap", "snet/tls1_2.keylog"),
            ("snet/tls1_2_dhe_rsa.pcap", "snet/tls1_2_dhe_rsa.keylog"),
            ("snet/tls1.2_aes256.pcap", "snet/log.txt"),
            ("snet/tls1.3_aes128.pcap", "snet/log.txt"),
            ("snet/tls1.3_curl_google.pcap", "snet/log.txt"),
            ("snet/tls1.3_keyupdates_aes256.pcap", "snet/log.txt"),
            ("snet/tls1.3_session_resumption.pcap", "snet/log.txt"),
            ("snet/tls_AES128-CCM.pcap", "snet/keylog_AES128-CCM.txt"),
            ("snet/tls_AES128-CCM8.pcap", "snet/keylog_AES128-CCM8.txt"),
            (
                "snet/tls_AES128-GCM-SHA256.pcap",
                "snet/keylog_AES128-GCM-SHA256.txt",
            ),
            (
                "snet/tls_AES128-SHA256.pcap",
                "snet/keylog_AES128-SHA256.txt",
            ),
            (
                "snet/tls_AES256-GCM-SHA384.pcap",
                "snet/keylog_AES256-GCM-SHA384.txt",
            ),
            (
                "snet/tls_CAMELLIA128-SHA256.pcap",
                "snet/keylog_CAMELLIA128-SHA256.txt",
            ),
            (
                "snet/tls_DHE-RSA-AES128-GCM-SHA256.pcap",
                "snet/keylog_DHE-RSA-AES128-GCM-SHA256.txt",
            ),
            (
                "snet/tls_DHE-RSA-CHACHA20-POLY1305.pcap",
                "snet/keylog_DHE-RSA-CHACHA20-POLY1305.txt",
            ),
            (
                "snet/tls_ECDHE-ECDSA-AES128-CCM.pcap",
                "snet/keylog_ECDHE-ECDSA-AES128-CCM.txt",
            ),
            (
                "snet/tls_ECDHE-ECDSA-AES256-GCM-SHA384.pcap",
                "snet/keylog_ECDHE-ECDSA-AES256-GCM-SHA384.txt",
            ),
            (
                "snet/tls_ECDHE-RSA-AES128-SHA256.pcap",
                "snet/keylog_ECDHE-RSA-AES128-SHA256.txt",
            ),
            (
                "snet/tls_ECDHE-RSA-AES256-SHA384.pcap",
                "snet/keylog_ECDHE-RSA-AES256-SHA384.txt",
            ),
            (
                "snet/tls_ECDHE-RSA-CHACHA20-POLY1305.pcap",
                "snet/keylog_ECDHE-RSA-CHACHA20-POLY1305.txt",
            ),
            (
                "scapy/tls_nss_example.pcap",
                "scapy/tls_nss_example.keys.txt",
            ),
            (
                "scapy/tls_tcp_frag_withnss.pcap",
                "scapy/tls_tcp_frag_withnss.keys.txt",
            ),
            (
                "wireshark-notes/tls/http-chunked-ssl.pcapng",
                "wireshark-notes/tls/http-chunked-ssl.keys.txt",
            ),
        ];
        let mut results = Vec::new();
        for (capture, keys) in cases {
            results.extend(check_capture(capture, keys));
        }
        assert_eq!(report(&results), 0);
    }

    #[test]
    fn tls12_all_suites_dump() {
        let results = check_capture(
            "wireshark-notes/all/dump.pcapng",
            "wireshark-notes/all/premaster.txt",
        );
        assert_eq!(report(&results), 0);
    }

    #[test]
    fn ssl3_all_suites_dump() {
        let results = check_capture(
            "wireshark-notes/ssl3/dump.pcapng",
            "wireshark-notes/ssl3/premaster.txt",
        );
        assert_eq!(report(&results), 0);
    }
}
