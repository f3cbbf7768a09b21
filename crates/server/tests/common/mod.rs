//! Test harness: the real application on `127.0.0.1:0` over a real database.
//!
//! Every suite runs each case twice through [`on_both_backends!`]: on a fresh SQLite
//! file, and on a fresh PostgreSQL schema when `ENTREPOSTO_TEST_POSTGRES_URL` is set
//! (otherwise the PostgreSQL variant says it is skipped).
#![allow(dead_code)]

pub mod receiver;
pub mod recon;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use entreposto::config::Config;
use entreposto::mounts::issue_credential;
use entreposto_domain::{Dialect, Operator, Seller, Timestamp};
use entreposto_http::auth::IssuedCredential;
use entreposto_store::{new_id, Store};
use reqwest::Method;
use serde_json::Value;

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let p = std::env::temp_dir().join(format!("entreposto-test-{}", new_id()));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The database URL for a fresh database of `backend`, or `None` when PostgreSQL is
/// not configured.
pub async fn fresh_database(backend: Backend, dir: &TempDir) -> Option<String> {
    match backend {
        Backend::Sqlite => Some(dir.0.join("entreposto.db").display().to_string()),
        Backend::Postgres => {
            let url = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL").ok()?;
            Some(
                entreposto_store_postgres::fresh_schema_url(&url)
                    .await
                    .expect("fresh schema"),
            )
        }
    }
}

pub struct TestApp {
    /// The shared listener's URL.
    pub base: String,
    /// The URL of each dialect's own listener, by name (`[dialects.<name>]`).
    pub own: BTreeMap<String, String>,
    pub store: Arc<dyn Store>,
    pub client: reqwest::Client,
    pub database_url: String,
    pub dir: TempDir,
    /// The use cases the listeners call (and the import worker runs on).
    pub use_cases: entreposto_app::App,
    /// Stops the import worker when the app is dropped.
    pub worker: WorkerStop,
}

/// Tells the import worker to stop when dropped (the worker would otherwise keep
/// polling the database of a finished test until its runtime ends).
pub struct WorkerStop(pub tokio::sync::watch::Sender<bool>);

impl Drop for WorkerStop {
    fn drop(&mut self) {
        let _ = self.0.send(true);
    }
}

/// A response: status and parsed JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

/// The `[secrets]` every harness app runs with: its secrets sealed, as a careful
/// operator runs the hub (`tests/secrets.rs` covers a database without a key), under
/// one fixed key, so a second node or a restart on the same database opens what the
/// first sealed.
pub fn test_secrets() -> entreposto::config::SecretsConfig {
    entreposto::config::SecretsConfig {
        // The base64 of `entreposto-tests-secrets-key-32b`.
        key: Some(entreposto::config::Secret(
            "ZW50cmVwb3N0by10ZXN0cy1zZWNyZXRzLWtleS0zMmI=".into(),
        )),
        previous_keys: Vec::new(),
    }
}

/// A harness setting: no credential cache, so a revocation shows on the next request
/// (instead of sleeping to outwait the cache).
pub fn no_credential_cache(config: &mut Config) {
    config.http.credential_cache_ttl_ms = 0;
}

impl TestApp {
    /// The use cases over this app's store, for setting up data as a client would
    /// (the ones the server runs: an import started here wakes its worker).
    pub fn app(&self) -> entreposto_app::App {
        self.use_cases.clone()
    }

    /// The import job `id` of `scope` once it has finished, as the worker left it.
    /// Polls the job through the reads every 20 ms, for at most 60 s (then panics with
    /// the job as it was): an import of a few thousand rows takes a second or two.
    pub async fn wait_for_import(
        &self,
        scope: &entreposto_domain::Scope,
        id: &str,
    ) -> entreposto_store::ImportJob {
        let reads = self.use_cases.reads();
        let mut last = None;
        for _ in 0..3000 {
            let job = reads.get_import_job(scope, id).await.expect("import job");
            if job.state == entreposto_store::ImportState::Finished {
                return job;
            }
            last = Some(job);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("import {id} did not finish: {last:?}");
    }

    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        TestApp::spawn_with(backend, |_| {}).await
    }

