//! Stage layer: tags exchanges, DNS lookups and connections with their discovery stage,
//! follows the links from one stage to the next, decodes authentication and runs the checks.

pub mod auth;
pub mod checks;
pub mod classify;
pub mod docs;
pub mod hosts;
pub mod links;
pub mod rules;
pub mod signin;
pub mod tokens;

use std::sync::Arc;

use crate::http::HeadFilter;
use crate::model::Analysis;
pub use rules::{RuleSet, RulesError};

/// Adds stages, decoded authentication, findings and sign-in summaries to an analysis.
pub fn annotate(analysis: &mut Analysis, rules: &RuleSet) {
    // Each exchange on its own: split over the cores on a big capture (this runs after the
    // reading, when the other cores are idle).
    let auth_of = |part: &mut [crate::model::Exchange]| {
        for ex in part {
            ex.auth = auth::auth_facts(
                ex.request.as_ref().map(|r| &r.headers),
                ex.response.as_ref().map(|r| &r.headers),
            )
            .map(Box::new);
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let n = analysis.exchanges.len();
    if threads > 1 && n >= 4096 {
        std::thread::scope(|scope| {
            for part in analysis.exchanges.chunks_mut(n.div_ceil(threads)) {
                scope.spawn(move || auth_of(part));
            }
        });
    } else {
        auth_of(&mut analysis.exchanges);
    }
    analysis.stages = rules
        .stages
        .iter()
        .map(|s| crate::model::StageInfo {
            id: s.id.clone(),
            label: s.label.clone(),
            milestone: s.milestone(),
            rank: s.rank,
        })
        .collect();
    let learned = classify::classify(analysis, rules);
    analysis.signin = signin::summaries(analysis, rules);
    analysis.findings = checks::run(analysis, rules, &learned);
    signin::explain(&mut analysis.signin, &analysis.findings);
    signin::note_cut_capture(&mut analysis.signin, &analysis.inputs);
}

/// Which bodies the HTTP layer keeps the head of: those of requests on paths or hosts the
/// rules know (once one is seen, the rest of its connection too).
pub fn head_filter(rules: Arc<RuleSet>) -> HeadFilter {
    HeadFilter(Arc::new(move |req, _resp| {
        let Some(req) = req else { return false };
        let target = req.target.as_str();
        let (host, path) = match target
            .strip_prefix("http://")
            .or_else(|| target.strip_prefix("https://"))
        {
            Some(rest) => match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, "/"),
            },
            None => (req.host().unwrap_or(""), target),
        };
        let host = host
            .rsplit_once(':')
            .map_or(host, |(h, _)| h)
            .to_ascii_lowercase();
        let path = classify::normalize_path(path.split('?').next().unwrap_or(""));
        rules.wants_body(&host, &path)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Body, Headers, Request};

    fn request(target: &str, headers: &[(&str, &str)]) -> Request {
        Request {
            method: "GET".into(),
            target: target.into(),
            version: "HTTP/2".into(),
            headers: Headers::from_pairs(headers.iter().copied()),
            body: Body::default(),
        }
    }

    /// Bodies are kept by host as well as by path, and an HTTP/2 request names its host in
    /// `:authority` (RFC 9113 section 8.3.1), not in a Host field.
    #[test]
    fn head_filter_reads_the_host_of_http1_and_http2_requests() {
        let filter = head_filter(Arc::new(RuleSet::builtin()));
        let wants = |r: &Request| (filter.0)(Some(r), None);
        // The Entra ID sign-in host is a rule's host, whatever the path.
        let h2 = request(
            "/some/tenant/page",
            &[
                (":method", "GET"),
                (":path", "/some/tenant/page"),
                (":authority", "login.microsoftonline.com"),
            ],
        );
        assert!(wants(&h2));
        let h1 = request(
            "/some/tenant/page",
            &[("Host", "login.microsoftonline.com")],
        );
        assert!(wants(&h1));
        let other = request(
            "/some/tenant/page",
            &[
                (":authority", "www.example.com"),
                (":path", "/some/tenant/page"),
            ],
        );
        assert!(!wants(&other));
    }
}
