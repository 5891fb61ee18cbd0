//! TLS: handshake facts, key material and record decryption, between TCP reassembly and
//! HTTP. A [`TlsConnection`] takes the two reassembled TCP streams of a connection and hands
//! the decrypted application data streams to the next layer.
//!
//! What decrypts what:
//! - an NSS key log (`--keylog`, `SSLKEYLOGFILE`, or a pcapng Decryption Secrets Block):
//!   any key exchange, every version (TLS 1.3 needs its traffic secrets);
//! - the server's RSA private key (`--key`, `--pfx`): only the static RSA key exchange
//!   (`TLS_RSA_WITH_…`), SSL 3.0 to TLS 1.2, and sessions resumed from such a connection;
//! - nothing decrypts (EC)DHE without a key log.
//!
//! Files (imports run down this list, never up): `session.rs` drives one connection;
//! `key_material.rs` and `session_cache.rs` hold what connections share; `cipher.rs` decrypts
//! records (block ciphers from RustCrypto, SEED from `seed.rs`); `prf.rs` derives keys;
//! `suites.rs` is the cipher suite table; `handshake.rs` parses handshake messages;
//! `certificate.rs` reads the facts of the server's certificate chain; `keylog.rs` and
//! `keys.rs` load key logs and RSA keys through `key_file.rs`; `keys.rs` prices the key
//! derivations of password-protected keys first (`pfx_cost.rs` for PKCS#12, on `kdf_cost.rs`).

pub mod certificate;
pub mod cipher;
pub mod handshake;
mod kdf_cost;
pub mod key_file;
pub mod key_material;
pub mod keylog;
pub mod keys;
mod pfx_cost;
pub mod prf;
mod seed;
pub mod session;
pub mod session_cache;
pub mod suites;
#[cfg(test)]
mod test_hex;

pub use key_material::{KeyLoader, KeyMaterial};
pub use session::{TlsConnection, TlsOutput};
pub use session_cache::SessionCache;
