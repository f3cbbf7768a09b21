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

use crate::{map_err, open_conn, Durability};

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
    durability: Durability,
    generation: Arc<AtomicU64>,
    idle: Mutex<Vec<ReadConn>>,
}

impl SnapshotPool {
    pub(crate) fn new(
        path: std::path::PathBuf,
        durability: Durability,
        generation: Arc<AtomicU64>,
    ) -> Arc<SnapshotPool> {
        let pool = Arc::new(SnapshotPool {
            path,
            durability,
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

    /// Runs `f` inside a current-enough read transaction.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = self.idle.lock().ok().and_then(|mut v| v.pop());
        let mut rc = match pooled {
            Some(rc) => rc,
            None => ReadConn {
                conn: open_conn(&self.path, self.durability, true).map_err(map_err)?,
                open: None,
            },
        };
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
