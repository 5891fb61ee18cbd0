//! JSON views of what the stage layer adds: stage tags, decoded auth, DNS lookups, findings
//! and sign-in summaries (part of schema `lyncscope/report-2`, see docs/report-schema.md).

use crate::model::{
    rcode_name, rtype_name, AuthFacts, AuthLeg, Challenge, DnsData, DnsLookup, Finding,
    MsDiagnostic, NtlmMessage, SigninSummary, StageTag, TokenRef,
};
use serde::Serialize;

#[derive(Serialize)]
pub(crate) struct StageDto<'a> {
    id: &'a str,
    outcome: &'static str,
    rule: &'a str,
    parent: Option<u32>,
    via: Option<&'a str>,
    dns: Option<u32>,
    subkind: Option<&'a str>,
    carries: Option<&'a str>,
    note: Option<&'a str>,
}

pub(crate) fn stage(t: &StageTag) -> StageDto<'_> {
    StageDto {
        id: &t.id,
        outcome: t.outcome.as_str(),
        rule: &t.rule,
        parent: t.parent.map(|p| p.0),
        via: t.via.as_deref(),
        dns: t.dns.map(|d| d.0),
        subkind: t.subkind.as_deref(),
        carries: t.carries.as_deref(),
        note: t.note.as_deref(),
    }
}

#[derive(Serialize)]
pub(crate) struct AuthDto<'a> {
    request: Option<LegDto<'a>>,
    challenges: Vec<ChallengeDto<'a>>,
    diagnostics: Vec<MsDiagDto<'a>>,
}

#[derive(Serialize)]
struct LegDto<'a> {
    scheme: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ntlm: Option<NtlmDto<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kerberos: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<TokenDto<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assertion_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

#[derive(Serialize)]
struct TokenDto<'a> {
    prefix: &'a str,
    sha256: &'a str,
    cwt: bool,
}

fn token(t: &TokenRef) -> TokenDto<'_> {
    TokenDto {
        prefix: &t.prefix,
        sha256: &t.sha256,
        cwt: t.cwt,
    }
}

#[derive(Serialize)]
struct NtlmDto<'a> {
    message_type: u8,
    flags: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    workstation: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    target_info: Vec<[&'a str; 2]>,
}

fn ntlm(m: &NtlmMessage) -> NtlmDto<'_> {
    let mut d = NtlmDto {
        message_type: m.message_type(),
        flags: 0,
        domain: None,
        user: None,
        workstation: None,
        target: None,
        target_info: Vec::new(),
    };
    match m {
        NtlmMessage::Negotiate {
            flags,
            domain,
            workstation,
        } => {
            d.flags = *flags;
            d.domain = domain.as_deref();
            d.workstation = workstation.as_deref();
        }
        NtlmMessage::Challenge {
            flags,
            target,
            target_info,
        } => {
            d.flags = *flags;
            d.target = target.as_deref();
            d.target_info = target_info
                .iter()
                .map(|(k, v)| [k.as_str(), v.as_str()])
                .collect();
        }
        NtlmMessage::Authenticate {
            domain,
            user,
            workstation,
            flags,
        } => {
            d.flags = *flags;
            d.domain = Some(domain);
            d.user = Some(user);
            d.workstation = Some(workstation);
        }
    }
    d
}

fn leg(l: &AuthLeg) -> LegDto<'_> {
    let mut d = LegDto {
        scheme: "",
        ntlm: None,
        kerberos: None,
        token: None,
        assertion_id: None,
        user: None,
        name: None,
    };
    match l {
        AuthLeg::Ntlm(m) => {
            d.scheme = "NTLM";
            d.ntlm = Some(ntlm(m));
        }
        AuthLeg::Negotiate { ntlm: m, kerberos } => {
            d.scheme = "Negotiate";
            d.ntlm = m.as_ref().map(ntlm);
            d.kerberos = Some(*kerberos);
        }
        AuthLeg::Bearer(t) => {
            d.scheme = "Bearer";
            d.token = Some(token(t));
        }
        AuthLeg::WebTicket {
            assertion_id,
            token: t,
        } => {
            d.scheme = "X-MS-WebTicket";
            d.assertion_id = assertion_id.as_deref();
            d.token = Some(token(t));
        }
        AuthLeg::Basic { user } => {
            d.scheme = "Basic";
            d.user = user.as_deref();
        }
        AuthLeg::Other { scheme } => {
            d.scheme = "other";
            d.name = Some(scheme);
        }
    }
    d
}

#[derive(Serialize)]
struct ChallengeDto<'a> {
    scheme: &'a str,
    params: Vec<[&'a str; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ntlm: Option<NtlmDto<'a>>,
}

fn challenge(c: &Challenge) -> ChallengeDto<'_> {
    ChallengeDto {
        scheme: &c.scheme,
        params: c
            .params
            .iter()
            .map(|(k, v)| [k.as_str(), v.as_str()])
            .collect(),
        ntlm: c.ntlm.as_ref().map(ntlm),
    }
}

#[derive(Serialize)]
struct MsDiagDto<'a> {
    code: Option<u32>,
    source: Option<&'a str>,
    reason: Option<&'a str>,
    fault: Option<&'a str>,
    raw: &'a str,
}

fn msdiag(d: &MsDiagnostic) -> MsDiagDto<'_> {
    MsDiagDto {
        code: d.code,
        source: d.source.as_deref(),
        reason: d.reason.as_deref(),
        fault: d.fault.as_deref(),
        raw: &d.raw,
    }
}

