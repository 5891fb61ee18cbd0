//! HTTP/1.x: recognised by content on any port, parsed per connection by a state machine
//! (heads, framing, pairing, resynchronisation), and the same parser for the HTTP texts a
//! proxy recorded (SAZ sessions). After a 101 to h2c the rest of the connection goes to
//! HTTP/2's parser (`h2/`), whose streams join this connection's exchanges.

mod chunked;
mod connection;
mod head;
mod protocol;
mod recorded;
mod resync;
mod sniff;
mod tunnel;

pub use connection::HttpConnection;
pub use protocol::Http1Recognizer;
pub use sniff::{sniff_request, sniff_response, Sniff};

#[cfg(test)]
mod tests;
