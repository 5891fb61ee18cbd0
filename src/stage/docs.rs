//! The documents generated from the tables the stage layer runs on: docs/checks.md from the
//! check table (checks/mod.rs), docs/stages.md from the built-in rules (rules.toml as parsed
//! by rules.rs). tests/docs.rs keeps the files in the repository equal to this output, so the
//! documents say what the code does.

use super::checks::{Check, TABLE};
use super::rules::{HeaderTest, HostSet, OutcomeRule, Rule, RuleKind, RuleSet, Subkind};
use crate::model::{FindingSeverity, Outcome};

const WRITE_HINT: &str = "`LYNCSCOPE_WRITE_DOCS=1 cargo test --test docs` rewrites this file";

/// What a capture cannot tell, whatever the checks do.
const NOT_DECIDABLE: &str = "Not decidable from a capture (model gaps): whether the device trusts \
a root (C-CERT-7 infers it from the chain the server sent and the issuer's name), the alert of a \
TLS 1.3 client without a key log (encrypted), an HTTP/2 stream reset in a packet capture (HTTP/2 \
frames are not decoded; a trace archive's stream error is read), DMZ vs internal reverse-proxy VIP \
(needs subnet labels), exact pool membership (token scope uses the issuing host, the hosts an \
Autodiscover answer names with it and the hosts whose challenge names its endpoint).";

/// Outcomes that hold whatever a rule's own entries say (the specification's §1.0 table).
const INVARIANTS: &str = "Whatever a rule's outcome entries say, for every stage but `unrelated`: \
a 401 answering an NTLM (or Negotiate-wrapped NTLM) type-3 message is `fail` (credentials \
rejected or the NTLM context lost); an HTTP/2 stream reset before its response is `fail`, or \
`noise` when it was reset with `HTTP_1_1_REQUIRED` and the client repeated the request over \
HTTP/1.1 within 5 s and got an answer. For the Lync stages (not Exchange): a 401, 403 or 500 to \
a request that presented a token (`Authorization: Bearer`, `X-MS-WebTicket`) and carries a \
token-rejection marker (X-Ms-diagnostics 28032, 28033, 28055, 28056, 28072 or 28077, `Warning: \
1xx <host> \"InvalidToken\"`, `faultcode=\"wsse:FailedAuthentication\"`) is `fail` (rule \
`token-rejected`), whatever its status; a 401/403 with a fresh `Bearer` / `MsRtcOAuth` \
challenge to a token that this host may accept (token scope: an on-premises web ticket on its \
pool and on the hosts whose challenge names its token endpoint; an SfB Online web ticket on the \
Online hosts that name its director; a JWT on its audience) is `fail` (`token-rejected`); to a \
token issued for another host it is `challenge` the first time that host asks, `fail` after \
(`token-outside-scope`). A TLS handshake the client abandons after the server's certificate is \
`fail`, never `unknown`, unless it is `noise`: the HTTPS attempt on a `lyncdiscover` name \
CNAMEd to SfB Online (which presents its `*.online.lync.com` certificate) when discovery went \
on, or a failed Exchange candidate when a later one worked.";

/// How a sign-in's verdict is built from the tags (the specification's §1.0b).
const VERDICT: &str = "The sign-in verdict, per client. Furthest stage = the highest milestone \
rank reached (1 a discovery lookup answered, NXDOMAIN included; 2 a root request answered; 3 \
the unauthenticated user request answered; 4 a token leg answered, a 401 leg included; 5 the \
authenticated user request answered; 6 the application created, or any MCX request answered; \
7 makeMeAvailable answered; 8 a P-GET answered, or one sent after sign-in still open at capture \
end); within a rank, the stage of the latest such step, printed with the outcome of that \
stage's last step. Failed stage (only when makeMeAvailable did not succeed) = the last `fail`, \
in capture order, among the milestones and the carriers, not followed by a milestone of the \
same or a higher rank with outcome `ok`, `challenge` or `redirect`; a carrier takes the rank of \
the stage it carried, known from the discovery name (`lyncdiscover*` → the root) or from the \
relation of the link that announced the host. `noise` never makes a failed stage; failures of \
side stages are findings only. Verdict line: `furthest: <stage> (<outcome>) → failed: <stage> \
[for <carried stage>] (<check id>: <short cause>)`, or `… → incomplete: capture ends after \
<stage>`, or `… → signed in after <s> s (makeMeAvailable #n)` with the post-sign-in activity \
(`+ policies, MRAS, contacts`).";

