//! Test vectors written as hex, as the RFCs print them (spaces and line breaks allowed).

/// The bytes of the hex digits in `s`; anything else is skipped.
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}
