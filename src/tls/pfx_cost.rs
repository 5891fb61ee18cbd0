//! The key derivations a PKCS#12 / PFX file asks for, added up before `p12-keystore` runs any
//! of them. That crate bounds each one (1,000,000 iterations, 1 GiB of scrypt memory) but not
//! how many there are: the MAC, every encrypted safe and every key bag pays its own, and a
//! 16 MiB file holds thousands of bags.
//!
//! The walk reads the file as `p12-keystore` 0.4 does (the same `pkcs12` and `cms` types, in
//! the same order), so it sees every derivation that reading could run. What an encrypted safe
//! holds is only known once it is decrypted, so the walk decrypts those safes itself, the same
//! way, and counts their derivation twice (here, then in `p12-keystore`). Where the walk cannot
//! go on (a structure that does not decode, a safe that does not decrypt with this password),
//! `p12-keystore` stops with an error at the same place.

use super::kdf_cost::{self, Derivation, Work};
use cbc::cipher::{block_padding::Pkcs7, BlockCipherDecrypt, BlockModeDecrypt, KeyIvInit};
use pkcs12::cms::content_info::CmsVersion;
use pkcs12::cms::encrypted_data::EncryptedData;
use pkcs12::pbe_params::{EncryptedPrivateKeyInfo, Pkcs12PbeParams};
use pkcs12::pfx::{Pfx, Version};
use pkcs12::safe_bag::SafeContents;
use pkcs12::AuthenticatedSafe;
use rsa::pkcs8::der::asn1::{Any, ContextSpecific, ObjectIdentifier, OctetString};
use rsa::pkcs8::der::{Decode, Encode, Reader, SliceReader};
use rsa::pkcs8::pkcs5::pbes2;
use rsa::pkcs8::spki::AlgorithmIdentifierOwned;

const DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ENCRYPTED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");
const SHROUDED_KEY_BAG: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.2");
const SECRET_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.5");
const PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");
const PBE_SHA1_3DES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.3");
const PBE_SHA1_RC2_40: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.6");

/// Why a PFX is refused before `p12-keystore` reads it.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// One derivation's parameters are refused: what asks it ("a key bag"), and the
    /// parameter ("scrypt N=…, r=…, p=… (8 GiB of memory; …)").
    Parameter { item: &'static str, reason: String },
    /// All derivations together would go over [`kdf_cost::BUDGET`].
    Budget,
}

/// Adds to `work` every key derivation reading `bytes` with `password` would run. Stops with
/// [`Refusal::Budget`] as soon as `work` would go over the budget, before running a
/// derivation of its own.
pub(crate) fn price(bytes: &[u8], password: &str, work: &mut Work) -> Result<(), Refusal> {
    let Ok(pfx) = Pfx::from_der(bytes) else {
        return Ok(());
    };
    if pfx.version != Version::V3 {
        return Ok(());
    }
    if let Some(mac) = &pfx.mac_data {
        let (hash, output, sha512) = digest(&mac.mac.algorithm.oid);
        work.add(kdf_cost::pkcs12_kdf(
            "MAC key",
            hash,
            mac.iterations,
            output,
            output,
            sha512,
        ));
    }
    if pfx.auth_safe.content_type != DATA {
        return Ok(());
    }
    let Some(safes) = octets(&pfx.auth_safe.content)
        .and_then(|inner| AuthenticatedSafe::from_der(inner.as_bytes()).ok())
    else {
        return Ok(());
    };
    for safe in &safes {
        let contents = if safe.content_type == DATA {
            match octets(&safe.content) {
                Some(inner) => inner.into_bytes().to_vec(),
                None => return Ok(()),
            }
        } else if safe.content_type == ENCRYPTED_DATA {
            let Some(data) = safe
                .content
                .to_der()
                .ok()
                .and_then(|der| EncryptedData::from_der(&der).ok())
            else {
                return Ok(());
            };
            if data.version != CmsVersion::V0 {
                return Ok(());
            }
            let info = data.enc_content_info;
            let Some(encrypted) = info.encrypted_content else {
                continue;
            };
            match decrypt_safe(&info.content_enc_alg, encrypted.as_bytes(), password, work)? {
                Some(plain) => plain,
                None => return Ok(()),
            }
        } else {
            return Ok(());
        };
        let Ok(bags) = SafeContents::from_der(&contents) else {
            return Ok(());
        };
        for bag in &bags {
            let algorithm = if bag.bag_id == SHROUDED_KEY_BAG {
                ContextSpecific::<EncryptedPrivateKeyInfo>::from_der(&bag.bag_value)
                    .ok()
                    .map(|cs| cs.value.encryption_algorithm)
            } else if bag.bag_id == SECRET_BAG {
                secret_bag_algorithm(&bag.bag_value)
            } else {
                None
            };
            let item = if bag.bag_id == SECRET_BAG {
                "a secret bag"
            } else {
                "a key bag"
            };
            if let Some(d) = algorithm
                .map(|a| derivation(&a))
                .transpose()
                .map_err(|reason| Refusal::Parameter { item, reason })?
                .flatten()
            {
                work.add(d);
            }
        }
        if work.over_budget() {
            return Err(Refusal::Budget);
        }
    }
    if work.over_budget() {
        return Err(Refusal::Budget);
    }
    Ok(())
}

