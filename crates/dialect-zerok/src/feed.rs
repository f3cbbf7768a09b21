//! 00K's notifications, "ATIVA": the hub fetches a store's change list, a URL of the
//! store's own system, and applies what it lists (the poller is
//! [`entreposto_app::notifications::feeds`]; this is its [`ChangeSource`]).
//!
//! The document names the way and gives no shape, so the list is served in the shape
//! of 00K's own listings (`{"total", "items", "next"}`, `next` the following page's
//! URL or null), each item a notification as `POST /notifications` takes it
//! ([`crate::notifications`]) with its `position` in the store's list, a string or a
//! number the hub keeps and sends back, never compares:
//!
//! ```text
//! GET <url>[?|&]since=<position of the last change applied>   (no `since` the first time)
//! {"items": [{"position": "1001", "type": "stock", "sku": "99jjs8", "stock": [...]}, ...],
//!  "next": "https://erp.example/changes?since=1001&page=2"}
//! ```
//!
//! `since` lists the changes after that position, oldest first. Within one poll the
//! hub follows `next` (absolute, or relative to the list's URL) until it is null or a
//! page is empty; after a restart it asks with `since` again. An item without a
//! `position`, an answer that is no such list, a status other than 2xx (redirects are
//! not followed) or no answer within the timeout fails the poll: nothing after the
//! last page applied is taken as done. An item whose notification does not read is
//! a refused change, recorded, and the list goes on.
//!
//! Requests carry the feed's headers and `Accept: application/json`. Unless
//! `allow_private_addresses` is set, a host that is or resolves to a loopback,
//! private or link-local address is refused by the hub's outbound guard
//! ([`entreposto_http::outbound`], as webhook deliveries are); no proxy is used, so
//! the address checked is the one connected to.

use std::time::Duration;

use async_trait::async_trait;
use entreposto_app::notifications::feeds::{ChangeSource, FeedItem, FeedPage};
use entreposto_http::outbound::{check_literal, guarded_client};
use entreposto_store::ChangeFeed;
use reqwest::Url;
use serde::Deserialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::notifications::{read, BODY_BYTES, MAX_NOTIFICATIONS};
use crate::wire::Text;

/// The query parameter that asks for the changes after a position.
pub const SINCE: &str = "since";

/// How the hub reaches the stores' change lists.
#[derive(Debug, Clone)]
pub struct FeedOptions {
    /// Whether lists on loopback, private and link-local addresses may be read.
    pub allow_private_addresses: bool,
    /// How long one page may take, connection included.
    pub timeout: Duration,
}

impl Default for FeedOptions {
    fn default() -> Self {
        FeedOptions {
            allow_private_addresses: false,
            timeout: Duration::from_secs(15),
        }
    }
}

/// The configuration key that lets change lists be read from private addresses.
const SETTING: &str = "[notifications] allow_private_addresses";

/// Reads stores' change lists over HTTP(S).
pub struct FeedClient {
    client: reqwest::Client,
    allow_private: bool,
}

impl FeedClient {
    pub fn new(options: &FeedOptions) -> Result<FeedClient, String> {
        let client = guarded_client(options.allow_private_addresses, SETTING)
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .user_agent(concat!("entreposto/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(FeedClient {
            client,
            allow_private: options.allow_private_addresses,
        })
    }

