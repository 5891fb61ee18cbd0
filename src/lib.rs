//! lyncscope: reconstructs HTTP exchanges from packet captures and explains Lync / Skype for
//! Business mobile sign-in flows.
//!
//! The pipeline runs one way; each layer hands a finished product to the next and never calls
//! back into an earlier one:
//!
//! ```text
//! files ─► capture (pcap/pcapng over mmap, merged by time) ─► net (link, IP, defrag, TCP
//!   reassembly) ─► http (HTTP/1.x heads, framing, decoding, pairing) ─► model::Analysis
//!   (frozen) ─► report (text, JSON)
//! ```

pub mod capture;
pub mod error;
pub mod http;
pub mod model;
pub mod net;
pub mod pipeline;
pub mod report;

pub use error::{Error, Result};
pub use model::Analysis;
pub use pipeline::{analyze, Options};
