//! Webhooks' storage contract on SQLite, each case on its own fresh database
//! file (removed when the case's store is dropped).

use std::sync::Arc;

use entreposto_store::Store;
use entreposto_store_sqlite::{SqliteOptions, SqliteStore};

struct TempStore {
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

async fn open() -> Option<TempStore> {
    let dir = std::env::temp_dir().join(format!(
        "entreposto-webhooks-{}",
        entreposto_store::new_id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store = SqliteStore::open(dir.join("test.db"), SqliteOptions::default()).expect("open");
    Some(TempStore {
        store: Arc::new(store),
        dir,
    })
}

entreposto_store::webhooks_contract_tests!(open());
