//! A VFS over SQLite's own `unix` one that keeps a connection's memory map of the
//! database across other connections' commits.
//!
//! Reads go through a memory map of the whole file (`mmap_size`, see `open_conn`).
//! SQLite drops that map every time a connection begins a read transaction after any
//! commit (`pagerBeginReadTransaction`: "changed" -> `xUnfetch(fd, 0, NULL)`), in case
//! another process truncated the file. Each drop is a `munmap` of everything the
//! connection had touched (page-table teardown and a TLB shootdown across the
//! process's threads), and every page is faulted in again afterwards; under a steady
//! stream of writes every read paid for it, about a sixth of the request threads' time
//! while seller replies were being written.
//!
//! This shim forwards everything to `unix` except that whole-file unmap, which it
//! skips while the file is neither smaller than when the map was made nor larger by
//! [`REMAP_GROWTH`] or more. Keeping the map is safe: it is `MAP_SHARED`, so it always
//! shows the file's current pages; a transaction only reads pages below its snapshot's
//! size, and a checkpoint shrinks the file (only ever after a `VACUUM`) only once every
//! reader is on a snapshot of the smaller size (stock SQLite keeps a larger map across
//! such a checkpoint too); a shrink below the map's size is forwarded anyway. Pages
//! past the end of the map (the file grew) are read with `pread` until the growth
//! passes [`REMAP_GROWTH`] and the map is rebuilt at the new size. Like WAL mode itself,
//! this assumes one host whose page cache serves both the map and `pread`/`pwrite` (a
//! local filesystem, not a network or `direct_io` mount).
//!
//! This is the crate's only unsafe code; `[sqlite] vfs_shim = false`
//! (`SqliteOptions::vfs_shim`) opens every connection on SQLite's own `unix` VFS
//! instead, with the same results (the contract suite runs on both).

use std::ffi::{c_char, c_int, c_void, CStr};
use std::mem::size_of;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use rusqlite::ffi;

/// The name connections open the database with.
pub(crate) const NAME: &CStr = c"entreposto-unix";

/// How far the file may grow past the map before the map is rebuilt to cover it.
const REMAP_GROWTH: i64 = 64 * 1024 * 1024;

/// SQLite's `unix` VFS, which this one wraps (a `*mut sqlite3_vfs`).
static REAL: AtomicUsize = AtomicUsize::new(0);
/// Whole-file unmaps skipped, counted in tests only (a shared counter bumped on every
/// read after a commit would bounce its cache line between cores).
#[cfg(test)]
static KEPT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Our file handle: SQLite allocates `szOsFile` bytes, this header followed by the
/// `unix` VFS's own handle.
#[repr(C)]
struct File {
    base: ffi::sqlite3_file,
    real: *mut ffi::sqlite3_file,
    /// The file's size when its map was made (read at the first fetch after the map
    /// was dropped; SQLite maps the whole file as it is then).
    mapped_size: i64,
    /// The map was dropped and the next fetch makes a new one.
    remapping: bool,
}

/// Registers the VFS (once per process). Connections must name it ([`NAME`]).
pub(crate) fn register() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        // SAFETY: sqlite3_vfs_find and sqlite3_vfs_register are thread-safe; the struct
        // registered is leaked, so it outlives every connection, as SQLite requires.
        unsafe {
            let real = ffi::sqlite3_vfs_find(c"unix".as_ptr());
            if real.is_null() {
                return Err("SQLite has no unix VFS".into());
            }
            REAL.store(real as usize, Ordering::Release);
            // The unix methods we do not wrap (xDelete, xAccess, ...) are called with our
            // VFS and read only fields copied here (mxPathname, pAppData).
            let mut vfs: ffi::sqlite3_vfs = *real;
            vfs.szOsFile = (size_of::<File>() + (*real).szOsFile as usize) as c_int;
            vfs.zName = NAME.as_ptr();
            vfs.pNext = ptr::null_mut();
            vfs.xOpen = Some(open);
            let rc = ffi::sqlite3_vfs_register(Box::into_raw(Box::new(vfs)), 0);
            if rc == ffi::SQLITE_OK {
                Ok(())
            } else {
                Err(format!("registering the VFS failed: {rc}"))
            }
        }
    })
    .clone()
}

