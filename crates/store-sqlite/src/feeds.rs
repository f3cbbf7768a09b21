//! Change feeds on SQLite (migration 16): one row per seller with the settings and
//! the poll state. Every write is one writer job, so a claim (find the due feed,
//! then take it) is atomic: the writer runs one job at a time, and another process
//! on the same file waits for the `BEGIN IMMEDIATE` lock.

use async_trait::async_trait;
use entreposto_domain::*;
use entreposto_store::*;
use rusqlite::{params, Connection, OptionalExtension, Row};

use entreposto_store::sealing::Sealer;

use crate::finance::check_seller;
use crate::{map_err, SqliteStore};

const FEED_COLS: &str = "operator_id, seller_id, url, headers, interval_seconds, enabled, \
     position, next_poll_at, last_polled_at, last_success_at, last_error, last_error_at, \
     failures, applied, rejected, last_rejection, created_at, updated_at";

fn feed_from_row(r: &Row<'_>, sealer: &Sealer) -> rusqlite::Result<ChangeFeed> {
    let headers: String = r.get(3)?;
    let seller_id: String = r.get(1)?;
    let headers = decode_headers(&headers, sealer, &seller_id).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, e.into())
    })?;
    let ts = |i: usize| r.get::<_, Option<i64>>(i).map(|v| v.map(Timestamp));
    Ok(ChangeFeed {
        operator_id: r.get(0)?,
        seller_id,
        settings: FeedSettings {
            url: r.get(2)?,
            headers,
            interval_seconds: r.get(4)?,
            enabled: r.get(5)?,
        },
        position: r.get(6)?,
        next_poll_at: Timestamp(r.get(7)?),
        last_polled_at: ts(8)?,
        last_success_at: ts(9)?,
        last_error: r.get(10)?,
        last_error_at: ts(11)?,
        failures: r.get(12)?,
        applied: r.get::<_, i64>(13)?.max(0) as u64,
        rejected: r.get::<_, i64>(14)?.max(0) as u64,
        last_rejection: r.get(15)?,
        created_at: Timestamp(r.get(16)?),
        updated_at: Timestamp(r.get(17)?),
    })
}

fn seller_of(scope: &Scope) -> Result<&str> {
    scope.seller_id.as_deref().ok_or(StoreError::NotFound)
}

fn get(c: &Connection, sealer: &Sealer, operator: &str, seller: &str) -> Result<ChangeFeed> {
    c.prepare_cached(&format!(
        "SELECT {FEED_COLS} FROM change_feeds WHERE seller_id = ?1 AND operator_id = ?2"
    ))
    .and_then(|mut s| s.query_row(params![seller, operator], |r| feed_from_row(r, sealer)))
    .map_err(map_err)
}

