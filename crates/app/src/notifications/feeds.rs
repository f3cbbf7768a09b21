//! Change feeds: per seller, the hub polls a URL of the seller's own system that lists
//! what changed there, and applies each change listed ([`App::apply_changes`]),
//! resuming after the last position applied.
//!
//! A poll is claimed once across nodes: the node takes the feed with a lease under a
//! holder id of its own ([`App::work_one_poll`]), reads the list a page at a time
//! through a [`ChangeSource`] (the dialect that knows the list's shape and fetches
//! it), applies each page, and only then records the page's last position and renews
//! its lease. A node that dies mid-poll leaves the feed claimed until its lease runs
//! out; then any node's poller takes it and resumes at the stored position,
//! applying again at most the page the dead node had not recorded, which is harmless
//! (see [`crate::notifications`]). A change the use cases refuse (an unknown SKU, a
//! value a rule refuses, a change the source could not read) is counted, recorded as
//! the feed's last rejection and passed over, so one bad change does not hold the
//! feed; a page that cannot be fetched or read, or a database error, fails the poll:
//! nothing after the last recorded position is taken as done, the error is recorded,
//! and the feed is retried later, waiting longer after each failure in a row
//! ([`retry_delay`]).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use entreposto_domain::{FieldError, Scope, Timestamp};
use entreposto_store::{new_id, ChangeFeed, FeedPollEnd, FeedProgress, FeedSettings, StoreError};
use tokio::sync::watch;

use super::Change;
use crate::{App, AppError, Result};

/// How long a claimed feed stays its node's without a renewal, by default
/// ([`App::with_feed_lease`] sets another); renewed after every page.
pub const LEASE_MICROS: i64 = 60_000_000;
/// Pages one poll reads at most; a feed with more is due again at once, so a long
/// backlog does not keep one node's poller from the other feeds.
pub const MAX_PAGES: usize = 50;
/// The longest wait after failures in a row (unless the interval is longer).
pub const MAX_RETRY_SECONDS: u64 = 3_600;
/// Bounds of the settings.
pub const MAX_INTERVAL_SECONDS: u32 = 86_400;
pub const MAX_URL: usize = 2_048;
pub const MAX_HEADERS: usize = 32;
pub const MAX_HEADER_VALUE: usize = 4_096;
pub const MAX_POSITION: usize = 1_024;

/// One page of a seller's change list, as the source read it.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedPage {
    pub items: Vec<FeedItem>,
    /// Where the next page is (a link the page gave); `None` on the last page.
    pub next: Option<String>,
}

/// One change listed, at its position in the seller's list.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedItem {
    pub position: String,
    /// The change, or why the source could not read it as one (it is refused).
    pub change: std::result::Result<Change, String>,
}

/// Where a feed's pages come from: the dialect that knows the list's shape and
/// fetches it.
#[async_trait]
pub trait ChangeSource: Send + Sync {
    /// The page at `next` (a link the previous page gave) when given, else the first
    /// page of the changes after `position` (from the beginning when `None`). An
    /// `Err` says why there is no page (the request failed, the answer is no list).
    async fn fetch(
        &self,
        feed: &ChangeFeed,
        position: Option<&str>,
        next: Option<&str>,
    ) -> std::result::Result<FeedPage, String>;
}

/// A feed's settings as the operator gives them; checked by [`App::configure_feed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedConfig {
    pub settings: FeedSettings,
    /// `None` keeps the stored position; `Some(None)` restarts from the beginning.
    pub position: Option<Option<String>>,
}

/// How long a feed waits after `failures` polls in a row failed: its interval after
/// the first, doubling with each further one, at most an hour (or the interval, if
/// that is longer).
pub fn retry_delay(interval_seconds: u32, failures: u32) -> Duration {
    let interval = u64::from(interval_seconds.max(1));
    let doubled = interval.saturating_mul(1u64 << failures.saturating_sub(1).min(20));
    Duration::from_secs(doubled.min(MAX_RETRY_SECONDS.max(interval)))
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

fn after(t: Timestamp, d: Duration) -> Timestamp {
    Timestamp(t.0.saturating_add(micros(d)))
}

/// The characters of an HTTP header name (RFC 9110 `tchar`).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Header names the client sets itself: a feed's own would break its requests.
const RESERVED_HEADERS: [&str; 6] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
];

