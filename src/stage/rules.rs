//! The rule table: parsed from TOML (the built-in `rules.toml`, plus `--rules FILE`),
//! validated and compiled once, then matched against each exchange, lookup and connection.

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder, SetMatches};
use serde::Deserialize;
use thiserror::Error;

use crate::model::Outcome;

/// The built-in rules (docs/stages.md lists them).
pub const BUILTIN: &str = include_str!("rules.toml");

#[derive(Debug, Error)]
pub enum RulesError {
    #[error("rules file {file}: {message}")]
    Parse { file: String, message: String },
    #[error("rules file {file}: rule \"{rule}\": {message}")]
    Rule {
        file: String,
        rule: String,
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    stage: Vec<StageFile>,
    #[serde(default)]
    rule: Vec<RuleDef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StageFile {
    id: String,
    label: String,
    #[serde(default)]
    rank: Option<u8>,
    /// Older rule files: `milestone = false` removes the rank; `true` needs a `rank`.
    #[serde(default)]
    milestone: Option<bool>,
    #[serde(default)]
    carrier: bool,
    #[serde(default)]
    post_signin: Option<String>,
}

/// A stage of the flow (docs/stages.md "Milestones, furthest stage and failed stage").
#[derive(Debug, Clone)]
pub struct StageDef {
    pub id: String,
    pub label: String,
    /// Milestone rank (1 = discovery lookup … 8 = event channel): a step of the sign-in
    /// itself, which moves the furthest stage reached. None for side traffic and transport.
    pub rank: Option<u8>,
    /// A step that carries another stage's request (DNS of an announced host, TCP/TLS, the
    /// UCWA probe): its failure is the failed stage, named with the stage it carried.
    pub carrier: bool,
    /// Activity after sign-in printed beside the verdict ("policies", "MRAS", "contacts").
    pub post_signin: Option<String>,
}

impl StageDef {
    /// A milestone (it has a rank).
    pub fn milestone(&self) -> bool {
        self.rank.is_some()
    }
}

fn stage_def(file: &str, s: StageFile) -> Result<StageDef, RulesError> {
    let rank = match (s.rank, s.milestone) {
        (_, Some(false)) => None,
        (None, Some(true)) => {
            return Err(RulesError::Parse {
                file: file.into(),
                message: format!("stage \"{}\": milestone = true needs a rank (1-8)", s.id),
            })
        }
        (r, _) => r,
    };
    Ok(StageDef {
        id: s.id,
        label: s.label,
        rank,
        carrier: s.carrier,
        post_signin: s.post_signin,
    })
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    name: String,
    #[serde(default)]
    stage: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    disabled: bool,
    #[serde(default)]
    before: Option<String>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    method: Option<OneOrMany>,
    #[serde(default)]
    scheme: Option<String>,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    req_header: Option<Vec<String>>,
    #[serde(default)]
    req_absent: Option<Vec<String>>,
    #[serde(default)]
    req_body: Option<String>,
    #[serde(default)]
    announced: Option<String>,
    #[serde(default)]
    host_in: Option<String>,
    #[serde(default)]
    lync_resource: bool,
    #[serde(default)]
    qname: Option<String>,
    #[serde(default)]
    qname_in: Option<String>,
    #[serde(default)]
    after_lync: bool,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    subkind: Vec<SubkindDef>,
    #[serde(default)]
    outcome: Vec<OutcomeDef>,
    #[serde(default)]
    no_response: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubkindDef {
    subkind: String,
    #[serde(default)]
    method: Option<OneOrMany>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    req_header: Option<Vec<String>>,
    #[serde(default)]
    req_body: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomeDef {
    outcome: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    resp_header: Option<Vec<String>>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    rcode: Option<String>,
    #[serde(default)]
    answered: Option<bool>,
    #[serde(default)]
    challenge: Option<Vec<String>>,
    #[serde(default)]
    ntlm_type: Option<u8>,
    #[serde(default)]
    location_lync: Option<bool>,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    Http,
    Dns,
    Connection,
}

/// A named set of hosts the classifier learns while it walks the capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostSet {
    /// Hosts named by Lync responses, discovery CNAME targets, X-MS-Server-Fqdn values.
    LyncHosts,
    /// Hosts of URLs announced by any earlier response.
    AnnouncedHosts,
    /// SIP domains seen in discovery names and `sipuri=`.
    SipDomains,
    /// Identity-provider hosts announced by this flow (a `Bearer authorization_uri`, an
    /// `ms_rtc_passiveauthuri`, an IdP's redirect to another IdP): stage `modern-auth`.
    IdpHosts,
}

impl HostSet {
    fn parse(s: &str) -> Option<HostSet> {
        Some(match s {
            "lync-hosts" => HostSet::LyncHosts,
            "announced-hosts" => HostSet::AnnouncedHosts,
            "sip-domains" => HostSet::SipDomains,
            "idp-hosts" => HostSet::IdpHosts,
            _ => return None,
        })
    }
}

/// "Name" or "Name: value-regex".
#[derive(Debug, Clone)]
pub struct HeaderTest {
    pub name: String,
    pub value: Option<Regex>,
}

impl HeaderTest {
    /// True when some header of that name (and matching value) is present.
    pub fn holds<'a>(&self, mut values: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
        values.any(|(n, v)| {
            n.eq_ignore_ascii_case(&self.name) && self.value.as_ref().is_none_or(|r| r.is_match(v))
        })
    }
}

#[derive(Debug, Clone)]
pub struct Subkind {
    pub subkind: String,
    pub methods: Vec<String>,
    pub path: Option<Regex>,
    pub req_header: Vec<HeaderTest>,
    pub req_body: Option<Regex>,
}

#[derive(Debug, Clone)]
pub struct OutcomeRule {
    pub outcome: Outcome,
    pub status: Option<Regex>,
    pub resp_header: Vec<HeaderTest>,
    pub body: Option<Regex>,
    pub rcode: Option<String>,
    pub answered: Option<bool>,
    /// Any parsed `WWW-Authenticate` challenge (folded lines split, docs/stages.md) has one
    /// of these schemes; `X-MS-WebTicketURL` counts as a scheme of its own.
    pub challenge: Vec<String>,
    /// The request carried an NTLM message of this type (also inside Negotiate).
    pub ntlm_type: Option<u8>,
    /// The `Location` host is the request's host, a Lync host or an Online host (true), or
    /// another host (false).
    pub location_lync: Option<bool>,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub stage: String,
    pub kind: RuleKind,
    pub methods: Vec<String>,
    pub scheme: Option<String>,
    pub host: Option<Regex>,
    pub path: Option<Regex>,
    pub query: Option<Regex>,
    pub req_header: Vec<HeaderTest>,
    pub req_absent: Vec<String>,
    pub req_body: Option<Regex>,
    pub announced: Option<Regex>,
    pub host_in: Option<HostSet>,
    /// `resource=` / `scope=` of the request names a Lync or Online host or the SfB Online
    /// application id (an identity-provider request made for this flow).
    pub lync_resource: bool,
    pub qname: Option<Regex>,
    pub qname_in: Option<HostSet>,
    pub after_lync: bool,
    pub port: Option<u16>,
    pub subkinds: Vec<Subkind>,
    pub outcomes: Vec<OutcomeRule>,
    /// Outcome of a request without response (default `unknown`) or a lookup without answer
    /// (default `fail`).
    pub no_response: Option<Outcome>,
    /// Where the rule came from ("built-in" or the file name).
    pub source: String,
}

/// Stages in canonical order and the rules in matching order.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub stages: Vec<StageDef>,
    pub rules: Vec<Rule>,
    /// Every rule's path and host pattern in one automaton each, so that an exchange is
    /// matched against all of them in one pass (most exchanges of a big capture match none).
    paths: PatternSet,
    hosts: PatternSet,
    /// Some HTTP rule can fire without its path, host or a learned fact matching (a
    /// header-only rule, say): exchanges matching no pattern must still be tried.
    pub(crate) loose_http: bool,
}

#[derive(Debug, Clone)]
struct PatternSet {
    set: RegexSet,
    /// Rule index → pattern index in `set`.
    of_rule: Vec<Option<usize>>,
}

impl PatternSet {
    fn build(rules: &[Rule], pick: impl Fn(&Rule) -> Option<&Regex>) -> PatternSet {
        let mut patterns = Vec::new();
        let of_rule = rules
            .iter()
            .map(|r| {
                pick(r).map(|re| {
                    patterns.push(re.as_str().to_string());
                    patterns.len() - 1
                })
            })
            .collect();
        // The patterns compiled one by one already, so together they compile too.
        let set = RegexSetBuilder::new(&patterns)
            .case_insensitive(true)
            .size_limit(16 << 20)
            .build()
            .unwrap_or_else(|_| RegexSet::empty());
        PatternSet { set, of_rule }
    }
}

/// Which rules' path and host patterns an exchange matches.
pub struct Hits {
    paths: SetMatches,
    hosts: SetMatches,
}

impl Hits {
    /// No rule's path or host pattern matched.
    pub fn none(&self) -> bool {
        !self.paths.matched_any() && !self.hosts.matched_any()
    }