/// docs/checks.md: every check of the table, in the order they run.
pub fn checks_markdown() -> String {
    let mut s = String::new();
    s.push_str("# Checks\n\n");
    s.push_str(&format!(
        "<!-- Generated from the check table in src/stage/checks/mod.rs by \
         lyncscope::stage::docs::checks_markdown; {WRITE_HINT}. -->\n\n"
    ));
    s.push_str(&wrap(
        "Each finding has a check id, a severity (`fail`, F: explains a sign-in failure; \
         `warning`, W; `info`, I), the exchanges / lookups / connections it rests on, and a \
         message that says what was seen and what to do. A check whose evidence is not in the \
         capture stays silent rather than guessing. The checks run in the order below; a \
         report lists the findings by severity (fail first), then check id. Where a check can \
         give more than one severity, the evidence says when each applies.",
    ));
    s.push_str("\n| check | title | sev. | evidence it needs |\n|---|---|---|---|\n");
    for c in TABLE {
        s.push_str(&check_row(c));
    }
    s.push('\n');
    s.push_str(&wrap(NOT_DECIDABLE));
    s
}

fn check_row(c: &Check) -> String {
    let sev: Vec<&str> = c.severities.iter().map(|s| severity_letter(*s)).collect();
    format!(
        "| {} | {} | {} | {} |\n",
        c.id,
        cell(c.title),
        sev.join(" / "),
        cell(&c.needs.split_whitespace().collect::<Vec<_>>().join(" "))
    )
}

fn severity_letter(s: FindingSeverity) -> &'static str {
    match s {
        FindingSeverity::Fail => "F",
        FindingSeverity::Warning => "W",
        FindingSeverity::Info => "I",
    }
}

/// docs/stages.md: the stages of the built-in rules in flow order, then the rules in matching
/// order with what they test and the outcomes they give.
pub fn stages_markdown() -> String {
    let rules = RuleSet::builtin();
    let mut s = String::new();
    s.push_str("# Discovery stages and rules\n\n");
    s.push_str(&format!(
        "<!-- Generated from the built-in rules (src/stage/rules.toml as parsed by \
         src/stage/rules.rs) by lyncscope::stage::docs::stages_markdown; {WRITE_HINT}. -->\n\n"
    ));
    s.push_str(&wrap(
        "Every exchange, DNS lookup and connection the rules know gets a stage and an outcome: \
         the first rule below that matches gives the stage, and the first of its outcome \
         entries that holds gives the outcome. `--rules FILE` replaces rules by name, removes \
         them (`disabled = true`), adds new ones and new stages (see the README).",
    ));
    s.push_str("\n## Stages\n\n");
    s.push_str(&wrap(
        "In flow order (the order a successful first-time sign-in walks through; clients \
         parallelise, retry and cache, so the tool never requires it). A milestone has a rank: \
         only milestones move the furthest stage reached. A carrier carries another stage's \
         request (the lookup of an announced host, the TCP/TLS connection, the UCWA probe): \
         when it fails, the failed stage is named with the stage it carried. Post-sign-in \
         activity is printed beside the verdict, never as the furthest stage.",
    ));
    s.push_str(
        "\n| # | stage | label | milestone rank | kind | given by the rules |\n|---|---|---|---|---|---|\n",
    );
    for (n, st) in rules.stages.iter().enumerate() {
        let given: Vec<String> = rules
            .rules
            .iter()
            .filter(|r| r.stage == st.id)
            .map(|r| format!("`{}`", r.name))
            .collect();
        let kind = if st.carrier {
            "carrier".to_string()
        } else if let Some(p) = &st.post_signin {
            format!("post-sign-in ({p})")
        } else {
            String::new()
        };
        s.push_str(&format!(
            "| {} | `{}` | {} | {} | {} | {} |\n",
            n + 1,
            st.id,
            cell(&st.label),
            st.rank.map_or("–".to_string(), |r| r.to_string()),
            kind,
            if given.is_empty() {
                "none: what no rule matches".to_string()
            } else {
                given.join(", ")
            }
        ));
    }
    s.push('\n');
    s.push_str(&wrap(VERDICT));
    let outcomes = [
        (Outcome::Ok, "the step worked"),
        (Outcome::Challenge, "an expected 401 leg"),
        (Outcome::Redirect, "the answer sends the client elsewhere"),
        (Outcome::Fail, "the step failed"),
        (
            Outcome::Noise,
            "a failure the client tolerates, e.g. `lyncdiscoverinternal` NXDOMAIN outside \
                 the company",
        ),
        (
            Outcome::Unknown,
            "not decided: no entry held, or no response",
        ),
    ]
    .iter()
    .map(|(o, what)| format!("`{}` ({what})", o.as_str()))
    .collect::<Vec<_>>()
    .join(", ");
    s.push('\n');
    s.push_str(&wrap(&format!("Outcomes: {outcomes}.")));
    s.push('\n');
    s.push_str(&wrap(INVARIANTS));
    s.push_str("\n## Rules\n\n");
    s.push_str(&wrap(
        "In matching order. All tests of a rule must hold; text tests are case-insensitive \
         regular expressions. HTTP rules see the lower-case host without port and the \
         normalised path (lower case, no query, no duplicate or trailing `/`), and only the \
         first 64 KiB of a body. An HTTP exchange without response gets the rule's \
         no-response outcome (`unknown` unless it says otherwise); a DNS lookup without \
         answer is `fail`. Connection rules tag TCP connections that carried no HTTP \
         exchange, by their SNI or a name that resolved to the server's address; their \
         outcome comes from the handshake (refused, unanswered, TLS aborted …), not from \
         outcome entries.",
    ));
    for (n, r) in rules.rules.iter().enumerate() {
        s.push('\n');
        s.push_str(&rule_section(n + 1, r));
    }
    s
}

