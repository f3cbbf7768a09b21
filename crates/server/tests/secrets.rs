//! Secrets at rest (`[secrets] key`), through the real binary on SQLite and
//! PostgreSQL: a webhook endpoint's signing secret, a change feed's headers and the
//! response kept for the endpoint's creation under an `Idempotency-Key` (which
//! shows the secret), stored before a key was set, are resealed when a command opens the database with
//! one; the rows then hold neither the secret nor the header (read with the
//! database's own driver); deliveries are still signed with the secret the endpoint
//! was created with; a rotated key reseals everything under the new key while the
//! old one opens; and a database whose values no configured key opens stops the
//! command with an error naming the setting, instead of signing with garbage.

mod common;

use std::process::Command;

use common::receiver::{verify, Receiver};
use common::{bearer, cli_with_env, fresh_database, order_body, serve_with_env, Backend, TempDir};
use serde_json::{json, Value};

binary_on_both_backends!(stored_secrets_are_sealed_resealed_and_still_sign);

/// A running `serve` (the harness kills it if the test fails before [`Server::stop`]).
struct Server(Option<common::Served>);

impl Server {
    fn start(db: &str, env: &[(&str, &str)]) -> (Server, String) {
        let (child, base) = serve_with_env(db, env);
        (Server(Some(child)), base)
    }

    /// Stops it as an operator would (SIGTERM), so it hands back what it holds (the
    /// outbox sinks' leases) and the next server starts delivering at once.
    fn stop(mut self) {
        let mut child = self.0.take().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        assert!(child.wait().expect("wait").success());
    }
}

/// The stored `secret` of the only endpoint, `headers` of the only feed and the only
/// kept response, as the database holds them.
async fn stored(backend: Backend, db: &str) -> (String, String, Option<Vec<u8>>) {
    match backend {
        Backend::Sqlite => {
            let c = rusqlite::Connection::open(db).expect("open the SQLite file");
            let secret = c
                .query_row("SELECT secret FROM webhook_endpoints", [], |r| r.get(0))
                .expect("the endpoint's secret");
            let headers = c
                .query_row("SELECT headers FROM change_feeds", [], |r| r.get(0))
                .expect("the feed's headers");
            let body = rusqlite::OptionalExtension::optional(c.query_row(
                "SELECT body FROM idempotency_keys",
                [],
                |r| r.get(0),
            ))
            .expect("the kept response");
            (secret, headers, body)
        }
        Backend::Postgres => {
            let (client, conn) = tokio_postgres::connect(db, tokio_postgres::NoTls)
                .await
                .expect("connect to PostgreSQL");
            tokio::spawn(conn);
            let secret = client
                .query_one("SELECT secret FROM webhook_endpoints", &[])
                .await
                .expect("the endpoint's secret")
                .get(0);
            let headers = client
                .query_one("SELECT headers FROM change_feeds", &[])
                .await
                .expect("the feed's headers")
                .get(0);
            let body = client
                .query_opt("SELECT body FROM idempotency_keys", &[])
                .await
                .expect("the kept response")
                .map(|r| r.get(0));
            (secret, headers, body)
        }
    }
}

/// The key id a sealed value names (`sealed:v1:<id>:...`).
fn key_id(stored: &str) -> &str {
    stored
        .strip_prefix("sealed:v1:")
        .and_then(|r| r.split(':').next())
        .unwrap_or_else(|| panic!("not sealed: {stored}"))
}

const ERP_TOKEN: &str = "Bearer erp-token-7f3a";

