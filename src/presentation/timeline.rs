//! Time layout shared by the terminal timelines and the report's SVG pictures: what each
//! exchange or DNS lookup spans, and a time axis on which long idle gaps are compressed so
//! that a sign-in with a 30 s pause still shows its requests side by side.
//!
//! Presentation-neutral: positions are "virtual nanoseconds" from the first event; a renderer
//! scales them to columns or pixels.

use crate::model::{
    Analysis, ConnId, Connection, DnsId, DnsLookup, ExchId, Exchange, StageTag, Ts,
};

/// What one exchange spans on the time axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: Ts,
    /// First response byte (the TTFB tick), when the response was seen.
    pub first_byte: Option<Ts>,
    pub end: Ts,
}

/// Request start to response end (or the last byte seen), for an exchange with any timing.
pub fn exchange_span(x: &Exchange) -> Option<Span> {
    let t = &x.timing;
    let start = t.first()?.ts;
    let end = [
        t.response_end(),
        t.response_start(),
        t.request_end(),
        t.request_start(),
    ]
    .into_iter()
    .flatten()
    .map(|a| a.ts)
    .max()
    .unwrap_or(start)
    .max(start);
    Some(Span {
        start,
        first_byte: t.response_start().map(|a| a.ts),
        end,
    })
}

/// Query to answer (or just the query, or just the answer).
pub fn dns_span(l: &DnsLookup) -> Option<Span> {
    let q = l.query.map(|a| a.ts);
    let r = l.response.as_ref().map(|r| r.arrival.ts);
    let start = q.or(r)?;
    let end = r.unwrap_or(start).max(start);
    Some(Span {
        start,
        first_byte: r,
        end,
    })
}

/// An item on a time view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Exchange(ExchId),
    Dns(DnsId),
    /// A connection tagged with a stage of its own: one that carried no exchange (an
    /// unanswered SYN, a failed handshake).
    Connection(ConnId),
}

/// The stage id an item is tagged with ("unrelated" when untagged, "pending" while the
/// analysis is still loading and nothing is tagged yet).
pub fn item_stage(a: &Analysis, item: Item) -> &str {
    if a.partial {
        return "pending";
    }
    item_tag(a, item).map_or("unrelated", |t| t.id.as_str())
}

fn item_tag(a: &Analysis, item: Item) -> Option<&StageTag> {
    match item {
        Item::Exchange(id) => a
            .exchanges
            .get(id.0 as usize)
            .and_then(|x| x.stage.as_deref()),
        Item::Dns(id) => a.dns.get(id.0 as usize).and_then(|l| l.stage.as_ref()),
        Item::Connection(id) => a
            .connections
            .get(id.0 as usize)
            .and_then(|c| c.stage.as_ref()),
    }
}

/// A span of real time shown on the axis; between two of them lies a compressed gap.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Segment {
    start: i64,
    end: i64,
    /// Virtual position of `start`.
    at: f64,
}

/// A gap on the axis that was compressed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Break {
    /// Virtual position where the break is drawn (its middle).
    pub at: f64,
    /// Real time left out, in nanoseconds.
    pub skipped_ns: i64,
}

/// Maps real time to a virtual position in which idle gaps longer than `max_gap` are shown
/// `gap_width` wide.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeAxis {
    segments: Vec<Segment>,
    gap_width: f64,
    total: f64,
}

impl TimeAxis {
    /// Builds the axis over the given spans. `max_gap_ns` ≤ 0 disables compression.
    pub fn new(spans: impl IntoIterator<Item = Span>, max_gap_ns: i64) -> TimeAxis {
        let mut ranges: Vec<(i64, i64)> = spans.into_iter().map(|s| (s.start.0, s.end.0)).collect();
        ranges.sort_unstable();
        // Merge overlapping busy ranges, then cut where the idle time exceeds the limit.
        let mut busy: Vec<(i64, i64)> = Vec::new();
        for (s, e) in ranges {
            match busy.last_mut() {
                Some(last) if max_gap_ns <= 0 || s <= last.1.saturating_add(max_gap_ns) => {
                    last.1 = last.1.max(e)
                }
                _ => busy.push((s, e)),
            }
        }
        let gap_width = if max_gap_ns > 0 {
            max_gap_ns as f64
        } else {
            0.0
        };
        let mut segments = Vec::with_capacity(busy.len());
        let mut at = 0.0;
        for (i, (s, e)) in busy.iter().enumerate() {
            if i > 0 {
                at += gap_width;
            }
            segments.push(Segment {
                start: *s,
                end: *e,
                at,
            });
            at += ns_between(*s, *e);
        }
        TimeAxis {
            segments,
            gap_width,
            total: at,
        }
    }

