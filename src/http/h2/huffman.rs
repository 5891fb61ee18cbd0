//! HPACK Huffman decoding (RFC 7541 section 5.2 and Appendix B), four bits a step.
//!
//! The code's 256 internal tree nodes are the states of a machine; each (state, nibble) pair
//! gives the next state and at most one decoded byte (the shortest code is 5 bits). The table
//! (256 × 16 entries) is built once from the code table `httlib-huffman` publishes. A
//! five-bit-step bit reader took 200 ns for a 20-byte string, the largest part of decoding a
//! header block; a nibble lookup is a few nanoseconds per byte.

use std::fmt;
use std::sync::OnceLock;

/// Why a Huffman string does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HuffmanError {
    /// The string holds the EOS code, which an encoder never sends.
    Eos,
    /// The last bits are not a prefix of EOS (all ones) of at most 7 bits.
    Padding,
}

impl fmt::Display for HuffmanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HuffmanError::Eos => "the string contains the EOS symbol",
            HuffmanError::Padding => "invalid padding (RFC 7541 section 5.2)",
        })
    }
}

/// One (state, nibble) step.
#[derive(Clone, Copy, Default)]
struct Step {
    next: u8,
    /// A byte was decoded: `byte` is it.
    emits: bool,
    byte: u8,
    /// The nibble runs into EOS.
    fails: bool,
}

struct Machine {
    /// Indexed by a `u8` state: no bounds check in the loop.
    steps: Box<[[Step; 16]; 256]>,
    /// The state may end a string: reached from the root by at most 7 one-bits.
    accepting: [bool; 256],
}

const EOS: u16 = 256;

/// A child in the tree under construction: an internal node or a symbol.
#[derive(Clone, Copy, PartialEq)]
enum Child {
    None,
    Node(u8),
    Symbol(u16),
}

fn machine() -> &'static Machine {
    static MACHINE: OnceLock<Machine> = OnceLock::new();
    MACHINE.get_or_init(build)
}

fn build() -> Machine {
    // The tree: node 0 is the root; a complete code of 257 symbols has 256 internal nodes.
    let mut tree: Vec<[Child; 2]> = vec![[Child::None; 2]];
    for (symbol, &(len, code)) in httlib_huffman::encoder::table::ENCODE_TABLE
        .iter()
        .enumerate()
    {
        let mut node = 0usize;
        for i in (0..len).rev() {
            let bit = ((code >> i) & 1) as usize;
            if i == 0 {
                tree[node][bit] = Child::Symbol(symbol as u16);
            } else {
                node = match tree[node][bit] {
                    Child::Node(n) => usize::from(n),
                    _ => {
                        tree.push([Child::None; 2]);
                        let n = tree.len() - 1;
                        tree[node][bit] = Child::Node(n as u8);
                        n
                    }
                };
            }
        }
    }
    let mut accepting = [false; 256];
    let mut node = 0usize;
    accepting[0] = true;
    for _ in 0..7 {
        match tree[node][1] {
            Child::Node(n) => {
                node = usize::from(n);
                accepting[node] = true;
            }
            _ => break,
        }
    }
    let mut steps = Box::new([[Step::default(); 16]; 256]);
    for (state, row) in steps.iter_mut().enumerate().take(tree.len()) {
        for (nibble, step) in row.iter_mut().enumerate() {
            let mut node = state;
            for i in (0..4).rev() {
                match tree[node][(nibble >> i) & 1] {
                    Child::Node(n) => node = usize::from(n),
                    Child::Symbol(EOS) | Child::None => {
                        step.fails = true;
                        break;
                    }
                    Child::Symbol(s) => {
                        step.emits = true;
                        step.byte = s as u8;
                        node = 0;
                    }
                }
            }
            step.next = node as u8;
        }
    }
    Machine { steps, accepting }
}

/// Appends the decoding of `coded` to `out`.
pub fn decode(coded: &[u8], out: &mut Vec<u8>) -> Result<(), HuffmanError> {
    let m = machine();
    let mut state = 0u8;
    // Every 5 bits or more give one byte: a string decodes to at most 8/5 of its length.
    out.reserve(coded.len() * 8 / 5 + 1);
    for &b in coded {
        for nibble in [b >> 4, b & 0x0f] {
            let step = m.steps[usize::from(state)][usize::from(nibble & 0x0f)];
            if step.fails {
                return Err(HuffmanError::Eos);
            }
            if step.emits {
                out.push(step.byte);
            }
            state = step.next;
        }
    }
    if m.accepting[usize::from(state)] {
        Ok(())
    } else {
        Err(HuffmanError::Padding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ours(coded: &[u8]) -> Result<Vec<u8>, HuffmanError> {
        let mut out = Vec::new();
        decode(coded, &mut out).map(|()| out)
    }

    #[test]
    fn the_tree_is_complete() {
        let m = machine();
        let tree_nodes = 1 + m
            .steps
            .iter()
            .flatten()
            .map(|s| usize::from(s.next))
            .max()
            .unwrap_or(0);
        assert_eq!(tree_nodes, 256, "256 internal nodes");
        assert_eq!(
            m.accepting.iter().filter(|&&a| a).count(),
            8,
            "root and 7 one-bits"
        );
    }

    /// RFC 7541 Appendix C.4.1 and C.6.1.
    #[test]
    fn rfc7541_examples() {
        let www = [
            0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff,
        ];
        assert_eq!(ours(&www).unwrap(), b"www.example.com");
        let date = [
            0xd0, 0x7a, 0xbe, 0x94, 0x10, 0x54, 0xd4, 0x44, 0xa8, 0x20, 0x05, 0x95, 0x04, 0x0b,
            0x81, 0x66, 0xe0, 0x82, 0xa6, 0x2d, 0x1b, 0xff,
        ];
        assert_eq!(ours(&date).unwrap(), b"Mon, 21 Oct 2013 20:13:21 GMT");
        assert_eq!(ours(&[]).unwrap(), b"");
    }

    #[test]
    fn bad_padding_and_eos_are_errors() {
        // '0' is 00000 (5 bits): three padding bits of zeros instead of ones.
        assert_eq!(ours(&[0x00]), Err(HuffmanError::Padding));
        // '0' then 11111111 11111111 ...: more than 7 padding bits.
        assert_eq!(ours(&[0x07, 0xff]), Err(HuffmanError::Padding));
        // EOS is 30 ones.
        assert_eq!(ours(&[0xff, 0xff, 0xff, 0xff]), Err(HuffmanError::Eos));
    }

    proptest! {
        #[test]
        fn decodes_what_httlib_encodes(text in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut coded = Vec::new();
            httlib_huffman::encode(&text, &mut coded).unwrap();
            prop_assert_eq!(ours(&coded), Ok(text));
        }

        #[test]
        fn agrees_with_httlib_on_any_bytes(coded in proptest::collection::vec(any::<u8>(), 0..24)) {
            let mut theirs = Vec::new();
            // httlib does not check padding: where it decodes, we give the same bytes or a
            // padding error; where it fails, so do we.
            match httlib_huffman::decode(&coded, &mut theirs, httlib_huffman::DecoderSpeed::OneBit) {
                Ok(()) => match ours(&coded) {
                    Ok(got) => prop_assert_eq!(got, theirs),
                    Err(e) => prop_assert_eq!(e, HuffmanError::Padding),
                },
                Err(_) => prop_assert!(ours(&coded).is_err()),
            }
        }
    }
}
