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

/// The `[sqlite]` and `[http]` sections, from the file and from the environment
/// (double underscore for the section), and a misspelt key refused.
#[test]
fn sections_from_the_file_and_the_environment() {
    let dir = TempDir::new();
    let d = &dir.0;
    std::fs::write(
        d.join("entreposto.toml"),
        "database_url = \"sections.db\"\n\
         [sqlite]\nvfs_shim = false\nwriter_queue = 16\nreader_queue = 8\n\
         [http]\nfast_json = false\ncredential_cache_ttl_ms = 0\n",
    )
    .unwrap();
    assert!(run(d, &["operator", "create", "--name", "A"], &[]));
    assert!(d.join("sections.db").exists());
    assert!(run(
        d,
        &["operator", "create", "--name", "B"],
        &[("ENTREPOSTO_SQLITE__WRITER_QUEUE", "32")]
    ));
    assert!(!run(
        d,
        &["operator", "create", "--name", "C"],
        &[("ENTREPOSTO_SQLITE__WRITER_QUEUE", "many")]
    ));
    std::fs::write(d.join("typo.toml"), "[sqlite]\nvfs_shm = false\n").unwrap();
    assert!(!run(
        d,
        &["--config", "typo.toml", "operator", "create", "--name", "D"],
        &[]
    ));
}

/// Koncili's extract shape, from the file and the environment: the two words it
/// takes, anything else refused at start.
#[test]
fn the_koncili_extract_shape() {
    let dir = TempDir::new();
    let d = &dir.0;
    std::fs::write(
        d.join("entreposto.toml"),
        "database_url = \"shape.db\"\nkoncili_extract_shape = \"array\"\n",
    )
    .unwrap();
    assert!(run(d, &["operator", "create", "--name", "A"], &[]));
    for (value, ok) in [("elements", true), ("array", true), ("bare", false)] {
        assert_eq!(
            run(
                d,
                &["operator", "create", "--name", "B"],
                &[("ENTREPOSTO_KONCILI_EXTRACT_SHAPE", value)]
            ),
            ok,
            "{value}"
        );
    }
    std::fs::write(d.join("bad.toml"), "koncili_extract_shape = \"list\"\n").unwrap();
    assert!(!run(
        d,
        &["--config", "bad.toml", "operator", "create", "--name", "C"],
        &[]
    ));
}

/// Whatever logs the configuration shows no database password.
#[test]
fn the_logged_configuration_hides_the_password() {
    let dir = TempDir::new();
    let out = Command::new(BIN)
        .current_dir(&dir.0)
        .args([
            "--database-url",
            "postgres://user:hunter2@127.0.0.1:1/nowhere?connect_timeout=1",
            "operator",
            "create",
            "--name",
            "A",
        ])
        .env("ENTREPOSTO_LOG_LEVEL", "debug")
        .output()
        .expect("run entreposto");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("user:***@127.0.0.1"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}
