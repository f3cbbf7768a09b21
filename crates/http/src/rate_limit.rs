//! Rate limits per credential, applied by the JSON edge to every request whose
//! credential it could verify, before any handler runs.
//!
//! Which limit a request takes ([`Limiter::limit_for`]): the rule of its dialect's
//! preset that names it, if the configuration turned one on (a vendor's published
//! per-endpoint limits: [`RatePreset`], offered by the dialect's [`crate::Mount`]);
//! else the credential's own limit, its seller's, its operator's, its dialect's, then
//! the default, the first one set. Each (credential, rule) is one bucket, decided by
//! the GCRA rule of [`RateLimit::admit`]: in this process's memory (a sharded map of
//! one number per bucket), or, when the limit must hold across the hub nodes of one
//! database (`shared`), by one atomic statement on the database's `rate_buckets`
//! ([`entreposto_store::RateLimitStore`]). A database that cannot answer falls back on
//! this node's memory for that request instead of refusing or letting it through
//! unlimited. An admitted request's answer carries `RateLimit-Limit`,
//! `RateLimit-Remaining` and `RateLimit-Reset` (seconds until the bucket is full); a
//! refusal is a 429 in the dialect's envelope with those and `Retry-After`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use entreposto_domain::{Admission, Credential, Dialect, RateLimit, Timestamp};
use entreposto_store::Store;

/// A vendor's published limits for some of its endpoints, by name
/// (`[rate_limits.dialects] koncili = "vendor"`).
#[derive(Debug)]
pub struct RatePreset {
    pub name: &'static str,
    pub rules: &'static [RateRule],
}

/// One rule of a preset: the requests it names (by method and path below the
/// dialect's prefix) share a bucket of `limit` per credential.
#[derive(Debug)]
pub struct RateRule {
    /// What the requests are, for the documentation (`listings`).
    pub name: &'static str,
    pub applies: fn(&Method, &str) -> bool,
    pub limit: RateLimit,
}

/// Most rules a preset may have: a credential's buckets are its general one and one
/// per rule, kept together.
pub const MAX_RULES: usize = 3;

/// How one dialect's requests are limited, when the configuration says.
#[derive(Debug, Clone, Copy)]
pub enum DialectLimit {
    /// Every credential of the dialect, unless a more specific limit is set.
    Rate(RateLimit),
    /// The preset's rules for the requests they name; the rest as if unset.
    Preset(&'static RatePreset),
    /// None, unless the credential, its seller or its operator has one.
    Off,
}

/// The `[rate_limits]` settings, parsed: `None` limits mean "not set here".
#[derive(Debug, Clone)]
pub struct RateLimitSettings {
    /// Every credential's limit, unless a more specific one is set; `None`: off.
    pub default: Option<RateLimit>,
    /// By dialect, each at most once (a handful: a list beats a map).
    pub dialects: Vec<(Dialect, DialectLimit)>,
    pub operators: HashMap<String, RateLimit>,
    pub sellers: HashMap<String, RateLimit>,
    /// Keep the buckets in the database, so that the limit holds across the nodes
    /// that share it.
    pub shared: bool,
}

/// A generous default: far above what one integration needs, low enough that a
/// client in a loop cannot take the hub's capacity from the others.
pub const DEFAULT_LIMIT: RateLimit = RateLimit::per_second(1000);

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            default: Some(DEFAULT_LIMIT),
            dialects: Vec::new(),
            operators: HashMap::new(),
            sellers: HashMap::new(),
            shared: false,
        }
    }
}

/// What the limiter decided about a request: the limit it was measured against and
/// the bucket's state after it.
#[derive(Debug, Clone, Copy)]
pub struct Charge {
    pub limit: RateLimit,
    pub admission: Admission,
}

/// Shards of the in-memory buckets: requests of different credentials rarely wait
/// for one another's lock.
const SHARDS: usize = 16;

/// A credential's buckets in memory: the theoretical arrival time of its general
/// bucket (index 0) and of each preset rule's; 0 is a bucket never used (full).
type Buckets = [i64; MAX_RULES + 1];

