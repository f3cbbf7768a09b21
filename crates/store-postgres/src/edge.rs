//! The HTTP edge's state on PostgreSQL: idempotency records, and the rate buckets the
//! nodes of one database share, each bucket moved by one statement (an `INSERT ... ON
//! CONFLICT DO UPDATE` whose condition is the GCRA rule of `RateLimit::admit`).

use async_trait::async_trait;
use entreposto_domain::{Admission, RateLimit, Timestamp};
use entreposto_store::{
    IdempotencyClaim, IdempotencyRecord, IdempotencyStore, RateLimitStore, Result, StoreError,
    StoredResponse,
};

use entreposto_store::sealing::{idempotency_body_place, open_response};

use crate::{map_err, PgStore};

/// How many times a claim looks again when the record it collided with is gone before
/// it could read it (released by its request in between).
const CLAIM_TRIES: usize = 3;

#[async_trait]
impl IdempotencyStore for PgStore {
    async fn claim_idempotency_key(
        &self,
        claim: &IdempotencyClaim,
        expired_before: Timestamp,
        abandoned_before: Timestamp,
    ) -> Result<Option<IdempotencyRecord>> {
        let c = self.conn().await?;
        let take = c
            .prepare_cached(
                "INSERT INTO idempotency_keys AS k (credential_id, idem_key, request_hash, created_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (credential_id, idem_key) DO UPDATE
                   SET request_hash = EXCLUDED.request_hash, created_at = EXCLUDED.created_at,
                       status = NULL, content_type = NULL, body = NULL
                   WHERE k.created_at < $5 OR (k.status IS NULL AND k.created_at < $6)
                 RETURNING 1",
            )
            .await
            .map_err(map_err)?;
        let read = c
            .prepare_cached(
                "SELECT request_hash, created_at, status, content_type, body
                 FROM idempotency_keys WHERE credential_id = $1 AND idem_key = $2",
            )
            .await
            .map_err(map_err)?;
        for _ in 0..CLAIM_TRIES {
            let taken = c
                .query_opt(
                    &take,
                    &[
                        &claim.credential_id,
                        &claim.key,
                        &&claim.request_hash[..],
                        &claim.at.0,
                        &expired_before.0,
                        &abandoned_before.0,
                    ],
                )
                .await
                .map_err(map_err)?;
            if taken.is_some() {
                return Ok(None);
            }
            // The conflicting row is committed (the insert waited for it), so this
            // statement's snapshot, taken after, sees it unless it was deleted since.
            if let Some(r) = c
                .query_opt(&read, &[&claim.credential_id, &claim.key])
                .await
                .map_err(map_err)?
            {
                let hash: Vec<u8> = r.get(0);
                let status: Option<i16> = r.get(2);
                let record = IdempotencyRecord {
                    request_hash: hash
                        .try_into()
                        .map_err(|_| StoreError::Other("bad request hash".into()))?,
                    created_at: Timestamp(r.get(1)),
                    response: status.map(|s| StoredResponse {
                        status: s as u16,
                        content_type: r.get(3),
                        body: r.get::<_, Option<Vec<u8>>>(4).unwrap_or_default(),
                    }),
                };
                return open_response(&self.sealer, claim, record).map(Some);
            }
        }
        Err(StoreError::Busy)
    }

    async fn complete_idempotency_key(
        &self,
        claim: &IdempotencyClaim,
        response: &StoredResponse,
    ) -> Result<bool> {
        let body = self.sealer.seal_bytes(
            &idempotency_body_place(&claim.credential_id, &claim.key),
            &response.body,
        );
        let c = self.conn().await?;
        let n = c
            .execute(
                "UPDATE idempotency_keys SET status = $4, content_type = $5, body = $6
                 WHERE credential_id = $1 AND idem_key = $2 AND created_at = $3
                   AND status IS NULL",
                &[
                    &claim.credential_id,
                    &claim.key,
                    &claim.at.0,
                    &(response.status as i16),
                    &response.content_type,
                    &body,
                ],
            )
            .await
            .map_err(map_err)?;
        Ok(n == 1)
    }

    async fn release_idempotency_key(&self, claim: &IdempotencyClaim) -> Result<()> {
        let c = self.conn().await?;
        c.execute(
            "DELETE FROM idempotency_keys WHERE credential_id = $1 AND idem_key = $2
               AND created_at = $3 AND status IS NULL",
            &[&claim.credential_id, &claim.key, &claim.at.0],
        )
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn purge_idempotency_keys(&self, before: Timestamp) -> Result<u64> {
        let c = self.conn().await?;
        c.execute(
            "DELETE FROM idempotency_keys WHERE created_at < $1",
            &[&before.0],
        )
        .await
        .map_err(map_err)
    }
}

#[async_trait]
impl RateLimitStore for PgStore {
    async fn admit_rate(
        &self,
        bucket: &str,
        limit: RateLimit,
        now: Timestamp,
    ) -> Result<Admission> {
        let c = self.conn().await?;
        // The data-modifying CTE moves the bucket only when it admits; a refusal reads
        // the stored time from the statement's snapshot, for its `Retry-After`.
        let stmt = c
            .prepare_cached(
                "WITH admitted AS (
                   INSERT INTO rate_buckets AS b (bucket, tat) VALUES ($1, $2::BIGINT + $3::BIGINT)
                   ON CONFLICT (bucket) DO UPDATE SET tat = GREATEST(b.tat, $2::BIGINT) + $3::BIGINT
                   WHERE GREATEST(b.tat, $2::BIGINT) + $3::BIGINT - $2::BIGINT <= $4::BIGINT
                   RETURNING tat
                 )
                 SELECT true, tat FROM admitted
                 UNION ALL
                 SELECT false, tat FROM rate_buckets
                 WHERE bucket = $1 AND NOT EXISTS (SELECT 1 FROM admitted)",
            )
            .await
            .map_err(map_err)?;
        let row = c
            .query_opt(
                &stmt,
                &[
                    &bucket,
                    &now.0,
                    &limit.emission_micros(),
                    &limit.period_micros(),
                ],
            )
            .await
            .map_err(map_err)?;
        Ok(match row {
            Some(r) => limit.outcome(r.get(0), r.get(1), now.0),
            // Refused on a row another request inserted after this statement's
            // snapshot: its time is at most a period ahead.
            None => limit.refusal(now.0 + limit.period_micros(), now.0),
        })
    }

    async fn purge_rate_buckets(&self, before: Timestamp) -> Result<u64> {
        let c = self.conn().await?;
        c.execute("DELETE FROM rate_buckets WHERE tat < $1", &[&before.0])
            .await
            .map_err(map_err)
    }
}
