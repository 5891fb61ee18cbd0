//! Fatal errors: the analysis cannot start (a file cannot be opened or is not a capture).
//! Everything recoverable is a [`crate::model::Diagnostic`] instead.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // The reason is the source: `{:#}` (anyhow) prints it after the colon.
    #[error("{}: cannot open", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a pcap or pcapng capture (it starts with {magic}){}", path.display(), hint(magic))]
    UnknownFormat { path: PathBuf, magic: String },
    #[error("{}: {message}", path.display())]
    BadFile { path: PathBuf, message: String },
    /// A trace archive (Fiddler SAZ) cannot be read: not a zip, unreadable central
    /// directory, or a missing / wrong password.
    #[error("{}: {message}", path.display())]
    Archive { path: PathBuf, message: String },
    #[error("reading standard input: {0}")]
    Stdin(std::io::Error),
    /// A key file or key log cannot be used (unreadable, wrong PFX password, no RSA key).
    #[error(transparent)]
    Key(#[from] crate::tls::keys::KeyError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A gzip-compressed capture is the usual reason for an unknown format.
fn hint(magic: &str) -> &'static str {
    if magic.starts_with("1f 8b") {
        "; it looks gzip-compressed: decompress it first (gunzip)"
    } else {
        ""
    }
}
