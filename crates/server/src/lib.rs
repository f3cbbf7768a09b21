//! The pieces of the `entreposto` binary that tests and benchmarks reuse: loading the
//! configuration, opening the configured backend, serving a listener, reading catalog
//! and statement files, and generating demo data.
#![forbid(unsafe_code)]

pub mod background;
pub mod catalog_file;
pub mod config;
pub mod demo;
pub mod housekeeping;
pub mod listener;
pub mod listeners;
pub mod mounts;
pub mod progress;
pub mod recon;
pub mod relays;
pub mod store;
pub mod webhooks;
