//! Idempotent retries: a `POST`, `PUT` or `PATCH` of any API sent with an
//! `Idempotency-Key` header runs once per credential and key; a repeat within
//! [`RETENTION`] gets the first answer (status, `Content-Type`, body, and
//! `Idempotent-Replayed: true`) without running again.
//!
//! The JSON edge drives it for requests whose credential it verified. A key belongs
//! to one operation: the method and the path below the API's prefix, without
//! its trailing slash ([`operation_key`]), so the same key sent to another endpoint
//! is another key, as clients that generate keys per call expect. The edge reads the
//! body, digests the method, the path and query as sent, the credential headers the
//! API's clients send (a repeat that drops one, say Omnik's `application_id`, is not
//! the request that was answered) and the body, and [`Keys::begin`] claims the key in
//! the database before the handler runs, so two nodes (or two connections) racing with
//! one key run it once: the loser is told the first is still in flight (409, with
//! `Retry-After`). The same key with another request is a 422 naming the header. As
//! the operation is part of the key, a method or path the API does not serve answers
//! its 405 or 404 whatever key it carries. Only
//! successes are kept ([`Keys::finish`]): a 4xx did nothing (every use case decides
//! before it writes), so the client may correct the request and send it again with
//! the same key, and a 5xx or a timeout may be retried. A claim whose request never
//! finished (its node died) is free again after the lease.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use entreposto_domain::Timestamp;
use entreposto_store::{IdempotencyClaim, Store, StoredResponse};
use sha2::{Digest, Sha256};

use crate::ApiError;

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// Set on a replayed answer.
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// How long a key's answer is kept and replayed: a day.
pub const RETENTION_MICROS: i64 = 24 * 3600 * 1_000_000;

/// The longest key accepted (a UUID is 36).
pub const MAX_KEY_LEN: usize = 255;

/// Answers larger than this are not kept (the key is given up): an answer to a write
/// is small, and a replay should not hold megabytes per key for a day.
pub const MAX_KEPT_BODY: usize = 1024 * 1024;

/// The key a request asks for, if it asks for one: a `POST`, `PUT` or `PATCH` with
/// the header (other methods are idempotent already, or have no body to replay).
/// A key that is empty, too long or not visible ASCII is refused, naming the header.
pub fn requested_key(
    method: &Method,
    headers: &axum::http::HeaderMap,
) -> Option<Result<String, ApiError>> {
    if !matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
        return None;
    }
    let value = headers.get(IDEMPOTENCY_KEY)?;
    let bad = || {
        ApiError::invalid(
            "Idempotency-Key",
            format!("must be 1 to {MAX_KEY_LEN} visible ASCII characters (a UUID, say)"),
        )
    };
    let key = value.to_str().map_err(|_| bad()).map(str::trim);
    Some(key.and_then(|k| {
        let visible = k.bytes().all(|b| b.is_ascii_graphic());
        if k.is_empty() || k.len() > MAX_KEY_LEN || !visible {
            Err(bad())
        } else {
            Ok(k.to_string())
        }
    }))
}

/// The key as stored: the client's `key` within its operation (`method` and `path`
/// below the API's prefix, a trailing slash dropped).
pub fn operation_key(method: &Method, path: &str, key: &str) -> String {
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    format!("{} {path} {key}", method.as_str())
}

/// The digest a key's request is recognised by: its method, path and query as sent,
/// the values of `headers` (absent ones marked so), and its body.
pub fn request_hash(
    method: &Method,
    path_and_query: &str,
    headers: &[(&str, Option<&[u8]>)],
    body: &[u8],
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(method.as_str());
    h.update([0]);
    h.update(path_and_query);
    h.update([0]);
    for (name, value) in headers {
        h.update(name);
        match value {
            Some(v) => {
                h.update([1]);
                h.update((v.len() as u64).to_be_bytes());
                h.update(v);
            }
            None => h.update([0]),
        }
    }
    h.update([0]);
    h.update(body);
    h.finalize().into()
}

/// What a request with a key does next.
pub enum Begun {
    /// The key is this request's: run it, then [`Keys::finish`].
    Claimed(IdempotencyClaim),
    /// The first request's answer, again.
    Replay(Response),
    /// A refusal: the key is another request's, or still in flight, or the database
    /// could not say.
    Refused(ApiError),
}

/// The idempotency records of the database, and the lease of a claim.
pub struct Keys {
    store: Arc<dyn Store>,
    /// A claim still in flight this long after it was made is taken over by the next
    /// request with its key (its node died, or its handler was dropped at the
    /// request deadline).
    lease_micros: i64,
}

impl Keys {
    pub fn new(store: Arc<dyn Store>, lease: std::time::Duration) -> Keys {
        Keys {
            store,
            lease_micros: i64::try_from(lease.as_micros()).unwrap_or(i64::MAX),
        }
    }