    /// The URL of the first page after `position`.
    fn first_page(feed: &ChangeFeed, position: Option<&str>) -> Result<Url, String> {
        let mut url = Url::parse(&feed.settings.url)
            .map_err(|e| format!("the feed URL '{}': {e}", feed.settings.url))?;
        // The list's own parameters are kept; a `since` in them gives way to the hub's.
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != SINCE)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.set_query(None);
        if !kept.is_empty() || position.is_some() {
            let mut q = url.query_pairs_mut();
            for (k, v) in &kept {
                q.append_pair(k, v);
            }
            if let Some(p) = position {
                q.append_pair(SINCE, p);
            }
        }
        Ok(url)
    }

    /// Refuses an address literal the configuration does not allow (names are
    /// checked as they resolve, by the client's guard).
    fn check_host(&self, url: &Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("{url}: only http and https lists are read"));
        }
        if url.host_str().is_none() {
            return Err(format!("{url} names no host"));
        }
        check_literal(url, self.allow_private, SETTING).map_err(|e| format!("{url}: {e}"))
    }

    async fn get(&self, feed: &ChangeFeed, url: &Url) -> Result<Vec<u8>, String> {
        self.check_host(url)?;
        let mut req = self
            .client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        for (name, value) in &feed.settings.headers {
            req = req.header(name.as_str(), value.as_str());
        }
        let mut res = req.send().await.map_err(|e| describe(url, &e))?;
        let status = res.status();
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(|e| describe(url, &e))? {
            if body.len() + chunk.len() > BODY_BYTES {
                return Err(format!("GET {url}: the answer is over {BODY_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            let excerpt: String = String::from_utf8_lossy(&body).chars().take(200).collect();
            return Err(format!("GET {url}: {status}: {excerpt}"));
        }
        Ok(body)
    }
}

/// A failed request, its causes included (reqwest's own message says little).
fn describe(url: &Url, e: &reqwest::Error) -> String {
    let mut out = format!("GET {url}: ");
    out.push_str(if e.is_timeout() {
        "no answer in time"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    });
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// A page of a store's change list, as the hub reads it (`GET <url>?since=<position>`
/// on the store's own system): documented in the 00K document's components, since
/// the store serves it and the hub calls it.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ChangeListPage {
    /// Changes listed in all (ignored).
    total: Option<u64>,
    /// The changes after `since`, oldest first: at most 1,000.
    items: Vec<ChangeListItem>,
    /// The next page's URL (absolute, or relative to the list's), null on the last.
    next: Option<String>,
}

/// One change listed: a notification as `POST /notifications` takes it, with its
/// position.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ChangeListItem {
    /// The change's place in the store's list, a string or a number: the hub stores
    /// the last one it applied and asks `since` it.
    position: Text,
    #[serde(flatten)]
    notification: crate::notifications::NotificationIn,
}

/// A change list's page as the store serves it (`total` and anything else ignored).
#[derive(Deserialize)]
struct PageIn {
    items: Option<Vec<Box<RawValue>>>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct PositionIn {
    position: Option<Text>,
}

/// A page's body as the changes it lists.
pub fn page_of(body: &[u8]) -> Result<FeedPage, String> {
    let page: PageIn = serde_json::from_slice(body).map_err(|e| {
        format!("the answer is not a change list ({{\"items\": [...], \"next\"}}): {e}")
    })?;
    let raws = page
        .items
        .ok_or("the answer has no `items` (a change list is {\"items\": [...], \"next\"})")?;
    if raws.len() > MAX_NOTIFICATIONS {
        return Err(format!(
            "the page lists {} changes; at most {MAX_NOTIFICATIONS}",
            raws.len()
        ));
    }
    let mut items = Vec::with_capacity(raws.len());
    for (n, raw) in raws.iter().enumerate() {
        let position = serde_json::from_str::<PositionIn>(raw.get())
            .ok()
            .and_then(|p| p.position)
            .map(|p| p.0)
            .filter(|p| {
                !p.is_empty() && p.len() <= entreposto_app::notifications::feeds::MAX_POSITION
            })
            .ok_or_else(|| {
                format!(
                    "items[{n}].position is required (a string or a number of at most {} \
                     characters): the hub resumes after it",
                    entreposto_app::notifications::feeds::MAX_POSITION
                )
            })?;
        let change = read(raw).map_err(|e| {
            if e.field.is_empty() {
                e.message
            } else {
                e.to_string()
            }
        });
        items.push(FeedItem { position, change });
    }
    Ok(FeedPage {
        items,
        next: page.next.filter(|n| !n.trim().is_empty()),
    })
}

#[async_trait]
impl ChangeSource for FeedClient {
    async fn fetch(
        &self,
        feed: &ChangeFeed,
        position: Option<&str>,
        next: Option<&str>,
    ) -> Result<FeedPage, String> {
        let url = match next {
            Some(link) => Url::parse(&feed.settings.url)
                .and_then(|base| base.join(link))
                .map_err(|e| format!("the page's next link '{link}': {e}"))?,
            None => FeedClient::first_page(feed, position)?,
        };
        let body = self.get(feed, &url).await?;
        page_of(&body).map_err(|e| format!("GET {url}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entreposto_domain::Timestamp;
    use entreposto_store::FeedSettings;

    fn feed(url: &str) -> ChangeFeed {
        ChangeFeed {
            operator_id: "op".into(),
            seller_id: "s".into(),
            settings: FeedSettings {
                url: url.into(),
                headers: vec![],
                interval_seconds: 60,
                enabled: true,
            },
            position: None,
            next_poll_at: Timestamp(0),
            last_polled_at: None,
            last_success_at: None,
            last_error: None,
            last_error_at: None,
            failures: 0,
            applied: 0,
            rejected: 0,
            last_rejection: None,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    #[test]
    fn the_first_page_asks_since_the_position() {
        let f = feed("https://erp.example/00k/changes?store=7&since=old");
        assert_eq!(
            FeedClient::first_page(&f, None).unwrap().as_str(),
            "https://erp.example/00k/changes?store=7"
        );
        assert_eq!(
            FeedClient::first_page(&f, Some("10 01")).unwrap().as_str(),
            "https://erp.example/00k/changes?store=7&since=10+01"
        );
        assert_eq!(
            FeedClient::first_page(&feed("https://erp.example/c"), Some("5"))
                .unwrap()
                .as_str(),
            "https://erp.example/c?since=5"
        );
    }

    #[test]
    fn private_literals_are_refused_unless_allowed() {
        let strict = FeedClient::new(&FeedOptions::default()).unwrap();
        for url in [
            "http://127.0.0.1:9/c",
            "http://[::1]/c",
            "http://169.254.169.254/latest",
        ] {
            let e = strict.check_host(&Url::parse(url).unwrap()).unwrap_err();
            assert!(e.contains("allow_private_addresses"), "{url}: {e}");
        }
        assert!(strict
            .check_host(&Url::parse("https://8.8.8.8/c").unwrap())
            .is_ok());
        let open = FeedClient::new(&FeedOptions {
            allow_private_addresses: true,
            ..FeedOptions::default()
        })
        .unwrap();
        assert!(open
            .check_host(&Url::parse("http://127.0.0.1:9/c").unwrap())
            .is_ok());
    }

    #[test]
    fn pages_read_positions_and_changes() {
        let page = page_of(
            br#"{"total": 3, "items": [
                {"position": 1, "type": "stock", "sku": "A", "stock": [{"info": {"quantity": 2}}]},
                {"position": "2", "type": "nope"},
                {"position": "3", "type": "price", "sku": "A", "price": [{"value": 9.9}]}],
              "next": "?since=3&page=2"}"#,
        )
        .unwrap();
        let positions: Vec<&str> = page.items.iter().map(|i| i.position.as_str()).collect();
        assert_eq!(positions, ["1", "2", "3"]);
        assert!(page.items[0].change.is_ok());
        assert!(page.items[1]
            .change
            .as_ref()
            .unwrap_err()
            .starts_with("type: "));
        assert_eq!(page.next.as_deref(), Some("?since=3&page=2"));
        let last = page_of(br#"{"items": [], "next": null}"#).unwrap();
        assert!(last.items.is_empty() && last.next.is_none());
        for bad in [
            &br#"[]"#[..],
            br#"{"next": null}"#,
            br#"{"items": [{"type": "stock"}]}"#,
            b"<html>",
        ] {
            assert!(page_of(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
