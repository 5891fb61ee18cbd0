//! The JSON report, schema `lyncscope/report-2` (documented in docs/report-schema.md).
//!
//! A public contract: fields are only ever added; a change of meaning or a removal needs a new
//! schema version. The DTOs borrow from the [`Analysis`] so a large report streams out without
//! copying it.

use super::redact::RedactionSummary;
use crate::model::{
    Analysis, Body, Connection, Diagnostic, ExchId, Exchange, Headers, InputInfo, Note, Notes,
    Request, Response, Timing, Upgrade,
};
use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;
use std::io::Write;

pub const SCHEMA: &str = "lyncscope/report-2";

/// Writes the report as compact JSON (one line), or indented when `pretty`.
pub fn write<W: Write>(analysis: &Analysis, pretty: bool, out: W) -> std::io::Result<()> {
    write_report(Report::new(analysis), pretty, out)
}

/// [`write`] of an analysis [`super::redact::redact`] gave, with its `redaction` section.
pub fn write_with<W: Write>(
    analysis: &Analysis,
    redaction: Option<&RedactionSummary>,
    pretty: bool,
    out: W,
) -> std::io::Result<()> {
    let mut report = Report::new(analysis);
    report.tail.redaction = redaction.map(RedactionDto::of);
    write_report(report, pretty, out)
}

/// [`write_scoped`] of an analysis [`super::redact::redact`] gave, with its `redaction`
/// section.
pub fn write_scoped_with<W: Write>(
    analysis: &Analysis,
    notes: &Notes,
    only: &[ExchId],
    redaction: Option<&RedactionSummary>,
    pretty: bool,
    out: W,
) -> std::io::Result<()> {
    let mut report = Report::new(analysis);
    report.exchanges.only = Some(only);
    report.exchanges.notes = Some(notes);
    report.tail.redaction = redaction.map(RedactionDto::of);
    write_report(report, pretty, out)
}

/// The `redaction` section: present only in a redacted report (docs/report-schema.md).
#[derive(Serialize)]
struct RedactionDto {
    /// Always true: the section is absent from a report written as captured.
    applied: bool,
    /// How fingerprints are made, for a reader who meets one.
    fingerprint: &'static str,
    /// Values replaced, all kinds together.
    total: usize,
    /// Values replaced, by kind.
    kinds: std::collections::BTreeMap<String, usize>,
}

impl RedactionDto {
    fn of(s: &RedactionSummary) -> RedactionDto {
        RedactionDto {
            applied: true,
            fingerprint: super::redact::FINGERPRINT_FORM,
            total: s.total(),
            kinds: s.kinds.clone(),
        }
    }
}

/// The report restricted to the exchanges `only` (in that order), each with the user's mark
/// and comment (`exchanges[].note`). Connections, DNS, findings and sign-in summaries stay whole:
/// they are the context the exchanges are read in.
pub fn write_scoped<W: Write>(
    analysis: &Analysis,
    notes: &Notes,
    only: &[ExchId],
    pretty: bool,
    out: W,
) -> std::io::Result<()> {
    let mut report = Report::new(analysis);
    report.exchanges.only = Some(only);
    report.exchanges.notes = Some(notes);
    write_report(report, pretty, out)
}

fn write_report<W: Write>(report: Report<'_>, pretty: bool, mut out: W) -> std::io::Result<()> {
    if pretty {
        serde_json::to_writer_pretty(&mut out, &report)?;
        return out.write_all(b"\n");
    }
    // The bytes of `serde_json::to_writer(&report)`, written in three parts: the head object
    // without its closing brace, the exchange list (on several threads), the tail object
    // without its opening brace.
    let mut head = HoldLastByte::new(&mut out);
    serde_json::to_writer(&mut head, &report.head)?;
    head.finish(b'}')?;
    out.write_all(b",\"exchanges\":")?;
    report.exchanges.write_compact(&mut out)?;
    out.write_all(b",")?;
    let mut tail = SkipFirstByte::new(&mut out);
    serde_json::to_writer(&mut tail, &report.tail)?;
    tail.finish(b'{')?;
    out.write_all(b"\n")
}

