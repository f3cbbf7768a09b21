//! Secrets at rest: the values a store keeps only to use them again, never to query
//! them (webhook endpoints' signing secrets, change feeds' request headers, which
//! carry the seller's system's credentials, and the responses kept for idempotency
//! keys, which show a new endpoint's secret), are sealed with AES-256-GCM under the
//! operator's key (`[secrets] key`) before they reach a row, so a copy of the database
//! (a backup, a replica, a dump) does not hand out the secrets that sign deliveries
//! or reach sellers' systems. Each backend seals and opens through the one
//! [`Sealer`] it is given; the sealed text is the same in both.
//!
//! A sealed value reads `sealed:v1:<key id>:<base64 of nonce, ciphertext and tag>`.
//! The key id (the first 4 bytes of the key's SHA-256, in hex) names which key sealed
//! it, so a key can be rotated: the new key seals, the previous ones (`[secrets]
//! previous_keys`) still open, and [`crate::Store::reseal_secrets`] rewrites every
//! value not sealed under the current key. The additional data is the value's place
//! (table, column and row), so a sealed value copied into another row does not open.
//! Without a key values are kept as they are, and values stored before a key was set
//! open as themselves until they are resealed. A key cannot be taken away again:
//! without one, a sealed value does not open.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

/// What every sealed value starts with.
const PREFIX: &str = "sealed:v1:";

/// How many bytes a key has.
pub const KEY_LEN: usize = 32;

/// One key: its id and the AEAD key.
struct SealingKey {
    id: String,
    key: LessSafeKey,
}

impl SealingKey {
    fn new(bytes: &[u8; KEY_LEN]) -> SealingKey {
        let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
        let id = digest.as_ref()[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bytes).expect("a 32-byte key"));
        SealingKey { id, key }
    }
}

/// Seals values with the current key and opens them with any known one.
pub struct Sealer {
    /// The current key first, then the previous ones; empty: values kept plain.
    keys: Vec<SealingKey>,
    random: SystemRandom,
}

impl Default for Sealer {
    fn default() -> Self {
        Sealer::plain()
    }
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("Sealer").field("key_ids", &ids).finish()
    }
}

/// A value that could not be opened, and why (in words an operator acts on).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SealError(pub String);

impl Sealer {
    /// No key: values are stored as they are.
    pub fn plain() -> Sealer {
        Sealer {
            keys: Vec::new(),
            random: SystemRandom::new(),
        }
    }

    /// Seals with `current`, opens with it or any of `previous`. Two keys with one
    /// id (the same key twice, or a collision of the 4-byte id) are refused: a value
    /// must name the one key that opens it.
    pub fn with_keys(
        current: &[u8; KEY_LEN],
        previous: &[[u8; KEY_LEN]],
    ) -> Result<Sealer, SealError> {
        let mut keys = vec![SealingKey::new(current)];
        for k in previous {
            let k = SealingKey::new(k);
            if keys.iter().any(|known| known.id == k.id) {
                return Err(SealError(format!(
                    "two secrets keys have the id {}: each key must be different",
                    k.id
                )));
            }
            keys.push(k);
        }
        Ok(Sealer {
            keys,
            random: SystemRandom::new(),
        })
    }

