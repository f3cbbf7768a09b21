//! Configuration: compiled-in defaults, then a TOML file, then `ENTREPOSTO_*`
//! environment variables, then command-line flags, each overriding the one before.
//!
//! The file is `--config PATH` or `ENTREPOSTO_CONFIG`, else `entreposto.toml` in the
//! working directory when it exists. Keys are the field names below
//! (`database_url = "postgres://..."`), environment variables the same in upper case
//! with the prefix (`ENTREPOSTO_DATABASE_URL`).
//!
//! A dialect can also be served at the root of a listener of its own, for clients
//! that build absolute paths on the host's root (SkyHub's official SDK calls `/sac`):
//!
//! ```toml
//! [dialects.skyhub]
//! listen = "127.0.0.1:8081"
//! public_url = "https://skyhub.example.com"   # optional
//! ```
//!
//! with the prefix (`ENTREPOSTO_DATABASE_URL`); a key of a section takes a double
//! underscore (`[sqlite] vfs_shim` is `ENTREPOSTO_SQLITE__VFS_SHIM`).
//!
//! The database URL may carry a password: its `Debug` and `Display` redact it (see
//! [`DatabaseUrl`]), so printing or logging the configuration never shows it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use entreposto_domain::RateLimit;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address `serve` listens on.
    pub listen: String,
    /// `postgres://...` for PostgreSQL; a file path (optionally `sqlite://path`) for SQLite.
    pub database_url: DatabaseUrl,
    /// SQLite durability: `normal` (survives process crashes) or `full` (also power loss).
    pub sqlite_synchronous: String,
    /// SQLite reader threads; the number of cores when absent.
    pub sqlite_readers: Option<usize>,
    /// Connections in the PostgreSQL pool.
    pub pg_max_connections: usize,
    /// Milliseconds a request waits for a pooled PostgreSQL connection when all are in
    /// use; then it is answered 503 with `Retry-After`.
    pub pg_pool_wait_ms: u64,
    /// `text` or `json` log lines on stderr.
    pub log_format: String,
    /// A tracing filter, e.g. `info` or `entreposto=debug,info`.
    pub log_level: String,
    /// The URL clients reach the server at, for links in responses (SkyHub's
    /// `next_page`); `http://` plus the listen address when absent. Set it behind a
    /// reverse proxy.
    pub public_url: Option<String>,
    /// Dialects also served at the root of a listener of their own, by name
    /// (`skyhub`, `omnik`, `zerok`, `koncili`, or `native`); each stays under its
    /// prefix on `listen` too.
    pub dialects: BTreeMap<String, OwnListener>,
    /// Mixed into the key SkyHub's page cursors are signed under, with the random key
    /// the server keeps in the database (see `entreposto_http::signed`). Optional:
    /// without it cursors are still signed and every node of one database accepts
    /// them; set it (the same on every node) so that read access to the database is
    /// not enough to forge one. Changing it voids the cursors handed out before.
    pub cursor_secret: Option<Secret>,
    /// `[sqlite]`: the embedded backend's queues and its unsafe VFS shim.
    pub sqlite: SqliteSettings,
    /// `[http]`: the edge's credential cache and JSON writer.
    pub http: HttpSettings,
    /// Connection-level limits: the `[edge]` section.
    pub edge: EdgeSettings,
    /// `[rate_limits]`: every credential's request rate.
    pub rate_limits: RateLimitConfig,
    /// Whether `serve` runs the import worker (default true). Imports are durable
    /// jobs any node's worker claims, so a node may leave them to the others (set it
    /// false on nodes that should only answer requests).
    pub import_worker: bool,
    /// How many import jobs this node's worker runs at once (default 2). A step
    /// decides in the runtime and then waits on the store, so a second job's
    /// decisions fill the first one's writes; jobs that write the same products
    /// settle it with the products' versions, as any two writers do.
    pub import_workers: usize,
    /// How long an import job a node claimed stays its own without a renewal, in
    /// seconds (default 60; renewed after every step). A node that dies holds its job
    /// this long before another node's worker resumes it.
    pub import_lease_seconds: u64,
    /// How Koncili answers an order's extract (`GET /externalapi/orderextract/{orderCode}/{channelName}`):
    /// `elements` (default, `{"elements": [...]}`, what the client in use reads) or
    /// `array` (the bare array Koncili's document shows).
    pub koncili_extract_shape: ExtractShape,
    /// `[webhooks]`: how deliveries are sent.
    pub webhooks: WebhookConfig,
    /// `[notifications]`: the change feed poller (00K's notifications "ATIVA").
    pub notifications: NotificationSettings,
    /// `[outbox]`: how every node's relays hand events to the sinks.
    pub outbox: OutboxSettings,
    /// `[nats]`: the NATS JetStream sink (off without a `url`).
    pub nats: entreposto_worker::nats::NatsSettings,
    /// `[secrets]`: the key the secrets the database keeps are sealed under.
    pub secrets: SecretsConfig,
}

