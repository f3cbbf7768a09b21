//! The connection-level edge under abuse, through the real listener on a real socket:
//! slow heads and bodies, idle kept-alive connections, the connection cap, bodies
//! declared too large, URIs and headers too long, requests hyper cannot parse, and
//! handlers that take too long. Timeouts are set short (hundreds of milliseconds), so
//! nothing waits long; the edge does not touch the database, so SQLite is enough.

mod common;

use std::time::{Duration, Instant};

use common::{Backend, TestApp};
use entreposto::config::{Config, EdgeSettings};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn spawn(edge: EdgeSettings) -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, move |c| c.edge = edge)
        .await
        .expect("sqlite app")
}

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_string()
}

/// One response read off a raw socket: its head (status line and headers, lower-cased
/// names) and its body.
struct Raw {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "not JSON: {}\n{}",
                self.head,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn assert_json(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.head);
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{}",
            self.head
        );
        self.json()
    }
}

/// Reads one response (its body by `Content-Length`), or panics after `within`.
async fn read_response(s: &mut TcpStream, within: Duration) -> Raw {
    tokio::time::timeout(within, async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                let status = head[9..12].parse().expect("status");
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    let body = buf[end + 4..end + 4 + len].to_vec();
                    return Raw { status, head, body };
                }
            }
            let n = s.read(&mut chunk).await.expect("read");
            assert!(n > 0, "closed before a whole response: {buf:?}");
            buf.extend_from_slice(&chunk[..n]);
        }
    })
    .await
    .expect("no response in time")
}

/// Waits up to `within` for the server to close `s`; how long that took, or `None`
/// while it stays open. Whatever the server still sends first is discarded.
async fn closed_within(s: &mut TcpStream, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut chunk = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return start.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
}

async fn health(app: &TestApp) {
    let started = Instant::now();
    let r = tokio::time::timeout(
        Duration::from_secs(5),
        app.get("/health", &Default::default()),
    )
    .await
    .expect("/health did not answer");
    assert_eq!(r.status, 200);
    assert!(started.elapsed() < Duration::from_secs(2));
}

