//! The workspace's layering, read from `cargo metadata`: the edge (the shared HTTP
//! crate, every dialect crate, the native API) and the domain never reach a storage
//! backend, and the domain carries no storage crate or storage format.
//!
//! Dependencies are followed through the workspace's own crates, so a dialect that
//! reached SQLite through another crate of ours would fail too.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

const BACKENDS: [&str; 2] = ["entreposto-store-sqlite", "entreposto-store-postgres"];

/// Each workspace package's dependencies by name: (name, kind), kind `None` for
/// normal ones.
fn workspace() -> BTreeMap<String, Vec<(String, Option<String>)>> {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .map(|d| {
                    (
                        d["name"].as_str().expect("name").to_string(),
                        d["kind"].as_str().map(str::to_string),
                    )
                })
                .collect();
            (p["name"].as_str().expect("name").to_string(), deps)
        })
        .collect()
}

/// Every crate `name` depends on: directly (any kind, tests included), and through
/// the workspace crates it builds with (normal and build dependencies).
fn reach(ws: &BTreeMap<String, Vec<(String, Option<String>)>>, name: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = ws[name].iter().map(|(d, _)| d.clone()).collect();
    while let Some(d) = todo.pop() {
        if !seen.insert(d.clone()) {
            continue;
        }
        if let Some(deps) = ws.get(&d) {
            todo.extend(
                deps.iter()
                    .filter(|(_, kind)| kind.as_deref() != Some("dev"))
                    .map(|(n, _)| n.clone()),
            );
        }
    }
    seen
}

#[test]
fn the_edge_and_the_domain_reach_no_storage_backend() {
    let ws = workspace();
    let edge: Vec<&String> = ws
        .keys()
        .filter(|n| {
            n.starts_with("entreposto-dialect-")
                || *n == "entreposto-api-native"
                || *n == "entreposto-http"
                || *n == "entreposto-domain"
        })
        .collect();
    // The four dialects, the native API, http and domain: a renamed crate must not
    // slip out of the check.
    assert_eq!(edge.len(), 7, "{edge:?}");
    for name in edge {
        let reached = reach(&ws, name);
        for backend in BACKENDS {
            assert!(!reached.contains(backend), "{name} depends on {backend}");
        }
    }
}

#[test]
fn the_domain_has_no_storage_crate_and_no_storage_format() {
    let ws = workspace();
    let reached = reach(&ws, "entreposto-domain");
    for forbidden in ["postcard", "rusqlite", "tokio-postgres"] {
        assert!(
            !reached.contains(forbidden),
            "entreposto-domain depends on {forbidden}"
        );
    }
    let storage: Vec<_> = reached
        .iter()
        .filter(|d| d.starts_with("entreposto-store"))
        .collect();
    assert!(
        storage.is_empty(),
        "entreposto-domain depends on {storage:?}"
    );
}

#[test]
fn the_check_sees_a_backend_where_there_is_one() {
    // The server wires the backends in: if this found nothing, the checks above
    // would prove nothing.
    let reached = reach(&workspace(), "entreposto");
    for backend in BACKENDS {
        assert!(reached.contains(backend), "{backend}");
    }
}
