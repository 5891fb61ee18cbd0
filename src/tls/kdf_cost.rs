//! What a password-protected key costs to open, told from its parameters before any key
//! derivation runs. A crafted key file could otherwise ask for gigabytes of memory (scrypt) or
//! hours of work (thousands of keys, each with millions of PBKDF2 iterations).
//!
//! Work is counted in PBKDF2-HMAC-SHA256 rounds (one HMAC per iteration and output block).
//! Measured on the project's 2-core machine (release build of the RustCrypto crates used
//! here): PBKDF2-HMAC-SHA256 5.3 M rounds/s, HMAC-SHA-1 4.9 M/s, HMAC-SHA-512 1.2 M/s; the
//! PKCS#12 KDF 10 M iterations/s (SHA-1) and 12 M/s (SHA-256); scrypt 2.1 M units of N·r·p per
//! second. The weights below round those ratios up.

use rsa::pkcs8::pkcs5::pbes2::{self, Kdf, Pbkdf2Prf};

/// Key-derivation work one key file may ask for in all: about 3 s on that machine, far more
/// than real files need (a key file with a few keys of 600,000 PBKDF2 iterations).
pub(crate) const BUDGET: u64 = 16_000_000;

/// Memory scrypt may take: 128·r·N bytes for its table plus 128·r·p for its blocks.
/// OpenSSL's default (N = 2^14, r = 8) takes 16 MiB.
pub(crate) const MAX_SCRYPT_MEMORY: u64 = 256 << 20;

/// PBKDF2 iterations one key may ask for. Real files use 2,000 to 600,000.
pub(crate) const MAX_ITERATIONS: u64 = 10_000_000;

/// scrypt work per unit of N·r·p, in PBKDF2-HMAC-SHA256 rounds (measured 2.5).
const SCRYPT_WEIGHT: u64 = 3;
/// A round of a SHA-384 / SHA-512 HMAC or hash, in PBKDF2-HMAC-SHA256 rounds (measured 4.3).
const SHA512_WEIGHT: u64 = 5;

/// One key derivation a file asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Derivation {
    /// In words, with its parameters: "PBKDF2-HMAC-SHA256 with 8400000 iterations".
    pub what: String,
    /// Work, in PBKDF2-HMAC-SHA256 rounds.
    pub cost: u64,
}

/// The derivation PBES2 parameters ask for, or why they are refused: too much memory, too
/// many iterations, or an scrypt N that `pkcs5` cannot take (it panics on N = 0). The refusal
/// names the parameter: "scrypt N=1048576, r=64, p=16 (8 GiB of memory; at most 256 MiB is
/// allowed)".
pub(crate) fn pbes2(params: &pbes2::Parameters) -> Result<Derivation, String> {
    let key_size = u64::try_from(params.encryption.key_size()).unwrap_or(u64::MAX);
    match &params.kdf {
        Kdf::Pbkdf2(p) => {
            let (name, output, weight) = match p.prf {
                Pbkdf2Prf::HmacWithSha1 => ("SHA1", 20, 1),
                Pbkdf2Prf::HmacWithSha224 => ("SHA224", 28, 1),
                Pbkdf2Prf::HmacWithSha256 => ("SHA256", 32, 1),
                Pbkdf2Prf::HmacWithSha384 => ("SHA384", 48, SHA512_WEIGHT),
                Pbkdf2Prf::HmacWithSha512 => ("SHA512", 64, SHA512_WEIGHT),
                // A hash added to `pkcs5` later: priced as the costliest known.
                _ => ("?", 20, SHA512_WEIGHT),
            };
            let iterations = u64::from(p.iteration_count);
            if iterations > MAX_ITERATIONS {
                return Err(format!(
                    "PBKDF2 with {iterations} iterations (at most {MAX_ITERATIONS} are allowed)"
                ));
            }
            Ok(Derivation {
                what: format!("PBKDF2-HMAC-{name} with {iterations} iterations"),
                cost: iterations
                    .saturating_mul(key_size.div_ceil(output))
                    .saturating_mul(weight),
            })
        }
        Kdf::Scrypt(p) => {
            let (n, r, parallel) = (
                p.cost_parameter,
                u64::from(p.block_size),
                u64::from(p.parallelization),
            );
            let named = format!("scrypt N={n}, r={r}, p={parallel}");
            if n < 2 || !n.is_power_of_two() {
                return Err(format!("{named} (N must be a power of two, at least 2)"));
            }
            let memory = 128u64
                .saturating_mul(r)
                .saturating_mul(n.saturating_add(parallel));
            if memory > MAX_SCRYPT_MEMORY {
                return Err(format!(
                    "{named} ({} of memory; at most {} is allowed)",
                    bytes_in_words(memory),
                    bytes_in_words(MAX_SCRYPT_MEMORY)
                ));
            }
            Ok(Derivation {
                what: named,
                cost: n
                    .saturating_mul(r)
                    .saturating_mul(parallel)
                    .saturating_mul(SCRYPT_WEIGHT),
            })
        }
        // A function added to `pkcs5` later cannot be priced.
        _ => Err("a key derivation function this program cannot price".to_string()),
    }
}

