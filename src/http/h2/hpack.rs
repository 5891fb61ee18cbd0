//! HPACK (RFC 7541) for one direction of a connection, over the `loona-hpack` decoder.
//!
//! The block is walked one field representation at a time (their boundaries are plain
//! integers and string lengths), so that a failure is located: what came before it stands,
//! and from there on the dynamic table is unknown. With the table unknown (a capture that
//! starts mid-connection, a lost or oversized block, a decoding error) a field is decoded only
//! when it needs nothing from the dynamic table (static-table references and literals); the
//! others are counted as undecodable, never guessed.
//!
//! Huffman-coded strings are decoded here (`huffman`, four bits a step) and a representation
//! that reads the table is handed to `loona-hpack` with plain strings: loona-hpack builds its
//! Huffman table as hash maps for every string it decodes, which was 80% of the time of an
//! HTTP/2 capture. loona-hpack keeps the dynamic table and decodes what reads it. A literal
//! that reads no table is its static name or literal name and its value, decoded here
//! ([`literal`]); tests hold every representation to what loona-hpack makes of it.
//!
//! Servers send the same few fields over and over, so each distinct representation is worked
//! on once per thread (see [`PLAIN`]): one that does not read the dynamic table (a static
//! reference, a literal with a static or literal name) is remembered as the field it decodes
//! to. The entries literals add to the table are handed to loona-hpack only when a field
//! reads the table, and only those still in it by then (see [`AddedEntries`]). What reads
//! the table is decoded by loona-hpack from its table.

use crate::model::{Headers, HeadersBuilder};
use loona_hpack::decoder::DecoderError;
use loona_hpack::Decoder;

/// A header block longer than this is not decoded (its fields are lost, and so is the
/// dynamic table's state).
pub const MAX_BLOCK: usize = 256 * 1024;

/// The largest dynamic table a peer may ask for (SETTINGS_HEADER_TABLE_SIZE is honoured up to
/// this; a size update beyond it is a decoding error).
pub const MAX_TABLE: usize = 1 << 20;

/// Decoded names and values kept per block; past it fields are still decoded (the table
/// must stay in step) but not kept: a small block may reference big table entries many times.
pub const MAX_DECODED: usize = 1 << 20;

/// Entries of the static table (RFC 7541 Appendix A).
const STATIC_ENTRIES: usize = 61;

/// Added entries kept back from loona-hpack past this many bytes are handed over at once.
const MAX_PENDING: usize = 2 * MAX_TABLE;

/// The longest field representation whose Huffman decoding is cached.
const CACHED_MAX: usize = 128;
/// The cache's sets (a representation goes to one set, by hash, and is in one of its two
/// slots).
const CACHE_SETS: usize = 2048;
/// The cache's entries are appended to one buffer, emptied (with every slot) when it would
/// pass this (an offset into it takes [`OFFSET_BITS`]).
const CACHE_BYTES: usize = 255 * 1024;
const OFFSET_BITS: u32 = 18;

thread_local! {
    /// Representations worked on before, by their bytes: nginx sends every response field as
    /// a fresh Huffman-coded literal, and decoding each distinct one once instead of once per
    /// response took a third off header decoding. What is kept is a function of the bytes
    /// alone (a table index in them is kept as it is), so one cache serves every connection
    /// of a thread.
    static PLAIN: std::cell::RefCell<PlainCache> = std::cell::RefCell::new(PlainCache::default());
}

/// A two-way set-associative cache: a set holds the two representations that hashed to it
/// and were used last. (Direct-mapped, nginx's per-file `etag` and `content-length` fields,
/// a thousand distinct ones on the benchmark capture, pushed out its `server` and `date`
/// fields two thousand times each.)
///
/// Slots and entries are packed (a slot is an offset and a tag, an entry its key and what it
/// gave, side by side in one buffer): a lookup comes between bodies that have been decrypted
/// and hashed through the processor's caches, and an entry spread over three allocations
/// cost three misses, a third of decoding a block.
#[derive(Default)]
struct PlainCache {
    /// Per set, the most recently used slot first: the key's tag above [`OFFSET_BITS`] bits
    /// of 1 + the offset of its entry in `entries`; 0: empty.
    sets: Vec<[u32; 2]>,
    /// Entries: a kind byte, the key's, name's and value's lengths (two bytes each, little
    /// endian), then the key, name and value.
    entries: Vec<u8>,
}

/// What is remembered of a representation.
#[derive(Clone, Copy)]
enum Kept<'a> {
    /// A literal named by a dynamic table entry, with its Huffman strings decoded (for
    /// loona-hpack, which reads the name from its table).
    Plain(&'a [u8]),
    /// The field a representation that does not read the table decodes to.
    Field(&'a [u8], &'a [u8]),
}

const ENTRY_HEAD: usize = 7;

impl PlainCache {
    /// The key's set and tag, from its first and last eight bytes and its length: the same
    /// field's values differ at their end (a date's seconds) or start, and hashing every
    /// byte of every field was a quarter of a cache hit.
    fn place(key: &[u8]) -> (usize, u32) {
        let word = |b: &[u8]| {
            let mut w = [0u8; 8];
            w[..b.len()].copy_from_slice(b);
            u64::from_le_bytes(w)
        };
        let (head, tail) = if key.len() >= 8 {
            (word(&key[..8]), word(&key[key.len() - 8..]))
        } else {
            (word(key), 0)
        };
        let h = ((head ^ (key.len() as u64).rotate_left(40))
            .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
            .rotate_left(23)
            ^ tail)
            .wrapping_mul(0x9e_37_79_b9_7f_4a_7c_15);
        let set = (h >> 40) as usize % CACHE_SETS;
        let tag = ((h >> 51) as u32) << OFFSET_BITS;
        (set, tag)
    }

