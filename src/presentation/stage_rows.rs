//! The stage table: DNS lookups, exchanges and bare connections with their discovery stage,
//! in time order, as `lyncscope stages`, the Markdown and the HTML reports list them.

use crate::model::{Analysis, ExchId, StageTag, Ts, UNRELATED};

/// Where a stage-table row comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKey {
    Exchange(ExchId),
    Dns(crate::model::DnsId),
    Connection(crate::model::ConnId),
}

impl RowKey {
    pub fn label(self) -> String {
        match self {
            RowKey::Exchange(id) => format!("#{}", id.0),
            RowKey::Dns(id) => format!("D{}", id.0),
            RowKey::Connection(id) => format!("C{}", id.0),
        }
    }
}

/// One row of the stage table (the facts `lyncscope stages` prints).
pub struct StageRow {
    pub at: Ts,
    pub key: RowKey,
    /// "HTTP", "DNS", "TCP".
    pub kind: &'static str,
    pub tag: StageTag,
    /// HTTP method, "DNS" with the query type, or "TCP".
    pub method: String,
    /// HTTP status, DNS rcode, or "—".
    pub status: String,
    /// Host and path (URL), DNS name and answer, or the endpoints.
    pub what: String,
}

impl StageRow {
    pub fn stage(&self) -> String {
        match self.tag.subkind.as_deref().filter(|_| self.kind != "TCP") {
            Some(s) => format!("{} ({s})", self.tag.id),
            None => self.tag.id.clone(),
        }
    }
    /// The row's step in one phrase, as `lyncscope stages` prints it: `A lyncdiscover.… →
    /// 203.0.113.10`, `GET https://… → 200`, `10.0.0.5:50000 → 203.0.113.10:443`.
    pub fn line(&self) -> String {
        match (self.kind, &self.key) {
            ("DNS", _) => {
                let qtype = self.method.strip_prefix("DNS ").unwrap_or(&self.method);
                format!("{qtype} {}", self.what)
            }
            (_, RowKey::Exchange(_)) if self.method == "—" => {
                format!("{} {}", self.what, self.status)
            }
            (_, RowKey::Exchange(_)) => format!("{} {} → {}", self.method, self.what, self.status),
            _ => self.what.clone(),
        }
    }

    pub fn rule(&self) -> String {
        match &self.tag.note {
            Some(n) => format!("{}: {n}", self.tag.rule),
            None => self.tag.rule.clone(),
        }
    }
}

/// The stage table: DNS lookups, exchanges and bare connections with a stage other than
/// unrelated, in time order.
pub fn stage_rows(a: &Analysis) -> Vec<StageRow> {
    rows(a, false)
}

/// [`stage_rows`] with the `unrelated` ones too.
pub fn all_stage_rows(a: &Analysis) -> Vec<StageRow> {
    rows(a, true)
}

fn rows(a: &Analysis, with_unrelated: bool) -> Vec<StageRow> {
    use crate::model::{rcode_name, rtype_name};
    let unrelated = if with_unrelated { "" } else { UNRELATED };
    let mut rows = Vec::new();
    for l in &a.dns {
        let Some(tag) = l.stage.clone().filter(|t| t.id != unrelated) else {
            continue;
        };
        let qtype = rtype_name(l.qtype).map_or_else(|| format!("TYPE{}", l.qtype), str::to_string);
        let (status, answer) = match &l.response {
            None => ("—".to_string(), "no answer".to_string()),
            Some(r) if r.rcode != 0 => (
                rcode_name(r.rcode).to_string(),
                rcode_name(r.rcode).to_string(),
            ),
            Some(_) => {
                let mut parts: Vec<String> = l.cnames().map(|c| format!("CNAME {c}")).collect();
                parts.extend(l.addresses().map(|ip| ip.to_string()));
                let answer = if parts.is_empty() {
                    "NOERROR, no answer".into()
                } else {
                    parts.join(", ")
                };
                ("NOERROR".to_string(), answer)
            }
        };
        rows.push(StageRow {
            at: l.first().map(|x| x.ts).unwrap_or_default(),
            key: RowKey::Dns(l.id),
            kind: "DNS",
            tag,
            method: format!("DNS {qtype}"),
            status,
            what: format!("{} → {answer}", l.qname),
        });
    }
    for x in &a.exchanges {
        let Some(tag) = x.stage.as_deref().filter(|t| t.id != unrelated) else {
            continue;
        };
        let status = x
            .response
            .as_ref()
            .map_or_else(|| "—".to_string(), |r| r.status.to_string());
        let (method, what) = match &x.request {
            Some(r) => (
                r.method.to_string(),
                a.request_url(x).map_or_else(|| r.target.clone(), |v| v.url),
            ),
            None => ("—".to_string(), "(response only)".to_string()),
        };
        rows.push(StageRow {
            at: x.timing.first().map(|t| t.ts).unwrap_or_default(),
            key: RowKey::Exchange(x.id),
            kind: "HTTP",
            tag: tag.clone(),
            method,
            status,
            what,
        });
    }
    for c in &a.connections {
        let Some(tag) = c.stage.clone().filter(|t| t.id != unrelated) else {
            continue;
        };
        let sni = c
            .tls
            .as_ref()
            .and_then(|t| t.sni.as_deref())
            .map(|s| format!(" (SNI {s})"))
            .unwrap_or_default();
        rows.push(StageRow {
            at: c.first_seen,
            key: RowKey::Connection(c.id),
            kind: "TCP",
            tag,
            method: "TCP".into(),
            status: "—".into(),
            what: format!("{} → {}{sni}", c.client, c.server),
        });
    }
    rows.sort_by_key(|r| r.at);
    rows
}
