//! lyncscope: reconstructs HTTP exchanges from packet captures and explains Lync / Skype for
//! Business mobile sign-in flows.
//!
//! The pipeline runs one way; each layer hands a finished product to the next and never calls
//! back into an earlier one:
//!
//! ```text
//! files ─► capture (pcap/pcapng over mmap, merged by time) ─► net (link, IP, defrag, TCP
//!   reassembly) ─► tls (handshake, keys, record decryption) ─► http (HTTP/1.x heads,
//!   framing, decoding, pairing) ─► model::Analysis (frozen) ─► report (text, JSON)
//! ```
//!
//! ```
//! use lyncscope::{analyze, Options};
//! use std::path::PathBuf;
//!
//! // A bundled sample: a real web sign-in (login page, credentials POST, redirect).
//! let capture = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/dvwa-login.pcapng"));
//! let analysis = analyze(&[capture], &Options::default(), &mut ()).unwrap();
//! let post = analysis
//!     .exchanges
//!     .iter()
//!     .find(|e| e.request.as_ref().is_some_and(|r| r.method == "POST"))
//!     .unwrap();
//! assert_eq!(post.response.as_ref().unwrap().status, 302);
//! ```

pub mod archive;
pub mod capture;
pub mod datetime;
pub mod dispatch;
pub mod dns;
pub mod error;
pub mod filter;
pub mod http;
pub mod model;
pub mod net;
pub mod pipeline;
pub mod presentation;
pub mod report;
pub mod stage;
pub mod tls;
pub mod tui;

#[doc(hidden)]
pub mod testkit;

pub use error::{Error, Result};
pub use model::Analysis;
pub use pipeline::{analyze, Options};
