//! Sellers' change feeds on the native API: the operator sets, per seller, the URL of
//! the seller's own system that lists what changed there (00K's notifications
//! "ATIVA": the list is read in 00K's notification shape, see the `zerok` dialect),
//! the headers sent with it, how often it is polled and whether it is; and reads
//! where polling stands (the last position applied, the last error).
//!
//! `PUT` sets the fields it is given and keeps the others (as the reconciliation
//! terms do), so a feed is disabled without sending its credentials again; a new
//! feed needs `url`. Header values are credentials of the seller's system: they are
//! stored to be sent, and never shown back (a read lists the header names).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use entreposto_app::notifications::feeds::FeedConfig;
use entreposto_domain::Timestamp;
use entreposto_http::body::{JsonBody, Text};
use entreposto_http::error::not_found_with;
use entreposto_http::{ApiError, AppState};
use entreposto_store::{ChangeFeed, FeedSettings, StoreError};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::catalog::seller_scope;
use super::{Native, OperatorAuth, Result};

/// A new feed's interval when none is given.
pub const DEFAULT_INTERVAL_SECONDS: u32 = 60;

/// `PUT .../change-feed`: the fields given replace the stored ones.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FeedIn {
    /// The change list's URL (`http` or `https`); required for a new feed.
    pub url: Option<String>,
    /// Headers sent with every request to the URL (its credentials), replacing the
    /// stored ones; none for a new feed when left out.
    pub headers: Option<BTreeMap<String, String>>,
    /// Seconds from the end of one poll to the next, 1 to 86400 (a new feed: 60).
    pub interval_seconds: Option<u32>,
    /// A disabled feed keeps its position and is not polled (a new feed: true).
    pub enabled: Option<bool>,
    /// Where to resume: the position of the last change taken as applied (the next
    /// poll asks `since` it); `null` restarts from the beginning; left out, kept.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub position: Option<Option<Text>>,
}

/// A field that may be sent as `null`: present (`Some`, maybe `Some(None)`) or not.
fn present<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<Option<Text>>, D::Error> {
    Option::<Text>::deserialize(d).map(Some)
}

/// A seller's feed and where polling it stands.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeedOut {
    pub seller: String,
    pub url: String,
    /// The names of the headers sent (their values are never shown).
    pub headers: Vec<String>,
    pub interval_seconds: u32,
    pub enabled: bool,
    /// The position of the last change applied (the next poll asks `since` it);
    /// null before the first.
    pub position: Option<String>,
    /// When the feed is polled next (or retried, after a failure).
    #[schema(format = DateTime)]
    pub next_poll_at: String,
    #[schema(format = DateTime)]
    pub last_polled_at: Option<String>,
    #[schema(format = DateTime)]
    pub last_success_at: Option<String>,
    /// What made the last failed poll fail (kept after later successes; compare
    /// `lastErrorAt` with `lastSuccessAt`).
    pub last_error: Option<String>,
    #[schema(format = DateTime)]
    pub last_error_at: Option<String>,
    /// Polls failed in a row; each waits twice as long as the one before, from the
    /// interval up to an hour.
    pub failures: u32,
    /// Changes applied, and refused (a product or order the seller does not have,
    /// a value a rule refuses), since the feed was created.
    pub applied: u64,
    pub rejected: u64,
    /// The last refused change's position and why.
    pub last_rejection: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// The feed as the native API shows it (also printed by `entreposto seller feed`).
pub fn feed_out(f: ChangeFeed) -> FeedOut {
    FeedOut {
        seller: f.seller_id,
        url: f.settings.url,
        headers: f.settings.headers.into_iter().map(|(n, _)| n).collect(),
        interval_seconds: f.settings.interval_seconds,
        enabled: f.settings.enabled,
        position: f.position,
        next_poll_at: f.next_poll_at.to_rfc3339_utc(),
        last_polled_at: f.last_polled_at.map(Timestamp::to_rfc3339_utc),
        last_success_at: f.last_success_at.map(Timestamp::to_rfc3339_utc),
        last_error: f.last_error,
        last_error_at: f.last_error_at.map(Timestamp::to_rfc3339_utc),
        failures: f.failures,
        applied: f.applied,
        rejected: f.rejected,
        last_rejection: f.last_rejection,
        created_at: f.created_at.to_rfc3339_utc(),
        updated_at: f.updated_at.to_rfc3339_utc(),
    }
}