    /// The path pattern of rule `i` (if it has one) matches.
    pub fn path_ok(&self, set: &RuleSet, i: usize) -> bool {
        set.paths.of_rule[i].is_none_or(|p| self.paths.matched(p))
    }
    pub fn host_ok(&self, set: &RuleSet, i: usize) -> bool {
        set.hosts.of_rule[i].is_none_or(|h| self.hosts.matched(h))
    }
}

fn regex(file: &str, rule: &str, pattern: &str) -> Result<Regex, RulesError> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| RulesError::Rule {
            file: file.into(),
            rule: rule.into(),
            message: format!("bad regex {pattern:?}: {e}"),
        })
}

fn header_tests(file: &str, rule: &str, specs: &[String]) -> Result<Vec<HeaderTest>, RulesError> {
    specs
        .iter()
        .map(|spec| {
            let (name, value) = match spec.split_once(':') {
                Some((n, v)) => (n.trim(), Some(v.trim_start())),
                None => (spec.trim(), None),
            };
            Ok(HeaderTest {
                name: name.to_string(),
                value: value.map(|v| regex(file, rule, v)).transpose()?,
            })
        })
        .collect()
}

fn compile(file: &str, def: RuleDef, stages: &[StageDef]) -> Result<Rule, RulesError> {
    let name = def.name.clone();
    let err = |message: String| RulesError::Rule {
        file: file.into(),
        rule: name.clone(),
        message,
    };
    let stage = def.stage.ok_or_else(|| err("no stage".into()))?;
    if !stages.iter().any(|s| s.id == stage) {
        return Err(err(format!(
            "stage \"{stage}\" is not declared by a [[stage]] entry"
        )));
    }
    let kind = match def.kind.as_deref() {
        None | Some("http") => RuleKind::Http,
        Some("dns") => RuleKind::Dns,
        Some("connection") => RuleKind::Connection,
        Some(other) => return Err(err(format!("unknown kind \"{other}\""))),
    };
    let set = |s: Option<String>| -> Result<Option<HostSet>, RulesError> {
        s.map(|s| HostSet::parse(&s).ok_or_else(|| err(format!("unknown host set \"{s}\""))))
            .transpose()
    };
    let re = |p: Option<String>| p.map(|p| regex(file, &name, &p)).transpose();
    let upper = |m: Option<OneOrMany>| {
        m.map(OneOrMany::into_vec)
            .unwrap_or_default()
            .into_iter()
            .map(|m| m.to_ascii_uppercase())
            .collect::<Vec<_>>()
    };
    let mut subkinds = Vec::new();
    for s in def.subkind {
        subkinds.push(Subkind {
            subkind: s.subkind,
            methods: upper(s.method),
            path: re(s.path)?,
            req_header: header_tests(file, &name, &s.req_header.unwrap_or_default())?,
            req_body: re(s.req_body)?,
        });
    }
    let mut outcomes = Vec::new();
    for o in def.outcome {
        outcomes.push(OutcomeRule {
            outcome: Outcome::parse(&o.outcome)
                .ok_or_else(|| err(format!("unknown outcome \"{}\"", o.outcome)))?,
            status: re(o.status.map(|s| format!("^(?:{s})$")))?,
            resp_header: header_tests(file, &name, &o.resp_header.unwrap_or_default())?,
            body: re(o.body)?,
            rcode: o.rcode.map(|r| r.to_ascii_uppercase()),
            answered: o.answered,
            challenge: o.challenge.unwrap_or_default(),
            ntlm_type: o.ntlm_type,
            location_lync: o.location_lync,
            note: o.note,
        });
    }
    let no_response = match def.no_response {
        Some(o) => Some(Outcome::parse(&o).ok_or_else(|| err(format!("unknown outcome \"{o}\"")))?),
        None => None,
    };
    Ok(Rule {
        name: def.name,
        stage,
        kind,
        methods: upper(def.method),
        scheme: def.scheme.map(|s| s.to_ascii_lowercase()),
        host: re(def.host)?,
        path: re(def.path)?,
        query: re(def.query)?,
        req_header: header_tests(file, &name, &def.req_header.unwrap_or_default())?,
        req_absent: def.req_absent.unwrap_or_default(),
        req_body: re(def.req_body)?,
        announced: re(def.announced)?,
        host_in: set(def.host_in)?,
        lync_resource: def.lync_resource,
        qname: re(def.qname)?,
        qname_in: set(def.qname_in)?,
        after_lync: def.after_lync,
        port: def.port,
        subkinds,
        outcomes,
        no_response,
        source: file.to_string(),
    })
}