    /// The application with `configure` applied to its settings, every listener it
    /// configures bound on `127.0.0.1` (the shared one on port 0) through the code
    /// `serve` uses.
    pub async fn spawn_with(
        backend: Backend,
        configure: impl FnOnce(&mut Config),
    ) -> Option<TestApp> {
        TestApp::spawn_extended(backend, configure, |r| r).await
    }

    /// Like [`TestApp::spawn_with`], the shared listener's router first passed through
    /// `extend` (a test adds a route it needs). Every listener is served by the real
    /// connection handling (`entreposto::listener`) with the configured `[edge]`.
    pub async fn spawn_extended(
        backend: Backend,
        configure: impl FnOnce(&mut Config),
        extend: impl FnOnce(axum::Router) -> axum::Router,
    ) -> Option<TestApp> {
        TestApp::spawn_full(
            backend,
            configure,
            extend,
            Arc::new(entreposto_app::SystemClock),
        )
        .await
    }

    /// Like [`TestApp::spawn_with`], the use cases and the edge (rate limits,
    /// idempotency) telling time by `clock`, which the test moves instead of sleeping.
    pub async fn spawn_clocked(
        backend: Backend,
        clock: Arc<dyn entreposto_app::Clock>,
        configure: impl FnOnce(&mut Config),
    ) -> Option<TestApp> {
        TestApp::spawn_full(backend, configure, |r| r, clock).await
    }

    /// Like [`TestApp::spawn_extended`], the use cases and the edge on `clock` (a
    /// test's `ManualClock`), and the webhook workers run as `serve` runs them when
    /// the configuration's `[webhooks] worker` says so.
    pub async fn spawn_full(
        backend: Backend,
        configure: impl FnOnce(&mut Config),
        extend: impl FnOnce(axum::Router) -> axum::Router,
        clock: Arc<dyn entreposto_app::Clock>,
    ) -> Option<TestApp> {
        let dir = TempDir::new();
        let database_url = fresh_database(backend, &dir).await?;
        let mut config = Config {
            listen: "127.0.0.1:0".into(),
            database_url: database_url.as_str().into(),
            pg_max_connections: 4,
            secrets: test_secrets(),
            ..Config::default()
        };
        configure(&mut config);
        let store = entreposto::store::open(&config).await.expect("open store");
        let mut base = String::new();
        let mut own = BTreeMap::new();
        let mut extend = Some(extend);
        let bound = entreposto::listeners::bind_with_clock(store.clone(), &config, clock)
            .await
            .expect("bind");
        // The background work, as `serve` runs it, so imports finish and events go
        // out on their own (unless the suite drives them itself: `no_import_worker`,
        // `no_feed_poller`, `[webhooks] worker = false`).
        let use_cases = bound[0].app.clone();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        entreposto::background::start(&use_cases, store.clone(), &config, &stopped)
            .expect("background work");
        for b in bound {
            let url = format!("http://{}", b.listener.local_addr().expect("addr"));
            let owners = b.owners();
            let router = match b.mount {
                None => {
                    base = url;
                    let extend = extend.take().expect("one shared listener");
                    extend(b.router)
                }
                Some(m) => {
                    own.insert(m.name().to_string(), url);
                    b.router
                }
            };
            let edge = config.edge.clone();
            tokio::spawn(async move {
                let _ = entreposto::listener::serve_listener(
                    b.listener,
                    router,
                    owners,
                    &edge,
                    std::future::pending(),
                )
                .await;
            });
        }
        Some(TestApp {
            base,
            own,
            store,
            client: reqwest::Client::new(),
            database_url,
            dir,
            use_cases,
            worker: WorkerStop(stop),
        })
    }

    pub async fn operator(&self) -> (Operator, String) {
        let op = Operator {
            id: new_id(),
            name: "Marketplace Teste".into(),
            created_at: Timestamp::now(),
        };
        self.store.create_operator(&op).await.expect("operator");
        let c = issue_credential(&self.app(), &op.id, None, Dialect::named("native"), None)
            .await
            .expect("native credential");
        let token = c.headers["Authorization"].clone();
        (op, token)
    }

    pub async fn seller(&self, operator: &Operator, name: &str) -> Seller {
        let s = Seller {
            id: new_id(),
            operator_id: operator.id.clone(),
            name: name.into(),
            document: None,
            created_at: Timestamp::now(),
        };
        self.store.create_seller(&s).await.expect("seller");
        s
    }