    /// A key as configured: the base64 of 32 bytes (`entreposto secrets new-key`
    /// prints one).
    pub fn parse_key(text: &str) -> Result<[u8; KEY_LEN], SealError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| SealError("a secrets key must be base64".into()))?;
        <[u8; KEY_LEN]>::try_from(bytes.as_slice()).map_err(|_| {
            SealError(format!(
                "a secrets key must be {KEY_LEN} bytes (base64 of {KEY_LEN} random bytes), not {}",
                bytes.len()
            ))
        })
    }

    /// A new random key, as [`Sealer::parse_key`] reads it.
    pub fn new_key() -> String {
        let mut key = [0u8; KEY_LEN];
        SystemRandom::new()
            .fill(&mut key)
            .expect("the system's random source");
        STANDARD.encode(key)
    }

    /// Whether values are sealed (a key is set).
    pub fn seals(&self) -> bool {
        !self.keys.is_empty()
    }

    /// `plain` as stored at `place` (table, column and row, e.g.
    /// `webhook_endpoints.secret:ep_1`): sealed under the current key, or as it is
    /// without one.
    pub fn seal(&self, place: &str, plain: &str) -> String {
        if self.keys.is_empty() {
            return plain.to_string();
        }
        self.seal_under_current(place, plain.as_bytes())
    }

    /// The value stored at `place`: opened when sealed, as it is when not.
    pub fn open(&self, place: &str, stored: &str) -> Result<String, SealError> {
        if !stored.starts_with(PREFIX) {
            return Ok(stored.to_string());
        }
        String::from_utf8(self.open_sealed(place, stored)?)
            .map_err(|_| SealError(format!("{place}: the sealed value is not text")))
    }

    /// [`Sealer::seal`] for a binary column (a stored response body): the sealed
    /// value's text as bytes.
    pub fn seal_bytes(&self, place: &str, plain: &[u8]) -> Vec<u8> {
        if self.keys.is_empty() {
            return plain.to_vec();
        }
        self.seal_under_current(place, plain).into_bytes()
    }

    /// [`Sealer::open`] for a binary column.
    pub fn open_bytes(&self, place: &str, stored: &[u8]) -> Result<Vec<u8>, SealError> {
        if !stored.starts_with(PREFIX.as_bytes()) {
            return Ok(stored.to_vec());
        }
        let text = std::str::from_utf8(stored)
            .map_err(|_| SealError(format!("{place}: a sealed value that is not text")))?;
        self.open_sealed(place, text)
    }

    fn seal_under_current(&self, place: &str, plain: &[u8]) -> String {
        let current = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .expect("the system's random source");
        let mut sealed = plain.to_vec();
        current
            .key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(place.as_bytes()),
                &mut sealed,
            )
            .expect("AES-GCM seals any value under 64 GiB");
        let mut packed = nonce.to_vec();
        packed.extend_from_slice(&sealed);
        format!("{PREFIX}{}:{}", current.id, STANDARD.encode(packed))
    }

    /// The plain bytes of `stored`, which starts with [`PREFIX`].
    fn open_sealed(&self, place: &str, stored: &str) -> Result<Vec<u8>, SealError> {
        let rest = &stored[PREFIX.len()..];
        let (id, packed) = rest
            .split_once(':')
            .ok_or_else(|| SealError(format!("{place}: a sealed value without its key id")))?;
        let key = self.keys.iter().find(|k| k.id == id).ok_or_else(|| {
            SealError(format!(
                "{place} is sealed under key {id}, which is neither [secrets] key nor one of \
                 [secrets] previous_keys (if that key is lost for good: entreposto secrets \
                 reseal --discard-lost-key {id})"
            ))
        })?;
        let corrupt = || {
            SealError(format!(
                "{place}: the sealed value does not open under key {id}"
            ))
        };
        let packed = STANDARD.decode(packed).map_err(|_| corrupt())?;
        if packed.len() < NONCE_LEN {
            return Err(corrupt());
        }
        let (nonce, sealed) = packed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| corrupt())?;
        let mut sealed = sealed.to_vec();
        let plain = key
            .key
            .open_in_place(nonce, Aad::from(place.as_bytes()), &mut sealed)
            .map_err(|_| corrupt())?;
        Ok(plain.to_vec())
    }

    /// What every value sealed now starts with (`None` without a key): a store
    /// finds the values [`crate::Store::reseal_secrets`] must rewrite by it.
    pub fn current_prefix(&self) -> Option<String> {
        self.keys.first().map(|k| format!("{PREFIX}{}:", k.id))
    }

    /// What every sealed value starts with, under any key.
    pub const PREFIX: &'static str = PREFIX;

    /// Whether `stored` is already as [`Sealer::seal`] would store it now: sealed
    /// under the current key, or plain when there is no key. Values that are not need
    /// [`crate::Store::reseal_secrets`].
    pub fn is_current(&self, stored: &str) -> bool {
        match self.keys.first() {
            None => !stored.starts_with(PREFIX),
            Some(k) => stored
                .strip_prefix(PREFIX)
                .and_then(|rest| rest.split_once(':'))
                .is_some_and(|(id, _)| id == k.id),
        }
    }

    /// `stored` as it should be stored now (opened and sealed again), or `None` when
    /// it already is.
    pub fn reseal(&self, place: &str, stored: &str) -> Result<Option<String>, SealError> {
        if self.is_current(stored) {
            return Ok(None);
        }
        let plain = self.open(place, stored)?;
        Ok(Some(self.seal(place, &plain)))
    }
}

/// Where a webhook endpoint's secret (or its rotated-out one) is stored.
pub fn endpoint_secret_place(endpoint_id: &str, previous: bool) -> String {
    let column = if previous {
        "previous_secret"
    } else {
        "secret"
    };
    format!("webhook_endpoints.{column}:{endpoint_id}")
}

