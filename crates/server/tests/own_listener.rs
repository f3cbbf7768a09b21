//! Every dialect at the root of a listener of its own (`[dialects.<name>] listen`),
//! black-box over HTTP on both backends: SkyHub driven with the absolute paths its
//! official SDK builds (`/sac`), its errors (the framework's 404 and 405 included) in
//! its envelope, a 204 with its `Content-Type`, `next_page` links pointing at the
//! listener that was called; the shared listener keeps its prefixes. Then the real
//! binary reading `[dialects.skyhub]` from its TOML file.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{order_body, shop, Shop, TempDir, TestApp, BIN};
use entreposto::config::{Config, OwnListener};
use entreposto_domain::Dialect;
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(with own_listeners;
    skyhub_at_the_root_of_its_listener,
    next_page_points_at_the_listener_called,
    every_dialect_answers_at_its_root,
);

type Headers = BTreeMap<String, String>;

/// Every dialect also on a listener of its own, on a free port.
fn own_listeners(c: &mut Config) {
    for name in ["skyhub", "omnik", "zerok", "koncili"] {
        c.dialects.insert(
            name.into(),
            OwnListener {
                listen: "127.0.0.1:0".into(),
                public_url: None,
            },
        );
    }
}

/// `n` orders, each with a ticket the customer wrote in; their SAC codes, oldest first.
async fn tickets(app: &TestApp, shop: &Shop, n: usize) -> Vec<String> {
    let mut codes = Vec::new();
    for i in 0..n {
        let order = app
            .post(
                "/api/v1/orders",
                &shop.token,
                &order_body(&shop.seller.id, &format!("02-{}", 1_000_000_000 + i)),
            )
            .await;
        assert_eq!(order.status, 201, "{:?}", order.body);
        let t = app
            .post(
                &format!(
                    "/api/v1/orders/{}/tickets",
                    order.body["id"].as_str().unwrap()
                ),
                &shop.token,
                &json!({"subject": "Produto não chegou", "mediation": false,
                    "message": {"author": "CUSTOMER", "part": "CUSTOMER_SELLER",
                        "content": "Bom dia! Produto não chegou!"}}),
            )
            .await;
        assert_eq!(t.status, 201, "{:?}", t.body);
        codes.push(t.body["code"].as_str().unwrap().to_string());
    }
    codes
}

fn enc(code: &str) -> String {
    code.replace(' ', "%20")
}

/// SkyHub's envelope, as JSON, with `Content-Type: application/json`.
fn assert_skyhub_error(r: &common::Reply, status: u16, what: &str) {
    assert_eq!(r.status, status, "{what}: {:?}", r.body);
    assert_eq!(
        r.content_type.as_deref(),
        Some("application/json"),
        "{what}"
    );
    assert!(r.body["error"].is_string(), "{what}: {:?}", r.body);
    assert!(
        r.body["errors"]["detail"].is_string(),
        "{what}: {:?}",
        r.body
    );
}

