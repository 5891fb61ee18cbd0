//! HTTP: the exchanges of a connection's byte streams. What every HTTP version shares lives
//! here (options, body decoding, the exchange builder); each version has its folder (`h1/`, `h2/`).

mod decode;
mod exchange;
pub mod h1;
pub mod h2;
mod inflate;
mod options;

use crate::dispatch::Recognizer;
use std::sync::Arc;

pub use exchange::HttpOutput;
pub use h1::{sniff_request, sniff_response, Http1Recognizer, HttpConnection, Sniff};
pub use h2::{Http2Connection, Http2Recognizer};
pub use options::{HeadFilter, HeadPredicate, HttpOptions, KeepBudget};

/// The HTTP versions the dispatcher may choose, in the order it asks them (a new version's
/// recognizer goes here).
pub fn recognizers(opts: Arc<HttpOptions>) -> Vec<Box<dyn Recognizer>> {
    // HTTP/2 first: its preface ("PRI * HTTP/2.0") would pass for an HTTP/1 request line.
    vec![
        Box::new(Http2Recognizer::new(Arc::clone(&opts))),
        Box::new(Http1Recognizer::new(opts)),
    ]
}
