//! Reconciliation's storage contract on SQLite, each case on its own fresh database
//! file (removed when the case's store is dropped).

mod common;

entreposto_store::finance_contract_tests!(common::open("finance"));
