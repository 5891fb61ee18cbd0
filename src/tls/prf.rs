//! Key derivation: SSL 3.0 and TLS 1.0-1.2 master secret and key block (including the export
//! derivations), TLS 1.3 HKDF-Expand-Label and traffic keys.

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::{Sha256, Sha384};

use super::suites::{Hash, Suite, Version};

/// Master secret: SSL3 (MD5/SHA1 construction), TLS 1.0/1.1 (MD5⊕SHA1 PRF), TLS 1.2
/// (P_SHA256/P_SHA384 per suite). `session_hash` = Some(hash of handshake up to
/// ClientKeyExchange) selects the extended master secret (RFC 7627); SSL 3.0 has no extended
/// master secret, so it is ignored there.
pub fn master_secret(
    version: Version,
    prf: Hash,
    premaster: &[u8],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    session_hash: Option<&[u8]>,
) -> [u8; 48] {
    let mut out = [0u8; 48];
    if version == Version::Ssl30 {
        ssl3_expand(premaster, client_random, server_random, &mut out);
        return out;
    }
    match session_hash {
        Some(hash) => tls_prf(
            version,
            prf,
            premaster,
            b"extended master secret",
            &[hash],
            &mut out,
        ),
        None => tls_prf(
            version,
            prf,
            premaster,
            b"master secret",
            &[client_random, server_random],
            &mut out,
        ),
    }
    out
}

#[derive(Debug, Clone, Default)]
pub struct KeyBlock {
    pub client_mac: Vec<u8>,
    pub server_mac: Vec<u8>,
    pub client_key: Vec<u8>,
    pub server_key: Vec<u8>,
    pub client_iv: Vec<u8>,
    pub server_iv: Vec<u8>,
}

/// Key expansion for SSL3 / TLS 1.0-1.2, including the export derivations (SSL3 and TLS 1.0
/// export: final keys from 5-byte keys + randoms, IVs derived) -- RFC 2246 §6.3, SSL3 draft
/// §6.2.2. The keys returned are the final ones, ready for the record decryptor. Not meant for
/// TLS 1.3 (returns an empty block).
pub fn key_block(
    version: Version,
    suite: &Suite,
    master: &[u8; 48],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
) -> KeyBlock {
    if version == Version::Tls13 {
        return KeyBlock::default();
    }
    // AEAD suites have no MAC key (their `mac` is `Mac::Aead`, length 0).
    let mac_len = suite.mac.len();
    let key_len = suite.cipher.key_len();
    let iv_len = suite.cipher.fixed_iv_len();
    let total = 2 * (mac_len + key_len + iv_len);
    let mut block = vec![0u8; total];
    if version == Version::Ssl30 {
        // SSL 3.0 key block: randoms in server, client order.
        ssl3_expand(master, server_random, client_random, &mut block);
    } else {
        tls_prf(
            version,
            suite.prf,
            master,
            b"key expansion",
            &[server_random, client_random],
            &mut block,
        );
    }
    let mut rest = &block[..];
    let mut take = |n: usize| {
        let (a, b) = rest.split_at(n.min(rest.len()));
        rest = b;
        a.to_vec()
    };
    let mut kb = KeyBlock {
        client_mac: take(mac_len),
        server_mac: take(mac_len),
        client_key: take(key_len),
        server_key: take(key_len),
        client_iv: take(iv_len),
        server_iv: take(iv_len),
    };
    if suite.export {
        export_keys(version, suite, &mut kb, client_random, server_random);
    }
    kb
}