    /// An axis for every exchange and lookup of the analysis, compressing idle gaps longer than
    /// a tenth of the busy time (at least one second).
    pub fn for_analysis(a: &Analysis, items: &[Item]) -> TimeAxis {
        let spans: Vec<Span> = items.iter().filter_map(|i| span_of(a, *i)).collect();
        let busy: i64 = {
            let uncompressed = TimeAxis::new(spans.iter().copied(), 1_000_000_000);
            uncompressed.total as i64
        };
        TimeAxis::new(spans, (busy / 10).max(1_000_000_000))
    }

    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }
    /// Virtual length of the axis in nanoseconds.
    pub fn total(&self) -> f64 {
        self.total
    }
    pub fn start(&self) -> Option<Ts> {
        self.segments.first().map(|s| Ts(s.start))
    }
    pub fn end(&self) -> Option<Ts> {
        self.segments.last().map(|s| Ts(s.end))
    }

    /// Virtual position of a real instant; instants inside a compressed gap land on the break.
    pub fn position(&self, t: Ts) -> f64 {
        let t = t.0;
        let i = self.segments.partition_point(|s| s.start <= t);
        if i == 0 {
            return 0.0;
        }
        let seg = &self.segments[i - 1];
        if t <= seg.end {
            return seg.at + ns_between(seg.start, t);
        }
        // In the gap after `seg`: proportionally inside the break.
        let seg_end = seg.at + ns_between(seg.start, seg.end);
        match self.segments.get(i) {
            Some(next) => {
                let frac = ns_between(seg.end, t) / ns_between(seg.end, next.start).max(1.0);
                seg_end + frac * self.gap_width
            }
            None => seg_end,
        }
    }

    /// Real instant at a virtual position (the start of the following segment inside a break).
    pub fn instant(&self, pos: f64) -> Option<Ts> {
        let i = self.segments.partition_point(|s| s.at <= pos);
        let seg = self.segments.get(i.checked_sub(1)?)?;
        let offset = (pos - seg.at).max(0.0) as i64;
        if i128::from(offset) <= i128::from(seg.end) - i128::from(seg.start) {
            Some(Ts(seg.start.saturating_add(offset)))
        } else {
            Some(self.segments.get(i).map_or(Ts(seg.end), |n| Ts(n.start)))
        }
    }

    /// The compressed gaps.
    pub fn breaks(&self) -> impl Iterator<Item = Break> + '_ {
        self.segments.windows(2).map(|w| Break {
            at: w[0].at + ns_between(w[0].start, w[0].end) + self.gap_width / 2.0,
            skipped_ns: w[1].start.saturating_sub(w[0].end),
        })
    }
}

/// Nanoseconds from `from` to `to`, in i128: instants far apart (a date clamped to the range
/// of `Ts`) overflow i64.
fn ns_between(from: i64, to: i64) -> f64 {
    (i128::from(to) - i128::from(from)) as f64
}

/// The span of any item.
pub fn span_of(a: &Analysis, item: Item) -> Option<Span> {
    match item {
        Item::Exchange(id) => a.exchanges.get(id.0 as usize).and_then(exchange_span),
        Item::Dns(id) => a.dns.get(id.0 as usize).and_then(dns_span),
        Item::Connection(id) => a.connections.get(id.0 as usize).map(connection_span),
    }
}

/// "D3 DNS A lyncdiscover.contoso.com → 203.0.113.10": a lookup in one line.
pub fn dns_title(l: &DnsLookup) -> String {
    let answer = match &l.response {
        None => "no answer".to_string(),
        Some(r) if r.rcode != 0 => crate::model::rcode_name(r.rcode).to_string(),
        Some(_) => {
            let addrs: Vec<String> = l.addresses().map(|ip| ip.to_string()).collect();
            if addrs.is_empty() {
                "no address".into()
            } else {
                addrs.join(", ")
            }
        }
    };
    let qtype = crate::model::rtype_name(l.qtype)
        .map_or_else(|| format!("TYPE{}", l.qtype), str::to_string);
    format!("D{} DNS {qtype} {} → {answer}", l.id.0, l.qname)
}

/// "C2 TCP 10.0.0.5:50123 → 203.0.113.10:443: no SYN-ACK": a connection in one line, with
/// what the stage layer noted about it.
pub fn connection_title(c: &Connection) -> String {
    let sni = c
        .tls
        .as_ref()
        .and_then(|t| t.sni.as_deref())
        .map(|s| format!(" SNI {s}"))
        .unwrap_or_default();
    let note = c
        .stage
        .as_ref()
        .and_then(|t| t.note.as_deref())
        .map(|n| format!(": {n}"))
        .unwrap_or_default();
    format!("C{} TCP {} → {}{sni}{note}", c.id.0, c.client, c.server)
}

