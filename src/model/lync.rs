//! What the stage layer adds to the analysis: discovery stages, decoded authentication,
//! findings and sign-in summaries. Stage ids are data (the rules file), not an enum, so a rule
//! file can introduce new ones.

use super::{ConnId, DnsId, ExchId, Ts};
use std::net::IpAddr;

/// Stage id of everything no rule claims.
pub const UNRELATED: &str = "unrelated";

/// How one step of the flow went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Ok,
    /// An expected 401 leg.
    Challenge,
    /// A link or 3xx sends the client elsewhere.
    Redirect,
    /// Terminal for that attempt.
    Fail,
    /// An expected failure the client tolerates.
    Noise,
    Unknown,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Challenge => "challenge",
            Outcome::Redirect => "redirect",
            Outcome::Fail => "fail",
            Outcome::Noise => "noise",
            Outcome::Unknown => "unknown",
        }
    }
    pub fn parse(s: &str) -> Option<Outcome> {
        Some(match s {
            "ok" => Outcome::Ok,
            "challenge" => Outcome::Challenge,
            "redirect" => Outcome::Redirect,
            "fail" => Outcome::Fail,
            "noise" => Outcome::Noise,
            "unknown" => Outcome::Unknown,
            _ => return None,
        })
    }
}

/// The stage an exchange, DNS lookup or connection belongs to, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageTag {
    /// Stage id from the rules (docs/stages.md lists the built-in ones).
    pub id: String,
    pub outcome: Outcome,
    /// Name of the rule that fired.
    pub rule: String,
    /// The exchange whose response announced this request's URL (or host, for DNS), or the
    /// previous leg of a challenge/response sequence.
    pub parent: Option<ExchId>,
    /// How the parent led here: "_links.applications.href", "WWW-Authenticate MsRtcOAuth
    /// href", "retry after 401", "Location" …
    pub via: Option<String>,
    /// The DNS lookup whose answer gave the address this connection went to.
    pub dns: Option<DnsId>,
    /// Finer kind within the stage: "mex", "issue", "internal", "external", "self", "wpad" …
    pub subkind: Option<String>,
    /// For a carrier (`dns-hop`, `tcp-tls`, `ucwa-probe`): the stage whose request it carried
    /// ("ad-root-https" for a connection to a lyncdiscover name, "ucwa-application" for the
    /// host an `applications` link named), when known.
    pub carries: Option<String>,
    /// Plain-words note on the outcome when it is not simply ok.
    pub note: Option<String>,
}

impl StageTag {
    /// The step failed, but the client tolerated it and went on (outcome `noise`): `why` says
    /// how it went on.
    pub fn tolerate(&mut self, why: impl Into<String>) {
        self.outcome = Outcome::Noise;
        self.note = Some(why.into());
    }
}

/// Authentication material of one exchange, decoded (never hashes or passwords).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthFacts {
    /// What the request presented (`Authorization`, `X-MS-WebTicket`).
    pub request: Option<AuthLeg>,
    /// What the response asked for (`WWW-Authenticate`, `X-MS-WebTicketURL`), in order.
    pub challenges: Vec<Challenge>,
    /// `X-Ms-diagnostics` / `X-Ms-diagnostics-Public` of request or response.
    pub diagnostics: Vec<MsDiagnostic>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthLeg {
    Ntlm(NtlmMessage),
    /// SPNEGO; `ntlm` when it wraps an NTLM message, `kerberos` when it carries a Kerberos
    /// AP-REQ / AP-REP.
    Negotiate {
        ntlm: Option<NtlmMessage>,
        kerberos: bool,
    },
    /// `Bearer <token>`: only a prefix and a digest are kept.
    Bearer(TokenRef),
    /// `X-MS-WebTicket: opaque=<base64 SAML>`.
    WebTicket {
        assertion_id: Option<String>,
        token: TokenRef,
    },
    Basic {
        user: Option<String>,
    },
    Other {
        scheme: String,
    },
}

/// A token shown by reference: its first characters and a SHA-256 to match it elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRef {
    /// The first 12 characters ("cwt=AAEBHAEF").
    pub prefix: String,
    /// Lower-case hex SHA-256 of the whole token string.
    pub sha256: String,
    /// A Lync/SfB web ticket (`cwt=…`).
    pub cwt: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NtlmMessage {
    /// Type 1.
    Negotiate {
        flags: u32,
        domain: Option<String>,
        workstation: Option<String>,
    },
    /// Type 2.
    Challenge {
        flags: u32,
        target: Option<String>,
        /// NetBIOS / DNS names from the target info (MsvAvNbDomainName, MsvAvDnsDomainName …).
        target_info: Vec<(String, String)>,
    },
    /// Type 3: who authenticated. The responses (hashes) are never kept.
    Authenticate {
        domain: String,
        user: String,
        workstation: String,
        flags: u32,
    },
}

impl NtlmMessage {
    pub fn message_type(&self) -> u8 {
        match self {
            NtlmMessage::Negotiate { .. } => 1,
            NtlmMessage::Challenge { .. } => 2,
            NtlmMessage::Authenticate { .. } => 3,
        }
    }
}

