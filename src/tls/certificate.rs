//! Facts of the certificate chain a server sent (RFC 5246 §7.4.2, RFC 8446 §4.4.2): each
//! certificate's names, validity, public key, whether it is self-signed, and whether its
//! issuer is in the chain. Nothing here decides trust: the client's store is not known.

use super::keys::certificate_info;
use crate::model::{CertificateInfo, ChainCertificate};
use rsa::pkcs8::DecodePublicKey;
use rsa::Pkcs1v15Sign;
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::oid_registry as oids;
use x509_parser::public_key::PublicKey;

/// The facts of a chain of DER certificates, in the order given (leaf first as sent).
pub fn chain_facts(chain: &[Vec<u8>]) -> Vec<ChainCertificate> {
    let parsed: Vec<Option<X509Certificate<'_>>> = chain
        .iter()
        .map(|der| {
            x509_parser::parse_x509_certificate(der)
                .ok()
                .map(|(_, c)| c)
        })
        .collect();
    chain
        .iter()
        .zip(&parsed)
        .map(|(der, cert)| {
            let digest: [u8; 32] = Sha256::digest(der).into();
            let sha256 = hex(&digest);
            let Some(cert) = cert else {
                return ChainCertificate {
                    sha256,
                    unparsed: true,
                    ..ChainCertificate::default()
                };
            };
            let info = certificate_info(cert);
            let self_signed = is_self_signed(cert);
            let issuer_in_chain = self_signed
                || parsed
                    .iter()
                    .flatten()
                    .any(|other| same_name(other.subject(), cert.issuer()));
            ChainCertificate {
                certificate: CertificateInfo {
                    subject: info.subject,
                    issuer: info.issuer,
                    sans: info.sans,
                    not_before: info.not_before,
                    not_after: info.not_after,
                },
                serial: info.serial,
                sha256,
                public_key: public_key_name(cert),
                ca: cert.is_ca(),
                self_signed,
                self_signature_valid: if self_signed {
                    verified_once(digest, || verify_own_signature(cert))
                } else {
                    None
                },
                issuer_in_chain,
                unparsed: false,
            }
        })
        .collect()
}

/// Names compared as encoded; as text too, since a CA may re-encode a name (PrintableString
/// vs UTF8String) and clients match those by RFC 5280 §7.1 rules.
fn same_name(a: &x509_parser::x509::X509Name<'_>, b: &x509_parser::x509::X509Name<'_>) -> bool {
    a.as_raw() == b.as_raw() || a.to_string() == b.to_string()
}

/// Subject equals issuer, and where the certificate carries both key identifiers they agree
/// (a certificate whose issuer happens to share its name, but that another key signed, has
/// a different authority key identifier).
fn is_self_signed(cert: &X509Certificate<'_>) -> bool {
    if !same_name(cert.subject(), cert.issuer()) {
        return false;
    }
    let mut subject_key = None;
    let mut authority_key = None;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => subject_key = Some(id.0),
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                authority_key = aki.key_identifier.as_ref().map(|id| id.0)
            }
            _ => {}
        }
    }
    match (subject_key, authority_key) {
        (Some(s), Some(a)) => s == a,
        _ => true,
    }
}

/// "RSA 2048", "EC P-256", "Ed25519" …
fn public_key_name(cert: &X509Certificate<'_>) -> String {
    let spki = cert.public_key();
    let algorithm = &spki.algorithm.algorithm;
    if *algorithm == oids::OID_SIG_ED25519 {
        return "Ed25519".into();
    }
    if *algorithm == oids::OID_SIG_ED448 {
        return "Ed448".into();
    }
    match spki.parsed() {
        Ok(PublicKey::RSA(key)) => format!("RSA {}", bits(key.modulus)),
        Ok(PublicKey::EC(point)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok());
            match curve {
                Some(c) if c == oids::OID_EC_P256 => "EC P-256".into(),
                Some(c) if c == oids::OID_NIST_EC_P384 => "EC P-384".into(),
                Some(c) if c == oids::OID_NIST_EC_P521 => "EC P-521".into(),
                Some(c) => format!("EC {c}"),
                None => format!("EC {}", point.key_size()),
            }
        }
        Ok(PublicKey::DSA(y)) => {
            // A DSA key's size is that of its prime p, the first of the parameters (p, q, g).
            let p_bits = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| x509_parser::der_parser::der::parse_der_integer(p.data).ok())
                .and_then(|(_, p)| p.as_slice().ok().map(bits));
            format!("DSA {}", p_bits.unwrap_or_else(|| bits(y)))
        }
        _ => algorithm.to_id_string(),
    }
}

/// Bits of a big-endian unsigned integer (leading zero bytes and bits not counted).
fn bits(be: &[u8]) -> usize {
    let start = be.iter().position(|&b| b != 0).unwrap_or(be.len());
    match be.get(start) {
        Some(&first) => (be.len() - start) * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}

/// The result of `verify` for the certificate with this SHA-256, computed once per thread: a
/// capture of many connections to one server repeats the same self-signed certificate, and an
/// RSA verification costs more than the rest of a handshake's parsing.
fn verified_once(digest: [u8; 32], verify: impl FnOnce() -> Option<bool>) -> Option<bool> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    /// Bounds the cache: cleared when full (a capture rarely shows this many self-signed ones).
    const MAX: usize = 256;
    thread_local! {
        static SEEN: RefCell<HashMap<[u8; 32], Option<bool>>> = RefCell::new(HashMap::new());
    }
    if let Some(known) = SEEN.with(|seen| seen.borrow().get(&digest).copied()) {
        return known;
    }
    let result = verify();
    SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        if seen.len() >= MAX {
            seen.clear();
        }
        seen.insert(digest, result);
    });
    result
}