fn check(config: &FeedConfig) -> std::result::Result<(), FieldError> {
    let s = &config.settings;
    let url = s.url.as_str();
    let rest = url
        .get(..8)
        .filter(|p| p.eq_ignore_ascii_case("https://"))
        .map(|_| &url[8..])
        .or_else(|| {
            url.get(..7)
                .filter(|p| p.eq_ignore_ascii_case("http://"))
                .map(|_| &url[7..])
        })
        .ok_or_else(|| FieldError::new("url", "must be an http:// or https:// URL"))?;
    if rest.split(['/', '?', '#']).next().is_none_or(str::is_empty) {
        return Err(FieldError::new("url", "names no host"));
    }
    if url.len() > MAX_URL || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FieldError::new(
            "url",
            format!("must be at most {MAX_URL} characters, without spaces"),
        ));
    }
    if s.headers.len() > MAX_HEADERS {
        return Err(FieldError::new(
            "headers",
            format!("at most {MAX_HEADERS} headers"),
        ));
    }
    for (n, (name, value)) in s.headers.iter().enumerate() {
        if !is_token(name) {
            return Err(FieldError::new(
                format!("headers[{n}].name"),
                format!("'{name}' is not an HTTP header name"),
            ));
        }
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(FieldError::new(
                format!("headers[{n}].name"),
                format!("'{name}' is set by the hub itself"),
            ));
        }
        if value.len() > MAX_HEADER_VALUE || value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(FieldError::new(
                format!("headers[{n}].value"),
                format!("must be at most {MAX_HEADER_VALUE} characters, on one line"),
            ));
        }
    }
    if s.interval_seconds == 0 || s.interval_seconds > MAX_INTERVAL_SECONDS {
        return Err(FieldError::new(
            "intervalSeconds",
            format!("must be 1 to {MAX_INTERVAL_SECONDS}"),
        ));
    }
    if let Some(Some(p)) = &config.position {
        if p.is_empty() || p.len() > MAX_POSITION {
            return Err(FieldError::new(
                "position",
                format!("must be 1 to {MAX_POSITION} characters (null: from the beginning)"),
            ));
        }
    }
    Ok(())
}

/// How a poll that did not fail ended.
enum Ran {
    /// Read to the list's end, or to [`MAX_PAGES`] (`more`: due again at once).
    Done { more: bool },
    /// Another node took the feed over (the lease ran out) or the settings were
    /// saved: the poll stops, and the feed's state is theirs to write.
    Lost,
}

impl App {
    /// With another feed lease (see [`feeds`](self)): shorter leases hand a dead
    /// node's feed to another sooner, at the price of keeping polls short.
    pub fn with_feed_lease(mut self, lease: Duration) -> App {
        self.feed_lease_micros = micros(lease).max(1);
        self
    }

    /// Lets feeds name loopback, private and link-local addresses (the poller's
    /// client must allow them too: it checks what names resolve to).
    pub fn with_private_feed_addresses(mut self, allow: bool) -> App {
        self.feeds_allow_private = allow;
        self
    }

    fn feed_lease_until(&self) -> Timestamp {
        Timestamp(self.now().0.saturating_add(self.feed_lease_micros))
    }

    /// Sets the scope's seller's feed (checked: an `http`/`https` URL, header names
    /// and one-line values, an interval of 1 s to a day); it is due at once, and a
    /// poll another node has under way stops at its next page.
    pub async fn configure_feed(&self, scope: &Scope, config: FeedConfig) -> Result<ChangeFeed> {
        check(&config)?;
        // As webhook endpoints are: a literal address the poller would refuse is
        // refused now, not first found in the feed's last error.
        entreposto_domain::webhook::outbound_url(
            &config.settings.url,
            self.feeds_allow_private,
            "[notifications] allow_private_addresses",
        )?;
        Ok(self
            .store
            .put_change_feed(scope, &config.settings, config.position, self.now())
            .await?)
    }

    /// Removes the scope's seller's feed.
    pub async fn remove_feed(&self, scope: &Scope) -> Result<()> {
        Ok(self.store.delete_change_feed(scope).await?)
    }

    /// Claims one due feed and polls it, if there is one; whether there was.
    pub async fn work_one_poll(&self, source: &dyn ChangeSource) -> Result<bool> {
        let holder = new_id();
        let Some(feed) = self
            .store
            .claim_change_feed(self.now(), self.feed_lease_until(), &holder)
            .await?
        else {
            return Ok(false);
        };
        let ran = self.poll_feed(&feed, &holder, source).await;
        let now = self.now();
        let interval = Duration::from_secs(u64::from(feed.settings.interval_seconds));
        let end = match ran {
            Ok(Ran::Lost) => {
                tracing::info!(seller = %feed.seller_id, "feed taken over during the poll");
                return Ok(true);
            }
            Ok(Ran::Done { more }) => FeedPollEnd {
                at: now,
                next_poll_at: if more { now } else { after(now, interval) },
                error: None,
                failures: 0,
            },
            Err(reason) => {
                let failures = feed.failures.saturating_add(1);
                let wait = retry_delay(feed.settings.interval_seconds, failures);
                tracing::warn!(
                    seller = %feed.seller_id, failures, retry_in_s = wait.as_secs(), error = %reason,
                    "change feed poll failed"
                );
                FeedPollEnd {
                    at: now,
                    next_poll_at: after(now, wait),
                    error: Some(reason),
                    failures,
                }
            }
        };
        match self
            .store
            .end_change_feed_poll(&feed.seller_id, &holder, &end)
            .await
        {
            Ok(()) | Err(StoreError::Stale) => Ok(true),
            Err(e) => Err(e.into()),
        }
    }