/// Where the response kept for a credential's idempotency key is stored.
pub fn idempotency_body_place(credential_id: &str, key: &str) -> String {
    format!("idempotency_keys.body:{credential_id}:{key}")
}

/// `record` as read for `claim`'s key, its response's body opened.
pub fn open_response(
    sealer: &Sealer,
    claim: &crate::IdempotencyClaim,
    mut record: crate::IdempotencyRecord,
) -> crate::Result<crate::IdempotencyRecord> {
    if let Some(response) = &mut record.response {
        response.body = sealer
            .open_bytes(
                &idempotency_body_place(&claim.credential_id, &claim.key),
                &response.body,
            )
            .map_err(|e| crate::StoreError::Other(e.0))?;
    }
    Ok(record)
}

/// Where a seller's change feed's headers are stored.
pub fn feed_headers_place(seller_id: &str) -> String {
    format!("change_feeds.headers:{seller_id}")
}

/// What [`crate::Store::reseal_secrets`] does with a value no configured key opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LostSecrets {
    /// Fail, naming the value and its key, and write nothing: what every command does
    /// at start.
    Refuse,
    /// Replace what is sealed under this key id (a key that was lost), as
    /// `entreposto secrets reseal --discard-lost-key ID` asks; anything else that does
    /// not open still fails (a mistyped key discards nothing). An endpoint whose
    /// secret is lost gets a new random secret and is disabled (nothing is signed
    /// with a secret its receiver never saw; rotate it and enable it again); one whose
    /// rotated-out secret alone is lost only drops that one; a feed loses its headers
    /// and is disabled (set them again); a kept response is deleted (a repeat of its
    /// key runs again).
    Discard { key_id: String },
}

impl LostSecrets {
    /// Whether `stored`, which did not open, is to be replaced.
    fn discards(&self, stored: &[u8]) -> bool {
        match self {
            LostSecrets::Refuse => false,
            LostSecrets::Discard { key_id } => key_id_of(stored) == Some(key_id.as_str()),
        }
    }
}

/// The id of the key a sealed value names.
fn key_id_of(stored: &[u8]) -> Option<&str> {
    let rest = stored.strip_prefix(PREFIX.as_bytes())?;
    let end = rest.iter().position(|&b| b == b':')?;
    std::str::from_utf8(&rest[..end]).ok()
}

/// What reseal rewrote, counted by row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resealed {
    /// Rows whose values moved under the current key.
    pub resealed: u64,
    /// Rows with a value sealed under the lost key, replaced as
    /// [`LostSecrets::Discard`] says.
    pub discarded: u64,
}

/// One stored value, looked at by reseal.
enum Step {
    /// Already as it should be stored.
    Same,
    /// To store instead.
    New(String),
    /// Sealed under the lost key: to replace.
    Lost,
}

fn step(sealer: &Sealer, lost: &LostSecrets, place: &str, stored: &str) -> crate::Result<Step> {
    match sealer.reseal(place, stored) {
        Ok(None) => Ok(Step::Same),
        Ok(Some(v)) => Ok(Step::New(v)),
        Err(_) if lost.discards(stored.as_bytes()) => Ok(Step::Lost),
        Err(e) => Err(crate::StoreError::Other(e.0)),
    }
}

/// An endpoint's secrets as they should be stored now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResealedEndpoint {
    pub secret: String,
    /// `None`: none (its rotated-out secret was lost, or it had none).
    pub previous_secret: Option<String>,
    /// Its secret was lost and replaced: store it disabled (by its operator's hand).
    pub disable: bool,
}

/// An endpoint's stored `secret` and `previous_secret` as they should be stored now,
/// or `None` when both already are; counted in `count`.
pub fn reseal_endpoint(
    sealer: &Sealer,
    lost: &LostSecrets,
    count: &mut Resealed,
    endpoint_id: &str,
    secret: &str,
    previous: Option<&str>,
) -> crate::Result<Option<ResealedEndpoint>> {
    let place = endpoint_secret_place(endpoint_id, false);
    let current = step(sealer, lost, &place, secret)?;
    let rotated_out = match previous {
        None => Step::Same,
        Some(p) => step(sealer, lost, &endpoint_secret_place(endpoint_id, true), p)?,
    };
    let (secret, previous_secret, disable) = match (current, rotated_out) {
        (Step::Same, Step::Same) => return Ok(None),
        (Step::Lost, _) => {
            count.discarded += 1;
            let mut key = [0u8; 24];
            sealer
                .random
                .fill(&mut key)
                .expect("the system's random source");
            let fresh = entreposto_domain::WebhookSecret::from_key(&key);
            (sealer.seal(&place, fresh.expose()), None, true)
        }
        (current, rotated_out) => {
            let secret = match current {
                Step::New(s) => s,
                _ => secret.to_string(),
            };
            let previous_secret = match rotated_out {
                Step::New(p) => Some(p),
                Step::Same => previous.map(str::to_string),
                Step::Lost => None,
            };
            if previous.is_some() && previous_secret.is_none() {
                count.discarded += 1;
            } else {
                count.resealed += 1;
            }
            (secret, previous_secret, false)
        }
    };
    Ok(Some(ResealedEndpoint {
        secret,
        previous_secret,
        disable,
    }))
}