async fn skyhub_at_the_root_of_its_listener(app: TestApp) {
    let shop = shop(&app).await;
    let code = tickets(&app, &shop, 1).await.remove(0);
    let sky = &app.own["skyhub"];
    assert_ne!(sky, &app.base);
    let at = |path: &str| format!("{sky}{path}");

    // The absolute paths the SDK builds.
    let list = app
        .call_url(Method::GET, &at("/sac"), &shop.sky, None)
        .await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    assert_eq!(list.body["sacs"][0]["code"], code.as_str());
    let one = app
        .call_url(
            Method::GET,
            &at(&format!("/sac/{}", enc(&code))),
            &shop.sky,
            None,
        )
        .await;
    assert_eq!(one.status, 200, "{:?}", one.body);
    let chat = app
        .call_url(
            Method::GET,
            &at(&format!("/sac/{}/chats/CUSTOMER_SELLER", enc(&code))),
            &shop.sky,
            None,
        )
        .await;
    assert_eq!(chat.status, 200, "{:?}", chat.body);
    // The read state: a 204 that still says it is JSON.
    let patch = app
        .call_url(
            Method::PATCH,
            &at(&format!("/sac/{}/chats/CUSTOMER_SELLER", enc(&code))),
            &shop.sky,
            Some(serde_json::to_vec(&json!({"status": "READ"})).unwrap()),
        )
        .await;
    assert_eq!(patch.status, 204, "{:?}", patch.body);
    assert_eq!(patch.content_type.as_deref(), Some("application/json"));
    assert_eq!(patch.body, Value::Null);
    let shared = app
        .get(&format!("/skyhub/sac/{}", enc(&code)), &shop.sky)
        .await;
    assert_eq!(
        shared.body["status"], "READ",
        "one store behind both listeners"
    );

    // Its OpenAPI document lists the paths below the base, and the base is this
    // listener's root; on the shared listener the base carries the prefix.
    let doc = app
        .call_url(Method::GET, &at("/openapi.json"), &Headers::new(), None)
        .await;
    assert_eq!(doc.status, 200);
    let paths: Vec<&String> = doc.body["paths"].as_object().unwrap().keys().collect();
    assert!(paths.iter().any(|p| *p == "/sac"), "{paths:?}");
    assert!(!paths.iter().any(|p| p.starts_with("/skyhub")), "{paths:?}");
    assert_eq!(doc.body["servers"][0]["url"], json!(sky));
    let doc = app.get("/skyhub/openapi.json", &Headers::new()).await;
    assert!(doc.body["paths"]["/sac"].is_object(), "{:?}", doc.body);
    assert_eq!(
        doc.body["servers"][0]["url"],
        json!(format!("{}/skyhub", app.base))
    );

    // /health answers at the root too, without credentials.
    let health = app
        .call_url(Method::GET, &at("/health"), &Headers::new(), None)
        .await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body, json!({"status": "ok"}));

    // Every error in SkyHub's envelope: credentials, unknown paths (the prefixed
    // spelling and the native API's included: nothing but SkyHub lives here), a
    // method no route serves, the framework's own refusals.
    let none = app
        .call_url(Method::GET, &at("/sac"), &Headers::new(), None)
        .await;
    assert_skyhub_error(&none, 401, "no credentials");
    for path in ["/skyhub/sac", "/api/v1/orders/1", "/nope", "/"] {
        let r = app.call_url(Method::GET, &at(path), &shop.sky, None).await;
        assert_skyhub_error(&r, 404, path);
    }
    let r = app
        .call_url(Method::DELETE, &at("/sac"), &shop.sky, None)
        .await;
    assert_skyhub_error(&r, 405, "DELETE /sac");
    let r = app
        .call_url(Method::POST, &at("/health"), &shop.sky, None)
        .await;
    assert_skyhub_error(&r, 405, "POST /health");
    let r = app
        .call_url(Method::GET, &at("/sac/%FF%FE"), &shop.sky, None)
        .await;
    assert!(r.status >= 400 && r.status < 500, "{}", r.status);
    assert!(r.body["errors"]["detail"].is_string(), "{:?}", r.body);
    let r = app
        .call_url(
            Method::POST,
            &at(&format!("/sac/{}/chats/CUSTOMER_SELLER", enc(&code))),
            &shop.sky,
            Some(b"{\"message\": 1}".to_vec()),
        )
        .await;
    assert_skyhub_error(&r, 422, "bad body");

    // The shared listener keeps serving SkyHub under its prefix, and nothing at /sac.
    assert_eq!(app.get("/skyhub/sac", &shop.sky).await.status, 200);
    let r = app.get("/sac", &shop.sky).await;
    assert_eq!(r.status, 404);
    assert!(
        r.body["error"]["message"].is_string(),
        "native's envelope: {:?}",
        r.body
    );
}

/// Follows `next_page` from `first` to the end, checking each link starts with
/// `link_start`; every link is followed with `suffix` appended. The codes seen.
async fn walk(
    app: &TestApp,
    first: &str,
    link_start: &str,
    suffix: &str,
    sky: &Headers,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut url = first.to_string();
    loop {
        let r = app.call_url(Method::GET, &url, sky, None).await;
        assert_eq!(r.status, 200, "{url}: {:?}", r.body);
        for s in r.body["sacs"].as_array().unwrap() {
            seen.push(s["code"].as_str().unwrap().to_string());
        }
        match r.body["next_page"].as_str() {
            Some(next) => {
                assert!(next.starts_with(link_start), "{next} from {url}");
                url = format!("{next}{suffix}");
            }
            None => return seen,
        }
    }
}

