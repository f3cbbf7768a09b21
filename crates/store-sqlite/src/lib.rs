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
//! the writer (WAL readers never block it). Both queues are bounded: past their bound
//! a job is refused with [`StoreError::Busy`] before it runs, so overload answers
//! "retry later" at once instead of growing a queue without limit.
#![deny(unsafe_code)]

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

mod catalog;
mod edge;
mod feeds;
mod finance;
pub mod order_codec;
mod order_lifecycle;
mod orders;
mod outbox;
mod snapshot;
mod tenants;
mod tickets;
// The one module with unsafe code: SQLite's C VFS interface. `[sqlite] vfs_shim =
// false` (`SqliteOptions::vfs_shim`) runs without it.
#[allow(unsafe_code)]
mod vfs;
mod webhooks;

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
    /// Most writes waiting for the writer thread. Past it a write is refused at once
    /// with [`StoreError::Busy`] (never executed, so never acknowledged) instead of
    /// queueing without limit while the writer falls behind.
    pub writer_queue: usize,
    /// Most reads waiting for a reader thread, likewise refused with `Busy` past it;
    /// `None` is [`READS_QUEUED_PER_READER`] per reader.
    pub reader_queue: Option<usize>,
    /// Open connections through our VFS shim ([`vfs`], unsafe code keeping memory maps
    /// across commits); `false` uses SQLite's own `unix` VFS, with the same results.
    pub vfs_shim: bool,
}

/// The writer queue's default bound: about a second of seller replies at the measured
/// group-commit rate, and a few MiB of queued jobs at most.
pub const DEFAULT_WRITER_QUEUE: usize = 4096;
/// The reader queue's default bound, per reader thread.
pub const READS_QUEUED_PER_READER: usize = 64;

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            durability: Durability::Normal,
            readers: thread::available_parallelism()
                .map_or(2, |n| n.get())
                .max(2),
            writer_queue: DEFAULT_WRITER_QUEUE,
            reader_queue: None,
            vfs_shim: true,
        }
    }
}