/// A feed's headers as they should be stored now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResealedFeed {
    pub headers: String,
    /// Its headers were lost and dropped: store it disabled.
    pub disable: bool,
}

/// A feed's stored headers as they should be stored now, or `None` when they
/// already are; counted in `count`.
pub fn reseal_feed(
    sealer: &Sealer,
    lost: &LostSecrets,
    count: &mut Resealed,
    seller_id: &str,
    headers: &str,
) -> crate::Result<Option<ResealedFeed>> {
    match step(sealer, lost, &feed_headers_place(seller_id), headers)? {
        Step::Same => Ok(None),
        Step::New(headers) => {
            count.resealed += 1;
            Ok(Some(ResealedFeed {
                headers,
                disable: false,
            }))
        }
        Step::Lost => {
            count.discarded += 1;
            Ok(Some(ResealedFeed {
                headers: crate::feeds::encode_headers(&[], sealer, seller_id),
                disable: true,
            }))
        }
    }
}

/// A stored response body as it should be stored now, or `None` when it was sealed
/// under the lost key and its record is to be deleted (for
/// [`crate::Store::reseal_secrets`], which picks the bodies not yet under
/// [`Sealer::current_prefix`]); counted in `count`.
pub fn reseal_body(
    sealer: &Sealer,
    lost: &LostSecrets,
    count: &mut Resealed,
    credential_id: &str,
    key: &str,
    body: &[u8],
) -> crate::Result<Option<Vec<u8>>> {
    let place = idempotency_body_place(credential_id, key);
    match sealer.open_bytes(&place, body) {
        Ok(plain) => {
            count.resealed += 1;
            Ok(Some(sealer.seal_bytes(&place, &plain)))
        }
        Err(_) if lost.discards(body) => {
            count.discarded += 1;
            Ok(None)
        }
        Err(e) => Err(crate::StoreError::Other(e.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> [u8; KEY_LEN] {
        [b; KEY_LEN]
    }

    #[test]
    fn sealed_values_open_only_in_their_place_and_under_their_key() {
        let s = Sealer::with_keys(&key(1), &[]).unwrap();
        let sealed = s.seal("t.c:1", "whsec_abc");
        assert!(sealed.starts_with("sealed:v1:"), "{sealed}");
        assert!(!sealed.contains("whsec_abc"));
        assert_ne!(
            sealed,
            s.seal("t.c:1", "whsec_abc"),
            "a fresh nonce each time"
        );
        assert_eq!(s.open("t.c:1", &sealed).unwrap(), "whsec_abc");
        // Moved to another row: refused.
        assert!(s.open("t.c:2", &sealed).is_err());
        // Tampered with: refused.
        let mut bytes = sealed.clone().into_bytes();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        assert!(s.open("t.c:1", &String::from_utf8(bytes).unwrap()).is_err());
        // Another key: refused, naming the key it needs.
        let other = Sealer::with_keys(&key(2), &[]).unwrap();
        let e = other.open("t.c:1", &sealed).unwrap_err();
        assert!(e.0.contains("previous_keys"), "{e}");
        // No key at all: refused too, never handed out as the sealed text.
        assert!(Sealer::plain().open("t.c:1", &sealed).is_err());
    }

    #[test]
    fn plain_values_open_as_themselves_and_reseal_under_the_current_key() {
        let plain = Sealer::plain();
        assert_eq!(plain.seal("p", "x"), "x");
        assert_eq!(plain.open("p", "x").unwrap(), "x");
        assert!(plain.is_current("x"));
        let old = Sealer::with_keys(&key(1), &[]).unwrap();
        let sealed_old = old.seal("p", "x");
        let rotated = Sealer::with_keys(&key(2), &[key(1)]).unwrap();
        assert_eq!(rotated.open("p", &sealed_old).unwrap(), "x");
        assert!(!rotated.is_current(&sealed_old));
        assert!(!rotated.is_current("x"));
        let resealed = rotated.reseal("p", &sealed_old).unwrap().unwrap();
        assert!(rotated.is_current(&resealed));
        assert_eq!(
            Sealer::with_keys(&key(2), &[])
                .unwrap()
                .open("p", &resealed)
                .unwrap(),
            "x"
        );
        assert_eq!(rotated.reseal("p", &resealed).unwrap(), None);
        assert_eq!(
            rotated
                .open("p", &rotated.reseal("p", "x").unwrap().unwrap())
                .unwrap(),
            "x"
        );
    }

    #[test]
    fn binary_values_seal_as_their_text_and_plain_ones_stay_as_they_are() {
        let s = Sealer::with_keys(&key(1), &[]).unwrap();
        let body = br#"{"secret":"whsec_abc"}"#;
        let sealed = s.seal_bytes("b", body);
        assert!(sealed.starts_with(b"sealed:v1:"));
        assert_eq!(s.open_bytes("b", &sealed).unwrap(), body);
        assert!(s.open_bytes("c", &sealed).is_err());
        assert_eq!(s.open_bytes("b", body).unwrap(), body);
        assert_eq!(Sealer::plain().seal_bytes("b", body), body);
        assert_eq!(s.open_bytes("b", b"").unwrap(), b"");
    }

    #[test]
    fn only_values_under_the_named_lost_key_are_discarded() {
        let lost_key = Sealer::with_keys(&key(1), &[]).unwrap();
        let other = Sealer::with_keys(&key(3), &[]).unwrap();
        let now = Sealer::with_keys(&key(2), &[]).unwrap();
        let lost_id = key_id_of(lost_key.current_prefix().unwrap().as_bytes())
            .unwrap()
            .to_string();
        let discard = LostSecrets::Discard { key_id: lost_id };
        let mut count = Resealed::default();
        // The current secret sealed under the lost key: a new one, disabled.
        let place = endpoint_secret_place("e", false);
        let gone = lost_key.seal(&place, "whsec_AAAAAAAAAAAAAAAAAAAAAA==");
        let e = reseal_endpoint(&now, &discard, &mut count, "e", &gone, None)
            .unwrap()
            .unwrap();
        assert!(e.disable && now.open(&place, &e.secret).unwrap().starts_with("whsec_"));
        // Only the rotated-out one lost: it goes, the endpoint stays as it is.
        let kept = now.seal(&place, "whsec_BBBBBBBBBBBBBBBBBBBBBB==");
        let old = lost_key.seal(&endpoint_secret_place("e", true), "whsec_x");
        let e = reseal_endpoint(&now, &discard, &mut count, "e", &kept, Some(&old))
            .unwrap()
            .unwrap();
        assert_eq!(
            (e.secret.as_str(), e.previous_secret, e.disable),
            (kept.as_str(), None, false)
        );
        assert_eq!(
            count,
            Resealed {
                resealed: 0,
                discarded: 2
            }
        );
        // Sealed under a key that is neither configured nor the named one: refused.
        let stray = other.seal(&place, "whsec_x");
        assert!(reseal_endpoint(&now, &discard, &mut count, "e", &stray, None).is_err());
        assert!(reseal_endpoint(&now, &LostSecrets::Refuse, &mut count, "e", &gone, None).is_err());
        // A body under the lost key goes; one under another key is refused.
        let b = lost_key.seal_bytes(&idempotency_body_place("c", "k"), b"{}");
        assert_eq!(
            reseal_body(&now, &discard, &mut count, "c", "k", &b).unwrap(),
            None
        );
        let b = other.seal_bytes(&idempotency_body_place("c", "k"), b"{}");
        assert!(reseal_body(&now, &discard, &mut count, "c", "k", &b).is_err());
    }

    #[test]
    fn two_keys_with_one_id_are_refused() {
        assert!(Sealer::with_keys(&key(1), &[key(1)]).is_err());
        assert!(Sealer::with_keys(&key(1), &[key(2)]).is_ok());
    }

    #[test]
    fn keys_are_32_bytes_of_base64() {
        let k = Sealer::new_key();
        assert_eq!(Sealer::parse_key(&k).unwrap().len(), KEY_LEN);
        assert!(Sealer::parse_key("not base64!").is_err());
        assert!(Sealer::parse_key(&STANDARD.encode([0u8; 16])).is_err());
    }
}