async fn next_page_points_at_the_listener_called(app: TestApp) {
    let shop = shop(&app).await;
    let mut codes = tickets(&app, &shop, 55).await;
    codes.reverse();
    let sky = &app.own["skyhub"];
    // On its own listener, links have no prefix; on the shared one they keep it.
    // Each link is followed with the `?` a client appends: the same next page.
    let own = walk(
        &app,
        &format!("{sky}/sac"),
        &format!("{sky}/sac?cursor="),
        "?",
        &shop.sky,
    )
    .await;
    assert_eq!(own, codes, "each ticket once, newest first");
    let shared = walk(
        &app,
        &format!("{}/skyhub/sac", app.base),
        &format!("{}/skyhub/sac?cursor=", app.base),
        "?",
        &shop.sky,
    )
    .await;
    assert_eq!(shared, codes);

    // A cursor the server did not issue is a 422 naming `cursor`, in SkyHub's
    // envelope, on either listener: the unsigned kind cursors used to be, one with a
    // signature of another payload, and one issued to another credential.
    let first = app
        .call_url(Method::GET, &format!("{sky}/sac"), &shop.sky, None)
        .await;
    let next = first.body["next_page"].as_str().unwrap().to_string();
    let issued = next.split("cursor=").nth(1).unwrap().to_string();
    let (_, tag) = issued.split_once('.').unwrap();
    let forged = "eyJ1IjotMSwiaSI6LTF9"; // base64url of {"u":-1,"i":-1}
    let other = app.seller(&shop.op, "Loja B").await;
    let other_sky = app
        .credential(&shop.op, Some(&other), Dialect::named("skyhub"))
        .await
        .headers;
    // A cursor the client signs itself, with the best key it can make from what it
    // holds: its own secret and credential id (the server's key never leaves it).
    let secret = &shop.sky["X-Api-Key"];
    let id = entreposto_app::credentials::credential_id_of(secret).expect("our format");
    let guess = entreposto_http::signed::server_secret(
        &entreposto_app::credentials::hash_secret(secret),
        None,
    );
    let self_signed =
        entreposto_http::signed::TokenKey::new(id, &guess).seal(br#"{"u":-1,"i":-1}"#);
    for (url, headers) in [
        (format!("{sky}/sac?cursor={self_signed}"), &shop.sky),
        (format!("{sky}/sac?cursor={forged}"), &shop.sky),
        (format!("{sky}/sac?cursor={forged}?"), &shop.sky),
        (format!("{sky}/sac?cursor={forged}.{tag}"), &shop.sky),
        (
            format!("{}/skyhub/sac?cursor={forged}", app.base),
            &shop.sky,
        ),
        (next.clone(), &other_sky),
    ] {
        let r = app.call_url(Method::GET, &url, headers, None).await;
        assert_skyhub_error(&r, 422, &url);
        assert!(
            r.body["errors"]["detail"]
                .as_str()
                .unwrap()
                .starts_with("cursor"),
            "{url}: {:?}",
            r.body
        );
    }
    // The genuine one still reads, with parameters glued on after a `?`.
    let r = app
        .call_url(Method::GET, &format!("{next}?status=READ"), &shop.sky, None)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["sacs"].as_array().unwrap().len(), 5);
}

