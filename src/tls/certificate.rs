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
            let sha256 = hex(&Sha256::digest(der));
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
                    verify_own_signature(cert)
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
        Ok(PublicKey::DSA(y)) => format!("DSA {}", bits(y)),
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