/// The rate limiter every listener of one process shares.
pub struct Limiter {
    settings: RateLimitSettings,
    shards: [Mutex<HashMap<String, Buckets>>; SHARDS],
    /// The store holding the shared buckets, when `settings.shared`.
    store: Option<Arc<dyn Store>>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Limiter {
    /// A limiter applying `settings`; shared buckets live in `store`.
    pub fn new(settings: RateLimitSettings, store: Arc<dyn Store>) -> Limiter {
        Limiter {
            store: settings.shared.then_some(store),
            settings,
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
        }
    }

    pub fn settings(&self) -> &RateLimitSettings {
        &self.settings
    }

    /// The bucket (0 the credential's general one, else 1 + the preset rule's index)
    /// and limit a request of `credential` takes, `None` when nothing limits it.
    /// `path` is below the dialect's prefix.
    pub fn limit_for(
        &self,
        credential: &Credential,
        method: &Method,
        path: &str,
    ) -> Option<(usize, RateLimit)> {
        let s = &self.settings;
        let dialect = s
            .dialects
            .iter()
            .find(|(d, _)| *d == credential.dialect)
            .map(|(_, l)| l);
        if let Some(DialectLimit::Preset(p)) = dialect {
            if let Some(i) = p.rules.iter().position(|r| (r.applies)(method, path)) {
                return Some((i + 1, p.rules[i].limit));
            }
        }
        // The maps are empty unless configured: then no lookup is paid.
        let seller = || {
            let id = credential.seller_id.as_deref()?;
            (!s.sellers.is_empty()).then(|| s.sellers.get(id)).flatten()
        };
        let operator = || {
            (!s.operators.is_empty())
                .then(|| s.operators.get(&credential.operator_id))
                .flatten()
        };
        let limit = credential
            .rate_limit
            .or_else(|| seller().copied())
            .or_else(|| operator().copied())
            .or(match dialect {
                Some(DialectLimit::Rate(r)) => Some(*r),
                Some(DialectLimit::Off) => None,
                _ => s.default,
            })?;
        Some((0, limit))
    }

    /// Charges a request of `credential` at `now`; `None` when nothing limits it.
    pub async fn charge(
        &self,
        credential: &Credential,
        method: &Method,
        path: &str,
        now: Timestamp,
    ) -> Option<Charge> {
        let (bucket, limit) = self.limit_for(credential, method, path)?;
        let admission = match &self.store {
            Some(store) => {
                let key = format!("{}/{bucket}", credential.id);
                match store.admit_rate(&key, limit, now).await {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "shared rate limit unavailable, limiting in memory");
                        self.admit_here(&credential.id, bucket, limit, now)
                    }
                }
            }
            None => self.admit_here(&credential.id, bucket, limit, now),
        };
        Some(Charge { limit, admission })
    }

    /// [`RateLimit::admit`] on this process's bucket.
    fn admit_here(&self, id: &str, bucket: usize, limit: RateLimit, now: Timestamp) -> Admission {
        // Ids are ULIDs: their last character is random, so it spreads them evenly.
        let shard = id.as_bytes().last().map_or(0, |b| *b as usize % SHARDS);
        let mut map = match self.shards[shard].lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        let buckets = match map.get_mut(id) {
            Some(b) => b,
            None => map.entry(id.to_string()).or_insert([0; MAX_RULES + 1]),
        };
        let tat = buckets[bucket];
        let a = limit.admit((tat != 0).then_some(tat), now.0);
        buckets[bucket] = a.tat;
        a
    }
}

pub const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
pub const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
pub const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// Whole seconds, rounded up: a client that waits this long finds what was promised.
pub fn seconds_up(micros: i64) -> u64 {
    (micros.max(0) as u64).div_ceil(1_000_000)
}

