//! Operators, sellers and credentials on SQLite.

use async_trait::async_trait;
use entreposto_domain::*;
use entreposto_store::events::credential_events;
use entreposto_store::{Result, StoreError, TenantStore};
use rusqlite::{params, Connection, Row};

use crate::outbox::insert_events;

use crate::{map_err, SqliteStore};

fn seller_from_row(r: &Row<'_>) -> rusqlite::Result<Seller> {
    let doc: Option<String> = r.get(3)?;
    let kind: Option<String> = r.get(4)?;
    Ok(Seller {
        id: r.get(0)?,
        operator_id: r.get(1)?,
        name: r.get(2)?,
        document: match (doc, kind) {
            (Some(number), Some(kind)) => Some(Document {
                kind: DocumentKind::parse(&kind).unwrap_or(DocumentKind::Cnpj),
                number,
            }),
            _ => None,
        },
        created_at: Timestamp(r.get(5)?),
    })
}

const SELLER_COLS: &str = "id, operator_id, name, document, document_type, created_at";

/// The credential `id`, on any connection (a read, or a write's own transaction).
fn load_credential(c: &Connection, id: &str) -> Result<Credential> {
    c.prepare_cached(
        "SELECT id, operator_id, seller_id, dialect, secret_hash, user_email, created_at,
             revoked_at, rate_limit FROM credentials WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.query_row([id], |r| {
            let dialect: String = r.get(3)?;
            let hash: Vec<u8> = r.get(4)?;
            Ok(Ok(Credential {
                id: r.get(0)?,
                operator_id: r.get(1)?,
                seller_id: r.get(2)?,
                dialect: match Dialect::parse(&dialect) {
                    Some(d) => d,
                    None => return Ok(Err(StoreError::Other(format!("bad dialect {dialect}")))),
                },
                secret_hash: match hash.try_into() {
                    Ok(h) => h,
                    Err(_) => return Ok(Err(StoreError::Other("bad secret hash".into()))),
                },
                user_email: r.get(5)?,
                created_at: Timestamp(r.get(6)?),
                revoked_at: r.get::<_, Option<i64>>(7)?.map(Timestamp),
                rate_limit: match entreposto_store::stored_rate_limit(
                    r.get::<_, Option<String>>(8)?.as_deref(),
                ) {
                    Ok(l) => l,
                    Err(e) => return Ok(Err(e)),
                },
            }))
        })
    })
    .map_err(map_err)?
}

#[async_trait]
impl TenantStore for SqliteStore {
    async fn create_operator(&self, op: &Operator) -> Result<()> {
        let op = op.clone();
        self.write(move |c| {
            c.prepare_cached("INSERT INTO operators (id, name, created_at) VALUES (?1, ?2, ?3)")
                .and_then(|mut s| s.execute(params![op.id, op.name, op.created_at.0]))
                .map(|_| ())
                .map_err(map_err)
        })
        .await
    }

    async fn get_operator(&self, id: &str) -> Result<Operator> {
        self.read_now(|c| {
            c.prepare_cached("SELECT id, name, created_at FROM operators WHERE id = ?1")
                .and_then(|mut s| {
                    s.query_row([id], |r| {
                        Ok(Operator {
                            id: r.get(0)?,
                            name: r.get(1)?,
                            created_at: Timestamp(r.get(2)?),
                        })
                    })
                })
                .map_err(map_err)
        })
    }

