//! Credentials: issuing them, and checking what a request presents.
//!
//! A secret looks like `ep_<credential id>_<32 random alphanumerics>`. Carrying the id
//! lets us fetch the one candidate credential by primary key and compare SHA-256
//! digests in constant time, instead of looking the secret itself up in an index. Only
//! the digest is stored; the secret is shown once, when issued. Secrets have ~190 bits
//! of entropy, so a fast hash is enough (no password-style stretching needed).
//!
//! Verified credentials are cached for a time-to-live (`[http]
//! credential_cache_ttl_ms`, a second by default): a revocation made by the admin
//! command while the server runs takes effect within it. Within it, a secret already
//! verified is recognised by a keyed fingerprint instead of hashed again. A TTL of zero
//! reads the credential on every request (the tests of revocation use it).

use std::collections::HashMap;
use std::hash::Hasher;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use entreposto_domain::{Credential, Dialect, Scope};
use entreposto_store::{Store, StoreError};
use serde::Serialize;
use siphasher::sip128::{Hasher128, SipHasher13};
use subtle::ConstantTimeEq;

use crate::{ApiError, Mount};

pub use entreposto_app::credentials::{credential_id_of, hash_secret};

/// The result of issuing a credential: shown once to the operator.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedCredential {
    pub id: String,
    pub dialect: Dialect,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller: Option<String>,
    pub operator: String,
    /// Its own request rate (`N/s`), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<String>,
    /// Exactly the headers a client must send, secret included.
    pub headers: std::collections::BTreeMap<String, String>,
}

/// Issues a credential for `seller` (or for the operator when `None`) through the
/// use case, and words the headers its client must send, from the mount of `dialect`
/// in `mounts`. Credentials of a dialect whose mount asks for a user e-mail (SkyHub's
/// `X-User-Email`) carry `user_email`, or one derived from the owner's id when absent.
/// `rate_limit` is the credential's own request rate, if it has one.
pub async fn issue_credential(
    app: &entreposto_app::App,
    mounts: &[Mount],
    operator_id: &str,
    seller_id: Option<&str>,
    dialect: Dialect,
    user_email: Option<String>,
    rate_limit: Option<entreposto_domain::RateLimit>,
) -> Result<IssuedCredential, entreposto_app::AppError> {
    let wants_email = mounts.iter().any(|m| m.dialect == dialect && m.user_email);
    let user_email = wants_email.then(|| {
        user_email.unwrap_or_else(|| {
            format!(
                "{}@sellers.entreposto.local",
                seller_id.unwrap_or(operator_id).to_lowercase()
            )
        })
    });
    let issued = app
        .issue_limited_credential(operator_id, seller_id, dialect, user_email, rate_limit)
        .await?;
    let c = &issued.credential;
    let headers = crate::credential_headers(
        mounts,
        dialect,
        &c.id,
        &issued.secret,
        c.user_email.as_deref(),
    );
    Ok(IssuedCredential {
        id: c.id.clone(),
        dialect,
        seller: c.seller_id.clone(),
        operator: c.operator_id.clone(),
        rate_limit: c.rate_limit.map(|r| r.to_string()),
        headers,
    })
}

/// Who is calling: a verified, unrevoked credential of the expected dialect.
#[derive(Debug, Clone)]
pub struct Principal {
    pub credential: Arc<Credential>,
}

impl Principal {
    /// The data this principal sees by default: its seller, or its whole operator.
    pub fn scope(&self) -> Scope {
        Scope {
            operator_id: self.credential.operator_id.clone(),
            seller_id: self.credential.seller_id.clone(),
        }
    }
}

/// Short-lived cache of credentials by id, so each request does not cost a query.
pub struct CredentialCache {
    store: Arc<dyn Store>,
    ttl: Duration,
    /// The per-process random key of [`fingerprint`].
    key: (u64, u64),
    entries: Mutex<HashMap<String, Cached>>,
}

struct Cached {
    loaded_at: Instant,
    credential: Arc<Credential>,
    /// The fingerprint of the secret last proven to hash to `credential.secret_hash`.
    /// A request presenting the same secret again is checked by comparing
    /// fingerprints in constant time instead of by SHA-256: in software (hosts without
    /// SHA extensions) SHA-256 was ~7% of an Omnik case read's instructions.
    verified: Option<[u8; 16]>,
}

