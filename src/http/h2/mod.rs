//! HTTP/2 (RFC 9113): recognised by the client's connection preface, or inside TLS by the
//! ALPN the handshake chose; each stream of a connection becomes one exchange. Frames
//! (`frames`), header decoding (`hpack`, over the `loona-hpack` crate, with `huffman`), streams and the
//! connection (`connection`), the dispatcher's view (`protocol`).

mod connection;
mod frames;
mod hpack;
mod huffman;
mod protocol;

pub use connection::Http2Connection;
pub use frames::PREFACE;
pub use protocol::Http2Recognizer;

#[cfg(test)]
mod tests;