pub(crate) fn auth(a: &AuthFacts) -> AuthDto<'_> {
    AuthDto {
        request: a.request.as_ref().map(leg),
        challenges: a.challenges.iter().map(challenge).collect(),
        diagnostics: a.diagnostics.iter().map(msdiag).collect(),
    }
}

#[derive(Serialize)]
pub(crate) struct DnsDto<'a> {
    id: u32,
    transport: &'static str,
    client: String,
    server: String,
    txid: u16,
    qname: &'a str,
    qtype: String,
    query_time: Option<f64>,
    query_frame: Option<u64>,
    response_time: Option<f64>,
    response_frame: Option<u64>,
    rcode: Option<&'static str>,
    truncated: Option<bool>,
    answers: Vec<AnswerDto<'a>>,
    stage: Option<StageDto<'a>>,
}

#[derive(Serialize)]
struct AnswerDto<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    rtype: String,
    ttl: u32,
    data: String,
}

fn type_name(t: u16) -> String {
    rtype_name(t).map_or_else(|| format!("TYPE{t}"), str::to_string)
}

pub(crate) fn dns(l: &DnsLookup) -> DnsDto<'_> {
    let r = l.response.as_ref();
    DnsDto {
        id: l.id.0,
        transport: l.transport.as_str(),
        client: l.client.to_string(),
        server: l.server.to_string(),
        txid: l.txid,
        qname: &l.qname,
        qtype: type_name(l.qtype),
        query_time: l.query.map(|a| a.ts.as_secs_f64()),
        query_frame: l.query.map(|a| a.frame.0),
        response_time: r.map(|r| r.arrival.ts.as_secs_f64()),
        response_frame: r.map(|r| r.arrival.frame.0),
        rcode: r.map(|r| rcode_name(r.rcode)),
        truncated: r.map(|r| r.truncated),
        answers: r
            .map(|r| {
                r.answers
                    .iter()
                    .map(|a| AnswerDto {
                        name: &a.name,
                        rtype: type_name(a.rtype),
                        ttl: a.ttl,
                        data: match &a.data {
                            DnsData::A(ip) => ip.to_string(),
                            DnsData::Aaaa(ip) => ip.to_string(),
                            DnsData::Name(n) => n.clone(),
                            DnsData::Srv {
                                priority,
                                weight,
                                port,
                                target,
                            } => format!("{priority} {weight} {port} {target}"),
                            DnsData::Other(n) => format!("({n} bytes)"),
                        },
                    })
                    .collect()
            })
            .unwrap_or_default(),
        stage: l.stage.as_ref().map(stage),
    }
}

#[derive(Serialize)]
pub(crate) struct FindingDto<'a> {
    check: &'a str,
    severity: &'static str,
    message: &'a str,
    exchanges: Vec<u32>,
    dns: Vec<u32>,
    connections: Vec<u32>,
}

pub(crate) fn finding(f: &Finding) -> FindingDto<'_> {
    FindingDto {
        check: &f.check,
        severity: f.severity.as_str(),
        message: &f.message,
        exchanges: f.exchanges.iter().map(|x| x.0).collect(),
        dns: f.dns.iter().map(|x| x.0).collect(),
        connections: f.connections.iter().map(|x| x.0).collect(),
    }
}

#[derive(Serialize)]
pub(crate) struct SigninDto<'a> {
    client: Option<String>,
    sip_uri: Option<&'a str>,
    sip_domain: Option<&'a str>,
    user: Option<&'a str>,
    flow: Option<&'a str>,
    flow_inferred: bool,
    hosting: Option<&'a str>,
    started: f64,
    ended: f64,
    elapsed: f64,
    furthest_stage: Option<&'a str>,
    furthest_outcome: Option<&'static str>,
    failed_stage: Option<&'a str>,
    failed_carries: Option<&'a str>,
    failed_host: Option<&'a str>,
    failed_step: Option<String>,
    failed_check: Option<&'a str>,
    failed_cause: Option<&'a str>,
    signed_in: bool,
    after_signin: &'a [String],
    verdict: &'a str,
    exchanges: Vec<u32>,
    dns: Vec<u32>,
    connections: Vec<u32>,
}

pub(crate) fn signin(s: &SigninSummary) -> SigninDto<'_> {
    SigninDto {
        client: s.client.map(|c| c.to_string()),
        sip_uri: s.sip_uri.as_deref(),
        sip_domain: s.sip_domain.as_deref(),
        user: s.user.as_deref(),
        flow: s.flow.as_deref(),
        flow_inferred: s.flow_inferred,
        hosting: s.hosting.as_deref(),
        started: s.started.as_secs_f64(),
        ended: s.ended.as_secs_f64(),
        elapsed: s.ended.secs_since(s.started),
        furthest_stage: s.furthest_stage.as_deref(),
        furthest_outcome: s.furthest_outcome.map(|o| o.as_str()),
        failed_stage: s.failed_stage.as_deref(),
        failed_carries: s.failed_carries.as_deref(),
        failed_host: s.failed_host.as_deref(),
        failed_step: s.failed_step.map(|x| x.to_string()),
        failed_check: s.failed_check.as_deref(),
        failed_cause: s.failed_cause.as_deref(),
        signed_in: s.signed_in,
        after_signin: &s.after_signin,
        verdict: &s.verdict,
        exchanges: s.exchanges.iter().map(|x| x.0).collect(),
        dns: s.dns.iter().map(|x| x.0).collect(),
        connections: s.connections.iter().map(|x| x.0).collect(),
    }
}
