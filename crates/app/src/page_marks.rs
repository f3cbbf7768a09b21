//! Remembered positions of listed orders, so a deep page of an offset-paged listing is
//! read from a nearby position instead of walking every order above it.
//!
//! 00K pages its order listing by number (`page=1000` is offset 30,000), and an ERP
//! walks its work queue page after page: read from the top, page N costs N pages of
//! index steps, so walking the queue is quadratic and a deep page costs several times a
//! first one. Each page read here records the (placed_at, id) of its first and last
//! orders at their offsets; a later read of the same listing at offset N starts from
//! the nearest recorded position at or above N ([`OrderFilter::from_position`]) and
//! skips only the orders between. Positions are kept for [`TTL`] (as long as SQLite
//! keeps a listing's count), for at most [`LISTINGS`] listings of [`MARKS`] positions
//! each. A write inside that window that adds or removes orders above a recorded
//! position shifts what the offset would have shown by those orders; the page read from
//! the position is then the page after the orders the client saw, which is what a
//! client walking pages wants, and no order is listed twice or skipped by the shift.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use entreposto_domain::{Scope, Timestamp};
use entreposto_store::OrderFilter;

/// How long a listing's positions are trusted.
pub const TTL: Duration = Duration::from_secs(5);
/// Listings remembered at once (past it, all are forgotten and remembering restarts).
pub const LISTINGS: usize = 1024;
/// Positions remembered per listing (past it, the listing's are forgotten).
pub const MARKS: usize = 256;

struct Marks {
    born: Instant,
    at: BTreeMap<u64, (Timestamp, i64)>,
}

#[derive(Default)]
pub struct PageMarks(Mutex<HashMap<String, Marks>>);

/// A listing's identity: its scope and filter, paging left out.
fn listing_key(scope: &Scope, f: &OrderFilter) -> String {
    let unpaged = OrderFilter {
        offset: 0,
        limit: 0,
        from_position: None,
        ..f.clone()
    };
    format!("{scope:?}|{unpaged:?}")
}

impl PageMarks {
    /// `filter` rewritten to start from the nearest remembered position at or above
    /// its offset, or as it is.
    pub fn nearest(&self, scope: &Scope, filter: &OrderFilter, now: Instant) -> OrderFilter {
        if filter.offset == 0 || filter.from_position.is_some() {
            return filter.clone();
        }
        let key = listing_key(scope, filter);
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let Some(marks) = map.get(&key).filter(|m| now.duration_since(m.born) < TTL) else {
            return filter.clone();
        };
        match marks.at.range(..=filter.offset).next_back() {
            Some((&at, &position)) => OrderFilter {
                from_position: Some(position),
                offset: filter.offset - at,
                ..filter.clone()
            },
            None => filter.clone(),
        }
    }

    /// Records the positions of a page read at `filter.offset` (the caller's filter,
    /// before [`PageMarks::nearest`]) whose first and last orders are given.
    pub fn record(
        &self,
        scope: &Scope,
        filter: &OrderFilter,
        first: (Timestamp, i64),
        last: (Timestamp, i64),
        len: usize,
        now: Instant,
    ) {
        if filter.from_position.is_some() || len == 0 {
            return;
        }
        let key = listing_key(scope, filter);
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= LISTINGS && !map.contains_key(&key) {
            map.clear();
        }
        let marks = map.entry(key).or_insert_with(|| Marks {
            born: now,
            at: BTreeMap::new(),
        });
        if now.duration_since(marks.born) >= TTL || marks.at.len() + 2 > MARKS {
            marks.born = now;
            marks.at.clear();
        }
        marks.at.insert(filter.offset, first);
        marks.at.insert(filter.offset + len as u64 - 1, last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(offset: u64) -> OrderFilter {
        OrderFilter {
            erp_sent: Some(false),
            offset,
            limit: 30,
            ..Default::default()
        }
    }

    #[test]
    fn a_deep_page_starts_from_the_nearest_position_above_it() {
        let marks = PageMarks::default();
        let scope = Scope::seller("op", "s");
        let t0 = Instant::now();
        // Nothing remembered: as asked.
        assert_eq!(marks.nearest(&scope, &queue(60), t0), queue(60));
        marks.record(
            &scope,
            &queue(30),
            (Timestamp(9), 90),
            (Timestamp(7), 61),
            30,
            t0,
        );
        // The next page: one past the last order of page 1.
        let next = marks.nearest(&scope, &queue(60), t0);
        assert_eq!(next.from_position, Some((Timestamp(7), 61)));
        assert_eq!(next.offset, 1);
        // The same page again: from its first order.
        let again = marks.nearest(&scope, &queue(30), t0);
        assert_eq!(
            (again.from_position, again.offset),
            (Some((Timestamp(9), 90)), 0)
        );
        // Above every remembered position: from the top.
        assert_eq!(marks.nearest(&scope, &queue(10), t0), queue(10));
        // Another listing (another filter, another seller) shares nothing.
        let other = OrderFilter {
            erp_sent: Some(true),
            ..queue(60)
        };
        assert_eq!(marks.nearest(&scope, &other, t0), other);
        assert_eq!(
            marks.nearest(&Scope::seller("op", "t"), &queue(60), t0),
            queue(60)
        );
        // Forgotten after the TTL.
        assert_eq!(marks.nearest(&scope, &queue(60), t0 + TTL), queue(60));
    }
}