    pub async fn credential(
        &self,
        operator: &Operator,
        seller: Option<&Seller>,
        dialect: Dialect,
    ) -> IssuedCredential {
        issue_credential(
            &self.app(),
            &operator.id,
            seller.map(|s| s.id.as_str()),
            dialect,
            None,
        )
        .await
        .expect("credential")
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        headers: &BTreeMap<String, String>,
        body: Option<Vec<u8>>,
    ) -> Reply {
        self.call_url(method, &format!("{}{}", self.base, path), headers, body)
            .await
    }

    /// [`TestApp::call`] with a whole URL (another listener, a link the server wrote).
    pub async fn call_url(
        &self,
        method: Method,
        url: &str,
        headers: &BTreeMap<String, String>,
        body: Option<Vec<u8>>,
    ) -> Reply {
        let body = body.map(|b| ("application/json", b));
        self.request(method, url, headers, body).await
    }

    /// A request with a body of `content_type` (a CSV statement) to `path`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &BTreeMap<String, String>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let url = format!("{}{}", self.base, path);
        self.request(method, &url, headers, Some((content_type, body)))
            .await
    }

    async fn request(
        &self,
        method: Method,
        url: &str,
        headers: &BTreeMap<String, String>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Reply {
        let mut req = self.client.request(method, url);
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some((content_type, b)) = body {
            req = req.header("content-type", content_type).body(b);
        }
        reply(req.send().await.expect("request")).await
    }

    pub async fn put(&self, path: &str, headers: &BTreeMap<String, String>, body: &Value) -> Reply {
        self.call(
            Method::PUT,
            path,
            headers,
            Some(serde_json::to_vec(body).expect("json")),
        )
        .await
    }

    pub async fn get(&self, path: &str, headers: &BTreeMap<String, String>) -> Reply {
        self.call(Method::GET, path, headers, None).await
    }

    pub async fn post(
        &self,
        path: &str,
        headers: &BTreeMap<String, String>,
        body: &Value,
    ) -> Reply {
        self.call(
            Method::POST,
            path,
            headers,
            Some(serde_json::to_vec(body).expect("json")),
        )
        .await
    }
}

/// A response read whole: its status, content type, headers and JSON body.
pub async fn reply(res: reqwest::Response) -> Reply {
    let status = res.status().as_u16();

    let headers = res.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = res.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Reply {
        status,
        content_type,
        body,
        headers,
    }
}

pub fn bearer(token: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("Authorization".to_string(), token.to_string())])
}

/// The order body of the foundation issue, for `seller`.
pub fn order_body(seller: &str, code: &str) -> Value {
    serde_json::json!({
        "seller": seller, "channel": "Lojas Americanas",
        "marketplaceOrderId": code, "siteId": "LASA", "warehouse": "98",
        "placedAt": "2023-06-06T21:41:57-03:00",
        "customer": {"name": "João da Silva", "document": "52998224725",
            "documentType": "CPF", "email": "joao@example.com",
            "phones": [{"type": "mobile", "ddi": "55", "ddd": "11", "number": "912345678"}]},
        "shippingAddress": {"zipcode": "01310100", "address": "Av. Paulista",
            "number": "1000", "complement": "ap 12", "neighborhood": "Bela Vista",
            "city": "São Paulo", "state": "SP", "country": "BR"},
        "items": [{"sku": "99jjs8", "name": "Produto", "quantity": 1, "unitPrice": 499.99}],
        "freight": 15.00,
        "payments": [{"method": "credit_card", "installments": 3, "value": 514.99}]
    })
}

/// Runs each named `async fn(TestApp)` of the enclosing file on SQLite and PostgreSQL;
/// `on_both_backends!(with SETTING; names...)` first applies `SETTING: fn(&mut Config)`
/// (such as [`no_credential_cache`]).
#[macro_export]
macro_rules! on_both_backends {
    (with $configure:path; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                // `$configure` is named as in the enclosing file.
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::common::TestApp::spawn_with(
                        $crate::common::Backend::Sqlite,
                        $configure,
                    )
                    .await
                    .expect("sqlite app");
                    super::$name(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    match $crate::common::TestApp::spawn_with(
                        $crate::common::Backend::Postgres,
                        $configure,
                    )
                    .await
                    {
                        Some(app) => super::$name(app).await,
                        None => eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set"),
                    }
                }
            }
        )*
    };
    ($($name:ident),* $(,)?) => {
        $crate::on_both_backends!(with $crate::common::keep_defaults; $($name),*);
    };
}