/// One challenge of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// "MsRtcOAuth", "Bearer", "NTLM", "Negotiate", "Basic", or "X-MS-WebTicketURL".
    pub scheme: String,
    /// Parameters (`href`, `grant_type`, `trusted_issuers`, `realm` …), unquoted, in order.
    pub params: Vec<(String, String)>,
    /// The NTLM type 2 carried by an `NTLM <base64>` / `Negotiate <base64>` challenge.
    pub ntlm: Option<NtlmMessage>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `X-Ms-diagnostics: 28032;source="fe01.contoso.net";reason="The web ticket is invalid."`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsDiagnostic {
    pub code: Option<u32>,
    pub source: Option<String>,
    pub reason: Option<String>,
    pub fault: Option<String>,
    /// The header value as sent.
    pub raw: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingSeverity {
    Info,
    Warning,
    /// Explains a sign-in failure.
    Fail,
}

impl FindingSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingSeverity::Info => "info",
            FindingSeverity::Warning => "warning",
            FindingSeverity::Fail => "fail",
        }
    }
}

/// The result of one automatic check (docs/checks.md) on the evidence in the capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Check id: "C-CERT-1", "C-AUTH-3" …
    pub check: String,
    pub severity: FindingSeverity,
    /// What was seen and what to do about it, in plain words.
    pub message: String,
    /// The evidence, in time order.
    pub exchanges: Vec<ExchId>,
    pub dns: Vec<DnsId>,
    pub connections: Vec<ConnId>,
}

/// A stage of the rules in use, in the canonical order of the flow (lanes, tables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageInfo {
    pub id: String,
    pub label: String,
    /// A step of the sign-in itself, not side traffic (it has a rank).
    pub milestone: bool,
    /// Milestone rank (1 discovery lookup … 8 event channel): the furthest stage reached is
    /// the highest rank reached.
    pub rank: Option<u8>,
}

/// One step of a flow: an exchange, a DNS lookup or a connection without HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StepRef {
    Exchange(ExchId),
    Dns(DnsId),
    Connection(ConnId),
}

impl std::fmt::Display for StepRef {
    /// "#12" (exchange), "D3" (lookup), "C2" (connection), as the reports write them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepRef::Exchange(id) => write!(f, "#{}", id.0),
            StepRef::Dns(id) => write!(f, "D{}", id.0),
            StepRef::Connection(id) => write!(f, "C{}", id.0),
        }
    }
}

/// How far one client's sign-in got (docs/stages.md "Milestones, furthest stage and failed
/// stage").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigninSummary {
    /// The client address (for a SAZ, the address Fiddler recorded, if any).
    pub client: Option<IpAddr>,
    /// SIP address from `?sipuri=` or the Autodiscover host's domain.
    pub sip_uri: Option<String>,
    pub sip_domain: Option<String>,
    /// DOMAIN\user from an NTLM type 3, when seen.
    pub user: Option<String>,
    /// "internal" (the first root that answered was on lyncdiscoverinternal, or only that
    /// name resolved) or "external". The discovery name decides, never the client address
    /// alone (a CGNAT 100.64.0.0/10 phone is external when lyncdiscover answered).
    pub flow: Option<String>,
    /// The flow had neither a discovery lookup nor a root request in the capture: `flow` was
    /// inferred from the Autodiscover host's address, then the client's.
    pub flow_inferred: bool,
    /// "online" (an Autodiscover or UCWA host of SfB Online) or "hybrid" (an on-premises
    /// Autodiscover answer redirected to SfB Online); None on-premises.
    pub hosting: Option<String>,
    pub started: Ts,
    pub ended: Ts,
    /// Furthest stage reached: the highest milestone rank reached; within the rank, the
    /// latest step's stage.
    pub furthest_stage: Option<String>,
    /// The outcome of that stage's last step.
    pub furthest_outcome: Option<Outcome>,
    /// The stage where the sign-in broke, when it did (a carrier such as `tcp-tls` included).
    pub failed_stage: Option<String>,
    /// For a failed carrier: the stage whose request it carried, when known.
    pub failed_carries: Option<String>,
    /// The host of the failed step (request host, lookup name, connection name).
    pub failed_host: Option<String>,
    /// The failed step.
    pub failed_step: Option<StepRef>,
    /// The check whose finding explains the failed step, and the cause in a few words.
    pub failed_check: Option<String>,
    pub failed_cause: Option<String>,
    /// `signed-in` (makeMeAvailable) answered successfully.
    pub signed_in: bool,
    /// Activity after sign-in that worked ("policies", "MRAS", "contacts"), in flow order.
    pub after_signin: Vec<String>,
    /// The verdict line: "furthest: dns-discovery (ok) → failed: tcp-tls for ad-root-https
    /// (C-CERT-7: unknown_ca)"; every view prints this one.
    pub verdict: String,
    pub exchanges: Vec<ExchId>,
    pub dns: Vec<DnsId>,
    pub connections: Vec<ConnId>,
}

impl SigninSummary {
    /// "external", "internal (inferred)", "external · SfB Online", "internal · hybrid → SfB
    /// Online": the flow as the views label it.
    pub fn flow_label(&self) -> String {
        let mut s = self.flow.clone().unwrap_or_else(|| "?".into());
        if self.flow_inferred {
            s.push_str(" (inferred)");
        }
        match self.hosting.as_deref() {
            Some("online") => s.push_str(" · SfB Online"),
            Some("hybrid") => s.push_str(" · hybrid → SfB Online"),
            _ => {}
        }
        s
    }

    /// "tcp-tls for ad-root-https (C2, lyncdiscover.contoso.com)": the failed stage with what
    /// it carried and where; None when nothing failed.
    pub fn failed_label(&self) -> Option<String> {
        let mut out = self.failed_stage.clone()?;
        if let Some(c) = &self.failed_carries {
            out.push_str(&format!(" for {c}"));
        }
        let place: Vec<String> = [
            self.failed_step.map(|x| x.to_string()),
            self.failed_host.clone(),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !place.is_empty() {
            out.push_str(&format!(" ({})", place.join(", ")));
        }
        Some(out)
    }
}