/// Passes bytes on, except the last one written, which [`Self::finish`] checks and drops.
struct HoldLastByte<W> {
    inner: W,
    held: Option<u8>,
}

impl<W: Write> HoldLastByte<W> {
    fn new(inner: W) -> Self {
        HoldLastByte { inner, held: None }
    }
    fn finish(self, expected: u8) -> std::io::Result<()> {
        match self.held {
            Some(b) if b == expected => Ok(()),
            _ => Err(std::io::Error::other(
                "report head did not end as an object",
            )),
        }
    }
}

impl<W: Write> Write for HoldLastByte<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let Some((&last, rest)) = buf.split_last() else {
            return Ok(0);
        };
        if let Some(b) = self.held.take() {
            self.inner.write_all(&[b])?;
        }
        self.inner.write_all(rest)?;
        self.held = Some(last);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Passes bytes on, except the first one, which [`Self::finish`] checks.
struct SkipFirstByte<W> {
    inner: W,
    first: Option<u8>,
}

impl<W: Write> SkipFirstByte<W> {
    fn new(inner: W) -> Self {
        SkipFirstByte { inner, first: None }
    }
    fn finish(self, expected: u8) -> std::io::Result<()> {
        match self.first {
            Some(b) if b == expected => Ok(()),
            _ => Err(std::io::Error::other(
                "report tail did not start as an object",
            )),
        }
    }
}

impl<W: Write> Write for SkipFirstByte<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match (self.first, buf.split_first()) {
            (_, None) => Ok(0),
            (None, Some((&b, rest))) => {
                self.first = Some(b);
                self.inner.write_all(rest)?;
                Ok(buf.len())
            }
            (Some(_), Some(_)) => self.inner.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// An endpoint written straight into the output ("ip:port", "[v6]:port"), not via a String.
struct Endpoint<'a>(&'a std::net::SocketAddr);

impl Serialize for Endpoint<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}

/// The report object. Its fields before and after the exchange list are kept apart so the
/// compact writer can write the list (most of a large report) on several threads.
#[derive(Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    head: Head<'a>,
    exchanges: Exchanges<'a>,
    #[serde(flatten)]
    tail: Tail<'a>,
}

#[derive(Serialize)]
struct Head<'a> {
    schema: &'static str,
    generator: String,
    summary: Summary,
    /// Epoch seconds of the first frame of the inputs: the origin the readable reports, the
    /// stage table and the UI count their relative times from (docs/report-schema.md).
    time_origin: Option<f64>,
    inputs: Vec<InputDto<'a>>,
    connections: Connections<'a>,
}

/// Connections need the analysis for what a CONNECT tunnel carried (its exchanges).
struct Connections<'a>(&'a Analysis);

impl Serialize for Connections<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.connections.len()))?;
        for c in &self.0.connections {
            seq.serialize_element(&ConnDto(self.0, c))?;
        }
        seq.end()
    }
}

struct ConnDto<'a>(&'a Analysis, &'a Connection);

#[derive(Serialize)]
struct Tail<'a> {
    #[serde(serialize_with = "seq")]
    diagnostics: &'a [Diagnostic],
    embedded_keylog_lines: usize,
    dns: Vec<super::lync_json::DnsDto<'a>>,
    findings: Vec<super::lync_json::FindingDto<'a>>,
    signin: Vec<super::lync_json::SigninDto<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redaction: Option<RedactionDto>,
}

#[derive(Serialize)]
struct Summary {
    frames: u64,
    connections: usize,
    exchanges: usize,
    requests: usize,
    responses: usize,
    diagnostics: usize,
}

