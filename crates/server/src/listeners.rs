//! The listeners `serve` binds and the router each serves: the shared listener
//! (`listen`) with every API under its prefix, and one listener per
//! `[dialects.<name>]` section serving that dialect at its root.
//!
//! Routing is by listener, never by the `Host` header (some clients force it to the
//! vendor's own host). Each router carries the URL its listener is reached at, so the
//! links a dialect writes point back at the listener the client called.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use entreposto_http::{AppState, Mount};
use entreposto_store::Store;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::mounts::MOUNTS;

/// A bound listener and what it serves.
pub struct Bound {
    /// `None` for the shared listener, else the mount served at the root.
    pub mount: Option<&'static Mount>,
    pub listener: TcpListener,
    pub router: axum::Router,
    /// The URL links written on this listener start with.
    pub public_url: String,
}

impl Bound {
    /// Whose envelope errors on this listener are written in.
    pub fn owners(&self) -> entreposto_http::Owners {
        match self.mount {
            None => entreposto_http::Owners::Prefixed(&crate::mounts::MOUNTS),
            Some(m) => entreposto_http::Owners::Root(m),
        }
    }

    /// What the log and errors call this listener.
    pub fn name(&self) -> &'static str {
        self.mount.map_or("shared", Mount::name)
    }
}

/// Binds the shared listener, then each dialect's own, in the configuration's order
/// (sorted by name). An unknown dialect name or an address that cannot be bound is an
/// error naming the section.
pub async fn bind(store: Arc<dyn Store>, config: &Config) -> anyhow::Result<Vec<Bound>> {
    let own = config
        .dialects
        .iter()
        .map(|(name, section)| {
            let mount = MOUNTS.iter().find(|m| m.name() == name).with_context(|| {
                let known: Vec<_> = MOUNTS.iter().map(Mount::name).collect();
                format!(
                    "[dialects.{name}]: no such dialect (known: {})",
                    known.join(", ")
                )
            })?;
            Ok((mount, section))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;

    let shared = TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let url = public_url(config.public_url.as_deref(), shared.local_addr()?);
    let state = AppState::with_options(store, &url, config.http.options())
        .with_cursor_secret(config.cursor_secret.as_ref().map(|s| s.0.as_str()));
    let mut bound = vec![Bound {
        mount: None,
        router: entreposto_http::router(state.clone(), &MOUNTS),
        listener: shared,
        public_url: url,
    }];
    for (mount, section) in own {
        let listener = TcpListener::bind(&section.listen).await.with_context(|| {
            format!("binding {} for [dialects.{}]", section.listen, mount.name())
        })?;
        let url = public_url(section.public_url.as_deref(), listener.local_addr()?);
        bound.push(Bound {
            mount: Some(mount),
            router: entreposto_http::root_router(state.at(&url), mount),
            listener,
            public_url: url,
        });
    }
    Ok(bound)
}

/// The configured URL, else `http://` and the address actually bound (so port 0
/// gives the real port).
fn public_url(configured: Option<&str>, addr: SocketAddr) -> String {
    configured.map_or_else(|| format!("http://{addr}"), str::to_string)
}