impl SqliteOptions {
    fn reader_queue(&self) -> usize {
        self.reader_queue
            .unwrap_or(self.readers.max(1) * READS_QUEUED_PER_READER)
            .max(1)
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
    pub(crate) counts: entreposto_store::count_cache::CountCache,
    writer: Sender<WriteJob>,
    readers: Sender<ReadJob>,
    path: PathBuf,
    vfs: String,
    /// Bumped after each commit that wrote events (see `OutboxStore::event_signal`).
    pub(crate) events: Arc<tokio::sync::watch::Sender<u64>>,
    /// Renders the payloads of the events writes insert (see `entreposto_store::events`).
    pub(crate) payloads: Arc<dyn entreposto_store::EventPayloads>,
    /// Seals the secrets rows keep (see `entreposto_store::sealing`).
    pub(crate) sealer: Arc<entreposto_store::sealing::Sealer>,
}

impl SqliteStore {
    /// With the sealer of the secrets rows keep (see `entreposto_store::sealing`);
    /// without one they are kept as they are.
    pub fn with_sealer(mut self, sealer: Arc<entreposto_store::sealing::Sealer>) -> SqliteStore {
        self.sealer = sealer;
        self
    }
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

fn open_conn(
    path: &Path,
    options: &SqliteOptions,
    read_only: bool,
) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    // Our VFS keeps a connection's memory map across other connections' commits (see
    // [`vfs`]); when it is switched off or cannot be registered, SQLite's own is used.
    let registered = if options.vfs_shim {
        vfs::register()
    } else {
        Err("switched off ([sqlite] vfs_shim = false)".into())
    };
    let conn = match registered {
        Ok(()) => Connection::open_with_flags_and_vfs(path, flags, "entreposto-unix")?,
        Err(e) => {
            if options.vfs_shim {
                tracing::warn!(error = %e, "SQLite VFS not registered, using SQLite's own");
            }
            Connection::open_with_flags(path, flags)?
        }
    };
    let sync = match options.durability {
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
    // Migration 11 fills `order_payment_ids` from the bodies there are, read by the
    // store's own codec (postcard BLOBs, which SQL cannot read, and JSON text).
    conn.create_scalar_function(
        "entreposto_payment_ids",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            orders::payment_ids_json(ctx.get_raw(0))
                .map_err(|e| rusqlite::Error::UserFunctionError(e.into()))
        },
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
        // A migration that rebuilds a table others reference runs with foreign keys
        // off, as SQLite's documented procedure for schema changes has it (with them
        // on, dropping the old table would delete, cascade and check row by row), and
        // checks the tables it names before it commits.
        let checked = keys_checked(sql);
        if checked.is_some() {
            conn.execute_batch("PRAGMA foreign_keys=OFF")?;
        }
        let done = migrate_one(conn, *version, sql, checked.as_deref());
        if checked.is_some() {
            conn.execute_batch("PRAGMA foreign_keys=ON")?;
        }
        done?;
    }
    Ok(())
}

/// The line a migration carries to run with foreign keys off (see [`apply`]),
/// followed by the tables whose references are checked before it commits.
const FOREIGN_KEYS_OFF: &str = "-- entreposto: foreign keys off, then check";

/// The tables a migration marked [`FOREIGN_KEYS_OFF`] checks, if it is marked.
fn keys_checked(sql: &str) -> Option<Vec<String>> {
    sql.lines()
        .find_map(|l| l.trim().strip_prefix(FOREIGN_KEYS_OFF))
        .map(|rest| rest.split_whitespace().map(str::to_string).collect())
}

/// Applies one migration in its own transaction, recording its version.
fn migrate_one(
    conn: &mut Connection,
    version: i64,
    sql: &str,
    checked: Option<&[String]>,
) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(sql)?;
    for table in checked.unwrap_or_default() {
        let broken: Option<String> = tx
            .query_row(
                "SELECT \"table\" FROM pragma_foreign_key_check(?1) LIMIT 1",
                [table],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(table) = broken {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
                Some(format!(
                    "migration {version} left {table} with a broken reference"
                )),
            ));
        }
    }
    tx.execute(
        "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
        params![version, Timestamp::now().micros()],
    )?;
    tx.commit()
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and applies migrations.
    pub fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<SqliteStore> {
        let path = path.as_ref().to_path_buf();
        let mut wconn = open_conn(&path, &options, false).map_err(map_err)?;
        migrate(&mut wconn)?;
        let vfs = vfs::name_of(&wconn).unwrap_or_else(|| "unknown".into());
        tracing::debug!(%vfs, path = %path.display(), "SQLite database opened");
        // Fold whatever WAL a previous process left (a bulk import, a crash) into the
        // database file: every read looks pages up in the WAL index first, so a large
        // leftover WAL slows all reads until the next checkpoint.
        wconn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(map_err)?;

        // Bounded (see `SqliteOptions::writer_queue`): the writer holds at most this many
        // waiting jobs plus the group it is committing.
        let (wtx, wrx) = crossbeam_channel::bounded::<WriteJob>(options.writer_queue.max(1));
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
        let cconn = open_conn(&path, &options, false).map_err(map_err)?;
        let weak = Arc::downgrade(&generation);
        thread::Builder::new()
            .name("sqlite-checkpointer".into())
            .spawn(move || checkpointer(cconn, weak))
            .map_err(|e| StoreError::Other(e.to_string()))?;

        let (rtx, rrx) = crossbeam_channel::bounded::<ReadJob>(options.reader_queue());
        for i in 0..options.readers.max(1) {
            let conn = open_conn(&path, &options, true).map_err(map_err)?;
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
            snapshots: SnapshotPool::new(path.clone(), options.clone(), generation.clone()),
            generation,
            counts: Default::default(),
            writer: wtx,
            readers: rtx,
            path,
            vfs,
            events: Arc::new(tokio::sync::watch::Sender::new(0)),
            payloads: Arc::new(entreposto_store::PlainPayloads),
            sealer: Arc::default(),
        })
    }

    /// The commit generation: it changes whenever this process commits a write.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The VFS the database runs on, as SQLite reports it: `entreposto-unix/unix`
    /// through our shim, `unix` without it (`SqliteOptions::vfs_shim`).
    pub fn vfs(&self) -> &str {
        &self.vfs
    }

    /// Runs `f` right here, on the calling thread, on a pooled read connection whose
    /// snapshot is reused while current (see [`snapshot`]).
    ///
    /// For primary-key lookups that take microseconds, handing the work to a reader
    /// thread and waking the caller again costs more than the query (two context
    /// switches on a two-core machine), and so would `block_in_place` around every
    /// read (a micro-benchmark here: about 12 µs more per call with both workers
    /// busy). Only bounded, indexed point reads may use this: it briefly occupies an
    /// async worker thread. What could hold that thread long, waiting for a lock,
    /// cannot happen here: the first try never waits, and a read that would have to is
    /// retried off the worker (see [`snapshot`]); what remains is the few pages a point
    /// lookup touches, read from the memory map. `f` may therefore run twice.
    pub(crate) fn read_now<T>(&self, f: impl Fn(&Connection) -> Result<T>) -> Result<T> {
        self.snapshots.with(f)
    }

    /// Jobs waiting for the writer and for the readers, now: never more than
    /// [`SqliteOptions::writer_queue`] and the reader queue's bound.
    pub fn queued(&self) -> (usize, usize) {
        (self.writer.len(), self.readers.len())
    }

    /// Runs `f` on a reader thread: for scans and anything that may take a while.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.readers
            .try_send(Box::new(move |conn| {
                let _ = tx.send(f(conn));
            }))
            .map_err(|e| refused(e, "reader pool"))?;
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
        // A full queue refuses the write before it runs: the caller hears `Busy` and
        // nothing was written, so no acknowledged write can be lost to the bound.
        self.writer
            .try_send(job)
            .map_err(|e| refused(e, "writer"))?;
        rx.await
            .map_err(|_| StoreError::Other("writer dropped the request".into()))?
    }
}