impl<'a> Report<'a> {
    fn new(a: &'a Analysis) -> Report<'a> {
        Report {
            head: Head {
                schema: SCHEMA,
                generator: format!("lyncscope {}", env!("CARGO_PKG_VERSION")),
                summary: Summary {
                    frames: a.frames,
                    connections: a.connections.len(),
                    exchanges: a.exchanges.len(),
                    requests: a.exchanges.iter().filter(|e| e.request.is_some()).count(),
                    responses: a.exchanges.iter().filter(|e| e.response.is_some()).count(),
                    diagnostics: a.diagnostics.len(),
                },
                time_origin: crate::presentation::timeline::time_origin(a).map(|t| t.as_secs_f64()),
                inputs: a.inputs.iter().map(InputDto).collect(),
                connections: Connections(a),
            },
            exchanges: Exchanges {
                a,
                only: None,
                notes: None,
            },
            tail: Tail {
                diagnostics: &a.diagnostics,
                embedded_keylog_lines: a.embedded_keylog.len(),
                dns: a.dns.iter().map(super::lync_json::dns).collect(),
                findings: a.findings.iter().map(super::lync_json::finding).collect(),
                signin: a.signin.iter().map(super::lync_json::signin).collect(),
                redaction: None,
            },
        }
    }
}

/// Serializes a slice of model values through their DTO views, one at a time.
fn seq<S: Serializer, T>(items: &&[T], s: S) -> Result<S::Ok, S::Error>
where
    for<'x> Dto<'x, T>: Serialize,
{
    let mut seq = s.serialize_seq(Some(items.len()))?;
    for item in items.iter() {
        seq.serialize_element(&Dto(item))?;
    }
    seq.end()
}

struct Dto<'a, T>(&'a T);

/// Exchanges need their connection for the endpoints.
struct Exchanges<'a> {
    a: &'a Analysis,
    only: Option<&'a [ExchId]>,
    notes: Option<&'a Notes>,
}

impl Exchanges<'_> {
    fn selected(&self) -> Vec<&Exchange> {
        let a = self.a;
        match self.only {
            None => a.exchanges.iter().collect(),
            Some(ids) => ids
                .iter()
                .filter_map(|id| a.exchanges.get(id.0 as usize))
                .collect(),
        }
    }

    fn dto<'e>(&'e self, e: &'e Exchange) -> ExchangeDto<'e> {
        let c = self.a.connections.get(e.connection.0 as usize);
        let note = self.notes.and_then(|n| n.get(e.id));
        ExchangeDto(e, c, note)
    }

    /// The compact JSON array, the same bytes as `serde_json::to_writer(self)`.
    fn write_compact<W: Write>(&self, out: &mut W) -> std::io::Result<()> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
        let one = |e: &&Exchange, buf: &mut Vec<u8>| {
            serde_json::to_writer(buf, &self.dto(e)).map_err(std::io::Error::from)
        };
        super::json_seq::write_array(&self.selected(), threads, one, out)
    }
}

impl Serialize for Exchanges<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let selected = self.selected();
        let mut seq = s.serialize_seq(Some(selected.len()))?;
        for e in selected {
            seq.serialize_element(&self.dto(e))?;
        }
        seq.end()
    }
}

struct ExchangeDto<'a>(&'a Exchange, Option<&'a Connection>, Option<&'a Note>);

struct InputDto<'a>(&'a InputInfo);

impl Serialize for InputDto<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct I<'a> {
            path: &'a str,
            format: &'a str,
            bytes: u64,
            frames: u64,
            link_types: &'a [String],
            truncated: bool,
            /// The byte offset where reading stopped, null when the whole file was read.
            stopped_at: Option<u64>,
            /// Epoch seconds of the file's first frame; null for a trace archive.
            first_frame: Option<f64>,
        }
        let i = self.0;
        I {
            path: &i.path,
            format: &i.format,
            bytes: i.bytes,
            frames: i.frames,
            link_types: &i.link_types,
            truncated: i.truncated,
            stopped_at: i.stopped_at,
            first_frame: i.first_frame.map(|t| t.as_secs_f64()),
        }
        .serialize(s)
    }
}

