//! Reading key material from files: where a secret came from, and a whole-file read that
//! refuses files too large to be key material. Shared by the key log and the RSA key loaders.

use crate::error::KeyError;
use std::io::Read;
use std::path::Path;

/// Where a secret came from, shown to the user ("key log /path/keys.txt", "embedded in the
/// capture (pcapng DSB)").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeySource(pub String);

/// Reads a whole file of at most `limit` bytes. The size is checked before reading and again
/// while reading (a FIFO or a growing file has no trustworthy size).
pub(crate) fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, KeyError> {
    let io_error = |error| KeyError::Io {
        path: path.display().to_string(),
        error,
    };
    let file = std::fs::File::open(path).map_err(io_error)?;
    let size = file.metadata().map_err(io_error)?.len();
    if size > limit {
        return Err(KeyError::TooLarge {
            path: path.display().to_string(),
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        return Err(KeyError::TooLarge {
            path: path.display().to_string(),
        });
    }
    Ok(bytes)
}
