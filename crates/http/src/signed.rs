//! Tokens the server hands a client and reads back later (page cursors), signed so
//! that a client cannot make one up: `base64url(payload) "." base64url(HMAC-SHA256)`.
//!
//! The MAC key is the credential's stored secret digest followed by the digest of the
//! server's `cursor_secret` setting (empty when unset). The credential's digest is in
//! the database only, never sent, so a token cannot be forged without reading the
//! database, and a token made for one credential does not open for another; every node
//! serving one database computes the same key, so tokens survive restarts and load
//! balancers without any setting. `cursor_secret` adds a secret the database does not
//! hold, and changing it voids every token issued before.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The key tokens of one credential are signed with.
#[derive(Clone)]
pub struct TokenKey([u8; 64]);

impl TokenKey {
    /// `credential_digest` is the credential's stored secret hash; `server_secret`
    /// the digest of the `cursor_secret` setting ([`server_secret`]).
    pub fn new(credential_digest: &[u8; 32], server_secret: &[u8; 32]) -> TokenKey {
        let mut k = [0u8; 64];
        k[..32].copy_from_slice(credential_digest);
        k[32..].copy_from_slice(server_secret);
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

/// The digest of the `cursor_secret` setting (of `""` when unset).
pub fn server_secret(setting: Option<&str>) -> [u8; 32] {
    Sha256::digest(setting.unwrap_or_default().as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_tokens_open_only_with_their_key() {
        let server = server_secret(None);
        let a = TokenKey::new(&[1; 32], &server);
        let t = a.seal(br#"{"u":5,"i":7}"#);
        assert_eq!(a.open(&t).as_deref(), Some(&br#"{"u":5,"i":7}"#[..]));
        // Another credential, another server secret.
        assert_eq!(TokenKey::new(&[2; 32], &server).open(&t), None);
        assert_eq!(
            TokenKey::new(&[1; 32], &server_secret(Some("s"))).open(&t),
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