/// The OCTET STRING an `[0] EXPLICIT` content holds, as `p12-keystore` reads it.
fn octets(content: &Any) -> Option<OctetString> {
    OctetString::from_der(&content.to_der().ok()?).ok()
}

/// A secret bag's encryption (`p12-keystore` decrypts it as a PKCS#8 key): SEQUENCE { type,
/// [0] EXPLICIT OCTET STRING (EncryptedPrivateKeyInfo), attributes OPTIONAL }.
fn secret_bag_algorithm(bag_value: &[u8]) -> Option<AlgorithmIdentifierOwned> {
    let envelope = Any::from_der(bag_value).ok()?;
    let mut reader = SliceReader::new(envelope.value()).ok()?;
    let inner = reader
        .sequence(|r| {
            let _type: ObjectIdentifier = r.decode()?;
            let value: ContextSpecific<OctetString> = r.decode()?;
            let rest = r.remaining_len();
            r.read_slice(rest)?;
            Ok::<_, rsa::pkcs8::der::Error>(value.value)
        })
        .ok()?;
    let info = EncryptedPrivateKeyInfo::from_der(inner.as_bytes()).ok()?;
    Some(info.encryption_algorithm)
}

/// The derivation an encryption algorithm asks for; None when `p12-keystore` would run none
/// (an unsupported scheme, parameters that do not decode); Err names a refused parameter.
fn derivation(algorithm: &AlgorithmIdentifierOwned) -> Result<Option<Derivation>, String> {
    let Some(params) = algorithm.parameters.as_ref().and_then(|p| p.to_der().ok()) else {
        return Ok(None);
    };
    if algorithm.oid == PBES2 {
        return match pbes2::Parameters::from_der(&params) {
            Ok(p) => kdf_cost::pbes2(&p).map(Some),
            Err(_) => Ok(None),
        };
    }
    let (key, name) = if algorithm.oid == PBE_SHA1_3DES {
        (24, "3DES")
    } else if algorithm.oid == PBE_SHA1_RC2_40 {
        (5, "RC2-40")
    } else {
        return Ok(None);
    };
    let Ok(pbe) = Pkcs12PbeParams::from_der(&params) else {
        return Ok(None);
    };
    // A key and an 8-byte IV, each derived from the password.
    let key = kdf_cost::pkcs12_kdf("PBE key", "SHA-1", pbe.iterations, 20, key, false);
    let iv = kdf_cost::pkcs12_kdf("PBE IV", "SHA-1", pbe.iterations, 20, 8, false);
    Ok(Some(Derivation {
        what: format!(
            "PKCS#12 PBE (SHA-1, {name}) with {} iterations",
            pbe.iterations
        ),
        cost: key.cost.saturating_add(iv.cost),
    }))
}

