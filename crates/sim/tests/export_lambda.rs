//! The Lambda functions the AWS export writes for the playground's built-in
//! transforms do what the built-ins do: each is run under Node.js (as in
//! Lambda's runtime) on the same Firehose transformation events, and must
//! answer exactly what the playground's Rust version answers.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use shardlab_sim::export::lambda_source;
use shardlab_sim::lambda::{FunctionCode, LambdaFunction};

fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn event(datas: &[&str]) -> Value {
    json!({
        "invocationId": "inv-1",
        "deliveryStreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/d",
        "region": "us-east-1",
        "records": datas.iter().enumerate().map(|(i, d)| json!({
            "recordId": format!("r{i}"),
            "approximateArrivalTimestamp": 1_767_225_600_000u64,
            "data": b64(d),
        })).collect::<Vec<_>>(),
    })
}

/// The handler's answer under Node.js.
fn node(source: &str, event: &Value) -> Value {
    let dir = std::env::temp_dir().join(format!("shardlab-lambda-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("f{}.js", fnv(source)));
    std::fs::write(&file, source).unwrap();
    let runner = format!(
        "const h = require({path});\n\
         let input = '';\n\
         process.stdin.on('data', (c) => input += c);\n\
         process.stdin.on('end', async () => {{\n\
         \x20 let out;\n\
         \x20 try {{ out = await h.handler(JSON.parse(input)); }} catch (e) {{ out = {{ errorMessage: e.message }}; }}\n\
         \x20 process.stdout.write(JSON.stringify(out === undefined ? null : out));\n\
         }});\n",
        path = Value::from(file.to_string_lossy().into_owned())
    );
    let mut child = Command::new("node")
        .args(["-e", &runner])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect(
            "node runs the exported functions (the machine's Node.js, as the end-to-end tests use)",
        );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(event.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "node failed on {source}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

fn playground(code: &FunctionCode, event: &Value) -> Value {
    let f = LambdaFunction {
        name: "f".into(),
        code: code.clone(),
    };
    let out = f
        .run_builtin(event.to_string().as_bytes())
        .expect("a built-in")
        .expect("answers");
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn exported_built_ins_answer_as_the_playground_does() {
    let records = [
        r#"{"action":"purchase","user_id":"u-1","page":"/checkout","n":3}"#,
        r#"{"action":"view","user_id":"u-2","n":4}"#,
        r#"{"user_id":"u-3","nested":{"a":[1,2,{"b":null}]}}"#,
        r#"{"action":{"kind":"purchase","x":[1,2]},"n":3}"#,
        r#"[1,2,3]"#,
        r#""just a string""#,
        "not JSON at all",
        r#"{"action":"purchase","n":true}"#,
    ];
    let event = event(&records);
    let codes = [
        FunctionCode::SelectFields(vec!["user_id".into(), "action".into(), "missing".into()]),
        FunctionCode::KeepIf {
            field: "action".into(),
            equals: json!("purchase"),
        },
        FunctionCode::KeepIf {
            field: "n".into(),
            equals: json!(3),
        },
        FunctionCode::KeepIf {
            field: "action".into(),
            equals: json!({"x": [1, 2], "kind": "purchase"}),
        },
        FunctionCode::KeepIf {
            field: "nested".into(),
            equals: json!({"a": [1, 2, {"b": null}]}),
        },
    ];
    for code in &codes {
        let expected = playground(code, &event);
        let got = node(&lambda_source(code), &event);
        assert_eq!(got, expected, "{code:?}");
    }
    // And the results are the ones a learner would expect.
    let kept = playground(&codes[1], &event);
    let results: Vec<&str> = kept["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["result"].as_str().unwrap())
        .collect();
    assert_eq!(
        results,
        [
            "Ok",
            "Dropped",
            "Dropped",
            "Dropped",
            "ProcessingFailed",
            "ProcessingFailed",
            "ProcessingFailed",
            "Ok"
        ]
    );
}

/// A Kinesis event as an event source mapping sends it.
fn kinesis_event(datas: &[&str]) -> Value {
    json!({"Records": datas.iter().enumerate().map(|(i, d)| json!({
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": "k",
            "sequenceNumber": format!("4959033827149025660855969253836157109592157598913658889{i}"),
            "data": b64(d),
            "approximateArrivalTimestamp": 1_767_225_600.0,
        },
        "eventSource": "aws:kinesis",
        "eventID": format!("shardId-000000000000:{i}"),
    })).collect::<Vec<_>>()})
}

#[test]
fn an_exported_fail_if_answers_firehose_and_kinesis_as_the_playground_does() {
    let records = [
        r#"{"status":"new","n":1}"#,
        r#"{"status":"corrupt","n":2}"#,
        "not JSON",
        r#"{"status":{"deep":[1]},"n":4}"#,
    ];
    for report in [false, true] {
        for equals in [json!("corrupt"), json!({"deep": [1]})] {
            let code = FunctionCode::FailIf {
                field: "status".into(),
                equals,
                report_item_failures: report,
            };
            let f = LambdaFunction {
                name: "f".into(),
                code: code.clone(),
            };
            let source = lambda_source(&code);
            // Firehose: ProcessingFailed for the failing records.
            assert_eq!(
                node(&source, &event(&records)),
                playground(&code, &event(&records))
            );
            // Kinesis: the same batchItemFailures, or the same error.
            for batch in [&records[..1], &records[..]] {
                let e = kinesis_event(batch);
                let expected = match f.run_stream_builtin(&e.to_string()).unwrap() {
                    Ok(bytes) => serde_json::from_slice::<Value>(&bytes).unwrap(),
                    Err(message) => {
                        json!({"errorMessage": message.strip_prefix("Error: ").unwrap()})
                    }
                };
                assert_eq!(node(&source, &e), expected, "{code:?} on {batch:?}");
            }
        }
    }
}

#[test]
fn exported_built_ins_carry_a_tumbling_windows_state_as_the_playground_does() {
    let records = [
        r#"{"status":"new","n":1}"#,
        r#"{"status":"new","n":2}"#,
        r#"{"status":"corrupt","n":3}"#,
        r#"{"status":"new","n":4}"#,
    ];
    let mut e = kinesis_event(&records);
    e["window"] = json!({"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:00:10Z"});
    e["state"] = json!({"k": 5});
    e["shardId"] = json!("shardId-000000000000");
    e["isFinalInvokeForWindow"] = json!(false);
    e["isWindowTerminatedEarly"] = json!(false);
    for code in [
        FunctionCode::SelectFields(vec!["n".into()]),
        FunctionCode::KeepIf {
            field: "status".into(),
            equals: json!("new"),
        },
        FunctionCode::FailIf {
            field: "status".into(),
            equals: json!("corrupt"),
            report_item_failures: true,
        },
    ] {
        let f = LambdaFunction {
            name: "f".into(),
            code: code.clone(),
        };
        let expected: Value =
            serde_json::from_slice(&f.run_stream_builtin(&e.to_string()).unwrap().unwrap())
                .unwrap();
        // The report stops the count at the failed record: 5 + 2.
        let want = if matches!(code, FunctionCode::FailIf { .. }) {
            7
        } else {
            9
        };
        assert_eq!(expected["state"]["k"], want, "{code:?}: {expected}");
        assert_eq!(node(&lambda_source(&code), &e), expected, "{code:?}");
    }
}
