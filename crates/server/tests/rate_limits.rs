//! Rate limits over HTTP on both backends, the clock set by the test: a refusal is a
//! 429 in every dialect's own envelope with `Retry-After` and the `RateLimit-*`
//! headers (which admitted answers carry too); a failed credential is charged to no
//! one; the credential's own limit, its seller's, its operator's and its dialect's
//! override the default; a vendor preset limits the endpoints it names; and, on
//! PostgreSQL, the shared limit holds across two servers on one database.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{cli, fresh_database, Backend, Reply, TempDir, TestApp};
use entreposto::config::Config;
use entreposto_app::ManualClock;
use entreposto_domain::{Dialect, Operator, RateLimit, Seller, Timestamp};
use entreposto_store::new_id;
use serde_json::Value;

type Headers = BTreeMap<String, String>;

const SECOND: i64 = 1_000_000;

async fn spawn(
    backend: Backend,
    clock: &Arc<ManualClock>,
    configure: impl FnOnce(&mut Config),
) -> Option<TestApp> {
    TestApp::spawn_clocked(backend, clock.clone(), configure).await
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::at(Timestamp::now()))
}

fn header<'a>(r: &'a Reply, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header: {:?} {}", r.headers, r.body))
}

/// An operator and a seller with the given ids (so the configuration can name them
/// before the server starts).
async fn tenant(app: &TestApp, operator_id: &str, seller_id: &str) -> (Operator, Seller) {
    let op = Operator {
        id: operator_id.into(),
        name: "Marketplace".into(),
        created_at: Timestamp::now(),
    };
    app.store.create_operator(&op).await.unwrap();
    let seller = Seller {
        id: seller_id.into(),
        operator_id: op.id.clone(),
        name: "Loja".into(),
        document: None,
        created_at: Timestamp::now(),
    };
    app.store.create_seller(&seller).await.unwrap();
    (op, seller)
}

/// One cheap read of each dialect: its name, a path and the credential's headers.
async fn readers(
    app: &TestApp,
    op: &Operator,
    seller: &Seller,
) -> Vec<(&'static str, &'static str, Headers)> {
    let mut out = Vec::new();
    for (dialect, path) in [
        ("native", "/api/v1/subjects"),
        ("skyhub", "/skyhub/sac"),
        ("omnik", "/omnik/HUB/v1/orders/customerservice"),
        ("zerok", "/00k/catalog/brands"),
        ("koncili", "/koncili/externalapi/channel/list"),
    ] {
        let owner = (dialect != "native").then_some(seller);
        let c = app.credential(op, owner, Dialect::named(dialect)).await;
        out.push((dialect, path, c.headers));
    }
    out
}

/// The 429 `r` is in `dialect`'s own envelope.
fn in_envelope(dialect: &str, r: &Reply) {
    let b = &r.body;
    let says = |text: &Value| {
        assert!(
            text.as_str()
                .unwrap_or_default()
                .contains("too many requests"),
            "{dialect}: {b}"
        )
    };
    match dialect {
        "native" => {
            assert_eq!(b["error"]["code"], "too_many_requests", "{b}");
            says(&b["error"]["message"]);
        }
        "skyhub" => {
            says(&b["errors"]["detail"]);
            says(&b["error"]);
        }
        "omnik" => {
            assert_eq!(b["code"], 429, "{b}");
            assert_eq!(b["type"], "TOO_MANY_REQUESTS", "{b}");
            assert_eq!(b["messages"][0]["code"], 429, "{b}");
            says(&b["message"]);
        }
        "zerok" => {
            assert_eq!(b["code"], "1.4", "{b}");
            assert_eq!(b["httpCode"], 429, "{b}");
            says(&b["description"]);
        }
        "koncili" => says(&b["response"]),
        _ => unreachable!(),
    }
}

on_both_databases!(
    refusals_in_every_dialects_envelope,
    specific_limits_override_the_default,
    a_preset_limits_the_endpoints_it_names,
    the_command_line_stores_a_credentials_limit,
    the_shared_limit_holds_across_two_servers,
);

