//! The domain carries no storage format: over `cargo metadata`, neither it nor anything
//! it depends on (normal and build dependencies, transitively) is a storage backend, a
//! database driver or a binary serde format the backends store with. Storage
//! encodings live in the backend crates (SQLite's `order_codec`, PostgreSQL's
//! `order_json`); a domain type that grows a dependency on one is a stored layout in
//! disguise again.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Crates the domain must not reach. Every workspace crate but the domain itself is
/// refused too (the store traits, the backends, the application, the edge).
const FORBIDDEN: &[&str] = &[
    "postcard",
    "rusqlite",
    "libsqlite3-sys",
    "tokio-postgres",
    "postgres-types",
    "deadpool-postgres",
];

fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata's JSON")
}

/// The names of the packages `root` depends on, transitively, leaving out
/// dev-dependencies (they build the tests, not the crate).
fn dependencies(meta: &Value, root: &str) -> BTreeSet<String> {
    let names: BTreeMap<&str, &str> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let nodes: BTreeMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .expect("resolve nodes")
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let root_id = names
        .iter()
        .find(|(_, name)| **name == root)
        .map(|(id, _)| *id)
        .expect("the root package in the metadata");
    let mut seen = BTreeSet::new();
    let mut todo = vec![root_id];
    while let Some(id) = todo.pop() {
        for dep in nodes[id]["deps"].as_array().expect("deps") {
            let not_dev = dep["dep_kinds"]
                .as_array()
                .expect("dep kinds")
                .iter()
                .any(|k| k["kind"].as_str() != Some("dev"));
            let pkg = dep["pkg"].as_str().unwrap();
            if not_dev && seen.insert(pkg) {
                todo.push(pkg);
            }
        }
    }
    seen.into_iter().map(|id| names[id].to_string()).collect()
}

#[test]
fn the_domain_depends_on_no_storage_crate_or_format() {
    let meta = metadata();
    let deps = dependencies(&meta, "entreposto-domain");
    // The walk sees what the domain does use, so an empty answer cannot pass.
    assert!(deps.contains("chrono"), "{deps:?}");
    let workspace: BTreeSet<String> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["source"].is_null())
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    let reached: Vec<&String> = deps
        .iter()
        .filter(|d| FORBIDDEN.contains(&d.as_str()) || workspace.contains(*d))
        .collect();
    assert!(
        reached.is_empty(),
        "the domain must carry no storage format, but it depends on {reached:?}"
    );
}

/// The names above are the ones the backends really use: a misspelt name would never
/// match anything and the test above would pass for nothing.
#[test]
fn the_forbidden_names_are_the_backends_real_dependencies() {
    let meta = metadata();
    let sqlite = dependencies(&meta, "entreposto-store-sqlite");
    let postgres = dependencies(&meta, "entreposto-store-postgres");
    for name in FORBIDDEN {
        assert!(
            sqlite.contains(*name) || postgres.contains(*name),
            "{name} is no backend's dependency: fix the list"
        );
    }
    assert!(sqlite.contains("entreposto-domain") && postgres.contains("entreposto-domain"));
}