/// `[secrets]`: the key webhook endpoints' signing secrets, change feeds' headers and
/// the responses kept for idempotency keys are sealed under at rest (AES-256-GCM, see
/// `entreposto_store::sealing`). Without `key` they are stored as they are. Every
/// command that opens the database first reseals what is not yet under `key` (values
/// stored before a key was set, or under one of `previous_keys`). Every node of one
/// database must open what the others seal: rotate in two rolling restarts (first
/// the new key in `previous_keys` everywhere, then swapped with the old one), as the
/// README says.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsConfig {
    /// The base64 of 32 random bytes (`entreposto secrets new-key` prints one).
    pub key: Option<Secret>,
    /// Keys rotated out: values sealed under them still open, and are resealed
    /// under `key`. Keep one here until every node has restarted with the new key.
    pub previous_keys: Vec<Secret>,
}

impl SecretsConfig {
    /// The sealer these settings describe; an error names a bad key.
    pub fn sealer(&self) -> anyhow::Result<entreposto_store::sealing::Sealer> {
        use entreposto_store::sealing::Sealer;
        let Some(key) = &self.key else {
            anyhow::ensure!(
                self.previous_keys.is_empty(),
                "[secrets] previous_keys needs [secrets] key, the key to reseal under"
            );
            return Ok(Sealer::plain());
        };
        let current =
            Sealer::parse_key(&key.0).map_err(|e| anyhow::anyhow!("[secrets] key: {e}"))?;
        let previous = self
            .previous_keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                Sealer::parse_key(&k.0)
                    .map_err(|e| anyhow::anyhow!("[secrets] previous_keys[{i}]: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Sealer::with_keys(&current, &previous).map_err(|e| anyhow::anyhow!("[secrets]: {e}"))
    }
}

/// `[webhooks]` settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// Let endpoints and deliveries reach loopback, private (RFC 1918, fc00::/7),
    /// link-local and other reserved addresses (default false: a hub reachable by
    /// operators must not be made to call its own network).
    pub allow_private_addresses: bool,
    /// Whether `serve` fans events out and sends deliveries on this node (default
    /// true). Every node may: deliveries are claimed once across nodes.
    pub worker: bool,
    /// How long a delivery a node claimed stays its own, in seconds (default 60,
    /// more than an attempt's 15 s): a node that dies mid-delivery leaves it to the
    /// others this long after claiming it.
    pub lease_seconds: u64,
    /// How often an idle node looks for due deliveries, in milliseconds (default
    /// 500; deliveries this node fans out wake it at once). The fan-out itself runs
    /// at the `[outbox]` relays' pace.
    pub poll_ms: u64,
    /// Most deliveries one node attempts at once (default 64).
    pub concurrency: usize,
    /// This node's name in leases and the delivery log (default host name and
    /// process id).
    pub node: Option<String>,
    /// Delivered, failed and skipped deliveries of events older than this many days
    /// are deleted with their log (default 30; 0 keeps them all).
    pub retention_days: u64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            allow_private_addresses: false,
            worker: true,
            lease_seconds: 60,
            poll_ms: 500,
            concurrency: 64,
            node: None,
            retention_days: 30,
        }
    }
}

