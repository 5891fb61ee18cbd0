//! HTTP/1 messages recorded by a proxy (a SAZ session's request and response texts), parsed
//! as one connection by the same parser as captured streams, so framing, de-chunking,
//! decoding and hashing agree between captures and archives.

use super::HttpConnection;
use crate::archive::saz::{MessageParser, ParsedMessages, RecordedSession};
use crate::http::HttpOptions;
use crate::model::{Arrival, Dir, FrameNo, StreamEnd};
use crate::net::stream::{ConnFacts, StreamSink};

impl MessageParser for HttpOptions {
    fn keep_body_max(&self) -> u64 {
        self.keep_body_max
    }

    fn head_max(&self) -> u64 {
        self.head_max
    }

    fn wants_head(
        &self,
        request: Option<&crate::model::Request>,
        response: Option<&crate::model::Response>,
    ) -> bool {
        self.head_filter
            .as_ref()
            .is_some_and(|f| (f.0)(request, response))
    }

    fn parse(&self, s: RecordedSession<'_>) -> ParsedMessages {
        let facts = ConnFacts {
            client: s.client,
            server: s.server,
            handshake: true,
            first_frame: FrameNo(0),
        };
        let mut conn = HttpConnection::new(facts, s.scheme, self.clone());
        let at = Arrival::default();
        if !s.request.is_empty() {
            conn.on_data(Dir::ClientToServer, 0, s.request, at);
        }
        if !s.response.is_empty() {
            conn.on_data(Dir::ServerToClient, 0, s.response, at);
        }
        conn.on_end(
            Dir::ClientToServer,
            s.request.len() as u64,
            StreamEnd::Fin,
            at,
        );
        conn.on_end(
            Dir::ServerToClient,
            s.response.len() as u64,
            StreamEnd::Fin,
            at,
        );
        let out = conn.finish();
        ParsedMessages {
            exchanges: out.exchanges,
            diagnostics: out.diagnostics,
        }
    }
}
