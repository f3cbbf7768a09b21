//! Change feeds on PostgreSQL (migration 16): one row per seller with the settings
//! and the poll state. A claim is one `UPDATE` of the row a `FOR UPDATE SKIP LOCKED`
//! subquery picks, so nodes claiming at once each take a different feed (or none)
//! and never wait for one another; the later writes of a poll match the holder, so a
//! node whose lease ran out cannot move a feed another node has taken over.

use async_trait::async_trait;
use entreposto_domain::*;
use entreposto_store::*;
use tokio_postgres::Row;

use entreposto_store::sealing::Sealer;

use crate::finance::finance_err;
use crate::{map_err, PgStore};

const FEED_COLS: &str = "operator_id, seller_id, url, headers, interval_seconds, enabled, \
     position, next_poll_at, last_polled_at, last_success_at, last_error, last_error_at, \
     failures, applied, rejected, last_rejection, created_at, updated_at";

fn feed_from_row(r: &Row, sealer: &Sealer) -> Result<ChangeFeed> {
    let headers: String = r.get(3);
    let seller_id: String = r.get(1);
    let headers = decode_headers(&headers, sealer, &seller_id).map_err(StoreError::Other)?;
    let ts = |i: usize| r.get::<_, Option<i64>>(i).map(Timestamp);
    Ok(ChangeFeed {
        operator_id: r.get(0),
        seller_id,
        settings: FeedSettings {
            url: r.get(2),
            headers,
            interval_seconds: u32::try_from(r.get::<_, i64>(4)).unwrap_or(u32::MAX),
            enabled: r.get(5),
        },
        position: r.get(6),
        next_poll_at: Timestamp(r.get(7)),
        last_polled_at: ts(8),
        last_success_at: ts(9),
        last_error: r.get(10),
        last_error_at: ts(11),
        failures: u32::try_from(r.get::<_, i64>(12)).unwrap_or(u32::MAX),
        applied: r.get::<_, i64>(13).max(0) as u64,
        rejected: r.get::<_, i64>(14).max(0) as u64,
        last_rejection: r.get(15),
        created_at: Timestamp(r.get(16)),
        updated_at: Timestamp(r.get(17)),
    })
}

fn seller_of(scope: &Scope) -> Result<&str> {
    scope.seller_id.as_deref().ok_or(StoreError::NotFound)
}

