//! The edge's storage contract (idempotency records, rate buckets) on SQLite, each
//! case on its own fresh database file (removed when the case's store is dropped).

mod common;

entreposto_store::edge_contract_tests!(common::open("edge"));
