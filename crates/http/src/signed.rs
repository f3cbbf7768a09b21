//! Tokens the server hands a client and reads back later (page cursors), signed so
//! that a client cannot make one up: `base64url(payload) "." base64url(HMAC-SHA256)`.
//!
//! The MAC key is the server secret ([`server_secret`]: the digest of a random key the
//! server generated once and keeps in the database, `server_keys`, with the
//! `cursor_secret` setting when one is set) followed by the digest of the credential's
//! id. No client ever sees the server secret (a credential's own secret, or anything
//! derived from it alone, would not do: its holder could compute it), so a token
//! cannot be made outside the server; the credential's id in the key makes a token
//! issued to one credential fail for another. Every node of one database reads the
//! same stored key, so tokens survive restarts and load balancers without any setting;
//! `cursor_secret` adds a secret the database does not hold, and changing it voids
//! every token issued before.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The key tokens of one credential are signed with.
#[derive(Clone)]
pub struct TokenKey([u8; 64]);

impl TokenKey {
    /// The key of the tokens issued to credential `credential_id`, under
    /// `server_secret` ([`server_secret`]).
    pub fn new(credential_id: &str, server_secret: &[u8; 32]) -> TokenKey {
        let mut k = [0u8; 64];
        k[..32].copy_from_slice(server_secret);
        k[32..].copy_from_slice(&Sha256::digest(credential_id.as_bytes()));
        TokenKey(k)
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        // A 64-byte key is one SHA-256 block: HMAC uses it as it is.
        let mut mac = <Hmac<Sha256> as Mac>::new(&self.0.into());
        mac.update(payload);
        mac
    }

    /// `payload` as a signed token.
    pub fn seal(&self, payload: &[u8]) -> String {
        let tag = self.mac(payload).finalize().into_bytes();
        format!("{}.{}", B64.encode(payload), B64.encode(tag))
    }

    /// The payload of a token this key sealed; `None` for anything else.
    pub fn open(&self, token: &str) -> Option<Vec<u8>> {
        let (payload, tag) = token.split_once('.')?;
        let payload = B64.decode(payload.trim_end_matches('=')).ok()?;
        let tag = B64.decode(tag.trim_end_matches('=')).ok()?;
        // `verify_slice` compares in constant time.
        self.mac(&payload).verify_slice(&tag).ok()?;
        Some(payload)
    }
}

/// The server secret tokens are signed under: the digest of the stored server key
/// followed by the `cursor_secret` setting (nothing when unset).
pub fn server_secret(stored_key: &[u8; 32], setting: Option<&str>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(stored_key);
    h.update(setting.unwrap_or_default().as_bytes());
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_tokens_open_only_with_their_key() {
        let server = server_secret(&[9; 32], None);
        let a = TokenKey::new("cred-1", &server);
        let t = a.seal(br#"{"u":5,"i":7}"#);
        assert_eq!(a.open(&t).as_deref(), Some(&br#"{"u":5,"i":7}"#[..]));
        // Another credential, another server secret.
        assert_eq!(TokenKey::new("cred-2", &server).open(&t), None);
        assert_eq!(
            TokenKey::new("cred-1", &server_secret(&[9; 32], Some("s"))).open(&t),
            None
        );
        // A payload of the client's own, with or without a tag.
        let forged = B64.encode(br#"{"u":-1,"i":-1}"#);
        assert_eq!(a.open(&forged), None);
        let (_, tag) = t.split_once('.').unwrap();
        assert_eq!(a.open(&format!("{forged}.{tag}")), None);
        assert_eq!(a.open("garbage"), None);
        assert_eq!(a.open("."), None);
    }
}
