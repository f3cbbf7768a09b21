//! The embedded SQLite backend, Entreposto's default.
//!
//! SQLite allows one writer at a time, so all writes go through one thread that owns
//! the write connection and commits in groups: it takes every write waiting in its
//! queue, runs each in its own savepoint inside one `BEGIN IMMEDIATE` transaction, and
//! answers them all after the single `COMMIT`. A caller is answered only after its
//! write is committed, so an acknowledged write survives a crash of the process; at the
//! default `synchronous=NORMAL` (WAL) the last commits before a power loss may be lost,
//! `synchronous=FULL` (see [`Durability`]) makes every group fsync before it answers.
//! Reads run on a small pool of threads, each with its own connection, in parallel with
//! the writer (WAL readers never block it).

use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use crossbeam_channel::{Receiver, Sender};
use entreposto_domain::*;
use entreposto_store::{Result, Store, StoreError, TicketDetail};
use rusqlite::functions::FunctionFlags;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use tokio::sync::oneshot;

pub mod order_codec;
mod orders;
mod snapshot;
mod tenants;
mod tickets;
mod vfs;

use snapshot::SnapshotPool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const MIGRATIONS: &[(i64, &str)] = entreposto_store::migrations!();

/// How hard a commit tries to reach the disk before it is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=NORMAL`: survives process crashes; a power loss may lose the most
    /// recent commits (the WAL is fsynced at checkpoints).
    #[default]
    Normal,
    /// `synchronous=FULL`: every commit group is fsynced before it is acknowledged.
    Full,
}

impl Durability {
    pub fn parse(s: &str) -> Option<Durability> {
        match s.to_ascii_lowercase().as_str() {
            "normal" => Some(Durability::Normal),
            "full" => Some(Durability::Full),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub durability: Durability,
    pub readers: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            durability: Durability::Normal,
            readers: thread::available_parallelism()
                .map_or(2, |n| n.get())
                .max(2),
        }
    }
}

/// What a write job hands back: did its work succeed (keep its savepoint), and the
/// callback that answers the caller once the group's commit is known.
type Finish = Box<dyn FnOnce(std::result::Result<(), StoreError>) + Send>;
/// Called with `None` when the group's transaction could not even begin.
type WriteJob = Box<dyn FnOnce(Option<&Connection>) -> (bool, Finish) + Send>;
type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// Most jobs one transaction takes; bounds the latency a large group adds.
const MAX_GROUP: usize = 256;

pub struct SqliteStore {
    snapshots: Arc<SnapshotPool>,
    /// Bumped after every commit (see [`snapshot`]); keys caches of derived answers.
    generation: Arc<AtomicU64>,
    /// Ticket counts by query, valid for the generation they were counted at.
    pub(crate) counts: tickets::CountCache,
    writer: Sender<WriteJob>,
    readers: Sender<ReadJob>,
    path: PathBuf,
}

pub(crate) fn map_err(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match &e {
        rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
        rusqlite::Error::SqliteFailure(f, msg) => match f.code {
            ErrorCode::ConstraintViolation => {
                tracing::debug!(error = ?msg, "constraint");
                StoreError::Conflict("conflicts with an existing record".into())
            }
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Busy,
            _ => StoreError::Other(e.to_string()),
        },
        _ => StoreError::Other(e.to_string()),
    }
}

fn open_conn(path: &Path, durability: Durability, read_only: bool) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    // Our VFS keeps a connection's memory map across other connections' commits (see
    // [`vfs`]); if it cannot be registered, SQLite's own is used.
    let conn = match vfs::register() {
        Ok(()) => Connection::open_with_flags_and_vfs(path, flags, "entreposto-unix")?,
        Err(e) => {
            tracing::warn!(error = %e, "SQLite VFS not registered, using SQLite's own");
            Connection::open_with_flags(path, flags)?
        }
    };
    let sync = match durability {
        Durability::Normal => "NORMAL",
        Durability::Full => "FULL",
    };
    // mmap: reads of a large database skip a read() system call and a copy per page.
    // The limit covers any realistic file (the bundled SQLite is built to allow it, see
    // .cargo/config.toml); pages past a 2 GiB limit were read with pread, measured
    // +24% on Omnik reads of a 3 GB database going from 1 GiB to 2 GiB.
    conn.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync}; PRAGMA busy_timeout=10000;
         PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536;
         PRAGMA mmap_size=1099511627776;"
    ))?;
    if read_only {
        conn.execute_batch("PRAGMA query_only=1;")?;
    }
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Process-wide SQLite settings, applied once before the first connection opens.
///
/// Memory-usage statistics make every allocation inside SQLite take one global mutex;
/// with several threads reading at once that lock, not the queries, becomes the
/// bottleneck. We never read those statistics, so they are turned off.
fn configure_library() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config may only be called before sqlite3_initialize or after
        // sqlite3_shutdown; the Once runs before this process opens any connection
        // (all connections are opened through SqliteStore). If the library was already
        // initialised the call fails harmlessly with SQLITE_MISUSE.
        unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS,
                0 as std::os::raw::c_int,
            );
        }
    });
}

