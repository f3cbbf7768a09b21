//! Counts of offset-paged listings, kept for a few seconds by the query that made them.
//!
//! Offset-paged dialects (Omnik, 00K, SkyHub) count the whole listing for every page,
//! and a count over a large listing costs far more than the page it goes with. A count
//! is kept with the write generation it was made at (a backend bumps its generation on
//! each commit that can change what the count covers, so this process's own writes
//! show at once) and for at most [`CountCache::MAX_AGE`], which bounds how late other
//! processes' and nodes' writes show.

/// Counts by query text, each with the commit generation and time it was made at.
///
/// A count over a million tickets takes 0.1 to 2 s, so when one expires the requests
/// that find it missing queue behind one another (`flight`) and only the first counts;
/// without that, 64 clients paging at once all counted and the list's p99 went past a
/// second.
#[derive(Default)]
pub struct CountCache {
    counts: std::sync::Mutex<std::collections::HashMap<String, (u64, std::time::Instant, u64)>>,
    flights:
        std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>,
}

impl CountCache {
    pub const MAX_AGE: std::time::Duration = std::time::Duration::from_secs(5);
    pub const MAX_KEYS: usize = 10_000;

    /// A count made at `generation` or later: its snapshot holds every write
    /// acknowledged before that generation was read.
    pub fn get(&self, key: &str, generation: u64) -> Option<u64> {
        let map = self.counts.lock().ok()?;
        let (g, at, n) = map.get(key)?;
        (*g >= generation && at.elapsed() < Self::MAX_AGE).then_some(*n)
    }

    pub fn put(&self, key: String, generation: u64, n: u64) {
        if let Ok(mut map) = self.counts.lock() {
            if map.len() > Self::MAX_KEYS {
                map.clear();
            }
            map.insert(key, (generation, std::time::Instant::now(), n));
        }
    }

    /// The lock that lets one request at a time count `key`.
    pub fn flight(&self, key: &str) -> std::sync::Arc<tokio::sync::Mutex<()>> {
        // A poisoned map only means a panic elsewhere; its entries are still locks.
        let mut map = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > Self::MAX_KEYS {
            map.clear();
        }
        map.entry(key.to_string()).or_default().clone()
    }
}