/// The PKCS#12 key derivation (RFC 7292 appendix B) of `bytes` bytes with a hash of `output`
/// bytes (`sha512`: of the SHA-512 family): one hash per iteration and output block. `what`
/// names its use ("MAC key", "PBE key").
pub(crate) fn pkcs12_kdf(
    what: &str,
    hash: &str,
    iterations: i32,
    output: u64,
    bytes: u64,
    sha512: bool,
) -> Derivation {
    let weight = if sha512 { SHA512_WEIGHT } else { 1 };
    let iterations = u64::try_from(iterations).unwrap_or(0);
    Derivation {
        what: format!("PKCS#12 {what} ({hash}) with {iterations} iterations"),
        cost: iterations
            .saturating_mul(bytes.div_ceil(output.max(1)))
            .saturating_mul(weight),
    }
}

/// The key derivations of one file, added up.
#[derive(Debug, Default)]
pub(crate) struct Work {
    count: usize,
    total: u64,
    costliest: Option<Derivation>,
}

impl Work {
    pub(crate) fn add(&mut self, d: Derivation) {
        self.count += 1;
        self.total = self.total.saturating_add(d.cost);
        if self.costliest.as_ref().is_none_or(|c| d.cost > c.cost) {
            self.costliest = Some(d);
        }
    }

    /// Derivations added.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Their work, in PBKDF2-HMAC-SHA256 rounds.
    #[cfg(test)]
    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// Would `cost` more go over [`BUDGET`]?
    pub(crate) fn exceeds_with(&self, cost: u64) -> bool {
        self.total.saturating_add(cost) > BUDGET
    }

    pub(crate) fn over_budget(&self) -> bool {
        self.total > BUDGET
    }

    /// "8900 key derivations, the costliest PBKDF2-HMAC-SHA256 with 8400000 iterations:
    /// 74760000000 PBKDF2-SHA256 rounds in all; at most 16000000, a few seconds, are allowed
    /// per key file".
    pub(crate) fn describe(&self) -> String {
        let costliest = self.costliest.as_ref().map_or("", |c| c.what.as_str());
        let asked = if self.count == 1 {
            format!("{costliest}: {} PBKDF2-SHA256 rounds' worth", self.total)
        } else {
            format!(
                "{} key derivations, the costliest {costliest}: {} PBKDF2-SHA256 rounds in all",
                self.count, self.total
            )
        };
        format!("{asked}; at most {BUDGET}, a few seconds, are allowed per key file")
    }
}