/// Export key and IV derivation (SSL 3.0 §6.2.2, RFC 2246 §6.3). Later versions forbid export
/// suites, but OpenSSL negotiated them anyway and used the version's PRF, as we do.
fn export_keys(
    version: Version,
    suite: &Suite,
    kb: &mut KeyBlock,
    client_random: &[u8; 32],
    server_random: &[u8; 32],
) {
    let final_len = suite.cipher.final_key_len();
    let iv_len = suite.cipher.block_len();
    if version == Version::Ssl30 {
        let md5 = |parts: &[&[u8]]| {
            let mut h = Md5::new();
            for p in parts {
                h.update(p);
            }
            h.finalize()
        };
        kb.client_key = md5(&[&kb.client_key, client_random, server_random])[..final_len].to_vec();
        kb.server_key = md5(&[&kb.server_key, server_random, client_random])[..final_len].to_vec();
        kb.client_iv = md5(&[client_random, server_random])[..iv_len].to_vec();
        kb.server_iv = md5(&[server_random, client_random])[..iv_len].to_vec();
        return;
    }
    let seed: [&[u8]; 2] = [client_random, server_random];
    let mut key = vec![0u8; final_len];
    tls_prf(
        version,
        suite.prf,
        &kb.client_key,
        b"client write key",
        &seed,
        &mut key,
    );
    kb.client_key = key.clone();
    tls_prf(
        version,
        suite.prf,
        &kb.server_key,
        b"server write key",
        &seed,
        &mut key,
    );
    kb.server_key = key;
    let mut iv_block = vec![0u8; 2 * iv_len];
    tls_prf(version, suite.prf, &[], b"IV block", &seed, &mut iv_block);
    kb.client_iv = iv_block[..iv_len].to_vec();
    kb.server_iv = iv_block[iv_len..].to_vec();
}

/// TLS 1.3 HKDF-Expand-Label (RFC 8446 §7.1). The output is capped at 255 hash blocks, the
/// HKDF-Expand limit.
pub fn hkdf_expand_label(
    hash: Hash,
    secret: &[u8],
    label: &[u8],
    context: &[u8],
    len: usize,
) -> Vec<u8> {
    // HkdfLabel: u16 length, opaque label<7..255> = "tls13 " + label, opaque context<0..255>.
    let full_label_len = (6 + label.len()).min(255);
    let mut info = Vec::with_capacity(4 + full_label_len + context.len());
    info.extend_from_slice(&(len.min(usize::from(u16::MAX)) as u16).to_be_bytes());
    info.push(full_label_len as u8);
    info.extend_from_slice(&b"tls13 "[..]);
    info.extend_from_slice(&label[..full_label_len - 6]);
    let ctx = &context[..context.len().min(255)];
    info.push(ctx.len() as u8);
    info.extend_from_slice(ctx);
    let mut out = vec![0u8; len.min(255 * hash.len())];
    match hash {
        Hash::Sha256 => hkdf_expand::<Hmac<Sha256>>(secret, &info, &mut out),
        Hash::Sha384 => hkdf_expand::<Hmac<Sha384>>(secret, &info, &mut out),
    }
    out
}

/// TLS 1.3 traffic key and IV from a traffic secret ("key", "iv").
pub fn tls13_keys(suite: &Suite, secret: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let key = hkdf_expand_label(suite.prf, secret, b"key", &[], suite.cipher.key_len());
    let iv = hkdf_expand_label(suite.prf, secret, b"iv", &[], 12);
    (key, iv)
}

/// TLS 1.3 next-generation secret after KeyUpdate ("traffic upd").
pub fn tls13_next_secret(hash: Hash, secret: &[u8]) -> Vec<u8> {
    hkdf_expand_label(hash, secret, b"traffic upd", &[], hash.len())
}

/// Hash of handshake messages (for the extended master secret): SSL3/TLS1.0/1.1 use
/// MD5||SHA1, TLS 1.2 (and 1.3) the PRF hash.
pub fn transcript_hash(version: Version, prf: Hash, messages: &[u8]) -> Vec<u8> {
    match version {
        Version::Ssl30 | Version::Tls10 | Version::Tls11 => {
            let mut out = Md5::digest(messages).to_vec();
            out.extend_from_slice(&Sha1::digest(messages));
            out
        }
        Version::Tls12 | Version::Tls13 => match prf {
            Hash::Sha256 => Sha256::digest(messages).to_vec(),
            Hash::Sha384 => Sha384::digest(messages).to_vec(),
        },
    }
}

/// HKDF-Expand (RFC 5869 §2.3) written on HMAC directly so that a short or odd PRK never makes
/// it fail.
fn hkdf_expand<M: Mac + KeyInit + Clone>(prk: &[u8], info: &[u8], out: &mut [u8]) {
    let Ok(base) = <M as KeyInit>::new_from_slice(prk) else {
        return;
    };
    let mut prev: Vec<u8> = Vec::new();
    for (i, chunk) in out.chunks_mut(M::output_size()).enumerate() {
        let mut m = base.clone();
        m.update(&prev);
        m.update(info);
        m.update(&[(i + 1) as u8]);
        prev = m.finalize().into_bytes().to_vec();
        chunk.copy_from_slice(&prev[..chunk.len()]);
    }
}