async fn refusals_in_every_dialects_envelope(backend: Backend) {
    let clock = clock();
    let app = spawn(backend, &clock, |c| c.rate_limits.default = "2/s".into())
        .await
        .unwrap();
    let (op, seller) = tenant(&app, &new_id(), &new_id()).await;
    for (dialect, path, headers) in readers(&app, &op, &seller).await {
        // A full bucket for each dialect's credential: a second later all are full.
        clock.advance(10 * SECOND);
        let first = app.get(path, &headers).await;
        assert_eq!(first.status, 200, "{dialect}: {:?}", first.body);
        assert_eq!(header(&first, "ratelimit-limit"), "2", "{dialect}");
        assert_eq!(header(&first, "ratelimit-remaining"), "1", "{dialect}");
        assert!(first.headers.get("retry-after").is_none(), "{dialect}");
        let second = app.get(path, &headers).await;
        assert_eq!(second.status, 200, "{dialect}");
        assert_eq!(header(&second, "ratelimit-remaining"), "0", "{dialect}");
        assert_eq!(header(&second, "ratelimit-reset"), "1", "{dialect}");

        let refused = app.get(path, &headers).await;
        assert_eq!(refused.status, 429, "{dialect}: {:?}", refused.body);
        assert_eq!(
            refused.content_type.as_deref(),
            Some("application/json"),
            "{dialect}"
        );
        assert_eq!(header(&refused, "retry-after"), "1", "{dialect}");
        assert_eq!(header(&refused, "ratelimit-limit"), "2", "{dialect}");
        assert_eq!(header(&refused, "ratelimit-remaining"), "0", "{dialect}");
        assert_eq!(header(&refused, "ratelimit-reset"), "1", "{dialect}");
        in_envelope(dialect, &refused);
        // Writes are charged to the same bucket, and refused the same way.
        let write = app.post(path, &headers, &serde_json::json!({})).await;
        assert_eq!(write.status, 429, "{dialect}: {:?}", write.body);

        // Half a second later, one more (a token every 500 ms), and only one.
        clock.advance(SECOND / 2);
        assert_eq!(app.get(path, &headers).await.status, 200, "{dialect}");
        assert_eq!(app.get(path, &headers).await.status, 429, "{dialect}");
    }

    // A request whose credential fails is refused by its own checks, and spends no
    // one's budget: not even that of the credential whose id its secret carries.
    clock.advance(10 * SECOND);
    let c = app
        .credential(&op, Some(&seller), Dialect::named("zerok"))
        .await;
    let wrong = format!("ep_{}_{}", c.id, "x".repeat(32));
    let bad: Headers = [("Authorization".to_string(), wrong)].into();
    for _ in 0..5 {
        let r = app.get("/00k/catalog/brands", &bad).await;
        assert_eq!(r.status, 401, "{:?}", r.body);
        assert!(r.headers.get("ratelimit-limit").is_none());
    }
    let good = app.get("/00k/catalog/brands", &c.headers).await;
    assert_eq!(header(&good, "ratelimit-remaining"), "1");
    // Paths that take no credential are not limited.
    for _ in 0..5 {
        assert_eq!(app.get("/health", &Headers::new()).await.status, 200);
    }
}