/// Decrypts an encrypted safe as `p12-keystore` would, after charging its derivation twice.
/// Ok(None): it does not decrypt (or the scheme is not one `p12-keystore` reads).
fn decrypt_safe(
    algorithm: &AlgorithmIdentifierOwned,
    data: &[u8],
    password: &str,
    work: &mut Work,
) -> Result<Option<Vec<u8>>, Refusal> {
    let Some(d) = derivation(algorithm).map_err(|reason| Refusal::Parameter {
        item: "an encrypted safe",
        reason,
    })?
    else {
        return Ok(None);
    };
    if work.exceeds_with(d.cost.saturating_mul(2)) {
        work.add(d.clone());
        work.add(d);
        return Err(Refusal::Budget);
    }
    work.add(d.clone());
    work.add(d);
    let Some(params) = algorithm.parameters.as_ref().and_then(|p| p.to_der().ok()) else {
        return Ok(None);
    };
    if algorithm.oid == PBES2 {
        return Ok(pbes2::Parameters::from_der(&params)
            .ok()
            .and_then(|p| p.decrypt(password.as_bytes(), data).ok()));
    }
    let Ok(pbe) = Pkcs12PbeParams::from_der(&params) else {
        return Ok(None);
    };
    let salt = pbe.salt.as_bytes();
    let derive = |kind, len| {
        pkcs12::kdf::derive_key_utf8::<sha1::Sha1>(password, salt, kind, pbe.iterations, len).ok()
    };
    let plain = if algorithm.oid == PBE_SHA1_3DES {
        derive(pkcs12::kdf::Pkcs12KeyType::EncryptionKey, 24)
            .zip(derive(pkcs12::kdf::Pkcs12KeyType::Iv, 8))
            .and_then(|(key, iv)| cbc_decrypt::<des::TdesEde3>(&key, &iv, data))
    } else {
        derive(pkcs12::kdf::Pkcs12KeyType::EncryptionKey, 5)
            .zip(derive(pkcs12::kdf::Pkcs12KeyType::Iv, 8))
            .and_then(|(key, iv)| cbc_decrypt::<rc2::Rc2>(&key, &iv, data))
    };
    Ok(plain)
}

fn cbc_decrypt<C>(key: &[u8], iv: &[u8], data: &[u8]) -> Option<Vec<u8>>
where
    C: BlockCipherDecrypt,
    cbc::Decryptor<C>: KeyIvInit + BlockModeDecrypt,
{
    cbc::Decryptor::<C>::new_from_slices(key, iv)
        .ok()?
        .decrypt_padded_vec::<Pkcs7>(data)
        .ok()
}