/// TLS PRF (RFC 2246 §5 for 1.0/1.1, RFC 5246 §5 for 1.2) over `label` and the concatenated
/// seed parts.
fn tls_prf(
    version: Version,
    prf: Hash,
    secret: &[u8],
    label: &[u8],
    seed: &[&[u8]],
    out: &mut [u8],
) {
    match version {
        Version::Ssl30 | Version::Tls10 | Version::Tls11 => {
            // Halves overlap by one byte when the secret length is odd.
            let half = secret.len().div_ceil(2);
            let s1 = &secret[..half];
            let s2 = &secret[secret.len() - half..];
            p_hash::<Hmac<Md5>>(s1, label, seed, out, false);
            p_hash::<Hmac<Sha1>>(s2, label, seed, out, true);
        }
        Version::Tls12 | Version::Tls13 => match prf {
            Hash::Sha256 => p_hash::<Hmac<Sha256>>(secret, label, seed, out, false),
            Hash::Sha384 => p_hash::<Hmac<Sha384>>(secret, label, seed, out, false),
        },
    }
}

/// P_hash (RFC 5246 §5). Writes into `out`, or XORs into it when `xor` is set.
fn p_hash<M: Mac + KeyInit + Clone>(
    secret: &[u8],
    label: &[u8],
    seed: &[&[u8]],
    out: &mut [u8],
    xor: bool,
) {
    // HMAC accepts keys of any length, so this cannot fail.
    let Ok(base) = <M as KeyInit>::new_from_slice(secret) else {
        return;
    };
    let with_seed = |m: &mut M| {
        m.update(label);
        for s in seed {
            m.update(s);
        }
    };
    // A(1) = HMAC(secret, label + seed)
    let mut m = base.clone();
    with_seed(&mut m);
    let mut a = m.finalize().into_bytes();
    for chunk in out.chunks_mut(M::output_size()) {
        let mut m = base.clone();
        m.update(&a);
        with_seed(&mut m);
        let block = m.finalize().into_bytes();
        for (o, b) in chunk.iter_mut().zip(block.iter()) {
            if xor {
                *o ^= b;
            } else {
                *o = *b;
            }
        }
        let mut m = base.clone();
        m.update(&a);
        a = m.finalize().into_bytes();
    }
}