async fn every_dialect_answers_at_its_root(app: TestApp) {
    let (op, _) = app.operator().await;
    let seller = app.seller(&op, "Loja A").await;
    let omnik = app
        .credential(&op, Some(&seller), Dialect::named("omnik"))
        .await
        .headers;
    let base = &app.own["omnik"];
    let r = app
        .call_url(
            Method::GET,
            &format!("{base}/HUB/v1/orders/customerservice"),
            &omnik,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // Omnik's two envelopes: the HUB's, and hub-web's.
    let r = app
        .call_url(Method::GET, &format!("{base}/HUB/v1/nope"), &omnik, None)
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["messages"][0]["code"], 404, "{:?}", r.body);
    let r = app
        .call_url(
            Method::GET,
            &format!("{base}/v1/hub-web/atendimentoAssunto/devolucao"),
            &Headers::new(),
            None,
        )
        .await;
    assert_eq!(r.status, 401);
    assert!(r.body["logId"].is_number(), "{:?}", r.body);
    // 00K and Koncili, in theirs.
    let r = app
        .call_url(
            Method::GET,
            &format!("{}/orders", app.own["zerok"]),
            &Headers::new(),
            None,
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["code"], "1.2", "{:?}", r.body);
    let r = app
        .call_url(
            Method::GET,
            &format!("{}/externalapi/orders", app.own["koncili"]),
            &Headers::new(),
            None,
        )
        .await;
    assert_eq!(r.status, 401);
    assert!(r.body["response"].is_string(), "{:?}", r.body);
}

/// `entreposto serve` with `config` as its TOML file; the address of each listener
/// logged, by name (`shared` for the shared one), once `wanted` are up.
fn serve_with(
    dir: &TempDir,
    config: &str,
    wanted: usize,
) -> (common::Served, BTreeMap<String, String>) {
    let file = dir.0.join("entreposto.toml");
    std::fs::write(&file, config).unwrap();
    let mut child = Command::new(BIN)
        .args(["--config", file.to_str().unwrap(), "serve"])
        .env("ENTREPOSTO_LOG_LEVEL", "info")
        .env("ENTREPOSTO_LOG_FORMAT", "text")
        .env_remove("ENTREPOSTO_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn server");
    let stderr = child.stderr.take().unwrap();
    // Killed if it fails to start as the test expects, too.
    let child = common::Served(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some((before, after)) = line.split_once("listening on ") {
                let addr = after
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                let name = before
                    .split_whitespace()
                    .last()
                    .filter(|w| ["skyhub", "omnik", "zerok", "koncili", "native"].contains(w))
                    .unwrap_or("shared")
                    .to_string();
                let _ = tx.send(Ok((name, addr)));
            } else if line.contains("Error") || line.contains("error") {
                let _ = tx.send(Err(line));
            }
        }
    });
    let mut addrs = BTreeMap::new();
    while addrs.len() < wanted {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok((name, addr))) => {
                addrs.insert(name, format!("http://{addr}"));
            }
            Ok(Err(line)) => panic!("server failed: {line}"),
            Err(e) => panic!("server did not start: {e}"),
        }
    }
    (child, addrs)
}

#[tokio::test]
async fn the_binary_reads_dialects_sections_from_its_toml_file() {
    let dir = TempDir::new();
    let db = dir.0.join("e.db").display().to_string();
    let config = format!(
        "database_url = \"{db}\"\nlisten = \"127.0.0.1:0\"\n\n[dialects.skyhub]\nlisten = \"127.0.0.1:0\"\npublic_url = \"https://skyhub.example.com/\"\n"
    );
    let (mut child, addrs) = serve_with(&dir, &config, 2);
    let client = reqwest::Client::new();
    let sky = &addrs["skyhub"];
    assert_ne!(sky, &addrs["shared"]);
    let health: Value = client
        .get(format!("{sky}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health, json!({"status": "ok"}));
    let r = client.get(format!("{sky}/sac")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let body: Value = r.json().await.unwrap();
    assert!(body["errors"]["detail"].is_string(), "{body}");
    let r = client
        .get(format!("{}/skyhub/sac", addrs["shared"]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let _ = child.kill();
    let _ = child.wait();

    // A section naming no dialect is refused at start, naming it.
    std::fs::write(
        dir.0.join("bad.toml"),
        format!("database_url = \"{db}\"\n[dialects.skyhubb]\nlisten = \"127.0.0.1:0\"\n"),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args([
            "--config",
            dir.0.join("bad.toml").to_str().unwrap(),
            "serve",
        ])
        .env("ENTREPOSTO_LOG_LEVEL", "warn")
        .env_remove("ENTREPOSTO_DATABASE_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("[dialects.skyhubb]"), "{stderr}");
}