    /// Reads and applies the feed's pages from its position on; `Err` with what
    /// failed.
    async fn poll_feed(
        &self,
        feed: &ChangeFeed,
        holder: &str,
        source: &dyn ChangeSource,
    ) -> std::result::Result<Ran, String> {
        let scope = Scope::seller(&feed.operator_id, &feed.seller_id);
        let mut position = feed.position.clone();
        let mut next: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = source
                .fetch(feed, position.as_deref(), next.as_deref())
                .await?;
            let Some(last) = page.items.last().map(|i| i.position.clone()) else {
                return Ok(Ran::Done { more: false });
            };
            let mut rejections: Vec<(usize, String)> = Vec::new();
            let mut readable = Vec::with_capacity(page.items.len());
            // The page index and position of each readable change.
            let mut at = Vec::with_capacity(page.items.len());
            for (n, item) in page.items.into_iter().enumerate() {
                match item.change {
                    Ok(c) => {
                        readable.push(c);
                        at.push((n, item.position));
                    }
                    Err(why) => rejections.push((n, format!("{}: {why}", item.position))),
                }
            }
            let total = at.len() + rejections.len();
            let outcomes = self
                .apply_changes(&scope, readable)
                .await
                .map_err(|e| format!("applying the changes: {e}"))?;
            for o in outcomes {
                if let (Some(why), Some((n, position))) = (o.error, at.get(o.index)) {
                    rejections.push((*n, format!("{position}: {why}")));
                }
            }
            rejections.sort_by_key(|r| r.0);
            let progress = FeedProgress {
                position: last.clone(),
                applied: (total - rejections.len()) as u64,
                rejected: rejections.len() as u64,
                last_rejection: rejections.last().map(|(_, why)| why.clone()),
                lease_until: self.feed_lease_until(),
            };
            match self
                .store
                .advance_change_feed(&feed.seller_id, holder, &progress)
                .await
            {
                Ok(()) => {}
                Err(StoreError::Stale) => return Ok(Ran::Lost),
                Err(e) => return Err(format!("recording the position: {}", AppError::from(e))),
            }
            // A page that ends where the one before it did (a list that repeats
            // itself, a `next` that links back) would be read to the page cap and
            // again at once: the poll ends here and waits for the interval.
            if position.as_deref() == Some(last.as_str()) {
                return Ok(Ran::Done { more: false });
            }
            position = Some(last);
            match page.next {
                Some(n) => next = Some(n),
                None => return Ok(Ran::Done { more: false }),
            }
        }
        Ok(Ran::Done { more: true })
    }

    /// Polls feeds until `shutdown` turns true: one after another while any is due,
    /// then looks again every `tick`.
    pub async fn run_feed_poller(
        &self,
        source: Arc<dyn ChangeSource>,
        tick: Duration,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let worked = match self.work_one_poll(&*source).await {
                Ok(w) => w,
                Err(e) => {
                    tracing::warn!(error = %e, "feed poller could not claim a feed");
                    false
                }
            };
            if worked {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                changed = shutdown.changed() => if changed.is_err() { return },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> FeedConfig {
        FeedConfig {
            settings: FeedSettings {
                url: url.into(),
                headers: vec![("Authorization".into(), "k".into())],
                interval_seconds: 60,
                enabled: true,
            },
            position: None,
        }
    }

    #[test]
    fn retries_wait_longer_up_to_an_hour() {
        let waits: Vec<u64> = (1..=8).map(|f| retry_delay(60, f).as_secs()).collect();
        assert_eq!(waits, [60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(retry_delay(7200, 3).as_secs(), 7200);
        assert_eq!(retry_delay(1, 1).as_secs(), 1);
        assert_eq!(retry_delay(1, 400).as_secs(), 3600);
    }

    #[test]
    fn settings_are_checked_naming_the_field() {
        assert_eq!(check(&config("https://erp.example/changes?x=1")), Ok(()));
        assert_eq!(check(&config("HTTP://10.0.0.1:8080")), Ok(()));
        for (url, why) in [
            ("ftp://erp.example/", "url"),
            ("https:///changes", "url"),
            ("https://erp.example/a b", "url"),
            ("erp.example", "url"),
        ] {
            assert_eq!(check(&config(url)).unwrap_err().field, why, "{url}");
        }
        let mut c = config("https://erp.example/");
        c.settings.headers = vec![("Bad Name".into(), "v".into())];
        assert_eq!(check(&c).unwrap_err().field, "headers[0].name");
        c.settings.headers = vec![("Host".into(), "v".into())];
        assert_eq!(check(&c).unwrap_err().field, "headers[0].name");
        c.settings.headers = vec![("X-Ok".into(), "a\r\nb".into())];
        assert_eq!(check(&c).unwrap_err().field, "headers[0].value");
        let mut c = config("https://erp.example/");
        c.settings.interval_seconds = 0;
        assert_eq!(check(&c).unwrap_err().field, "intervalSeconds");
        let mut c = config("https://erp.example/");
        c.position = Some(Some(String::new()));
        assert_eq!(check(&c).unwrap_err().field, "position");
        c.position = Some(None);
        assert_eq!(check(&c), Ok(()));
    }
}
