//! Configuration: compiled-in defaults, then a TOML file, then `ENTREPOSTO_*`
//! environment variables, then command-line flags, each overriding the one before.
//!
//! The file is `--config PATH` or `ENTREPOSTO_CONFIG`, else `entreposto.toml` in the
//! working directory when it exists. Keys are the field names below
//! (`database_url = "postgres://..."`), environment variables the same in upper case
//! with the prefix (`ENTREPOSTO_DATABASE_URL`).

use std::path::PathBuf;
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address `serve` listens on.
    pub listen: String,
    /// `postgres://...` for PostgreSQL; a file path (optionally `sqlite://path`) for SQLite.
    pub database_url: String,
    /// SQLite durability: `normal` (survives process crashes) or `full` (also power loss).
    pub sqlite_synchronous: String,
    /// SQLite reader threads; the number of cores when absent.
    pub sqlite_readers: Option<usize>,
    /// Connections in the PostgreSQL pool.
    pub pg_max_connections: usize,
    /// `text` or `json` log lines on stderr.
    pub log_format: String,
    /// A tracing filter, e.g. `info` or `entreposto=debug,info`.
    pub log_level: String,
    /// The URL clients reach the server at, for links in responses (SkyHub's
    /// `next_page`); `http://` plus the listen address when absent. Set it behind a
    /// reverse proxy.
    pub public_url: Option<String>,
    /// Connection-level limits: the `[edge]` section.
    pub edge: EdgeSettings,
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

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            database_url: "entreposto.db".into(),
            sqlite_synchronous: "normal".into(),
            sqlite_readers: None,
            pg_max_connections: 16,
            log_format: "text".into(),
            log_level: "info".into(),
            public_url: None,
            edge: EdgeSettings::default(),
        }
    }
}

impl Config {
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
        Ok(config)
    }
}
