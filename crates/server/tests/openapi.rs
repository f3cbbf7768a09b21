//! The OpenAPI documents, fetched over HTTP from the real server: a snapshot of each
//! (the shared listener's five, and SkyHub's at the root of a listener of its own), and
//! checks that they tell the truth about the routes: every documented operation is
//! routed with its method, answers 401 in its envelope without credentials, and every
//! `$ref` resolves.
//!
//! A change to a document fails the snapshot; when the change is meant, refresh the
//! snapshots with `INSTA_UPDATE=always cargo nextest run -p entreposto --test openapi`
//! (or `cargo insta review`) and commit the `.snap` files under `tests/snapshots/`.

mod common;

use common::{Backend, TestApp};
use entreposto::config::{Config, OwnListener};
use reqwest::Method;
use serde_json::Value;

/// Every API's document path on the shared listener, and below its own listener's root.
const DOCUMENTS: [(&str, &str, &str); 5] = [
    ("skyhub", "/skyhub", "/openapi.json"),
    ("omnik", "/omnik", "/HUB/openapi.json"),
    ("zerok", "/00k", "/openapi.json"),
    ("koncili", "/koncili", "/externalapi/openapi.json"),
    ("native", "/api/v1", "/openapi.json"),
];

fn own_listeners(c: &mut Config) {
    for (name, ..) in &DOCUMENTS[..4] {
        c.dialects.insert(
            name.to_string(),
            OwnListener {
                listen: "127.0.0.1:0".into(),
                public_url: None,
            },
        );
    }
}

async fn spawn() -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, own_listeners)
        .await
        .expect("sqlite app")
}

/// The document at `url`, fetched without credentials, its `servers` checked to be
/// `base` and then written as `[base]` so snapshots do not depend on the port.
async fn document(app: &TestApp, url: &str, base: &str) -> Value {
    let r = app
        .call_url(Method::GET, url, &Default::default(), None)
        .await;
    assert_eq!(r.status, 200, "{url}: {:?}", r.body);
    assert_eq!(r.content_type.as_deref(), Some("application/json"), "{url}");
    let mut doc = r.body;
    assert_eq!(
        doc["servers"],
        serde_json::json!([{ "url": base }]),
        "{url} names the listener's base"
    );
    doc["servers"][0]["url"] = "[base]".into();
    doc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_match_their_snapshots() {
    let app = spawn().await;
    for (name, prefix, path) in DOCUMENTS {
        let doc = document(
            &app,
            &format!("{}{prefix}{path}", app.base),
            &format!("{}{prefix}", app.base),
        )
        .await;
        insta::assert_json_snapshot!(format!("{name}"), doc);
        if let Some(own) = app.own.get(name) {
            let root = document(&app, &format!("{own}{path}"), own).await;
            assert_eq!(
                root, doc,
                "{name}: the own listener's document is the shared one at another base"
            );
            if name == "skyhub" {
                insta::assert_json_snapshot!("skyhub_own_listener", root);
            }
        }
    }
}

/// Every `$ref` in `v` names a schema (or a response) among `doc`'s components.
fn check_refs(doc: &Value, v: &Value, name: &str) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                let (kind, component) = r
                    .strip_prefix("#/components/schemas/")
                    .map(|s| ("schemas", s))
                    .or_else(|| {
                        r.strip_prefix("#/components/responses/")
                            .map(|s| ("responses", s))
                    })
                    .unwrap_or_else(|| panic!("{name}: unexpected $ref {r}"));
                assert!(
                    doc["components"][kind][component].is_object(),
                    "{name}: $ref {r} does not resolve"
                );
            }
            map.values().for_each(|v| check_refs(doc, v, name));
        }
        Value::Array(items) => items.iter().for_each(|v| check_refs(doc, v, name)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_routed_and_refuses_strangers() {
    let app = spawn().await;
    let mut routed = Vec::new();
    for (name, prefix, path) in DOCUMENTS {
        let base = format!("{}{prefix}", app.base);
        let doc = document(&app, &format!("{base}{path}"), &base).await;
        check_refs(&doc, &doc, name);
        let schemes = doc["components"]["securitySchemes"]
            .as_object()
            .unwrap_or_else(|| panic!("{name}: no security scheme"));
        assert!(!schemes.is_empty(), "{name}");
        let paths = doc["paths"].as_object().expect("paths");
        for (p, item) in paths {
            for (method, op) in item.as_object().expect("path item") {
                let what = format!("{name} {method} {p}");
                // Every operation needs a credential, says so, and documents the
                // refusal in the API's envelope.
                let security = op["security"].as_array().expect(&what);
                for requirement in security {
                    for scheme in requirement.as_object().expect(&what).keys() {
                        assert!(schemes.contains_key(scheme), "{what}: {scheme}");
                    }
                }
                let refusal = &op["responses"]["401"]["content"]["application/json"]["schema"];
                assert!(refusal["$ref"].is_string(), "{what}: {refusal:?}");
                // Without credentials it is a 401 in that envelope, from the route
                // itself: the metrics name the route each request matched.
                let filled: Vec<&str> = p
                    .split('/')
                    .map(|seg| if seg.starts_with('{') { "1" } else { seg })
                    .collect();
                let url = format!("{base}{}", filled.join("/"));
                let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect(&what);
                let body = (method != Method::GET).then(|| b"{}".to_vec());
                let r = app
                    .call_url(method.clone(), &url, &Default::default(), body)
                    .await;
                assert_eq!(r.status, 401, "{what}: {:?}", r.body);
                routed.push(format!(
                    "method=\"{method}\",route=\"{prefix}{p}\",status=\"401\""
                ));
                let envelope = refusal["$ref"].as_str().unwrap();
                let envelope = envelope.rsplit('/').next().unwrap();
                for key in doc["components"]["schemas"][envelope]["required"]
                    .as_array()
                    .expect(&what)
                {
                    let key = key.as_str().unwrap();
                    assert!(r.body.get(key).is_some(), "{what}: {key} in {:?}", r.body);
                }
            }
        }
    }
    let metrics = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(routed.len() > 10, "{routed:?}");
    for labels in routed {
        assert!(metrics.contains(&labels), "{labels} not in\n{metrics}");
    }
}
