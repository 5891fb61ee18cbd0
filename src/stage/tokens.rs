//! Token scope (docs/stages.md "Token scope"): every token the capture shows being issued gets
//! an issuer and the hosts that may accept it, so that a 401/403 to a token can be told apart:
//! a host asking for a token of its own (normal once per host, e.g. an SfB Online webpool after
//! the director) from a host refusing a token it should have taken (C-AUTH-9) or a token used
//! outside its scope and refused (C-AUTH-5).

use std::collections::{HashMap, HashSet};

use super::auth::jwt_claims;
use super::hosts::{is_online_host, SFB_ONLINE_APP_ID};
use crate::model::{AuthLeg, Challenge, ExchId, Ts};

/// At most this many tokens are remembered (a capture of many clients signing in all day).
const MAX_TOKENS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A Lync/SfB web ticket: `cwt=…` from `/WebTicket/oauthtoken`, or a SAML web ticket.
    WebTicket,
    /// A modern-auth JWT from an identity provider (stage `modern-auth`).
    Jwt,
}

/// A token the capture shows being issued.
#[derive(Debug, Clone)]
pub struct Issued {
    pub kind: TokenKind,
    /// The host that issued it (the token endpoint's host, or the identity provider).
    pub issuer: String,
    /// Origin and lower-case path of the token endpoint (web tickets).
    pub endpoint: String,
    /// JWT: the `resource` asked for, else the `aud` claim (lower-case).
    pub audience: Option<String>,
    pub exch: ExchId,
    pub at: Ts,
    /// `expires_in` of the token response, seconds.
    pub expires_in: Option<u64>,
}

/// May this host accept the token?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    In,
    Out,
    /// The token's issue is not in the capture, or its audience is not known.
    Unknown,
}

/// What the classifier learned about tokens, in capture order.
#[derive(Debug, Default)]
pub struct Tokens {
    /// SHA-256 of the token (or SAML AssertionID) → its issue.
    issued: HashMap<String, Issued>,
    /// Token endpoint (origin + path) → hosts whose own challenge named it.
    named_by: HashMap<String, HashSet<String>>,
    /// Hosts that sent any challenge.
    challenged: HashSet<String>,
    /// Host → hosts of the same pool (named together by an Autodiscover answer of that host).
    peers: HashMap<String, HashSet<String>>,
    /// Hosts that already asked once for a token of their own.
    asked_once: HashSet<String>,
}

/// Origin + lower-case path of a URL, without query: how token endpoints are compared.
pub fn endpoint_key(url: &str) -> Option<String> {
    crate::model::url::normalize_url(url).map(|(p, _)| p)
}

impl Tokens {
    /// A token endpoint answered with `access_token`.
    #[allow(clippy::too_many_arguments)]
    pub fn issue(
        &mut self,
        token: &str,
        kind: TokenKind,
        issuer: &str,
        endpoint: &str,
        resource: Option<&str>,
        exch: ExchId,
        at: Ts,
        expires_in: Option<u64>,
    ) {
        if self.issued.len() >= MAX_TOKENS {
            return;
        }
        let audience = match kind {
            TokenKind::Jwt => resource
                .map(str::to_string)
                .or_else(|| jwt_claims(token).and_then(|c| c.aud))
                .map(|a| a.trim().trim_end_matches('/').to_ascii_lowercase()),
            TokenKind::WebTicket => None,
        };
        let key = super::auth::token_ref(token).sha256;
        self.issued.insert(
            key,
            Issued {
                kind,
                issuer: issuer.to_ascii_lowercase(),
                endpoint: endpoint_key(endpoint).unwrap_or_default(),
                audience,
                exch,
                at,
                expires_in,
            },
        );
    }

    /// A SAML web ticket (RSTR) with this AssertionID.
    pub fn issue_saml(
        &mut self,
        assertion_id: &str,
        issuer: &str,
        endpoint: &str,
        exch: ExchId,
        at: Ts,
    ) {
        if self.issued.len() >= MAX_TOKENS {
            return;
        }
        self.issued.insert(
            format!("saml:{assertion_id}"),
            Issued {
                kind: TokenKind::WebTicket,
                issuer: issuer.to_ascii_lowercase(),
                endpoint: endpoint_key(endpoint).unwrap_or_default(),
                audience: None,
                exch,
                at,
                expires_in: None,
            },
        );
    }

    /// The challenges a host sent: an MsRtcOAuth `href` puts the host in the scope of the
    /// tokens of that endpoint (an Online webpool names a director's endpoint).
    pub fn challenged_by(&mut self, host: &str, challenges: &[Challenge]) {
        let host = host.to_ascii_lowercase();
        let mut any = false;
        for c in challenges {
            if c.scheme.eq_ignore_ascii_case("msrtcoauth") {
                if let Some(key) = c.param("href").and_then(endpoint_key) {
                    self.named_by.entry(key).or_default().insert(host.clone());
                }
                any = true;
            } else if c.scheme.eq_ignore_ascii_case("bearer") {
                any = true;
            }
        }
        if any && self.challenged.len() < MAX_TOKENS {
            self.challenged.insert(host);
        }
    }

    /// An Autodiscover answer of `host` named `other` as a service of its pool.
    pub fn same_pool(&mut self, host: &str, other: &str) {
        if host.eq_ignore_ascii_case(other) || self.peers.len() >= MAX_TOKENS {
            return;
        }
        let (a, b) = (host.to_ascii_lowercase(), other.to_ascii_lowercase());
        self.peers.entry(a.clone()).or_default().insert(b.clone());
        self.peers.entry(b).or_default().insert(a);
    }