#[async_trait]
impl FeedStore for SqliteStore {
    async fn put_change_feed(
        &self,
        scope: &Scope,
        settings: &FeedSettings,
        position: Option<Option<String>>,
        now: Timestamp,
    ) -> Result<ChangeFeed> {
        let seller = seller_of(scope)?.to_string();
        let operator = scope.operator_id.clone();
        let settings = settings.clone();
        let sealer = self.sealer.clone();
        self.write(move |c| {
            check_seller(c, &operator, &seller)?;
            let headers = encode_headers(&settings.headers, &sealer, &seller);
            // `?9` says whether the position is replaced (by `?10`, null for "from the
            // beginning") or kept.
            let (replace, new_position) = match position {
                Some(p) => (true, p),
                None => (false, None),
            };
            c.prepare_cached(
                "INSERT INTO change_feeds (seller_id, operator_id, url, headers,
                   interval_seconds, enabled, position, next_poll_at, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?10, ?7, ?8, ?8)
                 ON CONFLICT (seller_id) DO UPDATE SET
                   url = excluded.url, headers = excluded.headers,
                   interval_seconds = excluded.interval_seconds, enabled = excluded.enabled,
                   position = CASE WHEN ?9 THEN excluded.position ELSE change_feeds.position END,
                   next_poll_at = excluded.next_poll_at, failures = 0,
                   lease_holder = NULL, lease_until = NULL, updated_at = excluded.updated_at",
            )
            .and_then(|mut s| {
                s.execute(params![
                    seller,
                    operator,
                    settings.url,
                    headers,
                    settings.interval_seconds,
                    settings.enabled,
                    now.0,
                    now.0,
                    replace,
                    new_position,
                ])
            })
            .map_err(map_err)?;
            get(c, &sealer, &operator, &seller)
        })
        .await
    }

    async fn get_change_feed(&self, scope: &Scope) -> Result<ChangeFeed> {
        let seller = seller_of(scope)?;
        self.read_now(|c| get(c, &self.sealer, &scope.operator_id, seller))
    }

    async fn delete_change_feed(&self, scope: &Scope) -> Result<()> {
        let seller = seller_of(scope)?.to_string();
        let operator = scope.operator_id.clone();
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "DELETE FROM change_feeds WHERE seller_id = ?1 AND operator_id = ?2",
                )
                .and_then(|mut s| s.execute(params![seller, operator]))
                .map_err(map_err)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }

    async fn claim_change_feed(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        holder: &str,
    ) -> Result<Option<ChangeFeed>> {
        // Most ticks find nothing due: a read says so without queueing a write job
        // (the writer's queue is bounded, and these would come from every poller every
        // tick). On a reader thread, not a reused snapshot, so what another process
        // wrote a moment ago is seen.
        let any_due = self
            .read(move |c| {
                c.prepare_cached(
                    "SELECT 1 FROM change_feeds
                 WHERE enabled = 1 AND next_poll_at <= ?1
                   AND (lease_until IS NULL OR lease_until < ?1) LIMIT 1",
                )
                .and_then(|mut s| s.exists(params![now.0]))
                .map_err(map_err)
            })
            .await?;
        if !any_due {
            return Ok(None);
        }
        let holder = holder.to_string();
        let sealer = self.sealer.clone();
        self.write(move |c| {
            let due: Option<(String, String)> = c
                .prepare_cached(
                    "SELECT seller_id, operator_id FROM change_feeds
                     WHERE enabled = 1 AND next_poll_at <= ?1
                       AND (lease_until IS NULL OR lease_until < ?1)
                     ORDER BY next_poll_at, seller_id LIMIT 1",
                )
                .and_then(|mut s| {
                    s.query_row(params![now.0], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                })
                .map_err(map_err)?;
            let Some((seller, operator)) = due else {
                return Ok(None);
            };
            c.prepare_cached(
                "UPDATE change_feeds SET lease_holder = ?2, lease_until = ?3, last_polled_at = ?4
                 WHERE seller_id = ?1",
            )
            .and_then(|mut s| s.execute(params![seller, holder, lease_until.0, now.0]))
            .map_err(map_err)?;
            get(c, &sealer, &operator, &seller).map(Some)
        })
        .await
    }

    async fn advance_change_feed(
        &self,
        seller_id: &str,
        holder: &str,
        progress: &FeedProgress,
    ) -> Result<()> {
        let (seller, holder, p) = (seller_id.to_string(), holder.to_string(), progress.clone());
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "UPDATE change_feeds SET position = ?3, applied = applied + ?4,
                       rejected = rejected + ?5, last_rejection = COALESCE(?6, last_rejection),
                       lease_until = ?7
                     WHERE seller_id = ?1 AND lease_holder = ?2",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        seller,
                        holder,
                        p.position,
                        stored_count(p.applied),
                        stored_count(p.rejected),
                        p.last_rejection,
                        p.lease_until.0
                    ])
                })
                .map_err(map_err)?;
            held(n as u64)
        })
        .await
    }

    async fn end_change_feed_poll(
        &self,
        seller_id: &str,
        holder: &str,
        end: &FeedPollEnd,
    ) -> Result<()> {
        let (seller, holder, end) = (seller_id.to_string(), holder.to_string(), end.clone());
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "UPDATE change_feeds SET lease_holder = NULL, lease_until = NULL,
                       next_poll_at = ?3, failures = ?4,
                       last_success_at = CASE WHEN ?5 IS NULL THEN ?6 ELSE last_success_at END,
                       last_error = COALESCE(?5, last_error),
                       last_error_at = CASE WHEN ?5 IS NULL THEN last_error_at ELSE ?6 END
                     WHERE seller_id = ?1 AND lease_holder = ?2",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        seller,
                        holder,
                        end.next_poll_at.0,
                        end.failures,
                        end.error,
                        end.at.0
                    ])
                })
                .map_err(map_err)?;
            held(n as u64)
        })
        .await
    }
}