/// `[outbox]` settings: the relays' pace (see `entreposto_worker`). Times in
/// milliseconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxSettings {
    /// Events one claim hands a sink.
    pub batch: u32,
    /// How long a node holds a sink without renewing it: a dead node's sink moves to
    /// another node this long after it stopped.
    pub lease_ms: u64,
    /// The longest wait between claims when idle (events this node commits wake its
    /// relays at once; other nodes' wait at most this).
    pub poll_ms: u64,
    /// Events older than this many days are deleted (0 keeps them all).
    pub retention_days: u64,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        OutboxSettings {
            batch: 500,
            lease_ms: 30_000,
            poll_ms: 1_000,
            retention_days: 30,
        }
    }
}

/// `[notifications]` settings: how this node polls the sellers' change feeds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationSettings {
    /// Whether `serve` polls feeds (default true). Feeds are claimed with a lease by
    /// any node's poller, so a node may leave them to the others.
    pub poller: bool,
    /// Feeds this node polls at once (default 4).
    pub pollers: usize,
    /// How often an idle poller looks for a due feed, in milliseconds (default 1000).
    pub tick_ms: u64,
    /// How long a feed a node claimed stays its own without a renewal, in seconds
    /// (default 60; renewed after every page). A node that dies mid-poll holds the
    /// feed this long before another node resumes it.
    pub lease_seconds: u64,
    /// How long one page of a change list may take, in milliseconds (default 15000).
    pub request_timeout_ms: u64,
    /// Whether change lists on loopback, private and link-local addresses may be
    /// read (default false: a feed URL cannot reach the hub's own network).
    pub allow_private_addresses: bool,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        NotificationSettings {
            poller: true,
            pollers: 4,
            tick_ms: 1_000,
            lease_seconds: 60,
            request_timeout_ms: 15_000,
            allow_private_addresses: false,
        }
    }
}

impl WebhookConfig {
    /// What the use cases need to know.
    pub fn settings(&self) -> entreposto_app::webhooks::WebhookSettings {
        entreposto_app::webhooks::WebhookSettings {
            allow_private_addresses: self.allow_private_addresses,
            lease: Duration::from_secs(self.lease_seconds.max(1)),
        }
    }

    /// How this node's dispatcher runs.
    pub fn dispatcher(&self) -> entreposto_worker::webhooks::DispatcherOptions {
        let d = entreposto_worker::webhooks::DispatcherOptions::default();
        entreposto_worker::webhooks::DispatcherOptions {
            node: self.node.clone().unwrap_or(d.node),
            poll: self.poll(),
            concurrency: self.concurrency.max(1),
            ..d
        }
    }

    pub fn poll(&self) -> Duration {
        Duration::from_millis(self.poll_ms.max(1))
    }
}

impl NotificationSettings {
    pub fn tick(&self) -> Duration {
        Duration::from_millis(self.tick_ms.max(1))
    }

    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_seconds.max(1))
    }

    /// The change lists' client these settings describe.
    pub fn feed_client(&self) -> anyhow::Result<entreposto_dialect_zerok::feed::FeedClient> {
        entreposto_dialect_zerok::feed::FeedClient::new(
            &entreposto_dialect_zerok::feed::FeedOptions {
                allow_private_addresses: self.allow_private_addresses,
                timeout: Duration::from_millis(self.request_timeout_ms.max(1)),
            },
        )
        .map_err(|e| anyhow::anyhow!("the change feed client: {e}"))
    }
}

impl OutboxSettings {
    pub fn relay(&self) -> entreposto_worker::RelaySettings {
        entreposto_worker::RelaySettings {
            batch: self.batch.max(1),
            lease: Duration::from_millis(self.lease_ms.max(1)),
            poll: Duration::from_millis(self.poll_ms.max(1)),
            ..entreposto_worker::RelaySettings::default()
        }
    }
}

/// See [`Config::koncili_extract_shape`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExtractShape {
    #[default]
    Elements,
    Array,
}

impl ExtractShape {
    pub fn as_str(self) -> &'static str {
        match self {
            ExtractShape::Elements => entreposto_dialect_koncili::SHAPE_ELEMENTS,
            ExtractShape::Array => entreposto_dialect_koncili::SHAPE_ARRAY,
        }
    }
}

