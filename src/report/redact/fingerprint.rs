//! Stable fingerprints for secrets: `‹cwt:3f2a91c0›`, a kind and the first hex digits of a
//! keyed hash, so the same value gives the same fingerprint everywhere in one report (a reused
//! ticket stays visible) while the value itself cannot be read back.
//!
//! The key is derived from every secret the analysis holds (a first pass collects them): the
//! same capture redacts the same way in every format and every run, yet a reader of the
//! redacted output, who does not have those secrets, cannot test a guessed password against a
//! fingerprint.

use aho_corasick::AhoCorasick;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Hex digits of the keyed hash a fingerprint shows (32 bits: no collision within a report).
const SHOWN_HEX: usize = 8;

/// Shortest value the catch-all pass looks for in free text: a shorter one (a password such as
/// `1234`) would also match words that are no secret.
const CATCH_ALL_MIN: usize = 8;

pub(super) struct Fingerprints {
    key: [u8; 32],
    /// Values seen (pass one), to derive the key and to find them again in any text.
    seen: BTreeMap<String, &'static str>,
    /// Replacements made, by kind (pass two).
    pub(super) counts: BTreeMap<&'static str, usize>,
    catch_all: Option<(AhoCorasick, Vec<(&'static str, String)>)>,
}

impl Fingerprints {
    /// Pass one: a throw-away key; records every value.
    pub(super) fn collecting() -> Fingerprints {
        Fingerprints {
            key: [0; 32],
            seen: BTreeMap::new(),
            counts: BTreeMap::new(),
            catch_all: None,
        }
    }

    /// Pass two: the key derived from everything pass one saw, and the catch-all over it.
    pub(super) fn keyed(collected: Fingerprints, extra_key_material: &[String]) -> Fingerprints {
        let mut h = Sha256::new();
        h.update(b"lyncscope redaction v1\0");
        for v in collected.seen.keys().map(String::as_str).chain(
            extra_key_material
                .iter()
                .map(String::as_str)
                .collect::<BTreeSet<_>>(),
        ) {
            h.update((v.len() as u64).to_le_bytes());
            h.update(v.as_bytes());
        }
        let key: [u8; 32] = h.finalize().into();
        let mut f = Fingerprints {
            key,
            seen: BTreeMap::new(),
            counts: BTreeMap::new(),
            catch_all: None,
        };
        // Longest first, so a value that contains another is replaced whole.
        let mut known: Vec<(&'static str, String)> = collected
            .seen
            .into_iter()
            .filter(|(v, _)| v.len() >= CATCH_ALL_MIN)
            .map(|(v, k)| (k, v))
            .collect();
        known.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.1.cmp(&b.1)));
        if !known.is_empty() {
            if let Ok(ac) = AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostLongest)
                .build(known.iter().map(|(_, v)| v.as_bytes()))
            {
                f.catch_all = Some((ac, known));
            }
        }
        f
    }

    /// The keyed hash of `value`, in hex (64 digits).
    pub(super) fn digest_hex(&self, value: &str) -> String {
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key) else {
            return String::new();
        };
        mac.update(value.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// `‹kind:3f2a91c0›` for `value` (`‹kind:3f2a91c0 extra›` with words a reader needs, such
    /// as a token's audience), counted under `kind`. An empty value stays empty.
    pub(super) fn replace(
        &mut self,
        kind: &'static str,
        value: &str,
        extra: Option<&str>,
    ) -> String {
        if value.is_empty() || is_fingerprint(value) {
            return value.to_string();
        }
        self.seen.entry(value.to_string()).or_insert(kind);
        *self.counts.entry(kind).or_default() += 1;
        let digest = self.digest_hex(value);
        let short = digest.get(..SHOWN_HEX).unwrap_or(&digest);
        match extra.filter(|e| !e.is_empty()) {
            Some(e) => format!("‹{kind}:{short} {e}›"),
            None => format!("‹{kind}:{short}›"),
        }
    }

    /// Records a value without replacing it here (its replacement is made elsewhere, such as
    /// the responses inside an NTLM message): it counts, and the catch-all finds it again.
    pub(super) fn note(&mut self, kind: &'static str, value: &str) {
        if !value.is_empty() {
            self.seen.entry(value.to_string()).or_insert(kind);
        }
        *self.counts.entry(kind).or_default() += 1;
    }

    /// Makes a value known to the catch-all without counting a replacement.
    pub(super) fn learn(&mut self, kind: &'static str, value: &str) {
        if !value.is_empty() {
            self.seen.entry(value.to_string()).or_insert(kind);
        }
    }

    /// Every known secret (of pass one) left in `text`, replaced by its fingerprint: the
    /// safety net for a secret that shows up again where no rule looks (a finding's words, a
    /// link in a body, a header of its own).
    pub(super) fn sweep_bytes(&mut self, text: &[u8]) -> Option<Vec<u8>> {
        let (ac, known) = self.catch_all.as_ref()?;
        let hits: Vec<(usize, usize, usize)> = ac
            .find_iter(text)
            .map(|m| (m.start(), m.end(), m.pattern().as_usize()))
            .collect();
        if hits.is_empty() {
            return None;
        }
        let hits: Vec<(usize, usize, &'static str, String)> = hits
            .into_iter()
            .map(|(s, e, p)| (s, e, known[p].0, known[p].1.clone()))
            .collect();
        let mut out = Vec::with_capacity(text.len());
        let mut at = 0;
        for (s, e, kind, value) in hits {
            out.extend_from_slice(&text[at..s]);
            out.extend_from_slice(self.replace(kind, &value, None).as_bytes());
            at = e;
        }
        out.extend_from_slice(&text[at..]);
        Some(out)
    }

    /// [`Self::sweep_bytes`] over a string.
    pub(super) fn sweep(&mut self, text: &str) -> String {
        match self.sweep_bytes(text.as_bytes()) {
            Some(b) => String::from_utf8(b)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            None => text.to_string(),
        }
    }
}

/// Already a fingerprint (a value redacted by an earlier rule, or an input redacted before).
pub(super) fn is_fingerprint(value: &str) -> bool {
    value.starts_with('‹') && value.ends_with('›')
}

pub(super) fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_value_same_fingerprint_and_key_from_the_secrets() {
        let mut one = Fingerprints::collecting();
        one.replace("cwt", "AAEBHAEFsecret", None);
        let mut two = Fingerprints::keyed(one, &[]);
        let a = two.replace("cwt", "AAEBHAEFsecret", None);
        let b = two.replace("token", "AAEBHAEFsecret", None);
        assert!(a.starts_with("‹cwt:") && a.ends_with('›'), "{a}");
        assert_eq!(a["‹cwt:".len()..], b["‹token:".len()..]);
        assert_eq!(two.counts.get("cwt"), Some(&1));
        // Another capture (other secrets) gives another key.
        let mut other = Fingerprints::collecting();
        other.replace("cwt", "something else", None);
        let mut other = Fingerprints::keyed(other, &[]);
        assert_ne!(other.replace("cwt", "AAEBHAEFsecret", None), a);
    }

    #[test]
    fn sweep_replaces_known_values_anywhere() {
        let mut one = Fingerprints::collecting();
        one.replace("cwt", "AAEBHAEFsecret", None);
        one.replace("password", "short", None);
        let mut two = Fingerprints::keyed(one, &[]);
        let s = two.sweep("see ?t=AAEBHAEFsecret&x=short");
        assert!(!s.contains("AAEBHAEFsecret"), "{s}");
        assert!(s.contains("short"), "too short to sweep: {s}");
    }
}