    fn get(&mut self, key: &[u8]) -> Option<Kept<'_>> {
        let (set, tag) = Self::place(key);
        let slots = self.sets.get_mut(set)?;
        let way = (0..2).find(|&w| {
            slots[w] != 0
                && slots[w] & !((1 << OFFSET_BITS) - 1) == tag
                && Self::key_at(&self.entries, slots[w]) == Some(key)
        })?;
        if way == 1 {
            slots.swap(0, 1);
        }
        let at = (slots[0] & ((1 << OFFSET_BITS) - 1)) as usize - 1;
        let e = self.entries.get(at..)?;
        let (k, n, v) = Self::lens(e)?;
        let text = e.get(ENTRY_HEAD + k..ENTRY_HEAD + k + n + v)?;
        let (name, value) = text.split_at(n);
        Some(if e[0] == 0 {
            Kept::Plain(name)
        } else {
            Kept::Field(name, value)
        })
    }

    /// An entry's key, name and value lengths.
    fn lens(e: &[u8]) -> Option<(usize, usize, usize)> {
        let h = e.get(..ENTRY_HEAD)?;
        let len = |i: usize| usize::from(u16::from_le_bytes([h[1 + 2 * i], h[2 + 2 * i]]));
        Some((len(0), len(1), len(2)))
    }

    /// The key of the entry a slot names.
    fn key_at(entries: &[u8], slot: u32) -> Option<&[u8]> {
        let at = ((slot & ((1 << OFFSET_BITS) - 1)) as usize).checked_sub(1)?;
        let e = entries.get(at..)?;
        let (k, _, _) = Self::lens(e)?;
        e.get(ENTRY_HEAD..ENTRY_HEAD + k)
    }

    /// Keeps `kept` for `key`; keys, names and values are each under 64 KiB (a key is at most
    /// [`CACHED_MAX`] bytes and decodes to at most 8/5 of that).
    fn put(&mut self, key: &[u8], kept: Kept<'_>) {
        let (kind, name, value): (u8, &[u8], &[u8]) = match kept {
            Kept::Plain(plain) => (0, plain, &[]),
            Kept::Field(name, value) => (1, name, value),
        };
        let lens = [key.len(), name.len(), value.len()].map(u16::try_from);
        let [Ok(k), Ok(n), Ok(v)] = lens else {
            return;
        };
        let need = ENTRY_HEAD + key.len() + name.len() + value.len();
        if self.sets.is_empty() || self.entries.len() + need > CACHE_BYTES {
            self.sets.clear();
            self.sets.resize(CACHE_SETS, [0; 2]);
            self.entries.clear();
        }
        let at = self.entries.len();
        self.entries.reserve(need);
        self.entries.push(kind);
        for l in [k, n, v] {
            self.entries.extend_from_slice(&l.to_le_bytes());
        }
        self.entries.extend_from_slice(key);
        self.entries.extend_from_slice(name);
        self.entries.extend_from_slice(value);
        // (Under CACHE_BYTES: 1 + the offset fits in OFFSET_BITS.)
        let (set, tag) = Self::place(key);
        let slots = &mut self.sets[set];
        *slots = [tag | (at as u32 + 1), slots[0]];
    }
}

/// What one header block gave.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    pub fields: Headers,
    /// Field representations that could not be decoded (table state unknown or an error).
    pub undecodable: usize,
    /// Fields decoded but not kept (past [`MAX_DECODED`]).
    pub dropped: usize,
    /// The decoding error that made the table's state unknown, in words.
    pub error: Option<String>,
}

/// The HPACK decoding context of one direction.
pub struct HeaderDecoder {
    table: Decoder<'static>,
    known: bool,
    /// A representation with its Huffman strings decoded, and one decoded string (both
    /// reused from field to field).
    plain: Vec<u8>,
    text: Vec<u8>,
    /// A decoded field to remember: name, then value.
    field: Vec<u8>,
    /// Entries added to the table, not yet handed to `table`.
    added: AddedEntries,
    /// Fields of table references decoded since the table last changed.
    refs: RefMemo,
    /// The block's fields as they are decoded: one buffer for every block, copied out at its
    /// exact size (a buffer sized for each block, then shrunk, was a tenth of decoding).
    fields: HeadersBuilder,
}

impl HeaderDecoder {
    /// `known`: the connection's start was captured, so the dynamic table starts empty.
    pub fn new(known: bool) -> HeaderDecoder {
        let mut table = Decoder::new();
        table.set_max_allowed_table_size(MAX_TABLE);
        HeaderDecoder {
            table,
            known,
            plain: Vec::new(),
            text: Vec::new(),
            field: Vec::new(),
            added: AddedEntries::new(),
            refs: RefMemo::default(),
            fields: HeadersBuilder::default(),
        }
    }

    pub fn known(&self) -> bool {
        self.known
    }

    /// The dynamic table's content is no longer known (bytes or a block were lost).
    pub fn lose_state(&mut self) {
        self.forget();
    }

    fn forget(&mut self) {
        self.known = false;
        self.added.clear();
        self.refs.clear();
    }

    /// The receiver's SETTINGS_HEADER_TABLE_SIZE: the largest table the sender's encoder may
    /// size its table to (RFC 7541 section 4.2).
    pub fn set_allowed_table_size(&mut self, size: u32) {
        let size = usize::try_from(size).unwrap_or(usize::MAX).min(MAX_TABLE);
        self.flush_added();
        self.table.set_max_allowed_table_size(size);
        self.added.allowed = size;
    }

    /// Hands loona-hpack the entries added since it last saw the table.
    fn flush_added(&mut self) {
        if self.known {
            self.added.flush_into(&mut self.table);
        } else {
            self.added.clear();
        }
    }

    /// Decodes one complete header block (HEADERS or PUSH_PROMISE plus its CONTINUATIONs).
    pub fn decode(&mut self, block: &[u8]) -> Decoded {
        let mut out = Decoded::default();
        if block.len() > MAX_BLOCK {
            self.forget();
            out.undecodable = 1;
            out.error = Some(format!(
                "header block of {} bytes is over the limit of {MAX_BLOCK}: not decoded",
                block.len()
            ));
            return out;
        }
        let mut list = FieldList {
            fields: std::mem::take(&mut self.fields),
            kept: 0,
            dropped: 0,
            undecodable: 0,
        };
        let mut at = 0usize;
        while at < block.len() {
            let Some(rep) = representation(&block[at..]) else {
                // The boundaries themselves are broken: nothing after this can be read.
                out.undecodable += 1;
                if self.known {
                    out.error = Some("malformed field representation".into());
                }
                self.forget();
                break;
            };
            let rep_bytes = &block[at..at + rep.len];
            at += rep.len;
            if let Err(error) = self.field(&rep, rep_bytes, &mut list) {
                // A field that does not decode leaves the table's state unknown from here on
                // (it may have been one to add).
                if self.known {
                    out.error = Some(error);
                }
                self.forget();
                out.undecodable += 1;
            }
            if self.added.pending_bytes() > MAX_PENDING {
                // Entries are dropped only when the table's size may be set; a peer that
                // lowered the allowed size and never sent the size update it owes would
                // otherwise grow the list without end.
                self.flush_added();
            }
        }
        out.undecodable += list.undecodable;
        out.dropped = list.dropped;
        out.fields = list.fields.take();
        self.fields = list.fields;
        out
    }