#[async_trait]
impl FeedStore for PgStore {
    async fn put_change_feed(
        &self,
        scope: &Scope,
        settings: &FeedSettings,
        position: Option<Option<String>>,
        now: Timestamp,
    ) -> Result<ChangeFeed> {
        let seller = seller_of(scope)?;
        let headers = encode_headers(&settings.headers, &self.sealer, seller);
        let interval = i64::from(settings.interval_seconds);
        let (replace, new_position) = match position {
            Some(p) => (true, p),
            None => (false, None),
        };
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(&format!(
                "INSERT INTO change_feeds AS f (seller_id, operator_id, url, headers,
                   interval_seconds, enabled, position, next_poll_at, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $9, $7, $7, $7)
                 ON CONFLICT (seller_id) DO UPDATE SET
                   url = excluded.url, headers = excluded.headers,
                   interval_seconds = excluded.interval_seconds, enabled = excluded.enabled,
                   position = CASE WHEN $8 THEN excluded.position ELSE f.position END,
                   next_poll_at = excluded.next_poll_at, failures = 0,
                   lease_holder = NULL, lease_until = NULL, updated_at = excluded.updated_at
                 WHERE f.operator_id = excluded.operator_id
                 RETURNING {FEED_COLS}"
            ))
            .await
            .map_err(map_err)?;
        let row = c
            .query_opt(
                &stmt,
                &[
                    &seller,
                    &scope.operator_id,
                    &settings.url,
                    &headers,
                    &interval,
                    &settings.enabled,
                    &now.0,
                    &replace,
                    &new_position,
                ],
            )
            .await
            .map_err(finance_err)?;
        // No row: the seller's feed exists under another operator (which the foreign
        // key makes impossible), so the seller is not this operator's.
        feed_from_row(&row.ok_or(StoreError::NotFound)?, &self.sealer)
    }

    async fn get_change_feed(&self, scope: &Scope) -> Result<ChangeFeed> {
        let seller = seller_of(scope)?;
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {FEED_COLS} FROM change_feeds WHERE seller_id = $1 AND operator_id = $2"
            ))
            .await
            .map_err(map_err)?;
        let row = c
            .query_opt(&stmt, &[&seller, &scope.operator_id])
            .await
            .map_err(map_err)?;
        feed_from_row(&row.ok_or(StoreError::NotFound)?, &self.sealer)
    }

    async fn delete_change_feed(&self, scope: &Scope) -> Result<()> {
        let seller = seller_of(scope)?;
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached("DELETE FROM change_feeds WHERE seller_id = $1 AND operator_id = $2")
            .await
            .map_err(map_err)?;
        let n = c
            .execute(&stmt, &[&seller, &scope.operator_id])
            .await
            .map_err(map_err)?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn claim_change_feed(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        holder: &str,
    ) -> Result<Option<ChangeFeed>> {
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(&format!(
                "UPDATE change_feeds SET lease_holder = $3, lease_until = $2, last_polled_at = $1
                 WHERE seller_id = (SELECT seller_id FROM change_feeds
                                    WHERE enabled AND next_poll_at <= $1
                                      AND (lease_until IS NULL OR lease_until < $1)
                                    ORDER BY next_poll_at, seller_id LIMIT 1
                                    FOR UPDATE SKIP LOCKED)
                 RETURNING {FEED_COLS}"
            ))
            .await
            .map_err(map_err)?;
        let row = c
            .query_opt(&stmt, &[&now.0, &lease_until.0, &holder])
            .await
            .map_err(map_err)?;
        row.as_ref()
            .map(|r| feed_from_row(r, &self.sealer))
            .transpose()
    }

    async fn advance_change_feed(
        &self,
        seller_id: &str,
        holder: &str,
        progress: &FeedProgress,
    ) -> Result<()> {
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(
                "UPDATE change_feeds SET position = $3, applied = applied + $4,
                   rejected = rejected + $5, last_rejection = COALESCE($6, last_rejection),
                   lease_until = $7
                 WHERE seller_id = $1 AND lease_holder = $2",
            )
            .await
            .map_err(map_err)?;
        let n = c
            .execute(
                &stmt,
                &[
                    &seller_id,
                    &holder,
                    &progress.position,
                    &stored_count(progress.applied),
                    &stored_count(progress.rejected),
                    &progress.last_rejection,
                    &progress.lease_until.0,
                ],
            )
            .await
            .map_err(map_err)?;
        held(n)
    }

    async fn end_change_feed_poll(
        &self,
        seller_id: &str,
        holder: &str,
        end: &FeedPollEnd,
    ) -> Result<()> {
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(
                "UPDATE change_feeds SET lease_holder = NULL, lease_until = NULL,
                   next_poll_at = $3, failures = $4,
                   last_success_at = CASE WHEN $5::text IS NULL THEN $6 ELSE last_success_at END,
                   last_error = COALESCE($5, last_error),
                   last_error_at = CASE WHEN $5::text IS NULL THEN last_error_at ELSE $6 END
                 WHERE seller_id = $1 AND lease_holder = $2",
            )
            .await
            .map_err(map_err)?;
        let n = c
            .execute(
                &stmt,
                &[
                    &seller_id,
                    &holder,
                    &end.next_poll_at.0,
                    &i64::from(end.failures),
                    &end.error,
                    &end.at.0,
                ],
            )
            .await
            .map_err(map_err)?;
        held(n)
    }
}
