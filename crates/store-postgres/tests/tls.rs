//! PostgreSQL over TLS as the URL asks (`sslmode`, `sslrootcert`), checked from the
//! server's side (`pg_stat_ssl`). Skipped (and says so) when
//! `ENTREPOSTO_TEST_POSTGRES_URL` is not set or the server has SSL off.

use entreposto_store_postgres::{fresh_schema_url, PgStore};

/// A fresh schema's URL with `params` added, or `None` when the server cannot be
/// tested here. Also the server's certificate file, when this process can read it.
async fn setup() -> Option<(String, Option<String>)> {
    let Ok(base) = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL") else {
        eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set");
        return None;
    };
    let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .expect("connect without TLS");
    tokio::spawn(conn);
    let show = |name: &'static str| {
        let client = &client;
        async move {
            let rows = client.simple_query(&format!("SHOW {name}")).await.unwrap();
            rows.iter()
                .find_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
                    _ => None,
                })
                .unwrap_or_default()
        }
    };
    if show("ssl").await != "on" {
        eprintln!("skipped: the PostgreSQL server has ssl = off");
        return None;
    }
    let cert = show("ssl_cert_file").await;
    let cert = std::fs::metadata(&cert).is_ok().then_some(cert);
    Some((fresh_schema_url(&base).await.expect("schema"), cert))
}

fn with(url: &str, params: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{params}")
}

#[tokio::test]
async fn sslmode_decides_whether_the_connection_is_tls() {
    let Some((url, _)) = setup().await else {
        return;
    };
    for (params, tls) in [
        ("sslmode=require", true),
        ("sslmode=prefer", true),
        ("sslmode=disable", false),
    ] {
        let store = PgStore::connect(&with(&url, params), 2)
            .await
            .unwrap_or_else(|e| panic!("{params}: {e}"));
        assert_eq!(store.tls_in_use().await.unwrap(), tls, "{params}");
    }
    // The default is libpq's: prefer.
    let store = PgStore::connect(&url, 2).await.unwrap();
    assert!(store.tls_in_use().await.unwrap());
}

#[tokio::test]
async fn sslrootcert_verifies_the_server() {
    let Some((url, cert)) = setup().await else {
        return;
    };
    let Some(cert) = cert else {
        eprintln!("skipped: the server's certificate file is not readable here");
        return;
    };
    // The server's own (self-signed) certificate as the root: the chain verifies.
    let store = PgStore::connect(
        &with(&url, &format!("sslmode=require&sslrootcert={cert}")),
        2,
    )
    .await
    .expect("verify-ca against the server's certificate");
    assert!(store.tls_in_use().await.unwrap());
    // Roots that did not sign it: refused, never silently unencrypted.
    let others = "/etc/ssl/certs/ca-certificates.crt";
    if std::path::Path::new(others).exists() {
        let err = PgStore::connect(
            &with(&url, &format!("sslmode=require&sslrootcert={others}")),
            2,
        )
        .await
        .err()
        .expect("a server certificate outside the roots must be refused");
        assert!(err.to_string().contains("UnknownIssuer"), "{err}");
    }
    // verify-full also checks the name: the certificate names the host it was made
    // for (Debian's snakeoil: the machine's host name at install), not 127.0.0.1.
    if url.contains("@127.0.0.1") {
        let full = with(&url, &format!("sslmode=verify-full&sslrootcert={cert}"));
        let err = PgStore::connect(&full, 2)
            .await
            .err()
            .expect("verify-full accepted a certificate that does not name 127.0.0.1");
        assert!(err.to_string().contains("not valid for name"), "{err}");
        // By the name it does carry (`localhost` on these machines), it verifies.
        let by_name = full.replace("@127.0.0.1", "@localhost");
        match PgStore::connect(&by_name, 2).await {
            Ok(store) => assert!(store.tls_in_use().await.unwrap()),
            Err(e) if e.to_string().contains("not valid for name") => {
                eprintln!("skipped verify-full by name: the certificate does not name localhost")
            }
            Err(e) => panic!("verify-full by name: {e}"),
        }
    }
}
