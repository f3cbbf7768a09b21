//! Unsafe code only where it is the point: every crate of the workspace forbids it at
//! its root, except the two whose unsafe components (SQLite's VFS shim, the JSON
//! writer) each have a switch that turns them off; those deny it and allow it only
//! on the module that needs it. A new crate fails here until it says which it is.

use std::path::Path;

/// Crates allowed unsafe code in some modules, and those modules.
const DENY_WITH_EXCEPTIONS: &[(&str, &[&str])] = &[
    ("store-sqlite", &["mod vfs;"]),
    ("http", &["pub mod json_writer;"]),
];

#[test]
fn every_crate_root_forbids_or_denies_unsafe_code() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut checked = 0;
    for entry in std::fs::read_dir(&crates).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        for root in ["src/lib.rs", "src/main.rs"] {
            let Ok(source) = std::fs::read_to_string(dir.join(root)) else {
                continue;
            };
            checked += 1;
            match DENY_WITH_EXCEPTIONS.iter().find(|(c, _)| *c == name) {
                Some((_, modules)) => {
                    assert!(
                        source.contains("#![deny(unsafe_code)]"),
                        "{name}/{root} must deny unsafe code"
                    );
                    let allowed = source.matches("#[allow(unsafe_code)]").count();
                    assert_eq!(
                        allowed,
                        modules.len(),
                        "{name}/{root}: allow only on {modules:?}"
                    );
                    for m in *modules {
                        assert!(
                            source.contains(&format!("#[allow(unsafe_code)]\n{m}")),
                            "{name}/{root}: {m} should carry the allow"
                        );
                    }
                }
                None => assert!(
                    source.contains("#![forbid(unsafe_code)]"),
                    "{name}/{root} must forbid unsafe code"
                ),
            }
        }
    }
    assert!(checked >= 7, "only {checked} crate roots found");
}