/// "8 GiB", "2.1 GiB", "256 MiB".
fn bytes_in_words(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    let mib = bytes as f64 / MIB;
    let (value, unit) = if mib >= 1024.0 {
        (mib / 1024.0, "GiB")
    } else {
        (mib, "MiB")
    };
    let text = format!("{value:.1}");
    let text = text.strip_suffix(".0").unwrap_or(&text);
    format!("{text} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs8::pkcs5::pbes2::{Parameters, ScryptParams};

    fn scrypt(n: u64, r: u16, p: u16) -> Parameters {
        let mut params =
            Parameters::generate_pbkdf2_sha256_aes256cbc(1, &[0; 8], [0; 16]).expect("params");
        params.kdf = Kdf::Scrypt(ScryptParams {
            salt: rsa::pkcs8::pkcs5::pbes2::Salt::new([0; 8]).expect("salt"),
            cost_parameter: n,
            block_size: r,
            parallelization: p,
            key_length: None,
        });
        params
    }

    #[test]
    fn scrypt_memory_is_bounded_before_anything_runs() {
        // OpenSSL's default: 16 MiB.
        let d = pbes2(&scrypt(1 << 14, 8, 1)).expect("default");
        assert_eq!(d.what, "scrypt N=16384, r=8, p=1");
        assert_eq!(d.cost, (1 << 14) * 8 * SCRYPT_WEIGHT);
        // 128 · 64 · 2^20 bytes = 8 GiB.
        assert_eq!(
            pbes2(&scrypt(1 << 20, 64, 16)).expect_err("8 GiB"),
            "scrypt N=1048576, r=64, p=16 (8 GiB of memory; at most 256 MiB is allowed)"
        );
        assert!(pbes2(&scrypt(1 << 20, 16, 1))
            .expect_err("2 GiB")
            .contains("(2 GiB of memory"));
        // 128 · 8 · 2^18 = 256 MiB, plus 128 · 8 · p for the blocks: just over.
        assert!(pbes2(&scrypt(1 << 18, 8, 1)).is_err());
        assert!(pbes2(&scrypt(1 << 17, 8, 1)).is_ok());
        for n in [0, 1, 3, 6 << 20] {
            assert!(
                pbes2(&scrypt(n, 8, 1))
                    .expect_err("bad N")
                    .contains("power of two"),
                "{n}"
            );
        }
    }

    #[test]
    fn pbkdf2_cost_counts_iterations_blocks_and_the_hash() {
        let params =
            Parameters::generate_pbkdf2_sha256_aes256cbc(600_000, &[0; 8], [0; 16]).expect("ok");
        let d = pbes2(&params).expect("ok");
        assert_eq!(d.what, "PBKDF2-HMAC-SHA256 with 600000 iterations");
        assert_eq!(d.cost, 600_000);
        let with = |prf, iterations| {
            let mut changed = params.clone();
            if let Kdf::Pbkdf2(p) = &mut changed.kdf {
                p.prf = prf;
                p.iteration_count = iterations;
            }
            pbes2(&changed)
        };
        // A 32-byte AES-256 key takes two 20-byte SHA-1 blocks.
        assert_eq!(
            with(Pbkdf2Prf::HmacWithSha1, 600_000).expect("ok").cost,
            1_200_000
        );
        assert_eq!(
            with(Pbkdf2Prf::HmacWithSha512, 600_000).expect("ok").cost,
            600_000 * SHA512_WEIGHT
        );
        assert_eq!(
            with(Pbkdf2Prf::HmacWithSha512, 10_000_001).expect_err("too many"),
            "PBKDF2 with 10000001 iterations (at most 10000000 are allowed)"
        );
    }

    #[test]
    fn work_adds_up_and_names_the_costliest() {
        let mut work = Work::default();
        let d = |what: &str, cost| Derivation {
            what: what.to_string(),
            cost,
        };
        work.add(d("a", 10));
        assert!(!work.over_budget());
        assert!(!work.exceeds_with(BUDGET - 10));
        assert!(work.exceeds_with(BUDGET - 9));
        work.add(d("b", BUDGET));
        work.add(d("c", 5));
        assert!(work.over_budget());
        assert_eq!(
            work.describe(),
            format!(
                "3 key derivations, the costliest b: {} PBKDF2-SHA256 rounds in all; at most {BUDGET}, a few seconds, are allowed per key file",
                BUDGET + 15
            )
        );
        work.add(d("d", u64::MAX));
        assert_eq!(work.total, u64::MAX);
    }

    #[test]
    fn pkcs12_kdf_cost() {
        // 3DES: a 24-byte key (two SHA-1 blocks) and an 8-byte IV (one).
        let key = pkcs12_kdf("PBE key", "SHA-1", 2048, 20, 24, false);
        assert_eq!(key.cost, 4096);
        assert_eq!(key.what, "PKCS#12 PBE key (SHA-1) with 2048 iterations");
        assert_eq!(
            pkcs12_kdf("MAC key", "SHA-512", 10, 64, 64, true).cost,
            10 * SHA512_WEIGHT
        );
        assert_eq!(pkcs12_kdf("MAC key", "SHA-1", -5, 20, 20, false).cost, 0);
    }

    #[test]
    fn sizes_in_words() {
        assert_eq!(bytes_in_words(8 << 30), "8 GiB");
        assert_eq!(bytes_in_words((8 << 30) + (128 << 10)), "8 GiB");
        assert_eq!(bytes_in_words(2_254_857_830), "2.1 GiB");
        assert_eq!(bytes_in_words(256 << 20), "256 MiB");
    }
}
