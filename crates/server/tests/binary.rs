//! The real `entreposto` binary: the admin command-line contract, durability across a
//! SIGKILL, and graceful shutdown on SIGTERM, on both backends.

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{cli, fresh_database, order_body, serve, serve_with_env, Backend, TempDir};
use serde_json::Value;

async fn setup(backend: Backend) -> Option<(TempDir, String)> {
    let dir = TempDir::new();
    let db = fresh_database(backend, &dir).await?;
    Some((dir, db))
}

macro_rules! both {
    ($($name:ident),*) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(crate::common::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if std::env::var("ENTREPOSTO_TEST_POSTGRES_URL").is_err() {
                    eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set");
                    return;
                }
                super::$name(crate::common::Backend::Postgres).await;
            }
        }
    )*};
}

both!(
    admin_commands_follow_the_contract,
    acknowledged_orders_survive_sigkill,
    sigterm_drains_and_exits,
    ticket_life_through_the_binary
);

async fn admin_commands_follow_the_contract(backend: Backend) {
    let Some((_dir, db)) = setup(backend).await else {
        return;
    };
    let (ok, op, err) = cli(&db, &["operator", "create", "--name", "Marketplace Brasil"]);
    assert!(ok, "{err}");
    let op_id = op["id"].as_str().expect("id").to_string();
    assert!(op["token"].as_str().unwrap().starts_with("ep_"));

    let (ok, seller, err) = cli(
        &db,
        &[
            "seller",
            "create",
            "--operator",
            &op_id,
            "--name",
            "Loja A",
            "--document",
            "11.222.333/0001-81",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(seller["document"], "11222333000181");
    let seller_id = seller["id"].as_str().unwrap().to_string();

    let (ok, _, err) = cli(
        &db,
        &[
            "seller",
            "create",
            "--operator",
            &op_id,
            "--name",
            "Loja B",
            "--document",
            "11222333000182",
        ],
    );
    assert!(!ok);
    assert!(err.contains("document"), "{err}");

    let expected: [(&str, &[&str]); 4] = [
        (
            "skyhub",
            &["X-User-Email", "X-Api-Key", "X-Accountmanager-Key"],
        ),
        ("omnik", &["token", "application_id"]),
        ("zerok", &["Authorization"]),
        ("koncili", &["gumgaToken"]),
    ];
    let mut ids = Vec::new();
    for (dialect, headers) in expected {
        let (ok, c, err) = cli(
            &db,
            &[
                "credential",
                "create",
                "--seller",
                &seller_id,
                "--dialect",
                dialect,
            ],
        );
        assert!(ok, "{dialect}: {err}");
        assert_eq!(c["dialect"], dialect);
        let got: Vec<&str> = c["headers"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut want = headers.to_vec();
        want.sort();
        let mut got_sorted = got.clone();
        got_sorted.sort();
        assert_eq!(got_sorted, want, "{dialect}");
        ids.push(c["id"].as_str().unwrap().to_string());
    }
    let (ok, c, err) = cli(
        &db,
        &[
            "credential",
            "create",
            "--operator",
            &op_id,
            "--dialect",
            "omnik",
        ],
    );
    assert!(ok, "{err}");
    assert!(c["seller"].is_null());
    let (ok, _, _) = cli(
        &db,
        &[
            "credential",
            "create",
            "--seller",
            &seller_id,
            "--dialect",
            "martian",
        ],
    );
    assert!(!ok);
    let (ok, _, _) = cli(&db, &["credential", "create", "--dialect", "omnik"]);
    assert!(!ok, "an owner is required");

    let (ok, r, err) = cli(&db, &["credential", "revoke", &ids[0]]);
    assert!(ok, "{err}");
    assert_eq!(r["revoked"], true);
    let (ok, _, _) = cli(&db, &["credential", "revoke", "01ARZ3NDEKTSV4RRFFQ69G5FAV"]);
    assert!(!ok);

    // Admin commands work while the server runs, and the server sees their effect.
    let (mut child, base) = serve(&db);
    let (ok, op2, err) = cli(&db, &["operator", "create", "--name", "Segundo"]);
    assert!(ok, "{err}");
    let (ok, s2, _) = cli(
        &db,
        &[
            "seller",
            "create",
            "--operator",
            op2["id"].as_str().unwrap(),
            "--name",
            "Loja C",
        ],
    );
    assert!(ok);
    let client = reqwest::Client::new();
    let token = format!("Bearer {}", op2["token"].as_str().unwrap());
    let r = client
        .post(format!("{base}/api/v1/orders"))
        .header("authorization", &token)
        .json(&order_body(s2["id"].as_str().unwrap(), "CLI-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let _ = child.kill();
    let _ = child.wait();
}

async fn acknowledged_orders_survive_sigkill(backend: Backend) {
    let Some((_dir, db)) = setup(backend).await else {
        return;
    };
    let (_, op, _) = cli(&db, &["operator", "create", "--name", "Durável"]);
    let (_, seller, _) = cli(
        &db,
        &[
            "seller",
            "create",
            "--operator",
            op["id"].as_str().unwrap(),
            "--name",
            "Loja",
        ],
    );
    let token = format!("Bearer {}", op["token"].as_str().unwrap());
    let seller_id = seller["id"].as_str().unwrap().to_string();

    // One credential sends well over the default rate limit here, writing and then
    // reading back every order: this is about durability, so nothing is limited.
    let unlimited = [("ENTREPOSTO_RATE_LIMITS__DEFAULT", "off")];
    let (mut child, base) = serve_with_env(&db, &unlimited);
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let stop_at = Instant::now() + Duration::from_millis(1500);
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let (acked, base, token, seller_id) = (
            acked.clone(),
            base.clone(),
            token.clone(),
            seller_id.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            for n in 0.. {
                if Instant::now() > stop_at + Duration::from_secs(2) {
                    break;
                }
                let code = format!("KILL-{worker}-{n}");
                let res = client
                    .post(format!("{base}/api/v1/orders"))
                    .header("authorization", &token)
                    .json(&order_body(&seller_id, &code))
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().is_success() => {
                        let v: Value = r.json().await.unwrap_or(Value::Null);
                        if let Some(id) = v["id"].as_str() {
                            acked.lock().unwrap().push((id.to_string(), code));
                        }
                    }
                    Ok(r) => panic!("unexpected status {}", r.status()),
                    Err(_) => break, // the server is gone
                }
            }
        }));
    }
    // Kill the server mid-stream, without warning.
    tokio::time::sleep_until(stop_at.into()).await;
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 50,
        "only {} orders were acknowledged",
        acked.len()
    );

    let (mut child, base) = serve_with_env(&db, &unlimited);
    let client = reqwest::Client::new();
    for (id, code) in &acked {
        let r = client
            .get(format!("{base}/api/v1/orders/{id}"))
            .header("authorization", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status().as_u16(),
            200,
            "acknowledged order {id} ({code}) was lost"
        );
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["marketplaceOrderId"], code.as_str());
    }
    let _ = child.kill();
    let _ = child.wait();
    eprintln!("{} acknowledged orders all survived SIGKILL", acked.len());
}