fn rule_section(n: usize, r: &Rule) -> String {
    let mut s = format!("### {n}. `{}` → `{}`\n\n", r.name, r.stage);
    let what = match r.kind {
        RuleKind::Http => "An HTTP exchange",
        RuleKind::Dns => "A DNS lookup",
        RuleKind::Connection => "A connection without HTTP",
    };
    let tests = rule_tests(r);
    if tests.is_empty() {
        s.push_str(&format!("{what}, any.\n"));
    } else {
        s.push_str(&format!("{what} where:\n\n"));
        for t in tests {
            s.push_str(&format!("- {t}\n"));
        }
    }
    if !r.subkinds.is_empty() {
        s.push_str("\nSubkind, the first that holds:\n\n");
        for k in &r.subkinds {
            s.push_str(&format!("- {}\n", subkind_line(k)));
        }
    }
    if !r.outcomes.is_empty() {
        s.push_str("\nOutcome, the first that holds:\n\n");
        for o in &r.outcomes {
            s.push_str(&format!("- {}\n", outcome_line(o)));
        }
        if let Some(o) = r.no_response {
            let what = if r.kind == RuleKind::Dns {
                "no answer"
            } else {
                "no response"
            };
            s.push_str(&format!("- {what} → `{}`\n", o.as_str()));
        }
    }
    s
}

fn rule_tests(r: &Rule) -> Vec<String> {
    let mut t = Vec::new();
    if !r.methods.is_empty() {
        t.push(format!("method {}", r.methods.join(" or ")));
    }
    if let Some(scheme) = &r.scheme {
        t.push(format!("scheme {scheme}"));
    }
    if let Some(re) = &r.host {
        t.push(format!("host matches {}", code(re.as_str())));
    }
    if let Some(re) = &r.path {
        t.push(format!("path matches {}", code(re.as_str())));
    }
    if let Some(re) = &r.query {
        t.push(format!("query matches {}", code(re.as_str())));
    }
    if !r.req_header.is_empty() {
        t.push(format!("request header {}", headers(&r.req_header)));
    }
    if !r.req_absent.is_empty() {
        let names: Vec<String> = r.req_absent.iter().map(|n| code(n)).collect();
        t.push(format!("no request header {}", names.join(" nor ")));
    }
    if let Some(re) = &r.req_body {
        t.push(format!("request body matches {}", code(re.as_str())));
    }
    if let Some(re) = &r.announced {
        t.push(format!(
            "the URL was announced by an earlier response as a link whose relation matches {}",
            code(re.as_str())
        ));
    }
    if let Some(set) = r.host_in {
        let what = if r.kind == RuleKind::Connection {
            "server name"
        } else {
            "host"
        };
        t.push(format!("the {what} is one of {}", host_set(set)));
    }
    if let Some(re) = &r.qname {
        t.push(format!("question name matches {}", code(re.as_str())));
    }
    if let Some(set) = r.qname_in {
        t.push(format!("the question name is one of {}", host_set(set)));
    }
    if r.after_lync {
        t.push("a Lync discovery stage was seen earlier in the capture".into());
    }
    if let Some(port) = r.port {
        t.push(format!("server port {port}"));
    }
    if r.lync_resource {
        t.push(
            "`resource=` or `scope=` (query or form body) names a Lync or SfB Online host or the \
             SfB Online application id"
                .into(),
        );
    }
    t
}

