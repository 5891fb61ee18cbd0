//! The UCWA applications URL, where stage 29 (`ucwa-probe`, the unauthenticated GET) and
//! stage 30 (`ucwa-application`, the POST that creates the application) meet: a failed answer
//! there is diagnosed the same way for both (docs/stages.md stage 29: "reported with the
//! stage-30 diagnostics for the same host"). Token rejections are C-AUTH-9's, policy refusals
//! C-POL-1's and a proxy's 5xx C-NET-3's; here: the 403 / 404 (or an HTML page where UCWA
//! answers JSON) that a reverse proxy or web site gave instead of a Front End.

use std::collections::BTreeMap;

use super::context::*;
use crate::model::{ExchId, Finding, FindingSeverity, Outcome};

/// A failed 403, 404 or HTML page on the applications URL that no Front End gave (no `X-MS-Server-Fqdn`), no
/// token rejection nor policy refusal: /ucwa is not published on that host.
pub(super) fn not_published(cx: &Ctx<'_>, check: &Check, out: &mut Vec<Finding>) {
    // (host, status) → who answered, the exchanges.
    let mut groups: BTreeMap<(String, u16), (String, Vec<ExchId>)> = BTreeMap::new();
    for i in cx.items.iter().filter(|i| i.on_applications_url()) {
        let html = i
            .resp_header("Content-Type")
            .is_some_and(|t| t.to_ascii_lowercase().contains("html"));
        // 403 / 404, or a page where UCWA answers JSON (an RP's error or portal page).
        let Some(status) = i
            .status()
            .filter(|s| matches!(s, 403 | 404) || ((200..300).contains(s) && html))
        else {
            continue;
        };
        if i.tag.outcome != Outcome::Fail {
            continue;
        }
        if i.resp_header("X-MS-Server-Fqdn").is_some()
            || i.token_rejection().is_some()
            || i.tag.rule == "token-rejected"
            || super::policy::policy_refusal(i)
        {
            continue;
        }
        let (who, _) = super::net::answered_by(i);
        let g = groups.entry((i.view.host.clone(), status)).or_default();
        if g.0.is_empty() {
            g.0 = who;
        }
        g.1.push(i.id());
    }
    for ((host, status), (who, ids)) in groups {
        let what = if status == 403 {
            format!("/ucwa is refused on {host}")
        } else {
            format!("/ucwa is not published on {host}")
        };
        out.push(check.finding(
            FindingSeverity::Fail,
            format!(
                "{what}: the UCWA applications URL answered {status} without X-MS-Server-Fqdn \
                 ({who}; {}), so no Front End saw the request. Publish /ucwa/* on the reverse \
                 proxy like /autodiscover/* and /webticket/* (to the FE external web site \
                 :4443, without pre-authentication or a path filter that leaves it out).",
                refs(&ids, ex_ref)
            ),
            ids,
            Vec::new(),
            Vec::new(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use crate::model::{Analysis, ExchId, Finding, Outcome};

    const HOST: &str = "webext-pool1.contoso.com";

    /// An external sign-in up to the user resource (its links put the applications URL on
    /// pool 1's external web FQDN), then the probe answered `answer` by the reverse proxy
    /// (`fqdn` empty: no X-MS-Server-Fqdn) unless `from_fe`.
    /// The outcome the stage layer gave exchange `x`.
    fn outcome_of(a: &Analysis, x: ExchId) -> Outcome {
        a.exchanges[x.0 as usize].stage.as_deref().unwrap().outcome
    }

    fn probe_answered(
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: &str,
        from_fe: bool,
    ) -> (Analysis, ExchId) {
        let (mut cap, c2) = external_until_user(apps_on_pool1());
        if !from_fe {
            cap.fqdn = "";
        }
        let probe = cap.http(
            c2,
            6.0,
            0.05,
            get(HOST, "/ucwa/oauth/v1/applications"),
            Some((status, headers, body)),
        );
        (cap.analyze(), probe)
    }

    fn of<'a>(a: &'a Analysis, check: &str) -> Vec<&'a Finding> {
        a.findings.iter().filter(|f| f.check == check).collect()
    }

    #[test]
    fn a_probe_404_from_the_proxy_fails_as_ucwa_not_published() {
        // docs/stages.md stage 29: 404 → fail, "/ucwa is not published on <host>".
        let (a, probe) = probe_answered(
            404,
            vec![
                ("Server", "nginx".into()),
                ("Content-Type", "text/html".into()),
            ],
            "<html><body>404 Not Found</body></html>",
            false,
        );
        let tag = a.exchanges[probe.0 as usize].stage.as_deref().unwrap();
        assert_eq!(
            (tag.id.as_str(), tag.outcome),
            ("ucwa-probe", Outcome::Fail)
        );
        let f = of(&a, "C-NET-3");
        assert_eq!(f.len(), 1, "{:#?}", a.findings);
        assert_eq!(f[0].exchanges, vec![probe]);
        assert!(
            f[0].message
                .starts_with(&format!("/ucwa is not published on {HOST}: ")),
            "{}",
            f[0].message
        );
        assert!(f[0].message.contains("Server: nginx"), "{}", f[0].message);
        // Not a milestone: the verdict names it as carrying ucwa-application (§1.0b).
        assert_eq!(
            a.signin[0].verdict,
            "furthest: ad-user (ok) → failed: ucwa-probe for ucwa-application (C-NET-3: HTTP 404)"
        );
        // The auth checks still ignore the probe (stage 29).
        for id in ["C-AUTH-2", "C-AUTH-4", "C-AUTH-9", "C-POL-1"] {
            assert!(of(&a, id).is_empty(), "{id}: {:#?}", a.findings);
        }
    }

    #[test]
    fn a_probe_403_from_the_proxy_and_a_502_are_the_stage_30_diagnostics() {
        let (a, probe) = probe_answered(
            403,
            vec![("Via", "1.1 rp01".into())],
            "<html>Forbidden</html>",
            false,
        );
        assert_eq!(outcome_of(&a, probe), Outcome::Fail);
        let f = of(&a, "C-NET-3");
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .starts_with(&format!("/ucwa is refused on {HOST}: ")),
            "{}",
            f[0].message
        );
        assert!(of(&a, "C-POL-1").is_empty());
        // A 502 from the proxy: the stage-30 text of C-NET-3 (RP could not reach the FE).
        let (a, probe) = probe_answered(502, Vec::new(), "Bad Gateway", false);
        assert_eq!(outcome_of(&a, probe), Outcome::Fail);
        let f = of(&a, "C-NET-3");
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .contains("the reverse proxy could not reach the Front End"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn a_probe_403_with_a_policy_reason_is_the_policy_refusal() {
        // The same policy reasons as on creating the application (C-POL-1), from the FE.
        let (a, probe) = probe_answered(
            403,
            vec![("Content-Type", "application/json".into())],
            r#"{"code":"Forbidden","subcode":"MobileApplicationNoLongerAllowed","message":"The user is not allowed to create mobile application."}"#,
            true,
        );
        assert_eq!(outcome_of(&a, probe), Outcome::Fail);
        assert_eq!(of(&a, "C-POL-1")[0].exchanges, vec![probe]);
        assert!(of(&a, "C-NET-3").is_empty(), "{:#?}", a.findings);
    }

    #[test]
    fn the_same_404_on_creating_the_application_says_the_same() {
        let (mut cap, c2) = external_until_user(apps_on_pool1());
        cap.fqdn = "";
        let app = cap.http(
            c2,
            6.0,
            0.05,
            post(HOST, "/ucwa/oauth/v1/applications", "{}").h("Authorization", "Bearer cwt=AAEB"),
            Some((404, vec![("Server", "nginx".into())], "")),
        );
        let a = cap.analyze();
        let f = of(&a, "C-NET-3");
        assert_eq!(f.len(), 1, "{:#?}", a.findings);
        assert_eq!(f[0].exchanges, vec![app]);
        assert!(f[0]
            .message
            .starts_with(&format!("/ucwa is not published on {HOST}: ")));
    }

    #[test]
    fn a_probe_answered_by_a_proxy_page_fails() {
        // "an RP error page → fail" (docs/stages.md stage 29), even with status 200.
        let (a, probe) = probe_answered(
            200,
            vec![("Content-Type", "text/html; charset=utf-8".into())],
            "<html><title>Error</title>The page cannot be displayed</html>",
            false,
        );
        let tag = a.exchanges[probe.0 as usize].stage.as_deref().unwrap();
        assert_eq!(
            (tag.id.as_str(), tag.outcome),
            ("ucwa-probe", Outcome::Fail)
        );
        let f = of(&a, "C-NET-3");
        assert_eq!(f.len(), 1, "{:#?}", a.findings);
        assert!(f[0].message.contains("answered 200"), "{}", f[0].message);
        // A JSON 200 stays ok (unusual, recorded) and makes no finding.
        let (a, probe) = probe_answered(
            200,
            vec![("Content-Type", "application/json".into())],
            "{}",
            true,
        );
        assert_eq!(outcome_of(&a, probe), Outcome::Ok);
        assert!(of(&a, "C-NET-3").is_empty());
    }

    #[test]
    fn a_404_a_front_end_gave_is_not_a_publishing_fault() {
        let (a, _) = probe_answered(404, Vec::new(), "", true);
        assert!(of(&a, "C-NET-3").is_empty(), "{:#?}", a.findings);
    }
}
