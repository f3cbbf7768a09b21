//! Operators, sellers and credentials on PostgreSQL.

use async_trait::async_trait;
use entreposto_domain::*;
use entreposto_store::events::credential_events;
use entreposto_store::{Result, StoreError, TenantStore};
use tokio_postgres::Row;

use crate::outbox::insert_events;
use crate::{map_err, PgStore};

const SELLER_COLS: &str = "id, operator_id, name, document, document_type, created_at";

fn seller_from_row(r: &Row) -> Seller {
    let doc: Option<String> = r.get(3);
    let kind: Option<String> = r.get(4);
    Seller {
        id: r.get(0),
        operator_id: r.get(1),
        name: r.get(2),
        document: match (doc, kind) {
            (Some(number), Some(kind)) => Some(Document {
                kind: DocumentKind::parse(&kind).unwrap_or(DocumentKind::Cnpj),
                number,
            }),
            _ => None,
        },
        created_at: Timestamp(r.get(5)),
    }
}

const CREDENTIAL_COLS: &str =
    "id, operator_id, seller_id, dialect, secret_hash, user_email, created_at, revoked_at, \
     rate_limit";

fn credential_from_row(r: &Row) -> Result<Credential> {
    let dialect: String = r.get(3);
    let hash: Vec<u8> = r.get(4);
    Ok(Credential {
        id: r.get(0),
        operator_id: r.get(1),
        seller_id: r.get(2),
        dialect: Dialect::parse(&dialect)
            .ok_or_else(|| StoreError::Other(format!("bad dialect {dialect}")))?,
        secret_hash: hash
            .try_into()
            .map_err(|_| StoreError::Other("bad secret hash".into()))?,
        user_email: r.get(5),
        created_at: Timestamp(r.get(6)),
        revoked_at: r.get::<_, Option<i64>>(7).map(Timestamp),
        rate_limit: entreposto_store::stored_rate_limit(r.get(8))?,
    })
}

#[async_trait]
impl TenantStore for PgStore {
    async fn create_operator(&self, op: &Operator) -> Result<()> {
        let c = self.conn().await?;
        c.execute(
            "INSERT INTO operators (id, name, created_at) VALUES ($1, $2, $3)",
            &[&op.id, &op.name, &op.created_at.0],
        )
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn get_operator(&self, id: &str) -> Result<Operator> {
        let c = self.conn().await?;
        let r = c
            .query_opt(
                "SELECT id, name, created_at FROM operators WHERE id = $1",
                &[&id],
            )
            .await
            .map_err(map_err)?
            .ok_or(StoreError::NotFound)?;
        Ok(Operator {
            id: r.get(0),
            name: r.get(1),
            created_at: Timestamp(r.get(2)),
        })
    }

    async fn create_seller(&self, s: &Seller) -> Result<()> {
        let c = self.conn().await?;
        c.execute(
            "INSERT INTO sellers (id, operator_id, name, document, document_type, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &s.id,
                &s.operator_id,
                &s.name,
                &s.document.as_ref().map(|d| d.number.clone()),
                &s.document.as_ref().map(|d| d.kind.as_str()),
                &s.created_at.0,
            ],
        )
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn get_seller(&self, operator_id: &str, id: &str) -> Result<Seller> {
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {SELLER_COLS} FROM sellers WHERE id = $1 AND operator_id = $2"
            ))
            .await
            .map_err(map_err)?;
        c.query_opt(&stmt, &[&id, &operator_id])
            .await
            .map_err(map_err)?
            .map(|r| seller_from_row(&r))
            .ok_or(StoreError::NotFound)
    }

    async fn find_seller(&self, id: &str) -> Result<Seller> {
        let c = self.conn().await?;
        c.query_opt(
            &format!("SELECT {SELLER_COLS} FROM sellers WHERE id = $1"),
            &[&id],
        )
        .await
        .map_err(map_err)?
        .map(|r| seller_from_row(&r))
        .ok_or(StoreError::NotFound)
    }

    async fn list_sellers(&self, operator_id: &str) -> Result<Vec<Seller>> {
        let c = self.conn().await?;
        let rows = c
            .query(
                &format!("SELECT {SELLER_COLS} FROM sellers WHERE operator_id = $1 ORDER BY id"),
                &[&operator_id],
            )
            .await
            .map_err(map_err)?;
        Ok(rows.iter().map(seller_from_row).collect())
    }

    async fn create_credential(&self, k: &Credential, events: &[CredentialEvent]) -> Result<()> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        tx.execute(
            "INSERT INTO credentials (id, operator_id, seller_id, dialect, secret_hash,
             user_email, created_at, revoked_at, rate_limit)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &k.id,
                &k.operator_id,
                &k.seller_id,
                &k.dialect.as_str(),
                &&k.secret_hash[..],
                &k.user_email,
                &k.created_at.0,
                &k.revoked_at.map(|t| t.0),
                &k.rate_limit.map(|r| r.to_string()),
            ],
        )
        .await
        .map_err(map_err)?;
        insert_events(
            &tx,
            &credential_events(&*self.payloads, events, k, k.created_at),
        )
        .await?;
        tx.commit().await.map_err(map_err)?;
        self.wrote_events();
        Ok(())
    }

    async fn get_credential(&self, id: &str) -> Result<Credential> {
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {CREDENTIAL_COLS} FROM credentials WHERE id = $1"
            ))
            .await
            .map_err(map_err)?;
        let r = c
            .query_opt(&stmt, &[&id])
            .await
            .map_err(map_err)?
            .ok_or(StoreError::NotFound)?;
        credential_from_row(&r)
    }

    async fn server_key(&self, name: &str, candidate: &[u8; 32]) -> Result<[u8; 32]> {
        let c = self.conn().await?;
        c.execute(
            "INSERT INTO server_keys (name, key) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[&name, &&candidate[..]],
        )
        .await
        .map_err(map_err)?;
        let key: Vec<u8> = c
            .query_one("SELECT key FROM server_keys WHERE name = $1", &[&name])
            .await
            .map_err(map_err)?
            .get(0);
        key.try_into()
            .map_err(|_| StoreError::Other(format!("server key {name} is not 32 bytes")))
    }

    async fn revoke_credential(
        &self,
        id: &str,
        at: Timestamp,
        events: &[CredentialEvent],
    ) -> Result<()> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        // Only a first revocation is a change (and has events).
        let revoked = tx
            .query_opt(
                &format!(
                    "UPDATE credentials SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL
                     RETURNING {CREDENTIAL_COLS}"
                ),
                &[&id, &at.0],
            )
            .await
            .map_err(map_err)?;
        let Some(r) = revoked else {
            let exists = tx
                .query_opt("SELECT 1 FROM credentials WHERE id = $1", &[&id])
                .await
                .map_err(map_err)?;
            return exists.map(|_| ()).ok_or(StoreError::NotFound);
        };
        let credential = credential_from_row(&r)?;
        insert_events(
            &tx,
            &credential_events(&*self.payloads, events, &credential, at),
        )
        .await?;
        tx.commit().await.map_err(map_err)?;
        self.wrote_events();
        Ok(())
    }
}
