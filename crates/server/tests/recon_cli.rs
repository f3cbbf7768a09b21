//! `entreposto recon load` through the real binary, on both backends, against the
//! database of a running server: a CSV statement (its summary: conciliation, period,
//! counts per situation, the refused rows), the same file again (`unchanged`), a JSON
//! statement told by its content, and the refusals (an overlapping period, a file that
//! is no statement, an unknown seller) failing the command; `--dry-run` checking a
//! file and writing nothing. What it loaded is read
//! back through Koncili.

mod common;

use common::recon::{
    cents, conciliations, extract, koncili_order, line, push, recon, CHANNEL, HEADER,
};
use common::{cli, TestApp};
use serde_json::json;

on_both_backends!(a_csv_statement_and_its_reload, json_files_and_refusals);

fn write(app: &TestApp, name: &str, text: &str) -> String {
    let path = app.dir.0.join(name);
    std::fs::write(&path, text).expect("write statement");
    path.display().to_string()
}

async fn a_csv_statement_and_its_reload(app: TestApp) {
    let r = recon(&app, "Loja A").await;
    for code in ["C-1", "C-2"] {
        push(&app, &r.kon, &koncili_order(code, |_| {})).await;
    }
    let file = write(
        &app,
        "extrato.csv",
        &format!(
            "{HEADER},lote\n\
             C-1,SALE,1,570.00,,2018-10-01,L1\n\
             C-1,COMISSION,1,85.50,15,2018-10-01,L1\n\
             C-2,SALE,1,500.00,,2018-10-03,L2\n\
             C-2,TRANSFER,1,1.00,,2018-10-03,L2\n\
             C-9,SALE,1,10.00,,2018-10-02,L2\n"
        ),
    );
    let args: [&str; 7] = [
        "recon",
        "load",
        &file,
        "--seller",
        &r.seller.id,
        "--channel",
        CHANNEL,
    ];
    // A dry run checks every row and writes nothing.
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let (ok, out, err) = cli(&app.database_url, &dry);
    assert!(ok, "{err}\n{out}");
    assert_eq!(
        (&out["dryRun"], &out["rows"], &out["refused"]),
        (&json!(true), &json!(4), &json!(1))
    );
    assert_eq!(out["firstRefused"][0]["field"], "type");
    assert_eq!(out["period"]["init"], "2018-10-01T00:00:00.000Z");
    // (It recorded no conciliation: the load below is new, not `unchanged`.)

    let (ok, out, err) = cli(&app.database_url, &args);
    assert!(ok, "{err}\n{out}");
    assert_eq!(out["seller"], r.seller.id.as_str());
    assert_eq!(out["channel"], CHANNEL);
    assert_eq!(out["format"], "csv");
    assert_eq!(out["unchanged"], false);
    let id = out["conciliation"].as_i64().expect("conciliation id");
    assert_eq!(out["period"]["init"], "2018-10-01T00:00:00.000Z");
    assert_eq!(out["period"]["end"], "2018-10-03T00:00:00.000Z");
    assert!(out["period"]["close"].is_string(), "{out}");
    assert_eq!(out["rows"], 4);
    assert_eq!(out["refused"], 1);
    assert_eq!(
        out["situations"],
        json!({"CONCILIED": 2, "DIVERGENT": 2, "partial": 1}),
        "C-2 short, C-9 unknown: {out}"
    );
    let first = &out["firstRefused"][0];
    assert_eq!(
        (&first["row"], &first["field"]),
        (&json!(4), &json!("type"))
    );
    assert!(first["reason"].as_str().unwrap().contains("TRANSFER"));

    // The server's clients see it at once.
    let c1 = extract(&app, &r.kon, "C-1").await;
    assert_eq!(line(&c1, "SALE", 1)["situation"], "CONCILIED");
    assert_eq!(line(&c1, "SALE", 1)["conciliationId"], id);
    let c2 = extract(&app, &r.kon, "C-2").await;
    assert_eq!(line(&c2, "SALE", 1)["partialConcilied"], true);
    assert_eq!(cents(&line(&c2, "SALE", 1)["releasedValue"]), 50000);

    // The same file again changes nothing.
    let (ok, again, err) = cli(&app.database_url, &args);
    assert!(ok, "{err}\n{again}");
    assert_eq!(again["unchanged"], true);
    assert_eq!(again["conciliation"], id);
    assert_eq!(extract(&app, &r.kon, "C-2").await, c2);
}

async fn json_files_and_refusals(app: TestApp) {
    let r = recon(&app, "Loja A").await;
    push(&app, &r.kon, &koncili_order("J-1", |_| {})).await;
    // JSON told by its first character (the name says nothing).
    let file = write(
        &app,
        "extrato-novembro.txt",
        r#"[{"orderCode": "J-1", "type": "SALE", "plotNumber": 1, "releasedValue": 570.00, "releasedDate": "2018-11-01T12:00:00Z"},
            {"orderCode": "J-1", "type": "COMISSION", "releasedValue": 85.5, "releasedPercentualComission": 15, "releasedDate": "2018-11-02"}]"#,
    );
    let load = |file: &str| {
        cli(
            &app.database_url,
            &[
                "recon",
                "load",
                file,
                "--seller",
                &r.seller.id,
                "--channel",
                CHANNEL,
            ],
        )
    };
    let (ok, out, err) = load(&file);
    assert!(ok, "{err}\n{out}");
    assert_eq!(out["format"], "json");
    assert_eq!(out["situations"]["CONCILIED"], 2, "{out}");
    assert_eq!(out["refused"], 0);
    let j = extract(&app, &r.kon, "J-1").await;
    assert!(j.iter().all(|l| l["situation"] == "CONCILIED"), "{j:?}");

    // A period overlapping it is refused, naming the conciliation; nothing applied.
    let clash = write(
        &app,
        "clash.csv",
        &format!("{HEADER}\nJ-1,SALE,1,1.00,,2018-11-02\n"),
    );
    let (ok, out, err) = load(&clash);
    assert!(!ok, "{out}");
    let list = conciliations(&app, &r, "").await;
    assert_eq!(list.len(), 1, "{list:?}");
    let first = list[0]["id"].as_i64().unwrap().to_string();
    assert!(err.contains(&first), "names the conciliation: {err}");
    let j = extract(&app, &r.kon, "J-1").await;
    assert_eq!(cents(&line(&j, "SALE", 1)["releasedValue"]), 57000);

    // A file that is no statement; one that does not exist; an unknown seller.
    let object = write(&app, "objeto.json", r#"{"orderCode": "J-1"}"#);
    let (ok, _, err) = load(&object);
    assert!(!ok && err.contains("statement"), "{err}");
    let (ok, _, err) = load(&app.dir.0.join("nada.csv").display().to_string());
    assert!(!ok && err.contains("nada.csv"), "{err}");
    let (ok, _, err) = cli(
        &app.database_url,
        &[
            "recon",
            "load",
            &file,
            "--seller",
            "no-such-seller",
            "--channel",
            CHANNEL,
        ],
    );
    assert!(!ok && err.contains("no-such-seller"), "{err}");
}