    /// Decodes one field representation into `list`. A field that needs the table while its
    /// state is unknown is counted undecodable there (not an error).
    fn field(&mut self, rep: &Rep, bytes: &[u8], list: &mut FieldList) -> Result<(), String> {
        if rep.prefix == 6 || rep.kind == Kind::SizeUpdate {
            // An entry is added (every index moves on by one) or the size changes.
            self.refs.clear();
        }
        if rep.kind == Kind::Indexed && !rep.reads_table() {
            let (n, v) = static_field(rep.index).ok_or("HPACK decoding error: index 0")?;
            list.push(n, v);
            return Ok(());
        }
        // A request's :path (static entries 4 and 5 name it) is new in nearly every request:
        // caching it would only push out the values that do repeat.
        let cache =
            bytes.len() <= CACHED_MAX && !(rep.kind == Kind::Literal && matches!(rep.index, 4 | 5));
        if rep.reads_table() || rep.kind == Kind::SizeUpdate {
            if !self.known {
                // The table's size does not matter while its content is unknown; what is in
                // it cannot be guessed.
                list.undecodable += usize::from(rep.kind != Kind::SizeUpdate);
                return Ok(());
            }
            if rep.kind == Kind::Indexed {
                if let Some((n, v)) = self.refs.get(rep.index) {
                    list.push(n, v);
                    return Ok(());
                }
            }
            self.flush_added();
            let mut bytes = bytes;
            if rep.kind == Kind::Literal
                && unhuffman_cached(bytes, rep.prefix, cache, &mut self.plain, &mut self.text)
                    .map_err(|e| format!("HPACK decoding error: Huffman: {e}"))?
            {
                bytes = &self.plain;
            }
            let refs = &mut self.refs;
            let index = (rep.kind == Kind::Indexed).then_some(rep.index);
            let each = |n: std::borrow::Cow<[u8]>, v: std::borrow::Cow<[u8]>| {
                list.push(&n, &v);
                if let Some(index) = index {
                    refs.put(index, &n, &v);
                }
            };
            match self.table.decode_with_cb(bytes, each) {
                Ok(()) => {}
                // A size update decoded on its own is "at the end" of what it was given.
                Err(DecoderError::SizeUpdateAtEnd) if rep.kind == Kind::SizeUpdate => {}
                Err(e) => return Err(format!("HPACK decoding error: {e:?}")),
            }
            if rep.kind == Kind::SizeUpdate {
                // (Nothing is pending: it was handed over above.)
                self.added.table_max = rep.index;
            }
            return Ok(());
        }
        // A literal that does not read the table: its field is a function of its bytes.
        let adds = rep.prefix == 6 && self.known;
        let added = &mut self.added;
        let hit = cache
            && PLAIN.with_borrow_mut(|c| match c.get(bytes) {
                Some(Kept::Field(n, v)) => {
                    list.push(n, v);
                    if adds {
                        added.push(n, v);
                    }
                    true
                }
                _ => false,
            });
        if hit {
            return Ok(());
        }
        let field = &mut self.field;
        let name_len = literal(bytes, rep.prefix, field)
            .map_err(|e| format!("HPACK decoding error: Huffman: {e}"))?;
        let (n, v) = field.split_at(name_len);
        list.push(n, v);
        if adds {
            self.added.push(n, v);
        }
        if cache {
            PLAIN.with_borrow_mut(|c| c.put(bytes, Kept::Field(n, v)));
        }
        Ok(())
    }
}

/// The fields of the dynamic table entries referred to since the table last changed, by
/// index: a client names the same few entries in every request (curl: `:authority`,
/// `user-agent`, `accept`), and each reference handed to loona-hpack read an entry held in
/// two allocations of its own.
#[derive(Default)]
struct RefMemo {
    /// Index, then where the name starts, where the value starts and where it ends in `text`.
    refs: Vec<(usize, usize, usize, usize)>,
    text: Vec<u8>,
}

impl RefMemo {
    /// References remembered at most.
    const MAX: usize = 16;
    /// The longest field remembered (name and value).
    const FIELD_MAX: usize = 512;

    fn clear(&mut self) {
        self.refs.clear();
        self.text.clear();
    }

    fn get(&self, index: usize) -> Option<(&[u8], &[u8])> {
        let &(_, name, value, end) = self.refs.iter().find(|r| r.0 == index)?;
        Some((self.text.get(name..value)?, self.text.get(value..end)?))
    }

    fn put(&mut self, index: usize, name: &[u8], value: &[u8]) {
        if self.refs.len() >= Self::MAX || name.len() + value.len() > Self::FIELD_MAX {
            return;
        }
        let start = self.text.len();
        self.text.extend_from_slice(name);
        self.text.extend_from_slice(value);
        self.refs
            .push((index, start, start + name.len(), self.text.len()));
    }
}

/// Entries added to the dynamic table that loona-hpack has not been given yet: it gets them
/// when a field reads the table (or its size changes), and only those still in it by then.
/// A server that adds every response field and never refers back to one (nginx 1.22 does)
/// then costs no table work: handing loona-hpack each entry (it allocates, evicts and frees
/// them) was a quarter of header decoding on such a capture.
struct AddedEntries {
    /// The entries as literal representations with incremental indexing and literal names
    /// (what loona-hpack is handed), from `head` on.
    reps: Vec<u8>,
    head: usize,
    /// Each pending entry's representation length and table size (RFC 7541 section 4.1).
    entries: std::collections::VecDeque<(usize, usize)>,
    /// Sum of the pending entries' sizes.
    size: usize,
    /// Every entry loona-hpack holds is evicted by the pending ones.
    emptied: bool,
    /// The table's maximum size (4,096 until a size update) and the largest one allowed.
    table_max: usize,
    allowed: usize,
}

