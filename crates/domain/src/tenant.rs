//! Who owns what: operators, their sellers, and the credentials they call us with.
//!
//! An operator runs a marketplace platform and has sellers. Every stored business row
//! belongs to exactly one seller (and through it to one operator). A credential belongs
//! to one dialect and either to a seller (sees that seller only) or to an operator
//! (sees all of the operator's sellers, or one of them when the dialect names it).
//! [`Scope`] is what a request may see; every store query takes one.

use serde::{Deserialize, Serialize};

use crate::{Document, Timestamp};

/// The vendor API a credential speaks. `Native` is the operator's `/api/v1` token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    Skyhub,
    Omnik,
    Zerok,
    Koncili,
    Native,
}

impl Dialect {
    pub const ALL: [Dialect; 5] = [
        Dialect::Skyhub,
        Dialect::Omnik,
        Dialect::Zerok,
        Dialect::Koncili,
        Dialect::Native,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Skyhub => "skyhub",
            Dialect::Omnik => "omnik",
            Dialect::Zerok => "zerok",
            Dialect::Koncili => "koncili",
            Dialect::Native => "native",
        }
    }

    pub fn parse(s: &str) -> Option<Dialect> {
        Dialect::ALL.into_iter().find(|d| d.as_str() == s)
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