/// How long clients may take and how many may be connected: what keeps slow, idle
/// and abusive clients from holding the server. Times in milliseconds, all above 0.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EdgeSettings {
    /// A request's head must be complete this long after the connection opens, or
    /// after its first byte on a kept-alive connection; else the connection is closed.
    pub header_timeout_ms: u64,
    /// A kept-alive connection with no request for this long is closed.
    pub idle_timeout_ms: u64,
    /// A request's body must have arrived this long after its head (else 408).
    pub body_timeout_ms: u64,
    /// A handler that has not answered this long after the head is answered 503 with
    /// `Retry-After`.
    pub request_timeout_ms: u64,
    /// Connections open at once, per listener. At the cap a new connection closes the
    /// connection that has waited longest without a request in progress (idle or still
    /// sending its head); when every connection has a request in progress, it waits.
    pub max_connections: usize,
}

impl Default for EdgeSettings {
    fn default() -> Self {
        EdgeSettings {
            header_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            body_timeout_ms: 30_000,
            request_timeout_ms: 30_000,
            max_connections: 4096,
        }
    }
}

/// `[rate_limits]`: how many requests each credential may send, as `N/s`, `N/min` or
/// `N/h` (a burst of N, then one every period over N). A request takes the first of
/// its credential's own limit (`credential create --rate-limit`), its seller's
/// (`sellers`), its operator's (`operators`), its dialect's (`dialects`) and
/// `default`. A dialect may instead name a preset of its vendor's published limits
/// (`koncili = "vendor"`), whose rules take the requests they name.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Every credential's limit unless a more specific one is set; `off` for none.
    pub default: String,
    /// Keep the buckets in the database, so that the limit holds across every node
    /// of it (one statement per limited request); default on for PostgreSQL, off for
    /// SQLite (one process).
    pub shared: Option<bool>,
    /// By dialect name: a rate, `off`, or the name of one of its presets.
    pub dialects: BTreeMap<String, String>,
    /// By operator id: the limit of each of its credentials.
    pub operators: BTreeMap<String, String>,
    /// By seller id: the limit of each of its credentials.
    pub sellers: BTreeMap<String, String>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            default: entreposto_http::rate_limit::DEFAULT_LIMIT.to_string(),
            shared: None,
            dialects: BTreeMap::new(),
            operators: BTreeMap::new(),
            sellers: BTreeMap::new(),
        }
    }
}

impl RateLimitConfig {
    /// The settings the edge applies, for a database of `backend` (`sqlite`,
    /// `postgres`); an unreadable rate, an unknown dialect or preset is an error
    /// naming its key.
    pub fn settings(
        &self,
        backend: &str,
    ) -> anyhow::Result<entreposto_http::rate_limit::RateLimitSettings> {
        use entreposto_http::rate_limit::DialectLimit;
        let rate = |text: &str, key: &str| {
            RateLimit::parse(text, key).map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message))
        };
        let default = match self.default.trim() {
            "off" => None,
            t => Some(rate(t, "rate_limits.default")?),
        };
        let mut dialects = Vec::new();
        for (name, value) in &self.dialects {
            let key = format!("rate_limits.dialects.{name}");
            let mount = crate::mounts::MOUNTS
                .iter()
                .find(|m| m.name() == name)
                .with_context(|| {
                    let known: Vec<_> = crate::mounts::MOUNTS.iter().map(|m| m.name()).collect();
                    format!("{key}: no such dialect (known: {})", known.join(", "))
                })?;
            let value = value.trim();
            let limit = if value == "off" {
                DialectLimit::Off
            } else if let Some(p) = mount.rate_presets.iter().find(|p| p.name == value) {
                DialectLimit::Preset(p)
            } else if value.contains('/') {
                DialectLimit::Rate(rate(value, &key)?)
            } else {
                let presets: Vec<_> = mount.rate_presets.iter().map(|p| p.name).collect();
                anyhow::bail!(
                    "{key}: '{value}' is neither a rate (N/s, N/min, N/h), off, nor a preset \
                     of {name} ({})",
                    if presets.is_empty() {
                        "it has none".to_string()
                    } else {
                        format!("it has: {}", presets.join(", "))
                    }
                );
            };
            dialects.push((mount.dialect, limit));
        }
        // Ids are ULIDs, upper case; the environment's keys arrive lower-cased.
        let by_id = |map: &BTreeMap<String, String>, section: &str| {
            map.iter()
                .map(|(id, v)| {
                    let limit = rate(v, &format!("rate_limits.{section}.{id}"))?;
                    Ok((id.to_ascii_uppercase(), limit))
                })
                .collect::<anyhow::Result<std::collections::HashMap<_, _>>>()
        };
        Ok(entreposto_http::rate_limit::RateLimitSettings {
            default,
            dialects,
            operators: by_id(&self.operators, "operators")?,
            sellers: by_id(&self.sellers, "sellers")?,
            shared: self.shared.unwrap_or(backend == "postgres"),
        })
    }
}

