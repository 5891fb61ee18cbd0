//! The source of the evidence: a proxy's trace, desktop traffic in the same capture.

use std::collections::BTreeSet;

use super::context::*;
use crate::model::{ConnId, DnsLookup, Finding, FindingSeverity};

use FindingSeverity::Info;

/// A SAZ input is the proxy's view: names, connections and certificates are the Fiddler PC's.
pub(super) fn saz_input(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    let saz: Vec<&str> =
        cx.a.inputs
            .iter()
            .filter(|i| i.format.eq_ignore_ascii_case("saz"))
            .map(|i| i.path.as_str())
            .collect();
    if !saz.is_empty() {
        out.push(check.finding(
            Info,
            format!(
                "{} {} a Fiddler trace: when a phone is proxied through Fiddler, the Fiddler PC \
                 resolves the names and opens the server connections, so the DNS view, the \
                 internal/external path and the server addresses reflect the Fiddler host, not \
                 the phone; the phone sees Fiddler's certificate. Judge DNS, network and \
                 certificate questions from a packet capture on the phone's network.",
                saz.join(", "),
                if saz.len() == 1 { "is" } else { "are" }
            ),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        ));
    }
}

/// Desktop SRV/A lookups or SIP/TLS mixed into the capture, which mobile clients never use.
pub(super) fn desktop_fallback(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    let legacy: Vec<&DnsLookup> =
        cx.a.dns
            .iter()
            .filter(|l| l.stage.as_ref().is_some_and(|t| t.id == "dns-legacy-sip"))
            .collect();
    // SIP/TLS to 5061 only counts next to Lync traffic (it is not tagged by itself).
    let sip_tls: Vec<ConnId> = if legacy.is_empty() && cx.items.is_empty() {
        Vec::new()
    } else {
        cx.a.connections
            .iter()
            .filter(|c| c.packets > 0 && c.server.port() == 5061)
            .map(|c| c.id)
            .collect()
    };
    if legacy.is_empty() && sip_tls.is_empty() {
        return;
    }
    let names: BTreeSet<String> = legacy
        .iter()
        .map(|l| l.qname.to_ascii_lowercase())
        .collect();
    let mut seen = Vec::new();
    if !names.is_empty() {
        seen.push(format!(
            "lookups of {}",
            names.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    if !sip_tls.is_empty() {
        seen.push(format!(
            "SIP/TLS connections to port 5061 ({})",
            refs(&sip_tls, conn_ref)
        ));
    }
    out.push(check.finding(
        Info,
        format!(
            "SRV/A SIP lookups seen ({}) — these come from a desktop client (or another device) \
             in the same capture; mobile clients never use them. Do not treat their success as \
             evidence that mobile discovery works.",
            seen.join("; ")
        ),
        Vec::new(),
        legacy.iter().map(|l| l.id).collect(),
        sip_tls,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use crate::stage::checks::fixtures::*;
    use crate::stage::{annotate, RuleSet};
    use crate::testkit::{input, AnalysisBuilder};

    #[test]
    fn saz_input_gets_the_proxy_caveat_only() {
        let mut a = AnalysisBuilder::new()
            .input(input("trace.saz", "saz", &[]))
            .build();
        annotate(&mut a, &RuleSet::builtin());
        assert_eq!(checks_of(&a.findings), vec![("C-SRC-1".to_string(), Info)]);
        assert!(a.findings[0]
            .message
            .contains("the Fiddler PC resolves the names"));
    }

    /// The corpus SAZ files hold generic OAuth/NTLM traffic (Azure AD, SharePoint): only the
    /// proxy caveat may come out.
    #[test]
    fn corpus_saz_files_give_only_the_proxy_caveat() {
        let Some(dir) = crate::testkit::corpus_file("saz") else {
            return;
        };
        let entries = std::fs::read_dir(dir).unwrap();
        let mut files: Vec<std::path::PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "saz"))
            .collect();
        files.sort();
        let options = crate::pipeline::Options {
            rules: Some(Arc::new(RuleSet::builtin())),
            ..Default::default()
        };
        for path in files.iter().take(24) {
            let Ok(a) = crate::pipeline::analyze(std::slice::from_ref(path), &options, &mut ())
            else {
                continue;
            };
            let other: Vec<&Finding> = a.findings.iter().filter(|f| f.check != "C-SRC-1").collect();
            assert!(other.is_empty(), "{}: {other:#?}", path.display());
            assert!(
                a.findings.iter().any(|f| f.check == "C-SRC-1"),
                "{}",
                path.display()
            );
        }
    }
}
