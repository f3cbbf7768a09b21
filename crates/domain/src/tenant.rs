//! Who owns what: operators, their sellers, and the credentials they call us with.
//!
//! An operator runs a marketplace platform and has sellers. Every stored business row
//! belongs to exactly one seller (and through it to one operator). A credential belongs
//! to one dialect and either to a seller (sees that seller only) or to an operator
//! (sees all of the operator's sellers, or one of them when the dialect names it).
//! [`Scope`] is what a request may see; every store query takes one.

use serde::{Deserialize, Serialize};

use crate::{Document, RateLimit, Timestamp};

/// The API a credential speaks, by the name its API crate gives it (`native` is the
/// operator's `/api/v1` token; each vendor dialect names itself). The domain keeps no
/// list of them: the server's mount list is the set that exists, so a new dialect is
/// one crate and one line there. A name is 1 to 15 lowercase ASCII letters or digits,
/// held inline so a `Dialect` stays `Copy` and can be a `const`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dialect {
    len: u8,
    name: [u8; Dialect::MAX_LEN],
}

impl Dialect {
    pub const MAX_LEN: usize = 15;

    /// The dialect called `name`, for the `const` an API crate declares; a name that
    /// is not 1 to 15 lowercase letters or digits fails to compile there.
    pub const fn named(name: &'static str) -> Dialect {
        match Dialect::from_bytes(name.as_bytes()) {
            Some(d) => d,
            None => panic!("a dialect name is 1 to 15 lowercase ASCII letters or digits"),
        }
    }

    /// A dialect name read back (from storage, a command line); `None` if it is not a
    /// well-formed name. Whether a mount serves it is the caller's question.
    pub fn parse(s: &str) -> Option<Dialect> {
        Dialect::from_bytes(s.as_bytes())
    }

    const fn from_bytes(b: &[u8]) -> Option<Dialect> {
        if b.is_empty() || b.len() > Dialect::MAX_LEN {
            return None;
        }
        let mut name = [0u8; Dialect::MAX_LEN];
        let mut i = 0;
        while i < b.len() {
            if !(b[i].is_ascii_lowercase() || b[i].is_ascii_digit()) {
                return None;
            }
            name[i] = b[i];
            i += 1;
        }
        Some(Dialect {
            len: b.len() as u8,
            name,
        })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored (see `from_bytes`).
        std::str::from_utf8(&self.name[..self.len as usize]).unwrap_or_default()
    }
}

impl std::fmt::Debug for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Dialect({})", self.as_str())
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Dialect {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Dialect {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Dialect, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Dialect::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("bad dialect '{s}'")))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub id: String,
    pub name: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seller {
    pub id: String,
    pub operator_id: String,
    pub name: String,
    pub document: Option<Document>,
    pub created_at: Timestamp,
}

/// A stored credential. The secret itself is never stored, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub id: String,
    pub operator_id: String,
    /// `None` for an operator-level credential.
    pub seller_id: Option<String>,
    pub dialect: Dialect,
    pub secret_hash: [u8; 32],
    /// The user e-mail SkyHub clients must send in `X-User-Email`.
    pub user_email: Option<String>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    /// This credential's own request rate, over any the configuration gives its
    /// seller, operator or dialect (`credential create --rate-limit 5/s`).
    pub rate_limit: Option<RateLimit>,
}

/// What one request may see: one operator, and either one seller or all of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    pub operator_id: String,
    pub seller_id: Option<String>,
}

impl Scope {
    pub fn seller(operator_id: impl Into<String>, seller_id: impl Into<String>) -> Scope {
        Scope {
            operator_id: operator_id.into(),
            seller_id: Some(seller_id.into()),
        }
    }

    pub fn operator(operator_id: impl Into<String>) -> Scope {
        Scope {
            operator_id: operator_id.into(),
            seller_id: None,
        }
    }

    /// Whether a row owned by (`operator_id`, `seller_id`) is visible in this scope.
    pub fn sees(&self, operator_id: &str, seller_id: &str) -> bool {
        self.operator_id == operator_id && self.seller_id.as_deref().is_none_or(|s| s == seller_id)
    }
}

#[cfg(test)]
mod dialect_tests {
    use super::Dialect;

    #[test]
    fn names_round_trip_and_bad_ones_are_refused() {
        const D: Dialect = Dialect::named("skyhub");
        assert_eq!(D.as_str(), "skyhub");
        assert_eq!(Dialect::parse("skyhub"), Some(D));
        assert_eq!(Dialect::parse("native").unwrap().to_string(), "native");
        for bad in ["", "SkyHub", "sky hub", "a-b", "abcdefghijklmnop"] {
            assert_eq!(Dialect::parse(bad), None, "{bad:?}");
        }
        assert_eq!(
            Dialect::parse("abcdefghijklmno").unwrap().as_str().len(),
            15
        );
    }
}