/// `[sqlite]` settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SqliteSettings {
    /// Writes waiting for the writer thread; past it writes answer 503 with
    /// `Retry-After` until the writer catches up.
    pub writer_queue: usize,
    /// Reads waiting for a reader thread (64 per reader when absent); past it, 503.
    pub reader_queue: Option<usize>,
    /// Our VFS shim (unsafe code; faster reads under writes); `false` uses SQLite's
    /// own `unix` VFS.
    pub vfs_shim: bool,
}

impl Default for SqliteSettings {
    fn default() -> Self {
        SqliteSettings {
            writer_queue: entreposto_store_sqlite::DEFAULT_WRITER_QUEUE,
            reader_queue: None,
            vfs_shim: true,
        }
    }
}

impl EdgeSettings {
    pub fn header_timeout(&self) -> Duration {
        Duration::from_millis(self.header_timeout_ms)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    pub fn body_timeout(&self) -> Duration {
        Duration::from_millis(self.body_timeout_ms)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// A zero would refuse every request (or every connection): refuse it instead.
    fn validate(&self) -> anyhow::Result<()> {
        for (name, v) in [
            ("header_timeout_ms", self.header_timeout_ms),
            ("idle_timeout_ms", self.idle_timeout_ms),
            ("body_timeout_ms", self.body_timeout_ms),
            ("request_timeout_ms", self.request_timeout_ms),
            ("max_connections", self.max_connections as u64),
        ] {
            if v == 0 {
                anyhow::bail!("edge.{name} must be above 0");
            }
        }
        Ok(())
    }
}

/// `[http]` settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Milliseconds a verified credential is trusted before it is read again (a
    /// revocation takes effect within it); 0 reads it on every request.
    pub credential_cache_ttl_ms: u64,
    /// Our JSON writer for the hot responses (unsafe code; faster); `false` uses
    /// serde_json. Both write the same bytes.
    pub fast_json: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        let d = entreposto_http::HttpOptions::default();
        HttpSettings {
            credential_cache_ttl_ms: d.credential_ttl.as_millis() as u64,
            fast_json: d.fast_json,
        }
    }
}

impl HttpSettings {
    pub fn options(&self) -> entreposto_http::HttpOptions {
        entreposto_http::HttpOptions {
            credential_ttl: Duration::from_millis(self.credential_cache_ttl_ms),
            fast_json: self.fast_json,
            ..entreposto_http::HttpOptions::default()
        }
    }
}

/// A database URL whose password never reaches a log: `Debug` and `Display` print it
/// redacted (`postgres://user:***@host/db`); [`DatabaseUrl::expose`] gives the real one
/// to the code that connects.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for DatabaseUrl {
    fn from(s: String) -> Self {
        DatabaseUrl(s)
    }
}