/// A DNS lookup or connection in one line, with its stage and outcome (the status line says
/// this when one is clicked in a timeline).
pub fn item_title(a: &Analysis, item: Item) -> Option<String> {
    let title = match item {
        Item::Exchange(_) => return None,
        Item::Dns(id) => dns_title(a.dns.get(id.0 as usize)?),
        Item::Connection(id) => {
            let c = a.connections.get(id.0 as usize)?;
            let mut title = connection_title(c);
            if let Some(w) = c.tls.as_ref().and_then(super::tls_words::tls_trouble) {
                title.push_str(&format!(" · TLS: {w}"));
            }
            title
        }
    };
    Some(match item_tag(a, item) {
        Some(t) => format!("{title} · {} {}", t.id, t.outcome.as_str()),
        None => title,
    })
}

/// `C3 s5`: the connection and HTTP/2 stream of an exchange carried by one (the ladder's and
/// the reports' label of a multiplexed exchange); None for HTTP/1.
pub fn stream_tag(x: &Exchange) -> Option<String> {
    let s = x.stream.as_deref()?;
    Some(format!("C{} s{}", x.connection.0, s.id))
}

/// A connection from its first to its last packet.
pub fn connection_span(c: &Connection) -> Span {
    Span {
        start: c.first_seen,
        first_byte: None,
        end: c.last_seen.max(c.first_seen),
    }
}

/// "1.2 s", "350 ms", "2 min 5 s": a duration for axis labels and tables.
pub fn human_duration(ns: i64) -> String {
    let ns = ns.max(0);
    if ns < 1_000_000 {
        format!("{} µs", ns / 1_000)
    } else if ns < 1_000_000_000 {
        format!("{} ms", ns / 1_000_000)
    } else if ns < 60_000_000_000 {
        format!("{:.1} s", ns as f64 / 1e9)
    } else {
        let s = ns / 1_000_000_000;
        format!("{} min {} s", s / 60, s % 60)
    }
}

/// The one time origin of every view and report (the filter's `time` counts from it too).
pub use crate::filter::time_origin;

/// The first and last instants of the analysis (exchanges, DNS lookups, connections); the
/// first is [`time_origin`].
pub fn time_range(a: &Analysis) -> Option<(Ts, Ts)> {
    let mut hi: Option<Ts> = None;
    let mut see = |_: Ts, e: Ts| hi = Some(hi.map_or(e, |h| h.max(e)));
    for c in &a.connections {
        see(c.first_seen, c.last_seen.max(c.first_seen));
    }
    for x in &a.exchanges {
        if let Some(s) = exchange_span(x) {
            see(s.start, s.end);
        }
    }
    for l in &a.dns {
        if let Some(s) = crate::presentation::timeline::dns_span(l) {
            see(s.start, s.end);
        }
    }
    Some((time_origin(a)?, hi?))
}

/// Seconds since the report's start, "+1.234 s".
pub fn offset(t: Ts, t0: Ts) -> String {
    format!("+{:.3} s", t.secs_since(t0))
}

/// The compressed time axis the pictures use: gaps over a tenth of the busy time (at least
/// one second) are compressed, as `TimeAxis::for_analysis` does.
pub fn axis_for(spans: &[Span]) -> TimeAxis {
    let busy = TimeAxis::new(spans.iter().copied(), 1_000_000_000).total() as i64;
    TimeAxis::new(spans.iter().copied(), (busy / 10).max(1_000_000_000))
}

pub use crate::datetime::utc_time;

#[cfg(test)]
mod tests {
    use super::*;

    fn span(s: i64, e: i64) -> Span {
        Span {
            start: Ts(s),
            first_byte: None,
            end: Ts(e),
        }
    }

    #[test]
    fn long_gaps_are_compressed_and_positions_are_monotonic() {
        // Two bursts 100 s apart; gaps over 1 s shrink to 1 s.
        let axis = TimeAxis::new(
            [
                span(0, 10),
                span(5, 20),
                span(100_000_000_020, 100_000_000_050),
            ],
            1_000_000_000,
        );
        assert_eq!(axis.total(), 20.0 + 1e9 + 30.0);
        let breaks: Vec<Break> = axis.breaks().collect();
        assert_eq!(breaks.len(), 1);
        assert_eq!(breaks[0].skipped_ns, 100_000_000_000);
        let mut last = -1.0;
        for t in [
            0,
            10,
            20,
            50_000_000_000,
            100_000_000_020,
            100_000_000_050,
            200_000_000_000,
        ] {
            let p = axis.position(Ts(t));
            assert!(p >= last, "{t}");
            last = p;
        }
        assert_eq!(axis.position(Ts(100_000_000_030)), 20.0 + 1e9 + 10.0);
        assert_eq!(axis.instant(20.0 + 1e9 + 10.0), Some(Ts(100_000_000_030)));
        assert!(TimeAxis::new([], 1).is_empty());
    }

    #[test]
    fn no_compression_when_disabled() {
        let axis = TimeAxis::new([span(0, 10), span(1_000, 1_010)], 0);
        assert_eq!(axis.total(), 1_010.0);
        assert_eq!(axis.breaks().count(), 0);
    }
}
