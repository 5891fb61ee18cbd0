//! Host names that mean something by themselves (docs/stages.md "Skype for Business Online"):
//! SfB Online directors and pools, identity providers, proxy auto-discovery. Names are compared
//! lower-case; servers issue mixed-case links (`webdir1A`), so callers lower-case first or use
//! these functions, which do.

/// The Azure AD application id of Skype for Business Online (also the `client_id` of the
/// Lync/SfB service in a `Bearer` challenge): a token for it is valid on every Online host.
pub const SFB_ONLINE_APP_ID: &str = "00000004-0000-0ff1-ce00-000000000000";

/// Host suffixes of SfB Online: directors and the discovery CNAME target (`online.lync.com`),
/// pools and their front ends (`infra.lync.com`), Microsoft's pre-production (`tip.lync.com`).
const ONLINE_SUFFIXES: [&str; 3] = [".online.lync.com", ".infra.lync.com", ".tip.lync.com"];

/// Azure AD login hosts (public cloud and sovereign clouds).
const AZURE_AD_HOSTS: [&str; 6] = [
    "login.windows.net",
    "login.microsoftonline.com",
    "login.microsoft.com",
    "login.microsoftonline.us",
    "login.partner.microsoftonline.cn",
    "login.chinacloudapi.cn",
];

fn lower(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// A host of SfB Online (`webdir*.online.lync.com`, `webpool*.infra.lync.com`, front ends
/// `*FES*.infra.lync.com`, `*.tip.lync.com`).
pub fn is_online_host(host: &str) -> bool {
    let h = lower(host);
    ONLINE_SUFFIXES.iter().any(|s| h.ends_with(s))
}

/// An SfB Online Autodiscover director: `webdir.online.lync.com`, `webdir0b…`, `webdirAU1…`.
pub fn is_online_director(host: &str) -> bool {
    let h = lower(host);
    h.strip_suffix(".online.lync.com")
        .is_some_and(|first| first.starts_with("webdir") && !first.contains('.'))
}

/// An Azure AD login host.
pub fn is_azure_ad_host(host: &str) -> bool {
    AZURE_AD_HOSTS.contains(&lower(host).as_str())
}

/// A proxy auto-discovery name: first label `wpad`.
pub fn is_wpad_name(host: &str) -> bool {
    let h = lower(host);
    h == "wpad" || h.starts_with("wpad.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn online_hosts_any_case() {
        for h in [
            "webdir.online.lync.com",
            "webdir1A.online.lync.com",
            "WEBDIR0B.ONLINE.LYNC.COM.",
            "webpoolbn11a01.infra.lync.com",
            "BLU2A05FES01.infra.lync.com",
            "webdir.tip.lync.com",
        ] {
            assert!(is_online_host(h), "{h}");
        }
        for h in [
            "lync.com",
            "lyncdiscover.contoso.com",
            "online.lync.com.evil.net",
        ] {
            assert!(!is_online_host(h), "{h}");
        }
        assert!(is_online_director("webdir.online.lync.com"));
        assert!(is_online_director("webdirAU1.online.lync.com"));
        assert!(!is_online_director("webpoolbn11a01.infra.lync.com"));
        assert!(!is_online_director("sipdir.online.lync.com"));
        assert!(is_azure_ad_host("Login.MicrosoftOnline.com"));
        assert!(!is_azure_ad_host("login.example.net"));
        assert!(is_wpad_name("WPAD"));
        assert!(is_wpad_name("wpad.corp.contoso.com"));
        assert!(!is_wpad_name("wpadx.contoso.com"));
    }
}