impl CredentialCache {
    pub fn new(store: Arc<dyn Store>, ttl: Duration) -> CredentialCache {
        CredentialCache {
            store,
            ttl,
            key: (rand::random(), rand::random()),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The credential `id`, and whether `print` is the fingerprint already verified
    /// for it.
    async fn load(&self, id: &str, print: &[u8; 16]) -> Result<(Arc<Credential>, bool), ApiError> {
        if let Some(c) = self.entries.lock().map_err(|_| ApiError::Internal)?.get(id) {
            if c.loaded_at.elapsed() < self.ttl {
                let known = c.verified.is_some_and(|v| bool::from(v.ct_eq(print)));
                return Ok((c.credential.clone(), known));
            }
        }
        let cred = match self.store.get_credential(id).await {
            Ok(c) => Arc::new(c),
            Err(StoreError::NotFound) => return Err(bad_credentials()),
            Err(e) => return Err(e.into()),
        };
        let mut entries = self.entries.lock().map_err(|_| ApiError::Internal)?;
        if entries.len() > 100_000 {
            entries.clear();
        }
        entries.insert(
            id.to_string(),
            Cached {
                loaded_at: Instant::now(),
                credential: cred.clone(),
                verified: None,
            },
        );
        Ok((cred, false))
    }

    /// Records that the secret of fingerprint `print` hashes to credential `id`'s
    /// digest.
    fn remember(&self, id: &str, cred: &Arc<Credential>, print: [u8; 16]) {
        if let Ok(mut entries) = self.entries.lock() {
            // Only onto the entry that was checked: a reload in between may have
            // brought a revoked credential.
            if let Some(c) = entries.get_mut(id) {
                if Arc::ptr_eq(&c.credential, cred) {
                    c.verified = Some(print);
                }
            }
        }
    }

    /// Checks `secret` for `dialect`. Every failure gives the same answer, so a caller
    /// cannot tell a revoked credential from a wrong one.
    pub async fn verify(&self, secret: &str, dialect: Dialect) -> Result<Principal, ApiError> {
        let secret = secret.trim();
        let id = credential_id_of(secret).ok_or_else(bad_credentials)?;
        let print = fingerprint(self.key, secret);
        let (cred, known) = self.load(id, &print).await?;
        let matches = known || bool::from(hash_secret(secret).ct_eq(&cred.secret_hash));
        if !matches || cred.dialect != dialect || cred.revoked_at.is_some() {
            return Err(bad_credentials());
        }
        if !known {
            self.remember(id, &cred, print);
        }
        Ok(Principal { credential: cred })
    }
}

/// A 128-bit SipHash of `secret` under `key` (random per process). Only this is kept
/// of a verified secret, never the secret: a wrong secret would pass only by a 2^-128
/// collision under a key no caller sees, and memory holding it does not give the
/// secret away.
fn fingerprint(key: (u64, u64), secret: &str) -> [u8; 16] {
    let mut h = SipHasher13::new_with_keys(key.0, key.1);
    h.write(secret.as_bytes());
    h.finish128().as_bytes()
}

pub fn bad_credentials() -> ApiError {
    ApiError::Unauthorized("invalid or revoked credentials".into())
}

pub fn missing(header: &str) -> ApiError {
    ApiError::Unauthorized(format!("missing {header} header"))
}

/// A header's value as text, names matched case-insensitively (http does that). A
/// `HeaderName` constant skips parsing the name on every request (a `&str` works too).
pub fn header(
    parts: &axum::http::request::Parts,
    name: impl axum::http::header::AsHeaderName,
) -> Option<&str> {
    header_in(&parts.headers, name)
}

/// [`header`] in a bare header map (the edge reads credentials before routing).
pub fn header_in(
    headers: &axum::http::HeaderMap,
    name: impl axum::http::header::AsHeaderName,
) -> Option<&str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The token of an `Authorization` header, with or without a `Bearer ` prefix.
pub fn authorization_token(parts: &axum::http::request::Parts) -> Option<&str> {
    authorization_token_in(&parts.headers)
}

/// [`authorization_token`] in a bare header map.
pub fn authorization_token_in(headers: &axum::http::HeaderMap) -> Option<&str> {
    let v = header_in(headers, axum::http::header::AUTHORIZATION)?;
    let t = match v.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => v,
    };
    (!t.is_empty()).then_some(t)
}

/// What the edge found checking the secret a request presents (through its mount's
/// [`crate::Mount::secret`]), left on the request so that the dialect's extractor,
/// which reads the same secret the same way, does not check it again.
#[derive(Debug, Clone)]
pub struct Checked {
    pub dialect: Dialect,
    pub outcome: Result<Principal, ApiError>,
}

/// [`CredentialCache::verify`] of `secret`, the secret `parts` presents to `dialect`,
/// unless the edge already checked it for this request ([`Checked`]).
pub async fn verify_request(
    parts: &axum::http::request::Parts,
    state: &crate::AppState,
    secret: &str,
    dialect: Dialect,
) -> Result<Principal, ApiError> {
    match parts.extensions.get::<Checked>() {
        Some(c) if c.dialect == dialect => c.outcome.clone(),
        _ => state.credentials.verify(secret, dialect).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entreposto_store::new_id;

    #[test]
    fn fingerprints_tell_secrets_and_keys_apart() {
        let a = format!("ep_{}_{}", new_id(), "a".repeat(32));
        let mut b = a.clone();
        b.pop();
        b.push('b');
        let key = (rand::random(), rand::random());
        assert_eq!(fingerprint(key, &a), fingerprint(key, &a));
        assert_ne!(fingerprint(key, &a), fingerprint(key, &b));
        assert_ne!(fingerprint(key, &a), fingerprint((key.0 ^ 1, key.1), &a));
    }

    #[test]
    fn secret_format() {
        let id = new_id();
        let s = format!("ep_{id}_{}", "a".repeat(32));
        assert_eq!(credential_id_of(&s), Some(id.as_str()));
        assert_eq!(credential_id_of("ep_short_x"), None);
        assert_eq!(credential_id_of("garbage"), None);
    }
}
