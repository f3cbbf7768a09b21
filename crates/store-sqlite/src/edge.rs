//! The HTTP edge's state on SQLite: idempotency records and shared rate buckets, each
//! call one job of the writer thread (so a claim's read and write are one atomic
//! step, as every write is there).

use async_trait::async_trait;
use entreposto_domain::{Admission, RateLimit, Timestamp};
use entreposto_store::{
    IdempotencyClaim, IdempotencyRecord, IdempotencyStore, RateLimitStore, Result, StoredResponse,
};
use rusqlite::{params, OptionalExtension};

use entreposto_store::sealing::{idempotency_body_place, open_response};

use crate::{map_err, SqliteStore};

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn claim_idempotency_key(
        &self,
        claim: &IdempotencyClaim,
        expired_before: Timestamp,
        abandoned_before: Timestamp,
    ) -> Result<Option<IdempotencyRecord>> {
        let claim = claim.clone();
        let sealer = self.sealer.clone();
        self.write(move |c| {
            let stored = c
                .prepare_cached(
                    "SELECT request_hash, created_at, status, content_type, body
                     FROM idempotency_keys WHERE credential_id = ?1 AND idem_key = ?2",
                )
                .and_then(|mut s| {
                    s.query_row(params![claim.credential_id, claim.key], |r| {
                        let hash: Vec<u8> = r.get(0)?;
                        let status: Option<u16> = r.get(2)?;
                        let body: Option<Vec<u8>> = r.get(4)?;
                        Ok(IdempotencyRecord {
                            request_hash: hash.try_into().unwrap_or([0; 32]),
                            created_at: Timestamp(r.get(1)?),
                            response: status.map(|status| StoredResponse {
                                status,
                                content_type: r.get(3).ok().flatten(),
                                body: body.unwrap_or_default(),
                            }),
                        })
                    })
                    .optional()
                })
                .map_err(map_err)?;
            if let Some(record) = stored {
                let expired = record.created_at < expired_before;
                let abandoned = record.response.is_none() && record.created_at < abandoned_before;
                // Only the record answered is opened: one replaced is never read.
                if !expired && !abandoned {
                    return open_response(&sealer, &claim, record).map(Some);
                }
            }
            c.prepare_cached(
                "INSERT OR REPLACE INTO idempotency_keys
                 (credential_id, idem_key, request_hash, created_at, status, content_type, body)
                 VALUES (?1, ?2, ?3, ?4, NULL, NULL, NULL)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    claim.credential_id,
                    claim.key,
                    &claim.request_hash[..],
                    claim.at.0
                ])
            })
            .map_err(map_err)?;
            Ok(None)
        })
        .await
    }

    async fn complete_idempotency_key(
        &self,
        claim: &IdempotencyClaim,
        response: &StoredResponse,
    ) -> Result<bool> {
        let (claim, mut response) = (claim.clone(), response.clone());
        response.body = self.sealer.seal_bytes(
            &idempotency_body_place(&claim.credential_id, &claim.key),
            &response.body,
        );
        self.write(move |c| {
            c.prepare_cached(
                "UPDATE idempotency_keys SET status = ?4, content_type = ?5, body = ?6
                 WHERE credential_id = ?1 AND idem_key = ?2 AND created_at = ?3
                   AND status IS NULL",
            )
            .and_then(|mut s| {
                s.execute(params![
                    claim.credential_id,
                    claim.key,
                    claim.at.0,
                    response.status,
                    response.content_type,
                    response.body
                ])
            })
            .map(|n| n == 1)
            .map_err(map_err)
        })
        .await
    }

    async fn release_idempotency_key(&self, claim: &IdempotencyClaim) -> Result<()> {
        let claim = claim.clone();
        self.write(move |c| {
            c.prepare_cached(
                "DELETE FROM idempotency_keys WHERE credential_id = ?1 AND idem_key = ?2
                   AND created_at = ?3 AND status IS NULL",
            )
            .and_then(|mut s| s.execute(params![claim.credential_id, claim.key, claim.at.0]))
            .map(|_| ())
            .map_err(map_err)
        })
        .await
    }

    async fn purge_idempotency_keys(&self, before: Timestamp) -> Result<u64> {
        self.write(move |c| {
            c.prepare_cached("DELETE FROM idempotency_keys WHERE created_at < ?1")
                .and_then(|mut s| s.execute([before.0]))
                .map(|n| n as u64)
                .map_err(map_err)
        })
        .await
    }
}

#[async_trait]
impl RateLimitStore for SqliteStore {
    async fn admit_rate(
        &self,
        bucket: &str,
        limit: RateLimit,
        now: Timestamp,
    ) -> Result<Admission> {
        let bucket = bucket.to_string();
        self.write(move |c| {
            let tat: Option<i64> = c
                .prepare_cached("SELECT tat FROM rate_buckets WHERE bucket = ?1")
                .and_then(|mut s| s.query_row([&bucket], |r| r.get(0)).optional())
                .map_err(map_err)?;
            let a = limit.admit(tat, now.0);
            if a.admitted {
                c.prepare_cached(
                    "INSERT OR REPLACE INTO rate_buckets (bucket, tat) VALUES (?1, ?2)",
                )
                .and_then(|mut s| s.execute(params![bucket, a.tat]))
                .map_err(map_err)?;
            }
            Ok(a)
        })
        .await
    }

    async fn purge_rate_buckets(&self, before: Timestamp) -> Result<u64> {
        self.write(move |c| {
            c.prepare_cached("DELETE FROM rate_buckets WHERE tat < ?1")
                .and_then(|mut s| s.execute([before.0]))
                .map(|n| n as u64)
                .map_err(map_err)
        })
        .await
    }
}