async fn stored_secrets_are_sealed_resealed_and_still_sign(backend: Backend) {
    let dir = TempDir::new();
    let db = fresh_database(backend, &dir).await.expect("database");
    let hub: &[(&str, &str)] = &[
        ("ENTREPOSTO_WEBHOOKS__ALLOW_PRIVATE_ADDRESSES", "true"),
        ("ENTREPOSTO_NOTIFICATIONS__POLLER", "false"),
    ];
    let (ok, op, err) = cli_with_env(&db, hub, &["operator", "create", "--name", "Marketplace"]);
    assert!(ok, "{err}");
    let token = bearer(&format!("Bearer {}", op["token"].as_str().unwrap()));
    let (ok, seller, err) = cli_with_env(
        &db,
        hub,
        &[
            "seller",
            "create",
            "--operator",
            op["id"].as_str().unwrap(),
            "--name",
            "Loja",
        ],
    );
    assert!(ok, "{err}");
    let seller = seller["id"].as_str().unwrap().to_string();
    let receiver = Receiver::start().await;
    let http = reqwest::Client::new();
    let call = |base: &str, method: reqwest::Method, path: &str, body: Value| {
        let mut req = http.request(method, format!("{base}{path}")).json(&body);
        for (k, v) in &token {
            req = req.header(k, v);
        }
        req.send()
    };
    let hook = json!({"url": format!("{}/hook", receiver.url)});
    let create_hook = |base: &str| {
        let mut req = http
            .post(format!("{base}/api/v1/webhooks"))
            .header("Idempotency-Key", "create-hook-1")
            .json(&hook);
        for (k, v) in &token {
            req = req.header(k, v);
        }
        req.send()
    };

    // Before any key: an endpoint and a feed, stored as they are.
    let (server, base) = Server::start(&db, hub);
    let r = create_hook(&base).await.unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_string();
    let r = call(
        &base,
        reqwest::Method::PUT,
        &format!("/api/v1/sellers/{seller}/change-feed"),
        json!({"url": "https://erp.example.com/changes", "headers": {"Authorization": ERP_TOKEN}}),
    )
    .await
    .unwrap();
    assert!(r.status().is_success(), "{:?}", r.text().await);
    server.stop();
    let (s, h, b) = stored(backend, &db).await;
    assert_eq!(s, secret, "without a key the secret is stored as it is");
    assert!(h.contains("erp-token-7f3a"), "{h}");
    assert!(String::from_utf8_lossy(&b.unwrap()).contains(&secret));

    // A key set: the first command to open the database reseals both.
    let (ok, _, _) = cli_with_env(&db, &[], &["secrets", "new-key"]);
    assert!(ok);
    let k1 = cli_with_env(&db, &[], &["secrets", "new-key"]).1["key"]
        .as_str()
        .unwrap()
        .to_string();
    let k2 = cli_with_env(&db, &[], &["secrets", "new-key"]).1["key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(k1, k2);
    let with_k1 = [("ENTREPOSTO_SECRETS__KEY", k1.as_str())];
    let (ok, out, err) = cli_with_env(&db, &with_k1, &["secrets", "reseal"]);
    assert!(ok, "{err}");
    assert_eq!(out["resealed"], 3, "{out}");
    let (s1, h1, b1) = stored(backend, &db).await;
    assert!(!s1.contains(&secret) && !s1.contains("whsec_"), "{s1}");
    assert!(!h1.contains("erp-token"), "{h1}");
    let b1 = String::from_utf8(b1.unwrap()).unwrap();
    assert!(!b1.contains("whsec_"), "{b1}");
    assert_eq!(key_id(&s1), key_id(&h1));
    assert_eq!(key_id(&s1), key_id(&b1));
    let (ok, out, err) = cli_with_env(&db, &with_k1, &["secrets", "reseal"]);
    assert!(ok && out["resealed"] == 0, "{out} {err}");

    // Serving with the key: deliveries are signed with the endpoint's own secret,
    // and the feed reads back with its headers.
    let mut env = hub.to_vec();
    env.extend(with_k1);
    let (server, base) = Server::start(&db, &env);
    let r = call(
        &base,
        reqwest::Method::POST,
        "/api/v1/orders",
        order_body(&seller, "S-1"),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let got = receiver
        .wait_for("the order's event", |r| !r.is_empty())
        .await;
    assert!(
        verify(&got[0], &secret),
        "signed with the endpoint's secret"
    );
    let r = call(
        &base,
        reqwest::Method::GET,
        &format!("/api/v1/sellers/{seller}/change-feed"),
        Value::Null,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let feed: Value = r.json().await.unwrap();
    assert!(
        feed.to_string().contains("Authorization"),
        "the feed keeps its headers: {feed}"
    );
    server.stop();

    // Rotated: k2 seals, k1 still opens, and everything moves to k2.
    let rotated = [
        ("ENTREPOSTO_SECRETS__KEY", k2.as_str()),
        ("ENTREPOSTO_SECRETS__PREVIOUS_KEYS", &format!("[\"{k1}\"]")),
    ];
    let (ok, out, err) = cli_with_env(&db, &rotated, &["secrets", "reseal"]);
    assert!(ok, "{err}");
    assert_eq!(out["resealed"], 3, "{out}");
    let (s2, h2, b2) = stored(backend, &db).await;
    assert_ne!(key_id(&s2), key_id(&s1));
    assert_eq!(key_id(&s2), key_id(&h2));
    assert_eq!(
        key_id(&s2),
        key_id(std::str::from_utf8(b2.as_deref().unwrap()).unwrap())
    );
    let (ok, out, err) = cli_with_env(
        &db,
        &[("ENTREPOSTO_SECRETS__KEY", &k2)],
        &["secrets", "reseal"],
    );
    assert!(
        ok && out["resealed"] == 0,
        "k2 alone opens everything: {out} {err}"
    );

    // No key that opens them: the command stops, naming the setting, and writes nothing.
    let (ok, _, err) = cli_with_env(&db, &with_k1, &["secrets", "reseal"]);
    assert!(!ok && err.contains("previous_keys"), "{err}");
    let (ok, _, err) = cli_with_env(
        &db,
        &[],
        &["webhook", "list", "--operator", op["id"].as_str().unwrap()],
    );
    assert!(!ok && err.contains("[secrets]"), "{err}");
    assert_eq!(
        stored(backend, &db).await,
        (s2.clone(), h2.clone(), b2.clone())
    );

    // k2 lost: the recovery replaces what no key opens. The endpoint keeps its URL
    // with a new secret, disabled until its operator rotates and enables it; the feed
    // loses its headers and is disabled; the kept response goes.
    // The error names the key; another id discards nothing.
    let (ok, _, err) = cli_with_env(&db, &with_k1, &["secrets", "reseal"]);
    assert!(!ok && err.contains(key_id(&s2)), "{err}");
    let (ok, _, err) = cli_with_env(
        &db,
        &with_k1,
        &["secrets", "reseal", "--discard-lost-key", "0badc0de"],
    );
    assert!(!ok && err.contains("previous_keys"), "{err}");
    assert_eq!(
        stored(backend, &db).await,
        (s2.clone(), h2.clone(), b2.clone())
    );
    let (ok, out, err) = cli_with_env(
        &db,
        &with_k1,
        &["secrets", "reseal", "--discard-lost-key", key_id(&s2)],
    );
    assert!(ok, "{err}");
    assert_eq!(
        (out["resealed"].clone(), out["discarded"].clone()),
        (json!(0), json!(3)),
        "{out}"
    );
    let (s3, h3, b3) = stored(backend, &db).await;
    assert_eq!(key_id(&s3), key_id(&s1), "sealed under k1 now");
    assert_eq!(key_id(&h3), key_id(&s1));
    assert_eq!(b3, None);
    let (ok, hooks, err) = cli_with_env(
        &db,
        &with_k1,
        &["webhook", "list", "--operator", op["id"].as_str().unwrap()],
    );
    assert!(ok, "{err}");
    let hook = hooks
        .as_array()
        .and_then(|a| a.first())
        .or_else(|| hooks["items"].as_array().and_then(|a| a.first()))
        .unwrap_or_else(|| panic!("one endpoint: {hooks}"));
    assert_eq!(hook["id"], created["id"]);
    assert_eq!(hook["enabled"], false, "{hook}");
    let (server, base) = Server::start(&db, &env);
    let r = call(
        &base,
        reqwest::Method::GET,
        &format!("/api/v1/sellers/{seller}/change-feed"),
        Value::Null,
    )
    .await
    .unwrap();
    let feed: Value = r.json().await.unwrap();
    assert_eq!(
        (feed["enabled"].clone(), feed["headers"].clone()),
        (json!(false), json!([])),
        "{feed}"
    );
    server.stop();

    // A bad key is refused before anything opens.
    let (ok, _, err) = cli_with_env(
        &db,
        &[("ENTREPOSTO_SECRETS__KEY", "c2hvcnQ=")],
        &["secrets", "reseal"],
    );
    assert!(!ok && err.contains("32 bytes"), "{err}");
}