/// Runs each named `async fn(Backend)` of the enclosing file on SQLite and on
/// PostgreSQL (when `ENTREPOSTO_TEST_POSTGRES_URL` is set; otherwise it says it is
/// skipped): for suites that make their own database, such as the command line's.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if std::env::var("ENTREPOSTO_TEST_POSTGRES_URL").is_err() {
                    eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set");
                    return;
                }
                super::$name($crate::common::Backend::Postgres).await;
            }
        }
    )*};
}

/// The harness's settings as they are.
pub fn keep_defaults(_: &mut Config) {}

/// A harness setting: no import worker, for suites that run import jobs themselves
/// (`app.app().work_one_import()`) to see them before and after.
pub fn no_import_worker(config: &mut Config) {
    config.import_worker = false;
}

/// A harness setting: no change feed poller, for suites that poll feeds themselves
/// (`work_one_poll` on a clock they set).
pub fn no_feed_poller(config: &mut Config) {
    config.notifications.poller = false;
}

pub const BIN: &str = env!("CARGO_BIN_EXE_entreposto");

pub fn cli(db: &str, args: &[&str]) -> (bool, Value, String) {
    cli_with_env(db, &[], args)
}

/// [`cli`] with settings given as `ENTREPOSTO_*` environment variables: whether it
/// succeeded, its JSON answer and its stderr.
pub fn cli_with_env(db: &str, env: &[(&str, &str)], args: &[&str]) -> (bool, Value, String) {
    let out = Command::new(BIN)
        .args(args)
        .args(["--database-url", db])
        .env("ENTREPOSTO_LOG_LEVEL", "warn")
        .envs(env.iter().copied())
        .output()
        .expect("run entreposto");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let v = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.success(),
        v,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// A spawned `entreposto serve` (or any child), killed and reaped when dropped: a test
/// that fails before stopping its server must not leave the process running (an
/// orphaned server keeps its database busy and its CPU spinning for the rest of the
/// run). Derefs to the [`Child`] for tests that stop it themselves.
pub struct Served(pub Child);

impl std::ops::Deref for Served {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Served {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // Both fail harmlessly when the test already stopped and reaped it.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `entreposto serve` on a free port and returns it with its base URL.
pub fn serve(db: &str) -> (Served, String) {
    serve_with_env(db, &[])
}

/// `serve` with settings given as `ENTREPOSTO_*` environment variables.
pub fn serve_with_env(db: &str, env: &[(&str, &str)]) -> (Served, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", db])
        .env("ENTREPOSTO_LOG_LEVEL", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn server");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let addr = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    let _ = tx.send(addr);
                    sent = true;
                }
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("server did not start");
    (Served(child), format!("http://{addr}"))
}

/// An operator with seller A (and its SkyHub headers), a subject, and the native token.
pub struct Shop {
    pub op: Operator,
    pub token: BTreeMap<String, String>,
    pub seller: Seller,
    pub sky: BTreeMap<String, String>,
}

pub async fn shop(app: &TestApp) -> Shop {
    let (op, token) = app.operator().await;
    let seller = app.seller(&op, "Loja A").await;
    let sky = app
        .credential(&op, Some(&seller), Dialect::named("skyhub"))
        .await
        .headers;
    let token = bearer(&token);
    let r = app
        .post(
            "/api/v1/subjects",
            &token,
            &serde_json::json!({"subject": "Produto não chegou", "sla": 48, "forReturn": false}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    Shop {
        op,
        token,
        seller,
        sky,
    }
}

/// Runs each named `async fn(Backend)` of the enclosing file (a test that drives the
/// real binary on a database of its own) on SQLite and, when configured, PostgreSQL.
#[macro_export]
macro_rules! binary_on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if std::env::var("ENTREPOSTO_TEST_POSTGRES_URL").is_err() {
                    eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set");
                    return;
                }
                super::$name($crate::common::Backend::Postgres).await;
            }
        }
    )*};
}