async fn specific_limits_override_the_default(backend: Backend) {
    let clock = clock();
    let (op_id, seller_id, other_op, other_seller) = (new_id(), new_id(), new_id(), new_id());
    let app = spawn(backend, &clock, |c| {
        let r = &mut c.rate_limits;
        r.default = "6/s".into();
        r.dialects.insert("skyhub".into(), "2/s".into());
        r.sellers.insert(seller_id.clone(), "4/s".into());
        r.operators.insert(other_op.clone(), "3/s".into());
    })
    .await
    .unwrap();
    let (op, seller) = tenant(&app, &op_id, &seller_id).await;
    let (op2, seller2) = tenant(&app, &other_op, &other_seller).await;
    let (op3, seller3) = tenant(&app, &new_id(), &new_id()).await;
    let use_cases = app.app();
    let cred = |op: &Operator, s: Option<&Seller>, d: &'static str, limit: Option<RateLimit>| {
        let (app, op, s) = (use_cases.clone(), op.id.clone(), s.map(|s| s.id.clone()));
        async move {
            entreposto::mounts::issue_limited_credential(
                &app,
                &op,
                s.as_deref(),
                Dialect::named(d),
                None,
                limit,
            )
            .await
            .unwrap()
            .headers
        }
    };
    let cases = [
        // The default.
        (
            "default",
            cred(&op, None, "native", None).await,
            "/api/v1/subjects",
            6,
        ),
        // The seller's, over its dialect's (zerok has none) and the default.
        (
            "seller",
            cred(&op, Some(&seller), "zerok", None).await,
            "/00k/catalog/brands",
            4,
        ),
        // The operator's, for a seller of its with no limit of its own.
        (
            "operator",
            cred(&op2, Some(&seller2), "koncili", None).await,
            "/koncili/externalapi/channel/list",
            3,
        ),
        // The dialect's, over the default.
        (
            "dialect",
            cred(&op3, Some(&seller3), "skyhub", None).await,
            "/skyhub/sac",
            2,
        ),
        // The operator's over the dialect's.
        (
            "operator over dialect",
            cred(&op2, Some(&seller2), "skyhub", None).await,
            "/skyhub/sac",
            3,
        ),
        // The credential's own, over every other.
        (
            "credential",
            cred(&op, Some(&seller), "skyhub", Some(RateLimit::per_second(5))).await,
            "/skyhub/sac",
            5,
        ),
    ];
    for (which, headers, path, limit) in cases {
        for i in 0..limit {
            let r = app.get(path, &headers).await;
            assert_eq!(r.status, 200, "{which} #{i}: {:?}", r.body);
            assert_eq!(header(&r, "ratelimit-limit"), limit.to_string(), "{which}");
        }
        let refused = app.get(path, &headers).await;
        assert_eq!(refused.status, 429, "{which}: the limit is {limit}");
    }
}

async fn a_preset_limits_the_endpoints_it_names(backend: Backend) {
    let clock = clock();
    let app = spawn(backend, &clock, |c| {
        c.rate_limits.default = "50/s".into();
        c.rate_limits
            .dialects
            .insert("koncili".into(), "vendor".into());
    })
    .await
    .unwrap();
    let (op, seller) = tenant(&app, &new_id(), &new_id()).await;
    let kon = app
        .credential(&op, Some(&seller), Dialect::named("koncili"))
        .await
        .headers;
    let listing =
        "/koncili/externalapi/orderextract/unresolveds?initDate=2018-01-01&endDate=2018-01-31";
    // Koncili's 3 listings a minute.
    for left in ["2", "1", "0"] {
        let r = app.get(listing, &kon).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(header(&r, "ratelimit-limit"), "3");
        assert_eq!(header(&r, "ratelimit-remaining"), left);
    }
    let refused = app
        .get(
            "/koncili/externalapi/orderextract/concilieds?initDate=2018-01-01&endDate=2018-01-31",
            &kon,
        )
        .await;
    assert_eq!(refused.status, 429, "both listings share the bucket");
    assert_eq!(header(&refused, "retry-after"), "20");
    assert_eq!(header(&refused, "ratelimit-reset"), "60");
    in_envelope("koncili", &refused);
    // Other endpoints take the general limit, in a bucket of their own.
    let other = app.get("/koncili/externalapi/channel/list", &kon).await;
    assert_eq!(other.status, 200);
    assert_eq!(header(&other, "ratelimit-limit"), "50");
    // The batches: 90 a minute.
    let batch = app
        .put(
            "/koncili/externalapi/orderextract/read/batch",
            &kon,
            &serde_json::json!([]),
        )
        .await;
    assert_eq!(header(&batch, "ratelimit-limit"), "90", "{:?}", batch.body);
    // Twenty seconds on, one more listing.
    clock.advance(20 * SECOND);
    assert_eq!(app.get(listing, &kon).await.status, 200);
    assert_eq!(app.get(listing, &kon).await.status, 429);
}