impl Charge {
    /// Sets the `RateLimit-*` headers of an answer (and `Retry-After` on a refusal).
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        let a = &self.admission;
        headers.insert(RATELIMIT_LIMIT, HeaderValue::from(self.limit.count()));
        headers.insert(RATELIMIT_REMAINING, HeaderValue::from(a.remaining));
        headers.insert(
            RATELIMIT_RESET,
            HeaderValue::from(seconds_up(a.reset_micros)),
        );
        if !a.admitted {
            headers.insert(
                axum::http::header::RETRY_AFTER,
                HeaderValue::from(self.retry_after_secs()),
            );
        }
    }

    /// How long a refused client waits, in whole seconds (at least one).
    pub fn retry_after_secs(&self) -> u64 {
        seconds_up(self.admission.retry_after_micros).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entreposto_domain::Dialect;

    fn credential(rate: Option<RateLimit>) -> Credential {
        Credential {
            id: entreposto_store::new_id(),
            operator_id: "OP".into(),
            seller_id: Some("SELLER".into()),
            dialect: Dialect::named("koncili"),
            secret_hash: [0; 32],
            user_email: None,
            created_at: Timestamp(0),
            revoked_at: None,
            rate_limit: rate,
        }
    }

    static LISTINGS: [RateRule; 1] = [RateRule {
        name: "listings",
        applies: |m, p| m == Method::GET && p.starts_with("/list"),
        limit: RateLimit::per_minute(3),
    }];
    static PRESET: RatePreset = RatePreset {
        name: "vendor",
        rules: &LISTINGS,
    };

    /// A limiter that never reaches a database (`shared` off).
    fn limiter(settings: RateLimitSettings) -> Limiter {
        Limiter {
            store: None,
            settings,
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
        }
    }

    #[test]
    fn the_most_specific_limit_wins() {
        let mut s = RateLimitSettings {
            default: Some(RateLimit::per_second(20)),
            ..RateLimitSettings::default()
        };
        let get = Method::GET;
        let c = credential(None);
        let l = limiter(s.clone());
        assert_eq!(
            l.limit_for(&c, &get, "/x"),
            Some((0, RateLimit::per_second(20)))
        );
        s.dialects.push((
            Dialect::named("koncili"),
            DialectLimit::Rate(RateLimit::per_second(9)),
        ));
        let l = limiter(s.clone());
        assert_eq!(
            l.limit_for(&c, &get, "/x").unwrap().1,
            RateLimit::per_second(9)
        );
        s.operators.insert("OP".into(), RateLimit::per_second(8));
        let l = limiter(s.clone());
        assert_eq!(
            l.limit_for(&c, &get, "/x").unwrap().1,
            RateLimit::per_second(8)
        );
        s.sellers.insert("SELLER".into(), RateLimit::per_second(7));
        let l = limiter(s.clone());
        assert_eq!(
            l.limit_for(&c, &get, "/x").unwrap().1,
            RateLimit::per_second(7)
        );
        let own = credential(Some(RateLimit::per_second(5)));
        assert_eq!(
            l.limit_for(&own, &get, "/x").unwrap().1,
            RateLimit::per_second(5)
        );
        // A preset's rule names its requests whatever else is set.
        s.dialects[0].1 = DialectLimit::Preset(&PRESET);
        let l = limiter(s.clone());
        assert_eq!(
            l.limit_for(&own, &get, "/list/a"),
            Some((1, RateLimit::per_minute(3)))
        );
        assert_eq!(l.limit_for(&own, &Method::PUT, "/list/a").unwrap().0, 0);
        // Nothing set, default off: unlimited.
        let off = limiter(RateLimitSettings {
            default: None,
            ..RateLimitSettings::default()
        });
        assert_eq!(off.limit_for(&c, &get, "/x"), None);
    }

    #[tokio::test]
    async fn buckets_are_per_credential_and_rule() {
        let mut s = RateLimitSettings {
            default: Some(RateLimit::per_second(2)),
            ..RateLimitSettings::default()
        };
        s.dialects
            .push((Dialect::named("koncili"), DialectLimit::Preset(&PRESET)));
        let l = limiter(s);
        let (a, b) = (credential(None), credential(None));
        let now = Timestamp(1_000_000_000);
        let get = Method::GET;
        for _ in 0..2 {
            assert!(
                l.charge(&a, &get, "/x", now)
                    .await
                    .unwrap()
                    .admission
                    .admitted
            );
        }
        let refused = l.charge(&a, &get, "/x", now).await.unwrap();
        assert!(!refused.admission.admitted);
        assert_eq!(refused.retry_after_secs(), 1);
        let mut h = HeaderMap::new();
        refused.write_headers(&mut h);
        assert_eq!(h["ratelimit-limit"], "2");
        assert_eq!(h["ratelimit-remaining"], "0");
        assert_eq!(h["ratelimit-reset"], "1");
        assert_eq!(h["retry-after"], "1");
        // Another credential, and the same credential's listings, have buckets of
        // their own.
        assert!(
            l.charge(&b, &get, "/x", now)
                .await
                .unwrap()
                .admission
                .admitted
        );
        let listing = l.charge(&a, &get, "/list", now).await.unwrap();
        assert!(listing.admission.admitted);
        assert_eq!(listing.admission.remaining, 2);
        let mut h = HeaderMap::new();
        listing.write_headers(&mut h);
        assert_eq!(h["ratelimit-reset"], "20");
        assert!(h.get("retry-after").is_none());
    }

    /// What the in-memory path costs a request (a charge and its three headers), to
    /// print, not to assert (performance is measured by the benchmarks):
    /// `cargo test -p entreposto-http the_in_memory_charge -- --ignored --nocapture`.
    #[tokio::test]
    #[ignore]
    async fn the_in_memory_charge_costs() {
        let l = limiter(RateLimitSettings::default());
        let creds: Vec<_> = (0..64).map(|_| credential(None)).collect();
        let get = Method::GET;
        let n = 200_000;
        let started = std::time::Instant::now();
        for i in 0..n {
            let c = &creds[i % creds.len()];
            let now = Timestamp(1_000_000_000 + i as i64 * 1000);
            let charge = l.charge(c, &get, "/x", now).await.unwrap();
            let mut h = HeaderMap::new();
            charge.write_headers(&mut h);
            std::hint::black_box(h);
        }
        let per = started.elapsed().as_nanos() / n as u128;
        println!(
            "in-memory charge with its headers: {per} ns a request ({} build)",
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
        );
    }
}