/// The SSL 3.0 expansion used for both the master secret and the key block:
/// MD5(secret + SHA1("A" + secret + r1 + r2)) + MD5(secret + SHA1("BB" + ...)) + ...
fn ssl3_expand(secret: &[u8], r1: &[u8], r2: &[u8], out: &mut [u8]) {
    for (i, chunk) in out.chunks_mut(16).enumerate() {
        // Only 26 letters exist; SSL 3.0 key blocks never need more than 26 * 16 bytes.
        let letter = b'A' + (i % 26) as u8;
        let mut sha = Sha1::new();
        for _ in 0..=i {
            sha.update([letter]);
        }
        sha.update(secret);
        sha.update(r1);
        sha.update(r2);
        let inner = sha.finalize();
        let mut md5 = Md5::new();
        md5.update(secret);
        md5.update(inner);
        let block = md5.finalize();
        chunk.copy_from_slice(&block[..chunk.len()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::suites::suite;
    use crate::tls::test_hex::hex;

    #[test]
    fn tls12_prf_sha256_vector() {
        // P_SHA256 test vector from the IETF TLS WG mailing list (msg03416).
        let mut out = [0u8; 100];
        tls_prf(
            Version::Tls12,
            Hash::Sha256,
            &hex("9bbe436ba940f017b17652849a71db35"),
            b"test label",
            &[&hex("a0ba9f936cda311827a6f796ffd5198c")],
            &mut out,
        );
        assert_eq!(
            out.to_vec(),
            hex(
                "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a\
                 6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab\
                 4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701\
                 87347b66"
            )
        );
    }

    #[test]
    fn tls12_prf_sha384_vector() {
        // P_SHA384 test vector from the same IETF TLS WG message.
        let mut out = [0u8; 148];
        tls_prf(
            Version::Tls12,
            Hash::Sha384,
            &hex("b80b733d6ceefcdc71566ea48e5567df"),
            b"test label",
            &[&hex("cd665cf6a8447dd6ff8b27555edb7465")],
            &mut out,
        );
        assert_eq!(
            out.to_vec(),
            hex(
                "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cd\
                 e9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd\
                 8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d918425\
                 9b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee6\
                 91c8f3a26854308d5eaa3be85e0990703d73e56f"
            )
        );
    }

    #[test]
    fn tls10_prf_vector() {
        // The TLS 1.0 PRF test vector from the ietf-tls mailing list (msg01589): 48 bytes of
        // 0xab, label "PRF Testvector", 64 bytes of 0xcd.
        let mut out = [0u8; 104];
        tls_prf(
            Version::Tls10,
            Hash::Sha256,
            &[0xab; 48],
            b"PRF Testvector",
            &[&[0xcd; 64]],
            &mut out,
        );
        assert_eq!(
            out.to_vec(),
            hex(
                "d3d4d1e349b5d515044666d51de32bab258cb521b6b053463e354832fd976754\
                 443bcf9a296519bc289abcbc1187e4ebd31e602353776c408aafb74cbc85eff6\
                 9255f9788faa184cbb957a9819d84a5d7eb006eb459d3ae8de9810454b8b2d8f\
                 1afbc655a8c9a013"
            )
        );
    }

    #[test]
    fn rfc8448_server_handshake_keys() {
        // RFC 8448 §3 (Simple 1-RTT Handshake), TLS_AES_128_GCM_SHA256.
        let secret = hex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38");
        let (key, iv) = tls13_keys(suite(0x1301).unwrap(), &secret);
        assert_eq!(key, hex("3fce516009c21727d0f2e4e86ee403bc"));
        assert_eq!(iv, hex("5d313eb2671276ee13000b30"));
    }

    #[test]
    fn rfc8448_derive_secret_via_expand_label() {
        // RFC 8448 §3: derived secret for handshake = Derive-Secret(early_secret, "derived", "")
        // = HKDF-Expand-Label(early, "derived", SHA256(""), 32).
        let early = hex("33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a");
        let empty_hash = transcript_hash(Version::Tls13, Hash::Sha256, b"");
        assert_eq!(
            hkdf_expand_label(Hash::Sha256, &early, b"derived", &empty_hash, 32),
            hex("6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba")
        );
    }

    #[test]
    fn next_secret_and_odd_inputs_do_not_panic() {
        let s = tls13_next_secret(Hash::Sha384, &[7; 48]);
        assert_eq!(s.len(), 48);
        assert_ne!(s, vec![7; 48]);
        // Over-long label/context are truncated, not a panic; output capped at 255 blocks.
        let out = hkdf_expand_label(Hash::Sha256, &[], &[b'x'; 300], &[1; 300], 70_000);
        assert_eq!(out.len(), 255 * 32);
        let t = transcript_hash(Version::Tls10, Hash::Sha256, b"abc");
        assert_eq!(t.len(), 36);
        assert_eq!(&t[..16], &hex("900150983cd24fb0d6963f7d28e17f72")[..]);
    }

    #[test]
    fn key_block_layout() {
        let s = suite(0xc013).unwrap(); // ECDHE-RSA-AES128-CBC-SHA
        let kb = key_block(Version::Tls10, s, &[1; 48], &[2; 32], &[3; 32]);
        assert_eq!(
            [kb.client_mac.len(), kb.client_key.len(), kb.client_iv.len()],
            [20, 16, 16]
        );
        let s = suite(0xc02f).unwrap(); // AES128-GCM
        let kb = key_block(Version::Tls12, s, &[1; 48], &[2; 32], &[3; 32]);
        assert_eq!(
            [kb.server_mac.len(), kb.server_key.len(), kb.server_iv.len()],
            [0, 16, 4]
        );
        let s = suite(0x0003).unwrap(); // export RC4-40: 5-byte secret expanded to 16 bytes
        for v in [Version::Ssl30, Version::Tls10, Version::Tls12] {
            let kb = key_block(v, s, &[1; 48], &[2; 32], &[3; 32]);
            assert_eq!(kb.client_key.len(), 16);
            assert_ne!(kb.client_key, kb.server_key);
        }
        let s = suite(0x0008).unwrap(); // export DES40: 8-byte key, 8-byte IV derived
        let kb = key_block(Version::Ssl30, s, &[1; 48], &[2; 32], &[3; 32]);
        assert_eq!(
            [kb.client_key.len(), kb.client_iv.len(), kb.server_iv.len()],
            [8, 8, 8]
        );
    }
}