/// Whole-file unmaps skipped so far, process-wide.
#[cfg(test)]
pub(crate) fn unmaps_kept() -> u64 {
    KEPT.load(Ordering::Relaxed)
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let real_vfs = REAL.load(Ordering::Acquire) as *mut ffi::sqlite3_vfs;
    let f = file as *mut File;
    let real = (file as *mut u8).add(size_of::<File>()) as *mut ffi::sqlite3_file;
    (*f).base.pMethods = ptr::null();
    (*f).real = real;
    (*f).mapped_size = 0;
    (*f).remapping = true;
    (*real).pMethods = ptr::null();
    let Some(x_open) = (*real_vfs).xOpen else {
        return ffi::SQLITE_CANTOPEN;
    };
    let rc = x_open(real_vfs, name, real, flags, out_flags);
    // SQLite calls xClose exactly when pMethods is set.
    if !(*real).pMethods.is_null() {
        (*f).base.pMethods = &METHODS;
    }
    rc
}

/// The wrapped handle and its methods.
unsafe fn inner(
    f: *mut ffi::sqlite3_file,
) -> (*mut ffi::sqlite3_file, &'static ffi::sqlite3_io_methods) {
    let real = (*(f as *mut File)).real;
    (real, &*(*real).pMethods)
}

/// Forwards an io method to the wrapped handle; a method the wrapped VFS lacks answers
/// `$missing`.
macro_rules! forward {
    ($name:ident, $method:ident, $missing:expr, ($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        unsafe extern "C" fn $name(f: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> $ret {
            let (real, m) = inner(f);
            match m.$method {
                Some(method) => method(real $(, $arg)*),
                None => $missing,
            }
        }
    };
}

forward!(close, xClose, ffi::SQLITE_OK, () -> c_int);
forward!(read, xRead, ffi::SQLITE_IOERR, (buf: *mut c_void, amt: c_int, off: i64) -> c_int);
forward!(write, xWrite, ffi::SQLITE_IOERR, (buf: *const c_void, amt: c_int, off: i64) -> c_int);
forward!(truncate, xTruncate, ffi::SQLITE_IOERR, (size: i64) -> c_int);
forward!(sync, xSync, ffi::SQLITE_IOERR, (flags: c_int) -> c_int);
forward!(file_size, xFileSize, ffi::SQLITE_IOERR, (size: *mut i64) -> c_int);
forward!(lock, xLock, ffi::SQLITE_IOERR, (level: c_int) -> c_int);
forward!(unlock, xUnlock, ffi::SQLITE_IOERR, (level: c_int) -> c_int);
forward!(check_reserved_lock, xCheckReservedLock, ffi::SQLITE_IOERR, (out: *mut c_int) -> c_int);
forward!(forward_file_control, xFileControl, ffi::SQLITE_NOTFOUND, (op: c_int, arg: *mut c_void) -> c_int);

/// Forwards file controls; `SQLITE_FCNTL_VFSNAME` answers `entreposto-unix/unix`, our
/// name in front of the wrapped VFS's, as SQLite's own shims do (`vfstrace`), so a
/// connection can tell which VFS it runs on (see [`name_of`]).
unsafe extern "C" fn file_control(f: *mut ffi::sqlite3_file, op: c_int, arg: *mut c_void) -> c_int {
    let rc = forward_file_control(f, op, arg);
    if op == ffi::SQLITE_FCNTL_VFSNAME && rc == ffi::SQLITE_OK {
        let out = arg as *mut *mut c_char;
        // `%z` frees the wrapped VFS's string once it is copied.
        *out = if (*out).is_null() {
            ffi::sqlite3_mprintf(c"%s".as_ptr(), NAME.as_ptr())
        } else {
            ffi::sqlite3_mprintf(c"%s/%z".as_ptr(), NAME.as_ptr(), *out)
        };
    }
    rc
}

/// The VFS stack `conn`'s main database file runs on: `entreposto-unix/unix` through
/// this shim, `unix` without it.
pub(crate) fn name_of(conn: &rusqlite::Connection) -> Option<String> {
    let mut out: *mut c_char = ptr::null_mut();
    // SAFETY: the handle is valid while `conn` is borrowed; SQLITE_FCNTL_VFSNAME writes
    // a string from sqlite3_malloc (or nothing) into `out`, which we copy and free.
    unsafe {
        let rc = ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            ffi::SQLITE_FCNTL_VFSNAME,
            (&mut out as *mut *mut c_char).cast(),
        );
        if rc != ffi::SQLITE_OK || out.is_null() {
            return None;
        }
        let name = CStr::from_ptr(out).to_string_lossy().into_owned();
        ffi::sqlite3_free(out.cast());
        Some(name)
    }
}
forward!(sector_size, xSectorSize, 4096, () -> c_int);
forward!(device_characteristics, xDeviceCharacteristics, 0, () -> c_int);
forward!(shm_map, xShmMap, ffi::SQLITE_IOERR, (region: c_int, size: c_int, extend: c_int, out: *mut *mut c_void) -> c_int);
forward!(shm_lock, xShmLock, ffi::SQLITE_IOERR, (offset: c_int, n: c_int, flags: c_int) -> c_int);
forward!(shm_unmap, xShmUnmap, ffi::SQLITE_OK, (delete: c_int) -> c_int);

unsafe extern "C" fn fetch(
    f: *mut ffi::sqlite3_file,
    off: i64,
    amt: c_int,
    out: *mut *mut c_void,
) -> c_int {
    let (real, m) = inner(f);
    let Some(method) = m.xFetch else {
        *out = ptr::null_mut();
        return ffi::SQLITE_OK;
    };
    let rc = method(real, off, amt, out);
    // The first fetch after a drop maps the file at its current size: note that size,
    // which later skips are measured against (a shrink below it is never skipped).
    let file = &mut *(f as *mut File);
    if file.remapping && rc == ffi::SQLITE_OK {
        if let Some(file_size) = m.xFileSize {
            let mut size = 0_i64;
            if file_size(real, &mut size) == ffi::SQLITE_OK {
                file.mapped_size = size;
                file.remapping = false;
            }
        }
    }
    rc
}

unsafe extern "C" fn shm_barrier(f: *mut ffi::sqlite3_file) {
    let (real, m) = inner(f);
    if let Some(method) = m.xShmBarrier {
        method(real)
    }
}

/// `xUnfetch(fd, 0, NULL)` drops the whole map; see the module comment for when that
/// is skipped. Releasing one fetched page (`p` set) is always forwarded.
unsafe extern "C" fn unfetch(f: *mut ffi::sqlite3_file, off: i64, p: *mut c_void) -> c_int {
    let (real, m) = inner(f);
    if p.is_null() && off == 0 {
        let mut size = 0_i64;
        if let Some(file_size) = m.xFileSize {
            if file_size(real, &mut size) == ffi::SQLITE_OK {
                let file = &mut *(f as *mut File);
                if size >= file.mapped_size && size - file.mapped_size < REMAP_GROWTH {
                    #[cfg(test)]
                    KEPT.fetch_add(1, Ordering::Relaxed);
                    return ffi::SQLITE_OK;
                }
                file.remapping = true;
            }
        }
    }
    match m.xUnfetch {
        Some(method) => method(real, off, p),
        None => ffi::SQLITE_OK,
    }
}

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: Some(shm_map),
    xShmLock: Some(shm_lock),
    xShmBarrier: Some(shm_barrier),
    xShmUnmap: Some(shm_unmap),
    xFetch: Some(fetch),
    xUnfetch: Some(unfetch),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{open_conn, SqliteOptions};

    /// A reader that begins a transaction after another connection's commit keeps its
    /// map (the skip is counted) and still reads the committed rows.
    #[test]
    fn readers_keep_their_map_and_see_commits() {
        let dir = std::env::temp_dir().join(format!("entreposto-vfs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("vfs.db");
        let writer = open_conn(&path, &SqliteOptions::default(), false).unwrap();
        writer
            .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
            .unwrap();
        let reader = open_conn(&path, &SqliteOptions::default(), true).unwrap();
        let count = |c: &rusqlite::Connection| -> i64 {
            c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(count(&reader), 0);
        let kept = unmaps_kept();
        for i in 1..=20_i64 {
            writer
                .execute("INSERT INTO t (v) VALUES (?1)", [format!("row {i}")])
                .unwrap();
            assert_eq!(count(&reader), i);
        }
        assert!(unmaps_kept() > kept, "no unmap was skipped");
        let last: String = reader
            .query_row("SELECT v FROM t ORDER BY id DESC LIMIT 1", [], |r| r.get(0))
            .unwrap();
        assert_eq!(last, "row 20");
        assert_eq!(name_of(&reader).as_deref(), Some("entreposto-unix/unix"));
        drop((reader, writer));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
