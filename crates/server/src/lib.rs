//! The pieces of the `entreposto` binary that tests and benchmarks reuse: loading the
//! configuration, opening the configured backend, serving a listener, and generating
//! demo data.

pub mod config;
pub mod demo;
pub mod listener;
pub mod store;
