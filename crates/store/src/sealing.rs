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
//! open as themselves until they are resealed.

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

    /// Seals with `current`, opens with it or any of `previous`.
    pub fn with_keys(current: &[u8; KEY_LEN], previous: &[[u8; KEY_LEN]]) -> Sealer {
        let mut keys = vec![SealingKey::new(current)];
        keys.extend(previous.iter().map(SealingKey::new));
        Sealer {
            keys,
            random: SystemRandom::new(),
        }
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
                 [secrets] previous_keys"
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

/// What [`crate::Store::reseal_secrets`] does with a value no configured key opens
/// (its key was lost).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LostSecrets {
    /// Fail, naming the value, and write nothing: what every command does at start.
    Refuse,
    /// Replace it, as `entreposto secrets reseal --discard-unopenable` asks: an
    /// endpoint gets a new random secret and is disabled (nothing is signed with a
    /// secret its receiver never saw; rotate it and enable it again), a feed loses
    /// its headers and is disabled (set them again), a kept response is deleted (a
    /// repeat of its key runs again).
    Discard,
}

/// What reseal rewrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resealed {
    /// Values moved under the current key (or opened into plain text without one).
    pub resealed: u64,
    /// Values no key opened, replaced as [`LostSecrets::Discard`] says.
    pub discarded: u64,
}

/// An endpoint's secrets as they should be stored now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResealedEndpoint {
    pub secret: String,
    pub previous_secret: Option<String>,
    /// Its secret was lost and replaced: store it disabled (by its operator's hand).
    pub disable: bool,
}

/// An endpoint's stored `secret` and `previous_secret` as they should be stored now,
/// or `None` when both already are; counted in `count`.
pub fn reseal_endpoint(
    sealer: &Sealer,
    lost: LostSecrets,
    count: &mut Resealed,
    endpoint_id: &str,
    secret: &str,
    previous: Option<&str>,
) -> crate::Result<Option<ResealedEndpoint>> {
    let place = endpoint_secret_place(endpoint_id, false);
    let previous_place = endpoint_secret_place(endpoint_id, true);
    let opened = sealer.reseal(&place, secret).and_then(|s| {
        let p = match previous {
            None => None,
            Some(p) => sealer.reseal(&previous_place, p)?,
        };
        Ok((s, p))
    });
    match (opened, lost) {
        (Ok((None, None)), _) => Ok(None),
        (Ok((new_secret, new_previous)), _) => {
            count.resealed += 1;
            Ok(Some(ResealedEndpoint {
                secret: new_secret.unwrap_or_else(|| secret.to_string()),
                previous_secret: new_previous.or_else(|| previous.map(str::to_string)),
                disable: false,
            }))
        }
        (Err(e), LostSecrets::Refuse) => Err(crate::StoreError::Other(e.0)),
        (Err(_), LostSecrets::Discard) => {
            count.discarded += 1;
            let mut key = [0u8; 24];
            sealer
                .random
                .fill(&mut key)
                .expect("the system's random source");
            let fresh = entreposto_domain::WebhookSecret::from_key(&key);
            Ok(Some(ResealedEndpoint {
                secret: sealer.seal(&place, fresh.expose()),
                previous_secret: None,
                disable: true,
            }))
        }
    }
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
    lost: LostSecrets,
    count: &mut Resealed,
    seller_id: &str,
    headers: &str,
) -> crate::Result<Option<ResealedFeed>> {
    let place = feed_headers_place(seller_id);
    match (sealer.reseal(&place, headers), lost) {
        (Ok(None), _) => Ok(None),
        (Ok(Some(headers)), _) => {
            count.resealed += 1;
            Ok(Some(ResealedFeed {
                headers,
                disable: false,
            }))
        }
        (Err(e), LostSecrets::Refuse) => Err(crate::StoreError::Other(e.0)),
        (Err(_), LostSecrets::Discard) => {
            count.discarded += 1;
            Ok(Some(ResealedFeed {
                headers: crate::feeds::encode_headers(&[], sealer, seller_id),
                disable: true,
            }))
        }
    }
}

/// A stored response body as it should be stored now, or `None` when it is lost and
/// its record is to be deleted (for [`crate::Store::reseal_secrets`], which picks the
/// bodies not yet under [`Sealer::current_prefix`]); counted in `count`.
pub fn reseal_body(
    sealer: &Sealer,
    lost: LostSecrets,
    count: &mut Resealed,
    credential_id: &str,
    key: &str,
    body: &[u8],
) -> crate::Result<Option<Vec<u8>>> {
    let place = idempotency_body_place(credential_id, key);
    match (sealer.open_bytes(&place, body), lost) {
        (Ok(plain), _) => {
            count.resealed += 1;
            Ok(Some(sealer.seal_bytes(&place, &plain)))
        }
        (Err(e), LostSecrets::Refuse) => Err(crate::StoreError::Other(e.0)),
        (Err(_), LostSecrets::Discard) => {
            count.discarded += 1;
            Ok(None)
        }
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
        let s = Sealer::with_keys(&key(1), &[]);
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
        let other = Sealer::with_keys(&key(2), &[]);
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
        let old = Sealer::with_keys(&key(1), &[]);
        let sealed_old = old.seal("p", "x");
        let rotated = Sealer::with_keys(&key(2), &[key(1)]);
        assert_eq!(rotated.open("p", &sealed_old).unwrap(), "x");
        assert!(!rotated.is_current(&sealed_old));
        assert!(!rotated.is_current("x"));
        let resealed = rotated.reseal("p", &sealed_old).unwrap().unwrap();
        assert!(rotated.is_current(&resealed));
        assert_eq!(
            Sealer::with_keys(&key(2), &[])
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
        let s = Sealer::with_keys(&key(1), &[]);
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
    fn keys_are_32_bytes_of_base64() {
        let k = Sealer::new_key();
        assert_eq!(Sealer::parse_key(&k).unwrap().len(), KEY_LEN);
        assert!(Sealer::parse_key("not base64!").is_err());
        assert!(Sealer::parse_key(&STANDARD.encode([0u8; 16])).is_err());
    }
}
