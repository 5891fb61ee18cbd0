//! lyncscope: reconstructs HTTP exchanges from packet captures and explains Lync / Skype for
//! Business mobile sign-in flows.
//!
//! The pipeline runs one way; each layer hands a finished product to the next. Imports run
//! the same way: a layer uses the ones before it (and `model`, `error`, `datetime`, which
//! every layer may use), never one after it, and no two files import each other.
//!
//! ```text
//! files ─► capture  pcap / pcapng over mmap, frames merged by time
//!          archive  SAZ / HAR sessions (already exchanges), joined to the rest
//!   ─► net       link, IP, defragmentation, TCP reassembly → ordered byte streams
//!   ─► tls, dns  TLS handshake facts, keys, record decryption; DNS over UDP / TCP
//!   ─► dispatch  each byte stream to the protocol its first bytes show (TLS, DNS, HTTP/1,
//!                HTTP/2 …; TLS hands its plaintext back to dispatch, with its ALPN)
//!   ─► http      exchanges: h1/ (HTTP/1 state machine), h2/ (HTTP/2 frames, HPACK, streams),
//!                body decoding, exchange builder
//!   ─► stage     discovery stages, links, decoded auth, sign-in verdict, checks → findings
//!   ─► pipeline  the only orchestrator: files → frozen model::Analysis
//!   ─► filter        the filter language over the analysis
//!      presentation  what UI and reports both compute: time layout, lanes, stage rows,
//!                    wire heads, pretty bodies, facts in words, two sign-ins compared by stage
//!   ─► report    writers: text, JSON, stage table, Markdown, HTML + SVG, exports (HAR, SAZ …),
//!                redaction (a share-safe copy of the analysis, for any writer)
//!      tui       the terminal UI (reads the analysis through presentation; exports via report)
//! ```
//!
//! `testkit` (hidden) is the tests' corpus locator and builder of hand-made analyses. The
//! stage rules and checks are described in `docs/stages.md` and `docs/checks.md`, trace
//! archives in `docs/archives.md`, the JSON report in `docs/report-schema.md`.
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
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod model;
pub mod net;
pub mod phases;
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