async fn send(app: &TestApp, bytes: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(addr(app)).await.expect("connect");
    s.write_all(bytes).await.expect("write");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_header_client_is_cut_off_while_health_answers() {
    let app = spawn(EdgeSettings {
        header_timeout_ms: 400,
        ..EdgeSettings::default()
    })
    .await;
    let s = TcpStream::connect(addr(&app)).await.expect("connect");
    let (mut read, mut write) = s.into_split();
    let started = Instant::now();
    // One byte every 20 ms: the head would take seconds to complete.
    let trickle = tokio::spawn(async move {
        let head = format!(
            "GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
            "a".repeat(200)
        );
        for b in head.bytes() {
            if write.write_all(&[b]).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    });
    for _ in 0..3 {
        health(&app).await;
    }
    let mut buf = Vec::new();
    let res = tokio::time::timeout(Duration::from_secs(5), read.read_to_end(&mut buf)).await;
    let took = started.elapsed();
    assert!(res.is_ok(), "the slow connection was not closed");
    assert!(buf.is_empty(), "a response was sent: {buf:?}");
    assert!(
        took >= Duration::from_millis(350) && took < Duration::from_secs(3),
        "closed after {took:?}"
    );
    assert!(
        !trickle.is_finished() || trickle.await.unwrap(),
        "the head completed"
    );
    health(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() {
    let app = spawn(EdgeSettings {
        idle_timeout_ms: 400,
        header_timeout_ms: 10_000,
        ..EdgeSettings::default()
    })
    .await;
    let request = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut s = send(&app, request).await;
    assert_eq!(
        read_response(&mut s, Duration::from_secs(2)).await.status,
        200
    );
    // Requests 200 ms apart keep it open past the idle timeout.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        s.write_all(request).await.expect("connection still open");
        assert_eq!(
            read_response(&mut s, Duration::from_secs(2)).await.status,
            200
        );
    }
    let idle = closed_within(&mut s, Duration::from_secs(5))
        .await
        .expect("idle connection not closed");
    assert!(
        idle >= Duration::from_millis(300) && idle < Duration::from_secs(3),
        "closed after {idle:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_holds_and_health_still_answers() {
    let app = spawn(EdgeSettings {
        max_connections: 3,
        header_timeout_ms: 20_000,
        idle_timeout_ms: 20_000,
        ..EdgeSettings::default()
    })
    .await;
    // Eight sockets that start a head and never finish it.
    let mut socks = Vec::new();
    for _ in 0..8 {
        socks.push(send(&app, b"GET /health HTTP/1.1\r\n").await);
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    health(&app).await;
    let mut open = Vec::new();
    for s in socks.iter_mut() {
        open.push(closed_within(s, Duration::from_millis(300)).await.is_none());
    }
    let n = open.iter().filter(|o| **o).count();
    // At most the cap, less the /health connection; the oldest went first.
    assert!((1..3).contains(&n), "open: {open:?}");
    assert!(!open[0], "the oldest socket is still open: {open:?}");
    assert!(open[7], "the newest socket was closed: {open:?}");
    health(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_declared_too_large_is_refused_before_it_is_sent() {
    let app = spawn(EdgeSettings::default()).await;
    let too_big = entreposto_http::MAX_BODY_BYTES + 1;
    for expect in ["", "Expect: 100-continue\r\n"] {
        let head = format!(
            "POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Content-Length: {too_big}\r\n{expect}\r\n"
        );
        let mut s = send(&app, head.as_bytes()).await;
        // No body is sent: the answer comes from the head alone, and no 100 first.
        let r = read_response(&mut s, Duration::from_secs(2)).await;
        let body = r.assert_json(413);
        assert_eq!(body["error"]["code"], "payload_too_large", "{body}");
        assert_eq!(r.header("connection"), Some("close"));
    }
    // In the dialect's envelope.
    let head = format!(
        "POST /omnik/HUB/v1/sac/tickets HTTP/1.1\r\nHost: x\r\nContent-Length: {too_big}\r\n\
         Expect: 100-continue\r\n\r\n"
    );
    let mut s = send(&app, head.as_bytes()).await;
    let body = read_response(&mut s, Duration::from_secs(2))
        .await
        .assert_json(413);
    assert_eq!(body["type"], "PAYLOAD_TOO_LARGE", "{body}");
    // At the limit the request goes on (to authentication, here).
    let head = format!(
        "POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\
         Expect: 100-continue\r\n\r\n",
        entreposto_http::MAX_BODY_BYTES
    );
    let mut s = send(&app, head.as_bytes()).await;
    let r = read_response(&mut s, Duration::from_secs(2)).await;
    assert_eq!(r.status, 401, "{}", r.head);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_uris_huge_headers_and_malformed_requests_get_json() {
    use entreposto_http::limits::{MAX_HEADER_BYTES, MAX_URI_BYTES};
    let app = spawn(EdgeSettings::default()).await;
    let cases: Vec<(String, u16, &str)> = vec![
        // Over our limit: refused by our middleware.
        (
            format!(
                "GET /health?q={} HTTP/1.1\r\nHost: x\r\n\r\n",
                "a".repeat(MAX_URI_BYTES)
            ),
            414,
            "uri_too_long",
        ),
        (
            format!(
                "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
                "a".repeat(MAX_HEADER_BYTES)
            ),
            431,
            "headers_too_large",
        ),
        // Over hyper's own limits (a 64 KiB URI, its read buffer, 100 headers) and
        // what hyper cannot parse: hyper refuses, the listener puts JSON on the wire.
        (
            format!(
                "GET /health?q={} HTTP/1.1\r\nHost: x\r\n\r\n",
                "a".repeat(70_000)
            ),
            414,
            "uri_too_long",
        ),
        (
            format!(
                "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
                "a".repeat(300_000)
            ),
            431,
            "headers_too_large",
        ),
        (
            format!(
                "GET /health HTTP/1.1\r\nHost: x\r\n{}\r\n",
                (0..120)
                    .map(|i| format!("X-H{i}: v\r\n"))
                    .collect::<String>()
            ),
            431,
            "headers_too_large",
        ),
        (
            "GET /health HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n".into(),
            400,
            "bad_request",
        ),
        ("G@T /health HTTP/1.1\r\n\r\n".into(), 400, "bad_request"),
    ];
    for (request, status, code) in cases {
        let mut s = send(&app, request.as_bytes()).await;
        let r = read_response(&mut s, Duration::from_secs(3)).await;
        let body = r.assert_json(status);
        assert_eq!(body["error"]["code"], code, "{body}");
    }
    // A dialect's refusal is in its envelope, ours or hyper's.
    for n in [MAX_URI_BYTES, 70_000] {
        let request = format!(
            "GET /skyhub/sac?q={} HTTP/1.1\r\nHost: x\r\n\r\n",
            "a".repeat(n)
        );
        let mut s = send(&app, request.as_bytes()).await;
        let body = read_response(&mut s, Duration::from_secs(3))
            .await
            .assert_json(414);
        assert!(body["error"].as_str().unwrap().contains("URI"), "{body}");
        assert!(body["errors"]["detail"].is_string(), "{body}");
    }
    health(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_is_cut_off() {
    let app = spawn(EdgeSettings {
        body_timeout_ms: 400,
        ..EdgeSettings::default()
    })
    .await;
    let (_op, token) = app.operator().await;
    let head = format!(
        "POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"seller\":"
    );
    let started = Instant::now();
    let mut s = send(&app, head.as_bytes()).await;
    let r = read_response(&mut s, Duration::from_secs(3)).await;
    let took = started.elapsed();
    let body = r.assert_json(408);
    assert_eq!(body["error"]["code"], "request_timeout", "{body}");
    assert_eq!(r.header("connection"), Some("close"));
    assert!(
        took >= Duration::from_millis(350),
        "answered after {took:?}"
    );
    assert!(closed_within(&mut s, Duration::from_secs(2))
        .await
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_past_the_request_timeout_answers_503() {
    let slow = axum::Router::new().route(
        "/test/slow",
        axum::routing::get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "late"
        }),
    );
    let edge = EdgeSettings {
        request_timeout_ms: 300,
        ..EdgeSettings::default()
    };
    let app = TestApp::spawn_extended(Backend::Sqlite, move |c| c.edge = edge, |r| r.merge(slow))
        .await
        .expect("app");
    let started = Instant::now();
    let r = app.get("/test/slow", &Default::default()).await;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(r.status, 503);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    assert_eq!(r.body["error"]["code"], "timeout", "{}", r.body);
    assert_eq!(r.headers["retry-after"], "1");
    health(&app).await;
}

#[test]
fn edge_settings_come_from_the_config_file() {
    let dir = common::TempDir::new();
    let file = dir.0.join("entreposto.toml");
    std::fs::write(
        &file,
        "[edge]\nheader_timeout_ms = 1234\nmax_connections = 7\n",
    )
    .unwrap();
    let c = Config::load(Some(file.clone())).expect("config");
    assert_eq!(c.edge.header_timeout_ms, 1234);
    assert_eq!(c.edge.max_connections, 7);
    assert_eq!(
        c.edge.idle_timeout_ms,
        EdgeSettings::default().idle_timeout_ms
    );
    for bad in [
        "max_connections = 0",
        "idle_timeout_ms = 0",
        "idle_timeout = 5",
    ] {
        std::fs::write(&file, format!("[edge]\n{bad}\n")).unwrap();
        assert!(
            Config::load(Some(file.clone())).is_err(),
            "{bad} was accepted"
        );
    }
    // A section's key from the environment, through the binary (whose environment
    // is its own): a zero there is refused too.
    let run = |value: &str| {
        std::process::Command::new(common::BIN)
            .current_dir(&dir.0)
            .args(["operator", "create", "--name", "E"])
            .env_remove("ENTREPOSTO_DATABASE_URL")
            .env("ENTREPOSTO_LOG_LEVEL", "warn")
            .env("ENTREPOSTO_EDGE__MAX_CONNECTIONS", value)
            .output()
            .expect("run entreposto")
    };
    std::fs::remove_file(&file).unwrap();
    assert!(run("5").status.success());
    let out = run("0");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("edge.max_connections"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_idle_connections_give_way_and_busy_ones_are_waited_for() {
    let slow = axum::Router::new().route(
        "/test/slow",
        axum::routing::get(|| async {
            tokio::time::sleep(Duration::from_millis(600)).await;
            axum::Json(serde_json::json!({"done": true}))
        }),
    );
    let edge = EdgeSettings {
        max_connections: 2,
        idle_timeout_ms: 20_000,
        ..EdgeSettings::default()
    };
    let app = TestApp::spawn_extended(Backend::Sqlite, move |c| c.edge = edge, |r| r.merge(slow))
        .await
        .expect("app");
    let health_req = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    // Two kept-alive connections, idle after one request each.
    let mut older = send(&app, health_req).await;
    assert_eq!(
        read_response(&mut older, Duration::from_secs(2))
            .await
            .status,
        200
    );
    tokio::time::sleep(Duration::from_millis(30)).await;
    let mut newer = send(&app, health_req).await;
    assert_eq!(
        read_response(&mut newer, Duration::from_secs(2))
            .await
            .status,
        200
    );
    // A third gets in by closing the one idle longest.
    let mut third = send(&app, health_req).await;
    assert_eq!(
        read_response(&mut third, Duration::from_secs(2))
            .await
            .status,
        200
    );
    assert!(closed_within(&mut older, Duration::from_secs(1))
        .await
        .is_some());
    assert!(closed_within(&mut newer, Duration::from_millis(200))
        .await
        .is_none());
    drop((newer, third));

    // Both connections busy: a new one waits for a request to finish, and the busy
    // requests are answered in full.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let slow_req = b"GET /test/slow HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut a = send(&app, slow_req).await;
    let mut b = send(&app, slow_req).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let mut c = send(&app, health_req).await;
    let r = read_response(&mut c, Duration::from_secs(5)).await;
    assert_eq!(r.status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "/health did not wait: {:?}",
        started.elapsed()
    );
    for s in [&mut a, &mut b] {
        let r = read_response(s, Duration::from_secs(3)).await;
        assert_eq!(r.json()["done"], true);
    }
}

/// The real binary under `ulimit -n 128`, far below the default cap: accepting fails
/// for want of file descriptors, and idle sockets still must not lock out `/health`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_open_file_limit_health_still_answers() {
    use std::io::{BufRead, BufReader};
    let dir = common::TempDir::new();
    let db = dir.0.join("entreposto.db").display().to_string();
    let mut child = std::process::Command::new("sh")
        .args([
            "-c",
            "ulimit -n 128 && exec \"$0\" serve --listen 127.0.0.1:0 --database-url \"$1\"",
            common::BIN,
            &db,
        ])
        .env("ENTREPOSTO_LOG_LEVEL", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn server");
    let stderr = child.stderr.take().expect("stderr");
    let _server = common::Served(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on ").nth(1) {
                let _ = tx.send(
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("server did not start");
    let mut socks = Vec::new();
    for _ in 0..200 {
        let mut s = TcpStream::connect(&addr).await.expect("connect");
        s.write_all(b"GET /health HTTP/1.1\r\n")
            .await
            .expect("write");
        socks.push(s);
    }
    let started = Instant::now();
    let r = tokio::time::timeout(
        Duration::from_secs(10),
        reqwest::get(format!("http://{addr}/health")),
    )
    .await
    .expect("/health did not answer")
    .expect("/health");
    assert_eq!(r.status().as_u16(), 200);
    eprintln!("/health answered after {:?}", started.elapsed());
}

/// HTTP/2 with prior knowledge still works through the listener, and an h2 connection
/// without a stream is timed out as idle, not as a slow head.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_connections_are_served_and_idle_ones_closed() {
    let app = spawn(EdgeSettings {
        header_timeout_ms: 200,
        idle_timeout_ms: 800,
        ..EdgeSettings::default()
    })
    .await;
    let mut s = send(
        &app,
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00",
    )
    .await;
    let mut frame = [0u8; 9];
    tokio::time::timeout(Duration::from_secs(2), s.read_exact(&mut frame))
        .await
        .expect("no frame")
        .expect("read");
    assert_eq!(
        frame[3], 4,
        "the server's first frame is not SETTINGS: {frame:?}"
    );
    let started = Instant::now();
    let closed = closed_within(&mut s, Duration::from_secs(5))
        .await
        .expect("idle h2 connection not closed");
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "closed after {closed:?}, before the idle timeout"
    );
}