impl FeedIn {
    /// The settings this sets over `stored` (the seller's feed, if it has one); the
    /// command line's `seller feed` sets them the same way.
    pub fn config(self, stored: Option<FeedSettings>) -> std::result::Result<FeedConfig, ApiError> {
        let url = match (self.url, &stored) {
            (Some(u), _) => u.trim().to_string(),
            (None, Some(s)) => s.url.clone(),
            (None, None) => return Err(ApiError::invalid("url", "is required for a new feed")),
        };
        let stored = stored.unwrap_or(FeedSettings {
            url: String::new(),
            headers: Vec::new(),
            interval_seconds: DEFAULT_INTERVAL_SECONDS,
            enabled: true,
        });
        Ok(FeedConfig {
            settings: FeedSettings {
                url,
                headers: match self.headers {
                    Some(h) => h.into_iter().collect(),
                    None => stored.headers,
                },
                interval_seconds: self.interval_seconds.unwrap_or(stored.interval_seconds),
                enabled: self.enabled.unwrap_or(stored.enabled),
            },
            position: self.position.map(|p| p.map(|t| t.0)),
        })
    }
}

fn no_feed(seller: &str) -> impl FnOnce(StoreError) -> ApiError + '_ {
    not_found_with(move || format!("seller '{seller}' has no change feed"))
}

/// One seller's change feed.
#[utoipa::path(get, path = "/sellers/{seller_id}/change-feed",
    params(("seller_id" = String, Path, description = "The seller's id")),
    responses((status = 200, description = "The feed's settings (header names only) and where polling it stands", body = FeedOut),
              (status = 404, description = "No such seller for this operator, or the seller has no feed")))]
pub async fn get_feed(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(seller_id): Path<String>,
) -> Result<Json<FeedOut>> {
    let scope = seller_scope(&state, &p, &seller_id).await?;
    let feed = state
        .store
        .get_change_feed(&scope)
        .await
        .map_err(no_feed(&seller_id))?;
    Ok(Json(feed_out(feed)))
}

/// Sets one seller's change feed.
#[utoipa::path(put, path = "/sellers/{seller_id}/change-feed", request_body = FeedIn,
    params(("seller_id" = String, Path, description = "The seller's id")),
    responses((status = 200, description = "The feed as stored: due at once (a poll another node has under way stops at its next page), its failures cleared", body = FeedOut),
              (status = 404, description = "No such seller for this operator"),
              (status = 422, description = "A field is invalid, naming it: `url` (required for a new feed; http or https, with a host), `headers` (names are HTTP tokens, not Host, Content-Length, Transfer-Encoding, Connection, Upgrade or TE; values on one line; at most 32), `intervalSeconds` (1 to 86400), `position` (1 to 1024 characters, or null)")))]
pub async fn put_feed(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(seller_id): Path<String>,
    JsonBody(body, ..): JsonBody<FeedIn, Native>,
) -> Result<Json<FeedOut>> {
    let scope = seller_scope(&state, &p, &seller_id).await?;
    let stored = match state.store.get_change_feed(&scope).await {
        Ok(f) => Some(f.settings),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(ApiError::from(e).into()),
    };
    let config = body.config(stored)?;
    let feed = state.app.configure_feed(&scope, config).await?;
    Ok(Json(feed_out(feed)))
}

/// Removes one seller's change feed (its position goes with it).
#[utoipa::path(delete, path = "/sellers/{seller_id}/change-feed",
    params(("seller_id" = String, Path, description = "The seller's id")),
    responses((status = 204, description = "Removed"),
              (status = 404, description = "No such seller for this operator, or the seller has no feed")))]
pub async fn delete_feed(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(seller_id): Path<String>,
) -> Result<StatusCode> {
    let scope = seller_scope(&state, &p, &seller_id).await?;
    state
        .app
        .remove_feed(&scope)
        .await
        .map_err(not_found_with(|| {
            format!("seller '{seller_id}' has no change feed")
        }))?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> FeedIn {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_put_keeps_what_it_does_not_send() {
        let stored = FeedSettings {
            url: "https://erp.example/c".into(),
            headers: vec![("Authorization".into(), "secret".into())],
            interval_seconds: 30,
            enabled: true,
        };
        let c = body(r#"{"enabled": false}"#)
            .config(Some(stored.clone()))
            .unwrap();
        assert_eq!(c.settings.url, stored.url);
        assert_eq!(c.settings.headers, stored.headers);
        assert_eq!(
            (c.settings.interval_seconds, c.settings.enabled),
            (30, false)
        );
        assert_eq!(c.position, None);
        let c = body(r#"{"position": null}"#)
            .config(Some(stored.clone()))
            .unwrap();
        assert_eq!(c.position, Some(None));
        let c = body(r#"{"position": 1003, "headers": {}}"#)
            .config(Some(stored))
            .unwrap();
        assert_eq!(c.position, Some(Some("1003".into())));
        assert!(c.settings.headers.is_empty());
        let e = body(r#"{"enabled": true}"#).config(None).unwrap_err();
        assert_eq!(e.field(), Some("url"));
        let c = body(r#"{"url": " https://erp.example/c "}"#)
            .config(None)
            .unwrap();
        assert_eq!(
            (
                c.settings.url.as_str(),
                c.settings.interval_seconds,
                c.settings.enabled
            ),
            ("https://erp.example/c", 60, true)
        );
    }
}