fn parse(file: &str, text: &str) -> Result<RulesFile, RulesError> {
    toml::from_str(text).map_err(|e| RulesError::Parse {
        file: file.into(),
        message: e.to_string(),
    })
}

impl RuleSet {
    /// The built-in rules only.
    pub fn builtin() -> RuleSet {
        // The built-in file is checked by a test; failing here would be a build defect.
        RuleSet::with_overrides(&[]).unwrap_or_else(|e| panic!("built-in rules: {e}"))
    }

    /// Built-in rules merged with user files `(name, text)`, in order.
    pub fn with_overrides(files: &[(String, String)]) -> Result<RuleSet, RulesError> {
        let base = parse("built-in", BUILTIN)?;
        let mut stages = base
            .stage
            .into_iter()
            .map(|s| stage_def("built-in", s))
            .collect::<Result<Vec<_>, _>>()?;
        let mut defs: Vec<(String, RuleDef)> = base
            .rule
            .into_iter()
            .map(|r| ("built-in".to_string(), r))
            .collect();
        for (file, text) in files {
            let user = parse(file, text)?;
            for s in user.stage {
                let s = stage_def(file, s)?;
                match stages.iter_mut().find(|x| x.id == s.id) {
                    Some(x) => *x = s,
                    None => stages.push(s),
                }
            }
            let mut front = 0;
            for r in user.rule {
                if let Some(i) = defs.iter().position(|(_, d)| d.name == r.name) {
                    defs[i] = (file.clone(), r);
                    continue;
                }
                let anchor = |name: &Option<String>| -> Result<Option<usize>, RulesError> {
                    match name {
                        None => Ok(None),
                        Some(n) => defs
                            .iter()
                            .position(|(_, d)| &d.name == n)
                            .map(Some)
                            .ok_or_else(|| RulesError::Rule {
                                file: file.clone(),
                                rule: r.name.clone(),
                                message: format!("no rule named \"{n}\" to place it next to"),
                            }),
                    }
                };
                let at = if let Some(i) = anchor(&r.before)? {
                    i
                } else if let Some(i) = anchor(&r.after)? {
                    i + 1
                } else {
                    front += 1;
                    front - 1
                };
                defs.insert(at, (file.clone(), r));
            }
        }
        let mut rules = Vec::new();
        for (file, def) in defs {
            if def.disabled {
                continue;
            }
            rules.push(compile(&file, def, &stages)?);
        }
        let http = |r: &Rule| r.kind != RuleKind::Dns;
        let paths = PatternSet::build(&rules, |r| r.path.as_ref().filter(|_| http(r)));
        let hosts = PatternSet::build(&rules, |r| r.host.as_ref().filter(|_| http(r)));
        let loose_http = rules.iter().any(|r| {
            r.kind == RuleKind::Http
                && r.path.is_none()
                && r.host.is_none()
                && r.announced.is_none()
                && r.host_in.is_none()
                && !r.after_lync
        });
        Ok(RuleSet {
            stages,
            rules,
            paths,
            hosts,
            loose_http,
        })
    }