fn migrate(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )
    .map_err(map_err)?;
    let newest: Option<i64> = conn
        .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })
        .map_err(map_err)?;
    entreposto_store::check_schema_version(newest, MIGRATIONS)?;
    // Migration 6 fills `tickets.code_key` with the same function the store uses.
    conn.create_scalar_function(
        "entreposto_code_key",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(tickets::code_key(ctx.get_raw(0).as_str()?)),
    )
    .map_err(map_err)?;
    apply(conn).map_err(map_err)
}

fn apply(conn: &mut Connection) -> rusqlite::Result<()> {
    for (version, sql) in MIGRATIONS {
        let done: Option<i64> = conn
            .query_row(
                "SELECT version FROM schema_migrations WHERE version = ?1",
                [version],
                |r| r.get(0),
            )
            .optional()?;
        if done.is_some() {
            continue;
        }
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![version, Timestamp::now().micros()],
        )?;
        tx.commit()?;
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and applies migrations.
    pub fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<SqliteStore> {
        configure_library();
        let path = path.as_ref().to_path_buf();
        let mut wconn = open_conn(&path, options.durability, false).map_err(map_err)?;
        migrate(&mut wconn)?;
        // Fold whatever WAL a previous process left (a bulk import, a crash) into the
        // database file: every read looks pages up in the WAL index first, so a large
        // leftover WAL slows all reads until the next checkpoint.
        wconn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(map_err)?;

        let (wtx, wrx) = crossbeam_channel::unbounded::<WriteJob>();
        let generation = Arc::new(AtomicU64::new(0));
        let writer_generation = generation.clone();
        let wal_path = PathBuf::from(format!("{}-wal", path.display()));
        // Checkpoints run on their own thread (see `checkpointer`), not after the
        // writer's commits. The writer keeps a smaller page cache than the readers:
        // SQLite walks the whole page-cache hash at the end of every transaction
        // (pcache1 truncation), 7% of the writer's time with 64 MiB; pages it needs
        // again come back from the memory map.
        wconn
            .execute_batch("PRAGMA wal_autocheckpoint=0; PRAGMA cache_size=-8192;")
            .map_err(map_err)?;
        thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(wconn, wrx, &writer_generation, wal_path))
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let cconn = open_conn(&path, options.durability, false).map_err(map_err)?;
        let weak = Arc::downgrade(&generation);
        thread::Builder::new()
            .name("sqlite-checkpointer".into())
            .spawn(move || checkpointer(cconn, weak))
            .map_err(|e| StoreError::Other(e.to_string()))?;

        let (rtx, rrx) = crossbeam_channel::unbounded::<ReadJob>();
        for i in 0..options.readers.max(1) {
            let conn = open_conn(&path, options.durability, true).map_err(map_err)?;
            let rx = rrx.clone();
            thread::Builder::new()
                .name(format!("sqlite-reader-{i}"))
                .spawn(move || {
                    while let Ok(job) = rx.recv() {
                        // Keep the reader alive if a job panics; its caller gets an error.
                        let _ =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&conn)));
                    }
                })
                .map_err(|e| StoreError::Other(e.to_string()))?;
        }
        Ok(SqliteStore {
            snapshots: SnapshotPool::new(path.clone(), options.durability, generation.clone()),
            generation,
            counts: Default::default(),
            writer: wtx,
            readers: rtx,
            path,
        })
    }

    /// The commit generation: it changes whenever this process commits a write.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` right here, on the calling thread, on a pooled read connection whose
    /// snapshot is reused while current (see [`snapshot`]).
    ///
    /// For primary-key lookups that take microseconds, handing the work to a reader
    /// thread and waking the caller again costs more than the query (two context
    /// switches on a two-core machine). Only bounded, indexed point reads may use this:
    /// it briefly occupies an async worker thread.
    pub(crate) fn read_now<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.snapshots.with(f)
    }

    /// Runs `f` on a reader thread: for scans and anything that may take a while.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.readers
            .send(Box::new(move |conn| {
                let _ = tx.send(f(conn));
            }))
            .map_err(|_| StoreError::Other("reader pool stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Other("reader dropped the request".into()))?
    }

    /// Runs `f` inside the writer's current transaction (in its own savepoint) and
    /// answers once that transaction has committed.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: WriteJob = Box::new(move |conn| {
            let outcome = match conn {
                Some(conn) => f(conn),
                None => Err(StoreError::Other("transaction did not begin".into())),
            };
            let ok = outcome.is_ok();
            let finish: Finish = Box::new(move |commit| {
                let _ = tx.send(commit.and(outcome));
            });
            (ok, finish)
        });
        self.writer
            .send(job)
            .map_err(|_| StoreError::Other("writer stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Other("writer dropped the request".into()))?
    }
}

