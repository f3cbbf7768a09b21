//! The address guard of the hub's own outbound requests (webhook deliveries, change
//! feed polls): they never connect to a loopback, private, link-local or otherwise
//! reserved address ([`entreposto_domain::webhook::is_public_address`]) unless the
//! configuration says they may (the `setting` each names in its refusals).
//!
//! The check is on the addresses actually connected to: a client resolves names
//! through [`GuardedResolver`], which drops every forbidden address from the answer,
//! and connects only to what it returned. A name that resolves to a public address
//! when checked and a private one when connecting (DNS rebinding) cannot get through,
//! because there is no second resolution. URLs whose host is a literal address never
//! reach a resolver, so [`check_literal`] refuses those before the request. Clients
//! follow no redirect and use no proxy, so neither can lead a request elsewhere.

use std::net::{IpAddr, SocketAddr};

use entreposto_domain::webhook::is_public_address;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Resolves names with the system's resolver and keeps only the addresses the
/// requests may reach.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
    /// The configuration key that allows private addresses, named in refusals
    /// (`[webhooks] allow_private_addresses`).
    pub setting: &'static str,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let GuardedResolver {
            allow_private,
            setting,
        } = *self;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| allow_private || is_public_address(a.ip()))
                .collect();
            if allowed.is_empty() {
                let err: Box<dyn std::error::Error + Send + Sync> = if found.is_empty() {
                    format!("{host} resolves to no address").into()
                } else {
                    let ips: Vec<String> = found.iter().map(|a| a.ip().to_string()).collect();
                    format!(
                        "refused: {host} resolves to no public address ({}); set {setting} \
                         to reach it",
                        ips.join(", ")
                    )
                    .into()
                };
                return Err(err);
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// Refuses `url` when its host is a literal address the requests may not reach
/// (names are checked as they resolve, by [`GuardedResolver`]).
pub fn check_literal(
    url: &reqwest::Url,
    allow_private: bool,
    setting: &'static str,
) -> Result<(), String> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(a)) => IpAddr::V4(a),
        Some(url::Host::Ipv6(a)) => IpAddr::V6(a),
        _ => return Ok(()),
    };
    if allow_private || is_public_address(ip) {
        Ok(())
    } else {
        Err(format!(
            "refused: {ip} is not a public address; set {setting} to reach it"
        ))
    }
}

/// A client for the hub's outbound requests: names resolved through
/// [`GuardedResolver`] (unless private addresses are allowed), no redirect followed
/// (a 3xx is a failure like any other), no proxy.
pub fn guarded_client(allow_private: bool, setting: &'static str) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    if allow_private {
        builder
    } else {
        builder.dns_resolver(std::sync::Arc::new(GuardedResolver {
            allow_private,
            setting,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTING: &str = "[webhooks] allow_private_addresses";

    #[test]
    fn literal_private_hosts_are_refused_unless_allowed() {
        for u in [
            "http://127.0.0.1:9/x",
            "http://[::1]/",
            "http://10.0.0.8/",
            "http://169.254.169.254/",
        ] {
            let url = reqwest::Url::parse(u).unwrap();
            assert!(check_literal(&url, false, SETTING).is_err(), "{u}");
            assert!(check_literal(&url, true, SETTING).is_ok(), "{u}");
        }
        let named = reqwest::Url::parse("https://hooks.example.com/").unwrap();
        assert!(check_literal(&named, false, SETTING).is_ok());
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused_unless_allowed() {
        let name: Name = "localhost".parse().unwrap();
        let refused = GuardedResolver {
            allow_private: false,
            setting: SETTING,
        }
        .resolve(name)
        .await;
        let err = refused.err().expect("localhost resolves to loopback only");
        assert!(err.to_string().starts_with("refused"), "{err}");
        let name: Name = "localhost".parse().unwrap();
        let allowed: Vec<_> = GuardedResolver {
            allow_private: true,
            setting: SETTING,
        }
        .resolve(name)
        .await
        .expect("allowed")
        .collect();
        assert!(allowed.iter().all(|a| a.ip().is_loopback()) && !allowed.is_empty());
    }
}