impl AddedEntries {
    fn new() -> AddedEntries {
        AddedEntries {
            reps: Vec::new(),
            head: 0,
            entries: std::collections::VecDeque::new(),
            size: 0,
            emptied: false,
            table_max: 4096,
            allowed: MAX_TABLE,
        }
    }

    /// Bytes of the representations not yet handed over.
    fn pending_bytes(&self) -> usize {
        self.reps.len() - self.head
    }

    fn clear(&mut self) {
        self.reps.clear();
        self.head = 0;
        self.entries.clear();
        self.size = 0;
        self.emptied = false;
    }

    fn push(&mut self, name: &[u8], value: &[u8]) {
        let start = self.reps.len();
        if name.len() < 0x7f && value.len() < 0x7f {
            // One-byte lengths (nearly every field): one reservation, no integer coding.
            self.reps.reserve(3 + name.len() + value.len());
            self.reps.push(0x40);
            self.reps.push(name.len() as u8);
            self.reps.extend_from_slice(name);
            self.reps.push(value.len() as u8);
            self.reps.extend_from_slice(value);
        } else {
            put_integer(&mut self.reps, 0, 6, 0x40);
            put_integer(&mut self.reps, name.len(), 7, 0);
            self.reps.extend_from_slice(name);
            put_integer(&mut self.reps, value.len(), 7, 0);
            self.reps.extend_from_slice(value);
        }
        let size = name.len() + value.len() + 32;
        self.entries.push_back((self.reps.len() - start, size));
        self.size += size;
        self.fit();
    }

    /// Drops the pending entries the later ones evict. Adding entries evicts the oldest
    /// until what is left fits, so the table ends as the newest entries that fit together:
    /// while the pending ones alone do not fit, the oldest of them (and everything before it)
    /// will not be there.
    fn fit(&mut self) {
        // Emptying loona-hpack's table sets its size, which must be allowed (it is, unless a
        // SETTINGS frame lowered the allowed size since the size was set).
        if self.table_max > self.allowed {
            return;
        }
        while self.size > self.table_max {
            let Some((len, size)) = self.entries.pop_front() else {
                break;
            };
            self.head += len;
            self.size -= size;
            self.emptied = true;
        }
        if self.entries.is_empty() {
            self.reps.clear();
            self.head = 0;
        } else if self.head > 1 << 16 && self.head > self.reps.len() / 2 {
            self.reps.drain(..self.head);
            self.head = 0;
        }
    }

    fn flush_into(&mut self, table: &mut Decoder<'static>) {
        if self.emptied {
            table.set_max_table_size(0);
            table.set_max_table_size(self.table_max);
        }
        if self.head < self.reps.len() {
            // Representations written above: they decode.
            let _ = table.decode_with_cb(&self.reps[self.head..], |_, _| {});
        }
        self.clear();
    }
}

/// The fields of the block being decoded.
struct FieldList {
    fields: HeadersBuilder,
    /// Bytes of names and values kept so far.
    kept: usize,
    dropped: usize,
    /// Fields that need the table while its state is unknown.
    undecodable: usize,
}

