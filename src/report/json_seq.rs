//! A long JSON array written by several threads: the elements are serialized in chunks on
//! all cores and written in order, so the bytes are those of a one-thread compact writer.
//! The report's exchange list is most of a report's writing time on a large capture, and the
//! writing runs after the analysis, when the other cores are idle.

use std::io::{self, Write};
use std::sync::mpsc::sync_channel;

/// Elements serialized per chunk: large enough to amortise the hand-over, small enough that
/// the chunks in flight stay a few MiB.
const CHUNK: usize = 256;

/// Writes `[e0,e1,…]`, each element written by `one` into a buffer (compact JSON, no
/// separators), on `threads` threads besides the calling one, which writes.
pub(crate) fn write_array<T, F, W>(
    items: &[T],
    threads: usize,
    one: F,
    out: &mut W,
) -> io::Result<()>
where
    T: Sync,
    F: Fn(&T, &mut Vec<u8>) -> io::Result<()> + Sync,
    W: Write + ?Sized,
{
    let chunk = |i: usize| -> io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        let part = &items[i * CHUNK..((i + 1) * CHUNK).min(items.len())];
        for (k, item) in part.iter().enumerate() {
            if k > 0 {
                buf.push(b',');
            }
            one(item, &mut buf)?;
        }
        Ok(buf)
    };
    let chunks = items.len().div_ceil(CHUNK);
    let threads = threads.clamp(1, chunks.max(1));
    out.write_all(b"[")?;
    if threads == 1 {
        write_in_order(out, chunks, chunk)?;
    } else {
        std::thread::scope(|scope| -> io::Result<()> {
            // Helper h makes the chunks i with i % threads == h; this thread only writes them,
            // in order: when it made chunks too, the helpers waited while it wrote, and the
            // writing (a copy into the page cache or a pipe) was a third of the phase.
            let mut from_helpers = Vec::with_capacity(threads);
            for h in 0..threads {
                let (tx, rx) = sync_channel::<io::Result<Vec<u8>>>(4);
                let chunk = &chunk;
                scope.spawn(move || {
                    for i in (h..chunks).step_by(threads) {
                        if tx.send(chunk(i)).is_err() {
                            break; // the writer gave up on an error
                        }
                    }
                });
                from_helpers.push(rx);
            }
            write_in_order(out, chunks, |i| {
                from_helpers[i % threads]
                    .recv()
                    .map_err(|_| io::Error::other("a report writer thread stopped"))?
            })
        })?;
    }
    out.write_all(b"]")
}

/// Writes chunks 0..`chunks`, as `get` gives them, with a comma between two.
fn write_in_order<W, G>(out: &mut W, chunks: usize, mut get: G) -> io::Result<()>
where
    W: Write + ?Sized,
    G: FnMut(usize) -> io::Result<Vec<u8>>,
{
    for i in 0..chunks {
        let buf = get(i)?;
        if i > 0 {
            out.write_all(b",")?;
        }
        out.write_all(&buf)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(n: &u32, buf: &mut Vec<u8>) -> io::Result<()> {
        serde_json::to_writer(buf, n).map_err(io::Error::from)
    }

    #[test]
    fn the_same_bytes_as_one_serde_writer_whatever_the_thread_count() {
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 7] {
            let items: Vec<u32> = (0..len as u32).collect();
            let want = serde_json::to_vec(&items).unwrap();
            for threads in [1, 2, 3, 8] {
                let mut got = Vec::new();
                write_array(&items, threads, one, &mut got).unwrap();
                assert_eq!(got, want, "{len} items, {threads} threads");
            }
        }
    }

    #[test]
    fn an_element_error_stops_the_writing() {
        let items: Vec<u32> = (0..(3 * CHUNK) as u32).collect();
        let failing = |n: &u32, buf: &mut Vec<u8>| {
            if *n == (CHUNK + 3) as u32 {
                return Err(io::Error::other("no"));
            }
            one(n, buf)
        };
        let mut got = Vec::new();
        assert!(write_array(&items, 2, failing, &mut got).is_err());
    }
}