    async fn create_seller(&self, seller: &Seller) -> Result<()> {
        let s = seller.clone();
        self.write(move |c| {
            c.prepare_cached(
                "INSERT INTO sellers (id, operator_id, name, document, document_type, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    s.id,
                    s.operator_id,
                    s.name,
                    s.document.as_ref().map(|d| d.number.clone()),
                    s.document.as_ref().map(|d| d.kind.as_str()),
                    s.created_at.0
                ])
            })
            .map(|_| ())
            .map_err(map_err)
        })
        .await
    }

    async fn get_seller(&self, operator_id: &str, id: &str) -> Result<Seller> {
        self.read_now(|c| {
            c.prepare_cached(&format!(
                "SELECT {SELLER_COLS} FROM sellers WHERE id = ?1 AND operator_id = ?2"
            ))
            .and_then(|mut s| s.query_row(params![id, operator_id], seller_from_row))
            .map_err(map_err)
        })
    }

    async fn find_seller(&self, id: &str) -> Result<Seller> {
        self.read_now(|c| {
            c.prepare_cached(&format!("SELECT {SELLER_COLS} FROM sellers WHERE id = ?1"))
                .and_then(|mut s| s.query_row(params![id], seller_from_row))
                .map_err(map_err)
        })
    }

    async fn list_sellers(&self, operator_id: &str) -> Result<Vec<Seller>> {
        let op = operator_id.to_string();
        self.read(move |c| {
            let mut s = c
                .prepare_cached(&format!(
                    "SELECT {SELLER_COLS} FROM sellers WHERE operator_id = ?1 ORDER BY id"
                ))
                .map_err(map_err)?;
            let rows = s.query_map([op], seller_from_row).map_err(map_err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
        })
        .await
    }

    async fn server_key(&self, name: &str, candidate: &[u8; 32]) -> Result<[u8; 32]> {
        let (name, candidate) = (name.to_string(), *candidate);
        self.write(move |c| {
            c.prepare_cached("INSERT OR IGNORE INTO server_keys (name, key) VALUES (?1, ?2)")
                .and_then(|mut s| s.execute(params![name, &candidate[..]]))
                .map_err(map_err)?;
            let key: Vec<u8> = c
                .prepare_cached("SELECT key FROM server_keys WHERE name = ?1")
                .and_then(|mut s| s.query_row([&name], |r| r.get(0)))
                .map_err(map_err)?;
            key.try_into()
                .map_err(|_| StoreError::Other(format!("server key {name} is not 32 bytes")))
        })
        .await
    }

    async fn create_credential(&self, cred: &Credential, events: &[CredentialEvent]) -> Result<()> {
        let k = cred.clone();
        let rows = credential_events(&*self.payloads, events, cred, cred.created_at);
        self.write(move |c| {
            c.prepare_cached(
                "INSERT INTO credentials (id, operator_id, seller_id, dialect, secret_hash,
                 user_email, created_at, revoked_at, rate_limit)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    k.id,
                    k.operator_id,
                    k.seller_id,
                    k.dialect.as_str(),
                    &k.secret_hash[..],
                    k.user_email,
                    k.created_at.0,
                    k.revoked_at.map(|t| t.0),
                    k.rate_limit.map(|r| r.to_string())
                ])
            })
            .map_err(map_err)?;
            insert_events(c, &rows)
        })
        .await?;
        self.wrote_events();
        Ok(())
    }

    async fn get_credential(&self, id: &str) -> Result<Credential> {
        self.read_now(|c| load_credential(c, id))
    }

    async fn revoke_credential(
        &self,
        id: &str,
        at: Timestamp,
        events: &[CredentialEvent],
    ) -> Result<()> {
        let id = id.to_string();
        let (events, payloads) = (events.to_vec(), self.payloads.clone());
        let wrote = self
            .write(move |c| {
                // Only a first revocation is a change (and has events).
                let n = c
                    .prepare_cached(
                        "UPDATE credentials SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                    )
                    .and_then(|mut s| s.execute(params![id, at.0]))
                    .map_err(map_err)?;
                let credential = load_credential(c, &id)?;
                if n == 0 {
                    return Ok(false);
                }
                insert_events(c, &credential_events(&*payloads, &events, &credential, at))?;
                Ok(!events.is_empty())
            })
            .await?;
        if wrote {
            self.wrote_events();
        }
        Ok(())
    }
}