/// How often the writer looks at the WAL's size, and the size it folds back into the
/// database file. SQLite's own auto-checkpoint copies pages but cannot restart the WAL
/// while readers keep arriving, so under sustained reads and writes the file grows
/// without bound (we saw 1 GiB in seconds); a TRUNCATE checkpoint resets it.
const WAL_CHECK_EVERY: Duration = Duration::from_millis(250);
const WAL_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

fn truncate_wal_if_large(conn: &Connection, wal_path: &Path, generation: &AtomicU64) {
    let size = std::fs::metadata(wal_path).map(|m| m.len()).unwrap_or(0);
    if size < WAL_LIMIT_BYTES {
        return;
    }
    // Readers on an old snapshot make the checkpoint wait; pooled snapshots are ended
    // within a fraction of MAX_AGE, so wait a little for them, never long.
    let _ = conn.execute_batch("PRAGMA busy_timeout=200");
    let outcome = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        r.get::<_, i64>(0)
    });
    let _ = conn.execute_batch("PRAGMA busy_timeout=10000");
    // Readers that began before the checkpoint still point into the old WAL.
    generation.fetch_add(1, Ordering::Release);
    tracing::debug!(wal_bytes = size, ?outcome, "WAL checkpoint");
}

/// How often the checkpointer looks for committed WAL pages to copy back.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Copies committed pages from the WAL into the database file, on a connection of its
/// own, while the writer goes on committing. SQLite's automatic checkpoint (turned
/// off on the writer) runs inside the commit that crosses 1,000 WAL pages, fsync
/// included: measured, a sixth of the writer's time under a stream of replies, during
/// which no other write could commit. A PASSIVE checkpoint never blocks the writer or
/// readers; the writer still truncates the WAL itself if it grows past
/// [`WAL_LIMIT_BYTES`]. Stops when the store is dropped.
fn checkpointer(conn: Connection, generation: std::sync::Weak<AtomicU64>) {
    let mut seen = None;
    loop {
        thread::sleep(CHECKPOINT_EVERY);
        let Some(g) = generation.upgrade() else { break };
        let now = g.load(Ordering::Acquire);
        if seen != Some(now) {
            seen = Some(now);
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                tracing::debug!(error = %e, "WAL checkpoint");
            }
        }
    }
}

fn writer_loop(
    conn: Connection,
    rx: Receiver<WriteJob>,
    generation: &AtomicU64,
    wal_path: PathBuf,
) {
    let mut last_wal_check = Instant::now();
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            let err = map_err(e);
            for job in group {
                let (_, finish) = job(None);
                finish(Err(err.clone()));
            }
            continue;
        }
        let mut finishes = Vec::with_capacity(group.len());
        for job in group {
            let _ = conn.execute_batch("SAVEPOINT job");
            // A panicking job (a bug) must not take the only writer down with it: its
            // savepoint is rolled back and its caller, whose reply channel is dropped
            // with the job, gets an error.
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(Some(&conn)))) {
                Ok((ok, finish)) => {
                    if !ok {
                        let _ = conn.execute_batch("ROLLBACK TO job");
                    }
                    finishes.push(finish);
                }
                Err(_) => {
                    tracing::error!("a write job panicked; its changes were rolled back");
                    let _ = conn.execute_batch("ROLLBACK TO job");
                }
            }
            let _ = conn.execute_batch("RELEASE job");
        }
        let commit = conn.execute_batch("COMMIT").map_err(map_err);
        if commit.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        // Before anyone hears of this commit, make pooled snapshots stale.
        generation.fetch_add(1, Ordering::Release);
        if last_wal_check.elapsed() >= WAL_CHECK_EVERY {
            last_wal_check = Instant::now();
            truncate_wal_if_large(&conn, &wal_path, generation);
        }
        for finish in finishes {
            finish(match &commit {
                Ok(()) => Ok(()),
                Err(e) => Err(e.clone()),
            });
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<()> {
        self.read(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(map_err))
            .await
    }

    /// Ticket, order and messages from one snapshot: one consistent view, and one
    /// pool checkout instead of three.
    async fn get_ticket_detail(&self, scope: &Scope, id: i64) -> Result<TicketDetail> {
        self.read_now(|c| tickets::load_detail(c, scope, id))
    }
}
