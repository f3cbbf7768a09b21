//! Configuration precedence through the real binary: defaults, then the TOML file,
//! then `ENTREPOSTO_*` environment variables, then command-line flags.

mod common;

use std::process::Command;

use common::{TempDir, BIN};

fn run(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> bool {
    let mut c = Command::new(BIN);
    c.current_dir(dir)
        .args(args)
        .env_remove("ENTREPOSTO_DATABASE_URL")
        .env("ENTREPOSTO_LOG_LEVEL", "warn");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run entreposto").status.success()
}

#[test]
fn file_then_environment_then_flags() {
    let dir = TempDir::new();
    let d = &dir.0;
    // Defaults: entreposto.db in the working directory.
    assert!(run(d, &["operator", "create", "--name", "A"], &[]));
    assert!(d.join("entreposto.db").exists());
    // ./entreposto.toml is read when present.
    std::fs::write(
        d.join("entreposto.toml"),
        "database_url = \"fromfile.db\"\n",
    )
    .unwrap();
    assert!(run(d, &["operator", "create", "--name", "B"], &[]));
    assert!(d.join("fromfile.db").exists());
    // The environment overrides the file.
    assert!(run(
        d,
        &["operator", "create", "--name", "C"],
        &[("ENTREPOSTO_DATABASE_URL", "fromenv.db")]
    ));
    assert!(d.join("fromenv.db").exists());
    // A flag overrides both; --config names another file.
    std::fs::write(
        d.join("other.toml"),
        "database_url = \"other.db\"\nsqlite_synchronous = \"full\"\n",
    )
    .unwrap();
    assert!(run(
        d,
        &[
            "--config",
            "other.toml",
            "operator",
            "create",
            "--name",
            "D"
        ],
        &[]
    ));
    assert!(d.join("other.db").exists());
    assert!(run(
        d,
        &[
            "operator",
            "create",
            "--name",
            "E",
            "--database-url",
            "flag.db"
        ],
        &[("ENTREPOSTO_DATABASE_URL", "fromenv.db")]
    ));
    assert!(d.join("flag.db").exists());
    // Bad settings are refused, not ignored.
    assert!(!run(
        d,
        &["operator", "create", "--name", "F"],
        &[("ENTREPOSTO_SQLITE_SYNCHRONOUS", "sometimes")]
    ));
    assert!(!run(
        d,
        &[
            "--config",
            "missing.toml",
            "operator",
            "create",
            "--name",
            "G"
        ],
        &[]
    ));
}
