//! NTLM type 3 (AUTHENTICATE_MESSAGE, MS-NLMP §2.2.1.3) with its secrets zeroed in place: the LM
//! and NT challenge responses (what an offline password guess is tested against), the
//! encrypted session key and the MIC. Domain, user and workstation stay, and so do every length
//! and offset: the message still decodes (the UI, the reports and a SAZ read back still name
//! the user) and the header keeps its length.

const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// Security buffers of a type 3 that hold secrets: LmChallengeResponse, NtChallengeResponse,
/// EncryptedRandomSessionKey (offsets of their length/offset fields).
const SECRET_FIELDS: [usize; 3] = [12, 20, 52];

/// Where the MIC sits when the message has one (after the 8-byte version).
const MIC_AT: usize = 72;
const MIC_LEN: usize = 16;

/// The bytes of an NTLM message (bare, or inside SPNEGO: found by its signature) with a type
/// 3's secrets zeroed; None when `bytes` holds no type 3 or it already has none left.
pub(super) fn zero_type3(bytes: &[u8]) -> Option<Vec<u8>> {
    let start = find(bytes, SIGNATURE)?;
    let msg = &bytes[start..];
    if le_u32(msg, 8)? != 3 || msg.len() < 52 {
        return None;
    }
    let mut out = bytes.to_vec();
    let mut changed = false;
    let mut first_payload = usize::MAX;
    for at in [12usize, 20, 28, 36, 44, 52] {
        if let Some((off, len)) = buffer(msg, at) {
            if len > 0 {
                first_payload = first_payload.min(off);
            }
        }
    }
    for at in SECRET_FIELDS {
        let Some((off, len)) = buffer(msg, at) else {
            continue;
        };
        let Some(end) = off.checked_add(len).filter(|&e| e <= msg.len()) else {
            continue;
        };
        for b in &mut out[start + off..start + end] {
            changed |= *b != 0;
            *b = 0;
        }
    }
    // The MIC is there when the payload starts after it (MS-NLMP §3.1.5.1.2 puts it at 72).
    if first_payload != usize::MAX
        && first_payload >= MIC_AT + MIC_LEN
        && msg.len() >= MIC_AT + MIC_LEN
    {
        for b in &mut out[start + MIC_AT..start + MIC_AT + MIC_LEN] {
            changed |= *b != 0;
            *b = 0;
        }
    }
    changed.then_some(out)
}

/// The NT response of a type 3 (the part a password guess is tested against), when there is one.
pub(super) fn nt_response(bytes: &[u8]) -> Option<&[u8]> {
    let start = find(bytes, SIGNATURE)?;
    let msg = &bytes[start..];
    if le_u32(msg, 8)? != 3 {
        return None;
    }
    let (off, len) = buffer(msg, 20)?;
    msg.get(off..off.checked_add(len)?)
        .filter(|r| !r.is_empty())
}

/// Offset and length of the security buffer whose fields are at `at`.
fn buffer(msg: &[u8], at: usize) -> Option<(usize, usize)> {
    let len = usize::from(u16::from_le_bytes(msg.get(at..at + 2)?.try_into().ok()?));
    let off = le_u32(msg, at + 4)? as usize;
    Some((off, len))
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A type 3 with the MIC: header 88 bytes, then LM (24), NT (40), domain, user, workstation,
    /// session key (16).
    fn type3() -> Vec<u8> {
        let mut m = vec![0u8; 88];
        m[..8].copy_from_slice(SIGNATURE);
        m[8..12].copy_from_slice(&3u32.to_le_bytes());
        let parts: [(usize, Vec<u8>); 6] = [
            (12, vec![0x11; 24]),
            (20, vec![0x22; 40]),
            (
                28,
                "CONTOSO"
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes)
                    .collect(),
            ),
            (
                36,
                "alice".encode_utf16().flat_map(u16::to_le_bytes).collect(),
            ),
            (
                44,
                "PHONE".encode_utf16().flat_map(u16::to_le_bytes).collect(),
            ),
            (52, vec![0x33; 16]),
        ];
        for (at, data) in parts {
            let off = m.len() as u32;
            m[at..at + 2].copy_from_slice(&(data.len() as u16).to_le_bytes());
            m[at + 2..at + 4].copy_from_slice(&(data.len() as u16).to_le_bytes());
            m[at + 4..at + 8].copy_from_slice(&off.to_le_bytes());
            m.extend(data);
        }
        m[60..64].copy_from_slice(&0xe288_8215u32.to_le_bytes());
        m[MIC_AT..MIC_AT + MIC_LEN].copy_from_slice(&[0x44; 16]);
        m
    }

    #[test]
    fn zeroes_responses_key_and_mic_keeps_names() {
        let m = type3();
        let z = zero_type3(&m).unwrap();
        assert_eq!(z.len(), m.len());
        for b in [0x11u8, 0x22, 0x33, 0x44] {
            assert!(!z.contains(&b), "{b:#x} left");
        }
        let user: Vec<u8> = "alice".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert!(z.windows(user.len()).any(|w| w == user));
        assert!(zero_type3(&z).is_none(), "nothing left the second time");
        assert!(nt_response(&m).is_some());
    }

    #[test]
    fn other_types_and_garbage_stay() {
        let mut t1 = type3();
        t1[8] = 1;
        assert!(zero_type3(&t1).is_none());
        assert!(zero_type3(b"NTLMSSP\0\x03\0\0\0").is_none());
        assert!(zero_type3(b"").is_none());
        let mut bad = type3();
        bad[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
        let z = zero_type3(&bad).unwrap();
        assert_eq!(z.len(), bad.len());
        // Offsets that claim a MIC in a message too short for one.
        let mut short = type3()[..60].to_vec();
        short[12..20].copy_from_slice(&[1, 0, 1, 0, 200, 0, 0, 0]);
        let _ = zero_type3(&short);
    }
}
