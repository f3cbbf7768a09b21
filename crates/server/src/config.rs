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

use std::collections::BTreeMap;
use std::path::PathBuf;

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
    /// Dialects also served at the root of a listener of their own, by name
    /// (`skyhub`, `omnik`, `zerok`, `koncili`, or `native`); each stays under its
    /// prefix on `listen` too.
    pub dialects: BTreeMap<String, OwnListener>,
    /// Signs SkyHub's page cursors, with the credential's stored digest (see
    /// `entreposto_http::signed`). Optional: without it cursors are still signed and
    /// every node of one database accepts them; set it (the same on every node) so
    /// that read access to the database is not enough to forge one. Changing it voids
    /// the cursors handed out before.
    pub cursor_secret: Option<Secret>,
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
            log_format: "text".into(),
            log_level: "info".into(),
            public_url: None,
            dialects: BTreeMap::new(),
            cursor_secret: None,
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
        fig = fig.merge(Env::prefixed("ENTREPOSTO_").ignore(&["config", "test_postgres_url"]));
        Ok(fig.extract()?)
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
}