    /// Claims `key` of `credential_id` at `now` for the request of digest `hash`.
    pub async fn begin(
        &self,
        credential_id: &str,
        key: String,
        hash: [u8; 32],
        now: Timestamp,
    ) -> Begun {
        let claim = IdempotencyClaim {
            credential_id: credential_id.to_string(),
            key,
            request_hash: hash,
            at: now,
        };
        let expired = Timestamp(now.0.saturating_sub(RETENTION_MICROS));
        let abandoned = Timestamp(now.0.saturating_sub(self.lease_micros));
        match self
            .store
            .claim_idempotency_key(&claim, expired, abandoned)
            .await
        {
            Ok(None) => Begun::Claimed(claim),
            Ok(Some(record)) if record.request_hash != hash => {
                Begun::Refused(ApiError::IdempotencyKeyReused)
            }
            Ok(Some(record)) => match record.response {
                Some(r) => Begun::Replay(replay(r)),
                None => Begun::Refused(ApiError::IdempotencyInFlight),
            },
            Err(e) => Begun::Refused(e.into()),
        }
    }

    /// Keeps `res` as the answer of `claim`'s key when it is a success, else gives
    /// the key up; answers `res` either way (a failure to keep it is logged: the work
    /// is done, and its answer is what the client must see).
    pub async fn finish(&self, claim: IdempotencyClaim, res: Response) -> Response {
        if !res.status().is_success() {
            self.release(&claim).await;
            return res;
        }
        let (parts, body) = res.into_parts();
        let bytes = match axum::body::to_bytes(body, usize::MAX).await {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "reading an answer to keep it");
                self.release(&claim).await;
                return crate::envelope::render::<crate::envelope::Plain>(&ApiError::Internal);
            }
        };
        if bytes.len() > MAX_KEPT_BODY {
            self.release(&claim).await;
        } else {
            let kept = StoredResponse {
                status: parts.status.as_u16(),
                content_type: parts
                    .headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
                body: bytes.to_vec(),
            };
            match self.store.complete_idempotency_key(&claim, &kept).await {
                Ok(true) => {}
                Ok(false) => tracing::warn!(
                    key = %claim.key,
                    "idempotency key taken over before its request finished; answer not kept"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, key = %claim.key, "keeping an idempotent answer")
                }
            }
        }
        Response::from_parts(parts, Body::from(bytes))
    }

    async fn release(&self, claim: &IdempotencyClaim) {
        if let Err(e) = self.store.release_idempotency_key(claim).await {
            // The key stays claimed until the lease runs out: retries wait till then.
            tracing::warn!(error = %e, key = %claim.key, "releasing an idempotency key");
        }
    }
}

/// A kept answer as a response again.
fn replay(r: StoredResponse) -> Response {
    let mut res = Response::new(Body::from(r.body));
    *res.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
    if let Some(ct) = r.content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
        res.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    res.headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn with_key(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(IDEMPOTENCY_KEY, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn only_writes_with_the_header_ask() {
        let h = with_key(" 5b3c-key ");
        assert_eq!(
            requested_key(&Method::POST, &h).unwrap().unwrap(),
            "5b3c-key"
        );
        assert!(requested_key(&Method::PATCH, &h).is_some());
        assert!(requested_key(&Method::GET, &h).is_none());
        assert!(requested_key(&Method::DELETE, &h).is_none());
        assert!(requested_key(&Method::POST, &HeaderMap::new()).is_none());
        for bad in ["", "a b", &"k".repeat(256)] {
            let e = requested_key(&Method::PUT, &with_key(bad))
                .unwrap()
                .unwrap_err();
            assert_eq!(e.field(), Some("Idempotency-Key"));
        }
    }

    #[test]
    fn the_digest_covers_method_path_headers_and_body() {
        let app: &[(&str, Option<&[u8]>)] = &[("application_id", Some(b"c1"))];
        let a = request_hash(&Method::POST, "/orders", app, b"{}");
        assert_eq!(a, request_hash(&Method::POST, "/orders", app, b"{}"));
        assert_ne!(a, request_hash(&Method::PUT, "/orders", app, b"{}"));
        assert_ne!(a, request_hash(&Method::POST, "/orders?x=1", app, b"{}"));
        assert_ne!(a, request_hash(&Method::POST, "/orders", app, b"{ }"));
        // A credential header dropped or changed is another request.
        let none: &[(&str, Option<&[u8]>)] = &[("application_id", None)];
        assert_ne!(a, request_hash(&Method::POST, "/orders", none, b"{}"));
        let other: &[(&str, Option<&[u8]>)] = &[("application_id", Some(b"c2"))];
        assert_ne!(a, request_hash(&Method::POST, "/orders", other, b"{}"));
        // The separators keep the parts apart.
        assert_ne!(
            request_hash(&Method::POST, "/a", &[], b"b"),
            request_hash(&Method::POST, "/ab", &[], b"")
        );
        let empty: &[(&str, Option<&[u8]>)] = &[("h", Some(b""))];
        assert_ne!(
            request_hash(&Method::POST, "/a", empty, b""),
            request_hash(&Method::POST, "/a", &[("h", None)], b"")
        );
    }

    #[test]
    fn keys_belong_to_their_operation() {
        let k = operation_key(&Method::POST, "/orders", "k1");
        assert_eq!(k, operation_key(&Method::POST, "/orders/", "k1"));
        assert_ne!(k, operation_key(&Method::PUT, "/orders", "k1"));
        assert_ne!(k, operation_key(&Method::POST, "/orders/1", "k1"));
        assert_ne!(k, operation_key(&Method::POST, "/orders", "k2"));
        assert_eq!(operation_key(&Method::POST, "/", "k"), "POST / k");
    }
}