    /// The issue of the token a request presented.
    pub fn of(&self, leg: &AuthLeg) -> Option<&Issued> {
        match leg {
            AuthLeg::Bearer(t) => self.issued.get(&t.sha256),
            AuthLeg::WebTicket {
                assertion_id,
                token,
            } => assertion_id
                .as_ref()
                .and_then(|id| self.issued.get(&format!("saml:{id}")))
                .or_else(|| self.issued.get(&token.sha256)),
            _ => None,
        }
    }

    /// May `host` accept the token of `leg`?
    pub fn scope(&self, leg: &AuthLeg, host: &str) -> Scope {
        let Some(t) = self.of(leg) else {
            return Scope::Unknown;
        };
        let host = host.to_ascii_lowercase();
        match t.kind {
            TokenKind::Jwt => {
                let Some(aud) = &t.audience else {
                    return Scope::Unknown;
                };
                if aud == SFB_ONLINE_APP_ID {
                    return if is_online_host(&host) {
                        Scope::In
                    } else {
                        Scope::Out
                    };
                }
                let aud_host = crate::stage::links::url_host(aud).unwrap_or_else(|| aud.clone());
                if aud_host == host {
                    Scope::In
                } else {
                    Scope::Out
                }
            }
            TokenKind::WebTicket => {
                if host == t.issuer
                    || self.peers.get(&t.issuer).is_some_and(|p| p.contains(&host))
                    || self
                        .named_by
                        .get(&t.endpoint)
                        .is_some_and(|h| h.contains(&host))
                {
                    return Scope::In;
                }
                // An Online host whose own challenge is not in the capture: no prediction.
                if is_online_host(&t.issuer)
                    && is_online_host(&host)
                    && !self.challenged.contains(&host)
                {
                    return Scope::In;
                }
                Scope::Out
            }
        }
    }

    /// The first time `host` asks for a token of its own (true), or again (false).
    pub fn first_request_of(&mut self, host: &str) -> bool {
        self.asked_once.insert(host.to_ascii_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::auth::{decode_challenges, token_ref};

    fn bearer(t: &str) -> AuthLeg {
        AuthLeg::Bearer(token_ref(t))
    }

    #[test]
    fn online_director_token_is_in_scope_on_the_webpool_that_names_it() {
        // docs/stages.md token scope: a webpool's challenge names a director's endpoint
        // (OfficeDev/skype-docs #347 shape).
        let mut t = Tokens::default();
        t.issue(
            "cwt=ONLINE1",
            TokenKind::WebTicket,
            "webdir0b.online.lync.com",
            "https://webdir0b.online.lync.com/WebTicket/oauthtoken",
            None,
            ExchId(3),
            Ts(0),
            Some(28800),
        );
        let pool = "webpoolbn11a01.infra.lync.com";
        // Before the pool's challenge is seen: no prediction for an Online host.
        assert_eq!(t.scope(&bearer("cwt=ONLINE1"), pool), Scope::In);
        let ch = decode_challenges(
            "Bearer trusted_issuers=\"\", MsRtcOAuth href=\"https://webdir1A.online.lync.com/WebTicket/oauthtoken\",grant_type=\"urn:microsoft.rtc:passive\"",
        );
        t.challenged_by(pool, &ch);
        // The pool names another director: the token is outside its scope.
        assert_eq!(t.scope(&bearer("cwt=ONLINE1"), pool), Scope::Out);
        let ch = decode_challenges(
            "MsRtcOAuth href=https://webdir0b.online.lync.com/WebTicket/oauthtoken,grant_type=\"x\"",
        );
        t.challenged_by(pool, &ch);
        assert_eq!(t.scope(&bearer("cwt=ONLINE1"), pool), Scope::In);
        assert_eq!(t.scope(&bearer("cwt=OTHER"), pool), Scope::Unknown);
        assert!(t.first_request_of(pool));
        assert!(!t.first_request_of("WebPoolBN11A01.infra.lync.com"));
    }

    #[test]
    fn web_tickets_are_pool_scoped_and_jwts_audience_scoped() {
        let mut t = Tokens::default();
        t.issue(
            "cwt=P1",
            TokenKind::WebTicket,
            "webint-pool1.contoso.net",
            "https://webint-pool1.contoso.net/WebTicket/oauthtoken",
            None,
            ExchId(1),
            Ts(0),
            None,
        );
        t.same_pool("webint-pool1.contoso.net", "webext-pool1.contoso.com");
        assert_eq!(
            t.scope(&bearer("cwt=P1"), "webext-pool1.contoso.com"),
            Scope::In
        );
        assert_eq!(
            t.scope(&bearer("cwt=P1"), "webext-pool2.contoso.com"),
            Scope::Out
        );
        t.issue(
            "eyJ0.eyJ.sig",
            TokenKind::Jwt,
            "login.windows.net",
            "https://login.windows.net/common/oauth2/token",
            Some("https://webdir1a.online.lync.com"),
            ExchId(2),
            Ts(0),
            None,
        );
        assert_eq!(
            t.scope(&bearer("eyJ0.eyJ.sig"), "webdir1A.online.lync.com"),
            Scope::In
        );
        assert_eq!(
            t.scope(&bearer("eyJ0.eyJ.sig"), "webpoolbn11a01.infra.lync.com"),
            Scope::Out
        );
        t.issue(
            "eyJ1.eyJ.sig",
            TokenKind::Jwt,
            "login.windows.net",
            "https://login.windows.net/common/oauth2/token",
            Some(SFB_ONLINE_APP_ID),
            ExchId(3),
            Ts(0),
            None,
        );
        assert_eq!(
            t.scope(&bearer("eyJ1.eyJ.sig"), "webpoolbn11a01.infra.lync.com"),
            Scope::In
        );
    }
}