/// A MAC's hash: its name, output size, and whether it is of the SHA-512 family.
fn digest(oid: &ObjectIdentifier) -> (&'static str, u64, bool) {
    match oid.to_string().as_str() {
        "2.16.840.1.101.3.4.2.4" => ("SHA-224", 28, false),
        "2.16.840.1.101.3.4.2.1" => ("SHA-256", 32, false),
        "2.16.840.1.101.3.4.2.2" => ("SHA-384", 48, true),
        "2.16.840.1.101.3.4.2.3" => ("SHA-512", 64, true),
        "2.16.840.1.101.3.4.2.5" => ("SHA-512/224", 28, true),
        "2.16.840.1.101.3.4.2.6" => ("SHA-512/256", 32, true),
        _ => ("SHA-1", 20, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs8::der::asn1::OctetStringRef;
    use rsa::pkcs8::pkcs5::pbes2::{Kdf, Parameters};
    use rsa::pkcs8::pkcs5::EncryptionScheme;
    use rsa::pkcs8::EncryptedPrivateKeyInfoRef;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(crate::testkit::data("keys").join(name)).expect("fixture")
    }

    fn priced(bytes: &[u8], password: &str) -> (Result<(), Refusal>, Work) {
        let mut work = Work::default();
        (price(bytes, password, &mut work), work)
    }

    #[test]
    fn openssl_files_ask_what_openssl_reports() {
        // `openssl pkcs12 -info` on both: MAC iteration 2048; the certificates' encrypted safe
        // and the shrouded key bag, iteration 2048 each (PBES2 PBKDF2-HMAC-SHA256 AES-256-CBC
        // in the first, pbeWithSHA1And3-KeyTripleDES-CBC in the second). The safe is decrypted
        // twice (here and by p12-keystore): four derivations.
        let (result, work) = priced(&fixture("rsa2048-aes.pfx"), "test");
        assert!(result.is_ok());
        assert_eq!((work.count(), work.total()), (4, 4 * 2048));
        // 3DES: a 24-byte key and an 8-byte IV, three SHA-1 blocks per iteration.
        let (result, work) = priced(&fixture("rsa2048-3des.p12"), "test");
        assert!(result.is_ok());
        assert_eq!((work.count(), work.total()), (4, 2048 + 3 * 3 * 2048));
        // A wrong password: the safe does not decrypt, so the walk (like p12-keystore) stops
        // before the key bag.
        let (result, work) = priced(&fixture("rsa2048-aes.pfx"), "wrong");
        assert!(result.is_ok());
        assert_eq!(work.count(), 3);
        let (result, work) = priced(b"not a PFX", "test");
        assert!(result.is_ok());
        assert_eq!(work.count(), 0);
    }

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let len = content.len().to_be_bytes();
        let len: Vec<u8> = len.iter().copied().skip_while(|&b| b == 0).collect();
        let mut out = vec![tag];
        match content.len() {
            0..0x80 => out.push(content.len() as u8),
            _ => {
                out.push(0x80 | len.len() as u8);
                out.extend(len);
            }
        }
        out.extend_from_slice(content);
        out
    }

    fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
        tlv(0x30, &parts.concat())
    }

    fn oid(oid: ObjectIdentifier) -> Vec<u8> {
        oid.to_der().expect("oid")
    }

    /// A PFX without MAC holding `safes` (ContentInfos).
    fn pfx(safes: &[Vec<u8>]) -> Vec<u8> {
        let auth_safe = seq(safes);
        seq(&[
            vec![2, 1, 3],
            seq(&[oid(DATA), tlv(0xa0, &tlv(0x04, &auth_safe))]),
        ])
    }

    fn pbkdf2(iterations: u32) -> Parameters {
        Parameters::generate_pbkdf2_sha256_aes256cbc(iterations, &[7; 16], [9; 16]).expect("params")
    }

    /// A shrouded key bag encrypted with `params` (the key inside is not a key: never read).
    fn key_bag(params: Parameters) -> Vec<u8> {
        let info = EncryptedPrivateKeyInfoRef {
            encryption_algorithm: EncryptionScheme::Pbes2(params),
            encrypted_data: OctetStringRef::new(&[0; 32]).expect("octets"),
        };
        seq(&[
            oid(SHROUDED_KEY_BAG),
            tlv(0xa0, &info.to_der().expect("der")),
        ])
    }

    #[test]
    fn bags_inside_an_encrypted_safe_are_counted_before_they_run() {
        // 20 bags of 1,000,000 iterations each (p12-keystore's own cap per bag), inside a safe
        // encrypted with 2048 iterations.
        let bags = seq(&vec![key_bag(pbkdf2(1_000_000)); 20]);
        let outer = pbkdf2(2048);
        let encrypted = outer.encrypt("test", &bags).expect("encrypt");
        let algorithm = seq(&[oid(PBES2), outer.to_der().expect("der")]);
        let info = seq(&[oid(DATA), algorithm, tlv(0x80, &encrypted)]);
        let safe = seq(&[oid(ENCRYPTED_DATA), tlv(0xa0, &seq(&[vec![2, 1, 0], info]))]);
        let file = pfx(std::slice::from_ref(&safe));
        let (result, work) = priced(&file, "test");
        assert!(matches!(result, Err(Refusal::Budget)), "{result:?}");
        assert_eq!(work.count(), 2 + 20);
        assert_eq!(work.total(), 2 * 2048 + 20 * 1_000_000);
        // With another password the safe does not open: nothing inside will run.
        let (result, work) = priced(&file, "other");
        assert!(result.is_ok());
        assert_eq!(work.count(), 2);
    }

    #[test]
    fn a_costly_bag_is_refused_by_its_parameter() {
        let mut scrypt = pbkdf2(1);
        scrypt.kdf = Kdf::Scrypt(pbes2::ScryptParams {
            salt: pbes2::Salt::new([1; 8]).expect("salt"),
            cost_parameter: 1 << 20,
            block_size: 8,
            parallelization: 16,
            key_length: None,
        });
        let data = seq(&[oid(DATA), tlv(0xa0, &tlv(0x04, &seq(&[key_bag(scrypt)])))]);
        let (result, _) = priced(&pfx(&[data]), "test");
        match result {
            Err(Refusal::Parameter { item, reason }) => {
                assert_eq!(item, "a key bag");
                assert_eq!(
                    reason,
                    "scrypt N=1048576, r=8, p=16 (1 GiB of memory; at most 256 MiB is allowed)"
                );
            }
            other => panic!("{other:?}"),
        }
        // Many cheap bags in plain safes add up as well.
        let data = seq(&[
            oid(DATA),
            tlv(0xa0, &tlv(0x04, &seq(&vec![key_bag(pbkdf2(600_000)); 27]))),
        ]);
        let (result, work) = priced(&pfx(&[data]), "test");
        assert!(matches!(result, Err(Refusal::Budget)));
        assert_eq!(work.total(), 27 * 600_000);
    }
}