async fn the_command_line_stores_a_credentials_limit(backend: Backend) {
    let dir = TempDir::new();
    let db = fresh_database(backend, &dir).await.expect("database");
    let (ok, op, err) = cli(&db, &["operator", "create", "--name", "Marketplace"]);
    assert!(ok, "{err}");
    let op = op["id"].as_str().unwrap().to_string();
    let (ok, c, err) = cli(
        &db,
        &[
            "credential",
            "create",
            "--operator",
            &op,
            "--dialect",
            "omnik",
            "--rate-limit",
            "5/s",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(c["rate_limit"], "5/s", "{c}");
    let store = entreposto::store::open(&Config {
        database_url: db.as_str().into(),
        ..Config::default()
    })
    .await
    .expect("store");
    let stored = store
        .get_credential(c["id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(stored.rate_limit, Some(RateLimit::per_second(5)));
    for (bad, says) in [
        ("5/day", "the unit must be s, min or h"),
        ("0/s", "at least 1"),
        ("five", "no '/'"),
    ] {
        let (ok, _, err) = cli(
            &db,
            &[
                "credential",
                "create",
                "--operator",
                &op,
                "--dialect",
                "omnik",
                "--rate-limit",
                bad,
            ],
        );
        assert!(!ok, "{bad} accepted");
        assert!(
            err.contains("--rate-limit") && err.contains(says),
            "{bad}: {err}"
        );
    }
    // A bad rate in the configuration stops the command, naming the key.
    let out = std::process::Command::new(common::BIN)
        .args(["operator", "create", "--name", "X", "--database-url", &db])
        .env("ENTREPOSTO_RATE_LIMITS__DIALECTS__SKYHUB", "9/x")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rate_limits.dialects.skyhub"), "{err}");
}

async fn the_shared_limit_holds_across_two_servers(backend: Backend) {
    if matches!(backend, Backend::Sqlite) {
        // One process serves a SQLite database: its limit is in memory (the shared
        // buckets' statements are the contract suite's, on both backends).
        return;
    }
    for shared in [true, false] {
        let clock = clock();
        let a = spawn(backend, &clock, |c| {
            c.rate_limits.default = "4/s".into();
            c.rate_limits.shared = (!shared).then_some(false);
        })
        .await
        .unwrap();
        let url = a.database_url.clone();
        let b = spawn(backend, &clock, |c| {
            c.database_url = url.as_str().into();
            c.rate_limits.default = "4/s".into();
            c.rate_limits.shared = (!shared).then_some(false);
        })
        .await
        .unwrap();
        let (op, seller) = tenant(&a, &new_id(), &new_id()).await;
        let key = a
            .credential(&op, Some(&seller), Dialect::named("zerok"))
            .await
            .headers;
        let mut admitted = 0;
        for i in 0..10 {
            let node = if i % 2 == 0 { &a } else { &b };
            let r = node.get("/00k/catalog/brands", &key).await;
            match r.status {
                200 => admitted += 1,
                429 => assert_eq!(header(&r, "ratelimit-remaining"), "0"),
                s => panic!("{s}: {:?}", r.body),
            }
        }
        if shared {
            assert_eq!(admitted, 4, "one limit across both servers");
            clock.advance(SECOND / 4);
            assert_eq!(b.get("/00k/catalog/brands", &key).await.status, 200);
            assert_eq!(a.get("/00k/catalog/brands", &key).await.status, 429);
        } else {
            assert_eq!(admitted, 8, "without sharing, each server limits alone");
        }
    }
}
