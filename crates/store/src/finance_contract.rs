//! Reconciliation's storage contract suite: what every backend's
//! [`FinanceStore`](crate::FinanceStore) shows, written once against the trait alone.
//! (Cases to come.)

/// Expands to one `#[tokio::test]` per finance contract case. `$open` is an async
/// expression yielding `Option<impl Deref<Target = Arc<dyn Store>>>`.
#[macro_export]
macro_rules! finance_contract_tests {
    ($open:expr) => {};
}
