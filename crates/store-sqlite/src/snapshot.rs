//! Point reads on reused read transactions.
//!
//! Beginning a read transaction in WAL mode takes shared-memory locks (`fcntl` plus a
//! process-wide mutex) that cost more than a primary-key lookup itself; under load they
//! were a fifth of the server's CPU. So a pooled read connection keeps its transaction
//! (its snapshot) open and reuses it for later reads, and starts a new one when:
//! - this process committed anything since the snapshot began (the writer bumps a
//!   generation counter after each commit and before answering anyone), so a client
//!   always reads what it was told was written; or
//! - the snapshot is older than [`MAX_AGE`], which bounds how late writes made by other
//!   processes (the admin commands) become visible, and how long a snapshot can hold
//!   back a WAL checkpoint. A reaper thread ends snapshots left idle past that age, and
//!   a snapshot made stale by a commit is ended as soon as its read finishes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use entreposto_store::{Result, StoreError};
use rusqlite::Connection;

use crate::{map_err, open_conn, SqliteOptions};

/// How long a read retried off the async worker may wait for a lock (the store's
/// usual `busy_timeout`).
const PATIENCE: Duration = Duration::from_secs(10);

/// Runs `f` where blocking is allowed: inside `block_in_place` on a multi-threaded
/// runtime (the worker's queued tasks are handed to another thread meanwhile), as it
/// is elsewhere (a current-thread runtime, where `block_in_place` is not available,
/// or no runtime at all).
fn off_the_worker<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Longest a snapshot is reused.
pub(crate) const MAX_AGE: Duration = Duration::from_millis(50);

struct ReadConn {
    conn: Connection,
    /// When the open transaction began, and the commit generation it saw.
    open: Option<(Instant, u64)>,
}

impl ReadConn {
    fn end(&mut self) {
        if self.open.take().is_some() {
            let _ = self.conn.execute_batch("COMMIT");
        }
    }
}

pub(crate) struct SnapshotPool {
    path: std::path::PathBuf,
    options: SqliteOptions,
    generation: Arc<AtomicU64>,
    idle: Mutex<Vec<ReadConn>>,
}

impl SnapshotPool {
    pub(crate) fn new(
        path: std::path::PathBuf,
        options: SqliteOptions,
        generation: Arc<AtomicU64>,
    ) -> Arc<SnapshotPool> {
        let pool = Arc::new(SnapshotPool {
            path,
            options,
            generation,
            idle: Mutex::new(Vec::new()),
        });
        let weak: Weak<SnapshotPool> = Arc::downgrade(&pool);
        let _ = std::thread::Builder::new()
            .name("sqlite-snapshot-reaper".into())
            .spawn(move || loop {
                std::thread::sleep(MAX_AGE / 2);
                match weak.upgrade() {
                    Some(pool) => pool.end_stale(),
                    None => break,
                }
            });
        pool
    }

    /// Runs `f` inside a current-enough read transaction, on the calling thread.
    ///
    /// It runs on an async worker, so it must not wait: pooled connections have no busy
    /// timeout, and a read that finds a lock it would have to wait for (the WAL being
    /// recovered or reset; rare) fails with `Busy` at once. That read is then run again
    /// off the worker (`block_in_place`, so the worker's other tasks move to another
    /// thread), with the usual patience.
    pub(crate) fn with<T>(&self, f: impl Fn(&Connection) -> Result<T>) -> Result<T> {
        match self.attempt(&f, false) {
            Err(StoreError::Busy) => off_the_worker(|| self.attempt(&f, true)),
            out => out,
        }
    }

    fn attempt<T>(&self, f: &impl Fn(&Connection) -> Result<T>, patient: bool) -> Result<T> {
        let pooled = self.idle.lock().ok().and_then(|mut v| v.pop());
        let mut rc = match pooled {
            Some(rc) => rc,
            None => {
                let conn = open_conn(&self.path, &self.options, true).map_err(map_err)?;
                conn.busy_timeout(Duration::ZERO).map_err(map_err)?;
                ReadConn { conn, open: None }
            }
        };
        if patient {
            rc.conn.busy_timeout(PATIENCE).map_err(map_err)?;
        }
        let generation = self.generation.load(Ordering::Acquire);
        let current = matches!(rc.open, Some((at, g)) if g == generation && at.elapsed() < MAX_AGE);
        if !current {
            rc.end();
            rc.conn.execute_batch("BEGIN").map_err(map_err)?;
            rc.open = Some((Instant::now(), generation));
        }
        let out = f(&rc.conn);
        // A snapshot that a commit has already made stale is of no further use, and
        // while it stays open it holds back the WAL checkpoint: end it now.
        let stale = self.generation.load(Ordering::Acquire) != generation;
        if stale || matches!(out, Err(ref e) if !matches!(e, StoreError::NotFound)) {
            rc.end();
        }
        if patient && rc.conn.busy_timeout(Duration::ZERO).is_err() {
            // A connection that might wait must not go back to the inline pool.
            return out;
        }
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < 32 {
                idle.push(rc);
            }
        }
        out
    }

    fn end_stale(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            for rc in idle.iter_mut() {
                if matches!(rc.open, Some((at, _)) if at.elapsed() >= MAX_AGE) {
                    rc.end();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use super::*;
    use crate::SqliteStore;

    /// A read that finds the database locked (`Busy` at once, since inline reads never
    /// wait) is tried again off the async worker: with one worker, another task runs
    /// while the retry waits. Were the retry on the worker, that task could not run and
    /// the retry would give up.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_read_that_would_wait_is_retried_off_the_worker() {
        let dir = std::env::temp_dir().join(format!(
            "entreposto-snapshot-{}",
            entreposto_store::new_id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Arc::new(SqliteStore::open(dir.join("s.db"), Default::default()).unwrap());
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let reader = {
            let store = store.clone();
            tokio::spawn(async move {
                let tries = AtomicUsize::new(0);
                let out = store.read_now(|_| {
                    if tries.fetch_add(1, Ordering::Relaxed) == 0 {
                        return Err(StoreError::Busy);
                    }
                    rx.recv_timeout(Duration::from_secs(5))
                        .map_err(|_| StoreError::Other("the worker was stalled".into()))
                });
                (out, tries.load(Ordering::Relaxed))
            })
        };
        let other = tokio::spawn(async move { tx.send(()).unwrap() });
        other.await.unwrap();
        let (out, tries) = reader.await.unwrap();
        assert_eq!(tries, 2);
        out.unwrap();
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Pooled connections never wait for a lock (SQLite's busy timeout is zero), and
    /// a patient retry hands its connection back to the pool impatient again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn inline_reads_do_not_wait_for_locks() {
        let dir = std::env::temp_dir().join(format!(
            "entreposto-snapshot-{}",
            entreposto_store::new_id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let store = SqliteStore::open(dir.join("s.db"), Default::default()).unwrap();
        let timeout = |c: &Connection| {
            c.query_row("PRAGMA busy_timeout", [], |r| r.get::<_, i64>(0))
                .map_err(map_err)
        };
        assert_eq!(store.read_now(timeout).unwrap(), 0);
        let patient = store.snapshots.attempt(&timeout, true).unwrap();
        assert_eq!(patient, PATIENCE.as_millis() as i64);
        assert_eq!(store.read_now(timeout).unwrap(), 0);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
