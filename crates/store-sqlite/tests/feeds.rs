//! The change feeds' storage contract on SQLite, each case on its own fresh database file.

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

/// A directory removed on drop.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn open() -> Option<TempStore> {
    let dir = std::env::temp_dir().join(format!("entreposto-feeds-{}", entreposto_store::new_id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store = SqliteStore::open(dir.join("test.db"), SqliteOptions::default()).expect("open");
    Some(TempStore {
        store: Arc::new(store),
        _dir: TempDir(dir),
    })
}

entreposto_store::feed_contract_tests!(open());
