//! What the SQLite contract suites share: a fresh store on a database file of its own,
//! removed with its directory when the store is dropped.
#![allow(dead_code)]

use std::sync::Arc;

use entreposto_store::Store;
use entreposto_store_sqlite::{SqliteOptions, SqliteStore};

pub struct TempStore {
    store: Arc<dyn Store>,
    dir: std::path::PathBuf,
}

impl std::ops::Deref for TempStore {
    type Target = Arc<dyn Store>;
    fn deref(&self) -> &Arc<dyn Store> {
        &self.store
    }
}

impl Drop for TempStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh store in a directory named after `suite`.
pub async fn open(suite: &str) -> Option<TempStore> {
    let dir =
        std::env::temp_dir().join(format!("entreposto-{suite}-{}", entreposto_store::new_id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store = SqliteStore::open(dir.join("test.db"), SqliteOptions::default()).expect("open");
    Some(TempStore {
        store: Arc::new(store),
        dir,
    })
}