/// Verifies an RSA PKCS#1 v1.5 signature (SHA-1, SHA-256/384/512) with the certificate's own
/// key; `None` for any other signature or key (EC needs curve arithmetic this crate does not
/// carry, and the name test already says "self-signed").
fn verify_own_signature(cert: &X509Certificate<'_>) -> Option<bool> {
    let algorithm = &cert.signature_algorithm.algorithm;
    let tbs = cert.tbs_certificate.as_ref();
    let (scheme, hashed) = if *algorithm == oids::OID_PKCS1_SHA256WITHRSA {
        (Pkcs1v15Sign::new::<Sha256>(), Sha256::digest(tbs).to_vec())
    } else if *algorithm == oids::OID_PKCS1_SHA384WITHRSA {
        (Pkcs1v15Sign::new::<Sha384>(), Sha384::digest(tbs).to_vec())
    } else if *algorithm == oids::OID_PKCS1_SHA512WITHRSA {
        (Pkcs1v15Sign::new::<Sha512>(), Sha512::digest(tbs).to_vec())
    } else if *algorithm == oids::OID_PKCS1_SHA1WITHRSA {
        (
            Pkcs1v15Sign::new::<sha1::Sha1>(),
            sha1::Sha1::digest(tbs).to_vec(),
        )
    } else {
        return None;
    };
    // A key the rsa crate refuses (over its size limit, say) is not checked, not "invalid".
    let key = rsa::PublicKey::from_public_key_der(cert.public_key().raw).ok()?;
    Some(
        key.verify(scheme, &hashed, &cert.signature_value.data)
            .is_ok(),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{data, sample};
    use rustls_pki_types::pem::PemObject;

    /// The DER certificates of a PEM file, in order.
    fn pem(path: &std::path::Path) -> Vec<Vec<u8>> {
        let bytes = std::fs::read(path).expect("PEM file");
        rustls_pki_types::CertificateDer::pem_slice_iter(&bytes)
            .map(|c| c.expect("certificate").to_vec())
            .collect()
    }

    /// The sample PKI (samples/lync/make/make-pki.sh): leaf (CA:FALSE) ← "Example Public CA
    /// G2" ← "Example Public Root CA" (`openssl ca -selfsign`, v3_ca: CA:TRUE, AKI = SKI), all
    /// `openssl genrsa 2048`. With the root the chain is complete; as served (no root) the
    /// root's name is the unknown issuer.
    #[test]
    fn the_sample_chain_with_and_without_its_root() {
        let pki = sample("lync/make/pki");
        let mut chain = pem(&pki.join("cert-ext-bad.chain.pem"));
        assert_eq!(chain.len(), 2);
        let served = chain_facts(&chain);
        assert!(served[0].issuer_in_chain && !served[1].issuer_in_chain);
        assert_eq!(
            served[1].certificate.issuer,
            "C=US, O=Example Trust Services, CN=Example Public Root CA"
        );
        chain.extend(pem(&pki.join("example-root.crt")));
        let full = chain_facts(&chain);
        for (c, ca) in full.iter().zip([false, true, true]) {
            assert_eq!(c.public_key, "RSA 2048");
            assert_eq!(c.ca, ca);
            assert!(c.issuer_in_chain);
            assert!(!c.unparsed);
            assert_eq!(c.sha256.len(), 64);
        }
        assert!(!full[0].self_signed && !full[1].self_signed);
        assert_eq!(full[0].self_signature_valid, None);
        assert!(full[2].self_signed);
        assert_eq!(full[2].self_signature_valid, Some(true));
        assert_eq!(full[0].serial, "0F1E2D3C4B5B");
    }

    /// tests/data/keys/cert.der is `openssl req -x509 -sha256` on a 2048-bit key: self-signed
    /// with a valid signature; one flipped signature bit makes it invalid, not unparsed.
    #[test]
    fn a_self_signed_certificate_verifies_and_a_damaged_one_does_not() {
        let der = std::fs::read(data("keys/cert.der")).expect("fixture");
        let facts = chain_facts(std::slice::from_ref(&der));
        assert!(facts[0].self_signed && facts[0].issuer_in_chain);
        assert_eq!(facts[0].self_signature_valid, Some(true));
        assert_eq!(facts[0].public_key, "RSA 2048");
        let mut bad = der.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let facts = chain_facts(&[bad]);
        assert!(!facts[0].unparsed && facts[0].self_signed);
        assert_eq!(facts[0].self_signature_valid, Some(false));
    }

    #[test]
    fn garbage_is_an_unparsed_certificate_not_a_panic() {
        let der = std::fs::read(data("keys/cert.der")).expect("fixture");
        let chain = vec![
            b"garbage".to_vec(),
            der[..der.len() / 2].to_vec(),
            Vec::new(),
        ];
        let facts = chain_facts(&chain);
        assert_eq!(facts.len(), 3);
        assert!(facts.iter().all(|c| c.unparsed && c.sha256.len() == 64));
    }

    #[test]
    fn bits_count_from_the_first_set_bit() {
        assert_eq!(bits(&[0x00, 0x80, 0, 0]), 24);
        assert_eq!(bits(&[0x7f, 0xff]), 15);
        assert_eq!(bits(&[0, 0]), 0);
        assert_eq!(bits(&[]), 0);
    }
}