/// 64 lower-case hex digits, written without allocating.
struct Hex([u8; 32]);

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0u8; 64];
        for (i, b) in self.0.iter().enumerate() {
            buf[2 * i] = DIGITS[usize::from(b >> 4)];
            buf[2 * i + 1] = DIGITS[usize::from(b & 15)];
        }
        s.serialize_str(std::str::from_utf8(&buf).unwrap_or_default())
    }
}

struct HeaderList<'a>(&'a Headers);

impl Serialize for HeaderList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (n, v) in self.0.iter() {
            seq.serialize_element(&[n, v])?;
        }
        seq.end()
    }
}

fn secs(a: Option<crate::model::Arrival>) -> Option<f64> {
    a.map(|a| a.ts.as_secs_f64())
}

impl Serialize for ExchangeDto<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct X<'a> {
            id: u32,
            connection: u32,
            client: Option<Endpoint<'a>>,
            server: Option<Endpoint<'a>>,
            scheme: &'static str,
            /// Only when not HTTP/1 (reports of HTTP/1 exchanges stay as they were).
            #[serde(skip_serializing_if = "Option::is_none")]
            http_version: Option<&'static str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            stream: Option<StreamDto<'a>>,
            capture: &'static str,
            request: Option<Req<'a>>,
            response: Option<Resp<'a>>,
            timing: Time,
            #[serde(skip_serializing_if = "Option::is_none")]
            upgrade: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            tunnel: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            annotations: Option<Ann<'a>>,
            stage: Option<super::lync_json::StageDto<'a>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            auth: Option<super::lync_json::AuthDto<'a>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            note: Option<NoteDto<'a>>,
        }
        #[derive(Serialize)]
        struct StreamDto<'a> {
            id: u32,
            #[serde(skip_serializing_if = "Option::is_none")]
            promised_by: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            reset: Option<ResetDto<'a>>,
            frame_count: u64,
            #[serde(skip_serializing_if = "std::ops::Not::not")]
            upgrade_request: bool,
        }
        #[derive(Serialize)]
        struct ResetDto<'a> {
            by: &'static str,
            code: u32,
            name: &'a str,
        }
        #[derive(Serialize)]
        struct NoteDto<'a> {
            marked: bool,
            comment: Option<&'a str>,
        }
        #[derive(Serialize)]
        struct Ann<'a> {
            origin: String,
            comment: Option<&'a str>,
            color: Option<&'a str>,
            generated_by_proxy: bool,
            flags: Vec<[&'a str; 2]>,
            timers: Vec<(&'a str, f64)>,
            websocket: Vec<Ws<'a>>,
        }
        #[derive(Serialize)]
        struct Ws<'a> {
            from_client: bool,
            time: Option<f64>,
            kind: &'a str,
            length: usize,
        }
        #[derive(Serialize)]
        struct Req<'a> {
            method: &'a str,
            target: &'a str,
            host: Option<&'a str>,
            version: &'a str,
            headers: HeaderList<'a>,
            body_length: u64,
            body_sha256: Option<Hex>,
            body_complete: bool,
        }
        #[derive(Serialize)]
        struct Resp<'a> {
            status: u16,
            reason: &'a str,
            version: &'a str,
            headers: HeaderList<'a>,
            interim_statuses: &'a [u16],
            content_encoding: &'a [String],
            body_length: u64,
            decoded_length: Option<u64>,
            body_sha256: Option<Hex>,
            wire_body_sha256: Option<Hex>,
            body_complete: bool,
        }
        #[derive(Serialize)]
        struct Time {
            request_start: Option<f64>,
            request_end: Option<f64>,
            response_start: Option<f64>,
            response_end: Option<f64>,
            request_frames: Option<[u64; 2]>,
            response_frames: Option<[u64; 2]>,
        }
        fn req(r: &Request) -> Req<'_> {
            let b: &Body = &r.body;
            Req {
                method: &r.method,
                target: &r.target,
                host: r.host(),
                version: &r.version,
                headers: HeaderList(&r.headers),
                body_length: b.wire_length,
                body_sha256: b.wire_sha256().map(Hex),
                body_complete: b.complete,
            }
        }
        fn resp(r: &Response) -> Resp<'_> {
            let b = &r.body;
            Resp {
                status: r.status,
                reason: &r.reason,
                version: &r.version,
                headers: HeaderList(&r.headers),
                interim_statuses: &r.interim_statuses,
                content_encoding: &b.content_encoding,
                body_length: b.wire_length,
                decoded_length: b.decoded_length,
                body_sha256: b.decoded_sha256().map(Hex),
                wire_body_sha256: b.wire_sha256().map(Hex),
                body_complete: b.complete,
            }
        }
        fn frames(
            a: Option<crate::model::Arrival>,
            b: Option<crate::model::Arrival>,
        ) -> Option<[u64; 2]> {
            Some([a?.frame.0, b?.frame.0])
        }
        let e = self.0;
        let t: &Timing = &e.timing;
        // Endpoints are the connection's; the exchange repeats them so that a consumer
        // needs no join.
        let (client, server) = match self.1 {
            Some(c) => (Some(Endpoint(&c.client)), Some(Endpoint(&c.server))),
            None => (None, None),
        };
        X {
            id: e.id.0,
            connection: e.connection.0,
            client,
            server,
            scheme: e.scheme.as_str(),
            http_version: (e.http_version != crate::model::HttpVersion::Http1)
                .then(|| e.http_version.as_str()),
            stream: e.stream.as_deref().map(|st| StreamDto {
                id: st.id,
                promised_by: st.promised_by,
                reset: st.reset.as_ref().map(|r| ResetDto {
                    by: if r.by_client { "client" } else { "server" },
                    code: r.code,
                    name: &r.name,
                }),
                frame_count: st.frames.len() as u64 + u64::from(st.frames_dropped),
                upgrade_request: st.upgrade_request,
            }),
            capture: e.capture.as_str(),
            // Stream 1 after an h2c upgrade holds a copy of the HTTP/1.1 exchange's request
            // (for the UI and the reports); the JSON names each request once, in the exchange
            // that carried it, as tshark counts them.
            request: e
                .request
                .as_deref()
                .filter(|_| !e.stream.as_ref().is_some_and(|s| s.upgrade_request))
                .map(req),
            response: e.response.as_deref().map(resp),
            timing: Time {
                request_start: secs(t.request_start()),
                request_end: secs(t.request_end()),
                response_start: secs(t.response_start()),
                response_end: secs(t.response_end()),
                request_frames: frames(t.request_start(), t.request_end()),
                response_frames: frames(t.response_start(), t.response_end()),
            },
            upgrade: e.upgrade.as_ref().map(|u| match u {
                Upgrade::Tunnel => "tunnel",
                Upgrade::Protocol(p) => p.as_str(),
            }),
            tunnel: e.tunnel.map(|t| t.connect().0),
            annotations: e.annotations.as_deref().map(|a| Ann {
                origin: a.origin.to_string(),
                comment: a.comment.as_deref(),
                color: a.color.as_deref(),
                generated_by_proxy: a.generated_by_proxy,
                flags: a.flags.iter().map(|(n, v)| [n, v]).collect(),
                timers: a
                    .timers
                    .iter()
                    .map(|(n, t)| (&**n, t.as_secs_f64()))
                    .collect(),
                websocket: a
                    .websocket
                    .iter()
                    .map(|m| Ws {
                        from_client: m.from_client,
                        time: m.ts.map(|t| t.as_secs_f64()),
                        kind: &m.kind,
                        length: m.payload.len(),
                    })
                    .collect(),
            }),
            stage: e.stage.as_deref().map(super::lync_json::stage),
            auth: e.auth.as_deref().map(super::lync_json::auth),
            note: self.2.map(|n| NoteDto {
                marked: n.marked,
                comment: n.comment.as_deref(),
            }),
        }
        .serialize(s)
    }
}