/// Why a job could not be queued: a full queue is overload (`Busy`, retry later), a
/// disconnected one a stopped thread.
fn refused<J>(e: crossbeam_channel::TrySendError<J>, queue: &str) -> StoreError {
    match e {
        crossbeam_channel::TrySendError::Full(_) => {
            tracing::debug!(queue, "SQLite queue full, refusing");
            StoreError::Busy
        }
        crossbeam_channel::TrySendError::Disconnected(_) => {
            StoreError::Other(format!("{queue} stopped"))
        }
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

/// SQLite's plan for `sql` with parameters `p`, one line per step, for tests that pin
/// which index a query walks.
#[cfg(test)]
pub(crate) fn query_plan(store: &SqliteStore, sql: &str, p: Vec<rusqlite::types::Value>) -> String {
    store
        .read_now(|c| {
            let mut s = c
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .map_err(map_err)?;
            let rows = s
                .query_map(rusqlite::params_from_iter(p.clone()), |r| {
                    r.get::<_, String>(3)
                })
                .map_err(map_err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
        })
        .unwrap()
        .join("\n")
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

    async fn reseal_secrets(
        &self,
        lost: entreposto_store::sealing::LostSecrets,
    ) -> Result<entreposto_store::sealing::Resealed> {
        let sealer = self.sealer.clone();
        self.write(move |c| webhooks::reseal_secrets(c, &sealer, lost))
            .await
    }

    /// Ticket, order and messages from one snapshot: one consistent view, and one
    /// pool checkout instead of three.
    async fn get_ticket_detail(&self, scope: &Scope, id: i64) -> Result<TicketDetail> {
        self.read_now(|c| tickets::load_detail(c, scope, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Memory statistics (one global mutex per SQLite allocation) are compiled out by
    /// `.cargo/config.toml`, which is why no runtime `sqlite3_config` call (unsafe)
    /// is needed to turn them off.
    #[test]
    fn memory_statistics_are_compiled_out() {
        let conn = Connection::open_in_memory().unwrap();
        let mut stmt = conn.prepare("PRAGMA compile_options").unwrap();
        let options: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
    }

    /// Every connection of a store (writer, reader threads, inline snapshots) runs on
    /// the VFS the switch chose.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_vfs_switch_reaches_every_connection() {
        for (shim, expected) in [(true, "entreposto-unix/unix"), (false, "unix")] {
            let dir = std::env::temp_dir().join(format!("entreposto-vfs-switch-{}", new_id()));
            std::fs::create_dir_all(&dir).unwrap();
            let options = SqliteOptions {
                vfs_shim: shim,
                ..SqliteOptions::default()
            };
            let store = SqliteStore::open(dir.join("t.db"), options).unwrap();
            assert_eq!(store.vfs(), expected);
            let pooled = store.read(|c| Ok(vfs::name_of(c))).await.unwrap();
            assert_eq!(pooled.as_deref(), Some(expected));
            let inline = store.read_now(|c| Ok(vfs::name_of(c))).unwrap();
            assert_eq!(inline.as_deref(), Some(expected));
            let written = store.write(|c| Ok(vfs::name_of(c))).await.unwrap();
            assert_eq!(written.as_deref(), Some(expected));
            drop(store);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    /// The reader queue is bounded too: with its one reader busy and its one slot
    /// taken, a further read is refused with `Busy` at once; the queued one still runs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_reader_queue_refuses_reads() {
        let dir = std::env::temp_dir().join(format!("entreposto-readq-{}", new_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let options = SqliteOptions {
            readers: 1,
            reader_queue: Some(1),
            ..SqliteOptions::default()
        };
        let store = Arc::new(SqliteStore::open(dir.join("t.db"), options).unwrap());
        let (started_tx, started_rx) = oneshot::channel::<()>();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let busy_reader = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .read(move |_| {
                        let _ = started_tx.send(());
                        release_rx
                            .recv_timeout(Duration::from_secs(10))
                            .map_err(|_| StoreError::Other("never released".into()))
                    })
                    .await
            })
        };
        started_rx.await.unwrap();
        let queued = {
            let store = store.clone();
            tokio::spawn(async move { store.read(|_| Ok(7)).await })
        };
        while store.queued().1 == 0 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(store.read(|_| Ok(0)).await, Err(StoreError::Busy)));
        assert_eq!(store.queued().1, 1);
        release_tx.send(()).unwrap();
        busy_reader.await.unwrap().unwrap();
        assert_eq!(queued.await.unwrap().unwrap(), 7);
        assert_eq!(store.read(|_| Ok(1)).await.unwrap(), 1);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn new_id() -> String {
        entreposto_store::new_id()
    }
}