    /// Position of a stage in the canonical order.
    pub fn order(&self, stage: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.id == stage)
    }

    pub fn is_milestone(&self, stage: &str) -> bool {
        self.rank(stage).is_some()
    }

    /// Milestone rank of a stage (docs/stages.md), None when it is not a milestone.
    pub fn rank(&self, stage: &str) -> Option<u8> {
        self.stages
            .iter()
            .find(|s| s.id == stage)
            .and_then(|s| s.rank)
    }

    /// The stage carries another stage's request (DNS hop, TCP/TLS, UCWA probe).
    pub fn is_carrier(&self, stage: &str) -> bool {
        self.stages.iter().any(|s| s.id == stage && s.carrier)
    }

    pub fn stage(&self, stage: &str) -> Option<&StageDef> {
        self.stages.iter().find(|s| s.id == stage)
    }

    pub fn label<'a>(&'a self, stage: &'a str) -> &'a str {
        self.stages
            .iter()
            .find(|s| s.id == stage)
            .map_or(stage, |s| s.label.as_str())
    }

    /// Host sets and path patterns the rules look at, for deciding which bodies to keep.
    pub fn wants_body(&self, host: &str, path: &str) -> bool {
        self.paths.set.is_match(path) || self.hosts.set.is_match(host)
    }

    /// Matches every rule's host and path pattern at once.
    pub fn hits(&self, host: &str, path: &str) -> Hits {
        Hits {
            paths: self.paths.set.matches(path),
            hosts: self.hosts.set.matches(host),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_compile_and_use_the_spec_stage_ids() {
        let set = RuleSet::builtin();
        // The specification's stage ids, in flow order (docs/stages.md).
        let spec = [
            "dns-discovery",
            "dns-hop",
            "dns-legacy-sip",
            "tcp-tls",
            "ad-root-http",
            "ad-root-https",
            "ad-user-challenge",
            "webticket-oauth",
            "webticket-soap",
            "modern-auth",
            "ad-user",
            "ucwa-probe",
            "ucwa-application",
            "mcx-session",
            "certprov",
            "signed-in",
            "inband-provisioning",
            "mras",
            "contacts-presence",
            "event-channel",
            "ucwa-other",
            "exchange-autodiscover",
            "exchange-ews",
            "lync-web-other",
            "unrelated",
        ];
        let ids: Vec<&str> = set.stages.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, spec);
        assert!(set.rules.len() > 30);
        // Milestone ranks of docs/stages.md (the specification's §1.0b).
        let ranks: Vec<(&str, u8)> = set
            .stages
            .iter()
            .filter_map(|s| s.rank.map(|r| (s.id.as_str(), r)))
            .collect();
        assert_eq!(
            ranks,
            [
                ("dns-discovery", 1),
                ("ad-root-http", 2),
                ("ad-root-https", 2),
                ("ad-user-challenge", 3),
                ("webticket-oauth", 4),
                ("webticket-soap", 4),
                ("modern-auth", 4),
                ("ad-user", 5),
                ("ucwa-application", 6),
                ("mcx-session", 6),
                ("signed-in", 7),
                ("event-channel", 8),
            ]
        );
        let carriers: Vec<&str> = set
            .stages
            .iter()
            .filter(|s| s.carrier)
            .map(|s| s.id.as_str())
            .collect();
        assert_eq!(carriers, ["dns-hop", "tcp-tls", "ucwa-probe"]);
    }

    #[test]
    fn user_rules_override_add_and_disable() {
        let user = r#"
[[stage]]
id = "my-portal"
label = "Company portal"

[[stage]]
id = "mras"
label = "Relays"
milestone = false

[[rule]]
name = "portal"
stage = "my-portal"
host = '^portal\.'

[[rule]]
name = "mcx"
disabled = true

[[rule]]
name = "ucwa-other"
stage = "ucwa-other"
path = '^/ucwa/'
outcome = [{ outcome = "ok" }]

[[rule]]
name = "late"
stage = "my-portal"
after = "lync-host"
"#;
        let set = RuleSet::with_overrides(&[("mine.toml".into(), user.into())]).unwrap();
        assert_eq!(set.rules[0].name, "portal");
        assert!(set.rules.iter().all(|r| r.name != "mcx"));
        let other = set.rules.iter().find(|r| r.name == "ucwa-other").unwrap();
        assert_eq!(other.source, "mine.toml");
        assert_eq!(other.outcomes.len(), 1);
        let lh = set
            .rules
            .iter()
            .position(|r| r.name == "lync-host")
            .unwrap();
        assert_eq!(set.rules[lh + 1].name, "late");
        assert_eq!(set.order("my-portal"), Some(set.stages.len() - 1));
        assert!(!set.is_milestone("my-portal"));
        assert_eq!(set.label("mras"), "Relays");
        let bad = "[[stage]]\nid = \"x\"\nlabel = \"x\"\nmilestone = true\n";
        let e = RuleSet::with_overrides(&[("f.toml".into(), bad.into())]).unwrap_err();
        assert!(e.to_string().contains("needs a rank"), "{e}");
    }

    #[test]
    fn bad_rules_are_reported_with_their_name() {
        for (text, want) in [
            ("[[rule]]\nname = \"x\"\nstage = \"nope\"\n", "not declared"),
            (
                "[[rule]]\nname = \"x\"\nstage = \"mras\"\npath = '('\n",
                "bad regex",
            ),
            (
                "[[rule]]\nname = \"x\"\nstage = \"mras\"\nbogus = 1\n",
                "unknown field",
            ),
            (
                "[[rule]]\nname = \"x\"\nstage = \"mras\"\noutcome = [{ outcome = \"meh\" }]\n",
                "unknown outcome",
            ),
        ] {
            let e = RuleSet::with_overrides(&[("f.toml".into(), text.into())])
                .unwrap_err()
                .to_string();
            assert!(e.contains(want) && e.contains("f.toml"), "{e}");
        }
    }
}