impl FieldList {
    /// Keeps a field, or counts it dropped past [`MAX_DECODED`].
    fn push(&mut self, name: &[u8], value: &[u8]) {
        self.kept += name.len() + value.len();
        if self.kept > MAX_DECODED {
            self.dropped += 1;
        } else {
            self.fields.push(name, value);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Indexed,
    Literal,
    SizeUpdate,
}

/// One field representation's extent (RFC 7541 section 6).
struct Rep {
    kind: Kind,
    /// The bits of the first integer (the index).
    prefix: u8,
    /// The table index it names (0: a literal name).
    index: usize,
    len: usize,
}

impl Rep {
    /// Reads the dynamic table: a reference to it, or a literal named by one of its entries
    /// (index 0 of a reference is an error, which the table decoder reports).
    fn reads_table(&self) -> bool {
        match self.kind {
            Kind::Indexed => !(1..=STATIC_ENTRIES).contains(&self.index),
            Kind::Literal => self.index > STATIC_ENTRIES,
            Kind::SizeUpdate => false,
        }
    }
}

/// Static table entry `index` (1 to 61) as loona-hpack decodes a reference to it: a block's
/// static references (`:method GET`, `:status 200`) then cost an array lookup.
fn static_field(index: usize) -> Option<(&'static [u8], &'static [u8])> {
    type Field = (Box<[u8]>, Box<[u8]>);
    static FIELDS: std::sync::OnceLock<Vec<Field>> = std::sync::OnceLock::new();
    let fields = FIELDS.get_or_init(|| {
        (1..=STATIC_ENTRIES)
            .map(|i| {
                let mut field = Field::default();
                let _ = Decoder::new().decode_with_cb(&[0x80 | i as u8], |n, v| {
                    field = (n.as_ref().into(), v.as_ref().into());
                });
                field
            })
            .collect()
    });
    let (n, v) = fields.get(index.checked_sub(1)?)?;
    Some((n, v))
}

/// [`unhuffman`] through the thread's cache of decoded representations.
fn unhuffman_cached(
    rep: &[u8],
    prefix: u8,
    cache: bool,
    out: &mut Vec<u8>,
    text: &mut Vec<u8>,
) -> Result<bool, super::huffman::HuffmanError> {
    if !cache || rep.len() > CACHED_MAX {
        return unhuffman(rep, prefix, out, text);
    }
    let hit = PLAIN.with_borrow_mut(|cache| match cache.get(rep) {
        Some(Kept::Plain(plain)) => {
            out.clear();
            out.extend_from_slice(plain);
            true
        }
        _ => false,
    });
    if hit {
        return Ok(true);
    }
    let coded = unhuffman(rep, prefix, out, text)?;
    if coded {
        PLAIN.with_borrow_mut(|cache| cache.put(rep, Kept::Plain(out)));
    }
    Ok(coded)
}

/// A string literal as sent, and whether it is Huffman-coded.
type StringLiteral<'a> = (&'a [u8], bool);

/// A literal representation's index (0: a literal name) with the bytes before its strings,
/// and its strings (RFC 7541 section 5.2) as sent, each with its Huffman flag: the name when
/// it is literal, then the value. `None` when `rep` is cut short.
fn literal_parts(rep: &[u8], prefix: u8) -> Option<(usize, usize, [Option<StringLiteral<'_>>; 2])> {
    let (index, head) = integer(rep, prefix)?;
    let mut at = head;
    let mut strings = [None; 2];
    for string in strings.iter_mut().take(if index == 0 { 2 } else { 1 }) {
        let huffman = rep.get(at)? & 0x80 != 0;
        let (n, used) = integer(&rep[at..], 7)?;
        *string = Some((rep.get(at + used..at + used + n)?, huffman));
        at += used + n;
    }
    Some((index, head, strings))
}

/// Appends string literal `raw` to `out`, Huffman-decoded when `huffman`.
fn push_string(
    raw: &[u8],
    huffman: bool,
    out: &mut Vec<u8>,
) -> Result<(), super::huffman::HuffmanError> {
    if huffman {
        super::huffman::decode(raw, out)
    } else {
        out.extend_from_slice(raw);
        Ok(())
    }
}

/// Writes into `out` the literal representation `rep` with its Huffman-coded strings decoded
/// (H bit cleared); false when it has none (nothing written, use it as it is).
/// `text` is scratch room for one decoded string.
fn unhuffman(
    rep: &[u8],
    prefix: u8,
    out: &mut Vec<u8>,
    text: &mut Vec<u8>,
) -> Result<bool, super::huffman::HuffmanError> {
    let Some((_, head, strings)) = literal_parts(rep, prefix) else {
        return Ok(false);
    };
    if strings.iter().flatten().all(|&(_, huffman)| !huffman) {
        return Ok(false);
    }
    out.clear();
    out.extend_from_slice(&rep[..head]);
    for (raw, huffman) in strings.into_iter().flatten() {
        text.clear();
        push_string(raw, huffman, text)?;
        put_integer(out, text.len(), 7, 0);
        out.extend_from_slice(text);
    }
    Ok(true)
}

/// Writes into `field` the name and value of the literal representation `rep` whose name is
/// a literal or a static table entry (its first integer, with a `prefix`-bit prefix, is 0 or
/// 1 to 61), and returns the name's length. `rep` is one whole representation (as
/// [`representation`] finds it).
fn literal(
    rep: &[u8],
    prefix: u8,
    field: &mut Vec<u8>,
) -> Result<usize, super::huffman::HuffmanError> {
    field.clear();
    let Some((index, _, strings)) = literal_parts(rep, prefix) else {
        return Ok(0);
    };
    let mut strings = strings.into_iter().flatten();
    if index != 0 {
        field.extend_from_slice(static_field(index).map_or(&[][..], |(n, _)| n));
    } else if let Some((raw, huffman)) = strings.next() {
        push_string(raw, huffman, field)?;
    }
    let name_len = field.len();
    if let Some((raw, huffman)) = strings.next() {
        push_string(raw, huffman, field)?;
    }
    Ok(name_len)
}

/// An HPACK integer with an N-bit prefix (RFC 7541 section 5.1) after the `flags` bits.
fn put_integer(out: &mut Vec<u8>, mut value: usize, prefix: u8, flags: u8) {
    let mask = (1usize << prefix) - 1;
    if value < mask {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | mask as u8);
    value -= mask;
    while value >= 0x80 {
        out.push((value & 0x7f) as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn representation(b: &[u8]) -> Option<Rep> {
    let first = *b.first()?;
    let (kind, prefix) = if first & 0x80 != 0 {
        (Kind::Indexed, 7)
    } else if first & 0xc0 == 0x40 {
        (Kind::Literal, 6)
    } else if first & 0xe0 == 0x20 {
        (Kind::SizeUpdate, 5)
    } else {
        (Kind::Literal, 4)
    };
    let (index, mut len) = integer(b, prefix)?;
    if kind == Kind::Literal {
        if index == 0 {
            len += string_len(b.get(len..)?)?;
        }
        len += string_len(b.get(len..)?)?;
    }
    Some(Rep {
        kind,
        prefix,
        index,
        len,
    })
}

/// A string literal's whole length (length prefix included).
fn string_len(b: &[u8]) -> Option<usize> {
    let (n, used) = integer(b, 7)?;
    let end = used.checked_add(n)?;
    (end <= b.len()).then_some(end)
}

/// An HPACK integer with an N-bit prefix (RFC 7541 section 5.1): value and bytes used.
fn integer(b: &[u8], prefix: u8) -> Option<(usize, usize)> {
    let mask = (1usize << prefix) - 1;
    let mut value = usize::from(*b.first()?) & mask;
    if value < mask {
        return Some((value, 1));
    }
    // Five continuation bytes reach 2^35: more is no sane length.
    for (i, &c) in b.iter().enumerate().skip(1).take(5) {
        value += usize::from(c & 0x7f) << (7 * (i - 1));
        if c & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn pairs(d: &Decoded) -> Vec<(&str, &str)> {
        d.fields.iter().collect()
    }

    /// RFC 7541 C.6.1, the first response with Huffman coding, after a size update to the
    /// table size the example uses (256) at the block's start.
    fn c6_first() -> Vec<u8> {
        let mut first = vec![0x3f, 0xe1, 0x01];
        first.extend(hex(
            "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
             2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
        ));
        first
    }

    const C6_FIRST: [(&str, &str); 4] = [
        (":status", "302"),
        ("cache-control", "private"),
        ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
        ("location", "https://www.example.com"),
    ];

    /// C.6.2: the second response, three of its fields from the table the first one filled.
    const C6_SECOND: &str = "4883 640e ffc1 c0bf";

    const C6_SECOND_FIELDS: [(&str, &str); 4] = [
        (":status", "307"),
        ("cache-control", "private"),
        ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
        ("location", "https://www.example.com"),
    ];

    /// RFC 7541 Appendix C.3: requests without Huffman coding, one decoder for the three.
    #[test]
    fn rfc7541_c3_requests_without_huffman() {
        let mut d = HeaderDecoder::new(true);
        let first = d.decode(&hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"));
        assert_eq!(
            pairs(&first),
            [
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com")
            ]
        );
        let second = d.decode(&hex("8286 84be 5808 6e6f 2d63 6163 6865"));
        assert_eq!(
            pairs(&second),
            [
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com"),
                ("cache-control", "no-cache")
            ]
        );
        let third = d.decode(&hex(
            "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
        ));
        assert_eq!(
            pairs(&third),
            [
                (":method", "GET"),
                (":scheme", "https"),
                (":path", "/index.html"),
                (":authority", "www.example.com"),
                ("custom-key", "custom-value")
            ]
        );
        assert!(d.known());
    }

    /// RFC 7541 Appendix C.6: responses with Huffman coding, a 256-byte table (evictions).
    #[test]
    fn rfc7541_c6_responses_with_huffman_and_eviction() {
        let mut d = HeaderDecoder::new(true);
        assert_eq!(pairs(&d.decode(&c6_first())), C6_FIRST);
        let r2 = d.decode(&hex(C6_SECOND));
        assert_eq!(pairs(&r2), C6_SECOND_FIELDS);
        let r3 = d.decode(&hex(
            "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
             77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
             9587 3160 65c0 03ed 4ee5 b106 3d50 07",
        ));
        assert_eq!(
            pairs(&r3),
            [
                (":status", "200"),
                ("cache-control", "private"),
                ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
                ("location", "https://www.example.com"),
                ("content-encoding", "gzip"),
                (
                    "set-cookie",
                    "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"
                )
            ]
        );
    }

    /// A representation decoded before (here by another connection's decoder) comes from the
    /// thread's cache and still goes into the dynamic table: C.6's second response refers to
    /// the entries its first one added.
    /// A representation used again keeps its place when one other representation of its set
    /// comes, and the least recently used of the two gives way to a third.
    #[test]
    fn the_cache_keeps_the_two_last_used_of_a_set() {
        let key = |i: u32| format!("field {i}").into_bytes();
        let set = |k: &[u8]| PlainCache::place(k).0;
        let a = key(0);
        let same: Vec<Vec<u8>> = (1..)
            .map(key)
            .filter(|k| set(k) == set(&a))
            .take(2)
            .collect();
        let (b, c) = (&same[0], &same[1]);
        let mut cache = PlainCache::default();
        let found = |cache: &mut PlainCache, k: &[u8]| match cache.get(k) {
            Some(Kept::Field(n, v)) => Some((n.to_vec(), v.to_vec())),
            _ => None,
        };
        cache.put(&a, Kept::Field(b"name-a", b"value-a"));
        cache.put(b, Kept::Field(b"name-b", b"value-b"));
        assert_eq!(
            found(&mut cache, &a),
            Some((b"name-a".to_vec(), b"value-a".to_vec()))
        );
        // `a` was used last: `b` gives way to `c`.
        cache.put(c, Kept::Field(b"name-c", b"value-c"));
        assert!(found(&mut cache, b).is_none());
        assert!(found(&mut cache, &a).is_some());
        assert_eq!(
            found(&mut cache, c),
            Some((b"name-c".to_vec(), b"value-c".to_vec()))
        );
    }

    #[test]
    fn cached_representations_still_fill_the_table() {
        let mut other = HeaderDecoder::new(true);
        assert_eq!(pairs(&other.decode(&c6_first())), C6_FIRST);
        let mut d = HeaderDecoder::new(true);
        assert_eq!(pairs(&d.decode(&c6_first())), C6_FIRST);
        let r2 = d.decode(&hex(C6_SECOND));
        assert_eq!(r2.error, None);
        assert_eq!(pairs(&r2), C6_SECOND_FIELDS);
    }

    /// Static references decode to RFC 7541 Appendix A's entries (first, common, last).
    #[test]
    fn static_references_are_appendix_a() {
        let r = HeaderDecoder::new(true).decode(&[0x81, 0x82, 0x88, 0x9f, 0xbd]);
        assert_eq!(
            pairs(&r),
            [
                (":authority", ""),
                (":method", "GET"),
                (":status", "200"),
                ("content-type", ""),
                ("www-authenticate", "")
            ]
        );
        assert_eq!(static_field(0), None);
        assert_eq!(static_field(62), None);
    }

    /// A remembered field is only one that needs no table: a literal not indexed whose name is
    /// a dynamic entry (62 here) decodes by each decoder's own table, and a literal name or a
    /// static one the same in every decoder, whatever its table holds.
    #[test]
    fn literals_named_by_the_dynamic_table_are_not_remembered() {
        let mut a = HeaderDecoder::new(true);
        let mut b = HeaderDecoder::new(true);
        // Literals with incremental indexing, new names: each table's entry 62.
        assert_eq!(pairs(&a.decode(b"\x40\x03x-a\x011")), [("x-a", "1")]);
        assert_eq!(pairs(&b.decode(b"\x40\x03x-b\x012")), [("x-b", "2")]);
        // Without indexing: name 62 (15 + 47), value "v"; then name 28 (content-length), "5".
        let block = b"\x0f\x2f\x01v\x0f\x0d\x015";
        for _ in 0..2 {
            assert_eq!(
                pairs(&a.decode(block)),
                [("x-a", "v"), ("content-length", "5")]
            );
            assert_eq!(
                pairs(&b.decode(block)),
                [("x-b", "v"), ("content-length", "5")]
            );
        }
        // A decoder that lost its table still decodes the static-named one, not the other.
        let mut lost = HeaderDecoder::new(false);
        let r = lost.decode(block);
        assert_eq!(pairs(&r), [("content-length", "5")]);
        assert_eq!(r.undecodable, 1);
    }

    /// A peer that lowered the allowed table size below the table's size and never sent the
    /// size update it owes: the entries its literals add are still handed over in bounded
    /// batches, and a reference to the newest still reads it.
    #[test]
    fn added_entries_stay_bounded_when_the_size_cannot_be_set() {
        let mut d = HeaderDecoder::new(true);
        d.set_allowed_table_size(0); // the table stays at 4,096 until a size update
        let value = vec![b'v'; 100];
        let mut rep = vec![0x40, 0x01, b'x', 100];
        rep.extend_from_slice(&value);
        let block: Vec<u8> = rep.repeat(1000);
        for _ in 0..40 {
            let r = d.decode(&block);
            assert_eq!(r.fields.len(), 1000);
            assert!(d.added.pending_bytes() <= MAX_PENDING + rep.len());
        }
        let r = d.decode(&[0xbe]); // index 62: the newest entry
        assert_eq!(r.error, None);
        assert_eq!(pairs(&r), [("x", "v".repeat(100).as_str())]);
    }

    /// With the table unknown, static references and literals decode; dynamic references
    /// are counted, never guessed.
    #[test]
    fn unknown_table_decodes_only_what_needs_no_table() {
        let mut d = HeaderDecoder::new(false);
        // C.3's second request: 82 86 84 (static), be (dynamic 62), 58 08 "no-cache" (literal
        // value, static name cache-control).
        let r = d.decode(&hex("8286 84be 5808 6e6f 2d63 6163 6865"));
        assert_eq!(
            pairs(&r),
            [
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                ("cache-control", "no-cache")
            ]
        );
        assert_eq!(r.undecodable, 1);
        assert!(!d.known());
    }

    #[test]
    fn errors_are_located_and_bounded() {
        let mut d = HeaderDecoder::new(true);
        // a reference past the (empty) dynamic table, then a static one
        let r = d.decode(&[0xbe, 0x82]);
        assert_eq!(pairs(&r), [(":method", "GET")]);
        assert_eq!(r.undecodable, 1);
        assert!(r.error.is_some() && !d.known());
        // a string longer than the block
        let r = d.decode(&[0x40, 0x7f, 0x7f]);
        assert_eq!(r.undecodable, 1);
        // too big a block
        let r = HeaderDecoder::new(true).decode(&vec![0x82; MAX_BLOCK + 1]);
        assert!(r.fields.is_empty() && r.error.is_some());
        // a size update over the allowed size
        let mut d = HeaderDecoder::new(true);
        d.set_allowed_table_size(100);
        let r = d.decode(&[0x3f, 0xe1, 0x01, 0x82]);
        assert!(r.error.is_some());
    }

    #[test]
    fn many_references_to_a_big_entry_are_not_all_kept() {
        let mut d = HeaderDecoder::new(true);
        let mut block = vec![0x40, 0x01, b'x', 0x7f, 0xb9, 0x16]; // "x": 3000 bytes
        block.extend(std::iter::repeat_n(b'v', 3000));
        block.extend(std::iter::repeat_n(0xbe, 1000)); // index 62 a thousand times
        let r = d.decode(&block);
        assert!(r.dropped > 0);
        assert!(r.fields.len() * 3001 <= MAX_DECODED);
        assert_eq!(r.fields.len() + r.dropped, 1001);
        assert!(d.known());
    }

    /// Blocks of every kind of representation, with small tables (evictions, entries bigger
    /// than the table, size updates) and references to every entry of the table and just
    /// past it: decoded here as loona-hpack decodes them when it is given every block whole.
    /// The entries added and not yet read are handed to loona-hpack late, or not at all when
    /// later ones evict them: this checks that the table read is the same.
    mod table_like_loona {
        use super::super::*;
        use proptest::prelude::*;
        use std::collections::VecDeque;

        #[derive(Debug, Clone)]
        enum Name {
            Static(usize),
            /// The k-th entry of the dynamic table as it is then (k modulo its length; a
            /// static entry when it is empty).
            Dynamic(usize),
            Literal(Vec<u8>),
        }

        #[derive(Debug, Clone)]
        enum Field {
            Static(usize),
            Dynamic(usize),
            /// Flags 0x40 (incremental indexing), 0x00 (without), 0x10 (never indexed).
            Literal(u8, Name, Vec<u8>, bool),
        }

        fn text() -> impl Strategy<Value = Vec<u8>> {
            prop_oneof![
                6 => proptest::collection::vec(b'a'..=b'd', 0..4),
                3 => proptest::collection::vec(b'a'..=b'z', 0..90),
                1 => proptest::collection::vec(b'a'..=b'z', 200..400),
            ]
        }

        fn field() -> impl Strategy<Value = Field> {
            let name = prop_oneof![
                (1usize..=61).prop_map(Name::Static),
                any::<usize>().prop_map(Name::Dynamic),
                text().prop_map(Name::Literal),
            ];
            prop_oneof![
                1 => (1usize..=61).prop_map(Field::Static),
                2 => any::<usize>().prop_map(Field::Dynamic),
                4 => (prop_oneof![3 => Just(0x40u8), 1 => Just(0x00), 1 => Just(0x10)], name, text(), any::<bool>())
                    .prop_map(|(f, n, v, h)| Field::Literal(f, n, v, h)),
            ]
        }

        fn string(out: &mut Vec<u8>, s: &[u8], huffman: bool) {
            if huffman {
                let mut coded = Vec::new();
                httlib_huffman::encode(s, &mut coded).unwrap();
                put_integer(out, coded.len(), 7, 0x80);
                out.extend_from_slice(&coded);
            } else {
                put_integer(out, s.len(), 7, 0);
                out.extend_from_slice(s);
            }
        }

        /// The encoder's view of the dynamic table: each entry's name and value lengths,
        /// newest first, and the table's maximum size (RFC 7541 section 4).
        struct Table {
            entries: VecDeque<(usize, usize)>,
            max: usize,
        }

        impl Table {
            fn size(&self) -> usize {
                self.entries.iter().map(|(n, v)| n + v + 32).sum()
            }
            fn evict(&mut self) {
                while self.size() > self.max {
                    self.entries.pop_back();
                }
            }
            /// Always in the table (a reference out of it ends a block, see [`Block`]).
            fn index(&self, k: usize) -> usize {
                if self.entries.is_empty() {
                    1 + k % 61
                } else {
                    62 + k % self.entries.len()
                }
            }
            fn name_len(&self, index: usize) -> usize {
                if index <= 61 {
                    static_field(index).unwrap().0.len()
                } else {
                    self.entries.get(index - 62).map_or(0, |e| e.0)
                }
            }
        }

        fn encode(t: &mut Table, size: Option<usize>, fields: &[Field]) -> Vec<u8> {
            let mut out = Vec::new();
            // (A block of only a size update is one loona-hpack refuses and this decoder
            // takes: not what is compared here.)
            if let Some(size) = size.filter(|_| !fields.is_empty()) {
                put_integer(&mut out, size, 5, 0x20);
                t.max = size;
                t.evict();
            }
            for f in fields {
                match f {
                    Field::Static(i) => put_integer(&mut out, *i, 7, 0x80),
                    Field::Dynamic(k) => put_integer(&mut out, t.index(*k), 7, 0x80),
                    Field::Literal(flags, name, value, h) => {
                        let prefix = if *flags == 0x40 { 6 } else { 4 };
                        let name_len = match name {
                            Name::Static(i) => {
                                put_integer(&mut out, *i, prefix, *flags);
                                t.name_len(*i)
                            }
                            Name::Dynamic(k) => {
                                let i = t.index(*k);
                                put_integer(&mut out, i, prefix, *flags);
                                t.name_len(i)
                            }
                            Name::Literal(n) => {
                                put_integer(&mut out, 0, prefix, *flags);
                                string(&mut out, n, *h);
                                n.len()
                            }
                        };
                        string(&mut out, value, *h);
                        if *flags == 0x40 {
                            t.entries.push_front((name_len, value.len()));
                            t.evict();
                        }
                    }
                }
            }
            out
        }

        /// A size update, fields, and a reference just past the table's end to close it.
        type Block = (Option<usize>, Vec<Field>, Option<usize>);

        fn block() -> impl Strategy<Value = Block> {
            (
                proptest::option::weighted(0.3, 0usize..600),
                proptest::collection::vec(field(), 0..12),
                proptest::option::weighted(0.1, 0usize..3),
            )
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1500))]
            #[test]
            fn fields_as_loona_gives_them(blocks in proptest::collection::vec(block(), 1..30)) {
                let mut ours = HeaderDecoder::new(true);
                let mut theirs = Decoder::new();
                theirs.set_max_allowed_table_size(MAX_TABLE);
                let mut table = Table { entries: VecDeque::new(), max: 4096 };
                for (size, fields, past) in &blocks {
                    let mut bytes = encode(&mut table, *size, fields);
                    if let Some(k) = past {
                        put_integer(&mut bytes, 62 + table.entries.len() + k, 7, 0x80);
                    }
                    let mut want = Vec::new();
                    let loona = theirs.decode_with_cb(&bytes, |n, v| {
                        want.push((String::from_utf8_lossy(&n).into_owned(), String::from_utf8_lossy(&v).into_owned()));
                    });
                    let got = ours.decode(&bytes);
                    let got_fields: Vec<(String, String)> =
                        got.fields.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
                    // Every field the same, and the reference past the end refused by both:
                    // a table that kept an entry it should have lost would give a field for it.
                    prop_assert_eq!(&got_fields, &want);
                    if past.is_some() {
                        prop_assert!(loona.is_err());
                        prop_assert!(got.error.is_some());
                        break;
                    }
                    prop_assert!(loona.is_ok());
                    prop_assert_eq!(got.error, None);
                    prop_assert_eq!(got.undecodable, 0);
                }
            }
        }
    }

    /// Huffman strings of any bytes (valid codes, bad padding, EOS inside): decoded here the
    /// same as loona-hpack's own decoder does, value for value, error for error.
    mod huffman_like_loona {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]
            #[test]
            fn valid_huffman_strings_decode_as_loona_does(text in proptest::collection::vec(any::<u8>(), 0..300)) {
                let mut coded = Vec::new();
                httlib_huffman::encode(&text, &mut coded).unwrap();
                // A literal with incremental indexing, indexed name `user-agent` (58).
                let mut rep = Vec::new();
                put_integer(&mut rep, 58, 6, 0x40);
                put_integer(&mut rep, coded.len(), 7, 0x80);
                rep.extend_from_slice(&coded);
                let mut theirs = Vec::new();
                Decoder::new()
                    .decode_with_cb(&rep, |n, v| theirs.push((n.to_vec(), v.to_vec())))
                    .unwrap();
                prop_assert_eq!(&theirs[0].1, &text);
                let got = HeaderDecoder::new(true).decode(&rep);
                let want = String::from_utf8_lossy(&text);
                prop_assert_eq!(got.fields.iter().next().map(|f| f.1), Some(want.as_ref()));
            }

            #[test]
            fn same_fields_or_both_fail(name in proptest::collection::vec(any::<u8>(), 0..12),
                                        value in proptest::collection::vec(any::<u8>(), 0..40),
                                        name_h in any::<bool>(), value_h in any::<bool>()) {
                // A literal without indexing, new name (RFC 7541 section 6.2.2).
                let mut rep = vec![0x00];
                put_integer(&mut rep, name.len(), 7, if name_h { 0x80 } else { 0 });
                rep.extend_from_slice(&name);
                put_integer(&mut rep, value.len(), 7, if value_h { 0x80 } else { 0 });
                rep.extend_from_slice(&value);
                let mut theirs = Vec::new();
                let loona = Decoder::new()
                    .decode_with_cb(&rep, |n, v| theirs.push((n.to_vec(), v.to_vec())));
                let mut ours = HeaderDecoder::new(true);
                let got = ours.decode(&rep);
                match loona {
                    Ok(()) => {
                        let want: Vec<(String, String)> = theirs
                            .iter()
                            .map(|(n, v)| (String::from_utf8_lossy(n).into_owned(), String::from_utf8_lossy(v).into_owned()))
                            .collect();
                        let got_fields: Vec<(String, String)> = got
                            .fields
                            .iter()
                            .map(|(n, v)| (n.to_string(), v.to_string()))
                            .collect();
                        prop_assert_eq!(got_fields, want);
                        prop_assert_eq!(got.undecodable, 0);
                    }
                    Err(_) => {
                        prop_assert!(got.fields.is_empty());
                        prop_assert_eq!(got.undecodable, 1);
                    }
                }
            }
        }
    }
}
