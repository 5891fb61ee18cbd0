//! HTTP: the exchanges of a connection's byte streams. What every HTTP version shares lives
//! here (options, body decoding, the exchange builder); each version has its folder (`h1/`).

mod decode;
mod exchange;
pub mod h1;
mod options;

pub use exchange::HttpOutput;
pub use h1::{sniff_request, sniff_response, Http1Recognizer, HttpConnection, Sniff};
pub use options::{HeadFilter, HeadPredicate, HttpOptions, KeepBudget};