impl Serialize for ConnDto<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct C<'a> {
            id: u32,
            client: Endpoint<'a>,
            server: Endpoint<'a>,
            first_seen: f64,
            last_seen: f64,
            first_frame: u64,
            last_frame: u64,
            packets: u64,
            bytes: u64,
            payload_bytes: [u64; 2],
            missing_bytes: [u64; 2],
            handshake: bool,
            end: [&'static str; 2],
            protocol: &'static str,
            #[serde(skip_serializing_if = "Option::is_none")]
            tunnel: Option<Vec<&'static str>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            h2_control_frames: Option<H2Control>,
            exchanges: Vec<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            tls: Option<Tls<'a>>,
            syn_ack: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            stage: Option<super::lync_json::StageDto<'a>>,
        }
        #[derive(Serialize)]
        struct H2Control {
            settings: u32,
            ping: u32,
            goaway: u32,
            window_update: u32,
            other: u32,
        }
        #[derive(Serialize)]
        struct Tls<'a> {
            version: Option<&'a str>,
            cipher_suite: Option<&'a str>,
            sni: Option<&'a str>,
            alpn: Option<&'a str>,
            certificate: Option<Cert<'a>>,
            decrypted: bool,
            key_source: Option<&'a str>,
            reason: Option<&'a str>,
            resumed: bool,
            plaintext_bytes: [u64; 2],
            client_hello: bool,
            server_hello: bool,
            chain: Vec<ChainCert<'a>>,
            chain_incomplete: bool,
            unknown_issuer: Option<&'a str>,
            alerts: Vec<Alert>,
            handshake_messages: Vec<Message>,
            client_abort: Option<Abort>,
        }
        #[derive(Serialize)]
        struct Cert<'a> {
            subject: &'a str,
            issuer: &'a str,
            sans: &'a [String],
            not_before: &'a str,
            not_after: &'a str,
        }
        #[derive(Serialize)]
        struct ChainCert<'a> {
            subject: &'a str,
            issuer: &'a str,
            sans: &'a [String],
            not_before: &'a str,
            not_after: &'a str,
            serial: &'a str,
            sha256: &'a str,
            public_key: &'a str,
            ca: bool,
            self_signed: bool,
            self_signature_valid: Option<bool>,
            issuer_in_chain: bool,
            unparsed: bool,
        }
        #[derive(Serialize)]
        struct Alert {
            from: &'static str,
            level: String,
            description: u8,
            name: &'static str,
            frame: u64,
            time: f64,
            in_clear: bool,
        }
        #[derive(Serialize)]
        struct Message {
            from: &'static str,
            #[serde(rename = "type")]
            kind: u8,
            name: &'static str,
            frame: u64,
            time: f64,
        }
        #[derive(Serialize)]
        struct Abort {
            by: &'static str,
            alert: Option<u8>,
            frame: u64,
            time: f64,
            certificate_frame: u64,
            certificate_time: f64,
            certificate_encrypted: bool,
        }
        let side = |d: crate::model::Dir| match d {
            crate::model::Dir::ClientToServer => "client",
            crate::model::Dir::ServerToClient => "server",
        };
        let c = self.1;
        let end = |e: crate::model::StreamEnd| match e {
            crate::model::StreamEnd::Fin => "fin",
            crate::model::StreamEnd::Rst => "rst",
            crate::model::StreamEnd::CaptureEnd => "open",
        };
        C {
            id: c.id.0,
            client: Endpoint(&c.client),
            server: Endpoint(&c.server),
            first_seen: c.first_seen.as_secs_f64(),
            last_seen: c.last_seen.as_secs_f64(),
            first_frame: c.first_frame.0,
            last_frame: c.last_frame.0,
            packets: c.packets,
            bytes: c.bytes,
            payload_bytes: c.payload_bytes,
            missing_bytes: c.missing_bytes,
            handshake: c.handshake,
            end: [end(c.end[0]), end(c.end[1])],
            protocol: c.protocol.as_str(),
            tunnel: crate::presentation::connections::tunnel_carried(self.0, c),
            h2_control_frames: c.h2_control.map(|f| H2Control {
                settings: f.settings,
                ping: f.ping,
                goaway: f.goaway,
                window_update: f.window_update,
                other: f.other,
            }),
            exchanges: c.exchanges.iter().map(|x| x.0).collect(),
            tls: c.tls.as_ref().map(|t| Tls {
                version: t.version.as_deref(),
                cipher_suite: t.cipher_suite.as_deref(),
                sni: t.sni.as_deref(),
                alpn: t.alpn.as_deref(),
                certificate: t.certificate.as_ref().map(|c| Cert {
                    subject: &c.subject,
                    issuer: &c.issuer,
                    sans: &c.sans,
                    not_before: &c.not_before,
                    not_after: &c.not_after,
                }),
                decrypted: t.decrypted,
                key_source: t.key_source.as_deref(),
                reason: t.reason.as_deref(),
                resumed: t.resumed,
                plaintext_bytes: t.plaintext_bytes,
                client_hello: t.client_hello,
                server_hello: t.server_hello,
                chain: t
                    .chain
                    .iter()
                    .map(|c| ChainCert {
                        subject: &c.certificate.subject,
                        issuer: &c.certificate.issuer,
                        sans: &c.certificate.sans,
                        not_before: &c.certificate.not_before,
                        not_after: &c.certificate.not_after,
                        serial: &c.serial,
                        sha256: &c.sha256,
                        public_key: &c.public_key,
                        ca: c.ca,
                        self_signed: c.self_signed,
                        self_signature_valid: c.self_signature_valid,
                        issuer_in_chain: c.issuer_in_chain,
                        unparsed: c.unparsed,
                    })
                    .collect(),
                chain_incomplete: t.chain_incomplete(),
                unknown_issuer: t.unknown_issuer(),
                alerts: t
                    .alerts
                    .iter()
                    .map(|a| Alert {
                        from: side(a.from),
                        level: a.level_name(),
                        description: a.description,
                        name: a.name(),
                        frame: a.at.frame.0,
                        time: a.at.ts.as_secs_f64(),
                        in_clear: a.in_clear,
                    })
                    .collect(),
                handshake_messages: t
                    .handshake_messages
                    .iter()
                    .map(|m| Message {
                        from: side(m.from),
                        kind: m.kind,
                        name: m.name(),
                        frame: m.at.frame.0,
                        time: m.at.ts.as_secs_f64(),
                    })
                    .collect(),
                client_abort: t.client_abort.map(|a| Abort {
                    by: a.by.as_str(),
                    alert: match a.by {
                        crate::model::AbortBy::Alert(d) => Some(d),
                        _ => None,
                    },
                    frame: a.at.frame.0,
                    time: a.at.ts.as_secs_f64(),
                    certificate_frame: a.after_certificate.frame.0,
                    certificate_time: a.after_certificate.ts.as_secs_f64(),
                    certificate_encrypted: a.certificate_encrypted,
                }),
            }),
            syn_ack: c.syn_ack,
            stage: c.stage.as_ref().map(super::lync_json::stage),
        }
        .serialize(s)
    }
}

impl Serialize for Dto<'_, Diagnostic> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct D<'a> {
            severity: &'static str,
            message: &'a str,
            connection: Option<u32>,
            exchange: Option<u32>,
            frame: Option<u64>,
            input: Option<usize>,
        }
        let d = self.0;
        D {
            severity: d.severity.as_str(),
            message: &d.message,
            connection: d.connection.map(|c| c.0),
            exchange: d.exchange.map(|x| x.0),
            frame: d.frame.map(|f| f.0),
            input: d.input,
        }
        .serialize(s)
    }
}
