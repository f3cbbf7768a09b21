//! The address guard: deliveries never connect to a loopback, private, link-local or
//! otherwise reserved address (`entreposto_domain::webhook::is_public_address`)
//! unless `[webhooks] allow_private_addresses` says they may.
//!
//! The check is on the addresses actually connected to: the HTTP client resolves
//! names through [`GuardedResolver`], which drops every forbidden address from the
//! answer, and the client connects only to what the resolver returned. A name that
//! resolves to a public address when checked and a private one when connecting (DNS
//! rebinding) cannot get through, because there is no second resolution. URLs whose
//! host is a literal address never reach a resolver, so [`check_literal`] refuses
//! those before the request. Redirects are not followed and proxies are not used (see
//! the client in [`crate::dispatch`]), so neither can lead a request elsewhere.

use std::net::{IpAddr, SocketAddr};

use entreposto_domain::webhook::is_public_address;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why a delivery was not sent.
pub const REFUSED: &str = "refused: the host is a loopback, private, link-local or reserved \
                           address ([webhooks] allow_private_addresses)";

/// Resolves names with the system's resolver and keeps only the addresses
/// deliveries may reach.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
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
                    format!("{REFUSED}: {host} resolves only to such addresses").into()
                };
                return Err(err);
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// Refuses `url` when its host is a literal address deliveries may not reach.
pub fn check_literal(url: &reqwest::Url, allow_private: bool) -> Result<(), String> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(a)) => IpAddr::V4(a),
        Some(url::Host::Ipv6(a)) => IpAddr::V6(a),
        _ => return Ok(()),
    };
    if allow_private || is_public_address(ip) {
        Ok(())
    } else {
        Err(format!("{REFUSED}: {ip}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_private_hosts_are_refused_unless_allowed() {
        for u in [
            "http://127.0.0.1:9/x",
            "http://[::1]/",
            "http://10.0.0.8/",
            "http://169.254.169.254/",
        ] {
            let url = reqwest::Url::parse(u).unwrap();
            assert!(check_literal(&url, false).is_err(), "{u}");
            assert!(check_literal(&url, true).is_ok(), "{u}");
        }
        let named = reqwest::Url::parse("https://hooks.example.com/").unwrap();
        assert!(check_literal(&named, false).is_ok());
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused_unless_allowed() {
        let name: Name = "localhost".parse().unwrap();
        let refused = GuardedResolver {
            allow_private: false,
        }
        .resolve(name)
        .await;
        let err = refused.err().expect("localhost resolves to loopback only");
        assert!(err.to_string().starts_with("refused"), "{err}");
        let name: Name = "localhost".parse().unwrap();
        let allowed: Vec<_> = GuardedResolver {
            allow_private: true,
        }
        .resolve(name)
        .await
        .expect("allowed")
        .collect();
        assert!(allowed.iter().all(|a| a.ip().is_loopback()) && !allowed.is_empty());
    }
}
