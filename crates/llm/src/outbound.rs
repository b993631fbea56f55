//! Where outbound calls (webhooks, LLM servers, notifications) may go (issue 21): by
//! default only to public addresses. Loopback, private (RFC 1918, fc00::/7), link-local
//! and other special addresses are refused unless the operator allows them
//! (`[outbound] allow_private = true`, or the host listed in `allow_hosts`, which, when
//! not empty, is also the only hosts that may be called).
//!
//! The check is on the addresses a name resolves to, inside the HTTP client's resolver,
//! so the address checked is the address connected: a name that resolves to a public
//! address when checked and to 127.0.0.1 when used (DNS rebinding) cannot slip through.
//! Hosts written as IP addresses never reach a resolver; [`OutboundPolicy::check_url`]
//! covers them before a request is sent.
//!
//! It lives in this crate because the LLM client needs it and the service depends on this
//! crate, not the other way round.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The operator's outbound rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    /// When not empty, the only hosts (names or IP addresses, case-insensitive) that may be
    /// called, whatever addresses they resolve to.
    pub allow_hosts: Vec<String>,
    /// Allow loopback, private and link-local addresses for every host.
    pub allow_private: bool,
}

/// Whether an address is one an outside caller should never be able to aim Tandem at.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                // 100.64.0.0/10, carrier-grade NAT, often internal too.
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00 // unique local, fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local, fe80::/10
        }
    }
}

impl OutboundPolicy {
    fn listed(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.');
        self.allow_hosts
            .iter()
            .any(|h| h.trim_end_matches('.').eq_ignore_ascii_case(host))
    }

    /// Refuse `host` itself, before any address: not in a non-empty allow list.
    pub fn check_host(&self, host: &str) -> Result<(), String> {
        if self.allow_hosts.is_empty() || self.listed(host) {
            Ok(())
        } else {
            Err(format!(
                "{host} is not in [outbound] allow_hosts; Tandem calls only the hosts listed there"
            ))
        }
    }

    /// Refuse connecting to `ip` for `host`.
    pub fn check_address(&self, host: &str, ip: IpAddr) -> Result<(), String> {
        self.check_host(host)?;
        if is_internal(ip) && !self.allow_private && !self.listed(host) {
            return Err(format!(
                "{host} is at {ip}, an internal address (loopback, private or link-local); \
                 allow it with [outbound] allow_hosts = [\"{host}\"] or allow_private = true"
            ));
        }
        Ok(())
    }

    /// Refuse a URL whose host is written as an IP address the policy refuses, or a name
    /// outside the allow list. (Names are checked again, by address, when resolved.)
    pub fn check_url(&self, url: &str) -> Result<(), String> {
        let Ok(parsed) = reqwest::Url::parse(url) else {
            return Err(format!("{url:?} is not a URL"));
        };
        let Some(host) = parsed.host_str() else {
            return Err(format!("{url:?} has no host"));
        };
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        match bare.parse::<IpAddr>() {
            Ok(ip) => self.check_address(bare, ip),
            Err(_) => self.check_host(host),
        }
    }

    /// A resolver for `reqwest::ClientBuilder::dns_resolver` that keeps only the addresses
    /// this policy allows, and fails with the reason when none is left.
    pub fn resolver(self: Arc<Self>) -> Arc<GuardedResolver> {
        Arc::new(GuardedResolver { policy: self })
    }
}

/// Resolves names with the system resolver, then drops what the policy refuses.
#[derive(Debug)]
pub struct GuardedResolver {
    policy: Arc<OutboundPolicy>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            policy.check_host(&host)?;
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| match policy.check_address(&host, a.ip()) {
                    Ok(()) => true,
                    Err(e) => {
                        refused = Some(e);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let why = refused.unwrap_or_else(|| format!("{host} has no address"));
                return Err(why.into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused_unless_allowed() {
        let open = OutboundPolicy::default();
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "0.0.0.0",
            "100.64.0.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(open.check_address("h", ip).is_err(), "{ip}");
        }
        assert!(open.check_address("h", "93.184.216.34".parse().unwrap()).is_ok());
        assert!(open.check_url("http://10.0.0.1:8080/hook").is_err());
        assert!(open.check_url("http://[::1]/hook").is_err());
        assert!(
            open.check_url("https://hooks.example.com/x").is_ok(),
            "names are checked when resolved"
        );

        let listed = OutboundPolicy {
            allow_hosts: vec!["127.0.0.1".into(), "Hooks.Local".into()],
            allow_private: false,
        };
        assert!(listed.check_url("http://127.0.0.1:9000/x").is_ok());
        assert!(
            listed
                .check_address("hooks.local.", "10.0.0.5".parse().unwrap())
                .is_ok()
        );
        assert!(
            listed.check_url("https://elsewhere.example.com/").is_err(),
            "only listed hosts"
        );
        assert!(listed.check_url("http://127.0.0.2/").is_err());

        let private = OutboundPolicy {
            allow_hosts: Vec::new(),
            allow_private: true,
        };
        assert!(private.check_url("http://192.168.0.10/x").is_ok());
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_that_resolves_to_loopback() {
        use reqwest::dns::Resolve;
        let r = Arc::new(OutboundPolicy::default()).resolver();
        let err = r
            .resolve("localhost".parse().unwrap())
            .await
            .err()
            .expect("refused");
        assert!(err.to_string().contains("internal address"), "{err}");
        let r = Arc::new(OutboundPolicy {
            allow_hosts: vec!["localhost".into()],
            allow_private: false,
        })
        .resolver();
        assert!(r.resolve("localhost".parse().unwrap()).await.is_ok());
    }
}