async fn sigterm_drains_and_exits(backend: Backend) {
    let Some((_dir, db)) = setup(backend).await else {
        return;
    };
    let (mut child, base) = serve(&db);
    let r = reqwest::get(format!("{base}/health")).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(code) = child.try_wait().unwrap() {
            assert!(code.success(), "exit status {code:?}");
            break;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A ticket's whole life through the real binary: the marketplace opens it, the
/// customer writes, the seller lists UNREAD, reads the chat, replies, marks READ, the
/// customer writes again and it is UNREAD again, the seller archives it.
async fn ticket_life_through_the_binary(backend: Backend) {
    let Some((_dir, db)) = setup(backend).await else {
        return;
    };
    let (_, op, _) = cli(&db, &["operator", "create", "--name", "Marketplace"]);
    let op_id = op["id"].as_str().unwrap();
    let (_, seller, _) = cli(
        &db,
        &["seller", "create", "--operator", op_id, "--name", "Loja A"],
    );
    let seller_id = seller["id"].as_str().unwrap();
    let (_, cred, _) = cli(
        &db,
        &[
            "credential",
            "create",
            "--seller",
            seller_id,
            "--dialect",
            "skyhub",
        ],
    );
    let (mut child, base) = serve(&db);
    let http = reqwest::Client::new();
    let token = format!("Bearer {}", op["token"].as_str().unwrap());
    let native = |method: reqwest::Method, path: &str, body: Value| {
        http.request(method, format!("{base}{path}"))
            .header("authorization", &token)
            .json(&body)
            .send()
    };
    let sky = |method: reqwest::Method, path: &str| {
        let mut r = http.request(method, format!("{base}/skyhub{path}"));
        for (k, v) in cred["headers"].as_object().unwrap() {
            r = r.header(k.as_str(), v.as_str().unwrap());
        }
        r
    };
    let order: Value = native(
        reqwest::Method::POST,
        "/api/v1/orders",
        order_body(seller_id, "02-1000000004"),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let r = native(
        reqwest::Method::POST,
        "/api/v1/subjects",
        serde_json::json!({"subject": "Produto não chegou", "sla": 48}),
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    // 1. The marketplace opens the ticket.
    let t: Value = native(
        reqwest::Method::POST,
        &format!("/api/v1/orders/{}/tickets", order["id"].as_str().unwrap()),
        serde_json::json!({"subject": "Produto não chegou"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let (id, code) = (
        t["id"].as_str().unwrap().to_string(),
        t["code"].as_str().unwrap().to_string(),
    );
    assert_eq!(code, "Lojas Americanas-201000000004001");
    let enc = code.replace(' ', "%20");
    let customer_writes = |text: &'static str| {
        native(
            reqwest::Method::POST,
            &format!("/api/v1/tickets/{id}/messages"),
            serde_json::json!({"author": "CUSTOMER", "part": "CUSTOMER_SELLER", "content": text, "authorName": "João"}),
        )
    };
    let status_of = || async {
        let v: Value = sky(reqwest::Method::GET, &format!("/sac/{enc}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["status"].as_str().unwrap().to_string()
    };
    // 2. The customer writes.
    assert_eq!(
        customer_writes("Meu pedido não chegou")
            .await
            .unwrap()
            .status()
            .as_u16(),
        201
    );
    // 3. The seller lists UNREAD tickets and finds it.
    let list: Value = sky(reqwest::Method::GET, "/sac?status=UNREAD")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["sacs"][0]["code"], code.as_str());
    // 4. Reads the chat.
    let chat: Value = sky(reqwest::Method::GET, &format!("/sac/{enc}/chats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(chat["messages"][0]["content"], "Meu pedido não chegou");
    // 5. Replies.
    let r = sky(reqwest::Method::POST, &format!("/sac/{enc}/chats/CUSTOMER_SELLER"))
        .json(&serde_json::json!({"messageTo": "TO_CUSTOMER", "messageType": "TEXT_MESSAGE", "message": "Chega amanhã!"}))
        .send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // 6. Marks it READ.
    let r = sky(
        reqwest::Method::PATCH,
        &format!("/sac/{enc}/chats/CUSTOMER_SELLER"),
    )
    .json(&serde_json::json!({"status": "READ"}))
    .send()
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(status_of().await, "READ");
    // 7. The customer writes again: UNREAD again.
    customer_writes("Obrigado, aguardo.").await.unwrap();
    assert_eq!(status_of().await, "UNREAD");
    let unread: Value = sky(reqwest::Method::GET, "/sac?status=UNREAD")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(unread["sacs"].as_array().unwrap().len(), 1);
    // 8. The seller archives it.
    let r = sky(
        reqwest::Method::PATCH,
        &format!("/sac/{enc}/chats/CUSTOMER_SELLER/"),
    )
    .json(&serde_json::json!({"status": "ARCHIVED"}))
    .send()
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(status_of().await, "ARCHIVED");
    let chat: Value = sky(
        reqwest::Method::GET,
        &format!("/sac/{enc}/chats/CUSTOMER_SELLER"),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let contents: Vec<&str> = chat["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        contents,
        vec![
            "Meu pedido não chegou",
            "Chega amanhã!",
            "Obrigado, aguardo."
        ]
    );
    assert!(chat["messages"][0]["replyed_at"].is_string());
    let _ = child.kill();
    let _ = child.wait();
}

/// A test that fails while its server runs leaves no server behind: the harness's
/// guard kills and reaps it as the panic unwinds (orphaned servers once kept spinning
/// through the rest of a run and slowed every suite after them).
#[test]
fn a_failing_test_leaves_no_server_running() {
    let dir = TempDir::new();
    let db = dir.0.join("orphan.db").display().to_string();
    let pid = Arc::new(Mutex::new(None));
    let seen = pid.clone();
    let unwound = std::panic::catch_unwind(move || {
        let (server, _base) = serve(&db);
        *seen.lock().unwrap() = Some(server.id());
        panic!("the test fails while its server runs");
    });
    assert!(unwound.is_err());
    let pid = pid.lock().unwrap().expect("the server started");
    // Reaped, not a zombie: no process entry is left at all.
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "server {pid} outlived its test"
    );
}