impl From<&str> for DatabaseUrl {
    fn from(s: &str) -> Self {
        DatabaseUrl(s.to_string())
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&redact(&self.0), f)
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

/// `url` with its password replaced by `***`: the `user:password@` of a URL, and a
/// `password=` parameter of its query or of a `key=value` connection string.
pub fn redact(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest = &out[scheme_end + 3..];
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        // The last `@` of the authority ends the user info (a password may contain `@`
        // only percent-encoded, but be safe with a raw one).
        if let Some(at) = rest[..authority_end].rfind('@') {
            if let Some(colon) = rest[..at].find(':') {
                let start = scheme_end + 3 + colon + 1;
                out.replace_range(start..scheme_end + 3 + at, "***");
            }
        }
    }
    let mut redacted = String::with_capacity(out.len());
    let mut rest = out.as_str();
    // `password=` after a `?`, `&`, whitespace or at the start.
    while let Some(i) = rest.to_ascii_lowercase().find("password=") {
        let boundary = i == 0 || matches!(rest.as_bytes()[i - 1], b'?' | b'&' | b' ' | b'\t');
        let value_start = i + "password=".len();
        redacted.push_str(&rest[..value_start]);
        rest = &rest[value_start..];
        if boundary {
            let end = rest.find(['&', ' ', '\t', '#']).unwrap_or(rest.len());
            redacted.push_str("***");
            rest = &rest[end..];
        }
    }
    redacted.push_str(rest);
    redacted
}

/// A setting that is never printed: its `Debug` shows `"***"`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

/// `[dialects.<name>]`: where a dialect's own listener listens, and the URL its
/// clients reach it at (for links such as SkyHub's `next_page`; `http://` plus the
/// bound address when absent).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnListener {
    pub listen: String,
    #[serde(default)]
    pub public_url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            database_url: "entreposto.db".into(),
            sqlite_synchronous: "normal".into(),
            sqlite_readers: None,
            pg_max_connections: 16,
            pg_pool_wait_ms: 5_000,
            log_format: "text".into(),
            log_level: "info".into(),
            public_url: None,
            dialects: BTreeMap::new(),
            cursor_secret: None,
            sqlite: SqliteSettings::default(),
            http: HttpSettings::default(),
            edge: EdgeSettings::default(),
            rate_limits: RateLimitConfig::default(),
            import_worker: true,
            import_workers: 2,
            import_lease_seconds: 60,
            koncili_extract_shape: ExtractShape::default(),
            webhooks: WebhookConfig::default(),
            notifications: NotificationSettings::default(),
            outbox: OutboxSettings::default(),
            nats: entreposto_worker::nats::NatsSettings::default(),
            secrets: SecretsConfig::default(),
        }
    }
}

impl Config {
    /// The HTTP edge's options over a database of `backend`: `[http]`,
    /// `[rate_limits]`, and the dialects' own settings.
    pub fn http_options(&self, backend: &str) -> anyhow::Result<entreposto_http::HttpOptions> {
        let mut options = self.http.options();
        options.rate_limits = self.rate_limits.settings(backend)?;
        // A claim outlives its request: the request deadline bounds how long one runs.
        options.idempotency_lease = (2 * self.edge.request_timeout()).max(Duration::from_secs(60));
        options.dialect_settings.insert(
            entreposto_dialect_koncili::EXTRACT_SHAPE_SETTING.into(),
            self.koncili_extract_shape.as_str().into(),
        );
        Ok(options)
    }

    pub fn load(file: Option<PathBuf>) -> anyhow::Result<Config> {
        let file = file
            .or_else(|| std::env::var_os("ENTREPOSTO_CONFIG").map(PathBuf::from))
            .or_else(|| {
                let p = PathBuf::from("entreposto.toml");
                p.exists().then_some(p)
            });
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            if !f.exists() {
                anyhow::bail!("config file {} does not exist", f.display());
            }
            fig = fig.merge(Toml::file(f));
        }
        fig = fig.merge(
            Env::prefixed("ENTREPOSTO_")
                .ignore(&["config", "test_postgres_url"])
                .split("__"),
        );
        let config: Config = fig.extract()?;
        config.edge.validate()?;
        // Checked here, so a bad rate stops every command at start, not `serve` alone.
        config.rate_limits.settings("sqlite")?;
        config.secrets.sealer()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_cursor_secret() {
        let config = Config {
            cursor_secret: Some(Secret("hunter2-cursor".into())),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("cursor_secret: Some(\"***\")"), "{shown}");
    }

