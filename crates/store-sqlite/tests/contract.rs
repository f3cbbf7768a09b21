//! The storage contract on SQLite: each case on its own fresh database file, once
//! with the VFS shim and once with SQLite's own VFS (`vfs_shim = false`).

use std::sync::Arc;

use entreposto_store::Store;
use entreposto_store_sqlite::{SqliteOptions, SqliteStore};

struct TempStore {
    store: Arc<dyn Store>,
    _dir: TempDir,
}

impl std::ops::Deref for TempStore {
    type Target = Arc<dyn Store>;
    fn deref(&self) -> &Arc<dyn Store> {
        &self.store
    }
}

/// A directory removed on drop; enough for a test, no extra dependency.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh store, with our VFS shim or (`vfs_shim: false`) SQLite's own `unix` VFS.
async fn open(vfs_shim: bool) -> Option<TempStore> {
    let dir = std::env::temp_dir().join(format!(
        "entreposto-contract-{}",
        entreposto_store::new_id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let options = SqliteOptions {
        vfs_shim,
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open(dir.join("test.db"), options).expect("open");
    let expected = if vfs_shim {
        "entreposto-unix/unix"
    } else {
        "unix"
    };
    assert_eq!(store.vfs(), expected);
    Some(TempStore {
        store: Arc::new(store),
        _dir: TempDir(dir),
    })
}

/// With the VFS shim (the default).
mod shim {
    use super::*;
    entreposto_app::contract_tests!(open(true));
}

/// The unsafe VFS shim switched off gives the same results.
mod stock_vfs {
    use super::*;
    entreposto_app::contract_tests!(open(false));
}
