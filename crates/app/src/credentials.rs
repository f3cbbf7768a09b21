//! Credential use cases: issuing a credential for a dialect, and revoking one.
//!
//! A secret looks like `ep_<credential id>_<32 random alphanumerics>`. Carrying the id
//! lets the edge fetch the one candidate credential by primary key and compare SHA-256
//! digests in constant time. Only the digest is stored; the secret is returned once,
//! here. Secrets have ~190 bits of entropy, so a fast hash is enough.

use entreposto_domain::{Credential, CredentialEvent, Dialect, RateLimit, Timestamp};
use entreposto_store::new_id;
use rand::distributions::{Alphanumeric, DistString};
use sha2::{Digest, Sha256};

use crate::{App, Result};

/// The SHA-256 digest a credential's secret is stored and checked as.
pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Extracts the credential id from a secret of our format.
pub fn credential_id_of(secret: &str) -> Option<&str> {
    let rest = secret.strip_prefix("ep_")?;
    let (id, random) = rest.split_once('_')?;
    (id.len() == 26 && random.len() == 32).then_some(id)
}

/// A credential just issued, with its secret: shown once.
#[derive(Debug, Clone)]
pub struct IssuedSecret {
    pub credential: Credential,
    pub secret: String,
    pub event: CredentialEvent,
}

impl App {
    /// Issues a credential of `dialect` for `seller_id` (or for the operator when
    /// `None`). `user_email` is the address a client of a dialect that wants one sends
    /// with its key, stored as given. `NotFound` if the operator or seller does not
    /// exist.
    pub async fn issue_credential(
        &self,
        operator_id: &str,
        seller_id: Option<&str>,
        dialect: Dialect,
        user_email: Option<String>,
    ) -> Result<IssuedSecret> {
        self.issue_limited_credential(operator_id, seller_id, dialect, user_email, None)
            .await
    }

    /// [`App::issue_credential`], the credential limited to `rate_limit` requests
    /// whatever the configuration gives its seller, operator or dialect (`None`: the
    /// configuration's limit applies).
    pub async fn issue_limited_credential(
        &self,
        operator_id: &str,
        seller_id: Option<&str>,
        dialect: Dialect,
        user_email: Option<String>,
        rate_limit: Option<RateLimit>,
    ) -> Result<IssuedSecret> {
        self.store.get_operator(operator_id).await?;
        if let Some(s) = seller_id {
            self.store.get_seller(operator_id, s).await?;
        }
        let id = new_id();
        let secret = format!(
            "ep_{id}_{}",
            Alphanumeric.sample_string(&mut rand::thread_rng(), 32)
        );
        let credential = Credential {
            id,
            operator_id: operator_id.to_string(),
            seller_id: seller_id.map(str::to_string),
            dialect,
            secret_hash: hash_secret(&secret),
            user_email,
            created_at: self.now(),
            revoked_at: None,
            rate_limit,
        };
        let event = CredentialEvent::Issued;
        self.store.create_credential(&credential, &[event]).await?;
        Ok(IssuedSecret {
            credential,
            secret,
            event,
        })
    }

    /// Revokes a credential; revoking twice keeps the first time.
    pub async fn revoke_credential(&self, id: &str) -> Result<(Timestamp, CredentialEvent)> {
        let now = self.now();
        let event = CredentialEvent::Revoked;
        self.store.revoke_credential(id, now, &[event]).await?;
        Ok((now, event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_carry_their_credential_id() {
        let id = "01HZY3V6J8Q5W0N6M4T2X9K7AB";
        let secret = format!("ep_{id}_{}", "a".repeat(32));
        assert_eq!(credential_id_of(&secret), Some(id));
        assert_eq!(credential_id_of("ep_short_x"), None);
        assert_ne!(hash_secret("a"), hash_secret("b"));
    }
}