    #[test]
    fn passwords_are_redacted() {
        for (url, shown) in [
            (
                "postgres://user:secret@db.example.com:5432/app",
                "postgres://user:***@db.example.com:5432/app",
            ),
            (
                "postgresql://user:s3cr%40t@host/db?sslmode=require",
                "postgresql://user:***@host/db?sslmode=require",
            ),
            (
                "postgres://user:p@ss@host/db",
                "postgres://user:***@host/db",
            ),
            (
                "postgres://user@host/db?sslmode=require&password=secret&x=1",
                "postgres://user@host/db?sslmode=require&password=***&x=1",
            ),
            (
                "host=db user=app password=secret dbname=x",
                "host=db user=app password=*** dbname=x",
            ),
            ("postgres://user@host/db", "postgres://user@host/db"),
            ("entreposto.db", "entreposto.db"),
            (
                "/var/lib/my_password=notakey.db",
                "/var/lib/my_password=notakey.db",
            ),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
    }

    #[test]
    fn debug_of_the_configuration_never_shows_the_password() {
        let config = Config {
            database_url: "postgres://user:secret@host/db?password=secret2".into(),
            ..Config::default()
        };
        for printed in [
            format!("{config:?}"),
            format!("{config:#?}"),
            format!("{}", config.database_url),
        ] {
            assert!(
                !printed.contains(":secret@") && !printed.contains("secret2"),
                "{printed}"
            );
            assert!(printed.contains("postgres://user:***@host/db"), "{printed}");
        }
        assert_eq!(
            config.database_url.expose(),
            "postgres://user:secret@host/db?password=secret2"
        );
    }

    #[test]
    fn rate_limits_are_read_with_errors_naming_their_key() {
        use entreposto_http::rate_limit::DialectLimit;
        let mut r = RateLimitConfig::default();
        let s = r.settings("sqlite").unwrap();
        assert_eq!(s.default, Some(RateLimit::per_second(1000)));
        assert!(!s.shared, "one SQLite process: in memory");
        assert!(
            r.settings("postgres").unwrap().shared,
            "shared on PostgreSQL"
        );
        r.shared = Some(false);
        assert!(!r.settings("postgres").unwrap().shared);

        r.default = "off".into();
        r.dialects.insert("skyhub".into(), "9/s".into());
        r.dialects.insert("koncili".into(), "vendor".into());
        r.dialects.insert("omnik".into(), "off".into());
        r.sellers.insert("s1".into(), "5/min".into());
        let s = r.settings("sqlite").unwrap();
        assert_eq!(s.default, None);
        assert_eq!(s.sellers["S1"], RateLimit::per_minute(5));
        let of = |name: &str| {
            s.dialects
                .iter()
                .find(|(d, _)| d.as_str() == name)
                .map(|(_, l)| *l)
                .unwrap()
        };
        assert!(matches!(of("skyhub"), DialectLimit::Rate(r) if r == RateLimit::per_second(9)));
        assert!(matches!(of("koncili"), DialectLimit::Preset(p) if p.name == "vendor"));
        assert!(matches!(of("omnik"), DialectLimit::Off));

        for (edit, says) in [
            (
                Box::new(|r: &mut RateLimitConfig| r.default = "20".into())
                    as Box<dyn Fn(&mut RateLimitConfig)>,
                "rate_limits.default: '20' is not a rate",
            ),
            (
                Box::new(|r| {
                    r.dialects.insert("skyhub".into(), "9/x".into());
                }),
                "rate_limits.dialects.skyhub: '9/x' is not a rate",
            ),
            (
                Box::new(|r| {
                    r.dialects.insert("skyhubx".into(), "9/s".into());
                }),
                "rate_limits.dialects.skyhubx: no such dialect (known: native, skyhub",
            ),
            (
                Box::new(|r| {
                    r.dialects.insert("koncili".into(), "fast".into());
                }),
                "preset of koncili (it has: vendor)",
            ),
            (
                Box::new(|r| {
                    r.dialects.insert("zerok".into(), "vendor".into());
                }),
                "preset of zerok (it has none)",
            ),
            (
                Box::new(|r| {
                    r.operators.insert("OP".into(), "0/s".into());
                }),
                "rate_limits.operators.OP: '0/s' is not a rate",
            ),
        ] {
            let mut r = RateLimitConfig::default();
            edit(&mut r);
            let e = r.settings("sqlite").unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }
    }
}
