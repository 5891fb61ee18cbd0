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
    Key(#[from] KeyError),
}

/// Why a key file or key log cannot be used. Defined here, below the TLS layer that reads key
/// material, so that [`Error`] needs nothing from that layer.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    // Not a `source`: the reason is part of the message, printed once.
    #[error("{path}: cannot read: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path}: wrong password for this PKCS#12/PFX file")]
    WrongPassword { path: String },
    #[error("{path}: a password is needed for this PKCS#12/PFX file (--password)")]
    PasswordNeeded { path: String },
    /// No RSA private key found, not PEM/DER/PFX, an encrypted PEM that cannot be opened, etc.
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("{path}: too large to be a key log or key file")]
    TooLarge { path: String },
}

impl KeyError {
    /// The key file or key log it is about, as given.
    pub fn path(&self) -> &str {
        match self {
            KeyError::Io { path, .. }
            | KeyError::WrongPassword { path }
            | KeyError::PasswordNeeded { path }
            | KeyError::Invalid { path, .. }
            | KeyError::TooLarge { path } => path,
        }
    }
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