fn host_set(set: HostSet) -> &'static str {
    match set {
        HostSet::LyncHosts => {
            "the Lync hosts (named by Lync responses, discovery CNAME targets, X-MS-Server-Fqdn \
             values)"
        }
        HostSet::AnnouncedHosts => "the hosts of URLs an earlier response announced",
        HostSet::SipDomains => "the SIP domains (from discovery names and `sipuri=`)",
        HostSet::IdpHosts => {
            "the identity-provider hosts this flow announced (a Bearer `authorization_uri`, an \
             `ms_rtc_passiveauthuri`, an identity provider's redirect to another)"
        }
    }
}

/// "`Name`" or "`Name` matching `re`", several joined by "or".
fn headers(tests: &[HeaderTest]) -> String {
    tests
        .iter()
        .map(|h| match &h.value {
            Some(re) => format!("{} matching {}", code(&h.name), code(re.as_str())),
            None => code(&h.name),
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

fn subkind_line(k: &Subkind) -> String {
    let mut t = Vec::new();
    if !k.methods.is_empty() {
        t.push(format!("method {}", k.methods.join(" or ")));
    }
    if let Some(re) = &k.path {
        t.push(format!("path matches {}", code(re.as_str())));
    }
    if !k.req_header.is_empty() {
        t.push(format!("request header {}", headers(&k.req_header)));
    }
    if let Some(re) = &k.req_body {
        t.push(format!("request body matches {}", code(re.as_str())));
    }
    let when = if t.is_empty() {
        "always".to_string()
    } else {
        t.join(", ")
    };
    format!("{when} → `{}`", k.subkind)
}

fn outcome_line(o: &OutcomeRule) -> String {
    let mut t = Vec::new();
    if let Some(re) = &o.status {
        // rules.rs anchors the status pattern as ^(?:…)$; the file's own text reads better.
        let p = re.as_str();
        let p = p
            .strip_prefix("^(?:")
            .and_then(|x| x.strip_suffix(")$"))
            .unwrap_or(p);
        t.push(format!("status {}", code(p)));
    }
    if !o.resp_header.is_empty() {
        t.push(format!("response header {}", headers(&o.resp_header)));
    }
    if let Some(re) = &o.body {
        t.push(format!("body matches {}", code(re.as_str())));
    }
    if let Some(rcode) = &o.rcode {
        t.push(format!("rcode {rcode}"));
    }
    match o.answered {
        Some(true) => t.push("answered (an address or CNAME)".into()),
        Some(false) => t.push("not answered".into()),
        None => {}
    }
    if !o.challenge.is_empty() {
        let names: Vec<String> = o.challenge.iter().map(|c| code(c)).collect();
        t.push(format!("a challenge {}", names.join(" or ")));
    }
    if let Some(n) = o.ntlm_type {
        t.push(format!("the request carried NTLM type {n}"));
    }
    match o.location_lync {
        Some(true) => t.push("`Location` on the same host, a Lync host or an Online host".into()),
        Some(false) => t.push("`Location` on another host".into()),
        None => {}
    }
    let when = if t.is_empty() {
        "otherwise".to_string()
    } else {
        t.join(", ")
    };
    let note = o
        .note
        .as_ref()
        .map(|n| format!(": {n}"))
        .unwrap_or_default();
    format!("{when} → `{}`{note}", o.outcome.as_str())
}

/// Inline code that survives any backticks inside.
fn code(text: &str) -> String {
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

/// A table cell: a pipe would end it.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// A paragraph folded at 100 columns, with a blank line after it.
fn wrap(text: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > 100 {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}
